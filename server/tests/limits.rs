//! Every limit of a request is enforced at the door, before anything is
//! proposed to Raft, on a real three-node cluster: a batch that breaks one
//! is refused with `INVALID_ARGUMENT` and the cluster keeps serving; a
//! request just under each limit is accepted.

mod support;

use boxoffice_client::{ClientError, new_request_id};
use boxoffice_engine::domain::limits::{NAME_BYTES_MAX, QUOTA_ITEMS_MAX};
use boxoffice_engine::domain::*;
use boxoffice_proto::convert::submit_request;
use boxoffice_proto::v1;
use boxoffice_server::services::{BATCH_REQUEST_BYTES_MAX, BATCH_REQUEST_COMMANDS_MAX};
use prost::Message;
use support::*;
use tonic::Code;

/// Bytes of each long name in the batch that once stopped the leader.
const LONG_NAME_BYTES: usize = 60_000;
/// Commands in that batch (6 MB in all).
const LONG_NAME_COMMANDS: usize = 100;

fn inventory(
    channel: tonic::transport::Channel,
) -> v1::inventory_client::InventoryClient<tonic::transport::Channel> {
    v1::inventory_client::InventoryClient::new(channel).max_decoding_message_size(64 << 20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_six_megabyte_batch_of_long_names_is_refused_at_the_door_and_the_cluster_keeps_serving() {
    let mut cluster = Cluster::start(50, 3, 5_000);
    let leader = cluster.leader().await;
    let client = cluster.client();
    let (event, item, _) = catalog(&client, 100).await;
    let before = cluster.status_of(leader, false).await.unwrap();

    let name = "n".repeat(LONG_NAME_BYTES);
    let commands = (0..LONG_NAME_COMMANDS)
        .map(|i| {
            let command = Command::CreateItem { event, name: name.clone(), price_cents: 100 };
            submit_request(RequestId(1_000 + i as u128), &command)
        })
        .collect();
    let leader_addr = cluster.node(leader).grpc.clone();
    let refused = inventory(channel(&leader_addr).await)
        .submit_batch(v1::SubmitBatchRequest { commands })
        .await
        .expect_err("the batch must be refused");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");

    // The leader is alive and still the leader; the cluster still writes.
    for id in 1..=3 {
        let child = cluster.node(id).child.as_mut().unwrap();
        assert!(child.try_wait().unwrap().is_none(), "node {id} exited");
    }
    let hold = Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 60_000 };
    assert!(known(&client, hold).await.is_accepted());
    let after = cluster.status_of(leader, false).await.unwrap();
    assert_eq!(after.role, "leader");
    assert_eq!(after.last_seq, before.last_seq + 1, "only the hold was recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_a_limit_is_refused_at_the_door_and_one_just_under_it_is_accepted() {
    let mut cluster = Cluster::start(51, 3, 5_000);
    let leader = cluster.leader().await;
    let client = cluster.client();
    let (event, item, _) = catalog(&client, 10_000).await;
    let mut inventory = inventory(channel(&cluster.node(leader).grpc.clone()).await);

    // A name of exactly the limit is accepted...
    let at_limit = Command::CreateItem { event, name: "a".repeat(NAME_BYTES_MAX), price_cents: 100 };
    let reply = inventory.submit(submit_request(RequestId(1), &at_limit)).await.unwrap().into_inner();
    assert!(reply.outcome.unwrap().label.starts_with("accepted/"), "accepted");
    let before = cluster.status_of(leader, false).await.unwrap();

    // ...one byte more is refused before it is proposed, alone or in a batch.
    let over = Command::CreateItem { event, name: "a".repeat(NAME_BYTES_MAX + 1), price_cents: 100 };
    let refused = inventory.submit(submit_request(RequestId(2), &over)).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("name"), "{}", refused.message());
    let batch = v1::SubmitBatchRequest {
        commands: vec![submit_request(RequestId(3), &at_limit), submit_request(RequestId(4), &over)],
    };
    let refused = inventory.submit_batch(batch).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().starts_with("command 1:"), "{}", refused.message());
    let after = cluster.status_of(leader, false).await.unwrap();
    assert_eq!(after.last_seq, before.last_seq, "nothing was proposed");

    // A batch of as many commands as allowed: every one decided.
    let hold = Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 60_000 };
    let full: Vec<_> = (0..BATCH_REQUEST_COMMANDS_MAX).map(|_| (new_request_id(), hold.clone())).collect();
    let results = client.submit_batch(full).await.expect("a full batch is accepted");
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|s| s.outcome.is_accepted())), "every hold placed");

    // A batch of the largest valid commands, just under the byte limit: every
    // one decided (the domain rejects them: their items do not exist)...
    let largest = |i: usize| Command::CreateQuota {
        event,
        name: "q".repeat(NAME_BYTES_MAX),
        size: Some(1),
        items: (0..QUOTA_ITEMS_MAX as u64).map(|j| ItemId(u64::MAX - j - i as u64)).collect(),
        close_when_sold_out: false,
    };
    let wire_len = |commands: &[(RequestId, Command)]| {
        v1::SubmitBatchRequest { commands: commands.iter().map(|(id, c)| submit_request(*id, c)).collect() }
            .encoded_len()
    };
    let mut big = Vec::new();
    while wire_len(&big) <= BATCH_REQUEST_BYTES_MAX {
        big.push((new_request_id(), largest(big.len())));
    }
    let over = big.clone();
    big.pop();
    println!("{} commands, {} bytes", big.len(), wire_len(&big));
    let results = client.submit_batch(big).await.expect("just under the byte limit");
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|s| !s.outcome.is_accepted())), "decided");
    // ...and one command more is refused whole.
    let before = cluster.status_of(leader, false).await.unwrap();
    let refused = client.submit_batch(over).await;
    assert!(matches!(&refused, Err(ClientError::Invalid(m)) if m.contains("bytes exceeds")), "{refused:?}");
    let after = cluster.status_of(leader, false).await.unwrap();
    assert_eq!(after.last_seq, before.last_seq, "nothing was proposed");
}

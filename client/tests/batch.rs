//! `Client::submit_batch` against a scripted node: each command gets its own
//! result, and a retry resends only the commands whose outcome is unknown or
//! whose refusal may pass (busy, not the leader), with their request ids.

// tonic's `Status` is the error of every gRPC handler.
#![allow(clippy::result_large_err)]

use boxoffice_client::{Client, ClientError, ClientOptions};
use boxoffice_engine::domain::{Accepted, Command, OrderId, Outcome, RequestId};
use boxoffice_proto::v1;
use boxoffice_proto::v1::command_result::Result as Wire;
use boxoffice_proto::v1::inventory_server::{Inventory, InventoryServer};
use boxoffice_proto::v1::not_applied::Reason;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::{Request, Response, Status};

/// A node that answers each `SubmitBatch` from a script and records the request ids it was sent.
#[derive(Clone, Default)]
struct Scripted {
    script: Arc<Mutex<Vec<Vec<v1::CommandResult>>>>,
    seen: Arc<Mutex<Vec<Vec<RequestId>>>>,
}

fn unimplemented<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("scripted node"))
}

#[tonic::async_trait]
impl Inventory for Scripted {
    async fn submit_batch(
        &self,
        request: Request<v1::SubmitBatchRequest>,
    ) -> Result<Response<v1::SubmitBatchResponse>, Status> {
        let ids = request
            .into_inner()
            .commands
            .into_iter()
            .map(|c| <(RequestId, Command)>::try_from(c).unwrap().0)
            .collect();
        self.seen.lock().unwrap().push(ids);
        let command_results = self.script.lock().unwrap().remove(0);
        Ok(Response::new(v1::SubmitBatchResponse { results: Vec::new(), command_results }))
    }

    async fn submit(&self, _: Request<v1::SubmitRequest>) -> Result<Response<v1::SubmitResponse>, Status> {
        unimplemented()
    }
    async fn item_availability(
        &self,
        _: Request<v1::ItemAvailabilityRequest>,
    ) -> Result<Response<v1::ItemAvailabilityResponse>, Status> {
        unimplemented()
    }
    async fn quota_availability(
        &self,
        _: Request<v1::QuotaAvailabilityRequest>,
    ) -> Result<Response<v1::QuotaAvailabilityResponse>, Status> {
        unimplemented()
    }
    async fn get_hold(
        &self,
        _: Request<v1::GetHoldRequest>,
    ) -> Result<Response<v1::GetHoldResponse>, Status> {
        unimplemented()
    }
    async fn get_order(
        &self,
        _: Request<v1::GetOrderRequest>,
    ) -> Result<Response<v1::GetOrderResponse>, Status> {
        unimplemented()
    }
    async fn list_catalog(
        &self,
        _: Request<v1::ListCatalogRequest>,
    ) -> Result<Response<v1::ListCatalogResponse>, Status> {
        unimplemented()
    }
    async fn find_organizer(
        &self,
        _: Request<v1::FindOrganizerRequest>,
    ) -> Result<Response<v1::FindOrganizerResponse>, Status> {
        unimplemented()
    }
    async fn list_events(
        &self,
        _: Request<v1::ListEventsRequest>,
    ) -> Result<Response<v1::ListEventsResponse>, Status> {
        unimplemented()
    }
    async fn find_event(
        &self,
        _: Request<v1::FindEventRequest>,
    ) -> Result<Response<v1::FindEventResponse>, Status> {
        unimplemented()
    }
    async fn get_waiting_room(
        &self,
        _: Request<v1::GetWaitingRoomRequest>,
    ) -> Result<Response<v1::GetWaitingRoomResponse>, Status> {
        unimplemented()
    }
    async fn get_voucher(
        &self,
        _: Request<v1::GetVoucherRequest>,
    ) -> Result<Response<v1::GetVoucherResponse>, Status> {
        unimplemented()
    }
    async fn get_seat_map(
        &self,
        _: Request<v1::GetSeatMapRequest>,
    ) -> Result<Response<v1::GetSeatMapResponse>, Status> {
        unimplemented()
    }
    async fn get_waiting_list_entry(
        &self,
        _: Request<v1::GetWaitingListEntryRequest>,
    ) -> Result<Response<v1::GetWaitingListEntryResponse>, Status> {
        unimplemented()
    }
    type SubscribeEventsStream = futures::stream::Empty<Result<v1::RecordMessage, Status>>;
    async fn subscribe_events(
        &self,
        _: Request<v1::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeEventsStream>, Status> {
        unimplemented()
    }
}

fn applied(seq: u64, duplicate: bool) -> v1::CommandResult {
    let outcome = Outcome::Accepted(Accepted::OrderPaid { order: OrderId(seq) });
    let response = v1::SubmitResponse { outcome: Some((&outcome).into()), duplicate, seq };
    v1::CommandResult { result: Some(Wire::Applied(response)) }
}

fn refused(reason: Reason) -> v1::CommandResult {
    let refusal =
        v1::NotApplied { reason: reason as i32, message: format!("{reason:?}"), ..Default::default() };
    v1::CommandResult { result: Some(Wire::NotApplied(refusal)) }
}

fn unknown() -> v1::CommandResult {
    v1::CommandResult { result: Some(Wire::Unknown(v1::OutcomeUnknown { message: "raft failed".into() })) }
}

#[tokio::test]
async fn a_batch_resends_only_unknown_and_passing_refusals_with_the_same_request_ids() {
    let node = Scripted::default();
    *node.script.lock().unwrap() = vec![
        // Round 1: five commands, five different fates.
        vec![
            applied(1, false),
            refused(Reason::Busy),
            refused(Reason::Invalid),
            unknown(),
            refused(Reason::NotLeader),
        ],
        // Round 2: the busy, unknown and not-leader ones (the unknown one had been applied).
        vec![applied(2, false), applied(0, true), applied(3, false)],
    ];
    let listener = tokio::net::TcpListener::bind("127.0.55.4:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(InventoryServer::new(node.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let options = ClientOptions { call_timeout: Duration::from_secs(5), ..ClientOptions::default() };
    let client = Client::remote(&[addr], options).unwrap();

    let commands: Vec<(RequestId, Command)> =
        (1..=5).map(|i| (RequestId(100 + i), Command::Pay { order: OrderId(i as u64) })).collect();
    let results = client.submit_batch(commands).await.expect("per-command results");

    let seen = node.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "two rounds");
    assert_eq!(seen[0], (101..=105).map(RequestId).collect::<Vec<_>>());
    assert_eq!(seen[1], vec![RequestId(102), RequestId(104), RequestId(105)], "only these are resent");
    assert_eq!(results[0].as_ref().unwrap().seq, 1);
    assert_eq!(results[1].as_ref().unwrap().seq, 2);
    assert!(matches!(results[2], Err(ClientError::Invalid(_))), "{:?}", results[2]);
    let answered_before = results[3].as_ref().unwrap();
    assert!(answered_before.duplicate && answered_before.request_id == RequestId(104));
    assert_eq!(results[4].as_ref().unwrap().seq, 3);
    server.abort();
}

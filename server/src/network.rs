//! The Raft transport between nodes, over gRPC: openraft's messages are
//! encoded with the engine's codec (`Kind::RaftMessage`, CRC-framed and
//! versioned) and carried as opaque bytes by the `boxoffice.v1.Raft`
//! service. The reply carries the remote node's `Result`, so a remote Raft
//! error (a higher term, say) reaches openraft as what it is, not as a
//! transport failure.

use boxoffice_engine::clock::ClusterClock;
use boxoffice_engine::codec::{self, Kind, RAFT_MESSAGE_BYTES_MAX};
use boxoffice_engine::raft::{NodeId, NodeInfo, TypeConfig};
use boxoffice_proto::v1::RaftPayload;
use boxoffice_proto::v1::raft_client::RaftClient;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// How long connecting to a peer may take, in milliseconds.
pub const PEER_CONNECT_TIMEOUT_MS: u64 = 500;

/// HTTP/2 keepalive ping interval between nodes, in milliseconds.
pub const PEER_KEEPALIVE_MS: u64 = 1_000;

/// Creates one [`GrpcPeer`] per target node.
#[derive(Clone, Default)]
pub struct GrpcNetwork {
    /// Addresses to dial instead of the advertised ones, by node.
    pub routes: BTreeMap<NodeId, String>,
    /// This node's clock, fed with the clock every peer reports in its
    /// replies (see `boxoffice_engine::clock`).
    pub clock: Arc<ClusterClock>,
}

impl RaftNetworkFactory<TypeConfig> for GrpcNetwork {
    type Network = GrpcPeer;

    async fn new_client(&mut self, target: NodeId, node: &NodeInfo) -> GrpcPeer {
        let addr = self.routes.get(&target).cloned().unwrap_or_else(|| node.addr.clone());
        GrpcPeer { target, addr, client: None, clock: self.clock.clone() }
    }
}

/// A connection to one peer, made on first use and again after a failure.
pub struct GrpcPeer {
    target: NodeId,
    addr: String,
    client: Option<RaftClient<Channel>>,
    clock: Arc<ClusterClock>,
}

/// Which RPC to call.
#[derive(Clone, Copy)]
enum Rpc {
    AppendEntries,
    Vote,
    InstallSnapshot,
}

impl GrpcPeer {
    async fn connect(&mut self) -> Result<RaftClient<Channel>, Unreachable> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{}", self.addr))
            .map_err(|e| Unreachable::new(&e))?
            .connect_timeout(Duration::from_millis(PEER_CONNECT_TIMEOUT_MS))
            .tcp_nodelay(true)
            // Detect a silent (half-open) connection after a partition.
            .http2_keep_alive_interval(Duration::from_millis(PEER_KEEPALIVE_MS))
            .keep_alive_timeout(Duration::from_millis(PEER_KEEPALIVE_MS * 2))
            .keep_alive_while_idle(true);
        let channel = endpoint.connect().await.map_err(|e| Unreachable::new(&e))?;
        let client = RaftClient::new(channel)
            .max_decoding_message_size(RAFT_MESSAGE_BYTES_MAX as usize)
            .max_encoding_message_size(RAFT_MESSAGE_BYTES_MAX as usize);
        self.client = Some(client.clone());
        Ok(client)
    }

    async fn call<Req, Resp, E>(
        &mut self,
        rpc: Rpc,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, NodeInfo, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let data = codec::encode(Kind::RaftMessage, request)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let mut client = self.connect().await?;
        let payload = tonic::Request::new(RaftPayload { data });
        let call = async {
            match rpc {
                Rpc::AppendEntries => client.append_entries(payload).await,
                Rpc::Vote => client.vote(payload).await,
                Rpc::InstallSnapshot => client.install_snapshot(payload).await,
            }
        };
        let sent_ms = self.clock.wall_ms();
        let reply = match tokio::time::timeout(option.hard_ttl(), call).await {
            Ok(Ok(reply)) => {
                let peer_ms = reply.metadata().get(crate::services::WALL_CLOCK_HEADER);
                if let Some(peer_ms) = peer_ms.and_then(|v| v.to_str().ok()?.parse::<u64>().ok()) {
                    self.clock.record_sample(self.target, sent_ms, peer_ms, self.clock.wall_ms());
                }
                reply.into_inner()
            }
            Ok(Err(status)) => {
                self.client = None;
                return Err(RPCError::Unreachable(Unreachable::new(&status)));
            }
            Err(elapsed) => {
                self.client = None;
                return Err(RPCError::Network(NetworkError::new(&elapsed)));
            }
        };
        let result: Result<Resp, RaftError<NodeId, E>> = codec::decode(Kind::RaftMessage, &reply.data)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for GrpcPeer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId>>> {
        self.call(Rpc::AppendEntries, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, NodeInfo, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(Rpc::InstallSnapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId>>> {
        self.call(Rpc::Vote, &rpc, &option).await
    }
}

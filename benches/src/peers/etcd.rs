//! etcd, three members: every step of a sale is one compare-and-swap
//! transaction, which is how a strongly consistent key-value store is used
//! for anything with an invariant across concurrent writers.
//!
//! 1. Reserve: read the quota key (`taken` as a decimal), and `Txn(if
//!    mod_revision(quota) == rev then put quota = taken + 1, put cart)`. On a
//!    lost race the transaction's else branch reads the quota again and the
//!    buyer retries, at most [`CAS_RETRIES_MAX`] times; past that the sale
//!    counts as a `cas_retries` error. This is the step that contends.
//! 2. Order: `Txn(if version(cart) > 0 then delete cart, put order = pending)`.
//! 3. Pay: `Txn(if value(order) == pending then put order = paid, put paid marker)`.
//!
//! The paid markers (`bo/paid/<quota>/<order>`) are counted with a
//! count-only range read at the end: the sold count comes from the orders,
//! not from a counter the sale maintains.
//!
//! The `puts` scenario writes unique keys with plain puts: the raw rate at
//! which the cluster replicates and fsyncs, with no contention.

use super::{Buyer, Failure, Peer, QuotaCount, Sale};
use etcd_client::{Client, Compare, CompareOp, GetOptions, Txn, TxnOp, TxnOpResponse};

/// How many times one reserve step retries its compare-and-swap after losing
/// a race, before the sale is given up as an error.
pub const CAS_RETRIES_MAX: u32 = 32;
/// Bytes in each value the `puts` scenario writes.
const PUT_VALUE_BYTES: usize = 64;

fn quota_key(quota: u64) -> String {
    format!("bo/quota/{quota}")
}

fn size_key(quota: u64) -> String {
    format!("bo/size/{quota}")
}

/// A three-member etcd cluster.
pub struct Etcd {
    endpoints: Vec<String>,
}

impl Etcd {
    /// `endpoints` are the members' client addresses, `host:port`.
    pub fn new(endpoints: &[String]) -> Self {
        Etcd { endpoints: endpoints.iter().map(|e| format!("http://{e}")).collect() }
    }

    async fn connect(&self) -> anyhow::Result<Client> {
        Ok(Client::connect(&self.endpoints, None).await?)
    }
}

impl Peer for Etcd {
    type Buyer = EtcdBuyer;

    async fn prepare(&self, quotas: u64, size: u64) -> anyhow::Result<()> {
        let mut client = self.connect().await?;
        client.delete("bo/", Some(etcd_client::DeleteOptions::new().with_prefix())).await?;
        for quota in 0..quotas {
            let txn = Txn::new().and_then([
                TxnOp::put(quota_key(quota), "0", None),
                TxnOp::put(size_key(quota), size.to_string(), None),
            ]);
            client.txn(txn).await?;
        }
        Ok(())
    }

    async fn buyer(&self, id: u64) -> anyhow::Result<EtcdBuyer> {
        Ok(EtcdBuyer { client: self.connect().await?, id, next: 0, sizes: Vec::new() })
    }

    async fn read_back(&self, quotas: u64) -> anyhow::Result<Vec<QuotaCount>> {
        let mut client = self.connect().await?;
        let mut counts = Vec::new();
        for quota in 0..quotas {
            let taken = number(client.get(quota_key(quota), None).await?.kvs().first().map(|kv| kv.value()))?;
            let size = number(client.get(size_key(quota), None).await?.kvs().first().map(|kv| kv.value()))?;
            let paid = client
                .get(format!("bo/paid/{quota}/"), Some(GetOptions::new().with_prefix().with_count_only()))
                .await?
                .count() as u64;
            counts.push(QuotaCount { size, taken, paid });
        }
        Ok(counts)
    }
}

fn number(value: Option<&[u8]>) -> anyhow::Result<u64> {
    let value = value.ok_or_else(|| anyhow::anyhow!("missing key"))?;
    Ok(std::str::from_utf8(value)?.parse()?)
}

/// One buyer's connection.
pub struct EtcdBuyer {
    client: Client,
    id: u64,
    /// Sales this buyer started, for unique cart and order keys.
    next: u64,
    /// Quota sizes, read once.
    sizes: Vec<Option<u64>>,
}

fn kind(step: &str, error: &etcd_client::Error) -> String {
    match error {
        etcd_client::Error::GRpcStatus(status) => format!("{step}_grpc_{:?}", status.code()).to_lowercase(),
        _ => format!("{step}_transport"),
    }
}

impl EtcdBuyer {
    async fn size(&mut self, quota: u64) -> Result<u64, Failure> {
        let i = quota as usize;
        if self.sizes.len() <= i {
            self.sizes.resize(i + 1, None);
        }
        if let Some(size) = self.sizes[i] {
            return Ok(size);
        }
        let response =
            self.client.get(size_key(quota), None).await.map_err(|e| Failure::definite(kind("size", &e)))?;
        let size =
            number(response.kvs().first().map(|kv| kv.value())).map_err(|_| Failure::definite("no_quota"))?;
        self.sizes[i] = Some(size);
        Ok(size)
    }

    /// Step 1: the compare-and-swap on the quota key. `Ok(false)` is sold out.
    async fn reserve(&mut self, quota: u64, cart: &str) -> Result<bool, Failure> {
        let size = self.size(quota).await?;
        let key = quota_key(quota);
        let response =
            self.client.get(key.as_str(), None).await.map_err(|e| Failure::definite(kind("reserve", &e)))?;
        let kv = response.kvs().first().ok_or_else(|| Failure::definite("no_quota"))?;
        let (mut taken, mut revision) =
            (number(Some(kv.value())).map_err(|_| Failure::definite("bad_quota"))?, kv.mod_revision());
        for _ in 0..=CAS_RETRIES_MAX {
            if taken >= size {
                return Ok(false);
            }
            let txn = Txn::new()
                .when([Compare::mod_revision(key.as_str(), CompareOp::Equal, revision)])
                .and_then([
                    TxnOp::put(key.as_str(), (taken + 1).to_string(), None),
                    TxnOp::put(cart, quota.to_string(), None),
                ])
                .or_else([TxnOp::get(key.as_str(), None)]);
            // The put to the quota key is in flight: a transport error leaves
            // it unknown, but the sale is not paid, so the sale is definite.
            let response = self.client.txn(txn).await.map_err(|e| Failure::definite(kind("reserve", &e)))?;
            if response.succeeded() {
                return Ok(true);
            }
            let current = response.op_responses().into_iter().find_map(|op| match op {
                TxnOpResponse::Get(get) => {
                    get.kvs().first().map(|kv| (kv.value().to_vec(), kv.mod_revision()))
                }
                _ => None,
            });
            let (value, rev) = current.ok_or_else(|| Failure::definite("no_quota"))?;
            taken = number(Some(&value)).map_err(|_| Failure::definite("bad_quota"))?;
            revision = rev;
        }
        Err(Failure::definite("cas_retries"))
    }
}

impl Buyer for EtcdBuyer {
    async fn sale(&mut self, quota: u64) -> Result<Sale, Failure> {
        let n = self.next;
        self.next += 1;
        let cart = format!("bo/cart/{}/{n}", self.id);
        let order = format!("bo/order/{quota}/{}/{n}", self.id);
        if !self.reserve(quota, &cart).await? {
            return Ok(Sale::SoldOut);
        }
        let txn = Txn::new()
            .when([Compare::version(cart.as_str(), CompareOp::Greater, 0)])
            .and_then([TxnOp::delete(cart.as_str(), None), TxnOp::put(order.as_str(), "pending", None)]);
        let response = self.client.txn(txn).await.map_err(|e| Failure::definite(kind("order", &e)))?;
        if !response.succeeded() {
            return Err(Failure::definite("order_no_cart"));
        }
        let paid = format!("bo/paid/{quota}/{}/{n}", self.id);
        let txn = Txn::new()
            .when([Compare::value(order.as_str(), CompareOp::Equal, "pending")])
            .and_then([TxnOp::put(order.as_str(), "paid", None), TxnOp::put(paid, "", None)]);
        match self.client.txn(txn).await {
            Ok(response) if response.succeeded() => Ok(Sale::Sold),
            Ok(_) => Err(Failure::definite("pay_not_pending")),
            // Even a gRPC status (a deadline, an unavailable member) may
            // come after the leader committed it.
            Err(e) => Err(Failure::unknown(kind("pay", &e))),
        }
    }

    async fn put(&mut self, key: u64) -> Result<(), Failure> {
        let value = vec![b'x'; PUT_VALUE_BYTES];
        self.client
            .put(format!("bo/put/{key}"), value, None)
            .await
            .map_err(|e| Failure::unknown(kind("put", &e)))?;
        Ok(())
    }
}

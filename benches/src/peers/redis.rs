//! Redis, the way a shop built on it would sell: three Lua scripts, each run
//! atomically by the single-threaded server (EVALSHA, loaded on first use).
//!
//! 1. `RESERVE`: if the quota hash's `taken` is below its `size`, increment
//!    it and create a cart hash; else answer 0 (sold out).
//! 2. `ORDER`: delete the cart, create a pending order.
//! 3. `PAY`: mark the order paid and count it on the quota's `paid` field.
//!
//! With `appendfsync always` the server fsyncs its append-only file before
//! answering the writes of each event-loop turn, so an acknowledged script
//! survives a crash of the process or the machine — but only on this one
//! disk: there is no replica (see benches/peers/README.md).
//!
//! The scripts touch keys they do not declare (the cart and the order);
//! fine on one node, not in Redis Cluster.

use super::{Buyer, Failure, Peer, QuotaCount, Sale};
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};

/// KEYS[1] = quota hash. Answers the new cart's id, or 0 when sold out.
const RESERVE: &str = r#"
local taken = tonumber(redis.call('HGET', KEYS[1], 'taken'))
local size = tonumber(redis.call('HGET', KEYS[1], 'size'))
if taken == nil or size == nil then return redis.error_reply('no such quota') end
if taken >= size then return 0 end
redis.call('HINCRBY', KEYS[1], 'taken', 1)
local id = redis.call('INCR', 'bo:seq:cart')
redis.call('HSET', 'bo:cart:' .. id, 'quota', KEYS[1])
return id
"#;

/// ARGV[1] = cart id. Answers the new order's id.
const ORDER: &str = r#"
local cart = 'bo:cart:' .. ARGV[1]
local quota = redis.call('HGET', cart, 'quota')
if not quota then return redis.error_reply('no such cart') end
redis.call('DEL', cart)
local id = redis.call('INCR', 'bo:seq:order')
redis.call('HSET', 'bo:order:' .. id, 'quota', quota, 'status', 'pending')
return id
"#;

/// ARGV[1] = order id. Answers 1 when it marked the order paid.
const PAY: &str = r#"
local order = 'bo:order:' .. ARGV[1]
if redis.call('HGET', order, 'status') ~= 'pending' then return redis.error_reply('order not pending') end
redis.call('HSET', order, 'status', 'paid')
redis.call('HINCRBY', redis.call('HGET', order, 'quota'), 'paid', 1)
return 1
"#;

fn quota_key(quota: u64) -> String {
    format!("bo:quota:{quota}")
}

/// One Redis server.
pub struct Redis {
    client: redis::Client,
}

impl Redis {
    /// `endpoint` is `host:port`.
    pub fn new(endpoint: &str) -> anyhow::Result<Self> {
        Ok(Redis { client: redis::Client::open(format!("redis://{endpoint}/"))? })
    }
}

impl Peer for Redis {
    type Buyer = RedisBuyer;

    async fn prepare(&self, quotas: u64, size: u64) -> anyhow::Result<()> {
        let mut con = self.client.get_multiplexed_async_connection().await?;
        redis::cmd("FLUSHALL").query_async::<()>(&mut con).await?;
        for quota in 0..quotas {
            let _: () =
                con.hset_multiple(quota_key(quota), &[("size", size), ("taken", 0), ("paid", 0)]).await?;
        }
        Ok(())
    }

    async fn buyer(&self, _id: u64) -> anyhow::Result<RedisBuyer> {
        // A connection of its own per buyer, like the other peers' buyers;
        // a ConnectionManager reconnects after a broken connection.
        let con = self.client.get_connection_manager().await?;
        Ok(RedisBuyer {
            con,
            reserve: Script::new(RESERVE),
            order: Script::new(ORDER),
            pay: Script::new(PAY),
        })
    }

    async fn read_back(&self, quotas: u64) -> anyhow::Result<Vec<QuotaCount>> {
        let mut con = self.client.get_multiplexed_async_connection().await?;
        let mut counts = Vec::new();
        for quota in 0..quotas {
            let (size, taken, paid): (u64, u64, u64) =
                con.hget(quota_key(quota), &["size", "taken", "paid"]).await?;
            counts.push(QuotaCount { size, taken, paid });
        }
        Ok(counts)
    }
}

/// One buyer's connection and the three scripts.
pub struct RedisBuyer {
    con: ConnectionManager,
    reserve: Script,
    order: Script,
    pay: Script,
}

/// A short kind for the errors table.
fn kind(step: &str, error: &redis::RedisError) -> String {
    format!("{step}_{:?}", error.kind()).to_lowercase()
}

impl Buyer for RedisBuyer {
    async fn sale(&mut self, quota: u64) -> Result<Sale, Failure> {
        let cart: u64 = self
            .reserve
            .key(quota_key(quota))
            .invoke_async(&mut self.con)
            .await
            .map_err(|e| Failure::definite(kind("reserve", &e)))?;
        if cart == 0 {
            return Ok(Sale::SoldOut);
        }
        let order: u64 = self
            .order
            .arg(cart)
            .invoke_async(&mut self.con)
            .await
            .map_err(|e| Failure::definite(kind("order", &e)))?;
        // An error the script raised is definite; a broken connection is not.
        match self.pay.arg(order).invoke_async::<u64>(&mut self.con).await {
            Ok(_) => Ok(Sale::Sold),
            Err(e) if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() => {
                Err(Failure::unknown(kind("pay", &e)))
            }
            Err(e) => Err(Failure::definite(kind("pay", &e))),
        }
    }
}

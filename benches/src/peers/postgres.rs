//! PostgreSQL, the way pretix sells a ticket: three transactions per sale.
//!
//! 1. Cart: a conditional `UPDATE quota SET taken = taken + 1 WHERE id = $1
//!    AND taken < size` (the row lock serialises buyers of one quota; under
//!    READ COMMITTED the condition is re-checked on the locked row, so it
//!    cannot oversell) and an `INSERT` of the cart row, in one transaction.
//! 2. Order: delete the cart row, insert a pending order, in one transaction.
//! 3. Payment: mark the order paid.
//!
//! The same code drives `postgres-single` and `postgres-sync3`; what differs
//! is the server's configuration (`benches/peers/run`): with
//! `synchronous_standby_names = 'ANY 1 (s1, s2)'` every commit waits for one
//! standby to flush it. Buyers always talk to the first endpoint, the primary.

use super::{Buyer, Failure, Peer, QuotaCount, Sale};
use tokio_postgres::{Client, NoTls, Statement};

/// The schema, recreated empty before every run.
const SCHEMA: &str = "
    DROP TABLE IF EXISTS orders, cart, quota;
    CREATE TABLE quota (id bigint PRIMARY KEY, size bigint NOT NULL, taken bigint NOT NULL DEFAULT 0,
                        CHECK (taken >= 0));
    CREATE TABLE cart (id bigserial PRIMARY KEY, quota_id bigint NOT NULL REFERENCES quota,
                       created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE orders (id bigserial PRIMARY KEY, quota_id bigint NOT NULL REFERENCES quota,
                         status text NOT NULL CHECK (status IN ('pending', 'paid')),
                         created_at timestamptz NOT NULL DEFAULT now(), paid_at timestamptz);
";

/// A PostgreSQL server (or the primary of a replicated one).
pub struct Postgres {
    conninfo: String,
}

impl Postgres {
    /// `endpoint` is `host:port` of the primary; the user is `postgres`,
    /// trusted on loopback as `benches/peers/run` sets it up.
    pub fn new(endpoint: &str) -> anyhow::Result<Self> {
        let (host, port) =
            endpoint.rsplit_once(':').ok_or_else(|| anyhow::anyhow!("{endpoint}: want host:port"))?;
        Ok(Postgres {
            conninfo: format!(
                "host={host} port={port} user=postgres dbname=postgres application_name=boxoffice-peers"
            ),
        })
    }

    async fn connect(&self) -> anyhow::Result<Client> {
        let (client, connection) = tokio_postgres::connect(&self.conninfo, NoTls).await?;
        tokio::spawn(async move {
            // Ends when the client is dropped or the server goes; the buyer
            // sees the error on its next query.
            let _ = connection.await;
        });
        Ok(client)
    }
}

impl Peer for Postgres {
    type Buyer = PostgresBuyer;

    async fn prepare(&self, quotas: u64, size: u64) -> anyhow::Result<()> {
        let client = self.connect().await?;
        client.batch_execute(SCHEMA).await?;
        client
            .execute(
                "INSERT INTO quota (id, size) SELECT i, $2::bigint FROM generate_series(0, $1::bigint - 1) AS i",
                &[&(quotas as i64), &(size as i64)],
            )
            .await?;
        Ok(())
    }

    async fn buyer(&self, _id: u64) -> anyhow::Result<PostgresBuyer> {
        PostgresBuyer::open(self.conninfo.clone()).await
    }

    async fn read_back(&self, quotas: u64) -> anyhow::Result<Vec<QuotaCount>> {
        let client = self.connect().await?;
        let rows = client
            .query(
                "SELECT q.size, q.taken, (SELECT count(*) FROM orders o WHERE o.quota_id = q.id AND o.status = 'paid')
                 FROM quota q ORDER BY q.id",
                &[],
            )
            .await?;
        anyhow::ensure!(rows.len() as u64 == quotas, "read back {} quotas, expected {quotas}", rows.len());
        Ok(rows
            .iter()
            .map(|r| QuotaCount {
                size: r.get::<_, i64>(0) as u64,
                taken: r.get::<_, i64>(1) as u64,
                paid: r.get::<_, i64>(2) as u64,
            })
            .collect())
    }
}

/// One buyer's connection and its prepared statements.
pub struct PostgresBuyer {
    conninfo: String,
    client: Client,
    reserve: Statement,
    cart: Statement,
    uncart: Statement,
    order: Statement,
    pay: Statement,
}

impl PostgresBuyer {
    /// Connects and prepares the sale's statements.
    async fn open(conninfo: String) -> anyhow::Result<Self> {
        let client = Postgres { conninfo: conninfo.clone() }.connect().await?;
        let reserve = client
            .prepare("UPDATE quota SET taken = taken + 1 WHERE id = $1 AND taken < size RETURNING taken")
            .await?;
        let cart = client.prepare("INSERT INTO cart (quota_id) VALUES ($1) RETURNING id").await?;
        let uncart = client.prepare("DELETE FROM cart WHERE id = $1").await?;
        let order = client
            .prepare("INSERT INTO orders (quota_id, status) VALUES ($1, 'pending') RETURNING id")
            .await?;
        let pay = client
            .prepare(
                "UPDATE orders SET status = 'paid', paid_at = now() WHERE id = $1 AND status = 'pending'",
            )
            .await?;
        Ok(PostgresBuyer { conninfo, client, reserve, cart, uncart, order, pay })
    }
}

/// A short kind for the errors table: the SQLSTATE when the server answered,
/// else `io` (the connection failed: the outcome of a COMMIT in flight is unknown).
fn kind(step: &str, error: &tokio_postgres::Error) -> String {
    match error.code() {
        Some(code) => format!("{step}_sqlstate_{}", code.code()),
        None => format!("{step}_io"),
    }
}

impl Buyer for PostgresBuyer {
    async fn sale(&mut self, quota: u64) -> Result<Sale, Failure> {
        if self.client.is_closed() {
            // The last sale broke the connection: a new one, else every
            // later sale would fail at once and flood the errors table.
            *self = PostgresBuyer::open(self.conninfo.clone())
                .await
                .map_err(|_| Failure::definite("reconnect"))?;
        }
        let quota = quota as i64;
        // 1. Cart.
        let cart_id: i64 = {
            let step = async {
                let txn = self.client.transaction().await?;
                if txn.query_opt(&self.reserve, &[&quota]).await?.is_none() {
                    txn.rollback().await?;
                    return Ok(None);
                }
                let id: i64 = txn.query_one(&self.cart, &[&quota]).await?.get(0);
                txn.commit().await?;
                Ok::<_, tokio_postgres::Error>(Some(id))
            };
            match step.await {
                Ok(Some(id)) => id,
                Ok(None) => return Ok(Sale::SoldOut),
                Err(e) => return Err(Failure::definite(kind("cart", &e))),
            }
        };
        // 2. Order.
        let order_id: i64 = {
            let step = async {
                let txn = self.client.transaction().await?;
                txn.execute(&self.uncart, &[&cart_id]).await?;
                let id: i64 = txn.query_one(&self.order, &[&quota]).await?.get(0);
                txn.commit().await?;
                Ok::<_, tokio_postgres::Error>(id)
            };
            step.await.map_err(|e| Failure::definite(kind("order", &e)))?
        };
        // 3. Payment. A server error aborts it (definitely unpaid); a broken
        // connection leaves the commit's outcome unknown.
        match self.client.execute(&self.pay, &[&order_id]).await {
            Ok(1) => Ok(Sale::Sold),
            Ok(n) => Err(Failure::definite(format!("pay_updated_{n}_rows"))),
            Err(e) if e.code().is_some() => Err(Failure::definite(kind("pay", &e))),
            Err(e) => Err(Failure::unknown(kind("pay", &e))),
        }
    }
}

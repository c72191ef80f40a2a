//! One sale, as a buyer of the shop makes it: `PlaceHold` of one ticket,
//! `Checkout` (or `CheckoutWithContact`), `Pay`; or the same for a batch of
//! buyers, one `SubmitBatch` per step.
//!
//! Each answer is booked where the end-of-run check will look for it
//! ([`QuotaBook`]): an acknowledged payment is a sale the engine must still
//! have; a payment whose outcome is unknown may or may not be there; a sale
//! that stopped after its hold may have been placed leaves a hold or a
//! pending order behind. A sold-out answer marks the quota, so buyers stop
//! choosing it. No command is retried here: the client library already
//! retries with the same request id within its call timeout, and what it
//! could not settle is reported as it is.

use super::config::{HOLD_TTL_MS, PAYMENT_TTL_MS};
use super::setup::Fixture;
use super::stats::{CallKind, Failure, QuotaBook, Recorder, rejection_kind};
use boxoffice_client::domain::{Accepted, Command, HoldId, Line, OrderId, Outcome, QuotaId, Rejection};
use boxoffice_client::{Client, ReadConsistency, Submitted, new_request_id};
use rand::Rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// What every client task of a run shares.
pub struct Context {
    /// The client (clones share its connections).
    pub client: Client,
    /// What is on sale.
    pub fixture: Fixture,
    /// The generator's ledger, one book per quota of `fixture`, same order.
    pub books: Vec<QuotaBook>,
    /// The measurements.
    pub recorder: Recorder,
    /// When every running command is cut short (the end of the drain).
    pub hard_deadline: tokio::time::Instant,
    /// Check out with the buyer's contact.
    pub contact: bool,
    sold_out_quotas: AtomicU64,
}

/// How a sale ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaleEnd {
    /// The payment was acknowledged.
    Paid,
    /// The hold was rejected: the quota is sold out.
    SoldOut,
    /// Anything else (counted in the error table).
    Failed,
}

impl Context {
    /// A context for `fixture`, with empty books.
    pub fn new(client: Client, fixture: Fixture, hard_deadline: Instant, contact: bool) -> Context {
        let books = fixture.quotas.iter().map(|_| QuotaBook::default()).collect();
        Context {
            client,
            fixture,
            books,
            recorder: Recorder::default(),
            hard_deadline: hard_deadline.into(),
            contact,
            sold_out_quotas: AtomicU64::new(0),
        }
    }

    /// True once every quota has been seen sold out: nothing is left to buy.
    pub fn all_sold_out(&self) -> bool {
        self.sold_out_quotas.load(Ordering::Relaxed) == self.books.len() as u64
    }

    fn mark_sold_out(&self, quota: QuotaId) {
        if let Some(index) = self.fixture.quotas.iter().position(|(_, q)| *q == quota)
            && !self.books[index].sold_out.swap(true, Ordering::Relaxed)
        {
            self.sold_out_quotas.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A random quota (its index) not yet seen sold out, or `None` if all are.
    pub fn pick_quota(&self, rng: &mut impl Rng) -> Option<usize> {
        let count = self.books.len();
        let start = rng.random_range(0..count);
        (0..count).map(|i| (start + i) % count).find(|&i| !self.books[i].sold_out.load(Ordering::Relaxed))
    }

    /// Submit one command, cut short at the hard deadline; records its latency.
    async fn submit(&self, kind: CallKind, command: Command) -> Result<Outcome, Failure> {
        let started = Instant::now();
        let answer = tokio::time::timeout_at(self.hard_deadline, self.client.submit(command)).await;
        self.recorder.commands.fetch_add(1, Ordering::Relaxed);
        self.recorder.call(kind, started.elapsed());
        match answer {
            Ok(Ok(submitted)) => Ok(submitted.outcome),
            Ok(Err(error)) => Err(Failure::Client(error)),
            Err(_) => Err(Failure::Timeout),
        }
    }

    /// Submit commands in one batch, cut short at the hard deadline; one
    /// result per command. A failure of the whole request is the failure of
    /// each command.
    async fn submit_batch(&self, kind: CallKind, commands: Vec<Command>) -> Vec<Result<Outcome, Failure>> {
        let count = commands.len();
        let batch = commands.into_iter().map(|c| (new_request_id(), c)).collect();
        let started = Instant::now();
        let answer = tokio::time::timeout_at(self.hard_deadline, self.client.submit_batch(batch)).await;
        self.recorder.commands.fetch_add(count as u64, Ordering::Relaxed);
        self.recorder.call(kind, started.elapsed());
        let one = |r: Result<Submitted, _>| r.map(|s| s.outcome).map_err(Failure::Client);
        match answer {
            Ok(Ok(results)) => results.into_iter().map(one).collect(),
            Ok(Err(error)) => vec![Err(Failure::Client(error)); count],
            Err(_) => vec![Err(Failure::Timeout); count],
        }
    }

    fn hold(&self, quota: usize) -> Command {
        let (item, _) = self.fixture.quotas[quota];
        Command::PlaceHold {
            event: self.fixture.event,
            lines: vec![Line { item, quantity: 1 }],
            ttl_ms: HOLD_TTL_MS,
        }
    }

    fn checkout(&self, hold: HoldId) -> Command {
        if self.contact {
            Command::CheckoutWithContact {
                hold,
                payment_ttl_ms: PAYMENT_TTL_MS,
                name: "Load Buyer".into(),
                email: "buyer@load.invalid".into(),
            }
        } else {
            Command::Checkout { hold, payment_ttl_ms: PAYMENT_TTL_MS }
        }
    }

    /// Book a hold's answer; the hold if placed.
    fn on_hold(&self, quota: usize, answer: Result<Outcome, Failure>) -> Result<HoldId, SaleEnd> {
        let book = &self.books[quota];
        match answer {
            Ok(Outcome::Accepted(Accepted::HoldLive { hold, .. })) => Ok(hold),
            Ok(Outcome::Rejected(rejection)) => {
                self.recorder.error(rejection_kind(&rejection), 1);
                if let Rejection::SoldOut { quota, .. } = rejection {
                    self.mark_sold_out(quota);
                    return Err(SaleEnd::SoldOut);
                }
                Err(SaleEnd::Failed)
            }
            Ok(Outcome::Accepted(_)) => {
                // A hold answered with something else cannot happen; if it
                // did, the ticket may be taken.
                self.recorder.error("unexpected_outcome", 1);
                book.abandoned.fetch_add(1, Ordering::Relaxed);
                Err(SaleEnd::Failed)
            }
            Err(failure) => {
                self.recorder.error(failure.kind(), 1);
                if failure.maybe_applied() {
                    book.abandoned.fetch_add(1, Ordering::Relaxed);
                }
                Err(SaleEnd::Failed)
            }
        }
    }

    /// Book a checkout's answer; the order if placed. Any failure leaves
    /// the hold (or the order) behind.
    fn on_checkout(&self, quota: usize, answer: Result<Outcome, Failure>) -> Result<OrderId, SaleEnd> {
        let kind = match answer {
            Ok(Outcome::Accepted(Accepted::OrderPlaced { order, .. })) => return Ok(order),
            Ok(Outcome::Rejected(rejection)) => rejection_kind(&rejection),
            Ok(Outcome::Accepted(_)) => "unexpected_outcome",
            Err(failure) => failure.kind(),
        };
        self.recorder.error(kind, 1);
        self.books[quota].abandoned.fetch_add(1, Ordering::Relaxed);
        Err(SaleEnd::Failed)
    }

    /// Book a payment's answer.
    fn on_pay(&self, quota: usize, answer: Result<Outcome, Failure>) -> SaleEnd {
        let book = &self.books[quota];
        let kind = match answer {
            Ok(Outcome::Accepted(Accepted::OrderPaid { .. })) => {
                book.paid_acked.fetch_add(1, Ordering::Relaxed);
                return SaleEnd::Paid;
            }
            Ok(Outcome::Rejected(rejection)) => rejection_kind(&rejection),
            Ok(Outcome::Accepted(accepted)) => Outcome::Accepted(accepted).label(),
            Err(failure) => {
                if failure.maybe_applied() {
                    book.pay_unknown.fetch_add(1, Ordering::Relaxed);
                }
                failure.kind()
            }
        };
        self.recorder.error(kind, 1);
        book.abandoned.fetch_add(1, Ordering::Relaxed);
        SaleEnd::Failed
    }

    /// One sale from quota `quota` (an index into the fixture), meant to
    /// start at `intended`: its latency counts from then.
    pub async fn sale(&self, quota: usize, intended: Instant) -> SaleEnd {
        let answer = self.submit(CallKind::Hold, self.hold(quota)).await;
        let hold = match self.on_hold(quota, answer) {
            Ok(hold) => hold,
            Err(end) => return end,
        };
        let answer = self.submit(CallKind::Checkout, self.checkout(hold)).await;
        let order = match self.on_checkout(quota, answer) {
            Ok(order) => order,
            Err(end) => return end,
        };
        let answer = self.submit(CallKind::Pay, Command::Pay { order }).await;
        let end = self.on_pay(quota, answer);
        if end == SaleEnd::Paid {
            self.recorder.sales_paid(intended.elapsed(), 1);
        }
        end
    }

    /// `count` sales from quota `quota`, each step one batch; meant to start
    /// at `intended`. Returns true if a hold was rejected as sold out.
    pub async fn batch_sale(&self, quota: usize, count: u64, intended: Instant) -> bool {
        let holds = (0..count).map(|_| self.hold(quota)).collect();
        let mut sold_out = false;
        let mut placed = Vec::new();
        for answer in self.submit_batch(CallKind::Hold, holds).await {
            match self.on_hold(quota, answer) {
                Ok(hold) => placed.push(hold),
                Err(end) => sold_out |= end == SaleEnd::SoldOut,
            }
        }
        if placed.is_empty() {
            return sold_out;
        }
        let checkouts = placed.into_iter().map(|hold| self.checkout(hold)).collect();
        let answers = self.submit_batch(CallKind::Checkout, checkouts).await;
        let orders: Vec<OrderId> =
            answers.into_iter().filter_map(|a| self.on_checkout(quota, a).ok()).collect();
        if orders.is_empty() {
            return sold_out;
        }
        let pays = orders.into_iter().map(|order| Command::Pay { order }).collect();
        let answers = self.submit_batch(CallKind::Pay, pays).await;
        let paid = answers.into_iter().map(|a| self.on_pay(quota, a)).filter(|e| *e == SaleEnd::Paid).count();
        if paid > 0 {
            self.recorder.sales_paid(intended.elapsed(), paid as u64);
        }
        sold_out
    }

    /// One stale availability read of quota `quota`, meant to start at `intended`.
    pub async fn browse(&self, quota: usize, intended: Instant) {
        let (_, id) = self.fixture.quotas[quota];
        let read = self.client.quota_availability(id, ReadConsistency::Stale);
        let answer = tokio::time::timeout_at(self.hard_deadline, read).await;
        self.recorder.reads.fetch_add(1, Ordering::Relaxed);
        self.recorder.call(CallKind::Read, intended.elapsed());
        let failure = match answer {
            Ok(Ok(_)) => return,
            Ok(Err(error)) => Failure::Client(error),
            Err(_) => Failure::Timeout,
        };
        self.recorder.error(&format!("read_{}", failure.kind()), 1);
    }
}

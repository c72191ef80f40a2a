//! The checks a command can pass or fail on its own, without the state:
//! lengths, counts, quantities and time-to-lives against [`super::limits`].
//!
//! Why a separate pass: a command travels through the batcher and the Raft
//! log before [`decide`](super::decide) sees it, so a command that breaks a
//! limit must be refused at the door, before it costs a log entry (and
//! before 100 names of 60 KB each can make one Raft entry too large to
//! store). `decide` still runs every one of these checks, and more (the ones
//! that need the state), so the door is an optimisation of the same rules,
//! never a second set of them. The property test in `engine/tests/model.rs`
//! checks that a command the door refuses is also rejected as `Invalid` by
//! the domain.

use super::limits::*;
use super::model::*;

pub(super) fn slug(slug: &str) -> Result<(), InvalidInput> {
    let ok = !slug.is_empty()
        && slug.len() <= SLUG_BYTES_MAX
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok { Ok(()) } else { Err(InvalidInput::Slug) }
}

pub(super) fn name(name: &str) -> Result<(), InvalidInput> {
    if !name.trim().is_empty() && name.len() <= NAME_BYTES_MAX { Ok(()) } else { Err(InvalidInput::Name) }
}

pub(super) fn ttl(ttl_ms: u64, max_ms: u64) -> Result<(), InvalidInput> {
    if (1..=max_ms).contains(&ttl_ms) { Ok(()) } else { Err(InvalidInput::Ttl) }
}

pub(super) fn size(size: Option<u64>) -> Result<(), InvalidInput> {
    if size.is_some_and(|s| s > QUOTA_SIZE_MAX) { Err(InvalidInput::QuotaSize) } else { Ok(()) }
}

/// Lines on their own: at least one, at most [`HOLD_LINES_MAX`], no zero
/// quantity, at most [`HOLD_QUANTITY_MAX`] tickets in all.
pub(super) fn lines(lines: &[Line]) -> Result<(), InvalidInput> {
    if lines.is_empty() || lines.len() > HOLD_LINES_MAX || lines.iter().any(|l| l.quantity == 0) {
        return Err(InvalidInput::Lines);
    }
    let quantity: u64 = lines.iter().map(|l| u64::from(l.quantity)).sum();
    if quantity > HOLD_QUANTITY_MAX { Err(InvalidInput::Quantity) } else { Ok(()) }
}

impl Command {
    /// Check what can be checked without the state. `Err` means the domain
    /// would certainly reject the command as [`Rejection::Invalid`] with
    /// this reason (or, for a command on an unknown object, as `NotFound`),
    /// so it can be refused before it is proposed.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        match self {
            Command::CreateOrganizer { slug: s, name: n, .. } => slug(s).and_then(|()| name(n)),
            Command::CreateEvent { slug: s, name: n, .. } => slug(s).and_then(|()| name(n)),
            Command::CreateItem { name: n, price_cents, .. } => {
                name(n)?;
                if *price_cents > ITEM_PRICE_CENTS_MAX { Err(InvalidInput::Price) } else { Ok(()) }
            }
            Command::CreateQuota { name: n, size: s, items, .. } => {
                name(n)?;
                size(*s)?;
                let mut distinct = items.clone();
                distinct.sort_unstable();
                distinct.dedup();
                if items.is_empty() || items.len() > QUOTA_ITEMS_MAX || distinct.len() != items.len() {
                    return Err(InvalidInput::QuotaItems);
                }
                Ok(())
            }
            Command::ResizeQuota { size: s, .. } => size(*s),
            Command::PlaceHold { lines: l, ttl_ms, .. } => {
                ttl(*ttl_ms, HOLD_TTL_MS_MAX).and_then(|()| lines(l))
            }
            Command::AddToHold { lines: l, .. } => lines(l),
            Command::ExtendHold { ttl_ms, .. } => ttl(*ttl_ms, HOLD_TTL_MS_MAX),
            Command::Checkout { payment_ttl_ms, .. } => ttl(*payment_ttl_ms, PAYMENT_TTL_MS_MAX),
            Command::CreateCheckinList { name: n, .. } => name(n),
            Command::CheckIn { secret, .. } => {
                if secret.len() > CHECKIN_SECRET_BYTES_MAX {
                    Err(InvalidInput::Secret)
                } else {
                    Ok(())
                }
            }
            Command::CloseQuota { .. }
            | Command::ReopenQuota { .. }
            | Command::ReleaseHold { .. }
            | Command::Pay { .. }
            | Command::CancelOrder { .. }
            | Command::Expire => Ok(()),
        }
    }
}

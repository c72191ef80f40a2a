//! The digest of a command: what an idempotency key is bound to.
//!
//! A request id names one command. If a client sends the same id with a
//! *different* command (a bug, or a reused key), answering with the first
//! command's outcome would report "accepted" for something that was never
//! done (a `Pay` whose id was first used for a hold would say "paid").
//! Payment APIs answer such a reuse with a conflict; so does the domain:
//! every request id is stored with the digest of its command, and a retry
//! whose digest differs is rejected as [`Rejection::Conflict`].
//!
//! Why a hand-written encoding instead of the codec's bincode bytes: the
//! digest must stay the same across format versions and platforms for as
//! long as a request id is retained, and the domain must not depend on the
//! codec. So the digest is BLAKE3 over a small canonical encoding defined
//! here: a tag per command, integers little endian with fixed widths,
//! strings and lists length-prefixed with a u64. Golden digests in the
//! tests pin it; changing it is a format change. What a client picks at
//! random per attempt (an organizer's secret key) is not part of it.

use super::model::*;

/// Bytes kept of the BLAKE3 hash: 128 bits, as for ticket secrets.
pub const COMMAND_DIGEST_BYTES: usize = 16;

/// The digest of a command's content (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct CommandDigest(pub [u8; COMMAND_DIGEST_BYTES]);

impl std::fmt::Display for CommandDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A canonical writer feeding the hash.
struct Canon(blake3::Hasher);

impl Canon {
    fn tag(&mut self, tag: u8) -> &mut Self {
        self.0.update(&[tag]);
        self
    }

    fn u64(&mut self, value: u64) -> &mut Self {
        self.0.update(&value.to_le_bytes());
        self
    }

    fn u128(&mut self, value: u128) -> &mut Self {
        self.0.update(&value.to_le_bytes());
        self
    }

    fn bool(&mut self, value: bool) -> &mut Self {
        self.tag(u8::from(value))
    }

    fn str(&mut self, value: &str) -> &mut Self {
        self.u64(value.len() as u64);
        self.0.update(value.as_bytes());
        self
    }

    fn size(&mut self, size: Option<u64>) -> &mut Self {
        match size {
            None => self.tag(0),
            Some(size) => self.tag(1).u64(size),
        }
    }

    fn option_u64(&mut self, value: Option<u64>) -> &mut Self {
        self.size(value)
    }

    fn option_u32(&mut self, value: Option<u32>) -> &mut Self {
        self.option_u64(value.map(u64::from))
    }

    fn seats(&mut self, seats: &[SeatId]) -> &mut Self {
        self.u64(seats.len() as u64);
        for seat in seats {
            self.u64(seat.0);
        }
        self
    }

    fn lines(&mut self, lines: &[Line]) -> &mut Self {
        self.u64(lines.len() as u64);
        for line in lines {
            self.u64(line.item.0).u64(u64::from(line.quantity));
        }
        self
    }
}

impl Command {
    /// The digest of this command's content, the same on every node,
    /// platform and format version.
    pub fn digest(&self) -> CommandDigest {
        let mut canon = Canon(blake3::Hasher::new());
        canon.0.update(b"boxoffice-command-digest-v1");
        match self {
            // The secret key is left out: a client draws it at random per
            // attempt, and a retry that draws another one is still the same
            // request (it gets the first outcome, and the first key stands).
            Command::CreateOrganizer { slug, name, secret_key: _ } => {
                canon.tag(1).str(slug).str(name);
            }
            Command::CreateEvent { organizer, slug, name } => {
                canon.tag(2).u64(organizer.0).str(slug).str(name);
            }
            Command::CreateItem { event, name, price_cents } => {
                canon.tag(3).u64(event.0).str(name).u64(*price_cents);
            }
            Command::CreateQuota { event, name, size, items, close_when_sold_out } => {
                canon.tag(4).u64(event.0).str(name).size(*size).u64(items.len() as u64);
                for item in items {
                    canon.u64(item.0);
                }
                canon.bool(*close_when_sold_out);
            }
            Command::ResizeQuota { quota, size } => {
                canon.tag(5).u64(quota.0).size(*size);
            }
            Command::CloseQuota { quota } => {
                canon.tag(6).u64(quota.0);
            }
            Command::ReopenQuota { quota } => {
                canon.tag(7).u64(quota.0);
            }
            Command::PlaceHold { event, lines, ttl_ms } => {
                canon.tag(8).u64(event.0).lines(lines).u64(*ttl_ms);
            }
            Command::AddToHold { hold, lines } => {
                canon.tag(9).u64(hold.0).lines(lines);
            }
            Command::ExtendHold { hold, ttl_ms } => {
                canon.tag(10).u64(hold.0).u64(*ttl_ms);
            }
            Command::ReleaseHold { hold } => {
                canon.tag(11).u64(hold.0);
            }
            Command::Checkout { hold, payment_ttl_ms } => {
                canon.tag(12).u64(hold.0).u64(*payment_ttl_ms);
            }
            Command::Pay { order } => {
                canon.tag(13).u64(order.0);
            }
            Command::CancelOrder { order } => {
                canon.tag(14).u64(order.0);
            }
            Command::CreateCheckinList { event, name, allow_multiple_entries, allow_entry_after_exit } => {
                canon
                    .tag(15)
                    .u64(event.0)
                    .str(name)
                    .bool(*allow_multiple_entries)
                    .bool(*allow_entry_after_exit);
            }
            Command::CheckIn { list, secret, nonce, direction } => {
                let direction = match direction {
                    Direction::Entry => 0,
                    Direction::Exit => 1,
                };
                canon.tag(16).u64(list.0).str(secret).u128(nonce.0).tag(direction);
            }
            Command::Expire => {
                canon.tag(17);
            }
            Command::RemoveFromHold { hold, lines } => {
                canon.tag(18).u64(hold.0).lines(lines);
            }
            Command::CheckoutWithContact { hold, payment_ttl_ms, name, email } => {
                canon.tag(19).u64(hold.0).u64(*payment_ttl_ms).str(name).str(email);
            }
            Command::ConfigureWaitingRoom {
                event,
                admit_per_minute,
                arrivals_per_second_max,
                in_flight_max,
                dry_run,
            } => {
                canon
                    .tag(20)
                    .u64(event.0)
                    .u64(u64::from(*admit_per_minute))
                    .u64(u64::from(*arrivals_per_second_max))
                    .u64(u64::from(*in_flight_max))
                    .bool(*dry_run);
            }
            Command::JoinWaitingRoom { event } => {
                canon.tag(21).u64(event.0);
            }
            Command::CreateVariation { item, name, price_cents } => {
                canon.tag(22).u64(item.0).str(name).u64(*price_cents);
            }
            Command::SetOrderLimits { item, limits } => {
                canon
                    .tag(23)
                    .u64(item.0)
                    .option_u32(limits.min_per_order)
                    .option_u32(limits.max_per_order)
                    .option_u32(limits.max_per_buyer);
            }
            Command::CreateVoucher {
                event,
                scope,
                max_redemptions,
                valid_from_ms,
                valid_until_ms,
                blocks_quota,
            } => {
                canon.tag(24).u64(event.0);
                match scope {
                    VoucherScope::Item(item) => canon.tag(0).u64(item.0),
                    VoucherScope::Quota(quota) => canon.tag(1).u64(quota.0),
                };
                canon
                    .u64(u64::from(*max_redemptions))
                    .u64(*valid_from_ms)
                    .u64(*valid_until_ms)
                    .bool(*blocks_quota);
            }
            Command::PlaceHoldWith { event, lines, ttl_ms, voucher, buyer } => {
                canon.tag(25).u64(event.0).lines(lines).u64(*ttl_ms);
                match voucher {
                    None => canon.tag(0),
                    Some(code) => canon.tag(1).str(code),
                };
                match buyer {
                    None => canon.tag(0),
                    Some(buyer) => canon.tag(1).u128(buyer.0),
                };
            }
            Command::AddSeatRow { event, zone, row, seats } => {
                canon.tag(26).u64(event.0).str(zone).str(row).u64(seats.len() as u64);
                for seat in seats {
                    canon.str(&seat.label).u64(seat.item.0);
                }
            }
            Command::SetSeatsBlocked { event, seats, blocked } => {
                canon.tag(27).u64(event.0).seats(seats).bool(*blocked);
            }
            Command::PlaceSeatedHold { event, seats, ttl_ms, voucher, buyer } => {
                canon.tag(28).u64(event.0);
                match seats {
                    SeatChoice::Named(seats) => canon.tag(0).seats(seats),
                    SeatChoice::Adjacent { zone, count, item } => {
                        canon.tag(1).str(zone).u64(u64::from(*count)).option_u64(item.map(|item| item.0))
                    }
                };
                canon.u64(*ttl_ms);
                match voucher {
                    None => canon.tag(0),
                    Some(code) => canon.tag(1).str(code),
                };
                match buyer {
                    None => canon.tag(0),
                    Some(buyer) => canon.tag(1).u128(buyer.0),
                };
            }
            Command::JoinWaitingList { event, item, priority, buyer } => {
                canon.tag(29).u64(event.0).u64(item.0).u64(u64::from(*priority));
                match buyer {
                    None => canon.tag(0),
                    Some(buyer) => canon.tag(1).u128(buyer.0),
                };
            }
            Command::LeaveWaitingList { entry } => {
                canon.tag(30).u64(entry.0);
            }
            Command::ClaimOffer { entry, ttl_ms } => {
                canon.tag(31).u64(entry.0).u64(*ttl_ms);
            }
            Command::ConfigureWaitingList { event, offer_ttl_ms } => {
                canon.tag(32).u64(event.0).u64(*offer_ttl_ms);
            }
        }
        let hash = canon.0.finalize();
        let mut digest = [0; COMMAND_DIGEST_BYTES];
        digest.copy_from_slice(&hash.as_bytes()[..COMMAND_DIGEST_BYTES]);
        CommandDigest(digest)
    }
}

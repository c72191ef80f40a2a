//! The door: the limits a request must keep before anything it asks for is
//! proposed to Raft, and the checks that enforce them.
//!
//! # Why
//!
//! A command travels through the leader's batcher and the Raft log before
//! the domain decides it, so one that breaks a limit must be refused before
//! it costs a log entry. It once did not: one `SubmitBatch` of 100 commands
//! with 60 KB names each (6 MB, under every byte limit then documented) made
//! a Raft entry larger than the log's frame limit, and the leader stopped.
//! Here every command is checked against the domain's own state-free rules
//! ([`Command::validate`]: name and slug lengths, line counts, quantities,
//! time-to-live values, prices, quota size and items, secret length), which
//! bounds a valid command to a few KiB, and every request against the byte
//! and count limits below.
//!
//! # Where
//!
//! The server's `Submit` and `SubmitBatch` run these checks on the wire
//! request and refuse with `INVALID_ARGUMENT` (naming the command's index in
//! a batch) before proposing anything. The client's embedded transport runs
//! the same checks on domain commands, so both transports refuse the same
//! requests with `ClientError::Invalid`. The rules themselves are the
//! domain's: this module only decides *when* they are applied.

use crate::convert::{ConvertError, submit_request as wire_request};
use crate::v1;
use boxoffice_engine::codec;
use boxoffice_engine::domain::limits::*;
use boxoffice_engine::domain::{Command, Envelope, InvalidInput, RequestId};
use prost::Message;

/// Most commands in one `SubmitBatch` request.
pub const BATCH_REQUEST_COMMANDS_MAX: usize = 1_000;

/// Largest `SubmitBatch` request, in bytes of its protobuf encoding (as
/// decoded and re-encoded by the server, so fields it does not know do not
/// count). With [`BATCH_REQUEST_COMMANDS_MAX`] it bounds the work one request
/// can ask for; valid commands are at most a few KiB each, so a full batch of
/// ordinary commands (about 40 bytes each) is far below it.
pub const BATCH_REQUEST_BYTES_MAX: usize = 1024 * 1024;

/// Largest command accepted, in bytes of its encoded envelope (the form it
/// takes in the Raft log). A backstop: [`Command::validate`] already bounds
/// every valid command far below this.
pub const COMMAND_BYTES_MAX: usize = 64 * 1024;

/// Why a request was refused at the door. Nothing was proposed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The wire request does not convert to a domain command.
    #[error(transparent)]
    Malformed(#[from] ConvertError),
    /// The command breaks a limit of the domain.
    #[error("invalid command: {}", describe_invalid(.0))]
    Invalid(InvalidInput),
    /// The encoded command is larger than [`COMMAND_BYTES_MAX`].
    #[error("command of {bytes} bytes exceeds the limit of {COMMAND_BYTES_MAX} bytes")]
    CommandTooLarge {
        /// Its encoded size, in bytes.
        bytes: usize,
    },
    /// The command cannot be encoded for the log at all.
    #[error("command cannot be encoded: {0}")]
    Unencodable(String),
    /// The batch has more than [`BATCH_REQUEST_COMMANDS_MAX`] commands.
    #[error("batch of {count} commands exceeds the limit of {BATCH_REQUEST_COMMANDS_MAX}")]
    TooManyCommands {
        /// How many commands it has.
        count: usize,
    },
    /// The batch is larger than [`BATCH_REQUEST_BYTES_MAX`].
    #[error("batch of {bytes} bytes exceeds the limit of {BATCH_REQUEST_BYTES_MAX} bytes")]
    BatchTooLarge {
        /// Its encoded size, in bytes.
        bytes: usize,
    },
    /// One command of a batch was refused (so the whole batch was).
    #[error("command {index}: {refusal}")]
    InBatch {
        /// The command's position in the batch, from 0.
        index: usize,
        /// Why it was refused.
        refusal: Box<Refusal>,
    },
}

/// A domain limit, said in one phrase with its number.
pub fn describe_invalid(invalid: &InvalidInput) -> String {
    match invalid {
        InvalidInput::Slug => format!("a slug must be 1 to {SLUG_BYTES_MAX} bytes of a-z, 0-9 and -"),
        InvalidInput::Name => format!("a name must be 1 to {NAME_BYTES_MAX} bytes"),
        InvalidInput::Price => format!("a price may be at most {ITEM_PRICE_CENTS_MAX} cents"),
        InvalidInput::QuotaSize => format!("a quota size may be at most {QUOTA_SIZE_MAX}"),
        InvalidInput::QuotaItems => format!("a quota needs 1 to {QUOTA_ITEMS_MAX} distinct items"),
        InvalidInput::ItemQuotas { item } => format!("item {item} is already in {ITEM_QUOTAS_MAX} quotas"),
        InvalidInput::ItemOfOtherEvent { item } => format!("item {item} belongs to another event"),
        InvalidInput::Lines => format!("a hold needs 1 to {HOLD_LINES_MAX} lines, each of at least 1 ticket"),
        InvalidInput::Quantity => format!("a hold may have at most {HOLD_QUANTITY_MAX} tickets"),
        InvalidInput::Ttl => format!(
            "a time to live must be above zero and at most {} s for a hold, {} s for a payment",
            HOLD_TTL_MS_MAX / 1_000,
            PAYMENT_TTL_MS_MAX / 1_000
        ),
        InvalidInput::Secret => {
            format!("a ticket secret may be at most {CHECKIN_SECRET_BYTES_MAX} bytes")
        }
        InvalidInput::NotInHold { item } => format!("the hold has less of item {item} than that to remove"),
        InvalidInput::ContactName => format!(
            "a buyer's name must be 1 to {CONTACT_NAME_BYTES_MAX} bytes, not blank, without control characters"
        ),
        InvalidInput::Email => format!(
            "an e-mail address must be at most {EMAIL_BYTES_MAX} bytes with exactly one @ and text on both \
             sides, without spaces or control characters"
        ),
        InvalidInput::WaitingRoom => format!(
            "a waiting room admits 1 to {ROOM_ADMIT_PER_MINUTE_MAX} a minute, with 1 to \
             {ROOM_ARRIVALS_PER_SECOND_MAX} arrivals a second and 1 to {ROOM_IN_FLIGHT_MAX} in flight"
        ),
        InvalidInput::VariationRequired { item } => {
            format!("item {item} has variations: a hold names one of them")
        }
        InvalidInput::Variations { item } => format!(
            "item {item} cannot get a variation: it is a variation, has {ITEM_VARIATIONS_MAX} already, or a \
             blocking voucher is for it"
        ),
        InvalidInput::VoucherCode => format!("a voucher code must be 1 to {VOUCHER_CODE_BYTES_MAX} bytes"),
        InvalidInput::VoucherRedemptions => {
            format!("a voucher may be redeemed 1 to {VOUCHER_REDEMPTIONS_MAX} times")
        }
        InvalidInput::VoucherWindow => format!(
            "a voucher's validity must not be empty or over, and at most {} days long",
            VOUCHER_VALIDITY_MS_MAX / (24 * 60 * 60 * 1_000)
        ),
        InvalidInput::VoucherScope => "a voucher must be for an item or quota of its event; a blocking one \
                                       for a quota, an item without variations, or a variation, in some quota"
            .to_string(),
        InvalidInput::EventVouchers => format!("an event may have at most {EVENT_VOUCHERS_MAX} vouchers"),
        InvalidInput::OrderLimits => format!(
            "order limits must be at least 1, a minimum at most a maximum, at most {HOLD_QUANTITY_MAX} per \
             order and {BUYER_QUANTITY_MAX} per buyer"
        ),
        InvalidInput::SeatRow => format!(
            "a seat row needs a zone of 1 to {SEAT_ZONE_BYTES_MAX} bytes, a name of 1 to {SEAT_ROW_BYTES_MAX} \
             bytes and 1 to {SEAT_ROW_SEATS_MAX} seats with distinct labels of 1 to {SEAT_LABEL_BYTES_MAX} bytes, \
             none blank or with control characters"
        ),
        InvalidInput::SeatRowExists => "the event has a row of this name in this zone already".to_string(),
        InvalidInput::EventSeats => format!("an event may have at most {EVENT_SEATS_MAX} seats"),
        InvalidInput::Seats => format!(
            "name 1 to {SEATS_PER_COMMAND_MAX} distinct seats ({HOLD_QUANTITY_MAX} for a hold), or ask for 1 to \
             {HOLD_QUANTITY_MAX} adjacent seats of a zone of at most {SEAT_ZONE_BYTES_MAX} bytes"
        ),
        InvalidInput::SeatOfOtherEvent { seat } => format!("seat {seat} belongs to another event"),
        InvalidInput::SeatedHold { hold } => {
            format!(
                "hold {hold} has seats: its tickets cannot be added or removed; release it and hold again"
            )
        }
    }
}

/// Check one command: the domain's state-free limits, then its encoded size.
/// Returns the command, so the caller need not copy it.
pub fn check(request_id: RequestId, command: Command) -> Result<Command, Refusal> {
    command.validate().map_err(Refusal::Invalid)?;
    let envelope = Envelope { time_ms: 0, request_id, command };
    let bytes = codec::encode_envelope(&envelope).map_err(|e| Refusal::Unencodable(e.to_string()))?.len();
    if bytes > COMMAND_BYTES_MAX {
        return Err(Refusal::CommandTooLarge { bytes });
    }
    Ok(envelope.command)
}

/// Convert and check one wire command (`Submit`).
pub fn submit_request(request: v1::SubmitRequest) -> Result<(RequestId, Command), Refusal> {
    let (request_id, command) = <(RequestId, Command)>::try_from(request)?;
    Ok((request_id, check(request_id, command)?))
}

fn batch_size(count: usize, bytes: usize) -> Result<(), Refusal> {
    if count > BATCH_REQUEST_COMMANDS_MAX {
        return Err(Refusal::TooManyCommands { count });
    }
    if bytes > BATCH_REQUEST_BYTES_MAX {
        return Err(Refusal::BatchTooLarge { bytes });
    }
    Ok(())
}

fn in_batch(index: usize) -> impl FnOnce(Refusal) -> Refusal {
    move |refusal| Refusal::InBatch { index, refusal: Box::new(refusal) }
}

/// Convert and check a whole wire batch (`SubmitBatch`): its size first,
/// then every command. All or nothing: one refused command refuses the batch.
pub fn batch_request(request: v1::SubmitBatchRequest) -> Result<Vec<(RequestId, Command)>, Refusal> {
    batch_size(request.commands.len(), request.encoded_len())?;
    request
        .commands
        .into_iter()
        .enumerate()
        .map(|(index, c)| submit_request(c).map_err(in_batch(index)))
        .collect()
}

/// The same checks as [`batch_request`], on domain commands (the embedded
/// transport): the size is that of the wire request they would make.
pub fn check_batch(commands: &[(RequestId, Command)]) -> Result<(), Refusal> {
    let wire =
        v1::SubmitBatchRequest { commands: commands.iter().map(|(id, c)| wire_request(*id, c)).collect() };
    batch_size(commands.len(), wire.encoded_len())?;
    for (index, (request_id, command)) in commands.iter().enumerate() {
        check(*request_id, command.clone()).map_err(in_batch(index))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_engine::domain::{EventId, ItemId, Line};

    fn item(name_bytes: usize) -> Command {
        Command::CreateItem { event: EventId(1), name: "n".repeat(name_bytes), price_cents: 100 }
    }

    #[test]
    fn a_command_at_a_domain_limit_passes_and_one_past_it_is_refused_with_the_reason() {
        assert!(check(RequestId(1), item(NAME_BYTES_MAX)).is_ok());
        let refusal = check(RequestId(1), item(NAME_BYTES_MAX + 1)).unwrap_err();
        assert_eq!(refusal, Refusal::Invalid(InvalidInput::Name));
        assert_eq!(
            refusal.to_string(),
            format!("invalid command: a name must be 1 to {NAME_BYTES_MAX} bytes")
        );
        let hold = |quantity| Command::PlaceHold {
            event: EventId(1),
            lines: vec![Line { item: ItemId(2), quantity }],
            ttl_ms: HOLD_TTL_MS_MAX,
        };
        assert!(check(RequestId(1), hold(HOLD_QUANTITY_MAX as u32)).is_ok());
        assert_eq!(
            check(RequestId(1), hold(HOLD_QUANTITY_MAX as u32 + 1)),
            Err(Refusal::Invalid(InvalidInput::Quantity))
        );
    }

    #[test]
    fn the_largest_valid_command_is_far_below_the_command_byte_limit() {
        let quota = Command::CreateQuota {
            event: EventId(u64::MAX),
            name: "q".repeat(NAME_BYTES_MAX),
            size: Some(QUOTA_SIZE_MAX),
            items: (0..QUOTA_ITEMS_MAX as u64).map(|i| ItemId(u64::MAX - i)).collect(),
            close_when_sold_out: true,
        };
        let envelope =
            Envelope { time_ms: u64::MAX, request_id: RequestId(u128::MAX), command: quota.clone() };
        let bytes = codec::encode_envelope(&envelope).unwrap().len();
        assert!(bytes * 8 < COMMAND_BYTES_MAX, "{bytes} bytes");
        assert!(check(RequestId(u128::MAX), quota).is_ok());
    }

    #[test]
    fn a_bad_buyer_contact_or_room_setting_is_refused_at_the_door_with_the_domains_reason() {
        use boxoffice_engine::domain::HoldId;
        let checkout = |name: &str, email: &str| Command::CheckoutWithContact {
            hold: HoldId(5),
            payment_ttl_ms: 60_000,
            name: name.into(),
            email: email.into(),
        };
        assert!(check(RequestId(1), checkout("Ada", "ada@example.org")).is_ok());
        let refusal = check(RequestId(1), checkout("Ada", "ada.example.org")).unwrap_err();
        assert_eq!(refusal, Refusal::Invalid(InvalidInput::Email));
        assert!(refusal.to_string().contains("exactly one @"), "{refusal}");
        assert_eq!(
            check(RequestId(1), checkout("\u{7}", "ada@example.org")),
            Err(Refusal::Invalid(InvalidInput::ContactName))
        );
        let wire = wire_request(RequestId(1), &checkout("Ada", "a@b@c"));
        assert_eq!(submit_request(wire), Err(Refusal::Invalid(InvalidInput::Email)));
        let room = Command::ConfigureWaitingRoom {
            event: EventId(2),
            admit_per_minute: 0,
            arrivals_per_second_max: 1,
            in_flight_max: 1,
            dry_run: false,
        };
        assert_eq!(check(RequestId(1), room), Err(Refusal::Invalid(InvalidInput::WaitingRoom)));
        // The largest valid contact is far below the command byte limit.
        let name = "n".repeat(CONTACT_NAME_BYTES_MAX);
        let email = format!("{}@x", "e".repeat(EMAIL_BYTES_MAX - 2));
        let envelope = Envelope {
            time_ms: u64::MAX,
            request_id: RequestId(u128::MAX),
            command: checkout(&name, &email),
        };
        assert!(codec::encode_envelope(&envelope).unwrap().len() * 8 < COMMAND_BYTES_MAX);
    }

    #[test]
    fn seat_commands_are_checked_at_the_door_and_the_largest_row_fits_a_command() {
        use boxoffice_engine::domain::{SeatChoice, SeatId, SeatSpec};
        let row = |seats: usize, label_bytes: usize| Command::AddSeatRow {
            event: EventId(u64::MAX),
            zone: "z".repeat(SEAT_ZONE_BYTES_MAX),
            row: "r".repeat(SEAT_ROW_BYTES_MAX),
            seats: (0..seats)
                .map(|i| SeatSpec { label: format!("{i:0>label_bytes$}"), item: ItemId(u64::MAX - i as u64) })
                .collect(),
        };
        let largest = row(SEAT_ROW_SEATS_MAX, SEAT_LABEL_BYTES_MAX);
        let envelope =
            Envelope { time_ms: u64::MAX, request_id: RequestId(u128::MAX), command: largest.clone() };
        let bytes = codec::encode_envelope(&envelope).unwrap().len();
        assert!(bytes < COMMAND_BYTES_MAX, "{bytes} bytes");
        assert!(check(RequestId(1), largest).is_ok());
        let wire = wire_request(RequestId(1), &row(SEAT_ROW_SEATS_MAX + 1, 4));
        let refusal = submit_request(wire).unwrap_err();
        assert_eq!(refusal, Refusal::Invalid(InvalidInput::SeatRow));
        assert!(refusal.to_string().contains("distinct labels"), "{refusal}");

        let blocked =
            |seats: Vec<SeatId>| Command::SetSeatsBlocked { event: EventId(2), seats, blocked: true };
        assert_eq!(
            check(RequestId(1), blocked(vec![SeatId(3), SeatId(3)])),
            Err(Refusal::Invalid(InvalidInput::Seats))
        );
        let hold = |count| Command::PlaceSeatedHold {
            event: EventId(2),
            seats: SeatChoice::Adjacent { zone: "Stalls".into(), count, item: None },
            ttl_ms: 60_000,
            voucher: None,
            buyer: None,
        };
        assert!(check(RequestId(1), hold(HOLD_QUANTITY_MAX as u32)).is_ok());
        assert_eq!(check(RequestId(1), hold(0)), Err(Refusal::Invalid(InvalidInput::Seats)));
    }

    #[test]
    fn a_batch_is_refused_whole_for_its_size_or_for_one_command_naming_its_index() {
        let wire = |commands: Vec<Command>| v1::SubmitBatchRequest {
            commands: commands
                .iter()
                .enumerate()
                .map(|(i, c)| wire_request(RequestId(i as u128), c))
                .collect(),
        };
        let full = vec![item(10); BATCH_REQUEST_COMMANDS_MAX];
        assert_eq!(batch_request(wire(full.clone())).unwrap().len(), BATCH_REQUEST_COMMANDS_MAX);
        let over = vec![item(10); BATCH_REQUEST_COMMANDS_MAX + 1];
        assert_eq!(
            batch_request(wire(over)),
            Err(Refusal::TooManyCommands { count: BATCH_REQUEST_COMMANDS_MAX + 1 })
        );

        let mut one_bad = vec![item(10); 5];
        one_bad[3] = item(NAME_BYTES_MAX + 1);
        let refusal = batch_request(wire(one_bad.clone())).unwrap_err();
        assert!(refusal.to_string().starts_with("command 3: invalid command: a name"), "{refusal}");
        let ids: Vec<(RequestId, Command)> =
            one_bad.into_iter().enumerate().map(|(i, c)| (RequestId(i as u128), c)).collect();
        assert_eq!(check_batch(&ids).unwrap_err(), refusal, "both transports refuse alike");

        // 100 names of 60 KB: refused for its size before any command is looked at.
        let long = wire(vec![item(60_000); 100]);
        assert!(matches!(batch_request(long), Err(Refusal::BatchTooLarge { .. })));
    }

    #[test]
    fn a_batch_just_under_the_byte_limit_passes_and_one_just_over_is_refused() {
        // Names at the limit: each command is about 230 bytes on the wire.
        let mut commands = Vec::new();
        let wire_len = |commands: &[(RequestId, Command)]| {
            v1::SubmitBatchRequest { commands: commands.iter().map(|(id, c)| wire_request(*id, c)).collect() }
                .encoded_len()
        };
        let quota = |i: u64| Command::CreateQuota {
            event: EventId(1),
            name: "q".repeat(NAME_BYTES_MAX),
            size: Some(1),
            items: (0..QUOTA_ITEMS_MAX as u64).map(|j| ItemId(u64::MAX - j - i)).collect(),
            close_when_sold_out: false,
        };
        while wire_len(&commands) <= BATCH_REQUEST_BYTES_MAX {
            commands.push((RequestId(commands.len() as u128), quota(commands.len() as u64)));
        }
        assert!(commands.len() < BATCH_REQUEST_COMMANDS_MAX, "the byte limit binds first");
        assert!(matches!(check_batch(&commands), Err(Refusal::BatchTooLarge { .. })));
        commands.pop();
        assert!(BATCH_REQUEST_BYTES_MAX - wire_len(&commands) < 4_096, "just under");
        assert_eq!(check_batch(&commands), Ok(()));
    }
}

//! Parsers of command-line values: ids (`3` or `item-3`), hold lines
//! (`ITEM:QTY`), seats of a row (`LABEL=ITEM`), cluster member specs (`ID=HOST:PORT/ZONE`) and 128-bit hex
//! ids (request ids, check-in nonces). Each returns a message clap shows
//! under "invalid value", so a malformed value exits with status 2.

use boxoffice_engine::domain::{
    BuyerId, CheckinListId, EntryId, EventId, HoldId, ItemId, Line, Nonce, OrderId, OrganizerId, QuotaId,
    RequestId, SeatId, SeatSpec, VoucherId, limits::SEAT_ROW_SEATS_MAX,
};
use boxoffice_proto::v1;

/// A plain integer, or the display form `PREFIX<integer>` (such as `item-3`).
fn prefixed_id(value: &str, prefix: &str, what: &str) -> Result<u64, String> {
    let value = value.trim();
    let digits = value.strip_prefix(prefix).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("expected {what} id such as 3 or {prefix}3, got `{value}`"));
    }
    digits.parse().map_err(|_| format!("{what} id `{value}` is too large"))
}

macro_rules! id_parser {
    ($(#[$doc:meta])* $fn:ident, $ty:ident, $prefix:literal, $what:literal) => {
        $(#[$doc])*
        pub fn $fn(value: &str) -> Result<$ty, String> {
            prefixed_id(value, $prefix, $what).map($ty)
        }
    };
}

id_parser!(
    /// `3` or `org-3`.
    organizer_id,
    OrganizerId,
    "org-",
    "an organizer"
);
id_parser!(
    /// `3` or `ev-3`.
    event_id,
    EventId,
    "ev-",
    "an event"
);
id_parser!(
    /// `3` or `item-3`.
    item_id,
    ItemId,
    "item-",
    "an item"
);
id_parser!(
    /// `3` or `quota-3`.
    quota_id,
    QuotaId,
    "quota-",
    "a quota"
);
id_parser!(
    /// `3` or `hold-3`.
    hold_id,
    HoldId,
    "hold-",
    "a hold"
);
id_parser!(
    /// `3` or `order-3`.
    order_id,
    OrderId,
    "order-",
    "an order"
);
id_parser!(
    /// `3` or `list-3`.
    checkin_list_id,
    CheckinListId,
    "list-",
    "a check-in list"
);

id_parser!(
    /// `3` or `voucher-3`.
    voucher_id,
    VoucherId,
    "voucher-",
    "a voucher"
);

id_parser!(
    /// `3` or `seat-3`.
    seat_id,
    SeatId,
    "seat-",
    "a seat"
);

id_parser!(
    /// `3` or `entry-3`.
    entry_id,
    EntryId,
    "entry-",
    "a waiting-list entry"
);

/// Seats of a row given by one `--seat` value, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeatSpecs(pub Vec<SeatSpec>);

/// Seats of a row: `LABEL=ITEM` (`12=item-3`) for one seat, or
/// `FROM..TO=ITEM` (`1..20=3`) for the seats labelled FROM to TO, in order.
pub fn seat_specs(value: &str) -> Result<SeatSpecs, String> {
    seat_spec_list(value).map(SeatSpecs)
}

fn seat_spec_list(value: &str) -> Result<Vec<SeatSpec>, String> {
    let hint = "seats are LABEL=ITEM, like 12=item-3, or FROM..TO=ITEM, like 1..20=item-3";
    let (labels, item) =
        value.rsplit_once('=').ok_or_else(|| format!("seat `{value}`: no =ITEM ({hint})"))?;
    let item = item_id(item).map_err(|e| format!("seat `{value}`: {e} ({hint})"))?;
    let labels = labels.trim();
    if labels.is_empty() {
        return Err(format!("seat `{value}`: no label ({hint})"));
    }
    let Some((from, to)) = labels.split_once("..") else {
        return Ok(vec![SeatSpec { label: labels.to_owned(), item }]);
    };
    let number = |n: &str| {
        n.trim().parse::<u64>().map_err(|_| format!("seat `{value}`: `{n}` is not a number ({hint})"))
    };
    let (from, to) = (number(from)?, number(to)?);
    if from > to || to - from >= SEAT_ROW_SEATS_MAX as u64 {
        return Err(format!(
            "seat `{value}`: a range is FROM..TO with FROM <= TO, at most {SEAT_ROW_SEATS_MAX} seats"
        ));
    }
    Ok((from..=to).map(|n| SeatSpec { label: n.to_string(), item }).collect())
}

/// A Raft node id: `3` or `node-3`.
pub fn node_id(value: &str) -> Result<u64, String> {
    prefixed_id(value, "node-", "a node")
}

/// One hold line, `ITEM:QTY` (`3:2`, `item-3:2`), or `ITEM` alone for one ticket.
pub fn line(value: &str) -> Result<Line, String> {
    let (item, quantity) = match value.split_once(':') {
        Some((item, quantity)) => (item, quantity.trim()),
        None => (value, "1"),
    };
    let item = item_id(item).map_err(|e| format!("line `{value}`: {e} (lines are ITEM:QTY, like 3:2)"))?;
    let quantity: u32 = if !quantity.is_empty() && quantity.bytes().all(|b| b.is_ascii_digit()) {
        quantity.parse().map_err(|_| format!("line `{value}`: quantity `{quantity}` is too large"))?
    } else {
        return Err(format!(
            "line `{value}`: quantity `{quantity}` is not a number (lines are ITEM:QTY, like 3:2)"
        ));
    };
    if quantity == 0 {
        return Err(format!("line `{value}`: quantity must be at least 1"));
    }
    Ok(Line { item, quantity })
}

/// A 128-bit id as exactly 32 hex digits (the form every write prints).
fn hex128(value: &str, what: &str) -> Result<u128, String> {
    let value = value.trim();
    let digits = value.strip_prefix("0x").unwrap_or(value);
    if digits.len() != 32 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{what} must be exactly 32 hex digits, got `{value}`"));
    }
    u128::from_str_radix(digits, 16).map_err(|e| format!("{what} `{value}`: {e}"))
}

/// A request id as printed by an earlier write: 32 hex digits.
pub fn request_id(value: &str) -> Result<RequestId, String> {
    hex128(value, "a request id").map(RequestId)
}

/// A buyer id: 32 hex digits, or its display form `buyer-` and 32 hex digits.
pub fn buyer_id(value: &str) -> Result<BuyerId, String> {
    let value = value.trim();
    hex128(value.strip_prefix("buyer-").unwrap_or(value), "a buyer id").map(BuyerId)
}

/// A check-in nonce: 32 hex digits.
pub fn nonce(value: &str) -> Result<Nonce, String> {
    hex128(value, "a nonce").map(Nonce)
}

/// A cluster member, `ID=HOST:PORT/ZONE` (`1=127.0.0.11:50051/dc1`), as a voter.
pub fn member(value: &str) -> Result<v1::Member, String> {
    let (id, node) = boxoffice_engine::raft::parse_member(value)?;
    Ok(v1::Member { id, addr: node.addr, zone: node.zone, voter: true })
}

/// A gRPC address, `HOST:PORT`.
pub fn address(value: &str) -> Result<String, String> {
    let value = value.trim();
    let (host, port) = value.rsplit_once(':').ok_or_else(|| format!("address `{value}` is not HOST:PORT"))?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!("address `{value}` is not HOST:PORT"));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_plain_integers_and_display_forms() {
        assert_eq!(item_id("3"), Ok(ItemId(3)));
        assert_eq!(item_id("item-3"), Ok(ItemId(3)));
        assert_eq!(event_id("ev-12"), Ok(EventId(12)));
        assert_eq!(organizer_id("org-1"), Ok(OrganizerId(1)));
        assert_eq!(quota_id("quota-6"), Ok(QuotaId(6)));
        assert_eq!(hold_id(" hold-9 "), Ok(HoldId(9)));
        assert_eq!(order_id("order-10"), Ok(OrderId(10)));
        assert_eq!(checkin_list_id("list-8"), Ok(CheckinListId(8)));
        assert_eq!(node_id("2"), Ok(2));
        assert_eq!(item_id(&ItemId(42).to_string()), Ok(ItemId(42)));
    }

    #[test]
    fn ids_refuse_other_kinds_and_garbage() {
        assert!(item_id("hold-3").is_err());
        assert!(item_id("").is_err());
        assert!(item_id("item-").is_err());
        assert!(item_id("-3").is_err());
        assert!(item_id("3a").is_err());
        assert!(item_id("99999999999999999999999").unwrap_err().contains("too large"));
    }

    #[test]
    fn lines_parse_item_and_quantity() {
        assert_eq!(line("3:2"), Ok(Line { item: ItemId(3), quantity: 2 }));
        assert_eq!(line("item-5:10"), Ok(Line { item: ItemId(5), quantity: 10 }));
        assert_eq!(line("7"), Ok(Line { item: ItemId(7), quantity: 1 }));
    }

    #[test]
    fn malformed_lines_are_refused() {
        assert!(line("x:y").is_err());
        assert!(line("3:y").unwrap_err().contains("not a number"));
        assert!(line("3:").is_err());
        assert!(line(":2").is_err());
        assert!(line("3:-1").is_err());
        assert!(line("3:0").unwrap_err().contains("at least 1"));
        assert!(line("3:99999999999").unwrap_err().contains("too large"));
    }

    #[test]
    fn seats_parse_one_label_or_a_range_with_their_item() {
        let spec = |label: &str, item| SeatSpec { label: label.into(), item: ItemId(item) };
        assert_eq!(seat_spec_list("12a=item-3"), Ok(vec![spec("12a", 3)]));
        assert_eq!(seat_spec_list("A-1=4"), Ok(vec![spec("A-1", 4)]));
        assert_eq!(seat_spec_list("1..3=item-5"), Ok(vec![spec("1", 5), spec("2", 5), spec("3", 5)]));
        assert_eq!(seat_specs("7..7=5"), Ok(SeatSpecs(vec![spec("7", 5)])));
        assert!(seat_specs("12").unwrap_err().contains("=ITEM"));
        assert!(seat_specs("=3").unwrap_err().contains("no label"));
        assert!(seat_specs("1=hold-3").is_err());
        assert!(seat_specs("3..1=2").is_err());
        assert!(seat_specs("1..x=2").unwrap_err().contains("not a number"));
        assert!(seat_specs("1..5000=2").is_err());
        assert_eq!(seat_id("seat-11"), Ok(SeatId(11)));
        assert!(seat_id("item-11").is_err());
        assert_eq!(entry_id("entry-3"), Ok(EntryId(3)));
        assert_eq!(entry_id("3"), Ok(EntryId(3)));
        assert!(entry_id("seat-3").is_err());
        assert!(entry_id("entry-").is_err());
    }

    #[test]
    fn request_ids_and_nonces_are_32_hex_digits() {
        let id = RequestId(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        assert_eq!(request_id(&id.to_string()), Ok(id));
        assert_eq!(request_id("0x0123456789ABCDEF0011223344556677"), Ok(id));
        assert_eq!(nonce("00000000000000000000000000000001"), Ok(Nonce(1)));
        assert!(request_id("123").is_err());
        assert!(request_id("0123456789abcdef00112233445566778").is_err());
        assert!(nonce("g0000000000000000000000000000000").is_err());
    }

    #[test]
    fn members_parse_id_address_and_zone() {
        assert_eq!(
            member("1=127.0.0.11:50051/dc1"),
            Ok(v1::Member { id: 1, addr: "127.0.0.11:50051".into(), zone: "dc1".into(), voter: true })
        );
        assert_eq!(
            member("node-2=host.example:7000/eu-west").map(|m| (m.id, m.zone)),
            Ok((2, "eu-west".into()))
        );
        assert!(member("1=127.0.0.11:50051").unwrap_err().contains("ZONE"));
        assert!(member("127.0.0.11:50051/dc1").is_err());
        assert!(member("x=127.0.0.11:50051/dc1").is_err());
        assert!(member("1=127.0.0.11/dc1").is_err());
        assert!(member("1=127.0.0.11:50051/").is_err());
    }

    #[test]
    fn addresses_need_host_and_port() {
        assert_eq!(address("127.0.0.1:50051"), Ok("127.0.0.1:50051".into()));
        assert!(address("127.0.0.1").is_err());
        assert!(address(":50051").is_err());
        assert!(address("host:99999").is_err());
    }
}

//! Keyed hashes as MACs: signed cookies, CSRF tokens, order and cart tokens,
//! and request ids derived from idempotency keys.
//!
//! The shop keeps no state of its own, so everything it must recognise
//! later (which cart is yours, that you were admitted from the queue, that
//! this form came from a page we served) is carried by the client and signed
//! here with BLAKE3 in keyed mode under one 32-byte key that every shop
//! instance shares (`--secret-file` or the environment). Each use has its
//! own *purpose* string hashed in front of the data, so a value signed for
//! one purpose (a cart cookie of event 3) never verifies for another (a cart
//! of event 4, an admission). Comparisons are constant-time.
//!
//! What it must never do: accept a value whose MAC does not verify, or turn
//! a malformed value into an error the buyer sees as a crash. Anything that
//! does not verify is `None`, and callers treat it as absent.

use crate::inventory::domain::RequestId;

/// Bytes of MAC kept in cookies and tokens (128 bits).
pub const MAC_BYTES: usize = 16;

/// The shop's MAC key.
#[derive(Clone)]
pub struct Keys {
    key: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Keys {
    /// Keys from a 32-byte secret.
    pub fn new(key: [u8; 32]) -> Keys {
        Keys { key }
    }

    fn mac(&self, purpose: &str, data: &[u8]) -> [u8; MAC_BYTES] {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(&(purpose.len() as u64).to_le_bytes());
        hasher.update(purpose.as_bytes());
        hasher.update(data);
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&hasher.finalize().as_bytes()[..MAC_BYTES]);
        out
    }

    fn mac_hex(&self, purpose: &str, data: &[u8]) -> String {
        hex::encode(self.mac(purpose, data))
    }

    fn check(&self, purpose: &str, data: &[u8], mac_hex: &str) -> bool {
        let mut given = [0u8; MAC_BYTES];
        if mac_hex.len() != MAC_BYTES * 2 || hex::decode_to_slice(mac_hex, &mut given).is_err() {
            return false;
        }
        constant_time_eq(&given, &self.mac(purpose, data))
    }

    /// `value.mac`: a value anyone can read and nobody can forge.
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        format!("{value}.{}", self.mac_hex(purpose, value.as_bytes()))
    }

    /// The value of a signed string, if its MAC verifies for `purpose`.
    pub fn verify<'a>(&self, purpose: &str, signed: &'a str) -> Option<&'a str> {
        let (value, mac) = signed.rsplit_once('.')?;
        self.check(purpose, value.as_bytes(), mac).then_some(value)
    }

    /// The CSRF token of a session: forms carry it, and a form whose token
    /// is not the MAC of the session cookie it came with is refused.
    pub fn csrf_token(&self, session: &str) -> String {
        self.mac_hex("csrf", session.as_bytes())
    }

    /// Whether `token` is the CSRF token of `session`.
    pub fn csrf_ok(&self, session: &str, token: &str) -> bool {
        self.check("csrf", session.as_bytes(), token)
    }

    /// The token that opens an order's page (and its API reads): a MAC of
    /// the order id, so order ids, which are small counters, cannot be guessed into.
    pub fn order_token(&self, order: u64) -> String {
        self.mac_hex("order", &order.to_le_bytes())
    }

    /// Whether `token` opens `order`.
    pub fn order_token_ok(&self, order: u64, token: &str) -> bool {
        self.check("order", &order.to_le_bytes(), token)
    }

    /// The token that opens a waiting-list entry's page (its place, its
    /// offer, the claim): a MAC of the entry id, like [`Keys::order_token`].
    pub fn entry_token(&self, entry: u64) -> String {
        self.mac_hex("waiting-list-entry", &entry.to_le_bytes())
    }

    /// Whether `token` opens waiting-list entry `entry`.
    pub fn entry_token_ok(&self, entry: u64, token: &str) -> bool {
        self.check("waiting-list-entry", &entry.to_le_bytes(), token)
    }

    /// A cart's id in the API: the hold id and a MAC of it, `"{hold}-{mac}"`,
    /// so that nobody can release or check out a cart they did not create.
    pub fn cart_id(&self, hold: u64) -> String {
        format!("{hold}-{}", self.mac_hex("api-cart", &hold.to_le_bytes()))
    }

    /// The hold behind an API cart id, if it verifies.
    pub fn parse_cart_id(&self, id: &str) -> Option<u64> {
        let (hold, mac) = id.split_once('-')?;
        let hold: u64 = hold.parse().ok()?;
        self.check("api-cart", &hold.to_le_bytes(), mac).then_some(hold)
    }

    /// The engine request id of a write: derived from the caller's key (an
    /// `X-Idempotency-Key`, or a form's one-time token bound to its session)
    /// and the scope it is used in (method and route), so the same key on
    /// the same route is the same engine request, and the engine's request
    /// table does the rest: the same command gets the first outcome, another
    /// command under it gets `Conflict`.
    pub fn request_id(&self, scope: &str, key: &str) -> RequestId {
        let mut data = Vec::with_capacity(scope.len() + key.len() + 8);
        data.extend_from_slice(&(scope.len() as u64).to_le_bytes());
        data.extend_from_slice(scope.as_bytes());
        data.extend_from_slice(key.as_bytes());
        RequestId(u128::from_le_bytes(self.mac("request-id", &data)))
    }
}

/// 128 random bits as 32 hex characters (session ids, form tokens).
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::new([7; 32])
    }

    #[test]
    fn a_signed_value_verifies_only_for_its_purpose_and_key() {
        let signed = keys().sign("cart:3", "42");
        assert_eq!(keys().verify("cart:3", &signed), Some("42"));
        assert_eq!(keys().verify("cart:4", &signed), None);
        assert_eq!(Keys::new([8; 32]).verify("cart:3", &signed), None);
    }

    #[test]
    fn a_tampered_value_or_mac_does_not_verify() {
        let signed = keys().sign("p", "42");
        let (value, mac) = signed.rsplit_once('.').unwrap();
        assert_eq!(keys().verify("p", &format!("43.{mac}")), None);
        let mut flipped = mac.to_owned().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        assert_eq!(keys().verify("p", &format!("{value}.{}", String::from_utf8(flipped).unwrap())), None);
        for junk in ["", ".", "42", "42.", "42.zz", "42.00", &format!("{signed}0"), "é.é"] {
            assert_eq!(keys().verify("p", junk), None, "{junk:?}");
        }
    }

    #[test]
    fn order_cart_and_entry_tokens_name_one_object() {
        let k = keys();
        assert!(k.order_token_ok(5, &k.order_token(5)));
        assert!(!k.order_token_ok(6, &k.order_token(5)));
        assert_eq!(k.parse_cart_id(&k.cart_id(9)), Some(9));
        assert_eq!(k.parse_cart_id(&k.cart_id(9).replacen('9', "8", 1)), None);
        assert_eq!(k.parse_cart_id("9"), None);
        assert!(k.entry_token_ok(5, &k.entry_token(5)));
        assert!(!k.entry_token_ok(6, &k.entry_token(5)));
        assert!(
            !k.entry_token_ok(5, &k.order_token(5)),
            "an order's token must not open the entry of the same number"
        );
    }

    #[test]
    fn request_ids_depend_on_key_and_scope() {
        let k = keys();
        assert_eq!(k.request_id("POST /a", "k1"), k.request_id("POST /a", "k1"));
        assert_ne!(k.request_id("POST /a", "k1"), k.request_id("POST /b", "k1"));
        assert_ne!(k.request_id("POST /a", "k1"), k.request_id("POST /a", "k2"));
        assert_ne!(k.request_id("POST /a", "bk"), k.request_id("POST /ab", "k"));
    }
}

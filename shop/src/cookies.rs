//! Reading and writing cookies, with the shop's flags.
//!
//! Every cookie the shop sets is `HttpOnly; SameSite=Lax; Path=/` (and
//! `Secure` behind TLS), signed with [`crate::tokens::Keys`]. Reading is
//! bounded ([`COOKIE_HEADER_BYTES_MAX`], [`COOKIE_VALUE_BYTES_MAX`]) and
//! forgiving: a malformed or oversized cookie is absent, never an error.

use crate::config::{COOKIE_HEADER_BYTES_MAX, COOKIE_VALUE_BYTES_MAX};
use axum::http::{HeaderMap, HeaderValue, header};

/// The session cookie: a random id, signed; CSRF tokens are bound to it.
pub const SESSION: &str = "bo_session";
/// The admin login: its expiry, signed.
pub const ADMIN: &str = "bo_admin";

/// The cart cookie of an event: its hold id, signed for that event.
pub fn cart(event: u64) -> String {
    format!("bo_cart_{event}")
}

/// The waiting-room ticket of an event: position and join time, signed.
pub fn queue(event: u64) -> String {
    format!("bo_queue_{event}")
}

/// The waiting-room admission of an event: its expiry, signed.
pub fn admission(event: u64) -> String {
    format!("bo_admit_{event}")
}

/// The value of cookie `name`, if present and within bounds.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        let text = if text.len() > COOKIE_HEADER_BYTES_MAX { &text[..0] } else { text };
        for pair in text.split(';') {
            let Some((key, value)) = pair.trim().split_once('=') else { continue };
            if key == name && value.len() <= COOKIE_VALUE_BYTES_MAX {
                return Some(value.trim_matches('"').to_owned());
            }
        }
    }
    None
}

/// A `Set-Cookie` value.
pub fn set(name: &str, value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&text).expect("cookie names and signed values are plain ASCII")
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear(name: &str, secure: bool) -> HeaderValue {
    set(name, "", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_and_oversized_ones_are_absent() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; bo_session=xyz.00; b=2"));
        assert_eq!(get(&headers, SESSION).as_deref(), Some("xyz.00"));
        assert_eq!(get(&headers, "c"), None);
        let long = format!("bo_session={}", "x".repeat(COOKIE_VALUE_BYTES_MAX + 1));
        headers.insert(header::COOKIE, HeaderValue::from_str(&long).unwrap());
        assert_eq!(get(&headers, SESSION), None);
    }

    #[test]
    fn set_cookies_are_http_only_and_same_site_lax() {
        let value = set(SESSION, "v", 60, false);
        let text = value.to_str().unwrap();
        assert!(text.contains("HttpOnly") && text.contains("SameSite=Lax") && !text.contains("Secure"));
        assert!(set(SESSION, "v", 60, true).to_str().unwrap().ends_with("; Secure"));
    }
}

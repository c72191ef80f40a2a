//! The shared state of a shop process and the helpers every handler uses:
//! sessions, CSRF checks, form parsing, idempotent request ids, cookies.
//!
//! **Sessions** are a random id in a signed cookie; the shop stores nothing
//! under them. A **CSRF token** is the MAC of the session id: a form carries
//! it in a hidden field and the cookie carries the session, so a page on
//! another site can make a browser send the cookie but cannot know the
//! token (double submit, with the token bound to the session and checked by
//! MAC rather than by a copy kept on the server). A form also carries a
//! one-time token (`idem`) from which, with the session and the route, the
//! engine request id is derived: a double click or a resubmitted form is the
//! same engine request, so it never buys twice.

use crate::backend::{EngineRooms, Inventory};
use crate::config::ShopConfig;
use crate::cookies;
use crate::errors::ShopError;
use crate::inventory::domain::RequestId;
use crate::metrics::Metrics;
use crate::secrets::Secrets;
use crate::tokens::{Keys, random_token};
use crate::waiting_room::{Entry, InFlight, Visitor, WaitingRoom, wall_ms};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// Everything a handler needs; cloned per request as an `Arc`.
pub struct AppState {
    /// The inventory.
    pub inventory: Inventory,
    /// MAC keys.
    pub keys: Keys,
    /// Shared secrets (admin password, API token).
    pub secrets: Secrets,
    /// Limits and defaults.
    pub config: ShopConfig,
    /// Metrics.
    pub metrics: Metrics,
    /// Waiting rooms.
    pub rooms: WaitingRoom<EngineRooms>,
    /// Failed admin logins this minute.
    pub login_guard: crate::admin::LoginGuard,
}

/// The state as handlers take it.
pub type Shared = Arc<AppState>;

/// A form body as name/value pairs, in order (repeated names allowed).
#[derive(Debug, Default, Clone)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// Parse an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Result<Form, ShopError> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map(Form)
            .map_err(|_| ShopError::BadRequest("the form could not be read".into()))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether a checkbox `name` is ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| !v.is_empty() && v != "0")
    }

    /// Quantities of `item_<id>` fields: (item id, quantity), each at most
    /// `quantity_max`, at most `lines_max` lines with a positive quantity.
    /// Empty fields count as 0.
    pub fn item_quantities(&self, quantity_max: u32, lines_max: usize) -> Result<Vec<(u64, u32)>, ShopError> {
        let mut out: Vec<(u64, u32)> = Vec::new();
        for (name, value) in &self.0 {
            let Some(id) = name.strip_prefix("item_") else { continue };
            let id: u64 = id.parse().map_err(|_| ShopError::BadRequest(format!("unknown field `{name}`")))?;
            let value = value.trim();
            let quantity: u32 = if value.is_empty() {
                0
            } else {
                value.parse().map_err(|_| ShopError::Invalid(format!("`{value}` is not a quantity")))?
            };
            if quantity > quantity_max {
                return Err(ShopError::Invalid(format!("at most {quantity_max} tickets of one kind")));
            }
            if out.iter().any(|(i, _)| *i == id) {
                return Err(ShopError::BadRequest(format!("`{name}` given twice")));
            }
            out.push((id, quantity));
        }
        if out.iter().filter(|(_, q)| *q > 0).count() > lines_max {
            return Err(ShopError::Invalid(format!("at most {lines_max} kinds of ticket per cart")));
        }
        Ok(out)
    }
}

/// The visitor's session: its id, and whether the response must set its cookie.
#[derive(Debug, Clone)]
pub struct Session {
    /// The id.
    pub id: String,
    /// Newly made: set the cookie.
    pub new: bool,
}

/// Cookies a response must set.
#[derive(Debug, Default)]
pub struct SetCookies(pub Vec<HeaderValue>);

impl SetCookies {
    /// Add a cookie (an empty value with max-age 0 deletes it).
    pub fn push(&mut self, state: &AppState, name: &str, value: &str, max_age_secs: u64) {
        let secure = state.config.cookie_secure;
        self.0.push(if value.is_empty() {
            cookies::clear(name, secure)
        } else {
            cookies::set(name, value, max_age_secs, secure)
        });
    }

    /// Attach them to a response.
    pub fn apply(self, mut response: Response) -> Response {
        for value in self.0 {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }
}

/// Session cookie lifetime, in seconds (a browser session of a day).
pub const SESSION_MAX_AGE_SECS: u64 = 24 * 3600;

impl AppState {
    /// The visitor's session, made if absent or tampered.
    pub fn session(&self, headers: &HeaderMap, set: &mut SetCookies) -> Session {
        if let Some(cookie) = cookies::get(headers, cookies::SESSION)
            && let Some(id) = self.keys.verify("session", &cookie)
            && id.len() == 32
        {
            return Session { id: id.to_owned(), new: false };
        }
        let id = random_token();
        set.push(self, cookies::SESSION, &self.keys.sign("session", &id), SESSION_MAX_AGE_SECS);
        Session { id, new: true }
    }

    /// The session of a form post, if its CSRF token matches; else 403.
    pub fn check_csrf(&self, headers: &HeaderMap, form: &Form) -> Result<String, ShopError> {
        let session = cookies::get(headers, cookies::SESSION)
            .and_then(|c| self.keys.verify("session", &c).map(str::to_owned))
            .ok_or_else(|| ShopError::Forbidden("no session".into()))?;
        let token = form.get("csrf").ok_or_else(|| ShopError::Forbidden("no CSRF token".into()))?;
        if !self.keys.csrf_ok(&session, token) {
            return Err(ShopError::Forbidden("CSRF token mismatch".into()));
        }
        Ok(session)
    }

    /// The engine request id of a form post: the same form (its one-time
    /// token) posted again in the same session to the same route is the same request.
    pub fn form_request_id(&self, session: &str, form: &Form, scope: &str) -> RequestId {
        match form.get("idem").filter(|t| !t.is_empty() && t.len() <= 64) {
            Some(token) => self.keys.request_id(scope, &format!("{session}:{token}")),
            None => crate::inventory::domain::RequestId(rand::random()),
        }
    }

    /// The hold in this visitor's cart cookie for `event`, if it verifies.
    pub fn cart_hold(&self, headers: &HeaderMap, event: u64) -> Option<u64> {
        let cookie = cookies::get(headers, &cookies::cart(event))?;
        self.keys.verify(&format!("cart:{event}"), &cookie)?.parse().ok()
    }

    /// Set the cart cookie of `event` to `hold`.
    pub fn set_cart(&self, set: &mut SetCookies, event: u64, hold: u64) {
        let max_age = self.config.hold_ttl_ms / 1000 + 3600;
        set.push(
            self,
            &cookies::cart(event),
            &self.keys.sign(&format!("cart:{event}"), &hold.to_string()),
            max_age,
        );
    }

    /// Delete the cart cookie of `event`.
    pub fn clear_cart(&self, set: &mut SetCookies, event: u64) {
        set.push(self, &cookies::cart(event), "", 0);
    }

    /// Whether the request carries a valid admin login.
    pub fn is_admin(&self, headers: &HeaderMap) -> bool {
        cookies::get(headers, cookies::ADMIN)
            .and_then(|c| self.keys.verify("admin", &c).and_then(|v| v.parse::<u64>().ok()))
            .is_some_and(|expires_ms| expires_ms > wall_ms())
    }

    /// Whether `password` is the admin password (constant time in its length).
    pub fn password_ok(&self, password: &str) -> bool {
        let given = blake3::hash(password.as_bytes());
        given == blake3::hash(self.secrets.admin_password.as_bytes())
    }

    /// Whether the request carries the API bearer token.
    pub fn bearer_ok(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|token| {
                blake3::hash(token.trim().as_bytes()) == blake3::hash(self.secrets.api_token.as_bytes())
            })
    }

    /// Let a request of `event` through the waiting room: `Ok(guard)` to go
    /// on (cookies added to `set`), or `Err(response)` to send (the queue).
    pub async fn gate(
        &self,
        headers: &HeaderMap,
        session: &Session,
        event: u64,
        queue_url: &str,
        set: &mut SetCookies,
    ) -> Result<Result<InFlight, Response>, ShopError> {
        let visitor = Visitor {
            session: session.id.clone(),
            admission: cookies::get(headers, &cookies::admission(event)),
            queue: cookies::get(headers, &cookies::queue(event)),
            has_cart: self.cart_hold(headers, event).is_some(),
        };
        match self.rooms.enter(event, &visitor, wall_ms()).await? {
            Entry::Proceed { guard, cookies } => {
                for (name, value, max_age) in cookies {
                    set.push(self, &name, &value, max_age);
                }
                Ok(Ok(guard))
            }
            Entry::Queue { cookies } => {
                let mut queued = SetCookies::default();
                queued.0.append(&mut set.0);
                for (name, value, max_age) in cookies {
                    queued.push(self, &name, &value, max_age);
                }
                Ok(Err(queued.apply(see_other(queue_url))))
            }
        }
    }
}

/// A 303 to `to`.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A 303 to `to` with cookies.
pub fn see_other_with(to: &str, set: SetCookies) -> Response {
    set.apply(see_other(to))
}

/// Whether `next` is a local path (no open redirects).
pub fn local_path(next: &str) -> bool {
    next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && next.len() <= 512
}

/// `status` as a plain response marked rendered (for `/health`).
pub fn plain(status: StatusCode, text: &str) -> Response {
    let mut response =
        (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text.to_owned()).into_response();
    response.extensions_mut().insert(crate::errors::Rendered { code: None });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_quantities_are_bounded_and_unknown_fields_refused() {
        let form = Form::parse(b"item_3=2&item_4=&csrf=x&item_5=0").unwrap();
        assert_eq!(form.item_quantities(10, 32).unwrap(), vec![(3, 2), (4, 0), (5, 0)]);
        assert!(matches!(
            Form::parse(b"item_3=11").unwrap().item_quantities(10, 32),
            Err(ShopError::Invalid(_))
        ));
        assert!(matches!(
            Form::parse(b"item_3=-1").unwrap().item_quantities(10, 32),
            Err(ShopError::Invalid(_))
        ));
        assert!(matches!(
            Form::parse(b"item_x=1").unwrap().item_quantities(10, 32),
            Err(ShopError::BadRequest(_))
        ));
        assert!(matches!(
            Form::parse(b"item_1=1&item_2=1").unwrap().item_quantities(10, 1),
            Err(ShopError::Invalid(_))
        ));
        assert!(matches!(
            Form::parse(b"item_1=1&item_1=2").unwrap().item_quantities(10, 5),
            Err(ShopError::BadRequest(_))
        ));
    }

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert!(local_path("/admin/"));
        assert!(!local_path("//evil.example/"));
        assert!(!local_path("https://evil.example/"));
        assert!(!local_path("/\\evil"));
    }
}

//! The router, the layers around it, and `run`.
//!
//! `run(listener, state, shutdown)` serves until `shutdown` resolves, so
//! tests start the real server on port 0 and the binary stays thin. Around
//! every route: a body limit (413), a request timeout, panic catching, and
//! one middleware (`observe`) that labels metrics by route template and
//! turns any error the framework answered by itself (an unknown path, a
//! body over the limit, a path segment that does not parse) into the shop's
//! own page or JSON error, so no client ever sees a bare framework message.

use crate::app::{Shared, plain};
use crate::errors::{Rendered, ShopError, json_error};
use crate::{admin, api, pages, views};
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use std::future::Future;
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Every route of the shop.
pub fn router(state: Shared) -> Router {
    let body_max = state.config.body_bytes_max;
    let timeout = Duration::from_millis(state.config.request_timeout_ms);
    let api = Router::new()
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/organizers/:org/events/", get(api::list_events))
        .route("/api/v1/organizers/:org/events/:event/items/", get(api::list_items))
        .route(
            "/api/v1/organizers/:org/events/:event/quotas/:quota/availability/",
            get(api::quota_availability),
        )
        .route("/api/v1/organizers/:org/events/:event/carts/", post(api::create_cart))
        .route(
            "/api/v1/organizers/:org/events/:event/carts/:cart/",
            get(api::get_cart).delete(api::delete_cart),
        )
        .route("/api/v1/organizers/:org/events/:event/orders/", post(api::create_order))
        .route("/api/v1/organizers/:org/events/:event/orders/:order/", get(api::get_order))
        .route("/api/v1/organizers/:org/events/:event/orders/:order/pay/", post(api::pay_order))
        .route("/api/v1/organizers/:org/events/:event/checkinlists/", get(api::list_checkin_lists))
        .route("/api/v1/organizers/:org/events/:event/checkinlists/:list/redeem/", post(api::redeem));
    let admin = Router::new()
        .route("/admin/login", get(admin::login_form).post(admin::login))
        .route("/admin/logout", post(admin::logout))
        .route("/admin/", get(admin::index))
        .route("/admin", get(|| async { crate::app::see_other("/admin/") }))
        .route("/admin/events", post(admin::create_event))
        .route("/admin/events/:event/", get(admin::event))
        .route("/admin/events/:event/items", post(admin::create_item))
        .route("/admin/events/:event/quotas", post(admin::create_quota))
        .route("/admin/events/:event/checkinlists", post(admin::create_checkin_list))
        .route("/admin/events/:event/waiting-room", post(admin::configure_room))
        .route("/admin/quotas/:quota/:action", post(admin::quota_action))
        .route("/admin/log", get(admin::log));
    let ops = Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(|| async { plain(StatusCode::OK, "ok") }))
        .route("/ready", get(ready));
    let shop = Router::new()
        .route("/", get(pages::root))
        .route("/:org", get(pages::org_no_slash))
        .route("/:org/", get(pages::events))
        .route("/:org/:event/", get(pages::event))
        .route("/:org/:event/cart", get(pages::cart))
        .route("/:org/:event/cart/add", post(pages::cart_add))
        .route("/:org/:event/cart/seats", post(pages::cart_seats))
        .route("/:org/:event/waitlist/join", post(pages::waitlist_join))
        .route("/:org/:event/waitlist/:entry/:token", get(pages::waitlist_entry))
        .route("/:org/:event/waitlist/:entry/:token/claim", post(pages::waitlist_claim))
        .route("/:org/:event/waitlist/:entry/:token/leave", post(pages::waitlist_leave))
        .route("/:org/:event/cart/update", post(pages::cart_update))
        .route("/:org/:event/cart/release", post(pages::cart_release))
        .route("/:org/:event/checkout", get(pages::checkout_form).post(pages::checkout))
        .route("/:org/:event/order/:order/:token", get(pages::order))
        .route("/:org/:event/order/:order/:token/pay", post(pages::pay))
        .route("/:org/:event/checkin", get(admin::checkin_form).post(admin::checkin))
        .route("/:org/:event/queue", get(pages::queue));
    Router::new()
        .merge(api)
        .merge(admin)
        .merge(ops)
        .merge(shop)
        .layer(DefaultBodyLimit::max(body_max))
        .layer(RequestBodyLimitLayer::new(body_max))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Metrics by route, and the shop's own answer for whatever the framework answered itself.
async fn observe(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let status = response.status();
    let mut code = response.extensions().get::<Rendered>().and_then(|r| r.code);
    if status.as_u16() >= 400 && response.extensions().get::<Rendered>().is_none() {
        let error = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ShopError::PayloadTooLarge,
            StatusCode::REQUEST_TIMEOUT => ShopError::Timeout,
            StatusCode::METHOD_NOT_ALLOWED => ShopError::MethodNotAllowed,
            StatusCode::NOT_FOUND => ShopError::NotFound("that page".into()),
            s if s.is_client_error() => ShopError::BadRequest("the address or body could not be read".into()),
            _ => {
                tracing::error!(%status, route, "an internal error");
                ShopError::Unavailable("internal error".into())
            }
        };
        let mut replaced = if api { json_error(&error) } else { views::error_page(&error) };
        if status.is_server_error() {
            *replaced.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        }
        code = Some(error.code());
        response = replaced;
    }
    let status = response.status();
    state.metrics.requests.with_label_values(&[&route, &method, status.as_str()]).inc();
    state.metrics.latency.with_label_values(&[&route]).observe(started.elapsed().as_secs_f64());
    if let Some(code) = code.filter(|_| status.as_u16() >= 400) {
        state.metrics.errors.with_label_values(&[&route, code]).inc();
    }
    response
}

async fn metrics(State(state): State<Shared>) -> Response {
    plain(StatusCode::OK, &state.metrics.render())
}

/// How long `/ready` waits for the engine, in milliseconds.
pub const READY_TIMEOUT_MS: u64 = 2_000;

async fn ready(State(state): State<Shared>) -> Response {
    let status =
        tokio::time::timeout(Duration::from_millis(READY_TIMEOUT_MS), state.inventory.client().status(false))
            .await;
    match status {
        Ok(Ok(s)) if s.leader_id.is_some() => plain(StatusCode::OK, "ready"),
        Ok(Ok(_)) => plain(StatusCode::SERVICE_UNAVAILABLE, "not ready: no leader known"),
        Ok(Err(e)) => plain(StatusCode::SERVICE_UNAVAILABLE, &format!("not ready: {e}")),
        Err(_) => plain(StatusCode::SERVICE_UNAVAILABLE, "not ready: the engine did not answer"),
    }
}

/// Serve `state` on `listener` until `shutdown` resolves.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: Shared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

//! The JSON API over real HTTP: every route, idempotency keys, error codes,
//! auth, limits, and the OpenAPI document.

mod common;

use common::{API_TOKEN, TestShop, http, items};
use serde_json::{Value, json};

const API: &str = "/api/v1/organizers/demo/events";

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

async fn cart(shop: &TestShop, event: &str, lines: Value, key: Option<&str>) -> (u16, Value) {
    let mut request =
        http().post(shop.url(&format!("{API}/{event}/carts/"))).json(&json!({ "lines": lines }));
    if let Some(key) = key {
        request = request.header("X-Idempotency-Key", key);
    }
    send(request).await
}

async fn order(shop: &TestShop, event: &str, cart_id: &Value, key: Option<&str>) -> (u16, Value) {
    let mut request = http()
        .post(shop.url(&format!("{API}/{event}/orders/")))
        .json(&json!({"cart": cart_id, "name": "Grace Hopper", "email": "grace@example.org"}));
    if let Some(key) = key {
        request = request.header("X-Idempotency-Key", key);
    }
    send(request).await
}

#[tokio::test]
async fn events_items_and_quota_availability_are_listed() {
    let shop = TestShop::start().await;
    let (status, events) = send(http().get(shop.url(&format!("{API}/")))).await;
    assert_eq!(status, 200);
    assert_eq!(events["count"], 2);
    assert_eq!(events["results"][0]["slug"], "summer-festival");
    let (status, list) = send(http().get(shop.url(&format!("{API}/summer-festival/items/")))).await;
    assert_eq!(status, 200);
    let weekend = list["results"].as_array().unwrap().iter().find(|i| i["name"] == "Weekend pass").unwrap();
    assert_eq!(weekend["default_price"], "80.00");
    assert_eq!(weekend["available_number"], 500);
    assert_eq!(weekend["quotas"].as_array().unwrap().len(), 2);
    let quota = weekend["quotas"][0].as_u64().unwrap();
    let (status, availability) =
        send(http().get(shop.url(&format!("{API}/summer-festival/quotas/{quota}/availability/")))).await;
    assert_eq!(status, 200);
    assert_eq!(
        availability,
        json!({
            "available": true, "available_number": 500, "total_size": 500, "paid_orders": 0, "pending_orders": 0,
            "cart_positions": 0, "blocking_vouchers": 0, "waiting_list": 0, "closed": false
        })
    );
    for path in [
        "/api/v1/organizers/nobody/events/".to_owned(),
        format!("{API}/nope/items/"),
        format!("{API}/summer-festival/quotas/999999/availability/"),
        format!("{API}/summer-festival/quotas/abc/availability/"),
        format!("{API}/jazz-night/quotas/{quota}/availability/"),
        "/api/v1/nothing-here".to_owned(),
    ] {
        let (status, body) = send(http().get(shop.url(&path))).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["code"], "not_found", "{path}");
    }
    shop.stop().await;
}

#[tokio::test]
async fn a_cart_is_created_read_and_released() {
    let shop = TestShop::start().await;
    let ids = items(&shop.base, "jazz-night").await;
    let standing = ids["Standing"].0;
    let (status, created) = cart(&shop, "jazz-night", json!([{"item": standing, "quantity": 2}]), None).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "active");
    let id = created["id"].as_str().unwrap().to_owned();
    let url = shop.url(&format!("{API}/jazz-night/carts/{id}/"));
    let (status, read) = send(http().get(&url)).await;
    assert_eq!(status, 200);
    assert_eq!(read["lines"], json!([{"item": standing, "quantity": 2}]));
    let (status, _) = send(http().delete(&url)).await;
    assert_eq!(status, 204);
    let (_, read) = send(http().get(&url)).await;
    assert_eq!(read["status"], "released");
    let (status, again) = send(http().delete(&url)).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("cart_closed")));
    // Someone else's cart id, forged from a hold number.
    let hold: u64 = id.split('-').next().unwrap().parse().unwrap();
    for forged in [
        hold.to_string(),
        format!("{}-{}", hold, "0".repeat(32)),
        format!("{}-{}", hold + 1, id.split('-').nth(1).unwrap()),
    ] {
        let (status, body) = send(http().get(shop.url(&format!("{API}/jazz-night/carts/{forged}/")))).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{forged}");
        let (status, _) = send(http().delete(shop.url(&format!("{API}/jazz-night/carts/{forged}/")))).await;
        assert_eq!(status, 404);
    }
    // A real cart of another event.
    let (status, _) = send(http().get(shop.url(&format!("{API}/summer-festival/carts/{id}/")))).await;
    assert_eq!(status, 404);
    shop.stop().await;
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_first_answer_and_another_body_is_409() {
    let shop = TestShop::start().await;
    let ids = items(&shop.base, "jazz-night").await;
    let (standing, balcony) = (ids["Standing"].0, ids["Balcony"].0);
    let lines = json!([{"item": standing, "quantity": 3}]);
    let (s1, first) = cart(&shop, "jazz-night", lines.clone(), Some("key-1")).await;
    let (s2, second) = cart(&shop, "jazz-night", lines.clone(), Some("key-1")).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first, second, "the same answer");
    let (_, list) = send(http().get(shop.url(&format!("{API}/jazz-night/items/")))).await;
    let standing_left =
        list["results"].as_array().unwrap().iter().find(|i| i["id"] == standing).unwrap()["available_number"]
            .clone();
    assert_eq!(standing_left, 197, "reserved once");
    let (status, conflict) =
        cart(&shop, "jazz-night", json!([{"item": balcony, "quantity": 1}]), Some("key-1")).await;
    assert_eq!((status, conflict["code"].as_str()), (409, Some("idempotency_conflict")), "{conflict}");
    // The same key on another route is another request.
    let (status, _) = cart(
        &shop,
        "summer-festival",
        json!([{"item": items(&shop.base, "summer-festival").await["Sunday"].0, "quantity": 1}]),
        Some("key-1"),
    )
    .await;
    assert_eq!(status, 201);
    // Orders: the same, with the order's tickets in the answer both times.
    let (o1, placed) = order(&shop, "jazz-night", &first["id"], Some("order-key")).await;
    let (o2, again) = order(&shop, "jazz-night", &first["id"], Some("order-key")).await;
    assert_eq!((o1, o2), (201, 201), "{placed}");
    assert_eq!(placed, again);
    assert_eq!(placed["status"], "pending");
    assert_eq!(placed["positions"].as_array().unwrap().len(), 3);
    // The same cart under the same key with another buyer: another command, a conflict.
    let other_body = http()
        .post(shop.url(&format!("{API}/jazz-night/orders/")))
        .header("X-Idempotency-Key", "order-key")
        .json(&json!({"cart": second["id"], "name": "Someone Else", "email": "x@example.org"}));
    let (status, conflict) = send(other_body).await;
    assert_eq!((status, conflict["code"].as_str()), (409, Some("idempotency_conflict")), "{conflict}");
    let (_, other_cart) = cart(&shop, "jazz-night", json!([{"item": standing, "quantity": 1}]), None).await;
    let (status, conflict) = order(&shop, "jazz-night", &other_cart["id"], Some("order-key")).await;
    assert_eq!((status, conflict["code"].as_str()), (409, Some("idempotency_conflict")));
    for bad in ["", &"k".repeat(201)] {
        let (status, body) = cart(&shop, "jazz-night", lines.clone(), Some(bad)).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")), "{bad:?}");
    }
    shop.stop().await;
}

#[tokio::test]
async fn an_order_is_read_with_its_token_paid_once_and_shows_secrets_once_paid() {
    let shop = TestShop::start().await;
    let ids = items(&shop.base, "summer-festival").await;
    let (_, created) =
        cart(&shop, "summer-festival", json!([{"item": ids["Weekend pass"].0, "quantity": 1}]), None).await;
    let (status, placed) = order(&shop, "summer-festival", &created["id"], None).await;
    assert_eq!(status, 201, "{placed}");
    let (id, token) = (placed["id"].as_u64().unwrap(), placed["token"].as_str().unwrap().to_owned());
    assert_eq!(placed["total"], "80.00");
    assert!(placed["positions"][0]["secret"].is_null(), "no secret before payment");
    let url = |suffix: &str, token: &str| {
        shop.url(&format!("{API}/summer-festival/orders/{id}/{suffix}?token={token}"))
    };
    let (status, read) = send(http().get(url("", &token))).await;
    assert_eq!((status, read["status"].as_str()), (200, Some("pending")));
    for bad in ["", "0000", &"0".repeat(32)] {
        let (status, body) = send(http().get(url("", bad))).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{bad:?}");
        let (status, _) = send(http().post(url("pay/", bad))).await;
        assert_eq!(status, 404);
    }
    let (status, _) = send(http().get(shop.url(&format!("{API}/summer-festival/orders/{id}/")))).await;
    assert_eq!(status, 404, "no token");
    let (status, _) =
        send(http().get(shop.url(&format!("{API}/jazz-night/orders/{id}/?token={token}")))).await;
    assert_eq!(status, 404, "another event");
    let (status, paid) = send(http().post(url("pay/", &token)).header("X-Idempotency-Key", "pay-1")).await;
    assert_eq!((status, paid["status"].as_str()), (200, Some("paid")), "{paid}");
    let (status, repeat) = send(http().post(url("pay/", &token)).header("X-Idempotency-Key", "pay-1")).await;
    assert_eq!((status, repeat), (200, paid));
    let (status, twice) = send(http().post(url("pay/", &token))).await;
    assert_eq!((status, twice["code"].as_str()), (409, Some("order_status")), "{twice}");
    let (_, read) = send(http().get(url("", &token))).await;
    assert_eq!(read["status"], "paid");
    assert_eq!(read["positions"][0]["secret"].as_str().unwrap().len(), 32);
    let (status, again) = order(&shop, "summer-festival", &created["id"], None).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("cart_closed")));
    shop.stop().await;
}

#[tokio::test]
async fn sold_out_and_bad_carts_have_stable_codes() {
    let shop = TestShop::start().await;
    let ids = items(&shop.base, "jazz-night").await;
    let balcony = ids["Balcony"].0;
    let (status, _) = cart(&shop, "jazz-night", json!([{"item": balcony, "quantity": 20}]), None).await;
    assert_eq!(status, 201);
    let (status, body) = cart(&shop, "jazz-night", json!([{"item": balcony, "quantity": 1}]), None).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("sold_out")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("Balcony"));
    let cases = [
        (json!([]), 422, "invalid"),
        (json!([{"item": balcony, "quantity": 0}]), 422, "invalid"),
        (json!([{"item": 999_999, "quantity": 1}]), 404, "not_found"),
        (json!([{"item": ids["Standing"].0, "quantity": 101}]), 422, "invalid"),
        (
            json!([{"item": items(&shop.base, "summer-festival").await["Sunday"].0, "quantity": 1}]),
            422,
            "invalid",
        ),
    ];
    for (lines, status, code) in cases {
        let (got, body) = cart(&shop, "jazz-night", lines.clone(), None).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{lines}: {body}");
    }
    let many: Vec<Value> = (0..33).map(|i| json!({"item": i + 1, "quantity": 1})).collect();
    let (status, body) = cart(&shop, "jazz-night", Value::Array(many), None).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("invalid")));
    for raw in [
        "{",
        "[]",
        "{\"lines\": 3}",
        "{\"lines\": [], \"extra\": 1}",
        "{\"lines\": [{\"item\": -1, \"quantity\": 1}]}",
    ] {
        let (status, body) = send(http().post(shop.url(&format!("{API}/jazz-night/carts/"))).body(raw)).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")), "{raw}: {body}");
    }
    let (status, body) = send(
        http()
            .post(shop.url(&format!("{API}/jazz-night/orders/")))
            .json(&json!({"cart": "1-00", "name": "", "email": "x"})),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (422, Some("invalid")));
    shop.stop().await;
}

#[tokio::test]
async fn an_oversized_body_is_413_as_json() {
    let shop = TestShop::start().await;
    let big =
        format!("{{\"lines\": [], \"pad\": \"{}\"}}", "x".repeat(boxoffice_shop::config::BODY_BYTES_MAX));
    let (status, body) = send(http().post(shop.url(&format!("{API}/jazz-night/carts/"))).body(big)).await;
    assert_eq!((status, body["code"].as_str()), (413, Some("payload_too_large")), "{body}");
    shop.stop().await;
}

#[tokio::test]
async fn check_in_needs_the_token_admits_a_paid_ticket_once_and_repeats_a_nonce() {
    let shop = TestShop::start().await;
    let ids = items(&shop.base, "jazz-night").await;
    let (_, created) =
        cart(&shop, "jazz-night", json!([{"item": ids["Standing"].0, "quantity": 1}]), None).await;
    let (_, placed) = order(&shop, "jazz-night", &created["id"], None).await;
    let (id, token) = (placed["id"].as_u64().unwrap(), placed["token"].as_str().unwrap().to_owned());
    // The door's scanner finds the list through the API, with the token.
    let lists_url = shop.url(&format!("{API}/jazz-night/checkinlists/"));
    let (status, body) = send(http().get(&lists_url)).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "{body}");
    let (status, lists) = send(http().get(&lists_url).bearer_auth(API_TOKEN)).await;
    assert_eq!((status, lists["count"].as_u64()), (200, Some(1)), "{lists}");
    let list = lists["results"][0]["id"].as_u64().unwrap();
    let unknown = shop.url(&format!("{API}/no-such-event/checkinlists/"));
    let (status, body) = send(http().get(&unknown).bearer_auth(API_TOKEN)).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{body}");
    let redeem = |body: Value, auth: Option<&str>| {
        let mut request =
            http().post(shop.url(&format!("{API}/jazz-night/checkinlists/{list}/redeem/"))).json(&body);
        if let Some(auth) = auth {
            request = request.header("Authorization", format!("Bearer {auth}"));
        }
        send(request)
    };
    let pending: boxoffice_shop::inventory::domain::Order = shop
        .client
        .order(
            boxoffice_shop::inventory::domain::OrderId(id),
            boxoffice_shop::inventory::Consistency::Linearizable,
        )
        .await
        .unwrap();
    let secret = pending.tickets[0].secret.clone();
    let (status, body) = redeem(json!({"secret": secret}), None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let (status, body) = redeem(json!({"secret": secret}), Some("wrong-token-wrong-token")).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = redeem(json!({"secret": secret}), Some(API_TOKEN)).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("unpaid")), "{body}");
    send(http().post(shop.url(&format!("{API}/jazz-night/orders/{id}/pay/?token={token}")))).await;
    let (status, body) = redeem(json!({"secret": secret, "nonce": "scan-1"}), Some(API_TOKEN)).await;
    assert_eq!((status, body["status"].as_str()), (201, Some("ok")), "{body}");
    let (status, body) = redeem(json!({"secret": secret, "nonce": "scan-1"}), Some(API_TOKEN)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (201, Some("ok")),
        "a repeated nonce repeats the answer: {body}"
    );
    let (status, body) = redeem(json!({"secret": secret, "nonce": "scan-2"}), Some(API_TOKEN)).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("already_redeemed")), "{body}");
    let (status, body) = redeem(json!({"secret": "f".repeat(32)}), Some(API_TOKEN)).await;
    assert_eq!((status, body["reason"].as_str()), (404, Some("invalid")));
    let (status, body) = redeem(json!({"secret": "x".repeat(5000)}), Some(API_TOKEN)).await;
    assert_eq!((status, body["reason"].as_str()), (404, Some("invalid")));
    let (status, _) = send(
        http()
            .post(shop.url(&format!("{API}/jazz-night/checkinlists/999999/redeem/")))
            .header("Authorization", format!("Bearer {API_TOKEN}"))
            .json(&json!({"secret": secret})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = redeem(json!({"secret": secret, "type": "sideways"}), Some(API_TOKEN)).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("invalid")));
    assert_eq!(body["status"], "error", "every refusal has the scan's shape: {body}");
    let (status, body) = send(
        http()
            .post(shop.url(&format!("{API}/jazz-night/checkinlists/{list}/redeem/")))
            .header("Authorization", format!("Bearer {API_TOKEN}"))
            .body("{\"secret\": 5}"),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str(), body["code"].as_str()),
        (400, Some("error"), Some("bad_request"))
    );
    shop.stop().await;
}

#[tokio::test]
async fn the_openapi_document_is_generated_and_served() {
    let shop = TestShop::start().await;
    let (status, doc) = send(http().get(shop.url("/api/v1/openapi.json"))).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/organizers/{organizer}/events/",
        "/api/v1/organizers/{organizer}/events/{event}/items/",
        "/api/v1/organizers/{organizer}/events/{event}/quotas/{quota}/availability/",
        "/api/v1/organizers/{organizer}/events/{event}/carts/",
        "/api/v1/organizers/{organizer}/events/{event}/carts/{cart}/",
        "/api/v1/organizers/{organizer}/events/{event}/orders/",
        "/api/v1/organizers/{organizer}/events/{event}/orders/{order}/",
        "/api/v1/organizers/{organizer}/events/{event}/orders/{order}/pay/",
        "/api/v1/organizers/{organizer}/events/{event}/checkinlists/",
        "/api/v1/organizers/{organizer}/events/{event}/checkinlists/{list}/redeem/",
    ] {
        assert!(paths.contains_key(path), "{path}");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let (status, body) = send(http().put(shop.url("/api/v1/openapi.json"))).await;
    assert_eq!((status, body["code"].as_str()), (405, Some("method_not_allowed")));
    shop.stop().await;
}

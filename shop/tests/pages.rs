//! The buyer's and the admin's pages over real HTTP: every page, the whole
//! purchase, and what a hostile or unlucky visitor meets.

mod common;

use boxoffice_shop::config::ShopConfig;
use common::{Browser, TestShop, demo, http, items};

#[tokio::test]
async fn the_root_redirects_to_the_default_organizer_and_lists_its_events() {
    let shop = TestShop::start().await;
    let browser = shop.browser();
    let root = browser.get("/").await;
    assert_eq!((root.status, root.location.as_deref()), (303, Some("/demo/")));
    let events = browser.get("/demo/").await;
    assert_eq!(events.status, 200);
    assert!(events.has("Summer Festival 2026") && events.has("/demo/jazz-night/"), "{}", events.body);
    let no_slash = browser.get("/demo").await;
    assert_eq!(no_slash.location.as_deref(), Some("/demo/"));
    shop.stop().await;
}

#[tokio::test]
async fn unknown_organizers_events_and_paths_are_404_pages_not_traces() {
    let shop = TestShop::start().await;
    let browser = shop.browser();
    for path in
        ["/nobody/", "/demo/no-such-event/", "/demo/NOT_A_SLUG/", "/demo/summer-festival/nope", "/x/y/z/w/v"]
    {
        let page = browser.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.has("We could not find") && page.has("<html"), "{path}: {}", page.body);
        assert!(!page.has("panicked") && !page.has("Error {"), "{path}");
    }
    shop.stop().await;
}

#[tokio::test]
async fn the_event_page_shows_items_with_live_availability_and_sold_out() {
    let shop = TestShop::start().await;
    let browser = shop.browser();
    let page = browser.get(demo::JAZZ).await;
    assert_eq!(page.status, 200);
    assert!(page.has("Standing") && page.has("200 left") && page.has("20 left"), "{}", page.body);
    let meet = items(&shop.base, "jazz-night").await["Meet the band"].0;
    assert!(page.has(&format!("id=\"waitlist-{meet}\"")), "the demo's sold-out item has its waiting list");
    assert_eq!(page.body.matches("Join the waiting list").count(), 1, "{}", page.body);
    assert!(page.has("name=\"csrf\"") && page.has("action=\"/demo/jazz-night/cart/add\""));
    // Another buyer takes the whole balcony.
    let ids = items(&shop.base, "jazz-night").await;
    let balcony = ids["Balcony"].0;
    let other = shop.browser();
    let added = other.add_to_cart(demo::JAZZ, balcony, 10).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let added = other.add_to_cart(demo::JAZZ, balcony, 10).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let page = browser.get(demo::JAZZ).await;
    assert!(page.has("sold out"), "{}", page.body);
    assert!(!page.has(&format!("name=\"item_{balcony}\"")), "no quantity field for a sold-out item");
    shop.stop().await;
}

#[tokio::test]
async fn a_buyer_browses_buys_pays_sees_qr_codes_and_is_checked_in_once() {
    let shop = TestShop::start().await;
    let buyer = shop.browser();
    let ids = items(&shop.base, "summer-festival").await;
    let saturday = ids["Saturday"].0;
    let added = buyer.add_to_cart(demo::FESTIVAL, saturday, 2).await;
    assert_eq!((added.status, added.location.as_deref()), (303, Some("/demo/summer-festival/cart")));
    let cart = buyer.get("/demo/summer-festival/cart").await;
    assert_eq!(cart.status, 200);
    assert!(cart.has("id=\"countdown\"") && cart.has("€90.00"), "{}", cart.body);
    let form = buyer.get("/demo/summer-festival/checkout").await;
    assert_eq!(form.status, 200);
    let (csrf, idem) = (form.field("csrf"), form.field("idem"));
    let placed = buyer
        .post(
            "/demo/summer-festival/checkout",
            &[("csrf", &csrf), ("idem", &idem), ("name", "Ada Lovelace"), ("email", "ada@example.org")],
        )
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let order_url = placed.location.clone().unwrap();
    assert!(order_url.starts_with("/demo/summer-festival/order/"), "{order_url}");
    assert!(buyer.cookie(&format!("bo_cart_{}", 2)).is_none(), "the cart cookie is gone after checkout");
    let order = buyer.get(&order_url).await;
    assert_eq!(order.status, 200);
    assert!(
        order.has("Waiting for payment") && order.has("id=\"pay\"") && !order.has("<svg"),
        "{}",
        order.body
    );
    let pay = buyer
        .post(&format!("{order_url}/pay"), &[("csrf", &order.field("csrf")), ("idem", &order.field("idem"))])
        .await;
    assert_eq!(pay.status, 303, "{}", pay.body);
    let paid = buyer.get(pay.location.as_deref().unwrap()).await;
    assert!(paid.has("Paid") && paid.has("Thank you"), "{}", paid.body);
    assert_eq!(paid.body.matches("<svg").count(), 2, "one QR code per ticket");
    let secrets: Vec<String> = paid
        .body
        .match_indices("<code class=\"secret\">")
        .map(|(i, m)| paid.body[i + m.len()..i + m.len() + 32].to_owned())
        .collect();
    assert_eq!(secrets.len(), 2);

    // The door.
    let door = shop.browser();
    let login = door.get("/demo/summer-festival/checkin").await;
    assert_eq!(login.status, 303, "check-in needs a login");
    assert!(login.location.unwrap().starts_with("/admin/login?next=/demo/summer-festival/checkin"));
    door.login().await;
    let scan = |secret: String| {
        let door = door.clone();
        async move {
            let page = door.get("/demo/summer-festival/checkin").await;
            assert_eq!(page.status, 200, "{}", page.body);
            let list = {
                let start = page.body.find("<option value=\"").unwrap() + "<option value=\"".len();
                page.body[start..start + page.body[start..].find('"').unwrap()].to_owned()
            };
            door.post(
                "/demo/summer-festival/checkin",
                &[
                    ("csrf", &page.field("csrf")),
                    ("idem", &page.field("idem")),
                    ("list", &list),
                    ("secret", &secret),
                ],
            )
            .await
        }
    };
    let first = scan(secrets[0].clone()).await;
    assert!(first.has("id=\"checkin-result\">VALID<"), "{}", first.body);
    let again = scan(secrets[0].clone()).await;
    assert!(again.has(">ALREADY USED<"), "{}", again.body);
    let other = scan(secrets[1].to_uppercase()).await;
    assert!(other.has(">VALID<"), "secrets are case-insensitive: {}", other.body);
    let junk = scan("0".repeat(32)).await;
    assert!(junk.has(">INVALID<"), "{}", junk.body);
    let huge = scan("a".repeat(500)).await;
    assert!(huge.has(">INVALID<"), "{}", huge.body);
    shop.stop().await;
}

#[tokio::test]
async fn an_unpaid_ticket_is_refused_at_the_door() {
    let shop = TestShop::start().await;
    let api = http();
    let ids = items(&shop.base, "jazz-night").await;
    let cart: serde_json::Value = api
        .post(shop.url("/api/v1/organizers/demo/events/jazz-night/carts/"))
        .json(&serde_json::json!({"lines": [{"item": ids["Standing"].0, "quantity": 1}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order: serde_json::Value = api
        .post(shop.url("/api/v1/organizers/demo/events/jazz-night/orders/"))
        .json(&serde_json::json!({"cart": cart["id"], "name": "B", "email": "b@example.org"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A pending order's secrets are not shown; read one from the engine to play a forger who guessed it.
    let full = shop
        .client
        .order(
            boxoffice_shop::inventory::domain::OrderId(order["id"].as_u64().unwrap()),
            boxoffice_shop::inventory::Consistency::Linearizable,
        )
        .await
        .unwrap();
    let door = shop.browser();
    door.login().await;
    let page = door.get("/demo/jazz-night/checkin").await;
    let start = page.body.find("<option value=\"").unwrap() + "<option value=\"".len();
    let list = page.body[start..start + page.body[start..].find('"').unwrap()].to_owned();
    let result = door
        .post(
            "/demo/jazz-night/checkin",
            &[
                ("csrf", &page.field("csrf")),
                ("idem", &page.field("idem")),
                ("list", &list),
                ("secret", &full.tickets[0].secret),
            ],
        )
        .await;
    assert!(result.has(">UNPAID<"), "{}", result.body);
    shop.stop().await;
}

#[tokio::test]
async fn forged_forms_without_a_valid_csrf_token_are_refused_with_403() {
    let shop = TestShop::start().await;
    let buyer = shop.browser();
    let ids = items(&shop.base, "summer-festival").await;
    let field = format!("item_{}", ids["Saturday"].0);
    let page = buyer.get(demo::FESTIVAL).await;
    let idem = page.field("idem");
    // No token at all.
    let forged = buyer.post("/demo/summer-festival/cart/add", &[("idem", &idem), (&field, "1")]).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(forged.has("did not come from this shop"));
    // Another session's token.
    let other = shop.browser();
    let other_csrf = other.get(demo::FESTIVAL).await.field("csrf");
    let forged = buyer.post("/demo/summer-festival/cart/add", &[("csrf", &other_csrf), (&field, "1")]).await;
    assert_eq!(forged.status, 403);
    // A token but no session cookie (a cross-site post from a fresh browser).
    let fresh = Browser::new(&shop.base);
    let forged =
        fresh.post("/demo/summer-festival/cart/add", &[("csrf", &page.field("csrf")), (&field, "1")]).await;
    assert_eq!(forged.status, 403);
    // A tampered session cookie.
    let session = buyer.cookie("bo_session").unwrap();
    // Change its first hex digit to another one (replacing it with a fixed
    // digit would leave it as it was one time in sixteen).
    let at = session.find(|c: char| c.is_ascii_hexdigit()).expect("a hex digit in the session cookie");
    let flipped = if &session[at..=at] == "0" { "1" } else { "0" };
    buyer.set_cookie("bo_session", &format!("{}{flipped}{}", &session[..at], &session[at + 1..]));
    let forged =
        buyer.post("/demo/summer-festival/cart/add", &[("csrf", &page.field("csrf")), (&field, "1")]).await;
    assert_eq!(forged.status, 403);
    for path in ["/admin/login", "/admin/logout", "/admin/events", "/demo/summer-festival/checkout"] {
        let forged = fresh.post(path, &[("name", "x")]).await;
        assert_eq!(forged.status, 403, "{path}");
    }
    // Nothing was reserved.
    let page = buyer.get(demo::FESTIVAL).await;
    assert!(page.has("500 left"), "{}", page.body);
    shop.stop().await;
}

#[tokio::test]
async fn a_tampered_cart_cookie_is_treated_as_no_cart() {
    let shop = TestShop::start().await;
    let buyer = shop.browser();
    let ids = items(&shop.base, "summer-festival").await;
    buyer.add_to_cart(demo::FESTIVAL, ids["Sunday"].0, 1).await;
    let (name, value) = {
        let jar = buyer.jar.lock().unwrap();
        let (name, value) = jar.iter().find(|(k, _)| k.starts_with("bo_cart_")).unwrap();
        (name.clone(), value.clone())
    };
    // Point the cookie at another hold id, keeping the MAC.
    let (_, mac) = value.split_once('.').unwrap();
    buyer.set_cookie(&name, &format!("1.{mac}"));
    let cart = buyer.get("/demo/summer-festival/cart").await;
    assert_eq!(cart.status, 200);
    assert!(cart.has("Your cart is empty"), "{}", cart.body);
    buyer.set_cookie(&name, "garbage");
    let cart = buyer.get("/demo/summer-festival/cart").await;
    assert!(cart.has("Your cart is empty"));
    let checkout = buyer.get("/demo/summer-festival/checkout").await;
    assert!(checkout.has("Your cart is empty"));
    shop.stop().await;
}

#[tokio::test]
async fn an_order_page_needs_its_token_and_a_tampered_one_is_not_found() {
    let shop = TestShop::start().await;
    let buyer = shop.browser();
    let ids = items(&shop.base, "summer-festival").await;
    buyer.add_to_cart(demo::FESTIVAL, ids["Saturday"].0, 1).await;
    let form = buyer.get("/demo/summer-festival/checkout").await;
    let placed = buyer
        .post(
            "/demo/summer-festival/checkout",
            &[
                ("csrf", &form.field("csrf")),
                ("idem", &form.field("idem")),
                ("name", "A"),
                ("email", "a@b.c"),
            ],
        )
        .await;
    let url = placed.location.unwrap();
    let (prefix, token) = url.rsplit_once('/').unwrap();
    let mut flipped = token.to_owned().into_bytes();
    flipped[0] = if flipped[0] == b'a' { b'b' } else { b'a' };
    let tampered = format!("{prefix}/{}", String::from_utf8(flipped).unwrap());
    for path in [
        tampered.clone(),
        format!("{prefix}/"),
        format!("{prefix}/short"),
        "/demo/summer-festival/order/999999/00".into(),
        "/demo/summer-festival/order/abc/00".into(),
    ] {
        let page = buyer.get(&path).await;
        assert_eq!(page.status, 404, "{path}: {}", page.body);
    }
    // The right token on another event's path.
    let wrong_event = url.replace("summer-festival", "jazz-night");
    assert_eq!(buyer.get(&wrong_event).await.status, 404);
    let order = buyer.get(&url).await;
    let pay = buyer.post(&format!("{tampered}/pay"), &[("csrf", &order.field("csrf"))]).await;
    assert_eq!(pay.status, 404);
    shop.stop().await;
}

#[tokio::test]
async fn an_oversized_form_is_refused_with_413_before_it_is_read() {
    let shop = TestShop::start().await;
    let buyer = shop.browser();
    buyer.get(demo::FESTIVAL).await;
    let body = vec![b'a'; boxoffice_shop::config::BODY_BYTES_MAX + 1];
    let page = buyer.post_raw("/demo/summer-festival/cart/add", body).await;
    assert_eq!(page.status, 413, "{}", page.body);
    assert!(page.has("too large") && page.has("<html"), "{}", page.body);
    let just_under = vec![b'a'; boxoffice_shop::config::BODY_BYTES_MAX - 10];
    let page = buyer.post_raw("/demo/summer-festival/cart/add", just_under).await;
    assert_eq!(page.status, 403, "read, then refused for its missing CSRF token");
    shop.stop().await;
}

#[tokio::test]
async fn sold_out_while_choosing_is_a_page_that_says_so() {
    let shop = TestShop::start().await;
    let ids = items(&shop.base, "jazz-night").await;
    let balcony = ids["Balcony"].0;
    let slow = shop.browser();
    let page = slow.get(demo::JAZZ).await;
    // Someone else buys 15 of the 20 meanwhile.
    let fast = shop.browser();
    assert_eq!(fast.add_to_cart(demo::JAZZ, balcony, 10).await.status, 303);
    assert_eq!(fast.add_to_cart(demo::JAZZ, balcony, 5).await.status, 303);
    let field = format!("item_{balcony}");
    let late = slow
        .post(
            "/demo/jazz-night/cart/add",
            &[("csrf", &page.field("csrf")), ("idem", &page.field("idem")), (&field, "6")],
        )
        .await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert!(late.has("Sold out while you were choosing: Balcony (only 5 left)"), "{}", late.body);
    assert!(late.has("5 left"), "the page shows what is left now");
    shop.stop().await;
}

#[tokio::test]
async fn a_resubmitted_form_reserves_once() {
    let shop = TestShop::start().await;
    let buyer = shop.browser();
    let ids = items(&shop.base, "summer-festival").await;
    let sunday = ids["Sunday"].0;
    let page = buyer.get(demo::FESTIVAL).await;
    let field = format!("item_{sunday}");
    let form = [("csrf", page.field("csrf")), ("idem", page.field("idem")), (field.as_str(), "2".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = buyer.post("/demo/summer-festival/cart/add", &form).await;
    assert_eq!(first.status, 303);
    // The double click: the same form again, now with the cart cookie set.
    let second = buyer.post("/demo/summer-festival/cart/add", &form).await;
    assert_eq!(second.status, 303, "{}", second.body);
    // And a retry that lost the first response (no cart cookie yet).
    let cart_cookie = buyer.jar.lock().unwrap().keys().find(|k| k.starts_with("bo_cart_")).cloned().unwrap();
    buyer.jar.lock().unwrap().remove(&cart_cookie);
    let third = buyer.post("/demo/summer-festival/cart/add", &form).await;
    assert_eq!(third.status, 303);
    let cart = buyer.get("/demo/summer-festival/cart").await;
    assert!(cart.has("value=\"2\""), "{}", cart.body);
    let page = buyer.get(demo::FESTIVAL).await;
    assert!(page.has("498 left"), "reserved once: {}", page.body);
    shop.stop().await;
}

#[tokio::test]
async fn the_cart_grows_refuses_bad_quantities_and_can_be_released() {
    let shop = TestShop::start().await;
    let buyer = shop.browser();
    let ids = items(&shop.base, "summer-festival").await;
    let (saturday, weekend) = (ids["Saturday"].0, ids["Weekend pass"].0);
    buyer.add_to_cart(demo::FESTIVAL, saturday, 1).await;
    let added = buyer.add_to_cart(demo::FESTIVAL, weekend, 1).await;
    assert_eq!(added.status, 303);
    let cart = buyer.get("/demo/summer-festival/cart").await;
    assert!(cart.has("Saturday") && cart.has("Weekend pass") && cart.has("€125.00"), "{}", cart.body);
    let (csrf, idem) = (cart.field("csrf"), cart.field("idem"));
    let (sat, wk) = (format!("item_{saturday}"), format!("item_{weekend}"));
    let more = buyer
        .post(
            "/demo/summer-festival/cart/update",
            &[("csrf", &csrf), ("idem", &idem), (&sat, "3"), (&wk, "1")],
        )
        .await;
    assert_eq!(more.status, 303, "{}", more.body);
    let cart = buyer.get("/demo/summer-festival/cart").await;
    assert!(cart.has("€215.00"), "{}", cart.body);
    let too_many = buyer.post("/demo/summer-festival/cart/update", &[("csrf", &csrf), (&sat, "11")]).await;
    assert_eq!(too_many.status, 422);
    assert!(too_many.has("at most 10"), "{}", too_many.body);
    let nonsense = buyer.post("/demo/summer-festival/cart/update", &[("csrf", &csrf), (&sat, "lots")]).await;
    assert_eq!(nonsense.status, 422);
    // Fewer: taken out of the cart, back on sale at once.
    let cart = buyer.get("/demo/summer-festival/cart").await;
    let (csrf, idem) = (cart.field("csrf"), cart.field("idem"));
    let fewer = buyer
        .post(
            "/demo/summer-festival/cart/update",
            &[("csrf", &csrf), ("idem", &idem), (&sat, "1"), (&wk, "1")],
        )
        .await;
    assert_eq!(fewer.status, 303, "{}", fewer.body);
    let cart = buyer.get("/demo/summer-festival/cart").await;
    assert!(cart.has("€125.00"), "{}", cart.body);
    let more = buyer
        .post(
            "/demo/summer-festival/cart/update",
            &[("csrf", &csrf), ("idem", "again"), (&sat, "3"), (&wk, "1")],
        )
        .await;
    assert_eq!(more.status, 303);
    let nothing = buyer.add_to_cart(demo::FESTIVAL, saturday, 0).await;
    assert_eq!(nothing.status, 422);
    assert!(nothing.has("choose at least one ticket"), "{}", nothing.body);
    let unknown = buyer.add_to_cart(demo::FESTIVAL, 999_999, 1).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let page = buyer.get(demo::FESTIVAL).await;
    assert!(page.has("496 left"), "3 Saturday + 1 weekend pass: {}", page.body);
    let cart = buyer.get("/demo/summer-festival/cart").await;
    let (csrf, idem) = (cart.field("csrf"), cart.field("idem"));
    let empty = buyer
        .post(
            "/demo/summer-festival/cart/update",
            &[("csrf", &csrf), ("idem", &idem), (&sat, "0"), (&wk, "0")],
        )
        .await;
    assert_eq!(empty.status, 303, "{}", empty.body);
    assert!(buyer.get("/demo/summer-festival/cart").await.has("Your cart is empty"));
    let page = buyer.get(demo::FESTIVAL).await;
    assert!(page.has("500 left"), "emptied: {}", page.body);
    buyer.add_to_cart(demo::FESTIVAL, saturday, 4).await;
    let page = buyer.get(demo::FESTIVAL).await;
    assert!(page.has("496 left"), "{}", page.body);
    let release = buyer.post("/demo/summer-festival/cart/release", &[("csrf", &csrf), ("idem", "r1")]).await;
    assert_eq!((release.status, release.location.as_deref()), (303, Some(demo::FESTIVAL)));
    let page = buyer.get(demo::FESTIVAL).await;
    assert!(page.has("500 left"), "released: {}", page.body);
    let cart = buyer.get("/demo/summer-festival/cart").await;
    assert!(cart.has("Your cart is empty"));
    shop.stop().await;
}

#[tokio::test]
async fn an_expired_cart_says_so_and_its_tickets_are_back_on_sale() {
    let config = ShopConfig { hold_ttl_ms: 1_000, ..ShopConfig::default() };
    let shop = TestShop::start_with(config).await;
    let buyer = shop.browser();
    let ids = items(&shop.base, "jazz-night").await;
    buyer.add_to_cart(demo::JAZZ, ids["Standing"].0, 3).await;
    let form = buyer.get("/demo/jazz-night/checkout").await;
    assert_eq!(form.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    let page = buyer.get(demo::JAZZ).await;
    assert!(page.has("200 left"), "a lapsed hold stops counting at once: {}", page.body);
    let cart = buyer.get("/demo/jazz-night/cart").await;
    assert_eq!(cart.status, 409);
    assert!(cart.has("Your cart expired"), "{}", cart.body);
    let late = buyer
        .post(
            "/demo/jazz-night/checkout",
            &[
                ("csrf", &form.field("csrf")),
                ("idem", &form.field("idem")),
                ("name", "A"),
                ("email", "a@b.c"),
            ],
        )
        .await;
    assert!(late.status == 200 || late.status == 409, "{}", late.body);
    assert!(late.has("Your cart is empty") || late.has("expired"), "{}", late.body);
    shop.stop().await;
}

#[tokio::test]
async fn checkout_refuses_a_bad_name_or_email_and_keeps_what_was_typed() {
    let shop = TestShop::start().await;
    let buyer = shop.browser();
    let ids = items(&shop.base, "jazz-night").await;
    buyer.add_to_cart(demo::JAZZ, ids["Standing"].0, 1).await;
    let form = buyer.get("/demo/jazz-night/checkout").await;
    let csrf = form.field("csrf");
    let long = "x".repeat(300);
    for (name, email) in
        [("", "a@b.c"), ("Ada", "not-an-email"), ("Ada", "a b@c.d"), (long.as_str(), "a@b.c")]
    {
        let page = buyer
            .post("/demo/jazz-night/checkout", &[("csrf", &csrf), ("name", name), ("email", email)])
            .await;
        assert_eq!(page.status, 422, "{name:?} {email:?}: {}", page.body);
        assert!(page.has("Please give"), "{}", page.body);
    }
    let page = buyer
        .post("/demo/jazz-night/checkout", &[("csrf", &csrf), ("name", "Ada <b>"), ("email", "bad")])
        .await;
    assert!(page.has("value=\"Ada &") && !page.has("Ada <b>"), "escaped and kept: {}", page.body);
    shop.stop().await;
}

#[tokio::test]
async fn the_admin_logs_in_creates_an_event_with_items_quotas_and_a_list_and_runs_it() {
    let shop = TestShop::start().await;
    let admin = shop.browser();
    let redirect = admin.get("/admin/").await;
    assert_eq!(redirect.status, 303);
    let login = admin.get("/admin/login").await;
    let wrong = admin.post("/admin/login", &[("csrf", &login.field("csrf")), ("password", "guess")]).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.has("Wrong password"));
    let open_redirect = admin
        .post(
            "/admin/login",
            &[
                ("csrf", &login.field("csrf")),
                ("password", common::ADMIN_PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(open_redirect.location.as_deref(), Some("/admin/"));
    let index = admin.get("/admin/").await;
    assert_eq!(index.status, 200);
    assert!(index.has("Summer Festival 2026"));
    let (csrf, idem) = (index.field("csrf"), index.field("idem"));
    let created = admin
        .post(
            "/admin/events",
            &[
                ("csrf", &csrf),
                ("idem", &idem),
                ("org", "demo"),
                ("name", "Rock Night"),
                ("slug", "rock-night"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let event_url = created.location.unwrap();
    let taken = admin
        .post(
            "/admin/events",
            &[("csrf", &csrf), ("idem", "other"), ("org", "demo"), ("name", "Again"), ("slug", "rock-night")],
        )
        .await;
    assert_eq!(taken.status, 409);
    assert!(taken.has("already used"), "{}", taken.body);
    let event_id: u64 = event_url.trim_start_matches("/admin/events/").trim_end_matches('/').parse().unwrap();
    let item = admin
        .post(
            &format!("/admin/events/{event_id}/items"),
            &[("csrf", &csrf), ("idem", "i1"), ("name", "Floor"), ("price_cents", "3000")],
        )
        .await;
    assert_eq!(item.status, 303, "{}", item.body);
    let page = admin.get(&event_url).await;
    assert!(page.has("Floor"), "{}", page.body);
    let start = page.body.find("name=\"item\" value=\"").unwrap() + "name=\"item\" value=\"".len();
    let item_id = page.body[start..start + page.body[start..].find('"').unwrap()].to_owned();
    let quota = admin
        .post(
            &format!("/admin/events/{event_id}/quotas"),
            &[("csrf", &csrf), ("idem", "q1"), ("name", "Floor"), ("size", "2"), ("item", &item_id)],
        )
        .await;
    assert_eq!(quota.status, 303, "{}", quota.body);
    let list = admin
        .post(
            &format!("/admin/events/{event_id}/checkinlists"),
            &[("csrf", &csrf), ("idem", "l1"), ("name", "Gate")],
        )
        .await;
    assert_eq!(list.status, 303);
    let shop_page = shop.browser().get("/demo/rock-night/").await;
    assert!(shop_page.has("Floor") && shop_page.has("2 left"), "{}", shop_page.body);
    let page = admin.get(&event_url).await;
    let start = page.body.find("id=\"quota-").unwrap() + "id=\"quota-".len();
    let quota_id = page.body[start..start + page.body[start..].find('"').unwrap()].to_owned();
    let resize = admin
        .post(
            &format!("/admin/quotas/{quota_id}/resize"),
            &[("csrf", &csrf), ("idem", "r1"), ("size", "5"), ("event", &event_id.to_string())],
        )
        .await;
    assert_eq!(resize.status, 303, "{}", resize.body);
    assert!(shop.browser().get("/demo/rock-night/").await.has("5 left"));
    let close =
        admin.post(&format!("/admin/quotas/{quota_id}/close"), &[("csrf", &csrf), ("idem", "c1")]).await;
    assert_eq!(close.status, 303);
    assert!(shop.browser().get("/demo/rock-night/").await.has("not on sale"));
    let reopen =
        admin.post(&format!("/admin/quotas/{quota_id}/reopen"), &[("csrf", &csrf), ("idem", "o1")]).await;
    assert_eq!(reopen.status, 303);
    assert!(shop.browser().get("/demo/rock-night/").await.has("5 left"));
    let bad =
        admin.post(&format!("/admin/quotas/{quota_id}/resize"), &[("csrf", &csrf), ("size", "-3")]).await;
    assert_eq!(bad.status, 422);
    let unknown = admin.post("/admin/quotas/999999/close", &[("csrf", &csrf)]).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    // The log shows what happened, newest page first, paged.
    let log = admin.get("/admin/log").await;
    assert_eq!(log.status, 200);
    assert!(log.has("accepted/event_created") && log.has("QuotaReopened"), "{}", log.body);
    let first = admin.get("/admin/log?from=1").await;
    assert!(first.has("OrganizerCreated") && first.has("Records 1 to"), "{}", first.body);
    // Logging out ends it.
    let out = admin.post("/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(admin.get("/admin/").await.status, 303);
    shop.stop().await;
}

#[tokio::test]
async fn a_forged_or_expired_admin_cookie_is_no_login() {
    let shop = TestShop::start().await;
    let admin = shop.browser();
    admin.get("/admin/login").await;
    admin.set_cookie("bo_admin", "99999999999999.00000000000000000000000000000000");
    assert_eq!(admin.get("/admin/").await.status, 303);
    admin.set_cookie("bo_admin", &{
        let keys = boxoffice_shop::tokens::Keys::new([42; 32]);
        keys.sign("admin", "1000")
    });
    assert_eq!(admin.get("/admin/").await.status, 303, "expired in 1970");
    shop.stop().await;
}

#[tokio::test]
async fn the_queue_page_without_a_queue_cookie_sends_the_visitor_to_the_event() {
    let shop = TestShop::start().await;
    let buyer = shop.browser();
    let page = buyer.get("/demo/jazz-night/queue").await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some(demo::JAZZ)));
    buyer.set_cookie("bo_queue_9", "1.00000000000000000000000000000000");
    let page = buyer.get("/demo/jazz-night/queue").await;
    assert_eq!(page.status, 303, "a forged queue cookie is no place in line");
    shop.stop().await;
}

#[tokio::test]
async fn health_ready_and_metrics_by_route() {
    let shop = TestShop::start().await;
    let browser = shop.browser();
    assert_eq!(browser.get("/health").await.status, 200);
    assert_eq!(browser.get("/ready").await.status, 200);
    browser.get(demo::JAZZ).await;
    browser.get("/demo/no-such-event/").await;
    let metrics = browser.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.has("shop_http_requests_total{method=\"GET\",route=\"/:org/:event/\",status=\"200\"}"),
        "{}",
        metrics.body
    );
    assert!(
        metrics.has("shop_http_errors_total{code=\"not_found\",route=\"/:org/:event/\"}"),
        "{}",
        metrics.body
    );
    assert!(metrics.has("shop_http_request_duration_seconds_bucket"));
    shop.stop().await;
}

#[tokio::test]
async fn guessing_the_admin_password_is_refused_for_the_rest_of_the_minute_after_ten_failures() {
    let shop = TestShop::start().await;
    let admin = shop.browser();
    // The guard counts per wall-clock minute: start well inside one.
    let into_minute_ms = boxoffice_shop::waiting_room::wall_ms() % 60_000;
    if into_minute_ms > 50_000 {
        tokio::time::sleep(std::time::Duration::from_millis(60_100 - into_minute_ms)).await;
    }
    let csrf = admin.get("/admin/login").await.field("csrf");
    for guess in 0..boxoffice_shop::config::ADMIN_LOGIN_FAILURES_PER_MINUTE_MAX {
        let wrong =
            admin.post("/admin/login", &[("csrf", &csrf), ("password", &format!("guess {guess}"))]).await;
        assert_eq!(wrong.status, 401, "{}", wrong.body);
    }
    let right = admin.post("/admin/login", &[("csrf", &csrf), ("password", common::ADMIN_PASSWORD)]).await;
    assert_eq!(right.status, 429, "even the right password waits: {}", right.body);
    assert!(right.has("Too many failed logins"), "{}", right.body);
    assert!(!right.set_cookies.iter().any(|c| c.starts_with("bo_admin=")), "no admin cookie");
    assert_eq!(admin.get("/admin/").await.status, 303, "still logged out");
    shop.stop().await;
}

/// The seat ids a page offers to choose (`name="seat" value="N"` checkboxes).
fn free_seats(page: &common::Page) -> Vec<String> {
    page.body
        .split("name=\"seat\" value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn the_event_page_shows_seats_and_a_buyer_holds_free_ones_but_never_a_taken_one() {
    let shop = TestShop::start().await;
    let first = shop.browser();
    let page = first.get(demo::JAZZ).await;
    assert_eq!(page.status, 200);
    assert!(page.has("Choose your seats") && page.has("Row A") && page.has("Row B"), "{}", page.body);
    assert!(page.has("action=\"/demo/jazz-night/cart/seats\""));
    let seats = free_seats(&page);
    assert_eq!(seats.len(), 20, "the balcony's two rows of ten");
    let form = |page: &common::Page, seats: &[&str]| -> Vec<(String, String)> {
        let mut form = vec![("csrf".to_owned(), page.field("csrf")), ("idem".to_owned(), page.field("idem"))];
        form.extend(seats.iter().map(|seat| ("seat".to_owned(), (*seat).to_owned())));
        form
    };
    let post = |browser: &Browser, form: Vec<(String, String)>| {
        let browser = browser.clone();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            browser.post("/demo/jazz-night/cart/seats", &form).await
        }
    };

    // Two free seats become the cart.
    let held = post(&first, form(&page, &[&seats[4], &seats[5]])).await;
    assert_eq!(
        (held.status, held.location.as_deref()),
        (303, Some("/demo/jazz-night/cart")),
        "{}",
        held.body
    );
    let cart = first.get("/demo/jazz-night/cart").await;
    assert!(cart.has("Balcony"), "{}", cart.body);
    let labels: Vec<&str> = cart
        .body
        .match_indices("<li class=\"seat-label\">")
        .map(|(i, m)| {
            let rest = &cart.body[i + m.len()..];
            &rest[..rest.find('<').unwrap()]
        })
        .collect();
    assert_eq!(labels, ["Balcony, row A, seat 5", "Balcony, row A, seat 6"], "{}", cart.body);
    assert!(!cart.has("Update quantities"), "a seated cart cannot change: {}", cart.body);

    // Another buyer sees them taken, and cannot have them even by forging the form.
    let second = shop.browser();
    let page = second.get(demo::JAZZ).await;
    let left = free_seats(&page);
    assert_eq!(left.len(), 18);
    assert!(!left.contains(&seats[4]) && !left.contains(&seats[5]));
    assert!(page.has(&format!("id=\"seat-{}\" title=\"taken\"", seats[4])), "{}", page.body);
    let taken = post(&second, form(&page, &[&seats[5]])).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert!(taken.has("Someone else just took"), "{}", taken.body);

    // Bad forms: no seat, too many, not a seat; none of them holds anything.
    let page = second.get(demo::JAZZ).await;
    let none = post(&second, form(&page, &[])).await;
    assert_eq!(none.status, 422, "{}", none.body);
    assert!(none.has("choose at least one seat"), "{}", none.body);
    let eleven: Vec<&str> = left.iter().take(11).map(String::as_str).collect();
    let too_many = post(&second, form(&page, &eleven)).await;
    assert_eq!(too_many.status, 422, "{}", too_many.body);
    let nonsense = post(&second, form(&page, &["seven"])).await;
    assert_eq!(nonsense.status, 422, "{}", nonsense.body);
    assert_eq!(free_seats(&second.get(demo::JAZZ).await).len(), 18, "bad forms held nothing");

    // A buyer whose cart is live is asked to finish it first.
    let page = first.get(demo::JAZZ).await;
    let again = post(&first, form(&page, &[&left[0]])).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.has("already have tickets in your cart"), "{}", again.body);

    // The order names the seats, pending and paid.
    let form = first.get("/demo/jazz-night/checkout").await;
    let placed = first
        .post(
            "/demo/jazz-night/checkout",
            &[
                ("csrf", &form.field("csrf")),
                ("idem", &form.field("idem")),
                ("name", "Ada"),
                ("email", "ada@example.org"),
            ],
        )
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let order_url = placed.location.clone().unwrap();
    let order = first.get(&order_url).await;
    assert!(
        order.has("Balcony, row A, seat 5</span>; <span class=\"seat-label\">Balcony, row A, seat 6"),
        "{}",
        order.body
    );
    let pay = first
        .post(&format!("{order_url}/pay"), &[("csrf", &order.field("csrf")), ("idem", &order.field("idem"))])
        .await;
    assert_eq!(pay.status, 303, "{}", pay.body);
    let paid = first.get(&order_url).await;
    assert!(paid.has("Paid") && paid.has("Balcony, row A, seat 6"), "{}", paid.body);
    shop.stop().await;
}

/// A one-ticket event of the demo organizer, for waiting-list pages: its item id.
async fn one_ticket_event(shop: &TestShop, slug: &str) -> u64 {
    use boxoffice_shop::inventory::domain::{Accepted, Command, EventId, OrganizerId};
    let (organizer, _) = shop.state.inventory.organizer("demo").await.unwrap();
    let run = |command: Command| async move {
        match shop.client.submit(command).await.unwrap().outcome {
            boxoffice_shop::inventory::domain::Outcome::Accepted(accepted) => accepted,
            rejected => panic!("{rejected:?}"),
        }
    };
    let Accepted::EventCreated { event } = run(Command::CreateEvent {
        organizer: OrganizerId(organizer),
        slug: slug.into(),
        name: "Tiny gig".into(),
    })
    .await
    else {
        panic!("no event")
    };
    let Accepted::ItemCreated { item } =
        run(Command::CreateItem { event, name: "Front row".into(), price_cents: 1_000 }).await
    else {
        panic!("no item")
    };
    run(Command::CreateQuota {
        event: EventId(event.0),
        name: "Front".into(),
        size: Some(1),
        items: vec![item],
        close_when_sold_out: false,
    })
    .await;
    item.0
}

/// The entry page a join redirected to, and the page.
async fn join_waiting_list(browser: &Browser, event_path: &str, item: u64) -> (String, common::Page) {
    let page = browser.get(event_path).await;
    let joined = browser
        .post(
            &format!("{event_path}waitlist/join"),
            &[("csrf", &page.field("csrf")), ("idem", &page.field("idem")), ("item", &item.to_string())],
        )
        .await;
    assert_eq!(joined.status, 303, "{}", joined.body);
    let entry_url = joined.location.clone().unwrap();
    (entry_url.clone(), browser.get(&entry_url).await)
}

#[tokio::test]
async fn a_sold_out_item_has_a_waiting_list_that_offers_freed_tickets_in_order_and_claims_into_the_cart() {
    let shop = TestShop::start().await;
    let item = one_ticket_event(&shop, "tiny-gig").await;
    let event_path = "/demo/tiny-gig/";
    let (first, second, third) = (shop.browser(), shop.browser(), shop.browser());

    // While a ticket is left there is no button, and a forged join is refused.
    let page = second.get(event_path).await;
    assert!(page.has("1 left") && !page.has("Join the waiting list"), "{}", page.body);
    let early = second
        .post(
            &format!("{event_path}waitlist/join"),
            &[("csrf", &page.field("csrf")), ("idem", &page.field("idem")), ("item", &item.to_string())],
        )
        .await;
    assert_eq!(early.status, 409, "{}", early.body);
    assert!(early.has("is not sold out"), "{}", early.body);

    // The first buyer takes the only ticket: the item is sold out and has the button.
    assert_eq!(first.add_to_cart(event_path, item, 1).await.status, 303);
    let page = second.get(event_path).await;
    assert!(page.has("sold out") && page.has(&format!("id=\"waitlist-{item}\"")), "{}", page.body);

    // Two buyers join, in this order.
    let (second_url, second_page) = join_waiting_list(&second, event_path, item).await;
    assert!(second_url.starts_with("/demo/tiny-gig/waitlist/"), "{second_url}");
    assert!(
        second_page.has("data-state=\"waiting\"") && second_page.has("<strong id=\"position\">1</strong>")
    );
    assert!(second_page.has("http-equiv=\"refresh\""), "a waiting page reloads itself");
    let (third_url, third_page) = join_waiting_list(&third, event_path, item).await;
    assert!(third_page.has("<strong id=\"position\">2</strong>"), "{}", third_page.body);

    // Only the entry's token opens its page; another entry's token does not.
    let (prefix, _) = second_url.rsplit_once('/').unwrap();
    let (_, third_token) = third_url.rsplit_once('/').unwrap();
    for forged in
        [format!("{prefix}/{third_token}"), format!("{prefix}/00"), "/demo/tiny-gig/waitlist/x/y".into()]
    {
        assert_eq!(second.get(&forged).await.status, 404, "{forged}");
    }
    assert_eq!(
        second.get(&second_url.replace("tiny-gig", "jazz-night")).await.status,
        404,
        "another event's"
    );

    // The first buyer empties the cart: the ticket is offered to the first in line only.
    let cart = first.get(&format!("{event_path}cart")).await;
    let released = first
        .post(&format!("{event_path}cart/release"), &[("csrf", &cart.field("csrf")), ("idem", "r1")])
        .await;
    assert_eq!(released.status, 303, "{}", released.body);
    let offered = second.get(&second_url).await;
    assert!(offered.has("data-state=\"offered\"") && offered.has("id=\"claim\""), "{}", offered.body);
    let still = third.get(&third_url).await;
    assert!(still.has("<strong id=\"position\">1</strong>"), "{}", still.body);
    let page = first.get(event_path).await;
    assert!(page.has("sold out"), "the offered ticket is not for sale to newcomers: {}", page.body);

    // The third cannot claim what it was not offered.
    let refused = third
        .post(
            &format!("{third_url}/claim"),
            &[("csrf", &still.field("csrf")), ("idem", &still.field("idem"))],
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.has("data-state=\"waiting\""), "{}", refused.body);

    // The second claims: the ticket is its cart.
    let claimed = second
        .post(
            &format!("{second_url}/claim"),
            &[("csrf", &offered.field("csrf")), ("idem", &offered.field("idem"))],
        )
        .await;
    assert_eq!(
        (claimed.status, claimed.location.as_deref()),
        (303, Some("/demo/tiny-gig/cart")),
        "{}",
        claimed.body
    );
    let cart = second.get(&format!("{event_path}cart")).await;
    assert!(cart.has("Front row"), "{}", cart.body);
    assert!(second.get(&second_url).await.has("data-state=\"claimed\""));

    // The third leaves the line.
    let left = third
        .post(
            &format!("{third_url}/leave"),
            &[("csrf", &still.field("csrf")), ("idem", &still.field("idem"))],
        )
        .await;
    assert_eq!(left.status, 303, "{}", left.body);
    assert!(third.get(&third_url).await.has("data-state=\"left\""));
    shop.stop().await;
}

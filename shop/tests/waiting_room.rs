//! The waiting room over real HTTP, with its queue in the engine: a burst
//! is queued and admitted first come, first served, at the configured
//! rate; a dry run only records; two shops on one engine share one queue.

mod common;

use boxoffice_shop::inventory::Consistency;
use boxoffice_shop::inventory::domain::EventId;
use common::{Browser, TestShop, demo};
use std::time::{Duration, Instant};

/// Configure the jazz night's room on the admin page.
async fn configure(
    shop: &TestShop,
    admin: &Browser,
    admit_per_minute: &str,
    arrivals: &str,
    dry_run: bool,
) -> u64 {
    let org = shop.state.inventory.organizer("demo").await.unwrap().0;
    let event = shop.state.inventory.event_by_slug(org, "jazz-night").await.unwrap().id;
    let page = admin.get(&format!("/admin/events/{event}/")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut form = vec![
        ("csrf", page.field("csrf")),
        ("idem", page.field("idem")),
        ("admit_per_minute", admit_per_minute.to_owned()),
        ("arrivals_per_second_max", arrivals.to_owned()),
        ("in_flight_max", "1000".to_owned()),
    ];
    if dry_run {
        form.push(("dry_run", "1".to_owned()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = admin.post(&format!("/admin/events/{event}/waiting-room"), &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    // Each shop reads a room at most once a second.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    event
}

fn queued(page: &common::Page) -> bool {
    page.status == 303 && page.location.as_deref() == Some("/demo/jazz-night/queue")
}

#[tokio::test]
async fn a_burst_is_queued_and_admitted_first_come_first_served_at_the_configured_rate() {
    let shop = TestShop::start().await;
    let admin = shop.browser();
    admin.login().await;
    let event = configure(&shop, &admin, "120", "1", false).await;
    // A quiet visitor before the burst is let in and keeps shopping.
    let early = shop.browser();
    assert_eq!(early.get(demo::JAZZ).await.status, 200);
    assert!(early.cookie(&format!("bo_admit_{event}")).is_some(), "admitted while calm");
    let mut waiting = Vec::new();
    for _ in 0..6 {
        let visitor = shop.browser();
        let page = visitor.get(demo::JAZZ).await;
        if queued(&page) {
            waiting.push(visitor);
        } else {
            assert_eq!(page.status, 200, "{}", page.body);
        }
    }
    assert!(waiting.len() >= 5, "past one arrival a second newcomers queue: {} queued", waiting.len());
    // The early visitor is not thrown out.
    assert_eq!(early.get(demo::JAZZ).await.status, 200);
    // The queue page: position and wait, and it reloads itself.
    let page = waiting.last().unwrap().get("/demo/jazz-night/queue").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("http-equiv=\"refresh\"") && page.has("people ahead of you"), "{}", page.body);
    // Admission, in order, at 2 a minute... a second.
    let started = Instant::now();
    let mut admitted_at = vec![None; waiting.len()];
    while admitted_at.iter().any(Option::is_none) {
        assert!(started.elapsed() < Duration::from_secs(20), "everyone is admitted in time");
        for (i, visitor) in waiting.iter().enumerate() {
            if admitted_at[i].is_some() {
                continue;
            }
            let page = visitor.get("/demo/jazz-night/queue").await;
            if page.status == 303 {
                assert_eq!(page.location.as_deref(), Some(demo::JAZZ));
                admitted_at[i] = Some(started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let times: Vec<Duration> = admitted_at.into_iter().map(Option::unwrap).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "first come, first served: {times:?}");
    let spread = times[times.len() - 1] - times[0];
    let expected = Duration::from_millis(500 * (times.len() as u64 - 1));
    assert!(spread + Duration::from_millis(1_200) >= expected, "not all at once: {times:?}");
    for visitor in &waiting {
        assert_eq!(visitor.get(demo::JAZZ).await.status, 200, "admitted visitors shop");
    }
    // Another event is not queued at all.
    assert_eq!(shop.browser().get(demo::FESTIVAL).await.status, 200);
    let metrics = admin.get("/metrics").await;
    assert!(
        metrics.has(&format!("shop_waiting_room_admissions_total{{event=\"{event}\"}}")),
        "{}",
        metrics.body
    );
    shop.stop().await;
}

#[tokio::test]
async fn a_dry_run_lets_everyone_in_and_records_who_would_have_queued() {
    let shop = TestShop::start().await;
    let admin = shop.browser();
    admin.login().await;
    let event = configure(&shop, &admin, "60", "1", true).await;
    for _ in 0..5 {
        let page = shop.browser().get(demo::JAZZ).await;
        assert_eq!(page.status, 200, "a dry run queues no one");
    }
    let metrics = admin.get("/metrics").await;
    let line =
        format!("shop_waiting_room_decisions_total{{decision=\"queue\",event=\"{event}\",mode=\"dry_run\"}}");
    assert!(metrics.has(&line), "{}", metrics.body);
    let room = shop.client.waiting_room(EventId(event), Consistency::Linearizable).await.unwrap().unwrap();
    assert_eq!(room.joined, 0, "no one joined the queue");
    shop.stop().await;
}

#[tokio::test]
async fn two_shops_on_one_engine_share_one_queue_and_honour_each_others_cookies() {
    let first = TestShop::start().await;
    let second = first.second().await;
    let admin = first.browser();
    admin.login().await;
    let event = configure(&first, &admin, "6", "1", false).await;
    // Fill the calm slot, then queue one visitor at each shop.
    let _ = first.browser().get(demo::JAZZ).await;
    let _ = second.browser().get(demo::JAZZ).await;
    let a = first.browser();
    let b = second.browser();
    assert!(queued(&a.get(demo::JAZZ).await) || queued(&a.get(demo::JAZZ).await));
    assert!(queued(&b.get(demo::JAZZ).await) || queued(&b.get(demo::JAZZ).await));
    let keys = &first.state.keys;
    let position = |browser: &Browser| {
        let cookie = browser.cookie(&format!("bo_queue_{event}")).unwrap();
        boxoffice_shop::waiting_room::tickets::queue_position(keys, event, &cookie).unwrap()
    };
    let (pa, pb) = (position(&a), position(&b));
    assert_ne!(pa, pb, "one queue, distinct places");
    // A's queue cookie, taken to the other shop, is the same place in line there.
    let moved = Browser::new(&second.base);
    moved.set_cookie(&format!("bo_queue_{event}"), &a.cookie(&format!("bo_queue_{event}")).unwrap());
    let page = moved.get("/demo/jazz-night/queue").await;
    assert!(page.status == 200 || page.status == 303, "{}", page.body);
    let room = second.client.waiting_room(EventId(event), Consistency::Linearizable).await.unwrap().unwrap();
    assert!(room.joined >= pa.max(pb));
    second.stop_server().await;
    first.stop().await;
}

//! The load generator end to end on an embedded engine: the scenarios run,
//! stop by themselves, and the end-of-run check agrees with what was sold.
//! No assertion on speed: these run on a busy CI machine.

use boxoffice_benches::load::{Load, RunConfig, Scenario, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flash_sale_sells_out_a_small_quota_exactly() {
    let mut config = RunConfig::new(Scenario::Flash);
    config.quota_size = 200;
    config.load = Load::Closed { clients: 16 };
    config.secs = 2;
    let report = run(config).await.expect("the run is made");
    assert!(report.invariant_ok, "{}", report.table());
    assert_eq!(report.sold, Some(200), "{}", report.table());
    assert_eq!(report.completed, 200, "{}", report.table());
    assert!(report.errors.get("sold_out").is_some_and(|&n| n >= 1), "{}", report.table());
    assert_eq!(report.system, "boxoffice-embedded");
    assert_eq!(report.loop_kind, "closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_sells_on_schedule_and_the_books_agree() {
    let mut config = RunConfig::new(Scenario::Flash);
    config.load = Load::Open { rate_per_sec: 200 };
    config.secs = 2;
    let report = run(config).await.expect("the run is made");
    assert!(report.completed > 0, "{}", report.table());
    assert!(report.invariant_ok, "{}", report.table());
    assert_eq!(report.sold, Some(report.completed), "{}", report.table());
    assert_eq!(report.loop_kind, "open");
    assert_eq!(report.rate, Some(200));
}

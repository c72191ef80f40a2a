//! What a run tested, for people: plots like Jepsen's (latency of every
//! operation over time, and throughput over time, with the fault windows
//! shaded; SVG via plotters, so they render anywhere and need no system
//! libraries), and per quota when it sold out and how many decided
//! operations fell inside fault windows.
//!
//! The second part is there because a run can pass every checker and still
//! test nothing under faults: a quota that sold out before the first fault
//! answers "sold out" to everything after, which no fault can break. The
//! summary makes that visible.

use crate::checker::model_history;
use crate::history::{NEMESIS_PROCESS, Op, Phase, Value};
use boxoffice_engine::domain::{Event, Outcome, QuotaId, Record, Rejection};
use plotters::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Plot width, in pixels.
const WIDTH_PX: u32 = 1200;
/// Plot height, in pixels.
const HEIGHT_PX: u32 = 500;

/// A completed operation: when it started and ended (seconds since the start) and how.
struct Completed {
    start_s: f64,
    latency_ms: f64,
    phase: Phase,
}

fn completed(history: &[Op]) -> Vec<Completed> {
    let mut invoked: BTreeMap<u64, u64> = BTreeMap::new();
    let mut out = Vec::new();
    for op in history.iter().filter(|op| op.process != NEMESIS_PROCESS) {
        match op.phase {
            Phase::Invoke => {
                invoked.insert(op.process, op.time_ns);
            }
            phase => {
                if let Some(start) = invoked.remove(&op.process) {
                    out.push(Completed {
                        start_s: start as f64 / 1e9,
                        latency_ms: (op.time_ns.saturating_sub(start)) as f64 / 1e6,
                        phase,
                    });
                }
            }
        }
    }
    out
}

pub use crate::history::fault_windows_ns;

/// Fault windows in seconds, for the plots.
fn fault_windows(history: &[Op]) -> Vec<(f64, f64, String)> {
    fault_windows_ns(history).into_iter().map(|(a, b, what)| (a as f64 / 1e9, b as f64 / 1e9, what)).collect()
}

fn color(phase: Phase) -> RGBColor {
    match phase {
        Phase::Ok => RGBColor(30, 120, 200),
        Phase::Fail => RGBColor(220, 120, 20),
        _ => RGBColor(200, 30, 30),
    }
}

/// Write `latency.svg` and `throughput.svg` into `dir`.
pub fn plots(history: &[Op], dir: &Path) -> anyhow::Result<()> {
    let ops = completed(history);
    let windows = fault_windows(history);
    let end_s = history.last().map_or(1.0, |op| op.time_ns as f64 / 1e9).max(1.0);
    let max_latency = ops.iter().map(|o| o.latency_ms).fold(1.0, f64::max) * 1.2;

    let path = dir.join("latency.svg");
    let root = SVGBackend::new(&path, (WIDTH_PX, HEIGHT_PX)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "latency of every operation (blue ok, orange fail, red unknown; grey: faults)",
            ("sans-serif", 16),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..end_s, (0.1..max_latency).log_scale())?;
    chart.configure_mesh().x_desc("time (s)").y_desc("latency (ms)").draw()?;
    for (start, stop, _) in &windows {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(*start, 0.1), (*stop, max_latency)],
            RGBColor(200, 200, 200).mix(0.4).filled(),
        )))?;
    }
    for phase in [Phase::Ok, Phase::Fail, Phase::Info] {
        let points = ops.iter().filter(|o| o.phase == phase).map(|o| (o.start_s, o.latency_ms.max(0.1)));
        chart.draw_series(points.map(|p| Circle::new(p, 1, color(phase).filled())))?;
    }
    root.present()?;

    let path = dir.join("throughput.svg");
    let root = SVGBackend::new(&path, (WIDTH_PX, HEIGHT_PX)).into_drawing_area();
    root.fill(&WHITE)?;
    let buckets = end_s.ceil() as usize + 1;
    let mut per_second: BTreeMap<Phase2, Vec<u32>> = BTreeMap::new();
    for op in &ops {
        let counts = per_second.entry(Phase2(op.phase)).or_insert_with(|| vec![0; buckets]);
        counts[(op.start_s as usize).min(buckets - 1)] += 1;
    }
    let max_rate = per_second.values().flatten().copied().max().unwrap_or(1) as f64 * 1.2;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "completed operations per second (blue ok, orange fail, red unknown; grey: faults)",
            ("sans-serif", 16),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..end_s, 0.0..max_rate)?;
    chart.configure_mesh().x_desc("time (s)").y_desc("operations/s").draw()?;
    for (start, stop, _) in &windows {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(*start, 0.0), (*stop, max_rate)],
            RGBColor(200, 200, 200).mix(0.4).filled(),
        )))?;
    }
    for (phase, counts) in &per_second {
        let line = counts.iter().enumerate().map(|(s, n)| (s as f64, f64::from(*n)));
        chart.draw_series(LineSeries::new(line, color(phase.0).stroke_width(2)))?;
    }
    root.present()?;
    Ok(())
}

/// What one quota saw during a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuotaTimeline {
    /// Its size (`None`: unlimited).
    pub size: Option<u64>,
    /// The first `ok` hold on it, in ns since the start.
    pub first_sale_ns: Option<u64>,
    /// The first decided sold-out answer naming it, in ns since the start.
    pub sold_out_ns: Option<u64>,
    /// Decided completions (ok or fail) of operations on it.
    pub decided: Decided,
    /// Those that completed inside a fault window.
    pub in_faults: Decided,
}

/// Decided completions (ok or fail, not info), by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decided {
    /// `ok`.
    pub ok: usize,
    /// `fail` with a domain rejection (sold out, hold expired, ...).
    pub rejected: usize,
    /// `fail` refused before proposing (no leader, invalid).
    pub refused: usize,
}

impl Decided {
    /// All of them.
    pub fn total(&self) -> usize {
        self.ok + self.rejected + self.refused
    }

    fn count(&mut self, op: &Op) {
        match op.phase {
            Phase::Ok => self.ok += 1,
            Phase::Fail if op.outcome.as_deref().is_some_and(crate::checker::is_domain_label) => {
                self.rejected += 1
            }
            Phase::Fail => self.refused += 1,
            Phase::Invoke | Phase::Info => {}
        }
    }
}

/// Per quota of the final log: when it first sold and sold out, and its
/// decided operations inside and outside fault windows; plus the totals of
/// every decided client operation (any quota or none).
pub fn quota_timelines(
    history: &[Op],
    records: &[Record],
) -> (BTreeMap<QuotaId, QuotaTimeline>, Decided, Decided) {
    let mut timelines: BTreeMap<QuotaId, QuotaTimeline> = BTreeMap::new();
    let mut item_quotas: BTreeMap<u64, Vec<QuotaId>> = BTreeMap::new();
    let mut refused_by: BTreeMap<String, QuotaId> = BTreeMap::new();
    for record in records {
        if let Outcome::Rejected(Rejection::SoldOut { quota, .. }) = &record.outcome {
            refused_by.insert(record.request_id.to_string(), *quota);
        }
        for event in &record.events {
            if let Event::QuotaCreated { quota, size, items, .. } = event {
                timelines.entry(*quota).or_default().size = *size;
                for item in items {
                    item_quotas.entry(item.0).or_default().push(*quota);
                }
            }
        }
    }
    let model = model_history(history);
    let quotas_of = |lines: &[(u64, u32)]| -> BTreeSet<QuotaId> {
        lines.iter().flat_map(|(item, _)| item_quotas.get(item).into_iter().flatten().copied()).collect()
    };
    // Holds and orders by id, from the answers.
    let mut hold_lines: BTreeMap<u64, &[(u64, u32)]> = BTreeMap::new();
    let mut order_hold: BTreeMap<u64, u64> = BTreeMap::new();
    for op in model.iter().filter(|op| op.phase == Phase::Ok) {
        match &op.value {
            Value::Hold { lines, hold: Some(hold), .. } => {
                hold_lines.insert(*hold, lines);
            }
            Value::Checkout { hold, order: Some(order), .. } => {
                order_hold.insert(*order, *hold);
            }
            _ => {}
        }
    }
    let windows = fault_windows_ns(history);
    let in_fault = |at: u64| windows.iter().any(|(start, end, _)| (*start..=*end).contains(&at));
    let (mut all, mut all_in_faults) = (Decided::default(), Decided::default());
    for op in model.iter().filter(|op| crate::checker::is_client_completion(op)) {
        if !matches!(op.phase, Phase::Ok | Phase::Fail) {
            continue;
        }
        let faulted = in_fault(op.time_ns);
        all.count(op);
        if faulted {
            all_in_faults.count(op);
        }
        let sold_out = op.outcome.as_deref() == Some("rejected/sold_out");
        let named = refused_by.get(&op.request_id).filter(|_| sold_out).copied();
        let lines = match &op.value {
            Value::Hold { lines, .. } => Some(&lines[..]),
            Value::Checkout { hold, .. } | Value::Release { hold } => hold_lines.get(hold).copied(),
            Value::Pay { order, .. } | Value::Cancel { order } => {
                order_hold.get(order).and_then(|hold| hold_lines.get(hold)).copied()
            }
            _ => None,
        };
        let quotas = match (named, lines) {
            (Some(quota), _) => BTreeSet::from([quota]),
            (None, Some(lines)) => quotas_of(lines),
            (None, None) => BTreeSet::new(),
        };
        for quota in quotas {
            let timeline = timelines.entry(quota).or_default();
            timeline.decided.count(op);
            if faulted {
                timeline.in_faults.count(op);
            }
            if sold_out {
                timeline.sold_out_ns.get_or_insert(op.time_ns);
            }
            if op.phase == Phase::Ok && matches!(op.value, Value::Hold { .. }) {
                timeline.first_sale_ns.get_or_insert(op.time_ns);
            }
        }
    }
    (timelines, all, all_in_faults)
}

/// The per-quota lines of the summary and the total "decided inside fault windows" line.
pub fn timeline_report(history: &[Op], records: &[Record]) -> String {
    let (timelines, all, in_faults) = quota_timelines(history, records);
    let windows = fault_windows_ns(history);
    let fault_ns: u64 = windows.iter().map(|(a, b, _)| b - a).sum();
    let seconds = |ns: Option<u64>| ns.map_or("never".to_string(), |ns| format!("{:.1} s", ns as f64 / 1e9));
    let split = |d: &Decided| format!("ok {}, rejected {}, refused {}", d.ok, d.rejected, d.refused);
    let mut out = format!(
        "fault windows: {} ({:.1} s in all)\nquotas (sold out: seconds into the run; decided ops: ok or fail, not info):\n",
        windows.len(),
        fault_ns as f64 / 1e9
    );
    for (quota, t) in &timelines {
        let size = t.size.map_or("unlimited".to_string(), |s| s.to_string());
        out += &format!(
            "  {quota} (size {size}): first sale {}, sold out {}; {} decided, {} inside fault windows ({})\n",
            seconds(t.first_sale_ns),
            seconds(t.sold_out_ns),
            t.decided.total(),
            t.in_faults.total(),
            split(&t.in_faults)
        );
    }
    out += &format!(
        "decided inside fault windows: {} of {} ({})\n",
        in_faults.total(),
        all.total(),
        split(&in_faults)
    );
    out
}

/// `Phase` ordered, for a map key.
#[derive(PartialEq, Eq)]
struct Phase2(Phase);

impl PartialOrd for Phase2 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Phase2 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let rank = |p: Phase| p as u8;
        rank(self.0).cmp(&rank(other.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testkit::Sim;
    use crate::history::NEMESIS_PROCESS;

    #[test]
    fn the_summary_says_when_each_quota_sold_out_and_what_was_decided_inside_faults() {
        let mut sim = Sim::new();
        let (hot, cold) = (sim.item(), sim.item());
        let hot_quota = sim.quota(Some(1), &[hot]);
        let cold_quota = sim.quota(Some(5), &[cold]);
        let first = sim.hold_ok(1, hot, 1); // 0-1 ms
        sim.nemesis("kill -9 leader 1"); // 2 ms
        assert_eq!(sim.hold_done(2, hot, 1).as_deref(), Some("rejected/sold_out")); // 3-4 ms
        let call = sim.invoke(3, Sim::hold_value(cold, 1)); // 5 ms
        sim.complete_as(&call, Phase::Info, Some("unknown: timeout"), call.value.clone()); // 6 ms: not decided
        let refused = sim.invoke(3, Value::Release { hold: first }); // 7 ms
        sim.complete_as(&refused, Phase::Fail, Some("not applied: no leader"), refused.value.clone()); // 8 ms
        sim.nemesis("heal"); // 9 ms
        sim.hold_ok(3, cold, 2); // 10-11 ms
        sim.nemesis("note: not a fault"); // 12 ms
        sim.hold_ok(3, cold, 1); // 13-14 ms
        let (timelines, all, in_faults) = quota_timelines(&sim.history, &sim.log);
        let hot_line = &timelines[&hot_quota];
        assert_eq!((hot_line.first_sale_ns, hot_line.sold_out_ns), (Some(1_000_000), Some(4_000_000)));
        assert_eq!(hot_line.in_faults, Decided { ok: 0, rejected: 1, refused: 1 });
        assert_eq!(hot_line.decided.total(), 3);
        let cold_line = &timelines[&cold_quota];
        assert_eq!((cold_line.sold_out_ns, cold_line.in_faults.total()), (None, 0));
        assert_eq!((all.total(), in_faults.total()), (5, 2));
        let report = timeline_report(&sim.history, &sim.log);
        assert!(report.starts_with("fault windows: 1 (0.0 s in all)\n"), "{report}");
        assert!(
            report.contains(&format!(
                "  {hot_quota} (size 1): first sale 0.0 s, sold out 0.0 s; 3 decided, 2 inside fault windows \
                 (ok 0, rejected 1, refused 1)\n"
            )),
            "{report}"
        );
        assert!(
            report.contains(&format!("  {cold_quota} (size 5): first sale 0.0 s, sold out never;")),
            "{report}"
        );
        assert!(
            report.ends_with("decided inside fault windows: 2 of 5 (ok 0, rejected 1, refused 1)\n"),
            "{report}"
        );
    }

    fn op(index: u64, process: u64, time_ms: u64, phase: Phase, value: Value) -> Op {
        Op {
            index,
            process,
            time_ns: time_ms * 1_000_000,
            phase,
            request_id: format!("{index:032x}"),
            outcome: None,
            value,
        }
    }

    #[test]
    fn plots_show_latency_and_throughput_with_fault_windows() {
        let hold = || Value::hold(vec![(3, 1)], 60_000);
        let nemesis = |action: &str| Value::Nemesis { action: action.into() };
        let history = vec![
            op(0, 0, 0, Phase::Invoke, hold()),
            op(1, 0, 5, Phase::Ok, hold()),
            op(2, NEMESIS_PROCESS, 1_000, Phase::Info, nemesis("kill -9 leader 1")),
            op(3, 0, 1_100, Phase::Invoke, hold()),
            op(4, 0, 3_100, Phase::Info, hold()),
            op(5, NEMESIS_PROCESS, 3_000, Phase::Info, nemesis("heal")),
            op(6, 1, 3_200, Phase::Invoke, hold()),
            op(7, 1, 3_210, Phase::Fail, hold()),
        ];
        assert_eq!(fault_windows(&history), vec![(1.0, 3.0, "kill -9 leader 1".to_string())]);
        assert_eq!(
            fault_windows_ns(&history),
            vec![(1_000_000_000, 3_000_000_000, "kill -9 leader 1".to_string())]
        );
        let latencies: Vec<f64> = completed(&history).iter().map(|c| c.latency_ms).collect();
        assert_eq!(latencies, vec![5.0, 2_000.0, 10.0]);
        let dir = tempfile::tempdir().unwrap();
        plots(&history, dir.path()).unwrap();
        for name in ["latency.svg", "throughput.svg"] {
            let svg = std::fs::read_to_string(dir.path().join(name)).unwrap();
            assert!(svg.starts_with("<svg") && svg.contains("time (s)"), "{name}");
        }
    }
}

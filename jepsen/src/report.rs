//! Plots of a run, like Jepsen's: latency of every operation over time, and
//! throughput over time, with the fault windows shaded. SVG (plotters), so
//! they render anywhere and need no system libraries.

use crate::history::{NEMESIS_PROCESS, Op, Phase, Value};
use plotters::prelude::*;
use std::collections::BTreeMap;
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

/// Fault windows: from each nemesis action to the next `heal`, in seconds.
fn fault_windows(history: &[Op]) -> Vec<(f64, f64, String)> {
    let mut windows = Vec::new();
    let mut open: Option<(f64, String)> = None;
    let end_s = history.last().map_or(0.0, |op| op.time_ns as f64 / 1e9);
    for op in history.iter().filter(|op| op.process == NEMESIS_PROCESS) {
        let Value::Nemesis { action } = &op.value else { continue };
        let at = op.time_ns as f64 / 1e9;
        if action == "heal" {
            if let Some((start, what)) = open.take() {
                windows.push((start, at, what));
            }
        } else if open.is_none() {
            open = Some((at, action.clone()));
        }
    }
    if let Some((start, what)) = open {
        windows.push((start, end_s, what));
    }
    windows
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
    use crate::history::NEMESIS_PROCESS;

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

//! The nemeses that need more than a proxy switch or a signal: skewed and
//! jumping clocks, flipped bytes in synced files, and crashes in the middle
//! of a snapshot build or install.
//!
//! # Clocks (`clock-skew`, `clock-jump`)
//!
//! Through the server's `Faults` service (fault-injection builds only), a
//! node's wall clock is moved by up to [`CLOCK_SKEW_MS_MAX`] (61 minutes,
//! past an hour so that anything kept for an hour of log time would lapse),
//! in either direction. `clock-skew` skews the leader and/or followers for
//! the whole fault; `clock-jump` leaves the clocks right, then jumps the
//! leader's clock forward mid-fault and back past where it started. Never a
//! majority of the nodes at once: a majority of wrong clocks is, to a
//! cluster that stamps the median clock, the right time, and no cluster can
//! tell otherwise; that is outside the failure model. The heal sets every
//! node's offset back to 0. Every skew and jump is written into the history,
//! and the `linearizable` checker widens its lapse slack around these
//! windows (see its module docs for why log time stays close to real time).
//!
//! # Flipped bytes (`bitflip-log`, `bitflip-snapshot`)
//!
//! A follower is killed with SIGKILL, one byte of a synced region is flipped
//! (in its newest log segment, inside a frame that a mark frame follows, so
//! the group was synced and may have been acknowledged; or anywhere in its
//! newest snapshot file), and it is started again as it is. It must refuse
//! to start within [`CORRUPTION_REFUSE_SECS`], saying the file is corrupt;
//! what it did is written into the history for the `corruption` checker.
//! Then it is rebuilt the safe way: its data directory wiped, started with
//! `--rejoin`.
//!
//! # Crashes during snapshots (`snapshot-crash`)
//!
//! With the harness's small snapshot interval, nodes build snapshots every
//! few seconds. A follower is killed with SIGKILL while it writes one
//! (its temporary snapshot file is there) and started again; then it is
//! wiped and started with `--rejoin`, so it installs the leader's snapshot,
//! and killed again while it does, [`SNAPSHOT_INSTALL_CRASHES`] times. Each
//! time it must come back, never refuse; convergence must hold at the end.

use crate::checker::corruption::BITFLIP_PREFIX;
use crate::cluster::{Cluster, Start, Started};
use crate::history::{
    CORRUPTION_PREFIX, CORRUPTION_REFUSED_PREFIX, HEAL, NOTE_PREFIX, RECOVERY_FAILED_PREFIX,
};
use crate::history::{HARNESS_ERROR_PREFIX, Recorder};
use boxoffice_engine::codec::{self, Kind, SNAPSHOT_BYTES_MAX};
use rand::Rng;
use rand::rngs::StdRng;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The largest clock skew or jump, in milliseconds (61 minutes).
pub const CLOCK_SKEW_MS_MAX: i64 = 61 * 60 * 1_000;

/// The smallest clock skew drawn, in milliseconds: smaller ones are lost
/// in the noise of a round trip.
pub const CLOCK_SKEW_MS_MIN: i64 = 1_000;

/// How long the heal keeps trying to set every running node's clock back,
/// in seconds.
pub const CLOCK_RESET_SECS: u64 = 10;

/// How long a node started on a corrupted file has to refuse (exit), in
/// seconds: opening its log and state machine takes well under that.
pub const CORRUPTION_REFUSE_SECS: u64 = 20;

/// Longest a node rebuilt with `--rejoin` may take to be a voter again, in
/// seconds (it is removed, re-added, sent a snapshot, promoted).
pub const REJOIN_SECS: u64 = 120;

/// How long a restarted node has to answer, in seconds.
pub const ANSWER_SECS: u64 = 20;

/// How long `snapshot-crash` waits for a node to start writing a snapshot
/// (a build, or an install), in seconds.
pub const SNAPSHOT_WAIT_SECS: u64 = 15;

/// How often `snapshot-crash` looks for a snapshot being written, in
/// milliseconds: a build of a few MB takes tens of milliseconds.
pub const SNAPSHOT_POLL_MS: u64 = 2;

/// Most delay between seeing a snapshot written and the kill, in
/// milliseconds: the kill lands anywhere from the write to the sled batch.
pub const SNAPSHOT_KILL_DELAY_MS_MAX: u64 = 300;

/// Kills of a node while it installs a snapshot, per `snapshot-crash`.
pub const SNAPSHOT_INSTALL_CRASHES: u32 = 3;

/// Bytes of a stderr line quoted in a history entry.
pub const QUOTE_BYTES_MAX: usize = 400;

/// Write a nemesis action into the history, and say it.
pub fn note(recorder: &Recorder, action: String) {
    println!("  nemesis: {action}");
    recorder.nemesis(action);
}

// ---------------------------------------------------------------------------
// Clocks.

/// Which nodes a clock nemesis may skew: the leader (with probability one
/// half) and followers, never more than a minority of the `n` nodes.
pub fn clock_targets(leader: u64, ids: &[u64], rng: &mut StdRng) -> Vec<u64> {
    let minority = (ids.len() - 1) / 2;
    let count = rng.random_range(1..=minority.max(1));
    let mut followers: Vec<u64> = ids.iter().copied().filter(|id| *id != leader).collect();
    let mut targets = Vec::new();
    if rng.random_bool(0.5) {
        targets.push(leader);
    }
    while targets.len() < count && !followers.is_empty() {
        targets.push(followers.remove(rng.random_range(0..followers.len())));
    }
    targets
}

/// A skew in either direction: half the time the largest, else anything
/// from [`CLOCK_SKEW_MS_MIN`] up.
pub fn clock_skew_ms(rng: &mut StdRng) -> i64 {
    let size = if rng.random_bool(0.5) {
        CLOCK_SKEW_MS_MAX
    } else {
        rng.random_range(CLOCK_SKEW_MS_MIN..CLOCK_SKEW_MS_MAX)
    };
    if rng.random_bool(0.5) { size } else { -size }
}

/// `clock-skew`: skew a minority (the leader and/or followers) for `fault`, then heal.
pub async fn clock_skew(
    cluster: &Arc<Mutex<Cluster>>,
    recorder: &Recorder,
    leader: u64,
    fault: Duration,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let c = cluster.lock().await;
    let targets = clock_targets(leader, &c.ids(), rng);
    let skews: Vec<(u64, i64)> = targets.iter().map(|id| (*id, clock_skew_ms(rng))).collect();
    let described: Vec<String> = skews
        .iter()
        .map(|(id, ms)| format!("node {id}{} {ms:+} ms", if *id == leader { " (leader)" } else { "" }))
        .collect();
    note(recorder, format!("clock-skew: {}", described.join(", ")));
    for (id, offset) in &skews {
        c.set_clock_offset(*id, *offset).await?;
    }
    drop(c);
    tokio::time::sleep(fault).await;
    heal_clocks(cluster, recorder).await
}

/// `clock-jump`: the leader's clock jumps forward a third of the way into
/// the fault and back past where it was two thirds in; then heal.
pub async fn clock_jump(
    cluster: &Arc<Mutex<Cluster>>,
    recorder: &Recorder,
    leader: u64,
    fault: Duration,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let jump = clock_skew_ms(rng).abs();
    note(recorder, format!("clock-jump: leader {leader}'s clock jumps +{jump} ms, then back to -{jump} ms"));
    for offset in [jump, -jump] {
        tokio::time::sleep(fault / 3).await;
        let c = cluster.lock().await;
        note(recorder, format!("clock-jump: node {leader} now {offset:+} ms"));
        c.set_clock_offset(leader, offset).await?;
    }
    tokio::time::sleep(fault / 3).await;
    heal_clocks(cluster, recorder).await
}

/// Heal a clock fault: every running node's clock back to 0 (a node
/// started since runs on the right clock anyway), then `heal`. A node that
/// cannot be set back within [`CLOCK_RESET_SECS`] is a harness error.
pub async fn heal_clocks(cluster: &Arc<Mutex<Cluster>>, recorder: &Recorder) -> anyhow::Result<()> {
    let c = cluster.lock().await;
    let unreset = reset_clocks(&c).await;
    note(recorder, HEAL.into());
    for (id, e) in unreset {
        note(recorder, format!("{HARNESS_ERROR_PREFIX}node {id}'s clock could not be set back: {e:#}"));
    }
    Ok(())
}

/// Set every running node's clock offset back to 0, retrying for up to
/// [`CLOCK_RESET_SECS`]; the nodes that could not be, with the last error.
pub async fn reset_clocks(c: &Cluster) -> Vec<(u64, anyhow::Error)> {
    let deadline = Instant::now() + Duration::from_secs(CLOCK_RESET_SECS);
    let mut failed = Vec::new();
    for id in c.ids().into_iter().filter(|id| c.is_running(*id)) {
        loop {
            match c.set_clock_offset(id, 0).await {
                Ok(_) => break,
                Err(e) if Instant::now() >= deadline => {
                    failed.push((id, e));
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }
    failed
}

// ---------------------------------------------------------------------------
// Flipped bytes.

/// Which file a bit-flip nemesis damages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlipTarget {
    /// A synced frame of the newest log segment that has one.
    Log,
    /// The newest snapshot file.
    Snapshot,
}

impl FlipTarget {
    fn name(self) -> &'static str {
        match self {
            FlipTarget::Log => "log",
            FlipTarget::Snapshot => "snapshot",
        }
    }

    /// What the node's refusal must say.
    fn refusal_says(self) -> &'static str {
        match self {
            FlipTarget::Log => "log corrupt in",
            FlipTarget::Snapshot => "corrupt",
        }
    }
}

/// The frames, as (start, end) byte ranges, of a log segment that a mark
/// frame follows: those were synced (the mark is written only after the
/// fsync returned), so damage there is corruption, never a torn tail.
/// Reading stops at the first frame that does not decode.
pub fn synced_log_frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut frames = Vec::new();
    let mut last_mark = 0;
    let mut at = 0;
    while at < bytes.len() {
        let Ok((payload, used)) = codec::read_frame(&bytes[at..], Kind::LogEntry.bytes_max()) else { break };
        frames.push((at, at + used));
        if payload.first() == Some(&(Kind::LogMark as u8)) {
            last_mark = frames.len() - 1;
        }
        at += used;
    }
    frames.truncate(last_mark);
    frames
}

/// The frames of a snapshot file (meta, state, records) as (start, end).
pub fn snapshot_frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let Ok((_, used)) = codec::read_frame(&bytes[at..], SNAPSHOT_BYTES_MAX) else { break };
        frames.push((at, at + used));
        at += used;
    }
    frames
}

/// The frames of a snapshot file to flip a byte in: the meta frame, the
/// state frame, or the record frames, each a third of the time, so that a
/// node that checks only what it reads first is found out.
pub fn snapshot_flip_frames(frames: &[(usize, usize)], rng: &mut StdRng) -> Vec<(usize, usize)> {
    match (rng.random_range(0..3), frames.len()) {
        (_, 0..=2) => frames.to_vec(),
        (0, _) => frames[..1].to_vec(),
        (1, _) => frames[1..2].to_vec(),
        _ => frames[2..].to_vec(),
    }
}

/// A byte to flip: a random frame of `frames`, a random byte in it, and a
/// random non-zero mask.
pub fn pick_flip(frames: &[(usize, usize)], rng: &mut StdRng) -> Option<(usize, usize, u8)> {
    let (start, end) = *frames.get(rng.random_range(0..frames.len().max(1)))?;
    Some((start, rng.random_range(start..end), rng.random_range(1..=u8::MAX)))
}

/// Flip the byte at `offset` of `path` with `mask`, and sync; the byte before and after.
pub fn flip_byte(path: &Path, offset: usize, mask: u8) -> std::io::Result<(u8, u8)> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
    let mut byte = [0u8];
    file.seek(SeekFrom::Start(offset as u64))?;
    file.read_exact(&mut byte)?;
    let before = byte[0];
    byte[0] ^= mask;
    file.seek(SeekFrom::Start(offset as u64))?;
    file.write_all(&byte)?;
    file.sync_all()?;
    Ok((before, byte[0]))
}

/// The files of `dir` whose names start with `prefix` and end with `suffix`, sorted by name.
fn files(dir: &Path, prefix: &str, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix))
        })
        .collect();
    found.sort();
    found
}

/// Where to flip in a stopped node's `data` directory: the file, its frames to choose from.
fn flip_candidates(data: &Path, target: FlipTarget) -> Option<(PathBuf, Vec<(usize, usize)>)> {
    match target {
        FlipTarget::Log => files(&data.join("log"), "", ".seg").into_iter().rev().find_map(|path| {
            let frames = synced_log_frames(&std::fs::read(&path).ok()?);
            (!frames.is_empty()).then_some((path, frames))
        }),
        FlipTarget::Snapshot => {
            let path = files(&data.join("sm"), "snapshot-", ".snap").pop()?;
            let frames = snapshot_frames(&std::fs::read(&path).ok()?);
            (!frames.is_empty()).then_some((path, frames))
        }
    }
}

/// The first line of `text` that contains `needle`, shortened for the history.
fn line_with(text: &str, needle: &str) -> Option<String> {
    let line = text.lines().find(|l| l.contains(needle))?.trim();
    let mut end = line.len().min(QUOTE_BYTES_MAX);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    Some(line[..end].to_owned())
}

/// `bitflip-log` / `bitflip-snapshot` on `victim` (module docs).
pub async fn bitflip(
    cluster: &Arc<Mutex<Cluster>>,
    recorder: &Recorder,
    target: FlipTarget,
    victim: u64,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let mut c = cluster.lock().await;
    c.kill(victim);
    let data = c.data_dir(victim);
    let Some((path, mut frames)) = flip_candidates(&data, target) else {
        note(
            recorder,
            format!(
                "{NOTE_PREFIX}bitflip-{} skipped: node {victim} has no synced file of that kind",
                target.name()
            ),
        );
        c.restart(victim)?;
        return Ok(());
    };
    if target == FlipTarget::Snapshot {
        frames = snapshot_flip_frames(&frames, rng);
    }
    let (frame, offset, mask) = pick_flip(&frames, rng).expect("frames is not empty");
    let (before, after) = flip_byte(&path, offset, mask)?;
    let file = path.display().to_string();
    note(
        recorder,
        format!(
            "{BITFLIP_PREFIX}{}: node {victim} killed, byte {offset} of {file} flipped ({before:#04x} -> \
             {after:#04x}, in the frame at byte {frame}), restarted as it is",
            target.name()
        ),
    );
    let from = c.stderr_len(victim);
    c.spawn(victim, Start::Normal)?;
    let started = Instant::now();
    let outcome = c.started(victim, Duration::from_secs(CORRUPTION_REFUSE_SECS)).await;
    let took = started.elapsed().as_secs_f64();
    let stderr = c.stderr_since(victim, from);
    let what = target.name();
    let refusal = line_with(&stderr, target.refusal_says());
    match outcome {
        Started::Exited { status, success: false } if refusal.is_some() => {
            note(
                recorder,
                format!(
                    "{CORRUPTION_REFUSED_PREFIX}node {victim} refused to start on its corrupt {what} {took:.1} s \
                     after it was started ({status}): {}",
                    refusal.unwrap_or_default()
                ),
            );
        }
        Started::Exited { status, .. } => note(
            recorder,
            format!(
                "{CORRUPTION_PREFIX}node {victim} exited {took:.1} s after a byte of its {what} was flipped at \
                 {file}:{offset} ({status}) without saying the file is corrupt; stderr tail: {}",
                c.stderr_tail(victim)
            ),
        ),
        Started::Serving => note(
            recorder,
            format!(
                "{CORRUPTION_PREFIX}node {victim} started on a corrupt {what}: flipped byte at {file}:{offset}"
            ),
        ),
        Started::Silent => note(
            recorder,
            format!(
                "{CORRUPTION_PREFIX}node {victim} neither refused nor served within {CORRUPTION_REFUSE_SECS} s \
                 after a byte of its {what} was flipped at {file}:{offset}"
            ),
        ),
    }
    note(recorder, format!("{NOTE_PREFIX}rebuild node {victim} from its peers: wipe, start with --rejoin"));
    c.wipe(victim)?;
    c.spawn(victim, Start::Rejoin)?;
    drop(c);
    rejoined(cluster, recorder, victim, "its rebuild").await;
    cluster.lock().await.heal();
    note(recorder, HEAL.into());
    Ok(())
}

/// Wait (bounded) for `victim`, started with `--rejoin`, to answer, catch
/// up and be a voter ([`Cluster::rejoin_done`]); a node that exits or never
/// answers is a failed recovery, one that is not done in time is noted (it
/// keeps being started with `--rejoin`, and the end of the run restores the
/// membership).
pub async fn rejoined(cluster: &Arc<Mutex<Cluster>>, recorder: &Recorder, victim: u64, after: &str) {
    let mut c = cluster.lock().await;
    match c.started(victim, Duration::from_secs(ANSWER_SECS)).await {
        Started::Serving => {}
        Started::Exited { status, .. } => {
            note(
                recorder,
                format!(
                    "{RECOVERY_FAILED_PREFIX}node {victim} exited after {after} ({status}); stderr tail: {}",
                    c.stderr_tail(victim)
                ),
            );
            return;
        }
        Started::Silent => {
            note(
                recorder,
                format!(
                    "{RECOVERY_FAILED_PREFIX}node {victim} did not answer within {ANSWER_SECS} s after {after}; \
                     stderr tail: {}",
                    c.stderr_tail(victim)
                ),
            );
            return;
        }
    }
    drop(c);
    let mut c = cluster.lock().await;
    if !c.rejoin_done(victim, Duration::from_secs(REJOIN_SECS)).await {
        note(
            recorder,
            format!(
                "{NOTE_PREFIX}node {victim} had not caught up and become a voter within {REJOIN_SECS} s of {after}"
            ),
        );
    }
}

// ---------------------------------------------------------------------------
// Crashes during snapshots.

/// The snapshot files of `sm` being written (`.snap.tmp`), and the finished ones.
fn snapshot_files(sm: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    (files(sm, "snapshot-", ".snap.tmp"), files(sm, "snapshot-", ".snap"))
}

/// Wait up to [`SNAPSHOT_WAIT_SECS`] for `victim` to write a snapshot
/// file other than those in `known` (a temporary one, or a new finished
/// one); its name, or `None`. Stops early if the node exits.
async fn snapshot_written(c: &mut Cluster, victim: u64, known: &[PathBuf]) -> Option<String> {
    let sm = c.data_dir(victim).join("sm");
    let deadline = Instant::now() + Duration::from_secs(SNAPSHOT_WAIT_SECS);
    while Instant::now() < deadline && c.is_running(victim) {
        let (writing, done) = snapshot_files(&sm);
        if let Some(path) = writing.first().or_else(|| done.iter().find(|p| !known.contains(p))) {
            return Some(path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()));
        }
        tokio::time::sleep(Duration::from_millis(SNAPSHOT_POLL_MS)).await;
    }
    None
}

/// Kill `victim` once it writes a snapshot (bounded), after a random delay
/// up to `delay_ms_max`; say what was seen. A node that exited on its own
/// first is a failed recovery (it must keep running).
async fn kill_while_snapshotting(
    c: &mut Cluster,
    recorder: &Recorder,
    victim: u64,
    delay_ms_max: u64,
    what: &str,
    rng: &mut StdRng,
) {
    let (_, known) = snapshot_files(&c.data_dir(victim).join("sm"));
    let seen = snapshot_written(c, victim, &known).await;
    let delay = rng.random_range(0..=delay_ms_max);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    if let Some(status) = c.exited(victim) {
        note(
            recorder,
            format!(
                "{RECOVERY_FAILED_PREFIX}node {victim} exited by itself during {what} ({status}); stderr tail: {}",
                c.stderr_tail(victim)
            ),
        );
        return;
    }
    c.kill(victim);
    let saw = match seen {
        Some(file) => format!("{delay} ms after {file} appeared"),
        None => format!("no snapshot file appeared within {SNAPSHOT_WAIT_SECS} s"),
    };
    note(recorder, format!("{NOTE_PREFIX}snapshot-crash: kill -9 node {victim} during {what} ({saw})"));
}

/// `snapshot-crash` on the follower `victim` (module docs).
pub async fn snapshot_crash(
    cluster: &Arc<Mutex<Cluster>>,
    recorder: &Recorder,
    victim: u64,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    note(
        recorder,
        format!(
            "snapshot-crash: kill -9 node {victim} while it builds a snapshot, then wipe it, start it with \
             --rejoin and kill -9 it while it installs one, {SNAPSHOT_INSTALL_CRASHES} times"
        ),
    );
    let mut c = cluster.lock().await;
    kill_while_snapshotting(&mut c, recorder, victim, 0, "a snapshot build", rng).await;
    c.restart(victim)?;
    if c.started(victim, Duration::from_secs(ANSWER_SECS)).await != Started::Serving {
        note(
            recorder,
            format!(
                "{RECOVERY_FAILED_PREFIX}node {victim} did not come back after a kill during a snapshot build; \
                 stderr tail: {}",
                c.stderr_tail(victim)
            ),
        );
        c.restart(victim)?;
    }
    c.wipe(victim)?;
    c.spawn(victim, Start::Rejoin)?;
    for crash in 1..=SNAPSHOT_INSTALL_CRASHES {
        let what = format!("a snapshot install after --rejoin (crash {crash} of {SNAPSHOT_INSTALL_CRASHES})");
        kill_while_snapshotting(&mut c, recorder, victim, SNAPSHOT_KILL_DELAY_MS_MAX, &what, rng).await;
        // Killed mid-rejoin: started again with --rejoin, as an operator would.
        c.spawn(victim, Start::Rejoin)?;
    }
    drop(c);
    rejoined(cluster, recorder, victim, "crashes during snapshot installs").await;
    cluster.lock().await.heal();
    note(recorder, HEAL.into());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::BTreeSet;

    /// A segment of `groups` group commits of `entries` entries each, each
    /// group followed by its mark; then `tail` entries with no mark.
    fn segment(groups: usize, entries: usize, tail: usize) -> (Vec<u8>, Vec<(usize, usize)>) {
        let (mut bytes, mut frames) = (Vec::new(), Vec::new());
        let mut push = |kind: Kind, value: u64, bytes: &mut Vec<u8>| {
            let frame = codec::encode(kind, &value).expect("encodes");
            frames.push((bytes.len(), bytes.len() + frame.len()));
            bytes.extend(frame);
        };
        for group in 0..groups {
            for entry in 0..entries {
                push(Kind::LogEntry, (group * entries + entry) as u64, &mut bytes);
            }
            push(Kind::LogMark, ((group + 1) * entries) as u64, &mut bytes);
        }
        for entry in 0..tail {
            push(Kind::LogEntry, entry as u64, &mut bytes);
        }
        (bytes, frames)
    }

    #[test]
    fn only_frames_a_mark_follows_are_synced() {
        let (bytes, frames) = segment(3, 2, 2);
        // 3 groups of 2 entries and a mark; the last mark itself has no mark after it.
        assert_eq!(synced_log_frames(&bytes), frames[..8].to_vec());
    }

    #[test]
    fn a_segment_without_a_mark_has_nothing_synced() {
        let (bytes, _) = segment(0, 0, 3);
        assert!(synced_log_frames(&bytes).is_empty());
        assert!(synced_log_frames(&[]).is_empty());
    }

    #[test]
    fn a_torn_tail_ends_the_scan() {
        let (mut bytes, frames) = segment(2, 1, 0);
        bytes.extend_from_slice(&[7, 0, 0]);
        assert_eq!(synced_log_frames(&bytes), frames[..3].to_vec());
    }

    #[test]
    fn a_flipped_byte_breaks_its_frame_and_only_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("00000000000000000001.seg");
        let (bytes, _) = segment(4, 3, 0);
        std::fs::write(&path, &bytes).expect("write");
        let mut rng = StdRng::seed_from_u64(5);
        let synced = synced_log_frames(&bytes);
        let (frame, offset, mask) = pick_flip(&synced, &mut rng).expect("a frame");
        let end = synced.iter().find(|(start, _)| *start == frame).expect("its frame").1;
        assert!((frame..end).contains(&offset));
        let (before, after) = flip_byte(&path, offset, mask).expect("flip");
        assert_eq!(before ^ mask, after);
        let flipped = std::fs::read(&path).expect("read");
        assert_eq!(flipped.len(), bytes.len());
        let differing: Vec<usize> = (0..bytes.len()).filter(|i| bytes[*i] != flipped[*i]).collect();
        assert_eq!(differing, vec![offset]);
        assert!(codec::read_frame(&flipped[frame..], Kind::LogEntry.bytes_max()).is_err());
    }

    #[test]
    fn a_snapshot_file_is_read_frame_by_frame() {
        let mut bytes = codec::encode(Kind::SnapshotMeta, &1u64).expect("encodes");
        let meta_end = bytes.len();
        bytes.extend(codec::encode(Kind::Record, &2u64).expect("encodes"));
        assert_eq!(snapshot_frames(&bytes), vec![(0, meta_end), (meta_end, bytes.len())]);
    }

    #[test]
    fn snapshot_flips_reach_the_meta_the_state_and_the_records() {
        let frames = [(0, 10), (10, 50), (50, 60), (60, 70)];
        let mut rng = StdRng::seed_from_u64(3);
        let mut seen = BTreeSet::new();
        for _ in 0..100 {
            let chosen = snapshot_flip_frames(&frames, &mut rng);
            assert!(!chosen.is_empty());
            seen.insert(chosen);
        }
        let expected = [vec![(0, 10)], vec![(10, 50)], vec![(50, 60), (60, 70)]];
        assert_eq!(seen, expected.into_iter().collect());
    }

    #[test]
    fn clock_nemeses_never_skew_a_majority() {
        let mut rng = StdRng::seed_from_u64(9);
        for nodes in [3u64, 5] {
            let ids: Vec<u64> = (1..=nodes).collect();
            for _ in 0..200 {
                let targets = clock_targets(2, &ids, &mut rng);
                assert!(!targets.is_empty());
                assert!(targets.len() as u64 <= (nodes - 1) / 2, "{targets:?} of {nodes}");
                let skew = clock_skew_ms(&mut rng);
                assert!((CLOCK_SKEW_MS_MIN..=CLOCK_SKEW_MS_MAX).contains(&skew.abs()), "{skew}");
            }
        }
    }
}

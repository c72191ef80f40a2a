//! One process per data directory: parallel `boxoffice --data-dir` calls
//! take turns instead of each reading the Raft log with a stale view of the
//! other's writes (which used to leave duplicate log indexes behind, and a
//! data directory that no longer opened).

use std::process::Command;

#[test]
fn parallel_embedded_calls_on_one_data_directory_take_turns_and_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    const CALLS: usize = 6;
    let children: Vec<_> = (0..CALLS)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_boxoffice"))
                .env_remove("BOXOFFICE_ENDPOINTS")
                .env_remove("BOXOFFICE_DATA_DIR")
                .arg("--data-dir")
                .arg(dir.path())
                .args(["organizer", "create", "--slug", &format!("par-{i}"), "--name", &format!("Par {i}")])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn the boxoffice binary")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "a parallel call failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let tail = Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .env_remove("BOXOFFICE_ENDPOINTS")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--json", "events", "tail", "--from", "1"])
        .output()
        .unwrap();
    assert!(tail.status.success(), "the data directory reopens: {}", String::from_utf8_lossy(&tail.stderr));
    let log = String::from_utf8_lossy(&tail.stdout);
    let created = log.lines().filter(|line| line.contains("accepted/organizer_created")).count();
    assert_eq!(created, CALLS, "every call's write is in the log once:\n{log}");
}

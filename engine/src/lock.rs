//! One process per data directory.
//!
//! Two processes on one data directory (two servers started by mistake, or
//! parallel CLI calls in embedded mode) would each read the Raft log and the
//! state machine, then write both with a stale view of the other's writes.
//! The engine therefore takes an exclusive `flock` on `<data dir>/LOCK`
//! before it reads anything, and keeps it for its whole life; the lock
//! goes with the process, so a crash never leaves it behind. A second
//! process waits up to [`DATA_DIR_LOCK_WAIT_MS`] (an embedded CLI call
//! finishes in well under that) and then says which pid holds the directory.

use fs2::FileExt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a process waits for another to release a data directory, in milliseconds.
pub const DATA_DIR_LOCK_WAIT_MS: u64 = 5_000;

/// How often a waiting process tries the lock again, in milliseconds.
const DATA_DIR_LOCK_POLL_MS: u64 = 20;

/// The name of the lock file in a data directory.
pub const LOCK_FILE: &str = "LOCK";

/// Why a data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "data directory {dir} is in use by {holder} (waited {waited_ms} ms): one process per data \
         directory; stop the other one, or use another --data-dir"
    )]
    InUse {
        /// The directory.
        dir: PathBuf,
        /// Who holds it, as far as the lock file says (`pid N`).
        holder: String,
        /// How long this process waited.
        waited_ms: u64,
    },
    /// The lock file could not be created or locked.
    #[error("data directory {dir}: cannot take its lock: {source}")]
    Io {
        /// The directory.
        dir: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// An exclusive hold on a data directory, released when dropped (or when
/// the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Lock `dir` (created if missing), waiting up to `wait` for another holder.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<DataDirLock, LockError> {
        let io = |source| LockError::Io { dir: dir.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE))
            .map_err(io)?;
        let started = Instant::now();
        loop {
            match file.try_lock_exclusive() {
                Ok(()) => break,
                Err(e) if e.kind() == fs2::lock_contended_error().kind() => {
                    if started.elapsed() >= wait {
                        let mut holder = String::new();
                        let _ = file.read_to_string(&mut holder);
                        let holder = match holder.trim() {
                            "" => "another process".to_owned(),
                            pid => format!("pid {pid}"),
                        };
                        let waited_ms = started.elapsed().as_millis() as u64;
                        return Err(LockError::InUse { dir: dir.to_owned(), holder, waited_ms });
                    }
                    std::thread::sleep(Duration::from_millis(DATA_DIR_LOCK_POLL_MS));
                }
                Err(e) => return Err(io(e)),
            }
        }
        // Say who holds it, for the next one to ask.
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DataDirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_then_is_told_the_pid_and_gets_it_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let error = DataDirLock::acquire(dir.path(), Duration::from_millis(50)).unwrap_err();
        let text = error.to_string();
        assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
        assert!(matches!(error, LockError::InUse { waited_ms, .. } if waited_ms >= 50));
        drop(first);
        DataDirLock::acquire(dir.path(), Duration::ZERO).expect("free again");
    }
}

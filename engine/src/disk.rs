//! Free-space guard for a node's data directory.
//!
//! Why: a node whose filesystem fills up must stop *before* its stores
//! run into `ENOSPC`. The Raft log survives a failed write (a torn tail is
//! cut on open), but sled 0.34 is not written for a full disk: in a long
//! fault run a node's own data filled its small filesystem, sled hit
//! `ENOSPC` mid-flush, and on restart it reported its data corrupt, so the
//! node had to be rebuilt from its peers. Refusing to append to the Raft log
//! while less than [`DISK_FREE_MIN_BYTES`] is free leaves that headroom for
//! sled's in-flight writes: Raft stops (the server exits so a supervisor can
//! restart it once space is freed) and the stores stay whole.
//!
//! The check is one `statvfs` per group commit, next to an fsync that costs
//! a thousand times more.

use std::io;
use std::path::Path;

/// Least free space, in bytes, a node needs on its data filesystem to append
/// to its Raft log or to start.
pub const DISK_FREE_MIN_BYTES: u64 = 64 * 1024 * 1024;

/// Free space on the filesystem holding `dir`, in bytes, for this user.
pub fn free_bytes(dir: &Path) -> io::Result<u64> {
    fs2::available_space(dir)
}

/// `Ok` when `dir`'s filesystem has at least `need` bytes free; otherwise
/// an [`io::ErrorKind::StorageFull`] error that says where and how much.
pub fn ensure_free(dir: &Path, need: u64) -> io::Result<()> {
    let free = free_bytes(dir)?;
    if free < need {
        return Err(io::Error::new(
            io::ErrorKind::StorageFull,
            format!(
                "disk nearly full: {} MiB free on the filesystem of {}, a node needs {} MiB",
                free >> 20,
                dir.display(),
                need >> 20
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filesystem_with_room_passes_and_an_impossible_need_is_refused_with_storage_full() {
        let dir = tempfile::tempdir().expect("tempdir");
        ensure_free(dir.path(), 1).expect("a fresh temp dir has a byte free");
        let error = ensure_free(dir.path(), u64::MAX).expect_err("nobody has 16 EiB free");
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
        assert!(error.to_string().contains("disk nearly full"), "{error}");
    }
}

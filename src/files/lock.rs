//! The workspace lock: an exclusive lock on `.beads/.lock`, taken with a
//! bounded wait, opened with `O_NOFOLLOW`. Uses std's file locks (not fs2; see SPEC §2).

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Held until dropped.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

/// The wait of a lock unless set otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The process-wide wait (ms), set once at start-up by the command line.
static TIMEOUT_MS: AtomicU64 = AtomicU64::new(DEFAULT_TIMEOUT.as_millis() as u64);

/// Sets how long every lock of this process waits (the command line sets
/// it once, from `BD_LOCK_TIMEOUT_MS`).
pub fn set_default_timeout(d: Duration) {
    TIMEOUT_MS.store(
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
}

/// How long to wait for a lock: what `set_default_timeout` set, else 10 s.
pub fn default_timeout() -> Duration {
    Duration::from_millis(TIMEOUT_MS.load(Ordering::Relaxed))
}

/// Whether another open file holds an exclusive lock on `path` (a probe
/// with a shared lock, let go at once; a missing file is not held). The
/// holder's lock goes with its process, so this is how a process's
/// liveness is told without trusting a pid that may have been reused.
pub fn held_elsewhere(path: &Path) -> bool {
    let Ok(file) = super::open_read(path) else {
        return false;
    };
    matches!(
        file.try_lock_shared(),
        Err(std::fs::TryLockError::WouldBlock)
    )
}

pub fn acquire(path: &Path, timeout: Duration) -> Result<LockGuard> {
    // Never through a link: a committed `.lock -> elsewhere` is refused.
    let file = super::open_rw_create(path).map_err(|e| Error::io(path, e))?;
    let start = Instant::now();
    let mut pause = Duration::from_micros(200);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(LockGuard { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(Error::Locked {
                path: path.to_path_buf(),
                waited_ms: waited.as_millis() as u64,
            });
        }
        // Spread retries so racing processes do not wake in step.
        let jitter = Duration::from_micros(u64::from(std::process::id() % 7) * 50);
        std::thread::sleep(pause + jitter);
        pause = (pause * 2).min(Duration::from_millis(8));
    }
}

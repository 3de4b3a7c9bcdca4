//! Stopping a long-running command cleanly on SIGINT or SIGTERM (`bd dispatch
//! --watch`). std has no signal API; the C library's `signal` is linked into
//! every Rust program on Linux and macOS, so one declaration does it without a
//! dependency. The handler only sets a flag; the loop checks it between steps,
//! finishes the write it is in (every write is atomic anyway) and returns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static STOP: AtomicBool = AtomicBool::new(false);

/// The numbers are the same on Linux and macOS.
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// `SIG_DFL`: the default action (terminate, for these two).
const SIG_DFL: usize = 0;

unsafe extern "C" {
    /// `handler` is a function pointer or `SIG_DFL`, as C's `sighandler_t`.
    fn signal(signum: i32, handler: usize) -> usize;
}

extern "C" fn on_signal(sig: i32) {
    // An atomic store and `signal` are async-signal-safe. The second signal
    // gets the default action: a loop stuck waiting can still be interrupted.
    STOP.store(true, Ordering::SeqCst);
    // SAFETY: restoring the default disposition of the signal being handled.
    unsafe {
        signal(sig, SIG_DFL);
    }
}

/// From now on, SIGINT and SIGTERM ask the process to stop instead of killing it.
pub fn catch_stop_signals() {
    // SAFETY: `signal` is the C library's; the handler is a plain `extern "C"`
    // function that performs one atomic store and one `signal` call.
    let handler = on_signal as extern "C" fn(i32) as usize;
    unsafe {
        signal(SIGINT, handler);
        signal(SIGTERM, handler);
    }
}

pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Sleep up to `d`, waking early when a stop is requested. Returns whether
/// one was.
pub fn sleep_unless_stopped(d: Duration) -> bool {
    let end = Instant::now() + d;
    while !stop_requested() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
    true
}

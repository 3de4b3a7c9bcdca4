//! The files under `.beads/`: finding the workspace, config, the workspace
//! lock, atomic replacement, the JSONL tracker and its index cache. Nothing
//! here talks to git or the project home.

pub mod attachments;
pub mod bytes;
pub mod config;
pub mod formulas;
pub mod hooks;
pub mod incremental;
pub mod index;
pub mod jsonl;
pub mod lazy;
pub mod log;
pub mod mail;
pub mod scan;
pub mod splice;
pub mod tracker;
pub mod workspace;

pub use tracker::{Snapshot, Tx};
pub use workspace::Workspace;

/// Set once by a process that runs many commands (`bd mcp`): the memory a
/// one-shot command leaves for the process's end to reclaim (a large
/// index it does not free: freeing costs more than it gives back) is freed
/// instead.
static LONG_LIVED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// This process runs many commands ([`LONG_LIVED`]).
pub fn set_long_lived() {
    LONG_LIVED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether memory must be freed rather than left to the process's end.
pub fn long_lived() -> bool {
    LONG_LIVED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Leave `v` to the process's end, or free it in a long-lived process.
pub fn leave<T>(v: T) {
    if long_lived() {
        drop(v);
    } else {
        std::mem::forget(v);
    }
}

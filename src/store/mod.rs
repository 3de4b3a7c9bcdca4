//! The files under `.beads/`: finding the workspace, config, the workspace
//! lock, atomic replacement, the JSONL tracker and its index cache. Nothing
//! here talks to git or the project home.

pub mod attachments;
pub mod bytes;
pub mod config;
pub mod hooks;
pub mod index;
pub mod jsonl;
pub mod mail;
pub mod splice;
pub mod tracker;
pub mod workspace;

pub use tracker::{Snapshot, Tx};
pub use workspace::Workspace;

//! strand: a git-native, file-based work tracker for AI coding agents.
//!
//! Layers, dependencies pointing one way: `cli → ops → store → model`.
//! `model` is pure data and pure functions (no clock, no files); `store` owns
//! the files under `.beads/`; `ops` is the library API, one function per verb;
//! `cli` parses arguments, renders reports and maps errors to exit codes.

pub mod cli;
pub mod error;
pub mod files;
pub mod git;
pub mod home;
pub mod model;
pub mod ops;
pub mod store;

//! Pure data and pure functions: issue records, IDs, the dependency graph,
//! validation of values. No clock, no randomness, no files: time, actor and
//! seeds come in as arguments.

pub mod budget;
pub mod claim;
pub mod formula;
pub mod gate;
pub mod glob;
pub mod graph;
pub mod id;
pub mod kinds;
pub mod mail;
pub mod merge;
pub mod metrics;
pub mod record;
pub mod reservation;
pub mod run;
pub mod setup;
pub mod time;
pub mod values;

//! The file reservations of this machine (`bd reserve`, issue 14):
//! `<home>/reservations.json`, `{"reservations": [...]}` (the table of
//! `model::reservation`), under `reservations.lock`. Every workspace of the
//! project on this machine reads the same file, so a reservation made in
//! one clone or worktree holds in all of them at once. Lapsed reservations
//! are dropped by the next write.

use super::ProjectHome;
use super::registry::{load_json, load_json_locked, write_json};
use crate::error::Result;
use crate::model::reservation::Table;

const FILE: &str = "reservations.json";
const LOCK: &str = "reservations";

/// The table as it is now (no lock; a missing file is an empty table), and
/// a warning when the file was damaged (it is moved aside).
pub fn load(home: &ProjectHome) -> (Table, Option<String>) {
    let (mut t, warn): (Table, _) = load_json(home, LOCK, &home.path(FILE));
    t.reservations
        .retain(|r| !r.agent.trim().is_empty() && !r.globs.is_empty());
    (t, warn)
}

/// Change the table under its lock: `change` gets the table as it is and
/// says what to answer; the file is written only when the table changed.
/// `change` may take its time (ask the remote): the lock keeps every other
/// reservation on this machine waiting meanwhile.
pub fn with_table<T>(
    home: &ProjectHome,
    change: impl FnOnce(&mut Table, Option<String>) -> Result<T>,
) -> Result<T> {
    let _guard = home.lock(LOCK)?;
    let path = home.path(FILE);
    let (before, warn): (Table, _) = load_json_locked(&path)?;
    let mut t = before.clone();
    t.reservations
        .retain(|r| !r.agent.trim().is_empty() && !r.globs.is_empty());
    let out = change(&mut t, warn)?;
    if t != before {
        write_json(&path, &t)?;
    }
    Ok(out)
}

//! File reservations (`bd reserve`, issue 14): an agent's word that it is
//! editing the files some globs name, exclusively (nobody else may reserve
//! them or commit to them) or shared (others may share, none may hold them
//! exclusively), until a time. The table, as the project home's
//! `reservations.json` and the remote's `refs/beads/reservations` hold it,
//! and its rules: lapse, conflicts, placing and releasing. Pure: time
//! comes in as an argument; globs are decided by `model::glob`.

use serde::{Deserialize, Serialize};

use crate::model::glob;
use crate::model::time::{self, Nanos};

/// How a reservation holds its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// No other agent may reserve an overlapping glob, or commit a file it
    /// matches.
    Exclusive,
    /// Others may reserve overlapping globs shared too.
    Shared,
}

impl Mode {
    pub fn word(self) -> &'static str {
        match self {
            Mode::Exclusive => "exclusive",
            Mode::Shared => "shared",
        }
    }
}

/// One reservation: an agent's globs, held one way until a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// `res-` and 12 hex digits, the same in the home and on the remote.
    pub id: String,
    pub agent: String,
    /// Canonical globs (`glob::normalize`), sorted, no duplicates.
    pub globs: Vec<String>,
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was made (RFC 3339 UTC).
    pub at: String,
    /// When it lapses (RFC 3339 UTC).
    pub until: String,
    /// Where it was made: the workspace's root in the home's file; an
    /// opaque id on the remote (no path leaves the machine).
    #[serde(default)]
    pub workspace: String,
}

impl Reservation {
    /// Whether it no longer holds at `now` (an `until` that does not read
    /// counts as lapsed: a damaged entry holds nothing).
    pub fn lapsed(&self, now: Nanos) -> bool {
        time::parse(&self.until).is_none_or(|u| u <= now)
    }
}

/// The id of a reservation `agent` makes of `globs` at `at` (nanoseconds)
/// from `workspace`.
pub fn id_for(agent: &str, globs: &[String], at: Nanos, workspace: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [agent.as_bytes(), workspace.as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    for g in globs {
        h.update((g.len() as u64).to_be_bytes());
        h.update(g.as_bytes());
    }
    h.update(at.to_be_bytes());
    let hex: String = h
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("res-{hex}")
}

/// Whether a reservation of `mine` may not stand beside one of `theirs`
/// over overlapping globs.
pub fn clashes(mine: Mode, theirs: Mode) -> bool {
    mine == Mode::Exclusive || theirs == Mode::Exclusive
}

/// A reservation in the way of another: whose, which of its globs, and
/// which glob asked for overlaps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub holder: String,
    pub id: String,
    /// The holder's glob.
    pub glob: String,
    /// The glob asked for (or the path committed).
    pub wanted: String,
    pub mode: Mode,
    pub reason: Option<String>,
    pub until: String,
}

impl Conflict {
    fn of(r: &Reservation, glob: &str, wanted: &str) -> Conflict {
        Conflict {
            holder: r.agent.clone(),
            id: r.id.clone(),
            glob: glob.to_string(),
            wanted: wanted.to_string(),
            mode: r.mode,
            reason: r.reason.clone(),
            until: r.until.clone(),
        }
    }
}

/// Every reservation of a place (the home, the remote).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    #[serde(default)]
    pub reservations: Vec<Reservation>,
}

impl Table {
    /// Read a table; entries that name no agent or no glob are dropped (a
    /// damaged entry holds nothing). `None` when it is not a table.
    pub fn parse(bytes: &[u8]) -> Option<Table> {
        let mut t: Table = serde_json::from_slice(bytes).ok()?;
        t.reservations
            .retain(|r| !r.agent.trim().is_empty() && !r.globs.is_empty());
        Some(t)
    }

    /// The table as it is committed on the remote: pretty JSON and a
    /// newline (a diff of two tips reads line by line).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = serde_json::to_vec_pretty(self).unwrap_or_default();
        b.push(b'\n');
        b
    }

    /// Drop the reservations lapsed at `now`; how many went.
    pub fn prune(&mut self, now: Nanos) -> usize {
        let before = self.reservations.len();
        self.reservations.retain(|r| !r.lapsed(now));
        before - self.reservations.len()
    }

    /// The reservations of other agents than `agent`, live at `now`, that
    /// a reservation of `globs` held `mode` would clash with.
    pub fn conflicts(
        &self,
        agent: &str,
        globs: &[String],
        mode: Mode,
        now: Nanos,
    ) -> Vec<Conflict> {
        let mut out = Vec::new();
        for r in &self.reservations {
            if r.agent == agent || r.lapsed(now) || !clashes(mode, r.mode) {
                continue;
            }
            for theirs in &r.globs {
                for mine in globs {
                    if glob::overlaps(mine, theirs) {
                        out.push(Conflict::of(r, theirs, mine));
                    }
                }
            }
        }
        out
    }

    /// Put `r` in: its agent's globs that `r` names again leave the agent's
    /// older reservations (one glob is held one way at a time), and a
    /// reservation left with no glob goes.
    pub fn place(&mut self, r: Reservation) {
        for old in self
            .reservations
            .iter_mut()
            .filter(|o| o.agent == r.agent && o.id != r.id)
        {
            old.globs.retain(|g| !r.globs.contains(g));
        }
        self.reservations
            .retain(|o| o.id != r.id && !o.globs.is_empty());
        self.reservations.push(r);
        self.reservations
            .sort_by(|a, b| (&a.at, &a.id).cmp(&(&b.at, &b.id)));
    }

    /// Take `agent`'s globs out (`None`: all of them); the globs released,
    /// sorted. A reservation left with no glob goes.
    pub fn release(&mut self, agent: &str, globs: Option<&[String]>) -> Vec<String> {
        let mut out = Vec::new();
        for r in self.reservations.iter_mut().filter(|r| r.agent == agent) {
            r.globs.retain(|g| {
                let go = globs.is_none_or(|named| named.contains(g));
                if go {
                    out.push(g.clone());
                }
                !go
            });
        }
        self.reservations.retain(|r| !r.globs.is_empty());
        out.sort();
        out.dedup();
        out
    }

    /// The live exclusive reservations of agents other than `agent` that
    /// hold `path`: what refuses a commit of it.
    pub fn blocking(&self, agent: &str, path: &str, now: Nanos) -> Vec<Conflict> {
        let mut out = Vec::new();
        for r in &self.reservations {
            if r.agent == agent || r.mode != Mode::Exclusive || r.lapsed(now) {
                continue;
            }
            if let Some(g) = r.globs.iter().find(|g| glob::matches(g, path)) {
                out.push(Conflict::of(r, g, path));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(id: &str, agent: &str, globs: &[&str], mode: Mode, until: &str) -> Reservation {
        Reservation {
            id: id.into(),
            agent: agent.into(),
            globs: globs.iter().map(|g| g.to_string()).collect(),
            mode,
            reason: None,
            at: "2026-01-01T00:00:00Z".into(),
            until: until.into(),
            workspace: String::new(),
        }
    }

    const LATER: &str = "2026-01-01T01:00:00Z";

    #[test]
    fn conflicts_place_release() {
        let now = time::parse("2026-01-01T00:30:00Z").unwrap();
        let mut t = Table::default();
        t.place(res("res-1", "a", &["src/**"], Mode::Exclusive, LATER));
        t.place(res("res-2", "b", &["docs/*"], Mode::Shared, LATER));
        let want = vec!["src/main.rs".to_string()];
        assert_eq!(t.conflicts("b", &want, Mode::Shared, now).len(), 1);
        assert!(t.conflicts("a", &want, Mode::Exclusive, now).is_empty());
        let docs = vec!["docs/x.md".to_string()];
        assert!(t.conflicts("c", &docs, Mode::Shared, now).is_empty());
        assert_eq!(t.conflicts("c", &docs, Mode::Exclusive, now).len(), 1);
        // Lapsed: nothing in the way.
        let late = time::parse(LATER).unwrap();
        assert!(t.conflicts("b", &want, Mode::Exclusive, late).is_empty());
        // The same glob again moves; the old one empties and goes.
        t.place(res("res-3", "a", &["src/**", "x"], Mode::Shared, LATER));
        assert_eq!(t.reservations.len(), 2);
        assert_eq!(t.release("a", Some(&["x".to_string()])), vec!["x"]);
        assert_eq!(t.release("a", None), vec!["src/**"]);
        assert_eq!(t.reservations.len(), 1);
        assert_eq!(t.blocking("z", "docs/x.md", now).len(), 0);
    }
}

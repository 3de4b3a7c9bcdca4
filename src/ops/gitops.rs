//! Tracker state in git: `bd commit`, the `auto_commit` setting, pending
//! changes for `where`/`doctor`. Composes `git::commit` with the workspace.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::error::Result;
use crate::git::commit::Outcome;
use crate::ops::Session;

/// `bd commit`'s report: what happened. JSON: `{committed: true, commit,
/// amended, paths}`, `{committed: false, pending: false}` (nothing to
/// commit), or `{committed: false, pending: true, reason}`.
#[derive(Debug, Clone)]
pub struct CommitReport(pub Outcome);

impl Serialize for CommitReport {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match &self.0 {
            Outcome::Committed { id, amended, paths } => {
                m.serialize_entry("committed", &true)?;
                m.serialize_entry("commit", id)?;
                m.serialize_entry("amended", amended)?;
                m.serialize_entry("paths", paths)?;
            }
            Outcome::NothingToCommit => {
                m.serialize_entry("committed", &false)?;
                m.serialize_entry("pending", &false)?;
            }
            Outcome::Pending { reason } => {
                m.serialize_entry("committed", &false)?;
                m.serialize_entry("pending", &true)?;
                m.serialize_entry("reason", reason)?;
            }
        }
        m.end()
    }
}

/// `bd commit [-m MESSAGE]`.
pub fn commit(ctx: &Session, message: Option<&str>) -> Result<CommitReport> {
    let subject = match message {
        Some(m) if !m.trim().is_empty() => {
            let m = m.trim();
            if m.starts_with("bd: ") {
                m.to_string()
            } else {
                format!("bd: {m}")
            }
        }
        _ => describe_pending_subject(ctx),
    };
    ctx.commit_beads(&subject, None).map(CommitReport)
}

/// A subject for whatever is pending.
pub fn describe_pending_subject(ctx: &Session) -> String {
    let paths = ctx.pending_changes();
    describe_pending(ctx, &paths)
}

/// A subject for whatever is pending: counts of issues created, changed, closed.
fn describe_pending(ctx: &Session, paths: &[String]) -> String {
    let changes = crate::ops::history::working_changes(ctx).unwrap_or_default();
    if changes.is_empty() {
        return format!("bd: update {}", paths.join(", "));
    }
    let (mut created, mut closed, mut changed) = (0, 0, 0);
    for c in &changes {
        match c.kind {
            crate::ops::history::ChangeKind::Created => created += 1,
            crate::ops::history::ChangeKind::Closed => closed += 1,
            _ => changed += 1,
        }
    }
    if changes.len() == 1 {
        return format!(
            "bd: {} {} \"{}\"",
            changes[0].kind.verb(),
            changes[0].id,
            changes[0].title
        );
    }
    let mut parts = Vec::new();
    for (n, w) in [
        (created, "created"),
        (changed, "updated"),
        (closed, "closed"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {w}"));
        }
    }
    format!("bd: {} issues ({})", changes.len(), parts.join(", "))
}

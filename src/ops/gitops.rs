//! Tracker state in git: `bd commit`, the `auto_commit` setting, pending
//! changes for `where`/`doctor`. Composes `git::commit` with the workspace.

use crate::error::Result;
use crate::git::commit::Outcome;
use crate::ops::Session;

/// `bd commit [-m MESSAGE]`.
pub fn commit(ctx: &Session, message: Option<&str>) -> Result<Outcome> {
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
    ctx.commit_beads(&subject, None)
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

//! Tracker state in git: `bd commit`, the `auto_commit` setting, pending
//! changes for `where`/`doctor`. Composes `git::commit` with the workspace.

use crate::error::Result;
use crate::git::{self, commit::Outcome, commit::Request};
use crate::ops::Ctx;

/// The `.beads/` paths git's index holds unmerged: a merge whose driver
/// failed (bd not on git's PATH, a side that does not parse) leaves the file
/// holding only our side, with no markers. An index that cannot be read
/// counts as none (the command's own git use reports it). The answer is
/// remembered in `.cache/unmerged.v1` by the index file's state (git
/// replaces the file on every change), so most commands only stat it.
pub fn unmerged_paths(ws: &crate::store::Workspace) -> Vec<String> {
    const CACHE: &str = "unmerged.v1";
    let Ok(dirs) = git::dirs(&ws.root) else {
        return Vec::new();
    };
    let key = git::commit::stat_key(&dirs.git_dir.join("index"));
    if let Some(k) = key
        && let Some((cached, paths)) = ws.read_cache::<(git::commit::StatKey, Vec<String>)>(CACHE)
        && cached == k
    {
        return paths;
    }
    let paths = git::stages::unmerged(&dirs).unwrap_or_default();
    if let Some(k) = key
        && git::commit::stat_key(&dirs.git_dir.join("index")) == Some(k)
    {
        ws.write_cache(CACHE, &(k, &paths));
    }
    paths
}

impl Ctx {
    /// Reads go on over an unmerged tracker, with a warning naming the files.
    pub fn warn_unmerged(&self) {
        if !self.unmerged.is_empty() {
            self.warn(format!(
                "{} unmerged in git's index (a merge left it conflicted); what you see is one side only; run `bd doctor --fix`",
                unmerged_list(&self.unmerged)
            ));
        }
    }

    /// Writes are refused while a `.beads/` file is unmerged: committing it
    /// as it is would drop the other side's work.
    pub fn refuse_unmerged(&self) -> Result<()> {
        if self.unmerged.is_empty() {
            return Ok(());
        }
        Err(crate::error::Error::Invalid {
            msg: format!(
                "{} unmerged in git's index; refusing to write until it is merged",
                unmerged_list(&self.unmerged)
            ),
            hint: Some(
                "run `bd doctor --fix` (it merges base, ours and theirs from git's index)".into(),
            ),
        })
    }

    /// After a write: commit per `auto_commit` (off: nothing; on: a commit per
    /// command; batch: amend bd's own recent unpushed commit). The tracker write
    /// already succeeded; a commit that cannot happen now is left pending.
    pub fn auto_commit(&self, subject: &str) {
        let window = match self.config.auto_commit() {
            "on" => None,
            "batch" => Some(self.commit_window_secs()),
            _ => return,
        };
        match self.commit_beads(subject, window) {
            Ok(Outcome::Pending { reason }) => self.note(format!(
                "tracker change written but not committed: {reason}; run `bd commit` later"
            )),
            Ok(_) => {}
            Err(e) => self.warn(format!(
                "tracker change written but not committed: {e}; run `bd commit` later"
            )),
        }
    }

    pub fn commit_window_secs(&self) -> u64 {
        self.config
            .get_str("commit_window")
            .and_then(crate::store::config::duration_secs)
            .unwrap_or(600)
    }

    pub fn commit_beads(&self, subject: &str, amend_window: Option<u64>) -> Result<Outcome> {
        self.refuse_unmerged()?;
        let dirs = git::dirs(&self.ws.root)?;
        git::commit::commit(
            &self.ws.root,
            &dirs,
            &Request {
                subject: subject.to_string(),
                actor: self.actor.clone(),
                amend_window,
            },
        )
    }

    /// `.beads/` paths whose state differs from HEAD.
    /// Blob ids are remembered in `.cache/blobs.v1` by file state, so this
    /// hashes only files that changed since it last ran.
    pub fn pending_changes(&self) -> Vec<String> {
        const CACHE: &str = "blobs.v1";
        let mut known: git::commit::BlobIds = self.ws.read_cache(CACHE).unwrap_or_default();
        let before = known.clone();
        let out = git::commit::pending_with(&self.ws.root, &mut known).unwrap_or_default();
        if known != before {
            self.ws.write_cache(CACHE, &known);
        }
        out
    }
}

/// `bd commit [-m MESSAGE]`.
pub fn commit(ctx: &Ctx, message: Option<&str>) -> Result<Outcome> {
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
pub fn describe_pending_subject(ctx: &Ctx) -> String {
    let paths = ctx.pending_changes();
    describe_pending(ctx, &paths)
}

/// A subject for whatever is pending: counts of issues created, changed, closed.
fn describe_pending(ctx: &Ctx, paths: &[String]) -> String {
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

fn unmerged_list(paths: &[String]) -> String {
    match paths {
        [one] => format!("{one} is"),
        many => format!("{} are", many.join(", ")),
    }
}

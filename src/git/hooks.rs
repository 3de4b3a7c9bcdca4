//! The repository's git hooks folder and bd's `pre-commit` hook in it (file
//! reservations, issue 14), and what a commit is about to record (the
//! staged paths, as the hook asks for them).
//!
//! Installing never loses a hook the user had: an existing `pre-commit`
//! that is not bd's is renamed `pre-commit.bd-chained` (a link stays a
//! link, its bytes and mode stay), and bd's hook runs it after its own
//! check; removing bd's hook renames it back. bd's hook is told apart by
//! its marker line. A hooks folder inside the work tree (`core.hooksPath`
//! pointing at a tracked folder such as `.githooks` or `.husky`) holds the
//! project's files: bd does not write there.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::transport::run;
use crate::error::{Error, Result};
use crate::model::setup::{HOOK_MARK, PRE_COMMIT_HOOK};

/// The name the user's own `pre-commit` is kept under while bd's runs it.
pub const CHAINED: &str = "pre-commit.bd-chained";
const HOOK: &str = "pre-commit";

/// The hooks folder git runs hooks from for the worktree at `root`
/// (`core.hooksPath` at any config level, else the common git folder's
/// `hooks/`), as git itself resolves it.
pub fn hooks_dir(root: &Path) -> Result<PathBuf> {
    let r = run(root, &["rev-parse", "--git-path", "hooks"])?;
    let rel = r.stdout.trim();
    if !r.ok || rel.is_empty() {
        return Ok(super::dirs(root)?.common_dir.join("hooks"));
    }
    let p = Path::new(rel);
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        root.join(p)
    })
}

/// Where bd's hook is, as a hooks folder holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No `pre-commit`.
    Missing,
    /// bd's; `current` when it is this version's text.
    Ours { current: bool },
    /// Another program's (or a link, or a folder).
    Foreign,
}

/// Whether the `pre-commit` file at `path` is bd's, and this version's.
pub fn state_of(path: &Path) -> State {
    match std::fs::symlink_metadata(path) {
        Err(_) => State::Missing,
        Ok(m) if !m.file_type().is_file() => State::Foreign,
        Ok(_) => match std::fs::read_to_string(path) {
            Ok(t) if t.contains(HOOK_MARK) => State::Ours {
                current: t == PRE_COMMIT_HOOK,
            },
            _ => State::Foreign,
        },
    }
}

/// Whether the hooks folder `dir` holds bd's `pre-commit` and nothing it
/// runs after it (no chained hook): a commit of `.beads/` files alone then
/// needs no hook run at all.
pub fn only_ours(dir: &Path) -> bool {
    matches!(state_of(&dir.join(HOOK)), State::Ours { .. })
        && std::fs::symlink_metadata(dir.join(CHAINED)).is_err()
}

/// What installing or removing did to the hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// bd's hook was written where there was none.
    Created,
    /// The user's hook was renamed `pre-commit.bd-chained`, and bd's runs it.
    Chained,
    /// An older bd hook was replaced.
    Updated,
    /// Removed; no hook left.
    Removed,
    /// Removed, and the chained hook is `pre-commit` again.
    Restored,
    Unchanged,
}

/// The hook file and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct Hook {
    pub path: PathBuf,
    pub change: Change,
    /// The user's hook bd's runs after its check, if there is one.
    pub chained: Option<PathBuf>,
}

/// The hooks folder, refused when it is inside the work tree (outside git's
/// folders): the project's own tracked hooks.
fn writable_dir(root: &Path) -> Result<PathBuf> {
    let dir = hooks_dir(root)?;
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (rdir, rroot) = (real(&dir), real(root));
    let dirs = super::dirs(root)?;
    let in_git = [&dirs.git_dir, &dirs.common_dir]
        .iter()
        .any(|g| rdir.starts_with(real(g)));
    if rdir.starts_with(&rroot) && !in_git {
        return Err(Error::Invalid {
            msg: format!(
                "git runs hooks from {} (core.hooksPath), inside the work tree: bd does not write the project's files",
                dir.display()
            ),
            hint: Some(
                "add `bd --readonly reservations --check-staged || exit 1` to the pre-commit hook there"
                    .into(),
            ),
        });
    }
    Ok(dir)
}

fn write_hook(path: &Path) -> Result<()> {
    crate::files::atomic::write_file(path, |f| {
        use std::io::Write;
        f.set_permissions(std::fs::Permissions::from_mode(0o755))?;
        f.write_all(PRE_COMMIT_HOOK.as_bytes())
    })
    .map(drop)
}

/// Put bd's `pre-commit` hook in (chaining the user's).
pub fn install_pre_commit(root: &Path) -> Result<Hook> {
    let dir = writable_dir(root)?;
    let hook = dir.join(HOOK);
    let chained = dir.join(CHAINED);
    let has_chained = std::fs::symlink_metadata(&chained).is_ok();
    let change = match state_of(&hook) {
        State::Ours { current: true } => Change::Unchanged,
        State::Ours { current: false } => {
            write_hook(&hook)?;
            Change::Updated
        }
        State::Missing => {
            crate::files::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            write_hook(&hook)?;
            Change::Created
        }
        State::Foreign if has_chained => {
            return Err(Error::Invalid {
                msg: format!(
                    "cannot chain {}: {} is there already",
                    hook.display(),
                    chained.display()
                ),
                hint: Some(format!(
                    "keep one of them (move the other aside), then run this again; {} runs after bd's check",
                    CHAINED
                )),
            });
        }
        State::Foreign => {
            std::fs::rename(&hook, &chained).map_err(|e| Error::io(&hook, e))?;
            write_hook(&hook)?;
            Change::Chained
        }
    };
    Ok(Hook {
        path: hook,
        chained: std::fs::symlink_metadata(&chained)
            .is_ok()
            .then_some(chained),
        change,
    })
}

/// Take bd's `pre-commit` hook out, putting the chained one back. A
/// `pre-commit` that is not bd's stays.
pub fn remove_pre_commit(root: &Path) -> Result<Hook> {
    let dir = hooks_dir(root)?;
    let hook = dir.join(HOOK);
    let chained = dir.join(CHAINED);
    let has_chained = std::fs::symlink_metadata(&chained).is_ok();
    let change = match state_of(&hook) {
        State::Ours { .. } if has_chained => {
            std::fs::rename(&chained, &hook).map_err(|e| Error::io(&chained, e))?;
            Change::Restored
        }
        State::Ours { .. } => {
            std::fs::remove_file(&hook).map_err(|e| Error::io(&hook, e))?;
            Change::Removed
        }
        // The user's hook went missing meanwhile: the chained one is it.
        State::Missing if has_chained => {
            std::fs::rename(&chained, &hook).map_err(|e| Error::io(&chained, e))?;
            Change::Restored
        }
        State::Missing | State::Foreign => Change::Unchanged,
    };
    let left = std::fs::symlink_metadata(&chained).is_ok();
    Ok(Hook {
        path: hook,
        chained: left.then_some(chained),
        change,
    })
}

/// bd's hook as it is now (for `--check`): its path and state.
pub fn pre_commit(root: &Path) -> Result<(PathBuf, State)> {
    let hook = hooks_dir(root)?.join(HOOK);
    let s = state_of(&hook);
    Ok((hook, s))
}

/// The paths the commit being made records (added, changed, deleted; a
/// rename as both its paths), repository-relative: `git diff --cached`, so
/// the index git's hook runs with (`GIT_INDEX_FILE`) is the one read.
pub fn staged_paths(root: &Path) -> Result<Vec<String>> {
    let r = run(
        root,
        &[
            "diff",
            "--cached",
            "--name-only",
            "--no-renames",
            "-z",
            "--no-ext-diff",
        ],
    )?;
    if !r.ok {
        return Err(Error::invalid(format!(
            "git diff --cached failed: {}",
            r.stderr.lines().next().unwrap_or("").trim()
        )));
    }
    Ok(r.stdout
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect())
}

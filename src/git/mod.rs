//! Everything about the git repository around a workspace: where its git
//! folders are, the project identity, the merge-driver config, commits of
//! `.beads/` paths and reading the tracker at revisions (all through gix).
//! `transport` alone runs the git binary; `remote` speaks to the upstream
//! through it (fetch, merge, push), typed, so no other layer builds a git
//! command line.

pub mod attributes;
pub mod claims;
pub mod commit;
pub mod delta;
pub mod driver;
pub mod eol;
pub mod history;
pub mod hooks;
pub mod identity;
pub mod pack;
pub mod refs;
pub mod remote;
pub mod spool;
pub mod stages;
pub mod transport;
pub mod worktree;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The git folders of a worktree.
#[derive(Debug, Clone)]
pub struct GitDirs {
    /// This worktree's git folder (`.git`, or `.git/worktrees/<name>`).
    pub git_dir: PathBuf,
    /// The folder shared by all worktrees (config, objects, refs).
    pub common_dir: PathBuf,
}

/// Find the git folders of the worktree at `root` by reading files only.
pub fn dirs(root: &Path) -> Result<GitDirs> {
    let dotgit = root.join(".git");
    let git_dir = if dotgit.is_dir() {
        dotgit
    } else {
        let text = std::fs::read_to_string(&dotgit).map_err(|e| Error::io(&dotgit, e))?;
        let rel = text
            .trim()
            .strip_prefix("gitdir:")
            .ok_or_else(|| Error::invalid(format!("{} does not name a gitdir", dotgit.display())))?
            .trim();
        let p = Path::new(rel);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            root.join(p)
        }
    };
    let common_dir = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(t) => {
            let p = Path::new(t.trim());
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                git_dir.join(p)
            }
        }
        Err(_) => git_dir.clone(),
    };
    let common_dir = std::fs::canonicalize(&common_dir).unwrap_or(common_dir);
    Ok(GitDirs {
        git_dir,
        common_dir,
    })
}

/// The roots of the repository's linked worktrees (`git worktree list`, read
/// from the files git keeps under `<common dir>/worktrees/`).
pub fn worktrees(dirs: &GitDirs) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dirs.common_dir.join("worktrees")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        if let Ok(t) = std::fs::read_to_string(e.path().join("gitdir"))
            && let Some(root) = Path::new(t.trim()).parent()
        {
            out.push(root.to_path_buf());
        }
    }
    // The main worktree is the common dir's parent (for a non-bare repository).
    if dirs.common_dir.file_name().is_some_and(|n| n == ".git")
        && let Some(main) = dirs.common_dir.parent()
    {
        out.push(main.to_path_buf());
    }
    out.sort();
    out
}

/// The repository's shared config file, parsed (empty when missing).
pub fn read_config(dirs: &GitDirs) -> Result<gix::config::File> {
    let path = dirs.common_dir.join("config");
    let mut bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(&path, e)),
    };
    gix::config::File::from_bytes_owned(
        &mut bytes,
        gix::config::file::Metadata::from(gix::config::Source::Local),
        Default::default(),
    )
    .map_err(|e| Error::Parse {
        path,
        line: 0,
        reason: e.to_string(),
    })
}

/// The repository's own git folder (a worktree's is not `.git` itself).
pub fn git_dir(root: &Path) -> Option<std::path::PathBuf> {
    open(root).ok().map(|r| r.git_dir().to_path_buf())
}

/// Open the repository with gix.
pub fn open(root: &Path) -> Result<gix::Repository> {
    gix::open(root).map_err(|e| Error::Invalid {
        msg: format!("cannot open the git repository at {}: {e}", root.display()),
        hint: None,
    })
}

/// The branch checked out in this worktree (`None` when HEAD is detached).
pub fn current_branch(dirs: &GitDirs) -> Option<String> {
    let head = std::fs::read_to_string(dirs.git_dir.join("HEAD")).ok()?;
    head.trim()
        .strip_prefix("ref: refs/heads/")
        .map(str::to_string)
}

/// The project's default branch: what `origin/HEAD` points at, else `main`
/// or `master` when such a branch exists.
pub fn default_branch(dirs: &GitDirs) -> Option<String> {
    let c = &dirs.common_dir;
    if let Ok(t) = std::fs::read_to_string(c.join("refs/remotes/origin/HEAD"))
        && let Some(b) = t.trim().strip_prefix("ref: refs/remotes/origin/")
    {
        return Some(b.to_string());
    }
    let packed = std::fs::read_to_string(c.join("packed-refs")).unwrap_or_default();
    ["main", "master"]
        .into_iter()
        .find(|b| {
            c.join("refs/heads").join(b).exists()
                || packed
                    .lines()
                    .any(|l| l.ends_with(&format!(" refs/heads/{b}")))
        })
        .map(str::to_string)
}

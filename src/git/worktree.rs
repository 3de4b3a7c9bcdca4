//! The worker loop's worktrees (issue 13): one git worktree per item, on a
//! branch of its own, under the worker's folder. gix cannot add or remove
//! worktrees, so the git binary does (`git::transport`); this module alone
//! builds those command lines.

use std::path::{Path, PathBuf};

use super::transport::run;
use crate::error::{Error, Result};

/// One worktree of the repository, as `git worktree list --porcelain` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    pub path: PathBuf,
    /// The branch checked out (short name), if any.
    pub branch: Option<String>,
}

fn failed(what: &str, stderr: &str) -> Error {
    Error::Invalid {
        msg: format!(
            "{what}: {}",
            stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("git failed")
        ),
        hint: None,
    }
}

/// Every worktree of the repository at `root`.
pub fn list(root: &Path) -> Result<Vec<Tree>> {
    let r = run(root, &["worktree", "list", "--porcelain"])?;
    if !r.ok {
        return Err(failed("git worktree list failed", &r.stderr));
    }
    let mut out = Vec::new();
    let mut cur: Option<Tree> = None;
    for line in r.stdout.lines() {
        if let Some(p) = line.strip_prefix("worktree ") {
            out.extend(cur.take());
            cur = Some(Tree {
                path: PathBuf::from(p),
                branch: None,
            });
        } else if let Some(b) = line.strip_prefix("branch refs/heads/")
            && let Some(t) = cur.as_mut()
        {
            t.branch = Some(b.to_string());
        }
    }
    out.extend(cur);
    Ok(out)
}

/// The worktree folder this clone's own git config names (`bd.worktrees`:
/// machine-local, never committed). A relative path is taken from `root`.
pub fn configured_folder(root: &Path) -> Option<PathBuf> {
    let dirs = super::dirs(root).ok()?;
    let cfg = super::read_config(&dirs).ok()?;
    let v = cfg.string("bd.worktrees")?;
    let p = PathBuf::from(v.to_string());
    (!p.as_os_str().is_empty()).then(|| if p.is_absolute() { p } else { root.join(p) })
}

fn same(a: &Path, b: &Path) -> bool {
    let c = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    c(a) == c(b)
}

fn branch_exists(root: &Path, branch: &str) -> Result<bool> {
    let r = run(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )?;
    Ok(r.ok)
}

/// Make sure `path` is a worktree on `branch` (new from `HEAD` when the
/// branch does not exist). Returns whether it was created. Refuses a
/// folder that is something else: another worktree, the branch checked out
/// elsewhere (the user's own worktree), a folder with files in it.
pub fn ensure(root: &Path, path: &Path, branch: &str) -> Result<bool> {
    let trees = list(root)?;
    if let Some(t) = trees.iter().find(|t| same(&t.path, path)) {
        return match &t.branch {
            Some(b) if b == branch => Ok(false),
            other => Err(Error::invalid(format!(
                "{} is a worktree on {}, not on {branch}",
                path.display(),
                other.as_deref().unwrap_or("a detached HEAD")
            ))),
        };
    }
    if let Some(t) = trees.iter().find(|t| t.branch.as_deref() == Some(branch)) {
        return Err(Error::invalid(format!(
            "branch {branch} is checked out in {}, not in the worker's folder",
            t.path.display()
        )));
    }
    if std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::invalid(format!(
            "{} exists and is not a worktree of this repository",
            path.display()
        )));
    }
    let p = path.to_string_lossy();
    let r = if branch_exists(root, branch)? {
        run(root, &["worktree", "add", "--quiet", &p, branch])?
    } else {
        run(
            root,
            &["worktree", "add", "--quiet", "-b", branch, &p, "HEAD"],
        )?
    };
    if !r.ok {
        return Err(failed(
            &format!("cannot make the worktree {}", path.display()),
            &r.stderr,
        ));
    }
    Ok(true)
}

/// The short names of the branches under `prefix` (`bd/`).
pub fn branches(root: &Path, prefix: &str) -> Result<Vec<String>> {
    let r = run(
        root,
        &[
            "for-each-ref",
            "--format=%(refname:short)",
            &format!("refs/heads/{}", prefix.trim_end_matches('/')),
        ],
    )?;
    if !r.ok {
        return Err(failed("git for-each-ref failed", &r.stderr));
    }
    Ok(r.stdout.lines().map(str::to_string).collect())
}

/// Whether every commit of `branch` is in `HEAD`.
pub fn merged(root: &Path, branch: &str) -> Result<bool> {
    let r = run(
        root,
        &[
            "merge-base",
            "--is-ancestor",
            &format!("refs/heads/{branch}"),
            "HEAD",
        ],
    )?;
    Ok(r.ok)
}

/// Remove a worktree; git refuses one with changes not committed.
pub fn remove(root: &Path, path: &Path) -> Result<()> {
    let r = run(root, &["worktree", "remove", &path.to_string_lossy()])?;
    if !r.ok {
        return Err(failed(
            &format!("cannot remove the worktree {}", path.display()),
            &r.stderr,
        ));
    }
    Ok(())
}

/// Delete a branch; git refuses one that is not merged.
pub fn delete_branch(root: &Path, branch: &str) -> Result<()> {
    let r = run(root, &["branch", "--quiet", "-d", branch])?;
    if !r.ok {
        return Err(failed(&format!("cannot delete {branch}"), &r.stderr));
    }
    Ok(())
}

//! The one place that runs the git binary: what gix cannot do (push, fetch
//! with the user's credentials, merges into the working tree) and commits that
//! must run hooks or sign.

use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};

/// Output of one git run.
#[derive(Debug)]
pub(super) struct GitRun {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Run `git <args>` in `root`: stdin closed and no credential prompt (a sync
/// must fail, not hang, when the remote wants a password); a non-zero exit is
/// `ok: false`, not an error. Only `git`'s own modules build argument lists.
pub(super) fn run(root: &Path, args: &[&str]) -> Result<GitRun> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("git", e))?;
    Ok(GitRun {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

fn must(root: &Path, args: &[&str]) -> Result<GitRun> {
    let r = run(root, args)?;
    if !r.ok {
        return Err(Error::Invalid {
            msg: format!(
                "git {} failed: {}",
                args.join(" "),
                r.stderr.lines().next().unwrap_or("").trim()
            ),
            hint: None,
        });
    }
    Ok(r)
}

/// Commit exactly `paths` (hooks and signing apply), leaving other staged changes staged.
pub fn commit_paths(root: &Path, paths: &[String], message: &str) -> Result<String> {
    let mut add = vec!["add", "--all", "--"];
    add.extend(paths.iter().map(String::as_str));
    must(root, &add)?;
    let mut commit = vec!["commit", "--quiet", "-m", message, "--only", "--"];
    commit.extend(paths.iter().map(String::as_str));
    must(root, &commit)?;
    Ok(must(root, &["rev-parse", "HEAD"])?
        .stdout
        .trim()
        .to_string())
}

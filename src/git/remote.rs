//! The branch's exchange with its upstream, typed: which branch is checked
//! out and what it tracks, fetch, merge (with the `beads` driver), push, and
//! the commits not pushed yet. Everything here runs the git binary through
//! `transport` (it has the user's credentials, hooks and merge machinery),
//! builds the argument lists and reads git's output, so `ops::sync` deals in
//! branches, outcomes and file names, never in command lines. What git says
//! when it refuses is kept whole in a [`Refusal`]; the caller picks the words.

use std::path::Path;

use super::transport::run;
use crate::error::Result;

/// Where a branch pulls from and pushes to (`branch.<name>.remote` and
/// `branch.<name>.merge`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The remote's name, as configured (`origin`).
    pub remote: String,
    /// The ref on the remote the branch merges (`refs/heads/main`).
    pub merge_ref: String,
}

/// What git wrote to stderr when it refused to do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub stderr: String,
}

/// How a merge of the upstream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The upstream is merged into HEAD (a merge commit or a fast-forward).
    Merged,
    /// Git stopped; the merge was aborted (`git merge --abort`), so nothing
    /// half-done is left. `conflicted` names the files git left unmerged
    /// (empty when git refused before merging, for instance over untracked
    /// files it would overwrite).
    Aborted {
        conflicted: Vec<String>,
        refusal: Refusal,
    },
}

/// A commit of HEAD the upstream does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpushed {
    /// Abbreviated id and subject, as `git log --format='%h %s'` prints them.
    pub summary: String,
    /// The paths the commit touches, relative to the repository's root.
    pub paths: Vec<String>,
}

/// The branch HEAD names, spelled as `git symbolic-ref --short` spells it;
/// `None` when HEAD is detached (or git cannot say).
pub fn branch(root: &Path) -> Result<Option<String>> {
    let r = run(root, &["symbolic-ref", "-q", "--short", "HEAD"])?;
    Ok(r.ok.then(|| r.stdout.trim().to_string()))
}

/// The upstream `branch` is configured to track; `None` when its remote or
/// its merge ref is not set.
pub fn upstream_of(root: &Path, branch: &str) -> Result<Option<Upstream>> {
    let remote = run(root, &["config", &format!("branch.{branch}.remote")])?;
    let merge_ref = run(root, &["config", &format!("branch.{branch}.merge")])?;
    if !remote.ok || !merge_ref.ok {
        return Ok(None);
    }
    Ok(Some(Upstream {
        remote: remote.stdout.trim().to_string(),
        merge_ref: merge_ref.stdout.trim().to_string(),
    }))
}

/// Fetch `remote` (quietly, never prompting for credentials).
pub fn fetch(root: &Path, remote: &str) -> Result<Result<(), Refusal>> {
    let r = run(root, &["fetch", "--quiet", remote])?;
    Ok(if r.ok {
        Ok(())
    } else {
        Err(Refusal { stderr: r.stderr })
    })
}

/// The commits of HEAD not on its upstream (`@{upstream}..HEAD`), newest
/// first, with the paths each touches; `None` when git cannot list them (no
/// upstream ref yet, for one).
pub fn unpushed_commits(root: &Path) -> Result<Option<Vec<Unpushed>>> {
    let r = run(
        root,
        &[
            "log",
            "--format=%x00%h %s",
            "--name-only",
            "@{upstream}..HEAD",
        ],
    )?;
    Ok(r.ok.then(|| parse_unpushed(&r.stdout)))
}

/// Read `git log --format=%x00%h %s --name-only`: each commit starts with a
/// NUL, its summary line, then (after a blank line) one path per line.
fn parse_unpushed(log: &str) -> Vec<Unpushed> {
    log.split('\0')
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let mut lines = block.lines();
            let summary = lines.next().unwrap_or("").to_string();
            let paths = lines
                .filter(|p| !p.trim().is_empty())
                .map(str::to_string)
                .collect();
            Unpushed { summary, paths }
        })
        .collect()
}

/// Whether HEAD already contains its upstream (`git merge-base --is-ancestor
/// @{upstream} HEAD`): then there is nothing to merge. False also when git
/// cannot tell.
pub fn contains_upstream(root: &Path) -> Result<bool> {
    Ok(run(
        root,
        &["merge-base", "--is-ancestor", "@{upstream}", "HEAD"],
    )?
    .ok)
}

/// Merge the upstream into HEAD (`git merge --no-edit @{upstream}`) with
/// `driver` as the command of the `beads` merge driver for this one run
/// (see `driver::command`). A merge that stops is aborted before this returns.
pub fn merge_upstream(root: &Path, driver: &str) -> Result<MergeOutcome> {
    let config = format!("merge.beads.driver={driver}");
    let m = run(
        root,
        &[
            "-c",
            &config,
            "merge",
            "--no-edit",
            "--quiet",
            "@{upstream}",
        ],
    )?;
    if m.ok {
        return Ok(MergeOutcome::Merged);
    }
    let conflicted = run(root, &["diff", "--name-only", "--diff-filter=U"])?
        .stdout
        .lines()
        .map(str::to_string)
        .collect();
    // Best effort: when git refused before merging there is nothing to abort.
    let _ = run(root, &["merge", "--abort"]);
    Ok(MergeOutcome::Aborted {
        conflicted,
        refusal: Refusal { stderr: m.stderr },
    })
}

/// The text `path` (a file the `beads` merge driver does not merge) would
/// have after merging the upstream into HEAD,
/// computed without touching the index or the working tree (`git
/// merge-tree --write-tree`, git 2.38 or later); `None` when the merge
/// result has no such file or git cannot compute it. A file git could not
/// merge holds its conflict markers, as `git merge` would leave it.
pub fn merged_text(root: &Path, path: &str) -> Result<Option<String>> {
    // A file only one side changed merges to that side: no merge to preview
    // (the preview would still read and write out the whole tracker).
    let base = run(root, &["merge-base", "HEAD", "@{upstream}"])?;
    if base.ok {
        let b = base.stdout.trim();
        let ids = run(
            root,
            &[
                "rev-parse",
                &format!("{b}:{path}"),
                &format!("HEAD:{path}"),
                &format!("@{{upstream}}:{path}"),
            ],
        )?;
        let lines: Vec<&str> = ids.stdout.lines().collect();
        if ids.ok
            && lines.len() == 3
            && (lines[0] == lines[1] || lines[0] == lines[2] || lines[1] == lines[2])
        {
            let side = if lines[0] == lines[1] {
                "@{upstream}"
            } else {
                "HEAD"
            };
            let blob = run(root, &["cat-file", "blob", &format!("{side}:{path}")])?;
            return Ok(blob.ok.then_some(blob.stdout));
        }
    }
    // Only `path` is wanted: the tracker's files are not run through the
    // merge driver here (`true` keeps ours), which would merge the whole
    // tracker once more before the real merge.
    let m = run(
        root,
        &[
            "-c",
            "merge.beads.driver=true",
            "merge-tree",
            "--write-tree",
            "HEAD",
            "@{upstream}",
        ],
    )?;
    let Some(tree) = m.stdout.lines().next().map(str::trim) else {
        return Ok(None);
    };
    if tree.len() < 40 || !tree.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let blob = run(root, &["cat-file", "blob", &format!("{tree}:{path}")])?;
    Ok(blob.ok.then_some(blob.stdout))
}

/// How many commits HEAD has that its upstream lacks; `None` when git cannot
/// count them.
pub fn ahead_of_upstream(root: &Path) -> Result<Option<u64>> {
    let r = run(root, &["rev-list", "--count", "@{upstream}..HEAD"])?;
    Ok(if r.ok {
        r.stdout.trim().parse().ok()
    } else {
        None
    })
}

/// Push HEAD to the upstream's merge ref (`git push <remote> HEAD:<ref>`),
/// quietly, never prompting for credentials.
pub fn push_head(root: &Path, to: &Upstream) -> Result<Result<(), Refusal>> {
    let dest = format!("HEAD:{}", to.merge_ref);
    let r = run(root, &["push", "--quiet", &to.remote, &dest])?;
    Ok(if r.ok {
        Ok(())
    } else {
        Err(Refusal { stderr: r.stderr })
    })
}

impl Refusal {
    /// The first line with text on it, trimmed.
    pub fn first_line(&self) -> String {
        self.stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string()
    }

    /// Why git refused: the first line naming a rejection or an error (a
    /// push's `! [rejected] … (fetch first)`, `error: …`), else the first
    /// line (`To <url>` alone says nothing).
    pub fn reason(&self) -> String {
        self.stderr
            .lines()
            .map(str::trim)
            .find(|l| {
                l.contains("[rejected]")
                    || l.contains("[remote rejected]")
                    || l.starts_with("error:")
                    || l.starts_with("fatal:")
                    || l.starts_with("remote: error:")
            })
            .map(str::to_string)
            .unwrap_or_else(|| self.first_line())
    }

    /// Its first line without git's `error: `/`fatal: ` plus the files git
    /// lists under it (tab-indented, as in "would be overwritten by merge:"),
    /// so the user learns which files block the merge.
    pub fn summary(&self) -> String {
        let head = self.first_line();
        let head = head
            .strip_prefix("error: ")
            .or_else(|| head.strip_prefix("fatal: "))
            .unwrap_or(&head);
        let files: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with('\t') || l.starts_with("  "))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if files.is_empty() {
            head.chars().take(300).collect()
        } else {
            format!(
                "{} {}",
                head.trim_end_matches(':').to_string() + ":",
                files.join(", ")
            )
        }
    }

    /// What the `beads` merge driver said when it could not merge a file
    /// (its `cannot merge` line), if it said so.
    pub fn driver_complaint(&self) -> Option<String> {
        self.stderr
            .lines()
            .find(|l| l.contains("cannot merge"))
            .map(|l| l.trim().trim_start_matches("Error: ").to_string())
    }
}

/// Whether `remote` names a remote git knows here (`remote.<name>.url`),
/// or is itself a URL or a path (it has a `/` or a `:`).
pub fn is_remote(root: &Path, remote: &str) -> Result<bool> {
    if remote.contains('/') || remote.contains(':') {
        return Ok(true);
    }
    Ok(run(root, &["config", &format!("remote.{remote}.url")])?.ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(stderr: &str) -> Refusal {
        Refusal {
            stderr: stderr.to_string(),
        }
    }

    #[test]
    fn lists_the_blocking_files() {
        let err = "error: The following untracked working tree files would be overwritten by merge:\n\tnotes.txt\n\tsrc/a.rs\nPlease move or remove them before you merge.\nAborting\n";
        assert_eq!(
            refusal(err).summary(),
            "The following untracked working tree files would be overwritten by merge: notes.txt, src/a.rs"
        );
        assert_eq!(refusal("fatal: refusing\n").summary(), "refusing");
    }

    #[test]
    fn reason_is_the_rejection_not_the_url() {
        let err = "To /tmp/r.git\n ! [rejected]        main -> main (fetch first)\nerror: failed to push some refs to '/tmp/r.git'\n";
        assert_eq!(
            refusal(err).reason(),
            "! [rejected]        main -> main (fetch first)"
        );
        assert_eq!(refusal("To x\nsomething\n").reason(), "To x");
    }

    #[test]
    fn first_line_skips_blank_lines() {
        assert_eq!(
            refusal("\n  fatal: no such remote  \nmore\n").first_line(),
            "fatal: no such remote"
        );
        assert_eq!(refusal("").first_line(), "");
    }

    #[test]
    fn driver_complaint_is_the_cannot_merge_line() {
        let err = "Auto-merging .beads/issues.jsonl\nError: cannot merge .beads/issues.jsonl: line 3 does not parse\nCONFLICT (content)\n";
        assert_eq!(
            refusal(err).driver_complaint().as_deref(),
            Some("cannot merge .beads/issues.jsonl: line 3 does not parse")
        );
        assert_eq!(refusal("CONFLICT (content)\n").driver_complaint(), None);
    }

    #[test]
    fn reads_unpushed_commits_with_their_paths() {
        let log = "\0abc1234 Add a thing\n\n.beads/issues.jsonl\nsrc/a.rs\n\0def5678 Sync\n\n.beads/issues.jsonl\n\0fed4321 Empty\n";
        assert_eq!(
            parse_unpushed(log),
            vec![
                Unpushed {
                    summary: "abc1234 Add a thing".into(),
                    paths: vec![".beads/issues.jsonl".into(), "src/a.rs".into()],
                },
                Unpushed {
                    summary: "def5678 Sync".into(),
                    paths: vec![".beads/issues.jsonl".into()],
                },
                Unpushed {
                    summary: "fed4321 Empty".into(),
                    paths: vec![],
                },
            ]
        );
        assert_eq!(parse_unpushed(""), vec![]);
    }
}

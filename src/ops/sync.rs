//! `bd sync`: commit the tracker, fetch, merge the upstream (never rebase; the
//! merge driver merges `.beads/`), push (retried once). One sync per project at
//! a time on this machine. Nothing half-done is left: a failed merge is aborted.

use crate::error::{Error, Result};
use crate::git::{self, transport};
use crate::ops::Ctx;

#[derive(Debug, Default, serde::Serialize)]
pub struct SyncReport {
    pub committed: Option<String>,
    pub merged: bool,
    pub pushed: bool,
    pub push_attempts: u32,
    pub up_to_date: bool,
    /// (issue, new holder) for claims this actor held before and lost in the merge.
    pub claims_lost: Vec<(String, String)>,
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// What git said when it refused: its first line plus the files it lists
/// under it (tab-indented, as in "would be overwritten by merge:"), so the
/// user learns which files block the merge.
fn git_refusal(stderr: &str) -> String {
    let head = first_line(stderr);
    let head = head
        .strip_prefix("error: ")
        .or_else(|| head.strip_prefix("fatal: "))
        .unwrap_or(&head);
    let files: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with('\t') || l.starts_with("    "))
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

fn my_claims(ctx: &Ctx) -> Vec<String> {
    ctx.snapshot()
        .map(|s| {
            s.rows
                .iter()
                .filter(|r| r.status == "in_progress" && r.assignee == ctx.actor)
                .map(|r| r.id.clone())
                .collect()
        })
        .unwrap_or_default()
}

pub fn sync(ctx: &Ctx, all: bool) -> Result<SyncReport> {
    let root = &ctx.ws.root;
    let dirs = git::dirs(root)?;
    // The home this workspace proved it belongs to (issue 9, item 2): an
    // unproven workspace must not hold up the syncs of the project it names.
    let _sync_lock = match ctx.home()? {
        Some(home) => Some(home.lock("sync")?),
        None => None,
    };
    if let Some(reason) = git::commit::busy(&dirs) {
        return Err(Error::Invalid {
            msg: format!("cannot sync: {reason}"),
            hint: Some("finish or abort it first".into()),
        });
    }
    let branch = transport::run(root, &["symbolic-ref", "-q", "--short", "HEAD"])?;
    if !branch.ok {
        return Err(Error::Invalid {
            msg: "cannot sync on a detached HEAD".into(),
            hint: Some("check out a branch first".into()),
        });
    }
    let branch = branch.stdout.trim().to_string();
    let remote = transport::run(root, &["config", &format!("branch.{branch}.remote")])?;
    let merge_ref = transport::run(root, &["config", &format!("branch.{branch}.merge")])?;
    if !remote.ok || !merge_ref.ok {
        return Err(Error::Invalid {
            msg: format!("branch {branch} has no upstream"),
            hint: Some(format!("set one with `git push -u origin {branch}`")),
        });
    }
    let remote = remote.stdout.trim().to_string();
    let merge_ref = merge_ref.stdout.trim().to_string();
    let mut rep = SyncReport::default();

    let subject = crate::ops::gitops::describe_pending_subject(ctx);
    if let git::commit::Outcome::Committed { id, .. } = ctx.commit_beads(&subject, None)? {
        rep.committed = Some(id);
    }
    let before = my_claims(ctx);

    let fetch = |rep: &mut SyncReport| -> Result<()> {
        let f = transport::run(root, &["fetch", "--quiet", &remote])?;
        if !f.ok {
            return Err(Error::Invalid {
                msg: format!(
                    "cannot reach the remote '{remote}': {}",
                    first_line(&f.stderr)
                ),
                hint: Some(
                    "check the network and the remote URL; nothing was merged or pushed (tracker changes were committed locally)"
                        .into(),
                ),
            });
        }
        let _ = rep;
        Ok(())
    };
    fetch(&mut rep)?;

    // Unpushed commits that carry code: refuse unless --all.
    let unpushed = transport::run(
        root,
        &[
            "log",
            "--format=%x00%h %s",
            "--name-only",
            "@{upstream}..HEAD",
        ],
    )?;
    if unpushed.ok && !all {
        let mut code_commits = Vec::new();
        for block in unpushed.stdout.split('\0').filter(|b| !b.trim().is_empty()) {
            let mut lines = block.lines();
            let head = lines.next().unwrap_or("").to_string();
            if lines.any(|p| !p.trim().is_empty() && !p.starts_with(".beads/")) {
                code_commits.push(head);
            }
        }
        if !code_commits.is_empty() {
            return Err(Error::Invalid {
                msg: format!(
                    "unpushed commits touch code, not only .beads/: {}",
                    code_commits.join("; ")
                ),
                hint: Some("push them yourself, or `bd sync --all` to push them too".into()),
            });
        }
    }

    let driver = std::env::current_exe()
        .map(|p| {
            format!(
                "merge.beads.driver={} merge %O %A %B %P",
                shell_quote(&p.to_string_lossy())
            )
        })
        .unwrap_or_else(|_| format!("merge.beads.driver={}", git::driver::DRIVER));
    let merge = |rep: &mut SyncReport| -> Result<()> {
        let behind = transport::run(
            root,
            &["merge-base", "--is-ancestor", "@{upstream}", "HEAD"],
        )?;
        if behind.ok {
            return Ok(());
        }
        let head = transport::run(root, &["rev-parse", "--verify", "HEAD"])?;
        let m = transport::run(
            root,
            &[
                "-c",
                &driver,
                "merge",
                "--no-edit",
                "--quiet",
                "@{upstream}",
            ],
        )?;
        if m.ok {
            refuse_unreadable_merge(ctx, head.stdout.trim())?;
            rep.merged = true;
            return Ok(());
        }
        let conflicted = transport::run(root, &["diff", "--name-only", "--diff-filter=U"])?;
        let files: Vec<String> = conflicted.stdout.lines().map(str::to_string).collect();
        let _ = transport::run(root, &["merge", "--abort"]);
        let (tracker, code): (Vec<&String>, Vec<&String>) =
            files.iter().partition(|f| f.starts_with(".beads/"));
        if code.is_empty() && !tracker.is_empty() {
            let why = m
                .stderr
                .lines()
                .find(|l| l.contains("cannot merge"))
                .map(|l| format!(" ({})", l.trim().trim_start_matches("Error: ")))
                .unwrap_or_default();
            return Err(Error::Invalid {
                msg: format!(
                    "the tracker merge failed for {}{why}; the merge was aborted",
                    tracker.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
                hint: Some(
                    "a side has lines that do not parse: run `bd doctor --fix` where they were written, push, and sync again"
                        .into(),
                ),
            });
        }
        Err(Error::Invalid {
            msg: if files.is_empty() {
                format!("git merge failed: {}", git_refusal(&m.stderr))
            } else {
                format!(
                    "merge conflicts outside the tracker: {}; the merge was aborted",
                    files.join(", ")
                )
            },
            hint: Some(
                "merge the upstream yourself (`git merge @{upstream}`), then `bd sync` again"
                    .into(),
            ),
        })
    };
    merge(&mut rep)?;

    let dest = format!("HEAD:{merge_ref}");
    let ahead = transport::run(root, &["rev-list", "--count", "@{upstream}..HEAD"])?;
    if ahead.ok && ahead.stdout.trim() == "0" {
        rep.up_to_date = !rep.merged && rep.committed.is_none();
    } else {
        loop {
            rep.push_attempts += 1;
            let p = transport::run(root, &["push", "--quiet", &remote, &dest])?;
            if p.ok {
                rep.pushed = true;
                break;
            }
            if rep.push_attempts >= 2 {
                return Err(Error::Invalid {
                    msg: format!(
                        "push to '{remote}' rejected twice: {}",
                        first_line(&p.stderr)
                    ),
                    hint: Some("someone pushes faster than we merge; run `bd sync` again".into()),
                });
            }
            fetch(&mut rep)?;
            merge(&mut rep)?;
        }
    }
    let after = my_claims(ctx);
    if !before.is_empty() {
        let snap = ctx.snapshot()?;
        for id in before.iter().filter(|id| !after.contains(id)) {
            let holder = snap
                .find(id)
                .map(|r| {
                    if r.assignee.is_empty() {
                        r.status.clone()
                    } else {
                        r.assignee.clone()
                    }
                })
                .unwrap_or_default();
            rep.claims_lost.push((id.clone(), holder));
        }
        forget_lost_claims(ctx, &rep.claims_lost);
    }
    Ok(rep)
}

/// A claim of this actor the merge ruled lost (to a close, delete or release
/// it never saw: SPEC §5, DESIGN "The state register") leaves its `claimed`
/// or `hooked` entry in the project home's ledger with a higher epoch than
/// the merged record, so the effective state would still show it held. The
/// ledger follows the merge: such an entry is dropped, and the effective
/// state is the merged record. Best effort: the merge itself is done.
/// After a merge git made line by line: the settings every command reads
/// first must still parse. Two clones that each set a key on a different
/// line merge without a conflict into a key set twice, which every command
/// would then refuse; such a merge is undone (back to `head`, local changes
/// kept) before anything is pushed, and the error names file, line and fault.
fn refuse_unreadable_merge(ctx: &Ctx, head: &str) -> Result<()> {
    let Err(e) = crate::store::config::Config::load(&ctx.ws.config_path()) else {
        return Ok(());
    };
    let undo = transport::run(&ctx.ws.root, &["reset", "--quiet", "--keep", head])?;
    Err(Error::Invalid {
        msg: format!(
            "the merge of the upstream leaves {e}; {}",
            if undo.ok {
                "the merge was undone and nothing was pushed"
            } else {
                "nothing was pushed, and the merge could not be undone"
            }
        ),
        hint: Some(
            "merge by hand (`git merge @{upstream}`), repair it (`bd doctor --fix` keeps the first setting of each key), commit, and `bd sync` again"
                .into(),
        ),
    })
}

fn forget_lost_claims(ctx: &Ctx, lost: &[(String, String)]) {
    use crate::home::ledger::Event;
    if lost.is_empty() {
        return;
    }
    let (Ok(Some(home)), Ok(snap)) = (ctx.home(), ctx.snapshot()) else {
        return;
    };
    let _ = crate::home::ledger::with_ledger(&home, |ledger| {
        for (id, _) in lost {
            let Some(rec) = snap.find(id).and_then(|row| snap.record(row).ok()) else {
                continue;
            };
            let stale = ledger.get(id).is_some_and(|e| {
                e.epoch > rec.claim_epoch()
                    && match &e.event {
                        Event::Claimed { holder, .. } => holder == &ctx.actor,
                        Event::Hooked { agent, .. } => agent == &ctx.actor,
                        _ => false,
                    }
            });
            if stale {
                ledger.remove(id);
            }
        }
        Ok(())
    });
}

/// Quote a path for git's `sh -c` of the merge driver.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod refusal_tests {
    use super::git_refusal;

    #[test]
    fn lists_the_blocking_files() {
        let err = "error: The following untracked working tree files would be overwritten by merge:\n\tnotes.txt\n\tsrc/a.rs\nPlease move or remove them before you merge.\nAborting\n";
        assert_eq!(
            git_refusal(err),
            "The following untracked working tree files would be overwritten by merge: notes.txt, src/a.rs"
        );
        assert_eq!(git_refusal("fatal: refusing\n"), "refusing");
    }
}

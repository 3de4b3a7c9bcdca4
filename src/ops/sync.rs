//! `bd sync`: commit the tracker, fetch, merge the upstream (never rebase; the
//! merge driver merges `.beads/`), push (retried once). One sync per project at
//! a time on this machine. Nothing half-done is left: a failed merge is aborted.

use crate::error::{Error, Result};
use crate::git::{self, remote};
use crate::model::kinds::Status;
use crate::ops::Session;

#[derive(Debug, Default, serde::Serialize)]
pub struct SyncReport {
    pub committed: Option<String>,
    pub merged: bool,
    pub pushed: bool,
    pub push_attempts: u32,
    pub up_to_date: bool,
    /// (issue, new holder) for claims this actor held before and lost in the merge.
    pub claims_lost: Vec<(String, String)>,
    /// (old id, new id) for claims this actor still holds under another id:
    /// a collision rename (SPEC §5) gave the old id to an older issue.
    pub claims_renamed: Vec<(String, String)>,
    /// In remote coordination, what was settled with the remote's claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<crate::ops::remote::Settled>,
}

/// This actor's claims: (id, `created_at`), the identity a rename keeps.
fn my_claims(ctx: &Session) -> Vec<(String, crate::model::time::Nanos)> {
    ctx.snapshot()
        .map(|s| {
            s.rows
                .iter()
                .filter(|r| r.state() == Status::InProgress && r.assignee == ctx.actor)
                .map(|r| (r.id.clone(), r.created_at))
                .collect()
        })
        .unwrap_or_default()
}

/// How many times sync pushes (merging what it was refused over in
/// between) before it gives up.
const PUSH_ATTEMPTS: u32 = 5;

fn pause(attempt: u32) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let jitter = u64::from((std::process::id() ^ nanos) % 200);
    let ms = u64::from(attempt) * 100 + jitter;
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

pub fn sync(ctx: &Session, all: bool) -> Result<SyncReport> {
    if ctx.env.offline {
        return Err(Error::Invalid {
            msg: "sync fetches and pushes, and --sandbox keeps this command off the network".into(),
            hint: Some(
                "`bd commit` records the tracker's changes locally; sync without --sandbox later"
                    .into(),
            ),
        });
    }
    let root = &ctx.ws.root;
    // The home this workspace proved it belongs to (issue 9, item 2): an
    // unproven workspace must not hold up the syncs of the project it names.
    let _sync_lock = match ctx.home()? {
        Some(home) => Some(home.lock("sync")?),
        None => None,
    };
    let upstream = syncable(ctx)?;
    let spool = crate::ops::mail::fetch_remote(ctx);
    let mut rep = SyncReport::default();
    // The remote arbitrates what was done offline before anything is
    // committed: a claim it gave to another is released here first, so the
    // merge never carries it over the winner's.
    let mut settled = crate::ops::remote::settle_offline(ctx)?;
    if let Some(s) = &settled
        && !s.lost.is_empty()
    {
        crate::ops::edit::yield_lost(ctx, &s.lost)?;
    }
    let subject = crate::ops::gitops::describe_pending_subject(ctx);
    if let git::commit::Outcome::Committed { id, .. } = ctx.commit_beads(&subject, None)? {
        rep.committed = Some(id);
    }
    let before = my_claims(ctx);
    fetch(ctx, &upstream)?;
    if !all {
        refuse_code_commits(ctx)?;
    }
    let driver = std::env::current_exe()
        .map(|p| git::driver::command(&p))
        .unwrap_or_else(|_| git::driver::DRIVER.to_string());
    merge(ctx, &driver, &mut rep)?;
    if remote::ahead_of_upstream(root)? == Some(0) {
        rep.up_to_date = !rep.merged && rep.committed.is_none();
    } else {
        loop {
            rep.push_attempts += 1;
            let Err(refusal) = remote::push_head(root, &upstream)? else {
                rep.pushed = true;
                break;
            };
            if rep.push_attempts >= PUSH_ATTEMPTS {
                return Err(Error::Invalid {
                    msg: format!(
                        "push to '{}' rejected {PUSH_ATTEMPTS} times: {}",
                        upstream.remote,
                        refusal.reason()
                    ),
                    hint: Some("someone pushes faster than we merge; run `bd sync` again".into()),
                });
            }
            // Racing syncs of many clones: a short, growing, jittered wait
            // so they do not retry in lock step.
            pause(rep.push_attempts);
            fetch(ctx, &upstream)?;
            merge(ctx, &driver, &mut rep)?;
        }
    }
    // Also renames a plain `git pull` made before this sync.
    follow_renames(ctx);
    if let Some(s) = settled.as_mut()
        && (rep.pushed || rep.up_to_date)
    {
        s.pruned = crate::ops::remote::prune(ctx)?;
    }
    rep.remote = settled;
    crate::ops::relay::settle(ctx, spool);
    if !before.is_empty() {
        (rep.claims_lost, rep.claims_renamed) = lost_claims(ctx, &before)?;
        forget_lost_claims(ctx, &rep.claims_lost);
    }
    Ok(rep)
}

/// The upstream to sync with, when nothing stands in the way: no merge or
/// rebase under way, a branch checked out, an upstream set.
fn syncable(ctx: &Session) -> Result<remote::Upstream> {
    let root = &ctx.ws.root;
    if let Some(reason) = git::commit::busy(&git::dirs(root)?) {
        return Err(Error::Invalid {
            msg: format!("cannot sync: {reason}"),
            hint: Some("finish or abort it first".into()),
        });
    }
    let Some(branch) = remote::branch(root)? else {
        return Err(Error::Invalid {
            msg: "cannot sync on a detached HEAD".into(),
            hint: Some("check out a branch first".into()),
        });
    };
    remote::upstream_of(root, &branch)?.ok_or_else(|| Error::Invalid {
        msg: format!("branch {branch} has no upstream"),
        hint: Some(format!("set one with `git push -u origin {branch}`")),
    })
}

fn fetch(ctx: &Session, upstream: &remote::Upstream) -> Result<()> {
    if let Err(refusal) = remote::fetch(&ctx.ws.root, &upstream.remote)? {
        return Err(Error::Invalid {
            msg: format!(
                "cannot reach the remote '{}': {}",
                upstream.remote,
                refusal.first_line()
            ),
            hint: Some(
                "check the network and the remote URL; nothing was merged or pushed (tracker changes were committed locally)"
                    .into(),
            ),
        });
    }
    Ok(())
}

/// Unpushed commits that carry code: sync pushes them only with `--all`.
fn refuse_code_commits(ctx: &Session) -> Result<()> {
    let Some(unpushed) = remote::unpushed_commits(&ctx.ws.root)? else {
        return Ok(());
    };
    let code_commits: Vec<String> = unpushed
        .into_iter()
        .filter(|c| c.paths.iter().any(|p| !p.starts_with(".beads/")))
        .map(|c| c.summary)
        .collect();
    if code_commits.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid {
        msg: format!(
            "unpushed commits touch code, not only .beads/: {}",
            code_commits.join("; ")
        ),
        hint: Some("push them yourself, or `bd sync --all` to push them too".into()),
    })
}

/// Merge the upstream (the merge driver merges `.beads/`); a merge that
/// stops is aborted, and the error says why and what to do.
fn merge(ctx: &Session, driver: &str, rep: &mut SyncReport) -> Result<()> {
    let root = &ctx.ws.root;
    if remote::contains_upstream(root)? {
        return Ok(());
    }
    refuse_unreadable_merge(ctx)?;
    let (files, refusal) = match remote::merge_upstream(root, driver)? {
        remote::MergeOutcome::Merged => {
            rep.merged = true;
            return Ok(());
        }
        remote::MergeOutcome::Aborted {
            conflicted,
            refusal,
        } => (conflicted, refusal),
    };
    let (tracker, code): (Vec<&String>, Vec<&String>) =
        files.iter().partition(|f| f.starts_with(".beads/"));
    if code.is_empty() && tracker.iter().any(|f| *f == ".beads/config.toml") {
        return Err(Error::Invalid {
            msg: "both sides changed the same settings in .beads/config.toml; the merge was aborted".into(),
            hint: Some(
                "merge by hand: `git merge @{upstream}`, then `bd doctor --fix` (it merges the two sides of config.toml), `git commit`, and `bd sync` again"
                    .into(),
            ),
        });
    }
    if code.is_empty() && !tracker.is_empty() {
        let why = refusal
            .driver_complaint()
            .map(|c| format!(" ({c})"))
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
            format!("git merge failed: {}", refusal.summary())
        } else {
            format!(
                "merge conflicts outside the tracker: {}; the merge was aborted",
                files.join(", ")
            )
        },
        hint: Some(
            if files.is_empty() && refusal.summary().contains("would be overwritten") {
                "commit, stash or move those files (`git stash -u`), then `bd sync` again"
            } else {
                "merge the upstream yourself (`git merge @{upstream}`), then `bd sync` again"
            }
            .into(),
        ),
    })
}

/// The claims of this actor before the merge that it no longer holds:
/// (issue, its holder now, or its status when nobody holds it); and those it
/// holds under a new id, renamed by a collision (old id, new id).
type Lost = (Vec<(String, String)>, Vec<(String, String)>);
fn lost_claims(ctx: &Session, before: &[(String, crate::model::time::Nanos)]) -> Result<Lost> {
    let after = my_claims(ctx);
    let snap = ctx.snapshot()?;
    let holds = |id: &str| after.iter().any(|(a, _)| a == id);
    let (mut lost, mut renamed) = (Vec::new(), Vec::new());
    for (id, created) in before.iter().filter(|(id, _)| !holds(id)) {
        if let Some(to) = crate::ops::coord::renamed_to(&snap, id, *created).filter(|to| holds(to))
        {
            renamed.push((id.clone(), to));
            continue;
        }
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
        lost.push((id.clone(), holder));
    }
    Ok((lost, renamed))
}

/// The ledger follows the renames the merge made (`coord::follow_renames`).
/// Best effort: the merge itself is done; until then every view looks
/// entries up by identity.
fn follow_renames(ctx: &Session) {
    let (Ok(Some(home)), Ok(snap)) = (ctx.home(), ctx.snapshot()) else {
        return;
    };
    let _ = crate::home::ledger::with_ledger(&home, |ledger| {
        crate::ops::coord::follow_renames(ledger, &snap);
        Ok(())
    });
}

/// Before a merge git makes line by line: the settings every command reads
/// first must still parse after it. Two clones that each set a key on a
/// different line merge without a conflict into a key set twice, which
/// every command would then refuse; such a merge is not made (nothing in the
/// index or working tree is touched, nothing is pushed) and the error names
/// file, line and fault. Settings git cannot merge at all are the merge's
/// own refusal (the files in conflict are named).
fn refuse_unreadable_merge(ctx: &Session) -> Result<()> {
    let Some(text) = remote::merged_text(&ctx.ws.root, ".beads/config.toml")? else {
        return Ok(());
    };
    if crate::git::stages::has_markers(text.as_bytes()) {
        return Ok(());
    }
    let Err(e) = crate::store::config::Config::parse(&ctx.ws.config_path(), &text) else {
        return Ok(());
    };
    Err(Error::Invalid {
        msg: format!(
            "the merge of the upstream would leave {e}; nothing was merged or pushed"
        ),
        hint: Some(
            "merge by hand (`git merge @{upstream}`), repair it (`bd doctor --fix` keeps the first setting of each key), commit, and `bd sync` again"
                .into(),
        ),
    })
}

/// A claim of this actor the merge ruled lost (to a close, delete or release
/// it never saw: SPEC §5, DESIGN "The state register") leaves its `claimed`
/// or `hooked` entry in the project home's ledger with a higher epoch than
/// the merged record, so the effective state would still show it held. The
/// ledger follows the merge: such an entry is dropped, and the effective
/// state is the merged record. Best effort: the merge itself is done.
fn forget_lost_claims(ctx: &Session, lost: &[(String, String)]) {
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
            let stale = ledger.find(id).is_some_and(|e| {
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

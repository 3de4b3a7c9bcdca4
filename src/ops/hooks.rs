//! Hooks (SPEC §7): the work pinned to an agent, which survives crashes and
//! restarts. `bd sling <id> <agent>` sets the issue `hooked` to the agent,
//! writes `.beads/hooks/<agent>.json` (committed, merged as a set), a
//! `hooked` ledger entry and a delivery in the project home, so the agent sees
//! it at once in any workspace. `bd hook` shows the effective hook (file
//! overlaid with deliveries and the ledger); `bd unhook` takes work off.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::error::{Error, Missing, Result};
use crate::files::atomic;
use crate::home::ledger::Event;
use crate::home::{deliveries, presence};
use crate::model::kinds::Status;
use crate::ops::write::{Guard, Outcome, apply_pub, apply_seen_in, coordinated};
use crate::ops::{Session, coord, unchanged};
use crate::store::hooks::{self as hook_files, Hook};

/// Read-modify-write `agent`'s hook file under the workspace lock, so two
/// commands changing one hook never drop each other's items. The caller holds
/// no lock (SPEC §2 order: project-home locks first, then this one).
fn with_hook<T>(
    ctx: &Session,
    agent: &str,
    change: impl FnOnce(&mut Hook) -> Result<T>,
) -> Result<T> {
    ctx.refuse_unmerged()?;
    let _lock =
        crate::files::lock::acquire(&ctx.ws.lock_path(), crate::files::lock::default_timeout())?;
    let mut hook = hook_files::read_hook(&ctx.ws, agent)?;
    let before = hook.clone();
    let out = change(&mut hook)?;
    if hook != before {
        hook_files::write_hook(&ctx.ws, &hook)?;
    }
    Ok(out)
}

/// `bd sling <id> <agent>`.
pub fn sling(ctx: &Session, id: &str, agent: &str, note: Option<&str>) -> Result<Outcome> {
    presence::validate_agent_name(agent)?;
    let mut outs =
        crate::ops::hooks::hook_issues(ctx, &[(id.to_string(), agent.to_string())], false, note)?;
    Ok(outs.remove(0))
}

/// Sling a round of `(id, agent)` assignments in one tracker write (dispatch);
/// issues taken meanwhile are skipped. Returns the pairs that were slung.
pub fn sling_many(
    ctx: &Session,
    assignments: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    for (_, a) in assignments {
        presence::validate_agent_name(a)?;
    }
    let outcomes = crate::ops::hooks::hook_issues(ctx, assignments, true, None)?;
    Ok(outcomes
        .into_iter()
        .filter(|o| o.changed)
        .map(|o| {
            let agent = o.record.nonempty("assignee").unwrap_or_default();
            (o.record.id().to_string(), agent)
        })
        .collect())
}

/// What [`attach_locked`] wrote, to put back byte for byte when the write
/// that follows it (ledger, tracker) fails (issue 9, item 8).
#[derive(Debug, Default)]
pub struct Attached {
    /// Hook files: path and bytes before (`None`: there was none).
    hooks: Vec<(PathBuf, Option<Vec<u8>>)>,
    deliveries: Option<deliveries::Saved>,
}

impl Attached {
    /// Put the hook files and deliveries back as they were. The caller still
    /// holds the workspace lock (and the ledger lock) it wrote them under.
    pub fn undo(self, ctx: &Session) {
        let mut failed = Vec::new();
        for (p, before) in &self.hooks {
            let r = match before {
                Some(b) => atomic::write(p, b),
                None => match crate::files::remove_file(p) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(p, e)),
                    _ => Ok(()),
                },
            };
            if let Err(e) = r {
                failed.push(e.to_string());
            }
        }
        if let (Some(saved), Ok(Some(home))) = (&self.deliveries, ctx.home())
            && let Err(e) = deliveries::restore(&home, saved)
        {
            failed.push(e.to_string());
        }
        if !failed.is_empty() {
            ctx.warn(format!(
                "cannot put back the hook files and deliveries of the failed sling: {}",
                failed.join("; ")
            ));
        }
    }
}

/// Record slung issues in their agents' hook files and deliver them, before
/// the tracker write that slings them: the caller holds the ledger lock and
/// the workspace lock, and calls [`Attached::undo`] if its own write fails.
/// A failure here puts back what this call wrote and writes nothing else.
pub fn attach_locked(ctx: &Session, outs: &[Outcome], note: Option<&str>) -> Result<Attached> {
    let mut by_agent: std::collections::BTreeMap<String, Vec<&Outcome>> = Default::default();
    for o in outs {
        let agent = o.record.nonempty("assignee").unwrap_or_default();
        by_agent.entry(agent).or_default().push(o);
    }
    let mut done = Attached::default();
    let result = (|| -> Result<()> {
        for (agent, outs) in &by_agent {
            let p = hook_files::hook_path(&ctx.ws, agent);
            let before = match crate::files::read(&p) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io(&p, e)),
            };
            let mut hook = hook_files::read_hook(&ctx.ws, agent)?;
            let old = hook.clone();
            for o in outs {
                if !hook.items.iter().any(|i| i == o.record.id()) {
                    hook.items.push(o.record.id().to_string());
                }
            }
            hook.attached_by = ctx.actor.clone();
            hook.attached_at = ctx.now_text();
            if let Some(n) = note {
                hook.note = (!n.is_empty()).then(|| n.to_string());
            }
            if hook != old {
                done.hooks.push((p, before));
                hook_files::write_hook(&ctx.ws, &hook)?;
            }
        }
        let Some(home) = ctx.home()? else {
            return Ok(());
        };
        let agents: Vec<&str> = by_agent.keys().map(String::as_str).collect();
        done.deliveries = Some(deliveries::save(&home, &agents)?);
        for (agent, outs) in &by_agent {
            // One write of the agent's deliveries, one pass over the others'.
            let ds: Vec<deliveries::Delivery> = outs
                .iter()
                .map(|o| deliveries::Delivery {
                    agent: agent.to_string(),
                    issue: o.record.id().to_string(),
                    by: ctx.actor.clone(),
                    at: ctx.now_text(),
                    epoch: o.record.claim_epoch(),
                    note: note.filter(|n| !n.is_empty()).map(str::to_string),
                })
                .collect();
            deliveries::deliver_many(&home, agent, &ds)?;
            let items: Vec<(String, Option<String>)> = outs
                .iter()
                .map(|o| (o.record.id().to_string(), Some(agent.to_string())))
                .collect();
            deliveries::retract_many(&home, &items)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(done),
        Err(e) => {
            done.undo(ctx);
            Err(e)
        }
    }
}

/// What is on an agent's hook, by the one definition (issue 9, item 16).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EffectiveHook {
    /// Issue IDs, sorted.
    pub items: Vec<String>,
    /// The note of the latest sling still on the hook (`sling --note`).
    pub note: Option<String>,
}

/// The effective hook of `agent`: the issues whose effective state
/// ([`crate::ops::coord::effective_holder`]: the record overlaid with a newer
/// ledger entry) is `hooked` to it, here or in another workspace of the
/// project. The hook file and the deliveries carry slings between workspaces
/// and across restarts; they do not decide. `hook`, `prime`, `agents`,
/// `unhook` and materializing all read this.
pub fn effective_hook(ctx: &Session, agent: &str) -> Result<EffectiveHook> {
    let items = crate::ops::coord::holdings(ctx)?
        .remove(agent)
        .map(|h| h.hook)
        .unwrap_or_default();
    if items.is_empty() {
        return Ok(EffectiveHook::default());
    }
    // The note: the hook file's, else the latest delivery's, while an item
    // it came with is still on the hook.
    let file = hook_files::read_hook(&ctx.ws, agent)?;
    let mut note = file
        .note
        .filter(|_| file.items.iter().any(|i| items.contains(i)))
        .map(|n| (file.attached_at.clone(), n));
    if let Some(home) = ctx.home()? {
        for d in deliveries::pending_for(&home, agent).0 {
            if let Some(n) = d.note
                && items.contains(&d.issue)
                && note.as_ref().is_none_or(|(at, _)| *at < d.at)
            {
                note = Some((d.at, n));
            }
        }
    }
    Ok(EffectiveHook {
        items,
        note: note.map(|(_, n)| n),
    })
}

/// The items of the effective hook of `agent` ([`effective_hook`]).
pub fn effective(ctx: &Session, agent: &str) -> Result<Vec<String>> {
    Ok(effective_hook(ctx, agent)?.items)
}

/// After a write by an agent (SPEC §7: "the agent's next write materializes
/// them"): the work slung to it from other workspaces goes into its hook file
/// here, and those deliveries are acknowledged. Items no longer hooked to it
/// (claimed, released, closed since) are only acknowledged.
pub fn materialize(ctx: &Session) -> Result<usize> {
    let Some(home) = ctx.home()? else {
        return Ok(0);
    };
    let agent = ctx.actor.clone();
    let (pending, _) = deliveries::pending_for(&home, &agent);
    if pending.is_empty() {
        return Ok(0);
    }
    // What is still on the hook is judged under the lock: an unhook that
    // got there first is not undone.
    let added = with_hook(ctx, &agent, |hook| {
        let current: BTreeSet<String> = effective(ctx, &agent)?.into_iter().collect();
        let mut added = 0;
        for d in &pending {
            if current.contains(&d.issue) && !hook.items.contains(&d.issue) {
                hook.items.push(d.issue.clone());
                if hook.attached_at.is_empty() || hook.attached_at < d.at {
                    hook.attached_by = d.by.clone();
                    hook.attached_at = d.at.clone();
                }
                added += 1;
            }
        }
        Ok(added)
    })?;
    for d in &pending {
        deliveries::acknowledge(&home, &agent, &d.issue)?;
    }
    Ok(added)
}

/// `bd unhook [<id>] [--agent A]`: take one item (or all) off an agent's hook.
pub fn unhook(ctx: &Session, agent: &str, id: Option<&str>) -> Result<Vec<String>> {
    presence::validate_agent_name(agent)?;
    let current = effective(ctx, agent)?;
    let wanted: Vec<String> = match id {
        Some(q) => {
            let snap = ctx.snapshot()?;
            let prefix = ctx.prefix_of_rows(&snap.rows);
            let full = snap
                .resolve(q, &prefix)
                .map(|r| r.id.clone())
                .unwrap_or_else(|_| q.to_string());
            if !current.contains(&full) {
                return Err(Error::NotFound(Missing::Hooked {
                    id: full,
                    agent: agent.to_string(),
                }));
            }
            vec![full]
        }
        None => current,
    };
    if wanted.is_empty() {
        crate::ops::unchanged(ctx, format!("the hook of {agent} is empty"));
        return Ok(wanted);
    }
    crate::ops::hooks::unhook_issues(ctx, &wanted, agent)?;
    with_hook(ctx, agent, |hook| {
        hook.items.retain(|i| !wanted.contains(i));
        Ok(())
    })?;
    if let Some(home) = ctx.home()? {
        for w in &wanted {
            let _ = deliveries::acknowledge(&home, agent, w);
        }
    }
    Ok(wanted)
}

/// Put an issue on `agent`'s hook: status `hooked`, assignee the agent, epoch
/// up, under the ledger lock (refused when another holds it or it is done).
pub fn hook_issue(ctx: &Session, id: &str, agent: &str) -> Result<Outcome> {
    let mut outs = hook_issues(ctx, &[(id.to_string(), agent.to_string())], false, None)?;
    Ok(outs.remove(0))
}

/// Put several issues on agents' hooks in one transaction (`(id, agent)`
/// pairs; ids exact), with their hook files and deliveries. With
/// `skip_conflicts`, an issue someone else took meanwhile is left unchanged
/// instead of failing the batch (dispatch).
///
/// No half-done sling (issue 9, item 8): under the ledger lock and the
/// workspace lock, the hook files and deliveries are written first, then the
/// ledger, then the tracker; a failure at any step writes nothing after it
/// and puts back the exact bytes of what was written before it, under the
/// same locks (no undoing write with new stamps).
pub fn hook_issues(
    ctx: &Session,
    assignments: &[(String, String)],
    skip_conflicts: bool,
    note: Option<&str>,
) -> Result<Vec<Outcome>> {
    let agent_of: std::collections::HashMap<&str, &str> = assignments
        .iter()
        .map(|(i, a)| (i.as_str(), a.as_str()))
        .collect();
    let ids: Vec<String> = assignments.iter().map(|(i, _)| i.clone()).collect();
    let refuse = |msg: String| -> Result<Vec<&'static str>> {
        if skip_conflicts {
            Ok(vec![])
        } else {
            Err(Error::Conflict { msg, hint: None })
        }
    };
    coordinated(
        ctx,
        |ledger, publish| {
            let _ws = crate::files::lock::acquire(
                &ctx.ws.lock_path(),
                crate::files::lock::default_timeout(),
            )?;
            let mut attached: Option<crate::ops::hooks::Attached> = None;
            let mut attach_then_publish = |outs: &[Outcome]| -> Result<()> {
                // A re-sling to the same agent refreshes its hook file (note,
                // time); dispatch attaches only what it slung.
                let slung: Vec<Outcome> = outs
                    .iter()
                    .filter(|o| o.changed || !skip_conflicts)
                    .cloned()
                    .collect();
                if !slung.is_empty() {
                    attached = Some(crate::ops::hooks::attach_locked(ctx, &slung, note)?);
                }
                publish(outs)
            };
            let result = apply_seen_in(
                ctx,
                &ids,
                ledger,
                Guard::held(ledger, false),
                |_, rec| {
                    let agent = agent_of
                        .get(rec.id())
                        .or_else(|| agent_of.values().next())
                        .copied()
                        .unwrap_or_default();
                    let entry = ledger.and_then(|l| coord::entry_for(l, rec));
                    coord::apply_release(entry, rec);
                    if let Some(o) = coord::overlay(entry, rec)
                        && let Some(why) = coord::overlay_refusal(&o, rec.id(), agent)
                    {
                        return refuse(format!("cannot sling: {why}"));
                    }
                    let status = rec.state();
                    let assignee = rec.nonempty("assignee");
                    if status == Status::Hooked && assignee.as_deref() == Some(agent) {
                        unchanged(
                            ctx,
                            format!("{} is already on the hook of {agent}", rec.id()),
                        );
                        return Ok(vec![]);
                    }
                    match status {
                        Status::Open | Status::Hooked | Status::Deferred => {}
                        Status::InProgress if assignee.as_deref() == Some(agent) => {}
                        Status::Tombstone => {
                            return refuse(format!(
                                "cannot sling: {} is deleted; `bd restore` it first",
                                rec.id()
                            ));
                        }
                        s => {
                            return refuse(format!(
                                "cannot sling {}: it is {s}{}",
                                rec.id(),
                                assignee
                                    .map(|a| format!(" (held by {a})"))
                                    .unwrap_or_default()
                            ));
                        }
                    }
                    rec.set_status(Status::Hooked);
                    rec.set("assignee", agent);
                    rec.remove("defer_until");
                    rec.bump_claim_epoch();
                    rec.raise_claim_epoch_past(entry.map_or(0, |e| e.epoch));
                    Ok(vec!["assignee", "status"])
                },
                &mut attach_then_publish,
                true,
            );
            if result.is_err()
                && let Some(a) = attached.take()
            {
                a.undo(ctx);
            }
            result
        },
        |rec| {
            Some(Event::Hooked {
                agent: rec.nonempty("assignee").unwrap_or_default(),
                by: ctx.actor.clone(),
            })
        },
    )
}

/// Take issues off `agent`'s hook: hooked ones go back to `open`.
pub fn unhook_issues(ctx: &Session, ids: &[String], agent: &str) -> Result<Vec<Outcome>> {
    coordinated(
        ctx,
        |ledger, publish| {
            apply_pub(
                ctx,
                ids,
                Guard::held(ledger, false),
                |_, rec| {
                    // By the effective hook: a sling made in another
                    // workspace (only the ledger knows it yet) comes off too.
                    let entry = ledger.and_then(|l| coord::entry_for(l, rec));
                    if coord::effective_holder(entry, rec) != Some((agent.to_string(), true)) {
                        return Ok(vec![]);
                    }
                    if rec.state() == Status::Hooked {
                        rec.set_status(Status::Open);
                    }
                    rec.remove("assignee");
                    rec.bump_claim_epoch();
                    rec.raise_claim_epoch_past(entry.map_or(0, |e| e.epoch));
                    Ok(vec!["assignee", "status"])
                },
                publish,
            )
        },
        |_| Some(Event::Released),
    )
}

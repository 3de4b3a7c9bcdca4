//! The one write path of the verbs that change existing issues (DESIGN
//! "Coordination: one definition each"): a transaction over named issues,
//! the lost-claim guard every state write passes, the stamps, and — for the
//! coordinated verbs — the ledger entries published right before the
//! tracker write under the project's ledger lock. The verbs (`edit`,
//! `hooks`, `import`, `convoy`, …) call down into it.

use crate::error::{Error, Result};
use crate::home::ledger::{Event, Ledger};
use crate::model::record::Record;
use crate::ops::{Session, coord, remote, session, usage};
use crate::store::Tx;

/// What happened to one issue.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub record: Record,
    pub changed: bool,
}

/// What the write path judges lost claims by (issue 9, item 13; see
/// [`refuse_lost_claim`]).
#[derive(Clone, Copy)]
pub(crate) enum Guard<'a> {
    /// The actor insists (`--force`, a steal its lease allows): no check.
    Insist,
    /// The ledger a coordinated verb holds under its lock (`None`: no
    /// project home, nothing to lose).
    Ledger(Option<&'a Ledger>),
}

impl<'a> Guard<'a> {
    pub(crate) fn held(ledger: Option<&'a Ledger>, force: bool) -> Guard<'a> {
        if force {
            Guard::Insist
        } else {
            Guard::Ledger(ledger)
        }
    }
}

/// Apply `f` to each named issue in one transaction (`f` returns the
/// fields it changed; none: unchanged), then `after` on the same transaction before it is written (for
/// changes that must land in the same write, like a convoy closing).
pub(crate) fn apply_then(
    ctx: &Session,
    ids: &[String],
    guard: Guard,
    f: impl FnMut(&Tx, &mut Record) -> Result<Vec<&'static str>>,
    after: impl FnOnce(&mut Tx, &[Outcome]) -> Result<()>,
) -> Result<Vec<Outcome>> {
    apply_then_in(ctx, ids, guard, f, after, false)
}

/// [`apply_then`]; with `locked`, the caller already holds the workspace
/// lock (and keeps it past the write, to undo its own writes under it).
///
/// Every write of an existing issue's status, claim or tombstone group made
/// by a verb of this module passes here, and here only is it judged against
/// the actor's lost claims ([`refuse_lost_claim`]), whichever verb made it.
pub(crate) fn apply_then_in(
    ctx: &Session,
    ids: &[String],
    guard: Guard,
    mut f: impl FnMut(&Tx, &mut Record) -> Result<Vec<&'static str>>,
    after: impl FnOnce(&mut Tx, &[Outcome]) -> Result<()>,
    locked: bool,
) -> Result<Vec<Outcome>> {
    if ids.is_empty() {
        return Err(usage("give at least one issue ID"));
    }
    let judge_by = match guard {
        Guard::Insist => None,
        Guard::Ledger(l) => Some(l),
    };
    let mut tx = if locked {
        ctx.refuse_unmerged()?;
        Tx::begin_under_lock(&ctx.ws, &ctx.view())?
    } else {
        ctx.tx()?
    };
    let prefix = ctx.prefix_for(&tx)?;
    let mut out = Vec::new();
    for q in ids {
        let id = tx.resolve(q, &prefix)?;
        let mut rec = tx.get(&id)?;
        let at = rec.next_stamp(ctx.now);
        let before = rec.clone();
        let fields = f(&tx, &mut rec)?;
        let changed = !fields.is_empty();
        if changed && let Some(ledger) = judge_by {
            refuse_lost_claim(ctx, ledger, &before, &fields)?;
            refuse_deleted_elsewhere(ledger, &before)?;
        }
        if changed {
            crate::ops::stamp_write(ctx, &before, &mut rec, &fields, at);
            tx.put(rec.clone());
        }
        out.push(Outcome {
            record: rec,
            changed,
        });
    }
    after(&mut tx, &out)?;
    ctx.commit(tx)?;
    Ok(out)
}

/// [`apply`] for a claim-group write under the project's ledger: a claim
/// made where the ledger knew of a later claim-group event than the
/// workspace's record (a release or claim in another workspace, not merged
/// here yet) was made on that event's state, and its `claim_on` says so
/// (`Record::raise_claim_on`), so the merge ranks it after that event and
/// the files agree with the ledger after `bd sync` (SPEC §5, DESIGN "The
/// state register").
pub(crate) fn apply_seen(
    ctx: &Session,
    ids: &[String],
    ledger: Option<&Ledger>,
    guard: Guard,
    f: impl FnMut(&Tx, &mut Record) -> Result<Vec<&'static str>>,
    publish: &mut Publish,
) -> Result<Vec<Outcome>> {
    apply_seen_in(ctx, ids, ledger, guard, f, publish, false)
}

/// [`apply_seen`]; `locked` as in [`apply_then_in`].
pub(crate) fn apply_seen_in(
    ctx: &Session,
    ids: &[String],
    ledger: Option<&Ledger>,
    guard: Guard,
    f: impl FnMut(&Tx, &mut Record) -> Result<Vec<&'static str>>,
    publish: &mut Publish,
    locked: bool,
) -> Result<Vec<Outcome>> {
    let after = |tx: &mut Tx, outs: &[Outcome]| {
        let Some(ledger) = ledger else {
            return publish(outs);
        };
        // The ledger entries carry what was written: the raised `on` too.
        let mut written = outs.to_vec();
        for o in written.iter_mut().filter(|o| o.changed) {
            let Some(e) = coord::entry_for(ledger, &o.record) else {
                continue;
            };
            let Some(at) = crate::model::time::parse(&e.at) else {
                continue;
            };
            let mut rec = o.record.clone();
            rec.raise_claim_on(&crate::model::record::Stamp {
                at,
                actor: e.by.clone(),
            });
            if rec != o.record {
                tx.put(rec.clone());
                o.record = rec;
            }
        }
        publish(&written)
    };
    apply_then_in(ctx, ids, guard, f, after, locked)
}

/// Publishes a change's ledger entries: called by the change right before
/// its tracker write (the `after` of [`apply_then`]), with the outcomes.
pub type Publish<'a> = dyn FnMut(&[Outcome]) -> Result<()> + 'a;

/// Run a workspace change under the project's ledger lock and record `event`
/// for every issue it changed, so other workspaces see it at once. Without a
/// project home (`coordination = "workspace"`) the change runs alone.
///
/// No half-done writes (issue 9, item 8): the change calls `publish` just
/// before its tracker write, which writes the ledger first; when the ledger
/// write fails the tracker is never written, and when the tracker write fails
/// the ledger is put back as it was (both under the ledger lock, so nobody saw
/// the entries in between act on them as settled).
pub(crate) fn coordinated(
    ctx: &Session,
    change: impl FnOnce(Option<&Ledger>, &mut Publish) -> Result<Vec<Outcome>>,
    event: impl Fn(&Record) -> Option<Event>,
) -> Result<Vec<Outcome>> {
    coordinated_with(ctx, false, change, event)
}

/// [`coordinated`]; in remote coordination the change's claim changes are
/// settled with the git remote first of all (`ops::remote::publish`:
/// `insist` is `--force`/`--steal`), so a claim the remote refuses writes
/// nothing here, and one whose ledger or tracker write then fails is taken
/// back on the remote.
pub(crate) fn coordinated_with(
    ctx: &Session,
    insist: bool,
    change: impl FnOnce(Option<&Ledger>, &mut Publish) -> Result<Vec<Outcome>>,
    event: impl Fn(&Record) -> Option<Event>,
) -> Result<Vec<Outcome>> {
    let arb = remote::arbiter(ctx)?;
    let Some(home) = ctx.home()? else {
        if arb.is_some() {
            return Err(Error::invalid(
                "remote coordination needs the project home; this workspace has none (coordination = \"workspace\" or no BD_HOME)",
            ));
        }
        return change(None, &mut |_| Ok(()));
    };
    let missing = !home.path("ledger.json").exists();
    crate::home::ledger::with_ledger(&home, |ledger| {
        if let Some(w) = ledger.recovered() {
            ctx.warn(format!("{w}; rebuilding it from the workspaces"));
        }
        let rebuilt = missing || ledger.recovered().is_some();
        if rebuilt {
            let roots = session::known_workspaces(ctx, &home);
            session::reconcile(ledger, &roots, &ctx.now_text());
        }
        if let Some(arb) = &arb {
            remote::repair(ctx, arb);
        }
        let before = ledger.clone();
        let mut published = false;
        let mut taken = Vec::new();
        let result = {
            let mut publish = |outs: &[Outcome]| -> Result<()> {
                if let Some(arb) = &arb {
                    // An unchanged claim the actor holds here is asked
                    // about too: the remote may have given it to another.
                    let asked = |o: &&Outcome| {
                        o.changed
                            || (o.record.state().is_held()
                                && o.record.nonempty("assignee").as_deref()
                                    == Some(ctx.actor.as_str()))
                    };
                    let wants: Vec<remote::Want> = outs
                        .iter()
                        .filter(asked)
                        .filter_map(|o| {
                            let Some(ev) = event(&o.record) else {
                                return o.changed.then(|| remote::guard(ctx, &o.record)).flatten();
                            };
                            let claims = matches!(ev, Event::Claimed { .. } | Event::Hooked { .. });
                            (o.changed || claims)
                                .then(|| remote::want(ctx, &o.record, &ev))
                                .flatten()
                        })
                        .collect();
                    taken.extend(remote::publish(ctx, arb, &wants, insist)?);
                }
                let mut put = false;
                for o in outs.iter().filter(|o| o.changed) {
                    if let Some(ev) = event(&o.record) {
                        ledger.put(coord::ledger_entry(ctx, &o.record, ev))?;
                        put = true;
                    }
                }
                // A change with nothing to record (an `update` of a title)
                // leaves the ledger file as it is.
                if put || rebuilt {
                    crate::home::ledger::save_locked(&home, ledger)?;
                    published = true;
                }
                Ok(())
            };
            change(Some(&before), &mut publish)
        };
        let taken_ids: Vec<&str> = taken.iter().map(|t| t.id.as_str()).collect();
        match result {
            Ok(outcomes) => {
                remote::clear_pending(ctx, &taken_ids);
                Ok(outcomes)
            }
            Err(e) => {
                if let Some(arb) = &arb {
                    remote::undo(ctx, arb, &taken);
                }
                if published {
                    *ledger = before;
                    if let Err(undo) = crate::home::ledger::write_locked(&home, ledger) {
                        ctx.warn(format!(
                            "cannot take back the ledger entries of the failed write: {undo}"
                        ));
                    }
                } else {
                    // Nothing was written; keep the reconciled ledger unwritten too.
                    *ledger = before;
                }
                Err(e)
            }
        }
    })
}

/// [`coordinated`] around [`apply_seen`]: the shape of every verb that
/// changes the state of named issues under the ledger lock. `f` is handed
/// the ledger the change is judged by; `force` insists over a lost claim.
pub(crate) fn coordinated_seen(
    ctx: &Session,
    ids: &[String],
    force: bool,
    mut f: impl FnMut(Option<&Ledger>, &Tx, &mut Record) -> Result<Vec<&'static str>>,
    event: impl Fn(&Record) -> Option<Event>,
) -> Result<Vec<Outcome>> {
    coordinated_with(
        ctx,
        force,
        |ledger, publish| {
            apply_seen(
                ctx,
                ids,
                ledger,
                Guard::held(ledger, force),
                |tx, rec| f(ledger, tx, rec),
                publish,
            )
        },
        event,
    )
}

/// [`apply`] that publishes its ledger entries right before its tracker write.
pub(crate) fn apply_pub(
    ctx: &Session,
    ids: &[String],
    guard: Guard,
    f: impl FnMut(&Tx, &mut Record) -> Result<Vec<&'static str>>,
    publish: &mut Publish,
) -> Result<Vec<Outcome>> {
    apply_then(ctx, ids, guard, f, |_, outs| publish(outs))
}

/// End the claim (or hook) on `rec` by its effective state, as a write that
/// takes it out of held work (a deferral) must: no holder, no start, the
/// claim epoch above the ledger's so the merge ranks this release after a
/// claim made in another workspace that this one has not merged yet.
/// Returns whether there was a claim to end.
pub(crate) fn end_claim(ledger: Option<&Ledger>, rec: &mut Record) -> bool {
    let entry = ledger.and_then(|l| coord::entry_for(l, rec));
    coord::apply_release(entry, rec);
    if coord::effective_holder(entry, rec).is_none() {
        return false;
    }
    rec.remove("assignee");
    rec.remove("started_at");
    rec.bump_claim_epoch();
    rec.raise_claim_epoch_past(entry.map_or(0, |e| e.epoch));
    true
}

/// Add a comment by the actor, now, to `rec` (its id derived from its
/// content, as every comment's); returns it.
pub(crate) fn actor_comment(
    ctx: &Session,
    rec: &mut Record,
    text: String,
) -> crate::model::record::Comment {
    comment_by(ctx, rec, &ctx.actor, text)
}

/// A comment by `author` (classic `comment --author`), now.
pub(crate) fn comment_by(
    ctx: &Session,
    rec: &mut Record,
    author: &str,
    text: String,
) -> crate::model::record::Comment {
    let at = ctx.now_text();
    let c = crate::model::record::Comment {
        id: crate::model::id::comment_id(rec.id(), author, &at, &text).into(),
        issue_id: rec.id().to_string(),
        author: author.to_string(),
        text,
        created_at: at,
    };
    rec.add_comment(&c);
    c
}

/// Write one issue's change of `fields` made at `at` in `tx` (stamped,
/// committed): the tail of the verbs that change one issue outside
/// [`apply`].
pub(crate) fn write_one(
    ctx: &Session,
    mut tx: Tx,
    before: &Record,
    mut rec: Record,
    fields: &[&str],
    at: crate::model::time::Nanos,
) -> Result<Outcome> {
    crate::ops::stamp_write(ctx, before, &mut rec, fields, at);
    tx.put(rec.clone());
    ctx.commit(tx)?;
    Ok(Outcome {
        record: rec,
        changed: true,
    })
}

/// Record the recovery of `holder`'s claim: a comment naming the old holder
/// and its silence, and a marker so the old holder is told, not ignored.
pub(crate) fn recover(ctx: &Session, rec: &mut Record, holder: &str) {
    let silent = coord::last_sign_of_life(ctx, holder, rec)
        .map(|t| format!("silent since {}", crate::model::time::format(t)))
        .unwrap_or_else(|| "no heartbeat on record".into());
    let text = format!("Claim of {holder} recovered by {} ({silent}).", ctx.actor);
    let at = actor_comment(ctx, rec, text).created_at;
    rec.set(
        "recovered",
        &serde_json::json!({"from": holder, "by": ctx.actor, "at": at}),
    );
}

/// The one guard of the lost-claim rule (issue 9, item 13), called by the
/// write path ([`apply_then_in`]) for every write: one that changes the
/// state (status, claim or tombstone group) of an issue whose claim or hook
/// the actor lost in a merge (this machine's ledger names the actor, the
/// record, as new or newer, another holder) is refused with exit 3 naming
/// the winner, whichever verb made it (`close`, `update`, `defer`,
/// `delete`, `unclaim`, `sling`, …). The verb's `--force` skips it
/// ([`Guard::Insist`]). Other fields (labels, comments, priority) stay
/// editable.
pub(crate) fn refuse_lost_claim(
    ctx: &Session,
    ledger: Option<&Ledger>,
    before: &Record,
    fields: &[&str],
) -> Result<()> {
    if !coord::writes_state(fields) {
        return Ok(());
    }
    let entry = ledger.and_then(|l| coord::entry_for(l, before));
    if let Some(winner) = coord::lost_claim(entry, before, &ctx.actor) {
        return Err(Error::Conflict {
            msg: format!(
                "your claim on {} was lost in a merge; {winner} holds it now",
                before.id()
            ),
            hint: Some("pick another issue from `bd ready`, or use --force".into()),
        });
    }
    Ok(())
}

/// Refuse to change a deleted issue: deleted here (a tombstone), or in
/// another workspace of this machine (the ledger says so, this file does not
/// show it yet). `close`, `comment`, `label`, `dep add`, … all say the same
/// (issue 9, item 18; review 7: the merge brought such an issue back).
pub(crate) fn refuse_deleted(ctx: &Session, rec: &Record) -> Result<()> {
    if rec.state() == crate::model::kinds::Status::Tombstone {
        return Err(Error::invalid(format!(
            "{} is deleted; `bd restore` it first",
            rec.id()
        )));
    }
    // A home that cannot be read tells of no delete elsewhere: the write
    // goes on as it would without one.
    match ctx.ledger() {
        Ok(ledger) => refuse_deleted_elsewhere(Some(&ledger), rec),
        Err(_) => Ok(()),
    }
}

/// A write to an issue another workspace of this machine deleted (the
/// ledger says so; this file does not show it yet) is refused, as a write to
/// one deleted here is.
fn refuse_deleted_elsewhere(ledger: Option<&Ledger>, before: &Record) -> Result<()> {
    let entry = ledger.and_then(|l| coord::entry_for(l, before));
    if let Some(coord::Overlay::Deleted { workspace, .. }) = coord::overlay(entry, before) {
        return Err(Error::Invalid {
            msg: format!(
                "{} was deleted in workspace {workspace}; `bd restore` it there first",
                before.id()
            ),
            hint: None,
        });
    }
    Ok(())
}

/// A holder whose claim was recovered is told so (exit 3) when it acts on the
/// issue again, unless it insists (`--force`, for humans).
pub(crate) fn refuse_if_recovered(
    ctx: &Session,
    ledger: Option<&Ledger>,
    rec: &Record,
    force: bool,
) -> Result<()> {
    if force {
        return Ok(());
    }
    // Taken in another workspace (review 8: the old holder could still
    // close and edit there, where a recovery here refuses).
    let entry = ledger.and_then(|l| coord::entry_for(l, rec));
    if let Some((holder, workspace)) = coord::taken_from(entry, rec, &ctx.actor) {
        return Err(Error::Conflict {
            msg: format!(
                "your claim on {} was taken by {holder} (workspace {workspace})",
                rec.id()
            ),
            hint: Some("pick another issue from `bd ready`, or use --force".into()),
        });
    }
    let Some(r) = rec.json::<serde_json::Value>("recovered") else {
        return Ok(());
    };
    let from = r["from"].as_str().unwrap_or_default();
    if from == ctx.actor && rec.nonempty("assignee").as_deref() != Some(&ctx.actor) {
        return Err(Error::Conflict {
            msg: format!(
                "your claim on {} was recovered by {} at {}",
                rec.id(),
                r["by"].as_str().unwrap_or("?"),
                r["at"].as_str().unwrap_or("?")
            ),
            hint: Some("claim it again if it is free (`bd claim`), or use --force".into()),
        });
    }
    Ok(())
}

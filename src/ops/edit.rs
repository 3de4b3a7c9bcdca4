//! The verbs that change one or more existing issues: `update`, `close`,
//! `reopen`, `delete`, `restore`, `defer`, `undefer`, `claim`, `unclaim`.
//! Each checks against what it read, then writes once; an issue that would
//! not change is reported as unchanged and nothing is written for it.

use crate::error::{Error, Result};
use crate::home::ledger::{Event, Ledger};
use crate::model::graph;
use crate::model::kinds::Status;
use crate::model::record::{Dep, Record};
use crate::model::values;
use crate::ops::create::{any_date, check_label, future_date};
use crate::ops::{Ctx, coord, unchanged, usage};
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
enum Guard<'a> {
    /// The actor insists (`--force`, a steal its lease allows): no check.
    Insist,
    /// The ledger a coordinated verb holds under its lock (`None`: no
    /// project home, nothing to lose).
    Ledger(Option<&'a Ledger>),
    /// Read the ledger before the transaction begins (verbs that do not
    /// hold the ledger lock).
    Load,
}

impl<'a> Guard<'a> {
    fn held(ledger: Option<&'a Ledger>, force: bool) -> Guard<'a> {
        if force {
            Guard::Insist
        } else {
            Guard::Ledger(ledger)
        }
    }
}

/// Apply `f` to each named issue in one transaction. `f` returns the fields it
/// changed; an empty list means the issue is unchanged.
fn apply(
    ctx: &Ctx,
    ids: &[String],
    guard: Guard,
    f: impl FnMut(&Tx, &mut Record) -> Result<Vec<&'static str>>,
) -> Result<Vec<Outcome>> {
    apply_then(ctx, ids, guard, f, |_, _| Ok(()))
}

/// [`apply`], then `after` on the same transaction before it is written (for
/// changes that must land in the same write, like a convoy closing).
fn apply_then(
    ctx: &Ctx,
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
fn apply_then_in(
    ctx: &Ctx,
    ids: &[String],
    guard: Guard,
    mut f: impl FnMut(&Tx, &mut Record) -> Result<Vec<&'static str>>,
    after: impl FnOnce(&mut Tx, &[Outcome]) -> Result<()>,
    locked: bool,
) -> Result<Vec<Outcome>> {
    if ids.is_empty() {
        return Err(usage("give at least one issue ID"));
    }
    // Read before the workspace lock is taken (the ledger lock comes first).
    let loaded = match guard {
        Guard::Load => ctx.ledger().ok(),
        _ => None,
    };
    let judge_by = match guard {
        Guard::Insist => None,
        Guard::Ledger(l) => Some(l),
        Guard::Load => Some(loaded.as_ref()),
    };
    let mut tx = if locked {
        ctx.refuse_unmerged()?;
        Tx::begin_under_lock(&ctx.ws, &ctx.view())?
    } else {
        ctx.begin()?
    };
    let prefix = ctx.prefix_of_rows(tx.rows());
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

/// Set an optional text field; `Some("")` clears it.
fn set_text(rec: &mut Record, key: &str, v: &Option<String>) -> bool {
    match v {
        None => false,
        Some(s) if s.is_empty() => rec.remove(key),
        Some(s) => rec.set_opt_str(key, Some(s)),
    }
}

#[derive(Debug, Default, Clone)]
pub struct UpdateOptions {
    pub ids: Vec<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub design: Option<String>,
    pub acceptance: Option<String>,
    pub notes: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    pub issue_type: Option<String>,
    pub assignee: Option<String>,
    pub owner: Option<String>,
    pub estimate: Option<i64>,
    pub due: Option<String>,
    pub defer: Option<String>,
    pub external_ref: Option<String>,
    pub add_labels: Vec<String>,
    pub remove_labels: Vec<String>,
    pub parent: Option<String>,
    pub claim: bool,
    pub reason: Option<String>,
    /// Act even on an issue whose claim by this actor was recovered.
    pub force: bool,
}

pub fn update(ctx: &Ctx, o: &UpdateOptions) -> Result<Vec<Outcome>> {
    if o.claim && (o.status.is_some() || o.assignee.is_some() || o.defer.is_some()) {
        return Err(usage(
            "--claim cannot be combined with --status, --assignee or --defer",
        ));
    }
    if o.claim {
        return claim(ctx, &o.ids, false);
    }
    let title = o
        .title
        .as_deref()
        .map(values::check_title)
        .transpose()
        .map_err(Error::invalid)?;
    let priority = o
        .priority
        .as_deref()
        .map(values::parse_priority)
        .transpose()
        .map_err(Error::invalid)?;
    if let Some(t) = &o.issue_type {
        values::check_type(t, &ctx.custom_types()).map_err(Error::invalid)?;
    }
    if let Some(s) = &o.status {
        values::check_status(s, &ctx.custom_statuses()).map_err(Error::invalid)?;
        match Status::parse(s) {
            Status::Closed => {
                return Err(Error::Invalid {
                    msg: "use `bd close` to close an issue (it checks for open blockers)".into(),
                    hint: Some("bd close <id> [--reason TEXT]".into()),
                });
            }
            Status::Tombstone => {
                return Err(Error::Invalid {
                    msg: "use `bd delete` to delete an issue".into(),
                    hint: None,
                });
            }
            _ => {}
        }
    }
    if let Some(e) = o.estimate
        && e < 0
    {
        return Err(Error::invalid(format!(
            "estimate must not be negative (got {e})"
        )));
    }
    let defer = o
        .defer
        .as_deref()
        .map(|d| future_date(ctx, d, "defer date"))
        .transpose()?;
    let due = match o.due.as_deref() {
        Some("") => Some(String::new()),
        Some(d) => Some(any_date(ctx, d, "due date")?),
        None => None,
    };
    let add: Vec<String> = o
        .add_labels
        .iter()
        .map(|l| check_label(l))
        .collect::<Result<_>>()?;
    // A change of the state (`--status`, `--assignee`, `--defer`) by an actor
    // whose claim a merge gave to another is refused in the write path; a
    // deferral ends the claim, as `bd defer` does.
    let ended = std::cell::RefCell::new(std::collections::BTreeSet::new());
    coordinated(
        ctx,
        |ledger, publish| {
            apply_seen(
                ctx,
                &o.ids,
                ledger,
                Guard::held(ledger, o.force),
                |tx, rec| {
                    update_one(
                        ctx,
                        o,
                        &Checked {
                            title: &title,
                            priority,
                            defer: &defer,
                            due: &due,
                            add: &add,
                        },
                        ledger,
                        tx,
                        rec,
                        &ended,
                    )
                },
                publish,
            )
        },
        |rec| ended.borrow().contains(rec.id()).then_some(Event::Released),
    )
}

/// The values of `update`'s options, checked once before any record is read.
struct Checked<'a> {
    title: &'a Option<String>,
    priority: Option<i64>,
    defer: &'a Option<String>,
    due: &'a Option<String>,
    add: &'a [String],
}

fn update_one(
    ctx: &Ctx,
    o: &UpdateOptions,
    c: &Checked,
    ledger: Option<&Ledger>,
    tx: &Tx,
    rec: &mut Record,
    ended: &std::cell::RefCell<std::collections::BTreeSet<String>>,
) -> Result<Vec<&'static str>> {
    if rec.state() == Status::Tombstone {
        return Err(Error::Invalid {
            msg: format!("{} is deleted", rec.id()),
            hint: Some(format!("`bd restore {}` first", rec.id())),
        });
    }
    refuse_if_recovered(ctx, rec, o.force)?;
    if !c.add.is_empty() || !o.remove_labels.is_empty() {
        crate::ops::editable_list(rec, "labels")?;
    }
    if o.parent.is_some() {
        crate::ops::editable_list(rec, "dependencies")?;
    }
    let mut ch = Vec::new();
    // A deferral ends the claim first, so an assignee given with it stays.
    if defers(o, c) {
        let status = rec.state();
        if status.is_done() {
            // As `bd defer` refuses it: done work has nothing to wait for.
            return Err(Error::invalid(format!(
                "{} is {status}; cannot defer it",
                rec.id()
            )));
        }
        if end_claim(ledger, rec) {
            ended.borrow_mut().insert(rec.id().to_string());
            ch.push("assignee");
        }
    }
    ch.extend(update_fields(ctx, o, c, rec));
    ch.extend(update_state(ctx, o, c, rec)?);
    let missing = update_lists(ctx, o, c, tx, rec, &mut ch)?;
    // A hook needs an agent: `hooked` with nobody on it is nobody's work.
    if (ch.contains(&"status") || ch.contains(&"assignee"))
        && rec.state() == Status::Hooked
        && rec.nonempty("assignee").is_none()
    {
        return Err(Error::Invalid {
            msg: format!("{}: a hooked issue needs an agent to hang on", rec.id()),
            hint: Some(format!("`bd sling {} <agent>`", rec.id())),
        });
    }
    if !missing.is_empty() {
        if ch.is_empty() {
            return Err(Error::not_found(format!(
                "{} has no label {}; nothing removed",
                rec.id(),
                missing.join(", ")
            )));
        }
        ctx.notice(format!("{} had no label {}", rec.id(), missing.join(", ")));
    }
    if ch.is_empty() {
        unchanged(ctx, format!("{} already has these values", rec.id()));
    }
    ch.dedup();
    Ok(ch)
}

/// `update`'s plain fields: text, priority, type, assignee, estimate, due.
fn update_fields(ctx: &Ctx, o: &UpdateOptions, c: &Checked, rec: &mut Record) -> Vec<&'static str> {
    let mut ch: Vec<&'static str> = Vec::new();
    if let Some(t) = c.title
        && rec.set_opt_str("title", Some(t))
    {
        ch.push("title");
    }
    for (key, v) in [
        ("description", &o.description),
        ("design", &o.design),
        ("acceptance_criteria", &o.acceptance),
        ("notes", &o.notes),
        ("owner", &o.owner),
        ("external_ref", &o.external_ref),
    ] {
        if set_text(rec, key, v) {
            ch.push(key);
        }
    }
    if let Some(p) = c.priority
        && rec.int("priority") != Some(p)
    {
        rec.set("priority", &p);
        ch.push("priority");
    }
    if let Some(t) = &o.issue_type
        && rec.set_opt_str("issue_type", Some(t))
    {
        ch.push("issue_type");
    }
    // A look-alike of a registered agent (`Ｄave`) is that agent.
    if let Some(a) = o
        .assignee
        .as_ref()
        .map(|a| crate::ops::membership::agent_spelling(ctx, a))
        && set_text(rec, "assignee", &Some(a))
    {
        // A reassignment is a claim-group write: the epoch rises (SPEC §5).
        rec.bump_claim_epoch();
        ch.push("assignee");
    }
    if let Some(e) = o.estimate
        && rec.int("estimated_minutes") != Some(e)
    {
        rec.set("estimated_minutes", &e);
        ch.push("estimated_minutes");
    }
    let due_changed = match c.due.as_deref() {
        Some("") => rec.remove("due_at"),
        Some(d) => rec.set_time("due_at", d),
        None => false,
    };
    if due_changed {
        ch.push("due_at");
    }
    ch
}

/// Whether an `update` defers: `--defer` (with no other `--status`) or
/// `--status deferred`.
fn defers(o: &UpdateOptions, c: &Checked) -> bool {
    let target = o.status.as_deref().map(Status::parse);
    target == Some(Status::Deferred)
        || (c.defer.is_some() && target.is_none_or(|s| s == Status::Deferred))
}

/// `update`'s state: `--defer` and `--status`.
fn update_state(
    ctx: &Ctx,
    o: &UpdateOptions,
    c: &Checked,
    rec: &mut Record,
) -> Result<Vec<&'static str>> {
    let mut ch = Vec::new();
    let defer = c.defer;
    let target = o.status.as_deref().map(Status::parse);
    let status_now = rec.state();
    if let Some(d) = defer {
        if rec.set_time("defer_until", d) {
            ch.push("defer_until");
        }
        if target.as_ref().is_none_or(|s| *s == Status::Deferred) && status_now != Status::Deferred
        {
            rec.set_status(Status::Deferred);
            ch.push("status");
        }
    }
    let Some(s) = target else {
        return Ok(ch);
    };
    if s == Status::Deferred && defer.is_none() {
        let future = rec.time("defer_until").is_some_and(|t| t > ctx.now);
        if !future {
            return Err(Error::Invalid {
                msg: format!("{}: deferring needs a future date", rec.id()),
                hint: Some("bd defer <id> --until <date>, or --defer <date>".into()),
            });
        }
    }
    if s != status_now && !(s == Status::Deferred && defer.is_some()) {
        if status_now == Status::Tombstone {
            return Err(Error::invalid(format!(
                "{} is deleted; `bd restore` it first",
                rec.id()
            )));
        }
        if status_now == Status::Closed {
            rec.remove("closed_at");
            rec.remove("close_reason");
        }
        if s != Status::Deferred && rec.time("defer_until").is_some_and(|t| t > ctx.now) {
            rec.remove("defer_until");
            ch.push("defer_until");
        }
        rec.set_status(s);
        ch.push("status");
    }
    Ok(ch)
}

/// `update`'s lists: labels added and removed, the parent. Returns the
/// labels asked to be removed that the issue did not have.
fn update_lists(
    ctx: &Ctx,
    o: &UpdateOptions,
    c: &Checked,
    tx: &Tx,
    rec: &mut Record,
    ch: &mut Vec<&'static str>,
) -> Result<Vec<String>> {
    for l in c.add {
        if rec.add_label(l) {
            ch.push("labels");
        }
    }
    let mut missing = Vec::new();
    for l in &o.remove_labels {
        if rec.remove_label(l.trim()) {
            ch.push("labels");
        } else {
            missing.push(format!("'{}'", l.trim()));
        }
    }
    if let Some(p) = &o.parent {
        let prefix = ctx.prefix_of_rows(tx.rows());
        let target = if p.is_empty() {
            None
        } else {
            let t = tx.resolve(p, &prefix)?;
            crate::ops::refuse_deleted(&tx.get(&t)?)?;
            Some(t)
        };
        if reparent(ctx, tx, rec, target.as_deref())? {
            ch.push("dependencies");
        }
    }
    Ok(missing)
}

/// Move `rec` under `parent` (or out from any parent). Refuses cycles.
fn reparent(ctx: &Ctx, tx: &Tx, rec: &mut Record, parent: Option<&str>) -> Result<bool> {
    let current = rec.parent();
    if current.as_deref() == parent {
        return Ok(false);
    }
    if let Some(p) = parent {
        let mut nodes = tx.nodes();
        for n in nodes.iter_mut() {
            if n.id == rec.id() {
                n.edges.retain(|e| e.kind != "parent-child");
            }
        }
        if let Some(cycle) = graph::find_cycle_with(&nodes, rec.id(), p, "parent-child") {
            return Err(Error::invalid(format!(
                "cannot put {} under {p}: that makes a cycle ({})",
                rec.id(),
                cycle.join(" → ")
            )));
        }
    }
    if let Some(old) = &current {
        rec.remove_dep(old, Some("parent-child"));
    }
    if let Some(p) = parent {
        rec.add_dep(&Dep {
            issue_id: rec.id().to_string(),
            depends_on_id: p.to_string(),
            kind: "parent-child".into(),
            created_at: Some(ctx.now_text()),
            created_by: Some(ctx.actor.clone()),
            metadata: None,
        });
    }
    Ok(true)
}

/// Open blockers of a record: targets of blocking edges that are not done.
/// The children of an epic that are still open (not closed or deleted),
/// as this transaction sees them.
fn open_children(tx: &Tx, rec: &Record) -> Vec<String> {
    tx.current_rows()
        .iter()
        .filter(|r| r.parent.as_deref() == Some(rec.id()) && !values::is_done(&r.status))
        .map(|r| r.id.clone())
        .collect()
}

fn open_blockers(tx: &Tx, rec: &Record) -> Vec<String> {
    let mut out = Vec::new();
    let rows = tx.current_rows();
    let find = |id: &str| {
        rows.binary_search_by(|r| r.id.as_str().cmp(id))
            .ok()
            .map(|i| &rows[i])
    };
    for d in rec.deps() {
        let Some(t) = find(&d.depends_on_id) else {
            continue;
        };
        let blocking = match d.kind.as_str() {
            "blocks" | "waits-for" => !values::is_done(&t.status),
            "conditional-blocks" => {
                !(t.state() == Status::Closed && graph::is_failure_reason(&t.close_reason))
            }
            _ => false,
        };
        if blocking {
            out.push(t.id.clone());
        }
    }
    out
}

pub fn close(ctx: &Ctx, ids: &[String], reason: Option<&str>, force: bool) -> Result<Vec<Outcome>> {
    coordinated(
        ctx,
        |ledger, publish| close_local(ctx, ids, reason, force, ledger, publish),
        |_| Some(Event::Closed),
    )
}

fn close_local(
    ctx: &Ctx,
    ids: &[String],
    reason: Option<&str>,
    force: bool,
    ledger: Option<&Ledger>,
    publish: &mut Publish,
) -> Result<Vec<Outcome>> {
    apply_then(
        ctx,
        ids,
        Guard::held(ledger, force),
        |tx, rec| {
            if rec.state() == Status::Closed {
                unchanged(ctx, format!("{} is already closed", rec.id()));
                return Ok(vec![]);
            }
            refuse_if_recovered(ctx, rec, force)?;
            crate::ops::refuse_deleted(rec)?;
            if !force {
                let blockers = open_blockers(tx, rec);
                if !blockers.is_empty() {
                    return Err(Error::Conflict {
                        msg: format!(
                            "{} is blocked by open issue(s) {}; not closing it",
                            rec.id(),
                            blockers.join(", ")
                        ),
                        hint: Some("close the blockers first, or use --force".into()),
                    });
                }
                // An epic closes after its children, as in classic bd.
                if rec.issue_type() == "epic" {
                    let open = open_children(tx, rec);
                    if !open.is_empty() {
                        return Err(Error::Conflict {
                            msg: format!(
                                "epic {} has open children {}; not closing it",
                                rec.id(),
                                open.join(", ")
                            ),
                            hint: Some("close the children first, or use --force".into()),
                        });
                    }
                }
            }
            rec.set_status(Status::Closed);
            rec.set("closed_at", &ctx.now_text());
            match reason.filter(|r| !r.trim().is_empty()) {
                Some(r) => rec.set("close_reason", r.trim()),
                None => {
                    rec.remove("close_reason");
                }
            }
            Ok(vec!["status"])
        },
        |tx, closed| {
            crate::ops::convoy::land(ctx, tx, closed)?;
            publish(closed)
        },
    )
}

pub fn reopen(ctx: &Ctx, ids: &[String]) -> Result<Vec<Outcome>> {
    coordinated(
        ctx,
        |ledger, publish| reopen_local(ctx, ids, ledger, publish),
        |_| Some(Event::Reopened),
    )
}

fn reopen_local(
    ctx: &Ctx,
    ids: &[String],
    ledger: Option<&Ledger>,
    publish: &mut Publish,
) -> Result<Vec<Outcome>> {
    apply_pub(
        ctx,
        ids,
        Guard::held(ledger, false),
        |_, rec| {
            match rec.state() {
                Status::Closed => {}
                Status::Tombstone => {
                    return Err(Error::invalid(format!(
                        "{} is deleted; use `bd restore`",
                        rec.id()
                    )));
                }
                s => {
                    unchanged(ctx, format!("{} is not closed (status {s})", rec.id()));
                    return Ok(vec![]);
                }
            }
            rec.set_status(Status::Open);
            rec.remove("closed_at");
            rec.remove("close_reason");
            Ok(vec!["status"])
        },
        publish,
    )
}

/// `bd delete`; `force` insists over a claim the actor lost in a merge.
pub fn delete(
    ctx: &Ctx,
    ids: &[String],
    reason: Option<&str>,
    force: bool,
) -> Result<Vec<Outcome>> {
    coordinated(
        ctx,
        |ledger, publish| delete_local(ctx, ids, reason, Guard::held(ledger, force), publish),
        |_| Some(Event::Deleted),
    )
}

fn delete_local(
    ctx: &Ctx,
    ids: &[String],
    reason: Option<&str>,
    guard: Guard,
    publish: &mut Publish,
) -> Result<Vec<Outcome>> {
    apply_pub(
        ctx,
        ids,
        guard,
        |_, rec| {
            if rec.state() == Status::Tombstone {
                unchanged(ctx, format!("{} is already deleted", rec.id()));
                return Ok(vec![]);
            }
            let ty = rec.issue_type();
            rec.set_status(Status::Tombstone);
            rec.set("deleted_at", &ctx.now_text());
            rec.set("deleted_by", &ctx.actor);
            match reason.filter(|r| !r.trim().is_empty()) {
                Some(r) => rec.set("delete_reason", r.trim()),
                None => {
                    rec.remove("delete_reason");
                }
            }
            rec.set("original_type", &ty);
            rec.remove("closed_at");
            rec.remove("close_reason");
            Ok(vec!["status", "deleted_at"])
        },
        publish,
    )
}

pub fn restore(ctx: &Ctx, ids: &[String]) -> Result<Vec<Outcome>> {
    apply(ctx, ids, Guard::Load, |_, rec| {
        if rec.state() != Status::Tombstone {
            unchanged(ctx, format!("{} is not deleted", rec.id()));
            return Ok(vec![]);
        }
        if let Some(t) = rec.nonempty("original_type") {
            rec.set("issue_type", &t);
        }
        rec.set_status(Status::Open);
        for k in ["deleted_at", "deleted_by", "delete_reason", "original_type"] {
            rec.remove(k);
        }
        Ok(vec!["status", "deleted_at", "issue_type"])
    })
}

/// `bd defer`; `force` insists over a claim the actor lost in a merge.
/// Deferring ends a claim, here or in another workspace of the machine
/// ([`end_claim`]): the ledger records the release.
pub fn defer(ctx: &Ctx, ids: &[String], until: &str, force: bool) -> Result<Vec<Outcome>> {
    let when = future_date(ctx, until, "defer date")?;
    let ended = std::cell::RefCell::new(std::collections::BTreeSet::new());
    coordinated(
        ctx,
        |ledger, publish| {
            apply_seen(
                ctx,
                ids,
                ledger,
                Guard::held(ledger, force),
                |_, rec| {
                    let status = rec.state();
                    if status.is_done() {
                        return Err(Error::invalid(format!(
                            "{} is {status}; cannot defer it",
                            rec.id()
                        )));
                    }
                    let mut ch = Vec::new();
                    if rec.set_time("defer_until", &when) {
                        ch.push("defer_until");
                    }
                    if end_claim(ledger, rec) {
                        ended.borrow_mut().insert(rec.id().to_string());
                        ch.push("assignee");
                    }
                    if rec.state() != Status::Deferred {
                        rec.set_status(Status::Deferred);
                        ch.push("status");
                    }
                    if ch.is_empty() {
                        unchanged(
                            ctx,
                            format!("{} is already deferred until {when}", rec.id()),
                        );
                    }
                    Ok(ch)
                },
                publish,
            )
        },
        |rec| ended.borrow().contains(rec.id()).then_some(Event::Released),
    )
}

/// End the claim (or hook) on `rec` by its effective state, as a write that
/// takes it out of held work (a deferral) must: no holder, no start, the
/// claim epoch above the ledger's so the merge ranks this release after a
/// claim made in another workspace that this one has not merged yet.
/// Returns whether there was a claim to end.
fn end_claim(ledger: Option<&Ledger>, rec: &mut Record) -> bool {
    let entry = ledger.and_then(|l| l.get(rec.id()));
    coord::apply_release(entry, rec);
    if coord::effective_holder(entry, rec).is_none() {
        return false;
    }
    rec.remove("assignee");
    rec.remove("started_at");
    rec.bump_claim_epoch();
    let seen = entry.map_or(0, |e| e.epoch);
    if rec.claim_epoch() <= seen {
        set_claim_epoch(rec, seen + 1);
    }
    true
}

pub fn undefer(ctx: &Ctx, ids: &[String]) -> Result<Vec<Outcome>> {
    apply(ctx, ids, Guard::Load, |_, rec| {
        if rec.state() != Status::Deferred && !rec.has("defer_until") {
            unchanged(ctx, format!("{} is not deferred", rec.id()));
            return Ok(vec![]);
        }
        let mut ch = Vec::new();
        if rec.remove("defer_until") {
            ch.push("defer_until");
        }
        if rec.state() == Status::Deferred {
            rec.set_status(Status::Open);
            ch.push("status");
        }
        Ok(ch)
    })
}

/// Why `actor` may not claim `rec`, if it may not.
pub fn claim_refusal(rec: &Record, actor: &str, now: crate::model::time::Nanos) -> Option<String> {
    let assignee = rec.nonempty("assignee");
    match rec.state() {
        Status::Open => match assignee {
            Some(a) if a != actor => Some(format!("{} is assigned to {a}", rec.id())),
            _ => None,
        },
        // On the actor's own hook, or on no hook at all (a `hooked` status
        // with no agent: nobody holds it, as `in_progress` without a holder).
        Status::Hooked if assignee.is_none() || assignee.as_deref() == Some(actor) => None,
        // A deferral whose date passed is ready work, so it is claimable.
        Status::Deferred if rec.time("defer_until").is_some_and(|t| t <= now) => match assignee {
            Some(a) if a != actor => Some(format!("{} is assigned to {a}", rec.id())),
            _ => None,
        },
        // Started without a holder (`update --status in_progress`, the
        // classic way): nobody holds it, so it is claimable (item 11).
        Status::InProgress => assignee.map(|a| format!("{} is held by {a}", rec.id())),
        s => Some(format!("{} is not claimable (status {s})", rec.id())),
    }
}

/// Claim issues for `ctx.actor`: assignee, `in_progress`, `started_at`, epoch up.
/// Claim issues for `ctx.actor`: under the ledger lock (every workspace of the
/// project on this machine), then the workspace lock.
pub fn claim(ctx: &Ctx, ids: &[String], steal: bool) -> Result<Vec<Outcome>> {
    coordinated(
        ctx,
        |ledger, publish| {
            apply_seen(
                ctx,
                ids,
                ledger,
                // A steal is judged by the winner's lease, not refused as lost.
                Guard::held(ledger, steal),
                |_, rec| {
                    let entry = ledger.and_then(|l| l.get(rec.id()));
                    // Released in another workspace: judged (and written) open.
                    coord::apply_release(entry, rec);
                    let overlay = coord::overlay(entry, rec);
                    // The holder, here or in another workspace of the project.
                    let holder = match &overlay {
                        Some(coord::Overlay::Held { holder, .. }) => Some(holder.clone()),
                        _ if rec.state() == Status::InProgress => rec.nonempty("assignee"),
                        _ => None,
                    }
                    .filter(|h| h != &ctx.actor);
                    if steal && let Some(h) = &holder {
                        if !lapsed(ctx, h, rec) {
                            return Err(Error::Conflict {
                            msg: format!("cannot steal {}: {h} holds it and its lease has not lapsed", rec.id()),
                            hint: Some("a claim can be stolen only after its holder is silent for the lease".into()),
                        });
                        }
                        recover(ctx, rec, h);
                        rec.remove("assignee");
                        rec.set_status(Status::Open);
                    } else if let Some(o) = &overlay
                        && let Some(why) = coord::overlay_refusal(o, rec.id(), &ctx.actor)
                    {
                        return Err(Error::Conflict {
                            msg: format!("cannot claim: {why}"),
                            hint: Some("pick another issue from `bd ready`".into()),
                        });
                    }
                    let mut fields = claim_one(ctx, rec)?;
                    if steal && holder.is_some() {
                        fields.push("comments");
                    }
                    let seen = entry.map_or(0, |e| e.epoch);
                    if !fields.is_empty() && rec.claim_epoch() <= seen {
                        set_claim_epoch(rec, seen + 1);
                    }
                    Ok(fields)
                },
                publish,
            )
        },
        |rec| {
            Some(Event::Claimed {
                holder: rec.nonempty("assignee").unwrap_or_default(),
                started_at: rec.str("started_at").unwrap_or_default(),
            })
        },
    )
}

/// [`apply`] for a claim-group write under the project's ledger: a claim
/// made where the ledger knew of a later claim-group event than the
/// workspace's record (a release or claim in another workspace, not merged
/// here yet) was made on that event's state, and its `claim_on` says so
/// (`Record::raise_claim_on`), so the merge ranks it after that event and
/// the files agree with the ledger after `bd sync` (SPEC §5, DESIGN "The
/// state register").
fn apply_seen(
    ctx: &Ctx,
    ids: &[String],
    ledger: Option<&Ledger>,
    guard: Guard,
    f: impl FnMut(&Tx, &mut Record) -> Result<Vec<&'static str>>,
    publish: &mut Publish,
) -> Result<Vec<Outcome>> {
    apply_seen_in(ctx, ids, ledger, guard, f, publish, false)
}

/// [`apply_seen`]; `locked` as in [`apply_then_in`].
fn apply_seen_in(
    ctx: &Ctx,
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
            let Some(e) = ledger.get(o.record.id()) else {
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

fn set_claim_epoch(rec: &mut Record, epoch: i64) {
    let mut s = rec.stamps();
    s.insert(crate::model::record::CLAIM_EPOCH.into(), epoch.into());
    rec.set(crate::model::record::STAMPS, &s);
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
    ctx: &Ctx,
    change: impl FnOnce(Option<&Ledger>, &mut Publish) -> Result<Vec<Outcome>>,
    event: impl Fn(&Record) -> Option<Event>,
) -> Result<Vec<Outcome>> {
    let Some(home) = ctx.home()? else {
        return change(None, &mut |_| Ok(()));
    };
    let missing = !home.path("ledger.json").exists();
    crate::home::ledger::with_ledger(&home, |ledger| {
        if let Some(w) = ledger.recovered() {
            ctx.notice(format!("warning: {w}; rebuilding it from the workspaces"));
        }
        if missing || ledger.recovered().is_some() {
            let roots = coord::known_workspaces(ctx, &home);
            coord::reconcile(ledger, &roots, &ctx.now_text());
        }
        let before = ledger.clone();
        let mut published = false;
        let result = {
            let mut publish = |outs: &[Outcome]| -> Result<()> {
                for o in outs.iter().filter(|o| o.changed) {
                    if let Some(ev) = event(&o.record) {
                        ledger.put(coord::ledger_entry(ctx, &o.record, ev))?;
                    }
                }
                crate::home::ledger::save_locked(&home, ledger)?;
                published = true;
                Ok(())
            };
            change(Some(&before), &mut publish)
        };
        match result {
            Ok(outcomes) => Ok(outcomes),
            Err(e) => {
                if published {
                    *ledger = before;
                    if let Err(undo) = crate::home::ledger::write_locked(&home, ledger) {
                        ctx.notice(format!(
                            "warning: cannot take back the ledger entries of the failed write: {undo}"
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

/// [`apply`] that publishes its ledger entries right before its tracker write.
fn apply_pub(
    ctx: &Ctx,
    ids: &[String],
    guard: Guard,
    f: impl FnMut(&Tx, &mut Record) -> Result<Vec<&'static str>>,
    publish: &mut Publish,
) -> Result<Vec<Outcome>> {
    apply_then(ctx, ids, guard, f, |_, outs| publish(outs))
}

pub fn claim_one(ctx: &Ctx, rec: &mut Record) -> Result<Vec<&'static str>> {
    if rec.state() == Status::InProgress && rec.nonempty("assignee").as_deref() == Some(&ctx.actor)
    {
        unchanged(
            ctx,
            format!("{} is already claimed by {}", rec.id(), ctx.actor),
        );
        return Ok(vec![]);
    }
    if let Some(why) = claim_refusal(rec, &ctx.actor, ctx.now) {
        return Err(Error::Conflict {
            msg: format!("cannot claim: {why} (workspace {})", ctx.ws.root.display()),
            hint: Some("pick another issue from `bd ready`".into()),
        });
    }
    rec.set("assignee", &ctx.actor);
    rec.set_status(Status::InProgress);
    rec.set("started_at", &ctx.now_text());
    rec.bump_claim_epoch();
    if rec.remove("defer_until") {
        return Ok(vec!["assignee", "status", "defer_until"]);
    }
    Ok(vec!["assignee", "status"])
}

/// `bd unclaim`: release claims (and hooks) by the effective state (item
/// 14/16): a claim made in another workspace of this machine, which only
/// the ledger knows yet, is released here too, and the record written so
/// that the merge ranks the release after that claim (as `claim` does).
pub fn unclaim(ctx: &Ctx, ids: &[String], force: bool) -> Result<Vec<Outcome>> {
    coordinated(
        ctx,
        |ledger, publish| unclaim_local(ctx, ids, force, ledger, publish),
        |_| Some(Event::Released),
    )
}

fn unclaim_local(
    ctx: &Ctx,
    ids: &[String],
    force: bool,
    ledger: Option<&Ledger>,
    publish: &mut Publish,
) -> Result<Vec<Outcome>> {
    apply_seen(
        ctx,
        ids,
        ledger,
        Guard::held(ledger, force),
        |_, rec| {
            let entry = ledger.and_then(|l| l.get(rec.id()));
            // Released in another workspace: judged open, as `claim` judges it.
            coord::apply_release(entry, rec);
            let (holder, held) = match coord::overlay(entry, rec) {
                Some(coord::Overlay::Held { holder, .. }) => (Some(holder), true),
                Some(coord::Overlay::Hooked { agent, .. }) => (Some(agent), true),
                // Closed or deleted elsewhere: nobody holds it.
                Some(coord::Overlay::Closed { .. } | coord::Overlay::Deleted { .. }) => {
                    (None, false)
                }
                _ => (rec.nonempty("assignee"), rec.state().is_held()),
            };
            if holder.is_none() && !held {
                unchanged(ctx, format!("{} is not claimed", rec.id()));
                return Ok(vec![]);
            }
            refuse_if_recovered(ctx, rec, force)?;
            if let Some(h) = &holder
                && h != &ctx.actor
            {
                if !force {
                    return Err(Error::Conflict {
                        msg: format!("{} is held by {h}, not by {}", rec.id(), ctx.actor),
                        hint: Some("use --force to release another's claim".into()),
                    });
                }
                // Releasing another's claim is a recovery: say whose and why.
                recover(ctx, rec, h);
            }
            let recovered = holder.as_ref().is_some_and(|h| h != &ctx.actor);
            rec.remove("assignee");
            rec.remove("started_at");
            if held {
                rec.set_status(Status::Open);
            }
            rec.bump_claim_epoch();
            // Above the ledger's epoch: the release overlays the claim it
            // released in the workspace that made it.
            let seen = entry.map_or(0, |e| e.epoch);
            if rec.claim_epoch() <= seen {
                set_claim_epoch(rec, seen + 1);
            }
            if recovered {
                return Ok(vec!["assignee", "status", "comments"]);
            }
            Ok(vec!["assignee", "status"])
        },
        publish,
    )
}

/// Put an issue on `agent`'s hook: status `hooked`, assignee the agent, epoch
/// up, under the ledger lock (refused when another holds it or it is done).
pub fn hook_issue(ctx: &Ctx, id: &str, agent: &str) -> Result<Outcome> {
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
    ctx: &Ctx,
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
                    let entry = ledger.and_then(|l| l.get(rec.id()));
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
                    let seen = entry.map_or(0, |e| e.epoch);
                    rec.bump_claim_epoch();
                    if rec.claim_epoch() <= seen {
                        set_claim_epoch(rec, seen + 1);
                    }
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
pub fn unhook_issues(ctx: &Ctx, ids: &[String], agent: &str) -> Result<Vec<Outcome>> {
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
                    let entry = ledger.and_then(|l| l.get(rec.id()));
                    if coord::effective_holder(entry, rec) != Some((agent.to_string(), true)) {
                        return Ok(vec![]);
                    }
                    if rec.state() == Status::Hooked {
                        rec.set_status(Status::Open);
                    }
                    rec.remove("assignee");
                    rec.bump_claim_epoch();
                    let seen = entry.map_or(0, |e| e.epoch);
                    if rec.claim_epoch() <= seen {
                        set_claim_epoch(rec, seen + 1);
                    }
                    Ok(vec!["assignee", "status"])
                },
                publish,
            )
        },
        |_| Some(Event::Released),
    )
}

/// When `holder` last showed a sign of life: its heartbeat, or the claim's start.
pub fn last_sign_of_life(
    ctx: &Ctx,
    holder: &str,
    rec: &Record,
) -> Option<crate::model::time::Nanos> {
    let beat = ctx
        .home()
        .ok()
        .flatten()
        .and_then(|h| crate::home::presence::get(&h, holder).0)
        .and_then(|a| crate::model::time::parse(&a.last_heartbeat));
    let started = rec.time("started_at");
    match (beat, started) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// A claim is lapsed when its holder has been silent longer than the lease.
pub fn lapsed(ctx: &Ctx, holder: &str, rec: &Record) -> bool {
    crate::model::graph::is_lapsed(
        last_sign_of_life(ctx, holder, rec),
        ctx.now,
        ctx.config.lease_secs(),
    )
}

/// Record the recovery of `holder`'s claim: a comment naming the old holder
/// and its silence, and a marker so the old holder is told, not ignored.
fn recover(ctx: &Ctx, rec: &mut Record, holder: &str) {
    let silent = last_sign_of_life(ctx, holder, rec)
        .map(|t| format!("silent since {}", crate::model::time::format(t)))
        .unwrap_or_else(|| "no heartbeat on record".into());
    let text = format!("Claim of {holder} recovered by {} ({silent}).", ctx.actor);
    let at = ctx.now_text();
    rec.add_comment(&crate::model::record::Comment {
        id: crate::model::id::comment_id(rec.id(), &ctx.actor, &at, &text).into(),
        issue_id: rec.id().to_string(),
        author: ctx.actor.clone(),
        text,
        created_at: at.clone(),
    });
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
fn refuse_lost_claim(
    ctx: &Ctx,
    ledger: Option<&Ledger>,
    before: &Record,
    fields: &[&str],
) -> Result<()> {
    if !coord::writes_state(fields) {
        return Ok(());
    }
    let entry = ledger.and_then(|l| l.get(before.id()));
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

/// A holder whose claim was recovered is told so (exit 3) when it acts on the
/// issue again, unless it insists (`--force`, for humans).
fn refuse_if_recovered(ctx: &Ctx, rec: &Record, force: bool) -> Result<()> {
    if force {
        return Ok(());
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

/// `bd ready --claim`: claim the first ready issue that is still free. Candidates
/// come from the ready set; the claim itself re-checks under the lock.
pub fn ready_claim(
    ctx: &Ctx,
    f: &crate::ops::query::Filter,
    containers: bool,
) -> Result<Option<Record>> {
    let mut f = f.clone();
    f.limit = None;
    let candidates: Vec<String> = crate::ops::query::claimable(ctx, &f, containers)?
        .rows
        .into_iter()
        .map(|r| r.id)
        .collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    // Each attempt is a full claim (ledger lock, then workspace lock); one
    // that lost a race to another agent just moves on to the next candidate.
    for id in candidates {
        match claim(ctx, std::slice::from_ref(&id), false) {
            Ok(mut got) if got.first().is_some_and(|o| o.changed) => {
                return Ok(got.pop().map(|o| o.record));
            }
            Ok(_) => continue,
            Err(Error::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

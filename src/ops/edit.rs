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
use crate::ops::write::{
    Guard, Outcome, Publish, apply_pub, apply_seen, apply_then, coordinated, coordinated_seen,
    coordinated_with, end_claim, recover, refuse_if_recovered,
};
use crate::ops::{Session, coord, unchanged, usage};
use crate::store::Tx;

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
    pub text: crate::ops::IssueText,
    /// Text added to the end of the notes, on a line of its own (classic
    /// `update --append-notes`, `bd note`).
    pub append_notes: Option<String>,
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
    /// The labels it should have, all others removed (classic `--set-labels`).
    pub set_labels: Option<Vec<String>>,
    pub parent: Option<String>,
    pub claim: bool,
    pub reason: Option<String>,
    /// Act even on an issue whose claim by this actor was recovered.
    pub force: bool,
}

pub fn update(ctx: &Session, o: &UpdateOptions) -> Result<Vec<Outcome>> {
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
    let mut closing = false;
    if let Some(s) = &o.status {
        values::check_status(s, &ctx.custom_statuses()).map_err(Error::invalid)?;
        match Status::parse(s) {
            // Classic allows it: it goes through the one close path.
            Status::Closed => closing = true,
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
    let set: Option<Vec<String>> = o
        .set_labels
        .as_ref()
        .map(|ls| {
            ls.iter()
                .flat_map(|l| l.split(','))
                .filter(|l| !l.trim().is_empty())
                .map(check_label)
                .collect::<Result<_>>()
        })
        .transpose()?;
    if set.is_some() && (!add.is_empty() || !o.remove_labels.is_empty()) {
        return Err(usage(
            "--set-labels cannot be combined with --add-label or --remove-label",
        ));
    }
    if closing {
        return close_by_update(ctx, o);
    }
    // A change of the state (`--status`, `--assignee`, `--defer`) by an actor
    // whose claim a merge gave to another is refused in the write path; one
    // that changes who holds the issue reaches the ledger (`held_change`).
    let events = std::cell::RefCell::new(std::collections::BTreeMap::new());
    coordinated_seen(
        ctx,
        &o.ids,
        o.force,
        |ledger, tx, rec| {
            update_one(
                ctx,
                o,
                &Checked {
                    title: &title,
                    priority,
                    defer: &defer,
                    due: &due,
                    add: &add,
                    set: &set,
                },
                ledger,
                tx,
                rec,
                &events,
            )
        },
        |rec| events.borrow().get(rec.id()).cloned(),
    )
}

/// `update --status closed` (classic): the close path, with its guards
/// (open blockers, open children: refused, nothing written), then the
/// other fields given, if any, on the closed issues.
fn close_by_update(ctx: &Session, o: &UpdateOptions) -> Result<Vec<Outcome>> {
    let closed = close(ctx, &o.ids, o.reason.as_deref(), false)?;
    let rest = UpdateOptions {
        status: None,
        reason: None,
        ..o.clone()
    };
    if !rest.changes_fields() {
        return Ok(closed);
    }
    let mut after = update(ctx, &rest)?;
    for (a, c) in after.iter_mut().zip(&closed) {
        a.changed |= c.changed;
    }
    Ok(after)
}

impl UpdateOptions {
    /// Whether it asks to change any field besides the status.
    fn changes_fields(&self) -> bool {
        let t = &self.text;
        self.title.is_some()
            || t.description.is_some()
            || t.design.is_some()
            || t.acceptance.is_some()
            || t.notes.is_some()
            || self.append_notes.is_some()
            || self.priority.is_some()
            || self.issue_type.is_some()
            || self.assignee.is_some()
            || self.owner.is_some()
            || self.estimate.is_some()
            || self.due.is_some()
            || self.defer.is_some()
            || self.external_ref.is_some()
            || !self.add_labels.is_empty()
            || !self.remove_labels.is_empty()
            || self.set_labels.is_some()
            || self.parent.is_some()
    }
}

/// The ledger event of a status or assignee write that changes who holds an
/// issue (review 5: status writes did not reach the ledger, so a sibling
/// worktree kept a claim the write had ended, or missed one the write
/// made). `before` is the effective state the write was made on:
/// - the issue is left held (`in_progress` or `hooked` with a holder) by
///   another than before: a claim or hook (an `update` is a deliberate
///   reassignment, here or next door alike);
/// - it was held and is not now: a release, which carries the status and
///   the assignment it left;
/// - it was closed elsewhere and is not now: reopened;
/// - a release the ledger holds that the record no longer shows (a later
///   status write): the release again, as it is now.
///
/// Either way the claim epoch moves past the ledger's, so the merge ranks
/// the write after the event it was made on.
fn held_change(
    entry: Option<&crate::home::ledger::Entry>,
    before: &Record,
    rec: &mut Record,
    actor: &str,
) -> Option<Event> {
    let held = |r: &Record| {
        let s = r.state();
        r.nonempty("assignee")
            .filter(|_| s.is_held())
            .map(|h| (h, s == Status::Hooked))
    };
    let (was, now) = (held(before), held(rec));
    let status = rec.state();
    let stale_release =
        entry.is_some_and(|e| matches!(e.event, Event::Released) && !coord::shows_release(e, rec));
    let reopened = (before.state().is_done()
        || matches!(
            coord::overlay(entry, before),
            Some(coord::Overlay::Closed { .. })
        ))
        && !status.is_done();
    let event = match &now {
        Some((holder, hooked)) if now != was => {
            if *hooked {
                Event::Hooked {
                    agent: holder.clone(),
                    by: actor.to_string(),
                }
            } else {
                Event::Claimed {
                    holder: holder.clone(),
                    started_at: rec.str("started_at").unwrap_or_default(),
                }
            }
        }
        Some(_) => return None,
        None if was.is_some() || stale_release => Event::Released,
        None if reopened => Event::Reopened,
        None => return None,
    };
    if rec.claim_epoch() == before.claim_epoch() {
        rec.bump_claim_epoch();
    }
    rec.raise_claim_epoch_past(entry.map_or(0, |e| e.epoch));
    Some(event)
}

/// The values of `update`'s options, checked once before any record is read.
struct Checked<'a> {
    title: &'a Option<String>,
    priority: Option<i64>,
    defer: &'a Option<String>,
    due: &'a Option<String>,
    add: &'a [String],
    set: &'a Option<Vec<String>>,
}

fn update_one(
    ctx: &Session,
    o: &UpdateOptions,
    c: &Checked,
    ledger: Option<&Ledger>,
    tx: &Tx,
    rec: &mut Record,
    events: &std::cell::RefCell<std::collections::BTreeMap<String, Event>>,
) -> Result<Vec<&'static str>> {
    if rec.state() == Status::Tombstone {
        return Err(Error::Invalid {
            msg: format!("{} is deleted", rec.id()),
            hint: Some(format!("`bd restore {}` first", rec.id())),
        });
    }
    refuse_if_recovered(ctx, ledger, rec, o.force)?;
    if !c.add.is_empty() || !o.remove_labels.is_empty() || c.set.is_some() {
        crate::ops::editable_list(rec, "labels")?;
    }
    if o.parent.is_some() {
        crate::ops::editable_list(rec, "dependencies")?;
    }
    let mut ch = Vec::new();
    let entry = ledger.and_then(|l| coord::entry_for(l, rec));
    // A write of the state is made on the effective state (what a sibling
    // workspace did that this file does not show yet), so it gives the
    // same result wherever it runs.
    let writes_state = o.status.is_some() || o.assignee.is_some() || defers(o, c);
    let overlaid = writes_state && coord::apply_overlay(entry, rec);
    let before = rec.clone();
    // A deferral ends the claim first, so an assignee given with it stays.
    if defers(o, c) {
        refuse_deferring(ctx, rec)?;
        if end_claim(ledger, rec) {
            events
                .borrow_mut()
                .insert(rec.id().to_string(), Event::Released);
            ch.push("assignee");
        }
    }
    ch.extend(update_fields(ctx, o, c, rec));
    ch.extend(update_state(ctx, o, c, rec)?);
    if overlaid && !ch.is_empty() {
        // The effective state this write was made on is written with it,
        // ranked after the event it came from.
        ch.extend(["status", "assignee"]);
        rec.raise_claim_epoch_past(entry.map_or(0, |e| e.epoch));
    }
    if (ch.contains(&"status") || ch.contains(&"assignee"))
        && !events.borrow().contains_key(rec.id())
        && let Some(ev) = held_change(entry, &before, rec, &ctx.actor)
    {
        events.borrow_mut().insert(rec.id().to_string(), ev);
        ch.push("assignee");
    }
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
            return Err(Error::NotFound(crate::error::Missing::Labels {
                id: rec.id().to_string(),
                labels: missing,
            }));
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
fn update_fields(
    ctx: &Session,
    o: &UpdateOptions,
    c: &Checked,
    rec: &mut Record,
) -> Vec<&'static str> {
    let mut ch: Vec<&'static str> = Vec::new();
    if let Some(t) = c.title
        && rec.set_opt_str("title", Some(t))
    {
        ch.push("title");
    }
    let more = [("owner", &o.owner), ("external_ref", &o.external_ref)];
    for (key, v) in o.text.fields().into_iter().chain(more) {
        if set_text(rec, key, v) {
            ch.push(key);
        }
    }
    if let Some(add) = o.append_notes.as_deref().filter(|t| !t.trim().is_empty()) {
        let notes = match rec.nonempty("notes") {
            Some(n) => format!("{}\n{add}", n.trim_end_matches('\n')),
            None => add.to_string(),
        };
        rec.set("notes", &notes);
        ch.push("notes");
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
    ctx: &Session,
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
    ctx: &Session,
    o: &UpdateOptions,
    c: &Checked,
    tx: &Tx,
    rec: &mut Record,
    ch: &mut Vec<&'static str>,
) -> Result<Vec<String>> {
    if let Some(set) = c.set {
        for l in rec.labels().iter().filter(|l| !set.contains(l)) {
            rec.remove_label(l);
            ch.push("labels");
        }
    }
    for l in c.add.iter().chain(c.set.iter().flatten()) {
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
        let prefix = ctx.prefix_for(tx)?;
        let target = if p.is_empty() {
            None
        } else {
            let t = tx.resolve(p, &prefix)?;
            crate::ops::write::refuse_deleted(ctx, &tx.get(&t)?)?;
            Some(t)
        };
        if reparent(ctx, tx, rec, target.as_deref())? {
            ch.push("dependencies");
        }
    }
    Ok(missing)
}

/// Move `rec` under `parent` (or out from any parent). Refuses cycles.
fn reparent(ctx: &Session, tx: &Tx, rec: &mut Record, parent: Option<&str>) -> Result<bool> {
    let current = rec.parent();
    if current.as_deref() == parent {
        return Ok(false);
    }
    if let Some(p) = parent {
        // Only what `p` reaches can close a cycle through it.
        let mut nodes = tx.nodes_reachable(p);
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
/// A row's status as this machine knows it ([`coord::effective_status`]):
/// the ledger's word over the workspace's file, when it has one.
fn status_here(tx: &Tx, ledger: Option<&Ledger>, r: &crate::store::index::Row) -> String {
    let Some(l) = ledger.filter(|l| l.find(&r.id).is_some()) else {
        return r.status.clone();
    };
    match tx.get(&r.id) {
        Ok(rec) => coord::effective_status(coord::entry_for(l, &rec), &rec),
        Err(_) => r.status.clone(),
    }
}

fn open_children(tx: &Tx, ledger: Option<&Ledger>, rec: &Record) -> Vec<String> {
    tx.children_of(rec.id())
        .iter()
        .filter(|r| !values::is_done(&status_here(tx, ledger, r)))
        .map(|r| r.id.clone())
        .collect()
}

fn open_blockers(tx: &Tx, ledger: Option<&Ledger>, rec: &Record) -> Vec<String> {
    let mut out = Vec::new();
    for d in rec.deps() {
        let Some(t) = tx.current_row(&d.depends_on_id) else {
            continue;
        };
        let t = &t;
        let blocking = match d.kind.as_str() {
            "blocks" | "waits-for" => !values::is_done(&status_here(tx, ledger, t)),
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

pub fn close(
    ctx: &Session,
    ids: &[String],
    reason: Option<&str>,
    force: bool,
) -> Result<Vec<Outcome>> {
    coordinated_with(
        ctx,
        force,
        |ledger, publish| close_local(ctx, ids, reason, force, None, None, ledger, publish),
        |_| Some(Event::Closed),
    )
}

/// What a write leaves on the issue beside its change, in the same write:
/// a comment by the actor and, maybe, a label (the worker loop's record of
/// a run, issue 13: one write per run's end, not three).
#[derive(Debug, Clone, Copy)]
pub struct Noted<'a> {
    pub comment: &'a str,
    pub label: Option<&'a str>,
}

/// Add the note to `rec`; the fields it changed.
fn add_note(ctx: &Session, rec: &mut Record, note: Option<&Noted>) -> Result<Vec<&'static str>> {
    let Some(n) = note else {
        return Ok(vec![]);
    };
    crate::ops::write::actor_comment(ctx, rec, n.comment.to_string());
    let mut fields = vec!["comments"];
    if let Some(l) = n.label {
        crate::ops::editable_list(rec, "labels")?;
        if rec.add_label(l) {
            fields.push("labels");
        }
    }
    Ok(fields)
}

/// `close` with a note in the same write (the worker loop).
pub fn close_noted(ctx: &Session, id: &str, reason: &str, note: &Noted) -> Result<Vec<Outcome>> {
    let ids = [id.to_string()];
    coordinated(
        ctx,
        |ledger, publish| {
            close_local(
                ctx,
                &ids,
                Some(reason),
                false,
                None,
                Some(note),
                ledger,
                publish,
            )
        },
        |_| Some(Event::Closed),
    )
}

/// `unclaim` with a note in the same write (the worker loop).
pub fn unclaim_noted(ctx: &Session, id: &str, note: &Noted) -> Result<Vec<Outcome>> {
    let ids = [id.to_string()];
    coordinated(
        ctx,
        |ledger, publish| unclaim_local(ctx, &ids, false, Some(note), ledger, publish),
        |_| Some(Event::Released),
    )
}

/// `bd duplicate ID --of CANONICAL`, `bd supersede ID --with NEW`
/// (classic): an edge of `kind` from the issue to `to`, and the issue
/// closed, in one write through the close path. Its blockers do not hold
/// it open (it is not done work, it is replaced), its claim guards do.
pub fn close_replaced(
    ctx: &Session,
    id: &str,
    to: &str,
    kind: &'static str,
) -> Result<Vec<Outcome>> {
    let ids = [id.to_string()];
    coordinated(
        ctx,
        |ledger, publish| {
            let tx = ctx.tx()?;
            let prefix = ctx.prefix_for(&tx)?;
            let target = tx.resolve(to, &prefix)?;
            let this = tx.resolve(id, &prefix)?;
            crate::ops::write::refuse_deleted(ctx, &tx.get(&target)?)?;
            drop(tx);
            if target == this {
                return Err(Error::invalid(format!("{this} cannot replace itself")));
            }
            let reason = match kind {
                "duplicates" => format!("Duplicate of {target}"),
                _ => format!("Superseded by {target}"),
            };
            close_local(
                ctx,
                &ids,
                Some(&reason),
                false,
                Some((&target, kind)),
                None,
                ledger,
                publish,
            )
        },
        |_| Some(Event::Closed),
    )
}

#[allow(clippy::too_many_arguments)]
fn close_local(
    ctx: &Session,
    ids: &[String],
    reason: Option<&str>,
    force: bool,
    replaced_by: Option<(&str, &str)>,
    note: Option<&Noted>,
    ledger: Option<&Ledger>,
    publish: &mut Publish,
) -> Result<Vec<Outcome>> {
    apply_then(
        ctx,
        ids,
        Guard::held(ledger, force),
        |tx, rec| {
            if rec.state() == Status::Closed && replaced_by.is_none() {
                unchanged(ctx, format!("{} is already closed", rec.id()));
                return Ok(vec![]);
            }
            refuse_if_recovered(ctx, ledger, rec, force)?;
            crate::ops::write::refuse_deleted(ctx, rec)?;
            if let Some((to, kind)) = replaced_by {
                crate::ops::editable_list(rec, "dependencies")?;
                let mut fields = Vec::new();
                if !rec.has_dep(to, kind) {
                    rec.add_dep(&Dep {
                        issue_id: rec.id().to_string(),
                        depends_on_id: to.to_string(),
                        kind: kind.to_string(),
                        created_at: Some(ctx.now_text()),
                        created_by: Some(ctx.actor.clone()),
                        metadata: None,
                    });
                    fields.push("dependencies");
                }
                if rec.state() != Status::Closed {
                    rec.set_status(Status::Closed);
                    rec.set("closed_at", &ctx.now_text());
                    if let Some(r) = reason {
                        rec.set("close_reason", r);
                    }
                    fields.push("status");
                }
                if fields.is_empty() {
                    unchanged(
                        ctx,
                        format!("{} is already closed as replaced by {to}", rec.id()),
                    );
                }
                return Ok(fields);
            }
            if !force {
                let blockers = open_blockers(tx, ledger, rec);
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
                if matches!(rec.issue_type().as_str(), "epic" | "molecule") {
                    let open = open_children(tx, ledger, rec);
                    if !open.is_empty() {
                        return Err(Error::Conflict {
                            msg: format!(
                                "{} {} has open children {}; not closing it",
                                rec.issue_type(),
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
            let mut fields = vec!["status"];
            fields.extend(add_note(ctx, rec, note)?);
            Ok(fields)
        },
        |tx, closed| {
            crate::ops::convoy::land(ctx, tx, closed)?;
            publish(closed)
        },
    )
}

/// `bd reopen [--reason TEXT]`: the reason, when given, is a comment by
/// the actor on each issue reopened, in the same write.
pub fn reopen(ctx: &Session, ids: &[String], reason: Option<&str>) -> Result<Vec<Outcome>> {
    coordinated(
        ctx,
        |ledger, publish| reopen_local(ctx, ids, reason, ledger, publish),
        |_| Some(Event::Reopened),
    )
}

fn reopen_local(
    ctx: &Session,
    ids: &[String],
    reason: Option<&str>,
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
            if let Some(r) = reason.map(str::trim).filter(|r| !r.is_empty()) {
                crate::ops::write::actor_comment(ctx, rec, format!("Reopened: {r}"));
                return Ok(vec!["status", "comments"]);
            }
            Ok(vec!["status"])
        },
        publish,
    )
}

/// `bd delete`; `force` insists over a claim the actor lost in a merge.
pub fn delete(
    ctx: &Session,
    ids: &[String],
    reason: Option<&str>,
    force: bool,
) -> Result<Vec<Outcome>> {
    coordinated_with(
        ctx,
        force,
        |ledger, publish| delete_local(ctx, ids, reason, Guard::held(ledger, force), publish),
        |_| Some(Event::Deleted),
    )
}

fn delete_local(
    ctx: &Session,
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

pub fn restore(ctx: &Session, ids: &[String]) -> Result<Vec<Outcome>> {
    // Coordinated as a reopen: in remote coordination the closed claim a
    // delete left on the remote is released, so the item is claimable again.
    coordinated(
        ctx,
        |ledger, publish| {
            apply_pub(
                ctx,
                ids,
                Guard::held(ledger, false),
                |_, rec| {
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
                },
                publish,
            )
        },
        |_| Some(Event::Reopened),
    )
}

/// Refuse to defer what cannot wait: a deleted issue (here or next door),
/// done work (`defer` and `update --defer` say the same).
fn refuse_deferring(ctx: &Session, rec: &Record) -> Result<()> {
    crate::ops::write::refuse_deleted(ctx, rec)?;
    let status = rec.state();
    if status.is_done() {
        return Err(Error::invalid(format!(
            "{} is {status}; cannot defer it",
            rec.id()
        )));
    }
    Ok(())
}

/// `bd defer`; `force` insists over a claim the actor lost in a merge.
/// Deferring ends a claim, here or in another workspace of the machine
/// ([`end_claim`]): the ledger records the release.
/// `bd defer`: until a date, or (no date, classic's status-based
/// deferral) until `undefer`; a date the issue has stays.
pub fn defer(
    ctx: &Session,
    ids: &[String],
    until: Option<&str>,
    force: bool,
) -> Result<Vec<Outcome>> {
    let when = until
        .map(|u| future_date(ctx, u, "defer date"))
        .transpose()?;
    let ended = std::cell::RefCell::new(std::collections::BTreeSet::new());
    coordinated_seen(
        ctx,
        ids,
        force,
        |ledger, _, rec| {
            refuse_deferring(ctx, rec)?;
            let mut ch = Vec::new();
            // No date given: the status only (classic), a date it has stays.
            let dated = match &when {
                Some(w) => rec.set_time("defer_until", w),
                None => false,
            };
            if dated {
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
                    match &when {
                        Some(w) => format!("{} is already deferred until {w}", rec.id()),
                        None => format!("{} is already deferred", rec.id()),
                    },
                );
            }
            Ok(ch)
        },
        |rec| ended.borrow().contains(rec.id()).then_some(Event::Released),
    )
}

/// `bd undefer`. A deferral made in another workspace of the machine (the
/// ledger's release carries its date) is lifted here too, and the ledger
/// says so, so every workspace sees open work at once.
pub fn undefer(ctx: &Session, ids: &[String]) -> Result<Vec<Outcome>> {
    let lifted = std::cell::RefCell::new(std::collections::BTreeSet::new());
    coordinated_seen(
        ctx,
        ids,
        false,
        |ledger, _, rec| {
            let entry = ledger.and_then(|l| coord::entry_for(l, rec));
            let elsewhere = entry.filter(|e| e.until.is_some());
            // Deferred in another workspace: judged as deferred.
            if elsewhere.is_some() {
                coord::apply_release(elsewhere, rec);
            }
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
            if let Some(e) = elsewhere {
                // Past the deferral's entry, which overlays the
                // workspaces that have not merged it.
                rec.bump_claim_epoch();
                rec.raise_claim_epoch_past(e.epoch);
                lifted.borrow_mut().insert(rec.id().to_string());
                ch.push("assignee");
            }
            Ok(ch)
        },
        |rec| {
            lifted
                .borrow()
                .contains(rec.id())
                .then_some(Event::Released)
        },
    )
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
        Status::Tombstone => Some(format!("{} is deleted; `bd restore` it first", rec.id())),
        s => Some(format!("{} is not claimable (status {s})", rec.id())),
    }
}

/// Claim issues for `ctx.actor`: assignee, `in_progress`, `started_at`, epoch up.
/// Claim issues for `ctx.actor`: under the ledger lock (every workspace of the
/// project on this machine), then the workspace lock.
pub fn claim(ctx: &Session, ids: &[String], steal: bool) -> Result<Vec<Outcome>> {
    coordinated_seen(
        ctx,
        ids,
        // A steal is judged by the winner's lease, not refused as lost.
        steal,
        |ledger, _, rec| {
            let entry = ledger.and_then(|l| coord::entry_for(l, rec));
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
                if !coord::lapsed(ctx, h, rec) {
                    return Err(Error::Conflict {
                        msg: format!(
                            "cannot steal {}: {h} holds it and its lease has not lapsed",
                            rec.id()
                        ),
                        hint: Some(
                            "a claim can be stolen only after its holder is silent for the lease"
                                .into(),
                        ),
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
            if !fields.is_empty() {
                rec.raise_claim_epoch_past(entry.map_or(0, |e| e.epoch));
            }
            Ok(fields)
        },
        |rec| {
            Some(Event::Claimed {
                holder: rec.nonempty("assignee").unwrap_or_default(),
                started_at: rec.str("started_at").unwrap_or_default(),
            })
        },
    )
}

pub fn claim_one(ctx: &Session, rec: &mut Record) -> Result<Vec<&'static str>> {
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
pub fn unclaim(ctx: &Session, ids: &[String], force: bool) -> Result<Vec<Outcome>> {
    coordinated_with(
        ctx,
        force,
        |ledger, publish| unclaim_local(ctx, ids, force, None, ledger, publish),
        |_| Some(Event::Released),
    )
}

/// Give up claims the remote gave to another agent (a claim made offline
/// that lost when `bd sync` arbitrated it): the record here follows the
/// winner (held by it, its claim epoch above this clone's so the merge
/// carries the winner, not the lost claim, to every clone), with a comment
/// saying so. The remote is not asked: its claim is the winner's.
pub fn yield_lost(ctx: &Session, lost: &[(String, String)]) -> Result<Vec<Outcome>> {
    let ids: Vec<String> = lost.iter().map(|(id, _)| id.clone()).collect();
    coordinated(
        ctx,
        |_, publish| {
            apply_pub(
                ctx,
                &ids,
                Guard::Insist,
                |_, rec| {
                    let Some((_, winner)) = lost.iter().find(|(id, _)| id == rec.id()) else {
                        return Ok(vec![]);
                    };
                    rec.set("assignee", winner);
                    rec.set_status(Status::InProgress);
                    rec.set("started_at", &ctx.now_text());
                    rec.bump_claim_epoch();
                    crate::ops::write::actor_comment(
                        ctx,
                        rec,
                        format!("Claim made offline lost: the remote gave it to {winner}"),
                    );
                    Ok(vec!["assignee", "status", "comments"])
                },
                publish,
            )
        },
        |_| None,
    )
}

fn unclaim_local(
    ctx: &Session,
    ids: &[String],
    force: bool,
    note: Option<&Noted>,
    ledger: Option<&Ledger>,
    publish: &mut Publish,
) -> Result<Vec<Outcome>> {
    apply_seen(
        ctx,
        ids,
        ledger,
        Guard::held(ledger, force),
        |_, rec| {
            let entry = ledger.and_then(|l| coord::entry_for(l, rec));
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
            refuse_if_recovered(ctx, ledger, rec, force)?;
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
            rec.raise_claim_epoch_past(entry.map_or(0, |e| e.epoch));
            let mut fields = vec!["assignee", "status"];
            if recovered {
                fields.push("comments");
            }
            for f in add_note(ctx, rec, note)? {
                if !fields.contains(&f) {
                    fields.push(f);
                }
            }
            Ok(fields)
        },
        publish,
    )
}

/// Rotate each run of equal priority by an offset of this process's own
/// (its pid and the clock's nanoseconds).
fn spread(candidates: &mut [(i64, String)]) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as usize)
        ^ (std::process::id() as usize).wrapping_mul(2_654_435_761);
    let mut start = 0;
    while start < candidates.len() {
        let p = candidates[start].0;
        let len = candidates[start..]
            .iter()
            .take_while(|(q, _)| *q == p)
            .count();
        candidates[start..start + len].rotate_left(seed % len);
        start += len;
    }
}

/// `bd ready --claim`: claim the first ready issue that is still free. Candidates
/// come from the ready set; the claim itself re-checks under the lock.
pub fn ready_claim(
    ctx: &Session,
    f: &crate::ops::query::Filter,
    containers: bool,
) -> Result<Option<Record>> {
    let mut f = f.clone();
    f.limit = None;
    // In remote coordination the candidates are judged by the claims there now.
    f.fresh = !ctx.env.offline;
    let rows = crate::ops::query::claimable(ctx, &f, containers)?.rows;
    let mut candidates: Vec<(i64, String)> = rows.into_iter().map(|r| (r.priority, r.id)).collect();
    // Across machines many agents take from one list: each starts at its
    // own place among the items of equal priority, so they do not all lose
    // the same race item after item (priority order stays).
    if crate::ops::remote::enabled(ctx) {
        spread(&mut candidates);
    }
    let candidates: Vec<String> = candidates.into_iter().map(|(_, id)| id).collect();
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

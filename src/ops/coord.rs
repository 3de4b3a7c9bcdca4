//! Coordination across the workspaces of a project on this machine (SPEC §7):
//! the project home, the ledger overlay ("effective state"), claims that are
//! atomic across clones and worktrees, agents and their heartbeats.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::home::ledger;
use crate::model::kinds::Status;
use crate::model::record::Record;
use crate::model::time::{self, Nanos};
use crate::ops::Session;
use crate::ops::session::known_workspaces;

/// The stamp of a record's status register (SPEC §5 rules).
pub fn status_stamp(rec: &Record) -> Nanos {
    if let Some(s) = rec.stamps().get("status").and_then(|v| v.as_str())
        && let Some(st) = crate::model::record::Stamp::parse(s)
    {
        return st.at;
    }
    if rec.has("_stamps") {
        rec.time("created_at").unwrap_or(0)
    } else {
        rec.time("updated_at").unwrap_or(0)
    }
}

/// What another workspace did to an issue that this workspace's file does
/// not show yet. JSON: an object whose `state` names the variant.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Overlay {
    Held {
        holder: String,
        workspace: String,
        started_at: String,
        epoch: i64,
    },
    Hooked {
        agent: String,
        workspace: String,
        epoch: i64,
    },
    Closed {
        at: String,
        workspace: String,
    },
    Deleted {
        at: String,
        workspace: String,
    },
    Released {
        epoch: i64,
        /// Released by a deferral: until when (RFC 3339).
        #[serde(skip_serializing_if = "Option::is_none")]
        until: Option<String>,
        /// Released by a status write: the status it left, when not open.
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        /// The plain assignment the release kept, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        assignee: Option<String>,
    },
}

/// The ledger's entry for `rec`, by identity: the entry at its id when it
/// was written for this record (or names no record), else the entry at the
/// id it was renamed from when that one was written for this record, else
/// (not renamed here yet) the entry written for it at its renamed id. A
/// collision rename (SPEC §5: the older keeps the id) made by a merge the
/// ledger has not followed yet (a plain `git pull`, a sibling workspace not
/// merged yet) so never lends one issue's claim to the other. Every view
/// and refusal looks entries up through this.
pub fn entry_for<'a>(l: &'a ledger::Ledger, rec: &Record) -> Option<&'a ledger::Entry> {
    let created = rec.time("created_at");
    if let Some(e) = l.find(rec.id()).filter(|e| e.is_of(created)) {
        return Some(e);
    }
    if l.is_empty() {
        return None;
    }
    let mine = |e: &&ledger::Entry| e.created.is_some() && e.is_of(created);
    if let Some(from) = rec.nonempty("renamed_from") {
        return l.find(&from).filter(mine);
    }
    // Not renamed here yet (this workspace has not merged the rename), its
    // entry already moved to the new id by a workspace that has.
    crate::model::merge::rename_candidates(rec.id(), created?)
        .find_map(|to| l.find(&to).filter(mine))
}

/// Where the record that was at `id`, created at `created`, lives in `snap`
/// after a collision rename (SPEC §5: the older keeps the id, the younger
/// moves to an id derived from its identity, with `renamed_from`): the new
/// id, or `None` when it was not renamed (or is not here).
pub fn renamed_to(snap: &crate::store::Snapshot, id: &str, created: Nanos) -> Option<String> {
    crate::model::merge::rename_candidates(id, created).find(|cand| {
        snap.find(cand)
            .and_then(|row| snap.record(row).ok())
            .is_some_and(|rec| {
                rec.nonempty("renamed_from").as_deref() == Some(id)
                    && rec.time("created_at").map(|n| n.div_euclid(1000))
                        == Some(created.div_euclid(1000))
            })
    })
}

/// Move the ledger entries written for records a merge has since renamed
/// in this workspace (the record at the entry's id is another issue now) to
/// the records' new ids, unless a later entry is there already. Returns the
/// moves, (old id, new id). Entries without identity (older versions) stay.
pub fn follow_renames(
    l: &mut ledger::Ledger,
    snap: &crate::store::Snapshot,
) -> Vec<(String, String)> {
    let mut moves = Vec::new();
    for e in l.iter() {
        let Some(created) = e.created.as_deref().and_then(time::parse) else {
            continue;
        };
        let here = snap.find(&e.issue).and_then(|row| snap.record(row).ok());
        if here.is_none_or(|rec| e.is_of(rec.time("created_at"))) {
            continue;
        }
        if let Some(to) = renamed_to(snap, &e.issue, created) {
            moves.push((e.issue.clone(), to));
        }
    }
    let later = |a: &ledger::Entry, b: &ledger::Entry| {
        (time::parse(&a.at), a.epoch) >= (time::parse(&b.at), b.epoch)
    };
    for (from, to) in &moves {
        let Some(mut e) = l.remove(from) else {
            continue;
        };
        e.issue = to.clone();
        if !l.find(to).is_some_and(|there| later(there, &e)) {
            let _ = l.put(e);
        }
    }
    moves
}

/// The ledger entry for `rec`, when it is newer than the record.
pub fn overlay(entry: Option<&ledger::Entry>, rec: &Record) -> Option<Overlay> {
    let e = entry?;
    let ws = e.workspace.display().to_string();
    let epoch = rec.claim_epoch();
    if beaten_by_unseen_status(e, rec) {
        return None;
    }
    match &e.event {
        ledger::Event::Claimed { holder, started_at } if e.epoch > epoch => Some(Overlay::Held {
            holder: holder.clone(),
            workspace: ws,
            started_at: started_at.clone(),
            epoch: e.epoch,
        }),
        ledger::Event::Hooked { agent, .. } if e.epoch > epoch => Some(Overlay::Hooked {
            agent: agent.clone(),
            workspace: ws,
            epoch: e.epoch,
        }),
        ledger::Event::Released if e.epoch > epoch => Some(Overlay::Released {
            epoch: e.epoch,
            until: e.until.clone(),
            status: e.status.clone(),
            assignee: e.assignee.clone(),
        }),
        ledger::Event::Closed | ledger::Event::Deleted => {
            let at = time::parse(&e.at)?;
            if at <= status_stamp(rec) || crate::model::values::is_done(&rec.status()) {
                return None;
            }
            Some(if matches!(e.event, ledger::Event::Closed) {
                Overlay::Closed {
                    at: e.at.clone(),
                    workspace: ws,
                }
            } else {
                Overlay::Deleted {
                    at: e.at.clone(),
                    workspace: ws,
                }
            })
        }
        _ => None,
    }
}

/// A claim, hook or release entry that a later status write in the record
/// beats: the record's status was written after the state the entry's write
/// was made on (a close, delete, deferral or any status that write never
/// saw) and names no holder. The merge rules the same way (SPEC §5: a
/// claim loses to a status write it never saw), so views follow the record,
/// as they will in every clone once merged (issue 9, item 13; review 4).
fn beaten_by_unseen_status(e: &ledger::Entry, rec: &Record) -> bool {
    e.event.is_claim_group()
        && !rec.state().is_held()
        && e.on
            .as_deref()
            .and_then(crate::model::record::Stamp::parse)
            .is_some_and(|on| status_stamp(rec) > on.at)
}

/// Who holds an issue by its effective state (issue 9, items 13 and 16): the
/// record overlaid with a newer ledger entry. `(holder, hooked)`; `None` when
/// nobody holds it (open, released, closed or deleted, here or elsewhere).
/// Every view of claims and hooks (`prime`, `agents`, `hook`) asks this.
pub fn effective_holder(entry: Option<&ledger::Entry>, rec: &Record) -> Option<(String, bool)> {
    match overlay(entry, rec) {
        Some(Overlay::Held { holder, .. }) => Some((holder, false)),
        Some(Overlay::Hooked { agent, .. }) => Some((agent, true)),
        Some(_) => None,
        None => {
            let status = rec.state();
            if !status.is_held() {
                return None;
            }
            let hooked = status == Status::Hooked;
            rec.nonempty("assignee").map(|a| (a, hooked))
        }
    }
}

/// The state a release recorded in the ledger left: its status (deferred
/// when it carries a date; else the status it names, when that is not a
/// held one; else open) and the assignee it kept.
fn released_state(e: &ledger::Entry) -> (Status, Option<String>) {
    let status = if e.until.is_some() {
        Status::Deferred
    } else {
        e.status
            .as_deref()
            .map(Status::parse)
            .filter(|s| !s.is_held())
            .unwrap_or(Status::Open)
    };
    (status, e.assignee.clone().filter(|a| !a.trim().is_empty()))
}

/// Whether the ledger holds a release made in another workspace of this
/// machine that this file does not show yet (it shows the claim or hook it
/// ended, the deferral it lifted, or an older state the release replaced):
/// the effective state is the one the release left (issue 9, items 14/16;
/// review 5: a status write that ended a claim).
pub fn released_elsewhere(entry: Option<&ledger::Entry>, rec: &Record) -> bool {
    let Some(e) = entry else { return false };
    if !matches!(overlay(entry, rec), Some(Overlay::Released { .. })) {
        return false;
    }
    !shows_release(e, rec)
}

/// Whether `rec` is in the state the release `e` left (status, assignment,
/// and a deferral's date).
pub fn shows_release(e: &ledger::Entry, rec: &Record) -> bool {
    let (status, assignee) = released_state(e);
    rec.state() == status
        && rec.nonempty("assignee") == assignee
        && (status != Status::Deferred || rec.str("defer_until") == e.until)
}

/// Bring a record to its effective state before a write judges it: a
/// release made elsewhere leaves it as the release wrote it (its status,
/// no holder, no start, the assignment it kept). Returns whether it changed.
pub fn apply_release(entry: Option<&ledger::Entry>, rec: &mut Record) -> bool {
    let Some(e) = entry.filter(|_| released_elsewhere(entry, rec)) else {
        return false;
    };
    let (status, assignee) = released_state(e);
    rec.set_status(status.clone());
    match (status, e.until.as_deref()) {
        // Released by a deferral: deferred, as that write left it.
        (Status::Deferred, Some(until)) => {
            rec.set("defer_until", until);
        }
        (Status::Open, _) => {
            rec.remove("defer_until");
        }
        _ => {}
    }
    match assignee {
        Some(a) => rec.set("assignee", &a),
        None => {
            rec.remove("assignee");
        }
    }
    rec.remove("started_at");
    true
}

/// Bring a record to its effective state before a write of its state is
/// made on it: what another workspace of this machine did that this file
/// does not show yet (a claim, a hook, a release, a close) is applied, so
/// the write gives the same result wherever it runs (review 7: `update` in
/// a sibling worktree changed the stale record). A delete is not applied:
/// writes to a deleted issue are refused. Returns whether it changed.
pub fn apply_overlay(entry: Option<&ledger::Entry>, rec: &mut Record) -> bool {
    match overlay(entry, rec) {
        Some(Overlay::Held {
            holder, started_at, ..
        }) => {
            rec.set_status(Status::InProgress);
            rec.set("assignee", &holder);
            if !started_at.is_empty() {
                rec.set("started_at", &started_at);
            }
            true
        }
        Some(Overlay::Hooked { agent, .. }) => {
            rec.set_status(Status::Hooked);
            rec.set("assignee", &agent);
            true
        }
        Some(Overlay::Closed { at, .. }) => {
            rec.set_status(Status::Closed);
            rec.set("closed_at", &at);
            true
        }
        Some(Overlay::Released { .. }) => apply_release(entry, rec),
        Some(Overlay::Deleted { .. }) | None => false,
    }
}

/// Whether a release made elsewhere makes `rec` ready here (given it would
/// be ready were it open): released to open work, or deferred by that
/// release to a time already past.
pub fn released_ready(entry: Option<&ledger::Entry>, rec: &Record, now: time::Nanos) -> bool {
    released_elsewhere(entry, rec) && entry.is_some_and(|e| release_is_ready(e, now))
}

/// Whether the state a release left is ready work (open, or deferred to a
/// time already past).
fn release_is_ready(e: &ledger::Entry, now: time::Nanos) -> bool {
    match released_state(e).0 {
        Status::Open => true,
        Status::Deferred => e
            .until
            .as_deref()
            .and_then(time::parse)
            .is_none_or(|t| t <= now),
        _ => false,
    }
}

/// Why a release made elsewhere keeps `rec` out of ready work here (it
/// left the issue blocked, or deferred to a time still to come), if it does.
pub fn released_not_ready(
    entry: Option<&ledger::Entry>,
    rec: &Record,
    now: time::Nanos,
) -> Option<String> {
    let e = entry.filter(|_| released_elsewhere(entry, rec))?;
    if release_is_ready(e, now) {
        return None;
    }
    let ws = e.workspace.display();
    Some(match &e.until {
        Some(until) => format!("{} was deferred until {until} in workspace {ws}", rec.id()),
        None => format!(
            "{} was set {} in workspace {ws}",
            rec.id(),
            released_state(e).0
        ),
    })
}

/// The holder that won `actor`'s claim (or hook) on `rec`: this machine's
/// ledger says `actor` took it, and the record, as new as that entry or
/// newer (a merge brought the other side's claim), names another holder.
/// After such a loss the loser's views and writes follow the winner (item 13).
pub fn lost_claim(entry: Option<&ledger::Entry>, rec: &Record, actor: &str) -> Option<String> {
    let e = entry?;
    let mine = match &e.event {
        ledger::Event::Claimed { holder, .. } => holder == actor,
        ledger::Event::Hooked { agent, .. } => agent == actor,
        _ => false,
    };
    if !mine || overlay(entry, rec).is_some() {
        return None;
    }
    effective_holder(None, rec)
        .map(|(h, _)| h)
        .filter(|h| h != actor)
}

/// `rec`'s status as this machine knows it: what another workspace did
/// to it since (claimed, hooked, closed, deleted, released to a state)
/// over what the record says. The close guard judges children and
/// blockers by it (review 8: an epic closed over a child claimed next door).
pub fn effective_status(entry: Option<&ledger::Entry>, rec: &Record) -> String {
    match overlay(entry, rec) {
        Some(Overlay::Held { .. }) => "in_progress".into(),
        Some(Overlay::Hooked { .. }) => "hooked".into(),
        Some(Overlay::Closed { .. }) => "closed".into(),
        Some(Overlay::Deleted { .. }) => "tombstone".into(),
        Some(Overlay::Released { status, .. }) => status.unwrap_or_else(|| "open".into()),
        None => rec.status(),
    }
}

/// Who took `actor`'s claim (or hook) on `rec` in another workspace of
/// this machine: the record here still shows `actor` holding it, and the
/// ledger holds a later claim or hook by another (a steal, or a claim after
/// a release made elsewhere). The holder and its workspace. After that the
/// old holder's writes are refused as after a recovery here (SPEC §7).
pub fn taken_from(
    entry: Option<&ledger::Entry>,
    rec: &Record,
    actor: &str,
) -> Option<(String, String)> {
    let here = effective_holder(None, rec)?.0;
    if here != actor {
        return None;
    }
    match overlay(entry, rec)? {
        Overlay::Held {
            holder, workspace, ..
        } if holder != actor => Some((holder, workspace)),
        Overlay::Hooked {
            agent, workspace, ..
        } if agent != actor => Some((agent, workspace)),
        _ => None,
    }
}

/// Whether a write of `fields` changes an issue's state register (the
/// status, claim and tombstone groups, SPEC §5): the writes the lost-claim
/// rule judges (item 13).
pub fn writes_state(fields: &[&str]) -> bool {
    fields.iter().any(|f| {
        matches!(
            crate::model::record::stamp_group(f),
            "status" | "claim" | "tombstone"
        )
    })
}

/// Why an overlay makes an issue unavailable to `actor`, if it does.
pub fn overlay_refusal(o: &Overlay, id: &str, actor: &str) -> Option<String> {
    match o {
        Overlay::Held {
            holder, workspace, ..
        } if holder != actor => Some(format!("{id} is held by {holder} (workspace {workspace})")),
        Overlay::Hooked {
            agent, workspace, ..
        } if agent != actor => Some(format!(
            "{id} is on the hook of {agent} (workspace {workspace})"
        )),
        Overlay::Closed { at, workspace } => {
            Some(format!("{id} was closed in workspace {workspace} at {at}"))
        }
        Overlay::Deleted { at, workspace } => {
            Some(format!("{id} was deleted in workspace {workspace} at {at}"))
        }
        _ => None,
    }
}

/// Write a ledger entry for an issue this command changed.
pub fn ledger_entry(ctx: &Session, rec: &Record, event: ledger::Event) -> ledger::Entry {
    let claim_group = event.is_claim_group();
    let released = matches!(event, ledger::Event::Released);
    ledger::Entry {
        issue: rec.id().to_string(),
        event,
        at: ctx.now_text(),
        by: ctx.actor.clone(),
        workspace: ctx.ws.root.clone(),
        epoch: rec.claim_epoch(),
        on: claim_group
            .then(|| rec.claim_made_on().map(|st| st.to_text()))
            .flatten(),
        // A release by a deferral says until when; one by another status
        // write names the status it left, and the assignment it kept.
        until: (released && rec.state() == Status::Deferred)
            .then(|| rec.str("defer_until"))
            .flatten(),
        status: (released && !matches!(rec.state(), Status::Open | Status::Deferred))
            .then(|| rec.status()),
        assignee: released.then(|| rec.nonempty("assignee")).flatten(),
        created: rec.str("created_at"),
    }
}

/// Why there is no project home: the setting, or a membership this
/// workspace has not proven (issue 9, item 2).
pub(crate) fn no_home(ctx: &Session) -> Error {
    if ctx.config.get_str("coordination") == Some("workspace") {
        return Error::Invalid {
            msg: "agents live in the project home, and coordination is set to \"workspace\"".into(),
            hint: Some("`bd config set coordination machine`".into()),
        };
    }
    Error::Invalid {
        msg: "agents live in the project home, which this workspace has not joined: its configured project is not proven for this repository".into(),
        hint: Some(
            "`bd where --trust` if this repository belongs to that project (a fork, a renamed remote)"
                .into(),
        ),
    }
}

/// What one agent holds by the effective state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Holdings {
    /// Claimed (`in_progress`), sorted.
    pub claims: Vec<String>,
    /// On its hook (`hooked`), sorted.
    pub hook: Vec<String>,
}

/// Every agent's claims and hook by the effective state
/// ([`effective_holder`]): this workspace's records overlaid with newer
/// ledger entries, plus the ledger's word for issues this file does not have
/// yet. The one source for `agents`, `hook` and `dispatch`'s loads.
pub fn holdings(ctx: &Session) -> Result<BTreeMap<String, Holdings>> {
    let ledger = ctx.ledger()?;
    let named: std::collections::HashSet<&str> = ledger.iter().map(|e| e.issue.as_str()).collect();
    let snap = crate::store::Snapshot::load_where(
        &ctx.ws,
        &ctx.view(),
        |p| Status::parse(p.status()).is_held() || named.contains(p.id()),
        false,
    )?;
    let mut out: BTreeMap<String, Holdings> = BTreeMap::new();
    let mut add = |holder: String, hooked: bool, id: &str| {
        let h = out.entry(holder).or_default();
        let v = if hooked { &mut h.hook } else { &mut h.claims };
        v.push(id.to_string());
    };
    for r in &snap.rows {
        let rec = snap.record(r)?;
        if let Some((holder, hooked)) = effective_holder(entry_for(&ledger, &rec), &rec) {
            add(holder, hooked, &r.id);
        }
    }
    for e in ledger.iter().filter(|e| snap.find(&e.issue).is_none()) {
        match &e.event {
            ledger::Event::Claimed { holder, .. } => add(holder.clone(), false, &e.issue),
            ledger::Event::Hooked { agent, .. } => add(agent.clone(), true, &e.issue),
            _ => {}
        }
    }
    for h in out.values_mut() {
        h.claims.sort();
        h.hook.sort();
    }
    Ok(out)
}

/// Whether a workspace's record already shows what a ledger entry says (or
/// something newer), so the entry has nothing left to tell that workspace.
pub fn reflects(rec: &Record, e: &ledger::Entry) -> bool {
    let status = rec.state();
    let assignee = rec.nonempty("assignee").unwrap_or_default();
    match &e.event {
        ledger::Event::Closed => status.is_done(),
        ledger::Event::Deleted => status == Status::Tombstone,
        ledger::Event::Reopened => status != Status::Closed && rec.claim_epoch() >= e.epoch,
        _ if rec.claim_epoch() > e.epoch => true,
        _ if rec.claim_epoch() < e.epoch => false,
        ledger::Event::Claimed { holder, .. } => {
            status == Status::InProgress && assignee == *holder
        }
        ledger::Event::Hooked { agent, .. } => status == Status::Hooked && assignee == *agent,
        ledger::Event::Released => !status.is_held(),
    }
}

/// Whether dispatch should prune the ledger now: at most every ten minutes
/// (it reads every workspace's tracker; a watch loop need not do it each
/// round). `doctor --fix` always prunes.
pub fn prune_due(ctx: &Session) -> bool {
    let Ok(Some(home)) = ctx.home() else {
        return false;
    };
    let mark = home.path("ledger.pruned");
    let recent = crate::files::metadata(&mark)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|d| d.as_secs() < 600);
    if recent {
        return false;
    }
    // Touch the mark (its time is what counts).
    crate::files::write(&mark, b"").is_ok()
}

/// Drop the ledger entries every known workspace of the project already
/// reflects in its own file, and those older than 7 days (SPEC §7). Run by
/// `bd dispatch` and `bd doctor`; returns how many were dropped.
pub fn prune_ledger(ctx: &Session) -> Result<usize> {
    let Some(home) = ctx.home()? else {
        return Ok(0);
    };
    let (l, _) = ledger::load(&home);
    if l.is_empty() {
        return Ok(0);
    }
    // Entries of records renamed here since go to their new ids first.
    if let Ok(snap) = ctx.snapshot() {
        ledger::with_ledger(&home, |l| {
            follow_renames(l, &snap);
            Ok(())
        })?;
    }
    let (l, _) = ledger::load(&home);
    let roots = known_workspaces(ctx, &home);
    let ids: std::collections::HashSet<&str> = l.iter().map(|e| e.issue.as_str()).collect();
    let mut views: Vec<BTreeMap<String, Record>> = Vec::new();
    for root in &roots {
        views.push(
            crate::store::tracker::records_with_ids(root, &ids)
                .into_iter()
                .map(|r| (r.id().to_string(), r))
                .collect(),
        );
    }
    let agreed = |e: &ledger::Entry| {
        !views.is_empty()
            && views
                .iter()
                .all(|v| v.get(&e.issue).is_some_and(|r| reflects(r, e)))
    };
    let (dropped, warning) = ledger::prune(&home, &ctx.now_text(), agreed)?;
    if let Some(w) = warning {
        ctx.warn(w);
    }
    Ok(dropped)
}

/// When `holder` last showed a sign of life: its heartbeat, or the claim's start.
pub fn last_sign_of_life(
    ctx: &Session,
    holder: &str,
    rec: &Record,
) -> Option<crate::model::time::Nanos> {
    let beat = ctx
        .home()
        .ok()
        .flatten()
        .and_then(|h| crate::home::presence::find(&h, holder).0)
        .and_then(|a| crate::model::time::parse(&a.last_heartbeat));
    let started = rec.time("started_at");
    match (beat, started) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// A claim is lapsed when its holder has been silent longer than the lease.
pub fn lapsed(ctx: &Session, holder: &str, rec: &Record) -> bool {
    crate::model::graph::is_lapsed(
        last_sign_of_life(ctx, holder, rec),
        ctx.now,
        ctx.config.lease_secs(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: &str = "2026-12-01T00:00:00.000000000Z";

    fn rec(status: &str, assignee: Option<&str>, epoch: i64) -> Record {
        let mut v = json!({"id": "bd-1", "title": "t", "status": status,
            "created_at": T, "updated_at": T,
            "_stamps": {"claim_epoch": epoch, "status": format!("{T} x")}});
        if let Some(a) = assignee {
            v["assignee"] = a.into();
        }
        Record::parse(&v.to_string()).unwrap()
    }

    fn entry(event: ledger::Event, epoch: i64) -> ledger::Entry {
        ledger::Entry {
            issue: "bd-1".into(),
            event,
            at: "2026-12-02T00:00:00.000000000Z".into(),
            by: "x".into(),
            workspace: "/w".into(),
            epoch,
            on: None,
            until: None,
            status: None,
            assignee: None,
            created: None,
        }
    }

    fn claimed(h: &str) -> ledger::Event {
        ledger::Event::Claimed {
            holder: h.into(),
            started_at: T.into(),
        }
    }

    #[test]
    fn effective_holder_is_the_record_unless_the_ledger_is_newer() {
        let r = rec("in_progress", Some("bob"), 2);
        assert_eq!(effective_holder(None, &r), Some(("bob".into(), false)));
        // An older or equal ledger claim does not override the record.
        let old = entry(claimed("alice"), 2);
        assert_eq!(
            effective_holder(Some(&old), &r),
            Some(("bob".into(), false))
        );
        // A newer one does; a newer release or close leaves nobody.
        let new = entry(claimed("alice"), 3);
        assert_eq!(
            effective_holder(Some(&new), &r),
            Some(("alice".into(), false))
        );
        let rel = entry(ledger::Event::Released, 3);
        assert_eq!(effective_holder(Some(&rel), &r), None);
        let closed = entry(ledger::Event::Closed, 0);
        assert_eq!(effective_holder(Some(&closed), &r), None);
        let hooked = rec("hooked", Some("carol"), 1);
        assert_eq!(
            effective_holder(None, &hooked),
            Some(("carol".into(), true))
        );
        assert_eq!(effective_holder(None, &rec("open", Some("dave"), 1)), None);
        assert_eq!(effective_holder(None, &rec("in_progress", None, 1)), None);
    }

    #[test]
    fn a_release_by_a_status_write_leaves_that_status_and_assignment() {
        let now = time::parse("2026-12-09T00:00:00Z").unwrap();
        let mut rel = entry(ledger::Event::Released, 3);
        rel.status = Some("blocked".into());
        rel.assignee = Some("alice".into());
        let mut r = rec("in_progress", Some("alice"), 2);
        assert!(released_elsewhere(Some(&rel), &r));
        assert!(!released_ready(Some(&rel), &r, now));
        assert!(released_not_ready(Some(&rel), &r, now).is_some());
        assert_eq!(effective_holder(Some(&rel), &r), None);
        assert!(apply_release(Some(&rel), &mut r));
        assert_eq!(r.status(), "blocked");
        assert_eq!(r.nonempty("assignee").as_deref(), Some("alice"));
        assert!(shows_release(&rel, &r));
        // An open record of an older epoch shows a release to open work
        // with no one assigned; one assigned elsewhere since does not.
        let open = entry(ledger::Event::Released, 3);
        assert!(!released_elsewhere(Some(&open), &rec("open", None, 1)));
        assert!(released_elsewhere(
            Some(&open),
            &rec("open", Some("bob"), 1)
        ));
        // A held status in a (hand-edited) release reads as open.
        let mut odd = entry(ledger::Event::Released, 3);
        odd.status = Some("in_progress".into());
        assert!(shows_release(&odd, &rec("open", None, 1)));
    }

    #[test]
    fn a_release_by_a_deferral_leaves_the_record_deferred_and_not_ready() {
        let mut rel = entry(ledger::Event::Released, 3);
        rel.until = Some("2026-12-10T00:00:00Z".into());
        let before = time::parse("2026-12-09T00:00:00Z").unwrap();
        let after = time::parse("2026-12-11T00:00:00Z").unwrap();
        let mut r = rec("in_progress", Some("bob"), 2);
        assert!(released_elsewhere(Some(&rel), &r));
        assert!(!released_ready(Some(&rel), &r, before));
        assert!(released_ready(Some(&rel), &r, after));
        assert_eq!(effective_holder(Some(&rel), &r), None);
        assert!(apply_release(Some(&rel), &mut r));
        assert_eq!(r.status(), "deferred");
        assert_eq!(
            r.str("defer_until").as_deref(),
            Some("2026-12-10T00:00:00Z")
        );
        assert_eq!(r.nonempty("assignee"), None);
    }

    #[test]
    fn a_newer_release_elsewhere_leaves_a_held_or_hooked_record_open() {
        let rel = entry(ledger::Event::Released, 3);
        for status in ["in_progress", "hooked"] {
            let mut r = rec(status, Some("carol"), 2);
            assert!(released_elsewhere(Some(&rel), &r), "{status}");
            assert!(apply_release(Some(&rel), &mut r));
            assert_eq!(r.status(), "open");
            assert_eq!(r.nonempty("assignee"), None);
            assert_eq!(effective_holder(Some(&rel), &r), None);
            // Applied once, it is what the record says (nothing more to do).
            assert!(!released_elsewhere(Some(&rel), &r));
        }
        // An older release, or no entry: the record stands.
        let old = entry(ledger::Event::Released, 2);
        let mut r = rec("hooked", Some("carol"), 2);
        assert!(!released_elsewhere(Some(&old), &r));
        assert!(!apply_release(None, &mut r));
        assert_eq!(r.status(), "hooked");
        // A newer claim is no release.
        assert!(!released_elsewhere(Some(&entry(claimed("bob"), 3)), &r));
    }

    #[test]
    fn the_state_register_is_status_claim_and_tombstone() {
        for f in [
            "status",
            "closed_at",
            "assignee",
            "started_at",
            "deleted_at",
            "original_type",
        ] {
            assert!(writes_state(&["labels", f]), "{f}");
        }
        for f in ["defer_until", "labels", "comments", "priority", "title"] {
            assert!(!writes_state(&[f]), "{f}");
        }
        assert!(!writes_state(&[]));
    }

    #[test]
    fn a_claim_is_lost_when_the_record_names_another_at_the_same_epoch_or_later() {
        let mine = entry(claimed("alice"), 1);
        let won_by_bob = rec("in_progress", Some("bob"), 1);
        assert_eq!(
            lost_claim(Some(&mine), &won_by_bob, "alice"),
            Some("bob".into())
        );
        assert_eq!(lost_claim(Some(&mine), &won_by_bob, "bob"), None);
        // Still mine by the record, or newer in the ledger: not lost.
        assert_eq!(
            lost_claim(Some(&mine), &rec("in_progress", Some("alice"), 1), "alice"),
            None
        );
        assert_eq!(
            lost_claim(Some(&entry(claimed("alice"), 2)), &won_by_bob, "alice"),
            None
        );
        // Released by the other side: nobody won it.
        assert_eq!(
            lost_claim(Some(&mine), &rec("open", None, 2), "alice"),
            None
        );
        assert_eq!(lost_claim(None, &won_by_bob, "alice"), None);
    }
}

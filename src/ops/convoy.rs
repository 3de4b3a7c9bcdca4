//! Convoys (SPEC §7): a `convoy` item tracking others by `tracks` edges. It
//! closes in the same write as the close of its last tracked item, and
//! reopens when an open item is added.

use crate::model::kinds::Status;
use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::model::record::{Dep, Record};
use crate::model::values;
use crate::ops::create::{CreateOptions, create};
use crate::ops::write::Outcome;
use crate::ops::{Session, stamp_write};
use crate::store::Tx;

const TRACKS: &str = "tracks";

/// Inside a close: molecules whose every item is now done close too
/// (issue 16), then convoys whose every tracked item is now done.
pub fn land(ctx: &Session, tx: &mut Tx, closed: &[Outcome]) -> Result<()> {
    let mut closed = closed.to_vec();
    closed.extend(complete_molecules(ctx, tx, &closed)?);
    let closed_ids: Vec<&str> = closed
        .iter()
        .filter(|o| o.changed)
        .map(|o| o.record.id())
        .collect();
    if closed_ids.is_empty() {
        return Ok(());
    }
    // Convoys tracking a closed item: they point at it.
    let mut candidates: Vec<String> = Vec::new();
    for id in &closed_ids {
        for (src, kind) in tx.dependents_of(id) {
            if kind == TRACKS && !candidates.contains(&src) {
                candidates.push(src);
            }
        }
    }
    candidates.sort();
    let convoys: Vec<String> = candidates
        .into_iter()
        .filter_map(|c| tx.current_row(&c))
        .filter(|r| r.issue_type == "convoy" && !values::is_done(&r.status))
        .filter(|r| {
            r.edges.iter().filter(|e| e.kind == TRACKS).all(|e| {
                tx.current_row(&e.target)
                    .is_none_or(|t| values::is_done(&t.status))
            })
        })
        .map(|r| r.id.clone())
        .collect();
    for id in convoys {
        let mut rec = tx.get(&id)?;
        let before = rec.clone();
        let at = rec.next_stamp(ctx.now);
        rec.set_status(Status::Closed);
        rec.set("closed_at", &ctx.now_text());
        rec.set("close_reason", "landed: every tracked item is closed");
        stamp_write(ctx, &before, &mut rec, &["status"], at);
        ctx.notice(format!("Convoy {id} landed"));
        tx.put(rec);
    }
    Ok(())
}

fn tracks_edge(ctx: &Session, convoy: &str, target: &str) -> Dep {
    Dep {
        issue_id: convoy.to_string(),
        depends_on_id: target.to_string(),
        kind: TRACKS.into(),
        created_at: Some(ctx.now_text()),
        created_by: Some(ctx.actor.clone()),
        metadata: None,
    }
}

/// `bd convoy create <name> <ids…>`.
pub fn create_convoy(ctx: &Session, name: &str, ids: &[String]) -> Result<Record> {
    // Check the items before the convoy is created: a refused item must not
    // leave an empty convoy behind.
    if !ids.is_empty() {
        let snap = ctx.snapshot()?;
        let prefix = ctx.prefix_of_rows(&snap.rows);
        for q in ids {
            let row = snap.resolve(q, &prefix)?;
            crate::ops::write::refuse_deleted(ctx, &snap.record(row)?)?;
        }
    }
    let rec = create(
        ctx,
        &CreateOptions {
            title: name.to_string(),
            issue_type: Some("convoy".into()),
            ..CreateOptions::default()
        },
    )?;
    if ids.is_empty() {
        return Ok(rec);
    }
    add(ctx, rec.id(), ids).map(|o| o.record)
}

/// `bd convoy add <convoy> <ids…>`: track more items; an open one reopens a
/// landed convoy.
pub fn add(ctx: &Session, convoy: &str, ids: &[String]) -> Result<Outcome> {
    let tx = ctx.tx()?;
    let prefix = ctx.prefix_for(&tx)?;
    let cid = tx.resolve(convoy, &prefix)?;
    let mut rec = tx.get(&cid)?;
    if rec.issue_type() != "convoy" {
        return Err(Error::invalid(format!(
            "{cid} is a {}, not a convoy",
            rec.issue_type()
        )));
    }
    crate::ops::write::refuse_deleted(ctx, &rec)?;
    let before = rec.clone();
    let at = rec.next_stamp(ctx.now);
    let mut fields = Vec::new();
    let mut reopen = false;
    for q in ids {
        let id = tx.resolve(q, &prefix)?;
        if id == cid {
            return Err(Error::invalid(format!("{cid} cannot track itself")));
        }
        crate::ops::write::refuse_deleted(ctx, &tx.get(&id)?)?;
        if rec.add_dep(&tracks_edge(ctx, &cid, &id)) {
            fields.push("dependencies");
            if !values::is_done(&tx.get(&id)?.status()) {
                reopen = true;
            }
        }
    }
    if fields.is_empty() {
        crate::ops::unchanged(ctx, format!("{cid} already tracks these"));
        return Ok(Outcome {
            record: rec,
            changed: false,
        });
    }
    if reopen && rec.state() == Status::Closed {
        rec.set_status(Status::Open);
        rec.remove("closed_at");
        rec.remove("close_reason");
        fields.push("status");
        ctx.notice(format!("Convoy {cid} reopened: it tracks open work again"));
    }
    crate::ops::write::write_one(ctx, tx, &before, rec, &fields, at)
}

/// Progress of one convoy: how many of its tracked items are done, and
/// the count and percent per status (`missing` for an id no issue has).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Progress {
    pub id: String,
    pub title: String,
    pub status: String,
    /// Tracked items, not counting deleted ones.
    pub tracked: usize,
    pub done: usize,
    /// Of `tracked`, to one decimal.
    pub percent_done: f64,
    pub by_status: BTreeMap<String, Share>,
}

/// Items in one status and their percent of all the convoy's items.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Share {
    pub count: usize,
    pub percent: f64,
}

/// Progress of one convoy: counts and percent per status of its items.
fn progress(snap: &crate::store::Snapshot, convoy: &crate::store::index::Row) -> Progress {
    let mut by: BTreeMap<String, usize> = Default::default();
    let mut total = 0usize;
    for e in convoy.edges.iter().filter(|e| e.kind == TRACKS) {
        let status = snap
            .find(&e.target)
            .map_or("missing".to_string(), |r| r.status.clone());
        *by.entry(status).or_default() += 1;
        total += 1;
    }
    // A deleted item is no longer tracked work: it is neither done nor left
    // to do (it shows in `by_status` as `tombstone`), so a convoy whose items
    // were deleted is not reported done (issue 9, item 18).
    let deleted = by.get(Status::Tombstone.as_str()).copied().unwrap_or(0);
    let all = total;
    total -= deleted;
    let done = by.get(Status::Closed.as_str()).copied().unwrap_or(0);
    let pct_of = |n: usize, of: usize| {
        if of == 0 {
            0.0
        } else {
            (n as f64 * 1000.0 / of as f64).round() / 10.0
        }
    };
    let by_status = by
        .into_iter()
        .map(|(s, n)| {
            (
                s,
                Share {
                    count: n,
                    percent: pct_of(n, all),
                },
            )
        })
        .collect();
    Progress {
        id: convoy.id.clone(),
        title: convoy.title.clone(),
        status: convoy.status.clone(),
        tracked: total,
        done,
        percent_done: pct_of(done, total),
        by_status,
    }
}

/// The convoy a query names: its row, or why it is not one.
fn convoy_row<'a>(
    ctx: &Session,
    snap: &'a crate::store::Snapshot,
    convoy: &str,
) -> Result<&'a crate::store::index::Row> {
    let prefix = ctx.prefix_of_rows(&snap.rows);
    let row = snap.resolve(convoy, &prefix)?;
    if row.issue_type != "convoy" {
        return Err(Error::invalid(format!(
            "{} is a {}, not a convoy",
            row.id, row.issue_type
        )));
    }
    Ok(row)
}

pub fn status(ctx: &Session, convoy: &str) -> Result<Progress> {
    let snap = ctx.snapshot()?;
    Ok(progress(&snap, convoy_row(ctx, &snap, convoy)?))
}

/// The ids a convoy tracks (`bd run --convoy`).
pub fn tracked_ids(ctx: &Session, convoy: &str) -> Result<Vec<String>> {
    let snap = ctx.snapshot()?;
    let row = convoy_row(ctx, &snap, convoy)?;
    Ok(row
        .edges
        .iter()
        .filter(|e| e.kind == TRACKS)
        .map(|e| e.target.clone())
        .collect())
}

pub fn list(ctx: &Session) -> Result<Vec<Progress>> {
    let snap = ctx.snapshot()?;
    Ok(snap
        .rows
        .iter()
        .filter(|r| r.issue_type == "convoy" && r.state() != Status::Tombstone)
        .map(|r| progress(&snap, r))
        .collect())
}

/// Inside a close: a molecule whose every step and gate is now done closes
/// too, in the same write (classic: "all steps complete").
fn complete_molecules(ctx: &Session, tx: &mut Tx, closed: &[Outcome]) -> Result<Vec<Outcome>> {
    let mut done = Vec::new();
    let mut roots: Vec<String> = Vec::new();
    for o in closed.iter().filter(|o| o.changed) {
        let mut cur = o.record.parent();
        while let Some(p) = cur {
            let Some(row) = tx.current_row(&p) else { break };
            if row.issue_type == "molecule" {
                if !roots.contains(&row.id) {
                    roots.push(row.id.clone());
                }
                break;
            }
            cur = row.parent.clone();
        }
    }
    for root in roots {
        let Some(row) = tx.current_row(&root) else {
            continue;
        };
        if values::is_done(&row.status) {
            continue;
        }
        let kids = tx.ids_starting(&format!("{root}."))?;
        let all_done = !kids.is_empty()
            && kids
                .iter()
                .all(|k| tx.current_row(k).is_none_or(|r| values::is_done(&r.status)));
        if !all_done {
            continue;
        }
        let mut rec = tx.get(&root)?;
        let before = rec.clone();
        let at = rec.next_stamp(ctx.now);
        rec.set_status(Status::Closed);
        rec.set("closed_at", &ctx.now_text());
        rec.set("close_reason", "all steps complete");
        crate::ops::stamp_write(ctx, &before, &mut rec, &["status"], at);
        ctx.notice(format!("Molecule {root} is complete"));
        tx.put(rec.clone());
        done.push(Outcome {
            record: rec,
            changed: true,
        });
    }
    Ok(done)
}

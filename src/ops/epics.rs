//! `bd epic status|close-eligible` (classic): how far each open epic is, and
//! closing the epics whose children are all closed.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Serialize;

use crate::error::Result;
use crate::model::kinds::Status;
use crate::ops::write::Outcome;
use crate::ops::{IssueView, Session};

/// One open epic and its children (classic `EpicStatus`).
#[derive(Debug, Clone, Serialize)]
pub struct EpicStatus {
    pub epic: IssueView<'static>,
    pub total_children: usize,
    pub closed_children: usize,
    /// Every child is closed (and there is at least one).
    pub eligible_for_close: bool,
}

/// Every epic that is not closed, with how many of its children are
/// (deleted children do not count), in id order.
pub fn status(ctx: &Session, eligible_only: bool) -> Result<Vec<EpicStatus>> {
    let snap = ctx.snapshot()?;
    // Children as this machine knows them: claimed, closed or reopened in
    // another workspace counts as that (the close guard judges them so).
    let ledger = ctx.ledger().ok().filter(|l| !l.is_empty());
    let status_of = |r: &crate::store::index::Row| -> Result<Status> {
        let Some(l) = ledger.as_ref().filter(|l| l.find(&r.id).is_some()) else {
            return Ok(r.state());
        };
        let rec = snap.record(r)?;
        let st = crate::ops::coord::effective_status(crate::ops::coord::entry_for(l, &rec), &rec);
        Ok(Status::parse(&st))
    };
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for r in snap.rows.iter().filter(|r| r.parent.is_some()) {
        let state = status_of(r)?;
        if state == Status::Tombstone {
            continue;
        }
        if let Some(p) = &r.parent {
            let c = counts.entry(p.as_str()).or_default();
            c.0 += 1;
            c.1 += usize::from(state == Status::Closed);
        }
    }
    let mut out = Vec::new();
    for r in &snap.rows {
        let state = r.state();
        if r.issue_type != "epic" || matches!(state, Status::Closed | Status::Tombstone) {
            continue;
        }
        let (total, closed) = counts.get(r.id.as_str()).copied().unwrap_or_default();
        let eligible = total > 0 && closed == total;
        if eligible_only && !eligible {
            continue;
        }
        out.push(EpicStatus {
            epic: IssueView::new(Cow::Owned(snap.record(r)?), Some(r)),
            total_children: total,
            closed_children: closed,
            eligible_for_close: eligible,
        });
    }
    out.sort_by(|a, b| a.epic.record.id().cmp(b.epic.record.id()));
    Ok(out)
}

/// `epic close-eligible`'s report: the epics closed, and those the close
/// guard refused (each with why; the others are closed all the same).
#[derive(Debug, Clone, Serialize)]
pub struct ClosedEpics {
    pub closed: Vec<String>,
    pub count: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refused>,
}

/// An eligible epic the close path refused.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    pub id: String,
    pub reason: String,
}

/// The reason recorded on an epic closed because its children are.
pub const CLOSE_REASON: &str = "All children completed";

/// Close every epic whose children are all closed, each through the one
/// close path (its guards, the ledger, the hooks) on its own: one the guard
/// refuses (blocked by an open issue, say) is reported and the others are
/// closed. Other errors stop it.
pub fn close_eligible(ctx: &Session) -> Result<(ClosedEpics, Vec<Outcome>)> {
    let ids: Vec<String> = status(ctx, true)?
        .iter()
        .map(|e| e.epic.record.id().to_string())
        .collect();
    let mut rep = ClosedEpics {
        closed: vec![],
        count: 0,
        refused: vec![],
    };
    let mut done = Vec::new();
    for id in ids {
        match crate::ops::edit::close(ctx, std::slice::from_ref(&id), Some(CLOSE_REASON), false) {
            Ok(os) => {
                rep.closed.extend(
                    os.iter()
                        .filter(|o| o.changed)
                        .map(|o| o.record.id().to_string()),
                );
                done.extend(os);
            }
            Err(e @ crate::error::Error::Conflict { .. }) => rep.refused.push(Refused {
                id,
                reason: e.to_string(),
            }),
            Err(e) => return Err(e),
        }
    }
    rep.count = rep.closed.len();
    Ok((rep, done))
}

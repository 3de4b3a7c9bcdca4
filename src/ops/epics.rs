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
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for r in &snap.rows {
        let state = r.state();
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

/// `epic close-eligible`'s report: the epics closed (or, dry, that would be).
#[derive(Debug, Clone, Serialize)]
pub struct ClosedEpics {
    pub closed: Vec<String>,
    pub count: usize,
}

/// The reason recorded on an epic closed because its children are.
pub const CLOSE_REASON: &str = "All children completed";

/// Close every epic whose children are all closed, through the one close
/// path (its guards, the ledger, the hooks). Dry: the eligible epics, as
/// `status` gives them, and nothing written.
pub fn close_eligible(ctx: &Session) -> Result<(ClosedEpics, Vec<Outcome>)> {
    let ids: Vec<String> = status(ctx, true)?
        .iter()
        .map(|e| e.epic.record.id().to_string())
        .collect();
    if ids.is_empty() {
        return Ok((
            ClosedEpics {
                closed: vec![],
                count: 0,
            },
            vec![],
        ));
    }
    let done = crate::ops::edit::close(ctx, &ids, Some(CLOSE_REASON), false)?;
    let closed: Vec<String> = done
        .iter()
        .filter(|o| o.changed)
        .map(|o| o.record.id().to_string())
        .collect();
    Ok((
        ClosedEpics {
            count: closed.len(),
            closed,
        },
        done,
    ))
}

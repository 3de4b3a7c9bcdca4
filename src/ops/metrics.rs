//! `bd metrics` (issue 13): the worker loop's numbers, from the run records
//! of `.beads/runs.jsonl` and the tracker only (`model::metrics`), so every
//! clone with the same files computes the same ones. The clock is read for
//! nothing but a relative `--since` (`7d`: seven days ago) and the count of
//! work waiting now (the claimable set, as `dispatch` and `bd run` take it).

use crate::error::{Error, Result};
use crate::model::kinds::Status;
use crate::model::metrics::{self, Metrics};
use crate::model::run::RunRecord;
use crate::ops::Session;
use crate::ops::query::Filter;
use crate::store::log;

/// `bd metrics [--since DATE]`.
pub fn metrics(ctx: &Session, since: Option<&str>) -> Result<Metrics> {
    let since = since
        .map(|s| {
            metrics::since(s, ctx.now).ok_or_else(|| Error::Invalid {
                msg: format!("--since '{s}' is not a date"),
                hint: Some(
                    "give a date (2026-05-01, RFC 3339, yesterday) or a span back from now (7d, 12h)"
                        .into(),
                ),
            })
        })
        .transpose()?;
    let (runs, bad) = log::read::<RunRecord>(&ctx.ws, log::RUNS)?;
    if !bad.is_empty() {
        ctx.warn(format!(
            "skipped {} line(s) of {} that do not read",
            bad.len(),
            log::path(&ctx.ws, log::RUNS).display()
        ));
    }
    let snap = ctx.snapshot()?;
    let waiting = crate::ops::query::claimable(ctx, &Filter::default(), false)?
        .rows
        .len();
    Ok(metrics::compute(
        &runs,
        |id| snap.find(id).is_some_and(|r| r.state() == Status::Closed),
        since,
        waiting,
    ))
}

//! `bd ready`: work ready to start (or claim the first of it).

use serde::Serialize;

use super::common::{Output, filter, listing, out};
use crate::cli::args::FilterArgs;
use crate::cli::render;
use crate::error::Result;
use crate::model::time;
use crate::ops::query::LapsedClaim;
use crate::ops::{self, IssueView, Session, issue_view};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Claim the first claimable issue
    #[arg(long)]
    pub claim: bool,
    /// Also say which claims lapsed (their holders went silent past the lease)
    #[arg(long, conflicts_with = "claim")]
    pub explain: bool,
    /// With --claim: containers (epics, convoys, molecules) may be claimed too
    #[arg(long, requires = "claim")]
    pub containers: bool,
    /// Also issues that wait only for their defer date
    #[arg(long)]
    pub include_deferred: bool,
    /// In remote coordination, fetch the remote's claims first (else the
    /// ones fetched last are used)
    #[arg(long)]
    pub fresh: bool,
    /// Classic layouts (`--plain`, `--pretty`); accepted, the list stays as it is
    #[arg(long, hide = true)]
    pub plain: bool,
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub pretty: Option<bool>,
}

pub fn run(ctx: &Session, a: Args, json: bool) -> Result<Output> {
    let mut f = filter(a.filter, false);
    f.include_deferred = a.include_deferred;
    f.fresh = a.fresh;
    if a.claim {
        let got = ops::edit::ready_claim(ctx, &f, a.containers)?;
        let text = got.as_ref().map(|r| r.id().to_string()).unwrap_or_default();
        match &got {
            Some(r) => ctx.notice(format!("Claimed {}: {}", r.id(), r.title())),
            None => ctx.notice("Nothing to claim: no ready issue is free"),
        }
        let claimed: Vec<_> = got.iter().map(issue_view).collect();
        return Ok(out(claimed, text));
    }
    if f.limit.is_none() {
        f.limit = Some(10);
    }
    if !a.explain {
        let l = ops::query::ready(ctx, &f)?;
        if l.rows.is_empty() {
            ctx.notice("No ready work.");
        }
        let t = render::ready_lines(&l.rows);
        return listing(json, l, t);
    }
    let (l, lapsed) = ops::compose::ready_explained(ctx, &f)?;
    let mut t = render::ready_lines(&l.rows);
    for c in &lapsed {
        t.push_str(&format!(
            "lapsed: {} held by {} (silent since {}); `bd claim --steal {}` recovers it\n",
            c.id,
            c.holder,
            c.silent_since.map_or_else(|| "?".into(), time::format),
            c.id
        ));
    }
    let ready = if json { Some(l.views()?) } else { None };
    ops::leave(l);
    Ok(out(Explained { ready, lapsed }, t))
}

/// `ready --explain --json`: the ready issues and the lapsed claims.
#[derive(Serialize)]
struct Explained {
    ready: Option<Vec<IssueView<'static>>>,
    lapsed: Vec<LapsedClaim>,
}

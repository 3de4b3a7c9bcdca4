//! `bd ready`: work ready to start (or claim the first of it).

use serde_json::{Value, json};

use super::common::{Output, filter, listing, out};
use crate::cli::args::FilterArgs;
use crate::cli::render;
use crate::error::Result;
use crate::ops::{self, Ctx, issue_json};

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
}

pub fn run(ctx: &Ctx, a: Args, json: bool) -> Result<Output> {
    let mut f = filter(a.filter, false);
    if a.claim {
        let got = ops::edit::ready_claim(ctx, &f, a.containers)?;
        let text = got.as_ref().map(|r| r.id().to_string()).unwrap_or_default();
        match &got {
            Some(r) => ctx.notice(format!("Claimed {}: {}", r.id(), r.title())),
            None => ctx.notice("Nothing to claim: no ready issue is free"),
        }
        let arr: Vec<Value> = got.iter().map(|r| issue_json(r, None)).collect();
        return Ok(out(Value::Array(arr), text));
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
            c["id"].as_str().unwrap_or(""),
            c["holder"].as_str().unwrap_or(""),
            c["silent_since"].as_str().unwrap_or("?"),
            c["id"].as_str().unwrap_or("")
        ));
    }
    let ready = if json { l.to_json()? } else { Value::Null };
    std::mem::forget(l);
    Ok(out(json!({"ready": ready, "lapsed": lapsed}), t))
}

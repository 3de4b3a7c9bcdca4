//! `bd sync`: fetch, merge (never rebase) and push the tracker with its branch.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also push unpushed commits that touch code, not only .beads/
    #[arg(long)]
    pub all: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let r = ops::sync::sync(ctx, a.all)?;
    if let Some(c) = &r.committed {
        ctx.notice(format!(
            "Committed tracker changes ({})",
            &c[..c.len().min(10)]
        ));
    }
    if r.merged {
        ctx.notice("Merged the upstream");
    }
    if r.pushed {
        ctx.notice("Pushed");
    }
    if r.up_to_date {
        ctx.notice("Already up to date");
    }
    for (old, new) in &r.claims_renamed {
        ctx.notice(format!(
            "your claim on {old} is now {new}: the merge gave {old} to an older issue"
        ));
    }
    for (id, holder) in &r.claims_lost {
        ctx.warn(format!(
            "your claim on {id} was lost in the merge (now: {holder})"
        ));
    }
    if let Some(s) = &r.remote {
        if !s.pushed.is_empty() {
            ctx.notice(format!(
                "Remote '{}' took the claim changes made offline: {}",
                s.remote,
                s.pushed.join(", ")
            ));
        }
        for (id, holder) in &s.lost {
            ctx.warn(format!(
                "your offline claim on {id} lost: {holder} holds it on remote '{}'",
                s.remote
            ));
        }
        if s.pruned > 0 {
            ctx.notice(format!(
                "Pruned {} settled claims on remote '{}'",
                s.pruned, s.remote
            ));
        }
    }
    Ok(out(&r, ""))
}

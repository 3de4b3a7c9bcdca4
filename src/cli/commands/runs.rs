//! `bd runs [ID]`: the runs `bd run` recorded (`.beads/runs.jsonl`), of one
//! issue or all, newest first.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only the runs on this issue
    pub id: Option<String>,
    /// At most N runs (0: all)
    #[arg(short = 'n', long, default_value_t = 20)]
    pub limit: usize,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let runs = ops::run::history(ctx, a.id.as_deref(), a.limit)?;
    let mut t = String::new();
    if runs.is_empty() {
        t.push_str("No runs recorded\n");
    }
    for r in &runs {
        t.push_str(&format!(
            "{} {} {} by {} ({:?}){}\n",
            r.started_at,
            r.issue,
            r.id,
            r.agent,
            r.outcome,
            if r.branch.is_empty() {
                String::new()
            } else {
                format!(" branch {}", r.branch)
            }
        ));
    }
    Ok(out(runs, t))
}

//! `bd repair-deps [--fix]`: edges to issues that are not in the tracker
//! (classic), removed with `--fix`.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Remove the orphaned edges
    #[arg(long)]
    pub fix: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let r = ops::deps::repair(ctx, a.fix)?;
    let t: String = if r.orphans.is_empty() {
        "No orphaned dependencies.\n".into()
    } else {
        r.orphans
            .iter()
            .map(|o| {
                format!(
                    "{} -> {} ({}){}\n",
                    o.issue_id,
                    o.depends_on_id,
                    o.dependency_type,
                    if a.fix { "  [removed]" } else { "" }
                )
            })
            .collect()
    };
    Ok(out(r, t))
}

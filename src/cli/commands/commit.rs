//! `bd commit`: commit the tracker's changes (only .beads/ paths).

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::compose::CommitOutcome;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Subject (default: a summary of what changed)
    #[arg(short, long)]
    pub message: Option<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let report = ops::gitops::commit(ctx, a.message.as_deref())?;
    let text = match &report.0 {
        CommitOutcome::Committed { id, amended, paths } => {
            let short: String = id.chars().take(10).collect();
            ctx.notice(format!(
                "{} {short} ({})",
                if *amended { "Amended" } else { "Committed" },
                paths.join(", ")
            ));
            id.clone()
        }
        CommitOutcome::NothingToCommit => {
            ops::unchanged(ctx, "no tracker changes to commit");
            String::new()
        }
        CommitOutcome::Pending { reason } => {
            ctx.note(format!("not committed: {reason}; the changes stay pending"));
            String::new()
        }
    };
    Ok(out(&report, text))
}

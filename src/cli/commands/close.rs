//! `bd close`: close issues.

use super::common::{Output, outcome_list};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub ids: Vec<String>,
    #[arg(short, long)]
    pub reason: Option<String>,
    /// Close even when open issues block it
    #[arg(short, long)]
    pub force: bool,
    /// Read the reason from a file (`-` for stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "reason")]
    pub reason_file: Option<std::path::PathBuf>,
    /// Then say which issues closing it made ready (one issue only)
    #[arg(long)]
    pub suggest_next: bool,
}

/// `close --suggest-next --json` when it made work ready (classic's shape).
#[derive(serde::Serialize)]
struct Suggested {
    closed: Vec<ops::IssueView<'static>>,
    unblocked: Vec<ops::IssueView<'static>>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    if a.suggest_next && a.ids.len() > 1 {
        return Err(ops::usage("--suggest-next works when closing one issue"));
    }
    let reason = match &a.reason_file {
        Some(f) => Some(super::common::read_text_arg(f)?),
        None => a.reason,
    };
    let os = ops::edit::close(ctx, &a.ids, reason.as_deref(), a.force)?;
    if !a.suggest_next || !os.iter().any(|o| o.changed) {
        return outcome_list(ctx, &os, "Closed");
    }
    let closed = super::common::written(ctx, &os, "Closed")?;
    let unblocked = ops::query::unblocked_by(ctx, os[0].record.id())?;
    if unblocked.is_empty() {
        return Ok(super::common::out(closed, ""));
    }
    let text: String = unblocked
        .iter()
        .map(|v| {
            format!(
                "ready now: {} P{} {}\n",
                v.record.id(),
                v.record.priority(),
                crate::cli::render::one_line(&v.record.title())
            )
        })
        .collect();
    Ok(super::common::out(Suggested { closed, unblocked }, text))
}

//! `bd reopen`: reopen closed issues.

use super::common::{Output, outcome_list};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// Why: added as a comment on each issue reopened
    #[arg(short, long)]
    pub reason: Option<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    outcome_list(
        ctx,
        &ops::edit::reopen(ctx, &a.ids, a.reason.as_deref())?,
        "Reopened",
    )
}

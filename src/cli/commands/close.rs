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
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    outcome_list(
        ctx,
        &ops::edit::close(ctx, &a.ids, a.reason.as_deref(), a.force)?,
        "Closed",
    )
}

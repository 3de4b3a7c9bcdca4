//! `bd defer`: put issues off until a date.

use super::common::{Output, outcomes};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// RFC 3339, YYYY-MM-DD, +N(s|m|h|d|w), tomorrow, next monday
    /// (none: deferred until `bd undefer`)
    #[arg(long)]
    pub until: Option<String>,
    /// Act even on an issue whose claim by you was lost in a merge
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    outcomes(
        ctx,
        &ops::edit::defer(ctx, &a.ids, a.until.as_deref(), a.force)?,
        "Deferred",
    )
}

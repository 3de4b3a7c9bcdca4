//! `bd delete`: delete issues (a tombstone that syncs).

use super::common::{Output, outcomes};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub ids: Vec<String>,
    #[arg(short, long)]
    pub reason: Option<String>,
    /// Act even on an issue whose claim by you was lost in a merge
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    outcomes(
        ctx,
        &ops::edit::delete(ctx, &a.ids, a.reason.as_deref(), a.force)?,
        "Deleted",
    )
}

//! `bd claim`: claim issues for yourself.

use super::common::{Output, outcomes};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// Recover a lapsed claim of another agent (its holder was silent past the lease)
    #[arg(long)]
    pub steal: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    outcomes(ctx, &ops::edit::claim(ctx, &a.ids, a.steal)?, "Claimed")
}

//! `bd unclaim`: give back claimed issues.

use super::common::{Output, outcomes};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// Release another agent's claim
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    outcomes(ctx, &ops::edit::unclaim(ctx, &a.ids, a.force)?, "Released")
}

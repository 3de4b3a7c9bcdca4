//! `bd restore`: bring back deleted issues.

use super::common::{Output, outcomes};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub ids: Vec<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    outcomes(ctx, &ops::edit::restore(ctx, &a.ids)?, "Restored")
}

//! `bd reopen`: reopen closed issues.

use super::common::{Output, outcomes};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub ids: Vec<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    Ok(outcomes(ctx, &ops::edit::reopen(ctx, &a.ids)?, "Reopened"))
}

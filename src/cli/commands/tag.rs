//! `bd tag ID LABEL`: classic's shorthand for `bd label add ID LABEL`.

use super::common::Output;

use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    pub label: String,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    // Classic's `tag` is short for `update --add-label`: an array, as update gives.
    let os = ops::labels::add(ctx, std::slice::from_ref(&a.id), &a.label)?;
    super::common::outcome_list(ctx, &os, "Labeled")
}

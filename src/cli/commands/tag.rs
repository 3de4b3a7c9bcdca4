//! `bd tag ID LABEL`: classic's shorthand for `bd label add ID LABEL`.

use super::common::Output;
use super::label::LabelCmd;
use crate::error::Result;
use crate::ops::Session;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    pub label: String,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    super::label::run(
        ctx,
        LabelCmd::Add {
            args: vec![a.id, a.label],
        },
    )
}

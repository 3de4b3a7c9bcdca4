//! `bd link A B [-t TYPE]`: classic's shorthand for `bd dep add A B`.

use super::common::Output;
use crate::error::Result;
use crate::ops::Session;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The issue that depends
    pub id1: String,
    /// What it depends on (blocks it, by default)
    pub id2: String,
    #[arg(short = 't', long = "type", default_value = "blocks")]
    pub kind: String,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    super::dep::run(
        ctx,
        super::dep::Args {
            cmd: Some(super::dep::DepCmd::Add {
                issue: a.id1,
                depends_on: Some(a.id2),
                blocked_by: None,
                depends_on_flag: None,
                kind: a.kind,
            }),
            id: None,
            blocks: None,
        },
    )
}

//! `bd priority ID N`: classic's shorthand for `bd update ID --priority N`.

use super::common::{Output, outcome_list};
use crate::error::Result;
use crate::ops::{self, Session, edit::UpdateOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// 0-4, P0-P4 or a word (critical, high, medium, low, backlog)
    pub priority: String,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let o = UpdateOptions {
        ids: vec![a.id],
        priority: Some(a.priority),
        ..UpdateOptions::default()
    };
    outcome_list(ctx, &ops::edit::update(ctx, &o)?, "Updated")
}

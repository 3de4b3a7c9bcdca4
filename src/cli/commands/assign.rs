//! `bd assign ID NAME`: classic's shorthand for `bd update ID --assignee
//! NAME` (`""` unassigns).

use super::common::{Output, outcome_list};
use crate::error::Result;
use crate::ops::{self, Session, edit::UpdateOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// Who (`""` unassigns)
    pub name: String,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let o = UpdateOptions {
        ids: vec![a.id],
        assignee: Some(a.name),
        ..UpdateOptions::default()
    };
    outcome_list(ctx, &ops::edit::update(ctx, &o)?, "Assigned")
}

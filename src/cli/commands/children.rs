//! `bd children`: the children of an issue.

use super::common::{Output, lines, listing};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// All descendants, not only direct children
    #[arg(short, long)]
    pub recursive: bool,
}

pub fn run(ctx: &Session, a: Args, json: bool) -> Result<Output> {
    let l = ops::query::children(ctx, &a.id, a.recursive)?;
    let t = lines(&l.rows);
    listing(json, l, t)
}

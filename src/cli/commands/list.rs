//! `bd list`: issues, one line each.

use super::common::{Output, filter, lines, listing};
use crate::cli::args::FilterArgs;
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Include closed issues
    #[arg(long)]
    pub all: bool,
}

pub fn run(ctx: &Session, a: Args, json: bool) -> Result<Output> {
    let l = ops::query::list(ctx, &filter(a.filter, a.all))?;
    let t = lines(&l.rows);
    listing(json, l, t)
}

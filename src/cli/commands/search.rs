//! `bd search`: issues whose text matches.

use super::common::{Output, filter, lines, listing};
use crate::cli::args::FilterArgs;
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub query: String,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[arg(long)]
    pub all: bool,
}

pub fn run(ctx: &Session, a: Args, json: bool) -> Result<Output> {
    let l = ops::query::search(ctx, &a.query, &filter(a.filter, a.all))?;
    let t = lines(&l.rows);
    listing(json, l, t)
}

//! `bd search`: issues whose text matches.

use super::common::{Output, filter, lines, listing};
use crate::cli::args::FilterArgs;
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The text to find (or --query)
    #[arg(required_unless_present = "query_flag")]
    pub query: Option<String>,
    /// The text to find (classic spelling)
    #[arg(long = "query", conflicts_with = "query", value_name = "TEXT")]
    pub query_flag: Option<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[arg(long)]
    pub all: bool,
}

pub fn run(ctx: &Session, a: Args, json: bool) -> Result<Output> {
    let query = a.query.or(a.query_flag).unwrap_or_default();
    let l = ops::query::search(ctx, &query, &filter(a.filter, a.all))?;
    let t = if json { String::new() } else { lines(&l.rows) };
    listing(json, l, t)
}

//! `bd stale`: open issues nobody touched for a while.

use super::common::{Output, filter, lines, listing};
use crate::cli::args::FilterArgs;
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(short = 'd', long, default_value_t = 30, allow_negative_numbers = true)]
    pub days: i64,
    #[command(flatten)]
    pub filter: FilterArgs,
}

pub fn run(ctx: &Session, a: Args, json: bool) -> Result<Output> {
    let l = ops::query::stale(ctx, a.days, &filter(a.filter, false))?;
    let t = lines(&l.rows);
    listing(json, l, t)
}

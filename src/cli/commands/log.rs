//! `bd log`: one issue's history across commits.

use super::common::{Output, out};
use crate::cli::render;
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    #[arg(short = 'n', long, default_value_t = 50)]
    pub limit: usize,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let log = ops::history::log(ctx, &a.id, a.limit)?;
    let t = render::log(&log.id, &log.entries);
    Ok(out(log, t))
}

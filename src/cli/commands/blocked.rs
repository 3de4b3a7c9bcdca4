//! `bd blocked`: blocked issues and what blocks them.

use serde_json::Value;

use super::common::{Output, filter, out};
use crate::cli::args::FilterArgs;
use crate::cli::render;
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub filter: FilterArgs,
}

pub fn run(ctx: &Session, a: Args, json: bool) -> Result<Output> {
    let l = ops::query::blocked(ctx, &filter(a.filter, true))?;
    let t = render::blocked_lines(&l.rows);
    if !json {
        return Ok(out(Value::Null, t));
    }
    Ok(out(l.blocked_views(ctx)?, t))
}

//! `bd diff`: the tracker's changes issue by issue.

use super::common::{Output, out};
use crate::cli::render;
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// REV (against the working tree) or REV..REV
    pub range: Option<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let d = ops::history::diff(ctx, a.range.as_deref())?;
    let t = render::diff(&d);
    Ok(out(d, t))
}

//! `bd show`: issues in detail.

use super::common::{Output, one_or_many};
use crate::cli::render;
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub ids: Vec<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let shown = ops::query::show(ctx, &a.ids)?;
    let text: Vec<String> = shown.iter().map(|s| render::show(s, ctx.now)).collect();
    Ok(one_or_many(shown, text.join("\n")))
}

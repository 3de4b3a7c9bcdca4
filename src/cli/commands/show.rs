//! `bd show`: issues in detail.

use super::common::{Output, one_or_many};
use crate::cli::render;
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required_unless_present = "id")]
    pub ids: Vec<String>,
    /// The issues to show (classic spelling; repeatable or comma-separated)
    #[arg(long, value_name = "IDS")]
    pub id: Vec<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let mut ids = a.ids;
    ids.extend(
        a.id.iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    );
    let shown = ops::query::show(ctx, &ids)?;
    let text: Vec<String> = shown.iter().map(|s| render::show(s, ctx.now)).collect();
    Ok(one_or_many(shown, text.join("\n")))
}

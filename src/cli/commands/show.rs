//! `bd show`: issues in detail.

use serde_json::Value;

use super::common::{Output, out};
use crate::cli::render;
use crate::error::Result;
use crate::ops::{self, Ctx};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub ids: Vec<String>,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Output> {
    let shown = ops::query::show(ctx, &a.ids)?;
    let vals: Vec<Value> = shown.iter().map(ops::query::shown_json).collect();
    let text: Vec<String> = shown.iter().map(|s| render::show(s, ctx.now)).collect();
    let j = if vals.len() == 1 {
        vals.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(vals)
    };
    Ok(out(j, text.join("\n")))
}

//! `bd export`: issues as JSONL.

use std::path::PathBuf;

use serde_json::Value;

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write to this file instead of stdout
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let (text, to) = ops::compose::export(ctx, a.output.as_deref())?;
    match to {
        Some(to) => {
            ctx.notice(format!(
                "Exported {} issues to {}",
                to.exported,
                to.path.display()
            ));
            Ok(out(to, ""))
        }
        None => {
            let vals: Vec<Value> = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            Ok(out(Value::Array(vals), text))
        }
    }
}

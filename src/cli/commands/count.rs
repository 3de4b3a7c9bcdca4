//! `bd count`: how many issues, maybe grouped.

use super::common::{Output, filter, out};
use crate::cli::args::FilterArgs;
use crate::error::Result;
use crate::ops::{self, Ctx};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub filter: FilterArgs,
    #[arg(long)]
    pub all: bool,
    /// Group by status, priority, type, assignee or label
    #[arg(long)]
    pub by: Option<String>,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Output> {
    let v = ops::query::count(ctx, &filter(a.filter, a.all), a.by.as_deref())?;
    let mut t = v["count"].to_string();
    if let Some(g) = v.get("groups").and_then(|g| g.as_object()) {
        t = g
            .iter()
            .map(|(k, n)| format!("{k}: {n}\n"))
            .collect::<String>()
            + &format!("total: {}", v["count"]);
    }
    Ok(out(v, t))
}

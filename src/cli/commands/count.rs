//! `bd count`: how many issues, maybe grouped.

use super::common::{Output, filter, out};
use crate::cli::args::FilterArgs;
use crate::error::Result;
use crate::ops::{self, Session};

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

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let c = ops::query::count(ctx, &filter(a.filter, a.all), a.by.as_deref())?;
    let t = match &c.groups {
        None => c.count.to_string(),
        Some(g) => {
            g.iter()
                .map(|(k, n)| format!("{k}: {n}\n"))
                .collect::<String>()
                + &format!("total: {}", c.count)
        }
    };
    Ok(out(c, t))
}

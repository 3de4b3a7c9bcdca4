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
    #[arg(long, conflicts_with_all = ["by_status", "by_priority", "by_type", "by_assignee", "by_label"])]
    pub by: Option<String>,
    /// Classic spellings of --by
    #[arg(long, group = "by_one")]
    pub by_status: bool,
    #[arg(long, group = "by_one")]
    pub by_priority: bool,
    #[arg(long, group = "by_one")]
    pub by_type: bool,
    #[arg(long, group = "by_one")]
    pub by_assignee: bool,
    #[arg(long, group = "by_one")]
    pub by_label: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let by = a.by.or_else(|| {
        [
            (a.by_status, "status"),
            (a.by_priority, "priority"),
            (a.by_type, "type"),
            (a.by_assignee, "assignee"),
            (a.by_label, "label"),
        ]
        .into_iter()
        .find(|(on, _)| *on)
        .map(|(_, k)| k.to_string())
    });
    let c = ops::query::count(ctx, &filter(a.filter, a.all), by.as_deref())?;
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

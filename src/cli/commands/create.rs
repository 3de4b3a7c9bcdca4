//! `bd create`: create an issue.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::create::CreateOptions;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct Args {
    /// Title of the issue
    pub title: Option<String>,
    /// Title (instead of the positional argument)
    #[arg(long = "title", conflicts_with = "title")]
    pub title_flag: Option<String>,
    #[arg(short = 't', long = "type")]
    pub issue_type: Option<String>,
    #[arg(short, long)]
    pub priority: Option<String>,
    #[command(flatten)]
    pub text: super::common::TextArgs,
    /// Label (repeatable or comma-separated)
    #[arg(short, long)]
    pub label: Vec<String>,
    #[arg(short, long)]
    pub assignee: Option<String>,
    #[arg(long)]
    pub owner: Option<String>,
    /// Make it a child of this issue (ID `<parent>.<n>`)
    #[arg(long)]
    pub parent: Option<String>,
    /// Dependencies as `type:id` or `id` (blocks), comma-separated
    #[arg(long)]
    pub deps: Vec<String>,
    #[arg(long)]
    pub external_ref: Option<String>,
    /// Defer until this date (RFC 3339, YYYY-MM-DD or +Nd)
    #[arg(long)]
    pub defer: Option<String>,
    #[arg(long)]
    pub due: Option<String>,
    /// Estimated minutes
    #[arg(long, allow_negative_numbers = true)]
    pub estimate: Option<i64>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let title = a
        .title
        .or(a.title_flag)
        .ok_or_else(|| ops::usage("give a title: bd create \"Title\""))?;
    let o = CreateOptions {
        title,
        issue_type: a.issue_type,
        priority: a.priority,
        text: a.text.into(),
        labels: a.label,
        assignee: a.assignee,
        owner: a.owner,
        parent: a.parent,
        deps: a.deps,
        external_ref: a.external_ref,
        defer: a.defer,
        due: a.due,
        estimate: a.estimate,
    };
    let rec = ops::create::create(ctx, &o)?;
    ctx.notice(format!("Created {}: {}", rec.id(), rec.title()));
    let v = ops::query::linked_views(ctx, std::slice::from_ref(&rec))?;
    Ok(out(&v[0], rec.id().to_string()))
}

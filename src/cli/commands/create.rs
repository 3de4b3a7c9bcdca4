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
    #[arg(short, long, visible_alias = "labels")]
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
    #[arg(short = 'e', long, allow_negative_numbers = true)]
    pub estimate: Option<i64>,
    /// An explicit ID (of this tracker's prefix unless --force)
    #[arg(long)]
    pub id: Option<String>,
    /// With --id: take an ID of another prefix
    #[arg(long, requires = "id")]
    pub force: bool,
    /// Read the description from a file (`-` for stdin)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["description", "stdin"])]
    pub body_file: Option<std::path::PathBuf>,
    /// Read the description from stdin
    #[arg(long, conflicts_with = "description")]
    pub stdin: bool,
    /// Print only the new issue's ID
    #[arg(long)]
    pub silent: bool,
    /// Show the issue that would be made; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let title = a
        .title
        .or(a.title_flag)
        .ok_or_else(|| ops::usage("give a title: bd create \"Title\""))?;
    let mut text: crate::ops::IssueText = a.text.into();
    let body = match (&a.body_file, a.stdin) {
        (Some(f), _) => Some(f.clone()),
        (None, true) => Some(std::path::PathBuf::from("-")),
        (None, false) => None,
    };
    if let Some(f) = body {
        text.description = Some(super::common::read_text_arg(&f)?);
    }
    let o = CreateOptions {
        title,
        issue_type: a.issue_type,
        priority: a.priority,
        text,
        labels: a.label,
        assignee: a.assignee,
        owner: a.owner,
        parent: a.parent,
        deps: a.deps,
        external_ref: a.external_ref,
        defer: a.defer,
        due: a.due,
        estimate: a.estimate,
        id: a.id,
        force: a.force,
        dry_run: a.dry_run,
    };
    let rec = ops::create::create(ctx, &o)?;
    if a.dry_run {
        ctx.notice(format!("Would create {}: {}", rec.id(), rec.title()));
    } else if !a.silent {
        ctx.notice(format!("Created {}: {}", rec.id(), rec.title()));
    }
    let v = if a.dry_run {
        vec![ops::issue_view(&rec)]
    } else {
        ops::query::linked_views(ctx, std::slice::from_ref(&rec))?
    };
    if a.silent {
        return Ok(out(rec.id(), rec.id().to_string()));
    }
    Ok(out(&v[0], rec.id().to_string()))
}

/// `bd q` (classic quick capture): create, print only the ID.
#[derive(clap::Args, Debug, Clone)]
pub struct QuickArgs {
    /// Title of the issue
    pub title: String,
    #[arg(short = 't', long = "type")]
    pub issue_type: Option<String>,
    #[arg(short, long)]
    pub priority: Option<String>,
    /// Labels (repeatable or comma-separated)
    #[arg(short = 'l', long = "labels", visible_alias = "label")]
    pub labels: Vec<String>,
}

pub fn quick(ctx: &Session, a: QuickArgs) -> Result<Output> {
    run(
        ctx,
        Args {
            title: Some(a.title),
            issue_type: a.issue_type,
            priority: a.priority,
            label: a.labels,
            silent: true,
            ..Args::default()
        },
    )
}

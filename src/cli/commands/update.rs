//! `bd update`: change fields of issues.

use super::common::{Output, outcome_list};
use crate::error::Result;
use crate::ops::edit::UpdateOptions;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct Args {
    #[arg(required = true)]
    pub ids: Vec<String>,
    #[arg(long)]
    pub title: Option<String>,
    #[command(flatten)]
    pub text: super::common::TextArgs,
    #[arg(short, long)]
    pub status: Option<String>,
    #[arg(short, long)]
    pub priority: Option<String>,
    #[arg(short = 't', long = "type")]
    pub issue_type: Option<String>,
    /// Assignee (`""` clears it)
    #[arg(short, long)]
    pub assignee: Option<String>,
    #[arg(long)]
    pub owner: Option<String>,
    #[arg(long, allow_negative_numbers = true)]
    pub estimate: Option<i64>,
    #[arg(long)]
    pub due: Option<String>,
    #[arg(long)]
    pub defer: Option<String>,
    #[arg(long)]
    pub external_ref: Option<String>,
    /// Add a label (repeatable)
    #[arg(long)]
    pub add_label: Vec<String>,
    /// Remove a label (repeatable)
    #[arg(long)]
    pub remove_label: Vec<String>,
    /// Move under this parent (`""` detaches)
    #[arg(long)]
    pub parent: Option<String>,
    /// Claim the issue (like `bd claim`)
    #[arg(long)]
    pub claim: bool,
    /// Change it even though your claim on it was recovered by another
    #[arg(long)]
    pub force: bool,
    /// Add TEXT to the end of the notes, on a line of its own
    #[arg(long, value_name = "TEXT")]
    pub append_notes: Option<String>,
    /// The labels it should have (comma-separated or repeatable; `""`: none)
    #[arg(long, value_name = "LABELS", conflicts_with_all = ["add_label", "remove_label"])]
    pub set_labels: Option<Vec<String>>,
    /// With --status closed: the close reason
    #[arg(long, requires = "status")]
    pub reason: Option<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let o = UpdateOptions {
        ids: a.ids,
        title: a.title,
        text: a.text.into(),
        append_notes: a.append_notes,
        status: a.status,
        priority: a.priority,
        issue_type: a.issue_type,
        assignee: a.assignee,
        owner: a.owner,
        estimate: a.estimate,
        due: a.due,
        defer: a.defer,
        external_ref: a.external_ref,
        add_labels: a.add_label,
        remove_labels: a.remove_label,
        set_labels: a.set_labels,
        parent: a.parent,
        claim: a.claim,
        reason: a.reason,
        force: a.force,
    };
    let claim = o.claim;
    let os = ops::edit::update(ctx, &o)?;
    outcome_list(ctx, &os, if claim { "Claimed" } else { "Updated" })
}

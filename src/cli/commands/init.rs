//! `bd init`: start tracking in this git repository.

use std::path::Path;

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Notice};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long)]
    pub prefix: Option<String>,
    /// In a classic repository whose issues are only in its database (Dolt,
    /// SQLite): start an empty tracker anyway
    #[arg(long)]
    pub force_empty: bool,
}

/// The output and what to say about it on stderr.
pub fn run(start: &Path, a: Args) -> Result<(Output, Vec<Notice>)> {
    let rep = ops::admin::init(start, a.prefix.as_deref(), a.force_empty)?;
    let mut talk = Vec::new();
    if let Some(old) = &rep.prefix_changed_from {
        talk.push(Notice::Info(format!(
            "Changed the prefix from {old} to {} (the tracker has no issues)",
            rep.prefix
        )));
    } else if rep.created.is_empty()
        && rep.migrated.is_empty()
        && rep.driver.is_none()
        && rep.project.is_none()
        && rep
            .pre_commit
            .as_ref()
            .is_none_or(|p| p.starts_with("skipped"))
    {
        talk.push(Notice::Unchanged(format!(
            "{} is already initialized (prefix {})",
            rep.root.display(),
            rep.prefix
        )));
    } else {
        talk.push(Notice::Info(format!(
            "Initialized bd in {} (prefix {}, {} issues)",
            rep.root.display(),
            rep.prefix,
            rep.issues
        )));
    }
    for m in &rep.migrated {
        talk.push(Notice::Info(format!("Migrated {m}")));
    }
    if let Some(d) = &rep.driver {
        talk.push(Notice::Info(format!(
            "Merge driver: merge.beads.driver {d}"
        )));
    }
    match rep.pre_commit.as_deref() {
        Some("created") => talk.push(Notice::Info(
            "Git pre-commit hook: refuses commits touching files another agent reserved (`bd reserve`)".into(),
        )),
        Some("chained") => talk.push(Notice::Info(
            "Git pre-commit hook: checks file reservations, then runs your hook (kept as pre-commit.bd-chained)".into(),
        )),
        Some("updated") => talk.push(Notice::Info("Git pre-commit hook: updated".into())),
        Some(skipped) => talk.push(Notice::Note(format!(
            "git pre-commit hook not installed ({}); file reservations are not checked at commit",
            skipped.trim_start_matches("skipped: ")
        ))),
        None => {}
    }
    for h in &rep.classic_hooks {
        talk.push(Notice::Note(format!(
            "classic beads hook {h} calls bd; check it still fits strand"
        )));
    }
    Ok((out(rep, ""), talk))
}

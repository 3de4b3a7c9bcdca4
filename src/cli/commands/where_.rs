//! `bd where`: where the workspace, files and project are.

use serde_json::Value;

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Ctx};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Confirm on this machine that this repository is the configured
    /// project's (a fork, a renamed remote), so it joins the project home
    #[arg(long)]
    pub trust: bool,
}

/// `where --trust`: confirms membership before anything opens the home.
pub fn trust(ctx: &Ctx) -> Result<()> {
    let t = ops::membership::trust(ctx, None)?;
    if t.recorded {
        ctx.notice(format!(
            "Trusted: {} (root commit {}) belongs to project {} on this machine",
            t.repository.display(),
            t.root_commit.as_deref().unwrap_or("none yet"),
            t.project
        ));
    } else {
        ops::unchanged(
            ctx,
            format!(
                "{} already joins project {}",
                t.repository.display(),
                t.project
            ),
        );
    }
    Ok(())
}

pub fn run(ctx: &Ctx) -> Result<Output> {
    let v = ops::compose::where_(ctx)?;
    let t = [
        "root",
        "beads_dir",
        "issues_file",
        "prefix",
        "identity",
        "identity_source",
        "origin",
        "proof",
        "actor",
        "issues",
        "index_fresh",
        "pending",
        "auto_commit",
    ]
    .iter()
    .map(|k| {
        format!(
            "{k}: {}\n",
            match &v[*k] {
                Value::String(s) => s.clone(),
                Value::Null => "(not set)".into(),
                Value::Array(a) if a.is_empty() => "(none)".into(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().unwrap_or_default().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                o => o.to_string(),
            }
        )
    })
    .collect::<String>();
    Ok(out(v, t))
}

//! `bd where`: where the workspace, files and project are.

use super::common::{Output, out};
use crate::cli::render;
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Confirm on this machine that this repository is the configured
    /// project's (a fork, a renamed remote), so it joins the project home
    #[arg(long)]
    pub trust: bool,
}

/// `where --trust`: confirms membership before anything opens the home.
pub fn trust(ctx: &Session) -> Result<()> {
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

pub fn run(ctx: &Session) -> Result<Output> {
    let w = ops::compose::where_(ctx)?;
    let p = &w.places;
    let t: String = [
        ("root", p.root.display().to_string()),
        ("beads_dir", p.beads_dir.display().to_string()),
        ("issues_file", p.issues_file.display().to_string()),
        ("prefix", p.prefix.clone()),
        ("identity", p.identity.clone()),
        ("identity_source", render::word(&p.identity_source)),
        (
            "origin",
            p.origin.clone().unwrap_or_else(|| "(not set)".into()),
        ),
        ("proof", render::word(&w.proof)),
        ("actor", p.actor.clone()),
        ("issues", p.issues.to_string()),
        ("index_fresh", p.index_fresh.to_string()),
        (
            "pending",
            if p.pending.is_empty() {
                "(none)".into()
            } else {
                p.pending.join(", ")
            },
        ),
        ("auto_commit", p.auto_commit.clone()),
        (
            "coordination",
            match &w.arbiter {
                Some(a) => format!(
                    "{} (remote '{}', layout {})",
                    w.coordination,
                    a.remote,
                    a.layout.word()
                ),
                None => w.coordination.clone(),
            },
        ),
    ]
    .iter()
    .map(|(k, v)| format!("{k}: {v}\n"))
    .collect();
    Ok(out(w, t))
}

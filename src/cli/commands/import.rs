//! `bd import`: issues from classic beads JSONL.

use std::path::PathBuf;

use super::common::{Output, out, read_input};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file (`-` for stdin; default: .beads/issues.jsonl is the
    /// tracker itself, so name one)
    #[arg(required_unless_present = "input")]
    pub file: Option<PathBuf>,
    /// The file (classic's older spelling)
    #[arg(
        short = 'i',
        long = "input",
        value_name = "FILE",
        conflicts_with = "file"
    )]
    pub input: Option<PathBuf>,
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let file = a.file.or(a.input).unwrap_or_default();
    let bytes = read_input(&file)?;
    let rep = ops::import::import(ctx, &file.display().to_string(), &bytes, a.dry_run)?;
    for r in &rep.renamed {
        ctx.warn(format!("renamed {r}"));
    }
    for r in &rep.inconsistent {
        ctx.warn(format!(
            "{r} (kept as the file has it; `bd doctor` lists it)"
        ));
    }
    ctx.notice(format!(
        "{}Imported: {} created, {} updated, {} unchanged",
        if a.dry_run { "(dry run) " } else { "" },
        rep.created,
        rep.updated,
        rep.unchanged
    ));
    Ok(out(&rep, ""))
}

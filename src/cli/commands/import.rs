//! `bd import`: issues from classic beads JSONL.

use std::path::PathBuf;

use super::common::{Output, out, read_input};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file (`-` for stdin)
    pub file: PathBuf,
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let bytes = read_input(&a.file)?;
    let rep = ops::import::import(ctx, &a.file.display().to_string(), &bytes, a.dry_run)?;
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

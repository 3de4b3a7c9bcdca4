//! `bd migrate --inspect`: classic's database migrations; strand keeps the
//! tracker in files, so there is none to run.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show what would be migrated (nothing: there is no database)
    #[arg(long)]
    pub inspect: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    if !a.inspect {
        return Err(ops::usage(
            "strand keeps the tracker in .beads/issues.jsonl: there is no database to migrate (`bd migrate --inspect` says so)",
        ));
    }
    let m = ops::classic::migrations(ctx);
    let t = format!("{}\n", m.note);
    Ok(out(m, t))
}

//! `bd comments`: the comments of an issue (`comments add`: add one).

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Option<CommentsCmd>,
    #[arg(required = true)]
    pub id: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum CommentsCmd {
    /// Add a comment (as `bd comment`)
    Add(super::comment::Args),
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let id = match (a.cmd, a.id) {
        (Some(CommentsCmd::Add(add)), _) => return super::comment::run(ctx, add),
        (None, Some(id)) => id,
        (None, None) => return Err(ops::usage("give an issue: bd comments <id>")),
    };
    let cs = ops::labels::comments(ctx, &id)?;
    let t: String = cs
        .iter()
        .map(|c| format!("[{}] {}:\n{}\n\n", c.created_at, c.author, c.text))
        .collect();
    Ok(out(&cs, t))
}

//! `bd checkpoint [ID] TEXT [--next NEXT]`: what is done and what is next,
//! on the item (default: the one you hold); `bd prime` shows the latest.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `[ID] TEXT`: the issue (default: the one you hold), then what is done
    #[arg(required = true, num_args = 1..=2, value_name = "[ID] TEXT")]
    pub args: Vec<String>,
    /// What is next
    #[arg(long)]
    pub next: Option<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let (id, text) = match a.args.as_slice() {
        [id, text] => (Some(id.as_str()), text.as_str()),
        [text] => (None, text.as_str()),
        _ => return Err(ops::usage("give [ID] TEXT")),
    };
    let (rec, c) = ops::checkpoint::checkpoint(ctx, id, text, a.next.as_deref())?;
    ctx.notice(format!("Checkpoint on {}", rec.id()));
    Ok(out(&c, ""))
}

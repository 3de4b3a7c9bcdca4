//! `bd heartbeat`: tell the project this agent is alive.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// What the agent is doing
    #[arg(long)]
    pub note: Option<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let r = ops::agents::heartbeat(ctx, a.note.as_deref())?;
    Ok(out(&r, ""))
}

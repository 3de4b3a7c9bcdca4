//! `bd unhook`: take an issue (or everything) off an agent's hook.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: Option<String>,
    /// Whose hook (default: yours)
    #[arg(long)]
    pub agent: Option<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let u = ops::compose::unhook(ctx, a.id.as_deref(), a.agent.as_deref())?;
    if !u.removed.is_empty() {
        ctx.notice(format!(
            "Took {} off the hook of {}",
            u.removed.join(", "),
            u.agent
        ));
    }
    Ok(out(u, ""))
}

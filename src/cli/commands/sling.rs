//! `bd sling`: put an issue on an agent's hook.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    pub agent: String,
    /// A note for the agent
    #[arg(long)]
    pub note: Option<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let (agent, o) = ops::compose::sling(ctx, &a.id, &a.agent, a.note.as_deref())?;
    if o.changed {
        ctx.notice(format!(
            "Slung {} to {agent}: {}",
            o.record.id(),
            o.record.title()
        ));
    }
    let v = ops::query::linked_views(ctx, std::slice::from_ref(&o.record))?;
    Ok(out(&v[0], ""))
}

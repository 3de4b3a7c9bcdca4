//! `bd hook`: the work on an agent's hook.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub agent: Option<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let hook = ops::compose::hook(ctx, a.agent.as_deref())?;
    let mut t: String = hook
        .items
        .iter()
        .map(|(i, title)| format!("{i}  {title}\n"))
        .collect();
    if let Some(n) = &hook.note {
        t.push_str(&format!("Note: {n}\n"));
    }
    if hook.items.is_empty() {
        ctx.notice(format!("The hook of {} is empty.", hook.agent));
    }
    Ok(out(hook, t))
}

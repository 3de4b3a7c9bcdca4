//! `bd agents`: agents online / stale / offline, their claims and hooks.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

pub fn run(ctx: &Session) -> Result<Output> {
    let agents = ops::agents::agents(ctx)?;
    let list = |ids: &[String]| {
        if ids.is_empty() {
            "-".to_string()
        } else {
            ids.join(",")
        }
    };
    let t: String = agents
        .iter()
        .map(|a| {
            format!(
                "{:<20} {:<8} {:<8} claims: {:<20} hook: {:<16} {}\n",
                a.name,
                a.kind,
                a.state.to_string(),
                list(&a.claims),
                list(&a.hook),
                a.note.as_deref().unwrap_or("")
            )
        })
        .collect();
    if agents.is_empty() {
        ctx.notice("No agents registered (`bd agent register`).");
    }
    Ok(out(agents, t))
}

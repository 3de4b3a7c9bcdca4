//! `bd agent …`: register and unregister agents.

use clap::Subcommand;

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(Subcommand, Debug)]
pub enum AgentCmd {
    /// Register an agent (idempotent): its name, kind and workspace
    Register {
        /// The agent's name (default: the actor)
        name: Option<String>,
        /// What kind of agent: claude, human, …
        #[arg(long, default_value = "agent")]
        kind: String,
    },
    /// Unregister an agent: it receives no more work; its hook goes back to ready work
    Unregister {
        /// The agent's name (default: the actor)
        name: Option<String>,
    },
}

pub fn run(ctx: &Session, c: AgentCmd) -> Result<Output> {
    match c {
        AgentCmd::Register { name, kind } => {
            let a = ops::agents::agent_register(ctx, name.as_deref(), &kind)?;
            ctx.notice(format!("Registered agent {} ({})", a.name, a.kind));
            Ok(out(&a, ""))
        }
        AgentCmd::Unregister { name } => {
            let u = ops::agents::agent_unregister(ctx, name.as_deref())?;
            ctx.notice(format!(
                "Unregistered agent {}: it receives no more work",
                u.name
            ));
            for (ids, what) in [
                (&u.unhooked, "back to ready work"),
                (&u.claims, "still held"),
            ] {
                if !ids.is_empty() {
                    ctx.notice(format!("  {}: {what}", ids.join(", ")));
                }
            }
            Ok(out(u, ""))
        }
    }
}

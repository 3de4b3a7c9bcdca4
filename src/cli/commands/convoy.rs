//! `bd convoy …`: track a batch of work as one convoy.

use super::common::{Output, out};
use crate::cli::render;
use crate::error::Result;
use crate::ops::{self, Session, issue_view};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum ConvoyCmd {
    /// Create a convoy tracking these issues
    Create { name: String, ids: Vec<String> },
    /// Track more issues (an open one reopens a landed convoy)
    Add {
        convoy: String,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Progress: counts and percent per status
    Status { convoy: String },
    /// Every convoy with its progress
    List,
}

pub fn run(ctx: &Session, c: ConvoyCmd) -> Result<Output> {
    match c {
        ConvoyCmd::Create { name, ids } => {
            let rec = ops::convoy::create_convoy(ctx, &name, &ids)?;
            ctx.notice(format!(
                "Created convoy {} tracking {} issue(s)",
                rec.id(),
                ids.len()
            ));
            Ok(out(issue_view(&rec), rec.id().to_string()))
        }
        ConvoyCmd::Add { convoy, ids } => {
            let o = ops::convoy::add(ctx, &convoy, &ids)?;
            Ok(out(issue_view(&o.record), ""))
        }
        ConvoyCmd::Status { convoy } => {
            let p = ops::convoy::status(ctx, &convoy)?;
            let t = render::convoy(&p);
            Ok(out(p, t))
        }
        ConvoyCmd::List => {
            let all = ops::convoy::list(ctx)?;
            let t: String = all.iter().map(render::convoy).collect();
            Ok(out(all, t))
        }
    }
}

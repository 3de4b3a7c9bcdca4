//! `bd todo …` (classic): TODOs are task issues with shortcuts.

use clap::Subcommand;

use super::common::{Output, lines, listing, outcome_list};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Option<TodoCmd>,
}

#[derive(Subcommand, Debug)]
pub enum TodoCmd {
    /// Add a TODO (a task, priority 2 unless -p)
    Add {
        title: String,
        #[arg(short, long)]
        description: Option<String>,
        #[arg(short, long)]
        priority: Option<String>,
    },
    /// List open TODOs (--all: done ones too)
    List {
        #[arg(long)]
        all: bool,
    },
    /// Mark TODOs done (close them)
    Done {
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(long, default_value = "Completed")]
        reason: String,
    },
}

pub fn run(ctx: &Session, a: Args, json: bool) -> Result<Output> {
    match a.cmd.unwrap_or(TodoCmd::List { all: false }) {
        TodoCmd::Add {
            title,
            description,
            priority,
        } => super::create::run(
            ctx,
            super::create::Args {
                title: Some(title),
                issue_type: Some("task".into()),
                priority,
                text: super::common::TextArgs {
                    description,
                    ..Default::default()
                },
                ..Default::default()
            },
        ),
        TodoCmd::List { all } => {
            let f = ops::query::Filter {
                types: vec!["task".into()],
                all,
                ..Default::default()
            };
            let l = ops::query::list(ctx, &f)?;
            let t = lines(&l.rows);
            listing(json, l, t)
        }
        TodoCmd::Done { ids, reason } => outcome_list(
            ctx,
            &ops::edit::close(ctx, &ids, Some(&reason), false)?,
            "Closed",
        ),
    }
}

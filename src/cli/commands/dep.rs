//! `bd dep …`: dependencies.

use clap::Subcommand;

use super::common::{Output, out};
use crate::cli::render::one_line;
use crate::error::Result;
use crate::ops::deps::{Direction, TreeOptions};
use crate::ops::{self, Session};

/// `bd dep <subcommand>`, or classic's shorthand `bd dep A --blocks B`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Option<DepCmd>,
    /// The blocking issue (with --blocks)
    #[arg(requires = "blocks")]
    pub id: Option<String>,
    /// The issue ID blocks (`bd dep add <blocked> <ID>`)
    #[arg(short = 'b', long, requires = "id")]
    pub blocks: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum DepCmd {
    /// ISSUE depends on DEPENDS_ON (default type: blocks)
    Add {
        issue: String,
        /// What ISSUE depends on (or --blocked-by / --depends-on)
        #[arg(required_unless_present_any = ["blocked_by", "depends_on_flag"])]
        depends_on: Option<String>,
        /// What blocks ISSUE (classic spelling)
        #[arg(long, conflicts_with_all = ["depends_on", "depends_on_flag"])]
        blocked_by: Option<String>,
        /// What ISSUE depends on (classic spelling)
        #[arg(long = "depends-on", conflicts_with = "depends_on")]
        depends_on_flag: Option<String>,
        #[arg(short = 't', long = "type", default_value = "blocks")]
        kind: String,
    },
    /// Remove a dependency
    #[command(alias = "rm")]
    Remove {
        issue: String,
        depends_on: String,
        #[arg(short = 't', long = "type")]
        kind: Option<String>,
    },
    /// What issues depend on (--direction up: what depends on them)
    List {
        #[arg(required = true)]
        ids: Vec<String>,
        /// down: what they depend on; up: what depends on them
        #[arg(long, default_value = "down")]
        direction: String,
        /// Only edges of this type
        #[arg(short = 't', long = "type")]
        kind: Option<String>,
    },
    /// The dependency tree below an issue (--direction up: above it)
    Tree {
        id: String,
        /// down (what it depends on), up (what depends on it) or both
        #[arg(long)]
        direction: Option<String>,
        /// What depends on it, instead (`--direction up`)
        #[arg(long, conflicts_with = "direction")]
        reverse: bool,
        /// Levels shown below the root
        #[arg(short = 'd', long, default_value_t = 50)]
        max_depth: usize,
        /// Only issues with this status (the root always shows)
        #[arg(long)]
        status: Option<String>,
    },
    /// Find dependency cycles
    Cycles,
    /// A loose "see also" link both ways (`relates-to`)
    Relate { id1: String, id2: String },
    /// Remove the "see also" link between two issues
    Unrelate { id1: String, id2: String },
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let cmd = match (a.cmd, a.id, a.blocks) {
        (Some(c), ..) => c,
        (None, Some(blocker), Some(blocked)) => DepCmd::Add {
            issue: blocked,
            depends_on: Some(blocker),
            blocked_by: None,
            depends_on_flag: None,
            kind: "blocks".into(),
        },
        _ => {
            return Err(ops::usage(
                "give a subcommand (add, remove, list, tree, cycles, relate, unrelate) or `bd dep <blocker> --blocks <blocked>`",
            ));
        }
    };
    match cmd {
        DepCmd::Add {
            issue,
            depends_on,
            blocked_by,
            depends_on_flag,
            kind,
        } => {
            let depends_on = depends_on
                .or(blocked_by)
                .or(depends_on_flag)
                .unwrap_or_default();
            let o = ops::deps::add(ctx, &issue, &depends_on, &kind)?;
            if o.changed {
                ctx.notice(format!("Added: {issue} depends on {depends_on} ({kind})"));
            }
            let v = ops::query::linked_views(ctx, std::slice::from_ref(&o.record))?;
            Ok(out(&v[0], ""))
        }
        DepCmd::Remove {
            issue,
            depends_on,
            kind,
        } => {
            let o = ops::deps::remove(ctx, &issue, &depends_on, kind.as_deref())?;
            ctx.notice(format!(
                "Removed: {issue} no longer depends on {depends_on}"
            ));
            let v = ops::query::linked_views(ctx, std::slice::from_ref(&o.record))?;
            Ok(out(&v[0], ""))
        }
        DepCmd::List {
            ids,
            direction,
            kind,
        } => {
            let dir = Direction::parse(&direction)?;
            let l = ops::deps::list(ctx, &ids, dir, kind.as_deref())?;
            let arrow = if dir == Direction::Up { "←" } else { "→" };
            let mut t = String::new();
            match &l.edges {
                Some(edges) => {
                    for e in edges {
                        t.push_str(&format!(
                            "{} → {} ({})\n",
                            e.issue_id,
                            one_line(&e.depends_on_id),
                            one_line(&e.kind)
                        ));
                    }
                }
                None => {
                    for i in &l.issues {
                        t.push_str(&format!(
                            "{arrow} {} ({}) [{}] {}\n",
                            i.id,
                            one_line(&i.dependency_type),
                            i.status,
                            one_line(&i.title)
                        ));
                    }
                    for m in &l.missing {
                        t.push_str(&format!(
                            "→ {} ({}) [missing]\n",
                            one_line(&m.depends_on_id),
                            one_line(&m.dependency_type)
                        ));
                    }
                }
            }
            Ok(out(l, t))
        }
        DepCmd::Tree {
            id,
            direction,
            reverse,
            max_depth,
            status,
        } => {
            let direction = match (direction, reverse) {
                (Some(d), _) => Direction::parse(&d)?,
                (None, true) => Direction::Up,
                (None, false) => Direction::Down,
            };
            let o = TreeOptions {
                direction,
                max_depth,
                status,
            };
            let nodes = ops::deps::tree(ctx, &id, &o)?;
            let t: String = nodes
                .iter()
                .map(|n| {
                    let r = &n.issue.record;
                    let kind = if n.edge_from_parent.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", one_line(&n.edge_from_parent))
                    };
                    format!(
                        "{}{}{} [{}] {}{kind}{}\n",
                        "  ".repeat(n.depth),
                        if n.up { "↑ " } else { "" },
                        r.id(),
                        one_line(&r.status()),
                        one_line(&r.title()),
                        if n.truncated { " …" } else { "" }
                    )
                })
                .collect();
            Ok(out(nodes, t))
        }
        DepCmd::Cycles => {
            let c = ops::deps::cycles(ctx)?;
            if c.is_empty() {
                ctx.notice("No dependency cycles.");
            }
            let t: String = c.iter().map(|cy| cy.join(" → ") + "\n").collect();
            Ok(out(c, t))
        }
        DepCmd::Relate { id1, id2 } => {
            let os = ops::deps::relate(ctx, &id1, &id2)?;
            super::common::outcome_list(ctx, &os, "Related")
        }
        DepCmd::Unrelate { id1, id2 } => {
            let os = ops::deps::unrelate(ctx, &id1, &id2)?;
            super::common::outcome_list(ctx, &os, "Unrelated")
        }
    }
}

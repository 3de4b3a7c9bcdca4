//! `bd dep …`: dependencies.

use clap::Subcommand;

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::deps::{Brief, Target, TreeNode};
use crate::ops::{self, Session};

#[derive(Subcommand, Debug)]
pub enum DepCmd {
    /// ISSUE depends on DEPENDS_ON (default type: blocks)
    Add {
        issue: String,
        depends_on: String,
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
    /// What an issue depends on and what depends on it
    List { id: String },
    /// The dependency tree below an issue
    Tree {
        id: String,
        /// What depends on it, instead
        #[arg(long)]
        reverse: bool,
        #[arg(long, default_value_t = 10)]
        max_depth: usize,
    },
    /// Find dependency cycles
    Cycles,
}

pub fn run(ctx: &Session, d: DepCmd) -> Result<Output> {
    match d {
        DepCmd::Add {
            issue,
            depends_on,
            kind,
        } => {
            let o = ops::deps::add(ctx, &issue, &depends_on, &kind)?;
            if o.changed {
                ctx.notice(format!("Added: {issue} depends on {depends_on} ({kind})"));
            }
            {
                let v = ops::query::linked_views(ctx, std::slice::from_ref(&o.record))?;
                Ok(out(&v[0], ""))
            }
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
            {
                let v = ops::query::linked_views(ctx, std::slice::from_ref(&o.record))?;
                Ok(out(&v[0], ""))
            }
        }
        DepCmd::List { id } => {
            let l = ops::deps::list(ctx, &id)?;
            let mut t = String::new();
            for d in &l.depends_on {
                t.push_str(&match d {
                    Target::Found(b) => edge_line("→", b),
                    Target::Missing {
                        id,
                        dependency_type,
                        ..
                    } => format!("→ {id} ({dependency_type}) [missing] \n"),
                });
            }
            for b in &l.dependents {
                t.push_str(&edge_line("←", b));
            }
            Ok(out(l, t))
        }
        DepCmd::Tree {
            id,
            reverse,
            max_depth,
        } => {
            let tree = ops::deps::tree(ctx, &id, reverse, max_depth)?;
            let mut t = String::new();
            draw(&tree, 0, &mut t);
            Ok(out(tree, t))
        }
        DepCmd::Cycles => {
            let c = ops::deps::cycles(ctx)?;
            if c.is_empty() {
                ctx.notice("No dependency cycles.");
            }
            let t: String = c.iter().map(|cy| cy.join(" → ") + "\n").collect();
            Ok(out(c, t))
        }
    }
}

fn edge_line(arrow: &str, b: &Brief) -> String {
    format!(
        "{arrow} {} ({}) [{}] {}\n",
        b.id, b.dependency_type, b.status, b.title
    )
}

/// One node of a dependency tree and its children, indented by depth.
fn draw(n: &TreeNode, depth: usize, t: &mut String) {
    let b = &n.issue;
    let kind = if b.dependency_type.is_empty() {
        String::new()
    } else {
        format!(" ({})", b.dependency_type)
    };
    let mark = if n.cycle { " [cycle]" } else { "" };
    t.push_str(&format!(
        "{}{} [{}] {}{kind}{mark}\n",
        "  ".repeat(depth),
        b.id,
        b.status,
        b.title
    ));
    for c in n.children.iter().flatten() {
        draw(c, depth + 1, t);
    }
}

//! `bd dep …`: dependencies.

use clap::Subcommand;
use serde_json::{Value, json};

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Ctx, issue_json};

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

pub fn run(ctx: &Ctx, d: DepCmd) -> Result<Output> {
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
            Ok(out(issue_json(&o.record, None), ""))
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
            Ok(out(issue_json(&o.record, None), ""))
        }
        DepCmd::List { id } => {
            let v = ops::deps::list(ctx, &id)?;
            let mut t = String::new();
            for (key, arrow) in [("depends_on", "→"), ("dependents", "←")] {
                for d in v[key].as_array().into_iter().flatten() {
                    t.push_str(&format!(
                        "{arrow} {} ({}) [{}] {}\n",
                        d["id"].as_str().unwrap_or(""),
                        d["dependency_type"].as_str().unwrap_or(""),
                        d["status"].as_str().unwrap_or("missing"),
                        d["title"].as_str().unwrap_or("")
                    ));
                }
            }
            Ok(out(v, t))
        }
        DepCmd::Tree {
            id,
            reverse,
            max_depth,
        } => {
            let v = ops::deps::tree(ctx, &id, reverse, max_depth)?;
            let mut t = String::new();
            draw(&v, 0, &mut t);
            Ok(out(v, t))
        }
        DepCmd::Cycles => {
            let c = ops::deps::cycles(ctx)?;
            if c.is_empty() {
                ctx.notice("No dependency cycles.");
            }
            let t: String = c.iter().map(|cy| cy.join(" → ") + "\n").collect();
            Ok(out(json!(c), t))
        }
    }
}

/// One node of a dependency tree and its children, indented by depth.
fn draw(v: &Value, depth: usize, t: &mut String) {
    let kind = v["dependency_type"].as_str().unwrap_or("");
    let kind = if kind.is_empty() {
        String::new()
    } else {
        format!(" ({kind})")
    };
    let mark = if v.get("cycle").is_some() {
        " [cycle]"
    } else {
        ""
    };
    t.push_str(&format!(
        "{}{} [{}] {}{kind}{mark}\n",
        "  ".repeat(depth),
        v["id"].as_str().unwrap_or(""),
        v["status"].as_str().unwrap_or(""),
        v["title"].as_str().unwrap_or("")
    ));
    for c in v["children"].as_array().into_iter().flatten() {
        draw(c, depth + 1, t);
    }
}

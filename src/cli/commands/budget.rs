//! `bd budget [ID|agent:NAME]`, `bd budget set`, `bd budget spend`: token
//! (and dollar) budgets of issues, epics, convoys and agents, rolled up
//! down the tree of work.

use std::fmt::Write;

use clap::Subcommand;

use super::common::{Output, out};
use crate::cli::render::one_line;
use crate::error::Result;
use crate::model::budget::{dollars, dollars_signed, thousands, thousands_signed};
use crate::ops::budget::{BudgetNode, Report, SetOptions, SpendOptions};
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Option<BudgetCmd>,
    /// An issue (epic, convoy) or agent:NAME (default: every budget)
    #[arg(value_name = "ID|agent:NAME")]
    pub target: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum BudgetCmd {
    /// Give an issue, epic, convoy or agent (agent:NAME) a budget
    Set {
        #[arg(value_name = "ID|agent:NAME")]
        target: String,
        /// Tokens it may spend, below it included
        #[arg(long, value_name = "N", allow_hyphen_values = true)]
        tokens: String,
        /// Dollars it may spend
        #[arg(long, value_name = "X", allow_hyphen_values = true)]
        usd: Option<String>,
    },
    /// Record what you spent (on the issue you hold, or --issue)
    Spend {
        #[arg(long, value_name = "N", allow_hyphen_values = true)]
        tokens: Option<String>,
        #[arg(long, value_name = "X", allow_hyphen_values = true)]
        usd: Option<String>,
        /// The issue it was spent on (default: the one you hold)
        #[arg(long, value_name = "ID")]
        issue: Option<String>,
    },
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    match a.cmd {
        Some(BudgetCmd::Set {
            target,
            tokens,
            usd,
        }) => {
            let (rec, written) = ops::budget::set(
                ctx,
                &SetOptions {
                    target,
                    tokens,
                    usd,
                },
            )?;
            if !written {
                return Ok(out(&rec, format!("{}\n", rec.id)));
            }
            let dollars_part = rec
                .usd
                .map(|u| format!(" and {}", dollars(micros(u))))
                .unwrap_or_default();
            ctx.notice(format!(
                "Budget of {}: {} tokens{dollars_part}",
                rec.target.as_deref().unwrap_or_default(),
                thousands(rec.tokens)
            ));
            Ok(out(&rec, format!("{}\n", rec.id)))
        }
        Some(BudgetCmd::Spend { tokens, usd, issue }) => {
            let rec = ops::budget::spend(ctx, &SpendOptions { tokens, usd, issue })?;
            let on = rec
                .issue
                .as_deref()
                .map(|i| format!(" on {i}"))
                .unwrap_or_default();
            let dollars_part = rec
                .usd
                .map(|u| format!(" and {}", dollars(micros(u))))
                .unwrap_or_default();
            ctx.notice(format!(
                "Spent {} tokens{dollars_part}{on}",
                thousands(rec.tokens)
            ));
            Ok(out(&rec, format!("{}\n", rec.id)))
        }
        None => match ops::budget::report(ctx, a.target.as_deref())? {
            Report::One(n) => {
                let mut t = String::new();
                tree(&mut t, &n, 0);
                Ok(out(&n, t))
            }
            Report::All(all) => {
                let mut t = String::new();
                for n in &all {
                    tree(&mut t, n, 0);
                }
                if all.is_empty() {
                    ctx.notice("No budgets yet (bd budget set ID --tokens N)");
                }
                Ok(out(&all, t))
            }
        },
    }
}

fn micros(usd: f64) -> u64 {
    crate::model::budget::micros_of(usd)
}

/// A budget and what is below it, one line each, indented.
fn tree(t: &mut String, n: &BudgetNode, depth: usize) {
    let pad = "  ".repeat(depth);
    let mut head = n.target.clone();
    if let (Some(ty), Some(st)) = (&n.issue_type, &n.status) {
        let _ = write!(head, " [{ty}, {st}]");
    }
    if let Some(title) = &n.title {
        let _ = write!(head, " {}", one_line(title));
    }
    let mut parts = Vec::new();
    match n.allocated_tokens {
        Some(a) => parts.push(format!(
            "{} of {} tokens spent",
            thousands(n.spent_tokens),
            thousands(a)
        )),
        None => parts.push(format!("{} tokens spent", thousands(n.spent_tokens))),
    }
    if n.reserved_tokens > 0 {
        parts.push(format!(
            "{} held by budgets below",
            thousands(n.reserved_tokens)
        ));
    }
    if let Some(l) = n.left_tokens {
        parts.push(format!("{} left", thousands_signed(l)));
    }
    let spent_usd = micros(n.spent_usd);
    match (n.allocated_usd, n.left_usd) {
        (Some(a), Some(l)) => parts.push(format!(
            "{} of {} spent, {} left",
            dollars(spent_usd),
            dollars(micros(a)),
            dollars_signed((l * 1_000_000.0).round() as i64)
        )),
        _ if spent_usd > 0 => parts.push(format!("{} spent", dollars(spent_usd))),
        _ => {}
    }
    if n.exhausted {
        parts.push("EXHAUSTED".into());
    }
    let _ = writeln!(t, "{pad}{head}");
    let _ = writeln!(t, "{pad}    {}", parts.join(" · "));
    if let Some(r) = n.refusal.as_ref().filter(|_| !n.exhausted) {
        let _ = writeln!(t, "{pad}    not taken now: {r}");
    }
    for c in &n.children {
        tree(t, c, depth + 1);
    }
}

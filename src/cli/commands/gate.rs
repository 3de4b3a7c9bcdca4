//! `bd gate …` (issue 16): items that block their dependents until
//! resolved: by hand (human), by time (timer), by a command this machine
//! approved (command, gh:run, gh:pr), or by another item closing (bead).

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session, issue_view};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum GateCmd {
    /// Open gates (with --all, resolved ones too)
    List {
        #[arg(long)]
        all: bool,
    },
    /// One gate: its condition, what it blocks, its last check, whether this machine trusts it
    Show { id: String },
    /// Create a gate that blocks an issue until it is resolved
    Create {
        /// The issue(s) it blocks (repeatable)
        #[arg(long, required = true)]
        blocks: Vec<String>,
        /// human, timer, command, bead, gh:run, gh:pr
        #[arg(long = "type", default_value = "human")]
        kind: String,
        /// What it waits on: the command, the issue, the run or PR id, a timer's time
        #[arg(long)]
        await_id: Option<String>,
        /// A timer's delay; a command's time limit (30m, 2h, 1h30m)
        #[arg(long)]
        timeout: Option<String>,
        /// A timer's time (RFC 3339, a date, +2h, tomorrow)
        #[arg(long)]
        at: Option<String>,
        #[arg(long, short)]
        reason: Option<String>,
    },
    /// Evaluate open gates and resolve those whose condition holds (approved commands run)
    Check {
        /// Only these gates
        ids: Vec<String>,
        /// Only gates of this type (timer, bead, command, gh, gh:run, gh:pr, all; repeatable)
        #[arg(long = "type")]
        kinds: Vec<String>,
        /// Say what would happen; run nothing, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Resolve a gate by hand (close it)
    Resolve {
        id: String,
        #[arg(long, short)]
        reason: Option<String>,
    },
    /// Approve, on this machine, the exact program a gate runs (a changed one needs approval again)
    Trust {
        id: String,
        /// Withdraw the approval
        #[arg(long)]
        revoke: bool,
    },
}

pub fn run(ctx: &Session, c: GateCmd) -> Result<Output> {
    match c {
        GateCmd::List { all } => {
            let gates = ops::gate::list(ctx, all)?;
            let mut t = String::new();
            if gates.is_empty() {
                t.push_str("No gates\n");
            }
            for g in &gates {
                t.push_str(&gate_line(g));
            }
            Ok(out(gates, t))
        }
        GateCmd::Show { id } => {
            let g = ops::gate::show(ctx, &id)?;
            let mut t = gate_line(&g);
            if let Some(c) = &g.last_check {
                t.push_str(&format!(
                    "  last check {}: {}\n",
                    c.get("at").and_then(|v| v.as_str()).unwrap_or("?"),
                    c.get("reason").and_then(|v| v.as_str()).unwrap_or("?")
                ));
                if let Some(tail) = c.get("output_tail").and_then(|v| v.as_array()) {
                    for l in tail {
                        t.push_str(&format!("    | {}\n", l.as_str().unwrap_or("")));
                    }
                }
            }
            Ok(out(g, t))
        }
        GateCmd::Create {
            blocks,
            kind,
            await_id,
            timeout,
            at,
            reason,
        } => {
            let rec = ops::gate::create(
                ctx,
                &ops::gate::CreateGate {
                    blocks,
                    kind,
                    await_id,
                    timeout,
                    at,
                    reason,
                },
            )?;
            ctx.notice(format!("Created gate {}: {}", rec.id(), rec.title()));
            Ok(out(issue_view(&rec), rec.id().to_string()))
        }
        GateCmd::Check {
            ids,
            kinds,
            dry_run,
        } => {
            let r = ops::gate::check(
                ctx,
                &ops::gate::CheckOptions {
                    kinds,
                    ids,
                    dry_run,
                    due_only: false,
                },
            )?;
            let mut t = String::new();
            for g in &r.gates {
                let mark = match g.outcome {
                    "resolved" => "✓",
                    "failed" => "✗",
                    "untrusted" => "!",
                    _ => "○",
                };
                t.push_str(&format!(
                    "{mark} {} ({}): {} - {}\n",
                    g.id, g.await_type, g.outcome, g.reason
                ));
                if g.outcome == "untrusted"
                    && let Some(p) = &g.program
                {
                    t.push_str(&format!("    runs: {p}\n"));
                }
                for l in g.output_tail.iter().rev().take(5).rev() {
                    t.push_str(&format!("    | {l}\n"));
                }
            }
            t.push_str(&format!(
                "Checked {} gates: {} resolved, {} pending, {} failed, {} untrusted{}\n",
                r.checked,
                r.resolved,
                r.pending,
                r.failed,
                r.untrusted,
                if r.dry_run { " (dry run)" } else { "" }
            ));
            Ok(out(r, t))
        }
        GateCmd::Resolve { id, reason } => {
            let o = ops::gate::resolve(ctx, &id, reason.as_deref())?;
            let rec = &o[0].record;
            Ok(out(
                issue_view(rec),
                format!("Gate resolved: {}\n", rec.id()),
            ))
        }
        GateCmd::Trust { id, revoke } => {
            let r = ops::gate::trust(ctx, &id, revoke)?;
            let t = if r.trusted {
                format!(
                    "Trusted {} on this machine: it may run\n  {}\n",
                    r.id, r.program
                )
            } else {
                format!("{} is no longer trusted on this machine\n", r.id)
            };
            Ok(out(r, t))
        }
    }
}

fn gate_line(g: &ops::gate::GateView) -> String {
    let mut t = format!(
        "{} [{}] {} {}",
        g.id,
        g.status,
        g.await_type,
        crate::cli::render::one_line(&g.title)
    );
    if let Some(d) = &g.due_at {
        t.push_str(&format!(", due {d}"));
    }
    if let Some(x) = &g.timeout {
        t.push_str(&format!(", timeout {x}"));
    }
    if let Some(tr) = g.trusted {
        t.push_str(if tr {
            ", trusted"
        } else {
            ", NOT trusted here (bd gate trust)"
        });
    }
    if !g.blocks.is_empty() {
        t.push_str(&format!("\n  blocks {}", g.blocks.join(", ")));
    }
    t.push('\n');
    t
}

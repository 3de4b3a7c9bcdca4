//! `bd mol …` (issue 16): molecules, formulas poured into work.

use super::common::{Output, out};
use crate::cli::render::one_line;
use crate::error::Result;
use crate::ops::{self, Session};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum MolCmd {
    /// Pour a formula into a molecule: a root with one child per step, in one write
    Pour {
        formula: String,
        /// A variable's value (name=value; repeatable)
        #[arg(long = "var")]
        vars: Vec<String>,
        /// Derive ids and created_at from this key: pouring it again, here or in another clone, gives one molecule
        #[arg(long)]
        idempotency_key: Option<String>,
        /// Assign the molecule's root
        #[arg(long)]
        assignee: Option<String>,
        /// Print the plan; write nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// A molecule's steps, their states and its gates (any item in it names it)
    Show { id: String },
    /// Completed / total of a molecule (default: those of the items you hold)
    Progress { id: Option<String> },
    /// Where you are in a molecule: done, current, ready, blocked steps (default: yours)
    Current { id: Option<String> },
    /// Molecules whose gate has closed and whose next step is ready for work
    Ready,
    /// Every open molecule with its progress
    List {
        /// Closed molecules too
        #[arg(long)]
        all: bool,
    },
    /// Delete molecules: the root and every item under it, in one write
    Burn {
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(long)]
        dry_run: bool,
        /// Insist over a claim you lost
        #[arg(long)]
        force: bool,
    },
    /// Close a finished molecule into a digest item (its summary, else one line per step)
    Squash {
        id: String,
        #[arg(long)]
        summary: Option<String>,
        /// Delete the steps once the digest holds them
        #[arg(long)]
        delete_children: bool,
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(ctx: &Session, c: MolCmd) -> Result<Output> {
    match c {
        MolCmd::Pour {
            formula,
            vars,
            idempotency_key,
            assignee,
            dry_run,
        } => {
            let r = ops::mol::pour(
                ctx,
                &ops::mol::PourOptions {
                    formula,
                    vars: ops::formula::parse_vars(&vars)?,
                    key: idempotency_key,
                    assignee,
                    dry_run,
                },
            )?;
            let t = pour_text(&r);
            Ok(out(r, t))
        }
        MolCmd::Show { id } => {
            let m = ops::mol::show(ctx, &id)?;
            let t = mol_text(&m, true);
            Ok(out(m, t))
        }
        MolCmd::Progress { id } => progress(ctx, id.as_deref()),
        MolCmd::Current { id } => {
            let all = ops::mol::current(ctx, id.as_deref())?;
            let mut t = String::new();
            if all.is_empty() {
                t.push_str("You hold no step of a molecule (bd mol current ID names one)\n");
            }
            for m in &all {
                t.push_str(&mol_text(m, false));
            }
            Ok(out(all, t))
        }
        MolCmd::Ready => {
            let all = ops::mol::ready(ctx)?;
            let mut t = String::new();
            if all.is_empty() {
                t.push_str("No molecule is waiting past a resolved gate\n");
            }
            for m in &all {
                t.push_str(&format!(
                    "{} {}: gate {} resolved, {} {} is ready\n",
                    m.molecule_id,
                    one_line(&m.molecule_title),
                    m.closed_gate,
                    m.ready_step,
                    one_line(&m.ready_title)
                ));
            }
            Ok(out(
                serde_json::json!({"molecules": all, "count": all.len()}),
                t,
            ))
        }
        MolCmd::List { all } => {
            let ms = ops::mol::list(ctx, all)?;
            let mut t = String::new();
            if ms.is_empty() {
                t.push_str("No molecules\n");
            }
            for m in &ms {
                t.push_str(&format!(
                    "{} {} [{}] {}/{} steps ({}%){}\n",
                    m.molecule_id,
                    one_line(&m.molecule_title),
                    m.formula.as_deref().unwrap_or("-"),
                    m.completed,
                    m.total,
                    m.percent,
                    if m.gates.is_empty() {
                        String::new()
                    } else {
                        format!(", gates {}", m.gates.join(", "))
                    }
                ));
            }
            Ok(out(ms, t))
        }
        MolCmd::Burn {
            ids,
            dry_run,
            force,
        } => {
            let r = ops::mol::burn(ctx, &ids, dry_run, force)?;
            let t: String = r
                .iter()
                .map(|b| {
                    format!(
                        "{} {} ({} items): {}\n",
                        if dry_run { "Would burn" } else { "Burned" },
                        b.molecule_id,
                        b.deleted_count,
                        b.deleted_ids.join(", ")
                    )
                })
                .collect();
            Ok(out(r, t))
        }
        MolCmd::Squash {
            id,
            summary,
            delete_children,
            dry_run,
        } => {
            let r = ops::mol::squash(ctx, &id, summary.as_deref(), delete_children, dry_run)?;
            let t = format!(
                "{} {} into digest {} ({} steps{})\n",
                if dry_run { "Would squash" } else { "Squashed" },
                r.molecule_id,
                r.digest_id,
                r.squashed_count,
                if r.deleted_count > 0 { ", deleted" } else { "" }
            );
            Ok(out(r, t))
        }
    }
}

fn mol_text(m: &ops::mol::MolView, header: bool) -> String {
    let mut t = format!(
        "Molecule {} {}{} [{}]: {}/{} steps ({}%)\n",
        m.molecule_id,
        one_line(&m.molecule_title),
        m.formula
            .as_deref()
            .map(|f| format!(" (formula {f})"))
            .unwrap_or_default(),
        m.status,
        m.completed,
        m.total,
        m.percent
    );
    for s in &m.steps {
        let here = m.current_step.as_deref() == Some(s.id.as_str());
        t.push_str(&format!(
            "  [{}] {} {}{}{}\n",
            s.state,
            s.id,
            one_line(&s.title),
            if s.blocked_by.is_empty() || s.state == "done" {
                String::new()
            } else {
                format!(" (after {})", s.blocked_by.join(", "))
            },
            if here { "  <- you are here" } else { "" }
        ));
    }
    if !header && let Some(n) = &m.next_step {
        t.push_str(&format!("Next ready: {n} (bd claim {n})\n"));
    }
    t
}

fn pour_text(r: &ops::mol::PourReport) -> String {
    let mut t = if r.dry_run {
        format!(
            "Would pour {} issues from formula {} as {}:\n",
            r.issues.len() + 1,
            r.formula,
            r.new_epic_id
        )
    } else if r.already_poured {
        format!("Molecule {} was poured already\n", r.new_epic_id)
    } else {
        format!(
            "Poured {} ({}): {} issues\n",
            r.new_epic_id, r.formula, r.created
        )
    };
    if r.dry_run {
        t.push_str(&format!(
            "  {} {} (molecule)\n",
            r.new_epic_id,
            one_line(&r.title)
        ));
        for i in &r.issues {
            t.push_str(&format!("  {} {} ({})", i.id, one_line(&i.title), i.step));
            if !i.blocked_by.is_empty() {
                t.push_str(&format!(" after {}", i.blocked_by.join(", ")));
            }
            t.push('\n');
        }
    }
    t
}

fn progress(ctx: &Session, id: Option<&str>) -> Result<Output> {
    let all = ops::mol::current(ctx, id)?;
    let mut t = String::new();
    if all.is_empty() {
        t.push_str("No molecule in progress\n");
    }
    for m in &all {
        t.push_str(&format!(
            "{} {}: {}/{} steps ({}%)",
            m.molecule_id,
            one_line(&m.molecule_title),
            m.completed,
            m.total,
            m.percent
        ));
        if let Some(c) = &m.current_step {
            t.push_str(&format!(", current {c}"));
        }
        t.push('\n');
    }
    let progress: Vec<serde_json::Value> = all
        .iter()
        .map(|m| {
            serde_json::json!({
                "molecule_id": m.molecule_id,
                "molecule_title": m.molecule_title,
                "total": m.total,
                "completed": m.completed,
                "in_progress": m.in_progress,
                "percent": m.percent,
                "current_step_id": m.current_step,
            })
        })
        .collect();
    Ok(out(progress, t))
}

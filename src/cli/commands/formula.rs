//! `bd formula list|show|check` (issue 16): the workflow templates of the
//! workspace (`.beads/formulas/`) and the user (`~/.beads/formulas/`).

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum FormulaCmd {
    /// List the formulas found (the workspace's hide the user's of the same name)
    List {
        /// Only formulas of this type (workflow, expansion, aspect, convoy)
        #[arg(long = "type")]
        kind: Option<String>,
    },
    /// Show a formula as written: variables, steps, gates
    Show { name: String },
    /// Check formulas (default: every one found): every problem with file, line and step
    Check {
        names: Vec<String>,
        /// Check these values too, as a pour would (name=value; repeatable)
        #[arg(long = "var")]
        vars: Vec<String>,
    },
}

pub fn run(ctx: &Session, c: FormulaCmd) -> Result<Output> {
    match c {
        FormulaCmd::List { kind } => {
            let all = ops::formula::list(ctx, kind.as_deref())?;
            let mut t = String::new();
            if all.is_empty() {
                t.push_str("No formulas found (put <name>.formula.toml in .beads/formulas/)\n");
            }
            for s in &all {
                match &s.error {
                    Some(e) => t.push_str(&format!("{:<24} unreadable: {e}\n", s.name)),
                    None => t.push_str(&format!(
                        "{:<24} {:<9} {:>3} steps {:>2} vars  {}{}\n",
                        s.name,
                        s.kind,
                        s.steps,
                        s.vars,
                        s.description,
                        if s.origin == ops::formula::Origin::User {
                            "  (user)"
                        } else {
                            ""
                        }
                    )),
                }
            }
            Ok(out(all, t))
        }
        FormulaCmd::Show { name } => {
            let s = ops::formula::show(ctx, &name)?;
            let t = show_text(&s);
            Ok(out(s, t))
        }
        FormulaCmd::Check { names, vars } => {
            let vars = ops::formula::parse_vars(&vars)?;
            let r = ops::formula::check(ctx, &names, &vars)?;
            let mut t = String::new();
            for f in &r.formulas {
                if f.ok {
                    t.push_str(&format!("ok      {} ({})\n", f.name, f.source.display()));
                }
                for p in &f.problems {
                    t.push_str(&format!("{}\n", ops::formula::located(&f.source, p)));
                }
            }
            if r.formulas.is_empty() {
                t.push_str("No formulas to check\n");
            }
            let bad = !r.ok;
            let mut o = out(r, t);
            if bad {
                o.code = 1;
            }
            Ok(o)
        }
    }
}

fn show_text(s: &ops::formula::Shown) -> String {
    let f = &s.formula;
    let mut t = format!(
        "{} ({}, version {}) from {}\n",
        s.name,
        f.kind,
        f.version,
        s.source.display()
    );
    if !f.description.is_empty() {
        t.push_str(&format!("{}\n", f.description.trim_end()));
    }
    if !f.vars.is_empty() {
        t.push_str("\nVariables:\n");
        for (k, v) in &f.vars {
            let mut bits = Vec::new();
            if v.required {
                bits.push("required".to_string());
            }
            if let Some(d) = &v.default {
                bits.push(format!("default {d:?}"));
            }
            if !v.choices.is_empty() {
                bits.push(format!("one of {}", v.choices.join("|")));
            }
            if let Some(p) = &v.pattern {
                bits.push(format!("pattern {p}"));
            }
            t.push_str(&format!(
                "  {k}{}{}\n",
                if bits.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", bits.join(", "))
                },
                v.description
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ));
        }
    }
    t.push_str("\nSteps:\n");
    fn steps(t: &mut String, s: &[crate::model::formula::Step], depth: usize) {
        for x in s {
            let pad = "  ".repeat(depth + 1);
            t.push_str(&format!(
                "{pad}{}: {}",
                x.id,
                crate::cli::render::one_line(&x.title)
            ));
            if let Some(k) = &x.kind {
                t.push_str(&format!(" ({k})"));
            }
            if !x.needs.is_empty() {
                t.push_str(&format!(" [needs {}]", x.needs.join(", ")));
            }
            if let Some(g) = &x.gate {
                t.push_str(&format!(
                    " [gate {}{}]",
                    g.kind,
                    g.target().map(|a| format!(" {a}")).unwrap_or_default()
                ));
            }
            if let Some(c) = &x.condition {
                t.push_str(&format!(" [if {c}]"));
            }
            t.push('\n');
            steps(t, &x.children, depth + 1);
            if let Some(l) = &x.looping {
                let how = l
                    .range
                    .as_ref()
                    .map(|r| format!("range {r}"))
                    .or(l.count.map(|c| format!("{c} times")))
                    .unwrap_or_else(|| "until".into());
                t.push_str(&format!("{pad}  loop {how}:\n"));
                steps(t, &l.body, depth + 2);
            }
        }
    }
    steps(&mut t, &f.steps, 0);
    t
}

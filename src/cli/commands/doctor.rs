//! `bd doctor`: check .beads/ for problems (and repair with --fix).

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Ctx};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long)]
    pub fix: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Output> {
    let ops::compose::DoctorReport {
        findings: fs,
        pending,
        registered: reg,
    } = ops::compose::doctor(ctx, a.fix)?;
    let mut t: String = if fs.is_empty() {
        "No problems found.\n".into()
    } else {
        fs.iter()
            .map(|f| {
                format!(
                    "{:<7} {}{}\n",
                    f.severity,
                    f.message,
                    if f.fixed { "  [fixed]" } else { "" }
                )
            })
            .collect()
    };
    if !pending.is_empty() {
        t.push_str(&format!(
            "note: pending tracker changes, not committed yet: {}\n",
            pending.join(", ")
        ));
    }
    t.push_str(&registered_text(&reg));
    let errors = fs.iter().any(|f| f.severity == "error" && !f.fixed);
    let mut j = json!({"ok": !errors, "findings": fs, "pending": pending, "workspaces": reg["workspaces"], "trusted": reg["trusted"]});
    if errors {
        // A failure: the report also carries the error document's
        // keys (SPEC §4), so `--json` readers see both.
        let n = fs
            .iter()
            .filter(|f| f.severity == "error" && !f.fixed)
            .count();
        j["error"] = json!(format!("doctor found {n} error(s)"));
        j["code"] = json!("invalid");
        j["hint"] = json!("`bd doctor --fix` repairs them");
    }
    let mut o = out(j, t);
    if errors {
        ctx.notice("warning: doctor found errors; `bd doctor --fix` repairs them");
        o.code = 1;
    }
    Ok(o)
}

/// `doctor`'s list of the workspaces registered in the project home and the
/// repositories confirmed with `bd where --trust`.
fn registered_text(reg: &Value) -> String {
    let mut t = String::new();
    let empty = Vec::new();
    let ws = reg["workspaces"].as_array().unwrap_or(&empty);
    if !ws.is_empty() {
        t.push_str("Workspaces in this project's home on this machine:\n");
        for w in ws {
            let _ = writeln!(
                t,
                "  {}{}  (last seen {}){}",
                w["root"].as_str().unwrap_or("?"),
                if w["this"] == true { " (this one)" } else { "" },
                w["last_seen"].as_str().unwrap_or("?"),
                if w["live"] == true { "" } else { "  [gone]" }
            );
        }
    }
    for r in reg["trusted"].as_array().unwrap_or(&empty) {
        let _ = writeln!(
            t,
            "Trusted repository: {} (root commit {}, confirmed {})",
            r["repository"].as_str().unwrap_or("?"),
            r["root_commit"].as_str().unwrap_or("none yet"),
            r["confirmed_at"].as_str().unwrap_or("?")
        );
    }
    t
}

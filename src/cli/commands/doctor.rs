//! `bd doctor`: check .beads/ for problems (and repair with --fix).

use std::fmt::Write as _;

use serde::Serialize;

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::admin::Finding;
use crate::ops::membership::{Registered, SeenWorkspace, TrustedRepo};
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long)]
    pub fix: bool,
    /// Classic: `validate` (every check: the default) or `pollution`
    /// (open issues that look like leaked tests)
    #[arg(long, value_name = "CHECK", value_parser = ["validate", "pollution"])]
    pub check: Option<String>,
    /// With --check=pollution: delete what it found
    #[arg(long)]
    pub clean: bool,
    /// Classic, accepted: bd asks no questions
    #[arg(long, short)]
    pub yes: bool,
    /// Probe what the git remote takes for remote coordination (claim refs,
    /// atomic pushes, a claims branch) and recommend a layout (--fix sets it)
    #[arg(long, conflicts_with_all = ["check", "clean"])]
    pub remote: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    if a.remote {
        let p = ops::compose::doctor_remote(ctx, a.fix)?;
        let yes = |b: bool| if b { "yes" } else { "no" };
        let mut t = format!(
            "remote: {}\ncoordination through it: {}\nrefs under refs/beads/: {}\natomic pushes: {}\ndeletes: {}\nbranch beads/*: {}\nlayout: {}\n",
            p.remote,
            yes(p.enabled),
            yes(p.refs),
            yes(p.atomic),
            yes(p.deletes),
            yes(p.branch),
            p.layout.word()
        );
        if let Some(why) = &p.refused {
            let _ = writeln!(t, "refused: {why}");
        }
        match p.recommended {
            Some(l) => {
                let _ = writeln!(
                    t,
                    "recommended layout: {}{}",
                    l.word(),
                    if p.fixed { "  [fixed]" } else { "" }
                );
            }
            None => t.push_str("this remote takes neither claim refs nor a claims branch: coordinate on this machine (`bd config set coordination machine`)\n"),
        }
        return Ok(out(p, t));
    }
    if a.check.as_deref() == Some("pollution") {
        let p = ops::compose::pollution(ctx, a.clean)?;
        let t: String = if p.test_issues.is_empty() {
            "No test issues found.\n".into()
        } else {
            p.test_issues
                .iter()
                .map(|i| format!("{}  {}  [{}]\n", i.id, i.title, i.status))
                .collect()
        };
        return Ok(out(p, t));
    }
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
    // A failure: the report also carries the error document's keys
    // (SPEC §4), so `--json` readers see both.
    let failure = errors.then(|| {
        let n = fs
            .iter()
            .filter(|f| f.severity == "error" && !f.fixed)
            .count();
        Failure {
            error: format!("doctor found {n} error(s)"),
            code: "invalid",
            hint: "`bd doctor --fix` repairs them",
        }
    });
    let j = Json {
        ok: !errors,
        findings: &fs,
        pending: &pending,
        workspaces: &reg.workspaces,
        trusted: &reg.trusted,
        failure,
    };
    let mut o = out(j, t);
    if errors {
        ctx.warn("doctor found errors; `bd doctor --fix` repairs them");
        o.code = 1;
    }
    Ok(o)
}

/// `doctor --json`: the report, and the error document's keys when it fails.
#[derive(Serialize)]
struct Json<'a> {
    ok: bool,
    findings: &'a [Finding],
    pending: &'a [String],
    workspaces: &'a [SeenWorkspace],
    trusted: &'a [TrustedRepo],
    #[serde(flatten)]
    failure: Option<Failure>,
}

#[derive(Serialize)]
struct Failure {
    error: String,
    code: &'static str,
    hint: &'static str,
}

/// `doctor`'s list of the workspaces registered in the project home and the
/// repositories confirmed with `bd where --trust`.
fn registered_text(reg: &Registered) -> String {
    let mut t = String::new();
    if !reg.workspaces.is_empty() {
        t.push_str("Workspaces in this project's home on this machine:\n");
        for w in &reg.workspaces {
            let _ = writeln!(
                t,
                "  {}{}  (last seen {}){}",
                w.root.display(),
                if w.this { " (this one)" } else { "" },
                w.last_seen,
                if w.live { "" } else { "  [gone]" }
            );
        }
    }
    for r in &reg.trusted {
        let _ = writeln!(
            t,
            "Trusted repository: {} (root commit {}, confirmed {})",
            r.repository,
            r.root_commit.as_deref().unwrap_or("none yet"),
            r.confirmed_at
        );
    }
    t
}

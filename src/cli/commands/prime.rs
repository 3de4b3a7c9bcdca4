//! `bd prime`: the start-of-session summary for an agent (SPEC §7): who it
//! is, its hook and claims, unread mail, the top ready work, pending tracker
//! changes, and the commands it needs. The text stays under 1.5 KB.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::prime::{Item, PrimeReport, SHOWN};
use crate::ops::{self, Session};

pub fn run(ctx: &Session) -> Result<Output> {
    let p = ops::prime::prime(ctx)?;
    let text = text(&p);
    Ok(out(&p, text))
}

/// The text of `bd prime` for the session's actor (`bd run` hands it to
/// the agent command in a file).
pub fn text_for(ctx: &Session) -> Result<String> {
    ops::prime::prime(ctx).map(|p| text(&p))
}

/// A one-line field (a title, a note, a subject), at most `n` characters:
/// line breaks and control characters shown escaped, so a title cannot
/// forge a line of the agent's start-of-session text (review 9).
fn cut(s: &str, n: usize) -> String {
    let s = crate::cli::render::one_line(s);
    if s.chars().count() <= n {
        s.into_owned()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// The first few of a list, and how many more (the JSON has them whole).
fn list(v: &[Item], more: &str) -> String {
    let mut s: String = v
        .iter()
        .take(SHOWN)
        .map(|i| {
            let mut line = format!("  {} {}\n", i.id, cut(&i.title, 50));
            if let Some(c) = &i.checkpoint {
                // The first line (what is done), short: the text stays small.
                let first = c.lines().next().unwrap_or_default();
                line.push_str(&format!("    last checkpoint: {}\n", cut(first, 100)));
            }
            if let Some(m) = &i.molecule {
                line.push_str(&format!(
                    "    step {} of molecule {}{}: {}/{} done{}\n",
                    cut(m.step.as_deref().unwrap_or("?"), 40),
                    m.id,
                    m.formula
                        .as_deref()
                        .map(|f| format!(" ({})", cut(f, 40)))
                        .unwrap_or_default(),
                    m.completed,
                    m.total,
                    m.next_step
                        .as_deref()
                        .map(|n| format!(", next ready {n}"))
                        .unwrap_or_default()
                ));
            }
            line
        })
        .collect();
    if v.len() > SHOWN {
        s.push_str(&format!("  … {} more ({more})\n", v.len() - SHOWN));
    }
    s
}

fn text(p: &PrimeReport) -> String {
    let mut t = String::new();
    t.push_str(&format!(
        "# bd prime — you are {} in {} (project {})\n",
        p.actor,
        p.workspace.display(),
        p.identity
    ));
    if !p.explicit_actor {
        t.push_str("Set BD_ACTOR=<your name> if other agents share this workspace.\n");
    }
    if p.hook.is_empty() {
        t.push_str("Hook: empty\n");
    } else {
        t.push_str(&format!(
            "Hook ({}), start here:\n{}",
            p.hook.len(),
            list(&p.hook, "bd hook")
        ));
        if let Some(n) = &p.hook_note {
            t.push_str(&format!("  Note: {}\n", cut(n, 200)));
        }
    }
    if p.claims.is_empty() {
        t.push_str("Claims: none\n");
    } else {
        t.push_str(&format!(
            "Claims ({}), finish these:\n{}",
            p.claims.len(),
            list(&p.claims, "bd list --assignee <you> -s in_progress")
        ));
    }
    if !p.reservations.is_empty() {
        let held: Vec<String> = p
            .reservations
            .iter()
            .map(|r| {
                format!(
                    "{} ({}, until {})",
                    r.globs.join(" "),
                    r.mode.word(),
                    r.until
                )
            })
            .collect();
        t.push_str(&format!(
            "Reservations: {} (`bd release` when done)\n",
            cut(&held.join("; "), 200)
        ));
    }
    if p.unread.is_empty() {
        t.push_str("Unread mail: none\n");
    } else {
        t.push_str(&format!(
            "Unread mail ({}), `bd mail read <id>`:\n",
            p.unread.len()
        ));
        for m in p.unread.iter().take(SHOWN) {
            t.push_str(&format!(
                "  {} from {}: {}\n",
                m.id,
                m.from,
                cut(&m.subject, 50)
            ));
        }
        if p.unread.len() > SHOWN {
            t.push_str(&format!(
                "  … {} more (bd mail inbox)\n",
                p.unread.len() - SHOWN
            ));
        }
    }
    if p.ready.is_empty() {
        t.push_str("Ready: nothing\n");
    } else {
        t.push_str("Ready:\n");
        for r in &p.ready {
            t.push_str(&format!(
                "  {} P{} {}\n",
                r.id,
                r.priority,
                cut(&r.title, 50)
            ));
        }
    }
    if !p.pending.is_empty() {
        let mut names: Vec<&str> = p.pending.iter().take(2).map(String::as_str).collect();
        let rest = format!("{} more", p.pending.len().saturating_sub(2));
        if p.pending.len() > 2 {
            names.push(&rest);
        }
        t.push_str(&format!(
            "Uncommitted tracker changes: {} (`bd commit`)\n",
            names.join(", ")
        ));
    }
    t.push_str(
        "Commands: bd claim <id> | bd show <id> | bd comment <id> \"…\" | bd close <id> --reason \"…\" | bd create \"…\" --deps discovered-from:<id> | bd mail inbox | bd heartbeat\n",
    );
    t
}

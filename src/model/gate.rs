//! Gates (issue 16): an item of type `gate` that blocks its dependents
//! (by their `blocks` edges on it) until it is closed. Pure: the kinds,
//! durations, when a timer is due, and the fingerprint a machine trusts a
//! command gate by.

use crate::model::time::Nanos;
use sha2::{Digest, Sha256};

pub const HUMAN: &str = "human";
pub const TIMER: &str = "timer";
pub const COMMAND: &str = "command";
pub const BEAD: &str = "bead";
pub const GH_RUN: &str = "gh:run";
pub const GH_PR: &str = "gh:pr";
/// Every gate type, in the order `bd gate` lists them.
pub const KINDS: [&str; 6] = [HUMAN, TIMER, COMMAND, BEAD, GH_RUN, GH_PR];

/// Whether a gate of this type runs a program on this machine (and so
/// needs this machine's trust first).
pub fn runs_program(kind: &str) -> bool {
    matches!(kind, COMMAND | GH_RUN | GH_PR)
}

/// A duration as classic writes them (Go's: `30m`, `1h30m`, `90s`,
/// `500ms`), plus days (`2d`) and weeks (`1w`), in nanoseconds. Never
/// silently zero: anything else is an error.
pub fn parse_duration(s: &str) -> Result<Nanos, String> {
    let t = s.trim();
    let bad = || format!("{s:?} is not a duration such as 30m, 2h, 1h30m, 90s or 2d");
    if t.is_empty() {
        return Err(bad());
    }
    let b = t.as_bytes();
    let mut i = 0;
    let mut total: f64 = 0.0;
    while i < b.len() {
        let st = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let num: f64 = t[st..i].parse().map_err(|_| bad())?;
        let us = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit: f64 = match &t[us..i] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86_400e9,
            "w" => 604_800e9,
            _ => return Err(bad()),
        };
        total += num * unit;
    }
    if !(total.is_finite() && total > 0.0 && total < 9.0e18) {
        return Err(bad());
    }
    Ok(total as Nanos)
}

/// A duration in Go's words (`1h30m0s`), as classic prints a timeout.
pub fn duration_text(ns: Nanos) -> String {
    let secs = ns / 1_000_000_000;
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// When a timer gate opens: at `await_id` when it is a time, else
/// `created + timeout`; `None` when neither is known.
pub fn timer_due(
    created: Option<Nanos>,
    timeout: Option<Nanos>,
    at: Option<Nanos>,
) -> Option<Nanos> {
    // Past what a time can hold: never (not a wrap into the past).
    at.or_else(|| Some(created?.checked_add(timeout?).unwrap_or(Nanos::MAX)))
}

/// What a machine approves when it trusts a command gate: the gate's type
/// and exact program text, hashed (a changed command is another
/// fingerprint, so it needs approval again).
pub fn fingerprint(kind: &str, program: &str) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(program.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The argument lists a `gh` gate runs (never through a shell): `gh run
/// view <id>` or `gh pr view <id>`, asking for the JSON fields judged.
pub fn gh_argv(kind: &str, id: &str) -> Option<Vec<String>> {
    let id = id.trim();
    // A run id or PR number is digits; a workflow is a file name: never an
    // option, never two words.
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if id.is_empty() || id.starts_with('-') || !id.chars().all(word) {
        return None;
    }
    if kind == GH_PR && !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
    match kind {
        // A workflow's name (classic: `release.yml`): its newest run.
        GH_RUN if !id.bytes().all(|b| b.is_ascii_digit()) => Some(v(&[
            "gh",
            "run",
            "list",
            "--workflow",
            id,
            "--limit",
            "1",
            "--json",
            "status,conclusion",
        ])),
        GH_RUN => Some(v(&["gh", "run", "view", id, "--json", "status,conclusion"])),
        GH_PR => Some(v(&["gh", "pr", "view", id, "--json", "state"])),
        _ => None,
    }
}

/// What `gh`'s JSON says of a gate: `Some(Ok(()))` resolved,
/// `Some(Err(why))` failed for good (classic's escalation), `None` pending.
pub fn judge_gh(kind: &str, json: &serde_json::Value) -> Option<Result<(), String>> {
    // `gh run list` gives an array, newest first.
    let json = match json {
        serde_json::Value::Array(a) => a.first()?,
        one => one,
    };
    let s = |k: &str| {
        json.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    match kind {
        GH_RUN => {
            if s("status") != "completed" {
                return None;
            }
            match s("conclusion").as_str() {
                "success" | "skipped" => Some(Ok(())),
                c => Some(Err(format!("workflow run concluded {c}"))),
            }
        }
        GH_PR => match s("state").as_str() {
            "merged" => Some(Ok(())),
            "closed" => Some(Err("pull request closed without merging".into())),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), 1_800_000_000_000);
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("2d").unwrap(), 172_800_000_000_000);
        assert_eq!(parse_duration("500ms").unwrap(), 500_000_000);
        for bad in ["", "1", "1y", "-5m", "m", "0s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(duration_text(1_800_000_000_000), "30m0s");
    }

    #[test]
    fn timers_and_fingerprints() {
        assert_eq!(timer_due(Some(10), Some(5), None), Some(15));
        assert_eq!(timer_due(Some(10), Some(5), Some(3)), Some(3));
        assert_eq!(timer_due(None, Some(5), None), None);
        assert_ne!(
            fingerprint(COMMAND, "make test"),
            fingerprint(COMMAND, "make test ")
        );
        assert_eq!(fingerprint(COMMAND, "x"), fingerprint(COMMAND, "x"));
    }

    #[test]
    fn gh_judgement() {
        let j = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(judge_gh(GH_RUN, &j(r#"{"status":"in_progress"}"#)), None);
        assert_eq!(
            judge_gh(
                GH_RUN,
                &j(r#"{"status":"completed","conclusion":"success"}"#)
            ),
            Some(Ok(()))
        );
        assert!(matches!(
            judge_gh(
                GH_RUN,
                &j(r#"{"status":"completed","conclusion":"failure"}"#)
            ),
            Some(Err(_))
        ));
        assert_eq!(judge_gh(GH_PR, &j(r#"{"state":"MERGED"}"#)), Some(Ok(())));
        assert_eq!(gh_argv(GH_PR, "--help"), None);
        assert_eq!(gh_argv(GH_PR, "12 --web"), None);
        assert_eq!(gh_argv(GH_RUN, "release.yml --repo x"), None);
        assert_eq!(gh_argv(GH_RUN, "release.yml").unwrap()[2], "list");
        assert_eq!(
            judge_gh(
                GH_RUN,
                &j(r#"[{"status":"completed","conclusion":"success"}]"#)
            ),
            Some(Ok(()))
        );
        assert_eq!(judge_gh(GH_RUN, &j("[]")), None);
    }
}

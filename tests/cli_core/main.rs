//! The core commands end to end through the real binary: init, create, show,
//! list, count, children, update, close, reopen, delete, restore, defer,
//! undefer, ready, blocked, stale, claim, unclaim; their `--json` shapes, their
//! error cases and exit codes (SPEC §3, §4, §8; PITFALLS), and the
//! "nothing changed" table of docs/NOTHING-CHANGED.md.

#[path = "../common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::{Run, TestEnvironment};
use serde_json::Value;

mod create;
mod errors;
mod ready;
mod show_list;
mod update_close;
mod writes;

// ---------------------------------------------------------------- helpers

/// Bytes, inode and mtime of a file: equal states mean "not rewritten".
#[derive(Debug, PartialEq, Eq)]
struct FileState {
    bytes: Vec<u8>,
    ino: u64,
    mtime: i64,
    mtime_nsec: i64,
}

fn state(path: &Path) -> FileState {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    FileState {
        bytes: std::fs::read(path).unwrap(),
        ino: m.ino(),
        mtime: m.mtime(),
        mtime_nsec: m.mtime_nsec(),
    }
}

/// The IDs of a JSON array of issues, in order.
fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|i| i["id"].as_str().expect("every issue has an id").to_string())
        .collect()
}

fn set(v: &Value) -> BTreeSet<String> {
    ids(v).into_iter().collect()
}

fn strs(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

/// `bd --json ARGS` expected to fail with `exit` and `code`: stdout must be
/// exactly one JSON document `{"error","code","hint"}`, stderr the human line.
#[track_caller]
fn fail_json(env: &TestEnvironment, args: &[&str], exit: i32, code: &str) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let r = env.bd(&a).code(exit);
    check_error_doc(&r, code)
}

#[track_caller]
fn check_error_doc(r: &Run, code: &str) -> Value {
    let v = r.json();
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("error document is not an object: {}", r.stdout));
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["error", "code", "hint"]),
        "error document keys: {}",
        r.stdout
    );
    assert_eq!(
        v["code"], code,
        "stdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    let msg = v["error"].as_str().expect("error is a string");
    assert!(!msg.is_empty());
    assert!(
        v["hint"].is_string() || v["hint"].is_null(),
        "hint is a string or null: {}",
        r.stdout
    );
    assert!(
        r.stderr.contains(msg),
        "stderr carries the human line {msg:?}: {}",
        r.stderr
    );
    assert!(
        !r.stderr.trim_start().starts_with('{'),
        "stderr is talk, not JSON: {}",
        r.stderr
    );
    v
}

/// `bd ARGS` (no --json) expected to fail with `exit`; returns stderr.
#[track_caller]
fn fail(env: &TestEnvironment, args: &[&str], exit: i32) -> String {
    let r = env.bd(args).code(exit);
    assert!(!r.stderr.trim().is_empty(), "a refusal says why");
    r.stderr
}

/// Create at the time `t`.
#[track_caller]
fn create_at(env: &TestEnvironment, t: &str, title: &str, extra: &[&str]) -> String {
    let mut a = vec!["create", title];
    a.extend_from_slice(extra);
    env.bd_at(t, &a).ok().stdout.trim().to_string()
}

// ---------------------------------------------------------------- nothing changed

/// One row of docs/NOTHING-CHANGED.md.
struct Row {
    name: &'static str,
    args: Vec<String>,
    exit: i32,
    /// JSON error code when `exit` is non-zero.
    code: Option<&'static str>,
    /// Every one of these appears on stderr.
    stderr: Vec<&'static str>,
}

fn row(
    name: &'static str,
    args: &[&str],
    exit: i32,
    code: Option<&'static str>,
    stderr: &[&'static str],
) -> Row {
    Row {
        name,
        args: args.iter().map(|s| s.to_string()).collect(),
        exit,
        code,
        stderr: stderr.to_vec(),
    }
}

/// Run each row with and without --json: exit code, stderr notice, JSON code,
/// and the watched files neither changed nor rewritten (same inode, same mtime).
fn check_rows(env: &TestEnvironment, rows: &[Row]) {
    let watched = [
        env.issues_path(),
        env.beads().join("config.toml"),
        env.beads().join(".gitignore"),
        env.beads().join(".gitattributes"),
    ];
    let mut failures = Vec::new();
    for r in rows {
        for json in [false, true] {
            let before: Vec<FileState> = watched.iter().map(|p| state(p)).collect();
            let mut args: Vec<&str> = r.args.iter().map(String::as_str).collect();
            if json {
                args.insert(0, "--json");
            }
            let run = env.bd(&args);
            let after: Vec<FileState> = watched.iter().map(|p| state(p)).collect();
            let mut problems = Vec::new();
            if run.code != r.exit {
                problems.push(format!("exit {} (want {})", run.code, r.exit));
            }
            for s in &r.stderr {
                if !run.stderr.contains(s) {
                    problems.push(format!("stderr lacks {s:?}"));
                }
            }
            if before != after {
                for (p, (b, a)) in watched.iter().zip(before.iter().zip(&after)) {
                    if b != a {
                        problems.push(format!("{} rewritten", p.display()));
                    }
                }
            }
            if json {
                match serde_json::from_str::<Value>(&run.stdout) {
                    Ok(v) => {
                        if let Some(code) = r.code
                            && v["code"] != code
                        {
                            problems.push(format!("json code {} (want {code})", v["code"]));
                        }
                        if r.code.is_none() && v.get("error").is_some() {
                            problems.push(format!("json is an error document: {v}"));
                        }
                    }
                    Err(e) => problems.push(format!(
                        "stdout is not one JSON document ({e}): {}",
                        run.stdout
                    )),
                }
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{}{}: {}\n    stderr: {}",
                    r.name,
                    if json { " (--json)" } else { "" },
                    problems.join("; "),
                    run.stderr.trim()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "nothing-changed rows failing:\n{}",
        failures.join("\n")
    );
}

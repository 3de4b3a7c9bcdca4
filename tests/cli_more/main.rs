//! The remaining commands through the real binary: deps, labels, comments,
//! search, stats, where, config, version, completion, onboard, import/export
//! and doctor — their --json shapes, "nothing changed" notices and errors.

#[path = "../common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::TestEnvironment;
use serde_json::Value;

mod deps;
mod doctor;
mod import_export;
mod info;
mod labels_comments;

/// A minimal classic record line, hand-written like another tool would.
fn line(id: &str, status: &str, deps: &[(&str, &str)]) -> String {
    let mut v = serde_json::json!({
        "id": id,
        "title": format!("Issue {id}"),
        "status": status,
        "priority": 2,
        "issue_type": "task",
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
    });
    if status == "closed" {
        v["closed_at"] = "2025-01-02T00:00:00Z".into();
    }
    if !deps.is_empty() {
        v["dependencies"] = deps
            .iter()
            .map(|(to, kind)| {
                serde_json::json!({"issue_id": id, "depends_on_id": to, "type": kind,
                    "created_at": "2025-01-01T00:00:00Z", "created_by": "x"})
            })
            .collect();
    }
    serde_json::to_string(&v).unwrap()
}

fn write_issues(env: &TestEnvironment, text: &str) {
    std::fs::write(env.issues_path(), text).unwrap();
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array: {v}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn edges(rec: &Value) -> Vec<(String, String)> {
    rec["dependencies"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    (
                        d["depends_on_id"].as_str().unwrap().to_string(),
                        d["type"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `bd --json ARGS` that must fail with `code`/`exit`: the one JSON error document.
#[track_caller]
fn json_err(env: &TestEnvironment, args: &[&str], exit: i32, code: &str) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let r = env.bd(&a).code(exit);
    let v = r.json();
    assert_eq!(v["code"], code, "{v}");
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    assert!(!r.stderr.trim().is_empty(), "the human line goes to stderr");
    v
}

// ---------------------------------------------------------------- import / export

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/classic/issues.jsonl")
}

fn fixture_values() -> Vec<Value> {
    std::fs::read_to_string(fixture())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn bytes_to_lines(b: &[u8]) -> Vec<String> {
    String::from_utf8(b.to_vec())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------- doctor

fn findings(v: &Value) -> Vec<Value> {
    v["findings"].as_array().cloned().unwrap_or_default()
}

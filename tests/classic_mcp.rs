//! Drop-in for classic beads, seen from its most used client: beads-mcp 1.3.2
//! (the MCP server agents run over classic `bd`), unchanged, drives this `bd`
//! through tests/classic/beads_mcp_e2e.py, which calls every tool it exposes
//! and checks each result and what it changed.
//!
//! It needs a Python venv holding `beads-mcp==1.3.2` (which pulls `mcp`):
//! `STRAND_CLASSIC_VENV`, else `target/classic-venv` (made by `.ci/run`).
//! Without one the tests say so and pass.
//!
//! The repositories are prepared through the real `bd` on the real clock (not
//! the harness's fixed one: the server's own `bd` runs use the real clock, and
//! a seed dated in the future would be younger than nothing the tests write).
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BD, Run, TestEnvironment, run_of};
use serde_json::{Value, json};

const SCRIPT: &str = "tests/classic/beads_mcp_e2e.py";
const SEED_COMMENT: &str = "Card charging needs idempotency keys.";

/// The venv's python, or None (with the reason printed) when there is none.
fn venv_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (venv, from_env) = match std::env::var_os("STRAND_CLASSIC_VENV") {
        Some(v) => (PathBuf::from(v), true),
        None => (root.join("target/classic-venv"), false),
    };
    let python = venv.join("bin/python");
    if !python.exists() {
        assert!(
            !from_env,
            "STRAND_CLASSIC_VENV={} holds no bin/python",
            venv.display()
        );
        println!(
            "SKIPPED: no Python venv with beads-mcp at {} (set STRAND_CLASSIC_VENV, or run .ci/run, \
             which makes it with `python3 -m venv` and `pip install beads-mcp==1.3.2`)",
            venv.display()
        );
        return None;
    }
    let probe = Command::new(&python)
        .args(["-c", "import beads_mcp, mcp"])
        .output()
        .expect("the venv's python runs");
    assert!(
        probe.status.success(),
        "the venv {} cannot import beads_mcp and mcp (pip install beads-mcp==1.3.2): {}",
        venv.display(),
        String::from_utf8_lossy(&probe.stderr)
    );
    Some(python)
}

/// `bd ARGS` in the repository on the real clock, asserting success.
#[track_caller]
fn bd_live(env: &TestEnvironment, args: &[&str]) -> Run {
    let mut c = env.cmd(args);
    c.env_remove("BD_NOW");
    run_of(c.output().expect("bd runs")).ok()
}

/// Create an issue on the real clock; its ID.
#[track_caller]
fn create(env: &TestEnvironment, title: &str, extra: &[&str]) -> String {
    let mut a = vec!["create", title];
    a.extend_from_slice(extra);
    bd_live(env, &a).stdout.trim().to_string()
}

/// The seed the script expects (see its docstring): an epic with two
/// children, a `blocks` edge, labels, a comment, an assignee, a closed issue.
fn seed(env: &TestEnvironment) -> Value {
    let epic = create(
        env,
        "Payments epic",
        &["-t", "epic", "-p", "1", "-l", "payments"],
    );
    let c1 = create(
        env,
        "Charge the card",
        &[
            "-t", "task", "-p", "1", "--parent", &epic, "-l", "payments", "-l", "backend",
        ],
    );
    let c2 = create(
        env,
        "Refund flow",
        &[
            "-t", "task", "-p", "2", "--parent", &epic, "-l", "payments", "-a", "alice",
        ],
    );
    let blocker = create(
        env,
        "Schema migration",
        &["-t", "task", "-p", "0", "-l", "backend"],
    );
    let blocked = create(
        env,
        "Wire the payments API",
        &["-t", "feature", "-p", "1", "-l", "backend"],
    );
    bd_live(env, &["dep", "add", &blocked, &blocker, "--type", "blocks"]);
    let closed = create(env, "Old spike", &["-t", "chore", "-p", "3", "-l", "spike"]);
    bd_live(env, &["close", &closed, "--reason", "Superseded"]);
    bd_live(env, &["comment", &c1, SEED_COMMENT]);
    json!({
        "epic": epic,
        "children": [c1, c2],
        "blocker": blocker,
        "blocked": blocked,
        "closed": closed,
        "assignee": "alice",
        "comment": {"text": SEED_COMMENT, "author": env.actor},
        "extra_show": [],
        "extra_comments": [],
    })
}

/// Run the script on `env`'s prepared repository with `seed`; assert it passed.
fn drive(python: &Path, env: &TestEnvironment, seed: &Value) {
    let scratch = env.folder("scratch");
    let seed_path = scratch.join("seed.json");
    std::fs::write(&seed_path, seed.to_string()).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = std::time::Instant::now();
    let out = Command::new(python)
        .arg(root.join(SCRIPT))
        .arg("--bd")
        .arg(BD)
        .arg("--repo")
        .arg(&env.repo)
        .arg("--scratch")
        .arg(&scratch)
        .arg("--seed")
        .arg(&seed_path)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &env.home)
        .env("BD_HOME", &env.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("the venv's python runs");
    let r = run_of(out);
    println!("{}", r.stdout);
    if r.code != 0 {
        let log = std::fs::read_to_string(scratch.join("beads-mcp.stderr.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        eprintln!("--- script stderr\n{}", r.stderr);
        eprintln!(
            "--- beads-mcp log (last lines)\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    assert_eq!(
        r.code,
        0,
        "beads-mcp e2e failed after {:.1}s; the FAIL lines above say which tools and why",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn beads_mcp_drives_a_fresh_repository() {
    let Some(python) = venv_python() else { return };
    let env = TestEnvironment::bare_git();
    bd_live(&env, &["init", "--prefix", "bd"]);
    let seed = seed(&env);
    drive(&python, &env, &seed);
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/classic")
        .join(name)
}

/// `.beads/config.yaml` as classic bd 1.0.5's init leaves it: a commented
/// template; the prefix lives in its database, not here.
const CLASSIC_CONFIG_YAML: &str = r#"# Beads Configuration File
# This file configures default behavior for all bd commands in this repository
# All settings can also be set via environment variables (BD_* prefix)
# or overridden with command-line flags

# Issue prefix for this repository (used by bd init)
# If not set, bd init will auto-detect from directory name
# Example: issue-prefix: "myproject" creates issues like "myproject-1", "myproject-2", etc.
# issue-prefix: ""

# Use no-db mode: load from JSONL, no SQLite, write back after each command
# no-db: false

# Enable JSON output by default
# json: false

# Default actor for audit trails (overridden by BD_ACTOR or --actor)
# actor: ""

# Auto-export to .beads/issues.jsonl after changes
export.auto: true
"#;

/// `.beads/metadata.json` as classic bd 1.0.5 writes it (embedded Dolt;
/// two-space indent, no final newline).
const CLASSIC_METADATA_JSON: &str = r#"{
  "database": "dolt",
  "backend": "dolt",
  "dolt_mode": "embedded",
  "dolt_database": "beads_bd",
  "project_id": "6f1c2a9e-4b7d-4e0a-9c3f-2d8e5b1a7c40"
}"#;

#[test]
fn beads_mcp_drives_a_migrated_classic_repository() {
    let Some(python) = venv_python() else { return };
    let env = TestEnvironment::bare_git();
    let beads = env.beads();
    std::fs::create_dir_all(&beads).unwrap();
    std::fs::copy(fixture("issues.jsonl"), env.issues_path()).unwrap();
    std::fs::write(beads.join("config.yaml"), CLASSIC_CONFIG_YAML).unwrap();
    std::fs::write(beads.join("metadata.json"), CLASSIC_METADATA_JSON).unwrap();
    // A SQLite file from before classic moved to Dolt, never cleaned up.
    std::fs::write(beads.join("beads.db"), b"SQLite format 3\0stale").unwrap();
    bd_live(&env, &["init"]);

    let mut seed = seed(&env);
    let records: Vec<Value> = std::fs::read_to_string(fixture("issues.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let record = |id: &str| {
        records
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} in the fixture"))
    };
    // A `hooked` task with a discovered-from edge, an open task with comments,
    // a closed one with comments by two authors.
    seed["extra_show"] = ["bd-077e", "bd-zw72", "bd-6df0"]
        .iter()
        .map(|id| {
            let r = record(id);
            json!({"id": id, "title": r["title"], "status": r["status"], "issue_type": r["issue_type"]})
        })
        .collect();
    seed["extra_comments"] = ["bd-zw72", "bd-6df0"]
        .iter()
        .map(|id| {
            let authors: Vec<&Value> = record(id)["comments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| &c["author"])
                .collect();
            json!({"id": id, "authors": authors})
        })
        .collect();
    drive(&python, &env, &seed);
}

//! Repositories for the classic clients' end-to-end tests (tests/classic_mcp.rs,
//! tests/classic_ui.rs): prepared through the real `bd` on the real clock (not
//! the harness's fixed one: the clients' own `bd` runs use the real clock, and
//! a seed dated in the future would be younger than anything they write), and
//! a migrated classic repository as classic bd 1.0.5 leaves one.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Run, TestEnvironment, run_of};

/// `bd ARGS` in the repository on the real clock, asserting success.
#[track_caller]
pub fn bd_live(env: &TestEnvironment, args: &[&str]) -> Run {
    let mut c = env.cmd(args);
    c.env_remove("BD_NOW");
    run_of(c.output().expect("bd runs")).ok()
}

/// Create an issue on the real clock; its ID.
#[track_caller]
pub fn create_live(env: &TestEnvironment, title: &str, extra: &[&str]) -> String {
    let mut a = vec!["create", title];
    a.extend_from_slice(extra);
    bd_live(env, &a).stdout.trim().to_string()
}

/// The comment both clients' seeds carry.
pub const SEED_COMMENT: &str = "Card charging needs idempotency keys.";

/// The issues both clients' end-to-end scripts expect: an epic with two
/// children (labels, an assignee), a `blocks` edge, a closed issue and a
/// comment, made on the real clock.
pub struct Seed {
    pub epic: String,
    pub c1: String,
    pub c2: String,
    pub blocker: String,
    pub blocked: String,
    pub closed: String,
}

pub fn seed_issues(env: &TestEnvironment) -> Seed {
    let epic = create_live(
        env,
        "Payments epic",
        &["-t", "epic", "-p", "1", "-l", "payments"],
    );
    let c1 = create_live(
        env,
        "Charge the card",
        &[
            "-t", "task", "-p", "1", "--parent", &epic, "-l", "payments", "-l", "backend",
        ],
    );
    let c2 = create_live(
        env,
        "Refund flow",
        &[
            "-t", "task", "-p", "2", "--parent", &epic, "-l", "payments", "-a", "alice",
        ],
    );
    let blocker = create_live(
        env,
        "Schema migration",
        &["-t", "task", "-p", "0", "-l", "backend"],
    );
    let blocked = create_live(
        env,
        "Wire the payments API",
        &["-t", "feature", "-p", "1", "-l", "backend"],
    );
    bd_live(env, &["dep", "add", &blocked, &blocker, "--type", "blocks"]);
    let closed = create_live(env, "Old spike", &["-t", "chore", "-p", "3", "-l", "spike"]);
    bd_live(env, &["close", &closed, "--reason", "Superseded"]);
    bd_live(env, &["comment", &c1, SEED_COMMENT]);
    Seed {
        epic,
        c1,
        c2,
        blocker,
        blocked,
        closed,
    }
}

/// A file of `fixtures/classic/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/classic")
        .join(name)
}

/// The records of `fixtures/classic/issues.jsonl`, a classic export.
pub fn fixture_records() -> Vec<Value> {
    std::fs::read_to_string(fixture("issues.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `.beads/config.yaml` as classic bd 1.0.5's init leaves it: a commented
/// template; the prefix lives in its database, not here.
pub const CLASSIC_CONFIG_YAML: &str = r#"# Beads Configuration File
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
pub const CLASSIC_METADATA_JSON: &str = r#"{
  "database": "dolt",
  "backend": "dolt",
  "dolt_mode": "embedded",
  "dolt_database": "beads_bd",
  "project_id": "6f1c2a9e-4b7d-4e0a-9c3f-2d8e5b1a7c40"
}"#;

/// Make `env`'s (bare git) repository a classic one: the fixture's
/// `issues.jsonl`, classic `config.yaml` and `metadata.json`, a stale
/// `beads.db` from before classic moved to Dolt; then `bd init` on it.
pub fn migrate_classic(env: &TestEnvironment) {
    let beads = env.beads();
    std::fs::create_dir_all(&beads).unwrap();
    std::fs::copy(fixture("issues.jsonl"), env.issues_path()).unwrap();
    std::fs::write(beads.join("config.yaml"), CLASSIC_CONFIG_YAML).unwrap();
    std::fs::write(beads.join("metadata.json"), CLASSIC_METADATA_JSON).unwrap();
    // A SQLite file from before classic moved to Dolt, never cleaned up.
    std::fs::write(beads.join("beads.db"), b"SQLite format 3\0stale").unwrap();
    bd_live(env, &["init"]);
}

/// What the scripts also check on a migrated classic repository: a `hooked`
/// task with a discovered-from edge, an open task with comments, a closed
/// one with comments by two authors (issues of the classic fixture).
pub fn add_migrated_extras(seed: &mut Value) {
    let records = fixture_records();
    let record = |id: &str| {
        records
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} in the fixture"))
    };
    seed["extra_show"] = ["bd-077e", "bd-zw72", "bd-6df0"]
        .iter()
        .map(|id| {
            let r = record(id);
            serde_json::json!({"id": id, "title": r["title"], "status": r["status"], "issue_type": r["issue_type"]})
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
            serde_json::json!({"id": id, "authors": authors})
        })
        .collect();
}

//! Issue 9, coordination items (8, 11, 13, 14, 15, 16 and parts of 18), end
//! to end through the real `bd` binary: clones and worktrees of one remote
//! sharing one `BD_HOME` (one machine), a bare remote and `bd sync` where the
//! item is about merges.

#[path = "../common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use common::{Machine, Run, git, run_of};
use serde_json::{Value, json};

mod claims;
mod refusals;
mod status;
mod views;
mod writes;

/// Commit and push A's issues, then pull them into B.
fn share(m: &Machine) {
    git(&m.a, &["add", "-A"]);
    git(&m.a, &["commit", "-q", "-m", "issues"]);
    git(&m.a, &["push", "-q", "origin", "main"]);
    m.bd(&m.b, "tester", &["sync"]).ok();
}

fn ledger(m: &Machine) -> Value {
    let p = m.project_dir().join("ledger.json");
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|_| b"{}".to_vec())).unwrap()
}

fn ledger_event(m: &Machine, id: &str) -> Option<Value> {
    ledger(m)["entries"]
        .as_array()?
        .iter()
        .find(|e| e["issue"] == id)
        .map(|e| e["event"].clone())
}

/// A workspace's record of `id`, straight from its `issues.jsonl`.
fn record(ws: &Path, id: &str) -> Value {
    std::fs::read_to_string(ws.join(".beads/issues.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {}", ws.display()))
}

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// Run `bd` in `ws` with files limited to `kib` KiB (RLIMIT_FSIZE, with
/// SIGXFSZ ignored so an oversized write fails with EFBIG like a full disk,
/// even for root).
fn bd_limited(m: &Machine, ws: &Path, actor: &str, kib: u32, args: &[&str]) -> Run {
    let script = format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\"");
    let mut sh = common::through(&["bash", "-c", &script], &m.cmd(ws, actor, args));
    run_of(sh.output().expect("bash runs"))
}

/// Pad the ledger with released entries of issues nobody has, so writing it
/// needs more than `kib` KiB.
fn pad_ledger(m: &Machine, n: usize) {
    let path = m.project_dir().join("ledger.json");
    let mut l = ledger(m);
    if l.get("entries").is_none() {
        l = json!({"entries": []});
    }
    let entries = l["entries"].as_array_mut().unwrap();
    for i in 0..n {
        entries.push(json!({
            "issue": format!("zz-pad{i:04}"),
            "event": {"kind": "released"},
            "at": "2026-12-06T00:00:00.000000000Z",
            "by": "padding",
            "workspace": "/nonexistent/padding/workspace/for/the/test",
            "epoch": 1
        }));
    }
    std::fs::write(path, serde_json::to_vec_pretty(&l).unwrap()).unwrap();
}

// ---------------------------------------------------------------------------
// Item 16: one source for what is on a hook.
// ---------------------------------------------------------------------------

fn agent_entry(m: &Machine, ws: &Path, name: &str) -> Value {
    let all = m.json(ws, "mayor", &["agents"]);
    all.as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} in {all}"))
}

// ---------------------------------------------------------------------------
// The adversarial review of issue 9 (REVIEW.md): items 8, 13, 14, 18, 11.
// ---------------------------------------------------------------------------

/// The clone of another machine: cloned (on first use) from the remote and
/// only ever used with its own BD_HOME, so this machine's home never hears
/// of it.
fn other_clone(m: &Machine) -> PathBuf {
    let tmp = m.env.tmp.path();
    let c2 = tmp.join("m2");
    if !c2.exists() {
        let remote = tmp.join("remote.git");
        git(
            tmp,
            &[
                "clone",
                "-q",
                remote.to_str().unwrap(),
                c2.to_str().unwrap(),
            ],
        );
        git(&c2, &["config", "user.name", "M2"]);
        git(&c2, &["config", "user.email", "m2@example.com"]);
    }
    c2
}

/// Run `bd` in [`other_clone`] as another machine (its own BD_HOME).
fn on_other_machine(m: &Machine, actor: &str, args: &[&str]) -> Run {
    let home2 = m.env.tmp.path().join("home2");
    std::fs::create_dir_all(&home2).unwrap();
    m.env.bd_on(&other_clone(m), &home2, actor, args)
}

fn bytes_or_none(p: &Path) -> Option<Vec<u8>> {
    std::fs::read(p).ok()
}

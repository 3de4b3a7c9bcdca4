//! Issue 9, the merge's items, end to end through the real `bd` binary: a
//! bare remote, clones of it, `bd sync` (git merging `issues.jsonl` with the
//! driver `bd merge %O %A %B %P`, the binary under test first on PATH).
//!
//! - item 7: a delete and a concurrent status change (close) in two clones
//!   must converge to a record a writer wrote: `deleted_at` iff `tombstone`,
//!   `closed_at` iff `closed`, whichever of the two came last.
//! - item 19: two clones sharing one `BD_HOME`: alice claims and releases in
//!   one, bob then claims in the other; after `bd sync` in both, both hold
//!   bob's claim (`in_progress`, bob), as the project home's ledger does.

mod common;

use std::path::Path;

use common::TestEnvironment;
use serde_json::Value;

/// `bd --json show ID` in `ws` on the machine `home` as `actor`: the issue.
#[track_caller]
fn show(env: &TestEnvironment, ws: &Path, home: &Path, actor: &str, id: &str) -> Value {
    let r = env.bd_on(ws, home, actor, &["--json", "show", id]).ok();
    match r.json() {
        Value::Array(mut a) => a.remove(0),
        v => v,
    }
}

fn issues(ws: &Path) -> String {
    std::fs::read_to_string(ws.join(".beads/issues.jsonl")).unwrap()
}

fn record(ws: &Path, id: &str) -> Value {
    issues(ws)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("every line is JSON"))
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no record {id} in {}", ws.display()))
}

fn text<'v>(v: &'v Value, k: &str) -> &'v str {
    v[k].as_str().unwrap_or("")
}

/// The record keeps the state invariants: `deleted_at` iff `tombstone`,
/// `closed_at` iff `closed`, `in_progress` has a holder.
#[track_caller]
fn assert_valid(r: &Value) {
    let status = text(r, "status");
    assert_eq!(
        r.get("deleted_at").is_some(),
        status == "tombstone",
        "deleted_at iff tombstone: {r}"
    );
    assert_eq!(
        r.get("closed_at").is_some(),
        status == "closed",
        "closed_at iff closed: {r}"
    );
    if status == "in_progress" {
        assert!(
            !text(r, "assignee").is_empty(),
            "in_progress has a holder: {r}"
        );
    }
}

/// Item 7, both orders: the later of a delete and a close wins the whole
/// state (status with its tombstone fields), in both clones, byte for byte.
#[test]
fn item_07_delete_vs_concurrent_close_converges_to_a_valid_record() {
    for delete_first in [true, false] {
        let (env, ids) = TestEnvironment::with_remote(1, "2");
        let x = ids[0].clone();
        let (ha, hb) = (env.machine_home("a"), env.machine_home("b"));
        let (a, b) = (env.repo.clone(), env.clone_repo("b"));
        // Both clones start from the pushed issue; neither sees the other.
        let (first, hf, second, hs) = if delete_first {
            (&a, &ha, &b, &hb)
        } else {
            (&b, &hb, &a, &ha)
        };
        let act = |ws: &Path, h: &Path, delete: bool| {
            if delete {
                env.bd_on(ws, h, "alice", &["delete", &x, "--reason", "dup"])
                    .ok();
            } else {
                env.bd_on(ws, h, "bob", &["close", &x, "--reason", "done"])
                    .ok();
            }
        };
        act(first, hf, delete_first);
        act(second, hs, !delete_first);
        env.bd_on(first, hf, "alice", &["sync"]).ok();
        env.bd_on(second, hs, "bob", &["sync"]).ok();
        env.bd_on(first, hf, "alice", &["sync"]).ok();
        assert_eq!(issues(&a), issues(&b), "the clones converge byte for byte");
        for ws in [&a, &b] {
            let r = record(ws, &x);
            assert_valid(&r);
        }
        let r = record(&a, &x);
        let h = &ha;
        if delete_first {
            // The close came later: the issue is closed, not deleted.
            assert_eq!(text(&r, "status"), "closed", "{r}");
            assert_eq!(text(&r, "close_reason"), "done");
            let out = env.bd_on(&a, h, "alice", &["restore", &x]).ok();
            assert!(out.stderr.contains("not deleted"), "{}", out.stderr);
            assert_eq!(text(&show(&env, &a, h, "alice", &x), "status"), "closed");
        } else {
            // The delete came later: a tombstone `bd restore` brings back.
            assert_eq!(text(&r, "status"), "tombstone", "{r}");
            assert_eq!(text(&r, "delete_reason"), "dup");
            env.bd_on(&a, h, "alice", &["restore", &x]).ok();
            let back = record(&a, &x);
            assert_valid(&back);
            assert_eq!(text(&back, "status"), "open", "{back}");
        }
    }
}

/// Item 19: claim, release, claim across two clones of one machine (one
/// `BD_HOME`). Bob's claim was made after alice's release, which the ledger
/// told him of: after syncing, both clones hold bob's claim, and the ledger
/// and `ready` agree with the files.
#[test]
fn item_19_claim_after_release_in_another_clone_survives_the_merge() {
    let (env, ids) = TestEnvironment::with_remote(2, "2");
    let x = ids[0].clone();
    let home = env.machine_home("shared");
    let (a, b) = (env.repo.clone(), env.clone_repo("b"));
    env.bd_on(&a, &home, "alice", &["claim", &x]).ok();
    env.bd_on(&a, &home, "alice", &["unclaim", &x]).ok();
    env.bd_on(&b, &home, "bob", &["claim", &x]).ok();
    env.bd_on(&a, &home, "alice", &["sync"]).ok();
    env.bd_on(&b, &home, "bob", &["sync"]).ok();
    env.bd_on(&a, &home, "alice", &["sync"]).ok();
    assert_eq!(issues(&a), issues(&b), "the clones converge byte for byte");
    for ws in [&a, &b] {
        let r = record(ws, &x);
        assert_valid(&r);
        assert_eq!(text(&r, "status"), "in_progress", "{r}");
        assert_eq!(text(&r, "assignee"), "bob", "{r}");
        let shown = show(&env, ws, &home, "alice", &x);
        assert_eq!(text(&shown, "status"), "in_progress", "{shown}");
        assert_eq!(text(&shown, "assignee"), "bob", "{shown}");
        let ready = env
            .bd_on(ws, &home, "carol", &["--json", "ready", "--limit", "0"])
            .ok();
        let ready: Value = serde_json::from_str(&ready.stdout).unwrap();
        assert!(
            !ready
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["id"].as_str() == Some(x.as_str())),
            "ready does not offer bob's claim: {ready}"
        );
        // Nobody else can take it.
        let r = env.bd_on(ws, &home, "carol", &["claim", &x]);
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(r.stderr.contains("bob"), "{}", r.stderr);
    }
}

/// Item 19, the other way round: a claim made in a clone that had not seen a
/// close loses the merge (the close it never saw wins the state). `bd sync`
/// says so, and the ledger follows the merge: the issue is closed, held by
/// no one, on the claimer's machine too.
#[test]
fn item_19_a_claim_lost_to_an_unseen_close_is_dropped_from_the_ledger() {
    let (env, ids) = TestEnvironment::with_remote(1, "2");
    let x = ids[0].clone();
    let (ha, hb) = (env.machine_home("a"), env.machine_home("b"));
    let (a, b) = (env.repo.clone(), env.clone_repo("b"));
    env.bd_on(&a, &ha, "alice", &["close", &x]).ok();
    env.bd_on(&a, &ha, "alice", &["sync"]).ok();
    env.bd_on(&b, &hb, "carol", &["claim", &x]).ok();
    let r = env.bd_on(&b, &hb, "carol", &["sync"]).ok();
    assert!(
        r.stderr.contains(&x) && r.stderr.to_lowercase().contains("lost"),
        "sync reports the claim lost: {}",
        r.stderr
    );
    let rec = record(&b, &x);
    assert_valid(&rec);
    assert_eq!(text(&rec, "status"), "closed", "{rec}");
    let shown = show(&env, &b, &hb, "carol", &x);
    assert_eq!(text(&shown, "status"), "closed", "{shown}");
    assert_ne!(
        shown["effective"]["state"].as_str(),
        Some("held"),
        "the ledger no longer holds the lost claim: {shown}"
    );
    let r = env.bd_on(&b, &hb, "dave", &["claim", &x]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(!r.stderr.contains("held by carol"), "{}", r.stderr);
}

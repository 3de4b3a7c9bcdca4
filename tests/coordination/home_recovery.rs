//! A corrupt, deleted or unwritable BD_HOME.

use super::*;

// ---------------------------------------------------------------------------
// 7. Robustness: corrupt ledger, deleted BD_HOME, unwritable BD_HOME
// ---------------------------------------------------------------------------

#[test]
fn corrupt_ledger_is_moved_aside_and_claims_still_serialize() {
    let m = Arc::new(Machine::new(4));
    m.bd(&m.b, "bob", &["claim", &m.ids[0]]).ok();
    let path = m.project_dir().join("ledger.json");
    std::fs::write(&path, b"\x00garbage{{{ not json").unwrap();

    let r = m.bd(&m.a, "alice", &["claim", &m.ids[1]]).ok();
    assert!(claimed(&r, &m.ids[1]), "{r:?}");
    assert!(
        r.stderr.contains("warning") && r.stderr.contains("ledger"),
        "a warning about the ledger: {}",
        r.stderr
    );
    let aside: Vec<PathBuf> = files_under(&m.project_dir())
        .into_iter()
        .filter(|f| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ledger.json.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "the corrupt ledger moved aside: {aside:?}");
    assert_eq!(
        std::fs::read(&aside[0]).unwrap(),
        b"\x00garbage{{{ not json",
        "kept verbatim"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .expect("a new, valid ledger");
    assert!(v["entries"].is_array());
    // The new claim is recorded and seen elsewhere.
    assert_refused_by(
        &m.bd(&m.wt, "walt", &["claim", &m.ids[1]]),
        "alice",
        &m.canon(&m.a),
    );
    // Read commands keep working and print no further warning.
    let r = m.bd(&m.b, "bob", &["ready"]).ok();
    assert!(!r.stderr.contains("corrupt"), "{}", r.stderr);

    // Garbage again, then a race: every process finds it corrupt at once.
    std::fs::write(&path, b"]]]").unwrap();
    let ids = vec![m.ids[2].clone(), m.ids[3].clone()];
    let attempts = race(&m, &ids, 2, "c");
    one_winner_each(&attempts, &ids);
}

/// SPEC §7: "Missing or corrupt ledger/registry: rebuilt from this workspace,
/// `git worktree list`, and the JSONL of every registered workspace." A claim
/// made in B before the ledger was corrupted must still be honored in A.
#[test]
fn corrupt_ledger_is_rebuilt_from_registered_workspaces() {
    let m = Machine::new(2);
    m.bd(&m.b, "bob", &["claim", &m.ids[0]]).ok();
    m.bd(&m.wt, "walt", &["claim", &m.ids[1]]).ok();
    std::fs::write(m.project_dir().join("ledger.json"), b"garbage").unwrap();
    assert_refused_by(
        &m.bd(&m.a, "alice", &["claim", &m.ids[0]]),
        "bob",
        &m.canon(&m.b),
    );
    assert_refused_by(
        &m.bd(&m.a, "alice", &["claim", &m.ids[1]]),
        "walt",
        &m.canon(&m.wt),
    );
}

#[test]
fn deleted_bd_home_is_recreated_by_the_next_command() {
    let m = Machine::new(3);
    m.bd(&m.b, "bob", &["claim", &m.ids[0]]).ok();
    std::fs::remove_dir_all(m.home()).unwrap();

    // Known limit: claims recorded only in the deleted ledger and held in a
    // clone that has not run a command since (here bob's claim of ids[0] in B)
    // are invisible to the other workspaces until that clone runs a command
    // (which registers it again, so its JSONL feeds the rebuilt ledger). A
    // worktree of the current workspace is found through `git worktree list`.
    let r = m.bd(&m.a, "alice", &["claim", &m.ids[1]]).ok();
    assert!(claimed(&r, &m.ids[1]), "{r:?}");
    assert!(m.home().is_dir(), "BD_HOME recreated");
    assert!(m.project_dir().join("ledger.json").is_file());
    // New claims serialize again through the new ledger.
    assert_refused_by(
        &m.bd(&m.b, "bob", &["claim", &m.ids[1]]),
        "alice",
        &m.canon(&m.a),
    );
    assert_refused_by(
        &m.bd(&m.wt, "walt", &["claim", &m.ids[1]]),
        "alice",
        &m.canon(&m.a),
    );
    assert!(!ready(&m, &m.wt, "walt").contains(&m.ids[1]));
    m.bd(&m.wt, "walt", &["claim", &m.ids[2]]).ok();
    assert_refused_by(
        &m.bd(&m.b, "bob", &["claim", &m.ids[2]]),
        "walt",
        &m.canon(&m.wt),
    );
}

/// The other half of the known limit above: once B has run a command again,
/// its claim is visible to A (SPEC §7 rebuild from registered workspaces).
#[test]
fn deleted_bd_home_claims_reappear_once_the_holder_runs_a_command() {
    let m = Machine::new(2);
    m.bd(&m.b, "bob", &["claim", &m.ids[0]]).ok();
    m.bd(&m.a, "alice", &["claim", &m.ids[1]]).ok();
    std::fs::remove_dir_all(m.home()).unwrap();
    m.bd(&m.b, "bob", &["ready"]).ok();
    assert_refused_by(
        &m.bd(&m.wt, "walt", &["claim", &m.ids[0]]),
        "bob",
        &m.canon(&m.b),
    );
    // A's own claim: A is this worktree's main workspace (`git worktree list`).
    assert_refused_by(
        &m.bd(&m.wt, "walt", &["claim", &m.ids[1]]),
        "alice",
        &m.canon(&m.a),
    );
}

#[test]
fn unwritable_bd_home_fails_clearly_unless_coordination_is_workspace() {
    let env = TestEnvironment::new();
    let id = env.create("work", &[]);
    let bad = [("BD_HOME", "/dev/null/x")];

    let r = env.bd_env(&["claim", &id], &bad);
    assert_ne!(r.code, 0, "claim without a usable home fails: {r:?}");
    assert!(
        r.stderr.contains("BD_HOME"),
        "the error mentions BD_HOME: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("coordination"),
        "and the workspace-only way out: {}",
        r.stderr
    );
    let rec = env.record(&id);
    assert_eq!(status_of(&rec), "open", "nothing claimed");
    // Read commands still work (with at most a warning).
    let r = env.bd_env(&["--json", "ready"], &bad).ok();
    assert!(ids_of(&r.json()).contains(&id));

    env.bd_env(&["config", "set", "coordination", "workspace"], &bad)
        .ok();
    let r = env.bd_env(&["claim", &id], &bad).ok();
    assert!(claimed(&r, &id), "{r:?}");
    let rec = env.record(&id);
    assert_eq!(
        (status_of(&rec), assignee_of(&rec)),
        ("in_progress", env.actor.as_str())
    );
    // Workspace-only: no project home is written, even with a good BD_HOME.
    let id2 = env.create("more", &[]);
    let snapshot = |home: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        files_under(home)
            .into_iter()
            .map(|f| {
                let bytes = std::fs::read(&f).unwrap_or_default();
                (f, bytes)
            })
            .collect()
    };
    let before = snapshot(&env.home);
    env.bd(&["claim", &id2]).ok();
    env.bd(&["close", &id2]).ok();
    assert!(
        snapshot(&env.home) == before,
        "coordination = workspace writes nothing in the project home"
    );
    // Agents need the home: a clear refusal, not a crash.
    let r = env.bd(&["agents"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("workspace"), "{}", r.stderr);
}

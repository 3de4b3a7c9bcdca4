//! Slung work, hooks, convoys.

use super::*;

// ---------------------------------------------------------------------------
// Hooks: sling in one workspace, seen by the agent in another at once; a new
// process (after a crash) still sees it; hook files of two clones merge.
// ---------------------------------------------------------------------------

#[test]
fn slung_work_is_seen_in_other_workspaces_and_survives_restarts() {
    let m = Machine::new(3);
    let id = m.ids[1].clone();
    m.bd(
        &m.a,
        "mayor",
        &["sling", &id, "worker-1", "--note", "start here"],
    )
    .ok();
    let hook: Value = serde_json::from_str(
        &std::fs::read_to_string(m.a.join(".beads/hooks/worker-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(hook["items"], serde_json::json!([id]));
    assert_eq!(hook["attached_by"], "mayor");
    // The agent works in B: its hook shows there at once (no push or pull).
    let h = m.json(&m.b, "worker-1", &["hook"]);
    assert_eq!(h["items"], serde_json::json!([id]));
    // A fresh process, as after a kill -9 and a restart, primes with the hook.
    let p = m.json(&m.b, "worker-1", &["prime"]);
    assert_eq!(p["hook"][0]["id"], id.as_str());
    let r = m.bd(&m.b, "worker-1", &["prime"]).ok();
    let text = &r.stdout;
    crate::assert_human!(m.env, "prime_with_a_hook", r.transcript());
    assert!(
        text.len() <= 1536,
        "prime is at most 1.5 KB: {} bytes",
        text.len()
    );
    // Another agent cannot take it; the hooked agent can claim it.
    let r = m.bd(&m.wt, "worker-2", &["claim", &id]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("worker-1"), "{}", r.stderr);
    assert!(!ready(&m, &m.b, "worker-2").contains(&id));
    m.bd(&m.b, "worker-1", &["claim", &id]).ok();
    assert_eq!(
        m.json(&m.b, "worker-1", &["hook"])["items"],
        serde_json::json!([]),
        "a claimed item leaves the hook"
    );
}

#[test]
fn unhook_returns_the_work_and_hook_files_merge_as_sets() {
    let m = Machine::new(3);
    let (x, y) = (m.ids[1].clone(), m.ids[2].clone());
    m.bd(&m.a, "mayor", &["sling", &x, "worker-1"]).ok();
    m.bd(&m.a, "mayor", &["sling", &x, "worker-1"]).ok(); // nothing changed
    m.bd(&m.a, "worker-1", &["unhook", &x]).ok();
    assert_eq!(status_of(&records(&m.a)[&x]), "open");
    assert!(!m.a.join(".beads/hooks/worker-1.json").exists());
    let r = m.bd(&m.a, "worker-1", &["unhook", &x]);
    assert_eq!(r.code, 1, "removing what is not there: {r:?}");
    // Two clones sling different work to the same agent; after the sync the
    // hook file holds both, byte-identical in both clones.
    m.bd(&m.a, "mayor", &["sling", &x, "worker-1"]).ok();
    m.bd(
        &m.b,
        "mayor",
        &["--actor", "mayor", "sling", &y, "worker-1"],
    )
    .ok();
    sync_all(&m);
    let fa = std::fs::read(m.a.join(".beads/hooks/worker-1.json")).unwrap();
    let fb = std::fs::read(m.b.join(".beads/hooks/worker-1.json")).unwrap();
    let h: Value = serde_json::from_slice(&fa).unwrap();
    let mut want = vec![x.clone(), y.clone()];
    want.sort();
    assert_eq!(h["items"], serde_json::json!(want));
    assert_eq!(fa, fb, "both clones hold the same hook file");
    assert!(!String::from_utf8_lossy(&fa).contains("<<<<<<<"));
}

// ---------------------------------------------------------------------------
// Convoys: progress, landing with the last close, reopening.
// ---------------------------------------------------------------------------

#[test]
fn convoy_progress_landing_and_reopening() {
    let env = TestEnvironment::new();
    let a = env.create("a", &[]);
    let b = env.create("b", &[]);
    let c = env
        .bd(&["convoy", "create", "Release 1", &a, &b])
        .ok()
        .stdout
        .trim()
        .to_string();
    let s = env.json(&["convoy", "status", &c]);
    assert_eq!(
        (s["tracked"].as_u64(), s["done"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(s["by_status"]["open"]["percent"], 100.0);
    // A convoy is never ready work, and tracking does not block.
    assert!(!ids_of(&env.json(&["ready", "--limit", "0"])).contains(&c));
    assert!(ids_of(&env.json(&["ready", "--limit", "0"])).contains(&a));
    env.bd(&["close", &a]).ok();
    let s = env.json(&["convoy", "status", &c]);
    assert_eq!(s["percent_done"], 50.0);
    assert_eq!(status_of(&env.record(&c)), "open");
    // The last close lands the convoy in the same write: one command, and the
    // file never shows the item closed with the convoy open.
    let before = env.issues_text();
    let r = env.bd(&["close", &b]).ok();
    assert!(r.stderr.contains("landed"), "{}", r.stderr);
    assert_eq!(status_of(&env.record(&c)), "closed");
    assert_ne!(before, env.issues_text());
    let list = env.json(&["convoy", "list"]);
    assert_eq!(list[0]["percent_done"], 100.0);
    // An open item added reopens it; a closed one does not.
    let d = env.create("d", &[]);
    env.bd(&["convoy", "add", &c, &d]).ok();
    assert_eq!(status_of(&env.record(&c)), "open");
    let r = env.bd(&["convoy", "add", &c, &d]).ok();
    assert!(r.stderr.contains("Nothing changed"), "{}", r.stderr);
    let r = env.bd(&["convoy", "status", &a]);
    assert_eq!(r.code, 1, "not a convoy: {r:?}");
}

// ---------------------------------------------------------------------------
// Deliveries materialize on the agent's next write; the ledger is pruned once
// every workspace shows its entries; a watch loop stops on SIGTERM/SIGINT.
// ---------------------------------------------------------------------------

#[test]
fn the_agents_next_write_materializes_deliveries_into_its_hook_file() {
    let m = Machine::new(3);
    let id = m.ids[1].clone();
    m.bd(&m.a, "mayor", &["sling", &id, "worker-1"]).ok();
    let deliveries = m.project_dir().join("deliveries/worker-1.json");
    assert!(deliveries.exists(), "the sling left a delivery");
    let in_b = m.b.join(".beads/hooks/worker-1.json");
    assert!(!in_b.exists());
    // A read in B does not materialize anything.
    m.json(&m.b, "worker-1", &["hook"]);
    assert!(!in_b.exists() && deliveries.exists());
    // The agent's next write there does, and the delivery is acknowledged.
    m.bd(&m.b, "worker-1", &["create", "a note to self"]).ok();
    let h: Value = serde_json::from_str(&std::fs::read_to_string(&in_b).unwrap()).unwrap();
    assert_eq!(h["items"], serde_json::json!([id]));
    assert_eq!(h["attached_by"], "mayor");
    assert!(!deliveries.exists(), "the delivery is acknowledged");
    // The effective hook is unchanged by materializing.
    assert_eq!(
        m.json(&m.wt, "worker-1", &["hook"])["items"],
        serde_json::json!([id])
    );
}

#[test]
fn hook_and_unhook_refuse_names_that_cannot_be_agents() {
    let m = Machine::new(1);
    for bad in ["", "a@b", " pad", "x\ny"] {
        let r = m.bd(&m.a, "w", &["--json", "hook", bad]);
        assert_eq!(r.code, 1, "hook {bad:?}: {r:?}");
        assert_eq!(r.json()["code"], "invalid");
        let r = m.bd(&m.a, "w", &["--json", "unhook", "--agent", bad]);
        assert_eq!(r.code, 1, "unhook {bad:?}: {r:?}");
    }
}

#[test]
fn a_hook_survives_kill_9_of_the_agents_session() {
    use std::os::unix::process::CommandExt;
    let m = Machine::new(3);
    let id = m.ids[1].clone();
    // The agent's session in B: a loop of bd commands (heartbeats and reads,
    // each a write or a read of the home and the tracker), killed with
    // SIGKILL at arbitrary moments, some mid-command.
    // One shell runs bd again and again, which one BD_NOW cannot serve (the
    // harness ticks it per run): this session keeps the real clock and so
    // sets its environment by hand.
    let session = |m: &Machine| {
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while true; do '{bd}' heartbeat --note working >/dev/null 2>&1; '{bd}' hook >/dev/null 2>&1; '{bd}' create 'note from the session' >/dev/null 2>&1; done",
                bd = common::BD
            ))
            .current_dir(&m.b)
            .env("BD_HOME", m.home())
            .env("HOME", m.home())
            .env("BD_ACTOR", "worker")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            // Its own process group, so the kill reaches the bd it runs.
            .process_group(0)
            .spawn()
            .unwrap()
    };
    for round in 0..4u64 {
        let mut s = session(&m);
        if round == 1 {
            m.bd(&m.a, "mayor", &["sling", &id, "worker"]).ok();
        }
        std::thread::sleep(std::time::Duration::from_millis(150 + round * 37));
        let group = format!("-{}", s.id());
        assert!(
            Command::new("kill")
                .args(["-9", "--", &group])
                .status()
                .unwrap()
                .success()
        );
        let _ = s.wait();
    }
    // The restarted agent primes with its hook; every file is whole.
    let p = m.json(&m.b, "worker", &["prime"]);
    assert_eq!(p["hook"][0]["id"], id.as_str(), "{p}");
    for ws in [&m.a, &m.b] {
        records(ws);
    }
    let hook = m.b.join(".beads/hooks/worker.json");
    if hook.exists() {
        let h: Value = serde_json::from_str(&std::fs::read_to_string(&hook).unwrap()).unwrap();
        assert_eq!(h["items"], serde_json::json!([id]));
    }
    for f in files_under(&m.project_dir()) {
        if f.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(
                serde_json::from_str::<Value>(&text).is_ok(),
                "{} is whole: {text}",
                f.display()
            );
        }
    }
    m.bd(&m.b, "worker", &["claim", &id]).ok();
}

/// With `auto_commit = on`, the hook file an agent's write brings up to
/// date (work slung to it from a sibling worktree) is part of that
/// command's one commit: nothing is left pending.
#[test]
fn a_materialized_hook_file_rides_in_the_commands_commit() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "slung next door", &[]);
    let y = m.create(&m.a, "something else", &[]);
    m.bd(&m.a, "mayor", &["config", "set", "auto_commit", "on"])
        .ok();
    m.bd(&m.a, "mayor", &["commit"]).ok();
    let wt = m.env.worktree(&m.a, "wt-hook", "wt-hook");
    m.bd(&m.a, "bob", &["agent", "register", "bob"]).ok();
    m.bd(&wt, "mayor", &["sling", &x, "bob"]).ok();
    m.bd(&m.a, "bob", &["comment", &y, "on it"]).ok();
    assert!(m.a.join(".beads/hooks/bob.json").exists());
    let status = common::git(&m.a, &["status", "--porcelain", "--", ".beads"]);
    assert_eq!(status, "", "the hook file is committed with the comment");
    let files = common::git(&m.a, &["show", "--name-only", "--format=", "HEAD"]);
    assert!(files.contains(".beads/hooks/bob.json"), "{files}");
}

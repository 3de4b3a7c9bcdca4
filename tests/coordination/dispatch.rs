//! `bd dispatch`.

use super::*;

// ---------------------------------------------------------------------------
// Dispatch: fairness, per-agent limits, no item twice, lapsed claims recovered.
// ---------------------------------------------------------------------------

#[test]
fn dispatch_is_fair_limited_and_recovers_lapsed_claims() {
    let env = TestEnvironment::new();
    let t0 = "2030-01-01T00:00:00Z";
    let at = |min: i64| format!("2030-01-01T00:{min:02}:00Z");
    let mut ids = Vec::new();
    for i in 0..50 {
        let p = (i % 5).to_string();
        let r = env
            .bd_at(t0, &["create", &format!("work {i}"), "-p", &p])
            .ok();
        ids.push(r.stdout.trim().to_string());
    }
    for a in 0..5 {
        env.bd_at(
            t0,
            &[
                "agent",
                "register",
                &format!("agent-{a}"),
                "--kind",
                "claude",
            ],
        )
        .ok();
    }
    // Dry run plans without writing.
    let before = env.issues_text();
    let plan = env
        .bd_at(
            &at(1),
            &["--json", "dispatch", "--dry-run", "--per-agent", "2"],
        )
        .ok()
        .json();
    assert_eq!(plan["slung"].as_array().unwrap().len(), 10);
    assert_eq!(env.issues_text(), before, "a dry run writes nothing");
    // One round: 5 agents x 2, the highest priorities first, evenly spread.
    let plan = env
        .bd_at(&at(1), &["--json", "dispatch", "--per-agent", "2"])
        .ok()
        .json();
    let slung = plan["slung"].as_array().unwrap();
    assert_eq!(slung.len(), 10);
    assert_eq!(plan["left"], 40);
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for s in slung {
        let (id, agent) = (s[0].as_str().unwrap(), s[1].as_str().unwrap());
        assert!(seen.insert(id.to_string()), "{id} slung twice");
        *per.entry(agent.to_string()).or_default() += 1;
        let rec = env.record(id);
        assert_eq!(status_of(&rec), "hooked");
        assert_eq!(assignee_of(&rec), agent);
        assert_eq!(rec["priority"], 0, "priority order: P0 first");
    }
    assert_eq!(per.len(), 5);
    assert!(per.values().all(|n| *n == 2), "{per:?}");
    // A second round at the limit slings nothing more.
    let plan = env
        .bd_at(&at(2), &["--json", "dispatch", "--per-agent", "2"])
        .ok()
        .json();
    assert_eq!(plan["slung"].as_array().unwrap().len(), 0);
    // agent-0 claims one of its items, then goes silent past the lease; the
    // others keep heart-beating. Dispatch recovers the claim and slings it on.
    let mine = slung.iter().find(|s| s[1] == "agent-0").unwrap()[0]
        .as_str()
        .unwrap()
        .to_string();
    env.bd_at(&at(3), &["--actor", "agent-0", "claim", &mine])
        .ok();
    env.bd_env(&["config", "set", "lease", "15m"], &[]).ok();
    for a in 1..5 {
        env.bd_at(&at(25), &["--actor", &format!("agent-{a}"), "heartbeat"])
            .ok();
    }
    env.bd_at(
        &at(25),
        &[
            "--actor", "agent-9", "agent", "register", "--kind", "claude",
        ],
    )
    .ok();
    let shown = env.bd_at(&at(26), &["--json", "show", &mine]).ok().json();
    assert_eq!(
        shown["lapsed"], true,
        "show reports the lapsed claim: {shown}"
    );
    let explained = env
        .bd_at(&at(26), &["--json", "ready", "--explain"])
        .ok()
        .json();
    assert_eq!(explained["lapsed"][0]["id"], mine.as_str(), "{explained}");
    assert_eq!(explained["lapsed"][0]["holder"], "agent-0");
    assert!(explained["ready"].is_array());
    let shown = env.bd_at(&at(4), &["--json", "show", &mine]).ok().json();
    assert_eq!(shown["lapsed"], false);
    let plan = env
        .bd_at(&at(26), &["--json", "dispatch", "--per-agent", "3"])
        .ok()
        .json();
    let recovered = plan["recovered"].as_array().unwrap();
    assert_eq!(recovered.len(), 1, "{plan}");
    assert_eq!(recovered[0][0], mine.as_str());
    assert_eq!(recovered[0][1], "agent-0");
    assert!(
        plan["slung"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s[1] != "agent-0"),
        "no work to the silent agent: {plan}"
    );
    let rec = env.record(&mine);
    assert_ne!(assignee_of(&rec), "agent-0");
    assert!(rec["comments"].to_string().contains("recovered"), "{rec}");
    // The silent agent comes back and is told why.
    let r = env.bd_at(&at(27), &["--actor", "agent-0", "close", &mine]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("recovered"), "{}", r.stderr);
}

#[test]
fn a_dispatch_watch_loop_stops_cleanly_on_sigterm_and_sigint() {
    let m = Machine::new(2);
    for sig in ["-TERM", "-INT"] {
        let child = m
            .cmd(&m.a, "mayor", &["dispatch", "--watch", "--interval", "30"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Let it finish a round and go to sleep.
        std::thread::sleep(std::time::Duration::from_millis(700));
        let k = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(k.success());
        let started = std::time::Instant::now();
        let out = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "it did not wait out the interval"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{sig}: {stderr}");
        assert!(stderr.contains("Stopped after 1 round(s)"), "{stderr}");
    }
    // Files are whole: the tracker parses, and a normal command works.
    m.json(&m.a, "mayor", &["list"]);
}

/// Review 7, break 4: with `auto_commit = on`, the first round of a watch
/// loop ran in the command's own session, finished only when the loop
/// ended: its slings stayed uncommitted while it ran (and for good when it
/// was killed). Each round is committed as it ends.
#[test]
fn a_dispatch_watch_commits_each_round_as_it_goes() {
    let m = Machine::new(2);
    m.bd(&m.a, "mayor", &["config", "set", "auto_commit", "on"])
        .ok();
    m.bd(&m.a, "mayor", &["commit"]).ok();
    m.bd(&m.a, "bob", &["agent", "register", "bob"]).ok();
    m.bd(&m.a, "mayor", &["commit"]).ok();
    let before = common::git(&m.a, &["rev-list", "--count", "HEAD"]);
    let mut child = m
        .cmd(&m.a, "mayor", &["dispatch", "--watch", "--interval", "30"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The first round slings and goes to sleep; then it is killed hard.
    std::thread::sleep(std::time::Duration::from_millis(900));
    child.kill().unwrap();
    child.wait().unwrap();
    let after = common::git(&m.a, &["rev-list", "--count", "HEAD"]);
    assert_ne!(before, after, "the first round was committed");
    let status = common::git(&m.a, &["status", "--porcelain", "--", ".beads"]);
    assert_eq!(status, "", "nothing of the round is left pending");
}

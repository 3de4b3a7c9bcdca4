//! Agents: registration, heartbeats, presence, names, prime.

use super::*;

#[test]
fn agents_register_heartbeat_and_presence_states() {
    let m = Machine::new(3);
    m.bd(&m.a, "x", &["config", "set", "lease", "15m"]).ok();
    for ws in [&m.b, &m.wt] {
        m.bd(ws, "x", &["config", "set", "lease", "15m"]).ok();
    }

    let t0 = at_min(0);
    let r = m
        .bd_at(
            &m.a,
            Some("claude-1"),
            &t0,
            &["agent", "register", "claude-1", "--kind", "claude"],
        )
        .ok();
    assert!(r.stderr.contains("claude-1"), "{r:?}");
    let first = agent_file(&m, "claude-1");
    assert_eq!(first["kind"], "claude");
    // Registering again (later) is idempotent: registered_at stays.
    let t1 = at_min(1);
    m.bd_at(
        &m.a,
        Some("claude-1"),
        &t1,
        &["agent", "register", "claude-1", "--kind", "claude"],
    )
    .ok();
    let second = agent_file(&m, "claude-1");
    assert_eq!(second["registered_at"], first["registered_at"]);
    assert_eq!(second["kind"], "claude");
    let r = m.bd_at(&m.a, None, &t1, &["--json", "agents"]).ok().json();
    let named = r
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["name"] == "claude-1")
        .count();
    assert_eq!(named, 1, "one agent after two registrations: {r}");

    // Heartbeat with a note: online, note shown.
    let t2 = at_min(2);
    m.bd_at(
        &m.a,
        Some("claude-1"),
        &t2,
        &["heartbeat", "--note", "working on X"],
    )
    .ok();
    let agents = agents_at(&m, &m.a, &t2);
    let c = &agents["claude-1"];
    assert_eq!(c["state"], "online", "{c}");
    assert_eq!(c["note"], "working on X", "{c}");
    assert_eq!(c["kind"], "claude", "{c}");
    assert_eq!(
        time::parse(c["last_heartbeat"].as_str().unwrap()),
        time::parse(&t2)
    );
    for k in [
        "name",
        "kind",
        "state",
        "workspace",
        "last_heartbeat",
        "note",
        "claims",
        "hook",
    ] {
        assert!(c.get(k).is_some(), "agents --json has {k}: {c}");
    }
    // Seen from another workspace, the same.
    assert_eq!(agents_at(&m, &m.b, &t2)["claude-1"]["state"], "online");

    // Lease 15m: online < 5m, stale < 15m, offline after.
    assert_eq!(
        agents_at(&m, &m.a, &at_min(2 + 4))["claude-1"]["state"],
        "online"
    );
    assert_eq!(
        agents_at(&m, &m.a, &at_min(2 + 10))["claude-1"]["state"],
        "stale"
    );
    assert_eq!(
        agents_at(&m, &m.wt, &at_min(2 + 20))["claude-1"]["state"],
        "offline"
    );
    // Looking does not refresh: still offline.
    assert_eq!(
        agents_at(&m, &m.a, &at_min(2 + 20))["claude-1"]["state"],
        "offline"
    );

    // Any command with the explicit actor refreshes the heartbeat...
    let t30 = at_min(30);
    m.bd_at(&m.a, Some("claude-1"), &t30, &["list"]).ok();
    let c = &agents_at(&m, &m.a, &t30)["claude-1"];
    assert_eq!(c["state"], "online", "{c}");
    assert_eq!(
        c["note"], "working on X",
        "a plain heartbeat keeps the note: {c}"
    );
    // ... throttled to once per 30 s ...
    let t30_10s = time::format(time::parse(&t30).unwrap() + 10_000_000_000);
    m.bd_at(&m.a, Some("claude-1"), &t30_10s, &["list"]).ok();
    assert_eq!(
        time::parse(
            agent_file(&m, "claude-1")["last_heartbeat"]
                .as_str()
                .unwrap()
        ),
        time::parse(&t30),
        "a heartbeat 10 s after the last one is not written"
    );
    let t31 = at_min(31);
    m.bd_at(&m.a, Some("claude-1"), &t31, &["list"]).ok();
    assert_eq!(
        time::parse(
            agent_file(&m, "claude-1")["last_heartbeat"]
                .as_str()
                .unwrap()
        ),
        time::parse(&t31)
    );
    // ... and a command without an explicit actor refreshes nobody.
    m.bd_at(&m.a, None, &at_min(50), &["list"]).ok();
    assert_eq!(
        agents_at(&m, &m.a, &at_min(50))["claude-1"]["state"],
        "offline"
    );

    // Claims across workspaces: one in B, one in the worktree, both listed.
    let t60 = at_min(60);
    m.bd_at(&m.b, Some("claude-1"), &t60, &["claim", &m.ids[0]])
        .ok();
    m.bd_at(&m.wt, Some("claude-1"), &t60, &["claim", &m.ids[1]])
        .ok();
    m.bd_at(&m.b, Some("other"), &t60, &["claim", &m.ids[2]])
        .ok();
    for ws in [&m.a, &m.b, &m.wt] {
        let agents = agents_at(&m, ws, &t60);
        let claims: BTreeSet<String> = agents["claude-1"]["claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            claims,
            BTreeSet::from([m.ids[0].clone(), m.ids[1].clone()]),
            "claims of claude-1 seen from {}",
            ws.display()
        );
        assert_eq!(agents["other"]["claims"], serde_json::json!([m.ids[2]]));
    }
    // Released claims drop out of the column.
    m.bd_at(&m.b, Some("claude-1"), &t60, &["unclaim", &m.ids[0]])
        .ok();
    assert_eq!(
        agents_at(&m, &m.a, &t60)["claude-1"]["claims"],
        serde_json::json!([m.ids[1]])
    );
}

#[test]
fn agent_names_keep_their_spelling_refuse_lookalikes_and_hostile_names_stay_home() {
    let m = Machine::new(1);
    m.bd(
        &m.a,
        "reg",
        &["agent", "register", "Dave", "--kind", "human"],
    )
    .ok();
    // `dave` folds like `Dave` (issue 9 item 4): refused, not a second agent.
    let r = m.bd(
        &m.a,
        "reg",
        &["agent", "register", "dave", "--kind", "claude"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("too like the registered agent \"Dave\""),
        "{}",
        r.stderr
    );
    let agents = m.json(&m.a, "reg", &["agents"]);
    let kinds: BTreeMap<String, String> = agents
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds.get("Dave").map(String::as_str),
        Some("human"),
        "{agents}"
    );
    assert_eq!(kinds.get("dave"), None, "{agents}");

    let agents_dir = m.project_dir().join("agents");
    for name in [
        "../x",
        "../../../../x",
        "..",
        ".",
        "a/../../x",
        "a\\..\\x",
        "/tmp/x",
        " x",
        "",
    ] {
        let r = m.bd(
            &m.a,
            "reg",
            &["agent", "register", name, "--kind", "claude"],
        );
        match r.code {
            0 => {
                // Stored: in a file of its own directly in agents/.
                let stored = std::fs::read_dir(&agents_dir).unwrap().flatten().any(|e| {
                    e.path().extension().is_some_and(|x| x == "json")
                        && std::fs::read_to_string(e.path())
                            .ok()
                            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                            .is_some_and(|v| v["name"] == name)
                });
                assert!(stored, "{name:?} registered, so stored in agents/: {r:?}");
            }
            _ => {
                assert!(
                    r.stderr.contains("agent name"),
                    "refusal of {name:?} is clear: {r:?}"
                );
                assert_ne!(r.code, 3, "{r:?}");
            }
        }
    }
    // Every file in BD_HOME is in the project's folder; agent files directly in agents/.
    let project = m.project_dir();
    for f in files_under(m.home()) {
        assert!(
            f.starts_with(&project),
            "outside the project home: {}",
            f.display()
        );
        if f.starts_with(&agents_dir) {
            assert_eq!(f.parent(), Some(agents_dir.as_path()), "{}", f.display());
        }
    }
    // And nothing named x.* appeared anywhere in the temp dir but agents/.
    for f in files_under(m.env.tmp.path()) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("x.") || name == "x" {
            panic!("hostile name escaped: {}", f.display());
        }
    }
}

/// An agent that registered successfully is listed by `bd agents` (names are
/// escaped into file names, so a name starting with `.` gives a file name
/// starting with `.` too; it must not be mistaken for a temp file).
#[test]
fn every_registered_agent_is_listed() {
    let m = Machine::new(1);
    for name in ["../x", ".hidden", "dave/vc"] {
        let r = m.bd(&m.a, "x", &["agent", "register", name, "--kind", "claude"]);
        if r.code != 0 {
            continue; // refusing is fine; registering and then hiding is not
        }
        let agents = m.json(&m.a, "x", &["agents"]);
        assert!(
            agents.as_array().unwrap().iter().any(|a| a["name"] == name),
            "{name:?} was registered ({}), so `bd agents` lists it: {agents}",
            r.stderr.trim()
        );
    }
}

#[test]
fn prime_stays_under_1_5_kb_for_an_agent_holding_a_lot() {
    let m = Machine::new(14);
    m.bd(&m.a, "w", &["agent", "register"]).ok();
    m.bd(&m.a, "boss", &["agent", "register"]).ok();
    for id in &m.ids[1..8] {
        m.bd(&m.a, "boss", &["sling", id, "w"]).ok();
    }
    for id in &m.ids[8..12] {
        m.bd(&m.b, "w", &["claim", id]).ok();
    }
    for i in 0..6 {
        let subject = format!("a rather long subject line for message number {i} to see the cut");
        m.bd(&m.a, "boss", &["mail", "send", "--to", "w", "-s", &subject])
            .ok();
    }
    let r = m.bd(&m.a, "w", &["prime"]).ok();
    let text = &r.stdout;
    assert!(text.len() <= 1536, "{} bytes:\n{text}", text.len());
    crate::assert_human!(m.env, "prime_holding_a_lot", r.transcript());
    // The JSON has every item.
    let j = m.json(&m.a, "w", &["prime"]);
    assert_eq!(j["hook"].as_array().unwrap().len(), 7);
    assert_eq!(j["claims"].as_array().unwrap().len(), 4);
    assert_eq!(j["unread_mail"], 6);
}

//! The registry and presence.

use super::*;

// ---------------------------------------------------------------------------
// Registry

#[test]
fn registry_round_trip_and_idempotent_register() {
    let (tmp, home) = setup();
    let ws = workspace(tmp.path(), "a");
    let (reg, warning) = registry::register(&home, &ws, Some("main"), T0).unwrap();
    assert!(warning.is_none());
    let key = ws.to_str().unwrap();
    let e = &reg.workspaces[key];
    assert_eq!(e.root, ws);
    assert_eq!(e.registered_at, T0);
    assert_eq!(e.last_seen, T0);
    assert_eq!(e.branch.as_deref(), Some("main"));
    assert_eq!(registry::load(&home), (reg.clone(), None));

    // Within a minute: no write (last_seen stays), however the path is spelled.
    let spelled = tmp.path().join("ws/./a/../a");
    let (again, _) = registry::register(&home, &spelled, Some("main"), &at(59 * SEC)).unwrap();
    assert_eq!(again, reg);
    assert_eq!(registry::load(&home).0.workspaces[key].last_seen, T0);

    // A minute later, or on a branch change: written, registered_at kept.
    let (later, _) = registry::register(&home, &ws, Some("main"), &at(60 * SEC)).unwrap();
    assert_eq!(later.workspaces[key].last_seen, at(60 * SEC));
    assert_eq!(later.workspaces[key].registered_at, T0);
    let (moved, _) = registry::register(&home, &ws, Some("topic"), &at(61 * SEC)).unwrap();
    assert_eq!(moved.workspaces[key].branch.as_deref(), Some("topic"));
    assert_eq!(registry::load(&home).0, moved);
    assert_eq!(moved.workspaces.len(), 1);
}

#[test]
fn registry_live_and_forget() {
    let (tmp, home) = setup();
    let a = workspace(tmp.path(), "a");
    let b = workspace(tmp.path(), "b");
    registry::register(&home, &a, None, T0).unwrap();
    registry::register(&home, &b, None, T0).unwrap();
    assert_eq!(registry::live(&home), vec![a.clone(), b.clone()]);

    fs::remove_dir_all(b.join(".beads")).unwrap();
    assert_eq!(registry::live(&home), vec![a.clone()]);
    assert_eq!(registry::load(&home).0.workspaces.len(), 2);

    // A deleted workspace is forgotten by the path as registered.
    fs::remove_dir_all(&b).unwrap();
    assert!(registry::forget(&home, &b).unwrap().0);
    assert!(!registry::forget(&home, &b).unwrap().0);
    assert!(
        registry::forget(&home, &tmp.path().join("ws/./a"))
            .unwrap()
            .0
    );
    assert!(registry::load(&home).0.workspaces.is_empty());
}

#[test]
fn registry_rejects_bad_input() {
    let (tmp, home) = setup();
    let ws = workspace(tmp.path(), "a");
    assert!(matches!(
        registry::register(&home, &ws, None, "yesterday"),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        registry::register(&home, &tmp.path().join("nope"), None, T0),
        Err(Error::Io { .. })
    ));
    assert!(!home.path("registry.json").exists());
}

// ---------------------------------------------------------------------------
// Presence

#[test]
fn presence_register_is_idempotent_and_keeps_registered_at() {
    let (tmp, home) = setup();
    let ws1 = tmp.path().join("one");
    let ws2 = tmp.path().join("two");
    let (a, w) = presence::register(&home, "claude-1", "claude", &ws1, T0).unwrap();
    assert!(w.is_none());
    assert_eq!(a.registered_at, T0);
    assert_eq!(a.last_heartbeat, T0);

    let (b, _) = presence::register(&home, "claude-1", "human", &ws2, &at(5 * SEC)).unwrap();
    assert_eq!(b.registered_at, T0);
    assert_eq!(b.kind, "human");
    assert_eq!(b.workspace, ws2);
    assert_eq!(b.last_heartbeat, at(5 * SEC));

    let (all, w) = presence::load(&home);
    assert!(w.is_none());
    assert_eq!(all.len(), 1);
    assert_eq!(all["claude-1"], b);
    assert_eq!(presence::find(&home, "claude-1"), (Some(b), None));
    assert_eq!(presence::find(&home, "nobody"), (None, None));
}

#[test]
fn heartbeat_notes_and_implicit_registration() {
    let (tmp, home) = setup();
    let ws = tmp.path().join("one");
    // Unknown agent: registered with kind "unknown" and the caller's workspace.
    let (a, _) = presence::heartbeat(&home, "ghost", &ws, None, T0).unwrap();
    assert_eq!(a.kind, "unknown");
    assert_eq!(a.workspace, ws);
    assert_eq!(a.registered_at, T0);
    assert_eq!(a.note, None);

    let (a, _) = presence::heartbeat(&home, "ghost", &ws, Some("on bd-1"), &at(SEC)).unwrap();
    assert_eq!(a.note.as_deref(), Some("on bd-1"));
    let (a, _) = presence::heartbeat(&home, "ghost", &ws, None, &at(2 * SEC)).unwrap();
    assert_eq!(a.note.as_deref(), Some("on bd-1"), "no note keeps the note");
    assert_eq!(a.last_heartbeat, at(2 * SEC));
    let (a, _) = presence::heartbeat(&home, "ghost", &ws, Some(""), &at(3 * SEC)).unwrap();
    assert_eq!(a.note, None, "an empty note clears it");

    // A later register keeps registered_at and sets the kind.
    let (a, _) = presence::register(&home, "ghost", "claude", &ws, &at(4 * SEC)).unwrap();
    assert_eq!((a.kind.as_str(), a.registered_at.as_str()), ("claude", T0));

    assert!(presence::forget(&home, "ghost").unwrap());
    assert!(!presence::forget(&home, "ghost").unwrap());
    assert!(presence::load(&home).0.is_empty());
}

#[test]
fn presence_states_at_the_lease_boundaries() {
    let (tmp, home) = setup();
    let (a, _) = presence::register(&home, "dave", "human", tmp.path(), T0).unwrap();
    let t0 = time::parse(T0).unwrap();
    let lease = 900; // 15 min: online below 300 s, stale below 900 s
    let st = |age_ns: i64| presence::state(&a, t0 + age_ns, lease);
    assert_eq!(st(0), AgentState::Online);
    assert_eq!(st(300 * SEC - 1), AgentState::Online);
    assert_eq!(st(300 * SEC), AgentState::Stale);
    assert_eq!(st(900 * SEC - 1), AgentState::Stale);
    assert_eq!(st(900 * SEC), AgentState::Offline);
    assert_eq!(st(-3600 * SEC), AgentState::Online, "clock skew");

    // A lease not divisible by three: the bound is exact, not rounded.
    let st10 = |age_ns: i64| presence::state(&a, t0 + age_ns, 10);
    assert_eq!(st10(3_333_333_333), AgentState::Online);
    assert_eq!(st10(3_333_333_334), AgentState::Stale);
    assert_eq!(st10(10 * SEC), AgentState::Offline);

    let mut garbled = a.clone();
    garbled.last_heartbeat = "soon".into();
    assert_eq!(presence::state(&garbled, t0, lease), AgentState::Offline);
    assert_eq!(AgentState::Stale.to_string(), "stale");
}

#[test]
fn hostile_agent_names_are_refused_and_nothing_escapes() {
    let (tmp, home) = setup();
    let ws = tmp.path().join("ws");
    let long = "x".repeat(101);
    for bad in [
        "..", ".", "", "a\\b", " dave", "dave ", "da\nve", "nul\0", &long,
    ] {
        let e = presence::register(&home, bad, "claude", &ws, T0).unwrap_err();
        assert!(matches!(e, Error::Invalid { .. }), "{bad:?}: {e:?}");
        assert!(!e.to_string().is_empty());
        let e = presence::heartbeat(&home, bad, &ws, None, T0).unwrap_err();
        assert!(matches!(e, Error::Invalid { .. }), "{bad:?}");
        let e = deliveries::deliver(&home, &delivery(bad, "bd-1", 1)).unwrap_err();
        assert!(matches!(e, Error::Invalid { .. }), "{bad:?}");
        assert_eq!(deliveries::pending_for(&home, bad), (vec![], None));
        assert_eq!(presence::find(&home, bad), (None, None));
    }
    // Too long once escaped: 100 upper-case letters are 300 bytes as a file name.
    let upper = "X".repeat(100);
    assert!(presence::register(&home, &upper, "claude", &ws, T0).is_err());
    assert!(presence::register(&home, &"x".repeat(100), "claude", &ws, T0).is_ok());
    assert!(presence::forget(&home, &"x".repeat(100)).unwrap());

    // Slashes are escaped, never path separators: `../x` is a file inside agents/.
    for name in ["../x", "a/b", "dave/vc"] {
        presence::register(&home, name, "claude", &ws, T0).unwrap();
        assert!(presence::find(&home, name).0.is_some(), "{name}");
        assert!(presence::forget(&home, name).unwrap());
    }

    // Percent names are distinct agents and files; names that fold alike
    // (case, NFKC: issue 9 item 4) are refused after the first.
    for name in ["Dave", "dave", "%44ave", "DAVE", "dä.ve_-1"] {
        let r = presence::register(&home, name, "human", &ws, T0);
        if matches!(name, "dave" | "DAVE") {
            assert!(matches!(r, Err(Error::Invalid { .. })), "{name}: {r:?}");
        } else {
            r.unwrap();
        }
        deliveries::deliver(&home, &delivery(name, "bd-1", 1)).unwrap();
    }
    let (all, w) = presence::load(&home);
    assert!(w.is_none(), "{w:?}");
    let names: Vec<&str> = all.keys().map(String::as_str).collect();
    assert_eq!(names, ["%44ave", "Dave", "dä.ve_-1"]);
    let mut stored: Vec<String> = fs::read_dir(home.path("agents"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        ["%2544ave.json", "%44ave.json", "d%C3%A4.ve_-1.json"]
    );
    // No two stored names collide on a case-insensitive file system.
    let folded: std::collections::HashSet<String> =
        stored.iter().map(|s| s.to_lowercase()).collect();
    assert_eq!(folded.len(), stored.len());
    assert_eq!(deliveries::load(&home).0.len(), 5);
    assert_eq!(deliveries::pending_for(&home, "Dave").0.len(), 1);
    assert_contained(tmp.path(), &home);
    assert!(!tmp.path().join("state/x").exists());
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn hostile_kinds_and_ledger_values_are_refused() {
    let (tmp, home) = setup();
    assert!(presence::register(&home, "dave", "", tmp.path(), T0).is_err());
    assert!(presence::register(&home, "dave", "cl\x1baude", tmp.path(), T0).is_err());
    assert!(presence::register(&home, "dave", "claude", tmp.path(), "now").is_err());
    for bad in [
        entry("", Event::Closed, T0, 1),
        entry("bd-\n1", Event::Closed, T0, 1),
        entry("bd-1", Event::Closed, "tuesday", 1),
    ] {
        assert!(matches!(
            ledger::record(&home, bad),
            Err(Error::Invalid { .. })
        ));
    }
    assert!(
        !home.path("ledger.json").exists(),
        "nothing changed, nothing written"
    );
    assert_contained(tmp.path(), &home);
}

//! Deliveries, and corrupt files moved aside.

use super::*;

// ---------------------------------------------------------------------------
// Deliveries

#[test]
fn deliveries_deliver_acknowledge_retract() {
    let (_tmp, home) = setup();
    assert_eq!(deliveries::pending_for(&home, "claude-1"), (vec![], None));
    assert!(
        deliveries::deliver(&home, &delivery("claude-1", "bd-2", 2))
            .unwrap()
            .0
    );
    assert!(
        deliveries::deliver(&home, &delivery("claude-1", "bd-1", 1))
            .unwrap()
            .0
    );
    assert!(
        !deliveries::deliver(&home, &delivery("claude-1", "bd-1", 1))
            .unwrap()
            .0
    );
    // A stale sling (lower epoch) loses; a newer one replaces.
    assert!(
        !deliveries::deliver(&home, &delivery("claude-1", "bd-2", 1))
            .unwrap()
            .0
    );
    assert!(
        deliveries::deliver(&home, &delivery("claude-1", "bd-2", 3))
            .unwrap()
            .0
    );

    let (p, w) = deliveries::pending_for(&home, "claude-1");
    assert!(w.is_none());
    assert_eq!(
        p,
        vec![
            delivery("claude-1", "bd-1", 1),
            delivery("claude-1", "bd-2", 3)
        ]
    );

    assert!(
        deliveries::acknowledge(&home, "claude-1", "bd-1")
            .unwrap()
            .0
    );
    assert!(
        !deliveries::acknowledge(&home, "claude-1", "bd-1")
            .unwrap()
            .0
    );
    assert_eq!(deliveries::pending_for(&home, "claude-1").0.len(), 1);

    deliveries::deliver(&home, &delivery("Erin", "bd-2", 3)).unwrap();
    deliveries::deliver(&home, &delivery("Erin", "bd-5", 1)).unwrap();
    let (n, _) = deliveries::retract(&home, "bd-2", Some("Erin")).unwrap();
    assert_eq!(n, 1);
    assert!(
        !home.path("deliveries/claude-1.json").exists(),
        "empty: removed"
    );
    let (all, _) = deliveries::load(&home);
    assert_eq!(all.keys().collect::<Vec<_>>(), ["Erin"]);
    assert_eq!(all["Erin"].len(), 2);
    assert_eq!(deliveries::retract(&home, "bd-2", None).unwrap().0, 1);
    assert_eq!(
        deliveries::pending_for(&home, "Erin").0,
        vec![delivery("Erin", "bd-5", 1)]
    );
}

#[test]
fn corrupt_registry_is_moved_aside() {
    let (tmp, home) = setup();
    let ws = workspace(tmp.path(), "a");
    let path = home.path("registry.json");
    for (n, bytes) in GARBAGE.iter().enumerate() {
        fs::write(&path, bytes).unwrap();
        let (reg, w) = registry::load(&home);
        assert!(reg.workspaces.is_empty());
        let w = w.expect("a warning");
        assert!(
            w.contains("registry.json") && w.contains(".corrupt-"),
            "{w}"
        );
        assert!(!path.exists());
        let copies = corrupt_copies(&path);
        assert_eq!(copies.len(), n + 1);
        assert_eq!(fs::read(&copies[n]).unwrap(), *bytes, "nothing lost");
        // The next write works.
        let (reg, w) = registry::register(&home, &ws, None, T0).unwrap();
        assert!(w.is_none());
        assert_eq!(reg.workspaces.len(), 1);
        assert_eq!(registry::load(&home), (reg, None));
    }
    // Corrupt and then written: the writer recovers and reports.
    fs::write(&path, b"{{{").unwrap();
    let (reg, w) = registry::register(&home, &ws, None, T0).unwrap();
    assert!(w.is_some());
    assert_eq!(reg.workspaces.len(), 1);
    assert_eq!(corrupt_copies(&path).len(), GARBAGE.len() + 1);
    assert_contained(tmp.path(), &home);
}

#[test]
fn corrupt_ledger_is_moved_aside() {
    let (_tmp, home) = setup();
    let path = home.path("ledger.json");
    for (n, bytes) in GARBAGE.iter().enumerate() {
        fs::write(&path, bytes).unwrap();
        let (l, w) = ledger::load(&home);
        assert!(l.is_empty());
        assert!(w.unwrap().contains("ledger.json"));
        assert!(l.recovered().is_some());
        assert!(!path.exists());
        assert_eq!(corrupt_copies(&path).len(), n + 1);
        assert_eq!(
            ledger::record(&home, entry("bd-1", Event::Closed, T0, 1)).unwrap(),
            None
        );
        assert_eq!(ledger::load(&home).0.len(), 1);
    }
    // Through the writer: the closure sees the recovery.
    fs::write(&path, b"not json").unwrap();
    let seen = ledger::with_ledger(&home, |l| {
        let seen = l.recovered().map(str::to_string);
        l.put(entry("bd-2", Event::Closed, T0, 1))?;
        Ok(seen)
    })
    .unwrap();
    assert!(seen.unwrap().contains(".corrupt-"));
    let (l, w) = ledger::load(&home);
    assert!(w.is_none());
    assert_eq!(l.len(), 1);
    // An empty file is simply empty.
    fs::write(&path, b"\n").unwrap();
    assert_eq!(ledger::load(&home).1, None);
    assert_eq!(corrupt_copies(&path).len(), GARBAGE.len() + 1);
}

#[test]
fn corrupt_agent_and_delivery_files_are_moved_aside() {
    let (tmp, home) = setup();
    presence::register(&home, "dave", "human", tmp.path(), T0).unwrap();
    presence::register(&home, "erin", "human", tmp.path(), T0).unwrap();
    deliveries::deliver(&home, &delivery("dave", "bd-1", 1)).unwrap();
    let agent = home.path("agents/dave.json");
    let inbox = home.path("deliveries/dave.json");
    for (n, bytes) in GARBAGE.iter().enumerate() {
        fs::write(&agent, bytes).unwrap();
        fs::write(&inbox, bytes).unwrap();
        let (all, w) = presence::load(&home);
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            ["erin"],
            "the others survive"
        );
        assert!(w.unwrap().contains("dave.json"));
        assert_eq!(corrupt_copies(&agent).len(), n + 1);
        let (p, w) = deliveries::pending_for(&home, "dave");
        assert!(p.is_empty() && w.is_some());
        assert_eq!(corrupt_copies(&inbox).len(), n + 1);
        // Next writes work.
        presence::heartbeat(&home, "dave", tmp.path(), None, T0).unwrap();
        deliveries::deliver(&home, &delivery("dave", "bd-1", 1)).unwrap();
        let (all, w) = presence::load(&home);
        assert_eq!((all.len(), w), (2, None));
        assert_eq!(deliveries::pending_for(&home, "dave").0.len(), 1);
    }
    // A file naming another agent was edited by hand: set aside, not trusted.
    let erin = fs::read(home.path("agents/erin.json")).unwrap();
    fs::write(&agent, &erin).unwrap();
    let (all, w) = presence::load(&home);
    assert_eq!(all.len(), 1);
    assert!(w.unwrap().contains("not the one its name says"));
    // Corrupt, then written through heartbeat: recovered and reported.
    fs::write(&agent, b"{").unwrap();
    let (a, w) = presence::heartbeat(&home, "dave", tmp.path(), None, T0).unwrap();
    assert_eq!(a.kind, "unknown");
    assert!(w.is_some());
    assert_contained(tmp.path(), &home);
}

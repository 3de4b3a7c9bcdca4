//! The claim ledger.

use super::*;

// ---------------------------------------------------------------------------
// Ledger

#[test]
fn ledger_round_trip_and_format() {
    let (_tmp, home) = setup();
    let (l, w) = ledger::load(&home);
    assert!(l.is_empty() && w.is_none());

    let e1 = entry("bd-2", claimed("dave"), T0, 3);
    let e2 = entry(
        "bd-1",
        Event::Hooked {
            agent: "claude-1".into(),
            by: "mayor".into(),
        },
        T0,
        1,
    );
    assert_eq!(ledger::record(&home, e1.clone()).unwrap(), None);
    ledger::record(&home, e2.clone()).unwrap();
    for ev in [
        Event::Released,
        Event::Closed,
        Event::Reopened,
        Event::Deleted,
    ] {
        let e = entry("bd-3", ev, T0, 1);
        ledger::record(&home, e.clone()).unwrap();
        assert_eq!(ledger::load(&home).0.find("bd-3"), Some(&e));
    }

    let (l, w) = ledger::load(&home);
    assert!(w.is_none());
    assert_eq!(l.len(), 3);
    assert_eq!(l.find("bd-2"), Some(&e1));
    assert_eq!(l.find("bd-1"), Some(&e2));
    assert_eq!(l.find("bd-9"), None);

    // The documented shape: {"entries": [...]} sorted by issue, events tagged by kind.
    let v: serde_json::Value =
        serde_json::from_slice(&fs::read(home.path("ledger.json")).unwrap()).unwrap();
    let entries = v["entries"].as_array().unwrap();
    let issues: Vec<&str> = entries
        .iter()
        .map(|e| e["issue"].as_str().unwrap())
        .collect();
    assert_eq!(issues, ["bd-1", "bd-2", "bd-3"]);
    assert_eq!(
        entries[1],
        serde_json::json!({
            "issue": "bd-2",
            "event": {"kind": "claimed", "holder": "dave", "started_at": T0},
            "at": T0,
            "by": "dave/vc",
            "workspace": "/src/dave/vc",
            "epoch": 3
        })
    );
    assert_eq!(entries[2]["event"], serde_json::json!({"kind": "deleted"}));
}

#[test]
fn with_ledger_checks_and_writes_under_one_lock() {
    let (_tmp, home) = setup();
    // Nothing changed: nothing written.
    let n = ledger::with_ledger(&home, |l| Ok(l.len())).unwrap();
    assert_eq!(n, 0);
    assert!(!home.path("ledger.json").exists());

    // A failing closure writes nothing.
    let r: Result<(), Error> = ledger::with_ledger(&home, |l| {
        l.put(entry("bd-1", claimed("dave"), T0, 1))?;
        Err(Error::conflict("held"))
    });
    assert!(r.is_err());
    assert!(ledger::load(&home).0.is_empty());

    // Claim: check and write in one step.
    let claim = |who: &str| {
        ledger::with_ledger(&home, |l| {
            if let Some(Entry {
                event: Event::Claimed { holder, .. },
                ..
            }) = l.find("bd-1")
            {
                return Err(Error::conflict(format!("held by {holder}")));
            }
            l.put(entry("bd-1", claimed(who), T0, 2))
        })
    };
    claim("dave").unwrap();
    assert_eq!(claim("erin").unwrap_err().to_string(), "held by dave");
    let removed = ledger::with_ledger(&home, |l| Ok(l.remove("bd-1"))).unwrap();
    assert!(removed.is_some());
    assert!(ledger::load(&home).0.is_empty());
}

#[test]
fn concurrent_ledger_writers_never_lose_an_update() {
    let (_tmp, home) = setup();
    let home = Arc::new(home);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let home = Arc::clone(&home);
            std::thread::spawn(move || {
                for i in 0..50 {
                    let issue = format!("bd-{t}-{i}");
                    ledger::with_ledger(&home, |l| {
                        assert!(l.find(&issue).is_none());
                        l.put(entry(&issue, claimed(&format!("agent-{t}")), T0, i))
                    })
                    .unwrap();
                    // Like separate `bd` processes, pause between commands: the
                    // lock polls, so a thread re-locking at once would starve
                    // the others past the lock timeout on a slow machine.
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (l, w) = ledger::load(&home);
    assert!(w.is_none());
    assert_eq!(l.len(), 400);
    assert_eq!(l.find("bd-7-49").unwrap().epoch, 49);
    // No temp file left behind.
    assert_eq!(
        files_under(&home.dir).len(),
        2,
        "ledger.json and ledger.lock"
    );
}

#[test]
fn concurrent_registry_presence_and_delivery_writers() {
    let (tmp, home) = setup();
    let home = Arc::new(home);
    let roots: Vec<PathBuf> = (0..8)
        .map(|i| workspace(tmp.path(), &format!("w{i}")))
        .collect();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let home = Arc::clone(&home);
            let root = roots[t].clone();
            std::thread::spawn(move || {
                registry::register(&home, &root, None, T0).unwrap();
                for i in 0..20 {
                    presence::heartbeat(&home, "shared", &root, None, &at(i)).unwrap();
                    deliveries::deliver(&home, &delivery("shared", &format!("bd-{t}-{i}"), 1))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(registry::load(&home).0.workspaces.len(), 8);
    assert_eq!(registry::live(&home).len(), 8);
    assert_eq!(presence::load(&home).0.len(), 1);
    assert_eq!(deliveries::pending_for(&home, "shared").0.len(), 160);
}

#[test]
fn prune_drops_old_and_agreed_entries() {
    let (_tmp, home) = setup();
    let now = at(30 * 86_400 * SEC);
    let now_ns = time::parse(&now).unwrap();
    let seven_days = 7 * 86_400 * SEC;
    let rel = |d: i64| time::format(now_ns - d);
    ledger::record(
        &home,
        entry("exactly-7d", Event::Closed, &rel(seven_days), 1),
    )
    .unwrap();
    ledger::record(
        &home,
        entry("older", Event::Closed, &rel(seven_days + 1), 1),
    )
    .unwrap();
    ledger::record(&home, entry("agreed", Event::Released, &rel(SEC), 1)).unwrap();
    ledger::record(&home, entry("fresh", claimed("dave"), &rel(SEC), 1)).unwrap();

    let (dropped, w) = ledger::prune(&home, &now, |e| e.issue == "agreed").unwrap();
    assert_eq!((dropped, w), (2, None));
    let (l, _) = ledger::load(&home);
    let left: Vec<&str> = l.iter().map(|e| e.issue.as_str()).collect();
    assert_eq!(left, ["exactly-7d", "fresh"]);

    // Nothing to drop: nothing written (bytes and mtime untouched).
    let before = fs::metadata(home.path("ledger.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(ledger::prune(&home, &now, |_| false).unwrap().0, 0);
    let after = fs::metadata(home.path("ledger.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
    assert!(ledger::prune(&home, "later", |_| false).is_err());
}

#[test]
fn ledger_keeps_entries_it_cannot_read() {
    let (_tmp, home) = setup();
    // A newer bd's event kind, and one that is fine.
    let file = serde_json::json!({"entries": [
        {"issue": "bd-1", "event": {"kind": "transferred", "to": "erin"}, "at": T0,
         "by": "x", "workspace": "/w", "epoch": 4},
        {"issue": "bd-2", "event": {"kind": "closed"}, "at": T0, "by": "x",
         "workspace": "/w", "epoch": 1},
    ]});
    fs::write(home.path("ledger.json"), file.to_string()).unwrap();
    let (l, w) = ledger::load(&home);
    assert!(w.is_none());
    assert_eq!((l.len(), l.unreadable()), (1, 1));

    ledger::record(&home, entry("bd-3", Event::Closed, T0, 1)).unwrap();
    let text = fs::read_to_string(home.path("ledger.json")).unwrap();
    assert!(text.contains("transferred"), "kept verbatim: {text}");
    assert_eq!(ledger::load(&home).0.unreadable(), 1);

    // A new event for that issue replaces it.
    ledger::record(&home, entry("bd-1", Event::Released, T0, 5)).unwrap();
    let (l, _) = ledger::load(&home);
    assert_eq!((l.len(), l.unreadable()), (3, 0));

    // Pruned by its own `at`.
    let file = serde_json::json!({"entries": [
        {"issue": "bd-1", "event": {"kind": "transferred"}, "at": T0},
        {"issue": "bd-2", "event": {"kind": "transferred"}},
    ]});
    fs::write(home.path("ledger.json"), file.to_string()).unwrap();
    assert_eq!(ledger::load(&home).0.unreadable(), 2);
    assert_eq!(ledger::prune(&home, &at(SEC), |_| false).unwrap().0, 1);
    assert_eq!(ledger::load(&home).0.unreadable(), 1);
}

#[test]
fn rebuild_replaces_the_ledger_latest_wins() {
    let (_tmp, home) = setup();
    ledger::record(&home, entry("stale", Event::Closed, T0, 1)).unwrap();
    let w = ledger::rebuild(
        &home,
        vec![
            entry("bd-1", claimed("a"), &at(SEC), 1),
            entry("bd-1", claimed("b"), &at(2 * SEC), 1),
            entry("bd-1", claimed("c"), &at(SEC), 9),
            entry("bd-2", Event::Released, &at(SEC), 2),
            entry("bd-2", Event::Closed, &at(SEC), 3),
        ],
    )
    .unwrap();
    assert!(w.is_none());
    let (l, _) = ledger::load(&home);
    assert_eq!(l.len(), 2);
    assert_eq!(l.find("bd-1").unwrap().event, claimed("b"));
    assert_eq!(l.find("bd-2").unwrap().event, Event::Closed);
    assert!(l.find("stale").is_none());

    // An invalid entry fails the rebuild and changes nothing.
    assert!(ledger::rebuild(&home, vec![entry("bd-9", Event::Closed, "x", 1)]).is_err());
    assert_eq!(ledger::load(&home).0.len(), 2);
}

//! The project home's live state (registry, presence, ledger, deliveries) at the
//! library level: round trips, hostile names, corrupt files, concurrent writers,
//! lease boundaries, pruning. Each test builds its own `ProjectHome { dir }` in a
//! temp dir; no environment variables, so tests run in parallel.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::files_under;
use strand::error::Error;
use strand::home::ProjectHome;
use strand::home::deliveries::{self, Delivery};
use strand::home::ledger::{self, Entry, Event};
use strand::home::presence::{self, AgentState};
use strand::home::registry;
use strand::model::time;

const T0: &str = "2026-03-01T12:00:00.000000000Z";
const SEC: i64 = 1_000_000_000;

fn at(offset_ns: i64) -> String {
    time::format(time::parse(T0).unwrap() + offset_ns)
}

/// A temp dir with the home at `<tmp>/state/home`, so a name escaping the home
/// would land in `<tmp>/state` or `<tmp>` where [`assert_contained`] sees it.
fn setup() -> (tempfile::TempDir, ProjectHome) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state").join("home");
    fs::create_dir_all(&dir).unwrap();
    (tmp, ProjectHome { dir })
}

fn workspace(tmp: &Path, name: &str) -> PathBuf {
    let root = tmp.join("ws").join(name);
    fs::create_dir_all(root.join(".beads")).unwrap();
    fs::canonicalize(root).unwrap()
}

/// Every file in the temp dir outside `ws/` is inside the home.
fn assert_contained(tmp: &Path, home: &ProjectHome) {
    for f in files_under(tmp) {
        assert!(
            f.starts_with(&home.dir) || f.starts_with(tmp.join("ws")),
            "written outside the home: {}",
            f.display()
        );
    }
}

fn entry(issue: &str, event: Event, at_: &str, epoch: i64) -> Entry {
    Entry {
        issue: issue.into(),
        event,
        at: at_.into(),
        by: "dave/vc".into(),
        workspace: PathBuf::from("/src/dave/vc"),
        epoch,
        on: None,
        until: None,
    }
}

fn claimed(holder: &str) -> Event {
    Event::Claimed {
        holder: holder.into(),
        started_at: T0.into(),
    }
}

fn delivery(agent: &str, issue: &str, epoch: i64) -> Delivery {
    Delivery {
        agent: agent.into(),
        issue: issue.into(),
        by: "mayor".into(),
        at: T0.into(),
        epoch,
        note: None,
    }
}

fn corrupt_copies(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    let mut v: Vec<PathBuf> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{name}.corrupt-"))
        })
        .collect();
    v.sort();
    v
}

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
    assert_eq!(presence::get(&home, "claude-1"), (Some(b), None));
    assert_eq!(presence::get(&home, "nobody"), (None, None));
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
        assert_eq!(presence::get(&home, bad), (None, None));
    }
    // Too long once escaped: 100 upper-case letters are 300 bytes as a file name.
    let upper = "X".repeat(100);
    assert!(presence::register(&home, &upper, "claude", &ws, T0).is_err());
    assert!(presence::register(&home, &"x".repeat(100), "claude", &ws, T0).is_ok());
    assert!(presence::forget(&home, &"x".repeat(100)).unwrap());

    // Slashes are escaped, never path separators: `../x` is a file inside agents/.
    for name in ["../x", "a/b", "dave/vc"] {
        presence::register(&home, name, "claude", &ws, T0).unwrap();
        assert!(presence::get(&home, name).0.is_some(), "{name}");
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
        assert_eq!(ledger::load(&home).0.get("bd-3"), Some(&e));
    }

    let (l, w) = ledger::load(&home);
    assert!(w.is_none());
    assert_eq!(l.len(), 3);
    assert_eq!(l.get("bd-2"), Some(&e1));
    assert_eq!(l.get("bd-1"), Some(&e2));
    assert_eq!(l.get("bd-9"), None);

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
            }) = l.get("bd-1")
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
                        assert!(l.get(&issue).is_none());
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
    assert_eq!(l.get("bd-7-49").unwrap().epoch, 49);
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
    assert_eq!(l.get("bd-1").unwrap().event, claimed("b"));
    assert_eq!(l.get("bd-2").unwrap().event, Event::Closed);
    assert!(l.get("stale").is_none());

    // An invalid entry fails the rebuild and changes nothing.
    assert!(ledger::rebuild(&home, vec![entry("bd-9", Event::Closed, "x", 1)]).is_err());
    assert_eq!(ledger::load(&home).0.len(), 2);
}

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

// ---------------------------------------------------------------------------
// Corrupt files: empty state, a warning, the file moved aside, the next write works.

const GARBAGE: &[&[u8]] = &[
    b"\x00\xff\xfe garbage \x80",
    b"{\"workspaces\": {\"/x\": {\"root\": \"/x\", \"regis",
    b"{\"entries\": 5, \"workspaces\": [1, 2], \"agent\": 7, \"deliveries\": {}}",
    b"[1, 2, 3]",
    b"\"just a string\"",
];

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

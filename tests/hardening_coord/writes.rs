//! Two-file writes undo each other's failures (item 8).

use super::*;

// ---------------------------------------------------------------------------
// Item 8: a command that fails leaves no half.
// ---------------------------------------------------------------------------

#[test]
fn item_08_failed_ledger_write_leaves_the_tracker_untouched() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "work", &[]);
    let y = m.create(&m.a, "more", &[]);
    m.bd(&m.a, "alice", &["claim", &y]).ok();
    m.bd(&m.a, "alice", &["close", &y]).ok();
    pad_ledger(&m, 200);
    let ledger_size = std::fs::metadata(m.project_dir().join("ledger.json"))
        .unwrap()
        .len();
    let tracker_size = std::fs::metadata(m.a.join(".beads/issues.jsonl"))
        .unwrap()
        .len();
    assert!(ledger_size > 32 * 1024 && tracker_size < 8 * 1024);

    // The ledger cannot be written (EFBIG, as ENOSPC): each command fails and
    // the tracker does not move.
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["claim", &x],
        vec!["close", &x],
        vec!["delete", &x],
        vec!["reopen", &y],
        vec!["sling", &x, "bob"],
    ];
    for args in &cases {
        let r = bd_limited(&m, &m.a, "alice", 16, args);
        assert_ne!(r.code, 0, "{args:?} must fail: {}", r.stderr);
        assert_eq!(
            std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
            before,
            "{args:?} failed and left the tracker as it was: {}",
            r.stderr
        );
    }
    assert_eq!(record(&m.a, &x)["status"], "open");
    assert!(record(&m.a, &x).get("assignee").is_none());
    // Nobody is locked out by the failed claim: bob claims X at once.
    m.bd(&m.b, "bob", &["sync"]).ok();
    m.bd(&m.a, "bob", &["claim", &x]).ok();

    // Claimed, then an unclaim whose ledger write fails keeps the claim.
    let r = bd_limited(&m, &m.a, "bob", 16, &["unclaim", &x]);
    assert_ne!(r.code, 0);
    assert_eq!(record(&m.a, &x)["status"], "in_progress");
    assert_eq!(record(&m.a, &x)["assignee"], "bob");
}

#[test]
fn item_08_failed_tracker_write_takes_the_ledger_entry_back() {
    let m = Machine::new(0);
    // A tracker larger than the limit, a small ledger: the ledger is written
    // first, the tracker write fails, and the ledger entry is taken back.
    let big = "x".repeat(40 * 1024);
    let x = m.create(&m.a, "work", &["-d", &big]);
    let r = bd_limited(&m, &m.a, "alice", 16, &["claim", &x]);
    assert_ne!(r.code, 0, "the tracker write fails: {}", r.stderr);
    assert_eq!(record(&m.a, &x)["status"], "open");
    assert_eq!(ledger_event(&m, &x), None, "no claim left in the ledger");
    // Bob (another clone) is not told it is held.
    let bx = m.create(&m.b, "other", &[]);
    let _ = bx;
    m.bd(&m.a, "bob", &["claim", &x]).ok();
}

#[test]
fn item_08_a_sling_whose_hook_file_fails_is_taken_back() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "work", &[]);
    // A file where the hooks folder must go: the hook file cannot be written.
    std::fs::write(m.a.join(".beads/hooks"), b"in the way").unwrap();
    let r = m.bd(&m.a, "mayor", &["sling", &x, "bob"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    let rec = record(&m.a, &x);
    assert_eq!(rec["status"], "open", "{rec}");
    assert!(rec.get("assignee").is_none(), "{rec}");
    assert_ne!(
        ledger_event(&m, &x).map(|e| e["kind"].clone()),
        Some(json!("hooked"))
    );
    // Nobody sees it on bob's hook, in this clone or the other.
    std::fs::remove_file(m.a.join(".beads/hooks")).unwrap();
    for ws in [&m.a, &m.b] {
        assert_eq!(m.json(ws, "bob", &["hook", "bob"])["items"], json!([]));
    }
    // And it can be slung again once the hook file can be written.
    m.bd(&m.a, "mayor", &["sling", &x, "bob"]).ok();
    assert_eq!(m.json(&m.a, "bob", &["hook", "bob"])["items"], json!([x]));
}

/// Review break 4: a sling whose hook file cannot be written wrote newer
/// stamps and a raised claim epoch (then an "unhook" with newer stamps still),
/// so after `bd sync` it beat bob's claim made on another machine. A failed
/// sling now leaves the tracker and the ledger byte for byte as they were,
/// whichever of its writes fails (hook file, delivery, tracker).
#[test]
fn item_08_review_a_failed_sling_leaves_no_trace_and_bobs_claim_survives() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "contended", &[]);
    share(&m);
    on_other_machine(&m, "bob", &["claim", &x]).ok();
    on_other_machine(&m, "bob", &["sync"]).ok();

    // The hook file cannot be written (a link where it goes).
    let hooks = m.a.join(".beads/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::os::unix::fs::symlink("/nonexistent", hooks.join("carol.json")).unwrap();
    let tracker = m.a.join(".beads/issues.jsonl");
    let ledger = m.project_dir().join("ledger.json");
    let (t0, l0) = (
        std::fs::read_to_string(&tracker).unwrap(),
        bytes_or_none(&ledger),
    );
    let r = m.bd(&m.a, "mayor", &["sling", &x, "carol"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&tracker).unwrap(),
        t0,
        "tracker untouched"
    );
    assert_eq!(bytes_or_none(&ledger), l0, "ledger untouched");
    std::fs::remove_file(hooks.join("carol.json")).unwrap();

    // The delivery cannot be written: the hook file is put back (none).
    let dl = m.project_dir().join("deliveries");
    std::fs::create_dir_all(&dl).unwrap();
    std::os::unix::fs::symlink("/nonexistent", dl.join("carol.json")).unwrap();
    let r = m.bd(&m.a, "mayor", &["sling", &x, "carol"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&tracker).unwrap(), t0);
    assert_eq!(bytes_or_none(&ledger), l0);
    assert!(!hooks.join("carol.json").exists(), "hook file put back");
    std::fs::remove_file(dl.join("carol.json")).unwrap();

    // After sync on both machines, bob's claim stands.
    m.bd(&m.a, "tester", &["sync"]).ok();
    let rb = on_other_machine(&m, "bob", &["sync"]).ok();
    assert!(!rb.stderr.contains("lost"), "{}", rb.stderr);
    let rec = record(&other_clone(&m), &x);
    assert_eq!(rec["status"], "in_progress", "{rec}");
    assert_eq!(rec["assignee"], "bob", "{rec}");
}

/// Break 4, the last write failing: the hook file and delivery are written
/// before the tracker, and put back byte for byte when the tracker write
/// fails.
#[test]
fn item_08_review_a_sling_whose_tracker_write_fails_puts_hook_and_delivery_back() {
    let m = Machine::new(0);
    let big = "x".repeat(40 * 1024);
    let x = m.create(&m.a, "work", &["-d", &big]);
    let y = m.create(&m.a, "small", &[]);
    // Carol already has Y on her hook: her hook file and delivery exist.
    m.bd(&m.a, "mayor", &["sling", &y, "carol"]).ok();
    let hook = m.a.join(".beads/hooks/carol.json");
    let delivery = m.project_dir().join("deliveries/carol.json");
    let tracker = m.a.join(".beads/issues.jsonl");
    let ledger = m.project_dir().join("ledger.json");
    let before = [&hook, &delivery, &tracker, &ledger].map(|p| bytes_or_none(p));
    assert!(before[0].is_some() && before[1].is_some());
    let r = bd_limited(&m, &m.a, "mayor", 16, &["sling", &x, "carol"]);
    assert_ne!(r.code, 0, "the tracker write fails: {}", r.stderr);
    let after = [&hook, &delivery, &tracker, &ledger].map(|p| bytes_or_none(p));
    assert_eq!(after, before, "{}", r.stderr);
    assert_eq!(
        m.json(&m.a, "carol", &["hook", "carol"])["items"],
        json!([y])
    );
}

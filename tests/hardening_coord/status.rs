//! Review 5's known limit, now fixed: a status or assignee write reaches the
//! ledger when it changes who holds an issue, so sibling worktrees of one
//! machine see the state it left (not the claim it ended, nor an older open
//! state the write replaced), claims made next door are judged by it, and
//! the files agree once merged.

use super::*;

fn has(v: &Value, id: &str) -> bool {
    v.to_string().contains(&format!("\"{id}\""))
}

/// A worktree of `m.a` on its own branch, made after everything so far
/// was committed.
fn sibling(m: &Machine, name: &str) -> PathBuf {
    m.bd(&m.a, "tester", &["commit"]).ok();
    let wt = m.env.tmp.path().join(name);
    git(
        &m.a,
        &["worktree", "add", "-q", wt.to_str().unwrap(), "-b", name],
    );
    wt
}

/// alice claims X, then (in the same worktree) moves it to `blocked`, then
/// back to `open`. The ledger said "claimed by alice" throughout, so the
/// sibling worktree refused bob ("held by alice") while alice's own showed X
/// open and ready. Now each status write that ends the claim publishes the
/// state it left: blocked (not ready, not claimable anywhere), then open but
/// still assigned to alice (ready everywhere, claimable by alice only).
#[test]
fn review5_a_status_write_that_ends_a_claim_reaches_the_sibling_worktree() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "claimed, blocked, reopened", &[]);
    m.bd(&m.a, "alice", &["claim", &x]).ok();
    let wt = sibling(&m, "wt-status");

    m.bd(&m.a, "alice", &["update", &x, "--status", "blocked"])
        .ok();
    let e = ledger(&m)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["issue"] == x.as_str())
        .cloned()
        .unwrap();
    assert_eq!(e["event"]["kind"], "released", "{e}");
    assert_eq!(e["status"], "blocked", "{e}");
    assert_eq!(e["assignee"], "alice", "{e}");
    for ws in [&m.a, &wt] {
        assert!(!has(&m.json(ws, "bob", &["ready"]), &x), "{}", ws.display());
        let r = m.bd(ws, "bob", &["claim", &x]).code(3);
        assert!(
            r.stderr.contains("not claimable (status blocked)"),
            "{}: {}",
            ws.display(),
            r.stderr
        );
    }
    let shown = m.json(&wt, "bob", &["show", &x]);
    assert_eq!(shown["effective"]["state"], "released", "{shown}");
    assert_eq!(shown["effective"]["status"], "blocked", "{shown}");
    let prime = m.json(&wt, "alice", &["prime"]);
    assert!(!prime["claims"].to_string().contains(&x), "{prime}");

    m.bd(&m.a, "alice", &["update", &x, "--status", "open"])
        .ok();
    for ws in [&m.a, &wt] {
        assert!(has(&m.json(ws, "bob", &["ready"]), &x), "{}", ws.display());
        let r = m.bd(ws, "bob", &["claim", &x]).code(3);
        assert!(
            r.stderr.contains(&format!("{x} is assigned to alice")),
            "{}: {}",
            ws.display(),
            r.stderr
        );
    }
    // alice takes it up again next door; the files agree once merged.
    m.bd(&wt, "alice", &["claim", &x]).ok();
    assert!(!has(&m.json(&m.a, "bob", &["ready"]), &x));
    m.bd(&m.a, "tester", &["commit"]).ok();
    m.bd(&wt, "tester", &["commit"]).ok();
    common::git_bd(&m.a, &["merge", "-q", "--no-edit", "wt-status"]);
    common::git_bd(&wt, &["merge", "-q", "--no-edit", "main"]);
    for ws in [&m.a, &wt] {
        let r = record(ws, &x);
        assert_eq!(r["status"], "in_progress", "{}: {r}", ws.display());
        assert_eq!(r["assignee"], "alice", "{}: {r}", ws.display());
    }
}

/// The classic way to start work (`update --status in_progress --assignee
/// carol`) is a claim: it reaches the ledger, so bob's claim next door is
/// refused. An `update` that hands the issue to another holder is a
/// deliberate reassignment, next door as here: it reaches the ledger too.
#[test]
fn review5_starting_work_by_update_is_a_claim_every_worktree_sees() {
    let m = Machine::new(0);
    let y = m.create(&m.a, "started the classic way", &[]);
    let wt = sibling(&m, "wt-start");
    m.bd(
        &m.a,
        "carol",
        &[
            "update",
            &y,
            "--status",
            "in_progress",
            "--assignee",
            "carol",
        ],
    )
    .ok();
    assert_eq!(ledger_event(&m, &y).unwrap()["kind"], "claimed");
    let r = m.bd(&wt, "bob", &["claim", &y]).code(3);
    assert!(r.stderr.contains("held by carol"), "{}", r.stderr);
    assert!(!has(&m.json(&wt, "bob", &["ready"]), &y));
    // Other fields stay editable next door.
    m.bd(&wt, "dave", &["update", &y, "-p", "1"]).ok();
    m.bd(&wt, "lead", &["update", &y, "--assignee", "dave"])
        .ok();
    assert_eq!(ledger_event(&m, &y).unwrap()["holder"], "dave");
    let r = m.bd(&m.a, "bob", &["claim", &y]).code(3);
    assert!(r.stderr.contains("held by dave"), "{}", r.stderr);
    m.bd(&m.a, "tester", &["commit"]).ok();
    m.bd(&wt, "tester", &["commit"]).ok();
    common::git_bd(&m.a, &["merge", "-q", "--no-edit", "wt-start"]);
    common::git_bd(&wt, &["merge", "-q", "--no-edit", "main"]);
    for ws in [&m.a, &wt] {
        let r = record(ws, &y);
        assert_eq!(r["assignee"], "dave", "{}: {r}", ws.display());
        assert_eq!(r["status"], "in_progress", "{}: {r}", ws.display());
        assert_eq!(r["priority"], 1, "{}: {r}", ws.display());
    }
}

/// Review 7, break 1: `update` in a sibling worktree judged the holder by
/// the ledger but changed its own stale record, so one command gave another
/// result there than where the claim was made. Each case now runs once in
/// the claiming worktree and once next door, and both leave the same state.
#[test]
fn review7_an_update_next_door_is_made_on_the_effective_state() {
    type Case = (
        &'static str,
        &'static [&'static str],
        &'static str,
        Option<&'static str>,
    );
    let cases: [Case; 3] = [
        // bob starts work alice holds: nothing changes.
        (
            "bob",
            &["--status", "in_progress"],
            "in_progress",
            Some("alice"),
        ),
        // alice blocks her own work: blocked, still assigned to her.
        ("alice", &["--status", "blocked"], "blocked", Some("alice")),
        // a lead reassigns it: bob holds it.
        ("lead", &["--assignee", "bob"], "in_progress", Some("bob")),
    ];
    for (actor, args, status, assignee) in cases {
        let mut seen = Vec::new();
        for next_door in [false, true] {
            let m = Machine::new(0);
            let x = m.create(&m.a, "alice's work", &[]);
            let wt = sibling(&m, "wt-eff");
            m.bd(&m.a, "alice", &["claim", &x]).ok();
            let ws = if next_door { &wt } else { &m.a };
            let mut a = vec!["update", x.as_str()];
            a.extend_from_slice(args);
            m.bd(ws, actor, &a).ok();
            let views: Vec<Value> = [&m.a, &wt]
                .iter()
                .map(|w| {
                    let v = m.json(w, "viewer", &["show", &x]);
                    json!([
                        v["ready"],
                        v["effective"].is_null() || v["effective"]["state"] == "released"
                    ])
                })
                .collect();
            // Merged, both worktrees hold the same record.
            m.bd(&m.a, "tester", &["commit"]).ok();
            m.bd(&wt, "tester", &["commit"]).ok();
            common::git_bd(&m.a, &["merge", "-q", "--no-edit", "wt-eff"]);
            let r = record(&m.a, &x);
            assert_eq!(
                r["status"], status,
                "{actor} {args:?} next door {next_door}: {r}"
            );
            assert_eq!(
                r["assignee"].as_str(),
                assignee,
                "{actor} {args:?} next door {next_door}: {r}"
            );
            seen.push((views[0][0].clone(), views[1][0].clone()));
        }
        assert_eq!(seen[0], seen[1], "{actor} {args:?}: ready views differ");
    }
}

/// Review 7, break 3: an issue deleted in a sibling worktree could still be
/// deferred, blocked or closed here, and the merge brought it back. Such
/// writes are refused as they are for an issue deleted here.
#[test]
fn review7_an_issue_deleted_next_door_refuses_writes_here() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "deleted next door", &[]);
    let wt = sibling(&m, "wt-del");
    m.bd(&wt, "alice", &["delete", &x]).ok();
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    for args in [
        vec!["defer", x.as_str(), "--until", "2099-01-01"],
        vec!["update", x.as_str(), "--status", "blocked"],
        vec!["close", x.as_str()],
        vec!["label", "add", x.as_str(), "late"],
    ] {
        let r = m.bd(&m.a, "bob", &args);
        assert_ne!(r.code, 0, "{args:?}");
        assert!(
            r.stderr.contains("was deleted in workspace"),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(
        std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
        before
    );
}

/// Review 7, break 2: alice claims X in one worktree, X is closed (or
/// deleted) in another; the first command of a third worktree, new to the
/// home, brought alice's older claim back into the ledger over the close.
#[test]
fn review7_a_new_worktree_brings_no_older_claim_over_a_close() {
    for verb in ["close", "delete"] {
        let m = Machine::new(0);
        let x = m.create(&m.a, "claimed, then closed next door", &[]);
        let wt = sibling(&m, "wt-close");
        m.bd(&m.a, "alice", &["claim", &x]).ok();
        m.bd(&m.a, "tester", &["commit"]).ok();
        m.bd(&wt, "bob", &[verb, &x]).ok();
        let kind = ledger_event(&m, &x).unwrap()["kind"].clone();
        let third = m.env.worktree(&m.a, "wt-third", "wt-third");
        m.json(&third, "carol", &["ready"]);
        assert_eq!(ledger_event(&m, &x).unwrap()["kind"], kind, "{verb}");
        let shown = m.json(&m.a, "alice", &["show", &x]);
        assert!(
            !shown["effective"].is_null(),
            "{verb}: alice's worktree sees it {kind} next door: {shown}"
        );
        let prime = m.json(&m.a, "alice", &["prime"]);
        assert!(!prime["claims"].to_string().contains(&x), "{verb}: {prime}");
    }
}

/// Review 8: alice's claim, taken by bob in a sibling worktree (a steal
/// after her lease lapsed), left her free to close and edit the issue in
/// her own worktree, where a recovery made there refuses (SPEC §7). Now the
/// ledger's later claim refuses her writes the same way, writing nothing.
#[test]
fn review8_a_claim_taken_in_a_sibling_refuses_the_old_holders_writes() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "taken next door", &[]);
    m.bd(&m.a, "tester", &["config", "set", "lease", "1s"]).ok();
    m.bd(&m.a, "alice", &["claim", &x]).ok();
    let wt = sibling(&m, "wt-taken");
    // An hour later (the test clock's), alice silent: bob steals it.
    m.bd_at(
        &wt,
        Some("bob"),
        "2027-01-01T01:00:00Z",
        &["claim", &x, "--steal"],
    )
    .ok();
    let file = m.a.join(".beads/issues.jsonl");
    let before = std::fs::read(&file).unwrap();
    for args in [
        vec!["close", x.as_str()],
        vec!["update", x.as_str(), "--status", "closed"],
        vec!["update", x.as_str(), "--title", "still mine"],
        vec!["unclaim", x.as_str()],
    ] {
        let r = m.bd(&m.a, "alice", &args).code(3);
        assert!(r.stderr.contains("taken by bob"), "{args:?}: {}", r.stderr);
    }
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "refused writes wrote"
    );
    // The new holder works on it here.
    m.bd(&m.a, "bob", &["update", &x, "--notes", "on it"]).ok();
    // --force insists.
    m.bd(
        &m.a,
        "alice",
        &["update", &x, "--title", "forced", "--force"],
    )
    .ok();
}

/// Review 8: an epic whose child was reopened and claimed in a sibling
/// worktree was closed here (`close`, `update --status closed`, `epic
/// close-eligible`): the guard read only this file. The child counts as
/// the machine knows it.
#[test]
fn review8_an_epic_is_not_closed_over_a_child_claimed_next_door() {
    let m = Machine::new(0);
    let e = m.create(&m.a, "Epic", &["-t", "epic"]);
    let c = m.create(&m.a, "child", &["--parent", &e]);
    m.bd(&m.a, "tester", &["close", &c]).ok();
    let wt = sibling(&m, "wt-epic");
    m.bd(&wt, "bob", &["reopen", &c]).ok();
    m.bd(&wt, "bob", &["claim", &c]).ok();
    let file = m.a.join(".beads/issues.jsonl");
    let before = std::fs::read(&file).unwrap();
    let v = m.json(&m.a, "alice", &["epic", "status"]);
    assert_eq!(v[0]["closed_children"], 0, "{v}");
    assert_eq!(v[0]["eligible_for_close"], false, "{v}");
    let v = m.json(&m.a, "alice", &["epic", "close-eligible"]);
    assert_eq!(v["count"], 0, "{v}");
    for args in [
        vec!["close", e.as_str()],
        vec!["update", e.as_str(), "--status", "closed"],
    ] {
        let r = m.bd(&m.a, "alice", &args).code(3);
        assert!(r.stderr.contains("open children"), "{args:?}: {}", r.stderr);
    }
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

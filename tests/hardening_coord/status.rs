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
/// refused, and an update next door that would hand the issue to another
/// holder is refused too (exit 3) unless forced.
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
    let r = m
        .bd(
            &wt,
            "dave",
            &[
                "update",
                &y,
                "--status",
                "in_progress",
                "--assignee",
                "dave",
            ],
        )
        .code(3);
    assert!(r.stderr.contains("held by carol"), "{}", r.stderr);
    // Other fields stay editable next door.
    m.bd(&wt, "dave", &["update", &y, "-p", "1"]).ok();
    m.bd(
        &wt,
        "dave",
        &[
            "update",
            &y,
            "--status",
            "in_progress",
            "--assignee",
            "dave",
            "--force",
        ],
    )
    .ok();
    assert_eq!(ledger_event(&m, &y).unwrap()["holder"], "dave");
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

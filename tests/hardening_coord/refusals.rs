//! Deleted issues, lock timeouts, epics, prime's mail count (item 18).

use super::*;

// ---------------------------------------------------------------------------
// Item 18 (the coordination part): one test per sub-bug.
// ---------------------------------------------------------------------------

#[test]
fn item_18_prime_says_how_many_unread_messages_it_does_not_list() {
    let m = Machine::new(0);
    m.bd(&m.a, "bob", &["agent", "register"]).ok();
    for i in 0..4 {
        m.bd(
            &m.a,
            "alice",
            &[
                "mail",
                "send",
                "--to",
                "bob",
                "-s",
                &format!("note {i}"),
                "-b",
                "x",
            ],
        )
        .ok();
    }
    let r = m.bd(&m.a, "bob", &["prime"]).ok();
    let t = &r.stdout;
    let listed = t.lines().filter(|l| l.contains(" from alice: ")).count();
    assert_eq!(listed, 3, "{t}");
    crate::assert_human!(m.env, "prime_counts_unread_mail", r.transcript());
    assert_eq!(m.json(&m.a, "bob", &["prime"])["unread_mail"], 4);
}

#[test]
fn item_18_a_deleted_issue_refuses_comment_label_and_dep_like_close() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "doomed", &[]);
    let y = m.create(&m.a, "alive", &[]);
    m.bd(&m.a, "alice", &["delete", &x]).ok();
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    let close = m.bd(&m.a, "alice", &["close", &x]);
    assert_ne!(close.code, 0);
    let attempts: Vec<Vec<&str>> = vec![
        vec!["comment", &x, "still here?"],
        vec!["label", "add", &x, "urgent"],
        vec!["dep", "add", &x, &y],
        vec!["dep", "add", &y, &x],
        vec!["defer", &x, "--until", "2099-01-01"],
        vec!["update", &x, "--defer", "2099-01-01"],
        vec!["update", &x, "-p", "1"],
    ];
    // Claiming and slinging say the same words; not claimable is a
    // conflict (SPEC §4: exit 3).
    for args in [vec!["claim", &x], vec!["sling", &x, "bob"]] {
        let r = m.bd(&m.a, "alice", &args).code(3);
        assert!(
            r.stderr
                .contains(&format!("{x} is deleted; `bd restore` it first")),
            "{args:?}: {}",
            r.stderr
        );
    }
    for args in &attempts {
        let r = m.bd(&m.a, "alice", args);
        assert_eq!(
            r.code, close.code,
            "{args:?} refused like close: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("{x} is deleted")),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(
        std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
        before
    );
}

#[test]
fn item_18_a_ledger_lock_timeout_names_the_ledger() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "work", &[]);
    let lock = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(m.project_dir().join("ledger.lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut c = m.cmd(&m.a, "alice", &["claim", &x]);
    c.env("BD_LOCK_TIMEOUT_MS", "300");
    let r = run_of(c.output().unwrap());
    lock.unlock().unwrap();
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("claim ledger"), "{}", r.stderr);
    assert!(!r.stderr.contains("workspace"), "{}", r.stderr);
    assert!(r.stderr.contains("ledger.lock"), "{}", r.stderr);
}

#[test]
fn item_18_closing_an_epic_with_open_children_needs_force() {
    let m = Machine::new(0);
    let epic = m.create(&m.a, "the epic", &["-t", "epic"]);
    let kid = m.create(&m.a, "a child", &["--parent", &epic]);
    let r = m.bd(&m.a, "alice", &["close", &epic]).code(3);
    assert!(r.stderr.contains(&kid), "{}", r.stderr);
    assert_eq!(record(&m.a, &epic)["status"], "open");
    // Children closed first, the epic closes.
    m.bd(&m.a, "alice", &["close", &kid]).ok();
    m.bd(&m.a, "alice", &["close", &epic]).ok();
    // Or with --force.
    let epic2 = m.create(&m.a, "another epic", &["-t", "epic"]);
    m.create(&m.a, "its child", &["--parent", &epic2]);
    m.bd(&m.a, "alice", &["close", &epic2, "--force"]).ok();
}

/// Review break 11: a deleted issue was accepted as a parent, a dependency
/// and a convoy item; a convoy counted a deleted item as done.
#[test]
fn item_18_review_a_deleted_issue_is_no_parent_dependency_or_convoy_item() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "doomed", &[]);
    let y = m.create(&m.a, "alive", &[]);
    let cv = m.json(&m.a, "tester", &["convoy", "create", "train"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    m.bd(&m.a, "alice", &["delete", &x]).ok();
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    let close = m.bd(&m.a, "alice", &["close", &x]);
    assert_ne!(close.code, 0);
    for args in [
        vec!["create", "child", "--parent", &x],
        vec!["create", "dependent", "--deps", &x],
        vec!["update", &y, "--parent", &x],
        vec!["convoy", "add", &cv, &x],
        vec!["convoy", "create", "train2", &x],
    ] {
        let r = m.bd(&m.a, "alice", &args);
        assert_eq!(r.code, close.code, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("{x} is deleted")),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(
        std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
        before
    );

    // Tracked, then deleted: not done.
    let z = m.create(&m.a, "tracked", &[]);
    let w = m.create(&m.a, "tracked too", &[]);
    m.bd(&m.a, "tester", &["convoy", "add", &cv, &z, &w]).ok();
    m.bd(&m.a, "tester", &["delete", &w]).ok();
    let st = m.json(&m.a, "tester", &["convoy", "status", &cv]);
    assert_eq!(
        (st["tracked"].clone(), st["done"].clone()),
        (json!(1), json!(0)),
        "{st}"
    );
    m.bd(&m.a, "tester", &["close", &z]).ok();
    let st = m.json(&m.a, "tester", &["convoy", "status", &cv]);
    assert_eq!(
        (st["tracked"].clone(), st["done"].clone()),
        (json!(1), json!(1)),
        "{st}"
    );
    assert_eq!(st["status"], "closed", "{st}");
}

/// Review 2, item 18: `mail send --issue <deleted>` was accepted while every
/// other verb refuses a deleted issue; it is refused with `close`'s words.
#[test]
fn item_18_review2_mail_about_a_deleted_issue_is_refused_like_close() {
    let m = Machine::new(0);
    m.bd(&m.a, "bob", &["agent", "register"]).ok();
    let x = m.create(&m.a, "doomed", &[]);
    m.bd(&m.a, "alice", &["delete", &x]).ok();
    let close = m.bd(&m.a, "alice", &["close", &x]);
    assert_ne!(close.code, 0);
    let mail = m.a.join(".beads/mail.jsonl");
    let before = bytes_or_none(&mail);
    let r = m.bd(
        &m.a,
        "alice",
        &[
            "mail", "send", "--to", "bob", "-s", "about X", "--issue", &x,
        ],
    );
    assert_eq!(r.code, close.code, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("{x} is deleted")),
        "{}",
        r.stderr
    );
    assert_eq!(bytes_or_none(&mail), before, "no message written");
    // A live issue is fine; a reply after it was deleted drops the link.
    let y = m.create(&m.a, "alive", &[]);
    let sent = m.json(
        &m.a,
        "alice",
        &[
            "mail", "send", "--to", "bob", "-s", "about Y", "--issue", &y,
        ],
    );
    assert_eq!(sent["issue"], y.as_str(), "{sent}");
    m.bd(&m.a, "alice", &["delete", &y]).ok();
    let id = sent["id"].as_str().unwrap();
    let reply = m.json(&m.a, "bob", &["mail", "reply", id, "-b", "ok"]);
    assert!(reply["issue"].is_null(), "{reply}");
}

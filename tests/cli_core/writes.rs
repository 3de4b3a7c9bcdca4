//! What a write touches: one line, or nothing when nothing changed.

use super::*;

#[test]
fn a_change_rewrites_only_its_line() {
    let env = TestEnvironment::new();
    let mut all = Vec::new();
    for i in 0..6 {
        all.push(env.create(&format!("Issue {i}"), &["-l", "x", "-d", "some text"]));
    }
    // A line written by another tool (other key order, spacing, unknown key)
    // sorted last, must survive byte for byte.
    let mut text = env.issues_text();
    let foreign = r#"{"title": "Foreign", "id": "bd-zzzz", "zz_unknown": {"b":1, "a":[1,2]}, "status": "open", "priority": 2, "issue_type": "task", "created_at": "2024-01-01T00:00:00.5+00:00"}"#;
    text.push_str(foreign);
    text.push('\n');
    std::fs::write(env.issues_path(), &text).unwrap();

    let before: Vec<String> = env.issues_text().lines().map(str::to_string).collect();
    let target = all[2].clone();
    env.bd(&["update", &target, "--title", "Changed", "-p", "0"])
        .ok();
    let after: Vec<String> = env.issues_text().lines().map(str::to_string).collect();
    assert_eq!(before.len(), after.len());
    let mut changed = 0;
    for (b, a) in before.iter().zip(&after) {
        if b.contains(&format!("\"id\":\"{target}\"")) {
            assert_ne!(b, a);
            changed += 1;
        } else {
            assert_eq!(b, a, "other lines stay byte-identical");
        }
    }
    assert_eq!(changed, 1);
    assert_eq!(after.last().unwrap(), foreign);

    // The same for close, label add, and a change to the foreign record's neighbour.
    for args in [
        vec!["close", all[0].as_str()],
        vec!["label", "add", all[4].as_str(), "new"],
        vec!["claim", all[5].as_str()],
        vec!["delete", all[1].as_str()],
    ] {
        let before: Vec<String> = env.issues_text().lines().map(str::to_string).collect();
        env.bd(&args).ok();
        let after: Vec<String> = env.issues_text().lines().map(str::to_string).collect();
        let diff = before.iter().zip(&after).filter(|(b, a)| b != a).count();
        assert_eq!(before.len(), after.len(), "{args:?}");
        assert_eq!(diff, 1, "{args:?} changed exactly one line");
    }
    assert_eq!(env.issues_text().lines().last().unwrap(), foreign);
    assert!(env.issues_text().ends_with('\n'));
}

#[test]
fn nothing_changed_table() {
    let env = TestEnvironment::new();
    let closed = env.create("Closed one", &[]);
    env.bd(&["close", &closed]).ok();
    let open = env.create(
        "Open one",
        &["-l", "have", "-p", "1", "-t", "bug", "-a", "amy"],
    );
    let other = env.create("Other", &[]);
    let dep = env.create("Depends", &["--deps", &other]);
    let claimed = env.create("Claimed", &[]);
    env.bd(&["claim", &claimed]).ok();
    let deferred = env.create("Deferred", &["--defer", "2099-01-01"]);
    let deleted = env.create("Deleted", &[]);
    env.bd(&["delete", &deleted]).ok();
    let parent = env.create("Parent", &[]);
    let child = env.create("Child", &["--parent", &parent]);
    env.bd(&["config", "set", "lease", "20m"]).ok();
    env.bd(&[
        "config",
        "set",
        "--machine",
        "projects.o.remote",
        "/srv/o.git",
    ])
    .ok();

    let nc = "Nothing changed";
    let rows = vec![
        row(
            "close closed",
            &["close", &closed],
            0,
            None,
            &[nc, "already closed"],
        ),
        row(
            "close closed with reason",
            &["close", &closed, "--reason", "x"],
            0,
            None,
            &[nc, "already closed"],
        ),
        row(
            "reopen open",
            &["reopen", &open],
            0,
            None,
            &[nc, "not closed"],
        ),
        row(
            "label add existing",
            &["label", "add", &open, "have"],
            0,
            None,
            &[nc, "already has label"],
        ),
        row(
            "label remove missing",
            &["label", "remove", &open, "nope"],
            1,
            Some("not_found"),
            &["nothing removed"],
        ),
        row(
            "update --add-label existing",
            &["update", &open, "--add-label", "have"],
            0,
            None,
            &[nc],
        ),
        row(
            "dep add existing",
            &["dep", "add", &dep, &other],
            0,
            None,
            &[nc, "already depends"],
        ),
        row(
            "dep remove missing",
            &["dep", "remove", &open, &other],
            1,
            Some("not_found"),
            &["nothing removed"],
        ),
        row(
            "dep remove wrong type",
            &["dep", "remove", &dep, &other, "-t", "related"],
            1,
            Some("not_found"),
            &["nothing removed"],
        ),
        row(
            "undefer not deferred",
            &["undefer", &open],
            0,
            None,
            &[nc, "not deferred"],
        ),
        row(
            "defer to same date",
            &["defer", &deferred, "--until", "2099-01-01"],
            0,
            None,
            &[nc, "already deferred"],
        ),
        row(
            "unclaim unclaimed",
            &["unclaim", &other],
            0,
            None,
            &[nc, "not claimed"],
        ),
        row(
            "claim by holder",
            &["claim", &claimed],
            0,
            None,
            &[nc, "already claimed"],
        ),
        row(
            "update --claim by holder",
            &["update", &claimed, "--claim"],
            0,
            None,
            &[nc, "already claimed"],
        ),
        row(
            "update identical values",
            &[
                "update", &open, "--title", "Open one", "-p", "P1", "-t", "bug", "-a", "amy", "-s",
                "open",
            ],
            0,
            None,
            &[nc, "already has these values"],
        ),
        row(
            "update same parent",
            &["update", &child, "--parent", &parent],
            0,
            None,
            &[nc],
        ),
        row(
            "update detach without parent",
            &["update", &open, "--parent", ""],
            0,
            None,
            &[nc],
        ),
        row(
            "delete deleted",
            &["delete", &deleted],
            0,
            None,
            &[nc, "already deleted"],
        ),
        row(
            "restore live",
            &["restore", &open],
            0,
            None,
            &[nc, "not deleted"],
        ),
        row(
            "config set same value",
            &["config", "set", "lease", "20m"],
            0,
            None,
            &[nc, "already"],
        ),
        row(
            "config unset unset key",
            &["config", "unset", "project"],
            0,
            None,
            &[nc, "not set"],
        ),
        row(
            "config set --machine same value",
            &[
                "config",
                "set",
                "--machine",
                "projects.o.remote",
                "/srv/o.git",
            ],
            0,
            None,
            &[nc, "already"],
        ),
        row(
            "config unset --machine unset key",
            &["config", "unset", "--machine", "projects.p.remote"],
            0,
            None,
            &[nc, "not set"],
        ),
        row(
            "config unset unknown key",
            &["config", "unset", "bogus_key"],
            1,
            Some("not_found"),
            &["bogus_key"],
        ),
        row(
            "init twice",
            &["init"],
            0,
            None,
            &[nc, "already initialized"],
        ),
        row(
            "init twice same prefix",
            &["init", "--prefix", "bd"],
            0,
            None,
            &[nc],
        ),
    ];

    check_rows(&env, &rows);

    // The JSON of a no-op config change says so; -q silences the notice.
    let v = env.json(&["config", "set", "lease", "20m"]);
    assert_eq!(v["changed"], false);
    let v = env.json(&["config", "unset", "project"]);
    assert_eq!(v["changed"], false);
    let r = env.bd(&["-q", "close", &closed]).ok();
    assert_eq!(r.stderr, "", "-q hides the notice");
    // Several IDs: the unchanged one gets a notice, the other changes.
    let r = env.bd(&["close", &closed, &other]).ok();
    assert!(r.stderr.contains("already closed"), "{}", r.stderr);
    assert_eq!(env.record(&other)["status"], "closed");
}

//! `bd update`, `close`/`reopen`, `delete`/`restore`, `defer`/`undefer`.

use super::*;

// ---------------------------------------------------------------- update

#[test]
fn update_every_field() {
    let env = TestEnvironment::new();
    let x = env.create("Original", &["-d", "old desc", "-a", "zed"]);
    let y = env.create("Other", &[]);

    let v = env.json(&[
        "update",
        &x,
        "--title",
        "  New title ",
        "-d",
        "new desc",
        "--design",
        "the design",
        "--acceptance",
        "it works",
        "--notes",
        "some notes",
        "-p",
        "high",
        "-t",
        "feature",
        "-a",
        "bob",
        "--owner",
        "olga",
        "--estimate",
        "30",
        "--due",
        "2031-05-06",
        "--external-ref",
        "gh-12",
        "--add-label",
        "l2",
        "--add-label",
        "l1",
    ]);
    // A list even for one issue, as classic `update` gives it.
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    let v = &v[0];
    assert_eq!(v["id"], x.as_str());
    let r = env.record(&x);
    assert_eq!(r["title"], "New title");
    assert_eq!(r["description"], "new desc");
    assert_eq!(r["design"], "the design");
    assert_eq!(r["acceptance_criteria"], "it works");
    assert_eq!(r["notes"], "some notes");
    assert_eq!(r["priority"], 1);
    assert_eq!(r["issue_type"], "feature");
    assert_eq!(r["assignee"], "bob");
    assert_eq!(r["owner"], "olga");
    assert_eq!(r["estimated_minutes"], 30);
    assert!(r["due_at"].as_str().unwrap().starts_with("2031-05-06"));
    assert_eq!(r["external_ref"], "gh-12");
    assert_eq!(r["labels"], serde_json::json!(["l1", "l2"]));
    assert_eq!(v["title"], "New title");
    assert_ne!(r["updated_at"], r["created_at"]);

    let show = env.bd(&["show", &x]).ok();
    crate::assert_human!(env, "show_after_update", show.transcript());
    let r = env.bd(&["update", &x, "-s", "in_progress"]).ok();
    crate::assert_human!(env, "update_status", r.transcript());
    assert_eq!(env.record(&x)["status"], "in_progress");
    env.bd(&["update", &x, "--status", "open"]).ok();
    env.bd(&["update", &x, "--remove-label", "l1"]).ok();
    assert_eq!(env.record(&x)["labels"], serde_json::json!(["l2"]));
    env.bd(&["update", &x, "-a", "", "-d", ""]).ok();
    let r = env.record(&x);
    assert!(r.get("assignee").is_none(), "\"\" clears the assignee: {r}");
    assert!(
        r.get("description").is_none(),
        "\"\" clears the description: {r}"
    );

    // Several IDs → an array.
    let v = env.json(&["update", &x, &y, "-p", "0"]);
    assert_eq!(ids(&v), vec![x.clone(), y.clone()]);
    assert_eq!(env.record(&y)["priority"], 0);

    // Refusals, none of which writes.
    let before = state(&env.issues_path());
    let e = fail_json(
        &env,
        &["update", &x, "--claim", "--status", "open"],
        2,
        "usage",
    );
    assert!(e["error"].as_str().unwrap().contains("--claim"));
    fail_json(
        &env,
        &["update", &x, "--claim", "-a", "someone"],
        2,
        "usage",
    );
    let e = fail_json(&env, &["update", &x, "--status", "deferred"], 1, "invalid");
    assert!(e["error"].as_str().unwrap().contains("date"), "{e}");
    fail_json(&env, &["update", &x, "--status", "tombstone"], 1, "invalid");
    fail_json(&env, &["update", &x, "--status", "bogus"], 1, "invalid");
    fail_json(&env, &["update", &x, "-p", "P7"], 1, "invalid");
    fail_json(&env, &["update", &x, "-t", "bogus"], 1, "invalid");
    fail_json(&env, &["update", &x, "--title", "   "], 1, "invalid");
    fail_json(&env, &["update", &x, "--defer", "2001-01-01"], 1, "invalid");
    fail_json(&env, &["update", &x, "--estimate", "-1"], 1, "invalid");
    fail_json(&env, &["update", "bd-nothere9", "-p", "1"], 1, "not_found");
    fail_json(
        &env,
        &["update", &x, "bd-nothere9", "-p", "4"],
        1,
        "not_found",
    );
    assert_eq!(
        before,
        state(&env.issues_path()),
        "refused updates write nothing"
    );
    assert_eq!(env.record(&x)["status"], "open");

    // Deferring through update needs a future date.
    env.bd(&[
        "update",
        &x,
        "--status",
        "deferred",
        "--defer",
        "2099-01-01",
    ])
    .ok();
    let r = env.record(&x);
    assert_eq!(r["status"], "deferred");
    assert!(r["defer_until"].as_str().unwrap().starts_with("2099-01-01"));
}

#[test]
fn update_reparent() {
    let env = TestEnvironment::new();
    let p1 = env.create("P1", &[]);
    let p2 = env.create("P2", &[]);
    let c = env.create("C", &["--parent", &p1]);
    let cc = env.create("CC", &["--parent", &c]);

    let v = &env.json(&["update", &c, "--parent", &p2])[0];
    assert_eq!(v["parent"], p2.as_str());
    let rec = env.record(&c);
    let edges: Vec<&Value> = rec["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["type"] == "parent-child")
        .collect();
    assert_eq!(edges.len(), 1, "exactly one parent edge");
    assert_eq!(edges[0]["depends_on_id"], p2.as_str());
    // The old parent no longer lists it, by any route; the new one does.
    assert_eq!(set(&env.json(&["children", &p1])), strs(&[]));
    assert_eq!(set(&env.json(&["children", &p1, "--recursive"])), strs(&[]));
    assert_eq!(set(&env.json(&["list", "--parent", &p1])), strs(&[]));
    assert_eq!(env.json(&["count", "--parent", &p1])["count"], 0);
    assert_eq!(set(&env.json(&["children", &p2])), strs(&[&c]));
    assert_eq!(set(&env.json(&["list", "--parent", &p2])), strs(&[&c, &cc]));
    assert_eq!(env.json(&["show", &c])["parent"], p2.as_str());

    // Reparenting under its own descendant (or itself) is a cycle.
    let before = state(&env.issues_path());
    let e = fail_json(&env, &["update", &p2, "--parent", &cc], 1, "invalid");
    assert!(e["error"].as_str().unwrap().contains("cycle"), "{e}");
    let e = fail_json(&env, &["update", &p2, "--parent", &c], 1, "invalid");
    assert!(e["error"].as_str().unwrap().contains("cycle"), "{e}");
    let err = fail(&env, &["update", &c, "--parent", &c], 1);
    assert!(err.contains("cycle"), "{err}");
    assert_eq!(before, state(&env.issues_path()));

    // "" detaches.
    env.bd(&["update", &c, "--parent", ""]).ok();
    assert_eq!(env.json(&["show", &c])["parent"], Value::Null);
    assert_eq!(set(&env.json(&["children", &p2])), strs(&[]));
}

// ---------------------------------------------------------------- close / reopen

#[test]
fn close_and_reopen() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let blocker = env.create("Blocker", &[]);
    let waiting = env.create("Waiting", &["--deps", &blocker]);

    // A list even for one issue, as classic `close` gives it.
    let v = env.json(&["close", &a, "--reason", "done and dusted"]);
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    let v = &v[0];
    assert_eq!(v["status"], "closed");
    let r = env.record(&a);
    assert_eq!(r["status"], "closed");
    assert_eq!(r["close_reason"], "done and dusted");
    assert!(r["closed_at"].is_string());

    // Closing a blocked issue is refused (non-zero) unless --force.
    let before = state(&env.issues_path());
    let r = env.bd(&["close", &waiting]);
    assert_ne!(r.code, 0, "close guard refuses");
    assert_ne!(r.code, 2, "not a usage error");
    crate::assert_human!(env, "close_blocked_refused", r.transcript());
    let r = env.bd(&["--json", "close", &waiting]);
    assert_ne!(r.code, 0);
    let e = r.json();
    assert!(e["error"].as_str().unwrap().contains(&blocker));
    assert_eq!(before, state(&env.issues_path()));
    assert_eq!(env.record(&waiting)["status"], "open");
    // update --status closed (classic allows it) goes through the same
    // path and its guard: the same refusal, the same exit, nothing written.
    let e = fail_json(
        &env,
        &["update", &waiting, "--status", "closed"],
        3,
        "conflict",
    );
    assert!(e["error"].as_str().unwrap().contains(&blocker), "{e}");
    assert_eq!(before, state(&env.issues_path()));
    env.bd(&["close", &waiting, "--force"]).ok();
    assert_eq!(env.record(&waiting)["status"], "closed");

    // Closing the blocker first works without --force.
    let w2 = env.create("W2", &["--deps", &blocker]);
    env.bd(&["close", &blocker]).ok();
    env.bd(&["close", &w2]).ok();

    // Close twice: exit 0 and a notice.
    let before = state(&env.issues_path());
    let r = env.bd(&["close", &a]).ok();
    crate::assert_human!(env, "close_twice", r.transcript());
    assert_eq!(before, state(&env.issues_path()));

    // Reopen clears the close fields.
    let v = env.json(&["reopen", &a, "--reason", "not done after all"]);
    assert_eq!(v[0]["status"], "open");
    let last = v[0]["comments"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["text"], "Reopened: not done after all");
    assert_eq!(last["author"], "tester");
    let r = env.record(&a);
    assert_eq!(r["status"], "open");
    assert!(r.get("closed_at").is_none(), "{r}");
    assert!(r.get("close_reason").is_none(), "{r}");
    assert!(set(&env.json(&["list"])).contains(&a));
    fail_json(&env, &["close", "bd-nothere9"], 1, "not_found");
    fail_json(&env, &["reopen", "bd-nothere9"], 1, "not_found");

    // Partial IDs; several IDs give an array; one already closed is a notice.
    let p = env.create("P", &[]);
    env.bd(&["close", p.trim_start_matches("bd-")]).ok();
    assert_eq!(env.record(&p)["status"], "closed");
    let q = env.create("Q", &[]);
    let r = env.bd(&["--json", "close", &p, &q]).ok();
    assert_eq!(ids(&r.json()), vec![p.clone(), q.clone()]);
    assert!(r.stderr.contains("already closed"), "{}", r.stderr);
    assert_eq!(env.record(&q)["status"], "closed");
    // A refusal in a batch writes nothing for any of them.
    let s1 = env.create("S1", &[]);
    let s3 = env.create("S3", &[]);
    let s2 = env.create("S2", &["--deps", &s3]);
    let before = state(&env.issues_path());
    assert_ne!(env.bd(&["close", &s1, &s2]).code, 0);
    assert_eq!(before, state(&env.issues_path()));
    // Closing a blocker together with what it blocks, blocker first, is fine.
    env.bd(&["close", &s3, &s2]).ok();
    assert_eq!(env.record(&s2)["status"], "closed");
}

// ---------------------------------------------------------------- delete / restore

#[test]
fn delete_and_restore() {
    let env = TestEnvironment::new();
    let a = env.create("Doomed", &["-t", "bug", "-p", "0"]);
    let b = env.create("Stays", &[]);
    let w = env.create("Waits on doomed", &["--deps", &a, "-p", "4"]);
    assert_eq!(set(&env.json(&["blocked"])), strs(&[&w]));
    let v = env.json(&["delete", &a, "--reason", "duplicate"]);
    assert_eq!(v["status"], "tombstone");
    let r = env.record(&a);
    assert_eq!(r["status"], "tombstone");
    assert!(r["deleted_at"].is_string(), "{r}");
    assert_eq!(r["deleted_by"], "tester");
    assert_eq!(r["original_type"], "bug");
    assert_eq!(r["delete_reason"], "duplicate");
    assert!(r.get("closed_at").is_none());

    assert_eq!(set(&env.json(&["list"])), strs(&[&b, &w]));
    assert_eq!(set(&env.json(&["list", "--all"])), strs(&[&b, &w]));
    // A deleted blocker no longer blocks.
    assert_eq!(set(&env.json(&["ready"])), strs(&[&b, &w]));
    assert_eq!(set(&env.json(&["blocked"])), strs(&[]));
    assert_eq!(env.json(&["count"])["count"], 2);
    assert_eq!(env.json(&["count", "--all"])["count"], 2);
    let stale = env
        .bd_at("2200-01-01T00:00:00Z", &["--json", "stale", "--days", "1"])
        .ok()
        .json();
    assert_eq!(set(&stale), strs(&[&b, &w]));
    // Still on file: the tombstone syncs.
    assert_eq!(env.records().len(), 3);

    // A deleted issue is not closed, claimed or reopened.
    fail(&env, &["close", &a], 1);
    fail(&env, &["reopen", &a], 1);
    assert_ne!(env.bd(&["claim", &a]).code, 0);
    fail(&env, &["update", &a, "--status", "open"], 1);

    let v = env.json(&["restore", &a]);
    assert_eq!(v["status"], "open");
    let r = env.record(&a);
    assert_eq!(r["status"], "open");
    assert_eq!(r["issue_type"], "bug");
    for k in ["deleted_at", "deleted_by", "delete_reason", "original_type"] {
        assert!(r.get(k).is_none(), "restore clears {k}: {r}");
    }
    assert_eq!(set(&env.json(&["list"])), strs(&[&a, &b, &w]));
    assert_eq!(ids(&env.json(&["ready"]))[0], a, "P0 first again");
    assert_eq!(set(&env.json(&["blocked"])), strs(&[&w]), "blocks again");
    fail_json(&env, &["delete", "bd-nothere9"], 1, "not_found");
    fail_json(&env, &["restore", "bd-nothere9"], 1, "not_found");
}

// ---------------------------------------------------------------- defer / undefer

#[test]
fn defer_and_undefer() {
    let env = TestEnvironment::new();
    let a = env.create("Later", &[]);
    let b = env.create("Now", &[]);
    let v = env.json(&["defer", &a, "--until", "+2d"]);
    assert_eq!(v["status"], "deferred");
    let r = env.record(&a);
    assert_eq!(r["status"], "deferred");
    assert!(r["defer_until"].is_string());
    assert_eq!(
        set(&env.json(&["ready"])),
        strs(&[&b]),
        "deferred to the future: not ready"
    );
    assert!(
        set(&env.json(&["list"])).contains(&a),
        "deferred issues are listed"
    );

    // Once the date has passed, a deferred issue is ready again.
    let later = "2099-12-31T00:00:00Z";
    let ready_later = set(&env.bd_at(later, &["--json", "ready"]).ok().json());
    assert_eq!(ready_later, strs(&[&a, &b]));

    let before = state(&env.issues_path());
    let e = fail_json(&env, &["defer", &b, "--until", "2001-01-01"], 1, "invalid");
    assert!(e["error"].as_str().unwrap().contains("future"), "{e}");
    fail_json(&env, &["defer", &b, "--until=-1d"], 1, "invalid");
    fail_json(&env, &["defer", &b, "--until", "whenever"], 1, "invalid");
    assert_eq!(before, state(&env.issues_path()));
    // No date: deferred until `undefer` (classic's status-based deferral).
    let v = env.json(&["defer", &a]);
    assert_eq!(v["status"], "deferred");
    // Words as classic reads them.
    let v = env.json(&["defer", &a, "--until", "tomorrow"]);
    assert!(
        v["defer_until"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00.000000000Z"),
        "{v}"
    );

    let v = env.json(&["undefer", &a]);
    assert_eq!(v["status"], "open");
    let r = env.record(&a);
    assert_eq!(r["status"], "open");
    assert!(r.get("defer_until").is_none(), "{r}");
    assert_eq!(set(&env.json(&["ready"])), strs(&[&a, &b]));

    // A closed issue cannot be deferred.
    env.bd(&["close", &b]).ok();
    fail(&env, &["defer", &b, "--until", "+1d"], 1);
}

/// `update --remove-label` of a label the issue does not have is the same named
/// removal as `label remove`: with nothing else to change it must fail the same
/// way (SPEC §4: "1 where a named removal did not exist"), not exit 0.
#[test]
fn update_remove_missing_label_is_a_failed_removal() {
    let env = TestEnvironment::new();
    let x = env.create("X", &["-l", "have"]);
    check_rows(
        &env,
        &[row(
            "update --remove-label missing",
            &["update", &x, "--remove-label", "nope"],
            1,
            Some("not_found"),
            &["nope"],
        )],
    );
    // Mixed with a real change, the change happens and the missing label is noted.
    let r = env
        .bd(&["update", &x, "-p", "0", "--remove-label", "nope"])
        .ok();
    crate::assert_human!(env, "update_with_a_missing_label", r.transcript());
    assert_eq!(env.record(&x)["priority"], 0);
    // `label remove` from one issue that has the label and one that has not
    // removes it where present and names the other.
    let y = env.create("No label", &[]);
    let r = env.bd(&["label", "remove", &x, &y, "have"]).ok();
    assert!(
        r.stderr.contains(&format!("{y} had no label 'have'")),
        "{}",
        r.stderr
    );
    assert!(env.record(&x).get("labels").is_none());
}

/// "Values compare by meaning: times as instants" (SPEC §3): a time written by
/// another tool in another spelling of the same instant is not a change, so
/// these commands change nothing and must not rewrite the file.
#[test]
fn same_instant_in_other_spelling_is_not_a_change() {
    let env = TestEnvironment::new();
    let line_due = r#"{"id":"bd-aaa","title":"Due","status":"open","priority":2,"issue_type":"task","created_at":"2024-01-01T00:00:00Z","created_by":"classic","updated_at":"2024-01-01T00:00:00Z","due_at":"2030-01-02T00:00:00Z"}"#;
    let line_def = r#"{"id":"bd-bbb","title":"Deferred","status":"deferred","priority":2,"issue_type":"task","created_at":"2024-01-01T00:00:00Z","created_by":"classic","updated_at":"2024-01-01T00:00:00Z","defer_until":"2099-01-01T01:00:00+01:00"}"#;
    std::fs::write(env.issues_path(), format!("{line_due}\n{line_def}\n")).unwrap();
    let nc = "Nothing changed";
    check_rows(
        &env,
        &[
            row(
                "update --due same instant",
                &["update", "bd-aaa", "--due", "2030-01-02"],
                0,
                None,
                &[nc],
            ),
            row(
                "update --due same instant (RFC 3339)",
                &["update", "bd-aaa", "--due", "2030-01-02T00:00:00.000Z"],
                0,
                None,
                &[nc],
            ),
            row(
                "defer to same instant",
                &["defer", "bd-bbb", "--until", "2099-01-01"],
                0,
                None,
                &[nc],
            ),
            row(
                "update --defer same instant",
                &["update", "bd-bbb", "--defer", "2099-01-01"],
                0,
                None,
                &[nc],
            ),
        ],
    );
}

//! `bd ready`, `blocked`, `stale`, `claim`/`unclaim`.

use super::*;

// ---------------------------------------------------------------- ready / blocked

#[test]
fn ready_order_is_priority_then_oldest_then_id() {
    let env = TestEnvironment::new();
    let t0 = "2024-01-01T00:00:00Z";
    let t1 = "2024-01-02T00:00:00Z";
    let t2 = "2024-01-03T00:00:00Z";
    let t3 = "2024-01-04T00:00:00Z";
    let a = create_at(&env, t2, "A", &["-p", "1"]);
    let b = create_at(&env, t1, "B", &["-p", "1"]);
    let c = create_at(&env, t3, "C", &["-p", "0"]);
    let d = create_at(&env, t0, "D", &["-p", "2"]);
    let e1 = create_at(&env, t1, "E1", &["-p", "1"]);
    let e2 = create_at(&env, t1, "E2", &["-p", "1"]);
    assert!(
        env.record(&b)["created_at"]
            .as_str()
            .unwrap()
            .starts_with("2024-01-02T00:00:00")
    );

    let mut same_time = [b.clone(), e1.clone(), e2.clone()];
    same_time.sort();
    let mut want = vec![c.clone()];
    want.extend(same_time.iter().cloned());
    want.push(a.clone());
    want.push(d.clone());
    assert_eq!(ids(&env.json(&["ready"])), want);
    // The text output follows the same order.
    let r = env.bd(&["ready"]).ok();
    let pos: Vec<usize> = want
        .iter()
        .map(|i| r.stdout.find(i.as_str()).unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{}", r.stdout);
    crate::assert_human!(env, "ready", r.transcript());

    let mut oldest = vec![d.clone()];
    oldest.extend(same_time.iter().cloned());
    oldest.push(a.clone());
    oldest.push(c.clone());
    assert_eq!(ids(&env.json(&["ready", "--sort", "oldest"])), oldest);
    assert_eq!(
        ids(&env.json(&["ready", "--limit", "2"])),
        want[..2].to_vec()
    );
    assert_eq!(ids(&env.json(&["ready", "-p", "1"])), want[1..5].to_vec());
    fail_json(&env, &["ready", "--sort", "bogus"], 1, "invalid");
    fail_json(&env, &["ready", "--limit", "-3"], 1, "invalid");
}

#[test]
fn ready_excludes_what_is_not_ready_and_blocked_agrees() {
    let env = TestEnvironment::new();
    let free = env.create("Free", &["-p", "1"]);
    let blocker = env.create("Blocker", &["-p", "3"]);
    let blocked = env.create("Blocked", &["--deps", &blocker]);
    let waits = env.create("Waits", &["--deps", &format!("waits-for:{blocker}")]);
    let deferred = env.create("Deferred", &["--defer", "+3d"]);
    let event = env.create("An event", &["-t", "event"]);
    let message = env.create("A message", &["-t", "message"]);
    let parent = env.create("Blocked parent", &["--deps", &blocker]);
    let child = env.create("Child of blocked", &["--parent", &parent]);
    let grandchild = env.create("Grandchild of blocked", &["--parent", &child]);
    let held = env.create("Held status", &[]);
    env.bd(&["update", &held, "--status", "blocked"]).ok();
    let held_kid = env.create("Kid of blocked-status", &["--parent", &held]);
    let dparent = env.create("Deferred parent", &["--defer", "+3d"]);
    let dkid = env.create("Kid of deferred", &["--parent", &dparent]);
    let inprog = env.create("In progress", &[]);
    env.bd(&["claim", &inprog]).ok();
    let closed = env.create("Closed", &[]);
    env.bd(&["close", &closed]).ok();
    let related = env.create("Only related", &["--deps", &format!("related:{blocker}")]);

    let ready = env.json(&["ready"]);
    assert_eq!(set(&ready), strs(&[&free, &blocker, &related]));
    assert_eq!(ids(&ready)[0], free, "P1 before P2 before P3");
    let rset = set(&ready);
    for (id, why) in [
        (&blocked, "blocked"),
        (&waits, "waits-for an open issue"),
        (&deferred, "deferred to the future"),
        (&event, "coordination type event"),
        (&message, "coordination type message"),
        (&parent, "blocked"),
        (&child, "child of a blocked parent"),
        (&grandchild, "grandchild of a blocked parent"),
        (&held, "status blocked"),
        (&held_kid, "child of a blocked-status parent"),
        (&dparent, "deferred to the future"),
        (&dkid, "child of a future-deferred parent"),
        (&inprog, "in progress"),
        (&closed, "closed"),
    ] {
        assert!(!rset.contains(id.as_str()), "{id} ({why}) is not ready");
    }

    // `list --status ready` and `count --status ready` are the same set.
    assert_eq!(set(&env.json(&["list", "--status", "ready"])), rset);
    assert_eq!(
        env.json(&["count", "--status", "ready"])["count"],
        rset.len()
    );

    // The blocked set: edges to open issues and their descendants.
    let bl = env.json(&["blocked"]);
    let bset = set(&bl);
    for id in [
        &blocked,
        &waits,
        &parent,
        &child,
        &grandchild,
        &held,
        &held_kid,
    ] {
        assert!(bset.contains(id.as_str()), "{id} is blocked: {bset:?}");
    }
    for id in [&free, &blocker, &related, &closed, &inprog] {
        assert!(!bset.contains(id.as_str()), "{id} is not blocked: {bset:?}");
    }
    assert_eq!(set(&env.json(&["list", "--status", "blocked"])), bset);
    assert_eq!(
        env.json(&["count", "--status", "blocked"])["count"],
        bset.len()
    );
    let item = bl
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == blocked.as_str())
        .unwrap();
    assert_eq!(item["blocked_by"], serde_json::json!([blocker]));
    for i in bl.as_array().unwrap() {
        assert!(i["blocked_by"].is_array(), "blocked_by on every item: {i}");
    }
    let text = env.bd(&["blocked"]).ok().stdout;
    assert!(text.contains(&blocked) && text.contains(&blocker), "{text}");
    // show agrees.
    let s = env.json(&["show", &child]);
    assert_eq!(s["ready"], false);
    assert_eq!(s["blocked"], true);

    // Closing the blocker frees the whole chain.
    env.bd(&["close", &blocker]).ok();
    let ready = set(&env.json(&["ready"]));
    for id in [
        &blocked,
        &waits,
        &parent,
        &child,
        &grandchild,
        &free,
        &related,
    ] {
        assert!(ready.contains(id.as_str()), "{id} ready now: {ready:?}");
    }
    // Only the `blocked`-status issue and its descendant remain blocked.
    let still = strs(&[&held, &held_kid]);
    assert_eq!(set(&env.json(&["blocked"])), still);
    assert_eq!(set(&env.json(&["list", "--status", "blocked"])), still);
    assert!(!set(&env.json(&["ready"])).contains(&held_kid));
}

#[test]
fn ready_claim_gives_zero_or_one() {
    let env = TestEnvironment::new();
    let a = env.create("First", &["-p", "1"]);
    let b = env.create("Second", &["-p", "2"]);
    let taken = env.create("Taken", &["-p", "0"]);
    env.bd_env(&["claim", &taken], &[("BD_ACTOR", "someone-else")])
        .ok();

    let v = env.json(&["ready", "--claim"]);
    assert_eq!(ids(&v), vec![a.clone()]);
    assert_eq!(v[0]["status"], "in_progress");
    assert_eq!(v[0]["assignee"], "tester");
    let r = env.record(&a);
    assert_eq!(r["assignee"], "tester");
    assert!(r["started_at"].is_string());
    let r = env.bd(&["ready", "--claim"]).ok();
    assert_eq!(r.stdout.trim(), b);
    let v = env.json(&["ready", "--claim"]);
    assert_eq!(
        v,
        serde_json::json!([]),
        "nothing claimable: empty array, exit 0"
    );
    let r = env.bd(&["ready", "--claim"]).ok();
    assert_eq!(r.stdout.trim(), "");
}

/// The ready set depends on "now" (deferrals pass). A read at a later time must
/// not leave a cached set that an earlier "now" then reuses: after `ready` ran
/// at 2099, a read at the clock's time still hides the future deferral.
#[test]
fn ready_set_follows_now_in_both_directions() {
    let env = TestEnvironment::new();
    let d = env.create("Deferred", &["--defer", "+2d"]);
    let f = env.create("Free", &[]);
    assert_eq!(set(&env.json(&["ready"])), strs(&[&f]));
    let later = "2099-01-01T00:00:00Z";
    let v = env.bd_at(later, &["--json", "ready"]).ok().json();
    assert_eq!(set(&v), strs(&[&d, &f]));
    // Back to the real clock: the deferral is in the future again.
    assert_eq!(set(&env.json(&["ready"])), strs(&[&f]));
    assert_eq!(set(&env.json(&["list", "--status", "ready"])), strs(&[&f]));
    assert_eq!(env.json(&["show", &d])["ready"], false);
}

/// A deferred issue whose date has passed is ready (SPEC §3), so it can be
/// claimed: `ready --claim` takes what `ready` shows, and `claim` accepts it.
#[test]
fn ready_claim_takes_a_passed_deferral() {
    let env = TestEnvironment::new();
    let d = create_at(
        &env,
        "2024-01-01T00:00:00Z",
        "Was deferred",
        &["--defer", "2024-01-05"],
    );
    assert_eq!(env.record(&d)["status"], "deferred");
    let feb = "2024-02-01T00:00:00Z";
    let v = env.bd_at(feb, &["--json", "ready"]).ok().json();
    assert_eq!(ids(&v), vec![d.clone()]);
    let v = env.bd_at(feb, &["--json", "ready", "--claim"]).ok().json();
    assert_eq!(
        ids(&v),
        vec![d.clone()],
        "ready --claim claims what ready shows"
    );
    let r = env.record(&d);
    assert_eq!(r["status"], "in_progress");
    assert_eq!(r["assignee"], "tester");

    let d2 = create_at(
        &env,
        "2024-01-01T00:00:00Z",
        "Also deferred",
        &["--defer", "2024-01-05"],
    );
    env.bd_at(feb, &["claim", &d2]).ok();
    assert_eq!(env.record(&d2)["status"], "in_progress");
}

// ---------------------------------------------------------------- stale

#[test]
fn stale_days() {
    let env = TestEnvironment::new();
    let old = create_at(&env, "2024-01-01T00:00:00Z", "Old", &[]);
    let recent = create_at(&env, "2024-02-25T00:00:00Z", "Recent", &[]);
    let old_closed = create_at(&env, "2024-01-01T00:00:00Z", "Old closed", &[]);
    env.bd_at("2024-01-02T00:00:00Z", &["close", &old_closed])
        .ok();
    let touched = create_at(&env, "2024-01-01T00:00:00Z", "Touched", &[]);
    env.bd_at("2024-02-28T00:00:00Z", &["update", &touched, "-p", "1"])
        .ok();

    let now = "2024-03-01T00:00:00Z";
    let v = env
        .bd_at(now, &["--json", "stale", "--days", "30"])
        .ok()
        .json();
    assert_eq!(set(&v), strs(&[&old]));
    let v = env
        .bd_at(now, &["--json", "stale", "--days", "1"])
        .ok()
        .json();
    assert_eq!(set(&v), strs(&[&old, &recent, &touched]));
    let v = env.bd_at(now, &["--json", "stale"]).ok().json();
    assert_eq!(set(&v), strs(&[&old]), "default 30 days");
    let v = env
        .bd_at(now, &["--json", "stale", "--days", "365"])
        .ok()
        .json();
    assert_eq!(set(&v), strs(&[]));

    for d in ["0", "-1", "-30"] {
        let r = env.bd_at(now, &["--json", "stale", "--days", d]).code(1);
        let e = check_error_doc(&r, "invalid");
        assert!(e["error"].as_str().unwrap().contains("days"), "{e}");
    }
    let r = env.bd_at("not a time", &["--json", "list"]);
    assert_eq!(r.code, 1);
    check_error_doc(&r, "invalid");
}

// ---------------------------------------------------------------- claim / unclaim

#[test]
fn claim_and_unclaim() {
    let env = TestEnvironment::new();
    let x = env.create("Work", &[]);
    let v = env.json(&["claim", &x]);
    assert!(v.is_object());
    assert_eq!(v["assignee"], "tester");
    assert_eq!(v["status"], "in_progress");
    let r = env.record(&x);
    assert_eq!(r["assignee"], "tester");
    assert_eq!(r["status"], "in_progress");
    assert!(r["started_at"].is_string());

    // Same actor again: exit 0, nothing changes.
    let before = state(&env.issues_path());
    let r = env.bd(&["claim", &x]).ok();
    assert!(r.stderr.contains("Nothing changed"), "{}", r.stderr);
    assert_eq!(before, state(&env.issues_path()));

    // Another actor: exit 3, code conflict, naming the holder.
    let r = env
        .bd_env(&["--json", "claim", &x], &[("BD_ACTOR", "bob")])
        .code(3);
    let e = check_error_doc(&r, "conflict");
    assert!(e["error"].as_str().unwrap().contains("tester"), "{e}");
    let root = std::fs::canonicalize(&env.repo).unwrap();
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains(root.to_str().unwrap()),
        "names the holder's workspace: {e}"
    );
    let r = env.bd(&["--actor", "carol", "claim", &x]).code(3);
    assert!(r.stderr.contains("tester"), "{}", r.stderr);
    assert_eq!(before, state(&env.issues_path()));
    // update --claim is the same operation.
    env.bd_env(&["update", &x, "--claim"], &[("BD_ACTOR", "bob")])
        .code(3);

    // Unclaim by another: exit 3 unless --force.
    let r = env
        .bd_env(&["--json", "unclaim", &x], &[("BD_ACTOR", "bob")])
        .code(3);
    let e = check_error_doc(&r, "conflict");
    assert!(e["error"].as_str().unwrap().contains("tester"), "{e}");
    assert_eq!(before, state(&env.issues_path()));
    // By the holder.
    let v = env.json(&["unclaim", &x]);
    assert_eq!(v["status"], "open");
    let r = env.record(&x);
    assert_eq!(r["status"], "open");
    assert!(r.get("assignee").is_none(), "{r}");
    assert!(r.get("started_at").is_none(), "{r}");
    // Not claimed: exit 0 with a notice.
    let r = env.bd(&["unclaim", &x]).ok();
    assert!(r.stderr.contains("Nothing changed"), "{}", r.stderr);

    // bob claims it now (via --actor), then a forced unclaim by tester.
    env.bd(&["--actor", "bob", "claim", &x]).ok();
    assert_eq!(env.record(&x)["assignee"], "bob");
    env.bd(&["unclaim", &x]).code(3);
    env.bd(&["unclaim", &x, "--force"]).ok();
    let r = env.record(&x);
    assert_eq!(r["status"], "open");
    assert!(r.get("assignee").is_none(), "{r}");

    // update --claim claims.
    // (A list, as classic `update` gives it.)
    let v = &env.json(&["update", &x, "--claim"])[0];
    assert_eq!(v["assignee"], "tester");
    assert_eq!(v["status"], "in_progress");

    // A closed issue is not claimable.
    let c = env.create("Done", &[]);
    env.bd(&["close", &c]).ok();
    let r = env.bd(&["--json", "claim", &c]).code(3);
    check_error_doc(&r, "conflict");
    assert_eq!(env.record(&c)["status"], "closed");
    fail_json(&env, &["claim", "bd-nothere9"], 1, "not_found");
    fail_json(&env, &["unclaim", "bd-nothere9"], 1, "not_found");
}

/// `non_work_types` in config.toml changes what is ready work (SPEC §3); the
/// ready set must follow the config, not a cache built before the change.
#[test]
fn ready_follows_non_work_types() {
    let env = TestEnvironment::new();
    let chore = env.create("A chore", &["-t", "chore"]);
    let task = env.create("A task", &[]);
    assert_eq!(set(&env.json(&["ready"])), strs(&[&chore, &task]));
    env.bd(&["config", "set", "non_work_types", "chore"]).ok();
    assert_eq!(set(&env.json(&["ready"])), strs(&[&task]));
    assert_eq!(
        set(&env.json(&["list", "--status", "ready"])),
        strs(&[&task])
    );
    assert_eq!(env.json(&["show", &chore])["ready"], false);
    let r = env.bd(&["--json", "ready", "--claim"]).ok();
    assert_eq!(ids(&r.json()), vec![task.clone()]);
    env.bd(&["config", "unset", "non_work_types"]).ok();
    assert_eq!(set(&env.json(&["ready"])), strs(&[&chore]));
}

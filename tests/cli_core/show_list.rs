//! `bd show`, `bd list` and `bd children`.

use super::*;

// ---------------------------------------------------------------- show

#[test]
fn show_objects_arrays_and_partial_ids() {
    let env = TestEnvironment::new();
    let a = env.create("Alpha", &[]);
    let b = env.create("Beta", &[]);

    let v = env.json(&["show", &a]);
    assert!(v.is_object(), "one ID gives an object");
    assert_eq!(v["id"], a.as_str());
    assert_eq!(v["title"], "Alpha");
    for k in [
        "dependency_count",
        "dependent_count",
        "comment_count",
        "parent",
    ] {
        assert!(v.get(k).is_some(), "show has {k}");
    }
    let v = env.json(&["show", &a, &b]);
    assert_eq!(
        ids(&v),
        vec![a.clone(), b.clone()],
        "several give an array in order"
    );

    // `bd-` may be left out.
    let bare = a.trim_start_matches("bd-");
    assert_eq!(env.json(&["show", bare])["id"], a.as_str());
    // A unique prefix of the hash works.
    let x = env.create("Parent", &[]);
    let c1 = env.create("c1", &["--parent", &x]);
    let c2 = env.create("c2", &["--parent", &x]);
    // An exact ID wins over a prefix (x is a prefix of its children).
    assert_eq!(env.json(&["show", &x])["id"], x.as_str());
    assert_eq!(env.json(&["show", &format!("{x}.2")])["id"], c2.as_str());

    // An ambiguous prefix lists its candidates.
    let q = format!("{}.", x.trim_start_matches("bd-"));
    let v = fail_json(&env, &["show", &q], 1, "ambiguous");
    let msg = v["error"].as_str().unwrap();
    assert!(msg.contains(&c1) && msg.contains(&c2), "{msg}");
    let err = fail(&env, &["show", &q], 1);
    assert!(err.contains(&c1) && err.contains(&c2), "{err}");

    // Top-level IDs sharing a first hash character: that one character is
    // ambiguous, a longer unique prefix resolves.
    let mut seen: Vec<String> = vec![a.clone(), b.clone(), x.clone()];
    let (p, q2) = loop {
        let n = env.create(&format!("filler {}", seen.len()), &[]);
        let h = |s: &str| s.trim_start_matches("bd-").chars().next().unwrap();
        if let Some(o) = seen.iter().find(|o| h(o) == h(&n)) {
            break (o.clone(), n);
        }
        seen.push(n);
        assert!(seen.len() < 60, "pigeonhole");
    };
    let first = &p["bd-".len()..="bd-".len()];
    let v = fail_json(&env, &["show", first], 1, "ambiguous");
    let msg = v["error"].as_str().unwrap();
    assert!(msg.contains(&p) && msg.contains(&q2), "{msg}");
    // The shortest prefix that only `q2` (a fresh issue without children) has
    // resolves to it.
    let all: Vec<String> = env
        .records()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let hash = q2.trim_start_matches("bd-");
    let unique = (1..=hash.len())
        .map(|n| &hash[..n])
        .find(|pre| {
            all.iter()
                .filter(|i| i.trim_start_matches("bd-").starts_with(pre))
                .count()
                == 1
        })
        .unwrap();
    assert_eq!(env.json(&["show", unique])["id"], q2.as_str());
    assert_eq!(
        env.json(&["show", &format!("bd-{unique}")])["id"],
        q2.as_str()
    );

    // Unknown IDs.
    let v = fail_json(&env, &["show", "bd-zzzzzzz"], 1, "not_found");
    assert!(v["error"].as_str().unwrap().contains("bd-zzzzzzz"));
    fail_json(&env, &["show", &a, "nothere9"], 1, "not_found");
    fail(&env, &["show", "nothere9"], 1);
}

// ---------------------------------------------------------------- list / count

#[test]
fn list_filters() {
    let env = TestEnvironment::new();
    let bug = env.create("A bug", &["-t", "bug", "-p", "0", "-l", "ui,red"]);
    let feat = env.create(
        "A feature",
        &["-t", "feature", "-p", "1", "-l", "ui", "-a", "alice"],
    );
    let task = env.create("A task", &["-p", "3", "-l", "red", "-a", "bob"]);
    let closed = env.create("Closed", &["-p", "2"]);
    env.bd(&["close", &closed]).ok();
    let gone = env.create("Gone", &[]);
    env.bd(&["delete", &gone]).ok();
    let blocked = env.create("Blocked", &["--deps", &task, "-p", "4"]);
    let epic = env.create("Epic", &["-t", "epic", "-p", "4"]);
    let kid = env.create("Kid", &["--parent", &epic, "-p", "4"]);
    let grandkid = env.create("Grandkid", &["--parent", &kid, "-p", "4"]);

    let live = strs(&[&bug, &feat, &task, &blocked, &epic, &kid, &grandkid]);
    assert_eq!(
        set(&env.json(&["list"])),
        live,
        "default hides closed and tombstones"
    );
    let mut with_closed = live.clone();
    with_closed.insert(closed.clone());
    let all = set(&env.json(&["list", "--all"]));
    assert_eq!(all, with_closed, "--all adds closed, never tombstones");

    // Shape of list items.
    let v = env.json(&["list"]);
    let b = v
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == blocked.as_str())
        .unwrap();
    assert_eq!(b["dependency_count"], 1);
    assert_eq!(b["parent"], Value::Null);
    let t = v
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == task.as_str())
        .unwrap();
    assert_eq!(t["dependent_count"], 1);
    let k = v
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == kid.as_str())
        .unwrap();
    assert_eq!(k["parent"], epic.as_str());
    assert_eq!(k["comment_count"], 0);

    // --status: single, comma list, repeated, tombstone explicitly.
    assert_eq!(
        set(&env.json(&["list", "--status", "closed"])),
        strs(&[&closed])
    );
    let oc = set(&env.json(&["list", "--status", "open,closed"]));
    assert_eq!(oc, with_closed);
    let oc2 = set(&env.json(&["list", "-s", "open", "-s", "closed"]));
    assert_eq!(oc2, with_closed);
    assert_eq!(
        set(&env.json(&["list", "--status", "tombstone"])),
        strs(&[&gone])
    );
    fail_json(&env, &["list", "--status", "bogus"], 1, "invalid");
    fail_json(&env, &["list", "--status", "open,bogus"], 1, "invalid");

    // --status blocked is the computed set, the same one `bd blocked` shows.
    let computed = set(&env.json(&["list", "--status", "blocked"]));
    assert_eq!(computed, strs(&[&blocked]));
    assert_eq!(computed, set(&env.json(&["blocked"])));

    // Priorities.
    assert_eq!(set(&env.json(&["list", "--priority", "0"])), strs(&[&bug]));
    assert_eq!(set(&env.json(&["list", "-p", "P1"])), strs(&[&feat]));
    assert_eq!(
        set(&env.json(&["list", "-p", "critical", "-p", "high"])),
        strs(&[&bug, &feat])
    );
    let range = set(&env.json(&["list", "--priority-min", "1", "--priority-max", "3"]));
    assert_eq!(range, strs(&[&feat, &task]));
    let err = fail_json(
        &env,
        &["list", "--priority-min", "3", "--priority-max", "1"],
        1,
        "invalid",
    );
    assert!(err["error"].as_str().unwrap().contains("reversed"), "{err}");
    fail_json(&env, &["list", "--priority", "7"], 1, "invalid");

    // Types.
    assert_eq!(set(&env.json(&["list", "--type", "bug"])), strs(&[&bug]));
    assert_eq!(
        set(&env.json(&["list", "-t", "bug,feature"])),
        strs(&[&bug, &feat])
    );
    let e = fail_json(&env, &["list", "--type", "nonexistent"], 1, "invalid");
    assert!(e["error"].as_str().unwrap().contains("nonexistent"));

    // Labels: --label needs all, --label-any needs one.
    assert_eq!(
        set(&env.json(&["list", "--label", "ui"])),
        strs(&[&bug, &feat])
    );
    assert_eq!(
        set(&env.json(&["list", "-l", "ui", "-l", "red"])),
        strs(&[&bug])
    );
    assert_eq!(
        set(&env.json(&["list", "--label", "ui,red"])),
        strs(&[&bug])
    );
    assert_eq!(
        set(&env.json(&["list", "--label-any", "ui", "--label-any", "red"])),
        strs(&[&bug, &feat, &task])
    );
    assert_eq!(set(&env.json(&["list", "--label", "nope"])), strs(&[]));

    // Assignees: "" means unassigned, never "no filter".
    assert_eq!(
        set(&env.json(&["list", "--assignee", "alice"])),
        strs(&[&feat])
    );
    let unassigned = strs(&[&bug, &blocked, &epic, &kid, &grandkid]);
    assert_eq!(set(&env.json(&["list", "--assignee", ""])), unassigned);
    assert_eq!(set(&env.json(&["list", "--unassigned"])), unassigned);
    assert_eq!(set(&env.json(&["list", "--no-assignee"])), unassigned);
    fail_json(
        &env,
        &["list", "--unassigned", "--assignee", "alice"],
        2,
        "usage",
    );

    // --parent: all descendants.
    assert_eq!(
        set(&env.json(&["list", "--parent", &epic])),
        strs(&[&kid, &grandkid])
    );
    assert_eq!(
        set(&env.json(&["list", "--parent", &kid])),
        strs(&[&grandkid])
    );
    fail_json(&env, &["list", "--parent", "bd-nothere9"], 1, "not_found");

    // --limit.
    assert_eq!(
        env.json(&["list", "--limit", "2"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        env.json(&["list", "-n", "0"]).as_array().unwrap().len(),
        live.len()
    );
    let e = fail_json(&env, &["list", "--limit", "-1"], 1, "invalid");
    assert!(e["error"].as_str().unwrap().contains("limit"));
    fail(&env, &["list", "-n", "-1"], 1);

    // --sort.
    let by_p = ids(&env.json(&["list", "--sort", "priority"]));
    assert_eq!(by_p[0], bug);
    assert_eq!(by_p[1], feat);
    let e = fail_json(&env, &["list", "--sort", "bogus"], 1, "invalid");
    assert!(e["error"].as_str().unwrap().contains("bogus"));

    // Created ranges.
    let e = fail_json(
        &env,
        &[
            "list",
            "--created-after",
            "2030-01-02",
            "--created-before",
            "2030-01-01",
        ],
        1,
        "invalid",
    );
    assert!(e["error"].as_str().unwrap().contains("reversed"), "{e}");
    fail_json(
        &env,
        &["list", "--created-after", "yesterday-ish"],
        1,
        "invalid",
    );
    let everything = set(&env.json(&[
        "list",
        "--created-after",
        "2000-01-01",
        "--created-before",
        "2200-01-01",
    ]));
    assert_eq!(everything, live);
    assert_eq!(
        set(&env.json(&["list", "--created-after", "2200-01-01"])),
        strs(&[])
    );

    // Text output: one line per issue, IDs in it.
    let r = env.bd(&["list"]).ok();
    assert_eq!(r.stdout.lines().count(), live.len(), "{}", r.stdout);
    crate::assert_human!(env, "list", r.transcript());

    // count: the same default set and filters as list.
    let n = |args: &[&str]| -> u64 {
        let mut a = vec!["count"];
        a.extend_from_slice(args);
        env.json(&a)["count"].as_u64().unwrap()
    };
    assert_eq!(n(&[]), live.len() as u64);
    assert_eq!(n(&["--all"]), with_closed.len() as u64);
    assert_eq!(n(&["--status", "blocked"]), 1);
    assert_eq!(n(&["-l", "ui"]), 2);
    assert_eq!(n(&["--assignee", ""]), unassigned.len() as u64);
    assert_eq!(n(&["--parent", &epic]), 2);
    assert_eq!(
        env.bd(&["count"]).ok().stdout.trim(),
        live.len().to_string()
    );
    // Classic's grouped shape: {total, groups: [{group, count}]}.
    let group = |by: &Value, name: &str| -> Value {
        by["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["group"] == name)
            .map_or(Value::Null, |g| g["count"].clone())
    };
    let by = env.json(&["count", "--by", "type"]);
    assert_eq!(by["total"], live.len());
    assert_eq!(group(&by, "bug"), 1);
    assert_eq!(group(&by, "epic"), 1);
    assert_eq!(group(&by, "task"), 4);
    assert_eq!(by, env.json(&["count", "--by-type"]));
    let by = env.json(&["count", "--all", "--by", "status"]);
    assert_eq!(group(&by, "closed"), 1);
    assert_eq!(group(&by, "open"), live.len());
    assert!(group(&by, "tombstone").is_null());
    assert_eq!(by, env.json(&["count", "--all", "--by-status"]));
    let by = env.json(&["count", "--by", "priority"]);
    assert_eq!(group(&by, "P4"), 4);
    let by = env.json(&["count", "--by-assignee"]);
    assert_eq!(group(&by, "alice"), 1);
    env.bd(&["count", "--by-type", "--by-status"]).code(2);
    fail_json(&env, &["count", "--by", "bogus"], 1, "invalid");
    fail_json(&env, &["count", "--sort", "bogus"], 1, "invalid");
    fail_json(
        &env,
        &["count", "--priority-min", "4", "--priority-max", "0"],
        1,
        "invalid",
    );
}

#[test]
fn children_direct_and_recursive() {
    let env = TestEnvironment::new();
    let top = env.create("Top", &[]);
    let a = env.create("A", &["--parent", &top]);
    let b = env.create("B", &["--parent", &top]);
    let a1 = env.create("A1", &["--parent", &a]);
    let a11 = env.create("A11", &["--parent", &a1]);
    env.create("Unrelated", &[]);

    assert_eq!(set(&env.json(&["children", &top])), strs(&[&a, &b]));
    assert_eq!(
        set(&env.json(&["children", &top, "--recursive"])),
        strs(&[&a, &b, &a1, &a11])
    );
    assert_eq!(set(&env.json(&["children", &a, "-r"])), strs(&[&a1, &a11]));
    assert_eq!(set(&env.json(&["children", &b])), strs(&[]));
    let v = env.json(&["children", &top]);
    assert_eq!(v[0]["parent"], top.as_str());
    let text = env.bd(&["children", &top]).ok().stdout;
    assert!(
        text.contains(&a) && text.contains(&b) && !text.contains(&a1),
        "{text}"
    );
    fail_json(&env, &["children", "bd-nothere9"], 1, "not_found");
}

/// A deleted child is gone from every listing: `children` must agree with
/// `list --parent` and `count --parent` (one definition of each set).
#[test]
fn children_hide_tombstones() {
    let env = TestEnvironment::new();
    let top = env.create("Top", &[]);
    let kept = env.create("Kept", &["--parent", &top]);
    let gone = env.create("Gone", &["--parent", &top]);
    env.bd(&["delete", &gone]).ok();
    assert_eq!(set(&env.json(&["list", "--parent", &top])), strs(&[&kept]));
    assert_eq!(env.json(&["count", "--parent", &top])["count"], 1);
    assert_eq!(set(&env.json(&["children", &top])), strs(&[&kept]));
    assert_eq!(
        set(&env.json(&["children", &top, "--recursive"])),
        strs(&[&kept])
    );
    let text = env.bd(&["children", &top]).ok().stdout;
    assert!(!text.contains(&gone), "{text}");
}

/// An empty filter value is refused like `--status ""`, `--type ""` and
/// `--priority ""` are, never a filter that silently matches nothing
/// (PITFALLS: support the form or refuse it).
#[test]
fn empty_label_filter_is_refused() {
    let env = TestEnvironment::new();
    env.create("Labeled", &["-l", "x"]);
    env.create("Bare", &[]);
    for args in [
        &["list", "--status", ""][..],
        &["list", "--type", ""],
        &["list", "--priority", ""],
        &["list", "--label", ""],
        &["list", "--label-any", ""],
        &["count", "--label", ""],
        &["ready", "--label", ""],
    ] {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let r = env.bd(&a);
        assert_ne!(
            r.code, 0,
            "{args:?} is refused, not silently empty: {}",
            r.stdout
        );
        check_error_doc(&r, "invalid");
    }
}

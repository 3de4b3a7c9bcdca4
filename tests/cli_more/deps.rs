//! `bd dep` and what dependencies do to `ready` and `blocked`.

use super::*;

// ---------------------------------------------------------------- deps

#[test]
fn dep_add_types_coexist_and_duplicates_are_noops() {
    let env = TestEnvironment::new();
    let a = env.create("Alpha", &[]);
    let b = env.create("Beta", &[]);

    // Default type is blocks; the result is the changed issue.
    let v = env.json(&["dep", "add", &a, &b]);
    assert_eq!(v["id"], a.as_str());
    // The issue written lists the issues it depends on, as classic
    // clients read them; the stored edge is in the file.
    assert_eq!(v["dependencies"][0]["id"], b.as_str());
    assert_eq!(v["dependencies"][0]["dependency_type"], "blocks");
    assert_eq!(
        edges(&env.record(&a)),
        vec![(b.clone(), "blocks".to_string())]
    );
    assert_eq!(v["dependency_count"], 1);

    // A second type between the same pair must not replace the first.
    env.bd(&["dep", "add", &a, &b, "-t", "related"]).ok();
    let mut e = edges(&env.record(&a));
    e.sort();
    assert_eq!(
        e,
        vec![(b.clone(), "blocks".into()), (b.clone(), "related".into())],
        "blocks and related between one pair coexist"
    );
    let dep = &env.record(&a)["dependencies"][0];
    assert_eq!(dep["issue_id"], a.as_str());
    assert_eq!(dep["created_by"], "tester");
    assert!(dep["created_at"].as_str().is_some());

    // Adding an existing edge: exit 0, a notice, and no rewrite.
    let before = std::fs::read(env.issues_path()).unwrap();
    let r = env.bd(&["dep", "add", &a, &b]).ok();
    crate::assert_human!(env, "dep_add_existing", r.transcript());
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);
    let r = env.bd(&["dep", "add", &a, &b, "--type", "related"]).ok();
    assert!(r.stderr.to_lowercase().contains("nothing changed"));
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);

    // Removing one type leaves the other.
    env.bd(&["dep", "remove", &a, &b, "-t", "related"]).ok();
    assert_eq!(edges(&env.record(&a)), vec![(b.clone(), "blocks".into())]);

    // Unknown edge type and unknown issues are refused.
    let before = std::fs::read(env.issues_path()).unwrap();
    env.bd(&["dep", "add", &a, &b, "-t", "bogus-kind"]).code(1);
    json_err(&env, &["dep", "add", &a, "bd-zzzzzz"], 1, "not_found");
    json_err(&env, &["dep", "add", "bd-zzzzzz", &a], 1, "not_found");
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);
}

#[test]
fn dep_add_refuses_self_edges_and_cycles_naming_the_path() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &[]);
    let c = env.create("C", &[]);

    let v = json_err(&env, &["dep", "add", &a, &a], 1, "invalid");
    assert!(v["error"].as_str().unwrap().contains(&a));
    json_err(&env, &["dep", "add", &a, &a, "-t", "related"], 1, "invalid");

    env.bd(&["dep", "add", &a, &b]).ok(); // a depends on b
    env.bd(&["dep", "add", &b, &c, "-t", "parent-child"]).ok(); // b child of c
    let before = std::fs::read(env.issues_path()).unwrap();
    for kind in ["blocks", "parent-child", "conditional-blocks", "waits-for"] {
        let r = env.bd(&["dep", "add", &c, &a, "-t", kind]).code(1);
        crate::assert_human!(env, format!("dep_add_cycle_{kind}"), r.transcript());
        assert_eq!(std::fs::read(env.issues_path()).unwrap(), before, "{kind}");
    }
    // Non-blocking kinds may close a loop.
    env.bd(&["dep", "add", &c, &a, "-t", "related"]).ok();
    env.bd(&["dep", "add", &c, &a, "-t", "discovered-from"])
        .ok();
    assert!(env.json(&["dep", "cycles"]).as_array().unwrap().is_empty());

    // Reparenting a parent under its own descendant is a cycle.
    let r = env.bd(&["update", &c, "--parent", &b]).code(1);
    crate::assert_human!(env, "reparent_under_a_descendant", r.transcript());
}

#[test]
fn dep_remove_missing_edge_fails_and_rm_alias_works() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &[]);
    let before = std::fs::read(env.issues_path()).unwrap();

    let r = env.bd(&["dep", "remove", &a, &b]).code(1);
    crate::assert_human!(env, "dep_remove_missing", r.transcript());
    let v = json_err(&env, &["dep", "rm", &a, &b], 1, "not_found");
    assert!(v["error"].as_str().unwrap().contains("nothing removed"));
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);

    env.bd(&["dep", "add", &a, &b]).ok();
    // Wrong type named: still nothing to remove.
    env.bd(&["dep", "rm", &a, &b, "-t", "related"]).code(1);
    assert_eq!(edges(&env.record(&a)).len(), 1);
    let v = env.json(&["dep", "rm", &a, &b]);
    assert_eq!(v["id"], a.as_str());
    assert!(edges(&env.record(&a)).is_empty());
    env.bd(&["dep", "rm", &a, &b]).code(1);

    // An edge to an issue that no longer exists (classic files have them) can be removed.
    let text = format!("{}\n", line("bd-x1", "open", &[("bd-gone", "blocks")]));
    write_issues(&env, &text);
    // `dep list` names it (its JSON holds issues: the missing one is in the text).
    assert!(
        env.json(&["dep", "list", "bd-x1"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    let r = env.bd(&["dep", "list", "bd-x1"]).ok();
    assert!(
        r.stdout.contains("bd-gone (blocks) [missing]"),
        "{}",
        r.stdout
    );
    env.bd(&["dep", "rm", "bd-x1", "bd-gone"]).ok();
    assert!(edges(&env.record("bd-x1")).is_empty());
}

#[test]
fn dep_list_and_tree_both_directions() {
    let env = TestEnvironment::new();
    let a = env.create("Top", &[]);
    let b = env.create("Middle", &[]);
    let c = env.create("Bottom", &[]);
    env.bd(&["dep", "add", &a, &b]).ok();
    env.bd(&["dep", "add", &b, &c]).ok();
    env.bd(&["dep", "add", &a, &c, "-t", "related"]).ok();

    // Classic's shape: the issues at the other end, each with its edge type.
    let v = env.json(&["dep", "list", &b]);
    assert_eq!(ids(&v), vec![c.clone()]);
    assert_eq!(v[0]["dependency_type"], "blocks");
    assert_eq!(v[0]["title"], "Bottom");
    let v = env.json(&["dep", "list", &b, "--direction", "up"]);
    assert_eq!(ids(&v), vec![a.clone()]);
    assert_eq!(v[0]["dependency_type"], "blocks");
    let v = env.json(&["dep", "list", &a]);
    assert_eq!(v.as_array().unwrap().len(), 2);
    let v = env.json(&["dep", "list", &a, "-t", "related"]);
    assert_eq!(ids(&v), vec![c.clone()]);
    assert!(
        env.json(&["dep", "list", &a, "--direction=up"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    json_err(&env, &["dep", "list", "bd-nope99"], 1, "not_found");
    json_err(
        &env,
        &["dep", "list", &a, "--direction", "sideways"],
        1,
        "invalid",
    );
    // Several issues downwards: the stored edges.
    let v = env.json(&["dep", "list", &a, &b]);
    let edges: Vec<(String, String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["issue_id"].as_str().unwrap().to_string(),
                e["depends_on_id"].as_str().unwrap().to_string(),
                e["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(edges.len(), 3, "{v}");
    assert!(edges.contains(&(b.clone(), c.clone(), "blocks".into())));
    assert!(edges.contains(&(a.clone(), c.clone(), "related".into())));

    // Tree: a → b → c (and a → c related), classic's flat nodes, depth
    // first; c shows once (under b, the first path), and the related edge
    // is followed too (only relates-to, the "see also" link, is not).
    let t = env.json(&["dep", "tree", &a]);
    let nodes: Vec<(String, u64, String, String)> = t
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap().to_string(),
                n["depth"].as_u64().unwrap(),
                n["parent_id"].as_str().unwrap().to_string(),
                n["edge_from_parent"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(nodes[0], (a.clone(), 0, String::new(), String::new()));
    assert_eq!(nodes.len(), 3, "{t}");
    assert!(nodes.contains(&(b.clone(), 1, a.clone(), "blocks".into())));
    assert_eq!(t[0]["truncated"], false);
    assert_eq!(t[0]["title"], "Top");
    let r = env.bd(&["dep", "tree", &a]).ok();
    crate::assert_human!(env, "dep_tree", r.transcript());
    // The depth limit: the root alone, marked truncated.
    let t = env.json(&["dep", "tree", &a, "--max-depth", "0"]);
    assert_eq!(t.as_array().unwrap().len(), 1);
    assert_eq!(t[0]["truncated"], true);

    // Up: what depends on c — b and a.
    let t = env.json(&["dep", "tree", &c, "--direction", "up"]);
    let mut up = ids(&t);
    assert_eq!(up.remove(0), c);
    up.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(up, want);
    assert_eq!(t, env.json(&["dep", "tree", &c, "--reverse"]));
    let r = env.bd(&["dep", "tree", &c, "--reverse"]).ok();
    crate::assert_human!(env, "dep_tree_reverse", r.transcript());
    // Both: b's dependencies, then its dependents, the root once.
    let t = env.json(&["dep", "tree", &b, "--direction", "both"]);
    let mut all = ids(&t);
    all.sort();
    let mut want = vec![a.clone(), b.clone(), c.clone()];
    want.sort();
    assert_eq!(all, want);
    // --status: only nodes with that status (the root always).
    env.bd(&["close", &c]).ok();
    let t = env.json(&["dep", "tree", &a, "--status", "open"]);
    assert_eq!(ids(&t), vec![a.clone(), b.clone()]);
}

#[test]
fn dep_cycles_reports_a_cycle_in_a_hand_written_file() {
    let env = TestEnvironment::new();
    let text = [
        line("bd-a1", "open", &[("bd-b1", "blocks")]),
        line("bd-b1", "open", &[("bd-c1", "blocks")]),
        line("bd-c1", "open", &[("bd-a1", "blocks")]),
        line("bd-d1", "open", &[("bd-a1", "related")]),
    ]
    .join("\n")
        + "\n";
    write_issues(&env, &text);
    let v = env.json(&["dep", "cycles"]);
    let cycles = v.as_array().unwrap();
    assert_eq!(cycles.len(), 1, "{v}");
    let members: Vec<&str> = cycles[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    for id in ["bd-a1", "bd-b1", "bd-c1"] {
        assert!(members.contains(&id), "{v}");
    }
    assert!(!members.contains(&"bd-d1"));
    let r = env.bd(&["dep", "cycles"]).ok();
    crate::assert_human!(env, "dep_cycles", r.transcript());
    // The doctor names it too; reading a cyclic file does not hang.
    let d = env.json(&["doctor"]);
    assert!(d.to_string().contains("cycle"), "{d}");
    env.json(&["ready"]);
    env.json(&["blocked"]);
    env.json(&["dep", "tree", "bd-a1"]);
    // No cycle: an empty array and a notice.
    let env2 = TestEnvironment::new();
    env2.create("Solo", &[]);
    assert_eq!(env2.json(&["dep", "cycles"]), serde_json::json!([]));
}

#[test]
fn waits_for_and_conditional_blocks_in_ready_and_blocked() {
    let env = TestEnvironment::new();
    // conditional-blocks: released only by a failure close.
    let x = env.create("Runs if first try fails", &[]);
    let y = env.create("First try", &[]);
    let z = env.create("Also conditional", &[]);
    let w = env.create("Second first try", &[]);
    env.bd(&["dep", "add", &x, &y, "-t", "conditional-blocks"])
        .ok();
    env.bd(&["dep", "add", &z, &w, "-t", "conditional-blocks"])
        .ok();

    // waits-for: waits for every child of the spawner.
    let s = env.create("Spawner", &[]);
    let s1 = env.create("Child one", &["--parent", &s]);
    let s2 = env.create("Child two", &["--parent", &s]);
    assert_eq!(s1, format!("{s}.1"));
    assert_eq!(s2, format!("{s}.2"));
    let g = env.create("Gathers", &[]);
    env.bd(&["dep", "add", &g, &s, "-t", "waits-for"]).ok();

    let blocked = ids(&env.json(&["blocked"]));
    for id in [&x, &z, &g] {
        assert!(blocked.contains(id), "{id} blocked: {blocked:?}");
    }
    let ready = ids(&env.json(&["ready", "-n", "0"]));
    for id in [&x, &z, &g] {
        assert!(!ready.contains(id), "{id} not ready: {ready:?}");
    }
    // list --status blocked is the same set.
    let mut listed = ids(&env.json(&["list", "--status", "blocked"]));
    let mut b2 = blocked.clone();
    listed.sort();
    b2.sort();
    assert_eq!(listed, b2);
    let entry = env
        .json(&["blocked"])
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == x.as_str())
        .cloned()
        .unwrap();
    assert!(entry["blocked_by"].to_string().contains(&y), "{entry}");

    env.bd(&["close", &y, "--reason", "failed"]).ok();
    env.bd(&["close", &w, "--reason", "done"]).ok();
    let ready = ids(&env.json(&["ready", "-n", "0"]));
    let blocked = ids(&env.json(&["blocked"]));
    assert!(ready.contains(&x), "failed blocker releases: {ready:?}");
    assert!(!blocked.contains(&x));
    assert!(
        blocked.contains(&z),
        "done blocker keeps blocked: {blocked:?}"
    );
    assert!(!ready.contains(&z));
    let shown = env.json(&["show", &z]);
    assert_eq!(shown["blocked"], true);
    assert_eq!(shown["ready"], false);

    // Failure reasons are case-folded.
    let v = env.create("Retry after wontfix", &[]);
    let u = env.create("Maybe fixed", &[]);
    env.bd(&["dep", "add", &v, &u, "-t", "conditional-blocks"])
        .ok();
    env.bd(&["close", &u, "--reason", "Won't Fix"]).ok();
    assert!(ids(&env.json(&["ready", "-n", "0"])).contains(&v));

    // waits-for: one child closed is not enough.
    env.bd(&["close", &s1]).ok();
    assert!(ids(&env.json(&["blocked"])).contains(&g));
    env.bd(&["close", &s2]).ok();
    let ready = ids(&env.json(&["ready", "-n", "0"]));
    assert!(ready.contains(&g), "all children done: {ready:?}");
    assert!(!ids(&env.json(&["blocked"])).contains(&g));
}

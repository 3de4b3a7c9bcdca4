//! The remaining commands through the real binary: deps, labels, comments,
//! search, stats, where, config, version, completion, onboard, import/export
//! and doctor — their --json shapes, "nothing changed" notices and errors.
mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::TestEnvironment;
use serde_json::Value;

/// A minimal classic record line, hand-written like another tool would.
fn line(id: &str, status: &str, deps: &[(&str, &str)]) -> String {
    let mut v = serde_json::json!({
        "id": id,
        "title": format!("Issue {id}"),
        "status": status,
        "priority": 2,
        "issue_type": "task",
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
    });
    if status == "closed" {
        v["closed_at"] = "2025-01-02T00:00:00Z".into();
    }
    if !deps.is_empty() {
        v["dependencies"] = deps
            .iter()
            .map(|(to, kind)| {
                serde_json::json!({"issue_id": id, "depends_on_id": to, "type": kind,
                    "created_at": "2025-01-01T00:00:00Z", "created_by": "x"})
            })
            .collect();
    }
    serde_json::to_string(&v).unwrap()
}

fn write_issues(env: &TestEnvironment, text: &str) {
    std::fs::write(env.issues_path(), text).unwrap();
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array: {v}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn edges(rec: &Value) -> Vec<(String, String)> {
    rec["dependencies"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    (
                        d["depends_on_id"].as_str().unwrap().to_string(),
                        d["type"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `bd --json ARGS` that must fail with `code`/`exit`: the one JSON error document.
#[track_caller]
fn json_err(env: &TestEnvironment, args: &[&str], exit: i32, code: &str) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let r = env.bd(&a).code(exit);
    let v = r.json();
    assert_eq!(v["code"], code, "{v}");
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    assert!(!r.stderr.trim().is_empty(), "the human line goes to stderr");
    v
}

// ---------------------------------------------------------------- deps

#[test]
fn dep_add_types_coexist_and_duplicates_are_noops() {
    let env = TestEnvironment::new();
    let a = env.create("Alpha", &[]);
    let b = env.create("Beta", &[]);

    // Default type is blocks; the result is the changed issue.
    let v = env.json(&["dep", "add", &a, &b]);
    assert_eq!(v["id"], a.as_str());
    assert_eq!(edges(&v), vec![(b.clone(), "blocks".to_string())]);
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
    assert!(
        r.stderr.to_lowercase().contains("nothing changed"),
        "{}",
        r.stderr
    );
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
        let msg = r.stderr.to_lowercase();
        assert!(msg.contains("cycle"), "{kind}: {}", r.stderr);
        for id in [&a, &b, &c] {
            assert!(
                r.stderr.contains(id.as_str()),
                "{kind}: path names {id}: {}",
                r.stderr
            );
        }
        assert_eq!(std::fs::read(env.issues_path()).unwrap(), before, "{kind}");
    }
    // Non-blocking kinds may close a loop.
    env.bd(&["dep", "add", &c, &a, "-t", "related"]).ok();
    env.bd(&["dep", "add", &c, &a, "-t", "discovered-from"])
        .ok();
    assert!(env.json(&["dep", "cycles"]).as_array().unwrap().is_empty());

    // Reparenting a parent under its own descendant is a cycle.
    let r = env.bd(&["update", &c, "--parent", &b]).code(1);
    assert!(r.stderr.to_lowercase().contains("cycle"), "{}", r.stderr);
}

#[test]
fn dep_remove_missing_edge_fails_and_rm_alias_works() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &[]);
    let before = std::fs::read(env.issues_path()).unwrap();

    let r = env.bd(&["dep", "remove", &a, &b]).code(1);
    assert!(
        r.stderr.to_lowercase().contains("nothing removed"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("Removed:"), "{}", r.stderr);
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
    assert_eq!(
        env.json(&["dep", "list", "bd-x1"])["depends_on"][0]["id"],
        "bd-gone"
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

    let v = env.json(&["dep", "list", &b]);
    assert_eq!(v["id"], b.as_str());
    let on = &v["depends_on"];
    assert_eq!(ids(on), vec![c.clone()]);
    assert_eq!(on[0]["dependency_type"], "blocks");
    assert_eq!(on[0]["title"], "Bottom");
    assert_eq!(ids(&v["dependents"]), vec![a.clone()]);

    let v = env.json(&["dep", "list", &a]);
    assert_eq!(v["depends_on"].as_array().unwrap().len(), 2);
    assert!(v["dependents"].as_array().unwrap().is_empty());
    json_err(&env, &["dep", "list", "bd-nope99"], 1, "not_found");

    // Tree: a → b → c (and a → c related).
    let t = env.json(&["dep", "tree", &a]);
    assert_eq!(t["id"], a.as_str());
    let kids = t["children"].as_array().unwrap();
    assert_eq!(kids.len(), 2);
    let mid = kids.iter().find(|k| k["id"] == b.as_str()).unwrap();
    assert_eq!(mid["dependency_type"], "blocks");
    assert_eq!(mid["children"][0]["id"], c.as_str());
    let text = env.bd(&["dep", "tree", &a]).ok().stdout;
    for id in [&a, &b, &c] {
        assert!(text.contains(id.as_str()), "{text}");
    }

    // Reverse: what depends on c — b (and a through b), a directly.
    let t = env.json(&["dep", "tree", &c, "--reverse"]);
    assert_eq!(t["id"], c.as_str());
    let kids = t["children"].as_array().unwrap();
    let mut direct = ids(&t["children"]);
    direct.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(direct, want);
    let via_b = kids.iter().find(|k| k["id"] == b.as_str()).unwrap();
    assert_eq!(via_b["children"][0]["id"], a.as_str());
    let text = env.bd(&["dep", "tree", &c, "--reverse"]).ok().stdout;
    assert!(text.contains(&a) && text.contains(&b), "{text}");
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
    assert!(
        r.stdout.contains("bd-a1") && r.stdout.contains("bd-c1"),
        "{}",
        r.stdout
    );
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

// ---------------------------------------------------------------- labels

#[test]
fn labels_add_remove_list() {
    let env = TestEnvironment::new();
    let a = env.create("Labeled", &[]);
    let b = env.create("Other", &["-l", "ui"]);

    // Classic order: the issues, then one label.
    env.json(&["label", "add", &a, "zeta"]);
    let v = env.json(&["label", "add", &a, "alpha"]);
    assert_eq!(v["labels"], serde_json::json!(["alpha", "zeta"]), "sorted");
    let before = std::fs::read(env.issues_path()).unwrap();
    let r = env.bd(&["label", "add", &a, "alpha"]).ok();
    assert!(
        r.stderr.to_lowercase().contains("nothing changed"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);

    let r = env.bd(&["label", "remove", &a, "missing"]).code(1);
    assert!(r.stderr.contains("missing"), "{}", r.stderr);
    json_err(&env, &["label", "remove", &a, "missing"], 1, "not_found");
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);
    env.bd(&["label", "add", &a, "   "]).code(1);
    env.bd(&["label", "add", "bd-nope99", "x"]).code(1);

    env.bd(&["label", "add", &b, "alpha"]).ok();
    assert_eq!(
        env.json(&["label", "list", &a]),
        serde_json::json!(["alpha", "zeta"])
    );
    let all = env.json(&["label", "list"]);
    assert_eq!(all, serde_json::json!({"alpha": 2, "ui": 1, "zeta": 1}));
    let text = env.bd(&["label", "list"]).ok().stdout;
    assert!(text.contains("alpha") && text.contains('2'), "{text}");

    let v = env.json(&["label", "remove", &a, "zeta"]);
    assert_eq!(v["labels"], serde_json::json!(["alpha"]));
    env.json(&["label", "remove", &a, "alpha"]);
    let rec = env.record(&a);
    assert!(
        rec.get("labels").is_none() || rec["labels"] == serde_json::json!([]),
        "{rec}"
    );
    // The list filter agrees.
    assert_eq!(ids(&env.json(&["list", "-l", "alpha"])), vec![b.clone()]);
    // Deleted issues no longer count.
    env.bd(&["delete", &b]).ok();
    assert_eq!(env.json(&["label", "list"]), serde_json::json!({}));
}

// ---------------------------------------------------------------- comments

#[test]
fn comments_from_text_file_and_stdin() {
    let env = TestEnvironment::new();
    let a = env.create("Discussed", &[]);

    let c1 = env.json(&["comment", &a, "First thought"]);
    assert_eq!(c1["text"], "First thought");
    assert_eq!(c1["author"], "tester");
    assert_eq!(c1["issue_id"], a.as_str());
    let id1 = c1["id"].as_u64().expect("comment id is an integer");
    assert!(id1 < (1u64 << 53), "exact in every JSON reader: {id1}");
    assert!(c1["created_at"].as_str().is_some());

    let f = env.tmp.path().join("note.md");
    std::fs::write(&f, "From a *file*\nwith two lines\n").unwrap();
    let c2 = env.json(&["comment", &a, "--file", f.to_str().unwrap()]);
    assert_eq!(c2["text"], "From a *file*\nwith two lines\n");

    let r = env
        .bd_stdin(&["--json", "comment", &a, "--file", "-"], b"piped in\n")
        .ok();
    let c3 = r.json();
    assert_eq!(c3["text"], "piped in\n");

    // Blank text, blank file, neither, both: refused; nothing written.
    let before = std::fs::read(env.issues_path()).unwrap();
    json_err(&env, &["comment", &a, "   "], 1, "invalid");
    env.bd_stdin(&["comment", &a, "--file", "-"], b"  \n\t\n")
        .code(1);
    env.bd(&["comment", &a]).code(2);
    env.bd(&["comment", &a, "x", "--file", f.to_str().unwrap()])
        .code(2);
    env.bd(&["comment", &a, "--file", "/nonexistent/file.txt"])
        .code(1);
    env.bd(&["comment", "bd-nope99", "hello"]).code(1);
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);

    let list = env.json(&["comments", &a]);
    let arr = list.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    let texts: Vec<&str> = arr.iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        vec![
            "First thought",
            "From a *file*\nwith two lines\n",
            "piped in\n"
        ]
    );
    let got_ids: Vec<u64> = arr.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert_eq!(got_ids[0], id1);
    let mut uniq = got_ids.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 3, "distinct ids");
    for id in &got_ids {
        assert!(*id < (1u64 << 53));
    }
    // Stable: unchanged by later writes and visible the same in the file and in show.
    env.bd(&["label", "add", &a, "x"]).ok();
    env.bd(&["update", &a, "-p", "1"]).ok();
    let again: Vec<u64> = env
        .json(&["comments", &a])
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert_eq!(again, got_ids);
    let file_ids: Vec<u64> = env.record(&a)["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert_eq!(file_ids, got_ids);
    let shown = env.json(&["show", &a]);
    assert_eq!(shown["comment_count"], 3);
    let text = env.bd(&["comments", &a]).ok().stdout;
    assert!(
        text.contains("First thought") && text.contains("piped in"),
        "{text}"
    );
    assert_eq!(
        env.json(&["comments", &env.create("Quiet", &[])]),
        serde_json::json!([])
    );
}

// ---------------------------------------------------------------- search

#[test]
fn search_titles_descriptions_comments_case_insensitive() {
    let env = TestEnvironment::new();
    let t = env.create("Flaky WEBSOCKET reconnect", &[]);
    let d = env.create("Plain title", &["-d", "The Websocket layer drops frames"]);
    let c = env.create("Another", &[]);
    env.bd(&["comment", &c, "seen in websocket logs too"]).ok();
    let none = env.create("Unrelated", &["-d", "nothing to see"]);

    let mut got = ids(&env.json(&["search", "websocket"]));
    got.sort();
    let mut want = vec![t.clone(), d.clone(), c.clone()];
    want.sort();
    assert_eq!(got, want);
    assert!(!got.contains(&none));
    let mut upper = ids(&env.json(&["search", "WebSocket"]));
    upper.sort();
    assert_eq!(upper, want, "case-insensitive");
    let hit = &env.json(&["search", "drops FRAMES"])[0];
    assert_eq!(hit["id"], d.as_str());
    assert!(hit.get("comment_count").is_some());
    assert_eq!(
        env.json(&["search", "no-such-words-anywhere"]),
        serde_json::json!([])
    );

    json_err(&env, &["search", "   "], 1, "invalid");
    env.bd(&["search", ""]).code(1);
    env.bd(&["search"]).code(2);
    let text = env.bd(&["search", "websocket"]).ok().stdout;
    assert!(text.contains(&t), "{text}");
}

// ---------------------------------------------------------------- stats, where

#[test]
fn stats_uses_classic_names() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &[]);
    let c = env.create("C", &[]);
    let _d = env.create("D", &[]);
    let e = env.create("E", &[]);
    env.bd(&["dep", "add", &a, &b]).ok();
    env.bd(&["close", &c]).ok();
    env.bd(&["delete", &e]).ok();

    let s = env.json(&["stats"]);
    assert_eq!(s["total_issues"], 4, "{s}");
    assert_eq!(s["open_issues"], 3, "{s}");
    assert_eq!(s["closed_issues"], 1, "{s}");
    assert_eq!(s["blocked_issues"], 1, "{s}");
    assert_eq!(s["ready_issues"], 2, "{s}");
    assert_eq!(s["in_progress_issues"], 0, "{s}");
    assert!(s.get("tombstone_issues").is_some(), "{s}");
    assert!(s.get("average_lead_time_hours").is_some(), "{s}");
    // The sets agree with the listing commands.
    assert_eq!(env.json(&["ready", "-n", "0"]).as_array().unwrap().len(), 2);
    assert_eq!(env.json(&["blocked"]).as_array().unwrap().len(), 1);
    let text = env.bd(&["stats"]).ok().stdout;
    assert!(text.contains('4'), "{text}");
    env.bd(&["claim", &b]).ok();
    assert_eq!(env.json(&["stats"])["in_progress_issues"], 1);
    // A child of a blocked issue is blocked too, in every view.
    let child = env.create("Child of blocked", &["--parent", &a]);
    let s = env.json(&["stats"]);
    let blocked = ids(&env.json(&["blocked"]));
    assert!(blocked.contains(&child), "{blocked:?}");
    assert!(!ids(&env.json(&["ready", "-n", "0"])).contains(&child));
    assert_eq!(s["blocked_issues"], blocked.len(), "{s}");
    assert_eq!(
        s["ready_issues"],
        env.json(&["ready", "-n", "0"]).as_array().unwrap().len()
    );
}

#[test]
fn where_names_the_workspace() {
    let env = TestEnvironment::new();
    env.create("One", &[]);
    let v = env.json(&["where"]);
    let root = std::fs::canonicalize(&env.repo).unwrap();
    assert_eq!(Path::new(v["root"].as_str().unwrap()), root.as_path());
    assert_eq!(
        Path::new(v["issues_file"].as_str().unwrap()),
        root.join(".beads/issues.jsonl").as_path()
    );
    assert_eq!(v["prefix"], "bd");
    assert_eq!(v["actor"], "tester");
    assert_eq!(v["issues"], 1);
    assert_eq!(v["auto_commit"], "off");
    // From a subfolder: the same workspace.
    let sub = env.repo.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let r = env
        .bd(&["--json", "-C", sub.to_str().unwrap(), "where"])
        .ok();
    assert_eq!(r.json()["root"], v["root"]);
    let text = env.bd(&["where"]).ok().stdout;
    assert!(text.contains(root.to_str().unwrap()), "{text}");
    // --actor wins over BD_ACTOR.
    let r = env.bd(&["--json", "--actor", "someone-else", "where"]).ok();
    assert_eq!(r.json()["actor"], "someone-else");
}

// ---------------------------------------------------------------- config

#[test]
fn config_get_set_list_unset() {
    let env = TestEnvironment::new();
    let cfg = env.beads().join("config.toml");
    assert_eq!(
        env.bd(&["config", "get", "prefix"]).ok().stdout.trim(),
        "bd"
    );
    assert_eq!(env.json(&["config", "get", "prefix"])["value"], "bd");
    assert_eq!(
        env.bd(&["config", "get", "auto_commit"]).ok().stdout.trim(),
        "off"
    );

    let v = env.json(&["config", "set", "auto_commit", "batch"]);
    assert_eq!(v["changed"], true);
    assert_eq!(
        env.bd(&["config", "get", "auto_commit"]).ok().stdout.trim(),
        "batch"
    );
    let before = std::fs::read(&cfg).unwrap();
    let r = env.bd(&["config", "set", "auto_commit", "batch"]).ok();
    assert!(
        r.stderr.to_lowercase().contains("nothing changed"),
        "{}",
        r.stderr
    );
    assert_eq!(
        env.json(&["config", "set", "auto_commit", "batch"])["changed"],
        false
    );
    assert_eq!(std::fs::read(&cfg).unwrap(), before);

    // Invalid values and unknown keys are refused; the file is untouched.
    for (k, val) in [
        ("auto_commit", "sometimes"),
        ("lease", "0m"),
        ("lease", "soon"),
        ("commit_window", "-5m"),
        ("prefix", "9bad"),
        ("prefix", "has space"),
        ("coordination", "galaxy"),
        ("attachment_limit", "-1"),
    ] {
        let r = env.bd(&["config", "set", "--", k, val]);
        assert_eq!(r.code, 1, "{k}={val}: {}", r.stderr);
        assert!(!r.stderr.trim().is_empty());
    }
    let v = json_err(&env, &["config", "set", "no_such_key", "1"], 1, "not_found");
    assert!(v["error"].as_str().unwrap().contains("no_such_key"));
    env.bd(&["config", "get", "no_such_key"]).code(1);
    env.bd(&["config", "unset", "no_such_key"]).code(1);
    assert_eq!(std::fs::read(&cfg).unwrap(), before);

    env.bd(&["config", "set", "lease", "20m"]).ok();
    env.bd(&["config", "set", "custom_statuses", "review, qa"])
        .ok();
    let list = env.json(&["config", "list"]);
    assert_eq!(list["auto_commit"], "batch");
    assert_eq!(list["lease"], "20m");
    assert_eq!(list["prefix"], "bd");
    assert!(list["custom_statuses"].as_str().unwrap().contains("review"));
    assert!(
        list.get("commit_window").is_some(),
        "defaults are listed: {list}"
    );
    let text = env.bd(&["config", "list"]).ok().stdout;
    assert!(text.contains("auto_commit = batch"), "{text}");
    // A custom status is now accepted by update.
    let a = env.create("Reviewed", &[]);
    env.bd(&["update", &a, "-s", "review"]).ok();
    assert_eq!(env.record(&a)["status"], "review");

    let v = env.json(&["config", "unset", "auto_commit"]);
    assert_eq!(v["changed"], true);
    assert_eq!(
        env.bd(&["config", "get", "auto_commit"]).ok().stdout.trim(),
        "off"
    );
    assert!(
        !std::fs::read_to_string(&cfg)
            .unwrap()
            .contains("auto_commit")
    );
    let v = env.json(&["config", "unset", "auto_commit"]);
    assert_eq!(v["changed"], false);
}

// ---------------------------------------------------------------- version etc.

#[test]
fn version_completion_onboard() {
    let env = TestEnvironment::new();
    let v = env.json(&["version"]);
    assert_eq!(v["implementation"], "strand");
    assert!(v["version"].as_str().is_some_and(|s| !s.is_empty()));
    let t = env.bd(&["version"]).ok().stdout;
    assert!(t.contains("strand"), "{t}");
    // Works without a workspace too.
    let mut c = env.cmd(&["--json", "version"]);
    c.current_dir(env.tmp.path());
    let o = c.output().unwrap();
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["implementation"], "strand");

    for shell in ["bash", "zsh", "fish"] {
        let r = env.bd(&["completion", shell]).ok();
        assert!(r.stdout.len() > 100, "{shell}: {}", r.stdout);
        assert!(r.stdout.contains("bd"), "{shell}");
        assert!(r.stdout.contains("ready"), "{shell} completes subcommands");
    }
    env.bd(&["completion", "tcsh-ish"]).code(2);

    let r = env.bd(&["onboard"]).ok();
    assert!(r.stdout.contains("BD_ACTOR"), "{}", r.stdout);
    assert!(r.stdout.contains("bd ready"));
    let v = env.json(&["onboard"]);
    assert!(v.to_string().contains("BD_ACTOR"));
}

// ---------------------------------------------------------------- import / export

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/classic/issues.jsonl")
}

fn fixture_values() -> Vec<Value> {
    std::fs::read_to_string(fixture())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn import_classic_file_twice_and_from_stdin() {
    let env = TestEnvironment::new();
    let n = fixture_values().len();
    let f = fixture();
    let rep = env.json(&["import", f.to_str().unwrap()]);
    assert_eq!(rep["created"], n, "{rep}");
    assert_eq!(rep["updated"], 0);
    assert_eq!(env.records().len(), n);
    let after_first = std::fs::read(env.issues_path()).unwrap();
    // Every record arrives meaning-equal.
    let got: Vec<Value> = env.records();
    assert_eq!(got, fixture_values());

    let rep = env.json(&["import", f.to_str().unwrap()]);
    assert_eq!(rep["created"], 0, "{rep}");
    assert_eq!(rep["updated"], 0, "{rep}");
    assert_eq!(rep["unchanged"], n, "{rep}");
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), after_first);

    // Dry run writes nothing.
    let env3 = TestEnvironment::new();
    let rep = env3.json(&["import", "--dry-run", f.to_str().unwrap()]);
    assert_eq!(rep["created"], n);
    assert!(env3.records().is_empty());

    // `-` reads stdin.
    let env2 = TestEnvironment::new();
    let bytes = std::fs::read(&f).unwrap();
    let r = env2.bd_stdin(&["--json", "import", "-"], &bytes).ok();
    assert_eq!(r.json()["created"], n);
    assert_eq!(std::fs::read(env2.issues_path()).unwrap(), after_first);

    // A changed record imports as an update.
    let mut lines: Vec<String> = bytes_to_lines(&bytes);
    let mut v: Value = serde_json::from_str(&lines[0]).unwrap();
    v["title"] = "Retitled elsewhere".into();
    v["updated_at"] = "2030-01-01T00:00:00Z".into();
    lines[0] = serde_json::to_string(&v).unwrap();
    let r = env2
        .bd_stdin(
            &["--json", "import", "-"],
            (lines.join("\n") + "\n").as_bytes(),
        )
        .ok();
    assert_eq!(r.json()["updated"], 1, "{}", r.stdout);
    assert_eq!(r.json()["unchanged"], n - 1);
    assert_eq!(
        env2.record(v["id"].as_str().unwrap())["title"],
        "Retitled elsewhere"
    );
}

fn bytes_to_lines(b: &[u8]) -> Vec<String> {
    String::from_utf8(b.to_vec())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn import_never_waits_on_stdin_without_dash() {
    let env = TestEnvironment::new();
    // stdin is an open pipe nobody writes to: a reader would hang.
    let mut c = env.cmd(&["import"]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let _keep_open = child.stdin.take().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > Duration::from_secs(10) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("`bd import` without a file waited on stdin");
    }
    assert_eq!(status.unwrap().code(), Some(2), "usage error");
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.trim().is_empty());
}

#[test]
fn import_bad_line_names_file_and_line_and_writes_nothing() {
    let env = TestEnvironment::new();
    let a = env.create("Existing", &[]);
    let before = std::fs::read(env.issues_path()).unwrap();
    let f = env.tmp.path().join("incoming.jsonl");
    let text = format!(
        "{}\n{}\n{{\"id\": \"bd-broken\", oops\n{}\n",
        line("bd-i1", "open", &[]),
        line("bd-i2", "open", &[]),
        line("bd-i3", "open", &[])
    );
    std::fs::write(&f, text).unwrap();
    let r = env.bd(&["import", f.to_str().unwrap()]).code(1);
    assert!(r.stderr.contains("incoming.jsonl"), "{}", r.stderr);
    assert!(
        r.stderr.contains(":3") || r.stderr.contains("line 3"),
        "{}",
        r.stderr
    );
    let v = json_err(&env, &["import", f.to_str().unwrap()], 1, "parse");
    assert!(v["error"].as_str().unwrap().contains("incoming.jsonl"));
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);
    assert_eq!(env.records().len(), 1);
    assert_eq!(env.records()[0]["id"], a.as_str());
    // A missing file is an io error, not a hang.
    json_err(&env, &["import", "/nonexistent/x.jsonl"], 1, "io");
    // Bad line from stdin is named as `-`.
    let r = env.bd_stdin(&["import", "-"], b"not json\n").code(1);
    assert!(r.stderr.contains('1'), "{}", r.stderr);
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);
}

#[test]
fn export_stdout_file_and_round_trip() {
    let env = TestEnvironment::new();
    let f = fixture();
    env.bd(&["import", f.to_str().unwrap()]).ok();
    let a = env.create("Made here", &["-l", "x", "-d", "with <html> & stuff"]);
    env.bd(&["comment", &a, "a comment"]).ok();
    let b = env.create("Also here", &["--deps", &format!("related:{a}")]);
    env.bd(&["dep", "add", &b, &a]).ok();
    let file = std::fs::read(env.issues_path()).unwrap();

    let out = env.bd(&["export"]).ok();
    assert_eq!(
        out.stdout.as_bytes(),
        file.as_slice(),
        "export is the canonical file"
    );
    let arr = env.json(&["export"]);
    assert_eq!(arr.as_array().unwrap().len(), env.records().len());

    let p = env.tmp.path().join("out.jsonl");
    let r = env.bd(&["export", "-o", p.to_str().unwrap()]).ok();
    assert!(r.stdout.is_empty(), "data went to the file: {}", r.stdout);
    assert_eq!(std::fs::read(&p).unwrap(), file);

    let fresh = TestEnvironment::new();
    let rep = fresh.json(&["import", p.to_str().unwrap()]);
    assert_eq!(rep["created"], env.records().len());
    assert_eq!(
        std::fs::read(fresh.issues_path()).unwrap(),
        file,
        "export → import gives a byte-identical issues.jsonl"
    );
    // Exporting never changes the tracker.
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), file);
    // An export to a folder that does not exist fails plainly.
    json_err(
        &env,
        &["export", "-o", "/nonexistent/dir/out.jsonl"],
        1,
        "io",
    );
    // Empty stdin imports nothing.
    let r = TestEnvironment::new()
        .bd_stdin(&["--json", "import", "-"], b"")
        .ok();
    assert_eq!(r.json()["created"], 0);
    // Empty tracker: empty export.
    assert_eq!(TestEnvironment::new().bd(&["export"]).ok().stdout, "");
}

// ---------------------------------------------------------------- doctor

fn findings(v: &Value) -> Vec<Value> {
    v["findings"].as_array().cloned().unwrap_or_default()
}

#[test]
fn doctor_clean_repo_has_no_problems() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &[]);
    env.bd(&["dep", "add", &a, &b]).ok();
    env.bd(&["close", &b]).ok();
    let v = env.json(&["doctor"]);
    assert_eq!(v["ok"], true, "{v}");
    assert!(findings(&v).is_empty(), "{v}");
    let r = env.bd(&["doctor"]).ok();
    assert!(
        r.stdout.to_lowercase().contains("no problems"),
        "{}",
        r.stdout
    );
    let before = std::fs::read(env.issues_path()).unwrap();
    env.bd(&["doctor", "--fix"]).ok();
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);
    assert!(!env.beads().join("quarantine").exists());
}

#[test]
fn doctor_fix_quarantines_bad_lines_and_keeps_good_lines() {
    let env = TestEnvironment::new();
    let good = [
        line("bd-g1", "open", &[]),
        line("bd-g2", "open", &[("bd-g1", "blocks")]),
        // Classic bytes another tool wrote: offsets and escapes stay as they are.
        r#"{"id":"bd-g3","title":"a \u003cb\u003e \u0026 c","status":"open","priority":1,"issue_type":"task","created_at":"2025-11-02T21:58:07.295058-08:00","updated_at":"2025-11-02T21:58:07.295058-08:00","zz_unknown":{"b":1,"a":2}}"#.to_string(),
    ];
    let bad = "{\"id\":\"bd-g25\",\"title\": truncated";
    let text = format!("{}\n{}\n{bad}\n{}\n", good[0], good[1], good[2]);
    write_issues(&env, &text);

    let v = env.bd(&["--json", "doctor"]).code(1).json(); // unfixed errors exit 1
    assert_eq!(v["ok"], false, "{v}");
    let s = v.to_string();
    assert!(s.contains("issues.jsonl:3"), "names file and line: {s}");
    assert_eq!(
        std::fs::read_to_string(env.issues_path()).unwrap(),
        text,
        "doctor alone never writes"
    );

    let v = env.json(&["doctor", "--fix"]);
    assert!(findings(&v).iter().any(|f| f["fixed"] == true), "{v}");
    let after = std::fs::read_to_string(env.issues_path()).unwrap();
    assert_eq!(
        after,
        format!("{}\n{}\n{}\n", good[0], good[1], good[2]),
        "good lines byte-identical"
    );
    let q = env.beads().join("quarantine");
    let mut quarantined = String::new();
    for e in std::fs::read_dir(&q).expect("quarantine/ exists") {
        quarantined.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    assert!(quarantined.contains(bad), "{quarantined}");
    // Now clean; writes work again.
    assert_eq!(env.json(&["doctor"])["ok"], true);
    env.create("After repair", &[]);
    assert!(
        env.issues_text().contains(&good[2]),
        "untouched classic line stays"
    );
}

#[test]
fn doctor_fix_merges_duplicates_and_normalizes() {
    let env = TestEnvironment::new();
    let mut d1: Value = serde_json::from_str(&line("bd-dup", "open", &[])).unwrap();
    d1["labels"] = serde_json::json!(["one"]);
    let mut d2 = d1.clone();
    d2["labels"] = serde_json::json!(["two"]);
    d2["title"] = "Newer title".into();
    d2["updated_at"] = "2025-06-01T00:00:00Z".into();
    let text = format!(
        "{}\r\n{}\r\n{}\r\n{}\r\n",
        line("bd-zz", "open", &[]),
        serde_json::to_string(&d1).unwrap(),
        line("bd-aa", "open", &[]),
        serde_json::to_string(&d2).unwrap()
    );
    write_issues(&env, &text);
    let v = env.bd(&["--json", "doctor"]).code(1).json();
    let s = v.to_string();
    assert!(s.contains("bd-dup"), "duplicate reported: {s}");
    assert!(s.to_lowercase().contains("crlf"), "{s}");
    assert!(s.to_lowercase().contains("sort"), "{s}");

    env.json(&["doctor", "--fix"]);
    let after = std::fs::read_to_string(env.issues_path()).unwrap();
    assert!(!after.contains('\r'), "LF endings");
    let recs = env.records();
    let got: Vec<&str> = recs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        got,
        vec!["bd-aa", "bd-dup", "bd-zz"],
        "sorted, one line per id"
    );
    let dup = env.record("bd-dup");
    assert_eq!(dup["labels"], serde_json::json!(["one", "two"]), "{dup}");
    assert_eq!(dup["title"], "Newer title");
    assert_eq!(env.json(&["doctor"])["ok"], true);
    assert!(
        findings(&env.json(&["doctor"])).is_empty(),
        "{}",
        env.json(&["doctor"])
    );
}

#[test]
fn doctor_reports_closed_at_invariant_breaks() {
    let env = TestEnvironment::new();
    let mut open_with_closed_at: Value = serde_json::from_str(&line("bd-x1", "open", &[])).unwrap();
    open_with_closed_at["closed_at"] = "2025-02-01T00:00:00Z".into();
    let mut closed_without: Value = serde_json::from_str(&line("bd-x2", "closed", &[])).unwrap();
    closed_without.as_object_mut().unwrap().remove("closed_at");
    let text = format!(
        "{}\n{}\n{}\n",
        serde_json::to_string(&open_with_closed_at).unwrap(),
        serde_json::to_string(&closed_without).unwrap(),
        line("bd-x3", "closed", &[])
    );
    write_issues(&env, &text);
    let v = env.json(&["doctor"]);
    let fs = findings(&v);
    let about = |id: &str| {
        fs.iter().any(|f| {
            f["message"].as_str().unwrap().contains(id)
                && f["message"].as_str().unwrap().contains("closed_at")
        })
    };
    assert!(about("bd-x1"), "{v}");
    assert!(about("bd-x2"), "{v}");
    assert!(
        !fs.iter()
            .any(|f| f["message"].as_str().unwrap().contains("bd-x3")),
        "{v}"
    );
    // Loaded values are kept as they are, even by --fix.
    env.json(&["doctor", "--fix"]);
    assert_eq!(env.issues_text(), text);
    // Reads still work on them.
    env.json(&["show", "bd-x1", "bd-x2"]);
}

#[test]
fn comment_ids_derive_from_content_alike_in_every_clone() {
    let now = "2025-03-04T05:06:07.123456789Z";
    let mut seen = Vec::new();
    for _ in 0..2 {
        let env = TestEnvironment::new();
        let a = env
            .bd_at(now, &["create", "Same everywhere"])
            .ok()
            .stdout
            .trim()
            .to_string();
        let c1 = env
            .bd_at(now, &["--json", "comment", &a, "zebra"])
            .ok()
            .json();
        let c2 = env
            .bd_at(now, &["--json", "comment", &a, "apple"])
            .ok()
            .json();
        let list = env.json(&["comments", &a]);
        let got: Vec<u64> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_u64().unwrap())
            .collect();
        // Same time: ordered by id.
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(got, sorted, "{list}");
        assert_eq!(got.len(), 2);
        assert_ne!(c1["id"], c2["id"]);
        seen.push((a, got));
    }
    assert_eq!(
        seen[0], seen[1],
        "the same comment gets the same id in every clone"
    );
}

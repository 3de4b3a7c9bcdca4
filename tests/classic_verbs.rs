//! The classic verbs and flags classic clients call (issue 11): `note`,
//! `update --append-notes`/`--acceptance-criteria`, `list --title`,
//! `quickstart`, `info --schema`, `repair-deps`, `migrate --inspect`,
//! `doctor --check=validate|pollution`, `reopen --reason`.

mod common;

use common::TestEnvironment;
use serde_json::Value;

#[test]
fn note_appends_a_line_to_the_notes() {
    let env = TestEnvironment::new();
    let x = env.create("Flaky test", &[]);
    let v = env.json(&["note", &x, "Fixed", "the", "flaky", "test"]);
    assert_eq!(v[0]["notes"], "Fixed the flaky test");
    env.bd_stdin(&["note", &x, "--stdin"], b"from a pipe\n")
        .ok();
    let f = env.folder("n").join("note.txt");
    std::fs::write(&f, "from a file\n").unwrap();
    env.bd(&["note", &x, "--file", f.to_str().unwrap()]).ok();
    env.bd(&["update", &x, "--append-notes", "and an update"])
        .ok();
    assert_eq!(
        env.record(&x)["notes"],
        "Fixed the flaky test\nfrom a pipe\nfrom a file\nand an update"
    );
    let r = env.bd(&["note", &x]).code(2);
    assert!(r.stderr.contains("note's text"), "{}", r.stderr);
    env.bd(&["update", &x, "--acceptance-criteria", "green twice"])
        .ok();
    assert_eq!(env.record(&x)["acceptance_criteria"], "green twice");
}

#[test]
fn list_title_matches_case_insensitively() {
    let env = TestEnvironment::new();
    let a = env.create("Parser crashes on empty input", &[]);
    env.create("Write the docs", &[]);
    let v = env.json(&["list", "--title", "PARSER"]);
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![a.as_str()]);
    assert_eq!(
        env.json(&["list", "--title-contains", "nothing"]),
        Value::Array(vec![])
    );
}

#[test]
fn quickstart_info_and_migrate_describe_the_tracker() {
    let env = TestEnvironment::new();
    // quickstart works anywhere.
    let r = env
        .bd_in(&env.folder("nowhere"), "tester", &["quickstart"])
        .ok();
    assert!(r.stdout.contains("bd ready"), "{}", r.stdout);
    let a = env.create("One", &[]);
    let info = env.json(&["info"]);
    assert_eq!(info["issue_count"], 1);
    assert_eq!(info["database"], ".beads/issues.jsonl");
    assert!(info.get("schema").is_none());
    let info = env.json(&["info", "--schema"]);
    let s = &info["schema"];
    assert!(s["statuses"].as_array().unwrap().contains(&"open".into()));
    assert!(
        s["dependency_types"]
            .as_array()
            .unwrap()
            .contains(&"blocks".into())
    );
    assert_eq!(s["sample_ids"][0], a.as_str());
    let m = env.json(&["migrate", "--inspect"]);
    assert_eq!(m["pending_migrations"], Value::Array(vec![]));
    std::fs::write(env.beads().join("beads.db"), b"SQLite format 3\0").unwrap();
    let m = env.json(&["migrate", "--inspect"]);
    assert!(
        m["warnings"][0].as_str().unwrap().contains("beads.db"),
        "{m}"
    );
    env.bd(&["migrate"]).code(2);
}

#[test]
fn repair_deps_finds_and_removes_edges_to_missing_issues() {
    let env = TestEnvironment::new();
    let a = env.create("Has a dangling edge", &[]);
    let b = env.create("Real target", &[]);
    env.bd(&["dep", "add", &a, &b]).ok();
    // An edge to an issue this tracker never had (a hand edit, another tool).
    let text = env.issues_text().replace(
        &format!("\"depends_on_id\":\"{b}\""),
        "\"depends_on_id\":\"bd-gone\"",
    );
    std::fs::write(env.issues_path(), text).unwrap();
    env.bd(&["dep", "add", &a, &b]).ok();
    let r = env.json(&["repair-deps"]);
    assert_eq!(r["orphans_found"], 1, "{r}");
    assert_eq!(r["orphans"][0]["depends_on_id"], "bd-gone");
    assert!(r.get("fixed").is_none());
    let r = env.json(&["repair-deps", "--fix"]);
    assert_eq!(r["fixed"], 1, "{r}");
    let edges = env.record(&a)["dependencies"].clone();
    assert_eq!(edges.as_array().unwrap().len(), 1, "{edges}");
    assert_eq!(edges[0]["depends_on_id"], b.as_str());
    assert_eq!(env.json(&["repair-deps"])["orphans_found"], 0);
}

#[test]
fn doctor_checks_validate_and_pollution() {
    let env = TestEnvironment::new();
    let t1 = env.create("test-123", &[]);
    let t2 = env.create("TEST", &[]);
    let real = env.create("Testing strategy for the parser", &[]);
    let v = env.json(&["doctor", "--check=validate"]);
    assert_eq!(v["ok"], true, "{v}");
    let p = env.json(&["doctor", "--check=pollution"]);
    let ids: Vec<&str> = p["test_issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(p["count"], 2, "{p}");
    assert!(ids.contains(&t1.as_str()) && ids.contains(&t2.as_str()));
    assert!(!ids.contains(&real.as_str()));
    let p = env.json(&["doctor", "--check=pollution", "--clean", "--yes"]);
    assert_eq!(p["deleted"], 2, "{p}");
    assert_eq!(env.record(&t1)["status"], "tombstone");
    assert_eq!(env.record(&real)["status"], "open");
    env.bd(&["doctor", "--check=nonsense"]).code(2);
    // --readonly refuses the cleaning, not the check.
    env.bd(&["--readonly", "doctor", "--check=pollution"]).ok();
    env.bd(&["--readonly", "doctor", "--check=pollution", "--clean"])
        .code(1);
}

#[test]
fn assign_tag_statuses_and_types() {
    let env = TestEnvironment::new();
    let x = env.create("Shorthands", &[]);
    let v = env.json(&["assign", &x, "alice"]);
    assert_eq!(v[0]["assignee"], "alice");
    env.bd(&["assign", &x, ""]).ok();
    assert!(env.record(&x).get("assignee").is_none());
    // Classic's tag is short for update: an array.
    let v = env.json(&["tag", &x, "needs-review"]);
    assert_eq!(v[0]["labels"], serde_json::json!(["needs-review"]));
    env.bd(&["config", "set", "custom_statuses", "in_review"])
        .ok();
    let s = env.json(&["statuses"]);
    let find = |v: &Value, name: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {v}"))
    };
    assert_eq!(find(&s, "open")["category"], "active");
    assert_eq!(find(&s, "closed")["category"], "done");
    assert_eq!(find(&s, "in_progress")["category"], "wip");
    assert_eq!(find(&s, "in_review")["builtin"], false);
    let t = env.json(&["types"]);
    assert_eq!(find(&t, "bug")["kind"], "work");
    assert_eq!(find(&t, "convoy")["kind"], "coordination");
}

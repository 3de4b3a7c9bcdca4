//! Labels, comments and search.

use super::*;

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
    crate::assert_human!(env, "label_add_existing", r.transcript());
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);

    let r = env.bd(&["label", "remove", &a, "missing"]).code(1);
    crate::assert_human!(env, "label_remove_missing", r.transcript());
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
    assert_eq!(
        all,
        serde_json::json!({"schema_version": 1, "alpha": 2, "ui": 1, "zeta": 1})
    );
    let r = env.bd(&["label", "list"]).ok();
    crate::assert_human!(env, "label_list", r.transcript());

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
    assert_eq!(
        env.json(&["label", "list"]),
        serde_json::json!({"schema_version": 1})
    );
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
    // The id as text (classic clients read a string); a number in the file.
    let id1: u64 = c1["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("comment id is a decimal integer as text");
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
    let got_ids: Vec<u64> = arr.iter().map(text_id).collect();
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
        .map(text_id)
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
    let r = env.bd(&["comments", &a]).ok();
    crate::assert_human!(env, "comments", r.transcript());
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
    let r = env.bd(&["search", "websocket"]).ok();
    crate::assert_human!(env, "search", r.transcript());
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
        let got: Vec<u64> = list.as_array().unwrap().iter().map(text_id).collect();
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

/// A comment id as `comments` gives it: a decimal integer as text.
fn text_id(c: &Value) -> u64 {
    c["id"].as_str().unwrap().parse().unwrap()
}

//! More of the classic contract (issue 11): `epic status|close-eligible`,
//! `label list-all`, `dep relate|unrelate`, `dep add --blocked-by`, `dep A
//! --blocks B`, `create --id/--labels/--body-file/--stdin/--silent/--dry-run`,
//! `q`, the classic `list` and `ready` filters, `close --suggest-next`,
//! `comments add`, `comment --author`, `history`, `update --status closed`,
//! `update --set-labels`, `import -i`, `defer` without a date.

mod common;

use common::TestEnvironment;
use serde_json::Value;

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn sorted(xs: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = xs.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn epic_status_and_close_eligible() {
    let env = TestEnvironment::new();
    let done = env.create("Finished epic", &["-t", "epic"]);
    let d1 = env.create("d1", &["--parent", &done]);
    let d2 = env.create("d2", &["--parent", &done]);
    let busy = env.create("Busy epic", &["-t", "epic"]);
    let b1 = env.create("b1", &["--parent", &busy]);
    env.create("b2", &["--parent", &busy]);
    let empty = env.create("Empty epic", &["-t", "epic"]);
    env.bd(&["close", &d1, &d2, &b1]).ok();

    let v = env.json(&["epic", "status"]);
    let by_id = |id: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|e| e["epic"]["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from {v}"))
            .clone()
    };
    let e = by_id(&done);
    assert_eq!(
        (e["total_children"].as_u64(), e["closed_children"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(e["eligible_for_close"], true);
    assert_eq!(e["epic"]["title"], "Finished epic");
    let e = by_id(&busy);
    assert_eq!(
        (e["total_children"].as_u64(), e["closed_children"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(e["eligible_for_close"], false);
    // No children: not eligible (classic's rule).
    assert_eq!(by_id(&empty)["eligible_for_close"], false);
    let v = env.json(&["epic", "status", "--eligible-only"]);
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["epic"]["id"], done.as_str());
    let r = env.bd(&["epic", "status"]).ok();
    assert!(
        r.stdout.contains("2/2 children closed (100%)"),
        "{}",
        r.stdout
    );

    // Dry run: the eligible epics, nothing written.
    let before = env.issues_text();
    let v = env.json(&["epic", "close-eligible", "--dry-run"]);
    assert_eq!(v[0]["epic"]["id"], done.as_str());
    assert_eq!(env.issues_text(), before);
    // --readonly refuses the real thing, allows the dry run.
    env.bd(&["--readonly", "epic", "close-eligible"]).code(1);
    env.bd(&["--readonly", "epic", "close-eligible", "--dry-run"])
        .ok();
    assert_eq!(env.issues_text(), before);

    let v = env.json(&["epic", "close-eligible"]);
    assert_eq!(v["closed"], serde_json::json!([done]));
    assert_eq!(v["count"], 1);
    let rec = env.record(&done);
    assert_eq!(rec["status"], "closed");
    assert_eq!(rec["close_reason"], "All children completed");
    // Closed epics are not listed; nothing left to close.
    assert!(
        !env.json(&["epic", "status"])
            .to_string()
            .contains(&format!("\"{done}\""))
    );
    let v = env.json(&["epic", "close-eligible"]);
    assert_eq!(v["count"], 0);

    // One the close guard refuses (blocked) does not stop the others; it
    // is reported, and the command says it could not do all it was asked.
    let blocked = env.create("Blocked epic", &["-t", "epic"]);
    let k = env.create("k", &["--parent", &blocked]);
    let free = env.create("Free epic", &["-t", "epic"]);
    let f = env.create("f", &["--parent", &free]);
    let blocker = env.create("Blocker", &[]);
    env.bd(&["dep", "add", &blocked, &blocker]).ok();
    env.bd(&["close", &k, &f]).ok();
    let r = env.bd(&["--json", "epic", "close-eligible"]).code(3);
    let v = r.json();
    assert_eq!(v["closed"], serde_json::json!([free]), "{v}");
    assert_eq!(v["refused"][0]["id"], blocked.as_str(), "{v}");
    assert!(r.stderr.contains("not closing"), "{}", r.stderr);
    assert_eq!(env.record(&free)["status"], "closed");
    assert_eq!(env.record(&blocked)["status"], "open");
}

#[test]
fn label_list_all_counts_each_label() {
    let env = TestEnvironment::new();
    env.create("A", &["-l", "ui,bug"]);
    env.create("B", &["--labels", "bug"]);
    let gone = env.create("C", &["-l", "bug"]);
    env.bd(&["delete", &gone]).ok();
    let v = env.json(&["label", "list-all"]);
    assert_eq!(
        v,
        serde_json::json!([{"label": "bug", "count": 2}, {"label": "ui", "count": 1}])
    );
    let empty = TestEnvironment::new();
    assert_eq!(empty.json(&["label", "list-all"]), serde_json::json!([]));
}

#[test]
fn dep_spellings_relate_and_unrelate() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &[]);
    let c = env.create("C", &[]);
    let d = env.create("D", &[]);
    env.bd(&["dep", "add", &a, "--blocked-by", &b]).ok();
    env.bd(&["dep", "add", &a, "--depends-on", &c, "-t", "related"])
        .ok();
    // `bd dep X --blocks Y`: X blocks Y.
    env.bd(&["dep", &d, "--blocks", &b]).ok();
    let edges = |id: &str| -> Vec<(String, String)> {
        env.record(id)["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e["depends_on_id"].as_str().unwrap().to_string(),
                    e["type"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert!(edges(&a).contains(&(b.clone(), "blocks".into())));
    assert!(edges(&a).contains(&(c.clone(), "related".into())));
    assert_eq!(edges(&b), vec![(d.clone(), "blocks".to_string())]);
    // Both a positional target and a flag: a usage error, nothing written.
    let before = env.issues_text();
    env.bd(&["dep", "add", &a, &c, "--blocked-by", &d]).code(2);
    env.bd(&["dep", "add", &a]).code(2);
    env.bd(&["dep"]).code(2);
    assert_eq!(env.issues_text(), before);

    // relate: one write, both ways; again is a no-op; unrelate removes both.
    let v = env.json(&["dep", "relate", &c, &d]);
    assert_eq!(ids(&v), sorted(&[&c, &d]));
    assert!(edges(&c).contains(&(d.clone(), "relates-to".into())));
    assert!(edges(&d).contains(&(c.clone(), "relates-to".into())));
    let after = env.issues_text();
    env.bd(&["dep", "relate", &d, &c]).ok();
    assert_eq!(env.issues_text(), after);
    // A see-also link blocks nothing.
    let ready = ids(&env.json(&["ready"]));
    assert!(ready.contains(&c) && ready.contains(&d), "{ready:?}");
    env.bd(&["dep", "unrelate", &d, &c]).ok();
    assert!(!edges(&c).iter().any(|e| e.1 == "relates-to"));
    assert!(!edges(&d).iter().any(|e| e.1 == "relates-to"));
    let r = env.bd(&["--json", "dep", "unrelate", &d, &c]).code(1);
    assert_eq!(r.json()["code"], "not_found");
}

#[test]
fn create_classic_flags_and_q() {
    let env = TestEnvironment::new();
    // --id: this tracker's prefix, free, well formed.
    let v = env.json(&["create", "Partitioned", "--id", "bd-42"]);
    assert_eq!(v["id"], "bd-42");
    let e = env
        .bd(&["--json", "create", "Again", "--id", "bd-42"])
        .code(1);
    assert!(e.json()["error"].as_str().unwrap().contains("taken"));
    env.bd(&["create", "Other", "--id", "zz-1"]).code(1);
    env.bd(&["create", "Bad", "--id", "no spaces"]).code(1);
    env.bd(&["create", "Orphan child", "--id", "bd-42.1"])
        .code(1);
    let v = env.json(&["create", "Forced", "--id", "zz-1", "--force"]);
    assert_eq!(v["id"], "zz-1");
    env.bd(&["create", "Both", "--id", "bd-43", "--parent", "bd-42"])
        .code(2);
    // A deleted issue's ID stays taken (its tombstone syncs).
    env.bd(&["delete", "bd-42"]).ok();
    env.bd(&["create", "Reuse", "--id", "bd-42"]).code(1);

    // --labels, --body-file, --stdin, -e.
    let f = env.folder("c").join("body.md");
    std::fs::write(&f, "From a file\n").unwrap();
    let v = env.json(&[
        "create",
        "Bodied",
        "--labels",
        "a,b",
        "--body-file",
        f.to_str().unwrap(),
        "-e",
        "30",
    ]);
    assert_eq!(v["labels"], serde_json::json!(["a", "b"]));
    assert_eq!(v["description"], "From a file\n");
    assert_eq!(v["estimated_minutes"], 30);
    let r = env.bd_stdin(&["--json", "create", "Piped", "--stdin"], b"from stdin");
    assert_eq!(r.ok().json()["description"], "from stdin");
    env.bd(&["create", "X", "--stdin", "-d", "both"]).code(2);

    // --silent: the ID alone; `new` is create.
    let r = env.bd(&["create", "Quiet", "--silent"]).ok();
    let id = r.stdout.trim().to_string();
    assert_eq!(env.record(&id)["title"], "Quiet");
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let r = env.bd(&["new", "Also created"]).ok();
    assert_eq!(env.record(r.stdout.trim())["title"], "Also created");

    // --dry-run: the issue it would make, nothing written, allowed read-only.
    let before = env.issues_text();
    let v = env.json(&["create", "Dry", "-p", "1", "--dry-run"]);
    assert_eq!(v["title"], "Dry");
    assert_eq!(v["priority"], 1);
    env.bd(&["--readonly", "create", "Dry", "--dry-run"]).ok();
    env.bd(&["--readonly", "create", "Wet"]).code(1);
    assert_eq!(env.issues_text(), before);

    // q: quick capture prints the ID only.
    let r = env
        .bd(&["q", "Quick one", "-p", "1", "-t", "bug", "-l", "x,y"])
        .ok();
    let q = r.stdout.trim();
    assert!(!q.contains(' ') && q.starts_with("bd-"), "{}", r.stdout);
    let rec = env.record(q);
    assert_eq!(rec["priority"], 1);
    assert_eq!(rec["issue_type"], "bug");
    assert_eq!(rec["labels"], serde_json::json!(["x", "y"]));
}

#[test]
fn list_classic_filters() {
    let env = TestEnvironment::new();
    let epic = env.create("Epic", &["-t", "epic"]);
    let a = env.create(
        "Alpha",
        &["--parent", &epic, "-d", "The PARSER breaks", "-l", "ui"],
    );
    let b = env.create("Beta", &["--notes", "Seen on Linux", "-t", "bug"]);
    let c = env.create("Gamma", &[]);
    env.bd_at("2027-03-01T00:00:00Z", &["update", &b, "-p", "0"])
        .ok();
    env.bd_at("2027-04-01T00:00:00Z", &["close", &c]).ok();

    let l = |args: &[&str]| {
        let mut a = vec!["list"];
        a.extend_from_slice(args);
        ids(&env.json(&a))
    };
    assert_eq!(l(&["--id", &format!("{a},{c}")]), sorted(&[&a]));
    assert_eq!(l(&["--id", &a, "--id", &c, "--all"]), sorted(&[&a, &c]));
    assert_eq!(l(&["--desc-contains", "parser"]), sorted(&[&a]));
    assert_eq!(l(&["--notes-contains", "LINUX"]), sorted(&[&b]));
    assert_eq!(l(&["--empty-description"]), sorted(&[&epic, &b]));
    assert_eq!(
        l(&["--updated-after", "2027-02-01", "--all"]),
        sorted(&[&b, &c])
    );
    assert_eq!(l(&["--closed-after", "2027-03-15", "--all"]), sorted(&[&c]));
    assert!(l(&["--closed-before", "2027-03-15", "--all"]).is_empty());
    assert_eq!(l(&["--no-labels"]), sorted(&[&epic, &b]));
    assert_eq!(l(&["--no-parent"]), sorted(&[&epic, &b]));
    assert_eq!(l(&["--exclude-label", "ui"]), sorted(&[&epic, &b]));
    assert_eq!(l(&["--exclude-type", "epic,bug"]), sorted(&[&a]));
    assert_eq!(l(&["--ready"]), l(&["-s", "ready"]));
    assert!(l(&["--ready"]).contains(&b));
    // Layout switches classic clients send are accepted.
    assert_eq!(l(&["--tree=false"]), l(&[]));
    assert_eq!(l(&["--flat"]), l(&[]));
    assert_eq!(l(&["--pretty"]), l(&[]));
    // --reverse: id order, reversed.
    let v = env.json(&["list", "-r"]);
    let order: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    let mut want = order.clone();
    want.sort();
    want.reverse();
    assert_eq!(order, want);
    // --long: the description's first line and the dates.
    let r = env.bd(&["list", "--long", "--id", &a]).ok();
    assert!(r.stdout.contains("The PARSER breaks"), "{}", r.stdout);
    assert!(r.stdout.contains("created "), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("parent {epic}")), "{}", r.stdout);
    // Bad values are refused, naming the flag.
    let r = env.bd(&["list", "--updated-after", "whenever"]).code(1);
    assert!(r.stderr.contains("--updated-after"), "{}", r.stderr);
    env.bd(&[
        "list",
        "--closed-after",
        "2027-05-01",
        "--closed-before",
        "2027-01-01",
    ])
    .code(1);
    env.bd(&["list", "--no-labels", "-l", "ui"]).code(2);
    env.bd(&["list", "--exclude-type", "nonsense"]).code(1);
    // count applies the text filters too.
    assert_eq!(
        env.json(&["count", "--desc-contains", "parser"])["count"],
        1
    );
}

#[test]
fn ready_unassigned_and_include_deferred() {
    let env = TestEnvironment::new();
    let free = env.create("Free", &[]);
    let mine = env.create("Mine", &["-a", "someone"]);
    let later = env.create("Later", &[]);
    env.bd(&["defer", &later, "--until", "+3d"]).ok();
    assert_eq!(ids(&env.json(&["ready"])), sorted(&[&free, &mine]));
    assert_eq!(ids(&env.json(&["ready", "-u"])), sorted(&[&free]));
    assert_eq!(
        ids(&env.json(&["ready", "--include-deferred"])),
        sorted(&[&free, &mine, &later])
    );
    // Still not blocked work, deferred or not.
    let blocker = env.create("Blocker", &[]);
    env.bd(&["dep", "add", &later, &blocker]).ok();
    assert!(!ids(&env.json(&["ready", "--include-deferred"])).contains(&later));
}

#[test]
fn close_suggest_next_and_reason_file() {
    let env = TestEnvironment::new();
    let blocker = env.create("Blocker", &[]);
    let waits = env.create("Waits", &["--deps", &blocker]);
    let also = env.create("Also waits", &["--deps", &blocker]);
    let other = env.create("Other blocker", &[]);
    env.bd(&["dep", "add", &also, &other]).ok();
    let f = env.folder("r").join("reason.txt");
    std::fs::write(&f, "Shipped in 1.2").unwrap();
    let v = env.json(&[
        "close",
        &blocker,
        "--suggest-next",
        "--reason-file",
        f.to_str().unwrap(),
    ]);
    assert_eq!(v["closed"][0]["id"], blocker.as_str());
    // Only what closing it made ready (`also` still waits for `other`).
    assert_eq!(ids(&v["unblocked"]), sorted(&[&waits]));
    assert_eq!(env.record(&blocker)["close_reason"], "Shipped in 1.2");
    // Nothing made ready: the usual array.
    let v = env.json(&["close", &waits, "--suggest-next"]);
    assert!(v.is_array(), "{v}");
    env.bd(&["close", &also, &other, "--suggest-next"]).code(2);
}

#[test]
fn comments_add_and_comment_author() {
    let env = TestEnvironment::new();
    let x = env.create("X", &[]);
    let v = env.json(&["comment", &x, "two", "words", "--author", "Web UI"]);
    assert_eq!(v["author"], "Web UI");
    assert_eq!(v["text"], "two words");
    let f = env.folder("c").join("c.txt");
    std::fs::write(&f, "from a file").unwrap();
    let v = env.json(&[
        "comments",
        "add",
        &x,
        "-f",
        f.to_str().unwrap(),
        "-a",
        "bob",
    ]);
    assert_eq!(v["author"], "bob");
    assert_eq!(v["text"], "from a file");
    let v = env.json(&["comments", "add", &x, "plain"]);
    assert_eq!(v["author"], "tester");
    env.bd_stdin(&["comment", &x, "--stdin"], b"piped").ok();
    let all = env.json(&["comments", &x]);
    let texts: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["two words", "from a file", "plain", "piped"]);
    // Bad authors and no text are refused; nothing written.
    let before = env.issues_text();
    env.bd(&["comment", &x, "hi", "--author", "  "]).code(1);
    env.bd(&["comment", &x, "hi", "--author", "a\u{1b}[31m"])
        .code(1);
    env.bd(&["comments", "add", &x]).code(2);
    env.bd(&["comments"]).code(2);
    assert_eq!(env.issues_text(), before);
    // `comments add` writes: --readonly refuses it, not the listing.
    env.bd(&["--readonly", "comments", "add", &x, "no"]).code(1);
    env.bd(&["--readonly", "comments", &x]).ok();
}

#[test]
fn history_lists_versions_newest_first() {
    let g = TestEnvironment::bare_git();
    g.bd(&["init", "--prefix", "bd"]).ok();
    let x = g.create("First title", &[]);
    g.bd(&["commit"]).ok();
    g.bd(&["update", &x, "--title", "Second title"]).ok();
    g.bd(&["commit"]).ok();
    let v = g.json(&["history", &x]);
    let versions = v.as_array().unwrap();
    assert_eq!(versions.len(), 2, "{v}");
    assert_eq!(versions[0]["Issue"]["title"], "Second title");
    assert_eq!(versions[1]["Issue"]["title"], "First title");
    for ver in versions {
        assert_eq!(ver["CommitHash"].as_str().unwrap().len(), 40);
        assert!(ver["CommitDate"].is_string() && ver["Committer"].is_string());
    }
    assert_eq!(
        g.json(&["history", &x, "--limit", "1"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = g.bd(&["history", &x]).ok();
    assert!(r.stdout.contains("Second title"), "{}", r.stdout);
    let r = g.bd(&["--json", "history", "bd-nothing9"]).code(1);
    assert_eq!(r.json()["code"], "not_found");
}

#[test]
fn update_status_closed_goes_through_close() {
    let env = TestEnvironment::new();
    let x = env.create("X", &[]);
    let v = env.json(&[
        "update", &x, "--status", "closed", "--reason", "done", "--notes", "n",
    ]);
    assert_eq!(v[0]["status"], "closed");
    let rec = env.record(&x);
    assert_eq!(rec["status"], "closed");
    assert!(rec["closed_at"].is_string(), "{rec}");
    assert_eq!(rec["close_reason"], "done");
    assert_eq!(rec["notes"], "n");
    // An epic with open children: close's guard, nothing written.
    let e = env.create("E", &["-t", "epic"]);
    env.create("child", &["--parent", &e]);
    let before = env.issues_text();
    let r = env
        .bd(&["--json", "update", &e, "--status", "closed", "--title", "T"])
        .code(3);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("open children")
    );
    assert_eq!(env.issues_text(), before);
    env.bd(&["update", &x, "--reason", "r"]).code(2);
}

#[test]
fn update_set_labels_replaces_them() {
    let env = TestEnvironment::new();
    let x = env.create("X", &["-l", "a,b"]);
    let v = env.json(&["update", &x, "--set-labels", "b,c"]);
    assert_eq!(v[0]["labels"], serde_json::json!(["b", "c"]));
    env.bd(&["update", &x, "--set-labels", ""]).ok();
    assert!(
        env.record(&x)
            .get("labels")
            .is_none_or(|l| l == &serde_json::json!([]))
    );
    env.bd(&["update", &x, "--set-labels", "a", "--add-label", "z"])
        .code(2);
}

#[test]
fn import_input_flag_and_defer_without_a_date() {
    let src = TestEnvironment::new();
    let a = src.create("Exported", &[]);
    let out = src.bd(&["export"]).ok().stdout;
    let env = TestEnvironment::new();
    let f = env.folder("i").join("in.jsonl");
    std::fs::write(&f, out).unwrap();
    env.bd(&["import", "-i", f.to_str().unwrap()]).ok();
    assert_eq!(env.record(&a)["title"], "Exported");
    env.bd(&["import"]).code(2);
    env.bd(&["import", "x", "-i", "y"]).code(2);

    // Without a date: the status only; no date, so not ready even with
    // --include-deferred (it waits for `undefer`, not a day).
    let x = env.create("X", &[]);
    let v = env.json(&["defer", &x]);
    assert_eq!(v["status"], "deferred");
    assert!(env.record(&x).get("defer_until").is_none());
    assert!(!ids(&env.json(&["ready", "--include-deferred"])).contains(&x));
    env.bd(&["undefer", &x]).ok();
    assert_eq!(env.record(&x)["status"], "open");
    // A date it has stays (classic keeps it): nothing to change.
    env.bd(&["defer", &x, "--until", "+2d"]).ok();
    let dated = env.record(&x)["defer_until"].clone();
    let before = env.issues_text();
    let r = env.bd(&["defer", &x]).ok();
    assert!(r.stderr.contains("already deferred"), "{}", r.stderr);
    assert_eq!(env.issues_text(), before);
    assert_eq!(env.record(&x)["defer_until"], dated);
}

#[test]
fn help_is_a_command() {
    let env = TestEnvironment::new();
    let r = env.bd(&["help"]).ok();
    assert!(r.stdout.contains("create"), "{}", r.stdout);
    let r = env.bd(&["help", "epic"]).ok();
    assert!(r.stdout.contains("close-eligible"), "{}", r.stdout);
}

/// A classic repository's `.beads/*.db` (never read) gets a new time on
/// every tracker write, for watchers such as beads-ui; one that is a link
/// out of `.beads/` is not followed.
#[test]
fn writes_touch_a_classic_database_file_but_not_a_link() {
    let env = TestEnvironment::new();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    let db = env.beads().join("beads.db");
    std::fs::write(&db, b"SQLite format 3\0").unwrap();
    let outside = env.folder("elsewhere").join("victim.db");
    std::fs::write(&outside, b"not ours").unwrap();
    std::os::unix::fs::symlink(&outside, env.beads().join("linked.db")).unwrap();
    for f in [&db, &outside] {
        std::fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let mtime = |p: &std::path::Path| std::fs::metadata(p).unwrap().modified().unwrap();
    // A read changes nothing.
    env.bd(&["list"]).ok();
    assert_eq!(mtime(&db), old);
    env.create("A write", &[]);
    assert!(mtime(&db) > old, "the database file was not touched");
    assert_eq!(std::fs::read(&db).unwrap(), b"SQLite format 3\0");
    assert_eq!(mtime(&outside), old, "a link out of .beads/ was followed");
    assert_eq!(std::fs::read(&outside).unwrap(), b"not ours");
}

/// A classic repository whose issues are only in its database (Dolt for
/// 1.x, SQLite for 0.x): `init` refuses to start an empty tracker beside
/// them and says how to bring them over; `--force-empty` starts one; a
/// classic export (memory records, `schema_version` on each line) imports.
#[test]
fn init_in_a_classic_repository_whose_issues_are_only_in_its_database() {
    for (what, setup) in [
        ("Dolt", "dolt-dir"),
        ("Dolt", "dolt-meta"),
        ("SQLite", "sqlite"),
    ] {
        let env = TestEnvironment::bare_git();
        let beads = env.repo.join(".beads");
        std::fs::create_dir_all(&beads).unwrap();
        match setup {
            "dolt-dir" => std::fs::create_dir_all(beads.join("dolt")).unwrap(),
            "dolt-meta" => std::fs::write(
                beads.join("metadata.json"),
                r#"{"backend": "dolt", "database": "dolt"}"#,
            )
            .unwrap(),
            _ => std::fs::write(beads.join("beads.db"), b"SQLite format 3\0").unwrap(),
        }
        let before = common::files_under(&beads);
        let r = env.bd(&["--json", "init"]).code(1);
        let e = r.json();
        let msg = e["error"].as_str().unwrap();
        assert!(
            msg.contains(what) && msg.contains("issues.jsonl"),
            "{setup}: {msg}"
        );
        let hint = e["hint"].as_str().unwrap();
        assert!(
            hint.contains("export") && hint.contains("bd import"),
            "{hint}"
        );
        assert_eq!(
            common::files_under(&beads),
            before,
            "{setup}: refused init wrote"
        );

        env.bd(&["init", "--force-empty", "--prefix", "bd"]).ok();
        // Once tracked here, init is not refused again.
        env.bd(&["init"]).ok();
        let export = env.folder("x").join("export.jsonl");
        std::fs::write(
            &export,
            concat!(
                r#"{"schema_version":1,"id":"bd-old1","title":"From the database","status":"open","priority":1,"issue_type":"task","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#,
                "\n",
                r#"{"_type":"memory","key":"k","value":"v","schema_version":1}"#,
                "\n"
            ),
        )
        .unwrap();
        let r = env.bd(&["--json", "import", export.to_str().unwrap()]).ok();
        assert!(r.stderr.contains("memory record"), "{}", r.stderr);
        assert_eq!(r.json()["ids"], serde_json::json!(["bd-old1"]));
        let rec = env.record("bd-old1");
        assert_eq!(rec["title"], "From the database");
        assert!(rec.get("schema_version").is_none(), "{rec}");
    }
    // A tracker with issues in its file is not asked: a classic repository
    // with both a database and issues.jsonl migrates as before.
    let env = TestEnvironment::bare_git();
    std::fs::create_dir_all(env.repo.join(".beads/dolt")).unwrap();
    std::fs::write(
        env.repo.join(".beads/issues.jsonl"),
        concat!(
            r#"{"id":"bd-k1","title":"Kept","status":"open","priority":2,"issue_type":"task","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#,
            "\n"
        ),
    )
    .unwrap();
    env.bd(&["init"]).ok();
    assert_eq!(env.record("bd-k1")["title"], "Kept");
}

/// `blocked --json` lists, as `dependencies`, the issues each one depends
/// on (read from the precomputed blocked set too: it was empty there).
#[test]
fn blocked_lists_what_each_issue_depends_on() {
    let env = TestEnvironment::new();
    let blocker = env.create("Blocker", &[]);
    let waits = env.create("Waits", &["--deps", &blocker]);
    // Twice: the second run reads the precomputed set the first one left.
    for _ in 0..2 {
        let v = env.json(&["blocked"]);
        assert_eq!(v[0]["id"], waits.as_str());
        assert_eq!(v[0]["blocked_by_count"], 1);
        assert_eq!(v[0]["dependencies"][0]["id"], blocker.as_str(), "{v}");
        assert_eq!(v[0]["dependencies"][0]["dependency_type"], "blocks");
        assert_eq!(v[0]["dependencies"][0]["title"], "Blocker");
    }
}

/// Review 8: `dep tree` walks a chain thousands deep (the recursive walk
/// overflowed the stack); `--status` keeps the tree connected; bad filter
/// values are refused; `list --id` takes parts of IDs as elsewhere.
#[test]
fn dep_tree_deep_chains_status_filter_and_refusals() {
    let env = TestEnvironment::new();
    let n = 6000;
    let mut text = String::new();
    for i in 0..n {
        let deps = if i + 1 < n {
            format!(
                r#","dependencies":[{{"issue_id":"bd-c{i}","depends_on_id":"bd-c{}","type":"blocks"}}]"#,
                i + 1
            )
        } else {
            String::new()
        };
        text.push_str(&format!(
            r#"{{"id":"bd-c{i}","title":"link {i}","status":"{}","priority":2,"issue_type":"task","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"{deps}}}"#,
            if i == 1 { "closed" } else { "open" }
        ));
        text.push('\n');
    }
    std::fs::write(env.issues_path(), text).unwrap();
    let t = env.json(&["dep", "tree", "bd-c0", "-d", "10000"]);
    assert_eq!(t.as_array().unwrap().len(), n);
    assert_eq!(t[n - 1]["depth"], n as u64 - 1);
    let t = env.json(&[
        "dep",
        "tree",
        &format!("bd-c{}", n - 1),
        "--direction",
        "up",
        "-d",
        "10000",
    ]);
    assert_eq!(t.as_array().unwrap().len(), n);
    // --status open: c1 (closed) is left out; c2 hangs under c0.
    let t = env.json(&["dep", "tree", "bd-c0", "-d", "3", "--status", "open"]);
    let nodes: Vec<(String, String, u64)> = t
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["id"].as_str().unwrap().into(),
                x["parent_id"].as_str().unwrap().into(),
                x["depth"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        nodes,
        vec![
            ("bd-c0".into(), "".into(), 0),
            ("bd-c2".into(), "bd-c0".into(), 1),
            ("bd-c3".into(), "bd-c2".into(), 2),
        ]
    );
    env.bd(&["dep", "tree", "bd-c0", "--status", "bogus"])
        .code(1);
    env.bd(&["dep", "list", "bd-c0", "-t", "bogus"]).code(1);
    env.bd(&["list", "--id", ""]).code(1);
    // A unique part of an ID names it, as everywhere.
    assert_eq!(
        ids(&env.json(&["list", "--id", "c5999"])),
        vec!["bd-c5999".to_string()]
    );
    env.bd(&["list", "--id", "bd-nothere"]).code(1);
}

/// Review 8: an issue a command wrote says how many depend on it.
#[test]
fn written_issues_count_their_dependents() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    env.create("B", &["--deps", &a]);
    env.create("C", &["--deps", &a]);
    let v = env.json(&["update", &a, "-p", "1"]);
    assert_eq!(v[0]["dependent_count"], 2, "{v}");
    let v = env.json(&["label", "add", &a, "x"]);
    assert_eq!(v["dependent_count"], 2, "{v}");
}

/// Classic's shorthands: `priority`, `link`, `duplicate --of`, `supersede
/// --with` (the edge and the close in one write, blockers or not), `todo`.
#[test]
fn shorthands_priority_link_duplicate_supersede_todo() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &[]);
    let v = env.json(&["priority", &a, "0"]);
    assert_eq!(v[0]["priority"], 0);
    env.bd(&["priority", &a, "P9"]).code(1);
    env.bd(&["link", &a, &b]).ok();
    env.bd(&["link", &a, &b, "-t", "related"]).ok();
    let kinds: Vec<String> = env.record(&a)["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["blocks", "related"]);

    // A duplicate is closed over its open blocker (b blocks a): replaced,
    // not done.
    let canon = env.create("Canonical", &[]);
    let before_lines = env.issues_text().lines().count();
    let v = env.json(&["duplicate", &a, "--of", &canon]);
    assert_eq!(v["duplicate"], a.as_str());
    assert_eq!(v["canonical"], canon.as_str());
    assert_eq!(v["status"], "closed");
    let rec = env.record(&a);
    assert_eq!(rec["status"], "closed");
    assert_eq!(rec["close_reason"], format!("Duplicate of {canon}"));
    assert!(rec["dependencies"].to_string().contains("\"duplicates\""));
    assert_eq!(env.issues_text().lines().count(), before_lines);
    let v = env.json(&["supersede", &b, "--with", &canon]);
    assert_eq!(v["superseded"], b.as_str());
    assert_eq!(v["replacement"], canon.as_str());
    assert_eq!(
        env.record(&b)["close_reason"],
        format!("Superseded by {canon}")
    );
    // Refusals write nothing.
    let before = env.issues_text();
    env.bd(&["duplicate", &canon, "--of", &canon]).code(1);
    env.bd(&["duplicate", &canon, "--of", "bd-nothere9"])
        .code(1);
    env.bd(&["duplicate", &canon]).code(2);
    env.bd(&["--readonly", "supersede", &canon, "--with", &a])
        .code(1);
    assert_eq!(env.issues_text(), before);

    // todo: tasks with shortcuts.
    let r = env.bd(&["todo", "add", "Water the plants", "-p", "1"]).ok();
    let t = r.stdout.trim().to_string();
    assert_eq!(env.record(&t)["issue_type"], "task");
    assert_eq!(env.record(&t)["priority"], 1);
    assert!(ids(&env.json(&["todo"])).contains(&t));
    assert_eq!(env.json(&["todo"]), env.json(&["todo", "list"]));
    env.bd(&["todo", "done", &t]).ok();
    assert_eq!(env.record(&t)["close_reason"], "Completed");
    assert!(!ids(&env.json(&["todo"])).contains(&t));
    assert!(ids(&env.json(&["todo", "list", "--all"])).contains(&t));
}

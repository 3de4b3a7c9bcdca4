//! The core commands end to end through the real binary: init, create, show,
//! list, count, children, update, close, reopen, delete, restore, defer,
//! undefer, ready, blocked, stale, claim, unclaim; their `--json` shapes, their
//! error cases and exit codes (SPEC §3, §4, §8; PITFALLS), and the
//! "nothing changed" table of docs/NOTHING-CHANGED.md.
mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::{Run, TestEnvironment};
use serde_json::Value;

// ---------------------------------------------------------------- helpers

/// Bytes, inode and mtime of a file: equal states mean "not rewritten".
#[derive(Debug, PartialEq, Eq)]
struct FileState {
    bytes: Vec<u8>,
    ino: u64,
    mtime: i64,
    mtime_nsec: i64,
}

fn state(path: &Path) -> FileState {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    FileState {
        bytes: std::fs::read(path).unwrap(),
        ino: m.ino(),
        mtime: m.mtime(),
        mtime_nsec: m.mtime_nsec(),
    }
}

/// The IDs of a JSON array of issues, in order.
fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|i| i["id"].as_str().expect("every issue has an id").to_string())
        .collect()
}

fn set(v: &Value) -> BTreeSet<String> {
    ids(v).into_iter().collect()
}

fn strs(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

/// `bd --json ARGS` expected to fail with `exit` and `code`: stdout must be
/// exactly one JSON document `{"error","code","hint"}`, stderr the human line.
#[track_caller]
fn fail_json(env: &TestEnvironment, args: &[&str], exit: i32, code: &str) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let r = env.bd(&a).code(exit);
    check_error_doc(&r, code)
}

#[track_caller]
fn check_error_doc(r: &Run, code: &str) -> Value {
    let v = r.json();
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("error document is not an object: {}", r.stdout));
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["error", "code", "hint"]),
        "error document keys: {}",
        r.stdout
    );
    assert_eq!(
        v["code"], code,
        "stdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    let msg = v["error"].as_str().expect("error is a string");
    assert!(!msg.is_empty());
    assert!(
        v["hint"].is_string() || v["hint"].is_null(),
        "hint is a string or null: {}",
        r.stdout
    );
    assert!(
        r.stderr.contains(msg),
        "stderr carries the human line {msg:?}: {}",
        r.stderr
    );
    assert!(
        !r.stderr.trim_start().starts_with('{'),
        "stderr is talk, not JSON: {}",
        r.stderr
    );
    v
}

/// `bd ARGS` (no --json) expected to fail with `exit`; returns stderr.
#[track_caller]
fn fail(env: &TestEnvironment, args: &[&str], exit: i32) -> String {
    let r = env.bd(args).code(exit);
    assert!(!r.stderr.trim().is_empty(), "a refusal says why");
    r.stderr
}

/// Create at the time `t`.
#[track_caller]
fn create_at(env: &TestEnvironment, t: &str, title: &str, extra: &[&str]) -> String {
    let mut a = vec!["create", title];
    a.extend_from_slice(extra);
    env.bd_at(t, &a).ok().stdout.trim().to_string()
}

// ---------------------------------------------------------------- init

#[test]
fn init_is_idempotent_and_needs_git() {
    let env = TestEnvironment::new();
    let b = env.beads();
    let files = [
        b.join("issues.jsonl"),
        b.join("config.toml"),
        b.join(".gitignore"),
        b.join(".gitattributes"),
    ];
    let before: Vec<FileState> = files.iter().map(|p| state(p)).collect();
    let r = env.bd(&["init", "--prefix", "bd"]).ok();
    assert!(r.stderr.contains("Nothing changed"), "{}", r.stderr);
    let r = env.bd(&["init"]).ok();
    assert!(r.stderr.contains("Nothing changed"), "{}", r.stderr);
    // From a subfolder, init finds the same worktree root.
    let sub = env.repo.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let r = env.bd(&["-C", sub.to_str().unwrap(), "init"]).ok();
    assert!(r.stderr.contains("Nothing changed"), "{}", r.stderr);
    assert!(!sub.join(".beads").exists());
    env.bd(&["-C", sub.to_str().unwrap(), "list"]).ok();
    let after: Vec<FileState> = files.iter().map(|p| state(p)).collect();
    assert_eq!(before, after, "a second init rewrites nothing");
    let v = env.json(&["init"]);
    assert_eq!(v["prefix"], "bd");
    assert_eq!(v["created"], serde_json::json!([]));

    // A git repository without .beads/: every command suggests `bd init`.
    let bare = TestEnvironment::bare_git();
    for args in [
        &["list"][..],
        &["create", "x"],
        &["ready"],
        &["show", "bd-1"],
    ] {
        let r = bare.bd(args);
        assert_ne!(r.code, 0, "{args:?} without .beads/");
        assert!(r.stderr.contains("bd init"), "{args:?}: {}", r.stderr);
    }
    let v = fail_json(&bare, &["list"], 1, "not_found");
    assert!(v["hint"].as_str().unwrap().contains("bd init"));
    assert!(!bare.beads().exists(), "a failing command creates nothing");

    // Outside any git repository: init refuses and suggests `git init`.
    let tmp = tempfile::tempdir().unwrap();
    let out = common::bd_cmd(
        tmp.path(),
        &tmp.path().join("home"),
        "",
        &["init", "--prefix", "bd"],
    )
    .env_remove("BD_ACTOR")
    .env("HOME", tmp.path())
    .env("GIT_CEILING_DIRECTORIES", tmp.path().parent().unwrap())
    .output()
    .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("git init"), "{err}");
    assert!(!tmp.path().join(".beads").exists());
    // `-C DIR` pointing outside a repository says the same, also as JSON.
    let dir = tmp.path().to_str().unwrap();
    let r = env.bd(&["--json", "-C", dir, "list"]);
    assert_eq!(r.code, 1);
    let v = check_error_doc(&r, "invalid");
    assert!(v["hint"].as_str().unwrap().contains("git init"));
}

// ---------------------------------------------------------------- create

#[test]
fn create_with_every_flag() {
    let env = TestEnvironment::new();
    let x = env.create("Blocker", &[]);
    let y = env.create("Related", &[]);

    let r = env
        .bd(&[
            "create",
            "  Full issue  ",
            "-t",
            "bug",
            "-p",
            "P1",
            "-d",
            "the description",
            "-l",
            "beta,alpha",
            "-l",
            "gamma",
            "-a",
            "alice",
            "--due",
            "2030-01-02",
            "--estimate",
            "90",
            "--defer",
            "2099-06-01",
            "--deps",
            &format!("related:{y},blocks:{x}"),
        ])
        .ok();
    let id = r.stdout.trim().to_string();
    assert_eq!(r.stdout, format!("{id}\n"), "stdout holds only the ID");
    assert!(id.starts_with("bd-"), "{id}");
    assert!(
        r.stderr.contains(&id),
        "stderr talks about it: {}",
        r.stderr
    );

    let rec = env.record(&id);
    assert_eq!(rec["title"], "Full issue", "title is trimmed");
    assert_eq!(rec["issue_type"], "bug");
    assert_eq!(rec["priority"], 1);
    assert_eq!(rec["description"], "the description");
    assert_eq!(rec["labels"], serde_json::json!(["alpha", "beta", "gamma"]));
    assert_eq!(rec["assignee"], "alice");
    assert!(rec["due_at"].as_str().unwrap().starts_with("2030-01-02"));
    assert_eq!(rec["estimated_minutes"], 90);
    assert_eq!(rec["status"], "deferred");
    assert!(
        rec["defer_until"]
            .as_str()
            .unwrap()
            .starts_with("2099-06-01")
    );
    assert_eq!(rec["created_by"], "tester");
    assert!(rec.get("closed_at").is_none());
    let deps = rec["dependencies"].as_array().unwrap();
    let mut want = vec![(x.clone(), "blocks"), (y.clone(), "related")];
    want.sort();
    let got: Vec<(String, &str)> = deps
        .iter()
        .map(|d| {
            assert_eq!(d["issue_id"], id.as_str());
            (
                d["depends_on_id"].as_str().unwrap().to_string(),
                d["type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want, "edges sorted by (depends_on_id, type)");

    // A bare ID in --deps means `blocks`; the new issue is then blocked.
    let z = env.create("Waits", &["--deps", &x]);
    let rec = env.record(&z);
    assert_eq!(rec["dependencies"][0]["type"], "blocks");
    assert_eq!(rec["dependencies"][0]["depends_on_id"], x.as_str());
    let blocked = env.json(&["blocked"]);
    assert!(set(&blocked).contains(&z));

    // --json gives the issue object.
    let v = env.json(&["create", "Json one", "-p", "low", "-t", "feature"]);
    assert!(v.is_object(), "{v}");
    assert_eq!(v["title"], "Json one");
    assert_eq!(v["priority"], 3);
    assert_eq!(v["issue_type"], "feature");
    assert_eq!(v["status"], "open");
    let jid = v["id"].as_str().unwrap();
    assert_eq!(env.record(jid)["title"], "Json one");
    for k in [
        "dependency_count",
        "dependent_count",
        "comment_count",
        "parent",
    ] {
        assert!(v.get(k).is_some(), "create --json has {k}: {v}");
    }

    // Defaults.
    let d = env.record(&env.create("Defaults", &[]));
    assert_eq!(d["priority"], 2, "priority is always written");
    assert_eq!(d["issue_type"], "task");
    assert_eq!(d["status"], "open");
}

#[test]
fn create_priority_words() {
    let env = TestEnvironment::new();
    for (word, n) in [
        ("0", 0),
        ("P0", 0),
        ("p4", 4),
        ("P3", 3),
        ("critical", 0),
        ("high", 1),
        ("medium", 2),
        ("low", 3),
        ("backlog", 4),
    ] {
        let v = env.json(&["create", &format!("prio {word}"), "-p", word]);
        assert_eq!(v["priority"], n, "-p {word}");
    }
}

#[test]
fn create_refuses_bad_values() {
    let env = TestEnvironment::new();
    env.create("Existing", &[]);
    let before = state(&env.issues_path());

    for blank in ["", "   ", " \t "] {
        let err = fail(&env, &["create", blank], 1);
        assert!(err.contains("blank"), "{blank:?}: {err}");
    }
    let long = "x".repeat(501);
    let err = fail(&env, &["create", &long], 1);
    assert!(err.contains("500"), "{err}");
    for p in ["P5", "5", "-1", "urgent"] {
        let flag = format!("--priority={p}");
        let err = fail(&env, &["create", "t", &flag], 1);
        assert!(err.contains("priority"), "-p {p}: {err}");
    }
    let err = fail(&env, &["create", "t", "-t", "bogus"], 1);
    assert!(err.contains("type") && err.contains("bogus"), "{err}");
    let err = fail(&env, &["create", "t", "--defer", "2001-01-01"], 1);
    assert!(err.contains("future"), "{err}");
    fail(&env, &["create", "t", "--estimate", "-5"], 1);
    fail(&env, &["create", "t", "--deps", "bogus:bd-x"], 1);
    fail(&env, &["create", "t", "--due", "not a date"], 1);
    fail_json(
        &env,
        &["create", "t", "--deps", "bd-nothere"],
        1,
        "not_found",
    );
    fail_json(
        &env,
        &["create", "t", "--parent", "bd-nothere"],
        1,
        "not_found",
    );
    fail_json(&env, &["create", "t", "-p", "9"], 1, "invalid");
    fail_json(&env, &["create", "   "], 1, "invalid");
    fail_json(&env, &["create"], 2, "usage");
    assert_eq!(before, state(&env.issues_path()), "refusals write nothing");

    // 500 characters (not bytes) is the limit, inclusive.
    let ok = "é".repeat(500);
    let id = env.create(&ok, &[]);
    assert_eq!(env.record(&id)["title"], ok.as_str());
}

#[test]
fn create_child_ids() {
    let env = TestEnvironment::new();
    let x = env.create("Epic", &["-t", "epic"]);
    let c1 = env.create("one", &["--parent", &x]);
    let c2 = env.create("two", &["--parent", &x]);
    assert_eq!(c1, format!("{x}.1"));
    assert_eq!(c2, format!("{x}.2"));
    let rec = env.record(&c1);
    let edges = rec["dependencies"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["type"], "parent-child");
    assert_eq!(edges[0]["depends_on_id"], x.as_str());
    // Grandchildren number under their own parent.
    assert_eq!(
        env.create("one.one", &["--parent", &c1]),
        format!("{x}.1.1")
    );
    // The next number is above every child known, deleted ones included.
    let c3 = env.create("three", &["--parent", &x]);
    assert_eq!(c3, format!("{x}.3"));
    env.bd(&["delete", &c3]).ok();
    assert_eq!(env.create("four", &["--parent", &x]), format!("{x}.4"));
    // A child moved away keeps its number reserved under its old parent.
    let other = env.create("Other", &[]);
    env.bd(&["update", &c2, "--parent", &other]).ok();
    assert_eq!(env.create("five", &["--parent", &x]), format!("{x}.5"));
    // --parent takes a partial ID too.
    let short = x.trim_start_matches("bd-");
    assert_eq!(env.create("six", &["--parent", short]), format!("{x}.6"));
    let v = env.json(&["create", "seven", "--parent", &x]);
    assert_eq!(v["parent"], x.as_str());
}

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
    let text = env.bd(&["list"]).ok().stdout;
    assert_eq!(text.lines().count(), live.len(), "{text}");
    for id in &live {
        assert!(text.contains(id.as_str()), "{text}");
    }

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
    let by = env.json(&["count", "--by", "type"]);
    assert_eq!(by["count"], live.len());
    assert_eq!(by["groups"]["bug"], 1);
    assert_eq!(by["groups"]["epic"], 1);
    assert_eq!(by["groups"]["task"], 4);
    let by = env.json(&["count", "--all", "--by", "status"]);
    assert_eq!(by["groups"]["closed"], 1);
    assert_eq!(by["groups"]["open"], live.len());
    assert!(by["groups"].get("tombstone").is_none());
    let by = env.json(&["count", "--by", "priority"]);
    assert_eq!(by["groups"]["P4"], 4);
    let by = env.json(&["count", "--by", "assignee"]);
    assert_eq!(by["groups"]["alice"], 1);
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
    assert!(v.is_object(), "update of one issue gives the object");
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

    env.bd(&["update", &x, "-s", "in_progress"]).ok();
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
    let e = fail_json(&env, &["update", &x, "--status", "closed"], 1, "invalid");
    let text = format!("{} {}", e["error"], e["hint"]);
    assert!(text.contains("bd close"), "points to close: {text}");
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

    let v = env.json(&["update", &c, "--parent", &p2]);
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

    let v = env.json(&["close", &a, "--reason", "done and dusted"]);
    assert!(v.is_object());
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
    assert!(
        r.stderr.contains(&blocker),
        "names the blocker: {}",
        r.stderr
    );
    let r = env.bd(&["--json", "close", &waiting]);
    assert_ne!(r.code, 0);
    let e = r.json();
    assert!(e["error"].as_str().unwrap().contains(&blocker));
    assert_eq!(before, state(&env.issues_path()));
    assert_eq!(env.record(&waiting)["status"], "open");
    // update --status closed is not a way around the guard.
    fail(&env, &["update", &waiting, "--status", "closed"], 1);
    assert_eq!(env.record(&waiting)["status"], "open");
    env.bd(&["close", &waiting, "--force"]).ok();
    assert_eq!(env.record(&waiting)["status"], "closed");

    // Closing the blocker first works without --force.
    let w2 = env.create("W2", &["--deps", &blocker]);
    env.bd(&["close", &blocker]).ok();
    env.bd(&["close", &w2]).ok();

    // Close twice: exit 0 and a notice.
    let before = state(&env.issues_path());
    let r = env.bd(&["close", &a]).ok();
    assert!(r.stderr.contains("Nothing changed"), "{}", r.stderr);
    assert!(r.stderr.contains("already closed"), "{}", r.stderr);
    assert_eq!(before, state(&env.issues_path()));

    // Reopen clears the close fields.
    let v = env.json(&["reopen", &a]);
    assert_eq!(v["status"], "open");
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
    fail_json(&env, &["defer", &b], 2, "usage");
    assert_eq!(before, state(&env.issues_path()));

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
    let text = env.bd(&["ready"]).ok().stdout;
    let pos: Vec<usize> = want
        .iter()
        .map(|i| text.find(i.as_str()).unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");

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
    let v = env.json(&["update", &x, "--claim"]);
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

// ---------------------------------------------------------------- output contract

#[test]
fn json_errors_are_one_document_with_the_right_exit() {
    let env = TestEnvironment::new();
    let x = env.create("X", &[]);
    // usage (clap and ours) → 2
    fail_json(&env, &["list", "--bogus-flag"], 2, "usage");
    fail_json(&env, &["frobnicate"], 2, "usage");
    fail_json(
        &env,
        &["update", &x, "--claim", "--status", "open"],
        2,
        "usage",
    );
    // invalid / not_found / ambiguous → 1
    fail_json(&env, &["list", "--sort", "bogus"], 1, "invalid");
    fail_json(&env, &["show", "bd-nothere9"], 1, "not_found");
    let c1 = env.create("c1", &["--parent", &x]);
    env.create("c2", &["--parent", &x]);
    let e = fail_json(&env, &["show", &format!("{x}.")], 1, "ambiguous");
    assert!(e["error"].as_str().unwrap().contains(&c1));
    // conflict → 3
    env.bd(&["claim", &x]).ok();
    let r = env
        .bd_env(&["--json", "claim", &x], &[("BD_ACTOR", "other")])
        .code(3);
    check_error_doc(&r, "conflict");
    // Success: one document, talk on stderr only.
    let r = env.bd(&["--json", "close", &c1]).ok();
    r.json();
    assert!(r.stderr.contains("Closed"), "{}", r.stderr);
    // Without --json, failures print nothing on stdout.
    let r = env.bd(&["show", "bd-nothere9"]).code(1);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("bd-nothere9"), "{}", r.stderr);
}

/// A command group without its subcommand is a usage error (exit 2); with
/// `--json` it too must give one error document on stdout, not help text.
#[test]
fn json_usage_error_for_missing_subcommand() {
    let env = TestEnvironment::new();
    for args in [&["dep"][..], &["label"], &["config"]] {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let r = env.bd(&a);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        check_error_doc(&r, "usage");
    }
}

/// A file with a bad line: readers skip it with one warning naming file and
/// line; writers refuse with code `parse` (exit 1) and the `bd doctor --fix` hint.
#[test]
fn bad_lines_readers_warn_writers_refuse() {
    let env = TestEnvironment::new();
    let x = env.create("X", &[]);
    let mut text = env.issues_text();
    text.push_str("this is not json\n");
    std::fs::write(env.issues_path(), &text).unwrap();
    let before = state(&env.issues_path());
    let r = env.bd(&["--json", "list"]).ok();
    assert_eq!(set(&r.json()), strs(&[&x]));
    assert_eq!(r.stderr.matches("warning").count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("issues.jsonl") && r.stderr.contains('2'),
        "{}",
        r.stderr
    );
    env.bd(&["ready"]).ok();
    env.bd(&["show", &x]).ok();
    for args in [
        &["create", "Y"][..],
        &["update", &x, "-p", "1"],
        &["close", &x],
        &["claim", &x],
    ] {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let r = env.bd(&a).code(1);
        let e = check_error_doc(&r, "parse");
        assert!(
            e["hint"].as_str().unwrap().contains("bd doctor --fix"),
            "{e}"
        );
    }
    assert_eq!(before, state(&env.issues_path()));
}

#[test]
fn locked_workspace_exits_3() {
    let env = TestEnvironment::new();
    let x = env.create("X", &[]);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(env.beads().join(".lock"))
        .unwrap();
    f.lock().unwrap();
    let r = env.bd_env(
        &["--json", "update", &x, "-p", "1"],
        &[("BD_LOCK_TIMEOUT_MS", "200")],
    );
    assert_eq!(r.code, 3, "{r:?}");
    check_error_doc(&r, "locked");
    // Readers take no lock.
    env.bd(&["show", &x]).ok();
    f.unlock().unwrap();
    env.bd(&["update", &x, "-p", "1"]).ok();
}

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

// ---------------------------------------------------------------- nothing changed

/// One row of docs/NOTHING-CHANGED.md.
struct Row {
    name: &'static str,
    args: Vec<String>,
    exit: i32,
    /// JSON error code when `exit` is non-zero.
    code: Option<&'static str>,
    /// Every one of these appears on stderr.
    stderr: Vec<&'static str>,
}

fn row(
    name: &'static str,
    args: &[&str],
    exit: i32,
    code: Option<&'static str>,
    stderr: &[&'static str],
) -> Row {
    Row {
        name,
        args: args.iter().map(|s| s.to_string()).collect(),
        exit,
        code,
        stderr: stderr.to_vec(),
    }
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
    assert!(r.stderr.contains("nope"), "{}", r.stderr);
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

/// Run each row with and without --json: exit code, stderr notice, JSON code,
/// and the watched files neither changed nor rewritten (same inode, same mtime).
fn check_rows(env: &TestEnvironment, rows: &[Row]) {
    let watched = [
        env.issues_path(),
        env.beads().join("config.toml"),
        env.beads().join(".gitignore"),
        env.beads().join(".gitattributes"),
    ];
    let mut failures = Vec::new();
    for r in rows {
        for json in [false, true] {
            let before: Vec<FileState> = watched.iter().map(|p| state(p)).collect();
            let mut args: Vec<&str> = r.args.iter().map(String::as_str).collect();
            if json {
                args.insert(0, "--json");
            }
            let run = env.bd(&args);
            let after: Vec<FileState> = watched.iter().map(|p| state(p)).collect();
            let mut problems = Vec::new();
            if run.code != r.exit {
                problems.push(format!("exit {} (want {})", run.code, r.exit));
            }
            for s in &r.stderr {
                if !run.stderr.contains(s) {
                    problems.push(format!("stderr lacks {s:?}"));
                }
            }
            if before != after {
                for (p, (b, a)) in watched.iter().zip(before.iter().zip(&after)) {
                    if b != a {
                        problems.push(format!("{} rewritten", p.display()));
                    }
                }
            }
            if json {
                match serde_json::from_str::<Value>(&run.stdout) {
                    Ok(v) => {
                        if let Some(code) = r.code
                            && v["code"] != code
                        {
                            problems.push(format!("json code {} (want {code})", v["code"]));
                        }
                        if r.code.is_none() && v.get("error").is_some() {
                            problems.push(format!("json is an error document: {v}"));
                        }
                    }
                    Err(e) => problems.push(format!(
                        "stdout is not one JSON document ({e}): {}",
                        run.stdout
                    )),
                }
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{}{}: {}\n    stderr: {}",
                    r.name,
                    if json { " (--json)" } else { "" },
                    problems.join("; "),
                    run.stderr.trim()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "nothing-changed rows failing:\n{}",
        failures.join("\n")
    );
}

//! `bd init` and `bd create`.

use super::*;

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
    crate::assert_human!(env, "init_again", r.transcript());
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
    let outside = env.folder("outside");
    let out = common::run_of(
        env.cmd_anonymous(&outside, &["init", "--prefix", "bd"])
            .env("GIT_CEILING_DIRECTORIES", outside.parent().unwrap())
            .output()
            .unwrap(),
    );
    assert_ne!(out.code, 0);
    let err = &out.stderr;
    assert!(err.contains("git init"), "{err}");
    assert!(!outside.join(".beads").exists());
    // `-C DIR` pointing outside a repository says the same, also as JSON.
    let dir = outside.to_str().unwrap();
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
    crate::assert_human!(env, "create_with_every_flag", r.transcript());
    let show = env.bd(&["show", &id]).ok();
    crate::assert_human!(env, "show_with_every_flag", show.transcript());

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

    // Every refusal's words, one snapshot.
    let mut said = String::new();
    let mut refused = |args: &[&str]| {
        let err = fail(&env, args, 1);
        said.push_str(&format!("{args:?}\n{err}\n"));
    };
    for blank in ["", "   ", " \t "] {
        refused(&["create", blank]);
    }
    refused(&["create", &"x".repeat(501)]);
    for p in ["P5", "5", "-1", "urgent"] {
        refused(&["create", "t", &format!("--priority={p}")]);
    }
    refused(&["create", "t", "-t", "bogus"]);
    refused(&["create", "t", "--defer", "2001-01-01"]);
    crate::assert_human!(env, "create_refusals", said);
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

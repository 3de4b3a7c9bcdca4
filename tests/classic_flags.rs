//! The classic global flags and variables (issue 11): `--readonly`,
//! `--sandbox`, `--db`, `BEADS_DIR`, `BEADS_ACTOR`, the accepted no-ops, the
//! version line and `.beads/metadata.json`, by which classic clients find a
//! workspace.

mod common;

use common::TestEnvironment;
use serde_json::Value;

#[test]
fn readonly_refuses_every_write_and_reads_work() {
    let env = TestEnvironment::new();
    let x = env.create("Existing", &[]);
    let before = env.issues_text();
    for args in [
        vec!["create", "Nope", "--readonly"],
        vec!["--readonly", "update", &x, "-p", "1"],
        vec!["close", &x, "--readonly"],
        vec!["claim", &x, "--readonly"],
        vec!["--readonly", "ready", "--claim"],
        vec!["--readonly", "doctor", "--fix"],
        vec!["--readonly", "config", "set", "lease", "2h"],
        vec!["--readonly", "mail", "send", "--to", "bob", "-s", "hi"],
    ] {
        let r = env.bd(&args).code(1);
        assert!(
            r.stderr.contains("--readonly refuses every write"),
            "{args:?}: {}",
            r.stderr
        );
    }
    // The refusal names the command as it is typed.
    let r = env.bd(&["--readonly", "repair-deps", "--fix"]).code(1);
    assert!(r.stderr.contains("`bd repair-deps` writes"), "{}", r.stderr);
    assert_eq!(env.issues_text(), before);
    let home_before = dir_listing(&env.home);
    for args in [
        vec!["--readonly", "show", &x],
        vec!["--readonly", "list"],
        vec!["--readonly", "ready"],
        vec!["--readonly", "stats"],
        vec!["--readonly", "doctor"],
        vec!["--readonly", "prime"],
    ] {
        env.bd_as("reader", &args).ok();
    }
    assert_eq!(env.issues_text(), before);
    assert_eq!(
        dir_listing(&env.home),
        home_before,
        "no heartbeat or registration under --readonly"
    );
}

#[test]
fn readonly_makes_and_registers_nothing_in_a_new_home() {
    let env = TestEnvironment::new();
    env.create("Existing", &[]);
    let fresh = env.folder("fresh-home");
    for args in [["--readonly", "list"], ["--readonly", "ready"]] {
        env.bd_env(&args, &[("BD_HOME", fresh.to_str().unwrap())])
            .ok();
    }
    assert_eq!(dir_listing(&fresh), Vec::<String>::new());
}

fn dir_listing(p: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let path = e.path();
            let meta = std::fs::metadata(&path).unwrap();
            out.push(format!("{} {}", path.display(), meta.len()));
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sandbox_keeps_sync_off_the_network() {
    let (env, _) = TestEnvironment::with_remote(1, "0");
    let r = env.bd(&["sync", "--sandbox"]).code(1);
    assert!(r.stderr.contains("--sandbox"), "{}", r.stderr);
    // Everything else works offline.
    env.bd(&["--sandbox", "create", "Offline work"]).ok();
    env.bd(&["--sandbox", "commit"]).ok();
}

#[test]
fn db_and_beads_dir_name_the_workspace_and_beads_actor_the_actor() {
    let env = TestEnvironment::new();
    let x = env.create("Found from elsewhere", &[]);
    let elsewhere = env.folder("elsewhere");
    let db = env.beads().join("beads.db");
    let mut c = env.cmd_anonymous(&elsewhere, &["--json", "show", &x, "--db"]);
    c.arg(&db);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["id"], x.as_str());
    let mut c = env.cmd_anonymous(&elsewhere, &["--json", "show", &x]);
    c.env("BEADS_DIR", env.beads());
    assert!(c.output().unwrap().status.success());
    // BEADS_ACTOR names the actor when BD_ACTOR does not.
    let mut c = env.cmd_anonymous(&env.repo, &["--json", "claim", &x]);
    c.env("BEADS_ACTOR", "classic-agent");
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(env.record(&x)["assignee"], "classic-agent");
    // The classic no-op flags are accepted anywhere on the line.
    env.bd(&["list", "--no-daemon", "--no-auto-flush", "--no-auto-import"])
        .ok();
}

#[test]
fn init_writes_metadata_json_and_keeps_a_classic_one() {
    let env = TestEnvironment::new();
    let meta: Value =
        serde_json::from_slice(&std::fs::read(env.beads().join("metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["jsonl_export"], "issues.jsonl");
    assert_eq!(meta["tracker"], "strand");
    // doctor notices a missing one and --fix writes it.
    std::fs::remove_file(env.beads().join("metadata.json")).unwrap();
    let r = env.bd(&["doctor"]);
    assert!(r.stdout.contains("metadata.json"), "{}", r.stdout);
    env.bd(&["doctor", "--fix"]);
    assert!(env.beads().join("metadata.json").exists());
    // A classic one keeps its keys; init only adds what strand needs.
    let classic = r#"{"database": "beads.db", "backend": "sqlite", "jsonl_export": "beads.jsonl"}"#;
    std::fs::write(env.beads().join("metadata.json"), classic).unwrap();
    env.bd(&["init"]).ok();
    let meta: Value =
        serde_json::from_slice(&std::fs::read(env.beads().join("metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["backend"], "sqlite");
    assert_eq!(meta["database"], "beads.db");
    assert_eq!(meta["jsonl_export"], "beads.jsonl");
    assert_eq!(meta["tracker"], "strand");
}

/// A project home that cannot be used (here: BD_HOME names a file) keeps
/// no write of the tracker from working: the check for a delete made in a
/// sibling worktree reads no ledger then, and refuses nothing.
#[test]
fn writes_work_without_a_usable_project_home() {
    let env = TestEnvironment::new();
    let x = env.create("Still writable", &[]);
    let not_a_dir = env.folder("h").join("file");
    std::fs::write(&not_a_dir, b"").unwrap();
    let home = not_a_dir.to_str().unwrap();
    for args in [
        vec!["comment", x.as_str(), "hi"],
        vec!["label", "add", x.as_str(), "l"],
    ] {
        let r = env.bd_env(&args, &[("BD_HOME", home)]);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    }
    assert_eq!(env.record(&x)["labels"], serde_json::json!(["l"]));
}

/// Classic's opt-in envelope: `BD_JSON_ENVELOPE=1` wraps every `--json`
/// document, untouched, as `{"schema_version": 1, "data": …}`; an error
/// document gains `schema_version`.
#[test]
fn the_json_envelope_wraps_documents_untouched() {
    let env = TestEnvironment::new();
    let x = env.create("Wrapped", &[]);
    for args in [vec!["--json", "show", x.as_str()], vec!["--json", "list"]] {
        let mut plain: Value = serde_json::from_str(&env.bd(&args).ok().stdout).unwrap();
        let r = env.bd_env(&args, &[("BD_JSON_ENVELOPE", "1")]).ok();
        let wrapped: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(wrapped["schema_version"], 1);
        // Without the envelope an object carries schema_version itself
        // (legacy mode); inside `data` it does not.
        if let Some(o) = plain.as_object_mut() {
            assert_eq!(o.remove("schema_version"), Some(Value::from(1)), "{args:?}");
        }
        assert!(wrapped["data"].get("schema_version").is_none());
        assert_eq!(wrapped["data"], plain, "{args:?}");
    }
    let r = env
        .bd_env(&["--json", "show", "bd-nope"], &[("BD_JSON_ENVELOPE", "1")])
        .code(1);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["code"], "not_found");
}

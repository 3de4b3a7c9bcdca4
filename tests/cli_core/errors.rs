//! Errors: JSON error documents, exit codes, bad lines, locks.

use super::*;

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
    crate::assert_human!(env, "show_not_found", r.transcript());
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

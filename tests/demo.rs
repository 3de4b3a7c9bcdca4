//! `bd demo` plays the whole story (README quick start): it must run to the
//! end on a fresh machine, and it checks what it shows, so a regression in
//! any step it covers fails here.

mod common;

use common::TestEnvironment;

/// `bd demo ARGS` as on a fresh machine: no BD_HOME, no actor, HOME the
/// environment's `home`.
fn demo(env: &TestEnvironment, args: &[&str]) -> common::Run {
    let mut a = vec!["demo"];
    a.extend_from_slice(args);
    env.bd_unconfigured(&a)
}

#[test]
fn the_demo_plays_every_step_and_checks_it() {
    let env = TestEnvironment::empty();
    let dir = env.root().join("play");
    let r = demo(&env, &[dir.to_str().unwrap()]);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    let out = &r.stdout;
    for step in [
        "== 1. Set up",
        "== 2. Work with dependencies",
        "== 3. A claim race",
        "== 4. A hook survives a crash",
        "== 5. A convoy lands",
        "== 6. Sync with a concurrent edit",
        "== 7. A bug handed to another project",
        "== 8. Review",
    ] {
        assert!(out.contains(step), "missing {step:?}");
    }
    // The race: one winner, one loser told who holds it.
    assert!(
        out.contains("(exit 3)") && out.contains("is held by"),
        "{out}"
    );
    assert!(out.contains("Convoy ") && out.contains(" landed"), "{out}");
    assert!(
        out.contains("Imported 1 message(s) from other projects"),
        "{out}"
    );
    assert!(out.contains("is closed, as of"), "{out}");
    // It played in the folder given, with its own project home.
    assert!(dir.join("vc-alice/.beads/mail.jsonl").is_file());
    assert!(dir.join("beads/.beads/issues.jsonl").is_file());
    assert!(dir.join("home/projects").is_dir());
    // Nothing leaked into the caller's state home.
    assert!(!env.home.join(".local/state/bd").exists());
}

#[test]
fn the_demo_refuses_a_folder_with_files_and_speaks_json() {
    let env = TestEnvironment::empty();
    let full = env.folder("full");
    std::fs::write(full.join("keep.txt"), "mine").unwrap();
    let r = demo(&env, &["--json", full.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["code"], "invalid");
    assert!(v["error"].as_str().unwrap().contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(full.join("keep.txt")).unwrap(),
        "mine"
    );
    let dir = env.root().join("new");
    let r = demo(&env, &["--json", dir.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert!(
        r.stderr.contains("== 8. Review"),
        "the story goes to stderr with --json"
    );
}

//! `bd demo` plays the whole story (README quick start): it must run to the
//! end on a fresh machine, and it checks what it shows, so a regression in
//! any step it covers fails here.

mod common;

use std::process::Command;

use common::{BD, run_of};

fn demo(args: &[&str], home: &std::path::Path) -> common::Run {
    run_of(
        Command::new(BD)
            .arg("demo")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .output()
            .expect("bd runs"),
    )
}

#[test]
fn the_demo_plays_every_step_and_checks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("play");
    let r = demo(&[dir.to_str().unwrap()], tmp.path());
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
    assert!(!tmp.path().join(".local/state/bd").exists());
}

#[test]
fn the_demo_refuses_a_folder_with_files_and_speaks_json() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), "mine").unwrap();
    let r = demo(&["--json", tmp.path().to_str().unwrap()], tmp.path());
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["code"], "invalid");
    assert!(v["error"].as_str().unwrap().contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("keep.txt")).unwrap(),
        "mine"
    );
    let dir = tmp.path().join("new");
    let r = demo(&["--json", dir.to_str().unwrap()], tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert!(
        r.stderr.contains("== 8. Review"),
        "the story goes to stderr with --json"
    );
}

//! End-to-end tests of strand with real git: project identity, the merge
//! driver config, commits of `.beads/` only, `bd diff`/`bd log`, `bd sync`,
//! and convergence of several clones of one bare remote (SPEC §1, §2, §5).
//!
//! Every clone gets its own BD_HOME (a machine of its own) and actor; the git
//! commands run here have `bd` first on PATH, so the merge driver
//! `bd merge %O %A %B %P` that git runs is the binary under test.

#[path = "../common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{Network, Run, TestEnvironment, Workspace, git_bd, run_of};
use serde_json::Value;

const DRIVER: &str = "bd merge %O %A %B %P";
const CLASSIC_DRIVER: &str = "bd merge %A %O %A %B";

/// A single repository with `bd init` done and an initial commit, no remote.
fn solo() -> (TestEnvironment, Workspace) {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.bd(&["init", "--prefix", "bd"]).ok();
    std::fs::write(ws.dir.join("code.txt"), "line 1\n").unwrap();
    ws.git(&["add", "-A"]);
    ws.git(&["commit", "-q", "-m", "initial commit"]);
    (env, ws)
}

fn all_output(r: &Run) -> String {
    format!("{}{}", r.stdout, r.stderr)
}

fn write_hook(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let hooks = dir.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let p = hooks.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

mod commit;
mod converge;
mod diff_log;
mod driver;
mod identity;
mod sync;

// ---------------------------------------------------------------------------
// 4. bd diff and bd log
// ---------------------------------------------------------------------------

fn change<'a>(d: &'a Value, id: &str) -> &'a Value {
    d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no change for {id} in {d}"))
}

fn field_names(c: &Value) -> Vec<String> {
    c["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

fn field<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == name)
        .unwrap_or_else(|| panic!("no field {name} in {c}"))
}

/// A clone pushes a line that does not parse (written by another tool) while
/// another clone has tracker changes: the driver cannot merge (SPEC §5: it
/// "exits 1 leaving %A unchanged" when an input does not parse), so `bd sync`
/// stops with nothing half-done and says what to do about the tracker file.
fn sync_against_a_bad_upstream_line(bad: &str) {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    b.bd(&["list"]).ok();
    a.create("Good one");
    a.bd(&["sync"]).ok();
    b.bd(&["sync"]).ok();
    let mut text = String::from_utf8(a.issues()).unwrap();
    text.push_str(bad);
    text.push('\n');
    std::fs::write(a.issues_path(), text).unwrap();
    a.git(&["commit", "-q", "-am", "another tool wrote this"]);
    a.git(&["push", "-q"]);
    let remote = net.remote_head();
    b.create("Made in b");
    let r = b.bd(&["sync"]);
    assert_eq!(
        r.code,
        1,
        "sync must not merge a file that does not parse\nstdout: {}\nstderr: {}\nb now holds:\n{}",
        r.stdout,
        r.stderr,
        String::from_utf8_lossy(&b.issues())
    );
    assert!(!b.exists_in_git_dir("MERGE_HEAD"), "the merge was aborted");
    assert_eq!(net.remote_head(), remote, "nothing pushed");
    assert!(!String::from_utf8_lossy(&b.issues()).contains(bad));
    assert!(r.stderr.contains(".beads/issues.jsonl"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("outside the tracker"),
        "the conflict is inside the tracker: {}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------
// 6. Convergence (needs the merge driver)
// ---------------------------------------------------------------------------

/// Create an issue in `a`, sync it to every clone.
fn shared_issue(net: &Network, title: &str) -> String {
    let id = net.c[0].create(title);
    let all: Vec<usize> = (0..net.c.len()).collect();
    net.sync(&all);
    for ws in &net.c {
        assert!(ws.ids().contains(&id), "{} lacks {id}", ws.name());
    }
    id
}

fn ids_of(list: &[&String]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

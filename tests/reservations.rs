//! File reservations (issue 14): `bd reserve`, `bd release`, `bd
//! reservations`, through the real binary in real repositories. Overlapping
//! globs (exclusive against anything, shared with shared), lapse, release,
//! one machine's worktrees sharing its reservations, the git pre-commit
//! hook (refusing another agent's commit, letting the holder and
//! `BD_RESERVATIONS=off` through, failing open without `bd`, chaining the
//! hook it found and giving it back on removal), and two machines (two
//! BD_HOMEs) through a bare remote in remote coordination. Then property
//! tests of `model::glob`: overlap is symmetric and exact against a
//! reference matcher written here from the syntax.

mod common;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};

use common::{Run, TestEnvironment, Workspace, path_with_bd, run_of};
use proptest::prelude::*;
use proptest::test_runner::Config as PtConfig;
use serde_json::{Value, json};
use strand::model::glob;

// ------------------------------------------------------------ helpers

/// `bd --json ARGS` as `actor`, asserting success.
#[track_caller]
fn json(ws: &Workspace, actor: &str, args: &[&str]) -> Value {
    ws.json_as(actor, args)
}

/// `git commit` in `ws` as `actor` on its machine (its BD_HOME, `bd` on
/// PATH unless `path` says otherwise), with `vars` more in the environment.
fn commit(ws: &Workspace, actor: &str, msg: &str, vars: &[(&str, &str)]) -> Run {
    let mut c = Command::new("git");
    c.args(["commit", "-q", "-m", msg])
        .current_dir(&ws.dir)
        .env_clear()
        .env("PATH", path_with_bd())
        .env("HOME", &ws.home)
        .env("BD_HOME", &ws.home)
        .env("BD_ACTOR", actor)
        .env("BD_NOW", ws.clock.tick())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null());
    for (k, v) in vars {
        c.env(k, v);
    }
    run_of(c.output().expect("git runs"))
}

/// Write `text` to `file` in `ws` (folders made) and stage it.
fn stage(ws: &Workspace, file: &str, text: &str) {
    let p = ws.dir.join(file);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    ws.git(&["add", "--", file]);
}

fn hook_dir(ws: &Workspace) -> std::path::PathBuf {
    ws.dir.join(".git/hooks")
}

fn write_exe(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn globs_of(list: &Value) -> Vec<(String, Vec<String>)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["agent"].as_str().unwrap().to_string(),
                r["globs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| g.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

// ------------------------------------------------------------ one machine

#[test]
fn overlapping_reservations_are_refused_and_shared_ones_shared() {
    let env = TestEnvironment::new();
    let ws = env.ws();
    let r = json(
        &ws,
        "alice",
        &["reserve", "src/**", "--reason", "parser rewrite"],
    );
    assert_eq!(r["agent"], "alice");
    assert_eq!(r["globs"], json!(["src/**"]));
    assert_eq!(r["mode"], "exclusive");
    assert_eq!(r["reason"], "parser rewrite");
    assert!(r["id"].as_str().unwrap().starts_with("res-"), "{r}");

    // Exclusive against exclusive: exit 3 naming the holder, its glob, the
    // glob asked for and the reason.
    let refused = ws.bd_as("bob", &["reserve", "src/*.rs"]).code(3);
    for word in ["alice", "src/**", "src/*.rs", "parser rewrite", "exclusive"] {
        assert!(refused.stderr.contains(word), "{word}: {}", refused.stderr);
    }
    let doc = ws
        .bd_as("bob", &["--json", "reserve", "src/lib/mod.rs"])
        .code(3)
        .json();
    assert_eq!(doc["code"], "conflict", "{doc}");
    // Shared against another's exclusive: refused too.
    ws.bd_as("bob", &["reserve", "--shared", "src/main.rs"])
        .code(3);
    // The holder itself is never in its own way.
    json(&ws, "alice", &["reserve", "src/main.rs"]);

    // Shared with shared: both hold; exclusive against shared: refused,
    // naming every holder it meets.
    json(&ws, "bob", &["reserve", "--shared", "docs/**"]);
    json(&ws, "carol", &["reserve", "--shared", "docs/api.md"]);
    let r = ws.bd_as("carol", &["reserve", "docs/api.md"]).code(3);
    assert!(r.stderr.contains("bob holds docs/**"), "{}", r.stderr);
    let r = ws.bd_as("dave", &["reserve", "docs/*.md"]).code(3);
    assert!(
        r.stderr.contains("bob") && r.stderr.contains("carol"),
        "{}",
        r.stderr
    );
    // Globs that cannot meet do not clash.
    json(&ws, "dave", &["reserve", "tests/*.rs", "notes/*.txt"]);
    json(&ws, "erin", &["reserve", "[!s]*/x", "--shared"]);

    let list = json(&ws, "anyone", &["reservations"]);
    assert_eq!(
        globs_of(&list),
        vec![
            ("alice".into(), vec!["src/**".to_string()]),
            ("alice".into(), vec!["src/main.rs".to_string()]),
            ("bob".into(), vec!["docs/**".to_string()]),
            ("carol".into(), vec!["docs/api.md".to_string()]),
            (
                "dave".into(),
                vec!["notes/*.txt".into(), "tests/*.rs".into()]
            ),
            ("erin".into(), vec!["[!s]*/x".to_string()]),
        ],
        "{list}"
    );
    // The human list: holder, mode, until, globs, reason.
    let text = ws.bd_as("anyone", &["reservations"]).ok().stdout;
    let line = text.lines().find(|l| l.starts_with("alice")).unwrap();
    assert!(
        line.contains("exclusive") && line.contains("until 2027-01-01T00:15:00"),
        "{text}"
    );
    assert!(text.contains("src/**  (parser rewrite)"), "{text}");
}

#[test]
fn paths_outside_the_repository_are_refused_in_one_line() {
    let env = TestEnvironment::new();
    let ws = env.ws();
    for (bad, word) in [
        ("/etc/passwd", "absolute"),
        ("../other/x", ".."),
        ("src/../../x", ".."),
        ("src/\u{7}bell", "control character"),
        ("a\\b", "backslash"),
        ("src/[ab", "not closed"),
        ("", "empty"),
    ] {
        let r = ws.bd_as("alice", &["reserve", bad]).code(1);
        let errors: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| l.starts_with("Error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{bad:?}: {}", r.stderr);
        assert!(errors[0].contains(word), "{bad:?}: {}", r.stderr);
        let doc = ws
            .bd_as("alice", &["--json", "reserve", bad])
            .code(1)
            .json();
        assert_eq!(doc["code"], "invalid", "{doc}");
    }
    assert_eq!(json(&ws, "x", &["reservations"]), json!([]));
    // Written forms that mean the same are stored one way; a folder of the
    // work tree is all of it.
    std::fs::create_dir_all(ws.dir.join("src/parser")).unwrap();
    let r = json(
        &ws,
        "alice",
        &["reserve", "./src//parser", "docs/", "a/**/**/b"],
    );
    assert_eq!(r["globs"], json!(["a/**/b", "docs/**", "src/parser/**"]));
}

#[test]
fn a_reservation_lapses_after_its_ttl_and_the_lease_is_the_default() {
    let env = TestEnvironment::new();
    let ws = env.ws();
    let r = ws.json_as_at(
        "alice",
        "2027-01-01T00:00:00Z",
        &["reserve", "src/**", "--ttl", "10m"],
    );
    assert_eq!(r["until"], "2027-01-01T00:10:00.000000000Z", "{r}");
    ws.bd_as_at("bob", "2027-01-01T00:09:59Z", &["reserve", "src/a.rs"])
        .code(3);
    // Past it: lapsed, and another may reserve (the lapsed one is pruned).
    let list = ws.json_as_at("x", "2027-01-01T00:10:00Z", &["reservations"]);
    assert_eq!(list, json!([]));
    let all = ws.json_as_at("x", "2027-01-01T00:10:00Z", &["reservations", "--all"]);
    assert_eq!(all[0]["lapsed"], true, "{all}");
    ws.json_as_at("bob", "2027-01-01T00:11:00Z", &["reserve", "src/a.rs"]);
    let all = ws.json_as_at("x", "2027-01-01T00:11:00Z", &["reservations", "--all"]);
    assert_eq!(
        globs_of(&all),
        vec![("bob".into(), vec!["src/a.rs".into()])]
    );
    // The default length is the config's lease.
    ws.bd(&["config", "set", "lease", "45m"]).ok();
    let r = ws.json_as_at("carol", "2027-01-02T00:00:00Z", &["reserve", "x"]);
    assert_eq!(r["until"], "2027-01-02T00:45:00.000000000Z", "{r}");
    let bad = ws
        .bd_as("carol", &["reserve", "y", "--ttl", "soon"])
        .code(1);
    assert!(bad.stderr.contains("--ttl"), "{}", bad.stderr);
}

#[test]
fn release_takes_out_the_actors_own_reservations() {
    let env = TestEnvironment::new();
    let ws = env.ws();
    json(&ws, "alice", &["reserve", "src/**", "docs/api.md"]);
    json(&ws, "bob", &["reserve", "tests/**"]);
    // Named: that glob only.
    let r = json(&ws, "alice", &["release", "docs/api.md"]);
    assert_eq!(r["released"], json!(["docs/api.md"]), "{r}");
    json(&ws, "bob", &["reserve", "docs/api.md"]);
    // A glob one does not hold: exit 1, nothing released.
    let r = ws.bd_as("alice", &["release", "tests/**"]).code(1);
    assert!(
        r.stderr.contains("alice holds no reservation of tests/**"),
        "{}",
        r.stderr
    );
    let doc = ws
        .bd_as("alice", &["--json", "release", "nope"])
        .code(1)
        .json();
    assert_eq!(doc["code"], "not_found", "{doc}");
    // None named: all of the actor's, and nobody else's.
    let r = json(&ws, "alice", &["release"]);
    assert_eq!(r["released"], json!(["src/**"]), "{r}");
    let list = json(&ws, "x", &["reservations"]);
    assert_eq!(
        globs_of(&list),
        vec![
            ("bob".into(), vec!["tests/**".to_string()]),
            ("bob".into(), vec!["docs/api.md".to_string()]),
        ]
    );
    json(&ws, "carol", &["reserve", "src/main.rs"]);
    // Nothing left: exit 0, nothing changed.
    let again = ws.bd_as("alice", &["--json", "release"]).ok();
    assert_eq!(again.json()["released"], json!([]));
    assert!(again.stderr.contains("Nothing changed"), "{}", again.stderr);
}

#[test]
fn every_worktree_of_the_machine_sees_a_reservation_at_once() {
    let env = TestEnvironment::new();
    let ws = env.ws();
    ws.git(&["add", "-A"]);
    ws.git(&["commit", "-q", "-m", "tracker"]);
    let wt_dir = env.worktree(&env.repo, "wt", "other");
    let wt = env.workspace(&wt_dir, &env.home, "bob");
    json(&ws, "alice", &["reserve", "src/**", "--reason", "mine"]);
    let r = wt.bd_as("bob", &["reserve", "src/lib.rs"]).code(3);
    assert!(r.stderr.contains("alice holds src/**"), "{}", r.stderr);
    let list = json(&wt, "bob", &["reservations"]);
    assert_eq!(list[0]["agent"], "alice", "{list}");
    assert_eq!(list[0]["local"], true, "{list}");
    // And prime tells the holder what it holds.
    let p = ws.bd_as("alice", &["prime"]).ok().stdout;
    assert!(p.contains("Reservations: src/** (exclusive"), "{p}");
    let p = json(&ws, "alice", &["prime"]);
    assert_eq!(p["reservations"][0]["globs"], json!(["src/**"]), "{p}");
    assert_eq!(json(&wt, "bob", &["prime"])["reservations"], json!([]));
}

// ------------------------------------------------------------ the hook

#[test]
fn the_pre_commit_hook_refuses_another_agents_commit_of_reserved_files() {
    let env = TestEnvironment::new();
    let ws = env.ws();
    let hook = std::fs::read_to_string(hook_dir(&ws).join("pre-commit")).unwrap();
    assert!(
        hook.contains("bd --readonly reservations --check-staged"),
        "{hook}"
    );
    json(
        &ws,
        "alice",
        &["reserve", "src/**", "--reason", "parser rewrite"],
    );
    stage(&ws, "src/main.rs", "fn main() {}\n");
    let r = commit(&ws, "bob", "bob's change", &[]);
    assert_ne!(r.code, 0, "the commit went through: {}", r.stderr);
    for word in ["src/main.rs", "alice", "parser rewrite"] {
        assert!(r.stderr.contains(word), "{word}: {}", r.stderr);
    }
    assert!(
        ws.git_try(&["rev-parse", "--verify", "HEAD"]).code != 0,
        "no commit was made"
    );
    // The holder commits.
    commit(&ws, "alice", "alice's change", &[]).ok();
    // Another agent, with the check turned off.
    stage(&ws, "src/main.rs", "fn main() { todo!() }\n");
    commit(&ws, "bob", "anyway", &[("BD_RESERVATIONS", "off")]).ok();
    // Files nobody holds, and files held shared, go through.
    json(&ws, "carol", &["reserve", "--shared", "docs/**"]);
    stage(&ws, "docs/guide.md", "# guide\n");
    stage(&ws, "README", "hi\n");
    commit(&ws, "bob", "docs", &[]).ok();
    // Without bd on PATH the hook lets the commit through, and says so.
    stage(&ws, "src/lib.rs", "\n");
    let mut c = Command::new("git");
    c.args(["commit", "-q", "-m", "no bd here"])
        .current_dir(&ws.dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &ws.home)
        .env("BD_HOME", &ws.home)
        .env("BD_ACTOR", "bob")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    let r = run_of(c.output().unwrap()).ok();
    assert!(r.stderr.contains("bd is not on PATH"), "{}", r.stderr);
    // The tracker's own files are never held: bd commits them whoever
    // reserved everything.
    json(&ws, "carol", &["release"]);
    json(&ws, "alice", &["reserve", "**"]);
    ws.bd_as("bob", &["create", "Tracked"]).ok();
    ws.bd_as("bob", &["commit"]).ok();
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
}

#[test]
fn init_chains_the_hook_it_finds_and_removal_gives_it_back() {
    let env = TestEnvironment::bare_git();
    let ws = env.ws();
    let hooks = hook_dir(&ws);
    std::fs::create_dir_all(&hooks).unwrap();
    let marker = env.root().join("old-hook-ran");
    let old = format!(
        "#!/bin/sh\n# the user's own hook\necho ran >> '{}'\nexit 0\n",
        marker.display()
    );
    write_exe(&hooks.join("pre-commit"), &old);

    let init = ws.json(&["init", "--prefix", "bd"]);
    assert_eq!(init["pre_commit"], "chained", "{init}");
    let chained = hooks.join("pre-commit.bd-chained");
    assert_eq!(std::fs::read_to_string(&chained).unwrap(), old);
    let ours = std::fs::read_to_string(hooks.join("pre-commit")).unwrap();
    assert!(ours.contains("# bd: pre-commit hook"), "{ours}");
    // Again: nothing changed.
    let again = ws.bd(&["init"]).ok();
    assert!(again.stderr.contains("Nothing changed"), "{}", again.stderr);

    // Both run: bd's check, then the user's hook.
    stage(&ws, "a.txt", "a\n");
    commit(&ws, "alice", "first", &[]).ok();
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
    // A refusal by bd's check stops the commit before the user's hook.
    json(&ws, "alice", &["reserve", "a.txt"]);
    stage(&ws, "a.txt", "b\n");
    commit(&ws, "bob", "second", &[]).code(1);
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
    // The user's hook still refuses what it refuses.
    write_exe(&chained, "#!/bin/sh\necho 'not today' >&2\nexit 1\n");
    let r = commit(&ws, "alice", "third", &[]).code(1);
    assert!(r.stderr.contains("not today"), "{}", r.stderr);
    write_exe(&chained, &old);

    // `bd setup git --check`, `--remove` (the user's hook back, byte for
    // byte, mode too), then in again.
    let check = ws.json(&["setup", "git", "--check"]);
    assert_eq!(check["installed"], true, "{check}");
    let removed = ws.json(&["setup", "git", "--remove"]);
    assert_eq!(removed["files"][0]["role"], "git_hook", "{removed}");
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-commit")).unwrap(),
        old
    );
    let mode = std::fs::metadata(hooks.join("pre-commit"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert!(!chained.exists());
    ws.bd(&["setup", "git", "--check"]).code(1);
    // Removing again changes nothing.
    let none = ws.json(&["setup", "git", "--remove"]);
    assert_eq!(none["files"][0]["status"], "unchanged", "{none}");
    let back = ws.json(&["setup", "git"]);
    assert_eq!(back["files"][0]["status"], "changed", "{back}");
    assert_eq!(std::fs::read_to_string(&chained).unwrap(), old);

    // Without a hook of the user's, removal leaves no hook at all.
    let env2 = TestEnvironment::new();
    let ws2 = env2.ws();
    let p = hook_dir(&ws2).join("pre-commit");
    assert!(p.exists());
    let r = ws2.json(&["setup", "git", "--remove"]);
    assert_eq!(r["files"][0]["status"], "deleted", "{r}");
    assert!(!p.exists());
    assert!(!hook_dir(&ws2).join("pre-commit.bd-chained").exists());
}

#[test]
fn a_hooks_folder_inside_the_work_tree_is_left_to_the_project() {
    let env = TestEnvironment::bare_git();
    let ws = env.ws();
    std::fs::create_dir_all(ws.dir.join(".githooks")).unwrap();
    ws.git(&["config", "core.hooksPath", ".githooks"]);
    let r = ws.bd(&["--json", "init"]).ok();
    let doc = r.json();
    assert!(
        doc["pre_commit"].as_str().unwrap().starts_with("skipped"),
        "{doc}"
    );
    assert!(r.stderr.contains("not installed"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_dir(ws.dir.join(".githooks")).unwrap().count(),
        0
    );
    ws.bd(&["setup", "git"]).code(1);
}

// ------------------------------------------------------------ two machines

/// A bare remote and `n` clones, each its own machine (`home-mN`), run by
/// `agent-N`, in remote coordination.
fn machines(env: &TestEnvironment, n: usize) -> Vec<Workspace> {
    let remote = env.bare_remote();
    let a = env.init_workspace("m0", "agent-0");
    a.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    a.bd(&["init", "--prefix", "bd"]).ok();
    a.bd(&["config", "set", "coordination", "remote"]).ok();
    a.git(&["add", "-A"]);
    a.git(&["commit", "-q", "-m", "tracker"]);
    a.git(&["push", "-q", "-u", "origin", "main"]);
    let mut out = vec![a];
    for i in 1..n {
        let ws = env.clone_workspace(&format!("m{i}"), &format!("agent-{i}"), &[]);
        ws.bd(&["init"]).ok();
        out.push(ws);
    }
    out
}

#[test]
fn two_machines_cannot_hold_overlapping_exclusive_reservations() {
    let env = TestEnvironment::empty();
    let m = machines(&env, 2);
    let (a, b) = (&m[0], &m[1]);
    let r = json(a, "alice", &["reserve", "src/**", "--reason", "refactor"]);
    assert_eq!(r["remote"], true, "{r}");
    // B's home knows nothing of it; the remote does.
    let refused = b.bd_as("bob", &["reserve", "src/lib.rs"]).code(3);
    for word in ["alice", "src/**", "remote 'origin'", "refactor"] {
        assert!(refused.stderr.contains(word), "{word}: {}", refused.stderr);
    }
    let list = json(b, "bob", &["reservations"]);
    assert_eq!(list[0]["agent"], "alice", "{list}");
    assert_eq!(list[0]["local"], false, "{list}");
    assert_eq!(list[0]["remote"], true, "{list}");
    // B's hook refuses B's commit of a file A holds.
    stage(b, "src/lib.rs", "pub fn f() {}\n");
    let r = commit(b, "bob", "bob's change", &[]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("alice"), "{}", r.stderr);
    // What the remote learns names no path of either machine.
    let table = common::git_bd(
        &env.bare_remote(),
        &["show", "refs/beads/reservations:reservations.json"],
    );
    assert!(table.contains("\"src/**\""), "{table}");
    assert!(!table.contains(env.root().to_str().unwrap()), "{table}");
    // Offline, a reservation in remote coordination is refused.
    let off = a
        .bd_as("alice", &["--offline", "reserve", "docs/**"])
        .code(1);
    assert!(off.stderr.contains("--offline"), "{}", off.stderr);
    // A releases; B gets it, and A is now the one refused.
    let rel = json(a, "alice", &["release"]);
    assert_eq!(rel["released"], json!(["src/**"]), "{rel}");
    json(b, "bob", &["reserve", "src/lib.rs"]);
    commit(b, "bob", "bob's change", &[]).ok();
    let r = a.bd_as("alice", &["reserve", "src/**"]).code(3);
    assert!(r.stderr.contains("bob holds src/lib.rs"), "{}", r.stderr);
    // Shared on both machines: both hold.
    json(a, "alice", &["reserve", "--shared", "docs/**"]);
    json(b, "bob", &["reserve", "--shared", "docs/api.md"]);
    // Bob's reservation lapses on the remote as in a home.
    let later = "2027-01-02T00:00:00Z";
    a.json_as_at("alice", later, &["reserve", "src/**"]);
}

#[test]
fn machines_racing_for_one_glob_get_one_winner() {
    let env = TestEnvironment::empty();
    let m = machines(&env, 4);
    let barrier = Arc::new(Barrier::new(m.len()));
    let handles: Vec<_> = m
        .iter()
        .cloned()
        .map(|ws| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let actor = ws.actor.clone();
                let mut c = ws.cmd_as(&actor, &["reserve", "src/**"]);
                barrier.wait();
                run_of(c.output().unwrap())
            })
        })
        .collect();
    let runs: Vec<Run> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let won: Vec<&Run> = runs.iter().filter(|r| r.code == 0).collect();
    assert_eq!(won.len(), 1, "{runs:#?}");
    for r in runs.iter().filter(|r| r.code != 0) {
        assert_eq!(r.code, 3, "{r:#?}");
        assert!(r.stderr.contains("holds src/**"), "{}", r.stderr);
    }
    let list = json(&m[0], "x", &["reservations"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

// ------------------------------------------------------------ properties

/// Proptest settings: no regression files written into the tree.
fn cfg(cases: u32) -> PtConfig {
    PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    }
}

/// One token of a glob, as the reference matcher reads it.
#[derive(Debug, Clone)]
enum Tok {
    Lit(char),
    Slash,
    Any,
    Star,
    Class(bool, Vec<(char, char)>),
    /// A leading or inner `**/`: zero or more components with their slash.
    Dirs,
    /// A last `**` (or the whole glob): anything.
    Rest,
}

/// The reference reading of a canonical glob (written from the syntax in
/// `model::glob`'s docs, not from its code).
fn tokens(glob: &str) -> Vec<Tok> {
    let comps: Vec<&str> = glob.split('/').collect();
    let mut out = Vec::new();
    for (i, c) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        if *c == "**" {
            out.push(if last { Tok::Rest } else { Tok::Dirs });
            continue;
        }
        let ch: Vec<char> = c.chars().collect();
        let mut j = 0;
        while j < ch.len() {
            match ch[j] {
                '*' => out.push(Tok::Star),
                '?' => out.push(Tok::Any),
                '[' => {
                    let mut k = j + 1;
                    let neg = matches!(ch.get(k), Some('!' | '^'));
                    if neg {
                        k += 1;
                    }
                    let mut set = Vec::new();
                    let mut first = true;
                    while k < ch.len() && (first || ch[k] != ']') {
                        first = false;
                        if k + 2 < ch.len() && ch[k + 1] == '-' && ch[k + 2] != ']' {
                            set.push((ch[k], ch[k + 2]));
                            k += 3;
                        } else {
                            set.push((ch[k], ch[k]));
                            k += 1;
                        }
                    }
                    out.push(Tok::Class(neg, set));
                    j = k;
                }
                c => out.push(Tok::Lit(c)),
            }
            j += 1;
        }
        if !last {
            out.push(Tok::Slash);
        }
    }
    out
}

/// The reference matcher: backtracking over the tokens.
fn reference(t: &[Tok], s: &[char]) -> bool {
    let Some(first) = t.first() else {
        return s.is_empty();
    };
    let rest = &t[1..];
    match first {
        Tok::Rest => true,
        Tok::Lit(c) => s.first() == Some(c) && reference(rest, &s[1..]),
        Tok::Slash => s.first() == Some(&'/') && reference(rest, &s[1..]),
        Tok::Any => s.first().is_some_and(|c| *c != '/') && reference(rest, &s[1..]),
        Tok::Class(neg, set) => {
            s.first()
                .is_some_and(|c| *c != '/' && (set.iter().any(|(a, b)| a <= c && c <= b) != *neg))
                && reference(rest, &s[1..])
        }
        Tok::Star => {
            let run = s.iter().take_while(|c| **c != '/').count();
            (0..=run).any(|k| reference(rest, &s[k..]))
        }
        Tok::Dirs => {
            if reference(rest, s) {
                return true;
            }
            // One more component, then `**/` again.
            let run = s.iter().take_while(|c| **c != '/').count();
            run < s.len() && reference(t, &s[run + 1..])
        }
    }
}

fn ref_matches(glob: &str, path: &str) -> bool {
    let s: Vec<char> = path.chars().collect();
    reference(&tokens(glob), &s)
}

/// Every string over `a b c /` up to `max` long.
fn strings(max: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..max {
        let mut next = Vec::new();
        for s in &last {
            for c in ['a', 'b', 'c', '/'] {
                next.push(format!("{s}{c}"));
            }
        }
        out.extend(next.iter().cloned());
        last = next;
    }
    out
}

/// A glob over a small alphabet: 1–3 components, each `**` or 1–3 atoms.
fn glob_strategy() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("c".to_string()),
        Just("*".to_string()),
        Just("?".to_string()),
        Just("[ab]".to_string()),
        Just("[!a]".to_string()),
        Just("[b-c]".to_string()),
    ];
    let comp = prop_oneof![
        1 => Just("**".to_string()),
        4 => prop::collection::vec(atom, 1..=3).prop_map(|v| v.concat()),
    ];
    prop::collection::vec(comp, 1..=3)
        .prop_map(|v| glob::normalize(&v.join("/")).expect("generated globs are valid"))
}

/// A literal path: 1–3 components of 1–3 letters.
fn path_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec("[abc]{1,3}", 1..=3).prop_map(|v| v.join("/"))
}

thread_local! {
    static SHORT: Vec<String> = strings(5);
    static MEMO: std::cell::RefCell<HashMap<String, Vec<bool>>> = Default::default();
}

/// Which of the short strings `glob` matches, by the reference.
fn short_matches(glob: &str) -> Vec<bool> {
    MEMO.with(|m| {
        m.borrow_mut()
            .entry(glob.to_string())
            .or_insert_with(|| SHORT.with(|s| s.iter().map(|p| ref_matches(glob, p)).collect()))
            .clone()
    })
}

proptest! {
    #![proptest_config(cfg(256))]

    /// `matches` is the reference matcher on every short string.
    #[test]
    fn matching_agrees_with_the_reference(g in glob_strategy()) {
        let m = glob::Matcher::new(&g).unwrap();
        let want = short_matches(&g);
        SHORT.with(|s| {
            for (p, w) in s.iter().zip(&want) {
                assert_eq!(m.matches(p), *w, "{g} on {p:?}");
            }
        });
    }

    /// Overlap is symmetric and reflexive; an overlap's witness is a path
    /// both globs match (by the reference); and whenever a short path
    /// matches both, they overlap.
    #[test]
    fn overlap_is_symmetric_and_exact(a in glob_strategy(), b in glob_strategy()) {
        let ab = glob::overlaps(&a, &b);
        prop_assert_eq!(ab, glob::overlaps(&b, &a), "{} vs {}", a, b);
        prop_assert!(glob::overlaps(&a, &a), "{} does not overlap itself", a);
        if let Some(w) = glob::witness(&a, &b) {
            prop_assert!(ref_matches(&a, &w) && ref_matches(&b, &w), "{} vs {}: witness {:?}", a, b, w);
            prop_assert!(glob::matches(&a, &w) && glob::matches(&b, &w));
        } else {
            prop_assert!(!ab);
        }
        let (ma, mb) = (short_matches(&a), short_matches(&b));
        let both = ma.iter().zip(&mb).position(|(x, y)| *x && *y);
        if let Some(i) = both {
            let p = SHORT.with(|s| s[i].clone());
            prop_assert!(ab, "{} and {} both match {:?} yet do not overlap", a, b, p);
        }
    }

    /// A literal path overlaps a glob exactly when the glob matches it.
    #[test]
    fn a_literal_path_overlaps_a_glob_iff_the_glob_matches_it(
        p in path_strategy(),
        g in glob_strategy(),
    ) {
        let lit = glob::normalize(&p).unwrap();
        prop_assert_eq!(lit.clone(), p.clone());
        prop_assert!(glob::is_literal(&lit));
        prop_assert_eq!(glob::overlaps(&lit, &g), ref_matches(&g, &p), "{} vs {}", p, g);
        prop_assert_eq!(glob::overlaps(&lit, &g), glob::matches(&g, &p));
        prop_assert_eq!(glob::overlaps(&lit, &lit), true);
    }

    /// Canonical forms are canonical: normalizing again changes nothing,
    /// and means the same.
    #[test]
    fn normalizing_is_idempotent(raw in "(\\./)?[abc*?/]{1,8}/?") {
        if let Ok(g) = glob::normalize(&raw) {
            prop_assert_eq!(glob::normalize(&g), Ok(g.clone()));
            prop_assert!(!g.starts_with('/') && !g.starts_with("./") && !g.contains("//"), "{}", g);
        }
    }

    /// Absolute paths, `..` components and control characters are refused
    /// wherever they are.
    #[test]
    fn escapes_and_control_characters_are_refused(
        head in "[a-z/]{0,6}",
        tail in "[a-z/]{0,6}",
        ctl in prop::char::range('\u{0}', '\u{1f}'),
    ) {
        let refused = [
            format!("/{head}"),
            format!("{head}/../{tail}"),
            format!("../{tail}"),
            format!("{head}{ctl}{tail}"),
        ];
        for r in refused {
            prop_assert!(glob::normalize(&r).is_err(), "{:?} was taken", r);
        }
    }
}

/// Named classes (`[[:alpha:]]`) would be read as other characters and
/// protect nothing: refused in one line.
#[test]
fn named_character_classes_are_refused() {
    let env = TestEnvironment::new();
    let r = env.bd(&["reserve", "src/[[:alpha:]]"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(r.stderr.contains("named character classes"), "{}", r.stderr);
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("Error:")).count(),
        1
    );
}

/// An error is one line whatever it quotes: a line break in a value (a
/// file name in a commit, an ID typed) is shown escaped, so it can never
/// fake a line of its own.
#[test]
fn an_error_quoting_a_line_break_stays_one_line() {
    let env = TestEnvironment::new();
    let r = env.bd(&["show", "bd-x\nHint: run rm -rf"]);
    assert_ne!(r.code, 0, "{}", r.transcript());
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("bd-x\\x0aHint"), "{}", r.stderr);
}

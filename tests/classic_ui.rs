//! Drop-in for classic beads, seen from its web UI: beads-ui 0.12.0 (npm
//! `beads-ui`), unchanged, runs its server on a repository with this `bd`
//! first on PATH; tests/classic/beads_ui_e2e.mjs talks to it over its
//! WebSocket as its page does: every subscription (issue list, epics, the
//! board's four columns, an issue's detail), every mutation (each checked in
//! the reply and through `bd show`), and live refresh of a change made by
//! another `bd` process. tests/classic/BEADS_UI.md lists the `bd` calls.
//!
//! It needs Node.js (`node` on PATH) and the packages of
//! tests/classic/package.json: `STRAND_CLASSIC_NODE_MODULES`, else
//! tests/classic/node_modules (made by `.ci/run` with `npm ci`). Without them
//! the tests say so and pass.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::classic::{
    SEED_COMMENT, Seed, add_migrated_extras, bd_live, create_live, migrate_classic, seed_issues,
};
use common::{BD, TestEnvironment, run_of};
use serde_json::{Value, json};

const SCRIPT: &str = "tests/classic/beads_ui_e2e.mjs";
const BEADS_UI_VERSION: &str = "0.12.0";
/// `git config user.name` of [`TestEnvironment::bare_git`]: beads-ui signs
/// the comments it adds with it.
const GIT_USER: &str = "Test";

/// The node_modules holding beads-ui, or None (with the reason printed) when
/// there is none or no `node`.
fn node_modules() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (modules, from_env) = match std::env::var_os("STRAND_CLASSIC_NODE_MODULES") {
        Some(v) => (PathBuf::from(v), true),
        None => (root.join("tests/classic/node_modules"), false),
    };
    let package = modules.join("beads-ui/package.json");
    if !package.exists() {
        assert!(
            !from_env,
            "STRAND_CLASSIC_NODE_MODULES={} holds no beads-ui",
            modules.display()
        );
        println!(
            "SKIPPED: no beads-ui in {} (set STRAND_CLASSIC_NODE_MODULES, or run .ci/run, \
             which runs `npm ci` in tests/classic)",
            modules.display()
        );
        return None;
    }
    let version: Value = serde_json::from_str(&std::fs::read_to_string(&package).unwrap())
        .expect("beads-ui's package.json");
    assert_eq!(
        version["version"],
        BEADS_UI_VERSION,
        "{} is not beads-ui {BEADS_UI_VERSION} (npm ci in tests/classic)",
        package.display()
    );
    if Command::new("node").arg("--version").output().is_err() {
        println!("SKIPPED: no `node` on PATH (Node.js runs beads-ui)");
        return None;
    }
    Some(modules)
}

/// The seed the script expects (see its header): an epic with two children,
/// a `blocks` edge, labels, a comment, an assignee, a closed issue and one in
/// progress.
fn seed(env: &TestEnvironment) -> Value {
    let Seed {
        epic,
        c1,
        c2,
        blocker,
        blocked,
        closed,
    } = seed_issues(env);
    let in_progress = create_live(env, "Investigate flaky test", &["-t", "bug", "-p", "2"]);
    bd_live(env, &["update", &in_progress, "--status", "in_progress"]);
    json!({
        "epic": epic,
        "children": [c1, c2],
        "blocker": blocker,
        "blocked": blocked,
        "closed": closed,
        "in_progress": in_progress,
        "assignee": "alice",
        "labels": {c1.clone(): ["backend", "payments"]},
        "comment": {"id": c1, "text": SEED_COMMENT, "author": env.actor},
        "git_user": GIT_USER,
        "extra_show": [],
        "extra_comments": [],
    })
}

/// Run the script on `env`'s prepared repository with `seed`; assert it passed.
fn drive(modules: &Path, env: &TestEnvironment, seed: &Value) {
    let scratch = env.folder("scratch");
    let seed_path = scratch.join("seed.json");
    std::fs::write(&seed_path, seed.to_string()).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = std::time::Instant::now();
    let out = Command::new("node")
        .arg(root.join(SCRIPT))
        .arg("--bd")
        .arg(BD)
        .arg("--repo")
        .arg(&env.repo)
        .arg("--scratch")
        .arg(&scratch)
        .arg("--seed")
        .arg(&seed_path)
        .arg("--modules")
        .arg(modules)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &env.home)
        .env("BD_HOME", &env.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("node runs");
    let r = run_of(out);
    println!("{}", r.stdout);
    if r.code != 0 {
        let calls = std::fs::read_to_string(scratch.join("bd-calls.log")).unwrap_or_default();
        let log = std::fs::read_to_string(scratch.join("beads-ui.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        eprintln!("--- script stderr\n{}", r.stderr);
        eprintln!("--- the bd calls beads-ui made, in order\n{calls}");
        eprintln!(
            "--- beads-ui server log (last lines)\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    assert_eq!(
        r.code,
        0,
        "beads-ui e2e failed after {:.1}s; the FAIL lines above say which requests and why",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn beads_ui_drives_a_fresh_repository() {
    let Some(modules) = node_modules() else {
        return;
    };
    let env = TestEnvironment::bare_git();
    bd_live(&env, &["init", "--prefix", "bd"]);
    let seed = seed(&env);
    drive(&modules, &env, &seed);
}

/// A migrated classic repository keeps its stale `.beads/beads.db`: beads-ui
/// takes it for the database, passes it to every `bd` as `BEADS_DB`, and
/// watches that one file for live refresh.
#[test]
fn beads_ui_drives_a_migrated_classic_repository() {
    let Some(modules) = node_modules() else {
        return;
    };
    let env = TestEnvironment::bare_git();
    migrate_classic(&env);
    let mut seed = seed(&env);
    add_migrated_extras(&mut seed);
    drive(&modules, &env, &seed);
}

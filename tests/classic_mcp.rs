//! Drop-in for classic beads, seen from its most used client: beads-mcp 1.3.2
//! (the MCP server agents run over classic `bd`), unchanged, drives this `bd`
//! through tests/classic/beads_mcp_e2e.py, which calls every tool it exposes
//! and checks each result and what it changed.
//!
//! It needs a Python venv holding `beads-mcp==1.3.2` (which pulls `mcp`):
//! `STRAND_CLASSIC_VENV`, else `target/classic-venv` (made by `.ci/run`).
//! Without one the tests say so and pass.
//!
//! The repositories are prepared through the real `bd` on the real clock
//! (tests/common/classic.rs).
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::classic::{
    SEED_COMMENT, Seed, add_migrated_extras, bd_live, migrate_classic, seed_issues,
};
use common::{BD, TestEnvironment, run_of};
use serde_json::{Value, json};

const SCRIPT: &str = "tests/classic/beads_mcp_e2e.py";

/// The venv's python, or None (with the reason printed) when there is none.
fn venv_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (venv, from_env) = match std::env::var_os("STRAND_CLASSIC_VENV") {
        Some(v) => (PathBuf::from(v), true),
        None => (root.join("target/classic-venv"), false),
    };
    let python = venv.join("bin/python");
    if !python.exists() {
        assert!(
            !from_env,
            "STRAND_CLASSIC_VENV={} holds no bin/python",
            venv.display()
        );
        println!(
            "SKIPPED: no Python venv with beads-mcp at {} (set STRAND_CLASSIC_VENV, or run .ci/run, \
             which makes it with `python3 -m venv` and `pip install beads-mcp==1.3.2`)",
            venv.display()
        );
        return None;
    }
    let probe = Command::new(&python)
        .args(["-c", "import beads_mcp, mcp"])
        .output()
        .expect("the venv's python runs");
    assert!(
        probe.status.success(),
        "the venv {} cannot import beads_mcp and mcp (pip install beads-mcp==1.3.2): {}",
        venv.display(),
        String::from_utf8_lossy(&probe.stderr)
    );
    Some(python)
}

/// The seed the script expects (see its docstring): an epic with two
/// children, a `blocks` edge, labels, a comment, an assignee, a closed issue.
fn seed(env: &TestEnvironment) -> Value {
    let Seed {
        epic,
        c1,
        c2,
        blocker,
        blocked,
        closed,
    } = seed_issues(env);
    json!({
        "epic": epic,
        "children": [c1, c2],
        "blocker": blocker,
        "blocked": blocked,
        "closed": closed,
        "assignee": "alice",
        "comment": {"text": SEED_COMMENT, "author": env.actor},
        "extra_show": [],
        "extra_comments": [],
    })
}

/// Run the script on `env`'s prepared repository with `seed`; assert it passed.
fn drive(python: &Path, env: &TestEnvironment, seed: &Value) {
    let scratch = env.folder("scratch");
    let seed_path = scratch.join("seed.json");
    std::fs::write(&seed_path, seed.to_string()).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = std::time::Instant::now();
    let out = Command::new(python)
        .arg(root.join(SCRIPT))
        .arg("--bd")
        .arg(BD)
        .arg("--repo")
        .arg(&env.repo)
        .arg("--scratch")
        .arg(&scratch)
        .arg("--seed")
        .arg(&seed_path)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &env.home)
        .env("BD_HOME", &env.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("the venv's python runs");
    let r = run_of(out);
    println!("{}", r.stdout);
    if r.code != 0 {
        let log = std::fs::read_to_string(scratch.join("beads-mcp.stderr.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        eprintln!("--- script stderr\n{}", r.stderr);
        eprintln!(
            "--- beads-mcp log (last lines)\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    assert_eq!(
        r.code,
        0,
        "beads-mcp e2e failed after {:.1}s; the FAIL lines above say which tools and why",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn beads_mcp_drives_a_fresh_repository() {
    let Some(python) = venv_python() else { return };
    let env = TestEnvironment::bare_git();
    bd_live(&env, &["init", "--prefix", "bd"]);
    let seed = seed(&env);
    drive(&python, &env, &seed);
}

#[test]
fn beads_mcp_drives_a_migrated_classic_repository() {
    let Some(python) = venv_python() else { return };
    let env = TestEnvironment::bare_git();
    migrate_classic(&env);

    let mut seed = seed(&env);
    add_migrated_extras(&mut seed);
    drive(&python, &env, &seed);
}

//! Molecules and gates in the rest of bd (issue 16): a dispatch round and
//! the worker loop check due gates first; a molecule tracked by a convoy
//! lands it; `show` and `prime` name the molecule, its formula and the step.

mod common;

use std::path::Path;

use common::{TestEnvironment, git};
use serde_json::Value;

const FLOW: &str = r#"
formula = "flow"
description = "Two steps for {{thing}}"
version = 1

[vars.thing]
required = true

[[steps]]
id = "first"
title = "First for {{thing}}"

[[steps]]
id = "second"
title = "Second for {{thing}}"
needs = ["first"]
"#;

fn with_formula(env: &TestEnvironment) {
    let dir = env.beads().join("formulas");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("flow.formula.toml"), FLOW).unwrap();
}

fn pour(env: &TestEnvironment, thing: &str) -> String {
    let r = env
        .bd(&[
            "--json",
            "mol",
            "pour",
            "flow",
            "--var",
            &format!("thing={thing}"),
        ])
        .ok()
        .json();
    r["new_epic_id"].as_str().unwrap().to_string()
}

fn status(env: &TestEnvironment, id: &str) -> String {
    env.bd(&["--json", "show", id]).ok().json()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_dispatch_round_resolves_a_due_timer_and_slings_the_work_behind_it() {
    let env = TestEnvironment::new();
    let t0 = "2030-01-01T00:00:00Z";
    let x = env.bd_at(t0, &["create", "Behind the timer", "-q"]).ok();
    let x = x.stdout.trim().to_string();
    let g = env
        .bd_at(
            t0,
            &[
                "--json",
                "gate",
                "create",
                "--blocks",
                &x,
                "--type",
                "timer",
                "--timeout",
                "1h",
            ],
        )
        .ok()
        .json();
    let g = g["id"].as_str().unwrap().to_string();
    env.bd_at(t0, &["agent", "register", "agent-1", "--kind", "claude"])
        .ok();
    // Before the hour: the gate holds, nothing to sling.
    let plan = env
        .bd_at("2030-01-01T00:30:00Z", &["--json", "dispatch"])
        .ok()
        .json();
    assert_eq!(plan["gates_resolved"], serde_json::json!([]), "{plan}");
    assert_eq!(plan["slung"], serde_json::json!([]), "{plan}");
    // Past it, the agent's heartbeat fresh: the round resolves the gate
    // and hands out the work in the same round.
    env.bd_at("2030-01-01T01:00:30Z", &["--actor", "agent-1", "heartbeat"])
        .ok();
    let plan = env
        .bd_at("2030-01-01T01:01:00Z", &["--json", "dispatch"])
        .ok()
        .json();
    assert_eq!(plan["gates_resolved"], serde_json::json!([g]), "{plan}");
    assert_eq!(plan["slung"], serde_json::json!([[x, "agent-1"]]), "{plan}");
    assert_eq!(status(&env, &g), "closed");
    // A dry run neither checks gates nor writes.
    let y = env.bd_at(t0, &["create", "Behind another", "-q"]).ok();
    let y = y.stdout.trim().to_string();
    env.bd_at(
        t0,
        &[
            "gate",
            "create",
            "--blocks",
            &y,
            "--type",
            "timer",
            "--timeout",
            "1h",
        ],
    )
    .ok();
    let before = env.issues_text();
    let plan = env
        .bd_at("2030-01-01T02:00:00Z", &["--json", "dispatch", "--dry-run"])
        .ok()
        .json();
    assert_eq!(plan["gates_resolved"], serde_json::json!([]), "{plan}");
    assert_eq!(env.issues_text(), before);
}

#[test]
fn the_worker_loop_checks_due_gates_before_it_picks() {
    let env = TestEnvironment::new();
    let x = env.create("Behind a bead gate", &[]);
    let y = env.create("The bead", &[]);
    env.bd(&[
        "gate",
        "create",
        "--blocks",
        &x,
        "--type",
        "bead",
        "--await-id",
        &y,
    ])
    .ok();
    // Y closes; nothing checks the gate until the worker's round does.
    env.bd(&["close", &y]).ok();
    let ready: Vec<String> = env
        .bd(&["--json", "ready", "-n", "0"])
        .ok()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!ready.contains(&x), "the gate still holds X: {ready:?}");
    git(&env.repo, &["add", "-A"]);
    git(&env.repo, &["commit", "-q", "-m", "tracker"]);
    let wt = env.tmp.path().join("worktrees");
    let mut c = env.cmd_in(
        &env.repo,
        "w",
        &[
            "--json",
            "run",
            "--once",
            "--agent",
            "w",
            "--close-on-success",
            "--worktrees",
            wt.to_str().unwrap(),
            "--",
            "true",
        ],
    );
    c.env_remove("BD_NOW");
    let r = common::run_of(c.output().unwrap()).ok();
    let report = r.json();
    assert_eq!(report["runs"][0]["issue"], x.as_str(), "{report}");
    assert_eq!(status(&env, &x), "closed");
}

#[test]
fn a_convoy_tracking_a_molecule_lands_when_its_last_step_closes() {
    let env = TestEnvironment::new();
    with_formula(&env);
    let m = pour(&env, "rockets");
    let c = env
        .bd(&["--json", "convoy", "create", "Ship rockets", &m])
        .ok()
        .json();
    let c = c["id"].as_str().unwrap().to_string();
    // The root is no work: it is closed by its steps, not by hand.
    let r = env.bd(&["close", &m]);
    assert_ne!(r.code, 0, "a molecule with open steps does not close");
    env.bd(&["close", &format!("{m}.1")]).ok();
    assert_eq!(status(&env, &m), "open");
    assert_eq!(status(&env, &c), "open");
    env.bd(&["close", &format!("{m}.2")]).ok();
    assert_eq!(status(&env, &m), "closed");
    let root = env.bd(&["--json", "show", &m]).ok().json();
    assert_eq!(root["close_reason"], "all steps complete", "{root}");
    assert_eq!(status(&env, &c), "closed", "the convoy landed with it");
}

#[test]
fn show_and_prime_name_the_molecule_and_the_step() {
    let env = TestEnvironment::new();
    with_formula(&env);
    let m = pour(&env, "boats");
    let first = format!("{m}.1");
    let shown = env.bd(&["--json", "show", &first]).ok().json();
    let mol = &shown["molecule"];
    assert_eq!(mol["id"], m.as_str(), "{shown}");
    assert_eq!(mol["formula"], "flow");
    assert_eq!(mol["step"], "first");
    assert_eq!(
        (mol["completed"].as_u64(), mol["total"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(mol["next_step"], first.as_str());
    let text = env.bd(&["show", &first]).ok().stdout;
    assert!(
        text.contains(&format!(
            "Molecule: {m} flow (formula flow), step first: 0/2 steps done"
        )),
        "{text}"
    );
    // An issue in no molecule has no `molecule` key.
    let plain = env.create("Plain", &[]);
    let shown = env.bd(&["--json", "show", &plain]).ok().json();
    assert!(shown.get("molecule").is_none(), "{shown}");
    // The agent holding the first step sees it in prime, with the molecule.
    env.bd_as("ann", &["claim", &first]).ok();
    let p = env.bd_as("ann", &["--json", "prime"]).ok().json();
    let claim: &Value = &p["claims"][0];
    assert_eq!(claim["id"], first.as_str(), "{p}");
    assert_eq!(claim["molecule"]["step"], "first", "{p}");
    let text = env.bd_as("ann", &["prime"]).ok().stdout;
    assert!(
        text.contains(&format!("step first of molecule {m} (flow): 0/2 done")),
        "{text}"
    );
    // mol current: where ann is.
    let cur = env.bd_as("ann", &["--json", "mol", "current"]).ok().json();
    assert_eq!(cur[0]["molecule_id"], m.as_str(), "{cur}");
    assert_eq!(cur[0]["current_step"], first.as_str(), "{cur}");
    assert!(Path::new(&env.beads()).exists());
}

//! `bd budget` (issue 13): token budgets of issues, epics, convoys and
//! agents as lines of `.beads/budget.jsonl`, rolled up down the tree of
//! work; the refusal a worker asks for; spends from two clones merged.

mod common;

use std::path::Path;

use common::TestEnvironment;
use serde_json::Value;

fn budget_text(ws: &Path) -> String {
    std::fs::read_to_string(ws.join(".beads/budget.jsonl")).unwrap_or_default()
}

/// The node of `target` in a report (depth first).
fn node<'a>(v: &'a Value, target: &str) -> &'a Value {
    fn find<'a>(v: &'a Value, target: &str) -> Option<&'a Value> {
        if v["target"] == target {
            return Some(v);
        }
        let kids = v["children"].as_array().into_iter().flatten();
        let list = v.as_array().into_iter().flatten();
        kids.chain(list).find_map(|c| find(c, target))
    }
    find(v, target).unwrap_or_else(|| panic!("no {target} in {v}"))
}

#[test]
fn spends_roll_up_an_epic_and_a_convoy_and_open_budgets_reserve() {
    let env = TestEnvironment::new();
    let epic = env.create("Parser", &["-t", "epic"]);
    let lexer = env.create("Lexer", &["--parent", &epic]);
    let tokens = env.create("Tokens", &["--parent", &lexer]);
    let ast = env.create("AST", &["--parent", &epic]);
    let docs = env.create("Docs", &[]);
    let conv = env.json(&["convoy", "create", "Release", &ast, &docs]);
    let conv = conv["id"].as_str().unwrap().to_string();
    env.bd(&["budget", "set", &epic, "--tokens", "10000", "--usd", "5"])
        .ok();
    env.bd(&["budget", "set", &lexer, "--tokens", "3000"]).ok();
    env.bd(&["budget", "set", &conv, "--tokens", "4,000"]).ok();
    // Spends: on the grandchild (inside the lexer's budget), on the AST
    // (in the epic and the convoy), on the docs (the convoy only).
    env.bd(&["budget", "spend", "--tokens", "1000", "--issue", &tokens])
        .ok();
    env.bd(&[
        "budget", "spend", "--tokens", "2500", "--usd", "1.5", "--issue", &ast,
    ])
    .ok();
    env.bd(&["budget", "spend", "--tokens", "700", "--issue", &docs])
        .ok();

    let e = env.json(&["budget", &epic]);
    assert_eq!(e["allocated_tokens"], 10000, "{e}");
    // 1,000 under the lexer and 2,500 on the AST; the lexer's open budget
    // holds back its 2,000 not yet spent.
    assert_eq!(e["spent_tokens"], 3500, "{e}");
    assert_eq!(e["reserved_tokens"], 2000, "{e}");
    assert_eq!(e["left_tokens"], 4500, "{e}");
    assert_eq!(
        (e["spent_usd"].as_f64(), e["left_usd"].as_f64()),
        (Some(1.5), Some(3.5))
    );
    assert_eq!(e["exhausted"], false);
    let l = node(&e, &lexer);
    assert_eq!(
        (l["spent_tokens"].as_u64(), l["left_tokens"].as_i64()),
        (Some(1000), Some(2000))
    );
    assert_eq!(node(l, &tokens)["spent_tokens"], 1000);
    assert_eq!(node(&e, &ast)["spent_tokens"], 2500);
    let c = env.json(&["budget", &conv]);
    assert_eq!(
        (c["spent_tokens"].as_u64(), c["left_tokens"].as_i64()),
        (Some(3200), Some(800))
    );
    assert_eq!(c["children"].as_array().unwrap().len(), 2, "{c}");
    // Without an ID: the budgets with none above them, and the agent.
    let all = env.json(&["budget"]);
    let targets: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [epic.as_str(), conv.as_str(), "agent:tester"],
        "{all}"
    );
    assert_eq!(node(&all, "agent:tester")["spent_tokens"], 4200);
    let text = env.bd(&["budget", &epic]).ok().stdout;
    assert!(
        text.contains("3,500 of 10,000 tokens spent · 2,000 held by budgets below · 4,500 left"),
        "{text}"
    );
}

#[test]
fn a_closed_child_returns_its_unspent_allocation_to_the_parent() {
    let env = TestEnvironment::new();
    let epic = env.create("Epic", &["-t", "epic"]);
    let child = env.create("Child", &["--parent", &epic]);
    env.bd(&["budget", "set", &epic, "--tokens", "1000"]).ok();
    env.bd(&["budget", "set", &child, "--tokens", "600"]).ok();
    env.bd(&["budget", "spend", "--tokens", "150", "--issue", &child])
        .ok();
    let e = env.json(&["budget", &epic]);
    assert_eq!(
        (e["reserved_tokens"].as_u64(), e["left_tokens"].as_i64()),
        (Some(450), Some(400))
    );
    env.bd(&["close", &child]).ok();
    let e = env.json(&["budget", &epic]);
    assert_eq!(
        (e["spent_tokens"].as_u64(), e["reserved_tokens"].as_u64()),
        (Some(150), Some(0))
    );
    assert_eq!(e["left_tokens"], 850, "{e}");
    // Reopened, it holds its allocation back again.
    env.bd(&["reopen", &child]).ok();
    assert_eq!(env.json(&["budget", &epic])["left_tokens"], 400);
    // An overspent child charges all it spent.
    env.bd(&["budget", "spend", "--tokens", "700", "--issue", &child])
        .ok();
    let e = env.json(&["budget", &epic]);
    assert_eq!(
        (e["spent_tokens"].as_u64(), e["left_tokens"].as_i64()),
        (Some(850), Some(150))
    );
}

#[test]
fn spent_budgets_refuse_work_below_them_and_say_why() {
    let env = TestEnvironment::new();
    let epic = env.create("Epic", &["-t", "epic"]);
    let x = env.create("X", &["--parent", &epic]);
    let y = env.create("Y", &["--parent", &epic]);
    let own = env.create("Own budget", &["--parent", &epic]);
    env.bd(&["budget", "set", &epic, "--tokens", "1000"]).ok();
    env.bd(&["budget", "set", &own, "--tokens", "300"]).ok();
    env.bd(&["budget", "spend", "--tokens", "1200", "--issue", &x])
        .ok();
    let e = env.json(&["budget", &epic]);
    assert_eq!(e["exhausted"], true, "{e}");
    assert_eq!(e["left_tokens"], -500, "{e}");
    // Its spends alone passed its allocation: nothing under it runs, not
    // even a child with a budget of its own (what was spent is spent).
    let why = format!("budget of epic {epic} spent: 1,200 of 1,000 tokens");
    assert_eq!(e["refusal"], why.as_str());
    let yv = env.json(&["budget", &y]);
    assert_eq!(
        (yv["exhausted"].as_bool(), yv["refusal"].as_str()),
        (Some(false), Some(why.as_str()))
    );
    let ov = env.json(&["budget", &own]);
    assert_eq!(ov["refusal"], why.as_str(), "{ov}");
    let text = env.bd(&["budget", &y]).ok().stdout;
    assert!(text.contains(&format!("not taken now: {why}")), "{text}");
    // An agent's own budget.
    env.bd(&["budget", "set", "agent:tester", "--tokens", "1000"])
        .ok();
    let a = env.json(&["budget", "agent:tester"]);
    assert_eq!(a["exhausted"], true, "{a}");
    assert_eq!(
        a["refusal"],
        "budget of agent tester spent: 1,200 of 1,000 tokens"
    );
    // The same budget again writes nothing.
    let before = budget_text(&env.repo);
    let r = env.bd(&["budget", "set", &epic, "--tokens", "1,000"]).ok();
    assert!(
        r.stderr
            .contains(&format!("Nothing changed: {epic} already has this budget")),
        "{}",
        r.stderr
    );
    assert_eq!(budget_text(&env.repo), before);
    // A new allocation (the latest counts) frees the epic.
    env.bd(&["budget", "set", &epic, "--tokens", "5000"]).ok();
    let yv = env.json(&["budget", &y]);
    assert!(yv.get("refusal").is_none(), "{yv}");
}

#[test]
fn runs_count_as_spends_of_their_agent_on_their_issue() {
    let env = TestEnvironment::new();
    let x = env.create("X", &[]);
    env.bd(&["budget", "set", &x, "--tokens", "500", "--usd", "1"])
        .ok();
    let run = serde_json::json!({"id": "run-000000000001", "issue": x, "agent": "claude-1",
        "attempt": 1, "started_at": "2027-01-01T00:00:00Z", "ended_at": "2027-01-01T00:01:00Z",
        "outcome": "success", "exit_code": 0, "tokens": 135,
        "usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_tokens": 100,
                  "cache_write_tokens": 5, "usd": 0.25},
        "command": "claude", "branch": "bd/x", "after": "closed"});
    std::fs::write(env.beads().join("runs.jsonl"), format!("{run}\n")).unwrap();
    env.bd(&["budget", "spend", "--tokens", "15", "--issue", &x])
        .ok();
    let v = env.json(&["budget", &x]);
    assert_eq!(
        (v["spent_tokens"].as_u64(), v["spent_usd"].as_f64()),
        (Some(150), Some(0.25))
    );
    assert_eq!(v["left_usd"].as_f64(), Some(0.75));
    assert_eq!(env.json(&["budget", "agent:claude-1"])["spent_tokens"], 135);
}

#[test]
fn spend_defaults_to_the_held_issue() {
    let env = TestEnvironment::new();
    let x = env.create("X", &[]);
    let y = env.create("Y", &[]);
    let v = env.json(&["budget", "spend", "--tokens", "10"]);
    assert!(
        v.get("issue").is_none(),
        "held nothing: the agent's only: {v}"
    );
    assert_eq!(v["agent"], "tester");
    env.bd(&["claim", &x]).ok();
    let v = env.json(&["budget", "spend", "--tokens", "20"]);
    assert_eq!(v["issue"], x.as_str(), "{v}");
    env.bd(&["claim", &y]).ok();
    let before = budget_text(&env.repo);
    let r = env.bd(&["budget", "spend", "--tokens", "5"]).code(2);
    assert!(r.stderr.contains("--issue"), "{}", r.stderr);
    assert_eq!(budget_text(&env.repo), before);
}

#[test]
fn bad_amounts_and_targets_are_refused_and_write_nothing() {
    let env = TestEnvironment::new();
    let x = env.create("X", &[]);
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["budget", "set", &x, "--tokens", "-5"],
            1,
            "cannot be negative",
        ),
        (
            &["budget", "set", &x, "--tokens", "lots"],
            1,
            "whole number",
        ),
        (&["budget", "set", &x, "--tokens", "1.5"], 1, "whole number"),
        (
            &["budget", "set", &x, "--tokens", "10", "--usd", "-1"],
            1,
            "cannot be negative",
        ),
        (
            &["budget", "set", &x, "--tokens", "10", "--usd", "ten"],
            1,
            "dollars must be a number",
        ),
        (
            &["budget", "set", "bd-nothere9", "--tokens", "10"],
            1,
            "bd-nothere9",
        ),
        (
            &["budget", "set", "agent:", "--tokens", "10"],
            2,
            "names no agent",
        ),
        (
            &["budget", "set", "agent:a@b", "--tokens", "10"],
            1,
            "may not contain '@'",
        ),
        (&["budget", "set", &x], 2, "--tokens"),
        (&["budget", "spend", "--tokens", "0"], 1, "nothing to spend"),
        (&["budget", "spend"], 1, "nothing to spend"),
        (
            &["budget", "spend", "--tokens", "-3"],
            1,
            "cannot be negative",
        ),
        (
            &["budget", "spend", "--tokens", "3", "--issue", "bd-nothere9"],
            1,
            "bd-nothere9",
        ),
        (&["budget", "bd-nothere9"], 1, "bd-nothere9"),
    ];
    for (args, code, says) in cases {
        let r = env.bd(args).code(*code);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert_eq!(
            r.stderr
                .trim()
                .lines()
                .filter(|l| l.starts_with("Error") || l.starts_with("error"))
                .count(),
            1,
            "{args:?}: one error line: {}",
            r.stderr
        );
        let j = env.bd(&[&["--json"], *args].concat()).code(*code).json();
        let want = if *code == 2 {
            "usage"
        } else if says.contains("nothere") {
            "not_found"
        } else {
            "invalid"
        };
        assert_eq!(j["code"], want, "{args:?}: {j}");
    }
    assert!(
        !env.beads().join("budget.jsonl").exists(),
        "nothing written"
    );
    // --readonly: the report reads, a set is refused.
    env.bd(&["--readonly", "budget"]).ok();
    env.bd(&["--readonly", "budget", "set", &x, "--tokens", "1"])
        .code(1);
    assert!(!env.beads().join("budget.jsonl").exists());
}

#[test]
fn spends_in_two_clones_survive_sync_both_ways() {
    let (env, _) = TestEnvironment::with_remote(0, "2");
    let epic = env.create("Epic", &["-t", "epic"]);
    let x = env.create("X", &["--parent", &epic]);
    env.bd(&["budget", "set", &epic, "--tokens", "1000"]).ok();
    env.bd(&["sync"]).ok();
    let (ha, hb) = (env.machine_home("a"), env.machine_home("b"));
    let (a, b) = (env.repo.clone(), env.clone_repo("b"));
    // Both clones spend, and set an agent budget, without seeing the other.
    for (ws, h, who, n) in [(&a, &ha, "alice", "300"), (&b, &hb, "bob", "450")] {
        env.bd_on(
            ws,
            h,
            who,
            &["budget", "spend", "--tokens", n, "--issue", &x],
        )
        .ok();
        env.bd_on(
            ws,
            h,
            who,
            &["budget", "set", &format!("agent:{who}"), "--tokens", "400"],
        )
        .ok();
    }
    env.bd_on(&a, &ha, "alice", &["sync"]).ok();
    env.bd_on(&b, &hb, "bob", &["sync"]).ok();
    env.bd_on(&a, &ha, "alice", &["sync"]).ok();
    let text = budget_text(&a);
    assert_eq!(text, budget_text(&b), "the clones hold the same lines");
    assert_eq!(text.lines().count(), 5, "{text}");
    common::assert_no_conflict_markers(&a);
    for (ws, h) in [(&a, &ha), (&b, &hb)] {
        let json = |args: &[&str]| {
            let mut a = vec!["--json"];
            a.extend_from_slice(args);
            env.bd_on(ws, h, "carol", &a).ok().json()
        };
        let e = json(&["budget", &epic]);
        assert_eq!(e["spent_tokens"], 750, "{e}");
        assert_eq!(e["left_tokens"], 250, "{e}");
        let bob = json(&["budget", "agent:bob"]);
        assert_eq!(
            (bob["spent_tokens"].as_u64(), bob["exhausted"].as_bool()),
            (Some(450), Some(true))
        );
    }
}

/// A session in `env`'s repository, as the library's callers open one.
fn session(env: &TestEnvironment) -> strand::ops::Session {
    strand::ops::compose::open(&env.repo, None, || {
        Ok(strand::ops::Env {
            now: strand::model::time::parse(&env.clock.tick()).unwrap(),
            actor: Some("tester".into()),
            bd_home: Some(env.home.clone()),
            lock_timeout: std::time::Duration::from_secs(5),
            formulas_dir: None,
            readonly: false,
            offline: false,
            remote: false,
            offline_claim: false,
        })
    })
    .unwrap()
}

/// `ops::budget::refusal`, the worker loop's question, at library level:
/// no budget at all, a spent epic, a child with its own budget, a spent
/// agent, an unknown issue.
#[test]
fn refusal_is_what_the_worker_loop_asks() {
    let env = TestEnvironment::new();
    let epic = env.create("Epic", &["-t", "epic"]);
    let x = env.create("X", &["--parent", &epic]);
    let own = env.create("Own", &["--parent", &epic]);
    let ask = |issue: &str, agent: &str| {
        let ctx = session(&env);
        strand::ops::budget::refusal(&ctx, issue, agent)
    };
    assert_eq!(ask(&x, "ann").unwrap(), None, "no budget at all");
    env.bd(&["budget", "set", &epic, "--tokens", "100"]).ok();
    env.bd(&["budget", "set", &own, "--tokens", "50"]).ok();
    env.bd(&["budget", "spend", "--tokens", "60", "--issue", &x])
        .ok();
    assert_eq!(
        ask(&x, "ann").unwrap().as_deref(),
        Some(
            format!(
                "budget of epic {epic} spent: 110 of 100 tokens (50 of it held by budgets below)"
            )
            .as_str()
        )
    );
    assert_eq!(ask(&own, "ann").unwrap(), None, "its own budget pays");
    env.bd(&["budget", "set", "agent:ann", "--tokens", "10"])
        .ok();
    env.bd(&["--actor", "ann", "budget", "spend", "--tokens", "10"])
        .ok();
    assert_eq!(
        ask(&own, "ann").unwrap().as_deref(),
        Some("budget of agent ann spent: 10 of 10 tokens")
    );
    assert!(ask("bd-nothere9", "ann").is_err());
    // Loaded once, asked about many (a worker going down its list).
    let ctx = session(&env);
    let check = strand::ops::budget::Check::load(&ctx).unwrap();
    assert!(
        check
            .refusal(&x, "bob")
            .unwrap()
            .starts_with(&format!("budget of epic {epic}"))
    );
    assert_eq!(check.refusal(&own, "bob"), None);
}

#[test]
fn a_new_budget_wins_over_one_dated_ahead_by_a_fast_clock() {
    let env = TestEnvironment::new();
    let x = env.create("X", &[]);
    // Another clone's clock was years ahead when it set the budget.
    env.bd_at(
        "2030-01-01T00:00:00Z",
        &["budget", "set", &x, "--tokens", "100"],
    )
    .ok();
    env.bd(&["budget", "set", &x, "--tokens", "500"]).ok();
    let v = env.json(&["budget", &x, "--json"]);
    assert_eq!(v["allocated_tokens"], 500, "{v}");
}

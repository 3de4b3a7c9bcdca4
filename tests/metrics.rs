//! `bd metrics` (issue 13): numbers from the run records of
//! `.beads/runs.jsonl` and the tracker only, so two clones that synced
//! compute the same document; checked by hand on a small case.

mod common;

use std::path::Path;

use common::TestEnvironment;
use serde_json::{Value, json};

/// A run record as the worker loop writes it (keys in the log's order).
fn run(
    id: &str,
    issue: &str,
    agent: &str,
    from: &str,
    to: &str,
    outcome: &str,
    usage: Value,
) -> Value {
    let mut r = json!({"id": id, "issue": issue, "agent": agent, "attempt": 1,
        "started_at": format!("2027-03-01T{from}:00Z"), "ended_at": format!("2027-03-01T{to}:00Z"),
        "outcome": outcome});
    let m = r.as_object_mut().unwrap();
    if let Some(t) = usage.get("tokens") {
        m.insert("tokens".into(), t.clone());
    }
    if let Some(u) = usage.get("usd") {
        m.insert(
            "usage".into(),
            json!({"input_tokens": usage["tokens"], "output_tokens": 0,
            "cache_read_tokens": 0, "cache_write_tokens": 0, "usd": u}),
        );
    }
    m.insert("command".into(), json!("claude"));
    m.insert("branch".into(), json!(format!("bd/{issue}")));
    m.insert("after".into(), json!("left"));
    r
}

/// Write `runs` (sorted by id) as a clone's runs.jsonl.
fn write_runs(ws: &Path, mut runs: Vec<Value>) {
    runs.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let text: String = runs.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(ws.join(".beads/runs.jsonl"), text).unwrap();
}

#[test]
fn metrics_are_the_same_in_two_clones_after_sync() {
    let (env, ids) = TestEnvironment::with_remote(4, "2");
    let (x, y, z, w) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let (ha, hb) = (env.machine_home("a"), env.machine_home("b"));
    let (a, b) = (env.repo.clone(), env.clone_repo("b"));
    // Clone a: ann did X (10 min), failed Y (10 min), then did Y (20 min),
    // and closed X. Clone b: bob did Z (30 min), stalled on W (20 min),
    // and closed Z. Each clone writes its own runs.jsonl.
    write_runs(
        &a,
        vec![
            run(
                "run-a00000000001",
                x,
                "ann",
                "00:00",
                "00:10",
                "success",
                json!({"tokens": 100, "usd": 0.1}),
            ),
            run(
                "run-a00000000002",
                y,
                "ann",
                "00:20",
                "00:30",
                "failed",
                json!({"tokens": 50}),
            ),
            run(
                "run-a00000000003",
                y,
                "ann",
                "00:30",
                "00:50",
                "success",
                json!({"tokens": 200, "usd": 0.3}),
            ),
        ],
    );
    write_runs(
        &b,
        vec![
            run(
                "run-b00000000001",
                z,
                "bob",
                "00:00",
                "00:30",
                "success",
                json!({"tokens": 300}),
            ),
            run(
                "run-b00000000002",
                w,
                "bob",
                "00:40",
                "01:00",
                "stalled",
                json!({}),
            ),
        ],
    );
    env.bd_on(&a, &ha, "ann", &["close", x]).ok();
    env.bd_on(&b, &hb, "bob", &["close", z]).ok();
    env.bd_on(&a, &ha, "ann", &["sync"]).ok();
    env.bd_on(&b, &hb, "bob", &["sync"]).ok();
    env.bd_on(&a, &ha, "ann", &["sync"]).ok();
    let runs_a = std::fs::read_to_string(a.join(".beads/runs.jsonl")).unwrap();
    assert_eq!(
        runs_a,
        std::fs::read_to_string(b.join(".beads/runs.jsonl")).unwrap()
    );
    assert_eq!(runs_a.lines().count(), 5, "{runs_a}");
    common::assert_no_conflict_markers(&a);

    let ma = env
        .bd_on(&a, &ha, "ann", &["--json", "metrics"])
        .ok()
        .stdout;
    let mb = env
        .bd_on(&b, &hb, "carol", &["--json", "metrics"])
        .ok()
        .stdout;
    assert_eq!(ma, mb, "the same document in both clones");
    let m: Value = serde_json::from_str(&ma).unwrap();
    let ann = &m["agents"][0];
    assert_eq!(ann["agent"], "ann");
    assert_eq!(
        (
            ann["runs"].as_u64(),
            ann["successes"].as_u64(),
            ann["items_done"].as_u64()
        ),
        (Some(3), Some(2), Some(2))
    );
    assert_eq!(ann["success_rate"], 0.6667);
    // Successes of 10 and 20 minutes.
    assert_eq!(ann["median_success_secs"], 900.0);
    assert_eq!(
        (ann["tokens"].as_u64(), ann["usd"].as_f64()),
        (Some(350), Some(0.4))
    );
    // 40 minutes in runs of the 50 from its first start to its last end.
    assert_eq!(ann["utilization"], 0.8);
    let bob = &m["agents"][1];
    assert_eq!(
        (bob["runs"].as_u64(), bob["success_rate"].as_f64()),
        (Some(2), Some(0.5))
    );
    assert_eq!(bob["median_success_secs"], 1800.0);
    assert_eq!(bob["utilization"], 0.8333);
    assert_eq!(m["runs"], 5);
    // X and Z closed of the four items run.
    assert_eq!(
        (m["items"].as_u64(), m["items_closed"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(m["completion_rate"], 0.5);
    // Three items done in the hour from the first start to the last end.
    assert_eq!(
        (m["items_done"].as_u64(), m["hours"].as_f64()),
        (Some(3), Some(1.0))
    );
    assert_eq!(m["throughput_per_hour"], 3.0);
    // Y and W are still open and claimable.
    assert_eq!(m["items_waiting"], 2);
    assert_eq!(
        (m["tokens"].as_u64(), m["usd"].as_f64()),
        (Some(650), Some(0.4))
    );

    // --since: the runs started from 00:25 on (ann's last, bob's stall).
    let s = env
        .bd_on(
            &a,
            &ha,
            "ann",
            &["--json", "metrics", "--since", "2027-03-01T00:25:00Z"],
        )
        .ok()
        .json();
    assert_eq!(
        (s["runs"].as_u64(), s["items_done"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(s["since"], "2027-03-01T00:25:00.000000000Z");
    let text = env.bd_on(&b, &hb, "bob", &["metrics"]).ok().stdout;
    assert!(
        text.contains("ann: 3 run(s), 2 done, success 66.7%, median 900.0s, 350 tokens, $0.40, utilization 80.0%"),
        "{text}"
    );
    assert!(text.contains("overall: 5 run(s) on 4 item(s), 3 done, 2 closed (completion 50.0%), throughput 3.0/h, 2 waiting"), "{text}");
}

#[test]
fn bad_since_and_bad_lines() {
    let env = TestEnvironment::new();
    let r = env.bd(&["metrics", "--since", "the dawn of time"]).code(1);
    assert!(
        r.stderr
            .contains("--since 'the dawn of time' is not a date"),
        "{}",
        r.stderr
    );
    // A line that is no run record is skipped with a warning.
    std::fs::write(env.beads().join("runs.jsonl"), "{\"id\":\"run-x\"}\n").unwrap();
    let r = env.bd(&["--json", "metrics"]).ok();
    assert!(r.stderr.contains("skipped 1 line"), "{}", r.stderr);
    assert_eq!(r.json()["runs"], 0);
}

//! Concurrent writers in one workspace (SPEC §2 locks and writes, §8: "concurrent
//! writers in one workspace never drop each other's changes"). Every test runs
//! the real `bd` binary as many processes at once: all children (or the threads
//! driving them) are started first, then waited for.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use common::{Rng, TestEnvironment};
use serde_json::Value;

/// Long enough that contention on a 2-core machine never times out.
const LOCK_TIMEOUT_MS: &str = "60000";

/// A child command with the lock timeout raised.
fn child(env: &TestEnvironment, args: &[&str]) -> Command {
    let mut c = env.cmd(args);
    c.env("BD_LOCK_TIMEOUT_MS", LOCK_TIMEOUT_MS)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The tracker file must be whole and canonical: non-empty lines that all parse
/// as JSON objects with a string `id`, strictly sorted by id (bytes, so no
/// duplicates), and a `\n` after every line. Returns the records by id.
#[track_caller]
fn check_file(env: &TestEnvironment) -> BTreeMap<String, Value> {
    let bytes = std::fs::read(env.issues_path()).expect("issues.jsonl exists");
    let text = String::from_utf8(bytes).expect("issues.jsonl is UTF-8");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "issues.jsonl does not end with a newline: ...{:?}",
        &text[text.len().saturating_sub(200)..]
    );
    assert!(!text.contains('\r'), "issues.jsonl has a CR");
    let mut out = BTreeMap::new();
    let mut prev: Option<String> = None;
    for (n, line) in text.split_terminator('\n').enumerate() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {} is not JSON ({e}): {line}", n + 1));
        let id = v["id"]
            .as_str()
            .unwrap_or_else(|| panic!("line {} has no string id: {line}", n + 1))
            .to_string();
        if let Some(p) = &prev {
            assert!(
                p.as_bytes() < id.as_bytes(),
                "line {}: ids out of order or repeated: {p} then {id}",
                n + 1
            );
        }
        prev = Some(id.clone());
        out.insert(id, v);
    }
    out
}

/// 8 concurrent streams of 50 sequential `bd create` each: 400 issues, all
/// distinct, each printed ID in the file with the title its child gave it.
#[test]
fn concurrent_creates_lose_nothing() {
    const STREAMS: usize = 8;
    const PER: usize = 50;
    let env = Arc::new(TestEnvironment::new());
    let started = std::time::Instant::now();
    let handles: Vec<_> = (0..STREAMS)
        .map(|s| {
            let env = Arc::clone(&env);
            std::thread::spawn(move || {
                let mut made = Vec::new();
                for i in 0..PER {
                    let title = format!("stream {s} item {i}");
                    let o: Output = child(&env, &["create", &title]).output().expect("bd runs");
                    assert!(
                        o.status.success(),
                        "create {title:?} failed: {:?}\nstdout: {}\nstderr: {}",
                        o.status,
                        text(&o.stdout),
                        text(&o.stderr)
                    );
                    let id = text(&o.stdout).trim().to_string();
                    assert!(
                        id.starts_with("bd-") && !id.contains(char::is_whitespace),
                        "create {title:?} printed {id:?}"
                    );
                    made.push((id, title));
                }
                made
            })
        })
        .collect();
    let mut printed: Vec<(String, String)> = Vec::new();
    for h in handles {
        printed.extend(h.join().expect("stream thread"));
    }
    eprintln!(
        "{} creates in {} streams took {:?}",
        STREAMS * PER,
        STREAMS,
        started.elapsed()
    );

    let recs = check_file(&env);
    assert_eq!(printed.len(), STREAMS * PER);
    let distinct: BTreeSet<&str> = printed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        distinct.len(),
        printed.len(),
        "children printed the same ID twice"
    );
    assert_eq!(
        recs.len(),
        STREAMS * PER,
        "expected exactly {} issues in the file",
        STREAMS * PER
    );
    for (id, title) in &printed {
        let rec = recs
            .get(id)
            .unwrap_or_else(|| panic!("printed ID {id} ({title}) is not in the file"));
        assert_eq!(
            rec["title"],
            title.as_str(),
            "record {id} has another title"
        );
        assert_eq!(rec["status"], "open");
    }
    // The index agrees with the file.
    let listed = env.json(&["list", "--all", "--limit", "0"]);
    let listed: BTreeSet<String> = listed
        .as_array()
        .expect("list gives an array")
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    let in_file: BTreeSet<String> = recs.keys().cloned().collect();
    assert_eq!(listed, in_file, "bd list disagrees with issues.jsonl");
}

/// 8 agents race to claim the same 20 issues, each in its own shuffled order:
/// every issue ends with exactly one holder, the one whose claim succeeded;
/// every loser got exit 3 naming that holder.
#[test]
fn concurrent_claims_have_one_winner() {
    const AGENTS: usize = 8;
    const ISSUES: usize = 20;
    let env = Arc::new(TestEnvironment::new());
    let ids: Vec<String> = (0..ISSUES)
        .map(|i| env.create(&format!("claimable {i}"), &[]))
        .collect();
    let started = std::time::Instant::now();
    let handles: Vec<_> = (0..AGENTS)
        .map(|a| {
            let env = Arc::clone(&env);
            let mut order = ids.clone();
            Rng::new(0x5eed + a as u64).shuffle(&mut order);
            std::thread::spawn(move || {
                let actor = format!("agent-{a}");
                order
                    .into_iter()
                    .map(|id| {
                        let o = child(&env, &["claim", &id])
                            .env("BD_ACTOR", &actor)
                            .output()
                            .expect("bd runs");
                        (
                            id,
                            actor.clone(),
                            o.status.code(),
                            text(&o.stdout),
                            text(&o.stderr),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut results = Vec::new();
    for h in handles {
        results.extend(h.join().expect("agent thread"));
    }
    eprintln!(
        "{} claims by {AGENTS} agents took {:?}",
        results.len(),
        started.elapsed()
    );

    let recs = check_file(&env);
    assert_eq!(recs.len(), ISSUES);
    let mut winners: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, actor, code, stdout, stderr) in &results {
        match code {
            Some(0) => winners.entry(id.as_str()).or_default().push(actor),
            Some(3) => {}
            other => panic!(
                "claim of {id} by {actor}: unexpected exit {other:?}\nstdout: {stdout}\nstderr: {stderr}"
            ),
        }
    }
    let successes: usize = winners.values().map(Vec::len).sum();
    for id in &ids {
        let w = winners.get(id.as_str()).cloned().unwrap_or_default();
        assert_eq!(
            w.len(),
            1,
            "{id}: expected exactly one successful claim, got {w:?}"
        );
        let rec = &recs[id];
        assert_eq!(
            rec["assignee"], w[0],
            "{id}: the file's holder is not the agent whose claim succeeded"
        );
        assert_eq!(rec["status"], "in_progress", "{id}");
        assert!(rec["started_at"].is_string(), "{id}: no started_at");
    }
    assert_eq!(successes, ISSUES, "total successful claims");
    // SPEC §7: the refusal names the holder and the workspace.
    let workspace = std::fs::canonicalize(&env.repo).unwrap();
    let workspace = workspace.to_string_lossy();
    for (id, actor, code, _, stderr) in &results {
        if *code == Some(3) {
            assert!(
                stderr.contains(workspace.as_ref()),
                "{actor} lost {id}, but stderr does not name the workspace {workspace}: {stderr}"
            );
            let holder = winners[id.as_str()][0];
            assert_ne!(holder, actor.as_str());
            assert!(
                stderr.contains(holder),
                "{actor} lost {id} to {holder}, but stderr does not name the holder: {stderr}"
            );
        }
    }
}

/// 8 processes each add a different label to one issue at the same moment:
/// all 8 labels end up on it. Repeated over a few rounds on fresh issues.
#[test]
fn concurrent_label_adds_are_not_lost() {
    const WRITERS: usize = 8;
    const ROUNDS: usize = 4;
    let env = TestEnvironment::new();
    for round in 0..ROUNDS {
        let id = env.create(&format!("labelled {round}"), &[]);
        let labels: Vec<String> = (0..WRITERS).map(|w| format!("r{round}-l{w}")).collect();
        // Spawn every child first, then wait for all.
        let children: Vec<_> = labels
            .iter()
            .enumerate()
            .map(|(w, l)| {
                child(&env, &["label", "add", &id, l])
                    .env("BD_ACTOR", format!("labeller-{w}"))
                    .spawn()
                    .expect("bd runs")
            })
            .collect();
        for (c, l) in children.into_iter().zip(&labels) {
            let o = c.wait_with_output().unwrap();
            assert!(
                o.status.success(),
                "label add {l} failed: {:?}\nstderr: {}",
                o.status,
                text(&o.stderr)
            );
        }
        let recs = check_file(&env);
        let got: Vec<String> = recs[&id]["labels"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        let mut want = labels.clone();
        want.sort();
        assert_eq!(got, want, "round {round}: labels on {id} (lost update?)");
        // `bd label list` (through the index) agrees.
        let listed = env.bd(&["label", "list", &id]).ok().stdout;
        for l in &labels {
            assert!(
                listed.contains(l.as_str()),
                "label list lacks {l}: {listed}"
            );
        }
    }
}

/// 8 processes at once change 8 different things of one issue (title,
/// priority, notes, description, a label, a comment, a dependency, the
/// estimate), then 8 more each add a comment: every change lands.
#[test]
fn concurrent_edits_of_different_fields_all_land() {
    let env = TestEnvironment::new();
    let id = env.create("edited", &[]);
    let blocker = env.create("blocker", &[]);
    let jobs: Vec<Vec<String>> = [
        vec!["update", &id, "--title", "new title"],
        vec!["update", &id, "-p", "0"],
        vec!["update", &id, "--notes", "some notes"],
        vec!["update", &id, "-d", "a description"],
        vec!["label", "add", &id, "urgent"],
        vec!["comment", &id, "first comment"],
        vec!["dep", "add", &id, &blocker],
        vec!["update", &id, "--estimate", "30"],
    ]
    .iter()
    .map(|a| a.iter().map(|s| s.to_string()).collect())
    .collect();
    let run_all = |jobs: &[Vec<String>]| {
        let children: Vec<_> = jobs
            .iter()
            .enumerate()
            .map(|(w, a)| {
                let a: Vec<&str> = a.iter().map(String::as_str).collect();
                child(&env, &a)
                    .env("BD_ACTOR", format!("editor-{w}"))
                    .spawn()
                    .expect("bd runs")
            })
            .collect();
        for (c, a) in children.into_iter().zip(jobs) {
            let o = c.wait_with_output().unwrap();
            assert!(
                o.status.success(),
                "{a:?} failed: {:?}\nstderr: {}",
                o.status,
                text(&o.stderr)
            );
        }
    };
    run_all(&jobs);
    let rec = check_file(&env)[&id].clone();
    assert_eq!(rec["title"], "new title", "{rec}");
    assert_eq!(rec["priority"], 0, "{rec}");
    assert_eq!(rec["notes"], "some notes", "{rec}");
    assert_eq!(rec["description"], "a description", "{rec}");
    assert_eq!(rec["labels"], serde_json::json!(["urgent"]), "{rec}");
    assert_eq!(rec["estimated_minutes"], 30, "{rec}");
    let deps = rec["dependencies"].as_array().expect("dependencies");
    assert_eq!(deps.len(), 1, "{rec}");
    assert_eq!(deps[0]["depends_on_id"], blocker.as_str());
    assert_eq!(deps[0]["type"], "blocks");
    let comments = rec["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 1, "{rec}");
    assert_eq!(comments[0]["text"], "first comment");

    let more: Vec<Vec<String>> = (0..8)
        .map(|w| vec!["comment".into(), id.clone(), format!("comment from {w}")])
        .collect();
    run_all(&more);
    let rec = check_file(&env)[&id].clone();
    let texts: BTreeSet<&str> = rec["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 9, "comments lost: {texts:?}");
    for w in 0..8 {
        assert!(texts.contains(format!("comment from {w}").as_str()));
    }
    // The other fields survived the comment storm.
    assert_eq!(rec["title"], "new title");
    assert_eq!(rec["labels"], serde_json::json!(["urgent"]));
}

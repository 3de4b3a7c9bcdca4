//! Coordination of the workspaces of one project on one machine (SPEC §1
//! project home, §7 coordination), end to end with the real `bd` binary.
//!
//! Every test builds one "machine": a temp dir with a bare remote, clone A
//! (`git init` + `bd init`, pushed), clone B (`git clone`), and a `git worktree`
//! of A, all sharing ONE `BD_HOME`. Claims, closes and releases made in one
//! workspace must be seen in the others at once, through the ledger in the
//! project home, before any git exchange; after one, the JSONL files agree.
//! The git commands that merge run with `bd` first on PATH, so the merge driver
//! `bd merge %O %A %B %P` git calls is the binary under test.

#[path = "../common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::{Machine, Rng, Run, TestEnvironment, files_under, git, git_bd, run_of};
use serde_json::Value;
use strand::model::time;

mod agents;
mod claims;
mod dispatch;
mod home_recovery;
mod hooks;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// The records of a workspace's `issues.jsonl` by ID.
fn records(ws: &Path) -> BTreeMap<String, Value> {
    std::fs::read_to_string(ws.join(".beads/issues.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("every line is JSON");
            (v["id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn status_of(v: &Value) -> &str {
    v["status"].as_str().unwrap_or("")
}

fn assignee_of(v: &Value) -> &str {
    v["assignee"].as_str().unwrap_or("")
}

/// The IDs of a `--json` listing.
fn ids_of(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .expect("a JSON array")
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn ready(m: &Machine, ws: &Path, actor: &str) -> BTreeSet<String> {
    ids_of(&m.json(ws, actor, &["ready", "--limit", "0"]))
}

/// A refusal of a claim: exit 3, and the message names `holder` and the workspace.
#[track_caller]
fn assert_refused_by(r: &Run, holder: &str, ws: &str) {
    assert_eq!(
        r.code, 3,
        "expected exit 3\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    assert!(
        r.stderr.contains(holder) && r.stderr.contains(ws),
        "the refusal names holder {holder} and workspace {ws}: {}",
        r.stderr
    );
}

fn claimed(r: &Run, id: &str) -> bool {
    r.code == 0 && r.stderr.contains(&format!("Claimed {id}"))
}

/// One claim attempt of a race.
#[derive(Debug, Clone)]
struct Attempt {
    issue: String,
    actor: String,
    ws: PathBuf,
    run: Arc<Run>,
}

/// `per_ws` processes in each workspace, each with its own actor, each trying
/// to claim every issue of `ids` in its own shuffled order, all at once.
fn race(m: &Arc<Machine>, ids: &[String], per_ws: usize, tag: &str) -> Vec<Attempt> {
    let barrier = Arc::new(std::sync::Barrier::new(3 * per_ws));
    let mut handles = Vec::new();
    for (w, ws) in [m.a.clone(), m.b.clone(), m.wt.clone()]
        .into_iter()
        .enumerate()
    {
        for p in 0..per_ws {
            let m = Arc::clone(m);
            let ws = ws.clone();
            let order = Rng::mixed((w * 100 + p) as u64 + 7).shuffled(ids);
            let actor = format!("{tag}-w{w}-p{p}");
            let barrier = Arc::clone(&barrier);
            handles.push(std::thread::spawn(move || {
                barrier.wait();
                let mut out = Vec::new();
                for id in order {
                    let mut c = m.cmd(&ws, &actor, &["claim", &id]);
                    c.env("BD_LOCK_TIMEOUT_MS", "60000");
                    let run = run_of(c.output().expect("bd runs"));
                    out.push(Attempt {
                        issue: id,
                        actor: actor.clone(),
                        ws: ws.clone(),
                        run: Arc::new(run),
                    });
                }
                out
            }));
        }
    }
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("no racer panics"))
        .collect()
}

/// Exactly one winner per issue, every loser refused with exit 3 (not a lock
/// timeout); the winners by issue.
#[track_caller]
fn one_winner_each(attempts: &[Attempt], ids: &[String]) -> BTreeMap<String, Attempt> {
    let mut winners: BTreeMap<String, Vec<&Attempt>> = BTreeMap::new();
    for a in attempts {
        if claimed(&a.run, &a.issue) {
            winners.entry(a.issue.clone()).or_default().push(a);
        } else {
            assert_eq!(
                a.run.code,
                3,
                "a losing claim of {} by {} in {} exits 3\nstdout: {}\nstderr: {}",
                a.issue,
                a.actor,
                a.ws.display(),
                a.run.stdout,
                a.run.stderr
            );
            assert!(
                a.run.stderr.contains("cannot claim"),
                "a loser is refused, not timed out: {}",
                a.run.stderr
            );
        }
    }
    let mut out = BTreeMap::new();
    for id in ids {
        let w = winners.get(id).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            w.len(),
            1,
            "issue {id} has exactly one winner across the machine, got {:?}",
            w.iter()
                .map(|a| (a.actor.as_str(), a.ws.display().to_string()))
                .collect::<Vec<_>>()
        );
        out.insert(id.clone(), w[0].clone());
    }
    out
}

/// The holder of each issue as recorded in each workspace's JSONL: exactly the
/// winner's workspace shows it `in_progress` for the winner; the others, open.
#[track_caller]
fn assert_recorded(m: &Machine, winners: &BTreeMap<String, Attempt>) {
    for ws in [&m.a, &m.b, &m.wt] {
        let recs = records(ws);
        for (id, w) in winners {
            let r = &recs[id];
            if &w.ws == ws {
                assert_eq!(
                    (status_of(r), assignee_of(r)),
                    ("in_progress", w.actor.as_str()),
                    "{id} in the winner's workspace {}",
                    ws.display()
                );
            } else {
                assert_eq!(
                    (status_of(r), assignee_of(r)),
                    ("open", ""),
                    "{id} untouched in {} (won in {})",
                    ws.display(),
                    w.ws.display()
                );
            }
        }
    }
}

/// Commit `.beads/` in all three workspaces and exchange through git until
/// they hold the same history: wt → A (merge), A → remote, B pulls and
/// pushes, A pulls, wt fast-forwards to main.
fn sync_all(m: &Machine) {
    for ws in [&m.a, &m.b, &m.wt] {
        git_bd(ws, &["add", "-A", ".beads"]);
        let staged = run_of(
            Command::new("git")
                .args(["diff", "--cached", "--quiet"])
                .current_dir(ws)
                .output()
                .unwrap(),
        );
        if staged.code != 0 {
            git_bd(ws, &["commit", "-q", "-m", "tracker"]);
        }
    }
    git_bd(&m.a, &["merge", "-q", "--no-edit", "wt"]);
    git_bd(&m.a, &["push", "-q", "origin", "main"]);
    git_bd(
        &m.b,
        &["pull", "-q", "--no-rebase", "--no-edit", "origin", "main"],
    );
    git_bd(&m.b, &["push", "-q", "origin", "main"]);
    git_bd(
        &m.a,
        &["pull", "-q", "--no-rebase", "--no-edit", "origin", "main"],
    );
    git_bd(&m.wt, &["merge", "-q", "--no-edit", "main"]);
}

// ---------------------------------------------------------------------------
// 6. Agents: register, heartbeat, presence states, claims, hostile names
// ---------------------------------------------------------------------------

const T0: &str = "2030-01-01T12:00:00Z";

fn at_min(min: i64) -> String {
    time::format(time::parse(T0).unwrap() + min * 60 * 1_000_000_000)
}

/// `bd --json agents` at `when`, without an explicit actor, by name.
fn agents_at(m: &Machine, ws: &Path, when: &str) -> BTreeMap<String, Value> {
    let r = m.bd_at(ws, None, when, &["--json", "agents"]).ok();
    r.json()
        .as_array()
        .expect("agents is an array")
        .iter()
        .map(|a| (a["name"].as_str().unwrap().to_string(), a.clone()))
        .collect()
}

fn agent_file(m: &Machine, name_escaped: &str) -> Value {
    let p = m
        .project_dir()
        .join("agents")
        .join(format!("{name_escaped}.json"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

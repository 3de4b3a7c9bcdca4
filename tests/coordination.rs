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

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::{Machine, Rng, Run, TestEnvironment, files_under, git, git_bd, run_of};
use serde_json::Value;
use strand::model::time;

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
// 1-3. Claims, closes and releases are seen at once across workspaces
// ---------------------------------------------------------------------------

#[test]
fn claim_in_one_workspace_is_seen_in_the_others_at_once() {
    let m = Machine::new(3);
    let x = m.ids[0].clone();
    let b_path = m.canon(&m.b);
    assert!(ready(&m, &m.a, "alice").contains(&x));

    m.bd(&m.b, "bob", &["claim", &x]).ok();

    // No push or pull: A and the worktree see bob's claim through the ledger.
    let r = m.bd(&m.a, "alice", &["claim", &x]);
    assert_refused_by(&r, "bob", &b_path);
    let r = m.bd(&m.wt, "walt", &["claim", &x]);
    assert_refused_by(&r, "bob", &b_path);
    // `update --claim` is a claim too.
    let r = m.bd(&m.a, "alice", &["update", &x, "--claim"]);
    assert_refused_by(&r, "bob", &b_path);

    // Refusals changed nothing: A's and the worktree's files still show it open.
    for ws in [&m.a, &m.wt] {
        let r = &records(ws)[&x];
        assert_eq!((status_of(r), assignee_of(r)), ("open", ""));
    }
    let r = &records(&m.b)[&x];
    assert_eq!((status_of(r), assignee_of(r)), ("in_progress", "bob"));

    // `ready` elsewhere hides it; in B (bob's own claim) it is in progress anyway.
    assert!(!ready(&m, &m.a, "alice").contains(&x));
    assert!(!ready(&m, &m.wt, "walt").contains(&x));
    // bob himself claiming again in B: exit 0, nothing changes.
    let before = records(&m.b)[&x].clone();
    let r = m.bd(&m.b, "bob", &["claim", &x]).ok();
    assert!(!claimed(&r, &x), "a repeated claim changes nothing: {r:?}");
    assert_eq!(records(&m.b)[&x], before);

    // `ready --claim` in A skips x (the top of the list) and takes another.
    let r = m.bd(&m.a, "alice", &["ready", "--claim"]).ok();
    let got = r.stdout.trim().to_string();
    assert!(
        m.ids.contains(&got) && got != x,
        "ready --claim took another issue, not {x}: {r:?}"
    );
    let rec = &records(&m.a)[&got];
    assert_eq!((status_of(rec), assignee_of(rec)), ("in_progress", "alice"));
    // ... and that claim is in turn seen in B and the worktree.
    let a_path = m.canon(&m.a);
    assert_refused_by(&m.bd(&m.b, "bob", &["claim", &got]), "alice", &a_path);
    assert_refused_by(&m.bd(&m.wt, "walt", &["claim", &got]), "alice", &a_path);
    let r = m.json(&m.wt, "walt", &["ready", "--claim"]);
    let third = ids_of(&r);
    assert_eq!(third.len(), 1, "walt got the last free issue: {r}");
    assert!(!third.contains(&x) && !third.contains(&got));
    // Nothing is left for anyone.
    let r = m.bd(&m.b, "carol", &["ready", "--claim"]).ok();
    assert_eq!(r.stdout.trim(), "", "nothing left to claim: {r:?}");
}

#[test]
fn close_in_one_clone_makes_the_issue_unclaimable_elsewhere() {
    let m = Machine::new(2);
    let x = m.ids[1].clone();
    m.bd(&m.a, "alice", &["close", &x, "--reason", "done"]).ok();
    assert!(!ready(&m, &m.a, "alice").contains(&x));

    let a_path = m.canon(&m.a);
    for (ws, who) in [(&m.b, "bob"), (&m.wt, "walt")] {
        let r = m.bd(ws, who, &["claim", &x]);
        assert_eq!(
            r.code,
            3,
            "claim of a closed issue in {}: {r:?}",
            ws.display()
        );
        assert!(
            r.stderr.contains(&format!("closed in workspace {a_path}")),
            "the refusal says where it was closed: {}",
            r.stderr
        );
        assert!(
            !ready(&m, ws, who).contains(&x),
            "{x} vanished from ready in {}",
            ws.display()
        );
        // Their files are untouched: the close rides with git later.
        assert_eq!(status_of(&records(ws)[&x]), "open");
    }
    // `ready --claim` elsewhere takes the other issue, never the closed one.
    let r = m.bd(&m.b, "bob", &["ready", "--claim"]).ok();
    assert_eq!(r.stdout.trim(), m.ids[0]);
    let r = m.bd(&m.wt, "walt", &["ready", "--claim"]).ok();
    assert_eq!(r.stdout.trim(), "", "nothing claimable is left: {r:?}");

    // A reopen in A is recorded too: x is ready and claimable elsewhere again.
    m.bd(&m.a, "alice", &["reopen", &x]).ok();
    assert!(ready(&m, &m.wt, "walt").contains(&x));
    assert!(ready(&m, &m.b, "bob").contains(&x));
    let r = m.bd(&m.wt, "walt", &["claim", &x]).ok();
    assert!(claimed(&r, &x), "{r:?}");
    assert_refused_by(
        &m.bd(&m.a, "alice", &["claim", &x]),
        "walt",
        &m.canon(&m.wt),
    );

    // A delete is seen the same way.
    let m2 = Machine::new(1);
    let z = m2.ids[0].clone();
    m2.bd(&m2.b, "bob", &["delete", &z]).ok();
    let r = m2.bd(&m2.a, "alice", &["claim", &z]);
    assert_eq!(r.code, 3, "claim of an issue deleted in B: {r:?}");
    assert!(r.stderr.contains("deleted"), "{}", r.stderr);
    assert!(!ready(&m2, &m2.wt, "walt").contains(&z));
}

#[test]
fn unclaim_in_one_clone_releases_it_for_the_others() {
    let m = Machine::new(1);
    let x = m.ids[0].clone();
    m.bd(&m.b, "bob", &["claim", &x]).ok();
    assert_refused_by(&m.bd(&m.a, "alice", &["claim", &x]), "bob", &m.canon(&m.b));

    m.bd(&m.b, "bob", &["unclaim", &x]).ok();
    let r = &records(&m.b)[&x];
    assert_eq!((status_of(r), assignee_of(r)), ("open", ""));
    assert!(ready(&m, &m.a, "alice").contains(&x));
    assert!(ready(&m, &m.wt, "walt").contains(&x));

    let r = m.bd(&m.a, "alice", &["claim", &x]).ok();
    assert!(claimed(&r, &x), "{r:?}");
    // Now alice holds it everywhere, bob included.
    assert_refused_by(&m.bd(&m.b, "bob", &["claim", &x]), "alice", &m.canon(&m.a));
    assert_refused_by(
        &m.bd(&m.wt, "walt", &["claim", &x]),
        "alice",
        &m.canon(&m.a),
    );

    // Release and re-claim across workspaces once more (epochs keep rising).
    m.bd(&m.a, "alice", &["unclaim", &x]).ok();
    let r = m.bd(&m.wt, "walt", &["claim", &x]).ok();
    assert!(claimed(&r, &x), "{r:?}");
    assert_refused_by(&m.bd(&m.b, "bob", &["claim", &x]), "walt", &m.canon(&m.wt));
}

// ---------------------------------------------------------------------------
// 4. The race: 3 workspaces x 8 processes on 30 issues
// ---------------------------------------------------------------------------

#[test]
fn race_across_three_workspaces_has_one_winner_per_issue() {
    let m = Arc::new(Machine::new(30));
    let ids = m.ids.clone();
    let attempts = race(&m, &ids, 8, "r");
    assert_eq!(attempts.len(), 3 * 8 * 30);
    let winners = one_winner_each(&attempts, &ids);
    assert_recorded(&m, &winners);

    // The ledger names the same holders.
    let ledger: Value = serde_json::from_str(
        &std::fs::read_to_string(m.project_dir().join("ledger.json")).unwrap(),
    )
    .unwrap();
    let by_issue: BTreeMap<String, &Value> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["issue"].as_str().unwrap().to_string(), e))
        .collect();
    for (id, w) in &winners {
        let e = by_issue
            .get(id)
            .unwrap_or_else(|| panic!("ledger entry for {id}"));
        assert_eq!(e["event"]["kind"], "claimed", "{e}");
        assert_eq!(e["event"]["holder"], w.actor.as_str(), "{e}");
    }
    // And nothing is ready anywhere any more.
    for ws in [&m.a, &m.b, &m.wt] {
        assert!(ready(&m, ws, "nobody").is_empty(), "{}", ws.display());
    }
}

// ---------------------------------------------------------------------------
// 5. After git exchange everything agrees
// ---------------------------------------------------------------------------

#[test]
fn after_push_and_pull_all_workspaces_agree_and_no_close_is_undone() {
    let m = Arc::new(Machine::new(8));
    let race_ids: Vec<String> = m.ids[..5].to_vec();
    let attempts = race(&m, &race_ids, 2, "s");
    let winners = one_winner_each(&attempts, &race_ids);
    assert_recorded(&m, &winners);

    // A close after a claim elsewhere: the issue held in another workspace is
    // closed (closing needs no claim); the merge must keep it closed.
    let (held, holder) = winners
        .iter()
        .next()
        .map(|(i, a)| (i.clone(), a.clone()))
        .unwrap();
    let closer = [&m.a, &m.b, &m.wt]
        .into_iter()
        .find(|ws| **ws != holder.ws)
        .unwrap()
        .clone();
    m.bd(&closer, "closer", &["close", &held]).ok();
    // A close before a claim: the claim is refused, so nothing to undo.
    let early = m.ids[5].clone();
    m.bd(&m.b, "bob", &["close", &early]).ok();
    assert_eq!(m.bd(&m.a, "alice", &["claim", &early]).code, 3);
    assert_eq!(m.bd(&m.wt, "walt", &["claim", &early]).code, 3);
    // An ordinary claim by a single agent in the worktree.
    let solo = m.ids[6].clone();
    m.bd(&m.wt, "walt", &["claim", &solo]).ok();

    sync_all(&m);

    let a = records(&m.a);
    let b = records(&m.b);
    let wt = records(&m.wt);
    let summary = |r: &BTreeMap<String, Value>| -> BTreeMap<String, (String, String)> {
        r.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    (status_of(v).to_string(), assignee_of(v).to_string()),
                )
            })
            .collect()
    };
    assert_eq!(summary(&a), summary(&b), "A and B agree after the exchange");
    assert_eq!(summary(&a), summary(&wt), "A and the worktree agree");
    assert_eq!(
        std::fs::read_to_string(m.a.join(".beads/issues.jsonl")).unwrap(),
        std::fs::read_to_string(m.b.join(".beads/issues.jsonl")).unwrap(),
        "A and B hold the same bytes"
    );

    for (id, w) in &winners {
        if *id == held {
            continue;
        }
        assert_eq!(
            (status_of(&a[id]), assignee_of(&a[id])),
            ("in_progress", w.actor.as_str()),
            "{id} keeps its one holder after the merge"
        );
    }
    assert_eq!(
        status_of(&a[&held]),
        "closed",
        "the close of {held} is not undone by the claim"
    );
    assert_eq!(status_of(&a[&early]), "closed");
    assert_eq!(assignee_of(&a[&early]), "", "nobody holds {early}");
    assert_eq!(
        (status_of(&a[&solo]), assignee_of(&a[&solo])),
        ("in_progress", "walt")
    );
    assert_eq!(status_of(&a[&m.ids[7]]), "open");

    // After the exchange, the file and the ledger tell the same story everywhere.
    for (ws, who) in [(&m.a, "alice"), (&m.b, "bob"), (&m.wt, "walt")] {
        assert_eq!(
            ready(&m, ws, who),
            BTreeSet::from([m.ids[7].clone()]),
            "ready in {}",
            ws.display()
        );
        assert_eq!(m.bd(ws, who, &["claim", &held]).code, 3);
        assert_eq!(m.bd(ws, who, &["claim", &early]).code, 3);
    }
    // Still closed after those refusals and another exchange.
    sync_all(&m);
    for ws in [&m.a, &m.b, &m.wt] {
        let r = records(ws);
        assert_eq!(status_of(&r[&held]), "closed", "{}", ws.display());
        assert_eq!(status_of(&r[&early]), "closed", "{}", ws.display());
    }
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

#[test]
fn agents_register_heartbeat_and_presence_states() {
    let m = Machine::new(3);
    m.bd(&m.a, "x", &["config", "set", "lease", "15m"]).ok();
    for ws in [&m.b, &m.wt] {
        m.bd(ws, "x", &["config", "set", "lease", "15m"]).ok();
    }

    let t0 = at_min(0);
    let r = m
        .bd_at(
            &m.a,
            Some("claude-1"),
            &t0,
            &["agent", "register", "claude-1", "--kind", "claude"],
        )
        .ok();
    assert!(r.stderr.contains("claude-1"), "{r:?}");
    let first = agent_file(&m, "claude-1");
    assert_eq!(first["kind"], "claude");
    // Registering again (later) is idempotent: registered_at stays.
    let t1 = at_min(1);
    m.bd_at(
        &m.a,
        Some("claude-1"),
        &t1,
        &["agent", "register", "claude-1", "--kind", "claude"],
    )
    .ok();
    let second = agent_file(&m, "claude-1");
    assert_eq!(second["registered_at"], first["registered_at"]);
    assert_eq!(second["kind"], "claude");
    let r = m.bd_at(&m.a, None, &t1, &["--json", "agents"]).ok().json();
    let named = r
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["name"] == "claude-1")
        .count();
    assert_eq!(named, 1, "one agent after two registrations: {r}");

    // Heartbeat with a note: online, note shown.
    let t2 = at_min(2);
    m.bd_at(
        &m.a,
        Some("claude-1"),
        &t2,
        &["heartbeat", "--note", "working on X"],
    )
    .ok();
    let agents = agents_at(&m, &m.a, &t2);
    let c = &agents["claude-1"];
    assert_eq!(c["state"], "online", "{c}");
    assert_eq!(c["note"], "working on X", "{c}");
    assert_eq!(c["kind"], "claude", "{c}");
    assert_eq!(
        time::parse(c["last_heartbeat"].as_str().unwrap()),
        time::parse(&t2)
    );
    for k in [
        "name",
        "kind",
        "state",
        "workspace",
        "last_heartbeat",
        "note",
        "claims",
        "hook",
    ] {
        assert!(c.get(k).is_some(), "agents --json has {k}: {c}");
    }
    // Seen from another workspace, the same.
    assert_eq!(agents_at(&m, &m.b, &t2)["claude-1"]["state"], "online");

    // Lease 15m: online < 5m, stale < 15m, offline after.
    assert_eq!(
        agents_at(&m, &m.a, &at_min(2 + 4))["claude-1"]["state"],
        "online"
    );
    assert_eq!(
        agents_at(&m, &m.a, &at_min(2 + 10))["claude-1"]["state"],
        "stale"
    );
    assert_eq!(
        agents_at(&m, &m.wt, &at_min(2 + 20))["claude-1"]["state"],
        "offline"
    );
    // Looking does not refresh: still offline.
    assert_eq!(
        agents_at(&m, &m.a, &at_min(2 + 20))["claude-1"]["state"],
        "offline"
    );

    // Any command with the explicit actor refreshes the heartbeat...
    let t30 = at_min(30);
    m.bd_at(&m.a, Some("claude-1"), &t30, &["list"]).ok();
    let c = &agents_at(&m, &m.a, &t30)["claude-1"];
    assert_eq!(c["state"], "online", "{c}");
    assert_eq!(
        c["note"], "working on X",
        "a plain heartbeat keeps the note: {c}"
    );
    // ... throttled to once per 30 s ...
    let t30_10s = time::format(time::parse(&t30).unwrap() + 10_000_000_000);
    m.bd_at(&m.a, Some("claude-1"), &t30_10s, &["list"]).ok();
    assert_eq!(
        time::parse(
            agent_file(&m, "claude-1")["last_heartbeat"]
                .as_str()
                .unwrap()
        ),
        time::parse(&t30),
        "a heartbeat 10 s after the last one is not written"
    );
    let t31 = at_min(31);
    m.bd_at(&m.a, Some("claude-1"), &t31, &["list"]).ok();
    assert_eq!(
        time::parse(
            agent_file(&m, "claude-1")["last_heartbeat"]
                .as_str()
                .unwrap()
        ),
        time::parse(&t31)
    );
    // ... and a command without an explicit actor refreshes nobody.
    m.bd_at(&m.a, None, &at_min(50), &["list"]).ok();
    assert_eq!(
        agents_at(&m, &m.a, &at_min(50))["claude-1"]["state"],
        "offline"
    );

    // Claims across workspaces: one in B, one in the worktree, both listed.
    let t60 = at_min(60);
    m.bd_at(&m.b, Some("claude-1"), &t60, &["claim", &m.ids[0]])
        .ok();
    m.bd_at(&m.wt, Some("claude-1"), &t60, &["claim", &m.ids[1]])
        .ok();
    m.bd_at(&m.b, Some("other"), &t60, &["claim", &m.ids[2]])
        .ok();
    for ws in [&m.a, &m.b, &m.wt] {
        let agents = agents_at(&m, ws, &t60);
        let claims: BTreeSet<String> = agents["claude-1"]["claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            claims,
            BTreeSet::from([m.ids[0].clone(), m.ids[1].clone()]),
            "claims of claude-1 seen from {}",
            ws.display()
        );
        assert_eq!(agents["other"]["claims"], serde_json::json!([m.ids[2]]));
    }
    // Released claims drop out of the column.
    m.bd_at(&m.b, Some("claude-1"), &t60, &["unclaim", &m.ids[0]])
        .ok();
    assert_eq!(
        agents_at(&m, &m.a, &t60)["claude-1"]["claims"],
        serde_json::json!([m.ids[1]])
    );
}

#[test]
fn agent_names_keep_their_spelling_refuse_lookalikes_and_hostile_names_stay_home() {
    let m = Machine::new(1);
    m.bd(
        &m.a,
        "reg",
        &["agent", "register", "Dave", "--kind", "human"],
    )
    .ok();
    // `dave` folds like `Dave` (issue 9 item 4): refused, not a second agent.
    let r = m.bd(
        &m.a,
        "reg",
        &["agent", "register", "dave", "--kind", "claude"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("too like the registered agent \"Dave\""),
        "{}",
        r.stderr
    );
    let agents = m.json(&m.a, "reg", &["agents"]);
    let kinds: BTreeMap<String, String> = agents
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds.get("Dave").map(String::as_str),
        Some("human"),
        "{agents}"
    );
    assert_eq!(kinds.get("dave"), None, "{agents}");

    let agents_dir = m.project_dir().join("agents");
    for name in [
        "../x",
        "../../../../x",
        "..",
        ".",
        "a/../../x",
        "a\\..\\x",
        "/tmp/x",
        " x",
        "",
    ] {
        let r = m.bd(
            &m.a,
            "reg",
            &["agent", "register", name, "--kind", "claude"],
        );
        match r.code {
            0 => {
                // Stored: in a file of its own directly in agents/.
                let stored = std::fs::read_dir(&agents_dir).unwrap().flatten().any(|e| {
                    e.path().extension().is_some_and(|x| x == "json")
                        && std::fs::read_to_string(e.path())
                            .ok()
                            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                            .is_some_and(|v| v["name"] == name)
                });
                assert!(stored, "{name:?} registered, so stored in agents/: {r:?}");
            }
            _ => {
                assert!(
                    r.stderr.contains("agent name"),
                    "refusal of {name:?} is clear: {r:?}"
                );
                assert_ne!(r.code, 3, "{r:?}");
            }
        }
    }
    // Every file in BD_HOME is in the project's folder; agent files directly in agents/.
    let project = m.project_dir();
    for f in files_under(m.home()) {
        assert!(
            f.starts_with(&project),
            "outside the project home: {}",
            f.display()
        );
        if f.starts_with(&agents_dir) {
            assert_eq!(f.parent(), Some(agents_dir.as_path()), "{}", f.display());
        }
    }
    // And nothing named x.* appeared anywhere in the temp dir but agents/.
    for f in files_under(m.env.tmp.path()) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("x.") || name == "x" {
            panic!("hostile name escaped: {}", f.display());
        }
    }
}

// ---------------------------------------------------------------------------
// 7. Robustness: corrupt ledger, deleted BD_HOME, unwritable BD_HOME
// ---------------------------------------------------------------------------

#[test]
fn corrupt_ledger_is_moved_aside_and_claims_still_serialize() {
    let m = Arc::new(Machine::new(4));
    m.bd(&m.b, "bob", &["claim", &m.ids[0]]).ok();
    let path = m.project_dir().join("ledger.json");
    std::fs::write(&path, b"\x00garbage{{{ not json").unwrap();

    let r = m.bd(&m.a, "alice", &["claim", &m.ids[1]]).ok();
    assert!(claimed(&r, &m.ids[1]), "{r:?}");
    assert!(
        r.stderr.contains("warning") && r.stderr.contains("ledger"),
        "a warning about the ledger: {}",
        r.stderr
    );
    let aside: Vec<PathBuf> = files_under(&m.project_dir())
        .into_iter()
        .filter(|f| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ledger.json.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "the corrupt ledger moved aside: {aside:?}");
    assert_eq!(
        std::fs::read(&aside[0]).unwrap(),
        b"\x00garbage{{{ not json",
        "kept verbatim"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .expect("a new, valid ledger");
    assert!(v["entries"].is_array());
    // The new claim is recorded and seen elsewhere.
    assert_refused_by(
        &m.bd(&m.wt, "walt", &["claim", &m.ids[1]]),
        "alice",
        &m.canon(&m.a),
    );
    // Read commands keep working and print no further warning.
    let r = m.bd(&m.b, "bob", &["ready"]).ok();
    assert!(!r.stderr.contains("corrupt"), "{}", r.stderr);

    // Garbage again, then a race: every process finds it corrupt at once.
    std::fs::write(&path, b"]]]").unwrap();
    let ids = vec![m.ids[2].clone(), m.ids[3].clone()];
    let attempts = race(&m, &ids, 2, "c");
    one_winner_each(&attempts, &ids);
}

/// SPEC §7: "Missing or corrupt ledger/registry: rebuilt from this workspace,
/// `git worktree list`, and the JSONL of every registered workspace." A claim
/// made in B before the ledger was corrupted must still be honored in A.
#[test]
fn corrupt_ledger_is_rebuilt_from_registered_workspaces() {
    let m = Machine::new(2);
    m.bd(&m.b, "bob", &["claim", &m.ids[0]]).ok();
    m.bd(&m.wt, "walt", &["claim", &m.ids[1]]).ok();
    std::fs::write(m.project_dir().join("ledger.json"), b"garbage").unwrap();
    assert_refused_by(
        &m.bd(&m.a, "alice", &["claim", &m.ids[0]]),
        "bob",
        &m.canon(&m.b),
    );
    assert_refused_by(
        &m.bd(&m.a, "alice", &["claim", &m.ids[1]]),
        "walt",
        &m.canon(&m.wt),
    );
}

#[test]
fn deleted_bd_home_is_recreated_by_the_next_command() {
    let m = Machine::new(3);
    m.bd(&m.b, "bob", &["claim", &m.ids[0]]).ok();
    std::fs::remove_dir_all(m.home()).unwrap();

    // Known limit: claims recorded only in the deleted ledger and held in a
    // clone that has not run a command since (here bob's claim of ids[0] in B)
    // are invisible to the other workspaces until that clone runs a command
    // (which registers it again, so its JSONL feeds the rebuilt ledger). A
    // worktree of the current workspace is found through `git worktree list`.
    let r = m.bd(&m.a, "alice", &["claim", &m.ids[1]]).ok();
    assert!(claimed(&r, &m.ids[1]), "{r:?}");
    assert!(m.home().is_dir(), "BD_HOME recreated");
    assert!(m.project_dir().join("ledger.json").is_file());
    // New claims serialize again through the new ledger.
    assert_refused_by(
        &m.bd(&m.b, "bob", &["claim", &m.ids[1]]),
        "alice",
        &m.canon(&m.a),
    );
    assert_refused_by(
        &m.bd(&m.wt, "walt", &["claim", &m.ids[1]]),
        "alice",
        &m.canon(&m.a),
    );
    assert!(!ready(&m, &m.wt, "walt").contains(&m.ids[1]));
    m.bd(&m.wt, "walt", &["claim", &m.ids[2]]).ok();
    assert_refused_by(
        &m.bd(&m.b, "bob", &["claim", &m.ids[2]]),
        "walt",
        &m.canon(&m.wt),
    );
}

/// The other half of the known limit above: once B has run a command again,
/// its claim is visible to A (SPEC §7 rebuild from registered workspaces).
#[test]
fn deleted_bd_home_claims_reappear_once_the_holder_runs_a_command() {
    let m = Machine::new(2);
    m.bd(&m.b, "bob", &["claim", &m.ids[0]]).ok();
    m.bd(&m.a, "alice", &["claim", &m.ids[1]]).ok();
    std::fs::remove_dir_all(m.home()).unwrap();
    m.bd(&m.b, "bob", &["ready"]).ok();
    assert_refused_by(
        &m.bd(&m.wt, "walt", &["claim", &m.ids[0]]),
        "bob",
        &m.canon(&m.b),
    );
    // A's own claim: A is this worktree's main workspace (`git worktree list`).
    assert_refused_by(
        &m.bd(&m.wt, "walt", &["claim", &m.ids[1]]),
        "alice",
        &m.canon(&m.a),
    );
}

#[test]
fn unwritable_bd_home_fails_clearly_unless_coordination_is_workspace() {
    let env = TestEnvironment::new();
    let id = env.create("work", &[]);
    let bad = [("BD_HOME", "/dev/null/x")];

    let r = env.bd_env(&["claim", &id], &bad);
    assert_ne!(r.code, 0, "claim without a usable home fails: {r:?}");
    assert!(
        r.stderr.contains("BD_HOME"),
        "the error mentions BD_HOME: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("coordination"),
        "and the workspace-only way out: {}",
        r.stderr
    );
    let rec = env.record(&id);
    assert_eq!(status_of(&rec), "open", "nothing claimed");
    // Read commands still work (with at most a warning).
    let r = env.bd_env(&["--json", "ready"], &bad).ok();
    assert!(ids_of(&r.json()).contains(&id));

    env.bd_env(&["config", "set", "coordination", "workspace"], &bad)
        .ok();
    let r = env.bd_env(&["claim", &id], &bad).ok();
    assert!(claimed(&r, &id), "{r:?}");
    let rec = env.record(&id);
    assert_eq!(
        (status_of(&rec), assignee_of(&rec)),
        ("in_progress", env.actor.as_str())
    );
    // Workspace-only: no project home is written, even with a good BD_HOME.
    let id2 = env.create("more", &[]);
    let snapshot = |home: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        files_under(home)
            .into_iter()
            .map(|f| {
                let bytes = std::fs::read(&f).unwrap_or_default();
                (f, bytes)
            })
            .collect()
    };
    let before = snapshot(&env.home);
    env.bd(&["claim", &id2]).ok();
    env.bd(&["close", &id2]).ok();
    assert!(
        snapshot(&env.home) == before,
        "coordination = workspace writes nothing in the project home"
    );
    // Agents need the home: a clear refusal, not a crash.
    let r = env.bd(&["agents"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("workspace"), "{}", r.stderr);
}

/// An agent that registered successfully is listed by `bd agents` (names are
/// escaped into file names, so a name starting with `.` gives a file name
/// starting with `.` too; it must not be mistaken for a temp file).
#[test]
fn every_registered_agent_is_listed() {
    let m = Machine::new(1);
    for name in ["../x", ".hidden", "dave/vc"] {
        let r = m.bd(&m.a, "x", &["agent", "register", name, "--kind", "claude"]);
        if r.code != 0 {
            continue; // refusing is fine; registering and then hiding is not
        }
        let agents = m.json(&m.a, "x", &["agents"]);
        assert!(
            agents.as_array().unwrap().iter().any(|a| a["name"] == name),
            "{name:?} was registered ({}), so `bd agents` lists it: {agents}",
            r.stderr.trim()
        );
    }
}

// ---------------------------------------------------------------------------
// Hooks: sling in one workspace, seen by the agent in another at once; a new
// process (after a crash) still sees it; hook files of two clones merge.
// ---------------------------------------------------------------------------

#[test]
fn slung_work_is_seen_in_other_workspaces_and_survives_restarts() {
    let m = Machine::new(3);
    let id = m.ids[1].clone();
    m.bd(
        &m.a,
        "mayor",
        &["sling", &id, "worker-1", "--note", "start here"],
    )
    .ok();
    let hook: Value = serde_json::from_str(
        &std::fs::read_to_string(m.a.join(".beads/hooks/worker-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(hook["items"], serde_json::json!([id]));
    assert_eq!(hook["attached_by"], "mayor");
    // The agent works in B: its hook shows there at once (no push or pull).
    let h = m.json(&m.b, "worker-1", &["hook"]);
    assert_eq!(h["items"], serde_json::json!([id]));
    // A fresh process, as after a kill -9 and a restart, primes with the hook.
    let p = m.json(&m.b, "worker-1", &["prime"]);
    assert_eq!(p["hook"][0]["id"], id.as_str());
    let text = m.bd(&m.b, "worker-1", &["prime"]).ok().stdout;
    assert!(text.contains("Hook (1)") && text.contains(&id), "{text}");
    assert!(
        text.len() <= 1536,
        "prime is at most 1.5 KB: {} bytes",
        text.len()
    );
    // Another agent cannot take it; the hooked agent can claim it.
    let r = m.bd(&m.wt, "worker-2", &["claim", &id]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("worker-1"), "{}", r.stderr);
    assert!(!ready(&m, &m.b, "worker-2").contains(&id));
    m.bd(&m.b, "worker-1", &["claim", &id]).ok();
    assert_eq!(
        m.json(&m.b, "worker-1", &["hook"])["items"],
        serde_json::json!([]),
        "a claimed item leaves the hook"
    );
}

#[test]
fn unhook_returns_the_work_and_hook_files_merge_as_sets() {
    let m = Machine::new(3);
    let (x, y) = (m.ids[1].clone(), m.ids[2].clone());
    m.bd(&m.a, "mayor", &["sling", &x, "worker-1"]).ok();
    m.bd(&m.a, "mayor", &["sling", &x, "worker-1"]).ok(); // nothing changed
    m.bd(&m.a, "worker-1", &["unhook", &x]).ok();
    assert_eq!(status_of(&records(&m.a)[&x]), "open");
    assert!(!m.a.join(".beads/hooks/worker-1.json").exists());
    let r = m.bd(&m.a, "worker-1", &["unhook", &x]);
    assert_eq!(r.code, 1, "removing what is not there: {r:?}");
    // Two clones sling different work to the same agent; after the sync the
    // hook file holds both, byte-identical in both clones.
    m.bd(&m.a, "mayor", &["sling", &x, "worker-1"]).ok();
    m.bd(
        &m.b,
        "mayor",
        &["--actor", "mayor", "sling", &y, "worker-1"],
    )
    .ok();
    sync_all(&m);
    let fa = std::fs::read(m.a.join(".beads/hooks/worker-1.json")).unwrap();
    let fb = std::fs::read(m.b.join(".beads/hooks/worker-1.json")).unwrap();
    let h: Value = serde_json::from_slice(&fa).unwrap();
    let mut want = vec![x.clone(), y.clone()];
    want.sort();
    assert_eq!(h["items"], serde_json::json!(want));
    assert_eq!(fa, fb, "both clones hold the same hook file");
    assert!(!String::from_utf8_lossy(&fa).contains("<<<<<<<"));
}

// ---------------------------------------------------------------------------
// Convoys: progress, landing with the last close, reopening.
// ---------------------------------------------------------------------------

#[test]
fn convoy_progress_landing_and_reopening() {
    let env = TestEnvironment::new();
    let a = env.create("a", &[]);
    let b = env.create("b", &[]);
    let c = env
        .bd(&["convoy", "create", "Release 1", &a, &b])
        .ok()
        .stdout
        .trim()
        .to_string();
    let s = env.json(&["convoy", "status", &c]);
    assert_eq!(
        (s["tracked"].as_u64(), s["done"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(s["by_status"]["open"]["percent"], 100.0);
    // A convoy is never ready work, and tracking does not block.
    assert!(!ids_of(&env.json(&["ready", "--limit", "0"])).contains(&c));
    assert!(ids_of(&env.json(&["ready", "--limit", "0"])).contains(&a));
    env.bd(&["close", &a]).ok();
    let s = env.json(&["convoy", "status", &c]);
    assert_eq!(s["percent_done"], 50.0);
    assert_eq!(status_of(&env.record(&c)), "open");
    // The last close lands the convoy in the same write: one command, and the
    // file never shows the item closed with the convoy open.
    let before = env.issues_text();
    let r = env.bd(&["close", &b]).ok();
    assert!(r.stderr.contains("landed"), "{}", r.stderr);
    assert_eq!(status_of(&env.record(&c)), "closed");
    assert_ne!(before, env.issues_text());
    let list = env.json(&["convoy", "list"]);
    assert_eq!(list[0]["percent_done"], 100.0);
    // An open item added reopens it; a closed one does not.
    let d = env.create("d", &[]);
    env.bd(&["convoy", "add", &c, &d]).ok();
    assert_eq!(status_of(&env.record(&c)), "open");
    let r = env.bd(&["convoy", "add", &c, &d]).ok();
    assert!(r.stderr.contains("Nothing changed"), "{}", r.stderr);
    let r = env.bd(&["convoy", "status", &a]);
    assert_eq!(r.code, 1, "not a convoy: {r:?}");
}

// ---------------------------------------------------------------------------
// Dispatch: fairness, per-agent limits, no item twice, lapsed claims recovered.
// ---------------------------------------------------------------------------

#[test]
fn dispatch_is_fair_limited_and_recovers_lapsed_claims() {
    let env = TestEnvironment::new();
    let t0 = "2030-01-01T00:00:00Z";
    let at = |min: i64| format!("2030-01-01T00:{min:02}:00Z");
    let mut ids = Vec::new();
    for i in 0..50 {
        let p = (i % 5).to_string();
        let r = env
            .bd_at(t0, &["create", &format!("work {i}"), "-p", &p])
            .ok();
        ids.push(r.stdout.trim().to_string());
    }
    for a in 0..5 {
        env.bd_at(
            t0,
            &[
                "agent",
                "register",
                &format!("agent-{a}"),
                "--kind",
                "claude",
            ],
        )
        .ok();
    }
    // Dry run plans without writing.
    let before = env.issues_text();
    let plan = env
        .bd_at(
            &at(1),
            &["--json", "dispatch", "--dry-run", "--per-agent", "2"],
        )
        .ok()
        .json();
    assert_eq!(plan["slung"].as_array().unwrap().len(), 10);
    assert_eq!(env.issues_text(), before, "a dry run writes nothing");
    // One round: 5 agents x 2, the highest priorities first, evenly spread.
    let plan = env
        .bd_at(&at(1), &["--json", "dispatch", "--per-agent", "2"])
        .ok()
        .json();
    let slung = plan["slung"].as_array().unwrap();
    assert_eq!(slung.len(), 10);
    assert_eq!(plan["left"], 40);
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for s in slung {
        let (id, agent) = (s[0].as_str().unwrap(), s[1].as_str().unwrap());
        assert!(seen.insert(id.to_string()), "{id} slung twice");
        *per.entry(agent.to_string()).or_default() += 1;
        let rec = env.record(id);
        assert_eq!(status_of(&rec), "hooked");
        assert_eq!(assignee_of(&rec), agent);
        assert_eq!(rec["priority"], 0, "priority order: P0 first");
    }
    assert_eq!(per.len(), 5);
    assert!(per.values().all(|n| *n == 2), "{per:?}");
    // A second round at the limit slings nothing more.
    let plan = env
        .bd_at(&at(2), &["--json", "dispatch", "--per-agent", "2"])
        .ok()
        .json();
    assert_eq!(plan["slung"].as_array().unwrap().len(), 0);
    // agent-0 claims one of its items, then goes silent past the lease; the
    // others keep heart-beating. Dispatch recovers the claim and slings it on.
    let mine = slung.iter().find(|s| s[1] == "agent-0").unwrap()[0]
        .as_str()
        .unwrap()
        .to_string();
    env.bd_at(&at(3), &["--actor", "agent-0", "claim", &mine])
        .ok();
    env.bd_env(&["config", "set", "lease", "15m"], &[]).ok();
    for a in 1..5 {
        env.bd_at(&at(25), &["--actor", &format!("agent-{a}"), "heartbeat"])
            .ok();
    }
    env.bd_at(
        &at(25),
        &[
            "--actor", "agent-9", "agent", "register", "--kind", "claude",
        ],
    )
    .ok();
    let shown = env.bd_at(&at(26), &["--json", "show", &mine]).ok().json();
    assert_eq!(
        shown["lapsed"], true,
        "show reports the lapsed claim: {shown}"
    );
    let explained = env
        .bd_at(&at(26), &["--json", "ready", "--explain"])
        .ok()
        .json();
    assert_eq!(explained["lapsed"][0]["id"], mine.as_str(), "{explained}");
    assert_eq!(explained["lapsed"][0]["holder"], "agent-0");
    assert!(explained["ready"].is_array());
    let shown = env.bd_at(&at(4), &["--json", "show", &mine]).ok().json();
    assert_eq!(shown["lapsed"], false);
    let plan = env
        .bd_at(&at(26), &["--json", "dispatch", "--per-agent", "3"])
        .ok()
        .json();
    let recovered = plan["recovered"].as_array().unwrap();
    assert_eq!(recovered.len(), 1, "{plan}");
    assert_eq!(recovered[0][0], mine.as_str());
    assert_eq!(recovered[0][1], "agent-0");
    assert!(
        plan["slung"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s[1] != "agent-0"),
        "no work to the silent agent: {plan}"
    );
    let rec = env.record(&mine);
    assert_ne!(assignee_of(&rec), "agent-0");
    assert!(rec["comments"].to_string().contains("recovered"), "{rec}");
    // The silent agent comes back and is told why.
    let r = env.bd_at(&at(27), &["--actor", "agent-0", "close", &mine]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("recovered"), "{}", r.stderr);
}

#[test]
fn a_claim_lost_to_git_reset_is_still_reported_from_the_ledger() {
    let m = Machine::new(2);
    let id = m.ids[1].clone();
    m.bd(&m.b, "bob", &["claim", &id]).ok();
    // B throws its uncommitted tracker change away.
    git(&m.b, &["reset", "-q", "--hard"]);
    assert_eq!(
        status_of(&records(&m.b)[&id]),
        "open",
        "the file lost the claim"
    );
    // The machine still knows: B's own show reports the hold, and nobody
    // else (in B or elsewhere) can take the issue.
    let shown = m.json(&m.b, "carol", &["show", &id]);
    assert_eq!(shown["effective"]["state"], "held", "{shown}");
    assert_eq!(shown["effective"]["holder"], "bob");
    let r = m.bd(&m.b, "carol", &["claim", &id]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("bob"), "{}", r.stderr);
    assert!(!ready(&m, &m.a, "alice").contains(&id));
    // Bob can claim it again and carry on.
    m.bd(&m.b, "bob", &["claim", &id]).ok();
    assert_eq!(assignee_of(&records(&m.b)[&id]), "bob");
}

// ---------------------------------------------------------------------------
// Deliveries materialize on the agent's next write; the ledger is pruned once
// every workspace shows its entries; a watch loop stops on SIGTERM/SIGINT.
// ---------------------------------------------------------------------------

#[test]
fn the_agents_next_write_materializes_deliveries_into_its_hook_file() {
    let m = Machine::new(3);
    let id = m.ids[1].clone();
    m.bd(&m.a, "mayor", &["sling", &id, "worker-1"]).ok();
    let deliveries = m.project_dir().join("deliveries/worker-1.json");
    assert!(deliveries.exists(), "the sling left a delivery");
    let in_b = m.b.join(".beads/hooks/worker-1.json");
    assert!(!in_b.exists());
    // A read in B does not materialize anything.
    m.json(&m.b, "worker-1", &["hook"]);
    assert!(!in_b.exists() && deliveries.exists());
    // The agent's next write there does, and the delivery is acknowledged.
    m.bd(&m.b, "worker-1", &["create", "a note to self"]).ok();
    let h: Value = serde_json::from_str(&std::fs::read_to_string(&in_b).unwrap()).unwrap();
    assert_eq!(h["items"], serde_json::json!([id]));
    assert_eq!(h["attached_by"], "mayor");
    assert!(!deliveries.exists(), "the delivery is acknowledged");
    // The effective hook is unchanged by materializing.
    assert_eq!(
        m.json(&m.wt, "worker-1", &["hook"])["items"],
        serde_json::json!([id])
    );
}

#[test]
fn ledger_entries_are_pruned_once_every_workspace_shows_them() {
    let m = Machine::new(3);
    let (x, y) = (m.ids[1].clone(), m.ids[2].clone());
    m.bd(&m.a, "ann", &["claim", &x]).ok();
    m.bd(&m.a, "ann", &["claim", &y]).ok();
    let ledger = |m: &Machine| -> Value {
        serde_json::from_str(&std::fs::read_to_string(m.project_dir().join("ledger.json")).unwrap())
            .unwrap()
    };
    let has = |v: &Value, id: &str| v.to_string().contains(&format!("\"{id}\""));
    assert!(has(&ledger(&m), &x) && has(&ledger(&m), &y));
    // Only A's file shows the claims: doctor --fix keeps both entries.
    m.bd(&m.a, "ann", &["doctor", "--fix"]).ok();
    assert!(has(&ledger(&m), &x) && has(&ledger(&m), &y));
    // After a sync every workspace shows them (the worktree shares A's
    // branch history once it merges main).
    sync_all(&m);
    git_bd(&m.wt, &["merge", "-q", "--no-edit", "main"]);
    for ws in [&m.a, &m.b, &m.wt] {
        assert_eq!(
            status_of(&records(ws)[&x]),
            "in_progress",
            "{}",
            ws.display()
        );
    }
    let r = m.bd(&m.a, "ann", &["doctor", "--fix"]).ok();
    assert!(r.stderr.contains("Pruned 2 ledger entries"), "{}", r.stderr);
    assert!(!has(&ledger(&m), &x) && !has(&ledger(&m), &y));
    // Claims stay exclusive without the entries: the files carry them now.
    let r = m.bd(&m.b, "bob", &["claim", &x]);
    assert_eq!(r.code, 3, "{r:?}");
}

#[test]
fn a_dispatch_watch_loop_stops_cleanly_on_sigterm_and_sigint() {
    let m = Machine::new(2);
    for sig in ["-TERM", "-INT"] {
        let child = m
            .cmd(&m.a, "mayor", &["dispatch", "--watch", "--interval", "30"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Let it finish a round and go to sleep.
        std::thread::sleep(std::time::Duration::from_millis(700));
        let k = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(k.success());
        let started = std::time::Instant::now();
        let out = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "it did not wait out the interval"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{sig}: {stderr}");
        assert!(stderr.contains("Stopped after 1 round(s)"), "{stderr}");
    }
    // Files are whole: the tracker parses, and a normal command works.
    m.json(&m.a, "mayor", &["list"]);
}

#[test]
fn prime_stays_under_1_5_kb_for_an_agent_holding_a_lot() {
    let m = Machine::new(14);
    m.bd(&m.a, "w", &["agent", "register"]).ok();
    m.bd(&m.a, "boss", &["agent", "register"]).ok();
    for id in &m.ids[1..8] {
        m.bd(&m.a, "boss", &["sling", id, "w"]).ok();
    }
    for id in &m.ids[8..12] {
        m.bd(&m.b, "w", &["claim", id]).ok();
    }
    for i in 0..6 {
        let subject = format!("a rather long subject line for message number {i} to see the cut");
        m.bd(&m.a, "boss", &["mail", "send", "--to", "w", "-s", &subject])
            .ok();
    }
    let text = m.bd(&m.a, "w", &["prime"]).ok().stdout;
    assert!(text.len() <= 1536, "{} bytes:\n{text}", text.len());
    assert!(
        text.contains("Hook (7)") && text.contains("… 4 more (bd hook)"),
        "{text}"
    );
    assert!(
        text.contains("Claims (4)") && text.contains("Unread mail (6)"),
        "{text}"
    );
    // The JSON has every item.
    let j = m.json(&m.a, "w", &["prime"]);
    assert_eq!(j["hook"].as_array().unwrap().len(), 7);
    assert_eq!(j["claims"].as_array().unwrap().len(), 4);
    assert_eq!(j["unread_mail"], 6);
}

#[test]
fn hook_and_unhook_refuse_names_that_cannot_be_agents() {
    let m = Machine::new(1);
    for bad in ["", "a@b", " pad", "x\ny"] {
        let r = m.bd(&m.a, "w", &["--json", "hook", bad]);
        assert_eq!(r.code, 1, "hook {bad:?}: {r:?}");
        assert_eq!(r.json()["code"], "invalid");
        let r = m.bd(&m.a, "w", &["--json", "unhook", "--agent", bad]);
        assert_eq!(r.code, 1, "unhook {bad:?}: {r:?}");
    }
}

#[test]
fn a_hook_survives_kill_9_of_the_agents_session() {
    use std::os::unix::process::CommandExt;
    let m = Machine::new(3);
    let id = m.ids[1].clone();
    // The agent's session in B: a loop of bd commands (heartbeats and reads,
    // each a write or a read of the home and the tracker), killed with
    // SIGKILL at arbitrary moments, some mid-command.
    let session = |m: &Machine| {
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while true; do '{bd}' heartbeat --note working >/dev/null 2>&1; '{bd}' hook >/dev/null 2>&1; '{bd}' create 'note from the session' >/dev/null 2>&1; done",
                bd = common::BD
            ))
            .current_dir(&m.b)
            .env("BD_HOME", m.home())
            .env("HOME", m.home())
            .env("BD_ACTOR", "worker")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            // Its own process group, so the kill reaches the bd it runs.
            .process_group(0)
            .spawn()
            .unwrap()
    };
    for round in 0..4u64 {
        let mut s = session(&m);
        if round == 1 {
            m.bd(&m.a, "mayor", &["sling", &id, "worker"]).ok();
        }
        std::thread::sleep(std::time::Duration::from_millis(150 + round * 37));
        let group = format!("-{}", s.id());
        assert!(
            Command::new("kill")
                .args(["-9", "--", &group])
                .status()
                .unwrap()
                .success()
        );
        let _ = s.wait();
    }
    // The restarted agent primes with its hook; every file is whole.
    let p = m.json(&m.b, "worker", &["prime"]);
    assert_eq!(p["hook"][0]["id"], id.as_str(), "{p}");
    for ws in [&m.a, &m.b] {
        records(ws);
    }
    let hook = m.b.join(".beads/hooks/worker.json");
    if hook.exists() {
        let h: Value = serde_json::from_str(&std::fs::read_to_string(&hook).unwrap()).unwrap();
        assert_eq!(h["items"], serde_json::json!([id]));
    }
    for f in files_under(&m.project_dir()) {
        if f.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(
                serde_json::from_str::<Value>(&text).is_ok(),
                "{} is whole: {text}",
                f.display()
            );
        }
    }
    m.bd(&m.b, "worker", &["claim", &id]).ok();
}

//! Issue 9, coordination items (8, 11, 13, 14, 15, 16 and parts of 18), end
//! to end through the real `bd` binary: clones and worktrees of one remote
//! sharing one `BD_HOME` (one machine), a bare remote and `bd sync` where the
//! item is about merges.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Machine, Run, git, run_of};
use serde_json::{Value, json};

/// Commit and push A's issues, then pull them into B.
fn share(m: &Machine) {
    git(&m.a, &["add", "-A"]);
    git(&m.a, &["commit", "-q", "-m", "issues"]);
    git(&m.a, &["push", "-q", "origin", "main"]);
    m.bd(&m.b, "tester", &["sync"]).ok();
}

fn ledger(m: &Machine) -> Value {
    let p = m.project_dir().join("ledger.json");
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|_| b"{}".to_vec())).unwrap()
}

fn ledger_event(m: &Machine, id: &str) -> Option<Value> {
    ledger(m)["entries"]
        .as_array()?
        .iter()
        .find(|e| e["issue"] == id)
        .map(|e| e["event"].clone())
}

/// A workspace's record of `id`, straight from its `issues.jsonl`.
fn record(ws: &Path, id: &str) -> Value {
    std::fs::read_to_string(ws.join(".beads/issues.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {}", ws.display()))
}

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// Run `bd` in `ws` with files limited to `kib` KiB (RLIMIT_FSIZE, with
/// SIGXFSZ ignored so an oversized write fails with EFBIG like a full disk,
/// even for root).
fn bd_limited(m: &Machine, ws: &Path, actor: &str, kib: u32, args: &[&str]) -> Run {
    let c = m.cmd(ws, actor, args);
    let mut sh = Command::new("bash");
    sh.arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\""))
        .arg(c.get_program())
        .args(c.get_args())
        .env_clear();
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    sh.current_dir(ws).stdin(std::process::Stdio::null());
    run_of(sh.output().expect("bash runs"))
}

/// Pad the ledger with released entries of issues nobody has, so writing it
/// needs more than `kib` KiB.
fn pad_ledger(m: &Machine, n: usize) {
    let path = m.project_dir().join("ledger.json");
    let mut l = ledger(m);
    if l.get("entries").is_none() {
        l = json!({"entries": []});
    }
    let entries = l["entries"].as_array_mut().unwrap();
    for i in 0..n {
        entries.push(json!({
            "issue": format!("zz-pad{i:04}"),
            "event": {"kind": "released"},
            "at": "2026-12-06T00:00:00.000000000Z",
            "by": "padding",
            "workspace": "/nonexistent/padding/workspace/for/the/test",
            "epoch": 1
        }));
    }
    std::fs::write(path, serde_json::to_vec_pretty(&l).unwrap()).unwrap();
}

// ---------------------------------------------------------------------------
// Item 8: a command that fails leaves no half.
// ---------------------------------------------------------------------------

#[test]
fn item_08_failed_ledger_write_leaves_the_tracker_untouched() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "work", &[]);
    let y = m.create(&m.a, "more", &[]);
    m.bd(&m.a, "alice", &["claim", &y]).ok();
    m.bd(&m.a, "alice", &["close", &y]).ok();
    pad_ledger(&m, 200);
    let ledger_size = std::fs::metadata(m.project_dir().join("ledger.json"))
        .unwrap()
        .len();
    let tracker_size = std::fs::metadata(m.a.join(".beads/issues.jsonl"))
        .unwrap()
        .len();
    assert!(ledger_size > 32 * 1024 && tracker_size < 8 * 1024);

    // The ledger cannot be written (EFBIG, as ENOSPC): each command fails and
    // the tracker does not move.
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["claim", &x],
        vec!["close", &x],
        vec!["delete", &x],
        vec!["reopen", &y],
        vec!["sling", &x, "bob"],
    ];
    for args in &cases {
        let r = bd_limited(&m, &m.a, "alice", 16, args);
        assert_ne!(r.code, 0, "{args:?} must fail: {}", r.stderr);
        assert_eq!(
            std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
            before,
            "{args:?} failed and left the tracker as it was: {}",
            r.stderr
        );
    }
    assert_eq!(record(&m.a, &x)["status"], "open");
    assert!(record(&m.a, &x).get("assignee").is_none());
    // Nobody is locked out by the failed claim: bob claims X at once.
    m.bd(&m.b, "bob", &["sync"]).ok();
    m.bd(&m.a, "bob", &["claim", &x]).ok();

    // Claimed, then an unclaim whose ledger write fails keeps the claim.
    let r = bd_limited(&m, &m.a, "bob", 16, &["unclaim", &x]);
    assert_ne!(r.code, 0);
    assert_eq!(record(&m.a, &x)["status"], "in_progress");
    assert_eq!(record(&m.a, &x)["assignee"], "bob");
}

#[test]
fn item_08_failed_tracker_write_takes_the_ledger_entry_back() {
    let m = Machine::new(0);
    // A tracker larger than the limit, a small ledger: the ledger is written
    // first, the tracker write fails, and the ledger entry is taken back.
    let big = "x".repeat(40 * 1024);
    let x = m.create(&m.a, "work", &["-d", &big]);
    let r = bd_limited(&m, &m.a, "alice", 16, &["claim", &x]);
    assert_ne!(r.code, 0, "the tracker write fails: {}", r.stderr);
    assert_eq!(record(&m.a, &x)["status"], "open");
    assert_eq!(ledger_event(&m, &x), None, "no claim left in the ledger");
    // Bob (another clone) is not told it is held.
    let bx = m.create(&m.b, "other", &[]);
    let _ = bx;
    m.bd(&m.a, "bob", &["claim", &x]).ok();
}

// ---------------------------------------------------------------------------
// Item 11: `update --status in_progress` does not lock everyone out.
// ---------------------------------------------------------------------------

#[test]
fn item_11_in_progress_without_holder_is_claimable() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "started the classic way", &[]);
    m.bd(&m.a, "alice", &["update", &x, "--status", "in_progress"])
        .ok();
    // No holder: anyone may claim it, the same actor included.
    m.bd(&m.a, "alice", &["claim", &x]).ok();
    let r = record(&m.a, &x);
    assert_eq!(
        (r["status"].as_str(), r["assignee"].as_str()),
        (Some("in_progress"), Some("alice"))
    );
    // Held now: bob is refused (exit 3).
    m.bd(&m.a, "bob", &["claim", &x]).code(3);

    // By its assignee, an in-progress item is a no-op claim.
    let y = m.create(&m.a, "assigned and started", &[]);
    m.bd(
        &m.a,
        "carol",
        &[
            "update",
            &y,
            "--status",
            "in_progress",
            "--assignee",
            "carol",
        ],
    )
    .ok();
    let r = m.bd(&m.a, "carol", &["claim", &y]).ok();
    assert!(r.stderr.contains("Nothing changed"), "{}", r.stderr);
    m.bd(&m.a, "dave", &["claim", &y]).code(3);
}

// ---------------------------------------------------------------------------
// Item 14: one ready set, whatever the command.
// ---------------------------------------------------------------------------

#[test]
fn item_14_every_view_agrees_on_ready_with_the_machines_claims() {
    let m = Machine::new(0);
    let six: Vec<String> = (0..6)
        .map(|i| m.create(&m.a, &format!("work {i}"), &[]))
        .collect();
    m.bd(&m.a, "tester", &["config", "set", "lease", "1s"]).ok();
    share(&m);
    // In clone B (same machine): bob claims two, closes one; carol, in A,
    // claims one whose lease then lapses, and B closes that one too.
    m.bd(&m.b, "bob", &["claim", &six[0]]).ok();
    m.bd(&m.b, "bob", &["claim", &six[1]]).ok();
    m.bd(&m.b, "bob", &["close", &six[2]]).ok();
    m.bd(&m.a, "carol", &["claim", &six[3]]).ok();
    m.bd(&m.b, "bob", &["close", &six[3], "--force"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(2100));

    // A's file still says six[0..3] are open; the machine says otherwise.
    let expect: Vec<String> = {
        let mut v = vec![six[4].clone(), six[5].clone()];
        v.sort();
        v
    };
    let ready = ids(&m.json(&m.a, "dave", &["ready", "--limit", "0"]));
    assert_eq!(ready, expect, "bd ready");
    let listed = ids(&m.json(&m.a, "dave", &["list", "-s", "ready"]));
    assert_eq!(listed, expect, "list -s ready");
    let count = m.json(&m.a, "dave", &["count", "-s", "ready"]);
    assert_eq!(count["count"], expect.len(), "count -s ready");
    let stats = m.json(&m.a, "dave", &["stats"]);
    assert_eq!(stats["ready_issues"], expect.len(), "stats");

    // show: closed elsewhere is not ready.
    let shown = m.bd(&m.a, "dave", &["show", &six[2]]).ok();
    assert!(
        shown.stdout.contains("Elsewhere") && !shown.stdout.contains("Ready: yes"),
        "{}",
        shown.stdout
    );
    let sj = m.json(&m.a, "dave", &["show", &six[2]]);
    let sj = if sj.is_array() { sj[0].clone() } else { sj };
    assert_eq!(sj["ready"], false);
    let sj = m.json(&m.a, "dave", &["show", &six[4]]);
    let sj = if sj.is_array() { sj[0].clone() } else { sj };
    assert_eq!(sj["ready"], true);

    // ready --explain offers no --steal on an issue closed elsewhere.
    let ex = m.bd(&m.a, "dave", &["ready", "--explain"]).ok();
    assert!(!ex.stdout.contains(&six[3]), "{}", ex.stdout);
    let exj = m.json(&m.a, "dave", &["ready", "--explain"]);
    assert_eq!(exj["lapsed"], json!([]));
}

// ---------------------------------------------------------------------------
// Item 13: after a claim lost in a merge, the loser's views and writes follow
// the winner.
// ---------------------------------------------------------------------------

#[test]
fn item_13_lost_claim_follows_the_winner() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "contended", &[]);
    share(&m);
    // Clone B is another machine: its own BD_HOME.
    let home2 = m.env.tmp.path().join("home2");
    std::fs::create_dir_all(&home2).unwrap();
    let on_b = |actor: &str, args: &[&str]| -> Run {
        let mut c = m.cmd(&m.b, actor, args);
        c.env("BD_HOME", &home2).env("HOME", &home2);
        run_of(c.output().unwrap())
    };
    m.bd(&m.a, "alice", &["claim", &x]).ok();
    on_b("bob", &["claim", &x]).ok();
    on_b("bob", &["sync"]).ok();
    let ra = m.bd(&m.a, "alice", &["sync"]).ok();
    let rb = on_b("bob", &["sync"]).ok();
    let winner = record(&m.a, &x)["assignee"].as_str().unwrap().to_string();
    assert_eq!(
        record(&m.b, &x)["assignee"],
        winner.as_str(),
        "both clones agree"
    );
    let (loser, sync_out) = if winner == "bob" {
        ("alice", &ra)
    } else {
        ("bob", &rb)
    };
    assert!(
        sync_out
            .stderr
            .contains(&format!("your claim on {x} was lost")),
        "{loser} is warned: {}",
        sync_out.stderr
    );
    let as_loser = |args: &[&str]| -> Run {
        if loser == "alice" {
            m.bd(&m.a, "alice", args)
        } else {
            on_b("bob", args)
        }
    };
    // Views: prime does not show it as held by the loser.
    let prime = as_loser(&["--json", "prime"]).ok().json();
    assert!(
        !prime["claims"].to_string().contains(&x),
        "prime of {loser}: {prime}"
    );
    let text = as_loser(&["prime"]).ok().stdout;
    assert!(!text.contains(&x), "{text}");
    // Writes: the loser cannot close over the winner's claim (exit 3).
    let r = as_loser(&["close", &x]).code(3);
    assert!(r.stderr.contains(&winner), "{}", r.stderr);
    assert_eq!(record(&m.a, &x)["status"], "in_progress");
    // The winner closes it.
    if winner == "alice" {
        m.bd(&m.a, "alice", &["close", &x]).ok();
    } else {
        on_b("bob", &["close", &x]).ok();
    }
}

// ---------------------------------------------------------------------------
// Item 16: one source for what is on a hook.
// ---------------------------------------------------------------------------

fn agent_entry(m: &Machine, ws: &Path, name: &str) -> Value {
    let all = m.json(ws, "mayor", &["agents"]);
    all.as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} in {all}"))
}

#[test]
fn item_16_hook_prime_and_agents_agree_and_show_the_note() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "slung with a note", &[]);
    let y = m.create(&m.a, "slung then unhooked elsewhere", &[]);
    share(&m);
    m.bd(&m.b, "bob", &["agent", "register"]).ok();
    m.bd(
        &m.a,
        "mayor",
        &["sling", &x, "bob", "--note", "start with the parser"],
    )
    .ok();
    // The note shows in `hook` and `prime`, here and in the other clone.
    for ws in [&m.a, &m.b] {
        let h = m.json(ws, "bob", &["hook", "bob"]);
        assert_eq!(h["items"], json!([x.clone()]), "{}", ws.display());
        assert_eq!(h["note"], "start with the parser", "{}", ws.display());
        let t = m.bd(ws, "bob", &["hook", "bob"]).ok().stdout;
        assert!(t.contains("start with the parser"), "{t}");
        let p = m.json(ws, "bob", &["prime"]);
        assert_eq!(p["hook_note"], "start with the parser");
        let t = m.bd(ws, "bob", &["prime"]).ok().stdout;
        assert!(t.contains("start with the parser"), "{t}");
        assert_eq!(agent_entry(&m, ws, "bob")["hook"], json!([x.clone()]));
    }
    // Bob claims it in B: it is off his hook and in his claims, in every view.
    m.bd(&m.b, "bob", &["claim", &x]).ok();
    for ws in [&m.a, &m.b] {
        let h = m.json(ws, "bob", &["hook", "bob"]);
        assert_eq!(h["items"], json!([]), "hook in {}", ws.display());
        let a = agent_entry(&m, ws, "bob");
        assert_eq!(a["hook"], json!([]), "agents in {}: {a}", ws.display());
        assert_eq!(
            a["claims"],
            json!([x.clone()]),
            "agents in {}",
            ws.display()
        );
        let p = m.json(ws, "bob", &["prime"]);
        assert_eq!(p["hook"], json!([]));
        assert_eq!(p["claims"][0]["id"], x.as_str());
    }
    // Slung in A, unhooked in B: empty in every view of both.
    m.bd(&m.a, "mayor", &["sling", &y, "bob"]).ok();
    m.bd(&m.b, "mayor", &["unhook", &y, "--agent", "bob"]).ok();
    for ws in [&m.a, &m.b] {
        let h = m.json(ws, "bob", &["hook", "bob"]);
        assert_eq!(h["items"], json!([]), "hook in {}", ws.display());
        let a = agent_entry(&m, ws, "bob");
        assert_eq!(a["hook"], json!([]), "agents in {}: {a}", ws.display());
    }
}

// ---------------------------------------------------------------------------
// Item 15: work goes to registered agents only; one set of claimable work.
// ---------------------------------------------------------------------------

#[test]
fn item_15_dispatch_feeds_registered_agents_claimable_work_only() {
    let m = Machine::new(0);
    let epic = m.create(&m.a, "the big one", &["-t", "epic", "-p", "0"]);
    let task = m.create(&m.a, "a task", &["-p", "1"]);
    let other = m.create(&m.a, "another task", &["-p", "2"]);
    // `ready` lists the epic, as classic does.
    let ready = ids(&m.json(&m.a, "zed", &["ready"]));
    assert!(ready.contains(&epic), "{ready:?}");
    // zed only ran commands (the ready above, a heartbeat): it is no agent
    // that receives work.
    m.bd(&m.a, "zed", &["heartbeat"]).ok();
    let plan = m.json(&m.a, "mayor", &["dispatch", "--dry-run"]);
    assert_eq!(plan["slung"], json!([]), "nobody registered: {plan}");
    m.bd(&m.a, "zed", &["agent", "register", "--kind", "unknown"])
        .code(1);

    // bob registers: he gets claimable work, never the epic.
    m.bd(&m.a, "bob", &["agent", "register"]).ok();
    let plan = m.json(&m.a, "mayor", &["dispatch", "--per-agent", "5"]);
    let slung: Vec<&str> = plan["slung"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert_eq!(slung, vec![task.as_str(), other.as_str()], "{plan}");
    assert_eq!(record(&m.a, &epic)["status"], "open");

    // `ready --claim` takes claimable work too: not the epic on top.
    m.bd(&m.a, "bob", &["unhook", &task]).ok();
    let got = m.json(&m.a, "carol", &["ready", "--claim"]);
    assert_eq!(got[0]["id"], task.as_str(), "{got}");
    let got = m.json(&m.a, "carol", &["ready", "--claim", "--containers"]);
    assert_eq!(got[0]["id"], epic.as_str(), "{got}");

    // bob unregisters: his hook goes back to ready work, he gets no more.
    let gone = m.json(&m.a, "bob", &["agent", "unregister"]);
    assert_eq!(gone["unhooked"], json!([other.clone()]), "{gone}");
    assert_eq!(record(&m.a, &other)["status"], "open");
    let agents = m.json(&m.a, "mayor", &["agents"]);
    assert!(!agents.to_string().contains("\"bob\""), "{agents}");
    let plan = m.json(&m.a, "mayor", &["dispatch"]);
    assert_eq!(plan["slung"], json!([]), "{plan}");
    m.bd(&m.a, "mayor", &["agent", "unregister", "bob"]).code(1);
}

// ---------------------------------------------------------------------------
// Item 18 (the coordination part): one test per sub-bug.
// ---------------------------------------------------------------------------

#[test]
fn item_18_prime_says_how_many_unread_messages_it_does_not_list() {
    let m = Machine::new(0);
    m.bd(&m.a, "bob", &["agent", "register"]).ok();
    for i in 0..4 {
        m.bd(
            &m.a,
            "alice",
            &[
                "mail",
                "send",
                "--to",
                "bob",
                "-s",
                &format!("note {i}"),
                "-b",
                "x",
            ],
        )
        .ok();
    }
    let t = m.bd(&m.a, "bob", &["prime"]).ok().stdout;
    assert!(t.contains("Unread mail (4)"), "{t}");
    let listed = t.lines().filter(|l| l.contains(" from alice: ")).count();
    assert_eq!(listed, 3, "{t}");
    assert!(t.contains("… 1 more"), "{t}");
    assert_eq!(m.json(&m.a, "bob", &["prime"])["unread_mail"], 4);
}

#[test]
fn item_18_a_deleted_issue_refuses_comment_label_and_dep_like_close() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "doomed", &[]);
    let y = m.create(&m.a, "alive", &[]);
    m.bd(&m.a, "alice", &["delete", &x]).ok();
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    let close = m.bd(&m.a, "alice", &["close", &x]);
    assert_ne!(close.code, 0);
    let attempts: Vec<Vec<&str>> = vec![
        vec!["comment", &x, "still here?"],
        vec!["label", "add", &x, "urgent"],
        vec!["dep", "add", &x, &y],
        vec!["dep", "add", &y, &x],
    ];
    for args in &attempts {
        let r = m.bd(&m.a, "alice", args);
        assert_eq!(
            r.code, close.code,
            "{args:?} refused like close: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("{x} is deleted")),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(
        std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
        before
    );
}

#[test]
fn item_18_a_ledger_lock_timeout_names_the_ledger() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "work", &[]);
    let lock = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(m.project_dir().join("ledger.lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut c = m.cmd(&m.a, "alice", &["claim", &x]);
    c.env("BD_LOCK_TIMEOUT_MS", "300");
    let r = run_of(c.output().unwrap());
    lock.unlock().unwrap();
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("claim ledger"), "{}", r.stderr);
    assert!(!r.stderr.contains("workspace"), "{}", r.stderr);
    assert!(r.stderr.contains("ledger.lock"), "{}", r.stderr);
}

#[test]
fn item_18_closing_an_epic_with_open_children_needs_force() {
    let m = Machine::new(0);
    let epic = m.create(&m.a, "the epic", &["-t", "epic"]);
    let kid = m.create(&m.a, "a child", &["--parent", &epic]);
    let r = m.bd(&m.a, "alice", &["close", &epic]).code(3);
    assert!(r.stderr.contains(&kid), "{}", r.stderr);
    assert_eq!(record(&m.a, &epic)["status"], "open");
    // Children closed first, the epic closes.
    m.bd(&m.a, "alice", &["close", &kid]).ok();
    m.bd(&m.a, "alice", &["close", &epic]).ok();
    // Or with --force.
    let epic2 = m.create(&m.a, "another epic", &["-t", "epic"]);
    m.create(&m.a, "its child", &["--parent", &epic2]);
    m.bd(&m.a, "alice", &["close", &epic2, "--force"]).ok();
}

#[test]
fn item_08_a_sling_whose_hook_file_fails_is_taken_back() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "work", &[]);
    // A file where the hooks folder must go: the hook file cannot be written.
    std::fs::write(m.a.join(".beads/hooks"), b"in the way").unwrap();
    let r = m.bd(&m.a, "mayor", &["sling", &x, "bob"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    let rec = record(&m.a, &x);
    assert_eq!(rec["status"], "open", "{rec}");
    assert!(rec.get("assignee").is_none(), "{rec}");
    assert_ne!(
        ledger_event(&m, &x).map(|e| e["kind"].clone()),
        Some(json!("hooked"))
    );
    // Nobody sees it on bob's hook, in this clone or the other.
    std::fs::remove_file(m.a.join(".beads/hooks")).unwrap();
    for ws in [&m.a, &m.b] {
        assert_eq!(m.json(ws, "bob", &["hook", "bob"])["items"], json!([]));
    }
    // And it can be slung again once the hook file can be written.
    m.bd(&m.a, "mayor", &["sling", &x, "bob"]).ok();
    assert_eq!(m.json(&m.a, "bob", &["hook", "bob"])["items"], json!([x]));
}

/// Item 13, through a plain `git pull` in a sibling clone: alice claims X in
/// clone A; on another machine bob closes X (he never saw the claim) and
/// pushes; clone C on alice's machine pulls. The merge rules the close over
/// the claim it never saw, and C's views follow the merge, not the ledger's
/// older claim entry: nobody holds X there.
#[test]
fn item_13_a_claim_lost_to_an_unseen_close_is_not_held_in_a_sibling_clone() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "closed elsewhere", &[]);
    share(&m);
    let tmp = m.env.tmp.path().to_path_buf();
    let remote = tmp.join("remote.git");
    let c = tmp.join("c");
    git(
        &tmp,
        &["clone", "-q", remote.to_str().unwrap(), c.to_str().unwrap()],
    );
    git(&c, &["config", "user.name", "C"]);
    git(&c, &["config", "user.email", "c@example.com"]);
    m.bd(&c, "alice", &["agent", "register"]).ok();
    let home2 = tmp.join("home2");
    std::fs::create_dir_all(&home2).unwrap();
    let on_b = |actor: &str, args: &[&str]| -> Run {
        let mut cmd = m.cmd(&m.b, actor, args);
        cmd.env("BD_HOME", &home2).env("HOME", &home2);
        run_of(cmd.output().unwrap())
    };
    m.bd(&m.a, "alice", &["claim", &x]).ok();
    on_b("bob", &["close", &x, "--reason", "done elsewhere"]).ok();
    on_b("bob", &["sync"]).ok();
    git(&c, &["pull", "-q", "--no-rebase", "origin", "main"]);
    assert_eq!(record(&c, &x)["status"], "closed");
    let prime = m.json(&c, "alice", &["prime"]);
    assert!(
        !prime["claims"].to_string().contains(&x),
        "alice's prime in C: {prime}"
    );
    let alice = agent_entry(&m, &c, "alice");
    assert!(!alice.to_string().contains(&x), "agents in C: {alice}");
    let shown = m.json(&c, "alice", &["show", &x]);
    let shown = if shown.is_array() {
        shown[0].clone()
    } else {
        shown
    };
    assert_eq!(shown["status"], "closed", "{shown}");
    assert!(
        !shown.to_string().contains("\"held\""),
        "show in C still reports a holder: {shown}"
    );
}

// ---------------------------------------------------------------------------
// The adversarial review of issue 9 (REVIEW.md): items 8, 13, 14, 18, 11.
// ---------------------------------------------------------------------------

/// The clone of another machine: cloned (on first use) from the remote and
/// only ever used with its own BD_HOME, so this machine's home never hears
/// of it.
fn other_clone(m: &Machine) -> PathBuf {
    let tmp = m.env.tmp.path();
    let c2 = tmp.join("m2");
    if !c2.exists() {
        let remote = tmp.join("remote.git");
        git(
            tmp,
            &[
                "clone",
                "-q",
                remote.to_str().unwrap(),
                c2.to_str().unwrap(),
            ],
        );
        git(&c2, &["config", "user.name", "M2"]);
        git(&c2, &["config", "user.email", "m2@example.com"]);
    }
    c2
}

/// Run `bd` in [`other_clone`] as another machine (its own BD_HOME).
fn on_other_machine(m: &Machine, actor: &str, args: &[&str]) -> Run {
    let home2 = m.env.tmp.path().join("home2");
    std::fs::create_dir_all(&home2).unwrap();
    let mut c = m.cmd(&other_clone(m), actor, args);
    c.env("BD_HOME", &home2).env("HOME", &home2);
    run_of(c.output().unwrap())
}

fn bytes_or_none(p: &Path) -> Option<Vec<u8>> {
    std::fs::read(p).ok()
}

/// Review break 4: a sling whose hook file cannot be written wrote newer
/// stamps and a raised claim epoch (then an "unhook" with newer stamps still),
/// so after `bd sync` it beat bob's claim made on another machine. A failed
/// sling now leaves the tracker and the ledger byte for byte as they were,
/// whichever of its writes fails (hook file, delivery, tracker).
#[test]
fn item_08_review_a_failed_sling_leaves_no_trace_and_bobs_claim_survives() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "contended", &[]);
    share(&m);
    on_other_machine(&m, "bob", &["claim", &x]).ok();
    on_other_machine(&m, "bob", &["sync"]).ok();

    // The hook file cannot be written (a link where it goes).
    let hooks = m.a.join(".beads/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::os::unix::fs::symlink("/nonexistent", hooks.join("carol.json")).unwrap();
    let tracker = m.a.join(".beads/issues.jsonl");
    let ledger = m.project_dir().join("ledger.json");
    let (t0, l0) = (
        std::fs::read_to_string(&tracker).unwrap(),
        bytes_or_none(&ledger),
    );
    let r = m.bd(&m.a, "mayor", &["sling", &x, "carol"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&tracker).unwrap(),
        t0,
        "tracker untouched"
    );
    assert_eq!(bytes_or_none(&ledger), l0, "ledger untouched");
    std::fs::remove_file(hooks.join("carol.json")).unwrap();

    // The delivery cannot be written: the hook file is put back (none).
    let dl = m.project_dir().join("deliveries");
    std::fs::create_dir_all(&dl).unwrap();
    std::os::unix::fs::symlink("/nonexistent", dl.join("carol.json")).unwrap();
    let r = m.bd(&m.a, "mayor", &["sling", &x, "carol"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&tracker).unwrap(), t0);
    assert_eq!(bytes_or_none(&ledger), l0);
    assert!(!hooks.join("carol.json").exists(), "hook file put back");
    std::fs::remove_file(dl.join("carol.json")).unwrap();

    // After sync on both machines, bob's claim stands.
    m.bd(&m.a, "tester", &["sync"]).ok();
    let rb = on_other_machine(&m, "bob", &["sync"]).ok();
    assert!(!rb.stderr.contains("lost"), "{}", rb.stderr);
    let rec = record(&other_clone(&m), &x);
    assert_eq!(rec["status"], "in_progress", "{rec}");
    assert_eq!(rec["assignee"], "bob", "{rec}");
}

/// Break 4, the last write failing: the hook file and delivery are written
/// before the tracker, and put back byte for byte when the tracker write
/// fails.
#[test]
fn item_08_review_a_sling_whose_tracker_write_fails_puts_hook_and_delivery_back() {
    let m = Machine::new(0);
    let big = "x".repeat(40 * 1024);
    let x = m.create(&m.a, "work", &["-d", &big]);
    let y = m.create(&m.a, "small", &[]);
    // Carol already has Y on her hook: her hook file and delivery exist.
    m.bd(&m.a, "mayor", &["sling", &y, "carol"]).ok();
    let hook = m.a.join(".beads/hooks/carol.json");
    let delivery = m.project_dir().join("deliveries/carol.json");
    let tracker = m.a.join(".beads/issues.jsonl");
    let ledger = m.project_dir().join("ledger.json");
    let before = [&hook, &delivery, &tracker, &ledger].map(|p| bytes_or_none(p));
    assert!(before[0].is_some() && before[1].is_some());
    let r = bd_limited(&m, &m.a, "mayor", 16, &["sling", &x, "carol"]);
    assert_ne!(r.code, 0, "the tracker write fails: {}", r.stderr);
    let after = [&hook, &delivery, &tracker, &ledger].map(|p| bytes_or_none(p));
    assert_eq!(after, before, "{}", r.stderr);
    assert_eq!(
        m.json(&m.a, "carol", &["hook", "carol"])["items"],
        json!([y])
    );
}

/// Review break 6: after bob's claim is lost in a merge, `update --status`
/// and `--assignee` by bob refuse (exit 3, naming the winner) as `close`
/// does; `--force` insists.
#[test]
fn item_13_review_the_loser_of_a_claim_cannot_update_its_claim_fields() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "contended", &[]);
    share(&m);
    m.bd(&m.a, "alice", &["claim", &x]).ok();
    on_other_machine(&m, "bob", &["claim", &x]).ok();
    on_other_machine(&m, "bob", &["sync"]).ok();
    let ra = m.bd(&m.a, "alice", &["sync"]).ok();
    let rb = on_other_machine(&m, "bob", &["sync"]).ok();
    let winner = record(&m.a, &x)["assignee"].as_str().unwrap().to_string();
    let (loser, ws) = if winner == "bob" {
        ("alice", m.a.clone())
    } else {
        ("bob", other_clone(&m))
    };
    let _ = (ra, rb);
    let as_loser = |args: &[&str]| -> Run {
        if loser == "alice" {
            m.bd(&m.a, "alice", args)
        } else {
            on_other_machine(&m, "bob", args)
        }
    };
    let before = std::fs::read(ws.join(".beads/issues.jsonl")).unwrap();
    for args in [
        vec!["update", &x, "--status", "open"],
        vec!["update", &x, "--assignee", loser],
        vec!["update", &x, "--assignee", ""],
    ] {
        let r = as_loser(&args).code(3);
        assert!(r.stderr.contains(&winner), "{args:?}: {}", r.stderr);
    }
    assert_eq!(
        std::fs::read(ws.join(".beads/issues.jsonl")).unwrap(),
        before
    );
    // Other fields are not the claim's: the loser may still edit them.
    as_loser(&["update", &x, "--priority", "1"]).ok();
    // And --force insists.
    as_loser(&["update", &x, "--status", "open", "--force"]).ok();
    assert_eq!(record(&ws, &x)["status"], "open");
}

/// Review break 7: slung in one worktree and unhooked in another, the issue
/// was stuck in the first: not ready, not claimable ("status hooked"). The
/// effective state (released) decides every view and claim.
#[test]
fn item_14_review_released_in_another_worktree_is_ready_and_claimable_here() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "slung then unhooked elsewhere", &[]);
    let y = m.create(&m.a, "another", &[]);
    m.bd(&m.a, "tester", &["commit"]).ok();
    // A worktree made after the commit (the machine's `wt` predates it).
    let wt = m.env.worktree(&m.a, "wt2", "wt2");
    m.bd(&m.a, "mayor", &["sling", &x, "carol"]).ok();
    m.bd(&m.a, "mayor", &["sling", &y, "carol"]).ok();
    m.bd(&wt, "mayor", &["unhook", &x, "--agent", "carol"]).ok();
    m.bd(&wt, "mayor", &["unhook", &y, "--agent", "carol"]).ok();
    assert_eq!(
        record(&m.a, &x)["status"],
        "hooked",
        "the file here is stale"
    );

    let has = |v: &Value, id: &str| v.to_string().contains(&format!("\"{id}\""));
    assert!(has(&m.json(&m.a, "bob", &["ready"]), &x), "ready");
    assert!(
        has(&m.json(&m.a, "bob", &["list", "-s", "ready"]), &x),
        "list -s ready"
    );
    let count = m.json(&m.a, "bob", &["count", "-s", "ready"]);
    assert!(count.to_string().contains('2'), "count: {count}");
    let stats = m.json(&m.a, "bob", &["stats"]);
    assert_eq!(stats["ready_issues"], 2, "stats: {stats}");
    let shown = m.json(&m.a, "bob", &["show", &x]);
    let shown = if shown.is_array() {
        shown[0].clone()
    } else {
        shown
    };
    assert_eq!(shown["ready"], true, "{shown}");
    let prime = m.json(&m.a, "bob", &["prime"]);
    assert!(has(&prime["ready"], &x), "prime: {prime}");
    assert_eq!(
        m.json(&m.a, "carol", &["hook", "carol"])["items"],
        json!([])
    );

    // Claim and sling judge the released state.
    m.bd(&m.a, "bob", &["claim", &x]).ok();
    assert_eq!(record(&m.a, &x)["assignee"], "bob");
    m.bd(&m.a, "mayor", &["sling", &y, "carol"]).ok();
    assert_eq!(
        m.json(&m.a, "carol", &["hook", "carol"])["items"],
        json!([y])
    );
}

/// Review break 11: a deleted issue was accepted as a parent, a dependency
/// and a convoy item; a convoy counted a deleted item as done.
#[test]
fn item_18_review_a_deleted_issue_is_no_parent_dependency_or_convoy_item() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "doomed", &[]);
    let y = m.create(&m.a, "alive", &[]);
    let cv = m.json(&m.a, "tester", &["convoy", "create", "train"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    m.bd(&m.a, "alice", &["delete", &x]).ok();
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    let close = m.bd(&m.a, "alice", &["close", &x]);
    assert_ne!(close.code, 0);
    for args in [
        vec!["create", "child", "--parent", &x],
        vec!["create", "dependent", "--deps", &x],
        vec!["update", &y, "--parent", &x],
        vec!["convoy", "add", &cv, &x],
        vec!["convoy", "create", "train2", &x],
    ] {
        let r = m.bd(&m.a, "alice", &args);
        assert_eq!(r.code, close.code, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("{x} is deleted")),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(
        std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
        before
    );

    // Tracked, then deleted: not done.
    let z = m.create(&m.a, "tracked", &[]);
    let w = m.create(&m.a, "tracked too", &[]);
    m.bd(&m.a, "tester", &["convoy", "add", &cv, &z, &w]).ok();
    m.bd(&m.a, "tester", &["delete", &w]).ok();
    let st = m.json(&m.a, "tester", &["convoy", "status", &cv]);
    assert_eq!(
        (st["tracked"].clone(), st["done"].clone()),
        (json!(1), json!(0)),
        "{st}"
    );
    m.bd(&m.a, "tester", &["close", &z]).ok();
    let st = m.json(&m.a, "tester", &["convoy", "status", &cv]);
    assert_eq!(
        (st["tracked"].clone(), st["done"].clone()),
        (json!(1), json!(1)),
        "{st}"
    );
    assert_eq!(st["status"], "closed", "{st}");
}

/// Review break 12: `update --status hooked` with no agent deadlocked the
/// issue. It is refused (a hook needs an agent: `bd sling`), and a `hooked`
/// record with no holder (a classic tool, a hand edit) is claimable.
#[test]
fn item_11_review_hooked_without_holder_is_refused_and_claimable() {
    let m = Machine::new(0);
    let z = m.create(&m.a, "hang me", &[]);
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    let r = m.bd(&m.a, "alice", &["update", &z, "--status", "hooked"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("bd sling"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
        before
    );
    // With an agent it is a hook (the classic way).
    m.bd(
        &m.a,
        "alice",
        &["update", &z, "--status", "hooked", "--assignee", "carol"],
    )
    .ok();
    let r = m.bd(&m.a, "alice", &["update", &z, "--assignee", ""]);
    assert_ne!(r.code, 0, "{}", r.stderr);

    // A hooked record with nobody on it, as another tool wrote it.
    let w = m.create(&m.a, "hooked by hand", &[]);
    let path = m.a.join(".beads/issues.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            if l.contains(&format!("\"id\":\"{w}\"")) {
                l.replace("\"status\":\"open\"", "\"status\":\"hooked\"")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&path, edited.join("\n") + "\n").unwrap();
    assert_eq!(record(&m.a, &w)["status"], "hooked");
    m.bd(&m.a, "bob", &["claim", &w]).ok();
    assert_eq!(record(&m.a, &w)["assignee"], "bob");
}

// ---------------------------------------------------------------------------
// The second review of issue 9: items 13, 14/16 and 18.
// ---------------------------------------------------------------------------

/// Review 2, item 13: after bob's claim was lost in a merge, `defer`,
/// `update --defer` and `delete` by the loser went through. Every write that
/// changes the status or claim group of an issue whose claim the actor lost
/// is refused (exit 3, the winner named) unless `--force`.
#[test]
fn item_13_review2_the_loser_cannot_defer_or_delete_the_winners_claim() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "contended", &[]);
    let y = m.create(&m.a, "contended too", &[]);
    share(&m);
    m.bd(&m.a, "alice", &["claim", &x, &y]).ok();
    on_other_machine(&m, "bob", &["claim", &x, &y]).ok();
    on_other_machine(&m, "bob", &["sync"]).ok();
    m.bd(&m.a, "alice", &["sync"]).ok();
    on_other_machine(&m, "bob", &["sync"]).ok();
    let winner = record(&m.a, &x)["assignee"].as_str().unwrap().to_string();
    assert_eq!(record(&m.a, &y)["assignee"], winner.as_str());
    let (loser, ws) = if winner == "bob" {
        ("alice", m.a.clone())
    } else {
        ("bob", other_clone(&m))
    };
    assert_eq!(record(&ws, &x)["assignee"], winner.as_str(), "merged");
    let as_loser = |args: &[&str]| -> Run {
        if loser == "alice" {
            m.bd(&m.a, "alice", args)
        } else {
            on_other_machine(&m, "bob", args)
        }
    };
    let tracker = ws.join(".beads/issues.jsonl");
    let before = std::fs::read(&tracker).unwrap();
    for args in [
        vec!["defer", &x, "--until", "2099-01-01"],
        vec!["update", &x, "--defer", "2099-01-01"],
        vec!["delete", &x],
        vec!["delete", &x, &y],
    ] {
        let r = as_loser(&args).code(3);
        assert!(
            r.stderr.contains(&winner) && r.stderr.contains("lost"),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(std::fs::read(&tracker).unwrap(), before, "nothing written");
    // --force insists.
    as_loser(&["defer", &x, "--until", "2099-01-01", "--force"]).ok();
    assert_eq!(record(&ws, &x)["status"], "deferred");
    as_loser(&["delete", &y, "--force"]).ok();
    assert_eq!(record(&ws, &y)["status"], "tombstone");
}

/// Review 2, items 14/16: a claim made in a sibling clone of this machine
/// (only the ledger knows it here) was "not claimed" to `unclaim`, while
/// `show` and `claim` saw it. `unclaim` judges the effective state: the
/// holder releases it here (ledger `released`, the record written so the
/// merge ranks the release after the claim), `--force` recovers it.
#[test]
fn item_14_review2_unclaim_sees_a_claim_made_in_a_sibling_clone() {
    let m = Machine::new(0);
    let y = m.create(&m.a, "claimed next door", &[]);
    share(&m);
    m.bd(&m.a, "alice", &["claim", &y]).ok();
    assert_eq!(record(&m.b, &y)["status"], "open", "B's file is stale");
    let shown = m.bd(&m.b, "carol", &["show", &y]).ok();
    assert!(shown.stdout.contains("alice"), "{}", shown.stdout);

    // Another agent is refused; the holder releases it from here.
    let r = m.bd(&m.b, "carol", &["unclaim", &y]).code(3);
    assert!(r.stderr.contains("alice"), "{}", r.stderr);
    let r = m.bd(&m.b, "alice", &["unclaim", &y]).ok();
    assert!(!r.stderr.contains("Nothing changed"), "{}", r.stderr);
    assert_eq!(
        ledger_event(&m, &y).unwrap()["kind"],
        "released",
        "{}",
        ledger(&m)
    );
    let rb = record(&m.b, &y);
    assert_eq!(rb["status"], "open", "{rb}");
    assert!(rb.get("assignee").is_none(), "{rb}");
    let has = |v: &Value| v.to_string().contains(&format!("\"{y}\""));
    assert!(has(&m.json(&m.a, "bob", &["ready"])), "ready in A");
    let prime = m.json(&m.a, "alice", &["prime"]);
    assert!(!prime["claims"].to_string().contains(&y), "{prime}");

    // Claimed again in A (by bob); carol recovers it from B with --force.
    m.bd(&m.a, "bob", &["claim", &y]).ok();
    let r = m.bd(&m.b, "carol", &["unclaim", &y, "--force"]).ok();
    assert!(!r.stderr.contains("Nothing changed"), "{}", r.stderr);
    assert_eq!(ledger_event(&m, &y).unwrap()["kind"], "released");
    let rb = record(&m.b, &y);
    assert_eq!(rb["recovered"]["from"], "bob", "{rb}");
    let prime = m.json(&m.a, "bob", &["prime"]);
    assert!(!prime["claims"].to_string().contains(&y), "{prime}");

    // After sync, both clones agree: released.
    m.bd(&m.a, "tester", &["sync"]).ok();
    m.bd(&m.b, "tester", &["sync"]).ok();
    m.bd(&m.a, "tester", &["sync"]).ok();
    for ws in [&m.a, &m.b] {
        let r = record(ws, &y);
        assert_eq!(r["status"], "open", "{}: {r}", ws.display());
        assert!(r.get("assignee").is_none(), "{}: {r}", ws.display());
    }
}

/// Review 2, item 18: `mail send --issue <deleted>` was accepted while every
/// other verb refuses a deleted issue; it is refused with `close`'s words.
#[test]
fn item_18_review2_mail_about_a_deleted_issue_is_refused_like_close() {
    let m = Machine::new(0);
    m.bd(&m.a, "bob", &["agent", "register"]).ok();
    let x = m.create(&m.a, "doomed", &[]);
    m.bd(&m.a, "alice", &["delete", &x]).ok();
    let close = m.bd(&m.a, "alice", &["close", &x]);
    assert_ne!(close.code, 0);
    let mail = m.a.join(".beads/mail.jsonl");
    let before = bytes_or_none(&mail);
    let r = m.bd(
        &m.a,
        "alice",
        &[
            "mail", "send", "--to", "bob", "-s", "about X", "--issue", &x,
        ],
    );
    assert_eq!(r.code, close.code, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("{x} is deleted")),
        "{}",
        r.stderr
    );
    assert_eq!(bytes_or_none(&mail), before, "no message written");
    // A live issue is fine; a reply after it was deleted drops the link.
    let y = m.create(&m.a, "alive", &[]);
    let sent = m.json(
        &m.a,
        "alice",
        &[
            "mail", "send", "--to", "bob", "-s", "about Y", "--issue", &y,
        ],
    );
    assert_eq!(sent["issue"], y.as_str(), "{sent}");
    m.bd(&m.a, "alice", &["delete", &y]).ok();
    let id = sent["id"].as_str().unwrap();
    let reply = m.json(&m.a, "bob", &["mail", "reply", id, "-b", "ok"]);
    assert!(reply["issue"].is_null(), "{reply}");
}

/// Review 3, items 13/14: `defer` and `undefer` wrote no ledger entry. Bob
/// claims X in a worktree; X is deferred in the main worktree; both merge
/// each other; carol undefers X. The ledger still said bob held X: `ready`
/// left it out, `show` said claimed and carol's claim was refused. A defer
/// now goes through the one coordinated write path: it releases the claim
/// it finds (ledger `released`, the record written past the claim), and the
/// views, the ledger and both worktrees agree.
#[test]
fn item_14_review3_defer_releases_the_claim_in_the_ledger_and_every_view() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "claimed next door, then deferred", &[]);
    let y = m.create(&m.a, "claimed next door, then deferred by update", &[]);
    m.bd(&m.a, "tester", &["commit"]).ok();
    let wt = m.env.tmp.path().join("wt2");
    git(
        &m.a,
        &["worktree", "add", "-q", wt.to_str().unwrap(), "-b", "wt2"],
    );
    m.bd(&wt, "bob", &["claim", &x, &y]).ok();
    m.bd(&m.a, "tester", &["defer", &x, "--until", "2099-01-01"])
        .ok();
    m.bd(&m.a, "tester", &["update", &y, "--defer", "2099-01-01"])
        .ok();
    for id in [&x, &y] {
        assert_eq!(
            ledger_event(&m, id).unwrap()["kind"],
            "released",
            "{}",
            ledger(&m)
        );
    }
    m.bd(&m.a, "tester", &["commit"]).ok();
    m.bd(&wt, "tester", &["commit"]).ok();
    common::git_bd(&m.a, &["merge", "-q", "--no-edit", "wt2"]);
    common::git_bd(&wt, &["merge", "-q", "--no-edit", "main"]);
    for ws in [&m.a, &wt] {
        for id in [&x, &y] {
            let r = record(ws, id);
            assert_eq!(r["status"], "deferred", "{}: {r}", ws.display());
            assert!(r.get("assignee").is_none(), "{}: {r}", ws.display());
        }
    }
    m.bd(&m.a, "carol", &["undefer", &x]).ok();
    let has = |v: &Value| v.to_string().contains(&format!("\"{x}\""));
    assert!(has(&m.json(&m.a, "carol", &["ready"])), "ready");
    let prime = m.json(&wt, "bob", &["prime"]);
    assert!(!prime["claims"].to_string().contains(&x), "{prime}");
    m.bd(&m.a, "carol", &["claim", &x]).ok();
    assert_eq!(record(&m.a, &x)["assignee"], "carol");
    let shown = m.bd(&wt, "dave", &["show", &x]).ok();
    assert!(shown.stdout.contains("carol"), "{}", shown.stdout);
}

/// Review 3: `bd import` wrote records outside the edit path: a claim it
/// brought in reached no ledger (a sibling clone showed the item ready while
/// this one showed it claimed), its writes carried no stamps of their own,
/// and records whose done fields disagree with their status went in
/// silently. Now an import is a write like any verb's: the ledger records
/// the claims and closes it brings, what it changed is stamped by the
/// importing actor now; a record whose done fields disagree with its status
/// keeps them (SPEC §2: loaded records keep their values) and the import
/// names it, as `bd doctor` does.
#[test]
fn item_14_review3_import_writes_through_the_one_write_path() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "claimed by an import", &[]);
    let y = m.create(&m.a, "closed by an import", &[]);
    share(&m);
    let exported = m.bd(&m.a, "tester", &["export"]).ok().stdout;
    let mut lines = Vec::new();
    for l in exported.lines() {
        let mut v: Value = serde_json::from_str(l).unwrap();
        if v["id"] == x.as_str() {
            v["status"] = json!("in_progress");
            v["assignee"] = json!("bob");
            v["started_at"] = json!("2026-12-01T10:00:00Z");
            v["title"] = json!("claimed by an import, retitled");
        } else if v["id"] == y.as_str() {
            v["status"] = json!("closed");
            v["closed_at"] = json!("2026-12-01T11:00:00Z");
        }
        lines.push(v.to_string());
    }
    // A classic record that is closed and carries a deletion time.
    lines.push(
        json!({"id": "bd-zz1", "title": "classic", "status": "closed",
               "closed_at": "2026-01-02T00:00:00Z", "deleted_at": "2026-01-03T00:00:00Z",
               "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z"})
        .to_string(),
    );
    let file = m.env.tmp.path().join("in.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    let dry = m.json(
        &m.a,
        "tester",
        &["import", file.to_str().unwrap(), "--dry-run"],
    );
    assert_eq!(dry["updated"], 2, "{dry}");
    assert_eq!(
        std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
        before,
        "a dry run writes nothing"
    );
    assert!(ledger_event(&m, &x).is_none(), "nor the ledger");

    let rep = m.json(&m.a, "tester", &["import", file.to_str().unwrap()]);
    assert_eq!(
        (rep["created"].clone(), rep["updated"].clone()),
        (json!(1), json!(2)),
        "{rep}"
    );
    // Loaded records keep their values (SPEC §2); the import names the
    // disagreement, as doctor does.
    assert_eq!(
        rep["inconsistent"],
        json!(["bd-zz1: status closed but deleted_at set"]),
        "{rep}"
    );
    let z = record(&m.a, "bd-zz1");
    assert_eq!(z["deleted_at"], "2026-01-03T00:00:00Z", "{z}");
    let doc = m.bd(&m.a, "tester", &["doctor"]).stdout;
    assert!(
        doc.contains("bd-zz1: status closed but deleted_at set"),
        "{doc}"
    );

    // The ledger knows: every clone of the machine agrees at once.
    assert_eq!(
        ledger_event(&m, &x).unwrap()["kind"],
        "claimed",
        "{}",
        ledger(&m)
    );
    assert_eq!(
        ledger_event(&m, &y).unwrap()["kind"],
        "closed",
        "{}",
        ledger(&m)
    );
    for ws in [&m.a, &m.b] {
        let ready = m.json(ws, "carol", &["ready"]).to_string();
        assert!(
            !ready.contains(&x) && !ready.contains(&y),
            "{}: {ready}",
            ws.display()
        );
        let r = m.bd(ws, "carol", &["claim", &x]).code(3);
        assert!(r.stderr.contains("bob"), "{}", r.stderr);
    }
    let prime = m.json(&m.b, "bob", &["prime"]);
    assert!(prime["claims"].to_string().contains(&x), "{prime}");

    // The import's writes are stamped by the importer, now.
    let rx = record(&m.a, &x);
    let stamp = rx["_stamps"]["title"].as_str().unwrap_or_default();
    assert!(stamp.ends_with(" tester"), "{rx}");
    assert_eq!(
        stamp.split(' ').next().unwrap(),
        rx["updated_at"].as_str().unwrap(),
        "{rx}"
    );

    // Importing the same file again changes nothing.
    let again = m.json(&m.a, "tester", &["import", file.to_str().unwrap()]);
    assert_eq!(again["updated"], 0, "{again}");
    assert_eq!(again["created"], 0, "{again}");
}

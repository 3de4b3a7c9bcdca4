//! The cross-project bug handoff (SPEC §6, seeds/001): an agent in project A
//! hands a bug with its repro to project B; B's own `bd` imports it as a work
//! item; replies and comments flow back in the same thread; A sees the item's
//! status. End to end with real processes, one BD_HOME for the machine:
//!
//! - A: bare remote `a.git`, clones `a1` and `a2`;
//! - B: bare remote `b.git`, clone `b1` and a worktree `b2` of it. `b1` is
//!   mid-rebase on a topic branch; `b2` is on `main`, so the import happens
//!   there and never in `b1`.

mod common;

use std::path::{Path, PathBuf};

use common::{Run, TestEnvironment, git, git_bd, git_with_bd, run_of};
use serde_json::Value;

struct World {
    env: TestEnvironment,
    home: PathBuf,
    a1: PathBuf,
    a2: PathBuf,
    b1: PathBuf,
    b2: PathBuf,
}

#[track_caller]
fn ok(r: Run) -> Run {
    assert_eq!(
        r.code, 0,
        "bd failed\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    r
}

impl World {
    fn bd(&self, dir: &Path, actor: &str, args: &[&str]) -> Run {
        run_of(self.env.cmd_at(dir, actor, args).output().expect("bd runs"))
    }

    #[track_caller]
    fn json(&self, dir: &Path, actor: &str, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        ok(self.bd(dir, actor, &a)).json()
    }

    fn identity(&self, dir: &Path) -> String {
        self.json(dir, "x", &["where"])["identity"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn new() -> World {
        let env = TestEnvironment::empty();
        let t = env.root().to_path_buf();
        let home = env.home.clone();
        let a1 = common::project(&env, "a", "vc");
        let a2 = t.join("a2");
        git(
            &t,
            &[
                "clone",
                "-q",
                t.join("a.git").to_str().unwrap(),
                a2.to_str().unwrap(),
            ],
        );
        for (k, v) in [("user.name", "T2"), ("user.email", "t2@example.com")] {
            git(&a2, &["config", k, v]);
        }
        let b1 = common::project(&env, "b", "bz");
        let b2 = t.join("b2");
        // b1 moves to a topic branch that conflicts with main and stops
        // mid-rebase; b2 is a worktree on main.
        git(&b1, &["checkout", "-q", "-b", "topic"]);
        std::fs::write(b1.join("code.txt"), "topic\n").unwrap();
        git(&b1, &["commit", "-q", "-am", "topic"]);
        git(&b1, &["checkout", "-q", "main"]);
        std::fs::write(b1.join("code.txt"), "main\n").unwrap();
        git(&b1, &["commit", "-q", "-am", "main"]);
        git(&b1, &["checkout", "-q", "topic"]);
        let r = git_with_bd(&b1, &["rebase", "main"]);
        assert_ne!(r.code, 0, "the rebase stops on the conflict");
        assert!(b1.join(".git/rebase-merge").exists() || b1.join(".git/rebase-apply").exists());
        git(
            &b1,
            &["worktree", "add", "-q", b2.to_str().unwrap(), "main"],
        );
        let w = World {
            env,
            home,
            a1,
            a2,
            b1,
            b2,
        };
        // Every workspace is known on this machine.
        for ws in [&w.a1, &w.a2, &w.b1, &w.b2] {
            ok(w.bd(ws, "x", &["where"]));
        }
        for (ws, agent) in [(&w.a1, "dave"), (&w.b2, "ann")] {
            ok(w.bd(ws, agent, &["agent", "register"]));
        }
        w
    }

    fn records(ws: &Path) -> Vec<Value> {
        std::fs::read_to_string(ws.join(".beads/issues.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn mail(ws: &Path) -> Vec<Value> {
        std::fs::read_to_string(ws.join(".beads/mail.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_bug_handed_to_another_project_comes_back_fixed_in_one_thread() {
    let w = World::new();
    let (ida, idb) = (w.identity(&w.a1), w.identity(&w.b1));
    assert_ne!(ida, idb);

    // Project A: dave finds a bug in B while working on vc-…; the repro is a
    // binary file and a log.
    let vc = ok(w.bd(
        &w.a1,
        "dave",
        &["create", "Ship the importer", "-t", "task"],
    ))
    .stdout
    .trim()
    .to_string();
    let repro: Vec<u8> = (0..=255u8).chain([0, 0xff, b'\n', 0]).collect();
    std::fs::write(w.env.root().join("repro.bin"), &repro).unwrap();
    std::fs::write(w.env.root().join("trace.log"), "panic at parser.rs:42\n").unwrap();
    let sent = w.json(
        &w.a1,
        "dave",
        &[
            "mail",
            "send",
            "--to",
            "@b",
            "-s",
            "Parser crashes on an empty file",
            "-b",
            "Run `bz import repro.bin`; it panics.",
            "--attach",
            w.env.root().join("repro.bin").to_str().unwrap(),
            "--attach",
            w.env.root().join("trace.log").to_str().unwrap(),
            "--issue",
            &vc,
            "--importance",
            "high",
        ],
    );
    let msg = sent["id"].as_str().unwrap().to_string();
    assert_eq!(sent["to"], serde_json::json!([format!("@{idb}")]));
    assert_eq!(sent["delivery"][&idb]["status"], "pending");
    assert_eq!(
        sent["pending"],
        serde_json::json!([]),
        "B has workspaces here"
    );
    assert_eq!(sent["issue"], vc.as_str());

    // The machine's project home is lost before B runs anything.
    std::fs::remove_dir_all(&w.home).unwrap();
    let r = ok(w.bd(&w.a1, "dave", &["list"]));
    assert!(
        r.stderr.contains(&format!("re-posted {msg}")),
        "{}",
        r.stderr
    );

    // b1 is mid-rebase: it does not import, and says why.
    let r = ok(w.bd(&w.b1, "x", &["list", "--json"]));
    assert!(r.stderr.contains("waiting"), "{}", r.stderr);
    assert!(World::records(&w.b1).is_empty());
    // b2 (on main) imports it with B's identity under B's lock.
    let r = ok(w.bd(&w.b2, "ann", &["list", "--json"]));
    assert!(r.stderr.contains("Imported 1"), "{}", r.stderr);
    let item = strand::ops::mail::handoff_id("bz", &msg);
    let recs = World::records(&w.b2);
    assert_eq!(recs.len(), 1);
    let rec = &recs[0];
    assert_eq!(rec["id"], item.as_str());
    assert_eq!(rec["issue_type"], "bug");
    assert_eq!(rec["priority"], 1, "high importance is P1");
    assert_eq!(rec["title"], "Parser crashes on an empty file");
    assert_eq!(rec["metadata"]["handoff"]["message"], msg.as_str());
    assert_eq!(rec["metadata"]["handoff"]["project"], ida.as_str());
    let first = &rec["comments"][0];
    assert_eq!(first["author"], format!("dave@{ida}").as_str());
    assert!(first["text"].as_str().unwrap().contains("it panics"));
    // The attachments arrived byte for byte, stored by hash.
    let b_msg = &World::mail(&w.b2)[0];
    assert_eq!(b_msg["id"], msg.as_str());
    assert_eq!(b_msg["from"], format!("dave@{ida}").as_str());
    assert_eq!(b_msg["issue"], item.as_str());
    let atts = b_msg["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    for a in atts {
        let got = std::fs::read(
            w.b2.join(".beads/attachments")
                .join(a["sha256"].as_str().unwrap()),
        )
        .unwrap();
        let want = std::fs::read(w.env.root().join(a["name"].as_str().unwrap())).unwrap();
        assert_eq!(got, want, "{}", a["name"]);
    }
    // Nothing was written into A's working tree or b1's by B's import.
    assert!(World::records(&w.b1).is_empty());
    assert!(!w.b1.join(".beads/mail.jsonl").exists());

    // A's next command records the delivery and B's item.
    let shown = w.json(&w.a1, "dave", &["show", &vc]);
    assert_eq!(shown["handoffs"][0]["project"], idb.as_str());
    assert_eq!(shown["handoffs"][0]["delivery"], "delivered");
    assert_eq!(shown["handoffs"][0]["issue"], item.as_str());
    assert_eq!(shown["handoffs"][0]["status"], "open");
    let text = ok(w.bd(&w.a1, "dave", &["show", &vc])).stdout;
    assert!(
        text.contains(&format!("Handed off: {idb} {item} is open")),
        "{text}"
    );

    // A's clones exchange it with plain git: a2 sees the message and delivery.
    ok(w.bd(&w.a1, "dave", &["commit", "-m", "handoff"]));
    git_bd(&w.a1, &["push", "-q"]);
    git_bd(&w.a2, &["pull", "-q", "--no-rebase"]);
    let a2_msg = &World::mail(&w.a2)[0];
    assert_eq!(a2_msg["id"], msg.as_str());
    assert_eq!(a2_msg["delivery"][&idb]["issue"], item.as_str());

    // B works it, committing as it goes: ann claims and asks a question as
    // a comment on the item. The comment is two writes (the item, then the
    // reply to A in B's mail) and one command, so one commit.
    ok(w.bd(&w.b2, "ann", &["config", "set", "auto_commit", "on"]));
    ok(w.bd(&w.b2, "ann", &["commit", "-m", "the handoff, committing"]));
    ok(w.bd(&w.b2, "ann", &["claim", &item]));
    let commits = |dir: &Path| {
        git(dir, &["rev-list", "--count", "HEAD"])
            .trim()
            .to_string()
    };
    let before = commits(&w.b2);
    ok(w.bd(
        &w.b2,
        "ann",
        &["comment", &item, "Which version wrote repro.bin?"],
    ));
    assert_eq!(
        commits(&w.b2).parse::<u32>().unwrap(),
        before.parse::<u32>().unwrap() + 1
    );
    let changed = git(&w.b2, &["show", "--name-only", "--format=", "HEAD"]);
    assert!(
        changed.contains(".beads/issues.jsonl") && changed.contains(".beads/mail.jsonl"),
        "{changed}"
    );
    assert_eq!(git(&w.b2, &["status", "--porcelain", "--", ".beads"]), "");
    // It reaches dave in A as mail in the same thread.
    let inbox = w.json(&w.a1, "dave", &["mail", "inbox"]);
    assert_eq!(inbox.as_array().unwrap().len(), 1, "{inbox}");
    let q = &inbox[0];
    assert_eq!(q["thread"], msg.as_str());
    assert_eq!(q["in_reply_to"], msg.as_str());
    assert_eq!(q["from"], format!("ann@{idb}").as_str());
    assert_eq!(q["subject"], "Re: Parser crashes on an empty file");
    assert!(q["body"].as_str().unwrap().contains("Which version"));
    let shown = w.json(&w.a1, "dave", &["show", &vc]);
    assert_eq!(shown["handoffs"][0]["status"], "in_progress");

    // dave answers by mail; it becomes a comment on B's item and B's mail.
    let qid = q["id"].as_str().unwrap().to_string();
    let answer = w.json(&w.a1, "dave", &["mail", "reply", &qid, "-b", "v0.47.0"]);
    assert_eq!(answer["to"], serde_json::json!([format!("ann@{idb}")]));
    assert_eq!(answer["thread"], msg.as_str());
    let inbox = w.json(&w.b2, "ann", &["mail", "inbox"]);
    assert!(
        ids(&inbox).contains(&answer["id"].as_str().unwrap().to_string()),
        "{inbox}"
    );
    let rec = w.json(&w.b2, "ann", &["show", &item]);
    let comments = rec["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 3, "{rec}");
    assert!(comments[2]["text"].as_str().unwrap().contains("v0.47.0"));

    // ann fixes it; A sees the status with its age.
    ok(w.bd(&w.b2, "ann", &["close", &item, "--reason", "fixed in b2"]));
    let shown = w.json(&w.a1, "dave", &["show", &vc]);
    assert_eq!(shown["handoffs"][0]["status"], "closed");
    assert!(shown["handoffs"][0]["age_seconds"].as_i64().unwrap() >= 0);

    // The thread is intact on both sides: the same three messages, in order.
    let ta = w.json(&w.a1, "dave", &["mail", "thread", &msg]);
    let tb = w.json(&w.b2, "ann", &["mail", "thread", &msg]);
    assert_eq!(ids(&ta).len(), 3, "{ta}");
    assert_eq!(ids(&ta), ids(&tb));
    assert_eq!(ids(&ta)[0], msg);

    // Importing again (a re-post after everything) changes nothing in B.
    let before = std::fs::read(w.b2.join(".beads/issues.jsonl")).unwrap();
    let spool = w
        .home
        .join("projects")
        .join(strand::files::escape(&idb))
        .join("spool");
    assert!(
        !spool.join(format!("{msg}.json")).exists(),
        "the spool is emptied"
    );
    ok(w.bd(&w.b2, "ann", &["list"]));
    assert_eq!(
        std::fs::read(w.b2.join(".beads/issues.jsonl")).unwrap(),
        before
    );

    // b1 finishes its rebase and pulls nothing it did not have: it never
    // imported, so its files stay as git made them.
    assert!(World::records(&w.b1).is_empty());
}

#[test]
fn a_project_with_no_workspace_here_leaves_delivery_pending_and_says_so() {
    let w = World::new();
    let r = ok(w.bd(
        &w.a1,
        "dave",
        &[
            "--json",
            "mail",
            "send",
            "--to",
            "project:example.com/elsewhere/c",
            "-s",
            "hello",
            "-b",
            "anyone there?",
        ],
    ));
    let v = r.json();
    assert_eq!(v["pending"], serde_json::json!(["example.com/elsewhere/c"]));
    assert!(r.stderr.contains("pending"), "{}", r.stderr);
    let m = &World::mail(&w.a1)[0];
    assert_eq!(
        m["delivery"]["example.com/elsewhere/c"]["status"],
        "pending"
    );
    // Unknown project names are errors naming the ways to fix them.
    let r = w.bd(
        &w.a1,
        "dave",
        &["--json", "mail", "send", "--to", "@nosuch", "-s", "x"],
    );
    assert_eq!(r.code, 1);
    let e = r.json();
    assert_eq!(e["code"], "not_found");
    let hint = e["hint"].as_str().unwrap();
    assert!(
        hint.contains("projects.nosuch") && hint.contains("project:<identity>"),
        "{hint}"
    );
    assert_eq!(World::mail(&w.a1).len(), 1, "the failed send wrote nothing");
}

#[test]
fn a_malformed_message_in_the_spool_is_set_aside_and_breaks_nothing() {
    let w = World::new();
    let idb = w.identity(&w.b2);
    let spool = w
        .home
        .join("projects")
        .join(strand::files::escape(&idb))
        .join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    // An id with tabs (it would break any line-oriented cache), a subject
    // with a terminal escape.
    let bad = serde_json::json!({
        "from_project": "github.com/evil/x",
        "message": {"id": "msg-1\t0\t5", "thread": "msg-1\t0\t5", "from": "eve",
            "to": [format!("@{idb}")], "subject": "please fix\u{1b}[2J", "body": "x",
            "importance": "normal", "ack_required": false,
            "created_at": "2026-01-01T00:00:00Z"}
    });
    let name = format!("{}.json", strand::files::escape("msg-1\t0\t5"));
    std::fs::write(spool.join(&name), bad.to_string()).unwrap();
    let r = ok(w.bd(&w.b2, "ann", &["list"]));
    assert!(r.stderr.contains("malformed"), "{}", r.stderr);
    assert!(!spool.join(&name).exists());
    assert!(spool.join(name.replace(".json", ".rejected")).exists());
    assert!(World::records(&w.b2).is_empty(), "no item was made of it");
    assert!(!w.b2.join(".beads/mail.jsonl").exists());
    // It is not retried.
    let r = ok(w.bd(&w.b2, "ann", &["list"]));
    assert!(!r.stderr.contains("malformed"), "{}", r.stderr);
}

#[test]
fn a_busy_workspace_leaves_the_import_for_a_later_command_without_holding_readers_up() {
    let w = World::new();
    ok(w.bd(
        &w.a1,
        "dave",
        &["mail", "send", "--to", "@b", "-s", "busy", "-b", "x"],
    ));
    // Another command holds b2's workspace lock (this test process, here).
    let lock = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(w.b2.join(".beads/.lock"))
        .unwrap();
    lock.lock().unwrap();
    let started = std::time::Instant::now();
    let r = ok(w.bd(&w.b2, "ann", &["ready"]));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the reader was held up for {:?}",
        started.elapsed()
    );
    assert!(!r.stderr.contains("Imported"), "{}", r.stderr);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    lock.unlock().unwrap();
    let r = ok(w.bd(&w.b2, "ann", &["ready"]));
    assert!(r.stderr.contains("Imported 1"), "{}", r.stderr);
}

/// Regression (second review): a message the other project rejects was
/// re-posted and rejected again on every command, forever, and the sender
/// never learned why.
#[test]
fn a_rejected_delivery_is_reported_to_the_sender_and_not_re_posted() {
    let w = World::new();
    let idb = w.identity(&w.b2);
    // A line another tool wrote in A: a short id, pending delivery to B.
    let line = serde_json::json!({"id": "msg-short", "thread": "msg-short", "from": "dave",
        "to": [format!("@{idb}")], "subject": "old tool", "body": "x", "importance": "normal",
        "ack_required": false, "delivery": {idb.clone(): {"status": "pending"}},
        "created_at": "2026-01-01T00:00:00Z"});
    std::fs::write(w.a1.join(".beads/mail.jsonl"), format!("{line}\n")).unwrap();
    let r = ok(w.bd(&w.a1, "dave", &["list"]));
    assert!(r.stderr.contains("re-posted msg-short"), "{}", r.stderr);
    let r = ok(w.bd(&w.b2, "ann", &["list"]));
    assert!(r.stderr.contains("malformed"), "{}", r.stderr);
    let r = ok(w.bd(&w.a1, "dave", &["list"]));
    assert!(r.stderr.contains("refused msg-short"), "{}", r.stderr);
    let m = &World::mail(&w.a1)[0];
    assert_eq!(m["delivery"][&idb]["status"], "rejected");
    assert!(
        m["delivery"][&idb]["reason"]
            .as_str()
            .unwrap()
            .contains("msg-short")
    );
    // Quiet from now on: no re-post, no second warning, nothing spooled.
    for _ in 0..2 {
        let r = ok(w.bd(&w.a1, "dave", &["list"]));
        assert!(
            !r.stderr.contains("re-posted") && !r.stderr.contains("refused"),
            "{}",
            r.stderr
        );
        let r = ok(w.bd(&w.b2, "ann", &["list"]));
        assert!(!r.stderr.contains("malformed"), "{}", r.stderr);
    }
}

/// Regression (second review): a reply to a thread an older tool began
/// (`msg-Legacy…`) was refused by the other project.
#[test]
fn a_reply_in_a_thread_begun_by_an_older_tool_is_delivered() {
    let w = World::new();
    let (ida, idb) = (w.identity(&w.a1), w.identity(&w.b2));
    let line = serde_json::json!({"id": "msg-Legacy000001", "thread": "msg-Legacy000001",
        "from": format!("ann@{idb}"), "to": ["dave"], "subject": "q", "body": "x",
        "importance": "normal", "ack_required": false, "created_at": "2026-01-01T00:00:00Z"});
    std::fs::write(w.a1.join(".beads/mail.jsonl"), format!("{line}\n")).unwrap();
    let sent = w.json(
        &w.a1,
        "dave",
        &["mail", "reply", "msg-Legacy000001", "-b", "answer"],
    );
    assert_eq!(sent["thread"], "msg-Legacy000001");
    let r = ok(w.bd(&w.b2, "ann", &["list"]));
    assert!(r.stderr.contains("Imported 1"), "{}", r.stderr);
    let inbox = w.json(&w.b2, "ann", &["mail", "inbox"]);
    assert_eq!(inbox[0]["from"], format!("dave@{ida}").as_str());
    ok(w.bd(&w.a1, "dave", &["list"]));
    let m = World::mail(&w.a1);
    let reply = m.iter().find(|x| x["id"] == sent["id"]).unwrap();
    assert_eq!(reply["delivery"][&idb]["status"], "delivered");
}

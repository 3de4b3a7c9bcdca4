//! Mail between the agents of one project (SPEC §6, same-project part), end to
//! end with the real `bd` binary:
//!
//! 1. the round trip in one workspace: send (cc, ack, attachment, importance),
//!    inbox order, read, ack, reply, thread, search, the attachment's bytes;
//! 2. live delivery across the workspaces of one machine (two clones of one
//!    bare remote and a worktree, one BD_HOME): seen at once, no git exchange;
//!    unread counts in `bd agents` and `bd prime`;
//! 3. concurrent senders (and readers) in one workspace lose nothing;
//! 4. two machines (two BD_HOMEs) that both send and read converge through
//!    git (the merge driver is the binary under test) to the same bytes,
//!    in either push/pull order, with read marks merged earliest-first;
//! 5. bad input: a clear error, the right exit code, and nothing written;
//! 6. a hostile but valid agent name never leaves its folder;
//! 7. with `auto_commit = on` a send commits its attachment, a read nothing.
//!
//! Tests marked `
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Barrier;

use common::{Clock, Machine, Run, TestEnvironment, bd_command, git, git_bd, git_with_bd, run_of};
use serde_json::Value;
use sha2::{Digest, Sha256};
use strand::model::time;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// One workspace as seen from one machine: its folder and the BD_HOME used there.
#[derive(Clone, Debug)]
struct Ws {
    dir: PathBuf,
    home: PathBuf,
    clock: Clock,
}

impl Ws {
    fn of(env: &TestEnvironment) -> Ws {
        Ws {
            dir: env.repo.clone(),
            home: env.home.clone(),
            clock: env.clock.clone(),
        }
    }

    /// The working tree `dir` on the machine of `m` (its BD_HOME).
    fn on(m: &Machine, dir: &Path) -> Ws {
        Ws {
            dir: dir.to_path_buf(),
            home: m.env.home.clone(),
            clock: m.env.clock.clone(),
        }
    }

    fn cmd(&self, actor: &str, now: Option<&str>, args: &[&str]) -> Command {
        let mut c = bd_command(&self.dir, &self.home, actor, &self.clock, args);
        c.env("BD_LOCK_TIMEOUT_MS", "60000");
        if let Some(t) = now {
            c.env("BD_NOW", t);
        }
        c
    }

    fn bd(&self, actor: &str, args: &[&str]) -> Run {
        run_of(self.cmd(actor, None, args).output().expect("bd runs"))
    }

    fn bd_now(&self, actor: &str, now: &str, args: &[&str]) -> Run {
        run_of(self.cmd(actor, Some(now), args).output().expect("bd runs"))
    }

    fn bd_stdin(&self, actor: &str, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        let mut c = self.cmd(actor, None, args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("bd runs");
        child.stdin.take().unwrap().write_all(input).unwrap();
        run_of(child.wait_with_output().unwrap())
    }

    /// `bd --json ARGS` as `actor`, asserting success; the parsed document.
    #[track_caller]
    fn json(&self, actor: &str, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.bd(actor, &a).ok().json()
    }

    #[track_caller]
    fn json_now(&self, actor: &str, now: &str, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.bd_now(actor, now, &a).ok().json()
    }

    #[track_caller]
    fn register(&self, actors: &[&str]) {
        for a in actors {
            self.bd(a, &["agent", "register"]).ok();
        }
    }

    fn mail_path(&self) -> PathBuf {
        self.dir.join(".beads/mail.jsonl")
    }

    fn mail_bytes(&self) -> Vec<u8> {
        std::fs::read(self.mail_path()).unwrap_or_default()
    }

    /// The raw lines of `mail.jsonl` (each checked to end with `\n`).
    fn mail_lines(&self) -> Vec<String> {
        let text = String::from_utf8(self.mail_bytes()).expect("mail.jsonl is UTF-8");
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "mail.jsonl ends with a newline"
        );
        text.lines().map(str::to_string).collect()
    }

    /// Every message of `mail.jsonl` by id; asserts every line parses, ids
    /// are unique and the file is sorted by id.
    #[track_caller]
    fn mail(&self) -> BTreeMap<String, Value> {
        let lines = self.mail_lines();
        let mut out = BTreeMap::new();
        let mut prev: Option<String> = None;
        for l in &lines {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("a line of mail.jsonl does not parse ({e}): {l}"));
            let id = v["id"]
                .as_str()
                .expect("every message has an id")
                .to_string();
            if let Some(p) = &prev {
                assert!(p < &id, "mail.jsonl is sorted by id: {p} then {id}");
            }
            prev = Some(id.clone());
            assert!(out.insert(id.clone(), v).is_none(), "id {id} twice");
        }
        out
    }

    fn line_of(&self, id: &str) -> String {
        let needle = format!("{{\"id\":\"{id}\",");
        self.mail_lines()
            .into_iter()
            .find(|l| l.starts_with(&needle))
            .unwrap_or_else(|| panic!("no line for {id} in {}", self.mail_path().display()))
    }

    fn attachment(&self, sha: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir.join(".beads/attachments").join(sha)).ok()
    }
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// The ids of a JSON array of messages, in order.
#[track_caller]
fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("a JSON array: {v}"))
        .iter()
        .map(|m| m["id"].as_str().expect("a message id").to_string())
        .collect()
}

/// A time field as an instant.
#[track_caller]
fn instant(v: &Value) -> i64 {
    let t = v.as_str().unwrap_or_else(|| panic!("a time string: {v}"));
    time::parse(t).unwrap_or_else(|| panic!("an RFC 3339 time: {t}"))
}

/// `2026-03-01T12:00:SSZ` (a fixed clock for `BD_NOW`).
fn at(s: u32) -> String {
    format!("2026-03-01T12:{:02}:{:02}Z", s / 60, s % 60)
}

/// Content with every byte value (NUL, invalid UTF-8, CR, LF …).
fn binary_content(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 256) as u8).collect()
}

/// Every file and folder under `root`, with the bytes of files.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                out.insert(p.clone(), None);
                stack.push(p);
            } else {
                out.insert(p.clone(), Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// What changed between two snapshots (for a readable failure).
fn snapshot_diff(
    before: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    after: &BTreeMap<PathBuf, Option<Vec<u8>>>,
) -> Vec<String> {
    let mut d = Vec::new();
    for (p, v) in after {
        match before.get(p) {
            None => d.push(format!("new: {}", p.display())),
            Some(b) if b != v => d.push(format!("changed: {}", p.display())),
            _ => {}
        }
    }
    for p in before.keys() {
        if !after.contains_key(p) {
            d.push(format!("removed: {}", p.display()));
        }
    }
    d
}

/// A failure with `--json`: the exit code, one JSON document
/// `{error, code, hint}` on stdout, the human line on stderr.
#[track_caller]
fn assert_error(r: &Run, exit: i32, code: &str) -> Value {
    assert_eq!(
        r.code, exit,
        "expected exit {exit}\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    let v = r.json();
    assert_eq!(v["code"], code, "error code: {v}");
    assert!(
        v["error"].as_str().is_some_and(|e| !e.trim().is_empty()),
        "an error message: {v}"
    );
    assert!(
        v.as_object().unwrap().contains_key("hint"),
        "the error document has a hint key: {v}"
    );
    assert!(!r.stderr.trim().is_empty(), "stderr says why: {v}");
    v
}

/// The project's folder in a BD_HOME (there is exactly one project there).
fn project_dir(home: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(home.join("projects"))
        .expect("the project home exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "one project in {}: {dirs:?}", home.display());
    dirs[0].clone()
}

/// Commit `.beads/` (if anything changed).
fn commit_beads(dir: &Path, msg: &str) {
    git_bd(dir, &["add", "-A", ".beads"]);
    let staged = git_with_bd(dir, &["diff", "--cached", "--quiet"]);
    if staged.code != 0 {
        git_bd(dir, &["commit", "-q", "-m", msg]);
    }
}

fn pull(dir: &Path) {
    git_bd(
        dir,
        &["pull", "-q", "--no-rebase", "--no-edit", "origin", "main"],
    );
}

// ---------------------------------------------------------------------------
// 1. The round trip in one workspace
// ---------------------------------------------------------------------------

#[test]
fn round_trip_send_inbox_read_ack_reply_thread_search_in_one_workspace() {
    let env = TestEnvironment::new();
    let ws = Ws::of(&env);
    ws.register(&["ann", "bob", "carol"]);

    let content = binary_content(3000);
    let sha = sha256_hex(&content);
    let att = env.tmp.path().join("build.log");
    std::fs::write(&att, &content).unwrap();

    // ann → bob (cc carol): high importance, ack requested, one attachment.
    let m1 = ws.json(
        "ann",
        &[
            "mail",
            "send",
            "--to",
            "bob",
            "--cc",
            "carol",
            "-s",
            "Build is RED on main",
            "-b",
            "The linker fails; see the attached log.",
            "--ack",
            "--attach",
            att.to_str().unwrap(),
            "--importance",
            "high",
        ],
    );
    let id1 = m1["id"].as_str().unwrap().to_string();
    let suffix = id1.strip_prefix("msg-").expect("ids start with msg-");
    assert!(
        suffix.len() >= 12
            && suffix
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()),
        "msg- + at least 12 base36 characters: {id1}"
    );
    assert_eq!(
        m1["thread"],
        id1.as_str(),
        "a new message starts its thread"
    );
    assert!(m1.get("in_reply_to").is_none(), "{m1}");
    assert_eq!(m1["from"], "ann");
    assert_eq!(m1["to"], serde_json::json!(["bob"]));
    assert_eq!(m1["cc"], serde_json::json!(["carol"]));
    assert_eq!(m1["subject"], "Build is RED on main");
    assert_eq!(m1["body"], "The linker fails; see the attached log.");
    assert_eq!(m1["importance"], "high");
    assert_eq!(m1["ack_required"], true);
    assert_eq!(
        m1["attachments"],
        serde_json::json!([{"name": "build.log", "sha256": sha, "size": 3000}])
    );
    assert_eq!(m1["pending"], serde_json::json!([]), "nothing waits: {m1}");
    assert!(m1.get("read_by").is_none() && m1.get("acked_by").is_none());
    instant(&m1["created_at"]);

    // The attachment: committed under its SHA-256, byte for byte.
    assert_eq!(ws.attachment(&sha).as_deref(), Some(&content[..]));
    let names: Vec<String> = std::fs::read_dir(env.beads().join("attachments"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [sha.as_str()],
        "one attachment file, named by its hash"
    );

    // The stored line is the message (minus `pending`).
    let stored = ws.mail();
    assert_eq!(stored.len(), 1);
    let mut expect = m1.clone();
    expect.as_object_mut().unwrap().remove("pending");
    assert_eq!(stored[&id1], expect);

    // A second, plain message, newer, with its body from stdin.
    let m2 = ws
        .bd_stdin(
            "ann",
            &[
                "--json",
                "mail",
                "send",
                "--to",
                "bob",
                "-s",
                "Lunch?",
                "--body-file",
                "-",
            ],
            "Pizza at noon.\nMy treat.\n".as_bytes(),
        )
        .ok()
        .json();
    let id2 = m2["id"].as_str().unwrap().to_string();
    assert_eq!(m2["body"], "Pizza at noon.\nMy treat.\n");
    assert_eq!(m2["importance"], "normal");
    assert_eq!(m2["ack_required"], false);
    assert!(m2.get("cc").is_none() && m2.get("attachments").is_none());
    assert!(instant(&m2["created_at"]) > instant(&m1["created_at"]));

    // bob: both unread, newest first.
    let inbox = ws.json("bob", &["mail", "inbox"]);
    assert_eq!(ids(&inbox), [id2.clone(), id1.clone()]);
    assert_eq!(inbox[1]["attachments"][0]["sha256"], sha.as_str());
    // ann's inbox has neither (she sent them); carol's has the cc.
    assert_eq!(
        ids(&ws.json("ann", &["mail", "inbox"])),
        Vec::<String>::new()
    );
    assert_eq!(ids(&ws.json("carol", &["mail", "inbox"])), [id1.as_str()]);

    // bob reads the newer one: the older, unread one now comes first.
    let before_m1_line = ws.line_of(&id1);
    let r2 = ws.json("bob", &["mail", "read", &id2]);
    assert_eq!(r2["id"], id2.as_str());
    instant(&r2["read_by"]["bob"]);
    assert_eq!(
        ws.line_of(&id1),
        before_m1_line,
        "marking one message read leaves the other line byte-identical"
    );
    assert_eq!(
        ids(&ws.json("bob", &["mail", "inbox", "--all"])),
        [id1.clone(), id2.clone()],
        "unread first, even when older"
    );
    assert_eq!(ids(&ws.json("bob", &["mail", "inbox"])), [id1.as_str()]);

    // Reading by a unique prefix without `msg-`.
    let before_m2_line = ws.line_of(&id2);
    let r1 = ws.json("bob", &["mail", "read", &suffix[..6]]);
    assert_eq!(r1["id"], id1.as_str());
    let read_at = instant(&r1["read_by"]["bob"]);
    assert_eq!(
        r1["read_by"].as_object().unwrap().len(),
        1,
        "only bob's mark: {r1}"
    );
    let line: Value = serde_json::from_str(&ws.line_of(&id1)).unwrap();
    assert_eq!(
        instant(&line["read_by"]["bob"]),
        read_at,
        "the mark is stored"
    );
    assert_eq!(ws.line_of(&id2), before_m2_line);

    // Now nothing unread for bob; `--all` has both (newest first).
    let empty = ws.bd("bob", &["--json", "mail", "inbox"]).ok();
    assert_eq!(empty.json(), serde_json::json!([]));
    assert_eq!(
        ids(&ws.json("bob", &["mail", "inbox", "--all"])),
        [id2.clone(), id1.clone()]
    );
    // bob's read is his own: carol's copy stays unread.
    assert_eq!(ids(&ws.json("carol", &["mail", "inbox"])), [id1.as_str()]);
    // ann (not a recipient) can look at it; that marks nothing.
    let bytes = ws.mail_bytes();
    let seen = ws.json("ann", &["mail", "read", &id1]);
    assert!(seen["read_by"].get("ann").is_none(), "{seen}");
    assert_eq!(
        ws.mail_bytes(),
        bytes,
        "a non-recipient's read writes nothing"
    );

    // Ack: sets acked_by.bob; a second ack changes nothing, says so, exits 0.
    let ack = ws.bd("bob", &["--json", "mail", "ack", &id1]).ok();
    let acked = ack.json();
    let acked_at = instant(&acked["acked_by"]["bob"]);
    assert_eq!(instant(&acked["read_by"]["bob"]), read_at, "read time kept");
    let line: Value = serde_json::from_str(&ws.line_of(&id1)).unwrap();
    assert_eq!(instant(&line["acked_by"]["bob"]), acked_at);
    let bytes = ws.mail_bytes();
    let again = ws.bd("bob", &["--json", "mail", "ack", &id1]).ok();
    assert!(
        again.stderr.contains("Nothing changed"),
        "a second ack says nothing changed: {}",
        again.stderr
    );
    assert_eq!(instant(&again.json()["acked_by"]["bob"]), acked_at);
    assert_eq!(ws.mail_bytes(), bytes, "a second ack writes nothing");

    // bob replies: same thread, in reply to m1, "Re: …", to ann.
    let rep = ws.json(
        "bob",
        &[
            "mail",
            "reply",
            &id1,
            "-b",
            "Fixed in 4f2a9c; it was the linker flags.",
        ],
    );
    let id3 = rep["id"].as_str().unwrap().to_string();
    assert_ne!(id3, id1);
    assert_eq!(rep["thread"], id1.as_str());
    assert_eq!(rep["in_reply_to"], id1.as_str());
    assert_eq!(rep["subject"], "Re: Build is RED on main");
    assert_eq!(rep["from"], "bob");
    assert_eq!(rep["to"], serde_json::json!(["ann"]));
    assert!(
        rep.get("cc").is_none(),
        "a plain reply goes to the sender only"
    );
    assert_eq!(ids(&ws.json("ann", &["mail", "inbox"])), [id3.as_str()]);
    assert_eq!(
        ids(&ws.json("ann", &["mail", "inbox", "--from", "bob"])),
        [id3.as_str()]
    );
    assert_eq!(
        ids(&ws.json("ann", &["mail", "inbox", "--from", "carol"])),
        Vec::<String>::new()
    );
    // A reply to the reply keeps the thread and says "Re:" once.
    let rep2 = ws.json("ann", &["mail", "reply", &id3, "-b", "Thanks!"]);
    let id4 = rep2["id"].as_str().unwrap().to_string();
    assert_eq!(rep2["thread"], id1.as_str());
    assert_eq!(rep2["in_reply_to"], id3.as_str());
    assert_eq!(rep2["subject"], "Re: Build is RED on main");
    assert_eq!(rep2["to"], serde_json::json!(["bob"]));

    // The thread, from any of its messages: oldest first.
    for from in [&id1, &id3, &id4] {
        assert_eq!(
            ids(&ws.json("bob", &["mail", "thread", from])),
            [id1.clone(), id3.clone(), id4.clone()],
            "thread of {from}"
        );
    }
    assert_eq!(
        ids(&ws.json("bob", &["mail", "inbox", "--all", "--thread", &id3])),
        [id4.clone(), id1.clone()],
        "bob's messages in that thread (the reply he wrote is not in his inbox)"
    );

    // Search: case-insensitive, subject and body.
    let found = |q: &str| -> BTreeSet<String> {
        ids(&ws.json("bob", &["mail", "search", q]))
            .into_iter()
            .collect()
    };
    assert_eq!(
        found("red ON MAIN"),
        BTreeSet::from([id1.clone(), id3.clone(), id4.clone()]),
        "subject"
    );
    assert_eq!(
        found("LINKER FAILS"),
        BTreeSet::from([id1.to_string()]),
        "body"
    );
    assert_eq!(found("pIzZa"), BTreeSet::from([id2.to_string()]), "body");
    assert_eq!(found("linker"), BTreeSet::from([id1.clone(), id3.clone()]));
    assert_eq!(found("no such words"), BTreeSet::new());

    // The file: four messages, sorted by id, each line parses.
    let all = ws.mail();
    assert_eq!(
        all.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([id1.clone(), id2, id3, id4])
    );
    assert_eq!(instant(&all[&id1]["read_by"]["bob"]), read_at);
    assert_eq!(instant(&all[&id1]["acked_by"]["bob"]), acked_at);
    // Still one attachment file, still the original bytes.
    assert_eq!(ws.attachment(&sha).as_deref(), Some(&content[..]));
}

// ---------------------------------------------------------------------------
// 2. Live delivery across the workspaces of one machine
// ---------------------------------------------------------------------------

/// `name → unread_mail` from `bd agents --json`.
#[track_caller]
fn unread_counts(ws: &Ws, actor: &str) -> BTreeMap<String, u64> {
    ws.json(actor, &["agents"])
        .as_array()
        .expect("agents is an array")
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["unread_mail"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("unread_mail is a count: {a}")),
            )
        })
        .collect()
}

#[track_caller]
fn prime_unread(ws: &Ws, actor: &str) -> u64 {
    let p = ws.json(actor, &["prime"]);
    p["unread_mail"]
        .as_u64()
        .unwrap_or_else(|| panic!("prime has unread_mail: {p}"))
}

#[test]
fn mail_sent_in_one_clone_is_seen_at_once_in_the_other_clone_and_the_worktree() {
    let m = Machine::new(0);
    let a = Ws::on(&m, &m.a);
    let b = Ws::on(&m, &m.b);
    let wt = Ws::on(&m, &m.wt);
    a.register(&["ann"]);
    b.register(&["bob"]);
    wt.register(&["carol"]);

    let content = binary_content(5000);
    let sha = sha256_hex(&content);
    let att = m.env.tmp.path().join("trace.bin");
    std::fs::write(&att, &content).unwrap();

    let m1 = a.json(
        "ann",
        &[
            "mail",
            "send",
            "--to",
            "bob",
            "-s",
            "Please look at the trace",
            "-b",
            "Attached.",
            "--attach",
            att.to_str().unwrap(),
        ],
    );
    let id1 = m1["id"].as_str().unwrap().to_string();
    let m2 = a.json(
        "ann",
        &["mail", "send", "--to", "bob,carol", "-s", "Standup at 10"],
    );
    let id2 = m2["id"].as_str().unwrap().to_string();
    assert_eq!(m2["to"], serde_json::json!(["bob", "carol"]), "comma list");

    // No git exchange: B and the worktree have no mail file of their own yet,
    // but bob sees both messages in either, and carol hers.
    assert!(!b.mail_path().exists() && !wt.mail_path().exists());
    let in_b = b.json("bob", &["mail", "inbox"]);
    assert_eq!(ids(&in_b), [id2.clone(), id1.clone()]);
    assert_eq!(in_b[1]["attachments"][0]["sha256"], sha.as_str());
    assert_eq!(in_b[1]["from"], "ann");
    assert_eq!(
        ids(&wt.json("bob", &["mail", "inbox"])),
        [id2.clone(), id1.clone()]
    );
    assert_eq!(ids(&wt.json("carol", &["mail", "inbox"])), [id2.as_str()]);
    assert_eq!(ids(&b.json("carol", &["mail", "inbox"])), [id2.as_str()]);
    assert!(
        b.attachment(&sha).is_none(),
        "the attachment is not in B before it is read there"
    );

    // Unread counts per agent, from any workspace.
    let want: BTreeMap<String, u64> =
        BTreeMap::from([("ann".into(), 0), ("bob".into(), 2), ("carol".into(), 1)]);
    assert_eq!(unread_counts(&a, "ann"), want);
    assert_eq!(unread_counts(&b, "bob"), want);
    assert_eq!(prime_unread(&b, "bob"), 2);
    assert_eq!(prime_unread(&wt, "carol"), 1);
    assert_eq!(prime_unread(&a, "ann"), 0);

    // bob reads the attached message in B: the attachment is copied into B,
    // byte-identical, and the message is stored in B's mail.jsonl.
    let r = b.json("bob", &["mail", "read", &id1]);
    instant(&r["read_by"]["bob"]);
    assert_eq!(b.attachment(&sha).as_deref(), Some(&content[..]));
    let stored_b = b.mail();
    assert_eq!(stored_b.keys().cloned().collect::<Vec<_>>(), [id1.as_str()]);
    assert_eq!(stored_b[&id1]["attachments"], m1["attachments"]);
    instant(&stored_b[&id1]["read_by"]["bob"]);
    // A's file is A's: another workspace's read never writes into it.
    for (id, msg) in a.mail() {
        assert!(msg.get("read_by").is_none(), "{id} in A: {msg}");
    }

    // The read is seen at once in the worktree too, and the counts drop.
    assert_eq!(ids(&wt.json("bob", &["mail", "inbox"])), [id2.as_str()]);
    let want: BTreeMap<String, u64> =
        BTreeMap::from([("ann".into(), 0), ("bob".into(), 1), ("carol".into(), 1)]);
    assert_eq!(unread_counts(&wt, "carol"), want);
    assert_eq!(prime_unread(&b, "bob"), 1);

    // bob reads the other one in the worktree; carol reads hers in B.
    wt.json("bob", &["mail", "read", &id2]);
    b.json("carol", &["mail", "read", &id2]);
    let want: BTreeMap<String, u64> =
        BTreeMap::from([("ann".into(), 0), ("bob".into(), 0), ("carol".into(), 0)]);
    assert_eq!(unread_counts(&a, "ann"), want);
    assert_eq!(prime_unread(&b, "bob"), 0);
    assert_eq!(prime_unread(&a, "carol"), 0);
    assert_eq!(b.json("bob", &["mail", "inbox"]), serde_json::json!([]));

    // A reply from B reaches ann in A at once, in the same thread.
    let rep = b.json("bob", &["mail", "reply", &id1, "-b", "Looking now."]);
    let id3 = rep["id"].as_str().unwrap().to_string();
    let in_a = a.json("ann", &["mail", "inbox"]);
    assert_eq!(ids(&in_a), [id3.as_str()]);
    assert_eq!(in_a[0]["thread"], id1.as_str());
    assert_eq!(in_a[0]["in_reply_to"], id1.as_str());
    assert_eq!(
        ids(&a.json("ann", &["mail", "thread", &id3])),
        [id1.clone(), id3.clone()]
    );
    assert_eq!(prime_unread(&a, "ann"), 1);

    // @all reaches every agent, wherever it works.
    let all = a.json(
        "ann",
        &["mail", "send", "--to", "@all", "-s", "Freeze at 5pm"],
    );
    let id4 = all["id"].as_str().unwrap().to_string();
    assert_eq!(all["to"], serde_json::json!(["@all"]));
    assert_eq!(ids(&b.json("bob", &["mail", "inbox"])), [id4.as_str()]);
    assert_eq!(ids(&wt.json("carol", &["mail", "inbox"])), [id4.as_str()]);
    b.json("bob", &["mail", "read", &id4]);
    assert_eq!(
        ids(&wt.json("carol", &["mail", "inbox"])),
        [id4.as_str()],
        "bob's read of @all mail is bob's only"
    );
    let counts = unread_counts(&a, "ann");
    assert_eq!((counts["bob"], counts["carol"]), (0, 1), "{counts:?}");
}

// ---------------------------------------------------------------------------
// 3. Concurrent senders and readers in one workspace
// ---------------------------------------------------------------------------

#[test]
fn eight_concurrent_senders_lose_no_message_and_concurrent_reads_keep_every_mark() {
    const SENDERS: usize = 8;
    const EACH: usize = 25;
    let env = TestEnvironment::new();
    let ws = Ws::of(&env);
    ws.register(&["boss"]);

    let barrier = Barrier::new(SENDERS);
    let sent: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..SENDERS)
            .map(|w| {
                let ws = &ws;
                let barrier = &barrier;
                s.spawn(move || {
                    let actor = format!("worker-{w}");
                    barrier.wait();
                    let mut out = Vec::new();
                    for i in 0..EACH {
                        let subject = format!("report {w}/{i}");
                        let r = ws.bd(
                            &actor,
                            &["mail", "send", "--to", "boss", "-s", &subject, "-b", "done"],
                        );
                        assert_eq!(
                            r.code, 0,
                            "{actor} send {i}\nstdout: {}\nstderr: {}",
                            r.stdout, r.stderr
                        );
                        out.push(r.stdout.trim().to_string());
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a sender thread"))
            .collect()
    });
    let sent_set: BTreeSet<String> = sent.iter().cloned().collect();
    assert_eq!(
        sent_set.len(),
        SENDERS * EACH,
        "every send printed its own id"
    );

    let lines = ws.mail_lines();
    assert_eq!(lines.len(), SENDERS * EACH, "one line per message");
    let stored = ws.mail(); // every line parses, sorted, unique
    assert_eq!(stored.keys().cloned().collect::<BTreeSet<_>>(), sent_set);
    let subjects: BTreeSet<String> = stored
        .values()
        .map(|m| {
            assert_eq!(m["to"], serde_json::json!(["boss"]));
            format!(
                "{} {}",
                m["from"].as_str().unwrap(),
                m["subject"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(subjects.len(), SENDERS * EACH);

    let inbox = ws.json("boss", &["mail", "inbox"]);
    assert_eq!(
        ids(&inbox).into_iter().collect::<BTreeSet<_>>(),
        sent_set,
        "boss's inbox has all 200"
    );
    assert_eq!(inbox.as_array().unwrap().len(), SENDERS * EACH);
    let live = std::fs::read_to_string(project_dir(&env.home).join("mail/boss.jsonl")).unwrap();
    assert_eq!(
        live.lines().count(),
        SENDERS * EACH,
        "every live delivery kept"
    );

    // Now boss writes to all, and every worker reads and acks it at once.
    let note = ws.json(
        "boss",
        &["mail", "send", "--to", "@all", "-s", "Thanks all", "--ack"],
    );
    let nid = note["id"].as_str().unwrap().to_string();
    let barrier = Barrier::new(SENDERS);
    std::thread::scope(|s| {
        for w in 0..SENDERS {
            let ws = &ws;
            let barrier = &barrier;
            let nid = &nid;
            s.spawn(move || {
                let actor = format!("worker-{w}");
                barrier.wait();
                ws.bd(&actor, &["mail", "read", nid]).ok();
                ws.bd(&actor, &["mail", "ack", nid]).ok();
            });
        }
    });
    let stored = ws.mail();
    assert_eq!(stored.len(), SENDERS * EACH + 1);
    let workers: BTreeSet<String> = (0..SENDERS).map(|w| format!("worker-{w}")).collect();
    for field in ["read_by", "acked_by"] {
        let keys: BTreeSet<String> = stored[&nid][field]
            .as_object()
            .unwrap_or_else(|| panic!("{field} on {nid}: {}", stored[&nid]))
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, workers, "{field} keeps every concurrent mark");
    }
    for w in &workers {
        assert_eq!(ws.json(w, &["mail", "inbox"]), serde_json::json!([]), "{w}");
    }
}

// ---------------------------------------------------------------------------
// 4. Two machines converge through git
// ---------------------------------------------------------------------------

/// Two machines (A with the default home, B with its own) both send and read,
/// including the same message read in both at different times; then they
/// exchange through git, `a_first` deciding who pushes first. Returns the
/// final bytes of `mail.jsonl` (identical in A and B).
fn converge(a_first: bool) -> Vec<u8> {
    let m = Machine::new(0);
    let a = Ws::on(&m, &m.a);
    let b = Ws {
        dir: m.b.clone(),
        home: m.env.machine_home("b"),
        clock: m.env.clock.clone(),
    };
    for ws in [&a, &b] {
        for who in ["ann", "bob", "carol"] {
            ws.bd_now(who, &at(0), &["agent", "register"]).ok();
        }
    }

    // A sends two messages (one with an attachment); B gets them by git.
    let content = binary_content(700);
    let sha = sha256_hex(&content);
    let att = m.env.tmp.path().join("core.txt");
    std::fs::write(&att, &content).unwrap();
    let id1 = a.json_now(
        "ann",
        &at(1),
        &[
            "mail",
            "send",
            "--to",
            "bob",
            "-s",
            "m1",
            "--ack",
            "--attach",
            att.to_str().unwrap(),
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let id2 = a.json_now(
        "ann",
        &at(2),
        &["mail", "send", "--to", "carol", "-s", "m2"],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    commit_beads(&m.a, "mail");
    git_bd(&m.a, &["push", "-q", "origin", "main"]);
    b.bd_now("bob", &at(3), &["where"]).ok(); // sets B's merge driver
    pull(&m.b);
    assert_eq!(b.mail_bytes(), a.mail_bytes());
    assert_eq!(b.attachment(&sha).as_deref(), Some(&content[..]));

    // Apart: both read m1 (B earlier) and m2 (A earlier), both send.
    let read = |ws: &Ws, who: &str, t: u32, id: &str| {
        ws.json_now(who, &at(t), &["mail", "read", id]);
    };
    read(&a, "carol", 11, &id2);
    a.json_now("carol", &at(12), &["mail", "ack", &id2]);
    let id3 = a.json_now("dan", &at(13), &["mail", "send", "--to", "bob", "-s", "m3"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    read(&a, "bob", 20, &id1);

    read(&b, "bob", 10, &id1);
    let id4 = b.json_now(
        "erin",
        &at(14),
        &["mail", "send", "--to", "ann", "-s", "m4"],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let id5 = b.json_now("bob", &at(15), &["mail", "reply", &id1, "-b", "on it"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    read(&b, "carol", 21, &id2);
    b.json_now("bob", &at(22), &["mail", "ack", &id1]);

    let (before_a, before_b) = (a.mail(), b.mail());
    assert_eq!(
        instant(&before_a[&id1]["read_by"]["bob"]),
        instant(&Value::from(at(20)))
    );
    assert_eq!(
        instant(&before_b[&id1]["read_by"]["bob"]),
        instant(&Value::from(at(10)))
    );

    commit_beads(&m.a, "mail in A");
    commit_beads(&m.b, "mail in B");
    let (first, second) = if a_first { (&m.a, &m.b) } else { (&m.b, &m.a) };
    git_bd(first, &["push", "-q", "origin", "main"]);
    pull(second); // a real merge: the driver runs
    git_bd(second, &["push", "-q", "origin", "main"]);
    pull(first);

    let (bytes_a, bytes_b) = (a.mail_bytes(), b.mail_bytes());
    assert_eq!(
        String::from_utf8_lossy(&bytes_a),
        String::from_utf8_lossy(&bytes_b),
        "A and B hold the same mail.jsonl"
    );
    let merged = a.mail(); // sorted, unique, every line parses
    assert_eq!(
        merged.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            id1.clone(),
            id2.clone(),
            id3.clone(),
            id4.clone(),
            id5.clone()
        ]),
        "nothing lost"
    );
    // Every message present on either side keeps its content.
    for (id, msg) in before_a.iter().chain(before_b.iter()) {
        for key in [
            "thread",
            "from",
            "to",
            "subject",
            "created_at",
            "attachments",
        ] {
            assert_eq!(merged[id].get(key), msg.get(key), "{id}.{key}");
        }
    }
    // Read marks: the union, the earliest time per agent.
    let marks = |id: &str, field: &str| -> BTreeMap<String, i64> {
        merged[id]
            .get(field)
            .and_then(Value::as_object)
            .map(|o| o.iter().map(|(k, v)| (k.clone(), instant(v))).collect())
            .unwrap_or_default()
    };
    let t = |s: u32| instant(&Value::from(at(s)));
    assert_eq!(
        marks(&id1, "read_by"),
        BTreeMap::from([("bob".into(), t(10))])
    );
    assert_eq!(
        marks(&id1, "acked_by"),
        BTreeMap::from([("bob".into(), t(22))])
    );
    assert_eq!(
        marks(&id2, "read_by"),
        BTreeMap::from([("carol".into(), t(11))])
    );
    assert_eq!(
        marks(&id2, "acked_by"),
        BTreeMap::from([("carol".into(), t(12))])
    );
    for id in [&id3, &id4, &id5] {
        assert!(marks(id, "read_by").is_empty(), "{id}: {}", merged[id]);
    }
    assert_eq!(merged[&id5]["in_reply_to"], id1.as_str());
    assert_eq!(a.attachment(&sha).as_deref(), Some(&content[..]));
    assert_eq!(b.attachment(&sha).as_deref(), Some(&content[..]));

    // Both machines show bob the same inbox after the exchange.
    assert_eq!(
        a.json_now("bob", &at(30), &["mail", "inbox", "--all"]),
        b.json_now("bob", &at(30), &["mail", "inbox", "--all"])
    );
    bytes_a
}

#[test]
fn two_machines_that_send_and_read_converge_to_the_same_bytes_in_either_order() {
    let a_first = converge(true);
    let b_first = converge(false);
    assert_eq!(
        String::from_utf8_lossy(&a_first),
        String::from_utf8_lossy(&b_first),
        "the merge is commutative: the push/pull order does not change the bytes"
    );
}

// ---------------------------------------------------------------------------
// 5. Bad input: a clear error, the right code, nothing written
// ---------------------------------------------------------------------------

#[test]
fn bad_mail_input_fails_clearly_and_writes_nothing() {
    let env = TestEnvironment::new();
    let ws = Ws::of(&env);
    ws.register(&["ann", "bob", "dave"]);
    let tmp = env.tmp.path().to_path_buf();

    // Something to protect: two stored messages, one attachment.
    let good = tmp.join("good.txt");
    std::fs::write(&good, b"12345").unwrap();
    let first = ws.json(
        "ann",
        &[
            "mail",
            "send",
            "--to",
            "bob",
            "-s",
            "first",
            "--attach",
            good.to_str().unwrap(),
        ],
    );
    ws.json("ann", &["mail", "send", "--to", "bob", "-s", "second"]);
    let first_id = first["id"].as_str().unwrap().to_string();

    // Two ways of making the project name `beads` and `tools` ambiguous: two
    // `[projects]` entries, and two project homes known on this machine.
    ws.bd(
        "ann",
        &["config", "set", "projects.x", "github.com/a/beads"],
    )
    .ok();
    ws.bd(
        "ann",
        &["config", "set", "projects.y", "gitlab.com/b/beads"],
    )
    .ok();
    for home in ["github.com%2Fc%2Ftools", "gitlab.com%2Fd%2Ftools"] {
        std::fs::create_dir_all(env.home.join("projects").join(home)).unwrap();
    }
    ws.bd("ann", &["config", "set", "attachment_limit", "10"])
        .ok();

    let eleven = tmp.join("eleven.bin");
    std::fs::write(&eleven, b"12345678901").unwrap();
    let not_utf8 = tmp.join("latin1.txt");
    std::fs::write(&not_utf8, b"caf\xe9 cr\xe8me\n").unwrap();
    let ctl_name = tmp.join("bad\nname.txt");
    std::fs::write(&ctl_name, b"x").unwrap();
    let missing = tmp.join("no-such-file.txt");
    let (eleven, not_utf8, ctl_name, missing) = (
        eleven.to_str().unwrap().to_string(),
        not_utf8.to_str().unwrap().to_string(),
        ctl_name.to_str().unwrap().to_string(),
        missing.to_str().unwrap().to_string(),
    );

    let before = snapshot(&tmp);
    let mail_before = ws.mail_bytes();
    let check_unchanged = |what: &str| {
        let after = snapshot(&tmp);
        assert_eq!(ws.mail_bytes(), mail_before, "{what}: mail.jsonl unchanged");
        let d = snapshot_diff(&before, &after);
        assert!(d.is_empty(), "{what} wrote something: {d:#?}");
    };
    let send = |args: &[&str]| -> Run {
        let mut a = vec!["--json", "mail", "send"];
        a.extend_from_slice(args);
        ws.bd("ann", &a)
    };
    let err_text = |v: &Value| -> String {
        format!(
            "{} {}",
            v["error"].as_str().unwrap_or(""),
            v["hint"].as_str().unwrap_or("")
        )
    };

    // Unknown recipients (`Dave` is not one: it folds like the registered
    // `dave`, issue 9 item 4).
    let v = assert_error(&send(&["--to", "carol", "-s", "x"]), 1, "not_found");
    assert!(v["error"].as_str().unwrap().contains("carol"), "{v}");
    // One bad name among good ones: nothing is sent to the good ones either.
    assert_error(&send(&["--to", "bob,carol", "-s", "x"]), 1, "not_found");
    assert_error(
        &send(&["--to", "bob", "--cc", "carol", "-s", "x"]),
        1,
        "not_found",
    );
    check_unchanged("a partly unknown recipient list");

    // Unknown project.
    for to in ["@nosuch", "bob@nosuch"] {
        let v = assert_error(&send(&["--to", to, "-s", "x"]), 1, "not_found");
        assert!(v["error"].as_str().unwrap().contains("nosuch"), "{v}");
        assert!(
            err_text(&v).contains("project:"),
            "the hint names project:<identity>: {v}"
        );
        check_unchanged(to);
    }

    // Ambiguous project: the error lists the candidates.
    for (to, cands) in [
        ("@beads", ["github.com/a/beads", "gitlab.com/b/beads"]),
        ("bob@beads", ["github.com/a/beads", "gitlab.com/b/beads"]),
        ("@tools", ["github.com/c/tools", "gitlab.com/d/tools"]),
    ] {
        let v = assert_error(&send(&["--to", to, "-s", "x"]), 1, "ambiguous");
        for c in cands {
            assert!(err_text(&v).contains(c), "{to}: lists {c}: {v}");
        }
        check_unchanged(to);
    }

    // Attachments: missing, too big, a folder, a name with a control character.
    let v = assert_error(
        &send(&["--to", "bob", "-s", "x", "--attach", &missing]),
        1,
        "not_found",
    );
    assert!(
        v["error"].as_str().unwrap().contains("no-such-file.txt"),
        "{v}"
    );
    let v = assert_error(
        &send(&["--to", "bob", "-s", "x", "--attach", &eleven]),
        1,
        "invalid",
    );
    assert!(v["error"].as_str().unwrap().contains("11"), "{v}");
    assert!(
        v["hint"]
            .as_str()
            .unwrap_or("")
            .contains("attachment_limit"),
        "{v}"
    );
    assert_error(
        &send(&["--to", "bob", "-s", "x", "--attach", tmp.to_str().unwrap()]),
        1,
        "invalid",
    );
    assert_error(
        &send(&["--to", "bob", "-s", "x", "--attach", &ctl_name]),
        1,
        "invalid",
    );
    check_unchanged("bad attachments");

    // A body that is not UTF-8, from a file or stdin.
    let v = assert_error(
        &send(&["--to", "bob", "-s", "x", "--body-file", &not_utf8]),
        1,
        "invalid",
    );
    assert!(v["error"].as_str().unwrap().contains("UTF-8"), "{v}");
    let r = ws.bd_stdin(
        "ann",
        &[
            "--json",
            "mail",
            "send",
            "--to",
            "bob",
            "-s",
            "x",
            "--body-file",
            "-",
        ],
        b"\xff\xfe\x00oops",
    );
    assert_error(&r, 1, "invalid");
    check_unchanged("a body that is not UTF-8");

    // Hostile recipient names.
    for (name, code) in [
        ("../x", "not_found"),
        ("../../../../etc/passwd", "not_found"),
        ("..", "invalid"),
        (".", "invalid"),
        ("a\\b", "invalid"),
        ("b\nob", "invalid"),
        ("a\u{7}b", "invalid"),
        ("a\tb", "invalid"),
        ("a\u{1b}[31mb", "invalid"),
        ("bob\u{7f}", "invalid"),
        ("@", "invalid"),
        ("a@b@c", "invalid"),
        ("project:", "invalid"),
    ] {
        assert_error(&send(&["--to", name, "-s", "x"]), 1, code);
        check_unchanged(&format!("--to {name:?}"));
    }

    // Subject and importance.
    for subject in ["", "   ", "bad\nsubject"] {
        assert_error(&send(&["--to", "bob", "-s", subject]), 1, "invalid");
    }
    let v = assert_error(
        &send(&["--to", "bob", "-s", "x", "--importance", "huge"]),
        1,
        "invalid",
    );
    assert!(v["error"].as_str().unwrap().contains("huge"), "{v}");
    assert_error(
        &send(&["--to", "bob", "-s", "x", "--importance", "HIGH"]),
        1,
        "invalid",
    );
    // Missing --to or -s is a usage error (exit 2).
    assert_error(&send(&["-s", "x"]), 2, "usage");
    assert_error(&send(&["--to", "bob"]), 2, "usage");
    assert_error(
        &send(&[
            "--to",
            "bob",
            "-s",
            "x",
            "-b",
            "a",
            "--body-file",
            &not_utf8,
        ]),
        2,
        "usage",
    );
    check_unchanged("subject and importance");

    // Reading, replying to, acking what is not there (or not yours).
    let v = assert_error(
        &ws.bd("bob", &["--json", "mail", "read", "nosuch"]),
        1,
        "not_found",
    );
    assert!(v["error"].as_str().unwrap().contains("nosuch"), "{v}");
    assert_error(
        &ws.bd("bob", &["--json", "mail", "read", "msg-zzzzzzzzzzzz"]),
        1,
        "not_found",
    );
    assert_error(&ws.bd("bob", &["--json", "mail", "read", ""]), 1, "invalid");
    // `msg-` is a prefix of both stored messages.
    let v = assert_error(
        &ws.bd("bob", &["--json", "mail", "read", "msg-"]),
        1,
        "ambiguous",
    );
    assert!(
        err_text(&v).contains(&first_id),
        "lists the candidates: {v}"
    );
    assert_error(
        &ws.bd("bob", &["--json", "mail", "reply", "nosuch", "-b", "x"]),
        1,
        "not_found",
    );
    assert_error(
        &ws.bd("bob", &["--json", "mail", "ack", "nosuch"]),
        1,
        "not_found",
    );
    assert_error(
        &ws.bd("bob", &["--json", "mail", "thread", "nosuch"]),
        1,
        "not_found",
    );
    assert_error(
        &ws.bd("bob", &["--json", "mail", "search", "  "]),
        1,
        "invalid",
    );
    let v = assert_error(
        &ws.bd("ann", &["--json", "mail", "ack", &first_id]),
        1,
        "invalid",
    );
    assert!(
        v["error"].as_str().unwrap().contains("ann"),
        "only a recipient acks: {v}"
    );
    check_unchanged("read/reply/ack/thread/search of what is not there");

    // The limit is inclusive: exactly 10 bytes is accepted.
    let ten = tmp.join("ten.bin");
    std::fs::write(&ten, b"1234567890").unwrap();
    let ok = ws.json(
        "ann",
        &[
            "mail",
            "send",
            "--to",
            "bob",
            "-s",
            "ten",
            "--attach",
            ten.to_str().unwrap(),
        ],
    );
    assert_eq!(ok["attachments"][0]["size"], 10);
    assert_eq!(ws.mail().len(), 3);
}

/// The hint of an ambiguous project address should say how to name one
/// project; it says "give more characters of the ID", which is about issue
/// IDs and cannot help (every candidate ends in the same name).
#[test]
fn ambiguous_project_address_hint_says_how_to_disambiguate() {
    let env = TestEnvironment::new();
    let ws = Ws::of(&env);
    ws.register(&["ann", "bob"]);
    ws.bd(
        "ann",
        &["config", "set", "projects.x", "github.com/a/beads"],
    )
    .ok();
    ws.bd(
        "ann",
        &["config", "set", "projects.y", "gitlab.com/b/beads"],
    )
    .ok();
    let r = ws.bd(
        "ann",
        &["--json", "mail", "send", "--to", "@beads", "-s", "x"],
    );
    let v = assert_error(&r, 1, "ambiguous");
    let hint = v["hint"].as_str().unwrap_or("");
    assert!(
        hint.contains("project:") && !hint.contains("characters of the ID"),
        "the hint says how to name one project: {v}"
    );
    assert!(
        !v["error"].as_str().unwrap().contains("ambiguous ID"),
        "a project address is not an ID: {v}"
    );
}

/// With `--json`, a usage error should name what is missing; it keeps only
/// clap's first line, "the following required arguments were not provided:".
#[test]
fn json_usage_error_names_the_missing_argument() {
    let env = TestEnvironment::new();
    let ws = Ws::of(&env);
    ws.register(&["ann", "bob"]);
    let r = ws.bd("ann", &["--json", "mail", "send", "--to", "bob"]);
    let v = assert_error(&r, 2, "usage");
    assert!(
        v["error"].as_str().unwrap().contains("--subject"),
        "the error names the missing argument: {v}"
    );
}

// ---------------------------------------------------------------------------
// 6. A hostile but valid agent name stays in its folder
// ---------------------------------------------------------------------------

#[test]
fn mail_to_an_agent_named_like_a_path_stays_in_the_mail_folder() {
    let env = TestEnvironment::new();
    let ws = Ws::of(&env);
    ws.register(&["ann", "../x", "Dave"]);
    let pdir = project_dir(&env.home);
    let outside_before = snapshot(env.tmp.path())
        .into_keys()
        .filter(|p| !p.starts_with(&pdir) && !p.starts_with(env.beads()))
        .collect::<BTreeSet<_>>();

    let to_x = ws.json("ann", &["mail", "send", "--to", "../x", "-s", "hi x"]);
    let to_dave = ws.json("ann", &["mail", "send", "--to", "Dave", "-s", "hi Dave"]);
    assert_eq!(to_x["to"], serde_json::json!(["../x"]));

    // Live copies are percent-escaped file names inside mail/.
    let mut live: Vec<String> = std::fs::read_dir(pdir.join("mail"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonl"))
        .collect();
    live.sort();
    assert_eq!(live, ["%44ave.jsonl", "..%2Fx.jsonl"]);
    let outside_after = snapshot(env.tmp.path())
        .into_keys()
        .filter(|p| !p.starts_with(&pdir) && !p.starts_with(env.beads()))
        .collect::<BTreeSet<_>>();
    assert_eq!(
        outside_after
            .difference(&outside_before)
            .collect::<Vec<_>>(),
        Vec::<&PathBuf>::new(),
        "nothing written outside the project home and .beads/"
    );

    assert_eq!(
        ids(&ws.json("../x", &["mail", "inbox"])),
        [to_x["id"].as_str().unwrap()]
    );
    assert_eq!(
        ids(&ws.json("Dave", &["mail", "inbox"])),
        [to_dave["id"].as_str().unwrap()]
    );
    // `dave` folds like the registered `Dave` (issue 9 item 4): the same agent.
    assert_eq!(
        ids(&ws.json("dave", &["mail", "inbox"])),
        [to_dave["id"].as_str().unwrap()]
    );
}

// ---------------------------------------------------------------------------
// 7. Commits: a send commits (with its attachment), marking read never does
// ---------------------------------------------------------------------------

#[test]
fn with_auto_commit_on_a_send_commits_its_attachment_and_a_read_commits_nothing() {
    let env = TestEnvironment::new();
    let ws = Ws::of(&env);
    ws.register(&["ann", "bob"]);
    ws.bd("ann", &["config", "set", "auto_commit", "on"]).ok();
    git(&env.repo, &["add", "-A"]);
    git(&env.repo, &["commit", "-q", "-m", "setup"]);
    // The first commit changes a local project's identity: register again.
    ws.register(&["ann", "bob"]);
    let head = |dir: &Path| git(dir, &["rev-parse", "HEAD"]).trim().to_string();

    let content = binary_content(300);
    let sha = sha256_hex(&content);
    let att = env.tmp.path().join("dump.bin");
    std::fs::write(&att, &content).unwrap();
    let before = head(&env.repo);
    let m = ws.json(
        "ann",
        &[
            "mail",
            "send",
            "--to",
            "bob",
            "-s",
            "core dump",
            "--attach",
            att.to_str().unwrap(),
        ],
    );
    let id = m["id"].as_str().unwrap().to_string();
    let after_send = head(&env.repo);
    assert_ne!(
        after_send, before,
        "auto_commit = on: the send is committed"
    );
    let files: BTreeSet<String> = git(
        &env.repo,
        &["diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD"],
    )
    .lines()
    .map(str::to_string)
    .collect();
    assert_eq!(
        files,
        BTreeSet::from([
            ".beads/mail.jsonl".to_string(),
            format!(".beads/attachments/{sha}"),
        ]),
        "the commit holds the message and its attachment"
    );
    let committed = std::process::Command::new("git")
        .args(["show", &format!("HEAD:.beads/attachments/{sha}")])
        .current_dir(&env.repo)
        .output()
        .unwrap();
    assert_eq!(
        committed.stdout, content,
        "committed bytes are the original"
    );

    ws.json("bob", &["mail", "read", &id]);
    ws.json("bob", &["mail", "ack", &id]);
    assert_eq!(head(&env.repo), after_send, "marking read never commits");
    let status = git(&env.repo, &["status", "--porcelain", "--", ".beads"]);
    assert_eq!(
        status.trim(),
        "M .beads/mail.jsonl",
        "the marks wait in the tree"
    );
}

// ---------------------------------------------------------------------------
// Bugs found by these tests, now fixed (regression tests)
// ---------------------------------------------------------------------------

/// A line of `mail.jsonl` that does not parse blocks every mail write with
/// the hint "run `bd doctor --fix`", but `bd doctor` reports no problem and
/// `bd doctor --fix` leaves the line where it is (doctor only knows
/// issues.jsonl), so mail stays blocked.
#[test]
fn doctor_fix_quarantines_a_bad_line_of_mail_jsonl() {
    let env = TestEnvironment::new();
    let ws = Ws::of(&env);
    ws.register(&["ann", "bob"]);
    let id = ws.json("ann", &["mail", "send", "--to", "bob", "-s", "one"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bytes = ws.mail_bytes();
    bytes.extend_from_slice(b"{oops\n");
    std::fs::write(ws.mail_path(), &bytes).unwrap();

    let r = ws.bd(
        "ann",
        &["--json", "mail", "send", "--to", "bob", "-s", "two"],
    );
    let v = assert_error(&r, 1, "parse");
    assert!(
        v["hint"].as_str().unwrap_or("").contains("bd doctor --fix"),
        "{v}"
    );

    let doc = ws.bd("ann", &["doctor"]);
    assert_ne!(doc.code, 0, "doctor reports the bad line: {}", doc.stdout);
    ws.bd("ann", &["doctor", "--fix"]).ok();
    assert_eq!(ws.mail().keys().cloned().collect::<Vec<_>>(), [id]);
    let quarantined: String = std::fs::read_dir(env.beads().join("quarantine"))
        .expect("a quarantine folder")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(quarantined.contains("{oops"), "{quarantined}");
    ws.json("ann", &["mail", "send", "--to", "bob", "-s", "two"]);
}

/// bob reads a message in the worktree (at 05:00, marked on the live copy
/// too), then acks it in clone A (at 06:00), whose mail.jsonl has the message
/// without bob's mark. `ack` knows the 05:00 read from the live copy but
/// writes and prints read_by.bob = 06:00: a read time later than the real
/// one, and the only one that survives if the worktree is dropped uncommitted.
#[test]
fn ack_keeps_the_read_time_known_from_another_workspace() {
    let m = Machine::new(0);
    let a = Ws::on(&m, &m.a);
    let wt = Ws::on(&m, &m.wt);
    a.register(&["ann", "bob"]);
    // Sent the same day (live copies older than 7 days are dropped).
    let id = a.json_now(
        "ann",
        "2030-01-01T04:00:00Z",
        &["mail", "send", "--to", "bob", "-s", "please ack", "--ack"],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let read = wt.json_now("bob", "2030-01-01T05:00:00Z", &["mail", "read", &id]);
    let read_at = instant(&read["read_by"]["bob"]);
    let ack = a.json_now("bob", "2030-01-01T06:00:00Z", &["mail", "ack", &id]);
    assert_eq!(
        instant(&ack["read_by"]["bob"]),
        read_at,
        "ack output keeps the earlier read: {ack}"
    );
    let stored = a.mail();
    assert_eq!(
        instant(&stored[&id]["read_by"]["bob"]),
        read_at,
        "A's file keeps the earlier read: {}",
        stored[&id]
    );
}

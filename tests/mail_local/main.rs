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

#[path = "../common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Barrier;

use common::{Machine, Run, TestEnvironment, Workspace, git, git_bd, git_with_bd};
use serde_json::Value;
use sha2::{Digest, Sha256};
use strand::model::time;

/// The environment's own workspace, as the mail tests run it (a long lock
/// timeout: they race on purpose).
fn ws_of(env: &TestEnvironment) -> Workspace {
    env.ws().with_env("BD_LOCK_TIMEOUT_MS", "60000")
}

/// The working tree `dir` on the machine of `m` (its BD_HOME).
fn ws_on(m: &Machine, dir: &Path) -> Workspace {
    m.env
        .workspace(dir, &m.env.home, "tester")
        .with_env("BD_LOCK_TIMEOUT_MS", "60000")
}

#[track_caller]
fn register(ws: &Workspace, actors: &[&str]) {
    for a in actors {
        ws.bd_as(a, &["agent", "register"]).ok();
    }
}

fn mail_path(ws: &Workspace) -> PathBuf {
    ws.dir.join(".beads/mail.jsonl")
}

fn mail_bytes(ws: &Workspace) -> Vec<u8> {
    std::fs::read(mail_path(ws)).unwrap_or_default()
}

/// The raw lines of `mail.jsonl` (each checked to end with `\n`).
fn mail_lines(ws: &Workspace) -> Vec<String> {
    let text = String::from_utf8(mail_bytes(ws)).expect("mail.jsonl is UTF-8");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "mail.jsonl ends with a newline"
    );
    text.lines().map(str::to_string).collect()
}

/// Every message of `mail.jsonl` by id; asserts every line parses, ids
/// are unique and the file is sorted by id.
#[track_caller]
fn mail(ws: &Workspace) -> BTreeMap<String, Value> {
    let lines = mail_lines(ws);
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

fn line_of(ws: &Workspace, id: &str) -> String {
    let needle = format!("{{\"id\":\"{id}\",");
    mail_lines(ws)
        .into_iter()
        .find(|l| l.starts_with(&needle))
        .unwrap_or_else(|| panic!("no line for {id} in {}", mail_path(ws).display()))
}

fn attachment(ws: &Workspace, sha: &str) -> Option<Vec<u8>> {
    std::fs::read(ws.dir.join(".beads/attachments").join(sha)).ok()
}

mod clones;
mod concurrency;
mod refusals;
mod round_trip;

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
// 2. Live delivery across the workspaces of one machine
// ---------------------------------------------------------------------------

/// `name → unread_mail` from `bd agents --json`.
#[track_caller]
fn unread_counts(ws: &Workspace, actor: &str) -> BTreeMap<String, u64> {
    ws.json_as(actor, &["agents"])
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
fn prime_unread(ws: &Workspace, actor: &str) -> u64 {
    let p = ws.json_as(actor, &["prime"]);
    p["unread_mail"]
        .as_u64()
        .unwrap_or_else(|| panic!("prime has unread_mail: {p}"))
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
    let a = ws_on(&m, &m.a);
    let b = m
        .env
        .workspace(&m.b, &m.env.machine_home("b"), "tester")
        .with_env("BD_LOCK_TIMEOUT_MS", "60000");
    for ws in [&a, &b] {
        for who in ["ann", "bob", "carol"] {
            ws.bd_as_at(who, &at(0), &["agent", "register"]).ok();
        }
    }

    // A sends two messages (one with an attachment); B gets them by git.
    let content = binary_content(700);
    let sha = sha256_hex(&content);
    let att = m.env.tmp.path().join("core.txt");
    std::fs::write(&att, &content).unwrap();
    let id1 = a.json_as_at(
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
    let id2 = a.json_as_at(
        "ann",
        &at(2),
        &["mail", "send", "--to", "carol", "-s", "m2"],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    commit_beads(&m.a, "mail");
    git_bd(&m.a, &["push", "-q", "origin", "main"]);
    b.bd_as_at("bob", &at(3), &["where"]).ok(); // sets B's merge driver
    pull(&m.b);
    assert_eq!(mail_bytes(&b), mail_bytes(&a));
    assert_eq!(attachment(&b, &sha).as_deref(), Some(&content[..]));

    // Apart: both read m1 (B earlier) and m2 (A earlier), both send.
    let read = |ws: &Workspace, who: &str, t: u32, id: &str| {
        ws.json_as_at(who, &at(t), &["mail", "read", id]);
    };
    read(&a, "carol", 11, &id2);
    a.json_as_at("carol", &at(12), &["mail", "ack", &id2]);
    let id3 = a.json_as_at("dan", &at(13), &["mail", "send", "--to", "bob", "-s", "m3"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    read(&a, "bob", 20, &id1);

    read(&b, "bob", 10, &id1);
    let id4 = b.json_as_at(
        "erin",
        &at(14),
        &["mail", "send", "--to", "ann", "-s", "m4"],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let id5 = b.json_as_at("bob", &at(15), &["mail", "reply", &id1, "-b", "on it"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    read(&b, "carol", 21, &id2);
    b.json_as_at("bob", &at(22), &["mail", "ack", &id1]);

    let (before_a, before_b) = (mail(&a), mail(&b));
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

    let (bytes_a, bytes_b) = (mail_bytes(&a), mail_bytes(&b));
    assert_eq!(
        String::from_utf8_lossy(&bytes_a),
        String::from_utf8_lossy(&bytes_b),
        "A and B hold the same mail.jsonl"
    );
    let merged = mail(&a); // sorted, unique, every line parses
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
    assert_eq!(attachment(&a, &sha).as_deref(), Some(&content[..]));
    assert_eq!(attachment(&b, &sha).as_deref(), Some(&content[..]));

    // Both machines show bob the same inbox after the exchange.
    assert_eq!(
        a.json_as_at("bob", &at(30), &["mail", "inbox", "--all"]),
        b.json_as_at("bob", &at(30), &["mail", "inbox", "--all"])
    );
    bytes_a
}

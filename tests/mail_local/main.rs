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

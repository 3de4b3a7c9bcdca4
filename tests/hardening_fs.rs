//! Issue 9, items 1 and 9: a repository is untrusted input. Nothing under
//! `.beads/` (or the project home) is followed through a symbolic link, and
//! a cache that is not whole is never believed. Every case runs the real
//! `bd` and checks that a decoy tree outside the worktree is byte-identical
//! before and after.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::*;

const SECRET: &[u8] = b"aws_secret_access_key = hunter2-DO-NOT-LEAK\n";

/// What a tree holds: every path below it with its bytes (files), its
/// target (links) or nothing (folders). Nothing is followed.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let t = e.file_type().unwrap();
            let v = if t.is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else if t.is_dir() {
                stack.push(p.clone());
                "dir".into()
            } else {
                format!("file {:?}", std::fs::read(&p).unwrap())
            };
            out.insert(p, v);
        }
    }
    out
}

/// A decoy tree beside the repository: `victim/credentials`, an empty
/// `victim/dir/`, and the name `victim/absent` (a link target that must
/// never be created).
struct Decoy {
    root: PathBuf,
    before: BTreeMap<PathBuf, String>,
}

impl Decoy {
    fn new(env: &TestEnvironment) -> Decoy {
        let root = env.tmp.path().join("victim");
        std::fs::create_dir_all(root.join("dir")).unwrap();
        std::fs::write(root.join("credentials"), SECRET).unwrap();
        let before = snapshot(&root);
        Decoy { root, before }
    }

    fn credentials(&self) -> PathBuf {
        self.root.join("credentials")
    }

    #[track_caller]
    fn unchanged(&self) {
        assert_eq!(snapshot(&self.root), self.before, "the decoy tree changed");
    }
}

fn all(r: &Run) -> String {
    format!("{}\n{}", r.stdout, r.stderr)
}

/// The refusal names the link and says what it is.
#[track_caller]
fn refused(r: Run, name: &str) {
    assert_eq!(r.code, 1, "expected a refusal\n{}", all(&r));
    assert!(
        r.stderr.contains("symbolic link") && r.stderr.contains(name),
        "the error names {name}: {}",
        r.stderr
    );
    assert_eq!(
        r.stderr.trim().lines().next().map(|l| l.contains(name)),
        Some(true)
    );
}

/// `bd --json doctor` lists `rel` as a symlink error.
#[track_caller]
fn doctor_reports(env: &TestEnvironment, rel: &str) {
    let r = env.bd(&["--json", "doctor"]);
    assert_eq!(r.code, 1, "{}", all(&r));
    let v = r.json();
    let found = v["findings"].as_array().unwrap().iter().any(|f| {
        f["check"] == "symlink"
            && f["severity"] == "error"
            && f["message"].as_str().unwrap().contains(rel)
    });
    assert!(found, "doctor lists {rel}: {v}");
    let text = env.bd(&["doctor"]).code(1);
    assert!(text.stdout.contains(rel), "{}", all(&text));
}

/// `bd doctor --fix` removes the link itself (saying so) and the workspace
/// works again.
#[track_caller]
fn doctor_fix_removes(env: &TestEnvironment, rel: &str) {
    let r = env.bd(&["--json", "doctor", "--fix"]);
    let v = r.json();
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "symlink"
                && f["fixed"] == true
                && f["message"].as_str().unwrap().contains(rel)),
        "doctor --fix says it removed {rel}: {v}"
    );
    let p = env.repo.join(rel);
    assert!(
        std::fs::symlink_metadata(&p).map_or(true, |m| !m.file_type().is_symlink()),
        "{rel} is no link any more"
    );
    env.bd(&["doctor"]).ok();
}

#[test]
fn item_01_issues_jsonl_linked_to_a_victim_is_never_read() {
    let env = TestEnvironment::new();
    let decoy = Decoy::new(&env);
    env.create("Real work", &[]);
    git_bd(&env.repo, &["add", "-A"]);
    git_bd(&env.repo, &["commit", "-q", "-m", "tracker"]);
    std::fs::remove_file(env.issues_path()).unwrap();
    symlink("../../victim/credentials", env.issues_path()).unwrap();
    // `bd commit` would hash the target into a blob: it refuses.
    refused(env.bd(&["commit"]), "issues.jsonl");
    let history = git_bd(&env.repo, &["log", "--all", "-p"]);
    assert!(!history.contains("hunter2"));
    for args in [
        vec!["list"],
        vec!["ready"],
        vec!["create", "More"],
        vec!["export"],
    ] {
        let r = env.bd(&args);
        assert!(!all(&r).contains("hunter2"), "{args:?} leaked: {}", all(&r));
        refused(r, "issues.jsonl");
    }
    doctor_reports(&env, ".beads/issues.jsonl");
    decoy.unchanged();
    doctor_fix_removes(&env, ".beads/issues.jsonl");
    decoy.unchanged();
    // Nothing of the victim reached the quarantine (or anywhere in .beads).
    for f in files_under(&env.beads()) {
        let b = std::fs::read(&f).unwrap_or_default();
        assert!(
            !b.windows(7).any(|w| w == b"hunter2"),
            "{} holds the secret",
            f.display()
        );
    }
    env.create("After the fix", &[]);
    decoy.unchanged();
}

#[test]
fn item_01_lock_linked_elsewhere_is_never_created() {
    let env = TestEnvironment::new();
    let decoy = Decoy::new(&env);
    let id = env.create("Real work", &[]);
    let lock = env.beads().join(".lock");
    let _ = std::fs::remove_file(&lock);
    symlink(decoy.root.join("absent"), &lock).unwrap();
    refused(env.bd(&["create", "More"]), ".lock");
    refused(env.bd(&["close", &id]), ".lock");
    // Readers still read (they take no lock to read).
    let v = env.json(&["list"]);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    decoy.unchanged();
    doctor_reports(&env, ".beads/.lock");
    doctor_fix_removes(&env, ".beads/.lock");
    env.create("More", &[]);
    decoy.unchanged();
}

#[test]
fn item_01_quarantine_linked_to_a_folder_is_not_written() {
    let env = TestEnvironment::new();
    let decoy = Decoy::new(&env);
    env.create("Real work", &[]);
    let mut text = env.issues_text();
    text.push_str("{not json\n");
    std::fs::write(env.issues_path(), text).unwrap();
    symlink(decoy.root.join("dir"), env.beads().join("quarantine")).unwrap();
    doctor_reports(&env, ".beads/quarantine");
    decoy.unchanged();
    // --fix removes the link first, then quarantines into a real folder.
    let r = env.bd(&["--json", "doctor", "--fix"]);
    decoy.unchanged();
    let v = r.json();
    assert!(v["findings"].to_string().contains("quarantine"), "{v}");
    let q = env.beads().join("quarantine");
    assert!(std::fs::symlink_metadata(&q).unwrap().is_dir());
    let held: Vec<u8> = files_under(&q)
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap())
        .collect();
    assert_eq!(held, b"{not json\n");
    env.bd(&["doctor"]).ok();
}

#[test]
fn item_01_beads_linked_outside_is_refused_by_init_create_and_doctor() {
    let env = TestEnvironment::bare_git();
    let decoy = Decoy::new(&env);
    symlink("../victim/dir", env.beads()).unwrap();
    for args in [
        vec!["init", "--prefix", "bd"],
        vec!["create", "X"],
        vec!["list"],
        vec!["doctor"],
        vec!["doctor", "--fix"],
        vec!["where"],
    ] {
        let r = env.bd(&args);
        assert_eq!(r.code, 1, "{args:?}: {}", all(&r));
        assert!(r.stderr.contains(".beads"), "{args:?}: {}", r.stderr);
    }
    let r = env.bd(&["--json", "doctor"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["code"], "invalid");
    decoy.unchanged();
    // Also a linked .beads that points inside the worktree: still a link.
    std::fs::remove_file(env.beads()).unwrap();
    std::fs::create_dir_all(env.repo.join("elsewhere")).unwrap();
    symlink("elsewhere", env.beads()).unwrap();
    refused(env.bd(&["init", "--prefix", "bd"]), ".beads");
    assert!(files_under(&env.repo.join("elsewhere")).is_empty());
}

#[test]
fn item_01_hooks_linked_to_a_folder_are_not_written() {
    let env = TestEnvironment::new();
    let decoy = Decoy::new(&env);
    let id = env.create("Real work", &[]);
    symlink(decoy.root.join("dir"), env.beads().join("hooks")).unwrap();
    // Writing a hook (sling, claim by a named agent) goes nowhere outside.
    let r = env.bd(&["sling", &id, "worker"]);
    assert_ne!(r.code, 0, "{}", all(&r));
    assert!(all(&r).contains("symbolic link"), "{}", all(&r));
    let _ = env.bd(&["claim", &id]);
    let _ = env.bd(&["hook", "worker"]);
    decoy.unchanged();
    doctor_reports(&env, ".beads/hooks");
    doctor_fix_removes(&env, ".beads/hooks");
    // The claim above may have gone through (a claim writes no hook file):
    // a fresh item shows a sling now writes inside.
    let id2 = env.create("More work", &[]);
    env.bd(&["sling", &id2, "worker"]).ok();
    assert!(
        std::fs::symlink_metadata(env.beads().join("hooks"))
            .unwrap()
            .is_dir()
    );
    decoy.unchanged();
}

#[test]
fn item_01_a_hook_file_linked_to_a_victim_is_not_read() {
    let env = TestEnvironment::new();
    let decoy = Decoy::new(&env);
    std::fs::create_dir_all(env.beads().join("hooks")).unwrap();
    symlink(decoy.credentials(), env.beads().join("hooks/worker.json")).unwrap();
    let r = env.bd(&["hook", "worker"]);
    assert!(!all(&r).contains("hunter2"), "{}", all(&r));
    // The effective hook comes from the tracker and the ledger; a command
    // that does open the hook file refuses the link.
    if r.code != 0 {
        refused(r, "worker.json");
    }
    refused(
        env.bd(&["sling", &env.create("Work", &[]), "worker"]),
        "worker.json",
    );
    let r = env.bd(&["--json", "agents"]);
    assert!(!all(&r).contains("hunter2"), "{}", all(&r));
    decoy.unchanged();
    doctor_reports(&env, ".beads/hooks/worker.json");
}

#[test]
fn item_01_attachments_linked_to_a_folder_are_not_written() {
    let env = TestEnvironment::new();
    let decoy = Decoy::new(&env);
    symlink(decoy.root.join("dir"), env.beads().join("attachments")).unwrap();
    let file = env.tmp.path().join("note.txt");
    std::fs::write(&file, b"attached").unwrap();
    let r = env.bd(&[
        "mail",
        "send",
        "--to",
        "tester",
        "-s",
        "hello",
        "--attach",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", all(&r));
    assert!(r.stderr.contains("attachments"), "{}", r.stderr);
    decoy.unchanged();
    doctor_reports(&env, ".beads/attachments");
    doctor_fix_removes(&env, ".beads/attachments");
    env.bd(&[
        "mail",
        "send",
        "--to",
        "tester",
        "-s",
        "hello",
        "--attach",
        file.to_str().unwrap(),
    ])
    .ok();
    decoy.unchanged();
}

#[test]
fn item_01_cache_linked_to_a_folder_is_not_used() {
    let env = TestEnvironment::new();
    let decoy = Decoy::new(&env);
    let id = env.create("Real work", &[]);
    let _ = std::fs::remove_dir_all(env.beads().join(".cache"));
    symlink(decoy.root.join("dir"), env.beads().join(".cache")).unwrap();
    // Commands still answer from the tracker; no cache is written through.
    let v = env.json(&["list"]);
    assert_eq!(v[0]["id"], id.as_str(), "{v}");
    let v = env.json(&["ready"]);
    assert_eq!(v[0]["id"], id.as_str(), "{v}");
    env.json(&["show", &id]);
    env.create("More", &[]);
    env.bd(&["mail", "inbox"]).ok();
    decoy.unchanged();
    doctor_reports(&env, ".beads/.cache");
    doctor_fix_removes(&env, ".beads/.cache");
    decoy.unchanged();
}

#[test]
fn item_01_mail_jsonl_linked_to_a_victim_is_not_read() {
    let env = TestEnvironment::new();
    let decoy = Decoy::new(&env);
    symlink(decoy.credentials(), env.beads().join("mail.jsonl")).unwrap();
    for args in [
        vec!["mail", "inbox"],
        vec!["mail", "send", "--to", "tester", "-s", "hi"],
    ] {
        let r = env.bd(&args);
        assert!(!all(&r).contains("hunter2"), "{args:?}: {}", all(&r));
        refused(r, "mail.jsonl");
    }
    decoy.unchanged();
    doctor_reports(&env, ".beads/mail.jsonl");
    doctor_fix_removes(&env, ".beads/mail.jsonl");
    env.bd(&["mail", "send", "--to", "tester", "-s", "hi"]).ok();
    decoy.unchanged();
}

#[test]
fn item_01_config_toml_linked_to_a_victim_is_not_read() {
    let env = TestEnvironment::new();
    let decoy = Decoy::new(&env);
    std::fs::remove_file(env.beads().join("config.toml")).unwrap();
    symlink(decoy.credentials(), env.beads().join("config.toml")).unwrap();
    for args in [vec!["list"], vec!["create", "X"]] {
        let r = env.bd(&args);
        assert!(!all(&r).contains("hunter2"), "{args:?}: {}", all(&r));
        refused(r, "config.toml");
    }
    // doctor runs with default settings and lists the link.
    doctor_reports(&env, ".beads/config.toml");
    let r = env.bd(&["doctor"]);
    assert!(!all(&r).contains("hunter2"), "{}", all(&r));
    decoy.unchanged();
    let r = env.bd(&["--json", "doctor", "--fix"]);
    assert!(
        r.json()["findings"].to_string().contains("config.toml"),
        "{}",
        all(&r)
    );
    assert!(!env.beads().join("config.toml").exists());
    env.bd(&["list"]).ok();
    decoy.unchanged();
}

#[test]
fn item_01_links_inside_the_project_home_are_not_followed() {
    let env = TestEnvironment::new();
    let decoy = Decoy::new(&env);
    // Learn where this project's home is, then replace its mail folder.
    env.bd(&["mail", "send", "--to", "tester", "-s", "first"])
        .ok();
    let projects = env.home.join("projects");
    let project = std::fs::read_dir(&projects)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let mail = project.join("mail");
    let _ = std::fs::remove_dir_all(&mail);
    symlink(decoy.root.join("dir"), &mail).unwrap();
    let r = env.bd(&["mail", "send", "--to", "tester", "-s", "second"]);
    assert!(all(&r).contains("symbolic link"), "{}", all(&r));
    decoy.unchanged();
    // doctor lists it; --fix removes the link, never the target.
    doctor_reports(&env, "project home: mail");
    let v = env.json(&["doctor", "--fix"]);
    assert!(
        v["findings"].to_string().contains("project home: mail"),
        "{v}"
    );
    assert!(!mail.exists());
    env.bd(&["mail", "send", "--to", "tester", "-s", "third"])
        .ok();
    decoy.unchanged();
}

/// A remote whose `.beads/issues.jsonl` is a committed link to a file
/// outside: a clone's `bd doctor --fix && bd sync` never pushes the target.
#[test]
fn item_01_doctor_fix_and_sync_never_push_a_victim() {
    let env = TestEnvironment::new();
    let decoy = Decoy::new(&env);
    let t = env.tmp.path();
    let remote = t.join("remote.git");
    std::fs::create_dir_all(&remote).unwrap();
    git_bd(&remote, &["init", "-q", "--bare", "-b", "main"]);
    // The attacker's repository: a tracker that is a link.
    git_bd(
        &env.repo,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    env.create("Bait", &[]);
    std::fs::remove_file(env.issues_path()).unwrap();
    symlink("../../victim/credentials", env.issues_path()).unwrap();
    git_bd(&env.repo, &["add", "-A"]);
    git_bd(
        &env.repo,
        &[
            "-c",
            "user.name=m",
            "-c",
            "user.email=m@x",
            "commit",
            "-q",
            "-m",
            "bait",
        ],
    );
    git_bd(&env.repo, &["push", "-q", "-u", "origin", "main"]);
    // The victim's clone, its own home, the secret one level up from it.
    git_bd(t, &["clone", "-q", remote.to_str().unwrap(), "clone"]);
    let clone = t.join("clone");
    git_bd(&clone, &["config", "user.name", "Victim"]);
    git_bd(&clone, &["config", "user.email", "v@example.com"]);
    let run = |args: &[&str]| env.bd_on(&clone, &t.join("home-v"), "victim", args);
    // Straight away, before any repair: sync and commit never read through
    // the link (they would hash its target into a blob; checked below).
    for args in [["sync"], ["commit"]] {
        let r = run(&args);
        assert!(matches!(r.code, 0 | 1), "{args:?}: {}", all(&r));
        assert!(!all(&r).contains("hunter2"), "{}", all(&r));
    }
    let r = run(&["doctor"]);
    assert_eq!(r.code, 1, "{}", all(&r));
    assert!(r.stdout.contains("issues.jsonl"), "{}", all(&r));
    run(&["doctor", "--fix"]).ok();
    let r = run(&["sync"]);
    assert!(!all(&r).contains("hunter2"), "{}", all(&r));
    run(&["create", "Honest work"]).ok();
    run(&["sync"]).ok();
    decoy.unchanged();
    // No object anywhere in the remote holds the secret.
    let objects = git_bd(&remote, &["rev-list", "--all", "--objects"]);
    for line in objects.lines() {
        let oid = line.split(' ').next().unwrap();
        let kind = git_bd(&remote, &["cat-file", "-t", oid]);
        if kind.trim() == "blob" {
            let body = git_bd(&remote, &["cat-file", "-p", oid]);
            assert!(!body.contains("hunter2"), "blob {line} leaked the secret");
        }
    }
}

// ---------------------------------------------------------------------------
// Item 9: caches prove they are whole
// ---------------------------------------------------------------------------

/// Cut every cache file under `.cache/` right after its first line past the
/// seal (the part a reader used to trust).
fn cut_caches(env: &TestEnvironment) -> Vec<String> {
    let mut cut = Vec::new();
    for f in files_under(&env.beads().join(".cache")) {
        let b = std::fs::read(&f).unwrap();
        // The seal line, then the format's own header line.
        let mut nl = b
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == b'\n')
            .map(|(i, _)| i);
        let end = match (nl.next(), nl.next()) {
            (Some(_), Some(second)) => second + 1,
            (Some(first), None) => first + 1,
            _ => b.len() / 2,
        };
        if end < b.len() {
            std::fs::write(&f, &b[..end]).unwrap();
            cut.push(f.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    cut.sort();
    cut
}

#[test]
fn item_09_a_cut_index_is_rebuilt_not_trusted() {
    let env = TestEnvironment::new();
    let a = env.create("First", &["-p", "1"]);
    let b = env.create("Second", &["-p", "2"]);
    env.bd(&["dep", "add", &b, &a]).ok();
    env.bd(&["mail", "send", "--to", "tester", "-s", "hello"])
        .ok();
    // Fill every cache (the index as one base, without an overlay of the
    // writes above), then cut them all after their headers.
    std::fs::remove_dir_all(env.beads().join(".cache")).unwrap();
    env.json(&["list"]);
    env.json(&["ready"]);
    env.json(&["blocked"]);
    env.bd(&["mail", "inbox"]).ok();
    env.bd(&["where"]).ok();
    let cut = cut_caches(&env);
    for name in ["index.v1", "ready.v1", "blocked.v1", "mail.v2"] {
        assert!(cut.iter().any(|c| c == name), "{name} was cut: {cut:?}");
    }
    // doctor sees them (before any reader rebuilt them).
    let v = env.json(&["doctor"]);
    let msgs = v["findings"].to_string();
    assert!(
        msgs.contains("index.v1") && msgs.contains("not whole"),
        "{v}"
    );
    // Every view still answers from the tracker.
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(ids(&env.json(&["list"])), both);
    cut_caches(&env);
    assert_eq!(ids(&env.json(&["ready"])), vec![a.clone()]);
    cut_caches(&env);
    let blocked = env.json(&["blocked"]);
    assert_eq!(blocked.as_array().unwrap().len(), 1, "{blocked}");
    assert!(blocked.to_string().contains(&b), "{blocked}");
    cut_caches(&env);
    assert_eq!(env.json(&["show", &a])["title"], "First");
    cut_caches(&env);
    let inbox = env.json(&["mail", "inbox"]);
    assert!(inbox.to_string().contains("hello"), "{inbox}");
    // doctor is happy once the readers rebuilt them …
    env.json(&["list"]);
    env.json(&["ready"]);
    env.json(&["blocked"]);
    env.json(&["where"]);
    let v = env.json(&["doctor"]);
    assert!(!v["findings"].to_string().contains("not whole"), "{v}");
    // … or after --fix removed the broken ones.
    cut_caches(&env);
    let v = env.json(&["doctor", "--fix"]);
    assert!(v["findings"].to_string().contains("not whole"), "{v}");
    let v = env.json(&["doctor"]);
    assert!(!v["findings"].to_string().contains("not whole"), "{v}");
    assert_eq!(ids(&env.json(&["list"])), both);
}

#[test]
fn item_09_a_grown_cache_is_not_trusted_either() {
    let env = TestEnvironment::new();
    let a = env.create("First", &[]);
    // The index as one base (no overlay of the write above).
    std::fs::remove_dir_all(env.beads().join(".cache")).unwrap();
    env.json(&["list"]);
    let idx = env.beads().join(".cache/index.v1");
    let mut b = std::fs::read(&idx).unwrap();
    // A second copy of the row, under another id: a well-formed row.
    let last = String::from_utf8_lossy(&b)
        .lines()
        .last()
        .unwrap()
        .to_string();
    let forged = last.replacen(&a, "bd-zzz", 1);
    assert_ne!(forged, last);
    b.extend_from_slice(format!("{forged}\n").as_bytes());
    std::fs::write(&idx, b).unwrap();
    let v = env.json(&["list"]);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["id"], a.as_str());
}

/// Review (minor): the refusal of a `.beads` that is a link gives a hint
/// that works: it names the link, says to remove it and run `bd init` (not
/// `doctor --fix`, which cannot open the workspace either), and doing so
/// works, the target untouched.
#[test]
fn item_01_review_beads_link_refusal_hint_works() {
    let env = TestEnvironment::bare_git();
    let decoy = Decoy::new(&env);
    symlink("../victim/dir", env.beads()).unwrap();
    for args in [vec!["list"], vec!["doctor"], vec!["doctor", "--fix"]] {
        let r = env.bd(&args);
        assert_eq!(r.code, 1, "{args:?}: {}", all(&r));
        let link = env.beads().display().to_string();
        assert!(
            r.stderr.contains(&format!("rm {link}")) && r.stderr.contains("bd init"),
            "{args:?}: the hint says what works: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("doctor --fix"), "{args:?}: {}", r.stderr);
        let v = env.bd(&["--json", args[0]]).json();
        assert!(
            v["hint"].as_str().unwrap().contains("bd init"),
            "{args:?}: {v}"
        );
    }
    // Following the hint.
    std::fs::remove_file(env.beads()).unwrap();
    env.bd(&["init", "--prefix", "bd"]).ok();
    env.create("Works", &[]);
    env.bd(&["doctor"]).ok();
    decoy.unchanged();
}

/// Second review: `doctor --fix` removed a tracked `.beads/.gitignore` link
/// but never wrote the file back, so `git add .beads` would commit the cache
/// and the lock. A missing `.gitignore` is written by `doctor --fix`.
#[test]
fn item_01_review2_doctor_fix_writes_back_a_missing_gitignore() {
    let env = TestEnvironment::new();
    env.create("Work", &[]);
    let gi = env.beads().join(".gitignore");
    std::fs::remove_file(&gi).unwrap();
    let r = env.bd(&["doctor"]);
    assert!(r.stdout.contains(".gitignore is missing"), "{}", all(&r));
    env.bd(&["doctor", "--fix"]).ok();
    let text = std::fs::read_to_string(&gi).unwrap();
    assert!(
        text.lines().any(|l| l == ".cache/") && text.lines().any(|l| l == ".lock"),
        "{text}"
    );
    let r = env.bd(&["doctor"]);
    assert!(!r.stdout.contains(".gitignore is missing"), "{}", all(&r));
}

/// Third review: a committed `.beads/.gitignore` stripped of its lines went
/// unflagged, so `git add .beads` committed the cache and the lock.
#[test]
fn item_01_review3_doctor_flags_and_restores_stripped_gitignore_lines() {
    let env = TestEnvironment::new();
    env.create("Work", &[]);
    let gi = env.beads().join(".gitignore");
    std::fs::write(&gi, "# hostile\n").unwrap();
    let r = env.bd(&["doctor"]);
    assert!(r.stdout.contains(".gitignore lacks .cache/"), "{}", all(&r));
    env.bd(&["doctor", "--fix"]).ok();
    let text = std::fs::read_to_string(&gi).unwrap();
    assert!(
        text.starts_with("# hostile\n"),
        "the file's own lines stay: {text}"
    );
    assert!(
        text.lines().any(|l| l == ".cache/") && text.lines().any(|l| l == ".lock"),
        "{text}"
    );
    assert!(!env.bd(&["doctor"]).stdout.contains(".gitignore lacks"));
}

/// Third review: `bd import` wrote a record with the id `../../etc`. A line
/// whose id is not an issue id is refused, naming the file and line, and
/// nothing is written.
#[test]
fn item_18_review3_import_refuses_an_id_that_is_not_an_issue_id() {
    let env = TestEnvironment::new();
    env.create("Work", &[]);
    let before = env.issues_text();
    let f = env.tmp.path().join("in.jsonl");
    std::fs::write(
        &f,
        "{\"id\":\"bd-ok1\",\"title\":\"fine\",\"status\":\"open\",\"priority\":2,\"issue_type\":\"task\",\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":\"2026-01-01T00:00:00Z\"}\n{\"id\":\"../../etc\",\"title\":\"x\",\"status\":\"open\",\"priority\":2,\"issue_type\":\"task\",\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":\"2026-01-01T00:00:00Z\"}\n",
    )
    .unwrap();
    let r = env.bd(&["import", f.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", all(&r));
    assert!(
        r.stderr.contains("in.jsonl") && r.stderr.contains(":2") && r.stderr.contains("../../etc"),
        "{}",
        r.stderr
    );
    assert_eq!(env.issues_text(), before);
}

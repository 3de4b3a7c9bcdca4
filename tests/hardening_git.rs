//! Issue 9, the git items: an unmerged tracker is seen and merged (5), the
//! merge attribute travels with `.beads/` (6), CRLF conversion as git does it
//! (10), and the smaller `log`/`sync` items of 18. Real `bd`, real git: a
//! bare remote and clones, one BD_HOME per simulated machine.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Network, Run, Workspace, run_of};

/// A bare remote and `n` clones, one machine each, without `bd` on PATH:
/// `a` ran `bd init` and pushed; the others ran one bd command (so their
/// driver config is set).
fn net(n: usize) -> Network {
    let net = Network::build(n, "code\n", false);
    for c in &net.c[1..] {
        ok(c.bd(&["list"]));
    }
    net
}

#[track_caller]
fn ok(r: Run) -> Run {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    r
}

#[track_caller]
fn create(c: &Workspace, title: &str) -> String {
    ok(c.bd(&["create", title])).stdout.trim().to_string()
}

fn porcelain(c: &Workspace) -> String {
    c.git(&["status", "--porcelain"])
}

/// Both clones add work and commit; `a` then pulls `b`'s with `with_bd`
/// deciding whether git's shell finds `bd`. Returns the titles that must
/// survive.
fn diverge(net: &Network, a_title: &str, b_title: &str) {
    let (a, b) = (&net.c[0], &net.c[1]);
    create(b, b_title);
    ok(b.bd(&["commit"]));
    b.git(&["push", "-q"]);
    create(a, a_title);
    ok(a.bd(&["commit"]));
}

/// After a failed driver: doctor sees it, reads warn, writes are refused,
/// `doctor --fix` merges from the stages and stages the result, and `git
/// commit` concludes the merge with every side's work.
#[track_caller]
fn check_unmerged_then_fix(a: &Workspace, titles: &[&str]) {
    assert!(
        porcelain(a).contains("UU .beads/issues.jsonl"),
        "{}",
        porcelain(a)
    );
    // doctor reports it (and fails).
    let r = a.bd(&["doctor"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(".beads/issues.jsonl is unmerged"),
        "{}",
        r.stdout
    );
    // Reads go on, with a warning naming the file.
    let r = ok(a.bd(&["list"]));
    assert!(
        r.stderr.contains(".beads/issues.jsonl is unmerged")
            && r.stderr.contains("bd doctor --fix"),
        "{}",
        r.stderr
    );
    // Writes are refused, with the hint, and write nothing.
    let before = a.issues_text();
    for args in [
        &["create", "late"][..],
        &["commit"][..],
        &["mail", "send", "--to", "bob", "-s", "hi", "-b", "x"][..],
    ] {
        let r = a.bd(args);
        assert_eq!(r.code, 1, "{args:?}: {}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("bd doctor --fix"),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(a.issues_text(), before);
    // The fix merges base, ours and theirs and stages the result.
    let r = ok(a.bd(&["doctor", "--fix"]));
    assert!(r.stdout.contains("[fixed]"), "{}", r.stdout);
    let text = a.issues_text();
    for t in titles {
        assert!(text.contains(t), "{t} lost: {text}");
    }
    let st = porcelain(a);
    assert!(!st.contains("UU"), "{st}");
    assert!(st.contains("M  .beads/issues.jsonl"), "{st}");
    a.git(&["commit", "-q", "--no-edit"]);
    assert_eq!(
        a.git(&["rev-list", "--count", "--merges", "HEAD"]).trim(),
        "1"
    );
    // The committed tracker holds both sides; writes work again.
    let head = a.git(&["show", "HEAD:.beads/issues.jsonl"]);
    for t in titles {
        assert!(head.contains(t), "{t} not committed: {head}");
    }
    create(a, "after the fix");
    let r = ok(a.bd(&["doctor"]));
    assert!(!r.stdout.contains("unmerged"), "{}", r.stdout);
}

#[test]
fn item_05_unmerged_tracker_when_bd_is_not_on_git_path() {
    let net = net(2);
    let a = &net.c[0];
    diverge(&net, "alice's work", "bob's work");
    // git's shell cannot find bd: the driver fails, the file keeps our side.
    let r = a.git_run(&["pull", "-q", "--no-rebase", "origin", "main"], false);
    assert_ne!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!a.issues_text().contains("bob's work"));
    check_unmerged_then_fix(a, &["alice's work", "bob's work"]);
}

#[test]
fn item_05_unmerged_tracker_when_a_side_does_not_parse() {
    let net = net(2);
    let (a, b) = (&net.c[0], &net.c[1]);
    create(b, "bob's work");
    let mut text = b.issues_text();
    text.push_str("{\"id\": \"bd-zzz\", broken\n");
    std::fs::write(b.dir.join(".beads/issues.jsonl"), text).unwrap();
    b.git(&["commit", "-q", "-am", "bob, with a broken line"]);
    b.git(&["push", "-q"]);
    create(a, "alice's work");
    ok(a.bd(&["commit"]));
    // bd is on git's PATH this time; the driver refuses the broken side.
    let r = a.git_run(&["pull", "-q", "--no-rebase", "origin", "main"], true);
    assert_ne!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    check_unmerged_then_fix(a, &["alice's work", "bob's work"]);
    // The broken line is kept in quarantine, not dropped.
    let q: String = std::fs::read_dir(a.dir.join(".beads/quarantine"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(q.contains("broken"), "{q}");
}

#[test]
fn item_05_unmerged_mail_and_hook_files_are_merged_too() {
    let net = net(2);
    let (a, b) = (&net.c[0], &net.c[1]);
    // Mail to a workspace-local agent: both sides add a message.
    let x = create(a, "shared work");
    ok(a.bd(&["commit"]));
    a.git(&["push", "-q"]);
    b.git(&["pull", "-q"]);
    ok(b.bd(&["mail", "send", "--to", "bob", "-s", "from bob", "-b", "b"]));
    // Both sides put work on dave's hook: hooks/dave.json conflicts too.
    let y = create(b, "bob's item");
    ok(b.bd(&["sling", &y, "dave"]));
    ok(b.bd(&["commit"]));
    b.git(&["push", "-q"]);
    ok(a.bd(&[
        "mail",
        "send",
        "--to",
        "alice",
        "-s",
        "from alice",
        "-b",
        "a",
    ]));
    ok(a.bd(&["sling", &x, "dave"]));
    ok(a.bd(&["commit"]));
    let r = a.git_run(&["pull", "-q", "--no-rebase", "origin", "main"], false);
    assert_ne!(r.code, 0);
    // Both sides added the files (AA): unmerged all the same.
    let u = a.git(&["diff", "--name-only", "--diff-filter=U"]);
    assert!(
        u.contains(".beads/mail.jsonl") && u.contains(".beads/hooks/dave.json"),
        "{}",
        porcelain(a)
    );
    let r = a.bd(&["doctor"]);
    for f in [".beads/mail.jsonl", ".beads/hooks/dave.json"] {
        assert!(
            r.stdout.contains(&format!("{f} is unmerged")),
            "{}",
            r.stdout
        );
    }
    let r = a.bd(&["sling", &x, "erin"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = ok(a.bd(&["doctor", "--fix"]));
    assert!(!r.stderr.contains("unmerged"), "{}", r.stderr);
    let hook = std::fs::read_to_string(a.dir.join(".beads/hooks/dave.json")).unwrap();
    assert!(hook.contains(&x) && hook.contains(&y), "{hook}");
    let mail = std::fs::read_to_string(a.dir.join(".beads/mail.jsonl")).unwrap();
    assert!(
        mail.contains("from bob") && mail.contains("from alice"),
        "{mail}"
    );
    let u = a.git(&["diff", "--name-only", "--diff-filter=U"]);
    assert_eq!(u.trim(), "", "{}", porcelain(a));
    a.git(&["commit", "-q", "--no-edit"]);
}

/// The README's steps, literally, in clone 1; clone 2 gets the merge driver
/// through the committed `.beads/.gitattributes`, and a concurrent edit of
/// one issue (the same line of issues.jsonl) merges with the driver.
#[test]
fn item_06_readme_steps_give_other_clones_the_driver() {
    let net = Network::empty_without_bd();
    let one = net.machine("one", "alice");
    std::fs::create_dir_all(&one.dir).unwrap();
    one.git(&["init", "-q", "-b", "main"]);
    one.git(&["config", "user.name", "alice"]);
    one.git(&["config", "user.email", "alice@example.com"]);
    std::fs::write(one.dir.join("code.txt"), "code\n").unwrap();
    one.git(&["add", "code.txt"]);
    one.git(&["commit", "-q", "-m", "code"]);
    // README, "Quick start", step by step.
    ok(one.bd(&["init"]));
    let bug = ok(one.bd(&["create", "Fix the login bug", "-t", "bug", "-p", "1"]))
        .stdout
        .trim()
        .to_string();
    ok(one.bd(&[
        "create",
        "Write release notes",
        "--deps",
        &format!("blocks:{bug}"),
    ]));
    ok(one.bd(&["ready"]));
    ok(one.bd(&["claim", &bug]));
    ok(one.bd(&["comment", &bug, "found the cause in session.rs"]));
    ok(one.bd(&["close", &bug, "--reason", "fixed in 4e1a2b"]));
    one.git(&["add", ".beads"]);
    one.git(&["commit", "-q", "-m", "..."]);
    // Nothing of strand's is left untracked or outside .beads/.
    assert_eq!(porcelain(&one), "", "README steps leave files behind");
    assert!(!one.dir.join(".gitattributes").exists());
    one.git(&["remote", "add", "origin", net.remote.to_str().unwrap()]);
    one.git(&["push", "-q", "-u", "origin", "main"]);

    let two = net.clone_fresh("two", "bob", &[]);
    assert_eq!(
        two.git(&["check-attr", "merge", "--", ".beads/issues.jsonl"])
            .trim(),
        ".beads/issues.jsonl: merge: beads"
    );
    assert_eq!(
        two.git(&["check-attr", "merge", "--", ".beads/hooks/bob.json"])
            .trim(),
        ".beads/hooks/bob.json: merge: beads"
    );
    // Concurrent edits of the same issue: a comment in two, a new title in one.
    ok(two.bd(&["comment", &bug, "bob was here"]));
    two.git(&["add", ".beads"]);
    two.git(&["commit", "-q", "-m", "bob comments"]);
    two.git(&["push", "-q"]);
    ok(one.bd(&["update", &bug, "--title", "Fix the login bug for good"]));
    one.git(&["add", ".beads"]);
    one.git(&["commit", "-q", "-m", "alice retitles"]);
    let r = one.git_run(&["pull", "-q", "--no-rebase", "origin", "main"], true);
    assert_eq!(r.code, 0, "the driver merges: {}\n{}", r.stdout, r.stderr);
    let text = one.issues_text();
    assert!(!text.contains("<<<<<<<"), "{text}");
    assert!(
        text.contains("bob was here") && text.contains("Fix the login bug for good"),
        "{text}"
    );
    let r = ok(one.bd(&["doctor"]));
    assert!(r.stdout.contains("No problems found"), "{}", r.stdout);
}

/// An older tracker with strand's lines in the root `.gitattributes`:
/// `doctor` flags them, `doctor --fix` (or `init`) moves them to
/// `.beads/.gitattributes` and leaves the user's own lines alone; a missing
/// attribute is an error.
#[test]
fn item_06_root_attribute_lines_are_migrated() {
    let net = net(1);
    let a = &net.c[0];
    std::fs::remove_file(a.dir.join(".beads/.gitattributes")).unwrap();
    std::fs::write(
        a.dir.join(".gitattributes"),
        "*.png binary\n.beads/*.jsonl merge=beads\n.beads/hooks/*.json merge=beads\n",
    )
    .unwrap();
    let r = a.bd(&["doctor"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(".beads/.gitattributes lacks")
            && r.stdout.contains("carries strand's merge=beads lines"),
        "{}",
        r.stdout
    );
    ok(a.bd(&["doctor", "--fix"]));
    assert_eq!(
        std::fs::read_to_string(a.dir.join(".gitattributes")).unwrap(),
        "*.png binary\n"
    );
    assert_eq!(
        std::fs::read_to_string(a.dir.join(".beads/.gitattributes")).unwrap(),
        "*.jsonl merge=beads eol=lf\nhooks/*.json merge=beads eol=lf\nattachments/** -text\n"
    );
    let r = ok(a.bd(&["doctor"]));
    assert!(!r.stdout.contains("gitattributes"), "{}", r.stdout);
    // init migrates too; a root file holding only strand's lines goes away.
    std::fs::write(
        a.dir.join(".gitattributes"),
        ".beads/*.jsonl merge=beads\n.beads/hooks/*.json merge=beads\n",
    )
    .unwrap();
    let r = ok(a.bd(&["init"]));
    assert!(r.stderr.contains("Migrated"), "{}", r.stderr);
    assert!(!a.dir.join(".gitattributes").exists());
    assert_eq!(
        a.git(&["check-attr", "merge", "--", ".beads/issues.jsonl"])
            .trim(),
        ".beads/issues.jsonl: merge: beads"
    );
    // bd commit carries the attribute file (it is inside .beads/).
    ok(a.bd(&["commit"]));
    let tracked = a.git(&["ls-files", ".beads"]);
    assert!(tracked.contains(".beads/.gitattributes"), "{tracked}");
}

/// `core.autocrlf = true`: git checks `.beads/` text files out with CRLF;
/// `bd commit` stores what git would (LF), `git status` stays clean and
/// `doctor` reports nothing pending.
#[test]
fn item_10_autocrlf_commits_lf_and_agrees_with_git_status() {
    let net = net(1);
    create(&net.c[0], "first");
    ok(net.c[0].bd(&["commit"]));
    net.c[0].git(&["push", "-q"]);
    let b = net.clone_fresh("b", "bob", &["-c", "core.autocrlf=true"]);
    b.git(&["config", "core.autocrlf", "true"]);
    let gi = std::fs::read(b.dir.join(".beads/.gitignore")).unwrap();
    assert!(gi.windows(2).any(|w| w == b"\r\n"), "checked out with CRLF");
    // The tracker files are LF whatever autocrlf says (`eol=lf`), so no
    // command notes a canonical rewrite and doctor sees no CRLF.
    let issues = std::fs::read(b.dir.join(".beads/issues.jsonl")).unwrap();
    assert!(!issues.contains(&b'\r'), "issues.jsonl checked out with CR");
    // Nothing pending right after the clone.
    let r = ok(b.bd(&["doctor"]));
    assert!(!r.stdout.contains("pending"), "{}", r.stdout);
    assert!(!r.stdout.contains("CRLF"), "{}", r.stdout);
    let r = ok(b.bd(&["create", "second"]));
    assert!(!r.stderr.contains("canonical"), "{}", r.stderr);
    let r = ok(b.bd(&["commit"]));
    let _ = r;
    assert_eq!(porcelain(&b), "", "git status after bd commit");
    let r = ok(b.bd(&["doctor"]));
    assert!(!r.stdout.contains("pending"), "{}", r.stdout);
    // The last commit changed issues.jsonl only, and every blob is LF.
    let changed = b.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(changed.trim(), ".beads/issues.jsonl");
    for f in b
        .git(&["ls-tree", "-r", "--name-only", "HEAD", ".beads"])
        .lines()
    {
        let blob = b.git(&["cat-file", "blob", &format!("HEAD:{f}")]);
        assert!(!blob.contains('\r'), "{f} stored with CR: {blob:?}");
    }
    // A CRLF edit of a tracked file is stored as LF too.
    std::fs::write(
        b.dir.join(".beads/.gitignore"),
        String::from_utf8(gi).unwrap() + "notes/\r\n",
    )
    .unwrap();
    ok(b.bd(&["commit"]));
    assert_eq!(porcelain(&b), "");
    let blob = b.git(&["cat-file", "blob", "HEAD:.beads/.gitignore"]);
    assert!(
        blob.ends_with("notes/\n") && !blob.contains('\r'),
        "{blob:?}"
    );
}

/// `bd log` through merges: an issue created on one side shows one create
/// (not another at the merge commit), and a dependency change is said
/// element by element, not as cut JSON.
#[test]
fn item_18_log_shows_one_create_and_readable_dependency_changes() {
    let net = net(2);
    let (a, b) = (&net.c[0], &net.c[1]);
    let x = create(b, "made by bob");
    let y = create(
        b,
        "a blocker with a long enough title to be cut in raw JSON",
    );
    ok(b.bd(&["dep", "add", &x, &y]));
    ok(b.bd(&["commit"]));
    b.git(&["push", "-q"]);
    create(a, "alice's own");
    ok(a.bd(&["commit"]));
    a.git(&["pull", "-q", "--no-rebase", "origin", "main"]);
    assert_eq!(
        a.git(&["rev-list", "--count", "--merges", "HEAD"]).trim(),
        "1"
    );
    let r = ok(a.bd(&["log", &x]));
    let creates = r
        .stdout
        .lines()
        .filter(|l| l.trim() == format!("create {x}"))
        .count();
    assert_eq!(creates, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("dependencies: + blocks {y}")),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("depends_on_id"), "{}", r.stdout);
    let j = ok(a.bd(&["--json", "log", &x])).stdout;
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    let kinds: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "created").count(),
        1,
        "{kinds:?}"
    );
    // Removing it is said the same way.
    ok(a.bd(&["dep", "remove", &x, &y]));
    ok(a.bd(&["commit"]));
    let r = ok(a.bd(&["log", &x]));
    assert!(
        r.stdout.contains(&format!("dependencies: - blocks {y}")),
        "{}",
        r.stdout
    );
}

/// `bd log` in a shallow clone: no raw gix error; the history that is there,
/// and one line saying where it stops.
#[test]
fn item_18_log_in_a_shallow_clone_shows_what_is_there() {
    let net = net(1);
    let a = &net.c[0];
    let x = create(a, "old issue");
    ok(a.bd(&["commit"]));
    ok(a.bd(&["update", &x, "--title", "renamed once"]));
    ok(a.bd(&["commit"]));
    ok(a.bd(&["update", &x, "--title", "renamed twice"]));
    ok(a.bd(&["commit"]));
    a.git(&["push", "-q"]);
    let remote = format!("file://{}", net.remote.display());
    let s = net.machine("shallow", "sam");
    let r = run_of(
        Command::new("git")
            .args(["clone", "-q", "--depth", "2", &remote, "shallow"])
            .current_dir(net.root())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", &s.home)
            .output()
            .unwrap(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = ok(s.bd(&["log", &x]));
    assert!(r.stdout.contains("\"renamed twice\""), "{}", r.stdout);
    assert!(
        !r.stdout.contains("create"),
        "the boundary is not a create: {}",
        r.stdout
    );
    let note: Vec<&str> = r.stderr.lines().filter(|l| l.contains("shallow")).collect();
    assert_eq!(note.len(), 1, "{}", r.stderr);
    assert!(note[0].contains("git fetch --unshallow"), "{}", r.stderr);
    assert!(!r.stderr.contains("could not be found"), "{}", r.stderr);
}

/// A failed `bd sync` passes on git's list of the files that block the merge.
#[test]
fn item_18_sync_names_the_files_that_block_the_merge() {
    let net = net(2);
    let (a, b) = (&net.c[0], &net.c[1]);
    std::fs::write(b.dir.join("notes.txt"), "bob's notes\n").unwrap();
    b.git(&["add", "notes.txt"]);
    b.git(&["commit", "-q", "-m", "notes"]);
    b.git(&["push", "-q"]);
    // a has an untracked notes.txt of its own, and tracker work to sync.
    std::fs::write(a.dir.join("notes.txt"), "alice's notes\n").unwrap();
    create(a, "alice's work");
    let r = a.bd(&["sync"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("would be overwritten by merge: notes.txt"),
        "{}",
        r.stderr
    );
    // Nothing lost: the untracked file and the tracker work are still here.
    assert_eq!(
        std::fs::read_to_string(a.dir.join("notes.txt")).unwrap(),
        "alice's notes\n"
    );
    assert!(a.issues_text().contains("alice's work"));
}

/// With `.beads/.gitattributes` first in the index, a `bd commit` that adds
/// a new file (a hook) and changes issues.jsonl keeps every index entry once
/// (new entries used to unsort the index mid-commit, and issues.jsonl was
/// lost from it).
#[test]
fn item_06_bd_commit_adding_a_file_keeps_the_index_whole() {
    // Only .beads/ in the index: the layout where the lookup went wrong.
    let net = Network::empty_without_bd();
    let a = &net.machine("a", "alice");
    std::fs::create_dir_all(&a.dir).unwrap();
    a.git(&["init", "-q", "-b", "main"]);
    a.git(&["config", "user.name", "alice"]);
    a.git(&["config", "user.email", "alice@example.com"]);
    ok(a.bd(&["init", "--prefix", "bd"]));
    a.git(&["add", ".beads"]);
    a.git(&["commit", "-q", "-m", "init"]);
    let x = create(a, "to claim");
    ok(a.bd(&["commit"]));
    ok(a.bd(&["sling", &x, "alice"]));
    assert!(a.dir.join(".beads/hooks/alice.json").exists());
    ok(a.bd(&["commit"]));
    let files = a.git(&["ls-files", ".beads"]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        vec![
            ".beads/.gitattributes",
            ".beads/.gitignore",
            ".beads/config.toml",
            ".beads/hooks/alice.json",
            ".beads/issues.jsonl"
        ],
        "{files}"
    );
    assert_eq!(porcelain(a), "");
}

/// `core.autocrlf = true` must not touch attachment bodies: they are named
/// by their SHA-256, so a text attachment sent from one clone reaches a
/// CRLF-converting clone byte for byte (git would check an LF text out as CRLF) (`attachments/** -text`).
#[test]
fn item_10_attachment_bodies_keep_their_bytes_under_autocrlf() {
    let net = net(1);
    let a = &net.c[0];
    let body = b"line one\nline two\n".to_vec();
    std::fs::write(a.dir.join("repro.txt"), &body).unwrap();
    ok(a.bd(&[
        "mail",
        "send",
        "--to",
        "alice",
        "-s",
        "repro",
        "-b",
        "see file",
        "--attach",
        "repro.txt",
    ]));
    ok(a.bd(&["commit"]));
    a.git(&["push", "-q"]);
    let b = net.clone_fresh("b", "bob", &["-c", "core.autocrlf=true"]);
    b.git(&["config", "core.autocrlf", "true"]);
    let dir = b.dir.join(".beads/attachments");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(std::fs::read(&files[0]).unwrap(), body, "bytes changed");
    let r = ok(b.bd(&["doctor"]));
    assert!(!r.stdout.contains("attachment"), "{}", r.stdout);
    assert_eq!(porcelain(&b), "");
}

/// The links a hostile repository commits under `.beads/` (path, target).
const HOSTILE_LINKS: &[(&str, &str)] = &[
    (".beads/issues.jsonl", "../../victim/credentials"),
    (".beads/quarantine", "../../victim/qdir"),
    (".beads/hooks/alice.json", "../../../victim/credentials"),
    (".beads/.cache/index.v1", "../../../victim/credentials"),
    (
        ".beads/attachments/5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "../../../victim/credentials",
    ),
    (".beads/.lock", "../../victim/lockfile"),
];

/// The `.beads/` entries of mode 120000 (symbolic links) in `rev`'s tree.
fn tree_links(c: &Workspace, rev: &str) -> Vec<String> {
    c.git(&["ls-tree", "-r", rev])
        .lines()
        .filter(|l| l.starts_with("120000 ") && l.contains("\t.beads/"))
        .map(str::to_string)
        .collect()
}

/// The links under the clone's `.beads/` (nothing followed).
fn worktree_links(c: &Workspace) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![c.dir.join(".beads")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let t = e.file_type().unwrap();
            if t.is_symlink() {
                out.push(e.path());
            } else if t.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

/// A remote whose history holds links under `.beads/` (committed by plain
/// git in `a`, pushed).
fn hostile_remote() -> Network {
    let net = net(1);
    let a = &net.c[0];
    create(a, "Bait");
    ok(a.bd(&["commit"]));
    std::fs::create_dir_all(a.dir.join(".beads/hooks")).unwrap();
    std::fs::create_dir_all(a.dir.join(".beads/.cache")).unwrap();
    std::fs::create_dir_all(a.dir.join(".beads/attachments")).unwrap();
    for (p, target) in HOSTILE_LINKS {
        let p = a.dir.join(p);
        let _ = std::fs::remove_file(&p);
        std::os::unix::fs::symlink(target, &p).unwrap();
    }
    a.git(&["add", "-A", "-f", ".beads"]);
    a.git(&["commit", "-q", "-m", "links"]);
    a.git(&["push", "-q"]);
    assert_eq!(tree_links(a, "HEAD").len(), HOSTILE_LINKS.len());
    net
}

/// Review break 3 (item 1): a link tracked under `.beads/` is a problem
/// until it is committed away. `doctor` lists each (also once the working
/// tree no longer has it), `doctor --fix` removes it from the working tree
/// and git's index, and `sync` commits the removal, so the remote's tree has
/// no link under `.beads/` and the next clone works.
#[test]
fn item_01_review_tracked_links_are_committed_away_by_sync() {
    let net = hostile_remote();
    let b = net.clone_fresh("b", "bob", &[]);
    // The user removed one link by hand: git still tracks it.
    std::fs::remove_file(b.dir.join(".beads/quarantine")).unwrap();
    let r = b.bd(&["--json", "doctor"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    for (p, _) in HOSTILE_LINKS {
        assert!(
            v["findings"].as_array().unwrap().iter().any(|f| {
                f["check"] == "tracked_link"
                    && f["severity"] == "error"
                    && f["message"].as_str().unwrap().contains(p)
            }),
            "doctor lists the tracked link {p}: {v}"
        );
    }
    let r = ok(b.bd(&["doctor", "--fix"]));
    assert!(r.stdout.contains("[fixed]"), "{}", r.stdout);
    assert!(worktree_links(&b).is_empty(), "{:?}", worktree_links(&b));
    let st = porcelain(&b);
    assert!(st.contains("D  .beads/quarantine"), "deletion staged: {st}");
    ok(b.bd(&["sync"]));
    assert_eq!(tree_links(&b, "HEAD"), Vec::<String>::new());
    b.git(&["fetch", "-q"]);
    assert_eq!(tree_links(&b, "origin/main"), Vec::<String>::new());
    let r = ok(b.bd(&["doctor"]));
    assert!(!r.stdout.contains("link"), "{}", r.stdout);
    // The next clone has no link and works.
    let c = net.clone_fresh("c", "carol", &[]);
    assert!(worktree_links(&c).is_empty(), "{:?}", worktree_links(&c));
    create(&c, "Honest work");
    ok(c.bd(&["list"]));
    let r = ok(c.bd(&["doctor"]));
    assert!(!r.stdout.contains("link"), "{}", r.stdout);
}

/// Review break 3, with `bd commit` alone: the removals `doctor --fix` made
/// are recorded by it (and a tracked link gone from the working tree counts
/// as a pending change).
#[test]
fn item_01_review_bd_commit_records_removed_links() {
    let net = hostile_remote();
    let b = net.clone_fresh("b", "bob", &[]);
    ok(b.bd(&["doctor", "--fix"]));
    let r = ok(b.bd(&["--json", "where"]));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let pending = v["pending"].to_string();
    for (p, _) in HOSTILE_LINKS {
        assert!(pending.contains(p), "{p} pending: {pending}");
    }
    let r = ok(b.bd(&["commit"]));
    assert!(!r.stderr.contains("Nothing changed"), "{}", r.stderr);
    assert_eq!(tree_links(&b, "HEAD"), Vec::<String>::new());
    assert_eq!(porcelain(&b), "", "nothing left over");
    let r = ok(b.bd(&["doctor"]));
    assert!(r.stdout.contains("No problems found"), "{}", r.stdout);
}

/// Two clones of a repository without a tracker each run `bd init` with
/// their own prefix and commit; `y` pulls `x`'s: config.toml is unmerged
/// (added on both sides) with conflict markers. Returns (x, y).
fn both_init(net: &Network) -> (Workspace, Workspace) {
    let a = net.machine("a", "alice");
    std::fs::create_dir_all(&a.dir).unwrap();
    a.git(&["init", "-q", "-b", "main"]);
    a.git(&["config", "user.name", "alice"]);
    a.git(&["config", "user.email", "alice@example.com"]);
    a.git(&["remote", "add", "origin", net.remote.to_str().unwrap()]);
    std::fs::write(a.dir.join("code.txt"), "code\n").unwrap();
    a.git(&["add", "-A"]);
    a.git(&["commit", "-q", "-m", "initial"]);
    a.git(&["push", "-q", "-u", "origin", "main"]);
    let x = net.clone_fresh("x", "xavier", &[]);
    let y = net.clone_fresh("y", "yolanda", &[]);
    for (c, prefix) in [(&x, "aa"), (&y, "bb")] {
        ok(c.bd(&["init", "--prefix", prefix]));
        ok(c.bd(&[
            "config",
            "set",
            "lease",
            if prefix == "aa" { "20m" } else { "30m" },
        ]));
        c.git(&["add", ".beads"]);
        c.git(&["commit", "-q", "-m", "init"]);
    }
    ok(x.bd(&["config", "set", "custom_types", "spike"]));
    x.git(&["commit", "-q", "-am", "types"]);
    x.git(&["push", "-q"]);
    let r = y.git_run(&["pull", "-q", "--no-rebase", "origin", "main"], true);
    assert_ne!(r.code, 0, "the pull conflicts: {}", r.stdout);
    (x, y)
}

/// Review break 5 (item 5): an unmerged config.toml locks nobody out.
/// `doctor` runs with default settings and names the file, line and reason;
/// `doctor --fix` merges the two sides (keys of both; a key both set
/// differently keeps ours and names the dropped value) and stages it; other
/// commands refuse with a hint that works.
#[test]
fn item_05_review_unmerged_config_toml_is_merged_by_doctor() {
    let net = Network::empty_without_bd();
    let (_x, y) = both_init(&net);
    assert!(
        porcelain(&y).contains("AA .beads/config.toml"),
        "{}",
        porcelain(&y)
    );
    let r = y.bd(&["list"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("config.toml:") && r.stderr.contains("bd doctor --fix"),
        "{}",
        r.stderr
    );
    let r = y.bd(&["--json", "doctor"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let msgs: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "config")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        msgs.iter().any(|m| m.contains(".beads/config.toml:1:")),
        "file, line and reason: {msgs:?}"
    );
    let r = ok(y.bd(&["doctor", "--fix"]));
    assert!(r.stdout.contains("[fixed]"), "{}", r.stdout);
    assert!(
        r.stdout.contains("prefix") && r.stdout.contains("\"aa\""),
        "the dropped prefix is named: {}",
        r.stdout
    );
    let text = std::fs::read_to_string(y.dir.join(".beads/config.toml")).unwrap();
    assert!(!text.contains("<<<<<<<"), "{text}");
    // Ours (bb, 30m) wins where both set a key; theirs' new key is kept.
    assert_eq!(ok(y.bd(&["config", "get", "prefix"])).stdout.trim(), "bb");
    assert_eq!(ok(y.bd(&["config", "get", "lease"])).stdout.trim(), "30m");
    assert_eq!(
        ok(y.bd(&["config", "get", "custom_types"])).stdout.trim(),
        "spike"
    );
    let st = porcelain(&y);
    assert!(!st.contains("AA"), "{st}");
    assert!(
        st.contains("A  .beads/config.toml") || st.contains("M  .beads/config.toml"),
        "{st}"
    );
    y.git(&["commit", "-q", "--no-edit"]);
    create(&y, "after the merge");
    let r = ok(y.bd(&["doctor"]));
    assert!(!r.stdout.contains("config.toml"), "{}", r.stdout);
}

/// Review break 5, markers without an unmerged index entry (the conflicted
/// file was staged as it was): `doctor --fix` merges its marker sections.
#[test]
fn item_05_review_config_toml_with_markers_but_staged_is_repaired() {
    let net = Network::empty_without_bd();
    let (_x, y) = both_init(&net);
    y.git(&["add", ".beads/config.toml"]);
    let r = y.bd(&["doctor"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(".beads/config.toml:"), "{}", r.stdout);
    let r = ok(y.bd(&["doctor", "--fix"]));
    assert!(r.stdout.contains("[fixed]"), "{}", r.stdout);
    assert_eq!(ok(y.bd(&["config", "get", "prefix"])).stdout.trim(), "bb");
    assert_eq!(
        ok(y.bd(&["config", "get", "custom_types"])).stdout.trim(),
        "spike"
    );
    ok(y.bd(&["list"]));
}

/// Review break 8 (item 6): `doctor` resolves the `merge` attribute of the
/// tracker files the way git does (root, `.beads/` and deeper
/// `.gitattributes`, `.git/info/attributes`, `core.attributesFile`; later
/// and more specific lines win; `-merge`, `binary`, `!merge`, macros) and
/// reports each path git would not merge with `beads`, naming the file and
/// line. Every case is checked against `git check-attr`.
#[test]
fn item_06_review_doctor_resolves_the_merge_attribute_like_git() {
    let net = net(1);
    let a = &net.c[0];
    let beads_ga = a.dir.join(".beads/.gitattributes");
    let original = std::fs::read_to_string(&beads_ga).unwrap();
    let n = original.lines().count();
    let global = net.root().join("global-attributes");
    let paths = [
        ".beads/issues.jsonl",
        ".beads/mail.jsonl",
        ".beads/hooks/x.json",
    ];
    let beads_line = format!(".beads/.gitattributes:{}", n + 1);
    let global_line = format!("{}:1", global.display());
    // (files written, expected source of each overridden path)
    type Files<'a> = Vec<(&'a str, String)>;
    let cases: Vec<(Files, Files)> = vec![
        (
            vec![(
                ".beads/.gitattributes",
                format!("{original}*.jsonl -merge\n"),
            )],
            vec![
                (".beads/issues.jsonl", beads_line.clone()),
                (".beads/mail.jsonl", beads_line.clone()),
            ],
        ),
        (
            vec![(
                ".beads/.gitattributes",
                format!("{original}*.jsonl binary\n"),
            )],
            vec![
                (".beads/issues.jsonl", beads_line.clone()),
                (".beads/mail.jsonl", beads_line.clone()),
            ],
        ),
        (
            vec![(".git/info/attributes", "*.jsonl merge=union\n".into())],
            vec![
                (".beads/issues.jsonl", ".git/info/attributes:1".into()),
                (".beads/mail.jsonl", ".git/info/attributes:1".into()),
            ],
        ),
        (
            vec![(".beads/hooks/.gitattributes", "*.json !merge\n".into())],
            vec![(
                ".beads/hooks/x.json",
                ".beads/hooks/.gitattributes:1".into(),
            )],
        ),
        (
            vec![
                (
                    ".beads/.gitattributes",
                    format!("{original}hooks/*.json nomerge\n"),
                ),
                (".git/info/attributes", "[attr]nomerge -merge\n".into()),
            ],
            vec![(".beads/hooks/x.json", beads_line.clone())],
        ),
        // Lower than .beads/.gitattributes: no override.
        (
            vec![(
                ".gitattributes",
                "*.jsonl -merge\n.beads/hooks/*.json merge=union\n".into(),
            )],
            vec![],
        ),
        // The global file decides where .beads/.gitattributes says nothing.
        (
            vec![
                (
                    ".beads/.gitattributes",
                    "hooks/*.json merge=beads eol=lf\nattachments/** -text\n".into(),
                ),
                ("GLOBAL", "*.jsonl merge=union\n".into()),
            ],
            vec![
                (".beads/issues.jsonl", global_line.clone()),
                (".beads/mail.jsonl", global_line.clone()),
            ],
        ),
    ];
    for (files, expected) in cases {
        // Back to the initialized state.
        std::fs::write(&beads_ga, &original).unwrap();
        for f in [
            ".gitattributes",
            ".git/info/attributes",
            ".beads/hooks/.gitattributes",
        ] {
            let _ = std::fs::remove_file(a.dir.join(f));
        }
        let _ = std::fs::remove_file(&global);
        let _ = a.git_run(&["config", "--unset", "core.attributesFile"], false);
        for (f, text) in &files {
            let p = if *f == "GLOBAL" {
                a.git(&["config", "core.attributesFile", global.to_str().unwrap()]);
                global.clone()
            } else {
                a.dir.join(f)
            };
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
        }
        let r = a.bd(&["--json", "doctor"]);
        let v: serde_json::Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr));
        let found: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == "attributes" && f["severity"] == "error")
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect();
        for p in paths {
            let git = a.git(&["check-attr", "merge", "--", p]);
            let value = git.trim().rsplit(": ").next().unwrap().to_string();
            let mine: Vec<&String> = found
                .iter()
                .filter(|m| m.starts_with(&format!("{p}:")))
                .collect();
            match expected.iter().find(|(e, _)| *e == p) {
                None => {
                    assert_eq!(value, "beads", "{files:?}: git says {git}");
                    assert!(
                        mine.is_empty(),
                        "{files:?}: git says beads for {p}: {mine:?}"
                    );
                }
                Some((_, src)) => {
                    assert_ne!(value, "beads", "{files:?}: git says {git}");
                    assert!(
                        mine.len() == 1 && mine[0].contains(src.as_str()),
                        "{files:?}: {p} is {value} for git; doctor names {src}: {found:?}"
                    );
                    assert_eq!(r.code, 1, "{}", r.stdout);
                }
            }
        }
    }
}

/// Third review: `bd log` of an id that never existed exited 0 ("No commits
/// changed …") while `show`, `comments` and `children` say not found (1).
/// An issue deleted from the file but present in history still has a log.
#[test]
fn item_18_review3_log_of_an_unknown_id_is_not_found() {
    let net = net(1);
    let a = &net.c[0];
    let x = create(a, "logged");
    ok(a.bd(&["commit"]));
    let r = a.bd(&["log", "bd-zzzzz"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no issue"), "{}", r.stderr);
    let r = ok(a.bd(&["log", &x]));
    assert!(r.stdout.contains(&format!("create {x}")), "{}", r.stdout);
}

/// Review 3, item 5: git merges `config.toml` line by line; two clones that
/// each set `lease` on a different line merge without a conflict into a key
/// set twice, and `bd sync` pushed it: every command then failed on it, and
/// `doctor --fix` could not repair it. Now sync checks the merged settings
/// parse, undoes such a merge and pushes nothing (file, line and fault
/// named); `doctor --fix` keeps the first setting of each key.
#[test]
fn item_05_review3_sync_refuses_a_merge_that_sets_a_key_twice() {
    let net = net(2);
    let (a, b) = (&net.c[0], &net.c[1]);
    ok(a.bd(&["config", "set", "lease", "10m"]));
    a.git(&["commit", "-q", "-am", "lease 10m"]);
    a.git(&["push", "-q"]);
    let cfg = b.dir.join(".beads/config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("lease = \"30m\"\n");
    std::fs::write(&cfg, &text).unwrap();
    b.git(&["commit", "-q", "-am", "lease 30m by hand"]);
    let head = b.git(&["rev-parse", "HEAD"]);
    let remote_before = a.git(&["ls-remote", "origin", "main"]);

    let r = b.bd(&["sync"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("config.toml:") && r.stderr.contains("duplicate key"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("undone"), "{}", r.stderr);
    assert_eq!(b.git(&["rev-parse", "HEAD"]), head, "the merge is undone");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), text);
    assert_eq!(porcelain(b), "", "nothing left half-done");
    assert_eq!(
        a.git(&["ls-remote", "origin", "main"]),
        remote_before,
        "nothing pushed"
    );
    ok(b.bd(&["list"]));

    // Merged by hand, as the hint says: doctor names it, --fix repairs it.
    b.git(&["merge", "-q", "--no-edit", "origin/main"]);
    assert_eq!(b.bd(&["list"]).code, 1);
    let r = b.bd(&["doctor"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("duplicate key") && r.stdout.contains("would drop"),
        "{}",
        r.stdout
    );
    let r = ok(b.bd(&["doctor", "--fix"]));
    assert!(
        r.stdout.contains("[fixed]") && r.stdout.contains("lease = \"30m\""),
        "{}",
        r.stdout
    );
    assert_eq!(ok(b.bd(&["config", "get", "lease"])).stdout.trim(), "10m");
    b.git(&["commit", "-q", "-am", "one lease"]);
    ok(b.bd(&["sync"]));
    a.git(&["pull", "-q", "--no-rebase"]);
    assert_eq!(ok(a.bd(&["config", "get", "lease"])).stdout.trim(), "10m");
    ok(a.bd(&["doctor"]));
}

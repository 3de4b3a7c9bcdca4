//! Issue 9, the git items: an unmerged tracker is seen and merged (5), the
//! merge attribute travels with `.beads/` (6), CRLF conversion as git does it
//! (10), and the smaller `log`/`sync` items of 18. Real `bd`, real git: a
//! bare remote and clones, one BD_HOME per simulated machine.

#[path = "../common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Network, Run, Workspace, run_of};

mod attributes;
mod crlf;
mod log_sync;
mod unmerged;

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

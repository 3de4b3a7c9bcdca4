//! End-to-end tests of strand with real git: project identity, the merge
//! driver config, commits of `.beads/` only, `bd diff`/`bd log`, `bd sync`,
//! and convergence of several clones of one bare remote (SPEC §1, §2, §5).
//!
//! Every clone gets its own BD_HOME (a machine of its own) and actor; the git
//! commands run here have `bd` first on PATH, so the merge driver
//! `bd merge %O %A %B %P` that git runs is the binary under test.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{Network, Run, TestEnvironment, Workspace, git_bd, run_of};
use serde_json::Value;

const DRIVER: &str = "bd merge %O %A %B %P";
const CLASSIC_DRIVER: &str = "bd merge %A %O %A %B";

/// A single repository with `bd init` done and an initial commit, no remote.
fn solo() -> (TestEnvironment, Workspace) {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.bd(&["init", "--prefix", "bd"]).ok();
    std::fs::write(ws.dir.join("code.txt"), "line 1\n").unwrap();
    ws.git(&["add", "-A"]);
    ws.git(&["commit", "-q", "-m", "initial commit"]);
    (env, ws)
}

fn all_output(r: &Run) -> String {
    format!("{}{}", r.stdout, r.stderr)
}

fn write_hook(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let hooks = dir.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let p = hooks.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

// ---------------------------------------------------------------------------
// 1. Project identity
// ---------------------------------------------------------------------------

#[test]
fn identity_agrees_across_remote_spellings() {
    let env = TestEnvironment::empty();
    let want = "github.com/org/repo";
    let spellings = [
        "git@github.com:Org/Repo.git",
        "https://github.com/org/repo",
        "ssh://git@github.com:22/Org/Repo.git",
    ];
    // Remote set before `bd init`: init writes `project` from it.
    for (i, url) in spellings.iter().enumerate() {
        let ws = env.init_at(
            &env.root().join(format!("r{i}")),
            &env.root().join("home"),
            "tester",
        );
        ws.git(&["remote", "add", "origin", url]);
        ws.bd(&["init", "--prefix", "bd"]).ok();
        let cfg = std::fs::read_to_string(ws.dir.join(".beads/config.toml")).unwrap();
        assert!(
            cfg.contains(&format!("project = \"{want}\"")),
            "{url}: config.toml is\n{cfg}"
        );
        let r = ws.bd(&["--json", "where"]).ok();
        let v = r.json();
        assert_eq!(v["identity"], want, "{url}");
        assert_eq!(v["identity_source"], "config", "{url}");
        assert_eq!(v["origin"], want, "{url}");
        assert!(!r.stderr.contains("fork"), "{url}: {}", r.stderr);
    }
    // Remote added after `bd init` (no `project`): the identity comes from
    // origin, however it is spelled.
    let ws = env.init_at(&env.root().join("late"), &env.root().join("home"), "tester");
    ws.bd(&["init", "--prefix", "bd"]).ok();
    let cfg = std::fs::read_to_string(ws.dir.join(".beads/config.toml")).unwrap();
    assert!(!cfg.contains("project"), "no remote, no project: {cfg}");
    ws.git(&["remote", "add", "origin", spellings[0]]);
    for url in spellings {
        ws.git(&["remote", "set-url", "origin", url]);
        let v = ws.json(&["where"]);
        assert_eq!(v["identity"], want, "{url}");
        assert_eq!(v["identity_source"], "origin", "{url}");
        assert_eq!(v["origin"], want, "{url}");
    }
}

#[test]
fn identity_never_shows_a_password() {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    let url = "https://bob:hunter2@Example.org:8443/Team/Tool.git";
    ws.git(&["remote", "add", "origin", url]);
    let mut outputs = vec![ws.bd(&["init", "--prefix", "bd"]).ok()];
    let cfg = std::fs::read_to_string(ws.dir.join(".beads/config.toml")).unwrap();
    assert!(cfg.contains("project = \"example.org/Team/Tool\""), "{cfg}");
    let v = ws.json(&["where"]);
    assert_eq!(v["identity"], "example.org/Team/Tool");
    assert_eq!(v["origin"], "example.org/Team/Tool");
    // A changed origin (fork warning) with other credentials.
    ws.git(&[
        "remote",
        "set-url",
        "origin",
        "https://eve:s3cr3t@example.org/Other/Tool.git",
    ]);
    for args in [
        &["where"][..],
        &["--json", "where"],
        &["doctor"],
        &["--json", "doctor"],
        &["config", "list"],
        &["--json", "config", "list"],
        &["config", "get", "project"],
        &["list"],
    ] {
        outputs.push(ws.bd(args));
    }
    let mut seen = cfg;
    for r in &outputs {
        seen.push_str(&all_output(r));
    }
    for secret in ["hunter2", "s3cr3t", "bob@", "eve@", "bob:", "eve:"] {
        assert!(!seen.contains(secret), "output shows {secret}:\n{seen}");
    }
    // The cache and the project home never hold it either.
    for dir in [ws.dir.join(".beads"), ws.home.clone()] {
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(b) = std::fs::read(&p) {
                    let t = String::from_utf8_lossy(&b);
                    assert!(
                        !t.contains("hunter2") && !t.contains("s3cr3t"),
                        "{} holds a password",
                        p.display()
                    );
                }
            }
        }
    }
}

#[test]
fn identity_of_a_local_path_remote_is_its_canonical_path() {
    let env = TestEnvironment::empty();
    let remote = env.root().join("remotes/proj.git");
    std::fs::create_dir_all(&remote).unwrap();
    git_bd(&remote, &["init", "-q", "--bare"]);
    let want = format!("file:{}", std::fs::canonicalize(&remote).unwrap().display());
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.bd(&["init", "--prefix", "bd"]).ok();
    std::os::unix::fs::symlink(env.root().join("remotes"), env.root().join("link")).unwrap();
    let link = env.root().join("link/proj.git");
    let file_url = format!("file://{}", remote.display());
    let spellings = [
        "../remotes/proj.git".to_string(),
        "../remotes/./x/../proj.git/".to_string(),
        remote.display().to_string(),
        link.display().to_string(),
        file_url,
    ];
    ws.git(&["remote", "add", "origin", &spellings[0]]);
    for url in &spellings {
        ws.git(&["remote", "set-url", "origin", url]);
        let v = ws.json(&["where"]);
        assert_eq!(v["identity"], want.as_str(), "{url}");
        assert_eq!(v["identity_source"], "origin", "{url}");
    }
    // From a subdirectory too (relative paths resolve against the root).
    std::fs::create_dir_all(ws.dir.join("sub/deeper")).unwrap();
    ws.git(&["remote", "set-url", "origin", &spellings[0]]);
    let mut c = ws.cmd(&["--json", "where"]);
    c.current_dir(ws.dir.join("sub/deeper"));
    let v = run_of(c.output().unwrap()).ok().json();
    assert_eq!(v["identity"], want.as_str());
}

#[test]
fn identity_without_remote_comes_from_the_root_commit() {
    let env = TestEnvironment::empty();
    let one = env.init_at(&env.root().join("one"), &env.root().join("home"), "tester");
    one.code_commit("code.txt", "root\n", "root commit");
    one.bd(&["init", "--prefix", "bd"]).ok();
    one.git(&["add", "-A"]);
    one.git(&["commit", "-q", "-m", "bd init"]);
    let v1 = one.json(&["where"]);
    let id1 = v1["identity"].as_str().unwrap().to_string();
    assert!(id1.starts_with("local/"), "{id1}");
    assert!(id1.len() > "local/".len() + 10, "{id1}");
    assert_eq!(v1["identity_source"], "root_commit");
    assert!(v1["origin"].is_null(), "{v1}");

    // A clone without its remote shares the root commit, and the identity.
    git_bd(
        env.root(),
        &["clone", "-q", one.dir.to_str().unwrap(), "two"],
    );
    let two = env.workspace(&env.root().join("two"), &env.root().join("home2"), "tester");
    two.configure_user();
    two.git(&["remote", "remove", "origin"]);
    two.code_commit("more.txt", "x\n", "more history");
    let v2 = two.json(&["where"]);
    assert_eq!(v2["identity"], id1.as_str());
    assert_eq!(v2["identity_source"], "root_commit");

    // An unrelated repository differs.
    let three = env.init_at(
        &env.root().join("three"),
        &env.root().join("home"),
        "tester",
    );
    three.code_commit("other.txt", "other root\n", "another root");
    three.bd(&["init", "--prefix", "bd"]).ok();
    let v3 = three.json(&["where"]);
    assert_ne!(v3["identity"], id1.as_str());
    assert!(v3["identity"].as_str().unwrap().starts_with("local/"));
}

#[test]
fn identity_with_two_roots_is_the_smallest_and_stable() {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.code_commit("a.txt", "a\n", "root a");
    let before_b = {
        ws.bd(&["init", "--prefix", "bd"]).ok();
        ws.json(&["where"])["identity"]
            .as_str()
            .unwrap()
            .to_string()
    };
    ws.git(&["checkout", "-q", "--orphan", "other"]);
    ws.git(&["rm", "-rq", "--cached", "."]);
    ws.code_commit("b.txt", "b\n", "root b");
    let alone_b = ws.json(&["where"])["identity"]
        .as_str()
        .unwrap()
        .to_string();
    ws.git(&["checkout", "-q", "-f", "main"]);
    ws.git(&[
        "merge",
        "-q",
        "--no-edit",
        "--allow-unrelated-histories",
        "other",
    ]);
    let both = ws.json(&["where"])["identity"]
        .as_str()
        .unwrap()
        .to_string();
    let roots: Vec<String> = ws
        .git(&["rev-list", "--max-parents=0", "HEAD"])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(roots.len(), 2);
    let smallest = roots.iter().min().unwrap();
    let a_root = ws.git(&["rev-list", "--max-parents=0", "main^1"]);
    let want = if a_root.trim() == smallest {
        &before_b
    } else {
        &alone_b
    };
    assert_eq!(&both, want, "the smallest root commit names the project");
}

#[test]
fn worktree_has_the_same_identity_and_its_own_tracker() {
    let net = Network::new(1, "line 1\n");
    let a = &net.c[0];
    let first = a.create("On main");
    a.bd(&["commit"]).ok();
    let main_head = a.head();
    let wt_dir = net.root().join("wt");
    a.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "feature",
        wt_dir.to_str().unwrap(),
    ]);
    let wt = net.env.workspace(&wt_dir, &a.home, "wt-agent");

    let va = a.json(&["where"]);
    let vw = wt.json(&["where"]);
    assert_eq!(vw["identity"], va["identity"]);
    assert_eq!(vw["identity_source"], va["identity_source"]);
    let canon_wt = std::fs::canonicalize(&wt_dir).unwrap();
    assert_eq!(vw["root"], canon_wt.to_str().unwrap());
    assert_eq!(vw["beads_dir"], canon_wt.join(".beads").to_str().unwrap());

    let id = wt.create("In the worktree");
    let ids = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let listed = ids(wt.json(&["list"]));
    assert!(
        listed.contains(&id) && listed.contains(&first),
        "{listed:?}"
    );
    assert!(ids(wt.json(&["ready"])).contains(&id));
    assert!(wt.ids().contains(&id));
    assert!(
        !a.ids().contains(&id),
        "the main clone's tracker is its own"
    );
    assert!(!ids(a.json(&["list"])).contains(&id));

    // From a subdirectory of the worktree, bd finds the worktree's root.
    std::fs::create_dir_all(wt_dir.join("sub")).unwrap();
    let mut c = wt.cmd(&["--json", "show", &id]);
    c.current_dir(wt_dir.join("sub"));
    run_of(c.output().unwrap()).ok();

    // Committing in the worktree commits on its branch only.
    wt.bd(&["commit"]).ok();
    assert_eq!(a.head(), main_head);
    assert_eq!(
        a.git(&["rev-parse", "feature"]).trim(),
        wt.head(),
        "the worktree's branch moved"
    );
    assert!(wt.beads_status().is_empty(), "{:?}", wt.beads_status());
    assert!(a.beads_status().is_empty(), "{:?}", a.beads_status());
    let shown = wt.git(&["show", "--stat", "--format=", "HEAD"]);
    assert!(shown.contains(".beads/issues.jsonl"), "{shown}");
    wt.git(&["fsck", "--no-progress"]);
}

#[test]
fn where_warns_on_a_fork() {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.git(&["remote", "add", "origin", "git@github.com:Org/Repo.git"]);
    ws.bd(&["init", "--prefix", "bd"]).ok();
    let r = ws.bd(&["where"]).ok();
    assert!(!r.stderr.contains("fork"), "{}", r.stderr);
    ws.git(&["remote", "set-url", "origin", "git@github.com:Me/Repo.git"]);
    let r = ws.bd(&["--json", "where"]).ok();
    let v = r.json();
    assert_eq!(v["identity"], "github.com/org/repo");
    assert_eq!(v["identity_source"], "config");
    assert_eq!(v["origin"], "github.com/me/repo");
    assert!(
        r.stderr.contains("warning") && r.stderr.contains("fork"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("github.com/me/repo"), "{}", r.stderr);
    let r = ws.bd(&["where"]).ok();
    assert!(r.stderr.contains("fork"), "{}", r.stderr);
}

/// SPEC §1: "`bd where` and `bd doctor` warn when `origin` normalizes to
/// something else (a fork)."
#[test]
fn doctor_warns_on_a_fork() {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.git(&["remote", "add", "origin", "git@github.com:Org/Repo.git"]);
    ws.bd(&["init", "--prefix", "bd"]).ok();
    ws.git(&["remote", "set-url", "origin", "git@github.com:Me/Repo.git"]);
    let r = ws.bd(&["doctor"]);
    assert!(
        all_output(&r).contains("fork") || all_output(&r).contains("github.com/me/repo"),
        "bd doctor does not mention the fork\nstdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
}

// ---------------------------------------------------------------------------
// 2. The merge driver config
// ---------------------------------------------------------------------------

#[test]
fn init_writes_gitattributes_and_the_driver() {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    std::fs::write(ws.dir.join(".gitattributes"), "*.png binary").unwrap();
    ws.bd(&["init", "--prefix", "bd"]).ok();
    // The user's root file is left alone; strand's attribute lives in .beads/.
    assert_eq!(
        std::fs::read_to_string(ws.dir.join(".gitattributes")).unwrap(),
        "*.png binary"
    );
    let ga = std::fs::read_to_string(ws.dir.join(".beads/.gitattributes")).unwrap();
    let lines: Vec<&str> = ga.lines().collect();
    assert_eq!(
        lines,
        vec![
            "*.jsonl merge=beads eol=lf",
            "hooks/*.json merge=beads eol=lf",
            "attachments/** -text"
        ],
        "{ga}"
    );
    assert_eq!(
        ws.config_value("merge.beads.driver").as_deref(),
        Some(DRIVER)
    );
    for p in [
        ".beads/issues.jsonl",
        ".beads/mail.jsonl",
        ".beads/hooks/alice.json",
    ] {
        let a = ws.git(&["check-attr", "merge", "--", p]);
        assert_eq!(a.trim(), format!("{p}: merge: beads"));
    }
    // Again: nothing duplicated.
    ws.bd(&["init"]).ok();
    assert_eq!(
        std::fs::read_to_string(ws.dir.join(".beads/.gitattributes")).unwrap(),
        ga
    );
    let all = ws.git(&["config", "--get-all", "merge.beads.driver"]);
    assert_eq!(all.lines().count(), 1, "{all}");
}

#[test]
fn classic_driver_config_is_repaired_with_one_notice() {
    let net = Network::new(1, "line 1\n");
    let a = &net.c[0];
    a.git(&["config", "merge.beads.driver", CLASSIC_DRIVER]);
    let r = a.bd(&["list"]).ok();
    let notices: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("merge.beads.driver"))
        .collect();
    assert_eq!(notices.len(), 1, "stderr: {}", r.stderr);
    assert!(notices[0].contains(CLASSIC_DRIVER), "{}", notices[0]);
    assert!(
        !r.stdout.contains("merge.beads"),
        "stdout is data: {}",
        r.stdout
    );
    assert_eq!(
        a.config_value("merge.beads.driver").as_deref(),
        Some(DRIVER)
    );
    let all = a.git(&["config", "--get-all", "merge.beads.driver"]);
    assert_eq!(all.lines().count(), 1, "{all}");
    // The rest of the config is intact.
    assert_eq!(a.config_value("user.name").as_deref(), Some("alice"));
    assert_eq!(
        a.config_value("remote.origin.url").as_deref(),
        Some(net.remote.to_str().unwrap())
    );
    assert_eq!(
        a.config_value("branch.main.remote").as_deref(),
        Some("origin")
    );
    a.git(&["fetch", "-q"]);
    // Repaired: the next command says nothing about it.
    let r = a.bd(&["list"]).ok();
    assert!(!r.stderr.contains("merge.beads"), "{}", r.stderr);
    // JSON mode: stdout stays one document.
    a.git(&["config", "merge.beads.driver", CLASSIC_DRIVER]);
    let r = a.bd(&["--json", "list"]).ok();
    r.json();
    assert!(r.stderr.contains("merge.beads.driver"), "{}", r.stderr);
}

#[test]
fn fresh_clone_gets_the_driver_on_its_first_command() {
    let net = Network::new(2, "line 1\n");
    let b = &net.c[1];
    assert_eq!(b.config_value("merge.beads.driver"), None);
    assert!(b.dir.join(".beads/.gitattributes").exists());
    let r = b.bd(&["list"]).ok();
    assert!(r.stderr.contains("merge.beads.driver"), "{}", r.stderr);
    assert_eq!(
        b.config_value("merge.beads.driver").as_deref(),
        Some(DRIVER)
    );
    let r = b.bd(&["ready"]).ok();
    assert!(!r.stderr.contains("merge.beads"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------
// 3. Commits
// ---------------------------------------------------------------------------

#[test]
fn commit_takes_only_beads_paths_and_leaves_the_rest_alone() {
    let (_env, ws) = solo();
    let before = ws.commit_count();
    std::fs::write(ws.dir.join("staged.txt"), "staged\n").unwrap();
    ws.git(&["add", "staged.txt"]);
    std::fs::write(ws.dir.join("code.txt"), "line 1\nline 2 unstaged\n").unwrap();
    let id = ws.create("Fix the parser");
    let r = ws.bd(&["commit"]).ok();
    assert!(r.stderr.contains("Committed"), "{}", r.stderr);
    assert_eq!(ws.commit_count(), before + 1);

    let stat = ws.git(&["show", "--stat", "--format=", "HEAD"]);
    assert!(stat.contains(".beads/issues.jsonl"), "{stat}");
    assert!(
        !stat.contains("staged.txt") && !stat.contains("code.txt"),
        "{stat}"
    );
    let names = ws.git(&["show", "--name-only", "--format=", "HEAD"]);
    for n in names.lines().filter(|l| !l.is_empty()) {
        assert!(n.starts_with(".beads/"), "committed {n}");
    }
    assert_eq!(
        ws.git(&["diff", "--cached", "--name-only"]).trim(),
        "staged.txt"
    );
    assert_eq!(ws.git(&["diff", "--name-only"]).trim(), "code.txt");
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    assert_eq!(
        ws.git_try(&["diff-index", "--cached", "--quiet", "HEAD", "--", ".beads"])
            .code,
        0
    );
    assert_eq!(
        ws.git_try(&["diff-files", "--quiet", "--", ".beads"]).code,
        0
    );
    let fsck = ws.git_try(&["fsck", "--no-progress", "--strict"]);
    assert_eq!(fsck.code, 0, "{}", fsck.stderr);
    assert!(!fsck.stdout.contains("error"), "{}", fsck.stdout);

    let msg = ws.git(&["log", "-1", "--format=%B"]);
    assert!(msg.contains(&id), "the message names the issue: {msg}");
    assert!(msg.contains("Fix the parser"), "{msg}");
    assert!(msg.contains("\nBd-Actor: tester"), "{msg}");
    let trailers = ws.git(&["log", "-1", "--format=%(trailers:key=Bd-Actor,valueonly)"]);
    assert_eq!(trailers.trim(), "tester");
    assert_eq!(
        ws.git(&["log", "-1", "--format=%an <%ae>"]).trim(),
        "tester <tester@example.com>"
    );

    // The staged file is still committable as the user meant.
    ws.git(&["commit", "-q", "-m", "user commit"]);
    let stat = ws.git(&["show", "--stat", "--format=", "HEAD"]);
    assert!(
        stat.contains("staged.txt") && !stat.contains(".beads"),
        "{stat}"
    );
}

#[test]
fn commit_message_summarizes_several_changes() {
    let (_env, ws) = solo();
    let a = ws.create("One");
    ws.create("Two");
    ws.bd(&["commit"]).ok();
    let msg = ws.git(&["log", "-1", "--format=%s"]);
    assert!(msg.contains('2') && msg.contains("created"), "{msg}");
    ws.bd(&["close", &a]).ok();
    ws.bd(&["commit", "-m", "wrap up"]).ok();
    let msg = ws.git(&["log", "-1", "--format=%B"]);
    assert!(
        msg.contains("wrap up") && msg.contains("Bd-Actor: tester"),
        "{msg}"
    );
}

#[test]
fn commit_with_nothing_pending_changes_nothing() {
    let (_env, ws) = solo();
    let head = ws.head();
    let r = ws.bd(&["commit"]).ok();
    assert!(r.stderr.contains("Nothing changed"), "{}", r.stderr);
    assert_eq!(ws.head(), head);
    let v = ws.json(&["commit"]);
    assert_eq!(v["committed"], false);
    assert_eq!(ws.head(), head);
}

#[test]
fn auto_commit_on_commits_every_write() {
    let (_env, ws) = solo();
    ws.bd(&["config", "set", "auto_commit", "on"]).ok();
    ws.git(&["commit", "-q", "-am", "config"]);
    let before = ws.commit_count();
    let a = ws.create("First");
    assert_eq!(ws.commit_count(), before + 1);
    ws.create("Second");
    ws.bd(&["update", &a, "-p", "0"]).ok();
    assert_eq!(ws.commit_count(), before + 3);
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    let log = ws.git(&["log", "-3", "--format=%B%x00"]);
    for m in log.split('\0').filter(|m| !m.trim().is_empty()) {
        assert!(m.contains("Bd-Actor: tester"), "{m}");
    }
    let subject = ws.git(&["log", "-1", "--format=%s"]);
    assert!(subject.contains(&a), "{subject}");
}

#[test]
fn auto_commit_batch_amends_until_pushed() {
    let net = Network::new(1, "line 1\n");
    let ws = &net.c[0];
    ws.bd(&["config", "set", "auto_commit", "batch"]).ok();
    ws.git(&["commit", "-q", "-am", "config"]);
    ws.git(&["push", "-q"]);
    let before = ws.commit_count();
    let a = ws.create("First");
    let b = ws.create("Second");
    ws.bd(&["update", &a, "-p", "1"]).ok();
    assert_eq!(ws.commit_count(), before + 1, "three writes, one commit");
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    let tree = ws.git(&["show", "HEAD:.beads/issues.jsonl"]);
    assert!(tree.contains(&a) && tree.contains(&b), "{tree}");
    let msg = ws.git(&["log", "-1", "--format=%B"]);
    assert_eq!(msg.matches("Bd-Actor:").count(), 1, "{msg}");
    ws.git(&["fsck", "--no-progress"]);

    // Pushed: the next write starts a new commit, the pushed one stays.
    ws.git(&["push", "-q"]);
    let pushed = ws.head();
    let c = ws.create("Third");
    assert_eq!(ws.commit_count(), before + 2);
    assert_eq!(
        ws.git(&["rev-parse", "HEAD~1"]).trim(),
        pushed,
        "the pushed commit is the parent"
    );
    ws.bd(&["close", &c]).ok();
    assert_eq!(ws.commit_count(), before + 2, "amends the unpushed one");
    assert_eq!(ws.git(&["rev-parse", "HEAD~1"]).trim(), pushed);
    assert_eq!(net.remote_head(), pushed);
    assert!(ws.beads_status().is_empty());

    // A user's commit on top: bd does not amend it.
    let user = ws.code_commit("code.txt", "changed\n", "user work");
    ws.create("Fourth");
    assert_eq!(ws.commit_count(), before + 4);
    assert_eq!(ws.git(&["rev-parse", "HEAD~1"]).trim(), user);
}

#[test]
fn commit_runs_the_repository_hooks() {
    let (env, ws) = solo();
    let marker = env.root().join("hook-ran");
    write_hook(
        &ws.dir,
        "pre-commit",
        &format!("echo ran >> '{}'", marker.display()),
    );
    std::fs::write(ws.dir.join("staged.txt"), "staged\n").unwrap();
    ws.git(&["add", "staged.txt"]);
    std::fs::write(ws.dir.join("code.txt"), "unstaged change\n").unwrap();
    let before = ws.commit_count();
    ws.create("Hooked");
    ws.bd(&["commit"]).ok();
    assert!(marker.exists(), "the pre-commit hook did not run");
    assert_eq!(ws.commit_count(), before + 1);
    let names = ws.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(names.trim(), ".beads/issues.jsonl");
    assert_eq!(
        ws.git(&["diff", "--cached", "--name-only"]).trim(),
        "staged.txt"
    );
    assert_eq!(ws.git(&["diff", "--name-only"]).trim(), "code.txt");
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    let msg = ws.git(&["log", "-1", "--format=%B"]);
    assert!(msg.contains("Bd-Actor: tester"), "{msg}");

    // A hook that refuses: the tracker write stands, bd says so.
    write_hook(&ws.dir, "pre-commit", "echo 'no commits today' >&2; exit 1");
    let id = ws.create("Refused");
    let r = ws.bd(&["commit"]);
    assert_ne!(r.code, 0, "a refused commit is not a success");
    assert!(ws.ids().contains(&id));
    assert_eq!(ws.commit_count(), before + 1);
}

#[test]
fn commit_honours_core_hooks_path_and_commit_msg_hooks() {
    let (env, ws) = solo();
    let hooks = env.root().join("shared-hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let p = hooks.join("commit-msg");
        std::fs::write(
            &p,
            "#!/bin/sh\nprintf '\\nReviewed-by: hook\\n' >> \"$1\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    ws.git(&["config", "core.hooksPath", hooks.to_str().unwrap()]);
    std::fs::write(ws.dir.join("staged.txt"), "staged\n").unwrap();
    ws.git(&["add", "staged.txt"]);
    ws.create("Through the hook");
    ws.bd(&["commit"]).ok();
    let msg = ws.git(&["log", "-1", "--format=%B"]);
    assert!(msg.contains("Reviewed-by: hook"), "{msg}");
    assert!(msg.contains("Bd-Actor: tester"), "{msg}");
    let names = ws.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(names.trim(), ".beads/issues.jsonl");
    assert_eq!(
        ws.git(&["diff", "--cached", "--name-only"]).trim(),
        "staged.txt"
    );
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
}

#[test]
fn commit_signs_when_the_repository_signs() {
    let (env, ws) = solo();
    // A stand-in for gpg: git only needs a signature on stdout and
    // SIG_CREATED on the status fd.
    let gpg = env.root().join("fake-gpg");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(
            &gpg,
            "#!/bin/sh\ncat >/dev/null\necho '[GNUPG:] SIG_CREATED D 1 8 00 0 0' >&2\n\
             printf -- '-----BEGIN PGP SIGNATURE-----\\n\\nZmFrZQ==\\n-----END PGP SIGNATURE-----\\n'\n",
        )
        .unwrap();
        std::fs::set_permissions(&gpg, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    ws.git(&["config", "gpg.program", gpg.to_str().unwrap()]);
    ws.git(&["config", "user.signingkey", "tester@example.com"]);
    ws.git(&["config", "commit.gpgsign", "true"]);
    ws.create("Signed");
    ws.bd(&["commit"]).ok();
    let raw = ws.git(&["cat-file", "commit", "HEAD"]);
    assert!(
        raw.contains("gpgsig -----BEGIN PGP SIGNATURE-----"),
        "{raw}"
    );
    assert!(raw.contains("Bd-Actor: tester"), "{raw}");
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
}

#[test]
fn commit_on_an_unborn_branch_makes_the_root_commit() {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.bd(&["init", "--prefix", "bd"]).ok();
    std::fs::write(ws.dir.join("code.txt"), "untracked code\n").unwrap();
    let id = ws.create("First ever");
    ws.bd(&["commit"]).ok();
    assert_eq!(ws.commit_count(), 1);
    let names: BTreeSet<String> = ws
        .git(&["show", "--name-only", "--format=", "HEAD"])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert!(names.contains(".beads/issues.jsonl"), "{names:?}");
    assert!(names.contains(".beads/config.toml"), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with(".beads/")), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.contains(".cache") || n.ends_with(".lock")),
        "{names:?}"
    );
    assert!(ws.git(&["show", "HEAD:.beads/issues.jsonl"]).contains(&id));
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    let untracked = ws.git(&["status", "--porcelain"]);
    assert!(untracked.contains("?? code.txt"), "{untracked}");
    ws.git(&["fsck", "--no-progress"]);
}

#[test]
fn auto_commit_batch_respects_the_commit_window() {
    let (_env, ws) = solo();
    ws.bd(&["config", "set", "auto_commit", "batch"]).ok();
    ws.bd(&["config", "set", "commit_window", "1s"]).ok();
    ws.git(&["commit", "-q", "-am", "config"]);
    let before = ws.commit_count();
    ws.create("One");
    ws.create("Two");
    assert_eq!(ws.commit_count(), before + 1);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    ws.create("Three");
    assert_eq!(
        ws.commit_count(),
        before + 2,
        "older than the window: a new commit"
    );
}

#[test]
fn busy_index_leaves_the_commit_pending() {
    let (_env, ws) = solo();
    ws.bd(&["config", "set", "auto_commit", "on"]).ok();
    ws.git(&["commit", "-q", "-am", "config"]);
    let head = ws.head();
    let lock = ws.dir.join(".git/index.lock");
    std::fs::write(&lock, "").unwrap();
    let r = ws.bd(&["create", "While git is busy"]).ok();
    let id = r.stdout.trim().to_string();
    assert!(
        r.stderr.contains("index.lock") && r.stderr.contains("not committed"),
        "{}",
        r.stderr
    );
    assert!(ws.ids().contains(&id));
    assert_eq!(ws.head(), head);
    assert!(lock.exists(), "bd never removes git's lock");
    let r = ws.bd(&["commit"]).ok();
    assert!(
        r.stderr.contains("pending") || r.stderr.contains("not committed"),
        "{}",
        r.stderr
    );
    assert_eq!(ws.head(), head);
    std::fs::remove_file(&lock).unwrap();
    ws.bd(&["commit"]).ok();
    assert_ne!(ws.head(), head);
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    assert!(ws.git(&["show", "HEAD:.beads/issues.jsonl"]).contains(&id));
}

#[test]
fn merge_or_rebase_in_progress_leaves_the_commit_pending() {
    let (_env, ws) = solo();
    ws.bd(&["config", "set", "auto_commit", "on"]).ok();
    ws.git(&["commit", "-q", "-am", "config"]);
    ws.git(&["checkout", "-q", "-b", "side"]);
    ws.code_commit("code.txt", "side\n", "side edit");
    ws.git(&["checkout", "-q", "main"]);
    ws.code_commit("code.txt", "main\n", "main edit");
    let m = ws.git_try(&["merge", "--no-edit", "side"]);
    assert_ne!(m.code, 0, "the merge conflicts");
    assert!(ws.exists_in_git_dir("MERGE_HEAD"));
    let head = ws.head();
    let r = ws.bd(&["create", "During a merge"]).ok();
    let id = r.stdout.trim().to_string();
    assert!(r.stderr.contains("merge is in progress"), "{}", r.stderr);
    assert!(ws.ids().contains(&id));
    assert_eq!(ws.head(), head);
    assert!(
        ws.exists_in_git_dir("MERGE_HEAD"),
        "the user's merge is untouched"
    );
    let r = ws.bd(&["commit"]).ok();
    assert!(r.stderr.contains("merge is in progress"), "{}", r.stderr);
    assert_eq!(ws.head(), head);
    ws.git(&["merge", "--abort"]);

    // A rebase stopped on a conflict.
    ws.bd(&["commit"]).ok();
    ws.git(&["checkout", "-q", "side"]);
    let rb = ws.git_try(&["rebase", "main"]);
    assert_ne!(rb.code, 0, "the rebase conflicts");
    let head = ws.head();
    let r = ws.bd(&["create", "During a rebase"]).ok();
    assert!(r.stderr.contains("rebase is in progress"), "{}", r.stderr);
    assert_eq!(ws.head(), head);
    assert!(ws.exists_in_git_dir("rebase-merge") || ws.exists_in_git_dir("rebase-apply"));
    ws.git(&["rebase", "--abort"]);
}

/// SPEC §2: "`bd where`, `bd prime` and `bd doctor` show pending tracker changes."
#[test]
fn where_and_doctor_show_pending_tracker_changes() {
    let (_env, ws) = solo();
    ws.create("Not committed yet");
    let w = ws.bd(&["where"]).ok();
    let wj = ws.bd(&["--json", "where"]).ok();
    let d = ws.bd(&["doctor"]);
    for (what, r) in [("where", &w), ("where --json", &wj), ("doctor", &d)] {
        assert!(
            all_output(r).contains("pending") && all_output(r).contains(".beads/issues.jsonl"),
            "bd {what} does not show the pending change\nstdout: {}\nstderr: {}",
            r.stdout,
            r.stderr
        );
    }
}

// ---------------------------------------------------------------------------
// 4. bd diff and bd log
// ---------------------------------------------------------------------------

fn change<'a>(d: &'a Value, id: &str) -> &'a Value {
    d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no change for {id} in {d}"))
}

fn field_names(c: &Value) -> Vec<String> {
    c["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

fn field<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == name)
        .unwrap_or_else(|| panic!("no field {name} in {c}"))
}

#[test]
fn diff_shows_changes_issue_by_issue_and_field_by_field() {
    let (_env, ws) = solo();
    let a = ws.create("Alpha");
    let b = ws.create("Beta");
    ws.bd(&["commit"]).ok();
    let c1 = ws.head();

    let none = ws.json(&["diff"]);
    assert_eq!(none["changes"].as_array().unwrap().len(), 0, "{none}");
    let text = ws.bd(&["diff"]).ok().stdout;
    assert!(text.contains("No tracker changes"), "{text}");

    ws.bd(&["update", &a, "--title", "Alpha renamed", "-p", "0"])
        .ok();
    ws.bd(&["close", &b, "--reason", "done"]).ok();
    let c = ws.create("Gamma");

    let d = ws.json(&["diff"]);
    assert_eq!(d["changes"].as_array().unwrap().len(), 3, "{d}");
    let ca = change(&d, &a);
    assert_eq!(ca["kind"], "changed");
    assert_eq!(field_names(ca), vec!["title", "priority"], "{ca}");
    assert_eq!(field(ca, "title")["before"], "Alpha");
    assert_eq!(field(ca, "title")["after"], "Alpha renamed");
    assert_eq!(field(ca, "priority")["before"], 2);
    assert_eq!(field(ca, "priority")["after"], 0);
    let cb = change(&d, &b);
    assert_eq!(cb["kind"], "closed");
    assert_eq!(field(cb, "status")["before"], "open");
    assert_eq!(field(cb, "status")["after"], "closed");
    assert!(field(cb, "closed_at")["before"].is_null());
    assert!(field(cb, "closed_at")["after"].is_string());
    assert_eq!(field(cb, "close_reason")["after"], "done");
    let cc = change(&d, &c);
    assert_eq!(cc["kind"], "created");
    assert_eq!(field(cc, "title")["after"], "Gamma");
    assert!(field(cc, "title")["before"].is_null());
    assert!(
        !field_names(ca)
            .iter()
            .any(|f| f == "_stamps" || f == "updated_at"),
        "{ca}"
    );

    let text = ws.bd(&["diff"]).ok().stdout;
    for needle in [
        a.as_str(),
        b.as_str(),
        c.as_str(),
        "Alpha renamed",
        "title",
        "priority",
        "status",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }

    // REV against the working tree, and A..B between commits.
    let same = ws.json(&["diff", &c1]);
    assert_eq!(same["changes"], d["changes"]);
    assert_eq!(ws.json(&["diff", "HEAD"])["changes"], d["changes"]);
    ws.bd(&["commit"]).ok();
    let c2 = ws.head();
    assert_eq!(ws.json(&["diff"])["changes"].as_array().unwrap().len(), 0);
    let range = ws.json(&["diff", &format!("{c1}..{c2}")]);
    assert_eq!(range["changes"], d["changes"]);
    let range = ws.json(&["diff", "HEAD~1..HEAD"]);
    assert_eq!(range["changes"], d["changes"]);
    let back = ws.json(&["diff", &format!("{c2}..{c1}")]);
    let cc = change(&back, &c);
    assert_eq!(cc["kind"], "removed");
    assert_eq!(change(&back, &b)["kind"], "reopened");

    // An unknown revision is an error, not an empty diff.
    let r = ws.bd(&["--json", "diff", "no-such-rev"]).code(1);
    assert_eq!(r.json()["code"], "not_found");
}

#[test]
fn log_lists_the_commits_of_one_issue_newest_first() {
    let (_env, ws) = solo();
    let a = ws.create("Logged");
    ws.bd(&["commit"]).ok();
    let c1 = ws.head();
    ws.create("Unrelated");
    ws.bd(&["commit"]).ok();
    ws.code_commit("code.txt", "code\n", "code only");
    ws.bd(&["update", &a, "-p", "1", "--description", "more detail"])
        .ok();
    ws.bd(&["commit"]).ok();
    let c2 = ws.head();
    ws.bd(&["close", &a]).ok();
    ws.bd(&["commit"]).ok();
    let c3 = ws.head();

    let v = ws.json(&["log", &a]);
    assert_eq!(v["id"], a.as_str());
    let entries = v["entries"].as_array().unwrap();
    let commits: Vec<&str> = entries
        .iter()
        .map(|e| e["commit"].as_str().unwrap())
        .collect();
    assert_eq!(commits, vec![c3.as_str(), c2.as_str(), c1.as_str()], "{v}");
    assert_eq!(entries[0]["kind"], "closed");
    assert_eq!(entries[1]["kind"], "changed");
    assert_eq!(entries[2]["kind"], "created");
    let f1: Vec<&str> = entries[1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(f1, vec!["description", "priority"]);
    assert_eq!(entries[1]["fields"][1]["before"], 2);
    assert_eq!(entries[1]["fields"][1]["after"], 1);
    assert!(entries[0]["author"].as_str().unwrap().contains("tester"));

    let text = ws.bd(&["log", &a]).ok().stdout;
    let p3 = text.find(&c3[..10]).expect("newest commit shown");
    let p1 = text.find(&c1[..10]).expect("oldest commit shown");
    assert!(p3 < p1, "newest first:\n{text}");
    assert!(text.contains("priority"), "{text}");
    let limited = ws.json(&["log", &a, "-n", "1"]);
    assert_eq!(limited["entries"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------
// 5. bd sync
// ---------------------------------------------------------------------------

#[test]
fn sync_refuses_a_detached_head_and_a_branch_without_upstream() {
    let net = Network::new(1, "line 1\n");
    let a = &net.c[0];
    a.git(&["checkout", "-q", "--detach"]);
    let r = a.bd(&["sync"]).code(1);
    assert!(r.stderr.contains("detached"), "{}", r.stderr);
    let r = a.bd(&["--json", "sync"]).code(1);
    assert!(r.json()["error"].as_str().unwrap().contains("detached"));
    a.git(&["checkout", "-q", "-b", "feature"]);
    a.create("On a local branch");
    let r = a.bd(&["sync"]).code(1);
    assert!(r.stderr.contains("upstream"), "{}", r.stderr);
    assert!(r.stderr.contains("feature"), "{}", r.stderr);
    assert_eq!(
        a.git(&["ls-remote", "--heads", "origin"]).lines().count(),
        1
    );
}

#[test]
fn sync_refuses_unpushed_code_commits_unless_all() {
    let net = Network::new(1, "line 1\n");
    let a = &net.c[0];
    let remote_before = net.remote_head();
    let code = a.code_commit("code.txt", "new code\n", "Refactor the engine");
    a.create("Tracked");
    let r = a.bd(&["sync"]).code(1);
    assert!(r.stderr.contains("Refactor the engine"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&code[..7]),
        "names the commit: {}",
        r.stderr
    );
    assert_eq!(net.remote_head(), remote_before, "nothing pushed");
    assert!(!a.exists_in_git_dir("MERGE_HEAD"));
    let v = a.bd(&["--json", "sync", "--all"]).ok().json();
    assert_eq!(v["pushed"], true, "{v}");
    assert_eq!(net.remote_head(), a.head());
    assert!(a.beads_status().is_empty());
}

#[test]
fn sync_with_an_unreachable_remote_fails_cleanly() {
    let net = Network::new(1, "line 1\n");
    let a = &net.c[0];
    a.create("Before the outage");
    a.bd(&["sync"]).ok();
    let remote_before = net.remote_head();
    a.create("During the outage");
    let bytes = a.issues();
    let missing = net.root().join("nowhere/remote.git");
    a.git(&["remote", "set-url", "origin", missing.to_str().unwrap()]);
    let r = a.bd(&["sync"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("remote"), "{}", r.stderr);
    assert!(!a.exists_in_git_dir("MERGE_HEAD"));
    assert_eq!(a.issues(), bytes, "the tracker file is untouched");
    assert!(
        a.git(&["diff", "--name-only", "--diff-filter=U"])
            .trim()
            .is_empty()
    );
    assert_eq!(net.remote_head(), remote_before);
    let r = a.bd(&["--json", "sync"]);
    assert_ne!(r.code, 0);
    let v = r.json();
    assert!(v["error"].as_str().unwrap().contains("remote"), "{v}");
    assert!(v["hint"].is_string(), "{v}");
    // Back online: the next sync pushes.
    a.git(&["remote", "set-url", "origin", net.remote.to_str().unwrap()]);
    a.bd(&["sync"]).ok();
    assert_eq!(net.remote_head(), a.head());
}

#[test]
fn sync_error_never_shows_a_password() {
    let net = Network::new(1, "line 1\n");
    let a = &net.c[0];
    // Nothing listens on the discard port of the loopback: refused at once.
    a.git(&[
        "remote",
        "set-url",
        "origin",
        "https://bob:hunter2@127.0.0.1:9/team/tool.git",
    ]);
    a.create("Pending");
    for args in [&["sync"][..], &["--json", "sync"]] {
        let r = a.bd(args);
        assert_ne!(r.code, 0);
        let all = all_output(&r);
        assert!(all.contains("remote"), "{all}");
        assert!(!all.contains("hunter2") && !all.contains("bob:"), "{all}");
    }
}

#[test]
fn sync_pulls_into_a_clone_that_is_behind_and_pushes_from_one_ahead() {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    let x = a.create("Made in a");
    let v = a.bd(&["--json", "sync"]).ok().json();
    assert_eq!(v["pushed"], true, "{v}");
    assert!(v["committed"].is_string(), "{v}");
    assert_eq!(net.remote_head(), a.head());
    assert!(a.beads_status().is_empty());

    // b is behind: it gets x.
    b.bd(&["sync"]).ok();
    assert!(b.ids().contains(&x));
    assert_eq!(b.head(), a.head());

    // b ahead: it pushes, a catches up.
    let y = b.create("Made in b");
    b.bd(&["sync"]).ok();
    assert_eq!(net.remote_head(), b.head());
    a.bd(&["sync"]).ok();
    assert_eq!(a.ids(), b.ids());
    assert!(a.ids().contains(&y));
    assert_eq!(a.issues(), b.issues());

    // Nothing to do.
    let r = a.bd(&["sync"]).ok();
    assert!(r.stderr.contains("up to date"), "{}", r.stderr);
}

#[test]
fn sync_merges_a_remote_code_commit_with_local_tracker_changes() {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    b.bd(&["list"]).ok();
    let code = a.code_commit("code.txt", "from a\n", "code from a");
    a.git(&["push", "-q"]);
    let y = b.create("Tracker change in b");
    let v = b.bd(&["--json", "sync"]).ok().json();
    assert_eq!(v["merged"], true, "{v}");
    assert_eq!(v["pushed"], true, "{v}");
    assert_eq!(net.remote_head(), b.head());
    let parents = b.git(&["log", "-1", "--format=%P"]);
    assert_eq!(
        parents.split_whitespace().count(),
        2,
        "a merge, never a rebase"
    );
    assert_eq!(
        b.git_try(&["merge-base", "--is-ancestor", &code, "HEAD"])
            .code,
        0
    );
    assert_eq!(
        std::fs::read_to_string(b.dir.join("code.txt")).unwrap(),
        "from a\n"
    );
    a.bd(&["sync"]).ok();
    assert!(a.ids().contains(&y));
    assert_eq!(a.issues(), b.issues());
}

#[test]
fn sync_retries_a_push_that_lost_a_race() {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    // b has a code commit ready; a's pre-push hook pushes it once, between
    // a's fetch and a's push, so a's first push is rejected.
    let b_code = b.code_commit("other.txt", "from b\n", "b's code");
    let marker = net.root().join("raced");
    write_hook(
        &a.dir,
        "pre-push",
        &format!(
            "cat >/dev/null\nif [ ! -e '{m}' ]; then\n  touch '{m}'\n  unset $(git rev-parse --local-env-vars)\n  git -C '{b}' push -q origin main >&2 || exit 1\nfi\nexit 0",
            m = marker.display(),
            b = b.dir.display()
        ),
    );
    let x = a.create("Racing");
    let r = a.bd(&["--json", "sync"]).ok();
    let v = r.json();
    assert!(marker.exists(), "the hook ran");
    assert_eq!(v["push_attempts"], 2, "{v}\n{}", r.stderr);
    assert_eq!(v["pushed"], true, "{v}");
    assert_eq!(net.remote_head(), a.head());
    assert_eq!(
        a.git_try(&["merge-base", "--is-ancestor", &b_code, "HEAD"])
            .code,
        0,
        "b's commit is merged"
    );
    assert!(a.git(&["show", "HEAD:.beads/issues.jsonl"]).contains(&x));
}

#[test]
fn sync_aborts_on_code_conflicts() {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    a.code_commit("code.txt", "a's version\n", "a edits code");
    a.git(&["push", "-q"]);
    b.code_commit("code.txt", "b's version\n", "b edits code");
    let head = b.head();
    let r = b.bd(&["sync", "--all"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("code.txt"),
        "names the file: {}",
        r.stderr
    );
    assert!(!b.exists_in_git_dir("MERGE_HEAD"), "the merge was aborted");
    assert_eq!(b.head(), head);
    assert_eq!(
        std::fs::read_to_string(b.dir.join("code.txt")).unwrap(),
        "b's version\n"
    );
}

/// A clone pushes a line that does not parse (written by another tool) while
/// another clone has tracker changes: the driver cannot merge (SPEC §5: it
/// "exits 1 leaving %A unchanged" when an input does not parse), so `bd sync`
/// stops with nothing half-done and says what to do about the tracker file.
fn sync_against_a_bad_upstream_line(bad: &str) {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    b.bd(&["list"]).ok();
    a.create("Good one");
    a.bd(&["sync"]).ok();
    b.bd(&["sync"]).ok();
    let mut text = String::from_utf8(a.issues()).unwrap();
    text.push_str(bad);
    text.push('\n');
    std::fs::write(a.issues_path(), text).unwrap();
    a.git(&["commit", "-q", "-am", "another tool wrote this"]);
    a.git(&["push", "-q"]);
    let remote = net.remote_head();
    b.create("Made in b");
    let r = b.bd(&["sync"]);
    assert_eq!(
        r.code,
        1,
        "sync must not merge a file that does not parse\nstdout: {}\nstderr: {}\nb now holds:\n{}",
        r.stdout,
        r.stderr,
        String::from_utf8_lossy(&b.issues())
    );
    assert!(!b.exists_in_git_dir("MERGE_HEAD"), "the merge was aborted");
    assert_eq!(net.remote_head(), remote, "nothing pushed");
    assert!(!String::from_utf8_lossy(&b.issues()).contains(bad));
    assert!(r.stderr.contains(".beads/issues.jsonl"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("outside the tracker"),
        "the conflict is inside the tracker: {}",
        r.stderr
    );
}

#[test]
fn sync_stops_on_an_unparseable_upstream_line() {
    sync_against_a_bad_upstream_line("this is not JSON");
}

#[test]
fn sync_stops_on_a_truncated_upstream_record() {
    sync_against_a_bad_upstream_line("{\"id\":\"bd-zzz\",\"title\":");
}

// ---------------------------------------------------------------------------
// 6. Convergence (needs the merge driver)
// ---------------------------------------------------------------------------

/// Create an issue in `a`, sync it to every clone.
fn shared_issue(net: &Network, title: &str) -> String {
    let id = net.c[0].create(title);
    let all: Vec<usize> = (0..net.c.len()).collect();
    net.sync(&all);
    for ws in &net.c {
        assert!(ws.ids().contains(&id), "{} lacks {id}", ws.name());
    }
    id
}

fn ids_of(list: &[&String]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn converge_two_clones_concurrent_creates() {
    let net = Network::new(2, "line 1\n");
    let mut ids = BTreeSet::new();
    for i in 0..3 {
        ids.insert(net.c[0].create(&format!("a{i}")));
        ids.insert(net.c[1].create(&format!("b{i}")));
    }
    net.converge(&ids);
    assert_eq!(net.c[0].ids(), ids);
}

#[test]
fn converge_three_clones_concurrent_creates() {
    let net = Network::new(3, "line 1\n");
    let mut ids = BTreeSet::new();
    for (n, ws) in net.c.iter().enumerate() {
        for i in 0..2 {
            ids.insert(ws.create(&format!("clone {n} issue {i}")));
        }
    }
    // Several rounds of new work and syncs in different orders.
    net.sync(&[2, 0]);
    ids.insert(net.c[1].create("late in b"));
    ids.insert(net.c[2].create("late in c"));
    net.sync(&[1, 2]);
    ids.insert(net.c[0].create("late in a"));
    net.converge(&ids);
    assert_eq!(net.c[2].ids(), ids);
}

#[test]
fn converge_edits_of_different_fields() {
    let net = Network::new(3, "line 1\n");
    let x = shared_issue(&net, "Shared");
    net.c[0].bd(&["update", &x, "--title", "Title from a"]).ok();
    net.c[1].bd(&["update", &x, "-p", "0"]).ok();
    net.c[2].bd(&["label", "add", &x, "from-c"]).ok();
    net.converge(&ids_of(&[&x]));
    for ws in &net.c {
        let r = ws.record(&x);
        assert_eq!(r["title"], "Title from a", "{r}");
        assert_eq!(r["priority"], 0, "{r}");
        assert_eq!(r["labels"], serde_json::json!(["from-c"]), "{r}");
    }
}

#[test]
fn converge_edits_of_the_same_field_later_wins() {
    let net = Network::new(2, "line 1\n");
    let x = shared_issue(&net, "Shared");
    let (a, b) = (&net.c[0], &net.c[1]);
    a.bd(&["update", &x, "-p", "1", "--description", "from a"])
        .ok();
    std::thread::sleep(std::time::Duration::from_millis(5));
    b.bd(&["update", &x, "-p", "3", "--description", "from b"])
        .ok();
    // b syncs first, then a: the later write wins whatever the order.
    net.sync(&[1, 0]);
    net.converge(&ids_of(&[&x]));
    for ws in &net.c {
        let r = ws.record(&x);
        assert_eq!(r["priority"], 3, "{r}");
        assert_eq!(r["description"], "from b", "{r}");
    }
    // The losing value is still visible in a's history.
    let log = a.bd(&["log", &x]).ok().stdout;
    assert!(log.contains("from a"), "{log}");
}

#[test]
fn converge_racing_claims_leave_one_holder() {
    let net = Network::new(3, "line 1\n");
    let x = shared_issue(&net, "Contended");
    let (a, b) = (&net.c[0], &net.c[1]);
    a.bd(&["claim", &x]).ok();
    std::thread::sleep(std::time::Duration::from_millis(5));
    b.bd(&["claim", &x]).ok();
    a.bd(&["sync"]).ok();
    let r = b.bd(&["sync"]).ok();
    assert!(
        r.stderr.contains("lost") && r.stderr.contains(&x),
        "b is told its claim was lost: {}",
        r.stderr
    );
    net.converge(&ids_of(&[&x]));
    for ws in &net.c {
        let r = ws.record(&x);
        assert_eq!(r["assignee"], "alice", "earlier claim wins: {r}");
        assert_eq!(r["status"], "in_progress", "{r}");
        let show = ws.json(&["show", &x]);
        assert_eq!(show["assignee"], "alice");
    }
}

#[test]
fn converge_comments_are_a_union() {
    let net = Network::new(2, "line 1\n");
    let x = shared_issue(&net, "Discussed");
    net.c[0].bd(&["comment", &x, "from a"]).ok();
    net.c[1].bd(&["comment", &x, "from b"]).ok();
    net.c[1].bd(&["comment", &x, "again from b"]).ok();
    net.converge(&ids_of(&[&x]));
    for ws in &net.c {
        let r = ws.record(&x);
        let texts: BTreeSet<&str> = r["comments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            texts,
            ["again from b", "from a", "from b"].into_iter().collect(),
            "{r}"
        );
    }
}

#[test]
fn converge_delete_beats_a_concurrent_edit() {
    let net = Network::new(2, "line 1\n");
    let x = shared_issue(&net, "Doomed");
    net.c[0].bd(&["delete", &x, "--reason", "duplicate"]).ok();
    net.c[1]
        .bd(&["update", &x, "--title", "Edited meanwhile"])
        .ok();
    net.sync(&[1, 0]);
    net.converge(&ids_of(&[&x]));
    for ws in &net.c {
        let r = ws.record(&x);
        assert_eq!(r["status"], "tombstone", "{r}");
        assert!(r["deleted_at"].is_string(), "{r}");
    }
}

#[test]
fn converge_close_beats_a_concurrent_claim() {
    let net = Network::new(2, "line 1\n");
    let x = shared_issue(&net, "Finished elsewhere");
    let y = shared_issue(&net, "Finished elsewhere too");
    net.c[0].bd(&["close", &x, "--reason", "done"]).ok();
    net.c[0].bd(&["close", &y, "--reason", "done"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(5));
    net.c[1].bd(&["claim", &x]).ok();
    net.c[1].bd(&["claim", &y]).ok();
    // x: the closer syncs first; y's turn is the other way round below.
    net.sync(&[0, 1]);
    net.converge(&ids_of(&[&x, &y]));
    for ws in &net.c {
        for id in [&x, &y] {
            let r = ws.record(id);
            assert_eq!(r["status"], "closed", "{r}");
            assert!(r["closed_at"].is_string(), "{r}");
        }
    }
}

#[test]
fn converge_close_beats_a_claim_when_the_claimer_syncs_first() {
    let net = Network::new(2, "line 1\n");
    let x = shared_issue(&net, "Finished elsewhere");
    net.c[0].bd(&["close", &x]).ok();
    std::thread::sleep(std::time::Duration::from_millis(5));
    net.c[1].bd(&["claim", &x]).ok();
    net.sync(&[1, 0]);
    net.converge(&ids_of(&[&x]));
    for ws in &net.c {
        assert_eq!(ws.record(&x)["status"], "closed");
    }
}

#[test]
fn converge_everything_at_once_in_three_clones() {
    let net = Network::new(3, "line 1\n");
    let x = shared_issue(&net, "Edited everywhere");
    let claim = shared_issue(&net, "Claimed twice");
    let del = shared_issue(&net, "Deleted and edited");
    let close = shared_issue(&net, "Closed and claimed");
    let (a, b, c) = (&net.c[0], &net.c[1], &net.c[2]);
    let mut ids: BTreeSet<String> = [&x, &claim, &del, &close].into_iter().cloned().collect();
    ids.insert(a.create("new in a"));
    ids.insert(b.create("new in b"));
    ids.insert(c.create("new in c"));
    a.bd(&["update", &x, "--title", "Retitled by a"]).ok();
    b.bd(&["update", &x, "-p", "4"]).ok();
    c.bd(&["update", &x, "--notes", "notes by c"]).ok();
    a.bd(&["comment", &x, "comment by a"]).ok();
    c.bd(&["comment", &x, "comment by c"]).ok();
    a.bd(&["claim", &claim]).ok();
    a.bd(&["delete", &del]).ok();
    a.bd(&["close", &close]).ok();
    std::thread::sleep(std::time::Duration::from_millis(5));
    b.bd(&["claim", &claim]).ok();
    c.bd(&["claim", &claim]).ok();
    b.bd(&["update", &del, "--description", "edited by b"]).ok();
    c.bd(&["claim", &close]).ok();
    net.sync(&[2, 1, 0]);
    ids.insert(b.create("second round in b"));
    net.converge(&ids);
    for ws in &net.c {
        let r = ws.record(&x);
        assert_eq!(r["title"], "Retitled by a", "{r}");
        assert_eq!(r["priority"], 4, "{r}");
        assert_eq!(r["notes"], "notes by c", "{r}");
        assert_eq!(r["comments"].as_array().unwrap().len(), 2, "{r}");
        let r = ws.record(&claim);
        assert_eq!(r["assignee"], "alice", "{r}");
        assert_eq!(r["status"], "in_progress", "{r}");
        assert_eq!(ws.record(&del)["status"], "tombstone");
        assert_eq!(ws.record(&close)["status"], "closed");
    }
}

#[test]
fn converge_with_plain_git_pull_and_push() {
    let net = Network::new(3, "line 1\n");
    let mut ids = BTreeSet::new();
    let x = shared_issue(&net, "Shared");
    ids.insert(x.clone());
    for (n, ws) in net.c.iter().enumerate() {
        ids.insert(ws.create(&format!("from clone {n}")));
        ws.bd(&["comment", &x, &format!("comment {n}")]).ok();
        ws.bd(&["commit"]).ok();
    }
    // Each clone: pull (git runs the driver), push; then again to settle.
    for round in 0..2 {
        for ws in &net.c {
            let pull = ws.git_try(&["pull", "--no-rebase", "--no-edit", "-q"]);
            assert_eq!(
                pull.code,
                0,
                "round {round}: git pull in {} failed\nstdout: {}\nstderr: {}",
                ws.name(),
                pull.stdout,
                pull.stderr
            );
            ws.git(&["push", "-q"]);
        }
    }
    net.assert_converged(&ids);
    for ws in &net.c {
        assert_eq!(ws.record(&x)["comments"].as_array().unwrap().len(), 3);
        assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    }
}

#[test]
fn without_the_driver_doctor_fix_repairs_conflict_markers() {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    b.bd(&["list"]).ok();
    let x = a.create("From a");
    a.bd(&["sync"]).ok();
    let y = b.create("From b");
    b.bd(&["commit"]).ok();
    let before = b.issues();
    let head = b.head();
    // Only the driver line unset: `merge.beads.name` remains, and git refuses
    // the merge outright; nothing is half-done.
    b.git(&["config", "--unset", "merge.beads.driver"]);
    let pull = b.git_try(&["pull", "--no-rebase", "--no-edit", "-q"]);
    assert_ne!(pull.code, 0, "git cannot run a driver without a command");
    assert!(
        pull.stderr.contains("lacks command line"),
        "{}",
        pull.stderr
    );
    assert!(!b.exists_in_git_dir("MERGE_HEAD"));
    assert_eq!(b.issues(), before);
    assert_eq!(b.head(), head);
    // No driver at all (as in a clone where bd never ran): git's text merge
    // leaves conflict markers.
    b.git(&["config", "--remove-section", "merge.beads"]);
    let pull = b.git_try(&["pull", "--no-rebase", "--no-edit", "-q"]);
    assert_ne!(pull.code, 0, "git's text merge conflicts");
    assert!(b.exists_in_git_dir("MERGE_HEAD"));
    let text = String::from_utf8_lossy(&b.issues()).into_owned();
    assert!(
        text.contains("<<<<<<<") && text.contains(">>>>>>>"),
        "conflict markers in issues.jsonl:\n{text}"
    );
    let r = b.bd(&["doctor", "--fix"]);
    assert_eq!(
        r.code, 0,
        "doctor --fix\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    let text = String::from_utf8_lossy(&b.issues()).into_owned();
    assert!(
        !text.contains("<<<<<<<") && !text.contains("======="),
        "{text}"
    );
    let ids = b.ids();
    assert!(ids.contains(&x) && ids.contains(&y), "{ids:?}");
    assert_eq!(
        b.config_value("merge.beads.driver").as_deref(),
        Some(DRIVER)
    );
    // Finish the merge and converge.
    if b.exists_in_git_dir("MERGE_HEAD") {
        b.git(&["add", ".beads/issues.jsonl"]);
        b.git(&["commit", "-q", "--no-edit"]);
    }
    net.converge(&ids_of(&[&x, &y]));
}

#[test]
fn without_the_driver_doctor_fix_repairs_conflict_markers_in_mail() {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    b.bd(&["list"]).ok();
    let m = a.json(&["mail", "send", "--to", "@all", "-s", "hello all"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    a.bd(&["sync"]).ok();
    b.bd(&["sync"]).ok();
    // The same line changes on both sides: read by bob in b, by carol in a.
    b.bd(&["mail", "read", &m]).ok();
    b.bd(&["commit"]).ok();
    a.bd(&["--actor", "carol", "mail", "read", &m]).ok();
    a.bd(&["sync"]).ok();
    b.git(&["config", "--remove-section", "merge.beads"]);
    let pull = b.git_try(&["pull", "--no-rebase", "--no-edit", "-q"]);
    assert_ne!(pull.code, 0, "git's text merge conflicts");
    let mail = || std::fs::read_to_string(b.dir.join(".beads/mail.jsonl")).unwrap();
    assert!(mail().contains("<<<<<<<"), "{}", mail());
    // Mail writes refuse the file until it is repaired.
    let r = b.bd(&["--json", "mail", "send", "--to", "@all", "-s", "x"]);
    assert_eq!(r.code, 1, "{r:?}");
    let r = b.bd(&["doctor", "--fix"]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let text = mail();
    assert!(
        !text.contains("<<<<<<<") && !text.contains("======="),
        "{text}"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    let read_by = lines[0]["read_by"].as_object().unwrap();
    assert!(
        read_by.contains_key("bob") && read_by.contains_key("carol"),
        "{text}"
    );
    // The merge is finished with git; mail works again.
    b.git(&["add", ".beads/mail.jsonl"]);
    b.git(&["commit", "-q", "--no-edit"]);
    b.json(&["mail", "send", "--to", "@all", "-s", "after the repair"]);
}

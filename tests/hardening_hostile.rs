//! Issue 9: a hostile repository. A clone of a remote whose `.beads/` holds
//! symbolic links to files and folders outside, conflict markers, another
//! project's identity in `config.toml` (that project lives on the same
//! machine, with agents, live mail and claims) and terminal escapes in a
//! title and a comment; every
//! command of `bd --help` run in it either works inside the worktree or
//! refuses (never a crash), prints nothing of the outside files, and nothing
//! outside `.beads/` and `$BD_HOME` changes (a decoy tree and the rest of
//! the worktree, the other project's workspace and its home are compared
//! byte for byte), nothing prints the other project's mail or a raw terminal
//! control. Then `bd doctor --fix` and every command once more: all work but
//! those that need the other project's home, which say the proof is missing.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::*;

const SECRET: &str = "hunter2-DO-NOT-LEAK";
/// A window-title change and a screen clear.
const ESCAPES: &str = "\x1b]0;pwned\x07\x1b[2J";
const VICTIM_PROJECT: &str = "example.com/victim/proj";

/// The victim's own project on the same machine (same BD_HOME): a
/// registered agent, live mail, a claim. Returns its workspace.
fn victim_project(env: &TestEnvironment, home: &Path) -> PathBuf {
    let v = env.root().join("vproj");
    std::fs::create_dir_all(&v).unwrap();
    git_bd(&v, &["init", "-q", "-b", "main"]);
    git_bd(
        &v,
        &[
            "remote",
            "add",
            "origin",
            &format!("https://{VICTIM_PROJECT}.git"),
        ],
    );
    let bd = |args: &[&str]| {
        let r = env.bd_on(&v, home, "tester", args);
        assert!(r.code == 0, "{}", r.stderr);
        r.stdout.trim().to_string()
    };
    bd(&["init", "--prefix", "vv"]);
    bd(&["agent", "register"]);
    let id = bd(&["create", "Victim work"]);
    bd(&["create", "More victim work"]);
    bd(&["claim", &id]);
    bd(&[
        "mail",
        "send",
        "--to",
        "tester",
        "-s",
        "private",
        "-b",
        "victim mail",
    ]);
    v
}

/// Every path below `dir` (not entering `skip`) with its bytes, link target
/// or "dir". Nothing is followed.
fn snapshot(dir: &Path, skip: &[&str]) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if d == dir && skip.contains(&name.as_str()) {
                continue;
            }
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

/// The attacker's remote: two issues, `issues.jsonl` with conflict markers,
/// and links in `.beads/` to the victim's files (force-added where ignored).
fn hostile_remote(env: &TestEnvironment, foreign_project: &str) -> (PathBuf, String, String) {
    let a = env.create("First", &[]);
    let b = env.create(&format!("Second {ESCAPES}"), &[]);
    env.bd(&["comment", &a, &format!("see {ESCAPES}")]).ok();
    // Another project's identity, to join its home on this word alone.
    let config = env.beads().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("project"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&config, format!("{text}project = \"{foreign_project}\"\n")).unwrap();
    let text = env.issues_text();
    let lines: Vec<&str> = text.lines().collect();
    let theirs = lines[0].replace("First", "First, their way");
    std::fs::write(
        env.issues_path(),
        format!(
            "<<<<<<< HEAD\n{}\n=======\n{theirs}\n>>>>>>> theirs\n{}\n",
            lines[0], lines[1]
        ),
    )
    .unwrap();
    let beads = env.beads();
    let _ = std::fs::remove_file(beads.join("mail.jsonl"));
    symlink("../../victim/credentials", beads.join("mail.jsonl")).unwrap();
    std::fs::create_dir_all(beads.join("hooks")).unwrap();
    symlink(
        "../../../victim/credentials",
        beads.join("hooks/tester.json"),
    )
    .unwrap();
    symlink("../../victim/dir", beads.join("quarantine")).unwrap();
    symlink("../../victim/dir", beads.join("attachments")).unwrap();
    let _ = std::fs::remove_file(beads.join(".lock"));
    symlink("../../victim/absent-lock", beads.join(".lock")).unwrap();
    let _ = std::fs::remove_dir_all(beads.join(".cache"));
    symlink("../../victim/dir", beads.join(".cache")).unwrap();
    let remote = env.tmp.path().join("remote.git");
    std::fs::create_dir_all(&remote).unwrap();
    git_bd(&remote, &["init", "-q", "--bare", "-b", "main"]);
    git_bd(
        &env.repo,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git_bd(&env.repo, &["add", "-A"]);
    git_bd(&env.repo, &["add", "-f", ".beads/.lock", ".beads/.cache"]);
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
            "gift",
        ],
    );
    git_bd(&env.repo, &["push", "-q", "-u", "origin", "main"]);
    (remote, a, b)
}

/// Every command of `bd --help`, with arguments that make sense here.
fn every_command(a: &str, b: &str, attach: &str, import: &str) -> Vec<Vec<String>> {
    let cmds: Vec<Vec<&str>> = vec![
        vec!["init"],
        vec!["create", "Hostile test"],
        vec!["show", a],
        vec!["list"],
        vec!["count"],
        vec!["children", a],
        vec!["update", a, "-p", "1"],
        vec!["close", b],
        vec!["reopen", b],
        vec!["delete", b],
        vec!["restore", b],
        vec!["defer", a, "--until", "2099-01-01"],
        vec!["undefer", a],
        vec!["ready"],
        vec!["blocked"],
        vec!["stale"],
        vec!["claim", a],
        vec!["unclaim", a],
        vec!["dep", "add", b, a],
        vec!["label", "add", a, "x"],
        vec!["comment", a, "a note"],
        vec!["comments", a],
        vec!["search", "First"],
        vec!["stats"],
        vec!["where"],
        vec!["config", "list"],
        vec!["version"],
        vec!["completion", "bash"],
        vec!["onboard"],
        vec!["doctor"],
        vec!["import", import],
        vec!["agent", "register", "tester"],
        vec!["dispatch"],
        vec![
            "mail", "send", "--to", "tester", "-s", "hi", "--attach", attach,
        ],
        vec!["mail", "inbox"],
        vec!["convoy", "create", "c1", a],
        vec!["convoy", "list"],
        vec!["sling", a, "tester"],
        vec!["hook"],
        vec!["unhook"],
        vec!["prime"],
        vec!["agents"],
        vec!["heartbeat"],
        vec!["commit"],
        vec!["diff"],
        vec!["log", a],
        vec!["sync"],
        vec!["export"],
    ];
    cmds.into_iter()
        .map(|c| c.into_iter().map(String::from).collect())
        .collect()
}

#[test]
fn hostile_repository_every_command_stays_inside() {
    let env = TestEnvironment::new();
    let t = env.tmp.path().to_path_buf();
    let victim = t.join("victim");
    std::fs::create_dir_all(victim.join("dir")).unwrap();
    std::fs::write(victim.join("credentials"), format!("key = {SECRET}\n")).unwrap();
    let home = t.join("home-victim");
    let vproj = victim_project(&env, &home);
    let vhome = home
        .join("projects")
        .join(strand::files::escape(VICTIM_PROJECT));
    assert!(vhome.is_dir(), "the victim project has a home");
    let (remote, a, b) = hostile_remote(&env, VICTIM_PROJECT);
    git_bd(&t, &["clone", "-q", remote.to_str().unwrap(), "clone"]);
    let clone = t.join("clone");
    git_bd(&clone, &["config", "user.name", "Victim"]);
    git_bd(&clone, &["config", "user.email", "v@example.com"]);
    // Files the victim's commands may read (outside the worktree).
    let attach = t.join("inputs/note.txt");
    let import = t.join("inputs/classic.jsonl");
    std::fs::create_dir_all(t.join("inputs")).unwrap();
    std::fs::write(&attach, "attached\n").unwrap();
    std::fs::write(&import, "").unwrap();
    let outside = |_: ()| {
        (
            snapshot(&victim, &[]),
            snapshot(&t.join("inputs"), &[]),
            // The worktree outside .beads/ (and git's own folder; the root
            // .gitattributes is issue 9 item 6's to move).
            snapshot(&clone, &[".beads", ".git", ".gitattributes"]),
            // The other project: its workspace and its home on this machine.
            snapshot(&vproj, &[".git"]),
            snapshot(&vhome, &[]),
        )
    };
    let before = outside(());
    let victim_ws = env
        .workspace(&clone, &home, "tester")
        .with_env("BD_LOCK_TIMEOUT_MS", "200");
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        victim_ws.cmd(&args).output().unwrap()
    };
    let cmds = every_command(&a, &b, attach.to_str().unwrap(), import.to_str().unwrap());
    for round in ["as cloned", "after doctor --fix"] {
        let mut refused = 0;
        let mut home_refusals = 0;
        for args in &cmds {
            for json in [false, true] {
                let mut full = Vec::new();
                if json {
                    full.push("--json".to_string());
                }
                full.extend(args.iter().cloned());
                let o = run(&full);
                let out = String::from_utf8_lossy(&o.stdout);
                let err = String::from_utf8_lossy(&o.stderr);
                let code = o.status.code();
                assert!(
                    matches!(code, Some(0..=3)),
                    "{round}: bd {full:?} crashed ({code:?})\n{out}\n{err}"
                );
                assert!(
                    !out.contains(SECRET) && !err.contains(SECRET),
                    "{round}: bd {full:?} printed the secret\n{out}\n{err}"
                );
                assert!(
                    !out.contains("victim mail") && !err.contains("victim mail"),
                    "{round}: bd {full:?} read the other project's mail\n{out}\n{err}"
                );
                // No raw terminal controls in human output (JSON escapes them).
                for (what, text) in [("stdout", &out), ("stderr", &err)] {
                    assert!(
                        !text.contains('\x1b') && !text.contains('\x07'),
                        "{round}: bd {full:?} printed a raw control on {what}: {text:?}"
                    );
                }
                if code != Some(0) {
                    // After the fix only what needs the other project's home
                    // refuses, saying which proof is missing.
                    if round == "after doctor --fix" && err.contains("bd where --trust") {
                        assert!(err.contains("has not joined"), "{full:?}: {err}");
                        home_refusals += 1;
                        continue;
                    }
                    refused += 1;
                    assert!(
                        !err.trim().is_empty(),
                        "{round}: bd {full:?} failed silently"
                    );
                    if json {
                        let v: serde_json::Value = serde_json::from_str(&out)
                            .unwrap_or_else(|e| panic!("{round}: bd {full:?}: {e}: {out}"));
                        assert!(v.get("error").is_some() || v.get("findings").is_some());
                    }
                }
                assert_eq!(
                    outside(()),
                    before,
                    "{round}: bd {full:?} changed a file outside"
                );
            }
        }
        eprintln!("{round}: {refused} of {} runs refused", cmds.len() * 2);
        if round == "after doctor --fix" {
            // doctor --fix left a workspace where every command works.
            assert_eq!(refused, 0, "{round}: some commands still refuse");
            // agent register, agents, heartbeat, dispatch: with and without --json.
            assert_eq!(home_refusals, 8, "{round}: commands needing the home");
        }
        if round == "as cloned" {
            // Links everywhere: many commands refuse.
            assert!(refused > 0);
            let o = run(&["doctor".into(), "--fix".into()]);
            assert!(
                matches!(o.status.code(), Some(0 | 1)),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert_eq!(outside(()), before);
            assert!(
                std::fs::symlink_metadata(clone.join(".beads/mail.jsonl"))
                    .map_or(true, |m| !m.file_type().is_symlink())
            );
        }
    }
    // The remote never received the secret.
    let objects = git_bd(&remote, &["rev-list", "--all", "--objects"]);
    for line in objects.lines() {
        let oid = line.split(' ').next().unwrap();
        if git_bd(&remote, &["cat-file", "-t", oid]).trim() == "blob" {
            let body = git_bd(&remote, &["cat-file", "-p", oid]);
            assert!(!body.contains(SECRET), "blob {line} holds the secret");
        }
    }
}

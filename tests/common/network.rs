//! Working trees of a [`TestEnvironment`](super::TestEnvironment) as handles
//! ([`Workspace`]: a folder, a machine's home, an actor, the shared clock), and
//! a [`Network`]: a bare remote and clones of it, one machine each.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{Clock, Run, TestEnvironment, bd_command, git_bd, path_with_bd, run_of};

/// One git working tree with its machine's home (HOME and BD_HOME) and actor.
#[derive(Clone, Debug)]
pub struct Workspace {
    pub dir: PathBuf,
    pub home: PathBuf,
    pub actor: String,
    pub clock: Clock,
    /// Whether `bd` runs with its own folder first on PATH (so git's merge
    /// driver finds `bd`); a machine without `bd` installed has not.
    pub bd_on_path: bool,
    /// More environment for every `bd` run here (see [`Workspace::with_env`]).
    pub vars: Vec<(String, String)>,
}

impl Workspace {
    /// Set `user.name` and `user.email` from the actor.
    pub fn configure_user(&self) {
        self.git(&["config", "user.name", &self.actor]);
        self.git(&[
            "config",
            "user.email",
            &format!("{}@example.com", self.actor),
        ]);
    }

    /// `bd` here with `bd` on PATH.
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_as(&self.actor, args)
    }

    /// This workspace with `key=value` in the environment of every `bd` run.
    pub fn with_env(mut self, key: &str, value: &str) -> Workspace {
        self.vars.push((key.into(), value.into()));
        self
    }

    /// `bd` here as `actor`, with `bd` on PATH.
    pub fn cmd_as(&self, actor: &str, args: &[&str]) -> Command {
        let mut c = bd_command(&self.dir, &self.home, actor, &self.clock, args);
        if self.bd_on_path {
            c.env("PATH", path_with_bd());
        }
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    /// `bd` here as `actor` at the fixed time `when`.
    pub fn bd_as_at(&self, actor: &str, when: &str, args: &[&str]) -> Run {
        let mut c = self.cmd_as(actor, args);
        c.env("BD_NOW", when);
        run_of(c.output().expect("bd runs"))
    }

    /// `bd` here as `actor` with `input` on stdin.
    pub fn bd_as_stdin(&self, actor: &str, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        let mut c = self.cmd_as(actor, args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("bd runs");
        child.stdin.take().unwrap().write_all(input).unwrap();
        run_of(child.wait_with_output().unwrap())
    }

    /// `bd --json ARGS` here as `actor`, asserting success; the document.
    #[track_caller]
    pub fn json_as(&self, actor: &str, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.bd_as(actor, &a).ok().json()
    }

    /// [`Workspace::json_as`] at the fixed time `when`.
    #[track_caller]
    pub fn json_as_at(&self, actor: &str, when: &str, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.bd_as_at(actor, when, &a).ok().json()
    }

    pub fn bd(&self, args: &[&str]) -> Run {
        run_of(self.cmd(args).output().expect("bd runs"))
    }

    pub fn bd_as(&self, actor: &str, args: &[&str]) -> Run {
        run_of(self.cmd_as(actor, args).output().expect("bd runs"))
    }

    /// `bd` here with PATH exactly `path` (to leave `bd` off it).
    pub fn bd_with_path(&self, args: &[&str], path: &str) -> Run {
        let mut c = self.cmd(args);
        c.env("PATH", path);
        run_of(c.output().expect("bd runs"))
    }

    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.bd(&a).ok().json()
    }

    #[track_caller]
    pub fn create(&self, title: &str) -> String {
        let r = self.bd(&["create", title]).ok();
        let id = r.stdout.trim().to_string();
        assert!(id.starts_with("bd-"), "create printed {id:?}");
        id
    }

    /// git here, with this machine's HOME, and `bd` on PATH (`with_bd`) or not.
    pub fn git_run(&self, args: &[&str], with_bd: bool) -> Run {
        let path = if with_bd {
            path_with_bd()
        } else {
            std::env::var("PATH").unwrap_or_default()
        };
        run_of(
            Command::new("git")
                .args(args)
                .current_dir(&self.dir)
                .env("PATH", path)
                .env("HOME", &self.home)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_TERMINAL_PROMPT", "0")
                .stdin(Stdio::null())
                .output()
                .expect("git runs"),
        )
    }

    /// git here with `bd` on PATH, asserting success; its stdout.
    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        let r = self.git_try(args);
        assert_eq!(
            r.code,
            0,
            "git {args:?} in {} failed\nstdout: {}\nstderr: {}",
            self.dir.display(),
            r.stdout,
            r.stderr
        );
        r.stdout
    }

    /// git here with `bd` on PATH; any exit.
    pub fn git_try(&self, args: &[&str]) -> Run {
        self.git_run(args, true)
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    pub fn commit_count(&self) -> usize {
        self.git(&["rev-list", "--count", "HEAD"])
            .trim()
            .parse()
            .unwrap()
    }

    pub fn issues_path(&self) -> PathBuf {
        self.dir.join(".beads/issues.jsonl")
    }

    pub fn issues(&self) -> Vec<u8> {
        std::fs::read(self.issues_path()).unwrap_or_default()
    }

    pub fn issues_text(&self) -> String {
        String::from_utf8_lossy(&self.issues()).into_owned()
    }

    pub fn records(&self) -> Vec<Value> {
        String::from_utf8(self.issues())
            .expect("issues.jsonl is UTF-8")
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("line of {} is not JSON ({e}): {l}", self.name()))
            })
            .collect()
    }

    pub fn ids(&self) -> BTreeSet<String> {
        self.records()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[track_caller]
    pub fn record(&self, id: &str) -> Value {
        self.records()
            .into_iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{}: no record {id}", self.name()))
    }

    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn exists_in_git_dir(&self, name: &str) -> bool {
        let gd = self.git(&["rev-parse", "--git-dir"]);
        self.dir.join(gd.trim()).join(name).exists()
    }

    /// `git status --porcelain` lines under `.beads/`.
    pub fn beads_status(&self) -> Vec<String> {
        self.git(&["status", "--porcelain", "--", ".beads"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Make a code commit (a file outside `.beads/`).
    pub fn code_commit(&self, file: &str, text: &str, message: &str) -> String {
        std::fs::write(self.dir.join(file), text).unwrap();
        self.git(&["add", "--", file]);
        self.git(&["commit", "-q", "-m", message]);
        self.head()
    }

    pub fn config_value(&self, key: &str) -> Option<String> {
        let r = self.git_try(&["config", "--get", key]);
        (r.code == 0).then(|| r.stdout.trim().to_string())
    }
}

impl TestEnvironment {
    /// `git init` a new repository at `dir`, run by `actor` on the machine
    /// whose home is `home` (user configured).
    pub fn init_at(&self, dir: &Path, home: &Path, actor: &str) -> Workspace {
        let ws = self.workspace(dir, home, actor);
        ws.git(&["init", "-q", "-b", "main"]);
        ws.configure_user();
        ws
    }

    /// `git init` a new repository `NAME` on its own machine (`home-NAME`),
    /// run by `actor` (user configured).
    pub fn init_workspace(&self, name: &str, actor: &str) -> Workspace {
        self.init_at(&self.root().join(name), &self.machine_home(name), actor)
    }

    /// `git clone` of `remote.git` as `NAME` on its own machine (`home-NAME`),
    /// run by `actor` (user configured); `extra` goes to `git clone`.
    pub fn clone_workspace(&self, name: &str, actor: &str, extra: &[&str]) -> Workspace {
        let remote = self.bare_remote();
        let home = self.machine_home(name);
        let mut args = vec!["clone", "-q"];
        args.extend_from_slice(extra);
        let remote = remote.to_str().unwrap().to_string();
        args.push(&remote);
        args.push(name);
        let r = run_of(
            Command::new("git")
                .args(&args)
                .current_dir(self.root())
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", &home)
                .output()
                .unwrap(),
        );
        assert_eq!(r.code, 0, "clone: {}", r.stderr);
        let ws = self.workspace(&self.root().join(name), &home, actor);
        ws.configure_user();
        ws
    }
}

/// A bare remote and clones of it, each on its own machine.
pub struct Network {
    pub env: TestEnvironment,
    pub remote: PathBuf,
    pub c: Vec<Workspace>,
    /// Whether the workspaces made from now on have `bd` on PATH.
    pub bd_on_path: bool,
}

pub const ACTORS: &[&str] = &["alice", "bob", "carol", "dave"];
const NAMES: &[&str] = &["a", "b", "c", "d"];

impl Network {
    /// A bare remote and no clones yet.
    pub fn empty() -> Network {
        let env = TestEnvironment::empty();
        let remote = env.bare_remote();
        Network {
            env,
            remote,
            c: Vec::new(),
            bd_on_path: true,
        }
    }

    /// [`Network::empty`] whose workspaces lack `bd` on PATH.
    pub fn empty_without_bd() -> Network {
        let mut net = Network::empty();
        net.bd_on_path = false;
        net
    }

    /// A machine `NAME` (home `home-NAME`) whose working tree is `NAME`,
    /// run by `actor`; nothing in it yet.
    pub fn machine(&self, name: &str, actor: &str) -> Workspace {
        let mut ws =
            self.env
                .workspace(&self.root().join(name), &self.env.machine_home(name), actor);
        ws.bd_on_path = self.bd_on_path;
        ws
    }

    /// A `git clone` of the remote on a machine of its own (see
    /// [`TestEnvironment::clone_workspace`]).
    pub fn clone_fresh(&self, name: &str, actor: &str, extra: &[&str]) -> Workspace {
        let mut ws = self.env.clone_workspace(name, actor, extra);
        ws.bd_on_path = self.bd_on_path;
        ws
    }

    /// A bare remote; clone `a` runs `bd init` with origin set (so `project`
    /// is written), commits `.beads/` (with its `.gitattributes`) and
    /// `code.txt` (holding `code`), and pushes; the other `n - 1` clones are
    /// `git clone`s of that.
    pub fn new(n: usize, code: &str) -> Network {
        Network::build(n, code, true)
    }

    /// [`Network::new`], the workspaces with `bd` on PATH or not.
    pub fn build(n: usize, code: &str, bd_on_path: bool) -> Network {
        let mut net = Network::empty();
        net.bd_on_path = bd_on_path;
        let a = net.machine(NAMES[0], ACTORS[0]);
        a.git(&["init", "-q", "-b", "main"]);
        a.configure_user();
        a.git(&["remote", "add", "origin", net.remote.to_str().unwrap()]);
        a.bd(&["init", "--prefix", "bd"]).ok();
        std::fs::write(a.dir.join("code.txt"), code).unwrap();
        a.git(&["add", "-A"]);
        a.git(&["commit", "-q", "-m", "initial commit"]);
        a.git(&["push", "-q", "-u", "origin", "main"]);
        net.c.push(a);
        for i in 1..n {
            let ws = net.clone_fresh(NAMES[i], ACTORS[i], &[]);
            net.c.push(ws);
        }
        net
    }

    pub fn root(&self) -> &Path {
        self.env.root()
    }

    pub fn remote_head(&self) -> String {
        git_bd(&self.remote, &["rev-parse", "main"])
            .trim()
            .to_string()
    }

    /// `bd sync` in each clone of `order`, asserting success.
    #[track_caller]
    pub fn sync(&self, order: &[usize]) {
        for &i in order {
            let r = self.c[i].bd(&["sync"]);
            assert_eq!(
                r.code,
                0,
                "bd sync in {} failed\nstdout: {}\nstderr: {}",
                self.c[i].name(),
                r.stdout,
                r.stderr
            );
        }
    }

    /// Sync in several orders, then once more in every clone, and check that
    /// all clones converged and hold every id in `ids`.
    #[track_caller]
    pub fn converge(&self, ids: &BTreeSet<String>) {
        let n = self.c.len();
        let forward: Vec<usize> = (0..n).collect();
        let backward: Vec<usize> = (0..n).rev().collect();
        let rotated: Vec<usize> = (0..n).map(|i| (i + 1) % n).collect();
        self.sync(&forward);
        self.sync(&backward);
        self.sync(&rotated);
        self.sync(&forward);
        self.assert_converged(ids);
    }

    #[track_caller]
    pub fn assert_converged(&self, ids: &BTreeSet<String>) {
        let first = self.c[0].issues();
        for ws in &self.c {
            assert_no_conflict_markers(&ws.dir);
            assert!(
                !ws.exists_in_git_dir("MERGE_HEAD"),
                "{}: a merge is left in progress",
                ws.name()
            );
            let unmerged = ws.git(&["diff", "--name-only", "--diff-filter=U"]);
            assert!(
                unmerged.trim().is_empty(),
                "{}: unmerged {unmerged}",
                ws.name()
            );
            assert_eq!(
                String::from_utf8_lossy(&ws.issues()),
                String::from_utf8_lossy(&first),
                "{} and {} differ",
                ws.name(),
                self.c[0].name()
            );
            let have = ws.ids();
            let missing: Vec<&String> = ids.difference(&have).collect();
            assert!(missing.is_empty(), "{} lost {missing:?}", ws.name());
            assert_eq!(
                ws.head(),
                self.remote_head(),
                "{} is not at the remote",
                ws.name()
            );
        }
    }
}

/// No file of the working tree (outside `.git`) holds a conflict marker line.
#[track_caller]
pub fn assert_no_conflict_markers(root: &Path) {
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name();
            if name == ".git" || name == ".cache" {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                for l in t.lines() {
                    assert!(
                        !(l.starts_with("<<<<<<<")
                            || l.starts_with(">>>>>>>")
                            || l.starts_with("|||||||")
                            || l == "======="),
                        "conflict marker in {}: {l}",
                        p.display()
                    );
                }
            }
        }
    }
}

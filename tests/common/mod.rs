//! The one test harness: a [`TestEnvironment`] is a temp folder holding git
//! repositories, bare remotes, clones, worktrees and one `BD_HOME` per
//! simulated machine, and the real `bd` binary run in it with a clean
//! environment (no user or system config, a fixed actor, its own HOME and
//! BD_HOME) and a fixed clock: every `bd` run gets a `BD_NOW` one millisecond
//! past the previous one, so times are deterministic and increasing.
//!
//! `bd` has no ID seed: issue IDs derive from title, actor and time, so the
//! clock makes them deterministic too.
#![allow(dead_code)]

pub mod classic;
mod machine;
mod network;
mod rng;
mod snapshot;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::Value;

#[allow(unused_imports)]
pub use machine::Machine;
#[allow(unused_imports)]
pub use network::{Network, Workspace, assert_no_conflict_markers};
#[allow(unused_imports)]
pub use rng::Rng;
#[allow(unused_imports)]
pub use snapshot::redact;

pub const BD: &str = env!("CARGO_BIN_EXE_bd");

/// Where every environment's clock starts: later than every "past" date the
/// tests write by hand, earlier than every "future" one (2030 and on).
pub const CLOCK_START: &str = "2027-01-01T00:00:00Z";

/// The shared clock of one environment: each reading is 1 ms past the last.
#[derive(Clone, Debug)]
pub struct Clock(Arc<AtomicI64>);

thread_local! {
    static CLOCK: Clock = Clock::new();
}

impl Clock {
    /// The clock of the running test: every test runs on a thread of its own,
    /// so each starts at [`CLOCK_START`], and every environment and every
    /// `bd` run of one test shares it (threads a test spawns get the clock
    /// through the environment they are handed).
    pub fn current() -> Clock {
        CLOCK.with(|c| c.clone())
    }

    fn new() -> Clock {
        let start = strand::model::time::parse(CLOCK_START).expect("a valid start time");
        Clock(Arc::new(AtomicI64::new(start)))
    }

    /// The next time, as `BD_NOW` text.
    pub fn tick(&self) -> String {
        let t = self.0.fetch_add(1_000_000, Ordering::SeqCst) + 1_000_000;
        strand::model::time::format(t)
    }

    /// The last time handed out, without advancing.
    pub fn now(&self) -> String {
        strand::model::time::format(self.0.load(Ordering::SeqCst))
    }
}

/// The result of one `bd` run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The result of a finished process.
pub fn run_of(o: Output) -> Run {
    Run::from(o)
}

/// PATH with the folder of the `bd` under test first (git's merge driver
/// calls `bd merge`).
pub fn path_with_bd() -> String {
    let dir = Path::new(BD).parent().expect("bd has a folder");
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Run git in `dir` with `bd` on PATH and no user or system config; any exit.
pub fn git_with_bd(dir: &Path, args: &[&str]) -> Run {
    run_of(
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("PATH", path_with_bd())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .output()
            .expect("git runs"),
    )
}

/// [`git_with_bd`], asserting success; its stdout.
#[track_caller]
pub fn git_bd(dir: &Path, args: &[&str]) -> String {
    let r = git_with_bd(dir, args);
    assert_eq!(
        r.code,
        0,
        "git {args:?} in {} failed\nstdout: {}\nstderr: {}",
        dir.display(),
        r.stdout,
        r.stderr
    );
    r.stdout
}

/// Run git in `dir` (no user or system config), asserting success; its stdout.
#[track_caller]
pub fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every file below `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Assert exit 0 and return self.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// Assert this exit code and return self.
    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// The exit code, stdout and stderr, for a snapshot of human output.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

/// The `bd` command for `dir`, run by `actor` on the machine whose home is
/// `home`, at the clock's next time (`BD_NOW`), with a clean environment.
pub fn bd_command(dir: &Path, home: &Path, actor: &str, clock: &Clock, args: &[&str]) -> Command {
    let mut c = Command::new(BD);
    c.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("BD_HOME", home)
        .env("BD_ACTOR", actor)
        .env("BD_NOW", clock.tick())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null());
    c
}

/// The `bd` command `inner` (one of [`bd_command`]'s) run through
/// `wrapper`, a program and its arguments that runs the command line it is
/// given (`setpriv --reuid=…`, `bash -c '…; exec "$0" "$@"'`): the same
/// folder and the same clean environment.
pub fn through(wrapper: &[&str], inner: &Command) -> Command {
    let mut c = Command::new(wrapper[0]);
    c.args(&wrapper[1..])
        .arg(inner.get_program())
        .args(inner.get_args())
        .env_clear()
        .stdin(Stdio::null());
    if let Some(dir) = inner.get_current_dir() {
        c.current_dir(dir);
    }
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c
}

/// A temp folder holding one git repository (`repo/`) and a BD_HOME
/// (`home/`), and whatever else a test builds beside them: a bare remote
/// (`remote.git`), clones, worktrees, other machines' homes.
pub struct TestEnvironment {
    pub tmp: tempfile::TempDir,
    pub repo: PathBuf,
    pub home: PathBuf,
    pub actor: String,
    pub clock: Clock,
}

impl TestEnvironment {
    /// An empty temp folder with a clock: no repository yet.
    pub fn empty() -> TestEnvironment {
        let env = TestEnvironment::without_home();
        std::fs::create_dir_all(&env.home).unwrap();
        env
    }

    /// [`TestEnvironment::empty`] whose `home` is not made: for a test that
    /// checks a command leaves no project home behind.
    pub fn without_home() -> TestEnvironment {
        let tmp = tempfile::tempdir().expect("temp dir");
        let repo = tmp.path().join("repo");
        let home = tmp.path().join("home");
        TestEnvironment {
            tmp,
            repo,
            home,
            actor: "tester".into(),
            clock: Clock::current(),
        }
    }

    /// A new environment (on this test's clock) holding a copy, `cp -a`, of
    /// `other`'s repository and home: many runs over one prepared state.
    pub fn copy_of(other: &TestEnvironment) -> TestEnvironment {
        let env = TestEnvironment::without_home();
        for (from, to) in [(&other.repo, &env.repo), (&other.home, &env.home)] {
            let st = Command::new("cp")
                .arg("-a")
                .arg(from)
                .arg(to)
                .status()
                .expect("cp runs");
            assert!(st.success(), "cp -a {} {}", from.display(), to.display());
        }
        env
    }

    /// A git repository, not yet initialized for bd.
    pub fn bare_git() -> TestEnvironment {
        let env = TestEnvironment::empty();
        std::fs::create_dir_all(&env.repo).unwrap();
        git(&env.repo, &["init", "-q", "-b", "main"]);
        git(&env.repo, &["config", "user.name", "Test"]);
        git(&env.repo, &["config", "user.email", "test@example.com"]);
        env
    }

    /// A git repository with `bd init --prefix bd` done.
    pub fn new() -> TestEnvironment {
        let env = TestEnvironment::bare_git();
        env.bd(&["init", "--prefix", "bd"]).ok();
        env
    }

    /// [`TestEnvironment::bare_git`] with a bare remote `remote.git` as its
    /// origin, `bd init` done, `issues` created (the first at `first_priority`),
    /// and all of it committed and pushed; their IDs.
    pub fn with_remote(issues: usize, first_priority: &str) -> (TestEnvironment, Vec<String>) {
        let env = TestEnvironment::bare_git();
        let remote = env.bare_remote();
        git(
            &env.repo,
            &["remote", "add", "origin", remote.to_str().unwrap()],
        );
        env.bd(&["init", "--prefix", "bd"]).ok();
        let mut ids = Vec::new();
        for i in 0..issues {
            let p = if i == 0 { first_priority } else { "2" };
            ids.push(env.create(&format!("issue {i}"), &["-p", p]));
        }
        git(&env.repo, &["add", "-A"]);
        let message = if issues == 0 { "init" } else { "issues" };
        git(&env.repo, &["commit", "-q", "-m", message]);
        git(&env.repo, &["push", "-q", "-u", "origin", "main"]);
        (env, ids)
    }

    /// The temp folder everything lives in.
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// The bare remote `remote.git` (made on first use).
    pub fn bare_remote(&self) -> PathBuf {
        let remote = self.root().join("remote.git");
        if !remote.exists() {
            std::fs::create_dir_all(&remote).unwrap();
            git_bd(&remote, &["init", "-q", "--bare", "-b", "main"]);
        }
        remote
    }

    /// A plain folder `NAME` in the temp folder (made if missing), in no
    /// repository of this environment: where `bd` finds no workspace.
    pub fn folder(&self, name: &str) -> PathBuf {
        let dir = self.root().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Another machine's home (its HOME and BD_HOME), `home-NAME`.
    pub fn machine_home(&self, name: &str) -> PathBuf {
        let h = self.root().join(format!("home-{name}"));
        std::fs::create_dir_all(&h).unwrap();
        h
    }

    /// A clone `NAME` of `remote.git` with its git identity (user `NAME`).
    pub fn clone_repo(&self, name: &str) -> PathBuf {
        let dir = self.root().join(name);
        let remote = self.bare_remote();
        git(
            self.root(),
            &[
                "clone",
                "-q",
                remote.to_str().unwrap(),
                dir.to_str().unwrap(),
            ],
        );
        git(&dir, &["config", "user.name", name]);
        git(
            &dir,
            &["config", "user.email", &format!("{name}@example.com")],
        );
        dir
    }

    /// A worktree `NAME` of `repo` on a new branch `branch`.
    pub fn worktree(&self, repo: &Path, name: &str, branch: &str) -> PathBuf {
        let wt = self.root().join(name);
        git(
            repo,
            &["worktree", "add", "-q", "-b", branch, wt.to_str().unwrap()],
        );
        wt
    }

    /// A [`Workspace`] over the working tree `dir` (made if missing), run by
    /// `actor` on the machine whose home is `home`, sharing this clock.
    pub fn workspace(&self, dir: &Path, home: &Path, actor: &str) -> Workspace {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::create_dir_all(home).unwrap();
        Workspace {
            dir: dir.to_path_buf(),
            home: home.to_path_buf(),
            actor: actor.to_string(),
            clock: self.clock.clone(),
            bd_on_path: true,
            vars: Vec::new(),
        }
    }

    /// This environment's own repository, home and actor as a [`Workspace`].
    pub fn ws(&self) -> Workspace {
        self.workspace(&self.repo, &self.home, &self.actor)
    }

    /// `bd` in this environment's repository.
    pub fn cmd(&self, args: &[&str]) -> Command {
        bd_command(&self.repo, &self.home, &self.actor, &self.clock, args)
    }

    /// `bd` in the working tree `dir` of this machine (this home), as `actor`,
    /// with `bd` on PATH (git's merge driver calls it).
    pub fn cmd_in(&self, dir: &Path, actor: &str, args: &[&str]) -> Command {
        let mut c = bd_command(dir, &self.home, actor, &self.clock, args);
        c.env("PATH", path_with_bd());
        c
    }

    /// `bd` in the working tree `dir` of this machine (this home), as `actor`,
    /// with PATH as the tests were given it.
    pub fn cmd_at(&self, dir: &Path, actor: &str, args: &[&str]) -> Command {
        bd_command(dir, &self.home, actor, &self.clock, args)
    }

    /// `bd` in the working tree `dir` of this machine with no BD_ACTOR at
    /// all (a user who never named one), `bd` on PATH.
    pub fn cmd_anonymous(&self, dir: &Path, args: &[&str]) -> Command {
        let mut c = self.cmd_in(dir, "", args);
        c.env_remove("BD_ACTOR");
        c
    }

    /// Run `bd` in the repository.
    pub fn bd(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().expect("bd runs"))
    }

    /// Run `bd` in the repository as `actor`.
    pub fn bd_as(&self, actor: &str, args: &[&str]) -> Run {
        Run::from(
            self.cmd_at(&self.repo, actor, args)
                .output()
                .expect("bd runs"),
        )
    }

    /// Run `bd` in the repository through `wrapper`, a program and its
    /// arguments that runs the command line it is given (as `setpriv
    /// --reuid=…` does), with the environment [`Self::cmd`] gives `bd`.
    pub fn bd_through(&self, wrapper: &[&str], args: &[&str]) -> Run {
        Run::from(
            through(wrapper, &self.cmd(args))
                .output()
                .expect("the wrapper runs"),
        )
    }

    /// Run `bd` in the temp folder as on a machine where bd was never set
    /// up: no BD_HOME and no BD_ACTOR, so bd falls back to its defaults
    /// under HOME (this environment's `home`).
    pub fn bd_unconfigured(&self, args: &[&str]) -> Run {
        let mut c = bd_command(self.root(), &self.home, "", &self.clock, args);
        c.env_remove("BD_HOME").env_remove("BD_ACTOR");
        Run::from(c.output().expect("bd runs"))
    }

    /// Run `bd` in the working tree `dir` as `actor` (see [`Self::cmd_in`]).
    pub fn bd_in(&self, dir: &Path, actor: &str, args: &[&str]) -> Run {
        Run::from(self.cmd_in(dir, actor, args).output().expect("bd runs"))
    }

    /// Run `bd` in the working tree `dir` as `actor` on the machine whose home
    /// is `home` (another machine than this environment's own), `bd` on PATH.
    pub fn bd_on(&self, dir: &Path, home: &Path, actor: &str, args: &[&str]) -> Run {
        let mut c = bd_command(dir, home, actor, &self.clock, args);
        c.env("PATH", path_with_bd());
        Run::from(c.output().expect("bd runs"))
    }

    /// `bd --json ARGS` in `dir` as `actor`, asserting success; the document.
    #[track_caller]
    pub fn json_in(&self, dir: &Path, actor: &str, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.bd_in(dir, actor, &a).ok().json()
    }

    /// Run `bd` with extra environment variables.
    pub fn bd_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut c = self.cmd(args);
        for (k, v) in vars {
            c.env(k, v);
        }
        Run::from(c.output().expect("bd runs"))
    }

    /// Run `bd` at the fixed time `when` (instead of the clock's next).
    pub fn bd_at(&self, when: &str, args: &[&str]) -> Run {
        self.bd_env(args, &[("BD_NOW", when)])
    }

    /// Run `bd` with `input` on stdin.
    pub fn bd_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        let mut c = self.cmd(args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("bd runs");
        child.stdin.take().unwrap().write_all(input).unwrap();
        Run::from(child.wait_with_output().unwrap())
    }

    /// `bd --json ARGS`, asserting success; the parsed document.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.bd(&a).ok().json()
    }

    /// Create an issue and return its ID.
    #[track_caller]
    pub fn create(&self, title: &str, extra: &[&str]) -> String {
        let mut a = vec!["create", title];
        a.extend_from_slice(extra);
        let r = self.bd(&a).ok();
        r.stdout.trim().to_string()
    }

    /// `text` with this environment's temp folder (either spelling) as `[TMP]`.
    pub fn redact(&self, text: &str) -> String {
        redact(self.root(), text)
    }

    /// The project's folder in this machine's home (asserting there is one).
    pub fn project_dir(&self) -> PathBuf {
        let dirs: Vec<PathBuf> = std::fs::read_dir(self.home.join("projects"))
            .expect("the project home exists")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        assert_eq!(dirs.len(), 1, "one project in BD_HOME: {dirs:?}");
        dirs[0].clone()
    }

    pub fn beads(&self) -> PathBuf {
        self.repo.join(".beads")
    }

    pub fn issues_path(&self) -> PathBuf {
        self.beads().join("issues.jsonl")
    }

    pub fn issues_text(&self) -> String {
        std::fs::read_to_string(self.issues_path()).unwrap_or_default()
    }

    /// Every record of issues.jsonl, parsed.
    pub fn records(&self) -> Vec<Value> {
        self.issues_text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is JSON"))
            .collect()
    }

    pub fn record(&self, id: &str) -> Value {
        self.records()
            .into_iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no record {id}"))
    }
}

/// The path of a file in `../shared/data`, if present.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name);
    p.exists().then_some(p)
}

/// A project on this machine: a bare remote `<name>.git` beside the
/// environment's folders, and a first clone `<name>1` (with a file of code)
/// where `bd init --prefix PREFIX` is committed and pushed.
pub fn project(env: &TestEnvironment, name: &str, prefix: &str) -> PathBuf {
    let tmp = env.root();
    let remote = tmp.join(format!("{name}.git"));
    git(
        tmp,
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            remote.to_str().unwrap(),
        ],
    );
    let ws = tmp.join(format!("{name}1"));
    git(
        tmp,
        &[
            "clone",
            "-q",
            remote.to_str().unwrap(),
            ws.to_str().unwrap(),
        ],
    );
    for (k, v) in [("user.name", "T"), ("user.email", "t@example.com")] {
        git(&ws, &["config", k, v]);
    }
    git(&ws, &["checkout", "-q", "-b", "main"]);
    std::fs::write(ws.join("code.txt"), "one\n").unwrap();
    let r = run_of(
        env.cmd_at(&ws, "x", &["init", "--prefix", prefix])
            .output()
            .expect("bd runs"),
    );
    assert_eq!(r.code, 0, "bd init: {}", r.stderr);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "init"]);
    git(&ws, &["push", "-q", "-u", "origin", "main"]);
    ws
}

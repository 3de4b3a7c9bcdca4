//! Test harness: a temp git repository with `.beads/`, and the real `bd` binary
//! run in it with a clean environment (no user config, fixed actor, own BD_HOME).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub const BD: &str = env!("CARGO_BIN_EXE_bd");

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

/// A temp folder holding one git repository (`repo/`) and a BD_HOME (`home/`).
pub struct Env {
    pub tmp: tempfile::TempDir,
    pub repo: PathBuf,
    pub home: PathBuf,
    pub actor: String,
}

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

impl Env {
    /// A git repository, not yet initialized for bd.
    pub fn bare_git() -> Env {
        let tmp = tempfile::tempdir().expect("temp dir");
        let repo = tmp.path().join("repo");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["config", "user.name", "Test"]);
        git(&repo, &["config", "user.email", "test@example.com"]);
        Env {
            tmp,
            repo,
            home,
            actor: "tester".into(),
        }
    }

    /// A git repository with `bd init --prefix bd` done.
    pub fn new() -> Env {
        let env = Env::bare_git();
        env.bd(&["init", "--prefix", "bd"]).ok();
        env
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BD);
        c.args(args)
            .current_dir(&self.repo)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("BD_HOME", &self.home)
            .env("BD_ACTOR", &self.actor)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::null());
        c
    }

    /// Run `bd` in the repository.
    pub fn bd(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().expect("bd runs"))
    }

    /// Run `bd` with extra environment variables.
    pub fn bd_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut c = self.cmd(args);
        for (k, v) in vars {
            c.env(k, v);
        }
        Run::from(c.output().expect("bd runs"))
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

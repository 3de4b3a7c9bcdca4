//! One machine with several working trees of one project: a bare remote,
//! clone A (the environment's `repo`), clone B and a worktree of A, all
//! sharing the environment's BD_HOME.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{Run, TestEnvironment, run_of};

pub struct Machine {
    pub env: TestEnvironment,
    pub a: PathBuf,
    pub b: PathBuf,
    pub wt: PathBuf,
    pub ids: Vec<String>,
}

impl Machine {
    /// `issues` issues created in A (the first at priority 0, so it tops
    /// `ready`), committed and pushed; B cloned; the worktree on branch `wt`
    /// from main.
    pub fn new(issues: usize) -> Machine {
        let (env, ids) = TestEnvironment::with_remote(issues, "0");
        let a = env.repo.clone();
        let b = env.clone_repo("b");
        let wt = env.worktree(&a, "wt", "wt");
        Machine { env, a, b, wt, ids }
    }

    pub fn home(&self) -> &Path {
        &self.env.home
    }

    /// `bd` in the working tree `ws` as `actor`, `bd` on PATH.
    pub fn cmd(&self, ws: &Path, actor: &str, args: &[&str]) -> Command {
        self.env.cmd_in(ws, actor, args)
    }

    pub fn bd(&self, ws: &Path, actor: &str, args: &[&str]) -> Run {
        run_of(self.cmd(ws, actor, args).output().expect("bd runs"))
    }

    #[track_caller]
    pub fn json(&self, ws: &Path, actor: &str, args: &[&str]) -> Value {
        self.env.json_in(ws, actor, args)
    }

    /// Create an issue in `ws` as `tester`; its ID.
    #[track_caller]
    pub fn create(&self, ws: &Path, title: &str, extra: &[&str]) -> String {
        let mut a = vec!["create", title];
        a.extend_from_slice(extra);
        self.bd(ws, "tester", &a).ok().stdout.trim().to_string()
    }

    /// `bd` in `ws` at the fixed time `when`, as `actor` or (None) with no
    /// actor at all (so the command refreshes nobody's heartbeat).
    pub fn bd_at(&self, ws: &Path, actor: Option<&str>, when: &str, args: &[&str]) -> Run {
        let mut c = self.cmd(ws, actor.unwrap_or(""), args);
        c.env("BD_NOW", when);
        if actor.is_none() {
            c.env_remove("BD_ACTOR");
        }
        run_of(c.output().expect("bd runs"))
    }

    /// The project's folder in the home (there is exactly one project).
    pub fn project_dir(&self) -> PathBuf {
        self.env.project_dir()
    }

    pub fn canon(&self, p: &Path) -> String {
        std::fs::canonicalize(p).unwrap().display().to_string()
    }
}

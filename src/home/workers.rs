//! Running workers (`bd run`, issue 13): one file per worker,
//! `<home>/workers/<escaped agent>.json`, written by the worker as it goes
//! (what it runs, since when, its last line of output) and removed when it
//! stops; `bd workers` reads them from any workspace of the project. A file
//! whose process is gone is a worker that died: the next worker of that
//! agent takes over its item (and kills what is left of its command).
//!
//! Run logs and the files handed to an agent live beside them:
//! `<home>/runs/<escaped issue>/<run id>.{log,prompt.md,prime.md}`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::registry::write_json;
use super::{ProjectHome, escape};
use crate::error::{Error, Result};

const DIR: &str = "workers";
const RUNS: &str = "runs";

/// What a worker is doing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Worker {
    pub agent: String,
    /// The worker process.
    pub pid: u32,
    /// The workspace it serves (machine-local: this file never leaves the machine).
    pub workspace: PathBuf,
    pub started_at: String,
    /// `idle`, `running`, `stopping`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The agent command's process group while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_output_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_line: Option<String>,
    #[serde(default)]
    pub items_done: u64,
    pub updated_at: String,
}

fn path(home: &ProjectHome, agent: &str) -> PathBuf {
    home.path(DIR).join(format!("{}.json", escape(agent)))
}

/// Write the worker's file (atomically).
pub fn save(home: &ProjectHome, w: &Worker) -> Result<()> {
    write_json(&path(home, &w.agent), w)
}

/// The worker file of `agent`, if there is a readable one.
pub fn find(home: &ProjectHome, agent: &str) -> Option<Worker> {
    let b = crate::files::read(path(home, agent)).ok()?;
    serde_json::from_slice(&b).ok()
}

/// Remove the worker's file (it stopped), if it is still this process's.
pub fn remove(home: &ProjectHome, agent: &str, pid: u32) {
    if find(home, agent).is_some_and(|w| w.pid == pid) {
        let _ = crate::files::remove_file(path(home, agent));
    }
}

/// Every worker file, by agent name; unreadable ones are skipped.
pub fn list(home: &ProjectHome) -> Vec<Worker> {
    let Ok(rd) = crate::files::read_dir(home.path(DIR)) else {
        return Vec::new();
    };
    let mut out: Vec<Worker> = rd
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| crate::files::read(e.path()).ok())
        .filter_map(|b| serde_json::from_slice(&b).ok())
        .collect();
    out.sort_by(|a: &Worker, b: &Worker| a.agent.cmp(&b.agent));
    out
}

/// The folder of an item's run files, created when missing.
pub fn run_dir(home: &ProjectHome, issue: &str) -> Result<PathBuf> {
    let d = home.path(RUNS).join(escape(issue));
    crate::files::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
    Ok(d)
}

/// A run file (`<run>.log`, `<run>.prompt.md`, …) in `dir`.
pub fn run_file(dir: &Path, run: &str, suffix: &str) -> PathBuf {
    dir.join(format!("{}.{suffix}", escape(run)))
}

/// Open a run's log for appending (created when missing; never through a link).
pub fn open_log(p: &Path) -> Result<std::fs::File> {
    crate::files::open_append(p).map_err(|e| Error::io(p, e))
}

/// Where a worker started by a fleet or `--detach` says what it does (its
/// stderr): `<home>/workers/<escaped agent>.log`.
pub fn talk_log_path(home: &ProjectHome, agent: &str) -> PathBuf {
    home.path(DIR).join(format!("{}.log", escape(agent)))
}

/// [`talk_log_path`], opened for appending.
pub fn talk_log(home: &ProjectHome, agent: &str) -> Result<std::fs::File> {
    let d = home.path(DIR);
    crate::files::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
    open_log(&talk_log_path(home, agent))
}

/// The default folder of the worker loop's worktrees on this machine.
pub fn default_worktrees(home: &ProjectHome) -> PathBuf {
    home.path("worktrees")
}

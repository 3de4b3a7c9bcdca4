//! Finding the workspace: the root of the current git worktree (the nearest
//! folder upward holding `.git`, a folder or a worktree's file), or `-C DIR`.
//! Nothing else: no redirect files, no walking past the worktree root.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Workspace {
    /// The worktree root.
    pub root: PathBuf,
    /// `<root>/.beads`.
    pub beads: PathBuf,
}

impl Workspace {
    /// The worktree root above `start`, whether or not `.beads/` exists.
    pub fn find_root(start: &Path) -> Result<PathBuf> {
        let start = std::fs::canonicalize(start).map_err(|e| Error::io(start, e))?;
        let mut dir: Option<&Path> = Some(&start);
        while let Some(d) = dir {
            if d.join(".git").exists() {
                return Ok(d.to_path_buf());
            }
            dir = d.parent();
        }
        Err(Error::NotGitRepo { dir: start })
    }

    /// A workspace at a known root (it may not be initialized yet).
    pub fn at(root: PathBuf) -> Workspace {
        let beads = root.join(".beads");
        Workspace { root, beads }
    }

    /// The initialized workspace above `start`. A `.beads` that is a link
    /// (wherever it points) is refused: nothing under it is ever followed.
    pub fn open(start: &Path) -> Result<Workspace> {
        let ws = Workspace::at(Workspace::find_root(start)?);
        ws.check_beads()?;
        if !ws.beads.is_dir() {
            return Err(Error::NotInitialized { root: ws.root });
        }
        Ok(ws)
    }

    /// `.beads` is missing or a real folder inside the (canonical) root.
    pub fn check_beads(&self) -> Result<()> {
        match std::fs::symlink_metadata(&self.beads) {
            Ok(m) if m.file_type().is_symlink() => Err(Error::Symlink {
                path: self.beads.clone(),
            }),
            _ if !crate::files::contained(&self.root, &self.beads) => Err(Error::Symlink {
                path: self.beads.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Tell watchers of a classic database file that the tracker changed:
    /// a classic repository's `.beads/*.db` (never read: the files are the
    /// tracker) gets a new modification time, as the web UI of classic
    /// beads watches that file when there is one. Best effort: a file that
    /// cannot be touched (a link, read-only) is left as it is.
    pub fn touch_classic_databases(&self) {
        let Ok(entries) = crate::files::read_dir(&self.beads) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let is_db = name.to_str().is_some_and(|n| n.ends_with(".db"));
            if is_db && e.file_type().is_ok_and(|t| t.is_file()) {
                let _ = crate::files::touch(e.path());
            }
        }
    }

    pub fn issues_path(&self) -> PathBuf {
        self.beads.join("issues.jsonl")
    }

    pub fn config_path(&self) -> PathBuf {
        self.beads.join("config.toml")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.beads.join(".lock")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.beads.join(".cache")
    }

    pub fn quarantine_dir(&self) -> PathBuf {
        self.beads.join("quarantine")
    }

    /// A small JSON cache `.cache/<name>`; `None` when missing or unreadable
    /// (a cache is never authoritative).
    pub fn read_cache<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        let b = crate::files::cache::read(&self.cache_dir().join(name))?;
        serde_json::from_slice(&b).ok()
    }

    /// Write a small JSON cache, best effort (losing it costs only time).
    pub fn write_cache<T: serde::Serialize>(&self, name: &str, value: &T) {
        if let Ok(b) = serde_json::to_vec(value) {
            let _ = crate::files::cache::write(&self.cache_dir().join(name), &b);
        }
    }

    /// The actor a workspace acts as by default: its last two path components.
    pub fn default_actor(&self) -> String {
        let comps: Vec<String> = self
            .root
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        match comps.len() {
            0 => "bd".into(),
            1 => comps[0].clone(),
            n => format!("{}/{}", comps[n - 2], comps[n - 1]),
        }
    }
}

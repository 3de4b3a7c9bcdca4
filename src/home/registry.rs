//! The workspace registry: every workspace of the project on this machine, so
//! the ledger can be rebuilt from their JSONL and `bd agents`/`bd where` can
//! name them. File: `<home>/registry.json`, pretty JSON
//! `{"workspaces": {"<canonical root>": {root, registered_at, last_seen, branch}}}`,
//! lock `<home>/registry.lock`.
//!
//! This module also owns the file discipline every home file follows (the
//! `pub(super)` helpers at the bottom): read without a lock (files are replaced
//! atomically, so readers see whole files); write under the file's own lock
//! with an atomic replace; a missing file is empty state; a corrupt one is
//! moved aside to `<name>.corrupt-<n>` under its lock and reported as a warning,
//! never an error. Nothing here writes outside the home folder, and no function
//! holds two home locks at once.

use crate::files as fs;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::ProjectHome;
use crate::error::{Error, Result};
use crate::files::atomic;
use crate::model::time::{self, Nanos};

const FILE: &str = "registry.json";
const LOCK: &str = "registry";
/// `last_seen` is refreshed at most this often, so a command does not cost a write.
const REFRESH_NS: Nanos = 60 * 1_000_000_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// Keyed by the canonical root path.
    #[serde(default)]
    pub workspaces: BTreeMap<String, WorkspaceEntry>,
    /// Repositories the user confirmed on this machine as this project's
    /// (`bd where --trust`, `bd config set project`) although neither their
    /// origin nor their root commit proves it, keyed by the canonical path
    /// of the git folder their worktrees share.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub trusted: BTreeMap<String, TrustEntry>,
}

/// One confirmed repository: the trust holds only while the folder holds a
/// repository with this root commit (none: it had no commit yet, and the
/// first check that sees one records it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustEntry {
    pub root_commit: Option<String>,
    pub confirmed_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceEntry {
    pub root: PathBuf,
    pub registered_at: String,
    pub last_seen: String,
    #[serde(default)]
    pub branch: Option<String>,
}

impl Registry {
    /// Roots that still have a `.beads/` folder (a deleted worktree drops out).
    pub fn live(&self) -> Vec<PathBuf> {
        self.workspaces
            .values()
            .filter(|e| e.root.join(".beads").is_dir())
            .map(|e| e.root.clone())
            .collect()
    }
}

/// The registry; missing or corrupt gives an empty one and, when corrupt, a
/// warning to print (the file was moved aside).
pub fn load(home: &ProjectHome) -> (Registry, Option<String>) {
    load_json(home, LOCK, &home.path(FILE))
}

/// Record that the workspace at `root` exists (idempotent). Written only when
/// the entry is new, its branch changed, or `last_seen` is 60 s old or more, so
/// calling this from every command is cheap. Returns the registry as it now is.
pub fn register(
    home: &ProjectHome,
    root: &Path,
    branch: Option<&str>,
    now: &str,
) -> Result<(Registry, Option<String>)> {
    let now_ns = parse_now(now)?;
    let root = std::fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
    let key = root
        .to_str()
        .ok_or_else(|| Error::invalid(format!("workspace path {root:?} is not UTF-8")))?
        .to_string();
    let fresh = |reg: &Registry| {
        reg.workspaces.get(&key).is_some_and(|e| {
            e.branch.as_deref() == branch
                && time::parse(&e.last_seen).is_some_and(|seen| {
                    let age = now_ns.saturating_sub(seen);
                    age > -REFRESH_NS && age < REFRESH_NS
                })
        })
    };
    let (reg, warning) = load(home);
    if warning.is_none() && fresh(&reg) {
        return Ok((reg, None));
    }
    let _lock = home.lock(LOCK)?;
    let path = home.path(FILE);
    let (mut reg, recovered): (Registry, _) = load_json_locked(&path)?;
    let warning = warning.or(recovered);
    if fresh(&reg) {
        return Ok((reg, warning));
    }
    let entry = reg.workspaces.entry(key).or_insert_with(|| WorkspaceEntry {
        root: root.clone(),
        registered_at: now.to_string(),
        last_seen: now.to_string(),
        branch: None,
    });
    entry.last_seen = now.to_string();
    entry.branch = branch.map(str::to_string);
    write_json(&path, &reg)?;
    Ok((reg, warning))
}

/// Record that the user confirmed the repository at `key` (with this root
/// commit) as this project's. Returns whether the file changed.
pub fn trust(
    home: &ProjectHome,
    key: &str,
    root_commit: Option<&str>,
    now: &str,
) -> Result<(bool, Option<String>)> {
    parse_now(now)?;
    let _lock = home.lock(LOCK)?;
    let path = home.path(FILE);
    let (mut reg, warning): (Registry, _) = load_json_locked(&path)?;
    let entry = TrustEntry {
        root_commit: root_commit.map(str::to_string),
        confirmed_at: now.to_string(),
    };
    let same = reg
        .trusted
        .get(key)
        .is_some_and(|t| t.root_commit == entry.root_commit);
    if same {
        return Ok((false, warning));
    }
    reg.trusted.insert(key.to_string(), entry);
    write_json(&path, &reg)?;
    Ok((true, warning))
}

/// Drop the workspace at `root` (matched canonically when it still exists, and
/// by the path as given). Returns whether an entry was removed.
pub fn forget(home: &ProjectHome, root: &Path) -> Result<(bool, Option<String>)> {
    let canonical = std::fs::canonicalize(root).ok();
    let _lock = home.lock(LOCK)?;
    let path = home.path(FILE);
    let (mut reg, warning): (Registry, _) = load_json_locked(&path)?;
    let before = reg.workspaces.len();
    reg.workspaces.retain(|key, e| {
        let hit = |p: &Path| Path::new(key) == p || e.root == p;
        !(hit(root) || canonical.as_deref().is_some_and(hit))
    });
    let removed = reg.workspaces.len() != before;
    if removed {
        write_json(&path, &reg)?;
    }
    Ok((removed, warning))
}

/// Roots of registered workspaces that still have a `.beads/` folder. A corrupt
/// registry gives none; use [`load`] and [`Registry::live`] to report why.
pub fn live(home: &ProjectHome) -> Vec<PathBuf> {
    load(home).0.live()
}

// ---------------------------------------------------------------------------
// The file discipline shared by every home file.

/// A `now` given by the caller: RFC 3339 text, the form written to the files.
pub(super) fn parse_now(now: &str) -> Result<Nanos> {
    time::parse(now).ok_or_else(|| Error::invalid(format!("not an RFC 3339 time: {now:?}")))
}

/// Check a user-given name (agent, kind, actor, issue) before it is stored:
/// not empty, no surrounding white space, no control characters, at most 100
/// characters. Names that become path components have more rules
/// ([`super::presence::validate_agent_name`]).
pub(super) fn validate_name(what: &str, name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        "is empty"
    } else if name.trim() != name {
        "has leading or trailing white space"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else if name.chars().count() > 100 {
        "is longer than 100 characters"
    } else {
        return Ok(());
    };
    Err(Error::Invalid {
        msg: format!("{what} name {name:?} {problem}"),
        hint: Some(format!(
            "a {what} name is 1 to 100 printable characters without surrounding spaces"
        )),
    })
}

enum Found<T> {
    Missing,
    Parsed(T),
    Corrupt(String),
}

/// A check a parsed file must pass, else it counts as corrupt (e.g. an agent
/// file whose content names another agent).
pub(super) type Check<'a, T> = &'a dyn Fn(&T) -> std::result::Result<(), String>;

fn read<T: DeserializeOwned>(path: &Path, check: Check<T>) -> std::io::Result<Found<T>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(e) => return Err(e),
    };
    // An empty file holds nothing to lose: plain empty state, no warning.
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Found::Missing);
    }
    Ok(match serde_json::from_slice(&bytes) {
        Ok(v) => match check(&v) {
            Ok(()) => Found::Parsed(v),
            Err(reason) => Found::Corrupt(reason),
        },
        Err(e) => Found::Corrupt(e.to_string()),
    })
}

/// Read a home file without its lock. When it is corrupt, take `lock` and
/// recover it (move it aside); never fails: problems become the warning.
/// Must not be called while holding `lock` (locks are not re-entrant).
pub(super) fn load_json<T: DeserializeOwned + Default>(
    home: &ProjectHome,
    lock: &str,
    path: &Path,
) -> (T, Option<String>) {
    load_json_checked(home, lock, path, &|_| Ok(()))
}

/// [`load_json`] with a [`Check`].
pub(super) fn load_json_checked<T: DeserializeOwned + Default>(
    home: &ProjectHome,
    lock: &str,
    path: &Path,
    check: Check<T>,
) -> (T, Option<String>) {
    match read(path, check) {
        Ok(Found::Missing) => (T::default(), None),
        Ok(Found::Parsed(v)) => (v, None),
        Ok(Found::Corrupt(reason)) => match home.lock(lock) {
            Ok(_guard) => match load_json_locked_checked(path, check) {
                Ok(loaded) => loaded,
                Err(e) => (
                    T::default(),
                    Some(format!(
                        "{}: corrupt ({reason}); treated as empty, could not move it aside: {e}",
                        path.display()
                    )),
                ),
            },
            Err(e) => (
                T::default(),
                Some(format!(
                    "{}: corrupt ({reason}); treated as empty for now ({e})",
                    path.display()
                )),
            ),
        },
        Err(e) => (
            T::default(),
            Some(format!(
                "{}: cannot be read ({e}); treated as empty",
                path.display()
            )),
        ),
    }
}

/// Read a home file under its lock, held by the caller. A corrupt file is
/// moved aside and empty state returned with a warning. Fails only when the
/// file cannot be read or preserved, so a writer never overwrites data.
pub(super) fn load_json_locked<T: DeserializeOwned + Default>(
    path: &Path,
) -> Result<(T, Option<String>)> {
    load_json_locked_checked(path, &|_| Ok(()))
}

/// [`load_json_locked`] with a [`Check`].
pub(super) fn load_json_locked_checked<T: DeserializeOwned + Default>(
    path: &Path,
    check: Check<T>,
) -> Result<(T, Option<String>)> {
    match read(path, check).map_err(|e| Error::io(path, e))? {
        Found::Missing => Ok((T::default(), None)),
        Found::Parsed(v) => Ok((v, None)),
        Found::Corrupt(reason) => {
            let aside = quarantine(path)?;
            Ok((
                T::default(),
                Some(format!(
                    "{} was corrupt ({reason}); moved it to {} and started empty",
                    path.display(),
                    aside.display()
                )),
            ))
        }
    }
}

/// Rename `path` to the first free `<name>.corrupt-<n>` beside it. Called under
/// the file's lock, so no other bd picks the same `n`.
fn quarantine(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for n in 1..=10_000u32 {
        let aside = path.with_file_name(format!("{name}.corrupt-{n}"));
        match fs::metadata(&aside) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::rename(path, &aside).map_err(|e| Error::io(path, e))?;
                return Ok(aside);
            }
            Err(e) => return Err(Error::io(&aside, e)),
            Ok(_) => continue,
        }
    }
    Err(Error::invalid(format!(
        "{}: too many corrupt copies beside it; remove old `.corrupt-<n>` files",
        path.display()
    )))
}

/// Replace a home file atomically with pretty JSON and a final newline,
/// creating its folder (`agents/`, `deliveries/`) when missing.
pub(super) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::invalid(format!("{}: cannot encode: {e}", path.display())))?;
    bytes.push(b'\n');
    atomic::write(path, &bytes)
}

/// Join several warnings into the one a caller prints.
pub(super) fn join_warnings(warnings: Vec<String>) -> Option<String> {
    if warnings.is_empty() {
        None
    } else {
        Some(warnings.join("; "))
    }
}

/// The stems of the `*.json` files in `dir`, sorted (none when it does not
/// exist; the message when it cannot be read). Temp files (`.<name>.tmp-…`)
/// never end in `.json`; names may start with '.'.
pub(crate) fn json_stems(dir: &Path) -> std::result::Result<Vec<String>, String> {
    let entries = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: cannot be read ({e})", dir.display())),
    };
    let mut stems: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            name.strip_suffix(".json").map(str::to_string)
        })
        .collect();
    stems.sort();
    Ok(stems)
}

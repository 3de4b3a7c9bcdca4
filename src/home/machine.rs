//! Settings of this machine only (issue 14): `machine-config.json` in the
//! project home, `{"projects": {NAME: {"remote": URL}}}`, set with `bd config
//! set --machine`. Nothing here is committed: another project's remote URL
//! says where mail and its attachments go, so a repository never sets it for
//! the machines that clone it (a committed `projects.<name>.remote` is
//! ignored). Written atomically under `machine-config.lock`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ProjectHome;
use super::registry::{load_json, load_json_locked, write_json};
use crate::error::{Error, Result};

const FILE: &str = "machine-config.json";
const LOCK: &str = "machine-config";

/// What this machine knows of another project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectEntry {
    /// Where its mail goes: a URL or path as `git push` takes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineConfig {
    /// By the name given in `projects.<name>.remote`: a key of the
    /// committed `[projects]`, or a project identity.
    #[serde(default)]
    pub projects: BTreeMap<String, ProjectEntry>,
}

impl MachineConfig {
    /// Every setting as `key = value` text, keys in order.
    pub fn entries(&self) -> Vec<(String, String)> {
        self.projects
            .iter()
            .filter_map(|(name, e)| Some((remote_key(name), e.remote.clone()?)))
            .collect()
    }

    pub fn get(&self, key: &str) -> Result<Option<String>> {
        let name = project_of(key)?;
        Ok(self.projects.get(&name).and_then(|e| e.remote.clone()))
    }
}

/// `projects.<name>.remote`.
pub fn remote_key(name: &str) -> String {
    format!("projects.{name}.remote")
}

/// The project a machine key names; the only machine keys are
/// `projects.<name>.remote`.
pub fn project_of(key: &str) -> Result<String> {
    let name = key
        .strip_prefix("projects.")
        .and_then(|k| k.strip_suffix(".remote"))
        .filter(|n| !n.is_empty());
    match name {
        Some(n) if n.trim() == n && !n.chars().any(char::is_control) => Ok(n.to_string()),
        _ => Err(Error::Invalid {
            msg: format!("{key:?} is not a setting of this machine"),
            hint: Some(
                "this machine's settings are projects.<name>.remote (another project's remote)"
                    .into(),
            ),
        }),
    }
}

/// Refuse a URL git could take for an option, or one that carries a
/// password (SPEC §1: never stored).
pub fn check_url(url: &str) -> Result<()> {
    let problem = if url.trim().is_empty() {
        "is empty"
    } else if url.trim() != url || url.chars().any(char::is_control) {
        "has white space around it or control characters"
    } else if url.starts_with('-') {
        "starts with '-'"
    } else if has_password(url) {
        "carries a password"
    } else {
        return Ok(());
    };
    Err(Error::Invalid {
        msg: format!("the remote URL {problem}"),
        hint: Some(
            "give a URL or path as `git push` takes it; keep credentials in git's credential helper"
                .into(),
        ),
    })
}

fn has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(user, _)| user.contains(':'))
}

/// This machine's settings (none when the file is missing; a corrupt file
/// is moved aside and named in the warning).
pub fn load(home: &ProjectHome) -> (MachineConfig, Option<String>) {
    load_json(home, LOCK, &home.path(FILE))
}

/// Change the settings under the lock; returns whether they changed.
pub fn edit(
    home: &ProjectHome,
    f: impl FnOnce(&mut MachineConfig) -> Result<bool>,
) -> Result<bool> {
    let _guard = home.lock(LOCK)?;
    let path = home.path(FILE);
    let (mut cfg, _): (MachineConfig, _) = load_json_locked(&path)?;
    if !f(&mut cfg)? {
        return Ok(false);
    }
    cfg.projects.retain(|_, e| e.remote.is_some());
    if cfg.projects.is_empty() {
        return match crate::files::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&path, e)),
            _ => Ok(true),
        };
    }
    write_json(&path, &cfg)?;
    Ok(true)
}

/// Set `projects.<name>.remote`.
pub fn set(home: &ProjectHome, key: &str, url: &str) -> Result<bool> {
    let name = project_of(key)?;
    check_url(url)?;
    edit(home, |cfg| {
        let e = cfg.projects.entry(name).or_default();
        let changed = e.remote.as_deref() != Some(url);
        e.remote = Some(url.to_string());
        Ok(changed)
    })
}

/// Remove `projects.<name>.remote`; whether it was set.
pub fn unset(home: &ProjectHome, key: &str) -> Result<bool> {
    let name = project_of(key)?;
    edit(home, |cfg| {
        Ok(cfg
            .projects
            .get_mut(&name)
            .is_some_and(|e| e.remote.take().is_some()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_project_remotes_are_machine_keys() {
        assert_eq!(project_of("projects.beta.remote").unwrap(), "beta");
        assert_eq!(
            project_of("projects.example.com/org/b.remote").unwrap(),
            "example.com/org/b"
        );
        for bad in ["lease", "projects.beta", "projects..remote", "remote"] {
            assert!(project_of(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_with_passwords_or_option_looks_are_refused() {
        for ok in [
            "/srv/git/b.git",
            "git@example.com:org/b.git",
            "https://user@example.com/org/b",
            "ssh://git@example.com:22/org/b.git",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            " /x",
            "--upload-pack=evil",
            "https://user:secret@example.com/b",
        ] {
            assert!(check_url(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn set_get_unset_round_trip_and_the_file_goes_when_empty() {
        let t = tempfile::tempdir().unwrap();
        let home = ProjectHome {
            dir: t.path().to_path_buf(),
        };
        assert!(set(&home, "projects.beta.remote", "/srv/b.git").unwrap());
        assert!(!set(&home, "projects.beta.remote", "/srv/b.git").unwrap());
        let (cfg, warn) = load(&home);
        assert!(warn.is_none());
        assert_eq!(
            cfg.get("projects.beta.remote").unwrap().as_deref(),
            Some("/srv/b.git")
        );
        assert_eq!(
            cfg.entries(),
            [("projects.beta.remote".to_string(), "/srv/b.git".to_string())]
        );
        assert!(unset(&home, "projects.beta.remote").unwrap());
        assert!(!unset(&home, "projects.beta.remote").unwrap());
        assert!(!home.path(FILE).exists());
    }
}

//! The project identity (SPEC §1): `project` from config.toml, else the
//! normalized URL of `origin`, else `local/` + base36 of the smallest root
//! commit. Normalization drops scheme, user, password, port, a trailing
//! `.git` or `/`; lower-cases the host, and the path on case-insensitive hosts.

use std::path::Path;

use crate::error::Result;
use crate::git::GitDirs;

pub const DEFAULT_CASE_INSENSITIVE: &[&str] = &["github.com", "gitlab.com", "bitbucket.org"];

/// Where an identity came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Config,
    Origin,
    RootCommit,
    Unborn,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    pub identity: String,
    pub source: Source,
    /// `origin` normalized, when there is one (also when config overrides it).
    pub origin: Option<String>,
}

/// Normalize a remote URL. `base` resolves relative local paths.
/// Never returns a password.
pub fn normalize(url: &str, base: &Path, case_insensitive: &[String]) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    let parsed = gix::url::parse(url.as_bytes()).ok()?;
    if parsed.scheme == gix::url::Scheme::File {
        let raw = parsed.path.to_string();
        let p = Path::new(&raw);
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        };
        let canon = std::fs::canonicalize(&full).unwrap_or_else(|_| lexical(&full));
        let mut s = canon.to_string_lossy().into_owned();
        while s.len() > 1 && s.ends_with('/') {
            s.pop();
        }
        return Some(format!("file:{s}"));
    }
    let host = parsed.host()?.to_ascii_lowercase();
    let mut path = parsed.path.to_string();
    path = path.trim_start_matches('/').to_string();
    // `~user/repo` forms keep their tilde: it is part of the path.
    loop {
        let before = path.len();
        path = path.trim_end_matches('/').to_string();
        if let Some(p) = path.strip_suffix(".git") {
            path = p.to_string();
        }
        if path.len() == before {
            break;
        }
    }
    if case_insensitive
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&host))
    {
        path = path.to_ascii_lowercase();
    }
    if path.is_empty() {
        return Some(host);
    }
    Some(format!("{host}/{path}"))
}

/// Resolve `.` and `..` without touching the file system (for paths that do
/// not exist here).
fn lexical(p: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The `origin` URL from the repository config, as written.
pub fn origin_url(dirs: &GitDirs) -> Result<Option<String>> {
    let cfg = super::read_config(dirs)?;
    Ok(cfg.string("remote.origin.url").map(|v| v.to_string()))
}

/// Compute the identity of the repository at `root`.
pub fn identity(
    root: &Path,
    dirs: &GitDirs,
    configured: Option<&str>,
    case_insensitive: &[String],
) -> Result<Identity> {
    let origin = origin_url(dirs)?.and_then(|u| normalize(&u, root, case_insensitive));
    if let Some(p) = configured.filter(|p| !p.trim().is_empty()) {
        // A URL written as the project is normalized like a remote, so a
        // password in it is never kept or printed (SPEC §1).
        let p = p.trim();
        let identity = if p.contains("://") {
            normalize(p, root, case_insensitive).unwrap_or_else(|| p.to_string())
        } else {
            p.to_string()
        };
        return Ok(Identity {
            identity,
            source: Source::Config,
            origin,
        });
    }
    if let Some(o) = &origin {
        return Ok(Identity {
            identity: o.clone(),
            source: Source::Origin,
            origin,
        });
    }
    match smallest_root_commit(root)? {
        Some(hex) => Ok(Identity {
            identity: local_identity(&hex),
            source: Source::RootCommit,
            origin: None,
        }),
        None => {
            use sha2::{Digest, Sha256};
            let canon = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
            let d = Sha256::digest(canon.to_string_lossy().as_bytes());
            Ok(Identity {
                identity: format!("local/unborn-{}", &crate::model::id::base36(&d[..10])),
                source: Source::Unborn,
                origin: None,
            })
        }
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// The identity a remote-less repository whose smallest root commit is `hex` has.
pub fn local_identity(hex: &str) -> String {
    format!("local/{}", crate::model::id::base36(&hex_bytes(hex)))
}

/// Whether a configured `project` names the same project as the normalized
/// origin: equal, equal once normalized itself (a URL was written), or equal
/// but for case on a case-insensitive host.
pub fn same_project(
    configured: &str,
    origin: &str,
    base: &Path,
    case_insensitive: &[String],
) -> bool {
    let configured = configured.trim();
    if configured == origin {
        return true;
    }
    if (configured.contains("://") || configured.contains('@'))
        && normalize(configured, base, case_insensitive).as_deref() == Some(origin)
    {
        return true;
    }
    let host = origin.split('/').next().unwrap_or_default();
    case_insensitive
        .iter()
        .any(|h| h.eq_ignore_ascii_case(host))
        && configured.eq_ignore_ascii_case(origin)
}

/// Whether the repository at `root` holds `hex` as a commit without parents
/// (one object look-up: a trust record's root commit is checked this way on
/// every command, not by walking history).
pub fn has_root_commit(root: &Path, hex: &str) -> bool {
    let Ok(id) = gix::ObjectId::from_hex(hex.as_bytes()) else {
        return false;
    };
    let Ok(repo) = super::open(root) else {
        return false;
    };
    repo.find_commit(id)
        .is_ok_and(|c| c.parent_ids().next().is_none())
}

/// The smallest id among root commits reachable from HEAD, as hex (none in
/// a repository without commits).
pub fn smallest_root_commit(root: &Path) -> Result<Option<String>> {
    let repo = super::open(root)?;
    let Ok(head) = repo.head_id() else {
        return Ok(None);
    };
    let walk = head
        .ancestors()
        .all()
        .map_err(|e| crate::error::Error::invalid(format!("cannot walk history: {e}")))?;
    let mut best: Option<String> = None;
    for info in walk {
        let info =
            info.map_err(|e| crate::error::Error::invalid(format!("cannot walk history: {e}")))?;
        if info.parent_ids.is_empty() {
            let hex = info.id.to_string();
            if best.as_ref().is_none_or(|b| hex < *b) {
                best = Some(hex);
            }
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(url: &str) -> Option<String> {
        let ci: Vec<String> = DEFAULT_CASE_INSENSITIVE
            .iter()
            .map(|s| s.to_string())
            .collect();
        normalize(url, Path::new("/"), &ci)
    }

    #[test]
    fn remote_spellings_agree() {
        let want = Some("github.com/org/repo".to_string());
        for u in [
            "git@github.com:Org/Repo.git",
            "https://user@github.com/Org/Repo",
            "https://user:secret@GitHub.com/Org/Repo.git/",
            "ssh://git@github.com:22/Org/Repo.git",
            "ssh://git@github.com/Org/Repo",
            "https://github.com/org/repo/",
            "git://github.com/Org/Repo.git",
        ] {
            assert_eq!(n(u), want, "{u}");
        }
    }

    #[test]
    fn case_sensitive_hosts_keep_path_case() {
        assert_eq!(
            n("https://Git.Example.org:8443/Team/Tool.git").as_deref(),
            Some("git.example.org/Team/Tool")
        );
        assert_eq!(
            n("git@example.org:Team/Tool").as_deref(),
            Some("example.org/Team/Tool")
        );
    }

    #[test]
    fn never_prints_a_password() {
        let out = n("https://bob:hunter2@example.org/x/y.git").unwrap();
        assert!(!out.contains("hunter2") && !out.contains("bob"), "{out}");
    }

    #[test]
    fn local_paths_become_file_urls() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("remote.git");
        std::fs::create_dir(&p).unwrap();
        let canon = std::fs::canonicalize(&p).unwrap();
        let want = format!("file:{}", canon.display());
        assert_eq!(
            normalize(p.to_str().unwrap(), Path::new("/"), &[]),
            Some(want.clone())
        );
        assert_eq!(
            normalize(&format!("file://{}", p.display()), Path::new("/"), &[]),
            Some(want.clone())
        );
        assert_eq!(
            normalize("../remote.git", &dir.path().join("clone"), &[]),
            Some(want)
        );
        assert_eq!(
            normalize("/nowhere/a/../b.git/", Path::new("/"), &[]).as_deref(),
            Some("file:/nowhere/b.git")
        );
    }

    #[test]
    fn configured_project_proven_by_origin() {
        let ci: Vec<String> = DEFAULT_CASE_INSENSITIVE
            .iter()
            .map(|s| s.to_string())
            .collect();
        let b = Path::new("/");
        assert!(same_project(
            "github.com/org/repo",
            "github.com/org/repo",
            b,
            &ci
        ));
        assert!(same_project(
            "github.com/Org/Repo",
            "github.com/org/repo",
            b,
            &ci
        ));
        assert!(same_project(
            "git@github.com:Org/Repo.git",
            "github.com/org/repo",
            b,
            &ci
        ));
        assert!(!same_project(
            "github.com/org/other",
            "github.com/org/repo",
            b,
            &ci
        ));
        assert!(!same_project(
            "example.org/Team/X",
            "example.org/team/x",
            b,
            &ci
        ));
        assert!(!same_project("local/abc", "github.com/org/repo", b, &ci));
    }

    #[test]
    fn a_configured_url_keeps_no_password() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            crate::git::transport::run(dir.path(), &["init", "-q"])
                .unwrap()
                .ok
        );
        let dirs = crate::git::dirs(dir.path()).unwrap();
        let id = identity(
            dir.path(),
            &dirs,
            Some("https://bob:hunter2@GitHub.com/Org/Repo.git"),
            &["github.com".to_string()],
        )
        .unwrap();
        assert_eq!(id.identity, "github.com/org/repo");
        assert_eq!(id.source, Source::Config);
    }

    #[test]
    fn empty_is_none() {
        assert_eq!(n(""), None);
        assert_eq!(n("   "), None);
    }
}

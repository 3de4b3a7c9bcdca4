//! The library's error type. Errors carry data; the CLI picks the words, the
//! hint and the exit code (SPEC §4: codes and exits).

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// The command line itself is wrong.
    Usage(String),
    /// A value the user gave is not acceptable.
    Invalid {
        msg: String,
        hint: Option<String>,
    },
    /// Something named does not exist (also: a named removal that did not exist).
    NotFound {
        msg: String,
        hint: Option<String>,
    },
    /// No issue has this id (`history`: neither in this branch's history).
    IssueNotFound {
        id: String,
        history: bool,
    },
    Ambiguous {
        prefix: String,
        candidates: Vec<String>,
    },
    /// A project name in a mail address matches several known projects.
    AmbiguousProject {
        name: String,
        candidates: Vec<String>,
    },
    /// A file could not be parsed.
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// A write was refused because the file has lines that do not parse.
    BadLines {
        path: PathBuf,
        lines: Vec<usize>,
    },
    Io {
        path: PathBuf,
        err: std::io::Error,
    },
    /// Held by another, not claimable, claim recovered.
    Conflict {
        msg: String,
        hint: Option<String>,
    },
    Locked {
        path: PathBuf,
        waited_ms: u64,
    },
    NotGitRepo {
        dir: PathBuf,
    },
    NotInitialized {
        root: PathBuf,
    },
    /// A path under `.beads/` or the project home is a symbolic link (or
    /// leaves its folder): never followed.
    Symlink {
        path: PathBuf,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid {
            msg: msg.into(),
            hint: None,
        }
    }

    pub fn not_found(msg: impl Into<String>) -> Error {
        Error::NotFound {
            msg: msg.into(),
            hint: None,
        }
    }

    /// No issue has the id `id`.
    pub fn no_issue(id: impl Into<String>) -> Error {
        Error::IssueNotFound {
            id: id.into(),
            history: false,
        }
    }

    pub fn conflict(msg: impl Into<String>) -> Error {
        Error::Conflict {
            msg: msg.into(),
            hint: None,
        }
    }

    pub fn io(path: impl Into<PathBuf>, err: std::io::Error) -> Error {
        let path = path.into();
        if let Some(link) = crate::files::symlink_of(&err, &path) {
            return Error::Symlink { path: link };
        }
        Error::Io { path, err }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::Invalid { .. } | Error::NotGitRepo { .. } | Error::Symlink { .. } => "invalid",
            Error::NotFound { .. } | Error::IssueNotFound { .. } | Error::NotInitialized { .. } => {
                "not_found"
            }
            Error::Ambiguous { .. } | Error::AmbiguousProject { .. } => "ambiguous",
            Error::Parse { .. } | Error::BadLines { .. } => "parse",
            Error::Io { .. } => "io",
            Error::Conflict { .. } => "conflict",
            Error::Locked { .. } => "locked",
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self.code() {
            "usage" => 2,
            "conflict" | "locked" => 3,
            _ => 1,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Invalid { hint, .. }
            | Error::NotFound { hint, .. }
            | Error::Conflict { hint, .. } => hint.clone(),
            Error::NotGitRepo { .. } => Some("run `git init` first".into()),
            Error::NotInitialized { .. } => Some("run `bd init` to start tracking here".into()),
            Error::Parse { path, .. }
                if path.file_name().is_some_and(|n| n == "config.toml") =>
            {
                Some(
                    "`bd doctor` runs anyway and reports it; `bd doctor --fix` merges a config.toml git left conflicted or with a key set twice (else fix the line by hand)"
                        .into(),
                )
            }
            // A file bd does not own (`bd import FILE`): the fix is in it.
            Error::Parse { path, .. }
                if !path.components().any(|c| c.as_os_str() == ".beads") =>
            {
                Some("fix that line of the file and run the command again".into())
            }
            Error::BadLines { .. } | Error::Parse { .. } => {
                Some("run `bd doctor --fix` to quarantine lines that do not parse".into())
            }
            Error::Locked { path, .. } => Some(format!(
                "another bd command holds the {} lock; retry, or raise BD_LOCK_TIMEOUT_MS",
                lock_name(path)
            )),
            Error::Ambiguous { .. } => Some("give more characters of the ID".into()),
            Error::AmbiguousProject { name, .. } => Some(format!(
                "write project:<identity>, or pick one for this name: `bd config set projects.{name} <identity>`"
            )),
            Error::Usage(_) => Some("see `bd --help`".into()),
            Error::Io { .. } | Error::IssueNotFound { .. } => None,
            // `.beads` itself: no command opens the workspace, doctor
            // neither; the link goes by hand, then `init` starts afresh.
            Error::Symlink { path } if path.file_name().is_some_and(|n| n == ".beads") => {
                Some(format!(
                    "remove the link (`rm {}`; its target is left alone), then run `bd init`",
                    path.display()
                ))
            }
            Error::Symlink { .. } => Some(
                "bd never follows links under .beads/ or the project home; `bd doctor --fix` removes them (the targets are left alone)"
                    .into(),
            ),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::Invalid { msg, .. }
            | Error::NotFound { msg, .. }
            | Error::Conflict { msg, .. } => {
                write!(f, "{msg}")
            }
            Error::IssueNotFound { id, history: false } => write!(f, "no issue '{id}'"),
            Error::IssueNotFound { id, history: true } => {
                write!(f, "no issue '{id}' here or in this branch's history")
            }
            Error::AmbiguousProject { name, candidates } => write!(
                f,
                "project name '{name}' is ambiguous: it matches {}",
                candidates.join(", ")
            ),
            Error::Ambiguous { prefix, candidates } => {
                write!(
                    f,
                    "ambiguous ID '{prefix}': matches {}",
                    candidates.join(", ")
                )
            }
            Error::Parse { path, line, reason } => {
                write!(f, "{}:{line}: {reason}", path.display())
            }
            Error::BadLines { path, lines } => {
                let shown: Vec<String> = lines.iter().take(10).map(|l| l.to_string()).collect();
                let more = if lines.len() > 10 { ", …" } else { "" };
                write!(
                    f,
                    "{} has lines that do not parse (line {}{more}); refusing to write",
                    path.display(),
                    shown.join(", ")
                )
            }
            Error::Io { path, err } => write!(f, "{}: {err}", path.display()),
            Error::Locked { path, waited_ms } => write!(
                f,
                "the {} lock is taken: {} still held after {waited_ms} ms",
                lock_name(path),
                path.display()
            ),
            Error::NotGitRepo { dir } => {
                write!(f, "not in a git repository: {}", dir.display())
            }
            Error::NotInitialized { root } => {
                write!(f, "no .beads/ in {}", root.display())
            }
            Error::Symlink { path } => write!(
                f,
                "refusing to follow a symbolic link (or a path leaving its folder): {}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {}

/// What a lock file guards, by its path (issue 9, item 18: a ledger-lock
/// timeout must not say "workspace"): `.beads/.lock` is the workspace's,
/// the project home's `ledger.lock` the claim ledger's, `sync.lock` the
/// project's sync, `agents/` and `deliveries/` an agent's presence or hook
/// deliveries; anything else in the home is "project home".
pub fn lock_name(path: &std::path::Path) -> &'static str {
    let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let dir = path
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    match (dir, file) {
        (".beads", ".lock") => "workspace",
        (_, "ledger.lock") => "claim ledger",
        (_, "sync.lock") => "project sync",
        ("agents", _) => "agent presence",
        ("deliveries", _) => "hook deliveries",
        _ => "project home",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn lock_names_follow_the_lock_file() {
        for (path, name) in [
            ("/r/.beads/.lock", "workspace"),
            ("/h/projects/p/ledger.lock", "claim ledger"),
            ("/h/projects/p/sync.lock", "project sync"),
            ("/h/projects/p/agents/bob.lock", "agent presence"),
            ("/h/projects/p/deliveries/bob.lock", "hook deliveries"),
            ("/h/projects/p/registry.lock", "project home"),
        ] {
            assert_eq!(lock_name(Path::new(path)), name, "{path}");
        }
        let e = Error::Locked {
            path: "/h/projects/p/ledger.lock".into(),
            waited_ms: 300,
        };
        assert!(e.to_string().contains("claim ledger"), "{e}");
        assert!(!e.to_string().contains("workspace"), "{e}");
    }
}

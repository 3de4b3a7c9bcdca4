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
    /// Something named does not exist (also: a named removal that did not
    /// exist): what, as data.
    NotFound(Missing),
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

/// What an [`Error::NotFound`] did not find, one variant per kind of thing,
/// as data: the words and the hint are [`Missing`]'s `Display` and
/// [`Missing::hint`], here and nowhere else.
#[derive(Debug)]
pub enum Missing {
    /// A mail address names a project this machine does not know.
    Project { name: String },
    /// A mail recipient that is no agent of this project; `known`: the
    /// agents it knows, in order (the hint lists them, or names a look-alike).
    Recipient { name: String, known: Vec<String> },
    /// No message has this id or id prefix.
    Message { query: String },
    /// A config key neither set nor known (`bd config get`).
    ConfigUnset { key: String },
    /// A key config.toml does not know; `known`: the keys it does.
    ConfigKey { key: String, known: Vec<String> },
    /// A git revision that does not resolve; `reason`: git's words.
    Revision { rev: String, reason: String },
    /// An attachment file that cannot be read.
    Attachment { path: PathBuf, err: std::io::Error },
    /// A removal of `label` from `ids`, none of which has it.
    Label { label: String, ids: Vec<String> },
    /// A removal of `labels` from `id`, which has none of them.
    Labels { id: String, labels: Vec<String> },
    /// A removal of a dependency `from` → `to` (of `kind`) that is not there.
    Dependency {
        from: String,
        to: String,
        kind: Option<String>,
    },
    /// A removal of `id` from `agent`'s hook, which does not hold it.
    Hooked { id: String, agent: String },
    /// An agent not registered in this project.
    Agent { name: String },
    /// A release of globs `agent` holds no reservation of.
    Reservations { agent: String, globs: Vec<String> },
    /// No formula file of this name in the folders searched.
    Formula { name: String, places: Vec<PathBuf> },
}

impl Missing {
    pub fn hint(&self) -> Option<String> {
        match self {
            Missing::Project { name } => Some(format!(
                "name it in config (`bd config set projects.{name} <identity>`), run any bd command in one of its workspaces so this machine knows it, or write project:<identity>"
            )),
            Missing::Recipient { name, known } => {
                let lower = name.to_lowercase();
                Some(match known.iter().find(|k| k.to_lowercase() == lower) {
                    Some(c) => format!("did you mean '{c}'? Agent names are case-sensitive"),
                    None => format!(
                        "known agents: {}; an agent appears with `bd agent register`; another project's agent is name@<project>",
                        known.join(", ")
                    ),
                })
            }
            Missing::Message { .. } => Some("`bd mail inbox --all` lists your messages".into()),
            Missing::ConfigUnset { .. } => Some("`bd config list` shows every key".into()),
            Missing::ConfigKey { known, .. } => {
                Some(format!("known keys: {}, projects.<name>", known.join(", ")))
            }
            Missing::Revision { .. }
            | Missing::Attachment { .. }
            | Missing::Label { .. }
            | Missing::Labels { .. }
            | Missing::Dependency { .. }
            | Missing::Hooked { .. }
            | Missing::Agent { .. } => None,
            Missing::Reservations { .. } => {
                Some("`bd reservations` lists them, by their globs as stored".into())
            }
            Missing::Formula { places, .. } => Some(format!(
                "looked for <name>.formula.toml in {}; `bd formula list` shows what is there",
                places
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Project { name } => write!(f, "unknown project '{name}'"),
            Missing::Recipient { name, .. } => write!(
                f,
                "unknown recipient '{name}': no agent of this project is called that"
            ),
            Missing::Message { query } => write!(f, "no message '{query}'"),
            Missing::ConfigUnset { key } => write!(f, "config key '{key}' is not set"),
            Missing::ConfigKey { key, .. } => write!(f, "unknown config key '{key}'"),
            Missing::Revision { rev, reason } => write!(f, "unknown revision '{rev}': {reason}"),
            Missing::Attachment { path, err } => {
                write!(f, "attachment {}: {err}", path.display())
            }
            Missing::Label { label, ids } => write!(
                f,
                "{} {} no label '{label}'; nothing removed",
                ids.join(", "),
                if ids.len() == 1 { "has" } else { "have" }
            ),
            Missing::Labels { id, labels } => write!(
                f,
                "{id} has no label {}; nothing removed",
                labels.join(", ")
            ),
            Missing::Dependency { from, to, kind } => {
                write!(f, "{from} has no dependency on {to}")?;
                if let Some(k) = kind {
                    write!(f, " ({k})")?;
                }
                write!(f, "; nothing removed")
            }
            Missing::Hooked { id, agent } => {
                write!(f, "{id} is not on the hook of {agent}; nothing removed")
            }
            Missing::Agent { name } => {
                write!(
                    f,
                    "no agent {name:?} in this project (`bd agents` lists them)"
                )
            }
            Missing::Reservations { agent, globs } => write!(
                f,
                "{agent} holds no reservation of {}; nothing released",
                globs.join(", ")
            ),
            Missing::Formula { name, .. } => write!(f, "no formula {name:?}"),
        }
    }
}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid {
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
            Error::NotFound(_) | Error::IssueNotFound { .. } | Error::NotInitialized { .. } => {
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
            Error::Invalid { hint, .. } | Error::Conflict { hint, .. } => hint.clone(),
            Error::NotFound(missing) => missing.hint(),
            Error::NotGitRepo { .. } => Some("run `git init` first".into()),
            Error::NotInitialized { .. } => Some("run `bd init` to start tracking here".into()),
            // The tracker's own config (review 9: Codex's config.toml got
            // this hint).
            Error::Parse { path, .. }
                if path.file_name().is_some_and(|n| n == "config.toml")
                    && path
                        .parent()
                        .and_then(|p| p.file_name())
                        .is_some_and(|n| n == ".beads") =>
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
            Error::Invalid { msg, .. } | Error::Conflict { msg, .. } => {
                write!(f, "{msg}")
            }
            Error::NotFound(missing) => write!(f, "{missing}"),
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

    fn nf(m: Missing) -> (String, Option<String>) {
        let e = Error::NotFound(m);
        assert_eq!((e.code(), e.exit_code()), ("not_found", 1));
        (e.to_string(), e.hint())
    }

    #[test]
    fn missing_things_have_their_words() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            nf(Missing::Recipient {
                name: "dave".into(),
                known: s(&["Dave", "ann"]),
            }),
            (
                "unknown recipient 'dave': no agent of this project is called that".into(),
                Some("did you mean 'Dave'? Agent names are case-sensitive".into())
            )
        );
        assert_eq!(
            nf(Missing::Recipient {
                name: "bob".into(),
                known: s(&["ann", "cy"]),
            })
            .1
            .as_deref(),
            Some(
                "known agents: ann, cy; an agent appears with `bd agent register`; another project's agent is name@<project>"
            )
        );
        assert_eq!(
            nf(Missing::Label {
                label: "x".into(),
                ids: s(&["bd-1", "bd-2"]),
            })
            .0,
            "bd-1, bd-2 have no label 'x'; nothing removed"
        );
        assert_eq!(
            nf(Missing::Label {
                label: "x".into(),
                ids: s(&["bd-1"]),
            })
            .0,
            "bd-1 has no label 'x'; nothing removed"
        );
        assert_eq!(
            nf(Missing::Labels {
                id: "bd-1".into(),
                labels: s(&["a", "b"]),
            }),
            ("bd-1 has no label a, b; nothing removed".into(), None)
        );
        for (kind, words) in [
            (None, "bd-1 has no dependency on bd-2; nothing removed"),
            (
                Some("blocks"),
                "bd-1 has no dependency on bd-2 (blocks); nothing removed",
            ),
        ] {
            let m = Missing::Dependency {
                from: "bd-1".into(),
                to: "bd-2".into(),
                kind: kind.map(str::to_string),
            };
            assert_eq!(nf(m), (words.into(), None));
        }
        assert_eq!(
            nf(Missing::Agent { name: "bob".into() }).0,
            r#"no agent "bob" in this project (`bd agents` lists them)"#
        );
        assert_eq!(
            nf(Missing::ConfigKey {
                key: "nope".into(),
                known: s(&["a", "b"]),
            }),
            (
                "unknown config key 'nope'".into(),
                Some("known keys: a, b, projects.<name>".into())
            )
        );
    }
}

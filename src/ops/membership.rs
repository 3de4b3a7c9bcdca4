//! Whether this workspace may join its project's home (SPEC §1, issue 9
//! item 2). A committed `project = "…"` is a claim anyone can write; the home
//! holds another project's live mail, claims and hooks. So a workspace joins
//! only when its identity is proven here:
//! - the identity is derived from the repository itself (no `project`), by
//!   the built-in normalization (see below);
//! - `project` equals the normalized `origin` (any spelling of the URL),
//!   case-insensitive only for the built-in hosts ([`proof_hosts`]): nothing
//!   the repository carries (its `case_insensitive_hosts`) helps prove it;
//! - without an origin, `project` equals the root-commit identity;
//! - or the user confirmed this repository on this machine (`bd where
//!   --trust`, or `bd config set project` typed here), recorded in the
//!   home's registry under the canonical path of the repository's shared git
//!   folder (so its worktrees share the proof) and its root commit (so
//!   another repository put at that path later does not inherit it).
//!
//! An unproven workspace gets a warning and coordinates within itself only
//! (as `coordination = "workspace"`).

use std::path::PathBuf;

use crate::error::Result;
use crate::git;
use crate::home::{ProjectHome, registry};
use crate::ops::Session;
pub use crate::ops::session::Proof;
use crate::ops::session::{origin_proves, trust_key};

/// What `bd where --trust` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Trusted {
    pub project: String,
    /// The repository's shared git folder, canonical (the trust key).
    pub repository: PathBuf,
    pub root_commit: Option<String>,
    /// Whether a new confirmation was recorded (false: already proven).
    pub recorded: bool,
}

/// Confirm, on this machine, that this repository belongs to `project` (the
/// configured one when `None`). Nothing to record when already proven.
pub fn trust(ctx: &Session, project: Option<&str>) -> Result<Trusted> {
    let project = match project {
        Some(p) => p.trim().to_string(),
        None => ctx.identity()?.identity,
    };
    let key = trust_key(&ctx.ws.root)?;
    let root_commit = git::identity::smallest_root_commit(&ctx.ws.root)?;
    let proven = match origin_proves(&ctx.ws.root, &project)? {
        Some(p) => p,
        None => root_commit.as_deref().map(git::identity::local_identity) == Some(project.clone()),
    };
    let mut recorded = false;
    if !proven {
        let home = ProjectHome::open(ctx.home_base(), &project)?;
        let (changed, warning) =
            registry::trust(&home, &key, root_commit.as_deref(), &ctx.now_text())?;
        if let Some(w) = warning {
            ctx.warn(w);
        }
        recorded = changed;
    }
    Ok(Trusted {
        project,
        repository: PathBuf::from(key),
        root_commit,
        recorded,
    })
}

/// A workspace registered in the project home.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeenWorkspace {
    pub root: PathBuf,
    pub registered_at: String,
    pub last_seen: String,
    /// Its `.beads/` is still there.
    pub live: bool,
    /// It is the workspace of this command.
    pub this: bool,
}

/// A repository confirmed on this machine as the project's.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrustedRepo {
    pub repository: String,
    pub root_commit: Option<String>,
    pub confirmed_at: String,
}

/// The workspaces registered in a project home and the repositories confirmed for it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Registered {
    pub workspaces: Vec<SeenWorkspace>,
    pub trusted: Vec<TrustedRepo>,
}

/// The workspaces registered in this project's home and the repositories
/// confirmed for it, for `doctor` (none without a home).
pub fn registered(ctx: &Session) -> Result<Registered> {
    let Some(home) = ctx.home()? else {
        return Ok(Registered::default());
    };
    let (reg, warning) = registry::load(&home);
    if let Some(w) = warning {
        ctx.warn(w);
    }
    let this = std::fs::canonicalize(&ctx.ws.root).unwrap_or_else(|_| ctx.ws.root.clone());
    let workspaces = reg
        .workspaces
        .values()
        .map(|w| SeenWorkspace {
            root: w.root.clone(),
            registered_at: w.registered_at.clone(),
            last_seen: w.last_seen.clone(),
            live: w.root.join(".beads").is_dir(),
            this: w.root == this,
        })
        .collect();
    let trusted = reg
        .trusted
        .iter()
        .map(|(k, t)| TrustedRepo {
            repository: k.clone(),
            root_commit: t.root_commit.clone(),
            confirmed_at: t.confirmed_at.clone(),
        })
        .collect();
    Ok(Registered {
        workspaces,
        trusted,
    })
}

/// The spelling of an agent name given on the command line or as the actor:
/// a look-alike (after NFKC and case folding, `home::presence::fold`) of a
/// registered agent stands for that agent; else a look-alike of a name with
/// a hook file in this workspace (slung to, never registered) stands for
/// that name, so one agent has one hook file.
pub fn agent_spelling(ctx: &Session, name: &str) -> String {
    use crate::home::presence;
    if let Ok(Some(home)) = ctx.home()
        && let Some(s) = presence::registered_spelling(&home, name)
    {
        return s;
    }
    if crate::store::hooks::has_hook_file(&ctx.ws, name) {
        return name.to_string();
    }
    let want = presence::fold(name);
    crate::store::hooks::hook_names(&ctx.ws)
        .into_iter()
        .find(|n| n != name && presence::fold(n) == want)
        .unwrap_or_else(|| name.to_string())
}

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
use crate::git::{self, identity::Source};
use crate::home::{self, ProjectHome, registry};
use crate::ops::Ctx;

/// How a workspace's membership in its project home is proven.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    /// No `project` is configured: the identity comes from this repository.
    Derived,
    /// `project` equals the normalized origin.
    Origin,
    /// No origin; `project` equals the root-commit identity.
    RootCommit,
    /// The user confirmed this repository on this machine.
    Trusted,
    /// None of the above: the workspace does not join the home.
    Unproven,
}

/// The trust key of the repository at `root`: its shared git folder, canonical.
fn trust_key(root: &std::path::Path) -> Result<String> {
    let dirs = git::dirs(root)?;
    let canon = std::fs::canonicalize(&dirs.common_dir).unwrap_or(dirs.common_dir);
    Ok(canon.to_string_lossy().into_owned())
}

/// The hosts whose repository paths the proof compares without case: the
/// built-in list only. A repository's own `case_insensitive_hosts` shapes its
/// identity (SPEC §1) but proves nothing: a repository naming another
/// project could otherwise declare its host case-insensitive and pass for a
/// project whose path differs from its own only in case.
pub fn proof_hosts() -> Vec<String> {
    git::identity::DEFAULT_CASE_INSENSITIVE
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Whether `project` is what the `origin` of the repository at `root` names,
/// by [`proof_hosts`] (`None`: there is no origin).
fn origin_proves(root: &std::path::Path, project: &str) -> Result<Option<bool>> {
    let dirs = git::dirs(root)?;
    let hosts = proof_hosts();
    let Some(origin) =
        git::identity::origin_url(&dirs)?.and_then(|u| git::identity::normalize(&u, root, &hosts))
    else {
        return Ok(None);
    };
    Ok(Some(git::identity::same_project(
        project, &origin, root, &hosts,
    )))
}

impl Ctx {
    /// How (or whether) this workspace's identity is proven here.
    pub fn home_proof(&self) -> Result<Proof> {
        let id = self.identity()?;
        match id.source {
            Source::Config => {
                if origin_proves(&self.ws.root, &id.identity)? == Some(true) {
                    return Ok(Proof::Origin);
                }
            }
            // Derived from origin: proven when the built-in normalization
            // gives it too. A path lower-cased only by the repository's own
            // `case_insensitive_hosts` is a claim like a configured project.
            Source::Origin => {
                if origin_proves(&self.ws.root, &id.identity)? == Some(true) {
                    return Ok(Proof::Derived);
                }
            }
            Source::RootCommit | Source::Unborn => return Ok(Proof::Derived),
        }
        // Without an origin, the root-commit identity (a history walk, only
        // for a `project` that has that form).
        if id.origin.is_none()
            && id.identity.starts_with("local/")
            && git::identity::smallest_root_commit(&self.ws.root)?
                .as_deref()
                .map(git::identity::local_identity)
                == Some(id.identity.clone())
        {
            return Ok(Proof::RootCommit);
        }
        if home::check_identity(&id.identity).is_err() {
            return Ok(Proof::Unproven);
        }
        let Some(home) = crate::home::mailbox::existing(self.home_base(), &id.identity) else {
            return Ok(Proof::Unproven);
        };
        let key = trust_key(&self.ws.root)?;
        let (reg, _) = registry::load(&home);
        let Some(entry) = reg.trusted.get(&key) else {
            return Ok(Proof::Unproven);
        };
        match &entry.root_commit {
            // The repository at this path still holds that root commit: one
            // object look-up.
            Some(hex) if git::identity::has_root_commit(&self.ws.root, hex) => {}
            Some(_) => return Ok(Proof::Unproven),
            // Trusted before its first commit: bind the trust to the root
            // commit now (once).
            None => {
                let root_commit = git::identity::smallest_root_commit(&self.ws.root)?;
                if root_commit.is_some()
                    && let Err(e) =
                        registry::trust(&home, &key, root_commit.as_deref(), &self.now_text())
                {
                    self.warn(format!("cannot record the trust of {key}: {e}"));
                }
            }
        }
        Ok(Proof::Trusted)
    }

    /// Whether this workspace may speak for its project: its identity is
    /// proven here (see [`Proof`]). An unproven workspace has no project to
    /// send mail as, so it posts into no other project's home.
    pub fn speaks_for_project(&self) -> bool {
        matches!(self.home_proof(), Ok(p) if p != Proof::Unproven)
    }

    /// The refusal of mail to other projects from an unproven workspace.
    pub(crate) fn unproven_sender(&self) -> crate::error::Error {
        let project = self.identity().map(|i| i.identity).unwrap_or_default();
        crate::error::Error::Invalid {
            msg: format!(
                "this workspace sends no mail to other projects: its project '{project}' is not proven for this repository"
            ),
            hint: Some(
                "`bd where --trust` if this repository belongs to that project (a fork, a renamed remote)"
                    .into(),
            ),
        }
    }

    /// Whether this workspace joins its project home; when not, says why
    /// (once per command: the home is opened once).
    pub(crate) fn joins_home(&self) -> bool {
        match self.home_proof() {
            Ok(Proof::Unproven) => {
                let id = self.identity().ok();
                let project = id.as_ref().map(|i| i.identity.clone()).unwrap_or_default();
                let derived = id.as_ref().is_some_and(|i| i.source == Source::Origin);
                let origin = id
                    .and_then(|i| i.origin)
                    .map_or_else(|| "no origin".to_string(), |o| format!("origin {o}"));
                let claim = if derived {
                    format!(
                        "this repository's identity '{project}' is lower-cased by case_insensitive_hosts in .beads/config.toml, which"
                    )
                } else {
                    format!(
                        ".beads/config.toml names project '{project}', which this repository ({origin})"
                    )
                };
                self.warn(format!(
                    "{claim} does not prove; coordinating within this workspace only (no shared mail, claims or hooks). If it is that project's (a fork, a renamed remote), run `bd where --trust`"
                ));
                false
            }
            Ok(_) => true,
            Err(e) => {
                self.warn(format!(
                    "cannot check this workspace's project identity ({e}); coordinating within this workspace only"
                ));
                false
            }
        }
    }
}

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
pub fn trust(ctx: &Ctx, project: Option<&str>) -> Result<Trusted> {
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
pub fn registered(ctx: &Ctx) -> Result<Registered> {
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
pub fn agent_spelling(ctx: &Ctx, name: &str) -> String {
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

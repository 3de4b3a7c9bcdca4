//! Compositions for the command line: where a verb needs several ops (or the
//! work around every verb), one function here makes them, so each verb in
//! `cli::commands` makes one call. Also the few lower-layer types the CLI
//! names, re-exported so that `cli` imports only `ops`.

use std::path::Path;

use crate::error::Result;
use crate::model::time::Nanos;
use crate::ops::query::{Filter, Listing};
use crate::ops::{Env, Session, admin, coord, hooks, mail, membership, query};

pub use crate::git::commit::Outcome as CommitOutcome;
use crate::store::Workspace;
pub use crate::store::index::Row;

/// The session of one command in the workspace found from `start`.
/// `doctor` is `Some(fix)` for `bd doctor`: it reads config.toml itself (a
/// broken one is a finding, and with `fix` a conflicted one is merged first,
/// rather than locking doctor out), and with `fix` links under `.beads/`
/// are removed first, before anything (the config included) could be read
/// through one. `env` is asked for only once the workspace opened (a bad
/// `BD_NOW` does not hide that there is no workspace).
pub fn open(
    start: &Path,
    doctor: Option<bool>,
    env: impl FnOnce() -> Result<Env>,
) -> Result<Session> {
    let mut found = Vec::new();
    if doctor == Some(true)
        && let Ok(ws) = Workspace::open(start)
    {
        found = admin::doctor_links(&ws, true)?;
    }
    let ws = Workspace::open(start)?;
    let ctx = match doctor {
        Some(fix) => {
            let (config_found, config) = admin::doctor_config(&ws, fix)?;
            found.extend(config_found);
            Session::with_config(ws, env()?, config)?
        }
        None => Session::new(ws, env()?)?,
    };
    ctx.found_on_open.replace(found);
    Ok(ctx)
}

/// The work before every verb, all of it:
/// - the clone's merge-driver config is repaired (git keeps it per clone,
///   so fresh clones lack it);
/// - a tracker file git holds unmerged is named (reads go on over one side,
///   writes are refused);
/// - a named actor that looks like a registered agent (`DAVE`, `Ⅾave`) is
///   it (an actor derived from the workspace path is nobody's typing, so no
///   command pays the look-up for it);
/// - mail waiting in the project home for this workspace is delivered.
///
/// With `--readonly` only the reads: the unmerged files named, the actor
/// resolved.
/// The tracker at or above `start` exists and can be used (a server
/// checks once before it serves calls that each open it).
pub fn tracker_here(start: &Path) -> Result<()> {
    Workspace::open(start)?.check_beads()
}

/// The real path of the workspace at or above `start` (its worktree root).
pub fn workspace_root(start: &Path) -> Result<std::path::PathBuf> {
    let root = Workspace::find_root(start)?;
    root.canonicalize()
        .map_err(|e| crate::error::Error::io(&root, e))
}

pub fn begin(ctx: &mut Session) {
    if !ctx.env.readonly {
        ctx.check_merge_driver();
    }
    ctx.warn_unmerged();
    if ctx.explicit_actor {
        let actor = membership::agent_spelling(ctx, &ctx.actor);
        ctx.actor = actor;
    }
    if ctx.unmerged.is_empty() && !ctx.env.readonly {
        mail::pump(ctx);
        complete_own_claims(ctx);
    }
}

/// Claims of this actor that reached the remote while the command that
/// pushed them ended before its tracker write (killed, crashed) are
/// completed now: claimed again through the one write path (the remote
/// still shows them as the actor's: a renewal), or, when another agent took
/// them since, given up with a warning. Remote coordination only.
fn complete_own_claims(ctx: &Session) {
    let ids = crate::ops::remote::own_unwritten(ctx);
    if ids.is_empty() {
        return;
    }
    for id in ids {
        match crate::ops::edit::claim(ctx, std::slice::from_ref(&id), false) {
            Ok(_) => ctx.notice(format!(
                "completed the claim of {id} by {}: an earlier command pushed it to the remote and ended before writing it here",
                ctx.actor
            )),
            Err(e) => {
                crate::ops::remote::clear_pending(ctx, &[id.as_str()]);
                ctx.warn(format!(
                    "the claim of {id} an earlier command pushed cannot be completed: {e}"
                ));
            }
        }
    }
}

/// The work after every verb (`ok`: it succeeded), all of it:
/// - reports go back to the projects whose handed-off items this command
///   changed (mail, itself a tracker write);
/// - the named actor's hook file is brought up to date with what the
///   command wrote (a committed file: before the commit);
/// - the command's tracker writes are committed, per `auto_commit`, once;
/// - the named actor's heartbeat is refreshed.
///
/// With `--readonly`, nothing (the verb wrote nothing to report or commit).
pub fn finish(ctx: &Session, ok: bool) {
    if ctx.env.readonly {
        return;
    }
    let handoffs = ctx.outbox.take();
    if !handoffs.is_empty() {
        mail::flow_back(ctx, &handoffs);
    }
    if ok
        && ctx.explicit_actor
        && ctx.wrote.get()
        && let Err(e) = hooks::materialize(ctx)
    {
        ctx.warn(format!("cannot update the hook file of {}: {e}", ctx.actor));
    }
    ctx.auto_commit();
    if ok {
        ctx.touch_presence();
    }
}

/// The session of the next round of a long-running verb (`dispatch
/// --watch`): same workspace and actor, read at `now`, begun (the caller
/// finishes it when the round is done).
pub fn next_round(ctx: &Session, now: Nanos) -> Result<Session> {
    let actor = ctx.explicit_actor.then(|| ctx.actor.clone());
    let mut round = Session::new(
        ctx.ws.clone(),
        Env {
            now,
            actor,
            ..ctx.env.clone()
        },
    )?;
    round.verb = ctx.verb.clone();
    begin(&mut round);
    Ok(round)
}

/// How long every lock of this process waits (set once, at start-up).
pub fn set_lock_timeout(d: std::time::Duration) {
    crate::files::lock::set_default_timeout(d);
}

/// `where`: the workspace's places and its proof of project membership.
pub fn where_(ctx: &Session) -> Result<Where> {
    let places = admin::where_(ctx)?;
    let remote = crate::ops::remote::enabled(ctx);
    let coordination = if remote {
        "remote".to_string()
    } else {
        ctx.config
            .get_str("coordination")
            .unwrap_or("machine")
            .to_string()
    };
    // The arbiter is named, not asked (no network): a remote git does not
    // know is said as an error here.
    let arbiter = if remote {
        match crate::ops::remote::arbiter(ctx) {
            Ok(a) => a,
            Err(e) => {
                ctx.warn(e.to_string());
                None
            }
        }
    } else {
        None
    };
    Ok(Where {
        places,
        proof: ctx.home_proof()?,
        coordination,
        arbiter,
    })
}

/// `where`: the places, then the proof of membership, and how claims are
/// coordinated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Where {
    #[serde(flatten)]
    pub places: admin::Places,
    pub proof: membership::Proof,
    /// `machine`, `workspace` or `remote`.
    pub coordination: String,
    /// In remote coordination, the remote that arbitrates and its layout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arbiter: Option<crate::ops::remote::Arbiter>,
}

/// `doctor --remote`: what the remote takes (`remote::probe`), and with
/// `fix` the layout it wants set in config.toml.
pub fn doctor_remote(ctx: &Session, fix: bool) -> Result<crate::ops::remote::Probe> {
    let mut p = crate::ops::remote::probe(ctx)?;
    if fix
        && let Some(l) = p.recommended
        && l != p.layout
    {
        admin::config_edit(ctx, |cfg| cfg.set("remote_layout", l.word()))?;
        p.fixed = true;
    }
    Ok(p)
}

/// What `doctor` found, with the pending changes and registered workspaces.
pub struct DoctorReport {
    pub findings: Vec<admin::Finding>,
    pub pending: Vec<String>,
    pub registered: membership::Registered,
}

/// `doctor`: the checks; with `fix`, the ledger pruned too.
pub fn doctor(ctx: &Session, fix: bool) -> Result<DoctorReport> {
    let findings = admin::doctor(ctx, fix)?;
    if fix {
        match coord::prune_ledger(ctx) {
            Ok(n) if n > 0 => ctx.notice(format!(
                "Pruned {n} ledger entr{} every workspace already shows",
                if n == 1 { "y" } else { "ies" }
            )),
            Ok(_) => {}
            Err(e) => ctx.warn(format!("cannot prune the ledger: {e}")),
        }
    }
    let pending = ctx.pending_changes();
    let registered = membership::registered(ctx)?;
    Ok(DoctorReport {
        findings,
        pending,
        registered,
    })
}

/// `config get|set|unset`'s report: the key, its value (get, set) and
/// whether the command changed it (set, unset).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConfigReport {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
}

/// `config get`: the value of `key` (its default when unset).
pub fn config_get(ctx: &Session, key: &str) -> Result<ConfigReport> {
    Ok(ConfigReport {
        key: key.to_string(),
        value: Some(admin::config_get(ctx, key)?),
        changed: None,
    })
}

/// `config unset`: whether it was set.
pub fn config_unset(ctx: &Session, key: &str) -> Result<ConfigReport> {
    let changed = admin::config_edit(ctx, |cfg| cfg.unset(key))?;
    Ok(ConfigReport {
        key: key.to_string(),
        value: None,
        changed: Some(changed),
    })
}

/// `config set`: whether it changed. Naming the project here is the user's
/// confirmation on this machine (a committed config.toml is not).
pub fn config_set(ctx: &Session, key: &str, value: &str) -> Result<ConfigReport> {
    let changed = admin::config_edit(ctx, |cfg| cfg.set(key, value))?;
    if changed
        && key == "project"
        && !value.trim().is_empty()
        && let Err(e) = membership::trust(ctx, Some(value))
    {
        ctx.warn(format!(
            "cannot record that this repository is {value}'s: {e}; run `bd where --trust`"
        ));
    }
    Ok(ConfigReport {
        key: key.to_string(),
        value: Some(value.to_string()),
        changed: Some(changed),
    })
}

/// `sling`: the agent as registered, and the outcome.
pub fn sling(
    ctx: &Session,
    id: &str,
    agent: &str,
    note: Option<&str>,
) -> Result<(String, crate::ops::write::Outcome)> {
    let agent = membership::agent_spelling(ctx, agent);
    let o = hooks::sling(ctx, id, &agent, note)?;
    Ok((agent, o))
}

/// The agent a hook verb means: the named one as registered, else the actor.
fn hook_agent(ctx: &Session, agent: Option<&str>) -> String {
    agent.map_or_else(|| ctx.actor.clone(), |a| membership::agent_spelling(ctx, a))
}

/// An agent's effective hook with the titles of its items. JSON: the
/// items' ids only.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HookView {
    pub agent: String,
    /// (id, title; empty when the issue is not here)
    #[serde(serialize_with = "ids_of")]
    pub items: Vec<(String, String)>,
    pub note: Option<String>,
}

fn ids_of<S: serde::Serializer>(
    items: &[(String, String)],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(items.iter().map(|(id, _)| id))
}

/// `unhook`'s report: the agent and the ids taken off its hook.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Unhooked {
    pub agent: String,
    pub removed: Vec<String>,
}

/// `hook`: the effective hook of `agent` (default: the actor).
pub fn hook(ctx: &Session, agent: Option<&str>) -> Result<HookView> {
    let agent = hook_agent(ctx, agent);
    crate::home::presence::validate_agent_name(&agent)?;
    let hook = hooks::effective_hook(ctx, &agent)?;
    let snap = ctx.snapshot()?;
    let items = hook
        .items
        .into_iter()
        .map(|i| {
            let title = snap.find(&i).map(|r| r.title.clone()).unwrap_or_default();
            (i, title)
        })
        .collect();
    Ok(HookView {
        agent,
        items,
        note: hook.note,
    })
}

/// `unhook`: the agent and the ids taken off its hook.
pub fn unhook(ctx: &Session, id: Option<&str>, agent: Option<&str>) -> Result<Unhooked> {
    let agent = hook_agent(ctx, agent);
    let removed = hooks::unhook(ctx, &agent, id)?;
    Ok(Unhooked { agent, removed })
}

/// `ready --explain`: the ready work (saying so when there is none) and the
/// claims that lapsed.
pub fn ready_explained(ctx: &Session, f: &Filter) -> Result<(Listing, Vec<query::LapsedClaim>)> {
    let l = query::ready(ctx, f)?;
    if l.rows.is_empty() {
        ctx.notice("No ready work.");
    }
    let lapsed = query::lapsed(ctx)?;
    Ok((l, lapsed))
}

/// `export -o FILE`'s report: how many issues went to which file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportedTo {
    pub exported: usize,
    pub path: std::path::PathBuf,
}

/// `export` to stdout: the tracker to write, line by line, when the
/// output is printed ([`admin::Export::each_line`]).
pub use admin::Export;

pub fn export_source(ctx: &Session) -> Result<Export> {
    admin::export_source(ctx)
}

/// `export -o FILE`: every line written straight into the file (replaced
/// atomically; nothing is held), and how many went there.
pub fn export_to(ctx: &Session, path: &Path) -> Result<ExportedTo> {
    let src = admin::export_source(ctx)?;
    let mut exported = 0usize;
    let mut failed = None;
    let written = crate::files::atomic::write_output_with(path, |w| {
        src.each_line(|line| {
            exported += 1;
            w.write_all(line.as_bytes())
                .and_then(|()| w.write_all(b"\n"))
                .map_err(|e| crate::error::Error::io(path, e))
        })
        .map_err(|e| {
            let io = std::io::Error::other(e.to_string());
            failed = Some(e);
            io
        })
    });
    if let Some(e) = failed {
        return Err(e);
    }
    written?;
    Ok(ExportedTo {
        exported,
        path: path.to_path_buf(),
    })
}

/// `doctor --check=pollution`: open issues that look like tests leaked into
/// the tracker (`classic::looks_like_test`); with `clean`, deleted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pollution {
    pub check: &'static str,
    pub count: usize,
    pub test_issues: Vec<PollutedIssue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<usize>,
}

/// An issue `doctor --check=pollution` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PollutedIssue {
    pub id: String,
    pub title: String,
    pub status: String,
}

pub fn pollution(ctx: &Session, clean: bool) -> Result<Pollution> {
    let snap = ctx.snapshot()?;
    let test_issues: Vec<PollutedIssue> = snap
        .rows
        .iter()
        .filter(|r| !r.state().is_done() && crate::ops::classic::looks_like_test(&r.title))
        .map(|r| PollutedIssue {
            id: r.id.clone(),
            title: r.title.clone(),
            status: r.status.clone(),
        })
        .collect();
    let deleted = if clean && !test_issues.is_empty() {
        let ids: Vec<String> = test_issues.iter().map(|i| i.id.clone()).collect();
        let os = crate::ops::edit::delete(
            ctx,
            &ids,
            Some("test issue (doctor --check=pollution --clean)"),
            false,
        )?;
        Some(os.iter().filter(|o| o.changed).count())
    } else {
        clean.then_some(0)
    };
    Ok(Pollution {
        check: "pollution",
        count: test_issues.len(),
        test_issues,
        deleted,
    })
}

// ---------------------------------------------------------------------------
// `config … --machine`: this machine's settings (`home::machine`), never
// committed: another project's remote (issue 14, handoffs across machines).

fn machine_home(ctx: &Session) -> Result<crate::home::ProjectHome> {
    ctx.home()?.ok_or_else(|| crate::error::Error::Invalid {
        msg: "this machine's settings live in the project home, and this workspace uses none"
            .into(),
        hint: Some(
            "coordination = \"workspace\" (or an unproven workspace: `bd where`) keeps no machine settings"
                .into(),
        ),
    })
}

/// `config get --machine`: the value of `projects.<name>.remote` here.
pub fn machine_config_get(ctx: &Session, key: &str) -> Result<ConfigReport> {
    let (cfg, warn) = crate::home::machine::load(&machine_home(ctx)?);
    if let Some(w) = warn {
        ctx.warn(w);
    }
    match cfg.get(key)? {
        Some(v) => Ok(ConfigReport {
            key: key.to_string(),
            value: Some(v),
            changed: None,
        }),
        None => Err(crate::error::Error::NotFound(
            crate::error::Missing::ConfigUnset {
                key: key.to_string(),
            },
        )),
    }
}

/// `config set --machine`: whether it changed. A name that is not a key of
/// `[projects]` stands for the identity it spells (said once, as a note).
pub fn machine_config_set(ctx: &Session, key: &str, value: &str) -> Result<ConfigReport> {
    let name = crate::home::machine::project_of(key)?;
    let changed = crate::home::machine::set(&machine_home(ctx)?, key, value)?;
    if changed && !ctx.config.projects().iter().any(|(k, _)| *k == name) {
        ctx.note(format!(
            "{name} is no key of [projects] in config.toml: it is taken as the identity of the project whose remote this is"
        ));
    }
    Ok(ConfigReport {
        key: key.to_string(),
        value: Some(value.to_string()),
        changed: Some(changed),
    })
}

/// `config unset --machine`: whether it was set.
pub fn machine_config_unset(ctx: &Session, key: &str) -> Result<ConfigReport> {
    let changed = crate::home::machine::unset(&machine_home(ctx)?, key)?;
    Ok(ConfigReport {
        key: key.to_string(),
        value: None,
        changed: Some(changed),
    })
}

/// `config list --machine`: every setting of this machine, by key.
pub fn machine_config_list(ctx: &Session) -> Result<admin::ConfigList> {
    let (cfg, warn) = crate::home::machine::load(&machine_home(ctx)?);
    if let Some(w) = warn {
        ctx.warn(w);
    }
    Ok(admin::ConfigList {
        entries: cfg.entries(),
    })
}

/// The places `bd ui` watches and switches between (issue 17): this
/// workspace's root and `.beads/`, the project home (none without one),
/// and every live workspace of the project on this machine (this one
/// first).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Places {
    pub root: std::path::PathBuf,
    pub beads: std::path::PathBuf,
    pub home: Option<std::path::PathBuf>,
    pub workspaces: Vec<std::path::PathBuf>,
    /// Who acts (the session's actor) and the project's identity.
    pub actor: String,
    pub identity: String,
}

pub fn places(ctx: &Session) -> Places {
    let home = ctx.home().ok().flatten();
    let root = ctx.ws.root.clone();
    let mut workspaces = vec![root.clone()];
    if let Some(h) = &home {
        for w in crate::home::registry::live(h) {
            if !workspaces.contains(&w) {
                workspaces.push(w);
            }
        }
    }
    Places {
        actor: ctx.actor.clone(),
        identity: ctx
            .identity()
            .map(|i| i.identity)
            .unwrap_or_else(|_| "(unknown)".into()),
        beads: ctx.ws.beads.clone(),
        home: home.map(|h| h.dir),
        root,
        workspaces,
    }
}

impl Places {
    /// The files whose change a dashboard shows: each workspace's tracker
    /// files and its git HEAD and reflog (commits: history, diffs), and the
    /// project home's live state.
    pub fn watched(&self) -> Vec<std::path::PathBuf> {
        let mut v = Vec::new();
        for ws in &self.workspaces {
            if let Some(g) = crate::git::git_dir(ws) {
                v.push(g.join("HEAD"));
                v.push(g.join("logs").join("HEAD"));
            }
            let b = ws.join(".beads");
            for f in [
                "issues.jsonl",
                "mail.jsonl",
                "runs.jsonl",
                "budget.jsonl",
                "hooks",
                "config.toml",
            ] {
                v.push(b.join(f));
            }
        }
        if let Some(h) = &self.home {
            for f in [
                "agents",
                "ledger.json",
                "workers",
                "mail",
                "deliveries",
                "gate-trust.json",
                "registry.json",
                "reservations.json",
            ] {
                v.push(h.join(f));
            }
        }
        v
    }
}

/// Write `url` (with its token) to the file a script named (`bd ui
/// --url-file`): whole or not at all, since the script polls for it, and
/// links not followed.
pub fn write_url_file(path: &std::path::Path, url: &str) -> Result<()> {
    crate::files::atomic::write(path, format!("{url}\n").as_bytes())
}

/// What a watcher compares ([`crate::files::fingerprint`]).
pub fn fingerprint(paths: &[std::path::PathBuf]) -> u64 {
    crate::files::fingerprint(paths)
}

/// `n` random bytes from the system, as hex (`bd ui`'s token and session).
pub fn random_hex(n: usize) -> Result<String> {
    crate::home::remote::random_hex(n)
}

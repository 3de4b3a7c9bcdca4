//! Compositions for the command line: where a verb needs several ops (or the
//! work around every verb), one function here makes them, so each verb in
//! `cli::commands` makes one call. Also the few lower-layer types the CLI
//! names, re-exported so that `cli` imports only `ops`.

use std::path::Path;

use crate::error::Result;
use crate::model::time::Nanos;
use crate::ops::query::{Filter, Listing};
use crate::ops::{Ctx, Env, admin, coord, hooks, mail, membership, query};

pub use crate::git::commit::Outcome as CommitOutcome;
use crate::store::Workspace;
pub use crate::store::index::Row;

/// The context of one command in the workspace found from `start`.
/// `doctor` is `Some(fix)` for `bd doctor`: it reads config.toml itself (a
/// broken one must not lock it out), and with `fix` links under `.beads/`
/// are removed first, before anything (the config included) could be read
/// through one. `env` is asked for only once the workspace opened (a bad
/// `BD_NOW` does not hide that there is no workspace).
pub fn open(start: &Path, doctor: Option<bool>, env: impl FnOnce() -> Result<Env>) -> Result<Ctx> {
    let mut links = Vec::new();
    if doctor == Some(true)
        && let Ok(ws) = Workspace::open(start)
    {
        links = admin::doctor_links(&ws, true)?;
    }
    let ctx = Workspace::open(start).and_then(|ws| match doctor {
        // doctor reads config.toml itself: a broken one must not lock it out.
        Some(fix) => Ctx::for_doctor(ws, env()?, fix),
        None => Ctx::new(ws, env()?),
    })?;
    ctx.links_found.replace(links);
    Ok(ctx)
}

/// Before the verb: a named actor that looks like a registered agent
/// (`DAVE`, `Ⅾave`) is it (an actor derived from the workspace path is
/// nobody's typing, so no command pays the look-up for it); mail waiting
/// for this workspace is delivered.
pub fn begin(ctx: &mut Ctx) {
    if ctx.explicit_actor {
        let actor = membership::agent_spelling(ctx, &ctx.actor);
        ctx.actor = actor;
    }
    if ctx.unmerged.is_empty() {
        mail::pump(ctx);
    }
}

/// After the verb (`ok`: it succeeded): presence, the hook file, and the
/// reports back to projects whose handed-off items this command changed.
pub fn finish(ctx: &Ctx, ok: bool) {
    if ok {
        ctx.touch_presence();
    }
    if ok
        && ctx.explicit_actor
        && ctx.wrote.get()
        && let Err(e) = hooks::materialize(ctx)
    {
        ctx.warn(format!("cannot update the hook file of {}: {e}", ctx.actor));
    }
    let handoffs = ctx.outbox.take();
    if !handoffs.is_empty() {
        mail::flow_back(ctx, &handoffs);
    }
}

/// A fresh context for the next round of a long-running verb (`dispatch
/// --watch`), same workspace and actor, read at `now`.
pub fn next_round(ctx: &Ctx, now: Nanos) -> Result<Ctx> {
    let actor = ctx.explicit_actor.then(|| ctx.actor.clone());
    Ctx::new(
        ctx.ws.clone(),
        Env {
            now,
            actor,
            ..ctx.env.clone()
        },
    )
}

/// How long every lock of this process waits (set once, at start-up).
pub fn set_lock_timeout(d: std::time::Duration) {
    crate::files::lock::set_default_timeout(d);
}

/// `where`: the workspace's places and its proof of project membership.
pub fn where_(ctx: &Ctx) -> Result<Where> {
    let places = admin::where_(ctx)?;
    Ok(Where {
        places,
        proof: ctx.home_proof()?,
    })
}

/// `where`: the places, then the proof of membership.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Where {
    #[serde(flatten)]
    pub places: admin::Places,
    pub proof: membership::Proof,
}

/// What `doctor` found, with the pending changes and registered workspaces.
pub struct DoctorReport {
    pub findings: Vec<admin::Finding>,
    pub pending: Vec<String>,
    pub registered: membership::Registered,
}

/// `doctor`: the checks; with `fix`, the ledger pruned too.
pub fn doctor(ctx: &Ctx, fix: bool) -> Result<DoctorReport> {
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

/// `config set`: whether it changed. Naming the project here is the user's
/// confirmation on this machine (a committed config.toml is not).
pub fn config_set(ctx: &Ctx, key: &str, value: &str) -> Result<bool> {
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
    Ok(changed)
}

/// `sling`: the agent as registered, and the outcome.
pub fn sling(
    ctx: &Ctx,
    id: &str,
    agent: &str,
    note: Option<&str>,
) -> Result<(String, crate::ops::write::Outcome)> {
    let agent = membership::agent_spelling(ctx, agent);
    let o = hooks::sling(ctx, id, &agent, note)?;
    Ok((agent, o))
}

/// The agent a hook verb means: the named one as registered, else the actor.
fn hook_agent(ctx: &Ctx, agent: Option<&str>) -> String {
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
pub fn hook(ctx: &Ctx, agent: Option<&str>) -> Result<HookView> {
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
pub fn unhook(ctx: &Ctx, id: Option<&str>, agent: Option<&str>) -> Result<Unhooked> {
    let agent = hook_agent(ctx, agent);
    let removed = hooks::unhook(ctx, &agent, id)?;
    Ok(Unhooked { agent, removed })
}

/// `ready --explain`: the ready work (saying so when there is none) and the
/// claims that lapsed.
pub fn ready_explained(ctx: &Ctx, f: &Filter) -> Result<(Listing, Vec<query::LapsedClaim>)> {
    let l = query::ready(ctx, f)?;
    if l.rows.is_empty() {
        ctx.notice("No ready work.");
    }
    let lapsed = query::lapsed(ctx)?;
    Ok((l, lapsed))
}

/// `export`: the JSONL text, also written to `output` when given.
pub fn export(ctx: &Ctx, output: Option<&Path>) -> Result<String> {
    let text = admin::export(ctx)?;
    if let Some(p) = output {
        admin::write_export(p, &text)?;
    }
    Ok(text)
}

//! The agents of a project on this machine (SPEC §7): `bd agent register`,
//! `unregister`, `heartbeat` and `bd agents` (who holds what, by the
//! effective state of the coordination service, `ops::coord`).

use crate::error::{Error, Missing, Result};
use crate::home::presence;
use crate::ops::Session;
use crate::ops::coord::{Holdings, holdings, no_home};

/// `bd agent register`.
pub fn agent_register(ctx: &Session, name: Option<&str>, kind: &str) -> Result<presence::Agent> {
    let home = ctx.home()?.ok_or_else(|| no_home(ctx))?;
    let name = name.unwrap_or(&ctx.actor);
    if kind == presence::UNREGISTERED_KIND {
        return Err(Error::Invalid {
            msg: format!(
                "kind {:?} is reserved for names only seen running commands",
                presence::UNREGISTERED_KIND
            ),
            hint: Some("`bd agent register --kind agent` (or claude, human, …)".into()),
        });
    }
    let (a, w) = presence::register(&home, name, kind, &ctx.ws.root, &ctx.now_text())?;
    if let Some(w) = w {
        ctx.warn(w);
    }
    Ok(a)
}

/// `bd agent unregister [name]`: the agent receives no more work. Its hook
/// goes back to the ready pool; its claims stay (it may be finishing them;
/// `dispatch` recovers them once its lease lapses) and are reported.
/// What `agent unregister` did: the agent's hook went back to ready work;
/// its claims stay.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Unregistered {
    pub name: String,
    /// Always true (the JSON says so).
    pub unregistered: bool,
    /// Taken off its hook.
    pub unhooked: Vec<String>,
    /// Still held.
    pub claims: Vec<String>,
}

pub fn agent_unregister(ctx: &Session, name: Option<&str>) -> Result<Unregistered> {
    let home = ctx.home()?.ok_or_else(|| no_home(ctx))?;
    // A look-alike of a registered agent names it, as in every other command.
    let spelled = match name {
        Some(n) => presence::spelling(&home, n),
        None => ctx.actor.clone(),
    };
    let name = spelled.as_str();
    presence::validate_agent_name(name)?;
    let known = presence::find(&home, name).0.is_some();
    if !known {
        return Err(Error::NotFound(Missing::Agent {
            name: name.to_string(),
        }));
    }
    let held = holdings(ctx)?.remove(name).unwrap_or_default();
    if !held.hook.is_empty() {
        crate::ops::hooks::unhook(ctx, name, None)?;
    }
    presence::forget(&home, name)?;
    if name == ctx.actor {
        ctx.departed.set(true);
    }
    Ok(Unregistered {
        name: name.to_string(),
        unregistered: true,
        unhooked: held.hook,
        claims: held.claims,
    })
}

/// `bd heartbeat [--note]`: the agent's presence, and in remote
/// coordination the leases of its claims on the remote.
pub fn heartbeat(ctx: &Session, note: Option<&str>) -> Result<presence::Agent> {
    let home = ctx.home()?.ok_or_else(|| no_home(ctx))?;
    let (a, w) = presence::heartbeat(&home, &ctx.actor, &ctx.ws.root, note, &ctx.now_text())?;
    if let Some(w) = w {
        ctx.warn(w);
    }
    // In remote coordination the claims' leases live on the remote too.
    if let Err(e) = crate::ops::remote::renew(ctx) {
        ctx.warn(format!("cannot renew the leases on the remote: {e}"));
    }
    Ok(a)
}

/// One agent as `agents` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentView {
    pub name: String,
    pub kind: String,
    pub state: presence::AgentState,
    pub workspace: std::path::PathBuf,
    pub registered_at: String,
    pub last_heartbeat: String,
    pub note: Option<String>,
    pub claims: Vec<String>,
    pub hook: Vec<String>,
    pub unread_mail: usize,
}

/// `bd agents`: every agent with its state, claims and hook.
pub fn agents(ctx: &Session) -> Result<Vec<AgentView>> {
    let home = ctx.home()?.ok_or_else(|| no_home(ctx))?;
    let (all, w) = presence::load(&home);
    if let Some(w) = w {
        ctx.warn(w);
    }
    let lease = ctx.config.lease_secs();
    let mut held = holdings(ctx)?;
    let mut out = Vec::new();
    for (name, a) in &all {
        let state = presence::state(a, ctx.now, lease);
        let Holdings { claims: c, hook: h } = held.remove(name).unwrap_or_default();
        out.push(AgentView {
            name: name.clone(),
            kind: a.kind.clone(),
            state,
            workspace: a.workspace.clone(),
            registered_at: a.registered_at.clone(),
            last_heartbeat: a.last_heartbeat.clone(),
            note: a.note.clone(),
            claims: c,
            hook: h,
            unread_mail: crate::ops::mail::unread_count(ctx, name),
        });
    }
    Ok(out)
}

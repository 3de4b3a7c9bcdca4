//! `bd prime`: the compact start-of-session text for an agent (SPEC §7):
//! who it is, its hook and claims, unread mail, the top ready work, pending
//! tracker changes, and the commands it needs. Kept under 1.5 KB.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::Result;
use crate::home::ledger;
use crate::model::kinds::Status;
use crate::model::mail::Message;
use crate::ops::Session;
use crate::ops::query::Filter;

/// A start-of-session summary: `--json` prints it; the CLI writes its text
/// (under 1.5 KB whatever the agent holds).
#[derive(Debug, Serialize)]
pub struct PrimeReport {
    pub actor: String,
    pub workspace: PathBuf,
    pub identity: String,
    /// The agent's hook, by the effective state.
    pub hook: Vec<Item>,
    /// The note of the sling that put work on the hook.
    pub hook_note: Option<String>,
    /// The agent's claims, by the effective state.
    pub claims: Vec<Item>,
    /// The agent's live file reservations (`bd reserve`).
    pub reservations: Vec<crate::ops::reserve::View>,
    /// How many messages are unread.
    pub unread_mail: usize,
    pub ready: Vec<ReadyItem>,
    /// The tracker files changed since the last commit.
    pub pending: Vec<String>,
    /// The unread messages themselves (the text lists the first few).
    #[serde(skip)]
    pub unread: Vec<Message>,
    /// Whether the actor was named (`BD_ACTOR`, `--actor`).
    #[serde(skip)]
    pub explicit_actor: bool,
}

#[derive(Debug, Serialize)]
pub struct Item {
    pub id: String,
    pub title: String,
    /// Its latest checkpoint's text (`bd checkpoint`), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// The molecule it is a step of (issue 16): formula, step, progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub molecule: Option<crate::ops::mol_view::Brief>,
}

/// The issues the actor holds, by the effective state: its hook first,
/// then its claims (`bd checkpoint` without an ID takes the one it holds).
pub fn held(ctx: &Session) -> Result<Vec<String>> {
    let (hook, claims) = holdings(ctx)?;
    Ok(hook.into_iter().chain(claims).map(|i| i.id).collect())
}

#[derive(Debug, Serialize)]
pub struct ReadyItem {
    pub id: String,
    pub title: String,
    pub priority: i64,
}

pub fn prime(ctx: &Session) -> Result<PrimeReport> {
    let identity = ctx
        .identity()
        .map(|i| i.identity)
        .unwrap_or_else(|_| "(unknown)".into());
    let (hook, claims) = holdings(ctx)?;
    // The note of the sling, by the one definition of the hook.
    let hook_note = if hook.is_empty() {
        None
    } else {
        crate::ops::hooks::effective_hook(ctx, &ctx.actor)
            .ok()
            .and_then(|h| h.note)
    };
    let ready = crate::ops::query::ready(
        ctx,
        &Filter {
            limit: Some(SHOWN as i64),
            ..Filter::default()
        },
    )?;
    let unread = crate::ops::mail::inbox(ctx, &Default::default()).unwrap_or_default();
    Ok(PrimeReport {
        actor: ctx.actor.clone(),
        workspace: ctx.ws.root.clone(),
        identity,
        hook,
        hook_note,
        claims,
        reservations: crate::ops::reserve::held(ctx),
        unread_mail: unread.len(),
        ready: ready
            .rows
            .iter()
            .map(|r| ReadyItem {
                id: r.id.clone(),
                title: r.title.clone(),
                priority: r.priority,
            })
            .collect(),
        pending: ctx.pending_changes(),
        unread,
        explicit_actor: ctx.explicit_actor,
    })
}

/// The agent's hook and claims, `(hook, claims)`: this workspace's file,
/// plus what the ledger says other workspaces of the project gave this
/// agent, both by the effective state (the record overlaid with a newer
/// ledger entry, `coord::effective_holder`): a claim lost in a merge is not
/// shown.
fn holdings(ctx: &Session) -> Result<(Vec<Item>, Vec<Item>)> {
    let ledger = ctx.ledger().unwrap_or_default();
    let me = ctx.actor.as_str();
    // Only this agent's rows (and those the ledger names) are built from the
    // index: a start-of-session summary must not cost a full load.
    let named: std::collections::HashSet<String> = ledger.iter().map(|e| e.issue.clone()).collect();
    let snap = crate::store::Snapshot::load_where(
        &ctx.ws,
        &ctx.view(),
        |p| (p.assignee_is(me) && Status::parse(p.status()).is_held()) || named.contains(p.id()),
        false,
    )?;
    ctx.warn_bad_lines(&snap);
    let item = |id: &str, title: &str| Item {
        id: id.to_string(),
        title: title.to_string(),
        checkpoint: None,
        molecule: None,
    };
    let (mut hook, mut claims) = (Vec::new(), Vec::new());
    for r in &snap.rows {
        let Ok(rec) = snap.record(r) else { continue };
        let with_checkpoint = || Item {
            checkpoint: rec.latest_checkpoint().map(|c| c.2),
            molecule: crate::ops::mol_view::brief(ctx, &rec),
            ..item(&r.id, &r.title)
        };
        match crate::ops::coord::effective_holder(crate::ops::coord::entry_for(&ledger, &rec), &rec)
        {
            Some((h, false)) if h == me => claims.push(with_checkpoint()),
            Some((h, true)) if h == me => hook.push(with_checkpoint()),
            _ => {}
        }
    }
    // Issues this file does not have yet: the ledger alone says.
    for e in ledger.iter().filter(|e| snap.find(&e.issue).is_none()) {
        match &e.event {
            ledger::Event::Claimed { holder, .. } if holder == me => {
                claims.push(item(&e.issue, ""))
            }
            ledger::Event::Hooked { agent, .. } if agent == me => hook.push(item(&e.issue, "")),
            _ => {}
        }
    }
    Ok((hook, claims))
}

/// How many items of each list the text shows.
pub const SHOWN: usize = 3;

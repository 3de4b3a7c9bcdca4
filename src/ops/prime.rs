//! `bd prime`: the compact start-of-session text for an agent (SPEC §7):
//! who it is, its hook and claims, unread mail, the top ready work, pending
//! tracker changes, and the commands it needs. Kept under 1.5 KB.

use crate::error::Result;
use crate::home::ledger;
use crate::ops::Ctx;
use crate::ops::query::Filter;

/// How many items of each list the text shows.
const SHOWN: usize = 3;

/// `prime`: the summary as data, and as the text an agent reads.
pub struct Prime {
    pub json: Summary,
    pub text: String,
}

/// What `prime --json` gives: who and where the agent is, its hook and
/// claims, unread mail, ready work and pending tracker changes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub actor: String,
    pub workspace: std::path::PathBuf,
    pub identity: String,
    pub hook: Vec<Item>,
    pub hook_note: Option<String>,
    pub claims: Vec<Item>,
    pub unread_mail: usize,
    pub ready: Vec<ReadyItem>,
    pub pending: Vec<String>,
}

/// An issue on the hook or claimed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Item {
    pub id: String,
    pub title: String,
}

/// A ready issue.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReadyItem {
    pub id: String,
    pub title: String,
    pub priority: i64,
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

pub fn prime(ctx: &Ctx) -> Result<Prime> {
    let identity = ctx
        .identity()
        .map(|i| i.identity)
        .unwrap_or_else(|_| "(unknown)".into());
    let ledger = ctx.ledger().unwrap_or_default();
    let me = ctx.actor.as_str();
    // Only this agent's rows (and those the ledger names) are built from the
    // index: a start-of-session summary must not cost a full load.
    let named: std::collections::HashSet<String> = ledger.iter().map(|e| e.issue.clone()).collect();
    let snap = crate::store::Snapshot::load_where(
        &ctx.ws,
        &ctx.view(),
        |p| {
            (p.assignee_is(me) && matches!(p.status(), "in_progress" | "hooked"))
                || named.contains(p.id())
        },
        false,
    )?;
    ctx.warn_bad_lines(&snap);
    // Claims and hook: this workspace's file, plus what the ledger says other
    // workspaces of the project gave this agent.
    // Both by the effective state (the record overlaid with a newer ledger
    // entry, `coord::effective_holder`): a claim lost in a merge is not shown.
    let mut claims: Vec<(String, String)> = Vec::new();
    let mut hook: Vec<(String, String)> = Vec::new();
    for r in &snap.rows {
        let Ok(rec) = snap.record(r) else { continue };
        match crate::ops::coord::effective_holder(ledger.get(&r.id), &rec) {
            Some((h, false)) if h == me => claims.push((r.id.clone(), r.title.clone())),
            Some((h, true)) if h == me => hook.push((r.id.clone(), r.title.clone())),
            _ => {}
        }
    }
    // Issues this file does not have yet: the ledger alone says.
    for e in ledger.iter().filter(|e| snap.find(&e.issue).is_none()) {
        match &e.event {
            ledger::Event::Claimed { holder, .. } if holder == me => {
                claims.push((e.issue.clone(), String::new()))
            }
            ledger::Event::Hooked { agent, .. } if agent == me => {
                hook.push((e.issue.clone(), String::new()))
            }
            _ => {}
        }
    }
    let ready = crate::ops::query::ready(
        ctx,
        &Filter {
            limit: Some(SHOWN as i64),
            ..Filter::default()
        },
    )?;
    let pending = ctx.pending_changes();
    let mut t = String::new();
    t.push_str(&format!(
        "# bd prime — you are {me} in {} (project {identity})\n",
        ctx.ws.root.display()
    ));
    if !ctx.explicit_actor {
        t.push_str("Set BD_ACTOR=<your name> if other agents share this workspace.\n");
    }
    // Long lists are cut (the JSON has them whole): the text must stay a
    // compact start of session, under 1.5 KB whatever the agent holds.
    let list = |v: &[(String, String)], more: &str| {
        let mut s: String = v
            .iter()
            .take(SHOWN)
            .map(|(id, title)| format!("  {id} {}\n", cut(title, 50)))
            .collect();
        if v.len() > SHOWN {
            s.push_str(&format!("  … {} more ({more})\n", v.len() - SHOWN));
        }
        s
    };
    // The note of the sling, by the one definition of the hook.
    let hook_note = if hook.is_empty() {
        None
    } else {
        crate::ops::hooks::effective_hook(ctx, me)
            .ok()
            .and_then(|h| h.note)
    };
    if hook.is_empty() {
        t.push_str("Hook: empty\n");
    } else {
        t.push_str(&format!(
            "Hook ({}), start here:\n{}",
            hook.len(),
            list(&hook, "bd hook")
        ));
        if let Some(n) = &hook_note {
            t.push_str(&format!("  Note: {}\n", cut(n, 200)));
        }
    }
    if claims.is_empty() {
        t.push_str("Claims: none\n");
    } else {
        t.push_str(&format!(
            "Claims ({}), finish these:\n{}",
            claims.len(),
            list(&claims, "bd list --assignee <you> -s in_progress")
        ));
    }
    let unread = crate::ops::mail::inbox(ctx, &Default::default()).unwrap_or_default();
    if unread.is_empty() {
        t.push_str("Unread mail: none\n");
    } else {
        t.push_str(&format!(
            "Unread mail ({}), `bd mail read <id>`:\n",
            unread.len()
        ));
        for m in unread.iter().take(SHOWN) {
            t.push_str(&format!(
                "  {} from {}: {}\n",
                m.id,
                m.from,
                cut(&m.subject, 50)
            ));
        }
        if unread.len() > SHOWN {
            t.push_str(&format!(
                "  … {} more (bd mail inbox)\n",
                unread.len() - SHOWN
            ));
        }
    }
    if ready.rows.is_empty() {
        t.push_str("Ready: nothing\n");
    } else {
        t.push_str("Ready:\n");
        for r in &ready.rows {
            t.push_str(&format!(
                "  {} P{} {}\n",
                r.id,
                r.priority,
                cut(&r.title, 50)
            ));
        }
    }
    if !pending.is_empty() {
        let mut names: Vec<&str> = pending.iter().take(2).map(String::as_str).collect();
        let rest = format!("{} more", pending.len().saturating_sub(2));
        if pending.len() > 2 {
            names.push(&rest);
        }
        t.push_str(&format!(
            "Uncommitted tracker changes: {} (`bd commit`)\n",
            names.join(", ")
        ));
    }
    t.push_str(
        "Commands: bd claim <id> | bd show <id> | bd comment <id> \"…\" | bd close <id> --reason \"…\" | bd create \"…\" --deps discovered-from:<id> | bd mail inbox | bd heartbeat\n",
    );
    let items = |v: Vec<(String, String)>| -> Vec<Item> {
        v.into_iter()
            .map(|(id, title)| Item { id, title })
            .collect()
    };
    let json = Summary {
        actor: me.to_string(),
        workspace: ctx.ws.root.clone(),
        identity,
        hook: items(hook),
        hook_note,
        claims: items(claims),
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
        pending,
    };
    Ok(Prime { json, text: t })
}

//! `bd dispatch` (SPEC §7): recover lapsed claims, then sling ready work to
//! online agents, least loaded first, in priority order, within a per-agent
//! limit. `--dry-run` plans without writing.

use serde::Serialize;

use crate::error::Result;
use crate::home::presence::{self, AgentState};
use crate::ops::Session;
use crate::ops::query::Filter;

#[derive(Debug, Default, Serialize)]
pub struct Plan {
    /// (issue, old holder) of lapsed claims recovered.
    pub recovered: Vec<(String, String)>,
    /// (issue, agent) slung.
    pub slung: Vec<(String, String)>,
    /// Ready issues left because every online agent is at its limit.
    pub left: usize,
    pub dry_run: bool,
    /// Ledger entries dropped because every workspace already shows them.
    pub pruned: usize,
    /// Gates resolved this round (issue 16: due timers, closed beads,
    /// trusted commands that passed), before work is handed out.
    pub gates_resolved: Vec<String>,
}

pub struct DispatchOptions {
    pub per_agent: usize,
    pub dry_run: bool,
    /// Also sling containers (epics, convoys, molecules).
    pub containers: bool,
}

pub fn dispatch(ctx: &Session, o: &DispatchOptions) -> Result<Plan> {
    let mut plan = Plan {
        dry_run: o.dry_run,
        ..Plan::default()
    };
    let Some(home) = ctx.home()? else {
        return Err(crate::ops::coord::no_home(ctx));
    };
    // 1. Lapsed claims go back to the pool, all in one write (the one lease
    // rule, judged by the effective state: `query::lapsed`).
    let (agents, _) = presence::load(&home);
    let lease = ctx.config.lease_secs();
    // In remote coordination the leases are judged by the remote's now.
    if !o.dry_run && !ctx.env.offline {
        crate::ops::remote::refresh(ctx)?;
    }
    // 0. Due gates first: work behind a gate that resolves now is handed
    // out this round.
    if !o.dry_run {
        plan.gates_resolved = crate::ops::gate::check_due(ctx);
    }
    for l in crate::ops::query::lapsed(ctx)? {
        plan.recovered.push((l.id, l.holder));
    }
    if !o.dry_run && !plan.recovered.is_empty() {
        let ids: Vec<String> = plan.recovered.iter().map(|(i, _)| i.clone()).collect();
        crate::ops::edit::unclaim(ctx, &ids, true)?;
    }
    // 2. Online agents by load (claims and hook items, by the effective
    // state: coord::holdings), then name.
    let held = crate::ops::coord::holdings(ctx)?;
    let mut load: Vec<(usize, String)> = agents
        .values()
        // The dispatcher hands work out; it does not take any. Only
        // registered agents receive work (a name that merely ran a command
        // is not one), and only while they heart-beat.
        .filter(|a| a.name != ctx.actor && presence::is_registered(a))
        .filter(|a| presence::state(a, ctx.now, lease) == AgentState::Online)
        .map(|a| {
            let n = held
                .get(&a.name)
                .map_or(0, |h| h.claims.len() + h.hook.len());
            (n, a.name.clone())
        })
        .collect();
    // 3. Claimable work in priority order, each to the least loaded agent.
    let ready = crate::ops::query::claimable(
        ctx,
        &Filter {
            limit: Some(0),
            // (Fetched above.)
            ..Filter::default()
        },
        o.containers,
    )?;
    // No work to an agent whose budget is spent, nor work whose budget is.
    let budgets = crate::ops::budget::Check::load(ctx)?;
    let mut round = Vec::new();
    for r in &ready.rows {
        load.sort();
        let Some(slot) = load
            .iter_mut()
            .find(|(n, a)| *n < o.per_agent && budgets.refusal(&r.id, a).is_none())
        else {
            plan.left += 1;
            continue;
        };
        round.push((r.id.clone(), slot.1.clone()));
        slot.0 += 1;
    }
    // One tracker write for the whole round; what was taken meanwhile is skipped.
    plan.slung = if o.dry_run || round.is_empty() {
        round
    } else {
        crate::ops::hooks::sling_many(ctx, &round)?
    };
    // The coordinator also keeps the ledger short: entries every workspace
    // already shows are dropped (SPEC §7).
    if !o.dry_run && crate::ops::coord::prune_due(ctx) {
        plan.pruned = crate::ops::coord::prune_ledger(ctx)?;
    }
    Ok(plan)
}

/// `dispatch --watch`'s summary when it is stopped: the rounds it ran and
/// what they did in all.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stopped {
    pub stopped: bool,
    pub rounds: usize,
    pub slung: usize,
    pub recovered: usize,
}

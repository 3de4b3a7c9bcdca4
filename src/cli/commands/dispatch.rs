//! `bd dispatch`: recover lapsed claims and sling ready work to online agents.

use std::io::Write;

use super::common::{Output, now_from_env, out};
use crate::cli::{render, signals};
use crate::error::Result;
use crate::ops::dispatch::{DispatchOptions, Plan};
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// One round, then exit (the default)
    #[arg(long)]
    pub once: bool,
    /// Keep dispatching every --interval seconds
    #[arg(long, conflicts_with = "once")]
    pub watch: bool,
    #[arg(long, default_value_t = 30)]
    pub interval: u64,
    /// Most items an agent holds (claims and hook)
    #[arg(long, default_value_t = 1)]
    pub per_agent: usize,
    /// Show the plan, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Also sling containers (epics, convoys, molecules)
    #[arg(long)]
    pub containers: bool,
}

pub fn run(ctx: &Session, a: Args, json: bool) -> Result<Output> {
    let opts = DispatchOptions {
        per_agent: a.per_agent,
        dry_run: a.dry_run,
        containers: a.containers,
    };
    if a.per_agent == 0 {
        return Err(ops::usage("--per-agent must be at least 1"));
    }
    if a.watch {
        signals::catch_stop_signals();
    }
    let (mut rounds, mut slung, mut recovered) = (0usize, 0usize, 0usize);
    loop {
        // Each round reads the clock anew: lapses are judged by it.
        let round;
        let c = if rounds == 0 {
            ctx
        } else {
            round = ops::compose::next_round(ctx, now_from_env()?)?;
            &round
        };
        let plan = ops::dispatch::dispatch(c, &opts);
        if a.watch {
            // Each round's writes are committed as it ends (the first runs
            // in the command's own session, finished again when the watch
            // ends: nothing is left to do then).
            ops::compose::finish(c, plan.is_ok());
        }
        if !std::ptr::eq(c, ctx) {
            // A later round is a session of its own: say what it noticed.
            for n in c.notices.borrow().iter() {
                let _ = writeln!(std::io::stderr(), "{}", render::notice(n));
            }
        }
        let plan = plan?;
        rounds += 1;
        slung += plan.slung.len();
        recovered += plan.recovered.len();
        let t = plan_text(&plan, a.dry_run);
        if !a.watch {
            if plan.slung.is_empty() && plan.recovered.is_empty() {
                ctx.notice("Nothing to dispatch.");
            }
            return Ok(out(&plan, t));
        }
        // A watch loop prints each round as it happens (with --json,
        // one JSON object per line), then a summary when stopped.
        if json {
            let _ = writeln!(
                std::io::stdout(),
                "{}",
                serde_json::to_string(&plan).unwrap_or_default()
            );
        } else if !t.is_empty() {
            let _ = write!(std::io::stdout(), "{}", render::terminal_safe(&t));
        }
        let _ = std::io::stdout().flush();
        if signals::stop_requested()
            || signals::sleep_unless_stopped(std::time::Duration::from_secs(a.interval.max(1)))
        {
            ctx.notice(format!(
                "Stopped after {rounds} round(s): slung {slung}, recovered {recovered}"
            ));
            return Ok(out(
                ops::dispatch::Stopped {
                    stopped: true,
                    rounds,
                    slung,
                    recovered,
                },
                "",
            ));
        }
    }
}

/// One round's plan, a line per recovered claim and per sling.
fn plan_text(plan: &Plan, dry_run: bool) -> String {
    let mut t = String::new();
    for id in &plan.gates_resolved {
        t.push_str(&format!("gate {id} resolved\n"));
    }
    for (id, old) in &plan.recovered {
        t.push_str(&format!("recovered {id} from {old}\n"));
    }
    for (id, agent) in &plan.slung {
        t.push_str(&format!(
            "{} {id} -> {agent}\n",
            if dry_run { "would sling" } else { "slung" }
        ));
    }
    t
}

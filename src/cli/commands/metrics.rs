//! `bd metrics [--since DATE]`: the worker loop's numbers per agent and
//! overall, from the run records in the tracker (every clone computes the
//! same ones).

use std::fmt::Write;

use super::common::{Output, out};
use crate::cli::render::{number, one_line};
use crate::error::Result;
use crate::model::budget::thousands;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only runs started at or after DATE (a date, or a span back: 7d, 12h)
    #[arg(long, value_name = "DATE", allow_hyphen_values = true)]
    pub since: Option<String>,
}

fn pct(x: f64) -> String {
    format!("{}%", number((x * 1000.0).round() / 10.0))
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or_else(|| "-".into(), f)
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let m = ops::metrics::metrics(ctx, a.since.as_deref())?;
    let mut t = String::new();
    if m.runs == 0 {
        ctx.notice("No runs recorded yet (bd run writes them)");
    }
    for g in &m.agents {
        let _ = writeln!(
            t,
            "{}: {} run(s), {} done, success {}, median {}, {} tokens, ${:.2}, utilization {}",
            one_line(&g.agent),
            g.runs,
            g.items_done,
            pct(g.success_rate),
            opt(g.median_success_secs, |s| format!("{}s", number(s))),
            thousands(g.tokens),
            g.usd,
            opt(g.utilization, pct)
        );
    }
    let _ = writeln!(
        t,
        "overall: {} run(s) on {} item(s), {} done, {} closed (completion {}), throughput {}/h, {} waiting, {} tokens, ${:.2}",
        m.runs,
        m.items,
        m.items_done,
        m.items_closed,
        opt(m.completion_rate, pct),
        opt(m.throughput_per_hour, number),
        m.items_waiting,
        thousands(m.tokens),
        m.usd
    );
    Ok(out(&m, t))
}

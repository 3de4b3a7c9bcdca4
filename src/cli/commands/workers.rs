//! `bd workers`: the running workers (`bd run`) of this project on this
//! machine, from any of its workspaces: item, time on it, last output.

use super::common::{Output, out};
use crate::cli::render;
use crate::error::Result;
use crate::ops::{self, Session};

pub fn run(ctx: &Session) -> Result<Output> {
    let ws = ops::run::workers(ctx)?;
    let now = ctx.now;
    let age = |t: &Option<String>| {
        t.as_deref()
            .and_then(crate::model::time::parse)
            .map(|n| render::short_age((now - n) / 1_000_000_000))
    };
    let mut t = String::new();
    for v in &ws {
        let w = &v.worker;
        let state = if v.alive { w.state.as_str() } else { "dead" };
        t.push_str(&format!(
            "{} (pid {}) {state}",
            render::one_line(&w.agent),
            w.pid
        ));
        if let Some(item) = &w.item {
            t.push_str(&format!(
                " on {item} {} for {}",
                render::one_line(w.title.as_deref().unwrap_or("")),
                age(&w.run_started_at).unwrap_or_default()
            ));
        }
        t.push_str(&format!(", {} done\n", w.items_done));
        if let Some(l) = &w.last_line {
            t.push_str(&format!(
                "    last output {} ago: {}\n",
                age(&w.last_output_at).unwrap_or_default(),
                render::one_line(l)
            ));
        }
    }
    if ws.is_empty() {
        ctx.notice("no workers running (start one with `bd run -- <agent command>`)");
    }
    Ok(out(&ws, t))
}

//! `bd history` (classic): an issue's versions, one per commit that changed it.

use super::common::{Output, out};
use crate::cli::render::one_line;
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// At most N versions (0: all)
    #[arg(long, short = 'n', default_value_t = 0)]
    pub limit: usize,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let vs = ops::history::versions(ctx, &a.id, a.limit)?;
    if vs.is_empty() {
        ctx.notice(format!("No history for {} (not committed yet)", a.id));
    }
    let field = |v: &serde_json::Value, k: &str| -> String {
        v.get(k)
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .unwrap_or_default()
    };
    let t: String = vs
        .iter()
        .map(|v| {
            let state = match &v.issue {
                Some(i) => format!(
                    "{} P{} [{}] {}",
                    one_line(&field(i, "id")),
                    field(i, "priority"),
                    one_line(&field(i, "status")),
                    one_line(&field(i, "title"))
                ),
                None => "(not in the tracker)".into(),
            };
            format!(
                "{} {} {}\n  {state}\n",
                &v.commit[..v.commit.len().min(10)],
                v.date,
                one_line(&v.committer)
            )
        })
        .collect();
    Ok(out(vs, t))
}

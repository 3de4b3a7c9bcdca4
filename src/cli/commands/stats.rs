//! `bd stats`: counts by status.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Ctx};

pub fn run(ctx: &Ctx) -> Result<Output> {
    let v = ops::query::stats(ctx)?;
    let mut t = String::new();
    for k in [
        "total_issues",
        "open_issues",
        "in_progress_issues",
        "blocked_issues",
        "ready_issues",
        "deferred_issues",
        "closed_issues",
        "tombstone_issues",
        "average_lead_time_hours",
    ] {
        t.push_str(&format!("{:<24} {}\n", k.replace('_', " "), v[k]));
    }
    Ok(out(v, t))
}

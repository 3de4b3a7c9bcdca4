//! `bd stats`: counts by status.

use super::common::{Output, out};
use crate::cli::render;
use crate::error::Result;
use crate::ops::{self, Session};

pub fn run(ctx: &Session) -> Result<Output> {
    let st = ops::query::stats(ctx)?;
    let s = &st.summary;
    let hours = render::number(s.average_lead_time_hours);
    let t: String = [
        ("total_issues", s.total_issues.to_string()),
        ("open_issues", s.open_issues.to_string()),
        ("in_progress_issues", s.in_progress_issues.to_string()),
        ("blocked_issues", s.blocked_issues.to_string()),
        ("ready_issues", s.ready_issues.to_string()),
        ("deferred_issues", s.deferred_issues.to_string()),
        ("closed_issues", s.closed_issues.to_string()),
        ("tombstone_issues", s.tombstone_issues.to_string()),
        ("average_lead_time_hours", hours),
    ]
    .iter()
    .map(|(k, v)| format!("{:<24} {v}\n", k.replace('_', " ")))
    .collect();
    Ok(out(&st, t))
}

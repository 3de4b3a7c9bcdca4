//! `bd statuses` and `bd types`: the values an issue may have here
//! (built-in and configured), and how the sets treat each.

use super::common::{Output, out};
use crate::ops::{self, Session};

pub fn statuses(ctx: &Session) -> Output {
    let l = ops::classic::statuses(ctx);
    let t = table(l.iter().map(|s| (s.name.as_str(), s.category, s.builtin)));
    out(l, t)
}

pub fn types(ctx: &Session) -> Output {
    let l = ops::classic::types(ctx);
    let t = table(l.iter().map(|s| (s.name.as_str(), s.kind, s.builtin)));
    out(l, t)
}

/// One line per value: its name, what it is, and whether it is configured.
fn table<'a>(rows: impl Iterator<Item = (&'a str, &'a str, bool)>) -> String {
    rows.map(|(name, what, builtin)| {
        format!(
            "{name:<14} {what}{}\n",
            if builtin { "" } else { "  (custom)" }
        )
    })
    .collect()
}

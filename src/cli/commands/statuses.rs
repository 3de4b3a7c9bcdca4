//! `bd statuses` and `bd types`: the values an issue may have here
//! (built-in and configured), and how the sets treat each.

use super::common::{Output, out};
use crate::ops::{self, Session};

pub fn statuses(ctx: &Session) -> Output {
    let l = ops::classic::statuses(ctx);
    let t: String = l
        .iter()
        .map(|s| {
            format!(
                "{:<14} {}{}\n",
                s.name,
                s.category,
                if s.builtin { "" } else { "  (custom)" }
            )
        })
        .collect();
    out(l, t)
}

pub fn types(ctx: &Session) -> Output {
    let l = ops::classic::types(ctx);
    let t: String = l
        .iter()
        .map(|s| {
            format!(
                "{:<14} {}{}\n",
                s.name,
                s.kind,
                if s.builtin { "" } else { "  (custom)" }
            )
        })
        .collect();
    out(l, t)
}

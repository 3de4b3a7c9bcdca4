//! `bd checkpoint` (issue 13): a structured note on the item an agent
//! works on, what is done and what is next; `bd prime` shows the latest.

use crate::error::{Error, Result};
use crate::model::record::{Comment, Record};
use crate::ops::Session;

/// `bd checkpoint [ID] TEXT [--next NEXT]`: a structured note on the item
/// (default: the one the actor holds, its hook first): what is done, and
/// what is next. `bd prime` and the next run on the item show the latest.
pub fn checkpoint(
    ctx: &Session,
    id: Option<&str>,
    done: &str,
    next: Option<&str>,
) -> Result<(Record, Comment)> {
    if done.trim().is_empty() {
        return Err(Error::invalid("a checkpoint needs its text: what is done"));
    }
    let id = match id {
        Some(i) => i.to_string(),
        None => {
            let held = crate::ops::prime::held(ctx)?;
            match held.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(crate::ops::usage(
                        "you hold no issue: give one (bd checkpoint ID TEXT)",
                    ));
                }
                more => {
                    return Err(crate::ops::usage(format!(
                        "you hold {}: give the issue (bd checkpoint ID TEXT)",
                        more.join(", ")
                    )));
                }
            }
        }
    };
    let mut text = format!("{}{}", crate::model::record::CHECKPOINT, done.trim());
    if let Some(n) = next.map(str::trim).filter(|n| !n.is_empty()) {
        text.push_str(&format!("\nNext: {n}"));
    }
    crate::ops::labels::comment(ctx, &id, &text, None)
}

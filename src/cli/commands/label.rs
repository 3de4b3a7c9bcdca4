//! `bd label …`: labels.

use clap::Subcommand;

use super::common::{Output, one_or_many, out};
use crate::error::Result;
use crate::ops::write::Outcome;
use crate::ops::{self, Session};

#[derive(Subcommand, Debug)]
pub enum LabelCmd {
    /// Add a label to one or more issues: `label add <id>... <label>`
    Add {
        /// The issues, then the label (last)
        #[arg(required = true, num_args = 2.., value_name = "ID... LABEL")]
        args: Vec<String>,
    },
    /// Remove a label from one or more issues: `label remove <id>... <label>`
    Remove {
        /// The issues, then the label (last)
        #[arg(required = true, num_args = 2.., value_name = "ID... LABEL")]
        args: Vec<String>,
    },
    /// Labels of an issue, or all labels with counts
    List { id: Option<String> },
    /// Every label in use, with how many issues carry it
    ListAll,
}

/// One label of `label list-all` (classic's shape).
#[derive(serde::Serialize)]
struct LabelCount<'a> {
    label: &'a str,
    count: usize,
}

pub fn run(ctx: &Session, l: LabelCmd) -> Result<Output> {
    match l {
        LabelCmd::Add { mut args } => {
            let label = args.pop().unwrap_or_default();
            let os = ops::labels::add(ctx, &args, &label)?;
            for o in os.iter().filter(|o| o.changed) {
                ctx.notice(format!(
                    "Labeled {}: {}",
                    o.record.id(),
                    o.record.labels().join(", ")
                ));
            }
            label_output(ctx, &os)
        }
        LabelCmd::Remove { mut args } => {
            let label = args.pop().unwrap_or_default();
            let os = ops::labels::remove(ctx, &args, &label)?;
            for o in os.iter().filter(|o| o.changed) {
                ctx.notice(format!("Removed label '{label}' from {}", o.record.id()));
            }
            label_output(ctx, &os)
        }
        LabelCmd::ListAll => {
            let m = ops::labels::list(ctx, None)?;
            let t: String = m.iter().map(|(k, n)| format!("{k}\t{n}\n")).collect();
            let all: Vec<LabelCount> = m
                .iter()
                .map(|(label, &count)| LabelCount { label, count })
                .collect();
            Ok(out(all, t))
        }
        LabelCmd::List { id } => {
            let m = ops::labels::list(ctx, id.as_deref())?;
            let t: String = if id.is_some() {
                m.keys().map(|k| format!("{k}\n")).collect()
            } else {
                m.iter().map(|(k, n)| format!("{k}\t{n}\n")).collect()
            };
            Ok(if id.is_some() {
                out(m.keys().collect::<Vec<_>>(), t)
            } else {
                out(m, t)
            })
        }
    }
}

/// `label add|remove`: the issue for one id, a list for several.
fn label_output(ctx: &Session, os: &[Outcome]) -> Result<Output> {
    let records: Vec<_> = os.iter().map(|o| o.record.clone()).collect();
    Ok(one_or_many(ops::query::linked_views(ctx, &records)?, ""))
}

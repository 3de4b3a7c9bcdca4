//! `bd epic …` (classic): epics' progress, and closing the finished ones.

use clap::Subcommand;

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(Subcommand, Debug)]
pub enum EpicCmd {
    /// Each open epic: how many of its children are closed
    Status {
        /// Only epics whose children are all closed
        #[arg(long)]
        eligible_only: bool,
    },
    /// Close the epics whose children are all closed
    CloseEligible {
        /// Say which would be closed, and change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(ctx: &Session, e: EpicCmd) -> Result<Output> {
    match e {
        EpicCmd::Status { eligible_only } => {
            let epics = ops::epics::status(ctx, eligible_only)?;
            if epics.is_empty() {
                ctx.notice("No open epics.");
            }
            let t: String = epics
                .iter()
                .map(|s| {
                    let pct = (s.closed_children * 100)
                        .checked_div(s.total_children)
                        .unwrap_or(0);
                    format!(
                        "{} {} {}\n   {}/{} children closed ({pct}%){}\n",
                        if s.eligible_for_close { "✓" } else { "○" },
                        s.epic.record.id(),
                        crate::cli::render::one_line(&s.epic.record.title()),
                        s.closed_children,
                        s.total_children,
                        if s.eligible_for_close {
                            ": eligible for closure"
                        } else {
                            ""
                        }
                    )
                })
                .collect();
            Ok(out(&epics, t))
        }
        EpicCmd::CloseEligible { dry_run: true } => {
            let epics = ops::epics::status(ctx, true)?;
            if epics.is_empty() {
                ctx.notice("No epics eligible for closure.");
            }
            let t: String = epics
                .iter()
                .map(|s| format!("would close {}\n", s.epic.record.id()))
                .collect();
            Ok(out(&epics, t))
        }
        EpicCmd::CloseEligible { dry_run: false } => {
            let (report, _) = ops::epics::close_eligible(ctx)?;
            for r in &report.refused {
                ctx.warn(format!("not closing {}: {}", r.id, r.reason));
            }
            if report.closed.is_empty() && report.refused.is_empty() {
                ctx.notice("No epics eligible for closure.");
            } else {
                ctx.notice(format!("Closed {} epic(s)", report.count));
            }
            let t: String = report.closed.iter().map(|id| format!("{id}\n")).collect();
            let mut o = out(&report, t);
            // Asked to close what cannot be: not a success (PITFALLS), the
            // others closed all the same.
            if !report.refused.is_empty() {
                o.code = 3;
            }
            Ok(o)
        }
    }
}

//! `bd reserve`, `bd release`, `bd reservations`: file reservations (issue
//! 14), so agents working in parallel do not edit the same files; and the
//! hidden `bd reservations --check-staged` that bd's git pre-commit hook
//! runs.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::reserve::{ReservationMode, ReserveOptions, View};
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct ReserveArgs {
    /// Files or globs from the repository's root (`src/**`, `*.rs`, `docs/api.md`; a folder is all of it)
    #[arg(required = true, value_name = "GLOB")]
    pub globs: Vec<String>,
    /// No other agent may reserve these files or commit to them (the default)
    #[arg(long, conflicts_with = "shared")]
    pub exclusive: bool,
    /// Others may reserve them shared too, none exclusively
    #[arg(long)]
    pub shared: bool,
    /// Why: shown to the agents it stops
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// How long it holds (default: the config's `lease`, 15m); reserve again to renew
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct ReleaseArgs {
    /// Globs to release, as `bd reservations` shows them (none: all of yours)
    #[arg(value_name = "GLOB")]
    pub globs: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct ReservationsArgs {
    /// Lapsed reservations too (until they are pruned)
    #[arg(long)]
    pub all: bool,
    /// Refuse (exit 3) when the staged files touch another agent's exclusive reservation (the pre-commit hook)
    #[arg(long, hide = true, conflicts_with = "all")]
    pub check_staged: bool,
}

pub fn reserve(ctx: &Session, a: ReserveArgs) -> Result<Output> {
    let o = ReserveOptions {
        globs: a.globs,
        mode: if a.shared {
            ReservationMode::Shared
        } else {
            ReservationMode::Exclusive
        },
        reason: a.reason,
        ttl: a.ttl,
    };
    let v = ops::reserve::reserve(ctx, &o)?;
    let text = format!("{}\n", v.id);
    Ok(out(&v, text))
}

pub fn release(ctx: &Session, a: ReleaseArgs) -> Result<Output> {
    let r = ops::reserve::release(ctx, &a.globs)?;
    let text: String = r.released.iter().map(|g| format!("{g}\n")).collect();
    Ok(out(&r, text))
}

pub fn reservations(ctx: &Session, a: ReservationsArgs) -> Result<Output> {
    if a.check_staged {
        if std::env::var("BD_RESERVATIONS").is_ok_and(|v| v.trim() == "off") {
            ctx.note("BD_RESERVATIONS=off: file reservations not checked");
            return Ok(out(ops::reserve::Checked { checked: 0 }, ""));
        }
        let c = ops::reserve::check_staged(ctx)?;
        return Ok(out(&c, ""));
    }
    let list = ops::reserve::list(ctx, a.all)?;
    if list.is_empty() {
        ctx.notice("No file reservations");
    }
    let text: String = list.iter().map(line).collect();
    Ok(out(&list, text))
}

/// One reservation, one line: holder, mode, until, globs, reason.
fn line(v: &View) -> String {
    let reason = v
        .reason
        .as_deref()
        .map(|r| format!("  ({})", crate::cli::render::one_line(r)))
        .unwrap_or_default();
    let lapsed = if v.lapsed { " (lapsed)" } else { "" };
    format!(
        "{}  {}  until {}{lapsed}  {}{reason}\n",
        v.agent,
        v.mode.word(),
        v.until,
        v.globs.join(" ")
    )
}

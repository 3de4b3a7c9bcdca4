//! `bd duplicate ID --of CANONICAL`, `bd supersede ID --with NEW` (classic):
//! the edge, and the issue closed, in one write.

use serde::Serialize;

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct DuplicateArgs {
    pub id: String,
    /// The canonical issue
    #[arg(long, required = true)]
    pub of: String,
}

#[derive(clap::Args, Debug)]
pub struct SupersedeArgs {
    pub id: String,
    /// The issue that replaces it
    #[arg(long, required = true)]
    pub with: String,
}

/// Classic's report.
#[derive(Serialize)]
struct Duplicated<'a> {
    duplicate: &'a str,
    canonical: &'a str,
    status: &'a str,
}

#[derive(Serialize)]
struct Superseded<'a> {
    superseded: &'a str,
    replacement: &'a str,
    status: &'a str,
}

pub fn duplicate(ctx: &Session, a: DuplicateArgs) -> Result<Output> {
    let os = ops::edit::close_replaced(ctx, &a.id, &a.of, "duplicates")?;
    let (id, to) = ends(&os);
    ctx.notice(format!("Marked {id} as a duplicate of {to} (closed)"));
    Ok(out(
        Duplicated {
            duplicate: &id,
            canonical: &to,
            status: "closed",
        },
        "",
    ))
}

pub fn supersede(ctx: &Session, a: SupersedeArgs) -> Result<Output> {
    let os = ops::edit::close_replaced(ctx, &a.id, &a.with, "supersedes")?;
    let (id, to) = ends(&os);
    ctx.notice(format!("Marked {id} as superseded by {to} (closed)"));
    Ok(out(
        Superseded {
            superseded: &id,
            replacement: &to,
            status: "closed",
        },
        "",
    ))
}

/// The issue closed and what replaces it (its full IDs).
fn ends(os: &[ops::write::Outcome]) -> (String, String) {
    let rec = &os[0].record;
    let to = rec
        .deps()
        .into_iter()
        .rev()
        .find(|d| d.kind == "duplicates" || d.kind == "supersedes")
        .map(|d| d.depends_on_id)
        .unwrap_or_default();
    (rec.id().to_string(), to)
}

//! `bd comments`: the comments of an issue.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let cs = ops::labels::comments(ctx, &a.id)?;
    let t: String = cs
        .iter()
        .map(|c| format!("[{}] {}:\n{}\n\n", c.created_at, c.author, c.text))
        .collect();
    Ok(out(&cs, t))
}

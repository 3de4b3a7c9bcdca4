//! `bd prime`: the start-of-session summary for an agent.

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Ctx};

pub fn run(ctx: &Ctx) -> Result<Output> {
    let p = ops::prime::prime(ctx)?;
    Ok(out(p.json, p.text))
}

//! `bd merge`: the git merge driver (hidden).

use super::common::{Output, out};
use crate::error::Result;
use crate::ops;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub base: std::path::PathBuf,
    pub ours: std::path::PathBuf,
    pub theirs: std::path::PathBuf,
    /// The path in the repository (for messages and file kind)
    pub path: Option<String>,
}

pub fn run(a: Args) -> Result<Output> {
    ops::merge_driver::run(&a.base, &a.ours, &a.theirs, a.path.as_deref()).map(|j| out(j, ""))
}

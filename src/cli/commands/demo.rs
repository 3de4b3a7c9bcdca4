//! `bd demo`: play the whole story in a throwaway folder.

use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use super::common::{Output, out};
use crate::error::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A new or empty folder to play in (default: a new temp folder)
    pub dir: Option<PathBuf>,
}

pub fn run(a: Args, json: bool) -> Result<Output> {
    // The story streams as it plays; with --json, to stderr, so stdout
    // holds the one JSON document.
    let sink: Box<dyn Write> = if json {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    crate::cli::demo::run(a.dir.as_deref(), sink).map(|d| out(json!({"dir": d, "ok": true}), ""))
}

//! `bd note ID TEXT…`: add a line to an issue's notes (classic; the same
//! as `bd update ID --append-notes TEXT`).

use std::path::PathBuf;

use super::common::{Output, outcome_list, read_text_arg};
use crate::error::Result;
use crate::ops::{self, Session, edit::UpdateOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// The note (several words are joined with spaces)
    pub text: Vec<String>,
    /// Read the note from a file
    #[arg(long, value_name = "FILE", conflicts_with_all = ["text", "stdin"])]
    pub file: Option<PathBuf>,
    /// Read the note from stdin
    #[arg(long, conflicts_with = "text")]
    pub stdin: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let text = match (&a.file, a.stdin) {
        (Some(f), _) => read_text_arg(f)?,
        (None, true) => read_text_arg(std::path::Path::new("-"))?,
        (None, false) => a.text.join(" "),
    };
    let text = text.trim_end_matches('\n').to_string();
    if text.trim().is_empty() {
        return Err(ops::usage("give the note's text (or --file, --stdin)"));
    }
    let o = UpdateOptions {
        ids: vec![a.id],
        append_notes: Some(text),
        ..UpdateOptions::default()
    };
    outcome_list(ctx, &ops::edit::update(ctx, &o)?, "Noted")
}

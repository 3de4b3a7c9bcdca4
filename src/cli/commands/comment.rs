//! `bd comment`: add a comment to an issue.

use std::path::PathBuf;

use super::common::{Output, out, read_text_arg};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// The text (or use --file)
    pub text: Option<String>,
    /// Read the text from a file (`-` for stdin)
    #[arg(long)]
    pub file: Option<PathBuf>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let text = match (a.text, a.file) {
        (Some(t), None) => t,
        (None, Some(f)) => read_text_arg(&f)?,
        (Some(_), Some(_)) => return Err(ops::usage("give the text or --file, not both")),
        (None, None) => {
            return Err(ops::usage(
                "give the comment text, or --file FILE (`-` for stdin)",
            ));
        }
    };
    let (rec, c) = ops::labels::comment(ctx, &a.id, &text)?;
    ctx.notice(format!("Commented on {}", rec.id()));
    Ok(out(&c, ""))
}

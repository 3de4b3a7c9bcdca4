//! `bd comment`: add a comment to an issue (also `bd comments add`).

use std::path::PathBuf;

use super::common::{Output, out, read_text_arg};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// The text (several words are joined with spaces; or use --file / --stdin)
    pub text: Vec<String>,
    /// Read the text from a file (`-` for stdin)
    #[arg(short = 'f', long, conflicts_with = "stdin")]
    pub file: Option<PathBuf>,
    /// Read the text from stdin
    #[arg(long)]
    pub stdin: bool,
    /// The comment's author (default: the actor)
    #[arg(short = 'a', long)]
    pub author: Option<String>,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let file = a.file.or(a.stdin.then(|| PathBuf::from("-")));
    let text = match (a.text.is_empty(), file) {
        (false, None) => a.text.join(" "),
        (true, Some(f)) => read_text_arg(&f)?,
        (false, Some(_)) => return Err(ops::usage("give the text or --file, not both")),
        (true, None) => {
            return Err(ops::usage(
                "give the comment text, or --file FILE (`-` for stdin)",
            ));
        }
    };
    let (rec, c) = ops::labels::comment(ctx, &a.id, &text, a.author.as_deref())?;
    ctx.notice(format!("Commented on {}", rec.id()));
    Ok(out(&c, ""))
}

//! `bd export`: issues as JSONL.

use std::path::PathBuf;

use serde_json::Value;

use super::common::{Output, json_array, out, streamed};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write to this file instead of stdout
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(ctx: &Session, a: Args, json: bool) -> Result<Output> {
    if let Some(path) = a.output {
        let to = ops::compose::export_to(ctx, &path)?;
        ctx.notice(format!(
            "Exported {} issues to {}",
            to.exported,
            to.path.display()
        ));
        return Ok(out(to, ""));
    }
    // Written line by line as it is printed: the JSONL, or (--json) an
    // array of its lines' values.
    let src = ops::compose::export_source(ctx)?;
    Ok(streamed(move |w| {
        if json {
            json_array(w, |put| {
                src.each_line(|line| match serde_json::from_str::<Value>(line) {
                    Ok(v) => put(v),
                    Err(_) => Ok(()),
                })
            })
        } else {
            src.each_line(|line| {
                w.write_all(line.as_bytes())
                    .and_then(|()| w.write_all(b"\n"))
                    .map_err(|e| crate::error::Error::io("-", e))
            })
        }
    }))
}

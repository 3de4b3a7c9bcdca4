//! `bd completion SHELL`: a shell completion script.

use serde_json::json;

use super::common::{Output, out};
use crate::cli::args::whole_command;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub shell: clap_complete::Shell,
}

pub fn run(a: Args) -> Output {
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut whole_command(), "bd", &mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    out(json!({"shell": a.shell.to_string(), "script": text}), text)
}

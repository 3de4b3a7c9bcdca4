//! `bd list`: issues, one line each (`--long`: a few lines each).

use super::common::{Output, filter, lines, listing};
use crate::cli::args::FilterArgs;
use crate::cli::render;
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Include closed issues
    #[arg(long)]
    pub all: bool,
    /// Only ready work (as `bd ready` has it)
    #[arg(long)]
    pub ready: bool,
    /// Several lines per issue: its description's first line, dates, edges
    #[arg(long)]
    pub long: bool,
    /// Classic's tree layout switch (`--tree=false`); the list here is flat
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub tree: Option<bool>,
    /// Classic: a flat list (the layout here)
    #[arg(long)]
    pub flat: bool,
    /// Classic: a tree with symbols; accepted, the list stays flat
    #[arg(long)]
    pub pretty: bool,
    /// Classic: no pager (there is none)
    #[arg(long, hide = true)]
    pub no_pager: bool,
}

pub fn run(ctx: &Session, a: Args, json: bool) -> Result<Output> {
    let mut f = filter(a.filter, a.all);
    if a.ready {
        f.statuses.push("ready".into());
    }
    let l = ops::query::list(ctx, &f)?;
    // The text is not printed under --json.
    let t = if json {
        String::new()
    } else if a.long {
        render::long_lines(&l)?
    } else {
        lines(&l.rows)
    };
    listing(json, l, t)
}

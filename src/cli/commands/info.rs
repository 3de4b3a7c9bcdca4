//! `bd info [--schema]`: where the tracker is and what it holds (classic).

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also describe the issue schema: fields, statuses, types, edge types
    #[arg(long)]
    pub schema: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let info = ops::classic::info(ctx, a.schema)?;
    let mut t = format!(
        "tracker:   {}\nissues:    {}\nprefix:    {}\nversion:   bd {} (strand {})\n",
        info.database, info.issue_count, info.prefix, info.version, info.strand
    );
    if let Some(s) = &info.schema {
        t.push_str(&format!(
            "fields:    {}\nstatuses:  {}\ntypes:     {}\nedges:     {}\n",
            s.fields.join(", "),
            s.statuses.join(", "),
            s.types.join(", "),
            s.dependency_types.join(", ")
        ));
    }
    Ok(out(info, t))
}

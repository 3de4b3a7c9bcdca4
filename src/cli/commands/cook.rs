//! `bd cook NAME` (issue 16): a formula resolved, as JSON (classic prints
//! JSON with or without `--json`): loops unrolled and advice woven in, its
//! `{{variables}}` kept (`--mode compile`) or filled in (`--mode runtime`,
//! the default once a `--var` is given).

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The formula's name
    pub name: String,
    /// A variable's value (name=value; repeatable); implies --mode runtime
    #[arg(long = "var")]
    pub vars: Vec<String>,
    /// compile (keep {{variables}}) or runtime (fill them in)
    #[arg(long)]
    pub mode: Option<String>,
    /// Print the steps as a tree instead of the JSON
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(ctx: &Session, a: Args) -> Result<Output> {
    let vars = ops::formula::parse_vars(&a.vars)?;
    let c = ops::formula::cook(ctx, &a.name, &vars, a.mode.as_deref())?;
    let text = if a.dry_run {
        let mut t = format!(
            "Would cook formula {} ({} mode): {} steps\n",
            c.formula,
            c.mode,
            c.steps.len()
        );
        fn tree(t: &mut String, s: &[crate::model::formula::Step], depth: usize) {
            for x in s {
                t.push_str(&format!(
                    "{}{}: {}",
                    "  ".repeat(depth + 1),
                    x.id,
                    crate::cli::render::one_line(&x.title)
                ));
                if !x.needs.is_empty() {
                    t.push_str(&format!(" [needs {}]", x.needs.join(", ")));
                }
                t.push('\n');
                tree(t, &x.children, depth + 1);
            }
        }
        tree(&mut t, &c.steps, 0);
        t
    } else {
        serde_json::to_string_pretty(&c).unwrap_or_default() + "\n"
    };
    Ok(out(c, text))
}

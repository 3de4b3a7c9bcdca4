//! `bd config …`: read and change .beads/config.toml.

use clap::Subcommand;

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    Get { key: String },
    Set { key: String, value: String },
    List,
    Unset { key: String },
}

pub fn run(ctx: &Session, c: ConfigCmd) -> Result<Output> {
    match c {
        ConfigCmd::Get { key } => {
            let r = ops::compose::config_get(ctx, &key)?;
            let text = r.value.clone().unwrap_or_default();
            Ok(out(r, text))
        }
        ConfigCmd::Set { key, value } => {
            let r = ops::compose::config_set(ctx, &key, &value)?;
            if r.changed == Some(true) {
                ctx.notice(format!("Set {key} = {value}"));
            } else {
                ops::unchanged(ctx, format!("{key} is already {value}"));
            }
            Ok(out(r, ""))
        }
        ConfigCmd::List => {
            let l = ops::admin::config_list(ctx);
            let t: String = l
                .entries
                .iter()
                .map(|(k, v)| format!("{k} = {v}\n"))
                .collect();
            Ok(out(l, t))
        }
        ConfigCmd::Unset { key } => {
            let r = ops::compose::config_unset(ctx, &key)?;
            if r.changed != Some(true) {
                ops::unchanged(ctx, format!("{key} was not set"));
            }
            Ok(out(r, ""))
        }
    }
}

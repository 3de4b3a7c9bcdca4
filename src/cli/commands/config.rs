//! `bd config …`: read and change .beads/config.toml.

use clap::Subcommand;
use serde_json::json;

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
            let v = ops::admin::config_get(ctx, &key)?;
            Ok(out(json!({"key": key, "value": v}), v))
        }
        ConfigCmd::Set { key, value } => {
            let changed = ops::compose::config_set(ctx, &key, &value)?;
            if changed {
                ctx.notice(format!("Set {key} = {value}"));
            } else {
                ops::unchanged(ctx, format!("{key} is already {value}"));
            }
            Ok(out(
                json!({"key": key, "value": value, "changed": changed}),
                "",
            ))
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
            let changed = ops::admin::config_edit(ctx, |cfg| cfg.unset(&key))?;
            if !changed {
                ops::unchanged(ctx, format!("{key} was not set"));
            }
            Ok(out(json!({"key": key, "changed": changed}), ""))
        }
    }
}

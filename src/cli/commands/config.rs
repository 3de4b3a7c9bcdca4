//! `bd config …`: read and change .beads/config.toml, or with `--machine`
//! this machine's own settings (another project's remote).

use clap::Subcommand;

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Session};

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    Get {
        key: String,
        /// This machine's setting (projects.<name>.remote), not config.toml's
        #[arg(long)]
        machine: bool,
    },
    Set {
        key: String,
        value: String,
        /// Set it for this machine only (projects.<name>.remote), never committed
        #[arg(long)]
        machine: bool,
    },
    List {
        /// This machine's settings, not config.toml's
        #[arg(long)]
        machine: bool,
    },
    Unset {
        key: String,
        /// This machine's setting, not config.toml's
        #[arg(long)]
        machine: bool,
    },
}

pub fn run(ctx: &Session, c: ConfigCmd) -> Result<Output> {
    match c {
        ConfigCmd::Get { key, machine } => {
            let r = if machine {
                ops::compose::machine_config_get(ctx, &key)?
            } else {
                ops::compose::config_get(ctx, &key)?
            };
            let text = r.value.clone().unwrap_or_default();
            Ok(out(r, text))
        }
        ConfigCmd::Set {
            key,
            value,
            machine,
        } => {
            let r = if machine {
                ops::compose::machine_config_set(ctx, &key, &value)?
            } else {
                ops::compose::config_set(ctx, &key, &value)?
            };
            if r.changed == Some(true) {
                ctx.notice(format!("Set {key} = {value}"));
            } else {
                ops::unchanged(ctx, format!("{key} is already {value}"));
            }
            Ok(out(r, ""))
        }
        ConfigCmd::List { machine } => {
            let l = if machine {
                ops::compose::machine_config_list(ctx)?
            } else {
                ops::relay::warn_committed_remotes(ctx);
                ops::admin::config_list(ctx)
            };
            let t: String = l
                .entries
                .iter()
                .map(|(k, v)| format!("{k} = {v}\n"))
                .collect();
            Ok(out(l, t))
        }
        ConfigCmd::Unset { key, machine } => {
            let r = if machine {
                ops::compose::machine_config_unset(ctx, &key)?
            } else {
                ops::compose::config_unset(ctx, &key)?
            };
            if r.changed != Some(true) {
                ops::unchanged(ctx, format!("{key} was not set"));
            }
            Ok(out(r, ""))
        }
    }
}

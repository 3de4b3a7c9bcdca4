//! The merge driver config: `.gitattributes` routes `.beads/*.jsonl` and
//! `.beads/hooks/*.json` to the `beads` driver, and the clone's git config
//! must say `merge.beads.driver = bd merge %O %A %B %P`. Git keeps that config
//! per clone, so fresh clones lack it; every command checks and repairs it.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::git::GitDirs;

pub const DRIVER: &str = "bd merge %O %A %B %P";
pub const DRIVER_NAME: &str = "strand JSONL merge";

/// The driver command that runs the `bd` at `program` (quoted for the
/// `sh -c` git runs drivers with), for a merge that must use this very
/// binary rather than whichever `bd` is first on the PATH.
pub fn command(program: &Path) -> String {
    format!(
        "{} merge %O %A %B %P",
        shell_quote(&program.to_string_lossy())
    )
}

/// Quote `s` as one word for `sh`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// What the driver config was before a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverState {
    Ok,
    Missing,
    Different(String),
}

pub fn state(dirs: &GitDirs) -> Result<DriverState> {
    let cfg = super::read_config(dirs)?;
    Ok(match cfg.string("merge.beads.driver") {
        None => DriverState::Missing,
        Some(v) if v == DRIVER => DriverState::Ok,
        Some(v) => DriverState::Different(v.to_string()),
    })
}

/// Set the driver when missing or different; returns the state found. Takes
/// git's own `config.lock`, so a concurrent `git config` is never clobbered.
pub fn ensure(dirs: &GitDirs) -> Result<DriverState> {
    let found = state(dirs)?;
    if found == DriverState::Ok {
        return Ok(found);
    }
    let path = dirs.common_dir.join("config");
    let lock = dirs.common_dir.join("config.lock");
    let mut cfg = super::read_config(dirs)?;
    let set = |cfg: &mut gix::config::File, key: &str, v: &str| {
        cfg.set_raw_value_by("merge", Some("beads".into()), key, v)
            .map(|_| ())
            .map_err(|e| Error::invalid(format!("cannot set merge.beads.{key}: {e}")))
    };
    set(&mut cfg, "name", DRIVER_NAME)?;
    set(&mut cfg, "driver", DRIVER)?;
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock)
    {
        Ok(f) => f,
        // Git is writing its config right now: try again on the next command.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(found),
        Err(e) => return Err(Error::io(&lock, e)),
    };
    let mut text = Vec::new();
    let written = cfg
        .write_to(&mut text)
        .and_then(|_| {
            if !text.ends_with(b"\n") {
                text.push(b'\n');
            }
            f.write_all(&text)
        })
        .and_then(|_| f.flush())
        .and_then(|_| f.sync_all())
        .and_then(|_| std::fs::rename(&lock, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&lock);
        return Err(Error::io(&path, e));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_quotes_the_program_for_sh() {
        assert_eq!(
            command(Path::new("/opt/my bd/bd")),
            "'/opt/my bd/bd' merge %O %A %B %P"
        );
        assert_eq!(
            command(Path::new("/tmp/it's/bd")),
            "'/tmp/it'\\''s/bd' merge %O %A %B %P"
        );
    }
}

//! This machine's approval of command gates (issue 16): a command gate
//! comes from committed or imported data, so it runs only once this
//! machine has approved its exact program (`bd gate trust`). Approvals
//! live in the project home (`gate-trust.json`), never in the tracker:
//! another clone, or a changed command, needs approval again.
//!
//! A gate check also takes `gate-<escaped id>.lock` here, so two
//! workspaces of the project on this machine never check (and run) one
//! gate at once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::registry::write_json;
use super::{ProjectHome, escape};
use crate::error::{Error, Result};
use crate::files::lock::LockGuard;

const FILE: &str = "gate-trust.json";

/// One approval: the gate, the fingerprint of what it runs, and, for the
/// reader, the program itself, who approved it and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub fingerprint: String,
    pub program: String,
    pub by: String,
    pub at: String,
}

/// Approvals by gate id.
pub type Trust = BTreeMap<String, Approval>;

pub fn load(home: &ProjectHome) -> Result<Trust> {
    let path = home.path(FILE);
    match crate::files::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid(format!("{}: not a gate approval file: {e}", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Trust::new()),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Change the approvals under the home's lock of that file.
pub fn update<T>(home: &ProjectHome, f: impl FnOnce(&mut Trust) -> T) -> Result<T> {
    let _g = home.lock("gate-trust")?;
    let mut t = load(home)?;
    let out = f(&mut t);
    write_json(&home.path(FILE), &t)?;
    Ok(out)
}

/// The lock one gate's check holds.
pub fn lock(home: &ProjectHome, id: &str) -> Result<LockGuard> {
    home.lock(&format!("gate-{}", escape(id)))
}

/// A fresh log for one run of a gate's program: `gates/<escaped id>.log`.
pub fn log_file(home: &ProjectHome, id: &str) -> Result<std::fs::File> {
    let dir = home.path("gates");
    crate::files::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join(format!("{}.log", escape(id)));
    crate::files::write(&path, b"").map_err(|e| Error::io(&path, e))?;
    crate::files::open_append(&path).map_err(|e| Error::io(&path, e))
}

//! What remote coordination (issue 14) keeps on this machine, in the
//! project home:
//! - `remote-secret`: 32 random hex bytes, made once; the opaque ids a
//!   claim commit carries (workspace, machine) are hashes of it, so nothing
//!   pushed names a host or a path.
//! - `remote-pending.json`: claim changes the remote has not settled with
//!   the tracker (`{"claims": {ID: {issue, agent, state, tip, at}}}`), under
//!   `remote.lock`. A claim pushed is added before its push and removed after
//!   its tracker write, so a process killed in between leaves it for the
//!   next coordinated write to repair (its remote claim is released); a
//!   change made offline (`--offline-claim`, an offline close or release)
//!   has no `tip` and waits for `bd sync`, which arbitrates it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ProjectHome;
use super::registry::{load_json, load_json_locked, write_json};
use crate::error::{Error, Result};
use crate::model::claim::State;

const SECRET: &str = "remote-secret";
const PENDING: &str = "remote-pending.json";
const LOCK: &str = "remote";

/// This home's secret, made when missing (under the lock, so two first
/// commands agree on one).
pub fn secret(home: &ProjectHome) -> Result<String> {
    let path = home.path(SECRET);
    let valid = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Ok(s) = crate::files::read_to_string(&path)
        && valid(s.trim())
    {
        return Ok(s.trim().to_string());
    }
    let _guard = home.lock(LOCK)?;
    if let Ok(s) = crate::files::read_to_string(&path)
        && valid(s.trim())
    {
        return Ok(s.trim().to_string());
    }
    let hex = random_hex(32)?;
    crate::files::atomic::write(&path, format!("{hex}\n").as_bytes())?;
    Ok(hex)
}

/// `n` random bytes from the system, as hex.
pub fn random_hex(n: usize) -> Result<String> {
    use std::io::Read;
    let mut bytes = vec![0u8; n];
    let mut f = std::fs::File::open("/dev/urandom").map_err(|e| Error::io("/dev/urandom", e))?;
    f.read_exact(&mut bytes)
        .map_err(|e| Error::io("/dev/urandom", e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A claim change the remote and the tracker have not settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub issue: String,
    pub agent: String,
    /// What the change made of the claim.
    #[serde(default = "claimed")]
    pub state: State,
    /// The claim commit the push put at the tip; empty for a change made
    /// offline, not pushed yet.
    #[serde(default)]
    pub tip: String,
    /// The claim epoch of the tracker write it goes with.
    #[serde(default)]
    pub epoch: i64,
    pub at: String,
}

fn claimed() -> State {
    State::Claimed
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PendingFile {
    #[serde(default)]
    claims: BTreeMap<String, Pending>,
}

/// The pending claims (a missing file: none).
pub fn pending(home: &ProjectHome) -> (Vec<Pending>, Option<String>) {
    let path = home.path(PENDING);
    if !path.exists() {
        return (vec![], None);
    }
    let (f, warn): (PendingFile, _) = load_json(home, LOCK, &path);
    (f.claims.into_values().collect(), warn)
}

/// Record pushes about to happen.
pub fn add_pending(home: &ProjectHome, items: &[Pending]) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let _guard = home.lock(LOCK)?;
    let path = home.path(PENDING);
    let (mut f, _): (PendingFile, _) = load_json_locked(&path)?;
    for p in items {
        f.claims.insert(p.issue.clone(), p.clone());
    }
    write_json(&path, &f)
}

/// Forget pending claims of `issues` (done, or given up); the file goes
/// when empty.
pub fn clear_pending(home: &ProjectHome, issues: &[&str]) -> Result<()> {
    let path = home.path(PENDING);
    if issues.is_empty() || !path.exists() {
        return Ok(());
    }
    let _guard = home.lock(LOCK)?;
    let (mut f, _): (PendingFile, _) = load_json_locked(&path)?;
    let before = f.claims.len();
    for i in issues {
        f.claims.remove(*i);
    }
    if f.claims.len() == before {
        return Ok(());
    }
    if f.claims.is_empty() {
        return crate::files::remove_file(&path).map_err(|e| Error::io(&path, e));
    }
    write_json(&path, &f)
}

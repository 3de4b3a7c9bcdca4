//! Coordination through the git remote (issue 14; docs/DESIGN.md
//! "Coordination through the remote"): whether a command coordinates
//! through the remote, which remote and how it holds claims, the opaque
//! ids a claim commit carries, and the network rule (`--offline`).

use crate::error::{Error, Result};
use crate::ops::Session;

/// How the remote holds claims (`remote_layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// One ref per item, `refs/beads/claims/<id>`.
    Refs,
    /// One branch, `beads/claims`, holding the whole table (hosts that
    /// refuse `refs/beads/*`).
    Branch,
}

/// The remote that arbitrates, for a command in remote coordination.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Arbiter {
    /// The git remote's name (or a URL), as `git push` takes it.
    pub remote: String,
    pub layout: Layout,
}

/// Whether this command coordinates through the remote: `coordination =
/// "remote"` in config.toml, or `--remote`.
pub fn enabled(ctx: &Session) -> bool {
    ctx.env.remote || ctx.config.get_str("coordination") == Some("remote")
}

/// The arbiter of this command, `None` outside remote coordination. The
/// remote is `remote` in config.toml, else the branch's upstream remote,
/// else `origin`; a remote git does not know is an error naming it.
pub fn arbiter(ctx: &Session) -> Result<Option<Arbiter>> {
    if !enabled(ctx) {
        return Ok(None);
    }
    let layout = match ctx.config.get_str("remote_layout") {
        Some("branch") => Layout::Branch,
        _ => Layout::Refs,
    };
    let named = ctx
        .config
        .get_str("remote")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let remote = match named {
        Some(r) => r,
        None => upstream_remote(ctx)?.unwrap_or_else(|| "origin".into()),
    };
    if !crate::git::remote::is_remote(&ctx.ws.root, &remote)? {
        return Err(Error::Invalid {
            msg: format!(
                "coordination is \"remote\", and git has no remote '{remote}' in {}",
                ctx.ws.root.display()
            ),
            hint: Some(
                "add it (`git remote add origin URL`), name another (`bd config set remote NAME`), or coordinate on this machine (`bd config set coordination machine`)"
                    .into(),
            ),
        });
    }
    Ok(Some(Arbiter { remote, layout }))
}

fn upstream_remote(ctx: &Session) -> Result<Option<String>> {
    let Some(branch) = crate::git::remote::branch(&ctx.ws.root)? else {
        return Ok(None);
    };
    Ok(crate::git::remote::upstream_of(&ctx.ws.root, &branch)?.map(|u| u.remote))
}

/// The refusal of a command that must ask the remote while the network is
/// forbidden (`--offline`/`--sandbox`): exit 1, naming what and why.
pub fn offline_refusal(what: &str) -> Error {
    Error::Invalid {
        msg: format!(
            "{what} asks the git remote in remote coordination, and --offline keeps this command off the network"
        ),
        hint: Some(
            "run it with the network, or `--offline-claim` to claim locally (`bd sync` arbitrates later)"
                .into(),
        ),
    }
}

/// The opaque ids a claim commit carries: (workspace, machine), SHA-256 of
/// this home's secret with the workspace's root and with nothing, so a
/// public remote learns neither a host name nor a path, yet one holder can
/// tell its own claims.
pub fn opaque_ids(ctx: &Session) -> Result<(String, String)> {
    use sha2::{Digest, Sha256};
    let Some(home) = ctx.home()? else {
        return Err(Error::invalid(
            "remote coordination needs the project home (coordination is \"workspace\" here)",
        ));
    };
    let secret = crate::home::remote::secret(&home)?;
    let hash = |what: &[u8]| {
        let mut h = Sha256::new();
        h.update(secret.as_bytes());
        h.update([0]);
        h.update(what);
        h.finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let root = std::fs::canonicalize(&ctx.ws.root).unwrap_or_else(|_| ctx.ws.root.clone());
    Ok((hash(root.as_os_str().as_encoded_bytes()), hash(b"machine")))
}

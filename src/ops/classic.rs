//! What classic beads tools read from a workspace besides the tracker:
//! the version line (`bd version 1.0.5 (strand 0.1.0)`) and
//! `.beads/metadata.json`, by which classic clients (beads-mcp, beads-ui)
//! find a workspace (docs/COMPATIBILITY.md).

use crate::error::{Error, Result};
use crate::files::atomic;
use crate::store::Workspace;

/// The classic CLI contract strand follows (its reference: classic bd
/// v1.0.5's command and JSON documentation).
pub const CLASSIC_VERSION: &str = "1.0.5";

/// `bd version`: the classic contract first (clients compare it with the
/// version they need), then strand's own.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Version {
    pub version: &'static str,
    pub strand: &'static str,
    pub name: &'static str,
    pub implementation: &'static str,
}

pub fn version() -> Version {
    Version {
        version: CLASSIC_VERSION,
        strand: env!("CARGO_PKG_VERSION"),
        name: "bd",
        implementation: "strand",
    }
}

/// The file classic clients look for in `.beads/`.
pub const METADATA: &str = "metadata.json";

/// Write `.beads/metadata.json` where it is missing (a new tracker), or add
/// the keys strand's tracker needs to a classic one (kept otherwise: its
/// `backend`, `database`, … stay for the classic tools that read them).
/// Returns what it did, if anything: `created` or `extended`.
pub fn ensure_metadata(ws: &Workspace) -> Result<Option<&'static str>> {
    let path = ws.beads.join(METADATA);
    let text = match crate::files::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&path, e)),
    };
    let (mut meta, did) = match &text {
        None => (serde_json::Map::new(), "created"),
        Some(t) => match serde_json::from_str::<serde_json::Value>(t) {
            Ok(serde_json::Value::Object(m)) => (m, "extended"),
            _ => {
                return Err(Error::Invalid {
                    msg: format!("{} is not a JSON object", path.display()),
                    hint: Some("fix it by hand or remove it; `bd init` writes a new one".into()),
                });
            }
        },
    };
    // `backend` and `database` are left alone: the classic binary picks its
    // storage by them, and strand reads only the files.
    let mut changed = false;
    for (k, v) in [("jsonl_export", "issues.jsonl"), ("tracker", "strand")] {
        if !meta.contains_key(k) {
            meta.insert(k.into(), v.into());
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    let mut out = serde_json::to_string_pretty(&meta).unwrap_or_default();
    out.push('\n');
    atomic::write(&path, out.as_bytes())?;
    Ok(Some(did))
}

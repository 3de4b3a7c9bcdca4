//! Hook files (SPEC §7): `.beads/hooks/<agent>.json`, the work pinned to an
//! agent, committed and merged as a set (the `beads` merge driver runs
//! [`merge_hook`]). Read and written without following links (`files`); the
//! verbs that put work on a hook are `ops::hooks`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files::{atomic, escape, unescape};
use crate::store::Workspace;

/// One hook file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Hook {
    pub agent: String,
    pub items: Vec<String>,
    #[serde(default)]
    pub attached_by: String,
    #[serde(default)]
    pub attached_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Hook {
    /// The compact one-line form the file holds.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut h = self.clone();
        h.items.sort();
        h.items.dedup();
        let mut b = serde_json::to_vec(&h).expect("a hook serializes");
        b.push(b'\n');
        b
    }
}

pub fn hook_path(ws: &Workspace, agent: &str) -> PathBuf {
    ws.beads
        .join("hooks")
        .join(format!("{}.json", escape(agent)))
}

/// Whether this workspace has a hook file for `agent`.
pub fn has_hook_file(ws: &Workspace, agent: &str) -> bool {
    hook_path(ws, agent).exists()
}

/// The agent names the hook files of this workspace are named by (their
/// escaped stems; the files are not read).
pub fn hook_names(ws: &Workspace) -> Vec<String> {
    let Ok(rd) = crate::files::read_dir(ws.beads.join("hooks")) else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            unescape(name.strip_suffix(".json")?)
        })
        .collect()
}

/// The agents with a hook file in this workspace (unreadable files skipped).
pub fn hook_agents(ws: &Workspace) -> Vec<String> {
    let Ok(rd) = crate::files::read_dir(ws.beads.join("hooks")) else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| crate::files::read(e.path()).ok())
        .filter_map(|b| serde_json::from_slice::<Hook>(&b).ok())
        .map(|h| h.agent)
        .collect()
}

pub fn read_hook(ws: &Workspace, agent: &str) -> Result<Hook> {
    let p = hook_path(ws, agent);
    match crate::files::read(&p) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::Parse {
            path: p,
            line: 1,
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Hook {
            agent: agent.to_string(),
            ..Hook::default()
        }),
        Err(e) => Err(Error::io(p, e)),
    }
}

pub fn write_hook(ws: &Workspace, hook: &Hook) -> Result<()> {
    let p = hook_path(ws, &hook.agent);
    if hook.items.is_empty() {
        return match crate::files::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(p, e)),
        };
    }
    if let Some(dir) = p.parent() {
        crate::files::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    atomic::write(&p, &hook.to_bytes())
}

/// Merge three versions of a hook file (the git driver): `items` as a set,
/// three-way; the other fields from the later attachment (ties: bytes).
pub fn merge_hook(base: &[u8], ours: &[u8], theirs: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let parse = |b: &[u8], side: &str| -> std::result::Result<Option<Hook>, String> {
        if b.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(b)
            .map(Some)
            .map_err(|e| format!("{side}: {e}"))
    };
    let (b, o, t) = (
        parse(base, "base")?,
        parse(ours, "ours")?,
        parse(theirs, "theirs")?,
    );
    let set = |h: &Option<Hook>| -> BTreeSet<String> {
        h.as_ref()
            .map(|h| h.items.iter().cloned().collect())
            .unwrap_or_default()
    };
    let (sb, so, st) = (set(&b), set(&o), set(&t));
    let items: BTreeSet<String> = so
        .intersection(&st)
        .cloned()
        .chain(so.difference(&sb).cloned())
        .chain(st.difference(&sb).cloned())
        .collect();
    let key = |h: &Hook| (h.attached_at.clone(), h.to_bytes());
    let mut winner = match (o, t) {
        (Some(o), Some(t)) => {
            if key(&o) >= key(&t) {
                o
            } else {
                t
            }
        }
        (Some(x), None) | (None, Some(x)) => x,
        (None, None) => return Ok(Vec::new()),
    };
    winner.items = items.into_iter().collect();
    Ok(winner.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(items: &[&str], at: &str) -> Vec<u8> {
        Hook {
            agent: "a".into(),
            items: items.iter().map(|s| s.to_string()).collect(),
            attached_by: "x".into(),
            attached_at: at.into(),
            note: None,
        }
        .to_bytes()
    }

    #[test]
    fn hook_items_merge_as_a_set_and_commute() {
        let base = h(&["bd-1", "bd-2"], "t1");
        let ours = h(&["bd-1", "bd-3"], "t2");
        let theirs = h(&["bd-1", "bd-2", "bd-4"], "t3");
        let m1 = merge_hook(&base, &ours, &theirs).unwrap();
        let m2 = merge_hook(&base, &theirs, &ours).unwrap();
        assert_eq!(m1, m2);
        let got: Hook = serde_json::from_slice(&m1).unwrap();
        assert_eq!(got.items, vec!["bd-1", "bd-3", "bd-4"]);
        assert_eq!(got.attached_at, "t3");
        assert_eq!(merge_hook(&ours, &ours, &ours).unwrap(), ours);
        assert!(merge_hook(b"", b"{oops", &ours).is_err());
    }
}

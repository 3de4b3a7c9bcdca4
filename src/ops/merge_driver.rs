//! `bd merge %O %A %B %P`: git's merge driver for `.beads/*.jsonl` (issue or
//! mail rules by file name) and `.beads/hooks/*.json`. Merges
//! base, ours and theirs with the one merge function into `%A`. Takes no
//! locks, never touches the project home; exits 1 leaving `%A` unchanged when
//! an input does not parse.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::merge;

/// What the merge driver did: the path, and for a JSONL file what the merge decided.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Merged {
    pub path: String,
    #[serde(flatten)]
    pub decided: Option<Decided>,
}

/// How many conflicts the merge resolved, claims it dropped and ids it renamed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Decided {
    pub conflicts_resolved: usize,
    pub claims_lost: usize,
    pub renamed: usize,
}

/// Merge into `ours`; returns a summary of what the merge decided.
pub fn run(base: &Path, ours: &Path, theirs: &Path, path: Option<&str>) -> Result<Merged> {
    let read = |p: &Path| -> Result<Vec<u8>> {
        match std::fs::read(p) {
            Ok(b) => Ok(b),
            // git passes an empty file for a side that lacks the path.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io(p, e)),
        }
    };
    let name = path.unwrap_or(".beads/issues.jsonl");
    let (b, o, t) = (read(base)?, read(ours)?, read(theirs)?);
    if name.contains("hooks/") && name.ends_with(".json") {
        let merged =
            crate::store::hooks::merge_hook(&b, &o, &t).map_err(|reason| Error::Parse {
                path: PathBuf::from(name),
                line: 1,
                reason: format!("cannot merge: {reason}"),
            })?;
        std::fs::write(ours, &merged).map_err(|e| Error::io(ours, e))?;
        return Ok(Merged {
            path: name.to_string(),
            decided: None,
        });
    }
    let rules = merge::rules_for(name);
    let merged = merge::merge_jsonl(&b, &o, &t, rules).map_err(|e| Error::Parse {
        path: PathBuf::from(name),
        line: match &e {
            merge::MergeError::Parse { line, .. } => *line,
        },
        reason: format!("cannot merge: {e}"),
    })?;
    // git reads %A back after we exit; write it in one go.
    std::fs::write(ours, &merged.bytes).map_err(|e| Error::io(ours, e))?;
    let r = &merged.report;
    Ok(Merged {
        path: name.to_string(),
        decided: Some(Decided {
            conflicts_resolved: r.conflicts.len(),
            claims_lost: r.claims_lost.len(),
            renamed: r.renamed.len(),
        }),
    })
}

//! Append-only record logs under `.beads/` (`runs.jsonl`: the worker loop's
//! runs; `budget.jsonl`: allocations and spends). One JSON object per line,
//! sorted by `id`; a line is a fact, never edited or removed, so the file is
//! a set and merges as a union (`model::merge::LOG_RULES`): records written
//! in several clones all survive a sync.
//!
//! Readers take no lock and skip (and report) lines that do not parse.
//! Writers take the workspace lock, refuse a file with bad lines (hint:
//! `bd doctor --fix`), add the new lines in id order, and replace the file
//! atomically; lines already there are copied byte for byte.

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Workspace;
use crate::error::{Error, Result};
use crate::files::{atomic, lock};
use crate::model::record::Record;

/// The worker loop's run records.
pub const RUNS: &str = "runs.jsonl";
/// Budget allocations and spends.
pub const BUDGET: &str = "budget.jsonl";

pub fn path(ws: &Workspace, name: &str) -> PathBuf {
    ws.beads.join(name)
}

/// The file's bytes (empty when it does not exist).
fn bytes(ws: &Workspace, name: &str) -> Result<Vec<u8>> {
    let p = path(ws, name);
    match crate::files::read(&p) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(&p, e)),
    }
}

/// Every record of the log that reads as `T`, and the numbers of the lines
/// that do not (the caller warns about them).
pub fn read<T: DeserializeOwned>(ws: &Workspace, name: &str) -> Result<(Vec<T>, Vec<usize>)> {
    let b = bytes(ws, name)?;
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in b.split(|&c| c == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<T>(line) {
            Ok(r) => out.push(r),
            Err(_) => bad.push(i + 1),
        }
    }
    Ok((out, bad))
}

/// Add records (each serializing to an object with a string `id`) to the
/// log under the workspace lock. A record whose id is there already is not
/// added again. Returns how many lines were added.
pub fn append<T: Serialize>(ws: &Workspace, name: &str, records: &[T]) -> Result<usize> {
    if records.is_empty() {
        return Ok(0);
    }
    let p = path(ws, name);
    let _guard = lock::acquire(&ws.lock_path(), lock::default_timeout())?;
    let old = bytes(ws, name)?;
    // Old lines by id, each kept as its bytes.
    let mut lines: std::collections::BTreeMap<String, String> = Default::default();
    let mut bad = Vec::new();
    let mut canonical = old.is_empty() || old.ends_with(b"\n");
    let mut last: Option<String> = None;
    for (i, line) in old.split(|&c| c == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let text = std::str::from_utf8(line).ok();
        match text.map(Record::parse) {
            Some(Ok(r)) => {
                let id = r.id().to_string();
                if line.ends_with(b"\r") || last.as_ref().is_some_and(|l| *l >= id) {
                    canonical = false;
                }
                last = Some(id.clone());
                if lines
                    .insert(id, text.unwrap_or_default().to_string())
                    .is_some()
                {
                    canonical = false;
                }
            }
            _ => bad.push(i + 1),
        }
    }
    if !bad.is_empty() {
        return Err(Error::BadLines {
            path: p,
            lines: bad,
        });
    }
    let mut added = 0;
    for r in records {
        let text = serde_json::to_string(r).map_err(|e| Error::invalid(e.to_string()))?;
        let rec = Record::parse(&text).map_err(Error::invalid)?;
        let line = rec.to_line_in(crate::model::run::LOG_ORDER);
        if !lines.contains_key(rec.id()) {
            lines.insert(rec.id().to_string(), line);
            added += 1;
        }
    }
    if added == 0 && canonical {
        return Ok(0);
    }
    let mut out = String::with_capacity(old.len() + 256 * added);
    for l in lines.values() {
        out.push_str(l.trim_end_matches('\r'));
        out.push('\n');
    }
    atomic::write(&p, out.as_bytes())?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct R {
        id: String,
        n: u32,
    }

    #[test]
    fn appends_in_id_order_and_never_twice() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".beads")).unwrap();
        let ws = Workspace::at(dir.path().to_path_buf());
        let r = |id: &str, n| R { id: id.into(), n };
        assert_eq!(append(&ws, RUNS, &[r("b", 1), r("a", 2)]).unwrap(), 2);
        assert_eq!(append(&ws, RUNS, &[r("a", 9), r("c", 3)]).unwrap(), 1);
        let text = std::fs::read_to_string(path(&ws, RUNS)).unwrap();
        assert_eq!(
            text,
            "{\"id\":\"a\",\"n\":2}\n{\"id\":\"b\",\"n\":1}\n{\"id\":\"c\",\"n\":3}\n"
        );
        let (all, bad) = read::<R>(&ws, RUNS).unwrap();
        assert_eq!(all.len(), 3);
        assert!(bad.is_empty());
        std::fs::write(path(&ws, RUNS), format!("{text}not json\n")).unwrap();
        let (all, bad) = read::<R>(&ws, RUNS).unwrap();
        assert_eq!((all.len(), bad), (3, vec![4]));
        let e = append(&ws, RUNS, &[r("d", 4)]).unwrap_err();
        assert!(matches!(e, Error::BadLines { .. }), "{e:?}");
    }
}

//! `.beads/mail.jsonl` (SPEC §6): one message per line, sorted by `id`.
//!
//! Readers take no lock and parse only the lines they need ([`scan`] finds
//! candidate lines by substring first, so an inbox over 10k messages parses a
//! handful). Writers go through [`MailTx`]: under the workspace lock, every
//! line must parse and ids must be unique (a write never carries a broken or
//! doubled line forward silently); unchanged lines are copied byte for byte,
//! changed ones written canonically, and the file replaced atomically.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Workspace;
use super::atomic;
use super::jsonl::{Scan, line_endings, line_spans, scan_bytes};
use super::lock::{self, LockGuard};
use crate::error::{Error, Result};
use crate::model::mail::KEY_ORDER;
use crate::model::record::Record;

pub fn path(ws: &Workspace) -> PathBuf {
    ws.beads.join("mail.jsonl")
}

fn read(path: &Path) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Parse the lines containing any of `needles` (all lines when `needles` is
/// empty), in file order.
pub fn scan(ws: &Workspace, needles: &[String]) -> Result<Scan> {
    let p = path(ws);
    let bytes = read(&p)?;
    Ok(scan_bytes(&bytes, needles))
}

#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

struct Line {
    id: String,
    span: Range<usize>,
}

/// A read-modify-write of `mail.jsonl` under the workspace lock.
pub struct MailTx {
    _lock: Option<LockGuard>,
    path: PathBuf,
    bytes: Vec<u8>,
    lines: Vec<Line>,
    by_id: BTreeMap<String, usize>,
    changed: BTreeMap<String, Record>,
    normalize: bool,
}

impl MailTx {
    /// Take the workspace lock and load the file.
    pub fn begin(ws: &Workspace) -> Result<MailTx> {
        let guard = lock::acquire(&ws.lock_path(), lock::default_timeout())?;
        Self::load(ws, Some(guard))
    }

    /// Load the file when the caller already holds the workspace lock.
    pub fn begin_locked(ws: &Workspace) -> Result<MailTx> {
        Self::load(ws, None)
    }

    fn load(ws: &Workspace, guard: Option<LockGuard>) -> Result<MailTx> {
        let path = path(ws);
        let bytes = read(&path)?;
        let mut lines = Vec::new();
        let mut bad = Vec::new();
        for (n, span, _) in line_spans(&bytes) {
            match serde_json::from_slice::<IdOnly>(&bytes[span.clone()]) {
                Ok(x) if !x.id.is_empty() => lines.push(Line {
                    id: x.id.into_owned(),
                    span,
                }),
                _ => bad.push(n),
            }
        }
        if !bad.is_empty() {
            return Err(Error::BadLines { path, lines: bad });
        }
        let mut by_id = BTreeMap::new();
        let mut dups = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if by_id.insert(l.id.clone(), i).is_some() {
                dups.push(l.id.clone());
            }
        }
        if !dups.is_empty() {
            dups.dedup();
            return Err(Error::Invalid {
                msg: format!(
                    "{} has duplicate message ids ({}); refusing to write",
                    path.display(),
                    dups.join(", ")
                ),
                hint: Some("run `bd doctor --fix` to merge them".into()),
            });
        }
        let (crlf, no_final) = line_endings(&bytes);
        let unsorted = lines.windows(2).any(|w| w[0].id >= w[1].id);
        Ok(MailTx {
            _lock: guard,
            path,
            bytes,
            lines,
            by_id,
            changed: BTreeMap::new(),
            normalize: crlf || no_final || unsorted,
        })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.changed.contains_key(id) || self.by_id.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.lines.len()
            + self
                .changed
                .keys()
                .filter(|k| !self.by_id.contains_key(*k))
                .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored message, with this transaction's changes.
    pub fn get(&self, id: &str) -> Result<Option<Record>> {
        if let Some(r) = self.changed.get(id) {
            return Ok(Some(r.clone()));
        }
        let Some(&i) = self.by_id.get(id) else {
            return Ok(None);
        };
        let span = self.lines[i].span.clone();
        let text = std::str::from_utf8(&self.bytes[span]).map_err(|e| Error::Parse {
            path: self.path.clone(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        Record::parse(text)
            .map(Some)
            .map_err(|reason| Error::Parse {
                path: self.path.clone(),
                line: i + 1,
                reason,
            })
    }

    /// Every id, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.by_id.keys().cloned().collect();
        ids.extend(
            self.changed
                .keys()
                .filter(|k| !self.by_id.contains_key(*k))
                .cloned(),
        );
        ids.sort();
        ids
    }

    pub fn put(&mut self, rec: Record) {
        self.changed.insert(rec.id().to_string(), rec);
    }

    /// Whether the file was not canonical (CRLF, unsorted, no final newline).
    pub fn normalizes(&self) -> bool {
        self.normalize
    }

    fn is_dirty(&self) -> bool {
        self.normalize
            || self
                .changed
                .iter()
                .any(|(id, rec)| match self.by_id.get(id) {
                    Some(&i) => {
                        self.bytes[self.lines[i].span.clone()]
                            != *rec.to_line_in(KEY_ORDER).as_bytes()
                    }
                    None => true,
                })
    }

    /// Write the file if anything changed; returns whether it was written.
    pub fn commit(self) -> Result<bool> {
        if !self.is_dirty() {
            return Ok(false);
        }
        let mut out: Vec<(&str, Cow<[u8]>)> = Vec::with_capacity(self.lines.len() + 1);
        for l in &self.lines {
            if !self.changed.contains_key(&l.id) {
                out.push((&l.id, Cow::Borrowed(&self.bytes[l.span.clone()])));
            }
        }
        for (id, rec) in &self.changed {
            out.push((id, Cow::Owned(rec.to_line_in(KEY_ORDER).into_bytes())));
        }
        out.sort_by(|a, b| a.0.cmp(b.0));
        atomic::write_streaming(&self.path, |w| {
            for (_, line) in &out {
                w.write_all(line)?;
                w.write_all(b"\n")?;
            }
            Ok(())
        })?;
        Ok(true)
    }
}

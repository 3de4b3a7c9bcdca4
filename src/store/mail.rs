//! `.beads/mail.jsonl` (SPEC §6): one message per line, sorted by `id`.
//!
//! Readers take no lock and parse only the lines they need ([`scan`] finds
//! candidate lines by substring first, so an inbox over 10k messages parses a
//! handful). Writers go through [`MailTx`]: under the workspace lock, every
//! line must parse and ids must be unique (a write never carries a broken or
//! doubled line forward silently); unchanged lines are copied byte for byte,
//! changed ones written canonically, and the file replaced atomically.
//!
//! A small cache, `.cache/mail.v1`, remembers for one state of the file (size,
//! times, inode) that every line was checked, and which messages carry a
//! `delivery` to another project. With it a send skips re-parsing 10k lines,
//! and the per-command delivery bookkeeping never reads the file at all.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Workspace;
use super::atomic;
use super::index::Signature;
use super::jsonl::{Scan, line_endings, line_spans, scan_bytes};
use super::lock::{self, LockGuard};
use crate::error::{Error, Result};
use crate::model::mail::{Delivery, KEY_ORDER};
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

/// The file's bytes and the signature of exactly that state.
fn read_signed(path: &Path) -> Result<(Vec<u8>, Signature)> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((Vec::new(), Signature::default()));
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let sig = Signature::of(&f).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::with_capacity(sig.len as usize + 1);
    f.read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    Ok((bytes, sig))
}

fn signature(path: &Path) -> Signature {
    std::fs::File::open(path)
        .and_then(|f| Signature::of(&f))
        .unwrap_or_default()
}

/// One message's delivery to another project, as the cache lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRow {
    pub id: String,
    pub project: String,
    pub delivery: Delivery,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    /// len, mtime, ctime, inode of the file this describes.
    sig: (u64, i64, i64, u64),
    /// Every line was checked (parses, ids unique).
    validated: bool,
    deliveries: Vec<DeliveryRow>,
}

fn cache_path(ws: &Workspace) -> PathBuf {
    ws.cache_dir().join("mail.v1")
}

fn sig_tuple(s: &Signature) -> (u64, i64, i64, u64) {
    (s.len, s.mtime, s.ctime, s.ino)
}

fn load_cache(ws: &Workspace, sig: &Signature) -> Option<Cache> {
    let b = std::fs::read(cache_path(ws)).ok()?;
    let c: Cache = serde_json::from_slice(&b).ok()?;
    (c.sig == sig_tuple(sig) && *sig != Signature::default()).then_some(c)
}

fn save_cache(ws: &Workspace, c: &Cache) {
    if std::fs::create_dir_all(ws.cache_dir()).is_ok()
        && let Ok(b) = serde_json::to_vec(c)
    {
        let _ = atomic::write_cache(&cache_path(ws), &b);
    }
}

fn rows_of(rec: &Record) -> Vec<DeliveryRow> {
    let map: BTreeMap<String, Delivery> = rec.json("delivery").unwrap_or_default();
    map.into_iter()
        .map(|(project, delivery)| DeliveryRow {
            id: rec.id().to_string(),
            project,
            delivery,
        })
        .collect()
}

const DELIVERY_NEEDLE: &str = "\"delivery\":";

/// Every delivery to another project recorded in `mail.jsonl`, from the cache
/// when it describes the file as it is (no read of the file at all).
pub fn deliveries(ws: &Workspace) -> Result<Vec<DeliveryRow>> {
    let p = path(ws);
    let sig = signature(&p);
    if sig == Signature::default() {
        return Ok(Vec::new());
    }
    if let Some(c) = load_cache(ws, &sig) {
        return Ok(c.deliveries);
    }
    let (bytes, sig) = read_signed(&p)?;
    let rows: Vec<DeliveryRow> = scan_bytes(&bytes, &[DELIVERY_NEEDLE.to_string()])
        .records
        .iter()
        .flat_map(|(_, r)| rows_of(r))
        .collect();
    save_cache(
        ws,
        &Cache {
            sig: sig_tuple(&sig),
            validated: false,
            deliveries: rows.clone(),
        },
    );
    Ok(rows)
}

/// The id of a canonical line (`{"id":"…",`) without parsing the rest.
fn fast_id(line: &[u8]) -> Option<&str> {
    let rest = line.strip_prefix(b"{\"id\":\"")?;
    let end = memchr::memchr(b'"', rest)?;
    let id = &rest[..end];
    if id.is_empty() || id.contains(&b'\\') {
        return None;
    }
    std::str::from_utf8(id).ok()
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
    ws: Workspace,
    path: PathBuf,
    bytes: Vec<u8>,
    /// What the cache knew of this state of the file.
    deliveries: Vec<DeliveryRow>,
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
        let (bytes, sig) = read_signed(&path)?;
        let cached = load_cache(ws, &sig).filter(|c| c.validated);
        let mut lines = Vec::new();
        let mut bad = Vec::new();
        for (n, span, _) in line_spans(&bytes) {
            let line = &bytes[span.clone()];
            // A state of the file checked before needs only the ids.
            if cached.is_some()
                && let Some(id) = fast_id(line)
            {
                lines.push(Line {
                    id: id.to_string(),
                    span,
                });
                continue;
            }
            match serde_json::from_slice::<IdOnly>(line) {
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
        let deliveries = match cached {
            Some(c) => c.deliveries,
            None => {
                let rows: Vec<DeliveryRow> = scan_bytes(&bytes, &[DELIVERY_NEEDLE.to_string()])
                    .records
                    .iter()
                    .flat_map(|(_, r)| rows_of(r))
                    .collect();
                save_cache(
                    ws,
                    &Cache {
                        sig: sig_tuple(&sig),
                        validated: true,
                        deliveries: rows.clone(),
                    },
                );
                rows
            }
        };
        Ok(MailTx {
            _lock: guard,
            ws: ws.clone(),
            path,
            bytes,
            deliveries,
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
        // The new state: checked lines plus ours; its deliveries follow.
        let mut deliveries: Vec<DeliveryRow> = self
            .deliveries
            .iter()
            .filter(|d| !self.changed.contains_key(&d.id))
            .cloned()
            .collect();
        deliveries.extend(self.changed.values().flat_map(rows_of));
        save_cache(
            &self.ws,
            &Cache {
                sig: sig_tuple(&signature(&self.path)),
                validated: true,
                deliveries,
            },
        );
        Ok(true)
    }
}

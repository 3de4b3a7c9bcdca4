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

/// Address as written in `to`/`cc` → (offset, length) of the lines sent to it.
type Index = BTreeMap<String, Vec<(u64, u32)>>;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    /// len, mtime, ctime, inode of the file this describes.
    sig: (u64, i64, i64, u64),
    /// Every line was checked (parses, ids unique); a checked cache always
    /// has its index.
    validated: bool,
    deliveries: Vec<DeliveryRow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    index: Option<Index>,
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
            index: None,
        },
    );
    Ok(rows)
}

/// A line's id and recipients, read without building the whole record.
#[derive(Deserialize)]
struct Light<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default, borrow)]
    to: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    cc: Vec<Cow<'a, str>>,
}

/// Index every line of `bytes` by recipient. Lines that do not parse are
/// left out (readers warn about them when they meet them).
fn build_index(bytes: &[u8]) -> Index {
    let mut index = Index::new();
    for (_, span, _) in line_spans(bytes) {
        if let Ok(l) = serde_json::from_slice::<Light>(&bytes[span.clone()])
            && !l.id.is_empty()
        {
            let at = (span.start as u64, (span.end - span.start) as u32);
            for a in l.to.iter().chain(l.cc.iter()) {
                index.entry(a.to_string()).or_default().push(at);
            }
        }
    }
    index
}

/// The messages sent to any of `addresses` (as written in `to`/`cc`), read
/// through the recipient index: only their lines are read and parsed. The
/// first reader after a change by another tool (a pull, a merge) builds the
/// index once.
pub fn for_recipients(ws: &Workspace, addresses: &[String]) -> Result<Scan> {
    use std::os::unix::fs::FileExt;
    let p = path(ws);
    let file = match std::fs::File::open(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Scan::default()),
        Err(e) => return Err(Error::io(&p, e)),
    };
    let sig = Signature::of(&file).map_err(|e| Error::io(&p, e))?;
    let cached = load_cache(ws, &sig);
    let index = match cached.as_ref().and_then(|c| c.index.as_ref()) {
        Some(i) => i,
        None => {
            // Read the state `file` holds (a writer replaces, never edits).
            let mut bytes = Vec::with_capacity(sig.len as usize);
            std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(|e| Error::io(&p, e))?;
            let index = build_index(&bytes);
            let deliveries = match cached {
                Some(c) => c.deliveries,
                None => scan_bytes(&bytes, &[DELIVERY_NEEDLE.to_string()])
                    .records
                    .iter()
                    .flat_map(|(_, r)| rows_of(r))
                    .collect(),
            };
            let mut spans: Vec<(u64, u32)> = addresses
                .iter()
                .filter_map(|a| index.get(a))
                .flatten()
                .copied()
                .collect();
            spans.sort_unstable();
            spans.dedup();
            let out = read_spans(&spans, |off, len| {
                Ok(bytes[off as usize..off as usize + len as usize].to_vec())
            })?;
            save_cache(
                ws,
                &Cache {
                    sig: sig_tuple(&sig),
                    validated: false,
                    deliveries,
                    index: Some(index),
                },
            );
            return Ok(out);
        }
    };
    let mut spans: Vec<(u64, u32)> = addresses
        .iter()
        .filter_map(|a| index.get(a))
        .flatten()
        .copied()
        .collect();
    spans.sort_unstable();
    spans.dedup();
    read_spans(&spans, |off, len| {
        let mut buf = vec![0u8; len as usize];
        file.read_exact_at(&mut buf, off)
            .map_err(|e| Error::io(&p, e))?;
        Ok(buf)
    })
}

fn read_spans(spans: &[(u64, u32)], read: impl Fn(u64, u32) -> Result<Vec<u8>>) -> Result<Scan> {
    let mut out = Scan::default();
    for &(off, len) in spans {
        let bytes = read(off, len)?;
        // Line numbers are not known without counting; offsets stand in.
        match std::str::from_utf8(&bytes)
            .map_err(|e| e.to_string())
            .and_then(Record::parse)
        {
            Ok(r) => out.records.push((0, r)),
            Err(_) => out.bad.push(0),
        }
    }
    Ok(out)
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
    index: Index,
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
        let cached = load_cache(ws, &sig).filter(|c| c.validated && c.index.is_some());
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
        let (deliveries, index) = match cached {
            Some(Cache {
                deliveries,
                index: Some(index),
                ..
            }) => (deliveries, index),
            _ => {
                let index = build_index(&bytes);
                let rows: Vec<DeliveryRow> = scan_bytes(&bytes, &[DELIVERY_NEEDLE.to_string()])
                    .records
                    .iter()
                    .flat_map(|(_, r)| rows_of(r))
                    .collect();
                let c = Cache {
                    sig: sig_tuple(&sig),
                    validated: true,
                    deliveries: rows,
                    index: Some(index),
                };
                save_cache(ws, &c);
                (c.deliveries, c.index.unwrap_or_default())
            }
        };
        Ok(MailTx {
            _lock: guard,
            ws: ws.clone(),
            path,
            bytes,
            deliveries,
            index,
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
        // The index of the new file: unchanged lines keep their recipients
        // at their new offsets, changed ones are read from their records.
        let mut by_old: std::collections::HashMap<u64, Vec<&str>> = Default::default();
        for (addr, spans) in &self.index {
            for (off, _) in spans {
                by_old.entry(*off).or_default().push(addr);
            }
        }
        let base = self.bytes.as_ptr() as usize;
        let mut index = Index::new();
        let mut pos = 0u64;
        for (id, line) in &out {
            let at = (pos, line.len() as u32);
            match (self.changed.get(*id), line) {
                (Some(rec), _) => {
                    let to: Vec<String> = rec.json("to").unwrap_or_default();
                    let cc: Vec<String> = rec.json("cc").unwrap_or_default();
                    for a in to.iter().chain(cc.iter()) {
                        index.entry(a.clone()).or_default().push(at);
                    }
                }
                (None, Cow::Borrowed(b)) => {
                    let old = (b.as_ptr() as usize - base) as u64;
                    for a in by_old.get(&old).into_iter().flatten() {
                        index.entry((*a).to_string()).or_default().push(at);
                    }
                }
                (None, Cow::Owned(_)) => {}
            }
            pos += line.len() as u64 + 1;
        }
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
                index: Some(index),
            },
        );
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, to: &[&str], subject: &str) -> Record {
        let to: Vec<String> = to.iter().map(|s| s.to_string()).collect();
        let line = serde_json::json!({"id": id, "thread": id, "from": "x", "to": to,
            "subject": subject, "body": "b", "importance": "normal", "ack_required": false,
            "created_at": "2026-01-01T00:00:00Z"})
        .to_string();
        Record::parse(&line).unwrap()
    }

    /// What the index must answer: every stored message sent to `addr`.
    fn truth(ws: &Workspace, addr: &str) -> Vec<String> {
        let mut ids: Vec<String> = scan(ws, &[])
            .unwrap()
            .records
            .into_iter()
            .filter(|(_, r)| {
                let to: Vec<String> = r.json("to").unwrap_or_default();
                let cc: Vec<String> = r.json("cc").unwrap_or_default();
                to.iter().chain(cc.iter()).any(|a| a == addr)
            })
            .map(|(_, r)| r.id().to_string())
            .collect();
        ids.sort();
        ids
    }

    fn via_index(ws: &Workspace, addr: &str) -> Vec<String> {
        let mut ids: Vec<String> = for_recipients(ws, &[addr.to_string()])
            .unwrap()
            .records
            .into_iter()
            .map(|(_, r)| r.id().to_string())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn the_recipient_index_follows_every_write_and_outside_edits() {
        let t = tempfile::tempdir().unwrap();
        let ws = Workspace::at(t.path().to_path_buf());
        std::fs::create_dir_all(&ws.beads).unwrap();
        let addrs = ["ann", "bob", "@all", "cy@p"];
        // xorshift: deterministic pseudo-random writes.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..40 {
            let mut tx = MailTx::begin(&ws).unwrap();
            for k in 0..(1 + next() % 3) {
                let existing = tx.ids();
                let change = !existing.is_empty() && next() % 3 == 0;
                let id = if change {
                    existing[(next() % existing.len() as u64) as usize].clone()
                } else {
                    format!("msg-{:012x}", next() % 1_000_000_000)
                };
                let to: Vec<&str> = addrs.iter().copied().filter(|_| next() % 2 == 0).collect();
                // Subjects of varying length move every later offset.
                let subject = "s".repeat((next() % 40) as usize + round + k as usize);
                tx.put(msg(&id, &to, &subject));
            }
            tx.commit().unwrap();
            if round % 9 == 4 {
                // Another tool (a merge, a pull) rewrites the file.
                let mut bytes = std::fs::read(path(&ws)).unwrap();
                let id = format!("msg-zz{round:010}");
                let extra = msg(&id, &["bob"], "outside").to_line_in(KEY_ORDER);
                bytes.extend_from_slice(extra.as_bytes());
                bytes.push(b'\n');
                std::fs::write(path(&ws), &bytes).unwrap();
            }
            for a in addrs {
                assert_eq!(via_index(&ws, a), truth(&ws, a), "round {round}, {a}");
            }
        }
    }
}

//! `.beads/mail.jsonl` (SPEC §6): one message per line, sorted by `id`.
//!
//! Readers take no lock and parse only the lines they need ([`scan`] finds
//! candidate lines by substring; [`for_recipients`] goes through the line
//! cache). Writers go through [`MailTx`]: under the workspace lock, every line
//! must parse and ids must be unique (a write never carries a broken or
//! doubled line forward silently); unchanged lines are copied byte for byte,
//! changed ones written canonically, and the file replaced atomically.
//!
//! The cache `.cache/mail.v2` remembers for one state of the file (size,
//! times, inode) that every line was checked, which messages carry a
//! `delivery`, and where each line is with its recipients. With it a send
//! neither reads nor parses the file (it splices it, see `store::splice`), an
//! inbox reads only its own lines, and the per-command delivery bookkeeping
//! reads only the cache's head.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Workspace;
use super::index::Signature;
use super::jsonl::{Scan, line_endings, line_spans, scan_bytes};
use super::splice::{Source, Splicer};
use crate::error::{Error, Result};
use crate::files::atomic;
use crate::files::lock::{self, LockGuard};
use crate::model::mail::{Delivery, KEY_ORDER};
use crate::model::record::Record;

pub fn path(ws: &Workspace) -> PathBuf {
    ws.beads.join("mail.jsonl")
}

fn read(path: &Path) -> Result<Vec<u8>> {
    match crate::files::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// The file's bytes and the signature of exactly that state.
fn read_signed(path: &Path) -> Result<(Vec<u8>, Signature)> {
    use std::io::Read;
    let mut f = match crate::files::open_read(path) {
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
    crate::files::open_read(path)
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

/// What the cache knows of one line of the file.
#[derive(Debug, Clone, PartialEq)]
struct CLine {
    id: String,
    off: u64,
    len: u32,
    /// The addresses in `to` and `cc`, as written, as a JSON array (kept as
    /// text: most readers only look for one address in it).
    to: String,
}

impl CLine {
    fn span(&self) -> Range<usize> {
        self.off as usize..self.off as usize + self.len as usize
    }

    /// Whether the line is sent to any of `addresses`.
    fn sent_to(&self, addresses: &[String]) -> bool {
        addresses.iter().any(|a| {
            let quoted = serde_json::to_string(a).expect("strings serialize");
            self.to.contains(&quoted)
                && serde_json::from_str::<Vec<String>>(&self.to).is_ok_and(|v| v.contains(a))
        })
    }
}

fn to_json<'a>(addresses: impl Iterator<Item = &'a str>) -> String {
    serde_json::to_string(&addresses.collect::<Vec<_>>()).expect("strings serialize")
}

/// `.cache/mail.v2`: for one state of the file (its signature), whether every
/// line was checked and the file is canonical, the deliveries, and each
/// line's id, place and recipients. A text file, one record per line:
/// a header `strand-mail-2 len mtime ctime ino checked lines`, then `D <json row>`
/// and `L <id> <off> <len> <json addresses>` (tab-separated).
#[derive(Debug, Default)]
struct Cache {
    sig: (u64, i64, i64, u64),
    /// Every line parses, ids are unique, the file is canonical; `lines` is
    /// then the whole file.
    checked: bool,
    deliveries: Vec<DeliveryRow>,
    lines: Option<Vec<CLine>>,
}

const CACHE_MAGIC: &str = "strand-mail-2";

fn cache_path(ws: &Workspace) -> PathBuf {
    ws.cache_dir().join("mail.v2")
}

fn sig_tuple(s: &Signature) -> (u64, i64, i64, u64) {
    (s.len, s.mtime, s.ctime, s.ino)
}

impl Cache {
    fn render(&self) -> String {
        let (l, m, c, i) = self.sig;
        let mut out = format!(
            "{CACHE_MAGIC}\t{l}\t{m}\t{c}\t{i}\t{}\t{}\n",
            u8::from(self.checked),
            u8::from(self.lines.is_some())
        );
        for d in &self.deliveries {
            out.push_str("D\t");
            out.push_str(&serde_json::to_string(d).expect("rows serialize"));
            out.push('\n');
        }
        for line in self.lines.iter().flatten() {
            out.push_str(&format!(
                "L\t{}\t{}\t{}\t{}\n",
                cache_id(&line.id),
                line.off,
                line.len,
                line.to
            ));
        }
        out
    }

    /// `with_lines: false` stops at the first line record (deliveries come
    /// first): what every command needs costs no parse of 10k lines.
    fn parse(text: &str, with_lines: bool) -> Option<Cache> {
        let mut lines = text.split_terminator('\n');
        let h: Vec<&str> = lines.next()?.split('\t').collect();
        if h.len() != 7 || h[0] != CACHE_MAGIC {
            return None;
        }
        let has_lines = h[6] == "1";
        let mut c = Cache {
            sig: (
                h[1].parse().ok()?,
                h[2].parse().ok()?,
                h[3].parse().ok()?,
                h[4].parse().ok()?,
            ),
            checked: h[5] == "1",
            ..Cache::default()
        };
        let mut ls = Vec::new();
        for line in lines {
            if let Some(d) = line.strip_prefix("D\t") {
                c.deliveries.push(serde_json::from_str(d).ok()?);
            } else if let Some(l) = line.strip_prefix("L\t") {
                if !with_lines {
                    break;
                }
                ls.push(parse_l(l)?);
            } else {
                return None;
            }
        }
        // Whether the lines are listed is said, not guessed: an empty list
        // and no list differ.
        if has_lines && with_lines {
            c.lines = Some(ls);
        } else if has_lines {
            // Marks "listed" for a caller that reads the lines itself.
            c.lines = Some(Vec::new());
        }
        Some(c)
    }
}

fn load_cache(ws: &Workspace, sig: &Signature, with_lines: bool) -> Option<Cache> {
    let text = if with_lines {
        crate::files::cache::read_string(&cache_path(ws))?
    } else {
        read_head(&cache_path(ws))?
    };
    let c = Cache::parse(&text, with_lines)?;
    (c.sig == sig_tuple(sig) && *sig != Signature::default()).then_some(c)
}

/// An id as the cache writes it: as it is when it is plain (the usual
/// `msg-…`), else JSON-quoted, so no id can break a record apart.
fn cache_id(id: &str) -> Cow<'_, str> {
    let plain = !id.is_empty()
        && !id.starts_with('"')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain {
        Cow::Borrowed(id)
    } else {
        Cow::Owned(serde_json::to_string(id).expect("strings serialize"))
    }
}

/// One `L` record (after `L\t`): id, offset, length, recipients.
fn parse_l(l: &str) -> Option<CLine> {
    let (id, rest) = if l.starts_with('"') {
        let mut de = serde_json::Deserializer::from_str(l).into_iter::<String>();
        let id = de.next()?.ok()?;
        (id, l[de.byte_offset()..].strip_prefix('\t')?)
    } else {
        let (id, rest) = l.split_once('\t')?;
        (id.to_string(), rest)
    };
    let mut f = rest.splitn(3, '\t');
    Some(CLine {
        id,
        off: f.next()?.parse().ok()?,
        len: f.next()?.parse().ok()?,
        to: f.next()?.to_string(),
    })
}

/// Whether cached lines describe a canonical file of `len` bytes: each line
/// right after the previous one's newline, ids strictly increasing, the last
/// newline the last byte. A cache that does not tile its file is not trusted.
fn tiles(lines: &[CLine], len: u64) -> bool {
    let mut pos = 0u64;
    for (i, l) in lines.iter().enumerate() {
        if l.off != pos || (i > 0 && lines[i - 1].id >= l.id) {
            return false;
        }
        pos = l.off + u64::from(l.len) + 1;
    }
    pos == len
}

/// The cache up to its first line record (header and deliveries).
fn read_head(path: &Path) -> Option<String> {
    use std::io::BufRead;
    let mut r = std::io::BufReader::new(crate::files::cache::open(path)?.0);
    let mut out = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 || line.starts_with("L\t") {
            return Some(out);
        }
        out.push_str(&line);
    }
}

fn save_cache(ws: &Workspace, c: &Cache) {
    let _ = crate::files::cache::write(&cache_path(ws), c.render().as_bytes());
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

fn deliveries_in(bytes: &[u8]) -> Vec<DeliveryRow> {
    scan_bytes(bytes, &[DELIVERY_NEEDLE.to_string()])
        .records
        .iter()
        .flat_map(|(_, r)| rows_of(r))
        .collect()
}

/// Every delivery to another project recorded in `mail.jsonl`, from the cache
/// when it describes the file as it is (no read of the file at all).
pub fn deliveries(ws: &Workspace) -> Result<Vec<DeliveryRow>> {
    let p = path(ws);
    let sig = signature(&p);
    if sig == Signature::default() {
        return Ok(Vec::new());
    }
    if let Some(c) = load_cache(ws, &sig, false) {
        return Ok(c.deliveries);
    }
    let (bytes, sig) = read_signed(&p)?;
    let rows = deliveries_in(&bytes);
    save_cache(
        ws,
        &Cache {
            sig: sig_tuple(&sig),
            deliveries: rows.clone(),
            ..Cache::default()
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

/// Every line of `bytes` with its id and recipients; `Err` lists the line
/// numbers that are not a JSON object with an `id`.
fn lines_of(bytes: &[u8]) -> std::result::Result<Vec<CLine>, Vec<usize>> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (n, span, _) in line_spans(bytes) {
        let text = &bytes[span.clone()];
        let (id, to) = match serde_json::from_slice::<Light>(text) {
            Ok(l) => (
                l.id.into_owned(),
                to_json(l.to.iter().chain(l.cc.iter()).map(|a| a.as_ref())),
            ),
            // The slow road, read as every other reader reads a line (a
            // repeated key: the last one counts; odd recipients: none).
            Err(_) => match std::str::from_utf8(text)
                .map_err(|e| e.to_string())
                .and_then(Record::parse)
            {
                Ok(r) => {
                    let mut to: Vec<String> = r.json("to").unwrap_or_default();
                    to.extend(r.json::<Vec<String>>("cc").unwrap_or_default());
                    (r.id().to_string(), to_json(to.iter().map(String::as_str)))
                }
                Err(_) => {
                    bad.push(n);
                    continue;
                }
            },
        };
        if id.is_empty() {
            bad.push(n);
            continue;
        }
        out.push(CLine {
            id,
            off: span.start as u64,
            len: (span.end - span.start) as u32,
            to,
        });
    }
    if bad.is_empty() { Ok(out) } else { Err(bad) }
}

/// The messages sent to any of `addresses` (as written in `to`/`cc`), read
/// through the cache: only their lines are read and parsed. The first reader
/// after a change by another tool (a pull, a merge) lists the lines once.
pub fn for_recipients(ws: &Workspace, addresses: &[String]) -> Result<Scan> {
    use std::os::unix::fs::FileExt;
    let p = path(ws);
    let file = match crate::files::open_read(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Scan::default()),
        Err(e) => return Err(Error::io(&p, e)),
    };
    let sig = Signature::of(&file).map_err(|e| Error::io(&p, e))?;
    let wanted = |l: &CLine| l.sent_to(addresses);
    if let Some(lines) = cached_lines_for(ws, &sig, addresses) {
        let scan = read_lines(lines.iter().filter(|l| wanted(l)), |off, len| {
            let mut buf = vec![0u8; len as usize];
            file.read_exact_at(&mut buf, off)
                .map_err(|e| Error::io(&p, e))?;
            Ok(buf)
        })?;
        // A line that is not the one the cache named means the cache is
        // wrong: read the file instead.
        if let Some(scan) = scan {
            return Ok(scan);
        }
    }
    // Read the state `file` holds (a writer replaces, never edits).
    let mut bytes = Vec::with_capacity(sig.len as usize);
    std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(|e| Error::io(&p, e))?;
    let lines = match lines_of(&bytes) {
        Ok(l) => l,
        // Lines that do not parse: read every other line, uncached (the
        // reader warns about the bad ones).
        Err(_) => {
            let mut all = scan_bytes(&bytes, &[]);
            all.records.retain(|(_, r)| {
                let mut to: Vec<String> = r.json("to").unwrap_or_default();
                to.extend(r.json::<Vec<String>>("cc").unwrap_or_default());
                to.iter().any(|a| addresses.contains(a))
            });
            return Ok(all);
        }
    };
    let out = read_lines(lines.iter().filter(|l| wanted(l)), |off, len| {
        Ok(bytes[off as usize..off as usize + len as usize].to_vec())
    })?
    .unwrap_or_default();
    save_cache(
        ws,
        &Cache {
            sig: sig_tuple(&sig),
            checked: false,
            deliveries: deliveries_in(&bytes),
            lines: Some(lines),
        },
    );
    Ok(out)
}

/// From the cache of this state of the file, the lines whose recipients
/// mention any of `addresses`: the cache text is searched for each quoted
/// address and only the line records holding one are parsed.
fn cached_lines_for(ws: &Workspace, sig: &Signature, addresses: &[String]) -> Option<Vec<CLine>> {
    let text = crate::files::cache::read_string(&cache_path(ws))?;
    let head_end = text.find('\n')?;
    let head = Cache::parse(&text[..head_end + 1], false)?;
    if head.sig != sig_tuple(sig) || *sig == Signature::default() || head.lines.is_none() {
        return None;
    }
    let bytes = text.as_bytes();
    let mut starts: Vec<usize> = Vec::new();
    for a in addresses {
        let needle = serde_json::to_string(a).expect("strings serialize");
        for at in memchr::memmem::find_iter(bytes, needle.as_bytes()) {
            let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |p| p + 1);
            starts.push(start);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut out = Vec::with_capacity(starts.len());
    for start in starts {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |p| start + p);
        let Some(l) = text[start..end].strip_prefix("L\t") else {
            continue;
        };
        out.push(parse_l(l)?);
    }
    Some(out)
}

/// The records at the places `lines` name; `None` when a place holds a line
/// of another id (the cache does not describe the file).
fn read_lines<'a>(
    lines: impl Iterator<Item = &'a CLine>,
    read: impl Fn(u64, u32) -> Result<Vec<u8>>,
) -> Result<Option<Scan>> {
    let mut out = Scan::default();
    for l in lines {
        let bytes = read(l.off, l.len)?;
        // Line numbers are not known without counting; 0 stands in.
        match std::str::from_utf8(&bytes)
            .map_err(|e| e.to_string())
            .and_then(Record::parse)
        {
            Ok(r) if r.id() == l.id => out.records.push((0, r)),
            Ok(_) => return Ok(None),
            Err(_) => out.bad.push(0),
        }
    }
    Ok(Some(out))
}

/// Parse the lines containing any of `needles` (all lines when `needles` is
/// empty), in file order.
pub fn scan(ws: &Workspace, needles: &[String]) -> Result<Scan> {
    let p = path(ws);
    let bytes = read(&p)?;
    Ok(scan_bytes(&bytes, needles))
}

/// A read-modify-write of `mail.jsonl` under the workspace lock.
pub struct MailTx {
    _lock: Option<LockGuard>,
    ws: Workspace,
    path: PathBuf,
    source: Source,
    /// The file's lines in file order.
    lines: Vec<CLine>,
    by_id: BTreeMap<String, usize>,
    deliveries: Vec<DeliveryRow>,
    changed: BTreeMap<String, Record>,
    normalize: bool,
}

impl MailTx {
    /// Take the workspace lock and load the file.
    pub fn begin(ws: &Workspace) -> Result<MailTx> {
        let guard = lock::acquire(&ws.lock_path(), lock::default_timeout())?;
        Self::load(ws, Some(guard))
    }

    /// [`MailTx::begin`] waiting at most `wait` for the lock (bookkeeping
    /// that runs before every command must not hold a reader up for long).
    pub fn begin_within(ws: &Workspace, wait: std::time::Duration) -> Result<MailTx> {
        let guard = lock::acquire(&ws.lock_path(), wait)?;
        Self::load(ws, Some(guard))
    }

    /// Load the file when the caller already holds the workspace lock.
    pub fn begin_locked(ws: &Workspace) -> Result<MailTx> {
        Self::load(ws, None)
    }

    fn load(ws: &Workspace, guard: Option<LockGuard>) -> Result<MailTx> {
        let path = path(ws);
        let (file, sig) = Signature::open(&path)?;
        // A state of the file checked before: no need to read it.
        if let Some(f) = file.as_ref()
            && let Some(Cache {
                checked: true,
                lines: Some(lines),
                deliveries,
                ..
            }) = load_cache(ws, &sig, true)
            && tiles(&lines, sig.len)
        {
            let by_id = lines
                .iter()
                .enumerate()
                .map(|(i, l)| (l.id.clone(), i))
                .collect();
            return Ok(MailTx {
                _lock: guard,
                ws: ws.clone(),
                path,
                source: Source::File(
                    f.try_clone()
                        .map_err(|e| Error::io(ws.beads.join("mail.jsonl"), e))?,
                ),
                lines,
                by_id,
                deliveries,
                changed: BTreeMap::new(),
                normalize: false,
            });
        }
        let mut bytes = Vec::with_capacity(sig.len as usize);
        if let Some(mut f) = file.as_ref() {
            std::io::Read::read_to_end(&mut f, &mut bytes).map_err(|e| Error::io(&path, e))?;
        }
        let lines = lines_of(&bytes).map_err(|bad| Error::BadLines {
            path: path.clone(),
            lines: bad,
        })?;
        let mut by_id = BTreeMap::new();
        let mut dups = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if by_id.insert(l.id.clone(), i).is_some() {
                dups.push(l.id.clone());
            }
        }
        if !dups.is_empty() {
            dups.sort();
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
        let normalize = crlf || no_final || unsorted;
        let deliveries = deliveries_in(&bytes);
        if file.is_some() {
            save_cache(
                ws,
                &Cache {
                    sig: sig_tuple(&sig),
                    checked: !normalize,
                    deliveries: deliveries.clone(),
                    lines: Some(lines.clone()),
                },
            );
        }
        Ok(MailTx {
            _lock: guard,
            ws: ws.clone(),
            path,
            source: Source::Bytes(bytes),
            lines,
            by_id,
            deliveries,
            changed: BTreeMap::new(),
            normalize,
        })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.changed.contains_key(id) || self.by_id.contains_key(id)
    }

    fn old_bytes(&self, l: &CLine) -> Result<Vec<u8>> {
        self.source
            .read(l.span())
            .map(|b| b.into_owned())
            .map_err(|e| Error::io(&self.path, e))
    }

    /// The stored message, with this transaction's changes.
    pub fn find(&self, id: &str) -> Result<Option<Record>> {
        if let Some(r) = self.changed.get(id) {
            return Ok(Some(r.clone()));
        }
        let Some(&i) = self.by_id.get(id) else {
            return Ok(None);
        };
        let bytes = self.old_bytes(&self.lines[i])?;
        let parse_err = |reason: String| Error::Parse {
            path: self.path.clone(),
            line: i + 1,
            reason,
        };
        let text = std::str::from_utf8(&bytes).map_err(|e| parse_err(e.to_string()))?;
        Record::parse(text).map(Some).map_err(parse_err)
    }

    /// Every id, sorted.
    #[cfg(test)]
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

    /// Write the file if anything changed; returns whether it was written.
    pub fn commit(self) -> Result<bool> {
        // New lines, and old lines whose record changed.
        let mut fresh: BTreeMap<&str, String> = BTreeMap::new();
        for (id, rec) in &self.changed {
            let line = rec.to_line_in(KEY_ORDER);
            let same = match self.by_id.get(id) {
                Some(&i) => self.old_bytes(&self.lines[i])? == line.as_bytes(),
                None => false,
            };
            if !same {
                fresh.insert(id, line);
            }
        }
        if fresh.is_empty() && !self.normalize {
            return Ok(false);
        }
        // The new file in id order: old lines by reference, new ones by text.
        enum Part<'a> {
            Old(&'a CLine),
            New(&'a str, &'a str),
        }
        let id_of = |p: &Part| -> String {
            match p {
                Part::Old(l) => l.id.clone(),
                Part::New(id, _) => id.to_string(),
            }
        };
        let olds: Vec<Part> = self
            .lines
            .iter()
            .filter(|l| !fresh.contains_key(l.id.as_str()))
            .map(Part::Old)
            .collect();
        let news: Vec<Part> = fresh.iter().map(|(id, line)| Part::New(id, line)).collect();
        let parts: Vec<Part> = if self.normalize {
            let mut all = olds;
            all.extend(news);
            all.sort_by_key(|p| id_of(p));
            all
        } else {
            // Old lines are sorted already: merge the (sorted) new ones in.
            merge_sorted(olds, news, id_of)
        };
        let mut lines: Vec<CLine> = Vec::with_capacity(parts.len());
        let mut pos = 0u64;
        for p in &parts {
            let (id, len, to) = match p {
                // Normalizing drops what was left of a line ending.
                Part::Old(l) if self.normalize => {
                    let b = self.old_bytes(l)?;
                    (l.id.clone(), b.trim_ascii_end().len() as u32, l.to.clone())
                }
                Part::Old(l) => (l.id.clone(), l.len, l.to.clone()),
                Part::New(id, line) => {
                    let rec = &self.changed[*id];
                    let mut to: Vec<String> = rec.json("to").unwrap_or_default();
                    to.extend(rec.json::<Vec<String>>("cc").unwrap_or_default());
                    let to = to_json(to.iter().map(String::as_str));
                    (id.to_string(), line.len() as u32, to)
                }
            };
            lines.push(CLine {
                id,
                off: pos,
                len,
                to,
            });
            pos += u64::from(len) + 1;
        }
        let written = atomic::write_file(&self.path, |out| {
            let mut sp = Splicer::new(&self.source);
            for p in &parts {
                match p {
                    // A canonical file has a newline after every line: the
                    // line and its newline are copied as they are.
                    Part::Old(l) if !self.normalize => {
                        sp.old(out, l.off, l.off + u64::from(l.len) + 1)?;
                    }
                    Part::Old(l) => {
                        let b = self.source.read(l.span())?;
                        sp.new_bytes(out, b.trim_ascii_end())?;
                        sp.new_bytes(out, b"\n")?;
                    }
                    Part::New(_, line) => {
                        sp.new_bytes(out, line.as_bytes())?;
                        sp.new_bytes(out, b"\n")?;
                    }
                }
            }
            sp.flush(out)
        })?;
        let mut deliveries: Vec<DeliveryRow> = self
            .deliveries
            .iter()
            .filter(|d| !fresh.contains_key(d.id.as_str()))
            .cloned()
            .collect();
        for id in fresh.keys() {
            deliveries.extend(rows_of(&self.changed[*id]));
        }
        save_cache(
            &self.ws,
            &Cache {
                sig: sig_tuple(&Signature::of_meta(&written)),
                checked: true,
                deliveries,
                lines: Some(lines),
            },
        );
        Ok(true)
    }
}

/// Merge two lists each sorted by `key` (stable: `a` first on ties).
fn merge_sorted<T>(a: Vec<T>, b: Vec<T>, key: impl Fn(&T) -> String) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut b = b.into_iter().peekable();
    for x in a {
        while let Some(y) = b.peek() {
            if key(y) < key(&x) {
                out.push(b.next().expect("peeked"));
            } else {
                break;
            }
        }
        out.push(x);
    }
    out.extend(b);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace in a temp folder (kept while the guard lives).
    fn temp_ws() -> (tempfile::TempDir, Workspace) {
        let t = tempfile::tempdir().unwrap();
        let ws = Workspace::at(t.path().to_path_buf());
        std::fs::create_dir_all(&ws.beads).unwrap();
        (t, ws)
    }

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
    fn odd_ids_written_by_other_tools_never_break_the_cache() {
        // Ids with a tab, a newline, a quote: the cache must keep each line
        // whole, and spliced writes must keep every message.
        let (_t, ws) = temp_ws();
        let odd = ["msg-0\t0\t5", "msg-1\nz", "msg-2\"q", "msg-3 sp"];
        let mut model: BTreeMap<String, String> = BTreeMap::new();
        for id in odd {
            model.insert(
                id.to_string(),
                msg(id, &["ann"], "odd").to_line_in(KEY_ORDER),
            );
        }
        let text: String = model.values().map(|l| format!("{l}\n")).collect();
        std::fs::write(path(&ws), text).unwrap();
        for round in 0..3 {
            // The first write reads the file; the later ones splice it.
            let mut tx = MailTx::begin(&ws).unwrap();
            let id = format!("msg-{round:012}");
            let rec = msg(&id, &["ann"], "new");
            model.insert(id, rec.to_line_in(KEY_ORDER));
            tx.put(rec);
            tx.commit().unwrap();
            let want: String = model.values().map(|l| format!("{l}\n")).collect();
            assert_eq!(
                std::fs::read_to_string(path(&ws)).unwrap(),
                want,
                "round {round}"
            );
            let mut seen = via_index(&ws, "ann");
            seen.sort();
            assert_eq!(
                seen,
                model.keys().cloned().collect::<Vec<_>>(),
                "round {round}"
            );
        }
    }

    #[test]
    fn lines_other_readers_accept_never_block_writes_or_hide_mail() {
        let (_t, ws) = temp_ws();
        // A repeated key (the last one counts, as for every reader) and an
        // address spelled with a JSON escape.
        let dup = r#"{"id":"msg-000000000001","id":"msg-000000000001","thread":"msg-000000000001","from":"zed","to":["bob"],"to":["ann"],"subject":"dup","body":"b","importance":"normal","ack_required":false,"created_at":"2026-01-01T00:00:00Z"}"#;
        let esc = r#"{"id":"msg-000000000002","thread":"msg-000000000002","from":"zed","to":["\u0061nn"],"subject":"esc","body":"b","importance":"normal","ack_required":false,"created_at":"2026-01-01T00:00:00Z"}"#;
        std::fs::write(path(&ws), format!("{dup}\n{esc}\n")).unwrap();
        assert_eq!(
            via_index(&ws, "ann"),
            ["msg-000000000001", "msg-000000000002"]
        );
        assert!(via_index(&ws, "bob").is_empty());
        let mut tx = MailTx::begin(&ws).unwrap();
        tx.put(msg("msg-000000000003", &["ann"], "new"));
        tx.commit().unwrap();
        assert_eq!(via_index(&ws, "ann").len(), 3);
        // With a bad line in the file, the slow road still finds both.
        let mut bytes = std::fs::read(path(&ws)).unwrap();
        bytes.extend_from_slice(b"{broken\n");
        std::fs::write(path(&ws), bytes).unwrap();
        assert_eq!(via_index(&ws, "ann").len(), 3);
    }

    #[test]
    fn a_cache_that_does_not_tile_its_file_is_not_trusted() {
        let lines = |spec: &[(&str, u64, u32)]| -> Vec<CLine> {
            spec.iter()
                .map(|(id, off, len)| CLine {
                    id: id.to_string(),
                    off: *off,
                    len: *len,
                    to: "[]".into(),
                })
                .collect()
        };
        assert!(tiles(&lines(&[("a", 0, 3), ("b", 4, 5)]), 10));
        assert!(tiles(&[], 0));
        assert!(!tiles(&lines(&[("a", 0, 3), ("b", 5, 4)]), 10), "a gap");
        assert!(
            !tiles(&lines(&[("b", 0, 3), ("a", 4, 5)]), 10),
            "out of order"
        );
        assert!(
            !tiles(&lines(&[("a", 0, 3), ("b", 4, 5)]), 12),
            "short of the end"
        );
    }

    #[test]
    fn spliced_writes_and_the_line_cache_follow_every_write_and_outside_edits() {
        let (_t, ws) = temp_ws();
        let addrs = ["ann", "bob", "@all", "cy@p"];
        // xorshift: deterministic pseudo-random writes.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut model: BTreeMap<String, String> = BTreeMap::new();
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
                let rec = msg(&id, &to, &subject);
                model.insert(id.clone(), rec.to_line_in(KEY_ORDER));
                tx.put(rec);
            }
            tx.commit().unwrap();
            // The spliced file is exactly the model, sorted, one line each.
            let want: String = model.values().map(|l| format!("{l}\n")).collect();
            assert_eq!(
                std::fs::read_to_string(path(&ws)).unwrap(),
                want,
                "round {round}"
            );
            if round % 9 == 4 {
                // Another tool (a merge, a pull) rewrites the file.
                let mut bytes = std::fs::read(path(&ws)).unwrap();
                let id = format!("msg-zz{round:010}");
                let extra = msg(&id, &["bob"], "outside").to_line_in(KEY_ORDER);
                model.insert(id.clone(), extra.clone());
                bytes.extend_from_slice(extra.as_bytes());
                bytes.push(b'\n');
                std::fs::write(path(&ws), &bytes).unwrap();
                // Every command's delivery bookkeeping caches this state
                // without its lines; readers must still find every line.
                deliveries(&ws).unwrap();
            }
            for a in addrs {
                assert_eq!(via_index(&ws, a), truth(&ws, a), "round {round}, {a}");
            }
        }
    }
}

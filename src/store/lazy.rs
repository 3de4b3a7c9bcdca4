//! The index as a write needs it: rows found by id without reading the whole
//! cache (a binary search over the sorted rows of `index.v1`), and the rows
//! writes changed since that file was built kept beside it in a small
//! overlay (`index-delta.v1`) instead of rewriting every row.
//!
//! The overlay names the base it extends (the tracker state the base was
//! built from) and the tracker state it describes; it is believed only when
//! both match. Each overlay row carries where its line was in the base's
//! file (`base_pos`, `base_len`, none for a line added since), so every
//! other row's place in today's file is its base place plus the growth of
//! the overlay rows before it: nothing else shifts.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::files::cache;
use crate::store::index::{self, Header, Pre, Row, Signature};

pub const DELTA_FILE: &str = "index-delta.v1";
const DELTA_MAGIC: &str = "strand-delta-1";
/// An overlay larger than this is folded into a new base by the next write.
pub const MAX_OVERLAY: usize = 1024;

/// `index.v1` opened for lookups by id.
pub struct BaseFile {
    file: File,
    rows_start: u64,
    end: u64,
    pub header: Header,
    /// Lines found at the probes of earlier searches: every search of one
    /// file starts with the same probes, so many lookups share them.
    probes: std::cell::RefCell<std::collections::HashMap<u64, Probe>>,
}

/// What a probe at some offset found: the next line's start, and the line
/// with the start after it when one read held it.
type Probe = (u64, Option<(String, u64)>);

const CHUNK: usize = 4096;

impl BaseFile {
    pub fn open(path: &Path) -> Option<BaseFile> {
        let (file, body) = cache::open(path)?;
        let start = cache::SEAL_LEN as u64;
        let mut b = BaseFile {
            file,
            rows_start: start,
            end: start + body as u64,
            header: Header::default(),
            probes: Default::default(),
        };
        let (line, next) = b.line_at(start)?;
        b.header = index::read_header(&line)?;
        b.rows_start = next;
        Some(b)
    }

    /// The line starting at `pos` (without its newline) and where the next
    /// one starts.
    fn line_at(&self, pos: u64) -> Option<(String, u64)> {
        let mut buf = Vec::new();
        let mut at = pos;
        loop {
            if at >= self.end {
                return None;
            }
            let want = CHUNK.min((self.end - at) as usize);
            let old = buf.len();
            buf.resize(old + want, 0);
            self.file.read_exact_at(&mut buf[old..], at).ok()?;
            if let Some(nl) = memchr::memchr(b'\n', &buf[old..]) {
                buf.truncate(old + nl);
                let next = pos + buf.len() as u64 + 1;
                return String::from_utf8(buf).ok().map(|s| (s, next));
            }
            at += want as u64;
        }
    }

    /// The first line start at or after `pos` (`pos` > the first row's
    /// start), with that line and the next start when one read holds it
    /// whole (one `pread` per step of a search, mostly).
    fn line_after(&self, pos: u64) -> Option<(u64, Option<(String, u64)>)> {
        let at = pos - 1;
        let mut buf = [0u8; CHUNK];
        let want = buf.len().min((self.end - at) as usize);
        self.file.read_exact_at(&mut buf[..want], at).ok()?;
        let Some(nl) = memchr::memchr(b'\n', &buf[..want]) else {
            return Some((self.start_after(pos)?, None));
        };
        let s = at + nl as u64 + 1;
        let rest = &buf[nl + 1..want];
        match memchr::memchr(b'\n', rest) {
            Some(end) => {
                let line = std::str::from_utf8(&rest[..end]).ok()?.to_string();
                Some((s, Some((line, s + end as u64 + 1))))
            }
            None => Some((s, None)),
        }
    }

    /// The first line start at or after `pos` (`pos` > the first row's start).
    fn start_after(&self, pos: u64) -> Option<u64> {
        let mut at = pos - 1;
        let mut buf = [0u8; 512];
        while at < self.end {
            let want = buf.len().min((self.end - at) as usize);
            self.file.read_exact_at(&mut buf[..want], at).ok()?;
            if let Some(nl) = memchr::memchr(b'\n', &buf[..want]) {
                return Some(at + nl as u64 + 1);
            }
            at += want as u64;
        }
        Some(self.end)
    }

    /// The first row whose id is not below `id` (`Some(None)`: there is
    /// none; `None`: the file cannot be read as rows).
    pub fn lower_bound(&self, id: &str) -> Option<Option<Row>> {
        let (mut lo, mut hi) = (self.rows_start, self.end);
        // The least line seen whose id is not below `id`, parsed at the end.
        let mut best: Option<String> = None;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (s, found) = if mid == lo {
                (lo, None)
            } else {
                let cached = self.probes.borrow().get(&mid).cloned();
                match cached {
                    Some(p) => p,
                    None => {
                        let p = self.line_after(mid)?;
                        let mut probes = self.probes.borrow_mut();
                        // Bounded: the shared probes are the first ones.
                        if probes.len() < 1 << 16 {
                            probes.insert(mid, p.clone());
                        }
                        p
                    }
                }
            };
            if s >= hi {
                hi = mid;
                continue;
            }
            let (line, next) = match found {
                Some(f) => f,
                None => self.line_at(s)?,
            };
            let ord = {
                let pre = Pre::Line(&line);
                let raw = pre.id();
                if raw.contains('\\') {
                    index::unesc(raw).as_str().cmp(id)
                } else {
                    raw.cmp(id)
                }
            };
            match ord {
                std::cmp::Ordering::Less => lo = next,
                std::cmp::Ordering::Equal => {
                    best = Some(line);
                    break;
                }
                std::cmp::Ordering::Greater => {
                    best = Some(line);
                    hi = s;
                }
            }
        }
        match best {
            Some(line) => Some(Some(index::read_row(&line)?)),
            None => Some(None),
        }
    }

    pub fn find(&self, id: &str) -> Option<Row> {
        self.lower_bound(id)?.filter(|r| r.id == id)
    }

    /// Every row's raw line, in order.
    fn each_line(&self, mut f: impl FnMut(&str)) -> Option<()> {
        let mut at = self.rows_start;
        let mut buf = vec![0u8; 1 << 20];
        let mut carry: Vec<u8> = Vec::new();
        while at < self.end {
            let want = buf.len().min((self.end - at) as usize);
            self.file.read_exact_at(&mut buf[..want], at).ok()?;
            at += want as u64;
            let mut rest = &buf[..want];
            while let Some(nl) = memchr::memchr(b'\n', rest) {
                if carry.is_empty() {
                    f(std::str::from_utf8(&rest[..nl]).ok()?);
                } else {
                    carry.extend_from_slice(&rest[..nl]);
                    f(std::str::from_utf8(&carry).ok()?);
                    carry.clear();
                }
                rest = &rest[nl + 1..];
            }
            carry.extend_from_slice(rest);
        }
        carry.is_empty().then_some(())
    }
}

/// A row of the overlay: the row as it is now, and where its line was in
/// the base's file.
#[derive(Debug, Clone, PartialEq)]
pub struct OvRow {
    pub base_pos: usize,
    pub base_len: Option<usize>,
    pub row: Row,
}

/// `span` moved `d` bytes (lines before it grew or shrank).
pub fn moved(span: std::ops::Range<usize>, d: i64) -> std::ops::Range<usize> {
    (span.start as i64 + d) as usize..(span.end as i64 + d) as usize
}

impl OvRow {
    /// How much longer the file is for this row than the base's was.
    pub fn growth(&self) -> i64 {
        (self.row.span.len() + 1) as i64 - self.base_len.map_or(0, |l| l as i64 + 1)
    }
}

/// The rows writes changed since the base was built.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    pub base_sig: Signature,
    /// The state described (the tracker's signature, window, settings).
    pub header: Header,
    /// Sorted by id.
    pub rows: Vec<OvRow>,
}

impl Overlay {
    pub fn load(path: &Path) -> Option<Overlay> {
        let text = cache::read_string(path)?;
        let mut lines = text.split_terminator('\n');
        let f: Vec<&str> = lines.next()?.split('\t').collect();
        if f.len() != 5 || f[0] != DELTA_MAGIC {
            return None;
        }
        let base_sig = Signature {
            len: f[1].parse().ok()?,
            mtime: f[2].parse().ok()?,
            ctime: f[3].parse().ok()?,
            ino: f[4].parse().ok()?,
        };
        let header = index::read_header(lines.next()?)?;
        let mut rows = Vec::new();
        for line in lines {
            let (pos, rest) = line.split_once('\t')?;
            let (len, row) = rest.split_once('\t')?;
            rows.push(OvRow {
                base_pos: pos.parse().ok()?,
                base_len: if len.is_empty() {
                    None
                } else {
                    Some(len.parse().ok()?)
                },
                row: index::read_row(row)?,
            });
        }
        Some(Overlay {
            base_sig,
            header,
            rows,
        })
    }

    pub fn save(&self, path: &Path) -> crate::error::Result<()> {
        use std::fmt::Write as _;
        let s = &self.base_sig;
        let mut out = format!(
            "{DELTA_MAGIC}\t{}\t{}\t{}\t{}\n",
            s.len, s.mtime, s.ctime, s.ino
        );
        index::write_header(&self.header, &mut out);
        for r in &self.rows {
            let _ = write!(out, "{}\t", r.base_pos);
            if let Some(l) = r.base_len {
                let _ = write!(out, "{l}");
            }
            out.push('\t');
            index::write_row(&r.row, &mut out);
        }
        cache::write(path, out.as_bytes())
    }

    fn find(&self, id: &str) -> Result<usize, usize> {
        self.rows.binary_search_by(|r| r.row.id.as_str().cmp(id))
    }

    /// `[i]`: the growth of rows `0..i` (one more entry than rows).
    fn growths(&self) -> Vec<i64> {
        let mut g = Vec::with_capacity(self.rows.len() + 1);
        g.push(0);
        for r in &self.rows {
            g.push(g[g.len() - 1] + r.growth());
        }
        g
    }
}

/// The index now: a base and its overlay.
pub struct Current {
    pub base: BaseFile,
    pub overlay: Overlay,
    /// `growth[i]`: the growth of overlay rows `0..i`.
    growth: Vec<i64>,
}

impl Current {
    /// The index of the tracker whose state is `sig`, when the caches in
    /// `dir` describe exactly that state.
    pub fn open(dir: &Path, sig: Signature) -> Option<Current> {
        let base = BaseFile::open(&dir.join(index::INDEX_FILE))?;
        let overlay = match Overlay::load(&dir.join(DELTA_FILE)) {
            Some(o) if o.base_sig == base.header.sig && o.header.sig == sig => o,
            _ if base.header.sig == sig => Overlay {
                base_sig: base.header.sig,
                header: base.header.clone(),
                rows: Vec::new(),
            },
            _ => return None,
        };
        let c = Current::new(base, overlay);
        // The overlay's rows account for every byte the file grew by.
        let total = c.growth.last().copied().unwrap_or(0);
        (c.base.header.sig.len as i64 + total == sig.len as i64).then_some(c)
    }

    fn new(base: BaseFile, overlay: Overlay) -> Current {
        let growth = overlay.growths();
        Current {
            base,
            overlay,
            growth,
        }
    }

    pub fn header(&self) -> &Header {
        &self.overlay.header
    }

    fn shifted(&self, mut row: Row, before: usize) -> Row {
        row.span = moved(row.span, self.growth[before]);
        row
    }

    /// The row of `id` as it is now.
    pub fn row(&self, id: &str) -> Option<Row> {
        match self.overlay.find(id) {
            Ok(i) => Some(self.overlay.rows[i].row.clone()),
            Err(i) => self.base.find(id).map(|r| self.shifted(r, i)),
        }
    }

    /// Where `id`'s line is or would be in the base's file: its start and
    /// its length (`None`: the base has no such row). `None` when the base
    /// cannot be read.
    pub fn base_place(&self, id: &str) -> Option<(usize, Option<usize>)> {
        if let Ok(i) = self.overlay.find(id) {
            let r = &self.overlay.rows[i];
            return Some((r.base_pos, r.base_len));
        }
        Some(match self.base.lower_bound(id)? {
            Some(r) if r.id == id => (r.span.start, Some(r.span.len())),
            Some(r) => (r.span.start, None),
            None => (self.base.header.sig.len as usize, None),
        })
    }

    /// Where a new line for `id` goes in today's file: the start of the
    /// first row after it (or the end).
    pub fn insertion_point(&self, id: &str) -> Option<usize> {
        let (pos, _) = self.base_place(id)?;
        let i = match self.overlay.find(id) {
            Ok(i) | Err(i) => i,
        };
        Some((pos as i64 + self.growth[i]) as usize)
    }

    /// Every id, sorted.
    pub fn ids(&self) -> Option<Vec<String>> {
        let mut out = Vec::new();
        self.base.each_line(|l| {
            let pre = Pre::Line(l);
            let id = pre.id();
            out.push(if id.contains('\\') {
                index::unesc(id)
            } else {
                id.to_string()
            });
        })?;
        let added: Vec<String> = self
            .overlay
            .rows
            .iter()
            .filter(|r| r.base_len.is_none())
            .map(|r| r.row.id.clone())
            .collect();
        if !added.is_empty() {
            out.extend(added);
            out.sort_unstable();
        }
        Some(out)
    }

    /// Ids that start with `p`, sorted.
    pub fn ids_starting(&self, p: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut at = match self.base.lower_bound(p)? {
            Some(r) if r.id.starts_with(p) => Some(r),
            _ => None,
        };
        // Walk forward from the first match by looking up successors.
        while let Some(r) = at {
            out.push(r.id.clone());
            let next = format!("{}\u{0}", r.id);
            at = match self.base.lower_bound(&next)? {
                Some(n) if n.id.starts_with(p) => Some(n),
                _ => None,
            };
        }
        for r in &self.overlay.rows {
            if r.row.id.starts_with(p) && r.base_len.is_none() {
                out.push(r.row.id.clone());
            }
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }
}

/// Rows of the base (all of them, as [`index::load`] reads them) brought up
/// to date with an overlay.
pub fn merge(base: Vec<Row>, overlay: &Overlay) -> Vec<Row> {
    let mut out = Vec::with_capacity(base.len() + overlay.rows.len());
    let mut ov = overlay.rows.iter().peekable();
    let mut growth = 0i64;
    for mut r in base {
        while let Some(o) = ov.peek()
            && o.row.id < r.id
        {
            growth += o.growth();
            out.push(o.row.clone());
            ov.next();
        }
        if let Some(o) = ov.peek()
            && o.row.id == r.id
        {
            growth += o.growth();
            out.push(o.row.clone());
            ov.next();
            continue;
        }
        r.span = moved(r.span, growth);
        out.push(r);
    }
    out.extend(ov.map(|o| o.row.clone()));
    out
}

/// The valid overlay of `dir` for a tracker in state `sig`, when the base
/// there is `base_sig`'s.
fn overlay_for(dir: &Path, base: &Header, sig: Signature) -> Option<Overlay> {
    if base.sig == sig {
        return None;
    }
    Overlay::load(&dir.join(DELTA_FILE)).filter(|o| o.base_sig == base.sig && o.header.sig == sig)
}

/// The header describing the tracker in state `sig`: the overlay's, or the
/// base's when it is the tracker's own.
pub fn load_header(dir: &Path, sig: Signature) -> Option<Header> {
    let base = index::load_header(&dir.join(index::INDEX_FILE))?;
    if base.sig == sig {
        return Some(base);
    }
    overlay_for(dir, &base, sig).map(|o| o.header)
}

/// Every row of the tracker in state `sig`, when the caches describe it.
pub fn load(dir: &Path, sig: Signature) -> Option<(Header, Vec<Row>)> {
    let base_header = index::load_header(&dir.join(index::INDEX_FILE))?;
    if base_header.sig == sig {
        return index::load(&dir.join(index::INDEX_FILE)).filter(|(h, _)| h.sig == sig);
    }
    let o = overlay_for(dir, &base_header, sig)?;
    let (h, rows) = index::load(&dir.join(index::INDEX_FILE))?;
    if h.sig != o.base_sig {
        return None;
    }
    let rows = merge(rows, &o);
    Some((o.header, rows))
}

/// [`index::load_where`] for the tracker in state `sig`, overlay included.
pub fn load_where(
    dir: &Path,
    sig: Signature,
    keep: impl Fn(&Pre) -> bool,
    ids: Option<&mut Vec<String>>,
) -> Option<(Header, Vec<Row>)> {
    let path = dir.join(index::INDEX_FILE);
    let base_header = index::load_header(&path)?;
    if base_header.sig == sig {
        return index::load_where(&path, keep, ids).filter(|(h, _)| h.sig == sig);
    }
    let o = overlay_for(dir, &base_header, sig)?;
    let in_overlay = |id: &str| o.find(id).is_ok();
    let mut all_ids = Vec::new();
    let want_ids = ids.is_some();
    let (h, base_rows) = index::load_where(
        &path,
        |p| !in_overlay(p.id()) && keep(p),
        want_ids.then_some(&mut all_ids),
    )?;
    if h.sig != o.base_sig {
        return None;
    }
    let growth = o.growths();
    let mut rows: Vec<Row> = base_rows
        .into_iter()
        .map(|mut r| {
            let i = o.find(&r.id).unwrap_or_else(|i| i);
            r.span = moved(r.span, growth[i]);
            r
        })
        .collect();
    rows.extend(
        o.rows
            .iter()
            .filter(|r| keep(&Pre::Row(&r.row)))
            .map(|r| r.row.clone()),
    );
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(ids) = ids {
        all_ids.extend(
            o.rows
                .iter()
                .filter(|r| r.base_len.is_none())
                .map(|r| r.row.id.clone()),
        );
        all_ids.sort_unstable();
        *ids = all_ids;
    }
    Some((o.header, rows))
}

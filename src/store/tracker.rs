//! The tracker file `issues.jsonl` as commands see it: a [`Snapshot`] for
//! readers (no lock; index rows plus lines read on demand) and a [`Tx`] for
//! writers (under the workspace lock; read, change, write once, atomically).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::files::atomic;
use crate::files::cache;
use crate::files::lock::{self, LockGuard};
use crate::model::graph::Node;
use crate::model::id::{self, Resolved};
use crate::model::record::Record;
use crate::model::time::Nanos;
use crate::store::index::{self, Header, Row, Signature};
use crate::store::splice::{self, Source, Splicer};
use crate::store::{Workspace, jsonl, lazy};

/// How the tracker is read: the moment and the types that are never work.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub now: Nanos,
    pub non_work: Vec<String>,
}

/// The tracker as loaded: rows sorted by id, and the bytes or file behind them.
pub struct Snapshot {
    pub path: PathBuf,
    pub header: Header,
    pub rows: Vec<Row>,
    file: Option<File>,
    /// Every id of the tracker, when `rows` holds only some of them.
    all_ids: Option<Vec<String>>,
}

fn open_tracker(path: &PathBuf) -> Result<Option<File>> {
    match crate::files::open_read(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn read_all(path: &PathBuf, file: &Option<File>) -> Result<Vec<u8>> {
    let Some(f) = file else { return Ok(Vec::new()) };
    let len = f.metadata().map_or(0, |m| m.len() as usize);
    if len >= BIG_READ
        && let Some(buf) = read_halves(f, len)
    {
        return Ok(buf);
    }
    let mut buf = Vec::with_capacity(len + 1);
    use std::io::{Read, Seek};
    let mut r: &File = f;
    r.seek(std::io::SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    r.read_to_end(&mut buf).map_err(|e| Error::io(path, e))?;
    Ok(buf)
}

/// From this size on, [`read_all`] reads with two threads.
const BIG_READ: usize = 8 << 20;

/// The file's `len` bytes, read as two halves at once: most of a large read
/// is the kernel filling fresh pages, which two cores do in half the time.
/// `None` when the file is not exactly that long any more (the caller reads
/// it the plain way).
fn read_halves(f: &File, len: usize) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; len];
    let (a, b) = buf.split_at_mut(len / 2);
    let at = a.len() as u64;
    let ok = std::thread::scope(|s| {
        let other = s.spawn(|| f.read_exact_at(b, at).is_ok());
        let mine = f.read_exact_at(a, 0).is_ok();
        other.join().unwrap_or(false) && mine
    });
    // Nothing past `len`: the file did not grow meanwhile.
    (ok && f.read_at(&mut [0u8; 1], len as u64).ok() == Some(0)).then_some(buf)
}

/// The records of another workspace's tracker whose id is in `ids` (one pass
/// over its file, no index, no lock: a reader). Missing file: none.
pub fn records_with_ids(
    root: &std::path::Path,
    ids: &std::collections::HashSet<&str>,
) -> Vec<Record> {
    let bytes =
        crate::files::read(Workspace::at(root.to_path_buf()).issues_path()).unwrap_or_default();
    jsonl::records_with_ids(&bytes, ids)
}

/// The records of this workspace whose id is in `ids`, each read from its
/// own line through the index: with a fresh index nothing else of the file
/// or the index is read (a stale one is rebuilt first, as every reader does).
pub fn records_named(
    ws: &Workspace,
    view: &View,
    ids: &std::collections::HashSet<&str>,
) -> Result<Vec<Record>> {
    let ids: Vec<&str> = ids.iter().copied().collect();
    let snap = Snapshot::load_ids(ws, view, &ids)?;
    snap.rows.iter().map(|r| snap.record(r)).collect()
}

/// Whether index rows describe a canonical file of `len` bytes line by line:
/// each right after the previous one's newline, the last newline the last
/// byte. Writes splice the old file by these spans, so an index that does not
/// tile its file is not trusted with that.
fn tiles(rows: &[Row], len: u64) -> bool {
    let mut pos = 0usize;
    for r in rows {
        if r.span.start != pos || r.span.end < r.span.start {
            return false;
        }
        pos = r.span.end + 1;
    }
    pos as u64 == len
}

/// Parse the whole file into rows and a header.
fn build(bytes: &[u8], sig: Signature, view: &View) -> (Header, Vec<Row>) {
    let parsed = parse_rows(bytes);
    finish(parsed, sig, view)
}

/// Rows of every line that parses, before the derived columns.
struct ParsedRows {
    rows: Vec<Row>,
    bad_lines: Vec<usize>,
    needs_normalizing: bool,
}

fn parse_rows(bytes: &[u8]) -> ParsedRows {
    let (crlf, no_final) = jsonl::line_endings(bytes);
    let mut rows = Vec::new();
    let mut bad_lines = Vec::new();
    for (line, span, res) in jsonl::parse_lines(bytes, |text| {
        // The lenient path only for lines the fast one cannot take.
        match Row::from_line(text, 0..0) {
            Some(r) => Ok(r),
            None => Record::parse(text).map(|rec| Row::from_record(&rec, 0..0)),
        }
    }) {
        match res {
            Ok(mut row) => {
                row.span = span;
                rows.push(row);
            }
            Err(_) => bad_lines.push(line),
        }
    }
    let (unsorted, _) = jsonl::order_of(rows.iter().map(|r| r.id.as_str()));
    if unsorted {
        rows.sort_by(|a, b| a.id.cmp(&b.id));
    }
    ParsedRows {
        rows,
        bad_lines,
        needs_normalizing: crlf || no_final || unsorted,
    }
}

/// Derive the sets over parsed rows and make the cache header.
fn finish(parsed: ParsedRows, sig: Signature, view: &View) -> (Header, Vec<Row>) {
    let ParsedRows {
        mut rows,
        bad_lines,
        needs_normalizing,
    } = parsed;
    let duplicate_ids = jsonl::order_of(rows.iter().map(|r| r.id.as_str())).1;
    let header = Header {
        needs_normalizing,
        bad_lines,
        duplicate_ids,
        ..derive_sets(&mut rows, sig, view)
    };
    (header, rows)
}

/// Derive the ready and blocked sets over `rows` for `view`: the header of
/// a file whose state is `sig`, with the window in which the sets hold.
fn derive_sets(rows: &mut [Row], sig: Signature, view: &View) -> Header {
    let d = index::derive(rows, view.now, &view.non_work);
    Header {
        sig,
        valid_from: d.valid_from,
        valid_until: d.valid_until,
        view_key: index::view_key(&view.non_work),
        dangling: d.dangling,
        top_level: top_level(rows.iter().map(|r| r.id.as_str())),
        prefixes: prefixes(rows.iter().map(|r| r.id.as_str())),
        ..Header::default()
    }
}

/// The distinct prefixes of `ids` (before the first `-`), sorted.
fn prefixes<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for id in ids {
        if let Some((p, _)) = id.split_once('-') {
            out.insert(p);
        }
    }
    out.into_iter().map(str::to_string).collect()
}

/// How many of `ids` are not children.
fn top_level<'a>(ids: impl Iterator<Item = &'a str>) -> u64 {
    ids.filter(|i| id::split_child(i).is_none()).count() as u64
}

fn save_caches(ws: &Workspace, header: &Header, rows: &[Row]) {
    let dir = ws.cache_dir();
    // Best effort: a cache that cannot be written is rebuilt next time.
    // Rendering is most of the work: the index's two halves are rendered
    // at once, then the two set files.
    let (first, second) = rows.split_at(rows.len() / 2);
    let (a, b) = std::thread::scope(|s| {
        let b = s.spawn(|| index::render_rows(second.iter()));
        let a = index::render(header, first.iter());
        (a, b.join().unwrap_or_default())
    });
    let _ = cache::write_parts(&dir.join(index::INDEX_FILE), &[a.as_bytes(), b.as_bytes()]);
    crate::store::leave((a, b));
    let dir = &dir;
    std::thread::scope(|s| {
        for (file, keep) in [
            (
                index::BLOCKED_FILE,
                (|r: &Row| r.blocked) as fn(&Row) -> bool,
            ),
            (index::READY_FILE, |r: &Row| r.ready),
        ] {
            s.spawn(move || {
                let mut set: Vec<&Row> = rows.iter().filter(|r| keep(r)).collect();
                sort_ready(&mut set);
                let _ = cache::write(
                    &dir.join(file),
                    index::render(header, set.into_iter()).as_bytes(),
                );
            });
        }
    });
    // The overlay of the old base is stale now (and would be ignored).
    let _ = crate::files::remove_file(dir.join(lazy::DELTA_FILE));
}

/// The ready order: priority, oldest first, then id.
pub fn sort_ready(rows: &mut [&Row]) {
    rows.sort_by(|a, b| (a.priority, a.created_at, &a.id).cmp(&(b.priority, b.created_at, &b.id)));
}

impl Snapshot {
    /// Load the tracker through the index, rebuilding it when stale.
    pub fn load(ws: &Workspace, view: &View) -> Result<Snapshot> {
        let path = ws.issues_path();
        let (file, sig) = Signature::open(&path)?;
        // The headers are read first: a stale index is not worth parsing.
        if file.is_some()
            && let Some((header, mut rows)) = lazy::load(&ws.cache_dir(), sig)
        {
            let mut header = header;
            if !header.sets_fresh(view.now, &view.non_work) {
                let d = index::derive(&mut rows, view.now, &view.non_work);
                (header.valid_from, header.valid_until, header.dangling) =
                    (d.valid_from, d.valid_until, d.dangling);
                header.view_key = index::view_key(&view.non_work);
                save_caches(ws, &header, &rows);
            }
            return Ok(Snapshot {
                path,
                header,
                rows,
                file,
                all_ids: None,
            });
        }
        // The file's bytes are not needed once its rows are parsed.
        let parsed = parse_rows(&read_all(&path, &file)?);
        let (header, rows) = finish(parsed, sig, view);
        if file.is_some() {
            save_caches(ws, &header, &rows);
        }
        Ok(Snapshot {
            path,
            header,
            rows,
            file,
            all_ids: None,
        })
    }

    /// Load only the rows `keep` wants (and, with `with_ids`, every id, for
    /// resolving what users type): a fresh index is read without building the
    /// rows nobody asked for. A stale one is rebuilt and then filtered.
    pub fn load_where(
        ws: &Workspace,
        view: &View,
        keep: impl Fn(&index::Pre) -> bool,
        with_ids: bool,
    ) -> Result<Snapshot> {
        let path = ws.issues_path();
        let file = open_tracker(&path)?;
        if let Some(f) = &file {
            let sig = Signature::of(f).map_err(|e| Error::io(&path, e))?;
            let fresh = lazy::load_header(&ws.cache_dir(), sig)
                .is_some_and(|h| h.sets_fresh(view.now, &view.non_work));
            let mut ids = Vec::new();
            if fresh
                && let Some((header, rows)) =
                    lazy::load_where(&ws.cache_dir(), sig, &keep, with_ids.then_some(&mut ids))
                && header.sig == sig
            {
                return Ok(Snapshot {
                    path,
                    header,
                    rows,
                    file,
                    all_ids: with_ids.then_some(ids),
                });
            }
        }
        let mut snap = Snapshot::load(ws, view)?;
        if with_ids {
            snap.all_ids = Some(snap.rows.iter().map(|r| r.id.clone()).collect());
        }
        // The rows kept are taken out; the rest are left to the process's
        // end (freeing 100k rows takes tens of milliseconds).
        let kept: Vec<Row> = snap
            .rows
            .iter_mut()
            .filter(|r| keep(&index::Pre::Row(r)))
            .map(std::mem::take)
            .collect();
        crate::store::leave(std::mem::replace(&mut snap.rows, kept));
        Ok(snap)
    }

    /// The rows of exactly these ids (those that exist), each found by a
    /// lookup in the index on disk when it is fresh: nothing else of the
    /// index or the file is read. A stale index is rebuilt first.
    pub fn load_ids(ws: &Workspace, view: &View, ids: &[&str]) -> Result<Snapshot> {
        let path = ws.issues_path();
        let file = open_tracker(&path)?;
        if let Some(f) = &file {
            let sig = Signature::of(f).map_err(|e| Error::io(&path, e))?;
            if let Some(cur) = lazy::Current::open(&ws.cache_dir(), sig)
                .filter(|c| c.header().sets_fresh(view.now, &view.non_work))
            {
                let mut wanted: Vec<&str> = ids.to_vec();
                wanted.sort_unstable();
                wanted.dedup();
                let rows: Vec<Row> = wanted.into_iter().filter_map(|id| cur.row(id)).collect();
                return Ok(Snapshot {
                    path,
                    header: cur.header().clone(),
                    rows,
                    file,
                    all_ids: None,
                });
            }
        }
        let wanted: std::collections::HashSet<&str> = ids.iter().copied().collect();
        Snapshot::load_where(ws, view, |p| wanted.contains(p.id()), false)
    }

    /// Resolve what a user typed to a full id.
    pub fn resolve_id(&self, query: &str, prefix: &str) -> Result<String> {
        let owned;
        let ids: Vec<&str> = match &self.all_ids {
            Some(all) => all.iter().map(String::as_str).collect(),
            None => {
                owned = self.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>();
                owned
            }
        };
        match id::resolve(query, prefix, &ids) {
            Resolved::One(id) => Ok(id.to_string()),
            Resolved::None => Err(Error::no_issue(query)),
            Resolved::Many(c) => Err(Error::Ambiguous {
                prefix: query.to_string(),
                candidates: c.into_iter().map(str::to_string).collect(),
            }),
        }
    }

    /// Every id (also when only some rows were loaded).
    pub fn id_list(&self) -> Vec<&str> {
        match &self.all_ids {
            Some(all) => all.iter().map(String::as_str).collect(),
            None => self.rows.iter().map(|r| r.id.as_str()).collect(),
        }
    }

    /// The ready (or blocked) rows in order, from the small precomputed cache
    /// when it is fresh; `None` means "load the snapshot instead".
    pub fn load_set(
        ws: &Workspace,
        view: &View,
        set: &str,
    ) -> Result<Option<(Snapshot, Vec<Row>)>> {
        Snapshot::load_set_head(ws, view, set, usize::MAX, |_| true)
    }

    /// The first `max` rows of a precomputed set (in its order, the ready
    /// order) that `accept` takes, reading the set file only as far as it
    /// must; `None` means "load the snapshot instead".
    pub fn load_set_head(
        ws: &Workspace,
        view: &View,
        set: &str,
        max: usize,
        mut accept: impl FnMut(&Row) -> bool,
    ) -> Result<Option<(Snapshot, Vec<Row>)>> {
        use std::io::BufRead;
        let path = ws.issues_path();
        let Some(file) = open_tracker(&path)? else {
            return Ok(None);
        };
        let sig = Signature::of(&file).map_err(|e| Error::io(&path, e))?;
        let Some((f, len)) = cache::open(&ws.cache_dir().join(set)) else {
            return Ok(None);
        };
        let mut r = std::io::BufReader::with_capacity(1 << 16, std::io::Read::take(f, len as u64));
        let mut line = String::new();
        if r.read_line(&mut line).is_err() {
            return Ok(None);
        }
        let Some(header) = index::read_header(line.trim_end_matches('\n')) else {
            return Ok(None);
        };
        if header.sig != sig || !header.sets_fresh(view.now, &view.non_work) {
            return Ok(None);
        }
        let mut rows = Vec::new();
        while rows.len() < max {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) if line.ends_with('\n') => {}
                _ => return Ok(None),
            }
            let Some(row) = index::read_row(&line[..line.len() - 1]) else {
                return Ok(None);
            };
            if accept(&row) {
                rows.push(row);
            }
        }
        let snap = Snapshot {
            path,
            header,
            rows: Vec::new(),
            file: Some(file),
            all_ids: None,
        };
        Ok(Some((snap, rows)))
    }

    /// Line numbers that did not parse (readers warn and skip them).
    pub fn bad_lines(&self) -> &[usize] {
        &self.header.bad_lines
    }

    pub fn find(&self, id: &str) -> Option<&Row> {
        self.rows
            .binary_search_by(|r| r.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.rows[i])
    }

    /// Resolve what a user typed to one row.
    pub fn resolve(&self, query: &str, prefix: &str) -> Result<&Row> {
        let ids: Vec<&str> = self.rows.iter().map(|r| r.id.as_str()).collect();
        match id::resolve(query, prefix, &ids) {
            Resolved::One(id) => Ok(self.find(id).expect("resolved ids exist")),
            Resolved::None => Err(Error::no_issue(query)),
            Resolved::Many(c) => Err(Error::Ambiguous {
                prefix: query.to_string(),
                candidates: c.into_iter().map(str::to_string).collect(),
            }),
        }
    }

    /// The full record behind a row, read from its line.
    pub fn record(&self, row: &Row) -> Result<Record> {
        let Some(f) = &self.file else {
            return Err(Error::no_issue(&row.id));
        };
        let mut buf = vec![0u8; row.span.len()];
        f.read_exact_at(&mut buf, row.span.start as u64)
            .map_err(|e| Error::io(&self.path, e))?;
        let text = String::from_utf8(buf).map_err(|_| Error::Parse {
            path: self.path.clone(),
            line: 0,
            reason: format!("line of {} is not UTF-8", row.id),
        })?;
        let rec = Record::parse(&text).map_err(|reason| Error::Parse {
            path: self.path.clone(),
            line: 0,
            reason,
        })?;
        if rec.id() != row.id {
            return Err(Error::Parse {
                path: self.path.clone(),
                line: 0,
                reason: format!(
                    "index out of date: expected {} at byte {}",
                    row.id, row.span.start
                ),
            });
        }
        Ok(rec)
    }

    /// Every record in id order (full parse; for search, export, doctor).
    pub fn records(&self) -> Result<Vec<Record>> {
        let bytes = read_all(&self.path, &open_tracker(&self.path)?)?;
        let mut recs: Vec<Record> = jsonl::parse(&bytes)
            .good
            .into_iter()
            .map(|g| g.record)
            .collect();
        recs.sort_by(|a, b| a.id().cmp(b.id()));
        Ok(recs)
    }

    pub fn nodes(&self) -> Vec<Node> {
        self.rows.iter().map(Row::node).collect()
    }
}

/// The rows a transaction starts from.
enum Rows {
    /// Every row in memory: the index was rebuilt, or the file is not
    /// canonical and the whole of it is rewritten.
    Full(Vec<Row>),
    /// Rows looked up by id in the index on disk (base and overlay): a
    /// write reads and writes only what it touches.
    Lazy(Box<lazy::Current>),
}

/// A write transaction: holds the workspace lock from `begin` to `commit`.
pub struct Tx {
    ws: Workspace,
    view: View,
    _lock: Option<LockGuard>,
    /// The old lines: in memory, or (when the index describes the file) the
    /// file itself, read only where a record is needed.
    src: Source,
    rows: Rows,
    changed: BTreeMap<String, Record>,
    normalize: bool,
    /// Ids new in this transaction, in creation order.
    pub created: Vec<String>,
}

fn stale_index(ws: &Workspace) -> Error {
    Error::Invalid {
        msg: format!(
            "the index cache under {} does not match {}; nothing was written",
            ws.cache_dir().display(),
            ws.issues_path().display()
        ),
        hint: Some("delete .beads/.cache/ (it is rebuilt) and run the command again".into()),
    }
}

impl Tx {
    /// Take the lock and load the current file. Refuses files with bad lines
    /// or duplicate ids: a write must never lose them.
    pub fn begin(ws: &Workspace, view: &View) -> Result<Tx> {
        let guard = lock::acquire(&ws.lock_path(), lock::default_timeout())?;
        Self::begin_locked(ws, view, Some(guard))
    }

    /// [`Tx::begin`] for a caller that already holds the workspace lock (a
    /// [`super::mail::MailTx`] writing both files in one critical section).
    pub fn begin_under_lock(ws: &Workspace, view: &View) -> Result<Tx> {
        Self::begin_locked(ws, view, None)
    }

    fn begin_locked(ws: &Workspace, view: &View, guard: Option<LockGuard>) -> Result<Tx> {
        atomic::sweep_temps(&ws.beads);
        let path = ws.issues_path();
        let (file, sig) = Signature::open(&path)?;
        let dir = ws.cache_dir();
        let mut cur = match &file {
            Some(_) => lazy::Current::open(&dir, sig),
            None => None,
        };
        // No index at all (a fresh clone, a deleted cache, a pull): build it
        // as a reader does, which keeps no more than the rows in memory,
        // then write through it.
        if cur.is_none() && file.is_some() && lazy::load_header(&dir, sig).is_none() {
            crate::store::leave(Snapshot::load(ws, view)?);
            cur = lazy::Current::open(&dir, sig);
        }
        // A fresh index of a canonical file, with sets right for now: rows
        // are looked up where they are, the file is spliced.
        let lazy = cur.filter(|c| {
            let h = c.header();
            !h.needs_normalizing
                && h.bad_lines.is_empty()
                && h.duplicate_ids.is_empty()
                && h.sets_fresh(view.now, &view.non_work)
        });
        if let (Some(cur), Some(f)) = (lazy, &file) {
            let f = f.try_clone().map_err(|e| Error::io(&path, e))?;
            return Ok(Tx {
                ws: ws.clone(),
                view: view.clone(),
                _lock: guard,
                src: Source::File(f),
                rows: Rows::Lazy(Box::new(cur)),
                changed: BTreeMap::new(),
                normalize: false,
                created: Vec::new(),
            });
        }
        let cached = if file.is_some() {
            lazy::load(&dir, sig)
        } else {
            None
        };
        // A fresh index of a canonical file says where every line is: the
        // file need not be read; a write splices it.
        let (header, rows, src) = match (cached, file) {
            (Some((h, rows)), Some(f)) if !h.needs_normalizing && tiles(&rows, sig.len) => {
                (h, rows, Source::File(f))
            }
            (cached, file) => {
                let bytes = read_all(&path, &file)?;
                // Spans of a canonical file must tile it; a cache that does
                // not is rebuilt rather than trusted with a write.
                let (h, rows) = match cached {
                    Some((h, rows)) if h.needs_normalizing || tiles(&rows, sig.len) => (h, rows),
                    _ => build(&bytes, sig, view),
                };
                (h, rows, Source::Bytes(bytes))
            }
        };
        if !header.bad_lines.is_empty() {
            return Err(Error::BadLines {
                path,
                lines: header.bad_lines,
            });
        }
        if !header.duplicate_ids.is_empty() {
            return Err(Error::Invalid {
                msg: format!(
                    "{} has duplicate ids ({}); refusing to write",
                    path.display(),
                    header.duplicate_ids.join(", ")
                ),
                hint: Some("run `bd doctor --fix` to merge them".into()),
            });
        }
        Ok(Tx {
            ws: ws.clone(),
            view: view.clone(),
            _lock: guard,
            src,
            rows: Rows::Full(rows),
            changed: BTreeMap::new(),
            normalize: header.needs_normalizing,
            created: Vec::new(),
        })
    }

    pub fn view(&self) -> &View {
        &self.view
    }

    /// Whether `rec` is written exactly as the stored line of `row`.
    fn same_line(&self, row: &Row, rec: &Record) -> bool {
        self.src
            .read(row.span.clone())
            .is_ok_and(|b| *b == *rec.to_line().as_bytes())
    }

    /// The stored row of `id` (before this transaction's changes).
    pub fn row(&self, id: &str) -> Option<Row> {
        match &self.rows {
            Rows::Full(rows) => rows
                .binary_search_by(|r| r.id.as_str().cmp(id))
                .ok()
                .map(|i| rows[i].clone()),
            Rows::Lazy(c) => c.row(id),
        }
    }

    /// The row of `id` with this transaction's changes (a changed record's
    /// derived columns other than its parent are not recomputed).
    pub fn current_row(&self, id: &str) -> Option<Row> {
        match self.changed.get(id) {
            Some(rec) => {
                let mut r = Row::from_record(rec, 0..0);
                r.parent = rec.parent();
                Some(r)
            }
            None => self.row(id),
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.changed.contains_key(id) || self.row(id).is_some()
    }

    /// All ids, old and new, sorted.
    pub fn ids(&self) -> Result<Vec<String>> {
        let mut ids: Vec<String> = match &self.rows {
            Rows::Full(rows) => rows.iter().map(|r| r.id.clone()).collect(),
            Rows::Lazy(c) => c.ids().ok_or_else(|| stale_index(&self.ws))?,
        };
        let old = ids.len();
        for k in self.changed.keys() {
            if ids.binary_search(k).is_err() {
                ids.push(k.clone());
            }
        }
        if ids.len() > old {
            ids.sort_unstable();
        }
        Ok(ids)
    }

    /// Ids that start with `p` (old and new), sorted.
    pub fn ids_starting(&self, p: &str) -> Result<Vec<String>> {
        let mut ids: Vec<String> = match &self.rows {
            Rows::Full(rows) => {
                let from = rows.partition_point(|r| r.id.as_str() < p);
                rows[from..]
                    .iter()
                    .take_while(|r| r.id.starts_with(p))
                    .map(|r| r.id.clone())
                    .collect()
            }
            Rows::Lazy(c) => c.ids_starting(p).ok_or_else(|| stale_index(&self.ws))?,
        };
        ids.extend(self.changed.keys().filter(|k| k.starts_with(p)).cloned());
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// The distinct prefixes of ids (old and new; before the first `-`).
    pub fn id_prefixes(&self) -> Vec<String> {
        let mut all: Vec<String> = match &self.rows {
            Rows::Full(rows) => prefixes(rows.iter().map(|r| r.id.as_str())),
            Rows::Lazy(c) => c.header().prefixes.clone(),
        };
        all.extend(prefixes(self.changed.keys().map(String::as_str)));
        all.sort();
        all.dedup();
        all
    }

    /// How many ids (old and new) are not children.
    pub fn top_level_count(&self) -> usize {
        let stored = match &self.rows {
            Rows::Full(rows) => top_level(rows.iter().map(|r| r.id.as_str())) as usize,
            Rows::Lazy(c) => c.header().top_level as usize,
        };
        stored
            + self
                .changed
                .keys()
                .filter(|k| id::split_child(k).is_none() && self.row(k).is_none())
                .count()
    }

    /// Resolve what a user typed to an id.
    pub fn resolve(&self, query: &str, prefix: &str) -> Result<String> {
        // The exact id (or the id with its prefix left out) without reading
        // every id.
        let q = query.trim();
        for cand in [q.to_string(), format!("{prefix}-{q}")] {
            if self.contains(&cand) {
                return Ok(cand);
            }
        }
        let owned = self.ids()?;
        let ids: Vec<&str> = owned.iter().map(String::as_str).collect();
        match id::resolve(query, prefix, &ids) {
            Resolved::One(id) => Ok(id.to_string()),
            Resolved::None => Err(Error::no_issue(query)),
            Resolved::Many(c) => Err(Error::Ambiguous {
                prefix: query.to_string(),
                candidates: c.into_iter().map(str::to_string).collect(),
            }),
        }
    }

    /// The current record (with this transaction's changes).
    pub fn get(&self, id: &str) -> Result<Record> {
        if let Some(r) = self.changed.get(id) {
            return Ok(r.clone());
        }
        let row = self.row(id).ok_or_else(|| Error::no_issue(id))?;
        let bytes = self
            .src
            .read(row.span.clone())
            .map_err(|e| Error::io(self.ws.issues_path(), e))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::Parse {
            path: self.ws.issues_path(),
            line: 0,
            reason: format!("line of {id} is not UTF-8"),
        })?;
        let rec = Record::parse(text).map_err(|reason| Error::Parse {
            path: self.ws.issues_path(),
            line: 0,
            reason,
        })?;
        self.check_span(&row, rec.id())?;
        Ok(rec)
    }

    /// The index said where a record's line is, and a write replaces exactly
    /// that span: it must really hold this record.
    fn check_span(&self, row: &Row, found: &str) -> Result<()> {
        if found == row.id {
            return Ok(());
        }
        Err(Error::Invalid {
            msg: format!(
                "the index cache is out of date: bytes {}..{} of {} hold {found}, not {}; nothing was written",
                row.span.start,
                row.span.end,
                self.ws.issues_path().display(),
                row.id
            ),
            hint: Some("delete .beads/.cache/ (it is rebuilt) and run the command again".into()),
        })
    }

    /// Stage a record (new or changed).
    pub fn put(&mut self, rec: Record) {
        if !self.contains(rec.id()) {
            self.created.push(rec.id().to_string());
        }
        self.changed.insert(rec.id().to_string(), rec);
    }

    /// Graph nodes (with this transaction's changes) reachable from `start`
    /// along blocking edges, `start` first: all a cycle check from there
    /// can meet.
    pub fn nodes_reachable(&self, start: &str) -> Vec<Node> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::from([start.to_string()]);
        let mut queue = std::collections::VecDeque::from([start.to_string()]);
        while let Some(id) = queue.pop_front() {
            let Some(node) = self.current_row(&id).map(|r| r.node()) else {
                continue;
            };
            for e in &node.edges {
                if crate::model::graph::is_blocking_kind(&e.kind) && seen.insert(e.target.clone()) {
                    queue.push_back(e.target.clone());
                }
            }
            out.push(node);
        }
        out
    }

    /// The issues with an edge to `id` (with this transaction's changes):
    /// (their id, the edge's type), sorted.
    pub fn dependents_of(&self, id: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .row(id)
            .map(|r| r.dependents)
            .unwrap_or_default()
            .into_iter()
            .filter(|e| !self.changed.contains_key(&e.target))
            .map(|e| (e.target, e.kind))
            .collect();
        for (src, rec) in &self.changed {
            for d in rec.deps() {
                if d.depends_on_id == id {
                    out.push((src.clone(), d.kind));
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The children of `id` (with this transaction's changes), sorted.
    pub fn children_of(&self, id: &str) -> Vec<Row> {
        let mut out: Vec<Row> = Vec::new();
        for (src, kind) in self.dependents_of(id) {
            if kind != crate::model::graph::PARENT_CHILD || out.iter().any(|r| r.id == src) {
                continue;
            }
            if let Some(r) = self.current_row(&src)
                && r.parent.as_deref() == Some(id)
            {
                out.push(r);
            }
        }
        out
    }

    /// Whether anything would be written.
    pub fn is_dirty(&self) -> bool {
        self.normalize
            || self.changed.iter().any(|(id, rec)| match self.row(id) {
                Some(row) => !self.same_line(&row, rec),
                None => true,
            })
    }

    /// What this transaction changes, for a commit subject: (id, title, is new).
    pub fn changes(&self) -> Vec<(String, String, bool)> {
        self.changed
            .iter()
            .filter_map(|(id, rec)| match self.row(id) {
                Some(row) if self.same_line(&row, rec) => None,
                Some(_) => Some((id.clone(), rec.title(), false)),
                None => Some((id.clone(), rec.title(), true)),
            })
            .collect()
    }

    /// The records this transaction changes, each with its stored version
    /// (`None` for a new record).
    pub fn changed_pairs(&self) -> Vec<(Option<Record>, Record)> {
        self.changed
            .iter()
            .filter_map(|(id, rec)| match self.row(id) {
                Some(row) if self.same_line(&row, rec) => None,
                Some(row) => {
                    let old = self.src.read(row.span.clone()).ok().and_then(|b| {
                        std::str::from_utf8(&b)
                            .ok()
                            .and_then(|t| Record::parse(t).ok())
                    });
                    Some((old, rec.clone()))
                }
                None => Some((None, rec.clone())),
            })
            .collect()
    }

    /// Whether the file was not canonical and this write normalizes it.
    pub fn normalizes(&self) -> bool {
        self.normalize
    }

    /// Write the file (if anything changed) and refresh the caches.
    /// Returns whether the file was written.
    pub fn commit(self) -> Result<bool> {
        if !self.is_dirty() {
            return Ok(false);
        }
        // Every old line this write replaces is the record the index says.
        for id in self.changed.keys() {
            if let Some(row) = self.row(id) {
                let found = self
                    .src
                    .read(row.span.clone())
                    .ok()
                    .and_then(|b| {
                        std::str::from_utf8(&b)
                            .ok()
                            .and_then(|t| Record::parse(t).ok())
                    })
                    .map(|r| r.id().to_string())
                    .unwrap_or_default();
                self.check_span(&row, &found)?;
            }
        }
        let Tx {
            ws,
            view,
            src,
            rows,
            changed,
            normalize,
            ..
        } = self;
        match rows {
            Rows::Full(rows) => commit_full(&ws, &view, src, rows, changed, normalize),
            Rows::Lazy(cur) => commit_lazy(&ws, &view, src, *cur, changed),
        }
    }
}

/// Rewrite the file from every row in memory and rebuild the caches.
fn commit_full(
    ws: &Workspace,
    view: &View,
    src: Source,
    old_rows: Vec<Row>,
    changed: BTreeMap<String, Record>,
    normalize: bool,
) -> Result<bool> {
    let mut rows: Vec<Row> = Vec::with_capacity(old_rows.len() + changed.len());
    let path = ws.issues_path();
    // Write the new file: runs of unchanged lines are spliced from the
    // old file (their bytes and newline as they are), changed ones
    // serialized; rows get their new spans.
    let written = atomic::write_file(&path, |out| {
        let mut sp = Splicer::new(&src);
        // Where the next line starts in the new file.
        let next = |rows: &Vec<Row>| rows.last().map_or(0, |r: &Row| r.span.end + 1);
        let fresh = |sp: &mut Splicer, out: &mut File, rows: &mut Vec<Row>, rec: &Record| {
            let line = rec.to_line();
            sp.new_bytes(out, line.as_bytes())?;
            sp.new_bytes(out, b"\n")?;
            let pos = next(rows);
            rows.push(Row::from_record(rec, pos..pos + line.len()));
            std::io::Result::Ok(())
        };
        let mut changed = changed.iter().peekable();
        for row in old_rows {
            while let Some((id, rec)) = changed.peek()
                && id.as_str() < row.id.as_str()
            {
                fresh(&mut sp, out, &mut rows, rec)?;
                changed.next();
            }
            if let Some((id, rec)) = changed.peek()
                && id.as_str() == row.id.as_str()
            {
                fresh(&mut sp, out, &mut rows, rec)?;
                changed.next();
                continue;
            }
            let len = if normalize {
                // CRLF, unsorted or no final newline: line by line,
                // without what was left of the line ending.
                let b = src.read(row.span.clone())?;
                let line = b.trim_ascii_end();
                sp.new_bytes(out, line)?;
                sp.new_bytes(out, b"\n")?;
                line.len()
            } else {
                sp.old(out, row.span.start as u64, row.span.end as u64 + 1)?;
                row.span.len()
            };
            let pos = next(&rows);
            let mut row = row;
            row.span = pos..pos + len;
            rows.push(row);
        }
        for (_, rec) in changed {
            fresh(&mut sp, out, &mut rows, rec)?;
        }
        sp.flush(out)
    })?;
    let header = derive_sets(&mut rows, Signature::of_meta(&written), view);
    save_caches(ws, &header, &rows);
    // The process ends soon after a write; freeing every row costs more
    // than it gives back.
    crate::store::leave(rows);
    // The old file's handle is closed (a watch loop writes many times).
    drop(src);
    Ok(true)
}

/// Splice the changed lines into the file and bring the index up to date
/// for what they reach: the overlay and the two sets are rewritten, the
/// base is not (until the overlay grows past [`lazy::MAX_OVERLAY`]).
fn commit_lazy(
    ws: &Workspace,
    view: &View,
    src: Source,
    cur: lazy::Current,
    changed: BTreeMap<String, Record>,
) -> Result<bool> {
    let path = ws.issues_path();
    let old_sig = cur.header().sig;
    // Each changed line: its record's line, its old row (none when new) and
    // where it goes in the old file.
    let mut puts: Vec<(&Record, String, Option<Row>, usize)> = Vec::new();
    for (id, rec) in &changed {
        let old = cur.row(id);
        let at = match &old {
            Some(r) => r.span.start,
            None => cur.insertion_point(id).ok_or_else(|| stale_index(ws))?,
        };
        puts.push((rec, rec.to_line(), old, at));
    }
    // Where each changed line lands, its row and its growth, worked out
    // before the write: the caches are made while the file is written and
    // synced (most of that is waiting on the disk).
    let mut new_rows: BTreeMap<String, Row> = BTreeMap::new();
    // (id, growth) of each changed line, in id order.
    let mut growths: Vec<(String, i64)> = Vec::new();
    // (old bytes copied up to, the line, old bytes resume at).
    let mut plan: Vec<(u64, &str, u64)> = Vec::new();
    let (mut pos, mut grow) = (0u64, 0i64);
    for (rec, line, old, at) in &puts {
        let start = (*at as i64 + grow) as usize;
        new_rows.insert(
            rec.id().to_string(),
            Row::from_record(rec, start..start + line.len()),
        );
        let (g, next) = match old {
            Some(r) => (
                line.len() as i64 - r.span.len() as i64,
                r.span.end as u64 + 1,
            ),
            None => (line.len() as i64 + 1, *at as u64),
        };
        plan.push((*at as u64, line.as_str(), next));
        pos = next;
        grow += g;
        growths.push((rec.id().to_string(), g));
    }
    let new_len = (old_sig.len as i64 + grow) as u64;
    let h = cur.header().clone();
    let dir = ws.cache_dir();
    let (written, next) = std::thread::scope(|s| {
        let (rows, growths, dir, h) = (&new_rows, &growths, &dir, &h);
        let next = s.spawn(move || {
            let lookup = |id: &str| cur.row(id);
            let upd = crate::store::incremental::update(
                &lookup,
                rows,
                &h.dangling,
                (h.valid_from, h.valid_until),
                view.now,
                &view.non_work,
            );
            upd.and_then(|u| next_caches(&cur, u, rows, growths, new_len, dir))
        });
        let spare = dir.join(splice::SPARE);
        let written = atomic::write_file_reusing(&path, &spare, |out| {
            let mut sp = Splicer::new(&src);
            let mut from = 0u64;
            for (at, line, next) in &plan {
                sp.old(out, from, *at)?;
                sp.new_bytes(out, line.as_bytes())?;
                sp.new_bytes(out, b"\n")?;
                from = *next;
            }
            sp.old(out, pos, old_sig.len)?;
            sp.flush(out)
        });
        (written, next.join().ok().flatten())
    });
    let written = written?;
    let new_sig = Signature::of_meta(&written);
    std::thread::scope(|s| {
        // The replaced file is kept as the spare; when it could not be (no
        // usable spare), closing it is the kernel freeing it (tens of
        // milliseconds at 100k issues): beside the cache writes.
        s.spawn(move || drop(src));
        match next.filter(|_| new_sig.len == new_len) {
            Some(mut next) => {
                // Best effort, like every cache: a reader that finds one
                // stale rebuilds.
                next.overlay.header.sig = new_sig;
                let mut head = String::new();
                index::write_header(&next.overlay.header, &mut head);
                let _ = next.overlay.save(&dir.join(lazy::DELTA_FILE));
                for (file, body) in [
                    (index::READY_FILE, &next.ready),
                    (index::BLOCKED_FILE, &next.blocked),
                ] {
                    let _ =
                        cache::write_parts(&dir.join(file), &[head.as_bytes(), body.as_bytes()]);
                }
            }
            None => fold_all(ws, view, old_sig, new_sig, new_rows),
        }
    });
    Ok(true)
}

/// The caches after a lazy write but for the new file's signature (the
/// overlay's header has the old one until the caller sets it): the overlay,
/// and the rows of the two set files, without their header line.
struct NextCaches {
    overlay: lazy::Overlay,
    ready: String,
    blocked: String,
}

/// The overlay and the two sets after a lazy write; `None` when the
/// overlay would grow too large or anything does not add up (the caller
/// folds everything into a new base instead).
fn next_caches(
    cur: &lazy::Current,
    upd: crate::store::incremental::Update,
    new_rows: &BTreeMap<String, Row>,
    growths: &[(String, i64)],
    new_len: u64,
    dir: &std::path::Path,
) -> Option<NextCaches> {
    let old_sig = cur.header().sig;
    // The growth of the changed lines before `id`.
    let shift = |id: &str| -> i64 {
        let n = growths.partition_point(|(g, _)| g.as_str() < id);
        growths[..n].iter().map(|(_, g)| g).sum()
    };
    let mut header = cur.header().clone();
    header.valid_from = upd.valid_from;
    header.valid_until = upd.valid_until;
    header.dangling = upd.dangling;
    header.top_level += new_rows
        .keys()
        .filter(|k| id::split_child(k).is_none() && cur.row(k).is_none())
        .count() as u64;
    let mut known = std::mem::take(&mut header.prefixes);
    known.extend(prefixes(new_rows.keys().map(String::as_str)));
    known.sort();
    known.dedup();
    header.prefixes = known;
    let mut ov: BTreeMap<String, lazy::OvRow> = cur
        .overlay
        .rows
        .iter()
        .map(|r| (r.row.id.clone(), r.clone()))
        .collect();
    let mut touched: Vec<Row> = Vec::with_capacity(upd.rows.len());
    for (id, mut row) in upd.rows {
        if !new_rows.contains_key(&id) {
            row.span = lazy::moved(row.span, shift(&id));
        }
        let (base_pos, base_len) = match ov.get(&id) {
            Some(o) => (o.base_pos, o.base_len),
            None => cur.base_place(&id)?,
        };
        touched.push(row.clone());
        ov.insert(
            id,
            lazy::OvRow {
                base_pos,
                base_len,
                row,
            },
        );
    }
    if ov.len() > lazy::MAX_OVERLAY {
        return None;
    }
    // Every overlay row's place in the new file: its base place plus the
    // growth of the overlay rows before it.
    let mut acc = 0i64;
    for o in ov.values_mut() {
        let start = (o.base_pos as i64 + acc) as usize;
        let want = start..start + o.row.span.len();
        if new_rows.get(&o.row.id).is_some_and(|n| n.span != want) {
            return None;
        }
        o.row.span = want;
        acc += o.growth();
    }
    if cur.base.header.sig.len as i64 + acc != new_len as i64 {
        return None;
    }
    let touched_ids: std::collections::HashSet<&str> =
        touched.iter().map(|r| r.id.as_str()).collect();
    // A set file: its untouched lines kept as text (their spans moved), the
    // touched rows that belong merged in, in the ready order.
    let set = |file: &str, pick: fn(&Row) -> bool| -> Option<String> {
        let text = cache::read_string(&dir.join(file))?;
        let mut lines = text.split_terminator('\n');
        if index::read_header(lines.next()?)?.sig != old_sig {
            return None;
        }
        let mut add: Vec<&Row> = touched.iter().filter(|r| pick(r)).collect();
        sort_ready(&mut add);
        let mut add = add.into_iter().peekable();
        let mut out = String::with_capacity(text.len() + 4096);
        for line in lines {
            let (p, c, id) = index::line_key(line)?;
            while let Some(r) = add.peek()
                && (r.priority, r.created_at, r.id.as_str()) < (p, c, id.as_str())
            {
                index::write_row(r, &mut out);
                add.next();
            }
            if !touched_ids.contains(id.as_str()) {
                index::shift_line(line, shift(&id), &mut out)?;
            }
        }
        for r in add {
            index::write_row(r, &mut out);
        }
        Some(out)
    };
    let ready = set(index::READY_FILE, |r| r.ready)?;
    let blocked = set(index::BLOCKED_FILE, |r| r.blocked)?;
    let overlay = lazy::Overlay {
        base_sig: cur.overlay.base_sig,
        header,
        rows: ov.into_values().collect(),
    };
    Some(NextCaches {
        overlay,
        ready,
        blocked,
    })
}

/// Fold the old rows and this write's into a new base: spans laid end to
/// end, everything derived again.
fn fold_all(
    ws: &Workspace,
    view: &View,
    old_sig: Signature,
    new_sig: Signature,
    new_rows: BTreeMap<String, Row>,
) {
    let Some((_, old)) = lazy::load(&ws.cache_dir(), old_sig) else {
        // The next reader rebuilds from the file.
        return;
    };
    let mut rows: Vec<Row> = Vec::with_capacity(old.len() + new_rows.len());
    let mut fresh = new_rows.into_values().peekable();
    for r in old {
        while let Some(n) = fresh.peek()
            && n.id < r.id
        {
            rows.push(fresh.next().expect("peeked"));
        }
        if fresh.peek().is_some_and(|n| n.id == r.id) {
            rows.push(fresh.next().expect("peeked"));
        } else {
            rows.push(r);
        }
    }
    rows.extend(fresh);
    let mut pos = 0usize;
    for r in &mut rows {
        let len = r.span.len();
        r.span = pos..pos + len;
        pos += len + 1;
    }
    if pos as u64 == new_sig.len {
        let header = derive_sets(&mut rows, new_sig, view);
        save_caches(ws, &header, &rows);
    }
    crate::store::leave(rows);
}

#[cfg(test)]
mod lazy_tests {
    //! Writes through the lazy path leave the index (base, overlay, sets)
    //! exactly as a full rebuild of the written file would make it.
    use super::*;
    use serde_json::json;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[self.below(xs.len())]
        }
    }

    const NOW: i64 = 1_800_000_000_000_000_000;

    fn stamp(ns: i64) -> String {
        crate::model::time::format(ns)
    }

    fn record(rng: &mut Rng, id: &str, ids: &[String]) -> Record {
        let statuses = [
            "open",
            "open",
            "open",
            "in_progress",
            "closed",
            "closed",
            "blocked",
            "deferred",
            "tombstone",
        ];
        let types = ["task", "bug", "epic", "convoy", "decision", "feature"];
        let kinds = [
            "blocks",
            "blocks",
            "parent-child",
            "parent-child",
            "waits-for",
            "conditional-blocks",
            "related",
            "tracks",
        ];
        let status = rng.pick(&statuses);
        let mut v = json!({
            "id": id,
            "title": format!("t {id}"),
            "status": status,
            "priority": rng.below(5),
            "issue_type": rng.pick(&types),
            "created_at": stamp(NOW - 1_000_000_000 * (1 + rng.below(1000) as i64)),
        });
        if status == "closed" {
            let reasons = ["done", "failed", "wontfix", ""];
            v["close_reason"] = json!(rng.pick(&reasons));
        }
        if rng.below(6) == 0 || status == "deferred" {
            let ahead = rng.below(3) as i64 - 1;
            v["defer_until"] = json!(stamp(NOW + ahead * 3_600_000_000_000));
        }
        let mut deps = Vec::new();
        for _ in 0..rng.below(4) {
            let target = if rng.below(8) == 0 {
                format!("bd-gone{}", rng.below(4))
            } else if ids.is_empty() {
                continue;
            } else {
                ids[rng.below(ids.len())].clone()
            };
            let kind = rng.pick(&kinds);
            let mut d = json!({"issue_id": id, "depends_on_id": target, "type": kind});
            if kind == "waits-for" && rng.below(2) == 0 {
                d["metadata"] = json!({"gate": "any-children"});
            }
            deps.push(d);
        }
        if !deps.is_empty() {
            v["dependencies"] = json!(deps);
        }
        Record::parse(&v.to_string()).unwrap()
    }

    fn view() -> View {
        View {
            now: NOW,
            non_work: vec!["decision".into()],
        }
    }

    /// What a full rebuild makes of the file now.
    fn rebuilt(ws: &Workspace) -> (Vec<Row>, Vec<Row>, Vec<Row>) {
        let bytes = std::fs::read(ws.issues_path()).unwrap();
        let (_, rows) = build(&bytes, Signature::default(), &view());
        let mut ready: Vec<&Row> = rows.iter().filter(|r| r.ready).collect();
        sort_ready(&mut ready);
        let mut blocked: Vec<&Row> = rows.iter().filter(|r| r.blocked).collect();
        sort_ready(&mut blocked);
        let (ready, blocked) = (
            ready.into_iter().cloned().collect(),
            blocked.into_iter().cloned().collect(),
        );
        (rows, ready, blocked)
    }

    fn cached(ws: &Workspace) -> (Vec<Row>, Vec<Row>, Vec<Row>) {
        let (_, sig) = Signature::open(&ws.issues_path()).unwrap();
        let dir = ws.cache_dir();
        let (_, rows) = lazy::load(&dir, sig).expect("the index describes the file");
        let set = |f: &str| {
            let (h, rows) = index::load(&dir.join(f)).unwrap();
            assert_eq!(h.sig, sig, "{f} describes the file");
            rows
        };
        (rows, set(index::READY_FILE), set(index::BLOCKED_FILE))
    }

    #[test]
    fn lazy_writes_keep_the_index_equal_to_a_rebuild() {
        for seed in 1..=12u64 {
            let t = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(t.path().join(".beads")).unwrap();
            let ws = Workspace::at(t.path().to_path_buf());
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut ids: Vec<String> = Vec::new();
            let mut lines = Vec::new();
            for i in 0..60 {
                let id = format!("bd-{:03}", i * 3);
                let rec = record(&mut rng, &id, &ids);
                lines.push(rec.to_line());
                ids.push(id);
            }
            std::fs::write(ws.issues_path(), lines.join("\n") + "\n").unwrap();
            Snapshot::load(&ws, &view()).unwrap();
            let mut lazy_writes = 0;
            for step in 0..40 {
                let mut tx = Tx::begin(&ws, &view()).unwrap();
                if matches!(tx.rows, Rows::Lazy(_)) {
                    lazy_writes += 1;
                }
                for _ in 0..1 + rng.below(3) {
                    let id = match rng.below(6) {
                        // Another prefix.
                        5 => format!("ext-{:02}", rng.below(9)),
                        // A new id, sometimes one an edge already names.
                        0 => format!("bd-{:03}", 1 + 3 * rng.below(80)),
                        1 => format!("bd-gone{}", rng.below(4)),
                        _ => ids[rng.below(ids.len())].clone(),
                    };
                    let rec = record(&mut rng, &id, &ids);
                    if !ids.contains(&id) {
                        ids.push(id);
                        ids.sort();
                    }
                    tx.put(rec);
                }
                tx.commit().unwrap();
                let want = rebuilt(&ws);
                let got = cached(&ws);
                assert_eq!(got.0, want.0, "rows, seed {seed} step {step}");
                assert_eq!(got.1, want.1, "ready, seed {seed} step {step}");
                assert_eq!(got.2, want.2, "blocked, seed {seed} step {step}");
                // What the header keeps for lookups without every id.
                let (_, sig) = Signature::open(&ws.issues_path()).unwrap();
                let h = lazy::load_header(&ws.cache_dir(), sig).unwrap();
                let ids = want.0.iter().map(|r| r.id.as_str());
                assert_eq!(h.prefixes, prefixes(ids.clone()), "seed {seed} step {step}");
                assert_eq!(h.top_level, top_level(ids), "seed {seed} step {step}");
            }
            assert!(lazy_writes > 20, "most writes take the lazy path");
        }
    }
}

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn read_halves_reads_exactly_the_file_or_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let body: Vec<u8> = (0..100_003u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &body).unwrap();
        let f = File::open(&path).unwrap();
        assert_eq!(read_halves(&f, body.len()).as_deref(), Some(&body[..]));
        // The file is longer than thought (it grew), or shorter: the plain read.
        assert_eq!(read_halves(&f, body.len() - 10), None);
        assert_eq!(read_halves(&f, body.len() + 10), None);
        let p = path.clone();
        assert_eq!(read_all(&p, &Some(f)).unwrap(), body);
    }
}

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
use crate::store::splice::{Source, Splicer};
use crate::store::{Workspace, jsonl};

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
    let mut buf = Vec::with_capacity(len + 1);
    use std::io::Read;
    let mut r: &File = f;
    r.read_to_end(&mut buf).map_err(|e| Error::io(path, e))?;
    Ok(buf)
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
/// is read (a stale one is rebuilt first, as every reader does).
pub fn records_named(
    ws: &Workspace,
    view: &View,
    ids: &std::collections::HashSet<&str>,
) -> Result<Vec<Record>> {
    let snap = Snapshot::load_where(ws, view, |p| ids.contains(p.id()), false)?;
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
    let (valid_from, valid_until) = index::derive(rows, view.now, &view.non_work);
    Header {
        sig,
        valid_from,
        valid_until,
        view_key: index::view_key(&view.non_work),
        ..Header::default()
    }
}

fn save_caches(ws: &Workspace, header: &Header, rows: &[Row]) {
    let dir = ws.cache_dir();
    // Best effort: a cache that cannot be written is rebuilt next time.
    let _ = cache::write(
        &dir.join(index::INDEX_FILE),
        index::render(header, rows.iter()).as_bytes(),
    );
    let mut ready: Vec<&Row> = rows.iter().filter(|r| r.ready).collect();
    sort_ready(&mut ready);
    let _ = cache::write(
        &dir.join(index::READY_FILE),
        index::render(header, ready.into_iter()).as_bytes(),
    );
    let mut blocked: Vec<&Row> = rows.iter().filter(|r| r.blocked).collect();
    sort_ready(&mut blocked);
    let _ = cache::write(
        &dir.join(index::BLOCKED_FILE),
        index::render(header, blocked.into_iter()).as_bytes(),
    );
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
        // Read the header first: a stale index is not worth parsing.
        let index_path = ws.cache_dir().join(index::INDEX_FILE);
        if file.is_some()
            && index::load_header(&index_path).is_some_and(|h| h.sig == sig)
            && let Some((header, mut rows)) = index::load(&index_path)
            && header.sig == sig
        {
            let mut header = header;
            if !header.sets_fresh(view.now, &view.non_work) {
                (header.valid_from, header.valid_until) =
                    index::derive(&mut rows, view.now, &view.non_work);
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
            let fresh = index::load_header(&ws.cache_dir().join(index::INDEX_FILE))
                .is_some_and(|h| h.sig == sig && h.sets_fresh(view.now, &view.non_work));
            let mut ids = Vec::new();
            if fresh
                && let Some((header, rows)) = index::load_where(
                    &ws.cache_dir().join(index::INDEX_FILE),
                    &keep,
                    with_ids.then_some(&mut ids),
                )
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
        snap.rows.retain(|r| keep(&index::Pre::Row(r)));
        Ok(snap)
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
        let path = ws.issues_path();
        let Some(file) = open_tracker(&path)? else {
            return Ok(None);
        };
        let sig = Signature::of(&file).map_err(|e| Error::io(&path, e))?;
        let Some((header, rows)) = index::load(&ws.cache_dir().join(set)) else {
            return Ok(None);
        };
        if header.sig != sig || !header.sets_fresh(view.now, &view.non_work) {
            return Ok(None);
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

/// A write transaction: holds the workspace lock from `begin` to `commit`.
pub struct Tx {
    ws: Workspace,
    view: View,
    _lock: Option<LockGuard>,
    /// The old lines: in memory, or (when the index describes the file) the
    /// file itself, read only where a record is needed.
    src: Source,
    rows: Vec<Row>,
    changed: BTreeMap<String, Record>,
    normalize: bool,
    /// Ids new in this transaction, in creation order.
    pub created: Vec<String>,
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
        let index_path = ws.cache_dir().join(index::INDEX_FILE);
        let cached =
            if file.is_some() && index::load_header(&index_path).is_some_and(|h| h.sig == sig) {
                index::load(&index_path).filter(|(h, _)| h.sig == sig)
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
            rows,
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

    /// Rows as loaded (before this transaction's changes).
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    fn row(&self, id: &str) -> Option<&Row> {
        self.rows
            .binary_search_by(|r| r.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.rows[i])
    }

    pub fn contains(&self, id: &str) -> bool {
        self.changed.contains_key(id) || self.row(id).is_some()
    }

    /// All ids, old and new, sorted.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.rows.iter().map(|r| r.id.as_str()).collect();
        for k in self.changed.keys() {
            if self.row(k).is_none() {
                ids.push(k);
            }
        }
        ids.sort_unstable();
        ids
    }

    /// Resolve what a user typed to an id.
    pub fn resolve(&self, query: &str, prefix: &str) -> Result<String> {
        let ids = self.ids();
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
        self.check_span(row, rec.id())?;
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

    /// Graph nodes of the tracker with this transaction's changes.
    pub fn nodes(&self) -> Vec<Node> {
        let mut nodes: Vec<Node> = self
            .rows
            .iter()
            .filter(|r| !self.changed.contains_key(&r.id))
            .map(Row::node)
            .collect();
        for r in self.changed.values() {
            nodes.push(Row::from_record(r, 0..0).node());
        }
        nodes
    }

    /// Rows with this transaction's changes (derived columns not recomputed).
    pub fn current_rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .rows
            .iter()
            .filter(|r| !self.changed.contains_key(&r.id))
            .cloned()
            .collect();
        for r in self.changed.values() {
            rows.push(Row::from_record(r, 0..0));
        }
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        rows
    }

    /// Whether anything would be written.
    pub fn is_dirty(&self) -> bool {
        self.normalize
            || self.changed.iter().any(|(id, rec)| match self.row(id) {
                Some(row) => !self.same_line(row, rec),
                None => true,
            })
    }

    /// What this transaction changes, for a commit subject: (id, title, is new).
    pub fn changes(&self) -> Vec<(String, String, bool)> {
        self.changed
            .iter()
            .filter(|(id, rec)| match self.row(id) {
                Some(row) => !self.same_line(row, rec),
                None => true,
            })
            .map(|(id, rec)| (id.clone(), rec.title(), self.row(id).is_none()))
            .collect()
    }

    /// The records this transaction changes, each with its stored version
    /// (`None` for a new record).
    pub fn changed_pairs(&self) -> Vec<(Option<Record>, Record)> {
        self.changed
            .iter()
            .filter_map(|(id, rec)| match self.row(id) {
                Some(row) if self.same_line(row, rec) => None,
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
                self.check_span(row, &found)?;
            }
        }
        let Tx {
            ws,
            view,
            src,
            rows: old_rows,
            changed,
            normalize,
            ..
        } = self;
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
        let header = derive_sets(&mut rows, Signature::of_meta(&written), &view);
        save_caches(&ws, &header, &rows);
        // The process ends soon after a write; freeing every row costs more
        // than it gives back.
        crate::store::leave(rows);
        // The old file's handle is closed (a watch loop writes many times).
        drop(src);
        Ok(true)
    }
}

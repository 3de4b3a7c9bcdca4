//! The index cache under `.beads/.cache/`: one row per issue with what lists,
//! filters and the ready/blocked sets need, the byte span of its line, and the
//! precomputed sets. Every cache file names the exact state of `issues.jsonl`
//! it was built from (size, mtime, ctime, inode); a reader that finds anything
//! else rebuilds. Deleting the folder loses nothing.

use std::fmt::Write as _;
use std::fs::File;
use std::ops::Range;
use std::path::Path;

use crate::model::graph::{self, Edge, Node};
use crate::model::record::Record;
use crate::model::time::{self, Nanos};

pub const INDEX_FILE: &str = "index.v1";
pub const READY_FILE: &str = "ready.v1";
pub const BLOCKED_FILE: &str = "blocked.v1";
const MAGIC: &str = "strand-index-5";

/// What identifies one state of a file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Signature {
    pub len: u64,
    pub mtime: i64,
    pub ctime: i64,
    pub ino: u64,
}

impl Signature {
    /// Open a file bd reads through a cache keyed by this signature (no
    /// link followed): the file (`None`: there is none yet) and its
    /// signature (the default for a missing file).
    pub fn open(path: &Path) -> crate::error::Result<(Option<File>, Signature)> {
        let err = |e| crate::error::Error::io(path, e);
        match crate::files::open_read(path) {
            Ok(f) => {
                let sig = Signature::of(&f).map_err(err)?;
                Ok((Some(f), sig))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((None, Signature::default())),
            Err(e) => Err(err(e)),
        }
    }

    pub fn of(file: &File) -> std::io::Result<Signature> {
        Ok(Signature::of_meta(&file.metadata()?))
    }

    pub fn of_meta(m: &std::fs::Metadata) -> Signature {
        use std::os::unix::fs::MetadataExt;
        Signature {
            len: m.len(),
            mtime: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ctime: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
            ino: m.ino(),
        }
    }
}

/// The first line of every cache file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    pub sig: Signature,
    /// The sets are right from this instant (the last `defer_until` that passed)…
    pub valid_from: Nanos,
    /// …until this one (the next `defer_until` to pass).
    pub valid_until: Nanos,
    /// The settings the sets were computed with (`non_work_types`).
    pub view_key: String,
    /// The file is not in canonical form (CRLF, unsorted, no final newline).
    pub needs_normalizing: bool,
    /// Line numbers that do not parse.
    pub bad_lines: Vec<usize>,
    pub duplicate_ids: Vec<String>,
    /// Edge targets that name no issue of the file, sorted: an issue created
    /// later under one of these ids has dependents an incremental update
    /// cannot see, so such a write derives everything again.
    pub dangling: Vec<String>,
    /// How many ids are not children (`<parent>.N`): new ids grow longer
    /// with it.
    pub top_level: u64,
    /// The distinct prefixes of ids (before the first `-`), sorted.
    pub prefixes: Vec<String>,
}

/// One issue as the index knows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub id: String,
    pub span: Range<usize>,
    pub status: String,
    pub issue_type: String,
    pub priority: i64,
    pub created_at: Nanos,
    pub updated_at: Nanos,
    pub closed_at: Option<Nanos>,
    pub defer_until: Option<Nanos>,
    pub assignee: String,
    pub title: String,
    pub labels: Vec<String>,
    pub edges: Vec<Edge>,
    pub comment_count: u32,
    pub close_reason: String,
    // Derived over the whole tracker:
    pub dependent_count: u32,
    /// Issues with an edge to this one: (their id, edge type) as `Edge`s.
    pub dependents: Vec<Edge>,
    pub ready: bool,
    pub blocked: bool,
    pub blockers: Vec<String>,
    pub parent: Option<String>,
}

impl Row {
    /// The typed view of the row's status (unknown values as `Other`).
    pub fn state(&self) -> crate::model::kinds::Status {
        crate::model::kinds::Status::parse(&self.status)
    }

    pub fn from_record(r: &Record, span: Range<usize>) -> Row {
        let edges = r
            .deps()
            .into_iter()
            .map(|d| Edge {
                any_children: d.any_children(),
                target: d.depends_on_id,
                kind: d.kind,
            })
            .collect();
        Row {
            id: r.id().to_string(),
            span,
            status: r.status(),
            issue_type: r.issue_type(),
            priority: r.priority(),
            created_at: r.time("created_at").unwrap_or(0),
            updated_at: r.time("updated_at").unwrap_or(0),
            closed_at: r.time("closed_at"),
            defer_until: r.time("defer_until"),
            assignee: r.str("assignee").unwrap_or_default(),
            title: r.title(),
            labels: r.labels(),
            edges,
            comment_count: r
                .json::<Vec<serde_json::Value>>("comments")
                .map_or(0, |c| c.len() as u32),
            close_reason: r.str("close_reason").unwrap_or_default(),
            ..Row::default()
        }
    }

    /// Build a row straight from a line, without keeping the record: the fast
    /// path of index rebuilds. `None` when the line needs the lenient path
    /// (wrong value types, duplicate keys, not JSON at all).
    pub fn from_line(text: &str, span: Range<usize>) -> Option<Row> {
        use serde::de::IgnoredAny;
        use std::borrow::Cow;
        #[derive(serde::Deserialize)]
        struct LightDep<'a> {
            #[serde(borrow, default)]
            depends_on_id: Cow<'a, str>,
            #[serde(borrow, rename = "type", default)]
            kind: Cow<'a, str>,
            #[serde(default)]
            metadata: Option<serde_json::Value>,
        }
        #[derive(serde::Deserialize)]
        struct Light<'a> {
            #[serde(borrow)]
            id: Cow<'a, str>,
            #[serde(borrow, default)]
            title: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            status: Option<Cow<'a, str>>,
            #[serde(default)]
            priority: Option<i64>,
            #[serde(borrow, default)]
            issue_type: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            assignee: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            created_at: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            updated_at: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            closed_at: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            defer_until: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            close_reason: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            labels: Option<Vec<Cow<'a, str>>>,
            #[serde(borrow, default)]
            dependencies: Option<Vec<LightDep<'a>>>,
            #[serde(default)]
            comments: Option<Vec<IgnoredAny>>,
        }
        let l: Light = serde_json::from_str(text).ok()?;
        if l.id.trim().is_empty() {
            return None;
        }
        let t = |v: &Option<Cow<str>>| v.as_deref().and_then(time::parse);
        Some(Row {
            id: l.id.into_owned(),
            span,
            status: l.status.map_or_else(|| "open".into(), Cow::into_owned),
            issue_type: l.issue_type.map_or_else(|| "task".into(), Cow::into_owned),
            priority: l.priority.unwrap_or(2),
            created_at: t(&l.created_at).unwrap_or(0),
            updated_at: t(&l.updated_at).unwrap_or(0),
            closed_at: t(&l.closed_at),
            defer_until: t(&l.defer_until),
            assignee: l.assignee.map(Cow::into_owned).unwrap_or_default(),
            title: l.title.map(Cow::into_owned).unwrap_or_default(),
            labels: l
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(Cow::into_owned)
                .collect(),
            edges: l
                .dependencies
                .unwrap_or_default()
                .into_iter()
                .map(|d| Edge {
                    any_children: d
                        .metadata
                        .as_ref()
                        .and_then(|m| m.get("gate"))
                        .and_then(|g| g.as_str())
                        == Some("any-children"),
                    target: d.depends_on_id.into_owned(),
                    kind: d.kind.into_owned(),
                })
                .collect(),
            comment_count: l.comments.map_or(0, |c| c.len() as u32),
            close_reason: l.close_reason.map(Cow::into_owned).unwrap_or_default(),
            ..Row::default()
        })
    }

    pub fn node(&self) -> Node {
        Node {
            id: self.id.clone(),
            status: self.status.clone(),
            issue_type: self.issue_type.clone(),
            priority: self.priority,
            created_at: self.created_at,
            defer_until: self.defer_until,
            close_reason: (!self.close_reason.is_empty()).then(|| self.close_reason.clone()),
            held: false,
            edges: self.edges.clone(),
        }
    }

    pub fn dependency_count(&self) -> usize {
        self.edges.len()
    }
}

/// The settings part of a cache's validity.
pub fn view_key(non_work: &[String]) -> String {
    non_work.join(",")
}

impl Header {
    /// Rows and sets describe this file as seen at `now` with these settings.
    pub fn sets_fresh(&self, now: Nanos, non_work: &[String]) -> bool {
        self.valid_from <= now && now < self.valid_until && self.view_key == view_key(non_work)
    }
}

/// What [`derive`] finds beside the rows' derived columns.
pub struct Derived {
    /// The sets hold from the last deferral that passed…
    pub valid_from: Nanos,
    /// …to the next one to pass.
    pub valid_until: Nanos,
    /// Edge targets that name no row (sorted, once each).
    pub dangling: Vec<String>,
}

/// Fill the derived columns of every row.
pub fn derive(rows: &mut [Row], now: Nanos, non_work: &[String]) -> Derived {
    use std::mem::take;
    // Lend the rows' strings to the graph instead of copying them; they are
    // given back below.
    let nodes: Vec<Node> = rows
        .iter_mut()
        .map(|r| Node {
            id: take(&mut r.id),
            status: take(&mut r.status),
            issue_type: take(&mut r.issue_type),
            priority: r.priority,
            created_at: r.created_at,
            defer_until: r.defer_until,
            close_reason: (!r.close_reason.is_empty()).then(|| take(&mut r.close_reason)),
            held: false,
            edges: take(&mut r.edges),
        })
        .collect();
    let nw: Vec<&str> = non_work.iter().map(String::as_str).collect();
    let a = graph::analyze(&nodes, now, &nw);
    let mut dependents: Vec<Vec<Edge>> = vec![Vec::new(); rows.len()];
    let mut dangling: Vec<String> = Vec::new();
    {
        let pos: std::collections::HashMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        for n in &nodes {
            for e in &n.edges {
                if let Some(&j) = pos.get(e.target.as_str()) {
                    dependents[j].push(Edge {
                        target: n.id.clone(),
                        kind: e.kind.clone(),
                        any_children: false,
                    });
                } else {
                    dangling.push(e.target.clone());
                }
            }
        }
    }
    for (i, row) in rows.iter_mut().enumerate() {
        row.blockers = a.blockers[i].iter().map(|&j| nodes[j].id.clone()).collect();
        row.parent = a.parent[i].map(|j| nodes[j].id.clone());
    }
    for (row, node) in rows.iter_mut().zip(nodes) {
        row.id = node.id;
        row.status = node.status;
        row.issue_type = node.issue_type;
        if let Some(c) = node.close_reason {
            row.close_reason = c;
        }
        row.edges = node.edges;
    }
    let mut valid_until = i64::MAX;
    let mut valid_from = i64::MIN;
    for (row, deps) in rows.iter_mut().zip(dependents) {
        row.dependent_count = deps.len() as u32;
        row.dependents = deps;
    }
    for (i, row) in rows.iter_mut().enumerate() {
        row.ready = false;
        row.blocked = a.is_blocked[i];
        if let Some(d) = row.defer_until {
            if d > now {
                valid_until = valid_until.min(d);
            } else {
                valid_from = valid_from.max(d);
            }
        }
    }
    for &i in &a.ready {
        rows[i].ready = true;
    }
    dangling.sort_unstable();
    dangling.dedup();
    Derived {
        valid_from,
        valid_until,
        dangling,
    }
}

// --- text form -------------------------------------------------------------

fn esc(s: &str, out: &mut String) {
    if !s
        .bytes()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r' | 0x1e | 0x1f))
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x1e' => out.push_str("\\e"),
            '\x1f' => out.push_str("\\f"),
            c => out.push(c),
        }
    }
}

pub(crate) fn unesc(s: &str) -> String {
    if !s.as_bytes().contains(&b'\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('e') => out.push('\x1e'),
            Some('f') => out.push('\x1f'),
            Some(o) => out.push(o),
            None => {}
        }
    }
    out
}

/// Append a number in hexadecimal: shifts instead of divisions in the hot loop.
fn num(out: &mut String, n: i64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = HEX[(v & 0xf) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    if neg {
        out.push('-');
    }
    out.push_str(std::str::from_utf8(&buf[i..]).expect("digits are ASCII"));
}

fn opt_num(out: &mut String, n: Option<i64>) {
    if let Some(v) = n {
        num(out, v);
    }
}

pub(crate) fn write_row(r: &Row, out: &mut String) {
    esc(&r.id, out);
    out.push('\t');
    num(out, r.span.start as i64);
    out.push('\t');
    num(out, r.span.end as i64);
    out.push('\t');
    esc(&r.status, out);
    out.push('\t');
    esc(&r.issue_type, out);
    out.push('\t');
    num(out, r.priority);
    out.push('\t');
    num(out, r.created_at);
    out.push('\t');
    num(out, r.updated_at);
    out.push('\t');
    opt_num(out, r.closed_at);
    out.push('\t');
    opt_num(out, r.defer_until);
    out.push('\t');
    esc(&r.assignee, out);
    out.push('\t');
    esc(&r.title, out);
    out.push('\t');
    join(out, r.labels.iter().map(String::as_str), '\x1f');
    out.push('\t');
    write_edges(&r.edges, out);
    out.push('\t');
    num(out, i64::from(r.comment_count));
    out.push('\t');
    esc(&r.close_reason, out);
    out.push('\t');
    num(out, i64::from(r.dependent_count));
    out.push('\t');
    if r.ready {
        out.push('r');
    }
    if r.blocked {
        out.push('b');
    }
    out.push('\t');
    join(out, r.blockers.iter().map(String::as_str), '\x1f');
    out.push('\t');
    if let Some(p) = &r.parent {
        esc(p, out);
    }
    out.push('\t');
    write_edges(&r.dependents, out);
    out.push('\n');
}

fn write_edges(edges: &[Edge], out: &mut String) {
    for (i, e) in edges.iter().enumerate() {
        if i > 0 {
            out.push('\x1e');
        }
        esc(&e.target, out);
        out.push('\x1f');
        esc(&e.kind, out);
        out.push('\x1f');
        out.push(if e.any_children { '1' } else { '0' });
    }
}

fn read_edges(s: &str) -> Vec<Edge> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split('\x1e')
        .map(|e| {
            let mut p = e.split('\x1f');
            let target = unesc(p.next().unwrap_or(""));
            let kind = unesc(p.next().unwrap_or(""));
            Edge {
                target,
                kind,
                any_children: p.next() == Some("1"),
            }
        })
        .collect()
}

fn escape_owned(s: &str) -> String {
    let mut o = String::new();
    esc(s, &mut o);
    o
}

fn join<'a>(out: &mut String, items: impl Iterator<Item = &'a str>, sep: char) {
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.push(sep);
        }
        esc(s, out);
    }
}

fn split(s: &str, sep: char) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(sep).map(unesc).collect()
    }
}

const FIELDS: usize = 21;

fn find_tab(b: &[u8]) -> Option<usize> {
    super::bytes::find_byte(b, b'\t')
}

/// Split a row into its tab-separated fields without allocating.
fn fields(line: &str) -> Option<[&str; FIELDS]> {
    let mut out = [""; FIELDS];
    let mut rest = line;
    for (i, slot) in out.iter_mut().enumerate() {
        if i == FIELDS - 1 {
            if rest.contains('\t') {
                return None;
            }
            *slot = rest;
            return Some(out);
        }
        let at = find_tab(rest.as_bytes())?;
        *slot = &rest[..at];
        rest = &rest[at + 1..];
    }
    None
}

pub(crate) fn read_row(line: &str) -> Option<Row> {
    let f = fields(line)?;
    let num = |s: &str| -> Option<i64> { i64::from_str_radix(s, 16).ok() };
    let optn = |s: &str| -> Option<Option<i64>> {
        if s.is_empty() {
            Some(None)
        } else {
            i64::from_str_radix(s, 16).ok().map(Some)
        }
    };
    let edges = read_edges(f[13]);
    Some(Row {
        id: unesc(f[0]),
        span: num(f[1])? as usize..num(f[2])? as usize,
        status: unesc(f[3]),
        issue_type: unesc(f[4]),
        priority: num(f[5])?,
        created_at: num(f[6])?,
        updated_at: num(f[7])?,
        closed_at: optn(f[8])?,
        defer_until: optn(f[9])?,
        assignee: unesc(f[10]),
        title: unesc(f[11]),
        labels: split(f[12], '\x1f'),
        edges,
        comment_count: num(f[14])? as u32,
        close_reason: unesc(f[15]),
        dependent_count: num(f[16])? as u32,
        ready: f[17].contains('r'),
        blocked: f[17].contains('b'),
        blockers: split(f[18], '\x1f'),
        parent: (!f[19].is_empty()).then(|| unesc(f[19])),
        dependents: read_edges(f[20]),
    })
}

pub(crate) fn write_header(h: &Header, out: &mut String) {
    let bad: Vec<String> = h.bad_lines.iter().map(|n| n.to_string()).collect();
    let _ = write!(
        out,
        "{MAGIC}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t",
        h.sig.len,
        h.sig.mtime,
        h.sig.ctime,
        h.sig.ino,
        h.valid_from,
        h.valid_until,
        escape_owned(&h.view_key),
        u8::from(h.needs_normalizing),
        bad.join(",")
    );
    join(out, h.duplicate_ids.iter().map(String::as_str), '\x1f');
    out.push('\t');
    join(out, h.dangling.iter().map(String::as_str), '\x1f');
    let _ = write!(out, "\t{}\t", h.top_level);
    join(out, h.prefixes.iter().map(String::as_str), '\x1f');
    out.push('\n');
}

pub(crate) fn read_header(line: &str) -> Option<Header> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() != 14 || f[0] != MAGIC {
        return None;
    }
    Some(Header {
        sig: Signature {
            len: f[1].parse().ok()?,
            mtime: f[2].parse().ok()?,
            ctime: f[3].parse().ok()?,
            ino: f[4].parse().ok()?,
        },
        valid_from: f[5].parse().ok()?,
        valid_until: f[6].parse().ok()?,
        view_key: unesc(f[7]),
        needs_normalizing: f[8] == "1",
        bad_lines: if f[9].is_empty() {
            Vec::new()
        } else {
            f[9].split(',').filter_map(|n| n.parse().ok()).collect()
        },
        duplicate_ids: split(f[10], '\x1f'),
        dangling: split(f[11], '\x1f'),
        top_level: f[12].parse().ok()?,
        prefixes: split(f[13], '\x1f'),
    })
}

/// A row's line of a cache file with its span moved by `d` bytes, the rest
/// as it is (appended to `out` with its newline).
pub(crate) fn shift_line(line: &str, d: i64, out: &mut String) -> Option<()> {
    let a = find_tab(line.as_bytes())?;
    let rest = &line[a + 1..];
    let b = find_tab(rest.as_bytes())?;
    let start = i64::from_str_radix(&rest[..b], 16).ok()?;
    let rest = &rest[b + 1..];
    let c = find_tab(rest.as_bytes())?;
    let end = i64::from_str_radix(&rest[..c], 16).ok()?;
    out.push_str(&line[..a + 1]);
    num(out, start + d);
    out.push('\t');
    num(out, end + d);
    out.push_str(&rest[c..]);
    out.push('\n');
    Some(())
}

/// The ready order's key of a row's line: (priority, created_at, id).
pub(crate) fn line_key(line: &str) -> Option<(i64, i64, String)> {
    let id = unesc(Pre::nth(line, 0));
    let p = i64::from_str_radix(Pre::nth(line, 5), 16).ok()?;
    let c = i64::from_str_radix(Pre::nth(line, 6), 16).ok()?;
    Some((p, c, id))
}

/// Serialize a cache file: the header, then the rows.
pub fn render<'a>(h: &Header, rows: impl Iterator<Item = &'a Row>) -> String {
    let mut out = String::with_capacity(1 << 16);
    write_header(h, &mut out);
    render_into(rows, &mut out);
    out
}

/// Rows of a cache file without its header (a part of one).
pub fn render_rows<'a>(rows: impl Iterator<Item = &'a Row>) -> String {
    let mut out = String::new();
    render_into(rows, &mut out);
    out
}

fn render_into<'a>(rows: impl Iterator<Item = &'a Row>, out: &mut String) {
    for r in rows {
        write_row(r, out);
    }
}

/// Read a cache file; `None` when missing or unreadable in any way.
pub fn load(path: &Path) -> Option<(Header, Vec<Row>)> {
    let text = crate::files::cache::read_string(path)?;
    let mut lines = text.split_terminator('\n');
    let header = read_header(lines.next()?)?;
    let mut rows = Vec::with_capacity(text.len() / 160);
    for line in lines {
        rows.push(read_row(line)?);
    }
    Some((header, rows))
}

/// A row before it is parsed: its fields are found only when asked for.
pub enum Pre<'a> {
    Line(&'a str),
    Row(&'a Row),
}

impl<'a> Pre<'a> {
    /// Field `n` of a raw line (`""` when the line is short).
    fn nth(line: &'a str, n: usize) -> &'a str {
        let mut rest = line;
        for _ in 0..n {
            match find_tab(rest.as_bytes()) {
                Some(at) => rest = &rest[at + 1..],
                None => return "",
            }
        }
        match find_tab(rest.as_bytes()) {
            Some(at) => &rest[..at],
            None => rest,
        }
    }

    /// The id as stored (escaped; ids normally hold nothing to escape).
    pub fn id(&self) -> &str {
        match self {
            Pre::Line(l) => Self::nth(l, 0),
            Pre::Row(r) => &r.id,
        }
    }

    pub fn status(&self) -> &str {
        match self {
            Pre::Line(l) => Self::nth(l, 3),
            Pre::Row(r) => &r.status,
        }
    }

    /// The type as stored (escaped; built-in types hold nothing to escape).
    pub fn issue_type(&self) -> &str {
        match self {
            Pre::Line(l) => Self::nth(l, 4),
            Pre::Row(r) => &r.issue_type,
        }
    }

    /// Whether the assignee is `who` (compared unescaped).
    pub fn assignee_is(&self, who: &str) -> bool {
        match self {
            Pre::Line(l) => {
                let a = Self::nth(l, 10);
                if a.contains('\\') {
                    unesc(a) == who
                } else {
                    a == who
                }
            }
            Pre::Row(r) => r.assignee == who,
        }
    }

    /// (ready, blocked)
    pub fn sets(&self) -> (bool, bool) {
        match self {
            Pre::Line(l) => {
                let f = Self::nth(l, 17);
                (f.contains('r'), f.contains('b'))
            }
            Pre::Row(r) => (r.ready, r.blocked),
        }
    }
}

/// Read a cache file, parsing only the rows `keep` wants; `ids` collects
/// every id when given. `None` when missing or unreadable.
pub fn load_where(
    path: &Path,
    mut keep: impl FnMut(&Pre) -> bool,
    mut ids: Option<&mut Vec<String>>,
) -> Option<(Header, Vec<Row>)> {
    let text = crate::files::cache::read_string(path)?;
    let mut lines = text.split_terminator('\n');
    let header = read_header(lines.next()?)?;
    let mut rows = Vec::new();
    for line in lines {
        let pre = Pre::Line(line);
        if let Some(ids) = ids.as_deref_mut() {
            ids.push(unesc(pre.id()));
        }
        if keep(&pre) {
            rows.push(read_row(line)?);
        }
    }
    Some((header, rows))
}

/// Read only a cache file's header (after checking the file is whole).
pub fn load_header(path: &Path) -> Option<Header> {
    use std::io::{BufRead, BufReader};
    let (f, _) = crate::files::cache::open(path)?;
    let mut line = String::new();
    BufReader::new(f).read_line(&mut line).ok()?;
    read_header(line.trim_end_matches('\n'))
}

/// A short human age of a row's last update.
pub fn row_age(r: &Row, now: Nanos) -> String {
    time::age(r.updated_at.max(r.created_at), now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_the_text_form() {
        let row = Row {
            id: "bd-1".into(),
            span: 10..20,
            status: "open".into(),
            issue_type: "task".into(),
            priority: 1,
            created_at: 5,
            updated_at: 6,
            closed_at: None,
            defer_until: Some(9),
            assignee: "a\tb".into(),
            title: "weird \\ title\nwith\x1e\x1f".into(),
            labels: vec!["x".into(), "y,z".into()],
            edges: vec![Edge {
                target: "bd-2".into(),
                kind: "waits-for".into(),
                any_children: true,
            }],
            comment_count: 2,
            close_reason: String::new(),
            dependent_count: 1,
            dependents: vec![Edge {
                target: "bd-7".into(),
                kind: "blocks".into(),
                any_children: false,
            }],
            ready: true,
            blocked: false,
            blockers: vec!["bd-3".into()],
            parent: Some("bd-0".into()),
        };
        let h = Header {
            valid_from: 7,
            valid_until: 42,
            view_key: "chore,x".into(),
            bad_lines: vec![3, 7],
            duplicate_ids: vec!["bd-9".into()],
            dangling: vec!["bd-x".into(), "ext:a\tb".into()],
            top_level: 12,
            prefixes: vec!["bd".into(), "x\ty".into()],
            ..Header::default()
        };
        let text = render(&h, std::iter::once(&row));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i");
        crate::files::cache::write(&p, text.as_bytes()).unwrap();
        let (h2, rows) = load(&p).unwrap();
        assert_eq!(h2, h);
        assert_eq!(load_header(&p), Some(h.clone()));
        assert_eq!(rows, vec![row]);
        // Cut after the header (which still matches): neither is believed.
        let full = std::fs::read(&p).unwrap();
        let header_end = full
            .iter()
            .skip(crate::files::cache::SEAL_LEN)
            .position(|&b| b == b'\n')
            .unwrap();
        std::fs::write(&p, &full[..crate::files::cache::SEAL_LEN + header_end + 1]).unwrap();
        assert_eq!(load(&p), None);
        assert_eq!(load_header(&p), None);
    }
}

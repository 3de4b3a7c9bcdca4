//! The tracker's history in git: `bd diff` (what changed, issue by issue and
//! field by field) and `bd log <id>` (one issue across commits, including the
//! values that lost a merge). Reads git through `git::history`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::git;
use crate::model::record::Record;
use crate::model::time;
use crate::ops::Session;
use crate::store::jsonl;

pub const ISSUES: &str = ".beads/issues.jsonl";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Created,
    Removed,
    Closed,
    Reopened,
    Deleted,
    Restored,
    Claimed,
    Changed,
}

impl ChangeKind {
    pub fn verb(self) -> &'static str {
        match self {
            ChangeKind::Created => "create",
            ChangeKind::Removed => "remove",
            ChangeKind::Closed => "close",
            ChangeKind::Reopened => "reopen",
            ChangeKind::Deleted => "delete",
            ChangeKind::Restored => "restore",
            ChangeKind::Claimed => "claim",
            ChangeKind::Changed => "update",
        }
    }
}

/// One field that differs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// One issue that differs between two versions of the tracker.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssueChange {
    pub id: String,
    pub title: String,
    pub kind: ChangeKind,
    pub fields: Vec<FieldChange>,
}

fn records(bytes: &[u8]) -> BTreeMap<String, (String, Record)> {
    jsonl::parse(bytes)
        .good
        .into_iter()
        .map(|g| {
            let line = String::from_utf8_lossy(&bytes[g.span.clone()]).into_owned();
            (g.record.id().to_string(), (line, g.record))
        })
        .collect()
}

fn value(r: &Record, key: &str) -> Option<Value> {
    r.raw(key).and_then(|v| serde_json::from_str(v.get()).ok())
}

/// Values equal by meaning (times as instants).
fn same(key: &str, a: &Option<Value>, b: &Option<Value>) -> bool {
    match (a, b) {
        (Some(Value::String(x)), Some(Value::String(y)))
            if crate::model::values::is_time_key(key) =>
        {
            time::same_instant(x, y)
        }
        _ => a == b,
    }
}

/// Field-by-field differences of one record (bookkeeping keys left out).
pub fn field_changes(before: Option<&Record>, after: Option<&Record>) -> Vec<FieldChange> {
    let mut keys: Vec<String> = Vec::new();
    for r in [before, after].into_iter().flatten() {
        for k in r.keys() {
            if k != "_stamps" && k != "updated_at" && !keys.iter().any(|x| x == k) {
                keys.push(k.to_string());
            }
        }
    }
    let order = |k: &str| {
        crate::model::record::KEY_ORDER
            .iter()
            .position(|x| *x == k)
            .unwrap_or(usize::MAX)
    };
    keys.sort_by(|a, b| (order(a), a).cmp(&(order(b), b)));
    keys.into_iter()
        .filter_map(|k| {
            let b = before.and_then(|r| value(r, &k));
            let a = after.and_then(|r| value(r, &k));
            (!same(&k, &b, &a)).then_some(FieldChange {
                field: k,
                before: b,
                after: a,
            })
        })
        .collect()
}

fn kind_of(before: Option<&Record>, after: Option<&Record>) -> ChangeKind {
    match (before, after) {
        (None, _) => ChangeKind::Created,
        (_, None) => ChangeKind::Removed,
        (Some(b), Some(a)) => {
            let (sb, sa) = (b.status(), a.status());
            if sb == sa {
                return ChangeKind::Changed;
            }
            match (sb.as_str(), sa.as_str()) {
                (_, "closed") => ChangeKind::Closed,
                (_, "tombstone") => ChangeKind::Deleted,
                ("tombstone", _) => ChangeKind::Restored,
                ("closed", _) => ChangeKind::Reopened,
                (_, "in_progress") => ChangeKind::Claimed,
                _ => ChangeKind::Changed,
            }
        }
    }
}

/// The id of a line bd wrote (`{"id":"…"` first, nothing escaped in it).
fn quick_id(line: &[u8]) -> Option<&str> {
    let rest = line.strip_prefix(b"{\"id\":\"")?;
    let end = memchr::memchr(b'"', rest)?;
    let id = &rest[..end];
    if id.is_empty() || id.contains(&b'\\') {
        return None;
    }
    std::str::from_utf8(id).ok()
}

/// Every line by its id, when each line names its id plainly and no id
/// repeats; `None` otherwise.
fn lines_by_id(bytes: &[u8]) -> Option<BTreeMap<&str, &[u8]>> {
    let mut out = BTreeMap::new();
    for line in bytes.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if out.insert(quick_id(line)?, line).is_some() {
            return None;
        }
    }
    Some(out)
}

/// The records of the lines that differ between two versions, when both
/// can be read line by line without parsing the rest (a one-issue change
/// in a large tracker parses two lines, not every line twice).
type Records = BTreeMap<String, (String, Record)>;
fn differing(before: &[u8], after: &[u8]) -> Option<(Records, Records)> {
    let (lb, la) = (lines_by_id(before)?, lines_by_id(after)?);
    let parse = |line: &[u8]| -> Option<(String, Record)> {
        let text = std::str::from_utf8(line).ok()?;
        Some((text.to_string(), Record::parse(text).ok()?))
    };
    let (mut b, mut a) = (BTreeMap::new(), BTreeMap::new());
    for (id, line) in &lb {
        if la.get(id) != Some(line) {
            b.insert(id.to_string(), parse(line)?);
        }
    }
    for (id, line) in &la {
        if lb.get(id) != Some(line) {
            a.insert(id.to_string(), parse(line)?);
        }
    }
    // The parser must read each line as the id it was found under.
    let named = |m: &Records| m.iter().all(|(id, (_, r))| r.id() == id);
    (named(&b) && named(&a)).then_some((b, a))
}

/// Issue-by-issue differences between two versions of issues.jsonl.
pub fn compare(before: &[u8], after: &[u8]) -> Vec<IssueChange> {
    let (b, a) = differing(before, after).unwrap_or_else(|| (records(before), records(after)));
    compare_records(&b, &a)
}

/// [`compare`] over parsed versions (all of each, or the lines that differ).
fn compare_records(b: &Records, a: &Records) -> Vec<IssueChange> {
    let mut ids: Vec<&String> = b.keys().chain(a.keys()).collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let rb = b.get(id);
        let ra = a.get(id);
        if let (Some((lb, _)), Some((la, _))) = (rb, ra)
            && lb == la
        {
            continue;
        }
        let fields = field_changes(rb.map(|x| &x.1), ra.map(|x| &x.1));
        if fields.is_empty() && rb.is_some() && ra.is_some() {
            continue;
        }
        let title = ra.or(rb).map(|x| x.1.title()).unwrap_or_default();
        out.push(IssueChange {
            id: id.clone(),
            title,
            kind: kind_of(rb.map(|x| &x.1), ra.map(|x| &x.1)),
            fields,
        });
    }
    out
}

/// HEAD against the working tree.
pub fn working_changes(ctx: &Session) -> Result<Vec<IssueChange>> {
    diff(ctx, None).map(|d| d.changes)
}

/// `diff`'s report: the two versions compared and what differs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Diff {
    pub from: String,
    pub to: String,
    pub changes: Vec<IssueChange>,
}

/// `bd diff [REV[..REV]]`: default HEAD against the working tree; `REV` against
/// the working tree; `A..B` between two commits.
pub fn diff(ctx: &Session, spec: Option<&str>) -> Result<Diff> {
    let repo = git::open(&ctx.ws.root)?;
    let working = || -> Result<Vec<u8>> {
        match crate::files::read(ctx.ws.issues_path()) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io(ctx.ws.issues_path(), e)),
        }
    };
    let at = |rev: &str| -> Result<Vec<u8>> {
        let id = git::history::resolve(&repo, rev)?;
        git::history::read_at(&repo, id, ISSUES)
    };
    let (from, to, before, after) = match spec {
        None => {
            let before = match repo.head_id() {
                Ok(h) => git::history::read_at(&repo, h.detach(), ISSUES)?,
                Err(_) => Vec::new(),
            };
            (
                "HEAD".to_string(),
                "working tree".to_string(),
                before,
                working()?,
            )
        }
        Some(s) => match s.split_once("..") {
            Some((a, b)) => {
                let a = if a.is_empty() { "HEAD" } else { a };
                let b = if b.is_empty() { "HEAD" } else { b };
                (a.to_string(), b.to_string(), at(a)?, at(b)?)
            }
            None => (
                s.to_string(),
                "working tree".to_string(),
                at(s)?,
                working()?,
            ),
        },
    };
    Ok(Diff {
        from,
        to,
        changes: compare(&before, &after),
    })
}

/// One commit in an issue's history.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogEntry {
    pub commit: String,
    pub author: String,
    pub time: String,
    pub subject: String,
    pub kind: ChangeKind,
    pub fields: Vec<FieldChange>,
    /// In a merge: values a parent had that the merge did not keep.
    pub lost: Vec<FieldChange>,
}

/// `log`'s report: the issue and the commits that changed it, newest first.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Log {
    pub id: String,
    pub entries: Vec<LogEntry>,
}

/// `bd log <id>`: the commits that changed one issue, newest first.
pub fn log(ctx: &Session, query: &str, limit: usize) -> Result<Log> {
    let snap = ctx.snapshot()?;
    let prefix = ctx.prefix_of_rows(&snap.rows);
    let (id, known_here) = match snap.resolve(query, &prefix) {
        Ok(r) => (r.id.clone(), true),
        // An issue removed from the working tree may still have a history.
        Err(_) => (query.to_string(), false),
    };
    let repo = git::open(&ctx.ws.root)?;
    let Ok(head) = repo.head_id() else {
        if !known_here {
            return Err(crate::error::Error::no_issue(query));
        }
        return Ok(Log {
            id,
            entries: Vec::new(),
        });
    };
    let mut cache: BTreeMap<gix::ObjectId, Option<Record>> = BTreeMap::new();
    let mut rec_at = |c: gix::ObjectId| -> Result<Option<Record>> {
        if let Some(r) = cache.get(&c) {
            return Ok(r.clone());
        }
        let bytes = git::history::read_at(&repo, c, ISSUES)?;
        let r = records(&bytes).remove(&id).map(|x| x.1);
        cache.insert(c, r.clone());
        Ok(r)
    };
    let mut out = Vec::new();
    let mut boundary = None;
    for c in git::history::walk(&repo, head.detach(), 100_000)? {
        if out.len() >= limit {
            break;
        }
        if c.shallow {
            // What changed in the oldest commit of a shallow clone cannot be
            // known: its parent is not here.
            boundary = Some((c.id, c.time));
            continue;
        }
        let now = rec_at(c.id)?;
        let mut parents = Vec::new();
        for p in &c.parents {
            parents.push(rec_at(*p)?);
        }
        if c.parents.is_empty() {
            // A root commit: everything in it is new.
            parents.push(None);
        }
        let line = |r: &Option<Record>| r.as_ref().map(Record::to_line);
        if parents.iter().all(|p| line(p) == line(&now)) {
            continue;
        }
        // A merge whose result equals one parent's version brought no change
        // of its own (that parent's commits show it); the rest are compared
        // with the first parent that has the issue.
        let merge_took_a_side = parents.len() > 1 && parents.iter().any(|p| line(p) == line(&now));
        let first = if parents.len() > 1 {
            parents.iter().flatten().next().cloned()
        } else {
            parents.first().cloned().flatten()
        };
        let fields = if merge_took_a_side {
            Vec::new()
        } else {
            field_changes(first.as_ref(), now.as_ref())
        };
        let mut lost = Vec::new();
        if parents.len() > 1 {
            // A parent's value lost the merge when that side had changed it
            // (it differs from the merge base) and the result does not keep it.
            let base = match repo.merge_base(c.parents[0], c.parents[1]) {
                Ok(Some(b)) => rec_at(b.detach())?,
                _ => None,
            };
            for p in parents.iter().flatten() {
                let changed_on_side = field_changes(base.as_ref(), Some(p));
                for f in field_changes(Some(p), now.as_ref()) {
                    if !changed_on_side.iter().any(|s| s.field == f.field) {
                        continue;
                    }
                    if !lost
                        .iter()
                        .any(|l: &FieldChange| l.field == f.field && l.before == f.before)
                    {
                        lost.push(f);
                    }
                }
            }
        }
        if merge_took_a_side && lost.is_empty() {
            continue;
        }
        if fields.is_empty() && lost.is_empty() && now.is_some() == first.is_some() {
            continue;
        }
        out.push(LogEntry {
            commit: c.id.to_string(),
            author: c.author,
            time: time::format(c.time * 1_000_000_000),
            subject: c.subject,
            kind: kind_of(first.as_ref(), now.as_ref()),
            fields,
            lost,
        });
    }
    if let Some((commit, t)) = boundary {
        let short: String = commit.to_string().chars().take(10).collect();
        ctx.note(format!(
            "this is a shallow clone: history before {short} ({}) is not here; showing what is (`git fetch --unshallow` fetches the rest)",
            time::format(t * 1_000_000_000)
        ));
    }
    // Neither here nor in any commit read: no such issue, as `show` says
    // (a shallow clone's missing history is said above, not refused).
    if out.is_empty() && !known_here && boundary.is_none() {
        return Err(crate::error::Error::IssueNotFound {
            id: query.to_string(),
            history: true,
        });
    }
    Ok(Log { id, entries: out })
}

/// One version of an issue, as classic `bd history` gives it: the commit
/// that made it and the issue as it was there (absent in a commit that
/// removed it). Classic's keys, as its Go struct names them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Version {
    #[serde(rename = "CommitHash")]
    pub commit: String,
    #[serde(rename = "Committer")]
    pub committer: String,
    #[serde(rename = "CommitDate")]
    pub date: String,
    #[serde(rename = "Issue")]
    pub issue: Option<Value>,
}

/// `bd history <id>` (classic): the issue's versions, newest first, from
/// the commits [`log`] finds (0: all of them).
pub fn versions(ctx: &Session, query: &str, limit: usize) -> Result<Vec<Version>> {
    let log = log(ctx, query, if limit == 0 { usize::MAX } else { limit })?;
    let repo = git::open(&ctx.ws.root)?;
    let mut out = Vec::new();
    for e in log.entries {
        let oid = gix::ObjectId::from_hex(e.commit.as_bytes())
            .map_err(|_| Error::invalid(format!("bad commit id {}", e.commit)))?;
        let bytes = git::history::read_at(&repo, oid, ISSUES)?;
        let issue = records(&bytes)
            .remove(&log.id)
            .map(|(_, r)| serde_json::to_value(r.to_map()).unwrap_or_default());
        out.push(Version {
            commit: e.commit,
            committer: e.author,
            date: e.time,
            issue,
        });
    }
    Ok(out)
}

/// A list field's change said element by element (`+ blocks bd-a1`,
/// `- urgent`), for dependencies, labels and comments; `None` for other fields.
pub fn list_change_text(f: &FieldChange) -> Option<String> {
    let items = |v: &Option<Value>| -> Option<Vec<Value>> {
        match v {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(Value::Array(a)) => Some(a.clone()),
            _ => None,
        }
    };
    let (before, after) = (items(&f.before)?, items(&f.after)?);
    let describe = |v: &Value| -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Object(m) if m.contains_key("depends_on_id") => format!(
                "{} {}",
                m.get("type").and_then(Value::as_str).unwrap_or("blocks"),
                m.get("depends_on_id")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
            ),
            Value::Object(m) if m.contains_key("text") => {
                let text = m.get("text").and_then(Value::as_str).unwrap_or("");
                let one: String = text.lines().next().unwrap_or("").chars().take(50).collect();
                let more = if text.chars().count() > one.chars().count() {
                    "…"
                } else {
                    ""
                };
                format!(
                    "comment by {}: {one:?}{more}",
                    m.get("author").and_then(Value::as_str).unwrap_or("?")
                )
            }
            other => {
                let t = other.to_string();
                t.chars().take(60).collect()
            }
        }
    };
    // Elements compared by what they say (a dependency by type and target).
    let said_before: Vec<String> = before.iter().map(describe).collect();
    let said_after: Vec<String> = after.iter().map(describe).collect();
    let mut parts: Vec<String> = Vec::new();
    for s in &said_after {
        if !said_before.contains(s) {
            parts.push(format!("+ {s}"));
        }
    }
    for s in &said_before {
        if !said_after.contains(s) {
            parts.push(format!("- {s}"));
        }
    }
    if parts.is_empty() {
        parts.push("(reordered or restamped)".into());
    }
    Some(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line-by-line shortcut reports exactly what parsing both whole
    /// versions reports.
    #[test]
    fn comparing_only_differing_lines_matches_the_full_compare() {
        let line = |id: &str, title: &str, status: &str| {
            format!(
                r#"{{"id":"{id}","title":"{title}","status":"{status}","priority":2,"issue_type":"task","created_at":"2026-01-01T00:00:00Z"}}"#
            )
        };
        let before = [
            line("bd-a", "one", "open"),
            line("bd-b", "two", "open"),
            line("bd-c", "three", "open"),
            line("bd-d", "four", "closed"),
        ]
        .join("\n")
            + "\n";
        let after = [
            line("bd-a", "one", "open"),
            line("bd-b", "two!", "open"),
            line("bd-c", "three", "closed"),
            line("bd-e", "five", "open"),
        ]
        .join("\n")
            + "\n";
        let (b, a) = differing(before.as_bytes(), after.as_bytes()).expect("plain lines");
        assert_eq!(b.len(), 3, "b, c and the removed d");
        assert_eq!(a.len(), 3, "b, c and the new e");
        let fast = compare(before.as_bytes(), after.as_bytes());
        let full = compare_records(&records(before.as_bytes()), &records(after.as_bytes()));
        assert_eq!(format!("{fast:?}"), format!("{full:?}"));
        let kinds: Vec<(String, String)> = fast
            .iter()
            .map(|c| (c.id.clone(), format!("{:?}", c.kind)))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("bd-b".into(), "Changed".into()),
                ("bd-c".into(), "Closed".into()),
                ("bd-d".into(), "Removed".into()),
                ("bd-e".into(), "Created".into()),
            ]
        );
        // A repeated id or an escaped one: the whole files are parsed.
        let dup = format!(
            "{}\n{}\n",
            line("bd-a", "x", "open"),
            line("bd-a", "y", "open")
        );
        assert!(differing(dup.as_bytes(), after.as_bytes()).is_none());
        let escaped = line(r"bd-\u0061", "x", "open") + "\n";
        assert!(differing(escaped.as_bytes(), after.as_bytes()).is_none());
    }
}

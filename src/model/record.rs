//! One work item as it lives in `issues.jsonl`: a JSON object whose values are
//! kept as their input bytes until `bd` changes them, written back in the
//! canonical key order. Typed views read the fields commands need.
//!
//! Keeping raw values is what lets unknown keys, `metadata`, classic time
//! offsets and `\u003c` escapes survive byte for byte, and lets an edit to one
//! field leave every other value of the line untouched.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::time::{self, Nanos};

/// Keys in the order `bd` writes them; unknown keys follow in byte order, then `_stamps`.
/// How a checkpoint starts (`bd checkpoint`): a comment (so it merges as
/// comments do, and every tool that shows comments shows it), marked as
/// the item's latest word on what is done and what is next.
pub const CHECKPOINT: &str = "Checkpoint: ";

pub const KEY_ORDER: &[&str] = &[
    "id",
    "title",
    "description",
    "design",
    "acceptance_criteria",
    "notes",
    "status",
    "priority",
    "issue_type",
    "assignee",
    "owner",
    "estimated_minutes",
    "created_at",
    "created_by",
    "updated_at",
    "started_at",
    "closed_at",
    "close_reason",
    "due_at",
    "defer_until",
    "external_ref",
    "metadata",
    "labels",
    "dependencies",
    "comments",
    "deleted_at",
    "deleted_by",
    "delete_reason",
    "original_type",
];

pub const STAMPS: &str = "_stamps";
pub const CLAIM_EPOCH: &str = "claim_epoch";

/// The register a field's stamp is kept under: fields that move together share one.
pub fn stamp_group(field: &str) -> &str {
    match field {
        "status" | "closed_at" | "close_reason" => "status",
        "assignee" | "started_at" => "claim",
        "deleted_at" | "deleted_by" | "delete_reason" | "original_type" => "tombstone",
        other => other,
    }
}

/// A hybrid-logical-clock stamp: an instant and the actor who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    pub at: Nanos,
    pub actor: String,
}

impl Stamp {
    pub fn parse(text: &str) -> Option<Stamp> {
        let (t, actor) = text.split_once(' ').unwrap_or((text, ""));
        Some(Stamp {
            at: time::parse(t)?,
            actor: actor.to_string(),
        })
    }

    pub fn to_text(&self) -> String {
        format!("{} {}", time::format(self.at), self.actor)
    }
}

/// One dependency edge, as far as `bd` needs to understand it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Dep {
    #[serde(default)]
    pub issue_id: String,
    #[serde(default)]
    pub depends_on_id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

impl Dep {
    /// `metadata.gate == "any-children"` (a `waits-for` gate).
    pub fn any_children(&self) -> bool {
        self.metadata
            .as_ref()
            .and_then(|m| m.get("gate"))
            .and_then(|g| g.as_str())
            == Some("any-children")
    }
}

/// One comment.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Comment {
    #[serde(default)]
    pub id: serde_json::Value,
    #[serde(default)]
    pub issue_id: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub created_at: String,
}

/// A record: its id and its fields as raw JSON.
#[derive(Debug, Clone)]
pub struct Record {
    id: String,
    fields: BTreeMap<String, Box<RawValue>>,
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.to_line() == other.to_line()
    }
}

fn raw<T: Serialize + ?Sized>(v: &T) -> Box<RawValue> {
    let s = serde_json::to_string(v).expect("serializing plain data cannot fail");
    RawValue::from_string(s).expect("serde_json output is valid JSON")
}

impl Record {
    /// A new record with just an id.
    pub fn new(id: &str) -> Record {
        let mut fields = BTreeMap::new();
        fields.insert("id".to_string(), raw(id));
        Record {
            id: id.to_string(),
            fields,
        }
    }

    /// Parse one line. The error says what is wrong, without position.
    pub fn parse(line: &str) -> Result<Record, String> {
        let fields: BTreeMap<String, Box<RawValue>> =
            serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
        let id = match fields.get("id") {
            None => return Err("missing field 'id'".into()),
            Some(v) => serde_json::from_str::<String>(v.get())
                .map_err(|_| "field 'id' is not a string".to_string())?,
        };
        if id.trim().is_empty() {
            return Err("field 'id' is empty".into());
        }
        Ok(Record { id, fields })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Give the record another id (collision renames, imports).
    pub fn set_id(&mut self, id: &str) {
        self.id = id.to_string();
        self.fields.insert("id".into(), raw(id));
    }

    pub fn has(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// Where the done fields disagree with the status (what `bd` writes
    /// keeps `closed_at` iff `closed` and `deleted_at` iff `tombstone`;
    /// loaded records keep their values, SPEC §2), in words:
    /// `status closed but deleted_at set`.
    pub fn done_mismatches(&self) -> Vec<String> {
        let status = self.status();
        [("closed_at", "closed"), ("deleted_at", "tombstone")]
            .into_iter()
            .filter(|(field, done)| (status == *done) != self.has(field))
            .map(|(field, _)| {
                let how = if self.has(field) { "set" } else { "missing" };
                format!("status {status} but {field} {how}")
            })
            .collect()
    }

    pub fn raw(&self, key: &str) -> Option<&RawValue> {
        self.fields.get(key).map(|b| &**b)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// Every field with its raw value, by key name.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), &**v))
    }

    /// A string field; `None` when absent, null or not a string.
    pub fn str(&self, key: &str) -> Option<String> {
        let v = self.fields.get(key)?;
        let text = v.get();
        if !text.starts_with('"') {
            return None;
        }
        // Fast path: no escapes.
        if !text.contains('\\') {
            return Some(text[1..text.len() - 1].to_string());
        }
        serde_json::from_str(text).ok()
    }

    /// A non-empty string field.
    pub fn nonempty(&self, key: &str) -> Option<String> {
        self.str(key).filter(|s| !s.is_empty())
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        self.fields.get(key)?.get().parse().ok()
    }

    pub fn time(&self, key: &str) -> Option<Nanos> {
        time::parse(&self.str(key)?)
    }

    pub fn json<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Option<T> {
        serde_json::from_str(self.fields.get(key)?.get()).ok()
    }

    pub fn status(&self) -> String {
        self.str("status").unwrap_or_else(|| "open".into())
    }

    pub fn priority(&self) -> i64 {
        self.int("priority").unwrap_or(2)
    }

    pub fn issue_type(&self) -> String {
        self.str("issue_type").unwrap_or_else(|| "task".into())
    }

    /// The typed view of [`Record::status`] (unknown values as `Other`).
    pub fn state(&self) -> crate::model::kinds::Status {
        crate::model::kinds::Status::parse(&self.status())
    }

    /// Set the status (the typed way to write it).
    pub fn set_status(&mut self, status: crate::model::kinds::Status) {
        self.set("status", status.as_str());
    }

    /// The typed view of [`Record::issue_type`] (unknown values as `Other`).
    pub fn kind(&self) -> crate::model::kinds::IssueType {
        crate::model::kinds::IssueType::parse(&self.issue_type())
    }

    pub fn title(&self) -> String {
        self.str("title").unwrap_or_default()
    }

    pub fn labels(&self) -> Vec<String> {
        self.json::<Vec<String>>("labels").unwrap_or_default()
    }

    pub fn deps(&self) -> Vec<Dep> {
        self.json::<Vec<Dep>>("dependencies").unwrap_or_default()
    }

    /// The dependency entries as raw JSON, to keep unknown bytes when editing the list.
    pub fn deps_raw(&self) -> Vec<Box<RawValue>> {
        self.json::<Vec<Box<RawValue>>>("dependencies")
            .unwrap_or_default()
    }

    pub fn comments(&self) -> Vec<Comment> {
        self.json::<Vec<Comment>>("comments").unwrap_or_default()
    }

    pub fn comments_raw(&self) -> Vec<Box<RawValue>> {
        self.json::<Vec<Box<RawValue>>>("comments")
            .unwrap_or_default()
    }

    /// The parent: the target of the first `parent-child` edge, by target id.
    pub fn parent(&self) -> Option<String> {
        let mut ps: Vec<String> = self
            .deps()
            .into_iter()
            .filter(|d| d.kind == "parent-child")
            .map(|d| d.depends_on_id)
            .collect();
        ps.sort();
        ps.into_iter().next()
    }

    /// Set a field to a value (any serializable data).
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        self.fields.insert(key.to_string(), raw(value));
    }

    pub fn set_raw(&mut self, key: &str, value: Box<RawValue>) {
        self.fields.insert(key.to_string(), value);
    }

    pub fn remove(&mut self, key: &str) -> bool {
        self.fields.remove(key).is_some()
    }

    /// Set or clear an optional string field. Returns whether it changed.
    pub fn set_opt_str(&mut self, key: &str, value: Option<&str>) -> bool {
        match value {
            Some(v) => {
                if self.str(key).as_deref() == Some(v) {
                    return false;
                }
                self.set(key, v);
                true
            }
            None => self.remove(key),
        }
    }

    /// Whether a list field (`labels`, `dependencies`, `comments`) is absent or
    /// in the form `bd` can edit without losing anything.
    pub fn list_ok(&self, key: &str) -> bool {
        let Some(v) = self.fields.get(key) else {
            return true;
        };
        match key {
            "labels" => serde_json::from_str::<Vec<String>>(v.get()).is_ok(),
            "dependencies" => serde_json::from_str::<Vec<Dep>>(v.get()).is_ok(),
            "comments" => serde_json::from_str::<Vec<Comment>>(v.get()).is_ok(),
            _ => true,
        }
    }

    /// Set a time field from text unless it already holds the same instant.
    /// Returns whether it changed.
    pub fn set_time(&mut self, key: &str, text: &str) -> bool {
        if self
            .str(key)
            .is_some_and(|old| time::same_instant(&old, text))
        {
            return false;
        }
        self.set(key, text);
        true
    }

    /// The stamps map (`_stamps`), empty for classic records.
    pub fn stamps(&self) -> BTreeMap<String, serde_json::Value> {
        self.json("_stamps").unwrap_or_default()
    }

    pub fn claim_epoch(&self) -> i64 {
        self.stamps()
            .get(CLAIM_EPOCH)
            .and_then(|v| v.as_i64())
            .unwrap_or(0)
    }

    /// The highest instant any stamp of this record carries, `claim_on.on`
    /// included: a claim made on a state the ledger told of carries that
    /// state's instant, which another machine's clock may have put ahead of
    /// every stamp this record holds, and a later write must sort after it.
    pub fn highest_stamp(&self) -> Nanos {
        let mut hi = self.time("created_at").unwrap_or(i64::MIN);
        if let Some(u) = self.time("updated_at") {
            hi = hi.max(u);
        }
        for (k, v) in self.stamps() {
            let text = match (k.as_str(), &v) {
                (CLAIM_ON, serde_json::Value::Object(on)) => on.get("on").and_then(|v| v.as_str()),
                _ => v.as_str(),
            };
            if let Some(s) = text.and_then(Stamp::parse) {
                hi = hi.max(s.at);
            }
        }
        hi
    }

    /// The stamp of the next write: `max(now, highest stamp + 1ns)`, so an edit
    /// made after seeing another always sorts after it.
    pub fn next_stamp(&self, now: Nanos) -> Nanos {
        if self.fields.len() <= 1 {
            return now;
        }
        now.max(self.highest_stamp().saturating_add(1))
    }

    /// Record that `fields` were written at `at` by `actor` (in `_stamps`, by group).
    pub fn stamp(&mut self, fields: &[&str], at: Nanos, actor: &str) {
        let mut stamps = self.stamps();
        let text = Stamp {
            at,
            actor: actor.to_string(),
        }
        .to_text();
        for f in fields {
            stamps.insert(
                stamp_group(f).to_string(),
                serde_json::Value::String(text.clone()),
            );
        }
        self.set(STAMPS, &stamps);
    }

    /// Lift the claim epoch above `seen` (another workspace's claim-group
    /// state, as the ledger tells it) when it is not already: a write made on
    /// that state must rank after it (SPEC §5).
    pub fn raise_claim_epoch_past(&mut self, seen: i64) {
        if self.claim_epoch() <= seen {
            let mut stamps = self.stamps();
            stamps.insert(CLAIM_EPOCH.into(), seen.saturating_add(1).into());
            self.set(STAMPS, &stamps);
        }
    }

    /// Raise the claim epoch by one.
    pub fn bump_claim_epoch(&mut self) -> i64 {
        let mut stamps = self.stamps();
        let e = stamps
            .get(CLAIM_EPOCH)
            .and_then(|v| v.as_i64())
            .unwrap_or(0)
            .saturating_add(1);
        stamps.insert(CLAIM_EPOCH.into(), e.into());
        self.set(STAMPS, &stamps);
        e
    }

    /// The canonical line (no newline): known keys in order, unknown keys in
    /// byte order, `_stamps` last. Values are written as held.
    pub fn to_line(&self) -> String {
        self.to_line_in(KEY_ORDER)
    }

    /// [`Record::to_line`] with another key order (mail has its own).
    pub fn to_line_in(&self, order: &[&str]) -> String {
        let mut out = String::with_capacity(256);
        out.push('{');
        let mut first = true;
        let mut put = |out: &mut String, k: &str, v: &RawValue| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&serde_json::to_string(k).expect("string keys serialize"));
            out.push(':');
            out.push_str(v.get());
        };
        for k in order {
            if let Some(v) = self.fields.get(*k) {
                put(&mut out, k, v);
            }
        }
        for (k, v) in &self.fields {
            if k != STAMPS && !order.contains(&k.as_str()) {
                put(&mut out, k, v);
            }
        }
        if let Some(v) = self.fields.get(STAMPS) {
            put(&mut out, STAMPS, v);
        }
        out.push('}');
        out
    }

    /// The record as a JSON value (for output), with `_stamps` left out.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::Value::Object(self.to_map())
    }

    /// [`Record::to_value`]'s fields: known keys in canonical order, then
    /// the others by name; a value serde_json cannot hold is left out.
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        for k in KEY_ORDER {
            if let Some(v) = self.fields.get(*k)
                && let Ok(j) = serde_json::from_str(v.get())
            {
                m.insert((*k).to_string(), j);
            }
        }
        for (k, v) in &self.fields {
            if k != STAMPS
                && !KEY_ORDER.contains(&k.as_str())
                && let Ok(j) = serde_json::from_str(v.get())
            {
                m.insert(k.clone(), j);
            }
        }
        m
    }
}

/// Edits of the list fields, keeping the raw bytes of entries they do not touch.
impl Record {
    /// Add a label; false when it was already there.
    pub fn add_label(&mut self, label: &str) -> bool {
        let mut labels = self.labels();
        if labels.iter().any(|l| l == label) {
            return false;
        }
        labels.push(label.to_string());
        labels.sort();
        self.set("labels", &labels);
        true
    }

    /// Remove a label; false when it was not there.
    pub fn remove_label(&mut self, label: &str) -> bool {
        let mut labels = self.labels();
        let before = labels.len();
        labels.retain(|l| l != label);
        if labels.len() == before {
            return false;
        }
        if labels.is_empty() {
            self.remove("labels");
        } else {
            self.set("labels", &labels);
        }
        true
    }

    /// Whether an edge to `target` of `kind` exists.
    pub fn has_dep(&self, target: &str, kind: &str) -> bool {
        self.deps()
            .iter()
            .any(|d| d.depends_on_id == target && d.kind == kind)
    }

    /// Add an edge, keeping the list sorted by (target, type); false when present.
    pub fn add_dep(&mut self, dep: &Dep) -> bool {
        if self.has_dep(&dep.depends_on_id, &dep.kind) {
            return false;
        }
        let mut entries: Vec<(String, String, Box<RawValue>)> = self
            .deps_raw()
            .into_iter()
            .map(|raw_entry| {
                let d: Dep = serde_json::from_str(raw_entry.get()).unwrap_or_default();
                (d.depends_on_id, d.kind, raw_entry)
            })
            .collect();
        entries.push((dep.depends_on_id.clone(), dep.kind.clone(), raw(dep)));
        entries.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let list: Vec<Box<RawValue>> = entries.into_iter().map(|e| e.2).collect();
        self.set("dependencies", &list);
        true
    }

    /// Remove edges to `target` (of `kind`, or of any kind); returns how many.
    pub fn remove_dep(&mut self, target: &str, kind: Option<&str>) -> usize {
        let entries = self.deps_raw();
        let before = entries.len();
        let kept: Vec<Box<RawValue>> = entries
            .into_iter()
            .filter(|raw_entry| {
                let d: Dep = serde_json::from_str(raw_entry.get()).unwrap_or_default();
                !(d.depends_on_id == target && kind.is_none_or(|k| k == d.kind))
            })
            .collect();
        let removed = before - kept.len();
        if removed > 0 {
            if kept.is_empty() {
                self.remove("dependencies");
            } else {
                self.set("dependencies", &kept);
            }
        }
        removed
    }

    /// The latest checkpoint on the record, if any: (when, by whom, its
    /// text without the mark).
    pub fn latest_checkpoint(&self) -> Option<(String, String, String)> {
        self.comments()
            .into_iter()
            .filter(|c| c.text.starts_with(CHECKPOINT))
            .max_by(|a, b| {
                let t = |c: &Comment| crate::model::time::parse(&c.created_at).unwrap_or(0);
                t(a).cmp(&t(b))
            })
            .map(|c| {
                (
                    c.created_at.clone(),
                    c.author.clone(),
                    c.text[CHECKPOINT.len()..].to_string(),
                )
            })
    }

    /// Append a comment, keeping the list sorted by (time, id, text).
    pub fn add_comment(&mut self, c: &Comment) {
        let mut entries: Vec<(Nanos, String, String, Box<RawValue>)> = self
            .comments_raw()
            .into_iter()
            .map(|raw_entry| {
                let x: Comment = serde_json::from_str(raw_entry.get()).unwrap_or_default();
                (
                    time::parse(&x.created_at).unwrap_or(0),
                    x.id.to_string(),
                    x.text,
                    raw_entry,
                )
            })
            .collect();
        entries.push((
            time::parse(&c.created_at).unwrap_or(0),
            c.id.to_string(),
            c.text.clone(),
            raw(c),
        ));
        entries.sort_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
        let list: Vec<Box<RawValue>> = entries.into_iter().map(|e| e.3).collect();
        self.set("comments", &list);
    }
}

/// Stamps the merge needs beyond one per register (SPEC §5 "The merge").
impl Record {
    /// `stamp` for a write that turned `before` into `self`, plus what the
    /// merge needs to stay convergent (use it in place of `stamp`):
    /// - labels and edges the write added or removed get a stamp of their own
    ///   in `_stamps["labels@"]` / `_stamps["dependencies@"]` (key: the label,
    ///   or `"<depends_on_id> <type>"`; value `"+<stamp>"` when added,
    ///   `"-<stamp>"` when removed), so an add and a remove of one element
    ///   resolve by time, whatever the merge base;
    /// - a write that changes both the claim and the status group (claim,
    ///   unclaim, recovery, reassignment with a status) records
    ///   `_stamps.claim_on = {"at": <this stamp>, "on": <stamp of the status it
    ///   replaced>}`; any other status write drops it. A close or delete stamped
    ///   after `on` is one the claim never saw: it beats the claim's status.
    ///   When the state it replaced was itself a claim-group write made on a
    ///   later state (`claim_made_on`, raised by `raise_claim_on`), `on` is
    ///   that later state: a release or recovery is made on everything the
    ///   claim it replaces was made on, so the state's merge key
    ///   (`model::merge`, `StateKey`) never goes down with a write.
    pub fn stamp_write(&mut self, before: &Record, fields: &[&str], at: Nanos, actor: &str) {
        let text = Stamp {
            at,
            actor: actor.to_string(),
        }
        .to_text();
        self.stamp(fields, at, actor);
        let mut stamps = self.stamps();
        let mut changed = false;
        for list in ["labels", "dependencies"] {
            if !fields.iter().any(|f| stamp_group(f) == list) {
                continue;
            }
            let (old, new) = (before.element_keys(list), self.element_keys(list));
            let key = format!("{list}@");
            let mut elems = match stamps.remove(&key) {
                Some(serde_json::Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            for (k, entry) in &new {
                if old.get(k) != Some(entry) {
                    elems.insert(k.clone(), format!("+{text}").into());
                }
            }
            for k in old.keys().filter(|k| !new.contains_key(*k)) {
                elems.insert(k.clone(), format!("-{text}").into());
            }
            if !elems.is_empty() {
                let sorted: BTreeMap<String, serde_json::Value> = elems.into_iter().collect();
                stamps.insert(key, serde_json::Value::Object(sorted.into_iter().collect()));
            }
            changed = true;
        }
        let claim = fields.iter().any(|f| stamp_group(f) == "claim");
        let status = fields.iter().any(|f| stamp_group(f) == "status");
        if status {
            changed = true;
            match claim.then(|| before.state_made_on()).flatten() {
                Some(on) => {
                    stamps.insert(CLAIM_ON.into(), serde_json::json!({"at": text, "on": on}));
                }
                None => {
                    stamps.remove(CLAIM_ON);
                }
            }
        }
        if changed {
            self.set(STAMPS, &stamps);
        }
    }

    /// A claim-group write that knew of a state this record does not hold
    /// (a claim, release or sling another workspace of the project wrote, as
    /// the project home's ledger tells, stamped `seen`): the claim was made
    /// on that state, so `_stamps.claim_on.on` rises to `seen` (SPEC §5,
    /// §7). Call it after `stamp_write`; it does nothing unless this record's
    /// status was written by a claim-group write with an older `on`.
    pub fn raise_claim_on(&mut self, seen: &Stamp) {
        let mut stamps = self.stamps();
        let Some(serde_json::Value::Object(on)) = stamps.get_mut(CLAIM_ON) else {
            return;
        };
        let older = on
            .get("on")
            .and_then(|v| v.as_str())
            .and_then(Stamp::parse)
            .is_none_or(|o| o < *seen);
        let current = on.get("at").and_then(|v| v.as_str()) == stamps_status(self).as_deref();
        if older && current {
            on.insert("on".into(), seen.to_text().into());
            self.set(STAMPS, &stamps);
        }
    }

    /// The status a claim-group write was made on (`_stamps.claim_on.on`),
    /// when the record's current status is that write's; `None` otherwise.
    pub fn claim_made_on(&self) -> Option<Stamp> {
        let stamps = self.stamps();
        let on = stamps.get(CLAIM_ON)?.as_object()?;
        if on.get("at").and_then(|v| v.as_str()) != stamps_status(self).as_deref() {
            return None;
        }
        on.get("on").and_then(|v| v.as_str()).and_then(Stamp::parse)
    }

    /// The elements of a list field by the key the merge matches them on,
    /// with their entry text.
    fn element_keys(&self, list: &str) -> BTreeMap<String, String> {
        match list {
            "labels" => self.labels().into_iter().map(|l| (l.clone(), l)).collect(),
            _ => self
                .deps_raw()
                .into_iter()
                .map(|e| {
                    let d: Dep = serde_json::from_str(e.get()).unwrap_or_default();
                    (
                        format!("{} {}", d.depends_on_id, d.kind),
                        e.get().to_string(),
                    )
                })
                .collect(),
        }
    }

    /// What a claim-group write on this record is made on, as text: the
    /// later of the status stamp and, while the status is a claim-group
    /// write's, the state that write was made on (`claim_on.on`).
    fn state_made_on(&self) -> Option<String> {
        let status = self.status_stamp_text()?;
        let made_on = self.stamps().get(CLAIM_ON).and_then(|on| {
            let on = on.as_object()?;
            if on.get("at").and_then(|v| v.as_str()) != Some(status.as_str()) {
                return None;
            }
            on.get("on").and_then(|v| v.as_str()).map(str::to_string)
        });
        match made_on {
            Some(m) if Stamp::parse(&m) > Stamp::parse(&status) => Some(m),
            _ => Some(status),
        }
    }

    /// The status group's stamp as text: its `_stamps` entry, else the implied
    /// one (`created_at` in a record with `_stamps`, `updated_at` in a classic one).
    fn status_stamp_text(&self) -> Option<String> {
        if let Some(s) = self.stamps().get("status").and_then(|v| v.as_str()) {
            return Some(s.to_string());
        }
        let key = if self.has(STAMPS) {
            "created_at"
        } else {
            "updated_at"
        };
        let at = self.time(key).or_else(|| self.time("created_at"))?;
        Some(
            Stamp {
                at,
                actor: String::new(),
            }
            .to_text(),
        )
    }
}

fn stamps_status(r: &Record) -> Option<String> {
    r.stamps()
        .get("status")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// `_stamps` key: `{"at": <stamp of a claim-group write that also wrote the
/// status>, "on": <stamp of the status it replaced>}` (see `stamp_write`).
pub const CLAIM_ON: &str = "claim_on";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_escaped_values_keep_their_bytes() {
        let line = r#"{"id":"bd-1","title":"a \u003c b","zeta":1.50,"status":"open","priority":2,"metadata":{"b":1, "a":2},"alpha":[1, 2]}"#;
        let mut r = Record::parse(line).unwrap();
        assert_eq!(r.title(), "a < b");
        let out = r.to_line();
        assert_eq!(
            out,
            r#"{"id":"bd-1","title":"a \u003c b","status":"open","priority":2,"metadata":{"b":1, "a":2},"alpha":[1, 2],"zeta":1.50}"#
        );
        r.set("priority", &1);
        assert!(r.to_line().contains(r#""priority":1"#));
        assert!(r.to_line().contains(r#""zeta":1.50"#));
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(Record::parse("{").unwrap_err().contains("invalid JSON"));
        assert!(Record::parse("[]").is_err());
        assert!(
            Record::parse(r#"{"title":"x"}"#)
                .unwrap_err()
                .contains("'id'")
        );
        assert!(
            Record::parse(r#"{"id":3}"#)
                .unwrap_err()
                .contains("not a string")
        );
    }

    #[test]
    fn stamps_follow_the_clock() {
        let mut r = Record::parse(r#"{"id":"bd-1","created_at":"2026-01-01T00:00:00Z"}"#).unwrap();
        let created = r.time("created_at").unwrap();
        // A clock behind the record still moves forward.
        let at = r.next_stamp(created - 50);
        assert_eq!(at, created + 1);
        r.stamp(&["title", "closed_at"], at, "me");
        let s = r.stamps();
        assert!(s.contains_key("title") && s.contains_key("status"));
        assert_eq!(r.next_stamp(0), created + 2);
        assert_eq!(r.bump_claim_epoch(), 1);
        assert_eq!(r.claim_epoch(), 1);
        assert!(r.to_line().ends_with("}}"));
    }

    /// A claim the ledger says was made on another machine's later release
    /// (its clock ahead): what follows it is made on that release too, so
    /// the state's merge key never goes down with a write.
    #[test]
    fn writes_after_a_raised_claim_sort_after_what_it_was_made_on() {
        let t0 = time::parse("2026-01-01T00:00:00Z").unwrap();
        let sec = 1_000_000_000;
        let mut r = Record::parse(
            r#"{"id":"bd-1","status":"open","created_at":"2026-01-01T00:00:00Z","_stamps":{}}"#,
        )
        .unwrap();
        let before = r.clone();
        r.set("assignee", "b");
        r.set("status", "in_progress");
        let at = r.next_stamp(t0 + 10 * sec);
        r.stamp_write(&before, &["assignee", "status"], at, "b");
        let seen = Stamp {
            at: t0 + 40 * sec,
            actor: "a".into(),
        };
        r.raise_claim_on(&seen);
        assert_eq!(r.claim_made_on(), Some(seen.clone()));
        // The next write stamps after the state the claim was made on.
        assert_eq!(r.next_stamp(t0 + 11 * sec), seen.at + 1);
        // A release (here with a clock that ignores the record: the
        // stamp is behind `seen`) is made on what the claim was made on.
        let before = r.clone();
        r.remove("assignee");
        r.set("status", "open");
        r.stamp_write(&before, &["assignee", "status"], t0 + 11 * sec, "b");
        assert_eq!(r.claim_made_on(), Some(seen.clone()));
        // Not lowered by a ledger event older than that either.
        r.raise_claim_on(&Stamp {
            at: t0 + 20 * sec,
            actor: "c".into(),
        });
        assert_eq!(r.claim_made_on(), Some(seen));
    }
}

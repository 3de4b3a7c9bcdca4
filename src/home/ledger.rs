//! The coordination ledger (SPEC §7): per issue, the last coordination event on
//! this machine (claimed, hooked, released, closed, reopened, deleted), so every
//! workspace of the project sees a claim or sling at once, before any git
//! exchange. The effective state of an issue is its workspace record overlaid
//! with a newer entry here; that overlay is the caller's.
//!
//! File: `<home>/ledger.json`, pretty JSON `{"entries": [Entry, …]}` sorted by
//! issue, one entry per issue; an entry looks like
//! `{"issue", "event": {"kind": "claimed", "holder", "started_at"}, "at", "by",
//! "workspace", "epoch"}`. Entries this version cannot read (a newer `bd`'s
//! event kinds) are kept verbatim and pruned like the rest. Lock:
//! `<home>/ledger.lock`; it is the claim lock of SPEC §2 (taken after the
//! project-home sync lock, before the workspace lock): [`with_ledger`] holds it
//! across a whole check-and-write, so two claims on one machine never both win.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ProjectHome;
use super::registry::{load_json, load_json_locked, parse_now, validate_name, write_json};
use crate::error::{Error, Result};
use crate::model::time::{self, Nanos};

const FILE: &str = "ledger.json";
const LOCK: &str = "ledger";
/// Entries older than this are dropped by [`prune`] whether or not workspaces agree.
pub const KEEP_NS: Nanos = 7 * 86_400 * 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Claimed { holder: String, started_at: String },
    Hooked { agent: String, by: String },
    Released,
    Closed,
    Reopened,
    Deleted,
}

impl Event {
    /// A claim, hook or release: an event of the claim group (its entry
    /// carries `on`, the status its write was made on).
    pub fn is_claim_group(&self) -> bool {
        matches!(
            self,
            Event::Claimed { .. } | Event::Hooked { .. } | Event::Released
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub issue: String,
    pub event: Event,
    /// RFC 3339 UTC with nanoseconds, as `bd` writes it.
    pub at: String,
    /// The actor whose command wrote the entry.
    pub by: String,
    pub workspace: std::path::PathBuf,
    pub epoch: i64,
    /// For claims, hooks and releases: the status stamp the write was made
    /// on (the record's `_stamps.claim_on.on`), so that a close or delete it
    /// never saw is judged as the merge judges it (SPEC §5). Absent in
    /// entries written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    /// For a release made by a deferral: the time it was deferred until
    /// (RFC 3339), so other workspaces see deferred work, not ready work,
    /// until then. Absent otherwise (and in entries of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// For a release made by a status write (`update --status blocked`):
    /// the status it left, when not `open` (a deferral says `until`
    /// instead). Absent otherwise (and in entries of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// For a release that kept the assignee (a status write leaves a plain
    /// assignment): who it is still assigned to. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// The `created_at` of the record the entry was written for: with the
    /// id, the issue's identity as the merge keys it (SPEC §5). After a
    /// collision rename the older record keeps the id, and an entry of the
    /// younger must not speak for it: it follows the younger to its new id
    /// (`renamed_from` = this id, same `created_at`). Absent in entries of
    /// older versions, which are taken to be the record at their id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl Entry {
    fn validate(&self) -> Result<()> {
        validate_name("issue", &self.issue)?;
        validate_name("actor", &self.by)?;
        if let Some(a) = &self.assignee {
            validate_name("assignee", a)?;
        }
        if let Some(s) = &self.status {
            validate_name("status", s)?;
        }
        if time::parse(&self.at).is_none() {
            return Err(Error::invalid(format!(
                "ledger entry for {}: `at` is not an RFC 3339 time: {:?}",
                self.issue, self.at
            )));
        }
        Ok(())
    }

    fn at_ns(&self) -> Option<Nanos> {
        time::parse(&self.at)
    }

    /// Whether the entry was written for a record created at `created` (an
    /// entry without the field is taken to be). Compared as instants to the
    /// microsecond, as the merge matches records.
    pub fn is_of(&self, created: Option<Nanos>) -> bool {
        let micros = |n: Nanos| n.div_euclid(1000);
        match self.created.as_deref() {
            None => true,
            Some(c) => time::parse(c).map(micros) == created.map(micros),
        }
    }
}

/// The ledger in memory: entries by issue, plus entries kept verbatim.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    entries: BTreeMap<String, Entry>,
    unknown: Vec<Value>,
    recovered: Option<String>,
    /// Set by every change, so [`with_ledger`] writes only when something changed.
    dirty: bool,
}

/// The file's shape: entries are parsed one by one, so one unreadable entry
/// does not cost the others.
#[derive(Debug, Default, Deserialize)]
struct LedgerFile {
    // Raw entries: each is read straight into an `Entry`; only one that does
    // not fit is parsed into a `Value` to be kept verbatim.
    #[serde(default)]
    entries: Vec<Box<serde_json::value::RawValue>>,
}

impl Ledger {
    pub fn find(&self, issue: &str) -> Option<&Entry> {
        self.entries.get(issue)
    }

    /// Set the issue's last event, replacing whatever was there (also an entry
    /// this version could not read). The caller decides under [`with_ledger`]
    /// whether the event may happen; the ledger only keeps the latest.
    pub fn put(&mut self, entry: Entry) -> Result<()> {
        entry.validate()?;
        let issue = entry.issue.clone();
        let unknown = self.unknown.len();
        self.unknown
            .retain(|v| v.get("issue").and_then(Value::as_str) != Some(issue.as_str()));
        self.dirty |= self.unknown.len() != unknown;
        if self.entries.get(&issue) != Some(&entry) {
            self.entries.insert(issue, entry);
            self.dirty = true;
        }
        Ok(())
    }

    pub fn remove(&mut self, issue: &str) -> Option<Entry> {
        let old = self.entries.remove(issue);
        self.dirty |= old.is_some();
        old
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many entries were kept verbatim because this version cannot read them.
    pub fn unreadable(&self) -> usize {
        self.unknown.len()
    }

    /// The warning when the ledger file was corrupt and has been moved aside
    /// (inside [`with_ledger`], where the closure cannot receive it otherwise).
    pub fn recovered(&self) -> Option<&str> {
        self.recovered.as_deref()
    }

    fn from_file(file: LedgerFile) -> Ledger {
        let mut ledger = Ledger::default();
        for raw in file.entries {
            match serde_json::from_str::<Entry>(raw.get()) {
                Ok(e) if e.validate().is_ok() => {
                    ledger.entries.insert(e.issue.clone(), e);
                }
                _ => ledger
                    .unknown
                    .push(serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null)),
            }
        }
        ledger
    }

    fn to_file(&self) -> LedgerOut<'_> {
        let known = self.entries.values().map(Item::Known);
        LedgerOut {
            entries: known.chain(self.unknown.iter().map(Item::Kept)).collect(),
        }
    }
}

/// What is written: readable entries by issue, then the kept ones, verbatim.
#[derive(Serialize)]
struct LedgerOut<'a> {
    entries: Vec<Item<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Item<'a> {
    Known(&'a Entry),
    Kept(&'a Value),
}

/// The ledger; missing or corrupt gives an empty one and, when corrupt, a
/// warning to print (the file was moved aside; the caller rebuilds it).
pub fn load(home: &ProjectHome) -> (Ledger, Option<String>) {
    let (file, warning) = load_json(home, LOCK, &home.path(FILE));
    let mut ledger = Ledger::from_file(file);
    ledger.recovered = warning.clone();
    (ledger, warning)
}

/// Read, change and write the ledger under its lock, held for the whole
/// closure: check-then-claim is one step. Written only when the closure
/// succeeds and changed something. Do not call [`load`], [`record`] or this
/// again inside `f` (the lock is not re-entrant; it would wait, then fail).
pub fn with_ledger<T>(home: &ProjectHome, f: impl FnOnce(&mut Ledger) -> Result<T>) -> Result<T> {
    let _lock = home.lock(LOCK)?;
    let path = home.path(FILE);
    let (file, warning): (LedgerFile, _) = load_json_locked(&path)?;
    let mut ledger = Ledger::from_file(file);
    ledger.recovered = warning;
    let out = f(&mut ledger)?;
    if ledger.dirty {
        write_json(&path, &ledger.to_file())?;
    }
    Ok(out)
}

/// Write `ledger` now, from inside [`with_ledger`] (the caller holds the
/// lock): a command that writes the ledger and another file writes the ledger
/// first, so a failing write of either leaves no half (SPEC §2 rule of no
/// half-done writes). After this, [`with_ledger`] writes only further changes.
pub fn save_locked(home: &ProjectHome, ledger: &mut Ledger) -> Result<()> {
    if !ledger.dirty {
        return Ok(());
    }
    write_locked(home, ledger)
}

/// Write `ledger` now whether or not it changed (putting back the ledger a
/// failed command had already written), from inside [`with_ledger`].
pub fn write_locked(home: &ProjectHome, ledger: &mut Ledger) -> Result<()> {
    write_json(&home.path(FILE), &ledger.to_file())?;
    ledger.dirty = false;
    Ok(())
}

/// Set one issue's last event. Returns the warning of a corrupt ledger that
/// was moved aside on the way, if any.
pub fn record(home: &ProjectHome, entry: Entry) -> Result<Option<String>> {
    with_ledger(home, |ledger| {
        ledger.put(entry)?;
        Ok(ledger.recovered.clone())
    })
}

/// Drop entries older than 7 days before `now`, those `agreed` says every
/// registered workspace already reflects, and those without a readable `at`
/// (kept-verbatim entries are judged by their `at` alone). Exactly 7 days old
/// is kept. Returns how many were dropped.
pub fn prune(
    home: &ProjectHome,
    now: &str,
    agreed: impl Fn(&Entry) -> bool,
) -> Result<(usize, Option<String>)> {
    let now = parse_now(now)?;
    let recent = |at: Option<Nanos>| at.is_some_and(|at| now.saturating_sub(at) <= KEEP_NS);
    with_ledger(home, |ledger| {
        let before = ledger.entries.len() + ledger.unknown.len();
        ledger
            .entries
            .retain(|_, e| recent(e.at_ns()) && !agreed(e));
        ledger
            .unknown
            .retain(|v| recent(v.get("at").and_then(Value::as_str).and_then(time::parse)));
        let dropped = before - ledger.entries.len() - ledger.unknown.len();
        ledger.dirty |= dropped > 0;
        Ok((dropped, ledger.recovered.clone()))
    })
}

/// Replace the whole ledger with `entries` (after it was found missing or
/// corrupt, the caller reconstructs it from every registered workspace). Of
/// several entries for one issue the latest `at` wins, then the higher epoch.
/// An invalid entry fails the rebuild and writes nothing.
pub fn rebuild(home: &ProjectHome, entries: Vec<Entry>) -> Result<Option<String>> {
    for e in &entries {
        e.validate()?;
    }
    with_ledger(home, |ledger| {
        ledger.entries.clear();
        ledger.unknown.clear();
        ledger.dirty = true;
        for e in entries {
            let newer = match ledger.entries.get(&e.issue) {
                Some(old) => (e.at_ns(), e.epoch) >= (old.at_ns(), old.epoch),
                None => true,
            };
            if newer {
                ledger.entries.insert(e.issue.clone(), e);
            }
        }
        Ok(ledger.recovered.clone())
    })
}

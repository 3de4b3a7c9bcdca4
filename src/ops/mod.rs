//! The library API: one function per verb (grouped by theme), options in, a
//! report out. Ops compose the store; they never print.

pub mod admin;
pub mod agents;
pub mod budget;
pub mod checkpoint;
pub mod classic;
pub mod compose;
pub mod convoy;
pub mod coord;
pub mod create;
pub mod deps;
pub mod dispatch;
pub mod edit;
pub mod epics;
pub mod fleet;
pub mod formula;
pub mod gate;
pub mod gitops;
pub mod history;
pub mod hooks;
pub mod import;
pub mod labels;
pub mod mail;
pub mod membership;
pub mod merge_driver;
pub mod metrics;
pub mod mol;
pub mod mol_view;
pub mod prime;
pub mod query;
pub mod relay;
pub mod remote;
pub mod reserve;
pub mod run;
pub mod session;
pub mod setup;
pub mod sync;
pub mod write;

pub use crate::store::{leave, set_long_lived};

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::error::{Error, Result};
use crate::model::record::Record;
use crate::model::time::{self, Nanos};
use crate::store::Tx;
use crate::store::index::Row;

pub use session::Session;

/// Something worth telling the user on stderr (not an error). The CLI
/// chooses the words around it and which ones `--quiet` keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// What the command did ("Created bd-1: …").
    Info(String),
    /// Something the user may want to know or act on, not a fault.
    Note(String),
    /// Something went wrong on the side; the command went on.
    Warning(String),
    /// The command had nothing to do.
    Unchanged(String),
}

/// One thing `doctor` found: the check, how bad (`error`, `warning`,
/// `info`), what it found, and whether `--fix` fixed it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    pub check: String,
    pub severity: &'static str,
    pub message: String,
    pub fixed: bool,
}

/// The pure inputs of a command, read from the process environment once,
/// by the command line.
#[derive(Debug, Clone)]
pub struct Env {
    /// The time of the command (`BD_NOW`, else the clock).
    pub now: Nanos,
    /// The named actor (`--actor`, else `BD_ACTOR`): explicit when set and
    /// not blank; otherwise the actor is derived from the workspace path.
    pub actor: Option<String>,
    /// The machine-local home's base (`BD_HOME`, else `$XDG_STATE_HOME/bd`,
    /// else `~/.local/state/bd`); none when the environment names no place.
    pub bd_home: Option<PathBuf>,
    /// How long a lock waits (`BD_LOCK_TIMEOUT_MS`, else 10 s).
    pub lock_timeout: std::time::Duration,
    /// The user's formula folder (`~/.beads/formulas`, classic's place);
    /// none when HOME is not set.
    pub formulas_dir: Option<PathBuf>,
    /// `--readonly`: the command writes nothing, not even the work around
    /// it (heartbeat, mail delivery, the merge-driver config).
    pub readonly: bool,
    /// `--sandbox`/`--offline`: nothing touches the network (`sync`
    /// refuses, and so does a claim in remote coordination).
    pub offline: bool,
    /// `--remote`: this command coordinates through the git remote whatever
    /// the config says.
    pub remote: bool,
    /// `--offline-claim`: offline in remote coordination, claim locally
    /// anyway (sync arbitrates later).
    pub offline_claim: bool,
}

pub fn most_common_prefix<'a>(ids: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in ids {
        if let Some((p, _)) = id.split_once('-') {
            *counts.entry(p).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(p, _)| p.to_string())
}

/// An issue as list-like commands give it: the record's fields (as
/// [`Record::to_value`] gives them), then its counts and parent. With
/// `linked` (the views of one issue a verb wrote, as classic clients read
/// them), `dependencies` lists the issues it depends on, each with its
/// `dependency_type`, in place of the stored edges.
#[derive(Debug, Clone)]
pub struct IssueView<'a> {
    pub record: Cow<'a, Record>,
    pub dependency_count: usize,
    pub dependent_count: u32,
    pub comment_count: usize,
    pub parent: Option<String>,
    pub linked: Option<Vec<Linked>>,
}

/// An issue at the other end of an edge, as classic clients read it (the
/// `dependencies` and `dependents` of `show`, and of the issue a verb
/// wrote): its fields and the edge's type.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Linked {
    pub id: String,
    pub title: String,
    pub status: String,
    pub priority: i64,
    pub issue_type: String,
    pub assignee: Option<String>,
    #[serde(serialize_with = "nanos_text")]
    pub created_at: Nanos,
    #[serde(serialize_with = "nanos_text")]
    pub updated_at: Nanos,
    pub dependency_type: String,
}

impl Linked {
    /// The issue of index row `r`, at the end of an edge of type `kind`.
    pub fn of(r: &Row, kind: &str) -> Linked {
        Linked {
            id: r.id.clone(),
            title: r.title.clone(),
            status: r.status.clone(),
            priority: r.priority,
            issue_type: r.issue_type.clone(),
            assignee: Some(r.assignee.clone()).filter(|a| !a.is_empty()),
            created_at: r.created_at,
            updated_at: r.updated_at,
            dependency_type: kind.to_string(),
        }
    }
}

fn nanos_text<S: Serializer>(n: &Nanos, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&time::format(*n))
}

impl<'a> IssueView<'a> {
    /// The keys [`IssueView::put`] writes, in order.
    pub const KEYS: &'static [&'static str] = &[
        "dependency_count",
        "dependent_count",
        "comment_count",
        "parent",
    ];

    /// The view of `rec`; `row` (its index row) gives the counts that need
    /// the whole tracker (dependents) and the parent it resolved.
    pub fn new(record: Cow<'a, Record>, row: Option<&Row>) -> IssueView<'a> {
        // `Record::deps` and `comments` as they count, without building
        // the entries (a listing views every issue of a tracker).
        let deps: Vec<shapes::Dep> = shapes::list(&record, "dependencies");
        IssueView {
            dependency_count: deps.len(),
            dependent_count: row.map_or(0, |r| r.dependent_count),
            comment_count: shapes::list::<shapes::Comment>(&record, "comments").len(),
            parent: row.and_then(|r| r.parent.clone()).or_else(|| {
                // `Record::parent`: the least target of a parent-child edge.
                deps.iter()
                    .filter(|d| d.kind == "parent-child")
                    .map(|d| &d.depends_on_id)
                    .min()
                    .map(|p| p.to_string())
            }),
            record,
            linked: None,
        }
    }

    /// The keys written besides the record's: [`IssueView::KEYS`], and
    /// `dependencies` when linked.
    fn keys(&self) -> &'static [&'static str] {
        const LINKED: &[&str] = &[
            "dependency_count",
            "dependent_count",
            "comment_count",
            "parent",
            "dependencies",
        ];
        if self.linked.is_some() {
            LINKED
        } else {
            Self::KEYS
        }
    }

    /// Write the value of one of [`IssueView::KEYS`].
    pub fn put<M: SerializeMap>(&self, m: &mut M, key: &str) -> std::result::Result<(), M::Error> {
        match key {
            "dependency_count" => m.serialize_entry(key, &self.dependency_count),
            "dependent_count" => m.serialize_entry(key, &self.dependent_count),
            "comment_count" => m.serialize_entry(key, &self.comment_count),
            "dependencies" => m.serialize_entry(key, &self.linked),
            _ => m.serialize_entry(key, &self.parent),
        }
    }
}

impl Serialize for IssueView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        record_with(&mut m, &self.record, self.keys(), |m, k| self.put(m, k))?;
        m.end()
    }
}

/// Write `rec`'s fields into a JSON object with the computed `keys` written
/// by `put`: one of them the record also has takes that key's place, the
/// others follow in order (so a record key never appears twice). The
/// fields are [`Record::to_map`]'s, in its order, each written as that
/// map's value would be ([`OutValue`]).
pub fn record_with<M: SerializeMap>(
    m: &mut M,
    rec: &Record,
    keys: &[&str],
    mut put: impl FnMut(&mut M, &str) -> std::result::Result<(), M::Error>,
) -> std::result::Result<(), M::Error> {
    use crate::model::record::{KEY_ORDER, STAMPS};
    // KEY_ORDER by name, with each key's place in it.
    static BY_NAME: std::sync::OnceLock<Vec<(&str, usize)>> = std::sync::OnceLock::new();
    let by_name = BY_NAME.get_or_init(|| {
        let mut v: Vec<(&str, usize)> = KEY_ORDER.iter().copied().zip(0..).collect();
        v.sort_unstable();
        v
    });
    // `to_map`'s order: the known keys in their order, then the others by
    // name (a stable sort keeps the record's name order); no `_stamps`.
    let mut fields: Vec<(usize, &str, &serde_json::value::RawValue)> = rec
        .fields()
        .filter(|(k, _)| *k != STAMPS)
        .map(|(k, v)| {
            let place = by_name
                .binary_search_by(|(n, _)| (*n).cmp(k))
                .map_or(KEY_ORDER.len(), |i| by_name[i].1);
            (place, k, v)
        })
        .collect();
    fields.sort_by_key(|f| f.0);
    let mut written = vec![false; keys.len()];
    for (_, k, raw) in fields {
        let Some(v) = OutValue::of(raw) else {
            continue;
        };
        match keys.iter().position(|x| *x == k) {
            Some(i) => {
                written[i] = true;
                put(m, k)?;
            }
            None => m.serialize_entry(k, &v)?,
        }
    }
    for (k, done) in keys.iter().zip(written) {
        if !done {
            put(m, k)?;
        }
    }
    Ok(())
}

/// The entries of a record's lists as [`Record::deps`] and
/// [`Record::comments`] read them (the same fields of the same types, so
/// a list reads exactly when theirs does), borrowing their text.
mod shapes {
    use std::borrow::Cow;

    use crate::model::record::Record;

    /// [`crate::model::record::Dep`]'s fields.
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    pub struct Dep<'a> {
        #[serde(borrow, default)]
        pub issue_id: Cow<'a, str>,
        #[serde(borrow, default)]
        pub depends_on_id: Cow<'a, str>,
        #[serde(borrow, rename = "type", default)]
        pub kind: Cow<'a, str>,
        #[serde(borrow, default)]
        pub created_at: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        pub created_by: Option<Cow<'a, str>>,
        #[serde(default)]
        pub metadata: Option<serde_json::Value>,
    }

    /// [`crate::model::record::Comment`]'s fields.
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    pub struct Comment<'a> {
        #[serde(default)]
        pub id: serde_json::Value,
        #[serde(borrow, default)]
        pub issue_id: Cow<'a, str>,
        #[serde(borrow, default)]
        pub author: Cow<'a, str>,
        #[serde(borrow, default)]
        pub text: Cow<'a, str>,
        #[serde(borrow, default)]
        pub created_at: Cow<'a, str>,
    }

    /// The entries of list `key` (none when it does not read as a list of `T`).
    pub fn list<'a, T: serde::Deserialize<'a>>(rec: &'a Record, key: &str) -> Vec<T> {
        rec.raw(key)
            .and_then(|v| serde_json::from_str(v.get()).ok())
            .unwrap_or_default()
    }
}

/// A stored value as output writes it: what `serde_json` writes for the
/// value it parses to. Plain values (a string without escapes, an integer
/// as `serde_json` writes it, `true`, `false`, `null`) are that text
/// already and are copied as they are; the rest are parsed first.
pub enum OutValue<'a> {
    Raw(&'a serde_json::value::RawValue),
    Parsed(serde_json::Value),
}

impl<'a> OutValue<'a> {
    /// `None` for a value `serde_json` cannot hold (left out of output).
    pub fn of(raw: &'a serde_json::value::RawValue) -> Option<OutValue<'a>> {
        let t = raw.get().as_bytes();
        let plain = match t {
            [b'"', inner @ .., b'"'] => !inner.contains(&b'\\'),
            b"true" | b"false" | b"null" | b"0" => true,
            [b'-', digits @ ..] | digits @ [_, ..] => {
                // An integer serde_json writes back as it is: no sign on
                // zero, no leading zero, short enough for an i64.
                (1..=18).contains(&digits.len())
                    && digits[0] != b'0'
                    && digits.iter().all(u8::is_ascii_digit)
            }
            _ => false,
        };
        if plain {
            return Some(OutValue::Raw(raw));
        }
        serde_json::from_str(raw.get()).ok().map(OutValue::Parsed)
    }
}

impl Serialize for OutValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            OutValue::Raw(r) => r.serialize(s),
            OutValue::Parsed(v) => v.serialize(s),
        }
    }
}

/// [`IssueView::new`] without an index row: the view of a record a verb wrote.
pub fn issue_view(rec: &Record) -> IssueView<'_> {
    IssueView::new(Cow::Borrowed(rec), None)
}

/// Check that `id` exists, with a helpful error.
pub fn require_id(tx: &Tx, query: &str, prefix: &str) -> Result<String> {
    tx.resolve(query, prefix)
}

/// Refuse to edit a list field another tool wrote in a form bd cannot read:
/// rewriting it would lose what is there.
pub fn editable_list(rec: &Record, key: &str) -> Result<()> {
    if rec.list_ok(key) {
        Ok(())
    } else {
        Err(Error::Invalid {
            msg: format!(
                "{}: field '{key}' is not in the form bd can edit; refusing to rewrite it",
                rec.id()
            ),
            hint: Some("fix that line by hand (`bd doctor` lists odd records)".into()),
        })
    }
}

/// A commit subject naming what changed: `bd: close bd-a1 "Title"`.
pub fn commit_subject(verb: &str, changes: &[(String, String, bool)]) -> String {
    let verb = if verb.is_empty() { "update" } else { verb };
    match changes {
        [] => format!("bd: {verb}"),
        [(id, title, _)] => {
            let t: String = title.chars().take(50).collect();
            let more = if title.chars().count() > 50 {
                "…"
            } else {
                ""
            };
            format!("bd: {verb} {id} \"{t}{more}\"")
        }
        many => {
            let ids: Vec<&str> = many.iter().take(4).map(|c| c.0.as_str()).collect();
            let more = if many.len() > 4 { ", …" } else { "" };
            format!(
                "bd: {verb} {} issues ({}{more})",
                many.len(),
                ids.join(", ")
            )
        }
    }
}

/// The free-text fields of an issue as a command gives them (`create`,
/// `update`; on update `Some("")` clears one).
#[derive(Debug, Default, Clone)]
pub struct IssueText {
    pub description: Option<String>,
    pub design: Option<String>,
    pub acceptance: Option<String>,
    pub notes: Option<String>,
}

impl IssueText {
    /// Each field with the record key it is stored under.
    pub fn fields(&self) -> [(&'static str, &Option<String>); 4] {
        [
            ("description", &self.description),
            ("design", &self.design),
            ("acceptance_criteria", &self.acceptance),
            ("notes", &self.notes),
        ]
    }
}

/// Stamp a write (SPEC §5: the hybrid logical clock per changed register, the
/// per-element and claim stamps the merge needs) and move `updated_at` to the
/// same instant, so it never goes backwards.
pub fn stamp_write(ctx: &Session, before: &Record, rec: &mut Record, fields: &[&str], at: Nanos) {
    rec.stamp_write(before, fields, at, &ctx.actor);
    rec.set("updated_at", &time::format(at));
}

/// The usual "nothing changed" notice.
pub fn unchanged(ctx: &Session, what: impl Into<String>) {
    ctx.notices
        .borrow_mut()
        .push(Notice::Unchanged(what.into()));
}

pub fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

//! Messages as they live in `mail.jsonl` (SPEC §6): the typed view, message
//! IDs, addresses and who a message is for. Pure: no clock, no files.
//!
//! Lines are stored as [`Record`]s (raw values, canonical key order
//! [`KEY_ORDER`]) so that unknown keys survive and an update (a read mark)
//! changes only its own values; [`Message`] is the typed view commands read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::id::base36;
use super::record::Record;

/// Keys in the order `bd` writes them (SPEC §6); unknown keys follow in byte
/// order, then `_stamps`.
pub const KEY_ORDER: &[&str] = &[
    "id",
    "thread",
    "in_reply_to",
    "from",
    "to",
    "cc",
    "subject",
    "body",
    "importance",
    "ack_required",
    "attachments",
    "issue",
    "issue_type",
    "delivery",
    "created_at",
    "read_by",
    "acked_by",
];

pub const IMPORTANCE: &[&str] = &["low", "normal", "high", "urgent"];

/// The shortest message ID suffix (SPEC §6: at least 12 base36 characters).
pub const ID_LEN: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The name the sender gave; data only, never a path.
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

/// Where a message to another project stands (SPEC §6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// `pending` or `delivered`.
    pub status: String,
    /// The work item the other project made of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// That item's last known status there, and when it was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_at: Option<String>,
    /// Why the other project refused it (status `rejected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
/// The other project could not take the message in (a strand addition to
/// SPEC §6's `pending|delivered`): it is not re-posted.
pub const REJECTED: &str = "rejected";

/// The typed view of one line of `mail.jsonl`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub thread: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    pub from: String,
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
    #[serde(default = "normal")]
    pub importance: String,
    #[serde(default)]
    pub ack_required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// For a message to another project: the type of the work item it
    /// becomes there (default `bug`). A strand addition to SPEC §6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_type: Option<String>,
    /// Project identity → delivery state, for messages to other projects.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub delivery: BTreeMap<String, Delivery>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub read_by: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub acked_by: BTreeMap<String, String>,
}

fn normal() -> String {
    "normal".into()
}

impl Message {
    /// The typed view of a stored line; `Err` names what is wrong.
    pub fn from_record(rec: &Record) -> Result<Message, String> {
        serde_json::from_value(rec.to_value()).map_err(|e| e.to_string())
    }

    /// The record to store (canonical order comes from [`KEY_ORDER`]).
    pub fn to_record(&self) -> Record {
        let line = serde_json::to_string(self).expect("messages serialize");
        Record::parse(&line).expect("a serialized message parses")
    }

    pub fn to_line(&self) -> String {
        self.to_record().to_line_in(KEY_ORDER)
    }

    /// Every address the message was sent to (`to`, then `cc`).
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.to.iter().chain(self.cc.iter()).map(String::as_str)
    }

    /// Whether `agent` of the project `identity` receives this message.
    pub fn is_for(&self, agent: &str, identity: &str) -> bool {
        self.recipients().any(|a| match Address::parse(a) {
            Ok(Address::Agent(n)) => n == agent,
            Ok(Address::All) => true,
            Ok(Address::AgentIn(n, p)) => n == agent && p == identity,
            Ok(Address::Project(p)) => p == identity,
            Err(_) => false,
        })
    }

    /// Whether `agent` is named itself (not only through `@all` or its project).
    pub fn names(&self, agent: &str, identity: &str) -> bool {
        self.recipients().any(|a| match Address::parse(a) {
            Ok(Address::Agent(n)) => n == agent,
            Ok(Address::AgentIn(n, p)) => n == agent && p == identity,
            _ => false,
        })
    }

    pub fn is_read_by(&self, agent: &str) -> bool {
        self.read_by.contains_key(agent)
    }

    pub fn matches(&self, needle_lower: &str) -> bool {
        self.subject.to_lowercase().contains(needle_lower)
            || self.body.to_lowercase().contains(needle_lower)
    }
}

/// `msg-` + base36 of SHA-256(from, time in ns, subject, body), `len` long.
pub fn message_id(from: &str, time_ns: i64, subject: &str, body: &str, len: usize) -> String {
    let mut h = Sha256::new();
    for part in [from.as_bytes(), &time_ns.to_be_bytes(), subject.as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update((body.len() as u64).to_be_bytes());
    h.update(body.as_bytes());
    let digest = base36(&h.finalize());
    format!("msg-{}", &digest[..len.min(digest.len())])
}

/// Whether `id` is a message id as SPEC §6 makes them: `msg-` and at least
/// [`ID_LEN`] base36 characters.
pub fn valid_id(id: &str) -> bool {
    id.strip_prefix("msg-").is_some_and(|h| {
        h.len() >= ID_LEN
            && h.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

/// Why a message that came from elsewhere (another project's spool) cannot be
/// taken in: a malformed id, control characters where a line of text
/// belongs, an address that does not parse. `None` when it is fine.
pub fn check_foreign(m: &Message) -> Option<String> {
    if !valid_id(&m.id) {
        return Some(format!("message id {:?} is not msg-<base36>", m.id));
    }
    // Threads may have begun in older tools: plain ids are enough there.
    let plain = |i: &str| {
        i.strip_prefix("msg-").is_some_and(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
    };
    if let Some(bad) = [Some(&m.thread), m.in_reply_to.as_ref()]
        .into_iter()
        .flatten()
        .find(|i| !plain(i))
    {
        return Some(format!("thread id {bad:?} is not msg-<letters and digits>"));
    }
    let line = |s: &str| s.is_empty() || s.chars().any(char::is_control);
    if line(&m.from) || m.subject.chars().any(char::is_control) {
        return Some("sender or subject is empty or has control characters".into());
    }
    if m.to.is_empty() {
        return Some("it has no recipient".into());
    }
    if let Some(e) = m.recipients().find_map(|a| Address::parse(a).err()) {
        return Some(e);
    }
    if let Some(a) = m
        .attachments
        .iter()
        .find(|a| a.name.chars().any(char::is_control) || a.sha256.len() != 64)
    {
        return Some(format!("attachment {:?} is malformed", a.name));
    }
    None
}

/// The subject of a reply: `Re: ` once.
pub fn reply_subject(subject: &str) -> String {
    let t = subject.trim_start();
    if t.len() >= 3 && t[..3].eq_ignore_ascii_case("re:") {
        subject.to_string()
    } else {
        format!("Re: {subject}")
    }
}

/// A recipient as written (SPEC §6). Project names stay unresolved here;
/// `ops::mail` resolves them against `[projects]` and the registered homes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `name`: an agent of this project.
    Agent(String),
    /// `@all`: every agent of this project.
    All,
    /// `name@<project>`.
    AgentIn(String, String),
    /// `@<project>` or `project:<identity>`: another project's tracker.
    Project(String),
}

impl Address {
    pub fn parse(text: &str) -> Result<Address, String> {
        let bad = |why: &str| Err(format!("address {text:?} {why}"));
        if text.is_empty() {
            return bad("is empty");
        }
        if text.trim() != text || text.chars().any(|c| c.is_control()) {
            return bad("has white space around it or control characters");
        }
        if text == "@all" {
            return Ok(Address::All);
        }
        if let Some(id) = text.strip_prefix("project:") {
            return if id.is_empty() {
                bad("names no project")
            } else if id.contains('@') {
                // Identities never hold one (URLs lose their user part).
                bad("names a project identity with '@'")
            } else {
                Ok(Address::Project(id.to_string()))
            };
        }
        if let Some(p) = text.strip_prefix('@') {
            return if p.is_empty() || p.contains('@') {
                bad("is not `@<project>`")
            } else {
                Ok(Address::Project(p.to_string()))
            };
        }
        match text.split_once('@') {
            Some((n, p)) if n.is_empty() || p.is_empty() || p.contains('@') => {
                bad("is not `name@<project>`")
            }
            Some((n, p)) => Ok(Address::AgentIn(n.to_string(), p.to_string())),
            None => Ok(Address::Agent(text.to_string())),
        }
    }

    /// The address spelled with a resolved project identity.
    pub fn spelled(&self) -> String {
        match self {
            Address::Agent(n) => n.clone(),
            Address::All => "@all".into(),
            Address::AgentIn(n, p) => format!("{n}@{p}"),
            Address::Project(p) => format!("@{p}"),
        }
    }

    /// The other project this address points at, if any.
    pub fn project(&self) -> Option<&str> {
        match self {
            Address::AgentIn(_, p) | Address::Project(p) => Some(p),
            _ => None,
        }
    }
}

/// Put a live copy and a stored copy of one message together: the stored one
/// wins, read and ack marks are unions with the earliest time.
pub fn combine(into: &mut BTreeMap<String, Message>, m: Message) {
    match into.get_mut(&m.id) {
        None => {
            into.insert(m.id.clone(), m);
        }
        Some(have) => {
            earliest_union(&mut have.read_by, m.read_by);
            earliest_union(&mut have.acked_by, m.acked_by);
        }
    }
}

/// Every mark of `from` in `into`, keeping the earliest time of each reader.
fn earliest_union(into: &mut BTreeMap<String, String>, from: BTreeMap<String, String>) {
    for (k, v) in from {
        let e = into.entry(k).or_insert_with(|| v.clone());
        if crate::model::time::parse(&v) < crate::model::time::parse(e) {
            *e = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> Message {
        Message {
            id: "msg-abc".into(),
            thread: "msg-abc".into(),
            from: "dave/vc".into(),
            to: vec!["ann".into(), "@github.com/x/beads".into()],
            subject: "s".into(),
            body: "b".into(),
            importance: "normal".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            ..Message::default()
        }
    }

    #[test]
    fn ids_are_stable_long_enough_and_depend_on_every_part() {
        let a = message_id("dave", 1, "s", "b", ID_LEN);
        assert_eq!(a, message_id("dave", 1, "s", "b", ID_LEN));
        assert_eq!(a.len(), 4 + ID_LEN);
        assert!(
            a[4..]
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        );
        for other in [
            message_id("davf", 1, "s", "b", ID_LEN),
            message_id("dave", 2, "s", "b", ID_LEN),
            message_id("dave", 1, "t", "b", ID_LEN),
            message_id("dave", 1, "s", "c", ID_LEN),
            // Parts are length-prefixed: moving a byte across a boundary differs.
            message_id("dave", 1, "sb", "", ID_LEN),
        ] {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn addresses_parse() {
        assert_eq!(Address::parse("ann"), Ok(Address::Agent("ann".into())));
        assert_eq!(Address::parse("@all"), Ok(Address::All));
        assert_eq!(
            Address::parse("ann@beads"),
            Ok(Address::AgentIn("ann".into(), "beads".into()))
        );
        assert_eq!(
            Address::parse("@beads"),
            Ok(Address::Project("beads".into()))
        );
        assert_eq!(
            Address::parse("project:github.com/x/beads"),
            Ok(Address::Project("github.com/x/beads".into()))
        );
        for bad in [
            "",
            " ann",
            "@",
            "a@",
            "@a@b",
            "a@b@c",
            "project:",
            "project:a@b",
            "a\nb",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn who_a_message_is_for() {
        let m = msg();
        assert!(m.is_for("ann", "github.com/x/vc"));
        assert!(!m.is_for("bob", "github.com/x/vc"));
        // Project-wide mail reaches every agent of that project.
        assert!(m.is_for("bob", "github.com/x/beads"));
        let mut all = msg();
        all.to = vec!["@all".into()];
        assert!(all.is_for("anyone", "p"));
    }

    #[test]
    fn lines_are_canonical_and_round_trip() {
        let mut m = msg();
        m.read_by
            .insert("ann".into(), "2026-01-02T00:00:00Z".into());
        let line = m.to_line();
        assert!(line.starts_with(r#"{"id":"msg-abc","thread":"msg-abc","from":"dave/vc","to":"#));
        assert!(
            line.ends_with(r#""read_by":{"ann":"2026-01-02T00:00:00Z"}}"#),
            "{line}"
        );
        let back = Message::from_record(&Record::parse(&line).unwrap()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn foreign_messages_are_checked_before_they_are_taken_in() {
        let mut m = msg();
        m.id = "msg-0123456789ab".into();
        m.thread = m.id.clone();
        assert_eq!(check_foreign(&m), None);
        for bad_id in [
            "msg-1\t0\t5",
            "msg-1\nz",
            "msg-SHOUTING1234",
            "msg-short",
            "x-0123456789ab",
        ] {
            let mut b = m.clone();
            b.id = bad_id.into();
            assert!(check_foreign(&b).is_some(), "{bad_id:?}");
        }
        // A thread begun by an older tool is fine; a broken one is not.
        let mut b = m.clone();
        b.thread = "msg-Legacy000001".into();
        assert_eq!(check_foreign(&b), None);
        b.thread = "msg-1\t0".into();
        assert!(check_foreign(&b).is_some());
        let mut b = m.clone();
        b.subject = "hi\u{1b}[2J".into();
        assert!(check_foreign(&b).is_some());
        let mut b = m.clone();
        b.to = vec!["a@b@c".into()];
        assert!(check_foreign(&b).is_some());
    }

    #[test]
    fn reply_subjects_say_re_once() {
        assert_eq!(reply_subject("crash"), "Re: crash");
        assert_eq!(reply_subject("Re: crash"), "Re: crash");
        assert_eq!(reply_subject("RE: crash"), "RE: crash");
    }
}

//! Mail in the project home (SPEC §6): live state that makes a message seen at
//! once, before any push or pull. Nothing here is durable: every message also
//! lives in a `mail.jsonl` that git carries.
//!
//! - `mail/<escaped agent>.jsonl`: messages delivered to an agent of this
//!   project from any of its workspaces (`@all` mail under the key `@all`),
//!   sorted by id, with the read and ack marks made anywhere; entries older
//!   than [`KEEP_DAYS`] are dropped on the next write.
//! - `spool/<message id>.json` and `spool/attachments/<sha256>`: messages from
//!   other projects waiting for a workspace of this project to import them.
//! - `links/<message id>.json`: what another project made of a message sent
//!   from here (its item, that item's status), read by this project's next
//!   command.
//!
//! Each file is written with an atomic replace under its own lock; a corrupt
//! file is moved aside and reported (the durable copies recover it).

use crate::files as fs;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::registry::{json_stems, load_json_locked, parse_now};
use super::{ProjectHome, escape};
use crate::error::{Error, Result};
use crate::files::atomic;
use crate::model::mail::{KEY_ORDER, Message};
use crate::model::record::Record;
use crate::model::time::{self, Nanos};

pub const KEEP_DAYS: i64 = 7;
const DAY_NS: Nanos = 86_400 * 1_000_000_000;

fn live_file(home: &ProjectHome, key: &str) -> PathBuf {
    home.path("mail").join(format!("{}.jsonl", escape(key)))
}

fn read_lines(path: &Path) -> Result<Vec<Message>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    // A line that does not parse was not written by bd: skip it (the message
    // is durable in some mail.jsonl).
    Ok(String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| Record::parse(l).ok())
        .filter_map(|r| Message::from_record(&r).ok())
        .collect())
}

fn write_lines(path: &Path, msgs: &BTreeMap<String, Message>) -> Result<()> {
    if msgs.is_empty() {
        return match fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
            _ => Ok(()),
        };
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut out = String::new();
    for m in msgs.values() {
        out.push_str(&m.to_record().to_line_in(KEY_ORDER));
        out.push('\n');
    }
    atomic::write(path, out.as_bytes())
}

/// Change the live mail of `key` under its lock; drops old entries.
fn update_live<T>(
    home: &ProjectHome,
    key: &str,
    now: &str,
    f: impl FnOnce(&mut BTreeMap<String, Message>) -> T,
) -> Result<T> {
    let now = parse_now(now)?;
    let path = live_file(home, key);
    fs::create_dir_all(home.path("mail")).map_err(|e| Error::io(home.path("mail"), e))?;
    let _lock = home.lock(&format!("mail/{}", escape(key)))?;
    let mut msgs: BTreeMap<String, Message> = read_lines(&path)?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    let before = msgs.clone();
    let out = f(&mut msgs);
    let count = msgs.len();
    msgs.retain(|_, m| time::parse(&m.created_at).is_none_or(|t| now - t < KEEP_DAYS * DAY_NS));
    let expired = msgs.len() < count;
    if msgs != before {
        write_lines(&path, &msgs)?;
    }
    if expired {
        prune_attachments(home);
    }
    Ok(out)
}

/// Remove live attachment bodies no live message names any more (after
/// messages expired). Bodies younger than an hour stay: a send writes the body
/// before the message that names it.
fn prune_attachments(home: &ProjectHome) {
    let mut used = std::collections::BTreeSet::new();
    let Ok(rd) = fs::read_dir(home.path("mail")) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            for m in read_lines(&p).unwrap_or_default() {
                used.extend(m.attachments.into_iter().map(|a| a.sha256));
            }
        }
    }
    let Ok(rd) = fs::read_dir(live_attachments(home)) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let young = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_none_or(|d| d.as_secs() < 3600);
        if crate::files::content::valid_sha(&name) && !used.contains(&name) && !young {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Where live mail keeps attachment bodies, so a recipient in another
/// workspace can read them before a sync brings the sender's copy.
pub fn live_attachments(home: &ProjectHome) -> PathBuf {
    home.path("mail").join("attachments")
}

/// Deliver a message to `key` (an agent, or `@all`) with its attachment
/// bodies. Delivering again keeps the marks already made.
pub fn deliver(
    home: &ProjectHome,
    key: &str,
    msg: &Message,
    bodies: &[Vec<u8>],
    now: &str,
) -> Result<()> {
    let adir = live_attachments(home);
    for b in bodies {
        crate::files::content::put_in(&adir, b)?;
    }
    update_live(home, key, now, |msgs| {
        msgs.entry(msg.id.clone()).or_insert_with(|| msg.clone());
    })
}

/// Record a read or ack mark (`field` is `read_by` or `acked_by`) on a live copy.
pub fn mark(
    home: &ProjectHome,
    key: &str,
    id: &str,
    field: &str,
    agent: &str,
    at: &str,
) -> Result<()> {
    update_live(home, key, at, |msgs| {
        if let Some(m) = msgs.get_mut(id) {
            let map = if field == "acked_by" {
                &mut m.acked_by
            } else {
                &mut m.read_by
            };
            map.entry(agent.to_string())
                .or_insert_with(|| at.to_string());
        }
    })
}

/// The live mail of `key` (no lock: files are replaced atomically).
pub fn live(home: &ProjectHome, key: &str) -> Vec<Message> {
    read_lines(&live_file(home, key)).unwrap_or_default()
}

/// A message from another project, waiting in this project's spool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpoolItem {
    /// The sending project's identity.
    pub from_project: String,
    pub message: Message,
    /// The type of the work item to make of a new thread (default `bug`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_type: Option<String>,
}

fn spool_dir(home: &ProjectHome) -> PathBuf {
    home.path("spool")
}

pub fn spool_attachments(home: &ProjectHome) -> PathBuf {
    spool_dir(home).join("attachments")
}

fn spool_file(home: &ProjectHome, id: &str) -> PathBuf {
    spool_dir(home).join(format!("{}.json", escape(id)))
}

/// Drop a message into a project's spool: its attachment bodies first (each
/// `(sha256, bytes)`), then the message, each by temp file and rename, so an
/// importer never sees a message without its attachments.
pub fn spool_put(home: &ProjectHome, item: &SpoolItem, bodies: &[(String, Vec<u8>)]) -> Result<()> {
    let adir = spool_attachments(home);
    for (sha, bytes) in bodies {
        let put = crate::files::content::put_in(&adir, bytes)?;
        debug_assert_eq!(&put, sha);
    }
    let dir = spool_dir(home);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = spool_file(home, &item.message.id);
    let mut bytes = serde_json::to_vec_pretty(item)
        .map_err(|e| Error::invalid(format!("cannot encode a spool item: {e}")))?;
    bytes.push(b'\n');
    atomic::write(&path, &bytes)
}

pub fn spool_has(home: &ProjectHome, id: &str) -> bool {
    spool_file(home, id).exists()
}

/// The waiting messages, oldest first; unreadable files are named as warnings.
pub fn spool_list(home: &ProjectHome) -> (Vec<SpoolItem>, Vec<String>) {
    let dir = spool_dir(home);
    let stems = match json_stems(&dir) {
        Ok(s) => s,
        Err(e) => return (Vec::new(), vec![e]),
    };
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    for stem in stems {
        let path = dir.join(format!("{stem}.json"));
        match fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<SpoolItem>(&b).map_err(|e| e.to_string()))
        {
            Ok(item) if escape(&item.message.id) == stem => items.push(item),
            Ok(_) => warnings.push(format!(
                "{}: the message inside has another id; left alone",
                path.display()
            )),
            Err(e) => warnings.push(format!("{}: cannot read ({e}); left alone", path.display())),
        }
    }
    items.sort_by(|a, b| {
        (&a.message.created_at, &a.message.id).cmp(&(&b.message.created_at, &b.message.id))
    });
    (items, warnings)
}

/// Set a spool file aside as `<name>.rejected` (it is never imported, and
/// stays for a human to read).
pub fn spool_reject(home: &ProjectHome, id: &str) -> Result<()> {
    let path = spool_file(home, id);
    let aside = spool_dir(home).join(format!("{}.rejected", escape(id)));
    fs::rename(&path, &aside).map_err(|e| Error::io(&path, e))
}

/// Whether the message `id` was set aside as `.rejected`.
pub fn spool_rejected(home: &ProjectHome, id: &str) -> bool {
    spool_dir(home)
        .join(format!("{}.rejected", escape(id)))
        .exists()
}

/// Keep `bytes` (what could be read of a message that cannot be taken in)
/// as `spool/<name>.rejected`, for a human to read; never imported.
pub fn spool_set_aside(home: &ProjectHome, name: &str, bytes: &[u8]) -> Result<()> {
    let dir = spool_dir(home);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    atomic::write(&dir.join(format!("{}.rejected", escape(name))), bytes)
}

/// Remove an imported message from the spool.
pub fn spool_done(home: &ProjectHome, id: &str) -> Result<()> {
    let path = spool_file(home, id);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&path, e)),
        _ => Ok(()),
    }
}

/// What another project made of a message sent from this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub message: String,
    /// The project that received it.
    pub project: String,
    /// The item it became or was added to (empty for plain mail).
    #[serde(default)]
    pub issue: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub title: String,
    /// When the receiving project last wrote this.
    pub at: String,
}

fn links_dir(home: &ProjectHome) -> PathBuf {
    home.path("links")
}

/// Record (or refresh) a link; an older one never replaces a newer one.
pub fn link_put(home: &ProjectHome, link: &Link) -> Result<()> {
    let dir = links_dir(home);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let name = format!("{}.{}", escape(&link.message), escape(&link.project));
    let _lock = home.lock(&format!("links/{name}"))?;
    let path = dir.join(format!("{name}.json"));
    let (old, _) = load_json_locked::<Option<Link>>(&path)?;
    if let Some(old) = old
        && (old == *link || time::parse(&old.at) > time::parse(&link.at))
    {
        return Ok(());
    }
    let mut bytes = serde_json::to_vec_pretty(link)
        .map_err(|e| Error::invalid(format!("cannot encode a link: {e}")))?;
    bytes.push(b'\n');
    atomic::write(&path, &bytes)
}

/// Every link, by message id.
pub fn links(home: &ProjectHome) -> BTreeMap<String, Vec<Link>> {
    let dir = links_dir(home);
    let mut out: BTreeMap<String, Vec<Link>> = BTreeMap::new();
    for stem in json_stems(&dir).unwrap_or_default() {
        if let Ok(b) = fs::read(dir.join(format!("{stem}.json")))
            && let Ok(l) = serde_json::from_slice::<Link>(&b)
        {
            out.entry(l.message.clone()).or_default().push(l);
        }
    }
    out
}

/// Drop links older than [`KEEP_DAYS`] (a lost link is recovered: the sender
/// re-posts, the receiver re-imports the same item and links again).
pub fn prune_links(home: &ProjectHome, now: &str) -> Result<()> {
    let now = parse_now(now)?;
    let dir = links_dir(home);
    for stem in json_stems(&dir).unwrap_or_default() {
        let path = dir.join(format!("{stem}.json"));
        if let Ok(b) = fs::read(&path)
            && let Ok(l) = serde_json::from_slice::<Link>(&b)
            && time::parse(&l.at).is_some_and(|t| now - t > KEEP_DAYS * DAY_NS)
        {
            let _ = fs::remove_file(&path);
        }
    }
    Ok(())
}

/// Every project with a home under `base` (the machine's `BD_HOME`):
/// (identity, whether a live workspace of it is registered).
pub fn projects(base: Option<&Path>) -> Vec<(String, bool)> {
    let Some(base) = base else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir(base.join("projects")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(identity) = super::unescape(&name) else {
            continue;
        };
        let home = ProjectHome { dir: e.path() };
        let live = !super::registry::live(&home).is_empty();
        out.push((identity, live));
    }
    out.sort();
    out
}

/// The home of another project under `base`, without creating it.
pub fn existing(base: Option<&Path>, identity: &str) -> Option<ProjectHome> {
    let dir = base?.join("projects").join(escape(identity));
    dir.is_dir().then_some(ProjectHome { dir })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::mail::Attachment;

    fn msg(id: &str, at: &str, body: &[u8]) -> (Message, Vec<u8>) {
        let sha = crate::files::content::sha256_hex(body);
        let m = Message {
            id: id.into(),
            thread: id.into(),
            from: "ann".into(),
            to: vec!["bob".into()],
            subject: "s".into(),
            importance: "normal".into(),
            created_at: at.into(),
            attachments: vec![Attachment {
                name: "a.txt".into(),
                sha256: sha,
                size: body.len() as u64,
            }],
            ..Message::default()
        };
        (m, body.to_vec())
    }

    #[test]
    fn live_mail_expires_after_a_week_and_takes_its_attachments_along() {
        let t = tempfile::tempdir().unwrap();
        let home = ProjectHome {
            dir: t.path().to_path_buf(),
        };
        let (old, old_body) = msg("msg-000000000001", "2026-01-01T00:00:00Z", b"old body");
        deliver(
            &home,
            "bob",
            &old,
            std::slice::from_ref(&old_body),
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(live(&home, "bob").len(), 1);
        // Bodies written over an hour ago (not racing a send) may go.
        let body_path = live_attachments(&home).join(&old.attachments[0].sha256);
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&body_path)
            .unwrap()
            .set_modified(past)
            .unwrap();
        let (new, new_body) = msg("msg-000000000002", "2026-01-09T00:00:00Z", b"new body");
        deliver(&home, "bob", &new, &[new_body], "2026-01-09T00:00:00Z").unwrap();
        let ids: Vec<String> = live(&home, "bob").into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["msg-000000000002"], "the week-old message expired");
        assert!(!body_path.exists(), "its attachment went with it");
        assert!(
            live_attachments(&home)
                .join(&new.attachments[0].sha256)
                .exists()
        );
    }
}

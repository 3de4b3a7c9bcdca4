//! Mail on its way to another machine (issue 14), in the sending project's
//! home: what goes to another project's git remote rather than into its
//! spool on this machine.
//!
//! - `relay/messages/<escaped msg id>.<escaped project>.json`: a message for
//!   `project`, `{project, item, at, pushed_at?, reason?}` (`item` is the
//!   spool item the remote receives). Without `pushed_at` it waits for a
//!   push (`reason` says why it has not gone); with it, it is on the
//!   remote and waits for the other project's import, whose link removes
//!   the entry.
//! - `relay/links/<escaped msg id>.<escaped project>.json`: what this
//!   project made of a message another project sent (`{to, link}`), waiting
//!   for `bd sync` to push it to `to`'s remote; a newer link replaces an
//!   older one.
//! - `relay/attachments/<sha256>`: the bodies the waiting messages name.
//!
//! Each file is replaced atomically under `relay.lock`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::mailbox::{Link, SpoolItem};
use super::registry::json_stems;
use super::{ProjectHome, escape};
use crate::error::{Error, Result};
use crate::files::{self as fs, atomic, content};
use crate::model::time;

const LOCK: &str = "relay";

/// A message on its way to another project's remote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    /// The receiving project's identity.
    pub project: String,
    pub item: SpoolItem,
    /// When it was queued.
    pub at: String,
    /// When the remote took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_at: Option<String>,
    /// Why it has not been pushed (yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A link on its way to the remote of the project that sent the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingLink {
    pub to: String,
    pub link: Link,
}

fn dir(home: &ProjectHome, what: &str) -> PathBuf {
    home.path("relay").join(what)
}

pub fn attachments(home: &ProjectHome) -> PathBuf {
    dir(home, "attachments")
}

fn file(home: &ProjectHome, what: &str, id: &str, project: &str) -> PathBuf {
    dir(home, what).join(format!("{}.{}.json", escape(id), escape(project)))
}

fn write<T: Serialize>(path: &std::path::Path, value: &T) -> Result<()> {
    if let Some(d) = path.parent() {
        fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::invalid(format!("{}: cannot encode: {e}", path.display())))?;
    bytes.push(b'\n');
    atomic::write(path, &bytes)
}

fn read<T: for<'de> Deserialize<'de>>(path: &std::path::Path) -> Option<T> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

fn remove(path: &std::path::Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// Queue a message (its attachment bodies first, `(sha256, bytes)`), or
/// replace the entry of the same message and project.
pub fn queue(home: &ProjectHome, out: &Outgoing, bodies: &[(String, Vec<u8>)]) -> Result<()> {
    let adir = attachments(home);
    for (sha, bytes) in bodies {
        let put = content::put_in(&adir, bytes)?;
        debug_assert_eq!(&put, sha);
    }
    let _guard = home.lock(LOCK)?;
    write(
        &file(home, "messages", &out.item.message.id, &out.project),
        out,
    )
}

/// The entry of one message and project.
pub fn find(home: &ProjectHome, id: &str, project: &str) -> Option<Outgoing> {
    read(&file(home, "messages", id, project))
}

/// Every queued message, oldest first.
pub fn outgoing(home: &ProjectHome) -> Vec<Outgoing> {
    let d = dir(home, "messages");
    let mut out: Vec<Outgoing> = json_stems(&d)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| read(&d.join(format!("{s}.json"))))
        .collect();
    out.sort_by(|a, b| (&a.at, &a.item.message.id).cmp(&(&b.at, &b.item.message.id)));
    out
}

/// Record the outcome of a push: taken (`pushed_at`), or why not.
pub fn mark(
    home: &ProjectHome,
    id: &str,
    project: &str,
    pushed_at: Option<String>,
    reason: Option<String>,
) -> Result<()> {
    let _guard = home.lock(LOCK)?;
    let path = file(home, "messages", id, project);
    let Some(mut out) = read::<Outgoing>(&path) else {
        return Ok(());
    };
    out.pushed_at = pushed_at;
    out.reason = reason;
    write(&path, &out)
}

/// Drop the entry of a message the other project took in, and the bodies
/// no other entry names.
pub fn forget(home: &ProjectHome, id: &str, project: &str) -> Result<()> {
    let _guard = home.lock(LOCK)?;
    remove(&file(home, "messages", id, project))?;
    let named: std::collections::BTreeSet<String> = outgoing(home)
        .into_iter()
        .flat_map(|o| o.item.message.attachments.into_iter().map(|a| a.sha256))
        .collect();
    if let Ok(rd) = fs::read_dir(attachments(home)) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if content::valid_sha(&name) && !named.contains(&name) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

/// Queue a link for `to`; an older one never replaces a newer one.
pub fn queue_link(home: &ProjectHome, to: &str, link: &Link) -> Result<()> {
    let _guard = home.lock(LOCK)?;
    let path = file(home, "links", &link.message, to);
    if let Some(old) = read::<OutgoingLink>(&path)
        && (old.link == *link || time::parse(&old.link.at) > time::parse(&link.at))
    {
        return Ok(());
    }
    let entry = OutgoingLink {
        to: to.to_string(),
        link: link.clone(),
    };
    write(&path, &entry)
}

/// Every queued link.
pub fn links(home: &ProjectHome) -> Vec<OutgoingLink> {
    let d = dir(home, "links");
    json_stems(&d)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| read(&d.join(format!("{s}.json"))))
        .collect()
}

/// Drop a link once pushed, unless a newer one replaced it meanwhile.
pub fn forget_link(home: &ProjectHome, pushed: &OutgoingLink) -> Result<()> {
    let _guard = home.lock(LOCK)?;
    let path = file(home, "links", &pushed.link.message, &pushed.to);
    if read::<OutgoingLink>(&path).as_ref() == Some(pushed) {
        remove(&path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::mail::{Attachment, Message};

    fn home() -> (tempfile::TempDir, ProjectHome) {
        let t = tempfile::tempdir().unwrap();
        let h = ProjectHome {
            dir: t.path().to_path_buf(),
        };
        (t, h)
    }

    #[test]
    fn a_message_waits_is_pushed_and_is_forgotten_with_its_bodies() {
        let (_t, home) = home();
        let body = b"repro".to_vec();
        let sha = content::sha256_hex(&body);
        let out = Outgoing {
            project: "example.com/b".into(),
            item: SpoolItem {
                from_project: "example.com/a".into(),
                message: Message {
                    id: "msg-000000000001".into(),
                    attachments: vec![Attachment {
                        name: "r".into(),
                        sha256: sha.clone(),
                        size: 5,
                    }],
                    ..Message::default()
                },
                issue_type: None,
            },
            at: "2027-01-01T00:00:00Z".into(),
            pushed_at: None,
            reason: Some("offline".into()),
        };
        queue(&home, &out, &[(sha.clone(), body)]).unwrap();
        assert_eq!(outgoing(&home), std::slice::from_ref(&out));
        mark(
            &home,
            "msg-000000000001",
            "example.com/b",
            Some("2027-01-01T00:00:01Z".into()),
            None,
        )
        .unwrap();
        let found = find(&home, "msg-000000000001", "example.com/b").unwrap();
        assert_eq!(found.pushed_at.as_deref(), Some("2027-01-01T00:00:01Z"));
        assert!(found.reason.is_none());
        assert!(attachments(&home).join(&sha).exists());
        forget(&home, "msg-000000000001", "example.com/b").unwrap();
        assert!(outgoing(&home).is_empty());
        assert!(!attachments(&home).join(&sha).exists());
    }

    #[test]
    fn a_newer_link_replaces_an_older_one_and_survives_the_older_push() {
        let (_t, home) = home();
        let link = |status: &str, at: &str| Link {
            message: "msg-000000000001".into(),
            project: "example.com/b".into(),
            issue: "bz-m1".into(),
            status: status.into(),
            title: "t".into(),
            at: at.into(),
        };
        queue_link(
            &home,
            "example.com/a",
            &link("open", "2027-01-01T00:00:01Z"),
        )
        .unwrap();
        let pushed = links(&home).pop().unwrap();
        queue_link(
            &home,
            "example.com/a",
            &link("closed", "2027-01-01T00:00:02Z"),
        )
        .unwrap();
        queue_link(
            &home,
            "example.com/a",
            &link("open", "2027-01-01T00:00:01Z"),
        )
        .unwrap();
        forget_link(&home, &pushed).unwrap();
        let left = links(&home);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].link.status, "closed");
        forget_link(&home, &left[0]).unwrap();
        assert!(links(&home).is_empty());
    }
}

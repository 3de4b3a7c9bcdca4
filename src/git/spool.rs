//! Where mail between projects on different machines waits on a git remote
//! (issue 14; docs/DESIGN.md "Handoffs across machines"): a project's own
//! remote holds what other projects sent it, under `refs/beads/spool/`.
//!
//! - `refs/beads/spool/<msg id>`: a message, pushed by the sending project.
//!   Its commit's tree holds `message.json` (the spool item: `{from_project,
//!   message, issue_type}`) and `attachments/<sha256>`.
//! - `refs/beads/spool/links/<msg id>/<digest>`: what the receiving project
//!   made of a message this project sent (`link.json`), pushed by the
//!   receiving project; one ref per link written (`digest`: 16 hex digits
//!   of the body's SHA-256), so no two pushes ever race for one ref.
//!
//! The registers themselves are `git::refs`; commits are parentless, by the
//! fixed identity, dated by their content (the same message is the same
//! commit, so a re-send is a no-op).

/// Every ref of the spool (what a receiving project fetches).
pub const PATTERN: &str = "refs/beads/spool/*";
/// Where the fetched spool is kept in a clone.
pub const TRACKING: &str = "refs/beads-remote/spool/";
/// The prefix of the link refs, among them.
pub const LINKS: &str = "refs/beads/spool/links/";
/// A message commit's spool item.
pub const MESSAGE: &str = "message.json";
/// A message commit's folder of attachment bodies.
pub const ATTACHMENTS: &str = "attachments";
/// A link commit's body.
pub const LINK: &str = "link.json";

/// A message id as a ref name component (ids are `msg-` and base36;
/// anything else is escaped as claim keys are).
pub fn key(id: &str) -> String {
    super::claims::key(id)
}

/// The ref of a message on the receiving project's remote.
pub fn message_ref(id: &str) -> String {
    format!("refs/beads/spool/{}", key(id))
}

/// The ref of one link on the sending project's remote.
pub fn link_ref(message: &str, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest: String = Sha256::digest(body)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{LINKS}{}/{digest}", key(message))
}

/// What a fetched spool ref (`refs/beads-remote/spool/…`) holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A message, by the id its name gives.
    Message(String),
    Link,
}

/// The kind of a fetched spool ref, by its name.
pub fn kind(tracking_ref: &str) -> Option<Kind> {
    let tail = tracking_ref.strip_prefix(TRACKING)?;
    if tail.starts_with("links/") {
        return Some(Kind::Link);
    }
    (!tail.is_empty() && !tail.contains('/')).then(|| Kind::Message(tail.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_messages_and_links() {
        assert_eq!(
            message_ref("msg-0a1b2c3d4e5f"),
            "refs/beads/spool/msg-0a1b2c3d4e5f"
        );
        let l = link_ref("msg-0a1b2c3d4e5f", b"{}");
        assert!(l.starts_with("refs/beads/spool/links/msg-0a1b2c3d4e5f/"));
        assert_eq!(l.rsplit('/').next().unwrap().len(), 16);
        assert_eq!(
            kind("refs/beads-remote/spool/msg-0a1b2c3d4e5f"),
            Some(Kind::Message("msg-0a1b2c3d4e5f".into()))
        );
        assert_eq!(
            kind("refs/beads-remote/spool/links/msg-0a1b2c3d4e5f/00"),
            Some(Kind::Link)
        );
        assert_eq!(kind("refs/beads-remote/claims/x"), None);
    }
}

//! Claim refs on the remote (issue 14, the first piece; docs/DESIGN.md
//! "Coordination through the remote"): `refs/beads/claims/<id>` points at a
//! commit whose tree holds one blob, `claim.json`. A claim is a push,
//! without force, of a commit on top of the tip the claimer observed: the
//! host takes one of two such pushes and refuses the other as not a
//! fast-forward, so the ref is a compare-and-swap register. Objects are
//! written with gix; push and fetch go through the git binary.
//!
//! Not wired to any command yet: `ops` will call these in remote mode.

use std::path::Path;

use super::transport::run;
use crate::error::{Error, Result};

/// The blob's name in a claim commit's tree.
const FILE: &str = "claim.json";

fn gerr(what: &str, e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("git: {what}: {e}"))
}

/// The ref of an item's claim: `refs/beads/claims/<id>`, the id written as
/// its `bd run` branch is (lower-case letters, digits, `-`, `_` and lone
/// dots as they are, any other byte `%XX`), so every id has a valid ref of
/// its own.
pub fn ref_name(id: &str) -> String {
    let b = crate::model::run::branch_for(id);
    format!("refs/beads/claims/{}", b.trim_start_matches("bd/"))
}

/// Where a fetched claim ref is kept locally.
fn tracking(refname: &str) -> String {
    refname.replacen("refs/beads/", "refs/beads-remote/", 1)
}

/// Write a claim commit holding `body` on top of `parent` (the tip the
/// claimer observed; none for a first claim). Returns its id (hex).
pub fn write_commit(root: &Path, body: &str, parent: Option<&str>) -> Result<String> {
    let repo = super::open(root)?;
    let blob = repo
        .write_blob(body.as_bytes())
        .map_err(|e| gerr("writing a blob", e))?
        .detach();
    let mut editor = repo
        .edit_tree(repo.empty_tree().id)
        .map_err(|e| gerr("editing a tree", e))?;
    editor
        .upsert(FILE, gix::object::tree::EntryKind::Blob, blob)
        .map_err(|e| gerr("editing a tree", e))?;
    let tree = editor
        .write()
        .map_err(|e| gerr("writing a tree", e))?
        .detach();
    let parents: Vec<gix::ObjectId> = parent
        .map(|p| gix::ObjectId::from_hex(p.as_bytes()).map_err(|e| gerr("a parent id", e)))
        .transpose()?
        .into_iter()
        .collect();
    // A fixed identity: a claim commit says nothing about who runs git here
    // (the remote may be public); the body names the agent.
    let sig = gix::actor::Signature {
        name: "bd".into(),
        email: "bd@claims.invalid".into(),
        time: gix::date::Time::now_utc(),
    };
    let mut buf = gix::date::parse::TimeBuf::default();
    let who = sig.to_ref(&mut buf);
    let id = repo
        .new_commit_as(who, who, "bd claim", tree, parents)
        .map_err(|e| gerr("writing a commit", e))?
        .id;
    Ok(id.to_string())
}

/// What the host said to a claim push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// The ref now points at the commit.
    Taken,
    /// Refused: someone moved the ref first (or the host refuses such refs;
    /// the reason is git's first line).
    Refused(String),
}

/// Push `oid` to `refname` on `remote`: a fast-forward only, or with
/// `lease`, over exactly that observed tip (`--force-with-lease`: a steal).
pub fn push(
    root: &Path,
    remote: &str,
    oid: &str,
    refname: &str,
    lease: Option<&str>,
) -> Result<Pushed> {
    let spec = format!("{oid}:{refname}");
    let with = lease.map(|l| format!("--force-with-lease={refname}:{l}"));
    let mut args = vec!["push", "--quiet", "--porcelain"];
    if let Some(w) = &with {
        args.push(w);
    }
    args.extend([remote, spec.as_str()]);
    let r = run(root, &args)?;
    Ok(if r.ok {
        Pushed::Taken
    } else {
        let why = r
            .stdout
            .lines()
            .chain(r.stderr.lines())
            .map(str::trim)
            .find(|l| l.starts_with('!') || l.contains("rejected") || l.starts_with("fatal"))
            .unwrap_or("the push was refused")
            .to_string();
        Pushed::Refused(why)
    })
}

/// Fetch one claim ref from `remote`: its tip and the body of its
/// `claim.json`, or `None` when the remote has no such ref.
pub fn fetch(root: &Path, remote: &str, refname: &str) -> Result<Option<(String, String)>> {
    let local = tracking(refname);
    let spec = format!("+{refname}:{local}");
    let r = run(root, &["fetch", "--quiet", "--no-tags", remote, &spec])?;
    if !r.ok {
        if r.stderr.contains("couldn't find remote ref") {
            return Ok(None);
        }
        return Err(gerr(
            "fetching a claim",
            r.stderr.lines().next().unwrap_or(""),
        ));
    }
    read(root, &local).map(Some)
}

/// The tip of a local ref and the body of its claim.
fn read(root: &Path, refname: &str) -> Result<(String, String)> {
    let repo = super::open(root)?;
    let mut r = repo
        .find_reference(refname)
        .map_err(|e| gerr("reading a claim ref", e))?;
    let commit = r
        .peel_to_commit()
        .map_err(|e| gerr("reading a claim commit", e))?;
    let tree = commit.tree().map_err(|e| gerr("reading a claim tree", e))?;
    let entry = tree
        .find_entry(FILE)
        .ok_or_else(|| gerr("reading a claim", "no claim.json"))?;
    let blob = entry
        .object()
        .map_err(|e| gerr("reading a claim blob", e))?;
    Ok((
        commit.id.to_string(),
        String::from_utf8_lossy(&blob.data).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let st = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    }

    #[test]
    fn one_of_two_claimers_wins_and_the_loser_reads_the_winner() {
        let t = tempfile::tempdir().unwrap();
        let remote = t.path().join("remote.git");
        std::fs::create_dir_all(&remote).unwrap();
        git(&remote, &["init", "-q", "--bare"]);
        let url = remote.to_str().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        for c in [&a, &b] {
            git(t.path(), &["clone", "-q", url, c.to_str().unwrap()]);
        }
        let name = ref_name("bd-x1");
        assert_eq!(name, "refs/beads/claims/bd-x1");
        assert_eq!(fetch(&b, "origin", &name).unwrap(), None);
        // Both observed no claim; both push a first claim: one wins.
        let ca = write_commit(&a, r#"{"agent":"ann"}"#, None).unwrap();
        let cb = write_commit(&b, r#"{"agent":"bob"}"#, None).unwrap();
        assert_eq!(push(&a, "origin", &ca, &name, None).unwrap(), Pushed::Taken);
        assert!(matches!(
            push(&b, "origin", &cb, &name, None).unwrap(),
            Pushed::Refused(_)
        ));
        let (tip, body) = fetch(&b, "origin", &name).unwrap().unwrap();
        assert_eq!(
            (tip.as_str(), body.as_str()),
            (ca.as_str(), r#"{"agent":"ann"}"#)
        );
        // A release on top of the tip is a fast-forward; a push on the old
        // tip after it is refused.
        let rel = write_commit(&a, r#"{"state":"released"}"#, Some(&ca)).unwrap();
        assert_eq!(
            push(&a, "origin", &rel, &name, None).unwrap(),
            Pushed::Taken
        );
        let stale = write_commit(&b, r#"{"agent":"bob"}"#, Some(&ca)).unwrap();
        assert!(matches!(
            push(&b, "origin", &stale, &name, None).unwrap(),
            Pushed::Refused(_)
        ));
        // A steal over exactly the observed tip goes through; over an old one, not.
        let steal = write_commit(&b, r#"{"agent":"bob","stolen":true}"#, None).unwrap();
        assert!(matches!(
            push(&b, "origin", &steal, &name, Some(&ca)).unwrap(),
            Pushed::Refused(_)
        ));
        assert_eq!(
            push(&b, "origin", &steal, &name, Some(&rel)).unwrap(),
            Pushed::Taken
        );
        assert_eq!(fetch(&a, "origin", &name).unwrap().unwrap().0, steal);
        // What reached the remote names no host and no local path.
        let raw = Command::new("git")
            .args(["cat-file", "-p", &steal])
            .current_dir(&remote)
            .output()
            .unwrap();
        let raw = String::from_utf8_lossy(&raw.stdout).to_string();
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        assert!(raw.contains("bd <bd@claims.invalid>"), "{raw}");
        assert!(!raw.contains(t.path().to_str().unwrap()), "{raw}");
        assert!(
            host.trim().is_empty() || !raw.contains(host.trim()),
            "{raw}"
        );
    }
}

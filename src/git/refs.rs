//! Refs under `refs/beads/` on a remote, as compare-and-swap registers
//! (issue 14; docs/DESIGN.md "Coordination through the remote"). A ref
//! points at a small commit whose tree holds a few files; the remote takes
//! a push without force only when it fast-forwards the tip, so of two
//! writers who observed one tip, one wins. Objects are written with gix
//! under a fixed identity that names no host and no path (remotes may be
//! public); push, fetch and `ls-remote` go through the git binary (the
//! user's credentials and hosts), and what a fetch brought is kept under
//! `refs/beads-remote/` (the remote's `refs/beads/X` at
//! `refs/beads-remote/X`), so offline commands read the refs fetched last.
//!
//! `remote` is a remote's name or a URL, as `git push` takes it.

use std::path::Path;

use super::transport::run;
use crate::error::{Error, Result};

fn gerr(what: &str, e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("git: {what}: {e}"))
}

/// Where the remote's `refname` (under `refs/beads/`) is kept locally.
pub fn tracking(refname: &str) -> String {
    refname.replacen("refs/beads/", "refs/beads-remote/", 1)
}

/// A file to put in (`Some`) or take out of (`None`) a commit's tree.
pub type Change<'a> = (&'a str, Option<&'a [u8]>);

/// Write a commit whose tree is `base`'s tree (a commit id; none: empty)
/// with `changes` applied (paths may nest: `claims/x.json`), on `parent`
/// (none: a root commit), under the fixed identity. Returns its id (hex).
pub fn write_commit(
    root: &Path,
    base: Option<&str>,
    changes: &[Change],
    parent: Option<&str>,
    message: &str,
) -> Result<String> {
    let now = gix::date::Time::now_utc().seconds;
    write_commit_at(root, base, changes, parent, message, now)
}

/// [`write_commit`] dated `seconds` (since the epoch, UTC): the same
/// content at the same date is the same commit, so pushing it again is a
/// no-op (a message re-sent to another project's spool).
pub fn write_commit_at(
    root: &Path,
    base: Option<&str>,
    changes: &[Change],
    parent: Option<&str>,
    message: &str,
    seconds: i64,
) -> Result<String> {
    let repo = super::open(root)?;
    let base_tree = match base {
        Some(b) => repo
            .find_commit(oid(b)?)
            .map_err(|e| gerr("reading a commit", e))?
            .tree_id()
            .map_err(|e| gerr("reading a tree", e))?
            .detach(),
        None => repo.empty_tree().id,
    };
    let mut editor = repo
        .edit_tree(base_tree)
        .map_err(|e| gerr("editing a tree", e))?;
    for (path, body) in changes {
        match body {
            Some(bytes) => {
                let blob = repo
                    .write_blob(bytes)
                    .map_err(|e| gerr("writing a blob", e))?
                    .detach();
                editor
                    .upsert(*path, gix::object::tree::EntryKind::Blob, blob)
                    .map_err(|e| gerr("editing a tree", e))?;
            }
            None => {
                editor
                    .remove(*path)
                    .map_err(|e| gerr("editing a tree", e))?;
            }
        }
    }
    let tree = editor
        .write()
        .map_err(|e| gerr("writing a tree", e))?
        .detach();
    let parents: Vec<gix::ObjectId> = parent.map(oid).transpose()?.into_iter().collect();
    let sig = gix::actor::Signature {
        name: "bd".into(),
        email: "bd@claims.invalid".into(),
        time: gix::date::Time { seconds, offset: 0 },
    };
    let mut buf = gix::date::parse::TimeBuf::default();
    let who = sig.to_ref(&mut buf);
    let id = repo
        .new_commit_as(who, who, message, tree, parents)
        .map_err(|e| gerr("writing a commit", e))?
        .id;
    Ok(id.to_string())
}

fn oid(hex: &str) -> Result<gix::ObjectId> {
    gix::ObjectId::from_hex(hex.as_bytes()).map_err(|e| gerr("an object id", e))
}

/// One ref update of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub refname: String,
    /// The commit to point it at; `None` deletes the ref.
    pub to: Option<String>,
    /// Over exactly this observed tip (`--force-with-lease`): a steal or a
    /// delete of a known tip. `None`: a fast-forward only.
    pub lease: Option<String>,
}

/// What the host said to a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// Every ref now points where it was asked to.
    Taken,
    /// Refused, wholly with `atomic`, else at least one ref (the others may
    /// have gone through: `done` names them). `why` is git's first line.
    Refused { why: String, done: Vec<String> },
}

/// Push `updates` to `remote`; with `atomic`, all or none (`git push
/// --atomic`: the host must support it).
pub fn push(root: &Path, remote: &str, updates: &[Update], atomic: bool) -> Result<Pushed> {
    let mut args: Vec<String> = ["push", "--quiet", "--porcelain", "--no-verify"]
        .map(String::from)
        .to_vec();
    if atomic {
        args.push("--atomic".into());
    }
    for u in updates {
        if let Some(l) = &u.lease {
            args.push(format!("--force-with-lease={}:{l}", u.refname));
        }
    }
    args.push(remote.to_string());
    for u in updates {
        args.push(format!("{}:{}", u.to.as_deref().unwrap_or(""), u.refname));
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(root, &argv)?;
    if r.ok {
        return Ok(Pushed::Taken);
    }
    // Porcelain: one line per ref, `<flag>\t<from>:<to>\t<summary>`; `!`
    // is a refusal, anything else went through.
    let mut done = Vec::new();
    let mut why = None;
    let mut why_held_back = false;
    for line in r.stdout.lines() {
        let mut parts = line.split('\t');
        let (Some(flag), Some(spec)) = (parts.next(), parts.next()) else {
            continue;
        };
        let to = spec.rsplit(':').next().unwrap_or("").to_string();
        if flag == "!" {
            // The refs an atomic push held back say only that: the ref
            // that failed says why.
            let summary = parts.next().unwrap_or("rejected").trim();
            let held_back = summary.contains("atomic push fail");
            if why.is_none() || (!held_back && why_held_back) {
                why = Some(format!("{to}: {summary}"));
                why_held_back = held_back;
            }
        } else if flag.len() == 1 {
            done.push(to);
        }
    }
    let why = why.unwrap_or_else(|| {
        r.stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("the push was refused")
            .to_string()
    });
    Ok(Pushed::Refused { why, done })
}

/// Fetch the remote's refs matching `pattern` (`refs/beads/claims/*`, or
/// one exact ref) into their tracking refs, pruning tracking refs the
/// remote no longer has. `Err(why)` inside when git could not fetch.
pub fn fetch(root: &Path, remote: &str, pattern: &str) -> Result<std::result::Result<(), String>> {
    fetch_into(root, remote, pattern, &tracking(pattern))
}

/// [`fetch`] of `pattern` into `local` (a ref, or a pattern when `pattern`
/// is one), for refs outside `refs/beads/` (the table branch).
pub fn fetch_into(
    root: &Path,
    remote: &str,
    pattern: &str,
    local: &str,
) -> Result<std::result::Result<(), String>> {
    let spec = format!("+{pattern}:{local}");
    let r = run(
        root,
        &["fetch", "--quiet", "--no-tags", "--prune", remote, &spec],
    )?;
    if r.ok {
        return Ok(Ok(()));
    }
    // An exact ref the remote lacks: its tracking ref goes too.
    if r.stderr.contains("couldn't find remote ref") {
        if !pattern.contains('*') {
            delete_local(root, local)?;
        }
        return Ok(Ok(()));
    }
    Ok(Err(r
        .stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("the fetch failed")
        .to_string()))
}

/// Fetch exactly `refnames` (refs under `refs/beads/`) into their tracking
/// refs, in one fetch; the tracking refs of those the remote lacks go. (A
/// pattern fetch would list every register of the remote: this asks for
/// the few a command needs.) `Err(why)` inside when git could not fetch.
pub fn fetch_exact(
    root: &Path,
    remote: &str,
    refnames: &[String],
) -> Result<std::result::Result<(), String>> {
    if let [one] = refnames {
        return fetch(root, remote, one);
    }
    let specs: Vec<String> = refnames
        .iter()
        .map(|r| format!("+{r}:{}", tracking(r)))
        .collect();
    let mut args = vec!["fetch", "--quiet", "--no-tags", remote];
    args.extend(specs.iter().map(String::as_str));
    let r = run(root, &args)?;
    if r.ok {
        return Ok(Ok(()));
    }
    if !r.stderr.contains("couldn't find remote ref") {
        return Ok(Err(first_line(&r.stderr, "the fetch failed")));
    }
    // Some are missing: ask which, drop their tracking refs, fetch the rest.
    let mut args = vec!["ls-remote", "--quiet", remote];
    args.extend(refnames.iter().map(String::as_str));
    let listed = run(root, &args)?;
    if !listed.ok {
        return Ok(Err(first_line(
            &listed.stderr,
            "the remote could not be listed",
        )));
    }
    let present: Vec<String> = refnames
        .iter()
        .filter(|r| {
            listed
                .stdout
                .lines()
                .any(|l| l.split('\t').nth(1).map(str::trim) == Some(r.as_str()))
        })
        .cloned()
        .collect();
    for r in refnames.iter().filter(|r| !present.contains(r)) {
        delete_local(root, &tracking(r))?;
    }
    if present.is_empty() {
        return Ok(Ok(()));
    }
    fetch_exact(root, remote, &present)
}

fn first_line(text: &str, otherwise: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or(otherwise)
        .to_string()
}

/// The refs the remote has under `prefix` (`git ls-remote`), with their
/// tips. `Err(why)` inside when git could not ask.
pub fn ls_remote(
    root: &Path,
    remote: &str,
    prefix: &str,
) -> Result<std::result::Result<Vec<(String, String)>, String>> {
    let pattern = format!("{}*", prefix.trim_end_matches('*'));
    let r = run(root, &["ls-remote", "--quiet", remote, &pattern])?;
    if !r.ok {
        return Ok(Err(r
            .stderr
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string()));
    }
    Ok(Ok(r
        .stdout
        .lines()
        .filter_map(|l| {
            let (tip, name) = l.split_once('\t')?;
            Some((name.trim().to_string(), tip.trim().to_string()))
        })
        .collect()))
}

/// The local refs under `prefix` (`refs/beads-remote/claims/`) and their
/// tips, by name.
pub fn list(root: &Path, prefix: &str) -> Result<Vec<(String, String)>> {
    let repo = super::open(root)?;
    let platform = repo.references().map_err(|e| gerr("listing refs", e))?;
    let iter = platform
        .prefixed(prefix)
        .map_err(|e| gerr("listing refs", e))?;
    let mut out = Vec::new();
    for r in iter {
        let mut r = r.map_err(|e| gerr("listing refs", e))?;
        let name = r.name().as_bstr().to_string();
        if let Ok(id) = r.peel_to_id() {
            out.push((name, id.to_string()));
        }
    }
    out.sort();
    Ok(out)
}

/// The tip of a local ref, if it exists.
pub fn tip(root: &Path, refname: &str) -> Result<Option<String>> {
    let repo = super::open(root)?;
    let Some(mut r) = repo
        .try_find_reference(refname)
        .map_err(|e| gerr("reading a ref", e))?
    else {
        return Ok(None);
    };
    Ok(r.peel_to_id().ok().map(|id| id.to_string()))
}

/// The object at `path` in commit `commit`'s tree, if there is one.
fn object_at<'r>(
    repo: &'r gix::Repository,
    commit: &str,
    path: &str,
) -> Result<Option<gix::Object<'r>>> {
    let c = repo
        .find_commit(oid(commit)?)
        .map_err(|e| gerr("reading a commit", e))?;
    let tree = c.tree().map_err(|e| gerr("reading a tree", e))?;
    let Some(entry) = tree
        .lookup_entry_by_path(path)
        .map_err(|e| gerr("reading a tree", e))?
    else {
        return Ok(None);
    };
    Ok(Some(
        entry.object().map_err(|e| gerr("reading an object", e))?,
    ))
}

/// The body of `path` in commit `commit`'s tree, if it has one.
pub fn read_file(root: &Path, commit: &str, path: &str) -> Result<Option<Vec<u8>>> {
    Ok(read_files(root, &[(commit, path)])?.pop().flatten())
}

/// [`read_file`] of many (commit, path) pairs, the repository opened once.
pub fn read_files(root: &Path, wanted: &[(&str, &str)]) -> Result<Vec<Option<Vec<u8>>>> {
    let repo = super::open(root)?;
    wanted
        .iter()
        .map(|(commit, path)| {
            Ok(object_at(&repo, commit, path)?
                .filter(|o| o.kind == gix::object::Kind::Blob)
                .map(|blob| blob.data.clone()))
        })
        .collect()
}

/// The files of commit `commit`'s tree under the folder `dir` (one level),
/// by name, with their bodies.
pub fn read_dir(root: &Path, commit: &str, dir: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let repo = super::open(root)?;
    // (A folder that is not a tree, from a hostile remote: nothing in it.)
    let Some(sub) = object_at(&repo, commit, dir)?.and_then(|o| o.try_into_tree().ok()) else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    for e in sub.iter() {
        let e = e.map_err(|e| gerr("reading a tree", e))?;
        if !e.mode().is_blob() {
            continue;
        }
        let name = e.filename().to_string();
        let blob = e.object().map_err(|e| gerr("reading a blob", e))?;
        out.push((name, blob.data.clone()));
    }
    Ok(out)
}

/// Delete a local ref (a tracking ref the remote no longer has); none is fine.
pub fn delete_local(root: &Path, refname: &str) -> Result<()> {
    let repo = super::open(root)?;
    let Some(r) = repo
        .try_find_reference(refname)
        .map_err(|e| gerr("reading a ref", e))?
    else {
        return Ok(());
    };
    r.delete().map_err(|e| gerr("deleting a ref", e))
}

/// The remote's ref a tracking ref stands for (`refs/beads-remote/X` →
/// `refs/beads/X`).
pub fn untracking(local: &str) -> String {
    local.replacen("refs/beads-remote/", "refs/beads/", 1)
}

/// Point a local ref (a tracking ref) at `to`: what the remote took from
/// this clone's own push, so the refs fetched last include it.
pub fn set_local(root: &Path, refname: &str, to: &str) -> Result<()> {
    let repo = super::open(root)?;
    repo.reference(
        refname,
        oid(to)?,
        gix::refs::transaction::PreviousValue::Any,
        "bd: pushed",
    )
    .map_err(|e| gerr("writing a ref", e))?;
    Ok(())
}

/// Whether a refused push lost a compare-and-swap (someone moved the
/// register since it was observed), as git words it, rather than the host
/// refusing the ref itself (a hook, a permission).
pub fn lost_race(why: &str) -> bool {
    // "failed to update ref": the host's own ref transaction saw the tip
    // move between its check and its write (two pushes at once).
    [
        "non-fast-forward",
        "fetch first",
        "stale info",
        "already exists",
        "cannot lock ref",
        "failed to update ref",
        "failed to lock",
        "incorrect old value",
    ]
    .iter()
    .any(|w| why.contains(w))
}

/// A short, growing, jittered pause between tries (no two racing
/// processes retry in lock step).
pub fn backoff(attempt: usize) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let jitter = (std::process::id() as u64 ^ nanos) % 40;
    let ms = (attempt as u64 * 15).min(200) + jitter;
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

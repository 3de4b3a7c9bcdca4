//! Reading `.beads/` files at revisions, for `bd diff` and `bd log`: blob ids
//! and contents of a path in a commit, and the commits of HEAD's history.

use gix::bstr::ByteSlice;

use crate::error::{Error, Missing, Result};

fn gerr(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        msg: format!("git: {what}: {e}"),
        hint: None,
    }
}

/// Resolve a revision (`HEAD`, `main~2`, a hash) to a commit id.
pub fn resolve(repo: &gix::Repository, rev: &str) -> Result<gix::ObjectId> {
    let id = repo.rev_parse_single(rev).map_err(|e| {
        Error::NotFound(Missing::Revision {
            rev: rev.to_string(),
            reason: e.to_string(),
        })
    })?;
    let obj = id.object().map_err(|e| gerr("reading an object", e))?;
    let commit = obj
        .peel_to_commit()
        .map_err(|e| gerr(&format!("'{rev}' is not a commit"), e))?;
    Ok(commit.id)
}

/// The blob id of `path` in a commit's tree, if present.
pub fn blob_id(
    repo: &gix::Repository,
    commit: gix::ObjectId,
    path: &str,
) -> Result<Option<gix::ObjectId>> {
    let c = repo
        .find_commit(commit)
        .map_err(|e| gerr("reading a commit", e))?;
    let tree = c.tree().map_err(|e| gerr("reading a tree", e))?;
    Ok(tree
        .lookup_entry_by_path(path)
        .map_err(|e| gerr("reading a tree", e))?
        .map(|e| e.object_id()))
}

pub fn blob(repo: &gix::Repository, id: gix::ObjectId) -> Result<Vec<u8>> {
    Ok(repo
        .find_blob(id)
        .map_err(|e| gerr("reading a blob", e))?
        .data
        .clone())
}

/// The contents of `path` at a commit (empty when absent).
pub fn read_at(repo: &gix::Repository, commit: gix::ObjectId, path: &str) -> Result<Vec<u8>> {
    match blob_id(repo, commit, path)? {
        Some(id) => blob(repo, id),
        None => Ok(Vec::new()),
    }
}

/// One commit of the history.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub id: gix::ObjectId,
    pub parents: Vec<gix::ObjectId>,
    pub author: String,
    pub time: i64,
    pub subject: String,
    /// A shallow clone's boundary: its parents are not in this repository
    /// (`parents` is then empty).
    pub shallow: bool,
}

/// The commits reachable from `start`, newest first (by commit time).
pub fn walk(repo: &gix::Repository, start: gix::ObjectId, limit: usize) -> Result<Vec<CommitInfo>> {
    let mut out = Vec::new();
    let shallow: Vec<gix::ObjectId> = repo
        .shallow_commits()
        .ok()
        .flatten()
        .map(|c| c.iter().copied().collect())
        .unwrap_or_default();
    let walk = repo
        .rev_walk([start])
        .sorting(gix::revision::walk::Sorting::ByCommitTime(
            Default::default(),
        ))
        .all()
        .map_err(|e| gerr("walking history", e))?;
    for info in walk.take(limit) {
        let info = info.map_err(|e| gerr("walking history", e))?;
        let c = repo
            .find_commit(info.id)
            .map_err(|e| gerr("reading a commit", e))?;
        let author = c
            .author()
            .map(|a| format!("{} <{}>", a.name.to_str_lossy(), a.email.to_str_lossy()))
            .unwrap_or_default();
        let time = c.time().map(|t| t.seconds).unwrap_or(0);
        let subject = c
            .message_raw()
            .map(|m| m.to_str_lossy().lines().next().unwrap_or("").to_string())
            .unwrap_or_default();
        let is_shallow = shallow.contains(&info.id);
        out.push(CommitInfo {
            id: info.id,
            parents: if is_shallow {
                Vec::new()
            } else {
                info.parent_ids.iter().copied().collect()
            },
            shallow: is_shallow,
            author,
            time,
            subject,
        });
    }
    Ok(out)
}

//! Conflicted `.beads/` files: when a file reached the working tree with
//! conflict markers (no merge driver configured), git's index still holds the
//! three versions (stages 1, 2, 3). Read them, and mark a path resolved.

use std::path::Path;

use gix::bstr::ByteSlice;

use crate::error::{Error, Result};

fn gerr(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        msg: format!("git: {what}: {e}"),
        hint: None,
    }
}

/// The three versions of a conflicted path: base, ours, theirs.
pub struct Stages {
    pub base: Vec<u8>,
    pub ours: Vec<u8>,
    pub theirs: Vec<u8>,
}

/// The three versions of a conflicted path (a missing stage is empty); `None`
/// when the path is not conflicted in the index.
pub fn read(root: &Path, path: &str) -> Result<Option<Stages>> {
    let repo = super::open(root)?;
    let index = repo
        .index_or_empty()
        .map_err(|e| gerr("reading the index", e))?;
    let bpath = path.as_bytes().as_bstr();
    let mut found = false;
    let mut blob = |stage: gix::index::entry::Stage| -> Result<Vec<u8>> {
        match index.entry_by_path_and_stage(bpath, stage) {
            Some(e) => {
                found = true;
                super::history::blob(&repo, e.id)
            }
            None => Ok(Vec::new()),
        }
    };
    use gix::index::entry::Stage;
    let base = blob(Stage::Base)?;
    let ours = blob(Stage::Ours)?;
    let theirs = blob(Stage::Theirs)?;
    Ok(found.then_some(Stages { base, ours, theirs }))
}

/// The `.beads/` paths git's index holds unmerged (an entry at stage 1, 2
/// or 3: a merge, rebase or stash apply left them conflicted, with or without
/// conflict markers in the working tree). Reads `<git dir>/index` directly
/// (no repository open, no config); a missing index is no conflict.
pub fn unmerged(dirs: &super::GitDirs) -> Result<Vec<String>> {
    let path = dirs.git_dir.join("index");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let file = gix::index::File::at(
        &path,
        gix::hash::Kind::Sha1,
        true,
        gix::index::decode::Options {
            thread_limit: Some(1),
            ..Default::default()
        },
    )
    .map_err(|e| gerr("reading the index", e))?;
    let mut out: Vec<String> = Vec::new();
    for e in file.entries() {
        if e.stage_raw() == 0 {
            continue;
        }
        let p = e.path(&file);
        if p.starts_with(b".beads/") {
            let p = p.to_str_lossy().into_owned();
            if out.last() != Some(&p) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// Mark `path` resolved with the file as it is now in the working tree.
pub fn resolve(root: &Path, path: &str) -> Result<()> {
    let repo = super::open(root)?;
    let mut index = repo
        .index_or_load_from_head_or_empty()
        .map_err(|e| gerr("loading the index", e))?
        .into_owned();
    let full = root.join(path);
    let bytes = crate::files::read(&full).map_err(|e| Error::io(&full, e))?;
    let id = repo
        .write_blob(super::eol::Filter::load(&repo, root).to_git(path, &bytes))
        .map_err(|e| gerr("writing a blob", e))?
        .detach();
    let bpath = path.as_bytes().as_bstr();
    index.remove_entries(|_, p, _| p == bpath);
    let meta =
        gix::index::fs::Metadata::from_path_no_follow(&full).map_err(|e| Error::io(&full, e))?;
    let stat = gix::index::entry::Stat::from_fs(&meta).map_err(|e| gerr("stat", e))?;
    index.dangerously_push_entry(
        stat,
        id,
        gix::index::entry::Flags::empty(),
        gix::index::entry::Mode::FILE,
        bpath,
    );
    index.sort_entries();
    index.remove_tree();
    index
        .write(Default::default())
        .map_err(|e| gerr("writing the index", e))?;
    Ok(())
}

/// A symbolic link git tracks under `.beads/` (mode 120000).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedLink {
    pub path: String,
    /// In git's index (the next commit keeps it unless it is removed there).
    pub in_index: bool,
    /// In HEAD's tree (committed; pushed with the branch).
    pub in_head: bool,
}

/// The symbolic links git's index or HEAD holds under `.beads/`, by path.
pub fn tracked_links(root: &Path) -> Result<Vec<TrackedLink>> {
    let repo = super::open(root)?;
    let index = repo
        .index_or_empty()
        .map_err(|e| gerr("reading the index", e))?;
    let mut out: std::collections::BTreeMap<String, TrackedLink> = Default::default();
    for e in index.entries() {
        let p = e.path(&index);
        if e.mode == gix::index::entry::Mode::SYMLINK && p.starts_with(b".beads/") {
            let path = p.to_str_lossy().into_owned();
            out.entry(path.clone())
                .or_insert(TrackedLink {
                    path,
                    in_index: false,
                    in_head: false,
                })
                .in_index = true;
        }
    }
    let head = repo.head_tree_id().ok().map(|t| t.detach());
    for e in super::commit::beads_entries(&repo, head)? {
        if e.link {
            out.entry(e.path.clone())
                .or_insert(TrackedLink {
                    path: e.path,
                    in_index: false,
                    in_head: false,
                })
                .in_head = true;
        }
    }
    Ok(out.into_values().collect())
}

/// Paths under `.beads/` that git's index tracks though they are local to
/// each clone (`commit::is_local`: the cache, the lock, temp files), links
/// left out (see [`tracked_links`]).
pub fn tracked_local(root: &Path) -> Result<Vec<String>> {
    let repo = super::open(root)?;
    let index = repo
        .index_or_empty()
        .map_err(|e| gerr("reading the index", e))?;
    Ok(index
        .entries()
        .iter()
        .filter(|e| e.mode != gix::index::entry::Mode::SYMLINK)
        .map(|e| e.path(&index).to_str_lossy().into_owned())
        .filter(|p| super::commit::is_local(p))
        .collect())
}

/// Take the link at `path` out of git's index: the file now in the working
/// tree is staged in its place, or, when there is none (or the path is local
/// to the clone: the cache, the lock), the deletion.
/// Never reads through a link (the caller removed it first).
pub fn untrack_link(root: &Path, path: &str) -> Result<()> {
    let full = root.join(path);
    if !super::commit::is_local(path)
        && std::fs::symlink_metadata(&full).is_ok_and(|m| m.file_type().is_file())
    {
        return resolve(root, path);
    }
    let repo = super::open(root)?;
    let mut index = repo
        .index_or_load_from_head_or_empty()
        .map_err(|e| gerr("loading the index", e))?
        .into_owned();
    let bpath = path.as_bytes().as_bstr();
    index.remove_entries(|_, p, _| p == bpath);
    index.remove_tree();
    index
        .write(Default::default())
        .map_err(|e| gerr("writing the index", e))?;
    Ok(())
}

/// Whether text carries conflict markers at line starts.
pub fn has_markers(bytes: &[u8]) -> bool {
    bytes.split(|&b| b == b'\n').any(|l| {
        l.starts_with(b"<<<<<<< ")
            || l.starts_with(b">>>>>>> ")
            || l == b"======="
            || l == b"=======\r"
    })
}

/// Split a file with conflict markers into its two sides (common lines go to both).
/// A diff3 base section (`|||||||`) is dropped.
pub fn split_markers(bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
    #[derive(PartialEq)]
    enum At {
        Common,
        Ours,
        Base,
        Theirs,
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut at = At::Common;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let t = line.strip_suffix(b"\n").unwrap_or(line);
        let t = t.strip_suffix(b"\r").unwrap_or(t);
        if t.starts_with(b"<<<<<<<") {
            at = At::Ours;
        } else if t.starts_with(b"|||||||") && at == At::Ours {
            at = At::Base;
        } else if t == b"=======" && (at == At::Ours || at == At::Base) {
            at = At::Theirs;
        } else if t.starts_with(b">>>>>>>") && at == At::Theirs {
            at = At::Common;
        } else {
            match at {
                At::Common => {
                    ours.extend_from_slice(line);
                    theirs.extend_from_slice(line);
                }
                At::Ours => ours.extend_from_slice(line),
                At::Theirs => theirs.extend_from_slice(line),
                At::Base => {}
            }
        }
    }
    (ours, theirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sides() {
        let text = b"a\n<<<<<<< HEAD\nb1\n=======\nb2\n>>>>>>> other\nc\n";
        assert!(has_markers(text));
        let (o, t) = split_markers(text);
        assert_eq!(o, b"a\nb1\nc\n");
        assert_eq!(t, b"a\nb2\nc\n");
        assert!(!has_markers(b"{\"id\":\"x\"}\n"));
    }
}

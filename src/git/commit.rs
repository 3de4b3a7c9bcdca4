//! Committing `.beads/` with gix: only those paths, from the working tree, on
//! top of HEAD; the user's other staged and unstaged changes stay as they are.
//! When the repository signs commits or has commit hooks, the git binary does
//! it (see `transport`) so they apply. A busy repository (index lock, rebase,
//! merge) leaves the commit pending.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gix::bstr::ByteSlice;

use crate::error::{Error, Result};
use crate::git::{GitDirs, transport};

pub const BEADS: &str = ".beads";
pub const TRAILER: &str = "Bd-Actor";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Committed {
        id: String,
        amended: bool,
        paths: Vec<String>,
    },
    NothingToCommit,
    Pending {
        reason: String,
    },
}

/// What to commit and how.
#[derive(Debug, Clone)]
pub struct Request {
    pub subject: String,
    pub actor: String,
    /// Amend HEAD instead, when it is bd's own unpushed commit younger than this (seconds).
    pub amend_window: Option<u64>,
}

/// Why git cannot take a commit now, if it cannot.
pub fn busy(dirs: &GitDirs) -> Option<String> {
    let g = &dirs.git_dir;
    if g.join("index.lock").exists() {
        return Some("git is busy (.git/index.lock exists)".into());
    }
    if g.join("rebase-merge").exists() || g.join("rebase-apply").exists() {
        return Some("a rebase is in progress".into());
    }
    if g.join("MERGE_HEAD").exists() {
        return Some("a merge is in progress".into());
    }
    if g.join("CHERRY_PICK_HEAD").exists() || g.join("REVERT_HEAD").exists() {
        return Some("a cherry-pick or revert is in progress".into());
    }
    None
}

/// Whether commits must go through the git binary (signing or hooks).
pub fn needs_git_binary(dirs: &GitDirs) -> Result<bool> {
    let cfg = super::read_config(dirs)?;
    let sign = cfg
        .string("commit.gpgsign")
        .map(|v| v.to_str_lossy().to_ascii_lowercase())
        .is_some_and(|v| matches!(v.as_str(), "true" | "yes" | "on" | "1"));
    if sign {
        return Ok(true);
    }
    let hooks = match cfg.string("core.hooksPath") {
        Some(p) => PathBuf::from(p.to_str_lossy().into_owned()),
        None => dirs.common_dir.join("hooks"),
    };
    Ok([
        "pre-commit",
        "commit-msg",
        "prepare-commit-msg",
        "post-commit",
    ]
    .iter()
    // bd's own pre-commit hook alone (nothing chained) never refuses a
    // commit of `.beads/` files: it needs no run.
    .any(|h| {
        is_executable(&hooks.join(h)) && !(*h == "pre-commit" && super::hooks::only_ours(&hooks))
    }))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether a path under `.beads/` is local to this clone (the cache, the
/// lock, temp files): never committed, and removed from git when a tree
/// holds it anyway (a hostile repository can commit one).
pub fn is_local(rel: &str) -> bool {
    let Some(sub) = rel.strip_prefix(".beads/") else {
        return false;
    };
    let name = sub.rsplit('/').next().unwrap_or(sub);
    sub == ".cache"
        || sub.starts_with(".cache/")
        || sub == ".lock"
        || (name.starts_with('.') && name.contains(".tmp-"))
}

/// The files under `.beads/` that belong in git (not the cache, lock or temp
/// files; never a symbolic link, nor anything under a linked folder).
pub fn tracked_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(BEADS)];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let path = e.path();
            let Ok(ft) = e.file_type() else { continue };
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let rel = rel.to_string_lossy().replace('\\', "/");
            if is_local(&rel) {
                continue;
            }
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

fn gerr(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        msg: format!("git: {what}: {e}"),
        hint: None,
    }
}

/// One file of a tree under `.beads/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub id: gix::ObjectId,
    /// A symbolic link (mode 120000), not a file.
    pub link: bool,
}

/// The `.beads/` blobs and symbolic links of a tree.
pub fn beads_entries(repo: &gix::Repository, tree: Option<gix::ObjectId>) -> Result<Vec<Entry>> {
    let Some(tree) = tree else {
        return Ok(Vec::new());
    };
    let tree = repo
        .find_tree(tree)
        .map_err(|e| gerr("reading a tree", e))?;
    let mut recorder = gix::traverse::tree::Recorder::default();
    let Some(entry) = tree
        .lookup_entry_by_path(BEADS)
        .map_err(|e| gerr("reading a tree", e))?
    else {
        return Ok(Vec::new());
    };
    let sub = repo
        .find_tree(entry.object_id())
        .map_err(|e| gerr("reading a tree", e))?;
    sub.traverse()
        .breadthfirst(&mut recorder)
        .map_err(|e| gerr("walking a tree", e))?;
    Ok(recorder
        .records
        .into_iter()
        .filter(|r| r.mode.is_blob_or_symlink())
        .map(|r| Entry {
            path: format!("{BEADS}/{}", r.filepath),
            id: r.oid,
            link: r.mode.is_link(),
        })
        .collect())
}

/// The paths under `.beads/` whose working-tree state differs from HEAD:
/// files new or changed, and HEAD's files and links that are not a file in
/// the working tree any more (gone, a folder, a link) or are local to the
/// clone ([`is_local`]). [`commit`] refuses a link it would have to read (bd
/// never commits one; `doctor --fix` removes it, and then its removal is
/// committed).
pub fn pending(root: &Path) -> Result<Vec<String>> {
    pending_with(root, &mut BlobIds::new())
}

/// What identifies one state of a file (size, mtime ns, ctime ns, inode).
pub type StatKey = (u64, i64, i64, u64);

/// Blob ids already computed, by path and the file state they were computed
/// for; [`pending_with`] reuses those whose file is unchanged.
pub type BlobIds = std::collections::BTreeMap<String, (StatKey, String)>;

pub fn stat_key(path: &Path) -> Option<StatKey> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((
        m.len(),
        m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        m.ctime() * 1_000_000_000 + m.ctime_nsec(),
        m.ino(),
    ))
}

/// [`pending`], hashing only files whose state is not in `known` (which it
/// updates): showing pending changes need not hash a 10 MB tracker each time.
pub fn pending_with(root: &Path, known: &mut BlobIds) -> Result<Vec<String>> {
    scan(&super::open(root)?, root, known, None, None)
}

/// Work done with the tracker's bytes (as git stores them) while their blob
/// id is hashed on another thread.
type Meanwhile<'m> = &'m mut dyn FnMut(&[u8]);

/// A file read while finding what is pending, kept for the commit: its
/// state, the bytes git stores and their blob id.
struct Kept {
    stat: StatKey,
    stored: Vec<u8>,
    id: gix::ObjectId,
}

/// The bytes git stores for `bytes` at `rel`: a line-ending conversion only
/// ever changes bytes holding a CRLF, so a file without one (the tracker,
/// always) is not scanned again.
fn stored<'a>(filter: &super::eol::Filter, rel: &str, bytes: &'a [u8]) -> Cow<'a, [u8]> {
    if memchr::memmem::find(bytes, b"\r\n").is_none() {
        Cow::Borrowed(bytes)
    } else {
        filter.to_git(rel, bytes)
    }
}

/// [`pending_with`], keeping in `keep` the bytes of the pending files it
/// read, and running `meanwhile` on the tracker's bytes while they are hashed.
fn scan(
    repo: &gix::Repository,
    root: &Path,
    known: &mut BlobIds,
    mut keep: Option<&mut BTreeMap<String, Kept>>,
    mut meanwhile: Option<Meanwhile<'_>>,
) -> Result<Vec<String>> {
    let head_tree = repo.head_tree_id().ok().map(|t| t.detach());
    let head = beads_entries(repo, head_tree)?;
    let filter = super::eol::Filter::load(repo, root);
    let mut out = Vec::new();
    let files = tracked_files(root);
    known.retain(|p, _| files.contains(p));
    for f in &files {
        let path = root.join(f);
        let key = stat_key(&path);
        let cached = match (known.get(f), key) {
            (Some((k, hex)), Some(now)) if *k == now => {
                gix::ObjectId::from_hex(hex.as_bytes()).ok()
            }
            _ => None,
        };
        let id = match cached {
            Some(id) => id,
            None => {
                let bytes = crate::files::read(&path).map_err(|e| Error::io(&path, e))?;
                let stored = stored(&filter, f, &bytes);
                let kind = repo.object_hash();
                let hash = || gix::objs::compute_hash(kind, gix::objs::Kind::Blob, &stored);
                let id = match meanwhile.as_mut().filter(|_| f == TRACKER) {
                    Some(work) => std::thread::scope(|s| {
                        let h = s.spawn(hash);
                        work(&stored);
                        h.join().expect("hashing does not panic")
                    }),
                    None => hash(),
                }
                .map_err(|e| gerr("hashing", e))?;
                let unchanged = key.filter(|k| stat_key(&path) == Some(*k));
                // Only a state read back unchanged is remembered, and only
                // bytes no line-ending conversion can change (the id then
                // holds whatever core.autocrlf and the attributes become).
                if let Some(k) = unchanged
                    && memchr::memmem::find(&bytes, b"\r\n").is_none()
                {
                    known.insert(f.clone(), (k, id.to_hex().to_string()));
                }
                if let (Some(keep), Some(stat)) = (keep.as_deref_mut(), unchanged)
                    && !head.iter().any(|e| &e.path == f && !e.link && e.id == id)
                {
                    // The bytes read are what git stores, unless converted.
                    let converted = match stored {
                        Cow::Owned(v) => Some(v),
                        Cow::Borrowed(_) => None,
                    };
                    let stored = converted.unwrap_or(bytes);
                    keep.insert(f.clone(), Kept { stat, stored, id });
                }
                id
            }
        };
        if !head.iter().any(|e| &e.path == f && !e.link && e.id == id) {
            out.push(f.clone());
        }
    }
    for e in &head {
        if !files.contains(&e.path) {
            out.push(e.path.clone());
        }
    }
    out.sort();
    Ok(out)
}

/// The tracker's path, the one file stored as a delta ([`super::pack`]).
pub const TRACKER: &str = ".beads/issues.jsonl";

/// Commit the `.beads/` paths that changed.
pub fn commit(root: &Path, dirs: &GitDirs, req: &Request) -> Result<Outcome> {
    if let Some(reason) = busy(dirs) {
        return Ok(Outcome::Pending { reason });
    }
    let mut kept = BTreeMap::new();
    let cache = root.join(BEADS).join(".cache");
    let objects = dirs.common_dir.join("objects");
    let big = std::fs::metadata(root.join(TRACKER))
        .is_ok_and(|m| m.len() >= super::pack::MIN_SIZE as u64);
    std::thread::scope(|s| {
        // What the tracker's delta needs from the last commit is read while
        // the working tree is read.
        let mut prepared = big.then(|| s.spawn(|| super::pack::Writer::prepare(&objects, &cache)));
        let repo = super::open(root)?;
        // The delta is made, and its pack written, while the tracker's new
        // id is hashed; the pack is published only once staging has checked
        // it against HEAD.
        let mut writer = None;
        let mut plan = |bytes: &[u8]| {
            writer = prepared.take().and_then(|h| h.join().ok());
            if let Some(w) = writer.as_mut() {
                w.plan(bytes);
            }
        };
        let changed = scan(
            &repo,
            root,
            &mut BlobIds::new(),
            Some(&mut kept),
            Some(&mut plan),
        )?;
        if changed.is_empty() {
            return Ok(Outcome::NothingToCommit);
        }
        if let Some(h) = prepared {
            writer = h.join().ok();
        }
        commit_changed(
            root,
            dirs,
            req,
            &repo,
            changed,
            &mut kept,
            &mut writer,
            |w, bytes| {
                // Keeping the new version for the next delta overlaps the
                // tree, commit and index writes.
                s.spawn(move || w.record(bytes));
            },
        )
    })
}

/// [`commit`] once the changed paths are known; `keep_base` is given the
/// tracker's writer and bytes, to record them for the next commit.
#[allow(clippy::too_many_arguments)]
fn commit_changed<'k>(
    root: &Path,
    dirs: &GitDirs,
    req: &Request,
    repo: &gix::Repository,
    changed: Vec<String>,
    kept: &'k mut BTreeMap<String, Kept>,
    writer: &mut Option<super::pack::Writer>,
    keep_base: impl FnOnce(super::pack::Writer, &'k [u8]),
) -> Result<Outcome> {
    let message = format!("{}\n\n{TRAILER}: {}\n", req.subject, req.actor);
    if needs_git_binary(dirs)? {
        // `git commit --only` takes a path's working-tree file back in, so a
        // local file committed by someone else stays in git on this path.
        let changed: Vec<String> = changed.into_iter().filter(|p| !is_local(p)).collect();
        if changed.is_empty() {
            return Ok(Outcome::NothingToCommit);
        }
        let id = transport::commit_paths(root, &changed, &message)?;
        return Ok(Outcome::Committed {
            id,
            amended: false,
            paths: changed,
        });
    }
    if repo.committer().is_none() || repo.author().is_none() {
        return Ok(Outcome::Pending {
            reason: "git user.name and user.email are not set".into(),
        });
    }
    let head_commit = repo.head_commit().ok();
    let amend_of = head_commit
        .as_ref()
        .filter(|c| amendable(repo, c, req.amend_window));
    let base_tree = match &head_commit {
        Some(c) => c.tree_id().map_err(|e| gerr("reading HEAD", e))?.detach(),
        None => repo.empty_tree().id,
    };
    let mut editor = repo
        .edit_tree(base_tree)
        .map_err(|e| gerr("editing a tree", e))?;
    let mut index = repo
        .index_or_load_from_head_or_empty()
        .map_err(|e| gerr("loading the index", e))?
        .into_owned();
    let head = beads_entries(repo, head_commit.as_ref().map(|_| base_tree))?;
    let staging = Staging { head: &head };
    stage_paths(
        repo,
        root,
        &changed,
        &staging,
        kept,
        writer,
        &mut editor,
        &mut index,
    )?;
    let kept: &'k BTreeMap<String, Kept> = kept;
    if let Some(w) = writer.take()
        && let Some(k) = kept.get(TRACKER)
    {
        keep_base(w, &k.stored);
    }
    index.remove_tree();
    let tree = editor
        .write()
        .map_err(|e| gerr("writing a tree", e))?
        .detach();
    let (id, amended) = write_commit(repo, req, &message, tree, amend_of, head_commit.as_ref())?;
    match index.write(Default::default()) {
        Ok(()) => {}
        // The commit stands; git refreshes a stale index entry on its own.
        Err(e) => return Err(gerr("writing the index (the commit was made)", e)),
    }
    Ok(Outcome::Committed {
        id: id.to_string(),
        amended,
        paths: changed,
    })
}

/// What staging knows already: HEAD's `.beads/` entries (the previous
/// version a delta is made against).
struct Staging<'a> {
    head: &'a [Entry],
}

/// Put the working-tree state of `changed` paths into the tree being
/// edited and the index: a file is committed (as git would store it), a
/// local path or a path gone is a removal, a link is refused. A large file
/// is stored as a delta against HEAD's version when it can be
/// ([`super::pack`]).
#[allow(clippy::too_many_arguments)]
fn stage_paths(
    repo: &gix::Repository,
    root: &Path,
    changed: &[String],
    staging: &Staging<'_>,
    kept: &mut BTreeMap<String, Kept>,
    writer: &mut Option<super::pack::Writer>,
    editor: &mut gix::object::tree::Editor<'_>,
    index: &mut gix::index::File,
) -> Result<()> {
    // New entries are added after the loop: pushing one unsorts the index,
    // and the lookups of later paths (a binary search) would then miss
    // existing entries and add them twice.
    let mut new_entries = Vec::new();
    let filter = super::eol::Filter::load(repo, root);
    for path in changed {
        let full = root.join(path);
        let bpath: &gix::bstr::BStr = path.as_bytes().as_bstr();
        // A local path leaves git (its file stays); a file is committed; a
        // link is refused, never read nor committed; anything else (gone, a
        // folder now) is a removal.
        let kind = std::fs::symlink_metadata(&full).map(|m| m.file_type());
        match kind {
            Ok(t) if t.is_symlink() && !is_local(path) => {
                return Err(Error::Symlink { path: full });
            }
            Ok(t) if t.is_file() && !is_local(path) => {
                // The bytes scan read, while the file is in that state.
                if kept
                    .get(path)
                    .is_none_or(|k| stat_key(&full) != Some(k.stat))
                {
                    let before = stat_key(&full);
                    let bytes = crate::files::read(&full).map_err(|e| Error::io(&full, e))?;
                    let stored = stored(&filter, path, &bytes).into_owned();
                    let id =
                        gix::objs::compute_hash(repo.object_hash(), gix::objs::Kind::Blob, &stored)
                            .map_err(|e| gerr("hashing", e))?;
                    let stat = before.unwrap_or_default();
                    kept.insert(path.clone(), Kept { stat, stored, id });
                }
                let k = &kept[path];
                let id = k.id;
                if path == TRACKER {
                    let prev = staging
                        .head
                        .iter()
                        .find(|e| &e.path == path && !e.link)
                        .map(|e| e.id);
                    let w = writer.get_or_insert_with(|| {
                        super::pack::Writer::prepare(
                            repo.objects.store_ref().path(),
                            &root.join(BEADS).join(".cache"),
                        )
                    });
                    w.write_blob(repo, &k.stored, id, prev)?;
                } else {
                    repo.write_blob(&k.stored)
                        .map_err(|e| gerr("writing a blob", e))?;
                }
                editor
                    .upsert(path.as_str(), gix::object::tree::EntryKind::Blob, id)
                    .map_err(|e| gerr("editing a tree", e))?;
                let meta = gix::index::fs::Metadata::from_path_no_follow(&full)
                    .map_err(|e| Error::io(&full, e))?;
                let stat = gix::index::entry::Stat::from_fs(&meta).map_err(|e| gerr("stat", e))?;
                match index
                    .entry_mut_by_path_and_stage(bpath, gix::index::entry::Stage::Unconflicted)
                {
                    Some(entry) => {
                        entry.id = id;
                        entry.stat = stat;
                        entry.mode = gix::index::entry::Mode::FILE;
                    }
                    None => new_entries.push((stat, id, path.clone())),
                }
            }
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(&full, e));
            }
            _ => {
                editor
                    .remove(path.as_str())
                    .map_err(|e| gerr("editing a tree", e))?;
                index.remove_entries(|_, p, _| p == bpath);
            }
        }
    }
    if !new_entries.is_empty() {
        for (stat, id, path) in new_entries {
            index.dangerously_push_entry(
                stat,
                id,
                gix::index::entry::Flags::empty(),
                gix::index::entry::Mode::FILE,
                path.as_bytes().as_bstr(),
            );
        }
        index.sort_entries();
    }
    Ok(())
}

/// Write the commit of `tree`: amending `amend_of` (bd's own unpushed
/// commit, its subjects merged) or on top of HEAD; `(id, amended)`.
fn write_commit(
    repo: &gix::Repository,
    req: &Request,
    message: &str,
    tree: gix::ObjectId,
    amend_of: Option<&gix::Commit<'_>>,
    head_commit: Option<&gix::Commit<'_>>,
) -> Result<(gix::ObjectId, bool)> {
    Ok(match (amend_of, head_commit) {
        (Some(prev), _) => {
            let parents: Vec<gix::ObjectId> = prev.parent_ids().map(|p| p.detach()).collect();
            let subject = merge_subjects(prev, &req.subject);
            let message = format!("{subject}\n\n{TRAILER}: {}\n", req.actor);
            let new = repo
                .new_commit(message.as_str(), tree, parents)
                .map_err(|e| gerr("writing a commit", e))?;
            let edit = gix::refs::transaction::RefEdit::update(
                "HEAD".try_into().map_err(|e| gerr("HEAD", e))?,
                new.id,
                gix::refs::transaction::PreviousValue::MustExistAndMatch(
                    gix::refs::Target::Object(prev.id),
                ),
                format!("commit (amend): {}", req.subject),
            )
            .with_deref(true);
            repo.edit_reference(edit)
                .map_err(|e| gerr("moving HEAD (it moved meanwhile?)", e))?;
            (new.id, true)
        }
        (None, Some(head)) => (
            repo.commit("HEAD", message, tree, [head.id])
                .map_err(|e| gerr("committing (HEAD moved meanwhile?)", e))?
                .detach(),
            false,
        ),
        (None, None) => (
            repo.commit("HEAD", message, tree, None::<gix::ObjectId>)
                .map_err(|e| gerr("committing", e))?
                .detach(),
            false,
        ),
    })
}

/// bd's own commit, not on the upstream, younger than the window.
fn amendable(repo: &gix::Repository, c: &gix::Commit<'_>, window: Option<u64>) -> bool {
    let Some(window) = window else { return false };
    let Ok(msg) = c.message_raw() else {
        return false;
    };
    let text = msg.to_str_lossy();
    if !text.starts_with("bd: ") || !text.contains(&format!("\n{TRAILER}: ")) {
        return false;
    }
    let Ok(t) = c.time() else { return false };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if now - t.seconds > window as i64 {
        return false;
    }
    // Pushed already? Any remote-tracking ref that contains it.
    let Ok(refs) = repo.references() else {
        return false;
    };
    let Ok(remotes) = refs.remote_branches() else {
        return false;
    };
    for r in remotes.flatten() {
        let Ok(id) = r.into_fully_peeled_id() else {
            continue;
        };
        if id == c.id {
            return false;
        }
        if let Ok(walk) = id.ancestors().all() {
            for info in walk.flatten().take(10_000) {
                if info.id == c.id {
                    return false;
                }
            }
        }
    }
    true
}

/// The subject of an amended batch: the earlier subject plus the new one.
fn merge_subjects(prev: &gix::Commit<'_>, new: &str) -> String {
    let old = prev
        .message_raw()
        .map(|m| m.to_str_lossy().lines().next().unwrap_or("").to_string())
        .unwrap_or_default();
    let old = old.strip_prefix("bd: ").unwrap_or(&old).to_string();
    let new = new.strip_prefix("bd: ").unwrap_or(new);
    let joined = format!("bd: {old}; {new}");
    if joined.chars().count() > 72 {
        let n = old.matches("; ").count() + 2;
        format!("bd: {n} tracker changes (latest: {new})")
    } else {
        joined
    }
}

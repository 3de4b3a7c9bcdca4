//! The tracker's blobs stored as deltas, so a commit of one changed issue
//! adds bytes in proportion to the change rather than a compressed copy of
//! the whole file.
//!
//! Git reads a delta only against a base in the same pack (a "thin" pack on
//! disk, whose base lives elsewhere, is refused by `git cat-file`, `fsck`
//! and `gc`). So bd keeps one pack of its own: a full copy of the file (the
//! root) and deltas after it, each against the previous version (an
//! `OFS_DELTA`), or against the root once a chain is [`MAX_DEPTH`] long (so
//! a read applies at most that many deltas). A commit writes a new pack:
//! the old one's bytes unchanged, plus the new delta, then a new `.idx`,
//! both through temporary files renamed into place (`.pack` first, `.idx`
//! last, as git does), and only then removes the old pack, whose every
//! object the new one holds. When nothing fits (no previous version, the
//! previous one is in a pack bd did not write — after `git gc` — or the
//! delta would not be small), the new content becomes the root of a new
//! pack; small files, and any repository whose layout bd does not fully
//! understand (a multi-pack index, a hash other than SHA-1), get today's
//! loose object. Object ids are the ordinary ids of the full content.
//!
//! Computing a delta needs the previous version's bytes: bd keeps the last
//! committed content and the root's in `.beads/.cache/`, trusted only while
//! their file state (size, times, inode) is the one recorded when written;
//! otherwise they are read back from git.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::error::{Error, Result};
use crate::git::delta;

const OBJ_BLOB: u8 = 3;
const OBJ_OFS_DELTA: u8 = 6;
/// The longest chain of deltas a read applies. Each one costs a reader a
/// copy of the whole file (git: about 6 ms of CPU per level at 10k issues,
/// on top of 30 ms to inflate the root), so chains stay short; the price is
/// a delta against the root every few commits, which grows with what
/// changed since the root (see [`small_from_root`]).
pub const MAX_DEPTH: usize = 5;
/// Smaller blobs are written loose, as before.
pub const MIN_SIZE: usize = 64 * 1024;
/// zlib level of a root (git's `pack.compression` default).
const ROOT_LEVEL: i32 = 6;
/// zlib level of a delta.
const DELTA_LEVEL: i32 = 6;
/// A pack bd extends holds at most this many objects.
const MAX_OBJECTS: usize = 100_000;

fn gerr(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        msg: format!("git: {what}: {e}"),
        hint: None,
    }
}

fn ioerr(path: &Path, e: std::io::Error) -> Error {
    Error::io(path, e)
}

// ---------------------------------------------------------------------------
// CRC-32 (the pack index records one per entry) and SHA-1
// ---------------------------------------------------------------------------

fn crc_table() -> &'static [[u32; 256]; 8] {
    static T: std::sync::OnceLock<[[u32; 256]; 8]> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let mut t = [[0u32; 256]; 8];
        for i in 0..256u32 {
            let mut c = i;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            t[0][i as usize] = c;
        }
        for i in 0..256 {
            for k in 1..8 {
                let prev = t[k - 1][i];
                t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            }
        }
        t
    })
}

/// CRC-32 (IEEE, as zlib's `crc32`).
pub fn crc32(bytes: &[u8]) -> u32 {
    let t = crc_table();
    let mut c = !0u32;
    let mut chunks = bytes.chunks_exact(8);
    for ch in &mut chunks {
        let lo = c ^ u32::from_le_bytes([ch[0], ch[1], ch[2], ch[3]]);
        let hi = u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]);
        c = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        c = t[0][((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

fn sha1(parts: &[&[u8]]) -> Result<[u8; 20]> {
    let mut h = gix::hash::hasher(gix::hash::Kind::Sha1);
    for p in parts {
        h.update(p);
    }
    let id = h.try_finalize().map_err(|e| gerr("hashing", e))?;
    let mut out = [0u8; 20];
    out.copy_from_slice(id.as_slice());
    Ok(out)
}

// ---------------------------------------------------------------------------
// Pack index (version 2)
// ---------------------------------------------------------------------------

/// One object of a pack: its id, the CRC-32 of its packed bytes, its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdxEntry {
    pub id: [u8; 20],
    pub crc: u32,
    pub offset: u64,
}

/// A parsed `.idx` (version 2): entries sorted by id, and the pack's checksum.
#[derive(Debug, Clone)]
pub struct Index {
    pub entries: Vec<IdxEntry>,
    pub pack_sum: [u8; 20],
}

const IDX_MAGIC: [u8; 4] = [0xff, b't', b'O', b'c'];

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl Index {
    /// Parse a version-2 index (`None` for anything else or a damaged one).
    pub fn parse(b: &[u8]) -> Option<Index> {
        if b.get(..4)? != IDX_MAGIC || be32(b, 4)? != 2 {
            return None;
        }
        let n = be32(b, 8 + 255 * 4)? as usize;
        let names = 8 + 1024;
        let crcs = names + n * 20;
        let offs = crcs + n * 4;
        let large = offs + n * 4;
        let mut entries = Vec::with_capacity(n);
        let mut n_large = 0usize;
        for i in 0..n {
            let mut id = [0u8; 20];
            id.copy_from_slice(b.get(names + i * 20..names + i * 20 + 20)?);
            let crc = be32(b, crcs + i * 4)?;
            let o = be32(b, offs + i * 4)?;
            let offset = if o & 0x8000_0000 != 0 {
                let k = (o & 0x7fff_ffff) as usize;
                n_large = n_large.max(k + 1);
                u64::from_be_bytes(b.get(large + k * 8..large + k * 8 + 8)?.try_into().ok()?)
            } else {
                o as u64
            };
            entries.push(IdxEntry { id, crc, offset });
        }
        let trailer = large + n_large * 8;
        if b.len() != trailer + 40 {
            return None;
        }
        let mut pack_sum = [0u8; 20];
        pack_sum.copy_from_slice(&b[trailer..trailer + 20]);
        if entries.windows(2).any(|w| w[0].id >= w[1].id) {
            return None;
        }
        Some(Index { entries, pack_sum })
    }

    pub fn find(&self, id: &[u8]) -> Option<&IdxEntry> {
        self.entries
            .binary_search_by(|e| e.id.as_slice().cmp(id))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The index's bytes (entries must be sorted by id, unique).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let n = self.entries.len();
        let mut out = Vec::with_capacity(8 + 1024 + n * 28 + 40);
        out.extend_from_slice(&IDX_MAGIC);
        out.extend_from_slice(&2u32.to_be_bytes());
        let mut fan = [0u32; 256];
        for e in &self.entries {
            fan[e.id[0] as usize] += 1;
        }
        let mut total = 0u32;
        for f in fan {
            total += f;
            out.extend_from_slice(&total.to_be_bytes());
        }
        for e in &self.entries {
            out.extend_from_slice(&e.id);
        }
        for e in &self.entries {
            out.extend_from_slice(&e.crc.to_be_bytes());
        }
        let mut large = Vec::new();
        for e in &self.entries {
            if e.offset < 0x8000_0000 {
                out.extend_from_slice(&(e.offset as u32).to_be_bytes());
            } else {
                out.extend_from_slice(&(0x8000_0000 | (large.len() / 8) as u32).to_be_bytes());
                large.extend_from_slice(&e.offset.to_be_bytes());
            }
        }
        out.extend_from_slice(&large);
        out.extend_from_slice(&self.pack_sum);
        let sum = sha1(&[&out])?;
        out.extend_from_slice(&sum);
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// Pack entries
// ---------------------------------------------------------------------------

/// The header of one pack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryHeader {
    pub kind: u8,
    /// The inflated size (of the delta, for a delta).
    pub size: u64,
    /// Where the zlib stream starts.
    pub data: usize,
    /// An `OFS_DELTA`'s base offset.
    pub base: Option<u64>,
}

pub fn entry_header(pack: &[u8], off: usize) -> Option<EntryHeader> {
    let mut i = off;
    let mut c = *pack.get(i)?;
    i += 1;
    let kind = (c >> 4) & 7;
    let mut size = (c & 0x0f) as u64;
    let mut shift = 4;
    while c & 0x80 != 0 {
        c = *pack.get(i)?;
        i += 1;
        if shift > 57 {
            return None;
        }
        size |= ((c & 0x7f) as u64) << shift;
        shift += 7;
    }
    let base = if kind == OBJ_OFS_DELTA {
        let mut c = *pack.get(i)?;
        i += 1;
        let mut rel = (c & 0x7f) as u64;
        while c & 0x80 != 0 {
            c = *pack.get(i)?;
            i += 1;
            rel = rel.checked_add(1)?.checked_shl(7)? | (c & 0x7f) as u64;
        }
        Some((off as u64).checked_sub(rel)?)
    } else {
        None
    };
    Some(EntryHeader {
        kind,
        size,
        data: i,
        base,
    })
}

fn push_header(out: &mut Vec<u8>, kind: u8, mut size: u64) {
    let mut c = (kind << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size != 0 {
        out.push(c | 0x80);
        c = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(c);
}

fn push_ofs(out: &mut Vec<u8>, mut rel: u64) {
    let mut buf = [0u8; 10];
    let mut pos = buf.len() - 1;
    buf[pos] = (rel & 0x7f) as u8;
    rel >>= 7;
    while rel != 0 {
        rel -= 1;
        pos -= 1;
        buf[pos] = 0x80 | (rel & 0x7f) as u8;
        rel >>= 7;
    }
    out.extend_from_slice(&buf[pos..]);
}

fn deflate(bytes: &[u8], level: i32) -> Result<Vec<u8>> {
    let level = gix::zlib::Compression::new(level).unwrap_or_default();
    let mut w =
        gix::zlib::stream::deflate::Write::new(Vec::with_capacity(bytes.len() / 3 + 64), level);
    w.write_all(bytes).map_err(|e| gerr("compressing", e))?;
    w.flush().map_err(|e| gerr("compressing", e))?;
    Ok(w.into_inner())
}

/// A full blob's pack entry.
fn blob_entry(bytes: &[u8]) -> Result<Vec<u8>> {
    let z = deflate(bytes, ROOT_LEVEL)?;
    let mut out = Vec::with_capacity(z.len() + 10);
    push_header(&mut out, OBJ_BLOB, bytes.len() as u64);
    out.extend_from_slice(&z);
    Ok(out)
}

/// A delta entry at `at` against the entry at `base`.
fn delta_entry(delta: &[u8], at: u64, base: u64) -> Result<Vec<u8>> {
    let z = deflate(delta, DELTA_LEVEL)?;
    let mut out = Vec::with_capacity(z.len() + 20);
    push_header(&mut out, OBJ_OFS_DELTA, delta.len() as u64);
    push_ofs(&mut out, at - base);
    out.extend_from_slice(&z);
    Ok(out)
}

// ---------------------------------------------------------------------------
// bd's pack on disk
// ---------------------------------------------------------------------------

/// A pack bd may extend: read whole, its index parsed, every entry a blob
/// or an `OFS_DELTA` on an entry of the pack.
pub struct OwnPack {
    pub idx_path: PathBuf,
    pub pack_path: PathBuf,
    pub index: Index,
    pub bytes: Vec<u8>,
}

impl OwnPack {
    /// How many deltas a read of the entry at `off` applies, and the offset
    /// of the full entry its chain ends at.
    pub fn depth(&self, off: u64) -> Option<(usize, u64)> {
        let mut off = off;
        let mut depth = 0;
        loop {
            let h = entry_header(&self.bytes, usize::try_from(off).ok()?)?;
            match (h.kind, h.base) {
                (OBJ_BLOB, _) => return Some((depth, off)),
                (OBJ_OFS_DELTA, Some(b)) => {
                    depth += 1;
                    if depth > MAX_OBJECTS {
                        return None;
                    }
                    off = b;
                }
                _ => return None,
            }
        }
    }
}

fn sibling(idx: &Path, ext: &str) -> PathBuf {
    idx.with_extension(ext)
}

/// Whether git keeps this pack for a reason bd must respect.
fn held(idx: &Path) -> bool {
    ["keep", "promisor", "mtimes"]
        .iter()
        .any(|e| sibling(idx, e).exists())
}

/// The pack that holds `id`, if it is one bd may extend (small, blobs and
/// offset deltas only, consistent with its index, not kept).
pub fn find_own(objects: &Path, id: &ObjectId, max_pack: u64) -> Option<OwnPack> {
    let dir = objects.join("pack");
    let rd = std::fs::read_dir(&dir).ok()?;
    for e in rd.flatten() {
        let idx_path = e.path();
        if idx_path.extension().is_none_or(|x| x != "idx") {
            continue;
        }
        let pack_path = sibling(&idx_path, "pack");
        let Ok(meta) = std::fs::metadata(&pack_path) else {
            continue;
        };
        if meta.len() > max_pack || held(&idx_path) {
            continue;
        }
        let Ok(ib) = std::fs::read(&idx_path) else {
            continue;
        };
        let Some(index) = Index::parse(&ib) else {
            continue;
        };
        if index.find(id.as_slice()).is_none() || index.entries.len() > MAX_OBJECTS {
            continue;
        }
        let Ok(bytes) = std::fs::read(&pack_path) else {
            continue;
        };
        if valid_own(&bytes, &index) {
            return Some(OwnPack {
                idx_path,
                pack_path,
                index,
                bytes,
            });
        }
    }
    None
}

fn valid_own(bytes: &[u8], index: &Index) -> bool {
    let n = index.entries.len();
    if bytes.len() < 32
        || &bytes[..4] != b"PACK"
        || be32(bytes, 4) != Some(2)
        || be32(bytes, 8) != Some(n as u32)
        || bytes[bytes.len() - 20..] != index.pack_sum
    {
        return false;
    }
    let end = (bytes.len() - 20) as u64;
    let offsets: std::collections::BTreeSet<u64> = index.entries.iter().map(|e| e.offset).collect();
    index.entries.iter().all(|e| {
        e.offset >= 12
            && e.offset < end
            && match entry_header(bytes, e.offset as usize) {
                Some(h) => match (h.kind, h.base) {
                    (OBJ_BLOB, None) => true,
                    (OBJ_OFS_DELTA, Some(b)) => offsets.contains(&b),
                    _ => false,
                },
                None => false,
            }
    })
}

/// A pack written and synced under a temporary name, its last object's id
/// not yet known: [`PendingPack::publish`] names it and writes its index.
/// Nothing reads it before then, so it can be written while that id is
/// still being hashed; dropped unpublished, its file is removed.
pub struct PendingPack {
    dir: PathBuf,
    tmp: PathBuf,
    sum: [u8; 20],
    /// The index entries of the objects copied from the pack extended.
    entries: Vec<IdxEntry>,
    /// The CRC-32 and offset of the new, last object.
    last: (u32, u64),
    /// The pack this one replaces, removed once this one is published.
    replaces: Option<PathBuf>,
    published: bool,
}

/// Write to a temporary file in `dir` a pack of `count` entries (`bodies`
/// are everything after the 12-byte header), the last one at `last`.
fn write_pack(
    dir: &Path,
    count: u32,
    bodies: &[&[u8]],
    entries: Vec<IdxEntry>,
    last: (u32, u64),
) -> Result<PendingPack> {
    let mut header = Vec::with_capacity(12);
    header.extend_from_slice(b"PACK");
    header.extend_from_slice(&2u32.to_be_bytes());
    header.extend_from_slice(&count.to_be_bytes());
    let mut parts: Vec<&[u8]> = vec![&header];
    parts.extend_from_slice(bodies);
    let sum = sha1(&parts)?;
    parts.push(&sum);
    let tmp = write_temp(dir, "tmp_pack_", &parts, true)?;
    Ok(PendingPack {
        dir: dir.to_path_buf(),
        tmp,
        sum,
        entries,
        last,
        replaces: None,
        published: false,
    })
}

impl PendingPack {
    /// Write the index, naming `id` the last object, and rename both into
    /// place (the pack first, then its index, the folder synced), then
    /// remove the pack this one replaces. Returns the new `.pack` path.
    pub fn publish(mut self, id: &ObjectId) -> Result<PathBuf> {
        let mut entries = std::mem::take(&mut self.entries);
        entries.push(IdxEntry {
            id: id_bytes(id),
            crc: self.last.0,
            offset: self.last.1,
        });
        let mut index = Index {
            entries,
            pack_sum: self.sum,
        };
        index.entries.sort_by_key(|e| e.id);
        let idx_bytes = index.encode()?;
        let hex: String = self.sum.iter().map(|b| format!("{b:02x}")).collect();
        let dir = &self.dir;
        let pack_path = dir.join(format!("pack-{hex}.pack"));
        let idx_path = dir.join(format!("pack-{hex}.idx"));
        if !(idx_path.exists() && pack_path.exists()) {
            let tmp_idx = write_temp(dir, "tmp_idx_", &[&idx_bytes], true)?;
            let done = std::fs::rename(&self.tmp, &pack_path)
                .and_then(|()| std::fs::rename(&tmp_idx, &idx_path))
                .map_err(|e| ioerr(&idx_path, e));
            if done.is_err() {
                let _ = std::fs::remove_file(&tmp_idx);
            }
            done?;
            self.published = true;
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        if let Some(old) = &self.replaces
            && *old != idx_path
        {
            remove_pack(old);
        }
        Ok(pack_path)
    }
}

impl Drop for PendingPack {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A read-only temporary file in `dir` (named as git names its own, so `git
/// gc` clears one left behind by a crash), written and synced.
fn write_temp(dir: &Path, prefix: &str, parts: &[&[u8]], sync: bool) -> Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut n = std::process::id() as u64 ^ nanos();
    for _ in 0..100 {
        let path = dir.join(format!("{prefix}{n:016x}"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o444)
            .open(&path)
        {
            Ok(mut f) => {
                let r = parts
                    .iter()
                    .try_for_each(|p| f.write_all(p))
                    .and_then(|()| if sync { f.sync_all() } else { Ok(()) });
                if let Err(e) = r {
                    let _ = std::fs::remove_file(&path);
                    return Err(ioerr(&path, e));
                }
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                n = n.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            Err(e) => return Err(ioerr(&path, e)),
        }
    }
    Err(Error::invalid(format!(
        "cannot create a temporary file in {}",
        dir.display()
    )))
}

fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Remove a pack git no longer needs (its index first, so no reader finds
/// a pack without one, as git's repack does).
fn remove_pack(idx: &Path) {
    let _ = std::fs::remove_file(idx);
    for ext in ["pack", "rev", "bitmap"] {
        let _ = std::fs::remove_file(sibling(idx, ext));
    }
}

/// A new pack of one full blob.
pub fn write_root(objects: &Path, id: &ObjectId, bytes: &[u8]) -> Result<PathBuf> {
    let entry = blob_entry(bytes)?;
    write_pack(
        &objects.join("pack"),
        1,
        &[&entry],
        Vec::new(),
        (crc32(&entry), 12),
    )?
    .publish(id)
}

fn id_bytes(id: &ObjectId) -> [u8; 20] {
    let mut b = [0u8; 20];
    b.copy_from_slice(id.as_slice());
    b
}

/// A new pack of `own`'s objects and `id` as `delta` against the entry at
/// `base`; then `own` is removed (the new pack holds all it held).
pub fn extend(own: &OwnPack, id: &ObjectId, delta: &[u8], base: u64) -> Result<PathBuf> {
    write_extended(own, delta, base)?.publish(id)
}

/// [`extend`] up to the new object's id: the pack written, not published.
pub fn write_extended(own: &OwnPack, delta: &[u8], base: u64) -> Result<PendingPack> {
    let body = &own.bytes[12..own.bytes.len() - 20];
    let at = 12 + body.len() as u64;
    let entry = delta_entry(delta, at, base)?;
    let entries = own.index.entries.clone();
    let count = u32::try_from(entries.len() + 1).map_err(|e| gerr("pack", e))?;
    let dir = own
        .pack_path
        .parent()
        .ok_or_else(|| Error::invalid("a pack path without a folder"))?;
    let mut pending = write_pack(dir, count, &[body, &entry], entries, (crc32(&entry), at))?;
    pending.replaces = Some(own.idx_path.clone());
    Ok(pending)
}

// ---------------------------------------------------------------------------
// Cached bases
// ---------------------------------------------------------------------------

/// What identifies one state of a file: size, mtime ns, ctime ns, inode.
type StatKey = (u64, i64, i64, u64);

fn stat_of(m: &std::fs::Metadata) -> StatKey {
    use std::os::unix::fs::MetadataExt;
    (
        m.len(),
        m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        m.ctime() * 1_000_000_000 + m.ctime_nsec(),
        m.ino(),
    )
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
struct Cached {
    id: String,
    stat: StatKey,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct CacheState {
    root: Option<Cached>,
    prev: Option<Cached>,
}

/// The copies of the root and of the last committed version, kept for the
/// next delta, in `dir` (`.beads/.cache`).
pub struct Bases {
    dir: PathBuf,
    state: CacheState,
}

const STATE: &str = "pack-bases.v1";
const ROOT_FILE: &str = "pack-root.v1";
const PREV_FILE: &str = "pack-prev.v1";

impl Bases {
    pub fn load(dir: &Path) -> Bases {
        let state = std::fs::read(dir.join(STATE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Bases {
            dir: dir.to_path_buf(),
            state,
        }
    }

    pub fn root_id(&self) -> Option<ObjectId> {
        let c = self.state.root.as_ref()?;
        ObjectId::from_hex(c.id.as_bytes()).ok()
    }

    pub fn prev_id(&self) -> Option<ObjectId> {
        let c = self.state.prev.as_ref()?;
        ObjectId::from_hex(c.id.as_bytes()).ok()
    }

    fn read(&self, file: &str, c: &Option<Cached>, id: &ObjectId) -> Option<Vec<u8>> {
        use std::io::Read as _;
        let c = c.as_ref()?;
        if id.to_hex() != c.id {
            return None;
        }
        let mut f = std::fs::File::open(self.dir.join(file)).ok()?;
        if stat_of(&f.metadata().ok()?) != c.stat {
            return None;
        }
        let mut out = Vec::with_capacity(c.stat.0 as usize);
        f.read_to_end(&mut out).ok()?;
        (out.len() as u64 == c.stat.0).then_some(out)
    }

    /// The root's bytes, if the copy is the one recorded for `id`.
    pub fn root(&self, id: &ObjectId) -> Option<Vec<u8>> {
        self.read(ROOT_FILE, &self.state.root, id)
    }

    /// The last committed version's bytes, if the copy is the one for `id`.
    pub fn prev(&self, id: &ObjectId) -> Option<Vec<u8>> {
        self.read(PREV_FILE, &self.state.prev, id)
    }

    /// Record `bytes` (of `id`) as the last committed version, and as the
    /// root too when `root`. Failures only cost a slower next commit.
    pub fn record(&mut self, id: &ObjectId, bytes: &[u8], root: bool) {
        let _ = std::fs::create_dir_all(&self.dir);
        let hex = id.to_hex().to_string();
        let mut files = vec![(PREV_FILE, false)];
        if root {
            files.push((ROOT_FILE, true));
        }
        for (name, is_root) in files {
            let slot = if is_root {
                &mut self.state.root
            } else {
                &mut self.state.prev
            };
            *slot = None;
            let Ok(tmp) = write_temp(&self.dir, ".pack-base.tmp-", &[bytes], false) else {
                continue;
            };
            let path = self.dir.join(name);
            // Removed first: ext4 flushes a file renamed over another one.
            let _ = std::fs::remove_file(&path);
            if std::fs::rename(&tmp, &path).is_err() {
                let _ = std::fs::remove_file(&tmp);
                continue;
            }
            if let Ok(m) = std::fs::metadata(&path) {
                *slot = Some(Cached {
                    id: hex.clone(),
                    stat: stat_of(&m),
                });
            }
        }
        self.save();
    }

    fn save(&self) {
        let Ok(json) = serde_json::to_vec(&self.state) else {
            return;
        };
        if let Ok(tmp) = write_temp(&self.dir, ".pack-bases.tmp-", &[&json], false)
            && std::fs::rename(&tmp, self.dir.join(STATE)).is_err()
        {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

// ---------------------------------------------------------------------------
// The write
// ---------------------------------------------------------------------------

/// How a blob was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// The object was there already.
    Existing,
    /// A loose object (small, or a repository bd does not pack in).
    Loose,
    /// A delta in bd's pack, `depth` deltas from its root.
    Delta { depth: usize },
    /// The root of a new pack.
    Root,
}

/// Whether bd writes packs into this repository at all.
fn packable(repo: &gix::Repository, objects: &Path) -> bool {
    repo.object_hash() == gix::hash::Kind::Sha1
        && !objects.join("pack/multi-pack-index").exists()
        && objects.join("pack").is_dir()
}

/// The tracker's blob writer. [`Writer::prepare`] reads what the delta
/// needs from the last commit (bd's bases, the pack holding them) and needs
/// no repository handle, so a commit runs it on another thread while it
/// reads the working tree; [`Writer::plan`] makes the delta and writes the
/// pack (unpublished) while the new version's id is hashed;
/// [`Writer::write_blob`] checks all of it against HEAD before use, and
/// [`Writer::record`] keeps the new version for the next commit.
pub struct Writer {
    objects: PathBuf,
    bases: Bases,
    own: Option<OwnPack>,
    /// The base the next delta is made against (the last version, or the
    /// root once the last version's chain is [`MAX_DEPTH`] long), read ahead.
    base: Option<(ObjectId, Vec<u8>)>,
    planned: Option<Planned>,
    /// What [`Writer::record`] keeps: the id written and whether it is a root.
    to_record: Option<(ObjectId, bool)>,
}

/// A delta made and its pack written before the new version's id is known,
/// on the belief that HEAD holds bd's last version `prev`.
struct Planned {
    prev: ObjectId,
    depth: usize,
    pack: PendingPack,
}

impl Writer {
    /// `objects` is the repository's objects folder, `cache` where the bases
    /// are kept (`.beads/.cache`).
    pub fn prepare(objects: &Path, cache: &Path) -> Writer {
        let bases = Bases::load(cache);
        let max_pack = max_pack(bases.state.prev.as_ref().map_or(0, |c| c.stat.0 as usize));
        let own = [bases.prev_id(), bases.root_id()]
            .into_iter()
            .flatten()
            .find_map(|id| find_own(objects, &id, max_pack));
        // Only the base the delta will be made against is read.
        let base = match own
            .as_ref()
            .and_then(|o| Some((o, Self::base_id(o, &bases)?)))
        {
            Some((_, (id, false))) => bases.prev(&id).map(|b| (id, b)),
            Some((_, (id, true))) => bases.root(&id).map(|b| (id, b)),
            None => None,
        };
        Writer {
            objects: objects.to_path_buf(),
            bases,
            own,
            base,
            planned: None,
            to_record: None,
        }
    }

    /// Which version the next delta in `own` is made against, if HEAD
    /// holds bd's last version: that version while its chain is short
    /// enough, else the root (`true`).
    fn base_id(own: &OwnPack, bases: &Bases) -> Option<(ObjectId, bool)> {
        if let Some(p) = bases.prev_id()
            && let Some(e) = own.index.find(p.as_slice())
            && own.depth(e.offset)?.0 < MAX_DEPTH
        {
            return Some((p, false));
        }
        let r = bases.root_id()?;
        let e = own.index.find(r.as_slice())?;
        (own.depth(e.offset)?.0 == 0).then_some((r, true))
    }

    /// Make the delta of `bytes` (what git will store for the tracker) and
    /// write its pack, unpublished, for [`Writer::write_blob`] to publish if
    /// HEAD holds the version this was made from. Nothing is made when the
    /// bytes are the base's or nothing fits; failures only cost the time.
    pub fn plan(&mut self, bytes: &[u8]) {
        let (Some(own), Some((base_id, base)), Some(prev)) =
            (&self.own, &self.base, self.bases.prev_id())
        else {
            return;
        };
        if bytes.len() < MIN_SIZE || base.as_slice() == bytes {
            return;
        }
        let Some(e) = own.index.find(base_id.as_slice()).copied() else {
            return;
        };
        let Some((depth, _)) = own.depth(e.offset) else {
            return;
        };
        let from_root = *base_id != prev;
        let d = delta::encode(base, bytes);
        let fits = if from_root {
            small_from_root(&d, bytes.len())
        } else {
            small(&d, bytes.len())
        };
        if !fits || !delta::produces(base, &d, bytes) {
            return;
        }
        if let Ok(pack) = write_extended(own, &d, e.offset) {
            self.planned = Some(Planned {
                prev,
                depth: depth + 1,
                pack,
            });
        }
    }

    /// Store the blob `bytes` (whose id is `id`); `prev` is the blob the
    /// tracker held in HEAD.
    pub fn write_blob(
        &mut self,
        repo: &gix::Repository,
        bytes: &[u8],
        id: ObjectId,
        prev: Option<ObjectId>,
    ) -> Result<Stored> {
        let objects = repo.objects.store_ref().path().to_path_buf();
        let planned = self.planned.take().filter(|_| objects == self.objects);
        if objects != self.objects {
            self.objects = objects;
            self.own = None;
            self.base = None;
        }
        let packed = bytes.len() >= MIN_SIZE && packable(repo, &self.objects);
        if repo.has_object(id) {
            if packed {
                // A version seen before (a change undone): the next delta
                // is made against it.
                self.to_record = Some((id, false));
            }
            return Ok(Stored::Existing);
        }
        if !packed {
            return loose(repo, bytes, id);
        }
        let stored = match planned {
            // Made from the version HEAD holds, in the pack still there.
            Some(p)
                if Some(p.prev) == prev
                    && self.own.as_ref().is_some_and(|o| o.pack_path.exists()) =>
            {
                p.pack.publish(&id)?;
                Stored::Delta { depth: p.depth }
            }
            _ => match self.delta_write(repo, bytes, &id, prev) {
                Some(Ok(depth)) => Stored::Delta { depth },
                Some(Err(e)) => return Err(e),
                None => {
                    write_root(&self.objects, &id, bytes)?;
                    Stored::Root
                }
            },
        };
        self.to_record = Some((id, stored == Stored::Root));
        Ok(stored)
    }

    /// Keep `bytes` (what [`Writer::write_blob`] wrote) for the next
    /// commit's delta. Failures only cost a slower next commit.
    pub fn record(mut self, bytes: &[u8]) {
        if let Some((id, root)) = self.to_record.take() {
            self.bases.record(&id, bytes, root);
        }
    }

    /// The bytes of `id`, a base: read ahead, cached, or read from git.
    fn base_of(&mut self, repo: &gix::Repository, id: ObjectId, root: bool) -> Option<Vec<u8>> {
        match self.base.take() {
            Some((b, bytes)) if b == id => Some(bytes),
            other => {
                self.base = other;
                let cached = if root {
                    self.bases.root(&id)
                } else {
                    self.bases.prev(&id)
                };
                cached.or_else(|| read_blob(repo, id))
            }
        }
    }

    /// The delta write, when one fits: `None` when a new root is needed.
    fn delta_write(
        &mut self,
        repo: &gix::Repository,
        bytes: &[u8],
        id: &ObjectId,
        prev: Option<ObjectId>,
    ) -> Option<Result<usize>> {
        // The pack to extend: the one holding the previous version, else
        // the one holding bd's last root.
        let root = self.bases.root_id();
        let holds = |o: &OwnPack, id: Option<ObjectId>| {
            id.is_some_and(|i| o.index.find(i.as_slice()).is_some())
        };
        let max = max_pack(bytes.len());
        let own = match self.own.take() {
            Some(o) if holds(&o, prev) => o,
            prepared => match prev.and_then(|p| find_own(&self.objects, &p, max)) {
                Some(o) => o,
                None => match prepared {
                    Some(o) if holds(&o, root) => o,
                    _ => root.and_then(|r| find_own(&self.objects, &r, max))?,
                },
            },
        };
        // Against the previous version, while its chain is short enough.
        if let Some(p) = prev
            && let Some(e) = own.index.find(p.as_slice()).copied()
            && let Some((depth, _)) = own.depth(e.offset)
            && depth < MAX_DEPTH
            && let Some(base) = self.base_of(repo, p, false)
        {
            let d = delta::encode(&base, bytes);
            if small(&d, bytes.len()) && delta::produces(&base, &d, bytes) {
                return Some(extend(&own, id, &d, e.offset).map(|_| depth + 1));
            }
        }
        // Against the root of the pack.
        let root = root?;
        let e = own.index.find(root.as_slice())?;
        if own.depth(e.offset)?.0 != 0 {
            return None;
        }
        let base = self.base_of(repo, root, true)?;
        let d = delta::encode(&base, bytes);
        if small_from_root(&d, bytes.len()) && delta::produces(&base, &d, bytes) {
            return Some(extend(&own, id, &d, e.offset).map(|_| 1));
        }
        None
    }
}

/// The largest pack bd copies to extend, for a file of `len` bytes.
fn max_pack(len: usize) -> u64 {
    (len as u64).saturating_mul(2) + (64 << 20)
}

fn loose(repo: &gix::Repository, bytes: &[u8], id: ObjectId) -> Result<Stored> {
    use gix::objs::Write as _;
    repo.objects
        .write_buf_with_known_id(gix::objs::Kind::Blob, bytes, id)
        .map_err(|e| gerr("writing a blob", e))?;
    Ok(Stored::Loose)
}

/// Whether a delta against the previous version is worth it (else the
/// root is tried).
fn small(delta: &[u8], full: usize) -> bool {
    delta.len() <= full / 8
}

/// Whether a delta against the root is worth it rather than a new root
/// (one is written every [`MAX_DEPTH`] commits; a root costs about a
/// third of the file, compressed).
fn small_from_root(delta: &[u8], full: usize) -> bool {
    delta.len() <= full / 32
}

fn read_blob(repo: &gix::Repository, id: ObjectId) -> Option<Vec<u8>> {
    let b = repo.find_blob(id).ok()?;
    Some(b.data.clone())
}

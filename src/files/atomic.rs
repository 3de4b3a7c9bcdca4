//! Atomic replacement: write a temp file in the same folder, fsync it, rename
//! it over the target, fsync the folder. A kill at any moment leaves either the
//! old or the new file, never a torn one.
//!
//! The folder must be a real one (see [`crate::files`]), the temp file is
//! created with `O_EXCL | O_NOFOLLOW`, and a target that is a link is
//! refused rather than replaced.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, bytes, true)
}

/// Write a file the user named outside `.beads/` (`bd export -o PATH`), as
/// a shell redirection would: a regular file (or a link to one) is replaced
/// atomically at the link's target, so a failed write leaves it whole; a
/// device or a pipe is written through, never replaced by a file; a folder
/// or a link to nothing is refused.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<()> {
    write_output_with(path, |w| w.write_all(bytes))
}

/// [`write_output`] with the content produced by `fill` straight into the
/// file (a large export is never held in memory).
pub fn write_output_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a folder"),
        )),
        Ok(m) if m.is_file() => {
            let real = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
            write_streaming(&real, fill)
        }
        Ok(_) => std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
                fill(&mut w)?;
                w.flush()
            })
            .map_err(|e| Error::io(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(path).is_ok() {
                return Err(Error::io(
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "is a link to a file that does not exist",
                    ),
                ));
            }
            write_streaming(path, fill)
        }
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Like [`write`], without fsync: for derived caches that may be lost.
pub fn write_cache(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, bytes, false)
}

fn write_with(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    write_streaming_with(path, durable, |w| w.write_all(bytes))
}

/// Like [`write_cache`], the content given in parts (no copy to join them).
pub fn write_cache_parts(path: &Path, parts: &[&[u8]]) -> Result<()> {
    write_streaming_with(path, false, |w| {
        parts.iter().try_for_each(|p| w.write_all(p))
    })
}

/// Like [`write`], with the content produced by `fill` straight into the temp
/// file (large files are never held twice in memory).
pub fn write_streaming(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write_streaming_with(path, true, fill)
}

fn write_streaming_with(
    path: &Path,
    durable: bool,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    replace_with(path, durable, None, |f| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        fill(&mut w)?;
        w.flush()
    })
    .map(drop)
}

/// Like [`write_streaming`], with the temp file itself (no buffer in
/// between), so `fill` can splice ranges of another file into it with
/// `std::io::copy` (the kernel's `copy_file_range` on Linux: unchanged bytes
/// never pass through this process).
///
/// Returns the metadata of the file written, taken from its own handle after
/// the rename: a cache keyed by it describes these bytes even if another tool
/// replaced the path a moment later.
pub fn write_file(
    path: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<fs::Metadata> {
    replace_with(path, true, None, fill)
}

/// A temp file's path beside `path`: `.NAME.tmp-PID-NONCE` (the shape
/// [`sweep_temps`] and `bd doctor` know).
fn temp_beside(path: &Path) -> std::path::PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    dir.join(format!(".{name}.tmp-{}-{nonce}", std::process::id()))
}

/// The one replace: temp file in the same folder (or the `spare`, see
/// [`write_file_reusing`]), `fill`, fsync, rename, fsync the folder (the
/// syncs only when `durable`).
fn replace_with(
    path: &Path,
    durable: bool,
    spare: Option<&Path>,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<fs::Metadata> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let reused = spare.and_then(|s| open_spare(s, path));
    let tmp = match (&reused, spare) {
        (Some(_), Some(s)) => s.to_path_buf(),
        _ => temp_beside(path),
    };
    let result = (|| -> std::io::Result<fs::Metadata> {
        super::check_parents(path)?;
        // A link inside a confinement root is refused, not replaced (a path
        // the user chose, like an export file, may be one).
        if super::root_of(dir).is_some()
            && fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
        {
            return Err(super::symlink_error(path));
        }
        let mut f = match reused {
            Some(f) => f,
            None => super::create_new(&tmp)?,
        };
        fill(&mut f)?;
        if spare.is_some() {
            // A spare may be longer than what was written over it.
            use std::io::Seek as _;
            let len = f.stream_position()?;
            f.set_len(len)?;
        }
        if durable {
            f.sync_all()?;
        }
        // The file replaced now stays, as the next spare.
        let next = spare.map(spare_next).filter(|n| {
            let _ = super::remove_file(n);
            super::hard_link(path, n).is_ok()
        });
        fs::rename(&tmp, path)?;
        // From the handle, after the rename (which changes the ctime).
        let meta = f.metadata()?;
        drop(f);
        if durable {
            super::open_dir(dir)?.sync_all()?;
        }
        if let (Some(n), Some(s)) = (next, spare) {
            let _ = super::rename(n, s);
        }
        Ok(meta)
    })();
    result.map_err(|e| {
        let _ = super::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// [`write_file`] for a large file replaced again and again (the tracker):
/// the new content is written over a *spare*, the file this replaced last
/// time, kept under a second name (`spare`, a path in the same file system),
/// instead of into a new temp file; and the file replaced now becomes the
/// next spare. No blocks are allocated for the new file and none freed for
/// the old: on ext4 those were a fifth of a write at 100k issues (with the
/// `discard` mount option, freeing waits on the disk).
///
/// Atomic as [`write_file`]: the spare is filled, truncated to its length
/// and fsynced before it is renamed over `path`; until then `path` is
/// untouched, and a kill leaves the old file or the new one.
pub fn write_file_reusing(
    path: &Path,
    spare: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<fs::Metadata> {
    replace_with(path, true, Some(spare), fill)
}

/// The spare open for writing over, when it is a regular file with no other
/// name (so it can never be `path` itself, nor another workspace's file)
/// and not `path`'s inode; otherwise it is removed (a temp file is used).
fn open_spare(spare: &Path, path: &Path) -> Option<File> {
    use std::os::unix::fs::MetadataExt;
    let usable = fs::symlink_metadata(path).ok().and_then(|live| {
        let f = super::open_write_existing(spare).ok()?;
        let m = f.metadata().ok()?;
        (m.is_file() && m.nlink() == 1 && m.ino() != live.ino()).then_some(f)
    });
    if usable.is_none() {
        let _ = super::remove_file(spare);
    }
    usable
}

/// The name the replaced file has between its link and the rename that
/// makes it the spare.
fn spare_next(spare: &Path) -> std::path::PathBuf {
    spare.with_file_name(format!(
        "{}.next",
        spare.file_name().unwrap_or_default().to_string_lossy()
    ))
}

/// Remove temp files left by a killed writer (older than a minute).
pub fn sweep_temps(dir: &Path) {
    let Ok(rd) = super::read_dir(dir) else { return };
    let now = std::time::SystemTime::now();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".tmp-") {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|d| d.as_secs() > 60);
            if old {
                let _ = super::remove_file(e.path());
            }
        }
    }
}

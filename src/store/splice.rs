//! Rewriting a large JSONL file when a few lines change. The old lines come
//! from a [`Source`]: the bytes in memory, or the old file itself when a cache
//! already says where every line is. A [`Splicer`] writes the new file as runs
//! of old bytes and new lines; runs are copied with `std::io::copy` between
//! files, which Linux turns into `copy_file_range`, so unchanged bytes need
//! not pass through this process at all.

use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;

/// Where the old lines are.
pub enum Source {
    Bytes(Vec<u8>),
    /// The file as opened under the workspace lock (writers replace files by
    /// rename, so this handle keeps the state that was opened).
    File(File),
}

impl Source {
    /// The bytes of `span`.
    pub fn read(&self, span: Range<usize>) -> std::io::Result<Cow<'_, [u8]>> {
        match self {
            Source::Bytes(b) => b
                .get(span)
                .map(Cow::Borrowed)
                .ok_or_else(|| std::io::Error::other("span past the end of the file")),
            Source::File(f) => {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0u8; span.len()];
                f.read_exact_at(&mut buf, span.start as u64)?;
                Ok(Cow::Owned(buf))
            }
        }
    }
}

/// The tracker a lazy write replaced, kept in the cache folder as the file
/// the next one writes over (`files::atomic::write_file_reusing`); its
/// `.next` name exists only during a write.
pub const SPARE: &str = ".issues.jsonl.spare";

/// Whether a name in the cache folder is the spare (not a cache: no seal).
pub fn is_spare(name: &str) -> bool {
    name == SPARE || name.strip_prefix(SPARE) == Some(".next")
}

/// Writes a new file from old ranges and new bytes, in order.
pub struct Splicer<'a> {
    src: &'a Source,
    run: Option<(u64, u64)>,
}

impl<'a> Splicer<'a> {
    pub fn new(src: &'a Source) -> Splicer<'a> {
        Splicer { src, run: None }
    }

    /// Copy old bytes `a..b` (contiguous calls are copied as one range).
    pub fn old(&mut self, out: &mut File, a: u64, b: u64) -> std::io::Result<()> {
        self.run = match self.run {
            Some((ra, rb)) if rb == a => Some((ra, b)),
            _ => {
                self.flush(out)?;
                Some((a, b))
            }
        };
        Ok(())
    }

    /// Write new bytes.
    pub fn new_bytes(&mut self, out: &mut File, bytes: &[u8]) -> std::io::Result<()> {
        self.flush(out)?;
        out.write_all(bytes)
    }

    /// Copy what is pending; call once at the end.
    pub fn flush(&mut self, out: &mut File) -> std::io::Result<()> {
        let Some((a, b)) = self.run.take() else {
            return Ok(());
        };
        match self.src {
            Source::Bytes(bytes) => out.write_all(&bytes[a as usize..b as usize]),
            Source::File(f) => {
                let mut f: &File = f;
                f.seek(SeekFrom::Start(a))?;
                let n = std::io::copy(&mut f.take(b - a), out)?;
                if n == b - a {
                    Ok(())
                } else {
                    Err(std::io::Error::other("the file changed while being copied"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_ranges_and_new_bytes_make_the_new_file_from_either_source() {
        let t = tempfile::tempdir().unwrap();
        let old = t.path().join("old");
        std::fs::write(&old, b"aaa\nbbb\nccc\nddd\n").unwrap();
        for src in [
            Source::Bytes(std::fs::read(&old).unwrap()),
            Source::File(File::open(&old).unwrap()),
        ] {
            let new = t.path().join("new");
            let mut out = File::create(&new).unwrap();
            let mut s = Splicer::new(&src);
            s.old(&mut out, 0, 4).unwrap();
            s.old(&mut out, 4, 8).unwrap(); // joins the run
            s.new_bytes(&mut out, b"BBB\n").unwrap();
            s.old(&mut out, 12, 16).unwrap(); // skips ccc
            s.flush(&mut out).unwrap();
            drop(out);
            assert_eq!(std::fs::read(&new).unwrap(), b"aaa\nbbb\nBBB\nddd\n");
            assert_eq!(&*src.read(4..7).unwrap(), b"bbb");
            assert!(src.read(14..40).is_err());
        }
    }
}

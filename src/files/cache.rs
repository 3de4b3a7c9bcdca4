//! Caches under `.beads/.cache/` prove they are whole: every cache file
//! begins with `strand-cache <length>\n`, the length of the whole file in 20
//! digits, checked against the open file's size before anything in it is
//! believed. A file cut anywhere (after a header that still matches, say) or
//! grown is not the file that was written, and the reader rebuilds.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::Result;

const TAG: &str = "strand-cache ";
const WIDTH: usize = 20;
/// The length of the seal line.
pub const SEAL_LEN: usize = TAG.len() + WIDTH + 1;

/// The seal line for a body of `body_len` bytes.
pub fn seal(body_len: usize) -> String {
    format!("{TAG}{:0WIDTH$}\n", body_len + SEAL_LEN)
}

/// Write a sealed cache atomically (no fsync: a cache may be lost), its
/// folder created as a real one.
pub fn write(path: &Path, body: &[u8]) -> Result<()> {
    write_parts(path, &[body])
}

/// [`write`] with the body given in parts (no copy to join them).
pub fn write_parts(path: &Path, body: &[&[u8]]) -> Result<()> {
    if let Some(dir) = path.parent() {
        super::create_dir_all(dir).map_err(|e| crate::error::Error::io(dir, e))?;
    }
    let s = seal(body.iter().map(|p| p.len()).sum());
    let mut parts = Vec::with_capacity(body.len() + 1);
    parts.push(s.as_bytes());
    parts.extend_from_slice(body);
    super::atomic::write_cache_parts(path, &parts)
}

/// The cache file open after its seal, with the body's length, when the
/// seal is there and names the file's exact size; `None` otherwise.
pub fn open(path: &Path) -> Option<(File, usize)> {
    let mut f = super::open_read(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut head = [0u8; SEAL_LEN];
    f.read_exact(&mut head).ok()?;
    let head = std::str::from_utf8(&head).ok()?;
    let n: u64 = head.strip_prefix(TAG)?.strip_suffix('\n')?.parse().ok()?;
    (n == len).then_some(())?;
    f.seek(SeekFrom::Start(SEAL_LEN as u64)).ok()?;
    Some((f, (len as usize) - SEAL_LEN))
}

/// The whole body of a sealed cache; `None` when missing, cut or grown.
pub fn read(path: &Path) -> Option<Vec<u8>> {
    let (f, n) = open(path)?;
    let mut buf = Vec::with_capacity(n + 1);
    f.take(n as u64 + 1).read_to_end(&mut buf).ok()?;
    (buf.len() == n).then_some(buf)
}

pub fn read_string(path: &Path) -> Option<String> {
    String::from_utf8(read(path)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_cache_reads_back_only_whole() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join(".beads/.cache/x.v1");
        write(&p, b"header\nrow1\nrow2\n").unwrap();
        assert_eq!(read(&p).unwrap(), b"header\nrow1\nrow2\n");
        let full = std::fs::read(&p).unwrap();
        // Cut anywhere: after the header, inside the seal, to nothing.
        for cut in [full.len() - 1, SEAL_LEN + 7, SEAL_LEN, 5, 0] {
            std::fs::write(&p, &full[..cut]).unwrap();
            assert_eq!(read(&p), None, "cut at {cut}");
        }
        let mut grown = full.clone();
        grown.extend_from_slice(b"row3\n");
        std::fs::write(&p, &grown).unwrap();
        assert_eq!(read(&p), None);
        // An unsealed file of the old format is not believed either.
        std::fs::write(&p, b"header\nrow1\n").unwrap();
        assert_eq!(read(&p), None);
        write(&p, b"").unwrap();
        assert_eq!(read(&p).unwrap(), b"");
    }
}

//! Content-addressed folders: a body stored once under the hex SHA-256 of
//! its bytes and nothing else, so a name a sender gave never becomes a path.
//! Serves `.beads/attachments/` (store) and the project home's live and
//! spooled attachments (home).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::atomic;
use crate::error::{Error, Result};

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A stored name must be 64 lower-case hex digits.
pub fn valid_sha(sha: &str) -> bool {
    sha.len() == 64
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Where the body with this hash lives under `dir`; `None` for a bad hash.
pub fn path_in(dir: &Path, sha: &str) -> Option<PathBuf> {
    valid_sha(sha).then(|| dir.join(sha))
}

/// Store `bytes` under `dir` (atomically; a body already there is kept) and
/// return its hash.
pub fn put_in(dir: &Path, bytes: &[u8]) -> Result<String> {
    let sha = sha256_hex(bytes);
    let path = dir.join(&sha);
    // A body already there is kept only if it is whole (its hash checks).
    if crate::files::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64)
        && crate::files::read(&path).is_ok_and(|b| sha256_hex(&b) == sha)
    {
        return Ok(sha);
    }
    crate::files::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    atomic::write(&path, bytes)?;
    Ok(sha)
}

/// Read a stored body and check it still has its hash.
pub fn get_in(dir: &Path, sha: &str) -> Result<Vec<u8>> {
    let path = path_in(dir, sha)
        .ok_or_else(|| Error::invalid(format!("{sha:?} is not a SHA-256 attachment hash")))?;
    let bytes = crate::files::read(&path).map_err(|e| Error::io(&path, e))?;
    if sha256_hex(&bytes) != sha {
        return Err(Error::invalid(format!(
            "{}: the content does not match its hash",
            path.display()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_content_once() {
        let t = tempfile::tempdir().unwrap();
        let a = put_in(t.path(), b"hello").unwrap();
        assert_eq!(
            a,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(put_in(t.path(), b"hello").unwrap(), a);
        assert_eq!(get_in(t.path(), &a).unwrap(), b"hello");
        assert!(path_in(t.path(), "../etc/passwd").is_none());
        std::fs::write(t.path().join(&a), b"tampered").unwrap();
        assert!(get_in(t.path(), &a).is_err());
        // A damaged body of the same length is replaced by the next put.
        std::fs::write(t.path().join(&a), b"HELLO").unwrap();
        assert_eq!(put_in(t.path(), b"hello").unwrap(), a);
        assert_eq!(get_in(t.path(), &a).unwrap(), b"hello");
    }
}

//! `.beads/attachments/<sha256>`: attachment bodies, stored once by content
//! (the content-addressed folder rules are `files::content`'s).

use std::path::{Path, PathBuf};

pub use crate::files::content::{get_in, path_in, put_in, sha256_hex, valid_sha};

pub fn dir(beads: &Path) -> PathBuf {
    beads.join("attachments")
}

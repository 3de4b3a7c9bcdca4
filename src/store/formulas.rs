//! Formula files (issue 16): `<name>.formula.toml` in `.beads/formulas/`
//! (committed, reviewed like code) and in the user's folder
//! (`~/.beads/formulas/`, classic's place). The project's shadow the
//! user's. Read without following a symlink (`files`).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const SUFFIX: &str = ".formula.toml";

/// Where a formula file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Project,
    User,
}

/// One formula file.
#[derive(Debug, Clone)]
pub struct FormulaFile {
    /// The name the file gives (`release` for `release.formula.toml`).
    pub name: String,
    pub origin: Origin,
    pub path: PathBuf,
}

/// The folders searched, in order: the workspace's, then the user's.
pub fn dirs(beads: &Path, user: Option<&Path>) -> Vec<(Origin, PathBuf)> {
    let mut d = vec![(Origin::Project, beads.join("formulas"))];
    if let Some(u) = user {
        d.push((Origin::User, u.to_path_buf()));
    }
    d
}

/// A formula name: letters, digits, `-`, `_`, `.`, not starting with `.`
/// (so never a path: no `/`, no `..`).
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "formula name {name:?} is not a name: use letters, digits, '-', '_' and '.', no path"
        )))
    }
}

/// Every formula file, the project's first; a name the project has hides
/// the user's file of that name.
pub fn list(dirs: &[(Origin, PathBuf)]) -> Result<Vec<FormulaFile>> {
    let mut out: Vec<FormulaFile> = Vec::new();
    for (origin, dir) in dirs {
        let entries = match crate::files::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(dir, e)),
        };
        let mut here = Vec::new();
        for e in entries {
            let e = e.map_err(|e| Error::io(dir, e))?;
            let file = e.file_name();
            let Some(file) = file.to_str() else { continue };
            let Some(name) = file.strip_suffix(SUFFIX) else {
                continue;
            };
            if check_name(name).is_err() || out.iter().any(|f| f.name == name) {
                continue;
            }
            // Only regular files (a FIFO would hang the read; a folder or
            // a link is not a formula): others are listed, and refused when read.
            here.push(FormulaFile {
                name: name.to_string(),
                origin: *origin,
                path: dir.join(file),
            });
        }
        here.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(here);
    }
    Ok(out)
}

/// The file of formula `name`, the project's first.
pub fn find(dirs: &[(Origin, PathBuf)], name: &str) -> Result<Option<FormulaFile>> {
    check_name(name)?;
    for (origin, dir) in dirs {
        let path = dir.join(format!("{name}{SUFFIX}"));
        match crate::files::metadata(&path) {
            Ok(m) if m.is_file() => {
                return Ok(Some(FormulaFile {
                    name: name.to_string(),
                    origin: *origin,
                    path,
                }));
            }
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::io(&path, crate::files::symlink_error(&path)));
            }
            // A FIFO, a socket, a folder: found, and refused when read.
            Ok(_) => {
                return Ok(Some(FormulaFile {
                    name: name.to_string(),
                    origin: *origin,
                    path,
                }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    Ok(None)
}

/// A formula file's text: a regular file (never a FIFO, a folder or a
/// link), at most 1 MiB, UTF-8.
pub fn read(f: &FormulaFile) -> Result<String> {
    let m = crate::files::metadata(&f.path).map_err(|e| Error::io(&f.path, e))?;
    if m.file_type().is_symlink() {
        return Err(Error::io(&f.path, crate::files::symlink_error(&f.path)));
    }
    if !m.is_file() {
        return Err(Error::invalid(format!(
            "{}: not a regular file",
            f.path.display()
        )));
    }
    if m.len() > 1 << 20 {
        return Err(Error::invalid(format!(
            "{}: {} bytes, more than a formula may hold (1 MiB)",
            f.path.display(),
            m.len()
        )));
    }
    let bytes = crate::files::read(&f.path).map_err(|e| Error::io(&f.path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let text = &e.as_bytes()[..at];
        let line = text.iter().filter(|&&b| b == b'\n').count() + 1;
        Error::invalid(format!("{}:{line}: not UTF-8 text", f.path.display()))
    })
}

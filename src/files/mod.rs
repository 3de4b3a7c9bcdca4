//! File access below `store` and `home`: every path under a workspace's
//! `.beads/` or a project home is opened without following symlinks.
//!
//! The rule (docs/DESIGN.md, "Files: no symlinks"): a path's *confinement
//! root* is its nearest ancestor named `.beads` (a workspace) or `projects`
//! (the project homes under `$BD_HOME`). Every folder from the path's parent
//! up to and including that root must be a real folder (`symlink_metadata`),
//! and the last component is opened with `O_NOFOLLOW`. Above the root nothing
//! is checked: the worktree root is canonical already, and `$BD_HOME` itself
//! is the user's choice and may be a link. A path with `..` in it after its
//! root is refused. A refusal is an `io::Error` carrying [`SymlinkFound`],
//! which [`crate::error::Error::io`] turns into `Error::Symlink`.

pub mod atomic;
pub mod cache;
pub mod content;
pub mod lock;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// Percent-encode every byte outside `[a-z0-9._-]` (upper case included), so
/// names are injective path components, safe on case-insensitive file systems.
/// `.` and `..` alone are encoded too: they are never folders here.
pub fn escape(name: &str) -> String {
    if name == "." || name == ".." {
        return name.bytes().map(|b| format!("%{b:02X}")).collect();
    }
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The name [`escape`] made `s` from; `None` when `s` is not such a name.
pub fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    (escape(&name) == s).then_some(name)
}

/// The payload of the `io::Error` a refused path gives: the link found.
#[derive(Debug)]
pub struct SymlinkFound(pub PathBuf);

impl std::fmt::Display for SymlinkFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is a symbolic link", self.0.display())
    }
}

impl std::error::Error for SymlinkFound {}

/// The error for a link found at `p` (or a path leaving its root).
pub fn symlink_error(p: &Path) -> io::Error {
    io::Error::other(SymlinkFound(p.to_path_buf()))
}

/// The link an error names: ours, or `ELOOP` from `O_NOFOLLOW` at `path`.
pub fn symlink_of(e: &io::Error, path: &Path) -> Option<PathBuf> {
    if let Some(s) = e.get_ref().and_then(|i| i.downcast_ref::<SymlinkFound>()) {
        return Some(s.0.clone());
    }
    (e.raw_os_error() == Some(libc::ELOOP)).then(|| path.to_path_buf())
}

/// The nearest ancestor of `p` (itself included) that is a confinement root.
pub fn root_of(p: &Path) -> Option<&Path> {
    p.ancestors().find(|a| {
        a.file_name()
            .is_some_and(|n| n == ".beads" || n == "projects")
    })
}

/// Whether `p` stays under `root` lexically (no `..`, no other prefix).
pub fn contained(root: &Path, p: &Path) -> bool {
    p.starts_with(root)
        && !p
            .strip_prefix(root)
            .map(|rest| {
                rest.components()
                    .any(|c| !matches!(c, Component::Normal(_)))
            })
            .unwrap_or(true)
}

/// Every folder from `p`'s parent up to its confinement root is a real
/// folder (missing ones are fine: opening below them fails by itself).
pub fn check_parents(p: &Path) -> io::Result<()> {
    let Some(parent) = p.parent() else {
        return Ok(());
    };
    let Some(root) = root_of(parent) else {
        return Ok(());
    };
    if !contained(root, p) {
        return Err(symlink_error(p));
    }
    for a in parent.ancestors() {
        match fs::symlink_metadata(a) {
            Ok(m) if m.file_type().is_symlink() => return Err(symlink_error(a)),
            Ok(m) if !m.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{} is not a folder", a.display()),
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if a == root {
            break;
        }
    }
    Ok(())
}

/// Where `root/rel` really is, for a file written in a folder the user
/// owns that is no confinement root (the project's own files, the home
/// folder): `root` itself may be a link (the user's choice), and a link
/// below it is followed only while it leads to a place inside `root` (a
/// `CLAUDE.md` linked to `AGENTS.md`); a link leading out, or to nothing,
/// is refused with its path, as is a `rel` that is not a plain relative
/// path. Missing parts are taken as they are; a missing `root` gives
/// `root/rel`.
pub fn resolve_inside(root: &Path, rel: &Path) -> io::Result<PathBuf> {
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(symlink_error(&root.join(rel)));
    }
    let real_root = match fs::canonicalize(root) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(root.join(rel)),
        Err(e) => return Err(e),
    };
    let mut at = real_root.clone();
    let mut parts = rel.components();
    while let Some(c) = parts.next() {
        let next = at.join(c);
        match fs::symlink_metadata(&next) {
            Ok(m) if m.file_type().is_symlink() => match fs::canonicalize(&next) {
                Ok(real) if real.starts_with(&real_root) => at = real,
                _ => return Err(symlink_error(&next)),
            },
            Ok(_) => at = next,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                at = next;
                at.extend(parts);
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(at)
}

fn nofollow(o: &mut OpenOptions) -> &mut OpenOptions {
    o.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
}

/// Open an existing file for reading.
pub fn open_read(p: impl AsRef<Path>) -> io::Result<File> {
    let p = p.as_ref();
    check_parents(p)?;
    nofollow(OpenOptions::new().read(true)).open(p)
}

/// Open (creating it when missing) a file for reading and writing, never
/// truncating it.
pub fn open_rw_create(p: impl AsRef<Path>) -> io::Result<File> {
    let p = p.as_ref();
    check_parents(p)?;
    nofollow(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false),
    )
    .open(p)
}

/// Set an existing file's modification time to now, its bytes untouched
/// (a link is not followed).
pub fn touch(p: impl AsRef<Path>) -> io::Result<()> {
    let p = p.as_ref();
    check_parents(p)?;
    let f = nofollow(OpenOptions::new().write(true)).open(p)?;
    f.set_modified(std::time::SystemTime::now())
}

/// Create a file that must not exist yet (`O_EXCL`), for writing.
pub fn create_new(p: impl AsRef<Path>) -> io::Result<File> {
    let p = p.as_ref();
    check_parents(p)?;
    nofollow(OpenOptions::new().write(true).create_new(true)).open(p)
}

/// Open an existing file for writing in place (no create, no truncate), never
/// through a link.
pub fn open_write_existing(p: impl AsRef<Path>) -> io::Result<File> {
    let p = p.as_ref();
    check_parents(p)?;
    nofollow(OpenOptions::new().write(true)).open(p)
}

/// A second name for a file (a hard link); a link at `from` is linked
/// itself, never followed.
pub fn hard_link(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    check_parents(from)?;
    check_parents(to)?;
    fs::hard_link(from, to)
}

/// Open a file for appending, creating it when missing.
pub fn open_append(p: impl AsRef<Path>) -> io::Result<File> {
    let p = p.as_ref();
    check_parents(p)?;
    nofollow(OpenOptions::new().append(true).create(true)).open(p)
}

/// A folder's handle (for fsync), refusing a link.
pub fn open_dir(p: impl AsRef<Path>) -> io::Result<File> {
    let p = p.as_ref();
    check_parents(p)?;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_DIRECTORY)
        .open(p)
}

pub fn read(p: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let p = p.as_ref();
    let mut f = open_read(p)?;
    let mut buf = Vec::with_capacity(f.metadata().map_or(0, |m| m.len() as usize) + 1);
    f.read_to_end(&mut buf)?;
    Ok(buf)
}

pub fn read_to_string(p: impl AsRef<Path>) -> io::Result<String> {
    let p = p.as_ref();
    String::from_utf8(read(p)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Write a whole file in place (not atomic: for marks and tests; use
/// [`atomic`] for content).
pub fn write(p: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    let p = p.as_ref();
    use std::io::Write;
    check_parents(p)?;
    let mut f = nofollow(OpenOptions::new().write(true).create(true).truncate(true)).open(p)?;
    f.write_all(bytes.as_ref())
}

/// `symlink_metadata` after checking the folders above.
pub fn metadata(p: impl AsRef<Path>) -> io::Result<fs::Metadata> {
    let p = p.as_ref();
    check_parents(p)?;
    fs::symlink_metadata(p)
}

/// Whether `p` is a real folder (not a link to one).
pub fn is_real_dir(p: impl AsRef<Path>) -> bool {
    let p = p.as_ref();
    check_parents(p).is_ok() && fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}

/// Remove a file (a link is removed itself, never its target).
pub fn remove_file(p: impl AsRef<Path>) -> io::Result<()> {
    let p = p.as_ref();
    check_parents(p)?;
    fs::remove_file(p)
}

pub fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    check_parents(from)?;
    check_parents(to)?;
    fs::rename(from, to)
}

/// `create_dir_all` that refuses a link on the way: every folder at or
/// below the confinement root must be real; above it, any folder will do.
pub fn create_dir_all(p: impl AsRef<Path>) -> io::Result<()> {
    let p = p.as_ref();
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => return check_parents(p),
        Ok(m) if m.file_type().is_symlink() => {
            return if root_of(p).is_some() {
                Err(symlink_error(p))
            } else if fs::metadata(p)?.is_dir() {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{} is not a folder", p.display()),
                ))
            };
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a folder", p.display()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(parent) = p.parent().filter(|q| !q.as_os_str().is_empty()) {
        create_dir_all(parent)?;
    }
    match fs::create_dir(p) {
        Ok(()) => Ok(()),
        // Created by another process meanwhile: it must be a real folder.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if fs::symlink_metadata(p)?.is_dir() {
                Ok(())
            } else {
                Err(symlink_error(p))
            }
        }
        Err(e) => Err(e),
    }
}

/// The entries of a real folder, links left out (they are `doctor`'s to
/// report). Each with its file type, as read without following.
pub fn read_dir(p: impl AsRef<Path>) -> io::Result<impl Iterator<Item = io::Result<fs::DirEntry>>> {
    let p = p.as_ref();
    check_parents(p)?;
    if fs::symlink_metadata(p)?.file_type().is_symlink() {
        return Err(symlink_error(p));
    }
    Ok(fs::read_dir(p)?.filter(|e| {
        e.as_ref()
            .map_or(true, |e| e.file_type().is_ok_and(|t| !t.is_symlink()))
    }))
}

/// Every link under `dir` (itself included), depth first, never entering
/// one: what `doctor` reports.
pub fn symlinks_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        match fs::symlink_metadata(&d) {
            Ok(m) if m.file_type().is_symlink() => {
                out.push(d);
                continue;
            }
            Ok(m) if m.is_dir() => {}
            _ => continue,
        }
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_symlink() => out.push(e.path()),
                Ok(t) if t.is_dir() => stack.push(e.path()),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// A hash of the size and modification time of each path (a folder: of
/// itself and each entry in it), read without following links: what a
/// watcher compares to notice a change (`bd ui`).
pub fn fingerprint(paths: &[PathBuf]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let one = |p: &Path, h: &mut std::collections::hash_map::DefaultHasher| {
        if let Ok(m) = metadata(p) {
            p.hash(h);
            m.len().hash(h);
            m.modified().ok().hash(h);
        }
    };
    for p in paths {
        one(p, &mut h);
        if is_real_dir(p)
            && let Ok(rd) = read_dir(p)
        {
            let mut names: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            names.sort();
            for n in names.iter().take(10_000) {
                one(n, &mut h);
            }
        }
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let beads = t.path().join("ws/.beads");
        fs::create_dir_all(&beads).unwrap();
        let victim = t.path().join("victim");
        fs::create_dir_all(&victim).unwrap();
        fs::write(victim.join("secret"), b"s3cret").unwrap();
        (t, beads, victim)
    }

    fn is_symlink_err(e: &io::Error) -> bool {
        symlink_of(e, Path::new("x")).is_some()
    }

    #[test]
    fn a_linked_file_is_neither_read_nor_written() {
        let (_t, beads, victim) = setup();
        let link = beads.join("issues.jsonl");
        symlink(victim.join("secret"), &link).unwrap();
        assert!(is_symlink_err(&read(&link).unwrap_err()));
        assert!(is_symlink_err(&open_rw_create(&link).unwrap_err()));
        assert!(is_symlink_err(&open_append(&link).unwrap_err()));
        assert!(is_symlink_err(&write(&link, b"x").unwrap_err()));
        assert!(create_new(&link).is_err());
        assert_eq!(fs::read(victim.join("secret")).unwrap(), b"s3cret");
    }

    #[test]
    fn a_refusal_becomes_the_typed_error_naming_the_link() {
        let (_t, beads, victim) = setup();
        let link = beads.join("config.toml");
        symlink(victim.join("secret"), &link).unwrap();
        let e = crate::error::Error::io(&link, read(&link).unwrap_err());
        assert!(matches!(&e, crate::error::Error::Symlink { path } if *path == link));
        assert_eq!(e.exit_code(), 1);
        assert!(!e.to_string().contains('\n'));
        symlink(&victim, beads.join("hooks")).unwrap();
        let inside = beads.join("hooks/a.json");
        let e = crate::error::Error::io(&inside, read(&inside).unwrap_err());
        assert!(
            matches!(&e, crate::error::Error::Symlink { path } if *path == beads.join("hooks"))
        );
    }

    #[test]
    fn resolve_inside_follows_links_that_stay_and_refuses_the_others() {
        let t = tempfile::tempdir().unwrap();
        let (proj, out) = (t.path().join("proj"), t.path().join("out"));
        fs::create_dir_all(proj.join("docs")).unwrap();
        fs::create_dir_all(&out).unwrap();
        fs::write(proj.join("AGENTS.md"), "a").unwrap();
        symlink("AGENTS.md", proj.join("CLAUDE.md")).unwrap();
        symlink(&out, proj.join(".claude")).unwrap();
        symlink(out.join("x.md"), proj.join("GEMINI.md")).unwrap();
        symlink("docs", proj.join("d")).unwrap();
        let real = fs::canonicalize(&proj).unwrap();
        let r = |rel: &str| resolve_inside(&proj, Path::new(rel));
        assert_eq!(r("CLAUDE.md").unwrap(), real.join("AGENTS.md"));
        assert_eq!(r("d/new/x.md").unwrap(), real.join("docs/new/x.md"));
        assert_eq!(r("new/x.json").unwrap(), real.join("new/x.json"));
        for (rel, link) in [
            (".claude/settings.json", ".claude"),
            ("GEMINI.md", "GEMINI.md"),
        ] {
            let e = r(rel).unwrap_err();
            assert_eq!(symlink_of(&e, Path::new("x")), Some(real.join(link)));
        }
        assert!(r("../out/x").is_err());
        assert!(r("/etc/passwd").is_err());
        // The root itself may be a link, and a missing root is no error.
        symlink(&proj, t.path().join("via")).unwrap();
        let via = resolve_inside(&t.path().join("via"), Path::new("CLAUDE.md"));
        assert_eq!(via.unwrap(), real.join("AGENTS.md"));
        let none = t.path().join("none");
        assert_eq!(
            resolve_inside(&none, Path::new("a")).unwrap(),
            none.join("a")
        );
    }

    #[test]
    fn a_linked_folder_is_not_entered() {
        let (_t, beads, victim) = setup();
        symlink(&victim, beads.join(".cache")).unwrap();
        let inside = beads.join(".cache/secret");
        let e = read(&inside).unwrap_err();
        assert_eq!(symlink_of(&e, &inside), Some(beads.join(".cache")));
        assert!(write(beads.join(".cache/new"), b"x").is_err());
        assert!(create_dir_all(beads.join(".cache/sub")).is_err());
        assert!(read_dir(&beads.join(".cache")).is_err());
        assert!(remove_file(&inside).is_err());
        assert!(!victim.join("new").exists() && !victim.join("sub").exists());
        assert!(victim.join("secret").exists());
        assert!(!is_real_dir(beads.join(".cache")));
    }

    #[test]
    fn a_linked_beads_is_refused_but_a_linked_home_base_is_not() {
        let (t, _beads, victim) = setup();
        let ws2 = t.path().join("ws2");
        fs::create_dir_all(&ws2).unwrap();
        symlink(&victim, ws2.join(".beads")).unwrap();
        assert!(read(ws2.join(".beads/secret")).is_err());
        assert!(create_dir_all(ws2.join(".beads")).is_err());
        // $BD_HOME may be a link; `projects` and below may not.
        let real_home = t.path().join("realhome");
        fs::create_dir_all(&real_home).unwrap();
        let home = t.path().join("home");
        symlink(&real_home, &home).unwrap();
        create_dir_all(home.join("projects/p/mail")).unwrap();
        write(home.join("projects/p/mail/a.json"), b"{}").unwrap();
        assert_eq!(read(home.join("projects/p/mail/a.json")).unwrap(), b"{}");
        symlink(&victim, home.join("projects/q")).unwrap();
        assert!(create_dir_all(home.join("projects/q/mail")).is_err());
        assert!(write(home.join("projects/q/x"), b"x").is_err());
    }

    #[test]
    fn read_dir_leaves_links_out_and_symlinks_under_finds_them() {
        let (_t, beads, victim) = setup();
        fs::create_dir_all(beads.join("hooks")).unwrap();
        fs::write(beads.join("hooks/a.json"), b"{}").unwrap();
        symlink(victim.join("secret"), beads.join("hooks/b.json")).unwrap();
        symlink(&victim, beads.join("quarantine")).unwrap();
        let names: Vec<_> = read_dir(&beads.join("hooks"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
        assert_eq!(
            symlinks_under(&beads),
            vec![beads.join("hooks/b.json"), beads.join("quarantine")]
        );
    }

    #[test]
    fn containment_is_lexical_and_strict() {
        let r = Path::new("/w/.beads");
        assert!(contained(r, Path::new("/w/.beads/a/b")));
        assert!(!contained(r, Path::new("/w/.beads/../x")));
        assert!(!contained(r, Path::new("/w/.beadsx/a")));
        assert!(!contained(r, Path::new("/w/x")));
        assert!(check_parents(Path::new("/w/.beads/../../etc/passwd")).is_err());
    }
}

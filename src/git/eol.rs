//! What git stores for a working-tree file: with `core.autocrlf = true` or
//! `input`, or a `text`/`eol` attribute, git turns CRLF into LF on the way in
//! (`git add`). bd writes blobs itself (gix, no filter pipeline), so it
//! applies the same conversion, and the pending-changes check hashes the same
//! bytes, agreeing with `git status`.
//!
//! Scope (docs/DESIGN.md): attributes are read from the root `.gitattributes`
//! and `.beads/.gitattributes` (the latter wins); `text`, `-text`, `binary`,
//! `text=auto` and `eol=…` are honoured; patterns are globs where `*` does not
//! cross `/`, matched against the basename when they hold no `/`. Text
//! detection for `auto` follows git: a NUL or a lone CR means binary. git's
//! exception for a file whose indexed blob already holds CRLF is not copied.

use std::borrow::Cow;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    /// Store as is.
    Off,
    /// Normalize CRLF to LF.
    On,
    /// Normalize when the content looks like text.
    Auto,
}

/// The conversion for the `.beads/` files of one repository.
#[derive(Debug, Clone)]
pub struct Filter {
    default: Text,
    /// (directory the attributes file is in, pattern, setting), in the
    /// order read: later lines win.
    rules: Vec<(String, String, Text)>,
}

impl Filter {
    /// The filter of the repository at `root` (`repo` gives the merged git
    /// config: system, global, local).
    pub fn load(repo: &gix::Repository, root: &Path) -> Filter {
        let autocrlf = repo
            .config_snapshot()
            .string("core.autocrlf")
            .map(|v| v.to_string().to_ascii_lowercase());
        let default = match autocrlf.as_deref() {
            Some("true" | "yes" | "on" | "1" | "input") => Text::Auto,
            _ => Text::Off,
        };
        let mut rules = Vec::new();
        for dir in ["", ".beads"] {
            let file = root.join(dir).join(".gitattributes");
            if let Ok(text) = std::fs::read_to_string(file) {
                rules.extend(parse(dir, &text));
            }
        }
        Filter { default, rules }
    }

    /// No conversion at all (a repository without autocrlf or attributes).
    pub fn none() -> Filter {
        Filter {
            default: Text::Off,
            rules: Vec::new(),
        }
    }

    fn mode(&self, rel: &str) -> Text {
        let mut mode = self.default;
        for (dir, pat, t) in &self.rules {
            let sub = if dir.is_empty() {
                Some(rel)
            } else {
                rel.strip_prefix(dir.as_str())
                    .and_then(|r| r.strip_prefix('/'))
            };
            if let Some(sub) = sub
                && matches(pat, sub)
            {
                mode = *t;
            }
        }
        mode
    }

    /// The bytes git would store for the file at `rel` (from the root) holding `bytes`.
    pub fn to_git<'a>(&self, rel: &str, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let convert = match self.mode(rel) {
            Text::Off => false,
            Text::On => true,
            Text::Auto => !looks_binary(bytes),
        };
        if convert && bytes.windows(2).any(|w| w == b"\r\n") {
            Cow::Owned(crlf_to_lf(bytes))
        } else {
            Cow::Borrowed(bytes)
        }
    }
}

fn parse(dir: &str, text: &str) -> Vec<(String, String, Text)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(pat) = words.next() else { continue };
        if pat.starts_with('#') {
            continue;
        }
        let mut t = None;
        for w in words {
            match w {
                "text" => t = Some(Text::On),
                "-text" | "binary" => t = Some(Text::Off),
                "text=auto" => t = Some(Text::Auto),
                w if w.starts_with("eol=") && t.is_none() => t = Some(Text::On),
                _ => {}
            }
        }
        if let Some(t) = t {
            out.push((dir.to_string(), pat.to_string(), t));
        }
    }
    out
}

/// Whether gitattributes pattern `pat` matches `path` (relative to the
/// attributes file's directory).
fn matches(pat: &str, path: &str) -> bool {
    let pat = pat.strip_prefix('/').unwrap_or(pat);
    if pat.contains('/') {
        glob(pat.as_bytes(), path.as_bytes())
    } else {
        let base = path.rsplit('/').next().unwrap_or(path);
        glob(pat.as_bytes(), base.as_bytes())
    }
}

/// `*` (not crossing `/`), `**` (crossing it) and `?`.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') if p.get(1) == Some(&b'*') => {
            let rest = p[2..].strip_prefix(b"/").unwrap_or(&p[2..]);
            (0..=s.len()).any(|i| glob(rest, &s[i..]))
        }
        Some(b'*') => {
            for i in 0..=s.len() {
                if glob(&p[1..], &s[i..]) {
                    return true;
                }
                if s.get(i) == Some(&b'/') {
                    break;
                }
            }
            false
        }
        Some(b'?') => !s.is_empty() && s[0] != b'/' && glob(&p[1..], &s[1..]),
        Some(c) => s.first() == Some(c) && glob(&p[1..], &s[1..]),
    }
}

/// git's `convert_is_binary`: a NUL byte or a CR not followed by LF.
fn looks_binary(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == 0 || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
}

fn crlf_to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(default: Text, attrs: &[(&str, &str)]) -> Filter {
        let mut rules = Vec::new();
        for (dir, text) in attrs {
            rules.extend(parse(dir, text));
        }
        Filter { default, rules }
    }

    #[test]
    fn autocrlf_normalizes_text_only() {
        let f = filter(Text::Auto, &[]);
        assert_eq!(&*f.to_git(".beads/.gitignore", b"a\r\nb\r\n"), b"a\nb\n");
        // A lone CR or a NUL makes it binary: stored as is.
        assert_eq!(&*f.to_git(".beads/x", b"a\rb\r\n"), b"a\rb\r\n");
        assert_eq!(&*f.to_git(".beads/x", b"a\0\r\n"), b"a\0\r\n");
        let off = filter(Text::Off, &[]);
        assert_eq!(&*off.to_git(".beads/.gitignore", b"a\r\n"), b"a\r\n");
    }

    #[test]
    fn attributes_override_and_nested_file_wins() {
        let f = filter(
            Text::Off,
            &[
                ("", "*.toml text\n.beads/*.jsonl -text\n"),
                (".beads", "*.jsonl text=auto\n"),
            ],
        );
        assert_eq!(&*f.to_git(".beads/config.toml", b"a\r\n"), b"a\n");
        assert_eq!(&*f.to_git(".beads/issues.jsonl", b"a\r\n"), b"a\n");
        let g = filter(Text::Auto, &[(".beads", "hooks/*.json binary\n")]);
        assert_eq!(&*g.to_git(".beads/hooks/a.json", b"a\r\n"), b"a\r\n");
        assert_eq!(&*g.to_git(".beads/hooks/x/a.json", b"a\r\n"), b"a\n");
    }

    #[test]
    fn globs() {
        assert!(matches("*.jsonl", "x/issues.jsonl"));
        assert!(matches("hooks/*.json", "hooks/a.json"));
        assert!(!matches("hooks/*.json", "hooks/b/a.json"));
        assert!(matches("**/*.json", "hooks/b/a.json"));
        assert!(matches("/config.toml", "config.toml"));
    }
}

//! The effective value of a git attribute for a path, resolved as git does
//! (`attr.c`), so `doctor` can tell whether git merges the tracker files
//! with strand's driver (docs/DESIGN.md, "Git hardening").
//!
//! Sources, from lowest to highest precedence: the built-in macro
//! `[attr]binary -diff -merge -text`, the global file (`core.attributesFile`,
//! else `$XDG_CONFIG_HOME/git/attributes` or `~/.config/git/attributes`),
//! the worktree's `.gitattributes` files from the root down to the path's
//! folder (deeper wins), then `$GIT_COMMON_DIR/info/attributes`. Within a
//! file a later line wins, within a line a later attribute. An attribute
//! set to true that names a macro expands it where nothing of higher
//! precedence decided. Macros (`[attr]name ...`) are defined only in the
//! global file, the root `.gitattributes` and `info/attributes`; the highest
//! definition wins. In-tree files that are symbolic links are not read (git
//! does not follow them either). Not read: the system file
//! (`$(prefix)/etc/gitattributes`), `core.ignoreCase`, the index when a
//! `.gitattributes` is missing from the working tree.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// An attribute's state for a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// `attr`
    Set,
    /// `-attr`
    Unset,
    /// `!attr`, or no line says anything
    Unspecified,
    /// `attr=value`
    Value(String),
}

impl State {
    /// How `.gitattributes` writes it, for messages.
    pub fn spelled(&self, attr: &str) -> String {
        match self {
            State::Set => attr.to_string(),
            State::Unset => format!("-{attr}"),
            State::Unspecified => format!("!{attr}"),
            State::Value(v) => format!("{attr}={v}"),
        }
    }
}

/// Where a decision came from: a file (as shown) and its line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub file: String,
    pub line: usize,
    /// The line as written (trimmed).
    pub text: String,
}

/// The resolved attribute: its state and the line that decided it (`None`
/// when no line did); `via` names the macro it came through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub state: State,
    pub source: Option<Source>,
    pub via: Option<String>,
}

#[derive(Debug, Clone)]
enum Pattern {
    Glob {
        pat: String,
        /// No `/` in it: matched against the basename.
        nodir: bool,
        /// Ended in `/`: matches folders only, so never a file.
        dir_only: bool,
    },
    Macro(String),
}

#[derive(Debug, Clone)]
struct Line {
    pattern: Pattern,
    attrs: Vec<(String, State)>,
    source: Source,
}

#[derive(Debug, Clone, Default)]
struct Frame {
    /// The folder the file is in, from the root (`""` for the root, the
    /// global and the info file).
    base: String,
    lines: Vec<Line>,
}

/// The attribute files of one worktree.
#[derive(Debug, Clone)]
pub struct Attributes {
    root: PathBuf,
    builtin: Frame,
    global: Frame,
    info: Frame,
}

impl Attributes {
    /// The attribute sources of the worktree at `root` (its git folders and
    /// merged git config tell where the global and info files are).
    pub fn load(root: &Path) -> Attributes {
        let builtin = Frame {
            base: String::new(),
            lines: parse("[attr]binary -diff -merge -text\n", "(built in)", true),
        };
        let global = global_file(root)
            .map(|p| read_frame(&p, &p.display().to_string(), "", true))
            .unwrap_or_default();
        let info = super::dirs(root)
            .map(|d| {
                let p = d.common_dir.join("info/attributes");
                let shown = p
                    .strip_prefix(root)
                    .map(|r| r.display().to_string())
                    .unwrap_or_else(|_| p.display().to_string());
                read_frame(&p, &shown, "", true)
            })
            .unwrap_or_default();
        Attributes {
            root: root.to_path_buf(),
            builtin,
            global,
            info,
        }
    }

    /// The state of `attr` for `path` (from the root, `/`-separated).
    pub fn resolve(&self, path: &str, attr: &str) -> Resolved {
        let mut frames: Vec<Frame> = vec![self.builtin.clone(), self.global.clone()];
        let mut dir = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            let file = if dir.is_empty() {
                ".gitattributes".to_string()
            } else {
                format!("{dir}/.gitattributes")
            };
            frames.push(read_tree_frame(&self.root.join(&file), &file, &dir, i == 0));
            if i + 1 < parts.len() {
                if !dir.is_empty() {
                    dir.push('/');
                }
                dir.push_str(part);
            }
        }
        frames.push(self.info.clone());
        resolve_in(&frames, path, attr)
    }
}

/// git's `fill`: from the highest frame and its last line down, each
/// attribute decided once; a macro set to true fills its expansion.
fn resolve_in(frames: &[Frame], path: &str, attr: &str) -> Resolved {
    let mut macros: HashMap<&str, &Line> = HashMap::new();
    for f in frames.iter().rev() {
        for l in f.lines.iter().rev() {
            if let Pattern::Macro(name) = &l.pattern {
                macros.entry(name.as_str()).or_insert(l);
            }
        }
    }
    let mut decided: HashMap<String, Resolved> = HashMap::new();
    for f in frames.iter().rev() {
        for l in f.lines.iter().rev() {
            if matches_line(&l.pattern, &f.base, path) {
                fill(l, &l.source, None, &macros, &mut decided, 0);
            }
        }
    }
    decided.remove(attr).unwrap_or(Resolved {
        state: State::Unspecified,
        source: None,
        via: None,
    })
}

fn fill(
    line: &Line,
    source: &Source,
    via: Option<&str>,
    macros: &HashMap<&str, &Line>,
    decided: &mut HashMap<String, Resolved>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    for (name, state) in line.attrs.iter().rev() {
        if decided.contains_key(name) {
            continue;
        }
        decided.insert(
            name.clone(),
            Resolved {
                state: state.clone(),
                source: Some(source.clone()),
                via: via.map(str::to_string),
            },
        );
        if *state == State::Set
            && let Some(m) = macros.get(name.as_str())
        {
            fill(
                m,
                source,
                Some(via.unwrap_or(name)),
                macros,
                decided,
                depth + 1,
            );
        }
    }
}

fn matches_line(p: &Pattern, base: &str, path: &str) -> bool {
    let Pattern::Glob {
        pat,
        nodir,
        dir_only,
    } = p
    else {
        return false;
    };
    if *dir_only {
        return false;
    }
    if *nodir {
        let name = path.rsplit('/').next().unwrap_or(path);
        return wildmatch(pat.as_bytes(), name.as_bytes(), false);
    }
    let rest = if base.is_empty() {
        Some(path)
    } else {
        path.strip_prefix(base).and_then(|r| r.strip_prefix('/'))
    };
    let pat = pat.strip_prefix('/').unwrap_or(pat);
    rest.is_some_and(|r| wildmatch(pat.as_bytes(), r.as_bytes(), true))
}

/// The global attributes file git reads.
fn global_file(root: &Path) -> Option<PathBuf> {
    if let Ok(repo) = super::open(root)
        && let Ok(Some(p)) = repo.config_snapshot().trusted_path("core.attributesFile")
    {
        return Some(p);
    }
    match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => Some(PathBuf::from(x).join("git/attributes")),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/git/attributes")),
    }
}

fn read_frame(path: &Path, shown: &str, base: &str, macros_ok: bool) -> Frame {
    Frame {
        base: base.to_string(),
        lines: std::fs::read_to_string(path)
            .map(|t| parse(&t, shown, macros_ok))
            .unwrap_or_default(),
    }
}

/// An in-tree `.gitattributes` (never through a link, as git reads them).
fn read_tree_frame(path: &Path, shown: &str, base: &str, root: bool) -> Frame {
    if std::fs::symlink_metadata(path).map_or(true, |m| !m.file_type().is_file()) {
        return Frame {
            base: base.to_string(),
            lines: Vec::new(),
        };
    }
    read_frame(path, shown, base, root)
}

/// The lines of an attributes file (`shown` names it in sources).
fn parse(text: &str, shown: &str, macros_ok: bool) -> Vec<Line> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_start_matches([' ', '\t', '\r']);
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (pat, rest, quoted) = match line.strip_prefix('"') {
            Some(q) => match unquote(q) {
                Some((p, rest)) => (p, rest, true),
                None => continue,
            },
            None => {
                let end = line.find([' ', '\t']).unwrap_or(line.len());
                (line[..end].to_string(), &line[end..], false)
            }
        };
        let pattern = match pat.strip_prefix("[attr]") {
            Some(name) if !quoted => {
                if !macros_ok || name.is_empty() {
                    continue;
                }
                Pattern::Macro(name.to_string())
            }
            _ => {
                if pat.starts_with('!') {
                    // git ignores negative patterns in attribute files.
                    continue;
                }
                let dir_only = pat.ends_with('/') && pat.len() > 1;
                let pat = pat.trim_end_matches('/').to_string();
                let nodir = !pat.contains('/');
                Pattern::Glob {
                    pat,
                    nodir,
                    dir_only,
                }
            }
        };
        let mut attrs = Vec::new();
        for w in rest.split([' ', '\t']).filter(|w| !w.is_empty()) {
            let (name, state) = if let Some(n) = w.strip_prefix('-') {
                (n, State::Unset)
            } else if let Some(n) = w.strip_prefix('!') {
                (n, State::Unspecified)
            } else if let Some((n, v)) = w.split_once('=') {
                (n, State::Value(v.to_string()))
            } else {
                (w, State::Set)
            };
            if valid_name(name) {
                attrs.push((name.to_string(), state));
            }
        }
        out.push(Line {
            pattern,
            attrs,
            source: Source {
                file: shown.to_string(),
                line: i + 1,
                text: line.trim_end().to_string(),
            },
        });
    }
    out
}

/// git's `attr_name_valid`: not starting with `-`, only `-._0-9a-zA-Z`.
fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && !n.starts_with('-')
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// A C-quoted pattern after its opening `"`: the pattern and the rest.
fn unquote(s: &str) -> Option<(String, &str)> {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => return Some((String::from_utf8_lossy(&out).into_owned(), &s[i + 1..])),
            b'\\' => {
                let c = *b.get(i + 1)?;
                i += 2;
                match c {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'0'..=b'7' => {
                        let digits = s.get(i - 1..i + 2)?;
                        out.push(u8::from_str_radix(digits, 8).ok()?);
                        i += 2;
                    }
                    c => out.push(c),
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    None
}

/// git's `wildmatch`: `*`, `?`, `[...]`, `\`; with `pathname`, `*` and `?`
/// do not match `/`, and `**` between slashes (or at an end) matches any
/// number of folders.
pub fn wildmatch(p: &[u8], t: &[u8], pathname: bool) -> bool {
    wm(p, 0, t, pathname)
}

fn wm(pat: &[u8], pi: usize, t: &[u8], pathname: bool) -> bool {
    let Some(&c) = pat.get(pi) else {
        return t.is_empty();
    };
    match c {
        b'*' => {
            let mut n = pi;
            while pat.get(n) == Some(&b'*') {
                n += 1;
            }
            let after = &pat[n..];
            let match_slash = if !pathname {
                true
            } else if n - pi >= 2
                && (pi == 0 || pat[pi - 1] == b'/')
                && (after.is_empty() || after[0] == b'/')
            {
                if after.first() == Some(&b'/') && wm(pat, n + 1, t, pathname) {
                    return true;
                }
                true
            } else {
                false
            };
            if after.is_empty() {
                return match_slash || !t.contains(&b'/');
            }
            for k in 0..=t.len() {
                if wm(pat, n, &t[k..], pathname) {
                    return true;
                }
                if k < t.len() && t[k] == b'/' && !match_slash {
                    return false;
                }
            }
            false
        }
        b'?' => match t.first() {
            Some(&x) if !(pathname && x == b'/') => wm(pat, pi + 1, &t[1..], pathname),
            _ => false,
        },
        b'[' => {
            let Some(&x) = t.first() else { return false };
            if pathname && x == b'/' {
                return false;
            }
            let mut i = pi + 1;
            let negate = matches!(pat.get(i), Some(b'!' | b'^'));
            if negate {
                i += 1;
            }
            let mut hit = false;
            let mut first = true;
            loop {
                let Some(&pc) = pat.get(i) else { return false };
                if pc == b']' && !first {
                    break;
                }
                first = false;
                let lo = if pc == b'\\' {
                    i += 1;
                    *pat.get(i).unwrap_or(&b'\\')
                } else {
                    pc
                };
                if pat.get(i + 1) == Some(&b'-') && pat.get(i + 2).is_some_and(|&h| h != b']') {
                    let hi = pat[i + 2];
                    if lo <= x && x <= hi {
                        hit = true;
                    }
                    i += 3;
                } else {
                    if lo == x {
                        hit = true;
                    }
                    i += 1;
                }
            }
            hit != negate && wm(pat, i + 1, &t[1..], pathname)
        }
        b'\\' if pi + 1 < pat.len() => {
            t.first() == Some(&pat[pi + 1]) && wm(pat, pi + 2, &t[1..], pathname)
        }
        _ => t.first() == Some(&c) && wm(pat, pi + 1, &t[1..], pathname),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(files: &[(&str, &str)]) -> Vec<Frame> {
        let mut out = vec![Frame {
            base: String::new(),
            lines: parse("[attr]binary -diff -merge -text\n", "(built in)", true),
        }];
        for (base, text) in files {
            out.push(Frame {
                base: base.to_string(),
                lines: parse(text, &format!("{base}/.gitattributes"), base.is_empty()),
            });
        }
        out
    }

    fn merge(files: &[(&str, &str)], path: &str) -> (State, Option<usize>) {
        let r = resolve_in(&frames(files), path, "merge");
        (r.state, r.source.map(|s| s.line))
    }

    #[test]
    fn later_and_deeper_lines_win() {
        let beads = "*.jsonl merge=beads eol=lf\nhooks/*.json merge=beads\n";
        assert_eq!(
            merge(&[("", ""), (".beads", beads)], ".beads/issues.jsonl"),
            (State::Value("beads".into()), Some(1))
        );
        // A later line in the same file.
        let over = format!("{beads}*.jsonl -merge\n");
        assert_eq!(
            merge(&[("", ""), (".beads", &over)], ".beads/mail.jsonl"),
            (State::Unset, Some(3))
        );
        // The root file is lower than .beads/'s.
        assert_eq!(
            merge(
                &[("", "*.jsonl merge=union\n"), (".beads", beads)],
                ".beads/a.jsonl"
            )
            .0,
            State::Value("beads".into())
        );
        // A deeper file wins; `!merge` is unspecified.
        assert_eq!(
            merge(
                &[
                    ("", ""),
                    (".beads", beads),
                    (".beads/hooks", "*.json !merge\n")
                ],
                ".beads/hooks/x.json"
            ),
            (State::Unspecified, Some(1))
        );
        // Within a line, the later attribute.
        assert_eq!(
            merge(
                &[("", ""), (".beads", "*.jsonl merge=beads merge=union\n")],
                ".beads/i.jsonl"
            )
            .0,
            State::Value("union".into())
        );
    }

    #[test]
    fn macros_expand_where_nothing_higher_decided() {
        let beads = "*.jsonl merge=beads\n";
        assert_eq!(
            merge(
                &[("", ""), (".beads", &format!("{beads}*.jsonl binary\n"))],
                ".beads/i.jsonl"
            ),
            (State::Unset, Some(2))
        );
        // `binary merge=beads` on one line: the later attribute wins.
        assert_eq!(
            merge(
                &[("", ""), (".beads", "*.jsonl binary merge=beads\n")],
                ".beads/i.jsonl"
            )
            .0,
            State::Value("beads".into())
        );
        // `-binary` above `binary`: no expansion at all (git's rule).
        assert_eq!(
            merge(
                &[("", "*.jsonl binary\n"), (".beads", "*.jsonl -binary\n")],
                ".beads/i.jsonl"
            )
            .0,
            State::Unspecified
        );
        // A macro of the root file used in a nested one; not definable there.
        assert_eq!(
            merge(
                &[
                    ("", "[attr]nomerge -merge\n"),
                    (".beads", "*.jsonl nomerge\n")
                ],
                ".beads/i.jsonl"
            )
            .0,
            State::Unset
        );
        assert_eq!(
            merge(
                &[
                    ("", ""),
                    (".beads", "[attr]m2 -merge\n*.jsonl merge=beads m2\n")
                ],
                ".beads/i.jsonl"
            )
            .0,
            State::Value("beads".into())
        );
    }

    #[test]
    fn patterns_as_git_matches_them() {
        assert!(matches_line(
            &glob("*.jsonl"),
            ".beads",
            ".beads/issues.jsonl"
        ));
        assert!(matches_line(&glob("*.jsonl"), "", ".beads/issues.jsonl"));
        assert!(matches_line(
            &glob("hooks/*.json"),
            ".beads",
            ".beads/hooks/a.json"
        ));
        assert!(!matches_line(
            &glob("hooks/*.json"),
            ".beads",
            ".beads/hooks/b/a.json"
        ));
        assert!(!matches_line(
            &glob("hooks/*.json"),
            "",
            ".beads/hooks/a.json"
        ));
        assert!(matches_line(
            &glob("**/hooks/*.json"),
            "",
            ".beads/hooks/a.json"
        ));
        assert!(matches_line(&glob(".beads/**"), "", ".beads/hooks/a.json"));
        assert!(matches_line(
            &glob("/.beads/*.jsonl"),
            "",
            ".beads/mail.jsonl"
        ));
        assert!(matches_line(&glob("*.json[l]"), "", ".beads/mail.jsonl"));
        assert!(matches_line(&glob("[!x]*.jsonl"), "", ".beads/mail.jsonl"));
        assert!(!matches_line(&glob(".beads/*"), "", ".beads/hooks/a.json"));
        assert!(!matches_line(&glob(".beads/"), "", ".beads"));
        assert!(wildmatch(b"a/**/b", b"a/b", true));
        assert!(wildmatch(b"a/**/b", b"a/x/y/b", true));
        assert!(!wildmatch(b"a*b", b"a/b", true));
        assert!(wildmatch(b"a\\*b", b"a*b", true));
    }

    fn glob(p: &str) -> Pattern {
        parse(&format!("{p} merge\n"), "t", true)[0].pattern.clone()
    }
}

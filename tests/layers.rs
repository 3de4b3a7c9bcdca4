//! The house's layering, guarded (STYLE.md, docs/DESIGN.md "Layers"):
//! `cli → ops → {store, git, home} → {files, model}`. Every `crate::<module>`
//! path in `src/` (outside `#[cfg(test)]` modules and comments) is an arrow
//! from the file's layer to that module; this test fails on each arrow the
//! picture forbids, and on an impure call in `model`.

use std::path::{Path, PathBuf};

/// The modules each layer may not name.
fn forbidden(layer: &str) -> &'static [&'static str] {
    match layer {
        "cli" => &["store", "git", "home", "files"],
        "ops" => &["cli"],
        "store" => &["home", "git", "ops", "cli"],
        "git" => &["store", "home", "ops", "cli"],
        "home" => &["store", "git", "ops", "cli"],
        "files" => &["store", "git", "home", "ops", "cli", "model"],
        "exec" => &["store", "git", "home", "ops", "cli", "model", "files"],
        "model" => &["store", "git", "home", "ops", "cli", "files"],
        _ => &[],
    }
}

/// What `model` may never call: it is pure (time, actor and seeds come in as
/// arguments).
const IMPURE: &[&str] = &[
    "std::fs",
    "std::env",
    "std::process",
    "SystemTime",
    "Instant::now",
    "Utc::now",
    "Local::now",
    "gix::",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The modules a line names after `crate::`, also inside `crate::{a, b}`.
fn targets(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

/// The code of a file without its test module and comment lines.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let cut = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..cut]
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .collect()
}

#[test]
fn every_arrow_points_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    assert!(files.len() > 20, "found the sources: {files:?}");
    let mut bad = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let layer = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in code_lines(&text) {
            for t in targets(line) {
                if forbidden(&layer).contains(&t.as_str()) {
                    bad.push(format!("src/{}:{n}: {layer} -> {t}", rel.display()));
                }
            }
            if layer == "model" {
                for word in IMPURE {
                    if line.contains(word) {
                        bad.push(format!(
                            "src/{}:{n}: model is pure, yet calls {word}",
                            rel.display()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "arrows the layering forbids:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_guard_sees_grouped_and_plain_paths() {
    assert_eq!(targets("use crate::store::Tx;"), ["store"]);
    assert_eq!(
        targets("use crate::{home, git::dirs};  crate::ops::x()"),
        ["home", "git", "ops"]
    );
    assert_eq!(code_lines("a\n// crate::cli\n#[cfg(test)]\nb").len(), 1);
}

/// The `ops` modules a line names after `crate::ops::`, also inside
/// `crate::ops::{a, b::c}` (multi-line groups are joined by the caller).
fn ops_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::ops::") {
        rest = &rest[i + "crate::ops::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .collect(),
            None => vec![rest],
        };
        for n in names {
            let name: String = n
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

/// Inside `ops`, calls go down only (DESIGN "Layers"): the session
/// (`session`) names no other `ops` module, the coordination service
/// (`coord`) and the remote arbiter (`remote`) only the session, the write
/// path (`write`) only those three, and no circle joins the verbs.
#[test]
fn ops_has_floors_and_no_circle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops");
    let mut files = Vec::new();
    sources(&dir, &mut files);
    let module = |p: &Path| p.file_stem().unwrap().to_string_lossy().to_string();
    let modules: Vec<String> = files
        .iter()
        .map(|p| module(p))
        .filter(|m| m != "mod")
        .collect();
    let mut edges: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for f in &files {
        let m = module(f);
        if m == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let code: Vec<&str> = code_lines(&text).into_iter().map(|(_, l)| l).collect();
        let joined = code.join(" ");
        let deps = edges.entry(m.clone()).or_default();
        for t in ops_targets(&joined) {
            if t != m && modules.contains(&t) {
                deps.insert(t);
            }
        }
    }
    let mut bad = Vec::new();
    for d in &edges["session"] {
        bad.push(format!("session (the floor every op stands on) -> {d}"));
    }
    for d in edges["coord"].iter().filter(|d| *d != "session") {
        bad.push(format!("coord (the coordination service) -> {d}"));
    }
    for d in edges["remote"].iter().filter(|d| *d != "session") {
        bad.push(format!("remote (the remote arbiter) -> {d}"));
    }
    for d in edges["write"]
        .iter()
        .filter(|d| !["coord", "remote", "session"].contains(&d.as_str()))
    {
        bad.push(format!("write (the write path) -> {d}"));
    }
    // A circle: a path from a module back to itself.
    for start in edges.keys() {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack: Vec<Vec<String>> = vec![vec![start.clone()]];
        while let Some(path) = stack.pop() {
            let last = path.last().unwrap();
            for next in &edges[last] {
                if next == start {
                    bad.push(format!("circle: {} -> {start}", path.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push(p);
                }
            }
        }
    }
    bad.sort();
    bad.dedup();
    assert!(bad.is_empty(), "ops goes sideways:\n{}", bad.join("\n"));
    assert_eq!(
        ops_targets("use crate::ops::{Session, coord, write::Outcome}; crate::ops::hooks::x()"),
        ["Session", "coord", "write", "hooks"]
    );
}

//! Issue 9, the identity and terminal items: a foreign `project` does not join
//! a home (2), terminal escapes (3), confusable agent names (4), classic label
//! syntax (12), the sent view (17), and the small bugs of 18.

#[path = "../common/mod.rs"]
mod common;

use common::*;
use serde_json::Value;

mod cli;
mod mail;
mod names;
mod trust;

/// No raw ESC, BEL, other C0 (but line breaks and tabs), DEL, C1 or bidi override.
#[track_caller]
fn terminal_clean(what: &str, text: &str) {
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "{what}: raw {c:?} in {text:?}");
    }
}

#[track_caller]
fn clean_run(what: &str, r: &Run) {
    terminal_clean(&format!("{what} stdout"), &r.stdout);
    terminal_clean(&format!("{what} stderr"), &r.stderr);
}

fn new_repo(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.name", "T"]);
    git(dir, &["config", "user.email", "t@example.com"]);
}

fn inbox_ids(env: &TestEnvironment, dir: &std::path::Path, actor: &str) -> Vec<String> {
    env.json_in(dir, actor, &["mail", "inbox", "--all"])
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

/// A repository with `origin` at `url`, a first commit, and `config.toml`
/// written by hand when given (else `bd init --prefix prefix`).
fn repo_with_origin(
    env: &TestEnvironment,
    dir: &std::path::Path,
    url: &str,
    prefix: &str,
    config: Option<&str>,
) {
    new_repo(dir);
    git(dir, &["remote", "add", "origin", url]);
    std::fs::write(dir.join("code.txt"), format!("{prefix}\n")).unwrap();
    match config {
        Some(c) => {
            std::fs::create_dir_all(dir.join(".beads")).unwrap();
            std::fs::write(dir.join(".beads/config.toml"), c).unwrap();
        }
        None => {
            env.bd_in(dir, "x", &["init", "--prefix", prefix]).ok();
        }
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "init"]);
}

//! Fuzz-style property tests of every parser of untrusted bytes (issue 9):
//! random bytes and real files mutated byte by byte (flips, inserts of JSON
//! punctuation, deletions, truncations, repeated slices). The real files are
//! written once by the `bd` binary under test in a temp repository and
//! project home: `issues.jsonl`, `mail.jsonl`, a hook file, `config.toml`,
//! and the home's `ledger.json`, `registry.json`, `agents/*.json`,
//! `deliveries/*.json`, a spool message and a live mailbox.
//!
//! Properties: no parser panics; the home's loaders lose nothing (a corrupt
//! file stays, or is moved aside byte for byte) and name the file in their
//! warning; through the binary, reading commands never write the files they
//! read and never panic, and the merge driver `bd merge %O %A %B %P` exits 1
//! leaving `%A` unchanged when an input does not parse, naming side and line.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{Run, TestEnvironment, run_of};
use proptest::prelude::*;
use proptest::test_runner::Config as PtConfig;
use strand::home::ProjectHome;
use strand::home::mailbox::SpoolItem;
use strand::model::mail::{Address, Message};
use strand::model::merge::{merge_issues, normalize_issues};
use strand::model::record::Record;

fn cfg(cases: u32) -> PtConfig {
    let cases = std::env::var("PROP_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Real files, written by the binary once
// ---------------------------------------------------------------------------

struct Seeds {
    /// The repository and home the files were written in.
    env: TestEnvironment,
    issues: Vec<u8>,
    mail: Vec<u8>,
    hook: Vec<u8>,
    config: Vec<u8>,
    /// (path relative to the project's home folder, bytes)
    home_files: Vec<(String, Vec<u8>)>,
}

#[track_caller]
fn ok(env: &TestEnvironment, actor: &str, args: &[&str]) -> String {
    let r = env.bd_as(actor, args);
    assert_eq!(r.code, 0, "bd {args:?}: {}", r.stderr);
    r.stdout.trim().to_string()
}

fn seeds() -> &'static Seeds {
    static S: OnceLock<Seeds> = OnceLock::new();
    S.get_or_init(|| {
        let env = TestEnvironment::empty();
        std::fs::create_dir_all(&env.repo).unwrap();
        common::git(&env.repo, &["init", "-q", "-b", "main"]);
        let e = &env;
        ok(e, "alice", &["init", "--prefix", "bd", "-q"]);
        let x = ok(e, "alice", &["create", "first \"quoted\" <b>", "-q"]);
        let y = ok(e, "alice", &["create", "second", "-l", "api", "-q"]);
        ok(e, "alice", &["dep", "add", &y, &x, "-q"]);
        ok(e, "alice", &["comment", &x, "a comment\nwith lines", "-q"]);
        ok(e, "alice", &["agent", "register", "-q"]);
        ok(e, "bob", &["agent", "register", "-q"]);
        ok(e, "alice", &["claim", &x, "-q"]);
        ok(e, "alice", &["mail", "send", "--to", "bob", "-s", "hi", "-b", "body", "-q"]);
        ok(e, "alice", &["sling", &y, "bob", "-q"]);
        let beads = env.beads();
        let read = |p: PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let hook = std::fs::read_dir(beads.join("hooks"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| read(e.path()))
            .unwrap_or_else(|| {
                br#"{"agent":"bob","items":["bd-a1","bd-b2"],"attached_by":"alice","attached_at":"2026-01-01T00:00:00Z","note":"n"}"#.to_vec()
            });
        let pd = env.project_dir();
        let mut home_files = Vec::new();
        let mut stack = vec![pd.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "json" || x == "jsonl") {
                    let rel = p.strip_prefix(&pd).unwrap().display().to_string();
                    home_files.push((rel, read(p)));
                }
            }
        }
        // A spool message: one message of this project's mail, as another
        // project's `bd mail send` leaves it.
        let mail = read(beads.join("mail.jsonl"));
        let first = String::from_utf8_lossy(&mail).lines().next().unwrap().to_string();
        let msg = Message::from_record(&Record::parse(&first).unwrap()).unwrap();
        let item = SpoolItem {
            from_project: "github.com/x/y".into(),
            message: msg.clone(),
            issue_type: None,
        };
        home_files.push((
            format!("spool/{}.json", msg.id),
            serde_json::to_vec(&item).unwrap(),
        ));
        home_files.sort();
        Seeds {
            issues: read(beads.join("issues.jsonl")),
            mail,
            hook,
            config: read(beads.join("config.toml")),
            home_files,
            env,
        }
    })
}

// ---------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------

const PUNCT: &[u8] = b"{}[]\":,\\\n\r 0-.e\x00\xff";

/// One edit: (where, what, byte).
type Edit = (usize, u8, u8);

fn mutate(src: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = src.to_vec();
    for &(at, op, x) in edits {
        let n = b.len();
        let i = if n == 0 { 0 } else { at % n };
        match op % 6 {
            0 if n > 0 => b[i] ^= x | 1,
            1 => b.insert(i.min(n), PUNCT[x as usize % PUNCT.len()]),
            2 if n > 0 => {
                b.remove(i);
            }
            3 => b.truncate(i),
            4 => b.insert(i.min(n), x),
            _ if n > 0 => {
                let end = (i + 1 + x as usize % 40).min(n);
                let chunk = b[i..end].to_vec();
                b.splice(i..i, chunk);
            }
            _ => b.push(x),
        }
    }
    b
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)
}

/// Mutated real bytes, or random bytes.
fn input(real: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => edits().prop_map(move |e| mutate(real, &e)),
        1 => prop::collection::vec(any::<u8>(), 0..300),
    ]
}

fn lines(b: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(b)
        .lines()
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------
// In-process parsers
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(cfg(256))]

    /// Tracker lines (`model::record`, `store::jsonl`): never panic; bad
    /// lines are named by their line number in the file.
    #[test]
    fn tracker_lines(bytes in input(&seeds().issues)) {
        for l in lines(&bytes) {
            let _ = Record::parse(&l);
        }
        let p = strand::store::jsonl::parse(&bytes);
        let count = bytes.split(|&b| b == b'\n').count();
        for bad in &p.bad {
            prop_assert!(bad.line >= 1 && bad.line <= count, "line {} of {count}", bad.line);
            prop_assert!(!bad.reason.is_empty());
        }
        // A good line's record writes back to a line that parses again.
        for g in &p.good {
            prop_assert!(Record::parse(&g.record.to_line()).is_ok());
        }
    }

    /// Mail lines (`model::mail`): a line either is a message or says why not.
    #[test]
    fn mail_lines(bytes in input(&seeds().mail)) {
        for l in lines(&bytes) {
            if let Ok(r) = Record::parse(&l)
                && let Err(e) = Message::from_record(&r)
            {
                prop_assert!(!e.is_empty());
            }
            let _ = Address::parse(&l);
        }
    }

    /// The merge (`model::merge`): any inputs, never a panic; an input that
    /// does not parse is named by side and line.
    #[test]
    fn merge_inputs(
        o in input(&seeds().issues),
        t in input(&seeds().issues),
        base_is_real in any::<bool>(),
    ) {
        let base: &[u8] = if base_is_real { &seeds().issues } else { b"" };
        match merge_issues(base, &o, &t) {
            Ok(m) => {
                // What comes out is canonical: normalizing it changes nothing.
                let again = normalize_issues(&m.bytes).expect("merge output parses");
                prop_assert_eq!(again.bytes, m.bytes);
            }
            Err(e) => {
                let text = e.to_string();
                prop_assert!(text.contains(" line "), "{}", text);
            }
        }
        let _ = normalize_issues(&o);
    }

    /// Hook files (`ops::hooks::merge_hook` parses all three inputs).
    #[test]
    fn hook_files(a in input(&seeds().hook), b in input(&seeds().hook)) {
        let real = &seeds().hook;
        let _ = strand::store::hooks::merge_hook(real, &a, &b);
        let _ = strand::store::hooks::merge_hook(&a, &b, real);
        let _ = serde_json::from_slice::<strand::store::hooks::Hook>(&a);
    }

    /// `config.toml` (`store::config`): an error names the file and line.
    #[test]
    fn config_files(bytes in input(&seeds().config)) {
        // A library call on one file, no `bd` run: a scratch folder is all it needs.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, &bytes).unwrap();
        if let Err(e) = strand::store::config::Config::load(&p) {
            let text = e.to_string();
            prop_assert!(text.contains("config.toml"), "{}", text);
        }
        prop_assert_eq!(std::fs::read(&p).unwrap(), bytes, "loading wrote the file");
    }
}

proptest! {
    #![proptest_config(cfg(48))]

    /// Project-home files (`home::*`): loaders never panic, name a file they
    /// cannot read, and keep its bytes (in place or moved aside).
    #[test]
    fn home_files(which in any::<prop::sample::Index>(), e in edits(), random in any::<bool>(), noise in prop::collection::vec(any::<u8>(), 0..200)) {
        let s = seeds();
        let (rel, real) = which.get(&s.home_files);
        let bytes = if random { noise } else { mutate(real, &e) };
        // Library loaders over one home folder, no `bd` run: just a scratch folder.
        let dir = tempfile::tempdir().unwrap();
        let home = ProjectHome { dir: dir.path().to_path_buf() };
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &bytes).unwrap();
        let mut warnings: Vec<String> = Vec::new();
        warnings.extend(strand::home::ledger::load(&home).1);
        warnings.extend(strand::home::registry::load(&home).1);
        warnings.extend(strand::home::presence::load(&home).1);
        warnings.extend(strand::home::deliveries::load(&home).1);
        warnings.extend(strand::home::mailbox::spool_list(&home).1);
        let _ = strand::home::mailbox::links(&home);
        if let Some(stem) = rel.strip_prefix("mail/").and_then(|r| r.strip_suffix(".jsonl")) {
            let _ = strand::home::mailbox::live(&home, stem);
        }
        let name = Path::new(rel.as_str()).file_name().unwrap().to_string_lossy().into_owned();
        for w in &warnings {
            prop_assert!(w.contains(&name) || w.contains(rel.as_str()), "warning names no file: {} ({})", w, rel);
        }
        let kept = common::files_under(dir.path())
            .iter()
            .any(|f| std::fs::read(f).is_ok_and(|b| b == bytes));
        prop_assert!(kept, "{} lost its bytes", rel);
    }
}

// ---------------------------------------------------------------------------
// Through the binary
// ---------------------------------------------------------------------------

#[track_caller]
fn no_panic(r: &Run, what: &str) {
    assert!(
        r.code != 101 && !r.stderr.contains("panicked"),
        "{what}: bd panicked\n{}",
        r.stderr
    );
}

proptest! {
    #![proptest_config(cfg(12))]

    /// Reading commands over a mutated tracker, mail file, hook file or
    /// config: no panic, and the file is not written.
    #[test]
    fn reading_commands_never_write(which in 0usize..4, e in edits()) {
        let s = seeds();
        // A copy of the seed repository and its home to run `bd` in.
        let env = TestEnvironment::copy_of(&s.env);
        let beads = env.beads();
        let hook_path = std::fs::read_dir(beads.join("hooks"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path())
            .unwrap_or_else(|| beads.join("hooks/bob.json"));
        let (path, real) = match which {
            0 => (beads.join("issues.jsonl"), &s.issues),
            1 => (beads.join("mail.jsonl"), &s.mail),
            2 => (hook_path, &s.hook),
            _ => (beads.join("config.toml"), &s.config),
        };
        let bytes = mutate(real, &e);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        for args in [
            &["list", "--json"][..],
            &["ready"],
            &["mail", "inbox"],
            &["hook"],
            &["prime"],
            &["doctor"],
        ] {
            let r = env.bd_as("bob", args);
            no_panic(&r, &format!("bd {args:?} over {}", path.display()));
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if r.code != 0 && (which == 0 || which == 3) {
                prop_assert!(
                    r.stderr.contains(&name) || r.stdout.contains(&name),
                    "bd {:?}: the error names {}: {}{}",
                    args,
                    name,
                    r.stdout,
                    r.stderr
                );
            }
            prop_assert_eq!(
                std::fs::read(&path).unwrap(),
                bytes.clone(),
                "bd {:?} wrote {}",
                args,
                path.display()
            );
        }
    }

    /// The merge driver on a mutated side: exits 1 with `%A` unchanged when
    /// an input does not parse (naming side and line), else 0.
    #[test]
    fn merge_driver_inputs(side in 0usize..3, e in edits()) {
        let s = seeds();
        // No home made: the driver must not make one.
        let env = TestEnvironment::without_home();
        let dir = env.root();
        let bad = mutate(&s.issues, &e);
        let mut files = [s.issues.clone(), s.issues.clone(), s.issues.clone()];
        files[side] = bad.clone();
        let names = ["O", "A", "B"];
        for (n, b) in names.iter().zip(&files) {
            std::fs::write(dir.join(n), b).unwrap();
        }
        let r = run_of(
            env.cmd_anonymous(dir, &["merge", "O", "A", "B", ".beads/issues.jsonl"])
                .output()
                .unwrap(),
        );
        no_panic(&r, "bd merge");
        let parses = strand::store::jsonl::parse(&bad).bad.is_empty() && std::str::from_utf8(&bad).is_ok();
        let a_after = std::fs::read(dir.join("A")).unwrap();
        if r.code == 1 {
            prop_assert_eq!(&a_after, &files[1], "a failed merge changed %A");
            prop_assert!(r.stderr.contains("line"), "the error names a line: {}", r.stderr);
        } else {
            prop_assert_eq!(r.code, 0, "{}", r.stderr);
            prop_assert!(parses || side == 0, "merged an unparseable side: {}", r.stderr);
            prop_assert!(strand::store::jsonl::parse(&a_after).bad.is_empty());
        }
        prop_assert!(!env.home.exists(), "the driver touched the project home");
    }
}

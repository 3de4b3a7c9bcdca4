//! The merge attribute travels with .beads/ (item 6).

use super::*;

/// The README's steps, literally, in clone 1; clone 2 gets the merge driver
/// through the committed `.beads/.gitattributes`, and a concurrent edit of
/// one issue (the same line of issues.jsonl) merges with the driver.
#[test]
fn item_06_readme_steps_give_other_clones_the_driver() {
    let net = Network::empty_without_bd();
    let one = net.machine("one", "alice");
    std::fs::create_dir_all(&one.dir).unwrap();
    one.git(&["init", "-q", "-b", "main"]);
    one.git(&["config", "user.name", "alice"]);
    one.git(&["config", "user.email", "alice@example.com"]);
    std::fs::write(one.dir.join("code.txt"), "code\n").unwrap();
    one.git(&["add", "code.txt"]);
    one.git(&["commit", "-q", "-m", "code"]);
    // README, "Quick start", step by step.
    ok(one.bd(&["init"]));
    let bug = ok(one.bd(&["create", "Fix the login bug", "-t", "bug", "-p", "1"]))
        .stdout
        .trim()
        .to_string();
    ok(one.bd(&[
        "create",
        "Write release notes",
        "--deps",
        &format!("blocks:{bug}"),
    ]));
    ok(one.bd(&["ready"]));
    ok(one.bd(&["claim", &bug]));
    ok(one.bd(&["comment", &bug, "found the cause in session.rs"]));
    ok(one.bd(&["close", &bug, "--reason", "fixed in 4e1a2b"]));
    one.git(&["add", ".beads"]);
    one.git(&["commit", "-q", "-m", "..."]);
    // Nothing of strand's is left untracked or outside .beads/.
    assert_eq!(porcelain(&one), "", "README steps leave files behind");
    assert!(!one.dir.join(".gitattributes").exists());
    one.git(&["remote", "add", "origin", net.remote.to_str().unwrap()]);
    one.git(&["push", "-q", "-u", "origin", "main"]);

    let two = net.clone_fresh("two", "bob", &[]);
    assert_eq!(
        two.git(&["check-attr", "merge", "--", ".beads/issues.jsonl"])
            .trim(),
        ".beads/issues.jsonl: merge: beads"
    );
    assert_eq!(
        two.git(&["check-attr", "merge", "--", ".beads/hooks/bob.json"])
            .trim(),
        ".beads/hooks/bob.json: merge: beads"
    );
    // Concurrent edits of the same issue: a comment in two, a new title in one.
    ok(two.bd(&["comment", &bug, "bob was here"]));
    two.git(&["add", ".beads"]);
    two.git(&["commit", "-q", "-m", "bob comments"]);
    two.git(&["push", "-q"]);
    ok(one.bd(&["update", &bug, "--title", "Fix the login bug for good"]));
    one.git(&["add", ".beads"]);
    one.git(&["commit", "-q", "-m", "alice retitles"]);
    let r = one.git_run(&["pull", "-q", "--no-rebase", "origin", "main"], true);
    assert_eq!(r.code, 0, "the driver merges: {}\n{}", r.stdout, r.stderr);
    let text = one.issues_text();
    assert!(!text.contains("<<<<<<<"), "{text}");
    assert!(
        text.contains("bob was here") && text.contains("Fix the login bug for good"),
        "{text}"
    );
    let r = ok(one.bd(&["doctor"]));
    assert!(r.stdout.contains("No problems found"), "{}", r.stdout);
}

/// An older tracker with strand's lines in the root `.gitattributes`:
/// `doctor` flags them, `doctor --fix` (or `init`) moves them to
/// `.beads/.gitattributes` and leaves the user's own lines alone; a missing
/// attribute is an error.
#[test]
fn item_06_root_attribute_lines_are_migrated() {
    let net = net(1);
    let a = &net.c[0];
    std::fs::remove_file(a.dir.join(".beads/.gitattributes")).unwrap();
    std::fs::write(
        a.dir.join(".gitattributes"),
        "*.png binary\n.beads/*.jsonl merge=beads\n.beads/hooks/*.json merge=beads\n",
    )
    .unwrap();
    let r = a.bd(&["doctor"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(".beads/.gitattributes lacks")
            && r.stdout.contains("carries strand's merge=beads lines"),
        "{}",
        r.stdout
    );
    ok(a.bd(&["doctor", "--fix"]));
    assert_eq!(
        std::fs::read_to_string(a.dir.join(".gitattributes")).unwrap(),
        "*.png binary\n"
    );
    assert_eq!(
        std::fs::read_to_string(a.dir.join(".beads/.gitattributes")).unwrap(),
        "*.jsonl merge=beads eol=lf\nhooks/*.json merge=beads eol=lf\nattachments/** -text\n"
    );
    let r = ok(a.bd(&["doctor"]));
    assert!(!r.stdout.contains("gitattributes"), "{}", r.stdout);
    // init migrates too; a root file holding only strand's lines goes away.
    std::fs::write(
        a.dir.join(".gitattributes"),
        ".beads/*.jsonl merge=beads\n.beads/hooks/*.json merge=beads\n",
    )
    .unwrap();
    let r = ok(a.bd(&["init"]));
    assert!(r.stderr.contains("Migrated"), "{}", r.stderr);
    assert!(!a.dir.join(".gitattributes").exists());
    assert_eq!(
        a.git(&["check-attr", "merge", "--", ".beads/issues.jsonl"])
            .trim(),
        ".beads/issues.jsonl: merge: beads"
    );
    // bd commit carries the attribute file (it is inside .beads/).
    ok(a.bd(&["commit"]));
    let tracked = a.git(&["ls-files", ".beads"]);
    assert!(tracked.contains(".beads/.gitattributes"), "{tracked}");
}

/// With `.beads/.gitattributes` first in the index, a `bd commit` that adds
/// a new file (a hook) and changes issues.jsonl keeps every index entry once
/// (new entries used to unsort the index mid-commit, and issues.jsonl was
/// lost from it).
#[test]
fn item_06_bd_commit_adding_a_file_keeps_the_index_whole() {
    // Only .beads/ in the index: the layout where the lookup went wrong.
    let net = Network::empty_without_bd();
    let a = &net.machine("a", "alice");
    std::fs::create_dir_all(&a.dir).unwrap();
    a.git(&["init", "-q", "-b", "main"]);
    a.git(&["config", "user.name", "alice"]);
    a.git(&["config", "user.email", "alice@example.com"]);
    ok(a.bd(&["init", "--prefix", "bd"]));
    a.git(&["add", ".beads"]);
    a.git(&["commit", "-q", "-m", "init"]);
    let x = create(a, "to claim");
    ok(a.bd(&["commit"]));
    ok(a.bd(&["sling", &x, "alice"]));
    assert!(a.dir.join(".beads/hooks/alice.json").exists());
    ok(a.bd(&["commit"]));
    let files = a.git(&["ls-files", ".beads"]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        vec![
            ".beads/.gitattributes",
            ".beads/.gitignore",
            ".beads/config.toml",
            ".beads/hooks/alice.json",
            ".beads/issues.jsonl",
            ".beads/metadata.json"
        ],
        "{files}"
    );
    assert_eq!(porcelain(a), "");
}

/// Review break 8 (item 6): `doctor` resolves the `merge` attribute of the
/// tracker files the way git does (root, `.beads/` and deeper
/// `.gitattributes`, `.git/info/attributes`, `core.attributesFile`; later
/// and more specific lines win; `-merge`, `binary`, `!merge`, macros) and
/// reports each path git would not merge with `beads`, naming the file and
/// line. Every case is checked against `git check-attr`.
#[test]
fn item_06_review_doctor_resolves_the_merge_attribute_like_git() {
    let net = net(1);
    let a = &net.c[0];
    let beads_ga = a.dir.join(".beads/.gitattributes");
    let original = std::fs::read_to_string(&beads_ga).unwrap();
    let n = original.lines().count();
    let global = net.root().join("global-attributes");
    let paths = [
        ".beads/issues.jsonl",
        ".beads/mail.jsonl",
        ".beads/hooks/x.json",
    ];
    let beads_line = format!(".beads/.gitattributes:{}", n + 1);
    let global_line = format!("{}:1", global.display());
    // (files written, expected source of each overridden path)
    type Files<'a> = Vec<(&'a str, String)>;
    let cases: Vec<(Files, Files)> = vec![
        (
            vec![(
                ".beads/.gitattributes",
                format!("{original}*.jsonl -merge\n"),
            )],
            vec![
                (".beads/issues.jsonl", beads_line.clone()),
                (".beads/mail.jsonl", beads_line.clone()),
            ],
        ),
        (
            vec![(
                ".beads/.gitattributes",
                format!("{original}*.jsonl binary\n"),
            )],
            vec![
                (".beads/issues.jsonl", beads_line.clone()),
                (".beads/mail.jsonl", beads_line.clone()),
            ],
        ),
        (
            vec![(".git/info/attributes", "*.jsonl merge=union\n".into())],
            vec![
                (".beads/issues.jsonl", ".git/info/attributes:1".into()),
                (".beads/mail.jsonl", ".git/info/attributes:1".into()),
            ],
        ),
        (
            vec![(".beads/hooks/.gitattributes", "*.json !merge\n".into())],
            vec![(
                ".beads/hooks/x.json",
                ".beads/hooks/.gitattributes:1".into(),
            )],
        ),
        (
            vec![
                (
                    ".beads/.gitattributes",
                    format!("{original}hooks/*.json nomerge\n"),
                ),
                (".git/info/attributes", "[attr]nomerge -merge\n".into()),
            ],
            vec![(".beads/hooks/x.json", beads_line.clone())],
        ),
        // Lower than .beads/.gitattributes: no override.
        (
            vec![(
                ".gitattributes",
                "*.jsonl -merge\n.beads/hooks/*.json merge=union\n".into(),
            )],
            vec![],
        ),
        // The global file decides where .beads/.gitattributes says nothing.
        (
            vec![
                (
                    ".beads/.gitattributes",
                    "hooks/*.json merge=beads eol=lf\nattachments/** -text\n".into(),
                ),
                ("GLOBAL", "*.jsonl merge=union\n".into()),
            ],
            vec![
                (".beads/issues.jsonl", global_line.clone()),
                (".beads/mail.jsonl", global_line.clone()),
            ],
        ),
    ];
    for (files, expected) in cases {
        // Back to the initialized state.
        std::fs::write(&beads_ga, &original).unwrap();
        for f in [
            ".gitattributes",
            ".git/info/attributes",
            ".beads/hooks/.gitattributes",
        ] {
            let _ = std::fs::remove_file(a.dir.join(f));
        }
        let _ = std::fs::remove_file(&global);
        let _ = a.git_run(&["config", "--unset", "core.attributesFile"], false);
        for (f, text) in &files {
            let p = if *f == "GLOBAL" {
                a.git(&["config", "core.attributesFile", global.to_str().unwrap()]);
                global.clone()
            } else {
                a.dir.join(f)
            };
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
        }
        let r = a.bd(&["--json", "doctor"]);
        let v: serde_json::Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr));
        let found: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == "attributes" && f["severity"] == "error")
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect();
        for p in paths {
            let git = a.git(&["check-attr", "merge", "--", p]);
            let value = git.trim().rsplit(": ").next().unwrap().to_string();
            let mine: Vec<&String> = found
                .iter()
                .filter(|m| m.starts_with(&format!("{p}:")))
                .collect();
            match expected.iter().find(|(e, _)| *e == p) {
                None => {
                    assert_eq!(value, "beads", "{files:?}: git says {git}");
                    assert!(
                        mine.is_empty(),
                        "{files:?}: git says beads for {p}: {mine:?}"
                    );
                }
                Some((_, src)) => {
                    assert_ne!(value, "beads", "{files:?}: git says {git}");
                    assert!(
                        mine.len() == 1 && mine[0].contains(src.as_str()),
                        "{files:?}: {p} is {value} for git; doctor names {src}: {found:?}"
                    );
                    assert_eq!(r.code, 1, "{}", r.stdout);
                }
            }
        }
    }
}

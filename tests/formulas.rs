//! Formulas and molecules (issue 16), end to end with the real `bd`: the six
//! classic formulas poured and walked against the hand-written expectations
//! in `tests/fixtures/formulas/expected/`, idempotent pours in two clones of
//! one remote, bad formulas and bad variables refused with one line and
//! nothing written, dry runs and `bd cook`, and a formula with a loop, a
//! condition and advice whose pour is written out by hand below.
//!
//! Every expected value here comes from a fixture or is written by hand from
//! reading the formula; none is computed by the code under test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{Network, Run, TestEnvironment, Workspace};
use serde_json::Value;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formulas")
}

/// Copy the classic formula file `file` into `<ws>/.beads/formulas/`.
fn install_classic(ws: &Path, file: &str) {
    let dir = ws.join(".beads/formulas");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixtures().join("classic").join(file), dir.join(file)).unwrap();
}

/// Write a formula file `<name>.formula.toml` holding `text`.
fn install_text(ws: &Path, name: &str, text: &str) {
    let dir = ws.join(".beads/formulas");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.formula.toml")), text).unwrap();
}

/// Copy the fixture `bad/<file>` into `<ws>/.beads/formulas/`.
fn install_bad(ws: &Path, file: &str) {
    let dir = ws.join(".beads/formulas");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixtures().join("bad").join(file), dir.join(file)).unwrap();
}

fn expected(name: &str) -> Value {
    let p = fixtures().join("expected").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", p.display()))
}

/// `--var k=v` for every variable the fixture gives.
fn var_args(exp: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in exp["vars"].as_object().unwrap() {
        out.push("--var".to_string());
        out.push(format!("{k}={}", v.as_str().unwrap()));
    }
    out
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// A duration as the fixtures write it (`30m`, `2h`, `45s`), in nanoseconds.
fn nanos_of(text: &str) -> i64 {
    let (num, unit) = text.split_at(text.len() - 1);
    let n: i64 = num.parse().unwrap();
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => panic!("unit of {text:?}"),
    };
    secs * 1_000_000_000
}

/// The ids of the items `id` waits on by `blocks` edges (`bd show --json`).
fn blocks_of(show: &Value) -> BTreeSet<String> {
    show["dependencies"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|d| d["dependency_type"] == "blocks")
                .map(|d| d["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn labels_of(show: &Value) -> Vec<String> {
    let mut l = strs(&show["labels"]);
    l.sort();
    l
}

fn ids_of(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every `bd` call of a test goes through one of these: an environment's own
/// repository or a workspace of a network.
trait Bd {
    fn run(&self, args: &[&str]) -> Run;
    fn dir(&self) -> &Path;

    fn run_s(&self, args: &[String]) -> Run {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&a)
    }

    #[track_caller]
    fn js(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.run(&a).ok().json()
    }

    fn issues_bytes(&self) -> Vec<u8> {
        std::fs::read(self.dir().join(".beads/issues.jsonl")).unwrap_or_default()
    }

    #[track_caller]
    fn ready(&self) -> BTreeSet<String> {
        ids_of(&self.js(&["ready", "-n", "0"]))
    }
}

impl Bd for TestEnvironment {
    fn run(&self, args: &[&str]) -> Run {
        self.bd(args)
    }
    fn dir(&self) -> &Path {
        &self.repo
    }
}

impl Bd for Workspace {
    fn run(&self, args: &[&str]) -> Run {
        self.bd(args)
    }
    fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The lines of `text` that start an error (`Error: …`).
fn error_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("Error:")).collect()
}

/// Exactly one `Error:` line in `r`'s stderr, a non-zero exit; that line.
#[track_caller]
fn one_error(r: &Run) -> String {
    assert_ne!(r.code, 0, "expected a failure\nstdout: {}", r.stdout);
    let lines = error_lines(&r.stderr);
    assert_eq!(
        lines.len(),
        1,
        "expected one error line\nstderr: {}",
        r.stderr
    );
    let line = lines[0].to_string();
    // The message itself is on that one line: nothing after it but hints.
    for l in r.stderr.lines().filter(|l| !l.starts_with("Error:")) {
        assert!(
            l.starts_with("Hint:") || l.starts_with("note:") || l.trim().is_empty(),
            "the error runs over more than one line: {:?}",
            r.stderr
        );
    }
    assert!(
        !line.contains("\\x0a") && !line.contains("\\n"),
        "the error line carries an escaped line break: {line}"
    );
    line
}

// ---------------------------------------------------------------------------
// 1. The six classic formulas, poured and walked
// ---------------------------------------------------------------------------

const CLASSIC: [&str; 6] = [
    "beads-release",
    "feature-workflow",
    "gh-issue-to-pr",
    "gh-pr-review",
    "quick-check",
    "release",
];

/// The fixtures folder holds exactly the six formulas the tests below pour
/// (so a seventh fixture cannot go untested).
#[test]
fn every_expected_fixture_has_its_test() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures().join("expected"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert_eq!(names, CLASSIC);
    for n in CLASSIC {
        let exp = expected(n);
        assert_eq!(exp["formula"], n);
        assert!(
            fixtures()
                .join("classic")
                .join(exp["file"].as_str().unwrap())
                .is_file(),
            "{n}: its formula file"
        );
    }
}

/// Pour one classic formula as its fixture says, check every issue it made
/// against the fixture, then walk it to the end.
fn pour_and_walk(name: &str) {
    let exp = expected(name);
    let env = TestEnvironment::new();
    let bystander = env.create("unrelated work", &[]);
    install_classic(&env.repo, exp["file"].as_str().unwrap());

    let r = env.bd(&["formula", "check", name]);
    assert_eq!(r.code, 0, "{name}: formula check\n{}", r.transcript());

    let mut args: Vec<String> = ["--json", "mol", "pour", name]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(var_args(&exp));
    let report = env.run_s(&args).ok().json();
    let root = report["new_epic_id"].as_str().unwrap().to_string();
    let issues = exp["issues"].as_array().unwrap();
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["already_poured"], false);
    assert_eq!(
        report["created"].as_u64().unwrap() as usize,
        issues.len() + 1,
        "{name}: the root and every child written"
    );

    // Keys (step ids, `gate-<step>`) to the ids the fixture's `n` gives.
    let mut id_of: BTreeMap<String, String> = BTreeMap::new();
    for i in issues {
        let key = match (i.get("step"), i.get("gate_of")) {
            (Some(s), _) => s.as_str().unwrap().to_string(),
            (None, Some(g)) => format!("gate-{}", g.as_str().unwrap()),
            _ => panic!("fixture issue without step or gate_of: {i}"),
        };
        id_of.insert(key, format!("{root}.{}", i["n"]));
    }
    let id = |k: &str| -> String {
        id_of
            .get(k)
            .unwrap_or_else(|| panic!("{name}: fixture names no {k}"))
            .clone()
    };

    // The root.
    let root_show = env.js(&["show", &root]);
    assert_eq!(
        root_show["title"], exp["root"]["title"],
        "{name}: root title"
    );
    assert_eq!(
        root_show["issue_type"], exp["root"]["type"],
        "{name}: root type"
    );
    assert_eq!(root_show["status"], "open");

    // Every child, as the fixture says.
    for i in issues {
        let n = i["n"].as_u64().unwrap();
        let iid = format!("{root}.{n}");
        let show = env.js(&["show", &iid]);
        let what = format!("{name} #{n} ({iid})");
        assert_eq!(show["title"], i["title"], "{what}: title");
        assert_eq!(show["issue_type"], i["type"], "{what}: type");
        assert_eq!(show["parent"], root.as_str(), "{what}: parent");
        assert_eq!(show["status"], "open", "{what}: status");
        if i["type"] == "gate" {
            assert_eq!(show["await_type"], i["await_type"], "{what}: await_type");
            assert_eq!(show["await_id"], i["await_id"], "{what}: await_id");
            match i["timeout"].as_str() {
                Some(t) => assert_eq!(show["timeout"], nanos_of(t), "{what}: timeout"),
                None => assert!(show["timeout"].is_null(), "{what}: no timeout"),
            }
            assert!(
                blocks_of(&show).is_empty(),
                "{what}: a gate waits on nothing"
            );
        } else {
            let mut want_labels = strs(&i["labels"]);
            want_labels.sort();
            assert_eq!(labels_of(&show), want_labels, "{what}: labels");
            let want: BTreeSet<String> = strs(&i["blocked_by"]).iter().map(|k| id(k)).collect();
            assert_eq!(
                strs(&i["blocked_by"]).len(),
                want.len(),
                "{what}: fixture repeats a blocker"
            );
            assert_eq!(blocks_of(&show), want, "{what}: blocks edges");
            for s in strs(&i["description_contains"]) {
                let d = show["description"].as_str().unwrap_or("");
                assert!(d.contains(&s), "{what}: description lacks {s:?}:\n{d}");
            }
        }
    }

    // No more children than the fixture's.
    let prefix = format!("{root}.");
    let children: Vec<String> = env
        .records()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .filter(|i| i.starts_with(&prefix))
        .map(str::to_string)
        .collect();
    assert_eq!(
        children.len(),
        issues.len(),
        "{name}: children {children:?}"
    );
    let mols: Vec<Value> = env
        .records()
        .into_iter()
        .filter(|r| r["issue_type"] == "molecule")
        .collect();
    assert_eq!(mols.len(), 1, "{name}: one molecule");
    env.bd(&["show", &format!("{root}.{}", issues.len() + 1)])
        .code(1);

    // Ready: exactly the fixture's first steps among the molecule's items.
    let in_molecule = |ready: &BTreeSet<String>| -> BTreeSet<String> {
        ready
            .iter()
            .filter(|i| **i == root || i.starts_with(&prefix))
            .cloned()
            .collect()
    };
    let ready = env.ready();
    let want: BTreeSet<String> = strs(&exp["first_ready"]).iter().map(|k| id(k)).collect();
    assert_eq!(in_molecule(&ready), want, "{name}: first ready");
    assert!(ready.contains(&bystander), "{name}: other work stays ready");

    // The walk: after every close, the molecule's ready items are exactly
    // the open steps whose fixture blockers are all closed.
    let blockers: BTreeMap<String, Vec<String>> = issues
        .iter()
        .filter(|i| i["type"] != "gate")
        .map(|i| {
            (
                i["step"].as_str().unwrap().to_string(),
                strs(&i["blocked_by"]),
            )
        })
        .collect();
    let walk = strs(&exp["walk"]);
    assert_eq!(
        walk.len(),
        issues.len(),
        "{name}: the walk closes everything"
    );
    let mut closed: BTreeSet<String> = BTreeSet::new();
    for (k, key) in walk.iter().enumerate() {
        let iid = id(key);
        let is_gate = key.starts_with("gate-") && !blockers.contains_key(key);
        let ready = env.ready();
        if is_gate {
            assert!(!ready.contains(&iid), "{name}: gate {iid} offered as ready");
            env.bd(&["gate", "resolve", &iid]).ok();
        } else {
            assert!(
                ready.contains(&iid),
                "{name}: walk step {k} {key} ({iid}) is not ready; ready: {ready:?}"
            );
            env.bd(&["close", &iid]).ok();
        }
        closed.insert(key.clone());
        let want: BTreeSet<String> = blockers
            .iter()
            .filter(|(s, b)| !closed.contains(*s) && b.iter().all(|x| closed.contains(x)))
            .map(|(s, _)| id(s))
            .collect();
        let got = in_molecule(&env.ready());
        assert_eq!(got, want, "{name}: ready after closing {key}");
        let root_status = env.js(&["show", &root])["status"].clone();
        if k + 1 < walk.len() {
            assert_eq!(
                root_status, "open",
                "{name}: root closed early, after {key}"
            );
        } else {
            assert_eq!(
                root_status, "closed",
                "{name}: root open after the last step"
            );
        }
    }
    assert!(env.ready().contains(&bystander));
}

#[test]
fn classic_beads_release_pours_and_walks() {
    pour_and_walk("beads-release");
}

#[test]
fn classic_feature_workflow_pours_and_walks() {
    pour_and_walk("feature-workflow");
}

#[test]
fn classic_gh_issue_to_pr_pours_and_walks() {
    pour_and_walk("gh-issue-to-pr");
}

#[test]
fn classic_gh_pr_review_pours_and_walks() {
    pour_and_walk("gh-pr-review");
}

#[test]
fn classic_quick_check_pours_and_walks() {
    pour_and_walk("quick-check");
}

#[test]
fn classic_release_pours_and_walks() {
    pour_and_walk("release");
}

// ---------------------------------------------------------------------------
// 2. Idempotent pours in two clones
// ---------------------------------------------------------------------------

/// The same `--idempotency-key` poured in two clones before either syncs is
/// one molecule (same ids) after sync; pouring it again writes nothing.
#[test]
fn same_idempotency_key_in_two_clones_is_one_molecule() {
    let mut net = Network::new(1, "code\n");
    {
        let a = &net.c[0];
        install_classic(&a.dir, "release.formula.toml");
        a.git(&["add", "-A"]);
        a.git(&["commit", "-q", "-m", "release formula"]);
        a.git(&["push", "-q"]);
    }
    let b = net.clone_fresh("b", "bob", &[]);
    net.c.push(b);
    let (a, b) = (&net.c[0], &net.c[1]);
    assert_ne!(a.home, b.home, "two machines");

    let pour = [
        "mol",
        "pour",
        "release",
        "--var",
        "version=1.2.0",
        "--idempotency-key",
        "release-1.2.0",
    ];
    let ra = a.js(&pour);
    let rb = b.js(&pour);
    let root = ra["new_epic_id"].as_str().unwrap().to_string();
    assert_eq!(rb["new_epic_id"], root.as_str(), "same root in both clones");
    assert_eq!(ra["created"], 7);
    assert_eq!(rb["created"], 7);
    assert_eq!(ra["already_poured"], false);
    assert_eq!(rb["already_poured"], false);
    assert_eq!(ra["issues"], rb["issues"], "same children in both clones");

    net.sync(&[0, 1, 0]);

    let want_children: BTreeSet<String> = (1..=6).map(|n| format!("{root}.{n}")).collect();
    for ws in [a, b] {
        let recs = ws.records();
        let mols: Vec<&Value> = recs
            .iter()
            .filter(|r| r["issue_type"] == "molecule")
            .collect();
        assert_eq!(mols.len(), 1, "{}: one molecule: {mols:?}", ws.name());
        assert_eq!(mols[0]["id"], root.as_str());
        let prefix = format!("{root}.");
        let children: Vec<String> = recs
            .iter()
            .filter_map(|r| r["id"].as_str())
            .filter(|i| i.starts_with(&prefix))
            .map(str::to_string)
            .collect();
        assert_eq!(
            children.len(),
            6,
            "{}: one line per child: {children:?}",
            ws.name()
        );
        let set: BTreeSet<String> = children.into_iter().collect();
        assert_eq!(set, want_children, "{}", ws.name());
        // Titles as the release fixture gives them.
        let exp = expected("release");
        for i in exp["issues"].as_array().unwrap() {
            let s = ws.js(&["show", &format!("{root}.{}", i["n"])]);
            assert_eq!(s["title"], i["title"], "{}", ws.name());
        }
        let listed = ws.js(&["mol", "list", "--all"]);
        let mols: Vec<&Value> = listed.as_array().unwrap().iter().collect();
        assert_eq!(mols.len(), 1, "{}: {listed}", ws.name());
        assert_eq!(mols[0]["molecule_id"], root.as_str(), "{}", ws.name());
        assert_eq!(mols[0]["total"], 6, "{}", ws.name());
        assert_eq!(mols[0]["completed"], 0, "{}", ws.name());
    }
    assert_eq!(a.issues(), b.issues(), "the clones agree after sync");

    // Again, in either clone: already poured, nothing written.
    for ws in [a, b] {
        let before = ws.issues();
        let again = ws.js(&pour);
        assert_eq!(again["already_poured"], true, "{}", ws.name());
        assert_eq!(again["created"], 0, "{}", ws.name());
        assert_eq!(again["new_epic_id"], root.as_str());
        assert_eq!(ws.issues(), before, "{}: a repeated pour wrote", ws.name());
    }
}

// ---------------------------------------------------------------------------
// 3. Bad input: one line, non-zero exit, nothing written
// ---------------------------------------------------------------------------

/// An environment with one issue (so the tracker file is not empty) and the
/// release formula installed.
fn env_with_release() -> TestEnvironment {
    let env = TestEnvironment::new();
    env.create("already here", &[]);
    install_classic(&env.repo, "release.formula.toml");
    env
}

/// Run `args`, asserting a one-line error, a non-zero exit and an untouched
/// tracker; the error line.
#[track_caller]
fn refused(env: &TestEnvironment, args: &[&str]) -> String {
    let before = env.issues_bytes();
    assert!(!before.is_empty());
    let r = env.bd(args);
    let line = one_error(&r);
    assert_eq!(
        env.issues_bytes(),
        before,
        "{args:?} changed .beads/issues.jsonl"
    );
    line
}

/// A formula whose TOML does not parse: `check` and `pour` name the file,
/// the line and the column (the unterminated string of line 6 runs to the
/// line's end: column 11).
#[test]
fn malformed_toml_names_file_line_and_column() {
    let env = env_with_release();
    install_bad(&env.repo, "malformed.formula.toml");
    let line = refused(&env, &["mol", "pour", "malformed"]);
    assert!(
        line.contains("malformed.formula.toml:6:11:"),
        "file, line and column: {line}"
    );

    let before = env.issues_bytes();
    let r = env.bd(&["formula", "check", "malformed"]).code(1);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one problem line: {}", r.transcript());
    assert!(
        lines[0].contains("malformed.formula.toml:6:11:"),
        "{}",
        lines[0]
    );
    let j = env
        .bd(&["--json", "formula", "check", "malformed"])
        .code(1)
        .json();
    assert_eq!(j["ok"], false);
    let p = &j["formulas"][0]["problems"][0];
    assert_eq!(p["line"], 6);
    assert_eq!(p["column"], 11);
    assert_eq!(env.issues_bytes(), before);
    // The good formulas still check.
    env.bd(&["formula", "check", "release"]).ok();
}

/// The toml parser's messages for some errors run over two lines
/// (`invalid string` / `expected ...`): the problem is still one line in
/// `formula check` and one readable line (no escaped line break) in `mol
/// pour`. (Found printed over two lines, and with `\x0a`, at f79abcf; fixed
/// by 2d1a416.)
#[test]
fn malformed_toml_with_two_line_parser_message_is_one_line() {
    let env = env_with_release();
    install_bad(&env.repo, "bare-value.formula.toml");
    let line = refused(&env, &["mol", "pour", "bare-value"]);
    assert!(line.contains("bare-value.formula.toml:6:9:"), "{line}");
    let r = env.bd(&["formula", "check", "bare-value"]).code(1);
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.transcript());
}

/// `needs` that form a cycle: `check` and `pour` say "cycle" and name the
/// step and line.
#[test]
fn cycle_in_needs_is_refused() {
    let env = env_with_release();
    install_bad(&env.repo, "cycle.formula.toml");
    let before = env.issues_bytes();
    let r = env.bd(&["formula", "check", "cycle"]).code(1);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", r.transcript());
    // Step "a" (line 6) needs "c"; "c" needs "b"; "b" needs "a".
    assert!(lines[0].contains("cycle.formula.toml:"), "{}", lines[0]);
    assert!(lines[0].contains("cycle"), "{}", lines[0]);
    assert!(
        lines[0].contains("a -> "),
        "the cycle's steps: {}",
        lines[0]
    );
    let j = env
        .bd(&["--json", "formula", "check", "cycle"])
        .code(1)
        .json();
    assert_eq!(j["formulas"][0]["ok"], false);
    let p = &j["formulas"][0]["problems"];
    assert_eq!(p.as_array().unwrap().len(), 1, "{p}");
    assert!(p[0]["message"].as_str().unwrap().contains("cycle"), "{p}");
    assert_eq!(env.issues_bytes(), before);

    let line = refused(&env, &["mol", "pour", "cycle"]);
    assert!(line.contains("cycle"), "{line}");
    assert!(line.contains("cycle.formula.toml"), "{line}");
}

/// `{{nope}}` in a title: the line and the step ("build") are named. The
/// step starts on line 5 and its title is on line 7: either is the place.
#[test]
fn unknown_variable_in_title_names_line_and_step() {
    let env = env_with_release();
    install_bad(&env.repo, "unknown-var.formula.toml");
    let r = env.bd(&["formula", "check", "unknown-var"]).code(1);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", r.transcript());
    assert!(
        lines[0].contains("unknown-var.formula.toml:5: step \"build\":")
            || lines[0].contains("unknown-var.formula.toml:7: step \"build\":"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("{{nope}}"), "{}", lines[0]);
    let j = env
        .bd(&["--json", "formula", "check", "unknown-var"])
        .code(1)
        .json();
    let p = &j["formulas"][0]["problems"][0];
    assert!(p["line"] == 5 || p["line"] == 7, "{p}");
    assert_eq!(p["step"], "build");

    let line = refused(&env, &["mol", "pour", "unknown-var"]);
    assert!(line.contains("line 5") || line.contains("line 7"), "{line}");
    assert!(line.contains("\"build\""), "{line}");
    assert!(line.contains("nope"), "{line}");
}

/// Variables: a required one missing, one failing its pattern, one the
/// formula does not declare.
#[test]
fn bad_variables_are_refused() {
    let env = env_with_release();
    let line = refused(&env, &["mol", "pour", "release"]);
    assert!(
        line.contains("missing required variables: version"),
        "{line}"
    );

    let line = refused(&env, &["mol", "pour", "release", "--var", "version=abc"]);
    assert!(line.contains("version"), "{line}");
    assert!(line.contains("\"abc\""), "{line}");
    assert!(line.contains("pattern"), "{line}");

    let line = refused(
        &env,
        &[
            "mol",
            "pour",
            "release",
            "--var",
            "version=1.2.0",
            "--var",
            "nope=1",
        ],
    );
    assert!(line.contains("unknown variable"), "{line}");
    assert!(line.contains("nope"), "{line}");

    // Dry runs refuse the same way.
    let line = refused(&env, &["mol", "pour", "release", "--dry-run"]);
    assert!(
        line.contains("missing required variables: version"),
        "{line}"
    );
    // And the right value pours.
    env.bd(&["mol", "pour", "release", "--var", "version=1.2.0"])
        .ok();
}

/// A formula name that is a path is refused, even when the file it points
/// at exists and would pour.
#[test]
fn formula_name_with_dotdot_is_refused() {
    let env = env_with_release();
    // `.beads/x.formula.toml`: what `formulas/../x` would read.
    let text = std::fs::read_to_string(fixtures().join("classic/quick-check.formula.toml"))
        .unwrap()
        .replace("formula = \"quick-check\"", "formula = \"x\"");
    std::fs::write(env.beads().join("x.formula.toml"), text).unwrap();
    for name in ["../x", "../formulas/../x", "/etc/passwd", ".hidden"] {
        let line = refused(&env, &["mol", "pour", name]);
        assert!(line.contains(name), "{name}: {line}");
        let line = refused(&env, &["formula", "show", name]);
        assert!(line.contains(name), "{name}: {line}");
    }
    let mols = env.json(&["mol", "list", "--all"]);
    assert_eq!(mols.as_array().unwrap().len(), 0, "{mols}");
}

/// A formula file that is a symlink (to a good formula outside `.beads`) is
/// refused by `pour`, `check` and `cook`.
#[test]
fn symlinked_formula_is_refused() {
    let env = env_with_release();
    let outside = env.folder("elsewhere").join("linked.formula.toml");
    let text = std::fs::read_to_string(fixtures().join("classic/quick-check.formula.toml"))
        .unwrap()
        .replace("formula = \"quick-check\"", "formula = \"linked\"");
    std::fs::write(&outside, text).unwrap();
    std::os::unix::fs::symlink(&outside, env.beads().join("formulas/linked.formula.toml")).unwrap();
    for args in [
        &["mol", "pour", "linked"][..],
        &["mol", "pour", "linked", "--dry-run"],
        &["formula", "check", "linked"],
        &["cook", "linked"],
    ] {
        let line = refused(&env, args);
        assert!(line.contains("symbolic link"), "{args:?}: {line}");
        assert!(line.contains("linked.formula.toml"), "{args:?}: {line}");
    }
    let mols = env.json(&["mol", "list", "--all"]);
    assert_eq!(mols.as_array().unwrap().len(), 0, "{mols}");

    // The folder `.beads/formulas` itself a link to a folder outside.
    let formulas = env.beads().join("formulas");
    std::fs::remove_dir_all(&formulas).unwrap();
    std::os::unix::fs::symlink(outside.parent().unwrap(), &formulas).unwrap();
    let line = refused(&env, &["mol", "pour", "linked"]);
    assert!(line.contains("symbolic link"), "{line}");
    let mols = env.json(&["mol", "list", "--all"]);
    assert_eq!(mols.as_array().unwrap().len(), 0, "{mols}");
}

// ---------------------------------------------------------------------------
// 4. Dry run and cook
// ---------------------------------------------------------------------------

#[test]
fn dry_run_writes_nothing_and_cook_prints_the_resolved_formula() {
    let env = env_with_release();
    let exp = expected("release");
    let before = env.issues_bytes();
    let status_before = common::git(&env.repo, &["status", "--porcelain"]);
    let r = env.json(&[
        "mol",
        "pour",
        "release",
        "--var",
        "version=1.2.0",
        "--dry-run",
    ]);
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["created"], 0);
    let titles: Vec<Value> = r["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].clone())
        .collect();
    let want: Vec<Value> = exp["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].clone())
        .collect();
    assert_eq!(titles, want, "the dry run shows the fixture's titles");
    assert_eq!(env.issues_bytes(), before, "a dry run wrote");
    assert_eq!(
        common::git(&env.repo, &["status", "--porcelain"]),
        status_before
    );
    let root = r["new_epic_id"].as_str().unwrap();
    env.bd(&["show", root]).code(1);
    assert_eq!(env.json(&["mol", "list", "--all"]), serde_json::json!([]));

    // cook: runtime substitutes, compile keeps the placeholders.
    let cooked = env
        .bd(&["cook", "release", "--var", "version=1.2.0"])
        .ok()
        .json();
    let steps = cooked["steps"].as_array().unwrap();
    let got: Vec<(&str, &str)> = steps
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["title"].as_str().unwrap()))
        .collect();
    let want: Vec<(&str, &str)> = exp["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["step"].as_str().unwrap(), i["title"].as_str().unwrap()))
        .collect();
    assert_eq!(got, want);
    assert!(got.iter().any(|(_, t)| t.contains("1.2.0")));
    assert!(!cooked.to_string().contains("{{version}}"), "{cooked}");

    let compiled = env
        .bd(&["cook", "release", "--mode", "compile"])
        .ok()
        .json();
    let titles: Vec<&str> = compiled["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Bump version to {{version}}",
            "Update CHANGELOG",
            "Run full test suite",
            "Build release artifacts",
            "Create git tag v{{version}}",
            "Publish release",
        ]
    );
    assert_eq!(env.issues_bytes(), before, "cook wrote");
}

// ---------------------------------------------------------------------------
// 5. Loops, conditions and advice
// ---------------------------------------------------------------------------

const LOOPED: &str = r#"formula = "looped"
description = "Build and test {{n}} rounds"
version = 1
type = "workflow"

[vars.n]
description = "How many rounds"
required = true
pattern = "^[0-9]+$"

[vars.docs]
description = "Write docs too (yes/no)"
default = "no"

[[steps]]
id = "prep"
title = "Prepare"

[[steps]]
id = "rounds"
title = "Rounds"
needs = ["prep"]

[steps.loop]
range = "1..{{n}}"
var = "i"

[[steps.loop.body]]
id = "build"
title = "Build round {i}"

[[steps.loop.body]]
id = "test"
title = "Test round {i}"
needs = ["build"]

[[steps]]
id = "docs"
title = "Write docs"
needs = ["rounds"]
condition = "{{docs}} == yes"

[[steps]]
id = "ship"
title = "Ship it"
needs = ["rounds"]

[[advice]]
target = "ship"
before = { id = "review-{step.id}", title = "Review before {step.title}" }
"#;

/// (n, step, title, blocked by (steps)) as written by hand from `LOOPED`:
/// the loop's iterations unrolled as `rounds.iter<k>.<body id>` and chained,
/// the loop's needs on its first step, what needs the loop waiting on its
/// last, `docs` only when `docs == yes`, and the advice's before-step taking
/// over the target's needs.
fn looped_expected(docs: bool) -> Vec<(u32, &'static str, &'static str, Vec<&'static str>)> {
    let mut v = vec![
        (1, "prep", "Prepare", vec![]),
        (2, "rounds.iter1.build", "Build round 1", vec!["prep"]),
        (
            3,
            "rounds.iter1.test",
            "Test round 1",
            vec!["rounds.iter1.build"],
        ),
        (
            4,
            "rounds.iter2.build",
            "Build round 2",
            vec!["rounds.iter1.test"],
        ),
        (
            5,
            "rounds.iter2.test",
            "Test round 2",
            vec!["rounds.iter2.build"],
        ),
        (
            6,
            "rounds.iter3.build",
            "Build round 3",
            vec!["rounds.iter2.test"],
        ),
        (
            7,
            "rounds.iter3.test",
            "Test round 3",
            vec!["rounds.iter3.build"],
        ),
    ];
    let mut n = 8;
    if docs {
        v.push((n, "docs", "Write docs", vec!["rounds.iter3.test"]));
        n += 1;
    }
    v.push((
        n,
        "review-ship",
        "Review before Ship it",
        vec!["rounds.iter3.test"],
    ));
    v.push((n + 1, "ship", "Ship it", vec!["review-ship"]));
    v
}

fn check_looped(docs: bool) {
    let env = TestEnvironment::new();
    install_text(&env.repo, "looped", LOOPED);
    env.bd(&["formula", "check", "looped"]).ok();
    let mut args = vec!["mol", "pour", "looped", "--var", "n=3"];
    if docs {
        args.extend(["--var", "docs=yes"]);
    }
    let r = env.json(&args);
    let root = r["new_epic_id"].as_str().unwrap().to_string();
    let want = looped_expected(docs);
    let id_of: BTreeMap<&str, String> = want
        .iter()
        .map(|(n, s, _, _)| (*s, format!("{root}.{n}")))
        .collect();

    // The report, in order.
    let got: Vec<(String, String, String, Vec<String>)> = r["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["step"].as_str().unwrap().to_string(),
                i["title"].as_str().unwrap().to_string(),
                strs(&i["blocked_by"]),
            )
        })
        .collect();
    let wanted: Vec<(String, String, String, Vec<String>)> = want
        .iter()
        .map(|(n, s, t, b)| {
            (
                format!("{root}.{n}"),
                s.to_string(),
                t.to_string(),
                b.iter().map(|x| id_of[x].clone()).collect(),
            )
        })
        .collect();
    assert_eq!(got, wanted, "docs={docs}: the pour report");
    assert_eq!(r["created"].as_u64().unwrap() as usize, want.len() + 1);

    // What was written.
    for (n, _, title, blocked) in &want {
        let iid = format!("{root}.{n}");
        let s = env.json(&["show", &iid]);
        assert_eq!(s["title"], *title, "{iid}");
        assert_eq!(s["issue_type"], "task", "{iid}");
        let b: BTreeSet<String> = blocked.iter().map(|x| id_of[x].clone()).collect();
        assert_eq!(blocks_of(&s), b, "{iid}: blocks edges");
    }
    env.bd(&["show", &format!("{root}.{}", want.len() + 1)])
        .code(1);
    let ready: BTreeSet<String> = env
        .ready()
        .into_iter()
        .filter(|i| i.starts_with(&root))
        .collect();
    assert_eq!(ready, BTreeSet::from([format!("{root}.1")]));
}

#[test]
fn loop_condition_and_advice_unroll_as_written() {
    check_looped(false);
}

#[test]
fn loop_with_condition_holding_keeps_the_step() {
    check_looped(true);
}

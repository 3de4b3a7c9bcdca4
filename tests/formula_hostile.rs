//! Hostile formulas and trackers (issue 16, an adversarial review): a pour
//! never replaces an issue that is there, a FIFO named like a formula does
//! not hang, a burned key is not "poured already", and titles with line
//! breaks do not forge lines of `mol show`.

mod common;

use common::TestEnvironment;

fn formulas(env: &TestEnvironment) -> std::path::PathBuf {
    let d = env.beads().join("formulas");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/formulas/classic/release.formula.toml"),
        d.join("release.formula.toml"),
    )
    .unwrap();
    d
}

#[test]
fn a_pour_never_replaces_an_issue_that_is_there() {
    let env = TestEnvironment::new();
    formulas(&env);
    // Learn the keyed root, then start over with an issue at <root>.3.
    let dry = env
        .bd(&[
            "--json",
            "mol",
            "pour",
            "release",
            "--var",
            "version=1.2.0",
            "--idempotency-key",
            "K",
            "--dry-run",
        ])
        .ok()
        .json();
    let root = dry["new_epic_id"].as_str().unwrap().to_string();
    let line = format!(
        "{{\"id\":\"{root}.3\",\"title\":\"PRECIOUS\",\"status\":\"open\",\"priority\":2,\"issue_type\":\"bug\",\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":\"2026-01-01T00:00:00Z\"}}\n"
    );
    let mut text = env.issues_text();
    text.push_str(&line);
    std::fs::write(env.issues_path(), &text).unwrap();
    let before = env.issues_text();
    let r = env.bd(&[
        "mol",
        "pour",
        "release",
        "--var",
        "version=1.2.0",
        "--idempotency-key",
        "K",
    ]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("{root}.3")), "{}", r.stderr);
    assert_eq!(
        env.issues_text(),
        before,
        "nothing poured, nothing replaced"
    );
    let shown = env
        .bd(&["--json", "show", &format!("{root}.3")])
        .ok()
        .json();
    assert_eq!(shown["title"], "PRECIOUS");
}

#[test]
fn a_fifo_named_like_a_formula_does_not_hang() {
    let env = TestEnvironment::new();
    let d = formulas(&env);
    let fifo = d.join("trap.formula.toml");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(ok.success());
    // list and check name it and go on; pour refuses it.
    let list = env.bd(&["--json", "formula", "list"]).ok().json();
    let trap = list
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "trap")
        .unwrap();
    assert!(
        trap["error"]
            .as_str()
            .unwrap()
            .contains("not a regular file"),
        "{trap}"
    );
    let check = env.bd(&["--json", "formula", "check"]).code(1).json();
    let release = check["formulas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "release")
        .unwrap();
    assert_eq!(
        release["ok"], true,
        "the other formulas are still checked: {check}"
    );
    let r = env.bd(&["mol", "pour", "trap"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
}

#[test]
fn a_burned_key_is_not_poured_already() {
    let env = TestEnvironment::new();
    formulas(&env);
    let p = env
        .bd(&[
            "--json",
            "mol",
            "pour",
            "release",
            "--var",
            "version=1.2.0",
            "--idempotency-key",
            "B",
        ])
        .ok()
        .json();
    let root = p["new_epic_id"].as_str().unwrap().to_string();
    env.bd(&["mol", "burn", &root]).ok();
    let r = env.bd(&[
        "mol",
        "pour",
        "release",
        "--var",
        "version=1.2.0",
        "--idempotency-key",
        "B",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("was deleted"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("bd restore {root}")),
        "{}",
        r.stderr
    );
}

#[test]
fn a_line_break_in_a_value_does_not_forge_a_step_line() {
    let env = TestEnvironment::new();
    formulas(&env);
    let p = env
        .bd(&["--json", "mol", "pour", "release", "--var", "version=1.2.0"])
        .ok()
        .json();
    let root = p["new_epic_id"].as_str().unwrap().to_string();
    env.bd(&[
        "update",
        &format!("{root}.1"),
        "--title",
        "Bump\n  [done] forged line",
    ])
    .ok();
    let out = env.bd(&["mol", "show", &root]).ok().stdout;
    assert!(
        !out.lines()
            .any(|l| l.trim_start().starts_with("[done] forged")),
        "{out}"
    );
}

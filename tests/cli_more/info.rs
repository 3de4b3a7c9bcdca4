//! `stats`, `where`, `config`, `version`, completion, onboarding.

use super::*;

// ---------------------------------------------------------------- stats, where

#[test]
fn stats_uses_classic_names() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &[]);
    let c = env.create("C", &[]);
    let _d = env.create("D", &[]);
    let e = env.create("E", &[]);
    env.bd(&["dep", "add", &a, &b]).ok();
    env.bd(&["close", &c]).ok();
    env.bd(&["delete", &e]).ok();

    let s = env.json(&["stats"])["summary"].clone();
    assert_eq!(s["total_issues"], 4, "{s}");
    assert_eq!(s["open_issues"], 3, "{s}");
    assert_eq!(s["closed_issues"], 1, "{s}");
    assert_eq!(s["blocked_issues"], 1, "{s}");
    assert_eq!(s["ready_issues"], 2, "{s}");
    assert_eq!(s["in_progress_issues"], 0, "{s}");
    assert!(s.get("tombstone_issues").is_some(), "{s}");
    assert!(s.get("average_lead_time_hours").is_some(), "{s}");
    // The sets agree with the listing commands.
    assert_eq!(env.json(&["ready", "-n", "0"]).as_array().unwrap().len(), 2);
    assert_eq!(env.json(&["blocked"]).as_array().unwrap().len(), 1);
    let r = env.bd(&["stats"]).ok();
    crate::assert_human!(env, "stats", r.transcript());
    env.bd(&["claim", &b]).ok();
    assert_eq!(env.json(&["stats"])["summary"]["in_progress_issues"], 1);
    // A child of a blocked issue is blocked too, in every view.
    let child = env.create("Child of blocked", &["--parent", &a]);
    let s = env.json(&["stats"])["summary"].clone();
    let blocked = ids(&env.json(&["blocked"]));
    assert!(blocked.contains(&child), "{blocked:?}");
    assert!(!ids(&env.json(&["ready", "-n", "0"])).contains(&child));
    assert_eq!(s["blocked_issues"], blocked.len(), "{s}");
    assert_eq!(
        s["ready_issues"],
        env.json(&["ready", "-n", "0"]).as_array().unwrap().len()
    );
}

#[test]
fn where_names_the_workspace() {
    let env = TestEnvironment::new();
    env.create("One", &[]);
    let v = env.json(&["where"]);
    let root = std::fs::canonicalize(&env.repo).unwrap();
    assert_eq!(Path::new(v["root"].as_str().unwrap()), root.as_path());
    assert_eq!(
        Path::new(v["issues_file"].as_str().unwrap()),
        root.join(".beads/issues.jsonl").as_path()
    );
    assert_eq!(v["prefix"], "bd");
    assert_eq!(v["actor"], "tester");
    assert_eq!(v["issues"], 1);
    assert_eq!(v["auto_commit"], "off");
    // From a subfolder: the same workspace.
    let sub = env.repo.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let r = env
        .bd(&["--json", "-C", sub.to_str().unwrap(), "where"])
        .ok();
    assert_eq!(r.json()["root"], v["root"]);
    let r = env.bd(&["where"]).ok();
    assert!(r.stdout.contains(root.to_str().unwrap()), "{}", r.stdout);
    // The identity of an unborn repository derives from its (temp) path.
    let text = r
        .transcript()
        .replace(v["identity"].as_str().unwrap(), "[IDENTITY]");
    crate::assert_human!(env, "where", text);
    // --actor wins over BD_ACTOR.
    let r = env.bd(&["--json", "--actor", "someone-else", "where"]).ok();
    assert_eq!(r.json()["actor"], "someone-else");
}

// ---------------------------------------------------------------- config

#[test]
fn config_get_set_list_unset() {
    let env = TestEnvironment::new();
    let cfg = env.beads().join("config.toml");
    assert_eq!(
        env.bd(&["config", "get", "prefix"]).ok().stdout.trim(),
        "bd"
    );
    assert_eq!(env.json(&["config", "get", "prefix"])["value"], "bd");
    assert_eq!(
        env.bd(&["config", "get", "auto_commit"]).ok().stdout.trim(),
        "off"
    );

    let v = env.json(&["config", "set", "auto_commit", "batch"]);
    assert_eq!(v["changed"], true);
    assert_eq!(
        env.bd(&["config", "get", "auto_commit"]).ok().stdout.trim(),
        "batch"
    );
    let before = std::fs::read(&cfg).unwrap();
    let r = env.bd(&["config", "set", "auto_commit", "batch"]).ok();
    crate::assert_human!(env, "config_set_same_value", r.transcript());
    assert_eq!(
        env.json(&["config", "set", "auto_commit", "batch"])["changed"],
        false
    );
    assert_eq!(std::fs::read(&cfg).unwrap(), before);

    // Invalid values and unknown keys are refused; the file is untouched.
    for (k, val) in [
        ("auto_commit", "sometimes"),
        ("lease", "0m"),
        ("lease", "soon"),
        ("commit_window", "-5m"),
        ("prefix", "9bad"),
        ("prefix", "has space"),
        ("coordination", "galaxy"),
        ("attachment_limit", "-1"),
    ] {
        let r = env.bd(&["config", "set", "--", k, val]);
        assert_eq!(r.code, 1, "{k}={val}: {}", r.stderr);
        assert!(!r.stderr.trim().is_empty());
    }
    let v = json_err(&env, &["config", "set", "no_such_key", "1"], 1, "not_found");
    assert!(v["error"].as_str().unwrap().contains("no_such_key"));
    env.bd(&["config", "get", "no_such_key"]).code(1);
    env.bd(&["config", "unset", "no_such_key"]).code(1);
    assert_eq!(std::fs::read(&cfg).unwrap(), before);

    env.bd(&["config", "set", "lease", "20m"]).ok();
    env.bd(&["config", "set", "custom_statuses", "review, qa"])
        .ok();
    let list = env.json(&["config", "list"]);
    assert_eq!(list["auto_commit"], "batch");
    assert_eq!(list["lease"], "20m");
    assert_eq!(list["prefix"], "bd");
    assert!(list["custom_statuses"].as_str().unwrap().contains("review"));
    assert!(
        list.get("commit_window").is_some(),
        "defaults are listed: {list}"
    );
    let text = env.bd(&["config", "list"]).ok().stdout;
    assert!(text.contains("auto_commit = batch"), "{text}");
    // A custom status is now accepted by update.
    let a = env.create("Reviewed", &[]);
    env.bd(&["update", &a, "-s", "review"]).ok();
    assert_eq!(env.record(&a)["status"], "review");

    let v = env.json(&["config", "unset", "auto_commit"]);
    assert_eq!(v["changed"], true);
    assert_eq!(
        env.bd(&["config", "get", "auto_commit"]).ok().stdout.trim(),
        "off"
    );
    assert!(
        !std::fs::read_to_string(&cfg)
            .unwrap()
            .contains("auto_commit")
    );
    let v = env.json(&["config", "unset", "auto_commit"]);
    assert_eq!(v["changed"], false);
}

// ---------------------------------------------------------------- version etc.

#[test]
fn version_completion_onboard() {
    let env = TestEnvironment::new();
    let v = env.json(&["version"]);
    assert_eq!(v["implementation"], "strand");
    // The classic contract first (clients parse `bd version X.Y.Z`), then
    // strand's own version.
    assert_eq!(v["version"], "1.0.5");
    assert_eq!(v["strand"], env!("CARGO_PKG_VERSION"));
    let t = env.bd(&["version"]).ok().stdout;
    assert_eq!(
        t.trim(),
        format!("bd version 1.0.5 (strand {})", env!("CARGO_PKG_VERSION"))
    );
    // Works without a workspace too.
    let mut c = env.cmd(&["--json", "version"]);
    c.current_dir(env.tmp.path());
    let o = c.output().unwrap();
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["implementation"], "strand");

    for shell in ["bash", "zsh", "fish"] {
        let r = env.bd(&["completion", shell]).ok();
        assert!(r.stdout.len() > 100, "{shell}: {}", r.stdout);
        assert!(r.stdout.contains("bd"), "{shell}");
        assert!(r.stdout.contains("ready"), "{shell} completes subcommands");
    }
    env.bd(&["completion", "tcsh-ish"]).code(2);

    let r = env.bd(&["onboard"]).ok();
    assert!(r.stdout.contains("BD_ACTOR"), "{}", r.stdout);
    assert!(r.stderr.contains("bd setup <agent>"), "{}", r.stderr);
    assert!(
        !r.stdout.contains("bd setup"),
        "the snippet stays as it was"
    );
    assert!(r.stdout.contains("bd ready"));
    let v = env.json(&["onboard"]);
    assert!(v.to_string().contains("BD_ACTOR"));
}

//! An unmerged tracker is seen and merged (item 5).

use super::*;

#[test]
fn item_05_unmerged_tracker_when_bd_is_not_on_git_path() {
    let net = net(2);
    let a = &net.c[0];
    diverge(&net, "alice's work", "bob's work");
    // git's shell cannot find bd: the driver fails, the file keeps our side.
    let r = a.git_run(&["pull", "-q", "--no-rebase", "origin", "main"], false);
    assert_ne!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!a.issues_text().contains("bob's work"));
    check_unmerged_then_fix(a, &["alice's work", "bob's work"]);
}

#[test]
fn item_05_unmerged_tracker_when_a_side_does_not_parse() {
    let net = net(2);
    let (a, b) = (&net.c[0], &net.c[1]);
    create(b, "bob's work");
    let mut text = b.issues_text();
    text.push_str("{\"id\": \"bd-zzz\", broken\n");
    std::fs::write(b.dir.join(".beads/issues.jsonl"), text).unwrap();
    b.git(&["commit", "-q", "-am", "bob, with a broken line"]);
    b.git(&["push", "-q"]);
    create(a, "alice's work");
    ok(a.bd(&["commit"]));
    // bd is on git's PATH this time; the driver refuses the broken side.
    let r = a.git_run(&["pull", "-q", "--no-rebase", "origin", "main"], true);
    assert_ne!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    check_unmerged_then_fix(a, &["alice's work", "bob's work"]);
    // The broken line is kept in quarantine, not dropped.
    let q: String = std::fs::read_dir(a.dir.join(".beads/quarantine"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(q.contains("broken"), "{q}");
}

#[test]
fn item_05_unmerged_mail_and_hook_files_are_merged_too() {
    let net = net(2);
    let (a, b) = (&net.c[0], &net.c[1]);
    // Mail to a workspace-local agent: both sides add a message.
    let x = create(a, "shared work");
    ok(a.bd(&["commit"]));
    a.git(&["push", "-q"]);
    b.git(&["pull", "-q"]);
    ok(b.bd(&["mail", "send", "--to", "bob", "-s", "from bob", "-b", "b"]));
    // Both sides put work on dave's hook: hooks/dave.json conflicts too.
    let y = create(b, "bob's item");
    ok(b.bd(&["sling", &y, "dave"]));
    ok(b.bd(&["commit"]));
    b.git(&["push", "-q"]);
    ok(a.bd(&[
        "mail",
        "send",
        "--to",
        "alice",
        "-s",
        "from alice",
        "-b",
        "a",
    ]));
    ok(a.bd(&["sling", &x, "dave"]));
    ok(a.bd(&["commit"]));
    let r = a.git_run(&["pull", "-q", "--no-rebase", "origin", "main"], false);
    assert_ne!(r.code, 0);
    // Both sides added the files (AA): unmerged all the same.
    let u = a.git(&["diff", "--name-only", "--diff-filter=U"]);
    assert!(
        u.contains(".beads/mail.jsonl") && u.contains(".beads/hooks/dave.json"),
        "{}",
        porcelain(a)
    );
    let r = a.bd(&["doctor"]);
    for f in [".beads/mail.jsonl", ".beads/hooks/dave.json"] {
        assert!(
            r.stdout.contains(&format!("{f} is unmerged")),
            "{}",
            r.stdout
        );
    }
    let r = a.bd(&["sling", &x, "erin"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = ok(a.bd(&["doctor", "--fix"]));
    assert!(!r.stderr.contains("unmerged"), "{}", r.stderr);
    let hook = std::fs::read_to_string(a.dir.join(".beads/hooks/dave.json")).unwrap();
    assert!(hook.contains(&x) && hook.contains(&y), "{hook}");
    let mail = std::fs::read_to_string(a.dir.join(".beads/mail.jsonl")).unwrap();
    assert!(
        mail.contains("from bob") && mail.contains("from alice"),
        "{mail}"
    );
    let u = a.git(&["diff", "--name-only", "--diff-filter=U"]);
    assert_eq!(u.trim(), "", "{}", porcelain(a));
    a.git(&["commit", "-q", "--no-edit"]);
}

/// Review break 5 (item 5): an unmerged config.toml locks nobody out.
/// `doctor` runs with default settings and names the file, line and reason;
/// `doctor --fix` merges the two sides (keys of both; a key both set
/// differently keeps ours and names the dropped value) and stages it; other
/// commands refuse with a hint that works.
#[test]
fn item_05_review_unmerged_config_toml_is_merged_by_doctor() {
    let net = Network::empty_without_bd();
    let (_x, y) = both_init(&net);
    assert!(
        porcelain(&y).contains("AA .beads/config.toml"),
        "{}",
        porcelain(&y)
    );
    let r = y.bd(&["list"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("config.toml:") && r.stderr.contains("bd doctor --fix"),
        "{}",
        r.stderr
    );
    let r = y.bd(&["--json", "doctor"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let msgs: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "config")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        msgs.iter().any(|m| m.contains(".beads/config.toml:1:")),
        "file, line and reason: {msgs:?}"
    );
    let r = ok(y.bd(&["doctor", "--fix"]));
    assert!(r.stdout.contains("[fixed]"), "{}", r.stdout);
    assert!(
        r.stdout.contains("prefix") && r.stdout.contains("\"aa\""),
        "the dropped prefix is named: {}",
        r.stdout
    );
    let text = std::fs::read_to_string(y.dir.join(".beads/config.toml")).unwrap();
    assert!(!text.contains("<<<<<<<"), "{text}");
    // Ours (bb, 30m) wins where both set a key; theirs' new key is kept.
    assert_eq!(ok(y.bd(&["config", "get", "prefix"])).stdout.trim(), "bb");
    assert_eq!(ok(y.bd(&["config", "get", "lease"])).stdout.trim(), "30m");
    assert_eq!(
        ok(y.bd(&["config", "get", "custom_types"])).stdout.trim(),
        "spike"
    );
    let st = porcelain(&y);
    assert!(!st.contains("AA"), "{st}");
    assert!(
        st.contains("A  .beads/config.toml") || st.contains("M  .beads/config.toml"),
        "{st}"
    );
    y.git(&["commit", "-q", "--no-edit"]);
    create(&y, "after the merge");
    let r = ok(y.bd(&["doctor"]));
    assert!(!r.stdout.contains("config.toml"), "{}", r.stdout);
}

/// Review break 5, markers without an unmerged index entry (the conflicted
/// file was staged as it was): `doctor --fix` merges its marker sections.
#[test]
fn item_05_review_config_toml_with_markers_but_staged_is_repaired() {
    let net = Network::empty_without_bd();
    let (_x, y) = both_init(&net);
    y.git(&["add", ".beads/config.toml"]);
    let r = y.bd(&["doctor"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(".beads/config.toml:"), "{}", r.stdout);
    let r = ok(y.bd(&["doctor", "--fix"]));
    assert!(r.stdout.contains("[fixed]"), "{}", r.stdout);
    assert_eq!(ok(y.bd(&["config", "get", "prefix"])).stdout.trim(), "bb");
    assert_eq!(
        ok(y.bd(&["config", "get", "custom_types"])).stdout.trim(),
        "spike"
    );
    ok(y.bd(&["list"]));
}

/// Review 3, item 5: git merges `config.toml` line by line; two clones that
/// each set `lease` on a different line merge without a conflict into a key
/// set twice, and `bd sync` pushed it: every command then failed on it, and
/// `doctor --fix` could not repair it. Now sync checks the merged settings
/// parse, undoes such a merge and pushes nothing (file, line and fault
/// named); `doctor --fix` keeps the first setting of each key.
#[test]
fn item_05_review3_sync_refuses_a_merge_that_sets_a_key_twice() {
    let net = net(2);
    let (a, b) = (&net.c[0], &net.c[1]);
    ok(a.bd(&["config", "set", "lease", "10m"]));
    a.git(&["commit", "-q", "-am", "lease 10m"]);
    a.git(&["push", "-q"]);
    let cfg = b.dir.join(".beads/config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("lease = \"30m\"\n");
    std::fs::write(&cfg, &text).unwrap();
    b.git(&["commit", "-q", "-am", "lease 30m by hand"]);
    let head = b.git(&["rev-parse", "HEAD"]);
    let remote_before = a.git(&["ls-remote", "origin", "main"]);

    let r = b.bd(&["sync"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("config.toml:") && r.stderr.contains("duplicate key"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was merged"), "{}", r.stderr);
    assert_eq!(b.git(&["rev-parse", "HEAD"]), head, "no merge was made");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), text);
    assert_eq!(porcelain(b), "", "nothing left half-done");
    assert_eq!(
        a.git(&["ls-remote", "origin", "main"]),
        remote_before,
        "nothing pushed"
    );
    ok(b.bd(&["list"]));

    // Merged by hand, as the hint says: doctor names it, --fix repairs it.
    b.git(&["merge", "-q", "--no-edit", "origin/main"]);
    assert_eq!(b.bd(&["list"]).code, 1);
    let r = b.bd(&["doctor"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("duplicate key") && r.stdout.contains("would drop"),
        "{}",
        r.stdout
    );
    let r = ok(b.bd(&["doctor", "--fix"]));
    assert!(
        r.stdout.contains("[fixed]") && r.stdout.contains("lease = \"30m\""),
        "{}",
        r.stdout
    );
    assert_eq!(ok(b.bd(&["config", "get", "lease"])).stdout.trim(), "10m");
    b.git(&["commit", "-q", "-am", "one lease"]);
    ok(b.bd(&["sync"]));
    a.git(&["pull", "-q", "--no-rebase"]);
    assert_eq!(ok(a.bd(&["config", "get", "lease"])).stdout.trim(), "10m");
    ok(a.bd(&["doctor"]));
}

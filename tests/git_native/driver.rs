//! The merge driver: its attributes and config, and life without it.

use super::*;

// ---------------------------------------------------------------------------
// 2. The merge driver config
// ---------------------------------------------------------------------------

#[test]
fn init_writes_gitattributes_and_the_driver() {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    std::fs::write(ws.dir.join(".gitattributes"), "*.png binary").unwrap();
    ws.bd(&["init", "--prefix", "bd"]).ok();
    // The user's root file is left alone; strand's attribute lives in .beads/.
    assert_eq!(
        std::fs::read_to_string(ws.dir.join(".gitattributes")).unwrap(),
        "*.png binary"
    );
    let ga = std::fs::read_to_string(ws.dir.join(".beads/.gitattributes")).unwrap();
    let lines: Vec<&str> = ga.lines().collect();
    assert_eq!(
        lines,
        vec![
            "*.jsonl merge=beads eol=lf",
            "hooks/*.json merge=beads eol=lf",
            "attachments/** -text"
        ],
        "{ga}"
    );
    assert_eq!(
        ws.config_value("merge.beads.driver").as_deref(),
        Some(DRIVER)
    );
    for p in [
        ".beads/issues.jsonl",
        ".beads/mail.jsonl",
        ".beads/hooks/alice.json",
    ] {
        let a = ws.git(&["check-attr", "merge", "--", p]);
        assert_eq!(a.trim(), format!("{p}: merge: beads"));
    }
    // Again: nothing duplicated.
    ws.bd(&["init"]).ok();
    assert_eq!(
        std::fs::read_to_string(ws.dir.join(".beads/.gitattributes")).unwrap(),
        ga
    );
    let all = ws.git(&["config", "--get-all", "merge.beads.driver"]);
    assert_eq!(all.lines().count(), 1, "{all}");
}

#[test]
fn classic_driver_config_is_repaired_with_one_notice() {
    let net = Network::new(1, "line 1\n");
    let a = &net.c[0];
    a.git(&["config", "merge.beads.driver", CLASSIC_DRIVER]);
    let r = a.bd(&["list"]).ok();
    let notices: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("merge.beads.driver"))
        .collect();
    assert_eq!(notices.len(), 1, "stderr: {}", r.stderr);
    assert!(notices[0].contains(CLASSIC_DRIVER), "{}", notices[0]);
    assert!(
        !r.stdout.contains("merge.beads"),
        "stdout is data: {}",
        r.stdout
    );
    assert_eq!(
        a.config_value("merge.beads.driver").as_deref(),
        Some(DRIVER)
    );
    let all = a.git(&["config", "--get-all", "merge.beads.driver"]);
    assert_eq!(all.lines().count(), 1, "{all}");
    // The rest of the config is intact.
    assert_eq!(a.config_value("user.name").as_deref(), Some("alice"));
    assert_eq!(
        a.config_value("remote.origin.url").as_deref(),
        Some(net.remote.to_str().unwrap())
    );
    assert_eq!(
        a.config_value("branch.main.remote").as_deref(),
        Some("origin")
    );
    a.git(&["fetch", "-q"]);
    // Repaired: the next command says nothing about it.
    let r = a.bd(&["list"]).ok();
    assert!(!r.stderr.contains("merge.beads"), "{}", r.stderr);
    // JSON mode: stdout stays one document.
    a.git(&["config", "merge.beads.driver", CLASSIC_DRIVER]);
    let r = a.bd(&["--json", "list"]).ok();
    r.json();
    assert!(r.stderr.contains("merge.beads.driver"), "{}", r.stderr);
}

#[test]
fn fresh_clone_gets_the_driver_on_its_first_command() {
    let net = Network::new(2, "line 1\n");
    let b = &net.c[1];
    assert_eq!(b.config_value("merge.beads.driver"), None);
    assert!(b.dir.join(".beads/.gitattributes").exists());
    let r = b.bd(&["list"]).ok();
    assert!(r.stderr.contains("merge.beads.driver"), "{}", r.stderr);
    assert_eq!(
        b.config_value("merge.beads.driver").as_deref(),
        Some(DRIVER)
    );
    let r = b.bd(&["ready"]).ok();
    assert!(!r.stderr.contains("merge.beads"), "{}", r.stderr);
}

#[test]
fn without_the_driver_doctor_fix_repairs_conflict_markers() {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    b.bd(&["list"]).ok();
    let x = a.create("From a");
    a.bd(&["sync"]).ok();
    let y = b.create("From b");
    b.bd(&["commit"]).ok();
    let before = b.issues();
    let head = b.head();
    // Only the driver line unset: `merge.beads.name` remains, and git refuses
    // the merge outright; nothing is half-done.
    b.git(&["config", "--unset", "merge.beads.driver"]);
    let pull = b.git_try(&["pull", "--no-rebase", "--no-edit", "-q"]);
    assert_ne!(pull.code, 0, "git cannot run a driver without a command");
    assert!(
        pull.stderr.contains("lacks command line"),
        "{}",
        pull.stderr
    );
    assert!(!b.exists_in_git_dir("MERGE_HEAD"));
    assert_eq!(b.issues(), before);
    assert_eq!(b.head(), head);
    // No driver at all (as in a clone where bd never ran): git's text merge
    // leaves conflict markers.
    b.git(&["config", "--remove-section", "merge.beads"]);
    let pull = b.git_try(&["pull", "--no-rebase", "--no-edit", "-q"]);
    assert_ne!(pull.code, 0, "git's text merge conflicts");
    assert!(b.exists_in_git_dir("MERGE_HEAD"));
    let text = String::from_utf8_lossy(&b.issues()).into_owned();
    assert!(
        text.contains("<<<<<<<") && text.contains(">>>>>>>"),
        "conflict markers in issues.jsonl:\n{text}"
    );
    let r = b.bd(&["doctor", "--fix"]);
    assert_eq!(
        r.code, 0,
        "doctor --fix\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    let text = String::from_utf8_lossy(&b.issues()).into_owned();
    assert!(
        !text.contains("<<<<<<<") && !text.contains("======="),
        "{text}"
    );
    let ids = b.ids();
    assert!(ids.contains(&x) && ids.contains(&y), "{ids:?}");
    assert_eq!(
        b.config_value("merge.beads.driver").as_deref(),
        Some(DRIVER)
    );
    // Finish the merge and converge.
    if b.exists_in_git_dir("MERGE_HEAD") {
        b.git(&["add", ".beads/issues.jsonl"]);
        b.git(&["commit", "-q", "--no-edit"]);
    }
    net.converge(&ids_of(&[&x, &y]));
}

#[test]
fn without_the_driver_doctor_fix_repairs_conflict_markers_in_mail() {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    b.bd(&["list"]).ok();
    let m = a.json(&["mail", "send", "--to", "@all", "-s", "hello all"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    a.bd(&["sync"]).ok();
    b.bd(&["sync"]).ok();
    // The same line changes on both sides: read by bob in b, by carol in a.
    b.bd(&["mail", "read", &m]).ok();
    b.bd(&["commit"]).ok();
    a.bd(&["--actor", "carol", "mail", "read", &m]).ok();
    a.bd(&["sync"]).ok();
    b.git(&["config", "--remove-section", "merge.beads"]);
    let pull = b.git_try(&["pull", "--no-rebase", "--no-edit", "-q"]);
    assert_ne!(pull.code, 0, "git's text merge conflicts");
    let mail = || std::fs::read_to_string(b.dir.join(".beads/mail.jsonl")).unwrap();
    assert!(mail().contains("<<<<<<<"), "{}", mail());
    // Mail writes refuse the file until it is repaired.
    let r = b.bd(&["--json", "mail", "send", "--to", "@all", "-s", "x"]);
    assert_eq!(r.code, 1, "{r:?}");
    let r = b.bd(&["doctor", "--fix"]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let text = mail();
    assert!(
        !text.contains("<<<<<<<") && !text.contains("======="),
        "{text}"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    let read_by = lines[0]["read_by"].as_object().unwrap();
    assert!(
        read_by.contains_key("bob") && read_by.contains_key("carol"),
        "{text}"
    );
    // The merge is finished with git; mail works again.
    b.git(&["add", ".beads/mail.jsonl"]);
    b.git(&["commit", "-q", "--no-edit"]);
    b.json(&["mail", "send", "--to", "@all", "-s", "after the repair"]);
}

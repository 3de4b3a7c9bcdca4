//! Terminal escapes, labels, init, help (items 3, 12, 18).

use super::*;

#[test]
fn item_03_terminal_escapes_are_made_visible_in_human_output() {
    let env = TestEnvironment::new();
    let title = "T\x1b]0;pwned\x07X\x1b[2J\u{9b}31m\u{202e}gnp.exe";
    let desc = "line one\n\tline two \x1b[2J\x7f";
    let comment = "c \x1b]0;c\x07 \u{2066}";
    let subject = "s \u{202e}cod.exe";
    let body = "b \x1b]0;b\x07\nsecond";
    let id = env.create(title, &["-d", desc]);
    let r = env.bd(&["create", title]).ok();
    clean_run("create", &r);
    env.bd(&["comment", &id, comment]).ok();
    env.bd(&[
        "mail",
        "send",
        "--to",
        env.actor.as_str(),
        "-s",
        subject,
        "-b",
        body,
    ])
    .ok();
    env.bd(&["heartbeat", "--note", "n \x1b[2J"]).ok();

    for (name, args) in [
        ("list", vec!["list"]),
        ("show", vec!["show", id.as_str()]),
        ("comments", vec!["comments", id.as_str()]),
        ("mail_inbox", vec!["mail", "inbox"]),
        ("agents", vec!["agents"]),
    ] {
        let r = env.bd(&args).ok();
        clean_run(&format!("{args:?}"), &r);
        crate::assert_human!(env, format!("escapes_{name}"), r.transcript());
        assert!(
            r.stdout.contains("\\x1b") || r.stdout.contains("\\u{202e}"),
            "{args:?} shows the escape: {}",
            r.stdout
        );
    }
    // Multi-line text keeps its lines; one-line fields never break.
    let shown = env.bd(&["show", &id]).ok().stdout;
    assert!(shown.contains("line one\n"), "{shown}");
    assert!(shown.contains("\tline two \\x1b[2J\\x7f\n"), "{shown}");
    assert!(shown.contains("\\u{202e}gnp.exe"), "{shown}");
    let listed = env.bd(&["list"]).ok().stdout;
    assert_eq!(listed.lines().count(), 2, "{listed}");
    let inbox = env.json(&["mail", "inbox"]);
    let mid = inbox[0]["id"].as_str().unwrap().to_string();
    let r = env.bd(&["mail", "read", &mid]).ok();
    clean_run("mail read", &r);
    crate::assert_human!(env, "escapes_mail_read", r.transcript());
    assert!(
        r.stdout.contains("b \\x1b]0;b\\x07\nsecond"),
        "{}",
        r.stdout
    );

    // Errors and notices quoting user data are escaped too.
    let r = env.bd(&["show", "bd-\x1b[2Jzz"]);
    assert_ne!(r.code, 0);
    clean_run("show error", &r);
    let r = env.bd(&["agent", "register", "d\x1b[2J"]);
    assert_ne!(r.code, 0);
    clean_run("agent register error", &r);
    let r = env.bd(&["label", "add", &id, "\x1b[2J"]);
    clean_run("label error", &r);
    let r = env.bd(&["no\x1b[2Jsuch"]).code(2);
    clean_run("usage error", &r);

    // JSON keeps the data exactly.
    let v = env.json(&["show", &id]);
    let v = if v.is_array() { v[0].clone() } else { v };
    assert_eq!(v["title"], title);
    assert_eq!(v["description"], desc);
    let c = env.json(&["comments", &id]);
    assert_eq!(c[0]["text"], comment);
    let m = env.json(&["mail", "read", &mid]);
    let m = if m.is_array() { m[0].clone() } else { m };
    assert_eq!(m["subject"], subject);
    assert_eq!(m["body"], body);
    let a = env.json(&["agents"]);
    assert!(a.to_string().contains("n \\u001b[2J"), "{a}");
    let _: Value = a;
}

#[test]
fn item_12_label_add_takes_ids_then_one_label_and_refuses_an_issue_id() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &[]);
    let before = env.issues_text();
    // The old order `label add A B urgent` no longer turns B into a label.
    let r = env.bd(&["label", "add", &a, &b, "urgent"]).ok();
    crate::assert_human!(env, "label_add_to_two", r.transcript());
    for id in [&a, &b] {
        assert_eq!(env.record(id)["labels"], serde_json::json!(["urgent"]));
    }
    assert_ne!(env.issues_text(), before);
    // A label that is an issue id is refused with the syntax in the hint.
    let before = env.issues_text();
    let r = env.bd(&["label", "add", &a, &b]).code(1);
    crate::assert_human!(env, "label_that_is_an_issue_id", r.transcript());
    let j = env
        .bd(&["--json", "label", "remove", &a, &b])
        .code(1)
        .json();
    assert_eq!(j["code"], "invalid", "{j}");
    assert!(
        j["hint"]
            .as_str()
            .unwrap()
            .contains("bd label remove <id>... <label>")
    );
    assert_eq!(env.issues_text(), before, "nothing written");
    // A single id then a label: one issue; several: a list (as classic).
    let one = env.json(&["label", "remove", &a, "urgent"]);
    assert_eq!(one["id"], a.as_str());
    let many = env.json(&["label", "add", &a, &b, "ui"]);
    assert_eq!(many.as_array().map(Vec::len), Some(2), "{many}");
    // The removal from several: where present removed, the rest noted.
    let r = env.bd(&["label", "remove", &a, &b, "urgent"]).ok();
    crate::assert_human!(env, "label_remove_from_two", r.transcript());
    assert_eq!(env.record(&b)["labels"], serde_json::json!(["ui"]));
    // One argument is not enough.
    env.bd(&["label", "add", &a]).code(2);
}

#[test]
fn item_18_init_prefix_on_a_tracker_with_issues_is_refused_and_without_is_reported() {
    let env = TestEnvironment::new();
    let cfg = std::fs::read_to_string(env.beads().join("config.toml")).unwrap();
    let r = env.bd(&["init", "--prefix", "bd"]).ok();
    assert!(r.stderr.contains("Nothing changed"), "{}", r.stderr);
    // Without issues the change is made and said.
    let r = env.bd(&["init", "--prefix", "yy"]).ok();
    crate::assert_human!(env, "init_changes_the_prefix", r.transcript());
    let j = env.json(&["init", "--prefix", "bd"]);
    assert_eq!(j["prefix_changed_from"], "yy");
    assert_eq!(j["prefix"], "bd");
    assert_eq!(
        std::fs::read_to_string(env.beads().join("config.toml")).unwrap(),
        cfg
    );
    // With issues it is refused, nothing written, and the hint names the way.
    env.create("One", &[]);
    let r = env.bd(&["init", "--prefix", "zz"]).code(1);
    crate::assert_human!(env, "init_prefix_refused_with_issues", r.transcript());
    assert_eq!(
        std::fs::read_to_string(env.beads().join("config.toml")).unwrap(),
        cfg
    );
    assert!(env.create("Two", &[]).starts_with("bd-"));
}

#[test]
fn item_18_bd_help_works() {
    let env = TestEnvironment::new();
    let r = env.bd(&["help"]).ok();
    assert!(r.stdout.contains("Usage: bd"), "{}", r.stdout);
    assert!(r.stdout.contains("mail"), "{}", r.stdout);
    let r = env.bd(&["help", "mail", "send"]).ok();
    assert!(r.stdout.contains("Usage: bd mail send"), "{}", r.stdout);
    let r = env.bd(&["help", "label"]).ok();
    assert!(r.stdout.contains("Usage: bd label"), "{}", r.stdout);
    env.bd(&["help", "no-such-command"]).code(2);
}

/// Review break 10: a short id (the hash part `bd show` resolves exactly)
/// became a label; a label that is merely a prefix of a hash is fine.
#[test]
fn item_12_review_a_label_spelling_an_issue_id_is_refused() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &[]);
    let hash = b.strip_prefix("bd-").unwrap().to_string();
    let shown = env.json(&["show", &hash]);
    let shown = if shown.is_array() {
        shown[0].clone()
    } else {
        shown
    };
    assert_eq!(shown["id"], b.as_str());
    let before = env.issues_text();
    for label in [b.as_str(), hash.as_str()] {
        let r = env.bd(&["label", "add", &a, label]).code(1);
        assert!(
            r.stderr.contains("is the id of an existing issue")
                && r.stderr.contains("bd label add <id>... <label>"),
            "{label}: {}",
            r.stderr
        );
        env.bd(&["label", "remove", &a, label]).code(1);
    }
    assert_eq!(env.issues_text(), before, "nothing written");
    // A prefix of a hash is a label like any other.
    let short = &hash[..hash.len() - 1];
    env.bd(&["label", "add", &a, short]).ok();
    assert_eq!(env.record(&a)["labels"], serde_json::json!([short]));
}

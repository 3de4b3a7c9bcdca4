//! Issue 9, the identity and terminal items: a foreign `project` does not join
//! a home (2), terminal escapes (3), confusable agent names (4), classic label
//! syntax (12), the sent view (17), and the small bugs of 18.

mod common;

use common::*;
use serde_json::Value;

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

#[test]
fn item_03_terminal_escapes_are_made_visible_in_human_output() {
    let env = Env::new();
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

    for args in [
        vec!["list"],
        vec!["show", id.as_str()],
        vec!["comments", id.as_str()],
        vec!["mail", "inbox"],
        vec!["agents"],
    ] {
        let r = env.bd(&args).ok();
        clean_run(&format!("{args:?}"), &r);
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

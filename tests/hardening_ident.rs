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
    assert!(
        r.stderr.contains(&a) && r.stderr.contains(&b),
        "{}",
        r.stderr
    );
    for id in [&a, &b] {
        assert_eq!(env.record(id)["labels"], serde_json::json!(["urgent"]));
    }
    assert_ne!(env.issues_text(), before);
    // A label that is an issue id is refused with the syntax in the hint.
    let before = env.issues_text();
    let r = env.bd(&["label", "add", &a, &b]).code(1);
    assert!(
        r.stderr
            .contains(&format!("label '{b}' is the id of an existing issue")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("bd label add <id>... <label>"),
        "{}",
        r.stderr
    );
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
    assert!(
        r.stderr.contains(&format!("{a} had no label 'urgent'")),
        "{}",
        r.stderr
    );
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
    assert!(
        r.stderr.contains("Changed the prefix from bd to yy"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("Nothing changed"), "{}", r.stderr);
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
    assert!(
        r.stderr.contains("already uses prefix 'bd'"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("bd config set prefix zz"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(env.beads().join("config.toml")).unwrap(),
        cfg
    );
    assert!(env.create("Two", &[]).starts_with("bd-"));
}

#[test]
fn item_18_mail_to_an_undeliverable_project_is_refused_at_send() {
    let env = TestEnvironment::new();
    let long = format!("example.org/{}", "x".repeat(300));
    let mail = env.beads().join("mail.jsonl");
    let before = std::fs::read(&mail).ok();
    let to = format!("project:{long}");
    let r = env.bd(&["mail", "send", "--to", &to, "-s", "hi", "-b", "x"]);
    assert_eq!(r.code, 1, "{to}: {}", r.stderr);
    assert!(
        r.stderr.contains("cannot have a home on this machine"),
        "{}",
        r.stderr
    );
    // Named through config, the same address is refused the same way.
    env.bd(&["config", "set", "projects.far", &long]).ok();
    let r = env.bd(&["mail", "send", "--to", "bob@far", "-s", "hi", "-b", "x"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot have a home on this machine"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&mail).ok(), before, "nothing saved");
    // So later commands have nothing to warn about.
    let r = env.bd(&["list"]).ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    // A project name that fits is still accepted (pending delivery).
    env.bd(&[
        "mail",
        "send",
        "--to",
        "project:example.org/ok",
        "-s",
        "hi",
        "-b",
        "x",
    ])
    .ok();
    // One saved before this rule (here: rewritten to the long name) is marked
    // rejected once, not warned about on every command.
    let text = std::fs::read_to_string(&mail).unwrap();
    std::fs::write(&mail, text.replace("example.org/ok", &long)).unwrap();
    let r = env.bd(&["list"]).ok();
    assert!(r.stderr.contains("can never be delivered"), "{}", r.stderr);
    let r = env.bd(&["list"]).ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let sent = env.json(&["mail", "sent"]);
    assert_eq!(
        sent[0]["delivery"][long.as_str()]["status"],
        "rejected",
        "{sent}"
    );
}

#[test]
fn item_18_attachment_limit_counts_bytes_read_not_stat_size() {
    let env = TestEnvironment::new();
    env.bd(&["config", "set", "attachment_limit", "64"]).ok();
    // /proc files stat as 0 bytes and hold more; a FIFO-like source is the same case.
    let proc_file = std::path::Path::new("/proc/self/status");
    if proc_file.exists() {
        assert_eq!(std::fs::metadata(proc_file).unwrap().len(), 0);
        let r = env.bd(&[
            "mail",
            "send",
            "--to",
            "tester",
            "-s",
            "s",
            "-b",
            "b",
            "--attach",
            proc_file.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("the limit is 64"), "{}", r.stderr);
        assert!(
            !env.beads().join("attachments").exists()
                || files_under(&env.beads().join("attachments")).is_empty()
        );
    }
    // An ordinary file at the limit goes, one byte over does not.
    let ok = env.tmp.path().join("ok.txt");
    std::fs::write(&ok, [b'a'; 64]).unwrap();
    env.bd(&[
        "mail",
        "send",
        "--to",
        "tester",
        "-s",
        "s",
        "-b",
        "b",
        "--attach",
        ok.to_str().unwrap(),
    ])
    .ok();
    let big = env.tmp.path().join("big.txt");
    std::fs::write(&big, [b'a'; 65]).unwrap();
    let r = env.bd(&[
        "mail",
        "send",
        "--to",
        "tester",
        "-s",
        "s",
        "-b",
        "b",
        "--attach",
        big.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
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

/// Run bd in `dir` with this BD_HOME and actor.
fn bd_at(dir: &std::path::Path, home: &std::path::Path, actor: &str, args: &[&str]) -> Run {
    run_of(
        common::bd_cmd(dir, home, actor, args)
            .env("PATH", path_with_bd())
            .output()
            .expect("bd runs"),
    )
}

fn bd_json_at(dir: &std::path::Path, home: &std::path::Path, actor: &str, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    bd_at(dir, home, actor, &a).ok().json()
}

fn new_repo(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.name", "T"]);
    git(dir, &["config", "user.email", "t@example.com"]);
}

fn inbox_ids(dir: &std::path::Path, home: &std::path::Path, actor: &str) -> Vec<String> {
    bd_json_at(dir, home, actor, &["mail", "inbox", "--all"])
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn item_02_a_foreign_project_in_config_does_not_join_the_home_until_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let home = t.join("home");
    std::fs::create_dir_all(&home).unwrap();
    git(t, &["init", "-q", "--bare", "-b", "main", "remote.git"]);
    // Project A: a clone of the remote, initialized, committed, pushed.
    let a = t.join("a");
    git(t, &["clone", "-q", "remote.git", "a"]);
    git(&a, &["config", "user.name", "A"]);
    git(&a, &["config", "user.email", "a@example.com"]);
    git(&a, &["checkout", "-q", "-b", "main"]);
    bd_at(&a, &home, "alice", &["init", "--prefix", "aa"]).ok();
    let x = bd_at(&a, &home, "alice", &["create", "X"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let y = bd_at(&a, &home, "alice", &["create", "Y"])
        .ok()
        .stdout
        .trim()
        .to_string();
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-q", "-m", "init"]);
    git(&a, &["push", "-q", "-u", "origin", "main"]);
    bd_at(&a, &home, "alice", &["agent", "register"]).ok();
    bd_at(&a, &home, "bob", &["agent", "register"]).ok();
    let sent = bd_json_at(
        &a,
        &home,
        "alice",
        &["mail", "send", "--to", "bob", "-s", "plan", "-b", "secret"],
    );
    let msg = sent["message"]["id"]
        .as_str()
        .or(sent["id"].as_str())
        .unwrap()
        .to_string();
    assert_eq!(inbox_ids(&a, &home, "bob"), vec![msg.clone()]);
    let project = bd_json_at(&a, &home, "alice", &["where"])["identity"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        bd_json_at(&a, &home, "alice", &["where"])["proof"],
        "origin"
    );

    // Repo M: unrelated, commits A's project in its config.toml and A's items.
    let m = t.join("m");
    new_repo(&m);
    std::fs::create_dir_all(m.join(".beads")).unwrap();
    std::fs::write(
        m.join(".beads/config.toml"),
        format!("prefix = \"aa\"\nproject = \"{project}\"\n"),
    )
    .unwrap();
    std::fs::copy(a.join(".beads/issues.jsonl"), m.join(".beads/issues.jsonl")).unwrap();
    std::fs::write(m.join("code.txt"), "m\n").unwrap();
    git(&m, &["add", "-A"]);
    git(&m, &["commit", "-q", "-m", "m"]);
    let r = bd_at(&m, &home, "bob", &["mail", "inbox", "--all"]).ok();
    assert!(
        r.stderr.contains(&format!("names project '{project}'"))
            && r.stderr.contains("bd where --trust"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stdout.contains(&msg),
        "M reads A's live mail: {}",
        r.stdout
    );
    assert!(inbox_ids(&m, &home, "bob").is_empty());
    assert_eq!(
        bd_json_at(&m, &home, "mallory", &["where"])["proof"],
        "unproven"
    );
    // Claims and hooks stay in M.
    bd_at(&m, &home, "mallory", &["claim", &x]).ok();
    bd_at(&m, &home, "mallory", &["sling", &y, "alice"]).ok();
    bd_at(
        &m,
        &home,
        "mallory",
        &["mail", "send", "--to", "alice", "-s", "from bob", "-b", "x"],
    );
    // M's sync takes no lock in A's home (it would hold A's syncs up).
    let a_home = home.join("projects").join(strand::home::escape(&project));
    assert!(a_home.is_dir());
    let _ = bd_at(&m, &home, "mallory", &["sync"]);
    assert!(
        !a_home.join("sync.lock").exists(),
        "M's sync locked A's home"
    );
    bd_at(&a, &home, "alice", &["claim", &x]).ok();
    let hook = bd_json_at(&a, &home, "alice", &["hook"]);
    assert!(
        !hook.to_string().contains(&y),
        "M put work on alice's hook: {hook}"
    );
    assert!(
        inbox_ids(&a, &home, "alice").is_empty(),
        "M sent mail into A's home"
    );
    bd_at(&a, &home, "alice", &["unclaim", &x]).ok();
    // A's doctor lists the workspaces of its home: A only.
    let doc = bd_at(&a, &home, "alice", &["doctor"]);
    assert!(
        doc.stdout
            .contains(a.canonicalize().unwrap().to_str().unwrap()),
        "{}",
        doc.stdout
    );
    assert!(
        !doc.stdout
            .contains(m.canonicalize().unwrap().to_str().unwrap()),
        "{}",
        doc.stdout
    );

    // The user confirms M on this machine: then it joins.
    let r = bd_at(&m, &home, "bob", &["where", "--trust"]).ok();
    assert!(r.stderr.contains("Trusted:"), "{}", r.stderr);
    assert!(!r.stderr.contains("does not prove"), "{}", r.stderr);
    assert_eq!(bd_json_at(&m, &home, "bob", &["where"])["proof"], "trusted");
    assert_eq!(inbox_ids(&m, &home, "bob"), vec![msg.clone()]);
    let r = bd_at(&m, &home, "bob", &["list"]).ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let doc = bd_json_at(&a, &home, "alice", &["doctor"]);
    let roots: Vec<&str> = doc["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["root"].as_str().unwrap())
        .collect();
    let mc = m.canonicalize().unwrap();
    assert!(roots.contains(&mc.to_str().unwrap()), "{doc}");
    assert_eq!(doc["trusted"].as_array().unwrap().len(), 1, "{doc}");
    let text = bd_at(&a, &home, "alice", &["doctor"]).stdout;
    assert!(text.contains("Trusted repository:"), "{text}");
    // A worktree of the trusted clone shares its proof.
    git(
        &m,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "side",
            t.join("m-wt").to_str().unwrap(),
        ],
    );
    assert_eq!(
        bd_json_at(&t.join("m-wt"), &home, "bob", &["where"])["proof"],
        "trusted"
    );

    // Another repository later put at M's path does not inherit the trust.
    std::fs::remove_dir_all(&m).unwrap();
    new_repo(&m);
    std::fs::create_dir_all(m.join(".beads")).unwrap();
    std::fs::write(
        m.join(".beads/config.toml"),
        format!("project = \"{project}\"\n"),
    )
    .unwrap();
    std::fs::write(m.join("other.txt"), "other\n").unwrap();
    git(&m, &["add", "-A"]);
    git(&m, &["commit", "-q", "-m", "other root"]);
    assert_eq!(
        bd_json_at(&m, &home, "bob", &["where"])["proof"],
        "unproven"
    );
    assert!(inbox_ids(&m, &home, "bob").is_empty());

    // A fork's clone (its origin is the fork) needs the confirmation too.
    git(t, &["clone", "-q", "--bare", "remote.git", "fork.git"]);
    git(t, &["clone", "-q", "fork.git", "f"]);
    let f = t.join("f");
    let r = bd_at(&f, &home, "bob", &["mail", "inbox", "--all"]).ok();
    assert!(r.stderr.contains("does not prove"), "{}", r.stderr);
    assert!(!r.stdout.contains(&msg), "{}", r.stdout);
    bd_at(&f, &home, "bob", &["where", "--trust"]).ok();
    assert_eq!(bd_json_at(&f, &home, "bob", &["where"])["proof"], "trusted");
    assert!(inbox_ids(&f, &home, "bob").contains(&msg));

    // A clone of A with a differently spelled origin URL joins by itself.
    let spelled = format!("file://{}/./remote.git/", t.display());
    git(t, &["clone", "-q", &spelled, "a2"]);
    let a2 = t.join("a2");
    let r = bd_at(&a2, &home, "bob", &["mail", "inbox", "--all"]).ok();
    assert!(!r.stderr.contains("does not prove"), "{}", r.stderr);
    assert_eq!(bd_json_at(&a2, &home, "bob", &["where"])["proof"], "origin");
    assert_eq!(inbox_ids(&a2, &home, "bob"), vec![msg]);
}

#[test]
fn item_04_confusable_agent_names_are_one_agent() {
    let env = TestEnvironment::new();
    let x = env.create("X", &[]);
    let y = env.create("Y", &[]);
    env.bd_env(
        &["agent", "register", "--kind", "human"],
        &[("BD_ACTOR", "dave")],
    )
    .ok();
    // U+216E ROMAN NUMERAL FIVE HUNDRED, fullwidth d, upper case: all fold to `dave`.
    for other in ["\u{216e}ave", "\u{ff44}ave", "DAVE", "Dave"] {
        let r = env.bd(&["agent", "register", other]);
        assert_eq!(r.code, 1, "{other}: {}", r.stderr);
        assert!(
            r.stderr.contains("too like the registered agent \"dave\""),
            "{}",
            r.stderr
        );
    }
    // Invisible characters would make look-alikes NFKC keeps apart.
    for other in [
        "da\u{200b}ve",
        "\u{202e}evad",
        "dave\u{feff}",
        "da\u{00ad}ve",
    ] {
        let r = env.bd(&["agent", "register", other]);
        assert_eq!(r.code, 1, "{other:?}: {}", r.stderr);
        assert!(r.stderr.contains("invisible character"), "{}", r.stderr);
    }
    // A heartbeat under a look-alike actor is dave's, not a new agent.
    env.bd_env(
        &["heartbeat", "--note", "here"],
        &[("BD_ACTOR", "\u{216e}ave")],
    )
    .ok();
    let agents = env.json(&["agents"]);
    let names: Vec<&str> = agents
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"dave"), "{agents}");
    assert!(
        !names
            .iter()
            .any(|n| *n != "dave" && n.to_lowercase().contains("ave")),
        "{agents}"
    );
    // Mail to a look-alike reaches dave, under the registered spelling.
    let sent = env.json(&["mail", "send", "--to", "\u{ff44}ave", "-s", "hi", "-b", "b"]);
    let to = if sent["to"].is_array() {
        &sent["to"]
    } else {
        &sent["message"]["to"]
    };
    assert_eq!(to, &serde_json::json!(["dave"]), "{sent}");
    let inbox = env
        .bd_env(&["--json", "mail", "inbox"], &[("BD_ACTOR", "dave")])
        .ok()
        .json();
    assert_eq!(inbox.as_array().unwrap().len(), 1, "{inbox}");
    // Sling to a look-alike puts the work on dave's hook.
    env.bd(&["sling", &x, "DAVE"]).ok();
    let hook = env
        .bd_env(&["--json", "hook"], &[("BD_ACTOR", "dave")])
        .ok()
        .json();
    assert!(hook.to_string().contains(&x), "{hook}");
    let hook2 = env.json(&["hook", "\u{216e}ave"]);
    assert_eq!(hook, hook2);
    // A claim by a look-alike actor is dave's.
    env.bd_env(&["claim", &y], &[("BD_ACTOR", "\u{ff44}ave")])
        .ok();
    assert_eq!(env.record(&y)["assignee"], "dave");
    env.bd_env(&["unclaim", &y], &[("BD_ACTOR", "dave")]).ok();
}

#[test]
fn item_04_lookalikes_fold_together() {
    use strand::home::presence::fold;
    for n in [
        "dave",
        "Dave",
        "DAVE",
        "\u{216e}ave",
        "\u{ff44}ave",
        "\u{ff24}\u{ff21}ve",
    ] {
        assert_eq!(fold(n), "dave", "{n:?}");
    }
    assert_ne!(fold("dave"), fold("dove"));
    assert_eq!(fold("\u{fb01}le"), "file");
}

#[test]
fn item_17_the_sender_sees_read_and_ack_marks_in_mail_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let home = t.join("home");
    std::fs::create_dir_all(&home).unwrap();
    // Two worktrees of one repository: alice sends from one, bob reads in the other.
    let a = t.join("a");
    new_repo(&a);
    std::fs::write(a.join("f.txt"), "x\n").unwrap();
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-q", "-m", "root"]);
    bd_at(&a, &home, "alice", &["init", "--prefix", "aa"]).ok();
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-q", "-m", "init"]);
    let b = t.join("b");
    git(
        &a,
        &["worktree", "add", "-q", "-b", "side", b.to_str().unwrap()],
    );
    bd_at(&a, &home, "bob", &["agent", "register"]).ok();
    bd_at(&a, &home, "carol", &["agent", "register"]).ok();
    let none = bd_at(&a, &home, "alice", &["mail", "sent"]).ok();
    assert!(none.stderr.contains("No sent messages"), "{}", none.stderr);
    let m1 = bd_json_at(
        &a,
        &home,
        "alice",
        &[
            "mail", "send", "--to", "bob", "--cc", "carol", "-s", "one", "-b", "x", "--ack",
        ],
    );
    let m1 = m1["id"].as_str().unwrap().to_string();
    let m2 = bd_json_at(
        &a,
        &home,
        "alice",
        &["mail", "send", "--to", "carol", "-s", "two", "-b", "y"],
    );
    let m2 = m2["id"].as_str().unwrap().to_string();
    bd_json_at(
        &a,
        &home,
        "bob",
        &["mail", "send", "--to", "alice", "-s", "not mine", "-b", "z"],
    );

    // Nothing read yet: the sent list has both, newest first, no marks.
    let sent = bd_json_at(&a, &home, "alice", &["mail", "sent"]);
    let ids: Vec<&str> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![m2.as_str(), m1.as_str()], "{sent}");
    assert!(sent[1].get("read_by").is_none(), "{sent}");

    // bob reads and acks in the other worktree (live mail only there).
    bd_at(&b, &home, "bob", &["mail", "ack", &m1]).ok();
    bd_at(&b, &home, "carol", &["mail", "read", &m2]).ok();
    let sent = bd_json_at(&a, &home, "alice", &["mail", "sent"]);
    let find = |id: &str| {
        sent.as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()
            .clone()
    };
    assert!(find(&m1)["read_by"]["bob"].is_string(), "{sent}");
    assert!(find(&m1)["acked_by"]["bob"].is_string(), "{sent}");
    assert!(find(&m1)["read_by"].get("carol").is_none(), "{sent}");
    assert!(find(&m2)["read_by"]["carol"].is_string(), "{sent}");
    let text = bd_at(&a, &home, "alice", &["mail", "sent"]).ok().stdout;
    assert!(
        text.contains("read by bob") && text.contains("acked by bob"),
        "{text}"
    );
    assert!(!text.contains("not mine"), "{text}");
    // The sender's read of the message shows the marks too, and marks nothing.
    let r = bd_json_at(&a, &home, "alice", &["mail", "read", &m1]);
    assert!(r["acked_by"]["bob"].is_string(), "{r}");
    assert!(r["read_by"].get("alice").is_none(), "{r}");
    let text = bd_at(&a, &home, "alice", &["mail", "read", &m1])
        .ok()
        .stdout;
    assert!(text.contains("Acknowledged by bob"), "{text}");
    // After bob's worktree commits and alice merges, the durable marks agree.
    bd_at(&b, &home, "bob", &["commit"]).ok();
    bd_at(&a, &home, "alice", &["commit"]).ok();
    git_bd(&a, &["merge", "-q", "--no-edit", "side"]);
    let sent2 = bd_json_at(&a, &home, "alice", &["mail", "sent"]);
    assert_eq!(sent2, sent, "durable and live marks merge to the same view");
}

/// Look-alike names registered at the same instant by racing processes:
/// registration serializes on the folded name, so exactly one spelling
/// becomes an agent each round and the others are refused.
#[test]
fn item_04_racing_lookalike_registrations_make_one_agent() {
    let env = TestEnvironment::new();
    env.bd(&["create", "x"]).ok();
    let spellings = ["dave", "DAVE", "\u{216e}ave", "\u{ff44}ave", "Dave", "dAve"];
    for round in 0..4 {
        let suffix = format!("r{round}");
        let children: Vec<_> = spellings
            .iter()
            .map(|s| {
                env.cmd(&["agent", "register", &format!("{s}{suffix}")])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let codes: Vec<i32> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap().status.code().unwrap())
            .collect();
        assert_eq!(
            codes.iter().filter(|c| **c == 0).count(),
            1,
            "round {round}: {codes:?}"
        );
        let agents = env.json(&["agents"]);
        let n = agents
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["name"].as_str().unwrap().ends_with(&suffix))
            .count();
        assert_eq!(n, 1, "round {round}: {agents}");
    }
}

/// A repository with `origin` at `url`, a first commit, and `config.toml`
/// written by hand when given (else `bd init --prefix prefix`).
fn repo_with_origin(
    dir: &std::path::Path,
    home: &std::path::Path,
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
            bd_at(dir, home, "x", &["init", "--prefix", prefix]).ok();
        }
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "init"]);
}

/// Review break 1: settings a repository carries (`case_insensitive_hosts`
/// in its own config.toml) proved its claim to another project's identity.
#[test]
fn item_02_review_committed_case_insensitive_hosts_prove_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let home = t.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let a = t.join("a");
    repo_with_origin(
        &a,
        &home,
        "https://git.example.com/Team/Proj.git",
        "aa",
        None,
    );
    let wa = bd_json_at(&a, &home, "alice", &["where"]);
    assert_eq!(wa["identity"], "git.example.com/Team/Proj", "{wa}");
    assert_eq!(wa["proof"], "origin", "{wa}");
    bd_at(&a, &home, "alice", &["agent", "register"]).ok();
    bd_at(
        &a,
        &home,
        "bob",
        &[
            "mail", "send", "--to", "alice", "-s", "plan", "-b", "secret",
        ],
    )
    .ok();
    assert_eq!(inbox_ids(&a, &home, "alice").len(), 1);

    // M: another repository on that (case-sensitive) host, whose committed
    // config claims A's identity and declares the host case-insensitive.
    let m = t.join("m");
    repo_with_origin(
        &m,
        &home,
        "https://git.example.com/team/proj.git",
        "aa",
        Some(
            "prefix = \"aa\"\nproject = \"git.example.com/Team/Proj\"\ncase_insensitive_hosts = [\"git.example.com\"]\n",
        ),
    );
    let wm = bd_json_at(&m, &home, "mallory", &["where"]);
    assert_eq!(wm["proof"], "unproven", "{wm}");
    assert!(inbox_ids(&m, &home, "alice").is_empty(), "M reads A's mail");
    let agents = bd_at(&m, &home, "mallory", &["agents"]);
    assert!(!agents.stdout.contains("alice"), "{}", agents.stdout);

    // The built-in hosts still ignore case by themselves.
    let g = t.join("g");
    repo_with_origin(
        &g,
        &home,
        "https://github.com/team/proj.git",
        "gg",
        Some(
            "prefix = \"gg\"\nproject = \"github.com/Team/Proj\"\ncase_insensitive_hosts = [\"example.net\"]\n",
        ),
    );
    let wg = bd_json_at(&g, &home, "x", &["where"]);
    assert_eq!(wg["proof"], "origin", "{wg}");
    // The repository's own list still shapes its identity (SPEC §1).
    let n = t.join("n");
    repo_with_origin(
        &n,
        &home,
        "https://git.example.com/Some/Thing.git",
        "nn",
        Some("prefix = \"nn\"\ncase_insensitive_hosts = [\"git.example.com\"]\n"),
    );
    let wn = bd_json_at(&n, &home, "x", &["where"]);
    assert_eq!(wn["identity"], "git.example.com/some/thing", "{wn}");
    // ... but proves it no more than a configured project: that identity is
    // another repository's on a case-sensitive host.
    assert_eq!(wn["proof"], "unproven", "{wn}");
    let l = t.join("l");
    repo_with_origin(
        &l,
        &home,
        "https://git.example.com/some/thing.git",
        "ll",
        Some("prefix = \"ll\"\n"),
    );
    let wl = bd_json_at(&l, &home, "lee", &["where"]);
    assert_eq!(wl["identity"], "git.example.com/some/thing", "{wl}");
    assert_eq!(wl["proof"], "derived", "{wl}");
    bd_at(&l, &home, "lee", &["agent", "register"]).ok();
    let r = bd_at(&n, &home, "x", &["agents"]);
    assert!(!r.stdout.contains("lee"), "{}", r.stdout);
    assert!(
        r.stderr.contains("lower-cased by case_insensitive_hosts")
            && r.stderr.contains("bd where --trust"),
        "{}",
        r.stderr
    );
    // Confirmed on this machine, N joins.
    bd_at(&n, &home, "x", &["where", "--trust"]).ok();
    assert_eq!(bd_json_at(&n, &home, "x", &["where"])["proof"], "trusted");
}

/// Review break 2: an unproven workspace sent mail to another project as the
/// project it claims (the other side imported it and linked back into that
/// project's home).
#[test]
fn item_02_review_an_unproven_workspace_sends_no_mail_to_other_projects() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let home = t.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let a = t.join("a");
    repo_with_origin(&a, &home, "https://git.example.com/Team/A.git", "aa", None);
    let b = t.join("b");
    repo_with_origin(&b, &home, "https://git.example.com/Other/B.git", "bb", None);
    bd_at(&a, &home, "alice", &["list"]).ok();
    bd_at(&b, &home, "ann", &["list"]).ok();
    let a_home = home
        .join("projects")
        .join(strand::home::escape("git.example.com/Team/A"));
    let b_home = home
        .join("projects")
        .join(strand::home::escape("git.example.com/Other/B"));
    assert!(a_home.is_dir() && b_home.is_dir());

    let m = t.join("m");
    repo_with_origin(
        &m,
        &home,
        "https://evil.example.org/mallory/x.git",
        "aa",
        Some("prefix = \"aa\"\nproject = \"git.example.com/Team/A\"\n"),
    );
    let before = std::fs::read(m.join(".beads/mail.jsonl")).ok();
    for to in [
        "project:git.example.com/Other/B",
        "@B",
        "ann@git.example.com/Other/B",
    ] {
        let r = bd_at(
            &m,
            &home,
            "dave",
            &["mail", "send", "--to", to, "-s", "planted", "-b", "x"],
        );
        assert_ne!(r.code, 0, "{to}: {}", r.stderr);
        assert!(
            r.stderr.contains("bd where --trust") && r.stderr.contains("other projects"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(std::fs::read(m.join(".beads/mail.jsonl")).ok(), before);
    let spooled: Vec<_> = common::files_under(&b_home.join("spool"));
    assert!(spooled.is_empty(), "M spooled into B: {spooled:?}");
    let r = bd_at(&b, &home, "ann", &["list", "--json"]).ok();
    assert_eq!(r.json(), serde_json::json!([]), "{}", r.stderr);
    assert!(common::files_under(&a_home.join("links")).is_empty());
    // Mail within M (the workspace itself) still works.
    bd_at(
        &m,
        &home,
        "dave",
        &["mail", "send", "--to", "dave", "-s", "note", "-b", "x"],
    )
    .ok();
    // Nor does a comment on an item handed off from B flow back into B's home.
    let h = bd_at(&m, &home, "dave", &["create", "handed"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let path = m.join(".beads/issues.jsonl");
    let text: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["id"] == h.as_str() {
                v["metadata"] = serde_json::json!({"handoff": {
                    "project": "git.example.com/Other/B",
                    "message": "msg-0000000000aa", "from": "ann"}});
            }
            format!("{v}\n")
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    let r = bd_at(&m, &home, "dave", &["comment", &h, "fixed it"]).ok();
    assert!(r.stderr.contains("not told"), "{}", r.stderr);
    assert!(common::files_under(&b_home.join("links")).is_empty());
    assert!(common::files_under(&b_home.join("spool")).is_empty());
    // Once the user confirms M here, it sends as A.
    bd_at(&m, &home, "dave", &["where", "--trust"]).ok();
    bd_at(
        &m,
        &home,
        "dave",
        &["mail", "send", "--to", "@B", "-s", "real", "-b", "x"],
    )
    .ok();
    let r = bd_at(&b, &home, "ann", &["list", "--json"]).ok();
    assert_eq!(r.json().as_array().map(Vec::len), Some(1), "{}", r.stderr);
}

/// Review (related to break 2): any command in a clone re-posted the
/// repository's pending deliveries, whoever sent them. Only the sender's own
/// next command re-posts (DESIGN: "re-posted by the sender's next command").
#[test]
fn item_02_review_only_the_sender_re_posts_a_pending_delivery() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let home = t.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let b = t.join("b");
    repo_with_origin(&b, &home, "https://git.example.com/Other/B.git", "bb", None);
    bd_at(&b, &home, "ann", &["list"]).ok();
    let b_home = home
        .join("projects")
        .join(strand::home::escape("git.example.com/Other/B"));
    // A: a bare remote and a clone; mallory's message to B is committed
    // while its spool copy is gone (sent on another machine, say).
    git(t, &["init", "-q", "--bare", "-b", "main", "a.git"]);
    git(t, &["clone", "-q", "a.git", "a1"]);
    let a1 = t.join("a1");
    git(&a1, &["config", "user.name", "A"]);
    git(&a1, &["config", "user.email", "a@example.com"]);
    git(&a1, &["checkout", "-q", "-b", "main"]);
    bd_at(&a1, &home, "x", &["init", "--prefix", "aa"]).ok();
    let sent = bd_json_at(
        &a1,
        &home,
        "mallory",
        &["mail", "send", "--to", "@B", "-s", "planted", "-b", "x"],
    );
    let msg = sent["id"].as_str().unwrap().to_string();
    std::fs::remove_dir_all(b_home.join("spool")).unwrap();
    git(&a1, &["add", "-A"]);
    git(&a1, &["commit", "-q", "-m", "init"]);
    git(&a1, &["push", "-q", "-u", "origin", "main"]);
    git(t, &["clone", "-q", "a.git", "a2"]);
    let a2 = t.join("a2");
    // Someone else's commands (named actor or not) re-post nothing.
    let r = bd_at(&a2, &home, "carol", &["list"]).ok();
    assert!(!r.stderr.contains("re-posted"), "{}", r.stderr);
    let r = run_of(
        common::bd_cmd(&a2, &home, "", &["list"])
            .env_remove("BD_ACTOR")
            .env("PATH", path_with_bd())
            .output()
            .unwrap(),
    )
    .ok();
    assert!(!r.stderr.contains("re-posted"), "{}", r.stderr);
    assert!(common::files_under(&b_home.join("spool")).is_empty());
    let r = bd_at(&b, &home, "ann", &["list", "--json"]).ok();
    assert_eq!(r.json(), serde_json::json!([]), "{}", r.stderr);
    // The sender's next command re-posts it; B imports it.
    let r = bd_at(&a2, &home, "mallory", &["list"]).ok();
    assert!(
        r.stderr.contains(&format!("re-posted {msg}")),
        "{}",
        r.stderr
    );
    let r = bd_at(&b, &home, "ann", &["list", "--json"]).ok();
    assert_eq!(r.json().as_array().map(Vec::len), Some(1), "{}", r.stderr);
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

/// Review (minor): a hook-only name and its look-alike made two hook files;
/// `agent unregister` did not resolve a look-alike of a registered agent.
#[test]
fn item_04_review_lookalikes_of_hook_only_names_and_unregister() {
    let env = TestEnvironment::new();
    let y = env.create("Y", &[]);
    let z = env.create("Z", &[]);
    env.bd(&["sling", &y, "frank"]).ok();
    env.bd(&["sling", &z, "\u{ff26}\u{ff32}\u{ff21}\u{ff2e}\u{ff2b}"])
        .ok();
    let hooks: Vec<_> = common::files_under(&env.beads().join("hooks"));
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let hook = env.json(&["hook", "frank"]);
    assert_eq!(hook["items"].as_array().map(Vec::len), Some(2), "{hook}");
    assert_eq!(env.record(&z)["assignee"], "frank");

    env.bd_env(&["agent", "register"], &[("BD_ACTOR", "xu")])
        .ok();
    let r = env.bd(&["agent", "unregister", "\u{ff38}\u{ff35}"]).ok();
    assert!(r.stderr.contains("Unregistered agent xu"), "{}", r.stderr);
    let agents = env.json(&["agents"]);
    assert!(!agents.to_string().contains("\"xu\""), "{agents}");
}

/// Review (minor): `mail sent` showed reads but not an acknowledgement the
/// message did not ask for.
#[test]
fn item_17_review_mail_sent_shows_every_ack() {
    let env = TestEnvironment::new();
    env.bd_env(&["agent", "register"], &[("BD_ACTOR", "bob")])
        .ok();
    let m = env.json(&["mail", "send", "--to", "bob", "-s", "hi", "-b", "x"]);
    let id = m["id"].as_str().unwrap().to_string();
    env.bd_env(&["mail", "ack", &id], &[("BD_ACTOR", "bob")])
        .ok();
    let text = env.bd(&["mail", "sent"]).ok().stdout;
    assert!(
        text.contains("read by bob") && text.contains("acked by bob"),
        "{text}"
    );
    assert!(!text.contains("[ack pending]"), "{text}");
}

/// Second review: the identity of a remote-less repository was cached in
/// `.beads/.cache/identity` and believed as is, so a repository carrying
/// another's cache (copied, or committed and cloned) joined that project's
/// home. The cache now lives in git's own folder, out of the repository's
/// reach; `doctor` flags tracked local files and `--fix` untracks them.
#[test]
fn item_02_review2_a_planted_identity_cache_joins_no_home() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let home = t.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let x = t.join("x");
    new_repo(&x);
    std::fs::write(x.join("a.txt"), "x\n").unwrap();
    git(&x, &["add", "-A"]);
    git(&x, &["commit", "-q", "-m", "x"]);
    bd_at(&x, &home, "victim", &["init", "--prefix", "xx"]).ok();
    bd_at(&x, &home, "victim", &["agent", "register"]).ok();
    let x_id = bd_json_at(&x, &home, "victim", &["where"])["identity"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(x_id.starts_with("local/"), "{x_id}");
    // y: another repository, its own root commit, x's identity planted in
    // every place a cache could be, and committed.
    let y = t.join("y");
    new_repo(&y);
    std::fs::write(y.join("b.txt"), "y\n").unwrap();
    git(&y, &["add", "-A"]);
    git(&y, &["commit", "-q", "-m", "y"]);
    bd_at(&y, &home, "mallory", &["init", "--prefix", "yy"]).ok();
    let _ = std::fs::create_dir_all(y.join(".beads/.cache"));
    // Sealed as bd seals its caches, so only where it is read decides.
    let body = x_id.as_bytes();
    let sealed = format!("strand-cache {:020}\n{x_id}", body.len() + 34);
    std::fs::write(y.join(".beads/.cache/identity"), sealed).unwrap();
    git(&y, &["add", "-f", ".beads"]);
    git(&y, &["commit", "-q", "-m", "plant"]);
    let z = t.join("z");
    git(t, &["clone", "-q", y.to_str().unwrap(), "z"]);
    git(&z, &["remote", "remove", "origin"]);
    for (dir, who) in [(&y, "y"), (&z, "z")] {
        let w = bd_json_at(dir, &home, "mallory", &["where"]);
        assert_ne!(w["identity"], x_id.as_str(), "{who}: {w}");
        let r = bd_at(dir, &home, "mallory", &["--json", "agents"]);
        assert!(
            !r.stdout.contains("victim"),
            "{who} sees x's agents: {}",
            r.stdout
        );
    }
    // doctor in z names the tracked cache; --fix untracks it, files stay.
    let r = bd_at(&z, &home, "mallory", &["doctor"]);
    assert!(
        r.stdout.contains(".beads/.cache/identity") && r.stdout.contains("tracked"),
        "{}",
        r.stdout
    );
    bd_at(&z, &home, "mallory", &["doctor", "--fix"]);
    let tracked = git(&z, &["ls-files", ".beads"]);
    assert!(!tracked.contains(".cache/"), "{tracked}");
}

/// Third review: `--assignee` took a look-alike as written, so `Ｄave`
/// became a holder `dave` could neither claim past nor release.
#[test]
fn item_04_review3_a_lookalike_assignee_is_the_registered_agent() {
    let env = TestEnvironment::new();
    env.bd_env(&["agent", "register"], &[("BD_ACTOR", "dave")])
        .ok();
    let z = env
        .bd(&["create", "Z", "--assignee", "\u{ff24}ave"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(env.record(&z)["assignee"], "dave");
    let w = env.create("W", &[]);
    env.bd(&[
        "update",
        &w,
        "--assignee",
        "DAVE",
        "--status",
        "in_progress",
    ])
    .ok();
    assert_eq!(env.record(&w)["assignee"], "dave");
    env.bd_env(&["unclaim", &w], &[("BD_ACTOR", "dave")]).ok();
}

//! Every command's JSON output matches its schema.

use super::*;

// ------------------------------------------------------------ --json output

/// Import records whose IDs share a prefix, so a short prefix is ambiguous.
fn import_lines(env: &TestEnvironment, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    env.bd_stdin(&["import", "-"], text.as_bytes()).ok();
}

#[test]
fn every_command_output_matches_its_schema() {
    let ck = Checker::new();

    // Commands that need no workspace.
    let bare = TestEnvironment::bare_git();
    ck.run(&bare, "version", &["version"]);
    ck.run(&bare, "completion", &["completion", "bash"]);
    ck.run(&bare, "onboard", &["onboard"]);
    ck.fail(&bare, &["list"], 1, "not_found");
    let init = ck.run(&bare, "init", &["init", "--prefix", "bd"]);
    assert_eq!(init["issues"], 0);
    let again = ck.run(&bare, "init", &["init"]);
    assert_eq!(again["created"], json!([]));
    // `bd setup` (HOME is the environment's own home): list, print,
    // install, a check that fails (exit 1), remove.
    ck.run(&bare, "setup", &["setup", "--list"]);
    ck.run(&bare, "setup", &["setup", "--print"]);
    ck.run(
        &bare,
        "setup",
        &["setup", "claude", "--global", "--project"],
    );
    let missing = bare.bd(&["--json", "setup", "gemini", "--check"]).code(1);
    ck.out("setup", &missing.json(), "setup gemini --check");
    ck.run(&bare, "setup", &["setup", "claude", "--remove"]);
    let classic = TestEnvironment::bare_git();
    let beads = classic.beads();
    std::fs::create_dir_all(&beads).unwrap();
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/classic");
    for f in ["issues.jsonl", "config.yaml"] {
        std::fs::copy(fx.join(f), beads.join(f)).unwrap();
    }
    let mig = ck.run(&classic, "init", &["init"]);
    assert!(mig["issues"].as_u64().unwrap() > 0, "{mig}");

    let env = TestEnvironment::new();
    ck.run(&env, "issue-list", &["list"]);
    ck.run(&env, "ready-claim", &["ready", "--claim"]);
    let a = ck.run(
        &env,
        "issue",
        &["create", "Alpha", "-p", "1", "-l", "x,y", "-d", "d"],
    );
    let a = a["id"].as_str().unwrap().to_string();
    let b = ck.run(
        &env,
        "issue",
        &["create", "Beta", "-t", "bug", "--deps", &a],
    );
    let b = b["id"].as_str().unwrap().to_string();
    let c = ck.run(&env, "issue", &["create", "Child", "--parent", &a]);
    let c = c["id"].as_str().unwrap().to_string();
    assert_eq!(c, format!("{a}.1"));
    let d = env.create("Deferred", &["--defer", "+2d"]);

    // Issues, one and several.
    let shown = ck.run(&env, "show", &["show", &a]);
    assert!(shown.is_object());
    let two = ck.run(&env, "show", &["show", &a, &b]);
    assert_eq!(two.as_array().map(Vec::len), Some(2));
    // update, close and reopen give a list even for one issue (classic).
    ck.run(
        &env,
        "issue-list",
        &["update", &b, "--title", "Beta 2", "-p", "high"],
    );
    ck.run(
        &env,
        "issue-list",
        &["update", &b, &d, "--add-label", "two"],
    );
    ck.run(&env, "issue", &["claim", &a]);
    ck.run(&env, "issue", &["claim", &a]); // nothing changed: the issue as it is
    ck.run(&env, "issue", &["unclaim", &a]);
    ck.run(&env, "issue-list", &["update", &a, "--claim"]);
    let cm = ck.run(&env, "comment", &["comment", &a, "hello"]);
    // The id as text, as classic clients read it; the number is in the file.
    let n: u64 = cm["id"].as_str().unwrap().parse().unwrap();
    assert!(n < 1 << 52);
    assert_eq!(env.record(&a)["comments"][0]["id"], n);
    ck.run(&env, "comment-list", &["comments", &a]);
    ck.run(&env, "comment-list", &["comments", &b]);
    ck.run(&env, "issue", &["label", "add", &b, "z"]);
    ck.run(&env, "issue", &["label", "remove", &b, "z"]);
    ck.run(&env, "issue-list", &["label", "add", &a, &b, "z"]);
    ck.run(&env, "issue-list", &["label", "remove", &a, &b, "z"]);
    ck.run(&env, "label-list", &["label", "list"]);
    ck.run(&env, "label-list", &["label", "list", &a]);
    ck.run(&env, "issue", &["dep", "add", &c, &b, "--type", "related"]);
    ck.run(&env, "issue", &["dep", "remove", &c, &b]);
    ck.run(&env, "dep-list", &["dep", "list", &b]);
    ck.run(&env, "dep-list", &["dep", "list", &a]);
    ck.run(&env, "dep-list", &["dep", "list", &a, "--direction", "up"]);
    ck.run(&env, "dep-list", &["dep", "list", &a, &b]);
    ck.run(&env, "dep-tree", &["dep", "tree", &b]);
    ck.run(&env, "dep-tree", &["dep", "tree", &a, "--reverse"]);
    ck.run(&env, "dep-tree", &["dep", "tree", &b, "--max-depth", "1"]);
    ck.run(&env, "dep-cycles", &["dep", "cycles"]);
    ck.run(&env, "issue-list", &["close", &c, "--reason", "done"]);
    ck.run(&env, "issue-list", &["close", &c]); // already closed
    ck.run(&env, "issue-list", &["reopen", &c, "--reason", "again"]);
    ck.run(&env, "issue", &["defer", &b, "--until", "2031-01-01"]);
    ck.run(&env, "issue", &["undefer", &b]);
    ck.run(&env, "issue", &["delete", &d, "--reason", "dup"]);
    ck.run(&env, "issue", &["restore", &d]);
    ck.run(&env, "issue-list", &["close", &c, &d]);
    ck.run(&env, "issue-list", &["reopen", &c, &d]);

    // Listings.
    for args in [
        vec!["list"],
        vec!["list", "--all"],
        vec!["list", "--status", "blocked"],
        vec!["list", "-l", "x", "--sort", "oldest"],
        vec!["ready"],
        vec!["ready", "--limit", "1"],
        vec!["blocked"],
        vec!["search", "Alpha"],
        vec!["search", "nothing-matches-this"],
        vec!["children", &a],
        vec!["children", &a, "--recursive"],
        vec!["stale", "--days", "1"],
    ] {
        let doc = ck.run(&env, "issue-list", &args);
        if args[0] == "blocked" {
            ck.out("blocked", &doc, "blocked");
            assert!(
                !doc.as_array().unwrap().is_empty(),
                "nothing blocked: {doc}"
            );
        }
    }
    ck.run(&env, "ready-claim", &["ready", "--claim"]);
    ck.run(&env, "stats", &["stats"]);
    // The classic verbs.
    ck.run(&env, "issue-list", &["note", &a, "a line of notes"]);
    ck.run(&env, "info", &["info"]);
    ck.run(&env, "info", &["info", "--schema"]);
    ck.run(&env, "migrate", &["migrate", "--inspect"]);
    ck.run(&env, "repair-deps", &["repair-deps"]);
    ck.run(&env, "doctor-pollution", &["doctor", "--check=pollution"]);
    ck.run(&env, "quickstart", &["quickstart"]);
    ck.run(&env, "statuses", &["statuses"]);
    ck.run(&env, "types", &["types"]);
    ck.run(&env, "issue-list", &["assign", &a, "someone"]);
    ck.run(&env, "issue-list", &["tag", &a, "tagged"]);
    ck.run(&env, "count", &["count"]);
    for by in ["status", "priority", "type", "assignee", "label"] {
        let doc = ck.run(&env, "count", &["count", "--by", by]);
        assert!(doc["groups"].is_array(), "count --by {by}: {doc}");
    }
    let w = ck.run(&env, "where", &["where"]);
    assert_eq!(w["origin"], Value::Null, "{w}");
    ck.run(&env, "config-list", &["config", "list"]);
    ck.run(&env, "config-get", &["config", "get", "lease"]);
    ck.run(&env, "config-set", &["config", "set", "lease", "20m"]);
    ck.run(&env, "config-set", &["config", "set", "lease", "20m"]);
    ck.run(
        &env,
        "config-set",
        &["config", "set", "projects.other", "github.com/o/r"],
    );
    ck.run(&env, "config-set", &["config", "unset", "lease"]);
    ck.run(&env, "config-set", &["config", "unset", "lease"]);
    ck.run(&env, "config-get", &["config", "get", "projects.other"]);
    ck.run(&env, "config-list", &["config", "list"]);
    // This machine's own settings: another project's remote.
    let none = ck.run(&env, "config-machine", &["config", "list", "--machine"]);
    assert_eq!(none, json!({"schema_version": 1}), "{none}");
    let remote = ["projects.other.remote", "/srv/other.git"];
    ck.run(
        &env,
        "config-set",
        &["config", "set", "--machine", remote[0], remote[1]],
    );
    ck.run(
        &env,
        "config-get",
        &["config", "get", "--machine", remote[0]],
    );
    let one = ck.run(&env, "config-machine", &["config", "list", "--machine"]);
    assert_eq!(one[remote[0]], remote[1], "{one}");
    ck.run(
        &env,
        "config-set",
        &["config", "unset", "--machine", remote[0]],
    );
    ck.run(
        &env,
        "config-set",
        &["config", "set", "project", "example.com/p"],
    );
    let w = ck.run(&env, "where", &["where"]);
    assert_eq!(w["identity"], "example.com/p", "{w}");
    assert_eq!(w["identity_source"], "config", "{w}");
    ck.run(&env, "doctor", &["doctor"]);
    ck.run(&env, "export", &["export"]);
    let out = env.tmp.path().join("export.jsonl");
    let ex = ck.run(&env, "export", &["export", "-o", out.to_str().unwrap()]);
    assert!(ex["exported"].as_u64().unwrap() >= 4);
    let fixture = fx.join("issues.jsonl");
    ck.run(
        &env,
        "import",
        &["import", fixture.to_str().unwrap(), "--dry-run"],
    );
    ck.run(&env, "import", &["import", fixture.to_str().unwrap()]);
    ck.run(&env, "import", &["import", fixture.to_str().unwrap()]);
    // The classic records in every view.
    ck.run(&env, "issue-list", &["list", "--all"]);
    ck.run(&env, "issue-list", &["ready", "--limit", "0"]);
    ck.run(&env, "blocked", &["blocked"]);
    ck.run(&env, "stats", &["stats"]);
    let dr = ck.run(&env, "doctor", &["doctor"]);
    assert!(!dr["findings"].as_array().unwrap().is_empty(), "{dr}");
    let missing = env
        .records()
        .into_iter()
        .find(|r| {
            r["dependencies"].as_array().into_iter().flatten().any(|d| {
                let t = d["depends_on_id"].as_str().unwrap();
                !env.issues_text().contains(&format!("{{\"id\":\"{t}\""))
            })
        })
        .expect("the fixture has an edge to a missing issue");
    let ml = ck.run(
        &env,
        "dep-list",
        &["dep", "list", missing["id"].as_str().unwrap()],
    );
    assert!(ml.as_array().is_some(), "{ml}");
    let epic = env
        .records()
        .into_iter()
        .find(|r| {
            r["issue_type"] == "epic"
                && env.issues_text().contains(&format!(
                    "\"depends_on_id\":\"{}\",\"type\":\"parent-child\"",
                    r["id"].as_str().unwrap()
                ))
        })
        .expect("the fixture has an epic with children");
    let eid = epic["id"].as_str().unwrap();
    ck.run(&env, "show", &["show", eid]);
    ck.run(&env, "issue-list", &["children", eid]);
    ck.run(&env, "dep-tree", &["dep", "tree", eid, "--reverse"]);

    // A cycle, in dep cycles and dep tree.
    let cyc = TestEnvironment::new();
    let x = cyc.create("X", &[]);
    let y = cyc.create("Y", &[]);
    cyc.bd(&["dep", "add", &x, &y]).ok();
    let lines: Vec<Value> = cyc
        .records()
        .into_iter()
        .map(|mut r| {
            if r["id"] == y.as_str() {
                r["dependencies"] = json!([{"issue_id": y, "depends_on_id": x, "type": "blocks",
                    "created_at": "2026-01-01T00:00:00Z", "created_by": "t"}]);
            }
            r
        })
        .collect();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(cyc.issues_path(), text).unwrap();
    let cycles = ck.run(&cyc, "dep-cycles", &["dep", "cycles"]);
    assert!(!cycles.as_array().unwrap().is_empty(), "{cycles}");
    // A cycle shows each issue once.
    let tree = ck.run(&cyc, "dep-tree", &["dep", "tree", &x]);
    assert_eq!(tree.as_array().unwrap().len(), 2, "{tree}");

    // Git: commit, diff, log, sync against a local bare remote.
    let g = TestEnvironment::bare_git();
    let remote = g.tmp.path().join("remote.git");
    std::fs::create_dir_all(&remote).unwrap();
    common::git(&remote, &["init", "-q", "--bare", "-b", "main"]);
    common::git(&g.repo, &["commit", "-q", "--allow-empty", "-m", "start"]);
    common::git(
        &g.repo,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    common::git(&g.repo, &["push", "-q", "-u", "origin", "main"]);
    g.bd(&["init", "--prefix", "bd"]).ok();
    let gi = g.create("Tracked", &["-l", "l"]);
    ck.run(&g, "diff", &["diff"]);
    let first = ck.run(&g, "commit", &["commit"]);
    assert_eq!(first["committed"], true, "{first}");
    ck.run(&g, "commit", &["commit"]);
    g.bd(&["update", &gi, "--title", "Tracked 2", "-p", "0"])
        .ok();
    g.bd(&["close", &gi]).ok();
    ck.run(&g, "diff", &["diff"]);
    ck.run(&g, "commit", &["commit", "-m", "second"]);
    ck.run(&g, "diff", &["diff", "HEAD~1..HEAD"]);
    ck.run(&g, "diff", &["diff"]);
    let log = ck.run(&g, "log", &["log", &gi]);
    assert!(log["entries"].as_array().unwrap().len() >= 2, "{log}");
    g.bd(&["reopen", &gi]).ok();
    let s = ck.run(&g, "sync", &["sync"]);
    assert_eq!(s["pushed"], true, "{s}");
    ck.run(&g, "sync", &["sync"]);
    // Remote coordination: the probe, a claim through the remote, a sync
    // that settles it (its `remote` part).
    let probe = ck.run(&g, "doctor-remote", &["doctor", "--remote"]);
    assert_eq!(probe["recommended"], "refs", "{probe}");
    g.bd(&["config", "set", "coordination", "remote"]).ok();
    g.bd(&["claim", &gi]).ok();
    let s = ck.run(&g, "sync", &["sync"]);
    assert_eq!(s["remote"]["remote"], "origin", "{s}");

    // Errors: one document on stdout for every code.
    ck.fail(&env, &["frobnicate"], 2, "usage");
    ck.fail(
        &env,
        &["update", &a, "--claim", "--status", "open"],
        2,
        "usage",
    );
    ck.fail(&env, &["comment", &a], 2, "usage");
    ck.fail(&env, &["create", "Bad", "-p", "9"], 1, "invalid");
    ck.fail(
        &env,
        &["config", "set", "auto_commit", "sometimes"],
        1,
        "invalid",
    );
    ck.fail(&env, &["show", "bd-doesnotexist"], 1, "not_found");
    ck.fail(&env, &["config", "get", "nonsense"], 1, "not_found");
    ck.fail(&env, &["import", "/nonexistent/file.jsonl"], 1, "io");
    let amb = TestEnvironment::new();
    import_lines(
        &amb,
        &[
            json!({"id": "bd-abc1", "title": "one", "status": "open", "priority": 2}),
            json!({"id": "bd-abc2", "title": "two", "status": "open", "priority": 2}),
        ],
    );
    ck.fail(&amb, &["show", "abc"], 1, "ambiguous");
    let held = amb.bd(&["--actor", "other", "claim", "bd-abc1"]).ok();
    drop(held);
    ck.fail(&amb, &["claim", "bd-abc1"], 3, "conflict");
    {
        let lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(amb.beads().join(".lock"))
            .unwrap();
        lock.lock().unwrap();
        let r = amb.bd_env(
            &["--json", "create", "Locked out"],
            &[("BD_LOCK_TIMEOUT_MS", "150")],
        );
        let doc = check_failure(r, 3, "locked", "create (lock held)");
        ck.out("error", &doc, "create (lock held)");
        lock.unlock().unwrap();
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(amb.issues_path())
        .unwrap();
    std::io::Write::write_all(&mut f, b"{not json\n").unwrap();
    drop(f);
    ck.fail(&amb, &["create", "Refused"], 1, "parse");
    // Unfixed errors: exit 1, and still the doctor's report on stdout.
    let dr = amb.bd(&["--json", "doctor"]).code(1).json();
    ck.out("doctor", &dr, "doctor (unfixed errors)");
    assert_eq!(dr["ok"], false, "{dr}");
    let fixed = ck.run(&amb, "doctor", &["doctor", "--fix"]);
    assert!(
        fixed["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["fixed"] == true),
        "{fixed}"
    );
    let nogit = env.folder("nogit");
    let r = env.bd(&["--json", "-C", nogit.to_str().unwrap(), "list"]);
    let doc = check_failure(r, 1, "invalid", "list outside git");
    ck.out("error", &doc, "list outside git");

    // Mail and coordination.
    check_mail_outputs(&ck);
    check_coordination_outputs(&ck);
    check_worker_outputs(&ck);
    check_budget_outputs(&ck);
    check_formula_outputs(&ck);
    check_gate_outputs(&ck);

    // Every output schema was used above.
    let used = ck.used.borrow();
    let unused: Vec<String> = schema_files()
        .into_iter()
        // The MCP-only results are checked in mcp.rs.
        .filter(|f| f.starts_with("output/") && !used.contains(f) && !f.contains("/mcp-"))
        .collect();
    assert!(unused.is_empty(), "output schemas no test uses: {unused:?}");
}

/// `bd mail …`: local and cross-project messages, with attachments, pending
/// and delivered deliveries, read and ack marks, replies, empty results.
fn check_mail_outputs(ck: &Checker) {
    let (a, b) = two_projects();
    ck.run(
        &a,
        "agent",
        &["agent", "register", "bob", "--kind", "human"],
    );
    let empty = ck.run(&a, "mail-list", &["--actor", "bob", "mail", "inbox"]);
    assert_eq!(empty, json!([]));
    let file = a.tmp.path().join("repro.txt");
    std::fs::write(&file, "steps\n").unwrap();
    let file = file.to_str().unwrap();
    let local = ck.run(
        &a,
        "mail-send",
        &[
            "mail",
            "send",
            "--to",
            "bob",
            "--subject",
            "Hello",
            "--body",
            "see attached",
            "--attach",
            file,
            "--ack",
            "--importance",
            "high",
        ],
    );
    assert_eq!(local["attachments"][0]["size"], 6, "{local}");
    assert_eq!(local["pending"], json!([]), "{local}");
    let lid = local["id"].as_str().unwrap().to_string();
    let issue = a.create("Crash on start", &[]);
    let cross = ck.run(
        &a,
        "mail-send",
        &[
            "mail",
            "send",
            "--to",
            "@example.com/b",
            "--cc",
            "bob",
            "--subject",
            "Crash in b",
            "--body",
            "repro",
            "--attach",
            file,
            "--issue",
            &issue,
            "-t",
            "feature",
        ],
    );
    assert_eq!(
        cross["delivery"]["example.com/b"],
        json!({"status": "pending"}),
        "{cross}"
    );
    let nowhere = ck.run(
        &a,
        "mail-send",
        &[
            "mail",
            "send",
            "--to",
            "project:example.com/nowhere",
            "--subject",
            "Anyone?",
        ],
    );
    assert_eq!(
        nowhere["pending"],
        json!(["example.com/nowhere"]),
        "{nowhere}"
    );
    // A project on another machine, reached through the remote this
    // machine's config names: pushed, or offline and pending with why.
    let c_remote = a.tmp.path().join("c.git");
    std::fs::create_dir_all(&c_remote).unwrap();
    common::git(&c_remote, &["init", "-q", "--bare", "-b", "main"]);
    a.bd(&[
        "config",
        "set",
        "--machine",
        "projects.example.com/c.remote",
        c_remote.to_str().unwrap(),
    ])
    .ok();
    for (extra, pushed) in [(None, true), (Some("--offline"), false)] {
        let mut args: Vec<&str> = extra.into_iter().collect();
        args.extend(["mail", "send", "--to", "@example.com/c", "--subject", "Far"]);
        let far = ck.run(&a, "mail-send", &args);
        assert_eq!(far["remote"][0]["pushed"], pushed, "{far}");
    }
    // b's next command imports the message as a work item; b's agents see it.
    let imported = ck.run(&b, "issue-list", &["list"]);
    assert_eq!(imported.as_array().map(Vec::len), Some(1), "{imported}");
    let inbox_b = ck.run(&b, "mail-list", &["mail", "inbox"]);
    assert_eq!(inbox_b[0]["issue"], imported[0]["id"], "{inbox_b}");
    assert_eq!(inbox_b[0]["from"], "tester@example.com/a", "{inbox_b}");
    let back = ck.run(
        &b,
        "mail-send",
        &[
            "mail",
            "reply",
            inbox_b[0]["id"].as_str().unwrap(),
            "--body",
            "looking",
        ],
    );
    assert!(back["delivery"]["example.com/a"].is_object(), "{back}");
    // a's next command records the delivery.
    let every = ck.run(&a, "mail-list", &["mail", "list"]);
    assert!(!every.as_array().unwrap().is_empty(), "{every}");
    let found = ck.run(&a, "mail-list", &["mail", "search", "crash in b"]);
    let sent = found
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == cross["id"])
        .unwrap_or_else(|| panic!("search misses the message: {found}"));
    let d = &sent["delivery"]["example.com/b"];
    assert_eq!(d["status"], "delivered", "{sent}");
    assert_eq!(d["issue"], imported[0]["id"], "{sent}");
    // The recipient reads, acks (twice), replies.
    let inbox = ck.run(&a, "mail-list", &["--actor", "bob", "mail", "inbox"]);
    assert!(inbox.as_array().unwrap().len() >= 2, "{inbox}");
    let read = ck.run(&a, "message", &["--actor", "bob", "mail", "read", &lid]);
    assert!(read["read_by"]["bob"].is_string(), "{read}");
    let acked = ck.run(&a, "message", &["--actor", "bob", "mail", "ack", &lid]);
    assert!(acked["acked_by"]["bob"].is_string(), "{acked}");
    ck.run(&a, "message", &["--actor", "bob", "mail", "ack", &lid]);
    // The sender's view carries the recipient's marks.
    let sent_view = ck.run(&a, "mail-sent", &["mail", "sent"]);
    let mine = sent_view
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == lid.as_str())
        .unwrap_or_else(|| panic!("sent misses {lid}: {sent_view}"));
    assert!(mine["acked_by"]["bob"].is_string(), "{sent_view}");
    assert_eq!(
        ck.run(&a, "mail-sent", &["--actor", "nobody", "mail", "sent"]),
        json!([])
    );
    let reply = ck.run(
        &a,
        "mail-send",
        &["--actor", "bob", "mail", "reply", &lid, "--body", "thanks"],
    );
    assert_eq!(reply["in_reply_to"], lid.as_str(), "{reply}");
    let thread = ck.run(&a, "mail-list", &["mail", "thread", &lid]);
    assert_eq!(thread.as_array().map(Vec::len), Some(2), "{thread}");
    ck.run(
        &a,
        "mail-list",
        &["--actor", "bob", "mail", "inbox", "--all"],
    );
    let none = ck.run(&a, "mail-list", &["mail", "search", "nothing-matches-this"]);
    assert_eq!(none, json!([]));
    ck.fail(&a, &["mail", "read", "msg-doesnotexist0"], 1, "not_found");
    ck.fail(
        &a,
        &["mail", "send", "--to", "bob", "--subject", "  "],
        1,
        "invalid",
    );
    for env in [&a, &b] {
        let text = std::fs::read_to_string(env.beads().join("mail.jsonl")).unwrap();
        assert_jsonl_valid(&ck.v, "message.schema.json", &text, "mail.jsonl");
    }
}

/// A fake agent of `tests/fixtures/agents/`.
pub fn fake_agent(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/agents")
        .join(name)
        .display()
        .to_string()
}

/// The worker loop (issue 13): `run` (a worker's report, a fleet's, a
/// detached worker, a prune), `workers`; runs.jsonl's lines.
fn check_worker_outputs(ck: &Checker) {
    let env = TestEnvironment::new();
    let a = env.create("Item a", &[]);
    env.create("Item b", &[]);
    common::git(&env.repo, &["add", "-A"]);
    common::git(&env.repo, &["commit", "-q", "-m", "t"]);
    let plain = fake_agent("plain");
    let fail = fake_agent("fail");
    assert_eq!(ck.run(&env, "workers", &["workers"]), json!([]));
    let r = ck.run(
        &env,
        "run",
        &["run", "--once", "--close-on-success", "--", &plain],
    );
    assert_eq!(r["runs"][0]["after"], "closed", "{r}");
    assert_eq!(r["runs"][0]["issue"], a.as_str(), "{r}");
    let r = ck.run(
        &env,
        "run",
        &["run", "--once", "--retries", "0", "--", &fail],
    );
    assert_eq!(r["runs"][0]["after"], "gave_up", "{r}");
    let b = r["runs"][0]["issue"].as_str().unwrap().to_string();
    let r = ck.run(&env, "run", &["run", "--once", "--", &plain]);
    assert_eq!(r["stopped"], "nothing", "{r}");
    env.bd(&["label", "remove", &b, "run-failed"]).ok();
    env.bd(&["reopen", &a]).ok();
    let r = ck.run(
        &env,
        "run-fleet",
        &[
            "run",
            "--agents",
            "2",
            "--drain",
            "--interval",
            "200ms",
            "--",
            &plain,
        ],
    );
    assert_eq!(r["stopped"], "drained", "{r}");
    let all = ck.run(&env, "runs", &["runs", "-n", "0"]);
    assert!(!all.as_array().unwrap().is_empty(), "{all}");
    let one = all[0]["issue"].as_str().unwrap().to_string();
    let mine = ck.run(&env, "runs", &["runs", &one]);
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .all(|r| r["issue"] == one.as_str()),
        "{mine}"
    );
    let p = ck.run(&env, "run-prune", &["run", "--prune"]);
    assert!(!p["kept"].as_array().unwrap().is_empty(), "{p}");
    let slow = fake_agent("slow");
    env.create("Item c", &[]);
    let d = ck.run(
        &env,
        "run-detach",
        &["run", "--detach", "--agent", "bg", "--once", "--", &slow],
    );
    let pid = d["pid"].as_u64().unwrap().to_string();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let ws = loop {
        let ws = ck.run(&env, "workers", &["workers"]);
        if ws[0]["state"] == "running" || std::time::Instant::now() > end {
            break ws;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(ws[0]["state"], "running", "{ws}");
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let text = std::fs::read_to_string(env.beads().join("runs.jsonl")).unwrap();
    assert_jsonl_valid(&ck.v, "run.schema.json", &text, "runs.jsonl");
}

/// Agents, hooks, prime, dispatch (a round, a dry run, a recovery, a watch
/// loop), convoys, the demo.
fn check_coordination_outputs(ck: &Checker) {
    let env = TestEnvironment::new();
    assert_eq!(ck.run(&env, "agents", &["agents"]), json!([]));
    assert_eq!(ck.run(&env, "convoy-list", &["convoy", "list"]), json!([]));
    let reg = &["agent", "register", "agent-1", "--kind", "claude"];
    ck.run(&env, "agent", reg);
    ck.run(&env, "agent", reg); // idempotent
    let hb = ck.run(
        &env,
        "agent",
        &["--actor", "agent-1", "heartbeat", "--note", "on it"],
    );
    assert_eq!(hb["note"], "on it", "{hb}");
    let hb = ck.run(&env, "agent", &["--actor", "agent-2", "heartbeat"]);
    assert_eq!(hb["kind"], "unknown", "{hb}");
    assert_eq!(hb["note"], Value::Null, "{hb}");
    let x = env.create("X", &["-p", "1"]);
    let y = env.create("Y", &[]);
    let z = env.create("Z", &[]);
    ck.run(&env, "issue", &["--actor", "agent-1", "claim", &x]);
    let hook = ck.run(&env, "hook", &["--actor", "agent-1", "hook"]);
    assert_eq!(hook["items"], json!([]), "{hook}");
    let slung = ck.run(&env, "issue", &["sling", &y, "agent-1", "--note", "next"]);
    assert_eq!(slung["status"], "hooked", "{slung}");
    let hook = ck.run(&env, "hook", &["hook", "agent-1"]);
    assert_eq!(hook["items"], json!([y]), "{hook}");
    let hook_file = env.beads().join("hooks/agent-1.json");
    let hf: Value = serde_json::from_str(&std::fs::read_to_string(&hook_file).unwrap()).unwrap();
    assert_valid(&ck.v, "hook.schema.json", &hf, "hooks/agent-1.json");
    // File reservations: made, listed, in prime, refused, checked, released.
    let r = ck.run(
        &env,
        "reserve",
        &[
            "--actor", "agent-1", "reserve", "src/**", "--reason", "parser",
        ],
    );
    assert_eq!(r["globs"], json!(["src/**"]), "{r}");
    ck.run(
        &env,
        "reserve",
        &["--actor", "agent-2", "reserve", "--shared", "docs/*.md"],
    );
    let all = ck.run(&env, "reservations", &["reservations", "--all"]);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    ck.fail(
        &env,
        &["--actor", "agent-2", "reserve", "src/main.rs"],
        3,
        "conflict",
    );
    let checked = ck.run(
        &env,
        "reservations-check",
        &["reservations", "--check-staged"],
    );
    assert_eq!(checked["checked"], 0, "{checked}");
    let p = ck.run(&env, "prime", &["--actor", "agent-2", "prime"]);
    assert_eq!(p["reservations"][0]["globs"], json!(["docs/*.md"]), "{p}");
    let rel = ck.run(&env, "release", &["--actor", "agent-2", "release"]);
    assert_eq!(rel["released"], json!(["docs/*.md"]), "{rel}");
    ck.fail(
        &env,
        &["--actor", "agent-2", "release", "docs/*.md"],
        1,
        "not_found",
    );
    let p = ck.run(&env, "prime", &["--actor", "agent-1", "prime"]);
    assert_eq!(p["hook"][0]["id"], y.as_str(), "{p}");
    assert_eq!(p["claims"][0]["id"], x.as_str(), "{p}");
    ck.run(&env, "prime", &["prime"]);
    let agents = ck.run(&env, "agents", &["agents"]);
    assert_eq!(agents[0]["claims"], json!([x]), "{agents}");
    assert_eq!(agents[0]["hook"], json!([y]), "{agents}");
    let un = ck.run(&env, "unhook", &["unhook", &y, "--agent", "agent-1"]);
    assert_eq!(un["removed"], json!([y]), "{un}");
    let un = ck.run(&env, "unhook", &["unhook", "--agent", "agent-1"]);
    assert_eq!(un["removed"], json!([]), "{un}");
    ck.fail(&env, &["unhook", &y, "--agent", "agent-1"], 1, "not_found");

    // Dispatch: a dry run, a round, a round with nothing to do. Only
    // registered agents receive work (agent-2 only ran a heartbeat).
    ck.run(&env, "agent", &["agent", "register", "agent-3"]);
    let plan = ck.run(&env, "dispatch", &["dispatch", "--dry-run"]);
    assert!(!plan["slung"].as_array().unwrap().is_empty(), "{plan}");
    let plan = ck.run(&env, "dispatch", &["dispatch"]);
    assert_eq!(plan["dry_run"], false, "{plan}");
    assert!(!plan["slung"].as_array().unwrap().is_empty(), "{plan}");
    let plan = ck.run(&env, "dispatch", &["dispatch"]);
    assert_eq!(plan["slung"], json!([]), "{plan}");
    let gone = ck.run(
        &env,
        "agent-unregister",
        &["agent", "unregister", "agent-3"],
    );
    assert_eq!(gone["name"], "agent-3", "{gone}");
    ck.fail(&env, &["agent", "unregister", "agent-3"], 1, "not_found");

    // Convoys.
    let conv = ck.run(&env, "issue", &["convoy", "create", "Ship it", &y, &z]);
    assert_eq!(conv["issue_type"], "convoy", "{conv}");
    let cid = conv["id"].as_str().unwrap().to_string();
    ck.run(&env, "issue", &["convoy", "create", "Nothing yet"]);
    ck.run(&env, "issue", &["convoy", "add", &cid, &x]);
    ck.run(&env, "issue", &["convoy", "add", &cid, &x]); // already tracked
    let st = ck.run(&env, "convoy-status", &["convoy", "status", &cid]);
    assert_eq!(st["tracked"], 3, "{st}");
    env.bd(&["close", &z, "--force"]).ok();
    let st = ck.run(&env, "convoy-status", &["convoy", "status", &cid]);
    assert_eq!(st["by_status"]["closed"]["count"], 1, "{st}");
    let all = ck.run(&env, "convoy-list", &["convoy", "list"]);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    ck.fail(&env, &["convoy", "status", &x], 1, "invalid");

    // A watch loop: one compact line per round, then the summary when stopped.
    {
        use std::io::{BufRead, Read};
        let mut child = env
            .cmd(&["--json", "dispatch", "--watch", "--interval", "30"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let round: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("a watch round is not one JSON line ({e}): {first:?}"));
        ck.out("dispatch", &round, "dispatch --watch (a round)");
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let done = child.wait_with_output().unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        let summary: Value = serde_json::from_str(&rest)
            .unwrap_or_else(|e| panic!("the watch summary is not JSON ({e}): {rest:?}"));
        ck.out("dispatch-watch", &summary, "dispatch --watch (stopped)");
        assert_eq!(summary["rounds"], 1, "{summary}");
    }

    // A claim silent past its lease is recovered.
    let r = env.bd_at("2099-01-01T00:00:00Z", &["--json", "dispatch"]);
    let plan = r.ok().json();
    ck.out("dispatch", &plan, "dispatch (a lapsed claim)");
    assert_eq!(plan["recovered"], json!([[x, "agent-1"]]), "{plan}");

    // The demo, and the mail and hook files it leaves.
    let dir = env.tmp.path().join("demo");
    ck.run(&env, "demo", &["demo", dir.to_str().unwrap()]);
    let (mut mails, mut hooks) = (0, 0);
    for ws in ["vc-alice", "vc-bob", "beads"] {
        let beads = dir.join(ws).join(".beads");
        if let Ok(text) = std::fs::read_to_string(beads.join("mail.jsonl")) {
            mails += assert_jsonl_valid(&ck.v, "message.schema.json", &text, ws);
        }
        for e in std::fs::read_dir(beads.join("hooks")).into_iter().flatten() {
            let path = e.unwrap().path();
            let h: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_valid(&ck.v, "hook.schema.json", &h, &path.display().to_string());
            hooks += 1;
        }
    }
    assert!(
        mails >= 3 && hooks >= 1,
        "the demo left {mails} messages, {hooks} hooks"
    );
}

/// `bd budget …` and `bd metrics`: allocations and spends (the lines they
/// write too), the report of one budget and of all, metrics with and
/// without runs, the refusals of bad amounts.
fn check_budget_outputs(ck: &Checker) {
    let env = TestEnvironment::new();
    let m = ck.run(&env, "metrics", &["metrics"]);
    assert_eq!(m["runs"], 0, "{m}");
    assert_eq!(ck.run(&env, "budget-list", &["budget"]), json!([]));
    let epic = env.create("Epic", &["-t", "epic"]);
    let x = env.create("X", &["--parent", &epic]);
    let y = env.create("Y", &["--parent", &epic]);
    let set = ck.run(
        &env,
        "budget-record",
        &["budget", "set", &epic, "--tokens", "1000", "--usd", "2"],
    );
    assert_eq!(set["kind"], "allocate", "{set}");
    ck.run(
        &env,
        "budget-record",
        &["budget", "set", &x, "--tokens", "300"],
    );
    ck.run(
        &env,
        "budget-record",
        &["budget", "set", "agent:tester", "--tokens", "100"],
    );
    let sp = ck.run(
        &env,
        "budget-record",
        &["budget", "spend", "--tokens", "150", "--issue", &y],
    );
    assert_eq!(sp["issue"], y.as_str(), "{sp}");
    // Holding nothing: the agent's own spend.
    let sp = ck.run(&env, "budget-record", &["budget", "spend", "--usd", "0.1"]);
    assert!(sp.get("issue").is_none(), "{sp}");
    let one = ck.run(&env, "budget", &["budget", &epic]);
    assert_eq!(one["children"].as_array().map(Vec::len), Some(2), "{one}");
    let agent = ck.run(&env, "budget", &["budget", "agent:tester"]);
    assert_eq!(agent["exhausted"], true, "{agent}");
    let all = ck.run(&env, "budget-list", &["budget"]);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    let text = std::fs::read_to_string(env.beads().join("budget.jsonl")).unwrap();
    assert_eq!(
        assert_jsonl_valid(&ck.v, "budget.schema.json", &text, "budget.jsonl"),
        5
    );
    ck.fail(
        &env,
        &["budget", "set", &epic, "--tokens", "-1"],
        1,
        "invalid",
    );
    ck.fail(&env, &["budget", "spend", "--tokens", "0"], 1, "invalid");
    ck.fail(
        &env,
        &["budget", "set", "bd-nothere9", "--tokens", "1"],
        1,
        "not_found",
    );
    ck.fail(
        &env,
        &["budget", "set", "agent:", "--tokens", "1"],
        2,
        "usage",
    );
    // A run recorded by the worker loop.
    let run = json!({"id": "run-0000000000a1", "issue": x, "agent": "tester", "attempt": 1,
        "started_at": "2027-01-01T00:00:00Z", "ended_at": "2027-01-01T00:10:00Z",
        "outcome": "success", "exit_code": 0, "tokens": 120, "command": "claude",
        "branch": "bd/x", "after": "closed"});
    std::fs::write(env.beads().join("runs.jsonl"), format!("{run}\n")).unwrap();
    let m = ck.run(&env, "metrics", &["metrics"]);
    assert_eq!(m["agents"][0]["items_done"], 1, "{m}");
    let m = ck.run(&env, "metrics", &["metrics", "--since", "2030-01-01"]);
    assert_eq!(m["runs"], 0, "{m}");
    ck.fail(&env, &["metrics", "--since", "whenever"], 1, "invalid");
}

/// A formula with every field `formula show` and `cook` give: variables of
/// each kind, a step with every text and list, children, the three kinds of
/// loop, a timer and a command gate, a condition, `waits_for`, metadata,
/// advice.
const EVERY_FIELD_FORMULA: &str = r#"formula = "every-field"
description = "Ship {{thing}}: every field a formula may carry"
version = 2
type = "workflow"
phase = "liquid"
pour = true

[vars.thing]
description = "What to ship"
required = true
pattern = "^[a-z]+$"

[vars.mode]
default = "fast"
enum = ["fast", "slow"]

[vars.rounds]
default = "2"

[[steps]]
id = "plan"
title = "Plan {{thing}}"
description = "Write the plan"
notes = "keep it short"
acceptance = "a plan exists"
type = "feature"
priority = 1
labels = ["planning", "docs"]
assignee = "alice"
[steps.metadata]
owner = "team-a"
size = 3

[[steps]]
id = "build"
title = "Build {{thing}}"
needs = ["plan"]
[[steps.children]]
id = "compile"
title = "Compile"
[[steps.children]]
id = "link"
title = "Link"
needs = ["compile"]

[[steps]]
id = "each"
title = "Each round"
needs = ["build"]
[steps.loop]
range = "1..{{rounds}}"
var = "i"
[[steps.loop.body]]
id = "try"
title = "Try {i}"

[[steps]]
id = "twice"
title = "Twice"
needs = ["each"]
[steps.loop]
count = 2
[[steps.loop.body]]
id = "poll"
title = "Poll"

[[steps]]
id = "retry"
title = "Retry until green"
needs = ["twice"]
[steps.loop]
until = "green"
max = 3
[[steps.loop.body]]
id = "attempt"
title = "Attempt"

[[steps]]
id = "wait"
title = "Wait a while"
needs = ["retry"]
[steps.gate]
type = "timer"
timeout = "1h"

[[steps]]
id = "verify"
title = "Verify {{thing}}"
needs = ["wait"]
[steps.gate]
type = "command"
command = "test -n {{thing}}"
timeout = "5m"

[[steps]]
id = "slow-path"
title = "Slow path"
needs = ["verify"]
condition = "{{mode}} == slow"

[[steps]]
id = "collect"
title = "Collect"
needs = ["verify"]
waits_for = "children-of(build)"

[[advice]]
target = "verify"
before = { id = "prep-{step.id}", title = "Prepare {step.title}", type = "chore" }
after = { id = "review-{step.id}", title = "Review {step.title}", description = "look again" }
"#;

/// Copy the classic formulas (`tests/fixtures/formulas/classic/`) into the
/// workspace's `.beads/formulas/`.
pub fn add_classic_formulas(env: &TestEnvironment) {
    let dir = env.beads().join("formulas");
    std::fs::create_dir_all(&dir).unwrap();
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formulas/classic");
    for e in std::fs::read_dir(&fx).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.ends_with(".formula.toml") {
            std::fs::copy(&p, dir.join(name)).unwrap();
        }
    }
}

/// Formulas and molecules (issue 16): `formula list|show|check` (a check
/// that fails, exit 1), `cook` in both modes, `mol pour` (a dry run, a pour,
/// a keyed pour twice), `mol show|current|progress|list|ready` (a gate
/// resolved so a molecule is ready past it), `mol burn`, `mol squash`.
fn check_formula_outputs(ck: &Checker) {
    let env = TestEnvironment::new();
    assert_eq!(
        ck.run(&env, "formula-list", &["formula", "list"]),
        json!([])
    );
    add_classic_formulas(&env);
    let dir = env.beads().join("formulas");
    std::fs::write(dir.join("every-field.formula.toml"), EVERY_FIELD_FORMULA).unwrap();
    // The user's formulas: one of its own, one the workspace's hides.
    let user = env.home.join(".beads/formulas");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(
        user.join("mine.formula.toml"),
        "formula = \"mine\"\ndescription = \"the user's own\"\n\n[[steps]]\nid = \"a\"\ntitle = \"A\"\n",
    )
    .unwrap();
    std::fs::copy(
        dir.join("quick-check.formula.toml"),
        user.join("quick-check.formula.toml"),
    )
    .unwrap();

    let all = ck.run(&env, "formula-list", &["formula", "list"]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 8, "{all:?}");
    assert!(
        all.iter()
            .any(|f| f["name"] == "mine" && f["origin"] == "user"),
        "{all:?}"
    );
    ck.run(
        &env,
        "formula-list",
        &["formula", "list", "--type", "workflow"],
    );
    assert_eq!(
        ck.run(
            &env,
            "formula-list",
            &["formula", "list", "--type", "aspect"]
        ),
        json!([])
    );
    for name in [
        "quick-check",
        "release",
        "feature-workflow",
        "beads-release",
        "gh-issue-to-pr",
        "gh-pr-review",
        "mine",
    ] {
        ck.run(&env, "formula-show", &["formula", "show", name]);
    }
    let shown = ck.run(&env, "formula-show", &["formula", "show", "every-field"]);
    assert_eq!(shown["advice"][0]["target"], "verify", "{shown}");
    assert_eq!(shown["steps"][4]["loop"]["until"], "green", "{shown}");
    let ok = ck.run(&env, "formula-check", &["formula", "check"]);
    assert_eq!(ok["ok"], true, "{ok}");
    ck.run(
        &env,
        "formula-check",
        &["formula", "check", "release", "--var", "version=1.2.3"],
    );

    // cook: compile (variables kept), runtime (filled in, the values given).
    let c = ck.run(&env, "cook", &["cook", "every-field", "--mode", "compile"]);
    assert!(c.get("values").is_none(), "{c}");
    let c = ck.run(
        &env,
        "cook",
        &[
            "cook",
            "every-field",
            "--var",
            "thing=rocket",
            "--var",
            "mode=slow",
        ],
    );
    assert_eq!(c["mode"], "runtime", "{c}");
    assert_eq!(c["values"]["rounds"], "2", "{c}");
    ck.run(&env, "cook", &["cook", "release", "--mode", "compile"]);
    ck.run(
        &env,
        "cook",
        &[
            "cook",
            "release",
            "--var",
            "version=1.2.3",
            "--mode",
            "runtime",
        ],
    );
    ck.run(&env, "cook", &["cook", "quick-check", "--mode", "runtime"]);
    ck.run(&env, "cook", &["cook", "beads-release"]);

    // Pours: a dry run, a pour with gates, a keyed pour twice.
    let dry = ck.run(
        &env,
        "mol-pour",
        &[
            "mol",
            "pour",
            "release",
            "--var",
            "version=1.2.3",
            "--dry-run",
        ],
    );
    assert_eq!(dry["created"], 0, "{dry}");
    assert_eq!(dry["dry_run"], true, "{dry}");
    let every = ck.run(
        &env,
        "mol-pour",
        &[
            "mol",
            "pour",
            "every-field",
            "--var",
            "thing=rocket",
            "--var",
            "mode=slow",
            "--assignee",
            "bob",
        ],
    );
    let every_id = every["new_epic_id"].as_str().unwrap().to_string();
    assert!(
        every["issues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["issue_type"] == "gate"),
        "{every}"
    );
    let keyed = &["mol", "pour", "quick-check", "--idempotency-key", "k1"];
    let quick = ck.run(&env, "mol-pour", keyed);
    assert_eq!(quick["created"], 5, "{quick}");
    let again = ck.run(&env, "mol-pour", keyed);
    assert_eq!(again["already_poured"], true, "{again}");
    assert_eq!(again["created"], 0, "{again}");
    let qid = quick["new_epic_id"].as_str().unwrap().to_string();
    let qsteps: Vec<String> = quick["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();

    // Reading them: show (by the root, by a step), current and progress
    // (holding nothing, then a step), list.
    let shown = ck.run(&env, "mol-view", &["mol", "show", &every_id]);
    assert_eq!(shown["gates"].as_array().map(Vec::len), Some(2), "{shown}");
    ck.run(&env, "mol-view", &["mol", "show", &qsteps[1]]);
    assert_eq!(ck.run(&env, "mol-list", &["mol", "current"]), json!([]));
    assert_eq!(
        ck.run(&env, "mol-progress", &["mol", "progress"]),
        json!([])
    );
    env.bd(&["claim", &qsteps[0]]).ok();
    let cur = ck.run(&env, "mol-list", &["mol", "current"]);
    assert_eq!(cur[0]["current_step"], qsteps[0].as_str(), "{cur}");
    ck.run(&env, "mol-list", &["mol", "current", &every_id]);
    let pr = ck.run(&env, "mol-progress", &["mol", "progress"]);
    assert_eq!(pr[0]["current_step_id"], qsteps[0].as_str(), "{pr}");
    let pr = ck.run(&env, "mol-progress", &["mol", "progress", &every_id]);
    assert_eq!(pr[0]["current_step_id"], Value::Null, "{pr}");
    // A molecule made by hand: no formula, no steps.
    let hand = env.create("By hand", &["-t", "molecule"]);
    let h = ck.run(&env, "mol-view", &["mol", "show", &hand]);
    assert!(h.get("formula").is_none(), "{h}");
    let listed = ck.run(&env, "mol-list", &["mol", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");

    // A gate closed: beads-release poured, its steps before the gated
    // step closed, the gate resolved; mol ready names the step behind it.
    let none = ck.run(&env, "mol-ready", &["mol", "ready"]);
    assert_eq!(none["count"], 0, "{none}");
    let rel = ck.run(
        &env,
        "mol-pour",
        &["mol", "pour", "beads-release", "--var", "version=0.1.0"],
    );
    let map = &rel["id_mapping"];
    let gated = map["beads-release.await-ci"].as_str().unwrap().to_string();
    let gate = map["beads-release.gate-await-ci"]
        .as_str()
        .unwrap()
        .to_string();
    let mut before = vec!["close", "--force"];
    for i in rel["issues"].as_array().unwrap() {
        if i["step"] == "await-ci" {
            break;
        }
        before.push(i["id"].as_str().unwrap());
    }
    env.bd(&before).ok();
    ck.run(&env, "gate-list", &["gate", "list"]);
    ck.run(&env, "gate-view", &["gate", "show", &gate]);
    let resolved = ck.run(&env, "issue", &["gate", "resolve", &gate]);
    assert_eq!(resolved["status"], "closed", "{resolved}");
    let ready = ck.run(&env, "mol-ready", &["mol", "ready"]);
    assert_eq!(ready["count"], 1, "{ready}");
    assert_eq!(
        ready["molecules"][0]["ready_step"],
        gated.as_str(),
        "{ready}"
    );
    ck.run(&env, "mol-progress", &["mol", "progress", &gated]);

    // Burn: a dry run of two, then one.
    let rid = rel["new_epic_id"].as_str().unwrap().to_string();
    let b = ck.run(&env, "mol-burn", &["mol", "burn", &rid, &hand, "--dry-run"]);
    assert_eq!(b[1]["deleted_count"], 1, "{b}");
    let b = ck.run(&env, "mol-burn", &["mol", "burn", &rid]);
    assert_eq!(b[0]["dry_run"], false, "{b}");

    // Squash: refused while a step is open; every step closed, a dry run,
    // then with a summary, the steps deleted.
    ck.fail(&env, &["mol", "squash", &every_id], 1, "invalid");
    let mut close = vec!["close", "--force"];
    close.extend(qsteps.iter().map(String::as_str));
    env.bd(&close).ok();
    let sq = ck.run(&env, "mol-squash", &["mol", "squash", &qid, "--dry-run"]);
    assert_eq!(sq["squashed_count"], 4, "{sq}");
    let sq = ck.run(
        &env,
        "mol-squash",
        &[
            "mol",
            "squash",
            &qid,
            "--summary",
            "All good",
            "--delete-children",
        ],
    );
    assert_eq!(sq["deleted_count"], 4, "{sq}");
    let done = ck.run(&env, "mol-view", &["mol", "show", &qid]);
    assert_eq!(done["status"], "closed", "{done}");
    ck.run(&env, "mol-list", &["mol", "list", "--all"]);

    // Formulas with problems: listed with `error`, checked with exit 1.
    std::fs::write(
        dir.join("broken.formula.toml"),
        "formula = \"broken\"\n[[steps]]\nid = \"a\"\ntitle = \n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bad-graph.formula.toml"),
        "formula = \"bad-graph\"\n[[steps]]\nid = \"a\"\ntitle = \"A {{nope}}\"\nneeds = [\"zz\"]\ntype = \"robot\"\n",
    )
    .unwrap();
    let all = ck.run(&env, "formula-list", &["formula", "list"]);
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "broken" && f["error"].is_string()),
        "{all}"
    );
    let bad = env.bd(&["--json", "formula", "check"]).code(1).json();
    ck.out("formula-check", &bad, "formula check (problems)");
    assert_eq!(bad["ok"], false, "{bad}");
    let bad = env
        .bd(&[
            "--json",
            "formula",
            "check",
            "release",
            "--var",
            "version=bad",
        ])
        .code(1)
        .json();
    ck.out("formula-check", &bad, "formula check --var (a bad value)");
    ck.fail(&env, &["formula", "show", "broken"], 1, "invalid");
}

/// Gates (issue 16): `gate create` of each kind, `list`, `show` (with a
/// failed check recorded), `check` (a dry run; trusted commands that pass
/// and fail; a bead and a timer that resolve), `trust` (and `--revoke`),
/// `resolve`.
fn check_gate_outputs(ck: &Checker) {
    let env = TestEnvironment::new();
    assert_eq!(ck.run(&env, "gate-list", &["gate", "list"]), json!([]));
    let x = env.create("Target", &[]);
    let y = env.create("Awaited", &[]);
    let mut made = Vec::new();
    for args in [
        vec!["--type", "human", "--reason", "sign-off"],
        vec!["--type", "timer", "--timeout", "1h"],
        vec!["--type", "timer", "--at", "2026-01-01"],
        vec![
            "--type",
            "command",
            "--await-id",
            "echo checking; exit 3",
            "--timeout",
            "1m",
        ],
        vec!["--type", "command", "--await-id", "true"],
        vec!["--type", "bead", "--await-id", &y],
        vec!["--type", "gh:pr", "--await-id", "12"],
    ] {
        let mut a = vec!["gate", "create", "--blocks", &x];
        a.extend(args);
        let g = ck.run(&env, "issue", &a);
        assert_eq!(g["issue_type"], "gate", "{g}");
        made.push(g["id"].as_str().unwrap().to_string());
    }
    let [human, _timer, past, failing, passing, bead, gh] = &made[..] else {
        unreachable!()
    };
    let all = ck.run(&env, "gate-list", &["gate", "list"]);
    assert_eq!(all.as_array().map(Vec::len), Some(7), "{all}");
    for g in &made {
        ck.run(&env, "gate-view", &["gate", "show", g]);
    }
    let dry = ck.run(&env, "gate-check", &["gate", "check", "--dry-run"]);
    assert_eq!(dry["untrusted"], 3, "{dry}");
    // Trust: the two commands, and the gh gate (then revoked: gh is never
    // run here).
    for g in [failing, passing, gh] {
        let t = ck.run(&env, "gate-trust", &["gate", "trust", g]);
        assert_eq!(t["trusted"], true, "{t}");
    }
    let t = ck.run(&env, "gate-trust", &["gate", "trust", gh, "--revoke"]);
    assert_eq!(t["trusted"], false, "{t}");
    ck.fail(&env, &["gate", "trust", human], 1, "invalid");
    let r = ck.run(&env, "gate-check", &["gate", "check", "--type", "command"]);
    assert_eq!(
        (&r["resolved"], &r["failed"]),
        (&json!(1), &json!(1)),
        "{r}"
    );
    let f = ck.run(&env, "gate-view", &["gate", "show", failing]);
    assert_eq!(f["last_check"]["exit_code"], 3, "{f}");
    ck.run(&env, "gate-view", &["gate", "show", passing]);
    env.bd(&["close", "--force", &y]).ok();
    let r = ck.run(&env, "gate-check", &["gate", "check"]);
    assert!(
        r["gates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == bead.as_str() && g["outcome"] == "resolved"),
        "{r}"
    );
    assert!(
        r["gates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == past.as_str() && g["outcome"] == "resolved"),
        "{r}"
    );
    let r = ck.run(&env, "gate-check", &["gate", "check", human]);
    assert_eq!(r["gates"][0]["outcome"], "skipped", "{r}");
    ck.run(
        &env,
        "issue",
        &["gate", "resolve", human, "--reason", "signed"],
    );
    let all = ck.run(&env, "gate-list", &["gate", "list", "--all"]);
    assert_eq!(all.as_array().map(Vec::len), Some(7), "{all}");
    ck.run(&env, "gate-list", &["gate", "list"]);
    ck.fail(&env, &["gate", "show", &x], 1, "invalid");
}

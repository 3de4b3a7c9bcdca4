//! Mail across clones, worktrees and machines.

use super::*;

#[test]
fn mail_sent_in_one_clone_is_seen_at_once_in_the_other_clone_and_the_worktree() {
    let m = Machine::new(0);
    let a = ws_on(&m, &m.a);
    let b = ws_on(&m, &m.b);
    let wt = ws_on(&m, &m.wt);
    register(&a, &["ann"]);
    register(&b, &["bob"]);
    register(&wt, &["carol"]);

    let content = binary_content(5000);
    let sha = sha256_hex(&content);
    let att = m.env.tmp.path().join("trace.bin");
    std::fs::write(&att, &content).unwrap();

    let m1 = a.json_as(
        "ann",
        &[
            "mail",
            "send",
            "--to",
            "bob",
            "-s",
            "Please look at the trace",
            "-b",
            "Attached.",
            "--attach",
            att.to_str().unwrap(),
        ],
    );
    let id1 = m1["id"].as_str().unwrap().to_string();
    let m2 = a.json_as(
        "ann",
        &["mail", "send", "--to", "bob,carol", "-s", "Standup at 10"],
    );
    let id2 = m2["id"].as_str().unwrap().to_string();
    assert_eq!(m2["to"], serde_json::json!(["bob", "carol"]), "comma list");

    // No git exchange: B and the worktree have no mail file of their own yet,
    // but bob sees both messages in either, and carol hers.
    assert!(!mail_path(&b).exists() && !mail_path(&wt).exists());
    let in_b = b.json_as("bob", &["mail", "inbox"]);
    assert_eq!(ids(&in_b), [id2.clone(), id1.clone()]);
    assert_eq!(in_b[1]["attachments"][0]["sha256"], sha.as_str());
    assert_eq!(in_b[1]["from"], "ann");
    assert_eq!(
        ids(&wt.json_as("bob", &["mail", "inbox"])),
        [id2.clone(), id1.clone()]
    );
    assert_eq!(
        ids(&wt.json_as("carol", &["mail", "inbox"])),
        [id2.as_str()]
    );
    assert_eq!(ids(&b.json_as("carol", &["mail", "inbox"])), [id2.as_str()]);
    assert!(
        attachment(&b, &sha).is_none(),
        "the attachment is not in B before it is read there"
    );

    // Unread counts per agent, from any workspace.
    let want: BTreeMap<String, u64> =
        BTreeMap::from([("ann".into(), 0), ("bob".into(), 2), ("carol".into(), 1)]);
    assert_eq!(unread_counts(&a, "ann"), want);
    assert_eq!(unread_counts(&b, "bob"), want);
    assert_eq!(prime_unread(&b, "bob"), 2);
    assert_eq!(prime_unread(&wt, "carol"), 1);
    assert_eq!(prime_unread(&a, "ann"), 0);

    // bob reads the attached message in B: the attachment is copied into B,
    // byte-identical, and the message is stored in B's mail.jsonl.
    let r = b.json_as("bob", &["mail", "read", &id1]);
    instant(&r["read_by"]["bob"]);
    assert_eq!(attachment(&b, &sha).as_deref(), Some(&content[..]));
    let stored_b = mail(&b);
    assert_eq!(stored_b.keys().cloned().collect::<Vec<_>>(), [id1.as_str()]);
    assert_eq!(stored_b[&id1]["attachments"], m1["attachments"]);
    instant(&stored_b[&id1]["read_by"]["bob"]);
    // A's file is A's: another workspace's read never writes into it.
    for (id, msg) in mail(&a) {
        assert!(msg.get("read_by").is_none(), "{id} in A: {msg}");
    }

    // The read is seen at once in the worktree too, and the counts drop.
    assert_eq!(ids(&wt.json_as("bob", &["mail", "inbox"])), [id2.as_str()]);
    let want: BTreeMap<String, u64> =
        BTreeMap::from([("ann".into(), 0), ("bob".into(), 1), ("carol".into(), 1)]);
    assert_eq!(unread_counts(&wt, "carol"), want);
    assert_eq!(prime_unread(&b, "bob"), 1);

    // bob reads the other one in the worktree; carol reads hers in B.
    wt.json_as("bob", &["mail", "read", &id2]);
    b.json_as("carol", &["mail", "read", &id2]);
    let want: BTreeMap<String, u64> =
        BTreeMap::from([("ann".into(), 0), ("bob".into(), 0), ("carol".into(), 0)]);
    assert_eq!(unread_counts(&a, "ann"), want);
    assert_eq!(prime_unread(&b, "bob"), 0);
    assert_eq!(prime_unread(&a, "carol"), 0);
    assert_eq!(b.json_as("bob", &["mail", "inbox"]), serde_json::json!([]));

    // A reply from B reaches ann in A at once, in the same thread.
    let rep = b.json_as("bob", &["mail", "reply", &id1, "-b", "Looking now."]);
    let id3 = rep["id"].as_str().unwrap().to_string();
    let in_a = a.json_as("ann", &["mail", "inbox"]);
    assert_eq!(ids(&in_a), [id3.as_str()]);
    assert_eq!(in_a[0]["thread"], id1.as_str());
    assert_eq!(in_a[0]["in_reply_to"], id1.as_str());
    assert_eq!(
        ids(&a.json_as("ann", &["mail", "thread", &id3])),
        [id1.clone(), id3.clone()]
    );
    assert_eq!(prime_unread(&a, "ann"), 1);

    // @all reaches every agent, wherever it works.
    let all = a.json_as(
        "ann",
        &["mail", "send", "--to", "@all", "-s", "Freeze at 5pm"],
    );
    let id4 = all["id"].as_str().unwrap().to_string();
    assert_eq!(all["to"], serde_json::json!(["@all"]));
    assert_eq!(ids(&b.json_as("bob", &["mail", "inbox"])), [id4.as_str()]);
    assert_eq!(
        ids(&wt.json_as("carol", &["mail", "inbox"])),
        [id4.as_str()]
    );
    b.json_as("bob", &["mail", "read", &id4]);
    assert_eq!(
        ids(&wt.json_as("carol", &["mail", "inbox"])),
        [id4.as_str()],
        "bob's read of @all mail is bob's only"
    );
    let counts = unread_counts(&a, "ann");
    assert_eq!((counts["bob"], counts["carol"]), (0, 1), "{counts:?}");
}

#[test]
fn two_machines_that_send_and_read_converge_to_the_same_bytes_in_either_order() {
    let a_first = converge(true);
    let b_first = converge(false);
    assert_eq!(
        String::from_utf8_lossy(&a_first),
        String::from_utf8_lossy(&b_first),
        "the merge is commutative: the push/pull order does not change the bytes"
    );
}

// ---------------------------------------------------------------------------
// 7. Commits: a send commits (with its attachment), marking read never does
// ---------------------------------------------------------------------------

#[test]
fn with_auto_commit_on_a_send_commits_its_attachment_and_a_read_commits_nothing() {
    let env = TestEnvironment::new();
    let ws = ws_of(&env);
    register(&ws, &["ann", "bob"]);
    ws.bd_as("ann", &["config", "set", "auto_commit", "on"])
        .ok();
    git(&env.repo, &["add", "-A"]);
    git(&env.repo, &["commit", "-q", "-m", "setup"]);
    // The first commit changes a local project's identity: register again.
    register(&ws, &["ann", "bob"]);
    let head = |dir: &Path| git(dir, &["rev-parse", "HEAD"]).trim().to_string();

    let content = binary_content(300);
    let sha = sha256_hex(&content);
    let att = env.tmp.path().join("dump.bin");
    std::fs::write(&att, &content).unwrap();
    let before = head(&env.repo);
    let m = ws.json_as(
        "ann",
        &[
            "mail",
            "send",
            "--to",
            "bob",
            "-s",
            "core dump",
            "--attach",
            att.to_str().unwrap(),
        ],
    );
    let id = m["id"].as_str().unwrap().to_string();
    let after_send = head(&env.repo);
    assert_ne!(
        after_send, before,
        "auto_commit = on: the send is committed"
    );
    let files: BTreeSet<String> = git(
        &env.repo,
        &["diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD"],
    )
    .lines()
    .map(str::to_string)
    .collect();
    assert_eq!(
        files,
        BTreeSet::from([
            ".beads/mail.jsonl".to_string(),
            format!(".beads/attachments/{sha}"),
        ]),
        "the commit holds the message and its attachment"
    );
    let committed = std::process::Command::new("git")
        .args(["show", &format!("HEAD:.beads/attachments/{sha}")])
        .current_dir(&env.repo)
        .output()
        .unwrap();
    assert_eq!(
        committed.stdout, content,
        "committed bytes are the original"
    );

    ws.json_as("bob", &["mail", "read", &id]);
    ws.json_as("bob", &["mail", "ack", &id]);
    assert_eq!(head(&env.repo), after_send, "marking read never commits");
    let status = git(&env.repo, &["status", "--porcelain", "--", ".beads"]);
    assert_eq!(
        status.trim(),
        "M .beads/mail.jsonl",
        "the marks wait in the tree"
    );
}

/// bob reads a message in the worktree (at 05:00, marked on the live copy
/// too), then acks it in clone A (at 06:00), whose mail.jsonl has the message
/// without bob's mark. `ack` knows the 05:00 read from the live copy but
/// writes and prints read_by.bob = 06:00: a read time later than the real
/// one, and the only one that survives if the worktree is dropped uncommitted.
#[test]
fn ack_keeps_the_read_time_known_from_another_workspace() {
    let m = Machine::new(0);
    let a = ws_on(&m, &m.a);
    let wt = ws_on(&m, &m.wt);
    register(&a, &["ann", "bob"]);
    // Sent the same day (live copies older than 7 days are dropped).
    let id = a.json_as_at(
        "ann",
        "2030-01-01T04:00:00Z",
        &["mail", "send", "--to", "bob", "-s", "please ack", "--ack"],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let read = wt.json_as_at("bob", "2030-01-01T05:00:00Z", &["mail", "read", &id]);
    let read_at = instant(&read["read_by"]["bob"]);
    let ack = a.json_as_at("bob", "2030-01-01T06:00:00Z", &["mail", "ack", &id]);
    assert_eq!(
        instant(&ack["read_by"]["bob"]),
        read_at,
        "ack output keeps the earlier read: {ack}"
    );
    let stored = mail(&a);
    assert_eq!(
        instant(&stored[&id]["read_by"]["bob"]),
        read_at,
        "A's file keeps the earlier read: {}",
        stored[&id]
    );
}

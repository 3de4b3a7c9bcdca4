//! Send, inbox, read, ack, reply, thread and search in one workspace.

use super::*;

// ---------------------------------------------------------------------------
// 1. The round trip in one workspace
// ---------------------------------------------------------------------------

#[test]
fn round_trip_send_inbox_read_ack_reply_thread_search_in_one_workspace() {
    let env = TestEnvironment::new();
    let ws = ws_of(&env);
    register(&ws, &["ann", "bob", "carol"]);

    let content = binary_content(3000);
    let sha = sha256_hex(&content);
    let att = env.tmp.path().join("build.log");
    std::fs::write(&att, &content).unwrap();

    // ann → bob (cc carol): high importance, ack requested, one attachment.
    let m1 = ws.json_as(
        "ann",
        &[
            "mail",
            "send",
            "--to",
            "bob",
            "--cc",
            "carol",
            "-s",
            "Build is RED on main",
            "-b",
            "The linker fails; see the attached log.",
            "--ack",
            "--attach",
            att.to_str().unwrap(),
            "--importance",
            "high",
        ],
    );
    let id1 = m1["id"].as_str().unwrap().to_string();
    let suffix = id1.strip_prefix("msg-").expect("ids start with msg-");
    assert!(
        suffix.len() >= 12
            && suffix
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()),
        "msg- + at least 12 base36 characters: {id1}"
    );
    assert_eq!(
        m1["thread"],
        id1.as_str(),
        "a new message starts its thread"
    );
    assert!(m1.get("in_reply_to").is_none(), "{m1}");
    assert_eq!(m1["from"], "ann");
    assert_eq!(m1["to"], serde_json::json!(["bob"]));
    assert_eq!(m1["cc"], serde_json::json!(["carol"]));
    assert_eq!(m1["subject"], "Build is RED on main");
    assert_eq!(m1["body"], "The linker fails; see the attached log.");
    assert_eq!(m1["importance"], "high");
    assert_eq!(m1["ack_required"], true);
    assert_eq!(
        m1["attachments"],
        serde_json::json!([{"name": "build.log", "sha256": sha, "size": 3000}])
    );
    assert_eq!(m1["pending"], serde_json::json!([]), "nothing waits: {m1}");
    assert!(m1.get("read_by").is_none() && m1.get("acked_by").is_none());
    instant(&m1["created_at"]);

    // The attachment: committed under its SHA-256, byte for byte.
    assert_eq!(attachment(&ws, &sha).as_deref(), Some(&content[..]));
    let names: Vec<String> = std::fs::read_dir(env.beads().join("attachments"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [sha.as_str()],
        "one attachment file, named by its hash"
    );

    // The stored line is the message (minus `pending`).
    let stored = mail(&ws);
    assert_eq!(stored.len(), 1);
    let mut expect = m1.clone();
    expect.as_object_mut().unwrap().remove("pending");
    expect.as_object_mut().unwrap().remove("schema_version");
    assert_eq!(stored[&id1], expect);

    // A second, plain message, newer, with its body from stdin.
    let m2 = ws
        .bd_as_stdin(
            "ann",
            &[
                "--json",
                "mail",
                "send",
                "--to",
                "bob",
                "-s",
                "Lunch?",
                "--body-file",
                "-",
            ],
            "Pizza at noon.\nMy treat.\n".as_bytes(),
        )
        .ok()
        .json();
    let id2 = m2["id"].as_str().unwrap().to_string();
    assert_eq!(m2["body"], "Pizza at noon.\nMy treat.\n");
    assert_eq!(m2["importance"], "normal");
    assert_eq!(m2["ack_required"], false);
    assert!(m2.get("cc").is_none() && m2.get("attachments").is_none());
    assert!(instant(&m2["created_at"]) > instant(&m1["created_at"]));

    // bob: both unread, newest first.
    let inbox = ws.json_as("bob", &["mail", "inbox"]);
    assert_eq!(ids(&inbox), [id2.clone(), id1.clone()]);
    let r = ws.bd_as("bob", &["mail", "inbox"]).ok();
    crate::assert_human!(env, "mail_inbox", r.transcript());
    assert_eq!(inbox[1]["attachments"][0]["sha256"], sha.as_str());
    // ann's inbox has neither (she sent them); carol's has the cc.
    assert_eq!(
        ids(&ws.json_as("ann", &["mail", "inbox"])),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&ws.json_as("carol", &["mail", "inbox"])),
        [id1.as_str()]
    );

    // bob reads the newer one: the older, unread one now comes first.
    let before_m1_line = line_of(&ws, &id1);
    let r2 = ws.json_as("bob", &["mail", "read", &id2]);
    assert_eq!(r2["id"], id2.as_str());
    instant(&r2["read_by"]["bob"]);
    assert_eq!(
        line_of(&ws, &id1),
        before_m1_line,
        "marking one message read leaves the other line byte-identical"
    );
    assert_eq!(
        ids(&ws.json_as("bob", &["mail", "inbox", "--all"])),
        [id1.clone(), id2.clone()],
        "unread first, even when older"
    );
    assert_eq!(ids(&ws.json_as("bob", &["mail", "inbox"])), [id1.as_str()]);

    // Reading by a unique prefix without `msg-`.
    let before_m2_line = line_of(&ws, &id2);
    let r1 = ws.json_as("bob", &["mail", "read", &suffix[..6]]);
    assert_eq!(r1["id"], id1.as_str());
    let read_at = instant(&r1["read_by"]["bob"]);
    assert_eq!(
        r1["read_by"].as_object().unwrap().len(),
        1,
        "only bob's mark: {r1}"
    );
    let line: Value = serde_json::from_str(&line_of(&ws, &id1)).unwrap();
    assert_eq!(
        instant(&line["read_by"]["bob"]),
        read_at,
        "the mark is stored"
    );
    assert_eq!(line_of(&ws, &id2), before_m2_line);

    // Now nothing unread for bob; `--all` has both (newest first).
    let empty = ws.bd_as("bob", &["--json", "mail", "inbox"]).ok();
    assert_eq!(empty.json(), serde_json::json!([]));
    assert_eq!(
        ids(&ws.json_as("bob", &["mail", "inbox", "--all"])),
        [id2.clone(), id1.clone()]
    );
    // bob's read is his own: carol's copy stays unread.
    assert_eq!(
        ids(&ws.json_as("carol", &["mail", "inbox"])),
        [id1.as_str()]
    );
    // ann (not a recipient) can look at it; that marks nothing.
    let bytes = mail_bytes(&ws);
    let seen = ws.json_as("ann", &["mail", "read", &id1]);
    assert!(seen["read_by"].get("ann").is_none(), "{seen}");
    assert_eq!(
        mail_bytes(&ws),
        bytes,
        "a non-recipient's read writes nothing"
    );

    // Ack: sets acked_by.bob; a second ack changes nothing, says so, exits 0.
    let ack = ws.bd_as("bob", &["--json", "mail", "ack", &id1]).ok();
    let acked = ack.json();
    let acked_at = instant(&acked["acked_by"]["bob"]);
    assert_eq!(instant(&acked["read_by"]["bob"]), read_at, "read time kept");
    let line: Value = serde_json::from_str(&line_of(&ws, &id1)).unwrap();
    assert_eq!(instant(&line["acked_by"]["bob"]), acked_at);
    let bytes = mail_bytes(&ws);
    let again = ws.bd_as("bob", &["--json", "mail", "ack", &id1]).ok();
    assert!(
        again.stderr.contains("Nothing changed"),
        "a second ack says nothing changed: {}",
        again.stderr
    );
    assert_eq!(instant(&again.json()["acked_by"]["bob"]), acked_at);
    assert_eq!(mail_bytes(&ws), bytes, "a second ack writes nothing");

    // bob replies: same thread, in reply to m1, "Re: …", to ann.
    let rep = ws.json_as(
        "bob",
        &[
            "mail",
            "reply",
            &id1,
            "-b",
            "Fixed in 4f2a9c; it was the linker flags.",
        ],
    );
    let id3 = rep["id"].as_str().unwrap().to_string();
    assert_ne!(id3, id1);
    assert_eq!(rep["thread"], id1.as_str());
    assert_eq!(rep["in_reply_to"], id1.as_str());
    assert_eq!(rep["subject"], "Re: Build is RED on main");
    assert_eq!(rep["from"], "bob");
    assert_eq!(rep["to"], serde_json::json!(["ann"]));
    assert!(
        rep.get("cc").is_none(),
        "a plain reply goes to the sender only"
    );
    assert_eq!(ids(&ws.json_as("ann", &["mail", "inbox"])), [id3.as_str()]);
    assert_eq!(
        ids(&ws.json_as("ann", &["mail", "inbox", "--from", "bob"])),
        [id3.as_str()]
    );
    assert_eq!(
        ids(&ws.json_as("ann", &["mail", "inbox", "--from", "carol"])),
        Vec::<String>::new()
    );
    // A reply to the reply keeps the thread and says "Re:" once.
    let rep2 = ws.json_as("ann", &["mail", "reply", &id3, "-b", "Thanks!"]);
    let id4 = rep2["id"].as_str().unwrap().to_string();
    assert_eq!(rep2["thread"], id1.as_str());
    assert_eq!(rep2["in_reply_to"], id3.as_str());
    assert_eq!(rep2["subject"], "Re: Build is RED on main");
    assert_eq!(rep2["to"], serde_json::json!(["bob"]));

    // The thread, from any of its messages: oldest first.
    for from in [&id1, &id3, &id4] {
        assert_eq!(
            ids(&ws.json_as("bob", &["mail", "thread", from])),
            [id1.clone(), id3.clone(), id4.clone()],
            "thread of {from}"
        );
    }
    assert_eq!(
        ids(&ws.json_as("bob", &["mail", "inbox", "--all", "--thread", &id3])),
        [id4.clone(), id1.clone()],
        "bob's messages in that thread (the reply he wrote is not in his inbox)"
    );

    // Search: case-insensitive, subject and body.
    let found = |q: &str| -> BTreeSet<String> {
        ids(&ws.json_as("bob", &["mail", "search", q]))
            .into_iter()
            .collect()
    };
    assert_eq!(
        found("red ON MAIN"),
        BTreeSet::from([id1.clone(), id3.clone(), id4.clone()]),
        "subject"
    );
    assert_eq!(
        found("LINKER FAILS"),
        BTreeSet::from([id1.to_string()]),
        "body"
    );
    assert_eq!(found("pIzZa"), BTreeSet::from([id2.to_string()]), "body");
    assert_eq!(found("linker"), BTreeSet::from([id1.clone(), id3.clone()]));
    assert_eq!(found("no such words"), BTreeSet::new());

    // The file: four messages, sorted by id, each line parses.
    let all = mail(&ws);
    assert_eq!(
        all.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([id1.clone(), id2, id3, id4])
    );
    assert_eq!(instant(&all[&id1]["read_by"]["bob"]), read_at);
    assert_eq!(instant(&all[&id1]["acked_by"]["bob"]), acked_at);
    // Still one attachment file, still the original bytes.
    assert_eq!(attachment(&ws, &sha).as_deref(), Some(&content[..]));
}

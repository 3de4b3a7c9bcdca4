//! Concurrent senders and readers.

use super::*;

// ---------------------------------------------------------------------------
// 3. Concurrent senders and readers in one workspace
// ---------------------------------------------------------------------------

#[test]
fn eight_concurrent_senders_lose_no_message_and_concurrent_reads_keep_every_mark() {
    const SENDERS: usize = 8;
    const EACH: usize = 25;
    let env = TestEnvironment::new();
    let ws = ws_of(&env);
    register(&ws, &["boss"]);

    let barrier = Barrier::new(SENDERS);
    let sent: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..SENDERS)
            .map(|w| {
                let ws = &ws;
                let barrier = &barrier;
                s.spawn(move || {
                    let actor = format!("worker-{w}");
                    barrier.wait();
                    let mut out = Vec::new();
                    for i in 0..EACH {
                        let subject = format!("report {w}/{i}");
                        let r = ws.bd_as(
                            &actor,
                            &["mail", "send", "--to", "boss", "-s", &subject, "-b", "done"],
                        );
                        assert_eq!(
                            r.code, 0,
                            "{actor} send {i}\nstdout: {}\nstderr: {}",
                            r.stdout, r.stderr
                        );
                        out.push(r.stdout.trim().to_string());
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a sender thread"))
            .collect()
    });
    let sent_set: BTreeSet<String> = sent.iter().cloned().collect();
    assert_eq!(
        sent_set.len(),
        SENDERS * EACH,
        "every send printed its own id"
    );

    let lines = mail_lines(&ws);
    assert_eq!(lines.len(), SENDERS * EACH, "one line per message");
    let stored = mail(&ws); // every line parses, sorted, unique
    assert_eq!(stored.keys().cloned().collect::<BTreeSet<_>>(), sent_set);
    let subjects: BTreeSet<String> = stored
        .values()
        .map(|m| {
            assert_eq!(m["to"], serde_json::json!(["boss"]));
            format!(
                "{} {}",
                m["from"].as_str().unwrap(),
                m["subject"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(subjects.len(), SENDERS * EACH);

    let inbox = ws.json_as("boss", &["mail", "inbox"]);
    assert_eq!(
        ids(&inbox).into_iter().collect::<BTreeSet<_>>(),
        sent_set,
        "boss's inbox has all 200"
    );
    assert_eq!(inbox.as_array().unwrap().len(), SENDERS * EACH);
    let live = std::fs::read_to_string(project_dir(&env.home).join("mail/boss.jsonl")).unwrap();
    assert_eq!(
        live.lines().count(),
        SENDERS * EACH,
        "every live delivery kept"
    );

    // Now boss writes to all, and every worker reads and acks it at once.
    let note = ws.json_as(
        "boss",
        &["mail", "send", "--to", "@all", "-s", "Thanks all", "--ack"],
    );
    let nid = note["id"].as_str().unwrap().to_string();
    let barrier = Barrier::new(SENDERS);
    std::thread::scope(|s| {
        for w in 0..SENDERS {
            let ws = &ws;
            let barrier = &barrier;
            let nid = &nid;
            s.spawn(move || {
                let actor = format!("worker-{w}");
                barrier.wait();
                ws.bd_as(&actor, &["mail", "read", nid]).ok();
                ws.bd_as(&actor, &["mail", "ack", nid]).ok();
            });
        }
    });
    let stored = mail(&ws);
    assert_eq!(stored.len(), SENDERS * EACH + 1);
    let workers: BTreeSet<String> = (0..SENDERS).map(|w| format!("worker-{w}")).collect();
    for field in ["read_by", "acked_by"] {
        let keys: BTreeSet<String> = stored[&nid][field]
            .as_object()
            .unwrap_or_else(|| panic!("{field} on {nid}: {}", stored[&nid]))
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, workers, "{field} keeps every concurrent mark");
    }
    for w in &workers {
        assert_eq!(
            ws.json_as(w, &["mail", "inbox"]),
            serde_json::json!([]),
            "{w}"
        );
    }
}

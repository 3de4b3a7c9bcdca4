//! Clones that sync in any order converge.

use super::*;

#[test]
fn converge_two_clones_concurrent_creates() {
    let net = Network::new(2, "line 1\n");
    let mut ids = BTreeSet::new();
    for i in 0..3 {
        ids.insert(net.c[0].create(&format!("a{i}")));
        ids.insert(net.c[1].create(&format!("b{i}")));
    }
    net.converge(&ids);
    assert_eq!(net.c[0].ids(), ids);
}

#[test]
fn converge_three_clones_concurrent_creates() {
    let net = Network::new(3, "line 1\n");
    let mut ids = BTreeSet::new();
    for (n, ws) in net.c.iter().enumerate() {
        for i in 0..2 {
            ids.insert(ws.create(&format!("clone {n} issue {i}")));
        }
    }
    // Several rounds of new work and syncs in different orders.
    net.sync(&[2, 0]);
    ids.insert(net.c[1].create("late in b"));
    ids.insert(net.c[2].create("late in c"));
    net.sync(&[1, 2]);
    ids.insert(net.c[0].create("late in a"));
    net.converge(&ids);
    assert_eq!(net.c[2].ids(), ids);
}

#[test]
fn converge_edits_of_different_fields() {
    let net = Network::new(3, "line 1\n");
    let x = shared_issue(&net, "Shared");
    net.c[0].bd(&["update", &x, "--title", "Title from a"]).ok();
    net.c[1].bd(&["update", &x, "-p", "0"]).ok();
    net.c[2].bd(&["label", "add", &x, "from-c"]).ok();
    net.converge(&ids_of(&[&x]));
    for ws in &net.c {
        let r = ws.record(&x);
        assert_eq!(r["title"], "Title from a", "{r}");
        assert_eq!(r["priority"], 0, "{r}");
        assert_eq!(r["labels"], serde_json::json!(["from-c"]), "{r}");
    }
}

#[test]
fn converge_edits_of_the_same_field_later_wins() {
    let net = Network::new(2, "line 1\n");
    let x = shared_issue(&net, "Shared");
    let (a, b) = (&net.c[0], &net.c[1]);
    a.bd(&["update", &x, "-p", "1", "--description", "from a"])
        .ok();
    std::thread::sleep(std::time::Duration::from_millis(5));
    b.bd(&["update", &x, "-p", "3", "--description", "from b"])
        .ok();
    // b syncs first, then a: the later write wins whatever the order.
    net.sync(&[1, 0]);
    net.converge(&ids_of(&[&x]));
    for ws in &net.c {
        let r = ws.record(&x);
        assert_eq!(r["priority"], 3, "{r}");
        assert_eq!(r["description"], "from b", "{r}");
    }
    // The losing value is still visible in a's history.
    let log = a.bd(&["log", &x]).ok().stdout;
    assert!(log.contains("from a"), "{log}");
}

#[test]
fn converge_racing_claims_leave_one_holder() {
    let net = Network::new(3, "line 1\n");
    let x = shared_issue(&net, "Contended");
    let (a, b) = (&net.c[0], &net.c[1]);
    a.bd(&["claim", &x]).ok();
    std::thread::sleep(std::time::Duration::from_millis(5));
    b.bd(&["claim", &x]).ok();
    a.bd(&["sync"]).ok();
    let r = b.bd(&["sync"]).ok();
    assert!(
        r.stderr.contains("lost") && r.stderr.contains(&x),
        "b is told its claim was lost: {}",
        r.stderr
    );
    net.converge(&ids_of(&[&x]));
    for ws in &net.c {
        let r = ws.record(&x);
        assert_eq!(r["assignee"], "alice", "earlier claim wins: {r}");
        assert_eq!(r["status"], "in_progress", "{r}");
        let show = ws.json(&["show", &x]);
        assert_eq!(show["assignee"], "alice");
    }
}

#[test]
fn converge_comments_are_a_union() {
    let net = Network::new(2, "line 1\n");
    let x = shared_issue(&net, "Discussed");
    net.c[0].bd(&["comment", &x, "from a"]).ok();
    net.c[1].bd(&["comment", &x, "from b"]).ok();
    net.c[1].bd(&["comment", &x, "again from b"]).ok();
    net.converge(&ids_of(&[&x]));
    for ws in &net.c {
        let r = ws.record(&x);
        let texts: BTreeSet<&str> = r["comments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            texts,
            ["again from b", "from a", "from b"].into_iter().collect(),
            "{r}"
        );
    }
}

#[test]
fn converge_delete_beats_a_concurrent_edit() {
    let net = Network::new(2, "line 1\n");
    let x = shared_issue(&net, "Doomed");
    net.c[0].bd(&["delete", &x, "--reason", "duplicate"]).ok();
    net.c[1]
        .bd(&["update", &x, "--title", "Edited meanwhile"])
        .ok();
    net.sync(&[1, 0]);
    net.converge(&ids_of(&[&x]));
    for ws in &net.c {
        let r = ws.record(&x);
        assert_eq!(r["status"], "tombstone", "{r}");
        assert!(r["deleted_at"].is_string(), "{r}");
    }
}

#[test]
fn converge_close_beats_a_concurrent_claim() {
    let net = Network::new(2, "line 1\n");
    let x = shared_issue(&net, "Finished elsewhere");
    let y = shared_issue(&net, "Finished elsewhere too");
    net.c[0].bd(&["close", &x, "--reason", "done"]).ok();
    net.c[0].bd(&["close", &y, "--reason", "done"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(5));
    net.c[1].bd(&["claim", &x]).ok();
    net.c[1].bd(&["claim", &y]).ok();
    // x: the closer syncs first; y's turn is the other way round below.
    net.sync(&[0, 1]);
    net.converge(&ids_of(&[&x, &y]));
    for ws in &net.c {
        for id in [&x, &y] {
            let r = ws.record(id);
            assert_eq!(r["status"], "closed", "{r}");
            assert!(r["closed_at"].is_string(), "{r}");
        }
    }
}

#[test]
fn converge_close_beats_a_claim_when_the_claimer_syncs_first() {
    let net = Network::new(2, "line 1\n");
    let x = shared_issue(&net, "Finished elsewhere");
    net.c[0].bd(&["close", &x]).ok();
    std::thread::sleep(std::time::Duration::from_millis(5));
    net.c[1].bd(&["claim", &x]).ok();
    net.sync(&[1, 0]);
    net.converge(&ids_of(&[&x]));
    for ws in &net.c {
        assert_eq!(ws.record(&x)["status"], "closed");
    }
}

#[test]
fn converge_everything_at_once_in_three_clones() {
    let net = Network::new(3, "line 1\n");
    let x = shared_issue(&net, "Edited everywhere");
    let claim = shared_issue(&net, "Claimed twice");
    let del = shared_issue(&net, "Deleted and edited");
    let close = shared_issue(&net, "Closed and claimed");
    let (a, b, c) = (&net.c[0], &net.c[1], &net.c[2]);
    let mut ids: BTreeSet<String> = [&x, &claim, &del, &close].into_iter().cloned().collect();
    ids.insert(a.create("new in a"));
    ids.insert(b.create("new in b"));
    ids.insert(c.create("new in c"));
    a.bd(&["update", &x, "--title", "Retitled by a"]).ok();
    b.bd(&["update", &x, "-p", "4"]).ok();
    c.bd(&["update", &x, "--notes", "notes by c"]).ok();
    a.bd(&["comment", &x, "comment by a"]).ok();
    c.bd(&["comment", &x, "comment by c"]).ok();
    a.bd(&["claim", &claim]).ok();
    a.bd(&["delete", &del]).ok();
    a.bd(&["close", &close]).ok();
    std::thread::sleep(std::time::Duration::from_millis(5));
    b.bd(&["claim", &claim]).ok();
    c.bd(&["claim", &claim]).ok();
    b.bd(&["update", &del, "--description", "edited by b"]).ok();
    c.bd(&["claim", &close]).ok();
    net.sync(&[2, 1, 0]);
    ids.insert(b.create("second round in b"));
    net.converge(&ids);
    for ws in &net.c {
        let r = ws.record(&x);
        assert_eq!(r["title"], "Retitled by a", "{r}");
        assert_eq!(r["priority"], 4, "{r}");
        assert_eq!(r["notes"], "notes by c", "{r}");
        assert_eq!(r["comments"].as_array().unwrap().len(), 2, "{r}");
        let r = ws.record(&claim);
        assert_eq!(r["assignee"], "alice", "{r}");
        assert_eq!(r["status"], "in_progress", "{r}");
        assert_eq!(ws.record(&del)["status"], "tombstone");
        assert_eq!(ws.record(&close)["status"], "closed");
    }
}

#[test]
fn converge_with_plain_git_pull_and_push() {
    let net = Network::new(3, "line 1\n");
    let mut ids = BTreeSet::new();
    let x = shared_issue(&net, "Shared");
    ids.insert(x.clone());
    for (n, ws) in net.c.iter().enumerate() {
        ids.insert(ws.create(&format!("from clone {n}")));
        ws.bd(&["comment", &x, &format!("comment {n}")]).ok();
        ws.bd(&["commit"]).ok();
    }
    // Each clone: pull (git runs the driver), push; then again to settle.
    for round in 0..2 {
        for ws in &net.c {
            let pull = ws.git_try(&["pull", "--no-rebase", "--no-edit", "-q"]);
            assert_eq!(
                pull.code,
                0,
                "round {round}: git pull in {} failed\nstdout: {}\nstderr: {}",
                ws.name(),
                pull.stdout,
                pull.stderr
            );
            ws.git(&["push", "-q"]);
        }
    }
    net.assert_converged(&ids);
    for ws in &net.c {
        assert_eq!(ws.record(&x)["comments"].as_array().unwrap().len(), 3);
        assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    }
}

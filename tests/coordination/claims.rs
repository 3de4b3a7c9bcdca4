//! Claims seen across workspaces of one machine, races, the ledger.

use super::*;

// ---------------------------------------------------------------------------
// 1-3. Claims, closes and releases are seen at once across workspaces
// ---------------------------------------------------------------------------

#[test]
fn claim_in_one_workspace_is_seen_in_the_others_at_once() {
    let m = Machine::new(3);
    let x = m.ids[0].clone();
    let b_path = m.canon(&m.b);
    assert!(ready(&m, &m.a, "alice").contains(&x));

    m.bd(&m.b, "bob", &["claim", &x]).ok();

    // No push or pull: A and the worktree see bob's claim through the ledger.
    let r = m.bd(&m.a, "alice", &["claim", &x]);
    assert_refused_by(&r, "bob", &b_path);
    let r = m.bd(&m.wt, "walt", &["claim", &x]);
    assert_refused_by(&r, "bob", &b_path);
    // `update --claim` is a claim too.
    let r = m.bd(&m.a, "alice", &["update", &x, "--claim"]);
    assert_refused_by(&r, "bob", &b_path);

    // Refusals changed nothing: A's and the worktree's files still show it open.
    for ws in [&m.a, &m.wt] {
        let r = &records(ws)[&x];
        assert_eq!((status_of(r), assignee_of(r)), ("open", ""));
    }
    let r = &records(&m.b)[&x];
    assert_eq!((status_of(r), assignee_of(r)), ("in_progress", "bob"));

    // `ready` elsewhere hides it; in B (bob's own claim) it is in progress anyway.
    assert!(!ready(&m, &m.a, "alice").contains(&x));
    assert!(!ready(&m, &m.wt, "walt").contains(&x));
    // bob himself claiming again in B: exit 0, nothing changes.
    let before = records(&m.b)[&x].clone();
    let r = m.bd(&m.b, "bob", &["claim", &x]).ok();
    assert!(!claimed(&r, &x), "a repeated claim changes nothing: {r:?}");
    assert_eq!(records(&m.b)[&x], before);

    // `ready --claim` in A skips x (the top of the list) and takes another.
    let r = m.bd(&m.a, "alice", &["ready", "--claim"]).ok();
    let got = r.stdout.trim().to_string();
    assert!(
        m.ids.contains(&got) && got != x,
        "ready --claim took another issue, not {x}: {r:?}"
    );
    let rec = &records(&m.a)[&got];
    assert_eq!((status_of(rec), assignee_of(rec)), ("in_progress", "alice"));
    // ... and that claim is in turn seen in B and the worktree.
    let a_path = m.canon(&m.a);
    assert_refused_by(&m.bd(&m.b, "bob", &["claim", &got]), "alice", &a_path);
    assert_refused_by(&m.bd(&m.wt, "walt", &["claim", &got]), "alice", &a_path);
    let r = m.json(&m.wt, "walt", &["ready", "--claim"]);
    let third = ids_of(&r);
    assert_eq!(third.len(), 1, "walt got the last free issue: {r}");
    assert!(!third.contains(&x) && !third.contains(&got));
    // Nothing is left for anyone.
    let r = m.bd(&m.b, "carol", &["ready", "--claim"]).ok();
    assert_eq!(r.stdout.trim(), "", "nothing left to claim: {r:?}");
}

#[test]
fn close_in_one_clone_makes_the_issue_unclaimable_elsewhere() {
    let m = Machine::new(2);
    let x = m.ids[1].clone();
    m.bd(&m.a, "alice", &["close", &x, "--reason", "done"]).ok();
    assert!(!ready(&m, &m.a, "alice").contains(&x));

    let a_path = m.canon(&m.a);
    for (ws, who) in [(&m.b, "bob"), (&m.wt, "walt")] {
        let r = m.bd(ws, who, &["claim", &x]);
        assert_eq!(
            r.code,
            3,
            "claim of a closed issue in {}: {r:?}",
            ws.display()
        );
        assert!(
            r.stderr.contains(&format!("closed in workspace {a_path}")),
            "the refusal says where it was closed: {}",
            r.stderr
        );
        assert!(
            !ready(&m, ws, who).contains(&x),
            "{x} vanished from ready in {}",
            ws.display()
        );
        // Their files are untouched: the close rides with git later.
        assert_eq!(status_of(&records(ws)[&x]), "open");
    }
    // `ready --claim` elsewhere takes the other issue, never the closed one.
    let r = m.bd(&m.b, "bob", &["ready", "--claim"]).ok();
    assert_eq!(r.stdout.trim(), m.ids[0]);
    let r = m.bd(&m.wt, "walt", &["ready", "--claim"]).ok();
    assert_eq!(r.stdout.trim(), "", "nothing claimable is left: {r:?}");

    // A reopen in A is recorded too: x is ready and claimable elsewhere again.
    m.bd(&m.a, "alice", &["reopen", &x]).ok();
    assert!(ready(&m, &m.wt, "walt").contains(&x));
    assert!(ready(&m, &m.b, "bob").contains(&x));
    let r = m.bd(&m.wt, "walt", &["claim", &x]).ok();
    assert!(claimed(&r, &x), "{r:?}");
    assert_refused_by(
        &m.bd(&m.a, "alice", &["claim", &x]),
        "walt",
        &m.canon(&m.wt),
    );

    // A delete is seen the same way.
    let m2 = Machine::new(1);
    let z = m2.ids[0].clone();
    m2.bd(&m2.b, "bob", &["delete", &z]).ok();
    let r = m2.bd(&m2.a, "alice", &["claim", &z]);
    assert_eq!(r.code, 3, "claim of an issue deleted in B: {r:?}");
    assert!(r.stderr.contains("deleted"), "{}", r.stderr);
    assert!(!ready(&m2, &m2.wt, "walt").contains(&z));
}

#[test]
fn unclaim_in_one_clone_releases_it_for_the_others() {
    let m = Machine::new(1);
    let x = m.ids[0].clone();
    m.bd(&m.b, "bob", &["claim", &x]).ok();
    assert_refused_by(&m.bd(&m.a, "alice", &["claim", &x]), "bob", &m.canon(&m.b));

    m.bd(&m.b, "bob", &["unclaim", &x]).ok();
    let r = &records(&m.b)[&x];
    assert_eq!((status_of(r), assignee_of(r)), ("open", ""));
    assert!(ready(&m, &m.a, "alice").contains(&x));
    assert!(ready(&m, &m.wt, "walt").contains(&x));

    let r = m.bd(&m.a, "alice", &["claim", &x]).ok();
    assert!(claimed(&r, &x), "{r:?}");
    // Now alice holds it everywhere, bob included.
    assert_refused_by(&m.bd(&m.b, "bob", &["claim", &x]), "alice", &m.canon(&m.a));
    assert_refused_by(
        &m.bd(&m.wt, "walt", &["claim", &x]),
        "alice",
        &m.canon(&m.a),
    );

    // Release and re-claim across workspaces once more (epochs keep rising).
    m.bd(&m.a, "alice", &["unclaim", &x]).ok();
    let r = m.bd(&m.wt, "walt", &["claim", &x]).ok();
    assert!(claimed(&r, &x), "{r:?}");
    assert_refused_by(&m.bd(&m.b, "bob", &["claim", &x]), "walt", &m.canon(&m.wt));
}

// ---------------------------------------------------------------------------
// 4. The race: 3 workspaces x 8 processes on 30 issues
// ---------------------------------------------------------------------------

#[test]
fn race_across_three_workspaces_has_one_winner_per_issue() {
    let m = Arc::new(Machine::new(30));
    let ids = m.ids.clone();
    let attempts = race(&m, &ids, 8, "r");
    assert_eq!(attempts.len(), 3 * 8 * 30);
    let winners = one_winner_each(&attempts, &ids);
    assert_recorded(&m, &winners);

    // The ledger names the same holders.
    let ledger: Value = serde_json::from_str(
        &std::fs::read_to_string(m.project_dir().join("ledger.json")).unwrap(),
    )
    .unwrap();
    let by_issue: BTreeMap<String, &Value> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["issue"].as_str().unwrap().to_string(), e))
        .collect();
    for (id, w) in &winners {
        let e = by_issue
            .get(id)
            .unwrap_or_else(|| panic!("ledger entry for {id}"));
        assert_eq!(e["event"]["kind"], "claimed", "{e}");
        assert_eq!(e["event"]["holder"], w.actor.as_str(), "{e}");
    }
    // And nothing is ready anywhere any more.
    for ws in [&m.a, &m.b, &m.wt] {
        assert!(ready(&m, ws, "nobody").is_empty(), "{}", ws.display());
    }
}

// ---------------------------------------------------------------------------
// 5. After git exchange everything agrees
// ---------------------------------------------------------------------------

#[test]
fn after_push_and_pull_all_workspaces_agree_and_no_close_is_undone() {
    let m = Arc::new(Machine::new(8));
    let race_ids: Vec<String> = m.ids[..5].to_vec();
    let attempts = race(&m, &race_ids, 2, "s");
    let winners = one_winner_each(&attempts, &race_ids);
    assert_recorded(&m, &winners);

    // A close after a claim elsewhere: the issue held in another workspace is
    // closed (closing needs no claim); the merge must keep it closed.
    let (held, holder) = winners
        .iter()
        .next()
        .map(|(i, a)| (i.clone(), a.clone()))
        .unwrap();
    let closer = [&m.a, &m.b, &m.wt]
        .into_iter()
        .find(|ws| **ws != holder.ws)
        .unwrap()
        .clone();
    m.bd(&closer, "closer", &["close", &held]).ok();
    // A close before a claim: the claim is refused, so nothing to undo.
    let early = m.ids[5].clone();
    m.bd(&m.b, "bob", &["close", &early]).ok();
    assert_eq!(m.bd(&m.a, "alice", &["claim", &early]).code, 3);
    assert_eq!(m.bd(&m.wt, "walt", &["claim", &early]).code, 3);
    // An ordinary claim by a single agent in the worktree.
    let solo = m.ids[6].clone();
    m.bd(&m.wt, "walt", &["claim", &solo]).ok();

    sync_all(&m);

    let a = records(&m.a);
    let b = records(&m.b);
    let wt = records(&m.wt);
    let summary = |r: &BTreeMap<String, Value>| -> BTreeMap<String, (String, String)> {
        r.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    (status_of(v).to_string(), assignee_of(v).to_string()),
                )
            })
            .collect()
    };
    assert_eq!(summary(&a), summary(&b), "A and B agree after the exchange");
    assert_eq!(summary(&a), summary(&wt), "A and the worktree agree");
    assert_eq!(
        std::fs::read_to_string(m.a.join(".beads/issues.jsonl")).unwrap(),
        std::fs::read_to_string(m.b.join(".beads/issues.jsonl")).unwrap(),
        "A and B hold the same bytes"
    );

    for (id, w) in &winners {
        if *id == held {
            continue;
        }
        assert_eq!(
            (status_of(&a[id]), assignee_of(&a[id])),
            ("in_progress", w.actor.as_str()),
            "{id} keeps its one holder after the merge"
        );
    }
    assert_eq!(
        status_of(&a[&held]),
        "closed",
        "the close of {held} is not undone by the claim"
    );
    assert_eq!(status_of(&a[&early]), "closed");
    assert_eq!(assignee_of(&a[&early]), "", "nobody holds {early}");
    assert_eq!(
        (status_of(&a[&solo]), assignee_of(&a[&solo])),
        ("in_progress", "walt")
    );
    assert_eq!(status_of(&a[&m.ids[7]]), "open");

    // After the exchange, the file and the ledger tell the same story everywhere.
    for (ws, who) in [(&m.a, "alice"), (&m.b, "bob"), (&m.wt, "walt")] {
        assert_eq!(
            ready(&m, ws, who),
            BTreeSet::from([m.ids[7].clone()]),
            "ready in {}",
            ws.display()
        );
        assert_eq!(m.bd(ws, who, &["claim", &held]).code, 3);
        assert_eq!(m.bd(ws, who, &["claim", &early]).code, 3);
    }
    // Still closed after those refusals and another exchange.
    sync_all(&m);
    for ws in [&m.a, &m.b, &m.wt] {
        let r = records(ws);
        assert_eq!(status_of(&r[&held]), "closed", "{}", ws.display());
        assert_eq!(status_of(&r[&early]), "closed", "{}", ws.display());
    }
}

#[test]
fn a_claim_lost_to_git_reset_is_still_reported_from_the_ledger() {
    let m = Machine::new(2);
    let id = m.ids[1].clone();
    m.bd(&m.b, "bob", &["claim", &id]).ok();
    // B throws its uncommitted tracker change away.
    git(&m.b, &["reset", "-q", "--hard"]);
    assert_eq!(
        status_of(&records(&m.b)[&id]),
        "open",
        "the file lost the claim"
    );
    // The machine still knows: B's own show reports the hold, and nobody
    // else (in B or elsewhere) can take the issue.
    let shown = m.json(&m.b, "carol", &["show", &id]);
    assert_eq!(shown["effective"]["state"], "held", "{shown}");
    assert_eq!(shown["effective"]["holder"], "bob");
    let r = m.bd(&m.b, "carol", &["claim", &id]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("bob"), "{}", r.stderr);
    assert!(!ready(&m, &m.a, "alice").contains(&id));
    // Bob can claim it again and carry on.
    m.bd(&m.b, "bob", &["claim", &id]).ok();
    assert_eq!(assignee_of(&records(&m.b)[&id]), "bob");
}

#[test]
fn ledger_entries_are_pruned_once_every_workspace_shows_them() {
    let m = Machine::new(3);
    let (x, y) = (m.ids[1].clone(), m.ids[2].clone());
    m.bd(&m.a, "ann", &["claim", &x]).ok();
    m.bd(&m.a, "ann", &["claim", &y]).ok();
    let ledger = |m: &Machine| -> Value {
        serde_json::from_str(&std::fs::read_to_string(m.project_dir().join("ledger.json")).unwrap())
            .unwrap()
    };
    let has = |v: &Value, id: &str| v.to_string().contains(&format!("\"{id}\""));
    assert!(has(&ledger(&m), &x) && has(&ledger(&m), &y));
    // Only A's file shows the claims: doctor --fix keeps both entries.
    m.bd(&m.a, "ann", &["doctor", "--fix"]).ok();
    assert!(has(&ledger(&m), &x) && has(&ledger(&m), &y));
    // After a sync every workspace shows them (the worktree shares A's
    // branch history once it merges main).
    sync_all(&m);
    git_bd(&m.wt, &["merge", "-q", "--no-edit", "main"]);
    for ws in [&m.a, &m.b, &m.wt] {
        assert_eq!(
            status_of(&records(ws)[&x]),
            "in_progress",
            "{}",
            ws.display()
        );
    }
    let r = m.bd(&m.a, "ann", &["doctor", "--fix"]).ok();
    assert!(r.stderr.contains("Pruned 2 ledger entries"), "{}", r.stderr);
    assert!(!has(&ledger(&m), &x) && !has(&ledger(&m), &y));
    // Claims stay exclusive without the entries: the files carry them now.
    let r = m.bd(&m.b, "bob", &["claim", &x]);
    assert_eq!(r.code, 3, "{r:?}");
}

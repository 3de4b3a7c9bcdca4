//! Every view agrees: ready, hooks, prime, dispatch (items 14, 15, 16).

use super::*;

// ---------------------------------------------------------------------------
// Item 14: one ready set, whatever the command.
// ---------------------------------------------------------------------------

#[test]
fn item_14_every_view_agrees_on_ready_with_the_machines_claims() {
    let m = Machine::new(0);
    let six: Vec<String> = (0..6)
        .map(|i| m.create(&m.a, &format!("work {i}"), &[]))
        .collect();
    m.bd(&m.a, "tester", &["config", "set", "lease", "1s"]).ok();
    share(&m);
    // In clone B (same machine): bob claims two, closes one; carol, in A,
    // claims one whose lease then lapses, and B closes that one too.
    m.bd(&m.b, "bob", &["claim", &six[0]]).ok();
    m.bd(&m.b, "bob", &["claim", &six[1]]).ok();
    m.bd(&m.b, "bob", &["close", &six[2]]).ok();
    m.bd(&m.a, "carol", &["claim", &six[3]]).ok();
    m.bd(&m.b, "bob", &["close", &six[3], "--force"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(2100));

    // A's file still says six[0..3] are open; the machine says otherwise.
    let expect: Vec<String> = {
        let mut v = vec![six[4].clone(), six[5].clone()];
        v.sort();
        v
    };
    let ready = ids(&m.json(&m.a, "dave", &["ready", "--limit", "0"]));
    assert_eq!(ready, expect, "bd ready");
    let listed = ids(&m.json(&m.a, "dave", &["list", "-s", "ready"]));
    assert_eq!(listed, expect, "list -s ready");
    let count = m.json(&m.a, "dave", &["count", "-s", "ready"]);
    assert_eq!(count["count"], expect.len(), "count -s ready");
    let stats = m.json(&m.a, "dave", &["stats"])["summary"].clone();
    assert_eq!(stats["ready_issues"], expect.len(), "stats");

    // show: closed elsewhere is not ready.
    let shown = m.bd(&m.a, "dave", &["show", &six[2]]).ok();
    crate::assert_human!(m.env, "show_closed_elsewhere", shown.transcript());
    let sj = m.json(&m.a, "dave", &["show", &six[2]]);
    let sj = if sj.is_array() { sj[0].clone() } else { sj };
    assert_eq!(sj["ready"], false);
    let sj = m.json(&m.a, "dave", &["show", &six[4]]);
    let sj = if sj.is_array() { sj[0].clone() } else { sj };
    assert_eq!(sj["ready"], true);

    // ready --explain offers no --steal on an issue closed elsewhere.
    let ex = m.bd(&m.a, "dave", &["ready", "--explain"]).ok();
    assert!(!ex.stdout.contains(&six[3]), "{}", ex.stdout);
    let exj = m.json(&m.a, "dave", &["ready", "--explain"]);
    assert_eq!(exj["lapsed"], json!([]));
}

/// Issue 15: `ready -n N` reads the ledger's claims only for the rows it
/// reaches; every N still gets the head of the full answer, whatever the
/// other workspace claimed, hooked, closed or released.
#[test]
fn ready_head_reads_claims_lazily_and_agrees_with_the_full_answer() {
    let m = Machine::new(0);
    let ten: Vec<String> = (0..10)
        .map(|i| m.create(&m.a, &format!("work {i}"), &["-p", &(i % 3).to_string()]))
        .collect();
    m.bd(&m.a, "erin", &["claim", &ten[1]]).ok();
    m.bd(&m.a, "tester", &["commit"]).ok();
    // In the answer's own order.
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("a JSON array")
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    let wt = m.env.worktree(&m.a, "wt3", "wt3");
    // Elsewhere: claims at the head of the order and further down, a close,
    // a hook; one claimed here and released there.
    m.bd(&wt, "bob", &["claim", &ten[0]]).ok();
    m.bd(&wt, "bob", &["claim", &ten[9]]).ok();
    m.bd(&wt, "bob", &["close", &ten[3]]).ok();
    m.bd(&wt, "mayor", &["sling", &ten[6], "carol"]).ok();
    let full = ids(&m.json(&m.a, "dave", &["ready", "--limit", "0"]));
    for gone in [&ten[0], &ten[9], &ten[3], &ten[6]] {
        assert!(!full.contains(gone), "{gone} is taken elsewhere: {full:?}");
    }
    assert_eq!(full.len(), 5, "{full:?}");
    for n in 1..=7 {
        let head = ids(&m.json(&m.a, "dave", &["ready", "--limit", &n.to_string()]));
        assert_eq!(head, full[..n.min(full.len())].to_vec(), "ready -n {n}");
    }
    // A release elsewhere of an issue this file shows held adds it back.
    assert!(!full.contains(&ten[1]), "{full:?}");
    m.bd(&wt, "erin", &["unclaim", &ten[1]]).ok();
    let after = ids(&m.json(&m.a, "dave", &["ready", "--limit", "0"]));
    assert!(after.contains(&ten[1]), "released elsewhere: {after:?}");
    for n in 1..=7 {
        let head = ids(&m.json(&m.a, "dave", &["ready", "--limit", &n.to_string()]));
        assert_eq!(head, after[..n.min(after.len())].to_vec(), "ready -n {n}");
    }
}

#[test]
fn item_16_hook_prime_and_agents_agree_and_show_the_note() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "slung with a note", &[]);
    let y = m.create(&m.a, "slung then unhooked elsewhere", &[]);
    share(&m);
    m.bd(&m.b, "bob", &["agent", "register"]).ok();
    m.bd(
        &m.a,
        "mayor",
        &["sling", &x, "bob", "--note", "start with the parser"],
    )
    .ok();
    // The note shows in `hook` and `prime`, here and in the other clone.
    for ws in [&m.a, &m.b] {
        let h = m.json(ws, "bob", &["hook", "bob"]);
        assert_eq!(h["items"], json!([x.clone()]), "{}", ws.display());
        assert_eq!(h["note"], "start with the parser", "{}", ws.display());
        let here = ws.file_name().unwrap().to_string_lossy();
        let r = m.bd(ws, "bob", &["hook", "bob"]).ok();
        crate::assert_human!(m.env, format!("hook_with_a_note_in_{here}"), r.transcript());
        let p = m.json(ws, "bob", &["prime"]);
        assert_eq!(p["hook_note"], "start with the parser");
        let r = m.bd(ws, "bob", &["prime"]).ok();
        crate::assert_human!(
            m.env,
            format!("prime_with_a_note_in_{here}"),
            r.transcript()
        );
        assert_eq!(agent_entry(&m, ws, "bob")["hook"], json!([x.clone()]));
        // Held work is not ready in any clone, for its holder either.
        let ready = m.json(ws, "bob", &["ready"]).to_string();
        assert!(!ready.contains(&x), "ready in {}: {ready}", ws.display());
    }
    // Bob claims it in B: it is off his hook and in his claims, in every view.
    m.bd(&m.b, "bob", &["claim", &x]).ok();
    for ws in [&m.a, &m.b] {
        let h = m.json(ws, "bob", &["hook", "bob"]);
        assert_eq!(h["items"], json!([]), "hook in {}", ws.display());
        let a = agent_entry(&m, ws, "bob");
        assert_eq!(a["hook"], json!([]), "agents in {}: {a}", ws.display());
        assert_eq!(
            a["claims"],
            json!([x.clone()]),
            "agents in {}",
            ws.display()
        );
        let p = m.json(ws, "bob", &["prime"]);
        assert_eq!(p["hook"], json!([]));
        assert_eq!(p["claims"][0]["id"], x.as_str());
    }
    // Slung in A, unhooked in B: empty in every view of both.
    m.bd(&m.a, "mayor", &["sling", &y, "bob"]).ok();
    m.bd(&m.b, "mayor", &["unhook", &y, "--agent", "bob"]).ok();
    for ws in [&m.a, &m.b] {
        let h = m.json(ws, "bob", &["hook", "bob"]);
        assert_eq!(h["items"], json!([]), "hook in {}", ws.display());
        let a = agent_entry(&m, ws, "bob");
        assert_eq!(a["hook"], json!([]), "agents in {}: {a}", ws.display());
    }
}

// ---------------------------------------------------------------------------
// Item 15: work goes to registered agents only; one set of claimable work.
// ---------------------------------------------------------------------------

#[test]
fn item_15_dispatch_feeds_registered_agents_claimable_work_only() {
    let m = Machine::new(0);
    let epic = m.create(&m.a, "the big one", &["-t", "epic", "-p", "0"]);
    let task = m.create(&m.a, "a task", &["-p", "1"]);
    let other = m.create(&m.a, "another task", &["-p", "2"]);
    // `ready` lists the epic, as classic does.
    let ready = ids(&m.json(&m.a, "zed", &["ready"]));
    assert!(ready.contains(&epic), "{ready:?}");
    // zed only ran commands (the ready above, a heartbeat): it is no agent
    // that receives work.
    m.bd(&m.a, "zed", &["heartbeat"]).ok();
    let plan = m.json(&m.a, "mayor", &["dispatch", "--dry-run"]);
    assert_eq!(plan["slung"], json!([]), "nobody registered: {plan}");
    m.bd(&m.a, "zed", &["agent", "register", "--kind", "unknown"])
        .code(1);

    // bob registers: he gets claimable work, never the epic.
    m.bd(&m.a, "bob", &["agent", "register"]).ok();
    let plan = m.json(&m.a, "mayor", &["dispatch", "--per-agent", "5"]);
    let slung: Vec<&str> = plan["slung"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert_eq!(slung, vec![task.as_str(), other.as_str()], "{plan}");
    assert_eq!(record(&m.a, &epic)["status"], "open");

    // `ready --claim` takes claimable work too: not the epic on top.
    m.bd(&m.a, "bob", &["unhook", &task]).ok();
    let got = m.json(&m.a, "carol", &["ready", "--claim"]);
    assert_eq!(got[0]["id"], task.as_str(), "{got}");
    let got = m.json(&m.a, "carol", &["ready", "--claim", "--containers"]);
    assert_eq!(got[0]["id"], epic.as_str(), "{got}");

    // bob unregisters: his hook goes back to ready work, he gets no more.
    let gone = m.json(&m.a, "bob", &["agent", "unregister"]);
    assert_eq!(gone["unhooked"], json!([other.clone()]), "{gone}");
    assert_eq!(record(&m.a, &other)["status"], "open");
    let agents = m.json(&m.a, "mayor", &["agents"]);
    assert!(!agents.to_string().contains("\"bob\""), "{agents}");
    let plan = m.json(&m.a, "mayor", &["dispatch"]);
    assert_eq!(plan["slung"], json!([]), "{plan}");
    m.bd(&m.a, "mayor", &["agent", "unregister", "bob"]).code(1);
}

/// Review break 7: slung in one worktree and unhooked in another, the issue
/// was stuck in the first: not ready, not claimable ("status hooked"). The
/// effective state (released) decides every view and claim.
#[test]
fn item_14_review_released_in_another_worktree_is_ready_and_claimable_here() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "slung then unhooked elsewhere", &[]);
    let y = m.create(&m.a, "another", &[]);
    m.bd(&m.a, "tester", &["commit"]).ok();
    // A worktree made after the commit (the machine's `wt` predates it).
    let wt = m.env.worktree(&m.a, "wt2", "wt2");
    m.bd(&m.a, "mayor", &["sling", &x, "carol"]).ok();
    m.bd(&m.a, "mayor", &["sling", &y, "carol"]).ok();
    m.bd(&wt, "mayor", &["unhook", &x, "--agent", "carol"]).ok();
    m.bd(&wt, "mayor", &["unhook", &y, "--agent", "carol"]).ok();
    assert_eq!(
        record(&m.a, &x)["status"],
        "hooked",
        "the file here is stale"
    );

    let has = |v: &Value, id: &str| v.to_string().contains(&format!("\"{id}\""));
    assert!(has(&m.json(&m.a, "bob", &["ready"]), &x), "ready");
    assert!(
        has(&m.json(&m.a, "bob", &["list", "-s", "ready"]), &x),
        "list -s ready"
    );
    let count = m.json(&m.a, "bob", &["count", "-s", "ready"]);
    assert!(count.to_string().contains('2'), "count: {count}");
    let stats = m.json(&m.a, "bob", &["stats"])["summary"].clone();
    assert_eq!(stats["ready_issues"], 2, "stats: {stats}");
    let shown = m.json(&m.a, "bob", &["show", &x]);
    let shown = if shown.is_array() {
        shown[0].clone()
    } else {
        shown
    };
    assert_eq!(shown["ready"], true, "{shown}");
    let prime = m.json(&m.a, "bob", &["prime"]);
    assert!(has(&prime["ready"], &x), "prime: {prime}");
    assert_eq!(
        m.json(&m.a, "carol", &["hook", "carol"])["items"],
        json!([])
    );

    // Claim and sling judge the released state.
    m.bd(&m.a, "bob", &["claim", &x]).ok();
    assert_eq!(record(&m.a, &x)["assignee"], "bob");
    m.bd(&m.a, "mayor", &["sling", &y, "carol"]).ok();
    assert_eq!(
        m.json(&m.a, "carol", &["hook", "carol"])["items"],
        json!([y])
    );
}

/// Review 2, items 14/16: a claim made in a sibling clone of this machine
/// (only the ledger knows it here) was "not claimed" to `unclaim`, while
/// `show` and `claim` saw it. `unclaim` judges the effective state: the
/// holder releases it here (ledger `released`, the record written so the
/// merge ranks the release after the claim), `--force` recovers it.
#[test]
fn item_14_review2_unclaim_sees_a_claim_made_in_a_sibling_clone() {
    let m = Machine::new(0);
    let y = m.create(&m.a, "claimed next door", &[]);
    share(&m);
    m.bd(&m.a, "alice", &["claim", &y]).ok();
    assert_eq!(record(&m.b, &y)["status"], "open", "B's file is stale");
    let shown = m.bd(&m.b, "carol", &["show", &y]).ok();
    assert!(shown.stdout.contains("alice"), "{}", shown.stdout);

    // Another agent is refused; the holder releases it from here.
    let r = m.bd(&m.b, "carol", &["unclaim", &y]).code(3);
    assert!(r.stderr.contains("alice"), "{}", r.stderr);
    let r = m.bd(&m.b, "alice", &["unclaim", &y]).ok();
    assert!(!r.stderr.contains("Nothing changed"), "{}", r.stderr);
    assert_eq!(
        ledger_event(&m, &y).unwrap()["kind"],
        "released",
        "{}",
        ledger(&m)
    );
    let rb = record(&m.b, &y);
    assert_eq!(rb["status"], "open", "{rb}");
    assert!(rb.get("assignee").is_none(), "{rb}");
    let has = |v: &Value| v.to_string().contains(&format!("\"{y}\""));
    assert!(has(&m.json(&m.a, "bob", &["ready"])), "ready in A");
    let prime = m.json(&m.a, "alice", &["prime"]);
    assert!(!prime["claims"].to_string().contains(&y), "{prime}");

    // Claimed again in A (by bob); carol recovers it from B with --force.
    m.bd(&m.a, "bob", &["claim", &y]).ok();
    let r = m.bd(&m.b, "carol", &["unclaim", &y, "--force"]).ok();
    assert!(!r.stderr.contains("Nothing changed"), "{}", r.stderr);
    assert_eq!(ledger_event(&m, &y).unwrap()["kind"], "released");
    let rb = record(&m.b, &y);
    assert_eq!(rb["recovered"]["from"], "bob", "{rb}");
    let prime = m.json(&m.a, "bob", &["prime"]);
    assert!(!prime["claims"].to_string().contains(&y), "{prime}");

    // After sync, both clones agree: released.
    m.bd(&m.a, "tester", &["sync"]).ok();
    m.bd(&m.b, "tester", &["sync"]).ok();
    m.bd(&m.a, "tester", &["sync"]).ok();
    for ws in [&m.a, &m.b] {
        let r = record(ws, &y);
        assert_eq!(r["status"], "open", "{}: {r}", ws.display());
        assert!(r.get("assignee").is_none(), "{}: {r}", ws.display());
    }
}

/// Review 3, items 13/14: `defer` and `undefer` wrote no ledger entry. Bob
/// claims X in a worktree; X is deferred in the main worktree; both merge
/// each other; carol undefers X. The ledger still said bob held X: `ready`
/// left it out, `show` said claimed and carol's claim was refused. A defer
/// now goes through the one coordinated write path: it releases the claim
/// it finds (ledger `released`, the record written past the claim), and the
/// views, the ledger and both worktrees agree.
#[test]
fn item_14_review3_defer_releases_the_claim_in_the_ledger_and_every_view() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "claimed next door, then deferred", &[]);
    let y = m.create(&m.a, "claimed next door, then deferred by update", &[]);
    m.bd(&m.a, "tester", &["commit"]).ok();
    let wt = m.env.tmp.path().join("wt2");
    git(
        &m.a,
        &["worktree", "add", "-q", wt.to_str().unwrap(), "-b", "wt2"],
    );
    m.bd(&wt, "bob", &["claim", &x, &y]).ok();
    m.bd(&m.a, "tester", &["defer", &x, "--until", "2099-01-01"])
        .ok();
    m.bd(&m.a, "tester", &["update", &y, "--defer", "2099-01-01"])
        .ok();
    for id in [&x, &y] {
        assert_eq!(
            ledger_event(&m, id).unwrap()["kind"],
            "released",
            "{}",
            ledger(&m)
        );
    }
    m.bd(&m.a, "tester", &["commit"]).ok();
    m.bd(&wt, "tester", &["commit"]).ok();
    common::git_bd(&m.a, &["merge", "-q", "--no-edit", "wt2"]);
    common::git_bd(&wt, &["merge", "-q", "--no-edit", "main"]);
    for ws in [&m.a, &wt] {
        for id in [&x, &y] {
            let r = record(ws, id);
            assert_eq!(r["status"], "deferred", "{}: {r}", ws.display());
            assert!(r.get("assignee").is_none(), "{}: {r}", ws.display());
        }
    }
    m.bd(&m.a, "carol", &["undefer", &x]).ok();
    let has = |v: &Value| v.to_string().contains(&format!("\"{x}\""));
    assert!(has(&m.json(&m.a, "carol", &["ready"])), "ready");
    let prime = m.json(&wt, "bob", &["prime"]);
    assert!(!prime["claims"].to_string().contains(&x), "{prime}");
    m.bd(&m.a, "carol", &["claim", &x]).ok();
    assert_eq!(record(&m.a, &x)["assignee"], "carol");
    let shown = m.bd(&wt, "dave", &["show", &x]).ok();
    assert!(shown.stdout.contains("carol"), "{}", shown.stdout);
}

/// Review 3: `bd import` wrote records outside the edit path: a claim it
/// brought in reached no ledger (a sibling clone showed the item ready while
/// this one showed it claimed), its writes carried no stamps of their own,
/// and records whose done fields disagree with their status went in
/// silently. Now an import is a write like any verb's: the ledger records
/// the claims and closes it brings, what it changed is stamped by the
/// importing actor now; a record whose done fields disagree with its status
/// keeps them (SPEC §2: loaded records keep their values) and the import
/// names it, as `bd doctor` does.
#[test]
fn item_14_review3_import_writes_through_the_one_write_path() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "claimed by an import", &[]);
    let y = m.create(&m.a, "closed by an import", &[]);
    share(&m);
    let exported = m.bd(&m.a, "tester", &["export"]).ok().stdout;
    let mut lines = Vec::new();
    for l in exported.lines() {
        let mut v: Value = serde_json::from_str(l).unwrap();
        if v["id"] == x.as_str() {
            v["status"] = json!("in_progress");
            v["assignee"] = json!("bob");
            v["started_at"] = json!("2026-12-01T10:00:00Z");
            v["title"] = json!("claimed by an import, retitled");
        } else if v["id"] == y.as_str() {
            v["status"] = json!("closed");
            v["closed_at"] = json!("2026-12-01T11:00:00Z");
        }
        lines.push(v.to_string());
    }
    // A classic record that is closed and carries a deletion time.
    lines.push(
        json!({"id": "bd-zz1", "title": "classic", "status": "closed",
               "closed_at": "2026-01-02T00:00:00Z", "deleted_at": "2026-01-03T00:00:00Z",
               "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z"})
        .to_string(),
    );
    let file = m.env.tmp.path().join("in.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    let dry = m.json(
        &m.a,
        "tester",
        &["import", file.to_str().unwrap(), "--dry-run"],
    );
    assert_eq!(dry["updated"], 2, "{dry}");
    assert_eq!(
        std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
        before,
        "a dry run writes nothing"
    );
    assert!(ledger_event(&m, &x).is_none(), "nor the ledger");

    let rep = m.json(&m.a, "tester", &["import", file.to_str().unwrap()]);
    assert_eq!(
        (rep["created"].clone(), rep["updated"].clone()),
        (json!(1), json!(2)),
        "{rep}"
    );
    // Loaded records keep their values (SPEC §2); the import names the
    // disagreement, as doctor does.
    assert_eq!(
        rep["inconsistent"],
        json!(["bd-zz1: status closed but deleted_at set"]),
        "{rep}"
    );
    let z = record(&m.a, "bd-zz1");
    assert_eq!(z["deleted_at"], "2026-01-03T00:00:00Z", "{z}");
    let doc = m.bd(&m.a, "tester", &["doctor"]).stdout;
    assert!(
        doc.contains("bd-zz1: status closed but deleted_at set"),
        "{doc}"
    );

    // The ledger knows: every clone of the machine agrees at once.
    assert_eq!(
        ledger_event(&m, &x).unwrap()["kind"],
        "claimed",
        "{}",
        ledger(&m)
    );
    assert_eq!(
        ledger_event(&m, &y).unwrap()["kind"],
        "closed",
        "{}",
        ledger(&m)
    );
    for ws in [&m.a, &m.b] {
        let ready = m.json(ws, "carol", &["ready"]).to_string();
        assert!(
            !ready.contains(&x) && !ready.contains(&y),
            "{}: {ready}",
            ws.display()
        );
        let r = m.bd(ws, "carol", &["claim", &x]).code(3);
        assert!(r.stderr.contains("bob"), "{}", r.stderr);
    }
    let prime = m.json(&m.b, "bob", &["prime"]);
    assert!(prime["claims"].to_string().contains(&x), "{prime}");

    // The import's writes are stamped by the importer, now.
    let rx = record(&m.a, &x);
    let stamp = rx["_stamps"]["title"].as_str().unwrap_or_default();
    assert!(stamp.ends_with(" tester"), "{rx}");
    assert_eq!(
        stamp.split(' ').next().unwrap(),
        rx["updated_at"].as_str().unwrap(),
        "{rx}"
    );

    // Importing the same file again changes nothing.
    let again = m.json(&m.a, "tester", &["import", file.to_str().unwrap()]);
    assert_eq!(again["updated"], 0, "{again}");
    assert_eq!(again["created"], 0, "{again}");
}

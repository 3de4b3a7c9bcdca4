//! Claims without holders and lost claims (items 11, 13).

use super::*;

// ---------------------------------------------------------------------------
// Item 11: `update --status in_progress` does not lock everyone out.
// ---------------------------------------------------------------------------

#[test]
fn item_11_in_progress_without_holder_is_claimable() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "started the classic way", &[]);
    m.bd(&m.a, "alice", &["update", &x, "--status", "in_progress"])
        .ok();
    // No holder: anyone may claim it, the same actor included.
    m.bd(&m.a, "alice", &["claim", &x]).ok();
    let r = record(&m.a, &x);
    assert_eq!(
        (r["status"].as_str(), r["assignee"].as_str()),
        (Some("in_progress"), Some("alice"))
    );
    // Held now: bob is refused (exit 3).
    m.bd(&m.a, "bob", &["claim", &x]).code(3);

    // By its assignee, an in-progress item is a no-op claim.
    let y = m.create(&m.a, "assigned and started", &[]);
    m.bd(
        &m.a,
        "carol",
        &[
            "update",
            &y,
            "--status",
            "in_progress",
            "--assignee",
            "carol",
        ],
    )
    .ok();
    let r = m.bd(&m.a, "carol", &["claim", &y]).ok();
    assert!(r.stderr.contains("Nothing changed"), "{}", r.stderr);
    m.bd(&m.a, "dave", &["claim", &y]).code(3);
}

// ---------------------------------------------------------------------------
// Item 13: after a claim lost in a merge, the loser's views and writes follow
// the winner.
// ---------------------------------------------------------------------------

#[test]
fn item_13_lost_claim_follows_the_winner() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "contended", &[]);
    share(&m);
    // Clone B is another machine: its own BD_HOME.
    let home2 = m.env.tmp.path().join("home2");
    std::fs::create_dir_all(&home2).unwrap();
    let on_b = |actor: &str, args: &[&str]| -> Run { m.env.bd_on(&m.b, &home2, actor, args) };
    m.bd(&m.a, "alice", &["claim", &x]).ok();
    on_b("bob", &["claim", &x]).ok();
    on_b("bob", &["sync"]).ok();
    let ra = m.bd(&m.a, "alice", &["sync"]).ok();
    let rb = on_b("bob", &["sync"]).ok();
    let winner = record(&m.a, &x)["assignee"].as_str().unwrap().to_string();
    assert_eq!(
        record(&m.b, &x)["assignee"],
        winner.as_str(),
        "both clones agree"
    );
    let (loser, sync_out) = if winner == "bob" {
        ("alice", &ra)
    } else {
        ("bob", &rb)
    };
    assert!(
        sync_out
            .stderr
            .contains(&format!("your claim on {x} was lost")),
        "{loser} is warned: {}",
        sync_out.stderr
    );
    let as_loser = |args: &[&str]| -> Run {
        if loser == "alice" {
            m.bd(&m.a, "alice", args)
        } else {
            on_b("bob", args)
        }
    };
    // Views: prime does not show it as held by the loser.
    let prime = as_loser(&["--json", "prime"]).ok().json();
    assert!(
        !prime["claims"].to_string().contains(&x),
        "prime of {loser}: {prime}"
    );
    let text = as_loser(&["prime"]).ok().stdout;
    assert!(!text.contains(&x), "{text}");
    // Writes: the loser cannot close over the winner's claim (exit 3).
    let r = as_loser(&["close", &x]).code(3);
    assert!(r.stderr.contains(&winner), "{}", r.stderr);
    assert_eq!(record(&m.a, &x)["status"], "in_progress");
    // The winner closes it.
    if winner == "alice" {
        m.bd(&m.a, "alice", &["close", &x]).ok();
    } else {
        on_b("bob", &["close", &x]).ok();
    }
}

/// Item 13, through a plain `git pull` in a sibling clone: alice claims X in
/// clone A; on another machine bob closes X (he never saw the claim) and
/// pushes; clone C on alice's machine pulls. The merge rules the close over
/// the claim it never saw, and C's views follow the merge, not the ledger's
/// older claim entry: nobody holds X there.
#[test]
fn item_13_a_claim_lost_to_an_unseen_close_is_not_held_in_a_sibling_clone() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "closed elsewhere", &[]);
    share(&m);
    let tmp = m.env.tmp.path().to_path_buf();
    let remote = tmp.join("remote.git");
    let c = tmp.join("c");
    git(
        &tmp,
        &["clone", "-q", remote.to_str().unwrap(), c.to_str().unwrap()],
    );
    git(&c, &["config", "user.name", "C"]);
    git(&c, &["config", "user.email", "c@example.com"]);
    m.bd(&c, "alice", &["agent", "register"]).ok();
    let home2 = tmp.join("home2");
    std::fs::create_dir_all(&home2).unwrap();
    let on_b = |actor: &str, args: &[&str]| -> Run { m.env.bd_on(&m.b, &home2, actor, args) };
    m.bd(&m.a, "alice", &["claim", &x]).ok();
    on_b("bob", &["close", &x, "--reason", "done elsewhere"]).ok();
    on_b("bob", &["sync"]).ok();
    git(&c, &["pull", "-q", "--no-rebase", "origin", "main"]);
    assert_eq!(record(&c, &x)["status"], "closed");
    let prime = m.json(&c, "alice", &["prime"]);
    assert!(
        !prime["claims"].to_string().contains(&x),
        "alice's prime in C: {prime}"
    );
    let alice = agent_entry(&m, &c, "alice");
    assert!(!alice.to_string().contains(&x), "agents in C: {alice}");
    let shown = m.json(&c, "alice", &["show", &x]);
    let shown = if shown.is_array() {
        shown[0].clone()
    } else {
        shown
    };
    assert_eq!(shown["status"], "closed", "{shown}");
    assert!(
        !shown.to_string().contains("\"held\""),
        "show in C still reports a holder: {shown}"
    );
}

/// Review break 6: after bob's claim is lost in a merge, `update --status`
/// and `--assignee` by bob refuse (exit 3, naming the winner) as `close`
/// does; `--force` insists.
#[test]
fn item_13_review_the_loser_of_a_claim_cannot_update_its_claim_fields() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "contended", &[]);
    share(&m);
    m.bd(&m.a, "alice", &["claim", &x]).ok();
    on_other_machine(&m, "bob", &["claim", &x]).ok();
    on_other_machine(&m, "bob", &["sync"]).ok();
    let ra = m.bd(&m.a, "alice", &["sync"]).ok();
    let rb = on_other_machine(&m, "bob", &["sync"]).ok();
    let winner = record(&m.a, &x)["assignee"].as_str().unwrap().to_string();
    let (loser, ws) = if winner == "bob" {
        ("alice", m.a.clone())
    } else {
        ("bob", other_clone(&m))
    };
    let _ = (ra, rb);
    let as_loser = |args: &[&str]| -> Run {
        if loser == "alice" {
            m.bd(&m.a, "alice", args)
        } else {
            on_other_machine(&m, "bob", args)
        }
    };
    let before = std::fs::read(ws.join(".beads/issues.jsonl")).unwrap();
    for args in [
        vec!["update", &x, "--status", "open"],
        vec!["update", &x, "--assignee", loser],
        vec!["update", &x, "--assignee", ""],
    ] {
        let r = as_loser(&args).code(3);
        assert!(r.stderr.contains(&winner), "{args:?}: {}", r.stderr);
    }
    assert_eq!(
        std::fs::read(ws.join(".beads/issues.jsonl")).unwrap(),
        before
    );
    // Other fields are not the claim's: the loser may still edit them.
    as_loser(&["update", &x, "--priority", "1"]).ok();
    // And --force insists.
    as_loser(&["update", &x, "--status", "open", "--force"]).ok();
    assert_eq!(record(&ws, &x)["status"], "open");
}

/// Review break 12: `update --status hooked` with no agent deadlocked the
/// issue. It is refused (a hook needs an agent: `bd sling`), and a `hooked`
/// record with no holder (a classic tool, a hand edit) is claimable.
#[test]
fn item_11_review_hooked_without_holder_is_refused_and_claimable() {
    let m = Machine::new(0);
    let z = m.create(&m.a, "hang me", &[]);
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    let r = m.bd(&m.a, "alice", &["update", &z, "--status", "hooked"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("bd sling"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
        before
    );
    // With an agent it is a hook (the classic way).
    m.bd(
        &m.a,
        "alice",
        &["update", &z, "--status", "hooked", "--assignee", "carol"],
    )
    .ok();
    let r = m.bd(&m.a, "alice", &["update", &z, "--assignee", ""]);
    assert_ne!(r.code, 0, "{}", r.stderr);

    // A hooked record with nobody on it, as another tool wrote it.
    let w = m.create(&m.a, "hooked by hand", &[]);
    let path = m.a.join(".beads/issues.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            if l.contains(&format!("\"id\":\"{w}\"")) {
                l.replace("\"status\":\"open\"", "\"status\":\"hooked\"")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&path, edited.join("\n") + "\n").unwrap();
    assert_eq!(record(&m.a, &w)["status"], "hooked");
    m.bd(&m.a, "bob", &["claim", &w]).ok();
    assert_eq!(record(&m.a, &w)["assignee"], "bob");
}

// ---------------------------------------------------------------------------
// The second review of issue 9: items 13, 14/16 and 18.
// ---------------------------------------------------------------------------

/// Review 2, item 13: after bob's claim was lost in a merge, `defer`,
/// `update --defer` and `delete` by the loser went through. Every write that
/// changes the status or claim group of an issue whose claim the actor lost
/// is refused (exit 3, the winner named) unless `--force`.
#[test]
fn item_13_review2_the_loser_cannot_defer_or_delete_the_winners_claim() {
    let m = Machine::new(0);
    let x = m.create(&m.a, "contended", &[]);
    let y = m.create(&m.a, "contended too", &[]);
    share(&m);
    m.bd(&m.a, "alice", &["claim", &x, &y]).ok();
    on_other_machine(&m, "bob", &["claim", &x, &y]).ok();
    on_other_machine(&m, "bob", &["sync"]).ok();
    m.bd(&m.a, "alice", &["sync"]).ok();
    on_other_machine(&m, "bob", &["sync"]).ok();
    let winner = record(&m.a, &x)["assignee"].as_str().unwrap().to_string();
    assert_eq!(record(&m.a, &y)["assignee"], winner.as_str());
    let (loser, ws) = if winner == "bob" {
        ("alice", m.a.clone())
    } else {
        ("bob", other_clone(&m))
    };
    assert_eq!(record(&ws, &x)["assignee"], winner.as_str(), "merged");
    let as_loser = |args: &[&str]| -> Run {
        if loser == "alice" {
            m.bd(&m.a, "alice", args)
        } else {
            on_other_machine(&m, "bob", args)
        }
    };
    let tracker = ws.join(".beads/issues.jsonl");
    let before = std::fs::read(&tracker).unwrap();
    for args in [
        vec!["defer", &x, "--until", "2099-01-01"],
        vec!["update", &x, "--defer", "2099-01-01"],
        vec!["delete", &x],
        vec!["delete", &x, &y],
    ] {
        let r = as_loser(&args).code(3);
        assert!(
            r.stderr.contains(&winner) && r.stderr.contains("lost"),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(std::fs::read(&tracker).unwrap(), before, "nothing written");
    // --force insists.
    as_loser(&["defer", &x, "--until", "2099-01-01", "--force"]).ok();
    assert_eq!(record(&ws, &x)["status"], "deferred");
    as_loser(&["delete", &y, "--force"]).ok();
    assert_eq!(record(&ws, &y)["status"], "tombstone");
}

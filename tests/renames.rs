//! Collision renames and the project home's ledger (SPEC §5 renames, §7):
//! two clones create a child with the same id, the merge keeps both (the
//! older keeps the id, the younger is renamed). A claim on the renamed child
//! follows it in every view and refusal, whether the merge was a plain
//! `git pull` (the merge driver) or `bd sync`, and `bd sync` reports the
//! rename of the actor's claim instead of a lost claim.

mod common;

use std::path::{Path, PathBuf};

use common::{TestEnvironment, git_bd};
use serde_json::Value;

/// Two machines, clones `a` and `b` of one remote. A creates an epic and
/// its child (the older `P.1`); B, not seeing A's child, creates its own
/// `P.1` and bob claims it; B's change is committed, not merged yet.
struct Collision {
    env: TestEnvironment,
    b: PathBuf,
    hb: PathBuf,
    /// The id both children were created with.
    id: String,
}

fn collision() -> Collision {
    let (env, _) = TestEnvironment::with_remote(0, "2");
    let (ha, hb) = (env.machine_home("a"), env.machine_home("b"));
    let (a, b) = (env.repo.clone(), env.clone_repo("b"));
    let p = env
        .bd_on(
            &a,
            &ha,
            "alice",
            &["--json", "create", "parent", "-t", "epic"],
        )
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.bd_on(&a, &ha, "alice", &["sync"]).ok();
    env.bd_on(&b, &hb, "bob", &["sync"]).ok();
    env.bd_on(&a, &ha, "alice", &["create", "older child", "--parent", &p])
        .ok();
    env.bd_on(&a, &ha, "alice", &["sync"]).ok();
    let id = env
        .bd_on(
            &b,
            &hb,
            "bob",
            &["--json", "create", "younger child", "--parent", &p],
        )
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(id, format!("{p}.1"), "both clones made {p}.1");
    env.bd_on(&b, &hb, "bob", &["claim", &id]).ok();
    env.bd_on(&b, &hb, "bob", &["commit"]).ok();
    Collision { env, b, hb, id }
}

impl Collision {
    fn json(&self, actor: &str, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.env.bd_on(&self.b, &self.hb, actor, &a).ok().json()
    }

    /// The id of the issue titled `title` in clone b.
    fn id_of(&self, title: &str) -> String {
        let all = self.json("bob", &["list", "--all"]);
        all.as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"] == title)
            .unwrap_or_else(|| panic!("{title} in {all}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Every view and refusal in clone b: bob holds the renamed child `new`,
    /// nobody holds the older child that kept `self.id`.
    fn assert_claim_follows(&self, new: &str) {
        let old = self.id.as_str();
        assert_ne!(new, old, "the younger child was renamed");
        let ids = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_str().or(i["id"].as_str()).unwrap().to_string())
                .collect()
        };
        let prime = self.json("bob", &["prime"]);
        assert_eq!(ids(&prime["claims"]), vec![new.to_string()], "{prime}");
        let agents = self.json("bob", &["agents"]);
        let bob = agents
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "bob")
            .unwrap_or_else(|| panic!("bob in {agents}"));
        assert_eq!(ids(&bob["claims"]), vec![new.to_string()], "{agents}");
        let shown = self.json("carol", &["show", old]);
        assert!(shown["effective"].is_null(), "{shown}");
        assert_eq!(shown["status"], "open", "{shown}");
        let ready = self.json("carol", &["ready", "--limit", "0"]);
        assert!(ids(&ready).iter().any(|i| i == old), "{ready}");
        assert!(!ids(&ready).iter().any(|i| i == new), "{ready}");
        let hook = self.json("bob", &["hook"]);
        assert!(!hook.to_string().contains(old), "{hook}");
        // Nobody else can take bob's child; the other is free.
        let r = self.env.bd_on(&self.b, &self.hb, "carol", &["claim", new]);
        assert_eq!(r.code, 3, "{}", r.stderr);
        self.env
            .bd_on(&self.b, &self.hb, "carol", &["claim", old])
            .ok();
        self.env
            .bd_on(&self.b, &self.hb, "bob", &["close", new])
            .ok();
        let prime = self.json("bob", &["prime"]);
        assert_eq!(ids(&prime["claims"]), Vec::<String>::new(), "{prime}");
        let shown = self.json("bob", &["show", old]);
        assert_eq!(shown["assignee"], "carol", "{shown}");
    }
}

fn pull(b: &Path) {
    git_bd(b, &["pull", "-q", "--no-rebase"]);
}

#[test]
fn a_plain_pull_renaming_a_claimed_child_leaves_the_claim_on_it_not_on_the_older() {
    let c = collision();
    pull(&c.b);
    let new = c.id_of("younger child");
    c.assert_claim_follows(&new);
}

#[test]
fn doctor_fix_after_a_plain_pull_clears_the_ledger_entry_from_the_older_child() {
    let c = collision();
    pull(&c.b);
    c.env.bd_on(&c.b, &c.hb, "bob", &["doctor", "--fix"]);
    let new = c.id_of("younger child");
    // Moved to the renamed child, which every workspace reflects: pruned.
    let ledger = ledger_text(&c.hb);
    assert!(!ledger.contains(&format!("\"{}\"", c.id)), "{ledger}");
    c.assert_claim_follows(&new);
}

#[test]
fn sync_reports_the_rename_of_a_claim_not_a_lost_claim() {
    let c = collision();
    let r = c.env.bd_on(&c.b, &c.hb, "bob", &["sync"]).ok();
    let new = c.id_of("younger child");
    assert!(
        r.stderr
            .contains(&format!("your claim on {} is now {new}", c.id)),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("lost"), "{}", r.stderr);
    let ledger = ledger_text(&c.hb);
    assert!(!ledger.contains(&format!("\"{}\"", c.id)), "{ledger}");
    c.assert_claim_follows(&new);
}

#[test]
fn sync_json_lists_renamed_claims() {
    let c = collision();
    let r = c.json("bob", &["sync"]);
    let new = c.id_of("younger child");
    assert_eq!(r["claims_lost"], serde_json::json!([]), "{r}");
    assert_eq!(r["claims_renamed"], serde_json::json!([[c.id, new]]), "{r}");
}

#[test]
fn sync_after_a_plain_pull_moves_the_ledger_entry() {
    let c = collision();
    pull(&c.b);
    let r = c.json("bob", &["sync"]);
    assert_eq!(r["claims_lost"], serde_json::json!([]), "{r}");
    let new = c.id_of("younger child");
    let ledger = ledger_text(&c.hb);
    assert!(!ledger.contains(&format!("\"{}\"", c.id)), "{ledger}");
    c.assert_claim_follows(&new);
}

/// The ledger file(s) of machine `home`.
fn ledger_text(home: &Path) -> String {
    let mut out = String::new();
    for f in common::files_under(home) {
        if f.file_name().is_some_and(|n| n == "ledger.json") {
            out.push_str(&std::fs::read_to_string(&f).unwrap());
        }
    }
    out
}

#[test]
fn a_sibling_worktree_that_has_not_merged_the_rename_follows_the_moved_entry() {
    let c = collision();
    // A worktree of b on this machine, made before the rename reached b.
    let side = c.env.worktree(&c.b, "side", "side");
    c.env.bd_on(&side, &c.hb, "bob", &["list"]).ok();
    c.env.bd_on(&c.b, &c.hb, "bob", &["sync"]).ok();
    let new = c.id_of("younger child");
    c.env
        .bd_on(&c.b, &c.hb, "bob", &["close", &new, "--reason", "done"])
        .ok();
    // There the younger child is still `c.id`, held by bob in its file:
    // the close made in b reaches it through the ledger.
    let r = c.env.bd_on(&side, &c.hb, "carol", &["claim", &c.id]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("closed"), "{}", r.stderr);
    let prime = c
        .env
        .bd_on(&side, &c.hb, "bob", &["--json", "prime"])
        .ok()
        .json();
    assert_eq!(prime["claims"], serde_json::json!([]), "{prime}");
}

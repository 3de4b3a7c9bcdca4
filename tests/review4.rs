//! Issue 9, fourth review: the breaks found after the third review's fixes,
//! end to end through the real binary (two machines: one bare remote, a
//! clone and a project home each).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Network, Run, TestEnvironment, git};
use serde_json::Value;

/// Two machines: the common [`Network`] (clone `a` with home `home-a`,
/// clone `b` with `home-b`), addressed by name; a worktree `wt` of `a` is on
/// `a`'s machine.
struct Two {
    net: Network,
    tmp: PathBuf,
}

impl Two {
    fn new() -> Two {
        let net = Network::new(2, "code\n");
        let tmp = net.root().to_path_buf();
        Two { net, tmp }
    }

    fn dir(&self, c: &str) -> PathBuf {
        self.tmp.join(c)
    }

    fn bd(&self, c: &str, actor: &str, args: &[&str]) -> Run {
        match c {
            "a" => self.net.c[0].bd_as(actor, args),
            "b" => self.net.c[1].bd_as(actor, args),
            _ => {
                let home = &self.net.c[0].home;
                self.net.env.workspace(&self.dir(c), home, actor).bd(args)
            }
        }
    }

    /// Create an issue in clone `c` as `actor`; its id.
    #[track_caller]
    fn create(&self, c: &str, actor: &str, title: &str) -> String {
        self.bd(c, actor, &["create", title])
            .ok()
            .stdout
            .trim()
            .to_string()
    }

    #[track_caller]
    fn json(&self, c: &str, actor: &str, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.bd(c, actor, &a).ok().json()
    }
}

fn has(v: &Value, id: &str) -> bool {
    v.to_string().contains(&format!("\"{id}\""))
}

/// Review 4, break 3: bob claims X and slings Y to carol on machine B while
/// alice defers both on machine A; someone other than bob syncs B. The
/// files agreed (deferred, nobody's), but B's ledger kept bob's claim and
/// carol's hook: `agents`, `prime`, `hook` and `show` said held. A claim or
/// hook entry loses to a later status write its claim never saw, as the
/// merge rules it, whatever that status is.
#[test]
fn a_claim_beaten_by_an_unseen_deferral_is_not_held_in_any_view() {
    let m = Two::new();
    let x = m.create("a", "tester", "one");
    let y = m.create("a", "tester", "two");
    m.bd("a", "tester", &["sync"]).ok();
    m.bd("b", "tester", &["sync"]).ok();
    m.bd("b", "bob", &["claim", &x]).ok();
    m.bd("b", "bob", &["sling", &y, "carol"]).ok();
    m.bd("a", "alice", &["defer", &x, &y, "--until", "2099-01-01"])
        .ok();
    m.bd("a", "tester", &["sync"]).ok();
    m.bd("b", "dave", &["sync"]).ok();
    m.bd("a", "tester", &["sync"]).ok();
    let (fa, fb) = (
        std::fs::read(m.dir("a").join(".beads/issues.jsonl")).unwrap(),
        std::fs::read(m.dir("b").join(".beads/issues.jsonl")).unwrap(),
    );
    assert_eq!(fa, fb, "both clones agree");
    for c in ["a", "b"] {
        let prime = m.json(c, "bob", &["prime"]);
        assert!(!has(&prime["claims"], &x), "{c}: {prime}");
        let hook = m.json(c, "carol", &["hook", "carol"]);
        assert!(!has(&hook, &y), "{c}: {hook}");
        let agents = m.json(c, "dave", &["agents"]).to_string();
        assert!(
            !agents.contains(&x) && !agents.contains(&y),
            "{c}: {agents}"
        );
        let shown = m.bd(c, "dave", &["show", &x]).ok().stdout;
        assert!(!shown.contains("claimed by bob"), "{c}: {shown}");
    }
}

/// Review 4, break 8: `update --defer` (or `--status deferred`) of a closed
/// issue wrote `deferred` and kept `closed_at`; `bd defer` refuses it.
#[test]
fn update_does_not_defer_done_work() {
    let m = Two::new();
    let x = m.create("a", "tester", "done");
    m.bd("a", "tester", &["close", &x]).ok();
    let tracker = m.dir("a").join(".beads/issues.jsonl");
    let before = std::fs::read(&tracker).unwrap();
    let defer = m.bd("a", "tester", &["defer", &x, "--until", "2099-01-01"]);
    assert_ne!(defer.code, 0);
    for args in [
        vec!["update", &x, "--defer", "2099-01-01"],
        vec![
            "update",
            &x,
            "--status",
            "deferred",
            "--defer",
            "2099-01-01",
        ],
    ] {
        let r = m.bd("a", "tester", &args);
        assert_eq!(r.code, defer.code, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("is closed; cannot defer it"),
            "{}",
            r.stderr
        );
        assert_eq!(std::fs::read(&tracker).unwrap(), before);
    }
}

/// Review 4, break 7: `bd export -o PATH` replaced whatever was at PATH by
/// a regular file: a pipe's reader got nothing, a device node (as root,
/// `/dev/null` itself) was destroyed, a link was replaced. It writes through
/// them as a shell redirection does.
#[test]
fn export_writes_through_pipes_devices_and_links() {
    use std::os::unix::fs::FileTypeExt;
    let m = Two::new();
    m.bd("a", "tester", &["create", "seed"]).ok();
    let t = m.tmp.as_path();
    // A link to a regular file: the target gets the export; the link stays.
    let real = t.join("real.jsonl");
    std::fs::write(&real, "old\n").unwrap();
    let link = t.join("link.jsonl");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    m.bd("a", "tester", &["export", "-o", link.to_str().unwrap()])
        .ok();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read_to_string(&real).unwrap().contains("seed"));
    // /dev/null stays a device.
    m.bd("a", "tester", &["export", "-o", "/dev/null"]).ok();
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // A pipe's reader gets the export; the pipe stays a pipe.
    let fifo = t.join("fifo");
    let ok = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        let f2 = fifo.clone();
        let reader = std::thread::spawn(move || std::fs::read_to_string(f2).unwrap());
        m.bd("a", "tester", &["export", "-o", fifo.to_str().unwrap()])
            .ok();
        assert!(reader.join().unwrap().contains("seed"));
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }
    // A link to nothing and a folder are refused.
    let dangling = t.join("dangling");
    std::os::unix::fs::symlink(t.join("nowhere"), &dangling).unwrap();
    let r = m.bd("a", "tester", &["export", "-o", dangling.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!t.join("nowhere").exists());
    let r = m.bd("a", "tester", &["export", "-o", t.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
}

/// Review 4, break 12: the undo of a merge that broke `config.toml` (here
/// a fast-forward to an upstream someone pushed with plain git) unstaged
/// the user's staged work. The merged settings are now checked before
/// anything is touched: the index and working tree stay as they were.
#[test]
fn sync_checks_the_merged_settings_before_touching_the_index() {
    let m = Two::new();
    let a = m.dir("a");
    let cfg = a.join(".beads/config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("lease = \"10m\"\nlease = \"30m\"\n");
    std::fs::write(&cfg, text).unwrap();
    git(
        &a,
        &["commit", "-q", "-am", "broken settings, pushed by hand"],
    );
    git(&a, &["push", "-q"]);
    let b = m.dir("b");
    std::fs::write(b.join("new.txt"), "staged work\n").unwrap();
    git(&b, &["add", "new.txt"]);
    let head = git(&b, &["rev-parse", "HEAD"]);
    let r = m.bd("b", "tester", &["sync"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("config.toml:") && r.stderr.contains("duplicate key"),
        "{}",
        r.stderr
    );
    assert_eq!(git(&b, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&b, &["status", "--porcelain"]), "A  new.txt\n");
}

/// Review 4, break 9: when both clones changed the same setting, git's
/// conflict in `config.toml` was reported as tracker lines that do not
/// parse, with a hint (`doctor --fix` where they were written) that found
/// nothing, so every sync failed the same way. The words name the settings
/// and the steps that work.
#[test]
fn sync_names_a_settings_conflict_and_the_steps_that_resolve_it() {
    let m = Two::new();
    m.bd("a", "tester", &["config", "set", "lease", "10m"]).ok();
    git(&m.dir("a"), &["commit", "-q", "-am", "lease 10m"]);
    git(&m.dir("a"), &["push", "-q"]);
    m.bd("b", "tester", &["config", "set", "lease", "30m"]).ok();
    git(&m.dir("b"), &["commit", "-q", "-am", "lease 30m"]);
    let r = m.bd("b", "tester", &["sync"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("same settings in .beads/config.toml"),
        "{}",
        r.stderr
    );
    // The steps of the hint work.
    let b = m.dir("b");
    let merge = common::git_with_bd(&b, &["merge", "-q", "--no-edit", "origin/main"]);
    assert_ne!(merge.code, 0, "it conflicts");
    m.bd("b", "tester", &["doctor", "--fix"]).ok();
    git(&b, &["commit", "-q", "--no-edit"]);
    m.bd("b", "tester", &["sync"]).ok();
    assert_eq!(
        m.bd("b", "tester", &["config", "get", "lease"])
            .ok()
            .stdout
            .trim(),
        "30m"
    );
}

/// Review 4, break 4: a deferral in one worktree of work claimed in a
/// sibling worktree reached the ledger as a plain release: the sibling saw
/// the item ready, `dispatch` slung it, and the merge lost the deferral. The
/// release carries the deferral: the sibling sees deferred work, not ready.
#[test]
fn a_deferral_of_work_claimed_next_door_is_deferred_there_too() {
    let m = Two::new();
    let a = m.dir("a");
    let x = m.create("a", "tester", "one");
    m.bd("a", "tester", &["commit"]).ok();
    let wt = m.dir("wt");
    git(
        &a,
        &["worktree", "add", "-q", wt.to_str().unwrap(), "-b", "wt"],
    );
    m.bd("wt", "bob", &["claim", &x]).ok();
    m.bd("a", "alice", &["defer", &x, "--until", "2099-01-01"])
        .ok();
    for c in ["a", "wt"] {
        let ready = m.json(c, "carol", &["ready"]);
        assert!(!has(&ready, &x), "{c}: {ready}");
        let shown = m.json(c, "carol", &["show", &x]);
        let shown = if shown.is_array() {
            shown[0].clone()
        } else {
            shown
        };
        assert_eq!(shown["ready"], false, "{c}: {shown}");
    }
    let shown = m.bd("wt", "carol", &["show", &x]).ok().stdout;
    assert!(shown.contains("deferred until 2099"), "{shown}");
    m.bd("wt", "zed", &["agent", "register"]).ok();
    let d = m.bd("wt", "mayor", &["dispatch", "--once"]).ok();
    assert!(!d.stdout.contains(&x), "{}", d.stdout);
    let r = m.bd("wt", "carol", &["claim", &x]);
    assert_eq!(r.code, 3, "deferred work is not claimable: {}", r.stderr);
    m.bd("wt", "tester", &["commit"]).ok();
    m.bd("a", "tester", &["commit"]).ok();
    common::git_bd(&a, &["merge", "-q", "--no-edit", "wt"]);
    let rec: Value = std::fs::read_to_string(a.join(".beads/issues.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["id"] == x.as_str())
        .unwrap();
    assert_eq!(rec["status"], "deferred", "{rec}");
    assert!(rec.get("assignee").is_none(), "{rec}");
}

/// Review 4, smaller breaks: `update --defer D --assignee carol` on bob's
/// claim dropped carol (the deferral's release ran after the assignment);
/// `update --claim --defer D` dropped the deferral silently; a usage error
/// written to a closed stderr panicked (exit 101).
#[test]
fn update_defer_keeps_the_assignee_given_and_claim_refuses_defer() {
    let m = Two::new();
    let x = m.create("a", "tester", "one");
    m.bd("a", "bob", &["claim", &x]).ok();
    m.bd(
        "a",
        "alice",
        &["update", &x, "--defer", "2099-01-01", "--assignee", "carol"],
    )
    .ok();
    let shown = m.json("a", "alice", &["show", &x]);
    let shown = if shown.is_array() {
        shown[0].clone()
    } else {
        shown
    };
    assert_eq!(shown["status"], "deferred", "{shown}");
    assert_eq!(shown["assignee"], "carol", "{shown}");
    let prime = m.json("a", "bob", &["prime"]);
    assert!(!has(&prime["claims"], &x), "{prime}");

    let y = m.create("a", "tester", "two");
    let r = m.bd(
        "a",
        "bob",
        &["update", &y, "--claim", "--defer", "2099-01-01"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--defer"), "{}", r.stderr);

    let closed = Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' --no-such-flag 2>&-", common::BD))
        .status()
        .unwrap();
    assert_eq!(closed.code(), Some(2));
}

/// Review 5, break 7: `undefer` in main of work deferred there while a
/// sibling worktree held it left the ledger's deferral: the sibling stayed
/// deferred (claim refused, its own `undefer` said "not deferred"). Undefer
/// lifts the deferral in the ledger, from either worktree.
#[test]
fn undefer_lifts_a_deferral_the_sibling_sees() {
    let m = Two::new();
    let a = m.dir("a");
    let x = m.create("a", "tester", "one");
    let y = m.create("a", "tester", "two");
    m.bd("a", "tester", &["commit"]).ok();
    let wt = m.dir("wt");
    git(
        &a,
        &["worktree", "add", "-q", wt.to_str().unwrap(), "-b", "wt"],
    );
    m.bd("wt", "bob", &["claim", &x, &y]).ok();
    m.bd("a", "alice", &["defer", &x, &y, "--until", "2099-01-01"])
        .ok();
    // Lifted where it was deferred: the sibling sees open work.
    m.bd("a", "alice", &["undefer", &x]).ok();
    assert!(has(&m.json("wt", "carol", &["ready"]), &x));
    m.bd("wt", "carol", &["claim", &x]).ok();
    // Lifted from the sibling itself.
    let r = m.bd("wt", "carol", &["undefer", &y]).ok();
    assert!(!r.stderr.contains("Nothing changed"), "{}", r.stderr);
    assert!(has(&m.json("a", "dave", &["ready"]), &y));
    assert!(has(&m.json("wt", "dave", &["ready"]), &y));
}

/// Review 5, breaks 2, 5, 8 and 9: an import of a stale export of a record
/// new here released a sibling worktree's claim; `""` for an absent field
/// and labels in another order counted as changes (and undid real edits
/// after a sync); a `_stamps.claim_epoch` at the top of the range made a
/// later claim panic; so did `stale --days` past the calendar.
#[test]
fn import_and_stale_edge_cases() {
    let m = Two::new();
    let a = m.dir("a");
    m.bd("a", "tester", &["commit"]).ok();
    let wt = m.dir("wt");
    git(
        &a,
        &["worktree", "add", "-q", wt.to_str().unwrap(), "-b", "wt"],
    );
    let x = m.create("wt", "tester", "only in wt");
    let stale = m.tmp.as_path().join("stale.jsonl");
    m.bd("wt", "tester", &["export", "-o", stale.to_str().unwrap()])
        .ok();
    m.bd("wt", "bob", &["claim", &x]).ok();
    m.bd("a", "imp", &["import", stale.to_str().unwrap()]).ok();
    let r = m.bd("a", "carol", &["claim", &x]);
    assert_eq!(r.code, 3, "bob still holds it: {}", r.stderr);
    assert!(!has(&m.json("a", "carol", &["ready"]), &x));

    // Meaning, not bytes.
    let line = serde_json::json!({"id": "bd-x1", "title": "t", "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z", "labels": ["a", "b"]});
    let f1 = m.tmp.as_path().join("c.jsonl");
    std::fs::write(&f1, format!("{line}\n")).unwrap();
    m.bd("a", "tester", &["import", f1.to_str().unwrap()]).ok();
    let mut again = line.clone();
    again["description"] = "".into();
    again["labels"] = serde_json::json!(["b", "a"]);
    again["notes"] = Value::Null;
    let f2 = m.tmp.as_path().join("c2.jsonl");
    std::fs::write(&f2, format!("{again}\n")).unwrap();
    let rep = m.json("a", "tester", &["import", f2.to_str().unwrap()]);
    assert_eq!(rep["unchanged"], 1, "{rep}");

    // A claim epoch at the top of the range is refused at the door.
    let mut huge = line.clone();
    huge["id"] = "bd-x2".into();
    huge["_stamps"] = serde_json::json!({"claim_epoch": i64::MAX});
    let f3 = m.tmp.as_path().join("c3.jsonl");
    std::fs::write(&f3, format!("{huge}\n")).unwrap();
    let r = m.bd("a", "tester", &["import", f3.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("claim_epoch"), "{}", r.stderr);
    let r = m.bd("a", "tester", &["stale", "--days", "9999999999"]);
    assert_ne!(r.code, 101, "{}", r.stderr);
}

/// Review 6: the environment read once in the CLI: a relative
/// `XDG_STATE_HOME` is ignored (as the XDG rules say; it made a home inside
/// the work tree), and a `BD_LOCK_TIMEOUT_MS` that is not a number of
/// milliseconds is an error naming it, as a bad `BD_NOW` is.
#[test]
fn the_environment_is_checked_where_a_workspace_opens() {
    let env = TestEnvironment::new();
    let run = |vars: &[(&str, &str)], unset: &[&str]| {
        let mut c = env.cmd(&["list"]);
        for (k, v) in vars {
            c.env(k, v);
        }
        for k in unset {
            c.env_remove(k);
        }
        common::run_of(c.output().unwrap())
    };
    run(&[("XDG_STATE_HOME", "rel/state")], &["BD_HOME"]).ok();
    assert!(
        !env.repo.join("rel").exists(),
        "no home inside the work tree"
    );
    assert!(env.home.join(".local/state/bd").exists());
    let r = run(&[("BD_LOCK_TIMEOUT_MS", "abc")], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("BD_LOCK_TIMEOUT_MS 'abc'"),
        "{}",
        r.stderr
    );
}

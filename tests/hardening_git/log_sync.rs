//! `log` and `sync`, links (items 1, 18).

use super::*;

/// `bd log` through merges: an issue created on one side shows one create
/// (not another at the merge commit), and a dependency change is said
/// element by element, not as cut JSON.
#[test]
fn item_18_log_shows_one_create_and_readable_dependency_changes() {
    let net = net(2);
    let (a, b) = (&net.c[0], &net.c[1]);
    let x = create(b, "made by bob");
    let y = create(
        b,
        "a blocker with a long enough title to be cut in raw JSON",
    );
    ok(b.bd(&["dep", "add", &x, &y]));
    ok(b.bd(&["commit"]));
    b.git(&["push", "-q"]);
    create(a, "alice's own");
    ok(a.bd(&["commit"]));
    a.git(&["pull", "-q", "--no-rebase", "origin", "main"]);
    assert_eq!(
        a.git(&["rev-list", "--count", "--merges", "HEAD"]).trim(),
        "1"
    );
    let r = ok(a.bd(&["log", &x]));
    let creates = r
        .stdout
        .lines()
        .filter(|l| l.trim() == format!("create {x}"))
        .count();
    assert_eq!(creates, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("dependencies: + blocks {y}")),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("depends_on_id"), "{}", r.stdout);
    let j = ok(a.bd(&["--json", "log", &x])).stdout;
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    let kinds: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "created").count(),
        1,
        "{kinds:?}"
    );
    // Removing it is said the same way.
    ok(a.bd(&["dep", "remove", &x, &y]));
    ok(a.bd(&["commit"]));
    let r = ok(a.bd(&["log", &x]));
    assert!(
        r.stdout.contains(&format!("dependencies: - blocks {y}")),
        "{}",
        r.stdout
    );
}

/// `bd log` in a shallow clone: no raw gix error; the history that is there,
/// and one line saying where it stops.
#[test]
fn item_18_log_in_a_shallow_clone_shows_what_is_there() {
    let net = net(1);
    let a = &net.c[0];
    let x = create(a, "old issue");
    ok(a.bd(&["commit"]));
    ok(a.bd(&["update", &x, "--title", "renamed once"]));
    ok(a.bd(&["commit"]));
    ok(a.bd(&["update", &x, "--title", "renamed twice"]));
    ok(a.bd(&["commit"]));
    a.git(&["push", "-q"]);
    let remote = format!("file://{}", net.remote.display());
    let s = net.machine("shallow", "sam");
    let r = run_of(
        Command::new("git")
            .args(["clone", "-q", "--depth", "2", &remote, "shallow"])
            .current_dir(net.root())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", &s.home)
            .output()
            .unwrap(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = ok(s.bd(&["log", &x]));
    assert!(r.stdout.contains("\"renamed twice\""), "{}", r.stdout);
    assert!(
        !r.stdout.contains("create"),
        "the boundary is not a create: {}",
        r.stdout
    );
    let note: Vec<&str> = r.stderr.lines().filter(|l| l.contains("shallow")).collect();
    assert_eq!(note.len(), 1, "{}", r.stderr);
    assert!(note[0].contains("git fetch --unshallow"), "{}", r.stderr);
    assert!(!r.stderr.contains("could not be found"), "{}", r.stderr);
}

/// A failed `bd sync` passes on git's list of the files that block the merge.
#[test]
fn item_18_sync_names_the_files_that_block_the_merge() {
    let net = net(2);
    let (a, b) = (&net.c[0], &net.c[1]);
    std::fs::write(b.dir.join("notes.txt"), "bob's notes\n").unwrap();
    b.git(&["add", "notes.txt"]);
    b.git(&["commit", "-q", "-m", "notes"]);
    b.git(&["push", "-q"]);
    // a has an untracked notes.txt of its own, and tracker work to sync.
    std::fs::write(a.dir.join("notes.txt"), "alice's notes\n").unwrap();
    create(a, "alice's work");
    let r = a.bd(&["sync"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("would be overwritten by merge: notes.txt"),
        "{}",
        r.stderr
    );
    // The hint says what helps (review 5: "merge it yourself" fails alike).
    assert!(r.stderr.contains("git stash -u"), "{}", r.stderr);
    // Nothing lost: the untracked file and the tracker work are still here.
    assert_eq!(
        std::fs::read_to_string(a.dir.join("notes.txt")).unwrap(),
        "alice's notes\n"
    );
    assert!(a.issues_text().contains("alice's work"));
}

/// Review break 3 (item 1): a link tracked under `.beads/` is a problem
/// until it is committed away. `doctor` lists each (also once the working
/// tree no longer has it), `doctor --fix` removes it from the working tree
/// and git's index, and `sync` commits the removal, so the remote's tree has
/// no link under `.beads/` and the next clone works.
#[test]
fn item_01_review_tracked_links_are_committed_away_by_sync() {
    let net = hostile_remote();
    let b = net.clone_fresh("b", "bob", &[]);
    // The user removed one link by hand: git still tracks it.
    std::fs::remove_file(b.dir.join(".beads/quarantine")).unwrap();
    let r = b.bd(&["--json", "doctor"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    for (p, _) in HOSTILE_LINKS {
        assert!(
            v["findings"].as_array().unwrap().iter().any(|f| {
                f["check"] == "tracked_link"
                    && f["severity"] == "error"
                    && f["message"].as_str().unwrap().contains(p)
            }),
            "doctor lists the tracked link {p}: {v}"
        );
    }
    let r = ok(b.bd(&["doctor", "--fix"]));
    assert!(r.stdout.contains("[fixed]"), "{}", r.stdout);
    assert!(worktree_links(&b).is_empty(), "{:?}", worktree_links(&b));
    let st = porcelain(&b);
    assert!(st.contains("D  .beads/quarantine"), "deletion staged: {st}");
    ok(b.bd(&["sync"]));
    assert_eq!(tree_links(&b, "HEAD"), Vec::<String>::new());
    b.git(&["fetch", "-q"]);
    assert_eq!(tree_links(&b, "origin/main"), Vec::<String>::new());
    let r = ok(b.bd(&["doctor"]));
    assert!(!r.stdout.contains("link"), "{}", r.stdout);
    // The next clone has no link and works.
    let c = net.clone_fresh("c", "carol", &[]);
    assert!(worktree_links(&c).is_empty(), "{:?}", worktree_links(&c));
    create(&c, "Honest work");
    ok(c.bd(&["list"]));
    let r = ok(c.bd(&["doctor"]));
    assert!(!r.stdout.contains("link"), "{}", r.stdout);
}

/// Review break 3, with `bd commit` alone: the removals `doctor --fix` made
/// are recorded by it (and a tracked link gone from the working tree counts
/// as a pending change).
#[test]
fn item_01_review_bd_commit_records_removed_links() {
    let net = hostile_remote();
    let b = net.clone_fresh("b", "bob", &[]);
    ok(b.bd(&["doctor", "--fix"]));
    let r = ok(b.bd(&["--json", "where"]));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let pending = v["pending"].to_string();
    for (p, _) in HOSTILE_LINKS {
        assert!(pending.contains(p), "{p} pending: {pending}");
    }
    let r = ok(b.bd(&["commit"]));
    assert!(!r.stderr.contains("Nothing changed"), "{}", r.stderr);
    assert_eq!(tree_links(&b, "HEAD"), Vec::<String>::new());
    assert_eq!(porcelain(&b), "", "nothing left over");
    let r = ok(b.bd(&["doctor"]));
    assert!(r.stdout.contains("No problems found"), "{}", r.stdout);
}

/// Third review: `bd log` of an id that never existed exited 0 ("No commits
/// changed …") while `show`, `comments` and `children` say not found (1).
/// An issue deleted from the file but present in history still has a log.
#[test]
fn item_18_review3_log_of_an_unknown_id_is_not_found() {
    let net = net(1);
    let a = &net.c[0];
    let x = create(a, "logged");
    ok(a.bd(&["commit"]));
    let r = a.bd(&["log", "bd-zzzzz"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no issue"), "{}", r.stderr);
    let r = ok(a.bd(&["log", &x]));
    assert!(r.stdout.contains(&format!("create {x}")), "{}", r.stdout);
}

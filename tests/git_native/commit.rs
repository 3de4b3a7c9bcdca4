//! `bd commit` and auto-commit.

use super::*;

// ---------------------------------------------------------------------------
// 3. Commits
// ---------------------------------------------------------------------------

#[test]
fn commit_takes_only_beads_paths_and_leaves_the_rest_alone() {
    let (env, ws) = solo();
    let before = ws.commit_count();
    std::fs::write(ws.dir.join("staged.txt"), "staged\n").unwrap();
    ws.git(&["add", "staged.txt"]);
    std::fs::write(ws.dir.join("code.txt"), "line 1\nline 2 unstaged\n").unwrap();
    let id = ws.create("Fix the parser");
    let r = ws.bd(&["commit"]).ok();
    assert!(r.stderr.contains("Committed"), "{}", r.stderr);
    assert_eq!(ws.commit_count(), before + 1);

    let stat = ws.git(&["show", "--stat", "--format=", "HEAD"]);
    assert!(stat.contains(".beads/issues.jsonl"), "{stat}");
    assert!(
        !stat.contains("staged.txt") && !stat.contains("code.txt"),
        "{stat}"
    );
    let names = ws.git(&["show", "--name-only", "--format=", "HEAD"]);
    for n in names.lines().filter(|l| !l.is_empty()) {
        assert!(n.starts_with(".beads/"), "committed {n}");
    }
    assert_eq!(
        ws.git(&["diff", "--cached", "--name-only"]).trim(),
        "staged.txt"
    );
    assert_eq!(ws.git(&["diff", "--name-only"]).trim(), "code.txt");
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    assert_eq!(
        ws.git_try(&["diff-index", "--cached", "--quiet", "HEAD", "--", ".beads"])
            .code,
        0
    );
    assert_eq!(
        ws.git_try(&["diff-files", "--quiet", "--", ".beads"]).code,
        0
    );
    let fsck = ws.git_try(&["fsck", "--no-progress", "--strict"]);
    assert_eq!(fsck.code, 0, "{}", fsck.stderr);
    assert!(!fsck.stdout.contains("error"), "{}", fsck.stdout);

    let msg = ws.git(&["log", "-1", "--format=%B"]);
    assert!(msg.contains(&id), "the message names the issue: {msg}");
    crate::assert_human!(env, "commit_message_of_one_create", msg);
    let trailers = ws.git(&["log", "-1", "--format=%(trailers:key=Bd-Actor,valueonly)"]);
    assert_eq!(trailers.trim(), "tester");
    assert_eq!(
        ws.git(&["log", "-1", "--format=%an <%ae>"]).trim(),
        "tester <tester@example.com>"
    );

    // The staged file is still committable as the user meant.
    ws.git(&["commit", "-q", "-m", "user commit"]);
    let stat = ws.git(&["show", "--stat", "--format=", "HEAD"]);
    assert!(
        stat.contains("staged.txt") && !stat.contains(".beads"),
        "{stat}"
    );
}

#[test]
fn commit_message_summarizes_several_changes() {
    let (env, ws) = solo();
    let a = ws.create("One");
    ws.create("Two");
    ws.bd(&["commit"]).ok();
    let msg = ws.git(&["log", "-1", "--format=%B"]);
    crate::assert_human!(env, "commit_message_of_two_creates", msg);
    ws.bd(&["close", &a]).ok();
    ws.bd(&["commit", "-m", "wrap up"]).ok();
    let msg = ws.git(&["log", "-1", "--format=%B"]);
    crate::assert_human!(env, "commit_message_given", msg);
}

#[test]
fn commit_with_nothing_pending_changes_nothing() {
    let (env, ws) = solo();
    let head = ws.head();
    let r = ws.bd(&["commit"]).ok();
    crate::assert_human!(env, "commit_with_nothing_pending", r.transcript());
    assert_eq!(ws.head(), head);
    let v = ws.json(&["commit"]);
    assert_eq!(v["committed"], false);
    assert_eq!(ws.head(), head);
}

#[test]
fn auto_commit_on_commits_every_write() {
    let (_env, ws) = solo();
    ws.bd(&["config", "set", "auto_commit", "on"]).ok();
    ws.git(&["commit", "-q", "-am", "config"]);
    let before = ws.commit_count();
    let a = ws.create("First");
    assert_eq!(ws.commit_count(), before + 1);
    ws.create("Second");
    ws.bd(&["update", &a, "-p", "0"]).ok();
    assert_eq!(ws.commit_count(), before + 3);
    // A setting is a command's write too (review 7).
    ws.bd(&["config", "set", "lease", "2h"]).ok();
    assert_eq!(ws.commit_count(), before + 4);
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    assert_eq!(ws.git(&["log", "-1", "--format=%s"]).trim(), "bd: config");
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    let log = ws.git(&["log", "-4", "--format=%B%x00"]);
    for m in log.split('\0').filter(|m| !m.trim().is_empty()) {
        assert!(m.contains("Bd-Actor: tester"), "{m}");
    }
    let subject = ws.git(&["log", "-2", "--format=%s"]);
    assert!(subject.lines().last().unwrap().contains(&a), "{subject}");
}

#[test]
fn auto_commit_batch_amends_until_pushed() {
    let net = Network::new(1, "line 1\n");
    let ws = &net.c[0];
    ws.bd(&["config", "set", "auto_commit", "batch"]).ok();
    ws.git(&["commit", "-q", "-am", "config"]);
    ws.git(&["push", "-q"]);
    let before = ws.commit_count();
    let a = ws.create("First");
    let b = ws.create("Second");
    ws.bd(&["update", &a, "-p", "1"]).ok();
    assert_eq!(ws.commit_count(), before + 1, "three writes, one commit");
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    let tree = ws.git(&["show", "HEAD:.beads/issues.jsonl"]);
    assert!(tree.contains(&a) && tree.contains(&b), "{tree}");
    let msg = ws.git(&["log", "-1", "--format=%B"]);
    assert_eq!(msg.matches("Bd-Actor:").count(), 1, "{msg}");
    ws.git(&["fsck", "--no-progress"]);

    // Pushed: the next write starts a new commit, the pushed one stays.
    ws.git(&["push", "-q"]);
    let pushed = ws.head();
    let c = ws.create("Third");
    assert_eq!(ws.commit_count(), before + 2);
    assert_eq!(
        ws.git(&["rev-parse", "HEAD~1"]).trim(),
        pushed,
        "the pushed commit is the parent"
    );
    ws.bd(&["close", &c]).ok();
    assert_eq!(ws.commit_count(), before + 2, "amends the unpushed one");
    assert_eq!(ws.git(&["rev-parse", "HEAD~1"]).trim(), pushed);
    assert_eq!(net.remote_head(), pushed);
    assert!(ws.beads_status().is_empty());

    // A user's commit on top: bd does not amend it.
    let user = ws.code_commit("code.txt", "changed\n", "user work");
    ws.create("Fourth");
    assert_eq!(ws.commit_count(), before + 4);
    assert_eq!(ws.git(&["rev-parse", "HEAD~1"]).trim(), user);
}

#[test]
fn commit_runs_the_repository_hooks() {
    let (env, ws) = solo();
    let marker = env.root().join("hook-ran");
    write_hook(
        &ws.dir,
        "pre-commit",
        &format!("echo ran >> '{}'", marker.display()),
    );
    std::fs::write(ws.dir.join("staged.txt"), "staged\n").unwrap();
    ws.git(&["add", "staged.txt"]);
    std::fs::write(ws.dir.join("code.txt"), "unstaged change\n").unwrap();
    let before = ws.commit_count();
    ws.create("Hooked");
    ws.bd(&["commit"]).ok();
    assert!(marker.exists(), "the pre-commit hook did not run");
    assert_eq!(ws.commit_count(), before + 1);
    let names = ws.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(names.trim(), ".beads/issues.jsonl");
    assert_eq!(
        ws.git(&["diff", "--cached", "--name-only"]).trim(),
        "staged.txt"
    );
    assert_eq!(ws.git(&["diff", "--name-only"]).trim(), "code.txt");
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    let msg = ws.git(&["log", "-1", "--format=%B"]);
    assert!(msg.contains("Bd-Actor: tester"), "{msg}");

    // A hook that refuses: the tracker write stands, bd says so.
    write_hook(&ws.dir, "pre-commit", "echo 'no commits today' >&2; exit 1");
    let id = ws.create("Refused");
    let r = ws.bd(&["commit"]);
    assert_ne!(r.code, 0, "a refused commit is not a success");
    assert!(ws.ids().contains(&id));
    assert_eq!(ws.commit_count(), before + 1);
}

#[test]
fn commit_honours_core_hooks_path_and_commit_msg_hooks() {
    let (env, ws) = solo();
    let hooks = env.root().join("shared-hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let p = hooks.join("commit-msg");
        std::fs::write(
            &p,
            "#!/bin/sh\nprintf '\\nReviewed-by: hook\\n' >> \"$1\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    ws.git(&["config", "core.hooksPath", hooks.to_str().unwrap()]);
    std::fs::write(ws.dir.join("staged.txt"), "staged\n").unwrap();
    ws.git(&["add", "staged.txt"]);
    ws.create("Through the hook");
    ws.bd(&["commit"]).ok();
    let msg = ws.git(&["log", "-1", "--format=%B"]);
    assert!(msg.contains("Reviewed-by: hook"), "{msg}");
    assert!(msg.contains("Bd-Actor: tester"), "{msg}");
    let names = ws.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(names.trim(), ".beads/issues.jsonl");
    assert_eq!(
        ws.git(&["diff", "--cached", "--name-only"]).trim(),
        "staged.txt"
    );
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
}

#[test]
fn commit_signs_when_the_repository_signs() {
    let (env, ws) = solo();
    // A stand-in for gpg: git only needs a signature on stdout and
    // SIG_CREATED on the status fd.
    let gpg = env.root().join("fake-gpg");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(
            &gpg,
            "#!/bin/sh\ncat >/dev/null\necho '[GNUPG:] SIG_CREATED D 1 8 00 0 0' >&2\n\
             printf -- '-----BEGIN PGP SIGNATURE-----\\n\\nZmFrZQ==\\n-----END PGP SIGNATURE-----\\n'\n",
        )
        .unwrap();
        std::fs::set_permissions(&gpg, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    ws.git(&["config", "gpg.program", gpg.to_str().unwrap()]);
    ws.git(&["config", "user.signingkey", "tester@example.com"]);
    ws.git(&["config", "commit.gpgsign", "true"]);
    ws.create("Signed");
    ws.bd(&["commit"]).ok();
    let raw = ws.git(&["cat-file", "commit", "HEAD"]);
    assert!(
        raw.contains("gpgsig -----BEGIN PGP SIGNATURE-----"),
        "{raw}"
    );
    assert!(raw.contains("Bd-Actor: tester"), "{raw}");
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
}

#[test]
fn commit_on_an_unborn_branch_makes_the_root_commit() {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.bd(&["init", "--prefix", "bd"]).ok();
    std::fs::write(ws.dir.join("code.txt"), "untracked code\n").unwrap();
    let id = ws.create("First ever");
    ws.bd(&["commit"]).ok();
    assert_eq!(ws.commit_count(), 1);
    let names: BTreeSet<String> = ws
        .git(&["show", "--name-only", "--format=", "HEAD"])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert!(names.contains(".beads/issues.jsonl"), "{names:?}");
    assert!(names.contains(".beads/config.toml"), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with(".beads/")), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.contains(".cache") || n.ends_with(".lock")),
        "{names:?}"
    );
    assert!(ws.git(&["show", "HEAD:.beads/issues.jsonl"]).contains(&id));
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    let untracked = ws.git(&["status", "--porcelain"]);
    assert!(untracked.contains("?? code.txt"), "{untracked}");
    ws.git(&["fsck", "--no-progress"]);
}

#[test]
fn auto_commit_batch_respects_the_commit_window() {
    let (_env, ws) = solo();
    ws.bd(&["config", "set", "auto_commit", "batch"]).ok();
    // The second setting is committed by bd itself (batch is on by then);
    // a commit of the user's own follows, so the next write starts anew.
    ws.bd(&["config", "set", "commit_window", "1s"]).ok();
    ws.bd(&["commit"]).ok();
    ws.git(&["commit", "-q", "--allow-empty", "-m", "the user's own"]);
    let before = ws.commit_count();
    ws.create("One");
    ws.create("Two");
    assert_eq!(ws.commit_count(), before + 1);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    ws.create("Three");
    assert_eq!(
        ws.commit_count(),
        before + 2,
        "older than the window: a new commit"
    );
}

#[test]
fn busy_index_leaves_the_commit_pending() {
    let (_env, ws) = solo();
    ws.bd(&["config", "set", "auto_commit", "on"]).ok();
    ws.git(&["commit", "-q", "-am", "config"]);
    let head = ws.head();
    let lock = ws.dir.join(".git/index.lock");
    std::fs::write(&lock, "").unwrap();
    let r = ws.bd(&["create", "While git is busy"]).ok();
    let id = r.stdout.trim().to_string();
    assert!(
        r.stderr.contains("index.lock") && r.stderr.contains("not committed"),
        "{}",
        r.stderr
    );
    assert!(ws.ids().contains(&id));
    assert_eq!(ws.head(), head);
    assert!(lock.exists(), "bd never removes git's lock");
    let r = ws.bd(&["commit"]).ok();
    assert!(
        r.stderr.contains("pending") || r.stderr.contains("not committed"),
        "{}",
        r.stderr
    );
    assert_eq!(ws.head(), head);
    std::fs::remove_file(&lock).unwrap();
    ws.bd(&["commit"]).ok();
    assert_ne!(ws.head(), head);
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
    assert!(ws.git(&["show", "HEAD:.beads/issues.jsonl"]).contains(&id));
}

#[test]
fn merge_or_rebase_in_progress_leaves_the_commit_pending() {
    let (_env, ws) = solo();
    ws.bd(&["config", "set", "auto_commit", "on"]).ok();
    ws.git(&["commit", "-q", "-am", "config"]);
    ws.git(&["checkout", "-q", "-b", "side"]);
    ws.code_commit("code.txt", "side\n", "side edit");
    ws.git(&["checkout", "-q", "main"]);
    ws.code_commit("code.txt", "main\n", "main edit");
    let m = ws.git_try(&["merge", "--no-edit", "side"]);
    assert_ne!(m.code, 0, "the merge conflicts");
    assert!(ws.exists_in_git_dir("MERGE_HEAD"));
    let head = ws.head();
    let r = ws.bd(&["create", "During a merge"]).ok();
    let id = r.stdout.trim().to_string();
    assert!(r.stderr.contains("merge is in progress"), "{}", r.stderr);
    assert!(ws.ids().contains(&id));
    assert_eq!(ws.head(), head);
    assert!(
        ws.exists_in_git_dir("MERGE_HEAD"),
        "the user's merge is untouched"
    );
    let r = ws.bd(&["commit"]).ok();
    assert!(r.stderr.contains("merge is in progress"), "{}", r.stderr);
    assert_eq!(ws.head(), head);
    ws.git(&["merge", "--abort"]);

    // A rebase stopped on a conflict.
    ws.bd(&["commit"]).ok();
    ws.git(&["checkout", "-q", "side"]);
    let rb = ws.git_try(&["rebase", "main"]);
    assert_ne!(rb.code, 0, "the rebase conflicts");
    let head = ws.head();
    let r = ws.bd(&["create", "During a rebase"]).ok();
    assert!(r.stderr.contains("rebase is in progress"), "{}", r.stderr);
    assert_eq!(ws.head(), head);
    assert!(ws.exists_in_git_dir("rebase-merge") || ws.exists_in_git_dir("rebase-apply"));
    ws.git(&["rebase", "--abort"]);
}

/// SPEC §2: "`bd where`, `bd prime` and `bd doctor` show pending tracker changes."
#[test]
fn where_and_doctor_show_pending_tracker_changes() {
    let (_env, ws) = solo();
    ws.create("Not committed yet");
    let w = ws.bd(&["where"]).ok();
    let wj = ws.bd(&["--json", "where"]).ok();
    let d = ws.bd(&["doctor"]);
    for (what, r) in [("where", &w), ("where --json", &wj), ("doctor", &d)] {
        assert!(
            all_output(r).contains("pending") && all_output(r).contains(".beads/issues.jsonl"),
            "bd {what} does not show the pending change\nstdout: {}\nstderr: {}",
            r.stdout,
            r.stderr
        );
    }
}

//! `bd sync`: refusals, failures, pulls, pushes and races.

use super::*;

// ---------------------------------------------------------------------------
// 5. bd sync
// ---------------------------------------------------------------------------

#[test]
fn sync_refuses_a_detached_head_and_a_branch_without_upstream() {
    let net = Network::new(1, "line 1\n");
    let a = &net.c[0];
    a.git(&["checkout", "-q", "--detach"]);
    let r = a.bd(&["sync"]).code(1);
    assert!(r.stderr.contains("detached"), "{}", r.stderr);
    let r = a.bd(&["--json", "sync"]).code(1);
    assert!(r.json()["error"].as_str().unwrap().contains("detached"));
    a.git(&["checkout", "-q", "-b", "feature"]);
    a.create("On a local branch");
    let r = a.bd(&["sync"]).code(1);
    assert!(r.stderr.contains("upstream"), "{}", r.stderr);
    assert!(r.stderr.contains("feature"), "{}", r.stderr);
    assert_eq!(
        a.git(&["ls-remote", "--heads", "origin"]).lines().count(),
        1
    );
}

#[test]
fn sync_refuses_unpushed_code_commits_unless_all() {
    let net = Network::new(1, "line 1\n");
    let a = &net.c[0];
    let remote_before = net.remote_head();
    let code = a.code_commit("code.txt", "new code\n", "Refactor the engine");
    a.create("Tracked");
    let r = a.bd(&["sync"]).code(1);
    assert!(r.stderr.contains("Refactor the engine"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&code[..7]),
        "names the commit: {}",
        r.stderr
    );
    assert_eq!(net.remote_head(), remote_before, "nothing pushed");
    assert!(!a.exists_in_git_dir("MERGE_HEAD"));
    let v = a.bd(&["--json", "sync", "--all"]).ok().json();
    assert_eq!(v["pushed"], true, "{v}");
    assert_eq!(net.remote_head(), a.head());
    assert!(a.beads_status().is_empty());
}

#[test]
fn sync_with_an_unreachable_remote_fails_cleanly() {
    let net = Network::new(1, "line 1\n");
    let a = &net.c[0];
    a.create("Before the outage");
    a.bd(&["sync"]).ok();
    let remote_before = net.remote_head();
    a.create("During the outage");
    let bytes = a.issues();
    let missing = net.root().join("nowhere/remote.git");
    a.git(&["remote", "set-url", "origin", missing.to_str().unwrap()]);
    let r = a.bd(&["sync"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("remote"), "{}", r.stderr);
    assert!(!a.exists_in_git_dir("MERGE_HEAD"));
    assert_eq!(a.issues(), bytes, "the tracker file is untouched");
    assert!(
        a.git(&["diff", "--name-only", "--diff-filter=U"])
            .trim()
            .is_empty()
    );
    assert_eq!(net.remote_head(), remote_before);
    let r = a.bd(&["--json", "sync"]);
    assert_ne!(r.code, 0);
    let v = r.json();
    assert!(v["error"].as_str().unwrap().contains("remote"), "{v}");
    assert!(v["hint"].is_string(), "{v}");
    // Back online: the next sync pushes.
    a.git(&["remote", "set-url", "origin", net.remote.to_str().unwrap()]);
    a.bd(&["sync"]).ok();
    assert_eq!(net.remote_head(), a.head());
}

#[test]
fn sync_error_never_shows_a_password() {
    let net = Network::new(1, "line 1\n");
    let a = &net.c[0];
    // Nothing listens on the discard port of the loopback: refused at once.
    a.git(&[
        "remote",
        "set-url",
        "origin",
        "https://bob:hunter2@127.0.0.1:9/team/tool.git",
    ]);
    a.create("Pending");
    for args in [&["sync"][..], &["--json", "sync"]] {
        let r = a.bd(args);
        assert_ne!(r.code, 0);
        let all = all_output(&r);
        assert!(all.contains("remote"), "{all}");
        assert!(!all.contains("hunter2") && !all.contains("bob:"), "{all}");
    }
}

#[test]
fn sync_pulls_into_a_clone_that_is_behind_and_pushes_from_one_ahead() {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    let x = a.create("Made in a");
    let v = a.bd(&["--json", "sync"]).ok().json();
    assert_eq!(v["pushed"], true, "{v}");
    assert!(v["committed"].is_string(), "{v}");
    assert_eq!(net.remote_head(), a.head());
    assert!(a.beads_status().is_empty());

    // b is behind: it gets x.
    b.bd(&["sync"]).ok();
    assert!(b.ids().contains(&x));
    assert_eq!(b.head(), a.head());

    // b ahead: it pushes, a catches up.
    let y = b.create("Made in b");
    b.bd(&["sync"]).ok();
    assert_eq!(net.remote_head(), b.head());
    a.bd(&["sync"]).ok();
    assert_eq!(a.ids(), b.ids());
    assert!(a.ids().contains(&y));
    assert_eq!(a.issues(), b.issues());

    // Nothing to do.
    let r = a.bd(&["sync"]).ok();
    assert!(r.stderr.contains("up to date"), "{}", r.stderr);
}

#[test]
fn sync_merges_a_remote_code_commit_with_local_tracker_changes() {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    b.bd(&["list"]).ok();
    let code = a.code_commit("code.txt", "from a\n", "code from a");
    a.git(&["push", "-q"]);
    let y = b.create("Tracker change in b");
    let v = b.bd(&["--json", "sync"]).ok().json();
    assert_eq!(v["merged"], true, "{v}");
    assert_eq!(v["pushed"], true, "{v}");
    assert_eq!(net.remote_head(), b.head());
    let parents = b.git(&["log", "-1", "--format=%P"]);
    assert_eq!(
        parents.split_whitespace().count(),
        2,
        "a merge, never a rebase"
    );
    assert_eq!(
        b.git_try(&["merge-base", "--is-ancestor", &code, "HEAD"])
            .code,
        0
    );
    assert_eq!(
        std::fs::read_to_string(b.dir.join("code.txt")).unwrap(),
        "from a\n"
    );
    a.bd(&["sync"]).ok();
    assert!(a.ids().contains(&y));
    assert_eq!(a.issues(), b.issues());
}

#[test]
fn sync_retries_a_push_that_lost_a_race() {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    // b has a code commit ready; a's pre-push hook pushes it once, between
    // a's fetch and a's push, so a's first push is rejected.
    let b_code = b.code_commit("other.txt", "from b\n", "b's code");
    let marker = net.root().join("raced");
    write_hook(
        &a.dir,
        "pre-push",
        &format!(
            "cat >/dev/null\nif [ ! -e '{m}' ]; then\n  touch '{m}'\n  unset $(git rev-parse --local-env-vars)\n  git -C '{b}' push -q origin main >&2 || exit 1\nfi\nexit 0",
            m = marker.display(),
            b = b.dir.display()
        ),
    );
    let x = a.create("Racing");
    let r = a.bd(&["--json", "sync"]).ok();
    let v = r.json();
    assert!(marker.exists(), "the hook ran");
    assert_eq!(v["push_attempts"], 2, "{v}\n{}", r.stderr);
    assert_eq!(v["pushed"], true, "{v}");
    assert_eq!(net.remote_head(), a.head());
    assert_eq!(
        a.git_try(&["merge-base", "--is-ancestor", &b_code, "HEAD"])
            .code,
        0,
        "b's commit is merged"
    );
    assert!(a.git(&["show", "HEAD:.beads/issues.jsonl"]).contains(&x));
}

#[test]
fn sync_aborts_on_code_conflicts() {
    let net = Network::new(2, "line 1\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    a.code_commit("code.txt", "a's version\n", "a edits code");
    a.git(&["push", "-q"]);
    b.code_commit("code.txt", "b's version\n", "b edits code");
    let head = b.head();
    let r = b.bd(&["sync", "--all"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("code.txt"),
        "names the file: {}",
        r.stderr
    );
    assert!(!b.exists_in_git_dir("MERGE_HEAD"), "the merge was aborted");
    assert_eq!(b.head(), head);
    assert_eq!(
        std::fs::read_to_string(b.dir.join("code.txt")).unwrap(),
        "b's version\n"
    );
}

#[test]
fn sync_stops_on_an_unparseable_upstream_line() {
    sync_against_a_bad_upstream_line("this is not JSON");
}

#[test]
fn sync_stops_on_a_truncated_upstream_record() {
    sync_against_a_bad_upstream_line("{\"id\":\"bd-zzz\",\"title\":");
}

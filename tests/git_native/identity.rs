//! Project identity: remotes, root commits, worktrees, forks.

use super::*;

// ---------------------------------------------------------------------------
// 1. Project identity
// ---------------------------------------------------------------------------

#[test]
fn identity_agrees_across_remote_spellings() {
    let env = TestEnvironment::empty();
    let want = "github.com/org/repo";
    let spellings = [
        "git@github.com:Org/Repo.git",
        "https://github.com/org/repo",
        "ssh://git@github.com:22/Org/Repo.git",
    ];
    // Remote set before `bd init`: init writes `project` from it.
    for (i, url) in spellings.iter().enumerate() {
        let ws = env.init_at(
            &env.root().join(format!("r{i}")),
            &env.root().join("home"),
            "tester",
        );
        ws.git(&["remote", "add", "origin", url]);
        ws.bd(&["init", "--prefix", "bd"]).ok();
        let cfg = std::fs::read_to_string(ws.dir.join(".beads/config.toml")).unwrap();
        assert!(
            cfg.contains(&format!("project = \"{want}\"")),
            "{url}: config.toml is\n{cfg}"
        );
        let r = ws.bd(&["--json", "where"]).ok();
        let v = r.json();
        assert_eq!(v["identity"], want, "{url}");
        assert_eq!(v["identity_source"], "config", "{url}");
        assert_eq!(v["origin"], want, "{url}");
        assert!(!r.stderr.contains("fork"), "{url}: {}", r.stderr);
    }
    // Remote added after `bd init` (no `project`): the identity comes from
    // origin, however it is spelled.
    let ws = env.init_at(&env.root().join("late"), &env.root().join("home"), "tester");
    ws.bd(&["init", "--prefix", "bd"]).ok();
    let cfg = std::fs::read_to_string(ws.dir.join(".beads/config.toml")).unwrap();
    assert!(!cfg.contains("project"), "no remote, no project: {cfg}");
    ws.git(&["remote", "add", "origin", spellings[0]]);
    for url in spellings {
        ws.git(&["remote", "set-url", "origin", url]);
        let v = ws.json(&["where"]);
        assert_eq!(v["identity"], want, "{url}");
        assert_eq!(v["identity_source"], "origin", "{url}");
        assert_eq!(v["origin"], want, "{url}");
    }
}

#[test]
fn identity_never_shows_a_password() {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    let url = "https://bob:hunter2@Example.org:8443/Team/Tool.git";
    ws.git(&["remote", "add", "origin", url]);
    let mut outputs = vec![ws.bd(&["init", "--prefix", "bd"]).ok()];
    let cfg = std::fs::read_to_string(ws.dir.join(".beads/config.toml")).unwrap();
    assert!(cfg.contains("project = \"example.org/Team/Tool\""), "{cfg}");
    let v = ws.json(&["where"]);
    assert_eq!(v["identity"], "example.org/Team/Tool");
    assert_eq!(v["origin"], "example.org/Team/Tool");
    // A changed origin (fork warning) with other credentials.
    ws.git(&[
        "remote",
        "set-url",
        "origin",
        "https://eve:s3cr3t@example.org/Other/Tool.git",
    ]);
    for args in [
        &["where"][..],
        &["--json", "where"],
        &["doctor"],
        &["--json", "doctor"],
        &["config", "list"],
        &["--json", "config", "list"],
        &["config", "get", "project"],
        &["list"],
    ] {
        outputs.push(ws.bd(args));
    }
    let mut seen = cfg;
    for r in &outputs {
        seen.push_str(&all_output(r));
    }
    for secret in ["hunter2", "s3cr3t", "bob@", "eve@", "bob:", "eve:"] {
        assert!(!seen.contains(secret), "output shows {secret}:\n{seen}");
    }
    // The cache and the project home never hold it either.
    for dir in [ws.dir.join(".beads"), ws.home.clone()] {
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(b) = std::fs::read(&p) {
                    let t = String::from_utf8_lossy(&b);
                    assert!(
                        !t.contains("hunter2") && !t.contains("s3cr3t"),
                        "{} holds a password",
                        p.display()
                    );
                }
            }
        }
    }
}

#[test]
fn identity_of_a_local_path_remote_is_its_canonical_path() {
    let env = TestEnvironment::empty();
    let remote = env.root().join("remotes/proj.git");
    std::fs::create_dir_all(&remote).unwrap();
    git_bd(&remote, &["init", "-q", "--bare"]);
    let want = format!("file:{}", std::fs::canonicalize(&remote).unwrap().display());
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.bd(&["init", "--prefix", "bd"]).ok();
    std::os::unix::fs::symlink(env.root().join("remotes"), env.root().join("link")).unwrap();
    let link = env.root().join("link/proj.git");
    let file_url = format!("file://{}", remote.display());
    let spellings = [
        "../remotes/proj.git".to_string(),
        "../remotes/./x/../proj.git/".to_string(),
        remote.display().to_string(),
        link.display().to_string(),
        file_url,
    ];
    ws.git(&["remote", "add", "origin", &spellings[0]]);
    for url in &spellings {
        ws.git(&["remote", "set-url", "origin", url]);
        let v = ws.json(&["where"]);
        assert_eq!(v["identity"], want.as_str(), "{url}");
        assert_eq!(v["identity_source"], "origin", "{url}");
    }
    // From a subdirectory too (relative paths resolve against the root).
    std::fs::create_dir_all(ws.dir.join("sub/deeper")).unwrap();
    ws.git(&["remote", "set-url", "origin", &spellings[0]]);
    let mut c = ws.cmd(&["--json", "where"]);
    c.current_dir(ws.dir.join("sub/deeper"));
    let v = run_of(c.output().unwrap()).ok().json();
    assert_eq!(v["identity"], want.as_str());
}

#[test]
fn identity_without_remote_comes_from_the_root_commit() {
    let env = TestEnvironment::empty();
    let one = env.init_at(&env.root().join("one"), &env.root().join("home"), "tester");
    one.code_commit("code.txt", "root\n", "root commit");
    one.bd(&["init", "--prefix", "bd"]).ok();
    one.git(&["add", "-A"]);
    one.git(&["commit", "-q", "-m", "bd init"]);
    let v1 = one.json(&["where"]);
    let id1 = v1["identity"].as_str().unwrap().to_string();
    assert!(id1.starts_with("local/"), "{id1}");
    assert!(id1.len() > "local/".len() + 10, "{id1}");
    assert_eq!(v1["identity_source"], "root_commit");
    assert!(v1["origin"].is_null(), "{v1}");

    // A clone without its remote shares the root commit, and the identity.
    git_bd(
        env.root(),
        &["clone", "-q", one.dir.to_str().unwrap(), "two"],
    );
    let two = env.workspace(&env.root().join("two"), &env.root().join("home2"), "tester");
    two.configure_user();
    two.git(&["remote", "remove", "origin"]);
    two.code_commit("more.txt", "x\n", "more history");
    let v2 = two.json(&["where"]);
    assert_eq!(v2["identity"], id1.as_str());
    assert_eq!(v2["identity_source"], "root_commit");

    // An unrelated repository differs.
    let three = env.init_at(
        &env.root().join("three"),
        &env.root().join("home"),
        "tester",
    );
    three.code_commit("other.txt", "other root\n", "another root");
    three.bd(&["init", "--prefix", "bd"]).ok();
    let v3 = three.json(&["where"]);
    assert_ne!(v3["identity"], id1.as_str());
    assert!(v3["identity"].as_str().unwrap().starts_with("local/"));
}

#[test]
fn identity_with_two_roots_is_the_smallest_and_stable() {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.code_commit("a.txt", "a\n", "root a");
    let before_b = {
        ws.bd(&["init", "--prefix", "bd"]).ok();
        ws.json(&["where"])["identity"]
            .as_str()
            .unwrap()
            .to_string()
    };
    ws.git(&["checkout", "-q", "--orphan", "other"]);
    ws.git(&["rm", "-rq", "--cached", "."]);
    ws.code_commit("b.txt", "b\n", "root b");
    let alone_b = ws.json(&["where"])["identity"]
        .as_str()
        .unwrap()
        .to_string();
    ws.git(&["checkout", "-q", "-f", "main"]);
    ws.git(&[
        "merge",
        "-q",
        "--no-edit",
        "--allow-unrelated-histories",
        "other",
    ]);
    let both = ws.json(&["where"])["identity"]
        .as_str()
        .unwrap()
        .to_string();
    let roots: Vec<String> = ws
        .git(&["rev-list", "--max-parents=0", "HEAD"])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(roots.len(), 2);
    let smallest = roots.iter().min().unwrap();
    let a_root = ws.git(&["rev-list", "--max-parents=0", "main^1"]);
    let want = if a_root.trim() == smallest {
        &before_b
    } else {
        &alone_b
    };
    assert_eq!(&both, want, "the smallest root commit names the project");
}

#[test]
fn worktree_has_the_same_identity_and_its_own_tracker() {
    let net = Network::new(1, "line 1\n");
    let a = &net.c[0];
    let first = a.create("On main");
    a.bd(&["commit"]).ok();
    let main_head = a.head();
    let wt_dir = net.root().join("wt");
    a.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "feature",
        wt_dir.to_str().unwrap(),
    ]);
    let wt = net.env.workspace(&wt_dir, &a.home, "wt-agent");

    let va = a.json(&["where"]);
    let vw = wt.json(&["where"]);
    assert_eq!(vw["identity"], va["identity"]);
    assert_eq!(vw["identity_source"], va["identity_source"]);
    let canon_wt = std::fs::canonicalize(&wt_dir).unwrap();
    assert_eq!(vw["root"], canon_wt.to_str().unwrap());
    assert_eq!(vw["beads_dir"], canon_wt.join(".beads").to_str().unwrap());

    let id = wt.create("In the worktree");
    let ids = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let listed = ids(wt.json(&["list"]));
    assert!(
        listed.contains(&id) && listed.contains(&first),
        "{listed:?}"
    );
    assert!(ids(wt.json(&["ready"])).contains(&id));
    assert!(wt.ids().contains(&id));
    assert!(
        !a.ids().contains(&id),
        "the main clone's tracker is its own"
    );
    assert!(!ids(a.json(&["list"])).contains(&id));

    // From a subdirectory of the worktree, bd finds the worktree's root.
    std::fs::create_dir_all(wt_dir.join("sub")).unwrap();
    let mut c = wt.cmd(&["--json", "show", &id]);
    c.current_dir(wt_dir.join("sub"));
    run_of(c.output().unwrap()).ok();

    // Committing in the worktree commits on its branch only.
    wt.bd(&["commit"]).ok();
    assert_eq!(a.head(), main_head);
    assert_eq!(
        a.git(&["rev-parse", "feature"]).trim(),
        wt.head(),
        "the worktree's branch moved"
    );
    assert!(wt.beads_status().is_empty(), "{:?}", wt.beads_status());
    assert!(a.beads_status().is_empty(), "{:?}", a.beads_status());
    let shown = wt.git(&["show", "--stat", "--format=", "HEAD"]);
    assert!(shown.contains(".beads/issues.jsonl"), "{shown}");
    wt.git(&["fsck", "--no-progress"]);
}

#[test]
fn where_warns_on_a_fork() {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.git(&["remote", "add", "origin", "git@github.com:Org/Repo.git"]);
    ws.bd(&["init", "--prefix", "bd"]).ok();
    let r = ws.bd(&["where"]).ok();
    assert!(!r.stderr.contains("fork"), "{}", r.stderr);
    ws.git(&["remote", "set-url", "origin", "git@github.com:Me/Repo.git"]);
    let r = ws.bd(&["--json", "where"]).ok();
    let v = r.json();
    assert_eq!(v["identity"], "github.com/org/repo");
    assert_eq!(v["identity_source"], "config");
    assert_eq!(v["origin"], "github.com/me/repo");
    assert!(
        r.stderr.contains("warning") && r.stderr.contains("fork"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("github.com/me/repo"), "{}", r.stderr);
    let r = ws.bd(&["where"]).ok();
    assert!(r.stderr.contains("fork"), "{}", r.stderr);
}

/// SPEC §1: "`bd where` and `bd doctor` warn when `origin` normalizes to
/// something else (a fork)."
#[test]
fn doctor_warns_on_a_fork() {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.git(&["remote", "add", "origin", "git@github.com:Org/Repo.git"]);
    ws.bd(&["init", "--prefix", "bd"]).ok();
    ws.git(&["remote", "set-url", "origin", "git@github.com:Me/Repo.git"]);
    let r = ws.bd(&["doctor"]);
    assert!(
        all_output(&r).contains("fork") || all_output(&r).contains("github.com/me/repo"),
        "bd doctor does not mention the fork\nstdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
}

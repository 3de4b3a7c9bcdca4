//! Which projects may join a home (item 2).

use super::*;

#[test]
fn item_02_a_foreign_project_in_config_does_not_join_the_home_until_trusted() {
    let env = TestEnvironment::empty();
    let t = env.root();
    git(t, &["init", "-q", "--bare", "-b", "main", "remote.git"]);
    // Project A: a clone of the remote, initialized, committed, pushed.
    let a = t.join("a");
    git(t, &["clone", "-q", "remote.git", "a"]);
    git(&a, &["config", "user.name", "A"]);
    git(&a, &["config", "user.email", "a@example.com"]);
    git(&a, &["checkout", "-q", "-b", "main"]);
    env.bd_in(&a, "alice", &["init", "--prefix", "aa"]).ok();
    let x = env
        .bd_in(&a, "alice", &["create", "X"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let y = env
        .bd_in(&a, "alice", &["create", "Y"])
        .ok()
        .stdout
        .trim()
        .to_string();
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-q", "-m", "init"]);
    git(&a, &["push", "-q", "-u", "origin", "main"]);
    env.bd_in(&a, "alice", &["agent", "register"]).ok();
    env.bd_in(&a, "bob", &["agent", "register"]).ok();
    let sent = env.json_in(
        &a,
        "alice",
        &["mail", "send", "--to", "bob", "-s", "plan", "-b", "secret"],
    );
    let msg = sent["message"]["id"]
        .as_str()
        .or(sent["id"].as_str())
        .unwrap()
        .to_string();
    assert_eq!(inbox_ids(&env, &a, "bob"), vec![msg.clone()]);
    let project = env.json_in(&a, "alice", &["where"])["identity"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(env.json_in(&a, "alice", &["where"])["proof"], "origin");

    // Repo M: unrelated, commits A's project in its config.toml and A's items.
    let m = t.join("m");
    new_repo(&m);
    std::fs::create_dir_all(m.join(".beads")).unwrap();
    std::fs::write(
        m.join(".beads/config.toml"),
        format!("prefix = \"aa\"\nproject = \"{project}\"\n"),
    )
    .unwrap();
    std::fs::copy(a.join(".beads/issues.jsonl"), m.join(".beads/issues.jsonl")).unwrap();
    std::fs::write(m.join("code.txt"), "m\n").unwrap();
    git(&m, &["add", "-A"]);
    git(&m, &["commit", "-q", "-m", "m"]);
    let r = env.bd_in(&m, "bob", &["mail", "inbox", "--all"]).ok();
    assert!(
        r.stderr.contains(&format!("names project '{project}'"))
            && r.stderr.contains("bd where --trust"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stdout.contains(&msg),
        "M reads A's live mail: {}",
        r.stdout
    );
    assert!(inbox_ids(&env, &m, "bob").is_empty());
    assert_eq!(env.json_in(&m, "mallory", &["where"])["proof"], "unproven");
    // Claims and hooks stay in M.
    env.bd_in(&m, "mallory", &["claim", &x]).ok();
    env.bd_in(&m, "mallory", &["sling", &y, "alice"]).ok();
    env.bd_in(
        &m,
        "mallory",
        &["mail", "send", "--to", "alice", "-s", "from bob", "-b", "x"],
    );
    // M's sync takes no lock in A's home (it would hold A's syncs up).
    let a_home = env
        .home
        .join("projects")
        .join(strand::files::escape(&project));
    assert!(a_home.is_dir());
    let _ = env.bd_in(&m, "mallory", &["sync"]);
    assert!(
        !a_home.join("sync.lock").exists(),
        "M's sync locked A's home"
    );
    env.bd_in(&a, "alice", &["claim", &x]).ok();
    let hook = env.json_in(&a, "alice", &["hook"]);
    assert!(
        !hook.to_string().contains(&y),
        "M put work on alice's hook: {hook}"
    );
    assert!(
        inbox_ids(&env, &a, "alice").is_empty(),
        "M sent mail into A's home"
    );
    env.bd_in(&a, "alice", &["unclaim", &x]).ok();
    // A's doctor lists the workspaces of its home: A only.
    let doc = env.bd_in(&a, "alice", &["doctor"]);
    assert!(
        doc.stdout
            .contains(a.canonicalize().unwrap().to_str().unwrap()),
        "{}",
        doc.stdout
    );
    assert!(
        !doc.stdout
            .contains(m.canonicalize().unwrap().to_str().unwrap()),
        "{}",
        doc.stdout
    );

    // The user confirms M on this machine: then it joins.
    let r = env.bd_in(&m, "bob", &["where", "--trust"]).ok();
    assert!(r.stderr.contains("Trusted:"), "{}", r.stderr);
    assert!(!r.stderr.contains("does not prove"), "{}", r.stderr);
    assert_eq!(env.json_in(&m, "bob", &["where"])["proof"], "trusted");
    assert_eq!(inbox_ids(&env, &m, "bob"), vec![msg.clone()]);
    let r = env.bd_in(&m, "bob", &["list"]).ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let doc = env.json_in(&a, "alice", &["doctor"]);
    let roots: Vec<&str> = doc["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["root"].as_str().unwrap())
        .collect();
    let mc = m.canonicalize().unwrap();
    assert!(roots.contains(&mc.to_str().unwrap()), "{doc}");
    assert_eq!(doc["trusted"].as_array().unwrap().len(), 1, "{doc}");
    let text = env.bd_in(&a, "alice", &["doctor"]).stdout;
    assert!(text.contains("Trusted repository:"), "{text}");
    // A worktree of the trusted clone shares its proof.
    git(
        &m,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "side",
            t.join("m-wt").to_str().unwrap(),
        ],
    );
    assert_eq!(
        env.json_in(&t.join("m-wt"), "bob", &["where"])["proof"],
        "trusted"
    );

    // Another repository later put at M's path does not inherit the trust.
    std::fs::remove_dir_all(&m).unwrap();
    new_repo(&m);
    std::fs::create_dir_all(m.join(".beads")).unwrap();
    std::fs::write(
        m.join(".beads/config.toml"),
        format!("project = \"{project}\"\n"),
    )
    .unwrap();
    std::fs::write(m.join("other.txt"), "other\n").unwrap();
    git(&m, &["add", "-A"]);
    git(&m, &["commit", "-q", "-m", "other root"]);
    assert_eq!(env.json_in(&m, "bob", &["where"])["proof"], "unproven");
    assert!(inbox_ids(&env, &m, "bob").is_empty());

    // A fork's clone (its origin is the fork) needs the confirmation too.
    git(t, &["clone", "-q", "--bare", "remote.git", "fork.git"]);
    git(t, &["clone", "-q", "fork.git", "f"]);
    let f = t.join("f");
    let r = env.bd_in(&f, "bob", &["mail", "inbox", "--all"]).ok();
    assert!(r.stderr.contains("does not prove"), "{}", r.stderr);
    assert!(!r.stdout.contains(&msg), "{}", r.stdout);
    env.bd_in(&f, "bob", &["where", "--trust"]).ok();
    assert_eq!(env.json_in(&f, "bob", &["where"])["proof"], "trusted");
    assert!(inbox_ids(&env, &f, "bob").contains(&msg));

    // A clone of A with a differently spelled origin URL joins by itself.
    let spelled = format!("file://{}/./remote.git/", t.display());
    git(t, &["clone", "-q", &spelled, "a2"]);
    let a2 = t.join("a2");
    let r = env.bd_in(&a2, "bob", &["mail", "inbox", "--all"]).ok();
    assert!(!r.stderr.contains("does not prove"), "{}", r.stderr);
    assert_eq!(env.json_in(&a2, "bob", &["where"])["proof"], "origin");
    assert_eq!(inbox_ids(&env, &a2, "bob"), vec![msg]);
}

/// Review break 1: settings a repository carries (`case_insensitive_hosts`
/// in its own config.toml) proved its claim to another project's identity.
#[test]
fn item_02_review_committed_case_insensitive_hosts_prove_nothing() {
    let env = TestEnvironment::empty();
    let t = env.root();
    let a = t.join("a");
    repo_with_origin(
        &env,
        &a,
        "https://git.example.com/Team/Proj.git",
        "aa",
        None,
    );
    let wa = env.json_in(&a, "alice", &["where"]);
    assert_eq!(wa["identity"], "git.example.com/Team/Proj", "{wa}");
    assert_eq!(wa["proof"], "origin", "{wa}");
    env.bd_in(&a, "alice", &["agent", "register"]).ok();
    env.bd_in(
        &a,
        "bob",
        &[
            "mail", "send", "--to", "alice", "-s", "plan", "-b", "secret",
        ],
    )
    .ok();
    assert_eq!(inbox_ids(&env, &a, "alice").len(), 1);

    // M: another repository on that (case-sensitive) host, whose committed
    // config claims A's identity and declares the host case-insensitive.
    let m = t.join("m");
    repo_with_origin(
        &env,
        &m,
        "https://git.example.com/team/proj.git",
        "aa",
        Some(
            "prefix = \"aa\"\nproject = \"git.example.com/Team/Proj\"\ncase_insensitive_hosts = [\"git.example.com\"]\n",
        ),
    );
    let wm = env.json_in(&m, "mallory", &["where"]);
    assert_eq!(wm["proof"], "unproven", "{wm}");
    assert!(inbox_ids(&env, &m, "alice").is_empty(), "M reads A's mail");
    let agents = env.bd_in(&m, "mallory", &["agents"]);
    assert!(!agents.stdout.contains("alice"), "{}", agents.stdout);

    // The built-in hosts still ignore case by themselves.
    let g = t.join("g");
    repo_with_origin(
        &env,
        &g,
        "https://github.com/team/proj.git",
        "gg",
        Some(
            "prefix = \"gg\"\nproject = \"github.com/Team/Proj\"\ncase_insensitive_hosts = [\"example.net\"]\n",
        ),
    );
    let wg = env.json_in(&g, "x", &["where"]);
    assert_eq!(wg["proof"], "origin", "{wg}");
    // The repository's own list still shapes its identity (SPEC §1).
    let n = t.join("n");
    repo_with_origin(
        &env,
        &n,
        "https://git.example.com/Some/Thing.git",
        "nn",
        Some("prefix = \"nn\"\ncase_insensitive_hosts = [\"git.example.com\"]\n"),
    );
    let wn = env.json_in(&n, "x", &["where"]);
    assert_eq!(wn["identity"], "git.example.com/some/thing", "{wn}");
    // ... but proves it no more than a configured project: that identity is
    // another repository's on a case-sensitive host.
    assert_eq!(wn["proof"], "unproven", "{wn}");
    let l = t.join("l");
    repo_with_origin(
        &env,
        &l,
        "https://git.example.com/some/thing.git",
        "ll",
        Some("prefix = \"ll\"\n"),
    );
    let wl = env.json_in(&l, "lee", &["where"]);
    assert_eq!(wl["identity"], "git.example.com/some/thing", "{wl}");
    assert_eq!(wl["proof"], "derived", "{wl}");
    env.bd_in(&l, "lee", &["agent", "register"]).ok();
    let r = env.bd_in(&n, "x", &["agents"]);
    assert!(!r.stdout.contains("lee"), "{}", r.stdout);
    assert!(
        r.stderr.contains("lower-cased by case_insensitive_hosts")
            && r.stderr.contains("bd where --trust"),
        "{}",
        r.stderr
    );
    // Confirmed on this machine, N joins.
    env.bd_in(&n, "x", &["where", "--trust"]).ok();
    assert_eq!(env.json_in(&n, "x", &["where"])["proof"], "trusted");
}

/// Review break 2: an unproven workspace sent mail to another project as the
/// project it claims (the other side imported it and linked back into that
/// project's home).
#[test]
fn item_02_review_an_unproven_workspace_sends_no_mail_to_other_projects() {
    let env = TestEnvironment::empty();
    let t = env.root();
    let a = t.join("a");
    repo_with_origin(&env, &a, "https://git.example.com/Team/A.git", "aa", None);
    let b = t.join("b");
    repo_with_origin(&env, &b, "https://git.example.com/Other/B.git", "bb", None);
    env.bd_in(&a, "alice", &["list"]).ok();
    env.bd_in(&b, "ann", &["list"]).ok();
    let a_home = env
        .home
        .join("projects")
        .join(strand::files::escape("git.example.com/Team/A"));
    let b_home = env
        .home
        .join("projects")
        .join(strand::files::escape("git.example.com/Other/B"));
    assert!(a_home.is_dir() && b_home.is_dir());

    let m = t.join("m");
    repo_with_origin(
        &env,
        &m,
        "https://evil.example.org/mallory/x.git",
        "aa",
        Some("prefix = \"aa\"\nproject = \"git.example.com/Team/A\"\n"),
    );
    let before = std::fs::read(m.join(".beads/mail.jsonl")).ok();
    for to in [
        "project:git.example.com/Other/B",
        "@B",
        "ann@git.example.com/Other/B",
    ] {
        let r = env.bd_in(
            &m,
            "dave",
            &["mail", "send", "--to", to, "-s", "planted", "-b", "x"],
        );
        assert_ne!(r.code, 0, "{to}: {}", r.stderr);
        assert!(
            r.stderr.contains("bd where --trust") && r.stderr.contains("other projects"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(std::fs::read(m.join(".beads/mail.jsonl")).ok(), before);
    let spooled: Vec<_> = common::files_under(&b_home.join("spool"));
    assert!(spooled.is_empty(), "M spooled into B: {spooled:?}");
    let r = env.bd_in(&b, "ann", &["list", "--json"]).ok();
    assert_eq!(r.json(), serde_json::json!([]), "{}", r.stderr);
    assert!(common::files_under(&a_home.join("links")).is_empty());
    // Mail within M (the workspace itself) still works.
    env.bd_in(
        &m,
        "dave",
        &["mail", "send", "--to", "dave", "-s", "note", "-b", "x"],
    )
    .ok();
    // Nor does a comment on an item handed off from B flow back into B's home.
    let h = env
        .bd_in(&m, "dave", &["create", "handed"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let path = m.join(".beads/issues.jsonl");
    let text: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["id"] == h.as_str() {
                v["metadata"] = serde_json::json!({"handoff": {
                    "project": "git.example.com/Other/B",
                    "message": "msg-0000000000aa", "from": "ann"}});
            }
            format!("{v}\n")
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    let r = env.bd_in(&m, "dave", &["comment", &h, "fixed it"]).ok();
    assert!(r.stderr.contains("not told"), "{}", r.stderr);
    assert!(common::files_under(&b_home.join("links")).is_empty());
    assert!(common::files_under(&b_home.join("spool")).is_empty());
    // Once the user confirms M here, it sends as A.
    env.bd_in(&m, "dave", &["where", "--trust"]).ok();
    env.bd_in(
        &m,
        "dave",
        &["mail", "send", "--to", "@B", "-s", "real", "-b", "x"],
    )
    .ok();
    let r = env.bd_in(&b, "ann", &["list", "--json"]).ok();
    assert_eq!(r.json().as_array().map(Vec::len), Some(1), "{}", r.stderr);
}

/// Review (related to break 2): any command in a clone re-posted the
/// repository's pending deliveries, whoever sent them. Only the sender's own
/// next command re-posts (DESIGN: "re-posted by the sender's next command").
#[test]
fn item_02_review_only_the_sender_re_posts_a_pending_delivery() {
    let env = TestEnvironment::empty();
    let t = env.root();
    let b = t.join("b");
    repo_with_origin(&env, &b, "https://git.example.com/Other/B.git", "bb", None);
    env.bd_in(&b, "ann", &["list"]).ok();
    let b_home = env
        .home
        .join("projects")
        .join(strand::files::escape("git.example.com/Other/B"));
    // A: a bare remote and a clone; mallory's message to B is committed
    // while its spool copy is gone (sent on another machine, say).
    git(t, &["init", "-q", "--bare", "-b", "main", "a.git"]);
    git(t, &["clone", "-q", "a.git", "a1"]);
    let a1 = t.join("a1");
    git(&a1, &["config", "user.name", "A"]);
    git(&a1, &["config", "user.email", "a@example.com"]);
    git(&a1, &["checkout", "-q", "-b", "main"]);
    env.bd_in(&a1, "x", &["init", "--prefix", "aa"]).ok();
    let sent = env.json_in(
        &a1,
        "mallory",
        &["mail", "send", "--to", "@B", "-s", "planted", "-b", "x"],
    );
    let msg = sent["id"].as_str().unwrap().to_string();
    std::fs::remove_dir_all(b_home.join("spool")).unwrap();
    git(&a1, &["add", "-A"]);
    git(&a1, &["commit", "-q", "-m", "init"]);
    git(&a1, &["push", "-q", "-u", "origin", "main"]);
    git(t, &["clone", "-q", "a.git", "a2"]);
    let a2 = t.join("a2");
    // Someone else's commands (named actor or not) re-post nothing.
    let r = env.bd_in(&a2, "carol", &["list"]).ok();
    assert!(!r.stderr.contains("re-posted"), "{}", r.stderr);
    let r = run_of(env.cmd_anonymous(&a2, &["list"]).output().unwrap()).ok();
    assert!(!r.stderr.contains("re-posted"), "{}", r.stderr);
    assert!(common::files_under(&b_home.join("spool")).is_empty());
    let r = env.bd_in(&b, "ann", &["list", "--json"]).ok();
    assert_eq!(r.json(), serde_json::json!([]), "{}", r.stderr);
    // The sender's next command re-posts it; B imports it.
    let r = env.bd_in(&a2, "mallory", &["list"]).ok();
    assert!(
        r.stderr.contains(&format!("re-posted {msg}")),
        "{}",
        r.stderr
    );
    let r = env.bd_in(&b, "ann", &["list", "--json"]).ok();
    assert_eq!(r.json().as_array().map(Vec::len), Some(1), "{}", r.stderr);
}

/// Second review: the identity of a remote-less repository was cached in
/// `.beads/.cache/identity` and believed as is, so a repository carrying
/// another's cache (copied, or committed and cloned) joined that project's
/// home. The cache now lives in git's own folder, out of the repository's
/// reach; `doctor` flags tracked local files and `--fix` untracks them.
#[test]
fn item_02_review2_a_planted_identity_cache_joins_no_home() {
    let env = TestEnvironment::empty();
    let t = env.root();
    let x = t.join("x");
    new_repo(&x);
    std::fs::write(x.join("a.txt"), "x\n").unwrap();
    git(&x, &["add", "-A"]);
    git(&x, &["commit", "-q", "-m", "x"]);
    env.bd_in(&x, "victim", &["init", "--prefix", "xx"]).ok();
    env.bd_in(&x, "victim", &["agent", "register"]).ok();
    let x_id = env.json_in(&x, "victim", &["where"])["identity"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(x_id.starts_with("local/"), "{x_id}");
    // y: another repository, its own root commit, x's identity planted in
    // every place a cache could be, and committed.
    let y = t.join("y");
    new_repo(&y);
    std::fs::write(y.join("b.txt"), "y\n").unwrap();
    git(&y, &["add", "-A"]);
    git(&y, &["commit", "-q", "-m", "y"]);
    env.bd_in(&y, "mallory", &["init", "--prefix", "yy"]).ok();
    let _ = std::fs::create_dir_all(y.join(".beads/.cache"));
    // Sealed as bd seals its caches, so only where it is read decides.
    let body = x_id.as_bytes();
    let sealed = format!("strand-cache {:020}\n{x_id}", body.len() + 34);
    std::fs::write(y.join(".beads/.cache/identity"), sealed).unwrap();
    git(&y, &["add", "-f", ".beads"]);
    git(&y, &["commit", "-q", "-m", "plant"]);
    let z = t.join("z");
    git(t, &["clone", "-q", y.to_str().unwrap(), "z"]);
    git(&z, &["remote", "remove", "origin"]);
    for (dir, who) in [(&y, "y"), (&z, "z")] {
        let w = env.json_in(dir, "mallory", &["where"]);
        assert_ne!(w["identity"], x_id.as_str(), "{who}: {w}");
        let r = env.bd_in(dir, "mallory", &["--json", "agents"]);
        assert!(
            !r.stdout.contains("victim"),
            "{who} sees x's agents: {}",
            r.stdout
        );
    }
    // doctor in z names the tracked cache; --fix untracks it, files stay.
    let r = env.bd_in(&z, "mallory", &["doctor"]);
    assert!(
        r.stdout.contains(".beads/.cache/identity") && r.stdout.contains("tracked"),
        "{}",
        r.stdout
    );
    env.bd_in(&z, "mallory", &["doctor", "--fix"]);
    let tracked = git(&z, &["ls-files", ".beads"]);
    assert!(!tracked.contains(".cache/"), "{tracked}");
}

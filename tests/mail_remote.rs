//! Handoffs across machines (issue 14): project A hands a bug to project B
//! when the two share no machine, through B's git remote
//! (`refs/beads/spool/<msg id>`), and B's reports come back through A's
//! (`refs/beads/spool/links/…`). Real `bd`, two bare remotes, each project
//! on a machine of its own (its own BD_HOME); each knows the other's remote
//! only through `bd config set --machine projects.<name>.remote URL`.

mod common;

use std::path::{Path, PathBuf};

use common::{Run, TestEnvironment, Workspace, git_bd, git_with_bd};
use serde_json::{Value, json};

const ALPHA: &str = "example.com/org/alpha";
const BETA: &str = "example.com/org/beta";

/// Two projects, each with a bare remote and a clone on its own machine:
/// alpha (`al`, dave) and beta (`be`, ann). Alpha names beta `beta` in its
/// committed `[projects]`; neither machine knows the other's remote yet.
struct World {
    env: TestEnvironment,
    a: Workspace,
    b: Workspace,
    a_remote: PathBuf,
    b_remote: PathBuf,
}

#[track_caller]
fn ok(r: Run) -> Run {
    assert_eq!(r.code, 0, "bd failed\n{}", r.transcript());
    r
}

impl World {
    fn new() -> World {
        let env = TestEnvironment::empty();
        let a_remote = bare(&env, "alpha.git");
        let b_remote = bare(&env, "beta.git");
        let a = project(&env, "alpha", "al", "dave", &a_remote, ALPHA);
        let b = project(&env, "beta", "be", "ann", &b_remote, BETA);
        ok(a.bd(&["config", "set", "projects.beta", BETA]));
        a.git(&["commit", "-q", "-am", "beta"]);
        a.git(&["push", "-q"]);
        World {
            env,
            a,
            b,
            a_remote,
            b_remote,
        }
    }

    /// Each machine learns the other's remote.
    fn connect(&self) {
        let r = ok(self.a.bd(&[
            "config",
            "set",
            "--machine",
            "projects.beta.remote",
            self.b_remote.to_str().unwrap(),
        ]));
        assert!(
            r.stderr.contains("Set projects.beta.remote"),
            "{}",
            r.stderr
        );
        let key = format!("projects.{ALPHA}.remote");
        ok(self.b.bd(&[
            "config",
            "set",
            "--machine",
            &key,
            self.a_remote.to_str().unwrap(),
        ]));
    }

    fn send_repro(&self, extra: &[&str]) -> Value {
        let repro: Vec<u8> = (0..=255u8).chain([0, 0xff, b'\n']).collect();
        let file = self.env.root().join("repro.bin");
        std::fs::write(&file, &repro).unwrap();
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[
            "mail",
            "send",
            "--to",
            "@beta",
            "-s",
            "Parser crashes on an empty file",
            "-b",
            "Run `be import repro.bin`; it panics.",
            "--attach",
            file.to_str().unwrap(),
        ]);
        ok(self.a.bd(&args)).json()
    }

    /// The spool refs a bare remote holds: (name, tip).
    fn spool(remote: &Path) -> Vec<(String, String)> {
        git_bd(
            remote,
            &[
                "for-each-ref",
                "--format=%(refname) %(objectname)",
                "refs/beads/spool/",
            ],
        )
        .lines()
        .filter_map(|l| {
            let (n, t) = l.split_once(' ')?;
            Some((n.to_string(), t.to_string()))
        })
        .collect()
    }

    fn sent(&self) -> Value {
        self.a.json(&["mail", "sent"])
    }
}

fn bare(env: &TestEnvironment, name: &str) -> PathBuf {
    let p = env.root().join(name);
    std::fs::create_dir_all(&p).unwrap();
    git_bd(&p, &["init", "-q", "--bare", "-b", "main"]);
    p
}

/// A project `name` (its clone `<name>1`, on machine `home-<name>`) with
/// `bd init` and its identity set and pushed.
fn project(
    env: &TestEnvironment,
    name: &str,
    prefix: &str,
    actor: &str,
    remote: &Path,
    identity: &str,
) -> Workspace {
    let ws = env.init_at(
        &env.root().join(format!("{name}1")),
        &env.machine_home(name),
        actor,
    );
    ws.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    ok(ws.bd(&["init", "--prefix", prefix]));
    ok(ws.bd(&["config", "set", "project", identity]));
    ws.git(&["add", "-A"]);
    ws.git(&["commit", "-q", "-m", "init"]);
    ws.git(&["push", "-q", "-u", "origin", "main"]);
    ok(ws.bd(&["where"]));
    ws
}

/// A pre-receive hook in `remote` refusing every ref under refs/beads/.
fn refuse_beads_refs(remote: &Path) -> PathBuf {
    let hook = remote.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\nwhile read old new ref; do\n  case \"$ref\" in refs/beads/*) echo \"refs/beads/ is closed here\" >&2; exit 1;; esac\ndone\nexit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    hook
}

fn handoff_items(ws: &Workspace) -> Vec<Value> {
    ws.records()
        .into_iter()
        .filter(|r| {
            r["labels"]
                .as_array()
                .is_some_and(|l| l.contains(&json!("handoff")))
        })
        .collect()
}

#[test]
fn a_handoff_crosses_machines_with_its_repro_and_the_fix_comes_back() {
    let w = World::new();
    w.connect();
    let vc = ok(w.a.bd(&["create", "Ship the importer"]))
        .stdout
        .trim()
        .to_string();

    // A sends: the message is pushed to B's remote at once.
    let sent = w.send_repro(&[]);
    let msg = sent["id"].as_str().unwrap().to_string();
    assert_eq!(sent["to"], json!([format!("@{BETA}")]));
    assert_eq!(sent["delivery"][BETA]["status"], "pending");
    assert_eq!(sent["pending"], json!([]), "{sent}");
    assert_eq!(sent["remote"], json!([{"project": BETA, "pushed": true}]));
    let on_b = World::spool(&w.b_remote);
    assert_eq!(
        on_b.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        [format!("refs/beads/spool/{msg}")]
    );
    let (spool_ref, spool_tip) = on_b[0].clone();
    // A fixed identity, no path, no host: what the claim commits carry.
    let author = git_bd(
        &w.b_remote,
        &["log", "-1", "--format=%an <%ae>|%cn <%ce>", &spool_ref],
    );
    assert_eq!(
        author.trim(),
        "bd <bd@claims.invalid>|bd <bd@claims.invalid>"
    );
    let pending = &w.sent()[0]["delivery"][BETA];
    assert_eq!(pending["status"], "pending");
    assert!(
        pending["reason"].as_str().unwrap().contains("waits for"),
        "{pending}"
    );
    // A's machine made no home for B; nothing is in a local spool.
    assert!(
        !w.a.home
            .join("projects")
            .join(strand::files::escape(BETA))
            .exists()
    );

    // Sent again (A's record of the push lost: dave's next command re-posts
    // it, A's sync pushes it): the same commit, the ref does not move.
    let relay =
        w.a.home
            .join("projects")
            .join(strand::files::escape(ALPHA))
            .join("relay/messages");
    std::fs::remove_dir_all(relay).unwrap();
    let r = ok(w.a.bd(&["list"]));
    assert!(
        r.stderr.contains(&format!("re-posted {msg}")),
        "{}",
        r.stderr
    );
    let r = ok(w.a.bd(&["sync"]));
    assert!(r.stderr.contains("Pushed 1 message(s)"), "{}", r.stderr);
    assert_eq!(
        World::spool(&w.b_remote),
        [(spool_ref.clone(), spool_tip.clone())]
    );
    let objects = w.a.git(&[
        "cat-file",
        "--batch-all-objects",
        "--batch-check=%(objecttype) %(objectname)",
    ]);
    let spool_commits = objects
        .lines()
        .filter_map(|l| l.strip_prefix("commit "))
        .filter(|c| {
            w.a.git(&["show", "-s", "--format=%s", c])
                .starts_with("bd: spool")
        })
        .count();
    assert_eq!(spool_commits, 1, "the second push made the same commit");

    // B's sync imports it: the item, the repro byte for byte; the import is
    // committed and pushed, and only then the ref leaves B's remote.
    let r = ok(w.b.bd(&["sync"]));
    assert!(r.stderr.contains("Imported 1"), "{}", r.stderr);
    let items = handoff_items(&w.b);
    assert_eq!(items.len(), 1, "{items:?}");
    let item = items[0]["id"].as_str().unwrap().to_string();
    assert_eq!(item, strand::ops::mail::handoff_id("be", &msg));
    assert_eq!(items[0]["metadata"]["handoff"]["project"], ALPHA);
    let b_msg =
        w.b.json(&["mail", "inbox", "--all"])
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == msg.as_str())
            .cloned()
            .expect("the message is in B's mail");
    assert_eq!(b_msg["from"], format!("dave@{ALPHA}").as_str());
    let sha = b_msg["attachments"][0]["sha256"].as_str().unwrap();
    assert_eq!(
        std::fs::read(w.b.dir.join(".beads/attachments").join(sha)).unwrap(),
        std::fs::read(w.env.root().join("repro.bin")).unwrap()
    );
    let pushed = git_bd(&w.b_remote, &["show", "main:.beads/issues.jsonl"]);
    assert!(pushed.contains(&item), "the import reached B's remote");
    assert!(
        World::spool(&w.b_remote).is_empty(),
        "the ref left B's remote"
    );

    // Delivered twice (the same ref pushed again after the import, and A
    // re-sending the same message): still one item, one first comment.
    git_bd(&w.b_remote, &["update-ref", &spool_ref, &spool_tip]);
    ok(w.b.bd(&["sync"]));
    ok(w.b.bd(&["sync"]));
    assert!(World::spool(&w.b_remote).is_empty());
    let items = handoff_items(&w.b);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["comments"].as_array().unwrap().len(), 1);

    // A learns B's item at its next sync (B pushed the report to A's remote).
    assert_eq!(
        World::spool(&w.a_remote).len(),
        1,
        "B's report waits on A's remote"
    );
    ok(w.a.bd(&["sync"]));
    assert!(World::spool(&w.a_remote).is_empty(), "A took the report in");
    let d = &w.sent()[0]["delivery"][BETA];
    assert_eq!(d["status"], "delivered", "{d}");
    assert_eq!(d["issue"], item.as_str());
    assert_eq!(d["issue_status"], "open");

    // B answers and fixes it; both sync; A has the reply and the status.
    let reply =
        ok(w.b.bd(&["--json", "mail", "reply", &msg, "-b", "Fixed in be 1.2"])).json();
    assert_eq!(reply["to"], json!([format!("dave@{ALPHA}")]));
    assert_eq!(reply["remote"], json!([{"project": ALPHA, "pushed": true}]));
    ok(w.b.bd(&["close", &item, "--reason", "fixed"]));
    ok(w.b.bd(&["sync"]));
    ok(w.a.bd(&["sync"]));
    let inbox = w.a.json(&["mail", "inbox"]);
    let got = inbox
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reply["id"])
        .unwrap_or_else(|| panic!("A's inbox lacks the reply: {inbox}"));
    assert_eq!(got["from"], format!("ann@{BETA}").as_str());
    assert_eq!(got["thread"], msg.as_str());
    assert!(got["body"].as_str().unwrap().contains("Fixed in be 1.2"));
    let d = &w.sent()[0]["delivery"][BETA];
    assert_eq!(d["issue_status"], "closed", "{d}");
    let shown = w.a.json(&["show", &vc]);
    assert!(shown.is_object(), "{shown}");
    // The reply is committed in A, and A's remote holds nothing any more.
    let a_mail = git_bd(&w.a_remote, &["show", "main:.beads/mail.jsonl"]);
    assert!(a_mail.contains(reply["id"].as_str().unwrap()));
    assert!(World::spool(&w.a_remote).is_empty());
    // B learns that A took its reply in.
    ok(w.b.bd(&["sync"]));
    let b_sent = w.b.json(&["mail", "sent"]);
    let r = b_sent
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reply["id"])
        .unwrap();
    assert_eq!(r["delivery"][ALPHA]["status"], "delivered", "{b_sent}");
}

#[test]
fn a_remote_refusing_the_push_leaves_the_message_pending_until_a_sync_after_the_fix() {
    let w = World::new();
    w.connect();
    let hook = refuse_beads_refs(&w.b_remote);
    let sent = w.send_repro(&[]);
    assert_eq!(sent["pending"], json!([BETA]), "{sent}");
    let why = sent["remote"][0]["reason"].as_str().unwrap();
    assert_eq!(sent["remote"][0]["pushed"], false);
    assert!(
        why.contains("refused") && why.contains("hook declined"),
        "{why}"
    );
    let d = &w.sent()[0]["delivery"][BETA];
    assert_eq!(d["status"], "pending");
    assert!(
        d["reason"].as_str().unwrap().contains("hook declined"),
        "{d}"
    );
    // A sync with the hook still there: still pending, said so.
    let r = ok(w.a.bd(&["sync"]));
    assert!(r.stderr.contains("still pending"), "{}", r.stderr);
    assert!(World::spool(&w.b_remote).is_empty());
    // The host is fixed; A's next sync delivers it; B's imports it.
    std::fs::remove_file(hook).unwrap();
    let r = ok(w.a.bd(&["sync"]));
    assert!(r.stderr.contains("Pushed 1 message(s)"), "{}", r.stderr);
    assert_eq!(World::spool(&w.b_remote).len(), 1);
    let d = &w.sent()[0]["delivery"][BETA];
    assert!(
        d["reason"].as_str().unwrap().contains("on its remote"),
        "{d}"
    );
    ok(w.b.bd(&["sync"]));
    assert_eq!(handoff_items(&w.b).len(), 1);
}

#[test]
fn an_offline_send_is_pending_and_goes_with_the_next_sync() {
    let w = World::new();
    w.connect();
    let sent = w.send_repro(&["--offline"]);
    assert_eq!(sent["pending"], json!([BETA]), "{sent}");
    assert!(
        sent["remote"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("--offline"),
        "{sent}"
    );
    assert!(World::spool(&w.b_remote).is_empty(), "nothing went offline");
    ok(w.a.bd(&["sync"]));
    assert_eq!(World::spool(&w.b_remote).len(), 1);
    ok(w.b.bd(&["sync"]));
    assert_eq!(handoff_items(&w.b).len(), 1);
    // A's next syncs push nothing again (and take B's report in).
    ok(w.a.bd(&["sync"]));
    let r = ok(w.a.bd(&["sync"]));
    assert!(!r.stderr.contains("to other projects"), "{}", r.stderr);
    assert_eq!(w.sent()[0]["delivery"][BETA]["status"], "delivered");
}

#[test]
fn a_remote_url_in_the_committed_config_is_never_used() {
    let w = World::new();
    // The committed config names beta's remote (by its identity, as the
    // machine setting would); this machine's config does not.
    let cfg = w.a.dir.join(".beads/config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        "\n[projects.\"{BETA}\"]\nremote = \"{}\"\n",
        w.b_remote.display()
    ));
    std::fs::write(&cfg, text).unwrap();
    let r = w.a.bd(&[
        "config",
        "set",
        "projects.beta.remote",
        w.b_remote.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(r.stderr.contains("--machine"), "{}", r.stderr);
    let to = format!("project:{BETA}");
    let r =
        ok(w.a.bd(&["--json", "mail", "send", "--to", &to, "-s", "Crash"]));
    let warning = format!("config.toml: projects.{BETA}.remote is ignored");
    assert!(r.stderr.contains(&warning), "{}", r.stderr);
    let sent = r.json();
    assert_eq!(sent["pending"], json!([BETA]), "{sent}");
    assert!(sent.get("remote").is_none(), "{sent}");
    ok(w.a.bd(&["sync", "--all"]));
    assert!(
        World::spool(&w.b_remote).is_empty(),
        "nothing reached B's remote"
    );
    assert_eq!(w.sent()[0]["delivery"][BETA]["status"], "pending");
}

#[test]
fn nothing_pushed_names_a_path_or_host_of_the_sender() {
    let w = World::new();
    w.connect();
    w.send_repro(&[]);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let objects = |remote: &Path| -> String {
        let r = git_with_bd(
            remote,
            &["cat-file", "--batch-all-objects", "--batch", "--unordered"],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    let secrets = |ws: &Workspace, remote: &Path| {
        let mut s = vec![
            ws.dir.display().to_string(),
            ws.home.display().to_string(),
            remote.display().to_string(),
        ];
        if host.len() >= 4 {
            s.push(host.clone());
        }
        s
    };
    let on_b = objects(&w.b_remote);
    for s in secrets(&w.a, &w.a_remote) {
        assert!(!on_b.contains(&s), "B's remote holds {s:?}");
    }
    // And back: B's report and reply on A's remote name nothing of B's.
    ok(w.b.bd(&["sync"]));
    let msg = w.sent()[0]["id"].as_str().unwrap().to_string();
    ok(w.b.bd(&["mail", "reply", &msg, "-b", "looking"]));
    let on_a = objects(&w.a_remote);
    assert!(!World::spool(&w.a_remote).is_empty());
    for s in secrets(&w.b, &w.b_remote) {
        assert!(!on_a.contains(&s), "A's remote holds {s:?}");
    }
}

#[test]
fn machine_settings_are_listed_read_and_removed_only_here() {
    let w = World::new();
    w.connect();
    let mut l = w.a.json(&["config", "list", "--machine"]);
    l.as_object_mut().unwrap().remove("schema_version");
    assert_eq!(
        l,
        json!({"projects.beta.remote": w.b_remote.to_str().unwrap()})
    );
    let g =
        w.a.json(&["config", "get", "--machine", "projects.beta.remote"]);
    assert_eq!(g["value"], w.b_remote.to_str().unwrap());
    // Not in config.toml, not in git.
    let cfg = std::fs::read_to_string(w.a.dir.join(".beads/config.toml")).unwrap();
    assert!(!cfg.contains("beta.git"), "{cfg}");
    let r = w.a.bd(&["config", "set", "--machine", "lease", "1h"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    let r = w.a.bd(&[
        "config",
        "set",
        "--machine",
        "projects.beta.remote",
        "https://u:secret@example.com/b.git",
    ]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(r.stderr.contains("password"), "{}", r.stderr);
    ok(w.a.bd(&["config", "unset", "--machine", "projects.beta.remote"]));
    let mut l = w.a.json(&["config", "list", "--machine"]);
    l.as_object_mut().unwrap().remove("schema_version");
    assert_eq!(l, json!({}));
    // Without it, mail to beta waits here again.
    let sent = w.send_repro(&[]);
    assert_eq!(sent["pending"], json!([BETA]));
    assert!(sent.get("remote").is_none());
}

#[test]
fn inbox_fetch_takes_in_mail_without_a_sync() {
    let w = World::new();
    w.connect();
    let sent = w.send_repro(&[]);
    let inbox = w.b.json(&["mail", "inbox", "--fetch"]);
    assert!(
        inbox
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == sent["id"]),
        "{inbox}"
    );
    assert_eq!(handoff_items(&w.b).len(), 1);
    // Not deleted from the remote until a sync pushed the import.
    assert_eq!(World::spool(&w.b_remote).len(), 1);
    ok(w.b.bd(&["sync"]));
    assert!(World::spool(&w.b_remote).is_empty());
    assert_eq!(handoff_items(&w.b).len(), 1);
}

#[test]
fn a_message_whose_attachment_does_not_match_its_hash_is_set_aside_and_reported() {
    let w = World::new();
    w.connect();
    let sent = w.send_repro(&[]);
    let msg = sent["id"].as_str().unwrap().to_string();
    let sha = sent["attachments"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    // Someone with push access swaps the repro's bytes on B's remote.
    let r = &w.b_remote;
    let spool_ref = format!("refs/beads/spool/{msg}");
    let tip = git_bd(r, &["rev-parse", &spool_ref]).trim().to_string();
    let message = git_bd(r, &["rev-parse", &format!("{tip}:message.json")]);
    let evil = {
        let p = w.env.root().join("evil.bin");
        std::fs::write(&p, "not the repro").unwrap();
        git_bd(r, &["hash-object", "-w", p.to_str().unwrap()])
    };
    let mktree = |entries: String| -> String {
        let mut c = std::process::Command::new("git");
        c.args(["mktree"])
            .current_dir(r)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(entries.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let atts = mktree(format!("100644 blob {}\t{sha}\n", evil.trim()));
    let root = mktree(format!(
        "100644 blob {}\tmessage.json\n040000 tree {atts}\tattachments\n",
        message.trim()
    ));
    let forged = git_bd(
        r,
        &[
            "-c",
            "user.name=x",
            "-c",
            "user.email=x@x",
            "commit-tree",
            &root,
            "-m",
            "forged",
        ],
    );
    git_bd(r, &["update-ref", &spool_ref, forged.trim()]);

    let out = ok(w.b.bd(&["sync"]));
    assert!(
        out.stderr.contains("malformed") && out.stderr.contains("does not match its SHA-256"),
        "{}",
        out.stderr
    );
    assert!(handoff_items(&w.b).is_empty(), "nothing was imported");
    assert!(
        World::spool(&w.b_remote).is_empty(),
        "the ref left B's remote"
    );
    let aside =
        w.b.home
            .join("projects")
            .join(strand::files::escape(BETA))
            .join(format!("spool/{msg}.rejected"));
    assert!(aside.exists(), "kept for a human");
    // A learns why at its next sync, and stops waiting.
    let r = ok(w.a.bd(&["sync"]));
    assert!(r.stderr.contains(&format!("refused {msg}")), "{}", r.stderr);
    let d = &w.sent()[0]["delivery"][BETA];
    assert_eq!(d["status"], "rejected", "{d}");
    assert!(d["reason"].as_str().unwrap().contains("SHA-256"), "{d}");
}

#[test]
fn the_ref_stays_on_the_remote_until_a_sync_pushed_its_import() {
    let w = World::new();
    w.connect();
    w.send_repro(&[]);
    // B's remote takes no branch push for now: B's sync imports, commits,
    // and fails at its push; the message must stay on the remote.
    let hook = w.b_remote.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\nwhile read old new ref; do\n  case \"$ref\" in refs/heads/*) echo \"branches are frozen\" >&2; exit 1;; esac\ndone\nexit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = w.b.bd(&["sync"]);
    assert_ne!(r.code, 0, "{}", r.transcript());
    assert_eq!(handoff_items(&w.b).len(), 1, "imported and committed here");
    assert_eq!(World::spool(&w.b_remote).len(), 1, "not removed unpushed");
    std::fs::remove_file(hook).unwrap();
    ok(w.b.bd(&["sync"]));
    assert!(World::spool(&w.b_remote).is_empty());
    assert_eq!(handoff_items(&w.b).len(), 1);
    let pushed = git_bd(&w.b_remote, &["show", "main:.beads/issues.jsonl"]);
    assert!(pushed.contains(handoff_items(&w.b)[0]["id"].as_str().unwrap()));
}

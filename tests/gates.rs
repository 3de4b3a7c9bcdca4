//! Gates (issue 16), end to end with the real `bd`: human, timer, command
//! and bead gates hold their items out of `bd ready` until resolved; a
//! command gate runs only once this machine trusts its exact program, runs in
//! the workspace root, records a failed or timed-out run on the gate and
//! leaves nothing running; gates travel through sync; two workspaces of one
//! machine checking one gate at once run it once; a dry run runs and writes
//! nothing.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Machine, Network, TestEnvironment, run_of};
use serde_json::Value;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

fn ids_of(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

/// What `bd ready` offers (every item, no limit).
#[track_caller]
fn ready(env: &TestEnvironment) -> BTreeSet<String> {
    ids_of(&env.json(&["ready", "-n", "0"]))
}

/// `bd ready` at the fixed time `when`.
#[track_caller]
fn ready_at(env: &TestEnvironment, when: &str) -> BTreeSet<String> {
    ids_of(&env.bd_at(when, &["--json", "ready", "-n", "0"]).ok().json())
}

/// `bd gate create --blocks X ARGS`, asserting success; the gate's id.
#[track_caller]
fn gate(env: &TestEnvironment, blocks: &str, args: &[&str]) -> String {
    let mut a = vec!["--json", "gate", "create", "--blocks", blocks];
    a.extend_from_slice(args);
    let v = env.bd(&a).ok().json();
    assert_eq!(v["issue_type"], "gate", "{v}");
    v["id"].as_str().unwrap().to_string()
}

fn status(env: &TestEnvironment, id: &str) -> String {
    env.json(&["show", id])["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The one entry of a `gate check --json` report for `id`.
#[track_caller]
fn entry<'a>(report: &'a Value, id: &str) -> &'a Value {
    let all: Vec<&Value> = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["id"] == id)
        .collect();
    assert_eq!(all.len(), 1, "one entry for {id}: {report}");
    all[0]
}

/// Pids of live processes whose environment holds `BD_GATE=<gate>` (the
/// variable a gate's command runs with).
fn processes_of_gate(gate: &str) -> Vec<u32> {
    let needle = format!("BD_GATE={gate}");
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if env.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            // A zombie is gone already; only count the living.
            let st = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let state = st
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next());
            if state != Some("Z") {
                out.push(pid);
            }
        }
    }
    out
}

/// The text of a file, or "" when it is missing.
fn text_of(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// 6. Human gates
// ---------------------------------------------------------------------------

/// A human gate keeps X out of ready; `gate check` leaves it to a person;
/// `gate resolve` frees X.
#[test]
fn human_gate_blocks_until_resolved() {
    let env = TestEnvironment::new();
    let x = env.create("waits for a person", &[]);
    let other = env.create("free work", &[]);
    assert!(ready(&env).contains(&x));
    let g = gate(&env, &x, &["--type", "human", "--reason", "sign-off"]);

    let r = ready(&env);
    assert!(!r.contains(&x), "X behind an open gate is offered: {r:?}");
    assert!(!r.contains(&g), "a gate is offered as work: {r:?}");
    assert!(r.contains(&other));
    let show = env.json(&["show", &x]);
    assert_eq!(show["blocked_by"], serde_json::json!([g.as_str()]));

    let v = env.json(&["gate", "show", &g]);
    assert_eq!(v["await_type"], "human");
    assert_eq!(v["status"], "open");
    assert_eq!(v["blocks"], serde_json::json!([x.as_str()]));

    // A check does not resolve a human gate.
    let c = env.json(&["gate", "check"]);
    assert_eq!(entry(&c, &g)["outcome"], "skipped");
    assert_eq!(c["resolved"], 0);
    assert_eq!(status(&env, &g), "open");
    assert!(!ready(&env).contains(&x));

    env.bd(&["gate", "resolve", &g, "--reason", "approved"])
        .ok();
    assert_eq!(status(&env, &g), "closed");
    let r = ready(&env);
    assert!(
        r.contains(&x),
        "X still held after its gate resolved: {r:?}"
    );
    assert!(!r.contains(&g));
    let listed = env.json(&["gate", "list"]);
    assert!(
        !ids_of(&listed).contains(&g),
        "a resolved gate is listed open"
    );
    assert!(ids_of(&env.json(&["gate", "list", "--all"])).contains(&g));
}

// ---------------------------------------------------------------------------
// 7. Timer gates
// ---------------------------------------------------------------------------

/// Every command of this test runs at a fixed time (past the shared clock).
const T0: &str = "2030-02-01T10:00:00Z";

/// `--timeout 1h` made at T0: pending at T0+30m, resolved at T0+61m.
#[test]
fn timer_gate_resolves_after_its_timeout() {
    let env = TestEnvironment::new();
    let x = env
        .bd_at("2030-02-01T09:59:00Z", &["create", "after an hour"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let v = env
        .bd_at(
            T0,
            &[
                "--json",
                "gate",
                "create",
                "--blocks",
                &x,
                "--type",
                "timer",
                "--timeout",
                "1h",
            ],
        )
        .ok()
        .json();
    let g = v["id"].as_str().unwrap().to_string();

    let at = |t: &str, args: &[&str]| env.bd_at(t, args).ok().json();
    let show = at("2030-02-01T10:01:00Z", &["--json", "gate", "show", &g]);
    assert_eq!(show["await_type"], "timer");
    assert!(
        show["due_at"]
            .as_str()
            .unwrap()
            .starts_with("2030-02-01T11:00:00"),
        "{show}"
    );

    let c = at("2030-02-01T10:30:00Z", &["--json", "gate", "check"]);
    assert_eq!(entry(&c, &g)["outcome"], "pending", "{c}");
    assert_eq!(c["pending"], 1);
    assert_eq!(c["resolved"], 0);
    assert!(!ready_at(&env, "2030-02-01T10:31:00Z").contains(&x));
    let show = at("2030-02-01T10:32:00Z", &["--json", "show", &g]);
    assert_eq!(show["status"], "open");

    let c = at("2030-02-01T11:01:00Z", &["--json", "gate", "check"]);
    assert_eq!(entry(&c, &g)["outcome"], "resolved", "{c}");
    assert_eq!(c["resolved"], 1);
    let show = at("2030-02-01T11:02:00Z", &["--json", "show", &g]);
    assert_eq!(show["status"], "closed");
    let r = ready_at(&env, "2030-02-01T11:03:00Z");
    assert!(r.contains(&x), "{r:?}");
    assert!(!r.contains(&g));
}

/// `--at 12:00`: pending a second before, resolved at 12:00.
#[test]
fn timer_gate_at_a_time() {
    let env = TestEnvironment::new();
    let x = env
        .bd_at("2030-02-01T09:59:00Z", &["create", "at noon"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let v = env
        .bd_at(
            T0,
            &[
                "--json",
                "gate",
                "create",
                "--blocks",
                &x,
                "--type",
                "timer",
                "--at",
                "2030-02-01T12:00:00Z",
            ],
        )
        .ok()
        .json();
    let g = v["id"].as_str().unwrap().to_string();
    let at = |t: &str, args: &[&str]| env.bd_at(t, args).ok().json();

    let c = at("2030-02-01T11:59:59Z", &["--json", "gate", "check", &g]);
    assert_eq!(entry(&c, &g)["outcome"], "pending", "{c}");
    assert!(!ready_at(&env, "2030-02-01T11:59:59Z").contains(&x));

    let c = at("2030-02-01T12:00:00Z", &["--json", "gate", "check", &g]);
    assert_eq!(entry(&c, &g)["outcome"], "resolved", "{c}");
    assert!(ready_at(&env, "2030-02-01T12:00:01Z").contains(&x));

    // A timer needs a time.
    let r = env.bd_at(
        "2030-02-01T12:01:00Z",
        &["gate", "create", "--blocks", &x, "--type", "timer"],
    );
    assert_ne!(r.code, 0, "{}", r.transcript());
}

// ---------------------------------------------------------------------------
// 8-10. Command gates
// ---------------------------------------------------------------------------

/// Untrusted: listed as such, nothing runs. Trusted: it runs in the
/// workspace root (even when checked from a subfolder), passes, closes, and
/// its output lands in the close comment.
#[test]
fn command_gate_runs_only_once_trusted() {
    let env = TestEnvironment::new();
    let x = env.create("needs the command", &[]);
    let g = gate(
        &env,
        &x,
        &[
            "--type",
            "command",
            "--await-id",
            "echo ok > done.txt; echo gate-said-hello",
            "--timeout",
            "30s",
        ],
    );
    let marker = env.repo.join("done.txt");
    let sub = env.repo.join("sub");
    std::fs::create_dir_all(&sub).unwrap();

    let v = env.json(&["gate", "show", &g]);
    assert_eq!(v["trusted"], false);
    assert_eq!(v["program"], "echo ok > done.txt; echo gate-said-hello");

    let c = env.json(&["gate", "check"]);
    let e = entry(&c, &g);
    assert_eq!(e["outcome"], "untrusted", "{c}");
    assert_eq!(c["untrusted"], 1);
    assert_eq!(c["resolved"], 0);
    assert!(!marker.exists(), "an untrusted command ran");
    assert_eq!(status(&env, &g), "open");
    assert!(!ready(&env).contains(&x));

    env.bd(&["gate", "trust", &g]).ok();
    assert_eq!(env.json(&["gate", "show", &g])["trusted"], true);

    let c = env
        .bd_in(&sub, "tester", &["--json", "gate", "check"])
        .ok()
        .json();
    let e = entry(&c, &g);
    assert_eq!(e["outcome"], "resolved", "{c}");
    assert_eq!(c["resolved"], 1);
    assert_eq!(
        text_of(&marker),
        "ok\n",
        "the command ran in the workspace root"
    );
    assert!(
        !sub.join("done.txt").exists(),
        "the command ran in the caller's folder"
    );
    assert_eq!(status(&env, &g), "closed");

    let show = env.json(&["show", &g]);
    let comments = show["comments"].to_string();
    assert!(
        comments.contains("gate-said-hello"),
        "the close comment holds the output tail: {comments}"
    );
    let r = ready(&env);
    assert!(r.contains(&x), "{r:?}");
}

/// A failing command: failed, exit code 3, the tail recorded on the gate,
/// the gate open and X blocked. A changed command needs trust again.
#[test]
fn command_gate_failing_records_its_check_and_a_changed_command_is_untrusted() {
    let env = TestEnvironment::new();
    let x = env.create("needs a passing command", &[]);
    let g = gate(
        &env,
        &x,
        &[
            "--type",
            "command",
            "--await-id",
            "echo about-to-fail; exit 3",
        ],
    );
    env.bd(&["gate", "trust", &g]).ok();

    let c = env.json(&["gate", "check", &g]);
    let e = entry(&c, &g);
    assert_eq!(e["outcome"], "failed", "{c}");
    assert_eq!(e["exit_code"], 3);
    assert_eq!(e["output_tail"], serde_json::json!(["about-to-fail"]));
    assert_eq!(c["failed"], 1);
    assert_eq!(status(&env, &g), "open");
    assert!(!ready(&env).contains(&x));

    let v = env.json(&["gate", "show", &g]);
    let last = &v["last_check"];
    assert_eq!(last["outcome"], "failed", "{v}");
    assert_eq!(last["exit_code"], 3, "{v}");
    assert_eq!(last["output_tail"], serde_json::json!(["about-to-fail"]));
    assert!(last["at"].is_string(), "{v}");
    assert!(last["reason"].as_str().unwrap().contains("exit 3"), "{v}");
    // On the gate's record too (field gate_check), so it travels with git.
    assert_eq!(env.record(&g)["gate_check"]["exit_code"], 3);

    // No verb edits a gate's command: change it in the tracker file, as a
    // pull bringing someone else's edit would.
    let old = r#""await_id":"echo about-to-fail; exit 3""#;
    let new = r#""await_id":"echo edited > edited.txt; exit 0""#;
    let text = env.issues_text();
    assert_eq!(text.matches(old).count(), 1, "{text}");
    std::fs::write(env.issues_path(), text.replace(old, new)).unwrap();

    let v = env.json(&["gate", "show", &g]);
    assert_eq!(v["await_id"], "echo edited > edited.txt; exit 0");
    assert_eq!(v["trusted"], false, "a changed command kept its trust: {v}");
    let c = env.json(&["gate", "check", &g]);
    assert_eq!(entry(&c, &g)["outcome"], "untrusted", "{c}");
    assert!(
        !env.repo.join("edited.txt").exists(),
        "the changed command ran"
    );
    assert_eq!(status(&env, &g), "open");
    assert!(!ready(&env).contains(&x));

    // Trusted again, it runs.
    env.bd(&["gate", "trust", &g]).ok();
    let c = env.json(&["gate", "check", &g]);
    assert_eq!(entry(&c, &g)["outcome"], "resolved", "{c}");
    assert!(env.repo.join("edited.txt").exists());
    assert!(ready(&env).contains(&x));
}

/// `--timeout 2s` on `sleep 30` (and another in the background): the check
/// returns promptly, failed with "timed out", recorded on the gate; nothing
/// of the command is left running.
#[test]
fn hanging_command_gate_times_out_and_leaves_nothing_running() {
    let env = TestEnvironment::new();
    let x = env.create("needs a slow command", &[]);
    let g = gate(
        &env,
        &x,
        &[
            "--type",
            "command",
            "--await-id",
            "echo hanging-started; sleep 30 & sleep 30",
            "--timeout",
            "2s",
        ],
    );
    env.bd(&["gate", "trust", &g]).ok();

    let started = Instant::now();
    let r = env.bd(&["--json", "gate", "check", &g]);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "check took {took:?}");
    assert!(
        took >= Duration::from_secs(2),
        "stopped before its timeout: {took:?}"
    );
    let c = r.ok().json();
    let e = entry(&c, &g);
    assert_eq!(e["outcome"], "failed", "{c}");
    assert!(e["reason"].as_str().unwrap().contains("timed out"), "{c}");
    assert_eq!(e["output_tail"], serde_json::json!(["hanging-started"]));

    let v = env.json(&["gate", "show", &g]);
    assert_eq!(v["status"], "open");
    assert_eq!(v["last_check"]["outcome"], "failed");
    assert!(
        v["last_check"]["reason"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{v}"
    );
    assert!(!ready(&env).contains(&x));

    // The shell and its `sleep 30` are gone (give a killed child a moment
    // to be reaped).
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = processes_of_gate(&g);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "processes of gate {g} still running: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------
// 11. Bead gates
// ---------------------------------------------------------------------------

#[test]
fn bead_gate_resolves_when_its_issue_closes() {
    let env = TestEnvironment::new();
    let x = env.create("after Y", &[]);
    let y = env.create("Y", &[]);
    let g = gate(&env, &x, &["--type", "bead", "--await-id", &y]);

    let c = env.json(&["gate", "check"]);
    let e = entry(&c, &g);
    assert_eq!(e["outcome"], "pending", "{c}");
    assert!(e["reason"].as_str().unwrap().contains(&y), "{c}");
    let r = ready(&env);
    assert!(!r.contains(&x));
    assert!(r.contains(&y), "Y itself is free work");

    env.bd(&["update", &y, "--status", "in_progress"]).ok();
    let c = env.json(&["gate", "check", &g]);
    assert_eq!(entry(&c, &g)["outcome"], "pending", "{c}");

    env.bd(&["close", &y]).ok();
    assert!(
        !ready(&env).contains(&x),
        "no check yet: X still behind the gate"
    );
    let c = env.json(&["gate", "check"]);
    assert_eq!(entry(&c, &g)["outcome"], "resolved", "{c}");
    assert_eq!(status(&env, &g), "closed");
    assert!(ready(&env).contains(&x));

    // A bead gate names its issue.
    let r = env.bd(&["gate", "create", "--blocks", &x, "--type", "bead"]);
    assert_ne!(r.code, 0, "{}", r.transcript());
}

// ---------------------------------------------------------------------------
// 12. A gate travels through sync
// ---------------------------------------------------------------------------

#[test]
fn gate_blocks_ready_in_every_clone_after_sync() {
    let net = Network::new(2, "code\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    let x = a.create("held by a gate");
    let g = a.json(&["gate", "create", "--blocks", &x, "--type", "human"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!ids_of(&a.json(&["ready", "-n", "0"])).contains(&x));
    net.sync(&[0, 1]);

    let rb = ids_of(&b.json(&["ready", "-n", "0"]));
    assert!(b.ids().contains(&x), "B has X after sync");
    assert!(!rb.contains(&x), "B offers X behind an open gate: {rb:?}");
    assert!(!rb.contains(&g));
    assert_eq!(b.json(&["gate", "show", &g])["status"], "open");

    b.bd(&["gate", "resolve", &g]).ok();
    assert!(ids_of(&b.json(&["ready", "-n", "0"])).contains(&x));
    net.sync(&[1, 0]);

    let ra = ids_of(&a.json(&["ready", "-n", "0"]));
    assert!(ra.contains(&x), "A still holds X after B resolved: {ra:?}");
    assert_eq!(a.json(&["show", &g])["status"], "closed");
    assert_eq!(a.issues(), b.issues(), "the clones agree");
}

/// Trust is this machine's: a command gate trusted in A and synced to B (its
/// own machine) is untrusted there and does not run.
#[test]
fn trust_does_not_travel_with_the_gate() {
    let net = Network::new(2, "code\n");
    let (a, b) = (&net.c[0], &net.c[1]);
    let x = a.create("held by a command");
    let g = a.json(&[
        "gate",
        "create",
        "--blocks",
        &x,
        "--type",
        "command",
        "--await-id",
        "echo ran > trusted-marker.txt",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    a.bd(&["gate", "trust", &g]).ok();
    assert_eq!(a.json(&["gate", "show", &g])["trusted"], true);
    net.sync(&[0, 1]);

    assert_eq!(b.json(&["gate", "show", &g])["trusted"], false);
    let c = b.json(&["gate", "check"]);
    assert_eq!(entry(&c, &g)["outcome"], "untrusted", "{c}");
    assert!(
        !b.dir.join("trusted-marker.txt").exists(),
        "ran untrusted in B"
    );
    assert_eq!(b.json(&["show", &g])["status"], "open");
    assert!(!a.dir.join("trusted-marker.txt").exists());
}

// ---------------------------------------------------------------------------
// 13. Two workspaces of one machine check one gate at once
// ---------------------------------------------------------------------------

#[test]
fn concurrent_checks_in_two_workspaces_run_the_command_once() {
    let m = Machine::new(0);
    let out: PathBuf = m.env.folder("outside").join("runs.txt");
    let cmd = format!("echo ran >> '{}'; sleep 1", out.display());
    let x = m.create(&m.a, "held by a command", &[]);
    let v = m.json(
        &m.a,
        "tester",
        &[
            "gate",
            "create",
            "--blocks",
            &x,
            "--type",
            "command",
            "--await-id",
            &cmd,
            "--timeout",
            "30s",
        ],
    );
    let g = v["id"].as_str().unwrap().to_string();
    m.bd(&m.a, "tester", &["sync"]).ok();
    m.bd(&m.b, "tester", &["sync"]).ok();
    assert!(
        m.json(&m.b, "tester", &["gate", "list"])
            .to_string()
            .contains(&g),
        "B has the gate"
    );

    // Trust once, in A: B (same machine, same project home) trusts it too.
    m.bd(&m.a, "tester", &["gate", "trust", &g]).ok();
    assert_eq!(
        m.json(&m.b, "tester", &["gate", "show", &g])["trusted"],
        true
    );

    let spawn = |ws: &Path| {
        m.cmd(ws, "tester", &["--json", "gate", "check", &g])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("bd runs")
    };
    let ca = spawn(&m.a);
    let cb = spawn(&m.b);
    let ra = run_of(ca.wait_with_output().unwrap()).ok().json();
    let rb = run_of(cb.wait_with_output().unwrap()).ok().json();

    assert_eq!(text_of(&out), "ran\n", "the command ran once");
    let ea = entry(&ra, &g);
    let eb = entry(&rb, &g);
    let mut outcomes = [
        ea["outcome"].as_str().unwrap(),
        eb["outcome"].as_str().unwrap(),
    ];
    outcomes.sort();
    assert_eq!(outcomes, ["resolved", "skipped"], "A: {ra}\nB: {rb}");
    let skipped = if ea["outcome"] == "skipped" { ea } else { eb };
    assert!(
        skipped["reason"]
            .as_str()
            .unwrap()
            .contains("another workspace"),
        "{skipped}"
    );
    let (ran_in, other) = if ea["outcome"] == "resolved" {
        (&m.a, &m.b)
    } else {
        (&m.b, &m.a)
    };
    // Closed in the workspace that ran it, and X free there.
    let s = m.json(ran_in, "tester", &["show", &g]);
    assert_eq!(s["status"], "closed", "{}: {s}", ran_in.display());
    let r = ids_of(&m.json(ran_in, "tester", &["ready", "-n", "0"]));
    assert!(r.contains(&x), "{}: {r:?}", ran_in.display());
    // In the other, closed through the machine's ledger before any git
    // exchange (a close elsewhere frees its dependents there on sync only:
    // the ledger overlay takes from ready, never adds to it).
    let s = m.json(other, "tester", &["show", &g]);
    assert!(
        s["status"] == "closed" || s["effective"]["state"] == "closed",
        "{}: {s}",
        other.display()
    );
    // Checking again, anywhere, runs nothing.
    for ws in [&m.a, &m.b] {
        let c = m.json(ws, "tester", &["gate", "check"]);
        assert_eq!(c["resolved"], 0, "{}: {c}", ws.display());
    }
    assert_eq!(text_of(&out), "ran\n");
    // After sync both files hold the close and X is free everywhere.
    m.bd(ran_in, "tester", &["sync"]).ok();
    m.bd(other, "tester", &["sync"]).ok();
    for ws in [&m.a, &m.b] {
        assert_eq!(m.json(ws, "tester", &["show", &g])["status"], "closed");
        let r = ids_of(&m.json(ws, "tester", &["ready", "-n", "0"]));
        assert!(r.contains(&x), "{}: {r:?}", ws.display());
    }
    assert_eq!(text_of(&out), "ran\n");
}

// ---------------------------------------------------------------------------
// 14. Dry run
// ---------------------------------------------------------------------------

#[test]
fn gate_check_dry_run_runs_and_writes_nothing() {
    let env = TestEnvironment::new();
    let x = env.create("held", &[]);
    let cmd_gate = gate(
        &env,
        &x,
        &["--type", "command", "--await-id", "touch dry-marker.txt"],
    );
    let timer_gate = gate(&env, &x, &["--type", "timer", "--timeout", "1s"]);
    env.bd(&["gate", "trust", &cmd_gate]).ok();
    let project = env.project_dir();
    let trust_before = text_of(&project.join("gate-trust.json"));
    let ledger_before = text_of(&project.join("ledger.json"));
    let before = env.issues_text();

    // Past the timer's due time.
    let c = env
        .bd_at(
            "2030-01-01T00:00:00Z",
            &["--json", "gate", "check", "--dry-run"],
        )
        .ok()
        .json();
    assert_eq!(c["dry_run"], true, "{c}");
    let e = entry(&c, &cmd_gate);
    assert_eq!(e["outcome"], "pending", "{c}");
    assert!(e["reason"].as_str().unwrap().contains("dry run"), "{c}");
    assert!(entry(&c, &timer_gate).get("exit_code").is_none(), "{c}");

    assert!(
        !env.repo.join("dry-marker.txt").exists(),
        "a dry run ran the command"
    );
    assert_eq!(env.issues_text(), before, "a dry run wrote the tracker");
    assert!(
        !project
            .join("gates")
            .join(format!("{cmd_gate}.log"))
            .exists(),
        "a dry run started a log"
    );
    assert_eq!(text_of(&project.join("gate-trust.json")), trust_before);
    assert_eq!(text_of(&project.join("ledger.json")), ledger_before);
    for g in [&cmd_gate, &timer_gate] {
        assert_eq!(status(&env, g), "open", "{g}");
    }
    assert!(!ready(&env).contains(&x));

    // For real, it runs and resolves both.
    let c = env
        .bd_at("2030-01-01T00:00:01Z", &["--json", "gate", "check"])
        .ok()
        .json();
    assert_eq!(c["dry_run"], false);
    assert_eq!(c["resolved"], 2, "{c}");
    assert!(env.repo.join("dry-marker.txt").exists());
}

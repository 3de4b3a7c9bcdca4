//! `bd run` (issue 13): a worker loop around any agent command, with fake
//! agents from `tests/fixtures/agents/` (shell scripts that behave like
//! `claude -p --output-format json`, `codex exec --json`, or an agent that
//! fails, hangs, or runs long), each item in its own worktree and branch.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Run, TestEnvironment, git};
use serde_json::Value;

fn agent(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/agents")
        .join(name)
        .display()
        .to_string()
}

/// A tracker with these items, committed (a worktree checks out HEAD).
fn tracker(titles: &[&str]) -> (TestEnvironment, Vec<String>) {
    let env = TestEnvironment::new();
    let ids = titles.iter().map(|t| env.create(t, &[])).collect();
    commit(&env);
    (env, ids)
}

fn commit(env: &TestEnvironment) {
    git(&env.repo, &["add", "-A"]);
    git(&env.repo, &["commit", "-q", "-m", "tracker"]);
}

/// `bd` in the repository with bd on PATH (the agents call it), on the real
/// clock: a worker's time moves while it runs (a fixed `BD_NOW` would have
/// later processes start before earlier ones ended).
fn run_cmd(env: &TestEnvironment, args: &[&str]) -> Command {
    let mut c = env.cmd_in(&env.repo, "tester", args);
    c.env_remove("BD_NOW");
    c
}

fn bd_run(env: &TestEnvironment, args: &[&str]) -> Run {
    common::run_of(run_cmd(env, args).output().unwrap())
}

fn wt_folder(env: &TestEnvironment) -> PathBuf {
    env.tmp.path().join("worktrees")
}

fn runs(env: &TestEnvironment) -> Vec<Value> {
    std::fs::read_to_string(env.beads().join("runs.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn held(env: &TestEnvironment) -> Vec<Value> {
    env.json(&["list", "--status", "in_progress,hooked", "--json"])
        .as_array()
        .unwrap()
        .clone()
}

/// `bd show ID --json`.
fn show_of(env: &TestEnvironment, id: &str) -> Value {
    env.json(&["show", id, "--json"])
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// `bd run --agent AGENT --once --json EXTRA -- <fake agent>`, which must
/// succeed.
fn once(env: &TestEnvironment, agent_name: &str, extra: &[&str], fake: &str) -> Run {
    let program = agent(fake);
    let mut a = vec!["run", "--agent", agent_name, "--once", "--json"];
    a.extend_from_slice(extra);
    a.extend_from_slice(&["--", &program]);
    bd_run(env, &a).ok()
}

/// `bd` started in the background, its output thrown away, stopped when
/// the test ends (see [`Reaper`]).
fn spawn_quiet(env: &TestEnvironment, args: &[&str]) -> (std::process::Child, Reaper) {
    let c = run_cmd(env, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let r = Reaper(c.id());
    (c, r)
}

/// A fleet of `n` workers running the `slow` agent (its report on a pipe),
/// stopped when the test ends.
fn slow_fleet(env: &TestEnvironment, n: &str, wt: &Path) -> (std::process::Child, Reaper) {
    let slow = agent("slow");
    let args = [
        "run",
        "--agents",
        n,
        "--json",
        "--interval",
        "200ms",
        "--worktrees",
        wt.to_str().unwrap(),
        "--",
        &slow,
    ];
    let c = run_cmd(env, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let r = Reaper(c.id());
    (c, r)
}

/// Stops a `bd` a test started when the test ends, however it ends (a
/// failed assertion must not leave a worker and its agent running):
/// SIGTERM (the worker stops its agent and releases its item), then SIGKILL.
struct Reaper(u32);

impl Drop for Reaper {
    fn drop(&mut self) {
        let pid = self.0.to_string();
        if !running(&pid) {
            return;
        }
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let end = Instant::now() + Duration::from_secs(10);
        while running(&pid) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    }
}

/// What the workers of `env` said (their logs in the project home), for a
/// failure's message.
fn talk(env: &TestEnvironment) -> String {
    let mut out = String::new();
    for p in std::fs::read_dir(env.home.join("projects"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for f in std::fs::read_dir(p.path().join("workers"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".log") || name.ends_with(".json") {
                out.push_str(&format!(
                    "--- {name}\n{}\n",
                    std::fs::read_to_string(f.path()).unwrap_or_default()
                ));
            }
        }
    }
    out
}

/// Whether a process runs (not a zombie waiting to be reaped).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[test]
fn once_runs_the_item_in_its_own_worktree_records_it_and_closes_it() {
    let (env, ids) = tracker(&["Port the lexer"]);
    let id = &ids[0];
    let wt = wt_folder(&env);
    let r = bd_run(
        &env,
        &[
            "run",
            "--agent",
            "w1",
            "--once",
            "--close-on-success",
            "--json",
            "--worktrees",
            wt.to_str().unwrap(),
            "--",
            &agent("claude-ok"),
            "{title}",
        ],
    )
    .ok();
    let rep = r.json();
    assert_eq!(rep["agent"], "w1");
    assert_eq!(rep["stopped"], "once");
    let run = &rep["runs"][0];
    assert_eq!(run["issue"], id.as_str(), "{rep}");
    assert_eq!(run["outcome"], "success", "{rep}\n{}", r.stderr);
    assert_eq!(run["tokens"], 470);
    assert_eq!(run["usd"], 0.0123);
    assert_eq!(run["after"], "closed");
    let branch = format!("bd/{id}");
    assert_eq!(run["branch"], branch.as_str());
    // Its own worktree, on its own branch, with the agent's commit.
    let tree = PathBuf::from(run["worktree"].as_str().unwrap());
    assert!(tree.starts_with(&wt), "{}", tree.display());
    assert!(tree.join(format!("work-{id}.txt")).exists());
    assert!(!env.repo.join(format!("work-{id}.txt")).exists());
    let log = git(&env.repo, &["log", "--format=%s", &branch]);
    assert!(log.starts_with(&format!("work on {id}")), "{log}");
    assert_eq!(git(&tree, &["branch", "--show-current"]).trim(), branch);
    // The agent's comment is in the served workspace (the script checked it
    // was there at once, before it exited), and the run's record beside it.
    let shown = show_of(&env, id);
    let show = &shown;
    assert_eq!(show["status"], "closed");
    let texts: Vec<&str> = show["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.contains(&"agent was here: Port the lexer"),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with(&format!(
            "Run {} by w1: success (exit 0)",
            run["run"].as_str().unwrap()
        )) && t.contains("470 tokens")
            && t.contains("$0.01")),
        "{texts:?}"
    );
    let recs = runs(&env);
    assert_eq!(recs.len(), 1);
    let rec = &recs[0];
    assert_eq!(rec["id"], run["run"]);
    assert_eq!(rec["issue"], id.as_str());
    assert_eq!(rec["agent"], "w1");
    assert_eq!(rec["outcome"], "success");
    assert_eq!(rec["exit_code"], 0);
    assert_eq!(rec["tokens"], 470);
    assert_eq!(rec["usage"]["usd"], 0.0123);
    assert_eq!(rec["usage"]["cache_read_tokens"], 300);
    assert_eq!(rec["command"], "claude-ok");
    assert!(
        rec["tail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("total_cost_usd"))
    );
    // No local path is committed: the command is its file name only.
    assert!(
        !std::fs::read_to_string(env.beads().join("runs.jsonl"))
            .unwrap()
            .contains(&agent(""))
    );
    // The log is in the project home.
    let logp = PathBuf::from(run["log"].as_str().unwrap());
    assert!(logp.starts_with(&env.home), "{}", logp.display());
    assert!(
        std::fs::read_to_string(&logp)
            .unwrap()
            .contains("working on")
    );
    // The worker registered its agent; nothing is held any more.
    let agents = env.json(&["agents", "--json"]);
    assert!(agents.to_string().contains("\"w1\""), "{agents}");
    assert!(held(&env).is_empty());
    // Nothing left to do.
    let r = once(&env, "w1", &[], "claude-ok");
    assert_eq!(r.json()["stopped"], "nothing");
}

#[test]
fn codex_usage_is_summed_and_the_agent_closing_the_item_is_left_alone() {
    let (env, ids) = tracker(&["Fix the flaky test"]);
    let r = once(&env, "cx", &[], "codex-ok");
    let run = &r.json()["runs"][0];
    assert_eq!(run["outcome"], "success");
    // 1000 + 500 input (400 of them cached) and 150 output.
    assert_eq!(run["tokens"], 1650);
    assert_eq!(run["after"], "left");
    let show = &show_of(&env, &ids[0]);
    assert_eq!(show["status"], "closed");
    assert_eq!(show["close_reason"], "done by codex");
}

#[test]
fn an_agent_that_reports_nothing_is_recorded_without_tokens_and_not_run_again() {
    let (env, ids) = tracker(&["Write the docs"]);
    let r = once(&env, "p", &[], "plain");
    let run = &r.json()["runs"][0];
    assert_eq!(run["outcome"], "success");
    assert!(run["tokens"].is_null());
    assert!(runs(&env)[0].get("tokens").is_none());
    // Left as the agent left it: still held, for a person to review.
    assert_eq!(run["after"], "left");
    let show = &show_of(&env, &ids[0]);
    assert_eq!(show["status"], "in_progress");
    assert_eq!(show["assignee"], "p");
    // A worker does not run a finished item again.
    let r = once(&env, "p", &[], "plain");
    assert_eq!(r.json()["stopped"], "nothing", "{}", r.stdout);
}

#[test]
fn failures_are_released_with_the_reason_retried_then_given_up() {
    let (env, ids) = tracker(&["Make the build pass"]);
    let id = &ids[0];
    let args = [
        "run",
        "--agent",
        "f",
        "--once",
        "--json",
        "--retries",
        "1",
        "--backoff",
        "0s",
        "--",
        &agent("fail"),
    ];
    let r = bd_run(&env, &args).ok();
    let run = &r.json()["runs"][0];
    assert_eq!(run["outcome"], "failed");
    assert_eq!(run["exit_code"], 1);
    assert_eq!(run["after"], "released");
    assert!(
        run["reason"].as_str().unwrap().contains("attempt 1 of 2"),
        "{run}"
    );
    let shown = show_of(&env, id);
    let show = &shown;
    assert_eq!(show["status"], "open");
    assert!(
        show.get("assignee").is_none_or(|a| a.is_null() || a == ""),
        "{show}"
    );
    let last = show["comments"].as_array().unwrap().last().unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        last.contains("failed (exit 1)") && last.contains("Released"),
        "{last}"
    );
    // The tail of its output is on the record.
    assert!(
        runs(&env)[0]["tail"]
            .to_string()
            .contains("boom: the build is broken")
    );
    // Second failure: the limit; the item is marked and skipped from now on.
    let run = bd_run(&env, &args).ok().json()["runs"][0].clone();
    assert_eq!(run["after"], "gave_up");
    let again = show_of(&env, id);
    assert_eq!(again["labels"], serde_json::json!(["run-failed"]));
    assert_eq!(again["status"], "open");
    assert_eq!(bd_run(&env, &args).ok().json()["stopped"], "nothing");
    assert_eq!(runs(&env).len(), 2);
    assert_eq!(
        runs(&env)[1]["attempt"].as_u64().unwrap() + runs(&env)[0]["attempt"].as_u64().unwrap(),
        3
    );
    // A person removes the mark: the count starts again.
    env.bd(&["label", "remove", id, "run-failed"]).ok();
    let run = bd_run(&env, &args).ok().json()["runs"][0].clone();
    assert_eq!(run["after"], "released", "{run}");
}

#[test]
fn an_item_waiting_out_its_backoff_is_not_taken() {
    let (env, ids) = tracker(&["Flaky"]);
    let args = [
        "run",
        "--agent",
        "f",
        "--once",
        "--json",
        "--backoff",
        "1h",
        "--",
        &agent("fail"),
    ];
    bd_run(&env, &args).ok();
    let r = bd_run(&env, &args).ok();
    assert_eq!(r.json()["stopped"], "waiting", "{}", r.stdout);
    let text = bd_run(
        &env,
        &["run", "--agent", "f", "--once", "--", &agent("fail")],
    )
    .ok();
    assert!(text.stdout.contains("retry backoff"), "{}", text.stdout);
    assert_eq!(runs(&env).len(), 1);
    // Another item is taken meanwhile.
    let other = env.create("Solid", &[]);
    commit(&env);
    let r = once(&env, "f", &[], "plain");
    assert_eq!(r.json()["runs"][0]["issue"], other.as_str());
    assert_ne!(other, ids[0]);
}

#[test]
fn a_silent_agent_is_killed_with_its_whole_process_group() {
    let (env, ids) = tracker(&["Think hard"]);
    let r = once(&env, "h", &["--stall", "1s", "--retries", "0"], "hang");
    let run = &r.json()["runs"][0];
    assert_eq!(run["outcome"], "stalled", "{run}");
    assert!(
        run["reason"].as_str().unwrap().contains("no output for 1s"),
        "{run}"
    );
    // With no retries left it is given up on and released.
    assert_eq!(run["after"], "gave_up");
    let tree = PathBuf::from(run["worktree"].as_str().unwrap());
    let helper = std::fs::read_to_string(tree.join("helper.pid")).unwrap();
    assert!(
        !running(&helper),
        "the agent's background helper {helper} outlived the run"
    );
    assert_eq!(runs(&env)[0]["outcome"], "stalled");
    assert_eq!(show_of(&env, &ids[0])["status"], "open");
}

#[test]
fn a_title_with_shell_syntax_stays_text() {
    let (env, ids) = tracker(&["$(touch pwned); `touch pwned2` && rm -rf x"]);
    let wt = wt_folder(&env);
    bd_run(
        &env,
        &[
            "run",
            "--agent",
            "a",
            "--once",
            "--worktrees",
            wt.to_str().unwrap(),
            "--",
            &agent("record-args"),
            "{id}",
            "{title}",
            "--literal",
            "{description}",
        ],
    )
    .ok();
    let tree = wt.join(&ids[0]);
    let args = std::fs::read_to_string(tree.join("args.txt")).unwrap();
    assert_eq!(
        args,
        format!(
            "{}\n$(touch pwned); `touch pwned2` && rm -rf x\n--literal\n\n",
            ids[0]
        )
    );
    for dir in [&env.repo, &tree, &env.home] {
        assert!(!dir.join("pwned").exists() && !dir.join("pwned2").exists());
    }
    // The item is in the environment too, and the agent's bd reaches the workspace.
    let vars = std::fs::read_to_string(tree.join("env.txt")).unwrap();
    for want in [
        format!("BD_ISSUE={}", ids[0]),
        "BD_ACTOR=a".to_string(),
        format!("BD_WORKTREE={}", tree.display()),
        format!("BEADS_DIR={}", env.repo.join(".beads").display()),
    ] {
        assert!(vars.lines().any(|l| l == want), "{want} not in\n{vars}");
    }
    assert!(vars.contains("BD_PRIME_FILE=") && vars.contains("BD_PROMPT_FILE="));
    let prompt = std::fs::read_to_string(tree.join("prompt.txt")).unwrap();
    assert!(
        prompt.contains(&format!("working on {}: $(touch pwned)", ids[0])),
        "{prompt}"
    );
}

#[test]
fn bad_input_is_refused_and_leaves_nothing_claimed() {
    let (env, _) = tracker(&["Something"]);
    let before = env.issues_text();
    // A program that does not exist.
    let r = bd_run(&env, &["run", "--once", "--", "/no/such/agent", "{id}"]).code(1);
    assert!(
        r.stderr.contains("/no/such/agent") && r.stderr.contains("not a program"),
        "{}",
        r.stderr
    );
    let r = bd_run(&env, &["run", "--once", "--", "no-such-agent-on-path"]).code(1);
    assert!(r.stderr.contains("no-such-agent-on-path"), "{}", r.stderr);
    // An unknown placeholder, one inside an argument, no command.
    let r = bd_run(&env, &["run", "--once", "--", &agent("plain"), "{nope}"]).code(2);
    assert!(
        r.stderr.contains("unknown placeholder {nope}"),
        "{}",
        r.stderr
    );
    let r = bd_run(
        &env,
        &["run", "--once", "--", &agent("plain"), "--issue={id}"],
    )
    .code(2);
    assert!(r.stderr.contains("argument of its own"), "{}", r.stderr);
    bd_run(&env, &["run", "--once"]).code(2);
    // Bad durations.
    let r = bd_run(
        &env,
        &["run", "--once", "--stall", "soon", "--", &agent("plain")],
    )
    .code(2);
    assert!(r.stderr.contains("--stall"), "{}", r.stderr);
    // A worktree folder that cannot be made (under a file).
    let file = env.tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let r = bd_run(
        &env,
        &[
            "run",
            "--once",
            "--worktrees",
            file.join("wt").to_str().unwrap(),
            "--",
            &agent("plain"),
        ],
    )
    .code(1);
    assert!(r.stderr.contains("worktree folder"), "{}", r.stderr);
    assert_eq!(env.issues_text(), before, "nothing written");
    assert!(held(&env).is_empty());
    assert!(runs(&env).is_empty());
}

#[test]
fn a_worktree_that_cannot_be_made_releases_the_item() {
    let (env, ids) = tracker(&["Needs a tree"]);
    let wt = wt_folder(&env);
    let w = wt.to_str().unwrap();
    // Something else is in the item's folder.
    std::fs::create_dir_all(wt.join(&ids[0])).unwrap();
    std::fs::write(wt.join(&ids[0]).join("mine.txt"), "user data").unwrap();
    let attempt = |extra: &[&str]| -> Value {
        let mut a = vec!["--backoff", "0s", "--worktrees", w];
        a.extend_from_slice(extra);
        once(&env, "tester", &a, "plain").json()
    };
    // A run that could not start: an error, released, counted as a failure.
    let r = attempt(&[]);
    let run = &r["runs"][0];
    assert_eq!(run["outcome"], "error", "{r}");
    assert_eq!(run["after"], "released");
    assert!(
        run["reason"].as_str().unwrap().contains("not a worktree"),
        "{run}"
    );
    assert!(held(&env).is_empty());
    assert_eq!(
        std::fs::read_to_string(wt.join(&ids[0]).join("mine.txt")).unwrap(),
        "user data"
    );
    let rec = &runs(&env)[0];
    assert_eq!(rec["outcome"], "error");
    // No local path is committed: the folder is named, not spelled.
    assert!(
        rec["reason"].as_str().unwrap().contains("<worktrees>/"),
        "{rec}"
    );
    assert!(
        !std::fs::read_to_string(env.beads().join("runs.jsonl"))
            .unwrap()
            .contains(w)
    );
    assert!(!env.issues_text().contains(w));
    // Never the user's own worktree: a branch checked out elsewhere is refused.
    std::fs::remove_dir_all(wt.join(&ids[0])).unwrap();
    git(&env.repo, &["branch", &format!("bd/{}", ids[0])]);
    let mine = env.tmp.path().join("mine");
    git(
        &env.repo,
        &[
            "worktree",
            "add",
            "-q",
            mine.to_str().unwrap(),
            &format!("bd/{}", ids[0]),
        ],
    );
    let r = attempt(&[]);
    assert!(
        r["runs"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("checked out in"),
        "{r}"
    );
    assert!(held(&env).is_empty());
    // A link in the item's place is not followed.
    git(&env.repo, &["worktree", "remove", mine.to_str().unwrap()]);
    let elsewhere = env.tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, wt.join(&ids[0])).unwrap();
    let r = attempt(&["--retries", "0"]);
    assert!(
        r["runs"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("symbolic link"),
        "{r}"
    );
    assert_eq!(r["runs"][0]["after"], "gave_up");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    assert!(held(&env).is_empty());
}

#[test]
fn a_worker_killed_mid_run_is_resumed_in_the_same_worktree() {
    let (env, ids) = tracker(&["Long job"]);
    let id = &ids[0];
    let wt = wt_folder(&env);
    let tree = wt.join(id);
    let (mut first, _reaper_first) = spawn_quiet(
        &env,
        &[
            "run",
            "--agent",
            "w",
            "--once",
            "--worktrees",
            wt.to_str().unwrap(),
            "--",
            &agent("slow"),
        ],
    );
    wait_for("the slow agent to start", 20, || {
        tree.join("started-by-slow").exists()
    });
    // `bd workers` sees it, from the workspace.
    wait_for("the worker file to name its item", 10, || {
        let ws = env.json(&["workers", "--json"]);
        ws[0]["item"] == id.as_str() && ws[0]["state"] == "running" && ws[0]["pgid"].is_u64()
    });
    let ws = env.json(&["workers", "--json"]);
    assert_eq!(ws[0]["agent"], "w");
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let slow_pid = std::fs::read_to_string(tree.join("slow.pid")).unwrap();
    assert!(
        running(&slow_pid),
        "the agent outlives its worker (its own group)"
    );
    assert_eq!(env.json(&["workers", "--json"])[0]["alive"], false);
    // The claim is still the agent's (it lapses later; dispatch recovers it).
    assert_eq!(show_of(&env, id)["assignee"], "w");
    // A worker started in its place kills what is left, and resumes.
    let r = once(
        &env,
        "w",
        &["--close-on-success", "--worktrees", wt.to_str().unwrap()],
        "claude-ok",
    );
    assert!(r.stderr.contains("died while running"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("running {id}; resuming it")),
        "{}",
        r.stderr
    );
    let run = &r.json()["runs"][0];
    assert_eq!(run["issue"], id.as_str());
    assert_eq!(PathBuf::from(run["worktree"].as_str().unwrap()), tree);
    assert!(tree.join("started-by-slow").exists(), "the same worktree");
    assert!(
        !running(&slow_pid),
        "the dead worker's agent was left running"
    );
    let outcomes: Vec<String> = runs(&env)
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect();
    assert!(
        outcomes.contains(&"lost".to_string()) && outcomes.contains(&"success".to_string()),
        "{outcomes:?}"
    );
    assert_eq!(show_of(&env, id)["status"], "closed");
    assert!(
        env.json(&["workers", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_second_worker_for_one_agent_is_refused() {
    let (env, _) = tracker(&["Long job"]);
    let mut first = run_cmd(
        &env,
        &["run", "--agent", "w", "--once", "--", &agent("slow")],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let _reaper_first = Reaper(first.id());
    wait_for("the worker", 20, || {
        env.json(&["workers", "--json"])[0]["state"] == "running"
    });
    let r = bd_run(
        &env,
        &["run", "--agent", "w", "--once", "--", &agent("plain")],
    )
    .code(3);
    assert!(r.stderr.contains("already has a worker"), "{}", r.stderr);
    // SIGTERM: the worker stops its agent, records the run, releases the item.
    assert!(
        Command::new("kill")
            .args(["-TERM", &first.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let st = first.wait().unwrap();
    assert!(st.success(), "{st:?}");
    assert_eq!(runs(&env)[0]["outcome"], "interrupted");
    assert!(held(&env).is_empty());
}

#[test]
fn prune_removes_only_closed_and_merged_branches() {
    let (env, ids) = tracker(&["Done and merged", "Done, not merged", "Still open"]);
    let wt = wt_folder(&env);
    let w = wt.to_str().unwrap();
    // Three runs: each agent commit lands on the item's branch.
    for _ in 0..3 {
        bd_run(
            &env,
            &[
                "run",
                "--agent",
                "a",
                "--once",
                "--worktrees",
                w,
                "--",
                &agent("claude-ok"),
            ],
        )
        .ok();
    }
    env.bd(&["close", &ids[0], &ids[1]]).ok();
    git(
        &env.repo,
        &["merge", "-q", "--no-edit", &format!("bd/{}", ids[0])],
    );
    let v = env.json(&["run", "--prune", "--worktrees", w, "--json"]);
    let removed: Vec<&str> = v["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["issue"].as_str().unwrap())
        .collect();
    assert_eq!(removed, [ids[0].as_str()], "{v}");
    assert!(!wt.join(&ids[0]).exists());
    assert!(
        git(&env.repo, &["branch", "--list", &format!("bd/{}", ids[0])])
            .trim()
            .is_empty()
    );
    let kept = v["kept"].to_string();
    assert!(
        kept.contains("not merged") && kept.contains("not closed"),
        "{kept}"
    );
    assert!(wt.join(&ids[1]).exists() && wt.join(&ids[2]).exists());
}

#[test]
fn three_workers_do_thirty_items_once_each_in_dependency_order() {
    let env = TestEnvironment::new();
    let mut ids: Vec<String> = Vec::new();
    for i in 0..30 {
        // Item i waits for item i-10: three layers of ten.
        let deps = if i >= 10 {
            format!("blocks:{}", ids[i - 10])
        } else {
            String::new()
        };
        let extra: Vec<&str> = if deps.is_empty() {
            vec![]
        } else {
            vec!["--deps", &deps]
        };
        ids.push(env.create(&format!("item {i}"), &extra));
    }
    commit(&env);
    let r = bd_run(
        &env,
        &[
            "run",
            "--agents",
            "3",
            "--drain",
            "--close-on-success",
            "--interval",
            "200ms",
            "--json",
            "--",
            &agent("plain"),
        ],
    )
    .ok();
    let rep = r.json();
    assert_eq!(rep["stopped"], "drained", "{rep}\n{}", r.stderr);
    assert_eq!(rep["workers"].as_array().unwrap().len(), 3);
    let recs = runs(&env);
    let mut by: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for r in &recs {
        by.entry(r["issue"].as_str().unwrap())
            .or_default()
            .push(format!(
                "{} {} {} {} {} {}",
                r["agent"], r["started_at"], r["ended_at"], r["outcome"], r["after"], r["reason"]
            ));
    }
    let twice: Vec<_> = by.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(twice.is_empty(), "ran twice: {twice:?}\n{}", r.stderr);
    assert_eq!(recs.len(), 30, "{recs:?}");
    let mut seen: Vec<&str> = recs.iter().map(|r| r["issue"].as_str().unwrap()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 30, "an item ran twice");
    assert!(
        recs.iter()
            .all(|r| r["outcome"] == "success" && r["after"] == "closed")
    );
    let at = |id: &str, k: &str| -> i64 {
        let r = recs.iter().find(|r| r["issue"] == id).unwrap();
        strand::model::time::parse(r[k].as_str().unwrap()).unwrap()
    };
    for i in 10..30 {
        assert!(
            at(&ids[i], "started_at") >= at(&ids[i - 10], "ended_at"),
            "item {i} ran before its blocker"
        );
    }
    let agents: std::collections::BTreeSet<&str> =
        recs.iter().map(|r| r["agent"].as_str().unwrap()).collect();
    assert!(
        agents.iter().all(|a| a.starts_with("tester-")),
        "{agents:?}"
    );
    assert!(
        env.json(&["list", "--json"]).as_array().unwrap().is_empty(),
        "all closed"
    );
}

#[test]
fn sigint_stops_a_fleet_cleanly_releasing_what_it_ran() {
    let (env, _) = tracker(&["a", "b", "c", "d", "e"]);
    let wt = wt_folder(&env);
    let (fleet, _reaper_fleet) = slow_fleet(&env, "3", &wt);
    wait_for("three running workers", 30, || {
        env.json(&["workers", "--json"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["state"] == "running")
            .count()
            == 3
    });
    assert!(
        Command::new("kill")
            .args(["-INT", &fleet.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = fleet.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let rep: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["stopped"], "signal");
    let recs = runs(&env);
    assert_eq!(recs.len(), 3, "{recs:?}");
    assert!(
        recs.iter()
            .all(|r| r["outcome"] == "interrupted" && r["after"] == "released"),
        "{recs:?}"
    );
    assert!(held(&env).is_empty(), "{:?}", held(&env));
    for d in std::fs::read_dir(&wt).unwrap().flatten() {
        if let Ok(pid) = std::fs::read_to_string(d.path().join("slow.pid")) {
            assert!(!running(&pid), "an agent outlived the fleet");
        }
    }
    assert!(
        env.json(&["workers", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_detached_worker_runs_in_the_background() {
    let (env, ids) = tracker(&["Background job"]);
    let r = bd_run(
        &env,
        &[
            "run",
            "--detach",
            "--agent",
            "bg",
            "--drain",
            "--close-on-success",
            "--json",
            "--",
            &agent("plain"),
        ],
    )
    .ok();
    let d = r.json();
    assert_eq!(d["agent"], "bg");
    assert!(d["pid"].as_u64().unwrap() > 1);
    wait_for("the detached worker to finish", 30, || {
        show_of(&env, &ids[0])["status"] == "closed"
    });
    wait_for("the worker to leave", 10, || {
        env.json(&["workers", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    });
    assert_eq!(runs(&env)[0]["agent"], "bg");
    // A detached worker that cannot start says why.
    let r = bd_run(
        &env,
        &["run", "--detach", "--agent", "bg2", "--", "/no/such/agent"],
    )
    .code(1);
    assert!(r.stderr.contains("not a program"), "{}", r.stderr);
}

#[test]
fn a_fleet_restarts_a_worker_that_dies_and_it_resumes_its_item() {
    let (env, _) = tracker(&["a", "b"]);
    let wt = wt_folder(&env);
    let (fleet, _reaper_fleet) = slow_fleet(&env, "2", &wt);
    let running = || -> Vec<Value> {
        env.json(&["workers", "--json"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["state"] == "running" && w["pgid"].is_u64())
            .cloned()
            .collect()
    };
    let end = Instant::now() + Duration::from_secs(30);
    while running().len() < 2 {
        assert!(
            Instant::now() < end,
            "two running workers: {}\nruns {:?}",
            talk(&env),
            runs(&env)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let victim = running()[0].clone();
    let pid = victim["pid"].as_u64().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
    wait_for("the worker to be started again on its item", 30, || {
        running().iter().any(|w| {
            w["agent"] == victim["agent"]
                && w["pid"].as_u64().map(|p| p.to_string()) != Some(pid.clone())
                && w["item"] == victim["item"]
        })
    });
    assert!(
        Command::new("kill")
            .args(["-INT", &fleet.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = fleet.wait_with_output().unwrap();
    assert!(out.status.success());
    let rep: Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = rep["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["agent"] == victim["agent"])
        .unwrap()
        .clone();
    assert_eq!(w["restarts"], 1, "{rep}");
    let outcomes: Vec<(String, String)> = runs(&env)
        .iter()
        .map(|r| {
            (
                r["issue"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let item = victim["item"].as_str().unwrap().to_string();
    assert!(
        outcomes.contains(&(item.clone(), "lost".into())),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&(item, "interrupted".into())),
        "{outcomes:?}"
    );
    assert!(held(&env).is_empty());
}

#[test]
fn hooked_work_comes_first_and_filters_choose_the_rest() {
    let env = TestEnvironment::new();
    let urgent = env.create("Urgent", &["-p", "0"]);
    let tagged = env.create("Tagged", &["-p", "3", "-l", "backend"]);
    let low = env.create("Slung to w", &["-p", "4"]);
    let tracked = env.create("In the convoy", &["-p", "4"]);
    let convoy = env.json(&["convoy", "create", "Release", &tracked, "--json"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    commit(&env);
    env.bd(&["agent", "register", "w"]).ok();
    env.bd(&["sling", &low, "w"]).ok();
    let issue_run = |extra: &[&str]| -> String {
        let mut a = vec!["--close-on-success"];
        a.extend_from_slice(extra);
        once(&env, "w", &a, "plain").json()["runs"][0]["issue"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    // The hook first, whatever its priority.
    assert_eq!(issue_run(&[]), low);
    // A label filter passes over the more urgent item.
    assert_eq!(issue_run(&["--label", "backend"]), tagged);
    assert_eq!(issue_run(&["--convoy", &convoy]), tracked);
    assert_eq!(issue_run(&["--label", "backend"]), "");
    assert_eq!(issue_run(&[]), urgent);
}

#[test]
fn the_prompt_carries_the_latest_checkpoint_and_the_lease_is_kept_alive() {
    // On the real clock throughout: leases are judged by it.
    let env = TestEnvironment::new();
    let id = &bd_run(&env, &["create", "Half done", "--silent"])
        .ok()
        .stdout
        .trim()
        .to_string();
    commit(&env);
    bd_run(&env, &["config", "set", "lease", "3s"]).ok();
    bd_run(
        &env,
        &["checkpoint", id, "parser done", "--next", "the printer"],
    )
    .ok();
    let wt = wt_folder(&env);
    let w = wt.to_str().unwrap().to_string();
    let (slow, _reaper_slow) = spawn_quiet(
        &env,
        &[
            "run",
            "--agent",
            "w",
            "--once",
            "--worktrees",
            &w,
            "--",
            &agent("slow"),
        ],
    );
    let tree = wt.join(id);
    wait_for("the agent", 20, || tree.join("started-by-slow").exists());
    // Twice the lease later the claim has not lapsed: the worker heart-beats.
    std::thread::sleep(Duration::from_secs(6));
    let plan = bd_run(&env, &["dispatch", "--json", "--dry-run"])
        .ok()
        .json();
    assert_eq!(plan["recovered"], serde_json::json!([]), "{plan}");
    // `bd workers` answers from another workspace of the project.
    let other = env.worktree(&env.repo, "other", "other");
    let ws: Value = serde_json::from_str(
        &env.bd_in(&other, "tester", &["workers", "--json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(ws[0]["item"], id.as_str(), "{ws}");
    assert!(
        Command::new("kill")
            .args(["-TERM", &slow.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = slow.wait_with_output().unwrap();
    assert!(out.status.success());
    // The prompt the agent was handed.
    let run = &runs(&env)[0];
    let prompt = std::fs::read_to_string(
        PathBuf::from(ws[0]["log"].as_str().unwrap()).with_extension("prompt.md"),
    )
    .unwrap();
    assert!(
        prompt.contains("parser done") && prompt.contains("Next: the printer"),
        "{prompt}"
    );
    assert_eq!(run["outcome"], "interrupted");
}

#[test]
fn a_run_log_with_a_bad_line_is_refused_before_anything_is_claimed() {
    let (env, _) = tracker(&["Something"]);
    let path = env.beads().join("runs.jsonl");
    std::fs::write(&path, "not json\n").unwrap();
    let r = bd_run(&env, &["run", "--once", "--", &agent("plain")]).code(1);
    assert!(r.stderr.contains("runs.jsonl"), "{}", r.stderr);
    assert!(r.stderr.contains("doctor --fix"), "{}", r.stderr);
    assert!(held(&env).is_empty());
    // doctor reports it and --fix moves the line to quarantine.
    let d = env.bd(&["doctor", "--json"]);
    assert!(d.stdout.contains("runs.jsonl:1"), "{}", d.stdout);
    env.bd(&["doctor", "--fix"]).ok();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    let r = bd_run(&env, &["run", "--once", "--json", "--", &agent("plain")]).ok();
    assert_eq!(r.json()["runs"][0]["outcome"], "success");
}

#[test]
fn paths_are_taken_from_where_bd_runs_and_the_worktree_folder_stays_out_of_the_workspace() {
    let (env, _) = tracker(&["Something"]);
    // --worktrees inside the workspace (or .beads/) is refused.
    for inside in [env.repo.join("wt"), env.repo.join(".beads")] {
        let r = bd_run(
            &env,
            &[
                "run",
                "--once",
                "--worktrees",
                inside.to_str().unwrap(),
                "--",
                &agent("plain"),
            ],
        )
        .code(1);
        assert!(r.stderr.contains("inside the workspace"), "{}", r.stderr);
    }
    assert!(held(&env).is_empty());
    // A relative program, from a subfolder: found where bd was started.
    let sub = env.repo.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::copy(agent("plain"), sub.join("my-agent")).unwrap();
    let mut c = run_cmd(
        &env,
        &[
            "run",
            "--once",
            "--json",
            "--worktrees",
            "../../wts",
            "--",
            "./my-agent",
        ],
    );
    c.current_dir(&sub);
    let r = common::run_of(c.output().unwrap()).ok();
    let v = r.json();
    assert_eq!(v["runs"][0]["outcome"], "success", "{v}\n{}", r.stderr);
    let tree = PathBuf::from(v["runs"][0]["worktree"].as_str().unwrap());
    assert!(
        tree.starts_with(env.tmp.path().join("wts")),
        "{}",
        tree.display()
    );
}

#[test]
fn a_fleet_whose_workers_all_fail_fails() {
    let (env, _) = tracker(&["Something"]);
    let file = env.tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let r = bd_run(
        &env,
        &[
            "run",
            "--agents",
            "2",
            "--worktrees",
            file.join("wt").to_str().unwrap(),
            "--",
            &agent("plain"),
        ],
    )
    .code(1);
    assert!(
        r.stderr.contains("every worker of the fleet") && r.stderr.contains("worktree folder"),
        "{}",
        r.stderr
    );
    assert!(held(&env).is_empty());
}

#[test]
fn a_stale_process_group_in_a_dead_workers_file_is_not_killed() {
    let (env, _) = tracker(&["Something"]);
    // An unrelated process in a group of its own.
    let mut other = Command::new("setsid")
        .args(["sleep", "300"])
        .spawn()
        .unwrap();
    let pgid = other.id();
    wait_for("the unrelated process", 10, || running(&pgid.to_string()));
    let home = std::fs::read_dir(env.home.join("projects"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::create_dir_all(home.join("workers")).unwrap();
    std::fs::write(
        home.join("workers/w.json"),
        format!(r#"{{"agent":"w","pid":999999,"workspace":"/x","started_at":"2026-01-01T00:00:00Z","state":"running","item":"bd-zzz","run":"run-000000000000","pgid":{pgid},"items_done":0,"updated_at":"2026-01-01T00:00:00Z"}}"#),
    )
    .unwrap();
    let r = once(&env, "w", &[], "plain");
    assert_eq!(r.json()["runs"][0]["outcome"], "success");
    assert!(
        running(&pgid.to_string()),
        "an unrelated process group was killed"
    );
    let _ = other.kill();
    let _ = other.wait();
}

#[test]
fn two_workers_of_one_agent_started_at_once_never_both_run() {
    let (env, _) = tracker(&["a", "b"]);
    let start = || {
        run_cmd(
            &env,
            &[
                "run",
                "--agent",
                "same",
                "--once",
                "--json",
                "--",
                &agent("slow"),
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let (a, b) = (start(), start());
    let _reapers = (Reaper(a.id()), Reaper(b.id()));
    wait_for("a running worker", 20, || {
        env.json(&["workers", "--json"])[0]["state"] == "running"
    });
    std::thread::sleep(Duration::from_millis(500));
    let states: Vec<Value> = env.json(&["workers", "--json"]).as_array().unwrap().clone();
    assert_eq!(states.len(), 1, "{states:?}");
    for c in [&a, &b] {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
    }
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    // One ran; the other was refused (exit 3), or got the lock only once
    // the first had stopped, and stopped too (the same signal), running nothing.
    let ran: Vec<bool> = outs
        .iter()
        .map(|o| {
            let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
            v["runs"].as_array().is_some_and(|r| !r.is_empty())
        })
        .collect();
    assert_eq!(ran.iter().filter(|r| **r).count(), 1, "{outs:?}");
    let other = outs.iter().zip(&ran).find(|(_, r)| !**r).unwrap().0;
    let v: Value = serde_json::from_slice(&other.stdout).unwrap();
    assert!(
        other.status.code() == Some(3) && v["code"] == "conflict"
            || other.status.success() && v["stopped"] == "signal",
        "{other:?}"
    );
    assert_eq!(runs(&env).len(), 1);
    assert!(held(&env).is_empty());
}

#[test]
fn workers_of_a_fleet_killed_with_minus_nine_stop_and_release() {
    let (env, _) = tracker(&["a", "b"]);
    let (mut fleet, _reaper_fleet) = spawn_quiet(
        &env,
        &[
            "run",
            "--agents",
            "2",
            "--interval",
            "200ms",
            "--",
            &agent("slow"),
        ],
    );
    wait_for("two running workers", 30, || {
        env.json(&["workers", "--json"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["state"] == "running")
            .count()
            == 2
    });
    fleet.kill().unwrap();
    fleet.wait().unwrap();
    wait_for("the orphaned workers to stop", 20, || {
        env.json(&["workers", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    });
    assert!(held(&env).is_empty());
    assert!(runs(&env).iter().all(|r| r["outcome"] == "interrupted"));
}

#[test]
fn prune_keeps_what_a_worker_is_running_and_records_are_committed_with_auto_commit() {
    let (env, ids) = tracker(&["Closes itself early"]);
    env.bd(&["config", "set", "auto_commit", "on"]).ok();
    commit(&env);
    let wt = wt_folder(&env);
    let w = wt.to_str().unwrap().to_string();
    let (slow, _reaper_slow) = spawn_quiet(
        &env,
        &[
            "run",
            "--agent",
            "w",
            "--once",
            "--worktrees",
            &w,
            "--",
            &agent("slow"),
        ],
    );
    wait_for("the agent", 20, || {
        wt.join(&ids[0]).join("started-by-slow").exists()
    });
    // The agent closed its item early; its branch is merged (no commits).
    bd_run(&env, &["close", &ids[0]]).ok();
    let p = bd_run(&env, &["run", "--prune", "--json", "--worktrees", &w])
        .ok()
        .json();
    assert!(p["removed"].as_array().unwrap().is_empty(), "{p}");
    assert!(
        p["kept"]
            .to_string()
            .contains("a worker is running its item"),
        "{p}"
    );
    assert!(wt.join(&ids[0]).exists());
    let _ = Command::new("kill")
        .args(["-TERM", &slow.id().to_string()])
        .status();
    assert!(slow.wait_with_output().unwrap().status.success());
    // The run's record went into the commit of its end.
    let status = git(&env.repo, &["status", "--porcelain", ".beads"]);
    assert!(status.trim().is_empty(), "uncommitted: {status}");
    let last = git(&env.repo, &["show", "--stat", "--format=%s", "HEAD"]);
    assert!(last.contains("runs.jsonl"), "{last}");
    // Now only the agent's files not committed keep it (git refuses).
    let p = bd_run(&env, &["run", "--prune", "--json", "--worktrees", &w])
        .ok()
        .json();
    assert!(p["kept"].to_string().contains("untracked files"), "{p}");
    assert!(wt.join(&ids[0]).join("started-by-slow").exists());
}

#[test]
fn a_worker_does_not_take_work_whose_budget_is_spent_and_says_so() {
    let env = TestEnvironment::new();
    let epic = env.create("Epic", &["-t", "epic"]);
    let kid = env.create("Kid", &["--parent", &epic]);
    let other = env.create("Other", &["-p", "3"]);
    commit(&env);
    env.bd(&["budget", "set", &epic, "--tokens", "100"]).ok();
    env.bd(&["budget", "spend", "--issue", &kid, "--tokens", "150"])
        .ok();
    // The kid is passed over (its epic's budget is spent); the other runs.
    let r = bd_run(
        &env,
        &[
            "run",
            "--agent",
            "w",
            "--once",
            "--close-on-success",
            "--",
            &agent("claude-ok"),
            "x",
        ],
    )
    .ok();
    assert!(
        r.stderr
            .contains(&format!("skipping {kid}: budget of epic {epic} spent")),
        "{}",
        r.stderr
    );
    let recs = runs(&env);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["issue"], other.as_str());
    // The agent's own budget: its run's 470 tokens spent it.
    env.bd(&["budget", "set", "agent:w", "--tokens", "400"])
        .ok();
    env.create("More", &[]);
    commit(&env);
    let r = once(&env, "w", &[], "plain");
    let v = r.json();
    assert_eq!(v["stopped"], "budget", "{v}");
    assert!(
        r.stderr
            .contains("budget of agent w spent: 470 of 400 tokens: taking no work"),
        "{}",
        r.stderr
    );
    assert!(held(&env).is_empty());
    // Work held by an agent whose budget is spent is given back, not kept.
    let more = env.create("Held by w", &[]);
    commit(&env);
    env.bd(&["agent", "register", "w"]).ok();
    env.bd(&["sling", &more, "w"]).ok();
    let r = once(&env, "w", &[], "plain");
    assert_eq!(r.json()["stopped"], "budget");
    assert!(held(&env).is_empty(), "{:?}", held(&env));
    let c = show_of(&env, &more)["comments"].to_string();
    assert!(
        c.contains("w gives it back: budget of agent w spent"),
        "{c}"
    );
    // Dispatch slings nothing to w, online as it is.
    env.bd_as("w", &["heartbeat"]).ok();
    let plan = env.json(&["dispatch", "--json"]);
    assert_eq!(plan["slung"], serde_json::json!([]), "{plan}");
}

#[test]
fn an_open_item_assigned_to_another_is_not_taken_and_a_drain_ends() {
    let (env, ids) = tracker(&["Zoe's", "Free"]);
    env.bd(&["update", &ids[0], "--assignee", "zoe"]).ok();
    let r = bd_run(
        &env,
        &[
            "run",
            "--agent",
            "w",
            "--drain",
            "--json",
            "--interval",
            "100ms",
            "--close-on-success",
            "--",
            &agent("plain"),
        ],
    )
    .ok();
    let v = r.json();
    assert_eq!(v["stopped"], "drained", "{v}");
    let ran: Vec<&str> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["issue"].as_str().unwrap())
        .collect();
    assert_eq!(ran, [ids[1].as_str()]);
    assert_eq!(show_of(&env, &ids[0])["assignee"], "zoe");
    // Not even tried: no refused claim.
    let r = bd_run(
        &env,
        &["run", "--agent", "w", "--once", "--", &agent("plain")],
    )
    .ok();
    assert!(!r.stderr.contains("skipping"), "{}", r.stderr);
    assert!(r.stdout.contains("nothing to work on"), "{}", r.stdout);
}

#[test]
fn a_worker_says_what_it_does_on_stderr_unless_quiet() {
    let (env, ids) = tracker(&["Loud", "Quiet"]);
    let r = bd_run(&env, &["run", "--once", "--", &agent("plain")]).ok();
    assert!(
        r.stderr.contains(&format!("running {} Loud", ids[0])),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("done with {}: success", ids[0])),
        "{}",
        r.stderr
    );
    let r = bd_run(&env, &["-q", "run", "--once", "--", &agent("plain")]).ok();
    assert_eq!(r.stderr, "", "{}", r.stderr);
    assert!(r.stdout.contains("1 run"), "{}", r.stdout);
}

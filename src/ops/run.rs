//! `bd run` (issue 13): a worker that runs an agent command on work items,
//! one at a time, each in a git worktree of its own.
//!
//! The loop: take the agent's held work first (its hook, then its claims:
//! a worker restarted after a crash resumes there), else claim the best
//! claimable item (`query::claimable`, the one definition) that is not
//! waiting out a retry backoff, not given up on, and within its budgets;
//! give it its worktree (`git::worktree`, branch `bd/<id>`, under the
//! machine-local worktree folder); run the command there (`exec`: no
//! shell, a process group of its own, output streamed to a log in the
//! project home, killed as a group on a stall or a stop), heart-beating so
//! the claim's lease holds; then record the run (`.beads/runs.jsonl` and a
//! comment on the item) and close, release or leave the item.
//!
//! The agent's own `bd` calls reach the served workspace, not the item's
//! branch: the command runs with `BEADS_DIR` naming the served `.beads/`
//! (classic's variable, which `bd` honours before the current folder), so
//! its comments, closes, new issues and mail are written there at once,
//! under its lock, durably; the code it writes stays on the branch.
//!
//! Each step opens a session of its own (`step`), as a command would: a
//! long-running worker sees other processes' writes and the clock moving.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::exec;
use crate::home::{ProjectHome, workers};
use crate::model::run::{self as model, Outcome, RunRecord, UsageReader};
use crate::model::time::{self, Nanos};
use crate::ops::query::Filter;
use crate::ops::{Env, Session, compose};
use crate::store::log;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The agent it works as (default: the actor).
    pub agent: Option<String>,
    /// The agent's kind when registering (default: the program's name).
    pub kind: Option<String>,
    pub once: bool,
    pub max_items: Option<usize>,
    /// Stop when no work is left (nothing claimable, nothing running
    /// elsewhere that could unblock some, nothing waiting for a retry).
    pub drain: bool,
    /// Which items it may claim (labels, types, parent).
    pub filter: Filter,
    /// Only the items this convoy tracks.
    pub convoy: Option<String>,
    pub command: Vec<String>,
    pub close_on_success: bool,
    pub stall: Duration,
    /// How long an idle worker waits before looking for work again.
    pub interval: Duration,
    /// Failed runs of an item retried before it is given up on.
    pub retries: u32,
    /// The wait before the first retry (doubled for each further one).
    pub backoff: Duration,
    /// The worktree folder (default: machine-local, in the project home).
    pub worktrees: Option<PathBuf>,
}

/// One run, as the worker reports it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ItemRun {
    pub issue: String,
    pub run: String,
    pub outcome: Outcome,
    pub exit_code: Option<i32>,
    pub tokens: Option<u64>,
    pub usd: Option<f64>,
    pub seconds: u64,
    pub after: String,
    pub branch: String,
    pub worktree: PathBuf,
    pub log: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An item the worker did not take, and why.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Skipped {
    pub issue: String,
    pub why: String,
}

/// What a worker did.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RunReport {
    pub agent: String,
    pub runs: Vec<ItemRun>,
    pub skipped: Vec<Skipped>,
    /// Why it stopped: `once`, `max_items`, `drained`, `nothing` (with
    /// `--once` and no work), `signal`.
    pub stopped: String,
}

/// What a worker tells its front end as it goes.
pub enum Event<'a> {
    Started {
        issue: &'a str,
        title: &'a str,
        run: &'a str,
        worktree: &'a Path,
        log: &'a Path,
        resumed: bool,
    },
    Ended(&'a ItemRun),
    Skipped(&'a Skipped),
    Notice(crate::ops::Notice),
}

/// The worker's front end: when to stop, where events go, and `bd prime`'s
/// text (the CLI renders it).
pub struct Hooks<'a> {
    pub stop: &'a (dyn Fn() -> bool + Sync),
    pub event: &'a mut dyn FnMut(Event),
    pub prime_text: &'a dyn Fn(&Session) -> Result<String>,
}

/// The worker's start: its command's time (`BD_NOW` or the clock) and the
/// instant it was read.
static START: std::sync::OnceLock<(Nanos, Instant)> = std::sync::OnceLock::new();

/// The clock: a worker outlives the instant its command started at, so its
/// time is that instant plus the time since (a `BD_NOW` moves on too).
fn clock() -> Nanos {
    let (base, at) = START.get_or_init(|| {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as Nanos)
            .unwrap_or(0);
        (real, Instant::now())
    });
    base.saturating_add(at.elapsed().as_nanos() as Nanos)
}

/// A session of the command's own actor at the clock's time, begun as a
/// command's (the fleet's dispatch rounds).
pub fn fresh_session(ctx: &Session) -> Result<Session> {
    let actor = ctx.explicit_actor.then(|| ctx.actor.clone());
    session_as(ctx, actor, "dispatch")
}

/// A session for one step of the worker, as the agent, opened as a command
/// opens one (`compose::begin`); close it with [`done`].
fn step(ctx: &Session, agent: &str) -> Result<Session> {
    session_as(ctx, Some(agent.to_string()), "run")
}

/// A new session in the command's workspace, at the clock's time, as
/// `actor`, for `verb`'s commit subjects, begun.
fn session_as(ctx: &Session, actor: Option<String>, verb: &str) -> Result<Session> {
    let env = Env {
        now: clock(),
        actor,
        ..ctx.env.clone()
    };
    let mut s = Session::new(ctx.ws.clone(), env)?;
    s.verb = verb.into();
    compose::begin(&mut s);
    Ok(s)
}

/// The work after a step (`compose::finish`: commit per `auto_commit`,
/// heartbeat, hook file); its notices go to the front end.
fn done(s: Session, ok: bool, h: &mut Hooks) {
    compose::finish(&s, ok);
    for n in s.notices.take() {
        (h.event)(Event::Notice(n));
    }
}

/// Run `f` in a step as `agent`.
fn in_step<T>(
    ctx: &Session,
    agent: &str,
    h: &mut Hooks,
    f: impl FnOnce(&Session) -> Result<T>,
) -> Result<T> {
    let s = step(ctx, agent)?;
    let r = f(&s);
    done(s, r.is_ok(), h);
    r
}

/// The worker's own file in the project home, removed when it stops.
struct Presence {
    home: ProjectHome,
    w: workers::Worker,
}

impl Presence {
    /// Between items: what the worker is, not what it ran.
    fn idle(&mut self) {
        let w = &self.w;
        self.w = workers::Worker {
            agent: w.agent.clone(),
            pid: w.pid,
            workspace: w.workspace.clone(),
            started_at: w.started_at.clone(),
            state: "idle".into(),
            command: w.command.clone(),
            items_done: w.items_done,
            ..workers::Worker::default()
        };
        self.save();
    }

    fn save(&mut self) {
        self.w.updated_at = time::format(clock());
        let _ = workers::save(&self.home, &self.w);
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        workers::remove(&self.home, &self.w.agent, self.w.pid);
    }
}

/// `bd run`: work items until told to stop (see the module doc).
pub fn run(ctx: &Session, o: &RunOptions, h: &mut Hooks) -> Result<RunReport> {
    model::check_command(&o.command).map_err(crate::ops::usage)?;
    let _ = START.set((ctx.now, Instant::now()));
    let mut o = o.clone();
    if let Some(c) = &o.convoy {
        o.filter.ids = crate::ops::convoy::tracked_ids(ctx, c)?;
        if o.filter.ids.is_empty() {
            return Err(Error::invalid(format!("convoy {c} tracks nothing")));
        }
    }
    let o = &o;
    find_program(&o.command[0])?;
    check_before_claiming(ctx)?;
    let agent = o.agent.clone().unwrap_or_else(|| ctx.actor.clone());
    crate::home::presence::validate_agent_name(&agent)?;
    let home = ctx.home()?.ok_or_else(|| crate::ops::coord::no_home(ctx))?;
    let folder = worktree_folder(ctx, o.worktrees.as_deref(), &home);
    let folder = prepare_folder(ctx, &folder)?;
    // One worker per agent on this machine: its lock, held while it runs.
    let _lock = workers::lock(&home, &agent).map_err(|e| match e {
        Error::Locked { .. } => Error::Conflict {
            msg: format!(
                "agent {agent} already has a worker{}",
                workers::find(&home, &agent)
                    .map(|w| format!(" (pid {}, since {})", w.pid, w.started_at))
                    .unwrap_or_default()
            ),
            hint: Some("stop it first, or run this one with another --agent".into()),
        },
        e => e,
    })?;
    let kind = o
        .kind
        .clone()
        .unwrap_or_else(|| program_name(&o.command[0]));
    in_step(ctx, &agent, h, |s| {
        crate::ops::agents::agent_register(s, Some(&agent), &kind).map(|_| ())
    })?;
    take_over(ctx, &home, &agent, h)?;
    let mut me = Presence {
        home: home.clone(),
        w: workers::Worker {
            agent: agent.clone(),
            pid: std::process::id(),
            workspace: ctx.ws.root.clone(),
            started_at: time::format(clock()),
            state: "idle".into(),
            command: Some(program_name(&o.command[0])),
            ..workers::Worker::default()
        },
    };
    me.save();
    // Items this worker could not claim for a reason of their own (not a
    // race): passed over from now on.
    let mut avoid: HashSet<String> = HashSet::new();
    // Items another worker claimed first: passed over until this one idles.
    let mut taken: HashSet<String> = HashSet::new();
    let mut report = RunReport {
        agent: agent.clone(),
        runs: Vec::new(),
        skipped: Vec::new(),
        stopped: String::new(),
    };
    let mut told: HashSet<String> = HashSet::new();
    let mut last_beat = Instant::now();
    report.stopped = loop {
        if (h.stop)() {
            break "signal".into();
        }
        if o.max_items.is_some_and(|n| report.runs.len() >= n) {
            break "max_items".into();
        }
        let passed: HashSet<String> = avoid.union(&taken).cloned().collect();
        let pick = in_step(ctx, &agent, h, |s| {
            // Due gates first (issue 16): work behind one that resolves now
            // is picked this round.
            crate::ops::gate::check_due(s);
            pick(s, o, &agent, &passed)
        })?;
        for sk in pick.skipped {
            if told.insert(format!("{}\u{0}{}", sk.issue, sk.why)) {
                (h.event)(Event::Skipped(&sk));
                report.skipped.push(sk);
            }
        }
        for sk in pick.give_back {
            let text = format!("{agent} gives it back: {}.", sk.why);
            release(ctx, h, &agent, &sk.issue, &text, false, None)?;
            (h.event)(Event::Skipped(&sk));
            report.skipped.push(sk);
        }
        if let Some(why) = &pick.spent
            && told.insert(why.clone())
        {
            (h.event)(Event::Notice(crate::ops::Notice::Warning(format!(
                "{why}: taking no work"
            ))));
        }
        if pick.spent.is_some() && (o.once || o.drain) {
            break "budget".into();
        }
        let Some((id, resumed)) = pick.item else {
            // Idle: items another worker took first may be free again.
            taken.clear();
            if o.once {
                break if pick.wait_until.is_some() {
                    "waiting"
                } else {
                    "nothing"
                }
                .into();
            }
            if o.drain && pick.wait_until.is_none() && !others_running(&home, &agent) {
                break "drained".into();
            }
            if last_beat.elapsed() >= beat_every(ctx) {
                last_beat = Instant::now();
                let _ = in_step(ctx, &agent, h, |s| {
                    crate::ops::agents::heartbeat(s, Some("idle")).map(|_| ())
                });
            }
            let wait = match pick.wait_until {
                Some(t) => Duration::from_nanos((t - clock()).max(0) as u64).min(o.interval),
                None => o.interval,
            };
            if sleep_unless(h.stop, wait.max(Duration::from_millis(20))) {
                break "signal".into();
            }
            continue;
        };
        let ran = match work(ctx, o, h, &mut me, &folder, &id, resumed)? {
            Worked::Ran(r) => {
                (h.event)(Event::Ended(&r));
                report.runs.push(r);
                me.w.items_done += 1;
                true
            }
            Worked::Taken => {
                taken.insert(id);
                false
            }
            Worked::Refused(sk) => {
                (h.event)(Event::Skipped(&sk));
                avoid.insert(sk.issue.clone());
                report.skipped.push(sk);
                false
            }
        };
        me.idle();
        // `--once` is one run: an item lost to another worker is not one.
        if o.once && ran {
            break "once".into();
        }
    };
    Ok(report)
}

/// Where items' worktrees go: `--worktrees`, else the clone's git config
/// `bd.worktrees`, else the project home (all machine-local).
pub fn worktree_folder(ctx: &Session, given: Option<&Path>, home: &ProjectHome) -> PathBuf {
    given
        .map(Path::to_path_buf)
        .or_else(|| crate::git::worktree::configured_folder(&ctx.ws.root))
        .unwrap_or_else(|| workers::default_worktrees(home))
}

/// How often a worker heart-beats: a third of the lease.
fn beat_every(ctx: &Session) -> Duration {
    Duration::from_secs((ctx.config.lease_secs() / 3).max(1))
}

fn sleep_unless(stop: &(dyn Fn() -> bool + Sync), d: Duration) -> bool {
    let end = Instant::now() + d;
    while !stop() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
    true
}

/// The program must exist before anything is claimed: a path to an
/// executable file, or a name found on PATH.
fn find_program(p: &str) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |c: &Path| {
        std::fs::metadata(c).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let found = if p.contains('/') {
        let c = PathBuf::from(p);
        runnable(&c).then_some(c)
    } else {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(p))
                .find(|c| runnable(c))
        })
    };
    found.ok_or_else(|| Error::Invalid {
        msg: format!(
            "the agent command {p:?} is not a program that can be run (not found or not executable)"
        ),
        hint: Some("give the program's path, or put it on PATH".into()),
    })
}

fn program_name(p: &str) -> String {
    Path::new(p)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "agent".into())
}

/// What must hold before a worker claims anything: its run log reads (a
/// record it could not append at the end would be lost), and the
/// repository has a commit to make worktrees from.
fn check_before_claiming(ctx: &Session) -> Result<()> {
    let (_, bad) = log::read::<serde_json::Value>(&ctx.ws, log::RUNS)?;
    if !bad.is_empty() {
        return Err(Error::BadLines {
            path: log::path(&ctx.ws, log::RUNS),
            lines: bad,
        });
    }
    if !crate::git::worktree::has_commit(&ctx.ws.root) {
        return Err(Error::Invalid {
            msg: "the repository has no commit yet: items' worktrees are made from HEAD".into(),
            hint: Some("commit first (git commit), then run the worker".into()),
        });
    }
    Ok(())
}

/// The worktree folder exists (or is made), can be written, and is not
/// inside the workspace (a checkout inside `.beads/` or the user's tree
/// would be committed with it).
fn prepare_folder(ctx: &Session, folder: &Path) -> Result<PathBuf> {
    if !folder.is_absolute() {
        return Err(Error::invalid(format!(
            "the worktree folder {} must be an absolute path",
            folder.display()
        )));
    }
    let bad = |e: std::io::Error| Error::Invalid {
        msg: format!(
            "the worktree folder {} cannot be used: {e}",
            folder.display()
        ),
        hint: Some(
            "pass --worktrees DIR, or set it for this clone: git config bd.worktrees DIR".into(),
        ),
    };
    std::fs::create_dir_all(folder).map_err(bad)?;
    let real = std::fs::canonicalize(folder).map_err(bad)?;
    let root = std::fs::canonicalize(&ctx.ws.root).unwrap_or(ctx.ws.root.clone());
    if real.starts_with(&root) {
        return Err(Error::Invalid {
            msg: format!(
                "the worktree folder {} is inside the workspace {}",
                folder.display(),
                root.display()
            ),
            hint: Some("give a folder outside the repository (--worktrees DIR)".into()),
        });
    }
    let probe = folder.join(format!(".bd-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(bad)?;
    let _ = std::fs::remove_file(&probe);
    Ok(real)
}

/// Another live worker of this project on this machine runs an item.
fn others_running(home: &ProjectHome, agent: &str) -> bool {
    workers::list(home)
        .iter()
        .any(|w| w.agent != agent && w.state == "running" && workers::running(home, &w.agent))
}

/// The worker before this one of the agent died (this one holds the lock):
/// what is left of its command's group is killed (only when the group's
/// leader is provably that run's, by `BD_RUN` in its environment: its pid
/// may belong to anything by now) and its run recorded as lost. Its item
/// stays held by the agent, so this worker resumes it.
fn take_over(ctx: &Session, home: &ProjectHome, agent: &str, h: &mut Hooks) -> Result<()> {
    let Some(old) = workers::find(home, agent) else {
        return Ok(());
    };
    if let (Some(pg), Some(run)) = (old.pgid, &old.run) {
        match exec::has_env(pg, "BD_RUN", run) {
            Some(true) => exec::kill_group_hard(pg, Duration::from_secs(3)),
            Some(false) => {}
            None if exec::alive(pg, true) => {
                (h.event)(Event::Notice(crate::ops::Notice::Warning(format!(
                    "process group {pg} of the dead worker's run {run} may still run; check it"
                ))))
            }
            None => {}
        }
    }
    if let (Some(issue), Some(run)) = (&old.item, &old.run) {
        let rec = RunRecord {
            id: run.clone(),
            issue: issue.clone(),
            agent: agent.to_string(),
            attempt: attempt_of(ctx, issue)?,
            started_at: old.run_started_at.clone().unwrap_or(old.started_at.clone()),
            ended_at: time::format(clock()),
            outcome: Outcome::Lost,
            exit_code: None,
            signal: None,
            reason: Some(format!("the worker (pid {}) died while it ran", old.pid)),
            tokens: None,
            usage: None,
            command: old.command.clone().unwrap_or_default(),
            branch: old.branch.clone().unwrap_or_default(),
            after: "left".into(),
            tail: Vec::new(),
        };
        let text = model::summary(&rec, 0);
        in_step(ctx, agent, h, |s| {
            log::append(&s.ws, log::RUNS, std::slice::from_ref(&rec))?;
            crate::ops::labels::comment(s, issue, &text, None).map(|_| ())
        })?;
        (h.event)(Event::Notice(crate::ops::Notice::Note(format!(
            "the last worker of {agent} (pid {}) died while running {issue}; resuming it",
            old.pid
        ))));
    }
    workers::remove(home, agent, old.pid);
    Ok(())
}

/// The item's runs, from `runs.jsonl`.
fn runs_of(ctx: &Session, issue: &str) -> Result<Vec<RunRecord>> {
    let (all, _) = log::read::<RunRecord>(&ctx.ws, log::RUNS)?;
    Ok(all.into_iter().filter(|r| r.issue == issue).collect())
}

/// The attempt number of the item's next run.
fn attempt_of(ctx: &Session, issue: &str) -> Result<u32> {
    let runs = runs_of(ctx, issue)?;
    let refs: Vec<&RunRecord> = runs.iter().collect();
    Ok(model::failures_since_reset(&refs).len() as u32 + 1)
}

/// What to work on next.
struct Pick {
    /// The item, and whether the agent held it already (a resume).
    item: Option<(String, bool)>,
    /// The earliest time an item waiting out a retry backoff may run.
    wait_until: Option<Nanos>,
    skipped: Vec<Skipped>,
    /// Held items the worker will not run (a spent budget): given back, so
    /// they do not stay held by an agent that takes no work.
    give_back: Vec<Skipped>,
    /// The agent's own budget is spent: it takes nothing.
    spent: Option<String>,
}

fn pick(s: &Session, o: &RunOptions, agent: &str, avoid: &HashSet<String>) -> Result<Pick> {
    let mut p = Pick {
        item: None,
        wait_until: None,
        skipped: Vec::new(),
        give_back: Vec::new(),
        spent: None,
    };
    let (all_runs, _) = log::read::<RunRecord>(&s.ws, log::RUNS)?;
    let mut runs_by: std::collections::HashMap<&str, Vec<&RunRecord>> = Default::default();
    for r in &all_runs {
        runs_by.entry(r.issue.as_str()).or_default().push(r);
    }
    // What the agent holds comes first: its hook, then its claims; not an
    // item a run finished since it was claimed (the agent left it held,
    // for review: running it again would loop).
    // Budgets, read once for the round: no work whose budget (its own, an
    // ancestor's, a tracking convoy's, the agent's) is spent.
    let budgets = crate::ops::budget::Check::load_with_runs(s, &all_runs)?;
    p.spent = budgets.agent_refusal(agent);
    for id in crate::ops::prime::held(s)? {
        if finished_since_claim(s, &id, &all_runs)? {
            continue;
        }
        if let Some(why) = budgets.refusal(&id, agent) {
            p.give_back.push(Skipped { issue: id, why });
            continue;
        }
        p.item = Some((id, true));
        return Ok(p);
    }
    let f = Filter {
        limit: Some(0),
        ..o.filter.clone()
    };
    if p.spent.is_some() {
        return Ok(p);
    }
    let ready = crate::ops::query::claimable(s, &f, false)?;
    let now = s.now;
    for r in &ready.rows {
        // Open but assigned to someone else: ready, not claimable by us
        // (`claim` refuses it); given up on; passed over this time.
        let theirs = !r.assignee.is_empty() && r.assignee != agent;
        if theirs || avoid.contains(&r.id) || r.labels.iter().any(|l| l == model::GAVE_UP_LABEL) {
            continue;
        }
        let runs = runs_by.get(r.id.as_str()).map_or(&[][..], Vec::as_slice);
        let failures = model::failures_since_reset(runs);
        if let Some(last) = failures.last() {
            let at = model::retry_at(last.ended(), failures.len(), o.backoff.as_nanos() as i64);
            if at > now {
                p.wait_until = Some(p.wait_until.map_or(at, |w: Nanos| w.min(at)));
                continue;
            }
        }
        if let Some(why) = budgets.refusal(&r.id, agent) {
            p.skipped.push(Skipped {
                issue: r.id.clone(),
                why,
            });
            continue;
        }
        p.item = Some((r.id.clone(), false));
        break;
    }
    Ok(p)
}

/// The item's worktree, made under the project home's `worktrees` lock:
/// git's own bookkeeping of worktrees is not made for several `worktree
/// add`s at once (one may read another's half-written entry), so the
/// workers of a machine take turns; a failure is tried once more.
fn make_worktree(root: &Path, home: &ProjectHome, path: &Path, branch: &str) -> Result<bool> {
    let _turn = home.lock("worktrees")?;
    crate::git::worktree::ensure(root, path, branch).or_else(|first| {
        std::thread::sleep(Duration::from_millis(200));
        crate::git::worktree::ensure(root, path, branch).map_err(|_| first)
    })
}

/// A held item whose claim a successful run ended after.
fn finished_since_claim(s: &Session, id: &str, runs: &[RunRecord]) -> Result<bool> {
    let Some(last) = runs
        .iter()
        .filter(|r| r.issue == id && r.outcome == Outcome::Success)
        .map(RunRecord::ended)
        .max()
    else {
        return Ok(false);
    };
    let snap = s.snapshot()?;
    let Some(row) = snap.find(id) else {
        return Ok(false);
    };
    let rec = snap.record(row)?;
    if rec.state() != crate::model::kinds::Status::InProgress {
        return Ok(false);
    }
    Ok(rec.time("started_at").is_some_and(|t| t <= last))
}

/// Claim, prepare and run one item; record what happened. `None`: the item
/// was taken by someone else first.
/// What became of an item the worker went for.
enum Worked {
    /// It ran (or could not start: a run with outcome `error`).
    Ran(ItemRun),
    /// Another took it first.
    Taken,
    /// It cannot be claimed, for a reason of its own.
    Refused(Skipped),
}

fn work(
    ctx: &Session,
    o: &RunOptions,
    h: &mut Hooks,
    me: &mut Presence,
    folder: &Path,
    id: &str,
    resumed: bool,
) -> Result<Worked> {
    let agent = me.w.agent.clone();
    let claimed = in_step(ctx, &agent, h, |s| {
        crate::ops::edit::claim(s, &[id.to_string()], false)
    });
    let rec = match claimed {
        Ok(mut outs) if !outs.is_empty() => outs.remove(0).record,
        Ok(_) => return Ok(Worked::Taken),
        Err(e @ Error::Conflict { .. }) => {
            let sk = Skipped {
                issue: id.to_string(),
                why: e.to_string(),
            };
            (h.event)(Event::Skipped(&sk));
            return Ok(Worked::Taken);
        }
        Err(Error::Locked { path, waited_ms }) => return Err(Error::Locked { path, waited_ms }),
        Err(e) => {
            return Ok(Worked::Refused(Skipped {
                issue: id.to_string(),
                why: e.to_string(),
            }));
        }
    };
    // From here the item is this worker's: whatever stops it from running
    // gives the item back, with the reason, before the worker stops.
    match run_item(ctx, o, h, me, folder, &rec, resumed) {
        Ok(r) => Ok(Worked::Ran(r)),
        Err(e) => {
            let why = redact(&e.to_string(), ctx, folder, &me.home);
            let text = format!("{agent} could not run it ({why}); released.");
            let _ = release(ctx, h, &agent, rec.id(), &text, false, None);
            Err(e)
        }
    }
}

/// Local paths never go into committed text (a reason, a comment, output
/// lines): the worktree folder, the project home and the workspace are
/// named by what they are.
fn redact(text: &str, ctx: &Session, folder: &Path, home: &ProjectHome) -> String {
    let mut t = text.to_string();
    for (p, name) in [
        (folder, "<worktrees>"),
        (home.dir.as_path(), "<project home>"),
        (ctx.ws.root.as_path(), "<workspace>"),
    ] {
        let p = p.to_string_lossy();
        if p.len() > 1 {
            t = t.replace(p.as_ref(), name);
        }
    }
    t
}

/// Prepare and run a claimed item, and record what happened.
fn run_item(
    ctx: &Session,
    o: &RunOptions,
    h: &mut Hooks,
    me: &mut Presence,
    folder: &Path,
    rec: &crate::model::record::Record,
    resumed: bool,
) -> Result<ItemRun> {
    let agent = me.w.agent.clone();
    let id = rec.id().to_string();
    let branch = model::branch_for(&id);
    let worktree = folder.join(crate::files::escape(&id));
    let start = clock();
    let run_id = model::run_id(&id, &agent, start);
    let attempt = attempt_of(ctx, &id)?;
    let files = RunFiles::new(&me.home, &id, &run_id)?;
    let started = || Started {
        id: run_id.clone(),
        issue: id.clone(),
        agent: agent.clone(),
        attempt,
        start,
        branch: branch.clone(),
        worktree: worktree.clone(),
        log: files.log.clone(),
        folder: folder.to_path_buf(),
    };
    // The worktree is made by git in a thread of its own while this one
    // writes `bd prime`'s text for the agent: the two take about as long.
    let made = {
        let (root, home) = (ctx.ws.root.clone(), me.home.clone());
        let (path, br) = (worktree.clone(), branch.clone());
        let git = std::thread::spawn(move || make_worktree(&root, &home, &path, &br));
        let prime_text = h.prime_text;
        let prime = in_step(ctx, &agent, h, prime_text).unwrap_or_default();
        let made = git
            .join()
            .unwrap_or_else(|_| Err(Error::invalid("the worktree thread failed")));
        (made, prime)
    };
    let (made, prime) = made;
    if let Err(e) = &made {
        // Nothing runs without its worktree: a run that could not start,
        // released (or given up on) as a failure is.
        let now = Instant::now();
        let sup = Supervised {
            ran: exec::Ran {
                end: exec::End::NotStarted(format!("no worktree: {e}")),
                started: now,
                ended: now,
                tail: Default::default(),
            },
            usage: None,
        };
        let run = started();
        return finish_run(ctx, o, h, &me.home, run, sup);
    }
    // A worktree that was there already: an earlier run's (a resume).
    let resumed = resumed && matches!(made, Ok(false));
    let title = rec.title();
    let description = rec.str("description").unwrap_or_default();
    let checkpoint = rec.latest_checkpoint().map(|c| c.2);
    let prompt = model::prompt(&model::PromptInput {
        agent: &agent,
        id: &id,
        title: &title,
        description: &description,
        checkpoint: checkpoint.as_deref(),
        worktree: &worktree.to_string_lossy(),
        branch: &branch,
        attempt,
    });
    files.write(&prompt, &prime)?;
    let item = model::Item {
        id: id.clone(),
        title: title.clone(),
        description,
        prompt,
        prompt_file: files.prompt.to_string_lossy().into_owned(),
        prime_file: files.prime.to_string_lossy().into_owned(),
        worktree: worktree.to_string_lossy().into_owned(),
        branch: branch.clone(),
    };
    (h.event)(Event::Started {
        issue: &id,
        title: &title,
        run: &run_id,
        worktree: &worktree,
        log: &files.log,
        resumed,
    });
    me.w.state = "running".into();
    me.w.item = Some(id.clone());
    me.w.title = Some(title.clone());
    me.w.run = Some(run_id.clone());
    me.w.run_started_at = Some(time::format(start));
    me.w.worktree = Some(worktree.clone());
    me.w.branch = Some(branch.clone());
    me.w.log = Some(files.log.clone());
    me.save();
    let ran = supervise(ctx, o, h, me, &item, &files)?;
    let run = started();
    finish_run(ctx, o, h, &me.home, run, ran)
}

/// The files of one run in the project home.
struct RunFiles {
    log: PathBuf,
    prompt: PathBuf,
    prime: PathBuf,
}

impl RunFiles {
    fn new(home: &ProjectHome, issue: &str, run: &str) -> Result<RunFiles> {
        let dir = workers::run_dir(home, issue)?;
        Ok(RunFiles {
            log: workers::run_file(&dir, run, "log"),
            prompt: workers::run_file(&dir, run, "prompt.md"),
            prime: workers::run_file(&dir, run, "prime.md"),
        })
    }

    fn write(&self, prompt: &str, prime: &str) -> Result<()> {
        crate::files::atomic::write(&self.prompt, prompt.as_bytes())?;
        crate::files::atomic::write(&self.prime, prime.as_bytes())
    }
}

/// What the run's command did, with what it reported.
struct Supervised {
    ran: exec::Ran,
    usage: Option<model::Usage>,
}

/// Run the command for `item` and watch it: heartbeats while it runs, the
/// worker file kept current, a stall or a stop killing its group.
fn supervise(
    ctx: &Session,
    o: &RunOptions,
    h: &mut Hooks,
    me: &mut Presence,
    item: &model::Item,
    files: &RunFiles,
) -> Result<Supervised> {
    let argv = model::expand(&o.command, item);
    let log_file = workers::open_log(&files.log)?;
    let env: Vec<(String, std::ffi::OsString)> = vec![
        ("BD_ISSUE".into(), item.id.clone().into()),
        ("BD_ACTOR".into(), me.w.agent.clone().into()),
        ("BD_WORKTREE".into(), item.worktree.clone().into()),
        ("BD_BRANCH".into(), item.branch.clone().into()),
        ("BD_PROMPT_FILE".into(), item.prompt_file.clone().into()),
        ("BD_PRIME_FILE".into(), item.prime_file.clone().into()),
        ("BD_RUN".into(), me.w.run.clone().unwrap_or_default().into()),
        ("BD_WORKSPACE".into(), ctx.ws.root.clone().into_os_string()),
        ("BEADS_DIR".into(), ctx.ws.beads.clone().into_os_string()),
    ];
    let spec = exec::Spec {
        program: argv[0].clone(),
        args: argv[1..].to_vec(),
        cwd: PathBuf::from(&item.worktree),
        env,
        // A database path would win over BEADS_DIR.
        env_remove: vec!["BEADS_DB".into()],
        log: log_file,
        stall: o.stall,
    };
    let usage = Arc::new(Mutex::new(UsageReader::default()));
    let u2 = usage.clone();
    let on_line: exec::OnLine = Arc::new(Mutex::new(move |l: &str| {
        if let Ok(mut u) = u2.lock() {
            u.line(l);
        }
    }));
    let agent = me.w.agent.clone();
    let beat = beat_every(ctx);
    let mut last_beat = Instant::now();
    let stop = h.stop;
    let mut tick = |p: &exec::Progress| {
        me.w.pgid = Some(p.pid);
        me.w.last_line = p.last_line.as_deref().map(|l| model::cut_line(l, 200));
        if p.last_line.is_some() {
            let ago = p.last_output.elapsed().as_nanos() as Nanos;
            me.w.last_output_at = Some(time::format(clock() - ago));
        }
        me.save();
        if last_beat.elapsed() >= beat {
            last_beat = Instant::now();
            let note = format!("running {}", item.id);
            if let Ok(s) = step(ctx, &agent) {
                let ok = crate::ops::agents::heartbeat(&s, Some(&note)).is_ok();
                compose::finish(&s, ok);
            }
        }
    };
    let ran = exec::run(spec, on_line, stop, Duration::from_millis(500), &mut tick);
    let usage = usage.lock().ok().and_then(|u| u.usage());
    Ok(Supervised { ran, usage })
}

/// A run that has started.
struct Started {
    id: String,
    issue: String,
    agent: String,
    attempt: u32,
    start: Nanos,
    branch: String,
    worktree: PathBuf,
    log: PathBuf,
    folder: PathBuf,
}

/// Decide what happens to the item after its run, do it and record the run
/// in one step (so `auto_commit` commits the record with the item's change).
fn finish_run(
    ctx: &Session,
    o: &RunOptions,
    h: &mut Hooks,
    home: &ProjectHome,
    run: Started,
    sup: Supervised,
) -> Result<ItemRun> {
    let (outcome, exit_code, signal, reason) = outcome_of(&sup.ran.end, o);
    let seconds = sup.ran.ended.duration_since(sup.ran.started).as_secs();
    let hide = |t: &str| redact(t, ctx, &run.folder, home);
    let mut rec = RunRecord {
        id: run.id.clone(),
        issue: run.issue.clone(),
        agent: run.agent.clone(),
        attempt: run.attempt,
        started_at: time::format(run.start),
        ended_at: time::format(clock()),
        outcome,
        exit_code,
        signal,
        reason: None,
        tokens: sup.usage.as_ref().map(model::Usage::tokens),
        usage: sup.usage.clone(),
        command: program_name(&o.command[0]),
        branch: run.branch.clone(),
        after: "left".into(),
        tail: model::tail_lines(&sup.ran.tail, 10, 200)
            .iter()
            .map(|l| hide(l))
            .collect(),
    };
    let holds = in_step(ctx, &run.agent, h, |s| {
        Ok(crate::ops::prime::held(s)?.contains(&run.issue))
    })?;
    let gave_up = outcome.counts_as_failure() && run.attempt > o.retries;
    rec.after = match (holds, outcome) {
        (false, _) => "left",
        (true, Outcome::Success) if o.close_on_success => "closed",
        (true, Outcome::Success) => "left",
        (true, _) if gave_up => "gave_up",
        (true, _) => "released",
    }
    .into();
    let mut reason = reason.map(|r| hide(&r));
    if rec.after == "released" && outcome.counts_as_failure() {
        let wait = model::retry_at(0, run.attempt as usize, o.backoff.as_nanos() as i64);
        reason = Some(format!(
            "{}attempt {} of {}; retry in {} at the earliest",
            reason.map(|r| format!("{r}; ")).unwrap_or_default(),
            run.attempt,
            o.retries.saturating_add(1),
            model::duration_words((wait / 1_000_000_000).max(0) as u64)
        ));
    }
    rec.reason = reason;
    let text = model::summary(&rec, seconds);
    let done = match rec.after.as_str() {
        "closed" => {
            let why = format!("done by {}", run.id);
            let note = crate::ops::edit::Noted {
                comment: &text,
                label: None,
            };
            let closed = in_step(ctx, &run.agent, h, |s| {
                log::append(&s.ws, log::RUNS, std::slice::from_ref(&rec))?;
                crate::ops::edit::close_noted(s, &run.issue, &why, &note).map(|_| ())
            });
            if let Err(e) = &closed {
                (h.event)(Event::Notice(crate::ops::Notice::Warning(format!(
                    "{}: not closed: {e}",
                    run.issue
                ))));
                rec.after = "left".into();
            }
            closed.or_else(|_| comment_and_record(ctx, h, &run, &text, &rec))
        }
        "released" | "gave_up" => {
            let give_up = rec.after == "gave_up";
            release(ctx, h, &run.agent, &run.issue, &text, give_up, Some(&rec))
        }
        _ => comment_and_record(ctx, h, &run, &text, &rec),
    };
    done?;
    Ok(ItemRun {
        issue: run.issue,
        run: run.id,
        outcome,
        exit_code,
        tokens: rec.tokens,
        usd: rec.usage.as_ref().and_then(|u| u.usd),
        seconds,
        after: rec.after,
        branch: run.branch,
        worktree: run.worktree,
        log: run.log,
        reason: rec.reason,
    })
}

/// The outcome of a command's end: outcome, exit code, signal, reason.
fn outcome_of(
    end: &exec::End,
    o: &RunOptions,
) -> (Outcome, Option<i32>, Option<i32>, Option<String>) {
    match end {
        exec::End::Exited(0) => (Outcome::Success, Some(0), None, None),
        exec::End::Exited(c) => (Outcome::Failed, Some(*c), None, None),
        exec::End::Signaled(s) => (Outcome::Failed, None, Some(*s), None),
        exec::End::Stalled => (
            Outcome::Stalled,
            None,
            None,
            Some(format!(
                "no output for {}: its process group was killed",
                model::duration_words(o.stall.as_secs())
            )),
        ),
        exec::End::Stopped => (
            Outcome::Interrupted,
            None,
            None,
            Some("the worker was stopped: its process group was killed".into()),
        ),
        exec::End::NotStarted(why) => (Outcome::Error, None, None, Some(why.clone())),
    }
}

/// The run's comment on the item and its record, in one step.
fn comment_and_record(
    ctx: &Session,
    h: &mut Hooks,
    run: &Started,
    text: &str,
    rec: &RunRecord,
) -> Result<()> {
    in_step(ctx, &run.agent, h, |s| {
        log::append(&s.ws, log::RUNS, std::slice::from_ref(rec))?;
        crate::ops::labels::comment(s, &run.issue, text, None).map(|_| ())
    })
}

/// Give the item back with the run's comment (and, giving up, the
/// `run-failed` label so workers skip it until a person removes it), and
/// the run's record, in one step.
fn release(
    ctx: &Session,
    h: &mut Hooks,
    agent: &str,
    id: &str,
    text: &str,
    give_up: bool,
    record: Option<&RunRecord>,
) -> Result<()> {
    let note = crate::ops::edit::Noted {
        comment: text,
        label: give_up.then_some(model::GAVE_UP_LABEL),
    };
    in_step(ctx, agent, h, |s| {
        if let Some(r) = record {
            log::append(&s.ws, log::RUNS, std::slice::from_ref(r))?;
        }
        crate::ops::edit::unclaim_noted(s, id, &note).map(|_| ())
    })
}

/// A worker as `bd workers` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerView {
    #[serde(flatten)]
    pub worker: workers::Worker,
    /// Its process is running (otherwise it died without cleaning up).
    pub alive: bool,
}

/// `bd workers`: the workers of this project on this machine, from any
/// of its workspaces.
pub fn workers(ctx: &Session) -> Result<Vec<WorkerView>> {
    let home = ctx.home()?.ok_or_else(|| crate::ops::coord::no_home(ctx))?;
    Ok(workers::list(&home)
        .into_iter()
        .map(|w| WorkerView {
            alive: workers::running(&home, &w.agent),
            worker: w,
        })
        .collect())
}

/// What `bd run --prune` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pruned {
    pub removed: Vec<PrunedBranch>,
    pub kept: Vec<PrunedBranch>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrunedBranch {
    pub branch: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// `bd run --prune`: remove the worktrees and branches of closed items
/// whose branches are merged into this workspace's HEAD; keep (and say
/// why) every other `bd/` branch: an item not closed, commits not merged,
/// changes not committed in its worktree.
pub fn prune(ctx: &Session, folder: Option<&Path>) -> Result<Pruned> {
    let root = &ctx.ws.root;
    let snap = ctx.snapshot()?;
    let ledger = ctx.ledger().unwrap_or_default();
    let by_branch: std::collections::HashMap<String, &str> = snap
        .id_list()
        .into_iter()
        .map(|id| (model::branch_for(id), id))
        .collect();
    let trees = crate::git::worktree::list(root)?;
    let home_folder = ctx.home()?.map(|h| worktree_folder(ctx, None, &h));
    let folders: BTreeSet<PathBuf> = folder
        .map(Path::to_path_buf)
        .into_iter()
        .chain(home_folder)
        .collect();
    // Items a live worker runs now keep their worktree, whatever their state
    // (an agent may close its item before it is done writing).
    let busy: HashSet<String> = match ctx.home()? {
        Some(h) => workers::list(&h)
            .into_iter()
            .filter(|w| workers::running(&h, &w.agent))
            .filter_map(|w| w.item)
            .collect(),
        None => HashSet::new(),
    };
    let mut out = Pruned::default();
    for branch in crate::git::worktree::branches(root, "bd/")? {
        let issue = by_branch.get(&branch).map(|s| s.to_string());
        let tree = trees
            .iter()
            .find(|t| t.branch.as_deref() == Some(branch.as_str()))
            .map(|t| t.path.clone());
        let mut entry = PrunedBranch {
            branch: branch.clone(),
            issue: issue.clone(),
            worktree: tree.clone(),
            why: None,
        };
        let closed = issue
            .as_deref()
            .and_then(|i| snap.find(i))
            .and_then(|r| snap.record(r).ok())
            .is_some_and(|rec| {
                crate::model::kinds::Status::parse(&crate::ops::coord::effective_status(
                    crate::ops::coord::entry_for(&ledger, &rec),
                    &rec,
                ))
                .is_done()
            });
        let why = if issue.is_none() {
            Some("no item of this tracker has this branch".to_string())
        } else if issue.as_ref().is_some_and(|i| busy.contains(i)) {
            Some("a worker is running its item".into())
        } else if !closed {
            Some("its item is not closed".into())
        } else if !crate::git::worktree::merged(root, &branch)? {
            Some("it has commits not merged into HEAD".into())
        } else if tree
            .as_ref()
            .is_some_and(|t| !folders.iter().any(|f| t.starts_with(f)))
        {
            Some("its worktree is not in the worker's folder".into())
        } else {
            None
        };
        if let Some(why) = why {
            entry.why = Some(why);
            out.kept.push(entry);
            continue;
        }
        let gone = match &tree {
            Some(t) => crate::git::worktree::remove(root, t),
            None => Ok(()),
        }
        .and_then(|_| crate::git::worktree::delete_branch(root, &branch));
        match gone {
            Ok(()) => out.removed.push(entry),
            Err(e) => {
                entry.why = Some(e.to_string());
                out.kept.push(entry);
            }
        }
    }
    Ok(out)
}

/// `bd runs [ID]`: the runs recorded (of one issue, or all), newest first,
/// at most `limit` (0: all).
pub fn history(ctx: &Session, id: Option<&str>, limit: usize) -> Result<Vec<RunRecord>> {
    let id = match id {
        Some(q) => {
            let snap = ctx.snapshot()?;
            let prefix = ctx.prefix_of_rows(&snap.rows);
            Some(snap.resolve_id(q, &prefix)?)
        }
        None => None,
    };
    let (mut runs, _) = log::read::<RunRecord>(&ctx.ws, log::RUNS)?;
    runs.retain(|r| id.as_ref().is_none_or(|i| &r.issue == i));
    runs.sort_by(|a, b| {
        crate::model::time::parse(&b.started_at).cmp(&crate::model::time::parse(&a.started_at))
    });
    if limit > 0 {
        runs.truncate(limit);
    }
    Ok(runs)
}

//! `bd run --agents N` and `bd run --detach` (issue 13): workers as child
//! processes of `bd` itself. A fleet is N workers (`bd run --agent
//! NAME-i`) and the dispatch loop in one foreground process: it restarts a
//! worker that dies, stops them all cleanly when asked (each kills its
//! command's group, records the run as interrupted and releases the item),
//! and shows what each one does. A detached worker runs in the background,
//! its talk in a log in the project home; `bd workers` finds it.
//!
//! Each worker is a process of its own, as a worker started by hand would
//! be: one worker's crash cannot take the others down, and the claims
//! between them go through the same locks and ledger as any two `bd`.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::exec;
use crate::home::workers;
use crate::ops::Session;
use crate::ops::run::{RunReport, WorkerView};

/// How a fleet runs.
pub struct FleetOptions {
    /// The workers' agent names.
    pub names: Vec<String>,
    /// The `bd` to run (this one).
    pub exe: PathBuf,
    /// `run` and its flags for every worker (not `--agent`, `--json`, nor
    /// the command).
    pub args: Vec<String>,
    pub command: Vec<String>,
    /// How often the dispatch loop runs.
    pub interval: Duration,
    /// Times a worker that dies is started again.
    pub restarts: u32,
}

/// One worker of a fleet, at the end.
#[derive(Debug, Clone, Serialize)]
pub struct FleetWorker {
    pub agent: String,
    pub exit_code: Option<i32>,
    pub restarts: u32,
    /// Its own report (`bd run --json`), when it ended cleanly.
    pub report: Option<RunReport>,
}

/// What a fleet did.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    pub workers: Vec<FleetWorker>,
    /// `drained`, `signal`, `done` (every worker stopped by itself).
    pub stopped: String,
    pub dispatch_rounds: usize,
    pub slung: usize,
    pub recovered: usize,
}

struct Member {
    agent: String,
    child: Option<Child>,
    out: Option<std::thread::JoinHandle<String>>,
    restarts: u32,
    exit_code: Option<i32>,
    report: Option<RunReport>,
}

fn spawn(
    ctx: &Session,
    o: &FleetOptions,
    agent: &str,
) -> Result<(Child, std::thread::JoinHandle<String>)> {
    let home = ctx.home()?.ok_or_else(|| crate::ops::coord::no_home(ctx))?;
    let log = workers::talk_log(&home, agent)?;
    let mut cmd = Command::new(&o.exe);
    cmd.arg("-C")
        .arg(&ctx.ws.root)
        .args(&o.args)
        .args(["--agent", agent, "--json", "--"])
        .args(&o.command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log));
    let mut child = cmd.spawn().map_err(|e| Error::io(&o.exe, e))?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    Ok((child, reader))
}

/// Run the fleet until its workers drain, or `stop` says so. `board` sees
/// the workers' files about once a second.
pub fn fleet(
    ctx: &Session,
    o: &FleetOptions,
    stop: &dyn Fn() -> bool,
    board: &mut dyn FnMut(&[WorkerView]),
) -> Result<FleetReport> {
    let mut members = Vec::new();
    for name in &o.names {
        crate::home::presence::validate_agent_name(name)?;
        let (c, r) = spawn(ctx, o, name)?;
        members.push(Member {
            agent: name.clone(),
            child: Some(c),
            out: Some(r),
            restarts: 0,
            exit_code: None,
            report: None,
        });
    }
    let mut report = FleetReport {
        workers: Vec::new(),
        stopped: "done".into(),
        dispatch_rounds: 0,
        slung: 0,
        recovered: 0,
    };
    let mut stopping = false;
    let mut last_dispatch: Option<Instant> = None;
    let mut last_board = Instant::now() - Duration::from_secs(1);
    loop {
        if !stopping && stop() {
            stopping = true;
            report.stopped = "signal".into();
            for m in &members {
                if let Some(c) = &m.child {
                    exec::signal(c.id(), exec::SIGTERM);
                }
            }
        }
        for m in members.iter_mut() {
            reap(ctx, o, m, stopping)?;
        }
        if members.iter().all(|m| m.child.is_none()) {
            break;
        }
        if !stopping && last_dispatch.is_none_or(|t| t.elapsed() >= o.interval) {
            last_dispatch = Some(Instant::now());
            dispatch_round(ctx, &mut report);
        }
        if last_board.elapsed() >= Duration::from_secs(1) {
            last_board = Instant::now();
            let ours: Vec<WorkerView> = crate::ops::run::workers(ctx)?
                .into_iter()
                .filter(|w| o.names.contains(&w.worker.agent))
                .collect();
            board(&ours);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if report.stopped == "done"
        && members
            .iter()
            .all(|m| m.report.as_ref().is_some_and(|r| r.stopped == "drained"))
    {
        report.stopped = "drained".into();
    }
    report.workers = members
        .into_iter()
        .map(|m| FleetWorker {
            agent: m.agent,
            exit_code: m.exit_code,
            restarts: m.restarts,
            report: m.report,
        })
        .collect();
    Ok(report)
}

/// Collect a worker that ended; start it again when it died unasked.
fn reap(ctx: &Session, o: &FleetOptions, m: &mut Member, stopping: bool) -> Result<()> {
    let Some(c) = m.child.as_mut() else {
        return Ok(());
    };
    let Ok(Some(st)) = c.try_wait() else {
        return Ok(());
    };
    let text = m.out.take().and_then(|h| h.join().ok()).unwrap_or_default();
    m.report = serde_json::from_str(&text).ok();
    m.exit_code = st.code();
    m.child = None;
    // A worker that ended by itself is done (with its report, or its
    // error: a refusal is not fixed by starting it again); one that died
    // (killed by a signal, a panic) is started again, and resumes its item.
    let died = m.report.is_none() && matches!(st.code(), None | Some(101));
    if died && !stopping && m.restarts < o.restarts {
        m.restarts += 1;
        ctx.warn(format!(
            "worker {} died ({}); starting it again",
            m.agent,
            st.code()
                .map_or_else(|| "killed".to_string(), |c| format!("exit {c}"))
        ));
        let (c, r) = spawn(ctx, o, &m.agent)?;
        m.child = Some(c);
        m.out = Some(r);
    }
    Ok(())
}

/// One round of `dispatch` as the fleet's own actor: lapsed claims back to
/// the pool, ready work slung to idle workers (one item each).
fn dispatch_round(ctx: &Session, report: &mut FleetReport) {
    let opts = crate::ops::dispatch::DispatchOptions {
        per_agent: 1,
        dry_run: false,
        containers: false,
    };
    let s = match crate::ops::run::fresh_session(ctx) {
        Ok(s) => s,
        Err(_) => return,
    };
    let r = crate::ops::dispatch::dispatch(&s, &opts);
    crate::ops::compose::finish(&s, r.is_ok());
    if let Ok(plan) = r {
        report.dispatch_rounds += 1;
        report.slung += plan.slung.len();
        report.recovered += plan.recovered.len();
    }
}

/// A worker started in the background.
#[derive(Debug, Clone, Serialize)]
pub struct Detached {
    pub agent: String,
    pub pid: u32,
    /// Where its talk (stderr) goes; its command's output is in the run logs.
    pub log: PathBuf,
}

/// `bd run --detach`: start the worker in the background (a process group
/// of its own, no terminal), wait until it is running (its worker file) or
/// has failed (its first words, from its log), and say where it is.
pub fn detach(
    ctx: &Session,
    exe: &std::path::Path,
    args: &[String],
    agent: &str,
    command: &[String],
) -> Result<Detached> {
    use std::os::unix::process::CommandExt;
    crate::home::presence::validate_agent_name(agent)?;
    let home = ctx.home()?.ok_or_else(|| crate::ops::coord::no_home(ctx))?;
    let log_path = workers::talk_log_path(&home, agent);
    let log = workers::talk_log(&home, agent)?;
    let start_len = std::fs::metadata(&log_path).map_or(0, |m| m.len());
    let mut child = Command::new(exe)
        .arg("-C")
        .arg(&ctx.ws.root)
        .args(args)
        .args(["--agent", agent, "--"])
        .args(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io(exe, e))?;
    let pid = child.id();
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if let Ok(Some(st)) = child.try_wait() {
            let talk = std::fs::read(&log_path).unwrap_or_default();
            let said = String::from_utf8_lossy(&talk[(start_len as usize).min(talk.len())..])
                .lines()
                .find(|l| l.starts_with("error") || !l.trim().is_empty())
                .unwrap_or("")
                .to_string();
            if st.success() {
                // It found nothing to do (--once, --drain) and stopped.
                break;
            }
            return Err(Error::Invalid {
                msg: format!("the worker {agent} stopped at once: {said}"),
                hint: Some(format!("its log: {}", log_path.display())),
            });
        }
        if workers::find(&home, agent).is_some_and(|w| w.pid == pid) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Reap it when it ends, so it never lingers as a zombie of a
    // long-running parent (`bd mcp`).
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(Detached {
        agent: agent.to_string(),
        pid,
        log: log_path,
    })
}

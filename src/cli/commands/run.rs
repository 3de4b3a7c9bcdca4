//! `bd run [--agent NAME] [--once] [--max-items N] -- COMMAND [ARGS…]`: a
//! worker that runs an agent command on work items, each in a worktree of
//! its own (`ops::run`); `--agents N`: N workers and the dispatch loop in
//! one foreground process; `--prune`: remove the worktrees and branches of
//! closed, merged items.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::common::{Output, out};
use crate::cli::{render, signals};
use crate::error::Result;
use crate::ops::run::{Event, Hooks, RunOptions};
use crate::ops::{self, Session};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The agent this worker works as (default: your actor)
    #[arg(long)]
    pub agent: Option<String>,
    /// The agent's kind when it registers (default: the program's name)
    #[arg(long)]
    pub kind: Option<String>,
    /// Run one item, then stop
    #[arg(long)]
    pub once: bool,
    /// Stop after this many items
    #[arg(long, value_name = "N")]
    pub max_items: Option<usize>,
    /// Stop when no work is left (none claimable, none running in another worker, none waiting for a retry)
    #[arg(long)]
    pub drain: bool,
    /// Close the item when the command exits 0 (and the agent did not)
    #[arg(long)]
    pub close_on_success: bool,
    /// No output for this long kills the command (`10m`, `90s`, `500ms`; `0`: never)
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub stall: String,
    /// How long an idle worker waits before looking again
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub interval: String,
    /// Failed runs of an item retried before it is given up on (label `run-failed`)
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub retries: u32,
    /// Wait before the first retry, doubled for each further one
    #[arg(long, default_value = "1m", value_name = "DURATION")]
    pub backoff: String,
    /// The worktree folder (default: git config `bd.worktrees`, else the project home)
    #[arg(long, value_name = "DIR")]
    pub worktrees: Option<PathBuf>,
    /// Only items with this label (repeatable: all of them)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Only items of this type (repeatable)
    #[arg(short = 't', long = "type")]
    pub issue_type: Vec<String>,
    /// Only descendants of this issue
    #[arg(long)]
    pub parent: Option<String>,
    /// Only items this convoy tracks
    #[arg(long)]
    pub convoy: Option<String>,
    /// Run N workers (agents NAME-1 … NAME-N) and the dispatch loop in this process
    #[arg(long, value_name = "N")]
    pub agents: Option<usize>,
    /// Start the worker in the background and say where it is (`bd workers` lists it)
    #[arg(long, conflicts_with = "agents")]
    pub detach: bool,
    /// Remove worktrees and branches of closed items whose branches are merged
    #[arg(long, conflicts_with_all = ["agents", "once", "drain"])]
    pub prune: bool,
    /// `-q`, from the command line: no event lines
    #[arg(skip)]
    pub quiet: bool,
    /// A worker of a fleet: it stops when the fleet's process is gone
    #[arg(long, hide = true)]
    pub fleet: bool,
    /// The agent command and its arguments (placeholders: {id} {title} {description} {prompt} {prompt_file} {prime_file} {worktree} {branch})
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `90s`, `10m`, `1h`, `500ms`, or a number of seconds.
pub fn duration(flag: &str, s: &str) -> Result<Duration> {
    let t = s.trim();
    let bad = || {
        ops::usage(format!(
            "--{flag} {s:?}: give a duration such as 30s, 10m, 1h or 500ms"
        ))
    };
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if !secs.is_finite() || !(0.0..=30.0 * 86400.0).contains(&secs) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn options(a: &Args) -> Result<RunOptions> {
    let filter = ops::query::Filter {
        labels: a.label.clone(),
        types: a.issue_type.clone(),
        parent: a.parent.clone(),
        ..Default::default()
    };
    Ok(RunOptions {
        convoy: a.convoy.clone(),
        agent: a.agent.clone(),
        kind: a.kind.clone(),
        once: a.once,
        max_items: a.max_items,
        drain: a.drain,
        filter,
        command: absolute_program(&a.command),
        close_on_success: a.close_on_success,
        stall: duration("stall", &a.stall)?,
        interval: duration("interval", &a.interval)?,
        retries: a.retries,
        backoff: duration("backoff", &a.backoff)?,
        worktrees: a.worktrees.as_deref().map(absolute),
    })
}

/// A path as given, made absolute from the current folder (the command
/// runs in the item's worktree; git runs in the workspace's root).
fn absolute(p: &std::path::Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    std::env::current_dir().map_or_else(|_| p.to_path_buf(), |d| d.join(p))
}

/// The command with a relative program path (`./agent.sh`) made absolute;
/// a bare name is looked up on PATH when it runs.
fn absolute_program(cmd: &[String]) -> Vec<String> {
    let mut v = cmd.to_vec();
    if let Some(p) = v.first_mut()
        && p.contains('/')
    {
        *p = absolute(std::path::Path::new(p.as_str()))
            .display()
            .to_string();
    }
    v
}

/// `bd prime`'s text for the agent, handed to the command in a file.
fn prime_text(s: &Session) -> Result<String> {
    super::prime::text_for(s)
}

pub fn run(ctx: &Session, a: Args, json: bool) -> Result<Output> {
    if a.prune {
        let p = ops::run::prune(ctx, a.worktrees.as_deref())?;
        let mut t = String::new();
        for r in &p.removed {
            t.push_str(&format!(
                "removed {}{}\n",
                r.branch,
                r.worktree
                    .as_ref()
                    .map(|w| format!(" and {}", w.display()))
                    .unwrap_or_default()
            ));
        }
        for k in &p.kept {
            t.push_str(&format!(
                "kept {}: {}\n",
                k.branch,
                k.why.as_deref().unwrap_or("")
            ));
        }
        if p.removed.is_empty() && p.kept.is_empty() {
            ctx.notice("no worker branches (bd/…) to prune");
        }
        return Ok(out(&p, t));
    }
    let o = options(&a)?;
    if a.agents.is_some() || a.detach {
        return background(ctx, &a, &o, json);
    }
    signals::catch_stop_signals();
    // A fleet's worker stops when its fleet is gone (killed with -9: no
    // signal reaches the workers), as a Ctrl-C would stop it.
    let parent = std::os::unix::process::parent_id();
    let fleet = a.fleet;
    let stop = move || {
        signals::stop_requested() || (fleet && std::os::unix::process::parent_id() != parent)
    };
    let quiet = json || a.quiet;
    let mut event = |e: Event| say(&e, quiet);
    let mut hooks = Hooks {
        stop: &stop,
        event: &mut event,
        prime_text: &prime_text,
    };
    let report = ops::run::run(ctx, &o, &mut hooks)?;
    let mut t = format!(
        "{}: {} run{} ({})\n",
        report.agent,
        report.runs.len(),
        if report.runs.len() == 1 { "" } else { "s" },
        stopped_words(&report.stopped)
    );
    if ["nothing", "waiting", "budget"].contains(&report.stopped.as_str()) {
        t = format!("{}: {}\n", report.agent, stopped_words(&report.stopped));
    }
    Ok(out(&report, t))
}

pub fn stopped_words(s: &str) -> &'static str {
    match s {
        "once" => "--once",
        "max_items" => "--max-items reached",
        "drained" => "no work left",
        "nothing" => "nothing to work on",
        "waiting" => "items wait out their retry backoff",
        "budget" => "its budget is spent",
        "signal" => "stopped",
        _ => "stopped",
    }
}

/// A worker's events on stderr, one line each.
fn say(e: &Event, quiet: bool) {
    let line = match e {
        Event::Started {
            issue,
            title,
            run,
            worktree,
            log,
            resumed,
        } => format!(
            "{} {issue} {} ({run}) in {}; log {}",
            if *resumed { "resuming" } else { "running" },
            render::one_line(title),
            worktree.display(),
            log.display()
        ),
        Event::Ended(r) => format!(
            "{} {}: {}{} after {}s{}{}",
            match r.after.as_str() {
                "closed" => "closed",
                "released" => "released",
                "gave_up" => "gave up on",
                _ => "done with",
            },
            r.issue,
            r.outcome.word(),
            r.exit_code
                .map(|c| format!(" (exit {c})"))
                .unwrap_or_default(),
            r.seconds,
            r.tokens
                .map(|t| format!(", {t} tokens"))
                .unwrap_or_default(),
            r.reason
                .as_ref()
                .map(|w| format!("; {}", render::one_line(w)))
                .unwrap_or_default(),
        ),
        Event::Skipped(s) => format!("skipping {}: {}", s.issue, render::one_line(&s.why)),
        Event::Notice(n) => {
            if !render::loud(n) {
                return;
            }
            render::notice(n)
        }
    };
    if quiet && !matches!(e, Event::Notice(_)) {
        return;
    }
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{}", render::terminal_safe(&line));
    let _ = err.flush();
}

/// The worker's flags for a child `bd run` (the fleet's, `--detach`'s):
/// everything but `--agent`, `--agents`, `--detach` and the command.
fn child_args(a: &Args) -> Vec<String> {
    let mut v = vec!["run".to_string()];
    if a.agents.is_some() {
        v.push("--fleet".into());
    }
    let mut flag = |f: &str, on: bool| {
        if on {
            v.push(f.to_string());
        }
    };
    flag("--once", a.once);
    flag("--drain", a.drain);
    flag("--close-on-success", a.close_on_success);
    let mut kv = |f: &str, x: Option<String>| {
        if let Some(x) = x {
            v.push(format!("--{f}={x}"));
        }
    };
    kv("kind", a.kind.clone());
    kv("max-items", a.max_items.map(|n| n.to_string()));
    kv("stall", Some(a.stall.clone()));
    kv("interval", Some(a.interval.clone()));
    kv("retries", Some(a.retries.to_string()));
    kv("backoff", Some(a.backoff.clone()));
    kv(
        "worktrees",
        a.worktrees
            .as_deref()
            .map(|w| absolute(w).display().to_string()),
    );
    kv("parent", a.parent.clone());
    kv("convoy", a.convoy.clone());
    for l in &a.label {
        kv("label", Some(l.clone()));
    }
    for t in &a.issue_type {
        kv("type", Some(t.clone()));
    }
    v
}

/// `--agents N` (a fleet in the foreground) and `--detach` (one worker in
/// the background).
fn background(ctx: &Session, a: &Args, o: &RunOptions, json: bool) -> Result<Output> {
    let exe = std::env::current_exe().map_err(|e| crate::error::Error::io("bd", e))?;
    let base = a.agent.clone().unwrap_or_else(|| ctx.actor.clone());
    // The same checks a worker makes, before any process starts.
    crate::model::run::check_command(&o.command).map_err(ops::usage)?;
    if a.detach {
        let d = ops::fleet::detach(ctx, &exe, &child_args(a), &base, &o.command)?;
        let t = format!(
            "worker {} started (pid {}); its log: {}\n",
            d.agent,
            d.pid,
            d.log.display()
        );
        return Ok(out(&d, t));
    }
    let n = a.agents.unwrap_or(1);
    if n == 0 || n > 64 {
        return Err(ops::usage("--agents takes 1 to 64"));
    }
    signals::catch_stop_signals();
    let f = ops::fleet::FleetOptions {
        names: (1..=n).map(|i| format!("{base}-{i}")).collect(),
        exe,
        args: child_args(a),
        command: o.command.clone(),
        interval: o.interval.max(std::time::Duration::from_millis(200)),
        restarts: 3,
    };
    let stop = || signals::stop_requested();
    let mut shown: Vec<String> = Vec::new();
    let mut said: Vec<String> = Vec::new();
    let tty = !json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut board = |ws: &[ops::run::WorkerView]| {
        let lines: Vec<String> = ws.iter().map(board_line).collect();
        let mut err = std::io::stderr();
        if tty {
            if !shown.is_empty() {
                let _ = write!(err, "\x1b[{}A", shown.len());
            }
            for l in &lines {
                let _ = writeln!(err, "\x1b[2K{}", render::terminal_safe(l));
            }
        } else if !json {
            // Not a terminal: a line when a worker starts or ends an item
            // (its time on it and its output move every second).
            let keys: Vec<String> = ws.iter().map(board_key).collect();
            for (k, l) in keys.iter().zip(&lines) {
                if !said.contains(k) {
                    let _ = writeln!(err, "{}", render::terminal_safe(l));
                }
            }
            said = keys;
        }
        let _ = err.flush();
        shown = lines;
    };
    let r = ops::fleet::fleet(ctx, &f, &stop, &mut board)?;
    let runs: usize = r
        .workers
        .iter()
        .filter_map(|w| w.report.as_ref())
        .map(|x| x.runs.len())
        .sum();
    let t = format!(
        "{} workers, {runs} runs ({}); dispatch: {} rounds, {} slung, {} recovered\n",
        r.workers.len(),
        stopped_words(&r.stopped),
        r.dispatch_rounds,
        r.slung,
        r.recovered
    );
    Ok(out(&r, t))
}

/// What a worker does, without the parts that move every second.
fn board_key(v: &ops::run::WorkerView) -> String {
    let w = &v.worker;
    format!("{} {:?} {} {}", w.agent, w.item, v.alive, w.items_done)
}

/// The clock, for the board's times (the fleet runs for a while).
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// A worker on the fleet's board: its item, for how long, its last output.
fn board_line(v: &ops::run::WorkerView) -> String {
    let w = &v.worker;
    match (&w.item, v.alive) {
        (_, false) => format!("{:<14} gone", w.agent),
        (Some(item), true) => format!(
            "{:<14} {item} {} {} {}",
            w.agent,
            w.run_started_at
                .as_deref()
                .and_then(crate::model::time::parse)
                .map(|t| render::short_age((now() - t) / 1_000_000_000))
                .unwrap_or_default(),
            render::one_line(&w.title.clone().unwrap_or_default())
                .chars()
                .take(40)
                .collect::<String>(),
            w.last_line
                .as_deref()
                .map(|l| format!(
                    "| {}",
                    render::one_line(l).chars().take(60).collect::<String>()
                ))
                .unwrap_or_default()
        ),
        (None, true) => format!("{:<14} idle, {} done", w.agent, w.items_done),
    }
}

//! Running an agent command under supervision (issue 13): directly (never
//! through a shell), in a process group of its own, with its output streamed
//! line by line to a log and to the caller, killed as a whole group when it
//! stalls or when the worker is asked to stop. std has no process-group kill;
//! the C library's `kill` (linked into every Rust program on Linux and macOS)
//! is declared here, as `cli::signals` declares `signal`.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const SIGTERM: i32 = 15;
pub const SIGKILL: i32 = 9;

unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// Send `sig` to every process of the group `pgid`. Returns whether any
/// process received it.
pub fn kill_group(pgid: u32, sig: i32) -> bool {
    let Ok(p) = i32::try_from(pgid) else {
        return false;
    };
    if p <= 1 {
        return false;
    }
    // SAFETY: `kill` has no memory effects; a negative pid names a group.
    unsafe { kill(-p, sig) == 0 }
}

/// Send `sig` to one process. Returns whether it received it.
pub fn signal(pid: u32, sig: i32) -> bool {
    let Ok(p) = i32::try_from(pid) else {
        return false;
    };
    if p <= 1 {
        return false;
    }
    // SAFETY: `kill` has no memory effects.
    unsafe { kill(p, sig) == 0 }
}

/// Whether a process (or, with `group`, any process of the group) exists.
pub fn alive(pid: u32, group: bool) -> bool {
    let Ok(p) = i32::try_from(pid) else {
        return false;
    };
    if p <= 1 {
        return false;
    }
    let target = if group { -p } else { p };
    // SAFETY: signal 0 only checks that the target exists.
    let r = unsafe { kill(target, 0) };
    // EPERM (exists, not ours) also means alive.
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(1)
}

/// Whether the process `pid` was started with `VAR=value` in its
/// environment (the worker loop puts `BD_RUN=<run id>` there, so a process
/// group found in a dead worker's file is known to be that run's before it
/// is killed, whatever pid reuse did since). `None` where the system does
/// not tell (no `/proc`).
pub fn has_env(pid: u32, var: &str, value: &str) -> Option<bool> {
    let b = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let want = format!("{var}={value}");
    Some(b.split(|&c| c == 0).any(|kv| kv == want.as_bytes()))
}

/// Kill a whole process group: SIGTERM, then SIGKILL after `grace` for what
/// is left.
pub fn kill_group_hard(pgid: u32, grace: Duration) {
    stop_group(pgid, grace, |d| {
        std::thread::sleep(d);
        true
    });
}

/// SIGTERM to a group, then SIGKILL for whatever of it is left after
/// `grace`. `leader_gone` waits up to the time it is given for the group's
/// leader to be gone (reaped, when it is the caller's child: a zombie
/// leader keeps the group alive) and says whether it is.
fn stop_group(pgid: u32, grace: Duration, mut leader_gone: impl FnMut(Duration) -> bool) {
    if !kill_group(pgid, SIGTERM) {
        return;
    }
    let end = Instant::now() + grace;
    while Instant::now() < end {
        if leader_gone(Duration::from_millis(20)) && !alive(pgid, true) {
            return;
        }
    }
    kill_group(pgid, SIGKILL);
}

/// A callback that sees each line of output, shared with a reader thread.
pub type OnLine = Arc<Mutex<dyn FnMut(&str) + Send>>;

/// The command to run.
pub struct Spec {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// Set in the child's environment.
    pub env: Vec<(String, OsString)>,
    /// Removed from the child's environment.
    pub env_remove: Vec<String>,
    /// Where its output goes (appended, both streams).
    pub log: std::fs::File,
    /// No output for this long: a stall (zero: never).
    pub stall: Duration,
}

/// What the command is doing, for the caller's ticks.
pub struct Progress {
    pub pid: u32,
    pub started: Instant,
    pub last_output: Instant,
    pub last_line: Option<String>,
}

/// How it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Exited(i32),
    Signaled(i32),
    /// Silent longer than the stall limit: the group was killed.
    Stalled,
    /// The caller asked to stop: the group was killed.
    Stopped,
    /// It could not start.
    NotStarted(String),
}

pub struct Ran {
    pub end: End,
    pub started: Instant,
    pub ended: Instant,
    /// The last lines of output (both streams, in arrival order).
    pub tail: VecDeque<String>,
}

/// How many lines [`Ran::tail`] keeps.
const TAIL: usize = 50;

struct Shared {
    tail: Mutex<VecDeque<String>>,
    /// Milliseconds after start of the last output.
    last_ms: AtomicU64,
    log: Mutex<std::fs::File>,
}

/// The longest line kept whole for the caller and the tail; a longer one
/// is cut there (the log gets every byte).
const LINE_MAX: usize = 64 * 1024;

fn emit(line: &[u8], shared: &Shared, on_line: &Option<OnLine>) {
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end_matches(['\n', '\r']);
    if let Some(cb) = on_line
        && let Ok(mut cb) = cb.lock()
    {
        cb(line);
    }
    if let Ok(mut t) = shared.tail.lock() {
        if t.len() == TAIL {
            t.pop_front();
        }
        t.push_back(line.to_string());
    }
}

/// Copy a stream to the log as it comes (any output, a line or not, is a
/// sign of life), and hand each line, cut at [`LINE_MAX`], to the caller.
fn pump(mut stream: impl Read, shared: Arc<Shared>, started: Instant, on_line: Option<OnLine>) {
    let mut chunk = [0u8; 8192];
    let mut line: Vec<u8> = Vec::new();
    let mut cut = false;
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        shared
            .last_ms
            .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        if let Ok(mut f) = shared.log.lock() {
            let _ = f.write_all(&chunk[..n]);
        }
        for part in chunk[..n].split_inclusive(|&b| b == b'\n') {
            if !cut {
                let room = LINE_MAX.saturating_sub(line.len());
                line.extend_from_slice(&part[..part.len().min(room)]);
                cut = part.len() > room;
            }
            if part.ends_with(b"\n") {
                emit(&line, &shared, &on_line);
                line.clear();
                cut = false;
            }
        }
    }
    if !line.is_empty() {
        emit(&line, &shared, &on_line);
        if let Ok(mut f) = shared.log.lock() {
            let _ = f.write_all(b"\n");
        }
    }
}

/// Stop a command: SIGTERM to its group, the leader reaped as it exits
/// (`status`), SIGKILL for whatever of the group is left after `grace`.
fn terminate(
    pgid: u32,
    grace: Duration,
    done: &std::sync::mpsc::Receiver<std::io::Result<std::process::ExitStatus>>,
    status: &mut Option<std::process::ExitStatus>,
) {
    stop_group(pgid, grace, |d| {
        if status.is_some() {
            std::thread::sleep(d);
        } else if let Ok(st) = done.recv_timeout(d) {
            *status = st.ok();
        }
        status.is_some()
    });
}

/// Run `spec` to its end. `on_stdout` sees each line of standard output;
/// `stop` is asked between polls (then the group is killed: [`End::Stopped`]);
/// `tick` is called at once, then about every `tick_every` while it runs.
pub fn run(
    spec: Spec,
    on_stdout: OnLine,
    stop: &dyn Fn() -> bool,
    tick_every: Duration,
    tick: &mut dyn FnMut(&Progress),
) -> Ran {
    let started = Instant::now();
    let not_started = |why: String| Ran {
        end: End::NotStarted(why),
        started,
        ended: Instant::now(),
        tail: VecDeque::new(),
    };
    if !spec.cwd.is_dir() {
        return not_started(format!(
            "its working folder {} is missing",
            spec.cwd.display()
        ));
    }
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for k in &spec.env_remove {
        cmd.env_remove(k);
    }
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let name = std::path::Path::new(&spec.program)
                .file_name()
                .map_or(spec.program.clone(), |n| n.to_string_lossy().into_owned());
            return not_started(match e.kind() {
                std::io::ErrorKind::NotFound => format!("no such program: {name}"),
                std::io::ErrorKind::PermissionDenied => {
                    format!("{name} cannot be run: permission denied")
                }
                _ => format!("{name} cannot be started: {e}"),
            });
        }
    };
    let pid = child.id();
    let shared = Arc::new(Shared {
        tail: Mutex::new(VecDeque::new()),
        last_ms: AtomicU64::new(0),
        log: Mutex::new(spec.log),
    });
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        let s = shared.clone();
        let cb = on_stdout.clone();
        readers.push(std::thread::spawn(move || pump(out, s, started, Some(cb))));
    }
    if let Some(err) = child.stderr.take() {
        let s = shared.clone();
        readers.push(std::thread::spawn(move || pump(err, s, started, None)));
    }
    // A thread waits for the leader, so its end is seen at once.
    let (tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    // The first tick comes at once: the caller learns the process group
    // before anything can kill it.
    let mut last_tick: Option<Instant> = None;
    let mut killed: Option<End> = None;
    let mut status: Option<std::process::ExitStatus> = None;
    loop {
        if last_tick.is_none_or(|t| t.elapsed() >= tick_every) {
            last_tick = Some(Instant::now());
            let last = started + Duration::from_millis(shared.last_ms.load(Ordering::Relaxed));
            let last_line = shared.tail.lock().ok().and_then(|t| t.back().cloned());
            tick(&Progress {
                pid,
                started,
                last_output: last,
                last_line,
            });
        }
        match done.recv_timeout(Duration::from_millis(50)) {
            Ok(st) => {
                status = st.ok();
                break;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        let last = started + Duration::from_millis(shared.last_ms.load(Ordering::Relaxed));
        let why = if stop() {
            Some(End::Stopped)
        } else if !spec.stall.is_zero() && last.elapsed() >= spec.stall {
            Some(End::Stalled)
        } else {
            None
        };
        if let Some(why) = why {
            killed = Some(why);
            terminate(pid, Duration::from_secs(3), &done, &mut status);
            if status.is_none() {
                status = done
                    .recv_timeout(Duration::from_secs(2))
                    .ok()
                    .and_then(Result::ok);
            }
            break;
        }
    }
    // The leader is gone; what it left in its group goes with it (an agent's
    // background helpers must not outlive the run).
    if alive(pid, true) {
        let mut reaped = status;
        terminate(pid, Duration::from_millis(500), &done, &mut reaped);
    }
    // Readers end when every writer of the pipes is gone; a process that
    // left the group and kept them open must not hold the worker: wait a
    // little, then go on without them.
    let wait_end = Instant::now() + Duration::from_secs(2);
    for r in readers {
        while !r.is_finished() && Instant::now() < wait_end {
            std::thread::sleep(Duration::from_millis(5));
        }
        if r.is_finished() {
            let _ = r.join();
        }
    }
    let end = match (killed, status) {
        (Some(k), _) => k,
        (None, Some(st)) => match (st.code(), st.signal()) {
            (Some(c), _) => End::Exited(c),
            (None, Some(s)) => End::Signaled(s),
            _ => End::Exited(-1),
        },
        (None, None) => End::Exited(-1),
    };
    let tail = shared.tail.lock().map(|t| t.clone()).unwrap_or_default();
    Ran {
        end,
        started,
        ended: Instant::now(),
        tail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(args: &[&str], stall: Duration) -> (Spec, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        (
            Spec {
                program: args[0].into(),
                args: args[1..].iter().map(|s| s.to_string()).collect(),
                cwd: dir.path().to_path_buf(),
                env: vec![],
                env_remove: vec![],
                log,
                stall,
            },
            dir,
        )
    }

    fn noop() -> OnLine {
        Arc::new(Mutex::new(|_: &str| {}))
    }

    #[test]
    fn output_is_logged_and_the_exit_status_kept() {
        let (s, dir) = spec(
            &["sh", "-c", "echo one; echo two >&2; exit 3"],
            Duration::from_secs(30),
        );
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = lines.clone();
        let cb: OnLine = Arc::new(Mutex::new(move |l: &str| {
            l2.lock().unwrap().push(l.to_string())
        }));
        let r = run(s, cb, &|| false, Duration::from_secs(1), &mut |_| {});
        assert_eq!(r.end, End::Exited(3));
        assert_eq!(*lines.lock().unwrap(), vec!["one".to_string()]);
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert!(log.contains("one\n") && log.contains("two\n"), "{log}");
        assert_eq!(r.tail.len(), 2);
    }

    #[test]
    fn a_silent_group_is_killed_as_a_stall() {
        let (s, dir) = spec(
            &["sh", "-c", "sleep 30 & echo $! > child; echo started; wait"],
            Duration::from_millis(400),
        );
        let r = run(s, noop(), &|| false, Duration::from_secs(1), &mut |_| {});
        assert_eq!(r.end, End::Stalled);
        let child: u32 = std::fs::read_to_string(dir.path().join("child"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // A killed child may stay a zombie until its new parent reaps it.
        let running = || {
            std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
        };
        assert!(!running(), "the background child was left running");
    }

    #[test]
    fn output_without_line_ends_is_a_sign_of_life() {
        let (s, _d) = spec(
            &[
                "sh",
                "-c",
                "for i in 1 2 3 4 5 6 7 8; do printf .; sleep 0.1; done",
            ],
            Duration::from_millis(400),
        );
        let r = run(s, noop(), &|| false, Duration::from_secs(1), &mut |_| {});
        assert_eq!(r.end, End::Exited(0));
        assert_eq!(r.tail.back().map(String::as_str), Some("........"));
    }

    #[test]
    fn a_missing_program_does_not_start() {
        let (s, _d) = spec(&["/no/such/program"], Duration::from_secs(1));
        let r = run(s, noop(), &|| false, Duration::from_secs(1), &mut |_| {});
        assert!(
            matches!(r.end, End::NotStarted(ref w) if w.contains("no such program")),
            "{:?}",
            r.end
        );
    }
}

//! The command line: parse (`args`), build the environment, run the verb
//! (one file per verb in `commands`), and map errors to words, hints and exit
//! codes. The only place that prints, reads the environment and picks exit codes.

pub mod args;
pub mod commands;
pub mod demo;
pub mod mcp;
pub mod render;
pub mod signals;
pub mod ui;
pub mod verbs;

use std::io::Write;

use serde_json::json;

use crate::error::Result;
use crate::ops::{self, Notice, Session};
use args::{Cli, Cmd, Lazy};
use commands as c;
use commands::common::{Output, env_from_process, lock_ms_from_env, now_from_env};

pub fn main() -> i32 {
    let argv: Vec<String> = std::env::args().collect();
    let wants_json = argv.iter().any(|a| a == "--json");
    let cli = match Cli::parse_argv(&argv) {
        Ok(c) => c,
        Err(e) => return usage_error(&e, wants_json),
    };
    report(cli)
}

/// A command run in this process (a tool call of `bd mcp`): its output or
/// its error, and what it said on the way. `argv` starts with the program
/// name, as `std::env::args` does.
pub fn execute(argv: &[String]) -> (Result<Output>, Vec<Notice>) {
    match Cli::parse_argv(argv) {
        Ok(cli) => {
            let json = cli.json;
            let (r, notices) = run(cli);
            (r.and_then(|o| o.hold(json)), notices)
        }
        Err(e) => {
            let msg = e.to_string();
            let first = msg
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_string();
            (Err(crate::error::Error::Usage(first)), vec![])
        }
    }
}

/// A line on stderr; a closed stderr is not a crash (`eprintln!` panics).
macro_rules! err_line {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// A line on stdout; a closed stdout is not a crash.
macro_rules! out_line {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// A command line clap refused: the one-line error (and JSON with `--json`),
/// then clap's usage; exit 2. Help and version requests print and exit 0.
fn usage_error(e: &clap::Error, wants_json: bool) -> i32 {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return 0;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        if wants_json {
            let doc = json!({"error": "a subcommand or argument is missing", "code": "usage", "hint": "see `bd --help`"});
            out_line!("{doc}");
        }
        err_line!("Error: a subcommand or argument is missing");
        let _ = e.print();
        return 2;
    }
    let msg = e.to_string();
    // clap's message runs until the usage line: keep all of it, so
    // "required arguments were not provided" names them.
    let first = msg
        .lines()
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_string();
    if wants_json {
        out_line!(
            "{}",
            json!({"error": first, "code": "usage", "hint": "see `bd --help`"})
        );
    }
    // The same one line as the JSON error, then clap's usage part.
    err_line!("error: {}", render::terminal_safe(&first));
    let rest: Vec<&str> = msg
        .lines()
        .skip_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
        .collect();
    if !rest.is_empty() {
        err_line!("{}", render::terminal_safe(&rest.join("\n")));
    }
    2
}

/// Runs the command, prints its notices and output (or its error), and
/// gives the exit code.
fn report(cli: Cli) -> i32 {
    let json_mode = cli.json;
    let quiet = cli.quiet;
    let (result, notices) = run(cli);
    for n in &notices {
        if !quiet || render::loud(n) {
            err_line!("{}", render::notice(n));
        }
    }
    match result {
        Ok(mut o) if o.stream.is_some() => {
            let write = o.stream.take().expect("checked");
            match print_stream(write, json_mode) {
                Ok(()) => o.code,
                // Nothing printed yet: as any error.
                Err((e, false)) => report_error(&e, json_mode),
                Err((e, true)) => {
                    // Part of the output is out: no JSON error after it.
                    err_line!("Error: {}", render::one_line(&render::error_message(&e)));
                    e.exit_code()
                }
            }
        }
        Ok(o) => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            if json_mode && envelope() {
                // Classic's opt-in envelope (BD_JSON_ENVELOPE=1): the
                // document, untouched, under `data`.
                let _ = writeln!(lock, "{{\"schema_version\": 1, \"data\": {}}}", o.json);
            } else if json_mode {
                let _ = writeln!(lock, "{}", with_schema_version(&o.json));
            } else if !o.text.is_empty() {
                let _ = write!(lock, "{}", render::terminal_safe(&o.text));
                if !o.text.ends_with('\n') {
                    let _ = writeln!(lock);
                }
            }
            o.code
        }
        Err(e) => report_error(&e, json_mode),
    }
}

/// Print a command's error (and its JSON document under `--json`); its
/// exit code.
fn report_error(e: &crate::error::Error, json_mode: bool) -> i32 {
    let hint = e.hint();
    let msg = render::error_message(e);
    if json_mode {
        // SPEC §4's error document (classic prints its errors on
        // stderr: no client reads them here); the envelope adds
        // schema_version, as classic's does.
        let mut doc = json!({"error": msg, "code": e.code(), "hint": hint});
        if envelope() {
            doc["schema_version"] = json!(1);
        }
        out_line!("{doc}");
    }
    // One line each: a value quoted in an error (a file name from a
    // commit, a title) can never fake another line.
    err_line!("Error: {}", render::one_line(&msg));
    if let Some(h) = hint
        && !json_mode
    {
        err_line!("Hint: {}", render::one_line(&h));
    }
    e.exit_code()
}

/// Print a streamed output ([`Output::stream`]) as [`report`] prints a
/// held one: under `--json` the document (an array, printed as it is, or
/// in the envelope), else the text made safe for a terminal. A closed
/// stdout ends it quietly, as it ends a held output. An error says whether
/// any of the output was printed before it.
fn print_stream(
    write: commands::common::Stream,
    json_mode: bool,
) -> std::result::Result<(), (crate::error::Error, bool)> {
    /// Stdout, buffered, remembering whether a write failed and the last
    /// byte; `before` goes out ahead of the first byte.
    struct Out<W: Write> {
        w: W,
        closed: bool,
        last: Option<u8>,
        safe: bool,
        before: &'static str,
    }
    impl<W: Write> Write for Out<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.write_all(buf).map(|()| buf.len())
        }
        fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
            if buf.is_empty() {
                return Ok(());
            }
            let mut r = Ok(());
            if self.last.is_none() {
                r = self.w.write_all(self.before.as_bytes());
            }
            let unsafe_text = self.safe && render::has_dangerous(buf, true);
            r = r.and_then(|()| match unsafe_text.then(|| std::str::from_utf8(buf)) {
                Some(Ok(text)) => self.w.write_all(render::terminal_safe(text).as_bytes()),
                _ => self.w.write_all(buf),
            });
            if r.is_err() {
                self.closed = true;
            }
            self.last = buf.last().copied();
            r
        }
        fn flush(&mut self) -> std::io::Result<()> {
            let r = self.w.flush();
            if r.is_err() {
                self.closed = true;
            }
            r
        }
    }
    let stdout = std::io::stdout();
    let wrapped = json_mode && envelope();
    let mut out = Out {
        w: std::io::BufWriter::with_capacity(1 << 16, stdout.lock()),
        closed: false,
        last: None,
        safe: !json_mode,
        before: if wrapped {
            "{\"schema_version\": 1, \"data\": "
        } else {
            ""
        },
    };
    let r = write(&mut out);
    let printed = out.last.is_some();
    if let Err(e) = r {
        let _ = out.flush();
        return match out.closed {
            true => Ok(()),
            false => Err((e, printed)),
        };
    }
    if wrapped {
        let _ = write!(out, "}}");
    }
    if (json_mode || out.last.is_some_and(|b| b != b'\n')) && !out.closed {
        let _ = writeln!(out);
    }
    let _ = out.flush();
    Ok(())
}

/// A command's JSON object as classic prints one without the envelope:
/// with `"schema_version": 1` first (JSON_SCHEMA.md, legacy mode); arrays
/// as they are. (`doc` is pretty-printed: an object's first key is on the
/// next line.)
fn with_schema_version(doc: &str) -> std::borrow::Cow<'_, str> {
    match doc.strip_prefix('{') {
        Some(rest) if rest.trim_start().starts_with('}') => "{\"schema_version\": 1}".into(),
        Some(rest) => format!("{{\n  \"schema_version\": 1,{rest}").into(),
        None => doc.into(),
    }
}

/// Classic's JSON envelope is asked for (`BD_JSON_ENVELOPE=1`).
fn envelope() -> bool {
    std::env::var("BD_JSON_ENVELOPE").is_ok_and(|v| v.trim() == "1")
}

fn run(cli: Cli) -> (Result<Output>, Vec<Notice>) {
    let start = cli.start();
    let env = ops::Env {
        readonly: cli.readonly,
        offline: cli.sandbox || cli.offline_claim,
        remote: cli.remote,
        offline_claim: cli.offline_claim,
        ..env_from_process(cli.actor.clone())
    };
    ops::compose::set_lock_timeout(env.lock_timeout);
    if cli.readonly && verbs::writes(&cli.cmd.0) {
        return (
            Err(crate::error::Error::Invalid {
                msg: format!(
                    "`bd {}` writes, and --readonly refuses every write",
                    verbs::verb_name(&cli.cmd.0)
                ),
                hint: Some("run it without --readonly".into()),
            }),
            vec![],
        );
    }
    // Commands that work without an initialized workspace.
    let cmd = match cli.cmd.0 {
        Cmd::Version => return (Ok(c::version::run()), vec![]),
        Cmd::Completion(Lazy(a)) => return (Ok(c::completion::run(a)), vec![]),
        Cmd::Merge(Lazy(a)) => return (c::merge::run(a), vec![]),
        Cmd::Demo(a) => return (c::demo::run(a, cli.json), vec![]),
        Cmd::Onboard => return (Ok(c::onboard::run()), vec![c::onboard::pointer()]),
        Cmd::Setup(Lazy(a)) => return (c::setup::run(&start, a), vec![]),
        Cmd::Quickstart => return (Ok(c::quickstart::run()), vec![]),
        Cmd::Ui(Lazy(a)) => {
            if let Err(e) = ops::compose::tracker_here(&start) {
                return (Err(e), vec![]);
            }
            let r = ui::serve(start, cli.actor.clone(), a).map(|_| Output {
                json: String::new(),
                text: String::new(),
                code: 0,
                stream: None,
            });
            return (r, vec![]);
        }
        Cmd::Mcp(Lazy(a)) => {
            // Each call opens the workspace as a command does; the server
            // refuses to start without one.
            if let Err(e) = ops::compose::tracker_here(&start) {
                return (Err(e), vec![]);
            }
            let global: Vec<String> = [
                (cli.readonly, "--readonly"),
                (cli.sandbox, "--sandbox"),
                (cli.remote, "--remote"),
                (cli.offline_claim, "--offline-claim"),
            ]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, f)| f.to_string())
            .collect();
            let r = mcp::serve(start, cli.actor.clone(), global, a).map(|_| Output {
                json: String::new(),
                text: String::new(),
                code: 0,
                stream: None,
            });
            return (r, vec![]);
        }
        Cmd::Init(Lazy(a)) => {
            return match c::init::run(&start, a) {
                Ok((o, talk)) => (Ok(o), talk),
                Err(e) => (Err(e), vec![]),
            };
        }
        cmd => cmd,
    };
    let doctor = match &cmd {
        Cmd::Doctor(a) => Some(a.fix),
        _ => None,
    };
    let mut ctx = match ops::compose::open(&start, doctor, || {
        Ok(ops::Env {
            now: {
                lock_ms_from_env()?;
                now_from_env()?
            },
            ..env
        })
    }) {
        Ok(c) => c,
        Err(e) => return (Err(e), vec![]),
    };
    ctx.verb = verbs::verb_of(&cmd).to_string();
    if matches!(&cmd, Cmd::Where(Lazy(a)) if a.trust)
        && let Err(e) = c::where_::trust(&ctx)
    {
        return (Err(e), ctx.notices.take());
    }
    ops::compose::begin(&mut ctx);
    // A worker's event lines are talk: `-q` keeps them off stderr.
    let cmd = match cmd {
        Cmd::Run(Lazy(mut a)) => {
            a.quiet = cli.quiet;
            Cmd::Run(Lazy(a))
        }
        c => c,
    };
    let r = verb(&ctx, cmd, cli.json);
    ops::compose::finish(&ctx, r.is_ok());
    let notices = ctx.notices.borrow().clone();
    (r, notices)
}

/// Runs a verb that needs the workspace.
fn verb(ctx: &Session, cmd: Cmd, json: bool) -> Result<Output> {
    match cmd {
        Cmd::Version
        | Cmd::Completion(_)
        | Cmd::Onboard
        | Cmd::Setup(_)
        | Cmd::Quickstart
        | Cmd::Demo(_)
        | Cmd::Init(_)
        | Cmd::Mcp(_)
        | Cmd::Ui(_)
        | Cmd::Merge(_) => {
            unreachable!("handled before opening the workspace")
        }
        Cmd::Create(Lazy(a)) => c::create::run(ctx, a),
        Cmd::Q(Lazy(a)) => c::create::quick(ctx, a),
        Cmd::Show(Lazy(a)) => c::show::run(ctx, a),
        Cmd::List(Lazy(a)) => c::list::run(ctx, a, json),
        Cmd::Count(Lazy(a)) => c::count::run(ctx, a),
        Cmd::Children(Lazy(a)) => c::children::run(ctx, a, json),
        Cmd::Update(Lazy(a)) => c::update::run(ctx, a),
        Cmd::Close(Lazy(a)) => c::close::run(ctx, a),
        Cmd::Reopen(Lazy(a)) => c::reopen::run(ctx, a),
        Cmd::Delete(Lazy(a)) => c::delete::run(ctx, a),
        Cmd::Restore(Lazy(a)) => c::restore::run(ctx, a),
        Cmd::Defer(Lazy(a)) => c::defer::run(ctx, a),
        Cmd::Undefer(Lazy(a)) => c::undefer::run(ctx, a),
        Cmd::Claim(Lazy(a)) => c::claim::run(ctx, a),
        Cmd::Unclaim(Lazy(a)) => c::unclaim::run(ctx, a),
        Cmd::Ready(Lazy(a)) => c::ready::run(ctx, a, json),
        Cmd::Blocked(Lazy(a)) => c::blocked::run(ctx, a, json),
        Cmd::Stale(Lazy(a)) => c::stale::run(ctx, a, json),
        Cmd::Dep(Lazy(d)) => c::dep::run(ctx, d),
        Cmd::Label(Lazy(l)) => c::label::run(ctx, l),
        Cmd::Epic(Lazy(e)) => c::epic::run(ctx, e),
        Cmd::Comment(Lazy(a)) => c::comment::run(ctx, a),
        Cmd::Comments(Lazy(a)) => c::comments::run(ctx, a),
        Cmd::Search(Lazy(a)) => c::search::run(ctx, a, json),
        Cmd::Stats => c::stats::run(ctx),
        Cmd::Where(_) => c::where_::run(ctx),
        Cmd::Config(Lazy(cc)) => c::config::run(ctx, cc),
        Cmd::Doctor(a) => c::doctor::run(ctx, a),
        Cmd::Import(Lazy(a)) => c::import::run(ctx, a),
        Cmd::Agent(Lazy(a)) => c::agent::run(ctx, a),
        Cmd::Heartbeat(Lazy(a)) => c::heartbeat::run(ctx, a),
        Cmd::Reserve(Lazy(a)) => c::reserve::reserve(ctx, a),
        Cmd::Release(Lazy(a)) => c::reserve::release(ctx, a),
        Cmd::Reservations(Lazy(a)) => c::reserve::reservations(ctx, a),
        Cmd::Budget(Lazy(a)) => c::budget::run(ctx, a),
        Cmd::Metrics(Lazy(a)) => c::metrics::run(ctx, a),
        Cmd::Dispatch(Lazy(a)) => c::dispatch::run(ctx, a, json),
        Cmd::Run(Lazy(a)) => c::run::run(ctx, a, json),
        Cmd::Workers => c::workers::run(ctx),
        Cmd::Runs(Lazy(a)) => c::runs::run(ctx, a),
        Cmd::Convoy(Lazy(cc)) => c::convoy::run(ctx, cc),
        Cmd::Formula(Lazy(fc)) => c::formula::run(ctx, fc),
        Cmd::Cook(Lazy(a)) => c::cook::run(ctx, a),
        Cmd::Mol(Lazy(mc)) => c::mol::run(ctx, mc),
        Cmd::Gate(Lazy(gc)) => c::gate::run(ctx, gc),
        Cmd::Sling(Lazy(a)) => c::sling::run(ctx, a),
        Cmd::Hook(Lazy(a)) => c::hook::run(ctx, a),
        Cmd::Unhook(Lazy(a)) => c::unhook::run(ctx, a),
        Cmd::Mail(Lazy(m)) => c::mail::run(ctx, m),
        Cmd::Prime => c::prime::run(ctx),
        Cmd::Agents => c::agents::run(ctx),
        Cmd::Commit(Lazy(a)) => c::commit::run(ctx, a),
        Cmd::Diff(Lazy(a)) => c::diff::run(ctx, a),
        Cmd::Log(Lazy(a)) => c::log::run(ctx, a),
        Cmd::History(Lazy(a)) => c::history::run(ctx, a),
        Cmd::Sync(Lazy(a)) => c::sync::run(ctx, a),
        Cmd::Export(Lazy(a)) => c::export::run(ctx, a, json),
        Cmd::Note(Lazy(a)) => c::note::run(ctx, a),
        Cmd::Checkpoint(Lazy(a)) => c::checkpoint::run(ctx, a),
        Cmd::Assign(Lazy(a)) => c::assign::run(ctx, a),
        Cmd::Tag(Lazy(a)) => c::tag::run(ctx, a),
        Cmd::Priority(Lazy(a)) => c::priority::run(ctx, a),
        Cmd::Link(Lazy(a)) => c::link::run(ctx, a),
        Cmd::Duplicate(Lazy(a)) => c::duplicate::duplicate(ctx, a),
        Cmd::Supersede(Lazy(a)) => c::duplicate::supersede(ctx, a),
        Cmd::Todo(Lazy(a)) => c::todo::run(ctx, a, json),
        Cmd::Statuses => Ok(c::statuses::statuses(ctx)),
        Cmd::Types => Ok(c::statuses::types(ctx)),
        Cmd::Info(Lazy(a)) => c::info::run(ctx, a),
        Cmd::RepairDeps(Lazy(a)) => c::repair_deps::run(ctx, a),
        Cmd::Migrate(Lazy(a)) => c::migrate::run(ctx, a),
    }
}

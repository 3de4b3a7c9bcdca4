//! The command line: parse (`args`), build options, call one op, render.
//! The only place that prints, reads the environment and picks exit codes.

pub mod args;
pub mod demo;
pub mod render;
pub mod signals;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::PathBuf;

use clap::{CommandFactory, Parser};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::model::time;
use crate::ops::create::CreateOptions;
use crate::ops::edit::{Outcome, UpdateOptions};
use crate::ops::query::{Filter, Listing};
use crate::ops::{self, Ctx, issue_json};
use crate::store::Workspace;
use args::{
    AgentCmd, BodyArgs, Cli, Cmd, ConfigCmd, ConvoyCmd, DepCmd, FilterArgs, LabelCmd, MailCmd,
};

/// What a command produced: a JSON document, and the human text for stdout.
struct Output {
    json: Value,
    text: String,
    /// The exit code of a command that ran but reports a failure in its
    /// output (`doctor` with unfixed errors).
    code: i32,
}

fn out(json: Value, text: impl Into<String>) -> Output {
    Output {
        json,
        text: text.into(),
        code: 0,
    }
}

pub fn main() -> i32 {
    let argv: Vec<String> = std::env::args().collect();
    let wants_json = argv.iter().any(|a| a == "--json");
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return 0;
            }
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                if wants_json {
                    let doc = json!({"error": "a subcommand or argument is missing", "code": "usage", "hint": "see `bd --help`"});
                    println!("{doc}");
                }
                eprintln!("Error: a subcommand or argument is missing");
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
                println!(
                    "{}",
                    json!({"error": first, "code": "usage", "hint": "see `bd --help`"})
                );
            }
            // The same one line as the JSON error, then clap's usage part.
            eprintln!("error: {}", render::terminal_safe(&first));
            let rest: Vec<&str> = msg
                .lines()
                .skip_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
                .collect();
            if !rest.is_empty() {
                eprintln!("{}", render::terminal_safe(&rest.join("\n")));
            }
            return 2;
        }
    };
    let json_mode = cli.json;
    let quiet = cli.quiet;
    let (result, notices) = run(cli);
    for n in &notices {
        let is_warning = n.starts_with("warning") || n.starts_with("note");
        if !quiet || is_warning {
            eprintln!("{}", render::terminal_safe(n));
        }
    }
    match result {
        Ok(o) => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            if json_mode {
                let _ = writeln!(
                    lock,
                    "{}",
                    serde_json::to_string_pretty(&o.json).unwrap_or_default()
                );
            } else if !o.text.is_empty() {
                let _ = write!(lock, "{}", render::terminal_safe(&o.text));
                if !o.text.ends_with('\n') {
                    let _ = writeln!(lock);
                }
            }
            o.code
        }
        Err(e) => {
            let hint = e.hint();
            if json_mode {
                println!(
                    "{}",
                    json!({"error": e.to_string(), "code": e.code(), "hint": hint})
                );
            }
            eprintln!("Error: {}", render::terminal_safe(&e.to_string()));
            if let Some(h) = hint
                && !json_mode
            {
                eprintln!("Hint: {}", render::terminal_safe(&h));
            }
            e.exit_code()
        }
    }
}

fn now_from_env() -> Result<i64> {
    match std::env::var("BD_NOW") {
        Ok(t) if !t.is_empty() => time::parse(&t)
            .ok_or_else(|| Error::invalid(format!("BD_NOW '{t}' is not an RFC 3339 time"))),
        _ => Ok(chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)),
    }
}

fn start_dir(cli_dir: &Option<PathBuf>) -> PathBuf {
    cli_dir.clone().unwrap_or_else(|| PathBuf::from("."))
}

fn run(cli: Cli) -> (Result<Output>, Vec<String>) {
    let start = start_dir(&cli.dir);
    // Commands that work without an initialized workspace.
    match &cli.cmd {
        Cmd::Version => {
            let v = env!("CARGO_PKG_VERSION");
            return (
                Ok(out(
                    json!({"name": "bd", "implementation": "strand", "version": v}),
                    format!("bd (strand) {v}"),
                )),
                vec![],
            );
        }
        Cmd::Completion { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "bd", &mut buf);
            let text = String::from_utf8_lossy(&buf).into_owned();
            return (
                Ok(out(
                    json!({"shell": shell.to_string(), "script": text}),
                    text,
                )),
                vec![],
            );
        }
        Cmd::Merge {
            base,
            ours,
            theirs,
            path,
        } => {
            let r = ops::merge_driver::run(base, ours, theirs, path.as_deref());
            return (r.map(|j| out(j, "")), vec![]);
        }
        Cmd::Demo { dir } => {
            // The story streams as it plays; with --json, to stderr, so stdout
            // holds the one JSON document.
            let sink: Box<dyn Write> = if cli.json {
                Box::new(std::io::stderr())
            } else {
                Box::new(std::io::stdout())
            };
            let r = demo::run(dir.as_deref(), sink).map(|d| out(json!({"dir": d, "ok": true}), ""));
            return (r, vec![]);
        }
        Cmd::Onboard => {
            return (
                Ok(out(
                    json!({"snippet": ops::admin::ONBOARD}),
                    ops::admin::ONBOARD,
                )),
                vec![],
            );
        }
        Cmd::Init { prefix } => {
            let r = ops::admin::init(&start, prefix.as_deref()).map(|rep| {
                let mut talk = Vec::new();
                if let Some(old) = &rep.prefix_changed_from {
                    talk.push(format!("Changed the prefix from {old} to {} (the tracker has no issues)", rep.prefix));
                } else if rep.created.is_empty() && rep.migrated.is_empty() && rep.driver.is_none() && rep.project.is_none() {
                    talk.push(format!("Nothing changed: {} is already initialized (prefix {})", rep.root.display(), rep.prefix));
                } else {
                    talk.push(format!("Initialized bd in {} (prefix {}, {} issues)", rep.root.display(), rep.prefix, rep.issues));
                }
                for m in &rep.migrated {
                    talk.push(format!("Migrated {m}"));
                }
                if let Some(d) = &rep.driver {
                    talk.push(format!("Merge driver: merge.beads.driver {d}"));
                }
                for h in &rep.classic_hooks {
                    talk.push(format!("note: classic beads hook {h} calls bd; check it still fits strand"));
                }
                let j = json!({"root": rep.root, "prefix": rep.prefix, "project": rep.project, "created": rep.created, "migrated": rep.migrated, "classic_hooks": rep.classic_hooks, "issues": rep.issues, "driver": rep.driver, "prefix_changed_from": rep.prefix_changed_from});
                (out(j, ""), talk)
            });
            return match r {
                Ok((o, talk)) => (Ok(o), talk),
                Err(e) => (Err(e), vec![]),
            };
        }
        _ => {}
    }
    // `doctor --fix` removes links under .beads/ before anything (the
    // config included) could be read through one.
    let mut links = Vec::new();
    if let Cmd::Doctor { fix: true } = cli.cmd
        && let Ok(ws) = Workspace::open(&start)
    {
        match ops::admin::doctor_links(&ws, true) {
            Ok(found) => links = found,
            Err(e) => return (Err(e), vec![]),
        }
    }
    let ctx = match Workspace::open(&start).and_then(|ws| {
        let now = now_from_env()?;
        let actor = cli.actor.clone().or_else(|| std::env::var("BD_ACTOR").ok());
        match cli.cmd {
            Cmd::Doctor { fix } => Ctx::for_doctor(ws, now, actor, fix),
            _ => Ctx::new(ws, now, actor),
        }
    }) {
        Ok(c) => c,
        Err(e) => return (Err(e), vec![]),
    };
    let mut ctx = ctx;
    ctx.links_found.replace(links);
    ctx.verb = verb_of(&cli.cmd).to_string();
    // `where --trust` confirms membership before anything opens the home.
    if matches!(cli.cmd, Cmd::Where { trust: true }) {
        match ops::membership::trust(&ctx, None) {
            Ok(t) if t.recorded => ctx.notice(format!(
                "Trusted: {} (root commit {}) belongs to project {} on this machine",
                t.repository.display(),
                t.root_commit.as_deref().unwrap_or("none yet"),
                t.project
            )),
            Ok(t) => ops::unchanged(
                &ctx,
                format!(
                    "{} already joins project {}",
                    t.repository.display(),
                    t.project
                ),
            ),
            Err(e) => return (Err(e), ctx.notices.take()),
        }
    }
    // An actor that looks like a registered agent (`DAVE`, `Ⅾave`) is it.
    let actor = ops::membership::agent_spelling(&ctx, &ctx.actor);
    ctx.actor = actor;
    if ctx.unmerged.is_empty() {
        ops::mail::pump(&ctx);
    }
    let r = dispatch(&ctx, cli.cmd, cli.json);
    if r.is_ok() {
        ctx.touch_presence();
    }
    if r.is_ok()
        && ctx.explicit_actor
        && ctx.wrote.get()
        && let Err(e) = ops::hooks::materialize(&ctx)
    {
        ctx.notice(format!(
            "warning: cannot update the hook file of {}: {e}",
            ctx.actor
        ));
    }
    let handoffs = ctx.outbox.take();
    if !handoffs.is_empty() {
        ops::mail::flow_back(&ctx, &handoffs);
    }
    let notices = ctx.notices.borrow().clone();
    (r, notices)
}

/// The command's name, for commit subjects.
fn verb_of(cmd: &Cmd) -> &'static str {
    match cmd {
        Cmd::Create(_) => "create",
        Cmd::Update(a) if a.claim => "claim",
        Cmd::Update(_) => "update",
        Cmd::Close { .. } => "close",
        Cmd::Reopen { .. } => "reopen",
        Cmd::Delete { .. } => "delete",
        Cmd::Restore { .. } => "restore",
        Cmd::Defer { .. } => "defer",
        Cmd::Undefer { .. } => "undefer",
        Cmd::Claim { .. } | Cmd::Ready { claim: true, .. } => "claim",
        Cmd::Unclaim { .. } => "unclaim",
        Cmd::Sling { .. } => "sling",
        Cmd::Unhook { .. } => "unhook",
        Cmd::Dep(_) => "dep",
        Cmd::Label(_) => "label",
        Cmd::Comment { .. } => "comment",
        Cmd::Import { .. } => "import",
        Cmd::Mail(_) => "mail",
        Cmd::Doctor { .. } => "doctor",
        _ => "update",
    }
}

fn filter(f: FilterArgs, all: bool) -> Filter {
    Filter {
        statuses: f.status,
        priorities: f.priority,
        priority_min: f.priority_min,
        priority_max: f.priority_max,
        types: f.issue_type,
        labels: f.label,
        labels_any: f.label_any,
        assignee: f.assignee,
        unassigned: f.unassigned,
        parent: f.parent,
        created_after: f.created_after,
        created_before: f.created_before,
        all,
        limit: f.limit,
        sort: f.sort,
    }
}

/// A listing's output: its JSON is built (reading every record) only when asked for.
fn listing(json: bool, l: Listing, text: String) -> Result<Output> {
    let o = if json {
        out(l.to_json()?, "")
    } else {
        out(Value::Null, text)
    };
    // The process ends right after printing: freeing every row of a large
    // tracker would cost more than the command itself.
    std::mem::forget(l);
    Ok(o)
}

fn lines(rows: &[crate::store::index::Row]) -> String {
    rows.iter().map(|r| render::row_line(r) + "\n").collect()
}

/// One issue → an object, several → an array.
fn outcomes(ctx: &Ctx, os: &[Outcome], verb: &str) -> Output {
    let vals: Vec<Value> = os.iter().map(|o| issue_json(&o.record, None)).collect();
    for o in os.iter().filter(|o| o.changed) {
        ctx.notice(format!("{verb} {}: {}", o.record.id(), o.record.title()));
    }
    let j = if vals.len() == 1 {
        vals.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(vals)
    };
    out(j, "")
}

/// `doctor`'s list of the workspaces registered in the project home and the
/// repositories confirmed with `bd where --trust`.
fn registered_text(reg: &Value) -> String {
    let mut t = String::new();
    let empty = Vec::new();
    let ws = reg["workspaces"].as_array().unwrap_or(&empty);
    if !ws.is_empty() {
        t.push_str("Workspaces in this project's home on this machine:\n");
        for w in ws {
            let _ = writeln!(
                t,
                "  {}{}  (last seen {}){}",
                w["root"].as_str().unwrap_or("?"),
                if w["this"] == true { " (this one)" } else { "" },
                w["last_seen"].as_str().unwrap_or("?"),
                if w["live"] == true { "" } else { "  [gone]" }
            );
        }
    }
    for r in reg["trusted"].as_array().unwrap_or(&empty) {
        let _ = writeln!(
            t,
            "Trusted repository: {} (root commit {}, confirmed {})",
            r["repository"].as_str().unwrap_or("?"),
            r["root_commit"].as_str().unwrap_or("none yet"),
            r["confirmed_at"].as_str().unwrap_or("?")
        );
    }
    t
}

/// `label add|remove`: the issue for one id, a list for several.
fn label_output(os: &[Outcome]) -> Output {
    let mut vals: Vec<Value> = os.iter().map(|o| issue_json(&o.record, None)).collect();
    let j = if vals.len() == 1 {
        vals.pop().unwrap_or(Value::Null)
    } else {
        Value::Array(vals)
    };
    out(j, "")
}

fn commit_output(ctx: &Ctx, o: &crate::git::commit::Outcome) -> Output {
    use crate::git::commit::Outcome;
    match o {
        Outcome::Committed { id, amended, paths } => {
            let short: String = id.chars().take(10).collect();
            ctx.notice(format!(
                "{} {short} ({})",
                if *amended { "Amended" } else { "Committed" },
                paths.join(", ")
            ));
            out(
                json!({"committed": true, "commit": id, "amended": amended, "paths": paths}),
                id.clone(),
            )
        }
        Outcome::NothingToCommit => {
            ops::unchanged(ctx, "no tracker changes to commit");
            out(json!({"committed": false, "pending": false}), "")
        }
        Outcome::Pending { reason } => {
            ctx.notice(format!(
                "note: not committed: {reason}; the changes stay pending"
            ));
            out(
                json!({"committed": false, "pending": true, "reason": reason}),
                "",
            )
        }
    }
}

/// What the user named as input: a file, or stdin for `-` (never otherwise).
fn read_input(path: &std::path::Path) -> Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("-", e))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn read_text_arg(path: &std::path::Path) -> Result<String> {
    String::from_utf8(read_input(path)?)
        .map_err(|_| Error::invalid(format!("{} is not UTF-8 text", path.display())))
}

fn send_options(b: BodyArgs) -> Result<ops::mail::SendOptions> {
    let body = match (b.body, b.body_file) {
        (Some(t), _) => t,
        (None, Some(p)) => read_text_arg(&p)?,
        (None, None) => String::new(),
    };
    Ok(ops::mail::SendOptions {
        body,
        attach: b.attach,
        importance: b.importance,
        ack: b.ack,
        ..Default::default()
    })
}

fn mail_cmd(ctx: &Ctx, cmd: MailCmd) -> Result<Output> {
    use crate::model::mail::Message;
    let list = |msgs: Vec<Message>, empty: &str| {
        let text = if msgs.is_empty() {
            ctx.notice(empty.to_string());
            String::new()
        } else {
            msgs.iter()
                .map(|m| render::message_line(m, &ctx.actor))
                .collect::<Vec<_>>()
                .join("\n")
        };
        out(serde_json::to_value(&msgs).unwrap_or(Value::Null), text)
    };
    match cmd {
        MailCmd::Send {
            to,
            cc,
            subject,
            body,
            issue,
            issue_type,
        } => {
            let mut o = send_options(body)?;
            o.to = to;
            o.cc = cc;
            o.subject = subject;
            o.issue = issue;
            o.issue_type = issue_type;
            let sent = ops::mail::send(ctx, &o)?;
            ctx.notice(format!(
                "Sent {} to {}",
                sent.message.id,
                sent.message.to.join(", ")
            ));
            let mut j = serde_json::to_value(&sent.message).unwrap_or(Value::Null);
            j["pending"] = json!(sent.pending);
            Ok(out(j, sent.message.id.clone()))
        }
        MailCmd::Reply { id, body, all } => {
            let o = send_options(body)?;
            let sent = ops::mail::reply(ctx, &id, o, all)?;
            ctx.notice(format!(
                "Replied {} to {}",
                sent.message.id,
                sent.message.to.join(", ")
            ));
            let mut j = serde_json::to_value(&sent.message).unwrap_or(Value::Null);
            j["pending"] = json!(sent.pending);
            Ok(out(j, sent.message.id.clone()))
        }
        MailCmd::Inbox { all, from, thread } => {
            let o = ops::mail::InboxOptions { all, from, thread };
            let msgs = ops::mail::inbox(ctx, &o)?;
            let empty = if all {
                "No messages"
            } else {
                "No unread messages"
            };
            Ok(list(msgs, empty))
        }
        MailCmd::Sent => {
            let msgs = ops::mail::sent(ctx)?;
            if msgs.is_empty() {
                ctx.notice("No sent messages");
            }
            let text: String = msgs.iter().map(|m| render::sent_line(m) + "\n").collect();
            Ok(out(
                serde_json::to_value(&msgs).unwrap_or(Value::Null),
                text,
            ))
        }
        MailCmd::Read { id } => {
            let m = ops::mail::read(ctx, &id)?;
            let text = render::message(&m);
            Ok(out(serde_json::to_value(&m).unwrap_or(Value::Null), text))
        }
        MailCmd::Ack { id } => {
            let (m, changed) = ops::mail::ack(ctx, &id)?;
            if changed {
                ctx.notice(format!("Acknowledged {}", m.id));
            }
            Ok(out(serde_json::to_value(&m).unwrap_or(Value::Null), ""))
        }
        MailCmd::Thread { id } => {
            let msgs = ops::mail::thread(ctx, &id)?;
            let text = msgs
                .iter()
                .map(render::message)
                .collect::<Vec<_>>()
                .join("\n");
            Ok(out(
                serde_json::to_value(&msgs).unwrap_or(Value::Null),
                text,
            ))
        }
        MailCmd::Search { text } => {
            let msgs = ops::mail::search(ctx, &text)?;
            Ok(list(msgs, "No messages match"))
        }
    }
}

fn dispatch(ctx: &Ctx, cmd: Cmd, json: bool) -> Result<Output> {
    match cmd {
        Cmd::Version
        | Cmd::Completion { .. }
        | Cmd::Onboard
        | Cmd::Demo { .. }
        | Cmd::Init { .. }
        | Cmd::Merge { .. } => {
            unreachable!("handled before opening the workspace")
        }
        Cmd::Create(a) => {
            let title = a
                .title
                .or(a.title_flag)
                .ok_or_else(|| ops::usage("give a title: bd create \"Title\""))?;
            let o = CreateOptions {
                title,
                issue_type: a.issue_type,
                priority: a.priority,
                description: a.description,
                design: a.design,
                acceptance: a.acceptance,
                notes: a.notes,
                labels: a.label,
                assignee: a.assignee,
                owner: a.owner,
                parent: a.parent,
                deps: a.deps,
                external_ref: a.external_ref,
                defer: a.defer,
                due: a.due,
                estimate: a.estimate,
            };
            let rec = ops::create::create(ctx, &o)?;
            ctx.notice(format!("Created {}: {}", rec.id(), rec.title()));
            Ok(out(issue_json(&rec, None), rec.id().to_string()))
        }
        Cmd::Show { ids } => {
            let shown = ops::query::show(ctx, &ids)?;
            let vals: Vec<Value> = shown.iter().map(ops::query::shown_json).collect();
            let text: Vec<String> = shown.iter().map(|s| render::show(s, ctx.now)).collect();
            let j = if vals.len() == 1 {
                vals.into_iter().next().unwrap_or(Value::Null)
            } else {
                Value::Array(vals)
            };
            Ok(out(j, text.join("\n")))
        }
        Cmd::List { filter: f, all } => {
            let l = ops::query::list(ctx, &filter(f, all))?;
            let t = lines(&l.rows);
            listing(json, l, t)
        }
        Cmd::Count { filter: f, all, by } => {
            let v = ops::query::count(ctx, &filter(f, all), by.as_deref())?;
            let mut t = v["count"].to_string();
            if let Some(g) = v.get("groups").and_then(|g| g.as_object()) {
                t = g
                    .iter()
                    .map(|(k, n)| format!("{k}: {n}\n"))
                    .collect::<String>()
                    + &format!("total: {}", v["count"]);
            }
            Ok(out(v, t))
        }
        Cmd::Children { id, recursive } => {
            let l = ops::query::children(ctx, &id, recursive)?;
            let t = lines(&l.rows);
            listing(json, l, t)
        }
        Cmd::Update(a) => {
            let o = UpdateOptions {
                ids: a.ids,
                title: a.title,
                description: a.description,
                design: a.design,
                acceptance: a.acceptance,
                notes: a.notes,
                status: a.status,
                priority: a.priority,
                issue_type: a.issue_type,
                assignee: a.assignee,
                owner: a.owner,
                estimate: a.estimate,
                due: a.due,
                defer: a.defer,
                external_ref: a.external_ref,
                add_labels: a.add_label,
                remove_labels: a.remove_label,
                parent: a.parent,
                claim: a.claim,
                reason: None,
                force: a.force,
            };
            let claim = o.claim;
            let os = ops::edit::update(ctx, &o)?;
            Ok(outcomes(
                ctx,
                &os,
                if claim { "Claimed" } else { "Updated" },
            ))
        }
        Cmd::Close { ids, reason, force } => Ok(outcomes(
            ctx,
            &ops::edit::close(ctx, &ids, reason.as_deref(), force)?,
            "Closed",
        )),
        Cmd::Reopen { ids } => Ok(outcomes(ctx, &ops::edit::reopen(ctx, &ids)?, "Reopened")),
        Cmd::Delete { ids, reason } => Ok(outcomes(
            ctx,
            &ops::edit::delete(ctx, &ids, reason.as_deref())?,
            "Deleted",
        )),
        Cmd::Restore { ids } => Ok(outcomes(ctx, &ops::edit::restore(ctx, &ids)?, "Restored")),
        Cmd::Defer { ids, until } => Ok(outcomes(
            ctx,
            &ops::edit::defer(ctx, &ids, &until)?,
            "Deferred",
        )),
        Cmd::Undefer { ids } => Ok(outcomes(ctx, &ops::edit::undefer(ctx, &ids)?, "Undeferred")),
        Cmd::Claim { ids, steal } => Ok(outcomes(
            ctx,
            &ops::edit::claim(ctx, &ids, steal)?,
            "Claimed",
        )),
        Cmd::Unclaim { ids, force } => Ok(outcomes(
            ctx,
            &ops::edit::unclaim(ctx, &ids, force)?,
            "Released",
        )),
        Cmd::Ready {
            filter: f,
            claim,
            explain,
            containers,
        } => {
            let mut f = filter(f, false);
            if claim {
                let got = ops::edit::ready_claim(ctx, &f, containers)?;
                let text = got.as_ref().map(|r| r.id().to_string()).unwrap_or_default();
                match &got {
                    Some(r) => ctx.notice(format!("Claimed {}: {}", r.id(), r.title())),
                    None => ctx.notice("Nothing to claim: no ready issue is free"),
                }
                let arr: Vec<Value> = got.iter().map(|r| issue_json(r, None)).collect();
                return Ok(out(Value::Array(arr), text));
            }
            if f.limit.is_none() {
                f.limit = Some(10);
            }
            let l = ops::query::ready(ctx, &f)?;
            if l.rows.is_empty() {
                ctx.notice("No ready work.");
            }
            let mut t = render::ready_lines(&l.rows);
            if explain {
                let lapsed = ops::query::lapsed_claims(ctx)?;
                for c in &lapsed {
                    t.push_str(&format!(
                        "lapsed: {} held by {} (silent since {}); `bd claim --steal {}` recovers it\n",
                        c["id"].as_str().unwrap_or(""),
                        c["holder"].as_str().unwrap_or(""),
                        c["silent_since"].as_str().unwrap_or("?"),
                        c["id"].as_str().unwrap_or("")
                    ));
                }
                let ready = if json { l.to_json()? } else { Value::Null };
                std::mem::forget(l);
                return Ok(out(json!({"ready": ready, "lapsed": lapsed}), t));
            }
            listing(json, l, t)
        }
        Cmd::Blocked { filter: f } => {
            let l = ops::query::blocked(ctx, &filter(f, true))?;
            let t = render::blocked_lines(&l.rows);
            if !json {
                return Ok(out(Value::Null, t));
            }
            let mut j = l.to_json()?;
            if let Value::Array(items) = &mut j {
                for (v, r) in items.iter_mut().zip(&l.rows) {
                    v["blocked_by"] = r.blockers.clone().into();
                }
            }
            Ok(out(j, t))
        }
        Cmd::Stale { days, filter: f } => {
            let l = ops::query::stale(ctx, days, &filter(f, false))?;
            let t = lines(&l.rows);
            listing(json, l, t)
        }
        Cmd::Dep(d) => match d {
            DepCmd::Add {
                issue,
                depends_on,
                kind,
            } => {
                let o = ops::deps::add(ctx, &issue, &depends_on, &kind)?;
                if o.changed {
                    ctx.notice(format!("Added: {issue} depends on {depends_on} ({kind})"));
                }
                Ok(out(issue_json(&o.record, None), ""))
            }
            DepCmd::Remove {
                issue,
                depends_on,
                kind,
            } => {
                let o = ops::deps::remove(ctx, &issue, &depends_on, kind.as_deref())?;
                ctx.notice(format!(
                    "Removed: {issue} no longer depends on {depends_on}"
                ));
                Ok(out(issue_json(&o.record, None), ""))
            }
            DepCmd::List { id } => {
                let v = ops::deps::list(ctx, &id)?;
                let mut t = String::new();
                for (key, arrow) in [("depends_on", "→"), ("dependents", "←")] {
                    for d in v[key].as_array().into_iter().flatten() {
                        t.push_str(&format!(
                            "{arrow} {} ({}) [{}] {}\n",
                            d["id"].as_str().unwrap_or(""),
                            d["dependency_type"].as_str().unwrap_or(""),
                            d["status"].as_str().unwrap_or("missing"),
                            d["title"].as_str().unwrap_or("")
                        ));
                    }
                }
                Ok(out(v, t))
            }
            DepCmd::Tree {
                id,
                reverse,
                max_depth,
            } => {
                let v = ops::deps::tree(ctx, &id, reverse, max_depth)?;
                let mut t = String::new();
                fn draw(v: &Value, depth: usize, t: &mut String) {
                    let kind = v["dependency_type"].as_str().unwrap_or("");
                    let kind = if kind.is_empty() {
                        String::new()
                    } else {
                        format!(" ({kind})")
                    };
                    let mark = if v.get("cycle").is_some() {
                        " [cycle]"
                    } else {
                        ""
                    };
                    t.push_str(&format!(
                        "{}{} [{}] {}{kind}{mark}\n",
                        "  ".repeat(depth),
                        v["id"].as_str().unwrap_or(""),
                        v["status"].as_str().unwrap_or(""),
                        v["title"].as_str().unwrap_or("")
                    ));
                    for c in v["children"].as_array().into_iter().flatten() {
                        draw(c, depth + 1, t);
                    }
                }
                draw(&v, 0, &mut t);
                Ok(out(v, t))
            }
            DepCmd::Cycles => {
                let c = ops::deps::cycles(ctx)?;
                if c.is_empty() {
                    ctx.notice("No dependency cycles.");
                }
                let t: String = c.iter().map(|cy| cy.join(" → ") + "\n").collect();
                Ok(out(json!(c), t))
            }
        },
        Cmd::Label(l) => match l {
            LabelCmd::Add { mut args } => {
                let label = args.pop().unwrap_or_default();
                let os = ops::labels::add(ctx, &args, &label)?;
                for o in os.iter().filter(|o| o.changed) {
                    ctx.notice(format!(
                        "Labeled {}: {}",
                        o.record.id(),
                        o.record.labels().join(", ")
                    ));
                }
                Ok(label_output(&os))
            }
            LabelCmd::Remove { mut args } => {
                let label = args.pop().unwrap_or_default();
                let os = ops::labels::remove(ctx, &args, &label)?;
                for o in os.iter().filter(|o| o.changed) {
                    ctx.notice(format!("Removed label '{label}' from {}", o.record.id()));
                }
                Ok(label_output(&os))
            }
            LabelCmd::List { id } => {
                let m = ops::labels::list(ctx, id.as_deref())?;
                let t: String = if id.is_some() {
                    m.keys().map(|k| format!("{k}\n")).collect()
                } else {
                    m.iter().map(|(k, n)| format!("{k}\t{n}\n")).collect()
                };
                let j = if id.is_some() {
                    json!(m.keys().collect::<Vec<_>>())
                } else {
                    json!(m)
                };
                Ok(out(j, t))
            }
        },
        Cmd::Comment { id, text, file } => {
            let text = match (text, file) {
                (Some(t), None) => t,
                (None, Some(f)) => read_text_arg(&f)?,
                (Some(_), Some(_)) => return Err(ops::usage("give the text or --file, not both")),
                (None, None) => {
                    return Err(ops::usage(
                        "give the comment text, or --file FILE (`-` for stdin)",
                    ));
                }
            };
            let (rec, c) = ops::labels::comment(ctx, &id, &text)?;
            ctx.notice(format!("Commented on {}", rec.id()));
            Ok(out(serde_json::to_value(&c).unwrap_or(Value::Null), ""))
        }
        Cmd::Comments { id } => {
            let cs = ops::labels::comments(ctx, &id)?;
            let t: String = cs
                .iter()
                .map(|c| format!("[{}] {}:\n{}\n\n", c.created_at, c.author, c.text))
                .collect();
            Ok(out(serde_json::to_value(&cs).unwrap_or(Value::Null), t))
        }
        Cmd::Search {
            query,
            filter: f,
            all,
        } => {
            let l = ops::query::search(ctx, &query, &filter(f, all))?;
            let t = lines(&l.rows);
            listing(json, l, t)
        }
        Cmd::Stats => {
            let v = ops::query::stats(ctx)?;
            let mut t = String::new();
            for k in [
                "total_issues",
                "open_issues",
                "in_progress_issues",
                "blocked_issues",
                "ready_issues",
                "deferred_issues",
                "closed_issues",
                "tombstone_issues",
                "average_lead_time_hours",
            ] {
                t.push_str(&format!("{:<24} {}\n", k.replace('_', " "), v[k]));
            }
            Ok(out(v, t))
        }
        Cmd::Where { .. } => {
            let mut v = ops::admin::where_(ctx)?;
            v["proof"] = json!(ctx.home_proof()?);
            let t = [
                "root",
                "beads_dir",
                "issues_file",
                "prefix",
                "identity",
                "identity_source",
                "origin",
                "proof",
                "actor",
                "issues",
                "index_fresh",
                "pending",
                "auto_commit",
            ]
            .iter()
            .map(|k| {
                format!(
                    "{k}: {}\n",
                    match &v[*k] {
                        Value::String(s) => s.clone(),
                        Value::Null => "(not set)".into(),
                        Value::Array(a) if a.is_empty() => "(none)".into(),
                        Value::Array(a) => a
                            .iter()
                            .map(|x| x.as_str().unwrap_or_default().to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                        o => o.to_string(),
                    }
                )
            })
            .collect::<String>();
            Ok(out(v, t))
        }
        Cmd::Config(c) => match c {
            ConfigCmd::Get { key } => {
                let v = ops::admin::config_get(ctx, &key)?;
                Ok(out(json!({"key": key, "value": v}), v))
            }
            ConfigCmd::Set { key, value } => {
                let changed = ops::admin::config_edit(ctx, |cfg| cfg.set(&key, &value))?;
                // Naming the project here is the user's confirmation on this
                // machine (a committed config.toml is not).
                if changed
                    && key == "project"
                    && !value.trim().is_empty()
                    && let Err(e) = ops::membership::trust(ctx, Some(&value))
                {
                    ctx.notice(format!(
                        "warning: cannot record that this repository is {value}'s: {e}; run `bd where --trust`"
                    ));
                }
                if changed {
                    ctx.notice(format!("Set {key} = {value}"));
                } else {
                    ops::unchanged(ctx, format!("{key} is already {value}"));
                }
                Ok(out(
                    json!({"key": key, "value": value, "changed": changed}),
                    "",
                ))
            }
            ConfigCmd::List => {
                let v = ops::admin::config_list(ctx);
                let t: String = v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, x)| format!("{k} = {}\n", x.as_str().unwrap_or("")))
                    .collect();
                Ok(out(v, t))
            }
            ConfigCmd::Unset { key } => {
                let changed = ops::admin::config_edit(ctx, |cfg| cfg.unset(&key))?;
                if !changed {
                    ops::unchanged(ctx, format!("{key} was not set"));
                }
                Ok(out(json!({"key": key, "changed": changed}), ""))
            }
        },
        Cmd::Doctor { fix } => {
            let fs = ops::admin::doctor(ctx, fix)?;
            if fix {
                match ops::coord::prune_ledger(ctx) {
                    Ok(n) if n > 0 => ctx.notice(format!(
                        "Pruned {n} ledger entr{} every workspace already shows",
                        if n == 1 { "y" } else { "ies" }
                    )),
                    Ok(_) => {}
                    Err(e) => ctx.notice(format!("warning: cannot prune the ledger: {e}")),
                }
            }
            let pending = ctx.pending_changes();
            let mut t: String = if fs.is_empty() {
                "No problems found.\n".into()
            } else {
                fs.iter()
                    .map(|f| {
                        format!(
                            "{:<7} {}{}\n",
                            f.severity,
                            f.message,
                            if f.fixed { "  [fixed]" } else { "" }
                        )
                    })
                    .collect()
            };
            if !pending.is_empty() {
                t.push_str(&format!(
                    "note: pending tracker changes, not committed yet: {}\n",
                    pending.join(", ")
                ));
            }
            let reg = ops::membership::registered(ctx)?;
            t.push_str(&registered_text(&reg));
            let errors = fs.iter().any(|f| f.severity == "error" && !f.fixed);
            let j = json!({"ok": !errors, "findings": fs, "pending": pending, "workspaces": reg["workspaces"], "trusted": reg["trusted"]});
            let mut j = j;
            if errors {
                // A failure: the report also carries the error document's
                // keys (SPEC §4), so `--json` readers see both.
                let n = fs
                    .iter()
                    .filter(|f| f.severity == "error" && !f.fixed)
                    .count();
                j["error"] = json!(format!("doctor found {n} error(s)"));
                j["code"] = json!("invalid");
                j["hint"] = json!("`bd doctor --fix` repairs them");
            }
            let mut o = out(j, t);
            if errors {
                ctx.notice("warning: doctor found errors; `bd doctor --fix` repairs them");
                o.code = 1;
            }
            Ok(o)
        }
        Cmd::Import { file, dry_run } => {
            let bytes = read_input(&file)?;
            let rep = ops::admin::import(ctx, &file.display().to_string(), &bytes, dry_run)?;
            ctx.notice(format!(
                "{}Imported: {} created, {} updated, {} unchanged",
                if dry_run { "(dry run) " } else { "" },
                rep.created,
                rep.updated,
                rep.unchanged
            ));
            Ok(out(serde_json::to_value(&rep).unwrap_or(Value::Null), ""))
        }
        Cmd::Agent(AgentCmd::Register { name, kind }) => {
            let a = ops::coord::agent_register(ctx, name.as_deref(), &kind)?;
            ctx.notice(format!("Registered agent {} ({})", a.name, a.kind));
            Ok(out(serde_json::to_value(&a).unwrap_or(Value::Null), ""))
        }
        Cmd::Agent(AgentCmd::Unregister { name }) => {
            let v = ops::coord::agent_unregister(ctx, name.as_deref())?;
            let name = v["name"].as_str().unwrap_or_default().to_string();
            ctx.notice(format!(
                "Unregistered agent {name}: it receives no more work"
            ));
            for (k, what) in [("unhooked", "back to ready work"), ("claims", "still held")] {
                let ids: Vec<&str> = v[k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if !ids.is_empty() {
                    ctx.notice(format!("  {}: {what}", ids.join(", ")));
                }
            }
            Ok(out(v, ""))
        }
        Cmd::Heartbeat { note } => {
            let a = ops::coord::heartbeat(ctx, note.as_deref())?;
            Ok(out(serde_json::to_value(&a).unwrap_or(Value::Null), ""))
        }
        Cmd::Dispatch {
            once: _,
            watch,
            interval,
            per_agent,
            dry_run,
            containers,
        } => {
            let opts = ops::dispatch::DispatchOptions {
                per_agent,
                dry_run,
                containers,
            };
            if per_agent == 0 {
                return Err(ops::usage("--per-agent must be at least 1"));
            }
            if watch {
                signals::catch_stop_signals();
            }
            let (mut rounds, mut slung, mut recovered) = (0usize, 0usize, 0usize);
            loop {
                // Each round reads the clock anew: lapses are judged by it.
                let round;
                let c = if rounds == 0 {
                    ctx
                } else {
                    let now = now_from_env()?;
                    let actor = ctx.explicit_actor.then(|| ctx.actor.clone());
                    round = Ctx::new(ctx.ws.clone(), now, actor)?;
                    &round
                };
                let plan = ops::dispatch::dispatch(c, &opts)?;
                if !std::ptr::eq(c, ctx) {
                    for n in c.notices.borrow().iter() {
                        eprintln!("{}", render::terminal_safe(n));
                    }
                }
                rounds += 1;
                slung += plan.slung.len();
                recovered += plan.recovered.len();
                let mut t = String::new();
                for (id, old) in &plan.recovered {
                    t.push_str(&format!("recovered {id} from {old}\n"));
                }
                for (id, agent) in &plan.slung {
                    t.push_str(&format!(
                        "{} {id} -> {agent}\n",
                        if dry_run { "would sling" } else { "slung" }
                    ));
                }
                if !watch {
                    if plan.slung.is_empty() && plan.recovered.is_empty() {
                        ctx.notice("Nothing to dispatch.");
                    }
                    return Ok(out(serde_json::to_value(&plan).unwrap_or(Value::Null), t));
                }
                // A watch loop prints each round as it happens (with --json,
                // one JSON object per line), then a summary when stopped.
                if json {
                    println!("{}", serde_json::to_string(&plan).unwrap_or_default());
                } else if !t.is_empty() {
                    print!("{}", render::terminal_safe(&t));
                }
                let _ = std::io::stdout().flush();
                if signals::stop_requested()
                    || signals::sleep_unless_stopped(std::time::Duration::from_secs(
                        interval.max(1),
                    ))
                {
                    ctx.notice(format!(
                        "Stopped after {rounds} round(s): slung {slung}, recovered {recovered}"
                    ));
                    return Ok(out(
                        json!({"stopped": true, "rounds": rounds, "slung": slung, "recovered": recovered}),
                        "",
                    ));
                }
            }
        }
        Cmd::Convoy(c) => match c {
            ConvoyCmd::Create { name, ids } => {
                let rec = ops::convoy::create_convoy(ctx, &name, &ids)?;
                ctx.notice(format!(
                    "Created convoy {} tracking {} issue(s)",
                    rec.id(),
                    ids.len()
                ));
                Ok(out(ops::convoy::json_of(&rec), rec.id().to_string()))
            }
            ConvoyCmd::Add { convoy, ids } => {
                let o = ops::convoy::add(ctx, &convoy, &ids)?;
                Ok(out(ops::convoy::json_of(&o.record), ""))
            }
            ConvoyCmd::Status { convoy } => {
                let v = ops::convoy::status(ctx, &convoy)?;
                Ok(out(v.clone(), render::convoy(&v)))
            }
            ConvoyCmd::List => {
                let v = ops::convoy::list(ctx)?;
                let t: String = v.iter().map(render::convoy).collect();
                Ok(out(Value::Array(v), t))
            }
        },
        Cmd::Sling { id, agent, note } => {
            let agent = ops::membership::agent_spelling(ctx, &agent);
            let o = ops::hooks::sling(ctx, &id, &agent, note.as_deref())?;
            if o.changed {
                ctx.notice(format!(
                    "Slung {} to {agent}: {}",
                    o.record.id(),
                    o.record.title()
                ));
            }
            Ok(out(issue_json(&o.record, None), ""))
        }
        Cmd::Hook { agent } => {
            let agent = agent.map_or_else(
                || ctx.actor.clone(),
                |a| ops::membership::agent_spelling(ctx, &a),
            );
            crate::home::presence::validate_agent_name(&agent)?;
            let hook = ops::hooks::effective_hook(ctx, &agent)?;
            let items = hook.items;
            let snap = ctx.snapshot()?;
            let mut t: String = items
                .iter()
                .map(|i| {
                    format!(
                        "{i}  {}\n",
                        snap.find(i).map(|r| r.title.as_str()).unwrap_or("")
                    )
                })
                .collect();
            if let Some(n) = &hook.note {
                t.push_str(&format!("Note: {n}\n"));
            }
            if items.is_empty() {
                ctx.notice(format!("The hook of {agent} is empty."));
            }
            Ok(out(
                json!({"agent": agent, "items": items, "note": hook.note}),
                t,
            ))
        }
        Cmd::Unhook { id, agent } => {
            let agent = agent.map_or_else(
                || ctx.actor.clone(),
                |a| ops::membership::agent_spelling(ctx, &a),
            );
            let removed = ops::hooks::unhook(ctx, &agent, id.as_deref())?;
            if !removed.is_empty() {
                ctx.notice(format!(
                    "Took {} off the hook of {agent}",
                    removed.join(", ")
                ));
            }
            Ok(out(json!({"agent": agent, "removed": removed}), ""))
        }
        Cmd::Mail(m) => mail_cmd(ctx, m),
        Cmd::Prime => {
            let p = ops::prime::prime(ctx)?;
            Ok(out(p.json, p.text))
        }
        Cmd::Agents => {
            let v = ops::coord::agents(ctx)?;
            let t: String = v
                .iter()
                .map(|a| {
                    let list = |k: &str| {
                        a[k].as_array()
                            .map(|x| {
                                x.iter()
                                    .filter_map(|i| i.as_str())
                                    .collect::<Vec<_>>()
                                    .join(",")
                            })
                            .unwrap_or_default()
                    };
                    format!(
                        "{:<20} {:<8} {:<8} claims: {:<20} hook: {:<16} {}\n",
                        a["name"].as_str().unwrap_or(""),
                        a["kind"].as_str().unwrap_or(""),
                        a["state"].as_str().unwrap_or(""),
                        if list("claims").is_empty() {
                            "-".to_string()
                        } else {
                            list("claims")
                        },
                        if list("hook").is_empty() {
                            "-".to_string()
                        } else {
                            list("hook")
                        },
                        a["note"].as_str().unwrap_or("")
                    )
                })
                .collect();
            if v.is_empty() {
                ctx.notice("No agents registered (`bd agent register`).");
            }
            Ok(out(Value::Array(v), t))
        }
        Cmd::Commit { message } => {
            let o = ops::gitops::commit(ctx, message.as_deref())?;
            Ok(commit_output(ctx, &o))
        }
        Cmd::Diff { range } => {
            let d = ops::history::diff(ctx, range.as_deref())?;
            let t = render::diff(&d);
            Ok(out(ops::history::diff_json(&d), t))
        }
        Cmd::Log { id, limit } => {
            let (id, entries) = ops::history::log(ctx, &id, limit)?;
            let t = render::log(&id, &entries);
            Ok(out(json!({"id": id, "entries": entries}), t))
        }
        Cmd::Sync { all } => {
            let r = ops::sync::sync(ctx, all)?;
            if let Some(c) = &r.committed {
                ctx.notice(format!(
                    "Committed tracker changes ({})",
                    &c[..c.len().min(10)]
                ));
            }
            if r.merged {
                ctx.notice("Merged the upstream");
            }
            if r.pushed {
                ctx.notice("Pushed");
            }
            if r.up_to_date {
                ctx.notice("Already up to date");
            }
            for (id, holder) in &r.claims_lost {
                ctx.notice(format!(
                    "warning: your claim on {id} was lost in the merge (now: {holder})"
                ));
            }
            Ok(out(serde_json::to_value(&r).unwrap_or(Value::Null), ""))
        }
        Cmd::Export { output } => {
            let text = ops::admin::export(ctx)?;
            let n = text.lines().count();
            match output {
                Some(p) => {
                    ops::admin::write_export(&p, &text)?;
                    ctx.notice(format!("Exported {n} issues to {}", p.display()));
                    Ok(out(json!({"exported": n, "path": p}), ""))
                }
                None => {
                    let vals: Vec<Value> = text
                        .lines()
                        .filter_map(|l| serde_json::from_str(l).ok())
                        .collect();
                    Ok(out(Value::Array(vals), text))
                }
            }
        }
    }
}

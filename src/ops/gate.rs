//! Gates (issue 16): `bd gate list|show|create|check|resolve|trust`. A gate
//! is an item of type `gate` (never ready work) that its dependents wait on
//! by `blocks` edges; resolving it closes it, through the one close path.
//!
//! A gate that runs a program (`command`, `gh:run`, `gh:pr`) came from
//! committed or imported data, so it runs only once this machine approved
//! its exact program (`home::gates`); until then `check` lists it as
//! untrusted and runs nothing. A check holds the gate's lock in the project
//! home and reads the machine's ledger after taking it, so two workspaces
//! checking at once resolve (and run) a gate once.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::home::gates as trust_store;
use crate::model::gate::{self, BEAD, COMMAND, HUMAN, TIMER};
use crate::model::kinds::Status;
use crate::model::record::{Dep, Record};
use crate::model::time::{self, Nanos};
use crate::model::values;
use crate::ops::Session;
use crate::ops::write::{Guard, Outcome};
use crate::store::Snapshot;
use crate::store::index::Row;

/// How long a command gate runs before it is stopped (its `timeout`
/// otherwise).
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(600);
/// How often a round of `dispatch --watch` or `bd run` re-runs a command
/// gate that did not pass.
pub const RECHECK_EVERY: Nanos = 300 * 1_000_000_000;
/// Lines of output kept on the gate.
const TAIL_LINES: usize = 20;

/// A gate as `list` and `show` give it.
#[derive(Debug, Clone, Serialize)]
pub struct GateView {
    pub id: String,
    pub title: String,
    pub status: String,
    pub await_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub await_id: Option<String>,
    /// The timeout as words (`30m0s`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// When a timer gate opens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    /// The items waiting on it.
    pub blocks: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub molecule: Option<String>,
    /// What it runs (`command`, `gh:*` gates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// Whether this machine approved that program (`bd gate trust`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted: Option<bool>,
    /// The last check that ran it and did not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_check: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub close_reason: String,
}

/// A gate's fields, read from its record.
struct Spec {
    kind: String,
    await_id: Option<String>,
    timeout: Option<Nanos>,
    created: Option<Nanos>,
}

fn spec_of(rec: &Record) -> Spec {
    let timeout = rec.int("timeout").filter(|n| *n > 0).or_else(|| {
        rec.str("timeout")
            .and_then(|t| gate::parse_duration(&t).ok())
    });
    Spec {
        kind: rec.str("await_type").unwrap_or_else(|| HUMAN.into()),
        await_id: rec.nonempty("await_id"),
        timeout,
        created: rec.time("created_at"),
    }
}

/// What a gate of a program type runs, as one text (the thing approved).
fn program_of(s: &Spec) -> Option<String> {
    match s.kind.as_str() {
        COMMAND => s.await_id.clone(),
        k if gate::runs_program(k) => {
            gate::gh_argv(k, s.await_id.as_deref().unwrap_or("")).map(|v| v.join(" "))
        }
        _ => None,
    }
}

fn due_of(s: &Spec) -> Option<Nanos> {
    if s.kind != TIMER {
        return None;
    }
    let at = s.await_id.as_deref().and_then(time::parse);
    gate::timer_due(s.created, s.timeout, at)
}

fn is_trusted(t: &trust_store::Trust, id: &str, s: &Spec) -> bool {
    program_of(s).is_some_and(|p| {
        t.get(id)
            .is_some_and(|a| a.fingerprint == gate::fingerprint(&s.kind, &p))
    })
}

fn trust_of(ctx: &Session) -> trust_store::Trust {
    match ctx.home() {
        Ok(Some(h)) => trust_store::load(&h).unwrap_or_else(|e| {
            ctx.warn(e.to_string());
            Default::default()
        }),
        _ => Default::default(),
    }
}

fn view_of(snap: &Snapshot, row: &Row, rec: &Record, trust: &trust_store::Trust) -> GateView {
    let s = spec_of(rec);
    let program = program_of(&s);
    GateView {
        id: row.id.clone(),
        title: row.title.clone(),
        status: row.status.clone(),
        await_type: s.kind.clone(),
        await_id: s.await_id.clone(),
        timeout: s.timeout.map(gate::duration_text),
        due_at: due_of(&s).map(time::format),
        blocks: row
            .dependents
            .iter()
            .filter(|e| e.kind == "blocks")
            .map(|e| e.target.clone())
            .collect(),
        molecule: {
            let mut cur = row.parent.clone();
            let mut found = None;
            while let Some(p) = cur {
                match snap.find(&p) {
                    Some(r) if r.issue_type == "molecule" => {
                        found = Some(r.id.clone());
                        break;
                    }
                    Some(r) => cur = r.parent.clone(),
                    None => break,
                }
            }
            found
        },
        trusted: program.as_ref().map(|_| is_trusted(trust, &row.id, &s)),
        program,
        last_check: rec.json("gate_check"),
        close_reason: row.close_reason.clone(),
    }
}

fn gates_snapshot(ctx: &Session) -> Result<Snapshot> {
    Snapshot::load_where(&ctx.ws, &ctx.view(), |p| p.issue_type() == "gate", false)
}

/// `bd gate list [--all]`: open gates (every one with `all`).
pub fn list(ctx: &Session, all: bool) -> Result<Vec<GateView>> {
    // The gates, then their ancestors (a molecule's items are its
    // descendants, so their ids' dotted prefixes): lookups, not a full load.
    let gates = gates_snapshot(ctx)?;
    let rows: Vec<&Row> = gates
        .rows
        .iter()
        .filter(|r| r.state() != Status::Tombstone && (all || !values::is_done(&r.status)))
        .collect();
    let mut up: Vec<String> = Vec::new();
    for r in &rows {
        let mut id = r.id.as_str();
        while let Some((p, _)) = id.rsplit_once('.') {
            up.push(p.to_string());
            id = p;
        }
        up.extend(r.parent.clone());
    }
    up.sort();
    up.dedup();
    let up: Vec<&str> = up.iter().map(String::as_str).collect();
    let ancestors = Snapshot::load_ids(&ctx.ws, &ctx.view(), &up)?;
    let trust = trust_of(ctx);
    let mut out = Vec::new();
    for r in rows {
        out.push(view_of(&ancestors, r, &gates.record(r)?, &trust));
    }
    Ok(out)
}

fn gate_row<'a>(ctx: &Session, snap: &'a Snapshot, q: &str) -> Result<&'a Row> {
    let prefix = ctx.prefix_of_rows(&snap.rows);
    let row = snap.resolve(q, &prefix)?;
    if row.issue_type != "gate" {
        return Err(Error::invalid(format!(
            "{} is a {}, not a gate",
            row.id, row.issue_type
        )));
    }
    Ok(row)
}

/// `bd gate show ID`.
pub fn show(ctx: &Session, q: &str) -> Result<GateView> {
    let snap = ctx.snapshot()?;
    let row = gate_row(ctx, &snap, q)?;
    Ok(view_of(&snap, row, &snap.record(row)?, &trust_of(ctx)))
}

/// `bd gate create`.
#[derive(Debug, Clone, Default)]
pub struct CreateGate {
    /// The items it blocks.
    pub blocks: Vec<String>,
    pub kind: String,
    pub await_id: Option<String>,
    pub timeout: Option<String>,
    /// A timer's time (any date `bd` reads).
    pub at: Option<String>,
    pub reason: Option<String>,
}

/// A gate, and a `blocks` edge on it from each item it blocks, in one write.
pub fn create(ctx: &Session, o: &CreateGate) -> Result<Record> {
    if !gate::KINDS.contains(&o.kind.as_str()) {
        return Err(Error::invalid(format!(
            "unknown gate type {:?} (known: {})",
            o.kind,
            gate::KINDS.join(", ")
        )));
    }
    if o.blocks.is_empty() {
        return Err(crate::ops::usage(
            "a gate blocks something: give --blocks ID",
        ));
    }
    let timeout = o
        .timeout
        .as_deref()
        .map(gate::parse_duration)
        .transpose()
        .map_err(|e| Error::invalid(format!("--timeout {e}")))?;
    let mut await_id = o.await_id.clone().filter(|a| !a.trim().is_empty());
    if let Some(at) = &o.at {
        if o.kind != TIMER {
            return Err(crate::ops::usage("--at is for timer gates"));
        }
        await_id = Some(crate::ops::create::any_date(ctx, at, "--at")?);
    }
    match o.kind.as_str() {
        TIMER if timeout.is_none() && await_id.is_none() => {
            return Err(crate::ops::usage("a timer gate needs --timeout or --at"));
        }
        COMMAND if await_id.is_none() => {
            return Err(crate::ops::usage(
                "a command gate needs its command: --await-id \"make test\"",
            ));
        }
        BEAD if await_id.is_none() => {
            return Err(crate::ops::usage(
                "a bead gate needs the issue it waits for: --await-id ID",
            ));
        }
        k if gate::runs_program(k) && k != COMMAND && await_id.is_none() => {
            return Err(crate::ops::usage(format!(
                "a {k} gate needs --await-id (a run id or workflow, a PR number)"
            )));
        }
        _ => {}
    }
    let title = match &await_id {
        Some(a) => format!("Gate: {} {a}", o.kind),
        None => format!("Gate: {}", o.kind),
    };
    let title = values::check_title(&title).unwrap_or_else(|_| format!("Gate: {}", o.kind));
    let mut description = format!("Gate blocking {}", o.blocks.join(", "));
    if let Some(r) = o.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        description.push_str(&format!("\n\nReason: {}", r.trim()));
    }
    let mut gate_rec = crate::ops::create::create(
        ctx,
        &crate::ops::create::CreateOptions {
            title,
            issue_type: Some("gate".into()),
            text: crate::ops::IssueText {
                description: Some(description),
                ..Default::default()
            },
            dry_run: true,
            ..Default::default()
        },
    )?;
    gate_rec.set("await_type", &o.kind);
    if let Some(a) = &await_id {
        gate_rec.set("await_id", a);
    }
    if let Some(t) = timeout {
        gate_rec.set("timeout", &t);
    }
    let gid = gate_rec.id().to_string();
    let now = ctx.now_text();
    let placed = gate_rec.clone();
    crate::ops::write::apply_then(
        ctx,
        &o.blocks,
        Guard::Insist,
        |tx, rec| {
            crate::ops::write::refuse_deleted(ctx, rec)?;
            if tx.contains(&gid) {
                return Err(Error::invalid(format!(
                    "{gid} was taken meanwhile; try again"
                )));
            }
            let added = rec.add_dep(&Dep {
                issue_id: rec.id().to_string(),
                depends_on_id: gid.clone(),
                kind: "blocks".into(),
                created_at: Some(now.clone()),
                created_by: Some(ctx.actor.clone()),
                metadata: None,
            });
            Ok(if added { vec!["dependencies"] } else { vec![] })
        },
        |tx, _| {
            tx.put(placed);
            Ok(())
        },
    )?;
    Ok(gate_rec)
}

/// `bd gate resolve ID [--reason R]`: close the gate (any type, by hand).
pub fn resolve(ctx: &Session, q: &str, reason: Option<&str>) -> Result<Vec<Outcome>> {
    let id = {
        let snap = gates_snapshot(ctx)?;
        let prefix = ctx.prefix_of_rows(&snap.rows);
        let id = match snap.resolve(q, &prefix) {
            Ok(r) => r.id.clone(),
            Err(_) => ctx.snapshot()?.resolve_id(q, &prefix)?,
        };
        if !snap.rows.iter().any(|r| r.id == id) {
            return Err(Error::invalid(format!("{id} is not a gate")));
        }
        id
    };
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("resolved by {}", ctx.actor));
    crate::ops::edit::close(ctx, &[id], Some(&reason), false)
}

/// What `bd gate trust` did.
#[derive(Debug, Clone, Serialize)]
pub struct TrustReport {
    pub id: String,
    pub await_type: String,
    pub program: String,
    pub fingerprint: String,
    pub trusted: bool,
}

/// `bd gate trust ID [--revoke]`: approve (or withdraw approval of) the
/// exact program a gate runs, on this machine.
pub fn trust(ctx: &Session, q: &str, revoke: bool) -> Result<TrustReport> {
    let snap = ctx.snapshot()?;
    let row = gate_row(ctx, &snap, q)?;
    let rec = snap.record(row)?;
    let s = spec_of(&rec);
    let Some(program) = program_of(&s) else {
        return Err(Error::invalid(format!(
            "{} is a {} gate: it runs nothing, so there is nothing to trust",
            row.id, s.kind
        )));
    };
    let home = ctx.home()?.ok_or_else(|| crate::ops::coord::no_home(ctx))?;
    let fp = gate::fingerprint(&s.kind, &program);
    let id = row.id.clone();
    trust_store::update(&home, |t| {
        if revoke {
            t.remove(&id);
        } else {
            t.insert(
                id.clone(),
                trust_store::Approval {
                    fingerprint: fp.clone(),
                    program: program.clone(),
                    by: ctx.actor.clone(),
                    at: ctx.now_text(),
                },
            );
        }
    })?;
    Ok(TrustReport {
        id,
        await_type: s.kind,
        program,
        fingerprint: fp,
        trusted: !revoke,
    })
}

/// `bd gate check` options.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Only gates of these types (`gh` means both `gh:*`).
    pub kinds: Vec<String>,
    /// Only these gates.
    pub ids: Vec<String>,
    pub dry_run: bool,
    /// A round of `dispatch --watch` / `bd run`: a program gate that did
    /// not pass runs again only after [`RECHECK_EVERY`].
    pub due_only: bool,
}

/// One gate's check.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub id: String,
    pub title: String,
    pub await_type: String,
    /// `resolved`, `pending`, `failed`, `untrusted`, `skipped`.
    pub outcome: &'static str,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output_tail: Vec<String>,
}

/// What `bd gate check` found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    pub checked: usize,
    pub resolved: usize,
    pub pending: usize,
    pub failed: usize,
    pub untrusted: usize,
    pub dry_run: bool,
    pub gates: Vec<Checked>,
}

fn wanted(kinds: &[String], kind: &str) -> bool {
    kinds.is_empty()
        || kinds
            .iter()
            .any(|k| k == "all" || k == kind || (k == "gh" && kind.starts_with("gh:")))
}

/// `bd gate check`: evaluate open gates and resolve those whose condition
/// holds. A human gate is left to `resolve`.
pub fn check(ctx: &Session, o: &CheckOptions) -> Result<CheckReport> {
    for k in &o.kinds {
        if k != "all" && k != "gh" && !gate::KINDS.contains(&k.as_str()) {
            return Err(Error::invalid(format!(
                "unknown gate type {k:?} (known: {}, gh, all)",
                gate::KINDS.join(", ")
            )));
        }
    }
    let snap = gates_snapshot(ctx)?;
    let prefix = ctx.prefix_of_rows(&snap.rows);
    let mut only = Vec::new();
    for q in &o.ids {
        only.push(gate_row(ctx, &snap, q).map(|r| r.id.clone()).or_else(|e| {
            // A prefix the gate rows alone cannot settle.
            ctx.snapshot()?.resolve_id(q, &prefix).map_err(|_| e)
        })?);
    }
    let open: Vec<(Row, Record)> = snap
        .rows
        .iter()
        .filter(|r| !values::is_done(&r.status))
        .filter(|r| only.is_empty() || only.contains(&r.id))
        .filter_map(|r| snap.record(r).ok().map(|rec| (r.clone(), rec)))
        .filter(|(_, rec)| wanted(&o.kinds, &spec_of(rec).kind))
        .collect();
    drop(snap);
    let mut report = CheckReport {
        dry_run: o.dry_run,
        ..Default::default()
    };
    if open.is_empty() {
        return Ok(report);
    }
    // The approvals are read only when a gate runs a program.
    let trust = if open
        .iter()
        .any(|(_, rec)| gate::runs_program(&spec_of(rec).kind))
    {
        trust_of(ctx)
    } else {
        Default::default()
    };
    for (row, rec) in open {
        let c = check_one(ctx, &trust, &row, &rec, o)?;
        match c.outcome {
            "resolved" => report.resolved += 1,
            "pending" => report.pending += 1,
            "failed" => report.failed += 1,
            "untrusted" => report.untrusted += 1,
            _ => {}
        }
        if c.outcome != "skipped" {
            report.checked += 1;
        }
        report.gates.push(c);
    }
    Ok(report)
}

/// A round of `dispatch` or `bd run`: check the gates that are due
/// (program gates at most every [`RECHECK_EVERY`]); the ids resolved. A
/// failure is a warning: the round goes on.
pub fn check_due(ctx: &Session) -> Vec<String> {
    match check(
        ctx,
        &CheckOptions {
            due_only: true,
            ..Default::default()
        },
    ) {
        Ok(r) => r
            .gates
            .into_iter()
            .filter(|g| g.outcome == "resolved")
            .map(|g| g.id)
            .collect(),
        Err(e) => {
            ctx.warn(format!("gate check: {e}"));
            vec![]
        }
    }
}

fn checked(row: &Row, s: &Spec, outcome: &'static str, reason: impl Into<String>) -> Checked {
    Checked {
        id: row.id.clone(),
        title: row.title.clone(),
        await_type: s.kind.clone(),
        outcome,
        reason: reason.into(),
        program: program_of(s),
        exit_code: None,
        output_tail: vec![],
    }
}

/// What evaluating a gate's condition gave.
enum Verdict {
    Pass(String, Vec<String>),
    Pending(String),
    Fail {
        why: String,
        exit: Option<i32>,
        tail: Vec<String>,
    },
}

fn check_one(
    ctx: &Session,
    trust: &trust_store::Trust,
    row: &Row,
    rec: &Record,
    o: &CheckOptions,
) -> Result<Checked> {
    let s = spec_of(rec);
    if s.kind == HUMAN {
        return Ok(checked(
            row,
            &s,
            "skipped",
            "a human gate: `bd gate resolve` it",
        ));
    }
    if !gate::KINDS.contains(&s.kind.as_str()) {
        return Ok(checked(
            row,
            &s,
            "skipped",
            format!("unknown gate type {:?}", s.kind),
        ));
    }
    let runs = gate::runs_program(&s.kind);
    if runs && !is_trusted(trust, &row.id, &s) {
        return Ok(checked(
            row,
            &s,
            "untrusted",
            format!(
                "not run: this machine has not approved its program (`bd gate trust {}`)",
                row.id
            ),
        ));
    }
    if runs && o.due_only {
        let last = rec
            .json::<serde_json::Value>("gate_check")
            .and_then(|c| c.get("at")?.as_str().and_then(time::parse));
        if last.is_some_and(|t| ctx.now - t < RECHECK_EVERY) {
            return Ok(checked(
                row,
                &s,
                "skipped",
                "checked less than 5 minutes ago",
            ));
        }
    }
    // A timer or bead gate is judged without a lock first: most checks find
    // nothing due, and those cost no lock and no ledger read.
    let cheap = match s.kind.as_str() {
        TIMER => Some(match due_of(&s) {
            None => Verdict::Pending("a timer gate with no timeout and no time".into()),
            Some(due) if ctx.now >= due => {
                Verdict::Pass(format!("timer: due at {}", time::format(due)), vec![])
            }
            Some(due) => Verdict::Pending(format!("timer: due at {}", time::format(due))),
        }),
        BEAD => Some(bead_verdict(ctx, &s)),
        _ => None,
    };
    if let Some(Verdict::Pending(why)) = &cheap {
        return Ok(checked(row, &s, "pending", why.clone()));
    }
    // One check of a gate at a time on this machine; after the lock, the
    // ledger tells whether another workspace resolved it meanwhile.
    let home = ctx.home()?;
    let _lock = match &home {
        Some(h) => Some(trust_store::lock(h, &row.id)?),
        None => None,
    };
    let ledger = ctx.ledger()?;
    let status =
        crate::ops::coord::effective_status(crate::ops::coord::entry_for(&ledger, rec), rec);
    if values::is_done(&status) {
        return Ok(checked(row, &s, "skipped", "resolved in another workspace"));
    }
    if o.dry_run && runs {
        return Ok(checked(row, &s, "pending", "dry run: not run"));
    }
    let verdict = match (cheap, s.kind.as_str()) {
        (Some(v), _) => v,
        (None, COMMAND) => run_command(ctx, home.as_ref(), row, &s),
        (None, _) => run_gh(ctx, home.as_ref(), row, &s),
    };
    let mut c = checked(row, &s, "pending", "");
    match verdict {
        Verdict::Pending(why) => c.reason = why,
        Verdict::Pass(why, tail) => {
            c.outcome = "resolved";
            c.reason = why.clone();
            c.output_tail = tail.clone();
            if !o.dry_run {
                let mut note = format!("Gate check: {why}");
                if !tail.is_empty() {
                    note.push_str(&format!("\n\n```\n{}\n```", tail.join("\n")));
                }
                let n = crate::ops::edit::Noted {
                    comment: &note,
                    label: None,
                };
                crate::ops::edit::close_noted(ctx, &row.id, &why, &n)?;
            }
        }
        Verdict::Fail { why, exit, tail } => {
            c.outcome = "failed";
            c.reason = why.clone();
            c.exit_code = exit;
            c.output_tail = tail.clone();
            if !o.dry_run {
                record_failure(ctx, &row.id, &why, exit, &tail)?;
            }
        }
    }
    Ok(c)
}

fn bead_verdict(ctx: &Session, s: &Spec) -> Verdict {
    let Some(target) = s.await_id.as_deref() else {
        return Verdict::Pending("a bead gate that names no issue".into());
    };
    if target.contains(':') {
        return Verdict::Pending(format!(
            "{target}: another project's issue; bead gates wait on this tracker's issues only"
        ));
    }
    let snap = match crate::store::Snapshot::load_ids(&ctx.ws, &ctx.view(), &[target]) {
        Ok(s) => s,
        Err(e) => return Verdict::Pending(e.to_string()),
    };
    let Some(row) = snap.find(target) else {
        return Verdict::Pending(format!("no issue {target} in this tracker"));
    };
    let ledger = ctx.ledger().unwrap_or_default();
    let status = match snap.record(row) {
        Ok(rec) => {
            crate::ops::coord::effective_status(crate::ops::coord::entry_for(&ledger, &rec), &rec)
        }
        Err(_) => row.status.clone(),
    };
    if status == Status::Closed.as_str() {
        Verdict::Pass(format!("bead {target} is closed"), vec![])
    } else {
        Verdict::Pending(format!("bead {target} is {status}"))
    }
}

/// The gate's last failed check, on the gate (one field, replaced each time).
fn record_failure(
    ctx: &Session,
    id: &str,
    why: &str,
    exit: Option<i32>,
    tail: &[String],
) -> Result<()> {
    let value = serde_json::json!({
        "at": ctx.now_text(),
        "outcome": "failed",
        "reason": why,
        "exit_code": exit,
        "output_tail": tail,
    });
    crate::ops::write::apply_then(
        ctx,
        &[id.to_string()],
        Guard::Insist,
        |_, rec| {
            rec.set("gate_check", &value);
            Ok(vec!["gate_check"])
        },
        |_, _| Ok(()),
    )?;
    Ok(())
}

fn run_program(
    ctx: &Session,
    home: Option<&crate::home::ProjectHome>,
    id: &str,
    argv: Vec<String>,
    limit: Duration,
) -> std::result::Result<crate::exec::Ran, String> {
    let home = home.ok_or("program gates need the project home (BD_HOME)")?;
    let log = trust_store::log_file(home, id).map_err(|e| e.to_string())?;
    let mut argv = argv.into_iter();
    let program = argv.next().ok_or("nothing to run")?;
    let spec = crate::exec::Spec {
        program,
        args: argv.collect(),
        cwd: ctx.ws.root.clone(),
        env: vec![("BD_GATE".into(), id.into())],
        env_remove: vec![],
        log,
        stall: Duration::ZERO,
    };
    let started = Instant::now();
    let stop = || started.elapsed() > limit;
    let sink: crate::exec::OnLine = std::sync::Arc::new(std::sync::Mutex::new(|_: &str| {}));
    Ok(crate::exec::run(
        spec,
        sink,
        &stop,
        Duration::from_millis(100),
        &mut |_| {},
    ))
}

fn tail_of(r: &crate::exec::Ran) -> Vec<String> {
    let n = r.tail.len().saturating_sub(TAIL_LINES);
    r.tail.iter().skip(n).cloned().collect()
}

fn run_command(
    ctx: &Session,
    home: Option<&crate::home::ProjectHome>,
    row: &Row,
    s: &Spec,
) -> Verdict {
    let Some(cmd) = s.await_id.clone() else {
        return Verdict::Pending("a command gate with no command".into());
    };
    let limit = s
        .timeout
        .map(|n| Duration::from_nanos(n as u64))
        .unwrap_or(DEFAULT_COMMAND_TIMEOUT);
    let ran = match run_program(
        ctx,
        home,
        &row.id,
        vec!["sh".into(), "-c".into(), cmd],
        limit,
    ) {
        Ok(r) => r,
        Err(why) => return Verdict::Pending(why),
    };
    let secs = ran.ended.duration_since(ran.started).as_secs_f64();
    let tail = tail_of(&ran);
    match ran.end {
        crate::exec::End::Exited(0) => {
            Verdict::Pass(format!("command passed (exit 0 in {secs:.1}s)"), tail)
        }
        crate::exec::End::Exited(c) => Verdict::Fail {
            why: format!("command failed (exit {c} in {secs:.1}s)"),
            exit: Some(c),
            tail,
        },
        crate::exec::End::Stopped => Verdict::Fail {
            why: format!(
                "command timed out after {}",
                gate::duration_text(limit.as_nanos() as i64)
            ),
            exit: None,
            tail,
        },
        crate::exec::End::Signaled(sig) => Verdict::Fail {
            why: format!("command killed by signal {sig}"),
            exit: None,
            tail,
        },
        crate::exec::End::Stalled => Verdict::Fail {
            why: "command stalled".into(),
            exit: None,
            tail,
        },
        crate::exec::End::NotStarted(why) => Verdict::Fail {
            why: format!("command did not start: {why}"),
            exit: None,
            tail,
        },
    }
}

fn run_gh(ctx: &Session, home: Option<&crate::home::ProjectHome>, row: &Row, s: &Spec) -> Verdict {
    let Some(argv) = gate::gh_argv(&s.kind, s.await_id.as_deref().unwrap_or("")) else {
        return Verdict::Pending(format!("a {} gate needs an id to ask gh about", s.kind));
    };
    let ran = match run_program(ctx, home, &row.id, argv, Duration::from_secs(120)) {
        Ok(r) => r,
        Err(why) => return Verdict::Pending(why),
    };
    match &ran.end {
        crate::exec::End::NotStarted(_) => {
            return Verdict::Pending("gh is not installed on this machine".into());
        }
        crate::exec::End::Exited(0) => {}
        _ => {
            return Verdict::Pending(format!(
                "gh failed: {}",
                ran.tail.back().cloned().unwrap_or_default()
            ));
        }
    }
    let text: String = ran.tail.iter().cloned().collect::<Vec<_>>().join("\n");
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Verdict::Pending("gh printed no JSON".into());
    };
    match gate::judge_gh(&s.kind, &json) {
        None => Verdict::Pending(format!("{}: {}", s.kind, json)),
        Some(Ok(())) => Verdict::Pass(format!("{}: {}", s.kind, json), vec![]),
        Some(Err(why)) => Verdict::Fail {
            why,
            exit: Some(0),
            tail: vec![text],
        },
    }
}

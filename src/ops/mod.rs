//! The library API: one function per verb (grouped by theme), options in, a
//! report out. Ops compose the store; they never print.

pub mod admin;
pub mod agents;
pub mod compose;
pub mod convoy;
pub mod coord;
pub mod create;
pub mod deps;
pub mod dispatch;
pub mod edit;
pub mod gitops;
pub mod history;
pub mod hooks;
pub mod import;
pub mod labels;
pub mod mail;
pub mod membership;
pub mod merge_driver;
pub mod prime;
pub mod query;
pub mod sync;
pub mod write;

use crate::model::kinds::Status;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::error::{Error, Result};
use crate::git::{self, driver::DriverState};
use crate::model::record::Record;
use crate::model::time::{self, Nanos};
use crate::store::config::Config;
use crate::store::index::Row;
use crate::store::tracker::View;
use crate::store::{Snapshot, Tx, Workspace};

/// Something worth telling the user on stderr (not an error). The CLI
/// chooses the words around it and which ones `--quiet` keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// What the command did ("Created bd-1: …").
    Info(String),
    /// Something the user may want to know or act on, not a fault.
    Note(String),
    /// Something went wrong on the side; the command went on.
    Warning(String),
    /// The command had nothing to do.
    Unchanged(String),
}

/// The pure inputs of a command, read from the process environment once,
/// by the command line.
#[derive(Debug, Clone)]
pub struct Env {
    /// The time of the command (`BD_NOW`, else the clock).
    pub now: Nanos,
    /// The named actor (`--actor`, else `BD_ACTOR`): explicit when set and
    /// not blank; otherwise the actor is derived from the workspace path.
    pub actor: Option<String>,
    /// The machine-local home's base (`BD_HOME`, else `$XDG_STATE_HOME/bd`,
    /// else `~/.local/state/bd`); none when the environment names no place.
    pub bd_home: Option<PathBuf>,
    /// How long a lock waits (`BD_LOCK_TIMEOUT_MS`, else 10 s).
    pub lock_timeout: std::time::Duration,
}

/// Everything a command needs to know about where and when it runs.
pub struct Ctx {
    pub ws: Workspace,
    pub config: Config,
    /// The inputs the command line gave (`now` and `actor` below start from them).
    pub env: Env,
    pub now: Nanos,
    pub actor: String,
    /// Things worth telling the user on stderr (not errors).
    pub notices: RefCell<Vec<Notice>>,
    /// The verb being run (`close`, `create`, …), for commit subjects.
    pub verb: String,
    /// The actor was named (`--actor`/`BD_ACTOR`), not derived from the path.
    pub explicit_actor: bool,
    /// The project home, once opened (see `Ctx::home`).
    pub(crate) home_once: std::cell::OnceCell<Option<crate::home::ProjectHome>>,
    /// Writes to items handed off from other projects, to report back to
    /// them once the command is done (see `mail::flow_back`).
    pub outbox: RefCell<Vec<(Option<Record>, Record)>>,
    /// This command wrote the tracker (see `hooks::materialize`).
    pub wrote: std::cell::Cell<bool>,
    /// The project identity, once computed (it reads git config and may walk history).
    identity_once: std::cell::OnceCell<git::identity::Identity>,
    /// `.beads/` paths git's index holds unmerged (see `gitops::unmerged_paths`).
    pub unmerged: Vec<String>,
    /// The actor unregistered itself: no heartbeat after this command.
    pub departed: std::cell::Cell<bool>,
    /// Links under `.beads/` that `doctor --fix` removed before this
    /// context could be built (see `admin::doctor_links`).
    pub links_found: RefCell<Vec<admin::Finding>>,
    /// What `doctor` found reading config.toml (see `admin::doctor_config`).
    pub config_found: RefCell<Vec<admin::Finding>>,
}

impl Ctx {
    pub fn new(ws: Workspace, env: Env) -> Result<Ctx> {
        let config = Config::load(&ws.config_path())?;
        Ctx::with_config(ws, env, config)
    }

    /// The context of `doctor`: a config.toml that cannot be read is a
    /// finding (and, with `fix`, a conflicted one is merged first), and
    /// doctor runs with the default settings rather than refusing.
    pub fn for_doctor(ws: Workspace, env: Env, fix: bool) -> Result<Ctx> {
        let (found, config) = admin::doctor_config(&ws, fix)?;
        let ctx = Ctx::with_config(ws, env, config)?;
        ctx.config_found.replace(found);
        Ok(ctx)
    }

    fn with_config(ws: Workspace, env: Env, config: Config) -> Result<Ctx> {
        let now = env.now;
        let actor = env.actor.clone().filter(|a| !a.trim().is_empty());
        let explicit_actor = actor.is_some();
        let unmerged = gitops::unmerged_paths(&ws);
        let actor = actor.unwrap_or_else(|| ws.default_actor());
        let ctx = Ctx {
            ws,
            config,
            env,
            now,
            actor,
            notices: RefCell::new(Vec::new()),
            verb: String::new(),
            explicit_actor,
            home_once: std::cell::OnceCell::new(),
            outbox: RefCell::new(Vec::new()),
            wrote: std::cell::Cell::new(false),
            identity_once: std::cell::OnceCell::new(),
            unmerged,
            departed: std::cell::Cell::new(false),
            links_found: RefCell::new(Vec::new()),
            config_found: RefCell::new(Vec::new()),
        };
        ctx.check_merge_driver();
        ctx.warn_unmerged();
        Ok(ctx)
    }

    /// Every command repairs the clone's merge-driver config (git keeps it per
    /// clone, so fresh clones lack it). Problems are warnings, never fatal.
    pub fn check_merge_driver(&self) {
        let result = git::dirs(&self.ws.root).and_then(|d| git::driver::ensure(&d));
        match result {
            Ok(DriverState::Ok) => {}
            Ok(DriverState::Missing) => self.note(format!(
                "set git config merge.beads.driver = \"{}\" (it was missing)",
                git::driver::DRIVER
            )),
            Ok(DriverState::Different(old)) => self.note(format!(
                "set git config merge.beads.driver = \"{}\" (was \"{old}\")",
                git::driver::DRIVER
            )),
            Err(e) => self.warn(format!("cannot check the merge driver config: {e}")),
        }
    }

    /// The project identity of this workspace (computed once per command).
    pub fn identity(&self) -> Result<git::identity::Identity> {
        if let Some(id) = self.identity_once.get() {
            return Ok(id.clone());
        }
        let id = self.compute_identity()?;
        let _ = self.identity_once.set(id.clone());
        Ok(id)
    }

    fn compute_identity(&self) -> Result<git::identity::Identity> {
        use git::identity::{Identity, Source};
        let dirs = git::dirs(&self.ws.root)?;
        // Without `project` and `origin` the identity comes from the root
        // commit, which means walking history: remember it, in git's own
        // folder (never in `.beads/.cache/`: a repository can commit that,
        // and a planted identity would join another project's home).
        let cache = dirs.common_dir.join("bd-identity");
        let configured = self
            .config
            .get_str("project")
            .filter(|p| !p.trim().is_empty());
        if configured.is_none()
            && git::identity::origin_url(&dirs)?.is_none()
            && let Some(t) = crate::files::cache::read_string(&cache)
            && t.starts_with("local/")
            && !t.starts_with("local/unborn-")
        {
            return Ok(Identity {
                identity: t.trim().to_string(),
                source: Source::RootCommit,
                origin: None,
            });
        }
        let ci = self.case_insensitive_hosts();
        let id = git::identity::identity(&self.ws.root, &dirs, configured, &ci)?;
        if id.source == Source::RootCommit {
            let _ = crate::files::cache::write(&cache, id.identity.as_bytes());
        }
        Ok(id)
    }

    pub fn case_insensitive_hosts(&self) -> Vec<String> {
        let l = self.config.list("case_insensitive_hosts");
        if l.is_empty() {
            git::identity::DEFAULT_CASE_INSENSITIVE
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            l
        }
    }

    /// The base of the machine-local homes (`BD_HOME`), if the environment names one.
    pub fn home_base(&self) -> Option<&std::path::Path> {
        self.env.bd_home.as_deref()
    }

    /// Tells what the command did.
    pub fn notice(&self, msg: impl Into<String>) {
        self.notices.borrow_mut().push(Notice::Info(msg.into()));
    }

    /// Tells something worth knowing (kept by `--quiet`).
    pub fn note(&self, msg: impl Into<String>) {
        self.notices.borrow_mut().push(Notice::Note(msg.into()));
    }

    /// Warns of a problem on the side (kept by `--quiet`).
    pub fn warn(&self, msg: impl Into<String>) {
        self.notices.borrow_mut().push(Notice::Warning(msg.into()));
    }

    pub fn view(&self) -> View {
        View {
            now: self.now,
            non_work: self.config.list("non_work_types"),
        }
    }

    pub fn now_text(&self) -> String {
        time::format(self.now)
    }

    pub fn snapshot(&self) -> Result<Snapshot> {
        let snap = Snapshot::load(&self.ws, &self.view())?;
        self.warn_bad_lines(&snap);
        Ok(snap)
    }

    pub fn warn_bad_lines(&self, snap: &Snapshot) {
        let bad = snap.bad_lines();
        if !bad.is_empty() {
            let list: Vec<String> = bad.iter().map(|n| n.to_string()).collect();
            self.warn(format!(
                "skipped {} line(s) of {} that do not parse (line {}); run `bd doctor --fix`",
                bad.len(),
                snap.path.display(),
                list.join(", ")
            ));
        }
        if !snap.header.duplicate_ids.is_empty() {
            self.warn(format!(
                "{} has duplicate ids: {}; run `bd doctor --fix`",
                snap.path.display(),
                snap.header.duplicate_ids.join(", ")
            ));
        }
    }

    pub fn begin(&self) -> Result<Tx> {
        self.refuse_unmerged()?;
        Tx::begin(&self.ws, &self.view())
    }

    /// Write a transaction, telling the user when the file was normalized.
    pub fn commit(&self, tx: Tx) -> Result<bool> {
        let normalized = tx.normalizes();
        let subject = commit_subject(&self.verb, &tx.changes());
        let handoffs: Vec<(Option<Record>, Record)> = tx
            .changed_pairs()
            .into_iter()
            .filter(|(_, r)| {
                r.raw("metadata")
                    .is_some_and(|m| m.get().contains("\"handoff\""))
            })
            .collect();
        let wrote = tx.commit()?;
        if wrote {
            self.outbox.borrow_mut().extend(handoffs);
            self.wrote.set(true);
        }
        if wrote {
            self.auto_commit(&subject);
        }
        if wrote && normalized {
            self.note(format!(
                "{} was not in canonical form (CRLF, unsorted or no final newline); rewrote it canonically",
                self.ws.issues_path().display()
            ));
        }
        Ok(wrote)
    }

    /// The prefix for new IDs: config, else the most common among existing IDs, else `bd`.
    pub fn prefix_from(&self, ids: &[&str]) -> String {
        if let Some(p) = self.config.prefix() {
            return p.to_string();
        }
        most_common_prefix(ids.iter().copied()).unwrap_or_else(|| "bd".into())
    }

    pub fn prefix_of_rows(&self, rows: &[Row]) -> String {
        if let Some(p) = self.config.prefix() {
            return p.to_string();
        }
        most_common_prefix(rows.iter().map(|r| r.id.as_str())).unwrap_or_else(|| "bd".into())
    }

    pub fn custom_statuses(&self) -> Vec<String> {
        self.config.list("custom_statuses")
    }

    pub fn custom_types(&self) -> Vec<String> {
        self.config.list("custom_types")
    }
}

pub fn most_common_prefix<'a>(ids: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in ids {
        if let Some((p, _)) = id.split_once('-') {
            *counts.entry(p).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(p, _)| p.to_string())
}

/// An issue as list-like commands give it: the record's fields (as
/// [`Record::to_value`] gives them), then its counts and parent.
#[derive(Debug, Clone)]
pub struct IssueView<'a> {
    pub record: Cow<'a, Record>,
    pub dependency_count: usize,
    pub dependent_count: u32,
    pub comment_count: usize,
    pub parent: Option<String>,
}

impl<'a> IssueView<'a> {
    /// The keys [`IssueView::put`] writes, in order.
    pub const KEYS: &'static [&'static str] = &[
        "dependency_count",
        "dependent_count",
        "comment_count",
        "parent",
    ];

    /// The view of `rec`; `row` (its index row) gives the counts that need
    /// the whole tracker (dependents) and the parent it resolved.
    pub fn new(record: Cow<'a, Record>, row: Option<&Row>) -> IssueView<'a> {
        IssueView {
            dependency_count: record.deps().len(),
            dependent_count: row.map_or(0, |r| r.dependent_count),
            comment_count: record.comments().len(),
            parent: row
                .and_then(|r| r.parent.clone())
                .or_else(|| record.parent()),
            record,
        }
    }

    /// Write the value of one of [`IssueView::KEYS`].
    pub fn put<M: SerializeMap>(&self, m: &mut M, key: &str) -> std::result::Result<(), M::Error> {
        match key {
            "dependency_count" => m.serialize_entry(key, &self.dependency_count),
            "dependent_count" => m.serialize_entry(key, &self.dependent_count),
            "comment_count" => m.serialize_entry(key, &self.comment_count),
            _ => m.serialize_entry(key, &self.parent),
        }
    }
}

impl Serialize for IssueView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        record_with(&mut m, &self.record, Self::KEYS, |m, k| self.put(m, k))?;
        m.end()
    }
}

/// Write `rec`'s fields into a JSON object with the computed `keys` written
/// by `put`: one of them the record also has takes that key's place, the
/// others follow in order (so a record key never appears twice).
pub fn record_with<M: SerializeMap>(
    m: &mut M,
    rec: &Record,
    keys: &[&str],
    mut put: impl FnMut(&mut M, &str) -> std::result::Result<(), M::Error>,
) -> std::result::Result<(), M::Error> {
    let fields = rec.to_map();
    for (k, v) in &fields {
        if keys.contains(&k.as_str()) {
            put(m, k)?;
        } else {
            m.serialize_entry(k, v)?;
        }
    }
    for k in keys.iter().filter(|k| !fields.contains_key(**k)) {
        put(m, k)?;
    }
    Ok(())
}

/// [`IssueView::new`] without an index row: the view of a record a verb wrote.
pub fn issue_view(rec: &Record) -> IssueView<'_> {
    IssueView::new(Cow::Borrowed(rec), None)
}

/// Check that `id` exists, with a helpful error.
pub fn require_id(tx: &Tx, query: &str, prefix: &str) -> Result<String> {
    tx.resolve(query, prefix)
}

/// Refuse to edit a list field another tool wrote in a form bd cannot read:
/// rewriting it would lose what is there.
pub fn editable_list(rec: &Record, key: &str) -> Result<()> {
    if rec.list_ok(key) {
        Ok(())
    } else {
        Err(Error::Invalid {
            msg: format!(
                "{}: field '{key}' is not in the form bd can edit; refusing to rewrite it",
                rec.id()
            ),
            hint: Some("fix that line by hand (`bd doctor` lists odd records)".into()),
        })
    }
}

/// Refuse to change a deleted issue (a tombstone): `close`, `comment`,
/// `label add|remove` and `dep add` all say the same (issue 9, item 18).
pub fn refuse_deleted(rec: &Record) -> Result<()> {
    if rec.state() == Status::Tombstone {
        return Err(Error::invalid(format!(
            "{} is deleted; `bd restore` it first",
            rec.id()
        )));
    }
    Ok(())
}

/// A commit subject naming what changed: `bd: close bd-a1 "Title"`.
pub fn commit_subject(verb: &str, changes: &[(String, String, bool)]) -> String {
    let verb = if verb.is_empty() { "update" } else { verb };
    match changes {
        [] => format!("bd: {verb}"),
        [(id, title, _)] => {
            let t: String = title.chars().take(50).collect();
            let more = if title.chars().count() > 50 {
                "…"
            } else {
                ""
            };
            format!("bd: {verb} {id} \"{t}{more}\"")
        }
        many => {
            let ids: Vec<&str> = many.iter().take(4).map(|c| c.0.as_str()).collect();
            let more = if many.len() > 4 { ", …" } else { "" };
            format!(
                "bd: {verb} {} issues ({}{more})",
                many.len(),
                ids.join(", ")
            )
        }
    }
}

/// The free-text fields of an issue as a command gives them (`create`,
/// `update`; on update `Some("")` clears one).
#[derive(Debug, Default, Clone)]
pub struct IssueText {
    pub description: Option<String>,
    pub design: Option<String>,
    pub acceptance: Option<String>,
    pub notes: Option<String>,
}

impl IssueText {
    /// Each field with the record key it is stored under.
    pub fn fields(&self) -> [(&'static str, &Option<String>); 4] {
        [
            ("description", &self.description),
            ("design", &self.design),
            ("acceptance_criteria", &self.acceptance),
            ("notes", &self.notes),
        ]
    }
}

/// Stamp a write (SPEC §5: the hybrid logical clock per changed register, the
/// per-element and claim stamps the merge needs) and move `updated_at` to the
/// same instant, so it never goes backwards.
pub fn stamp_write(ctx: &Ctx, before: &Record, rec: &mut Record, fields: &[&str], at: Nanos) {
    rec.stamp_write(before, fields, at, &ctx.actor);
    rec.set("updated_at", &time::format(at));
}

/// The usual "nothing changed" notice.
pub fn unchanged(ctx: &Ctx, what: impl Into<String>) {
    ctx.notices
        .borrow_mut()
        .push(Notice::Unchanged(what.into()));
}

pub fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

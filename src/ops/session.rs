//! The session of one command: where it runs (the workspace and its
//! settings), for whom and when (from [`Env`]), and what it learned and did
//! on the way (notices, the project home once opened, the identity once
//! computed, writes to commit and report). Every `ops` function takes one.
//!
//! This module is the floor of `ops`: it names no other `ops` module, so
//! every verb and the coordination service can stand on it. The work around
//! a verb (the merge-driver check and mail pump before it; auto-commit,
//! heartbeat, hook file and flow-back after it) is run by
//! `ops::compose::{begin, finish}`, which sit above every verb.

use std::cell::{Cell, OnceCell, RefCell};

use crate::error::{Error, Result};
use crate::git::{self, commit::Outcome, commit::Request, driver::DriverState, identity::Source};
use crate::home::{self, ProjectHome, ledger, presence, registry};
use crate::model::kinds::Status;
use crate::model::record::Record;
use crate::model::time::{self, Nanos};
use crate::ops::{Env, Finding, Notice, most_common_prefix};
use crate::store::config::Config;
use crate::store::index::Row;
use crate::store::tracker::View;
use crate::store::{Snapshot, Tx, Workspace};

/// Everything a command needs to know about where and when it runs.
pub struct Session {
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
    /// The project home, once opened (see `Session::home`).
    home_once: OnceCell<Option<ProjectHome>>,
    /// Writes to items handed off from other projects, to report back to
    /// them once the command is done (see `mail::flow_back`).
    pub outbox: RefCell<Vec<(Option<Record>, Record)>>,
    /// This command wrote the tracker (see `hooks::materialize`).
    pub wrote: Cell<bool>,
    /// The commit subjects of this command's tracker writes, committed
    /// once, when it is done (see [`Session::auto_commit`]).
    to_commit: RefCell<Vec<String>>,
    /// The project identity, once computed (it reads git config and may walk history).
    identity_once: OnceCell<git::identity::Identity>,
    /// `.beads/` paths git's index holds unmerged (see [`unmerged_paths`]).
    pub unmerged: Vec<String>,
    /// The actor unregistered itself: no heartbeat after this command.
    pub departed: Cell<bool>,
    /// What `doctor` found before the session could be opened: links under
    /// `.beads/` that `--fix` removed, faults of config.toml (see
    /// `admin::doctor_links`, `admin::doctor_config`).
    pub found_on_open: RefCell<Vec<Finding>>,
}

impl Session {
    pub fn new(ws: Workspace, env: Env) -> Result<Session> {
        let config = Config::load(&ws.config_path())?;
        Session::with_config(ws, env, config)
    }

    /// The session with these settings (`doctor` reads config.toml itself:
    /// a broken one must not lock it out).
    pub fn with_config(ws: Workspace, env: Env, config: Config) -> Result<Session> {
        let now = env.now;
        let actor = env.actor.clone().filter(|a| !a.trim().is_empty());
        let explicit_actor = actor.is_some();
        let unmerged = unmerged_paths(&ws);
        let actor = actor.unwrap_or_else(|| ws.default_actor());
        Ok(Session {
            ws,
            config,
            env,
            now,
            actor,
            notices: RefCell::new(Vec::new()),
            verb: String::new(),
            explicit_actor,
            home_once: OnceCell::new(),
            outbox: RefCell::new(Vec::new()),
            wrote: Cell::new(false),
            to_commit: RefCell::new(Vec::new()),
            identity_once: OnceCell::new(),
            unmerged,
            departed: Cell::new(false),
            found_on_open: RefCell::new(Vec::new()),
        })
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

    /// A write transaction over the tracker (refused while it is unmerged).
    pub fn tx(&self) -> Result<Tx> {
        self.refuse_unmerged()?;
        Tx::begin(&self.ws, &self.view())
    }

    /// Write a transaction, telling the user when the file was normalized.
    pub fn commit(&self, tx: Tx) -> Result<bool> {
        let normalized = tx.normalizes();
        let subject = crate::ops::commit_subject(&self.verb, &tx.changes());
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
            self.ws.touch_classic_databases();
            self.outbox.borrow_mut().extend(handoffs);
            self.wrote.set(true);
            self.commit_later(subject);
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

    /// The prefix of a transaction's tracker (every id is read only when
    /// the configuration names none).
    pub fn prefix_for(&self, tx: &crate::store::Tx) -> Result<String> {
        if let Some(p) = self.config.prefix() {
            return Ok(p.to_string());
        }
        let ids = tx.ids()?;
        Ok(most_common_prefix(ids.iter().map(String::as_str)).unwrap_or_else(|| "bd".into()))
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

    /// The project home, unless `coordination = "workspace"`. Registers this
    /// workspace (a cheap no-op when it was seen within the minute).
    pub fn home(&self) -> Result<Option<ProjectHome>> {
        if let Some(h) = self.home_once.get() {
            return Ok(h.clone());
        }
        let h = self.open_home()?;
        let _ = self.home_once.set(h.clone());
        Ok(h)
    }

    fn open_home(&self) -> Result<Option<ProjectHome>> {
        if self.config.get_str("coordination") == Some("workspace") || !self.joins_home() {
            return Ok(None);
        }
        let identity = self.identity()?.identity;
        if self.env.readonly {
            // `--readonly` reads the home as it is: nothing is made or
            // registered.
            return Ok(crate::home::mailbox::existing(self.home_base(), &identity));
        }
        let home = ProjectHome::open(self.home_base(), &identity).map_err(|e| Error::Invalid {
            msg: format!("cannot use the project home: {e}"),
            hint: Some(
                "set BD_HOME to a writable folder, or `bd config set coordination workspace` to coordinate within this workspace only"
                    .into(),
            ),
        })?;
        let known = registry::load(&home).0.workspaces.values().any(|w| {
            std::fs::canonicalize(&w.root).ok() == std::fs::canonicalize(&self.ws.root).ok()
        });
        match registry::register(&home, &self.ws.root, None, &self.now_text()) {
            Ok((_, Some(w))) => self.warn(w),
            Ok(_) => {}
            Err(e) => self.warn(format!("cannot register this workspace: {e}")),
        }
        if !known {
            // A workspace new to this home (or a home that was lost) brings its
            // claims and hooks, and those of its sibling worktrees, into the
            // ledger, so other workspaces see them.
            let roots = known_workspaces(self, &home);
            if let Err(e) = ledger::with_ledger(&home, |l| {
                reconcile(l, &roots, &self.now_text());
                Ok(())
            }) {
                self.warn(format!("cannot update the ledger: {e}"));
            }
        }
        Ok(Some(home))
    }

    /// The ledger of this project (empty without a home).
    pub fn ledger(&self) -> Result<ledger::Ledger> {
        let Some(home) = self.home()? else {
            return Ok(ledger::Ledger::default());
        };
        let (l, warning) = ledger::load(&home);
        if let Some(w) = warning {
            self.warn(w);
        }
        Ok(l)
    }

    /// Refresh the heartbeat of an explicitly named actor (SPEC §1).
    pub fn touch_presence(&self) {
        if !self.explicit_actor || self.departed.get() {
            return;
        }
        let Ok(Some(home)) = self.home() else { return };
        // A heartbeat younger than 30 s is fresh enough (agents promise one
        // every lease/3); skipping the write keeps read commands read-only.
        if let (Some(a), _) = presence::find(&home, &self.actor)
            && a.workspace == self.ws.root
            && time::parse(&a.last_heartbeat)
                .is_some_and(|t| self.now - t < 30_000_000_000 && t <= self.now)
        {
            return;
        }
        if let Err(e) =
            presence::heartbeat(&home, &self.actor, &self.ws.root, None, &self.now_text())
        {
            self.warn(format!(
                "cannot record the heartbeat of {}: {e}",
                self.actor
            ));
        }
    }

    /// How (or whether) this workspace's identity is proven here.
    pub fn home_proof(&self) -> Result<Proof> {
        let id = self.identity()?;
        match id.source {
            Source::Config => {
                if origin_proves(&self.ws.root, &id.identity)? == Some(true) {
                    return Ok(Proof::Origin);
                }
            }
            // Derived from origin: proven when the built-in normalization
            // gives it too. A path lower-cased only by the repository's own
            // `case_insensitive_hosts` is a claim like a configured project.
            Source::Origin => {
                if origin_proves(&self.ws.root, &id.identity)? == Some(true) {
                    return Ok(Proof::Derived);
                }
            }
            Source::RootCommit | Source::Unborn => return Ok(Proof::Derived),
        }
        // Without an origin, the root-commit identity (a history walk, only
        // for a `project` that has that form).
        if id.origin.is_none()
            && id.identity.starts_with("local/")
            && git::identity::smallest_root_commit(&self.ws.root)?
                .as_deref()
                .map(git::identity::local_identity)
                == Some(id.identity.clone())
        {
            return Ok(Proof::RootCommit);
        }
        if home::check_identity(&id.identity).is_err() {
            return Ok(Proof::Unproven);
        }
        let Some(home) = crate::home::mailbox::existing(self.home_base(), &id.identity) else {
            return Ok(Proof::Unproven);
        };
        let key = trust_key(&self.ws.root)?;
        let (reg, _) = registry::load(&home);
        let Some(entry) = reg.trusted.get(&key) else {
            return Ok(Proof::Unproven);
        };
        match &entry.root_commit {
            // The repository at this path still holds that root commit: one
            // object look-up.
            Some(hex) if git::identity::has_root_commit(&self.ws.root, hex) => {}
            Some(_) => return Ok(Proof::Unproven),
            // Trusted before its first commit: bind the trust to the root
            // commit now (once).
            None => {
                let root_commit = git::identity::smallest_root_commit(&self.ws.root)?;
                if root_commit.is_some()
                    && let Err(e) =
                        registry::trust(&home, &key, root_commit.as_deref(), &self.now_text())
                {
                    self.warn(format!("cannot record the trust of {key}: {e}"));
                }
            }
        }
        Ok(Proof::Trusted)
    }

    /// Whether this workspace may speak for its project: its identity is
    /// proven here (see [`Proof`]). An unproven workspace has no project to
    /// send mail as, so it posts into no other project's home.
    pub fn speaks_for_project(&self) -> bool {
        matches!(self.home_proof(), Ok(p) if p != Proof::Unproven)
    }

    /// The refusal of mail to other projects from an unproven workspace.
    pub(crate) fn unproven_sender(&self) -> crate::error::Error {
        let project = self.identity().map(|i| i.identity).unwrap_or_default();
        crate::error::Error::Invalid {
            msg: format!(
                "this workspace sends no mail to other projects: its project '{project}' is not proven for this repository"
            ),
            hint: Some(
                "`bd where --trust` if this repository belongs to that project (a fork, a renamed remote)"
                    .into(),
            ),
        }
    }

    /// Whether this workspace joins its project home; when not, says why
    /// (once per command: the home is opened once).
    pub(crate) fn joins_home(&self) -> bool {
        match self.home_proof() {
            Ok(Proof::Unproven) => {
                let id = self.identity().ok();
                let project = id.as_ref().map(|i| i.identity.clone()).unwrap_or_default();
                let derived = id.as_ref().is_some_and(|i| i.source == Source::Origin);
                let origin = id
                    .and_then(|i| i.origin)
                    .map_or_else(|| "no origin".to_string(), |o| format!("origin {o}"));
                let claim = if derived {
                    format!(
                        "this repository's identity '{project}' is lower-cased by case_insensitive_hosts in .beads/config.toml, which"
                    )
                } else {
                    format!(
                        ".beads/config.toml names project '{project}', which this repository ({origin})"
                    )
                };
                self.warn(format!(
                    "{claim} does not prove; coordinating within this workspace only (no shared mail, claims or hooks). If it is that project's (a fork, a renamed remote), run `bd where --trust`"
                ));
                false
            }
            Ok(_) => true,
            Err(e) => {
                self.warn(format!(
                    "cannot check this workspace's project identity ({e}); coordinating within this workspace only"
                ));
                false
            }
        }
    }

    /// Reads go on over an unmerged tracker, with a warning naming the files.
    pub fn warn_unmerged(&self) {
        if !self.unmerged.is_empty() {
            self.warn(format!(
                "{} unmerged in git's index (a merge left it conflicted); what you see is one side only; run `bd doctor --fix`",
                unmerged_list(&self.unmerged)
            ));
        }
    }

    /// Writes are refused while a `.beads/` file is unmerged: committing it
    /// as it is would drop the other side's work.
    pub fn refuse_unmerged(&self) -> Result<()> {
        if self.unmerged.is_empty() {
            return Ok(());
        }
        Err(crate::error::Error::Invalid {
            msg: format!(
                "{} unmerged in git's index; refusing to write until it is merged",
                unmerged_list(&self.unmerged)
            ),
            hint: Some(
                "run `bd doctor --fix` (it merges base, ours and theirs from git's index)".into(),
            ),
        })
    }

    /// Remember a tracker write's commit subject: the command commits once,
    /// when it is done ([`Session::auto_commit`]).
    pub fn commit_later(&self, subject: String) {
        self.to_commit.borrow_mut().push(subject);
    }

    /// When the command is done: commit its tracker writes per `auto_commit`
    /// (off: nothing; on: one commit for the command; batch: amend bd's own
    /// recent unpushed commit), under the subject of its write (or of its
    /// first, saying how many more). The writes already succeeded; a commit
    /// that cannot happen now is left pending.
    pub fn auto_commit(&self) {
        let subjects = self.to_commit.take();
        let Some(first) = subjects.first() else {
            return;
        };
        let window = match self.config.auto_commit() {
            "on" => None,
            "batch" => Some(self.commit_window_secs()),
            _ => return,
        };
        let more = subjects.iter().filter(|s| *s != first).count();
        let subject = if more == 0 {
            first.clone()
        } else {
            format!("{first} (and {more} more)")
        };
        match self.commit_beads(&subject, window) {
            Ok(Outcome::Pending { reason }) => self.note(format!(
                "tracker change written but not committed: {reason}; run `bd commit` later"
            )),
            Ok(_) => {}
            Err(e) => self.warn(format!(
                "tracker change written but not committed: {e}; run `bd commit` later"
            )),
        }
    }

    pub fn commit_window_secs(&self) -> u64 {
        self.config
            .get_str("commit_window")
            .and_then(crate::store::config::duration_secs)
            .unwrap_or(600)
    }

    pub fn commit_beads(&self, subject: &str, amend_window: Option<u64>) -> Result<Outcome> {
        self.refuse_unmerged()?;
        let dirs = git::dirs(&self.ws.root)?;
        git::commit::commit(
            &self.ws.root,
            &dirs,
            &Request {
                subject: subject.to_string(),
                actor: self.actor.clone(),
                amend_window,
            },
        )
    }

    /// `.beads/` paths whose state differs from HEAD.
    /// Blob ids are remembered in `.cache/blobs.v1` by file state, so this
    /// hashes only files that changed since it last ran.
    pub fn pending_changes(&self) -> Vec<String> {
        const CACHE: &str = "blobs.v1";
        let mut known: git::commit::BlobIds = self.ws.read_cache(CACHE).unwrap_or_default();
        let before = known.clone();
        let out = git::commit::pending_with(&self.ws.root, &mut known).unwrap_or_default();
        if known != before {
            self.ws.write_cache(CACHE, &known);
        }
        out
    }
}

/// Every workspace of the project this machine knows: the registry's live
/// entries, the worktrees of this repository, and this workspace.
pub fn known_workspaces(ctx: &Session, home: &ProjectHome) -> Vec<std::path::PathBuf> {
    let mut roots = registry::live(home);
    if let Ok(dirs) = crate::git::dirs(&ctx.ws.root) {
        roots.extend(crate::git::worktrees(&dirs));
    }
    roots.push(ctx.ws.root.clone());
    let mut seen = std::collections::BTreeSet::new();
    roots.retain(|r| {
        let key = std::fs::canonicalize(r).unwrap_or_else(|_| r.clone());
        key.join(".beads").is_dir() && seen.insert(key)
    });
    roots
}

/// Bring the claims and hooks recorded in these workspaces' files into the
/// ledger, where it knows nothing newer (used when a ledger was lost or a
/// workspace is new to the home).
pub fn reconcile(l: &mut ledger::Ledger, roots: &[std::path::PathBuf], now: &str) {
    for root in roots {
        let Ok(bytes) = crate::files::read(root.join(".beads/issues.jsonl")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for line in text.split('\n') {
            // Only held issues matter: skip the (many) lines that cannot be.
            if !line.contains("\"in_progress\"") && !line.contains("\"hooked\"") {
                continue;
            }
            let Ok(rec) = Record::parse(line) else {
                continue;
            };
            let Some(holder) = rec.nonempty("assignee") else {
                continue;
            };
            let event = match rec.state() {
                Status::InProgress => ledger::Event::Claimed {
                    holder: holder.clone(),
                    started_at: rec.str("started_at").unwrap_or_default(),
                },
                Status::Hooked => ledger::Event::Hooked {
                    agent: holder.clone(),
                    by: holder.clone(),
                },
                _ => continue,
            };
            // The ledger knows something newer: a claim-group event of this
            // epoch or later, or a close, delete or reopen made after this
            // claim began (review 7: a new worktree's first command put an
            // older claim back over a close made next door).
            let epoch = rec.claim_epoch();
            let began = rec.time("started_at").or_else(|| rec.time("updated_at"));
            if l.find(rec.id()).is_some_and(|e| {
                e.epoch >= epoch || (!e.event.is_claim_group() && time::parse(&e.at) >= began)
            }) {
                continue;
            }
            // The ledger keeps a week of events (SPEC §7); older claims are
            // seen through git like everything else.
            let started = rec.time("started_at").or_else(|| rec.time("updated_at"));
            if let (Some(s), Some(n)) = (started, time::parse(now))
                && n - s > ledger::KEEP_NS
            {
                continue;
            }
            let _ = l.put(ledger::Entry {
                issue: rec.id().to_string(),
                event,
                at: rec
                    .str("started_at")
                    .filter(|s| time::parse(s).is_some())
                    .unwrap_or_else(|| now.to_string()),
                by: holder,
                workspace: root.clone(),
                epoch,
                on: rec.claim_made_on().map(|st| st.to_text()),
                until: None,
                status: None,
                assignee: None,
                created: rec.str("created_at"),
            });
        }
    }
}

/// How a workspace's membership in its project home is proven.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    /// No `project` is configured: the identity comes from this repository.
    Derived,
    /// `project` equals the normalized origin.
    Origin,
    /// No origin; `project` equals the root-commit identity.
    RootCommit,
    /// The user confirmed this repository on this machine.
    Trusted,
    /// None of the above: the workspace does not join the home.
    Unproven,
}

/// The trust key of the repository at `root`: its shared git folder, canonical.
pub(crate) fn trust_key(root: &std::path::Path) -> Result<String> {
    let dirs = git::dirs(root)?;
    let canon = std::fs::canonicalize(&dirs.common_dir).unwrap_or(dirs.common_dir);
    Ok(canon.to_string_lossy().into_owned())
}

/// The hosts whose repository paths the proof compares without case: the
/// built-in list only. A repository's own `case_insensitive_hosts` shapes its
/// identity (SPEC §1) but proves nothing: a repository naming another
/// project could otherwise declare its host case-insensitive and pass for a
/// project whose path differs from its own only in case.
pub fn proof_hosts() -> Vec<String> {
    git::identity::DEFAULT_CASE_INSENSITIVE
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Whether `project` is what the `origin` of the repository at `root` names,
/// by [`proof_hosts`] (`None`: there is no origin).
pub(crate) fn origin_proves(root: &std::path::Path, project: &str) -> Result<Option<bool>> {
    let dirs = git::dirs(root)?;
    let hosts = proof_hosts();
    let Some(origin) =
        git::identity::origin_url(&dirs)?.and_then(|u| git::identity::normalize(&u, root, &hosts))
    else {
        return Ok(None);
    };
    Ok(Some(git::identity::same_project(
        project, &origin, root, &hosts,
    )))
}

/// The `.beads/` paths git's index holds unmerged: a merge whose driver
/// failed (bd not on git's PATH, a side that does not parse) leaves the file
/// holding only our side, with no markers. An index that cannot be read
/// counts as none (the command's own git use reports it). The answer is
/// remembered in `.cache/unmerged.v1` by the index file's state (git
/// replaces the file on every change), so most commands only stat it.
pub fn unmerged_paths(ws: &crate::store::Workspace) -> Vec<String> {
    const CACHE: &str = "unmerged.v1";
    let Ok(dirs) = git::dirs(&ws.root) else {
        return Vec::new();
    };
    let key = git::commit::stat_key(&dirs.git_dir.join("index"));
    if let Some(k) = key
        && let Some((cached, paths)) = ws.read_cache::<(git::commit::StatKey, Vec<String>)>(CACHE)
        && cached == k
    {
        return paths;
    }
    let paths = git::stages::unmerged(&dirs).unwrap_or_default();
    if let Some(k) = key
        && git::commit::stat_key(&dirs.git_dir.join("index")) == Some(k)
    {
        ws.write_cache(CACHE, &(k, &paths));
    }
    paths
}

fn unmerged_list(paths: &[String]) -> String {
    match paths {
        [one] => format!("{one} is"),
        many => format!("{} are", many.join(", ")),
    }
}

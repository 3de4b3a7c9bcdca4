//! Reading verbs: `list`, `ready`, `blocked`, `stale`, `count`, `children`,
//! `search`, `show`, `stats`. One definition of each set (ready, blocked),
//! taken from the index, used everywhere; one filter type for all of them.

use crate::model::kinds::Status;
use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::error::{Error, Result};
use crate::model::record::Record;
use crate::model::time::{self, Nanos};
use crate::model::values;
use crate::ops::{IssueView, Session, record_with, usage};
use crate::store::Snapshot;
use crate::store::index::{self, Row};
use crate::store::tracker::sort_ready;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Priority,
    Oldest,
    Hybrid,
    Updated,
    Id,
}

impl Sort {
    pub fn parse(s: &str) -> Result<Sort> {
        Ok(match s {
            "priority" => Sort::Priority,
            "oldest" | "created" => Sort::Oldest,
            "hybrid" => Sort::Hybrid,
            "updated" => Sort::Updated,
            "id" => Sort::Id,
            _ => {
                return Err(Error::invalid(format!(
                    "invalid sort '{s}': use priority, oldest, hybrid, updated or id"
                )));
            }
        })
    }
}

/// What the user asked to see. Built by the CLI, checked by [`Filter::check`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `ready --fresh`: in remote coordination, fetch the remote's claims
    /// first.
    pub fresh: bool,
    pub statuses: Vec<String>,
    pub priorities: Vec<String>,
    pub priority_min: Option<String>,
    pub priority_max: Option<String>,
    pub types: Vec<String>,
    pub labels: Vec<String>,
    pub labels_any: Vec<String>,
    /// `Some("")` means unassigned.
    pub assignee: Option<String>,
    pub unassigned: bool,
    pub parent: Option<String>,
    pub created_after: Option<String>,
    pub created_before: Option<String>,
    /// Only issues whose title contains this text, case-insensitive
    /// (classic `list --title`).
    pub title: Option<String>,
    pub all: bool,
    pub limit: Option<i64>,
    pub sort: Option<String>,
    /// Only these issues (exact ids; comma-separated values split).
    pub ids: Vec<String>,
    /// Only issues whose description (notes) holds this text, any case.
    pub desc_contains: Option<String>,
    pub notes_contains: Option<String>,
    /// Only issues with no description.
    pub empty_description: bool,
    pub updated_after: Option<String>,
    pub updated_before: Option<String>,
    pub closed_after: Option<String>,
    pub closed_before: Option<String>,
    /// Only issues without labels.
    pub no_labels: bool,
    /// Only top-level issues (no parent).
    pub no_parent: bool,
    /// Leave out issues with any of these labels / of these types.
    pub exclude_labels: Vec<String>,
    pub exclude_types: Vec<String>,
    /// Only issues with a defer date.
    pub deferred: bool,
    /// `ready`: also issues that wait only for their defer date.
    pub include_deferred: bool,
    /// The order reversed.
    pub reverse: bool,
}

/// A filter checked against the tracker: every value valid, ranges ordered.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    statuses: Vec<String>,
    priorities: Vec<i64>,
    pmin: Option<i64>,
    pmax: Option<i64>,
    types: Vec<String>,
    labels: Vec<String>,
    labels_any: Vec<String>,
    assignee: Option<String>,
    parent_set: Option<std::collections::HashSet<String>>,
    after: Option<Nanos>,
    before: Option<Nanos>,
    /// Lower-cased.
    title: Option<String>,
    all: bool,
    pub limit: Option<usize>,
    pub sort: Sort,
    ids: std::collections::HashSet<String>,
    /// Lower-cased.
    desc: Option<String>,
    notes: Option<String>,
    empty_description: bool,
    updated: (Option<Nanos>, Option<Nanos>),
    closed: (Option<Nanos>, Option<Nanos>),
    no_labels: bool,
    no_parent: bool,
    exclude_labels: Vec<String>,
    exclude_types: Vec<String>,
    deferred: bool,
    reverse: bool,
    /// The ready set, when the filter asks for status `ready`.
    ready: Option<std::sync::Arc<ReadySet>>,
}

/// The one definition of ready work (SPEC §4 and §7; issue 9 item 14), used
/// by `ready`, `list -s ready`, `count -s ready`, `stats`, `show`, `prime`,
/// `dispatch` and `ready --claim`: the workspace's ready set (the index),
/// less what another workspace of the project on this machine claimed,
/// hooked, closed or deleted since (the ledger overlay, as it refuses the
/// actor). Build it with [`ReadySet::of`].
#[derive(Debug, Clone, Default)]
pub struct ReadySet {
    /// Issue -> why it is not available here (from the ledger overlay).
    taken: std::collections::HashMap<String, String>,
    /// Issues this file shows held or hooked that were released in another
    /// workspace ([`crate::ops::coord::released_elsewhere`]): ready when
    /// otherwise ready ([`ReadySet::ready_if_open`]).
    released: std::collections::HashSet<String>,
    now: Nanos,
    non_work: Vec<String>,
}

impl ReadySet {
    /// The ready set of `ctx`'s workspace for `ctx.actor`. Reads the ledger,
    /// and the records of the issues it names (few: the ledger is pruned).
    pub fn of(ctx: &Session) -> ReadySet {
        let (mut set, mut unread) = Self::of_head(ctx);
        unread.settle_all(ctx, &mut set);
        set
    }

    /// [`ReadySet::of`] for a reader that walks the ready order and stops
    /// early (`ready -n N`): the ledger's releases, which can add work, are
    /// read against their records now; its claims, hooks, closes and
    /// deletes, which can only take work away, wait in [`Unread`] until a
    /// row they may speak for comes up ([`Unread::settle`]). At 1M issues
    /// the ledger can name thousands of in-progress items that the ready
    /// head never reaches.
    pub fn of_head(ctx: &Session) -> (ReadySet, Unread) {
        let set = ReadySet {
            now: ctx.now,
            non_work: ctx.view().non_work,
            taken: crate::ops::remote::taken(ctx),
            ..ReadySet::default()
        };
        let mut unread = Unread::default();
        let ledger = match ctx.ledger() {
            Ok(l) => l,
            Err(e) => {
                ctx.warn(format!("ignoring claims of other workspaces: {e}"));
                return (set, unread);
            }
        };
        if ledger.is_empty() {
            return (set, unread);
        }
        // Releases can add work: read now. The rest wait for their row,
        // unless a release may speak for their record through a collision
        // rename ([`crate::ops::coord::entry_for`]). A release whose record
        // is not the one at its id looks at the ids that record may have
        // moved to; when it is not there either (this workspace has not
        // merged the rename yet), or its identity does not parse, every
        // entry is read now.
        let mut set = set;
        let (releases, later): (Vec<&crate::home::ledger::Entry>, Vec<_>) = ledger
            .iter()
            .partition(|e| matches!(e.event, crate::home::ledger::Event::Released));
        let mut everything = false;
        let ids: std::collections::HashSet<&str> =
            releases.iter().map(|e| e.issue.as_str()).collect();
        let mut found = Unread::read(ctx, &ledger, &mut set, &ids);
        // The ids each moved release's record may be at now.
        let mut moved: Vec<Vec<String>> = Vec::new();
        for e in &releases {
            if found.get(&e.issue).is_some_and(|created| e.is_of(*created)) {
                continue;
            }
            match e.created.as_deref().map(time::parse) {
                Some(Some(c)) => {
                    moved.push(crate::model::merge::rename_candidates(&e.issue, c).collect())
                }
                _ => everything = true,
            }
        }
        let ids: std::collections::HashSet<&str> =
            moved.iter().flatten().map(String::as_str).collect();
        let renamed = Unread::read(ctx, &ledger, &mut set, &ids);
        // A moved release whose record is at none of those ids.
        let orphan = moved
            .iter()
            .any(|cands| !cands.iter().any(|c| renamed.contains_key(c)));
        found.extend(renamed);
        unread.seen.extend(found.into_keys());
        unread.ids = later.into_iter().map(|e| e.issue.clone()).collect();
        unread.ledger = ledger;
        if everything || orphan {
            unread.settle_all(ctx, &mut set);
        }
        (set, unread)
    }

    /// Whether a row the file shows held or hooked would be ready were it
    /// open (its effective state after a release elsewhere): not blocked,
    /// not deferred to the future, a work type. (A deferred ancestor is not
    /// in the row; such an issue counts as ready here.)
    pub fn ready_if_open(row: &Row, now: Nanos, non_work: &[String]) -> bool {
        let nw: Vec<&str> = non_work.iter().map(String::as_str).collect();
        // A deferred row here is released by an undeferral elsewhere: its
        // date was lifted with it.
        let undeferred = row.state() == Status::Deferred;
        (undeferred || row.state().is_held())
            && !row.blocked
            && (undeferred || row.defer_until.is_none_or(|t| t <= now))
            && !crate::model::graph::is_coordination_type(&row.issue_type, &nw)
    }

    /// Whether a row would be ready but for its defer date (in the future):
    /// open or deferred, not blocked, a work type (`ready --include-deferred`).
    pub fn waits_for_date(row: &Row, now: Nanos, non_work: &[String]) -> bool {
        let nw: Vec<&str> = non_work.iter().map(String::as_str).collect();
        matches!(row.state(), Status::Open | Status::Deferred)
            && !row.blocked
            && row.defer_until.is_some_and(|t| t > now)
            && !crate::model::graph::is_coordination_type(&row.issue_type, &nw)
    }

    /// Whether some issue is ready only by a release elsewhere (the
    /// precomputed ready file does not hold it).
    pub fn adds_any(&self) -> bool {
        !self.released.is_empty()
    }

    /// The status part of a filter asking for `ready`, before (`Pre::Line`)
    /// or after a row is parsed.
    fn admits(&self, p: &crate::store::index::Pre) -> bool {
        match p {
            crate::store::index::Pre::Row(r) => self.contains(r),
            _ => (p.sets().0 && self.taken(p.id()).is_none()) || self.released.contains(p.id()),
        }
    }

    /// Why the ledger makes `rec` not ready work (another workspace claimed,
    /// hooked, closed or deleted it since, or released it to a state that is
    /// not ready: blocked, deferred), if it does. Held work is not ready
    /// whoever holds it, the asker included: a file that shows the hook or
    /// claim leaves it out of the ready set too, so every workspace agrees
    /// (review: a sibling clone listed the asker's own hook as ready).
    pub fn taken_elsewhere(
        entry: Option<&crate::home::ledger::Entry>,
        rec: &Record,
        now: Nanos,
    ) -> Option<String> {
        crate::ops::coord::overlay(entry, rec)
            .and_then(|o| crate::ops::coord::overlay_refusal(&o, rec.id(), ""))
            .or_else(|| crate::ops::coord::released_not_ready(entry, rec, now))
    }

    /// One issue, with its record and ledger entry at hand (`show`): the
    /// same rule as [`ReadySet::contains`] without reading other records.
    pub fn holds(
        ctx: &Session,
        row: &Row,
        rec: &Record,
        entry: Option<&crate::home::ledger::Entry>,
    ) -> bool {
        let ready = row.ready
            || (crate::ops::coord::released_ready(entry, rec, ctx.now)
                && Self::ready_if_open(row, ctx.now, &ctx.view().non_work));
        ready && Self::taken_elsewhere(entry, rec, ctx.now).is_none()
    }

    /// Whether the row is ready work here.
    pub fn contains(&self, row: &Row) -> bool {
        let ready = row.ready
            || (self.released.contains(&row.id)
                && Self::ready_if_open(row, self.now, &self.non_work));
        ready && !self.taken.contains_key(&row.id)
    }

    /// Why an issue the workspace's file calls ready is not (taken elsewhere).
    pub fn taken(&self, id: &str) -> Option<&str> {
        self.taken.get(id).map(String::as_str)
    }
}

/// Ledger entries not yet read against their records ([`ReadySet::of_head`]):
/// the issues they are at. The records read are the same either way (those
/// at the ledger's ids, and at the ids a released record may have been
/// renamed to); a head reader reads these only when its walk reaches them.
#[derive(Debug, Default)]
pub struct Unread {
    ledger: crate::home::ledger::Ledger,
    ids: std::collections::HashSet<String>,
    /// Rows already settled (each record is read once).
    seen: std::collections::HashSet<String>,
}

impl Unread {
    /// Read the entry at `row`'s id, if still unread, before `set` judges it.
    pub fn settle(&mut self, ctx: &Session, set: &mut ReadySet, row: &Row) {
        if self.ids.contains(&row.id) && self.seen.insert(row.id.clone()) {
            let ids = std::collections::HashSet::from([row.id.as_str()]);
            Self::read(ctx, &self.ledger, set, &ids);
        }
    }

    /// Read every entry still unread.
    pub fn settle_all(&mut self, ctx: &Session, set: &mut ReadySet) {
        if self.ids.is_empty() {
            return;
        }
        let ids = std::mem::take(&mut self.ids);
        let ids: std::collections::HashSet<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|i| !self.seen.contains(*i))
            .collect();
        Self::read(ctx, &self.ledger, set, &ids);
    }

    /// Judge the records at `ids` by their entries in `ledger` (only the
    /// lines named, by offset: `ready` stays cheap whatever the tracker's
    /// size). Returns the ids that have a record here, with its `created_at`.
    fn read(
        ctx: &Session,
        ledger: &crate::home::ledger::Ledger,
        set: &mut ReadySet,
        ids: &std::collections::HashSet<&str>,
    ) -> std::collections::HashMap<String, Option<Nanos>> {
        let mut found = std::collections::HashMap::new();
        if ids.is_empty() {
            return found;
        }
        let records = crate::store::tracker::records_named(&ctx.ws, &ctx.view(), ids)
            .unwrap_or_else(|e| {
                ctx.warn(format!("ignoring claims of other workspaces: {e}"));
                Vec::new()
            });
        for rec in records {
            let entry = crate::ops::coord::entry_for(ledger, &rec);
            if let Some(why) = ReadySet::taken_elsewhere(entry, &rec, ctx.now) {
                set.taken.insert(rec.id().to_string(), why);
            } else if crate::ops::coord::released_ready(entry, &rec, ctx.now) {
                set.released.insert(rec.id().to_string());
            }
            found.insert(rec.id().to_string(), rec.time("created_at"));
        }
        found
    }
}

impl Filter {
    pub fn check(&self, ctx: &Session, snap: Option<&Snapshot>) -> Result<Checked> {
        let mut c = Checked {
            all: self.all,
            ..Checked::default()
        };
        let custom = ctx.custom_statuses();
        for s in self.statuses.iter().flat_map(|s| s.split(',')) {
            let s = s.trim();
            if s == "ready" || s == "all" {
                if s == "ready" && c.ready.is_none() {
                    c.ready = Some(std::sync::Arc::new(ReadySet::of(ctx)));
                }
                c.statuses.push(s.into());
                continue;
            }
            values::check_status(s, &custom).map_err(Error::invalid)?;
            c.statuses.push(s.into());
        }
        for p in self.priorities.iter().flat_map(|s| s.split(',')) {
            c.priorities
                .push(values::parse_priority(p).map_err(Error::invalid)?);
        }
        c.pmin = self
            .priority_min
            .as_deref()
            .map(values::parse_priority)
            .transpose()
            .map_err(Error::invalid)?;
        c.pmax = self
            .priority_max
            .as_deref()
            .map(values::parse_priority)
            .transpose()
            .map_err(Error::invalid)?;
        if let (Some(lo), Some(hi)) = (c.pmin, c.pmax)
            && lo > hi
        {
            return Err(Error::invalid(format!(
                "reversed range: --priority-min {lo} is above --priority-max {hi}"
            )));
        }
        let custom_types = ctx.custom_types();
        for t in self.types.iter().flat_map(|s| s.split(',')) {
            values::check_type(t.trim(), &custom_types).map_err(Error::invalid)?;
            c.types.push(t.trim().into());
        }
        for (given, into, flag) in [
            (&self.labels, &mut c.labels, "--label"),
            (&self.labels_any, &mut c.labels_any, "--label-any"),
        ] {
            for l in given.iter().flat_map(|s| s.split(',')) {
                let l = l.trim();
                if l.is_empty() {
                    return Err(Error::invalid(format!(
                        "{flag} needs a label name, not an empty string"
                    )));
                }
                into.push(l.to_string());
            }
        }
        if self.unassigned && self.assignee.as_deref().is_some_and(|a| !a.is_empty()) {
            return Err(usage("--assignee and --unassigned contradict each other"));
        }
        c.assignee = if self.unassigned {
            Some(String::new())
        } else {
            self.assignee.clone()
        };
        let date = |v: &Option<String>, what: &str| user_date(ctx, v, what);
        c.title = self
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase);
        c.after = date(&self.created_after, "--created-after")?;
        c.before = date(&self.created_before, "--created-before")?;
        if let (Some(a), Some(b)) = (c.after, c.before)
            && a > b
        {
            return Err(Error::invalid(
                "reversed range: --created-after is later than --created-before",
            ));
        }
        self.check_classic(ctx, snap, &mut c)?;
        c.limit = check_limit(self.limit)?;
        c.sort = self
            .sort
            .as_deref()
            .map(Sort::parse)
            .transpose()?
            .unwrap_or_default();
        if let Some(p) = &self.parent {
            let snap = snap.ok_or_else(|| Error::invalid("--parent needs the full index"))?;
            let prefix = ctx.prefix_of_rows(&snap.rows);
            let root = snap.resolve(p, &prefix)?.id.clone();
            c.parent_set = Some(descendants(&snap.rows, &root));
        }
        Ok(c)
    }

    /// The classic filters (`--id`, text, dates, labels, types, layout):
    /// [`Filter::check`]'s second half.
    fn check_classic(&self, ctx: &Session, snap: Option<&Snapshot>, c: &mut Checked) -> Result<()> {
        let custom_types = ctx.custom_types();
        c.updated = date_range(
            user_date(ctx, &self.updated_after, "--updated-after")?,
            user_date(ctx, &self.updated_before, "--updated-before")?,
            "--updated",
        )?;
        c.closed = date_range(
            user_date(ctx, &self.closed_after, "--closed-after")?,
            user_date(ctx, &self.closed_before, "--closed-before")?,
            "--closed",
        )?;
        let lower = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_lowercase)
        };
        c.desc = lower(&self.desc_contains);
        c.notes = lower(&self.notes_contains);
        c.empty_description = self.empty_description;
        let ids: Vec<String> = split_list(&self.ids).collect();
        if !self.ids.is_empty() && ids.is_empty() {
            return Err(Error::invalid("--id needs at least one issue ID"));
        }
        if !ids.is_empty() {
            // As everywhere: a unique part of an ID names it.
            let snap = snap.ok_or_else(|| Error::invalid("--id needs the full index"))?;
            let prefix = ctx.prefix_of_rows(&snap.rows);
            for q in &ids {
                c.ids.insert(snap.resolve(q, &prefix)?.id.clone());
            }
        }
        c.no_labels = self.no_labels;
        if c.no_labels && !c.labels.is_empty() {
            return Err(usage("--no-labels and --label contradict each other"));
        }
        c.no_parent = self.no_parent;
        if c.no_parent && self.parent.is_some() {
            return Err(usage("--no-parent and --parent contradict each other"));
        }
        c.exclude_labels = split_list(&self.exclude_labels).collect();
        for t in split_list(&self.exclude_types) {
            values::check_type(&t, &custom_types).map_err(Error::invalid)?;
            c.exclude_types.push(t);
        }
        c.deferred = self.deferred;
        c.reverse = self.reverse;
        Ok(())
    }

    /// Whether this filter needs the whole index (not just a precomputed set).
    pub fn needs_index(&self) -> bool {
        self.parent.is_some() || !self.ids.is_empty()
    }
}

/// A user's date for a filter flag (`what`), as `any_date` reads it.
fn user_date(ctx: &Session, v: &Option<String>, what: &str) -> Result<Option<Nanos>> {
    v.as_deref()
        .map(|t| {
            values::any_date(t, ctx.now, what)
                .map_err(Error::invalid)
                .and_then(|d| {
                    time::parse(&d).ok_or_else(|| Error::invalid(format!("invalid {what}")))
                })
        })
        .transpose()
}

/// The values of a repeatable, comma-separated flag, trimmed, empty ones dropped.
fn split_list(given: &[String]) -> impl Iterator<Item = String> + '_ {
    given
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An `--X-after` / `--X-before` pair, refused when reversed.
fn date_range(
    after: Option<Nanos>,
    before: Option<Nanos>,
    flag: &str,
) -> Result<(Option<Nanos>, Option<Nanos>)> {
    if let (Some(a), Some(b)) = (after, before)
        && a > b
    {
        return Err(Error::invalid(format!(
            "reversed range: {flag}-after is later than {flag}-before"
        )));
    }
    Ok((after, before))
}

/// Whether `t` lies in the range (an absent time passes no bound).
fn within(t: Option<Nanos>, range: (Option<Nanos>, Option<Nanos>)) -> bool {
    match range {
        (None, None) => true,
        (after, before) => {
            t.is_some_and(|t| after.is_none_or(|a| t >= a) && before.is_none_or(|b| t <= b))
        }
    }
}

/// `--limit`: 0 or absent is no limit; negative is refused.
fn check_limit(limit: Option<i64>) -> Result<Option<usize>> {
    match limit {
        None | Some(0) => Ok(None),
        Some(n) if n < 0 => Err(Error::invalid(format!(
            "--limit must be 0 (no limit) or positive, not {n}"
        ))),
        Some(n) => Ok(Some(n as usize)),
    }
}

/// All descendants of `root` through parent links.
pub fn descendants(rows: &[Row], root: &str) -> std::collections::HashSet<String> {
    let mut kids: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in rows {
        if let Some(p) = &r.parent {
            kids.entry(p.as_str()).or_default().push(&r.id);
        }
    }
    let mut out = std::collections::HashSet::new();
    let mut stack = vec![root];
    while let Some(x) = stack.pop() {
        for k in kids.get(x).into_iter().flatten() {
            if out.insert(k.to_string()) {
                stack.push(k);
            }
        }
    }
    out
}

impl Checked {
    /// Does a row pass? `default_statuses` applies when no status was asked.
    /// The status part of the filter (also usable before a row is parsed).
    pub fn status_ok(&self, p: &crate::store::index::Pre) -> bool {
        let status = p.status();
        if !self.statuses.is_empty() {
            self.statuses.iter().any(|s| match s.as_str() {
                "blocked" => p.sets().1,
                "ready" => match &self.ready {
                    Some(r) => r.admits(p),
                    None => p.sets().0,
                },
                "all" => true,
                s => status == s,
            })
        } else {
            status != Status::Tombstone.as_str() && (self.all || status != Status::Closed.as_str())
        }
    }

    pub fn matches(&self, r: &Row) -> bool {
        if !self.status_ok(&crate::store::index::Pre::Row(r)) {
            return false;
        }
        if !self.priorities.is_empty() && !self.priorities.contains(&r.priority) {
            return false;
        }
        if self.pmin.is_some_and(|lo| r.priority < lo)
            || self.pmax.is_some_and(|hi| r.priority > hi)
        {
            return false;
        }
        if !self.types.is_empty() && !self.types.contains(&r.issue_type) {
            return false;
        }
        if !self.labels.iter().all(|l| r.labels.contains(l)) {
            return false;
        }
        if !self.labels_any.is_empty() && !self.labels_any.iter().any(|l| r.labels.contains(l)) {
            return false;
        }
        if let Some(a) = &self.assignee
            && &r.assignee != a
        {
            return false;
        }
        if let Some(set) = &self.parent_set
            && !set.contains(&r.id)
        {
            return false;
        }
        if self.after.is_some_and(|a| r.created_at < a)
            || self.before.is_some_and(|b| r.created_at > b)
        {
            return false;
        }
        if let Some(t) = &self.title
            && !r.title.to_lowercase().contains(t.as_str())
        {
            return false;
        }
        if !self.ids.is_empty() && !self.ids.contains(&r.id) {
            return false;
        }
        if !within(Some(r.updated_at), self.updated) || !within(r.closed_at, self.closed) {
            return false;
        }
        if (self.no_labels && !r.labels.is_empty())
            || (self.no_parent && r.parent.is_some())
            || (self.deferred && r.defer_until.is_none())
        {
            return false;
        }
        if self.exclude_labels.iter().any(|l| r.labels.contains(l))
            || self.exclude_types.contains(&r.issue_type)
        {
            return false;
        }
        true
    }

    /// Whether the filter reads the records' text (description, notes).
    pub fn reads_text(&self) -> bool {
        self.desc.is_some() || self.notes.is_some() || self.empty_description
    }

    /// The part of the filter that reads a record's text.
    pub fn text_ok(&self, rec: &Record) -> bool {
        let has = |field: &str, want: &Option<String>| {
            want.as_ref().is_none_or(|w| {
                rec.str(field)
                    .is_some_and(|t| t.to_lowercase().contains(w.as_str()))
            })
        };
        has("description", &self.desc)
            && has("notes", &self.notes)
            && (!self.empty_description
                || rec.str("description").is_none_or(|d| d.trim().is_empty()))
    }

    /// Keep the rows whose records pass [`Checked::text_ok`] (only read
    /// when the filter asks about text).
    pub fn retain_text(&self, snap: &Snapshot, rows: &mut Vec<Row>) -> Result<()> {
        if self.reads_text() {
            let mut keep = Vec::with_capacity(rows.len());
            for r in rows.drain(..) {
                if self.text_ok(&snap.record(&r)?) {
                    keep.push(r);
                }
            }
            *rows = keep;
        }
        Ok(())
    }

    pub fn sort_rows(&self, rows: &mut Vec<Row>, now: Nanos) {
        match self.sort {
            Sort::Priority => {
                let mut refs: Vec<&Row> = rows.iter().collect();
                sort_ready(&mut refs);
                *rows = refs.into_iter().cloned().collect();
            }
            Sort::Oldest => rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id))),
            Sort::Updated => rows.sort_by(|a, b| (b.updated_at, &a.id).cmp(&(a.updated_at, &b.id))),
            Sort::Id => rows.sort_by(|a, b| a.id.cmp(&b.id)),
            Sort::Hybrid => {
                let recent = now - 48 * 3600 * 1_000_000_000;
                rows.sort_by(|a, b| {
                    let ka = (
                        a.created_at < recent,
                        if a.created_at >= recent {
                            a.priority
                        } else {
                            0
                        },
                        a.created_at,
                        &a.id,
                    );
                    let kb = (
                        b.created_at < recent,
                        if b.created_at >= recent {
                            b.priority
                        } else {
                            0
                        },
                        b.created_at,
                        &b.id,
                    );
                    ka.cmp(&kb)
                })
            }
        }
        if self.reverse {
            rows.reverse();
        }
        if let Some(n) = self.limit {
            rows.truncate(n);
        }
    }
}

/// Rows to show, and the snapshot to read their full records from (its
/// own `rows` may have been moved into `rows`: read records through it,
/// look rows up in `rows`).
pub struct Listing {
    pub snap: Snapshot,
    pub rows: Vec<Row>,
}

impl Listing {
    pub fn records(&self) -> Result<Vec<Record>> {
        self.rows.iter().map(|r| self.snap.record(r)).collect()
    }

    /// The rows as list-like commands give them (reading every record).
    pub fn views(&self) -> Result<Vec<IssueView<'static>>> {
        self.rows
            .iter()
            .map(|r| Ok(IssueView::new(Cow::Owned(self.snap.record(r)?), Some(r))))
            .collect()
    }

    /// [`Listing::views`] one at a time, in order: each record read (rows
    /// in file order in large reads), viewed, handed to `f` and dropped, so
    /// a listing of any size is written without holding its records.
    pub fn each_view(&self, mut f: impl FnMut(IssueView<'static>) -> Result<()>) -> Result<()> {
        crate::store::scan::each_record(&self.snap, &self.rows, |r, rec| {
            f(IssueView::new(Cow::Owned(rec), Some(r)))
        })
    }

    /// [`Listing::views`] with what blocks each (`blocked`), and the issues
    /// each depends on (as classic clients read a blocked issue).
    pub fn blocked_views(&self, ctx: &Session) -> Result<Vec<BlockedView>> {
        let views = self.views()?;
        // A listing read from the precomputed blocked set holds only its
        // rows: the issues they depend on come from the whole index.
        let whole = if self.snap.rows.is_empty() && !self.rows.is_empty() {
            Some(ctx.snapshot()?)
        } else {
            None
        };
        let snap = whole.as_ref().unwrap_or(&self.snap);
        Ok(views
            .into_iter()
            .zip(&self.rows)
            .map(|(mut issue, r)| {
                // From the record: a row of the precomputed blocked set
                // carries no edges.
                issue.linked = Some(
                    issue
                        .record
                        .deps()
                        .iter()
                        .filter_map(|d| {
                            let to = snap.find(&d.depends_on_id)?;
                            Some(crate::ops::Linked::of(to, &d.kind))
                        })
                        .collect(),
                );
                BlockedView {
                    issue,
                    blocked_by: r.blockers.clone(),
                }
            })
            .collect())
    }
}

/// A blocked issue and its open blockers (none when a parent or its status
/// blocks it).
#[derive(Debug, Clone)]
pub struct BlockedView {
    pub issue: IssueView<'static>,
    pub blocked_by: Vec<String>,
}

impl Serialize for BlockedView {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let keys: Vec<&str> = IssueView::KEYS
            .iter()
            .copied()
            .chain(["dependencies", "blocked_by_count", "blocked_by"])
            .collect();
        let mut m = s.serialize_map(None)?;
        record_with(&mut m, &self.issue.record, &keys, |m, k| match k {
            "blocked_by_count" => m.serialize_entry(k, &self.blocked_by.len()),
            "blocked_by" => m.serialize_entry(k, &self.blocked_by),
            _ => self.issue.put(m, k),
        })?;
        m.end()
    }
}

/// The snapshot a listing reads and the filter checked against it: the
/// whole index when the filter needs it (`--parent`, `--id`), else only
/// the rows whose status can pass (most of a tracker is closed). Bad lines
/// are not warned about here (a caller may load again).
fn filtered_snapshot(ctx: &Session, f: &Filter) -> Result<(Snapshot, Checked)> {
    if f.needs_index() {
        let snap = Snapshot::load(&ctx.ws, &ctx.view())?;
        let c = f.check(ctx, Some(&snap))?;
        Ok((snap, c))
    } else {
        let c = f.check(ctx, None)?;
        let snap = Snapshot::load_where(&ctx.ws, &ctx.view(), |p| c.status_ok(p), false)?;
        Ok((snap, c))
    }
}

/// The rows of `snap` that pass `keep`, moved out of it (a listing of a
/// large tracker never holds its rows twice).
fn take_rows(snap: &mut Snapshot, keep: impl Fn(&Row) -> bool) -> Vec<Row> {
    std::mem::take(&mut snap.rows)
        .into_iter()
        .filter(|r| keep(r))
        .collect()
}

pub fn list(ctx: &Session, f: &Filter) -> Result<Listing> {
    let (mut snap, c) = filtered_snapshot(ctx, f)?;
    ctx.warn_bad_lines(&snap);
    let mut rows = take_rows(&mut snap, |r| c.matches(r));
    c.retain_text(&snap, &mut rows)?;
    if f.sort.is_none() {
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        if f.reverse {
            rows.reverse();
        }
        if let Some(n) = c.limit {
            rows.truncate(n);
        }
    } else {
        c.sort_rows(&mut rows, ctx.now);
    }
    Ok(Listing { snap, rows })
}

/// One of the precomputed sets (ready or blocked), filtered and sorted.
fn set(
    ctx: &Session,
    f: &Filter,
    file: Option<&str>,
    pick: impl Fn(&Row) -> bool,
) -> Result<Listing> {
    let mut f = f.clone();
    let fast = match file {
        Some(file) if !f.needs_index() => Snapshot::load_set(&ctx.ws, &ctx.view(), file)?,
        _ => None,
    };
    let (snap, candidates) = match fast {
        Some((snap, rows)) => {
            ctx.warn_bad_lines(&snap);
            (snap, rows)
        }
        None => {
            let snap = ctx.snapshot()?;
            let rows: Vec<Row> = snap.rows.iter().filter(|r| pick(r)).cloned().collect();
            (snap, rows)
        }
    };
    f.all = true;
    let c = f.check(ctx, f.needs_index().then_some(&snap))?;
    let mut rows: Vec<Row> = candidates.into_iter().filter(|r| c.matches(r)).collect();
    c.retain_text(&snap, &mut rows)?;
    c.sort_rows(&mut rows, ctx.now);
    Ok(Listing { snap, rows })
}

/// Ready work: the ready set, less what other workspaces of the project on
/// this machine claimed, hooked, closed or deleted (the ledger overlay), and
/// in remote coordination what the remote's claims hold (as last fetched;
/// `fresh`: fetched first).
pub fn ready(ctx: &Session, f: &Filter) -> Result<Listing> {
    let limit = check_limit(f.limit)?;
    if f.fresh {
        crate::ops::remote::refresh(ctx)?;
    }
    let mut unlimited = f.clone();
    unlimited.limit = None;
    let (mut ready, mut unread) = ReadySet::of_head(ctx);
    // A release elsewhere adds issues the precomputed ready file lacks, and
    // so does `--include-deferred`.
    let file = (!ready.adds_any() && !f.include_deferred).then_some(index::READY_FILE);
    let non_work = ctx.view().non_work;
    let admits = |ready: &ReadySet, r: &Row| {
        ready.contains(r)
            || (f.include_deferred
                && ready.taken(&r.id).is_none()
                && ReadySet::waits_for_date(r, ctx.now, &non_work))
    };
    // In the ready order (the file's own) the first N admitted rows are the
    // answer: the set file is read only that far (at 1M issues it holds
    // ~100k rows), and the ledger's entries only for the rows read.
    if let (Some(n), Some(file)) = (limit, file)
        && !f.needs_index()
    {
        let mut all = unlimited.clone();
        all.all = true;
        let c = all.check(ctx, None)?;
        if c.sort == Sort::Priority && !c.reads_text() {
            // A stale set file is rebuilt by the first full load (reading
            // the rest of the ledger's records does it): then once more.
            for _ in 0..2 {
                if let Some((snap, rows)) =
                    Snapshot::load_set_head(&ctx.ws, &ctx.view(), file, n, |r| {
                        unread.settle(ctx, &mut ready, r);
                        admits(&ready, r) && c.matches(r)
                    })?
                {
                    ctx.warn_bad_lines(&snap);
                    return Ok(Listing { snap, rows });
                }
                unread.settle_all(ctx, &mut ready);
                if ready.adds_any() {
                    break;
                }
            }
        }
    }
    unread.settle_all(ctx, &mut ready);
    let file = (!ready.adds_any() && !f.include_deferred).then_some(index::READY_FILE);
    let admit = |r: &Row| admits(&ready, r);
    let mut l = set(ctx, &unlimited, file, admit)?;
    l.rows.retain(admit);
    if let Some(n) = limit {
        l.rows.truncate(n);
    }
    Ok(l)
}

/// The issues that depend on `id` by a blocking edge and are ready work
/// now (`close --suggest-next`, after closing `id`).
pub fn unblocked_by(ctx: &Session, id: &str) -> Result<Vec<IssueView<'static>>> {
    let snap = ctx.snapshot()?;
    let ready = ReadySet::of(ctx);
    let Some(row) = snap.find(id) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for d in row
        .dependents
        .iter()
        .filter(|d| crate::model::graph::is_blocking_kind(&d.kind) && d.kind != "parent-child")
    {
        if let Some(r) = snap.find(&d.target).filter(|r| ready.contains(r)) {
            out.push(IssueView::new(Cow::Owned(snap.record(r)?), Some(r)));
        }
    }
    Ok(out)
}

/// Claimable work: the ready set ([`ready`]) less containers (epics, convoys,
/// molecules) unless `containers` ([`crate::model::graph::is_claimable`]).
/// `dispatch` and `ready --claim` take work from here.
pub fn claimable(ctx: &Session, f: &Filter, containers: bool) -> Result<Listing> {
    let limit = check_limit(f.limit)?;
    let mut unlimited = f.clone();
    unlimited.limit = None;
    let mut l = ready(ctx, &unlimited)?;
    l.rows
        .retain(|r| crate::model::graph::is_claimable(&r.issue_type, containers));
    if let Some(n) = limit {
        l.rows.truncate(n);
    }
    Ok(l)
}

pub fn blocked(ctx: &Session, f: &Filter) -> Result<Listing> {
    set(ctx, f, Some(index::BLOCKED_FILE), |r| r.blocked)
}

pub fn stale(ctx: &Session, days: i64, f: &Filter) -> Result<Listing> {
    if days < 1 {
        return Err(Error::invalid(format!(
            "--days must be at least 1, not {days}"
        )));
    }
    let snap = ctx.snapshot()?;
    let c = f.check(ctx, Some(&snap))?;
    let cutoff = ctx
        .now
        .saturating_sub(days.saturating_mul(86_400 * 1_000_000_000));
    let mut rows: Vec<Row> = snap
        .rows
        .iter()
        .filter(|r| {
            !values::is_done(&r.status) && r.updated_at.max(r.created_at) < cutoff && c.matches(r)
        })
        .cloned()
        .collect();
    rows.sort_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
    if let Some(n) = c.limit {
        rows.truncate(n);
    }
    Ok(Listing { snap, rows })
}

/// `count`: how many issues match, and with `--by`, how many per group
/// (groups in order; an issue with several labels counts in each). Its
/// JSON is classic's: `{"count": n}`, or grouped `{"total": n, "groups":
/// [{"group", "count"}…]}`.
#[derive(Debug, Clone)]
pub struct Count {
    pub count: usize,
    pub groups: Option<BTreeMap<String, usize>>,
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Group<'a> {
            group: &'a str,
            count: usize,
        }
        let mut m = s.serialize_map(Some(2))?;
        match &self.groups {
            None => m.serialize_entry("count", &self.count)?,
            Some(g) => {
                m.serialize_entry("total", &self.count)?;
                let groups: Vec<Group> = g
                    .iter()
                    .map(|(k, &n)| Group { group: k, count: n })
                    .collect();
                m.serialize_entry("groups", &groups)?;
            }
        }
        m.end()
    }
}

pub fn count(ctx: &Session, f: &Filter, by: Option<&str>) -> Result<Count> {
    let snap = ctx.snapshot()?;
    let c = f.check(ctx, Some(&snap))?;
    let rows: Vec<&Row> = snap
        .rows
        .iter()
        .filter(|r| {
            c.matches(r) && (!c.reads_text() || snap.record(r).is_ok_and(|x| c.text_ok(&x)))
        })
        .collect();
    let Some(by) = by else {
        return Ok(Count {
            count: rows.len(),
            groups: None,
        });
    };
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        let keys: Vec<String> = match by {
            "status" => vec![r.status.clone()],
            "priority" => vec![format!("P{}", r.priority)],
            "type" => vec![r.issue_type.clone()],
            "assignee" => vec![if r.assignee.is_empty() {
                "(unassigned)".into()
            } else {
                r.assignee.clone()
            }],
            "label" => {
                if r.labels.is_empty() {
                    vec!["(none)".into()]
                } else {
                    r.labels.clone()
                }
            }
            other => {
                return Err(Error::invalid(format!(
                    "invalid --by '{other}': use status, priority, type, assignee or label"
                )));
            }
        };
        for k in keys {
            *groups.entry(k).or_default() += 1;
        }
    }
    Ok(Count {
        count: rows.len(),
        groups: Some(groups),
    })
}

pub fn children(ctx: &Session, id: &str, recursive: bool) -> Result<Listing> {
    let snap = ctx.snapshot()?;
    let prefix = ctx.prefix_of_rows(&snap.rows);
    let root = snap.resolve(id, &prefix)?.id.clone();
    let set = if recursive {
        descendants(&snap.rows, &root)
    } else {
        snap.rows
            .iter()
            .filter(|r| r.parent.as_deref() == Some(&root))
            .map(|r| r.id.clone())
            .collect()
    };
    let rows: Vec<Row> = snap
        .rows
        .iter()
        .filter(|r| set.contains(&r.id) && r.state() != Status::Tombstone)
        .cloned()
        .collect();
    Ok(Listing { snap, rows })
}

/// Whether `rec` holds `q` (lower-cased) in its id, text fields or
/// comments, in any case: `search`'s match.
pub fn search_matches(rec: &Record, q: &str) -> bool {
    let mut hay = String::new();
    hay.push_str(rec.id());
    for k in [
        "title",
        "description",
        "design",
        "acceptance_criteria",
        "notes",
        "external_ref",
    ] {
        if let Some(v) = rec.str(k) {
            hay.push('\n');
            hay.push_str(&v);
        }
    }
    for cm in rec.comments() {
        hay.push('\n');
        hay.push_str(&cm.text);
    }
    hay.to_lowercase().contains(q)
}

/// `search`: the issues passing the filter whose text holds `query`
/// ([`search_matches`]). One pass over the tracker's raw bytes, piece by
/// piece, finds the lines that may hold it
/// ([`crate::store::jsonl::TextFilter`]); only the index rows of those
/// lines are loaded, and only the lines of rows the filter keeps parsed.
pub fn search(ctx: &Session, query: &str, f: &Filter) -> Result<Listing> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return Err(Error::invalid("search text must not be blank"));
    }
    let mut text = crate::store::jsonl::TextFilter::new(&q);
    let checked = if f.needs_index() {
        None
    } else {
        Some(f.check(ctx, None)?)
    };
    // A write between reading the file and its index: again.
    for _ in 0..5 {
        let (lines, sig) = crate::store::scan::Lines::open_path(&ctx.ws.issues_path())?;
        // The lines that may match: where each starts, and its id.
        let mut starts = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        // An id the index stores escaped is not found by its text.
        let mut odd_ids = false;
        lines.pieces(|at, piece| {
            text.candidates(piece, |span| {
                let Some(id) = line_id(&piece[span.clone()]) else {
                    return;
                };
                odd_ids |= id.contains(['\\', '\t', '\n', '\r', '\x1e', '\x1f']);
                starts.insert(at + span.start);
                ids.insert(id);
            });
            Ok(())
        })?;
        let (mut snap, c) = match &checked {
            Some(c) => {
                let keep = |p: &crate::store::index::Pre| {
                    c.status_ok(p) && (odd_ids || ids.contains(p.id()))
                };
                let snap = Snapshot::load_where(&ctx.ws, &ctx.view(), keep, false)?;
                (snap, c.clone())
            }
            None => {
                let snap = Snapshot::load(&ctx.ws, &ctx.view())?;
                let c = f.check(ctx, Some(&snap))?;
                (snap, c)
            }
        };
        if snap.header.sig != sig {
            continue;
        }
        ctx.warn_bad_lines(&snap);
        let candidates = take_rows(&mut snap, |r| {
            starts.contains(&r.span.start) && c.matches(r)
        });
        let mut hit = vec![false; candidates.len()];
        let mut i = 0;
        lines.each(&candidates, |r, bytes| {
            hit[i] = search_matches(&lines.record(r, bytes)?, &q);
            i += 1;
            Ok(())
        })?;
        let mut rows: Vec<Row> = candidates
            .into_iter()
            .zip(hit)
            .filter_map(|(r, h)| h.then_some(r))
            .collect();
        c.sort_rows(&mut rows, ctx.now);
        return Ok(Listing { snap, rows });
    }
    Err(Error::invalid(format!(
        "{} kept changing while it was searched; try again",
        ctx.ws.issues_path().display()
    )))
}

/// The id of a tracker line: read from a canonical line's start
/// (`{"id":"…",` without escapes), else parsed. `None`: not a record.
fn line_id(line: &[u8]) -> Option<String> {
    if let Some(rest) = line.strip_prefix(b"{\"id\":\"")
        && let Some(end) = memchr::memchr(b'"', rest)
        && !rest[..end].contains(&b'\\')
        && let Ok(id) = std::str::from_utf8(&rest[..end])
    {
        return Some(id.to_string());
    }
    let rec = Record::parse(std::str::from_utf8(line).ok()?).ok()?;
    Some(rec.id().to_string())
}

/// One issue in detail.
pub struct Shown {
    pub record: Record,
    pub row: Row,
    /// (issue depending on this one, edge type).
    pub dependents: Vec<(Row, String)>,
    /// (target, edge type) for outgoing edges whose target exists.
    pub depends_on: Vec<(Row, String)>,
    /// What another workspace of the project did that this file does not show.
    pub effective: Option<crate::ops::coord::Overlay>,
    /// The holder's claim outlived its lease (lapsed, still held).
    pub lapsed: bool,
    /// Messages about this issue sent to other projects, and what became of them.
    pub handoffs: Vec<crate::ops::mail::Handoff>,
    /// In the ready set ([`ReadySet`]).
    pub ready: bool,
    /// The molecule it is in, or is (issue 16).
    pub molecule: Option<crate::ops::mol_view::Brief>,
}

pub fn show(ctx: &Session, ids: &[String]) -> Result<Vec<Shown>> {
    if ids.is_empty() {
        return Err(usage("give at least one issue ID"));
    }
    // Lookups in the index: the issues asked for, then their neighbours
    // (a pass over every id only to resolve a partial id). No pass builds
    // rows nobody shows.
    let view = ctx.view();
    // Exact ids (the usual case) need no pass over every id.
    let exact: Vec<String> = ids
        .iter()
        .flat_map(|q| {
            let mut c = vec![q.trim().to_string()];
            if let Some(p) = ctx.config.prefix() {
                c.push(format!("{p}-{}", q.trim()));
            }
            c
        })
        .collect();
    let exact_ids: Vec<&str> = exact.iter().map(String::as_str).collect();
    let first = Snapshot::load_ids(&ctx.ws, &view, &exact_ids)?;
    ctx.warn_bad_lines(&first);
    let all_exact = ids.iter().all(|q| {
        first.find(q.trim()).is_some()
            || ctx
                .config
                .prefix()
                .is_some_and(|p| first.find(&format!("{p}-{}", q.trim())).is_some())
    });
    let (wanted, targets) = if all_exact {
        let wanted: Vec<String> = ids
            .iter()
            .map(|q| match first.find(q.trim()) {
                Some(r) => r.id.clone(),
                None => format!("{}-{}", ctx.config.prefix().unwrap_or_default(), q.trim()),
            })
            .collect();
        (wanted, first)
    } else {
        let idx = Snapshot::load_where(&ctx.ws, &view, |_| false, true)?;
        let prefix = ctx.prefix_from(&idx.id_list());
        let wanted: Vec<String> = ids
            .iter()
            .map(|q| idx.resolve_id(q, &prefix))
            .collect::<Result<_>>()?;
        let wanted_ids: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let targets = Snapshot::load_ids(&ctx.ws, &view, &wanted_ids)?;
        (wanted, targets)
    };
    let mut near: std::collections::HashSet<String> = std::collections::HashSet::new();
    for r in &targets.rows {
        near.extend(r.edges.iter().map(|e| e.target.clone()));
        near.extend(r.dependents.iter().map(|e| e.target.clone()));
    }
    let near: Vec<&str> = near.iter().map(String::as_str).collect();
    let neighbours = Snapshot::load_ids(&ctx.ws, &view, &near)?;
    let ledger = ctx.ledger().unwrap_or_default();
    let mut out = Vec::new();
    for id in &wanted {
        let row = targets
            .find(id)
            .cloned()
            .ok_or_else(|| crate::error::Error::no_issue(id))?;
        let record = targets.record(&row)?;
        let rows_of = |edges: &[crate::model::graph::Edge]| -> Vec<(Row, String)> {
            edges
                .iter()
                .filter_map(|e| {
                    neighbours
                        .find(&e.target)
                        .map(|t| (t.clone(), e.kind.clone()))
                })
                .collect()
        };
        let dependents = rows_of(&row.dependents);
        let depends_on = rows_of(&row.edges);
        let effective = crate::ops::coord::entry_for(&ledger, &record)
            .and_then(|e| crate::ops::coord::overlay(Some(e), &record));
        let lapsed = record.state() == Status::InProgress
            && record
                .nonempty("assignee")
                .is_some_and(|h| crate::ops::coord::lapsed(ctx, &h, &record));
        let handoffs = crate::ops::mail::handoffs_of(ctx, record.id());
        let ready = ReadySet::holds(
            ctx,
            &row,
            &record,
            crate::ops::coord::entry_for(&ledger, &record),
        );
        let molecule = crate::ops::mol_view::brief(ctx, &record);
        out.push(Shown {
            molecule,
            ready,
            record,
            row,
            dependents,
            depends_on,
            effective,
            lapsed,
            handoffs,
        });
    }
    Ok(out)
}

/// `show`'s JSON: the issue as lists give it, then its neighbours, sets,
/// the ledger's view and the handoffs.
impl Serialize for Shown {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        const KEYS: &[&str] = &[
            // Always present in classic's `show` (empty when unset).
            "description",
            "acceptance_criteria",
            "comments",
            "dependencies",
            "dependents",
            "depends_on",
            "ready",
            "blocked",
            "blocked_by",
            "effective",
            "lapsed",
            "handoffs",
            "molecule",
        ];
        let issue = IssueView::new(Cow::Borrowed(&self.record), Some(&self.row));
        let keys: Vec<&str> = IssueView::KEYS.iter().chain(KEYS).copied().collect();
        let briefs = |v: &[(Row, String)]| -> Vec<crate::ops::Linked> {
            v.iter()
                .map(|(r, k)| crate::ops::Linked::of(r, k))
                .collect()
        };
        let mut m = s.serialize_map(None)?;
        record_with(&mut m, &self.record, &keys, |m, k| match k {
            // Classic clients read the issues at the ends of its edges
            // (the stored edges: `bd dep list`).
            "dependencies" => m.serialize_entry(k, &briefs(&self.depends_on)),
            "dependents" => m.serialize_entry(k, &briefs(&self.dependents)),
            "depends_on" => m.serialize_entry(k, &briefs(&self.depends_on)),
            "ready" => m.serialize_entry(k, &self.ready),
            "blocked" => m.serialize_entry(k, &self.row.blocked),
            "blocked_by" => m.serialize_entry(k, &self.row.blockers),
            "effective" => m.serialize_entry(k, &self.effective),
            "lapsed" => m.serialize_entry(k, &self.lapsed),
            "handoffs" => m.serialize_entry(k, &self.handoffs),
            "molecule" => match &self.molecule {
                Some(b) => m.serialize_entry(k, b),
                None => Ok(()),
            },
            "description" | "acceptance_criteria" => match self.record.raw(k) {
                Some(v) => m.serialize_entry(k, v),
                None => m.serialize_entry(k, ""),
            },
            "comments" => match self.record.raw(k) {
                Some(v) => m.serialize_entry(k, v),
                None => m.serialize_entry(k, &[] as &[u8]),
            },
            _ => issue.put(m, k),
        })?;
        m.end()
    }
}

/// A claim held past its lease (still held; recoverable). JSON:
/// `silent_since` as an RFC 3339 time.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LapsedClaim {
    pub id: String,
    pub title: String,
    pub holder: String,
    #[serde(serialize_with = "time_text")]
    pub silent_since: Option<crate::model::time::Nanos>,
}

fn time_text<S: Serializer>(
    t: &Option<crate::model::time::Nanos>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    t.map(crate::model::time::format).serialize(s)
}

/// Claims held past their lease, by the effective state: an issue another
/// workspace closed, deleted, released or hooked since is not a lapsed
/// claim, and one claimed again elsewhere is judged by its new holder. The
/// one list `ready --explain` shows and `dispatch` recovers.
pub fn lapsed(ctx: &Session) -> Result<Vec<LapsedClaim>> {
    let snap = ctx.snapshot()?;
    let ledger = ctx.ledger().unwrap_or_default();
    // In remote coordination a lease lives on the remote (a holder on
    // another machine heartbeats there, not here): live there, not lapsed.
    let live_on_remote = crate::ops::remote::live(ctx);
    let mut out = Vec::new();
    for r in snap
        .rows
        .iter()
        .filter(|r| r.state() == Status::InProgress && !r.assignee.is_empty())
    {
        let rec = snap.record(r)?;
        let holder =
            match crate::ops::coord::overlay(crate::ops::coord::entry_for(&ledger, &rec), &rec) {
                None => r.assignee.clone(),
                Some(crate::ops::coord::Overlay::Held { holder, .. }) => holder,
                Some(_) => continue,
            };
        if crate::ops::coord::lapsed(ctx, &holder, &rec) && !live_on_remote.contains(&r.id) {
            out.push(LapsedClaim {
                id: r.id.clone(),
                title: r.title.clone(),
                silent_since: crate::ops::coord::last_sign_of_life(ctx, &holder, &rec),
                holder,
            });
        }
    }
    Ok(out)
}

/// `stats`, in classic's shape: the counts under `summary`, the last day
/// under `recent_activity`; then counts by status and by type.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stats {
    pub summary: StatsSummary,
    pub recent_activity: RecentActivity,
    pub by_status: BTreeMap<String, usize>,
    /// Deleted issues left out.
    pub by_type: BTreeMap<String, usize>,
}

/// Counts by status (classic names).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatsSummary {
    /// Issues, not counting deleted ones.
    pub total_issues: usize,
    pub open_issues: usize,
    pub in_progress_issues: usize,
    pub closed_issues: usize,
    pub blocked_issues: usize,
    pub deferred_issues: usize,
    pub hooked_issues: usize,
    pub pinned_issues: usize,
    pub tombstone_issues: usize,
    pub ready_issues: usize,
    /// Open epics whose children are all closed.
    pub epics_eligible_for_closure: usize,
    /// Creation to close of closed issues, in hours to one decimal (0 when none).
    pub average_lead_time_hours: f64,
}

/// What happened to issues in the last `hours_tracked` hours, by their
/// times (created, closed, last updated).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecentActivity {
    pub hours_tracked: u32,
    pub issues_created: usize,
    pub issues_closed: usize,
    pub issues_updated: usize,
}

pub fn stats(ctx: &Session) -> Result<Stats> {
    let snap = ctx.snapshot()?;
    let ready = ReadySet::of(ctx);
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut lead_sum, mut lead_n) = (0f64, 0usize);
    let since = ctx.now - 24 * 3_600_000_000_000;
    let mut recent = RecentActivity {
        hours_tracked: 24,
        issues_created: 0,
        issues_closed: 0,
        issues_updated: 0,
    };
    // Per epic: (children, children not closed).
    let mut children: std::collections::HashMap<&str, (usize, usize)> = Default::default();
    for r in &snap.rows {
        *by_status.entry(r.status.as_str()).or_default() += 1;
        if r.state() == Status::Tombstone {
            continue;
        }
        *by_type.entry(r.issue_type.as_str()).or_default() += 1;
        if let Some(p) = &r.parent {
            let c = children.entry(p.as_str()).or_default();
            c.0 += 1;
            if r.state() != Status::Closed {
                c.1 += 1;
            }
        }
        recent.issues_created += usize::from(r.created_at >= since);
        recent.issues_updated += usize::from(r.updated_at >= since);
        recent.issues_closed += usize::from(r.closed_at.is_some_and(|c| c >= since));
        if r.state() == Status::Closed
            && let Some(c) = r.closed_at
            && r.created_at > 0
            && c >= r.created_at
        {
            lead_sum += (c - r.created_at) as f64 / 3.6e12;
            lead_n += 1;
        }
    }
    let eligible = snap
        .rows
        .iter()
        .filter(|r| r.issue_type == "epic" && !r.state().is_done())
        .filter(|r| {
            children
                .get(r.id.as_str())
                .is_some_and(|c| c.0 > 0 && c.1 == 0)
        })
        .count();
    let n = |s: &str| by_status.get(s).copied().unwrap_or(0);
    let total = snap.rows.len() - n(Status::Tombstone.as_str());
    let owned = |m: BTreeMap<&str, usize>| m.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
    Ok(Stats {
        summary: StatsSummary {
            total_issues: total,
            open_issues: n(Status::Open.as_str()),
            in_progress_issues: n(Status::InProgress.as_str()),
            closed_issues: n(Status::Closed.as_str()),
            blocked_issues: snap.rows.iter().filter(|r| r.blocked).count(),
            deferred_issues: n(Status::Deferred.as_str()),
            hooked_issues: n(Status::Hooked.as_str()),
            pinned_issues: n(Status::Pinned.as_str()),
            tombstone_issues: n(Status::Tombstone.as_str()),
            ready_issues: snap.rows.iter().filter(|r| ready.contains(r)).count(),
            epics_eligible_for_closure: eligible,
            average_lead_time_hours: if lead_n > 0 {
                (lead_sum / lead_n as f64 * 10.0).round() / 10.0
            } else {
                0.0
            },
        },
        recent_activity: recent,
        by_status: owned(by_status),
        by_type: owned(by_type),
    })
}

/// The views of issues a verb wrote, as classic clients read them: each
/// with the issues it depends on in place of its stored edges
/// ([`IssueView::linked`]; edges to issues not here are left out). The
/// tracker is read only when one of them has edges.
pub fn linked_views(ctx: &Session, records: &[Record]) -> Result<Vec<IssueView<'static>>> {
    // The index after the write: the issues at the ends of the edges, and
    // the counts only the whole tracker knows (dependents; review 8: a
    // written issue said 0).
    let mut ids: Vec<String> = Vec::new();
    for rec in records {
        ids.push(rec.id().to_string());
        ids.extend(rec.deps().into_iter().map(|d| d.depends_on_id));
    }
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let snap = crate::store::Snapshot::load_ids(&ctx.ws, &ctx.view(), &ids)?;
    ctx.warn_bad_lines(&snap);
    Ok(records
        .iter()
        .map(|rec| {
            let mut v = IssueView::new(Cow::Owned(rec.clone()), snap.find(rec.id()));
            v.linked = Some(
                rec.deps()
                    .iter()
                    .filter_map(|d| {
                        let row = snap.find(&d.depends_on_id)?;
                        Some(crate::ops::Linked::of(row, &d.kind))
                    })
                    .collect(),
            );
            v
        })
        .collect())
}

//! Molecules (issue 16): a formula poured into work. `bd mol pour` writes
//! the root (type `molecule`, never ready work itself) and one child per
//! step, with `blocks` edges from `needs` and a gate item before each gated
//! step, in one write; `show`, `progress`, `current`, `ready`, `burn` and
//! `squash` read and end them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::formula::{self, Plan};
use crate::model::gate;
use crate::model::id;
use crate::model::kinds::Status;
use crate::model::record::{Dep, Record};
use crate::model::values;
use crate::ops::Session;
use crate::store::Snapshot;
use crate::store::index::Row;

pub use crate::ops::mol_view::{Brief, MOLECULE, MolView, StepView, brief};
use crate::ops::mol_view::{descendants, is_molecule, molecule_of, view};

#[derive(Debug, Clone, Default)]
pub struct PourOptions {
    pub formula: String,
    pub vars: Vec<(String, String)>,
    /// Ids and `created_at` derived from this key: the same key poured in
    /// two clones is one molecule after sync.
    pub key: Option<String>,
    pub assignee: Option<String>,
    pub dry_run: bool,
}

/// One issue of a pour.
#[derive(Debug, Clone, Serialize)]
pub struct Poured {
    pub id: String,
    /// The step's id in the formula (`gate-<step>` for a gate).
    pub step: String,
    pub title: String,
    pub issue_type: String,
    /// The ids it waits on.
    pub blocked_by: Vec<String>,
}

/// What `bd mol pour` made (or, `--dry-run`, would make).
#[derive(Debug, Clone, Serialize)]
pub struct PourReport {
    /// The root (classic's name for it).
    pub new_epic_id: String,
    pub formula: String,
    pub title: String,
    /// Issues written, the root included (0: dry run, or poured already).
    pub created: usize,
    /// Formula step → issue id.
    pub id_mapping: BTreeMap<String, String>,
    pub issues: Vec<Poured>,
    pub vars: BTreeMap<String, String>,
    pub phase: &'static str,
    pub dry_run: bool,
    /// The key's molecule was there already: nothing written.
    pub already_poured: bool,
}

/// The instant a keyed pour stamps as `created_at`: derived from the key
/// alone (within the first second of 1970), so two clones write the same
/// identity. `updated_at` keeps the real time.
fn keyed_created(formula: &str, key: &str) -> i64 {
    let h = id::issue_hash(formula, key, "mol-pour", 0, 0);
    let n: u64 = h
        .bytes()
        .fold(0u64, |a, b| a.wrapping_mul(36).wrapping_add(u64::from(b)));
    (n % 1_000_000_000) as i64
}

fn edge(from: &str, to: &str, kind: &str, at: &str, by: &str) -> Dep {
    Dep {
        issue_id: from.to_string(),
        depends_on_id: to.to_string(),
        kind: kind.to_string(),
        created_at: Some(at.to_string()),
        created_by: Some(by.to_string()),
        metadata: None,
    }
}

fn id_at(root: &str, path: &[u32]) -> String {
    path.iter()
        .fold(root.to_string(), |p, n| id::child_id(&p, *n))
}

/// `bd mol pour FORMULA [--var k=v…] [--idempotency-key K] [--dry-run]`.
pub fn pour(ctx: &Session, o: &PourOptions) -> Result<PourReport> {
    let (file, f) = crate::ops::formula::load(ctx, &o.formula)?;
    let plan = formula::plan(&f, &o.vars).map_err(|e| {
        Error::invalid(e.replacen(
            &format!("formula {}: ", f.formula),
            &format!("{}: ", file.path.display()),
            1,
        ))
    })?;
    if f.phase.as_deref() == Some("vapor") {
        ctx.note(format!(
            "formula {} recommends the vapor phase (classic's ephemeral wisp); strand keeps every molecule in git",
            f.formula
        ));
    }
    let mut tx = ctx.tx()?;
    let prefix = ctx.prefix_for(&tx)?;
    let created_ns = match &o.key {
        Some(k) => keyed_created(&f.formula, k),
        None => ctx.now,
    };
    let root = match &o.key {
        Some(k) => {
            if k.trim().is_empty() {
                return Err(Error::invalid("--idempotency-key must not be blank"));
            }
            let h = id::issue_hash(&f.formula, k, "mol-pour", 0, 0);
            id::issue_id(&prefix, &h, 8)
        }
        None => {
            // A root whose every child id is free too: a pour never
            // replaces an issue that is there (an import or a hand edit
            // can leave `<root>.N` without its root).
            let len = id::id_length(tx.top_level_count() + 1);
            let mut nonce = 0u32;
            loop {
                let h = id::issue_hash(&plan.title, &plan.description, &ctx.actor, ctx.now, nonce);
                let c = id::issue_id(&prefix, &h, len);
                if !tx.contains(&c) && taken_child(&tx, &c, &plan).is_none() {
                    break c;
                }
                nonce += 1;
            }
        }
    };
    let mut report = report_of(&plan, &root, o.dry_run);
    if let Some(k) = &o.key
        && tx.contains(&root)
    {
        let have = tx.get(&root)?;
        let meta = have.json::<serde_json::Value>("metadata");
        let same = meta.as_ref().is_some_and(|m| {
            m.get("idempotency_key").and_then(|v| v.as_str()) == Some(k)
                && m.get("formula").and_then(|v| v.as_str()) == Some(&f.formula)
        });
        if !same {
            return Err(Error::invalid(format!(
                "{root}, the id key {k:?} gives, is taken by another issue"
            )));
        }
        if have.state() == Status::Tombstone {
            return Err(Error::Invalid {
                msg: format!("the molecule key {k:?} poured, {root}, was deleted"),
                hint: Some(format!(
                    "`bd restore {root}` brings it back; pour with another key for a new one"
                )),
            });
        }
        ctx.notices
            .borrow_mut()
            .push(crate::ops::Notice::Unchanged(format!(
                "molecule {root} was poured with key {k:?} already; nothing written"
            )));
        // The report is of the molecule that is there: its values, and its
        // items' titles as they are now.
        let had: BTreeMap<String, String> = meta
            .as_ref()
            .and_then(|m| serde_json::from_value(m.get("vars")?.clone()).ok())
            .unwrap_or_default();
        if had != report.vars {
            ctx.warn(format!(
                "molecule {root} was poured with other values ({}); they stay",
                had.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        report.vars = had;
        report.title = have.title();
        for i in &mut report.issues {
            if let Some(row) = tx.current_row(&i.id) {
                i.title = row.title.clone();
            }
        }
        report.already_poured = true;
        return Ok(report);
    }
    if let Some(taken) = taken_child(&tx, &root, &plan) {
        return Err(Error::invalid(format!(
            "{taken}, an id this molecule needs, is taken by another issue; nothing poured"
        )));
    }
    if o.dry_run {
        return Ok(report);
    }
    let records = records_of(ctx, &plan, &root, created_ns, o)?;
    report.created = records.len();
    for r in records {
        tx.put(r);
    }
    ctx.commit(tx)?;
    Ok(report)
}

/// The first of a molecule's child ids under `root` that an issue has.
fn taken_child(tx: &crate::store::Tx, root: &str, plan: &Plan) -> Option<String> {
    plan.issues
        .iter()
        .map(|p| id_at(root, &p.path))
        .find(|c| tx.contains(c))
}

fn report_of(plan: &Plan, root: &str, dry_run: bool) -> PourReport {
    let ids: BTreeMap<&str, String> = plan
        .issues
        .iter()
        .map(|p| (p.key.as_str(), id_at(root, &p.path)))
        .collect();
    PourReport {
        new_epic_id: root.to_string(),
        formula: plan.formula.clone(),
        title: plan.title.clone(),
        created: 0,
        id_mapping: ids
            .iter()
            .map(|(k, v)| (format!("{}.{k}", plan.formula), v.clone()))
            .collect(),
        issues: plan
            .issues
            .iter()
            .map(|p| Poured {
                id: ids[p.key.as_str()].clone(),
                step: p.key.clone(),
                title: p.title.clone(),
                issue_type: p.issue_type.clone(),
                blocked_by: p
                    .blocked_by
                    .iter()
                    .filter_map(|k| ids.get(k.as_str()).cloned())
                    .collect(),
            })
            .collect(),
        vars: plan.vars.clone(),
        phase: "liquid",
        dry_run,
        already_poured: false,
    }
}

fn records_of(
    ctx: &Session,
    plan: &Plan,
    root: &str,
    created_ns: i64,
    o: &PourOptions,
) -> Result<Vec<Record>> {
    let created = crate::model::time::format(created_ns);
    let now = ctx.now_text();
    let by = ctx.actor.as_str();
    let base = |id: &str, title: &str, ty: &str, priority: i64| {
        let mut r = Record::new(id);
        r.set("title", title);
        r.set_status(Status::Open);
        r.set("priority", &priority);
        r.set("issue_type", ty);
        r.set("created_at", &created);
        r.set("created_by", by);
        r.set("updated_at", &now);
        r
    };
    let mut rec = base(root, &plan.title, MOLECULE, 2);
    if !plan.description.is_empty() {
        rec.set("description", &plan.description);
    }
    if let Some(a) = o.assignee.as_deref().filter(|a| !a.trim().is_empty()) {
        rec.set("assignee", &crate::ops::membership::agent_spelling(ctx, a));
    }
    let mut meta = serde_json::json!({"formula": plan.formula, "vars": plan.vars});
    if let Some(k) = &o.key {
        meta["idempotency_key"] = serde_json::json!(k);
    }
    rec.set("metadata", &meta);
    let mut out = vec![rec];
    let ids: BTreeMap<&str, String> = plan
        .issues
        .iter()
        .map(|p| (p.key.as_str(), id_at(root, &p.path)))
        .collect();
    for p in &plan.issues {
        let id = &ids[p.key.as_str()];
        let mut r = base(id, &p.title, &p.issue_type, p.priority);
        for (k, v) in [
            ("description", &p.description),
            ("notes", &p.notes),
            ("acceptance_criteria", &p.acceptance),
        ] {
            if !v.is_empty() {
                r.set(k, v);
            }
        }
        if !p.labels.is_empty() {
            r.set("labels", &p.labels);
        }
        if let Some(a) = &p.assignee {
            r.set("assignee", a);
        }
        if let Some(m) = &p.metadata {
            r.set("metadata", m);
        }
        if let Some(g) = &p.gate {
            r.set("await_type", &g.kind);
            if let Some(t) = g.target() {
                r.set("await_id", t);
            }
            if let Some(t) = &g.timeout {
                let ns = gate::parse_duration(t).map_err(Error::invalid)?;
                r.set("timeout", &ns);
            }
        }
        let parent = match p.path.len() {
            1 => root.to_string(),
            n => id_at(root, &p.path[..n - 1]),
        };
        r.add_dep(&edge(id, &parent, "parent-child", &created, by));
        for k in &p.blocked_by {
            if let Some(t) = ids.get(k.as_str()) {
                r.add_dep(&edge(id, t, "blocks", &created, by));
            }
        }
        if let Some((spawner, kind)) = &p.waits_for
            && let Some(t) = ids.get(spawner.as_str())
        {
            let mut d = edge(id, t, "waits-for", &created, by);
            d.metadata = Some(serde_json::json!({"gate": kind}));
            r.add_dep(&d);
        }
        out.push(r);
    }
    for r in &out {
        values::check_record(r).map_err(Error::invalid)?;
    }
    Ok(out)
}

// ------------------------------------------------------------------ reading

fn root_row<'a>(ctx: &Session, snap: &'a Snapshot, q: &str) -> Result<&'a Row> {
    let prefix = ctx.prefix_of_rows(&snap.rows);
    let row = snap.resolve(q, &prefix)?;
    molecule_of(snap, &row.id)
        .ok_or_else(|| Error::invalid(format!("{} is a {} in no molecule", row.id, row.issue_type)))
}

/// `bd mol show ID`: the molecule (of an item in it, too).
pub fn show(ctx: &Session, q: &str) -> Result<MolView> {
    let snap = ctx.snapshot()?;
    view(ctx, &snap, root_row(ctx, &snap, q)?)
}

/// The molecules of the items the actor holds (its hook and claims).
fn held_molecules(ctx: &Session, snap: &Snapshot) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for id in crate::ops::prime::held(ctx)? {
        if let Some(m) = molecule_of(snap, &id)
            && !out.contains(&m.id)
        {
            out.push(m.id.clone());
        }
    }
    Ok(out)
}

/// `bd mol current [ID]` / `bd mol progress [ID]`: the named molecule, or
/// those of the items the actor holds.
pub fn current(ctx: &Session, q: Option<&str>) -> Result<Vec<MolView>> {
    let snap = ctx.snapshot()?;
    let roots: Vec<String> = match q {
        Some(q) => vec![root_row(ctx, &snap, q)?.id.clone()],
        None => held_molecules(ctx, &snap)?,
    };
    roots
        .iter()
        .filter_map(|r| snap.find(r))
        .map(|r| view(ctx, &snap, r))
        .collect()
}

/// Every molecule, open ones first (`bd mol list`).
pub fn list(ctx: &Session, all: bool) -> Result<Vec<MolView>> {
    let snap = ctx.snapshot()?;
    snap.rows
        .iter()
        .filter(|r| is_molecule(r) && r.state() != Status::Tombstone)
        .filter(|r| all || !values::is_done(&r.status))
        .map(|r| view(ctx, &snap, r))
        .collect()
}

/// A molecule whose gate closed and whose next step is ready for work.
#[derive(Debug, Clone, Serialize)]
pub struct GateReady {
    pub molecule_id: String,
    pub molecule_title: String,
    pub closed_gate: String,
    pub ready_step: String,
    pub ready_title: String,
}

/// `bd mol ready`: molecules waiting at a gate that has now closed, whose
/// step behind it is ready and held by nobody.
pub fn ready(ctx: &Session) -> Result<Vec<GateReady>> {
    let snap = ctx.snapshot()?;
    let mut out = Vec::new();
    for g in snap
        .rows
        .iter()
        .filter(|r| r.issue_type == "gate" && r.state() == Status::Closed)
    {
        let Some(m) = molecule_of(&snap, &g.id) else {
            continue;
        };
        for d in g.dependents.iter().filter(|e| e.kind == "blocks") {
            if let Some(step) = snap.find(&d.target)
                && step.ready
                && step.assignee.is_empty()
            {
                out.push(GateReady {
                    molecule_id: m.id.clone(),
                    molecule_title: m.title.clone(),
                    closed_gate: g.id.clone(),
                    ready_step: step.id.clone(),
                    ready_title: step.title.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// What `burn` deleted.
#[derive(Debug, Clone, Serialize)]
pub struct Burned {
    pub molecule_id: String,
    pub deleted_ids: Vec<String>,
    pub deleted_count: usize,
    pub dry_run: bool,
}

/// `bd mol burn ID… [--dry-run]`: delete molecules (root and every item
/// under it) in one write; a deletion, so it syncs as tombstones.
pub fn burn(ctx: &Session, qs: &[String], dry_run: bool, force: bool) -> Result<Vec<Burned>> {
    let snap = ctx.snapshot()?;
    let mut out = Vec::new();
    let mut all = Vec::new();
    for q in qs {
        let root = root_row(ctx, &snap, q)?;
        let mut ids = vec![root.id.clone()];
        ids.extend(
            descendants(&snap, &root.id)
                .into_iter()
                .map(|r| r.id.clone()),
        );
        all.extend(ids.iter().cloned());
        out.push(Burned {
            molecule_id: root.id.clone(),
            deleted_count: ids.len(),
            deleted_ids: ids,
            dry_run,
        });
    }
    drop(snap);
    if !dry_run && !all.is_empty() {
        crate::ops::edit::delete(ctx, &all, Some("burned: molecule discarded"), force)?;
    }
    Ok(out)
}

/// What `squash` made.
#[derive(Debug, Clone, Serialize)]
pub struct Squashed {
    pub molecule_id: String,
    pub digest_id: String,
    pub squashed_count: usize,
    pub deleted_count: usize,
    pub dry_run: bool,
    pub summary: String,
}

/// `bd mol squash ID [--summary S] [--delete-children] [--dry-run]`: a
/// closed digest item under the molecule (the summary given, else one line
/// per step with how it ended) and the root closed, in one write; with
/// `--delete-children` the steps are deleted. Refused while a step is open.
pub fn squash(
    ctx: &Session,
    q: &str,
    summary: Option<&str>,
    delete_children: bool,
    dry_run: bool,
) -> Result<Squashed> {
    let snap = ctx.snapshot()?;
    let root = root_row(ctx, &snap, q)?.clone();
    let rows: Vec<Row> = descendants(&snap, &root.id).into_iter().cloned().collect();
    let open: Vec<&str> = rows
        .iter()
        .filter(|r| !values::is_done(&r.status))
        .map(|r| r.id.as_str())
        .collect();
    if !open.is_empty() {
        return Err(Error::invalid(format!(
            "molecule {} has open items: {} (close or burn it instead)",
            root.id,
            open.join(", ")
        )));
    }
    let text = match summary.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.to_string(),
        None => {
            let mut t = format!("## {}\n\n", root.title);
            for r in &rows {
                let how = if r.close_reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.close_reason)
                };
                t.push_str(&format!("- {} {} ({}{how})\n", r.id, r.title, r.status));
            }
            t
        }
    };
    drop(snap);
    let mut tx = ctx.tx()?;
    let kids = tx.ids_starting(&format!("{}.", root.id))?;
    let kids: Vec<&str> = kids.iter().map(String::as_str).collect();
    let digest_id = id::child_id(
        &root.id,
        crate::ops::create::next_child_number(&kids, &root.id),
    );
    let report = Squashed {
        molecule_id: root.id.clone(),
        digest_id: digest_id.clone(),
        squashed_count: rows.len(),
        deleted_count: if delete_children { rows.len() } else { 0 },
        dry_run,
        summary: text.clone(),
    };
    if dry_run {
        return Ok(report);
    }
    let now = ctx.now_text();
    let mut d = Record::new(&digest_id);
    d.set("title", &format!("Digest: {}", root.title));
    d.set("description", &text);
    d.set_status(Status::Closed);
    d.set("priority", &root.priority);
    d.set("issue_type", "task");
    d.set("created_at", &now);
    d.set("created_by", &ctx.actor);
    d.set("updated_at", &now);
    d.set("closed_at", &now);
    d.set(
        "close_reason",
        &format!("squashed from {} steps", rows.len()),
    );
    d.set("metadata", &serde_json::json!({"digest": true}));
    d.add_dep(&edge(
        &digest_id,
        &root.id,
        "parent-child",
        &now,
        &ctx.actor,
    ));
    tx.put(d);
    let mut r = tx.get(&root.id)?;
    if !values::is_done(&r.status()) {
        let before = r.clone();
        let at = r.next_stamp(ctx.now);
        r.set_status(Status::Closed);
        r.set("closed_at", &now);
        r.set("close_reason", &format!("squashed into {digest_id}"));
        crate::ops::stamp_write(ctx, &before, &mut r, &["status"], at);
        tx.put(r);
    }
    if delete_children {
        for row in &rows {
            let mut c = tx.get(&row.id)?;
            let before = c.clone();
            let at = c.next_stamp(ctx.now);
            let ty = c.issue_type();
            c.set_status(Status::Tombstone);
            c.set("deleted_at", &now);
            c.set("deleted_by", &ctx.actor);
            c.set("delete_reason", &format!("squashed into {digest_id}"));
            c.set("original_type", &ty);
            c.remove("closed_at");
            c.remove("close_reason");
            crate::ops::stamp_write(ctx, &before, &mut c, &["status", "deleted_at"], at);
            tx.put(c);
        }
    }
    ctx.commit(tx)?;
    Ok(report)
}

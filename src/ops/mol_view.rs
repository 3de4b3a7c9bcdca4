//! Reading molecules (issue 16): a molecule's steps and their states, and
//! where one item stands in its molecule. Below the verbs that read them
//! (`mol`, `show`, `prime`), so none of them calls another in a circle.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::model::kinds::Status;
use crate::model::record::Record;
use crate::model::values;
use crate::ops::Session;
use crate::store::Snapshot;
use crate::store::index::Row;

pub const MOLECULE: &str = "molecule";

/// One step of a molecule as `show`/`current` give it.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub id: String,
    pub title: String,
    pub issue_type: String,
    pub status: String,
    /// `done`, `current` (in progress), `ready`, `blocked`, `pending`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub assignee: String,
    pub blocked_by: Vec<String>,
}

/// A molecule: its root, steps and progress.
#[derive(Debug, Clone, Serialize)]
pub struct MolView {
    pub molecule_id: String,
    pub molecule_title: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
    pub vars: BTreeMap<String, String>,
    pub total: usize,
    pub completed: usize,
    pub in_progress: usize,
    pub percent: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
    pub steps: Vec<StepView>,
    /// Open gates of the molecule.
    pub gates: Vec<String>,
}

/// A squash's digest (`metadata.digest`): the molecule's summary, not a step.
pub fn is_digest(meta: Option<&serde_json::Value>) -> bool {
    meta.and_then(|m| m.get("digest")?.as_bool()) == Some(true)
}

pub fn state_of(r: &Row) -> &'static str {
    if values::is_done(&r.status) {
        "done"
    } else if r.status == Status::InProgress.as_str() || r.status == "hooked" {
        "current"
    } else if r.ready {
        "ready"
    } else if r.blocked {
        "blocked"
    } else {
        "pending"
    }
}

pub fn is_molecule(r: &Row) -> bool {
    r.issue_type == MOLECULE
}

/// The molecule an item is in: itself when it is one, else its nearest
/// ancestor of type `molecule`.
pub fn molecule_of<'a>(snap: &'a Snapshot, id: &str) -> Option<&'a Row> {
    let mut cur = snap.find(id)?;
    for _ in 0..64 {
        if is_molecule(cur) {
            return Some(cur);
        }
        cur = snap.find(cur.parent.as_deref()?)?;
    }
    None
}

/// Everything under the root, in id order (children numbered naturally).
pub fn descendants<'a>(snap: &'a Snapshot, root: &str) -> Vec<&'a Row> {
    let p = format!("{root}.");
    let mut v: Vec<&Row> = snap
        .rows
        .iter()
        .filter(|r| r.id.starts_with(&p) && r.state() != Status::Tombstone)
        .collect();
    v.sort_by_key(|r| natural(&r.id));
    v
}

fn natural(id: &str) -> Vec<u64> {
    id.split('.')
        .skip(1)
        .map(|n| n.parse().unwrap_or(u64::MAX))
        .collect()
}

pub fn view(ctx: &Session, snap: &Snapshot, root: &Row) -> Result<MolView> {
    let rec = snap.record(root)?;
    let meta = rec
        .json::<serde_json::Value>("metadata")
        .unwrap_or_default();
    let rows = descendants(snap, &root.id);
    let mut steps = Vec::new();
    let mut gates = Vec::new();
    for r in &rows {
        let meta = snap
            .record(r)
            .ok()
            .and_then(|x| x.json::<serde_json::Value>("metadata"));
        if is_digest(meta.as_ref()) {
            continue;
        }
        if r.issue_type == "gate" && !values::is_done(&r.status) && !gates.contains(&r.id) {
            gates.push(r.id.clone());
        }
        // A gate made by hand (`bd gate create --blocks <step>`) holds the
        // molecule too.
        for b in &r.blockers {
            if let Some(g) = snap.find(b)
                && g.issue_type == "gate"
                && !values::is_done(&g.status)
                && !gates.contains(&g.id)
            {
                gates.push(g.id.clone());
            }
        }
        let step = meta.and_then(|m| m.get("formula_step")?.as_str().map(str::to_string));
        steps.push(StepView {
            id: r.id.clone(),
            title: r.title.clone(),
            issue_type: r.issue_type.clone(),
            status: r.status.clone(),
            state: state_of(r),
            step,
            assignee: r.assignee.clone(),
            blocked_by: r.blockers.clone(),
        });
    }
    let work: Vec<&StepView> = steps.iter().filter(|s| s.issue_type != "gate").collect();
    let total = work.len();
    let completed = work.iter().filter(|s| s.state == "done").count();
    let in_progress = work.iter().filter(|s| s.state == "current").count();
    let current = work
        .iter()
        .find(|s| s.state == "current" && s.assignee == ctx.actor)
        .or_else(|| work.iter().find(|s| s.state == "current"))
        .map(|s| s.id.clone());
    let next = work
        .iter()
        .find(|s| s.state == "ready")
        .map(|s| s.id.clone());
    Ok(MolView {
        molecule_id: root.id.clone(),
        molecule_title: root.title.clone(),
        status: root.status.clone(),
        formula: meta
            .get("formula")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        vars: meta
            .get("vars")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default(),
        total,
        completed,
        in_progress,
        percent: if total == 0 {
            0.0
        } else {
            (completed as f64 * 1000.0 / total as f64).round() / 10.0
        },
        current_step: current,
        next_step: next,
        steps,
        gates,
    })
}

/// Where an item stands in its molecule (`show`, `prime`).
#[derive(Debug, Clone, Serialize)]
pub struct Brief {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
    /// The item's step in the formula (none for the root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub completed: usize,
    pub total: usize,
    /// The first ready step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
}

/// The molecule `id` is in (or is), read by lookups: the parent chain,
/// then the rows under the root. `None` for an item in no molecule.
pub fn brief(ctx: &Session, rec: &Record) -> Option<Brief> {
    let view = ctx.view();
    let mut root: Option<(String, String)> = None;
    if rec.issue_type() == MOLECULE {
        root = Some((rec.id().to_string(), rec.title()));
    } else {
        let mut cur = rec.parent();
        for _ in 0..16 {
            let p = cur?;
            let snap = Snapshot::load_ids(&ctx.ws, &view, &[p.as_str()]).ok()?;
            let row = snap.find(&p)?;
            if row.issue_type == MOLECULE {
                root = Some((row.id.clone(), row.title.clone()));
                break;
            }
            cur = row.parent.clone();
        }
    }
    let (id, title) = root?;
    let under = format!("{id}.");
    let snap = Snapshot::load_where(
        &ctx.ws,
        &view,
        |p| p.id() == id || p.id().starts_with(&under),
        false,
    )
    .ok()?;
    let meta = |r: &Row| {
        snap.record(r)
            .ok()
            .and_then(|x| x.json::<serde_json::Value>("metadata"))
    };
    let formula = snap
        .find(&id)
        .and_then(meta)
        .and_then(|m| m.get("formula")?.as_str().map(str::to_string));
    let work: Vec<&Row> = descendants(&snap, &id)
        .into_iter()
        .filter(|r| r.issue_type != "gate" && !is_digest(meta(r).as_ref()))
        .collect();
    let step = (rec.id() != id)
        .then(|| {
            rec.json::<serde_json::Value>("metadata")
                .and_then(|m| m.get("formula_step")?.as_str().map(str::to_string))
        })
        .flatten();
    Some(Brief {
        title,
        formula,
        step,
        completed: work.iter().filter(|r| values::is_done(&r.status)).count(),
        total: work.len(),
        next_step: work.iter().find(|r| r.ready).map(|r| r.id.clone()),
        id,
    })
}

//! `bd dep add|remove|list|tree|cycles`: dependency edges between issues.
//! Several types per pair coexist; blocking kinds never form a cycle.

use serde::Serialize;

use crate::error::{Error, Missing, Result};
use crate::model::graph;
use crate::model::record::Dep;
use crate::model::values;
use crate::ops::write::Outcome;
use crate::ops::{Session, unchanged};
use crate::store::index::Row;

pub fn add(ctx: &Session, from: &str, to: &str, kind: &str) -> Result<Outcome> {
    values::check_dep_type(kind).map_err(Error::invalid)?;
    let tx = ctx.tx()?;
    let prefix = ctx.prefix_of_rows(tx.rows());
    let from = tx.resolve(from, &prefix)?;
    let to = tx.resolve(to, &prefix)?;
    if from == to {
        return Err(Error::invalid(format!("{from} cannot depend on itself")));
    }
    let mut rec = tx.get(&from)?;
    crate::ops::write::refuse_deleted(ctx, &rec)?;
    crate::ops::write::refuse_deleted(ctx, &tx.get(&to)?)?;
    crate::ops::editable_list(&rec, "dependencies")?;
    if rec.has_dep(&to, kind) {
        unchanged(ctx, format!("{from} already depends on {to} ({kind})"));
        return Ok(Outcome {
            record: rec,
            changed: false,
        });
    }
    if kind == "parent-child"
        && let Some(p) = rec.parent()
    {
        return Err(Error::Invalid {
            msg: format!("{from} already has parent {p}"),
            hint: Some(format!("use `bd update {from} --parent {to}` to move it")),
        });
    }
    if let Some(cycle) = graph::find_cycle_with(&tx.nodes(), &from, &to, kind) {
        return Err(Error::invalid(format!(
            "adding {from} → {to} ({kind}) would make a cycle: {}",
            cycle.join(" → ")
        )));
    }
    let at = rec.next_stamp(ctx.now);
    let before = rec.clone();
    rec.add_dep(&Dep {
        issue_id: from.clone(),
        depends_on_id: to,
        kind: kind.to_string(),
        created_at: Some(ctx.now_text()),
        created_by: Some(ctx.actor.clone()),
        metadata: None,
    });
    crate::ops::write::write_one(ctx, tx, &before, rec, &["dependencies"], at)
}

pub fn remove(ctx: &Session, from: &str, to: &str, kind: Option<&str>) -> Result<Outcome> {
    let tx = ctx.tx()?;
    let prefix = ctx.prefix_of_rows(tx.rows());
    let from = tx.resolve(from, &prefix)?;
    let mut rec = tx.get(&from)?;
    crate::ops::editable_list(&rec, "dependencies")?;
    // The target may be gone (or never existed as an issue): match it literally too.
    let to = tx.resolve(to, &prefix).unwrap_or_else(|_| to.to_string());
    let at = rec.next_stamp(ctx.now);
    let before = rec.clone();
    let n = rec.remove_dep(&to, kind);
    if n == 0 {
        return Err(Error::NotFound(Missing::Dependency {
            from,
            to,
            kind: kind.map(str::to_string),
        }));
    }
    crate::ops::write::write_one(ctx, tx, &before, rec, &["dependencies"], at)
}

/// An issue at the other end of an edge.
#[derive(Debug, Clone, Serialize)]
pub struct Brief {
    pub id: String,
    pub title: String,
    pub status: String,
    pub priority: i64,
    pub dependency_type: String,
}

fn brief(r: &Row, kind: &str) -> Brief {
    Brief {
        id: r.id.clone(),
        title: r.title.clone(),
        status: r.status.clone(),
        priority: r.priority,
        dependency_type: kind.to_string(),
    }
}

/// The target of an outgoing edge: an issue, or an id no issue has.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Target {
    Found(Brief),
    Missing {
        id: String,
        dependency_type: String,
        /// Always true: marks the target as absent in JSON.
        missing: bool,
    },
}

/// `dep list`: the outgoing and incoming edges of one issue.
#[derive(Debug, Clone, Serialize)]
pub struct DepList {
    pub id: String,
    pub depends_on: Vec<Target>,
    pub dependents: Vec<Brief>,
}

/// Outgoing and incoming edges of one issue.
pub fn list(ctx: &Session, id: &str) -> Result<DepList> {
    let snap = ctx.snapshot()?;
    let prefix = ctx.prefix_of_rows(&snap.rows);
    let row = snap.resolve(id, &prefix)?;
    let depends_on = row
        .edges
        .iter()
        .map(|e| match snap.find(&e.target) {
            Some(t) => Target::Found(brief(t, &e.kind)),
            None => Target::Missing {
                id: e.target.clone(),
                dependency_type: e.kind.clone(),
                missing: true,
            },
        })
        .collect();
    let mut dependents = Vec::new();
    for r in &snap.rows {
        for e in &r.edges {
            if e.target == row.id {
                dependents.push(brief(r, &e.kind));
            }
        }
    }
    Ok(DepList {
        id: row.id.clone(),
        depends_on,
        dependents,
    })
}

/// A node of `dep tree`: an issue (the root's `dependency_type` is empty)
/// and what it depends on, or, reversed, what depends on it. A node already
/// on the path is a cycle and one at the depth limit is truncated; neither
/// has children.
#[derive(Debug, Clone, Serialize)]
pub struct TreeNode {
    #[serde(flatten)]
    pub issue: Brief,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cycle: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<TreeNode>>,
}

/// A tree node: an issue and what it depends on (or, reversed, what depends on it).
pub fn tree(ctx: &Session, id: &str, reverse: bool, max_depth: usize) -> Result<TreeNode> {
    let snap = ctx.snapshot()?;
    let prefix = ctx.prefix_of_rows(&snap.rows);
    let root = snap.resolve(id, &prefix)?.clone();
    let mut incoming: std::collections::HashMap<&str, Vec<(&Row, &str)>> = Default::default();
    if reverse {
        for r in &snap.rows {
            for e in &r.edges {
                incoming
                    .entry(e.target.as_str())
                    .or_default()
                    .push((r, e.kind.as_str()));
            }
        }
    }
    let walker = TreeWalk {
        snap: &snap,
        incoming: &incoming,
        max: max_depth,
        reverse,
    };
    let mut path = Vec::new();
    Ok(walker.walk(&root, "", 0, &mut path))
}

/// Walks the dependency tree below (or, reversed, above) an issue; a path
/// already on the stack is marked as a cycle instead of followed.
struct TreeWalk<'a> {
    snap: &'a crate::store::Snapshot,
    incoming: &'a std::collections::HashMap<&'a str, Vec<(&'a Row, &'a str)>>,
    max: usize,
    reverse: bool,
}

impl TreeWalk<'_> {
    fn walk(&self, r: &Row, kind: &str, depth: usize, path: &mut Vec<String>) -> TreeNode {
        let mut node = TreeNode {
            issue: brief(r, kind),
            cycle: false,
            truncated: false,
            children: None,
        };
        if path.contains(&r.id) {
            node.cycle = true;
            return node;
        }
        if depth >= self.max {
            node.truncated = true;
            return node;
        }
        path.push(r.id.clone());
        let next: Vec<(Row, String)> = if self.reverse {
            self.incoming
                .get(r.id.as_str())
                .into_iter()
                .flatten()
                .map(|(x, k)| ((*x).clone(), k.to_string()))
                .collect()
        } else {
            r.edges
                .iter()
                .filter_map(|e| {
                    self.snap
                        .find(&e.target)
                        .map(|t| (t.clone(), e.kind.clone()))
                })
                .collect()
        };
        let kids = next
            .iter()
            .map(|(t, k)| self.walk(t, k, depth + 1, path))
            .collect();
        path.pop();
        node.children = Some(kids);
        node
    }
}

pub fn cycles(ctx: &Session) -> Result<Vec<Vec<String>>> {
    let snap = ctx.snapshot()?;
    Ok(graph::cycles(&snap.nodes()))
}

/// An edge to an issue that is not in the tracker.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Orphan {
    pub issue_id: String,
    pub depends_on_id: String,
    pub dependency_type: String,
}

/// `repair-deps`'s report (classic's shape).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Repair {
    pub orphans_found: usize,
    pub orphans: Vec<Orphan>,
    /// With `--fix`: how many were removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<usize>,
}

/// `bd repair-deps [--fix]`: edges of live issues to issues not in the
/// tracker; with `fix`, removed (one write).
pub fn repair(ctx: &Session, fix: bool) -> Result<Repair> {
    let snap = ctx.snapshot()?;
    let orphans: Vec<Orphan> = snap
        .rows
        .iter()
        .filter(|r| r.state() != crate::model::kinds::Status::Tombstone)
        .flat_map(|r| {
            r.edges
                .iter()
                .filter(|e| snap.find(&e.target).is_none())
                .map(|e| Orphan {
                    issue_id: r.id.clone(),
                    depends_on_id: e.target.clone(),
                    dependency_type: e.kind.clone(),
                })
        })
        .collect();
    let mut rep = Repair {
        orphans_found: orphans.len(),
        orphans,
        fixed: None,
    };
    if !fix {
        return Ok(rep);
    }
    let mut tx = ctx.tx()?;
    let mut removed = 0;
    let mut by_issue: std::collections::BTreeMap<&str, Vec<&Orphan>> = Default::default();
    for o in &rep.orphans {
        by_issue.entry(o.issue_id.as_str()).or_default().push(o);
    }
    for (id, os) in by_issue {
        let mut rec = tx.get(id)?;
        crate::ops::editable_list(&rec, "dependencies")?;
        let at = rec.next_stamp(ctx.now);
        let before = rec.clone();
        for o in os {
            removed += rec.remove_dep(&o.depends_on_id, Some(&o.dependency_type));
        }
        crate::ops::stamp_write(ctx, &before, &mut rec, &["dependencies"], at);
        tx.put(rec);
    }
    if removed > 0 {
        ctx.commit(tx)?;
        ctx.notice(format!(
            "Removed {removed} orphaned dependenc{}",
            if removed == 1 { "y" } else { "ies" }
        ));
    }
    rep.fixed = Some(removed);
    Ok(rep)
}

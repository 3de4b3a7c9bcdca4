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
    let mut tx = ctx.tx()?;
    let o = add_in(ctx, &mut tx, from, to, kind)?;
    if o.changed {
        ctx.commit(tx)?;
    }
    Ok(o)
}

/// `bd dep relate A B` (classic): a `relates-to` edge each way, one write.
pub fn relate(ctx: &Session, a: &str, b: &str) -> Result<Vec<Outcome>> {
    let mut tx = ctx.tx()?;
    let one = add_in(ctx, &mut tx, a, b, RELATES)?;
    let other = add_in(ctx, &mut tx, b, a, RELATES)?;
    if one.changed || other.changed {
        ctx.commit(tx)?;
    }
    Ok(vec![one, other])
}

/// `bd dep unrelate A B` (classic): the `relates-to` edges between A and B,
/// both ways, removed in one write.
pub fn unrelate(ctx: &Session, a: &str, b: &str) -> Result<Vec<Outcome>> {
    let mut tx = ctx.tx()?;
    let prefix = ctx.prefix_for(&tx)?;
    let a = tx.resolve(a, &prefix)?;
    let b = tx.resolve(b, &prefix)?;
    let mut out = Vec::new();
    let mut removed = 0;
    for (from, to) in [(&a, &b), (&b, &a)] {
        let mut rec = tx.get(from)?;
        crate::ops::write::refuse_deleted(ctx, &rec)?;
        crate::ops::editable_list(&rec, "dependencies")?;
        let at = rec.next_stamp(ctx.now);
        let before = rec.clone();
        let n = rec.remove_dep(to, Some(RELATES));
        if n > 0 {
            crate::ops::stamp_write(ctx, &before, &mut rec, &["dependencies"], at);
            tx.put(rec.clone());
        }
        removed += n;
        out.push(Outcome {
            record: rec,
            changed: n > 0,
        });
    }
    if removed == 0 {
        return Err(Error::NotFound(Missing::Dependency {
            from: a,
            to: b,
            kind: Some(RELATES.into()),
        }));
    }
    ctx.commit(tx)?;
    Ok(out)
}

/// The loose "see also" edge type of `dep relate`.
const RELATES: &str = "relates-to";

/// Add the edge `from` → `to` of type `kind` in `tx` (not committed): the
/// issue as it is after, and whether it changed.
fn add_in(
    ctx: &Session,
    tx: &mut crate::store::Tx,
    from: &str,
    to: &str,
    kind: &str,
) -> Result<Outcome> {
    values::check_dep_type(kind).map_err(Error::invalid)?;
    let prefix = ctx.prefix_for(tx)?;
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
    if let Some(cycle) = graph::find_cycle_with(&tx.nodes_reachable(&to), &from, &to, kind) {
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
    crate::ops::stamp_write(ctx, &before, &mut rec, &["dependencies"], at);
    tx.put(rec.clone());
    Ok(Outcome {
        record: rec,
        changed: true,
    })
}

pub fn remove(ctx: &Session, from: &str, to: &str, kind: Option<&str>) -> Result<Outcome> {
    let tx = ctx.tx()?;
    let prefix = ctx.prefix_for(&tx)?;
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

/// Which way `dep list` and `dep tree` follow edges (classic `--direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// What the issue depends on (the default).
    Down,
    /// What depends on the issue.
    Up,
    /// Both (`dep tree` only).
    Both,
}

impl Direction {
    pub fn parse(s: &str) -> Result<Direction> {
        match s {
            "down" => Ok(Direction::Down),
            "up" => Ok(Direction::Up),
            "both" => Ok(Direction::Both),
            _ => Err(Error::invalid(format!(
                "invalid --direction '{s}': use down, up or both"
            ))),
        }
    }
}

/// A stored edge as classic `dep list` of several issues gives it.
#[derive(Debug, Clone, Serialize)]
pub struct EdgeRecord {
    pub issue_id: String,
    pub depends_on_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// `dep list`'s report. Its JSON is classic's: the issues at the other
/// ends, each with its `dependency_type` (one issue, or `--direction up`),
/// or, for several issues downwards, the stored edges.
#[derive(Debug, Clone)]
pub struct DepReport {
    pub issues: Vec<crate::ops::Linked>,
    /// Several issues downwards: their edges.
    pub edges: Option<Vec<EdgeRecord>>,
    /// Edges to ids no issue has (never in the JSON, which holds issues).
    pub missing: Vec<Orphan>,
    pub direction: Direction,
}

impl Serialize for DepReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match &self.edges {
            Some(e) => e.serialize(s),
            None => self.issues.serialize(s),
        }
    }
}

/// `bd dep list <id>… [--direction up|down] [-t TYPE]`.
pub fn list(
    ctx: &Session,
    ids: &[String],
    dir: Direction,
    kind: Option<&str>,
) -> Result<DepReport> {
    if dir == Direction::Both {
        return Err(Error::invalid(
            "invalid --direction 'both' for dep list: use down or up",
        ));
    }
    if let Some(k) = kind {
        values::check_dep_type(k).map_err(Error::invalid)?;
    }
    let snap = ctx.snapshot()?;
    let prefix = ctx.prefix_of_rows(&snap.rows);
    let rows = ids
        .iter()
        .map(|id| snap.resolve(id, &prefix))
        .collect::<Result<Vec<&Row>>>()?;
    let wanted = |k: &str| kind.is_none_or(|t| t == k);
    let mut rep = DepReport {
        issues: Vec::new(),
        edges: None,
        missing: Vec::new(),
        direction: dir,
    };
    if dir == Direction::Down && rows.len() > 1 {
        let mut edges = Vec::new();
        for r in &rows {
            for d in snap
                .record(r)?
                .deps()
                .into_iter()
                .filter(|d| wanted(&d.kind))
            {
                edges.push(EdgeRecord {
                    issue_id: r.id.clone(),
                    depends_on_id: d.depends_on_id,
                    kind: d.kind,
                    created_at: d.created_at,
                    created_by: d.created_by,
                });
            }
        }
        rep.edges = Some(edges);
        return Ok(rep);
    }
    for row in rows {
        if dir == Direction::Up {
            for d in row.dependents.iter().filter(|e| wanted(&e.kind)) {
                if let Some(from) = snap.find(&d.target) {
                    rep.issues.push(crate::ops::Linked::of(from, &d.kind));
                }
            }
            continue;
        }
        for e in row.edges.iter().filter(|e| wanted(&e.kind)) {
            match snap.find(&e.target) {
                Some(t) => rep.issues.push(crate::ops::Linked::of(t, &e.kind)),
                None => rep.missing.push(Orphan {
                    issue_id: row.id.clone(),
                    depends_on_id: e.target.clone(),
                    dependency_type: e.kind.clone(),
                }),
            }
        }
    }
    Ok(rep)
}

/// One node of `dep tree`, classic's flat form: the issue, how deep it is,
/// the node it hangs under (`""` for the root) and the type of that edge;
/// `truncated` when the depth limit cut its children off.
#[derive(Debug, Clone)]
pub struct TreeNode {
    pub issue: crate::ops::IssueView<'static>,
    pub depth: usize,
    pub parent_id: String,
    pub edge_from_parent: String,
    pub truncated: bool,
    /// In the dependents' part of `--direction both`.
    pub up: bool,
}

impl Serialize for TreeNode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        let mut keys: Vec<&str> = crate::ops::IssueView::KEYS.to_vec();
        keys.extend(["depth", "parent_id", "edge_from_parent", "truncated"]);
        crate::ops::record_with(&mut m, &self.issue.record, &keys, |m, k| match k {
            "depth" => m.serialize_entry(k, &self.depth),
            "parent_id" => m.serialize_entry(k, &self.parent_id),
            "edge_from_parent" if self.edge_from_parent.is_empty() => Ok(()),
            "edge_from_parent" => m.serialize_entry(k, &self.edge_from_parent),
            "truncated" => m.serialize_entry(k, &self.truncated),
            _ => self.issue.put(m, k),
        })?;
        m.end()
    }
}

/// `dep tree` options (classic's flags).
#[derive(Debug, Clone)]
pub struct TreeOptions {
    pub direction: Direction,
    /// Levels below (or above) the root; 0 is the root alone.
    pub max_depth: usize,
    /// Only nodes with this status (the root always shows).
    pub status: Option<String>,
}

/// `bd dep tree <id>`: the issues below the root (what it depends on), or
/// above it (what depends on it), depth first; an issue reached twice (a
/// diamond, a cycle) is shown once. `relates-to` edges are not followed:
/// they are not a hierarchy.
pub fn tree(ctx: &Session, id: &str, o: &TreeOptions) -> Result<Vec<TreeNode>> {
    if let Some(st) = &o.status {
        values::check_status(st, &ctx.custom_statuses()).map_err(Error::invalid)?;
    }
    let snap = ctx.snapshot()?;
    let prefix = ctx.prefix_of_rows(&snap.rows);
    let root = snap.resolve(id, &prefix)?;
    let mut out = Vec::new();
    for (up, wanted) in [
        (false, o.direction != Direction::Up),
        (true, o.direction != Direction::Down),
    ] {
        if !wanted {
            continue;
        }
        let before = out.len();
        walk(&snap, root, up, o.max_depth, &mut out)?;
        if before > 0 {
            // `both`: the root is already there.
            out.remove(before);
        }
    }
    if let Some(st) = &o.status {
        keep_status(&mut out, st);
    }
    if o.direction != Direction::Both {
        out.iter_mut().for_each(|n| n.up = false);
    }
    Ok(out)
}

/// `dep tree --status`: only the nodes with that status (the root always);
/// a node kept under one left out hangs under its nearest kept ancestor,
/// one level below it.
fn keep_status(nodes: &mut Vec<TreeNode>, status: &str) {
    let mut anchor: std::collections::HashMap<String, (String, usize)> = Default::default();
    let mut kept = Vec::with_capacity(nodes.len());
    for mut n in nodes.drain(..) {
        let id = n.issue.record.id().to_string();
        if n.depth == 0 {
            anchor.insert(id, (n.issue.record.id().to_string(), 0));
            kept.push(n);
            continue;
        }
        let (to, depth) = anchor
            .get(&n.parent_id)
            .cloned()
            .unwrap_or_else(|| (n.parent_id.clone(), n.depth - 1));
        if n.issue.record.status() == status {
            n.parent_id = to;
            n.depth = depth + 1;
            anchor.insert(id.clone(), (id, n.depth));
            kept.push(n);
        } else {
            anchor.insert(id, (to, depth));
        }
    }
    *nodes = kept;
}

/// Depth first from `root`, each issue once (the first path that reaches
/// it), without recursion: a chain thousands deep is walked like any other
/// (review 8: the recursive walk overflowed the stack).
fn walk(
    snap: &crate::store::Snapshot,
    root: &Row,
    up: bool,
    max: usize,
    out: &mut Vec<TreeNode>,
) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    // (issue, the node it hangs under, the edge's type, depth)
    let mut stack: Vec<(&Row, String, String, usize)> =
        vec![(root, String::new(), String::new(), 0)];
    while let Some((r, parent, kind, depth)) = stack.pop() {
        if !seen.insert(r.id.clone()) {
            continue;
        }
        let edges = if up { &r.dependents } else { &r.edges };
        let next: Vec<(&Row, &str)> = edges
            .iter()
            .filter(|e| e.kind != RELATES)
            .filter_map(|e| Some((snap.find(&e.target)?, e.kind.as_str())))
            .collect();
        out.push(TreeNode {
            issue: crate::ops::IssueView::new(std::borrow::Cow::Owned(snap.record(r)?), Some(r)),
            depth,
            parent_id: parent,
            edge_from_parent: kind,
            truncated: depth >= max && !next.is_empty(),
            up,
        });
        if depth >= max {
            continue;
        }
        for (t, k) in next.into_iter().rev() {
            if !seen.contains(&t.id) {
                stack.push((t, r.id.clone(), k.to_string(), depth + 1));
            }
        }
    }
    Ok(())
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

//! The derived columns of the index brought up to date after a write, for
//! the rows the write can reach only: the changed rows, the rows whose
//! dependents lists name them, the rows whose blockers look at them (their
//! dependents through blocking edges, the waiters on their parents), and
//! everything under those in the parent tree. The result equals
//! [`super::index::derive`] over the whole tracker (a property test holds
//! the two together).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::graph::{self, Edge};
use crate::model::time::Nanos;
use crate::model::values::is_done;
use crate::store::index::Row;

/// The rows whose derived columns (or contents) differ after a write, and
/// the window and dangling edges of the new state.
#[derive(Debug)]
pub struct Update {
    pub rows: BTreeMap<String, Row>,
    pub valid_from: Nanos,
    pub valid_until: Nanos,
    pub dangling: Vec<String>,
}

struct State<'a> {
    old: &'a dyn Fn(&str) -> Option<Row>,
    /// Rows as they become.
    rows: HashMap<String, Option<Row>>,
    /// Rows as they were, as first read.
    orig: HashMap<String, Option<Row>>,
}

impl State<'_> {
    fn get(&mut self, id: &str) -> Option<&Row> {
        if !self.rows.contains_key(id) {
            let r = (self.old)(id);
            self.orig.insert(id.to_string(), r.clone());
            self.rows.insert(id.to_string(), r);
        }
        self.rows.get(id).and_then(Option::as_ref)
    }

    fn exists(&mut self, id: &str) -> bool {
        self.get(id).is_some()
    }

    fn children(&mut self, id: &str) -> Vec<String> {
        let Some(r) = self.get(id) else {
            return Vec::new();
        };
        let cands: Vec<String> = r
            .dependents
            .iter()
            .filter(|e| e.kind == graph::PARENT_CHILD)
            .map(|e| e.target.clone())
            .collect();
        let mut out = Vec::new();
        for c in cands {
            if self
                .get(&c)
                .is_some_and(|r| r.parent.as_deref() == Some(id))
                && !out.contains(&c)
            {
                out.push(c);
            }
        }
        out
    }
}

fn blocking(kind: &str) -> bool {
    matches!(
        kind,
        graph::BLOCKS | graph::CONDITIONAL_BLOCKS | graph::WAITS_FOR
    )
}

/// Bring the derived columns up to date. `old` gives the rows before the
/// write (derived columns right for that state); `changed` the rows the
/// write replaces or adds, derived columns not yet filled. `None`: an added
/// row is the target of an edge that dangled, whose source this cannot
/// find; derive everything instead.
pub fn update(
    old: &dyn Fn(&str) -> Option<Row>,
    changed: &BTreeMap<String, Row>,
    dangling: &[String],
    window: (Nanos, Nanos),
    now: Nanos,
    non_work: &[String],
) -> Option<Update> {
    let mut st = State {
        old,
        rows: HashMap::new(),
        orig: HashMap::new(),
    };
    let mut old_parent: HashMap<String, Option<String>> = HashMap::new();
    let mut old_edges: HashMap<String, Vec<Edge>> = HashMap::new();
    for (id, new) in changed {
        let before = st.get(id).cloned();
        if before.is_none() && dangling.binary_search(id).is_ok() {
            return None;
        }
        old_parent.insert(id.clone(), before.as_ref().and_then(|r| r.parent.clone()));
        old_edges.insert(
            id.clone(),
            before.as_ref().map(|r| r.edges.clone()).unwrap_or_default(),
        );
        let mut row = new.clone();
        // Until recomputed: what the old row had.
        row.dependents = before.map(|b| b.dependents).unwrap_or_default();
        st.rows.insert(id.clone(), Some(row));
    }
    let mut dangling: BTreeSet<String> = dangling.iter().cloned().collect();
    let mut touched: BTreeSet<String> = changed.keys().cloned().collect();
    touched.extend(dependents_pass(&mut st, changed, &old_edges, &mut dangling));
    parents_pass(&mut st, changed);

    // Rows whose blockers may change: the changed ones, those with a
    // blocking edge to one, the waiters on their old and new parents.
    let mut recompute: BTreeSet<String> = changed.keys().cloned().collect();
    for id in changed.keys() {
        recompute.extend(sources(&mut st, id, blocking));
        let new_parent = st.get(id).and_then(|r| r.parent.clone());
        for p in [old_parent[id].clone(), new_parent].into_iter().flatten() {
            recompute.extend(sources(&mut st, &p, |k| k == graph::WAITS_FOR));
        }
    }
    for b in &recompute {
        let Some(row) = st.get(b).cloned() else {
            continue;
        };
        let list = blockers(&mut st, &row);
        if let Some(Some(r)) = st.rows.get_mut(b.as_str()) {
            r.blockers = list;
        }
        touched.insert(b.clone());
    }

    // Everything under those in the parent tree.
    let mut reach: BTreeSet<String> = recompute.clone();
    let mut queue: Vec<String> = recompute.iter().cloned().collect();
    while let Some(x) = queue.pop() {
        for c in st.children(&x) {
            if reach.insert(c.clone()) {
                queue.push(c);
            }
        }
    }
    let nw: Vec<&str> = non_work.iter().map(String::as_str).collect();
    for x in &reach {
        settle(&mut st, x, now, &nw);
        touched.insert(x.clone());
    }

    let (mut valid_from, mut valid_until) = window;
    for r in changed.values() {
        if let Some(d) = r.defer_until {
            if d > now {
                valid_until = valid_until.min(d);
            } else {
                valid_from = valid_from.max(d);
            }
        }
    }
    let mut rows = BTreeMap::new();
    for id in touched {
        let Some(Some(now_row)) = st.rows.get(&id) else {
            continue;
        };
        let was = st.orig.get(&id).and_then(Option::as_ref);
        if changed.contains_key(&id) || was != Some(now_row) {
            rows.insert(id, now_row.clone());
        }
    }
    Some(Update {
        rows,
        valid_from,
        valid_until,
        dangling: dangling.into_iter().collect(),
    })
}

/// The dependents lists of every row a changed row points at (or pointed
/// at); returns those rows. Targets that do not exist join `dangling`.
fn dependents_pass(
    st: &mut State,
    changed: &BTreeMap<String, Row>,
    old_edges: &HashMap<String, Vec<Edge>>,
    dangling: &mut BTreeSet<String>,
) -> Vec<String> {
    let mut targets: BTreeSet<String> = BTreeSet::new();
    for (id, new) in changed {
        for e in old_edges[id].iter().chain(new.edges.iter()) {
            targets.insert(e.target.clone());
        }
    }
    let mut out = Vec::new();
    for t in &targets {
        if !st.exists(t) {
            if changed
                .values()
                .any(|r| r.edges.iter().any(|e| &e.target == t))
            {
                dangling.insert(t.clone());
            }
            continue;
        }
        let mut deps: Vec<Edge> = st
            .get(t)
            .map(|r| r.dependents.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|e| !changed.contains_key(&e.target))
            .collect();
        for (id, new) in changed {
            for e in new.edges.iter().filter(|e| &e.target == t) {
                deps.push(Edge {
                    target: id.clone(),
                    kind: e.kind.clone(),
                    any_children: false,
                });
            }
        }
        // Sources in id order, each one's edges in its own order.
        deps.sort_by(|a, b| a.target.cmp(&b.target));
        if let Some(Some(r)) = st.rows.get_mut(t.as_str()) {
            r.dependents = deps;
        }
        out.push(t.clone());
    }
    for id in changed.keys().chain(targets.iter()) {
        if let Some(Some(r)) = st.rows.get_mut(id.as_str()) {
            r.dependent_count = r.dependents.len() as u32;
        }
    }
    out
}

/// The parent of each changed row: its least existing parent-child target.
fn parents_pass(st: &mut State, changed: &BTreeMap<String, Row>) {
    for (id, new) in changed {
        let mut best: Option<&str> = None;
        for e in &new.edges {
            if e.kind == graph::PARENT_CHILD
                && best.is_none_or(|b| e.target.as_str() < b)
                && st.exists(&e.target)
            {
                best = Some(&e.target);
            }
        }
        let best = best.map(str::to_string);
        if let Some(Some(r)) = st.rows.get_mut(id.as_str()) {
            r.parent = best;
        }
    }
}

/// The rows with an edge of a kind `want` takes to `id`.
fn sources(st: &mut State, id: &str, want: impl Fn(&str) -> bool) -> Vec<String> {
    st.get(id)
        .map(|r| {
            r.dependents
                .iter()
                .filter(|e| want(&e.kind))
                .map(|e| e.target.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The open blockers of `row` in the new state, sorted.
fn blockers(st: &mut State, row: &Row) -> Vec<String> {
    let mut list: Vec<String> = Vec::new();
    for e in &row.edges {
        let Some(t) = st.get(&e.target).cloned() else {
            continue;
        };
        match e.kind.as_str() {
            graph::BLOCKS if !is_done(&t.status) => list.push(t.id.clone()),
            graph::CONDITIONAL_BLOCKS => {
                let failed = t.status == "closed" && graph::is_failure_reason(&t.close_reason);
                if !failed && t.status != "tombstone" {
                    list.push(t.id.clone());
                }
            }
            graph::WAITS_FOR => {
                let kids = st.children(&t.id);
                if kids.is_empty() {
                    if !is_done(&t.status) {
                        list.push(t.id.clone());
                    }
                    continue;
                }
                let done: Vec<bool> = kids
                    .iter()
                    .map(|k| st.get(k).is_some_and(|r| is_done(&r.status)))
                    .collect();
                let n_done = done.iter().filter(|d| **d).count();
                if e.any_children {
                    if n_done == 0 {
                        list.extend(kids.iter().cloned());
                    }
                } else if n_done < kids.len() {
                    list.extend(
                        kids.iter()
                            .zip(&done)
                            .filter(|(_, d)| !**d)
                            .map(|(k, _)| k.clone()),
                    );
                }
            }
            _ => {}
        }
    }
    list.sort_unstable();
    list.dedup();
    list
}

/// The blocked and ready columns of `x` from its own state and its
/// ancestors' (a parent cycle makes every member an ancestor of every
/// member, itself included).
fn settle(st: &mut State, x: &str, now: Nanos, nw: &[&str]) {
    let Some(row) = st.get(x).cloned() else {
        return;
    };
    let (mut inherited, mut future_above) = (false, false);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut cur = row.parent.clone();
    while let Some(p) = cur {
        if !seen.insert(p.clone()) {
            break;
        }
        let Some(pr) = st.get(&p) else { break };
        inherited |= root(pr);
        future_above |= pr.defer_until.is_some_and(|t| t > now);
        cur = pr.parent.clone();
    }
    let done = is_done(&row.status);
    let blocked = !done && (root(&row) || inherited);
    let status_ok = row.status == "open" || (row.status == "deferred" && row.defer_until.is_some());
    let ready = status_ok
        && row.defer_until.is_none_or(|t| t <= now)
        && !graph::is_coordination_type(&row.issue_type, nw)
        && !blocked
        && !future_above;
    if let Some(Some(r)) = st.rows.get_mut(x) {
        r.blocked = blocked;
        r.ready = ready;
    }
}

fn root(r: &Row) -> bool {
    !is_done(&r.status) && (!r.blockers.is_empty() || r.status == "blocked")
}

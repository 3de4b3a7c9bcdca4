//! The dependency graph: which issues are ready, which are blocked, and cycles.
//!
//! Pure functions over a flat slice of [`Node`]s, the few facts about each issue
//! that readiness depends on. No clock (the caller passes `now`), no files.
//! Everything here must stay linear in nodes + edges and must never recurse
//! along the data: the input comes from other tools and may hold parent cycles,
//! dangling edges, duplicate ids and chains a hundred thousand deep.
//!
//! Edge direction: a node's `edges` point at what it depends on, and the
//! cycles returned here read the same way: each id depends on the next, so
//! `ids.join(" → ")` shows the chain of "depends on".

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};

/// What readiness needs to know about one issue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub status: String,
    pub issue_type: String,
    pub priority: i64,
    /// `created_at` as nanoseconds since the Unix epoch (0 when missing).
    pub created_at: i64,
    /// `defer_until` as nanoseconds since the Unix epoch.
    pub defer_until: Option<i64>,
    pub close_reason: Option<String>,
    /// Held by a claim elsewhere (the coordination ledger); never ready.
    pub held: bool,
    /// Outgoing edges of this issue.
    pub edges: Vec<Edge>,
}

/// One outgoing dependency edge: this issue depends on `target` with `kind`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edge {
    pub target: String,
    pub kind: String,
    /// `metadata.gate == "any-children"` on a `waits-for` edge.
    pub any_children: bool,
}

pub const BLOCKS: &str = "blocks";
pub const PARENT_CHILD: &str = "parent-child";
pub const CONDITIONAL_BLOCKS: &str = "conditional-blocks";
pub const WAITS_FOR: &str = "waits-for";

/// Edge kinds that take part in blocking and in cycle detection.
pub const BLOCKING_KINDS: [&str; 4] = [BLOCKS, PARENT_CHILD, CONDITIONAL_BLOCKS, WAITS_FOR];

/// Issue types that are never ready work (besides configured
/// `non_work_types`): the vocabulary's one list.
pub use super::values::COORDINATION_TYPES;

/// Issue types that hold other work rather than being work one agent does:
/// ready work of these types is not *claimable* unless asked for.
pub const CONTAINER_TYPES: [&str; 3] = ["epic", "convoy", "molecule"];

/// Claimable work (issue 9, item 15; docs/DESIGN.md "Coordination: one
/// definition each"): ready work that is not a container. `dispatch`,
/// `ready --claim` and every worker take work from this set; `ready` itself
/// lists containers too, as classic does. `containers` admits them anyway.
pub fn is_claimable(issue_type: &str, containers: bool) -> bool {
    containers || !CONTAINER_TYPES.contains(&issue_type)
}

/// The lease rule (SPEC §7): a claim is lapsed when its holder's last sign
/// of life (heartbeat or the claim's start, whichever is later) is older
/// than the lease, or unknown. The one definition `show`, `ready --explain`,
/// `claim --steal` and `dispatch` use.
pub fn is_lapsed(last_sign_of_life: Option<i64>, now: i64, lease_secs: u64) -> bool {
    let lease = i64::try_from(lease_secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000_000);
    last_sign_of_life.is_none_or(|t| now.saturating_sub(t) > lease)
}

/// Close reasons (case-folded, trimmed) that mean "this failed": a
/// `conditional-blocks` edge unblocks only when its blocker closed with one.
pub const FAILURE_REASONS: [&str; 11] = [
    "failed",
    "rejected",
    "wontfix",
    "won't fix",
    "canceled",
    "cancelled",
    "abandoned",
    "blocked",
    "error",
    "timeout",
    "aborted",
];

/// [`cycles`] stops after this many cycles: a dense tangle has exponentially
/// many, and nobody reads past the first screenful.
pub const MAX_CYCLES: usize = 1000;

/// [`cycles`] also stops once the cycles it found hold this many ids in all
/// (the cycle that crosses the line is still reported whole), so a tangle of
/// long cycles costs milliseconds, not minutes.
pub const MAX_CYCLE_IDS: usize = 100_000;

/// Readiness of every node, computed once by [`analyze`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Indices into nodes of ready issues, in ready order (priority asc, then created_at asc, then
    /// id bytes asc).
    pub ready: Vec<usize>,
    /// Indices of blocked issues, same order.
    pub blocked: Vec<usize>,
    /// For each node, its parent index (target of its outgoing `parent-child` edge, if that target
    /// exists; first such edge by target id if several).
    pub parent: Vec<Option<usize>>,
    /// For each node, indices of the open blockers that make it blocked directly (edge targets /
    /// unfinished children for waits-for), empty if none.
    ///
    /// Sorted by index, without repeats. Computed for every node, done ones
    /// included (they are never in the blocked set, but `show` may want to
    /// say what still points at them).
    pub blockers: Vec<Vec<usize>>,
    /// For each node, whether it is blocked (in the blocked set).
    pub is_blocked: Vec<bool>,
}

pub use crate::model::values::is_done;

/// Whether edges of `kind` block and count for cycles.
pub fn is_blocking_kind(kind: &str) -> bool {
    BLOCKING_KINDS.contains(&kind)
}

/// Coordination types and configured non-work types are never ready work.
pub fn is_coordination_type(t: &str, extra_non_work: &[&str]) -> bool {
    COORDINATION_TYPES.contains(&t) || extra_non_work.contains(&t)
}

/// Whether a close reason says the work failed (trimmed, case-folded, exact).
pub fn is_failure_reason(reason: &str) -> bool {
    let folded = reason.trim().to_lowercase();
    FAILURE_REASONS.contains(&folded.as_str())
}

/// The ready order: priority, then oldest `created_at`, then id bytes.
pub fn ready_cmp(a: &Node, b: &Node) -> Ordering {
    a.priority
        .cmp(&b.priority)
        .then(a.created_at.cmp(&b.created_at))
        .then_with(|| a.id.as_bytes().cmp(b.id.as_bytes()))
}

type IdMap<'a> = HashMap<&'a str, usize>;

/// Id → index; the first node wins when an id is repeated.
fn index_by_id(nodes: &[Node]) -> IdMap<'_> {
    let mut index = IdMap::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        index.entry(node.id.as_str()).or_insert(i);
    }
    index
}

/// Children of every node as one flat list (compressed rows), in index order.
struct Children {
    start: Vec<usize>,
    list: Vec<usize>,
}

impl Children {
    fn from_parents(parent: &[Option<usize>]) -> Self {
        let n = parent.len();
        let mut start = vec![0usize; n + 1];
        for p in parent.iter().flatten() {
            start[p + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut list = vec![0usize; start[n]];
        for (child, p) in parent.iter().enumerate() {
            if let Some(p) = *p {
                list[fill[p]] = child;
                fill[p] += 1;
            }
        }
        Children { start, list }
    }

    fn of(&self, i: usize) -> &[usize] {
        &self.list[self.start[i]..self.start[i + 1]]
    }
}

/// For each node: does some proper ancestor (one or more parent steps away)
/// have `flag` set? Iterative and memoised; on a parent cycle every member is
/// an ancestor of every member, itself included.
fn ancestor_any(parent: &[Option<usize>], flag: &[bool]) -> Vec<bool> {
    const UNSEEN: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let n = parent.len();
    let mut result = vec![false; n];
    let mut state = vec![UNSEEN; n];
    let mut path: Vec<usize> = Vec::new();
    for start in 0..n {
        if state[start] != UNSEEN {
            continue;
        }
        path.clear();
        let mut cur = start;
        // Climb until the answer for the next step up is known.
        loop {
            state[cur] = ON_PATH;
            path.push(cur);
            match parent[cur] {
                None => {
                    result[cur] = false;
                    state[cur] = DONE;
                    path.pop();
                    break;
                }
                Some(p) if state[p] == DONE => break,
                Some(p) if state[p] == ON_PATH => {
                    let pos = path
                        .iter()
                        .rposition(|&k| k == p)
                        .expect("a node marked on-path is on the path");
                    let any = path[pos..].iter().any(|&k| flag[k]);
                    for &k in &path[pos..] {
                        result[k] = any;
                        state[k] = DONE;
                    }
                    path.truncate(pos);
                    break;
                }
                Some(p) => cur = p,
            }
        }
        // Every node left on the path has a parent whose answer is known.
        while let Some(k) = path.pop() {
            let p = parent[k].expect("only nodes with a parent stay on the path");
            result[k] = flag[p] || result[p];
            state[k] = DONE;
        }
    }
    result
}

/// Compute the ready and blocked sets (SPEC §3) at time `now`.
///
/// `non_work_types` are configured types that, like the coordination types,
/// are never ready. Edges to ids not in `nodes` are ignored.
pub fn analyze(nodes: &[Node], now: i64, non_work_types: &[&str]) -> Analysis {
    let n = nodes.len();
    let index = index_by_id(nodes);

    // One pass resolves every edge that matters, so each id is hashed once.
    let mut parent: Vec<Option<usize>> = Vec::with_capacity(n);
    let mut resolved: Vec<Resolved> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut best: Option<(&str, usize)> = None;
        for edge in &node.edges {
            let kind = match edge.kind.as_str() {
                PARENT_CHILD => None,
                BLOCKS => Some(Kind::Blocks),
                CONDITIONAL_BLOCKS => Some(Kind::Conditional),
                WAITS_FOR if edge.any_children => Some(Kind::WaitsAny),
                WAITS_FOR => Some(Kind::WaitsAll),
                _ => continue,
            };
            let target = edge.target.as_str();
            let Some(&t) = index.get(target) else {
                continue;
            };
            match kind {
                Some(kind) => resolved.push(Resolved {
                    from: i,
                    to: t,
                    kind,
                }),
                None if best.is_none_or(|(id, _)| target < id) => best = Some((target, t)),
                None => {}
            }
        }
        parent.push(best.map(|(_, t)| t));
    }
    drop(index);

    let children = Children::from_parents(&parent);
    let done: Vec<bool> = nodes.iter().map(|node| is_done(&node.status)).collect();
    let mut done_children = vec![0usize; n];
    for (child, p) in parent.iter().enumerate() {
        if let Some(p) = *p
            && done[child]
        {
            done_children[p] += 1;
        }
    }

    let mut blockers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &Resolved { from, to: t, kind } in &resolved {
        let list = &mut blockers[from];
        match kind {
            Kind::Blocks => {
                if !done[t] {
                    list.push(t);
                }
            }
            Kind::Conditional => {
                let target = &nodes[t];
                let failed = target.status == "closed"
                    && target
                        .close_reason
                        .as_deref()
                        .is_some_and(is_failure_reason);
                if !failed && target.status != "tombstone" {
                    list.push(t);
                }
            }
            Kind::WaitsAll | Kind::WaitsAny => {
                let kids = children.of(t);
                if kids.is_empty() {
                    if !done[t] {
                        list.push(t);
                    }
                } else if kind == Kind::WaitsAny {
                    if done_children[t] == 0 {
                        list.extend_from_slice(kids);
                    }
                } else if done_children[t] < kids.len() {
                    list.extend(kids.iter().copied().filter(|&c| !done[c]));
                }
            }
        }
    }
    for list in &mut blockers {
        if list.len() > 1 {
            list.sort_unstable();
            list.dedup();
        }
    }

    // Roots of blocking: live nodes blocked by their own edges or status.
    let root: Vec<bool> = (0..n)
        .map(|i| !done[i] && (!blockers[i].is_empty() || nodes[i].status == "blocked"))
        .collect();
    let inherited = ancestor_any(&parent, &root);
    let is_blocked: Vec<bool> = (0..n)
        .map(|i| !done[i] && (root[i] || inherited[i]))
        .collect();

    let future: Vec<bool> = nodes
        .iter()
        .map(|node| node.defer_until.is_some_and(|t| t > now))
        .collect();
    let future_ancestor = ancestor_any(&parent, &future);

    // A blocked or `blocked`-status ancestor already puts a live node in the
    // blocked set, so `is_blocked` covers those two ancestor rules.
    let ready = sorted(
        nodes,
        (0..n).filter(|&i| {
            let node = &nodes[i];
            let status_ok =
                node.status == "open" || (node.status == "deferred" && node.defer_until.is_some());
            status_ok
                && !future[i]
                && !is_coordination_type(&node.issue_type, non_work_types)
                && !node.held
                && !is_blocked[i]
                && !future_ancestor[i]
        }),
    );
    let blocked = sorted(nodes, (0..n).filter(|&i| is_blocked[i]));

    Analysis {
        ready,
        blocked,
        parent,
        blockers,
        is_blocked,
    }
}

/// The blocking kinds other than `parent-child`, which makes parents instead.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blocks,
    Conditional,
    WaitsAll,
    WaitsAny,
}

/// A blocking edge whose target exists, as indices.
struct Resolved {
    from: usize,
    to: usize,
    kind: Kind,
}

/// `indices` in ready order. Sorts compact keys (the first eight id bytes
/// included) so most comparisons never chase a pointer into the nodes.
fn sorted(nodes: &[Node], indices: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut keys: Vec<(i64, i64, u64, usize)> = indices
        .map(|i| {
            let node = &nodes[i];
            let mut prefix = [0u8; 8];
            let bytes = node.id.as_bytes();
            let len = bytes.len().min(8);
            prefix[..len].copy_from_slice(&bytes[..len]);
            (
                node.priority,
                node.created_at,
                u64::from_be_bytes(prefix),
                i,
            )
        })
        .collect();
    keys.sort_unstable_by(|a, b| {
        (a.0, a.1, a.2)
            .cmp(&(b.0, b.1, b.2))
            .then_with(|| nodes[a.3].id.as_bytes().cmp(nodes[b.3].id.as_bytes()))
            .then(a.3.cmp(&b.3))
    });
    keys.into_iter().map(|k| k.3).collect()
}

/// Indices of all descendants of node `root` through parent-child edges (for `--parent` filters),
/// excluding root.
///
/// `parent` is [`Analysis::parent`] for the same `nodes`. Sorted by index;
/// safe on parent cycles.
pub fn descendants(nodes: &[Node], parent: &[Option<usize>], root: usize) -> Vec<usize> {
    let n = nodes.len().min(parent.len());
    if root >= n {
        return Vec::new();
    }
    let children = Children::from_parents(&parent[..n]);
    let mut seen = vec![false; n];
    seen[root] = true;
    let mut out = Vec::new();
    let mut queue = vec![root];
    while let Some(v) = queue.pop() {
        for &c in children.of(v) {
            if !seen[c] {
                seen[c] = true;
                out.push(c);
                queue.push(c);
            }
        }
    }
    out.sort_unstable();
    out
}

/// Would adding edge `from -> to` of `kind` create a cycle among the blocking
/// kinds (`blocks`, `parent-child`, `conditional-blocks`, `waits-for`
/// together)? Returns the cycle as ids if so, closed and following the edges:
/// `[from, to, ..., from]`, each id depending on the next, the new edge first
/// and then the shortest existing chain from `to` back to `from`. A self-edge
/// gives `[from, from]`. Non-blocking kinds (`related`, `discovered-from`,
/// `tracks`, ...) never cycle. Unknown ids have no edges, so an edge from or
/// to one never cycles (unless it is a self-edge).
pub fn find_cycle_with(nodes: &[Node], from: &str, to: &str, kind: &str) -> Option<Vec<String>> {
    if !is_blocking_kind(kind) {
        return None;
    }
    if from == to {
        return Some(vec![from.to_string(), from.to_string()]);
    }
    let index = index_by_id(nodes);
    let (&start, &goal) = (index.get(to)?, index.get(from)?);
    // Breadth-first from `to` along existing blocking edges, looking for `from`.
    let mut came_from: Vec<Option<usize>> = vec![None; nodes.len()];
    let mut seen = vec![false; nodes.len()];
    seen[start] = true;
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for edge in &nodes[v].edges {
            if !is_blocking_kind(&edge.kind) {
                continue;
            }
            let Some(&w) = index.get(edge.target.as_str()) else {
                continue;
            };
            if seen[w] {
                continue;
            }
            seen[w] = true;
            came_from[w] = Some(v);
            if w == goal {
                // Walk back from `from` to `to`, then turn it around.
                let mut path = vec![from.to_string()];
                let mut cur = v;
                loop {
                    path.push(nodes[cur].id.clone());
                    match came_from[cur] {
                        Some(prev) => cur = prev,
                        None => break,
                    }
                }
                path.push(from.to_string());
                path.reverse();
                return Some(path);
            }
            queue.push_back(w);
        }
    }
    None
}

/// All cycles currently present among blocking kinds (each cycle reported once, as ids, starting
/// from its smallest id), deterministic order.
///
/// Each cycle is an elementary circuit, closed and following the edges:
/// `[a, b, c, a]` when a depends on b, b on c and c on a; a self-edge gives
/// `[a, a]`. Cycles are sorted by their id lists.
/// In a tangle the search stops at [`MAX_CYCLES`] or [`MAX_CYCLE_IDS`]; it
/// always reports at least one cycle when there is any.
pub fn cycles(nodes: &[Node]) -> Vec<Vec<String>> {
    let index = index_by_id(nodes);
    let adj: Vec<Vec<usize>> = nodes
        .iter()
        .map(|node| {
            let mut out: Vec<usize> = node
                .edges
                .iter()
                .filter(|e| is_blocking_kind(&e.kind))
                .filter_map(|e| index.get(e.target.as_str()).copied())
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        })
        .collect();

    let mut found: Vec<Vec<usize>> = Vec::new();
    let mut budget = Budget {
        cycles: MAX_CYCLES,
        ids: MAX_CYCLE_IDS,
    };
    let all = vec![true; nodes.len()];
    let mut local = vec![usize::MAX; nodes.len()];
    for comp in strongly_connected(&adj, &all) {
        if budget.spent() {
            break;
        }
        if comp.len() == 1 && !adj[comp[0]].contains(&comp[0]) {
            continue;
        }
        // Renumber the component in id order so Johnson's search starts each
        // circuit at its smallest id.
        let mut members = comp;
        members.sort_unstable_by(|&a, &b| nodes[a].id.as_bytes().cmp(nodes[b].id.as_bytes()));
        for (l, &g) in members.iter().enumerate() {
            local[g] = l;
        }
        let local_adj: Vec<Vec<usize>> = members
            .iter()
            .map(|&g| {
                let mut out: Vec<usize> = adj[g]
                    .iter()
                    .map(|&w| local[w])
                    .filter(|&l| l != usize::MAX)
                    .collect();
                out.sort_unstable();
                out
            })
            .collect();
        for &g in &members {
            local[g] = usize::MAX;
        }
        for circuit in elementary_circuits(&local_adj, &mut budget) {
            found.push(circuit.into_iter().map(|l| members[l]).collect());
        }
    }

    let mut out: Vec<Vec<String>> = found
        .into_iter()
        .map(|circuit| {
            let mut ids = Vec::with_capacity(circuit.len() + 1);
            ids.extend(circuit.iter().map(|&v| nodes[v].id.clone()));
            ids.push(nodes[circuit[0]].id.clone());
            ids
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Tarjan's strongly connected components of the subgraph of `active`
/// vertices, without recursion.
fn strongly_connected(adj: &[Vec<usize>], active: &[bool]) -> Vec<Vec<usize>> {
    const UNVISITED: usize = usize::MAX;
    let n = adj.len();
    let mut order = vec![UNVISITED; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut calls: Vec<(usize, usize)> = Vec::new();
    let mut counter = 0usize;
    let mut comps = Vec::new();
    for root in 0..n {
        if !active[root] || order[root] != UNVISITED {
            continue;
        }
        order[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        calls.push((root, 0));
        while let Some(&(v, next)) = calls.last() {
            if let Some(&w) = adj[v].get(next) {
                if let Some(top) = calls.last_mut() {
                    top.1 += 1;
                }
                if !active[w] {
                    continue;
                }
                if order[w] == UNVISITED {
                    order[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(order[w]);
                }
            } else {
                calls.pop();
                if let Some(&(u, _)) = calls.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == order[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    comps.push(comp);
                }
            }
        }
    }
    comps
}

/// Johnson's elementary circuits of a graph whose vertices are numbered in
/// the order circuits should start from, without recursion. Each circuit is
/// listed along its edges from its smallest vertex. Stops when `budget` is
/// spent.
fn elementary_circuits(adj: &[Vec<usize>], budget: &mut Budget) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut out = Vec::new();
    let mut active = vec![true; n];
    let mut in_comp = vec![false; n];
    let mut blocked = vec![false; n];
    let mut block_map: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut s = 0;
    while s < n && !budget.spent() {
        // The component with the least vertex among vertices >= s that holds a circuit.
        let comp = strongly_connected(adj, &active)
            .into_iter()
            .filter(|c| c.len() > 1 || adj[c[0]].contains(&c[0]))
            .min_by_key(|c| c.iter().copied().min().unwrap_or(usize::MAX));
        let Some(comp) = comp else {
            break;
        };
        s = comp.iter().copied().min().unwrap_or(s);
        for a in active.iter_mut().take(s) {
            *a = false;
        }
        for &v in &comp {
            in_comp[v] = true;
            blocked[v] = false;
            block_map[v].clear();
        }

        let mut path = vec![s];
        // Frames: (vertex, next edge to try, found a circuit below).
        let mut frames: Vec<(usize, usize, bool)> = vec![(s, 0, false)];
        blocked[s] = true;
        while let Some(&(v, next, found)) = frames.last() {
            if let Some(&w) = adj[v].get(next) {
                if let Some(top) = frames.last_mut() {
                    top.1 += 1;
                }
                if !in_comp[w] {
                    continue;
                }
                if w == s {
                    budget.take(path.len());
                    out.push(path.clone());
                    if let Some(top) = frames.last_mut() {
                        top.2 = true;
                    }
                    if budget.spent() {
                        return out;
                    }
                } else if !blocked[w] {
                    blocked[w] = true;
                    path.push(w);
                    frames.push((w, 0, false));
                }
            } else {
                if found {
                    unblock(v, &mut blocked, &mut block_map);
                } else {
                    for &w in &adj[v] {
                        if in_comp[w] && !block_map[w].contains(&v) {
                            block_map[w].push(v);
                        }
                    }
                }
                path.pop();
                frames.pop();
                if found && let Some(top) = frames.last_mut() {
                    top.2 = true;
                }
            }
        }

        for &v in &comp {
            in_comp[v] = false;
        }
        active[s] = false;
        s += 1;
    }
    out
}

/// What is left of [`cycles`]' search: cycles and ids still to report.
struct Budget {
    cycles: usize,
    ids: usize,
}

impl Budget {
    fn spent(&self) -> bool {
        self.cycles == 0 || self.ids == 0
    }

    fn take(&mut self, ids: usize) {
        self.cycles = self.cycles.saturating_sub(1);
        self.ids = self.ids.saturating_sub(ids);
    }
}

fn unblock(u: usize, blocked: &mut [bool], block_map: &mut [Vec<usize>]) {
    let mut stack = vec![u];
    while let Some(x) = stack.pop() {
        blocked[x] = false;
        for w in std::mem::take(&mut block_map[x]) {
            if blocked[w] {
                stack.push(w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn node(id: &str) -> Node {
        Node {
            id: id.to_string(),
            status: "open".to_string(),
            issue_type: "task".to_string(),
            priority: 2,
            ..Node::default()
        }
    }

    fn with(mut n: Node, f: impl FnOnce(&mut Node)) -> Node {
        f(&mut n);
        n
    }

    fn status(id: &str, status: &str) -> Node {
        with(node(id), |n| n.status = status.to_string())
    }

    fn closed(id: &str, reason: &str) -> Node {
        with(node(id), |n| {
            n.status = "closed".to_string();
            n.close_reason = Some(reason.to_string());
        })
    }

    fn edge(mut n: Node, kind: &str, target: &str) -> Node {
        n.edges.push(Edge {
            target: target.to_string(),
            kind: kind.to_string(),
            any_children: false,
        });
        n
    }

    fn waits_any(mut n: Node, target: &str) -> Node {
        n.edges.push(Edge {
            target: target.to_string(),
            kind: WAITS_FOR.to_string(),
            any_children: true,
        });
        n
    }

    fn ids(nodes: &[Node], idx: &[usize]) -> Vec<String> {
        idx.iter().map(|&i| nodes[i].id.clone()).collect()
    }

    fn ready(nodes: &[Node]) -> Vec<String> {
        ids(nodes, &analyze(nodes, NOW, &[]).ready)
    }

    fn blocked(nodes: &[Node]) -> Vec<String> {
        ids(nodes, &analyze(nodes, NOW, &[]).blocked)
    }

    #[test]
    fn blocks_edge_blocks_until_target_done() {
        for (target_status, is_blocked) in [
            ("open", true),
            ("in_progress", true),
            ("blocked", true),
            ("closed", false),
            ("tombstone", false),
        ] {
            let nodes = vec![edge(node("a"), BLOCKS, "b"), status("b", target_status)];
            let a = analyze(&nodes, NOW, &[]);
            assert_eq!(a.is_blocked[0], is_blocked, "target {target_status}");
            assert_eq!(a.blockers[0].is_empty(), !is_blocked);
            assert_eq!(a.ready.contains(&0), !is_blocked);
        }
    }

    #[test]
    fn done_nodes_are_never_blocked() {
        let nodes = vec![
            edge(status("a", "closed"), BLOCKS, "b"),
            edge(status("c", "tombstone"), BLOCKS, "b"),
            node("b"),
        ];
        let a = analyze(&nodes, NOW, &[]);
        assert!(a.blocked.is_empty());
        assert_eq!(a.blockers[0], vec![2]);
    }

    #[test]
    fn blocked_status_is_blocked_without_edges() {
        let nodes = vec![status("a", "blocked")];
        assert_eq!(blocked(&nodes), ["a"]);
        assert!(ready(&nodes).is_empty());
    }

    #[test]
    fn conditional_blocks_releases_only_on_failure() {
        let cases = [
            (status("b", "open"), true),
            (closed("b", "done"), true),
            (closed("b", "Fixed in abc"), true),
            (closed("b", "failed"), false),
            (closed("b", "  Won't Fix "), false),
            (closed("b", "CANCELLED"), false),
            (closed("b", "failed: tests broke"), true),
            (with(status("b", "closed"), |n| n.close_reason = None), true),
            (status("b", "tombstone"), false),
        ];
        for (target, is_blocked) in cases {
            let label = format!("{target:?}");
            let nodes = vec![edge(node("a"), CONDITIONAL_BLOCKS, "b"), target];
            let a = analyze(&nodes, NOW, &[]);
            assert_eq!(a.is_blocked[0], is_blocked, "{label}");
        }
    }

    #[test]
    fn failure_reasons() {
        for r in FAILURE_REASONS {
            assert!(is_failure_reason(r));
            assert!(is_failure_reason(&format!(" {} ", r.to_uppercase())));
        }
        assert!(!is_failure_reason("done"));
        assert!(!is_failure_reason(""));
        assert!(!is_failure_reason("failed twice"));
    }

    #[test]
    fn waits_for_all_children() {
        let spawner = node("s");
        let c1 = edge(closed("s.1", "done"), PARENT_CHILD, "s");
        let c2 = edge(node("s.2"), PARENT_CHILD, "s");
        let nodes = vec![
            edge(node("w"), WAITS_FOR, "s"),
            spawner.clone(),
            c1.clone(),
            c2,
        ];
        let a = analyze(&nodes, NOW, &[]);
        assert!(a.is_blocked[0]);
        assert_eq!(a.blockers[0], vec![3]);

        let c2_done = edge(closed("s.2", "done"), PARENT_CHILD, "s");
        let nodes = vec![edge(node("w"), WAITS_FOR, "s"), spawner, c1, c2_done];
        assert_eq!(ready(&nodes), ["s", "w"]);
    }

    #[test]
    fn waits_for_any_child() {
        let open1 = edge(node("s.1"), PARENT_CHILD, "s");
        let open2 = edge(node("s.2"), PARENT_CHILD, "s");
        let nodes = vec![waits_any(node("w"), "s"), node("s"), open1.clone(), open2];
        let a = analyze(&nodes, NOW, &[]);
        assert!(a.is_blocked[0]);
        assert_eq!(a.blockers[0], vec![2, 3]);

        let done2 = edge(closed("s.2", "failed"), PARENT_CHILD, "s");
        let nodes = vec![waits_any(node("w"), "s"), node("s"), open1, done2];
        assert!(!analyze(&nodes, NOW, &[]).is_blocked[0]);
    }

    #[test]
    fn waits_for_childless_spawner_waits_for_spawner() {
        let nodes = vec![edge(node("w"), WAITS_FOR, "s"), node("s")];
        assert_eq!(blocked(&nodes), ["w"]);
        let nodes = vec![waits_any(node("w"), "s"), status("s", "closed")];
        assert_eq!(ready(&nodes), ["w"]);
    }

    #[test]
    fn blocking_is_inherited_down_parent_chains() {
        let nodes = vec![
            edge(node("epic"), BLOCKS, "x"),
            node("x"),
            edge(node("epic.1"), PARENT_CHILD, "epic"),
            edge(node("epic.1.1"), PARENT_CHILD, "epic.1"),
            edge(status("epic.2", "closed"), PARENT_CHILD, "epic"),
            edge(node("epic.2.1"), PARENT_CHILD, "epic.2"),
        ];
        let a = analyze(&nodes, NOW, &[]);
        assert_eq!(
            ids(&nodes, &a.blocked),
            ["epic", "epic.1", "epic.1.1", "epic.2.1"]
        );
        assert_eq!(ids(&nodes, &a.ready), ["x"]);
        // Inherited blocking is not direct.
        assert!(a.blockers[2].is_empty());
        assert_eq!(a.parent[3], Some(2));
    }

    #[test]
    fn blocked_status_ancestor_blocks_descendants() {
        let nodes = vec![status("p", "blocked"), edge(node("p.1"), PARENT_CHILD, "p")];
        assert_eq!(blocked(&nodes), ["p", "p.1"]);
        assert!(ready(&nodes).is_empty());
    }

    #[test]
    fn deferred_past_and_future() {
        let nodes = vec![
            with(status("past", "deferred"), |n| {
                n.defer_until = Some(NOW - 1)
            }),
            with(status("now", "deferred"), |n| n.defer_until = Some(NOW)),
            with(status("future", "deferred"), |n| {
                n.defer_until = Some(NOW + 1)
            }),
            status("forever", "deferred"),
            with(node("open-future"), |n| n.defer_until = Some(NOW + 1)),
            with(node("open-past"), |n| n.defer_until = Some(NOW - 1)),
        ];
        assert_eq!(ready(&nodes), ["now", "open-past", "past"]);
        assert!(blocked(&nodes).is_empty());
    }

    #[test]
    fn future_deferred_ancestor_hides_descendants_without_blocking_them() {
        let nodes = vec![
            with(node("p"), |n| n.defer_until = Some(NOW + 5)),
            edge(node("p.1"), PARENT_CHILD, "p"),
            edge(node("p.1.1"), PARENT_CHILD, "p.1"),
            with(node("q"), |n| n.defer_until = Some(NOW - 5)),
            edge(node("q.1"), PARENT_CHILD, "q"),
        ];
        assert_eq!(ready(&nodes), ["q", "q.1"]);
        assert!(blocked(&nodes).is_empty());
    }

    #[test]
    fn containers_are_not_claimable_unless_asked() {
        for t in CONTAINER_TYPES {
            assert!(!is_claimable(t, false), "{t}");
            assert!(is_claimable(t, true), "{t}");
        }
        for t in ["task", "bug", "feature", "chore", "decision"] {
            assert!(is_claimable(t, false), "{t}");
        }
    }

    #[test]
    fn coordination_and_non_work_types_are_never_ready() {
        let mut nodes: Vec<Node> = COORDINATION_TYPES
            .iter()
            .map(|t| with(node(t), |n| n.issue_type = t.to_string()))
            .collect();
        nodes.push(with(node("chore"), |n| n.issue_type = "chore".into()));
        nodes.push(with(node("note"), |n| n.issue_type = "note".into()));
        let a = analyze(&nodes, NOW, &["note"]);
        assert_eq!(ids(&nodes, &a.ready), ["chore"]);
        assert!(is_coordination_type("gate", &[]));
        assert!(!is_coordination_type("Gate", &[]));
        assert!(is_coordination_type("note", &["note"]));
    }

    #[test]
    fn held_and_other_statuses_are_not_ready() {
        let nodes = vec![
            with(node("held"), |n| n.held = true),
            status("wip", "in_progress"),
            status("hooked", "hooked"),
            status("pinned", "pinned"),
            status("weird", "someday"),
            node("free"),
        ];
        assert_eq!(ready(&nodes), ["free"]);
        assert!(blocked(&nodes).is_empty());
    }

    #[test]
    fn ready_order_is_priority_then_age_then_id() {
        let nodes = vec![
            with(node("d"), |n| {
                n.priority = 1;
                n.created_at = 50;
            }),
            with(node("c"), |n| {
                n.priority = 1;
                n.created_at = 10;
            }),
            with(node("b"), |n| {
                n.priority = 0;
                n.created_at = 99;
            }),
            with(node("a"), |n| {
                n.priority = 1;
                n.created_at = 50;
            }),
            with(node("B"), |n| {
                n.priority = 1;
                n.created_at = 50;
            }),
        ];
        assert_eq!(ready(&nodes), ["b", "c", "B", "a", "d"]);
    }

    #[test]
    fn dangling_edges_are_ignored() {
        let nodes = vec![
            edge(node("a"), BLOCKS, "ext:other-1"),
            edge(node("b"), PARENT_CHILD, "gone"),
            edge(node("c"), WAITS_FOR, "gone"),
            edge(node("d"), CONDITIONAL_BLOCKS, "gone"),
        ];
        let a = analyze(&nodes, NOW, &[]);
        assert_eq!(ids(&nodes, &a.ready), ["a", "b", "c", "d"]);
        assert_eq!(a.parent, vec![None; 4]);
    }

    #[test]
    fn parent_is_smallest_existing_target() {
        let nodes = vec![
            edge(
                edge(edge(node("c"), PARENT_CHILD, "z"), PARENT_CHILD, "a"),
                PARENT_CHILD,
                "b",
            ),
            node("z"),
            node("b"),
        ];
        assert_eq!(analyze(&nodes, NOW, &[]).parent[0], Some(2));
    }

    #[test]
    fn parent_cycles_in_data_terminate() {
        let nodes = vec![
            edge(node("a"), PARENT_CHILD, "b"),
            edge(node("b"), PARENT_CHILD, "c"),
            edge(status("c", "blocked"), PARENT_CHILD, "a"),
            edge(node("d"), PARENT_CHILD, "a"),
            edge(node("self"), PARENT_CHILD, "self"),
        ];
        let a = analyze(&nodes, NOW, &[]);
        assert_eq!(ids(&nodes, &a.blocked), ["a", "b", "c", "d"]);
        assert_eq!(ids(&nodes, &a.ready), ["self"]);
        let mut d = ids(&nodes, &descendants(&nodes, &a.parent, 0));
        d.sort();
        assert_eq!(d, ["b", "c", "d"]);
        assert!(descendants(&nodes, &a.parent, 4).is_empty());
    }

    #[test]
    fn deep_chain_does_not_recurse() {
        let n = 200_000;
        let mut nodes: Vec<Node> = (0..n)
            .map(|i| {
                let mut x = node(&format!("n{i}"));
                if i > 0 {
                    x = edge(x, PARENT_CHILD, &format!("n{}", i - 1));
                }
                x
            })
            .collect();
        nodes[0].status = "blocked".into();
        // Close the chain into one huge cycle too.
        nodes[0] = edge(nodes[0].clone(), BLOCKS, &format!("n{}", n - 1));
        let a = analyze(&nodes, NOW, &[]);
        assert_eq!(a.blocked.len(), n);
        assert_eq!(descendants(&nodes, &a.parent, 0).len(), n - 1);
        let c = cycles(&nodes);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].len(), n + 1);
        let path = find_cycle_with(&nodes, &format!("n{}", n - 1), "n5", BLOCKS);
        assert!(path.is_some());
    }

    #[test]
    fn descendants_through_parent_edges() {
        let nodes = vec![
            node("e"),
            edge(node("e.1"), PARENT_CHILD, "e"),
            edge(node("e.1.1"), PARENT_CHILD, "e.1"),
            edge(node("e.2"), PARENT_CHILD, "e"),
            edge(node("x"), BLOCKS, "e"),
        ];
        let a = analyze(&nodes, NOW, &[]);
        assert_eq!(descendants(&nodes, &a.parent, 0), vec![1, 2, 3]);
        assert_eq!(descendants(&nodes, &a.parent, 1), vec![2]);
        assert!(descendants(&nodes, &a.parent, 99).is_empty());
    }

    #[test]
    fn find_cycle_self_edge() {
        assert_eq!(
            find_cycle_with(&[node("a")], "a", "a", BLOCKS),
            Some(vec!["a".to_string(), "a".to_string()])
        );
        assert_eq!(find_cycle_with(&[node("a")], "a", "a", "related"), None);
    }

    #[test]
    fn find_cycle_two_cycle() {
        let nodes = vec![edge(node("a"), BLOCKS, "b"), node("b")];
        // a depends on b; b depending on a closes the loop.
        assert_eq!(
            find_cycle_with(&nodes, "b", "a", WAITS_FOR),
            Some(vec!["b".to_string(), "a".to_string(), "b".to_string()])
        );
        assert_eq!(find_cycle_with(&nodes, "a", "b", BLOCKS), None);
        assert_eq!(find_cycle_with(&nodes, "b", "a", "related"), None);
        assert_eq!(find_cycle_with(&nodes, "b", "a", "discovered-from"), None);
    }

    #[test]
    fn find_cycle_reparent_under_descendant() {
        let nodes = vec![
            node("e"),
            edge(node("e.1"), PARENT_CHILD, "e"),
            edge(node("e.1.1"), PARENT_CHILD, "e.1"),
        ];
        assert_eq!(
            find_cycle_with(&nodes, "e", "e.1.1", PARENT_CHILD),
            Some(vec!["e".into(), "e.1.1".into(), "e.1".into(), "e".into()])
        );
        assert_eq!(find_cycle_with(&nodes, "e.1.1", "e", PARENT_CHILD), None);
    }

    #[test]
    fn find_cycle_mixes_kinds_and_ignores_non_blocking_edges() {
        let nodes = vec![
            edge(node("a"), BLOCKS, "b"),
            edge(node("b"), CONDITIONAL_BLOCKS, "c"),
            edge(edge(node("c"), "related", "a"), "tracks", "a"),
        ];
        assert_eq!(find_cycle_with(&nodes, "c", "d", BLOCKS), None);
        assert_eq!(find_cycle_with(&nodes, "x", "a", BLOCKS), None);
        assert_eq!(
            find_cycle_with(&nodes, "c", "a", PARENT_CHILD),
            Some(vec!["c".into(), "a".into(), "b".into(), "c".into()])
        );
        assert!(cycles(&nodes).is_empty());
    }

    #[test]
    fn cycles_lists_each_circuit_once_from_smallest_id() {
        let nodes = vec![
            edge(edge(node("c"), BLOCKS, "a"), PARENT_CHILD, "a"),
            edge(node("a"), BLOCKS, "b"),
            edge(edge(node("b"), WAITS_FOR, "c"), BLOCKS, "a"),
            edge(node("z"), BLOCKS, "z"),
            edge(node("y"), "related", "y"),
        ];
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            cycles(&nodes),
            vec![
                s(&["a", "b", "a"]),
                s(&["a", "b", "c", "a"]),
                s(&["z", "z"])
            ]
        );
    }

    #[test]
    fn cycles_empty_for_dag() {
        let nodes = vec![
            edge(node("a"), BLOCKS, "b"),
            edge(node("b"), BLOCKS, "c"),
            edge(node("a"), BLOCKS, "c"),
            node("c"),
        ];
        assert!(cycles(&nodes).is_empty());
    }

    #[test]
    fn cycles_are_capped() {
        // A complete digraph on 9 vertices has far more than MAX_CYCLES circuits.
        let names: Vec<String> = (0..9).map(|i| format!("k{i}")).collect();
        let nodes: Vec<Node> = names
            .iter()
            .map(|a| {
                names
                    .iter()
                    .filter(|b| *b != a)
                    .fold(node(a), |n, b| edge(n, BLOCKS, b))
            })
            .collect();
        assert_eq!(cycles(&nodes).len(), MAX_CYCLES);
    }

    #[test]
    fn cycles_stop_at_the_id_budget_in_a_tangle_of_long_cycles() {
        // A ring of 2000 with a chord skipping every other vertex: 2^1000
        // circuits, each about a thousand ids long.
        let n = 2000;
        let name = |i: usize| format!("r{:04}", i % n);
        let nodes: Vec<Node> = (0..n)
            .map(|i| {
                let x = edge(node(&name(i)), BLOCKS, &name(i + 1));
                if i % 2 == 0 {
                    edge(x, BLOCKS, &name(i + 2))
                } else {
                    x
                }
            })
            .collect();
        let found = cycles(&nodes);
        assert!(!found.is_empty() && found.len() < MAX_CYCLES);
        let total: usize = found.iter().map(|c| c.len() - 1).sum();
        assert!(
            total >= MAX_CYCLE_IDS && total <= MAX_CYCLE_IDS + n,
            "{total}"
        );
        assert!(found.iter().all(|c| c[0] == "r0000"));
    }

    #[test]
    fn the_lease_rule() {
        let s = 1_000_000_000;
        assert!(is_lapsed(None, 100 * s, 60));
        assert!(!is_lapsed(Some(50 * s), 100 * s, 60));
        assert!(
            !is_lapsed(Some(40 * s), 100 * s, 60),
            "exactly the lease is not past it"
        );
        assert!(is_lapsed(Some(39 * s), 100 * s, 60));
        assert!(
            !is_lapsed(Some(200 * s), 100 * s, 60),
            "a sign from the future is alive"
        );
        assert!(!is_lapsed(Some(0), 100 * s, u64::MAX));
    }

    #[test]
    fn analyze_handles_a_large_graph() {
        let n = 100_000;
        let nodes: Vec<Node> = (0..n)
            .map(|i| {
                let mut x = node(&format!("bd-{i:05}"));
                x.priority = (i % 5) as i64;
                x.created_at = (i * 7919 % 1000) as i64;
                if i % 10 == 0 && i > 0 {
                    x = edge(x, PARENT_CHILD, &format!("bd-{:05}", i / 10));
                }
                x = edge(x, BLOCKS, &format!("bd-{:05}", (i * 31 + 7) % n));
                edge(x, WAITS_FOR, &format!("bd-{:05}", (i * 17 + 3) % n))
            })
            .collect();
        // Speed is measured in bench/, never asserted here: this checks that
        // a graph this size is analyzed whole (no recursion limit hit).
        let a = analyze(&nodes, NOW, &[]);
        assert_eq!(a.parent.len(), n);
    }
}

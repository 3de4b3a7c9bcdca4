//! Property tests for `model::graph`: `analyze` against a deliberately naive
//! reference model written from SPEC §3, and the cycle functions against
//! brute-force search. The reference shares no code with the module: linear
//! id lookups, fixpoint iteration, exhaustive path enumeration.

use proptest::prelude::*;
use strand::model::graph::*;

const NOW: i64 = 1_000;
const STATUSES: [&str; 7] = [
    "open",
    "in_progress",
    "blocked",
    "deferred",
    "closed",
    "tombstone",
    "hooked",
];
const TYPES: [&str; 8] = [
    "task", "bug", "epic", "feature", "convoy", "gate", "message", "note",
];
const NON_WORK: [&str; 1] = ["note"];
const KINDS: [&str; 5] = [
    "blocks",
    "parent-child",
    "conditional-blocks",
    "waits-for",
    "related",
];
/// Every kind `find_cycle_with` is asked about, two that never block included.
const EDGE_KINDS: [&str; 6] = [
    "blocks",
    "parent-child",
    "conditional-blocks",
    "waits-for",
    "related",
    "tracks",
];
const REASONS: [Option<&str>; 7] = [
    None,
    Some("done"),
    Some("failed"),
    Some("Won't Fix"),
    Some(" REJECTED "),
    Some("fixed it"),
    Some("timeout"),
];

// ---------------------------------------------------------------- generators

type NodeSeed = (usize, usize, i64, i64, usize, usize, bool);
type EdgeSeed = (usize, usize, usize, bool);

fn id_of(i: usize) -> String {
    // Scrambled so id order differs from index order.
    format!("x{}", (i * 7) % 100)
}

fn build(seeds: Vec<NodeSeed>, edges: Vec<EdgeSeed>, dag: bool) -> Vec<Node> {
    let n = seeds.len();
    let mut nodes: Vec<Node> = seeds
        .into_iter()
        .enumerate()
        .map(
            |(i, (st, ty, priority, created, defer, reason, held))| Node {
                id: id_of(i),
                status: STATUSES[st].to_string(),
                issue_type: TYPES[ty].to_string(),
                priority,
                created_at: created,
                defer_until: match defer {
                    0 => None,
                    1 => Some(NOW - 10),
                    2 => Some(NOW),
                    _ => Some(NOW + 10),
                },
                close_reason: REASONS[reason].map(str::to_string),
                held,
                edges: Vec::new(),
            },
        )
        .collect();
    for (from, to, kind, any_children) in edges {
        let kind = KINDS[kind];
        if dag && kind != "related" && to < n && to >= from {
            continue;
        }
        let target = if to < n {
            id_of(to)
        } else {
            format!("ext-{to}")
        };
        nodes[from].edges.push(Edge {
            target,
            kind: kind.to_string(),
            any_children,
        });
    }
    nodes
}

fn arb_graph(
    max_nodes: usize,
    max_edges_per_node: usize,
    dag: bool,
) -> impl Strategy<Value = Vec<Node>> {
    (2..=max_nodes)
        .prop_flat_map(move |n| {
            let node = (
                0..STATUSES.len(),
                0..TYPES.len(),
                0..=4i64,
                0..4i64,
                0..4usize,
                0..REASONS.len(),
                prop::bool::weighted(0.1),
            );
            let edge = (0..n, 0..n + 2, 0..KINDS.len(), any::<bool>());
            (
                prop::collection::vec(node, n),
                prop::collection::vec(edge, 0..=max_edges_per_node * n),
            )
        })
        .prop_map(move |(seeds, edges)| build(seeds, edges, dag))
}

// ---------------------------------------------------------- reference model

fn find(nodes: &[Node], id: &str) -> Option<usize> {
    nodes.iter().position(|n| n.id == id)
}

fn done(node: &Node) -> bool {
    matches!(node.status.as_str(), "closed" | "tombstone")
}

fn failure(reason: &str) -> bool {
    let r = reason.trim().to_lowercase();
    [
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
    ]
    .iter()
    .any(|w| *w == r)
}

fn coordination(t: &str) -> bool {
    [
        "convoy",
        "message",
        "agent",
        "molecule",
        "gate",
        "event",
        "merge-request",
        "role",
        "rig",
    ]
    .contains(&t)
        || NON_WORK.contains(&t)
}

fn ref_parent(nodes: &[Node], i: usize) -> Option<usize> {
    let mut best: Option<&str> = None;
    for e in &nodes[i].edges {
        if e.kind == "parent-child"
            && find(nodes, &e.target).is_some()
            && (best.is_none() || e.target.as_str() < best.unwrap())
        {
            best = Some(&e.target);
        }
    }
    best.and_then(|id| find(nodes, id))
}

/// Least fixpoint of "my parent is in `set` or has an ancestor in it".
fn ancestor_in(parent: &[Option<usize>], set: &[bool]) -> Vec<bool> {
    let mut has = vec![false; parent.len()];
    loop {
        let mut changed = false;
        for i in 0..parent.len() {
            if let Some(p) = parent[i]
                && !has[i]
                && (set[p] || has[p])
            {
                has[i] = true;
                changed = true;
            }
        }
        if !changed {
            return has;
        }
    }
}

struct Reference {
    parent: Vec<Option<usize>>,
    blockers: Vec<Vec<usize>>,
    blocked: Vec<bool>,
    ready: Vec<usize>,
}

fn reference(nodes: &[Node]) -> Reference {
    let n = nodes.len();
    let parent: Vec<Option<usize>> = (0..n).map(|i| ref_parent(nodes, i)).collect();
    let children = |s: usize| -> Vec<usize> { (0..n).filter(|&c| parent[c] == Some(s)).collect() };

    let mut blockers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        for e in &nodes[i].edges {
            let Some(t) = find(nodes, &e.target) else {
                continue;
            };
            let target = &nodes[t];
            match e.kind.as_str() {
                "blocks" if !done(target) => blockers[i].push(t),
                "conditional-blocks" => {
                    let failed = target.status == "closed"
                        && target.close_reason.as_deref().map(failure).unwrap_or(false);
                    if !failed && target.status != "tombstone" {
                        blockers[i].push(t);
                    }
                }
                "waits-for" => {
                    let kids = children(t);
                    if kids.is_empty() {
                        if !done(target) {
                            blockers[i].push(t);
                        }
                    } else if e.any_children {
                        if !kids.iter().any(|&c| done(&nodes[c])) {
                            blockers[i].extend(kids);
                        }
                    } else {
                        blockers[i].extend(kids.into_iter().filter(|&c| !done(&nodes[c])));
                    }
                }
                _ => {}
            }
        }
        blockers[i].sort();
        blockers[i].dedup();
    }

    let root: Vec<bool> = (0..n)
        .map(|i| !done(&nodes[i]) && (!blockers[i].is_empty() || nodes[i].status == "blocked"))
        .collect();
    let inherited = ancestor_in(&parent, &root);
    let blocked: Vec<bool> = (0..n)
        .map(|i| !done(&nodes[i]) && (root[i] || inherited[i]))
        .collect();

    let bad_ancestor_mark: Vec<bool> = (0..n)
        .map(|i| {
            let x = &nodes[i];
            x.status == "blocked" || x.defer_until.map(|t| t > NOW).unwrap_or(false) || blocked[i]
        })
        .collect();
    let bad_ancestor = ancestor_in(&parent, &bad_ancestor_mark);

    let mut ready: Vec<usize> = (0..n)
        .filter(|&i| {
            let x = &nodes[i];
            let status_ok = x.status == "open"
                || (x.status == "deferred" && x.defer_until.map(|t| t <= NOW).unwrap_or(false));
            let defer_ok = x.defer_until.map(|t| t <= NOW).unwrap_or(true);
            status_ok
                && defer_ok
                && !coordination(&x.issue_type)
                && !x.held
                && !blocked[i]
                && !bad_ancestor[i]
        })
        .collect();
    ready.sort_by(|&a, &b| {
        let (x, y) = (&nodes[a], &nodes[b]);
        (x.priority, x.created_at, x.id.as_bytes()).cmp(&(
            y.priority,
            y.created_at,
            y.id.as_bytes(),
        ))
    });

    Reference {
        parent,
        blockers,
        blocked,
        ready,
    }
}

// ------------------------------------------------------ cycle brute force

fn blocking(kind: &str) -> bool {
    matches!(
        kind,
        "blocks" | "parent-child" | "conditional-blocks" | "waits-for"
    )
}

/// Does `a` have a blocking edge to an existing node `b`?
fn has_edge(nodes: &[Node], a: usize, b: usize) -> bool {
    nodes[a]
        .edges
        .iter()
        .any(|e| blocking(&e.kind) && e.target == nodes[b].id)
}

/// Kahn: peel nodes without outgoing blocking edges to remaining nodes.
fn has_cycle(nodes: &[Node]) -> bool {
    let n = nodes.len();
    let mut alive = vec![true; n];
    loop {
        let sink = (0..n).find(|&a| alive[a] && !(0..n).any(|b| alive[b] && has_edge(nodes, a, b)));
        match sink {
            Some(a) => alive[a] = false,
            None => return alive.iter().any(|&x| x),
        }
    }
}

fn reaches(nodes: &[Node], from: usize, goal: usize) -> bool {
    let mut seen = vec![false; nodes.len()];
    let mut stack = vec![from];
    while let Some(v) = stack.pop() {
        if v == goal {
            return true;
        }
        if seen[v] {
            continue;
        }
        seen[v] = true;
        stack.extend((0..nodes.len()).filter(|&w| has_edge(nodes, v, w)));
    }
    false
}

/// Every elementary circuit, closed, along the edges, from its
/// smallest id: DFS from each start through larger ids only.
fn all_circuits(nodes: &[Node]) -> Vec<Vec<String>> {
    let n = nodes.len();
    let mut out = Vec::new();
    for s in 0..n {
        let mut path = vec![s];
        walk(nodes, s, &mut path, &mut out);
    }
    out.sort();
    out
}

fn walk(nodes: &[Node], s: usize, path: &mut Vec<usize>, out: &mut Vec<Vec<String>>) {
    let v = *path.last().unwrap();
    for w in 0..nodes.len() {
        if !has_edge(nodes, v, w) {
            continue;
        }
        if w == s {
            let mut ids = vec![nodes[s].id.clone()];
            ids.extend(path[1..].iter().map(|&k| nodes[k].id.clone()));
            ids.push(nodes[s].id.clone());
            out.push(ids);
        } else if nodes[w].id > nodes[s].id && !path.contains(&w) {
            path.push(w);
            walk(nodes, s, path, out);
            path.pop();
        }
    }
}

/// Consecutive ids (a, b) must mean "a has a blocking edge to b".
fn assert_edge_path(nodes: &[Node], path: &[String]) {
    for pair in path.windows(2) {
        let a = find(nodes, &pair[0]).expect("path ids exist");
        let b = find(nodes, &pair[1]).expect("path ids exist");
        assert!(
            has_edge(nodes, a, b),
            "{} has no blocking edge to {} in {path:?}",
            pair[0],
            pair[1]
        );
    }
}

// --------------------------------------------------------------- properties

fn edge_to(target: &str, kind: &str) -> Edge {
    Edge {
        target: target.to_string(),
        kind: kind.to_string(),
        any_children: false,
    }
}

fn name_in(nodes: &[Node], i: usize) -> String {
    if i < nodes.len() {
        nodes[i].id.clone()
    } else {
        format!("new-{i}")
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn analyze_matches_reference(nodes in arb_graph(40, 3, false)) {
        let got = analyze(&nodes, NOW, &NON_WORK);
        let want = reference(&nodes);

        let names = |v: &[usize]| v.iter().map(|&i| nodes[i].id.clone()).collect::<Vec<_>>();
        prop_assert_eq!(names(&got.ready), names(&want.ready));
        let want_blocked: Vec<usize> = (0..nodes.len()).filter(|&i| want.blocked[i]).collect();
        let mut got_blocked = got.blocked.clone();
        got_blocked.sort();
        prop_assert_eq!(got_blocked, want_blocked);
        prop_assert_eq!(&got.is_blocked, &want.blocked);
        prop_assert_eq!(&got.parent, &want.parent);
        prop_assert_eq!(&got.blockers, &want.blockers);

        // The blocked list is in ready order too.
        for pair in got.blocked.windows(2) {
            prop_assert!(ready_cmp(&nodes[pair[0]], &nodes[pair[1]]).is_le());
        }
        for &i in &got.ready {
            prop_assert!(!got.is_blocked[i]);
            prop_assert!(!got.blocked.contains(&i));
            prop_assert!(matches!(nodes[i].status.as_str(), "open" | "deferred"));
        }
    }

    #[test]
    fn cycles_exist_exactly_when_kahn_finds_one(nodes in arb_graph(40, 2, false)) {
        let found = cycles(&nodes);
        prop_assert_eq!(found.is_empty(), !has_cycle(&nodes));
        for c in &found {
            prop_assert!(c.len() >= 2);
            prop_assert_eq!(c.first(), c.last());
            let body = &c[..c.len() - 1];
            prop_assert!(body.iter().all(|id| *id >= body[0]));
            let mut uniq = body.to_vec();
            uniq.sort();
            uniq.dedup();
            prop_assert_eq!(uniq.len(), body.len());
            assert_edge_path(&nodes, c);
        }
    }

    #[test]
    fn cycles_match_brute_force(nodes in arb_graph(8, 2, false)) {
        let want = all_circuits(&nodes);
        prop_assume!(want.len() < MAX_CYCLES);
        prop_assert_eq!(cycles(&nodes), want);
    }

    #[test]
    fn find_cycle_with_predicts_new_cycles(
        nodes in arb_graph(30, 2, true),
        from in 0..32usize,
        to in 0..32usize,
        kind in prop::sample::select(EDGE_KINDS.to_vec()),
    ) {
        prop_assert!(cycles(&nodes).is_empty());
        let (from_id, to_id) = (name_in(&nodes, from), name_in(&nodes, to));
        let predicted = find_cycle_with(&nodes, &from_id, &to_id, kind);

        let mut after = nodes.clone();
        if from < after.len() {
            after[from].edges.push(edge_to(&to_id, kind));
            prop_assert_eq!(predicted.is_none(), cycles(&after).is_empty());
        }
        if let Some(path) = predicted {
            prop_assert!(blocking(kind));
            prop_assert!(path.len() >= 2);
            prop_assert_eq!(&path[0], &from_id);
            prop_assert_eq!(&path[path.len() - 1], &from_id);
            prop_assert_eq!(&path[1], &to_id);
            if from < after.len() {
                assert_edge_path(&after, &path);
            }
        }
    }

    #[test]
    fn find_cycle_with_matches_reachability(
        nodes in arb_graph(30, 2, false),
        from in 0..32usize,
        to in 0..32usize,
        kind in prop::sample::select(vec!["blocks", "waits-for", "related"]),
    ) {
        let (from_id, to_id) = (name_in(&nodes, from), name_in(&nodes, to));
        let want = blocking(kind)
            && (from_id == to_id
                || (from < nodes.len() && to < nodes.len() && reaches(&nodes, to, from)));
        let got = find_cycle_with(&nodes, &from_id, &to_id, kind);
        prop_assert_eq!(got.is_some(), want);
        if let Some(path) = got
            && from_id != to_id
        {
            let mut after = nodes.clone();
            after[from].edges.push(edge_to(&to_id, kind));
            assert_edge_path(&after, &path);
        }
    }

    #[test]
    fn descendants_are_the_nodes_with_root_as_ancestor(
        nodes in arb_graph(25, 2, false),
        root in 0..25usize,
    ) {
        prop_assume!(root < nodes.len());
        let parent = analyze(&nodes, NOW, &[]).parent;
        let mut is_root = vec![false; nodes.len()];
        is_root[root] = true;
        let below = ancestor_in(&parent, &is_root);
        let want: Vec<usize> = (0..nodes.len()).filter(|&i| i != root && below[i]).collect();
        prop_assert_eq!(descendants(&nodes, &parent, root), want);
    }
}

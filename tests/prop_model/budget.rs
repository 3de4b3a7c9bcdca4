//! The budget roll-up (`model::budget`): the same whatever the order of
//! the lines (clones merge `budget.jsonl` as a union, in any order), and an
//! issue's spent is the spends of every issue reachable below it, each
//! once (a reference walk written here).

use strand::model::budget::{
    Amount, Books, BudgetRecord, Budgets, Limit, Node, Target, Tree, allocation, spend,
};

use super::*;

/// A generated world: issues (parents point to earlier ones, some
/// convoys track others, some closed), and budget lines.
#[derive(Debug, Clone)]
struct World {
    nodes: Vec<Node>,
    records: Vec<BudgetRecord>,
}

fn world() -> impl Strategy<Value = World> {
    (2usize..12, any::<u64>()).prop_map(|(n, seed)| {
        let mut rng = Rng::new(seed);
        let id = |i: usize| format!("bd-{i}");
        let mut nodes: Vec<Node> = Vec::new();
        for i in 0..n {
            let convoy = i > 0 && rng.chance(20);
            let tracks = if convoy {
                (0..rng.below(3)).map(|_| id(rng.below(n))).collect()
            } else {
                Vec::new()
            };
            nodes.push(Node {
                id: id(i),
                issue_type: if convoy { "convoy" } else { "task" }.into(),
                open: rng.chance(70),
                parent: (i > 0 && rng.chance(70)).then(|| id(rng.below(i))),
                tracks,
            });
        }
        let agents = ["ann", "bob"];
        let mut records = Vec::new();
        for k in 0..rng.below(20) {
            let at = rng.below_u64(5) as i64; // ties on time happen
            if rng.chance(35) {
                let target = if rng.chance(20) {
                    Target::Agent(rng.pick(&agents).to_string())
                } else {
                    Target::Issue(id(rng.below(n)))
                };
                let limit = Limit {
                    tokens: rng.below_u64(2000),
                    micros: rng.chance(50).then(|| rng.below_u64(5_000_000)),
                };
                records.push(allocation(&target, limit, at + k as i64, "me"));
            } else {
                let issue = rng.chance(80).then(|| id(rng.below(n)));
                let amount = Amount {
                    tokens: rng.below_u64(800),
                    micros: rng.below_u64(900_000),
                };
                let who = *rng.pick(&agents);
                records.push(spend(issue.as_deref(), who, amount, at, who));
            }
        }
        World { nodes, records }
    })
}

/// Everything the roll-up says about every issue and agent.
fn outcome(w: &World, records: &[BudgetRecord], nodes: &[Node]) -> Vec<String> {
    let tree = Tree::new(nodes.iter().cloned());
    let books = Books::new(records, &[]);
    let b = Budgets::new(&tree, &books);
    let mut out = Vec::new();
    for n in &w.nodes {
        out.push(format!("{:?}", b.issue(&n.id)));
        for agent in ["ann", "bob"] {
            out.push(format!("{:?}", b.refusal(Some(&n.id), agent)));
        }
    }
    for agent in ["ann", "bob"] {
        out.push(format!("{:?}", b.agent(agent)));
    }
    out
}

/// Reference: the ids reachable from `id` by parent-child and tracks edges.
fn reachable(nodes: &[Node], id: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::from([id.to_string()]);
    let mut stack = vec![id.to_string()];
    while let Some(x) = stack.pop() {
        let mut next: Vec<String> = nodes
            .iter()
            .filter(|n| n.parent.as_deref() == Some(x.as_str()))
            .map(|n| n.id.clone())
            .collect();
        if let Some(n) = nodes.iter().find(|n| n.id == x) {
            next.extend(n.tracks.iter().cloned());
        }
        for y in next {
            if seen.insert(y.clone()) {
                stack.push(y);
            }
        }
    }
    seen
}

proptest! {
    #![proptest_config(cfg(128))]

    #[test]
    fn roll_up_is_independent_of_line_order_and_counts_each_spend_once(
        w in world(),
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let want = outcome(&w, &w.records, &w.nodes);
        let records = rng.shuffled(&w.records);
        let nodes = rng.shuffled(&w.nodes);
        prop_assert_eq!(&outcome(&w, &records, &nodes), &want);

        let tree = Tree::new(w.nodes.iter().cloned());
        let books = Books::new(&w.records, &[]);
        let b = Budgets::new(&tree, &books);
        for n in &w.nodes {
            let s = b.issue(&n.id);
            let own: u64 = reachable(&w.nodes, &n.id)
                .iter()
                .map(|i| books.issue_spent(i).tokens)
                .sum();
            prop_assert_eq!(s.spent.tokens, own, "{}", n.id);
            if let Some(l) = s.left_tokens() {
                let a = s.allocated.unwrap().tokens as i64;
                prop_assert_eq!(l, a - s.spent.tokens as i64 - s.reserved.tokens as i64);
                prop_assert_eq!(s.exhausted().is_some(), l <= 0 || s.left_micros().is_some_and(|m| m <= 0));
            } else {
                prop_assert!(s.exhausted().is_none());
            }
        }
    }
}

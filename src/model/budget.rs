//! Budgets (issue 13), pure: the lines of `.beads/budget.jsonl`
//! (allocations and spends, facts that are never edited, so clones merge
//! them as a union), the amounts users type, and the roll-up of spends
//! down the tree of work (parent-child edges, and the items a convoy
//! tracks), with what an open child's own budget holds back from its
//! parent. No clock: times come in as arguments.
//!
//! The rules, in one place:
//! - The current allocation of a target (an issue, or `agent:NAME`) is its
//!   latest (by `at` as an instant, then `id`).
//! - A spend counts for its issue (if any) and its agent. A run of
//!   `runs.jsonl` counts as a spend of its agent on its issue.
//! - An issue's *spent* is the spends of it and of every issue below it
//!   (each counted once however many ways it is reached).
//! - An *open* issue below with an allocation of its own holds that
//!   allocation back from those above it (*reserved*: the larger of its
//!   allocation and what it has committed, less what it spent, which is in
//!   *spent* already). Once it closes only what it spent stays charged: the
//!   rest returns.
//! - *left* = allocation − (spent + reserved); a budget with nothing left
//!   (tokens, or dollars when dollars were allocated) is *exhausted*.
//! - A worker may not take an item when the budget of the item, of an
//!   issue above it or of a convoy tracking one of them is exhausted, unless
//!   an open issue between the two has a budget of its own (its reservation
//!   pays: that budget is checked instead), or when its agent's is. What
//!   was really spent always counts: a budget whose spends alone reach its
//!   allocation refuses everything under it, so a child allocated more
//!   than its parent cannot spend past the parent.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::run::RunRecord;
use crate::model::time::{self, Nanos};

/// `kind` of an allocation line.
pub const ALLOCATE: &str = "allocate";
/// `kind` of a spend line.
pub const SPEND: &str = "spend";
/// How a target names an agent: `agent:NAME`.
pub const AGENT: &str = "agent:";

/// Micro-dollars in a dollar: amounts in dollars are kept as whole
/// micro-dollars, so sums are exact and do not depend on their order.
pub const MICROS: u64 = 1_000_000;

/// A line of `budget.jsonl`: an allocation (`kind` `allocate`, `target`)
/// or a spend (`kind` `spend`, `issue` when it was on one, `agent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetRecord {
    pub id: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd: Option<f64>,
    pub at: String,
    pub by: String,
}

/// Tokens and micro-dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amount {
    pub tokens: u64,
    pub micros: u64,
}

impl Amount {
    pub fn add(&mut self, other: Amount) {
        self.tokens = self.tokens.saturating_add(other.tokens);
        self.micros = self.micros.saturating_add(other.micros);
    }

    pub fn plus(mut self, other: Amount) -> Amount {
        self.add(other);
        self
    }
}

/// An allocation: tokens, and dollars when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub tokens: u64,
    pub micros: Option<u64>,
}

/// What a budget is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Issue(String),
    Agent(String),
}

impl Target {
    /// `agent:NAME` names an agent (the name is not checked here), anything
    /// else an issue.
    pub fn parse(text: &str) -> Result<Target, String> {
        match text.strip_prefix(AGENT) {
            Some(name) if name.trim().is_empty() => Err(format!(
                "'{text}' names no agent: write agent:NAME (for example agent:claude-1)"
            )),
            Some(name) => Ok(Target::Agent(name.to_string())),
            None if text.trim().is_empty() => Err("give an issue ID or agent:NAME".into()),
            None => Ok(Target::Issue(text.to_string())),
        }
    }

    /// How `target` spells it in `budget.jsonl`.
    pub fn key(&self) -> String {
        match self {
            Target::Issue(id) => id.clone(),
            Target::Agent(name) => format!("{AGENT}{name}"),
        }
    }
}

/// A whole number of tokens as typed: digits (`_` and `,` may group them).
pub fn parse_tokens(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.starts_with('-') && t.len() > 1 {
        return Err(format!("tokens cannot be negative ('{t}')"));
    }
    // Separators group thousands (`1,000`, `1_000_000`), nothing else:
    // `1,5` is someone's 1.5, not 15.
    let grouped = |sep: char| {
        let mut parts = t.split(sep);
        let first = parts.next().unwrap_or("");
        (1..=3).contains(&first.len()) && parts.all(|p| p.len() == 3)
    };
    let seps = t.contains(',') as u8 + t.contains('_') as u8;
    if seps > 1 || (t.contains(',') && !grouped(',')) || (t.contains('_') && !grouped('_')) {
        return Err(format!(
            "tokens must be a whole number, not '{t}' (group thousands: 1,000)"
        ));
    }
    let digits: String = t.chars().filter(|c| !matches!(c, '_' | ',')).collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("tokens must be a whole number, not '{t}'"));
    }
    digits
        .parse()
        .map_err(|_| format!("tokens '{t}' is too large"))
}

/// Dollars as typed (`1.25`, `$1.25`, `0.000002`: at most 6 decimals) in
/// micro-dollars.
pub fn parse_usd(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let body = t.strip_prefix('$').unwrap_or(t);
    if body.starts_with('-') && body.len() > 1 {
        return Err(format!("dollars cannot be negative ('{t}')"));
    }
    let bad = || format!("dollars must be a number such as 1.25, not '{t}'");
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    if frac.len() > 6 {
        return Err(format!(
            "dollars have at most 6 decimals (a micro-dollar), not '{t}'"
        ));
    }
    let w: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let f: u64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
    w.checked_mul(MICROS)
        .and_then(|m| m.checked_add(f))
        .ok_or_else(|| format!("dollars '{t}' is too large"))
}

/// Dollars as they are written in a line (a JSON number) in micro-dollars:
/// negative and unreadable values count as nothing.
pub fn micros_of(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        (usd * MICROS as f64).round() as u64
    } else {
        0
    }
}

/// Micro-dollars as a JSON number of dollars.
pub fn usd_of(micros: u64) -> f64 {
    micros as f64 / MICROS as f64
}

/// A record's id: `bud-` and 12 base36 characters of SHA-256 over its
/// content (kind, target, issue, agent, tokens, micro-dollars, time in ns,
/// author).
fn record_id(rec: &BudgetRecord, at: Nanos) -> String {
    let mut h = Sha256::new();
    let usd = rec.usd.map(micros_of).map(|m| m.to_string());
    for part in [
        rec.kind.as_str(),
        rec.target.as_deref().unwrap_or(""),
        rec.issue.as_deref().unwrap_or(""),
        rec.agent.as_deref().unwrap_or(""),
        &rec.tokens.to_string(),
        usd.as_deref().unwrap_or(""),
        &at.to_string(),
        rec.by.as_str(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let b36 = crate::model::id::base36(&h.finalize());
    format!("bud-{}", &b36[..12.min(b36.len())])
}

fn with_id(mut rec: BudgetRecord, at: Nanos) -> BudgetRecord {
    rec.id = record_id(&rec, at);
    rec
}

/// An allocation line: `target` gets `limit` from now on.
pub fn allocation(target: &Target, limit: Limit, at: Nanos, by: &str) -> BudgetRecord {
    with_id(
        BudgetRecord {
            id: String::new(),
            kind: ALLOCATE.into(),
            issue: None,
            agent: None,
            target: Some(target.key()),
            tokens: limit.tokens,
            usd: limit.micros.map(usd_of),
            at: time::format(at),
            by: by.to_string(),
        },
        at,
    )
}

/// A spend line: `agent` spent `amount` (on `issue`, when given).
pub fn spend(
    issue: Option<&str>,
    agent: &str,
    amount: Amount,
    at: Nanos,
    by: &str,
) -> BudgetRecord {
    with_id(
        BudgetRecord {
            id: String::new(),
            kind: SPEND.into(),
            issue: issue.map(str::to_string),
            agent: Some(agent.to_string()),
            target: None,
            tokens: amount.tokens,
            usd: (amount.micros > 0).then(|| usd_of(amount.micros)),
            at: time::format(at),
            by: by.to_string(),
        },
        at,
    )
}

/// The sums of the logs: the current allocation of each target, and the
/// spends of each issue and each agent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Books {
    /// Target key → (time, id, limit) of its latest allocation.
    allocations: BTreeMap<String, (Nanos, String, Limit)>,
    by_issue: BTreeMap<String, Amount>,
    by_agent: BTreeMap<String, Amount>,
}

impl Books {
    /// The books of these budget lines and runs (in any order: the result
    /// is the same). Lines of an unknown `kind` are left out.
    pub fn new(records: &[BudgetRecord], runs: &[RunRecord]) -> Books {
        let mut b = Books::default();
        for r in records {
            let amount = Amount {
                tokens: r.tokens,
                micros: r.usd.map_or(0, micros_of),
            };
            match r.kind.as_str() {
                ALLOCATE => {
                    let Some(target) = r.target.as_deref().filter(|t| !t.is_empty()) else {
                        continue;
                    };
                    let at = time::parse(&r.at).unwrap_or(i64::MIN);
                    let limit = Books::limit_of(r);
                    let newer = b
                        .allocations
                        .get(target)
                        .is_none_or(|(t, id, _)| (at, &r.id) > (*t, id));
                    if newer {
                        b.allocations
                            .insert(target.to_string(), (at, r.id.clone(), limit));
                    }
                }
                SPEND => {
                    if let Some(i) = r.issue.as_deref().filter(|i| !i.is_empty()) {
                        b.by_issue.entry(i.to_string()).or_default().add(amount);
                    }
                    let agent = r.agent.as_deref().unwrap_or(&r.by);
                    b.by_agent.entry(agent.to_string()).or_default().add(amount);
                }
                _ => {}
            }
        }
        for run in runs {
            let usage = run.usage.as_ref();
            let amount = Amount {
                tokens: run
                    .tokens
                    .or_else(|| usage.map(crate::model::run::Usage::tokens))
                    .unwrap_or(0),
                micros: usage.and_then(|u| u.usd).map_or(0, micros_of),
            };
            b.by_issue.entry(run.issue.clone()).or_default().add(amount);
            b.by_agent.entry(run.agent.clone()).or_default().add(amount);
        }
        b
    }

    /// The current allocation of a target (its key: an id or `agent:NAME`).
    pub fn allocation(&self, key: &str) -> Option<Limit> {
        self.allocations.get(key).map(|(_, _, l)| *l)
    }

    /// The id of a target's current allocation line.
    pub fn current(&self, key: &str) -> Option<&str> {
        self.allocations.get(key).map(|(_, id, _)| id.as_str())
    }

    /// The limit an allocation line sets.
    pub fn limit_of(r: &BudgetRecord) -> Limit {
        Limit {
            tokens: r.tokens,
            micros: r.usd.map(micros_of),
        }
    }

    /// Every target with an allocation.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        self.allocations.keys().map(String::as_str)
    }

    /// What was spent on this issue itself.
    pub fn issue_spent(&self, id: &str) -> Amount {
        self.by_issue.get(id).copied().unwrap_or_default()
    }

    /// Issues something was spent on.
    pub fn spent_issues(&self) -> impl Iterator<Item = &str> {
        self.by_issue.keys().map(String::as_str)
    }

    /// Agents that spent something.
    pub fn spending_agents(&self) -> impl Iterator<Item = &str> {
        self.by_agent.keys().map(String::as_str)
    }

    /// What this agent spent.
    pub fn agent_spent(&self, name: &str) -> Amount {
        self.by_agent.get(name).copied().unwrap_or_default()
    }
}

/// An issue as the roll-up sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub issue_type: String,
    /// Not closed (nor deleted).
    pub open: bool,
    pub parent: Option<String>,
    /// The items it tracks (`tracks` edges: a convoy's).
    pub tracks: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Place {
    issue_type: String,
    open: bool,
    /// Children and tracked items.
    down: Vec<String>,
    /// The parent and the convoys tracking it.
    up: Vec<String>,
}

/// The tree of work: parent-child edges and `tracks` edges, downwards
/// (edges to issues it does not hold are left out).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    places: BTreeMap<String, Place>,
}

impl Tree {
    pub fn new(nodes: impl IntoIterator<Item = Node>) -> Tree {
        let nodes: Vec<Node> = nodes.into_iter().collect();
        let mut places: BTreeMap<String, Place> = nodes
            .iter()
            .map(|n| {
                (
                    n.id.clone(),
                    Place {
                        issue_type: n.issue_type.clone(),
                        open: n.open,
                        ..Place::default()
                    },
                )
            })
            .collect();
        let mut edges: Vec<(String, String)> = Vec::new();
        for n in &nodes {
            if let Some(p) = &n.parent {
                edges.push((p.clone(), n.id.clone()));
            }
            for t in &n.tracks {
                edges.push((n.id.clone(), t.clone()));
            }
        }
        for (from, to) in edges {
            if from == to || !places.contains_key(&from) || !places.contains_key(&to) {
                continue;
            }
            places
                .get_mut(&from)
                .expect("checked")
                .down
                .push(to.clone());
            places.get_mut(&to).expect("checked").up.push(from);
        }
        for p in places.values_mut() {
            p.down.sort();
            p.down.dedup();
            p.up.sort();
            p.up.dedup();
        }
        Tree { places }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.places.contains_key(id)
    }

    pub fn issue_type(&self, id: &str) -> &str {
        self.places
            .get(id)
            .map_or("issue", |p| p.issue_type.as_str())
    }

    pub fn is_open(&self, id: &str) -> bool {
        self.places.get(id).is_some_and(|p| p.open)
    }

    /// Its children and tracked items.
    pub fn down(&self, id: &str) -> &[String] {
        self.places.get(id).map_or(&[], |p| p.down.as_slice())
    }

    fn walk<'a>(&'a self, id: &str, next: impl Fn(&'a Place) -> &'a [String]) -> Vec<&'a str> {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::new();
        let mut queue: VecDeque<&str> = VecDeque::new();
        if let Some((own, _)) = self.places.get_key_value(id) {
            queue.push_back(own.as_str());
            seen.insert(own.as_str());
        }
        while let Some(x) = queue.pop_front() {
            out.push(x);
            for n in next(&self.places[x]) {
                if seen.insert(n.as_str()) {
                    queue.push_back(n.as_str());
                }
            }
        }
        out
    }

    /// The issue and every issue below it, each once.
    pub fn below(&self, id: &str) -> BTreeSet<&str> {
        self.walk(id, |p| &p.down).into_iter().collect()
    }

    /// The issue and every issue above it (parents, convoys tracking them),
    /// nearest first.
    pub fn above(&self, id: &str) -> Vec<&str> {
        self.walk(id, |p| &p.up)
    }
}

/// Where a budget stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    pub allocated: Option<Limit>,
    pub spent: Amount,
    /// Held back by open budgets below it.
    pub reserved: Amount,
}

impl Standing {
    pub fn committed(&self) -> Amount {
        self.spent.plus(self.reserved)
    }

    /// Tokens left (negative when overspent), when allocated.
    pub fn left_tokens(&self) -> Option<i64> {
        let a = self.allocated?;
        Some(signed(a.tokens) - signed(self.committed().tokens))
    }

    /// Micro-dollars left, when dollars were allocated.
    pub fn left_micros(&self) -> Option<i64> {
        let a = self.allocated?.micros?;
        Some(signed(a) - signed(self.committed().micros))
    }

    /// Nothing left: why, as `1,200 of 1,000 tokens`.
    pub fn exhausted(&self) -> Option<String> {
        let a = self.allocated?;
        let c = self.committed();
        let held = |n: String| {
            if n.is_empty() {
                String::new()
            } else {
                format!(" ({n} of it held by budgets below)")
            }
        };
        if self.left_tokens().is_some_and(|l| l <= 0) {
            let r = if self.reserved.tokens > 0 {
                thousands(self.reserved.tokens)
            } else {
                String::new()
            };
            return Some(format!(
                "{} of {} tokens{}",
                thousands(c.tokens),
                thousands(a.tokens),
                held(r)
            ));
        }
        if self.left_micros().is_some_and(|l| l <= 0) {
            let r = if self.reserved.micros > 0 {
                dollars(self.reserved.micros)
            } else {
                String::new()
            };
            return Some(format!(
                "{} of {}{}",
                dollars(c.micros),
                dollars(a.micros.unwrap_or(0)),
                held(r)
            ));
        }
        None
    }
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A signed [`thousands`].
pub fn thousands_signed(n: i64) -> String {
    if n < 0 {
        format!("-{}", thousands(n.unsigned_abs()))
    } else {
        thousands(n.unsigned_abs())
    }
}

/// Micro-dollars as `$1.25` (cents always, more decimals only when there
/// are more).
pub fn dollars(micros: u64) -> String {
    let whole = micros / MICROS;
    let frac = format!("{:06}", micros % MICROS);
    let frac = frac.trim_end_matches('0');
    let frac = if frac.len() < 2 {
        format!("{frac:0<2}")
    } else {
        frac.to_string()
    };
    format!("${}.{frac}", thousands(whole))
}

/// A signed [`dollars`].
pub fn dollars_signed(micros: i64) -> String {
    if micros < 0 {
        format!("-{}", dollars(micros.unsigned_abs()))
    } else {
        dollars(micros.unsigned_abs())
    }
}

/// What a roll-up worked out, kept for the next question about the same
/// tree and books (a worker asks about every claimable item each round).
#[derive(Debug, Clone, Default)]
pub struct Memo {
    standings: std::cell::RefCell<BTreeMap<String, Standing>>,
    belows: std::cell::RefCell<BTreeMap<String, std::rc::Rc<BTreeSet<String>>>>,
}

/// The roll-up over a tree and its books.
pub struct Budgets<'a> {
    pub tree: &'a Tree,
    pub books: &'a Books,
    memo: std::borrow::Cow<'a, Memo>,
}

impl<'a> Budgets<'a> {
    pub fn new(tree: &'a Tree, books: &'a Books) -> Budgets<'a> {
        Budgets {
            tree,
            books,
            memo: std::borrow::Cow::Owned(Memo::default()),
        }
    }

    /// [`Budgets::new`] keeping what it works out in `memo` (which must
    /// belong to the same tree and books).
    pub fn with_memo(tree: &'a Tree, books: &'a Books, memo: &'a Memo) -> Budgets<'a> {
        Budgets {
            tree,
            books,
            memo: std::borrow::Cow::Borrowed(memo),
        }
    }

    /// [`Budgets::issue`], kept.
    fn standing(&self, id: &str) -> Standing {
        if let Some(s) = self.memo.standings.borrow().get(id) {
            return *s;
        }
        let s = self.issue(id);
        self.memo.standings.borrow_mut().insert(id.to_string(), s);
        s
    }

    /// `tree.below(id)`, kept.
    fn below_of(&self, id: &str) -> std::rc::Rc<BTreeSet<String>> {
        if let Some(b) = self.memo.belows.borrow().get(id) {
            return b.clone();
        }
        let b: std::rc::Rc<BTreeSet<String>> = std::rc::Rc::new(
            self.tree
                .below(id)
                .into_iter()
                .map(str::to_string)
                .collect(),
        );
        self.memo
            .belows
            .borrow_mut()
            .insert(id.to_string(), b.clone());
        b
    }

    /// Has a budget of its own that holds back from those above it.
    fn reserves(&self, id: &str) -> bool {
        self.tree.is_open(id) && self.books.allocation(id).is_some()
    }

    /// Where an issue's budget stands (an issue the tree does not hold:
    /// only its own allocation and spends).
    pub fn issue(&self, id: &str) -> Standing {
        self.issue_within(id, &mut BTreeSet::new())
    }

    fn issue_within(&self, id: &str, visiting: &mut BTreeSet<String>) -> Standing {
        let allocated = self.books.allocation(id);
        if !self.tree.contains(id) {
            return Standing {
                allocated,
                spent: self.books.issue_spent(id),
                reserved: Amount::default(),
            };
        }
        visiting.insert(id.to_string());
        let below = self.tree.below(id);
        let mut spent = Amount::default();
        for d in &below {
            spent.add(self.books.issue_spent(d));
        }
        // The open budgets below, and of those the highest ones (a budget
        // below another one is held back inside it).
        let holders: Vec<(&str, BTreeSet<&str>)> = below
            .iter()
            .copied()
            .filter(|d| *d != id && self.reserves(d))
            .map(|d| (d, self.tree.below(d)))
            .collect();
        let mut reserved = Amount::default();
        for (d, d_below) in &holders {
            let inside_another = holders.iter().any(|(e, e_below)| {
                e != d && e_below.contains(d) && (!d_below.contains(e) || e < d)
            });
            if inside_another || visiting.contains(*d) {
                continue;
            }
            let s = self.issue_within(d, visiting);
            let a = s.allocated.expect("a holder has an allocation");
            reserved.add(Amount {
                tokens: a
                    .tokens
                    .saturating_sub(s.spent.tokens)
                    .max(s.reserved.tokens),
                micros: a
                    .micros
                    .unwrap_or(0)
                    .saturating_sub(s.spent.micros)
                    .max(s.reserved.micros),
            });
        }
        visiting.remove(id);
        Standing {
            allocated,
            spent,
            reserved,
        }
    }

    /// Where an agent's budget stands.
    pub fn agent(&self, name: &str) -> Standing {
        Standing {
            allocated: self
                .books
                .allocation(&Target::Agent(name.to_string()).key()),
            spent: self.books.agent_spent(name),
            reserved: Amount::default(),
        }
    }

    /// Why `agent` must not take `issue` now (see the module doc), or
    /// `None` when it may.
    pub fn refusal(&self, issue: Option<&str>, agent: &str) -> Option<String> {
        if let Some(why) = self.agent(agent).exhausted() {
            return Some(format!("budget of agent {agent} spent: {why}"));
        }
        let x = issue?;
        let above = self.tree.above(x);
        let candidates: Vec<&str> = if above.is_empty() { vec![x] } else { above };
        for a in &candidates {
            if self.books.allocation(a).is_none() {
                continue;
            }
            let st = self.standing(a);
            let said =
                |why: String| format!("budget of {} {a} spent: {why}", self.tree.issue_type(a));
            // Spent for real: nothing under it runs, covered or not.
            let spends_only = Standing {
                reserved: Amount::default(),
                ..st
            };
            if let Some(why) = spends_only.exhausted() {
                return Some(said(why));
            }
            // An open budget between the item and this one pays for it.
            let a_below = self.below_of(a);
            let covered = candidates
                .iter()
                .any(|c| c != a && self.reserves(c) && a_below.contains(*c));
            if covered {
                continue;
            }
            if let Some(why) = st.exhausted() {
                return Some(said(why));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, ty: &str, open: bool, parent: Option<&str>, tracks: &[&str]) -> Node {
        Node {
            id: id.into(),
            issue_type: ty.into(),
            open,
            parent: parent.map(str::to_string),
            tracks: tracks.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn alloc(target: &str, tokens: u64, at: i64) -> BudgetRecord {
        allocation(
            &Target::parse(target).unwrap(),
            Limit {
                tokens,
                micros: None,
            },
            at,
            "me",
        )
    }

    fn spent(issue: Option<&str>, agent: &str, tokens: u64, at: i64) -> BudgetRecord {
        spend(issue, agent, Amount { tokens, micros: 0 }, at, agent)
    }

    #[test]
    fn amounts_as_typed() {
        assert_eq!(parse_tokens("1000"), Ok(1000));
        assert_eq!(parse_tokens("1,000"), Ok(1000));
        assert_eq!(parse_tokens("1_000_000"), Ok(1_000_000));
        for odd in ["1,5", "1,,0", ",1", "1,000,00", "1_0", "1,000_000"] {
            assert!(parse_tokens(odd).is_err(), "{odd}");
        }
        assert!(parse_tokens("-5").unwrap_err().contains("negative"));
        assert!(parse_tokens("ten").unwrap_err().contains("whole number"));
        assert!(parse_tokens("1.5").is_err());
        assert!(parse_tokens("").is_err());
        assert!(parse_tokens("99999999999999999999999").is_err());
        assert_eq!(parse_usd("1.25"), Ok(1_250_000));
        assert_eq!(parse_usd("$0.000002"), Ok(2));
        assert_eq!(parse_usd("3"), Ok(3_000_000));
        assert_eq!(parse_usd(".5"), Ok(500_000));
        assert!(parse_usd("-1").unwrap_err().contains("negative"));
        assert!(parse_usd("1e3").is_err());
        assert!(parse_usd("NaN").is_err());
        assert!(parse_usd(".").is_err());
        assert!(parse_usd("0.0000001").unwrap_err().contains("6 decimals"));
        assert_eq!(micros_of(0.25), 250_000);
        assert_eq!(micros_of(-1.0), 0);
        assert_eq!(micros_of(f64::NAN), 0);
    }

    #[test]
    fn targets_and_words() {
        assert_eq!(
            Target::parse("agent:claude-1"),
            Ok(Target::Agent("claude-1".into()))
        );
        assert_eq!(Target::parse("bd-1"), Ok(Target::Issue("bd-1".into())));
        assert!(Target::parse("agent:").is_err());
        assert!(Target::parse("agent: ").is_err());
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1200), "1,200");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands_signed(-1200), "-1,200");
        assert_eq!(dollars(1_250_000), "$1.25");
        assert_eq!(dollars(2), "$0.000002");
        assert_eq!(dollars(5_000_000_000), "$5,000.00");
        assert_eq!(dollars_signed(-100_000), "-$0.10");
    }

    #[test]
    fn ids_follow_content_time_and_author() {
        let a = alloc("bd-1", 100, 1);
        assert!(a.id.starts_with("bud-") && a.id.len() == 16, "{}", a.id);
        assert_eq!(a, alloc("bd-1", 100, 1));
        assert_ne!(a.id, alloc("bd-1", 100, 2).id);
        assert_ne!(a.id, alloc("bd-1", 101, 1).id);
        assert_ne!(a.id, alloc("agent:bd-1", 100, 1).id);
        let s = spent(Some("bd-1"), "x", 100, 1);
        assert_ne!(s.id, spent(Some("bd-1"), "y", 100, 1).id);
        assert_eq!(s.kind, SPEND);
        assert_eq!(s.usd, None);
    }

    #[test]
    fn the_latest_allocation_counts() {
        let mut recs = vec![
            alloc("bd-1", 100, 5),
            alloc("bd-1", 300, 9),
            alloc("bd-1", 200, 7),
        ];
        let b = Books::new(&recs, &[]);
        assert_eq!(b.allocation("bd-1").map(|l| l.tokens), Some(300));
        recs.reverse();
        assert_eq!(Books::new(&recs, &[]), b);
        // Same instant: the larger id.
        let (x, y) = (alloc("bd-2", 1, 3), alloc("bd-2", 2, 3));
        let want = if x.id > y.id { 1 } else { 2 };
        let b = Books::new(&[x, y], &[]);
        assert_eq!(b.allocation("bd-2").map(|l| l.tokens), Some(want));
    }

    #[test]
    fn runs_count_as_spends_of_their_agent_on_their_issue() {
        let run = RunRecord {
            id: "run-1".into(),
            issue: "bd-1".into(),
            agent: "claude".into(),
            attempt: 1,
            started_at: time::format(0),
            ended_at: time::format(10),
            outcome: crate::model::run::Outcome::Success,
            exit_code: Some(0),
            signal: None,
            reason: None,
            tokens: None,
            usage: Some(crate::model::run::Usage {
                input_tokens: 100,
                output_tokens: 20,
                usd: Some(0.5),
                ..Default::default()
            }),
            command: "claude".into(),
            branch: "bd/bd-1".into(),
            after: "closed".into(),
            tail: vec![],
        };
        let b = Books::new(&[spent(None, "claude", 5, 1)], &[run]);
        assert_eq!(
            b.issue_spent("bd-1"),
            Amount {
                tokens: 120,
                micros: 500_000
            }
        );
        assert_eq!(b.agent_spent("claude").tokens, 125);
    }

    /// An epic E (1,000) with children A (open, 300 of its own) and B (no
    /// budget), A with a child A1; a convoy C (500) tracking B and D.
    fn world(a_open: bool) -> (Tree, Vec<BudgetRecord>) {
        let tree = Tree::new([
            node("E", "epic", true, None, &[]),
            node("A", "task", a_open, Some("E"), &[]),
            node("A1", "task", true, Some("A"), &[]),
            node("B", "task", true, Some("E"), &[]),
            node("C", "convoy", true, None, &["B", "D"]),
            node("D", "task", true, None, &[]),
        ]);
        let recs = vec![
            alloc("E", 1000, 1),
            alloc("A", 300, 2),
            alloc("C", 500, 3),
            alloc("agent:bob", 50, 4),
            spent(Some("A1"), "ann", 100, 5),
            spent(Some("B"), "bob", 200, 6),
            spent(Some("D"), "bob", 40, 7),
            spent(None, "bob", 5, 8),
        ];
        (tree, recs)
    }

    #[test]
    fn spends_roll_up_and_open_budgets_reserve() {
        let (tree, recs) = world(true);
        let books = Books::new(&recs, &[]);
        let b = Budgets::new(&tree, &books);
        let a = b.issue("A");
        assert_eq!((a.spent.tokens, a.reserved.tokens), (100, 0));
        assert_eq!(a.left_tokens(), Some(200));
        let e = b.issue("E");
        // Spent: A1's 100 and B's 200; A holds back the 200 it has left.
        assert_eq!((e.spent.tokens, e.reserved.tokens), (300, 200));
        assert_eq!(e.left_tokens(), Some(500));
        let c = b.issue("C");
        assert_eq!((c.spent.tokens, c.left_tokens()), (240, Some(260)));
        assert_eq!(b.issue("B").left_tokens(), None);
        let bob = b.agent("bob");
        assert_eq!((bob.spent.tokens, bob.left_tokens()), (245, Some(-195)));
        assert!(bob.exhausted().unwrap().contains("245 of 50 tokens"));
    }

    #[test]
    fn a_closed_child_returns_what_it_did_not_spend() {
        let (tree, recs) = world(false);
        let books = Books::new(&recs, &[]);
        let e = Budgets::new(&tree, &books).issue("E");
        assert_eq!((e.spent.tokens, e.reserved.tokens), (300, 0));
        assert_eq!(e.left_tokens(), Some(700));
    }

    #[test]
    fn an_overspent_child_charges_what_it_spent() {
        let (tree, mut recs) = world(true);
        recs.push(spent(Some("A"), "ann", 400, 9));
        let books = Books::new(&recs, &[]);
        let b = Budgets::new(&tree, &books);
        let e = b.issue("E");
        assert_eq!((e.spent.tokens, e.reserved.tokens), (700, 0));
        assert_eq!(b.issue("A").left_tokens(), Some(-200));
    }

    #[test]
    fn nested_budgets_reserve_once() {
        // R (1,000) > P (400, open) > Q (300, open): P holds 400 of R.
        let tree = Tree::new([
            node("R", "epic", true, None, &[]),
            node("P", "epic", true, Some("R"), &[]),
            node("Q", "task", true, Some("P"), &[]),
        ]);
        let recs = vec![alloc("R", 1000, 1), alloc("P", 400, 1), alloc("Q", 300, 1)];
        let books = Books::new(&recs, &[]);
        let b = Budgets::new(&tree, &books);
        assert_eq!(b.issue("P").reserved.tokens, 300);
        assert_eq!(b.issue("P").left_tokens(), Some(100));
        assert_eq!(b.issue("R").reserved.tokens, 400);
        // P's budget smaller than Q's: P holds what Q holds.
        let recs = vec![alloc("R", 1000, 1), alloc("P", 100, 1), alloc("Q", 300, 1)];
        let books = Books::new(&recs, &[]);
        let b = Budgets::new(&tree, &books);
        assert_eq!(b.issue("R").reserved.tokens, 300);
        assert!(
            b.issue("P")
                .exhausted()
                .unwrap()
                .contains("300 of 100 tokens (300 of it held")
        );
    }

    #[test]
    fn refusals_name_the_spent_budget() {
        let (tree, mut recs) = world(true);
        let books = Books::new(&recs, &[]);
        let b = Budgets::new(&tree, &books);
        assert_eq!(b.refusal(Some("A1"), "ann"), None);
        assert_eq!(
            b.refusal(Some("B"), "bob").unwrap(),
            "budget of agent bob spent: 245 of 50 tokens"
        );
        assert_eq!(b.refusal(Some("D"), "ann"), None);
        // E spent: work directly under it is refused, work inside A (whose
        // own budget has room) is not.
        recs.push(spent(Some("B"), "ann", 600, 10));
        let books = Books::new(&recs, &[]);
        let b = Budgets::new(&tree, &books);
        assert_eq!(
            b.refusal(Some("B"), "ann").unwrap(),
            "budget of convoy C spent: 840 of 500 tokens"
        );
        recs.push(alloc("C", 10_000, 11));
        let books = Books::new(&recs, &[]);
        let b = Budgets::new(&tree, &books);
        assert_eq!(
            b.refusal(Some("B"), "ann").unwrap(),
            "budget of epic E spent: 1,100 of 1,000 tokens (200 of it held by budgets below)"
        );
        assert_eq!(b.refusal(Some("A1"), "ann"), None);
        assert_eq!(
            b.refusal(Some("E"), "ann").unwrap().split(':').next(),
            Some("budget of epic E spent")
        );
        // A spent: A1 is refused by A's budget.
        recs.push(spent(Some("A1"), "ann", 200, 12));
        let books = Books::new(&recs, &[]);
        let b = Budgets::new(&tree, &books);
        assert_eq!(
            b.refusal(Some("A1"), "ann").unwrap(),
            "budget of task A spent: 300 of 300 tokens"
        );
        // An issue the tree does not hold: its own budget, the agent's.
        assert_eq!(b.refusal(Some("Z"), "ann"), None);
    }

    #[test]
    fn dollars_limit_when_allocated() {
        let tree = Tree::new([node("X", "task", true, None, &[])]);
        let recs = vec![
            allocation(
                &Target::Issue("X".into()),
                Limit {
                    tokens: 1_000_000,
                    micros: Some(1_000_000),
                },
                1,
                "me",
            ),
            spend(
                Some("X"),
                "a",
                Amount {
                    tokens: 10,
                    micros: 1_200_000,
                },
                2,
                "a",
            ),
        ];
        let books = Books::new(&recs, &[]);
        let b = Budgets::new(&tree, &books);
        assert_eq!(b.issue("X").left_micros(), Some(-200_000));
        assert_eq!(
            b.refusal(Some("X"), "a").unwrap(),
            "budget of task X spent: $1.20 of $1.00"
        );
    }

    #[test]
    fn a_child_allocated_more_than_its_parent_cannot_spend_past_it() {
        let tree = Tree::new([
            node("E", "epic", true, None, &[]),
            node("X", "task", true, Some("E"), &[]),
        ]);
        let mut recs = vec![alloc("E", 1000, 1), alloc("X", 5000, 2)];
        let books = Books::new(&recs, &[]);
        assert_eq!(Budgets::new(&tree, &books).refusal(Some("X"), "a"), None);
        recs.push(spent(Some("X"), "a", 999, 3));
        let books = Books::new(&recs, &[]);
        assert_eq!(Budgets::new(&tree, &books).refusal(Some("X"), "a"), None);
        recs.push(spent(Some("X"), "a", 1, 4));
        let books = Books::new(&recs, &[]);
        assert_eq!(
            Budgets::new(&tree, &books).refusal(Some("X"), "a").unwrap(),
            "budget of epic E spent: 1,000 of 1,000 tokens"
        );
    }

    #[test]
    fn cycles_end() {
        // A convoy tracking its own parent: every walk ends.
        let tree = Tree::new([
            node("P", "epic", true, None, &[]),
            node("C", "convoy", true, Some("P"), &["P"]),
        ]);
        let recs = vec![
            alloc("P", 10, 1),
            alloc("C", 10, 1),
            spent(Some("P"), "a", 4, 2),
        ];
        let books = Books::new(&recs, &[]);
        let b = Budgets::new(&tree, &books);
        assert_eq!(b.issue("P").spent.tokens, 4);
        assert_eq!(b.issue("C").spent.tokens, 4);
        let _ = b.refusal(Some("P"), "a");
    }
}

//! `bd budget` (issue 13): allocations and spends as lines of
//! `.beads/budget.jsonl`, the report of a budget down its tree, and the
//! refusal the worker loop asks for before it takes an item. The rules are
//! `model::budget`'s; this module reads the tracker and the logs for it,
//! and writes a line.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::budget::{
    self, Amount, Books, BudgetRecord, Budgets, Limit, Node, Standing, Target, Tree,
};
use crate::model::run::RunRecord;
use crate::model::values;
use crate::ops::Session;
use crate::store::{Snapshot, log};

/// `bd budget set`: what the user typed.
#[derive(Debug, Clone, Default)]
pub struct SetOptions {
    /// An issue (an epic, a convoy) by id, or `agent:NAME`.
    pub target: String,
    pub tokens: String,
    pub usd: Option<String>,
}

/// `bd budget spend`: what the user typed.
#[derive(Debug, Clone, Default)]
pub struct SpendOptions {
    pub tokens: Option<String>,
    pub usd: Option<String>,
    /// Default: the issue the actor holds (none: the spend is the agent's only).
    pub issue: Option<String>,
}

/// The tracker as the roll-up sees it.
fn tree(snap: &Snapshot) -> Tree {
    Tree::new(snap.rows.iter().map(|r| {
        Node {
            id: r.id.clone(),
            issue_type: r.issue_type.clone(),
            open: !values::is_done(&r.status),
            parent: r.parent.clone(),
            tracks: r
                .edges
                .iter()
                .filter(|e| e.kind == "tracks")
                .map(|e| e.target.clone())
                .collect(),
        }
    }))
}

/// The budget lines and the runs, warning of lines that do not read.
fn books(ctx: &Session) -> Result<Books> {
    let (runs, bad) = log::read::<RunRecord>(&ctx.ws, log::RUNS)?;
    warn_bad(ctx, log::RUNS, &bad);
    books_with(ctx, &runs)
}

/// [`books`] over runs the caller has read already.
fn books_with(ctx: &Session, runs: &[RunRecord]) -> Result<Books> {
    let (records, bad) = log::read::<BudgetRecord>(&ctx.ws, log::BUDGET)?;
    warn_bad(ctx, log::BUDGET, &bad);
    Ok(Books::new(&records, runs))
}

fn warn_bad(ctx: &Session, name: &str, bad: &[usize]) {
    if !bad.is_empty() {
        let list: Vec<String> = bad.iter().map(usize::to_string).collect();
        ctx.warn(format!(
            "skipped {} line(s) of {} that do not read (line {})",
            bad.len(),
            log::path(&ctx.ws, name).display(),
            list.join(", ")
        ));
    }
}

/// A target as typed: an issue resolved to its id (a deleted one is
/// refused), or an agent by a valid name (a look-alike of a registered
/// agent stands for it).
fn resolve_target(ctx: &Session, snap: &Snapshot, text: &str) -> Result<Target> {
    match Target::parse(text.trim()).map_err(crate::ops::usage)? {
        Target::Agent(name) => {
            crate::home::presence::validate_agent_name(&name)?;
            Ok(Target::Agent(crate::ops::membership::agent_spelling(
                ctx, &name,
            )))
        }
        Target::Issue(q) => {
            let prefix = ctx.prefix_of_rows(&snap.rows);
            let row = snap.resolve(&q, &prefix)?;
            if row.state() == crate::model::kinds::Status::Tombstone {
                return Err(Error::invalid(format!(
                    "{} is deleted; `bd restore` it first",
                    row.id
                )));
            }
            Ok(Target::Issue(row.id.clone()))
        }
    }
}

fn tokens(text: &str) -> Result<u64> {
    budget::parse_tokens(text).map_err(|e| Error::Invalid {
        msg: e,
        hint: Some("--tokens takes a whole number such as 50000".into()),
    })
}

fn usd(text: &str) -> Result<u64> {
    budget::parse_usd(text).map_err(|e| Error::Invalid {
        msg: e,
        hint: Some("--usd takes dollars such as 2.50".into()),
    })
}

fn write(ctx: &Session, rec: &BudgetRecord, subject: String) -> Result<()> {
    ctx.refuse_unmerged()?;
    log::append(&ctx.ws, log::BUDGET, std::slice::from_ref(rec))?;
    ctx.wrote.set(true);
    ctx.commit_later(subject);
    Ok(())
}

/// `bd budget set TARGET --tokens N [--usd X]`: the target's allocation
/// from now on (a line; the latest one counts), and whether it was
/// written (the same budget again writes nothing).
pub fn set(ctx: &Session, o: &SetOptions) -> Result<(BudgetRecord, bool)> {
    let limit = Limit {
        tokens: tokens(&o.tokens)?,
        micros: o.usd.as_deref().map(usd).transpose()?,
    };
    let snap = ctx.snapshot()?;
    let target = resolve_target(ctx, &snap, &o.target)?;
    // The same budget again: nothing to write.
    let (records, _) = log::read::<BudgetRecord>(&ctx.ws, log::BUDGET)?;
    let key = target.key();
    let current = Books::new(&records, &[]).current(&key).map(str::to_string);
    let cur = current.and_then(|id| records.into_iter().find(|r| r.id == id));
    if let Some(cur) = &cur
        && Books::limit_of(cur) == limit
    {
        crate::ops::unchanged(ctx, format!("{key} already has this budget"));
        return Ok((cur.clone(), false));
    }
    // After the allocation it replaces, whatever the clocks say (a clone
    // with a clock ahead must not freeze a budget): as the stamps of issues.
    let after = cur
        .as_ref()
        .and_then(|c| crate::model::time::parse(&c.at))
        .map_or(ctx.now, |t| ctx.now.max(t.saturating_add(1)));
    let rec = budget::allocation(&target, limit, after, &ctx.actor);
    write(
        ctx,
        &rec,
        format!("bd: budget {} {} tokens", target.key(), limit.tokens),
    )?;
    Ok((rec, true))
}

/// `bd budget spend --tokens N [--usd X] [--issue ID]`: the actor spent
/// this (on the issue it names, else the one it holds, else on no issue).
pub fn spend(ctx: &Session, o: &SpendOptions) -> Result<BudgetRecord> {
    let amount = Amount {
        tokens: o.tokens.as_deref().map(tokens).transpose()?.unwrap_or(0),
        micros: o.usd.as_deref().map(usd).transpose()?.unwrap_or(0),
    };
    if amount == Amount::default() {
        return Err(Error::Invalid {
            msg: "nothing to spend: give --tokens N (more than 0) or --usd X".into(),
            hint: None,
        });
    }
    let issue = match &o.issue {
        Some(q) => {
            let snap = ctx.snapshot()?;
            match resolve_target(ctx, &snap, q)? {
                Target::Issue(id) => Some(id),
                Target::Agent(_) => {
                    return Err(crate::ops::usage(
                        "--issue names an issue; the spend is always the actor's (--actor)",
                    ));
                }
            }
        }
        None => match crate::ops::prime::held(ctx)?.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            more => {
                return Err(crate::ops::usage(format!(
                    "you hold {}: name the issue (--issue ID)",
                    more.join(", ")
                )));
            }
        },
    };
    let rec = budget::spend(issue.as_deref(), &ctx.actor, amount, ctx.now, &ctx.actor);
    let on = issue
        .as_deref()
        .map(|i| format!(" on {i}"))
        .unwrap_or_default();
    write(ctx, &rec, format!("bd: spend {} tokens{on}", amount.tokens))?;
    Ok(rec)
}

/// One budget in the report: where it stands, and below it (an issue's
/// children and tracked items that have a budget or spent something).
#[derive(Debug, Clone, Serialize)]
pub struct BudgetNode {
    /// An issue id, or `agent:NAME`.
    pub target: String,
    /// `issue` or `agent`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub allocated_tokens: Option<u64>,
    pub allocated_usd: Option<f64>,
    pub spent_tokens: u64,
    pub spent_usd: f64,
    /// Held back by open budgets below it.
    pub reserved_tokens: u64,
    pub reserved_usd: f64,
    /// allocated - (spent + reserved); null without an allocation.
    pub left_tokens: Option<i64>,
    /// Null unless dollars were allocated.
    pub left_usd: Option<f64>,
    /// Nothing left of its own budget.
    pub exhausted: bool,
    /// Why a worker would not take this item now (its budget, one above
    /// it, a convoy's): `bd run` refuses it so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    pub children: Vec<BudgetNode>,
}

fn numbers(target: String, kind: &'static str, s: &Standing) -> BudgetNode {
    BudgetNode {
        target,
        kind,
        title: None,
        issue_type: None,
        status: None,
        allocated_tokens: s.allocated.map(|a| a.tokens),
        allocated_usd: s.allocated.and_then(|a| a.micros).map(budget::usd_of),
        spent_tokens: s.spent.tokens,
        spent_usd: budget::usd_of(s.spent.micros),
        reserved_tokens: s.reserved.tokens,
        reserved_usd: budget::usd_of(s.reserved.micros),
        left_tokens: s.left_tokens(),
        left_usd: s.left_micros().map(|m| m as f64 / budget::MICROS as f64),
        exhausted: s.exhausted().is_some(),
        refusal: None,
        children: Vec::new(),
    }
}

/// What the report shows below an issue: the issues with a budget or a
/// spend, and every issue above one of them.
fn relevant<'t>(tree: &'t Tree, books: &Books) -> std::collections::BTreeSet<&'t str> {
    let mut out = std::collections::BTreeSet::new();
    for id in books.targets().chain(books.spent_issues()) {
        out.extend(tree.above(id));
    }
    out
}

struct Reporter<'a> {
    snap: &'a Snapshot,
    budgets: Budgets<'a>,
    relevant: std::collections::BTreeSet<&'a str>,
}

impl Reporter<'_> {
    fn issue(&self, id: &str, path: &mut Vec<String>) -> BudgetNode {
        let tree = self.budgets.tree;
        let mut n = numbers(id.to_string(), "issue", &self.budgets.issue(id));
        if let Some(row) = self.snap.find(id) {
            n.title = Some(row.title.clone());
            n.issue_type = Some(row.issue_type.clone());
            n.status = Some(row.status.clone());
        }
        n.refusal = self.budgets.refusal(Some(id), "");
        path.push(id.to_string());
        for c in tree.down(id) {
            if self.relevant.contains(c.as_str()) && !path.contains(c) {
                n.children.push(self.issue(c, path));
            }
        }
        path.pop();
        n
    }

    fn agent(&self, name: &str) -> BudgetNode {
        let s = self.budgets.agent(name);
        let mut n = numbers(Target::Agent(name.to_string()).key(), "agent", &s);
        n.refusal = s
            .exhausted()
            .map(|why| format!("budget of agent {name} spent: {why}"));
        n
    }
}

/// What `bd budget` reports.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Report {
    /// One target (`bd budget ID`).
    One(Box<BudgetNode>),
    /// Every budgeted target: the issues with a budget and none above
    /// them, then the agents with a budget or a spend.
    All(Vec<BudgetNode>),
}

/// `bd budget [ID|agent:NAME]`.
pub fn report(ctx: &Session, target: Option<&str>) -> Result<Report> {
    let snap = ctx.snapshot()?;
    let books = books(ctx)?;
    let tree = tree(&snap);
    let r = Reporter {
        snap: &snap,
        budgets: Budgets::new(&tree, &books),
        relevant: relevant(&tree, &books),
    };
    if let Some(t) = target {
        return Ok(Report::One(Box::new(
            match resolve_target(ctx, &snap, t)? {
                Target::Issue(id) => r.issue(&id, &mut Vec::new()),
                Target::Agent(name) => r.agent(&name),
            },
        )));
    }
    let mut out = Vec::new();
    let mut agents = std::collections::BTreeSet::new();
    for key in books.targets() {
        match Target::parse(key) {
            Ok(Target::Agent(name)) => {
                agents.insert(name);
            }
            Ok(Target::Issue(id)) => {
                // A root: no budget above it.
                let above = tree.above(&id);
                let under_another = above.iter().skip(1).any(|a| books.allocation(a).is_some());
                if !under_another {
                    out.push(r.issue(&id, &mut Vec::new()));
                }
            }
            Err(_) => {}
        }
    }
    agents.extend(books.spending_agents().map(str::to_string));
    out.extend(agents.iter().map(|a| r.agent(a)));
    Ok(Report::All(out))
}

/// Why `agent` must not take `issue` now: the budget of the item, of an
/// issue above it or of a convoy tracking one of them is spent (tokens, or
/// dollars when dollars were allocated), unless an open budget between the
/// two pays for it; or the agent's own budget is spent. E.g. "budget of
/// epic bd-x spent: 1,200 of 1,000 tokens". `None` when it may.
/// The worker loop asks before it takes an item; with no budget anywhere
/// it reads only `budget.jsonl` and `runs.jsonl` (the issue is not looked
/// up). To ask about many items, load a [`Check`] once.
pub fn refusal(ctx: &Session, issue: &str, agent: &str) -> Result<Option<String>> {
    let check = Check::load(ctx)?;
    let Some(snap) = &check.snap else {
        return Ok(None);
    };
    let id = match snap.find(issue) {
        Some(r) => r.id.clone(),
        None => snap
            .resolve(issue, &ctx.prefix_of_rows(&snap.rows))?
            .id
            .clone(),
    };
    Ok(check.refusal(&id, agent))
}

/// The budgets read once, to ask [`refusal`]'s question about many items
/// (a worker going down the claimable list).
pub struct Check {
    books: Books,
    /// None when no budget exists: every answer is `None`.
    tree: Option<Tree>,
    snap: Option<Snapshot>,
    memo: crate::model::budget::Memo,
}

impl Check {
    pub fn load(ctx: &Session) -> Result<Check> {
        Check::from_books(ctx, books(ctx)?)
    }

    /// [`Check::load`] over the runs the caller has read already (the
    /// worker loop reads `runs.jsonl` once a round).
    pub fn load_with_runs(ctx: &Session, runs: &[RunRecord]) -> Result<Check> {
        Check::from_books(ctx, books_with(ctx, runs)?)
    }

    fn from_books(ctx: &Session, books: Books) -> Result<Check> {
        if books.targets().next().is_none() {
            // No budget at all (the common case): nothing more to load.
            return Ok(Check {
                books,
                tree: None,
                snap: None,
                memo: Default::default(),
            });
        }
        let snap = ctx.snapshot()?;
        Ok(Check {
            books,
            tree: Some(tree(&snap)),
            snap: Some(snap),
            memo: Default::default(),
        })
    }

    /// [`refusal`] for an item by its exact id (what it works out is kept
    /// for the next item).
    pub fn refusal(&self, issue: &str, agent: &str) -> Option<String> {
        let tree = self.tree.as_ref()?;
        Budgets::with_memo(tree, &self.books, &self.memo).refusal(Some(issue), agent)
    }

    /// Why `agent` may take no work at all: its own budget is spent.
    pub fn agent_refusal(&self, agent: &str) -> Option<String> {
        let tree = self.tree.as_ref()?;
        Budgets::with_memo(tree, &self.books, &self.memo).refusal(None, agent)
    }
}

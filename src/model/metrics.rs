//! Metrics of the worker loop (issue 13), pure: computed from the run
//! records of `.beads/runs.jsonl` and the tracker's state only, never from
//! the clock, so every clone with the same files computes the same numbers.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::budget::{micros_of, usd_of};
use crate::model::run::{Outcome, RunRecord};
use crate::model::time::{self, Nanos};

const NS: f64 = 1_000_000_000.0;

/// One agent's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentMetrics {
    pub agent: String,
    pub runs: usize,
    pub successes: usize,
    /// Distinct issues with a successful run.
    pub items_done: usize,
    /// successes / runs.
    pub success_rate: f64,
    /// The median duration of its successful runs, in seconds.
    pub median_success_secs: Option<f64>,
    pub tokens: u64,
    pub usd: f64,
    /// Time inside runs (overlapping runs counted once), in seconds.
    pub busy_secs: f64,
    /// From its first run's start to its last run's end, in seconds.
    pub span_secs: f64,
    /// busy / span (none when the span is empty).
    pub utilization: Option<f64>,
    pub first_start: String,
    pub last_end: String,
}

/// The numbers over every run (since a time, when asked).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub since: Option<String>,
    pub runs: usize,
    pub agents: Vec<AgentMetrics>,
    /// Distinct issues with a run.
    pub items: usize,
    /// Of those, the ones closed now.
    pub items_closed: usize,
    /// items_closed / items.
    pub completion_rate: Option<f64>,
    /// Distinct issues with a successful run.
    pub items_done: usize,
    /// From the first run's start to the last run's end, in hours.
    pub hours: f64,
    /// items_done / hours.
    pub throughput_per_hour: Option<f64>,
    /// Claimable work now (given by the caller).
    pub items_waiting: usize,
    pub tokens: u64,
    pub usd: f64,
    pub first_start: Option<String>,
    pub last_end: Option<String>,
    /// Per UTC day a run ended on, oldest first (issue 17's charts).
    pub per_day: Vec<DayMetrics>,
}

/// One UTC day of runs: those that ended on it, the items they finished,
/// and the hours agents spent in runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayMetrics {
    pub day: String,
    pub runs: usize,
    pub successes: usize,
    pub items_done: usize,
    pub busy_hours: f64,
    pub tokens: u64,
}

/// Runs by the UTC day they ended.
fn per_day(placed: &[Placed]) -> Vec<DayMetrics> {
    let mut days: BTreeMap<String, Vec<&Placed>> = BTreeMap::new();
    for p in placed {
        let day = time::format(p.end).get(..10).unwrap_or("").to_string();
        days.entry(day).or_default().push(p);
    }
    days.into_iter()
        .map(|(day, ps)| {
            let ok: Vec<&&Placed> = ps
                .iter()
                .filter(|p| p.run.outcome == Outcome::Success)
                .collect();
            let items: BTreeSet<&str> = ok.iter().map(|p| p.run.issue.as_str()).collect();
            let busy: i128 = ps
                .iter()
                .map(|p| i128::from(p.end) - i128::from(p.start))
                .sum();
            DayMetrics {
                day,
                runs: ps.len(),
                successes: ok.len(),
                items_done: items.len(),
                busy_hours: round(busy as f64 / NS / 3600.0, 4),
                tokens: ps
                    .iter()
                    .fold(0u64, |t, p| t.saturating_add(tokens_of(p.run))),
            }
        })
        .collect()
}

/// A run placed in time: start and end (an end before the start is the start).
struct Placed<'a> {
    run: &'a RunRecord,
    start: Nanos,
    end: Nanos,
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn secs(ns: i128) -> f64 {
    round(ns as f64 / NS, 3)
}

fn ratio(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| round(n as f64 / of as f64, 4))
}

fn tokens_of(r: &RunRecord) -> u64 {
    r.tokens
        .or_else(|| r.usage.as_ref().map(crate::model::run::Usage::tokens))
        .unwrap_or(0)
}

fn micros(r: &RunRecord) -> u64 {
    r.usage.as_ref().and_then(|u| u.usd).map_or(0, micros_of)
}

/// The length of the union of intervals.
fn covered(mut spans: Vec<(Nanos, Nanos)>) -> i128 {
    spans.sort();
    let mut total: i128 = 0;
    let mut cur: Option<(Nanos, Nanos)> = None;
    for (s, e) in spans {
        match cur {
            Some((cs, ce)) if s <= ce => cur = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += i128::from(ce) - i128::from(cs);
                cur = Some((s, e));
            }
            None => cur = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = cur {
        total += i128::from(ce) - i128::from(cs);
    }
    total
}

fn median(mut v: Vec<i128>) -> Option<i128> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

/// The metrics of `runs` started at or after `since`; `closed` says
/// whether an issue is closed now; `waiting` is the claimable work now.
/// Runs whose start time does not read are left out. The result does not
/// depend on the order of `runs`.
pub fn compute(
    runs: &[RunRecord],
    closed: impl Fn(&str) -> bool,
    since: Option<Nanos>,
    waiting: usize,
) -> Metrics {
    let placed: Vec<Placed> = runs
        .iter()
        .filter_map(|r| {
            let start = time::parse(&r.started_at)?;
            let end = time::parse(&r.ended_at).unwrap_or(start).max(start);
            Some(Placed { run: r, start, end })
        })
        .filter(|p| since.is_none_or(|s| p.start >= s))
        .collect();
    let mut by_agent: BTreeMap<&str, Vec<&Placed>> = BTreeMap::new();
    for p in &placed {
        by_agent.entry(p.run.agent.as_str()).or_default().push(p);
    }
    let done_items = |ps: &[&Placed]| -> BTreeSet<String> {
        ps.iter()
            .filter(|p| p.run.outcome == Outcome::Success)
            .map(|p| p.run.issue.clone())
            .collect()
    };
    let agents: Vec<AgentMetrics> = by_agent
        .iter()
        .map(|(agent, ps)| {
            let successes: Vec<&&Placed> = ps
                .iter()
                .filter(|p| p.run.outcome == Outcome::Success)
                .collect();
            let first = ps.iter().map(|p| p.start).min().unwrap_or(0);
            let last = ps.iter().map(|p| p.end).max().unwrap_or(0);
            let span = i128::from(last) - i128::from(first);
            let busy = covered(ps.iter().map(|p| (p.start, p.end)).collect());
            AgentMetrics {
                agent: agent.to_string(),
                runs: ps.len(),
                successes: successes.len(),
                items_done: done_items(ps).len(),
                success_rate: ratio(successes.len(), ps.len()).unwrap_or(0.0),
                median_success_secs: median(
                    successes
                        .iter()
                        .map(|p| i128::from(p.end) - i128::from(p.start))
                        .collect(),
                )
                .map(secs),
                tokens: ps
                    .iter()
                    .fold(0u64, |t, p| t.saturating_add(tokens_of(p.run))),
                usd: usd_of(ps.iter().fold(0u64, |t, p| t.saturating_add(micros(p.run)))),
                busy_secs: secs(busy),
                span_secs: secs(span),
                utilization: (span > 0).then(|| round(busy as f64 / span as f64, 4)),
                first_start: time::format(first),
                last_end: time::format(last),
            }
        })
        .collect();
    let all: Vec<&Placed> = placed.iter().collect();
    let items: BTreeSet<&str> = placed.iter().map(|p| p.run.issue.as_str()).collect();
    let items_closed = items.iter().filter(|i| closed(i)).count();
    let items_done = done_items(&all).len();
    let first = placed.iter().map(|p| p.start).min();
    let last = placed.iter().map(|p| p.end).max();
    let span_ns = match (first, last) {
        (Some(f), Some(l)) => i128::from(l) - i128::from(f),
        _ => 0,
    };
    let hours = span_ns as f64 / NS / 3600.0;
    Metrics {
        since: since.map(time::format),
        runs: placed.len(),
        agents,
        items: items.len(),
        items_closed,
        completion_rate: ratio(items_closed, items.len()),
        items_done,
        hours: round(hours, 4),
        throughput_per_hour: (span_ns > 0).then(|| round(items_done as f64 / hours, 4)),
        items_waiting: waiting,
        tokens: placed
            .iter()
            .fold(0u64, |t, p| t.saturating_add(tokens_of(p.run))),
        usd: usd_of(
            placed
                .iter()
                .fold(0u64, |t, p| t.saturating_add(micros(p.run))),
        ),
        first_start: first.map(time::format),
        last_end: last.map(time::format),
        per_day: per_day(&placed),
    }
}

/// `--since` as typed: a date `bd` reads anywhere (RFC 3339, `YYYY-MM-DD`,
/// `yesterday`), or a span back from `now` such as `7d`, `12h`, `-7d`
/// (a span here means that long ago, never ahead).
pub fn since(text: &str, now: Nanos) -> Option<Nanos> {
    let t = text.trim();
    let body = t.strip_prefix('-').unwrap_or(t);
    let is_span = body.len() >= 2
        && body[..body.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && matches!(
            body.as_bytes()[body.len() - 1],
            b's' | b'm' | b'h' | b'd' | b'w'
        );
    if is_span {
        let ahead = time::parse_user(body, 0)?;
        return now.checked_sub(ahead);
    }
    time::parse_user(t, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::run::Usage;

    const T0: i64 = 1_800_000_000 * 1_000_000_000;
    const MIN: i64 = 60 * 1_000_000_000;

    fn run(
        id: &str,
        issue: &str,
        agent: &str,
        start_min: i64,
        mins: i64,
        outcome: Outcome,
    ) -> RunRecord {
        RunRecord {
            id: id.into(),
            issue: issue.into(),
            agent: agent.into(),
            attempt: 1,
            started_at: time::format(T0 + start_min * MIN),
            ended_at: time::format(T0 + (start_min + mins) * MIN),
            outcome,
            exit_code: None,
            signal: None,
            reason: None,
            tokens: Some(100),
            usage: Some(Usage {
                usd: Some(0.1),
                ..Usage::default()
            }),
            command: "x".into(),
            branch: "b".into(),
            after: "left".into(),
            tail: vec![],
        }
    }

    fn sample() -> Vec<RunRecord> {
        use Outcome::*;
        vec![
            // ann: 0-10 success on 1, 20-30 failed on 2, 30-50 success on 2.
            run("r1", "bd-1", "ann", 0, 10, Success),
            run("r2", "bd-2", "ann", 20, 10, Failed),
            run("r3", "bd-2", "ann", 30, 20, Success),
            // bob: 0-60 and 30-90 overlapping, one success on 3.
            run("r4", "bd-3", "bob", 0, 60, Success),
            run("r5", "bd-4", "bob", 30, 60, Stalled),
        ]
    }

    #[test]
    fn numbers_by_hand() {
        let m = compute(&sample(), |i| i == "bd-1" || i == "bd-3", None, 7);
        assert_eq!(m.runs, 5);
        let ann = &m.agents[0];
        assert_eq!(ann.agent, "ann");
        assert_eq!((ann.runs, ann.successes, ann.items_done), (3, 2, 2));
        assert_eq!(ann.success_rate, 0.6667);
        // Successes of 10 and 20 minutes: the median is 15.
        assert_eq!(ann.median_success_secs, Some(900.0));
        assert_eq!((ann.tokens, ann.usd), (300, 0.3));
        // 40 minutes busy of 50.
        assert_eq!((ann.busy_secs, ann.span_secs), (2400.0, 3000.0));
        assert_eq!(ann.utilization, Some(0.8));
        let bob = &m.agents[1];
        assert_eq!(bob.median_success_secs, Some(3600.0));
        // Overlapping runs count once: 90 of 90 minutes.
        assert_eq!(bob.utilization, Some(1.0));
        assert_eq!((m.items, m.items_closed, m.items_done), (4, 2, 3));
        assert_eq!(m.completion_rate, Some(0.5));
        // 3 items done in 1.5 hours.
        assert_eq!(m.hours, 1.5);
        assert_eq!(m.throughput_per_hour, Some(2.0));
        assert_eq!(m.items_waiting, 7);
        assert_eq!((m.tokens, m.usd), (500, 0.5));
        assert_eq!(m.first_start.as_deref(), Some(time::format(T0).as_str()));
    }

    #[test]
    fn order_does_not_matter_and_since_cuts() {
        let mut runs = sample();
        let a = compute(&runs, |_| false, None, 0);
        runs.reverse();
        assert_eq!(compute(&runs, |_| false, None, 0), a);
        let m = compute(&runs, |_| false, Some(T0 + 25 * MIN), 0);
        assert_eq!(m.runs, 2);
        assert_eq!(m.agents.len(), 2);
        let none = compute(&[], |_| false, None, 0);
        assert_eq!(
            (none.runs, none.completion_rate, none.throughput_per_hour),
            (0, None, None)
        );
    }

    #[test]
    fn since_reads_spans_as_ago() {
        let now = T0;
        assert_eq!(since("7d", now), Some(now - 7 * 86_400 * 1_000_000_000));
        assert_eq!(since("-2h", now), Some(now - 2 * 3600 * 1_000_000_000));
        assert_eq!(
            since("2027-01-01", now),
            time::parse("2027-01-01T00:00:00Z")
        );
        assert_eq!(since("soon", now), None);
    }
}

//! The worker loop's pure parts (issue 13): the agent command's
//! placeholders, the usage an agent reports on its output, the run record
//! kept in `.beads/runs.jsonl`, and the retry rule.

use serde::{Deserialize, Serialize};

use crate::model::time::Nanos;

/// The placeholders an agent command may use, each as a whole argument.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("id", "the item's id"),
    ("title", "the item's title"),
    ("description", "the item's description"),
    (
        "prompt",
        "the prompt text (the item, its latest checkpoint, what to do)",
    ),
    ("prompt_file", "a file holding the prompt text"),
    (
        "prime_file",
        "a file holding `bd prime`'s text for the agent",
    ),
    ("worktree", "the item's worktree folder"),
    ("branch", "the item's branch"),
];

/// What a placeholder stands for, for one item.
#[derive(Debug, Clone, Default)]
pub struct Item {
    pub id: String,
    pub title: String,
    pub description: String,
    pub prompt: String,
    pub prompt_file: String,
    pub prime_file: String,
    pub worktree: String,
    pub branch: String,
}

impl Item {
    fn value(&self, name: &str) -> Option<&str> {
        Some(match name {
            "id" => &self.id,
            "title" => &self.title,
            "description" => &self.description,
            "prompt" => &self.prompt,
            "prompt_file" => &self.prompt_file,
            "prime_file" => &self.prime_file,
            "worktree" => &self.worktree,
            "branch" => &self.branch,
            _ => return None,
        })
    }
}

/// The name of a whole-argument placeholder: `{word}` of lower-case letters
/// and `_`.
fn whole_placeholder(arg: &str) -> Option<&str> {
    let name = arg.strip_prefix('{')?.strip_suffix('}')?;
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')).then_some(name)
}

/// Check an agent command before anything is claimed: it names a program,
/// every `{word}` argument is a known placeholder, and a known placeholder
/// never sits inside a longer argument (placeholders replace whole
/// arguments only: the values are other agents' text, and an argument is
/// never re-read by a shell, so there is nothing to quote).
pub fn check_command(args: &[String]) -> Result<(), String> {
    let Some(program) = args.first() else {
        return Err("no agent command: give it after `--` (bd run -- claude -p {prompt})".into());
    };
    if whole_placeholder(program).is_some() {
        return Err(format!(
            "the program itself cannot be a placeholder ({program})"
        ));
    }
    for a in args {
        if let Some(name) = whole_placeholder(a) {
            if !PLACEHOLDERS.iter().any(|(n, _)| *n == name) {
                return Err(format!(
                    "unknown placeholder {a} in the agent command (known: {})",
                    known()
                ));
            }
            continue;
        }
        if let Some((n, _)) = PLACEHOLDERS
            .iter()
            .find(|(n, _)| a.contains(&format!("{{{n}}}")))
        {
            return Err(format!(
                "placeholder {{{n}}} in the argument '{a}' must be an argument of its own (placeholders replace whole arguments only)"
            ));
        }
    }
    Ok(())
}

fn known() -> String {
    PLACEHOLDERS
        .iter()
        .map(|(n, _)| format!("{{{n}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The command with its placeholders replaced ([`check_command`] first).
pub fn expand(args: &[String], item: &Item) -> Vec<String> {
    args.iter()
        .map(|a| match whole_placeholder(a).and_then(|n| item.value(n)) {
            Some(v) => v.to_string(),
            None => a.clone(),
        })
        .collect()
}

/// Tokens and cost an agent reported on its output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Tokens read from the prompt cache (counted in `tokens`).
    pub cache_read_tokens: u64,
    /// Tokens written to the prompt cache (counted in `tokens`).
    pub cache_write_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usd: Option<f64>,
}

impl Usage {
    /// Every token the run processed.
    pub fn tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.output_tokens)
            .saturating_add(self.cache_read_tokens)
            .saturating_add(self.cache_write_tokens)
    }
}

/// Reads an agent's output line by line for the usage it reports: Claude
/// Code's result object (`--output-format json` or `stream-json`: `type`
/// `result`, `usage`, `total_cost_usd`), Codex's `exec --json` events
/// (`turn.completed` with `usage`, summed over turns).
#[derive(Debug, Clone, Default)]
pub struct UsageReader {
    claude: Option<Usage>,
    codex: Option<Usage>,
}

fn num(v: &serde_json::Value, key: &str) -> u64 {
    v.get(key).and_then(serde_json::Value::as_u64).unwrap_or(0)
}

impl UsageReader {
    pub fn line(&mut self, line: &str) {
        let t = line.trim();
        if !t.starts_with('{') || !t.contains("usage") && !t.contains("cost_usd") {
            return;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(t) else {
            return;
        };
        match v.get("type").and_then(serde_json::Value::as_str) {
            Some("result") => {
                // Claude: one result per session; the last one counts.
                let u = v.get("usage").cloned().unwrap_or_default();
                let usd = ["total_cost_usd", "cost_usd"]
                    .iter()
                    .find_map(|k| v.get(*k).and_then(serde_json::Value::as_f64))
                    // A run never costs a million dollars: a larger figure is
                    // not a report (an agent echoing text it was given).
                    .filter(|c| c.is_finite() && (0.0..1_000_000.0).contains(c));
                self.claude = Some(Usage {
                    input_tokens: num(&u, "input_tokens"),
                    output_tokens: num(&u, "output_tokens"),
                    cache_read_tokens: num(&u, "cache_read_input_tokens"),
                    cache_write_tokens: num(&u, "cache_creation_input_tokens"),
                    usd,
                });
            }
            Some("turn.completed") => {
                let Some(u) = v.get("usage") else { return };
                // Codex counts cached tokens inside its input tokens.
                let cached = num(u, "cached_input_tokens");
                let c = self.codex.get_or_insert_with(Usage::default);
                c.input_tokens += num(u, "input_tokens").saturating_sub(cached);
                c.cache_read_tokens += cached;
                c.output_tokens += num(u, "output_tokens");
            }
            _ => {}
        }
    }

    /// What was reported, if anything.
    pub fn usage(&self) -> Option<Usage> {
        self.claude.clone().or_else(|| self.codex.clone())
    }
}

/// The key order of a line in the append-only logs (`runs.jsonl`,
/// `budget.jsonl`): the fields of a run record, then those of budget
/// records; other keys follow in byte order.
pub const LOG_ORDER: &[&str] = &[
    "id",
    "kind",
    "issue",
    "agent",
    "target",
    "attempt",
    "started_at",
    "ended_at",
    "outcome",
    "exit_code",
    "signal",
    "reason",
    "tokens",
    "usd",
    "usage",
    "run",
    "command",
    "branch",
    "after",
    "at",
    "by",
    "tail",
];

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Exit status 0.
    Success,
    /// A non-zero exit status or a signal.
    Failed,
    /// No output for the stall limit: the process group was killed.
    Stalled,
    /// The worker was asked to stop (Ctrl-C, SIGTERM) and killed it.
    Interrupted,
    /// The worker died while it ran; found by the next worker of that agent.
    Lost,
    /// It could not start (no such program, no worktree).
    Error,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
            Outcome::Stalled => "stalled",
            Outcome::Interrupted => "interrupted",
            Outcome::Lost => "lost",
            Outcome::Error => "error",
        }
    }

    /// A failure that counts towards the retry limit (a stop asked for by
    /// a person does not).
    pub fn counts_as_failure(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::Stalled | Outcome::Lost | Outcome::Error
        )
    }
}

/// One run of an agent command on an item: a line of `.beads/runs.jsonl`.
/// Runs are facts, never edited: the file is a set of lines (merged as a
/// union), so runs recorded in several clones all survive a sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub issue: String,
    pub agent: String,
    /// 1 for the first run of the item since its last success or give-up.
    pub attempt: u32,
    pub started_at: String,
    pub ended_at: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The program run (its file name only: no local path is committed).
    pub command: String,
    pub branch: String,
    /// What the worker did with the item afterwards: `closed`, `released`,
    /// `left` (as the agent left it), `gave_up` (marked and released).
    pub after: String,
    /// The last lines of output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tail: Vec<String>,
}

impl RunRecord {
    pub fn started(&self) -> Nanos {
        crate::model::time::parse(&self.started_at).unwrap_or(0)
    }

    pub fn ended(&self) -> Nanos {
        crate::model::time::parse(&self.ended_at).unwrap_or(0)
    }

    /// The record as its line in `runs.jsonl`.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a run record serializes")
    }
}

/// A run's id: `run-` and 12 base36 characters of SHA-256 over the item,
/// the agent and the start (ns).
pub fn run_id(issue: &str, agent: &str, started: Nanos) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [issue.as_bytes(), agent.as_bytes(), &started.to_be_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    let b36 = crate::model::id::base36(&h.finalize());
    format!("run-{}", &b36[..12.min(b36.len())])
}

/// What the prompt of a run says.
pub struct PromptInput<'a> {
    pub agent: &'a str,
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub checkpoint: Option<&'a str>,
    pub worktree: &'a str,
    pub branch: &'a str,
    pub attempt: u32,
}

/// The prompt handed to an agent command (`{prompt}`, `{prompt_file}`):
/// the item, its latest checkpoint, where its code goes and the `bd`
/// calls that finish it. Titles and descriptions are other agents' text:
/// they are quoted as data, never as instructions to a shell.
pub fn prompt(p: &PromptInput) -> String {
    let mut s = format!("You are {}, working on {}: {}\n", p.agent, p.id, p.title);
    if p.attempt > 1 {
        s.push_str(&format!(
            "This is attempt {} (earlier runs failed; see the item's comments).\n",
            p.attempt
        ));
    }
    if !p.description.trim().is_empty() {
        s.push_str(&format!("\n{}\n", p.description.trim_end()));
    }
    if let Some(c) = p.checkpoint {
        s.push_str(&format!("\nLatest checkpoint:\n{}\n", c.trim_end()));
    }
    s.push_str(&format!(
        "\nYour worktree is {} on branch {}: commit your code there; the branch is \
         reviewed and merged by a person.\n\
         Record work with bd (its calls reach the project's tracker, not your branch):\n\
         - bd comment {id} \"what you found\"\n\
         - bd checkpoint {id} \"what is done\" --next \"what is next\"\n\
         - bd create \"new work\" --deps discovered-from:{id}\n\
         - bd close {id} --reason \"what was done\" when it is done\n",
        p.worktree,
        p.branch,
        id = p.id,
    ));
    s
}

/// The comment a worker leaves on the item after a run.
pub fn summary(r: &RunRecord, seconds: u64) -> String {
    let mut s = format!("Run {} by {}: {}", r.id, r.agent, r.outcome.word());
    match (r.exit_code, r.signal) {
        (Some(c), _) => s.push_str(&format!(" (exit {c})")),
        (None, Some(sig)) => s.push_str(&format!(" (signal {sig})")),
        _ => {}
    }
    s.push_str(&format!(" after {}", duration_words(seconds)));
    if let Some(t) = r.tokens {
        s.push_str(&format!(", {t} tokens"));
    }
    if let Some(usd) = r.usage.as_ref().and_then(|u| u.usd) {
        s.push_str(&format!(", ${usd:.2}"));
    }
    s.push_str(&format!("; branch {}", r.branch));
    if let Some(why) = &r.reason {
        s.push_str(&format!(". {why}"));
    }
    s.push_str(match r.after.as_str() {
        "closed" => ". Closed.",
        "released" => ". Released for another try.",
        "gave_up" => ". Given up: marked run-failed and released.",
        _ => ".",
    });
    s
}

/// `1h2m`, `3m12s`, `45s`.
pub fn duration_words(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// The label a worker puts on an item it gave up on (after the retry
/// limit); workers skip it until a person removes it.
pub const GAVE_UP_LABEL: &str = "run-failed";

/// The failures of an item's runs that count now: those after its last
/// success or give-up, in time order.
pub fn failures_since_reset<'a>(runs: &[&'a RunRecord]) -> Vec<&'a RunRecord> {
    let mut sorted: Vec<&RunRecord> = runs.to_vec();
    sorted.sort_by(|a, b| (a.started(), &a.id).cmp(&(b.started(), &b.id)));
    let start = sorted
        .iter()
        .rposition(|r| r.outcome == Outcome::Success || r.after == "gave_up")
        .map_or(0, |i| i + 1);
    sorted[start..]
        .iter()
        .copied()
        .filter(|r| r.outcome.counts_as_failure())
        .collect()
}

/// When an item that failed `failures` times, the last ending at
/// `last_end`, may run again: `backoff` doubled for each failure after the
/// first (capped at a day).
pub fn retry_at(last_end: Nanos, failures: usize, backoff_ns: i64) -> Nanos {
    if failures == 0 {
        return i64::MIN;
    }
    let factor = 1i64 << (failures - 1).min(20);
    let wait = backoff_ns
        .saturating_mul(factor)
        .min(86_400 * 1_000_000_000);
    last_end.saturating_add(wait)
}

/// The branch a worker gives an item: `bd/<id>`. An id of lower-case
/// letters, digits, `-`, `_` and lone dots (every id `bd` makes) is kept as
/// it is; any other byte, a dot next to a dot, a leading dot or `-`, and
/// the dot of a `.lock` ending are written `%XX`, so two ids never share a
/// branch and git accepts every one.
pub fn branch_for(id: &str) -> String {
    let b = id.as_bytes();
    let mut s = String::with_capacity(id.len() + 3);
    for (i, &c) in b.iter().enumerate() {
        let keep = match c {
            b'a'..=b'z' | b'0'..=b'9' | b'_' => true,
            b'-' => i > 0,
            b'.' => {
                i > 0
                    && i + 1 < b.len()
                    && b[i - 1] != b'.'
                    && b[i + 1] != b'.'
                    && !(i + 5 == b.len() && &b[i..] == b".lock")
            }
            _ => false,
        };
        if keep {
            s.push(c as char);
        } else {
            s.push_str(&format!("%{c:02X}"));
        }
    }
    format!("bd/{s}")
}

/// A line of output, its end trimmed and cut to `width` characters.
pub fn cut_line(line: &str, width: usize) -> String {
    let l = line.trim_end();
    if l.chars().count() > width {
        let mut s: String = l.chars().take(width).collect();
        s.push('…');
        s
    } else {
        l.to_string()
    }
}

/// The last `n` of `lines`, each cut to `width` characters.
pub fn tail_lines(
    lines: &std::collections::VecDeque<String>,
    n: usize,
    width: usize,
) -> Vec<String> {
    let skip = lines.len().saturating_sub(n);
    lines
        .iter()
        .skip(skip)
        .map(|l| cut_line(l, width))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn placeholders_are_whole_arguments_only() {
        assert!(check_command(&args(&["claude", "-p", "{prompt}"])).is_ok());
        assert!(check_command(&args(&["x", "{"])).is_ok());
        assert!(check_command(&args(&["x", r#"{"a":1}"#])).is_ok());
        let e = check_command(&args(&["x", "{nope}"])).unwrap_err();
        assert!(e.contains("unknown placeholder {nope}"), "{e}");
        let e = check_command(&args(&["x", "--issue={id}"])).unwrap_err();
        assert!(e.contains("argument of its own"), "{e}");
        assert!(check_command(&[]).is_err());
        assert!(check_command(&args(&["{id}"])).is_err());
    }

    #[test]
    fn expansion_keeps_text_as_text() {
        let item = Item {
            id: "bd-1".into(),
            title: "$(touch pwned); rm -rf /".into(),
            ..Item::default()
        };
        let out = expand(
            &args(&["sh", "-c", "echo", "{title}", "{id}", "{id"]),
            &item,
        );
        assert_eq!(
            out,
            args(&[
                "sh",
                "-c",
                "echo",
                "$(touch pwned); rm -rf /",
                "bd-1",
                "{id"
            ])
        );
    }

    #[test]
    fn usage_from_claude_and_codex() {
        let mut r = UsageReader::default();
        r.line("hello");
        assert_eq!(r.usage(), None);
        r.line(r#"{"type":"result","subtype":"success","total_cost_usd":0.25,"usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":20}}"#);
        let u = r.usage().unwrap();
        assert_eq!(u.tokens(), 135);
        assert_eq!(u.usd, Some(0.25));
        let mut c = UsageReader::default();
        for _ in 0..2 {
            c.line(r#"{"type":"turn.completed","usage":{"input_tokens":100,"cached_input_tokens":40,"output_tokens":7}}"#);
        }
        let u = c.usage().unwrap();
        assert_eq!(
            (u.input_tokens, u.cache_read_tokens, u.output_tokens),
            (120, 80, 14)
        );
        assert_eq!(u.tokens(), 214);
        assert_eq!(u.usd, None);
    }

    #[test]
    fn branches_are_valid_refs_and_never_shared() {
        assert_eq!(branch_for("bd-a1.2"), "bd/bd-a1.2");
        assert_eq!(branch_for("x y..z~^:"), "bd/x%20y%2E%2Ez%7E%5E%3A");
        assert_eq!(branch_for("a.lock"), "bd/a%2Elock");
        assert_eq!(branch_for(".."), "bd/%2E%2E");
        assert_eq!(branch_for("-x"), "bd/%2Dx");
        assert_ne!(branch_for("bd-a b"), branch_for("bd-a/b"));
        assert_ne!(branch_for("A"), branch_for("a"));
    }

    proptest::proptest! {
        #[test]
        fn branch_names_are_injective(a in "[a-zA-Z0-9. /%_-]{1,8}", b in "[a-zA-Z0-9. /%_-]{1,8}") {
            proptest::prop_assert_eq!(a == b, branch_for(&a) == branch_for(&b));
        }
    }

    fn rec(at: i64, outcome: Outcome, after: &str) -> RunRecord {
        RunRecord {
            id: format!("run-{at}"),
            issue: "bd-1".into(),
            agent: "a".into(),
            attempt: 1,
            started_at: crate::model::time::format(at),
            ended_at: crate::model::time::format(at + 1),
            outcome,
            exit_code: None,
            signal: None,
            reason: None,
            tokens: None,
            usage: None,
            command: "x".into(),
            branch: "bd/bd-1".into(),
            after: after.into(),
            tail: vec![],
        }
    }

    #[test]
    fn failures_count_from_the_last_success_or_give_up() {
        let a = rec(1, Outcome::Failed, "released");
        let b = rec(2, Outcome::Success, "closed");
        let c = rec(3, Outcome::Stalled, "released");
        let d = rec(4, Outcome::Interrupted, "released");
        let e = rec(5, Outcome::Failed, "released");
        let f = failures_since_reset(&[&e, &a, &c, &b, &d]);
        assert_eq!(
            f.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["run-3", "run-5"]
        );
        let g = rec(6, Outcome::Failed, "gave_up");
        assert!(failures_since_reset(&[&a, &g]).is_empty());
        assert_eq!(retry_at(100, 0, 10), i64::MIN);
        assert_eq!(retry_at(100, 1, 10), 110);
        assert_eq!(retry_at(100, 3, 10), 140);
    }
}

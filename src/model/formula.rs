//! Formulas (issue 16): classic beads' `*.formula.toml` workflow templates,
//! read unchanged, checked, and expanded into a plan of issues to pour.
//!
//! Pure: text in, typed formula or plan out. The pipeline, in classic's
//! order: parse → loops → advice → conditions (with the pour's variables) →
//! substitution → plan (numbers, edges, gates). Where classic loses data or
//! accepts what it cannot run, this module refuses with a line number
//! instead (DESIGN "Formulas, molecules and gates" lists each departure).

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

use crate::model::gate;

/// Built-in step types; `human` becomes a task labelled `human`.
pub const STEP_TYPES: [&str; 6] = ["task", "bug", "feature", "epic", "chore", "human"];
/// Formula types classic knows; only workflows pour.
pub const FORMULA_TYPES: [&str; 4] = ["workflow", "expansion", "aspect", "convoy"];
/// Handlebars words classic leaves alone in text.
const HANDLEBARS: [&str; 7] = ["else", "this", "root", "index", "key", "first", "last"];
/// A bound on what loops may expand to (a typo such as `1..10^9` must not
/// pour a billion issues).
pub const MAX_STEPS: usize = 2000;

/// A problem found in a formula: where (1-based line, 0 when the whole
/// file), which step, and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub message: String,
}

impl Problem {
    fn at(line: usize, step: Option<&str>, message: impl Into<String>) -> Problem {
        Problem {
            line,
            column: None,
            step: step.map(str::to_string),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(c) = self.column {
            write!(f, ", column {c}")?;
        }
        if let Some(s) = &self.step {
            write!(f, ", step {s:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct VarDef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    pub required: bool,
    #[serde(rename = "enum", skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(skip)]
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct GateDef {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub await_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

impl GateDef {
    /// What the gate waits on: a command gate's command, else `await_id`,
    /// else `id` (classic).
    pub fn target(&self) -> Option<&str> {
        if self.kind == gate::COMMAND {
            return self.command.as_deref().or(self.await_id.as_deref());
        }
        self.await_id.as_deref().or(self.id.as_deref())
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LoopDef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub var: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    pub body: Vec<Step>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Step {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub notes: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub acceptance: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// `needs` and `depends_on` together, in that order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waits_for: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateDef>,
    #[serde(rename = "loop", skip_serializing_if = "Option::is_none")]
    pub looping: Option<LoopDef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    #[serde(skip)]
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AdviceStep {
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Advice {
    pub target: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<AdviceStep>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<AdviceStep>,
    #[serde(skip)]
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Formula {
    pub formula: String,
    pub description: String,
    pub version: i64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pour: Option<bool>,
    pub vars: BTreeMap<String, VarDef>,
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub advice: Vec<Advice>,
    /// Keys classic documents that this version does not carry out
    /// (`extends`, `compose`, `template`, `expand`, …), with their lines:
    /// `check` reports them, `pour` refuses them.
    #[serde(skip)]
    pub unsupported: Vec<(usize, Option<String>, String)>,
}

// ---------------------------------------------------------------- parsing

#[derive(Deserialize)]
struct RawFormula {
    formula: Option<Spanned<String>>,
    description: Option<String>,
    version: Option<i64>,
    #[serde(rename = "type")]
    kind: Option<Spanned<String>>,
    phase: Option<String>,
    pour: Option<bool>,
    extends: Option<Spanned<toml::Value>>,
    #[serde(default)]
    vars: BTreeMap<String, Spanned<RawVar>>,
    #[serde(default)]
    steps: Vec<Spanned<RawStep>>,
    #[serde(default)]
    advice: Vec<Spanned<RawAdvice>>,
    compose: Option<Spanned<toml::Value>>,
    template: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawVar {
    Short(String),
    Full(RawVarFull),
}

#[derive(Deserialize)]
struct RawVarFull {
    description: Option<String>,
    default: Option<toml::Value>,
    #[serde(default)]
    required: bool,
    #[serde(rename = "enum", default)]
    choices: Vec<String>,
    pattern: Option<String>,
}

#[derive(Deserialize)]
struct RawStep {
    id: Option<String>,
    title: Option<String>,
    description: Option<String>,
    notes: Option<String>,
    acceptance: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    priority: Option<i64>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    needs: Vec<String>,
    #[serde(default)]
    depends_on: Vec<String>,
    waits_for: Option<String>,
    assignee: Option<String>,
    condition: Option<String>,
    #[serde(default)]
    children: Vec<Spanned<RawStep>>,
    gate: Option<RawGate>,
    #[serde(rename = "loop")]
    looping: Option<RawLoop>,
    metadata: Option<toml::Value>,
    expand: Option<toml::Value>,
    on_complete: Option<toml::Value>,
}

#[derive(Deserialize)]
struct RawGate {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<String>,
    await_id: Option<String>,
    timeout: Option<String>,
    command: Option<String>,
}

#[derive(Deserialize)]
struct RawLoop {
    count: Option<i64>,
    range: Option<String>,
    var: Option<String>,
    until: Option<String>,
    max: Option<i64>,
    #[serde(default)]
    body: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
struct RawAdvice {
    target: Option<String>,
    before: Option<RawAdviceStep>,
    after: Option<RawAdviceStep>,
    around: Option<RawAround>,
}

#[derive(Deserialize)]
struct RawAround {
    #[serde(default)]
    before: Vec<RawAdviceStep>,
    #[serde(default)]
    after: Vec<RawAdviceStep>,
}

#[derive(Deserialize)]
struct RawAdviceStep {
    id: Option<String>,
    title: Option<String>,
    description: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let upto = &text[..offset.min(text.len())];
    let line = upto.bytes().filter(|&b| b == b'\n').count() + 1;
    let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Value::from(*f),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => serde_json::Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// Parse a formula's TOML. A syntax or type error is one [`Problem`] with
/// its line and column.
pub fn parse(text: &str) -> Result<Formula, Problem> {
    let raw: RawFormula = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        Problem {
            line,
            column: (line > 0).then_some(column),
            step: None,
            message: e
                .message()
                .trim()
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("; "),
        }
    })?;
    let line = |span: std::ops::Range<usize>| line_col(text, span.start).0;
    let mut unsupported = Vec::new();
    if let Some(x) = &raw.extends {
        unsupported.push((line(x.span()), None, "extends".to_string()));
    }
    if let Some(x) = &raw.compose {
        unsupported.push((line(x.span()), None, "compose".to_string()));
    }
    if let Some(x) = &raw.template {
        unsupported.push((line(x.span()), None, "template".to_string()));
    }
    let vars = raw
        .vars
        .into_iter()
        .map(|(name, v)| {
            let l = line(v.span());
            let def = match v.into_inner() {
                RawVar::Short(d) => VarDef {
                    default: Some(d),
                    line: l,
                    ..VarDef::default()
                },
                RawVar::Full(f) => VarDef {
                    description: f.description,
                    default: f.default.map(|d| match d {
                        toml::Value::String(s) => s,
                        other => other.to_string(),
                    }),
                    required: f.required,
                    choices: f.choices,
                    pattern: f.pattern,
                    line: l,
                },
            };
            (name, def)
        })
        .collect();
    let steps = raw
        .steps
        .into_iter()
        .map(|s| step_of(text, s, &mut unsupported))
        .collect();
    let advice = raw
        .advice
        .into_iter()
        .map(|a| {
            let l = line(a.span());
            let a = a.into_inner();
            let conv = |s: RawAdviceStep| AdviceStep {
                id: s.id.unwrap_or_default(),
                title: s.title.unwrap_or_default(),
                description: s.description.unwrap_or_default(),
                kind: s.kind,
            };
            let mut before: Vec<AdviceStep> = a.before.into_iter().map(conv).collect();
            let mut after: Vec<AdviceStep> = a.after.into_iter().map(conv).collect();
            if let Some(r) = a.around {
                before.extend(r.before.into_iter().map(conv));
                after.extend(r.after.into_iter().map(conv));
            }
            Advice {
                target: a.target.unwrap_or_default(),
                before,
                after,
                line: l,
            }
        })
        .collect();
    let (name, _name_line) = match raw.formula {
        Some(n) => {
            let l = line(n.span());
            (n.into_inner(), l)
        }
        None => (String::new(), 0),
    };
    Ok(Formula {
        formula: name,
        description: raw.description.unwrap_or_default(),
        version: match raw.version {
            None | Some(0) => 1,
            Some(v) => v,
        },
        kind: raw
            .kind
            .map(|k| k.into_inner())
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "workflow".into()),
        phase: raw.phase,
        pour: raw.pour,
        vars,
        steps,
        advice,
        unsupported,
    })
}

fn step_of(
    text: &str,
    s: Spanned<RawStep>,
    unsupported: &mut Vec<(usize, Option<String>, String)>,
) -> Step {
    let line = line_col(text, s.span().start).0;
    let r = s.into_inner();
    let id = r.id.unwrap_or_default();
    if r.expand.is_some() {
        unsupported.push((line, Some(id.clone()), "expand".into()));
    }
    if r.on_complete.is_some() {
        unsupported.push((line, Some(id.clone()), "on_complete".into()));
    }
    let mut needs = r.needs;
    needs.extend(r.depends_on);
    Step {
        title: r.title.unwrap_or_default(),
        description: r.description.unwrap_or_default(),
        notes: r.notes.unwrap_or_default(),
        acceptance: r.acceptance.unwrap_or_default(),
        kind: r.kind,
        priority: r.priority,
        labels: r.labels,
        needs,
        waits_for: r.waits_for,
        assignee: r.assignee,
        condition: r.condition,
        children: r
            .children
            .into_iter()
            .map(|c| step_of(text, c, unsupported))
            .collect(),
        gate: r.gate.map(|g| GateDef {
            kind: g.kind.unwrap_or_default(),
            id: g.id,
            await_id: g.await_id,
            timeout: g.timeout,
            command: g.command,
        }),
        looping: r.looping.map(|l| LoopDef {
            count: l.count,
            range: l.range,
            var: l.var,
            until: l.until,
            max: l.max,
            body: l
                .body
                .into_iter()
                .map(|b| step_of(text, b, unsupported))
                .collect(),
        }),
        metadata: r.metadata.as_ref().map(toml_to_json),
        line,
        id,
    }
}

// ------------------------------------------------------------- variables

/// The `{{name}}` references in `text`, in order, names only.
pub fn references(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else { break };
        let name = &after[..j];
        if is_var_name(name) {
            out.push(name);
            rest = &after[j + 2..];
        } else {
            rest = &rest[i + 1..];
        }
    }
    out
}

fn is_var_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Replace each `{{name}}` that `vals` names; others stay as written.
pub fn substitute(text: &str, vals: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        match after.find("}}") {
            Some(j) if is_var_name(&after[..j]) => {
                out.push_str(&rest[..i]);
                match vals.get(&after[..j]) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[i..i + 2 + j + 2]),
                }
                rest = &after[j + 2..];
            }
            _ => {
                out.push_str(&rest[..i + 1]);
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A `pattern` compiled; the error says why not.
pub fn compile_pattern(p: &str) -> Result<regex_lite::Regex, String> {
    regex_lite::Regex::new(p).map_err(|e| {
        let first = e.to_string();
        let first = first.lines().last().unwrap_or("").trim().to_string();
        format!("pattern {p:?} is not a valid regular expression: {first}")
    })
}

/// The values a pour substitutes: given ones checked against the formula's
/// declarations (known, pattern, enum), defaults for the rest; an error
/// names every missing required variable.
pub fn resolve_vars(
    f: &Formula,
    given: &[(String, String)],
) -> Result<BTreeMap<String, String>, String> {
    let mut vals = BTreeMap::new();
    for (k, v) in given {
        let Some(def) = f.vars.get(k) else {
            let known: Vec<&str> = f.vars.keys().map(String::as_str).collect();
            return Err(if known.is_empty() {
                format!(
                    "unknown variable {k:?}: formula {} declares none",
                    f.formula
                )
            } else {
                format!(
                    "unknown variable {k:?}: formula {} declares {}",
                    f.formula,
                    known.join(", ")
                )
            });
        };
        check_value(k, def, v)?;
        vals.insert(k.clone(), v.clone());
    }
    let used = used_vars(f);
    let mut missing = Vec::new();
    for (k, def) in &f.vars {
        if vals.contains_key(k) {
            continue;
        }
        match &def.default {
            Some(d) => {
                vals.insert(k.clone(), d.clone());
            }
            None if def.required || used.contains(k.as_str()) => missing.push(k.as_str()),
            None => {}
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "missing required variables: {} (give them with {})",
            missing.join(", "),
            missing
                .iter()
                .map(|m| format!("--var {m}=<value>"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    Ok(vals)
}

fn check_value(name: &str, def: &VarDef, v: &str) -> Result<(), String> {
    if let Some(p) = &def.pattern {
        let re = compile_pattern(p)?;
        if !re.is_match(v) {
            return Err(format!(
                "variable {name} = {v:?} does not match its pattern {p}"
            ));
        }
    }
    if !def.choices.is_empty() && !def.choices.iter().any(|c| c == v) {
        return Err(format!(
            "variable {name} = {v:?} is not one of {}",
            def.choices.join(", ")
        ));
    }
    Ok(())
}

/// Every variable some text of the formula references.
fn used_vars(f: &Formula) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    out.extend(references(&f.description));
    fn walk<'a>(steps: &'a [Step], out: &mut BTreeSet<&'a str>) {
        for s in steps {
            for t in step_texts(s) {
                out.extend(references(t));
            }
            walk(&s.children, out);
            if let Some(l) = &s.looping {
                walk(&l.body, out);
                if let Some(r) = &l.range {
                    out.extend(references(r));
                }
            }
        }
    }
    walk(&f.steps, &mut out);
    out
}

fn step_texts(s: &Step) -> Vec<&str> {
    let mut t = vec![
        s.title.as_str(),
        s.description.as_str(),
        s.notes.as_str(),
        s.acceptance.as_str(),
    ];
    if let Some(c) = &s.condition {
        t.push(c);
    }
    if let Some(g) = &s.gate {
        t.extend(g.await_id.as_deref());
        t.extend(g.id.as_deref());
        t.extend(g.command.as_deref());
        t.extend(g.timeout.as_deref());
    }
    t
}

// ------------------------------------------------------------- conditions

/// A step condition (classic's four forms): `{{v}}`, `!{{v}}`,
/// `{{v}} == x`, `{{v}} != x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Always,
    Truthy(String),
    Falsy(String),
    Equals(String, String),
    Differs(String, String),
}

pub fn parse_condition(c: &str) -> Result<Condition, String> {
    let c = c.trim();
    if c.is_empty() {
        return Ok(Condition::Always);
    }
    let var = |s: &str| -> Option<String> {
        let s = s.trim();
        let inner = s.strip_prefix("{{")?.strip_suffix("}}")?.trim();
        is_var_name(inner).then(|| inner.to_string())
    };
    let unquote = |s: &str| {
        let s = s.trim();
        for q in ['"', '\''] {
            if let Some(x) = s.strip_prefix(q).and_then(|x| x.strip_suffix(q)) {
                return x.to_string();
            }
        }
        s.to_string()
    };
    for (op, neg) in [("==", false), ("!=", true)] {
        if let Some((l, r)) = c.split_once(op)
            && let Some(v) = var(l)
        {
            let r = unquote(r);
            return Ok(if neg {
                Condition::Differs(v, r)
            } else {
                Condition::Equals(v, r)
            });
        }
    }
    if let Some(rest) = c.strip_prefix('!')
        && let Some(v) = var(rest)
    {
        return Ok(Condition::Falsy(v));
    }
    if let Some(v) = var(c) {
        return Ok(Condition::Truthy(v));
    }
    Err(format!(
        "condition {c:?} is not one of {{{{var}}}}, !{{{{var}}}}, {{{{var}}}} == value, {{{{var}}}} != value"
    ))
}

impl Condition {
    pub fn var(&self) -> Option<&str> {
        match self {
            Condition::Always => None,
            Condition::Truthy(v)
            | Condition::Falsy(v)
            | Condition::Equals(v, _)
            | Condition::Differs(v, _) => Some(v),
        }
    }

    pub fn holds(&self, vals: &BTreeMap<String, String>) -> bool {
        let get = |v: &str| vals.get(v).map_or("", String::as_str);
        let truthy = |s: &str| {
            !matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "" | "false" | "0" | "no" | "off"
            )
        };
        match self {
            Condition::Always => true,
            Condition::Truthy(v) => truthy(get(v)),
            Condition::Falsy(v) => !truthy(get(v)),
            Condition::Equals(v, x) => get(v) == x,
            Condition::Differs(v, x) => get(v) != x,
        }
    }
}

// ----------------------------------------------------------------- ranges

/// Evaluate `A..B` (integers; `+ - * / ^`, parentheses) after putting the
/// variables in (`{{n}}` or `{n}`).
pub fn eval_range(range: &str, vals: &BTreeMap<String, String>) -> Result<(i64, i64), String> {
    let mut text = substitute(range, vals);
    for (k, v) in vals {
        text = text.replace(&format!("{{{k}}}"), v);
    }
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("range {range:?} is not START..END"))?;
    let start = eval_expr(a).map_err(|e| format!("range {range:?}: start: {e}"))?;
    let end = eval_expr(b).map_err(|e| format!("range {range:?}: end: {e}"))?;
    if end < start {
        return Err(format!(
            "range {range:?}: end ({end}) is less than start ({start})"
        ));
    }
    Ok((start, end))
}

fn eval_expr(s: &str) -> Result<i64, String> {
    if s.len() > 200 {
        return Err("expression longer than 200 characters".into());
    }
    struct P<'a> {
        b: &'a [u8],
        i: usize,
        depth: usize,
    }
    impl P<'_> {
        fn ws(&mut self) {
            while self.b.get(self.i).is_some_and(u8::is_ascii_whitespace) {
                self.i += 1;
            }
        }
        fn peek(&mut self) -> Option<u8> {
            self.ws();
            self.b.get(self.i).copied()
        }
        fn sum(&mut self) -> Result<f64, String> {
            let mut v = self.product()?;
            while let Some(c @ (b'+' | b'-')) = self.peek() {
                self.i += 1;
                let r = self.product()?;
                v = if c == b'+' { v + r } else { v - r };
            }
            Ok(v)
        }
        fn product(&mut self) -> Result<f64, String> {
            let mut v = self.power()?;
            while let Some(c @ (b'*' | b'/')) = self.peek() {
                self.i += 1;
                let r = self.power()?;
                if c == b'/' && r == 0.0 {
                    return Err("division by zero".into());
                }
                v = if c == b'*' { v * r } else { v / r };
            }
            Ok(v)
        }
        fn power(&mut self) -> Result<f64, String> {
            let base = self.unary()?;
            if self.peek() == Some(b'^') {
                self.i += 1;
                let e = self.power()?;
                return Ok(base.powf(e));
            }
            Ok(base)
        }
        fn deeper(&mut self) -> Result<(), String> {
            self.depth += 1;
            if self.depth > 32 {
                return Err("expression nested deeper than 32".into());
            }
            Ok(())
        }
        fn unary(&mut self) -> Result<f64, String> {
            self.deeper()?;
            let r = if self.peek() == Some(b'-') {
                self.i += 1;
                self.unary().map(|v| -v)
            } else {
                self.atom()
            };
            self.depth -= 1;
            r
        }
        fn atom(&mut self) -> Result<f64, String> {
            match self.peek() {
                Some(b'(') => {
                    self.i += 1;
                    let v = self.sum()?;
                    if self.peek() != Some(b')') {
                        return Err("missing ')'".into());
                    }
                    self.i += 1;
                    Ok(v)
                }
                Some(c) if c.is_ascii_digit() || c == b'.' => {
                    let st = self.i;
                    while self
                        .b
                        .get(self.i)
                        .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
                    {
                        self.i += 1;
                    }
                    let t = std::str::from_utf8(&self.b[st..self.i]).unwrap_or("");
                    t.parse().map_err(|_| format!("bad number {t:?}"))
                }
                Some(c) => Err(format!("unexpected character {:?}", c as char)),
                None => Err("unexpected end".into()),
            }
        }
    }
    let mut p = P {
        b: s.as_bytes(),
        i: 0,
        depth: 0,
    };
    let v = p.sum()?;
    if p.peek().is_some() {
        return Err(format!("unexpected character {:?}", p.b[p.i] as char));
    }
    if !v.is_finite() || v.abs() > 1e15 {
        return Err("value out of range".into());
    }
    Ok(v.trunc() as i64)
}

// ------------------------------------------------------------------ check

/// Every problem of a formula, alone (`vars` empty) or with the values a
/// pour would give (then missing, unknown and ill-formed values too).
pub fn check(f: &Formula, given: Option<&[(String, String)]>) -> Vec<Problem> {
    let mut out = Vec::new();
    if f.formula.trim().is_empty() {
        out.push(Problem::at(
            1,
            None,
            "the formula has no name (`formula = \"…\"`)",
        ));
    }
    if f.version < 1 {
        out.push(Problem::at(
            1,
            None,
            format!("version {} must be 1 or more", f.version),
        ));
    }
    if !FORMULA_TYPES.contains(&f.kind.as_str()) {
        out.push(Problem::at(
            1,
            None,
            format!(
                "unknown formula type {:?} (known: {})",
                f.kind,
                FORMULA_TYPES.join(", ")
            ),
        ));
    }
    for (line, step, what) in &f.unsupported {
        out.push(Problem::at(
            *line,
            step.as_deref(),
            format!("`{what}` is not supported by this version of bd"),
        ));
    }
    check_vars(f, &mut out);
    // Ids: every step, child and loop body, one namespace.
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    let mut all: Vec<&Step> = Vec::new();
    fn collect<'a>(steps: &'a [Step], all: &mut Vec<&'a Step>) {
        for s in steps {
            all.push(s);
            collect(&s.children, all);
            if let Some(l) = &s.looping {
                collect(&l.body, all);
            }
        }
    }
    collect(&f.steps, &mut all);
    if f.steps.is_empty() && f.kind == "workflow" {
        out.push(Problem::at(1, None, "the formula has no steps"));
    }
    for s in &all {
        let sid = (!s.id.is_empty()).then_some(s.id.as_str());
        if s.id.trim().is_empty() {
            out.push(Problem::at(s.line, None, "step has no id"));
        } else if !s
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            out.push(Problem::at(
                s.line,
                sid,
                "step id may hold only letters, digits, '-', '_' and '.'",
            ));
        } else if let Some(l) = first.get(s.id.as_str()) {
            out.push(Problem::at(
                s.line,
                sid,
                format!("duplicate step id (first defined at line {l})"),
            ));
        } else {
            first.insert(&s.id, s.line);
        }
        check_step(f, s, &mut out);
    }
    check_graph(&all, &first, &mut out);
    check_loop_needs(f, &mut out);
    check_advice(f, &mut out);
    if let Some(given) = given
        && let Err(e) = resolve_vars(f, given)
    {
        out.push(Problem::at(0, None, e));
    }
    out.sort_by_key(|p| p.line);
    out
}

fn check_vars(f: &Formula, out: &mut Vec<Problem>) {
    for (name, def) in &f.vars {
        if def.required && def.default.is_some() {
            out.push(Problem::at(
                def.line,
                None,
                format!("variable {name} is required and has a default: give one or the other"),
            ));
        }
        if let Some(p) = &def.pattern {
            match compile_pattern(p) {
                Err(e) => out.push(Problem::at(def.line, None, format!("variable {name}: {e}"))),
                Ok(_) => {
                    if let Some(d) = &def.default
                        && let Err(e) = check_value(name, def, d)
                    {
                        out.push(Problem::at(def.line, None, format!("default: {e}")));
                    }
                }
            }
        } else if let Some(d) = &def.default
            && let Err(e) = check_value(name, def, d)
        {
            out.push(Problem::at(def.line, None, format!("default: {e}")));
        }
    }
}

fn check_step(f: &Formula, s: &Step, out: &mut Vec<Problem>) {
    let sid = (!s.id.is_empty()).then_some(s.id.as_str());
    if s.title.trim().is_empty() && s.looping.is_none() {
        out.push(Problem::at(s.line, sid, "step has no title"));
    }
    if let Some(k) = &s.kind
        && !STEP_TYPES.contains(&k.as_str())
    {
        out.push(Problem::at(
            s.line,
            sid,
            format!("unknown step type {k:?} (known: {})", STEP_TYPES.join(", ")),
        ));
    }
    if let Some(p) = s.priority
        && !(0..=4).contains(&p)
    {
        out.push(Problem::at(s.line, sid, format!("priority {p} is not 0-4")));
    }
    if let Some(w) = &s.waits_for
        && parse_waits_for(w).is_none()
    {
        out.push(Problem::at(
            s.line,
            sid,
            format!("waits_for {w:?} is not all-children, any-children or children-of(<step>)"),
        ));
    }
    if let Some(c) = &s.condition {
        match parse_condition(c) {
            Err(e) => out.push(Problem::at(s.line, sid, e)),
            Ok(c) => {
                if let Some(v) = c.var()
                    && !f.vars.contains_key(v)
                {
                    out.push(Problem::at(
                        s.line,
                        sid,
                        format!("condition uses unknown variable {v:?}"),
                    ));
                }
            }
        }
    }
    if let Some(g) = &s.gate {
        if !gate::KINDS.contains(&g.kind.as_str()) {
            out.push(Problem::at(
                s.line,
                sid,
                format!(
                    "unknown gate type {:?} (known: {})",
                    g.kind,
                    gate::KINDS.join(", ")
                ),
            ));
        }
        if let Some(t) = &g.timeout
            && references(t).is_empty()
            && let Err(e) = gate::parse_duration(t)
        {
            out.push(Problem::at(s.line, sid, format!("gate timeout: {e}")));
        }
        if g.kind == gate::COMMAND && g.target().is_none_or(|c| c.trim().is_empty()) {
            out.push(Problem::at(s.line, sid, "command gate has no command"));
        }
    }
    if let Some(l) = &s.looping {
        let n = [l.count.is_some(), l.range.is_some(), l.until.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if n != 1 {
            out.push(Problem::at(
                s.line,
                sid,
                "loop needs exactly one of count, range or until",
            ));
        }
        if l.until.is_some() && l.max.is_none() {
            out.push(Problem::at(s.line, sid, "loop with until needs max"));
        }
        if l.body.is_empty() {
            out.push(Problem::at(s.line, sid, "loop has no body"));
        }
        if let Some(c) = l.count
            && !(0..=MAX_STEPS as i64).contains(&c)
        {
            out.push(Problem::at(
                s.line,
                sid,
                format!("loop count {c} is not 0-{MAX_STEPS}"),
            ));
        }
        if let Some(r) = &l.range
            && let Err(e) = eval_range(r, &defaults_or_one(f, r))
        {
            out.push(Problem::at(s.line, sid, e));
        }
        if !s.children.is_empty() {
            out.push(Problem::at(
                s.line,
                sid,
                "a loop step cannot also have children",
            ));
        }
    }
    // Variables: every {{name}} in a step's text is declared.
    for t in step_texts(s) {
        for r in references(t) {
            if !f.vars.contains_key(r) && !HANDLEBARS.contains(&r) {
                out.push(Problem::at(
                    s.line,
                    sid,
                    format!("unknown variable {{{{{r}}}}} (declare it under [vars.{r}])"),
                ));
            }
        }
    }
}

fn check_graph(all: &[&Step], first: &BTreeMap<&str, usize>, out: &mut Vec<Problem>) {
    // needs: known, and no cycle (over the written graph: a loop is one node).
    for s in all {
        for n in &s.needs {
            if !first.contains_key(n.as_str()) {
                out.push(Problem::at(
                    s.line,
                    Some(&s.id),
                    format!("needs unknown step {n:?}"),
                ));
            } else if n == &s.id {
                out.push(Problem::at(s.line, Some(&s.id), "step needs itself"));
            }
        }
        if let Some(w) = s.waits_for.as_deref().and_then(parse_waits_for)
            && let Some(x) = w.1
            && !first.contains_key(x.as_str())
        {
            out.push(Problem::at(
                s.line,
                Some(&s.id),
                format!("waits_for names unknown step {x:?}"),
            ));
        }
    }
    for s in all.iter().filter(|s| s.gate.is_some()) {
        let key = format!("gate-{}", s.id);
        if let Some(l) = first.get(key.as_str()) {
            out.push(Problem::at(
                s.line,
                Some(&s.id),
                format!("its gate would be named {key:?}, the id of the step at line {l}"),
            ));
        }
    }
    if let Some(cycle) = find_cycle(all) {
        let line = first.get(cycle[0].as_str()).copied().unwrap_or(0);
        out.push(Problem::at(
            line,
            Some(&cycle[0]),
            format!("needs form a cycle: {}", cycle.join(" -> ")),
        ));
    }
}

fn check_advice(f: &Formula, out: &mut Vec<Problem>) {
    for a in &f.advice {
        if a.target.trim().is_empty() {
            out.push(Problem::at(a.line, None, "advice has no target"));
        }
        if a.before.is_empty() && a.after.is_empty() {
            out.push(Problem::at(
                a.line,
                None,
                "advice has no before, after or around",
            ));
        }
        for s in a.before.iter().chain(&a.after) {
            // The id once `{step.id}` is put in: a step id's characters.
            let id = s.id.replace("{step.id}", "x").replace("{step.title}", "x");
            if s.id.trim().is_empty() {
                out.push(Problem::at(a.line, None, "advice step has no id"));
            } else if !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                out.push(Problem::at(
                    a.line,
                    Some(&s.id),
                    "advice step id may hold only letters, digits, '-', '_', '.' and {step.id}",
                ));
            }
            if let Some(k) = &s.kind
                && !STEP_TYPES.contains(&k.as_str())
            {
                out.push(Problem::at(
                    a.line,
                    Some(&s.id),
                    format!("unknown step type {k:?} (known: {})", STEP_TYPES.join(", ")),
                ));
            }
            for t in [&s.title, &s.description] {
                for r in references(t) {
                    if !f.vars.contains_key(r) && !HANDLEBARS.contains(&r) {
                        out.push(Problem::at(
                            a.line,
                            Some(&s.id),
                            format!("unknown variable {{{{{r}}}}} (declare it under [vars.{r}])"),
                        ));
                    }
                }
            }
        }
    }
}

/// A step outside a loop that needs a step of the loop's body: there is one
/// such step per iteration, so the need names none of them (need the loop).
fn check_loop_needs(f: &Formula, out: &mut Vec<Problem>) {
    fn bodies<'a>(steps: &'a [Step], inside: &mut BTreeMap<&'a str, &'a str>) {
        for s in steps {
            if let Some(l) = &s.looping {
                fn all<'a>(b: &'a [Step], lp: &'a str, inside: &mut BTreeMap<&'a str, &'a str>) {
                    for x in b {
                        inside.insert(&x.id, lp);
                        all(&x.children, lp, inside);
                        if let Some(l) = &x.looping {
                            all(&l.body, lp, inside);
                        }
                    }
                }
                all(&l.body, &s.id, inside);
            }
            bodies(&s.children, inside);
        }
    }
    let mut inside = BTreeMap::new();
    bodies(&f.steps, &mut inside);
    fn walk(
        steps: &[Step],
        inside: &BTreeMap<&str, &str>,
        within: Option<&str>,
        out: &mut Vec<Problem>,
    ) {
        for s in steps {
            for n in &s.needs {
                if let Some(lp) = inside.get(n.as_str())
                    && within != Some(*lp)
                    && inside.get(s.id.as_str()) != Some(lp)
                {
                    out.push(Problem::at(
                        s.line,
                        Some(&s.id),
                        format!("needs {n:?}, a step inside loop {lp:?}: need the loop itself"),
                    ));
                }
            }
            walk(&s.children, inside, within, out);
            if let Some(l) = &s.looping {
                walk(&l.body, inside, Some(&s.id), out);
            }
        }
    }
    walk(&f.steps, &inside, None, out);
}

/// Defaults, else `1`, for the variables a range names (so `check` can
/// test a range's form without the pour's values).
fn defaults_or_one(f: &Formula, range: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (k, d) in &f.vars {
        let named = range.contains(&format!("{{{k}}}"));
        if named {
            m.insert(k.clone(), d.default.clone().unwrap_or_else(|| "1".into()));
        }
    }
    m
}

/// `waits_for`: the gate (`all-children`/`any-children`) and the spawner
/// it names (`children-of(x)`), if any.
pub fn parse_waits_for(w: &str) -> Option<(&'static str, Option<String>)> {
    let w = w.trim();
    match w {
        "all-children" => Some(("all-children", None)),
        "any-children" => Some(("any-children", None)),
        _ => {
            let inner = w.strip_prefix("children-of(")?.strip_suffix(')')?.trim();
            (!inner.is_empty()).then(|| ("all-children", Some(inner.to_string())))
        }
    }
}

/// A cycle among `needs`, as ids (first repeated at the end).
fn find_cycle(all: &[&Step]) -> Option<Vec<String>> {
    let by: BTreeMap<&str, &Step> = all.iter().map(|s| (s.id.as_str(), *s)).collect();
    // 0 new, 1 on the path, 2 done
    let mut mark: BTreeMap<&str, u8> = BTreeMap::new();
    fn visit<'a>(
        id: &'a str,
        by: &BTreeMap<&'a str, &'a Step>,
        mark: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match mark.get(id) {
            Some(2) => return None,
            Some(1) => {
                let from = path.iter().position(|p| *p == id).unwrap_or(0);
                let mut c: Vec<String> = path[from..].iter().map(|s| s.to_string()).collect();
                c.push(id.to_string());
                return Some(c);
            }
            _ => {}
        }
        mark.insert(id, 1);
        path.push(id);
        if let Some(s) = by.get(id) {
            for n in &s.needs {
                if n != id
                    && by.contains_key(n.as_str())
                    && let Some(c) = visit(n.as_str(), by, mark, path)
                {
                    return Some(c);
                }
            }
        }
        path.pop();
        mark.insert(id, 2);
        None
    }
    for s in all {
        let mut path = Vec::new();
        if let Some(c) = visit(&s.id, &by, &mut mark, &mut path) {
            return Some(c);
        }
    }
    None
}

// ------------------------------------------------------------- expansion

/// Loops unrolled (`<loop>.iter<k>.<body id>`, iterations chained, the
/// loop's own needs on its first step, and needs of the loop on its last),
/// then advice woven in. `vals` fills ranges.
pub fn expand(f: &Formula, vals: &BTreeMap<String, String>) -> Result<Vec<Step>, String> {
    // The size first, loops multiplied out without building them: a
    // formula of a few lines must not take gigabytes before it is refused.
    let size = planned_size(&f.steps, vals)?;
    if size > MAX_STEPS {
        return Err(format!(
            "the formula expands to {size} issues or more, more than {MAX_STEPS}"
        ));
    }
    let mut renames: BTreeMap<String, String> = BTreeMap::new();
    let mut steps = unroll(&f.steps, vals, &mut renames)?;
    rename_needs(&mut steps, &renames);
    for a in &f.advice {
        weave(&mut steps, a);
        let count = tally(&steps);
        if count > MAX_STEPS {
            return Err(format!(
                "the formula expands to {count} issues or more with its advice (line {}), more than {MAX_STEPS}",
                a.line
            ));
        }
    }
    let mut seen = BTreeSet::new();
    fn dup<'a>(s: &'a [Step], seen: &mut BTreeSet<&'a str>) -> Option<&'a str> {
        for x in s {
            if !seen.insert(x.id.as_str()) {
                return Some(&x.id);
            }
            if let Some(d) = dup(&x.children, seen) {
                return Some(d);
            }
        }
        None
    }
    if let Some(d) = dup(&steps, &mut seen) {
        return Err(format!(
            "two steps are called {d:?} once loops and advice are applied (an advice step's id must be new)"
        ));
    }
    Ok(steps)
}

/// Items steps make (a gate counts), children included.
fn tally(s: &[Step]) -> usize {
    s.iter()
        .map(|x| 1 + usize::from(x.gate.is_some()) + tally(&x.children))
        .sum()
}

/// What unrolling would make, counted without unrolling (saturating).
fn planned_size(steps: &[Step], vals: &BTreeMap<String, String>) -> Result<usize, String> {
    let mut n: usize = 0;
    for s in steps {
        let own = match &s.looping {
            None => 1usize
                .saturating_add(usize::from(s.gate.is_some()))
                .saturating_add(planned_size(&s.children, vals)?),
            Some(l) => {
                let times: u128 = if let Some(c) = l.count {
                    c.max(0) as u128
                } else if let Some(r) = &l.range {
                    let (a, b) =
                        eval_range(r, vals).map_err(|e| format!("step {:?}: {e}", s.id))?;
                    (b as i128 - a as i128 + 1).max(0) as u128
                } else {
                    1
                };
                let body = planned_size(&l.body, vals)? as u128;
                usize::try_from(times.saturating_mul(body)).unwrap_or(usize::MAX)
            }
        };
        n = n.saturating_add(own);
        if n > MAX_STEPS {
            return Ok(n);
        }
    }
    Ok(n)
}

fn unroll(
    steps: &[Step],
    vals: &BTreeMap<String, String>,
    renames: &mut BTreeMap<String, String>,
) -> Result<Vec<Step>, String> {
    let mut out = Vec::new();
    for s in steps {
        let Some(l) = &s.looping else {
            let mut s = s.clone();
            s.children = unroll(&s.children, vals, renames)?;
            out.push(s);
            continue;
        };
        let values: Vec<i64> = if let Some(c) = l.count {
            (1..=c.max(0)).collect()
        } else if let Some(r) = &l.range {
            let (a, b) = eval_range(r, vals).map_err(|e| format!("step {:?}: {e}", s.id))?;
            if (b - a) as u128 + 1 > MAX_STEPS as u128 {
                return Err(format!(
                    "step {:?}: range {r:?} gives {} iterations, more than {MAX_STEPS}",
                    s.id,
                    b - a + 1
                ));
            }
            (a..=b).collect()
        } else {
            vec![1]
        };
        let body_ids: BTreeSet<&str> = l.body.iter().map(|b| b.id.as_str()).collect();
        let mut prev_last: Option<String> = None;
        let mut first_of_loop: Option<String> = None;
        for (k, value) in values.iter().enumerate() {
            let k = k + 1;
            let id_of = |b: &str| format!("{}.iter{k}.{b}", s.id);
            let mut iter: Vec<Step> = Vec::new();
            for b in &l.body {
                let mut c = b.clone();
                c.id = id_of(&b.id);
                c.needs = b
                    .needs
                    .iter()
                    .map(|n| {
                        if body_ids.contains(n.as_str()) {
                            id_of(n)
                        } else {
                            n.clone()
                        }
                    })
                    .collect();
                if let Some(v) = &l.var {
                    let pat = format!("{{{v}}}");
                    let val = value.to_string();
                    c.title = c.title.replace(&pat, &val);
                    c.description = c.description.replace(&pat, &val);
                }
                if let (Some(u), Some(m)) = (&l.until, l.max)
                    && iter.is_empty()
                {
                    c.labels.push(format!(
                        "loop:{}",
                        serde_json::json!({"max": m, "until": u})
                    ));
                }
                iter.push(c);
            }
            let mut iter = unroll(&iter, vals, renames)?;
            if let Some(first) = iter.first_mut() {
                match &prev_last {
                    Some(p) => first.needs.push(p.clone()),
                    None => first.needs.extend(s.needs.iter().cloned()),
                }
                first_of_loop.get_or_insert_with(|| first.id.clone());
            }
            prev_last = iter.last().map(|x| x.id.clone()).or(prev_last);
            out.extend(iter);
        }
        // Whoever needs the loop needs its last step.
        if let Some(last) = prev_last {
            renames.insert(s.id.clone(), last);
        } else {
            renames.insert(s.id.clone(), String::new());
        }
    }
    Ok(out)
}

fn rename_needs(steps: &mut [Step], renames: &BTreeMap<String, String>) {
    for s in steps {
        s.needs = s
            .needs
            .iter()
            .filter_map(|n| match renames.get(n) {
                Some(r) if r.is_empty() => None,
                Some(r) => Some(r.clone()),
                None => Some(n.clone()),
            })
            .collect();
        rename_needs(&mut s.children, renames);
    }
}

/// `*` and `?` globs over step ids.
pub fn glob_match(pat: &str, s: &str) -> bool {
    // The iterative matcher: on a mismatch, retry from the last `*` one
    // byte further (no recursion, so no exponential backtracking).
    let (p, s) = (pat.as_bytes(), s.as_bytes());
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || (p[pi] != b'*' && p[pi] == s[si])) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// Insert advice around every step (at any depth) whose id matches; the
/// inserted steps are never themselves advised. Steps that needed the
/// target need the last after-step.
fn weave(steps: &mut Vec<Step>, a: &Advice) {
    let targets: Vec<String> = {
        let mut t = Vec::new();
        fn walk(s: &[Step], a: &Advice, t: &mut Vec<String>) {
            for x in s {
                if glob_match(&a.target, &x.id) {
                    t.push(x.id.clone());
                }
                walk(&x.children, a, t);
            }
        }
        walk(steps, a, &mut t);
        t
    };
    let mut successor: BTreeMap<String, String> = BTreeMap::new();
    for t in &targets {
        insert_around(steps, t, a, &mut successor);
    }
    fn rewire(s: &mut [Step], successor: &BTreeMap<String, String>, inserted: &BTreeSet<String>) {
        for x in s.iter_mut() {
            if !inserted.contains(&x.id) {
                for n in x.needs.iter_mut() {
                    if let Some(r) = successor.get(n) {
                        *n = r.clone();
                    }
                }
            }
            rewire(&mut x.children, successor, inserted);
        }
    }
    let inserted: BTreeSet<String> = successor.values().cloned().collect();
    // The first after-step needs the target itself: it keeps its edge.
    let mut keep: BTreeSet<String> = inserted.clone();
    fn ids(s: &[Step], out: &mut BTreeSet<String>, a: &Advice, targets: &[String]) {
        for x in s {
            for t in targets {
                for st in a.after.iter().chain(&a.before) {
                    if x.id == advice_text(&st.id, t, "") {
                        out.insert(x.id.clone());
                    }
                }
            }
            ids(&x.children, out, a, targets);
        }
    }
    ids(steps, &mut keep, a, &targets);
    rewire(steps, &successor, &keep);
}

fn advice_text(t: &str, id: &str, title: &str) -> String {
    t.replace("{step.id}", id).replace("{step.title}", title)
}

fn insert_around(
    steps: &mut Vec<Step>,
    target: &str,
    a: &Advice,
    successor: &mut BTreeMap<String, String>,
) -> bool {
    let Some(pos) = steps.iter().position(|s| s.id == target) else {
        for s in steps.iter_mut() {
            if insert_around(&mut s.children, target, a, successor) {
                return true;
            }
        }
        return false;
    };
    let t = steps[pos].clone();
    let make = |st: &AdviceStep| Step {
        id: advice_text(&st.id, &t.id, &t.title),
        title: {
            let x = advice_text(&st.title, &t.id, &t.title);
            if x.is_empty() {
                advice_text(&st.id, &t.id, &t.title)
            } else {
                x
            }
        },
        description: advice_text(&st.description, &t.id, &t.title),
        kind: st.kind.clone(),
        line: a.line,
        ..Step::default()
    };
    let mut before: Vec<Step> = a.before.iter().map(make).collect();
    for i in 1..before.len() {
        let p = before[i - 1].id.clone();
        before[i].needs.push(p);
    }
    if let Some(last) = before.last().map(|l| l.id.clone()) {
        // The target's own needs move to the first before-step.
        let first_needs = std::mem::take(&mut steps[pos].needs);
        before[0].needs.splice(0..0, first_needs);
        steps[pos].needs.push(last);
    }
    let mut after: Vec<Step> = a.after.iter().map(make).collect();
    for i in 0..after.len() {
        let p = if i == 0 {
            t.id.clone()
        } else {
            after[i - 1].id.clone()
        };
        after[i].needs.push(p);
    }
    if let Some(last) = after.last() {
        successor.insert(t.id.clone(), last.id.clone());
    }
    let n_before = before.len();
    for (i, b) in before.into_iter().enumerate() {
        steps.insert(pos + i, b);
    }
    let at = pos + n_before + 1;
    for (i, x) in after.into_iter().enumerate() {
        steps.insert(at + i, x);
    }
    true
}

/// Steps whose condition does not hold, and their children, are dropped;
/// needs of dropped steps go with them.
pub fn filter_conditions(steps: Vec<Step>, vals: &BTreeMap<String, String>) -> Vec<Step> {
    let mut dropped = BTreeSet::new();
    fn keep(
        steps: Vec<Step>,
        vals: &BTreeMap<String, String>,
        dropped: &mut BTreeSet<String>,
    ) -> Vec<Step> {
        let mut out = Vec::new();
        for mut s in steps {
            let holds = s
                .condition
                .as_deref()
                .map(|c| parse_condition(c).map(|c| c.holds(vals)).unwrap_or(true))
                .unwrap_or(true);
            if holds {
                s.children = keep(std::mem::take(&mut s.children), vals, dropped);
                out.push(s);
            } else {
                fn all(s: &Step, d: &mut BTreeSet<String>) {
                    d.insert(s.id.clone());
                    s.children.iter().for_each(|c| all(c, d));
                }
                all(&s, dropped);
            }
        }
        out
    }
    let mut kept = keep(steps, vals, &mut dropped);
    fn prune(s: &mut [Step], d: &BTreeSet<String>) {
        for x in s {
            x.needs.retain(|n| !d.contains(n));
            prune(&mut x.children, d);
        }
    }
    prune(&mut kept, &dropped);
    kept
}

// ------------------------------------------------------------------ plan

/// One issue a pour creates (the root is not one of them).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Planned {
    /// The step's id, or `gate-<step id>` for a gate.
    pub key: String,
    /// Child numbers from the root: `[3]` is `<root>.3`, `[3, 1]` is
    /// `<root>.3.1`.
    pub path: Vec<u32>,
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub notes: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub acceptance: String,
    pub issue_type: String,
    pub priority: i64,
    pub labels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Keys of the issues this one waits on (`blocks` edges).
    pub blocked_by: Vec<String>,
    /// `(spawner key, all-children | any-children)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waits_for: Option<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateDef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// What a pour makes: the root's title and text, then the issues in
/// order (depth first; a gate right after its step).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Plan {
    pub formula: String,
    pub title: String,
    pub description: String,
    pub vars: BTreeMap<String, String>,
    pub issues: Vec<Planned>,
}

/// The whole pipeline for a pour: check, values, loops, advice,
/// conditions, substitution, numbering. Errors are one line each.
pub fn plan(f: &Formula, given: &[(String, String)]) -> Result<Plan, String> {
    if let Some(p) = check(f, None).into_iter().next() {
        return Err(format!("formula {}: {p}", f.formula));
    }
    if f.kind != "workflow" && f.kind != "convoy" {
        return Err(format!(
            "formula {} is of type {}: only workflow formulas pour",
            f.formula, f.kind
        ));
    }
    let vals = resolve_vars(f, given)?;
    let steps = filter_conditions(expand(f, &vals)?, &vals);
    if steps.is_empty() {
        return Err(format!(
            "formula {}: no step is left once conditions are applied",
            f.formula
        ));
    }
    let sub = |t: &str| substitute(t, &vals);
    let title = match (f.vars.contains_key("title"), vals.get("title")) {
        (true, Some(t)) if !t.trim().is_empty() => t.clone(),
        _ => f.formula.clone(),
    };
    let description = match (f.vars.contains_key("desc"), vals.get("desc")) {
        (true, Some(d)) => d.clone(),
        _ => sub(&f.description),
    };
    let mut issues = Vec::new();
    fn place(
        steps: &[Step],
        prefix: &[u32],
        out: &mut Vec<Planned>,
        sub: &dyn Fn(&str) -> String,
    ) -> Result<(), String> {
        let mut n = 0u32;
        for s in steps {
            n += 1;
            let mut path = prefix.to_vec();
            path.push(n);
            let human = s.kind.as_deref() == Some("human");
            let issue_type = if !s.children.is_empty() {
                "epic".to_string()
            } else {
                match s.kind.as_deref() {
                    Some(k @ ("task" | "bug" | "feature" | "epic" | "chore")) => k.to_string(),
                    _ => "task".to_string(),
                }
            };
            let mut labels = s
                .labels
                .iter()
                .map(|l| {
                    crate::model::values::check_label(l)
                        .map_err(|e| format!("step {:?}: label {l:?}: {e}", s.id))
                })
                .collect::<Result<Vec<_>, String>>()?;
            if human {
                labels.push("human".into());
            }
            labels.sort();
            labels.dedup();
            let mut blocked_by = s.needs.clone();
            let gate_key = format!("gate-{}", s.id);
            if s.gate.is_some() {
                blocked_by.push(gate_key.clone());
            }
            let waits_for =
                s.waits_for
                    .as_deref()
                    .and_then(parse_waits_for)
                    .and_then(|(kind, spawner)| {
                        spawner
                            .or_else(|| s.needs.first().cloned())
                            .map(|sp| (sp, kind.to_string()))
                    });
            let title = sub(&s.title);
            crate::model::values::check_title(&title)
                .map_err(|e| format!("step {:?}: {e}", s.id))?;
            let mut metadata = s.metadata.clone().unwrap_or(serde_json::json!({}));
            if let Some(m) = metadata.as_object_mut() {
                m.insert("formula_step".into(), serde_json::json!(s.id));
            }
            out.push(Planned {
                key: s.id.clone(),
                path: path.clone(),
                title,
                description: sub(&s.description),
                notes: sub(&s.notes),
                acceptance: sub(&s.acceptance),
                issue_type,
                priority: s.priority.unwrap_or(2),
                labels,
                assignee: s.assignee.clone().filter(|a| !a.trim().is_empty()),
                blocked_by,
                waits_for,
                gate: None,
                metadata: Some(metadata),
            });
            if let Some(g) = &s.gate {
                n += 1;
                let mut gpath = prefix.to_vec();
                gpath.push(n);
                let g = GateDef {
                    kind: g.kind.clone(),
                    id: g.id.as_deref().map(sub),
                    await_id: g.await_id.as_deref().map(sub),
                    timeout: g.timeout.as_deref().map(sub),
                    command: g.command.as_deref().map(sub),
                };
                if let Some(t) = &g.timeout {
                    gate::parse_duration(t)
                        .map_err(|e| format!("step {:?}: gate timeout: {e}", s.id))?;
                }
                let title = match g.target() {
                    Some(t) if !t.is_empty() => format!("Gate: {} {}", g.kind, t),
                    _ => format!("Gate: {}", g.kind),
                };
                out.push(Planned {
                    key: gate_key,
                    path: gpath,
                    title: crate::model::values::check_title(&title)
                        .unwrap_or_else(|_| format!("Gate: {}", g.kind)),
                    description: format!("Gate for step {}", s.id),
                    notes: String::new(),
                    acceptance: String::new(),
                    issue_type: "gate".into(),
                    priority: s.priority.unwrap_or(2),
                    labels: vec![],
                    assignee: None,
                    blocked_by: vec![],
                    waits_for: None,
                    gate: Some(g),
                    metadata: Some(serde_json::json!({"formula_step": format!("gate-{}", s.id)})),
                });
            }
            place(&s.children, &path, out, sub)?;
        }
        Ok(())
    }
    place(&steps, &[], &mut issues, &sub)?;
    Ok(Plan {
        formula: f.formula.clone(),
        title,
        description,
        vars: vals,
        issues,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    const BASIC: &str = r#"
formula = "basic"
description = "Ship {{thing}}"
version = 1

[vars.thing]
description = "what"
required = true
pattern = "^[a-z]+$"

[vars.mode]
default = "fast"
enum = ["fast", "slow"]

[[steps]]
id = "a"
title = "Start {{thing}}"

[[steps]]
id = "b"
title = "Gate it"
needs = ["a"]
[steps.gate]
type = "timer"
timeout = "1h"

[[steps]]
id = "c"
title = "Slow path"
needs = ["b"]
condition = "{{mode}} == slow"
"#;

    #[test]
    fn parses_and_plans_with_gates_and_conditions() {
        let f = parse(BASIC).unwrap();
        assert_eq!(check(&f, None), vec![]);
        let p = plan(&f, &vars(&[("thing", "rocket")])).unwrap();
        let keys: Vec<&str> = p.issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "gate-b"]);
        assert_eq!(p.issues[0].title, "Start rocket");
        assert_eq!(p.issues[1].blocked_by, ["a", "gate-b"]);
        assert_eq!(p.issues[2].path, [3]);
        assert_eq!(p.issues[2].issue_type, "gate");
        assert_eq!(p.description, "Ship rocket");
        let p = plan(&f, &vars(&[("thing", "rocket"), ("mode", "slow")])).unwrap();
        assert_eq!(p.issues.len(), 4);
        assert_eq!(p.issues[3].blocked_by, ["b"]);
    }

    #[test]
    fn bad_values_are_refused() {
        let f = parse(BASIC).unwrap();
        assert!(
            plan(&f, &[])
                .unwrap_err()
                .contains("missing required variables: thing")
        );
        assert!(
            plan(&f, &vars(&[("thing", "Rocket!")]))
                .unwrap_err()
                .contains("pattern")
        );
        assert!(
            plan(&f, &vars(&[("thing", "a"), ("mode", "odd")]))
                .unwrap_err()
                .contains("not one of")
        );
        assert!(
            plan(&f, &vars(&[("thing", "a"), ("moed", "x")]))
                .unwrap_err()
                .contains("unknown variable \"moed\"")
        );
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = parse("formula = \"x\"\n[[steps]]\nid = \"a\"\ntitle = \n").unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.column.is_some());
        let e = parse("formula = \"x\"\n[[steps]]\nid = \"a\"\npriority = \"high\"\n").unwrap_err();
        assert!(e.line >= 2, "{e}");
    }

    #[test]
    fn check_names_lines_and_steps() {
        let text = "formula = \"x\"\n\n[[steps]]\nid = \"a\"\ntitle = \"A {{nope}}\"\nneeds = [\"b\"]\n\n[[steps]]\nid = \"b\"\ntitle = \"B\"\nneeds = [\"a\"]\ntype = \"robot\"\n\n[[steps]]\nid = \"c\"\ntitle = \"C\"\nneeds = [\"zz\"]\n";
        let f = parse(text).unwrap();
        let p = check(&f, None);
        let msgs: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("line 3, step \"a\": unknown variable {{nope}}")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("line 8, step \"b\": unknown step type \"robot\"")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("step \"c\": needs unknown step \"zz\"")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.contains("cycle: a -> b -> a")),
            "{msgs:?}"
        );
    }

    #[test]
    fn loops_unroll_and_chain() {
        let text = r#"
formula = "l"
[vars.n]
default = "3"
[[steps]]
id = "prep"
title = "Prep"
[[steps]]
id = "each"
title = "Each"
needs = ["prep"]
[steps.loop]
range = "1..{{n}}"
var = "i"
[[steps.loop.body]]
id = "build"
title = "Build {i}"
[[steps.loop.body]]
id = "test"
title = "Test {i}"
needs = ["build"]
[[steps]]
id = "done"
title = "Done"
needs = ["each"]
"#;
        let f = parse(text).unwrap();
        assert_eq!(check(&f, None), vec![]);
        let p = plan(&f, &vars(&[("n", "2")])).unwrap();
        let got: Vec<(String, String, Vec<String>)> = p
            .issues
            .iter()
            .map(|i| (i.key.clone(), i.title.clone(), i.blocked_by.clone()))
            .collect();
        let s = |x: &str| x.to_string();
        assert_eq!(
            got,
            vec![
                (s("prep"), s("Prep"), vec![]),
                (s("each.iter1.build"), s("Build 1"), vec![s("prep")]),
                (
                    s("each.iter1.test"),
                    s("Test 1"),
                    vec![s("each.iter1.build")]
                ),
                (
                    s("each.iter2.build"),
                    s("Build 2"),
                    vec![s("each.iter1.test")]
                ),
                (
                    s("each.iter2.test"),
                    s("Test 2"),
                    vec![s("each.iter2.build")]
                ),
                (s("done"), s("Done"), vec![s("each.iter2.test")]),
            ]
        );
        let f2 = parse(&text.replace("1..{{n}}", "1..10^9")).unwrap();
        assert!(plan(&f2, &[]).unwrap_err().contains("more than"));
    }

    #[test]
    fn advice_wraps_targets() {
        let text = r#"
formula = "adv"
[[steps]]
id = "impl"
title = "Implement"
[[steps]]
id = "ship"
title = "Ship"
needs = ["impl"]
[[advice]]
target = "im*"
before = { id = "plan-{step.id}", title = "Plan {step.title}" }
after = { id = "review-{step.id}", title = "Review {step.title}" }
"#;
        let f = parse(text).unwrap();
        assert_eq!(check(&f, None), vec![]);
        let p = plan(&f, &[]).unwrap();
        let got: Vec<(&str, Vec<String>)> = p
            .issues
            .iter()
            .map(|i| (i.key.as_str(), i.blocked_by.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("plan-impl", vec![]),
                ("impl", vec!["plan-impl".to_string()]),
                ("review-impl", vec!["impl".to_string()]),
                ("ship", vec!["review-impl".to_string()]),
            ]
        );
        assert_eq!(p.issues[2].title, "Review Implement");
    }

    #[test]
    fn conditions_parse_and_hold() {
        let m: BTreeMap<String, String> = [("a".to_string(), "yes".to_string())].into();
        assert!(parse_condition("{{a}}").unwrap().holds(&m));
        assert!(!parse_condition("!{{a}}").unwrap().holds(&m));
        assert!(parse_condition("{{a}} == 'yes'").unwrap().holds(&m));
        assert!(parse_condition("{{b}} != x").unwrap().holds(&m));
        assert!(!parse_condition("{{b}}").unwrap().holds(&m));
        assert!(parse_condition("a and b").is_err());
    }

    #[test]
    fn substitution_leaves_what_it_does_not_know() {
        let m: BTreeMap<String, String> = [("v".to_string(), "1.2".to_string())].into();
        assert_eq!(
            substitute("v{{v}} {{ x }} {{w}} {{", &m),
            "v1.2 {{ x }} {{w}} {{"
        );
        assert_eq!(references("{{a}} {{ b }} {{c_1}}"), ["a", "c_1"]);
        assert_eq!(
            eval_range("1..{{v}}*2", &[("v".into(), "3".into())].into()).unwrap(),
            (1, 6)
        );
        assert_eq!(
            eval_range("2^3..(10-1)/1", &BTreeMap::new()).unwrap(),
            (8, 9)
        );
        assert!(eval_range("5..1", &BTreeMap::new()).is_err());
        assert!(eval_range("1..1/0", &BTreeMap::new()).is_err());
    }

    #[test]
    fn hostile_formulas_are_refused_quickly() {
        // Three nested loops of 2,000: refused before anything is built.
        let nest = "formula = \"n\"\n[[steps]]\nid = \"a\"\ntitle = \"A\"\n[steps.loop]\nrange = \"1..2000\"\n[[steps.loop.body]]\nid = \"b\"\ntitle = \"B\"\n[steps.loop.body.loop]\nrange = \"1..2000\"\n[[steps.loop.body.loop.body]]\nid = \"c\"\ntitle = \"C\"\n";
        let f = parse(nest).unwrap();
        assert!(plan(&f, &[]).unwrap_err().contains("more than"));
        // Advice on every step, many times over: stopped at the bound.
        let mut adv = String::from("formula = \"adv\"\n[[steps]]\nid = \"a\"\ntitle = \"A\"\n");
        for i in 0..16 {
            adv.push_str(&format!("[[advice]]\ntarget = \"*\"\nbefore = {{ id = \"b{i}-{{step.id}}\" }}\nafter = {{ id = \"a{i}-{{step.id}}\" }}\n"));
        }
        let f = parse(&adv).unwrap();
        assert!(plan(&f, &[]).unwrap_err().contains("more than"));
        // A glob that backtracks, a range nested past reason.
        assert!(!glob_match("*a*a*a*a*a*a*a*a*b", &"a".repeat(60)));
        let deep = format!("{}1{}..2", "(".repeat(50), ")".repeat(50));
        assert!(eval_range(&deep, &BTreeMap::new()).is_err());
        assert!(eval_range(&format!("{}1..2", "-".repeat(150)), &BTreeMap::new()).is_err());
    }

    #[test]
    fn advice_ids_must_be_new_and_loop_bodies_are_not_needed_from_outside() {
        let text = "formula = \"x\"\n[[steps]]\nid = \"a\"\ntitle = \"A\"\n[[steps]]\nid = \"post-a\"\ntitle = \"P\"\n[[advice]]\ntarget = \"a\"\nafter = { id = \"post-{step.id}\" }\n";
        let f = parse(text).unwrap();
        assert!(
            plan(&f, &[])
                .unwrap_err()
                .contains("two steps are called \"post-a\"")
        );
        let text = "formula = \"x\"\n[[steps]]\nid = \"l\"\ntitle = \"L\"\n[steps.loop]\ncount = 2\n[[steps.loop.body]]\nid = \"inner\"\ntitle = \"I\"\n[[steps]]\nid = \"after\"\ntitle = \"After\"\nneeds = [\"inner\"]\n";
        let f = parse(text).unwrap();
        let p = check(&f, None);
        assert!(
            p.iter().any(|p| p.message.contains("inside loop \"l\"")),
            "{p:?}"
        );
        let text = "formula = \"x\"\n[[steps]]\nid = \"a\"\ntitle = \"A\"\nlabels = [\"\"]\n";
        assert!(
            plan(&parse(text).unwrap(), &[])
                .unwrap_err()
                .contains("label")
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", "x.y"));
        assert!(glob_match("impl*", "impl-2"));
        assert!(glob_match("*.test", "a.test"));
        assert!(!glob_match("a?", "a"));
    }
}

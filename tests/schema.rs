//! The JSON Schemas in `schema/` (docs/FORMAT.md) checked against what `bd`
//! reads and writes: every line of the classic fixture and of the real v0.47.0
//! export, the `issues.jsonl`, `mail.jsonl`, hook files and `config.toml`
//! that `bd` writes, and the `--json` output of every command, errors included. The validator is a small
//! one written here for the subset of draft 2020-12 the schemas use; any other
//! keyword in a schema is an error, so a schema cannot silently claim more than
//! is checked.
mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use common::{Run, TestEnvironment};
use serde_json::{Value, json};

// ------------------------------------------------------------ a tiny regex

/// The regular expressions JSON Schema `pattern` needs here: literals, `.`,
/// classes (`[a-z_]`, `[^ ]`, `\d \w \s` and their negations), groups with
/// `|`, the quantifiers `* + ? {n} {n,} {n,m}`, and the anchors `^ $`.
/// Unanchored patterns match anywhere, as in JSON Schema.
mod re {
    use std::collections::BTreeSet;

    #[derive(Debug, Clone)]
    enum Atom {
        Char(char),
        Any,
        Class(Vec<(char, char)>, bool),
        Start,
        End,
        Group(Vec<Vec<Piece>>),
    }

    #[derive(Debug, Clone)]
    struct Piece {
        atom: Atom,
        min: usize,
        max: Option<usize>,
    }

    #[derive(Debug)]
    pub struct Regex {
        alts: Vec<Vec<Piece>>,
    }

    const DIGIT: &[(char, char)] = &[('0', '9')];
    const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
    const SPACE: &[(char, char)] = &[
        (' ', ' '),
        ('\t', '\t'),
        ('\n', '\n'),
        ('\r', '\r'),
        ('\x0b', '\x0c'),
    ];

    struct Parser {
        chars: Vec<char>,
        i: usize,
    }

    impl Parser {
        fn peek(&self) -> Option<char> {
            self.chars.get(self.i).copied()
        }

        fn next(&mut self) -> Result<char, String> {
            let c = self.peek().ok_or("pattern ends too early")?;
            self.i += 1;
            Ok(c)
        }

        fn alts(&mut self) -> Result<Vec<Vec<Piece>>, String> {
            let mut alts = vec![self.seq()?];
            while self.peek() == Some('|') {
                self.i += 1;
                alts.push(self.seq()?);
            }
            Ok(alts)
        }

        fn seq(&mut self) -> Result<Vec<Piece>, String> {
            let mut out = Vec::new();
            while let Some(c) = self.peek() {
                if c == '|' || c == ')' {
                    break;
                }
                let atom = self.atom()?;
                let (min, max) = self.quantifier()?;
                out.push(Piece { atom, min, max });
            }
            Ok(out)
        }

        fn atom(&mut self) -> Result<Atom, String> {
            Ok(match self.next()? {
                '(' => {
                    if self.peek() == Some('?') {
                        self.i += 1;
                        if self.next()? != ':' {
                            return Err("only (?: groups are supported".into());
                        }
                    }
                    let g = self.alts()?;
                    if self.next()? != ')' {
                        return Err("unclosed group".into());
                    }
                    Atom::Group(g)
                }
                '[' => self.class()?,
                '.' => Atom::Any,
                '^' => Atom::Start,
                '$' => Atom::End,
                '\\' => match self.escape()? {
                    Ok(c) => Atom::Char(c),
                    Err((set, neg)) => Atom::Class(set.to_vec(), neg),
                },
                c @ ('*' | '+' | '?' | '{' | '}' | ']') => {
                    return Err(format!("'{c}' has nothing to apply to"));
                }
                c => Atom::Char(c),
            })
        }

        /// After a backslash: a literal, or a shorthand class (and whether negated).
        #[allow(clippy::type_complexity)]
        fn escape(&mut self) -> Result<Result<char, (&'static [(char, char)], bool)>, String> {
            Ok(match self.next()? {
                'd' => Err((DIGIT, false)),
                'D' => Err((DIGIT, true)),
                'w' => Err((WORD, false)),
                'W' => Err((WORD, true)),
                's' => Err((SPACE, false)),
                'S' => Err((SPACE, true)),
                'n' => Ok('\n'),
                't' => Ok('\t'),
                c if c.is_ascii_alphanumeric() => {
                    return Err(format!("unsupported escape \\{c}"));
                }
                c => Ok(c),
            })
        }

        fn class(&mut self) -> Result<Atom, String> {
            let mut neg = false;
            if self.peek() == Some('^') {
                neg = true;
                self.i += 1;
            }
            let mut set = Vec::new();
            loop {
                let c = self.next()?;
                if c == ']' && !set.is_empty() {
                    break;
                }
                let lo = if c == '\\' {
                    match self.escape()? {
                        Ok(c) => c,
                        Err((s, false)) => {
                            set.extend_from_slice(s);
                            continue;
                        }
                        Err((_, true)) => return Err("negated shorthand in a class".into()),
                    }
                } else {
                    c
                };
                if self.peek() == Some('-') && self.chars.get(self.i + 1) != Some(&']') {
                    self.i += 1;
                    let mut hi = self.next()?;
                    if hi == '\\' {
                        hi = self
                            .escape()?
                            .map_err(|_| "a shorthand cannot end a range".to_string())?;
                    }
                    if hi < lo {
                        return Err(format!("bad range {lo}-{hi}"));
                    }
                    set.push((lo, hi));
                } else {
                    set.push((lo, lo));
                }
            }
            Ok(Atom::Class(set, neg))
        }

        fn number(&mut self) -> Option<usize> {
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            self.chars[start..self.i]
                .iter()
                .collect::<String>()
                .parse()
                .ok()
        }

        fn quantifier(&mut self) -> Result<(usize, Option<usize>), String> {
            let q = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => {
                    self.i += 1;
                    let min = self.number().ok_or("{ needs a number")?;
                    let max = match self.next()? {
                        '}' => return Ok((min, Some(min))),
                        ',' if self.peek() == Some('}') => None,
                        ',' => Some(self.number().ok_or("{n,m} needs m")?),
                        c => return Err(format!("unexpected '{c}' in {{}}")),
                    };
                    if self.next()? != '}' {
                        return Err("unclosed {".into());
                    }
                    if max.is_some_and(|m| m < min) {
                        return Err("{n,m} with m < n".into());
                    }
                    return Ok((min, max));
                }
                _ => return Ok((1, Some(1))),
            };
            self.i += 1;
            if matches!(self.peek(), Some('?' | '+')) {
                return Err("lazy and possessive quantifiers are not supported".into());
            }
            Ok(q)
        }
    }

    fn ends_atom(atom: &Atom, s: &[char], pos: usize) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let here = s.get(pos).copied();
        match atom {
            Atom::Char(c) => {
                if here == Some(*c) {
                    out.insert(pos + 1);
                }
            }
            Atom::Any => {
                if here.is_some_and(|c| c != '\n') {
                    out.insert(pos + 1);
                }
            }
            Atom::Class(set, neg) => {
                if let Some(c) = here
                    && set.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *neg
                {
                    out.insert(pos + 1);
                }
            }
            Atom::Start => {
                if pos == 0 {
                    out.insert(pos);
                }
            }
            Atom::End => {
                if pos == s.len() {
                    out.insert(pos);
                }
            }
            Atom::Group(alts) => out = ends_alts(alts, s, pos),
        }
        out
    }

    fn ends_piece(p: &Piece, s: &[char], pos: usize) -> BTreeSet<usize> {
        let mut result = BTreeSet::new();
        if p.min == 0 {
            result.insert(pos);
        }
        let mut frontier = BTreeSet::from([pos]);
        let mut seen = frontier.clone();
        let mut count = 0;
        while !frontier.is_empty() && p.max != Some(count) {
            let next: BTreeSet<usize> = frontier
                .iter()
                .flat_map(|&q| ends_atom(&p.atom, s, q))
                .collect();
            count += 1;
            if count >= p.min {
                result.extend(next.iter().copied());
                // Past the minimum, a position seen before can lead nowhere new.
                frontier = next.difference(&seen).copied().collect();
                seen.extend(next);
            } else {
                frontier = next;
            }
        }
        result
    }

    fn ends_alts(alts: &[Vec<Piece>], s: &[char], pos: usize) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        for seq in alts {
            let mut cur = BTreeSet::from([pos]);
            for p in seq {
                cur = cur.iter().flat_map(|&q| ends_piece(p, s, q)).collect();
                if cur.is_empty() {
                    break;
                }
            }
            out.extend(cur);
        }
        out
    }

    impl Regex {
        pub fn new(pattern: &str) -> Result<Regex, String> {
            let mut p = Parser {
                chars: pattern.chars().collect(),
                i: 0,
            };
            let alts = p.alts()?;
            if p.i != p.chars.len() {
                return Err(format!("unexpected ')' at {}", p.i));
            }
            Ok(Regex { alts })
        }

        /// Whether the pattern matches anywhere in `text`.
        pub fn is_match(&self, text: &str) -> bool {
            let s: Vec<char> = text.chars().collect();
            (0..=s.len()).any(|start| !ends_alts(&self.alts, &s, start).is_empty())
        }
    }
}

// ------------------------------------------------------------ the validator

const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Keywords that only describe; they never fail an instance.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "$defs",
    "title",
    "description",
    "examples",
    "default",
    "format",
];

/// Keywords the validator checks.
const ASSERTIONS: &[&str] = &[
    "$ref",
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "prefixItems",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "allOf",
    "anyOf",
    "oneOf",
];

fn schema_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema")
}

/// Loads schema files on demand and validates instances against them.
struct Validator {
    docs: RefCell<HashMap<PathBuf, Rc<Value>>>,
}

impl Validator {
    fn new() -> Validator {
        Validator {
            docs: RefCell::new(HashMap::new()),
        }
    }

    fn load(&self, path: &Path) -> Rc<Value> {
        let path = path
            .canonicalize()
            .unwrap_or_else(|e| panic!("schema {}: {e}", path.display()));
        if let Some(d) = self.docs.borrow().get(&path) {
            return d.clone();
        }
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("schema {}: {e}", path.display()));
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("schema {} is not JSON: {e}", path.display()));
        let rc = Rc::new(v);
        self.docs.borrow_mut().insert(path, rc.clone());
        rc
    }

    /// Resolve a `$ref` written in `file`: (the target's file, its document, the pointer).
    fn resolve(
        &self,
        file: &Path,
        reference: &str,
    ) -> Result<(PathBuf, Rc<Value>, String), String> {
        let (rel, frag) = reference.split_once('#').unwrap_or((reference, ""));
        let target = if rel.is_empty() {
            file.to_path_buf()
        } else {
            let p = file.parent().unwrap_or(Path::new(".")).join(rel);
            p.canonicalize()
                .map_err(|e| format!("$ref {reference}: {}: {e}", p.display()))?
        };
        let doc = self.load(&target);
        if !frag.is_empty() && !frag.starts_with('/') {
            return Err(format!(
                "$ref {reference}: only JSON pointers are supported"
            ));
        }
        if doc.pointer(frag).is_none() {
            return Err(format!("$ref {reference}: nothing at {frag}"));
        }
        Ok((target, doc, frag.to_string()))
    }

    /// Errors of `inst` against the schema file `name` (relative to `schema/`).
    fn errors(&self, name: &str, inst: &Value) -> Vec<String> {
        let file = schema_root().join(name);
        let doc = self.load(&file);
        let mut errs = Vec::new();
        self.check(&file, &doc, inst, "", &mut errs);
        errs
    }

    fn check(&self, file: &Path, schema: &Value, inst: &Value, at: &str, errs: &mut Vec<String>) {
        let here = if at.is_empty() { "(root)" } else { at };
        let s = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => {
                errs.push(format!("{here}: not allowed here"));
                return;
            }
            Value::Object(m) => m,
            other => {
                errs.push(format!(
                    "{}: schema is not an object: {other}",
                    file.display()
                ));
                return;
            }
        };
        for k in s.keys() {
            if !ASSERTIONS.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()) {
                errs.push(format!("{}: unsupported keyword {k}", file.display()));
            }
        }
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            match self.resolve(file, r) {
                Ok((target, doc, frag)) => {
                    let sub = doc.pointer(&frag).expect("resolve checked the pointer");
                    self.check(&target, sub, inst, at, errs);
                }
                Err(e) => errs.push(format!("{}: {e}", file.display())),
            }
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(x) => vec![x.as_str()],
                Value::Array(xs) => xs.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !types.iter().any(|ty| is_type(inst, ty)) {
                errs.push(format!(
                    "{here}: expected {}, got {}",
                    types.join(" or "),
                    short(inst)
                ));
                return;
            }
        }
        if let Some(opts) = s.get("enum").and_then(Value::as_array)
            && !opts.contains(inst)
        {
            errs.push(format!(
                "{here}: {} is not one of {}",
                short(inst),
                Value::Array(opts.clone())
            ));
        }
        if let Some(c) = s.get("const")
            && c != inst
        {
            errs.push(format!("{here}: {} is not {c}", short(inst)));
        }
        if let Value::Object(obj) = inst {
            let props = s.get("properties").and_then(Value::as_object);
            for req in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let req = req.as_str().unwrap_or_default();
                if !obj.contains_key(req) {
                    errs.push(format!("{here}: missing required '{req}'"));
                }
            }
            for (k, v) in obj {
                let sub_at = format!("{at}/{k}");
                match props.and_then(|p| p.get(k)) {
                    Some(sub) => self.check(file, sub, v, &sub_at, errs),
                    None => {
                        if let Some(ap) = s.get("additionalProperties") {
                            self.check(file, ap, v, &sub_at, errs);
                        }
                    }
                }
            }
        }
        if let Value::Array(items) = inst {
            // `items` applies to what `prefixItems` (position by position) leaves.
            let prefix = s.get("prefixItems").and_then(Value::as_array);
            for (i, (sub, v)) in prefix.into_iter().flatten().zip(items).enumerate() {
                self.check(file, sub, v, &format!("{at}/{i}"), errs);
            }
            if let Some(sub) = s.get("items") {
                let skip = prefix.map_or(0, Vec::len);
                for (i, v) in items.iter().enumerate().skip(skip) {
                    self.check(file, sub, v, &format!("{at}/{i}"), errs);
                }
            }
            if let Some(n) = s.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < n
            {
                errs.push(format!("{here}: fewer than {n} items"));
            }
            if let Some(n) = s.get("maxItems").and_then(Value::as_u64)
                && (items.len() as u64) > n
            {
                errs.push(format!("{here}: more than {n} items"));
            }
        }
        if let Some(x) = inst.as_f64() {
            if let Some(min) = s.get("minimum").and_then(Value::as_f64)
                && x < min
            {
                errs.push(format!("{here}: {inst} < {min}"));
            }
            if let Some(max) = s.get("maximum").and_then(Value::as_f64)
                && x > max
            {
                errs.push(format!("{here}: {inst} > {max}"));
            }
        }
        if let Value::String(text) = inst {
            let n = text.chars().count() as u64;
            if let Some(min) = s.get("minLength").and_then(Value::as_u64)
                && n < min
            {
                errs.push(format!("{here}: shorter than {min}"));
            }
            if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
                && n > max
            {
                errs.push(format!("{here}: longer than {max}"));
            }
            if let Some(p) = s.get("pattern").and_then(Value::as_str) {
                match re::Regex::new(p) {
                    Ok(r) if r.is_match(text) => {}
                    Ok(_) => errs.push(format!("{here}: {} does not match {p}", short(inst))),
                    Err(e) => errs.push(format!("{}: pattern {p}: {e}", file.display())),
                }
            }
        }
        for sub in s
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.check(file, sub, inst, at, errs);
        }
        let passing = |key: &str| -> Option<(usize, usize, Vec<String>)> {
            let subs = s.get(key)?.as_array()?;
            let mut all = Vec::new();
            let mut ok = 0;
            for sub in subs {
                let mut e = Vec::new();
                self.check(file, sub, inst, at, &mut e);
                if e.is_empty() {
                    ok += 1;
                } else {
                    all.extend(e);
                }
            }
            Some((ok, subs.len(), all))
        };
        if let Some((ok, _, all)) = passing("anyOf")
            && ok == 0
        {
            errs.push(format!(
                "{here}: matches no anyOf branch: {}",
                all.join("; ")
            ));
        }
        if let Some((ok, n, all)) = passing("oneOf")
            && ok != 1
        {
            errs.push(format!(
                "{here}: matches {ok} of {n} oneOf branches (need exactly 1): {}",
                all.join("; ")
            ));
        }
    }
}

fn is_type(v: &Value, ty: &str) -> bool {
    match ty {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        s.chars().take(77).collect::<String>() + "..."
    } else {
        s
    }
}

/// Validates command output and remembers which output schemas were used.
struct Checker {
    v: Validator,
    used: RefCell<BTreeSet<String>>,
}

impl Checker {
    fn new() -> Checker {
        Checker {
            v: Validator::new(),
            used: RefCell::new(BTreeSet::new()),
        }
    }

    /// Assert `doc` (the output of `what`) is valid against `output/<name>.schema.json`.
    #[track_caller]
    fn out(&self, name: &str, doc: &Value, what: &str) {
        let file = format!("output/{name}.schema.json");
        self.used.borrow_mut().insert(file.clone());
        let errs = self.v.errors(&file, doc);
        assert!(
            errs.is_empty(),
            "`bd {what}` --json does not match {file}:\n  {}\ndocument: {}",
            errs.join("\n  "),
            serde_json::to_string_pretty(doc).unwrap_or_default()
        );
    }

    /// Run `bd --json ARGS` (asserting success) and check its output.
    #[track_caller]
    fn run(&self, env: &TestEnvironment, name: &str, args: &[&str]) -> Value {
        let doc = env.json(args);
        self.out(name, &doc, &args.join(" "));
        doc
    }

    /// Run `bd --json ARGS`, expecting failure with `exit` and `code`.
    #[track_caller]
    fn fail(&self, env: &TestEnvironment, args: &[&str], exit: i32, code: &str) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let doc = check_failure(env.bd(&a), exit, code, &args.join(" "));
        self.out("error", &doc, &args.join(" "));
        doc
    }
}

#[track_caller]
fn check_failure(r: Run, exit: i32, code: &str, what: &str) -> Value {
    let r = r.code(exit);
    let doc = r.json();
    assert_eq!(doc["code"], code, "`bd {what}`: {doc}");
    assert!(
        r.stderr.contains("Error:") || r.stderr.contains("error:"),
        "`bd {what}`: stderr says nothing: {:?}",
        r.stderr
    );
    doc
}

/// Assert `inst` is valid against a top-level schema file.
#[track_caller]
fn assert_valid(v: &Validator, name: &str, inst: &Value, what: &str) {
    let errs = v.errors(name, inst);
    assert!(
        errs.is_empty(),
        "{what} does not match {name}:\n  {}",
        errs.join("\n  ")
    );
}

// ------------------------------------------------------------ helpers

/// Every `*.json` file under `schema/`, relative to it, sorted.
fn schema_files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push(rel);
            }
        }
    }
    let root = schema_root();
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

/// The lines of a JSONL text, each parsed (keys in file order).
fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("line {} is not JSON: {e}", i + 1))
        })
        .collect()
}

#[track_caller]
fn assert_lines_valid(v: &Validator, text: &str, what: &str) -> usize {
    assert_jsonl_valid(v, "issue.schema.json", text, what)
}

/// Assert every line of a JSONL text is valid against the schema file `name`.
#[track_caller]
fn assert_jsonl_valid(v: &Validator, name: &str, text: &str, what: &str) -> usize {
    let mut bad = Vec::new();
    let lines = jsonl(text);
    for (i, rec) in lines.iter().enumerate() {
        let errs = v.errors(name, rec);
        if !errs.is_empty() {
            bad.push(format!(
                "line {} ({}): {}",
                i + 1,
                rec["id"],
                errs.join("; ")
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{what}: {} of {} lines do not match {name}:\n{}",
        bad.len(),
        lines.len(),
        bad.join("\n")
    );
    lines.len()
}

/// The key order of SPEC §3.
const KEY_ORDER: &[&str] = &[
    "id",
    "title",
    "description",
    "design",
    "acceptance_criteria",
    "notes",
    "status",
    "priority",
    "issue_type",
    "assignee",
    "owner",
    "estimated_minutes",
    "created_at",
    "created_by",
    "updated_at",
    "started_at",
    "closed_at",
    "close_reason",
    "due_at",
    "defer_until",
    "external_ref",
    "metadata",
    "labels",
    "dependencies",
    "comments",
    "deleted_at",
    "deleted_by",
    "delete_reason",
    "original_type",
];

const TIME_FIELDS: &[&str] = &[
    "created_at",
    "updated_at",
    "started_at",
    "closed_at",
    "due_at",
    "defer_until",
    "deleted_at",
];

/// Check what FORMAT.md promises about a file `bd` wrote from scratch: sorted
/// by id, `\n` after every line, compact, keys in order, times in bd's form,
/// lists sorted, `closed_at` iff closed and `deleted_at` iff tombstone.
#[track_caller]
fn assert_canonical(text: &str) {
    let nanos_z =
        re::Regex::new(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$")
            .unwrap();
    let stamp =
        re::Regex::new(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z [^ ]+$")
            .unwrap();
    assert!(text.ends_with('\n'), "no final newline");
    assert!(!text.contains('\r'), "CR in the file");
    let mut last_id = String::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap().to_string();
        assert!(id > last_id, "{id} is not after {last_id}");
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            line,
            "{id}: not compact"
        );
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = KEY_ORDER
            .iter()
            .copied()
            .filter(|k| keys.contains(k))
            .collect();
        let mut unknown: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| !KEY_ORDER.contains(k) && *k != "_stamps")
            .collect();
        unknown.sort();
        expected.extend(unknown);
        if keys.contains(&"_stamps") {
            expected.push("_stamps");
        }
        assert_eq!(keys, expected, "{id}: key order");
        for f in TIME_FIELDS {
            if let Some(t) = v.get(*f) {
                assert!(nanos_z.is_match(t.as_str().unwrap()), "{id}.{f} = {t}");
            }
        }
        for d in v["dependencies"].as_array().into_iter().flatten() {
            assert!(
                nanos_z.is_match(d["created_at"].as_str().unwrap()),
                "{id}: {d}"
            );
            assert_eq!(d["issue_id"], v["id"], "{id}: edge {d} is not outgoing");
        }
        for c in v["comments"].as_array().into_iter().flatten() {
            assert!(
                nanos_z.is_match(c["created_at"].as_str().unwrap()),
                "{id}: {c}"
            );
            assert!(c["id"].as_u64().is_some_and(|n| n < 1 << 52), "{id}: {c}");
        }
        for (k, s) in v["_stamps"].as_object().into_iter().flatten() {
            if k == "claim_epoch" {
                assert!(s.as_u64().is_some(), "{id}: claim_epoch {s}");
            } else if k == "claim_on" {
                assert!(
                    stamp.is_match(s["at"].as_str().unwrap()),
                    "{id}: claim_on {s}"
                );
            } else if k.ends_with('@') {
                for (elem, e) in s.as_object().unwrap() {
                    let e = e.as_str().unwrap();
                    assert!(
                        (e.starts_with('+') || e.starts_with('-')) && stamp.is_match(&e[1..]),
                        "{id}: {k}[{elem}] = {e}"
                    );
                }
            } else {
                assert!(stamp.is_match(s.as_str().unwrap()), "{id}: stamp {k} = {s}");
            }
        }
        if let Some(ls) = v["labels"].as_array() {
            let ls: Vec<&str> = ls.iter().map(|l| l.as_str().unwrap()).collect();
            let mut sorted = ls.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(ls, sorted, "{id}: labels");
            assert!(!ls.is_empty(), "{id}: empty labels list is written");
        }
        if let Some(ds) = v["dependencies"].as_array() {
            let keys: Vec<(&str, &str)> = ds
                .iter()
                .map(|d| {
                    (
                        d["depends_on_id"].as_str().unwrap(),
                        d["type"].as_str().unwrap(),
                    )
                })
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "{id}: dependencies order");
        }
        if let Some(cs) = v["comments"].as_array() {
            let keys: Vec<(String, u64, String)> = cs
                .iter()
                .map(|c| {
                    (
                        c["created_at"].as_str().unwrap().to_string(),
                        c["id"].as_u64().unwrap(),
                        c["text"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "{id}: comments order");
        }
        let title = v["title"].as_str().unwrap();
        assert_eq!(title, title.trim(), "{id}: title not trimmed");
        assert_eq!(
            v["status"] == "closed",
            v.get("closed_at").is_some(),
            "{id}: closed_at iff closed"
        );
        assert_eq!(
            v["status"] == "tombstone",
            v.get("deleted_at").is_some(),
            "{id}: deleted_at iff tombstone"
        );
        last_id = id;
    }
}

// ------------------------------------------------------------ the schema files

#[test]
fn schema_files_are_json_and_use_only_supported_keywords() {
    let files = schema_files();
    for must in [
        "issue.schema.json",
        "config.json",
        "output/error.schema.json",
    ] {
        assert!(files.iter().any(|f| f == must), "schema/{must} is missing");
    }
    let v = Validator::new();
    let mut refs = 0;
    for f in &files {
        // config.json keeps the name SPEC §2 gives it.
        assert!(
            f.ends_with(".schema.json") || f == "config.json",
            "{f}: name it *.schema.json"
        );
        let path = schema_root().join(f);
        let doc = v.load(&path);
        assert_eq!(doc["$schema"], DRAFT, "{f}: $schema");
        assert!(doc["title"].is_string(), "{f}: give it a title");
        let mut problems = Vec::new();
        walk_schema(&v, &path, &doc, "", &mut problems, &mut refs);
        assert!(problems.is_empty(), "{f}:\n  {}", problems.join("\n  "));
    }
    assert!(refs > 10, "only {refs} $refs checked");
}

/// Check every subschema: only supported keywords, `$ref`s that resolve,
/// patterns that compile, well-formed `required`.
fn walk_schema(
    v: &Validator,
    file: &Path,
    s: &Value,
    at: &str,
    problems: &mut Vec<String>,
    refs: &mut usize,
) {
    let m = match s {
        Value::Bool(_) => return,
        Value::Object(m) => m,
        other => {
            problems.push(format!(
                "{at}: a schema must be an object or a boolean, not {other}"
            ));
            return;
        }
    };
    for (k, x) in m {
        let sub_at = format!("{at}/{k}");
        match k.as_str() {
            "$ref" => match x.as_str().map(|r| v.resolve(file, r)) {
                Some(Ok(_)) => *refs += 1,
                Some(Err(e)) => problems.push(format!("{sub_at}: {e}")),
                None => problems.push(format!("{sub_at}: not a string")),
            },
            "pattern" => {
                if let Err(e) = re::Regex::new(x.as_str().unwrap_or("(")) {
                    problems.push(format!("{sub_at}: {e}"));
                }
            }
            "required" => {
                if !x.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
                    problems.push(format!("{sub_at}: must be an array of strings"));
                }
            }
            "type" => {
                let ok = |t: &Value| {
                    t.as_str().is_some_and(|t| {
                        [
                            "null", "boolean", "object", "array", "string", "number", "integer",
                        ]
                        .contains(&t)
                    })
                };
                if !(ok(x) || x.as_array().is_some_and(|a| a.iter().all(ok))) {
                    problems.push(format!("{sub_at}: unknown type {x}"));
                }
            }
            "properties" | "$defs" => {
                for (name, sub) in x.as_object().into_iter().flatten() {
                    walk_schema(v, file, sub, &format!("{sub_at}/{name}"), problems, refs);
                }
            }
            "items" | "additionalProperties" => walk_schema(v, file, x, &sub_at, problems, refs),
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                for (i, sub) in x.as_array().into_iter().flatten().enumerate() {
                    walk_schema(v, file, sub, &format!("{sub_at}/{i}"), problems, refs);
                }
            }
            k if ASSERTIONS.contains(&k) || ANNOTATIONS.contains(&k) => {}
            k => problems.push(format!("{sub_at}: unsupported keyword {k}")),
        }
    }
}

#[test]
fn regex_subset_behaves_like_a_regex() {
    let cases: &[(&str, &str, bool)] = &[
        ("^a+$", "aaa", true),
        ("^a+$", "", false),
        ("^a*$", "", true),
        ("b", "abc", true),
        ("^b", "abc", false),
        ("c$", "abc", true),
        ("^[a-c]{2,3}$", "ab", true),
        ("^[a-c]{2,3}$", "abca", false),
        ("^[a-c]{2}$", "a", false),
        ("^[^ ]+ .*$", "2026 actor name", true),
        ("^[^ ]+ .*$", "nospace", false),
        (r"^\d{4}-\d\d$", "2026-01", true),
        (r"^\w+\s\S$", "ab_1 x", true),
        (r"^a(\.[0-9]+)*$", "a.1.22", true),
        (r"^a(\.[0-9]+)*$", "a.", false),
        ("^(Z|[+-][0-9]{2}:[0-9]{2})$", "Z", true),
        ("^(Z|[+-][0-9]{2}:[0-9]{2})$", "-08:00", true),
        ("^(Z|[+-][0-9]{2}:[0-9]{2})$", "08:00", false),
        ("^(?:ab|a)b$", "ab", true),
        ("^(a|ab)(c|bcd)$", "abcd", true),
        ("^[0-9]*[1-9][0-9]*[smhd]?$", "10m", true),
        ("^[0-9]*[1-9][0-9]*[smhd]?$", "00m", false),
        ("^[0-9]*[1-9][0-9]*[smhd]?$", "15", true),
        ("^(a*)*$", "aaaa", true),
        ("^x{0}y$", "y", true),
        ("^é.$", "éé", true),
        ("^[A-Za-z0-9_]+-[A-Za-z0-9_-]+$", "bd-a-b", true),
        ("^[A-Za-z0-9_]+-[A-Za-z0-9_-]+$", "bd-", false),
    ];
    for (p, s, want) in cases {
        let r = re::Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(r.is_match(s), *want, "{p} on {s:?}");
    }
    for bad in ["(a", "a)", "*a", "[a", r"\q", "a{2,1}", "a*?", "[z-a]"] {
        assert!(re::Regex::new(bad).is_err(), "{bad} should not compile");
    }
}

/// The validator must fail what the schemas forbid, or the other tests prove nothing.
#[test]
fn validator_rejects_what_the_schemas_forbid() {
    let v = Validator::new();
    let good = json!({"id": "bd-a1b", "title": "T", "status": "open", "priority": 2,
        "created_at": "2026-01-01T00:00:00-08:00", "estimated_minutes": 30,
        "labels": ["a"], "comments": [{"id": 1, "issue_id": "bd-a1b", "author": "x", "text": "t",
        "created_at": "2026-01-01T00:00:00Z"}],
        "dependencies": [{"issue_id": "bd-a1b", "depends_on_id": "bd-c", "type": "blocks"}],
        "_stamps": {"title": "2026-01-01T00:00:00.000000001Z me", "claim_epoch": 2},
        "some_future_key": {"x": [1]}});
    assert_valid(&v, "issue.schema.json", &good, "a good record");
    let bad: &[(&str, Value)] = &[
        ("/id", json!(null)),
        ("/id", json!("no_dash")),
        ("/id", json!("bd-x.y")),
        ("/title", json!("")),
        ("/title", json!("x".repeat(501))),
        ("/status", json!(3)),
        ("/priority", json!(5)),
        ("/priority", json!(-1)),
        ("/priority", json!("P1")),
        ("/priority", json!(1.5)),
        ("/labels", json!("a,b")),
        ("/labels/0", json!(1)),
        ("/created_at", json!("yesterday")),
        ("/created_at", json!("2026-01-01 00:00:00")),
        ("/comments/0/id", json!("c1")),
        ("/comments/0/id", json!(9007199254740992u64)),
        ("/dependencies/0/type", json!(null)),
        ("/_stamps/title", json!("2026-01-01T00:00:00Z")),
        ("/_stamps/claim_epoch", json!("1")),
        ("/estimated_minutes", json!("30")),
    ];
    for (ptr, val) in bad {
        let mut rec = good.clone();
        *rec.pointer_mut(ptr).unwrap_or_else(|| panic!("{ptr}")) = val.clone();
        assert!(
            !v.errors("issue.schema.json", &rec).is_empty(),
            "{ptr} = {val} should be refused"
        );
    }
    for missing in ["id", "title", "status", "priority"] {
        let mut rec = good.clone();
        rec.as_object_mut().unwrap().remove(missing);
        assert!(
            !v.errors("issue.schema.json", &rec).is_empty(),
            "without {missing}"
        );
    }
    let mut rec = good.clone();
    rec["comments"][0].as_object_mut().unwrap().remove("text");
    assert!(
        !v.errors("issue.schema.json", &rec).is_empty(),
        "comment without text"
    );

    // Output schemas: counts required, _stamps forbidden, codes closed.
    assert!(!v.errors("output/issue.schema.json", &good).is_empty());
    let mut out = good.clone();
    out.as_object_mut().unwrap().remove("_stamps");
    for (k, x) in [
        ("dependency_count", json!(1)),
        ("dependent_count", json!(0)),
        ("comment_count", json!(1)),
        ("parent", json!(null)),
    ] {
        out[k] = x;
    }
    assert_valid(&v, "output/issue.schema.json", &out, "an output issue");
    out["parent"] = json!(3);
    assert!(!v.errors("output/issue.schema.json", &out).is_empty());
    let err = json!({"error": "x", "code": "not_found", "hint": null});
    assert_valid(&v, "output/error.schema.json", &err, "an error");
    for bad in [
        json!({"error": "x", "code": "oops", "hint": null}),
        json!({"error": "x", "code": "io"}),
        json!({"error": "x", "code": "io", "hint": null, "extra": 1}),
        json!({"error": "", "code": "io", "hint": "h"}),
    ] {
        assert!(
            !v.errors("output/error.schema.json", &bad).is_empty(),
            "{bad}"
        );
    }
    // Messages: the file form, the output forms.
    let msg = json!({"id": "msg-0123456789ab", "thread": "msg-0123456789ab", "from": "ann",
        "to": ["bob", "@all", "carl@example.com/b", "@example.com/b"], "cc": ["dave"],
        "subject": "s", "body": "", "importance": "high", "ack_required": true,
        "attachments": [{"name": "a.txt", "sha256": "0".repeat(64), "size": 3}],
        "issue": "bd-a1b", "issue_type": "bug",
        "delivery": {"example.com/b": {"status": "delivered", "issue": "bz-x1",
            "issue_status": "open", "seen_at": "2026-01-01T00:00:00Z"},
            "example.com/c": {"status": "pending"}},
        "created_at": "2026-01-01T00:00:00Z", "read_by": {"bob": "2026-01-01T00:00:01Z"},
        "acked_by": {"bob": "2026-01-01T00:00:02Z"},
        "_stamps": {"delivery": "2026-01-01T00:00:03.000000000Z ann"}, "future": 1});
    assert_valid(&v, "message.schema.json", &msg, "a good message line");
    let bad: &[(&str, Value)] = &[
        ("/id", json!("msg-short")),
        ("/id", json!("msg-0123456789AB")),
        ("/thread", json!(null)),
        ("/from", json!("")),
        ("/to", json!([])),
        ("/to/0", json!(" bob")),
        ("/to/0", json!("a@b@c")),
        ("/to/0", json!("@")),
        ("/cc", json!([])),
        ("/subject", json!("")),
        ("/importance", json!("meh")),
        ("/ack_required", json!("yes")),
        ("/attachments/0/sha256", json!("XYZ")),
        ("/attachments/0/size", json!(-1)),
        ("/issue", json!("nodash")),
        (
            "/delivery/example.com~1c",
            json!({"status": "pending", "issue": "bz-1"}),
        ),
        ("/delivery/example.com~1c", json!({"status": "delivered"})),
        ("/delivery/example.com~1c", json!({"status": "lost"})),
        ("/created_at", json!("yesterday")),
        ("/read_by/bob", json!(true)),
        ("/_stamps/delivery", json!("2026-01-01T00:00:00Z")),
    ];
    for (ptr, val) in bad {
        let mut m = msg.clone();
        *m.pointer_mut(ptr).unwrap_or_else(|| panic!("{ptr}")) = val.clone();
        assert!(
            !v.errors("message.schema.json", &m).is_empty(),
            "message {ptr} = {val} should be refused"
        );
    }
    let mut out_msg = msg.clone();
    for k in ["_stamps", "future"] {
        out_msg.as_object_mut().unwrap().remove(k);
    }
    assert_valid(
        &v,
        "output/message.schema.json",
        &out_msg,
        "an output message",
    );
    for k in ["_stamps", "future", "pending"] {
        let mut m = out_msg.clone();
        m[k] = msg["_stamps"].clone();
        assert!(
            !v.errors("output/message.schema.json", &m).is_empty(),
            "{k} in an output message"
        );
    }
    let mut sent = out_msg.clone();
    assert!(!v.errors("output/mail-send.schema.json", &sent).is_empty());
    sent["pending"] = json!(["example.com/c"]);
    for k in ["read_by", "acked_by"] {
        sent.as_object_mut().unwrap().remove(k);
    }
    assert_valid(&v, "output/mail-send.schema.json", &sent, "a sent message");
    // Dispatch pairs: [issue, agent], exactly two.
    let plan = json!({"recovered": [["bd-a1", "old"]], "slung": [["bd-a2", "agent-1"]],
        "left": 0, "dry_run": false, "pruned": 0});
    assert_valid(&v, "output/dispatch.schema.json", &plan, "a dispatch round");
    for (ptr, val) in [
        ("/slung/0", json!(["bd-a2"])),
        ("/slung/0", json!(["bd-a2", "agent-1", "x"])),
        ("/slung/0/1", json!("a@b")),
        ("/slung/0/0", json!(1)),
        ("/recovered/0/1", json!("")),
        ("/left", json!(-1)),
    ] {
        let mut p = plan.clone();
        *p.pointer_mut(ptr).unwrap() = val.clone();
        assert!(
            !v.errors("output/dispatch.schema.json", &p).is_empty(),
            "dispatch {ptr} = {val} should be refused"
        );
    }
    // Hook files.
    let hook = json!({"agent": "agent-1", "items": ["bd-a1"], "attached_by": "me",
        "attached_at": "2026-01-01T00:00:00Z", "note": "n"});
    assert_valid(&v, "hook.schema.json", &hook, "a hook file");
    for (ptr, val) in [
        ("/agent", json!("a@b")),
        ("/agent", json!(" a")),
        ("/items", json!([])),
        ("/items/0", json!("nodash")),
        ("/attached_at", json!("")),
        ("/note", json!(null)),
    ] {
        let mut h = hook.clone();
        *h.pointer_mut(ptr).unwrap() = val.clone();
        assert!(
            !v.errors("hook.schema.json", &h).is_empty(),
            "hook {ptr} = {val} should be refused"
        );
    }
    let mut h = hook.clone();
    h["extra"] = json!(1);
    assert!(!v.errors("hook.schema.json", &h).is_empty());

    // oneOf: exactly one branch.
    assert!(!v.errors("output/show.schema.json", &json!([])).is_empty());
    assert!(
        !v.errors("output/ready-claim.schema.json", &json!([out, out]))
            .is_empty()
    );
    // $ref recursion.
    let tree = json!({"id": "a", "title": "A", "status": "open", "priority": 1, "dependency_type": "",
        "children": [{"id": "b", "title": "B", "status": "open", "priority": 1,
            "dependency_type": "blocks", "children": [{"id": "a"}]}]});
    assert!(!v.errors("output/dep-tree.schema.json", &tree).is_empty());
    // Config.
    for bad in [
        json!({"auto_commit": "sometimes"}),
        json!({"prefix": "9x"}),
        json!({"lease": "0m"}),
        json!({"lease": 15}),
        json!({"attachment_limit": "1MiB"}),
        json!({"coordination": "cluster"}),
        json!({"custom_types": [1]}),
        json!({"projects": {"a": 1}}),
    ] {
        assert!(!v.errors("config.json", &bad).is_empty(), "{bad}");
    }
}

// ------------------------------------------------------------ issues.jsonl

#[test]
fn classic_fixture_matches_issue_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/classic/issues.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let n = assert_lines_valid(&Validator::new(), &text, "fixtures/classic/issues.jsonl");
    assert!(n >= 40, "only {n} lines");
}

#[test]
fn real_v0_47_export_matches_issue_schema() {
    let Some(path) = common::shared_data("beads-v0.47.0-issues.jsonl") else {
        eprintln!("skipped: ../shared/data/beads-v0.47.0-issues.jsonl is not here");
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let n = assert_lines_valid(&Validator::new(), &text, "beads-v0.47.0-issues.jsonl");
    assert!(n > 1000, "only {n} lines");
}

#[test]
fn issues_written_by_bd_match_issue_schema_and_canonical_form() {
    let env = TestEnvironment::new();
    let v = Validator::new();
    env.bd(&["config", "set", "custom_statuses", "review"]).ok();
    let a = env.create(
        "  Alpha with every field  ",
        &[
            "-t",
            "feature",
            "-p",
            "P1",
            "-d",
            "desc <b> & \"q\"",
            "--design",
            "des",
            "--acceptance",
            "acc",
            "--notes",
            "n",
            "-l",
            "zeta,alpha",
            "-a",
            "someone",
            "--owner",
            "own",
            "--external-ref",
            "gh-1",
            "--due",
            "2030-01-02",
            "--estimate",
            "90",
        ],
    );
    let b = env.create("Beta", &["-t", "bug", "--deps", &a]);
    let c = env.create("Child", &["--parent", &a]);
    let d = env.create("Deferred", &["--defer", "+3d", "-l", "x"]);
    let e = env.create(
        "Épsilon ünïcode",
        &["--deps", &format!("related:{a},discovered-from:{b}")],
    );
    for step in [
        vec![
            "update",
            &b,
            "--title",
            "Beta renamed",
            "-p",
            "0",
            "--add-label",
            "l1",
        ],
        vec!["update", &e, "--status", "review"],
        vec!["claim", &c],
        vec!["unclaim", &c],
        vec!["update", &c, "--claim"],
        vec!["comment", &c, "first"],
        vec!["comment", &c, "second\nline"],
        vec!["label", "add", &b, "l0"],
        vec!["label", "add", &b, &d, "l2"],
        vec!["label", "remove", &b, "l1"],
        vec!["dep", "add", &d, &b, "--type", "related"],
        vec!["dep", "add", &d, &c],
        vec!["dep", "remove", &d, &c],
        vec!["close", &c],
        vec!["reopen", &c],
        vec!["close", &c, "--reason", "done"],
        vec!["defer", &b, "--until", "2031-05-06"],
        vec!["undefer", &b],
        vec!["delete", &e, "--reason", "dup"],
        vec!["update", &a, "--description", "changed"],
        vec!["update", &a, "--remove-label", "zeta"],
    ] {
        env.bd(&step).ok();
        let text = env.issues_text();
        assert_lines_valid(&v, &text, &format!("after bd {}", step.join(" ")));
        assert_canonical(&text);
    }
    env.bd(&["restore", &e]).ok();
    let text = env.issues_text();
    assert_lines_valid(&v, &text, "at the end");
    assert_canonical(&text);
    let recs = env.records();
    assert_eq!(recs.len(), 5);
    assert_eq!(env.record(&a)["title"], "Alpha with every field");
    assert!(env.record(&c)["_stamps"]["claim_epoch"].as_u64().unwrap() >= 3);
    assert_eq!(env.record(&c)["comments"].as_array().unwrap().len(), 2);
    // Every known key appears somewhere, so the canonical order was checked for it.
    let seen: BTreeSet<&str> = recs
        .iter()
        .flat_map(|r| r.as_object().unwrap().keys().map(String::as_str))
        .collect();
    for k in [
        "description",
        "design",
        "acceptance_criteria",
        "notes",
        "assignee",
        "owner",
        "estimated_minutes",
        "due_at",
        "external_ref",
        "labels",
        "dependencies",
        "comments",
        "closed_at",
        "close_reason",
        "started_at",
        "_stamps",
    ] {
        assert!(
            seen.contains(k),
            "no record has {k}: the test misses a field"
        );
    }
}

#[test]
fn imported_classic_file_stays_valid_and_untouched_lines_keep_their_bytes() {
    let env = TestEnvironment::new();
    let v = Validator::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/classic/issues.jsonl");
    env.bd(&["import", fixture.to_str().unwrap()]).ok();
    let before = env.issues_text();
    assert_lines_valid(&v, &before, "after import");
    let first = jsonl(&before)[0]["id"].as_str().unwrap().to_string();
    env.bd(&["comment", &first, "a note"]).ok();
    env.bd(&["label", "add", &first, "schema"]).ok();
    let after = env.issues_text();
    assert_lines_valid(&v, &after, "after editing a classic record");
    let (b0, a0): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(b0.len(), a0.len());
    for (x, y) in b0.iter().zip(&a0).skip(1) {
        assert_eq!(x, y, "a line bd did not change was rewritten");
    }
    assert_ne!(b0[0], a0[0]);
    let rec: Value = serde_json::from_str(a0[0]).unwrap();
    assert!(rec["_stamps"]["comments"].is_string(), "{rec}");
    // Unknown keys survive (await_type/await_id/timeout of the gate record).
    assert!(after.contains("\"await_type\""));
}

// ------------------------------------------------------------ mail.jsonl and hook files

/// Check what SPEC §6 promises about a `mail.jsonl` bd wrote: sorted by id,
/// `\n` after every line, compact, keys in bd's order (`_stamps` last).
#[track_caller]
fn assert_mail_canonical(text: &str, what: &str) {
    use strand::model::mail::KEY_ORDER as MAIL_ORDER;
    assert!(text.ends_with('\n'), "{what}: no final newline");
    let mut last = String::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap().to_string();
        assert!(id > last, "{what}: {id} is not after {last}");
        assert_eq!(serde_json::to_string(&v).unwrap(), line, "{what}: {id}");
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = MAIL_ORDER
            .iter()
            .copied()
            .filter(|k| keys.contains(k))
            .collect();
        if keys.contains(&"_stamps") {
            expected.push("_stamps");
        }
        assert_eq!(keys, expected, "{what}: {id}: key order");
        last = id;
    }
}

#[test]
fn mail_written_by_bd_matches_message_schema() {
    let (a, b) = two_projects();
    let v = Validator::new();
    a.bd(&["agent", "register", "bob"]).ok();
    let file = a.tmp.path().join("log.txt");
    std::fs::write(&file, "trace\n").unwrap();
    let file = file.to_str().unwrap();
    let send = |env: &TestEnvironment, args: &[&str]| -> String {
        let mut all = vec!["--json", "mail", "send"];
        all.extend_from_slice(args);
        let r = env.bd(&all).ok().json();
        r["id"].as_str().unwrap().to_string()
    };
    let local = send(
        &a,
        &[
            "--to",
            "bob",
            "--cc",
            "@all",
            "--subject",
            "Local",
            "--attach",
            file,
            "--ack",
        ],
    );
    send(
        &a,
        &[
            "--to",
            "@example.com/b",
            "--subject",
            "Crash",
            "--body",
            "repro",
            "--attach",
            file,
            "-t",
            "feature",
        ],
    );
    send(
        &a,
        &[
            "--to",
            "project:example.com/nowhere",
            "--subject",
            "Waits",
            "--importance",
            "low",
        ],
    );
    b.bd(&["list"]).ok(); // imports
    let imported = b.json(&["mail", "inbox"]);
    let mid = imported[0]["id"].as_str().unwrap().to_string();
    b.bd(&["mail", "reply", &mid, "--body", "on it"]).ok();
    a.bd(&["--actor", "bob", "mail", "read", &local]).ok();
    a.bd(&["--actor", "bob", "mail", "ack", &local]).ok();
    a.bd(&["--actor", "bob", "mail", "reply", &local, "--body", "ok"])
        .ok();
    a.bd(&["list"]).ok(); // records the delivery, imports the reply
    b.bd(&["list"]).ok();
    let mut texts = Vec::new();
    for (env, what) in [(&a, "a"), (&b, "b")] {
        let text = std::fs::read_to_string(env.beads().join("mail.jsonl")).unwrap();
        let n = assert_jsonl_valid(&v, "message.schema.json", &text, what);
        assert!(n >= 2, "{what}: only {n} messages");
        assert_mail_canonical(&text, what);
        texts.push(text);
    }
    // Every optional part appears somewhere, so the schema was tried on it.
    for key in [
        "\"in_reply_to\"",
        "\"cc\"",
        "\"attachments\"",
        "\"issue_type\"",
        "\"delivered\"",
        "\"pending\"",
        "\"seen_at\"",
        "\"read_by\"",
        "\"acked_by\"",
        "\"_stamps\"",
    ] {
        assert!(texts[0].contains(key), "a's mail.jsonl has no {key}");
    }
    assert!(texts[1].contains("\"issue\""), "b's copy names its item");
}

#[test]
fn message_schemas_list_the_keys_bd_writes() {
    let load = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(schema_root().join(name)).unwrap()).unwrap()
    };
    let keys = |doc: &Value| -> Vec<String> {
        doc["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let file = keys(&load("message.schema.json"));
    let mut order: Vec<String> = strand::model::mail::KEY_ORDER
        .iter()
        .map(|k| k.to_string())
        .collect();
    order.push("_stamps".into());
    assert_eq!(
        file, order,
        "message.schema.json lists the keys in bd's order"
    );
    // The output schemas close the object, so they must name every key.
    assert_eq!(keys(&load("output/message.schema.json")), file);
    let mut send = file.clone();
    send.push("pending".into());
    assert_eq!(keys(&load("output/mail-send.schema.json")), send);
}

#[test]
fn hook_files_written_by_bd_match_hook_schema() {
    let env = TestEnvironment::new();
    let v = Validator::new();
    let agent = "Agent One";
    let path = env
        .beads()
        .join("hooks")
        .join(format!("{}.json", strand::home::escape(agent)));
    let ids: Vec<String> = (0..3).map(|i| env.create(&format!("W{i}"), &[])).collect();
    let check = |what: &str| -> Value {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{what}: {}: {e}", path.display()));
        assert!(text.ends_with('\n'), "{what}: no final newline");
        assert_eq!(text.lines().count(), 1, "{what}: not one line");
        let h: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            text.trim_end(),
            "{what}"
        );
        assert_valid(&v, "hook.schema.json", &h, what);
        let items: Vec<&str> = h["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap())
            .collect();
        let mut sorted = items.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(items, sorted, "{what}: items");
        h
    };
    env.bd(&["sling", &ids[2], agent, "--note", "start here"])
        .ok();
    let h = check("after one sling");
    assert_eq!(h["note"], "start here");
    env.bd(&["sling", &ids[0], agent]).ok();
    env.bd(&["sling", &ids[1], agent]).ok();
    let h = check("after three");
    assert_eq!(h["items"].as_array().map(Vec::len), Some(3));
    env.bd(&["unhook", &ids[1], "--agent", agent]).ok();
    check("after unhooking one");
    env.bd(&["unhook", "--agent", agent]).ok();
    assert!(!path.exists(), "an empty hook is removed");
}

// ------------------------------------------------------------ config.toml

fn toml_as_json(text: &str) -> Value {
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("config.toml is not TOML: {e}\n{text}"));
    serde_json::to_value(&table).expect("TOML tables convert to JSON")
}

#[test]
fn config_after_setting_every_key_matches_config_schema() {
    use strand::store::config::{KEYS, Kind};
    let env = TestEnvironment::new();
    let v = Validator::new();
    let path = env.beads().join("config.toml");
    let initial = toml_as_json(&std::fs::read_to_string(&path).unwrap());
    assert_valid(&v, "config.json", &initial, "config.toml after init");

    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_root().join("config.json")).unwrap())
            .unwrap();
    let documented = schema["properties"].as_object().unwrap();
    for (key, kind, _default, _help) in KEYS {
        assert!(documented.contains_key(*key), "config.json lacks {key}");
        let value = match kind {
            Kind::Prefix => "xy_1".to_string(),
            Kind::Choice(opts) => opts.last().unwrap().to_string(),
            Kind::Duration => "90s".to_string(),
            Kind::List => "a, b,c".to_string(),
            Kind::Size => "2048".to_string(),
            Kind::Text => format!("some {key}"),
        };
        let r = env.bd(&["--json", "config", "set", key, &value]).ok();
        assert_eq!(r.json()["changed"], true, "{key}");
        let now = toml_as_json(&std::fs::read_to_string(&path).unwrap());
        assert_valid(
            &v,
            "config.json",
            &now,
            &format!("config.toml after set {key}"),
        );
    }
    for (k, val) in [
        ("lease", "2h"),
        ("commit_window", "1d"),
        ("projects.other", "github.com/o/r"),
    ] {
        env.bd(&["config", "set", k, val]).ok();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let cfg = toml_as_json(&text);
    assert_valid(&v, "config.json", &cfg, "config.toml with every key");
    assert_eq!(
        cfg["custom_statuses"],
        json!(["a", "b", "c"]),
        "lists are written as arrays"
    );
    assert_eq!(cfg["attachment_limit"], 2048);
    assert_eq!(cfg["projects"]["other"], "github.com/o/r");
    for (key, ..) in KEYS {
        assert!(cfg.get(*key).is_some(), "{key} was not written");
    }
    // A key this version does not know survives and is allowed (top level,
    // so before the first table).
    std::fs::write(&path, format!("future_key = {{ a = 1 }}\n{text}")).unwrap();
    env.bd(&["config", "set", "lease", "3h"]).ok();
    let cfg = toml_as_json(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(cfg["future_key"]["a"], 1);
    assert_valid(&v, "config.json", &cfg, "config.toml with an unknown key");
}

// ------------------------------------------------------------ --json output

/// Import records whose IDs share a prefix, so a short prefix is ambiguous.
fn import_lines(env: &TestEnvironment, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    env.bd_stdin(&["import", "-"], text.as_bytes()).ok();
}

#[test]
fn every_command_output_matches_its_schema() {
    let ck = Checker::new();

    // Commands that need no workspace.
    let bare = TestEnvironment::bare_git();
    ck.run(&bare, "version", &["version"]);
    ck.run(&bare, "completion", &["completion", "bash"]);
    ck.run(&bare, "onboard", &["onboard"]);
    ck.fail(&bare, &["list"], 1, "not_found");
    let init = ck.run(&bare, "init", &["init", "--prefix", "bd"]);
    assert_eq!(init["issues"], 0);
    let again = ck.run(&bare, "init", &["init"]);
    assert_eq!(again["created"], json!([]));
    let classic = TestEnvironment::bare_git();
    let beads = classic.beads();
    std::fs::create_dir_all(&beads).unwrap();
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/classic");
    for f in ["issues.jsonl", "config.yaml"] {
        std::fs::copy(fx.join(f), beads.join(f)).unwrap();
    }
    let mig = ck.run(&classic, "init", &["init"]);
    assert!(mig["issues"].as_u64().unwrap() > 0, "{mig}");

    let env = TestEnvironment::new();
    ck.run(&env, "issue-list", &["list"]);
    ck.run(&env, "ready-claim", &["ready", "--claim"]);
    let a = ck.run(
        &env,
        "issue",
        &["create", "Alpha", "-p", "1", "-l", "x,y", "-d", "d"],
    );
    let a = a["id"].as_str().unwrap().to_string();
    let b = ck.run(
        &env,
        "issue",
        &["create", "Beta", "-t", "bug", "--deps", &a],
    );
    let b = b["id"].as_str().unwrap().to_string();
    let c = ck.run(&env, "issue", &["create", "Child", "--parent", &a]);
    let c = c["id"].as_str().unwrap().to_string();
    assert_eq!(c, format!("{a}.1"));
    let d = env.create("Deferred", &["--defer", "+2d"]);

    // Issues, one and several.
    let shown = ck.run(&env, "show", &["show", &a]);
    assert!(shown.is_object());
    let two = ck.run(&env, "show", &["show", &a, &b]);
    assert_eq!(two.as_array().map(Vec::len), Some(2));
    ck.run(
        &env,
        "issue",
        &["update", &b, "--title", "Beta 2", "-p", "high"],
    );
    ck.run(
        &env,
        "issue-list",
        &["update", &b, &d, "--add-label", "two"],
    );
    ck.run(&env, "issue", &["claim", &a]);
    ck.run(&env, "issue", &["claim", &a]); // nothing changed: the issue as it is
    ck.run(&env, "issue", &["unclaim", &a]);
    ck.run(&env, "issue", &["update", &a, "--claim"]);
    let cm = ck.run(&env, "comment", &["comment", &a, "hello"]);
    assert!(cm["id"].as_u64().is_some_and(|n| n < 1 << 52));
    ck.run(&env, "comment-list", &["comments", &a]);
    ck.run(&env, "comment-list", &["comments", &b]);
    ck.run(&env, "issue", &["label", "add", &b, "z"]);
    ck.run(&env, "issue", &["label", "remove", &b, "z"]);
    ck.run(&env, "issue-list", &["label", "add", &a, &b, "z"]);
    ck.run(&env, "issue-list", &["label", "remove", &a, &b, "z"]);
    ck.run(&env, "label-list", &["label", "list"]);
    ck.run(&env, "label-list", &["label", "list", &a]);
    ck.run(&env, "issue", &["dep", "add", &c, &b, "--type", "related"]);
    ck.run(&env, "issue", &["dep", "remove", &c, &b]);
    ck.run(&env, "dep-list", &["dep", "list", &b]);
    ck.run(&env, "dep-list", &["dep", "list", &a]);
    ck.run(&env, "dep-tree", &["dep", "tree", &b]);
    ck.run(&env, "dep-tree", &["dep", "tree", &a, "--reverse"]);
    ck.run(&env, "dep-tree", &["dep", "tree", &b, "--max-depth", "1"]);
    ck.run(&env, "dep-cycles", &["dep", "cycles"]);
    ck.run(&env, "issue", &["close", &c, "--reason", "done"]);
    ck.run(&env, "issue", &["close", &c]); // already closed
    ck.run(&env, "issue", &["reopen", &c]);
    ck.run(&env, "issue", &["defer", &b, "--until", "2031-01-01"]);
    ck.run(&env, "issue", &["undefer", &b]);
    ck.run(&env, "issue", &["delete", &d, "--reason", "dup"]);
    ck.run(&env, "issue", &["restore", &d]);
    ck.run(&env, "issue-list", &["close", &c, &d]);
    ck.run(&env, "issue-list", &["reopen", &c, &d]);

    // Listings.
    for args in [
        vec!["list"],
        vec!["list", "--all"],
        vec!["list", "--status", "blocked"],
        vec!["list", "-l", "x", "--sort", "oldest"],
        vec!["ready"],
        vec!["ready", "--limit", "1"],
        vec!["blocked"],
        vec!["search", "Alpha"],
        vec!["search", "nothing-matches-this"],
        vec!["children", &a],
        vec!["children", &a, "--recursive"],
        vec!["stale", "--days", "1"],
    ] {
        let doc = ck.run(&env, "issue-list", &args);
        if args[0] == "blocked" {
            ck.out("blocked", &doc, "blocked");
            assert!(
                !doc.as_array().unwrap().is_empty(),
                "nothing blocked: {doc}"
            );
        }
    }
    ck.run(&env, "ready-claim", &["ready", "--claim"]);
    ck.run(&env, "stats", &["stats"]);
    ck.run(&env, "count", &["count"]);
    for by in ["status", "priority", "type", "assignee", "label"] {
        let doc = ck.run(&env, "count", &["count", "--by", by]);
        assert!(doc["groups"].is_object(), "count --by {by}: {doc}");
    }
    let w = ck.run(&env, "where", &["where"]);
    assert_eq!(w["origin"], Value::Null, "{w}");
    ck.run(&env, "config-list", &["config", "list"]);
    ck.run(&env, "config-get", &["config", "get", "lease"]);
    ck.run(&env, "config-set", &["config", "set", "lease", "20m"]);
    ck.run(&env, "config-set", &["config", "set", "lease", "20m"]);
    ck.run(
        &env,
        "config-set",
        &["config", "set", "projects.other", "github.com/o/r"],
    );
    ck.run(&env, "config-set", &["config", "unset", "lease"]);
    ck.run(&env, "config-set", &["config", "unset", "lease"]);
    ck.run(&env, "config-get", &["config", "get", "projects.other"]);
    ck.run(&env, "config-list", &["config", "list"]);
    ck.run(
        &env,
        "config-set",
        &["config", "set", "project", "example.com/p"],
    );
    let w = ck.run(&env, "where", &["where"]);
    assert_eq!(w["identity"], "example.com/p", "{w}");
    assert_eq!(w["identity_source"], "config", "{w}");
    ck.run(&env, "doctor", &["doctor"]);
    ck.run(&env, "export", &["export"]);
    let out = env.tmp.path().join("export.jsonl");
    let ex = ck.run(&env, "export", &["export", "-o", out.to_str().unwrap()]);
    assert!(ex["exported"].as_u64().unwrap() >= 4);
    let fixture = fx.join("issues.jsonl");
    ck.run(
        &env,
        "import",
        &["import", fixture.to_str().unwrap(), "--dry-run"],
    );
    ck.run(&env, "import", &["import", fixture.to_str().unwrap()]);
    ck.run(&env, "import", &["import", fixture.to_str().unwrap()]);
    // The classic records in every view.
    ck.run(&env, "issue-list", &["list", "--all"]);
    ck.run(&env, "issue-list", &["ready", "--limit", "0"]);
    ck.run(&env, "blocked", &["blocked"]);
    ck.run(&env, "stats", &["stats"]);
    let dr = ck.run(&env, "doctor", &["doctor"]);
    assert!(!dr["findings"].as_array().unwrap().is_empty(), "{dr}");
    let missing = env
        .records()
        .into_iter()
        .find(|r| {
            r["dependencies"].as_array().into_iter().flatten().any(|d| {
                let t = d["depends_on_id"].as_str().unwrap();
                !env.issues_text().contains(&format!("{{\"id\":\"{t}\""))
            })
        })
        .expect("the fixture has an edge to a missing issue");
    let ml = ck.run(
        &env,
        "dep-list",
        &["dep", "list", missing["id"].as_str().unwrap()],
    );
    assert!(
        ml["depends_on"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["missing"] == true),
        "{ml}"
    );
    let epic = env
        .records()
        .into_iter()
        .find(|r| {
            r["issue_type"] == "epic"
                && env.issues_text().contains(&format!(
                    "\"depends_on_id\":\"{}\",\"type\":\"parent-child\"",
                    r["id"].as_str().unwrap()
                ))
        })
        .expect("the fixture has an epic with children");
    let eid = epic["id"].as_str().unwrap();
    ck.run(&env, "show", &["show", eid]);
    ck.run(&env, "issue-list", &["children", eid]);
    ck.run(&env, "dep-tree", &["dep", "tree", eid, "--reverse"]);

    // A cycle, in dep cycles and dep tree.
    let cyc = TestEnvironment::new();
    let x = cyc.create("X", &[]);
    let y = cyc.create("Y", &[]);
    cyc.bd(&["dep", "add", &x, &y]).ok();
    let lines: Vec<Value> = cyc
        .records()
        .into_iter()
        .map(|mut r| {
            if r["id"] == y.as_str() {
                r["dependencies"] = json!([{"issue_id": y, "depends_on_id": x, "type": "blocks",
                    "created_at": "2026-01-01T00:00:00Z", "created_by": "t"}]);
            }
            r
        })
        .collect();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(cyc.issues_path(), text).unwrap();
    let cycles = ck.run(&cyc, "dep-cycles", &["dep", "cycles"]);
    assert!(!cycles.as_array().unwrap().is_empty(), "{cycles}");
    let tree = ck.run(&cyc, "dep-tree", &["dep", "tree", &x]);
    assert!(tree.to_string().contains("\"cycle\":true"), "{tree}");

    // Git: commit, diff, log, sync against a local bare remote.
    let g = TestEnvironment::bare_git();
    let remote = g.tmp.path().join("remote.git");
    std::fs::create_dir_all(&remote).unwrap();
    common::git(&remote, &["init", "-q", "--bare", "-b", "main"]);
    common::git(&g.repo, &["commit", "-q", "--allow-empty", "-m", "start"]);
    common::git(
        &g.repo,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    common::git(&g.repo, &["push", "-q", "-u", "origin", "main"]);
    g.bd(&["init", "--prefix", "bd"]).ok();
    let gi = g.create("Tracked", &["-l", "l"]);
    ck.run(&g, "diff", &["diff"]);
    let first = ck.run(&g, "commit", &["commit"]);
    assert_eq!(first["committed"], true, "{first}");
    ck.run(&g, "commit", &["commit"]);
    g.bd(&["update", &gi, "--title", "Tracked 2", "-p", "0"])
        .ok();
    g.bd(&["close", &gi]).ok();
    ck.run(&g, "diff", &["diff"]);
    ck.run(&g, "commit", &["commit", "-m", "second"]);
    ck.run(&g, "diff", &["diff", "HEAD~1..HEAD"]);
    ck.run(&g, "diff", &["diff"]);
    let log = ck.run(&g, "log", &["log", &gi]);
    assert!(log["entries"].as_array().unwrap().len() >= 2, "{log}");
    g.bd(&["reopen", &gi]).ok();
    let s = ck.run(&g, "sync", &["sync"]);
    assert_eq!(s["pushed"], true, "{s}");
    ck.run(&g, "sync", &["sync"]);

    // Errors: one document on stdout for every code.
    ck.fail(&env, &["frobnicate"], 2, "usage");
    ck.fail(
        &env,
        &["update", &a, "--claim", "--status", "open"],
        2,
        "usage",
    );
    ck.fail(&env, &["comment", &a], 2, "usage");
    ck.fail(&env, &["create", "Bad", "-p", "9"], 1, "invalid");
    ck.fail(
        &env,
        &["config", "set", "auto_commit", "sometimes"],
        1,
        "invalid",
    );
    ck.fail(&env, &["show", "bd-doesnotexist"], 1, "not_found");
    ck.fail(&env, &["config", "get", "nonsense"], 1, "not_found");
    ck.fail(&env, &["import", "/nonexistent/file.jsonl"], 1, "io");
    let amb = TestEnvironment::new();
    import_lines(
        &amb,
        &[
            json!({"id": "bd-abc1", "title": "one", "status": "open", "priority": 2}),
            json!({"id": "bd-abc2", "title": "two", "status": "open", "priority": 2}),
        ],
    );
    ck.fail(&amb, &["show", "abc"], 1, "ambiguous");
    let held = amb.bd(&["--actor", "other", "claim", "bd-abc1"]).ok();
    drop(held);
    ck.fail(&amb, &["claim", "bd-abc1"], 3, "conflict");
    {
        let lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(amb.beads().join(".lock"))
            .unwrap();
        lock.lock().unwrap();
        let r = amb.bd_env(
            &["--json", "create", "Locked out"],
            &[("BD_LOCK_TIMEOUT_MS", "150")],
        );
        let doc = check_failure(r, 3, "locked", "create (lock held)");
        ck.out("error", &doc, "create (lock held)");
        lock.unlock().unwrap();
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(amb.issues_path())
        .unwrap();
    std::io::Write::write_all(&mut f, b"{not json\n").unwrap();
    drop(f);
    ck.fail(&amb, &["create", "Refused"], 1, "parse");
    // Unfixed errors: exit 1, and still the doctor's report on stdout.
    let dr = amb.bd(&["--json", "doctor"]).code(1).json();
    ck.out("doctor", &dr, "doctor (unfixed errors)");
    assert_eq!(dr["ok"], false, "{dr}");
    let fixed = ck.run(&amb, "doctor", &["doctor", "--fix"]);
    assert!(
        fixed["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["fixed"] == true),
        "{fixed}"
    );
    let nogit = tempfile::tempdir().unwrap();
    let r = env.bd(&["--json", "-C", nogit.path().to_str().unwrap(), "list"]);
    let doc = check_failure(r, 1, "invalid", "list outside git");
    ck.out("error", &doc, "list outside git");

    // Mail and coordination.
    check_mail_outputs(&ck);
    check_coordination_outputs(&ck);

    // Every output schema was used above.
    let used = ck.used.borrow();
    let unused: Vec<String> = schema_files()
        .into_iter()
        .filter(|f| f.starts_with("output/") && !used.contains(f))
        .collect();
    assert!(unused.is_empty(), "output schemas no test uses: {unused:?}");
}

/// Two projects on one machine sharing a BD_HOME, so mail passes between
/// them: `a` (prefix bd, identity example.com/a) and `b` (prefix bz,
/// example.com/b).
fn two_projects() -> (TestEnvironment, TestEnvironment) {
    let a = TestEnvironment::new();
    a.bd(&["config", "set", "project", "example.com/a"]).ok();
    let mut b = TestEnvironment::bare_git();
    b.home = a.home.clone();
    b.bd(&["init", "--prefix", "bz"]).ok();
    b.bd(&["config", "set", "project", "example.com/b"]).ok();
    // A command registers each workspace under its identity in the home.
    a.bd(&["where"]).ok();
    b.bd(&["where"]).ok();
    (a, b)
}

/// `bd mail …`: local and cross-project messages, with attachments, pending
/// and delivered deliveries, read and ack marks, replies, empty results.
fn check_mail_outputs(ck: &Checker) {
    let (a, b) = two_projects();
    ck.run(
        &a,
        "agent",
        &["agent", "register", "bob", "--kind", "human"],
    );
    let empty = ck.run(&a, "mail-list", &["--actor", "bob", "mail", "inbox"]);
    assert_eq!(empty, json!([]));
    let file = a.tmp.path().join("repro.txt");
    std::fs::write(&file, "steps\n").unwrap();
    let file = file.to_str().unwrap();
    let local = ck.run(
        &a,
        "mail-send",
        &[
            "mail",
            "send",
            "--to",
            "bob",
            "--subject",
            "Hello",
            "--body",
            "see attached",
            "--attach",
            file,
            "--ack",
            "--importance",
            "high",
        ],
    );
    assert_eq!(local["attachments"][0]["size"], 6, "{local}");
    assert_eq!(local["pending"], json!([]), "{local}");
    let lid = local["id"].as_str().unwrap().to_string();
    let issue = a.create("Crash on start", &[]);
    let cross = ck.run(
        &a,
        "mail-send",
        &[
            "mail",
            "send",
            "--to",
            "@example.com/b",
            "--cc",
            "bob",
            "--subject",
            "Crash in b",
            "--body",
            "repro",
            "--attach",
            file,
            "--issue",
            &issue,
            "-t",
            "feature",
        ],
    );
    assert_eq!(
        cross["delivery"]["example.com/b"],
        json!({"status": "pending"}),
        "{cross}"
    );
    let nowhere = ck.run(
        &a,
        "mail-send",
        &[
            "mail",
            "send",
            "--to",
            "project:example.com/nowhere",
            "--subject",
            "Anyone?",
        ],
    );
    assert_eq!(
        nowhere["pending"],
        json!(["example.com/nowhere"]),
        "{nowhere}"
    );
    // b's next command imports the message as a work item; b's agents see it.
    let imported = ck.run(&b, "issue-list", &["list"]);
    assert_eq!(imported.as_array().map(Vec::len), Some(1), "{imported}");
    let inbox_b = ck.run(&b, "mail-list", &["mail", "inbox"]);
    assert_eq!(inbox_b[0]["issue"], imported[0]["id"], "{inbox_b}");
    assert_eq!(inbox_b[0]["from"], "tester@example.com/a", "{inbox_b}");
    let back = ck.run(
        &b,
        "mail-send",
        &[
            "mail",
            "reply",
            inbox_b[0]["id"].as_str().unwrap(),
            "--body",
            "looking",
        ],
    );
    assert!(back["delivery"]["example.com/a"].is_object(), "{back}");
    // a's next command records the delivery.
    let found = ck.run(&a, "mail-list", &["mail", "search", "crash in b"]);
    let sent = found
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == cross["id"])
        .unwrap_or_else(|| panic!("search misses the message: {found}"));
    let d = &sent["delivery"]["example.com/b"];
    assert_eq!(d["status"], "delivered", "{sent}");
    assert_eq!(d["issue"], imported[0]["id"], "{sent}");
    // The recipient reads, acks (twice), replies.
    let inbox = ck.run(&a, "mail-list", &["--actor", "bob", "mail", "inbox"]);
    assert!(inbox.as_array().unwrap().len() >= 2, "{inbox}");
    let read = ck.run(&a, "message", &["--actor", "bob", "mail", "read", &lid]);
    assert!(read["read_by"]["bob"].is_string(), "{read}");
    let acked = ck.run(&a, "message", &["--actor", "bob", "mail", "ack", &lid]);
    assert!(acked["acked_by"]["bob"].is_string(), "{acked}");
    ck.run(&a, "message", &["--actor", "bob", "mail", "ack", &lid]);
    // The sender's view carries the recipient's marks.
    let sent_view = ck.run(&a, "mail-sent", &["mail", "sent"]);
    let mine = sent_view
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == lid.as_str())
        .unwrap_or_else(|| panic!("sent misses {lid}: {sent_view}"));
    assert!(mine["acked_by"]["bob"].is_string(), "{sent_view}");
    assert_eq!(
        ck.run(&a, "mail-sent", &["--actor", "nobody", "mail", "sent"]),
        json!([])
    );
    let reply = ck.run(
        &a,
        "mail-send",
        &["--actor", "bob", "mail", "reply", &lid, "--body", "thanks"],
    );
    assert_eq!(reply["in_reply_to"], lid.as_str(), "{reply}");
    let thread = ck.run(&a, "mail-list", &["mail", "thread", &lid]);
    assert_eq!(thread.as_array().map(Vec::len), Some(2), "{thread}");
    ck.run(
        &a,
        "mail-list",
        &["--actor", "bob", "mail", "inbox", "--all"],
    );
    let none = ck.run(&a, "mail-list", &["mail", "search", "nothing-matches-this"]);
    assert_eq!(none, json!([]));
    ck.fail(&a, &["mail", "read", "msg-doesnotexist0"], 1, "not_found");
    ck.fail(
        &a,
        &["mail", "send", "--to", "bob", "--subject", "  "],
        1,
        "invalid",
    );
    for env in [&a, &b] {
        let text = std::fs::read_to_string(env.beads().join("mail.jsonl")).unwrap();
        assert_jsonl_valid(&ck.v, "message.schema.json", &text, "mail.jsonl");
    }
}

/// Agents, hooks, prime, dispatch (a round, a dry run, a recovery, a watch
/// loop), convoys, the demo.
fn check_coordination_outputs(ck: &Checker) {
    let env = TestEnvironment::new();
    assert_eq!(ck.run(&env, "agents", &["agents"]), json!([]));
    assert_eq!(ck.run(&env, "convoy-list", &["convoy", "list"]), json!([]));
    let reg = &["agent", "register", "agent-1", "--kind", "claude"];
    ck.run(&env, "agent", reg);
    ck.run(&env, "agent", reg); // idempotent
    let hb = ck.run(
        &env,
        "agent",
        &["--actor", "agent-1", "heartbeat", "--note", "on it"],
    );
    assert_eq!(hb["note"], "on it", "{hb}");
    let hb = ck.run(&env, "agent", &["--actor", "agent-2", "heartbeat"]);
    assert_eq!(hb["kind"], "unknown", "{hb}");
    assert_eq!(hb["note"], Value::Null, "{hb}");
    let x = env.create("X", &["-p", "1"]);
    let y = env.create("Y", &[]);
    let z = env.create("Z", &[]);
    ck.run(&env, "issue", &["--actor", "agent-1", "claim", &x]);
    let hook = ck.run(&env, "hook", &["--actor", "agent-1", "hook"]);
    assert_eq!(hook["items"], json!([]), "{hook}");
    let slung = ck.run(&env, "issue", &["sling", &y, "agent-1", "--note", "next"]);
    assert_eq!(slung["status"], "hooked", "{slung}");
    let hook = ck.run(&env, "hook", &["hook", "agent-1"]);
    assert_eq!(hook["items"], json!([y]), "{hook}");
    let hook_file = env.beads().join("hooks/agent-1.json");
    let hf: Value = serde_json::from_str(&std::fs::read_to_string(&hook_file).unwrap()).unwrap();
    assert_valid(&ck.v, "hook.schema.json", &hf, "hooks/agent-1.json");
    let p = ck.run(&env, "prime", &["--actor", "agent-1", "prime"]);
    assert_eq!(p["hook"][0]["id"], y.as_str(), "{p}");
    assert_eq!(p["claims"][0]["id"], x.as_str(), "{p}");
    ck.run(&env, "prime", &["prime"]);
    let agents = ck.run(&env, "agents", &["agents"]);
    assert_eq!(agents[0]["claims"], json!([x]), "{agents}");
    assert_eq!(agents[0]["hook"], json!([y]), "{agents}");
    let un = ck.run(&env, "unhook", &["unhook", &y, "--agent", "agent-1"]);
    assert_eq!(un["removed"], json!([y]), "{un}");
    let un = ck.run(&env, "unhook", &["unhook", "--agent", "agent-1"]);
    assert_eq!(un["removed"], json!([]), "{un}");
    ck.fail(&env, &["unhook", &y, "--agent", "agent-1"], 1, "not_found");

    // Dispatch: a dry run, a round, a round with nothing to do. Only
    // registered agents receive work (agent-2 only ran a heartbeat).
    ck.run(&env, "agent", &["agent", "register", "agent-3"]);
    let plan = ck.run(&env, "dispatch", &["dispatch", "--dry-run"]);
    assert!(!plan["slung"].as_array().unwrap().is_empty(), "{plan}");
    let plan = ck.run(&env, "dispatch", &["dispatch"]);
    assert_eq!(plan["dry_run"], false, "{plan}");
    assert!(!plan["slung"].as_array().unwrap().is_empty(), "{plan}");
    let plan = ck.run(&env, "dispatch", &["dispatch"]);
    assert_eq!(plan["slung"], json!([]), "{plan}");
    let gone = ck.run(
        &env,
        "agent-unregister",
        &["agent", "unregister", "agent-3"],
    );
    assert_eq!(gone["name"], "agent-3", "{gone}");
    ck.fail(&env, &["agent", "unregister", "agent-3"], 1, "not_found");

    // Convoys.
    let conv = ck.run(&env, "issue", &["convoy", "create", "Ship it", &y, &z]);
    assert_eq!(conv["issue_type"], "convoy", "{conv}");
    let cid = conv["id"].as_str().unwrap().to_string();
    ck.run(&env, "issue", &["convoy", "create", "Nothing yet"]);
    ck.run(&env, "issue", &["convoy", "add", &cid, &x]);
    ck.run(&env, "issue", &["convoy", "add", &cid, &x]); // already tracked
    let st = ck.run(&env, "convoy-status", &["convoy", "status", &cid]);
    assert_eq!(st["tracked"], 3, "{st}");
    env.bd(&["close", &z, "--force"]).ok();
    let st = ck.run(&env, "convoy-status", &["convoy", "status", &cid]);
    assert_eq!(st["by_status"]["closed"]["count"], 1, "{st}");
    let all = ck.run(&env, "convoy-list", &["convoy", "list"]);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    ck.fail(&env, &["convoy", "status", &x], 1, "invalid");

    // A watch loop: one compact line per round, then the summary when stopped.
    {
        use std::io::{BufRead, Read};
        let mut child = env
            .cmd(&["--json", "dispatch", "--watch", "--interval", "30"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let round: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("a watch round is not one JSON line ({e}): {first:?}"));
        ck.out("dispatch", &round, "dispatch --watch (a round)");
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let done = child.wait_with_output().unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        let summary: Value = serde_json::from_str(&rest)
            .unwrap_or_else(|e| panic!("the watch summary is not JSON ({e}): {rest:?}"));
        ck.out("dispatch-watch", &summary, "dispatch --watch (stopped)");
        assert_eq!(summary["rounds"], 1, "{summary}");
    }

    // A claim silent past its lease is recovered.
    let r = env.bd_at("2099-01-01T00:00:00Z", &["--json", "dispatch"]);
    let plan = r.ok().json();
    ck.out("dispatch", &plan, "dispatch (a lapsed claim)");
    assert_eq!(plan["recovered"], json!([[x, "agent-1"]]), "{plan}");

    // The demo, and the mail and hook files it leaves.
    let dir = env.tmp.path().join("demo");
    ck.run(&env, "demo", &["demo", dir.to_str().unwrap()]);
    let (mut mails, mut hooks) = (0, 0);
    for ws in ["vc-alice", "vc-bob", "beads"] {
        let beads = dir.join(ws).join(".beads");
        if let Ok(text) = std::fs::read_to_string(beads.join("mail.jsonl")) {
            mails += assert_jsonl_valid(&ck.v, "message.schema.json", &text, ws);
        }
        for e in std::fs::read_dir(beads.join("hooks")).into_iter().flatten() {
            let path = e.unwrap().path();
            let h: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_valid(&ck.v, "hook.schema.json", &h, &path.display().to_string());
            hooks += 1;
        }
    }
    assert!(
        mails >= 3 && hooks >= 1,
        "the demo left {mails} messages, {hooks} hooks"
    );
}

/// A few shapes the schemas leave open, pinned here so a change is noticed.
#[test]
fn output_details_the_schemas_leave_open() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &["--deps", &a]);
    let shown = env.json(&["show", &a]);
    assert_eq!(shown["dependent_count"], 1);
    assert_eq!(shown["dependents"][0]["id"], b.as_str());
    let listed = env.json(&["list"]);
    let counts: BTreeMap<String, Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["dependent_count"].clone(),
            )
        })
        .collect();
    assert_eq!(counts[&a], 1);
    let stats = env.json(&["stats"]);
    assert_eq!(stats["total_issues"], 2);
    assert_eq!(stats["blocked_issues"], 1);
    let cfg = env.json(&["config", "list"]);
    let keys: Vec<&String> = cfg.as_object().unwrap().keys().collect();
    let known: Vec<&str> = strand::store::config::KEYS.iter().map(|k| k.0).collect();
    assert_eq!(
        &keys[..known.len()],
        &known[..],
        "config list starts with the known keys in order"
    );
}

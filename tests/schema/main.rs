//! The JSON Schemas in `schema/` (docs/FORMAT.md) checked against what `bd`
//! reads and writes: every line of the classic fixture and of the real v0.47.0
//! export, the `issues.jsonl`, `mail.jsonl`, hook files and `config.toml`
//! that `bd` writes, and the `--json` output of every command, errors included. The validator is a small
//! one written here for the subset of draft 2020-12 the schemas use; any other
//! keyword in a schema is an error, so a schema cannot silently claim more than
//! is checked.

#[path = "../common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use common::{Run, TestEnvironment};
use serde_json::{Value, json};

mod re;

mod classic;
mod details;
mod files;
mod mcp;
mod outputs;
mod schemas;

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

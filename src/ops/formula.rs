//! `bd formula list|show|check` and `bd cook` (issue 16): the formulas of
//! the workspace (`.beads/formulas/`) and of the user (`~/.beads/formulas/`),
//! read by `model::formula`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::formula::{self, Formula, Problem, Step};
use crate::ops::Session;
pub use crate::store::formulas::Origin;
use crate::store::formulas::{self, FormulaFile};

/// The folders searched, in order.
pub fn dirs(ctx: &Session) -> Vec<(Origin, PathBuf)> {
    formulas::dirs(&ctx.ws.beads, ctx.env.formulas_dir.as_deref())
}

/// A formula file parsed, or the error that stops it, in words naming the
/// file, line and column.
pub fn parse_file(file: &FormulaFile) -> Result<Formula> {
    let text = formulas::read(file)?;
    formula::parse(&text).map_err(|p| Error::invalid(located(&file.path, &p)))
}

/// `path:line:column: message` (column and step when known).
pub fn located(path: &std::path::Path, p: &Problem) -> String {
    let mut s = format!("{}:{}", path.display(), p.line);
    if let Some(c) = p.column {
        s.push_str(&format!(":{c}"));
    }
    if let Some(step) = &p.step {
        s.push_str(&format!(": step {step:?}"));
    }
    format!("{s}: {}", p.message)
}

/// The formula called `name`, parsed; not found names the folders.
pub fn load(ctx: &Session, name: &str) -> Result<(FormulaFile, Formula)> {
    let d = dirs(ctx);
    let Some(file) = formulas::find(&d, name)? else {
        return Err(not_found(name, &d));
    };
    let f = parse_file(&file)?;
    Ok((file, f))
}

fn not_found(name: &str, d: &[(Origin, PathBuf)]) -> Error {
    Error::NotFound(crate::error::Missing::Formula {
        name: name.to_string(),
        places: d.iter().map(|(_, p)| p.clone()).collect(),
    })
}

/// One line of `bd formula list`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub origin: Origin,
    pub source: PathBuf,
    /// Steps as written (children and loop bodies counted, loops not unrolled).
    pub steps: usize,
    pub vars: usize,
    /// Why the file cannot be read as a formula (it is listed anyway).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn count_steps(s: &[Step]) -> usize {
    s.iter()
        .map(|x| {
            1 + count_steps(&x.children) + x.looping.as_ref().map_or(0, |l| count_steps(&l.body))
        })
        .sum()
}

/// `bd formula list [--type T]`.
pub fn list(ctx: &Session, kind: Option<&str>) -> Result<Vec<Summary>> {
    let mut out = Vec::new();
    for file in formulas::list(&dirs(ctx))? {
        let s = match parse_file(&file) {
            Ok(f) => Summary {
                name: file.name.clone(),
                kind: f.kind.clone(),
                description: f
                    .description
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string(),
                origin: file.origin,
                source: file.path.clone(),
                steps: count_steps(&f.steps),
                vars: f.vars.len(),
                error: None,
            },
            Err(e) => Summary {
                name: file.name.clone(),
                kind: String::new(),
                description: String::new(),
                origin: file.origin,
                source: file.path.clone(),
                steps: 0,
                vars: 0,
                error: Some(e.to_string()),
            },
        };
        if kind.is_none_or(|k| s.kind == k) {
            out.push(s);
        }
    }
    Ok(out)
}

/// `bd formula show NAME`: the formula as written (loops not unrolled).
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    pub name: String,
    pub origin: Origin,
    pub source: PathBuf,
    #[serde(flatten)]
    pub formula: Formula,
}

pub fn show(ctx: &Session, name: &str) -> Result<Shown> {
    let (file, f) = load(ctx, name)?;
    Ok(Shown {
        name: file.name,
        origin: file.origin,
        source: file.path,
        formula: f,
    })
}

/// One formula's problems.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub name: String,
    pub source: PathBuf,
    pub ok: bool,
    pub problems: Vec<Problem>,
}

/// `bd formula check [NAME…] [--var k=v…]`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub formulas: Vec<Checked>,
}

/// Check the named formulas (none: every one found). With `vars`, the
/// values are checked as a pour would (missing, unknown, pattern, enum).
pub fn check(ctx: &Session, names: &[String], vars: &[(String, String)]) -> Result<CheckReport> {
    let files: Vec<FormulaFile> = if names.is_empty() {
        formulas::list(&dirs(ctx))?
    } else {
        let d = dirs(ctx);
        names
            .iter()
            .map(|n| formulas::find(&d, n)?.ok_or_else(|| not_found(n, &d)))
            .collect::<Result<_>>()?
    };
    let mut out = Vec::new();
    for file in files {
        let text = match formulas::read(&file) {
            Ok(t) => t,
            Err(e) => {
                // One unreadable file does not hide the others' problems.
                out.push(Checked {
                    name: file.name.clone(),
                    source: file.path.clone(),
                    ok: false,
                    problems: vec![Problem {
                        line: 0,
                        column: None,
                        step: None,
                        message: e.to_string(),
                    }],
                });
                continue;
            }
        };
        let problems = match formula::parse(&text) {
            Err(p) => vec![p],
            Ok(f) => {
                let with = (!vars.is_empty()).then_some(vars);
                let mut p = formula::check(&f, with);
                if p.is_empty()
                    && let Err(e) = formula::plan(&f, vars).map(|_| ()).or_else(|e| {
                        // Without values, only what the values cannot fix counts.
                        if vars.is_empty() && e.starts_with("missing required variables") {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    })
                {
                    p.push(Problem {
                        line: 0,
                        column: None,
                        step: None,
                        message: e,
                    });
                }
                p
            }
        };
        out.push(Checked {
            name: file.name.clone(),
            source: file.path.clone(),
            ok: problems.is_empty(),
            problems,
        });
    }
    Ok(CheckReport {
        ok: out.iter().all(|c| c.ok),
        formulas: out,
    })
}

/// `bd cook NAME [--var k=v…] [--mode compile|runtime]`: the formula
/// resolved (loops unrolled, advice woven in; conditions are a pour's), its
/// `{{variables}}` kept (compile) or filled in (runtime, the default once a
/// value is given).
#[derive(Debug, Clone, Serialize)]
pub struct Cooked {
    pub formula: String,
    pub description: String,
    pub version: i64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    pub mode: &'static str,
    pub source: PathBuf,
    pub vars: BTreeMap<String, formula::VarDef>,
    /// The values used (runtime mode).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

pub fn cook(
    ctx: &Session,
    name: &str,
    vars: &[(String, String)],
    mode: Option<&str>,
) -> Result<Cooked> {
    let runtime = match mode {
        None => !vars.is_empty(),
        Some("runtime") => true,
        Some("compile") => false,
        Some(m) => {
            return Err(Error::invalid(format!(
                "mode {m:?} is not compile or runtime"
            )));
        }
    };
    if !runtime && !vars.is_empty() {
        return Err(crate::ops::usage("--var values are for --mode runtime"));
    }
    let (file, f) = load(ctx, name)?;
    if let Some(p) = formula::check(&f, None).into_iter().next() {
        return Err(Error::invalid(located(&file.path, &p)));
    }
    let values = if runtime {
        formula::resolve_vars(&f, vars).map_err(Error::invalid)?
    } else {
        f.vars
            .iter()
            .filter_map(|(k, d)| d.default.clone().map(|v| (k.clone(), v)))
            .collect()
    };
    let mut steps = formula::expand(&f, &values).map_err(Error::invalid)?;
    if runtime {
        fill(&mut steps, &values);
    }
    Ok(Cooked {
        description: if runtime {
            formula::substitute(&f.description, &values)
        } else {
            f.description.clone()
        },
        formula: f.formula,
        version: f.version,
        kind: f.kind,
        phase: f.phase,
        mode: if runtime { "runtime" } else { "compile" },
        source: file.path,
        vars: f.vars,
        values: if runtime { values } else { BTreeMap::new() },
        steps,
    })
}

fn fill(steps: &mut [Step], vals: &BTreeMap<String, String>) {
    let sub = |t: &mut String| *t = formula::substitute(t, vals);
    for s in steps {
        sub(&mut s.title);
        sub(&mut s.description);
        sub(&mut s.notes);
        sub(&mut s.acceptance);
        if let Some(g) = &mut s.gate {
            for t in [&mut g.id, &mut g.await_id, &mut g.timeout, &mut g.command]
                .into_iter()
                .flatten()
            {
                sub(t);
            }
        }
        fill(&mut s.children, vals);
    }
}

/// `k=v` pairs from `--var` words; the first `=` splits.
pub fn parse_vars(words: &[String]) -> Result<Vec<(String, String)>> {
    words
        .iter()
        .map(|w| {
            w.split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| crate::ops::usage(format!("--var {w:?}: give it as name=value")))
        })
        .collect()
}

//! What classic beads tools read from a workspace besides the tracker:
//! the version line (`bd version 1.0.5 (strand 0.1.0)`) and
//! `.beads/metadata.json`, by which classic clients (beads-mcp, beads-ui)
//! find a workspace (docs/COMPATIBILITY.md).

use crate::error::{Error, Result};
use crate::files::atomic;
use crate::store::Workspace;

/// The classic CLI contract strand follows (its reference: classic bd
/// v1.0.5's command and JSON documentation).
pub const CLASSIC_VERSION: &str = "1.0.5";

/// `bd version`: the classic contract first (clients compare it with the
/// version they need), then strand's own.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Version {
    pub version: &'static str,
    pub strand: &'static str,
    pub name: &'static str,
    pub implementation: &'static str,
}

pub fn version() -> Version {
    Version {
        version: CLASSIC_VERSION,
        strand: env!("CARGO_PKG_VERSION"),
        name: "bd",
        implementation: "strand",
    }
}

/// The file classic clients look for in `.beads/`.
pub const METADATA: &str = "metadata.json";

/// Where a classic repository keeps issues strand cannot read, when its
/// `.beads/issues.jsonl` holds none: a Dolt database (`.beads/dolt/`, or
/// `backend: dolt` in `metadata.json`; classic 1.x) or an SQLite one
/// (`.beads/*.db`; classic 0.x). `init` refuses such a repository, saying
/// how to bring the issues over, rather than start an empty tracker beside
/// them.
pub fn issues_only_in_a_database(ws: &Workspace) -> Option<String> {
    let has_issues = crate::files::read(ws.issues_path())
        .is_ok_and(|b| b.iter().any(|c| !c.is_ascii_whitespace()));
    if has_issues {
        return None;
    }
    let dolt_dir = ws.beads.join("dolt");
    let meta_says_dolt = crate::files::read_to_string(ws.beads.join(METADATA))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|m| m["backend"] == "dolt");
    if crate::files::is_real_dir(&dolt_dir) || meta_says_dolt {
        return Some("a Dolt database (.beads/dolt/)".into());
    }
    let db = crate::files::read_dir(&ws.beads)
        .ok()?
        .flatten()
        .find(|e| {
            e.file_name().to_str().is_some_and(|n| n.ends_with(".db"))
                && e.file_type().is_ok_and(|t| t.is_file())
        })?;
    Some(format!(
        "an SQLite database (.beads/{})",
        db.file_name().to_string_lossy()
    ))
}

/// Write `.beads/metadata.json` where it is missing (a new tracker), or add
/// the keys strand's tracker needs to a classic one (kept otherwise: its
/// `backend`, `database`, … stay for the classic tools that read them).
/// Returns what it did, if anything: `created` or `extended`.
pub fn ensure_metadata(ws: &Workspace) -> Result<Option<&'static str>> {
    let path = ws.beads.join(METADATA);
    let text = match crate::files::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&path, e)),
    };
    let (mut meta, did) = match &text {
        None => (serde_json::Map::new(), "created"),
        Some(t) => match serde_json::from_str::<serde_json::Value>(t) {
            Ok(serde_json::Value::Object(m)) => (m, "extended"),
            _ => {
                return Err(Error::Invalid {
                    msg: format!("{} is not a JSON object", path.display()),
                    hint: Some("fix it by hand or remove it; `bd init` writes a new one".into()),
                });
            }
        },
    };
    // `backend` and `database` are left alone: the classic binary picks its
    // storage by them, and strand reads only the files.
    let mut changed = false;
    for (k, v) in [("jsonl_export", "issues.jsonl"), ("tracker", "strand")] {
        if !meta.contains_key(k) {
            meta.insert(k.into(), v.into());
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    let mut out = serde_json::to_string_pretty(&meta).unwrap_or_default();
    out.push('\n');
    atomic::write(&path, out.as_bytes())?;
    Ok(Some(did))
}

/// `bd quickstart`: the day-to-day commands, in a screen.
pub const QUICKSTART: &str = "\
bd (strand): a work tracker kept in git, beside the code.

Start of a session
  bd prime                  what is on your hook, your claims, unread mail, ready work
  bd ready                  work nobody holds and nothing blocks, most urgent first

Working
  bd claim ID               take it (atomic: exit 3 when another holds it)
  bd show ID                everything about it: edges, comments, who holds it
  bd update ID --notes ...  change fields (--status, --priority, --assignee, ...)
  bd note ID TEXT           add a line to its notes
  bd comment ID TEXT        add a comment
  bd close ID --reason ...  done (refused while open issues block it)

Planning
  bd create \"Title\" -t bug -p 1 --deps blocks:ID --parent EPIC
  bd dep add ID OTHER       ID waits for OTHER
  bd list --status open     everything open (filters: --label, --assignee, --title)
  bd blocked                what waits, and on what

Agents
  BD_ACTOR=name             who you are (every command is a new process)
  bd mail send --to NAME -s SUBJECT -b TEXT, bd mail inbox
  bd sling ID AGENT         put work on an agent's hook

Sharing
  The tracker is .beads/*.jsonl: commit it with the code (`bd commit`, or
  auto_commit = on), and `bd sync` (or git pull/push) shares it; clones
  merge with bd's own merge driver.

Add --json to any command for machine-readable output.
";

/// `bd info`: where the tracker is and what it holds; with `schema`, the
/// fields and values an issue may have.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Info {
    /// The tracker file, relative to the workspace.
    pub database: String,
    pub backend: &'static str,
    pub beads_dir: std::path::PathBuf,
    pub issue_count: usize,
    pub prefix: String,
    pub version: &'static str,
    pub strand: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaInfo>,
}

/// The fields and values an issue may have here.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SchemaInfo {
    pub schema_version: u32,
    pub fields: Vec<&'static str>,
    pub statuses: Vec<String>,
    pub types: Vec<String>,
    pub dependency_types: Vec<&'static str>,
    /// A few ids, the first in id order.
    pub sample_ids: Vec<String>,
}

pub fn info(ctx: &crate::ops::Session, schema: bool) -> Result<Info> {
    use crate::model::values;
    let snap = ctx.snapshot()?;
    let live: Vec<&crate::store::index::Row> = snap
        .rows
        .iter()
        .filter(|r| r.state() != crate::model::kinds::Status::Tombstone)
        .collect();
    let schema = schema.then(|| SchemaInfo {
        schema_version: 1,
        fields: crate::model::record::KEY_ORDER.to_vec(),
        statuses: values::STATUSES
            .iter()
            .map(|s| s.to_string())
            .chain(ctx.custom_statuses())
            .collect(),
        types: values::WORK_TYPES
            .iter()
            .chain(values::COORDINATION_TYPES)
            .map(|s| s.to_string())
            .chain(ctx.custom_types())
            .collect(),
        dependency_types: values::DEP_TYPES.to_vec(),
        sample_ids: live.iter().take(5).map(|r| r.id.clone()).collect(),
    });
    Ok(Info {
        database: ".beads/issues.jsonl".into(),
        backend: "jsonl",
        beads_dir: ctx.ws.beads.clone(),
        issue_count: live.len(),
        prefix: ctx.prefix_of_rows(&snap.rows),
        version: CLASSIC_VERSION,
        strand: env!("CARGO_PKG_VERSION"),
        schema,
    })
}

/// `bd migrate --inspect`: nothing to migrate, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Migrations {
    pub registered_migrations: Vec<String>,
    pub pending_migrations: Vec<String>,
    pub warnings: Vec<String>,
    pub note: &'static str,
}

pub fn migrations(ctx: &crate::ops::Session) -> Migrations {
    let mut warnings = Vec::new();
    if ctx.ws.beads.join("beads.db").exists() {
        warnings.push(
            ".beads/beads.db is classic's database: strand does not read it (it reads .beads/issues.jsonl)"
                .to_string(),
        );
    }
    Migrations {
        registered_migrations: Vec::new(),
        pending_migrations: Vec::new(),
        warnings,
        note: "strand keeps the tracker in .beads/issues.jsonl: there is no database to migrate",
    }
}

/// Issues that look like tests that leaked into the tracker (classic
/// `doctor --check=pollution`): a title that is only a test word, or one
/// that starts with `test` followed by a separator or a number.
pub fn looks_like_test(title: &str) -> bool {
    let t = title.trim().to_lowercase();
    const WORDS: &[&str] = &[
        "test", "testing", "tmp", "temp", "foo", "bar", "asdf", "xxx", "dummy",
    ];
    if WORDS.contains(&t.as_str()) {
        return true;
    }
    t.strip_prefix("test")
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| c == '-' || c == '_' || c == ':' || c.is_ascii_digit())
}

/// A status and how the sets treat it (classic `bd statuses`): `active`
/// (ready work and the default list), `wip` (the default list, not ready),
/// `done` (neither).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusInfo {
    pub name: String,
    pub category: &'static str,
    pub builtin: bool,
}

pub fn statuses(ctx: &crate::ops::Session) -> Vec<StatusInfo> {
    use crate::model::kinds::Status;
    let category = |s: &str| match Status::parse(s) {
        Status::Open => "active",
        Status::Closed | Status::Tombstone => "done",
        _ => "wip",
    };
    let builtin = crate::model::values::STATUSES.iter().map(|s| StatusInfo {
        name: s.to_string(),
        category: category(s),
        builtin: true,
    });
    let custom = ctx.custom_statuses().into_iter().map(|s| StatusInfo {
        category: category(&s),
        name: s,
        builtin: false,
    });
    builtin.chain(custom).collect()
}

/// An issue type (classic `bd types`): `work` types are ready work;
/// `coordination` types (convoys, messages, agents, …) and the
/// `non_work_types` setting's are not.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TypeInfo {
    pub name: String,
    pub kind: &'static str,
    pub builtin: bool,
}

pub fn types(ctx: &crate::ops::Session) -> Vec<TypeInfo> {
    use crate::model::values;
    let non_work = ctx.config.list("non_work_types");
    let kind = |t: &str| {
        if values::COORDINATION_TYPES.contains(&t) || non_work.iter().any(|n| n == t) {
            "coordination"
        } else {
            "work"
        }
    };
    values::WORK_TYPES
        .iter()
        .chain(values::COORDINATION_TYPES)
        .map(|t| TypeInfo {
            name: t.to_string(),
            kind: kind(t),
            builtin: true,
        })
        .chain(ctx.custom_types().into_iter().map(|t| TypeInfo {
            kind: kind(&t),
            name: t,
            builtin: false,
        }))
        .collect()
}

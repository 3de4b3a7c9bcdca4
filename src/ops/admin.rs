//! Workspace-level verbs: `init` (also migration from classic beads),
//! `where`, `config`, `doctor`, `import`, `export`, and the `onboard` text.

use crate::model::kinds::Status;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Missing, Result};
use crate::files::{atomic, lock};
use crate::model::graph;
use crate::model::id;
use crate::model::record::Record;
use crate::model::time;
use crate::model::values;
pub use crate::ops::Finding;
use crate::ops::{Notice, Session, most_common_prefix};
use crate::store::config::{self, Config};
use crate::store::index::Signature;
use crate::store::{Snapshot, Workspace, jsonl, scan};

pub const GITIGNORE: &str =
    "# Local files of bd (strand); everything else here is committed.\n.cache/\n.lock\n.*.tmp-*\n";
/// The lines of `.beads/.gitattributes` (patterns relative to `.beads/`):
/// the file lives in `.beads/`, so `bd commit` and `git add .beads` carry it
/// to every clone.
/// `eol=lf`: the tracker files are LF in every checkout whatever
/// `core.autocrlf` says (bd writes LF; a CRLF checkout made every command
/// note a canonical rewrite). `-text`: attachment bodies are named by their
/// SHA-256 and must reach every clone byte for byte.
pub const GITATTRIBUTES: &[&str] = &[
    "*.jsonl merge=beads eol=lf",
    "hooks/*.json merge=beads eol=lf",
    "attachments/** -text",
];
/// The lines earlier versions added to the root `.gitattributes`; `init` and
/// `doctor --fix` remove them (and only them).
pub const LEGACY_ROOT_ATTRIBUTES: &[&str] = &[
    ".beads/*.jsonl merge=beads",
    ".beads/hooks/*.json merge=beads",
];

/// What `init` did. JSON: the fields in this order.
#[derive(Debug, Default, Serialize)]
pub struct InitReport {
    pub root: PathBuf,
    pub prefix: String,
    pub project: Option<String>,
    pub created: Vec<String>,
    pub migrated: Vec<String>,
    pub classic_hooks: Vec<String>,
    pub issues: usize,
    /// What happened to the merge driver config, when anything did.
    pub driver: Option<String>,
    /// The prefix this run replaced (`init --prefix` on a tracker without issues).
    pub prefix_changed_from: Option<String>,
    /// What init did to git's `pre-commit` hook (file reservations):
    /// `created`, `chained` (the user's kept as `pre-commit.bd-chained`
    /// and run after bd's check), `updated`, `skipped: <why>`; null when
    /// bd's was in place.
    pub pre_commit: Option<String>,
}

fn sanitize_prefix(name: &str) -> Option<String> {
    let p: String = name
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(20)
        .collect();
    config::valid_prefix(&p).then_some(p)
}

/// Read the few keys of a classic `config.yaml` that matter: the prefix and
/// custom statuses and types (flat `key: value` or `key: [a, b]` lines).
fn read_classic_yaml(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or("").trim_end();
        if line.starts_with(char::is_whitespace) || line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim().trim_matches('"').trim_matches('\'');
            let v = v.trim_start_matches('[').trim_end_matches(']');
            if !v.is_empty() {
                out.insert(k.trim().to_string(), v.to_string());
            }
        }
    }
    out
}

/// `bd init`. A classic repository whose issues are only in a database
/// strand does not read is refused, unless `force_empty` (then an empty
/// tracker is started beside it); one strand already tracks is not asked
/// again.
pub fn init(start: &Path, prefix: Option<&str>, force_empty: bool) -> Result<InitReport> {
    let root = Workspace::find_root(start)?;
    let ws = Workspace::at(root.clone());
    let mut rep = InitReport {
        root: root.clone(),
        ..InitReport::default()
    };
    if let Some(p) = prefix
        && !config::valid_prefix(p)
    {
        return Err(Error::invalid(format!(
            "invalid prefix '{p}': use letters, digits and '_', starting with a letter, at most 20"
        )));
    }
    ws.check_beads()?;
    let first_time = !ws.config_path().exists();
    if let Some(store) =
        crate::ops::classic::issues_only_in_a_database(&ws).filter(|_| first_time && !force_empty)
    {
        return Err(Error::Invalid {
            msg: format!(
                "this classic beads repository keeps its issues in {store}, which strand does not read, and .beads/issues.jsonl holds none"
            ),
            hint: Some(
                "export them with the classic binary, then import them: `<classic bd> export -o issues-export.jsonl`, then `bd init --force-empty` and `bd import issues-export.jsonl`".into(),
            ),
        });
    }
    if !ws.beads.is_dir() {
        crate::files::create_dir_all(&ws.beads).map_err(|e| Error::io(&ws.beads, e))?;
        rep.created.push(".beads/".into());
    }
    let _guard = lock::acquire(&ws.lock_path(), lock::default_timeout())?;
    let mut cfg = Config::load(&ws.config_path())?;
    let had_config = ws.config_path().exists();
    let yaml = crate::files::read_to_string(ws.beads.join("config.yaml"))
        .ok()
        .map(|t| read_classic_yaml(&t));
    let issues_bytes = crate::files::read(ws.issues_path()).unwrap_or_default();
    let parsed = jsonl::parse(&issues_bytes);
    rep.issues = parsed.good.len();
    // A new prefix for a tracker that holds issues would leave them under the
    // old one while new issues get the new one: refuse, and say how to choose
    // that deliberately. Without issues the change is made and reported.
    if let (Some(p), Some(old)) = (prefix, cfg.prefix())
        && p != old
    {
        if rep.issues > 0 {
            return Err(Error::Invalid {
                msg: format!(
                    "this tracker already uses prefix '{old}' for its {} issue(s); init does not change it to '{p}'",
                    rep.issues
                ),
                hint: Some(format!(
                    "existing ids keep their prefix; to give new issues '{p}' anyway: `bd config set prefix {p}`"
                )),
            });
        }
        rep.prefix_changed_from = Some(old.to_string());
    }
    let mut changed_cfg = false;
    if let Some(y) = &yaml {
        for (k, v) in y {
            let key = k.replace('-', "_");
            let target = match key.as_str() {
                "issue_prefix" | "prefix" => "prefix",
                k if k.contains("status") && k.contains("custom") => "custom_statuses",
                k if k.contains("type") && k.contains("custom") => "custom_types",
                _ => continue,
            };
            if cfg.table.contains_key(target) {
                continue;
            }
            if cfg.set(target, v).is_ok() {
                changed_cfg = true;
                rep.migrated
                    .push(format!("{target} = {v} (from config.yaml {k})"));
            }
        }
    }
    let chosen = match prefix {
        Some(p) => Some(p.to_string()),
        None if cfg.prefix().is_some() => None,
        None => most_common_prefix(parsed.good.iter().map(|g| g.record.id()))
            .or_else(|| {
                root.file_name()
                    .and_then(|n| sanitize_prefix(&n.to_string_lossy()))
            })
            .or_else(|| Some("bd".into())),
    };
    if let Some(p) = chosen
        && cfg.set("prefix", &p)?
    {
        changed_cfg = true;
    }
    // Clones agree on the identity however their remotes are spelled.
    let dirs = crate::git::dirs(&root)?;
    if cfg.get_str("project").is_none_or(|p| p.is_empty()) {
        let mut ci = cfg.list("case_insensitive_hosts");
        if ci.is_empty() {
            ci = crate::git::identity::DEFAULT_CASE_INSENSITIVE
                .iter()
                .map(|s| s.to_string())
                .collect();
        }
        if let Some(id) = crate::git::identity::origin_url(&dirs)?
            .and_then(|u| crate::git::identity::normalize(&u, &root, &ci))
            && cfg.set("project", &id)?
        {
            changed_cfg = true;
            rep.project = Some(id);
        }
    } else {
        rep.project = cfg.get_str("project").map(str::to_string);
    }
    rep.driver = match crate::git::driver::ensure(&dirs)? {
        crate::git::driver::DriverState::Ok => None,
        crate::git::driver::DriverState::Missing => Some("set (was missing)".into()),
        crate::git::driver::DriverState::Different(old) => Some(format!("replaced '{old}'")),
    };
    rep.prefix = cfg.prefix().unwrap_or("bd").to_string();
    if changed_cfg || !had_config {
        cfg.save(&ws.config_path())?;
        if !had_config {
            rep.created.push(".beads/config.toml".into());
        }
    }
    if !ws.issues_path().exists() {
        atomic::write(&ws.issues_path(), b"")?;
        rep.created.push(".beads/issues.jsonl".into());
    }
    if ensure_gitignore(&ws)? {
        rep.created.push(".beads/.gitignore".into());
    }
    match crate::ops::classic::ensure_metadata(&ws)? {
        Some("created") => rep.created.push(".beads/metadata.json".into()),
        Some(_) => rep
            .migrated
            .push(".beads/metadata.json: added jsonl_export and tracker".into()),
        None => {}
    }
    let (created, migrated) = ensure_attributes(&root)?;
    rep.created.extend(created);
    rep.migrated.extend(migrated);
    rep.classic_hooks = classic_hooks(&root);
    rep.pre_commit = match crate::git::hooks::install_pre_commit(&root) {
        Ok(h) => match h.change {
            crate::git::hooks::Change::Created => Some("created".into()),
            crate::git::hooks::Change::Chained => Some("chained".into()),
            crate::git::hooks::Change::Updated => Some("updated".into()),
            _ => None,
        },
        Err(e) => Some(format!("skipped: {e}")),
    };
    Ok(rep)
}

/// Write the missing lines of `.beads/.gitignore` (the local files: cache,
/// lock, temp files); whether it wrote.
fn ensure_gitignore(ws: &Workspace) -> Result<bool> {
    let gi = ws.beads.join(".gitignore");
    let gi_text = crate::files::read_to_string(&gi).unwrap_or_default();
    let missing = gitignore_missing(&gi_text);
    if !missing.is_empty() {
        let mut t = if gi_text.is_empty() {
            GITIGNORE.to_string()
        } else {
            gi_text.clone()
        };
        if !gi_text.is_empty() {
            if !t.ends_with('\n') {
                t.push('\n');
            }
            for m in &missing {
                t.push_str(m);
                t.push('\n');
            }
        }
        atomic::write(&gi, t.as_bytes())?;
    }
    Ok(!missing.is_empty())
}

/// The lines of [`GITIGNORE`] that `text` (a `.beads/.gitignore`) lacks.
fn gitignore_missing(text: &str) -> Vec<&'static str> {
    GITIGNORE
        .lines()
        .filter(|l| !l.starts_with('#') && !text.lines().any(|x| x.trim() == *l))
        .collect()
}

/// Write the missing lines of `.beads/.gitattributes` and remove strand's
/// own lines from the root `.gitattributes` (the file goes when nothing else
/// is left in it). Returns (files created or completed, migrations done).
pub fn ensure_attributes(root: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let (mut created, mut migrated) = (Vec::new(), Vec::new());
    let ga = root.join(".beads/.gitattributes");
    let text = crate::files::read_to_string(&ga).unwrap_or_default();
    let missing: Vec<&str> = attribute_lines_missing(&text);
    if !missing.is_empty() {
        let mut t = text.clone();
        if !t.is_empty() && !t.ends_with('\n') {
            t.push('\n');
        }
        for m in missing {
            t.push_str(m);
            t.push('\n');
        }
        atomic::write(&ga, t.as_bytes())?;
        created.push(".beads/.gitattributes".into());
    }
    let root_ga = root.join(".gitattributes");
    if let Ok(t) = crate::files::read_to_string(&root_ga)
        && t.lines().any(is_legacy_attribute)
    {
        let kept: String = t
            .split_inclusive('\n')
            .filter(|l| !is_legacy_attribute(l))
            .collect();
        if kept.trim().is_empty() {
            std::fs::remove_file(&root_ga).map_err(|e| Error::io(&root_ga, e))?;
        } else {
            atomic::write(&root_ga, kept.as_bytes())?;
        }
        migrated.push(
            "merge=beads lines of .gitattributes moved to .beads/.gitattributes (commit the root file's change)"
                .into(),
        );
    }
    Ok((created, migrated))
}

/// The lines of [`GITATTRIBUTES`] that `text` (a `.beads/.gitattributes`) lacks.
fn attribute_lines_missing(text: &str) -> Vec<&'static str> {
    GITATTRIBUTES
        .iter()
        .filter(|l| {
            !text
                .lines()
                .any(|x| x.split_whitespace().eq(l.split_whitespace()))
        })
        .copied()
        .collect()
}

fn is_legacy_attribute(line: &str) -> bool {
    LEGACY_ROOT_ATTRIBUTES
        .iter()
        .any(|l| line.split_whitespace().eq(l.split_whitespace()))
}

/// `doctor`'s check of the merge attribute: `.beads/.gitattributes` must
/// route `*.jsonl` and `hooks/*.json` to the `beads` driver (else other
/// clones merge the tracker as text), and the root `.gitattributes` should
/// no longer carry strand's lines. `fix` writes and migrates them.
fn doctor_attributes(ctx: &Session, fix: bool, out: &mut Vec<Finding>) -> Result<()> {
    let root = &ctx.ws.root;
    let text = crate::files::read_to_string(root.join(".beads/.gitattributes")).unwrap_or_default();
    let mut found = Vec::new();
    let missing = attribute_lines_missing(&text);
    if !missing.is_empty() {
        found.push(finding(
            "attributes",
            "error",
            format!(
                ".beads/.gitattributes lacks `{}`: git merges the tracker without strand's driver",
                missing.join("`, `")
            ),
        ));
    }
    let root_text = crate::files::read_to_string(root.join(".gitattributes")).unwrap_or_default();
    if root_text.lines().any(is_legacy_attribute) {
        found.push(finding(
            "attributes",
            "warning",
            ".gitattributes (at the root) carries strand's merge=beads lines; they belong in .beads/.gitattributes".into(),
        ));
    }
    if fix && !found.is_empty() {
        ensure_attributes(root)?;
        for f in &mut found {
            f.fixed = true;
        }
    }
    out.extend(found);
    doctor_effective_merge(root, !fix && !missing.is_empty(), out);
    Ok(())
}

/// `doctor`'s check of the `merge` attribute git really applies to the
/// tracker files (`issues.jsonl`, `mail.jsonl`, a hook file, each hook file
/// there is), resolved as git does (`git::attributes`): anything but
/// `merge=beads` is an error naming the file and line that decides it (a
/// later `-merge`, `binary`, `merge=union`, `!merge`, in `.beads/`'s or a
/// deeper `.gitattributes`, `.git/info/attributes`, ...). `lacking`: the
/// missing lines of `.beads/.gitattributes` are reported already, so paths
/// no line decides are not reported again.
fn doctor_effective_merge(root: &Path, lacking: bool, out: &mut Vec<Finding>) {
    use crate::git::attributes::{Attributes, State};
    let attrs = Attributes::load(root);
    let mut paths: Vec<String> = [
        ".beads/issues.jsonl",
        ".beads/mail.jsonl",
        ".beads/hooks/x.json",
    ]
    .map(String::from)
    .to_vec();
    if let Ok(rd) = crate::files::read_dir(root.join(".beads/hooks")) {
        let mut hooks: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json") && n != "x.json")
            .map(|n| format!(".beads/hooks/{n}"))
            .collect();
        hooks.sort();
        paths.extend(hooks);
    }
    for p in paths {
        let r = attrs.resolve(&p, "merge");
        if r.state == State::Value("beads".into()) {
            continue;
        }
        let how = match &r.state {
            State::Value(v) => format!("merges it with the `{v}` driver"),
            State::Set | State::Unspecified => "merges it as text".into(),
            State::Unset => "does not merge it (a conflict keeps our side)".into(),
        };
        let message = match &r.source {
            Some(src) => format!(
                "{p}: git {how}, not with strand's driver (merge=beads): {}:{} (`{}`{}) sets `{}`; remove or change that line",
                src.file,
                src.line,
                src.text,
                r.via
                    .as_ref()
                    .map(|m| format!(", through `{m}`"))
                    .unwrap_or_default(),
                r.state.spelled("merge")
            ),
            None if lacking => continue,
            None => {
                format!("{p}: no attribute line gives it merge=beads, so git {how}")
            }
        };
        out.push(finding("attributes", "error", message));
    }
}

/// Git hooks of this repository that call `bd` (classic beads installed some).
fn classic_hooks(root: &Path) -> Vec<String> {
    let dotgit = root.join(".git");
    let gitdir = if dotgit.is_dir() {
        dotgit
    } else {
        match std::fs::read_to_string(&dotgit) {
            Ok(t) => match t.trim().strip_prefix("gitdir:") {
                Some(p) => root.join(p.trim()),
                None => return Vec::new(),
            },
            Err(_) => return Vec::new(),
        }
    };
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(gitdir.join("hooks")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".sample") {
                continue;
            }
            if let Ok(t) = std::fs::read_to_string(e.path())
                && !t.contains(crate::model::setup::HOOK_MARK)
                && t.split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
                    .any(|w| w == "bd")
            {
                out.push(format!(".git/hooks/{name}"));
            }
        }
    }
    out.sort();
    out
}

/// Where the workspace, its files and its project are (`where`, less the proof).
#[derive(Debug, Clone, Serialize)]
pub struct Places {
    pub root: PathBuf,
    pub identity: String,
    pub identity_source: crate::git::identity::Source,
    pub origin: Option<String>,
    pub beads_dir: PathBuf,
    pub issues_file: PathBuf,
    pub prefix: String,
    pub actor: String,
    /// Issues, not counting deleted ones.
    pub issues: usize,
    pub index_fresh: bool,
    pub pending: Vec<String>,
    pub auto_commit: String,
}

pub fn where_(ctx: &Session) -> Result<Places> {
    let snap = ctx.snapshot()?;
    // The base index, or the base and its overlay, describe the file now.
    let index_fresh = crate::files::open_read(ctx.ws.issues_path())
        .ok()
        .and_then(|f| Signature::of(&f).ok())
        .is_some_and(|s| crate::store::lazy::load_header(&ctx.ws.cache_dir(), s).is_some());
    let id = ctx.identity()?;
    if let Some(o) = &id.origin
        && o != &id.identity
    {
        ctx.warn(format!(
            "origin is {o} but the project identity is {}; this clone may be a fork (set `project` in .beads/config.toml to choose)",
            id.identity
        ));
    }
    Ok(Places {
        root: ctx.ws.root.clone(),
        identity: id.identity,
        identity_source: id.source,
        origin: id.origin,
        beads_dir: ctx.ws.beads.clone(),
        issues_file: ctx.ws.issues_path(),
        prefix: ctx.prefix_of_rows(&snap.rows),
        actor: ctx.actor.clone(),
        issues: snap
            .rows
            .iter()
            .filter(|r| r.state() != Status::Tombstone)
            .count(),
        index_fresh,
        pending: ctx.pending_changes(),
        auto_commit: ctx.config.auto_commit().to_string(),
    })
}

/// Every config key with its value (the default when unset), in order: the
/// known keys, then `projects.*`, then any other key the file sets. JSON:
/// one object of strings.
#[derive(Debug, Clone, Default)]
pub struct ConfigList {
    pub entries: Vec<(String, String)>,
}

impl ConfigList {
    /// Set `key`, in its place when it is already listed.
    fn set(&mut self, key: String, value: String) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(e) => e.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }
}

impl Serialize for ConfigList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.entries.iter().map(|(k, v)| (k, v)))
    }
}

pub fn config_list(ctx: &Session) -> ConfigList {
    let mut l = ConfigList::default();
    for (k, _, default, _) in config::KEYS {
        let v = ctx
            .config
            .get_text(k)
            .unwrap_or_else(|| default.to_string());
        l.set((*k).into(), v);
    }
    if let Some(t) = ctx.config.table.get("projects").and_then(|t| t.as_table()) {
        for (k, v) in t {
            l.set(
                format!("projects.{k}"),
                v.as_str().unwrap_or_default().into(),
            );
        }
    }
    for (k, v) in &ctx.config.table {
        if !l.has(k) && k != "projects" {
            l.set(k.clone(), v.to_string());
        }
    }
    l
}

pub fn config_get(ctx: &Session, key: &str) -> Result<String> {
    if let Some(v) = ctx.config.get_text(key) {
        return Ok(v);
    }
    match config::KEYS.iter().find(|(k, ..)| *k == key) {
        Some((_, _, d, _)) => Ok(d.to_string()),
        None => Err(Error::NotFound(Missing::ConfigUnset {
            key: key.to_string(),
        })),
    }
}

/// Change config.toml under the workspace lock; returns whether it changed.
pub fn config_edit(ctx: &Session, f: impl FnOnce(&mut Config) -> Result<bool>) -> Result<bool> {
    let _g = lock::acquire(&ctx.ws.lock_path(), lock::default_timeout())?;
    let mut cfg = Config::load(&ctx.ws.config_path())?;
    let changed = f(&mut cfg)?;
    if changed {
        cfg.save(&ctx.ws.config_path())?;
        ctx.commit_later("bd: config".into());
    }
    Ok(changed)
}

fn finding(check: &str, severity: &'static str, message: String) -> Finding {
    Finding {
        check: check.into(),
        severity,
        message,
        fixed: false,
    }
}

/// Merge a tracker file that reached the working tree with conflict markers:
/// from git's index stages when the merge is still in progress, else from the
/// two sides of the markers. Writes the result and marks the path resolved.
fn repair_conflict(
    ctx: &Session,
    bytes: &[u8],
    rel: &str,
    rules: &crate::model::merge::Rules,
) -> Result<Vec<u8>> {
    let staged = crate::git::stages::read(&ctx.ws.root, rel).ok().flatten();
    let (base, ours, theirs) = match staged {
        Some(s) => (s.base, s.ours, s.theirs),
        None => {
            let (o, t) = crate::git::stages::split_markers(bytes);
            (Vec::new(), o, t)
        }
    };
    let merged = crate::model::merge::merge_jsonl(&base, &ours, &theirs, rules).map_err(|e| {
        Error::Invalid {
            msg: format!("cannot merge the conflicted {rel}: {e}"),
            hint: Some("fix the named line by hand, then run `bd doctor --fix` again".into()),
        }
    })?;
    atomic::write(&ctx.ws.root.join(rel), &merged.bytes)?;
    if crate::git::stages::read(&ctx.ws.root, rel)
        .ok()
        .flatten()
        .is_some()
    {
        crate::git::stages::resolve(&ctx.ws.root, rel)?;
    }
    Ok(merged.bytes)
}

/// Move the lines of `bytes` that did not parse to
/// `quarantine/<stem>-<time>.jsonl` (as they were) and return the good lines,
/// each ending in `\n`.
fn quarantine(ctx: &Session, bytes: &[u8], parsed: &jsonl::Parsed, stem: &str) -> Result<Vec<u8>> {
    if !parsed.bad.is_empty() {
        let qdir = ctx.ws.quarantine_dir();
        crate::files::create_dir_all(&qdir).map_err(|e| Error::io(&qdir, e))?;
        let stamp = time::format(ctx.now).replace([':', '.'], "-");
        let qpath = qdir.join(format!("{stem}-{stamp}.jsonl"));
        let mut q = crate::files::read(&qpath).unwrap_or_default();
        for b in &parsed.bad {
            q.extend_from_slice(&bytes[b.span.clone()]);
            q.push(b'\n');
        }
        atomic::write(&qpath, &q)?;
    }
    let mut good: Vec<u8> = Vec::with_capacity(bytes.len());
    for g in &parsed.good {
        good.extend_from_slice(&bytes[g.span.clone()]);
        good.push(b'\n');
    }
    Ok(good)
}

/// `doctor`'s checks of `mail.jsonl` (SPEC §6), and with `fix` its repair:
/// conflict markers merged by the one merge, lines that do not parse moved to
/// `quarantine/`, duplicate ids merged, the file sorted. Called under the
/// workspace lock when fixing.
fn doctor_mail(ctx: &Session, fix: bool, out: &mut Vec<Finding>) -> Result<()> {
    const NAME: &str = ".beads/mail.jsonl";
    doctor_lines(
        ctx,
        fix,
        NAME,
        &crate::model::merge::MAIL_RULES,
        out,
        |g, out| {
            if let Err(e) = crate::model::mail::Message::from_record(&g.record) {
                out.push(finding(
                    "values",
                    "warning",
                    format!(
                        "{NAME}:{}: not a message bd can read ({e}); kept as is",
                        g.line
                    ),
                ));
            }
        },
    )
}

/// `doctor`'s checks of a JSONL file other than the tracker (`rel` from the
/// root, merged by `rules`), with `check` on each good line, and with `fix`
/// its repair: conflict markers merged by the one merge, lines that do not
/// parse moved to `quarantine/`, duplicate ids merged, the file sorted.
fn doctor_lines(
    ctx: &Session,
    fix: bool,
    rel: &str,
    rules: &crate::model::merge::Rules,
    out: &mut Vec<Finding>,
    check: impl Fn(&jsonl::Good, &mut Vec<Finding>),
) -> Result<()> {
    let first = out.len();
    let (bytes, parsed) = doctor_read(ctx, fix, rel, rules, out)?;
    for g in &parsed.good {
        check(g, out);
    }
    if parsed.needs_normalizing() {
        out.push(finding(
            "format",
            "warning",
            format!("{rel} is not in canonical form (sorted by id, LF endings)"),
        ));
    }
    if fix {
        let stem = Path::new(rel)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        doctor_rewrite(
            ctx,
            rel,
            &stem,
            rules,
            &bytes,
            &parsed,
            out,
            first,
            |_, _| {},
        )?;
    }
    Ok(())
}

/// `doctor`'s reading of a tracker JSONL file (`rel`, from the root; missing
/// is empty): conflict markers, merged by `rules` when fixing; lines that do
/// not parse; ids that repeat. Returns the bytes and their parse.
fn doctor_read(
    ctx: &Session,
    fix: bool,
    rel: &str,
    rules: &crate::model::merge::Rules,
    out: &mut Vec<Finding>,
) -> Result<(Vec<u8>, jsonl::Parsed)> {
    let path = ctx.ws.root.join(rel);
    let mut bytes = match crate::files::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(&path, e)),
    };
    if crate::git::stages::has_markers(&bytes) {
        if fix {
            bytes = repair_conflict(ctx, &bytes, rel, rules)?;
            out.push(Finding {
                check: "conflict".into(),
                severity: "error",
                message: format!("{rel} had conflict markers; merged the two sides"),
                fixed: true,
            });
        } else {
            out.push(finding(
                "conflict",
                "error",
                format!("{rel} has git conflict markers (`bd doctor --fix` merges them)"),
            ));
        }
    }
    let parsed = jsonl::parse(&bytes);
    for b in &parsed.bad {
        out.push(finding(
            "parse",
            "error",
            format!("{rel}:{}: {}", b.line, b.reason),
        ));
    }
    for d in &parsed.duplicate_ids {
        out.push(finding(
            "duplicates",
            "error",
            format!("{rel}: id {d} appears more than once"),
        ));
    }
    Ok((bytes, parsed))
}

/// `doctor --fix` of a tracker JSONL file, when it has something to fix:
/// lines that do not parse go to `quarantine/<stem>-<time>.jsonl`; the good
/// ones are made canonical by the one merge (sorted, LF, duplicate lines of a
/// record merged; records that need nothing keep their bytes); `report` adds
/// what the merge decided; then the findings from `first` on are fixed.
#[allow(clippy::too_many_arguments)]
fn doctor_rewrite(
    ctx: &Session,
    rel: &str,
    stem: &str,
    rules: &crate::model::merge::Rules,
    bytes: &[u8],
    parsed: &jsonl::Parsed,
    out: &mut Vec<Finding>,
    first: usize,
    report: impl FnOnce(&crate::model::merge::Merged, &mut Vec<Finding>),
) -> Result<()> {
    let needs =
        !parsed.bad.is_empty() || !parsed.duplicate_ids.is_empty() || parsed.needs_normalizing();
    if !needs {
        return Ok(());
    }
    let good = quarantine(ctx, bytes, parsed, stem)?;
    let merged =
        crate::model::merge::merge_jsonl(b"", &good, &good, rules).map_err(|e| Error::Invalid {
            msg: format!("cannot normalize {rel}: {e}"),
            hint: None,
        })?;
    report(&merged, out);
    atomic::write(&ctx.ws.root.join(rel), &merged.bytes)?;
    for f in out[first..].iter_mut() {
        if matches!(f.check.as_str(), "parse" | "duplicates" | "format") {
            f.fixed = true;
        }
    }
    Ok(())
}

/// `doctor`'s check of git's index for unmerged `.beads/` paths (a merge
/// driver that failed leaves the file holding our side only, no markers), and
/// with `fix` their merge from the index stages: base and theirs from git,
/// ours from the working tree (it is our side, plus anything written since;
/// stage 2 when it holds markers). Lines of a side that do not parse go to
/// `quarantine/`; the result is written and staged as resolved, so `git
/// commit` concludes the merge. Called under the workspace lock when fixing.
fn doctor_unmerged(ctx: &Session, fix: bool, out: &mut Vec<Finding>) -> Result<()> {
    if fix {
        // The command's opening warning is answered by the findings below.
        ctx.notices
            .borrow_mut()
            .retain(|n| !matches!(n, Notice::Warning(m) if m.contains("unmerged in git's index")));
    }
    for rel in crate::ops::session::unmerged_paths(&ctx.ws) {
        if rel == ".beads/config.toml" {
            // `doctor_config` reports and merges it, before the rest.
            continue;
        }
        if !fix {
            out.push(finding(
                "unmerged",
                "error",
                format!(
                    "{rel} is unmerged in git's index (the merge driver failed); it holds one side only (`bd doctor --fix` merges base, ours and theirs)"
                ),
            ));
            continue;
        }
        let Some(st) = crate::git::stages::read(&ctx.ws.root, &rel)? else {
            continue;
        };
        let path = ctx.ws.root.join(&rel);
        let ours = match crate::files::read(&path) {
            Ok(b) if !crate::git::stages::has_markers(&b) => b,
            Ok(_) => st.ours.clone(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => st.ours.clone(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let merged = if rel.ends_with(".jsonl") {
            let rules = crate::model::merge::rules_for(&rel);
            let stem = Path::new(&rel)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut sides = Vec::new();
            for (side, bytes) in [("base", &st.base), ("ours", &ours), ("theirs", &st.theirs)] {
                let parsed = jsonl::parse(bytes);
                for b in &parsed.bad {
                    out.push(Finding {
                        check: "parse".into(),
                        severity: "error",
                        message: format!(
                            "{rel} ({side} side of the merge):{}: {}; moved to quarantine/",
                            b.line, b.reason
                        ),
                        fixed: true,
                    });
                }
                sides.push(quarantine(ctx, bytes, &parsed, &format!("{stem}-{side}"))?);
            }
            crate::model::merge::merge_jsonl(&sides[0], &sides[1], &sides[2], rules)
                .map(|m| m.bytes)
                .map_err(|e| e.to_string())
        } else if rel.contains("/hooks/") && rel.ends_with(".json") {
            crate::store::hooks::merge_hook(&st.base, &ours, &st.theirs)
        } else {
            Err("not a file bd merges".to_string())
        };
        match merged {
            Ok(bytes) => {
                atomic::write(&path, &bytes)?;
                crate::git::stages::resolve(&ctx.ws.root, &rel)?;
                out.push(Finding {
                    check: "unmerged".into(),
                    severity: "error",
                    message: format!(
                        "{rel} was unmerged in git's index; merged base, ours and theirs and staged the result (`git commit` concludes the merge)"
                    ),
                    fixed: true,
                });
            }
            Err(reason) => out.push(finding(
                "unmerged",
                "error",
                format!("{rel} is unmerged in git's index and cannot be merged: {reason}"),
            )),
        }
    }
    Ok(())
}

/// `doctor`'s first check: every symbolic link under `.beads/` is an error
/// (bd never follows one; SPEC files rule). With `fix`, each link itself is
/// removed, never read through: its target is left as it is. Needs no
/// config, so it runs before anything that would read through a link.
pub fn doctor_links(ws: &Workspace, fix: bool) -> Result<Vec<Finding>> {
    links_under(&ws.beads, &ws.root, "", fix)
}

/// The links under `dir` as `symlink` errors (paths shown from `shown_from`,
/// after `label`); with `fix`, each link removed.
fn links_under(dir: &Path, shown_from: &Path, label: &str, fix: bool) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    for link in crate::files::symlinks_under(dir) {
        let rel = link
            .strip_prefix(shown_from)
            .unwrap_or(&link)
            .display()
            .to_string();
        let target = std::fs::read_link(&link)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        let mut f = finding(
            "symlink",
            "error",
            format!("{label}{rel} is a symbolic link (to {target}); bd never follows it"),
        );
        if fix {
            crate::files::remove_file(&link).map_err(|e| Error::io(&link, e))?;
            f.message = format!(
                "{label}{rel} was a symbolic link (to {target}); removed the link, its target was not read"
            );
            f.fixed = true;
        }
        out.push(f);
    }
    Ok(out)
}

/// `doctor`'s reading of `.beads/config.toml`, before anything needs the
/// settings, so a config that cannot be read locks nobody out: returns the
/// findings and the settings doctor runs with (the defaults when the file
/// cannot be read). A file git left conflicted (unmerged in the index, or
/// conflict markers) is merged with `fix` by [`config::merge3`]: from the
/// index stages (base, ours: the working tree when it parses and has no
/// markers, else stage 2; theirs) or, without an unmerged entry, from the
/// two sides of its markers (no base). Each value the merge dropped is
/// named; the result is written under the workspace lock and staged when it
/// was unmerged. Anything else that does not parse is reported with its
/// line, for a fix by hand.
pub fn doctor_config(ws: &Workspace, fix: bool) -> Result<(Vec<Finding>, Config)> {
    const REL: &str = ".beads/config.toml";
    let path = ws.config_path();
    let mut out = Vec::new();
    let text = match crate::files::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            // A link is the links check's finding.
            if crate::files::symlink_of(&e, &path).is_none() {
                out.push(finding(
                    "config",
                    "error",
                    format!("{REL}: {e}; doctor ran with default settings"),
                ));
            }
            return Ok((out, Config::default()));
        }
    };
    let parse = |bytes: &[u8], label: &str| -> Result<Config> {
        let t = String::from_utf8_lossy(bytes);
        Config::parse(Path::new(label), &t)
    };
    let staged = crate::git::stages::read(&ws.root, REL).ok().flatten();
    let markers = crate::git::stages::has_markers(&text);
    let parsed = parse(&text, REL);
    if staged.is_none() && !markers {
        return doctor_config_text(ws, fix, &text, parsed, out);
    }
    let why = if staged.is_some() {
        "is unmerged in git's index"
    } else {
        "has git conflict markers"
    };
    let detail = match &parsed {
        Err(e) => format!(" ({e})"),
        Ok(_) => String::new(),
    };
    if !fix {
        out.push(finding(
            "config",
            "error",
            format!(
                "{REL} {why}{detail}; doctor ran with default settings (`bd doctor --fix` merges its two sides)"
            ),
        ));
        return Ok((out, parsed.unwrap_or_default()));
    }
    let unmerged = staged.is_some();
    let (base, ours, theirs) = match staged {
        Some(st) => {
            let ours = if !markers && parsed.is_ok() {
                text.clone()
            } else {
                st.ours
            };
            (st.base, ours, st.theirs)
        }
        None => {
            let (o, t) = crate::git::stages::split_markers(&text);
            (Vec::new(), o, t)
        }
    };
    let mut tables = Vec::new();
    for (side, bytes) in [("base", &base), ("ours", &ours), ("theirs", &theirs)] {
        match parse(bytes, &format!("{REL} ({side} side)")) {
            Ok(c) => tables.push(c.table),
            Err(e) => {
                out.push(finding(
                    "config",
                    "error",
                    format!(
                        "{REL} {why} and a side does not parse: {e}; doctor ran with default settings (fix it by hand)"
                    ),
                ));
                return Ok((out, Config::default()));
            }
        }
    }
    let (table, dropped) = config::merge3(&tables[0], &tables[1], &tables[2]);
    let cfg = Config { table };
    {
        let _guard = lock::acquire(&ws.lock_path(), lock::default_timeout())?;
        cfg.save(&path)?;
        if unmerged {
            crate::git::stages::resolve(&ws.root, REL)?;
        }
    }
    out.push(Finding {
        check: "config".into(),
        severity: "error",
        message: format!(
            "{REL} {why}{detail}; merged its two sides (the keys of both; where both set a key differently, ours){}",
            if unmerged {
                " and staged the result (`git commit` concludes the merge)"
            } else {
                ""
            }
        ),
        fixed: true,
    });
    let show = |v: &Option<toml::Value>| {
        v.as_ref()
            .map_or("nothing (removed)".to_string(), |v| v.to_string())
    };
    for d in dropped {
        let note = if d.key == "prefix" {
            "; issues created with the dropped prefix keep their ids"
        } else {
            ""
        };
        out.push(finding(
            "config",
            "warning",
            format!(
                "{REL}: {} kept {} (ours), dropped {} (theirs){note}",
                d.key,
                show(&d.kept),
                show(&d.dropped)
            ),
        ));
    }
    Ok((out, cfg))
}

/// [`doctor_config`] of a config.toml git left merged (no stages, no
/// markers): as it parses, or with a key set twice (a line merge), the
/// first setting of each key kept (written with `fix`).
fn doctor_config_text(
    ws: &Workspace,
    fix: bool,
    text: &[u8],
    parsed: Result<Config>,
    mut out: Vec<Finding>,
) -> Result<(Vec<Finding>, Config)> {
    const REL: &str = ".beads/config.toml";
    let path = ws.config_path();
    let parse = |bytes: &[u8], label: &str| -> Result<Config> {
        let t = String::from_utf8_lossy(bytes);
        Config::parse(Path::new(label), &t)
    };
    Ok(match parsed {
        Ok(c) => (out, c),
        Err(e) => match config::drop_duplicate_keys(&String::from_utf8_lossy(text)) {
            Some((fixed, dropped)) => {
                let cfg = parse(fixed.as_bytes(), REL)?;
                if fix {
                    let _guard = lock::acquire(&ws.lock_path(), lock::default_timeout())?;
                    crate::files::atomic::write(&path, fixed.as_bytes())?;
                }
                out.push(Finding {
                    check: "config".into(),
                    severity: "error",
                    message: if fix {
                        format!("{e}; kept the first setting of each key")
                    } else {
                        format!(
                            "{e} (a line merge of two sides that each set it); doctor ran with the first setting of each key (`bd doctor --fix` keeps it and drops the others)"
                        )
                    },
                    fixed: fix,
                });
                for (line, text) in dropped {
                    out.push(finding(
                        "config",
                        "warning",
                        format!(
                            "{REL}:{line}: {} `{}`",
                            if fix { "dropped" } else { "would drop" },
                            text
                        ),
                    ));
                }
                (out, cfg)
            }
            None => {
                out.push(finding(
                    "config",
                    "error",
                    format!("{e}; doctor ran with default settings (fix that line by hand)"),
                ));
                (out, Config::default())
            }
        },
    })
}

/// `doctor`'s check of the symbolic links git tracks under `.beads/` (mode
/// 120000 in the index or HEAD): each is an error while the index holds it
/// (the next commit would keep it, and every clone would get it); `fix`
/// removes it from the working tree (the link itself) and from the index,
/// staging the deletion (or the file now in its place). One only in HEAD is
/// a warning: `bd commit` or `bd sync` records its removal.
fn doctor_tracked_links(ctx: &Session, fix: bool, out: &mut Vec<Finding>) -> Result<()> {
    let Ok(links) = crate::git::stages::tracked_links(&ctx.ws.root) else {
        return Ok(());
    };
    for l in links {
        let p = &l.path;
        if !l.in_index {
            out.push(finding(
                "tracked_link",
                "warning",
                format!(
                    "{p} is a symbolic link in HEAD; its removal is not committed yet (`bd commit` or `bd sync` records it)"
                ),
            ));
            continue;
        }
        let mut f = finding(
            "tracked_link",
            "error",
            format!(
                "{p} is tracked by git as a symbolic link (every clone gets it); `bd doctor --fix` removes it from the working tree and git's index"
            ),
        );
        if fix {
            let full = ctx.ws.root.join(p);
            if std::fs::symlink_metadata(&full).is_ok_and(|m| m.file_type().is_symlink()) {
                crate::files::remove_file(&full).map_err(|e| Error::io(&full, e))?;
            }
            crate::git::stages::untrack_link(&ctx.ws.root, p)?;
            f.message = format!(
                "{p} was tracked by git as a symbolic link; removed it from the working tree and git's index (`bd commit` or `bd sync` records the removal)"
            );
            f.fixed = true;
        }
        out.push(f);
    }
    Ok(())
}

/// Local files of the clone (the cache, the lock, temp files) that git's
/// index tracks: every clone would get them (a hostile repository can
/// commit a cache). `fix` takes them out of the index; the files stay.
fn doctor_tracked_local(ctx: &Session, fix: bool, out: &mut Vec<Finding>) -> Result<()> {
    let Ok(paths) = crate::git::stages::tracked_local(&ctx.ws.root) else {
        return Ok(());
    };
    for p in paths {
        let mut f = finding(
            "tracked_local",
            "warning",
            format!(
                "{p} is local to each clone (cache, lock) yet tracked by git; `bd doctor --fix` takes it out of git's index (the file stays)"
            ),
        );
        if fix {
            crate::git::stages::untrack_link(&ctx.ws.root, &p)?;
            f.message = format!(
                "{p} was tracked by git though local to each clone; took it out of git's index (`bd commit` or `bd sync` records it)"
            );
            f.fixed = true;
        }
        out.push(f);
    }
    Ok(())
}

/// Caches under `.beads/.cache/` that are not whole (cut or grown: their
/// seal does not name their size). Readers rebuild them anyway; `--fix`
/// removes them so the next read does.
fn doctor_caches(ctx: &Session, fix: bool, out: &mut Vec<Finding>) {
    let Ok(rd) = crate::files::read_dir(ctx.ws.cache_dir()) else {
        return;
    };
    let mut broken: Vec<std::path::PathBuf> = rd
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            // Temp files and the tracker's spare are no caches.
            let not_cache = (name.starts_with('.') && name.contains(".tmp-"))
                || crate::store::splice::is_spare(&name);
            !not_cache && crate::files::cache::open(p).is_none()
        })
        .collect();
    broken.sort();
    for p in broken {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        let mut f = finding(
            "cache",
            "warning",
            format!(
                ".beads/.cache/{name} is not whole (cut or grown); it is rebuilt when next read"
            ),
        );
        if fix && crate::files::remove_file(&p).is_ok() {
            f.fixed = true;
        }
        out.push(f);
    }
}

pub fn doctor(ctx: &Session, fix: bool) -> Result<Vec<Finding>> {
    let mut out = ctx.found_on_open.take();
    out.extend(doctor_links(&ctx.ws, fix)?);
    // Inside the project home too (the home itself may be a link).
    if let Ok(Some(home)) = ctx.home() {
        out.extend(links_under(&home.dir, &home.dir, "project home: ", fix)?);
    }
    doctor_tracked_links(ctx, fix, &mut out)?;
    doctor_tracked_local(ctx, fix, &mut out)?;
    if !fix && out.iter().any(|f| f.check == "symlink") {
        // The other checks would read through the links: they wait.
        out.push(finding(
            "symlink",
            "error",
            "the other checks wait until the links are gone (`bd doctor --fix` removes them)"
                .into(),
        ));
        return Ok(out);
    }
    doctor_caches(ctx, fix, &mut out);
    let _guard = if fix {
        Some(lock::acquire(&ctx.ws.lock_path(), lock::default_timeout())?)
    } else {
        None
    };
    doctor_unmerged(ctx, fix, &mut out)?;
    doctor_attributes(ctx, fix, &mut out)?;
    let name = ".beads/issues.jsonl";
    let rules = &crate::model::merge::ISSUE_RULES;
    let (bytes, parsed) = doctor_read(ctx, fix, name, rules, &mut out)?;
    doctor_records(ctx, name, &parsed, &mut out);
    doctor_identity_and_gitignore(ctx, fix, &mut out)?;
    if fix {
        doctor_rewrite(
            ctx,
            name,
            "issues",
            rules,
            &bytes,
            &parsed,
            &mut out,
            0,
            |m, out| {
                for r in &m.report.renamed {
                    out.push(finding(
                        "duplicates",
                        "warning",
                        format!(
                            "{} and another issue shared an id; the newer one is now {}",
                            r.old_id, r.new_id
                        ),
                    ));
                }
            },
        )?;
    }
    doctor_mail(ctx, fix, &mut out)?;
    for name in [crate::store::log::RUNS, crate::store::log::BUDGET] {
        doctor_log(ctx, fix, name, &mut out)?;
    }
    Ok(out)
}

/// `doctor`'s checks of an append-only log (`runs.jsonl`, `budget.jsonl`),
/// and with `fix` its repair, as for mail.
fn doctor_log(ctx: &Session, fix: bool, name: &str, out: &mut Vec<Finding>) -> Result<()> {
    let rel = format!(".beads/{name}");
    doctor_lines(
        ctx,
        fix,
        &rel,
        &crate::model::merge::LOG_RULES,
        out,
        |_, _| {},
    )
}

/// `doctor`'s checks of the tracker's lines: format, ids, values, the done
/// fields, dependencies on missing issues, cycles.
fn doctor_records(
    ctx: &Session,
    name: &str,
    parsed: &crate::store::jsonl::Parsed,
    out: &mut Vec<Finding>,
) {
    if parsed.crlf {
        out.push(finding(
            "format",
            "warning",
            format!("{name} has CRLF line endings"),
        ));
    }
    if parsed.unsorted {
        out.push(finding(
            "format",
            "warning",
            format!("{name} is not sorted by id"),
        ));
    }
    if parsed.no_final_newline {
        out.push(finding(
            "format",
            "warning",
            format!("{name} does not end with a newline"),
        ));
    }
    let ids: std::collections::HashSet<&str> = parsed.good.iter().map(|g| g.record.id()).collect();
    let statuses = ctx.custom_statuses();
    let types = ctx.custom_types();
    for g in &parsed.good {
        let r = &g.record;
        let id = r.id();
        if !id::is_valid(id) {
            out.push(finding(
                "ids",
                "warning",
                format!("{name}:{}: id '{id}' is not <prefix>-<hash>", g.line),
            ));
        }
        let st = r.status();
        if values::check_status(&st, &statuses).is_err() {
            out.push(finding(
                "values",
                "warning",
                format!("{id}: unknown status '{st}' (kept as is)"),
            ));
        }
        let ty = r.issue_type();
        if values::check_type(&ty, &types).is_err() {
            out.push(finding(
                "values",
                "warning",
                format!("{id}: unknown type '{ty}' (kept as is)"),
            ));
        }
        for m in r.done_mismatches() {
            out.push(finding("invariants", "warning", format!("{id}: {m}")));
        }
        for d in r.deps() {
            if !ids.contains(d.depends_on_id.as_str()) && !d.depends_on_id.starts_with("external:")
            {
                out.push(finding(
                    "dependencies",
                    "warning",
                    format!("{id}: depends on missing issue {}", d.depends_on_id),
                ));
            }
        }
    }
    let snap_rows: Vec<crate::store::index::Row> = parsed
        .good
        .iter()
        .map(|g| crate::store::index::Row::from_record(&g.record, 0..0))
        .collect();
    let nodes: Vec<graph::Node> = snap_rows.iter().map(|r| r.node()).collect();
    for c in graph::cycles(&nodes) {
        out.push(finding(
            "cycles",
            "warning",
            format!("dependency cycle: {}", c.join(" → ")),
        ));
    }
}

/// `doctor`'s checks of the project identity (a fork?) and of
/// `.beads/.gitignore` (written with `fix`).
fn doctor_identity_and_gitignore(ctx: &Session, fix: bool, out: &mut Vec<Finding>) -> Result<()> {
    if let Ok(id) = ctx.identity()
        && let Some(o) = &id.origin
        && o != &id.identity
    {
        out.push(finding(
            "identity",
            "warning",
            format!(
                "origin is {o} but the project identity is {}: a fork? (set `project` in .beads/config.toml to choose)",
                id.identity
            ),
        ));
    }
    let gi = ctx.ws.beads.join(".gitignore");
    let gi_text = crate::files::read_to_string(&gi).ok();
    let missing = gitignore_missing(gi_text.as_deref().unwrap_or_default());
    if !missing.is_empty() {
        let what = if gi_text.is_none() {
            ".beads/.gitignore is missing".to_string()
        } else {
            format!(".beads/.gitignore lacks {}", missing.join(", "))
        };
        let mut f = finding(
            "gitignore",
            "warning",
            format!(
                "{what}: the cache and the lock would be committed (`bd doctor --fix` writes the lines)"
            ),
        );
        if fix && ensure_gitignore(&ctx.ws)? {
            f.message = format!("{what}; wrote the missing lines");
            f.fixed = true;
        }
        out.push(f);
    }
    if !ctx.ws.beads.join(crate::ops::classic::METADATA).exists() {
        let mut f = finding(
            "metadata",
            "warning",
            ".beads/metadata.json is missing: classic tools (beads-mcp, beads-ui) do not find this workspace (`bd doctor --fix` writes it)".into(),
        );
        if fix && crate::ops::classic::ensure_metadata(&ctx.ws)?.is_some() {
            f.message = ".beads/metadata.json was missing; wrote it".into();
            f.fixed = true;
        }
        out.push(f);
    }
    Ok(())
}

/// Write an export to a file atomically (`bd export -o`).
pub fn write_export(path: &Path, text: &str) -> Result<()> {
    atomic::write_output(path, text.as_bytes())
}

/// Every record's line, in id order (classic JSONL).
pub fn export(ctx: &Session) -> Result<String> {
    let mut out = String::new();
    export_source(ctx)?.each_line(|line| {
        out.push_str(line);
        out.push('\n');
        Ok(())
    })?;
    Ok(out)
}

/// The tracker as `bd export` gives it, read line by line when asked
/// ([`Export::each_line`]): nothing of it is held.
pub struct Export {
    snap: Snapshot,
    /// The file of a canonical tracker (sorted by id, LF, a final newline),
    /// whose lines are the export's order; `None`: the snapshot's rows, in
    /// id order.
    lines: Option<scan::Lines>,
}

/// What `bd export` exports: with a fresh index of a canonical file, no
/// row is loaded (the file's lines are in id order already).
pub fn export_source(ctx: &Session) -> Result<Export> {
    let view = ctx.view();
    // A write between reading the index and opening the file: again.
    for _ in 0..5 {
        let head = Snapshot::load_where(&ctx.ws, &view, |_| false, false)?;
        if head.header.needs_normalizing {
            break;
        }
        if let Some(lines) = scan::Lines::open(&head)? {
            ctx.warn_bad_lines(&head);
            return Ok(Export {
                snap: head,
                lines: Some(lines),
            });
        }
    }
    Ok(Export {
        snap: ctx.snapshot()?,
        lines: None,
    })
}

impl Export {
    /// Each record's line as `bd` writes it (`Record::to_line`: a
    /// canonical line as it is stored), in id order, one at a time, without
    /// its newline. Lines that do not parse are skipped, as every reader
    /// skips them.
    pub fn each_line(&self, mut f: impl FnMut(&str) -> Result<()>) -> Result<()> {
        let Some(lines) = &self.lines else {
            return scan::each_record(&self.snap, &self.snap.rows, |_, rec| f(&rec.to_line()));
        };
        let bad = &self.snap.header.bad_lines;
        let mut n = 0usize;
        lines.pieces(|_, piece| {
            let mut start = 0;
            while start < piece.len() {
                let end = memchr::memchr(b'\n', &piece[start..]).map_or(piece.len(), |p| start + p);
                let text = &piece[start..end];
                start = end + 1;
                n += 1;
                if text.iter().all(u8::is_ascii_whitespace) || bad.contains(&n) {
                    continue;
                }
                let Ok(text) = std::str::from_utf8(text) else {
                    continue;
                };
                if jsonl::is_canonical(text) {
                    f(text)?;
                } else if let Ok(rec) = Record::parse(text) {
                    f(&rec.to_line())?;
                }
            }
            Ok(())
        })
    }
}

pub const ONBOARD: &str = r#"## Issue tracking with bd (strand)

This project tracks work in `.beads/issues.jsonl` with `bd`. Use it instead of
markdown TODO lists.

- `bd ready` — what you can work on now (unblocked, by priority)
- `bd claim <id>` — take an issue before starting; exit 3 means someone else has it
- `bd show <id>` — details, dependencies, comments
- `bd create "Title" -t bug|feature|task -p 0-4 [-d "..."] [--deps discovered-from:<id>]`
- `bd comment <id> "what you found"` — leave context for the next session
- `bd close <id> --reason "Done: ..."` — when finished
- `bd prime` — start of a session: your hook, claims, unread mail, ready work
- `bd mail inbox` / `bd mail read <id>` / `bd mail reply <id> -b "..."` — talk to
  other agents; `bd mail send --to @<project> -s "..." --body-file repro.md
  --attach trace.log` hands a bug to another project's tracker
- `bd heartbeat` — at least every 5 minutes while you hold a claim
- Add `--json` to any command for machine-readable output.

Several agents sharing one checkout must each set `BD_ACTOR` (e.g.
`export BD_ACTOR=claude-1`): every `bd` call is a new process, and nothing
else tells them apart. Commit `.beads/` with your code (or `bd commit`).
"#;

//! `bd setup`: wire an agent to this project (its instructions, the `bd mcp`
//! server where it reads MCP servers, Claude Code's `bd prime` hooks), check
//! that it is, or take it out again. What goes in which file, and every
//! edit, is `model::setup`; here the files are found (a link is followed
//! only while it stays inside the project or the home folder:
//! `files::resolve_inside`), read, all planned before any is written (a file
//! that does not parse writes nothing anywhere), and written atomically with
//! their old permissions (`~/.claude.json` holds credentials). No workspace
//! is needed: setup works before `bd init`.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::files::{self, atomic};
use crate::model::setup::{self as m, Base, Part, Target};
use crate::store::Workspace;

pub use crate::model::setup::Role;

/// Where the files are: the folder the command runs in (`-C`), the user's
/// home folder (`HOME`) and Codex's (`CODEX_HOME`), as the environment
/// gave them.
#[derive(Debug, Clone)]
pub struct Places {
    pub start: PathBuf,
    pub home: Option<PathBuf>,
    pub codex_home: Option<PathBuf>,
    /// The machine-local record of what setup created (in bd's state
    /// folder): `--remove` deletes only those files and folders (review 9:
    /// it deleted an empty CLAUDE.md or `.claude/` the user had), and takes
    /// out only those containers (an empty `"mcpServers": {}` the user had
    /// stays).
    pub record: Option<PathBuf>,
}

/// What setup created on this machine: files and folders, and in each file
/// the containers ([`m::Edited::created`]), all by their path. With no
/// record, or one that does not read, it is empty: `--remove` then deletes
/// no file and takes out no container (it keeps what it cannot tell is
/// setup's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
struct Created {
    #[serde(default)]
    files: BTreeSet<String>,
    #[serde(default)]
    containers: BTreeMap<String, BTreeSet<String>>,
}

impl Created {
    fn read(places: &Places) -> Created {
        let Some(bytes) = places.record.as_deref().and_then(|r| files::read(r).ok()) else {
            return Created::default();
        };
        serde_json::from_slice::<Created>(&bytes)
            .or_else(|_| {
                // The first record: a list of the files and folders.
                serde_json::from_slice::<BTreeSet<String>>(&bytes).map(|files| Created {
                    files,
                    ..Created::default()
                })
            })
            .unwrap_or_default()
    }

    fn save(&self, places: &Places) -> Result<()> {
        let Some(r) = &places.record else {
            return Ok(());
        };
        if self.files.is_empty() && self.containers.is_empty() {
            return match files::remove_file(r) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(r, e)),
                _ => Ok(()),
            };
        }
        let text = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        write(r, &text)
    }

    /// The containers setup made in the file at `key`.
    fn containers_of(&self, key: &str) -> Vec<String> {
        self.containers
            .get(key)
            .map(|c| c.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn note_containers(&mut self, key: &str, made: &[String], dropped: &[String]) {
        let set = self.containers.entry(key.to_string()).or_default();
        set.extend(made.iter().cloned());
        for d in dropped {
            set.remove(d);
        }
        if set.is_empty() {
            self.containers.remove(key);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Install,
    Remove,
    Check,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Project,
    Global,
}

/// What to set up: a recipe's files, or the instructions in a file the
/// user names (`-o PATH`).
#[derive(Debug, Clone)]
pub enum What {
    Recipe(String),
    Output(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub what: What,
    pub action: Action,
    pub scopes: Vec<Scope>,
}

/// What `bd setup` did (or, with `--check`, found).
#[derive(Debug, Serialize)]
pub struct Report {
    /// The recipe; null for `-o PATH`.
    pub recipe: Option<String>,
    pub agent: Option<String>,
    pub action: Action,
    pub scopes: Vec<Scope>,
    /// Whether everything setup adds is there now.
    pub installed: bool,
    pub files: Vec<FileReport>,
    /// What the user still has to do.
    pub notes: Vec<String>,
}

/// One file: where, what for, what happened to it, and what of setup's is
/// in it (`missing`: what is not, after the command).
#[derive(Debug, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    pub role: Role,
    pub status: Status,
    pub added: Vec<String>,
    pub replaced: Vec<String>,
    pub removed: Vec<String>,
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Created,
    Changed,
    Deleted,
    Unchanged,
}

/// `bd setup --list`.
#[derive(Debug, Serialize)]
pub struct ListReport {
    pub recipes: Vec<RecipeInfo>,
}

#[derive(Debug, Serialize)]
pub struct RecipeInfo {
    pub name: &'static str,
    pub agent: &'static str,
    /// The files it writes for the project (relative to its root).
    pub project: Vec<String>,
    /// The files `--global` writes (`~` the home folder, `$CODEX_HOME`
    /// Codex's); empty when the agent reads none there.
    pub global: Vec<String>,
}

/// `bd setup --print`: the instructions every recipe writes.
#[derive(Debug, Serialize)]
pub struct TemplateReport {
    pub template: &'static str,
}

pub fn template() -> TemplateReport {
    TemplateReport {
        template: m::TEMPLATE,
    }
}

/// Every recipe and its files.
pub fn list() -> ListReport {
    let shown = |ts: &[Target]| {
        ts.iter()
            .map(|t| match t.base {
                Base::Project => t.rel.to_string(),
                Base::Home => format!("~/{}", t.rel),
                Base::CodexHome => format!("$CODEX_HOME/{}", t.rel),
                Base::GitHooks => format!(".git/hooks/{}", t.rel),
            })
            .collect()
    };
    ListReport {
        recipes: m::RECIPES
            .iter()
            .map(|r| RecipeInfo {
                name: r.name,
                agent: r.agent,
                project: shown(r.project),
                global: shown(r.global),
            })
            .collect(),
    }
}

/// One file to edit: its real path, what goes in it, and the folders
/// between it and its project or home folder (setup made them if they are
/// empty once it removed the file).
struct Place {
    path: PathBuf,
    part: Part,
    folders: Vec<PathBuf>,
}

/// Install, remove or check a recipe (or the instructions at `-o PATH`).
pub fn setup(places: &Places, opts: &Options) -> Result<Report> {
    let (recipe, targets) = match &opts.what {
        What::Recipe(name) => {
            let r = m::recipe(name).ok_or_else(|| Error::Invalid {
                msg: format!("no recipe '{name}'"),
                hint: Some(format!(
                    "the recipes: {} (`bd setup --list`)",
                    names(|_| true)
                )),
            })?;
            (Some(r), recipe_places(places, r, &opts.scopes)?)
        }
        What::Output(path) => (None, vec![output_place(&places.start.join(path))?]),
    };
    // bd's git hook is a file of its own, moved aside and back rather
    // than edited (`git::hooks`): done after the others.
    let (git_hooks, targets): (Vec<Place>, Vec<Place>) =
        targets.into_iter().partition(|p| p.part == Part::GitHook);
    // Plan every file before writing any.
    let mut made = Created::read(places);
    let before = made.clone();
    let key = |p: &Path| p.display().to_string();
    let mut texts: Vec<(PathBuf, Option<String>, String)> = Vec::new();
    let mut reports = Vec::new();
    // Per file, the containers its edits made and took out.
    let mut containers: Vec<(PathBuf, Vec<String>, Vec<String>)> = Vec::new();
    for p in &targets {
        let current = match texts.iter().find(|(path, ..)| *path == p.path) {
            Some((_, _, now)) => Some(now.clone()),
            None => {
                let old = read(&p.path)?;
                texts.push((p.path.clone(), old.clone(), old.clone().unwrap_or_default()));
                old
            }
        };
        let bad = |b| unparsable(&p.path, b);
        let edited = match (opts.action, &current) {
            (Action::Install, _) => p.part.install(current.as_deref()).map_err(bad)?,
            (Action::Remove, Some(t)) => p
                .part
                .remove(t, &made.containers_of(&key(&p.path)))
                .map_err(bad)?,
            (Action::Remove | Action::Check, _) => {
                if let Some(t) = &current {
                    p.part.missing(Some(t)).map_err(bad)?;
                }
                m::Edited {
                    text: current.clone().unwrap_or_default(),
                    ..m::Edited::default()
                }
            }
        };
        if let Some(entry) = texts.iter_mut().find(|(path, ..)| *path == p.path) {
            entry.2 = edited.text.clone();
        }
        if !edited.created.is_empty() || !edited.dropped.is_empty() {
            containers.push((p.path.clone(), edited.created, edited.dropped));
        }
        reports.push(FileReport {
            path: p.path.clone(),
            role: p.part.role(),
            status: Status::Unchanged,
            added: edited.added,
            replaced: edited.replaced,
            removed: edited.removed,
            missing: vec![],
        });
    }
    // Write (or delete) each file whose text changed.
    for (path, old, new) in &texts {
        let changed = old.as_deref() != Some(new.as_str()) && !(old.is_none() && new.is_empty());
        if opts.action == Action::Check || !changed {
            continue;
        }
        let place = targets
            .iter()
            .rev()
            .find(|p| p.path == *path)
            .expect("every text is of a place");
        let ours = made.files.contains(&key(path));
        let status = if opts.action == Action::Remove && place.part.leftover(new) && ours {
            files::remove_file(path).map_err(|e| Error::io(path, e))?;
            made.files.remove(&key(path));
            made.containers.remove(&key(path));
            // Folders setup made and left empty go too (`remove_dir` takes
            // only empty ones).
            for d in &place.folders {
                if !made.files.contains(&key(d)) || std::fs::remove_dir(d).is_err() {
                    break;
                }
                made.files.remove(&key(d));
            }
            Status::Deleted
        } else {
            if old.is_none() {
                made.files.insert(key(path));
                for d in place.folders.iter().filter(|d| !d.exists()) {
                    made.files.insert(key(d));
                }
            }
            for (_, created, dropped) in containers.iter().filter(|c| c.0 == *path) {
                made.note_containers(&key(path), created, dropped);
            }
            write(path, new)?;
            if old.is_some() {
                Status::Changed
            } else {
                Status::Created
            }
        };
        for r in reports.iter_mut().filter(|r| r.path == *path) {
            r.status = status;
        }
    }
    if made != before {
        made.save(places)?;
    }
    // What of setup's is in each file now.
    for (r, p) in reports.iter_mut().zip(&targets) {
        let now = texts
            .iter()
            .find(|(path, ..)| *path == p.path)
            .and_then(|(_, old, new)| match r.status {
                Status::Deleted => None,
                Status::Unchanged => old.clone(),
                Status::Created | Status::Changed => Some(new.clone()),
            });
        r.missing = p
            .part
            .missing(now.as_deref())
            .map_err(|b| unparsable(&p.path, b))?;
    }
    for p in &git_hooks {
        reports.push(git_hook(places, p, opts.action)?);
    }
    Ok(Report {
        recipe: recipe.map(|r| r.name.to_string()),
        agent: recipe.map(|r| r.agent.to_string()),
        action: opts.action,
        scopes: if recipe.is_some() {
            opts.scopes.clone()
        } else {
            vec![]
        },
        installed: reports.iter().all(|r| r.missing.is_empty()),
        files: reports,
        notes: recipe
            .and_then(|r| r.note)
            .filter(|_| opts.action == Action::Install)
            .map(|n| vec![n.to_string()])
            .unwrap_or_default(),
    })
}

/// bd's git `pre-commit` hook: installed (a hook the user had is chained:
/// kept as `pre-commit.bd-chained` and run after bd's check), removed (the
/// chained hook put back), or checked.
fn git_hook(places: &Places, p: &Place, action: Action) -> Result<FileReport> {
    use crate::git::hooks::{self, Change};
    let root = project_root_of(&places.start)?;
    let items = p.part.items();
    let mut r = FileReport {
        path: p.path.clone(),
        role: p.part.role(),
        status: Status::Unchanged,
        added: vec![],
        replaced: vec![],
        removed: vec![],
        missing: vec![],
    };
    match action {
        Action::Install => match hooks::install_pre_commit(&root)?.change {
            Change::Created => {
                r.status = Status::Created;
                r.added = items.clone();
            }
            Change::Chained => {
                r.status = Status::Changed;
                r.added = items.clone();
            }
            Change::Updated => {
                r.status = Status::Changed;
                r.replaced = items.clone();
            }
            _ => {}
        },
        Action::Remove => match hooks::remove_pre_commit(&root)?.change {
            Change::Removed => {
                r.status = Status::Deleted;
                r.removed = items.clone();
            }
            Change::Restored => {
                r.status = Status::Changed;
                r.removed = items.clone();
            }
            _ => {}
        },
        Action::Check => {}
    }
    let (path, _) = hooks::pre_commit(&root)?;
    let now = read(&path).ok().flatten();
    r.missing = p
        .part
        .missing(now.as_deref())
        .map_err(|b| unparsable(&p.path, b))?;
    Ok(r)
}

/// A file setup cannot edit, as the error naming it and the line.
fn unparsable(path: &Path, b: m::BadDoc) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        line: b.line,
        reason: b.reason,
    }
}

/// The recipes `keep` keeps, by name.
fn names(keep: impl Fn(&m::Recipe) -> bool) -> String {
    m::RECIPES
        .iter()
        .filter(|r| keep(r))
        .map(|r| r.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A recipe's files for the scopes asked, each once, found on disk.
fn recipe_places(places: &Places, r: &m::Recipe, scopes: &[Scope]) -> Result<Vec<Place>> {
    if scopes.contains(&Scope::Global) && r.global.is_empty() {
        return Err(Error::Invalid {
            msg: format!(
                "{} reads no file of the user's home folder: `bd setup {}` has no --global",
                r.agent, r.name
            ),
            hint: Some(format!(
                "run it without --global in each project; recipes with --global: {}",
                names(|r| !r.global.is_empty())
            )),
        });
    }
    let mut targets: Vec<Target> = Vec::new();
    for s in scopes {
        let list = match s {
            Scope::Project => r.project,
            Scope::Global => r.global,
        };
        for t in list {
            if !targets.contains(t) {
                targets.push(*t);
            }
        }
    }
    let mut project_root = None;
    let mut out: Vec<Place> = Vec::new();
    for t in targets {
        if t.base == Base::GitHooks {
            let root = match Workspace::find_root(&places.start) {
                Err(Error::NotGitRepo { dir }) => {
                    return Err(Error::Invalid {
                        msg: format!(
                            "{} is in no git repository: bd's pre-commit hook goes in one",
                            dir.display()
                        ),
                        hint: Some("run it in the repository (`git init` first)".into()),
                    });
                }
                r => r?,
            };
            out.push(Place {
                path: crate::git::hooks::hooks_dir(&root)?.join(t.rel),
                part: t.part,
                folders: vec![],
            });
            continue;
        }
        let (root, rel) = match t.base {
            Base::Project => {
                if project_root.is_none() {
                    project_root = Some(project_root_of(&places.start)?);
                }
                let root = project_root.clone().expect("just found");
                (root, PathBuf::from(t.rel))
            }
            Base::Home => (home(places)?, PathBuf::from(t.rel)),
            Base::CodexHome => match &places.codex_home {
                Some(c) => (c.clone(), PathBuf::from(t.rel)),
                None => (home(places)?, Path::new(".codex").join(t.rel)),
            },
            Base::GitHooks => unreachable!("placed above"),
        };
        let path = files::resolve_inside(&root, &rel).map_err(|e| {
            match files::symlink_of(&e, &root.join(&rel)) {
                Some(link) => Error::Invalid {
                    msg: format!(
                        "{} is a symbolic link leading out of {} (or to nothing): bd setup writes only inside the project and the home folder",
                        link.display(),
                        root.display()
                    ),
                    hint: Some(
                        "put the file itself there (or a link to a place inside); nothing was written"
                            .into(),
                    ),
                },
                None => Error::io(root.join(&rel), e),
            }
        })?;
        let real_root = std::fs::canonicalize(&root).unwrap_or(root);
        let folders = path
            .ancestors()
            .skip(1)
            .take_while(|d| d.starts_with(&real_root) && *d != real_root)
            .map(Path::to_path_buf)
            .collect();
        // Two names for one file (a link): one place.
        if !out.iter().any(|p| p.path == path && p.part == t.part) {
            out.push(Place {
                path,
                part: t.part,
                folders,
            });
        }
    }
    Ok(out)
}

/// The file `-o PATH` names, followed as a shell redirection would; a
/// regular file or none, and never one of a tracker's `.beads/` (review 9:
/// `-o /dev/null` replaced the device with a file, `-o
/// .beads/issues.jsonl` wrote into the tracker).
fn output_place(path: &Path) -> Result<Place> {
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?
        }
        _ => path.to_path_buf(),
    };
    match std::fs::metadata(&path) {
        Ok(m) if !m.is_file() => {
            return Err(Error::invalid(format!(
                "-o {}: not a regular file; name a file to write the instructions in",
                path.display()
            )));
        }
        _ => {}
    }
    let inside_beads = path
        .parent()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .unwrap_or_else(|| path.clone())
        .ancestors()
        .any(|a| a.file_name().is_some_and(|n| n == ".beads"));
    if inside_beads {
        return Err(Error::invalid(format!(
            "-o {}: a tracker's .beads/ holds bd's own files; name another file",
            path.display()
        )));
    }
    Ok(Place {
        path,
        part: Part::Block { preamble: "" },
        folders: vec![],
    })
}

/// The project: the git worktree around `start`, else `start` itself.
fn project_root_of(start: &Path) -> Result<PathBuf> {
    match Workspace::find_root(start) {
        Err(Error::NotGitRepo { dir }) => Ok(dir),
        r => r,
    }
}

fn home(places: &Places) -> Result<PathBuf> {
    places.home.clone().ok_or_else(|| Error::Invalid {
        msg: "HOME is not set: --global needs the home folder".into(),
        hint: None,
    })
}

/// A file's text; `None` when there is no file.
fn read(path: &Path) -> Result<Option<String>> {
    match files::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Replace a file atomically, keeping its permissions (a new one gets the
/// usual ones), making its folder when missing.
fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        files::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mode = std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777);
    atomic::write_file(path, |f| {
        use std::io::Write;
        if let Some(mode) = mode {
            f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        f.write_all(text.as_bytes())
    })
    .map(drop)
}

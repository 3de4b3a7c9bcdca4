//! `bd setup <recipe>`: wire an agent to this project (instructions, the
//! `bd mcp` server, Claude Code's hooks), `--check` it, `--remove` it;
//! `--list` the recipes, `--print` the instructions, `-o PATH` put them in
//! a file of your choice. Works without a workspace.

use std::path::{Path, PathBuf};

use super::common::{Output, out};
use crate::error::{Error, Result};
use crate::ops::setup::{self, Action, Options, Places, Report, Scope, Status, What};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The agent to set up: claude, codex, cursor, gemini, … (see --list)
    pub recipe: Option<String>,
    /// List the recipes and the files each writes
    #[arg(long, conflicts_with_all = ["recipe", "print", "check", "remove", "output", "global", "project"])]
    pub list: bool,
    /// Print the instructions the recipes write
    #[arg(long, conflicts_with_all = ["check", "remove", "output", "global", "project"])]
    pub print: bool,
    /// Say whether it is set up (exit 1, and what is missing, if not); writes nothing
    #[arg(long, conflicts_with = "remove")]
    pub check: bool,
    /// Take out what setup added, and nothing else
    #[arg(long)]
    pub remove: bool,
    /// For you, in your home folder (claude, codex, cursor, gemini, mux)
    #[arg(long)]
    pub global: bool,
    /// For this project (the default; with --global, both)
    #[arg(long)]
    pub project: bool,
    /// Put the instructions in PATH (a managed block) instead of a recipe's files
    #[arg(short, long, value_name = "PATH", conflicts_with_all = ["recipe", "global", "project"])]
    pub output: Option<PathBuf>,
}

pub fn run(start: &Path, a: Args) -> Result<Output> {
    if a.list {
        let l = setup::list();
        let text: String = l
            .recipes
            .iter()
            .map(|r| {
                let global = if r.global.is_empty() {
                    String::new()
                } else {
                    format!("\n  {:10}  --global: {}", "", r.global.join(", "))
                };
                format!(
                    "{:10}  {}: {}{global}\n",
                    r.name,
                    r.agent,
                    r.project.join(", ")
                )
            })
            .collect();
        return Ok(out(&l, text));
    }
    if a.print {
        let t = setup::template();
        return Ok(out(&t, t.template));
    }
    let what = match (a.recipe, a.output) {
        (Some(r), None) => What::Recipe(r),
        (None, Some(o)) => What::Output(o),
        _ => {
            return Err(Error::Usage(
                "name a recipe (`bd setup --list`), or give --print or -o PATH".into(),
            ));
        }
    };
    let action = match (a.check, a.remove) {
        (true, _) => Action::Check,
        (_, true) => Action::Remove,
        _ => Action::Install,
    };
    let mut scopes = Vec::new();
    if a.project || !a.global {
        scopes.push(Scope::Project);
    }
    if a.global {
        scopes.push(Scope::Global);
    }
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let places = Places {
        start: start.to_path_buf(),
        home: var("HOME"),
        codex_home: var("CODEX_HOME"),
        record: super::common::env_from_process(None)
            .bd_home
            .map(|h| h.join("setup-created.json")),
    };
    let report = setup::setup(
        &places,
        &Options {
            what,
            action,
            scopes,
        },
    )?;
    let text = text(&report);
    let mut o = out(&report, text);
    if action == Action::Check && !report.installed {
        o.code = 1;
    }
    Ok(o)
}

fn text(r: &Report) -> String {
    let name = match (&r.recipe, &r.agent) {
        (Some(n), Some(a)) => format!("{n} ({a})"),
        _ => "the instructions file".into(),
    };
    let scopes = r
        .scopes
        .iter()
        .map(|s| match s {
            Scope::Project => "this project",
            Scope::Global => "your home folder",
        })
        .collect::<Vec<_>>()
        .join(" and ");
    let whom = if scopes.is_empty() {
        String::new()
    } else {
        format!(" for {scopes}")
    };
    let same = r.files.iter().all(|f| f.status == Status::Unchanged);
    let mut t = match r.action {
        Action::Install if same => format!("{name} was set up already{whom}:\n"),
        Action::Install => format!("Set up {name}{whom}:\n"),
        Action::Remove if same => format!("Nothing of {name} to remove{whom}:\n"),
        Action::Remove => format!("Removed {name}{whom}:\n"),
        Action::Check if r.installed => format!("{name} is set up{whom}:\n"),
        Action::Check => format!("{name} is not set up{whom}:\n"),
    };
    for f in &r.files {
        let what = match f.role {
            setup::Role::Instructions => "instructions",
            setup::Role::McpServer => "MCP server",
            setup::Role::Hooks => "hooks",
            setup::Role::GitHook => "git hook",
        };
        let status = match (r.action, f.status) {
            (Action::Check, _) if f.missing.is_empty() => "ok",
            (Action::Check, _) => "missing",
            (_, Status::Created) => "created",
            (_, Status::Changed) => "changed",
            (_, Status::Deleted) => "deleted",
            (_, Status::Unchanged) => "unchanged",
        };
        let mut said = Vec::new();
        for (word, items) in [
            ("added", &f.added),
            ("replaced", &f.replaced),
            ("removed", &f.removed),
        ] {
            if !items.is_empty() {
                said.push(format!("{word} {}", items.join(", ")));
            }
        }
        if r.action == Action::Check && !f.missing.is_empty() {
            said.push(f.missing.join(", "));
        }
        let said = if said.is_empty() {
            String::new()
        } else {
            format!(": {}", said.join("; "))
        };
        t.push_str(&format!(
            "  {status:9} {} ({what}){said}\n",
            f.path.display()
        ));
    }
    if r.action == Action::Check && !r.installed {
        let again = match &r.recipe {
            Some(n) => format!("bd setup {n}"),
            None => "bd setup -o PATH".into(),
        };
        t.push_str(&format!(
            "Run `{again}` (same flags) to add what is missing.\n"
        ));
    }
    for n in &r.notes {
        t.push_str(&format!("Note: {n}\n"));
    }
    t
}

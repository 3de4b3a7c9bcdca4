//! Agent presence: who works on this project on this machine, of what kind,
//! in which workspace, and when each last showed a sign of life. One file per
//! agent, `<home>/agents/<escaped name>.json` (pretty JSON of [`Agent`]), with
//! its own lock `<home>/agents/<escaped name>.lock`, so agents heartbeating at
//! once never wait on each other.
//!
//! Names are kept as registered (`Dave` stays `Dave`, its file `%44ave`), but
//! compared after NFKC and case folding ([`fold`]): a new name that folds to
//! a registered one (`dave`, `Ⅾave`, `ｄave` for `Dave`) is refused, and a
//! name given to find an agent resolves to the registered spelling
//! ([`spelling`]). Names with `/` or `\`, `.`, `..`, control characters, surrounding
//! white space, empty or overlong names are refused with a clear error.
//! Timestamps come in as RFC 3339 text (`now: &str`, written as given);
//! [`state`] compares instants in nanoseconds.

use crate::files as fs;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::registry::{
    join_warnings, load_json_checked, load_json_locked_checked, parse_now, validate_name,
    write_json,
};
use super::{ProjectHome, escape};
use crate::error::{Error, Result};
use crate::model::time::{self, Nanos};

const DIR: &str = "agents";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub name: String,
    /// `claude`, `human`, …; `unknown` when first seen through a heartbeat.
    pub kind: String,
    pub workspace: PathBuf,
    pub registered_at: String,
    pub last_heartbeat: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// Presence relative to the lease: online within lease/3 of the last
/// heartbeat (the interval agents promise), stale within the lease, offline after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Online,
    Stale,
    Offline,
}

impl std::fmt::Display for AgentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AgentState::Online => "online",
            AgentState::Stale => "stale",
            AgentState::Offline => "offline",
        })
    }
}

/// Refuse names that cannot be agents (see the module doc). Agent names are
/// path components (escaped, so `/` is safe: default actors look like
/// `dave/vc`): besides the general rules, no `\`, `.` or `..`, and
/// at most 200 bytes once escaped, so file names with their suffixes stay
/// under the 255-byte limit (upper-case and non-ASCII bytes escape to three).
pub fn validate_agent_name(name: &str) -> Result<()> {
    validate_name("agent", name)?;
    let problem = if name.contains('\\') || name == "." || name == ".." {
        "may not contain '\\' or be '.' or '..'"
    } else if name.contains('@') {
        "may not contain '@' (mail uses it for `name@<project>`)"
    } else if escape(name).len() > 200 {
        "is too long once escaped (upper-case and non-ASCII letters count three; at most 200)"
    } else {
        return Ok(());
    };
    Err(Error::Invalid {
        msg: format!("agent name {name:?} {problem}"),
        hint: Some("an agent name is a short word such as `claude-1` or `Dave`".into()),
    })
}

fn lock_name(name: &str) -> String {
    format!("{DIR}/{}", escape(name))
}

fn file(home: &ProjectHome, name: &str) -> PathBuf {
    home.path(DIR).join(format!("{}.json", escape(name)))
}

/// A stored agent file must name a valid agent whose escaped name is the
/// file's stem; anything else was edited by hand and counts as corrupt.
fn check_for(stem: String) -> impl Fn(&Option<Agent>) -> std::result::Result<(), String> {
    move |agent| match agent {
        Some(a) if escape(&a.name) != stem || validate_agent_name(&a.name).is_err() => Err(
            format!("it holds agent {:?}, not the one its name says", a.name),
        ),
        _ => Ok(()),
    }
}

/// Read-modify-write one agent's file under its lock. `change` gets the stored
/// agent (`None` when unknown or recovered from corruption) and returns the new one.
fn update(
    home: &ProjectHome,
    name: &str,
    change: impl FnOnce(Option<Agent>) -> Agent,
) -> Result<(Agent, Option<String>)> {
    validate_agent_name(name)?;
    let dir = home.path(DIR);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    // Look-alike names serialize on their folded form first, so two of them
    // registered at the same instant cannot both miss each other.
    let _fold_lock = home.lock(&format!("{DIR}/{}.fold", escape(&fold(name))))?;
    let _lock = home.lock(&lock_name(name))?;
    let path = file(home, name);
    let (stored, warning) = load_json_locked_checked(&path, &check_for(escape(name)))?;
    if stored.is_none()
        && let Some(c) = name.chars().find(|c| invisible(*c))
    {
        return Err(Error::Invalid {
            msg: format!(
                "agent name {name:?} contains the invisible character U+{:04X} (it would make a look-alike of another name)",
                c as u32
            ),
            hint: Some("an agent name is a short word such as `claude-1` or `Dave`".into()),
        });
    }
    if stored.is_none()
        && let Some(other) = lookalike(home, name)
    {
        return Err(Error::Invalid {
            msg: format!(
                "agent name {name:?} is too like the registered agent {other:?} (names are compared after NFKC and case folding)"
            ),
            hint: Some(format!(
                "if that is you, use {other:?}; otherwise choose another name"
            )),
        });
    }
    let agent = change(stored);
    write_json(&path, &agent)?;
    Ok((agent, warning))
}

/// Register an agent (idempotent): a known name keeps `registered_at` and its
/// note, takes the new kind and workspace; registering counts as a heartbeat.
pub fn register(
    home: &ProjectHome,
    name: &str,
    kind: &str,
    workspace: &Path,
    now: &str,
) -> Result<(Agent, Option<String>)> {
    validate_name("agent kind", kind)?;
    parse_now(now)?;
    update(home, name, |stored| match stored {
        Some(mut a) => {
            a.kind = kind.to_string();
            a.workspace = workspace.to_path_buf();
            a.last_heartbeat = now.to_string();
            a
        }
        None => Agent {
            name: name.to_string(),
            kind: kind.to_string(),
            workspace: workspace.to_path_buf(),
            registered_at: now.to_string(),
            last_heartbeat: now.to_string(),
            note: None,
        },
    })
}

/// A sign of life from `name`, working in `workspace` (the caller's). An
/// unknown agent is registered on the spot with kind `unknown`. `note: None`
/// keeps the previous note, `Some("")` clears it.
pub fn heartbeat(
    home: &ProjectHome,
    name: &str,
    workspace: &Path,
    note: Option<&str>,
    now: &str,
) -> Result<(Agent, Option<String>)> {
    parse_now(now)?;
    let note = note.map(|n| (!n.is_empty()).then(|| n.to_string()));
    update(home, name, |stored| {
        let mut a = stored.unwrap_or_else(|| Agent {
            name: name.to_string(),
            kind: "unknown".into(),
            workspace: workspace.to_path_buf(),
            registered_at: now.to_string(),
            last_heartbeat: now.to_string(),
            note: None,
        });
        a.workspace = workspace.to_path_buf();
        a.last_heartbeat = now.to_string();
        if let Some(n) = note {
            a.note = n;
        }
        a
    })
}

/// Remove an agent's presence (`bd agent` housekeeping). Returns whether it existed.
pub fn forget(home: &ProjectHome, name: &str) -> Result<bool> {
    validate_agent_name(name)?;
    let dir = home.path(DIR);
    if !dir.is_dir() {
        return Ok(false);
    }
    let _lock = home.lock(&lock_name(name))?;
    let path = file(home, name);
    match fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// One agent, if known. An invalid name is simply unknown.
pub fn find(home: &ProjectHome, name: &str) -> (Option<Agent>, Option<String>) {
    if validate_agent_name(name).is_err() {
        return (None, None);
    }
    load_json_checked(
        home,
        &lock_name(name),
        &file(home, name),
        &check_for(escape(name)),
    )
}

/// Every known agent by name. Corrupt files are moved aside and reported.
pub fn load(home: &ProjectHome) -> (BTreeMap<String, Agent>, Option<String>) {
    let mut agents = BTreeMap::new();
    let mut warnings = Vec::new();
    let dir = home.path(DIR);
    let stems = match super::registry::json_stems(&dir) {
        Ok(s) => s,
        Err(w) => return (agents, Some(w)),
    };
    for stem in stems {
        let path = dir.join(format!("{stem}.json"));
        let lock = format!("{DIR}/{stem}");
        let (agent, warning) = load_json_checked(home, &lock, &path, &check_for(stem));
        warnings.extend(warning);
        if let Some(a) = agent {
            agents.insert(a.name.clone(), a);
        }
    }
    (agents, join_warnings(warnings))
}

/// Characters that print as nothing or reorder text: zero-width spaces and
/// joiners, bidi marks, overrides and isolates, word joiners, the BOM, the
/// soft hyphen. NFKC keeps them, so `da\u{200b}ve` would pass as a new
/// agent beside `dave`; new names may not hold them.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{034f}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// A name as agents are compared: NFKC, case-folded (lower case, then NFKC
/// again, as Unicode's NFKC_Casefold does for all but a few letters).
pub fn fold(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let lower: String = name.nfkc().collect::<String>().to_lowercase();
    lower.nfkc().collect()
}

/// A registered agent, other than `name` itself, whose name folds like it.
pub fn lookalike(home: &ProjectHome, name: &str) -> Option<String> {
    let want = fold(name);
    let stems = super::registry::json_stems(&home.path(DIR)).ok()?;
    stems
        .iter()
        .filter_map(|s| super::unescape(s))
        .find(|n| n != name && fold(n) == want)
}

/// The registered spelling of the agent `name` stands for: itself when it is
/// registered (or nobody is), else the registered agent it folds like.
pub fn spelling(home: &ProjectHome, name: &str) -> String {
    registered_spelling(home, name).unwrap_or_else(|| name.to_string())
}

/// The registered agent `name` stands for (itself or a look-alike), if any.
pub fn registered_spelling(home: &ProjectHome, name: &str) -> Option<String> {
    if file(home, name).is_file() {
        return Some(name.to_string());
    }
    lookalike(home, name)
}

/// Online, stale or offline at `now_ns` for a lease of `lease_secs` (see
/// [`AgentState`]). The bounds are exclusive: exactly lease/3 old is stale,
/// exactly one lease old is offline. An unreadable heartbeat is offline; one
/// in the future (clock skew) is online.
pub fn state(agent: &Agent, now_ns: Nanos, lease_secs: u64) -> AgentState {
    let Some(beat) = time::parse(&agent.last_heartbeat) else {
        return AgentState::Offline;
    };
    let age = i128::from(now_ns) - i128::from(beat);
    let lease = i128::from(lease_secs) * 1_000_000_000;
    if age * 3 < lease {
        AgentState::Online
    } else if age < lease {
        AgentState::Stale
    } else {
        AgentState::Offline
    }
}

/// The kind a name gets when it is first seen through a heartbeat (any
/// command run with an explicit actor), not through `bd agent register`.
pub const UNREGISTERED_KIND: &str = "unknown";

/// Whether an agent was registered (`bd agent register`), not merely seen
/// running a command: only registered agents receive work (issue 9, item 15).
pub fn is_registered(agent: &Agent) -> bool {
    agent.kind != UNREGISTERED_KIND
}

//! `bd setup`'s pure parts: the recipes (which files each agent reads and
//! what goes in each), the instructions template, and the edits, each from a
//! file's text to its new text. Markdown gets a managed block between two
//! marker lines; JSON gets the `beads` server entry or Claude Code's
//! `bd prime` hooks spliced into its text (every other byte stays: keys,
//! order, indentation, escapes); TOML gets `[mcp_servers.beads]` through
//! `toml_edit` (comments and layout stay). Each edit has its inverse, which
//! removes only what the edit adds, so install then remove gives back the
//! bytes it started from: install reports the containers it made, and
//! remove takes out only those (a container the user had, even empty,
//! stays). No files here: `ops::setup` reads and writes them, and keeps the
//! record of what setup made.

use serde_json::{Value, json};

/// The managed block's first and last lines.
pub const BEGIN: &str = "<!-- bd setup: begin -->";
pub const END: &str = "<!-- bd setup: end -->";
/// The name the MCP server is registered under.
pub const SERVER: &str = "beads";
/// The command each hook runs.
pub const PRIME: &str = "bd prime";
/// Claude Code's hook events that run `bd prime`.
pub const HOOK_EVENTS: [&str; 2] = ["SessionStart", "PreCompact"];

/// What every recipe writes for its agent (also `bd setup --print`).
pub const TEMPLATE: &str = r#"## Issue tracking with bd (beads)

This project tracks its work with `bd` (strand, a drop-in for beads): the
issues live in `.beads/` and travel with the code in git. Use it instead of
markdown TODO lists.

Start every session (and pick up again after compacting) with `bd prime`: who
you are, what is on your hook, your claims, unread mail and the ready work.

The loop:
1. `bd ready` — work you can start now (unblocked, by priority)
2. `bd claim <id>` — take it before you start; exit 3 means another agent
   holds it: pick another
3. Work on it. `bd show <id>` gives details, dependencies and comments;
   `bd comment <id> "what you found"` leaves context for the next session;
   `bd create "Title" -t bug|feature|task -p 0-4 --deps discovered-from:<id>`
   files new work you find on the way
4. `bd close <id> --reason "Done: ..."` when finished, then back to 1

While you hold a claim, `bd heartbeat` at least every 5 minutes.

Mail between agents and projects: `bd mail inbox`, `bd mail read <id>`,
`bd mail reply <id> -b "..."`, `bd mail send --to <agent> -s "..." -b "..."`.

Several agents sharing one checkout each set `BD_ACTOR` (e.g.
`export BD_ACTOR=claude-1`). Add `--json` to any command for machine-readable
output. The same tools are on the MCP server `bd mcp` (registered as `beads`).
"#;

/// The line that marks bd's git `pre-commit` hook as bd's.
pub const HOOK_MARK: &str = "# bd: pre-commit hook (file reservations)";

/// bd's git `pre-commit` hook (`bd init`, `bd setup git`): it refuses a
/// commit touching files another agent reserved exclusively (`bd
/// reservations --check-staged` exits 3), then runs the hook it chained.
/// It lets the commit through, with a warning, when `bd` is missing or
/// cannot check, and does not check with `BD_RESERVATIONS=off`.
pub const PRE_COMMIT_HOOK: &str = r#"#!/bin/sh
# bd: pre-commit hook (file reservations)
# Refuses a commit touching files another agent reserved exclusively
# (`bd reserve`). Skip the check with BD_RESERVATIONS=off. Installed by
# `bd init` and `bd setup git`; `bd setup git --remove` takes it out and
# puts back the hook it runs after its check (pre-commit.bd-chained).
if [ "${BD_RESERVATIONS:-}" != "off" ]; then
  if command -v bd >/dev/null 2>&1; then
    bd --readonly reservations --check-staged
    status=$?
    if [ "$status" -eq 3 ]; then
      exit 3
    elif [ "$status" -ne 0 ]; then
      echo "bd pre-commit: could not check file reservations (bd exited $status); committing anyway" >&2
    fi
  else
    echo "bd pre-commit: bd is not on PATH; file reservations not checked" >&2
  fi
fi
chained="$(dirname "$0")/pre-commit.bd-chained"
if [ -x "$chained" ]; then
  exec "$chained" "$@"
fi
exit 0
"#;

/// The front matter Cursor wants at the top of a rules file.
const CURSOR_FRONT_MATTER: &str =
    "---\ndescription: Issue tracking with bd (beads)\nalwaysApply: true\n---\n";

/// What a part of an agent's configuration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Instructions,
    McpServer,
    Hooks,
    /// bd's git `pre-commit` hook (file reservations).
    GitHook,
}

/// One thing setup puts in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The managed block of instructions; `preamble` starts a file setup
    /// creates (Cursor's front matter).
    Block { preamble: &'static str },
    /// `<container>.beads` = `{command: "bd", args: ["mcp"]}` in a JSON file
    /// (`typed`: with `"type": "stdio"`, as VS Code wants it).
    JsonServer {
        container: &'static str,
        typed: bool,
    },
    /// Claude Code's SessionStart and PreCompact hooks running `bd prime`.
    Hooks,
    /// `[mcp_servers.beads]` in Codex's `config.toml`.
    TomlServer,
    /// bd's git `pre-commit` hook: the whole file ([`PRE_COMMIT_HOOK`]);
    /// a hook the user had is kept beside it and run after it (the files
    /// are `ops::setup`'s and `git::hooks`'s to move).
    GitHook,
}

/// Where a file of a recipe is: which folder it is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The project (the git worktree's root).
    Project,
    /// The user's home folder.
    Home,
    /// Codex's home: `$CODEX_HOME`, else `~/.codex`.
    CodexHome,
    /// The repository's git hooks folder (`.git/hooks`, or
    /// `core.hooksPath`).
    GitHooks,
}

/// One file of a recipe and what goes in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub base: Base,
    pub rel: &'static str,
    pub part: Part,
}

/// An agent and the files it reads, for this project and for the user.
#[derive(Debug, Clone, Copy)]
pub struct Recipe {
    pub name: &'static str,
    pub agent: &'static str,
    pub project: &'static [Target],
    pub global: &'static [Target],
    /// What the user still has to do, if anything.
    pub note: Option<&'static str>,
}

const fn block(base: Base, rel: &'static str) -> Target {
    Target {
        base,
        rel,
        part: Part::Block { preamble: "" },
    }
}

const fn server(base: Base, rel: &'static str) -> Target {
    Target {
        base,
        rel,
        part: Part::JsonServer {
            container: "mcpServers",
            typed: false,
        },
    }
}

use Base::{CodexHome, GitHooks, Home, Project};

/// Every recipe, in `--list` order.
pub const RECIPES: &[Recipe] = &[
    Recipe {
        name: "claude",
        agent: "Claude Code",
        project: &[
            block(Project, "CLAUDE.md"),
            server(Project, ".mcp.json"),
            Target {
                base: Project,
                rel: ".claude/settings.json",
                part: Part::Hooks,
            },
        ],
        global: &[
            block(Home, ".claude/CLAUDE.md"),
            server(Home, ".claude.json"),
            Target {
                base: Home,
                rel: ".claude/settings.json",
                part: Part::Hooks,
            },
        ],
        note: Some("restart Claude Code to load the MCP server and the hooks"),
    },
    Recipe {
        name: "codex",
        agent: "Codex CLI",
        project: &[
            block(Project, "AGENTS.md"),
            Target {
                base: CodexHome,
                rel: "config.toml",
                part: Part::TomlServer,
            },
        ],
        global: &[
            block(CodexHome, "AGENTS.md"),
            Target {
                base: CodexHome,
                rel: "config.toml",
                part: Part::TomlServer,
            },
        ],
        note: None,
    },
    Recipe {
        name: "cursor",
        agent: "Cursor",
        project: &[
            Target {
                base: Project,
                rel: ".cursor/rules/beads.mdc",
                part: Part::Block {
                    preamble: CURSOR_FRONT_MATTER,
                },
            },
            server(Project, ".cursor/mcp.json"),
        ],
        global: &[server(Home, ".cursor/mcp.json")],
        note: None,
    },
    Recipe {
        name: "gemini",
        agent: "Gemini CLI",
        project: &[
            block(Project, "GEMINI.md"),
            server(Project, ".gemini/settings.json"),
        ],
        global: &[
            block(Home, ".gemini/GEMINI.md"),
            server(Home, ".gemini/settings.json"),
        ],
        note: None,
    },
    Recipe {
        name: "copilot",
        agent: "GitHub Copilot (VS Code)",
        project: &[
            block(Project, ".github/copilot-instructions.md"),
            Target {
                base: Project,
                rel: ".vscode/mcp.json",
                part: Part::JsonServer {
                    container: "servers",
                    typed: true,
                },
            },
        ],
        global: &[],
        note: None,
    },
    Recipe {
        name: "junie",
        agent: "Junie (JetBrains)",
        project: &[
            block(Project, ".junie/guidelines.md"),
            server(Project, ".junie/mcp/mcp.json"),
        ],
        global: &[],
        note: None,
    },
    Recipe {
        name: "windsurf",
        agent: "Windsurf",
        project: &[block(Project, ".windsurf/rules/beads.md")],
        global: &[],
        note: None,
    },
    Recipe {
        name: "opencode",
        agent: "opencode",
        project: &[block(Project, "AGENTS.md")],
        global: &[],
        note: None,
    },
    Recipe {
        name: "factory",
        agent: "Factory Droid",
        project: &[block(Project, "AGENTS.md")],
        global: &[],
        note: None,
    },
    Recipe {
        name: "aider",
        agent: "Aider",
        project: &[block(Project, "CONVENTIONS.md")],
        global: &[],
        note: Some(
            "aider reads it with `aider --read CONVENTIONS.md` (or `read: CONVENTIONS.md` in .aider.conf.yml)",
        ),
    },
    Recipe {
        name: "cody",
        agent: "Sourcegraph Cody",
        project: &[block(Project, ".cody/rules/beads.md")],
        global: &[],
        note: None,
    },
    Recipe {
        name: "kilocode",
        agent: "Kilo Code",
        project: &[block(Project, ".kilocode/rules/beads.md")],
        global: &[],
        note: None,
    },
    Recipe {
        name: "mux",
        agent: "Mux",
        project: &[block(Project, ".mux/AGENTS.md")],
        global: &[block(Home, ".mux/AGENTS.md")],
        note: None,
    },
    Recipe {
        name: "git",
        agent: "Git pre-commit hook, file reservations",
        project: &[Target {
            base: GitHooks,
            rel: "pre-commit",
            part: Part::GitHook,
        }],
        global: &[],
        note: None,
    },
];

/// The recipe called `name`.
pub fn recipe(name: &str) -> Option<&'static Recipe> {
    RECIPES.iter().find(|r| r.name == name)
}

/// A file that cannot be edited: the line (1-based) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDoc {
    pub line: usize,
    pub reason: String,
}

/// A file's new text and what the edit did to it (the text is the old one
/// when it did nothing).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Edited {
    pub text: String,
    pub added: Vec<String>,
    pub replaced: Vec<String>,
    pub removed: Vec<String>,
    /// The containers (a JSON member holding setup's entry: `mcpServers`,
    /// `hooks`, `hooks.SessionStart`, by their path from the top) install
    /// made: the only ones remove may take out again, once it empties them.
    pub created: Vec<String>,
    /// The containers remove took out (of those it was allowed to).
    pub dropped: Vec<String>,
}

impl Edited {
    fn same(text: &str) -> Edited {
        Edited {
            text: text.to_string(),
            ..Edited::default()
        }
    }
}

impl Part {
    pub fn role(&self) -> Role {
        match self {
            Part::Block { .. } => Role::Instructions,
            Part::JsonServer { .. } | Part::TomlServer => Role::McpServer,
            Part::Hooks => Role::Hooks,
            Part::GitHook => Role::GitHook,
        }
    }

    /// The things this part puts in its file, as `--check` names them.
    pub fn items(&self) -> Vec<String> {
        match self {
            Part::Block { .. } => vec!["instructions block".into()],
            Part::JsonServer { container, .. } => vec![format!("{container}.{SERVER}")],
            Part::Hooks => HOOK_EVENTS
                .iter()
                .map(|e| format!("hooks.{e}: {PRIME}"))
                .collect(),
            Part::TomlServer => vec![format!("mcp_servers.{SERVER}")],
            Part::GitHook => vec!["pre-commit: bd reservations --check-staged".into()],
        }
    }

    /// Put this part into a file's text (`None`: no such file yet).
    pub fn install(&self, text: Option<&str>) -> Result<Edited, BadDoc> {
        match *self {
            Part::Block { preamble } => block_install(text, preamble),
            Part::JsonServer { container, typed } => {
                json_server_install(&json_start(text), container, typed)
            }
            Part::Hooks => hooks_install(&json_start(text)),
            Part::TomlServer => toml_install(text.unwrap_or("")),
            Part::GitHook => Ok(match text {
                Some(t) if t == PRE_COMMIT_HOOK => Edited::same(t),
                Some(t) if t.contains(HOOK_MARK) => Edited {
                    text: PRE_COMMIT_HOOK.into(),
                    replaced: self.items(),
                    ..Edited::default()
                },
                _ => Edited {
                    text: PRE_COMMIT_HOOK.into(),
                    added: self.items(),
                    ..Edited::default()
                },
            }),
        }
    }

    /// Take out of a file's text what [`Part::install`] put in, and nothing
    /// else. A container it empties goes only when it is one of `created`
    /// (what install reported it made); any other stays, empty, as the user
    /// had it. (TOML needs no list: a `mcp_servers` setup made is implicit,
    /// with no text of its own, and one the user wrote is not.)
    pub fn remove(&self, text: &str, created: &[String]) -> Result<Edited, BadDoc> {
        match *self {
            Part::Block { .. } => block_remove(text),
            Part::JsonServer { container, .. } => json_server_remove(text, container, created),
            Part::Hooks => hooks_remove(text, created),
            Part::TomlServer => toml_remove(text),
            Part::GitHook => Ok(if text.contains(HOOK_MARK) {
                Edited {
                    removed: self.items(),
                    ..Edited::default()
                }
            } else {
                Edited::same(text)
            }),
        }
    }

    /// What of this part a file's text lacks (all of it when there is no
    /// file; an instructions block that is not this version's counts as
    /// missing).
    pub fn missing(&self, text: Option<&str>) -> Result<Vec<String>, BadDoc> {
        let Some(text) = text else {
            return Ok(self.items());
        };
        match *self {
            Part::Block { .. } => Ok(match find_block(text)? {
                Some(b) if text[b.start..b.end] == block_text(newline(text)) => vec![],
                Some(_) => vec!["instructions block (out of date)".into()],
                None => self.items(),
            }),
            Part::JsonServer { container, .. } => {
                let doc = Json::parse(text)?;
                let ours = doc
                    .value
                    .get(container)
                    .and_then(|c| c.get(SERVER))
                    .is_some_and(is_our_server);
                Ok(if ours { vec![] } else { self.items() })
            }
            Part::Hooks => {
                let doc = Json::parse(text)?;
                Ok(HOOK_EVENTS
                    .iter()
                    .filter(|e| {
                        !doc.value
                            .pointer(&format!("/hooks/{e}"))
                            .is_some_and(has_prime)
                    })
                    .map(|e| format!("hooks.{e}: {PRIME}"))
                    .collect())
            }
            Part::TomlServer => {
                let doc = toml_parse(text)?;
                let ours = doc
                    .get("mcp_servers")
                    .and_then(|s| s.get(SERVER))
                    .is_some_and(is_our_toml_server);
                Ok(if ours { vec![] } else { self.items() })
            }
            Part::GitHook => Ok(if text == PRE_COMMIT_HOOK {
                vec![]
            } else if text.contains(HOOK_MARK) {
                vec!["pre-commit: bd reservations --check-staged (out of date)".into()]
            } else {
                self.items()
            }),
        }
    }

    /// Whether a file left with `text` after [`Part::remove`] holds nothing
    /// but what setup would create around its part (nothing, `{}`, the
    /// preamble): such a file may go.
    pub fn leftover(&self, text: &str) -> bool {
        match *self {
            _ if text.trim().is_empty() => true,
            // (remove takes the line ending after the preamble, as it would
            // the one install put between a file's text and the block)
            Part::Block { preamble } => {
                !preamble.is_empty() && text.trim_end() == preamble.trim_end()
            }
            Part::JsonServer { .. } | Part::Hooks => {
                serde_json::from_str::<Value>(text).is_ok_and(|v| v == json!({}))
            }
            Part::TomlServer => false,
            Part::GitHook => true,
        }
    }
}

// ------------------------------------------------------------ the block

/// The line ending a file uses (CRLF when it has any).
fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// The managed block, with the file's line ending.
pub fn block_text(nl: &str) -> String {
    let body = format!("{BEGIN}\n{TEMPLATE}{END}\n");
    if nl == "\n" {
        body
    } else {
        body.replace('\n', nl)
    }
}

/// The byte range of the managed block: from its first line's start to the
/// end of its last line (with its line ending).
struct Span {
    start: usize,
    end: usize,
}

fn find_block(text: &str) -> Result<Option<Span>, BadDoc> {
    // (line, offset): where BEGIN's line starts, where END's line ends.
    let (mut begin, mut end) = (None::<(usize, usize)>, None::<(usize, usize)>);
    let mut at = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let mark = line.trim_end();
        let next = at + line.len();
        if mark == BEGIN || mark == END {
            let (slot, offset) = if mark == BEGIN {
                (&mut begin, at)
            } else {
                (&mut end, next)
            };
            if slot.is_some() {
                return Err(BadDoc {
                    line: n + 1,
                    reason: format!("a second `{mark}` line: keep one bd setup block"),
                });
            }
            *slot = Some((n + 1, offset));
        }
        at = next;
    }
    match (begin, end) {
        (None, None) => Ok(None),
        (Some((_, start)), Some((_, end))) if start < end => Ok(Some(Span { start, end })),
        (Some((line, _)), None) => Err(BadDoc {
            line,
            reason: format!("`{BEGIN}` without `{END}` after it"),
        }),
        (_, Some((line, _))) => Err(BadDoc {
            line,
            reason: format!("`{END}` without `{BEGIN}` before it"),
        }),
    }
}

fn block_install(text: Option<&str>, preamble: &str) -> Result<Edited, BadDoc> {
    let old = text.unwrap_or("");
    let nl = newline(old);
    let block = block_text(nl);
    let item = "instructions block".to_string();
    if old.is_empty() {
        return Ok(Edited {
            text: format!("{preamble}{block}"),
            added: vec![item],
            ..Edited::default()
        });
    }
    match find_block(old)? {
        Some(b) if old[b.start..b.end] == block => Ok(Edited::same(old)),
        Some(b) => Ok(Edited {
            text: format!("{}{block}{}", &old[..b.start], &old[b.end..]),
            replaced: vec![item],
            ..Edited::default()
        }),
        // After the last line, one line ending between: remove strips it.
        None => Ok(Edited {
            text: format!("{old}{nl}{block}"),
            added: vec![item],
            ..Edited::default()
        }),
    }
}

fn block_remove(text: &str) -> Result<Edited, BadDoc> {
    let Some(b) = find_block(text)? else {
        return Ok(Edited::same(text));
    };
    let (mut before, after) = (&text[..b.start], &text[b.end..]);
    if after.is_empty() {
        // The line ending install put before the block.
        let nl = newline(text);
        before = before
            .strip_suffix(nl)
            .or_else(|| before.strip_suffix('\n'))
            .unwrap_or(before);
    }
    Ok(Edited {
        text: format!("{before}{after}"),
        removed: vec!["instructions block".into()],
        ..Edited::default()
    })
}

// ------------------------------------------------------------ JSON

/// The server setup registers.
fn our_server(typed: bool) -> Value {
    if typed {
        json!({"type": "stdio", "command": "bd", "args": ["mcp"]})
    } else {
        json!({"command": "bd", "args": ["mcp"]})
    }
}

/// An entry that runs `bd mcp` (whatever else the user added to it).
fn is_our_server(v: &Value) -> bool {
    v.get("command").and_then(Value::as_str) == Some("bd") && v.get("args") == Some(&json!(["mcp"]))
}

/// An entry exactly as setup writes it: `--remove` takes out only this
/// (review 9: an entry with the user's `env` was removed with it).
fn is_exactly_our_server(v: &Value) -> bool {
    is_our_server(v)
        && v.as_object().is_some_and(|o| {
            o.iter().all(|(k, x)| match k.as_str() {
                "command" | "args" => true,
                "type" => x == "stdio",
                _ => false,
            })
        })
}

/// Why setup leaves another `beads` server as it is (review 9: taking its
/// place lost what the user wrote in it, and `--remove` then deleted it).
fn foreign_server(where_: &str) -> String {
    format!(
        "`{where_}` is another MCP server (it does not run `bd mcp`); bd setup leaves it as it is: remove or rename it, then run bd setup again"
    )
}

/// The hook group setup adds to each event.
fn our_hook_group() -> Value {
    json!({"matcher": "", "hooks": [{"type": "command", "command": PRIME}]})
}

/// Whether an event's list of hook groups runs `bd prime` anywhere.
fn has_prime(groups: &Value) -> bool {
    groups.as_array().is_some_and(|gs| {
        gs.iter().any(|g| {
            g.get("hooks").and_then(Value::as_array).is_some_and(|hs| {
                hs.iter()
                    .any(|h| h.get("command").and_then(Value::as_str) == Some(PRIME))
            })
        })
    })
}

/// The text a JSON part starts from: an empty or missing file is `{}`.
fn json_start(text: Option<&str>) -> String {
    match text {
        Some(t) if !t.trim().is_empty() => t.to_string(),
        _ => "{}\n".to_string(),
    }
}

/// A JSON value's place in the text.
#[derive(Debug)]
struct Node {
    start: usize,
    end: usize,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Object(Vec<Member>),
    Array(Vec<Node>),
    Scalar,
}

#[derive(Debug)]
struct Member {
    key: String,
    key_start: usize,
    key_end: usize,
    value: Node,
}

impl Node {
    fn members(&self) -> Option<&[Member]> {
        match &self.kind {
            Kind::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The member named `key` (the last one, as a JSON reader keeps).
    fn member(&self, key: &str) -> Option<(usize, &Member)> {
        self.members()?
            .iter()
            .enumerate()
            .rev()
            .find(|(_, m)| m.key == key)
    }
}

/// A parsed JSON file: its value, and where each value is in its text.
struct Json<'a> {
    /// The file as it is: edits splice into it.
    text: &'a str,
    /// The same bytes with comments blanked (JSONC: VS Code's and Gemini's
    /// settings), which values and places are read from: offsets agree.
    clean: String,
    value: Value,
    root: Node,
}

/// `text` with its comments (`// …` to the line's end, `/* … */`, outside
/// strings) turned into spaces, line breaks kept: the same length, so every
/// offset in one is the same place in the other.
fn blank_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let (mut i, mut in_str) = (0, false);
    while i < b.len() {
        let c = b[i];
        if in_str {
            match c {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match (c, b.get(i + 1)) {
            (b'"', _) => in_str = true,
            (b'/', Some(b'/')) => {
                while i < b.len() && b[i] != b'\n' {
                    out[i] = b' ';
                    i += 1;
                }
                continue;
            }
            (b'/', Some(b'*')) => {
                let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                for o in &mut out[i..end] {
                    if !matches!(*o, b'\n' | b'\r') {
                        *o = b' ';
                    }
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    // Only ASCII bytes outside strings were replaced by ASCII spaces: the
    // text stays UTF-8 (a multi-byte character inside a comment is blanked
    // whole, byte by byte).
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// Reads the places of a JSON text's values (after serde_json accepted it).
struct Spans<'a> {
    text: &'a str,
    i: usize,
}

impl Spans<'_> {
    fn ws(&mut self) {
        let b = self.text.as_bytes();
        while self.i < b.len() && matches!(b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn string(&mut self) -> Option<String> {
        self.ws();
        let start = self.i;
        self.eat(b'"')?;
        let b = self.text.as_bytes();
        while *b.get(self.i)? != b'"' {
            self.i += if b[self.i] == b'\\' { 2 } else { 1 };
        }
        self.i += 1;
        serde_json::from_str(&self.text[start..self.i]).ok()
    }

    fn value(&mut self) -> Option<Node> {
        self.ws();
        let start = self.i;
        let kind = match self.peek()? {
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.peek()? != b'}' {
                    loop {
                        self.ws();
                        let key_start = self.i;
                        let key = self.string()?;
                        let key_end = self.i;
                        self.eat(b':')?;
                        let value = self.value()?;
                        members.push(Member {
                            key,
                            key_start,
                            key_end,
                            value,
                        });
                        self.ws();
                        if self.peek()? != b',' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                self.eat(b'}')?;
                Kind::Object(members)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek()? != b']' {
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        if self.peek()? != b',' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                self.eat(b']')?;
                Kind::Array(items)
            }
            b'"' => {
                self.string()?;
                Kind::Scalar
            }
            _ => {
                let b = self.text.as_bytes();
                while self.i < b.len()
                    && !matches!(b[self.i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    self.i += 1;
                }
                Kind::Scalar
            }
        };
        Some(Node {
            start,
            end: self.i,
            kind,
        })
    }
}

/// The 1-based line of a byte offset.
fn line_at(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

impl<'a> Json<'a> {
    fn parse(text: &'a str) -> Result<Json<'a>, BadDoc> {
        let clean = blank_comments(text);
        let value: Value = serde_json::from_str(&clean).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.rfind(" at line ").map_or(&msg[..], |i| &msg[..i]);
            BadDoc {
                line: e.line().max(1),
                reason: format!("not valid JSON: {msg}"),
            }
        })?;
        let root = Spans { text: &clean, i: 0 }.value().ok_or(BadDoc {
            line: 1,
            reason: "not valid JSON".into(),
        })?;
        if root.members().is_none() {
            return Err(BadDoc {
                line: line_at(text, root.start),
                reason: "the top level is not an object".into(),
            });
        }
        Ok(Json {
            text,
            clean,
            value,
            root,
        })
    }

    fn value_of(&self, n: &Node) -> Value {
        serde_json::from_str(&self.clean[n.start..n.end]).unwrap_or(Value::Null)
    }

    /// The line ending, indentation unit, key separator and layout the
    /// file uses (two spaces, `": "`, one member per line when it has none).
    fn style(&self) -> Style {
        let nl = newline(self.text).to_string();
        let members = self.root.members().unwrap_or_default();
        let Some(first) = members.first() else {
            return Style {
                nl,
                unit: "  ".into(),
                colon: ": ".into(),
                pretty: true,
            };
        };
        let lead = &self.clean[self.root.start + 1..first.key_start];
        let pretty = lead.contains('\n');
        let unit = lead.rsplit('\n').next().unwrap_or("");
        let base = indent_of_line(self.text, self.root.start);
        let unit = unit.strip_prefix(base).unwrap_or(unit);
        Style {
            nl,
            unit: if unit.is_empty() { "  " } else { unit }.to_string(),
            colon: self.clean[first.key_end..first.value.start].to_string(),
            pretty,
        }
    }

    /// The text with `key: v` added as `obj`'s last member.
    fn insert_member(&self, obj: &Node, key: &str, v: &Value) -> String {
        let st = self.style();
        let key = Value::from(key).to_string();
        let members = obj.members().unwrap_or_default();
        match (members.first(), members.last()) {
            (Some(first), Some(last)) => {
                let lead = &self.clean[obj.start + 1..first.key_start];
                let indent = lead.rsplit('\n').next().unwrap_or("");
                let (lead, st) = st.like(lead);
                let item = format!("{key}{}{}", st.colon, st.render(v, indent));
                self.splice(last.value.end, last.value.end, &format!(",{lead}{item}"))
            }
            _ => self.fill_empty(obj, &format!("{key}{}", st.colon), v, ('{', '}')),
        }
    }

    /// The text with `v` added as `arr`'s last element.
    fn push_element(&self, arr: &Node, v: &Value) -> String {
        let st = self.style();
        let Kind::Array(items) = &arr.kind else {
            return self.text.to_string();
        };
        match (items.first(), items.last()) {
            (Some(first), Some(last)) => {
                let lead = &self.clean[arr.start + 1..first.start];
                let indent = lead.rsplit('\n').next().unwrap_or("");
                let (lead, st) = st.like(lead);
                let item = st.render(v, indent);
                self.splice(last.end, last.end, &format!(",{lead}{item}"))
            }
            _ => self.fill_empty(arr, "", v, ('[', ']')),
        }
    }

    /// An empty object or array (`{}`, `[ ]`) given its one item. A comment
    /// the user wrote in it (`{ // mine\n}`) stays where it is, the item
    /// after it: on a line of its own when the closing brace is on another
    /// line, else on that line (after a line comment the brace always is on
    /// another). Taking the item out with the blank space before it
    /// ([`Json::remove_item`]) gives back the bytes.
    fn fill_empty(&self, n: &Node, head: &str, v: &Value, (open, close): (char, char)) -> String {
        let st = self.style();
        let base = indent_of_line(self.text, n.start);
        let inside = &self.text[n.start + 1..n.end - 1];
        let kept = inside.trim_end_matches(BLANK);
        if !kept.is_empty() {
            let at = n.start + 1 + kept.len();
            let item = if inside[kept.len()..].contains('\n') {
                let inner = match kept.rfind('\n') {
                    Some(i) => indent_of_line(self.text, n.start + 1 + i + 1).to_string(),
                    None => format!("{base}{}", st.unit),
                };
                format!("{}{inner}{head}{}", st.nl, st.render(v, &inner))
            } else {
                let (space, st) = st.like("");
                format!("{space}{head}{}", st.render(v, ""))
            };
            return self.splice(at, at, &item);
        }
        let body = if st.pretty {
            let inner = format!("{base}{}", st.unit);
            format!(
                "{open}{nl}{inner}{head}{}{nl}{base}{close}",
                st.render(v, &inner),
                nl = st.nl
            )
        } else {
            format!("{open}{head}{}{close}", st.render(v, ""))
        };
        self.splice(n.start, n.end, &body)
    }

    /// The text without `obj`'s member `i` (with the comma and space that
    /// joined it to its neighbour; `{}` when it was the only one).
    fn remove_member(&self, obj: &Node, i: usize) -> String {
        let ms = obj.members().unwrap_or_default();
        let spans: Vec<(usize, usize)> = ms.iter().map(|m| (m.key_start, m.value.end)).collect();
        self.remove_item(obj, &spans, i, "{}")
    }

    fn remove_element(&self, arr: &Node, i: usize) -> String {
        let Kind::Array(items) = &arr.kind else {
            return self.text.to_string();
        };
        let spans: Vec<(usize, usize)> = items.iter().map(|n| (n.start, n.end)).collect();
        self.remove_item(arr, &spans, i, "[]")
    }

    fn remove_item(&self, n: &Node, spans: &[(usize, usize)], i: usize, empty: &str) -> String {
        if spans.len() == 1 {
            // The only item, with the blank space before it; what else is
            // in there (a comment) stays, and with nothing else it is `{}`.
            if self.holds_only(n, spans[0]) {
                return self.splice(n.start, n.end, empty);
            }
            let (inside, (start, end)) = (n.start + 1, spans[0]);
            let from = inside + self.text[inside..start].trim_end_matches(BLANK).len();
            self.splice(from, end, "")
        } else if i + 1 == spans.len() {
            self.splice(spans[i - 1].1, spans[i].1, "")
        } else {
            self.splice(spans[i].0, spans[i + 1].0, "")
        }
    }

    /// Whether the object or array `n` holds nothing but its item `item`
    /// (no other item, no comment): what is left once it goes is `{}`.
    fn holds_only(&self, n: &Node, item: (usize, usize)) -> bool {
        self.text[n.start + 1..item.0]
            .trim_matches(BLANK)
            .is_empty()
            && self.text[item.1..n.end - 1].trim_matches(BLANK).is_empty()
    }

    fn splice(&self, from: usize, to: usize, with: &str) -> String {
        format!("{}{with}{}", &self.text[..from], &self.text[to..])
    }
}

/// How a JSON file is written, so what setup adds looks like the rest.
struct Style {
    nl: String,
    unit: String,
    colon: String,
    pretty: bool,
}

impl Style {
    /// What goes after the comma before a new item of a list whose first
    /// item follows `lead` (a new line and the same indentation, or a space
    /// when `": "` has one), and the style of the item: on one line when
    /// the list is.
    fn like(self, lead: &str) -> (String, Style) {
        match lead.rsplit_once('\n') {
            Some((_, indent)) => (format!("{}{indent}", self.nl), self),
            None => (
                if self.colon.ends_with(' ') { " " } else { "" }.to_string(),
                Style {
                    pretty: false,
                    ..self
                },
            ),
        }
    }

    /// `v` as text, its inner lines indented under a line indented `indent`.
    fn render(&self, v: &Value, indent: &str) -> String {
        let mut out = String::new();
        self.write(v, indent, &mut out);
        out
    }

    fn write(&self, v: &Value, indent: &str, out: &mut String) {
        let inner = format!("{indent}{}", self.unit);
        let (sep, pad) = if self.pretty {
            (
                format!(",{}{inner}", self.nl),
                format!("{}{inner}", self.nl),
            )
        } else {
            let space = if self.colon.ends_with(' ') { " " } else { "" };
            (format!(",{space}"), String::new())
        };
        let close = if self.pretty {
            format!("{}{indent}", self.nl)
        } else {
            String::new()
        };
        match v {
            Value::Object(m) if !m.is_empty() => {
                out.push('{');
                out.push_str(&pad);
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&sep);
                    }
                    out.push_str(&Value::from(k.as_str()).to_string());
                    out.push_str(&self.colon);
                    self.write(x, &inner, out);
                }
                out.push_str(&close);
                out.push('}');
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('[');
                out.push_str(&pad);
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&sep);
                    }
                    self.write(x, &inner, out);
                }
                out.push_str(&close);
                out.push(']');
            }
            _ => out.push_str(&v.to_string()),
        }
    }
}

/// What JSON counts as blank space between tokens.
const BLANK: [char; 4] = [' ', '\t', '\n', '\r'];

/// The spaces and tabs that start the line holding byte `at`.
fn indent_of_line(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

fn not_object(doc: &Json, n: &Node, what: &str) -> BadDoc {
    BadDoc {
        line: line_at(doc.text, n.start),
        reason: format!("`{what}` is not an object"),
    }
}

fn json_server_install(text: &str, container: &str, typed: bool) -> Result<Edited, BadDoc> {
    let doc = Json::parse(text)?;
    let ours = our_server(typed);
    let item = format!("{container}.{SERVER}");
    let Some((_, c)) = doc.root.member(container) else {
        let text = doc.insert_member(&doc.root, container, &json!({ SERVER: ours }));
        return Ok(Edited {
            text,
            added: vec![item],
            created: vec![container.to_string()],
            ..Edited::default()
        });
    };
    if c.value.members().is_none() {
        return Err(not_object(&doc, &c.value, container));
    }
    match c.value.member(SERVER) {
        None => Ok(Edited {
            text: doc.insert_member(&c.value, SERVER, &ours),
            added: vec![item],
            ..Edited::default()
        }),
        Some((_, b)) if is_our_server(&doc.value_of(&b.value)) => Ok(Edited::same(text)),
        // Another `beads` server (classic's beads-mcp): the user's, left alone.
        Some((_, b)) => Err(BadDoc {
            line: line_at(doc.text, b.value.start),
            reason: foreign_server(&item),
        }),
    }
}

fn json_server_remove(text: &str, container: &str, created: &[String]) -> Result<Edited, BadDoc> {
    let doc = Json::parse(text)?;
    let Some((ci, c)) = doc.root.member(container) else {
        return Ok(Edited::same(text));
    };
    let Some((i, b)) = c.value.member(SERVER) else {
        return Ok(Edited::same(text));
    };
    if !is_exactly_our_server(&doc.value_of(&b.value)) {
        return Ok(Edited::same(text));
    }
    // The container held only ours and setup made it: it goes too (one
    // the user had, even empty, stays).
    let drop = doc.holds_only(&c.value, (b.key_start, b.value.end)) && made(created, container);
    let text = if drop {
        doc.remove_member(&doc.root, ci)
    } else {
        doc.remove_member(&c.value, i)
    };
    Ok(Edited {
        text,
        removed: vec![format!("{container}.{SERVER}")],
        dropped: if drop {
            vec![container.to_string()]
        } else {
            vec![]
        },
        ..Edited::default()
    })
}

/// Whether `name` is one of the containers setup made (remove may take it
/// out).
fn made(created: &[String], name: &str) -> bool {
    created.iter().any(|c| c == name)
}

fn hooks_install(text: &str) -> Result<Edited, BadDoc> {
    let mut out = Edited::same(text);
    let group = our_hook_group();
    for event in HOOK_EVENTS {
        let doc = Json::parse(&out.text)?;
        let list = format!("hooks.{event}");
        let next = match doc.root.member("hooks") {
            None => {
                out.created.extend(["hooks".to_string(), list]);
                doc.insert_member(&doc.root, "hooks", &json!({ event: [group] }))
            }
            Some((_, h)) if h.value.members().is_none() => {
                return Err(not_object(&doc, &h.value, "hooks"));
            }
            Some((_, h)) => match h.value.member(event) {
                None => {
                    out.created.push(list);
                    doc.insert_member(&h.value, event, &json!([group]))
                }
                Some((_, a)) if !matches!(a.value.kind, Kind::Array(_)) => {
                    return Err(BadDoc {
                        line: line_at(doc.text, a.value.start),
                        reason: format!("`hooks.{event}` is not a list"),
                    });
                }
                Some((_, a)) if has_prime(&doc.value_of(&a.value)) => continue,
                Some((_, a)) => doc.push_element(&a.value, &group),
            },
        };
        out.text = next;
        out.added.push(format!("hooks.{event}: {PRIME}"));
    }
    Ok(out)
}

fn hooks_remove(text: &str, created: &[String]) -> Result<Edited, BadDoc> {
    let mut out = Edited::same(text);
    let group = our_hook_group();
    for event in HOOK_EVENTS {
        loop {
            let doc = Json::parse(&out.text)?;
            let Some((hi, h)) = doc.root.member("hooks") else {
                break;
            };
            let Some((ai, a)) = h.value.member(event) else {
                break;
            };
            let Kind::Array(items) = &a.value.kind else {
                break;
            };
            let Some(i) = items.iter().position(|n| doc.value_of(n) == group) else {
                break;
            };
            // Ours was the last group: the event's list goes if setup made
            // it, and `hooks` with it when setup made that too and nothing
            // else is left in it. A list or `hooks` the user had stays.
            let list = format!("hooks.{event}");
            let only = |n: &Node, item| doc.holds_only(n, item);
            out.text = if !only(&a.value, (items[i].start, items[i].end)) || !made(created, &list) {
                doc.remove_element(&a.value, i)
            } else if !only(&h.value, (a.key_start, a.value.end)) || !made(created, "hooks") {
                out.dropped.push(list);
                doc.remove_member(&h.value, ai)
            } else {
                out.dropped.extend([list, "hooks".to_string()]);
                doc.remove_member(&doc.root, hi)
            };
            let item = format!("hooks.{event}: {PRIME}");
            if !out.removed.contains(&item) {
                out.removed.push(item);
            }
        }
    }
    Ok(out)
}

// ------------------------------------------------------------ TOML

fn toml_parse(text: &str) -> Result<toml_edit::DocumentMut, BadDoc> {
    text.parse::<toml_edit::DocumentMut>().map_err(|e| BadDoc {
        line: line_at(text, e.span().map_or(0, |s| s.start)),
        reason: format!("not valid TOML: {}", e.message().trim()),
    })
}

fn is_our_toml_server(item: &toml_edit::Item) -> bool {
    let Some(t) = item.as_table_like() else {
        return false;
    };
    let args = t.get("args").and_then(toml_edit::Item::as_array).map(|a| {
        a.iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Vec<_>>()
    });
    t.get("command").and_then(toml_edit::Item::as_str) == Some("bd")
        && args == Some(vec![Some("mcp".to_string())])
}

/// [`is_our_toml_server`] with nothing else in it (what setup writes).
fn is_exactly_our_toml_server(item: &toml_edit::Item) -> bool {
    is_our_toml_server(item)
        && item
            .as_table_like()
            .is_some_and(|t| t.iter().all(|(k, _)| k == "command" || k == "args"))
}

fn toml_install(text: &str) -> Result<Edited, BadDoc> {
    use toml_edit::{Array, InlineTable, Item, Table, Value as TValue};
    let mut doc = toml_parse(text)?;
    let item = format!("mcp_servers.{SERVER}");
    let servers = doc.entry("mcp_servers").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let args = || TValue::Array(Array::from_iter(["mcp"]));
    let mut out = Edited::default();
    match servers {
        Item::Table(servers) => match servers.get_mut(SERVER) {
            Some(b) if is_our_toml_server(b) => return Ok(Edited::same(text)),
            Some(_) => {
                return Err(BadDoc {
                    line: 1,
                    reason: foreign_server(&item),
                });
            }
            None => {
                let mut t = Table::new();
                t.insert("command", Item::Value("bd".into()));
                t.insert("args", Item::Value(args()));
                servers.insert(SERVER, Item::Table(t));
                out.added.push(item);
            }
        },
        Item::Value(TValue::InlineTable(servers)) => match servers.get_mut(SERVER) {
            Some(b) if is_our_toml_server(&Item::Value(b.clone())) => {
                return Ok(Edited::same(text));
            }
            Some(_) => {
                return Err(BadDoc {
                    line: 1,
                    reason: foreign_server(&item),
                });
            }
            None => {
                let mut t = InlineTable::new();
                t.insert("command", "bd".into());
                t.insert("args", args());
                servers.insert(SERVER, TValue::InlineTable(t));
                out.added.push(item);
            }
        },
        _ => {
            return Err(BadDoc {
                line: 1,
                reason: "`mcp_servers` is not a table".into(),
            });
        }
    }
    out.text = doc.to_string();
    Ok(out)
}

fn toml_remove(text: &str) -> Result<Edited, BadDoc> {
    let mut doc = toml_parse(text)?;
    let ours = doc
        .get("mcp_servers")
        .and_then(|s| s.get(SERVER))
        .is_some_and(is_exactly_our_toml_server);
    if !ours {
        return Ok(Edited::same(text));
    }
    let Some(servers) = doc.get_mut("mcp_servers") else {
        return Ok(Edited::same(text));
    };
    let implicit_and_empty = match servers {
        toml_edit::Item::Table(t) => {
            t.remove(SERVER);
            t.is_implicit() && t.is_empty()
        }
        toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => {
            t.remove(SERVER);
            false
        }
        _ => false,
    };
    // A `mcp_servers` that only ever was the parent of setup's table.
    if implicit_and_empty {
        doc.remove("mcp_servers");
    }
    Ok(Edited {
        text: doc.to_string(),
        removed: vec![format!("mcp_servers.{SERVER}")],
        ..Edited::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Install, install again (nothing changes), remove: the bytes it
    /// started from.
    fn round_trip(part: Part, before: &str) -> String {
        let once = part.install(Some(before)).unwrap();
        assert_ne!(once.text, before, "install changed nothing");
        assert_eq!(
            part.missing(Some(&once.text)).unwrap(),
            Vec::<String>::new()
        );
        let twice = part.install(Some(&once.text)).unwrap();
        assert_eq!(twice.text, once.text, "a second install changed the text");
        assert!(twice.added.is_empty() && twice.replaced.is_empty());
        let removed = part.remove(&once.text, &once.created).unwrap();
        assert_eq!(removed.text, before, "remove did not give back the text");
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        assert_eq!(
            sorted(&removed.dropped),
            sorted(&once.created),
            "not all it made went"
        );
        assert_eq!(part.missing(Some(&removed.text)).unwrap(), part.items());
        let again = part.remove(&removed.text, &once.created).unwrap();
        assert_eq!(again.text, before);
        assert!(again.removed.is_empty() && again.dropped.is_empty());
        // Not told what install made (no record): ours goes, every
        // container stays.
        let kept = part.remove(&once.text, &[]).unwrap();
        assert_eq!(part.missing(Some(&kept.text)).unwrap(), part.items());
        assert!(kept.dropped.is_empty());
        if once.created.is_empty() {
            assert_eq!(kept.text, before);
        }
        once.text
    }

    const MD: Part = Part::Block { preamble: "" };
    const SERVER_JSON: Part = Part::JsonServer {
        container: "mcpServers",
        typed: false,
    };

    #[test]
    fn the_block_goes_after_the_text_and_comes_out_exactly() {
        for before in [
            "# Notes\n\nkeep me\n",
            "no newline at the end",
            "ends with a blank line\n\n",
            "\n",
            "crlf\r\nfile\r\n",
        ] {
            let after = round_trip(MD, before);
            assert!(after.starts_with(before));
        }
        let crlf = MD.install(Some("a\r\n")).unwrap().text;
        assert!(!crlf.replace("\r\n", "").contains('\n'), "{crlf:?}");
    }

    #[test]
    fn the_block_is_replaced_in_place_and_text_around_it_stays() {
        let old = format!("top\n{BEGIN}\nold words\n{END}\nbottom\n");
        let e = MD.install(Some(&old)).unwrap();
        assert_eq!(e.replaced, ["instructions block"]);
        assert_eq!(e.text, format!("top\n{}bottom\n", block_text("\n")));
        assert_eq!(
            MD.missing(Some(&old)).unwrap(),
            ["instructions block (out of date)"]
        );
        let gone = MD.remove(&e.text, &[]).unwrap();
        assert_eq!(gone.text, "top\nbottom\n");
    }

    #[test]
    fn broken_markers_are_refused_with_their_line() {
        let e = MD.install(Some(&format!("a\n{BEGIN}\nb\n"))).unwrap_err();
        assert_eq!(e.line, 2);
        let e = MD.remove(&format!("{END}\n{BEGIN}\n"), &[]).unwrap_err();
        assert_eq!(e.line, 1);
        let twice = format!("{BEGIN}\n{END}\n{BEGIN}\n{END}\n");
        assert_eq!(MD.install(Some(&twice)).unwrap_err().line, 3);
    }

    #[test]
    fn a_new_file_is_the_preamble_and_the_block() {
        let p = Part::Block {
            preamble: CURSOR_FRONT_MATTER,
        };
        let e = p.install(None).unwrap();
        assert!(e.text.starts_with("---\n"));
        let gone = p.remove(&e.text, &[]).unwrap();
        assert!(p.leftover(&gone.text));
        assert!(!p.leftover("user text\n"));
    }

    #[test]
    fn a_server_joins_the_json_as_it_is_written() {
        let before = "{\n    \"theme\": \"dark\",\n    \"mcpServers\": {\n        \"other\": {\"command\": \"x\"}\n    }\n}\n";
        let after = round_trip(SERVER_JSON, before);
        assert_eq!(
            after,
            "{\n    \"theme\": \"dark\",\n    \"mcpServers\": {\n        \"other\": {\"command\": \"x\"},\n        \"beads\": {\n            \"command\": \"bd\",\n            \"args\": [\n                \"mcp\"\n            ]\n        }\n    }\n}\n"
        );
        // No container yet: it is added, and goes with the server.
        round_trip(SERVER_JSON, "{\n  \"a\": [1, 2],\n  \"z\": null\n}");
        round_trip(SERVER_JSON, "{\"compact\":true}");
        // An object written on one line gets the server on that line.
        let inline = "{\n  \"mcpServers\": {\"other\": {\"command\": \"x\"}}\n}\n";
        assert_eq!(
            round_trip(SERVER_JSON, inline),
            "{\n  \"mcpServers\": {\"other\": {\"command\": \"x\"}, \"beads\": {\"command\": \"bd\", \"args\": [\"mcp\"]}}\n}\n"
        );
        round_trip(SERVER_JSON, "\t{\n\t\"tabs\": 1\n\t}\n");
        let new = SERVER_JSON.install(None).unwrap();
        assert_eq!(new.created, ["mcpServers"]);
        let empty = new.text;
        assert_eq!(
            empty,
            "{\n  \"mcpServers\": {\n    \"beads\": {\n      \"command\": \"bd\",\n      \"args\": [\n        \"mcp\"\n      ]\n    }\n  }\n}\n"
        );
        let gone = SERVER_JSON.remove(&empty, &new.created).unwrap().text;
        assert!(SERVER_JSON.leftover(&gone), "{gone:?}");
        serde_json::from_str::<Value>(&empty).unwrap();
    }

    #[test]
    fn another_beads_server_is_left_alone_and_a_users_entry_is_not_removed() {
        let classic = "{\"mcpServers\": {\"beads\": {\"command\": \"beads-mcp\"}}}";
        let e = SERVER_JSON.install(Some(classic)).unwrap_err();
        assert!(e.reason.contains("another MCP server"), "{}", e.reason);
        // The user's own entry running bd mcp, with their env: kept by both.
        let extras = r#"{"mcpServers": {"beads": {"command": "bd", "args": ["mcp"], "env": {"BD_ACTOR": "c"}}}}"#;
        assert_eq!(SERVER_JSON.install(Some(extras)).unwrap().text, extras);
        let all = ["mcpServers".to_string()];
        assert_eq!(SERVER_JSON.remove(extras, &all).unwrap().text, extras);
        // Someone else's server under the name is not ours to remove.
        assert_eq!(SERVER_JSON.remove(classic, &all).unwrap().text, classic);
        // TOML alike: another table is refused; one with the user's env stays.
        let t = "[mcp_servers.beads]\n# classic\ncommand = \"beads-mcp\"\nenv = { A = \"1\" }\n";
        assert!(Part::TomlServer.install(Some(t)).is_err());
        assert_eq!(Part::TomlServer.remove(t, &[]).unwrap().text, t);
        let t = "[mcp_servers.beads]\ncommand = \"bd\"\nargs = [\"mcp\"]\nenv = { A = \"1\" }\n";
        assert_eq!(Part::TomlServer.remove(t, &[]).unwrap().text, t);
    }

    #[test]
    fn jsonc_comments_are_kept_and_come_back_exactly() {
        // VS Code's and Gemini's settings may hold comments (review 9).
        for before in [
            "{\n  // my servers\n  \"mcpServers\": {\n    \"other\": {\"command\": \"x\"} // keep\n  },\n  /* theme */ \"theme\": \"dark\"\n}\n",
            "// top\n{\"a\": \"http://x.y/z\", \"b\": \"/* not a comment */\"}\n",
            "{\n  /* é ∞ */ \"k\": 1\n}\n",
        ] {
            let once = round_trip(SERVER_JSON, before);
            assert!(once.contains("// ") || once.contains("/*"), "{once}");
            let v: Value = serde_json::from_str(&blank_comments(&once)).unwrap();
            assert_eq!(v["mcpServers"]["beads"], our_server(false), "{once}");
        }
        assert_eq!(
            blank_comments("{\"a\": \"//x\"} // y"),
            "{\"a\": \"//x\"}     "
        );
    }

    #[test]
    fn a_container_the_user_had_stays_even_empty() {
        // Install reports none made; remove then keeps the container.
        for before in [
            "{\"mcpServers\": {}}",
            "{\n  \"mcpServers\": {},\n  \"x\": 1\n}\n",
            "{\"mcpServers\": {\"beads\": {\"command\": \"bd\", \"args\": [\"mcp\"]}}}",
        ] {
            let once = SERVER_JSON.install(Some(before)).unwrap();
            assert!(once.created.is_empty(), "{once:?}");
        }
        round_trip(SERVER_JSON, "{\"mcpServers\": {}}");
        round_trip(SERVER_JSON, "{\n  \"mcpServers\": {},\n  \"x\": 1\n}\n");
        round_trip(Part::Hooks, "{\"hooks\": {}}\n");
        round_trip(
            Part::Hooks,
            "{\n  \"hooks\": {\n    \"SessionStart\": []\n  }\n}\n",
        );
        round_trip(
            Part::Hooks,
            "{\"hooks\": {\"SessionStart\": [], \"PreCompact\": []}}",
        );
        let e = Part::Hooks
            .install(Some("{\"hooks\": {\"SessionStart\": []}}"))
            .unwrap();
        assert_eq!(e.created, ["hooks.PreCompact"]);
        // Setup's own entry, written by hand where setup would: remove takes
        // it out and leaves the containers, as it cannot tell who made them.
        let theirs = r#"{"mcpServers": {"beads": {"command": "bd", "args": ["mcp"]}}}"#;
        assert_eq!(
            SERVER_JSON.remove(theirs, &[]).unwrap().text,
            r#"{"mcpServers": {}}"#
        );
        let all = ["mcpServers".to_string()];
        let gone = SERVER_JSON.remove(theirs, &all).unwrap();
        assert_eq!((gone.text.as_str(), gone.dropped), ("{}", all.to_vec()));
        // Blank space alone in an empty container is not kept: `{}`.
        let spaced = "{\"mcpServers\": { }}";
        let once = SERVER_JSON.install(Some(spaced)).unwrap();
        let back = SERVER_JSON.remove(&once.text, &once.created).unwrap();
        assert_eq!(back.text, "{\"mcpServers\": {}}");
    }

    #[test]
    fn a_comment_in_an_empty_container_stays_where_it_is() {
        for before in [
            "{ // mine\n}\n",
            "{\n  // mine\n}\n",
            "{\n  \"mcpServers\": { /* c */ }\n}\n",
            "{\"mcpServers\": {/* c */}}",
            "{\"mcpServers\": { /* c */ }, \"x\": 1}",
            "{\n    \"mcpServers\": {\n        // none yet\n    }\n}\n",
            "{\r\n  // crlf\r\n}\r\n",
        ] {
            let once = round_trip(SERVER_JSON, before);
            for c in ["// mine", "/* c */", "// none yet", "// crlf"] {
                assert_eq!(once.contains(c), before.contains(c), "{once}");
            }
            let v: Value = serde_json::from_str(&blank_comments(&once)).unwrap();
            assert_eq!(v["mcpServers"]["beads"], our_server(false), "{once}");
        }
        assert_eq!(
            round_trip(SERVER_JSON, "{\n  // mine\n}\n"),
            "{\n  // mine\n  \"mcpServers\": {\n    \"beads\": {\n      \"command\": \"bd\",\n      \"args\": [\n        \"mcp\"\n      ]\n    }\n  }\n}\n"
        );
        // A line comment right after the brace: the entry goes on the next
        // line, not into the comment.
        assert_eq!(
            round_trip(SERVER_JSON, "{\"mcpServers\": { // mine\n}}"),
            "{\"mcpServers\": { // mine\n  \"beads\": {\"command\": \"bd\", \"args\": [\"mcp\"]}\n}}"
        );
        assert_eq!(
            round_trip(SERVER_JSON, "{\n  \"mcpServers\": { /* c */ }\n}\n"),
            "{\n  \"mcpServers\": { /* c */ \"beads\": {\"command\": \"bd\", \"args\": [\"mcp\"]} }\n}\n"
        );
        // Hooks: in `hooks` and in an event's list.
        for before in [
            "{\n  \"hooks\": {\n    // later\n  }\n}\n",
            "{\n  \"hooks\": {\n    \"SessionStart\": [ /* none */ ]\n  }\n}\n",
        ] {
            let once = round_trip(Part::Hooks, before);
            let v: Value = serde_json::from_str(&blank_comments(&once)).unwrap();
            assert_eq!(v["hooks"]["SessionStart"], json!([our_hook_group()]));
        }
        // A comment the user put beside their own entry stays with the
        // container when the entry goes.
        let commented =
            "{\"mcpServers\": { /* c */ \"beads\": {\"command\": \"bd\", \"args\": [\"mcp\"]} }}";
        let all = ["mcpServers".to_string()];
        assert_eq!(
            SERVER_JSON.remove(commented, &all).unwrap().text,
            "{\"mcpServers\": { /* c */ }}"
        );
    }

    #[test]
    fn json_that_does_not_parse_or_fit_is_refused_with_its_line() {
        let e = SERVER_JSON
            .install(Some("{\n  \"a\": 1,\n}\n"))
            .unwrap_err();
        assert_eq!(e.line, 3, "{e:?}");
        assert!(e.reason.starts_with("not valid JSON"), "{e:?}");
        let e = SERVER_JSON.install(Some("[1]")).unwrap_err();
        assert_eq!(e.reason, "the top level is not an object");
        let e = SERVER_JSON
            .install(Some("{\n\"mcpServers\": [1]}"))
            .unwrap_err();
        assert_eq!(
            (e.line, e.reason.as_str()),
            (2, "`mcpServers` is not an object")
        );
        let e = Part::Hooks
            .install(Some("{\"hooks\": {\"PreCompact\": 1}}"))
            .unwrap_err();
        assert!(e.reason.contains("hooks.PreCompact"), "{e:?}");
    }

    #[test]
    fn hooks_join_the_users_hooks_and_leave_them() {
        let before = r#"{
  "permissions": {"allow": ["Bash(ls)"]},
  "hooks": {
    "SessionStart": [
      {"matcher": "startup", "hooks": [{"type": "command", "command": "echo hi"}]}
    ],
    "Stop": []
  }
}
"#;
        let after = round_trip(Part::Hooks, before);
        let v: Value = serde_json::from_str(&after).unwrap();
        assert_eq!(v["hooks"]["SessionStart"][0]["matcher"], "startup");
        assert_eq!(v["hooks"]["SessionStart"][1], our_hook_group());
        assert_eq!(v["hooks"]["PreCompact"], json!([our_hook_group()]));
        round_trip(Part::Hooks, "{}");
        round_trip(Part::Hooks, "{\"model\": \"opus\"}\n");
        // `bd prime` the user wired themselves counts, and stays theirs.
        let own = r#"{"hooks": {"SessionStart": [{"matcher": "", "hooks": [{"type": "command", "command": "bd prime"}, {"type": "command", "command": "x"}]}]}}"#;
        assert_eq!(
            Part::Hooks.missing(Some(own)).unwrap(),
            ["hooks.PreCompact: bd prime"]
        );
        let e = Part::Hooks.install(Some(own)).unwrap();
        assert_eq!(e.added, ["hooks.PreCompact: bd prime"]);
        assert_eq!(Part::Hooks.remove(&e.text, &e.created).unwrap().text, own);
    }

    #[test]
    fn the_codex_table_keeps_comments_and_other_servers() {
        let before = "# my codex config\nmodel = \"o3\" # the best\n\n[mcp_servers.other]\ncommand = \"x\" # keep\nargs = [\"--y\"]\n\n[profiles.fast]\nmodel = \"o4-mini\"\n";
        let after = round_trip(Part::TomlServer, before);
        let v: toml::Value = toml::from_str(&after).unwrap();
        assert_eq!(v["mcp_servers"]["beads"]["command"].as_str(), Some("bd"));
        assert!(after.starts_with("# my codex config\nmodel = \"o3\" # the best\n"));
        round_trip(Part::TomlServer, "");
        round_trip(Part::TomlServer, "model = \"o3\"\n");
        round_trip(Part::TomlServer, "[mcp_servers]\n");
        // An empty `mcp_servers` the user wrote stays (setup's own is
        // implicit: it has no text, and goes with its entry).
        round_trip(
            Part::TomlServer,
            "model = \"o3\"\n\n[mcp_servers]\n# none yet\n",
        );
        round_trip(Part::TomlServer, "mcp_servers = {}\n");
        round_trip(
            Part::TomlServer,
            "mcp_servers = { other = { command = \"x\" } }\n",
        );
        let e = Part::TomlServer.install(Some("a = \n")).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.reason.starts_with("not valid TOML"), "{e:?}");
        let e = Part::TomlServer.install(Some("x = 1\nmcp_servers = 3\n"));
        assert!(e.is_err());
    }
}

//! `bd setup <recipe>` (issue 12): for each recipe, on an empty and on a
//! pre-filled configuration (JSON with unrelated keys and hooks, TOML with
//! comments and other servers, Markdown with text around), under a
//! temporary HOME and CODEX_HOME: snapshots of the files it writes, a second
//! run that changes no byte, `--check` before and after, and `--remove`
//! giving back every file byte for byte. Then the refusals: a config that
//! does not parse, a link leading out, `--global` where the agent reads no
//! home file, `--readonly`.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;

use common::{Run, TestEnvironment};
use serde_json::Value;

/// A git repository `repo/` (no `bd init`: setup needs none), HOME `home/`
/// and CODEX_HOME `codex/` beside it.
struct Env {
    env: TestEnvironment,
    codex: PathBuf,
}

impl Env {
    fn new() -> Env {
        let env = TestEnvironment::bare_git();
        // Codex wants its CODEX_HOME to exist (setup makes it when it does
        // not, and leaves it: the folder is Codex's).
        let codex = env.folder("codex");
        Env { env, codex }
    }

    fn bd(&self, args: &[&str]) -> Run {
        self.env
            .bd_env(args, &[("CODEX_HOME", self.codex.to_str().unwrap())])
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.bd(&a).ok().json()
    }

    /// Where a file of a recipe is: `~/x` in HOME, `$CODEX_HOME/x` in
    /// CODEX_HOME, else in the project.
    fn path(&self, name: &str) -> PathBuf {
        if let Some(rest) = name.strip_prefix("~/") {
            self.env.home.join(rest)
        } else if let Some(rest) = name.strip_prefix("$CODEX_HOME/") {
            self.codex.join(rest)
        } else {
            self.env.repo.join(name)
        }
    }

    fn write(&self, name: &str, text: &str) {
        let p = self.path(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Every file, folder and link in the temp folder (git's folder left
    /// out), with its bytes: what "nothing changed" compares.
    fn tree(&self) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.env.root().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                let t = e.file_type().unwrap();
                if p.file_name().is_some_and(|n| n == ".git") {
                    continue;
                }
                let what = if t.is_symlink() {
                    format!("-> {}", std::fs::read_link(&p).unwrap().display())
                } else if t.is_dir() {
                    stack.push(p.clone());
                    "/".into()
                } else {
                    std::fs::read_to_string(&p).unwrap()
                };
                out.insert(p, what);
            }
        }
        out
    }

    /// The files named, as one text for a snapshot: the instructions
    /// themselves shown as `[TEMPLATE]` (`bd setup --print` is snapshotted
    /// once on its own).
    fn show(&self, names: &[&str]) -> String {
        let template = self.json(&["setup", "--print"])["template"]
            .as_str()
            .unwrap()
            .to_string();
        names
            .iter()
            .map(|n| {
                let mut body = std::fs::read_to_string(self.path(n))
                    .map(|t| t.replace(&template, "[TEMPLATE]\n"))
                    .unwrap_or_else(|_| "(no file)\n".into());
                if !body.ends_with('\n') {
                    body.push_str("\n(no line ending at the end)\n");
                }
                format!("=== {n}\n{body}")
            })
            .collect()
    }
}

/// The files each recipe writes, project then `--global` (as `--list` says).
fn files_of(e: &Env, recipe: &str) -> (Vec<String>, Vec<String>) {
    let list = e.json(&["setup", "--list"]);
    let r = list["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == recipe)
        .unwrap_or_else(|| panic!("no recipe {recipe} in {list}"))
        .clone();
    let names = |k: &str| -> Vec<String> {
        r[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    (names("project"), names("global"))
}

const RECIPES: &[&str] = &[
    "claude", "codex", "cursor", "gemini", "copilot", "junie", "windsurf", "opencode", "factory",
    "aider", "cody", "kilocode", "mux",
];

/// Install, check, install again, remove, check: the files in between for
/// the snapshot, and the tree at the end exactly as at the start.
fn cycle(e: &Env, args: &[&str], names: &[&str], snapshot: &str) {
    let before = e.tree();
    let mut check = args.to_vec();
    check.push("--check");
    let mut remove = args.to_vec();
    remove.push("--remove");

    let c = e.bd(&check).code(1);
    assert!(c.stdout.contains("missing"), "{}", c.stdout);
    let done = e.json(args);
    assert_eq!(done["installed"], true, "{done}");
    let after = e.tree();
    assert_ne!(after, before, "`bd {args:?}` wrote nothing");
    assert_human!(e.env, snapshot, e.show(names));
    e.bd(&check).ok();
    // Again: not one byte changes, and the report says so.
    let again = e.json(args);
    assert_eq!(e.tree(), after, "a second `bd {args:?}` changed files");
    for f in again["files"].as_array().unwrap() {
        assert_eq!(f["status"], "unchanged", "{again}");
    }
    let removed = e.json(&remove);
    assert_eq!(removed["installed"], false, "{removed}");
    assert_eq!(
        e.tree(),
        before,
        "`--remove` did not give back the files as they were"
    );
    e.bd(&check).code(1);
    // Nothing left to remove.
    let none = e.json(&remove);
    for f in none["files"].as_array().unwrap() {
        assert_eq!(f["status"], "unchanged", "{none}");
    }
}

#[test]
fn every_recipe_on_an_empty_configuration() {
    for recipe in RECIPES {
        let e = Env::new();
        let (project, global) = files_of(&e, recipe);
        let names: Vec<&str> = project.iter().map(String::as_str).collect();
        cycle(
            &e,
            &["setup", recipe],
            &names,
            &format!("{recipe}_project_empty"),
        );
        if !global.is_empty() {
            let names: Vec<&str> = global.iter().map(String::as_str).collect();
            cycle(
                &e,
                &["setup", recipe, "--global"],
                &names,
                &format!("{recipe}_global_empty"),
            );
        } else {
            let r = e.bd(&["setup", recipe, "--global"]).code(1);
            assert!(r.stderr.contains("has no --global"), "{}", r.stderr);
        }
    }
}

#[test]
fn the_template_and_the_human_report() {
    let e = Env::new();
    let t = e.bd(&["setup", "--print"]).ok();
    assert_human!(e.env, "print", t.stdout);
    let l = e.bd(&["setup", "--list"]).ok();
    assert_human!(e.env, "list", l.stdout);
    let mut out = String::new();
    for args in [
        &["setup", "claude", "--check"][..],
        &["setup", "claude"],
        &["setup", "claude"],
        &["setup", "claude", "--check"],
        &["setup", "claude", "--remove"],
        &["setup", "claude", "--remove"],
    ] {
        out.push_str(&format!(
            "$ bd {}\n{}",
            args.join(" "),
            e.bd(args).transcript()
        ));
    }
    assert_human!(e.env, "claude_transcript", out);
}

// ------------------------------------------------------------ pre-filled

const CLAUDE_MD: &str = "# Project notes\n\nBuild with `cargo build`; never push to main.\n";

const MCP_JSON: &str = r#"{
    "mcpServers": {
        "github": {
            "command": "gh-mcp",
            "args": ["--stdio"],
            "env": {"TOKEN": "x"}
        }
    },
    "zeta": 1
}
"#;

const CLAUDE_SETTINGS: &str = r#"{
  "$schema": "https://json.schemastore.org/claude-code-settings.json",
  "permissions": {
    "allow": [
      "Bash(cargo test:*)"
    ]
  },
  "hooks": {
    "SessionStart": [
      {
        "matcher": "startup",
        "hooks": [
          {
            "type": "command",
            "command": "echo welcome"
          }
        ]
      }
    ],
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "notify-send done"
          }
        ]
      }
    ]
  },
  "model": "opus"
}
"#;

/// `~/.claude.json` as Claude Code writes it (no newline at the end).
const CLAUDE_JSON: &str = r#"{
  "numStartups": 42,
  "theme": "dark",
  "mcpServers": {
    "memory": {
      "type": "stdio",
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-memory"
      ],
      "env": {}
    }
  },
  "projects": {
    "/somewhere": {
      "allowedTools": [],
      "mcpServers": {}
    }
  },
  "userID": "caf\u00e9"
}"#;

const CODEX_TOML: &str = r#"# Codex settings, by hand
model = "o3"  # the best one
approval_policy = "on-request"

[mcp_servers.docs]
# read-only docs server
command = "docs-mcp"
args = ["--port", "0"]

[mcp_servers.docs.env]
LEVEL = "debug"

[profiles.fast]
model = "o4-mini"
"#;

const AGENTS_MD: &str = "# Agents\n\nRun `make check` before you commit.\n\n## Style\n\nNo tabs.";

const GEMINI_SETTINGS: &str = "{\n  \"theme\": \"GitHub\",\n  \"mcpServers\": {\n    \"other\": {\"command\": \"other-mcp\"}\n  },\n  \"contextFileName\": \"GEMINI.md\"\n}\n";

const CURSOR_MCP: &str = "{\"mcpServers\":{\"linear\":{\"url\":\"https://mcp.linear.app/sse\"}}}";

#[test]
fn claude_on_a_filled_configuration() {
    let e = Env::new();
    e.write("CLAUDE.md", CLAUDE_MD);
    e.write(".mcp.json", MCP_JSON);
    e.write(".claude/settings.json", CLAUDE_SETTINGS);
    e.write("~/.claude.json", CLAUDE_JSON);
    e.write("~/.claude/settings.json", CLAUDE_SETTINGS);
    e.write("~/.claude/CLAUDE.md", CLAUDE_MD);
    let project = ["CLAUDE.md", ".mcp.json", ".claude/settings.json"];
    cycle(&e, &["setup", "claude"], &project, "claude_project_filled");
    let global = [
        "~/.claude/CLAUDE.md",
        "~/.claude.json",
        "~/.claude/settings.json",
    ];
    cycle(
        &e,
        &["setup", "claude", "--global"],
        &global,
        "claude_global_filled",
    );
    let both: Vec<&str> = project.iter().chain(&global).copied().collect();
    cycle(
        &e,
        &["setup", "claude", "--global", "--project"],
        &both,
        "claude_both_filled",
    );
}

#[test]
fn codex_on_a_filled_configuration() {
    let e = Env::new();
    e.write("AGENTS.md", AGENTS_MD);
    e.write("$CODEX_HOME/config.toml", CODEX_TOML);
    e.write("$CODEX_HOME/AGENTS.md", AGENTS_MD);
    cycle(
        &e,
        &["setup", "codex"],
        &["AGENTS.md", "$CODEX_HOME/config.toml"],
        "codex_project_filled",
    );
    cycle(
        &e,
        &["setup", "codex", "--global"],
        &["$CODEX_HOME/AGENTS.md", "$CODEX_HOME/config.toml"],
        "codex_global_filled",
    );
}

#[test]
fn codex_without_codex_home_uses_dot_codex_in_home() {
    let e = Env::new();
    let r = e.env.bd(&["--json", "setup", "codex", "--global"]).ok();
    let doc = r.json();
    let paths: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    let home = std::fs::canonicalize(&e.env.home).unwrap();
    assert_eq!(
        paths,
        [
            home.join(".codex/AGENTS.md").to_str().unwrap(),
            home.join(".codex/config.toml").to_str().unwrap()
        ]
    );
    e.env.bd(&["setup", "codex", "--global", "--remove"]).ok();
    assert!(
        !e.env.home.join(".codex").exists(),
        "the folder it made goes"
    );
}

#[test]
fn cursor_and_gemini_on_a_filled_configuration() {
    let e = Env::new();
    e.write(".cursor/mcp.json", CURSOR_MCP);
    e.write(
        ".cursor/rules/style.mdc",
        "---\nalwaysApply: true\n---\nTabs.\n",
    );
    e.write("GEMINI.md", AGENTS_MD);
    e.write(".gemini/settings.json", GEMINI_SETTINGS);
    e.write("~/.gemini/settings.json", GEMINI_SETTINGS);
    cycle(
        &e,
        &["setup", "cursor"],
        &[".cursor/rules/beads.mdc", ".cursor/mcp.json"],
        "cursor_project_filled",
    );
    cycle(
        &e,
        &["setup", "gemini"],
        &["GEMINI.md", ".gemini/settings.json"],
        "gemini_project_filled",
    );
    cycle(
        &e,
        &["setup", "gemini", "--global"],
        &["~/.gemini/GEMINI.md", "~/.gemini/settings.json"],
        "gemini_global_filled",
    );
}

#[test]
fn an_old_block_is_replaced_and_another_beads_server_is_left_alone() {
    let e = Env::new();
    e.write(
        "CLAUDE.md",
        "top\n<!-- bd setup: begin -->\nold words\n<!-- bd setup: end -->\nbottom\n",
    );
    // Classic's Python server under the same name, with the user's env:
    // setup refuses to take its place (review 9: it lost the env, and
    // --remove then deleted the entry), and writes nothing anywhere.
    let classic = "{\n  \"mcpServers\": {\n    \"beads\": {\n      \"command\": \"beads-mcp\",\n      \"env\": {\"BEADS_DB\": \"x\"}\n    }\n  }\n}\n";
    e.write(".mcp.json", classic);
    let c = e.bd(&["setup", "claude", "--check"]).code(1);
    assert!(
        c.stdout.contains("instructions block (out of date)"),
        "{}",
        c.stdout
    );
    let md_before = std::fs::read_to_string(e.path("CLAUDE.md")).unwrap();
    let r = e.bd(&["setup", "claude"]).code(1);
    assert!(r.stderr.contains("another MCP server"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(e.path(".mcp.json")).unwrap(),
        classic
    );
    assert_eq!(
        std::fs::read_to_string(e.path("CLAUDE.md")).unwrap(),
        md_before
    );
    // Once the user takes it out, setup replaces the old block in place.
    std::fs::remove_file(e.path(".mcp.json")).unwrap();
    let doc = e.json(&["setup", "claude"]);
    assert_eq!(
        doc["files"][0]["replaced"][0], "instructions block",
        "{doc}"
    );
    let md = std::fs::read_to_string(e.path("CLAUDE.md")).unwrap();
    assert!(
        md.starts_with("top\n<!-- bd setup: begin -->\n## Issue tracking"),
        "{md}"
    );
    assert!(md.ends_with("<!-- bd setup: end -->\nbottom\n"), "{md}");
    e.bd(&["setup", "claude", "--check"]).ok();
    // --remove leaves another server under the name as it is.
    e.write(".mcp.json", classic);
    e.bd(&["setup", "claude", "--remove"]).ok();
    assert_eq!(
        std::fs::read_to_string(e.path(".mcp.json")).unwrap(),
        classic
    );
}

/// Review 9: `-o` writes a regular file only, never into `.beads/`.
#[test]
fn output_is_a_regular_file_outside_the_tracker() {
    let e = Env::new();
    e.bd(&["setup", "-o", "/dev/null"]).code(1);
    assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
    std::fs::create_dir_all(e.path(".beads")).unwrap();
    e.bd(&["setup", "-o", ".beads/issues.jsonl"]).code(1);
    assert!(!e.path(".beads/issues.jsonl").exists());
    e.bd(&["setup", "-o", "rules.md"]).ok();
    assert!(
        std::fs::read_to_string(e.path("rules.md"))
            .unwrap()
            .contains("bd")
    );
}

// ------------------------------------------------------------ refusals

/// A refusal: exit 1, one line on stderr naming the file (and the line),
/// nothing written anywhere; with --json the error document.
#[track_caller]
fn refused(e: &Env, args: &[&str], names: &str, code: &str) -> String {
    let before = e.tree();
    let r = e.bd(args).code(1);
    let first = r.stderr.lines().next().unwrap_or("").to_string();
    assert!(
        first.starts_with("Error: ") && first.contains(names),
        "{}",
        r.stderr
    );
    assert_eq!(e.tree(), before, "`bd {args:?}` wrote something");
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let doc = e.bd(&a).code(1).json();
    assert_eq!(doc["code"], code, "{doc}");
    assert_eq!(e.tree(), before);
    first
}

#[test]
fn a_config_that_does_not_parse_is_refused_and_nothing_is_written() {
    let e = Env::new();
    e.write(".claude/settings.json", "{\n  \"model\": \"opus\",\n}\n");
    let line = refused(
        &e,
        &["setup", "claude"],
        ".claude/settings.json:3:",
        "parse",
    );
    assert!(line.contains("not valid JSON"), "{line}");
    refused(
        &e,
        &["setup", "claude", "--remove"],
        ".claude/settings.json:3:",
        "parse",
    );
    refused(
        &e,
        &["setup", "claude", "--check"],
        ".claude/settings.json:3:",
        "parse",
    );

    let e = Env::new();
    e.write(
        "$CODEX_HOME/config.toml",
        "model = \"o3\"\n[mcp_servers.x\n",
    );
    let line = refused(&e, &["setup", "codex"], "config.toml:2:", "parse");
    assert!(line.contains("not valid TOML"), "{line}");

    // A config of the wrong shape is refused the same way.
    let e = Env::new();
    e.write(".gemini/settings.json", "{\n  \"mcpServers\": [\"x\"]\n}\n");
    refused(
        &e,
        &["setup", "gemini"],
        "settings.json:2: `mcpServers` is not an object",
        "parse",
    );
    e.write(".gemini/settings.json", "[]\n");
    refused(
        &e,
        &["setup", "gemini"],
        "settings.json:1: the top level is not an object",
        "parse",
    );

    // Broken managed-block markers.
    let e = Env::new();
    e.write("AGENTS.md", "a\n<!-- bd setup: begin -->\nb\n");
    refused(&e, &["setup", "opencode"], "AGENTS.md:2:", "parse");
}

#[test]
fn a_link_leading_out_is_refused_and_one_staying_inside_is_followed() {
    let e = Env::new();
    let outside = e.env.folder("outside");
    std::fs::write(outside.join("mcp.json"), "{}\n").unwrap();
    symlink(outside.join("mcp.json"), e.path(".mcp.json")).unwrap();
    refused(
        &e,
        &["setup", "claude"],
        ".mcp.json is a symbolic link leading out",
        "invalid",
    );
    std::fs::remove_file(e.path(".mcp.json")).unwrap();
    // A folder on the way, and a link to nothing.
    symlink(&outside, e.path(".claude")).unwrap();
    refused(
        &e,
        &["setup", "claude"],
        ".claude is a symbolic link",
        "invalid",
    );
    std::fs::remove_file(e.path(".claude")).unwrap();
    symlink(e.path("nowhere.md"), e.path("CLAUDE.md")).unwrap();
    refused(
        &e,
        &["setup", "claude"],
        "CLAUDE.md is a symbolic link",
        "invalid",
    );
    std::fs::remove_file(e.path("CLAUDE.md")).unwrap();
    // In the home folder too.
    symlink(outside.join("mcp.json"), e.path("~/.claude.json")).unwrap();
    refused(
        &e,
        &["setup", "claude", "--global"],
        ".claude.json is a symbolic link",
        "invalid",
    );
    assert_eq!(
        std::fs::read_to_string(outside.join("mcp.json")).unwrap(),
        "{}\n"
    );

    // CLAUDE.md as a link to AGENTS.md: the block goes in AGENTS.md, the
    // link stays a link.
    let e = Env::new();
    e.write("AGENTS.md", AGENTS_MD);
    symlink("AGENTS.md", e.path("CLAUDE.md")).unwrap();
    let doc = e.json(&["setup", "claude"]);
    let real = std::fs::canonicalize(e.path("AGENTS.md")).unwrap();
    assert_eq!(doc["files"][0]["path"], real.to_str().unwrap(), "{doc}");
    assert!(
        std::fs::symlink_metadata(e.path("CLAUDE.md"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(e.path("AGENTS.md"))
            .unwrap()
            .contains("<!-- bd setup: begin -->")
    );
    e.json(&["setup", "claude", "--remove"]);
    assert_eq!(
        std::fs::read_to_string(e.path("AGENTS.md")).unwrap(),
        AGENTS_MD
    );
}

#[test]
fn permissions_of_a_file_are_kept() {
    let e = Env::new();
    e.write("~/.claude.json", CLAUDE_JSON);
    let p = e.path("~/.claude.json");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    e.json(&["setup", "claude", "--global"]);
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    e.json(&["setup", "claude", "--global", "--remove"]);
    assert_eq!(std::fs::read_to_string(&p).unwrap(), CLAUDE_JSON);
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn output_path_gets_the_block() {
    let e = Env::new();
    e.write("docs/agents.md", "# For agents\n");
    cycle(
        &e,
        &["setup", "-o", "docs/agents.md"],
        &["docs/agents.md"],
        "output_filled",
    );
    let doc = e.json(&["setup", "-o", "new.md"]);
    assert_eq!(doc["recipe"], Value::Null);
    assert_eq!(doc["files"][0]["status"], "created");
    e.json(&["setup", "-o", "new.md", "--remove"]);
    assert!(!e.path("new.md").exists());
}

#[test]
fn usage_unknown_recipes_and_readonly() {
    let e = Env::new();
    e.bd(&["setup"]).code(2);
    e.bd(&["setup", "claude", "--check", "--remove"]).code(2);
    e.bd(&["setup", "--list", "claude"]).code(2);
    let r = e.bd(&["setup", "vim"]).code(1);
    assert!(r.stderr.contains("no recipe 'vim'"), "{}", r.stderr);
    assert!(
        r.stderr.contains("claude, codex, cursor, gemini"),
        "{}",
        r.stderr
    );
    let before = e.tree();
    let r = e.bd(&["--readonly", "setup", "claude"]).code(1);
    assert!(r.stderr.contains("--readonly"), "{}", r.stderr);
    e.bd(&["--readonly", "setup", "claude", "--remove"]).code(1);
    // --check reads only: it runs, and says what is missing (exit 1).
    let r = e.bd(&["--readonly", "setup", "claude", "--check"]).code(1);
    assert!(r.stdout.contains("is not set up"), "{}", r.stdout);
    e.bd(&["--readonly", "setup", "--list"]).ok();
    e.bd(&["--readonly", "setup", "--print"]).ok();
    assert_eq!(e.tree(), before);
    // Outside any git repository, the folder it runs in is the project.
    let plain = e.env.folder("plain");
    let r = e
        .env
        .bd_env(&["-C", plain.to_str().unwrap(), "setup", "gemini"], &[]);
    r.ok();
    assert!(plain.join("GEMINI.md").exists());
    // From a subfolder of the repository, the files go to its root.
    std::fs::create_dir_all(e.path("src/deep")).unwrap();
    let deep = e.path("src/deep");
    e.bd(&["-C", deep.to_str().unwrap(), "setup", "windsurf"])
        .ok();
    assert!(e.path(".windsurf/rules/beads.md").exists());
}

/// Review 9: JSON with comments (VS Code's `.vscode/mcp.json`, Gemini's
/// settings) is edited, its comments kept, and `--remove` gives it back
/// byte for byte.
#[test]
fn jsonc_configs_keep_their_comments() {
    let e = Env::new();
    let before = "{\n  // servers for this repo\n  \"servers\": {\n    \"other\": {\"type\": \"stdio\", \"command\": \"x\"} /* keep */\n  }\n}\n";
    e.write(".vscode/mcp.json", before);
    e.bd(&["setup", "copilot"]).ok();
    let after = std::fs::read_to_string(e.path(".vscode/mcp.json")).unwrap();
    assert!(
        after.contains("// servers for this repo") && after.contains("/* keep */"),
        "{after}"
    );
    assert!(after.contains("\"beads\""), "{after}");
    e.bd(&["setup", "copilot", "--check"]).ok();
    e.bd(&["setup", "copilot", "--remove"]).ok();
    assert_eq!(
        std::fs::read_to_string(e.path(".vscode/mcp.json")).unwrap(),
        before
    );
}

/// Review 9: `--remove` deletes only the files and folders setup created
/// (it keeps a machine-local record of them): an empty CLAUDE.md and an
/// empty `.claude/` the user had stay.
#[test]
fn remove_keeps_the_users_empty_files_and_folders() {
    let e = Env::new();
    e.write("CLAUDE.md", "");
    std::fs::create_dir_all(e.path(".claude")).unwrap();
    e.bd(&["setup", "claude"]).ok();
    e.bd(&["setup", "claude", "--remove"]).ok();
    assert_eq!(std::fs::read_to_string(e.path("CLAUDE.md")).unwrap(), "");
    assert!(e.path(".claude").is_dir(), "the user's folder stays");
    assert!(
        !e.path(".claude/settings.json").exists(),
        "setup's file goes"
    );
    assert!(!e.path(".mcp.json").exists(), "setup's file goes");
}

/// Issue 12: a container the user had, even empty (`"mcpServers": {}`, an
/// event's `[]`, `"hooks": {}`, Codex's `[mcp_servers]`), and a comment in
/// an otherwise empty object stay through setup and `--remove`: the files
/// come back byte for byte. (The containers setup makes itself go with its
/// entries: the filled configurations above.)
#[test]
fn remove_keeps_the_users_empty_containers_and_their_comments() {
    let e = Env::new();
    e.write(".mcp.json", "{\n  \"mcpServers\": {}\n}\n");
    e.write(
        ".claude/settings.json",
        "{\n  \"hooks\": {\n    \"SessionStart\": []\n  }\n}\n",
    );
    e.write("~/.claude.json", "{\"mcpServers\":{},\"hooks\":{}}");
    e.write("~/.claude/settings.json", "{\"hooks\": {}}\n");
    cycle(
        &e,
        &["setup", "claude", "--project", "--global"],
        &[
            ".mcp.json",
            ".claude/settings.json",
            "~/.claude.json",
            "~/.claude/settings.json",
        ],
        "claude_empty_containers",
    );
    e.write(".gemini/settings.json", "{\n  // mine\n}\n");
    e.write(
        "~/.gemini/settings.json",
        "{\n  \"theme\": \"dark\",\n  \"mcpServers\": { /* c */ }\n}\n",
    );
    e.write(
        ".vscode/mcp.json",
        "{ // servers\n  \"servers\": {\n    // none yet\n  }\n}\n",
    );
    cycle(
        &e,
        &["setup", "gemini", "--project", "--global"],
        &[".gemini/settings.json", "~/.gemini/settings.json"],
        "gemini_comments_in_empty_objects",
    );
    cycle(
        &e,
        &["setup", "copilot"],
        &[".vscode/mcp.json"],
        "copilot_comment_in_empty_servers",
    );
    e.write(
        "$CODEX_HOME/config.toml",
        "model = \"o3\"\n\n[mcp_servers]\n# none yet\n",
    );
    cycle(
        &e,
        &["setup", "codex", "--global"],
        &["$CODEX_HOME/config.toml"],
        "codex_empty_mcp_servers",
    );
}

/// Without setup's record (lost, or not readable), `--remove` cannot tell
/// which containers setup made: it takes out its entries and keeps every
/// container and file, and does not fail. A record of the first format (a
/// list of files and folders) still says which files go.
#[test]
fn remove_without_a_record_keeps_containers() {
    let e = Env::new();
    let record = e.env.home.join("setup-created.json");
    e.write(".claude/settings.json", "{\"model\": \"opus\"}\n");
    e.bd(&["setup", "claude"]).ok();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    // The first format: the files and folders only.
    std::fs::write(&record, doc["files"].to_string()).unwrap();
    e.bd(&["setup", "claude", "--remove"]).ok();
    assert!(
        !e.path("CLAUDE.md").exists(),
        "the record says it is setup's"
    );
    // Setup's file, but the record does not say `mcpServers` is setup's.
    assert_eq!(
        std::fs::read_to_string(e.path(".mcp.json")).unwrap(),
        "{\n  \"mcpServers\": {}\n}\n"
    );
    let settings = std::fs::read_to_string(e.path(".claude/settings.json")).unwrap();
    let v: Value = serde_json::from_str(&settings).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"model": "opus", "hooks": {"SessionStart": [], "PreCompact": []}}),
        "{settings}"
    );
    e.bd(&["setup", "claude", "--check"]).code(1);

    // A record that does not parse: the same, and it is replaced.
    let e = Env::new();
    let record = e.env.home.join("setup-created.json");
    e.write(".mcp.json", "{\"x\": 1}");
    e.bd(&["setup", "claude"]).ok();
    std::fs::write(&record, "{not json").unwrap();
    let r = e.json(&["setup", "claude", "--remove"]);
    assert_eq!(r["installed"], false, "{r}");
    assert_eq!(
        std::fs::read_to_string(e.path(".mcp.json")).unwrap(),
        "{\"x\": 1, \"mcpServers\": {}}"
    );
    assert_eq!(std::fs::read_to_string(e.path("CLAUDE.md")).unwrap(), "");
    // Set up again and removed: with a record, every byte comes back.
    std::fs::write(e.path(".mcp.json"), "{\"x\": 1}").unwrap();
    e.bd(&["setup", "claude"]).ok();
    e.bd(&["setup", "claude", "--remove"]).ok();
    assert_eq!(
        std::fs::read_to_string(e.path(".mcp.json")).unwrap(),
        "{\"x\": 1}"
    );
}

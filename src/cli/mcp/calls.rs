//! What a tool call does, without the protocol: the verb run in-process
//! through the command line's dispatcher, its `--json` document as the
//! result's structured content (an array wrapped as `{"items": …}`, as MCP
//! wants an object), its notices and text as the short text. A refusal of
//! the verb (a claim held by another, an ID that does not exist) is a
//! failed result carrying `--json`'s `{error, code, hint}`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use super::tools::{self, TOOLS, Tool};
use crate::cli::render;

/// What the server was started with.
#[derive(Debug)]
pub struct Server {
    /// The workspace (`-C`, or the current folder).
    pub start: PathBuf,
    /// `--actor` of `bd mcp` (else `BD_ACTOR`, as the command line reads it).
    pub actor: Option<String>,
    /// Global flags every call runs with (`--readonly`, `--sandbox`).
    pub global: Vec<String>,
    /// `--tools all`: every tool listed.
    pub all: bool,
    /// The tools `discover` loaded besides the core ones.
    loaded: Mutex<BTreeSet<&'static str>>,
    /// One call at a time: pipelined calls queue here rather than race
    /// for the workspace lock (review 9: many at once timed out `locked`).
    turn: Mutex<()>,
}

/// A call's result: done, or refused by the verb; both with the data and
/// a short text.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Done { data: Value, text: String },
    Failed { data: Value, text: String },
}

/// A call the server does not take (an MCP invalid-params error): an
/// unknown tool, or arguments that do not fit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// The tool that loads more tools.
pub const DISCOVER: &str = "discover";

impl Server {
    pub fn new(start: PathBuf, actor: Option<String>, global: Vec<String>, all: bool) -> Server {
        Server {
            start,
            actor,
            global,
            all,
            loaded: Mutex::new(BTreeSet::new()),
            turn: Mutex::new(()),
        }
    }

    /// The tools `tools/list` shows: the core ones (all with `--tools
    /// all`), those `discover` loaded; `discover` itself when some are not
    /// shown.
    pub fn listed(&self) -> Vec<&'static Tool> {
        let loaded = self.loaded.lock().map(|l| l.clone()).unwrap_or_default();
        TOOLS
            .iter()
            .filter(|t| self.all || t.core || loaded.contains(t.name))
            .collect()
    }

    /// Whether some tools are not listed yet (`discover` is offered then).
    pub fn more_to_discover(&self) -> bool {
        self.listed().len() < TOOLS.len()
    }

    /// `discover`: without names, the tools not listed yet (name and what
    /// it does); with names, those are listed from now on. Whether the list
    /// changed.
    pub fn discover(&self, args: &Map<String, Value>) -> Result<(Reply, bool), Refused> {
        if let Some(k) = args.keys().find(|k| *k != "names") {
            return Err(Refused(format!("discover: unknown argument '{k}'")));
        }
        let names: Vec<String> = match args.get("names") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        Refused("discover: 'names' must be a list of strings".into())
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(Refused(
                    "discover: 'names' must be a list of strings".into(),
                ));
            }
        };
        let mut changed = false;
        if !names.is_empty() {
            let mut loaded = self.loaded.lock().map_err(|_| Refused("poisoned".into()))?;
            for n in &names {
                let t = tools::find(n)
                    .ok_or_else(|| Refused(format!("discover: no tool named '{n}'")))?;
                changed |= !t.core && loaded.insert(t.name);
            }
        }
        let listed: BTreeSet<&str> = self.listed().iter().map(|t| t.name).collect();
        let more: Vec<Value> = TOOLS
            .iter()
            .filter(|t| !listed.contains(t.name))
            .map(|t| json!({"name": t.name, "description": t.doc}))
            .collect();
        let text = if names.is_empty() {
            format!(
                "{} more tools; call discover with their names to load them",
                more.len()
            )
        } else {
            format!("loaded {}", names.join(", "))
        };
        Ok((
            Reply::Done {
                data: json!({"loaded": names, "more": more}),
                text,
            },
            changed,
        ))
    }

    /// Run tool `name` with `args`.
    pub fn call(&self, name: &str, args: &Map<String, Value>) -> Result<Reply, Refused> {
        let tool = tools::find(name).ok_or_else(|| Refused(format!("no tool named '{name}'")))?;
        let verb = tools::argv(tool, args).map_err(|e| Refused(e.0))?;
        if let Some(files) = args.get("attach") {
            self.attachments_inside(files)?;
        }
        Ok(self.run(&verb))
    }

    /// Files an agent attaches through MCP come from its workspace only
    /// (review 9: a server outside the agent's sandbox copied any file,
    /// `/etc/shadow`, into the tracker, where it is committed).
    fn attachments_inside(&self, files: &Value) -> Result<(), Refused> {
        let root = crate::ops::compose::workspace_root(&self.start)
            .map_err(|e| Refused(format!("attach: {e}")))?;
        let paths: Vec<&str> = match files {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        for p in paths {
            let full = std::path::Path::new(p);
            let full = if full.is_absolute() {
                full.to_path_buf()
            } else {
                self.start.join(full)
            };
            let real = full
                .canonicalize()
                .map_err(|e| Refused(format!("attach: {p}: {e}")))?;
            if !real.starts_with(&root) || real.starts_with(root.join(".beads")) {
                return Err(Refused(format!(
                    "attach: {p} is not a file of this workspace ({}); over MCP only the workspace's files can be attached",
                    root.display()
                )));
            }
        }
        Ok(())
    }

    /// A verb's words run in-process, in the server's workspace.
    pub fn run(&self, verb: &[String]) -> Reply {
        let _turn = self.turn.lock().unwrap_or_else(|p| p.into_inner());
        let mut argv: Vec<String> = vec![
            "bd".into(),
            "--json".into(),
            "-C".into(),
            self.start.display().to_string(),
        ];
        argv.extend(self.global.iter().cloned());
        // Only the words before `--` are flags (review 9: a title
        // `--actor=x` hid the server's actor).
        let has_actor = verb
            .iter()
            .take_while(|a| *a != "--")
            .any(|a| a.starts_with("--actor="));
        if let (Some(a), false) = (&self.actor, has_actor) {
            argv.push(format!("--actor={a}"));
        }
        argv.extend(verb.iter().cloned());
        let (result, notices) = crate::cli::execute(&argv);
        let said: Vec<String> = notices.iter().map(render::notice).collect();
        match result {
            Ok(o) => {
                let doc: Value = serde_json::from_str(&o.json).unwrap_or(Value::Null);
                let data = match doc {
                    Value::Object(_) => doc,
                    other => json!({"items": other}),
                };
                let mut text = said.join("\n");
                if !o.text.is_empty() {
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(o.text.trim_end());
                }
                if text.is_empty() {
                    text = summary(&data);
                }
                if o.code == 0 {
                    Reply::Done { data, text }
                } else {
                    Reply::Failed { data, text }
                }
            }
            Err(e) => {
                let msg = render::error_message(&e);
                let data = json!({"error": msg, "code": e.code(), "hint": e.hint()});
                let mut text = format!("Error: {msg}");
                if let Some(h) = e.hint() {
                    text.push_str(&format!("\nHint: {h}"));
                }
                Reply::Failed { data, text }
            }
        }
    }
}

/// A short text for a result that printed none (a listing): how many, and
/// the first few by ID and title.
fn summary(data: &Value) -> String {
    let line = |i: &Value| -> Option<String> {
        let id = i["id"].as_str()?;
        let title = i["title"].as_str().unwrap_or("");
        Some(format!(
            "{id} [{}] {}",
            i["status"].as_str().unwrap_or(""),
            render::one_line(title)
        ))
    };
    match &data["items"] {
        Value::Array(items) => {
            let mut t = format!("{} item(s)", items.len());
            for i in items.iter().take(10).filter_map(line) {
                t.push('\n');
                t.push_str(&i);
            }
            if items.len() > 10 {
                t.push_str("\n…");
            }
            t
        }
        _ => line(data).unwrap_or_else(|| "done".into()),
    }
}

//! The MCP tools: each is one `bd` verb, its arguments named and typed.
//! A call becomes that verb's command line (flags as `--flag=value`, then
//! `--`, then the positional values, so no value can pass for a flag) and
//! runs through the same dispatcher as the command line. Pure: the catalogue,
//! the input schemas and the mapping from a call's arguments to argv.

use serde_json::{Map, Value, json};

/// How an argument reaches the verb's command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A positional value (a string).
    Pos,
    /// Positional values (an array of strings).
    PosList,
    /// `--flag=value` (a string).
    Flag(&'static str),
    /// `--flag=N` (an integer).
    Int(&'static str),
    /// `--flag` when true.
    Bool(&'static str),
    /// `--flag=v` for each (an array of strings).
    List(&'static str),
}

/// One argument of a tool.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// Short: `tools/list` stays small.
    pub doc: &'static str,
}

/// One tool: a verb (its words), its arguments, whether it is in the core
/// set (the agent loop), and what it does.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub name: &'static str,
    pub verb: &'static [&'static str],
    pub doc: &'static str,
    pub params: &'static [Param],
    pub core: bool,
}

const fn p(name: &'static str, kind: Kind, doc: &'static str) -> Param {
    Param {
        name,
        kind,
        required: false,
        doc,
    }
}

const fn req(name: &'static str, kind: Kind, doc: &'static str) -> Param {
    Param {
        name,
        kind,
        required: true,
        doc,
    }
}

use Kind::*;

const ID: Param = req("id", Pos, "issue ID");
const MACHINE: Param = p(
    "machine",
    Bool("machine"),
    "this machine's settings (projects.<name>.remote), never committed",
);
const IDS: Param = req("ids", PosList, "issue IDs");
const FILTERS: [Param; 6] = [
    p("status", List("status"), ""),
    p("priority", List("priority"), "0-4"),
    p("type", List("type"), ""),
    p("label", List("label"), "all of"),
    p("assignee", Flag("assignee"), ""),
    p("limit", Int("limit"), "0: all"),
];

/// Every tool, core ones first.
pub const TOOLS: &[Tool] = &[
    Tool {
        name: "prime",
        verb: &["prime"],
        doc: "Start of session: your hook, claims, unread mail, ready work",
        params: &[],
        core: true,
    },
    Tool {
        name: "ready",
        verb: &["ready"],
        doc: "Work ready to start, best first",
        params: &[
            FILTERS[1],
            FILTERS[2],
            FILTERS[3],
            FILTERS[4],
            FILTERS[5],
            p("parent", Flag("parent"), "under this issue"),
            p("fresh", Bool("fresh"), "fetch the remote's claims first"),
        ],
        core: true,
    },
    Tool {
        name: "show",
        verb: &["show"],
        doc: "Issues in detail",
        params: &[IDS],
        core: true,
    },
    Tool {
        name: "list",
        verb: &["list"],
        doc: "List issues (open unless status/all)",
        params: &[
            FILTERS[0],
            FILTERS[1],
            FILTERS[2],
            FILTERS[3],
            FILTERS[4],
            FILTERS[5],
            p("parent", Flag("parent"), ""),
            p("all", Bool("all"), "closed too"),
        ],
        core: true,
    },
    Tool {
        name: "search",
        verb: &["search"],
        doc: "Find issues by text",
        params: &[req("query", Pos, ""), p("all", Bool("all"), "closed too")],
        core: true,
    },
    Tool {
        name: "create",
        verb: &["create"],
        doc: "Create an issue",
        params: &[
            req("title", Pos, ""),
            p("description", Flag("description"), ""),
            p("type", Flag("type"), "task|bug|feature|epic|chore"),
            p("priority", Flag("priority"), "0-4"),
            p("parent", Flag("parent"), ""),
            p("deps", List("deps"), "type:id or id"),
            p("labels", List("label"), ""),
            p("assignee", Flag("assignee"), ""),
        ],
        core: true,
    },
    Tool {
        name: "update",
        verb: &["update"],
        doc: "Change fields of issues",
        params: &[
            IDS,
            p("title", Flag("title"), ""),
            p("description", Flag("description"), ""),
            p("notes", Flag("notes"), ""),
            p("status", Flag("status"), ""),
            p("priority", Flag("priority"), ""),
            p("assignee", Flag("assignee"), ""),
            p("add_labels", List("add-label"), ""),
        ],
        core: true,
    },
    Tool {
        name: "claim",
        verb: &["claim"],
        doc: "Claim issues (fails naming the holder)",
        params: &[IDS],
        core: true,
    },
    Tool {
        name: "unclaim",
        verb: &["unclaim"],
        doc: "Give back claimed issues",
        params: &[IDS],
        core: true,
    },
    Tool {
        name: "close",
        verb: &["close"],
        doc: "Close issues",
        params: &[IDS, p("reason", Flag("reason"), "")],
        core: true,
    },
    Tool {
        name: "reopen",
        verb: &["reopen"],
        doc: "Reopen closed issues",
        params: &[IDS, p("reason", Flag("reason"), "")],
        core: true,
    },
    Tool {
        name: "comment",
        verb: &["comment"],
        doc: "Comment on an issue",
        params: &[ID, req("text", Pos, "")],
        core: true,
    },
    Tool {
        name: "dep_add",
        verb: &["dep", "add"],
        doc: "issue depends on depends_on",
        params: &[
            req("issue", Pos, ""),
            req("depends_on", Pos, ""),
            p("type", Flag("type"), "default blocks"),
        ],
        core: true,
    },
    Tool {
        name: "dep_remove",
        verb: &["dep", "remove"],
        doc: "Remove a dependency",
        params: &[req("issue", Pos, ""), req("depends_on", Pos, "")],
        core: true,
    },
    Tool {
        name: "heartbeat",
        verb: &["heartbeat"],
        doc: "Say you are alive (keeps your claims)",
        params: &[p("note", Flag("note"), "")],
        core: true,
    },
    Tool {
        name: "mail_send",
        verb: &["mail", "send"],
        doc: "Send mail (to: name, name@project, @all)",
        params: &[
            req("to", List("to"), ""),
            req("subject", Flag("subject"), ""),
            p("body", Flag("body"), ""),
            p("issue", Flag("issue"), "about this issue"),
            p("attach", List("attach"), "file paths"),
        ],
        core: true,
    },
    Tool {
        name: "mail_inbox",
        verb: &["mail", "inbox"],
        doc: "Your mail, unread first",
        params: &[
            p("all", Bool("all"), "read too"),
            p("fetch", Bool("fetch"), "fetch from the remote first"),
        ],
        core: true,
    },
    Tool {
        name: "mail_read",
        verb: &["mail", "read"],
        doc: "Read a message",
        params: &[ID],
        core: true,
    },
    // The rest: `tools: all`, or loaded through `discover`.
    Tool {
        name: "mail_reply",
        verb: &["mail", "reply"],
        doc: "Reply to a message (same thread)",
        params: &[ID, p("body", Flag("body"), ""), p("all", Bool("all"), "")],
        core: false,
    },
    Tool {
        name: "mail_ack",
        verb: &["mail", "ack"],
        doc: "Acknowledge a message",
        params: &[ID],
        core: false,
    },
    Tool {
        name: "mail_thread",
        verb: &["mail", "thread"],
        doc: "Every message of a thread, oldest first",
        params: &[ID],
        core: false,
    },
    Tool {
        name: "handoff",
        verb: &["mail", "send"],
        doc: "Hand an issue to another project: to is @<project> or name@<project>; it becomes a work item there, with the attachments (a repro)",
        params: &[
            req("to", List("to"), "@<project> or name@<project>"),
            req("subject", Flag("subject"), ""),
            req("issue", Flag("issue"), "the issue handed off"),
            p("body", Flag("body"), ""),
            p("attach", List("attach"), "file paths"),
            p("type", Flag("type"), "work item type there (default bug)"),
        ],
        core: false,
    },
    Tool {
        name: "hook",
        verb: &["hook"],
        doc: "The work on an agent's hook (default: yours)",
        params: &[p("agent", Pos, "")],
        core: false,
    },
    Tool {
        name: "sling",
        verb: &["sling"],
        doc: "Put an issue on an agent's hook",
        params: &[ID, req("agent", Pos, ""), p("note", Flag("note"), "")],
        core: false,
    },
    Tool {
        name: "unhook",
        verb: &["unhook"],
        doc: "Take an issue (or everything) off a hook",
        params: &[p("id", Pos, ""), p("agent", Flag("agent"), "whose hook")],
        core: false,
    },
    Tool {
        name: "agents",
        verb: &["agents"],
        doc: "Agents: online, stale, offline; their claims and hooks",
        params: &[],
        core: false,
    },
    Tool {
        name: "convoy_status",
        verb: &["convoy", "status"],
        doc: "A convoy's progress",
        params: &[req("convoy", Pos, "")],
        core: false,
    },
    Tool {
        name: "blocked",
        verb: &["blocked"],
        doc: "Blocked issues and what blocks them",
        params: &[],
        core: false,
    },
    Tool {
        name: "stats",
        verb: &["stats"],
        doc: "Counts by status and type",
        params: &[],
        core: false,
    },
    Tool {
        name: "label_add",
        verb: &["label", "add"],
        doc: "Add a label to issues",
        params: &[IDS, req("label", Pos, "")],
        core: false,
    },
    Tool {
        name: "label_remove",
        verb: &["label", "remove"],
        doc: "Remove a label from issues",
        params: &[IDS, req("label", Pos, "")],
        core: false,
    },
    Tool {
        name: "defer",
        verb: &["defer"],
        doc: "Put issues off (until a date, or until undefer)",
        params: &[IDS, p("until", Flag("until"), "RFC 3339, YYYY-MM-DD, +3d")],
        core: false,
    },
    Tool {
        name: "dep_tree",
        verb: &["dep", "tree"],
        doc: "Dependency tree of an issue",
        params: &[ID, p("direction", Flag("direction"), "down|up|both")],
        core: false,
    },
    Tool {
        name: "epic_status",
        verb: &["epic", "status"],
        doc: "Open epics and how many children are closed",
        params: &[],
        core: false,
    },
    Tool {
        name: "children",
        verb: &["children"],
        doc: "The children of an issue",
        params: &[ID, p("recursive", Bool("recursive"), "")],
        core: false,
    },
    Tool {
        name: "checkpoint",
        verb: &["checkpoint"],
        doc: "Record what is done and what is next on your item (default: the one you hold)",
        params: &[
            p("id", Pos, "default: the issue you hold"),
            req("text", Pos, "what is done"),
            p("next", Flag("next"), "what is next"),
        ],
        core: false,
    },
    Tool {
        name: "reserve",
        verb: &["reserve"],
        doc: "Reserve files for your edits (exit 3: another agent holds them)",
        params: &[
            req(
                "globs",
                PosList,
                "paths or globs from the repo root: src/**, *.rs",
            ),
            p(
                "shared",
                Bool("shared"),
                "others may share; default exclusive",
            ),
            p("reason", Flag("reason"), ""),
            p("ttl", Flag("ttl"), "e.g. 30m; default the lease"),
        ],
        core: false,
    },
    Tool {
        name: "release",
        verb: &["release"],
        doc: "Release your file reservations (none named: all)",
        params: &[p("globs", PosList, "as reservations shows them")],
        core: false,
    },
    Tool {
        name: "reservations",
        verb: &["reservations"],
        doc: "Live file reservations: holder, globs, mode, reason, until",
        params: &[p("all", Bool("all"), "lapsed ones too")],
        core: false,
    },
    Tool {
        name: "note",
        verb: &["note"],
        doc: "Add a line to an issue's notes",
        params: &[ID, req("text", Pos, "")],
        core: false,
    },
    Tool {
        name: "assign",
        verb: &["assign"],
        doc: "Assign an issue (\"\" unassigns)",
        params: &[ID, req("name", Pos, "")],
        core: false,
    },
    Tool {
        name: "priority",
        verb: &["priority"],
        doc: "Set an issue's priority",
        params: &[ID, req("priority", Pos, "0-4")],
        core: false,
    },
    Tool {
        name: "link",
        verb: &["link"],
        doc: "id1 depends on id2 (blocks unless type)",
        params: &[
            req("id1", Pos, ""),
            req("id2", Pos, ""),
            p("type", Flag("type"), ""),
        ],
        core: false,
    },
    Tool {
        name: "dep_list",
        verb: &["dep", "list"],
        doc: "What issues depend on (direction up: what depends on them)",
        params: &[
            IDS,
            p("direction", Flag("direction"), "down|up"),
            p("type", Flag("type"), ""),
        ],
        core: false,
    },
    Tool {
        name: "dep_relate",
        verb: &["dep", "relate"],
        doc: "A see-also link both ways",
        params: &[req("id1", Pos, ""), req("id2", Pos, "")],
        core: false,
    },
    Tool {
        name: "dep_unrelate",
        verb: &["dep", "unrelate"],
        doc: "Remove a see-also link",
        params: &[req("id1", Pos, ""), req("id2", Pos, "")],
        core: false,
    },
    Tool {
        name: "dep_cycles",
        verb: &["dep", "cycles"],
        doc: "Dependency cycles",
        params: &[],
        core: false,
    },
    Tool {
        name: "duplicate",
        verb: &["duplicate"],
        doc: "Close an issue as a duplicate of another",
        params: &[ID, req("of", Flag("of"), "the canonical issue")],
        core: false,
    },
    Tool {
        name: "supersede",
        verb: &["supersede"],
        doc: "Close an issue as superseded by another",
        params: &[ID, req("with", Flag("with"), "the replacement")],
        core: false,
    },
    Tool {
        name: "delete",
        verb: &["delete"],
        doc: "Delete issues (a tombstone that syncs)",
        params: &[
            IDS,
            p("reason", Flag("reason"), ""),
            p("force", Bool("force"), ""),
        ],
        core: false,
    },
    Tool {
        name: "restore",
        verb: &["restore"],
        doc: "Bring back deleted issues",
        params: &[IDS],
        core: false,
    },
    Tool {
        name: "undefer",
        verb: &["undefer"],
        doc: "Make deferred issues open again",
        params: &[IDS],
        core: false,
    },
    Tool {
        name: "comments",
        verb: &["comments"],
        doc: "The comments of an issue",
        params: &[ID],
        core: false,
    },
    Tool {
        name: "history",
        verb: &["history"],
        doc: "An issue's versions, one per commit",
        params: &[ID, p("limit", Int("limit"), "")],
        core: false,
    },
    Tool {
        name: "log",
        verb: &["log"],
        doc: "An issue's changes across commits, field by field",
        params: &[ID, p("limit", Int("limit"), "")],
        core: false,
    },
    Tool {
        name: "stale",
        verb: &["stale"],
        doc: "Open issues nobody touched for days",
        params: &[p("days", Int("days"), "default 30")],
        core: false,
    },
    Tool {
        name: "count",
        verb: &["count"],
        doc: "Count issues (by: status|priority|type|assignee|label)",
        params: &[
            FILTERS[0],
            FILTERS[2],
            FILTERS[3],
            p("by", Flag("by"), ""),
            p("all", Bool("all"), ""),
        ],
        core: false,
    },
    Tool {
        name: "label_list",
        verb: &["label", "list"],
        doc: "An issue's labels",
        params: &[ID],
        core: false,
    },
    Tool {
        name: "label_list_all",
        verb: &["label", "list-all"],
        doc: "Every label with its count",
        params: &[],
        core: false,
    },
    Tool {
        name: "epic_close_eligible",
        verb: &["epic", "close-eligible"],
        doc: "Close epics whose children are all closed",
        params: &[p("dry_run", Bool("dry-run"), "")],
        core: false,
    },
    Tool {
        name: "todo_add",
        verb: &["todo", "add"],
        doc: "Add a TODO (a task)",
        params: &[req("title", Pos, ""), p("priority", Flag("priority"), "")],
        core: false,
    },
    Tool {
        name: "todo_list",
        verb: &["todo", "list"],
        doc: "Open TODOs (all: done too)",
        params: &[p("all", Bool("all"), "")],
        core: false,
    },
    Tool {
        name: "todo_done",
        verb: &["todo", "done"],
        doc: "Mark TODOs done",
        params: &[IDS],
        core: false,
    },
    Tool {
        name: "convoy_create",
        verb: &["convoy", "create"],
        doc: "Track issues as one convoy",
        params: &[req("name", Pos, ""), req("ids", PosList, "")],
        core: false,
    },
    Tool {
        name: "convoy_add",
        verb: &["convoy", "add"],
        doc: "Add issues to a convoy",
        params: &[req("convoy", Pos, ""), IDS],
        core: false,
    },
    Tool {
        name: "convoy_list",
        verb: &["convoy", "list"],
        doc: "Convoys and their progress",
        params: &[],
        core: false,
    },
    Tool {
        name: "agent_register",
        verb: &["agent", "register"],
        doc: "Register an agent (default: you)",
        params: &[
            p("name", Pos, ""),
            p("kind", Flag("kind"), "claude, human, ..."),
        ],
        core: false,
    },
    Tool {
        name: "agent_unregister",
        verb: &["agent", "unregister"],
        doc: "Unregister an agent (default: you)",
        params: &[p("name", Pos, "")],
        core: false,
    },
    Tool {
        name: "dispatch",
        verb: &["dispatch"],
        doc: "One round: recover lapsed claims, sling ready work to online agents",
        params: &[
            p("dry_run", Bool("dry-run"), ""),
            p("per_agent", Int("per-agent"), ""),
        ],
        core: false,
    },
    Tool {
        name: "run",
        verb: &["run", "--detach"],
        doc: "Start a worker in the background: it runs the agent command on work items, each in its own worktree (bd run --detach)",
        params: &[
            req(
                "command",
                PosList,
                "program and arguments; {id} {title} {prompt} {prompt_file} … as whole arguments",
            ),
            p("agent", Flag("agent"), "default: you"),
            p("once", Bool("once"), "one item, then stop"),
            p("max_items", Int("max-items"), ""),
            p("drain", Bool("drain"), "stop when no work is left"),
            p("close_on_success", Bool("close-on-success"), ""),
            p("stall", Flag("stall"), "e.g. 10m"),
            p("retries", Int("retries"), ""),
            p("label", List("label"), "all of"),
            p("type", List("type"), ""),
            p("parent", Flag("parent"), ""),
            p("convoy", Flag("convoy"), ""),
        ],
        core: false,
    },
    Tool {
        name: "workers",
        verb: &["workers"],
        doc: "The running workers (bd run) of this project on this machine: item, time, last output",
        params: &[],
        core: false,
    },
    Tool {
        name: "run_prune",
        verb: &["run", "--prune"],
        doc: "Remove worktrees and branches of closed items whose branches are merged",
        params: &[],
        core: false,
    },
    Tool {
        name: "budget",
        verb: &["budget"],
        doc: "Budgets: allocated, spent, left, down the tree (default: every budget)",
        params: &[p("target", Pos, "issue ID or agent:NAME")],
        core: false,
    },
    Tool {
        name: "budget_set",
        verb: &["budget", "set"],
        doc: "Give an issue, epic, convoy or agent:NAME a token budget",
        params: &[
            req("target", Pos, "issue ID or agent:NAME"),
            req("tokens", Int("tokens"), ""),
            p("usd", Flag("usd"), "dollars, e.g. 2.50"),
        ],
        core: false,
    },
    Tool {
        name: "budget_spend",
        verb: &["budget", "spend"],
        doc: "Record tokens you spent (on the issue you hold, or issue)",
        params: &[
            p("tokens", Int("tokens"), ""),
            p("usd", Flag("usd"), "dollars, e.g. 0.25"),
            p("issue", Flag("issue"), "default: the one you hold"),
        ],
        core: false,
    },
    Tool {
        name: "metrics",
        verb: &["metrics"],
        doc: "Runs per agent: items done, success rate, median time, tokens; throughput",
        params: &[p("since", Flag("since"), "a date, or 7d")],
        core: false,
    },
    Tool {
        name: "where",
        verb: &["where"],
        doc: "Where the workspace, files and project are",
        params: &[],
        core: false,
    },
    Tool {
        name: "info",
        verb: &["info"],
        doc: "The tracker (schema: its fields and values)",
        params: &[p("schema", Bool("schema"), "")],
        core: false,
    },
    Tool {
        name: "statuses",
        verb: &["statuses"],
        doc: "The statuses an issue may have",
        params: &[],
        core: false,
    },
    Tool {
        name: "types",
        verb: &["types"],
        doc: "The types an issue may have",
        params: &[],
        core: false,
    },
    Tool {
        name: "config_list",
        verb: &["config", "list"],
        doc: "The tracker's settings",
        params: &[MACHINE],
        core: false,
    },
    Tool {
        name: "config_get",
        verb: &["config", "get"],
        doc: "One setting",
        params: &[req("key", Pos, ""), MACHINE],
        core: false,
    },
    Tool {
        name: "config_set",
        verb: &["config", "set"],
        doc: "Change a setting",
        params: &[req("key", Pos, ""), req("value", Pos, ""), MACHINE],
        core: false,
    },
    Tool {
        name: "doctor",
        verb: &["doctor"],
        doc: "Check .beads/ for problems",
        params: &[
            p("check", Flag("check"), "validate|pollution"),
            p("remote", Bool("remote"), "probe the git remote for claims"),
        ],
        core: false,
    },
    Tool {
        name: "commit",
        verb: &["commit"],
        doc: "Commit the tracker's changes",
        params: &[p("message", Flag("message"), "")],
        core: false,
    },
    Tool {
        name: "diff",
        verb: &["diff"],
        doc: "The tracker's changes, issue by issue",
        params: &[p("range", Pos, "a git revision or range")],
        core: false,
    },
    Tool {
        name: "sync",
        verb: &["sync"],
        doc: "Fetch, merge and push the tracker",
        params: &[],
        core: false,
    },
    Tool {
        name: "import",
        verb: &["import"],
        doc: "Import issues from a JSONL file",
        params: &[req("file", Pos, ""), p("dry_run", Bool("dry-run"), "")],
        core: false,
    },
    Tool {
        name: "formula_list",
        verb: &["formula", "list"],
        doc: "Workflow formulas found (.beads/formulas, ~/.beads/formulas)",
        params: &[p(
            "type",
            Flag("type"),
            "workflow, expansion, aspect, convoy",
        )],
        core: false,
    },
    Tool {
        name: "formula_show",
        verb: &["formula", "show"],
        doc: "A formula as written: variables, steps, gates",
        params: &[req("name", Pos, "")],
        core: false,
    },
    Tool {
        name: "formula_check",
        verb: &["formula", "check"],
        doc: "Check formulas: every problem with file, line and step",
        params: &[
            p("names", PosList, "default: every formula"),
            p("var", List("var"), "name=value"),
        ],
        core: false,
    },
    Tool {
        name: "cook",
        verb: &["cook"],
        doc: "A formula resolved (loops, advice; variables kept or filled in)",
        params: &[
            req("name", Pos, ""),
            p("var", List("var"), "name=value"),
            p("mode", Flag("mode"), "compile or runtime"),
        ],
        core: false,
    },
    Tool {
        name: "mol_pour",
        verb: &["mol", "pour"],
        doc: "Pour a formula into a molecule: one item per step, in one write",
        params: &[
            req("formula", Pos, ""),
            p("var", List("var"), "name=value"),
            p(
                "idempotency_key",
                Flag("idempotency-key"),
                "same key, one molecule",
            ),
            p("assignee", Flag("assignee"), ""),
            p("dry_run", Bool("dry-run"), ""),
        ],
        core: false,
    },
    Tool {
        name: "mol_show",
        verb: &["mol", "show"],
        doc: "A molecule's steps, their states and its gates",
        params: &[ID],
        core: false,
    },
    Tool {
        name: "mol_current",
        verb: &["mol", "current"],
        doc: "Where you are in your molecule: done, current, ready, blocked steps",
        params: &[p("id", Pos, "default: the molecules of what you hold")],
        core: false,
    },
    Tool {
        name: "mol_progress",
        verb: &["mol", "progress"],
        doc: "Completed / total steps of a molecule",
        params: &[p("id", Pos, "default: the molecules of what you hold")],
        core: false,
    },
    Tool {
        name: "mol_ready",
        verb: &["mol", "ready"],
        doc: "Molecules whose gate resolved and whose next step is ready",
        params: &[],
        core: false,
    },
    Tool {
        name: "mol_list",
        verb: &["mol", "list"],
        doc: "Molecules and their progress",
        params: &[p("all", Bool("all"), "closed ones too")],
        core: false,
    },
    Tool {
        name: "mol_burn",
        verb: &["mol", "burn"],
        doc: "Delete molecules (root and every item under it)",
        params: &[IDS, p("dry_run", Bool("dry-run"), "")],
        core: false,
    },
    Tool {
        name: "mol_squash",
        verb: &["mol", "squash"],
        doc: "Close a finished molecule into a digest item",
        params: &[
            ID,
            p("summary", Flag("summary"), ""),
            p("delete_children", Bool("delete-children"), ""),
            p("dry_run", Bool("dry-run"), ""),
        ],
        core: false,
    },
    Tool {
        name: "gate_list",
        verb: &["gate", "list"],
        doc: "Open gates (all: resolved too)",
        params: &[p("all", Bool("all"), "")],
        core: false,
    },
    Tool {
        name: "gate_show",
        verb: &["gate", "show"],
        doc: "A gate: its condition, what it blocks, its last check",
        params: &[ID],
        core: false,
    },
    Tool {
        name: "gate_create",
        verb: &["gate", "create"],
        doc: "A gate blocking an issue until resolved",
        params: &[
            req("blocks", List("blocks"), "issue IDs"),
            p(
                "type",
                Flag("type"),
                "human, timer, command, bead, gh:run, gh:pr",
            ),
            p("await_id", Flag("await-id"), "command, issue, run or PR id"),
            p("timeout", Flag("timeout"), "30m, 2h"),
            p("at", Flag("at"), "a timer's time"),
            p("reason", Flag("reason"), ""),
        ],
        core: false,
    },
    Tool {
        name: "gate_check",
        verb: &["gate", "check"],
        doc: "Evaluate open gates; resolve those whose condition holds",
        params: &[
            p("ids", PosList, "default: every open gate"),
            p("type", List("type"), ""),
            p("dry_run", Bool("dry-run"), ""),
        ],
        core: false,
    },
    Tool {
        name: "gate_resolve",
        verb: &["gate", "resolve"],
        doc: "Resolve a gate by hand",
        params: &[ID, p("reason", Flag("reason"), "")],
        core: false,
    },
    Tool {
        name: "mail_list",
        verb: &["mail", "list"],
        doc: "Every message of the project, whoever it is for, newest first",
        params: &[],
        core: false,
    },
    Tool {
        name: "runs",
        verb: &["runs"],
        doc: "Runs bd run recorded (of an issue, or all), newest first",
        params: &[p("id", Pos, "issue ID"), p("limit", Int("limit"), "0: all")],
        core: false,
    },
];

/// The tool named `name`.
pub fn find(name: &str) -> Option<&'static Tool> {
    TOOLS.iter().find(|t| t.name == name)
}

/// The argument every tool takes besides its own: who acts.
const ACTOR: &str = "actor";

/// A tool's input schema (JSON Schema, as MCP wants: an object).
pub fn input_schema(t: &Tool) -> Map<String, Value> {
    let mut props = Map::new();
    let mut required = Vec::new();
    for a in t.params {
        let ty = match a.kind {
            Pos | Flag(_) => json!({"type": "string"}),
            Int(_) => json!({"type": "integer"}),
            Bool(_) => json!({"type": "boolean"}),
            PosList | List(_) => json!({"type": "array", "items": {"type": "string"}}),
        };
        let mut ty = ty;
        if !a.doc.is_empty() {
            ty["description"] = a.doc.into();
        }
        props.insert(a.name.into(), ty);
        if a.required {
            required.push(Value::from(a.name));
        }
    }
    props.insert(ACTOR.into(), json!({"type": "string"}));
    let mut m = Map::new();
    m.insert("type".into(), "object".into());
    m.insert("properties".into(), props.into());
    if !required.is_empty() {
        m.insert("required".into(), required.into());
    }
    m.insert("additionalProperties".into(), false.into());
    m
}

/// Why a call's arguments were refused (an MCP invalid-params error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadArgs(pub String);

/// The command line of a call: the verb, `--actor` when given, the flags,
/// then `--` and the positional values. `args` is checked against the
/// tool's parameters: unknown, missing and mistyped arguments are refused.
pub fn argv(t: &Tool, args: &Map<String, Value>) -> Result<Vec<String>, BadArgs> {
    for k in args.keys() {
        if k != ACTOR && !t.params.iter().any(|a| a.name == k) {
            return Err(BadArgs(format!("{}: unknown argument '{k}'", t.name)));
        }
    }
    let mut out: Vec<String> = t.verb.iter().map(|s| s.to_string()).collect();
    let mut positional = Vec::new();
    if let Some(v) = args.get(ACTOR) {
        out.push(format!("--actor={}", string(t, ACTOR, v)?));
    }
    for a in t.params {
        let Some(v) = args.get(a.name).filter(|v| !v.is_null()) else {
            if a.required {
                return Err(BadArgs(format!(
                    "{}: missing argument '{}'",
                    t.name, a.name
                )));
            }
            continue;
        };
        match a.kind {
            Pos => positional.push(string(t, a.name, v)?),
            PosList => {
                let items = strings(t, a.name, v)?;
                if items.is_empty() && a.required {
                    return Err(BadArgs(format!(
                        "{}: '{}' needs at least one value",
                        t.name, a.name
                    )));
                }
                positional.extend(items);
            }
            Flag(f) => out.push(format!("--{f}={}", string(t, a.name, v)?)),
            Int(f) => {
                let n = v
                    .as_i64()
                    .ok_or_else(|| mistyped(t, a.name, "an integer"))?;
                out.push(format!("--{f}={n}"));
            }
            Bool(f) => {
                if v.as_bool()
                    .ok_or_else(|| mistyped(t, a.name, "true or false"))?
                {
                    out.push(format!("--{f}"));
                }
            }
            List(f) => {
                for s in strings(t, a.name, v)? {
                    out.push(format!("--{f}={s}"));
                }
            }
        }
    }
    if !positional.is_empty() {
        out.push("--".into());
        out.extend(positional);
    }
    Ok(out)
}

fn mistyped(t: &Tool, name: &str, want: &str) -> BadArgs {
    BadArgs(format!("{}: '{name}' must be {want}", t.name))
}

fn string(t: &Tool, name: &str, v: &Value) -> Result<String, BadArgs> {
    match v {
        Value::String(s) => Ok(s.clone()),
        // A number where an ID or a priority is asked for reads as its text.
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(mistyped(t, name, "a string")),
    }
}

fn strings(t: &Tool, name: &str, v: &Value) -> Result<Vec<String>, BadArgs> {
    match v {
        // One value where a list is asked for is a list of one.
        Value::String(_) | Value::Number(_) => Ok(vec![string(t, name, v)?]),
        Value::Array(items) => items.iter().map(|i| string(t, name, i)).collect(),
        _ => Err(mistyped(t, name, "a list of strings")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Value) -> Result<Vec<String>, BadArgs> {
        argv(find(name).unwrap(), args.as_object().unwrap())
    }

    #[test]
    fn flags_come_first_then_the_positionals_after_a_separator() {
        assert_eq!(
            call(
                "create",
                json!({"title": "-rf /", "priority": 1, "labels": ["a", "b"]})
            )
            .unwrap(),
            [
                "create",
                "--priority=1",
                "--label=a",
                "--label=b",
                "--",
                "-rf /"
            ]
        );
        assert_eq!(
            call(
                "close",
                json!({"ids": ["bd-1", "bd-2"], "reason": "--force", "actor": "ann"})
            )
            .unwrap(),
            [
                "close",
                "--actor=ann",
                "--reason=--force",
                "--",
                "bd-1",
                "bd-2"
            ]
        );
        assert_eq!(call("prime", json!({})).unwrap(), ["prime"]);
        assert_eq!(
            call("list", json!({"all": true, "limit": 0})).unwrap(),
            ["list", "--limit=0", "--all"]
        );
        assert_eq!(
            call("claim", json!({"ids": "bd-1"})).unwrap(),
            ["claim", "--", "bd-1"]
        );
    }

    #[test]
    fn unknown_missing_and_mistyped_arguments_are_refused() {
        assert!(
            call("claim", json!({"id": "bd-1"}))
                .unwrap_err()
                .0
                .contains("unknown argument 'id'")
        );
        assert!(
            call("claim", json!({}))
                .unwrap_err()
                .0
                .contains("missing argument 'ids'")
        );
        assert!(
            call("claim", json!({"ids": []}))
                .unwrap_err()
                .0
                .contains("at least one")
        );
        assert!(
            call("list", json!({"limit": "x"}))
                .unwrap_err()
                .0
                .contains("integer")
        );
        assert!(
            call("list", json!({"all": "yes"}))
                .unwrap_err()
                .0
                .contains("true or false")
        );
        assert!(
            call("show", json!({"ids": [{"a": 1}]}))
                .unwrap_err()
                .0
                .contains("string")
        );
    }

    #[test]
    fn every_tool_has_a_unique_name_a_schema_and_core_ones_first() {
        let mut seen = std::collections::HashSet::new();
        let mut core_done = false;
        for t in TOOLS {
            assert!(seen.insert(t.name), "{} twice", t.name);
            assert!(!(core_done && t.core), "{}: core tools come first", t.name);
            core_done |= !t.core;
            let s = input_schema(t);
            assert_eq!(s["type"], "object");
            assert!(s["properties"]["actor"].is_object());
        }
    }
}

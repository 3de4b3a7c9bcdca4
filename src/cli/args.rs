//! What the user typed: clap definitions of every command and flag.
//! Nothing here does anything; `cli::run` turns these into ops calls.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "bd",
    version,
    about = "A git-native work tracker for AI coding agents (strand)"
)]
pub struct Cli {
    /// Print exactly one JSON document on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Run as if started in DIR
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Act as this agent (default: BD_ACTOR, else the workspace's last two path parts)
    #[arg(long, global = true)]
    pub actor: Option<String>,
    /// Say nothing on stderr but errors and warnings
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Status to show (repeatable or comma-separated; `blocked` and `ready` are the computed sets)
    #[arg(short, long)]
    pub status: Vec<String>,
    /// Priority to show (0-4, P0-P4 or a word; repeatable)
    #[arg(short, long)]
    pub priority: Vec<String>,
    #[arg(long)]
    pub priority_min: Option<String>,
    #[arg(long)]
    pub priority_max: Option<String>,
    /// Type to show (repeatable)
    #[arg(short = 't', long = "type")]
    pub issue_type: Vec<String>,
    /// Label every issue must have (repeatable)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Label any of which an issue must have (repeatable)
    #[arg(long)]
    pub label_any: Vec<String>,
    /// Assignee to show (`""` means unassigned)
    #[arg(short, long)]
    pub assignee: Option<String>,
    /// Only issues without an assignee
    #[arg(long, visible_alias = "no-assignee")]
    pub unassigned: bool,
    /// Only descendants of this issue
    #[arg(long)]
    pub parent: Option<String>,
    #[arg(long)]
    pub created_after: Option<String>,
    #[arg(long)]
    pub created_before: Option<String>,
    /// At most N issues (0: no limit)
    #[arg(short = 'n', long, allow_negative_numbers = true)]
    pub limit: Option<i64>,
    /// Order: priority, oldest, hybrid, updated, id
    #[arg(long)]
    pub sort: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct CreateArgs {
    /// Title of the issue
    pub title: Option<String>,
    /// Title (instead of the positional argument)
    #[arg(long = "title", conflicts_with = "title")]
    pub title_flag: Option<String>,
    #[arg(short = 't', long = "type")]
    pub issue_type: Option<String>,
    #[arg(short, long)]
    pub priority: Option<String>,
    #[arg(short, long)]
    pub description: Option<String>,
    #[arg(long)]
    pub design: Option<String>,
    #[arg(long)]
    pub acceptance: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
    /// Label (repeatable or comma-separated)
    #[arg(short, long)]
    pub label: Vec<String>,
    #[arg(short, long)]
    pub assignee: Option<String>,
    #[arg(long)]
    pub owner: Option<String>,
    /// Make it a child of this issue (ID `<parent>.<n>`)
    #[arg(long)]
    pub parent: Option<String>,
    /// Dependencies as `type:id` or `id` (blocks), comma-separated
    #[arg(long)]
    pub deps: Vec<String>,
    #[arg(long)]
    pub external_ref: Option<String>,
    /// Defer until this date (RFC 3339, YYYY-MM-DD or +Nd)
    #[arg(long)]
    pub defer: Option<String>,
    #[arg(long)]
    pub due: Option<String>,
    /// Estimated minutes
    #[arg(long, allow_negative_numbers = true)]
    pub estimate: Option<i64>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct UpdateArgs {
    #[arg(required = true)]
    pub ids: Vec<String>,
    #[arg(long)]
    pub title: Option<String>,
    #[arg(short, long)]
    pub description: Option<String>,
    #[arg(long)]
    pub design: Option<String>,
    #[arg(long)]
    pub acceptance: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
    #[arg(short, long)]
    pub status: Option<String>,
    #[arg(short, long)]
    pub priority: Option<String>,
    #[arg(short = 't', long = "type")]
    pub issue_type: Option<String>,
    /// Assignee (`""` clears it)
    #[arg(short, long)]
    pub assignee: Option<String>,
    #[arg(long)]
    pub owner: Option<String>,
    #[arg(long, allow_negative_numbers = true)]
    pub estimate: Option<i64>,
    #[arg(long)]
    pub due: Option<String>,
    #[arg(long)]
    pub defer: Option<String>,
    #[arg(long)]
    pub external_ref: Option<String>,
    /// Add a label (repeatable)
    #[arg(long)]
    pub add_label: Vec<String>,
    /// Remove a label (repeatable)
    #[arg(long)]
    pub remove_label: Vec<String>,
    /// Move under this parent (`""` detaches)
    #[arg(long)]
    pub parent: Option<String>,
    /// Claim the issue (like `bd claim`)
    #[arg(long)]
    pub claim: bool,
    /// Change it even though your claim on it was recovered by another
    #[arg(long)]
    pub force: bool,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Start tracking in this git repository (also migrates classic beads)
    Init {
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Create an issue
    Create(CreateArgs),
    /// Show issues in detail
    Show {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// List issues (open ones unless --all or --status)
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// Include closed issues
        #[arg(long)]
        all: bool,
    },
    /// Count issues
    Count {
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long)]
        all: bool,
        /// Group by status, priority, type, assignee or label
        #[arg(long)]
        by: Option<String>,
    },
    /// List the children of an issue
    Children {
        id: String,
        /// All descendants, not only direct children
        #[arg(short, long)]
        recursive: bool,
    },
    /// Change fields of issues
    Update(UpdateArgs),
    /// Close issues
    Close {
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(short, long)]
        reason: Option<String>,
        /// Close even when open issues block it
        #[arg(short, long)]
        force: bool,
    },
    /// Reopen closed issues
    Reopen {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Delete issues (a tombstone that syncs)
    Delete {
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(short, long)]
        reason: Option<String>,
    },
    /// Bring back deleted issues
    Restore {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Put issues off until a date
    Defer {
        #[arg(required = true)]
        ids: Vec<String>,
        /// RFC 3339, YYYY-MM-DD or +N(s|m|h|d|w)
        #[arg(long, required = true)]
        until: String,
    },
    /// Make deferred issues open again
    Undefer {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Show work that is ready to start
    Ready {
        #[command(flatten)]
        filter: FilterArgs,
        /// Claim the first claimable issue
        #[arg(long)]
        claim: bool,
        /// Also say which claims lapsed (their holders went silent past the lease)
        #[arg(long, conflicts_with = "claim")]
        explain: bool,
        /// With --claim: containers (epics, convoys, molecules) may be claimed too
        #[arg(long, requires = "claim")]
        containers: bool,
    },
    /// Show blocked issues and what blocks them
    Blocked {
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Show open issues nobody touched for a while
    Stale {
        #[arg(long, default_value_t = 30, allow_negative_numbers = true)]
        days: i64,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Claim issues for yourself (atomic; exit 3 if another holds it)
    Claim {
        #[arg(required = true)]
        ids: Vec<String>,
        /// Recover a lapsed claim of another agent (its holder was silent past the lease)
        #[arg(long)]
        steal: bool,
    },
    /// Give back claimed issues
    Unclaim {
        #[arg(required = true)]
        ids: Vec<String>,
        /// Release another agent's claim
        #[arg(long)]
        force: bool,
    },
    /// Manage dependencies
    #[command(subcommand)]
    Dep(DepCmd),
    /// Manage labels
    #[command(subcommand)]
    Label(LabelCmd),
    /// Add a comment to an issue
    Comment {
        id: String,
        /// The text (or use --file)
        text: Option<String>,
        /// Read the text from a file (`-` for stdin)
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Show the comments of an issue
    Comments { id: String },
    /// Search titles, descriptions, notes and comments
    Search {
        query: String,
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long)]
        all: bool,
    },
    /// Show counts by status
    Stats,
    /// Show where the workspace, files and project are
    Where {
        /// Confirm on this machine that this repository is the configured
        /// project's (a fork, a renamed remote), so it joins the project home
        #[arg(long)]
        trust: bool,
    },
    /// Read and change .beads/config.toml
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Show the version
    Version,
    /// Print a shell completion script
    Completion { shell: clap_complete::Shell },
    /// Print the AGENTS.md snippet for agents
    Onboard,
    /// Check .beads/ for problems (and repair with --fix)
    Doctor {
        #[arg(long)]
        fix: bool,
    },
    /// Import issues from classic beads JSONL
    Import {
        /// The file (`-` for stdin)
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage agents
    #[command(subcommand)]
    Agent(AgentCmd),
    /// Recover lapsed claims and sling ready work to online agents
    Dispatch {
        /// One round, then exit (the default)
        #[arg(long)]
        once: bool,
        /// Keep dispatching every --interval seconds
        #[arg(long, conflicts_with = "once")]
        watch: bool,
        #[arg(long, default_value_t = 30)]
        interval: u64,
        /// Most items an agent holds (claims and hook)
        #[arg(long, default_value_t = 1)]
        per_agent: usize,
        /// Show the plan, change nothing
        #[arg(long)]
        dry_run: bool,
        /// Also sling containers (epics, convoys, molecules)
        #[arg(long)]
        containers: bool,
    },
    /// Play the whole story in a throwaway folder: two clones, two projects, three agents
    Demo {
        /// A new or empty folder to play in (default: a new temp folder)
        dir: Option<PathBuf>,
    },
    /// Send and read mail between agents and projects
    #[command(subcommand)]
    Mail(MailCmd),
    /// Track a batch of work as one convoy
    #[command(subcommand)]
    Convoy(ConvoyCmd),
    /// Put an issue on an agent's hook (it survives crashes and restarts)
    Sling {
        id: String,
        agent: String,
        /// A note for the agent
        #[arg(long)]
        note: Option<String>,
    },
    /// Show the work on an agent's hook (default: yours)
    Hook { agent: Option<String> },
    /// Take an issue (or everything) off an agent's hook
    Unhook {
        id: Option<String>,
        /// Whose hook (default: yours)
        #[arg(long)]
        agent: Option<String>,
    },
    /// The start-of-session summary for an agent: hook, claims, unread mail, ready work
    Prime,
    /// List agents: online / stale / offline, claims, hook
    Agents,
    /// Tell the project this agent is alive (refreshes its claims' lease)
    Heartbeat {
        /// What the agent is doing
        #[arg(long)]
        note: Option<String>,
    },
    /// Commit the tracker's changes (only .beads/ paths)
    Commit {
        /// Subject (default: a summary of what changed)
        #[arg(short, long)]
        message: Option<String>,
    },
    /// Show the tracker's changes issue by issue (default: working tree vs HEAD)
    Diff {
        /// REV (against the working tree) or REV..REV
        range: Option<String>,
    },
    /// Show one issue's history across commits
    Log {
        id: String,
        #[arg(short = 'n', long, default_value_t = 50)]
        limit: usize,
    },
    /// Fetch, merge (never rebase) and push the tracker with its branch
    Sync {
        /// Also push unpushed commits that touch code, not only .beads/
        #[arg(long)]
        all: bool,
    },
    /// The git merge driver: merge BASE OURS THEIRS into OURS
    #[command(hide = true)]
    Merge {
        base: std::path::PathBuf,
        ours: std::path::PathBuf,
        theirs: std::path::PathBuf,
        /// The path in the repository (for messages and file kind)
        path: Option<String>,
    },
    /// Export issues as JSONL
    Export {
        /// Write to this file instead of stdout
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DepCmd {
    /// ISSUE depends on DEPENDS_ON (default type: blocks)
    Add {
        issue: String,
        depends_on: String,
        #[arg(short = 't', long = "type", default_value = "blocks")]
        kind: String,
    },
    /// Remove a dependency
    #[command(alias = "rm")]
    Remove {
        issue: String,
        depends_on: String,
        #[arg(short = 't', long = "type")]
        kind: Option<String>,
    },
    /// What an issue depends on and what depends on it
    List { id: String },
    /// The dependency tree below an issue
    Tree {
        id: String,
        /// What depends on it, instead
        #[arg(long)]
        reverse: bool,
        #[arg(long, default_value_t = 10)]
        max_depth: usize,
    },
    /// Find dependency cycles
    Cycles,
}

#[derive(Subcommand, Debug)]
pub enum ConvoyCmd {
    /// Create a convoy tracking these issues
    Create { name: String, ids: Vec<String> },
    /// Track more issues (an open one reopens a landed convoy)
    Add {
        convoy: String,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Progress: counts and percent per status
    Status { convoy: String },
    /// Every convoy with its progress
    List,
}

#[derive(Args, Debug, Clone, Default)]
pub struct BodyArgs {
    /// The message text (markdown)
    #[arg(short, long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the message text from a file (`-` for stdin)
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Attach a file (repeatable; stored by SHA-256 and committed)
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<PathBuf>,
    /// low, normal, high or urgent
    #[arg(long)]
    pub importance: Option<String>,
    /// Ask the recipients to acknowledge it
    #[arg(long)]
    pub ack: bool,
}

#[derive(Subcommand, Debug)]
pub enum MailCmd {
    /// Send a message (to agents here, or to another project's tracker)
    Send {
        /// Recipient (repeatable): name, name@<project>, @all, @<project>, project:<identity>
        #[arg(long, required = true)]
        to: Vec<String>,
        /// Copy to (repeatable)
        #[arg(long)]
        cc: Vec<String>,
        #[arg(short, long)]
        subject: String,
        #[command(flatten)]
        body: BodyArgs,
        /// The issue this message is about
        #[arg(long)]
        issue: Option<String>,
        /// Type of the work item another project makes of it (default: bug)
        #[arg(short = 't', long = "type")]
        issue_type: Option<String>,
    },
    /// Your messages: unread first
    Inbox {
        /// Read ones too
        #[arg(long)]
        all: bool,
        /// Only from this sender
        #[arg(long)]
        from: Option<String>,
        /// Only this thread (any message id in it)
        #[arg(long)]
        thread: Option<String>,
    },
    /// Show a message and mark it read
    Read { id: String },
    /// Messages you sent, newest first, with who read and acknowledged them
    Sent,
    /// Reply to a message (same thread, `Re:` subject)
    Reply {
        id: String,
        #[command(flatten)]
        body: BodyArgs,
        /// Also to every other recipient
        #[arg(long)]
        all: bool,
    },
    /// Acknowledge a message
    Ack { id: String },
    /// Every message of a thread, oldest first
    Thread { id: String },
    /// Find messages whose subject or body contains TEXT
    Search { text: String },
}

#[derive(Subcommand, Debug)]
pub enum AgentCmd {
    /// Register an agent (idempotent): its name, kind and workspace
    Register {
        /// The agent's name (default: the actor)
        name: Option<String>,
        /// What kind of agent: claude, human, …
        #[arg(long, default_value = "agent")]
        kind: String,
    },
    /// Unregister an agent: it receives no more work; its hook goes back to ready work
    Unregister {
        /// The agent's name (default: the actor)
        name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum LabelCmd {
    /// Add a label to one or more issues: `label add <id>... <label>`
    Add {
        /// The issues, then the label (last)
        #[arg(required = true, num_args = 2.., value_name = "ID... LABEL")]
        args: Vec<String>,
    },
    /// Remove a label from one or more issues: `label remove <id>... <label>`
    Remove {
        /// The issues, then the label (last)
        #[arg(required = true, num_args = 2.., value_name = "ID... LABEL")]
        args: Vec<String>,
    },
    /// Labels of an issue, or all labels with counts
    List { id: Option<String> },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    Get { key: String },
    Set { key: String, value: String },
    List,
    Unset { key: String },
}

//! What the user typed: clap definitions of every command and flag.
//! Each verb's own arguments live with it in `cli::commands`; here the
//! top level and the groups several verbs share (filters, message bodies).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::cli::commands as c;

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
    /// Refuse every write (exit 1); reads work as usual
    #[arg(long, global = true)]
    pub readonly: bool,
    /// Offline: nothing touches the network (`sync` refuses; so does a claim in remote coordination)
    #[arg(long, global = true, visible_alias = "offline")]
    pub sandbox: bool,
    /// Coordinate claims through the git remote for this command (as `coordination = "remote"`)
    #[arg(long, global = true)]
    pub remote: bool,
    /// Offline in remote coordination: claim locally anyway; `bd sync` arbitrates later
    #[arg(long, global = true)]
    pub offline_claim: bool,
    /// Classic: the database; here the workspace whose `.beads/` holds PATH
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Classic, accepted: there is no daemon
    #[arg(long, global = true, hide = true)]
    pub no_daemon: bool,
    /// Classic, accepted: every write is in the files when the command ends
    #[arg(long, global = true, hide = true)]
    pub no_auto_flush: bool,
    /// Classic, accepted: the files are the tracker, there is nothing to import
    #[arg(long, global = true, hide = true)]
    pub no_auto_import: bool,
    #[command(subcommand)]
    pub cmd: Verb,
}

impl Cli {
    /// Parse a command line (`argv[0]` is the program). When the first
    /// word is a verb, clap is given only that verb: the other ~95 need not
    /// be built, nor the global flags copied into each. Anything else
    /// (a flag first, `help`, a typo clap should suggest a fix for) is
    /// parsed against the whole tree.
    pub fn parse_argv(argv: &[String]) -> Result<Self, clap::Error> {
        let verb = argv
            .get(1)
            .filter(|w| !w.starts_with('-') && w.as_str() != "help");
        ONLY.with(|o| *o.borrow_mut() = verb.cloned());
        let parsed = <Self as Parser>::try_parse_from(argv);
        ONLY.with(|o| *o.borrow_mut() = None);
        parsed
    }
}

thread_local! {
    /// The verb `Cli::parse_argv` builds alone (see there).
    static ONLY: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The verb typed: `Cmd`, whose subcommand tree is only the verb typed when
/// `Cli::parse_argv` knows it (a name or alias of one), else all of them.
#[derive(Debug)]
pub struct Verb(pub Cmd);

impl clap::FromArgMatches for Verb {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Cmd::from_arg_matches(m).map(Verb)
    }
    fn from_arg_matches_mut(m: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        Cmd::from_arg_matches_mut(m).map(Verb)
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }
}

impl Subcommand for Verb {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        let only = ONLY.with(|o| o.borrow().clone());
        if let Some(name) = only {
            let all = Cmd::augment_subcommands(clap::Command::new("bd"));
            if let Some(one) = all.find_subcommand(&name) {
                return cmd.subcommand(one.clone());
            }
        }
        Cmd::augment_subcommands(cmd)
    }
    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        Cmd::augment_subcommands_for_update(cmd)
    }
    fn has_subcommand(name: &str) -> bool {
        Cmd::has_subcommand(name)
    }
}

impl Cli {
    /// Where to look for the workspace: `-C DIR`, else the workspace that
    /// holds `--db PATH` or `BEADS_DB` (classic: a file in `.beads/`), else `BEADS_DIR`
    /// (classic: the `.beads` folder), else the current folder.
    pub fn start(&self) -> PathBuf {
        if let Some(d) = &self.dir {
            return d.clone();
        }
        let beads_parent = |p: &std::path::Path| {
            p.ancestors()
                .find(|a| a.file_name().is_some_and(|n| n == ".beads"))
                .and_then(|b| b.parent())
                .map(std::path::Path::to_path_buf)
        };
        // Classic's database path, as a flag or (beads-ui sets it) BEADS_DB.
        let db = self.db.clone().or_else(|| {
            std::env::var_os("BEADS_DB")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
        });
        if let Some(db) = &db {
            return beads_parent(db).unwrap_or_else(|| db.clone());
        }
        if let Some(dir) = std::env::var_os("BEADS_DIR").filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir);
            return beads_parent(&dir).unwrap_or(dir);
        }
        PathBuf::from(".")
    }
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
    #[arg(short = 'u', long, visible_alias = "no-assignee")]
    pub unassigned: bool,
    /// Only descendants of this issue
    #[arg(long)]
    pub parent: Option<String>,
    #[arg(long)]
    pub created_after: Option<String>,
    #[arg(long)]
    pub created_before: Option<String>,
    /// Only issues whose title contains TEXT (case-insensitive)
    #[arg(long, value_name = "TEXT", visible_alias = "title-contains")]
    pub title: Option<String>,
    /// At most N issues (0: no limit)
    #[arg(short = 'n', long, allow_negative_numbers = true)]
    pub limit: Option<i64>,
    /// Order: priority, oldest, hybrid, updated, id
    #[arg(long)]
    pub sort: Option<String>,
    /// The order reversed
    #[arg(short = 'r', long)]
    pub reverse: bool,
    /// Only these issues (comma-separated or repeatable)
    #[arg(long = "id", value_name = "IDS")]
    pub ids: Vec<String>,
    /// Only issues whose description contains TEXT (any case)
    #[arg(long, value_name = "TEXT")]
    pub desc_contains: Option<String>,
    /// Only issues whose notes contain TEXT (any case)
    #[arg(long, value_name = "TEXT")]
    pub notes_contains: Option<String>,
    /// Only issues with an empty description
    #[arg(long)]
    pub empty_description: bool,
    #[arg(long, value_name = "DATE")]
    pub updated_after: Option<String>,
    #[arg(long, value_name = "DATE")]
    pub updated_before: Option<String>,
    #[arg(long, value_name = "DATE")]
    pub closed_after: Option<String>,
    #[arg(long, value_name = "DATE")]
    pub closed_before: Option<String>,
    /// Only issues without labels
    #[arg(long)]
    pub no_labels: bool,
    /// Only top-level issues (no parent)
    #[arg(long)]
    pub no_parent: bool,
    /// Leave out issues with any of these labels
    #[arg(long, value_name = "LABELS")]
    pub exclude_label: Vec<String>,
    /// Leave out these types
    #[arg(long, value_name = "TYPES")]
    pub exclude_type: Vec<String>,
    /// Only issues with a defer date
    #[arg(long)]
    pub deferred: bool,
}

/// One verb and its arguments. Each variant's arguments are built only
/// when that verb is the one typed (`Lazy`): clap otherwise builds every
/// verb's arguments on every start, which was most of a command's start-up.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Start tracking in this git repository (also migrates classic beads)
    Init(Lazy<c::init::Args>),
    /// Create an issue
    #[command(visible_alias = "new")]
    Create(Lazy<c::create::Args>),
    /// Quick capture: create an issue, print only its ID
    Q(Lazy<c::create::QuickArgs>),
    /// Show issues in detail
    #[command(visible_alias = "view")]
    Show(Lazy<c::show::Args>),
    /// List issues (open ones unless --all or --status)
    List(Lazy<c::list::Args>),
    /// Count issues
    Count(Lazy<c::count::Args>),
    /// List the children of an issue
    Children(Lazy<c::children::Args>),
    /// Change fields of issues
    Update(Lazy<c::update::Args>),
    /// Close issues
    #[command(visible_alias = "done")]
    Close(Lazy<c::close::Args>),
    /// Reopen closed issues
    Reopen(Lazy<c::reopen::Args>),
    /// Delete issues (a tombstone that syncs)
    Delete(Lazy<c::delete::Args>),
    /// Bring back deleted issues
    Restore(Lazy<c::restore::Args>),
    /// Put issues off until a date
    Defer(Lazy<c::defer::Args>),
    /// Make deferred issues open again
    Undefer(Lazy<c::undefer::Args>),
    /// Show work that is ready to start
    Ready(Lazy<c::ready::Args>),
    /// Show blocked issues and what blocks them
    Blocked(Lazy<c::blocked::Args>),
    /// Show open issues nobody touched for a while
    Stale(Lazy<c::stale::Args>),
    /// Claim issues for yourself (atomic; exit 3 if another holds it)
    Claim(Lazy<c::claim::Args>),
    /// Give back claimed issues
    Unclaim(Lazy<c::unclaim::Args>),
    /// Manage dependencies
    Dep(Lazy<c::dep::Args>),
    /// Manage labels
    #[command(subcommand)]
    Label(Lazy<c::label::LabelCmd>),
    /// Epics: progress, and closing the finished ones
    #[command(subcommand)]
    Epic(Lazy<c::epic::EpicCmd>),
    /// Add a comment to an issue
    Comment(Lazy<c::comment::Args>),
    /// Show the comments of an issue
    Comments(Lazy<c::comments::Args>),
    /// Add a line to an issue's notes
    Note(Lazy<c::note::Args>),
    /// Record what is done and what is next on the item you work on
    Checkpoint(Lazy<c::checkpoint::Args>),
    /// Assign an issue (`""` unassigns): `update --assignee`
    Assign(Lazy<c::assign::Args>),
    /// Add a label to an issue: `label add`
    Tag(Lazy<c::tag::Args>),
    /// Set an issue's priority: `update --priority`
    Priority(Lazy<c::priority::Args>),
    /// Link two issues: `dep add` (ID2 blocks ID1 unless -t)
    Link(Lazy<c::link::Args>),
    /// Close an issue as a duplicate of another (one write)
    Duplicate(Lazy<c::duplicate::DuplicateArgs>),
    /// Close an issue as superseded by another (one write)
    Supersede(Lazy<c::duplicate::SupersedeArgs>),
    /// TODOs: task issues with shortcuts (add, list, done)
    Todo(Lazy<c::todo::Args>),
    /// List the statuses an issue may have, and how the sets treat each
    Statuses,
    /// List the types an issue may have
    Types,
    /// Search titles, descriptions, notes and comments
    Search(Lazy<c::search::Args>),
    /// Show counts by status
    #[command(visible_alias = "status")]
    Stats,
    /// Show where the workspace, files and project are
    Where(Lazy<c::where_::Args>),
    /// Read and change .beads/config.toml
    #[command(subcommand)]
    Config(Lazy<c::config::ConfigCmd>),
    /// Show the version
    Version,
    /// Print a shell completion script
    Completion(Lazy<c::completion::Args>),
    /// Print the AGENTS.md snippet for agents
    Onboard,
    /// Set up an agent for this project: instructions, the `bd mcp` server, hooks
    Setup(Lazy<c::setup::Args>),
    /// Check .beads/ for problems (and repair with --fix)
    // Built eagerly: its own `--remote` stands in for the global one, and a
    // deferred verb gets the globals before its own arguments (a clash).
    Doctor(c::doctor::Args),
    /// Import issues from classic beads JSONL
    Import(Lazy<c::import::Args>),
    /// Manage agents
    #[command(subcommand)]
    Agent(Lazy<c::agent::AgentCmd>),
    /// Recover lapsed claims and sling ready work to online agents
    Dispatch(Lazy<c::dispatch::Args>),
    /// Run an agent command on work items, each in its own worktree (a worker loop)
    Run(Lazy<c::run::Args>),
    /// List the running workers (`bd run`) of this project on this machine
    Workers,
    /// The runs `bd run` recorded, of one issue or all, newest first
    Runs(Lazy<c::runs::Args>),
    /// A dashboard in the browser: agents, work, molecules, mail, metrics; live
    Ui(Lazy<crate::cli::ui::Args>),
    /// Play the whole story in a throwaway folder: two clones, two projects, three agents
    // Built eagerly: its own `-C` stands in for the global one (as `Doctor`).
    Demo(c::demo::Args),
    /// Send and read mail between agents and projects
    #[command(subcommand)]
    Mail(Lazy<c::mail::MailCmd>),
    /// Track a batch of work as one convoy
    #[command(subcommand)]
    Convoy(Lazy<c::convoy::ConvoyCmd>),
    /// Workflow templates: list, show and check formulas (*.formula.toml)
    #[command(subcommand)]
    Formula(Lazy<c::formula::FormulaCmd>),
    /// Resolve a formula (loops, advice, variables) and print it as JSON
    Cook(Lazy<c::cook::Args>),
    /// Molecules: pour a formula into work, follow and finish it
    #[command(subcommand)]
    Mol(Lazy<c::mol::MolCmd>),
    /// Gates: items that block work until a person, a time, a command or another item says go
    #[command(subcommand)]
    Gate(Lazy<c::gate::GateCmd>),
    /// Put an issue on an agent's hook (it survives crashes and restarts)
    Sling(Lazy<c::sling::Args>),
    /// Show the work on an agent's hook (default: yours)
    Hook(Lazy<c::hook::Args>),
    /// Take an issue (or everything) off an agent's hook
    Unhook(Lazy<c::unhook::Args>),
    /// The start-of-session summary for an agent: hook, claims, unread mail, ready work
    Prime,
    /// List agents: online / stale / offline, claims, hook
    Agents,
    /// Tell the project this agent is alive (refreshes its claims' lease)
    Heartbeat(Lazy<c::heartbeat::Args>),
    /// Reserve files for your edits, exclusive or shared, until a time (exit 3 if another holds them)
    Reserve(Lazy<c::reserve::ReserveArgs>),
    /// Release your file reservations (the globs named, or all)
    Release(Lazy<c::reserve::ReleaseArgs>),
    /// List the live file reservations: holder, globs, mode, reason, until
    Reservations(Lazy<c::reserve::ReservationsArgs>),
    /// Token budgets of issues, epics, convoys and agents: allocated, spent, left
    Budget(Lazy<c::budget::Args>),
    /// Agents' runs: items done, success rate, time per item, tokens, throughput
    Metrics(Lazy<c::metrics::Args>),
    /// Commit the tracker's changes (only .beads/ paths)
    Commit(Lazy<c::commit::Args>),
    /// Show the tracker's changes issue by issue (default: working tree vs HEAD)
    Diff(Lazy<c::diff::Args>),
    /// Show one issue's history across commits
    Log(Lazy<c::log::Args>),
    /// Classic: an issue's versions, one per commit that changed it
    History(Lazy<c::history::Args>),
    /// Fetch, merge (never rebase) and push the tracker with its branch
    Sync(Lazy<c::sync::Args>),
    /// The git merge driver: merge BASE OURS THEIRS into OURS
    #[command(hide = true)]
    Merge(Lazy<c::merge::Args>),
    /// Export issues as JSONL
    Export(Lazy<c::export::Args>),
    /// A short guide to the day-to-day commands
    Quickstart,
    /// Where the tracker is and what it holds (--schema: its fields and values)
    Info(Lazy<c::info::Args>),
    /// Classic: edges to issues not in the tracker (--fix removes them)
    RepairDeps(Lazy<c::repair_deps::Args>),
    /// Classic: database migrations (strand has no database: --inspect says so)
    Migrate(Lazy<c::migrate::Args>),
    /// Serve the verbs to an agent over MCP (stdio)
    Mcp(Lazy<crate::cli::mcp::Args>),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every verb, deferred or not, builds without a clash (clap's own
    /// checks: unique ids, flags and shorts; a deferred verb that defines a
    /// global's flag again fails here).
    /// Parsing with only the verb typed built gives what the whole tree
    /// gives: the same arguments, or the same error, word for word.
    #[test]
    fn one_verb_parses_as_the_whole_tree() {
        let lines = [
            "update bd-1 --priority 1 --json",
            "new Title -p 2 --actor me",
            "view bd-1 -q",
            "done bd-1 --reason fixed",
            "status",
            "dep add bd-1 bd-2",
            "dep bd-1 --blocks bd-2",
            "label add bd-1 x",
            "label ad bd-1 x",
            "mail send --to a --body b -C /tmp",
            "-C /tmp update bd-1 --status open",
            "--json ready -n 3",
            "updat bd-1",
            "update",
            "update --bogus",
            "create --help",
            "help update",
            "doctor --remote",
            "demo -C /tmp",
            "ready --limit x",
        ];
        for line in lines {
            let argv: Vec<String> = std::iter::once("bd")
                .chain(line.split(' '))
                .map(str::to_string)
                .collect();
            let one = Cli::parse_argv(&argv);
            let whole = <Cli as Parser>::try_parse_from(&argv);
            match (one, whole) {
                (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "{line}"),
                (Err(a), Err(b)) => {
                    assert_eq!(a.kind(), b.kind(), "{line}");
                    assert_eq!(a.to_string(), b.to_string(), "{line}");
                }
                (a, b) => panic!("{line}: {a:?} against {b:?}"),
            }
        }
    }

    #[test]
    fn every_verb_builds() {
        <Cli as clap::CommandFactory>::command().debug_assert();
        whole_command().debug_assert();
    }
}

/// A verb's arguments (or its subcommands), built by clap only when the
/// verb is parsed or its help is shown (`Command::defer`). Reads as the
/// arguments themselves (`Deref`); `Lazy(a)` in a pattern takes them out.
#[derive(Debug)]
pub struct Lazy<T>(pub T);

impl<T> std::ops::Deref for Lazy<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: clap::FromArgMatches> clap::FromArgMatches for Lazy<T> {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(m).map(Lazy)
    }
    fn from_arg_matches_mut(m: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(m).map(Lazy)
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }
    fn update_from_arg_matches_mut(&mut self, m: &mut clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(m)
    }
}

/// Runs a verb's deferred `augment` and keeps the verb's own about text:
/// built eagerly, the variant's doc comment is applied after the type's
/// (a type shared by several verbs has its own), and must still win.
fn keep_about(cmd: clap::Command, augment: fn(clap::Command) -> clap::Command) -> clap::Command {
    let about = cmd.get_about().cloned();
    let long = cmd.get_long_about().cloned();
    let cmd = augment(cmd);
    match (about, long) {
        (Some(a), Some(l)) => cmd.about(a).long_about(l),
        (Some(a), None) => cmd.about(a).long_about(None::<&str>),
        (None, _) => cmd,
    }
}

static EAGER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The whole command tree, every verb built: for what walks all of it
/// before parsing (completion scripts: clap lists the `help` subcommand's
/// tree when the top is built, and a deferred verb's subcommands are not
/// there yet).
pub fn whole_command() -> clap::Command {
    EAGER.store(true, std::sync::atomic::Ordering::Relaxed);
    <Cli as clap::CommandFactory>::command()
}

/// `augment` now, or deferred to when clap builds the verb.
fn lazily(cmd: clap::Command, augment: fn(clap::Command) -> clap::Command) -> clap::Command {
    if EAGER.load(std::sync::atomic::Ordering::Relaxed) {
        augment(cmd)
    } else {
        cmd.defer(augment)
    }
}

impl<T: Args> Args for Lazy<T> {
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
    fn augment_args(cmd: clap::Command) -> clap::Command {
        lazily(cmd, |c| keep_about(c, T::augment_args))
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        lazily(cmd, |c| keep_about(c, T::augment_args_for_update))
    }
}

impl<T: Subcommand> Subcommand for Lazy<T> {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        lazily(cmd, |c| keep_about(c, T::augment_subcommands))
    }
    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        lazily(cmd, |c| keep_about(c, T::augment_subcommands_for_update))
    }
    fn has_subcommand(name: &str) -> bool {
        T::has_subcommand(name)
    }
}

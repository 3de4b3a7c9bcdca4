//! What the command line knows about each verb besides running it: its
//! name for commit subjects and messages, and whether it writes
//! (`--readonly` refuses those before they start).

use crate::cli::args::{Cmd, Lazy};
use crate::cli::commands as c;

/// The command's name, for commit subjects.
pub fn verb_of(cmd: &Cmd) -> &'static str {
    match cmd {
        Cmd::Create(_) | Cmd::Q(_) => "create",
        Cmd::Update(a) if a.claim => "claim",
        Cmd::Update(_) => "update",
        Cmd::Close(_) => "close",
        Cmd::Reopen(_) => "reopen",
        Cmd::Delete(_) => "delete",
        Cmd::Restore(_) => "restore",
        Cmd::Defer(_) => "defer",
        Cmd::Undefer(_) => "undefer",
        Cmd::Claim(_) => "claim",
        Cmd::Ready(a) if a.claim => "claim",
        Cmd::Unclaim(_) => "unclaim",
        Cmd::Sling(_) => "sling",
        Cmd::Unhook(_) => "unhook",
        Cmd::Dep(_) => "dep",
        Cmd::Label(_) => "label",
        Cmd::Comment(_) | Cmd::Comments(_) | Cmd::Checkpoint(_) => "comment",
        Cmd::Note(_) => "note",
        Cmd::Assign(_) => "assign",
        Cmd::Tag(_) => "label",
        Cmd::Import(_) => "import",
        Cmd::Mail(_) => "mail",
        Cmd::Doctor(_) => "doctor",
        Cmd::Epic(_) | Cmd::Duplicate(_) | Cmd::Supersede(_) => "close",
        Cmd::Link(_) => "dep",
        Cmd::Todo(Lazy(c::todo::Args {
            cmd: Some(c::todo::TodoCmd::Add { .. }),
        })) => "create",
        Cmd::Todo(_) => "close",
        Cmd::Setup(_) => "setup",
        Cmd::Mol(Lazy(c::mol::MolCmd::Pour { .. })) => "pour",
        Cmd::Mol(_) => "mol",
        Cmd::Gate(_) => "gate",
        Cmd::Run(_) => "run",
        Cmd::Budget(_) => "budget",
        _ => "update",
    }
}

/// Whether a command may write (the tracker, mail, hooks, the project home,
/// config, git): everything but the reads listed here. `--readonly`
/// refuses those before they start.
pub fn writes(cmd: &Cmd) -> bool {
    use c::{config::ConfigCmd as Cf, convoy::ConvoyCmd as Cv, dep::DepCmd as D};
    use c::{epic::EpicCmd as E, label::LabelCmd as L, mail::MailCmd as M};
    !matches!(
        cmd,
        Cmd::Show(_)
            | Cmd::List(_)
            | Cmd::Count(_)
            | Cmd::Children(_)
            | Cmd::Blocked(_)
            | Cmd::Stale(_)
            | Cmd::Dep(Lazy(c::dep::Args {
                cmd: Some(D::List { .. } | D::Tree { .. } | D::Cycles),
                ..
            }))
            | Cmd::Label(Lazy(L::List { .. } | L::ListAll))
            | Cmd::Epic(Lazy(E::Status { .. } | E::CloseEligible { dry_run: true }))
            | Cmd::Comments(Lazy(c::comments::Args { cmd: None, .. }))
            | Cmd::Search(_)
            | Cmd::Stats
            | Cmd::Config(Lazy(Cf::Get { .. } | Cf::List { .. }))
            | Cmd::Version
            | Cmd::Completion(_)
            | Cmd::Onboard
            | Cmd::Quickstart
            | Cmd::Info(_)
            | Cmd::Statuses
            | Cmd::Types
            | Cmd::Migrate(_)
            | Cmd::Demo(_)
            | Cmd::Mail(Lazy(
                M::Inbox { fetch: false, .. }
                    | M::Sent
                    | M::Thread { .. }
                    | M::Search { .. }
                    | M::List,
            ))
            | Cmd::Convoy(Lazy(Cv::Status { .. } | Cv::List))
            | Cmd::Formula(_)
            | Cmd::Cook(_)
            | Cmd::Mol(Lazy(
                c::mol::MolCmd::Show { .. }
                    | c::mol::MolCmd::Progress { .. }
                    | c::mol::MolCmd::Current { .. }
                    | c::mol::MolCmd::Ready
                    | c::mol::MolCmd::List { .. }
            ))
            | Cmd::Gate(Lazy(
                c::gate::GateCmd::List { .. } | c::gate::GateCmd::Show { .. }
            ))
            | Cmd::Hook(_)
            | Cmd::Prime
            | Cmd::Agents
            | Cmd::Reservations(_)
            | Cmd::Workers
            | Cmd::Diff(_)
            | Cmd::Log(_)
            | Cmd::History(_)
            | Cmd::Mcp(_)
            | Cmd::Runs(_)
            | Cmd::Todo(Lazy(c::todo::Args {
                cmd: None | Some(c::todo::TodoCmd::List { .. }),
            }))
            | Cmd::Export(_)
            | Cmd::Budget(Lazy(c::budget::Args { cmd: None, .. }))
            | Cmd::Metrics(_)
    ) && !matches!(cmd, Cmd::Create(a) if a.dry_run)
        && !matches!(
            cmd,
            Cmd::Mol(Lazy(
                c::mol::MolCmd::Pour { dry_run: true, .. }
                    | c::mol::MolCmd::Burn { dry_run: true, .. }
                    | c::mol::MolCmd::Squash { dry_run: true, .. }
            ))
        )
        && !matches!(
            cmd,
            Cmd::Gate(Lazy(c::gate::GateCmd::Check { dry_run: true, .. }))
        )
        && !matches!(cmd, Cmd::Ready(a) if !a.claim)
        && !matches!(cmd, Cmd::Where(a) if !a.trust)
        && !matches!(cmd, Cmd::Doctor(a) if !a.fix && !a.clean)
        && !matches!(cmd, Cmd::RepairDeps(a) if !a.fix)
        && !matches!(cmd, Cmd::Setup(a) if a.list || a.print || a.check)
}

/// The command's name as typed (its first word).
/// (The variant's name in kebab case, as clap derives the subcommand's:
/// `RepairDeps` is `repair-deps`.)
pub fn verb_name(cmd: &Cmd) -> String {
    let debug = format!("{cmd:?}");
    let mut name = String::new();
    for c in debug.chars().take_while(|c| c.is_alphanumeric()) {
        if c.is_uppercase() && !name.is_empty() {
            name.push('-');
        }
        name.extend(c.to_lowercase());
    }
    name
}

//! The project home's live state (registry, presence, ledger, deliveries) at the
//! library level: round trips, hostile names, corrupt files, concurrent writers,
//! lease boundaries, pruning. Each test builds its own `ProjectHome { dir }` in a
//! temp dir; no environment variables, so tests run in parallel.

#[path = "../common/mod.rs"]
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::files_under;
use strand::error::Error;
use strand::home::ProjectHome;
use strand::home::deliveries::{self, Delivery};
use strand::home::ledger::{self, Entry, Event};
use strand::home::presence::{self, AgentState};
use strand::home::registry;
use strand::model::time;

mod files;
mod ledger_tests;
mod registry_tests;

const T0: &str = "2026-03-01T12:00:00.000000000Z";
const SEC: i64 = 1_000_000_000;

fn at(offset_ns: i64) -> String {
    time::format(time::parse(T0).unwrap() + offset_ns)
}

/// A temp dir with the home at `<tmp>/state/home`, so a name escaping the home
/// would land in `<tmp>/state` or `<tmp>` where [`assert_contained`] sees it.
fn setup() -> (tempfile::TempDir, ProjectHome) {
    // Library calls only, no `bd` run: a scratch folder, not a TestEnvironment.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state").join("home");
    fs::create_dir_all(&dir).unwrap();
    (tmp, ProjectHome { dir })
}

fn workspace(tmp: &Path, name: &str) -> PathBuf {
    let root = tmp.join("ws").join(name);
    fs::create_dir_all(root.join(".beads")).unwrap();
    fs::canonicalize(root).unwrap()
}

/// Every file in the temp dir outside `ws/` is inside the home.
fn assert_contained(tmp: &Path, home: &ProjectHome) {
    for f in files_under(tmp) {
        assert!(
            f.starts_with(&home.dir) || f.starts_with(tmp.join("ws")),
            "written outside the home: {}",
            f.display()
        );
    }
}

fn entry(issue: &str, event: Event, at_: &str, epoch: i64) -> Entry {
    Entry {
        issue: issue.into(),
        event,
        at: at_.into(),
        by: "dave/vc".into(),
        workspace: PathBuf::from("/src/dave/vc"),
        epoch,
        on: None,
        until: None,
        status: None,
        assignee: None,
        created: None,
    }
}

fn claimed(holder: &str) -> Event {
    Event::Claimed {
        holder: holder.into(),
        started_at: T0.into(),
    }
}

fn delivery(agent: &str, issue: &str, epoch: i64) -> Delivery {
    Delivery {
        agent: agent.into(),
        issue: issue.into(),
        by: "mayor".into(),
        at: T0.into(),
        epoch,
        note: None,
    }
}

fn corrupt_copies(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    let mut v: Vec<PathBuf> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{name}.corrupt-"))
        })
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------
// Corrupt files: empty state, a warning, the file moved aside, the next write works.

const GARBAGE: &[&[u8]] = &[
    b"\x00\xff\xfe garbage \x80",
    b"{\"workspaces\": {\"/x\": {\"root\": \"/x\", \"regis",
    b"{\"entries\": 5, \"workspaces\": [1, 2], \"agent\": 7, \"deliveries\": {}}",
    b"[1, 2, 3]",
    b"\"just a string\"",
];

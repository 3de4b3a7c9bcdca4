//! Hook deliveries: when `bd sling` puts an issue on an agent's hook in one
//! workspace, the agent may be working in another; a delivery here makes the
//! sling visible to every workspace of the project at once. The effective hook
//! is the agent's hook file overlaid with its pending deliveries; the agent's
//! next write materializes them into its hook file and [`acknowledge`]s them.
//!
//! One file per agent, `<home>/deliveries/<escaped agent>.json`, pretty JSON
//! `{"agent": "...", "deliveries": [Delivery, …]}` sorted by issue, at most one
//! delivery per issue; lock `<home>/deliveries/<escaped agent>.lock`. A file
//! left with no deliveries is removed. Agent names follow
//! [`super::presence::validate_agent_name`].

use crate::files as fs;
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::presence::validate_agent_name;
use super::registry::{
    join_warnings, load_json_checked, load_json_locked_checked, validate_name, write_json,
};
use super::{ProjectHome, escape};
use crate::error::{Error, Result};
use crate::model::time;

const DIR: &str = "deliveries";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub agent: String,
    pub issue: String,
    /// Who slung it.
    pub by: String,
    pub at: String,
    pub epoch: i64,
    /// The sling's `--note`, so the agent sees it from any workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AgentFile {
    agent: String,
    #[serde(default)]
    deliveries: Vec<Delivery>,
}

fn lock_name(agent: &str) -> String {
    format!("{DIR}/{}", escape(agent))
}

fn file(home: &ProjectHome, agent: &str) -> PathBuf {
    home.path(DIR).join(format!("{}.json", escape(agent)))
}

/// A stored file must belong to the agent its name says, and hold only that
/// agent's deliveries; anything else was edited by hand and counts as corrupt.
fn check_for(stem: String) -> impl Fn(&AgentFile) -> std::result::Result<(), String> {
    move |f| {
        if escape(&f.agent) != stem || validate_agent_name(&f.agent).is_err() {
            return Err(format!(
                "it holds deliveries for {:?}, not the agent its name says",
                f.agent
            ));
        }
        match f.deliveries.iter().find(|d| d.agent != f.agent) {
            Some(d) => Err(format!("it holds a delivery for {:?}", d.agent)),
            None => Ok(()),
        }
    }
}

/// Read-modify-write one agent's deliveries under its lock; `change` returns
/// what it returns to the caller. Writes only when the list changed.
fn update<T>(
    home: &ProjectHome,
    agent: &str,
    change: impl FnOnce(&mut Vec<Delivery>) -> T,
) -> Result<(T, Option<String>)> {
    validate_agent_name(agent)?;
    let dir = home.path(DIR);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let _lock = home.lock(&lock_name(agent))?;
    let path = file(home, agent);
    let (stored, warning): (AgentFile, _) =
        load_json_locked_checked(&path, &check_for(escape(agent)))?;
    let mut list = stored.deliveries;
    let before = list.clone();
    let out = change(&mut list);
    if list != before {
        list.sort_by(|a, b| a.issue.cmp(&b.issue));
        if list.is_empty() {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        } else {
            let file = AgentFile {
                agent: agent.to_string(),
                deliveries: list,
            };
            write_json(&path, &file)?;
        }
    }
    Ok((out, warning))
}

/// Put `d.issue` on `d.agent`'s pending deliveries, replacing an earlier
/// delivery of the same issue unless that one has a higher epoch (a late,
/// stale sling loses). Returns whether anything changed.
pub fn deliver(home: &ProjectHome, d: &Delivery) -> Result<(bool, Option<String>)> {
    deliver_many(home, &d.agent, std::slice::from_ref(d))
}

/// [`deliver`] for several issues to one agent, in one write of its file.
pub fn deliver_many(
    home: &ProjectHome,
    agent: &str,
    ds: &[Delivery],
) -> Result<(bool, Option<String>)> {
    for d in ds {
        validate_name("issue", &d.issue)?;
        validate_name("actor", &d.by)?;
        if d.agent != agent {
            return Err(Error::invalid(format!(
                "delivery of {} is for {:?}, not {agent:?}",
                d.issue, d.agent
            )));
        }
        if time::parse(&d.at).is_none() {
            return Err(Error::invalid(format!(
                "delivery of {}: `at` is not an RFC 3339 time: {:?}",
                d.issue, d.at
            )));
        }
    }
    update(home, agent, |list| {
        let mut changed = false;
        for d in ds {
            changed |= match list.iter_mut().find(|x| x.issue == d.issue) {
                Some(old) if old.epoch > d.epoch || old == d => false,
                Some(old) => {
                    *old = d.clone();
                    true
                }
                None => {
                    list.push(d.clone());
                    true
                }
            };
        }
        changed
    })
}

/// The deliveries waiting for `agent`, by issue. An invalid name has none.
pub fn pending_for(home: &ProjectHome, agent: &str) -> (Vec<Delivery>, Option<String>) {
    if validate_agent_name(agent).is_err() {
        return (Vec::new(), None);
    }
    let (f, warning): (AgentFile, _) = load_json_checked(
        home,
        &lock_name(agent),
        &file(home, agent),
        &check_for(escape(agent)),
    );
    (f.deliveries, warning)
}

/// The agent has materialized `issue` into its hook file: drop the delivery.
/// Returns whether there was one.
pub fn acknowledge(home: &ProjectHome, agent: &str, issue: &str) -> Result<(bool, Option<String>)> {
    update(home, agent, |list| {
        let before = list.len();
        list.retain(|d| d.issue != issue);
        list.len() != before
    })
}

/// Withdraw `issue` from every agent's deliveries except `keep` (unhook,
/// re-sling to someone else, close, delete). Returns how many were dropped.
pub fn retract(
    home: &ProjectHome,
    issue: &str,
    keep: Option<&str>,
) -> Result<(usize, Option<String>)> {
    retract_many(home, &[(issue.to_string(), keep.map(str::to_string))])
}

/// [`retract`] for several `(issue, agent to keep it)` at once: every agent's
/// file is read once and written at most once.
pub fn retract_many(
    home: &ProjectHome,
    items: &[(String, Option<String>)],
) -> Result<(usize, Option<String>)> {
    let (all, mut warning) = load(home);
    let mut dropped = 0;
    for (agent, list) in all {
        let gone = |d: &Delivery| {
            items
                .iter()
                .any(|(issue, keep)| d.issue == *issue && keep.as_deref() != Some(agent.as_str()))
        };
        if !list.iter().any(gone) {
            continue;
        }
        let (n, w) = update(home, &agent, |list| {
            let before = list.len();
            list.retain(|d| !gone(d));
            before - list.len()
        })?;
        dropped += n;
        warning = warning.or(w);
    }
    Ok((dropped, warning))
}

/// The bytes of delivery files, as they were before a change, so a command
/// that fails after writing them puts them back exactly (issue 9, item 8).
#[derive(Debug, Default)]
pub struct Saved(Vec<(String, Option<Vec<u8>>)>);

/// Save every agent's delivery file and those of `agents` (present or not):
/// the files [`deliver_many`] to them and [`retract_many`] may write.
pub fn save(home: &ProjectHome, agents: &[&str]) -> Result<Saved> {
    let dir = home.path(DIR);
    let mut stems = super::registry::json_stems(&dir).map_err(Error::invalid)?;
    stems.extend(agents.iter().map(|a| escape(a)));
    stems.sort();
    stems.dedup();
    let mut out = Vec::new();
    for stem in stems {
        let path = dir.join(format!("{stem}.json"));
        let bytes = match fs::read(&path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&path, e)),
        };
        out.push((stem, bytes));
    }
    Ok(Saved(out))
}

/// Put saved delivery files back (each under its lock), where they differ.
pub fn restore(home: &ProjectHome, saved: &Saved) -> Result<()> {
    let dir = home.path(DIR);
    for (stem, before) in &saved.0 {
        let _lock = home.lock(&format!("{DIR}/{stem}"))?;
        let path = dir.join(format!("{stem}.json"));
        let now = match fs::read(&path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&path, e)),
        };
        if now == *before {
            continue;
        }
        match before {
            Some(b) => crate::files::atomic::write(&path, b)?,
            None => fs::remove_file(&path).map_err(|e| Error::io(&path, e))?,
        }
    }
    Ok(())
}

/// Every agent's pending deliveries (agents without any are absent). Corrupt
/// files are moved aside and reported.
pub fn load(home: &ProjectHome) -> (BTreeMap<String, Vec<Delivery>>, Option<String>) {
    let mut all = BTreeMap::new();
    let mut warnings = Vec::new();
    let dir = home.path(DIR);
    let stems = match super::registry::json_stems(&dir) {
        Ok(s) => s,
        Err(w) => return (all, Some(w)),
    };
    for stem in stems {
        let path = dir.join(format!("{stem}.json"));
        let lock = format!("{DIR}/{stem}");
        let (f, warning): (AgentFile, _) = load_json_checked(home, &lock, &path, &check_for(stem));
        warnings.extend(warning);
        if !f.deliveries.is_empty() {
            all.insert(f.agent, f.deliveries);
        }
    }
    (all, join_warnings(warnings))
}

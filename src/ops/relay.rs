//! Handoffs across machines (issue 14; docs/DESIGN.md "Handoffs across
//! machines"): mail to a project with no workspace on this machine goes to
//! that project's git remote, as `refs/beads/spool/<msg id>`, and what it
//! makes of the message comes back to the sender's remote as
//! `refs/beads/spool/links/…` (`git::spool`).
//!
//! - Where a project's mail goes ([`route`]): into its spool in the project
//!   home on this machine when a workspace of it is registered here, else to
//!   the remote this machine's config names for it (`bd config set --machine
//!   projects.<name>.remote URL`; a committed URL is never used), else into
//!   the spool here, pending until a workspace of it shows up.
//! - Sending ([`send`]): the message waits in this project's home
//!   (`home::relay`) and is pushed without force; offline, refused or
//!   deferred (a reply made by a comment), it waits with its reason for the
//!   next `bd sync` ([`settle`]). Links to such a project wait there too
//!   ([`tell`]) and go at the next sync.
//! - Receiving ([`receive`]): `bd sync` and `bd mail inbox --fetch` fetch
//!   the spool of this project's own remote; messages go into the spool of
//!   the home (the import is the local one, `ops::mail`), links into its
//!   links. [`settle`] deletes each ref, leased on its observed tip, once
//!   its message is in a commit the sync pushed (a crash before that
//!   imports it again, idempotently), and a link once recorded.
//!
//! This module never imports mail itself (`ops::mail` does, and calls it).

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::files::content;
use crate::git::refs::{self, Pushed, Update};
use crate::git::spool;
use crate::home::mailbox::{self, Link, SpoolItem};
use crate::home::relay::{self, Outgoing, OutgoingLink};
use crate::home::{ProjectHome, machine, registry};
use crate::model::time;
use crate::ops::Session;

/// Where mail for another project goes from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Its spool in the project home on this machine.
    Local,
    /// Its remote, at this URL (this machine's config).
    Remote(String),
}

/// A project this machine's config names: the name given, the identity it
/// stands for (the committed `[projects]` entry of that name, else the
/// name itself), and its remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineProject {
    pub name: String,
    pub identity: String,
    pub url: String,
}

/// The projects this machine's config gives a remote.
pub fn machine_projects(ctx: &Session) -> Vec<MachineProject> {
    let Ok(Some(home)) = ctx.home() else {
        return vec![];
    };
    let (cfg, warn) = machine::load(&home);
    if let Some(w) = warn {
        ctx.warn(w);
    }
    let committed = ctx.config.projects();
    cfg.projects
        .into_iter()
        .filter_map(|(name, e)| {
            let url = e.remote?;
            let identity = committed
                .iter()
                .find(|(k, _)| *k == name)
                .map_or_else(|| name.clone(), |(_, id)| id.clone());
            Some(MachineProject {
                name,
                identity,
                url,
            })
        })
        .collect()
}

/// The remote this machine's config gives project `identity`.
pub fn machine_remote(ctx: &Session, identity: &str) -> Option<String> {
    machine_projects(ctx)
        .into_iter()
        .find(|p| p.identity == identity)
        .map(|p| p.url)
}

/// Where mail for `project` goes from here.
pub fn route(ctx: &Session, project: &str) -> Route {
    let here =
        mailbox::existing(ctx.home_base(), project).is_some_and(|h| !registry::live(&h).is_empty());
    if here {
        return Route::Local;
    }
    machine_remote(ctx, project).map_or(Route::Local, Route::Remote)
}

/// Warn about each `projects.<name>.remote` in the committed config.toml:
/// it is ignored (a repository never says where this machine sends mail).
pub fn warn_committed_remotes(ctx: &Session) {
    for key in ctx.config.committed_remotes() {
        ctx.warn(format!(
            "{}: {key} is ignored: another project's remote is set on each machine, never in a committed file (`bd config set --machine {key} URL`)",
            ctx.ws.config_path().display()
        ));
    }
}

/// What became of a message for a project reached through its remote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Relayed {
    pub project: String,
    /// The remote took it (it waits there for the project's import).
    pub pushed: bool,
    /// Why it has not gone yet (`bd sync` tries again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn own_home(ctx: &Session) -> Result<ProjectHome> {
    ctx.home()?.ok_or_else(|| {
        Error::invalid("mail through another project's remote needs this project's home")
    })
}

const WAITS_FOR_SYNC: &str = "waits for the next `bd sync` to push it";

fn offline_reason() -> String {
    "not pushed: --offline keeps this command off the network; the next `bd sync` pushes it".into()
}

fn refused_reason(why: &str) -> String {
    format!("its remote refused the push ({why}); the next `bd sync` tries again")
}

/// Send a message to `project` through its remote `url`: queued in the
/// home first, then pushed when `push_now` and the network is allowed.
pub fn send(
    ctx: &Session,
    project: &str,
    url: &str,
    item: SpoolItem,
    bodies: &[(String, Vec<u8>)],
    push_now: bool,
) -> Result<Relayed> {
    let home = own_home(ctx)?;
    let id = item.message.id.clone();
    let mut out = Outgoing {
        project: project.to_string(),
        item,
        at: ctx.now_text(),
        pushed_at: None,
        reason: Some(WAITS_FOR_SYNC.into()),
    };
    if push_now && ctx.env.offline {
        out.reason = Some(offline_reason());
    }
    relay::queue(&home, &out, bodies)?;
    if push_now && !ctx.env.offline {
        match push_message(ctx, url, &out.item, bodies) {
            Ok(()) => {
                out.pushed_at = Some(ctx.now_text());
                out.reason = None;
            }
            Err(why) => out.reason = Some(refused_reason(&why)),
        }
        relay::mark(
            &home,
            &id,
            project,
            out.pushed_at.clone(),
            out.reason.clone(),
        )?;
    }
    Ok(Relayed {
        project: project.to_string(),
        pushed: out.pushed_at.is_some(),
        reason: out.reason,
    })
}

/// Whether a message for `project` is queued here (pushed or not).
pub fn queued(ctx: &Session, id: &str, project: &str) -> bool {
    matches!(ctx.home(), Ok(Some(h)) if relay::find(&h, id, project).is_some())
}

/// Why a message for `project` is still pending, as far as this machine
/// knows: not pushed yet (and why), or on the remote, not yet imported.
pub fn pending_reason(ctx: &Session, id: &str, project: &str) -> Option<String> {
    let home = ctx.home().ok().flatten()?;
    let out = relay::find(&home, id, project)?;
    match out.pushed_at {
        Some(at) => Some(format!(
            "on its remote since {at}; waits for {project} to import it (its `bd sync`)"
        )),
        None => out.reason,
    }
}

/// Tell `project` what this project made of its message: a link in its
/// home here, or queued for its remote (pushed by the next `bd sync`).
pub fn tell(ctx: &Session, project: &str, link: &Link) -> Result<()> {
    if let Route::Remote(_) = route(ctx, project) {
        return relay::queue_link(&own_home(ctx)?, project, link);
    }
    if mailbox::existing(ctx.home_base(), project).is_none() {
        ctx.note(format!(
            "{project} has no workspace on this machine and this machine's config names no remote for it: it learns what became of {} when one of its workspaces here runs bd (or `bd config set --machine projects.<name>.remote URL`, then `bd sync`)",
            link.message
        ));
    }
    let theirs = ProjectHome::open(ctx.home_base(), project)?;
    mailbox::link_put(&theirs, link)
}

/// Push a message's spool commit to `url`. `Err(why)` when the remote
/// did not take it (a remote that already holds it took it).
fn push_message(
    ctx: &Session,
    url: &str,
    item: &SpoolItem,
    bodies: &[(String, Vec<u8>)],
) -> std::result::Result<(), String> {
    let mut json = serde_json::to_vec_pretty(item).map_err(|e| e.to_string())?;
    json.push(b'\n');
    let paths: Vec<String> = bodies
        .iter()
        .map(|(sha, _)| format!("{}/{sha}", spool::ATTACHMENTS))
        .collect();
    let mut changes: Vec<refs::Change> = vec![(spool::MESSAGE, Some(json.as_slice()))];
    for (p, (_, b)) in paths.iter().zip(bodies) {
        changes.push((p.as_str(), Some(b.as_slice())));
    }
    let id = &item.message.id;
    let commit = refs::write_commit_at(
        &ctx.ws.root,
        None,
        &changes,
        None,
        &format!("bd: spool {id}"),
        seconds(&item.message.created_at),
    )
    .map_err(|e| e.to_string())?;
    push_new(ctx, url, &spool::message_ref(id), &commit)
}

/// Seconds since the epoch of an RFC 3339 time (0 when it does not parse).
fn seconds(at: &str) -> i64 {
    time::parse(at).map_or(0, |ns| ns.div_euclid(1_000_000_000))
}

/// Push `commit` to a new ref, without force. A refusal where the remote
/// already has the ref (an earlier push of the same content) is success.
fn push_new(
    ctx: &Session,
    url: &str,
    refname: &str,
    commit: &str,
) -> std::result::Result<(), String> {
    let up = Update {
        refname: refname.to_string(),
        to: Some(commit.to_string()),
        lease: None,
    };
    let why = match refs::push(&ctx.ws.root, url, &[up], false) {
        Ok(Pushed::Taken) => return Ok(()),
        Ok(Pushed::Refused { why, .. }) => why,
        Err(e) => return Err(e.to_string()),
    };
    match refs::ls_remote(&ctx.ws.root, url, refname) {
        Ok(Ok(listed)) if listed.iter().any(|(n, _)| n == refname) => Ok(()),
        _ => Err(why),
    }
}

/// What a receive fetched from this project's remote.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// The remote (this project's own).
    pub remote: String,
    pub seen: Vec<Seen>,
}

/// One spool ref of the remote and what was done with it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Its name on the remote, and the tip observed.
    pub refname: String,
    pub tip: String,
    pub got: Got,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// A message, put into the spool here (or already committed).
    Message(String),
    /// A link, recorded in the home.
    Link,
    /// Something that could not be taken in: set aside here, warned about.
    SetAside,
}

/// Fetch this project's spool from its own remote: messages into the
/// home's spool (unless already in the committed `mail.jsonl`), links into
/// the home's links. `None` without a project home (coordination
/// `workspace`, an unproven workspace): nothing is fetched.
pub fn receive(ctx: &Session) -> Result<Option<Received>> {
    if ctx.env.offline {
        return Err(Error::Invalid {
            msg: "fetching mail asks the git remote, and --offline keeps this command off the network".into(),
            hint: Some("run it with the network".into()),
        });
    }
    let Some(home) = ctx.home()? else {
        return Ok(None);
    };
    let remote = crate::ops::remote::own_remote(ctx)?;
    let root = &ctx.ws.root;
    if let Err(why) = refs::fetch(root, &remote, spool::PATTERN)? {
        return Err(Error::invalid(format!(
            "cannot fetch mail from the remote '{remote}': {why}"
        )));
    }
    let committed = committed_mail(ctx);
    let mut rec = Received {
        remote,
        seen: vec![],
    };
    let (mut messages, mut links) = (0, 0);
    for (local, tip) in refs::list(root, spool::TRACKING)? {
        let refname = refs::untracking(&local);
        let got = match spool::kind(&local) {
            Some(spool::Kind::Message(key)) => match unpack_message(ctx, &tip, &key) {
                Ok((item, _)) if is_committed(&committed, &item.message.id) => {
                    Got::Message(item.message.id)
                }
                Ok((item, bodies)) => {
                    mailbox::spool_put(&home, &item, &bodies)?;
                    messages += 1;
                    Got::Message(item.message.id)
                }
                Err((why, item)) => {
                    set_aside(ctx, &home, &key, &why, item.as_deref());
                    Got::SetAside
                }
            },
            Some(spool::Kind::Link) => match unpack_link(ctx, &tip) {
                Ok(link) => {
                    mailbox::link_put(&home, &link)?;
                    links += 1;
                    Got::Link
                }
                Err(why) => {
                    ctx.warn(format!(
                        "{refname} on '{}' is not a link bd can read ({why}); it is removed",
                        rec.remote
                    ));
                    Got::SetAside
                }
            },
            None => continue,
        };
        rec.seen.push(Seen { refname, tip, got });
    }
    if messages + links > 0 {
        ctx.notice(format!(
            "Fetched {messages} message(s) and {links} report(s) from other projects through '{}'",
            rec.remote
        ));
    }
    Ok(Some(rec))
}

/// Attachment bodies by SHA-256.
pub type Bodies = Vec<(String, Vec<u8>)>;

type Unpacked = (SpoolItem, Bodies);
/// Why a message cannot be taken in, with its item when that parsed.
type Unreadable = (String, Option<Box<SpoolItem>>);

/// A message commit's spool item and attachment bodies, each checked by
/// its hash. `Err` says why not, with the item when it parsed.
fn unpack_message(
    ctx: &Session,
    tip: &str,
    key: &str,
) -> std::result::Result<Unpacked, Unreadable> {
    let root = &ctx.ws.root;
    let body = refs::read_file(root, tip, spool::MESSAGE)
        .map_err(|e| (e.to_string(), None))?
        .ok_or_else(|| (format!("it holds no {}", spool::MESSAGE), None))?;
    let item: SpoolItem = serde_json::from_slice(&body)
        .map_err(|e| (format!("{} does not parse: {e}", spool::MESSAGE), None))?;
    if spool::key(&item.message.id) != key {
        return Err((
            "its name is not its message's id".into(),
            Some(Box::new(item.clone())),
        ));
    }
    let files = refs::read_dir(root, tip, spool::ATTACHMENTS).map_err(|e| (e.to_string(), None))?;
    let mut bodies = Vec::new();
    for a in &item.message.attachments {
        let found = files.iter().find(|(n, _)| *n == a.sha256);
        match found {
            Some((_, b)) if content::sha256_hex(b) == a.sha256 => {
                bodies.push((a.sha256.clone(), b.clone()));
            }
            Some(_) => {
                return Err((
                    format!("attachment {:?} does not match its SHA-256", a.name),
                    Some(Box::new(item.clone())),
                ));
            }
            None => {
                return Err((
                    format!("attachment {:?} is missing", a.name),
                    Some(Box::new(item.clone())),
                ));
            }
        }
    }
    Ok((item, bodies))
}

/// A link commit's link, checked.
fn unpack_link(ctx: &Session, tip: &str) -> std::result::Result<Link, String> {
    let body = refs::read_file(&ctx.ws.root, tip, spool::LINK)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("it holds no {}", spool::LINK))?;
    let link: Link = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let clean = |s: &str| !s.chars().any(char::is_control);
    if !crate::model::mail::valid_id(&link.message) {
        return Err(format!("{:?} is not a message id", link.message));
    }
    if link.project.is_empty() || !clean(&link.project) || !clean(&link.title) {
        return Err("its project or title is empty or has control characters".into());
    }
    crate::home::check_identity(&link.project).map_err(|e| e.to_string())?;
    if time::parse(&link.at).is_none() {
        return Err(format!("{:?} is not a time", link.at));
    }
    Ok(link)
}

/// Keep what could not be taken in for a human (`spool/<key>.rejected`),
/// warn, and tell the sender when it is known.
fn set_aside(ctx: &Session, home: &ProjectHome, key: &str, why: &str, item: Option<&SpoolItem>) {
    let bytes = item
        .and_then(|i| serde_json::to_vec_pretty(i).ok())
        .unwrap_or_default();
    if let Err(e) = mailbox::spool_set_aside(home, key, &bytes) {
        ctx.warn(format!("cannot keep the message {key}: {e}"));
    }
    ctx.warn(format!(
        "a message for this project on its remote ({key}) is malformed ({why}); set aside as .rejected and removed from the remote"
    ));
    let Some(item) = item else { return };
    if crate::home::check_identity(&item.from_project).is_err()
        || !crate::model::mail::valid_id(&item.message.id)
    {
        return;
    }
    let Ok(own) = ctx.identity() else { return };
    let link = Link {
        message: item.message.id.clone(),
        project: own.identity,
        issue: String::new(),
        status: crate::model::mail::REJECTED.into(),
        title: why.to_string(),
        at: ctx.now_text(),
    };
    if let Err(e) = tell(ctx, &item.from_project, &link) {
        ctx.warn(format!("cannot tell {} why: {e}", item.from_project));
    }
}

/// `.beads/mail.jsonl` as HEAD has it (empty when unreadable).
fn committed_mail(ctx: &Session) -> String {
    let read = || -> Result<Vec<u8>> {
        let repo = crate::git::open(&ctx.ws.root)?;
        let head = crate::git::history::resolve(&repo, "HEAD")?;
        crate::git::history::read_at(&repo, head, ".beads/mail.jsonl")
    };
    read()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn is_committed(mail: &str, id: &str) -> bool {
    let needle = format!("\"id\":{}", serde_json::Value::from(id));
    mail.contains(&needle)
}

/// After `bd sync`'s push: push what waits for other projects' remotes,
/// then remove from this project's remote what `received` took in (a
/// message once it is in a commit the upstream has). Best effort: problems
/// are warnings.
pub fn settle(ctx: &Session, received: Option<Received>) {
    if ctx.env.offline {
        return;
    }
    warn_committed_remotes(ctx);
    let Ok(Some(home)) = ctx.home() else { return };
    push_waiting(ctx, &home);
    if let Some(r) = received {
        clear_spool(ctx, &home, r);
    }
}

/// Push the messages and links waiting in the home; forget the messages
/// the other project has reported on.
fn push_waiting(ctx: &Session, home: &ProjectHome) {
    let reported = mailbox::links(home);
    let (mut messages, mut links) = (0, 0);
    for out in relay::outgoing(home) {
        let id = out.item.message.id.clone();
        let seen = reported
            .get(&id)
            .is_some_and(|ls| ls.iter().any(|l| l.project == out.project));
        if seen {
            if let Err(e) = relay::forget(home, &id, &out.project) {
                ctx.warn(format!("cannot forget the sent {id}: {e}"));
            }
            continue;
        }
        if out.pushed_at.is_some() {
            continue;
        }
        let Some(url) = machine_remote(ctx, &out.project) else {
            let why = format!(
                "this machine's config names no remote for {} any more",
                out.project
            );
            let _ = relay::mark(home, &id, &out.project, None, Some(why));
            continue;
        };
        let mut bodies = Vec::new();
        for a in &out.item.message.attachments {
            match content::get_in(&relay::attachments(home), &a.sha256) {
                Ok(b) => bodies.push((a.sha256.clone(), b)),
                Err(e) => ctx.warn(format!("{id}: attachment {} is lost: {e}", a.name)),
            }
        }
        let (pushed_at, reason) = match push_message(ctx, &url, &out.item, &bodies) {
            Ok(()) => {
                messages += 1;
                (Some(ctx.now_text()), None)
            }
            Err(why) => {
                ctx.warn(format!(
                    "{id} for {} is still pending: {}",
                    out.project,
                    refused_reason(&why)
                ));
                (None, Some(refused_reason(&why)))
            }
        };
        if let Err(e) = relay::mark(home, &id, &out.project, pushed_at, reason) {
            ctx.warn(format!("cannot record the push of {id}: {e}"));
        }
    }
    for l in relay::links(home) {
        let Some(url) = machine_remote(ctx, &l.to) else {
            continue;
        };
        match push_link(ctx, &url, &l) {
            Ok(()) => {
                links += 1;
                if let Err(e) = relay::forget_link(home, &l) {
                    ctx.warn(format!("cannot forget a report pushed to {}: {e}", l.to));
                }
            }
            Err(why) => ctx.warn(format!(
                "the report on {} for {} waits for the next `bd sync`: its remote refused the push ({why})",
                l.link.message, l.to
            )),
        }
    }
    if messages + links > 0 {
        ctx.notice(format!(
            "Pushed {messages} message(s) and {links} report(s) to other projects' remotes"
        ));
    }
}

fn push_link(ctx: &Session, url: &str, l: &OutgoingLink) -> std::result::Result<(), String> {
    let mut body = serde_json::to_vec_pretty(&l.link).map_err(|e| e.to_string())?;
    body.push(b'\n');
    let commit = refs::write_commit_at(
        &ctx.ws.root,
        None,
        &[(spool::LINK, Some(body.as_slice()))],
        None,
        &format!("bd: report on {}", l.link.message),
        seconds(&l.link.at),
    )
    .map_err(|e| e.to_string())?;
    push_new(ctx, url, &spool::link_ref(&l.link.message, &body), &commit)
}

/// Delete the spool refs taken in, each leased on the tip observed (a ref
/// pushed again meanwhile stays for the next sync).
fn clear_spool(ctx: &Session, home: &ProjectHome, r: Received) {
    let root = &ctx.ws.root;
    let upstream_has_head = crate::git::remote::ahead_of_upstream(root).ok().flatten() == Some(0);
    let committed = committed_mail(ctx);
    let done: Vec<Update> = r
        .seen
        .iter()
        .filter(|s| match &s.got {
            Got::Message(id) => {
                (upstream_has_head && is_committed(&committed, id))
                    || mailbox::spool_rejected(home, id)
            }
            Got::Link | Got::SetAside => true,
        })
        .map(|s| Update {
            refname: s.refname.clone(),
            to: None,
            lease: Some(s.tip.clone()),
        })
        .collect();
    if done.is_empty() {
        return;
    }
    let gone: BTreeSet<String> = match refs::push(root, &r.remote, &done, false) {
        Ok(Pushed::Taken) => done.iter().map(|u| u.refname.clone()).collect(),
        Ok(Pushed::Refused { why, done: went }) => {
            ctx.warn(format!(
                "cannot remove mail taken in from the remote '{}' ({why}); the next `bd sync` tries again",
                r.remote
            ));
            went.into_iter().collect()
        }
        Err(e) => {
            ctx.warn(format!(
                "cannot remove mail taken in from the remote '{}': {e}",
                r.remote
            ));
            BTreeSet::new()
        }
    };
    for name in &gone {
        let _ = refs::delete_local(root, &refs::tracking(name));
    }
}

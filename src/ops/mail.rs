//! `bd mail …` (SPEC §6): messages between agents of a project and between
//! projects.
//!
//! - A message is written to the sender's `mail.jsonl` (durable, carried by
//!   git) and, for agents of this project, delivered at once to the project
//!   home's live mail, so the recipient sees it in whatever workspace it works.
//! - A message to another project is written with `delivery` pending and a copy
//!   dropped into that project's spool; that project's own `bd` imports it
//!   ([`pump`]) as a work item plus the message, and links back. Replies and
//!   comments on the item come back the same way, in the same thread. `bd`
//!   never writes into another project's working tree.
//! - [`pump`] runs before every command: imports the spool, applies links,
//!   re-posts the actor's own pending deliveries whose spool file vanished.
//! - A project with no workspace on this machine whose remote this machine's
//!   config names is reached through that remote (`ops::relay`); what its
//!   remote holds for this project is fetched by `bd sync` and `bd mail
//!   inbox --fetch` ([`fetch_remote`]) and imported here the same way.

use crate::model::kinds::Status;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::error::{Error, Missing, Result};
use crate::home::mailbox::{self, Link, SpoolItem};
use crate::home::{ProjectHome, presence};
use crate::model::id;
use crate::model::mail::{
    self, Address, Attachment, DELIVERED, Delivery, ID_LEN, IMPORTANCE, Message, PENDING,
};
use crate::model::record::{Comment, Record};
use crate::model::time;
use crate::model::values;
use crate::ops::Session;
use crate::ops::relay::{self, Route};
use crate::store::Tx;
use crate::store::attachments;
use crate::store::mail::{MailTx, scan};

/// What `bd mail send` was asked to do.
#[derive(Debug, Default, Clone)]
pub struct SendOptions {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    pub attach: Vec<PathBuf>,
    pub importance: Option<String>,
    pub ack: bool,
    pub issue: Option<String>,
    /// The type of the work item another project makes of it (default `bug`).
    pub issue_type: Option<String>,
}

/// What a send did.
#[derive(Debug, serde::Serialize)]
pub struct Sent {
    #[serde(flatten)]
    pub message: Message,
    /// Other projects the message waits for (no workspace of theirs here,
    /// or their remote did not take it).
    pub pending: Vec<String>,
    /// Other projects reached through their remote, and how it went.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remote: Vec<relay::Relayed>,
}

/// `bd mail inbox` filters.
#[derive(Debug, Default, Clone)]
pub struct InboxOptions {
    pub all: bool,
    pub from: Option<String>,
    pub thread: Option<String>,
    /// Fetch what other projects pushed to this project's remote first.
    pub fetch: bool,
}

const HANDOFF: &str = "handoff";

fn attachment_limit(ctx: &Session) -> u64 {
    ctx.config
        .get_text("attachment_limit")
        .and_then(|t| t.parse().ok())
        .unwrap_or(1_048_576)
}

fn identity(ctx: &Session) -> Result<String> {
    Ok(ctx.identity()?.identity)
}

/// Whether `name` is an agent this project knows: registered, with a hook
/// file here, or the sender itself. One file each, not a listing.
fn is_known_agent(ctx: &Session, home: &ProjectHome, name: &str) -> bool {
    name == ctx.actor
        || presence::find(home, name).0.is_some()
        || crate::store::hooks::has_hook_file(&ctx.ws, name)
}

/// Every agent this project knows (for the hint of an unknown recipient).
fn known_agents(ctx: &Session, home: &ProjectHome) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = presence::load(home).0.into_keys().collect();
    names.extend(crate::store::hooks::hook_agents(&ctx.ws));
    names.insert(ctx.actor.clone());
    names
}

/// Resolve `<project>` (SPEC §6): a key of `[projects]`, a known identity, or
/// the last part of exactly one known identity.
fn resolve_project(ctx: &Session, name: &str, explicit: bool) -> Result<String> {
    if explicit {
        return Ok(name.to_string());
    }
    let mut configured = ctx.config.projects();
    for p in relay::machine_projects(ctx) {
        if !configured.iter().any(|(k, _)| *k == p.name) {
            configured.push((p.name, p.identity));
        }
    }
    if let Some((_, id)) = configured.iter().find(|(k, _)| k == name) {
        return Ok(id.clone());
    }
    let known = mailbox::projects(ctx.home_base());
    if known.iter().any(|(id, _)| id == name) || configured.iter().any(|(_, id)| id == name) {
        return Ok(name.to_string());
    }
    let lower = name.to_lowercase();
    let mut cands: BTreeSet<String> = known
        .iter()
        .map(|(id, _)| id.clone())
        .chain(configured.iter().map(|(_, id)| id.clone()))
        .filter(|id| {
            id.rsplit('/').next().is_some_and(|last| {
                let last = last.to_lowercase();
                last == lower || last.strip_suffix(".git") == Some(lower.as_str())
            })
        })
        .collect();
    match cands.len() {
        1 => Ok(cands.pop_first().expect("one candidate")),
        0 => Err(Error::NotFound(Missing::Project {
            name: name.to_string(),
        })),
        _ => Err(Error::AmbiguousProject {
            name: name.to_string(),
            candidates: cands.into_iter().collect(),
        }),
    }
}

/// An address as the user typed it → its stored spelling, checked.
fn resolve_address(
    ctx: &Session,
    text: &str,
    own: &str,
    home: Option<&ProjectHome>,
) -> Result<Address> {
    let addr = Address::parse(text).map_err(|e| Error::Invalid {
        msg: e,
        hint: Some(
            "addresses are `name`, `name@<project>`, `@all`, `@<project>` or `project:<identity>`"
                .into(),
        ),
    })?;
    let explicit = text.starts_with("project:");
    Ok(match addr {
        Address::Agent(n) => {
            presence::validate_agent_name(&n)?;
            // A look-alike of a registered name (`DAVE`, `Ⅾave`) is that agent.
            let n = home.map_or(n.clone(), |h| presence::spelling(h, &n));
            if let Some(home) = home
                && !is_known_agent(ctx, home, &n)
            {
                return Err(Error::NotFound(Missing::Recipient {
                    name: n,
                    known: known_agents(ctx, home).into_iter().collect(),
                }));
            }
            Address::Agent(n)
        }
        Address::All => Address::All,
        Address::AgentIn(n, p) => {
            presence::validate_agent_name(&n)?;
            let p = resolve_project(ctx, &p, false)?;
            if p == own {
                return resolve_address(ctx, &n, own, home);
            }
            Address::AgentIn(n, p)
        }
        Address::Project(p) => {
            let p = resolve_project(ctx, &p, explicit)?;
            Address::Project(p)
        }
    })
}

/// The live-mail keys (agents of this project, or `@all`) a message goes to.
fn local_keys(msg: &Message, own: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for a in msg.recipients() {
        match Address::parse(a) {
            Ok(Address::Agent(n)) => {
                keys.insert(n);
            }
            Ok(Address::AgentIn(n, p)) if p == own => {
                keys.insert(n);
            }
            Ok(Address::All) => {
                keys.insert("@all".into());
            }
            Ok(Address::Project(p)) if p == own => {
                keys.insert("@all".into());
            }
            _ => {}
        }
    }
    keys
}

/// Other projects a message goes to.
fn remote_projects(msg: &Message, own: &str) -> BTreeSet<String> {
    msg.recipients()
        .filter_map(|a| Address::parse(a).ok())
        .filter_map(|a| a.project().map(str::to_string))
        .filter(|p| p != own)
        .collect()
}

fn read_attachment(ctx: &Session, path: &PathBuf) -> Result<(Attachment, Vec<u8>)> {
    let limit = attachment_limit(ctx);
    let meta = std::fs::metadata(path).map_err(|err| {
        Error::NotFound(Missing::Attachment {
            path: path.clone(),
            err,
        })
    })?;
    if !meta.is_file() {
        return Err(Error::invalid(format!(
            "attachment {} is not a file",
            path.display()
        )));
    }
    // Count the bytes read, not the size stat gives: files like
    // /proc/cpuinfo say 0 and hold more, and a file may grow meanwhile.
    let too_big = |size: String| {
        Error::Invalid {
        msg: format!(
            "attachment {} is {size} bytes; the limit is {limit}",
            path.display()
        ),
        hint: Some(
            "attach a smaller excerpt, or raise it: `bd config set attachment_limit <bytes>` (attachments are committed)"
                .into(),
        ),
    }
    };
    if meta.len() > limit {
        return Err(too_big(meta.len().to_string()));
    }
    let mut bytes = Vec::new();
    {
        use std::io::Read;
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        file.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, e))?;
    }
    if bytes.len() as u64 > limit {
        return Err(too_big(format!("more than {limit}")));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::invalid(format!("attachment {} has no file name", path.display())))?;
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "attachment name {name:?} has control characters"
        )));
    }
    let sha = attachments::sha256_hex(&bytes);
    Ok((
        Attachment {
            name,
            sha256: sha,
            size: bytes.len() as u64,
        },
        bytes,
    ))
}

/// Check and build a message (nothing written).
fn compose(
    ctx: &Session,
    o: &SendOptions,
    parent: Option<&Message>,
) -> Result<(Message, Vec<Vec<u8>>)> {
    if o.to.is_empty() {
        return Err(crate::ops::usage("give at least one recipient: --to NAME"));
    }
    let subject = o.subject.trim().to_string();
    if subject.is_empty() {
        return Err(Error::invalid("subject must not be blank"));
    }
    if subject.chars().any(char::is_control) {
        return Err(Error::invalid("subject has control characters"));
    }
    let importance = o.importance.clone().unwrap_or_else(|| "normal".into());
    if !IMPORTANCE.contains(&importance.as_str()) {
        return Err(Error::invalid(format!(
            "importance '{importance}' is not one of {}",
            IMPORTANCE.join(", ")
        )));
    }
    if let Some(t) = &o.issue_type {
        values::check_type(t, &ctx.custom_types()).map_err(Error::invalid)?;
    }
    let own = identity(ctx)?;
    let home = ctx.home()?;
    let resolve_all = |list: &[String]| -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for t in list.iter().flat_map(|t| t.split(',')).map(str::trim) {
            let a = resolve_address(ctx, t, &own, home.as_ref())?.spelled();
            if !out.contains(&a) {
                out.push(a);
            }
        }
        Ok(out)
    };
    let to = resolve_all(&o.to)?;
    let mut cc = resolve_all(&o.cc)?;
    cc.retain(|c| !to.contains(c));
    let mut atts = Vec::new();
    let mut bodies = Vec::new();
    for p in &o.attach {
        let (a, b) = read_attachment(ctx, p)?;
        atts.push(a);
        bodies.push(b);
    }
    let issue = match &o.issue {
        Some(q) => {
            let snap = ctx.snapshot()?;
            let prefix = ctx.prefix_of_rows(&snap.rows);
            let row = snap.resolve(q, &prefix)?;
            // A deleted issue is no subject, as for every other verb.
            crate::ops::write::refuse_deleted(ctx, &snap.record(row)?)?;
            Some(row.id.clone())
        }
        None => None,
    };
    let mut msg = Message {
        id: String::new(),
        thread: String::new(),
        in_reply_to: parent.map(|p| p.id.clone()),
        from: ctx.actor.clone(),
        to,
        cc,
        subject,
        body: o.body.clone(),
        importance,
        ack_required: o.ack,
        attachments: atts,
        issue,
        issue_type: o.issue_type.clone(),
        created_at: ctx.now_text(),
        ..Message::default()
    };
    let remote = remote_projects(&msg, &own);
    if !remote.is_empty() && !ctx.speaks_for_project() {
        return Err(ctx.unproven_sender());
    }
    for p in remote {
        // Refused now, not warned about on every later command: a project
        // whose home cannot exist on this machine can never take delivery.
        crate::home::check_identity(&p)?;
        msg.delivery.insert(
            p,
            Delivery {
                status: PENDING.into(),
                ..Delivery::default()
            },
        );
    }
    Ok((msg, bodies))
}

/// Write a composed message and deliver it: live mail for this project's
/// agents, the spool of every other project it names (here, or through its
/// remote: pushed now with `push_now`, else at the next `bd sync`).
fn post(
    ctx: &Session,
    mut msg: Message,
    bodies: Vec<Vec<u8>>,
    parent: Option<&Message>,
    push_now: bool,
) -> Result<Sent> {
    let own = identity(ctx)?;
    ctx.refuse_unmerged()?;
    let mut tx = MailTx::begin(&ctx.ws)?;
    let mut len = ID_LEN;
    loop {
        let id = mail::message_id(&msg.from, ctx.now, &msg.subject, &msg.body, len);
        if !tx.contains(&id) || len >= 40 {
            msg.id = id;
            break;
        }
        len += 1;
    }
    msg.thread = parent.map_or_else(|| msg.id.clone(), |p| p.thread.clone());
    let adir = attachments::dir(&ctx.ws.beads);
    for b in &bodies {
        attachments::put_in(&adir, b)?;
    }
    let normalized = tx.normalizes();
    tx.put(msg.to_record());
    tx.commit()?;
    if normalized {
        ctx.note(format!(
            "{} was not in canonical form; rewrote it canonically",
            crate::store::mail::path(&ctx.ws).display()
        ));
    }
    ctx.commit_later(format!(
        "bd: mail {} \"{}\"",
        msg.id,
        msg.subject.chars().take(50).collect::<String>()
    ));
    let home = ctx.home()?;
    let mut pending = Vec::new();
    if let Some(home) = &home {
        for key in local_keys(&msg, &own) {
            if let Err(e) = mailbox::deliver(home, &key, &msg, &bodies, &ctx.now_text()) {
                ctx.warn(format!(
                    "{} is saved but not delivered live to {key}: {e}",
                    msg.id
                ));
            }
        }
    }
    let mut remote = Vec::new();
    let others = remote_projects(&msg, &own);
    if !others.is_empty() {
        relay::warn_committed_remotes(ctx);
    }
    for p in others {
        if let Route::Remote(url) = relay::route(ctx, &p) {
            match relay_to(ctx, &p, &url, &msg, push_now) {
                Ok(r) => {
                    match &r.reason {
                        Some(why) => {
                            ctx.note(format!("delivery of {} to {p} is pending: {why}", msg.id));
                            pending.push(p);
                        }
                        None => ctx.note(format!(
                            "pushed {} to the remote of {p}; its next `bd sync` imports it",
                            msg.id
                        )),
                    }
                    remote.push(r);
                }
                Err(e) => {
                    ctx.warn(format!(
                        "{} is saved with delivery to {p} pending: {e}",
                        msg.id
                    ));
                    pending.push(p);
                }
            }
            continue;
        }
        match spool_to(ctx, &p, &msg) {
            Ok(true) => {}
            Ok(false) => {
                ctx.note(format!(
                    "delivery of {} to {p} is pending: no workspace of that project is known on this machine; the first bd command in one imports it (or name its remote: `bd config set --machine projects.<name>.remote URL`)",
                    msg.id
                ));
                pending.push(p);
            }
            Err(e) => {
                ctx.warn(format!(
                    "{} is saved with delivery to {p} pending: {e}; the next bd command retries",
                    msg.id
                ));
                pending.push(p);
            }
        }
    }
    Ok(Sent {
        message: msg,
        pending,
        remote,
    })
}

/// The copy of `msg` another project receives, and its attachment bodies
/// (from this workspace's attachments).
fn spool_item(ctx: &Session, msg: &Message) -> Result<(SpoolItem, relay::Bodies)> {
    let own = identity(ctx)?;
    let adir = attachments::dir(&ctx.ws.beads);
    let mut bodies = Vec::new();
    for a in &msg.attachments {
        bodies.push((a.sha256.clone(), attachments::get_in(&adir, &a.sha256)?));
    }
    let mut copy = msg.clone();
    copy.delivery.clear();
    copy.read_by.clear();
    copy.acked_by.clear();
    let item = SpoolItem {
        from_project: own,
        message: copy,
        issue_type: msg.issue_type.clone(),
    };
    Ok((item, bodies))
}

/// Send a copy of `msg` to project `p` through its remote `url`.
fn relay_to(
    ctx: &Session,
    p: &str,
    url: &str,
    msg: &Message,
    push_now: bool,
) -> Result<relay::Relayed> {
    if !ctx.speaks_for_project() {
        return Err(ctx.unproven_sender());
    }
    let (item, bodies) = spool_item(ctx, msg)?;
    relay::send(ctx, p, url, item, &bodies, push_now)
}

/// Drop a copy of `msg` into project `p`'s spool. Returns whether a workspace
/// of `p` is registered here (so the import will happen soon).
fn spool_to(ctx: &Session, p: &str, msg: &Message) -> Result<bool> {
    if !ctx.speaks_for_project() {
        return Err(ctx.unproven_sender());
    }
    let home = ProjectHome::open(ctx.home_base(), p)?;
    let (item, bodies) = spool_item(ctx, msg)?;
    mailbox::spool_put(&home, &item, &bodies)?;
    Ok(!crate::home::registry::live(&home).is_empty())
}

pub fn send(ctx: &Session, o: &SendOptions) -> Result<Sent> {
    let (msg, bodies) = compose(ctx, o, None)?;
    post(ctx, msg, bodies, None, true)
}

/// `bd mail reply`: to the sender (and with `all`, every other recipient),
/// same thread, `Re:` subject.
pub fn reply(ctx: &Session, id: &str, mut o: SendOptions, all: bool) -> Result<Sent> {
    let parent = get(ctx, id)?;
    let own = identity(ctx)?;
    let mut to = vec![parent.from.clone()];
    if all {
        for r in parent.recipients() {
            let me = matches!(Address::parse(r), Ok(Address::Agent(ref n)) if *n == ctx.actor)
                || matches!(Address::parse(r), Ok(Address::AgentIn(ref n, ref p)) if *n == ctx.actor && *p == own);
            if !me && !to.iter().any(|t| t == r) {
                to.push(r.to_string());
            }
        }
    }
    to.retain(|t| t != &ctx.actor);
    if to.is_empty() {
        to.push(parent.from.clone());
    }
    o.to = to;
    if o.subject.is_empty() {
        o.subject = mail::reply_subject(&parent.subject);
    }
    if o.issue.is_none() {
        // The parent's issue, while it exists and is not deleted.
        o.issue = parent.issue.clone().filter(|i| {
            ctx.snapshot()
                .ok()
                .and_then(|s| s.find(i).map(|r| r.state() != Status::Tombstone))
                .unwrap_or(false)
        });
    }
    let (msg, bodies) = compose(ctx, &o, Some(&parent))?;
    post(ctx, msg, bodies, Some(&parent), true)
}

fn stored(ctx: &Session, needles: &[String], into: &mut BTreeMap<String, Message>) -> Result<()> {
    let s = scan(&ctx.ws, needles)?;
    absorb(ctx, s, into);
    Ok(())
}

/// Messages of a scan into `into`, with one warning for lines that do not parse.
fn absorb(ctx: &Session, s: crate::store::jsonl::Scan, into: &mut BTreeMap<String, Message>) {
    if !s.bad.is_empty() {
        let known: Vec<String> = s
            .bad
            .iter()
            .filter(|n| **n > 0)
            .map(|n| n.to_string())
            .collect();
        ctx.warn(format!(
            "skipped {} line(s) of {} that do not parse{}; run `bd doctor --fix`",
            s.bad.len(),
            crate::store::mail::path(&ctx.ws).display(),
            if known.is_empty() {
                String::new()
            } else {
                format!(" (line {})", known.join(", "))
            }
        ));
    }
    for (_, rec) in s.records {
        match Message::from_record(&rec) {
            Ok(m) => crate::model::mail::combine(into, m),
            Err(e) => ctx.warn(format!(
                "{}: {} is not a message ({e}); skipped",
                crate::store::mail::path(&ctx.ws).display(),
                rec.id()
            )),
        }
    }
}

/// Every message `agent` can see: stored here or live in the project home.
fn mailbox_of(ctx: &Session, agent: &str) -> Result<(BTreeMap<String, Message>, String)> {
    let own = identity(ctx)?;
    let mut all = BTreeMap::new();
    let addresses = [
        agent.to_string(),
        "@all".to_string(),
        format!("{agent}@{own}"),
        format!("@{own}"),
    ];
    absorb(
        ctx,
        crate::store::mail::for_recipients(&ctx.ws, &addresses)?,
        &mut all,
    );
    if let Some(home) = ctx.home()? {
        for key in [agent, "@all"] {
            for m in mailbox::live(&home, key) {
                crate::model::mail::combine(&mut all, m);
            }
        }
    }
    // One's own broadcast (`@all`, the project) is not mail to oneself.
    all.retain(|_, m| m.is_for(agent, &own) && (m.from != agent || m.names(agent, &own)));
    Ok((all, own))
}

/// `bd mail inbox`: unread first (newest first within each), or all with `--all`.
pub fn inbox(ctx: &Session, o: &InboxOptions) -> Result<Vec<Message>> {
    if o.fetch {
        fetch_remote(ctx);
    }
    let agent = ctx.actor.clone();
    let (all, _) = mailbox_of(ctx, &agent)?;
    let thread = match &o.thread {
        Some(t) => Some(get(ctx, t)?.thread),
        None => None,
    };
    let mut list: Vec<Message> = all
        .into_values()
        .filter(|m| o.all || !m.is_read_by(&agent))
        .filter(|m| o.from.as_ref().is_none_or(|f| &m.from == f))
        .filter(|m| thread.as_ref().is_none_or(|t| &m.thread == t))
        .collect();
    list.sort_by(|a, b| {
        a.is_read_by(&agent)
            .cmp(&b.is_read_by(&agent))
            .then_with(|| time::parse(&b.created_at).cmp(&time::parse(&a.created_at)))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(list)
}

/// Unread messages of `agent` (for `bd agents` and `bd prime`).
pub fn unread_count(ctx: &Session, agent: &str) -> usize {
    mailbox_of(ctx, agent)
        .map(|(all, _)| all.values().filter(|m| !m.is_read_by(agent)).count())
        .unwrap_or(0)
}

/// Find one message by id or unique id prefix (`msg-` may be left out), in
/// this workspace's mail or the live mail of this agent.
pub fn get(ctx: &Session, query: &str) -> Result<Message> {
    let q = query.trim();
    if q.is_empty() {
        return Err(Error::invalid("give a message id"));
    }
    let full = if q.starts_with("msg-") {
        q.to_string()
    } else {
        format!("msg-{q}")
    };
    let mut all = BTreeMap::new();
    stored(ctx, std::slice::from_ref(&full), &mut all)?;
    add_live(ctx, &mut all)?;
    if let Some(m) = all.remove(&full) {
        return Ok(m);
    }
    let cands: Vec<String> = all
        .keys()
        .filter(|k| k.starts_with(&full))
        .cloned()
        .collect();
    match cands.len() {
        1 => Ok(all.remove(&cands[0]).expect("candidate exists")),
        0 => Err(Error::NotFound(Missing::Message {
            query: q.to_string(),
        })),
        _ => Err(Error::Ambiguous {
            prefix: q.to_string(),
            candidates: cands,
        }),
    }
}

/// Record `agent`'s mark (`read_by` or `acked_by`) on a message, in this
/// workspace's mail (copying a live message in) and the live copies. Never
/// commits by itself (SPEC §6). Returns the message and whether it changed.
fn mark(ctx: &Session, msg: &Message, fields: &[&str]) -> Result<(Message, bool)> {
    let now = ctx.now_text();
    ctx.refuse_unmerged()?;
    let mut tx = MailTx::begin(&ctx.ws)?;
    let mut rec = match tx.find(&msg.id)? {
        Some(r) => r,
        None => {
            fetch_attachments(ctx, msg);
            msg.to_record()
        }
    };
    let mut changed = false;
    for field in fields {
        let mut map: BTreeMap<String, String> = rec.json(field).unwrap_or_default();
        if !map.contains_key(&ctx.actor) {
            // Marks known from other workspaces (the live copy) come along,
            // earliest time first, so this file never records a later one.
            let known = if *field == "acked_by" {
                &msg.acked_by
            } else {
                &msg.read_by
            };
            for (k, v) in known {
                let e = map.entry(k.clone()).or_insert_with(|| v.clone());
                if time::parse(v) < time::parse(e) {
                    *e = v.clone();
                }
            }
            map.entry(ctx.actor.clone()).or_insert_with(|| now.clone());
            rec.set(field, &map);
            changed = true;
        }
    }
    if changed {
        tx.put(rec.clone());
        tx.commit()?;
        if let Some(home) = ctx.home()? {
            let own = identity(ctx)?;
            for key in local_keys(msg, &own) {
                for f in fields {
                    let _ = mailbox::mark(&home, &key, &msg.id, f, &ctx.actor, &now);
                }
            }
        }
    }
    let mut out = Message::from_record(&rec).map_err(Error::invalid)?;
    for (k, v) in &msg.read_by {
        out.read_by.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &msg.acked_by {
        out.acked_by.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Ok((out, changed))
}

/// Copy the attachments of a message first seen live into this workspace
/// (from the project home, which has them since the send).
fn fetch_attachments(ctx: &Session, msg: &Message) {
    let adir = attachments::dir(&ctx.ws.beads);
    let Ok(Some(home)) = ctx.home() else { return };
    let live = mailbox::live_attachments(&home);
    for a in &msg.attachments {
        if attachments::get_in(&adir, &a.sha256).is_ok() {
            continue;
        }
        match attachments::get_in(&live, &a.sha256) {
            Ok(b) => {
                if let Err(e) = attachments::put_in(&adir, &b) {
                    ctx.warn(format!("cannot store attachment {}: {e}", a.name));
                }
            }
            Err(_) => ctx.note(format!(
                "attachment {} of {} arrives with the sender's next sync",
                a.name, msg.id
            )),
        }
    }
}

/// The read and ack marks recipients made on their live copies (in the
/// project home), merged into a message this agent sent: the sender's own
/// copies never get them otherwise.
fn recipient_marks(ctx: &Session, msgs: &mut BTreeMap<String, Message>) -> Result<()> {
    let Some(home) = ctx.home()? else {
        return Ok(());
    };
    let own = identity(ctx)?;
    let keys: BTreeSet<String> = msgs
        .values()
        .filter(|m| m.from == ctx.actor)
        .flat_map(|m| local_keys(m, &own))
        .collect();
    for key in keys {
        for m in mailbox::live(&home, &key) {
            if msgs.contains_key(&m.id) {
                crate::model::mail::combine(msgs, m);
            }
        }
    }
    Ok(())
}

/// `bd mail sent`: the messages this agent sent, newest first, with the read
/// and ack marks merged from the durable file and every recipient's live mail.
pub fn sent(ctx: &Session) -> Result<Vec<Message>> {
    let mut all = BTreeMap::new();
    stored(ctx, &[], &mut all)?;
    if let Some(home) = ctx.home()? {
        // Sent from another workspace and not synced here yet: its live copies.
        let own = identity(ctx)?;
        let (agents, _) = presence::load(&home);
        let mut keys: BTreeSet<String> = agents.into_keys().collect();
        keys.insert("@all".into());
        keys.extend(crate::store::hooks::hook_agents(&ctx.ws));
        for key in keys {
            for m in mailbox::live(&home, &key) {
                if m.from == ctx.actor && local_keys(&m, &own).contains(&key) {
                    crate::model::mail::combine(&mut all, m);
                }
            }
        }
    }
    all.retain(|_, m| m.from == ctx.actor);
    recipient_marks(ctx, &mut all)?;
    // Why a delivery through another project's remote is still pending
    // (this machine's knowledge: never written to mail.jsonl).
    for m in all.values_mut() {
        for (p, d) in m.delivery.iter_mut() {
            if d.status == PENDING && d.reason.is_none() {
                d.reason = relay::pending_reason(ctx, &m.id, p);
            }
        }
    }
    Ok(newest_first(all.into_values().collect()))
}

/// `bd mail read`: the message, marked read by this agent if it is for it;
/// its sender sees the recipients' marks.
pub fn read(ctx: &Session, id: &str) -> Result<Message> {
    let mut msg = get(ctx, id)?;
    if msg.from == ctx.actor {
        let mut one = BTreeMap::from([(msg.id.clone(), msg)]);
        recipient_marks(ctx, &mut one)?;
        msg = one.into_values().next().expect("one message");
    }
    let own = identity(ctx)?;
    if !msg.is_for(&ctx.actor, &own) || msg.is_read_by(&ctx.actor) {
        return Ok(msg);
    }
    Ok(mark(ctx, &msg, &["read_by"])?.0)
}

/// `bd mail ack`: acknowledge (and read) a message sent to this agent.
pub fn ack(ctx: &Session, id: &str) -> Result<(Message, bool)> {
    let msg = get(ctx, id)?;
    let own = identity(ctx)?;
    if !msg.is_for(&ctx.actor, &own) {
        return Err(Error::Invalid {
            msg: format!("{} is not addressed to {}", msg.id, ctx.actor),
            hint: Some("only a recipient acknowledges; set --actor or BD_ACTOR".into()),
        });
    }
    if !msg.ack_required {
        ctx.note(format!("{} did not ask for an acknowledgement", msg.id));
    }
    let (m, changed) = mark(ctx, &msg, &["read_by", "acked_by"])?;
    if !changed {
        crate::ops::unchanged(
            ctx,
            format!("{} is already acknowledged by {}", m.id, ctx.actor),
        );
    }
    Ok((m, changed))
}

/// The live mail of this agent and of everyone, into `all`.
fn add_live(ctx: &Session, all: &mut BTreeMap<String, Message>) -> Result<()> {
    if let Some(home) = ctx.home()? {
        for key in [ctx.actor.as_str(), "@all"] {
            for m in mailbox::live(&home, key) {
                crate::model::mail::combine(all, m);
            }
        }
    }
    Ok(())
}

/// `bd mail thread`: every message of the thread `id` belongs to, oldest first.
pub fn thread(ctx: &Session, id: &str) -> Result<Vec<Message>> {
    let root = get(ctx, id)?.thread;
    let mut all = BTreeMap::new();
    stored(ctx, std::slice::from_ref(&root), &mut all)?;
    add_live(ctx, &mut all)?;
    let mut list: Vec<Message> = all.into_values().filter(|m| m.thread == root).collect();
    list.sort_by(|a, b| {
        time::parse(&a.created_at)
            .cmp(&time::parse(&b.created_at))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(list)
}

/// `bd mail search`: messages whose subject or body contains `query`
/// (case-insensitive), newest first.
pub fn search(ctx: &Session, query: &str) -> Result<Vec<Message>> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return Err(Error::invalid("give something to search for"));
    }
    let mut all = BTreeMap::new();
    stored(ctx, &[], &mut all)?;
    add_live(ctx, &mut all)?;
    let mut list: Vec<Message> = all.into_values().filter(|m| m.matches(&q)).collect();
    list.sort_by_key(|m| std::cmp::Reverse(time::parse(&m.created_at)));
    Ok(list)
}

/// Messages newest first (ties by id: every reader agrees).
fn newest_first(mut list: Vec<Message>) -> Vec<Message> {
    list.sort_by(|a, b| {
        time::parse(&b.created_at)
            .cmp(&time::parse(&a.created_at))
            .then_with(|| a.id.cmp(&b.id))
    });
    list
}

/// `bd mail list`: every message this workspace and this machine know,
/// whoever it is for, newest first (an overseer's view: `bd ui`).
pub fn all(ctx: &Session) -> Result<Vec<Message>> {
    let mut all = BTreeMap::new();
    stored(ctx, &[], &mut all)?;
    add_live(ctx, &mut all)?;
    Ok(newest_first(all.into_values().collect()))
}

/// The work-item ID a thread from another project becomes: derived from the
/// thread's first message, so every import of it agrees.
pub fn handoff_id(prefix: &str, thread: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = id::base36(&Sha256::digest(format!("handoff\0{thread}").as_bytes()));
    format!("{prefix}-m{}", &digest[..7])
}

/// `from` as seen in the receiving project: `name@<sending project>`.
fn qualify(from: &str, project: &str) -> String {
    if from.contains('@') {
        from.to_string()
    } else {
        format!("{from}@{project}")
    }
}

fn handoff_of(rec: &Record) -> Option<Value> {
    let meta: Value = rec.json("metadata")?;
    let h = meta.get(HANDOFF)?;
    h.get("message")?.as_str()?;
    h.get("project")?.as_str()?;
    Some(h.clone())
}

/// Whether this workspace imports mail from other projects: it is
/// `inbox_workspace`, or (when unset) on the default branch with no rebase or
/// merge under way. `Err` says why not.
fn import_allowed(ctx: &Session) -> std::result::Result<(), String> {
    if let Some(w) = ctx
        .config
        .get_str("inbox_workspace")
        .filter(|w| !w.is_empty())
    {
        let mine = std::fs::canonicalize(&ctx.ws.root).ok();
        return if std::fs::canonicalize(w).ok() == mine {
            Ok(())
        } else {
            Err(format!("they are imported in inbox_workspace {w}"))
        };
    }
    let dirs = crate::git::dirs(&ctx.ws.root).map_err(|e| e.to_string())?;
    if let Some(busy) = crate::git::commit::busy(&dirs) {
        return Err(format!(
            "{busy} here; another workspace or a later command imports them"
        ));
    }
    let branch = crate::git::current_branch(&dirs);
    match (branch, crate::git::default_branch(&dirs)) {
        (Some(b), Some(d)) if b == d => Ok(()),
        (Some(_), None) => Ok(()),
        (Some(b), Some(d)) => Err(format!(
            "this workspace is on {b}; they are imported on {d} (or set inbox_workspace)"
        )),
        (None, _) => Err("HEAD is detached here; they are imported on the default branch".into()),
    }
}

/// How long the bookkeeping before a command waits for the workspace lock;
/// when another command holds it longer, the work is left for a later command.
const PUMP_WAIT: std::time::Duration = std::time::Duration::from_millis(300);

/// Run before every command: import what other projects sent, apply their
/// links, re-post deliveries whose spool file vanished. Best effort: problems
/// become warnings, never a failed command.
pub fn pump(ctx: &Session) {
    let Ok(Some(home)) = ctx.home() else { return };
    let (items, warnings) = mailbox::spool_list(&home);
    for w in warnings {
        ctx.warn(w);
    }
    if !items.is_empty() {
        match import_allowed(ctx) {
            Ok(()) => match import(ctx, &home, items) {
                Ok(n) if n > 0 => {
                    ctx.notice(format!("Imported {n} message(s) from other projects"))
                }
                Ok(_) => {}
                // Another command holds the workspace: a later one imports.
                Err(Error::Locked { .. }) => {}
                Err(e) => ctx.warn(format!("cannot import mail from other projects: {e}")),
            },
            Err(why) => ctx.note(format!(
                "{} message(s) from other projects are waiting: {why}",
                items.len()
            )),
        }
    }
    if crate::store::mail::path(&ctx.ws).exists() {
        match sender_side(ctx, &home) {
            Ok(()) | Err(Error::Locked { .. }) => {}
            Err(e) => ctx.warn(format!("cannot update mail deliveries: {e}")),
        }
    }
}

/// `bd sync` and `bd mail inbox --fetch`: fetch what other projects pushed
/// to this project's own remote (`ops::relay::receive`) and take it in as
/// the spool here is taken in ([`pump`]: the import, the links). What was
/// fetched, for `ops::relay::settle` to remove from the remote once the
/// import is pushed; problems are warnings (`None`).
pub fn fetch_remote(ctx: &Session) -> Option<relay::Received> {
    match relay::receive(ctx) {
        Ok(Some(r)) => {
            pump(ctx);
            Some(r)
        }
        Ok(None) => None,
        Err(e) => {
            ctx.warn(format!("mail from other projects was not fetched: {e}"));
            None
        }
    }
}

/// Import spooled messages under the spool lock and the workspace lock.
fn import(ctx: &Session, home: &ProjectHome, items: Vec<SpoolItem>) -> Result<usize> {
    let own = identity(ctx)?;
    let _spool = home.lock("spool")?;
    let mut mtx = MailTx::begin_within(&ctx.ws, PUMP_WAIT)?;
    let mut tx = Tx::begin_under_lock(&ctx.ws, &ctx.view())?;
    let prefix = ctx.prefix_for(&tx)?;
    let adir = attachments::dir(&ctx.ws.beads);
    let spool_adir = mailbox::spool_attachments(home);
    let mut done = Vec::new();
    let mut links = Vec::new();
    let mut live = Vec::new();
    for item in items {
        // Another importer may have taken it while we waited for the lock.
        if !mailbox::spool_has(home, &item.message.id) {
            continue;
        }
        if let Some(why) = mail::check_foreign(&item.message) {
            ctx.warn(format!(
                "a message from {} in the spool is malformed ({why}); set aside as .rejected",
                item.from_project
            ));
            mailbox::spool_reject(home, &item.message.id)?;
            // Tell the sender, so it stops re-posting and says why.
            links.push((
                item.from_project.clone(),
                Link {
                    message: item.message.id.clone(),
                    project: own.clone(),
                    issue: String::new(),
                    status: mail::REJECTED.into(),
                    title: why,
                    at: ctx.now_text(),
                },
            ));
            continue;
        }
        let mut msg = item.message.clone();
        msg.from = qualify(&msg.from, &item.from_project);
        msg.delivery.clear();
        let mut complete = true;
        for a in &msg.attachments {
            match attachments::get_in(&spool_adir, &a.sha256) {
                Ok(b) => {
                    attachments::put_in(&adir, &b)?;
                }
                Err(e) => {
                    ctx.warn(format!(
                        "{} from {}: attachment {} is missing ({e}); left in the spool",
                        msg.id, item.from_project, a.name
                    ));
                    complete = false;
                }
            }
        }
        if !complete {
            continue;
        }
        let issue = handoff_id(&prefix, &msg.thread);
        let existing = if tx.contains(&issue) {
            Some(tx.get(&issue)?)
        } else {
            None
        };
        if let Some(rec) = &existing
            && handoff_of(rec).and_then(|h| h["message"].as_str().map(str::to_string))
                != Some(msg.thread.clone())
        {
            ctx.warn(format!(
                "{} from {} maps to {issue}, which is another item; left in the spool",
                msg.id, item.from_project
            ));
            continue;
        }
        let first = msg.in_reply_to.is_none();
        match existing {
            None if first => {
                tx.put(handoff_issue(ctx, &issue, &item, &msg));
            }
            Some(mut rec) if !first => {
                let c = comment_of(&issue, &msg);
                if !rec.comments().iter().any(|x| x.id == c.id) {
                    let before = rec.clone();
                    let at = rec.next_stamp(ctx.now);
                    rec.add_comment(&c);
                    crate::ops::stamp_write(ctx, &before, &mut rec, &["comments"], at);
                    tx.put(rec);
                }
            }
            _ => {}
        }
        let linked = tx.contains(&issue);
        if linked && (first || msg.issue.is_none()) {
            msg.issue = Some(issue.clone());
        } else if !linked {
            msg.issue = None;
        }
        if !mtx.contains(&msg.id) {
            mtx.put(msg.to_record());
        }
        // Every import is acknowledged, so the sender stops re-posting it.
        let (status, title) = match linked {
            true => {
                let rec = tx.get(&issue)?;
                (rec.status(), rec.title())
            }
            false => (String::new(), String::new()),
        };
        links.push((
            item.from_project.clone(),
            Link {
                message: msg.id.clone(),
                project: own.clone(),
                issue: if linked { issue.clone() } else { String::new() },
                status,
                title,
                at: ctx.now_text(),
            },
        ));
        live.push(msg.clone());
        done.push(msg.id.clone());
    }
    let subject = crate::ops::commit_subject("import mail", &tx.changes());
    let wrote = tx.commit()?;
    mtx.commit()?;
    if wrote {
        ctx.commit_later(subject);
    }
    for m in &live {
        for key in local_keys(m, &own) {
            let _ = mailbox::deliver(home, &key, m, &[], &ctx.now_text());
        }
    }
    for (project, link) in &links {
        if let Err(e) = relay::tell(ctx, project, link) {
            ctx.warn(format!("cannot tell {project} about {}: {e}", link.message));
        }
    }
    for id in &done {
        mailbox::spool_done(home, id)?;
    }
    Ok(done.len())
}

fn comment_of(issue: &str, msg: &Message) -> Comment {
    let mut text = format!("**{}**: {}\n\n{}", msg.from, msg.subject, msg.body);
    if !msg.attachments.is_empty() {
        text.push_str("\n\nAttachments:");
        for a in &msg.attachments {
            text.push_str(&format!(
                "\n- {} ({} bytes): .beads/attachments/{}",
                a.name, a.size, a.sha256
            ));
        }
    }
    let id = id::comment_id(issue, &msg.from, &msg.created_at, &text);
    Comment {
        id: id.into(),
        issue_id: issue.to_string(),
        author: msg.from.clone(),
        text,
        created_at: msg.created_at.clone(),
    }
}

/// The work item a new thread from another project becomes. Everything in it
/// comes from the message, so two imports of one message write the same bytes.
fn handoff_issue(ctx: &Session, issue: &str, item: &SpoolItem, msg: &Message) -> Record {
    let mut rec = Record::new(issue);
    let title = values::check_title(&msg.subject).unwrap_or_else(|_| "(no subject)".into());
    rec.set("title", &title);
    let mut desc = format!(
        "Handed off by {} from {} (message {}).",
        msg.from, item.from_project, msg.id
    );
    if !msg.body.trim().is_empty() {
        desc.push_str("\n\n");
        desc.push_str(&msg.body);
    }
    rec.set("description", &desc);
    rec.set_status(Status::Open);
    let priority = match msg.importance.as_str() {
        "urgent" => 0,
        "high" => 1,
        "low" => 3,
        _ => 2,
    };
    rec.set("priority", &priority);
    let ty = item
        .issue_type
        .clone()
        .filter(|t| values::check_type(t, &ctx.custom_types()).is_ok())
        .unwrap_or_else(|| "bug".into());
    rec.set("issue_type", &ty);
    rec.set("created_at", &msg.created_at);
    rec.set("created_by", &msg.from);
    rec.set("updated_at", &msg.created_at);
    rec.set(
        "metadata",
        &json!({HANDOFF: {
            "project": item.from_project,
            "message": msg.thread,
            "from": msg.from,
        }}),
    );
    rec.set("labels", &vec![HANDOFF]);
    rec.add_comment(&comment_of(issue, msg));
    rec
}

/// The sending side: apply links other projects left, re-post pending
/// deliveries whose spool file vanished (a lost project home, a spool cleared
/// by hand). Only messages stored in this workspace are touched; the list of
/// deliveries comes from the mail cache, so this costs no read of the file.
fn sender_side(ctx: &Session, home: &ProjectHome) -> Result<()> {
    let rows = crate::store::mail::deliveries(&ctx.ws)?;
    if rows.is_empty() {
        return Ok(());
    }
    let links = mailbox::links(home);
    let mut updates: BTreeMap<String, BTreeMap<String, Delivery>> = BTreeMap::new();
    let mut repost: Vec<(String, String)> = Vec::new();
    for row in rows {
        let d = &row.delivery;
        let link = links
            .get(&row.id)
            .and_then(|ls| ls.iter().find(|l| l.project == row.project));
        match link {
            Some(l) if l.status == mail::REJECTED && d.status != mail::REJECTED => {
                ctx.warn(format!("{} refused {}: {}", row.project, row.id, l.title));
                updates.entry(row.id.clone()).or_default().insert(
                    row.project.clone(),
                    Delivery {
                        status: mail::REJECTED.into(),
                        seen_at: Some(l.at.clone()),
                        reason: Some(l.title.clone()).filter(|r| !r.is_empty()),
                        ..Delivery::default()
                    },
                );
            }
            Some(l) if l.status == mail::REJECTED => {}
            Some(l) => {
                let new = Delivery {
                    status: DELIVERED.into(),
                    issue: Some(l.issue.clone()).filter(|i| !i.is_empty()),
                    issue_status: Some(l.status.clone()).filter(|s| !s.is_empty()),
                    seen_at: Some(l.at.clone()),
                    reason: None,
                };
                let newer = d.seen_at.as_deref().and_then(time::parse) <= time::parse(&l.at);
                if *d != new && (d.status == PENDING || newer) {
                    updates
                        .entry(row.id.clone())
                        .or_default()
                        .insert(row.project.clone(), new);
                }
            }
            None if d.status == PENDING => {
                // Saved before sends refused such addresses: never deliverable,
                // so rejected once instead of a warning on every command.
                if let Err(e) = crate::home::check_identity(&row.project) {
                    ctx.warn(format!(
                        "{} can never be delivered to {}…; marked rejected: {e}",
                        row.id,
                        row.project.chars().take(40).collect::<String>()
                    ));
                    updates.entry(row.id.clone()).or_default().insert(
                        row.project.clone(),
                        Delivery {
                            status: mail::REJECTED.into(),
                            seen_at: Some(ctx.now_text()),
                            reason: Some(e.to_string()),
                            ..Delivery::default()
                        },
                    );
                    continue;
                }
                let gone = match relay::route(ctx, &row.project) {
                    Route::Remote(_) => !relay::queued(ctx, &row.id, &row.project),
                    Route::Local => mailbox::existing(ctx.home_base(), &row.project)
                        .is_none_or(|h| !mailbox::spool_has(&h, &row.id)),
                };
                if gone {
                    repost.push((row.project.clone(), row.id.clone()));
                }
            }
            None => {}
        }
    }
    // Only the sender's own command re-posts (a named actor, the message's
    // `from`): a command of anyone else in a clone holding the sender's
    // pending deliveries posts nothing on its behalf.
    if !ctx.explicit_actor {
        repost.clear();
    }
    for (project, id) in &repost {
        let found = scan(&ctx.ws, std::slice::from_ref(id))?
            .records
            .into_iter()
            .map(|(_, r)| r)
            .find(|r| r.id() == id)
            .and_then(|r| Message::from_record(&r).ok());
        let Some(m) = found else { continue };
        if m.from != ctx.actor {
            continue;
        }
        let posted = match relay::route(ctx, project) {
            // Queued for the next sync: this command may not touch the network.
            Route::Remote(url) => relay_to(ctx, project, &url, &m, false).map(|_| ()),
            Route::Local => spool_to(ctx, project, &m).map(|_| ()),
        };
        match posted {
            Ok(()) => ctx.note(format!("re-posted {} to {project}", m.id)),
            Err(e) => ctx.warn(format!("cannot re-post {} to {project}: {e}", m.id)),
        }
    }
    if updates.is_empty() {
        return Ok(());
    }
    let mut tx = MailTx::begin_within(&ctx.ws, PUMP_WAIT)?;
    for (id, projects) in updates {
        let Some(mut rec) = tx.find(&id)? else {
            continue;
        };
        let mut map: BTreeMap<String, Delivery> = rec.json("delivery").unwrap_or_default();
        map.extend(projects);
        let stamp = rec.next_stamp(ctx.now);
        rec.set("delivery", &map);
        rec.stamp(&["delivery"], stamp, &ctx.actor);
        tx.put(rec);
    }
    tx.commit()?;
    Ok(())
}

/// After a write to work items that came from other projects: tell those
/// projects the item's status, and send new comments back as replies in the
/// thread. Runs after the command, outside every lock.
pub fn flow_back(ctx: &Session, pairs: &[(Option<Record>, Record)]) {
    let Ok(own) = identity(ctx) else { return };
    // An unproven workspace speaks for no project: it neither links nor
    // replies into another project's home.
    if pairs.iter().any(|(_, a)| handoff_of(a).is_some()) && !ctx.speaks_for_project() {
        ctx.note(format!(
            "the other projects of these items are not told: {}",
            ctx.unproven_sender()
        ));
        return;
    }
    for (before, after) in pairs {
        let Some(h) = handoff_of(after) else { continue };
        let project = h["project"].as_str().unwrap_or_default().to_string();
        let root = h["message"].as_str().unwrap_or_default().to_string();
        let from = h["from"].as_str().unwrap_or_default().to_string();
        if project.is_empty() || project == own {
            continue;
        }
        let link = Link {
            message: root.clone(),
            project: own.clone(),
            issue: after.id().to_string(),
            status: after.status(),
            title: after.title(),
            at: ctx.now_text(),
        };
        if let Err(e) = relay::tell(ctx, &project, &link) {
            ctx.warn(format!("cannot tell {project} about {}: {e}", after.id()));
        }
        let old: BTreeSet<String> = before
            .as_ref()
            .map(|b| b.comments().iter().map(|c| c.id.to_string()).collect())
            .unwrap_or_default();
        let suffix = format!("@{project}");
        for c in after.comments() {
            if old.contains(&c.id.to_string()) || c.author.ends_with(&suffix) {
                continue;
            }
            let parent = Message {
                id: root.clone(),
                thread: root.clone(),
                from: qualify(&from, &project),
                subject: after.title(),
                ..Message::default()
            };
            let o = SendOptions {
                to: vec![parent.from.clone()],
                subject: mail::reply_subject(&after.title()),
                body: c.text.clone(),
                issue: Some(after.id().to_string()),
                ..SendOptions::default()
            };
            let sent = compose(ctx, &o, Some(&parent)).and_then(|(mut m, b)| {
                m.from = c.author.clone();
                // After a write, not a send: the remote gets it at the next sync.
                post(ctx, m, b, Some(&parent), false)
            });
            if let Err(e) = sent {
                ctx.warn(format!(
                    "the comment on {} did not reach {project}: {e}",
                    after.id()
                ));
            }
        }
    }
}

/// A message about an issue sent to another project, and what became of it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Handoff {
    pub message: String,
    pub project: String,
    /// `pending` or `delivered`.
    pub delivery: String,
    /// The work item the other project made of it, its last known status
    /// there, when that was seen and how long ago (seconds).
    pub issue: Option<String>,
    pub status: Option<String>,
    pub seen_at: Option<String>,
    pub age_seconds: Option<i64>,
}

/// What became of the messages about `issue` sent to other projects: one
/// entry per (message, project), for `bd show`.
pub fn handoffs_of(ctx: &Session, issue: &str) -> Vec<Handoff> {
    let needle = serde_json::to_string(issue).expect("strings serialize");
    let Ok(s) = scan(&ctx.ws, &[format!("\"issue\":{needle}")]) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (_, rec) in s.records {
        let Ok(m) = Message::from_record(&rec) else {
            continue;
        };
        if m.issue.as_deref() != Some(issue) {
            continue;
        }
        for (project, d) in &m.delivery {
            let age = d
                .seen_at
                .as_deref()
                .and_then(time::parse)
                .map(|t| (ctx.now - t).max(0) / 1_000_000_000);
            out.push(Handoff {
                message: m.id.clone(),
                project: project.clone(),
                delivery: d.status.clone(),
                issue: d.issue.clone(),
                status: d.issue_status.clone(),
                seen_at: d.seen_at.clone(),
                age_seconds: age,
            });
        }
    }
    out
}

/// An attachment's body from the workspace at `root` (`bd ui`'s download),
/// checked against its hash.
pub fn attachment_at(root: &std::path::Path, sha: &str) -> Result<Vec<u8>> {
    let ws = crate::store::Workspace::open(root)?;
    attachments::get_in(&attachments::dir(&ws.beads), sha)
}

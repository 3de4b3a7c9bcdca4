//! Coordination through the git remote (issue 14; docs/DESIGN.md
//! "Coordination through the remote"): whether a command coordinates
//! through the remote, which remote and how it holds claims, the opaque
//! ids a claim commit carries, and the network rule (`--offline`).

use crate::error::{Error, Result};
use crate::ops::Session;

/// How the remote holds claims (`remote_layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// One ref per item, `refs/beads/claims/<id>`.
    Refs,
    /// One branch, `beads/claims`, holding the whole table (hosts that
    /// refuse `refs/beads/*`).
    Branch,
}

impl Layout {
    /// The word of `remote_layout`.
    pub fn word(self) -> &'static str {
        match self {
            Layout::Refs => "refs",
            Layout::Branch => "branch",
        }
    }
}

/// The remote that arbitrates, for a command in remote coordination.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Arbiter {
    /// The git remote's name (or a URL), as `git push` takes it.
    pub remote: String,
    pub layout: Layout,
}

/// Whether this command coordinates through the remote: `coordination =
/// "remote"` in config.toml, or `--remote`.
pub fn enabled(ctx: &Session) -> bool {
    ctx.env.remote || ctx.config.get_str("coordination") == Some("remote")
}

/// The arbiter of this command, `None` outside remote coordination. The
/// remote is `remote` in config.toml, else the branch's upstream remote,
/// else `origin`; a remote git does not know is an error naming it.
pub fn arbiter(ctx: &Session) -> Result<Option<Arbiter>> {
    if !enabled(ctx) {
        return Ok(None);
    }
    resolve(ctx).map(Some)
}

/// The arbiter remote coordination would use here (whatever the mode).
fn resolve(ctx: &Session) -> Result<Arbiter> {
    let layout = match ctx.config.get_str("remote_layout") {
        Some("branch") => Layout::Branch,
        _ => Layout::Refs,
    };
    let named = ctx
        .config
        .get_str("remote")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let remote = match named {
        Some(r) => r,
        None => upstream_remote(ctx)?.unwrap_or_else(|| "origin".into()),
    };
    if !crate::git::remote::is_remote(&ctx.ws.root, &remote)? {
        return Err(Error::Invalid {
            msg: format!(
                "remote coordination arbitrates through git remote '{remote}', which git does not know in {}",
                ctx.ws.root.display()
            ),
            hint: Some(
                "add it (`git remote add origin URL`), name another (`bd config set remote NAME`), or coordinate on this machine (`bd config set coordination machine`)"
                    .into(),
            ),
        });
    }
    Ok(Arbiter { remote, layout })
}

fn upstream_remote(ctx: &Session) -> Result<Option<String>> {
    let Some(branch) = crate::git::remote::branch(&ctx.ws.root)? else {
        return Ok(None);
    };
    Ok(crate::git::remote::upstream_of(&ctx.ws.root, &branch)?.map(|u| u.remote))
}

/// The refusal of a command that must ask the remote while the network is
/// forbidden (`--offline`/`--sandbox`): exit 1, naming what and why.
pub fn offline_refusal(what: &str) -> Error {
    Error::Invalid {
        msg: format!(
            "{what} asks the git remote in remote coordination, and --offline keeps this command off the network"
        ),
        hint: Some(
            "run it with the network, or `--offline-claim` to claim locally (`bd sync` arbitrates later)"
                .into(),
        ),
    }
}

/// The opaque ids a claim commit carries: (workspace, machine), SHA-256 of
/// this home's secret with the workspace's root and with nothing, so a
/// public remote learns neither a host name nor a path, yet one holder can
/// tell its own claims.
pub fn opaque_ids(ctx: &Session) -> Result<(String, String)> {
    use sha2::{Digest, Sha256};
    let Some(home) = ctx.home()? else {
        return Err(Error::invalid(
            "remote coordination needs the project home (coordination is \"workspace\" here)",
        ));
    };
    let secret = crate::home::remote::secret(&home)?;
    let hash = |what: &[u8]| {
        let mut h = Sha256::new();
        h.update(secret.as_bytes());
        h.update([0]);
        h.update(what);
        h.finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let root = std::fs::canonicalize(&ctx.ws.root).unwrap_or_else(|_| ctx.ws.root.clone());
    Ok((hash(root.as_os_str().as_encoded_bytes()), hash(b"machine")))
}

use crate::git::claims;
use crate::git::refs::{self, Pushed, Update};
use crate::model::claim::{Claim, State};

/// Where the table branch's tip is kept once fetched.
const TABLE_TRACKING: &str = "refs/beads-remote/claims-table";
/// How many times an arbitration observes and tries again after the remote
/// refused its push (someone else moved the register in between).
const ATTEMPTS: usize = 12;

/// What the remote held for one item when last observed.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The register's tip: the item's claim ref (refs), the table (branch).
    pub tip: Option<String>,
    pub claim: Option<Claim>,
}

/// A change an arbitration wants on the remote for one item.
#[derive(Debug, Clone)]
pub struct Planned {
    pub claim: Claim,
    /// Over another's claim (a steal, a forced release or close): pushed
    /// with `--force-with-lease` over the observed tip.
    pub over: bool,
}

/// A change the remote took.
#[derive(Debug, Clone)]
pub struct Taken {
    pub id: String,
    pub claim: Claim,
    /// The register's new tip.
    pub tip: String,
}

/// Fetch the registers (all claim refs, or the table branch) into their
/// tracking refs. `Err` names the remote and git's reason.
pub fn fetch(ctx: &Session, arb: &Arbiter) -> Result<()> {
    let got = match arb.layout {
        Layout::Refs => refs::fetch(&ctx.ws.root, &arb.remote, &format!("{}*", claims::PREFIX))?,
        Layout::Branch => {
            refs::fetch_into(&ctx.ws.root, &arb.remote, claims::TABLE, TABLE_TRACKING)?
        }
    };
    got.map_err(|why| unreadable(arb, &why))
}

/// Fetch the registers of `ids` only (refs layout: their refs; the table
/// is one ref anyway).
fn fetch_items(ctx: &Session, arb: &Arbiter, ids: &[String]) -> Result<()> {
    let got = match arb.layout {
        Layout::Refs => {
            let names: Vec<String> = ids.iter().map(|id| claims::ref_name(id)).collect();
            refs::fetch_exact(&ctx.ws.root, &arb.remote, &names)?
        }
        Layout::Branch => return fetch(ctx, arb),
    };
    got.map_err(|why| unreadable(arb, &why))
}

/// The error of a fetch of the claims that failed.
fn unreadable(arb: &Arbiter, why: &str) -> Error {
    Error::Invalid {
        msg: format!("cannot read the claims on remote '{}': {why}", arb.remote),
        hint: Some(
            "check the remote and the network, or work offline with `--offline-claim`".into(),
        ),
    }
}

/// Whether this tracker shows `id` claimed or hooked by `agent`.
fn held_by(snap: &crate::store::tracker::Snapshot, id: &str, agent: &str) -> bool {
    snap.find(id)
        .is_some_and(|r| r.state().is_held() && r.assignee == agent)
}

/// What the refs fetched last say of `id` (no network).
pub fn observed(ctx: &Session, arb: &Arbiter, id: &str) -> Result<Observed> {
    let root = &ctx.ws.root;
    let (tip, path) = match arb.layout {
        Layout::Refs => (
            refs::tip(root, &refs::tracking(&claims::ref_name(id)))?,
            claims::FILE.to_string(),
        ),
        Layout::Branch => (refs::tip(root, TABLE_TRACKING)?, claims::table_path(id)),
    };
    let claim = match &tip {
        Some(t) => refs::read_file(root, t, &path)?
            .as_deref()
            .and_then(Claim::parse)
            .filter(|c| c.item == id),
        None => None,
    };
    Ok(Observed { tip, claim })
}

/// Every claim the refs fetched last hold (no network), by item.
pub fn all_observed(ctx: &Session, arb: &Arbiter) -> Result<Vec<(String, Observed)>> {
    let root = &ctx.ws.root;
    let mut out = Vec::new();
    match arb.layout {
        Layout::Refs => {
            let prefix = refs::tracking(claims::PREFIX);
            let listed = refs::list(root, &prefix)?;
            let wanted: Vec<(&str, &str)> = listed
                .iter()
                .map(|(_, tip)| (tip.as_str(), claims::FILE))
                .collect();
            let bodies = refs::read_files(root, &wanted)?;
            for ((name, tip), body) in listed.into_iter().zip(bodies) {
                let Some(claim) = body
                    .as_deref()
                    .and_then(Claim::parse)
                    .filter(|c| claims::ref_name(&c.item) == refs::untracking(&name))
                else {
                    continue;
                };
                out.push((
                    claim.item.clone(),
                    Observed {
                        tip: Some(tip),
                        claim: Some(claim),
                    },
                ));
            }
        }
        Layout::Branch => {
            let Some(tip) = refs::tip(root, TABLE_TRACKING)? else {
                return Ok(out);
            };
            for (name, body) in refs::read_dir(root, &tip, claims::TABLE_DIR)? {
                let Some(claim) = Claim::parse(&body).filter(|c| {
                    format!("{}/{name}", claims::TABLE_DIR) == claims::table_path(&c.item)
                }) else {
                    continue;
                };
                out.push((
                    claim.item.clone(),
                    Observed {
                        tip: Some(tip.clone()),
                        claim: Some(claim),
                    },
                ));
            }
        }
    }
    Ok(out)
}

/// Ask the remote for `ids`: observe their registers, let `decide` say
/// what each should become (`None`: nothing; an error ends it all, nothing
/// pushed), push every change as one compare-and-swap (an atomic push of
/// the refs, or one commit of the table), and when the remote refuses
/// (someone moved a register since), observe and decide again. Claims
/// pushed are recorded as pending in the home first, for the repair of a
/// process that dies before its tracker write (`complete_pending`).
pub fn arbitrate(
    ctx: &Session,
    arb: &Arbiter,
    ids: &[String],
    pending: bool,
    mut decide: impl FnMut(&str, &Observed) -> Result<Option<Planned>>,
) -> Result<Vec<Taken>> {
    let mut last_refusal = String::new();
    // A write's first try pushes on what was fetched last, without asking
    // first: the push is the compare-and-swap (on the observed tip), so a
    // stale observation only costs a refusal, then a fetch. It is taken
    // only when every item's change is decided on it; anything else (a
    // refusal here, nothing to do) is judged again on a fresh fetch.
    let mut optimistic = pending;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            refs::backoff(attempt);
        }
        let plan = match optimistic.then(|| plan_of(ctx, arb, ids, &mut decide)) {
            Some(Ok(plan)) if plan.len() == ids.len() => plan,
            _ => {
                fetch_items(ctx, arb, ids)?;
                plan_of(ctx, arb, ids, &mut decide)?
            }
        };
        optimistic = false;
        if plan.is_empty() {
            return Ok(vec![]);
        }
        let taken = match arb.layout {
            Layout::Refs => push_refs(ctx, arb, &plan, pending)?,
            Layout::Branch => push_table(ctx, arb, &plan, pending)?,
        };
        match taken {
            Ok(t) => return Ok(t),
            Err(why) if refs::lost_race(&why) => last_refusal = why,
            // The host refuses these pushes whoever is first: no retry.
            Err(why) => {
                return Err(Error::Invalid {
                    msg: format!("remote '{}' refused the claim update: {why}", arb.remote),
                    hint: Some(
                        "`bd doctor --remote` says what this host takes (`--fix` picks the layout)"
                            .into(),
                    ),
                });
            }
        }
    }
    Err(Error::Conflict {
        msg: format!(
            "remote '{}' kept refusing the claim update ({ATTEMPTS} tries; last: {last_refusal})",
            arb.remote
        ),
        hint: Some("other agents are busy on the same claims, or the host refuses these pushes: `bd doctor --remote`".into()),
    })
}

/// What `decide` makes of each of `ids` as last fetched.
fn plan_of(
    ctx: &Session,
    arb: &Arbiter,
    ids: &[String],
    decide: &mut impl FnMut(&str, &Observed) -> Result<Option<Planned>>,
) -> Result<Vec<(String, Observed, Planned)>> {
    let mut plan = Vec::new();
    for id in ids {
        let seen = observed(ctx, arb, id)?;
        if let Some(p) = decide(id, &seen)? {
            plan.push((id.clone(), seen, p));
        }
    }
    Ok(plan)
}

fn record_pending(ctx: &Session, plan: &[(String, String, &Claim)], pending: bool) -> Result<()> {
    if !pending {
        return Ok(());
    }
    let Some(home) = ctx.home()? else {
        return Ok(());
    };
    let items: Vec<crate::home::remote::Pending> = plan
        .iter()
        .filter(|(_, _, c)| c.state == State::Claimed)
        .map(|(id, tip, c)| crate::home::remote::Pending {
            issue: id.clone(),
            agent: c.agent.clone(),
            state: c.state,
            tip: tip.clone(),
            epoch: c.epoch,
            at: ctx.now_text(),
        })
        .collect();
    crate::home::remote::add_pending(&home, &items)
}

/// Forget pending claims (their tracker write happened, or they failed).
pub fn clear_pending(ctx: &Session, ids: &[&str]) {
    if let Ok(Some(home)) = ctx.home()
        && let Err(e) = crate::home::remote::clear_pending(&home, ids)
    {
        ctx.warn(format!("cannot update the pending remote claims: {e}"));
    }
}

fn push_refs(
    ctx: &Session,
    arb: &Arbiter,
    plan: &[(String, Observed, Planned)],
    pending: bool,
) -> Result<std::result::Result<Vec<Taken>, String>> {
    let root = &ctx.ws.root;
    let mut updates = Vec::new();
    let mut taken = Vec::new();
    for (id, seen, p) in plan {
        let oid = refs::write_commit(
            root,
            None,
            &[(claims::FILE, Some(&p.claim.to_bytes()))],
            seen.tip.as_deref(),
            &subject(&p.claim),
        )?;
        updates.push(Update {
            refname: claims::ref_name(id),
            to: Some(oid.clone()),
            lease: if p.over {
                seen.tip.clone().or(Some(String::new()))
            } else {
                None
            },
        });
        taken.push(Taken {
            id: id.clone(),
            claim: p.claim.clone(),
            tip: oid,
        });
    }
    pushing(ctx, taken, pending, || {
        if updates.len() == 1 {
            return refs::push(root, &arb.remote, &updates, false);
        }
        match refs::push(root, &arb.remote, &updates, true)? {
            Pushed::Refused { why, .. } if why.contains("not support --atomic") => {
                one_by_one(ctx, arb, plan, &updates)
            }
            other => Ok(other),
        }
    })
}

/// Push what was `taken` with `push`: the claims are recorded pending first
/// (with `pending`), and forgotten again when the remote refuses.
fn pushing(
    ctx: &Session,
    taken: Vec<Taken>,
    pending: bool,
    push: impl FnOnce() -> Result<Pushed>,
) -> Result<std::result::Result<Vec<Taken>, String>> {
    let pend: Vec<(String, String, &Claim)> = taken
        .iter()
        .map(|t| (t.id.clone(), t.tip.clone(), &t.claim))
        .collect();
    record_pending(ctx, &pend, pending)?;
    match push()? {
        Pushed::Taken => Ok(Ok(taken)),
        Pushed::Refused { why, .. } => {
            let ids: Vec<&str> = taken.iter().map(|t| t.id.as_str()).collect();
            clear_pending(ctx, &ids);
            Ok(Err(why))
        }
    }
}

/// A host without atomic pushes: ref by ref, and when one is refused, the
/// ones that went through are put back as they were observed (released
/// when they were free), so a refusal leaves nothing half-claimed.
fn one_by_one(
    ctx: &Session,
    arb: &Arbiter,
    plan: &[(String, Observed, Planned)],
    updates: &[Update],
) -> Result<Pushed> {
    let root = &ctx.ws.root;
    for (i, u) in updates.iter().enumerate() {
        if let Pushed::Refused { why, .. } =
            refs::push(root, &arb.remote, std::slice::from_ref(u), false)?
        {
            for (j, done) in updates[..i].iter().enumerate() {
                let (_, seen, p) = &plan[j];
                let mut back = seen.claim.clone().unwrap_or_else(|| Claim {
                    state: State::Released,
                    ..p.claim.clone()
                });
                back.at = ctx.now_text();
                let oid = refs::write_commit(
                    root,
                    None,
                    &[(claims::FILE, Some(&back.to_bytes()))],
                    done.to.as_deref(),
                    "bd: roll back",
                )?;
                let undo = Update {
                    refname: done.refname.clone(),
                    to: Some(oid),
                    lease: None,
                };
                if let Pushed::Refused { why, .. } = refs::push(root, &arb.remote, &[undo], false)?
                {
                    ctx.warn(format!(
                        "cannot roll back {} on remote '{}': {why}",
                        done.refname, arb.remote
                    ));
                }
            }
            return Ok(Pushed::Refused { why, done: vec![] });
        }
    }
    Ok(Pushed::Taken)
}

fn push_table(
    ctx: &Session,
    arb: &Arbiter,
    plan: &[(String, Observed, Planned)],
    pending: bool,
) -> Result<std::result::Result<Vec<Taken>, String>> {
    let root = &ctx.ws.root;
    let tip = plan.first().and_then(|(_, seen, _)| seen.tip.clone());
    let paths: Vec<(String, Vec<u8>)> = plan
        .iter()
        .map(|(id, _, p)| (claims::table_path(id), p.claim.to_bytes()))
        .collect();
    let changes: Vec<refs::Change> = paths
        .iter()
        .map(|(path, body)| (path.as_str(), Some(body.as_slice())))
        .collect();
    let subject = match plan {
        [(_, _, p)] => subject(&p.claim),
        _ => format!("bd: {} claims", plan.len()),
    };
    let oid = refs::write_commit(root, tip.as_deref(), &changes, tip.as_deref(), &subject)?;
    let taken: Vec<Taken> = plan
        .iter()
        .map(|(id, _, p)| Taken {
            id: id.clone(),
            claim: p.claim.clone(),
            tip: oid.clone(),
        })
        .collect();
    let update = Update {
        refname: claims::TABLE.into(),
        to: Some(oid),
        lease: None,
    };
    pushing(ctx, taken, pending, || {
        refs::push(root, &arb.remote, &[update], false)
    })
}

/// The subject of a claim commit: what happened, to which item, by whom.
fn subject(c: &Claim) -> String {
    let what = match c.state {
        State::Claimed => "claim",
        State::Released => "release",
        State::Closed => "close",
    };
    format!("bd: {what} {} by {}", c.item, c.agent)
}

/// A claim body for `id` by `agent`, now.
pub fn body(ctx: &Session, id: &str, state: State, epoch: i64, agent: &str) -> Result<Claim> {
    let (workspace, machine) = opaque_ids(ctx)?;
    let lease_until = (state == State::Claimed).then(|| {
        crate::model::time::format(ctx.now + ctx.config.lease_secs() as i64 * 1_000_000_000)
    });
    Ok(Claim {
        item: id.to_string(),
        state,
        agent: agent.to_string(),
        epoch,
        at: ctx.now_text(),
        lease_until,
        workspace,
        machine,
    })
}

use crate::home::ledger::Event;
use crate::model::claim::{Found, judge};
use crate::model::record::Record;

/// What a coordinated write asks of the remote for one issue it changed.
#[derive(Debug, Clone)]
pub(crate) struct Want {
    pub id: String,
    pub state: State,
    /// The claim's holder (claimed), else who released or closed it.
    pub agent: String,
    pub epoch: i64,
    /// A reopen: a close on the remote becomes a release.
    pub reopen: bool,
    /// Only asked, never pushed: a write that takes an item out of open
    /// work without a claim event here (a deferral) is refused while
    /// another agent holds it on the remote (the merge would drop that
    /// claim).
    pub guard: bool,
}

/// The remote side of a ledger event (`None`: the remote holds nothing of
/// it).
pub(crate) fn want(ctx: &Session, rec: &Record, ev: &Event) -> Option<Want> {
    let (state, agent, reopen) = match ev {
        Event::Claimed { holder, .. } => (State::Claimed, holder.clone(), false),
        Event::Hooked { agent, .. } => (State::Claimed, agent.clone(), false),
        Event::Released => (State::Released, ctx.actor.clone(), false),
        Event::Reopened => (State::Released, ctx.actor.clone(), true),
        // A deleted issue is claimable nowhere, as a closed one.
        Event::Closed | Event::Deleted => (State::Closed, ctx.actor.clone(), false),
    };
    (!agent.is_empty()).then(|| Want {
        id: rec.id().to_string(),
        state,
        agent,
        epoch: rec.claim_epoch(),
        reopen,
        guard: false,
    })
}

/// The guard of a write that changed `rec` with no claim event: deferred
/// or blocked work is asked about (`Want::guard`).
pub(crate) fn guard(ctx: &Session, rec: &Record) -> Option<Want> {
    use crate::model::kinds::Status;
    matches!(rec.state(), Status::Deferred | Status::Blocked).then(|| Want {
        id: rec.id().to_string(),
        state: State::Released,
        agent: ctx.actor.clone(),
        epoch: rec.claim_epoch(),
        reopen: false,
        guard: true,
    })
}

/// Settle a coordinated write's claim changes with the remote, before its
/// ledger and tracker writes (`insist`: `--force`/`--steal`). A claim held
/// live by another agent anywhere is refused (exit 3, naming the holder);
/// a lapsed one is taken only by a steal; a close on the remote this clone
/// has not pulled yet refuses a claim. Offline, a claim is refused unless
/// `--offline-claim`; a release or close made offline waits in the home
/// for `bd sync`. Returns what the remote took.
pub(crate) fn publish(
    ctx: &Session,
    arb: &Arbiter,
    wants: &[Want],
    insist: bool,
) -> Result<Vec<Taken>> {
    if wants.is_empty() {
        return Ok(vec![]);
    }
    if ctx.env.offline {
        if let Some(w) = wants.iter().find(|w| w.state == State::Claimed)
            && !ctx.env.offline_claim
        {
            return Err(offline_refusal(&format!("claiming {}", w.id)));
        }
        let ids: Vec<&str> = wants.iter().map(|w| w.id.as_str()).collect();
        ctx.warn(format!(
            "offline: remote '{}' learns of {} at the next `bd sync`, which arbitrates",
            arb.remote,
            ids.join(", ")
        ));
        if let Some(home) = ctx.home()? {
            let items: Vec<crate::home::remote::Pending> = wants
                .iter()
                .map(|w| crate::home::remote::Pending {
                    issue: w.id.clone(),
                    agent: w.agent.clone(),
                    state: w.state,
                    tip: String::new(),
                    epoch: w.epoch,
                    at: ctx.now_text(),
                })
                .collect();
            crate::home::remote::add_pending(&home, &items)?;
        }
        return Ok(vec![]);
    }
    let ids: Vec<String> = wants.iter().map(|w| w.id.clone()).collect();
    arbitrate(ctx, arb, &ids, true, |id, seen| {
        let Some(w) = wants.iter().find(|w| w.id == id) else {
            return Ok(None);
        };
        decide(ctx, arb, w, seen, insist)
    })
}

/// What `w` makes of the claim the remote holds.
fn decide(
    ctx: &Session,
    arb: &Arbiter,
    w: &Want,
    seen: &Observed,
    insist: bool,
) -> Result<Option<Planned>> {
    let found = judge(seen.claim.as_ref(), &w.agent, ctx.now);
    let plan = |over: bool| -> Result<Option<Planned>> {
        Ok(Some(Planned {
            claim: body(ctx, &w.id, w.state, w.epoch, &w.agent)?,
            over,
        }))
    };
    let on = format!("on remote '{}'", arb.remote);
    if w.guard {
        return match found {
            Found::Held { agent, until } => Err(Error::Conflict {
                msg: format!(
                    "cannot change {}: {agent} holds it {on} (lease until {until})",
                    w.id
                ),
                hint: Some("ask its holder, or wait until it is released".into()),
            }),
            _ => Ok(None),
        };
    }
    match (w.state, found) {
        (State::Claimed, Found::Free | Found::Mine) => plan(false),
        (State::Claimed, Found::Held { agent, until }) => Err(Error::Conflict {
            msg: format!(
                "cannot claim {}: {agent} holds it {on} (lease until {until})",
                w.id
            ),
            hint: Some("pick another issue from `bd ready`".into()),
        }),
        (State::Claimed, Found::Lapsed { agent, since }) if !insist => Err(Error::Conflict {
            msg: format!(
                "cannot claim {}: {agent} holds it {on}, its lease lapsed at {since}",
                w.id
            ),
            hint: Some("take it over with `bd claim --steal`".into()),
        }),
        (State::Claimed, Found::Lapsed { .. }) => plan(true),
        (State::Claimed, Found::Closed { agent, at }) => Err(Error::Conflict {
            msg: format!(
                "cannot claim {}: {agent} closed it {on} at {at}, and this clone has not pulled the close",
                w.id
            ),
            hint: Some("`bd sync` brings the close here".into()),
        }),
        (State::Released, Found::Mine) => plan(false),
        (State::Released, Found::Closed { .. }) if w.reopen => plan(false),
        (State::Released, Found::Held { .. } | Found::Lapsed { .. }) if insist => plan(true),
        // Nothing of this agent's to release there.
        (State::Released, _) => Ok(None),
        (State::Closed, Found::Closed { .. }) => Ok(None),
        (State::Closed, Found::Held { agent, until }) if !insist => Err(Error::Conflict {
            msg: format!(
                "cannot close {}: {agent} holds it {on} (lease until {until})",
                w.id
            ),
            hint: Some("ask its holder, or insist with --force".into()),
        }),
        (State::Closed, Found::Held { .. } | Found::Lapsed { .. }) => plan(true),
        (State::Closed, Found::Free | Found::Mine) => plan(false),
    }
}

/// Take back claims the remote took for a write that then failed (its
/// tracker write did not happen): each is released where the remote still
/// holds exactly it. Best effort; what cannot be taken back is said.
pub(crate) fn undo(ctx: &Session, arb: &Arbiter, taken: &[Taken]) {
    let claims: Vec<&Taken> = taken
        .iter()
        .filter(|t| t.claim.state == State::Claimed)
        .collect();
    if claims.is_empty() {
        return;
    }
    let ids: Vec<String> = claims.iter().map(|t| t.id.clone()).collect();
    let done = arbitrate(ctx, arb, &ids, false, |id, seen| {
        let Some(t) = claims.iter().find(|t| t.id == id) else {
            return Ok(None);
        };
        if seen.claim.as_ref() != Some(&t.claim) {
            return Ok(None);
        }
        let mut back = t.claim.clone();
        back.state = State::Released;
        back.lease_until = None;
        back.at = ctx.now_text();
        Ok(Some(Planned {
            claim: back,
            over: false,
        }))
    });
    if let Err(e) = done {
        ctx.warn(format!(
            "cannot release the claims on remote '{}' of the failed write ({}): {e}",
            arb.remote,
            ids.join(", ")
        ));
    }
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    clear_pending(ctx, &ids);
}

/// Repair claims of other agents pushed by a process that died before
/// their tracker write (run under the project's ledger lock, which every
/// claim push holds, so each entry found is a dead process's): the tracker
/// has the claim → the entry goes; else the remote claim is released where
/// it is still that one, and the agent is told to claim again.
/// (The actor's own are completed instead: [`own_unwritten`].)
pub(crate) fn repair(ctx: &Session, arb: &Arbiter) {
    let Ok(Some(home)) = ctx.home() else {
        return;
    };
    let (pending, warn) = crate::home::remote::pending(&home);
    if let Some(w) = warn {
        ctx.warn(w);
    }
    // The actor's own are completed before its command (`own_unwritten`).
    let pushed: Vec<_> = pending
        .into_iter()
        .filter(|p| !p.tip.is_empty() && p.agent != ctx.actor)
        .collect();
    if pushed.is_empty() {
        return;
    }
    let Ok(snap) = ctx.snapshot() else {
        return;
    };
    let mut lost = Vec::new();
    let mut done = Vec::new();
    for p in &pushed {
        let written = held_by(&snap, &p.issue, &p.agent);
        if written || ctx.env.offline {
            if written {
                done.push(p.issue.as_str());
            }
            continue;
        }
        lost.push(Taken {
            id: p.issue.clone(),
            claim: Claim {
                item: p.issue.clone(),
                state: p.state,
                agent: p.agent.clone(),
                epoch: p.epoch,
                at: String::new(),
                lease_until: None,
                workspace: String::new(),
                machine: String::new(),
            },
            tip: p.tip.clone(),
        });
    }
    clear_pending(ctx, &done);
    if lost.is_empty() {
        return;
    }
    // Released where the remote's claim is still the pushed commit's.
    let ids: Vec<String> = lost.iter().map(|t| t.id.clone()).collect();
    let released = arbitrate(ctx, arb, &ids, false, |id, seen| {
        let Some(t) = lost.iter().find(|t| t.id == id) else {
            return Ok(None);
        };
        let same = seen.claim.as_ref().is_some_and(|c| {
            c.state == State::Claimed && c.agent == t.claim.agent && c.epoch == t.claim.epoch
        });
        if !same {
            return Ok(None);
        }
        Ok(Some(Planned {
            claim: body(ctx, id, State::Released, t.claim.epoch, &t.claim.agent)?,
            over: false,
        }))
    });
    match released {
        Ok(_) => {
            for t in &lost {
                ctx.warn(format!(
                    "the claim of {} by {} reached remote '{}' but not the tracker (its process ended first): released; claim it again",
                    t.id, t.claim.agent, arb.remote
                ));
            }
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            clear_pending(ctx, &ids);
        }
        Err(e) => ctx.warn(format!(
            "cannot repair the claims pushed to remote '{}' without a tracker write ({}): {e}",
            arb.remote,
            ids.join(", ")
        )),
    }
}

/// Fetch the remote's claims now (`ready --fresh`, `ready --claim`,
/// dispatch): nothing outside remote coordination; offline, the refusal.
pub fn refresh(ctx: &Session) -> Result<()> {
    let Some(arb) = arbiter(ctx)? else {
        return Ok(());
    };
    if ctx.env.offline {
        return Err(offline_refusal("reading the remote's claims"));
    }
    fetch(ctx, &arb)
}

/// The issues the remote's claims (as last fetched, no network) keep out of
/// ready work, with why: held by anyone (a lapsed claim too: it takes a
/// steal), or closed there. Empty outside remote coordination.
pub fn taken(ctx: &Session) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    let arb = match arbiter(ctx) {
        Ok(Some(a)) => a,
        Ok(None) => return out,
        Err(e) => {
            ctx.warn(format!("ignoring the remote's claims: {e}"));
            return out;
        }
    };
    let seen = match all_observed(ctx, &arb) {
        Ok(s) => s,
        Err(e) => {
            ctx.warn(format!("ignoring the remote's claims: {e}"));
            return out;
        }
    };
    for (id, o) in seen {
        let why = match judge(o.claim.as_ref(), "", ctx.now) {
            Found::Held { agent, until } => format!(
                "{id} is held by {agent} on remote '{}' (lease until {until})",
                arb.remote
            ),
            Found::Lapsed { agent, since } => format!(
                "{id} is held by {agent} on remote '{}', its lease lapsed at {since}",
                arb.remote
            ),
            Found::Closed { agent, .. } => {
                format!("{id} was closed by {agent} on remote '{}'", arb.remote)
            }
            Found::Free | Found::Mine => continue,
        };
        out.insert(id, why);
    }
    out
}

/// Renew the leases of `ctx.actor`'s claims on the remote (`bd heartbeat`,
/// a worker's beat): each claim the actor holds there and still holds here
/// (this tracker, or the project's ledger on this machine) is pushed again
/// with its lease from now. One it holds there but no longer here (lost in
/// a merge, given up) and made on this machine is released instead, so no
/// heartbeat keeps an orphaned claim alive; a claim still being written
/// (pending in the home) is left alone. Returns the items renewed; nothing
/// outside remote coordination or offline.
pub fn renew(ctx: &Session) -> Result<Vec<String>> {
    let Some(arb) = arbiter(ctx)? else {
        return Ok(vec![]);
    };
    if ctx.env.offline {
        return Ok(vec![]);
    }
    fetch(ctx, &arb)?;
    let (_, machine) = opaque_ids(ctx)?;
    let mine: Vec<(String, bool)> = all_observed(ctx, &arb)?
        .into_iter()
        .filter_map(|(id, o)| {
            let c = o.claim?;
            (c.state == State::Claimed && c.agent == ctx.actor)
                .then_some((id, c.machine == machine))
        })
        .collect();
    if mine.is_empty() {
        return Ok(vec![]);
    }
    let held_here = held_here(ctx)?;
    let ids: Vec<String> = mine
        .iter()
        .filter(|(id, here)| held_here.contains(id) || *here)
        .map(|(id, _)| id.clone())
        .collect();
    let taken = arbitrate(ctx, &arb, &ids, false, |id, seen| {
        let (Found::Mine, Some(c)) = (judge(seen.claim.as_ref(), &ctx.actor, ctx.now), &seen.claim)
        else {
            return Ok(None);
        };
        let state = if held_here.contains(id) {
            State::Claimed
        } else {
            State::Released
        };
        Ok(Some(Planned {
            claim: body(ctx, id, state, c.epoch, &ctx.actor)?,
            over: false,
        }))
    })?;
    Ok(taken
        .into_iter()
        .filter(|t| t.claim.state == State::Claimed)
        .map(|t| t.id)
        .collect())
}

/// The items `ctx.actor` holds on this machine as far as it knows: claimed
/// or hooked in this tracker, or so in the project's ledger, or being
/// claimed right now (pending in the home).
fn held_here(ctx: &Session) -> Result<std::collections::HashSet<String>> {
    let mut out: std::collections::HashSet<String> = ctx
        .snapshot()?
        .rows
        .iter()
        .filter(|r| r.state().is_held() && r.assignee == ctx.actor)
        .map(|r| r.id.clone())
        .collect();
    if let Ok(ledger) = ctx.ledger() {
        for e in ledger.iter() {
            match &e.event {
                Event::Claimed { holder, .. } if *holder == ctx.actor => {
                    out.insert(e.issue.clone());
                }
                Event::Hooked { agent, .. } if *agent == ctx.actor => {
                    out.insert(e.issue.clone());
                }
                _ => {}
            }
        }
    }
    if let Ok(Some(home)) = ctx.home() {
        out.extend(
            crate::home::remote::pending(&home)
                .0
                .into_iter()
                .filter(|p| p.state == State::Claimed)
                .map(|p| p.issue),
        );
    }
    Ok(out)
}

/// What `bd sync` settled with the remote's claims.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Settled {
    /// The remote that arbitrates.
    pub remote: String,
    /// Changes made offline that the remote took now (issue IDs).
    pub pushed: Vec<String>,
    /// Claims made offline the remote gave to another: (issue, holder).
    pub lost: Vec<(String, String)>,
    /// Claim registers removed: released ones, and closed ones whose close
    /// is old enough to have reached every clone that syncs.
    pub pruned: usize,
}

/// How long a closed claim stays on the remote after its close, so a clone
/// that has not pulled the close yet is refused its claim meanwhile.
const CLOSED_KEPT_SECS: i64 = 7 * 86_400;

/// `bd sync` in remote coordination, first of all: push the changes made
/// offline, arbitrated now (a claim another agent holds is reported lost,
/// for sync to release here; a close insists). `None` outside remote
/// coordination.
pub fn settle_offline(ctx: &Session) -> Result<Option<Settled>> {
    let Some(arb) = arbiter(ctx)? else {
        return Ok(None);
    };
    let mut rep = Settled {
        remote: arb.remote.clone(),
        ..Settled::default()
    };
    let home = ctx.home()?;
    let offline: Vec<crate::home::remote::Pending> = match &home {
        Some(h) => {
            let (p, warn) = crate::home::remote::pending(h);
            if let Some(w) = warn {
                ctx.warn(w);
            }
            p.into_iter().filter(|p| p.tip.is_empty()).collect()
        }
        None => vec![],
    };
    if !offline.is_empty() {
        let ids: Vec<String> = offline.iter().map(|p| p.issue.clone()).collect();
        let mut lost = Vec::new();
        let taken = arbitrate(ctx, &arb, &ids, false, |id, seen| {
            let Some(p) = offline.iter().find(|p| p.issue == id) else {
                return Ok(None);
            };
            let w = Want {
                id: p.issue.clone(),
                state: p.state,
                agent: p.agent.clone(),
                epoch: p.epoch,
                reopen: false,
                guard: false,
            };
            // The tracker already says closed: a close insists.
            match decide(ctx, &arb, &w, seen, p.state == State::Closed) {
                Err(Error::Conflict { .. }) => {
                    let holder = seen
                        .claim
                        .as_ref()
                        .map_or_else(String::new, |c| c.agent.clone());
                    if !lost.iter().any(|(i, _)| i == id) {
                        lost.push((id.to_string(), holder));
                    }
                    Ok(None)
                }
                other => other,
            }
        })?;
        rep.pushed = taken.into_iter().map(|t| t.id).collect();
        rep.lost = lost;
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        clear_pending(ctx, &ids);
    }
    Ok(Some(rep))
}

/// `bd sync` in remote coordination, once the tracker is pushed: fetch the
/// claims and remove the registers nobody needs ([`prune_in`]). Returns how
/// many went.
pub fn prune(ctx: &Session) -> Result<usize> {
    let Some(arb) = arbiter(ctx)? else {
        return Ok(0);
    };
    fetch(ctx, &arb)?;
    prune_in(ctx, &arb)
}

/// Remove registers nobody needs: released claims, and closed ones older
/// than [`CLOSED_KEPT_SECS`] whose issue the tracker here shows closed (the
/// tracker this sync pushed). Each removal is a compare-and-swap on the tip
/// observed, so a claim made meanwhile stays.
fn prune_in(ctx: &Session, arb: &Arbiter) -> Result<usize> {
    let snap = ctx.snapshot()?;
    let closed_here = |id: &str| {
        snap.find(id)
            .is_some_and(|r| matches!(r.status.as_str(), "closed" | "tombstone"))
    };
    let old = |at: &str| {
        crate::model::time::parse(at)
            .is_some_and(|t| t + CLOSED_KEPT_SECS * 1_000_000_000 <= ctx.now)
    };
    let gone: Vec<(String, Observed)> = all_observed(ctx, arb)?
        .into_iter()
        .filter(|(id, o)| {
            o.claim.as_ref().is_some_and(|c| match c.state {
                State::Released => true,
                State::Closed => old(&c.at) && closed_here(id),
                State::Claimed => false,
            })
        })
        .collect();
    if gone.is_empty() {
        return Ok(0);
    }
    let root = &ctx.ws.root;
    match arb.layout {
        Layout::Refs => {
            let mut n = 0;
            for (id, o) in &gone {
                let u = Update {
                    refname: claims::ref_name(id),
                    to: None,
                    lease: o.tip.clone(),
                };
                if let Pushed::Taken = refs::push(root, &arb.remote, &[u], false)? {
                    n += 1;
                }
            }
            fetch(ctx, arb)?;
            Ok(n)
        }
        Layout::Branch => {
            let tip = gone[0].1.tip.clone();
            let paths: Vec<String> = gone.iter().map(|(id, _)| claims::table_path(id)).collect();
            let changes: Vec<refs::Change> = paths.iter().map(|p| (p.as_str(), None)).collect();
            let oid = refs::write_commit(
                root,
                tip.as_deref(),
                &changes,
                tip.as_deref(),
                &format!("bd: prune {} claims", gone.len()),
            )?;
            let u = Update {
                refname: claims::TABLE.into(),
                to: Some(oid),
                lease: None,
            };
            let n = match refs::push(root, &arb.remote, &[u], false)? {
                Pushed::Taken => gone.len(),
                Pushed::Refused { .. } => 0,
            };
            fetch(ctx, arb)?;
            Ok(n)
        }
    }
}

/// What `bd doctor --remote` found the remote takes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Probe {
    pub remote: String,
    /// Whether this workspace coordinates through the remote now.
    pub enabled: bool,
    /// The layout configured (`remote_layout`).
    pub layout: Layout,
    /// A ref under `refs/beads/` can be created and deleted.
    pub refs: bool,
    /// Two refs can be pushed atomically (`git push --atomic`).
    pub atomic: bool,
    /// A ref under `refs/beads/` can be deleted again (`bd sync` prunes
    /// settled claims so).
    pub deletes: bool,
    /// A branch under `refs/heads/beads/` can be created and deleted.
    pub branch: bool,
    /// Why a probe was refused (the first refusal), if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The layout this remote wants (`None`: neither works).
    pub recommended: Option<Layout>,
    /// `--fix` set `remote_layout` to the recommended one.
    pub fixed: bool,
}

/// `bd doctor --remote`: push and delete probe refs to learn what the
/// remote takes (a ref under refs/beads/, an atomic push of two, a branch
/// under refs/heads/beads/) and recommend a layout (`compose::doctor_remote`
/// sets it). The probes are removed again; their names are random.
pub fn probe(ctx: &Session) -> Result<Probe> {
    if ctx.env.offline {
        return Err(offline_refusal("probing the remote"));
    }
    let arb = resolve(ctx)?;
    let root = &ctx.ws.root;
    let tag = crate::home::remote::random_hex(6)?;
    let oid = refs::write_commit(
        root,
        None,
        &[("probe.json", Some(b"{}\n"))],
        None,
        "bd: probe",
    )?;
    let mut refused = None;
    let mut try_push = |names: &[String], atomic: bool| -> Result<(bool, bool)> {
        let ups: Vec<Update> = names
            .iter()
            .map(|n| Update {
                refname: n.clone(),
                to: Some(oid.clone()),
                lease: None,
            })
            .collect();
        let got = refs::push(root, &arb.remote, &ups, atomic)?;
        // Whatever went through goes again.
        let dels: Vec<Update> = names
            .iter()
            .map(|n| Update {
                refname: n.clone(),
                to: None,
                lease: None,
            })
            .collect();
        let deleted = matches!(refs::push(root, &arb.remote, &dels, false)?, Pushed::Taken);
        Ok(match got {
            Pushed::Taken => (true, deleted),
            Pushed::Refused { why, .. } => {
                refused.get_or_insert(why);
                (false, false)
            }
        })
    };
    let one = format!("refs/beads/probe/{tag}");
    let (refs_ok, deletes) = try_push(std::slice::from_ref(&one), false)?;
    let atomic = refs_ok && try_push(&[format!("{one}-a"), format!("{one}-b")], true)?.0;
    let branch = try_push(&[format!("refs/heads/beads/probe-{tag}")], false)?.0;
    let recommended = if refs_ok {
        Some(Layout::Refs)
    } else if branch {
        Some(Layout::Branch)
    } else {
        None
    };
    Ok(Probe {
        remote: arb.remote,
        enabled: enabled(ctx),
        layout: arb.layout,
        refs: refs_ok,
        atomic,
        deletes,
        branch,
        refused,
        recommended,
        fixed: false,
    })
}

/// This actor's claims pushed by a command of its that ended before the
/// tracker write (pending in the home, with a tip, and not held here), for
/// `compose::begin` to complete. Empty outside remote coordination,
/// offline, or read-only.
pub fn own_unwritten(ctx: &Session) -> Vec<String> {
    if ctx.env.offline || ctx.env.readonly || !enabled(ctx) {
        return vec![];
    }
    let Ok(Some(home)) = ctx.home() else {
        return vec![];
    };
    let (pending, _) = crate::home::remote::pending(&home);
    let mine: Vec<_> = pending
        .into_iter()
        .filter(|p| !p.tip.is_empty() && p.agent == ctx.actor && p.state == State::Claimed)
        .collect();
    if mine.is_empty() {
        return vec![];
    }
    let Ok(snap) = ctx.snapshot() else {
        return vec![];
    };
    let mut written = Vec::new();
    let mut out = Vec::new();
    for p in mine {
        let held = held_by(&snap, &p.issue, &p.agent);
        if held {
            written.push(p.issue);
        } else {
            out.push(p.issue);
        }
    }
    let written: Vec<&str> = written.iter().map(String::as_str).collect();
    clear_pending(ctx, &written);
    out
}

/// The items whose claim on the remote is live (as last fetched, no
/// network): their holders' leases are renewed there, whatever this
/// machine's presence files say. Empty outside remote coordination.
pub fn live(ctx: &Session) -> std::collections::HashSet<String> {
    let Ok(Some(arb)) = arbiter(ctx) else {
        return Default::default();
    };
    all_observed(ctx, &arb)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, o)| o.claim.as_ref().is_some_and(|c| c.live(ctx.now)))
        .map(|(id, _)| id)
        .collect()
}

// ---------------------------------------------------------------------------
// Handoffs across machines (`ops::relay`).

/// This project's own remote, whatever the coordination mode: where other
/// projects' mail for it waits (`refs/beads/spool/`). The same remote
/// remote coordination arbitrates through: `remote` in config.toml, else
/// the branch's upstream remote, else `origin`.
pub fn own_remote(ctx: &Session) -> Result<String> {
    resolve(ctx).map(|a| a.remote)
}

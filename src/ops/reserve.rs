//! File reservations (issue 14; docs/DESIGN.md "File reservations"):
//! `bd reserve`, `bd release`, `bd reservations` and the check bd's git
//! pre-commit hook runs (`--check-staged`).
//!
//! A reservation lives in the project home (`home::reservations`, under its
//! lock), so every clone and worktree of the machine sees it at once; in
//! remote coordination (`ops::remote::enabled`) also in one table on the
//! remote, `refs/beads/reservations` (`refs/heads/beads/reservations` in
//! the branch layout): a commit whose tree holds `reservations.json`,
//! changed by a commit on the observed tip pushed without force (a
//! compare-and-swap; refused: fetch, decide again, retry), so two machines
//! cannot hold overlapping exclusive reservations. The home's lock is held
//! across the remote's round, so the machine's own reservations are
//! decided one at a time. Globs are `model::glob`'s; the table's rules are
//! `model::reservation`'s.

use serde::Serialize;

use crate::error::{Error, Missing, Result};
use crate::git::refs::{self, Pushed, Update};
use crate::home::ProjectHome;
use crate::model::glob;
use crate::model::reservation::{self, Conflict, Mode, Reservation, Table};
use crate::model::time;
use crate::ops::Session;
use crate::ops::remote::{Arbiter, Layout};

pub use crate::model::reservation::Mode as ReservationMode;

/// The table's file in the remote's commit.
const FILE: &str = "reservations.json";
/// The remote's table (refs layout) and, in the branch layout, its branch
/// and where its tip is kept once fetched.
const REF: &str = "refs/beads/reservations";
const BRANCH: &str = "refs/heads/beads/reservations";
const BRANCH_TRACKING: &str = "refs/beads-remote/reservations-branch";
/// How many times a change observes and tries again after the remote
/// refused its push (another machine moved the table in between).
const ATTEMPTS: usize = 12;
/// How many refused paths a refused commit names.
const NAMED: usize = 5;

/// What `bd reserve` asks for.
#[derive(Debug, Clone)]
pub struct ReserveOptions {
    /// Globs as the user typed them.
    pub globs: Vec<String>,
    pub mode: Mode,
    pub reason: Option<String>,
    /// How long it holds (`15m`, `2h`); default the config's `lease`.
    pub ttl: Option<String>,
}

/// A reservation as the commands show it.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub id: String,
    pub agent: String,
    pub globs: Vec<String>,
    pub mode: Mode,
    pub reason: Option<String>,
    pub at: String,
    pub until: String,
    /// Its `until` is past (only with `--all`).
    pub lapsed: bool,
    /// Held in this machine's home.
    pub local: bool,
    /// Held on the remote (remote coordination), as last fetched.
    pub remote: bool,
}

/// What `bd release` released.
#[derive(Debug, Clone, Serialize)]
pub struct Released {
    pub agent: String,
    /// The globs released (here, on the remote, or both), sorted.
    pub released: Vec<String>,
}

/// What the pre-commit check found: the paths it checked (none refused:
/// a refusal is the error).
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    /// The staged paths checked (`.beads/` files are the tracker's own and
    /// are not checked).
    pub checked: usize,
}

fn view(r: &Reservation, now: i64, local: bool, remote: bool) -> View {
    View {
        id: r.id.clone(),
        agent: r.agent.clone(),
        globs: r.globs.clone(),
        mode: r.mode,
        reason: r.reason.clone(),
        at: r.at.clone(),
        until: r.until.clone(),
        lapsed: r.lapsed(now),
        local,
        remote,
    }
}

/// The project home, which reservations need.
fn need_home(ctx: &Session) -> Result<ProjectHome> {
    ctx.home()?.ok_or_else(|| Error::Invalid {
        msg: "file reservations live in the project home, and this workspace coordinates alone (coordination = \"workspace\")".into(),
        hint: Some("`bd config set coordination machine` (or remote) to reserve files".into()),
    })
}

/// The globs the user typed, checked and made canonical, sorted: a plain
/// path naming a folder of the work tree is everything under it.
fn normalized(ctx: &Session, raw: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for r in raw {
        let mut g = glob::normalize(r).map_err(|why| Error::Invalid {
            msg: why,
            hint: Some(
                "reserve files by their path from the repository's root, or a glob (`src/**`, `*.rs`, `docs/[ab]*`)"
                    .into(),
            ),
        })?;
        if glob::is_literal(&g) && ctx.ws.root.join(&g).is_dir() {
            g.push_str("/**");
        }
        out.push(g);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The reservation's length in seconds: `--ttl`, else the config's `lease`.
fn ttl_secs(ctx: &Session, ttl: Option<&str>) -> Result<u64> {
    let Some(t) = ttl else {
        return Ok(ctx.config.lease_secs());
    };
    match crate::store::config::duration_secs(t) {
        Some(s) if s > 0 => Ok(s),
        _ => Err(Error::Invalid {
            msg: format!("--ttl '{t}' is not a duration"),
            hint: Some("a positive whole number with s, m, h or d: 90s, 15m, 2h, 1d".into()),
        }),
    }
}

/// The refusal of a reservation that clashes with `found` (exit 3): the
/// globs asked for that overlap, then each holder, its glob, how it holds
/// it, until when and why.
fn refusal(found: &[Conflict], on: Option<&str>) -> Error {
    let mut wanted: Vec<&str> = Vec::new();
    let mut held: Vec<String> = Vec::new();
    for c in found {
        if !wanted.contains(&c.wanted.as_str()) {
            wanted.push(&c.wanted);
        }
        let reason = c
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let line = format!(
            "{} holds {} ({} until {}{reason})",
            c.holder,
            c.glob,
            c.mode.word(),
            c.until
        );
        if !held.contains(&line) {
            held.push(line);
        }
    }
    let place = on.map(|r| format!(" on remote '{r}'")).unwrap_or_default();
    Error::Conflict {
        msg: format!(
            "cannot reserve {}{place}: {}",
            wanted.join(", "),
            held.join("; ")
        ),
        hint: Some(
            "reserve other files, ask the holder to `bd release`, or wait until it lapses (`bd reservations` lists them)"
                .into(),
        ),
    }
}

/// `bd reserve`: hold `o.globs` for the actor. Refused (exit 3, naming
/// the holders) when it clashes with another agent's live reservation on
/// this machine or, in remote coordination, on the remote; offline in
/// remote coordination, refused (exit 1). The actor's own reservations of
/// the same globs are replaced (a renewal, or a change of mode).
pub fn reserve(ctx: &Session, o: &ReserveOptions) -> Result<View> {
    let globs = normalized(ctx, &o.globs)?;
    if globs.is_empty() {
        return Err(Error::Usage(
            "name at least one file or glob to reserve".into(),
        ));
    }
    let reason = o
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let ttl = ttl_secs(ctx, o.ttl.as_deref())?;
    let home = need_home(ctx)?;
    let arb = crate::ops::remote::arbiter(ctx)?;
    if arb.is_some() && ctx.env.offline {
        return Err(Error::Invalid {
            msg: "reserving files asks the git remote in remote coordination, and --offline keeps this command off the network".into(),
            hint: Some("run it with the network: another machine may hold these files".into()),
        });
    }
    let now = ctx.now;
    let workspace = ctx.ws.root.display().to_string();
    let r = Reservation {
        id: reservation::id_for(&ctx.actor, &globs, now, &workspace),
        agent: ctx.actor.clone(),
        globs,
        mode: o.mode,
        reason,
        at: ctx.now_text(),
        until: time::format(now.saturating_add((ttl as i64).saturating_mul(1_000_000_000))),
        workspace,
    };
    crate::home::reservations::with_table(&home, |t, warn| {
        if let Some(w) = warn {
            ctx.warn(w);
        }
        t.prune(now);
        let found = t.conflicts(&ctx.actor, &r.globs, r.mode, now);
        if !found.is_empty() {
            return Err(refusal(&found, None));
        }
        if let Some(arb) = &arb {
            let mut pushed = r.clone();
            pushed.workspace = crate::ops::remote::opaque_ids(ctx)?.0;
            let subject = format!("bd: reserve {} by {}", r.globs.join(" "), r.agent);
            cas(ctx, arb, &subject, |remote| {
                let found = remote.conflicts(&ctx.actor, &pushed.globs, pushed.mode, now);
                if !found.is_empty() {
                    return Err(refusal(&found, Some(&arb.remote)));
                }
                remote.place(pushed.clone());
                Ok(())
            })?;
        }
        t.place(r.clone());
        Ok(())
    })?;
    ctx.notice(format!(
        "Reserved {} ({}) until {}",
        r.globs.join(", "),
        r.mode.word(),
        r.until
    ));
    Ok(view(&r, now, true, arb.is_some()))
}

/// `bd release`: take the actor's reservations of `raw` out (none named:
/// all of them), here and, in remote coordination, on the remote (offline:
/// the remote's copy stays until it lapses, with a warning). Globs are
/// matched as stored (`bd reservations` shows them). A named glob the
/// actor holds nowhere is an error when none of those named is held.
pub fn release(ctx: &Session, raw: &[String]) -> Result<Released> {
    let named: Option<Vec<String>> = if raw.is_empty() {
        None
    } else {
        Some(normalized(ctx, raw)?)
    };
    let home = need_home(ctx)?;
    let arb = crate::ops::remote::arbiter(ctx)?;
    let now = ctx.now;
    let actor = ctx.actor.clone();
    let released = crate::home::reservations::with_table(&home, |t, warn| {
        if let Some(w) = warn {
            ctx.warn(w);
        }
        let mut released = t.release(&actor, named.as_deref());
        t.prune(now);
        match &arb {
            Some(arb) if ctx.env.offline => {
                let (_, remote) = observed(ctx, arb)?;
                let held: Vec<&Reservation> = remote
                    .reservations
                    .iter()
                    .filter(|r| r.agent == actor && !r.lapsed(now))
                    .collect();
                if !held.is_empty() {
                    ctx.warn(format!(
                        "offline: remote '{}' keeps {}'s reservations until they lapse (at the latest {}); release them with the network to free them sooner",
                        arb.remote,
                        actor,
                        held.iter().map(|r| r.until.as_str()).max().unwrap_or_default()
                    ));
                }
            }
            Some(arb) => {
                let subject = format!("bd: release by {actor}");
                let mut there = Vec::new();
                cas(ctx, arb, &subject, |remote| {
                    there = remote.release(&actor, named.as_deref());
                    match &named {
                        Some(n) if !n.iter().any(|g| released.contains(g) || there.contains(g)) => {
                            Err(Error::NotFound(Missing::Reservations {
                                agent: actor.clone(),
                                globs: n.clone(),
                            }))
                        }
                        _ => Ok(()),
                    }
                })?;
                released.extend(there);
            }
            None => {}
        }
        if let Some(n) = &named {
            let missing: Vec<String> = n
                .iter()
                .filter(|g| !released.contains(g))
                .cloned()
                .collect();
            if missing.len() == n.len() {
                return Err(Error::NotFound(Missing::Reservations {
                    agent: actor.clone(),
                    globs: missing,
                }));
            }
            if !missing.is_empty() {
                ctx.warn(format!(
                    "{actor} holds no reservation of {}",
                    missing.join(", ")
                ));
            }
        }
        released.sort();
        released.dedup();
        Ok(released)
    })?;
    if released.is_empty() {
        crate::ops::unchanged(ctx, format!("{actor} holds no reservations"));
    } else {
        ctx.notice(format!("Released {}", released.join(", ")));
    }
    Ok(Released {
        agent: actor,
        released,
    })
}

/// `bd reservations`: the reservations of every agent, live ones (`all`:
/// lapsed ones not yet pruned too), from this machine's home and, in
/// remote coordination, the remote (fetched first unless offline; a fetch
/// that fails leaves the table fetched last, with a warning). Sorted by
/// agent, then time.
pub fn list(ctx: &Session, all: bool) -> Result<Vec<View>> {
    let remote = remote_table(ctx, true);
    let mut out = combined(ctx, remote);
    if !all {
        out.retain(|v| !v.lapsed);
    }
    Ok(out)
}

/// The actor's live reservations (no network: the remote's as last
/// fetched), for `bd prime`.
pub fn held(ctx: &Session) -> Vec<View> {
    let remote = remote_table(ctx, false);
    combined(ctx, remote)
        .into_iter()
        .filter(|v| v.agent == ctx.actor && !v.lapsed)
        .collect()
}

/// The home's table and the remote's, one view per reservation.
fn combined(ctx: &Session, remote: Table) -> Vec<View> {
    let local = match ctx.home() {
        Ok(Some(h)) => {
            let (t, warn) = crate::home::reservations::load(&h);
            if let Some(w) = warn {
                ctx.warn(w);
            }
            t
        }
        Ok(None) => Table::default(),
        Err(e) => {
            ctx.warn(format!("cannot read this machine's reservations: {e}"));
            Table::default()
        }
    };
    let mut out: Vec<View> = local
        .reservations
        .iter()
        .map(|r| {
            view(
                r,
                ctx.now,
                true,
                remote.reservations.iter().any(|x| x.id == r.id),
            )
        })
        .collect();
    for r in &remote.reservations {
        if !local.reservations.iter().any(|x| x.id == r.id) {
            out.push(view(r, ctx.now, false, true));
        }
    }
    out.sort_by(|a, b| (&a.agent, &a.at, &a.id).cmp(&(&b.agent, &b.at, &b.id)));
    out
}

/// The remote's table in remote coordination (empty otherwise), fetched
/// first when `fresh` and online; problems become warnings and the table
/// fetched last.
fn remote_table(ctx: &Session, fresh: bool) -> Table {
    let arb = match crate::ops::remote::arbiter(ctx) {
        Ok(Some(a)) => a,
        Ok(None) => return Table::default(),
        Err(e) => {
            ctx.warn(format!("ignoring the remote's reservations: {e}"));
            return Table::default();
        }
    };
    if fresh
        && !ctx.env.offline
        && let Err(e) = fetch(ctx, &arb)
    {
        ctx.warn(format!("{e}; using the reservations fetched last"));
    }
    match observed(ctx, &arb) {
        Ok((_, t)) => t,
        Err(e) => {
            ctx.warn(format!("ignoring the remote's reservations: {e}"));
            Table::default()
        }
    }
}

/// The check of bd's pre-commit hook: the staged paths (but the tracker's
/// `.beads/` files) against the live exclusive reservations of other
/// agents, here and on the remote (fetched first unless offline; else as
/// fetched last). A path one holds refuses the commit (exit 3, naming
/// each path, its holder and the holder's reason).
pub fn check_staged(ctx: &Session) -> Result<Checked> {
    let paths: Vec<String> = crate::git::hooks::staged_paths(&ctx.ws.root)?
        .into_iter()
        .filter(|p| !p.starts_with(".beads/"))
        .collect();
    if paths.is_empty() {
        return Ok(Checked { checked: 0 });
    }
    let mut table = match ctx.home()? {
        Some(h) => {
            let (t, warn) = crate::home::reservations::load(&h);
            if let Some(w) = warn {
                ctx.warn(w);
            }
            t
        }
        None => Table::default(),
    };
    let remote = remote_table(ctx, true);
    for r in remote.reservations {
        if !table.reservations.iter().any(|x| x.id == r.id) {
            table.reservations.push(r);
        }
    }
    let mut refused: Vec<Conflict> = Vec::new();
    for p in &paths {
        if let Some(c) = table.blocking(&ctx.actor, p, ctx.now).into_iter().next() {
            refused.push(c);
        }
    }
    if refused.is_empty() {
        return Ok(Checked {
            checked: paths.len(),
        });
    }
    let mut said: Vec<String> = refused
        .iter()
        .take(NAMED)
        .map(|c| {
            let reason = c
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            format!(
                "{} (reserved by {} as {} until {}{reason})",
                c.wanted, c.holder, c.glob, c.until
            )
        })
        .collect();
    if refused.len() > NAMED {
        said.push(format!("and {} more", refused.len() - NAMED));
    }
    Err(Error::Conflict {
        msg: format!(
            "this commit touches files another agent reserved: {}",
            said.join("; ")
        ),
        hint: Some(
            "unstage them, ask the holder to `bd release`, or wait until it lapses; BD_RESERVATIONS=off commits anyway"
                .into(),
        ),
    })
}

// ------------------------------------------------------------ the remote

/// The remote's table ref and where its tip is kept once fetched.
fn names(arb: &Arbiter) -> (&'static str, String) {
    match arb.layout {
        Layout::Refs => (REF, refs::tracking(REF)),
        Layout::Branch => (BRANCH, BRANCH_TRACKING.to_string()),
    }
}

/// Fetch the remote's table into its tracking ref.
fn fetch(ctx: &Session, arb: &Arbiter) -> Result<()> {
    let (name, track) = names(arb);
    let got = match arb.layout {
        Layout::Refs => refs::fetch(&ctx.ws.root, &arb.remote, name)?,
        Layout::Branch => refs::fetch_into(&ctx.ws.root, &arb.remote, name, &track)?,
    };
    got.map_err(|why| Error::Invalid {
        msg: format!(
            "cannot read the reservations on remote '{}': {why}",
            arb.remote
        ),
        hint: Some("check the remote and the network".into()),
    })
}

/// The table as fetched last: its tip and the table (a tip whose table
/// does not read holds nothing, with a warning).
fn observed(ctx: &Session, arb: &Arbiter) -> Result<(Option<String>, Table)> {
    let (_, track) = names(arb);
    let root = &ctx.ws.root;
    let Some(tip) = refs::tip(root, &track)? else {
        return Ok((None, Table::default()));
    };
    let table = match refs::read_file(root, &tip, FILE)? {
        Some(bytes) => Table::parse(&bytes).unwrap_or_else(|| {
            ctx.warn(format!(
                "the reservations on remote '{}' do not read; treated as none",
                arb.remote
            ));
            Table::default()
        }),
        None => Table::default(),
    };
    Ok((Some(tip), table))
}

/// Change the remote's table: fetch it, let `change` edit it (lapsed
/// reservations pruned first; an error ends it all, nothing pushed), and
/// push the new table as a commit on the tip observed, without force; when
/// the remote refuses (another machine moved it since), fetch and decide
/// again. Nothing is pushed when nothing changed.
fn cas(
    ctx: &Session,
    arb: &Arbiter,
    subject: &str,
    mut change: impl FnMut(&mut Table) -> Result<()>,
) -> Result<()> {
    let (name, track) = names(arb);
    let root = &ctx.ws.root;
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            refs::backoff(attempt);
        }
        fetch(ctx, arb)?;
        let (tip, before) = observed(ctx, arb)?;
        let mut t = before.clone();
        t.prune(ctx.now);
        change(&mut t)?;
        if t == before {
            return Ok(());
        }
        let body = t.to_bytes();
        let oid = refs::write_commit(
            root,
            tip.as_deref(),
            &[(FILE, Some(&body))],
            tip.as_deref(),
            subject,
        )?;
        let update = Update {
            refname: name.to_string(),
            to: Some(oid.clone()),
            lease: None,
        };
        match refs::push(root, &arb.remote, &[update], false)? {
            Pushed::Taken => {
                refs::set_local(root, &track, &oid)?;
                return Ok(());
            }
            Pushed::Refused { why, .. } if refs::lost_race(&why) => last = why,
            Pushed::Refused { why, .. } => {
                return Err(Error::Invalid {
                    msg: format!(
                        "remote '{}' refused the reservations update: {why}",
                        arb.remote
                    ),
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
            "remote '{}' kept refusing the reservations update ({ATTEMPTS} tries; last: {last})",
            arb.remote
        ),
        hint: Some("other agents are busy reserving; try again".into()),
    })
}

//! `bd import`: the records of a JSONL file written through the one write
//! path, as any verb writes (DESIGN "Import is a write").

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::home::ledger::{Event, Ledger};
use crate::model::kinds::Status;
use crate::model::merge::{self, ISSUE_RULES};
use crate::model::record::{Record, STAMPS, Stamp};
use crate::model::{id, values};
use crate::ops::Session;
use crate::ops::write::Outcome;
use crate::store::jsonl;
use crate::store::tracker::Tx;

#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    /// Classic's summary keys: the file (`-` is stdin), the IDs created,
    /// the issues skipped (here: unchanged), none dropped as duplicates,
    /// no memories (strand has none), and whether it was a dry run.
    pub source: String,
    pub created: usize,
    pub skipped: usize,
    pub dedup_skipped: usize,
    pub memories: usize,
    pub ids: Vec<String>,
    pub dry_run: bool,
    pub updated: usize,
    pub unchanged: usize,
    /// Records whose done fields disagree with their status (`closed_at`
    /// goes with `closed`, `deleted_at` with `tombstone`): loaded as the file
    /// has them, as SPEC §2 keeps loaded records, and listed here as `bd
    /// doctor` lists them (one line each, naming the issue).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inconsistent: Vec<String>,
    /// Records of the file whose id another issue here already has (same
    /// id, another `created_at`): kept under a new id, as the merge keeps
    /// both sides of a collision (`old → new`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub renamed: Vec<String>,
}

/// `bd import`: a record new here is created as the file has it; one known
/// here (the same issue: id and `created_at`, as the merge matches them) is
/// merged with the file's (the one merge: nothing either holds is lost),
/// and what the merge changed is a write by the importing actor, stamped
/// now; where neither side wrote a field after the other, the file's value
/// wins. A change of status or claim reaches the project's ledger as a
/// claim, close or release made by hand does, so every workspace's views
/// agree at once. Every record is checked first ([`values::check_record`]):
/// one bad line refuses the file, naming file, line and field, and nothing
/// is written.
pub fn import(ctx: &Session, source: &str, bytes: &[u8], dry_run: bool) -> Result<ImportReport> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let (cleaned, memories) = classic_export(bytes);
    let bytes: &[u8] = &cleaned;
    let parsed = jsonl::parse(bytes);
    let bad = |line: usize, reason: String| Error::Parse {
        path: PathBuf::from(source),
        line,
        reason,
    };
    if let Some(b) = parsed.bad.first() {
        return Err(bad(b.line, b.reason.clone()));
    }
    for g in &parsed.good {
        // What bd writes has well-formed ids (`<prefix>-<hash>[.n]`),
        // whatever the file it came from.
        if !id::is_valid(g.record.id()) {
            return Err(bad(
                g.line,
                format!(
                    "id {:?} is not an issue id (`<prefix>-<hash>`, children `.n`)",
                    g.record.id()
                ),
            ));
        }
        values::check_record(&g.record)
            .map_err(|e| bad(g.line, format!("{}: {e}", g.record.id())))?;
    }
    // Duplicate lines in the file are merged by the one merge first.
    let normalized = merge::normalize_issues(bytes).map_err(|e| Error::Invalid {
        msg: format!("{source}: {e}"),
        hint: None,
    })?;
    if memories > 0 {
        ctx.warn(format!(
            "{source}: skipped {memories} memory record(s) of classic beads (strand keeps no memories)"
        ));
    }
    let mut rep = ImportReport {
        source: if source == "-" {
            "stdin".into()
        } else {
            source.to_string()
        },
        dry_run,
        ..ImportReport::default()
    };
    // Two issues of the file with one id: both kept, as the merge keeps them.
    rep.renamed
        .extend(normalized.report.renamed.iter().map(|r| {
            format!(
                "{} → {} (two issues of the file shared the id)",
                r.old_id, r.new_id
            )
        }));
    let mut incoming = Vec::new();
    for g in jsonl::parse(&normalized.bytes).good {
        let rec = g.record;
        rep.inconsistent.extend(
            rec.done_mismatches()
                .into_iter()
                .map(|m| format!("{}: {m}", rec.id())),
        );
        incoming.push(rec);
    }
    if dry_run {
        let mut tx = ctx.tx()?;
        import_into(ctx, &mut tx, incoming, None, &mut rep)?;
        rep.skipped = rep.unchanged;
        return Ok(rep);
    }
    let events = std::cell::RefCell::new(BTreeMap::new());
    crate::ops::write::coordinated(
        ctx,
        |ledger, publish| {
            let mut tx = ctx.tx()?;
            let written = import_into(ctx, &mut tx, incoming, ledger, &mut rep)?;
            let mut outs = Vec::new();
            for w in written {
                if let Some(ev) = w.event {
                    events.borrow_mut().insert(w.after.id().to_string(), ev);
                }
                outs.push(Outcome {
                    record: w.after,
                    changed: true,
                });
            }
            publish(&outs)?;
            ctx.commit(tx)?;
            Ok(outs)
        },
        |rec| events.borrow().get(rec.id()).cloned(),
    )?;
    rep.skipped = rep.unchanged;
    Ok(rep)
}

/// What classic `bd export` adds to its lines, taken out: its memory
/// records (`"_type": "memory"`: strand keeps none; counted) and the
/// `schema_version` of each line (the export's, not the issue's). Other
/// lines are kept byte for byte.
fn classic_export(bytes: &[u8]) -> (std::borrow::Cow<'_, [u8]>, usize) {
    let marked = |l: &[u8]| {
        memchr::memmem::find(l, b"\"_type\"").is_some()
            || memchr::memmem::find(l, b"\"schema_version\"").is_some()
    };
    if !marked(bytes) {
        return (std::borrow::Cow::Borrowed(bytes), 0);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut memories = 0;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let parsed = if marked(line) {
            serde_json::from_slice::<serde_json::Value>(line).ok()
        } else {
            None
        };
        match parsed {
            Some(serde_json::Value::Object(mut m)) => {
                if m.get("_type").and_then(|t| t.as_str()) == Some("memory") {
                    memories += 1;
                    // Keep the line count: errors name the file's lines.
                    out.push(b'\n');
                    continue;
                }
                m.remove("schema_version");
                out.extend(serde_json::to_vec(&m).unwrap_or_default());
                out.push(b'\n');
            }
            _ => out.extend_from_slice(line),
        }
    }
    (std::borrow::Cow::Owned(out), memories)
}

/// One record the import wrote, and the ledger event its state calls for.
struct Imported {
    after: Record,
    event: Option<Event>,
}

fn import_into(
    ctx: &Session,
    tx: &mut Tx,
    incoming: Vec<Record>,
    ledger: Option<&Ledger>,
    rep: &mut ImportReport,
) -> Result<Vec<Imported>> {
    let mut out = Vec::new();
    for mut rec in incoming {
        // What bd writes always has a priority (SPEC §2): a record without
        // one means the default, new here or not.
        if !rec.has("priority") {
            rec.set("priority", &2);
        }
        let Some(cur) = same_issue_here(tx, &mut rec, rep)? else {
            rep.created += 1;
            rep.ids.push(rec.id().to_string());
            // A record new to this workspace that the ledger knows (held or
            // closed in another workspace of the machine): its state is
            // written past the ledger's, like any claim-group write.
            // A file older than what the ledger says happened to it since
            // (a claim or close in another workspace) brings no state.
            let entry = ledger
                .and_then(|l| crate::ops::coord::entry_for(l, &rec))
                .filter(|e| {
                    crate::model::time::parse(&e.at)
                        .is_some_and(|at| crate::ops::coord::status_stamp(&rec) > at)
                });
            let event = entry.and_then(|e| {
                rec.bump_claim_epoch();
                rec.raise_claim_epoch_past(e.epoch);
                state_event(ctx, None, &rec)
            });
            tx.put(rec.clone());
            out.push(Imported { after: rec, event });
            continue;
        };
        let id = rec.id().to_string();
        let at = cur.next_stamp(ctx.now);
        let now = Stamp {
            at,
            actor: ctx.actor.clone(),
        };
        // Both sides of a two-way merge: nothing either holds is lost; where
        // neither side wrote a field after the other, the file's value wins.
        merge::prefer_file_on_ties(&ISSUE_RULES, &cur, &mut rec, &now);
        let mut merged = merge::merge_record(&ISSUE_RULES, None, &cur, &rec);
        let fields: BTreeSet<String> = merged
            .keys()
            .chain(cur.keys())
            .filter(|k| !matches!(*k, "updated_at" | STAMPS))
            .filter(|k| !merge::same_value(k, merged.raw(k), cur.raw(k)))
            .map(str::to_string)
            .collect();
        if fields.is_empty() {
            rep.unchanged += 1;
            continue;
        }
        rep.updated += 1;
        // A write of this actor now, as `update` makes it.
        let names: Vec<&str> = fields.iter().map(String::as_str).collect();
        crate::ops::stamp_write(ctx, &cur, &mut merged, &names, at);
        if names
            .iter()
            .any(|f| matches!(*f, "assignee" | "started_at"))
        {
            // A claim-group write: its epoch rises past every state it knew
            // of, the ledger's too, as `claim` and `unclaim` raise theirs.
            let seen = ledger.and_then(|l| l.find(&id)).map_or(0, |e| e.epoch);
            merged.bump_claim_epoch();
            merged.raise_claim_epoch_past(seen.max(cur.claim_epoch()));
        }
        let event = state_event(ctx, Some(&cur), &merged);
        tx.put(merged.clone());
        out.push(Imported {
            after: merged,
            event,
        });
    }
    Ok(out)
}

/// This tracker's version of the issue `rec` is (the same id and
/// `created_at`, as the merge matches records), or `None` when it is new
/// here. When another issue holds its id (a collision), `rec` takes the id
/// the merge would give it (`renamed_from` the old): a copy renamed by an
/// earlier import or merge is found there; else it is new, and reported.
fn same_issue_here(tx: &Tx, rec: &mut Record, rep: &mut ImportReport) -> Result<Option<Record>> {
    let id = rec.id().to_string();
    if !tx.contains(&id) {
        return Ok(None);
    }
    let cur = tx.get(&id)?;
    if merge::same_issue(&cur, rec) {
        return Ok(Some(cur));
    }
    // The merge gives the id to the older of two issues and renames the
    // younger; renaming this tracker's issue (and what the ledger says of
    // it) is the merge's job, so an older one in the file is refused.
    let created = |r: &Record| r.time("created_at");
    if let (Some(theirs), Some(ours)) = (created(rec), created(&cur))
        && theirs < ours
        && rec.nonempty("renamed_from").is_none()
    {
        return Err(Error::Conflict {
            msg: format!(
                "{id} in the file is another issue than {id} here, and older: a merge gives it this id and renames the one here"
            ),
            hint: Some(
                "bring it in with `bd sync` (or git pull) from the clone it came from, not `bd import`".into(),
            ),
        });
    }
    if rec.nonempty("renamed_from").is_none() {
        rec.set("renamed_from", &id);
    }
    // A copy renamed before renames got longer is found under its id.
    let legacy: Vec<String> = merge::legacy_collision_ids(rec).collect();
    for cand in legacy {
        if tx.contains(&cand) {
            let there = tx.get(&cand)?;
            let mut probe = rec.clone();
            probe.set_id(&cand);
            if merge::same_issue(&there, &probe) {
                *rec = probe;
                merge::rewrite_issue_ids(rec, &BTreeSet::from([id]), &cand);
                return Ok(Some(there));
            }
        }
    }
    let candidates: Vec<String> = merge::collision_ids(rec).take(32).collect();
    for cand in candidates {
        if tx.contains(&cand) {
            let there = tx.get(&cand)?;
            let mut probe = rec.clone();
            probe.set_id(&cand);
            if !merge::same_issue(&there, &probe) {
                continue;
            }
            *rec = probe;
            merge::rewrite_issue_ids(rec, &BTreeSet::from([id]), &cand);
            return Ok(Some(there));
        }
        rec.set_id(&cand);
        merge::rewrite_issue_ids(rec, &BTreeSet::from([id.clone()]), &cand);
        rep.renamed.push(format!(
            "{id} → {cand} (another issue here has the id; both kept)"
        ));
        return Ok(None);
    }
    Err(Error::invalid(format!(
        "{id}: no free id for a second issue with this id"
    )))
}

/// The ledger event of an imported state, as the verb that makes that state
/// by hand records it (`claim`, `sling`, `close`, `delete`, `unclaim`,
/// `reopen`); `None` when the state did not change.
fn state_event(ctx: &Session, before: Option<&Record>, after: &Record) -> Option<Event> {
    let status = after.state();
    let was = before.map(Record::state);
    if was.as_ref() == Some(&status)
        && before.and_then(|b| b.nonempty("assignee")) == after.nonempty("assignee")
    {
        return None;
    }
    match (&status, after.nonempty("assignee")) {
        (Status::Closed, _) => Some(Event::Closed),
        (Status::Tombstone, _) => Some(Event::Deleted),
        (Status::InProgress, Some(holder)) => Some(Event::Claimed {
            holder,
            started_at: after.str("started_at").unwrap_or_default(),
        }),
        (Status::Hooked, Some(agent)) => Some(Event::Hooked {
            agent,
            by: ctx.actor.clone(),
        }),
        _ if was.as_ref().is_none_or(Status::is_held) => Some(Event::Released),
        _ if was == Some(Status::Closed) => Some(Event::Reopened),
        _ => None,
    }
}

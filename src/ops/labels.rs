//! Labels and comments: `bd label add|remove|list`, `bd comment`, `bd comments`.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::model::id;
use crate::model::record::{Comment, Record};
use crate::ops::create::check_label;
use crate::ops::edit::Outcome;
use crate::ops::{Ctx, unchanged, usage};

fn edit_labels(ctx: &Ctx, id: &str, labels: &[String], add: bool) -> Result<Outcome> {
    if labels.is_empty() {
        return Err(usage("give at least one label"));
    }
    let labels: Vec<String> = labels
        .iter()
        .map(|l| check_label(l))
        .collect::<Result<_>>()?;
    let mut tx = ctx.begin()?;
    let prefix = ctx.prefix_of_rows(tx.rows());
    let id = tx.resolve(id, &prefix)?;
    let mut rec = tx.get(&id)?;
    crate::ops::refuse_deleted(&rec)?;
    crate::ops::editable_list(&rec, "labels")?;
    let at = rec.next_stamp(ctx.now);
    let before = rec.clone();
    let mut changed = false;
    let mut missing = Vec::new();
    for l in &labels {
        let did = if add {
            rec.add_label(l)
        } else {
            rec.remove_label(l)
        };
        if did {
            changed = true;
        } else if add {
            unchanged(ctx, format!("{id} already has label '{l}'"));
        } else {
            missing.push(l.clone());
        }
    }
    if !missing.is_empty() && !changed {
        return Err(Error::not_found(format!(
            "{id} has no label {}; nothing removed",
            missing
                .iter()
                .map(|m| format!("'{m}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    for m in &missing {
        ctx.notice(format!("{id} had no label '{m}'"));
    }
    if changed {
        crate::ops::stamp_write(ctx, &before, &mut rec, &["labels"], at);
        tx.put(rec.clone());
        ctx.commit(tx)?;
    }
    Ok(Outcome {
        record: rec,
        changed,
    })
}

pub fn add(ctx: &Ctx, id: &str, labels: &[String]) -> Result<Outcome> {
    edit_labels(ctx, id, labels, true)
}

pub fn remove(ctx: &Ctx, id: &str, labels: &[String]) -> Result<Outcome> {
    edit_labels(ctx, id, labels, false)
}

/// Labels of one issue, or every label in use with its count.
pub fn list(ctx: &Ctx, id: Option<&str>) -> Result<BTreeMap<String, usize>> {
    let snap = ctx.snapshot()?;
    let mut out = BTreeMap::new();
    match id {
        Some(q) => {
            let prefix = ctx.prefix_of_rows(&snap.rows);
            for l in &snap.resolve(q, &prefix)?.labels {
                out.insert(l.clone(), 1);
            }
        }
        None => {
            for r in snap.rows.iter().filter(|r| r.status != "tombstone") {
                for l in &r.labels {
                    *out.entry(l.clone()).or_default() += 1;
                }
            }
        }
    }
    Ok(out)
}

pub fn comment(ctx: &Ctx, id: &str, text: &str) -> Result<(Record, Comment)> {
    if text.trim().is_empty() {
        return Err(Error::invalid("comment text must not be blank"));
    }
    let mut tx = ctx.begin()?;
    let prefix = ctx.prefix_of_rows(tx.rows());
    let id = tx.resolve(id, &prefix)?;
    let mut rec = tx.get(&id)?;
    crate::ops::refuse_deleted(&rec)?;
    crate::ops::editable_list(&rec, "comments")?;
    let at = rec.next_stamp(ctx.now);
    let before = rec.clone();
    let created = ctx.now_text();
    let c = Comment {
        id: id::comment_id(&id, &ctx.actor, &created, text).into(),
        issue_id: id.clone(),
        author: ctx.actor.clone(),
        text: text.to_string(),
        created_at: created,
    };
    rec.add_comment(&c);
    crate::ops::stamp_write(ctx, &before, &mut rec, &["comments"], at);
    tx.put(rec.clone());
    ctx.commit(tx)?;
    Ok((rec, c))
}

pub fn comments(ctx: &Ctx, id: &str) -> Result<Vec<Comment>> {
    let snap = ctx.snapshot()?;
    let prefix = ctx.prefix_of_rows(&snap.rows);
    let row = snap.resolve(id, &prefix)?;
    Ok(snap.record(row)?.comments())
}

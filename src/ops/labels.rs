//! Labels and comments: `bd label add|remove|list`, `bd comment`, `bd comments`.

use crate::model::id;
use crate::model::kinds::Status;
use std::collections::BTreeMap;

use crate::error::{Error, Missing, Result};
use crate::model::record::{Comment, Record};
use crate::ops::create::check_label;
use crate::ops::write::Outcome;
use crate::ops::{Session, unchanged, usage};

/// `label add|remove <ids…> <label>` (the classic order): one label on
/// every named issue, in one write. A label that names an existing issue
/// exactly (its id, or the id without its prefix) is refused: it is almost
/// always ids and label given the other way round, which would silently turn
/// an issue into a label.
fn edit_labels(ctx: &Session, ids: &[String], label: &str, add: bool) -> Result<Vec<Outcome>> {
    if ids.is_empty() {
        return Err(usage("give at least one issue, then the label"));
    }
    let verb = if add { "add" } else { "remove" };
    let label = check_label(label)?;
    let mut tx = ctx.tx()?;
    let prefix = ctx.prefix_for(&tx)?;
    // Any spelling `bd show` takes exactly: the full id or its hash part.
    let named = id::named_exactly(&label, &prefix, &tx.id_prefixes(), |c| tx.contains(c));
    if let Some(named) = named {
        let what = if named == label {
            String::new()
        } else {
            format!(" ({named})")
        };
        return Err(Error::Invalid {
            msg: format!("label '{label}' is the id of an existing issue{what}"),
            hint: Some(format!(
                "the syntax is `bd label {verb} <id>... <label>`: the issues first, the one label last"
            )),
        });
    }
    let mut resolved: Vec<String> = Vec::new();
    for q in ids {
        let id = tx.resolve(q, &prefix)?;
        if !resolved.contains(&id) {
            resolved.push(id);
        }
    }
    let mut outcomes = Vec::new();
    let mut missing = Vec::new();
    let mut any = false;
    for id in &resolved {
        let mut rec = tx.get(id)?;
        crate::ops::write::refuse_deleted(ctx, &rec)?;
        crate::ops::editable_list(&rec, "labels")?;
        let at = rec.next_stamp(ctx.now);
        let before = rec.clone();
        let changed = if add {
            rec.add_label(&label)
        } else {
            rec.remove_label(&label)
        };
        if changed {
            any = true;
            crate::ops::stamp_write(ctx, &before, &mut rec, &["labels"], at);
            tx.put(rec.clone());
        } else if add {
            unchanged(ctx, format!("{id} already has label '{label}'"));
        } else {
            missing.push(id.clone());
        }
        outcomes.push(Outcome {
            record: rec,
            changed,
        });
    }
    if !any && !missing.is_empty() {
        return Err(Error::NotFound(Missing::Label {
            label: label.to_string(),
            ids: missing,
        }));
    }
    for m in &missing {
        ctx.notice(format!("{m} had no label '{label}'"));
    }
    if any {
        ctx.commit(tx)?;
    }
    Ok(outcomes)
}

pub fn add(ctx: &Session, ids: &[String], label: &str) -> Result<Vec<Outcome>> {
    edit_labels(ctx, ids, label, true)
}

pub fn remove(ctx: &Session, ids: &[String], label: &str) -> Result<Vec<Outcome>> {
    edit_labels(ctx, ids, label, false)
}

/// Labels of one issue, or every label in use with its count.
pub fn list(ctx: &Session, id: Option<&str>) -> Result<BTreeMap<String, usize>> {
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
            for r in snap.rows.iter().filter(|r| r.state() != Status::Tombstone) {
                for l in &r.labels {
                    *out.entry(l.clone()).or_default() += 1;
                }
            }
        }
    }
    Ok(out)
}

/// Add a comment by the actor, or by `author` (classic `--author`: a name
/// given for the comment; the write is still the actor's).
pub fn comment(
    ctx: &Session,
    id: &str,
    text: &str,
    author: Option<&str>,
) -> Result<(Record, Comment)> {
    if text.trim().is_empty() {
        return Err(Error::invalid("comment text must not be blank"));
    }
    let author = match author.map(str::trim) {
        None => ctx.actor.clone(),
        Some(a) if a.is_empty() || a.chars().any(char::is_control) => {
            return Err(Error::invalid(
                "--author must be a name: not blank, no control characters",
            ));
        }
        Some(a) => a.to_string(),
    };
    let tx = ctx.tx()?;
    let prefix = ctx.prefix_for(&tx)?;
    let id = tx.resolve(id, &prefix)?;
    let mut rec = tx.get(&id)?;
    crate::ops::write::refuse_deleted(ctx, &rec)?;
    crate::ops::editable_list(&rec, "comments")?;
    let at = rec.next_stamp(ctx.now);
    let before = rec.clone();
    let c = crate::ops::write::comment_by(ctx, &mut rec, &author, text.to_string());
    let o = crate::ops::write::write_one(ctx, tx, &before, rec, &["comments"], at)?;
    Ok((o.record, id_as_text(c)))
}

/// A comment as `comment` and `comments` give it: its id as text, as
/// classic clients read it (the file keeps the number).
fn id_as_text(mut c: Comment) -> Comment {
    let text = match &c.id {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    c.id = serde_json::Value::String(text);
    c
}

pub fn comments(ctx: &Session, id: &str) -> Result<Vec<Comment>> {
    let snap = ctx.snapshot()?;
    let prefix = ctx.prefix_of_rows(&snap.rows);
    let row = snap.resolve(id, &prefix)?;
    Ok(snap
        .record(row)?
        .comments()
        .into_iter()
        .map(id_as_text)
        .collect())
}

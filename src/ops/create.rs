//! `bd create`: a new issue with a hash-derived (or child) ID.

use crate::error::{Error, Result};
use crate::model::id;
use crate::model::kinds::Status;
use crate::model::record::{Dep, Record};
use crate::model::values;
use crate::ops::Session;

#[derive(Debug, Default, Clone)]
pub struct CreateOptions {
    pub title: String,
    pub issue_type: Option<String>,
    pub priority: Option<String>,
    pub text: crate::ops::IssueText,
    pub labels: Vec<String>,
    pub assignee: Option<String>,
    pub owner: Option<String>,
    pub parent: Option<String>,
    /// `type:id` or `id` (blocks).
    pub deps: Vec<String>,
    pub external_ref: Option<String>,
    pub defer: Option<String>,
    pub due: Option<String>,
    pub estimate: Option<i64>,
    /// An explicit ID (classic `--id`): valid, free, and of the tracker's
    /// prefix unless `force`.
    pub id: Option<String>,
    pub force: bool,
    /// Build the issue and say what it would be; write nothing.
    pub dry_run: bool,
}

/// Parse `type:id` / `id` dependency specs ([`values::parse_dep_specs`]).
pub fn parse_dep_specs(specs: &[String]) -> Result<Vec<(String, String)>> {
    values::parse_dep_specs(specs).map_err(Error::invalid)
}

/// A label as given, trimmed ([`values::check_label`]).
pub fn check_label(l: &str) -> Result<String> {
    values::check_label(l).map_err(Error::invalid)
}

/// A future date for `--defer` ([`values::future_date`]).
pub fn future_date(ctx: &Session, text: &str, what: &str) -> Result<String> {
    values::future_date(text, ctx.now, what).map_err(Error::invalid)
}

/// Any date (`--due`) ([`values::any_date`]).
pub fn any_date(ctx: &Session, text: &str, what: &str) -> Result<String> {
    values::any_date(text, ctx.now, what).map_err(Error::invalid)
}

/// The next free child number of `parent`.
pub fn next_child_number(ids: &[&str], parent: &str) -> u32 {
    ids.iter()
        .filter_map(|i| id::split_child(i))
        .filter(|(p, _)| *p == parent)
        .map(|(_, n)| n)
        .max()
        .unwrap_or(0)
        + 1
}

pub fn create(ctx: &Session, o: &CreateOptions) -> Result<Record> {
    let title = values::check_title(&o.title).map_err(Error::invalid)?;
    let priority = match &o.priority {
        Some(p) => values::parse_priority(p).map_err(Error::invalid)?,
        None => 2,
    };
    let issue_type = o.issue_type.clone().unwrap_or_else(|| "task".into());
    values::check_type(&issue_type, &ctx.custom_types()).map_err(Error::invalid)?;
    let labels = o
        .labels
        .iter()
        .flat_map(|l| l.split(','))
        .filter(|l| !l.trim().is_empty())
        .map(check_label)
        .collect::<Result<Vec<_>>>()?;
    if o.labels.iter().any(|l| l.trim().is_empty()) {
        return Err(Error::invalid("label must not be blank"));
    }
    let deps = parse_dep_specs(&o.deps)?;
    let defer = o
        .defer
        .as_deref()
        .map(|d| future_date(ctx, d, "defer date"))
        .transpose()?;
    let due = o
        .due
        .as_deref()
        .map(|d| any_date(ctx, d, "due date"))
        .transpose()?;
    if let Some(e) = o.estimate
        && e < 0
    {
        return Err(Error::invalid(format!(
            "estimate must not be negative (got {e})"
        )));
    }

    let mut tx = ctx.tx()?;
    let prefix = ctx.prefix_for(&tx)?;
    let parent = o
        .parent
        .as_deref()
        .map(|p| tx.resolve(p, &prefix))
        .transpose()?;
    // A deleted issue is no parent and no dependency (`close`'s words).
    if let Some(p) = &parent {
        crate::ops::write::refuse_deleted(ctx, &tx.get(p)?)?;
    }
    let mut resolved_deps = Vec::new();
    for (kind, target) in &deps {
        let t = tx.resolve(target, &prefix)?;
        crate::ops::write::refuse_deleted(ctx, &tx.get(&t)?)?;
        resolved_deps.push((kind.clone(), t));
    }
    let new_id = match (&parent, &o.id) {
        (Some(_), Some(_)) => {
            return Err(crate::ops::usage("give --id or --parent, not both"));
        }
        (None, Some(want)) => explicit_id(want, &prefix, o.force, |i| tx.contains(i))?,
        (Some(p), None) => {
            let kids = tx.ids_starting(&format!("{p}."))?;
            let kids: Vec<&str> = kids.iter().map(String::as_str).collect();
            id::child_id(p, next_child_number(&kids, p))
        }
        (None, None) => {
            let top = tx.top_level_count();
            let len = id::id_length(top + 1);
            let desc = o.text.description.as_deref().unwrap_or("");
            let mut nonce = 0u32;
            loop {
                let h = id::issue_hash(&title, desc, &ctx.actor, ctx.now, nonce);
                let cand = id::issue_id(&prefix, &h, len);
                if !tx.contains(&cand) {
                    break cand;
                }
                nonce += 1;
            }
        }
    };
    let now = ctx.now_text();
    let mut rec = Record::new(&new_id);
    rec.set("title", &title);
    for (k, v) in o.text.fields() {
        if let Some(v) = v
            && !v.is_empty()
        {
            rec.set(k, v);
        }
    }
    rec.set_status(if defer.is_some() {
        Status::Deferred
    } else {
        Status::Open
    });
    rec.set("priority", &priority);
    rec.set("issue_type", &issue_type);
    if let Some(a) = o.assignee.as_deref().filter(|a| !a.is_empty()) {
        // A look-alike of a registered agent (`Ｄave`) is that agent.
        rec.set("assignee", &crate::ops::membership::agent_spelling(ctx, a));
    }
    if let Some(a) = o.owner.as_deref().filter(|a| !a.is_empty()) {
        rec.set("owner", a);
    }
    if let Some(e) = o.estimate {
        rec.set("estimated_minutes", &e);
    }
    rec.set("created_at", &now);
    rec.set("created_by", &ctx.actor);
    rec.set("updated_at", &now);
    if let Some(d) = &due {
        rec.set("due_at", d);
    }
    if let Some(d) = &defer {
        rec.set("defer_until", d);
    }
    if let Some(x) = o.external_ref.as_deref().filter(|x| !x.is_empty()) {
        rec.set("external_ref", x);
    }
    let mut labels = labels;
    labels.sort();
    labels.dedup();
    if !labels.is_empty() {
        rec.set("labels", &labels);
    }
    let edge = |target: &str, kind: &str| Dep {
        issue_id: new_id.clone(),
        depends_on_id: target.to_string(),
        kind: kind.to_string(),
        created_at: Some(now.clone()),
        created_by: Some(ctx.actor.clone()),
        metadata: None,
    };
    if let Some(p) = &parent {
        rec.add_dep(&edge(p, "parent-child"));
    }
    for (kind, target) in &resolved_deps {
        if kind == "parent-child" && parent.is_some() {
            return Err(Error::invalid(
                "give the parent once: --parent or a parent-child dep",
            ));
        }
        rec.add_dep(&edge(target, kind));
    }
    // A new issue has no incoming edges, so its edges cannot close a cycle.
    if o.dry_run {
        return Ok(rec);
    }
    tx.put(rec.clone());
    ctx.commit(tx)?;
    Ok(rec)
}

/// A user-given ID for a new issue: well-formed, not taken (a deleted
/// issue's ID stays taken: its tombstone syncs), and of the tracker's prefix
/// unless forced.
fn explicit_id(
    want: &str,
    prefix: &str,
    force: bool,
    taken: impl Fn(&str) -> bool,
) -> Result<String> {
    let want = want.trim();
    if !id::is_valid(want) {
        return Err(Error::invalid(format!(
            "invalid --id '{want}': use <prefix>-<letters and digits>, such as {prefix}-42"
        )));
    }
    if let Some((parent, _)) = id::split_child(want) {
        return Err(Error::Invalid {
            msg: format!("--id '{want}' is a child's ID"),
            hint: Some(format!("create children with `--parent {parent}`")),
        });
    }
    if !force && !want.starts_with(&format!("{prefix}-")) {
        return Err(Error::Invalid {
            msg: format!("--id '{want}' does not have this tracker's prefix '{prefix}'"),
            hint: Some("use --force to create it anyway".into()),
        });
    }
    if taken(want) {
        return Err(Error::invalid(format!("--id '{want}' is already taken")));
    }
    Ok(want.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_numbers_go_above_every_known_child() {
        let ids = ["bd-a", "bd-a.1", "bd-a.7", "bd-a.7.1", "bd-b.9"];
        assert_eq!(next_child_number(&ids, "bd-a"), 8);
        assert_eq!(next_child_number(&ids, "bd-a.7"), 2);
        assert_eq!(next_child_number(&ids, "bd-c"), 1);
    }

    #[test]
    fn dep_specs() {
        let d = parse_dep_specs(&["blocks:bd-1,related:bd-2".into(), "bd-3".into()]).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d[2], ("blocks".into(), "bd-3".into()));
        assert!(parse_dep_specs(&["bogus:bd-1".into()]).is_err());
    }
}

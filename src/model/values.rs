//! The vocabulary of work items: built-in statuses and types, priorities, and
//! the checks `create`/`update` apply to values a user gives.

pub const STATUSES: &[&str] = &[
    "open",
    "in_progress",
    "blocked",
    "deferred",
    "closed",
    "tombstone",
    "hooked",
    "pinned",
];

pub const WORK_TYPES: &[&str] = &["bug", "feature", "task", "epic", "chore"];

pub const COORDINATION_TYPES: &[&str] = &[
    "convoy",
    "message",
    "agent",
    "molecule",
    "gate",
    "event",
    "merge-request",
    "role",
    "rig",
];

/// Dependency types a user may add. Unknown types in files still load.
pub const DEP_TYPES: &[&str] = &[
    "blocks",
    "parent-child",
    "conditional-blocks",
    "waits-for",
    "related",
    "relates-to",
    "discovered-from",
    "duplicates",
    "supersedes",
    "replies-to",
    "tracks",
    "caused-by",
];

pub const MAX_TITLE_CHARS: usize = 500;

/// Parse a priority as users type it: `0`–`4`, `P0`–`P4`, or a word.
pub fn parse_priority(s: &str) -> Result<i64, String> {
    let t = s.trim().to_ascii_lowercase();
    let n = match t.as_str() {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        "backlog" => 4,
        _ => {
            let digits = t.strip_prefix('p').unwrap_or(&t);
            match digits.parse::<i64>() {
                Ok(n) if (0..=4).contains(&n) => n,
                _ => {
                    return Err(format!(
                        "invalid priority '{s}': use 0-4, P0-P4, critical, high, medium, low or backlog"
                    ));
                }
            }
        }
    };
    Ok(n)
}

/// Trim a title and check it is 1–500 characters.
pub fn check_title(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("title must not be blank".into());
    }
    let n = t.chars().count();
    if n > MAX_TITLE_CHARS {
        return Err(format!(
            "title is {n} characters; the limit is {MAX_TITLE_CHARS}"
        ));
    }
    Ok(t.to_string())
}

pub fn check_status(s: &str, custom: &[String]) -> Result<(), String> {
    if STATUSES.contains(&s) || custom.iter().any(|c| c == s) {
        Ok(())
    } else {
        Err(format!(
            "invalid status '{s}': use one of {} (or add it to custom_statuses)",
            STATUSES.join(", ")
        ))
    }
}

pub fn check_type(s: &str, custom: &[String]) -> Result<(), String> {
    if WORK_TYPES.contains(&s) || COORDINATION_TYPES.contains(&s) || custom.iter().any(|c| c == s) {
        Ok(())
    } else {
        Err(format!(
            "invalid type '{s}': use one of {}, {} (or add it to custom_types)",
            WORK_TYPES.join(", "),
            COORDINATION_TYPES.join(", ")
        ))
    }
}

pub fn check_dep_type(s: &str) -> Result<(), String> {
    if DEP_TYPES.contains(&s) {
        Ok(())
    } else {
        Err(format!(
            "invalid dependency type '{s}': use one of {}",
            DEP_TYPES.join(", ")
        ))
    }
}

/// Parse `type:id` / `id` dependency specs (comma-separated too); a bare
/// id is a `blocks` edge.
pub fn parse_dep_specs(specs: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for spec in specs.iter().flat_map(|s| s.split(',')) {
        let spec = spec.trim();
        if spec.is_empty() {
            continue;
        }
        let (kind, target) = match spec.split_once(':') {
            Some((k, t)) => (k.trim().to_string(), t.trim().to_string()),
            None => ("blocks".to_string(), spec.to_string()),
        };
        check_dep_type(&kind)?;
        if target.is_empty() {
            return Err(format!("dependency '{spec}' names no issue"));
        }
        out.push((kind, target));
    }
    Ok(out)
}

/// A label as given, trimmed: not blank, no control characters.
pub fn check_label(l: &str) -> Result<String, String> {
    let t = l.trim();
    if t.is_empty() {
        return Err("label must not be blank".into());
    }
    if t.chars().any(char::is_control) {
        return Err(format!(
            "label '{}' has control characters",
            t.escape_debug()
        ));
    }
    Ok(t.to_string())
}

/// A date a user gives (RFC 3339, `YYYY-MM-DD`, `+N(s|m|h|d|w)` from
/// `now`), as bd writes times; `what` names it in the error.
pub fn any_date(text: &str, now: crate::model::time::Nanos, what: &str) -> Result<String, String> {
    use crate::model::time::DateProblem;
    crate::model::time::parse_user_checked(text, now)
        .map(crate::model::time::format)
        .map_err(|p| match p {
            DateProblem::Unreadable => format!(
                "invalid {what} '{text}': use an RFC 3339 time, YYYY-MM-DD, or +N(s|m|h|d|w)"
            ),
            DateProblem::OutOfRange => format!(
                "{what} '{text}' is out of range: bd keeps times from 1677-09-22 to 2262-04-11"
            ),
        })
}

/// [`any_date`] that must be after `now` (`--defer`).
pub fn future_date(
    text: &str,
    now: crate::model::time::Nanos,
    what: &str,
) -> Result<String, String> {
    let at = any_date(text, now, what)?;
    if crate::model::time::parse(&at).is_none_or(|t| t <= now) {
        return Err(format!("{what} '{text}' is not in the future"));
    }
    Ok(at)
}

/// The largest claim epoch a record brought in may carry (epochs count
/// claim-group writes; far below where adding one could overflow).
pub const MAX_EPOCH: i64 = 1 << 40;

/// Whether a field holds a time by its name (`*_at`, `*_until`): such values
/// compare as instants, whatever their spelling.
pub fn is_time_key(k: &str) -> bool {
    k.ends_with("_at") || k.ends_with("_until")
}

/// The fields of a record that hold times.
pub const TIME_FIELDS: &[&str] = &[
    "created_at",
    "updated_at",
    "started_at",
    "closed_at",
    "due_at",
    "defer_until",
    "deleted_at",
];

/// The shape a record brought in from outside (`bd import`) must have to be
/// written: an id is checked by the caller; here a non-blank title, times
/// that parse, a priority 0–4, strings where text goes, labels a list of
/// strings, dependencies objects naming their target, comments objects.
/// Unknown fields pass (they round-trip). The error names the field.
pub fn check_record(rec: &crate::model::record::Record) -> Result<(), String> {
    use serde_json::Value;
    let get =
        |k: &str| -> Option<Value> { rec.raw(k).and_then(|r| serde_json::from_str(r.get()).ok()) };
    match get("title") {
        Some(Value::String(t)) if !t.trim().is_empty() => {}
        Some(Value::String(_)) => return Err("field `title`: must not be blank".into()),
        Some(_) => return Err("field `title`: must be a string".into()),
        None => return Err("field `title`: missing".into()),
    }
    for k in TIME_FIELDS {
        match get(k) {
            None | Some(Value::Null) => {}
            Some(Value::String(t)) if crate::model::time::parse(&t).is_some() => {}
            Some(v) => return Err(format!("field `{k}`: {v} is not a time (RFC 3339)")),
        }
    }
    match get("priority") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_i64().is_some_and(|p| (0..=4).contains(&p)) => {}
        Some(v) => return Err(format!("field `priority`: {v} is not an integer 0–4")),
    }
    match get("estimated_minutes") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_i64().is_some_and(|m| m >= 0) => {}
        Some(v) => {
            return Err(format!(
                "field `estimated_minutes`: {v} is not a whole number of minutes"
            ));
        }
    }
    for k in [
        "status",
        "issue_type",
        "assignee",
        "description",
        "design",
        "notes",
        "acceptance_criteria",
        "close_reason",
    ] {
        match get(k) {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(v) => return Err(format!("field `{k}`: {v} is not a string")),
        }
    }
    match get("labels") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
        Some(_) => return Err("field `labels`: must be a list of strings".into()),
    }
    match get("dependencies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for d in &a {
                let target = d.get("depends_on_id").and_then(Value::as_str);
                if !d.is_object() || target.is_none_or(|t| t.trim().is_empty()) {
                    return Err(format!(
                        "field `dependencies`: {d} does not name what it depends on (`depends_on_id`)"
                    ));
                }
            }
        }
        Some(_) => return Err("field `dependencies`: must be a list".into()),
    }
    match get("_stamps") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            if let Some(e) = m.get("claim_epoch")
                && !e.as_i64().is_some_and(|e| (0..=MAX_EPOCH).contains(&e))
            {
                return Err(format!(
                    "field `_stamps`: claim_epoch {e} is not an integer 0–{MAX_EPOCH}"
                ));
            }
        }
        Some(_) => return Err("field `_stamps`: must be an object".into()),
    }
    match get("comments") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.iter().all(Value::is_object) => {}
        Some(_) => return Err("field `comments`: must be a list of objects".into()),
    }
    Ok(())
}

/// Statuses that end work: nothing waits on them ([`Status::is_done`] on
/// the stored text).
///
/// [`Status::is_done`]: crate::model::kinds::Status::is_done
pub fn is_done(status: &str) -> bool {
    crate::model::kinds::Status::parse(status).is_done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities() {
        assert_eq!(parse_priority("P0"), Ok(0));
        assert_eq!(parse_priority("p3"), Ok(3));
        assert_eq!(parse_priority("backlog"), Ok(4));
        assert_eq!(parse_priority(" 2 "), Ok(2));
        assert!(parse_priority("5").is_err());
        assert!(parse_priority("-1").is_err());
        assert!(parse_priority("urgent").is_err());
    }

    #[test]
    fn titles() {
        assert_eq!(check_title("  hi  ").unwrap(), "hi");
        assert!(check_title(" \t ").is_err());
        assert!(check_title(&"x".repeat(501)).is_err());
        assert!(check_title(&"é".repeat(500)).is_ok());
    }
}

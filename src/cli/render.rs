//! Human output: one line per issue for lists, a block for `show`.

use std::fmt::Write as _;

use crate::error::Error;
use crate::model::time::{self, Nanos};
use crate::ops::Notice;
use crate::ops::compose::Row;
use crate::ops::coord::Overlay;
use crate::ops::query::Shown;

pub fn row_line(r: &Row) -> String {
    let mut s = format!(
        "{:<14} P{} {:<11} {:<8} {}",
        r.id,
        r.priority,
        r.status,
        r.issue_type,
        one_line(&r.title)
    );
    if !r.assignee.is_empty() {
        let _ = write!(s, "  @{}", one_line(&r.assignee));
    }
    if !r.labels.is_empty() {
        let _ = write!(s, "  [{}]", r.labels.join(", "));
    }
    s
}

/// `list --long`: each issue's line, then its description's first line,
/// its dates and its edges, indented; a blank line between issues.
pub fn long_lines(l: &crate::ops::query::Listing) -> crate::error::Result<String> {
    let mut t = String::new();
    for r in &l.rows {
        let rec = l.snap.record(r)?;
        let _ = writeln!(t, "{}", row_line(r));
        if let Some(d) = rec
            .str("description")
            .as_deref()
            .and_then(|d| d.lines().find(|x| !x.trim().is_empty()))
        {
            let _ = writeln!(t, "    {}", one_line(d));
        }
        let _ = write!(t, "    created {}", time::format(r.created_at));
        if r.updated_at != r.created_at {
            let _ = write!(t, ", updated {}", time::format(r.updated_at));
        }
        if let Some(c) = r.closed_at {
            let _ = write!(t, ", closed {}", time::format(c));
        }
        t.push('\n');
        if let Some(p) = &r.parent {
            let _ = writeln!(t, "    parent {p}");
        }
        for e in r.edges.iter().filter(|e| e.kind != "parent-child") {
            let _ = writeln!(
                t,
                "    depends on {} ({})",
                one_line(&e.target),
                one_line(&e.kind)
            );
        }
        t.push('\n');
    }
    Ok(t)
}

pub fn ready_lines(rows: &[Row]) -> String {
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let _ = write!(
            out,
            "{}. [P{}] {} {}: {}",
            i + 1,
            r.priority,
            r.issue_type,
            r.id,
            one_line(&r.title)
        );
        if !r.assignee.is_empty() {
            let _ = write!(out, "  @{}", one_line(&r.assignee));
        }
        out.push('\n');
    }
    out
}

pub fn blocked_lines(rows: &[Row]) -> String {
    let mut out = String::new();
    for r in rows {
        let by = if r.blockers.is_empty() {
            if r.status == "blocked" {
                "status blocked".to_string()
            } else {
                "a blocked parent".to_string()
            }
        } else {
            r.blockers.join(", ")
        };
        let _ = writeln!(
            out,
            "{}  [P{}] {}  (blocked by {by})",
            r.id,
            r.priority,
            one_line(&r.title)
        );
    }
    out
}

fn when(text: Option<String>) -> String {
    text.unwrap_or_default()
}

/// `show`'s lines for a molecule's items and gates (issue 16).
fn workflow_lines(out: &mut String, s: &Shown) {
    let r = &s.record;
    if let Some(m) = &s.molecule {
        let formula = m
            .formula
            .as_deref()
            .map(|f| format!(" (formula {f})"))
            .unwrap_or_default();
        let step = m
            .step
            .as_deref()
            .map(|st| format!(", step {st}"))
            .unwrap_or_default();
        let next = m
            .next_step
            .as_deref()
            .map(|n| format!(", next {n}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "Molecule: {} {}{formula}{step}: {}/{} steps done{next}",
            m.id,
            one_line(&m.title),
            m.completed,
            m.total
        );
    }
    if let Some(t) = r.nonempty("await_type") {
        let what = r
            .nonempty("await_id")
            .map(|a| format!(" {a}"))
            .unwrap_or_default();
        let timeout = r
            .int("timeout")
            .filter(|n| *n > 0)
            .map(|n| format!(", timeout {}", crate::model::gate::duration_text(n)))
            .unwrap_or_default();
        let _ = writeln!(out, "Gate: {t}{what}{timeout}");
    }
}

pub fn show(s: &Shown, now: Nanos) -> String {
    let r = &s.record;
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", r.id(), one_line(&r.title()));
    let _ = writeln!(
        out,
        "Status: {}   Priority: P{}   Type: {}",
        r.status(),
        r.priority(),
        r.issue_type()
    );
    if let Some(a) = r.nonempty("assignee") {
        let _ = writeln!(out, "Assignee: {}", one_line(&a));
    }
    if let Some(o) = r.nonempty("owner") {
        let _ = writeln!(out, "Owner: {o}");
    }
    let created = when(r.str("created_at"));
    let by = r
        .nonempty("created_by")
        .map(|b| format!(" by {b}"))
        .unwrap_or_default();
    let _ = writeln!(out, "Created: {created}{by}");
    if let Some(u) = r.time("updated_at") {
        let _ = writeln!(
            out,
            "Updated: {} ({})",
            when(r.str("updated_at")),
            time::age(u, now)
        );
    }
    for (k, label) in [
        ("closed_at", "Closed"),
        ("close_reason", "Reason"),
        ("defer_until", "Deferred until"),
        ("due_at", "Due"),
        ("external_ref", "External"),
        ("deleted_at", "Deleted"),
        ("delete_reason", "Delete reason"),
    ] {
        if let Some(v) = r.nonempty(k) {
            let _ = writeln!(out, "{label}: {v}");
        }
    }
    if let Some(e) = &s.effective {
        let _ = writeln!(out, "Elsewhere on this machine: {}", effective_text(e));
    }
    workflow_lines(&mut out, s);
    for h in &s.handoffs {
        let (project, msg) = (&h.project, &h.message);
        match &h.issue {
            Some(i) => {
                let age = h
                    .age_seconds
                    .map(|a| format!(", as of {} ago", short_age(a)))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "Handed off: {project} {i} is {}{age} ({msg})",
                    h.status.as_deref().unwrap_or("unknown")
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "Handed off: to {project}, delivery {} ({msg})",
                    h.delivery
                );
            }
        }
    }
    if s.lapsed {
        let _ = writeln!(
            out,
            "Lapsed: the holder has been silent longer than the lease (recoverable with `bd claim --steal`)"
        );
    }
    if s.row.blocked {
        let _ = writeln!(
            out,
            "Blocked by: {}",
            if s.row.blockers.is_empty() {
                "a blocked parent or its status".into()
            } else {
                s.row.blockers.join(", ")
            }
        );
    } else if s.ready {
        let _ = writeln!(out, "Ready: yes");
    }
    let labels = r.labels();
    if !labels.is_empty() {
        let _ = writeln!(out, "Labels: {}", labels.join(", "));
    }
    if let Some(p) = &s.row.parent {
        let _ = writeln!(out, "Parent: {p}");
    }
    if !s.depends_on.is_empty() {
        let _ = writeln!(out, "\nDepends on:");
        for (t, k) in &s.depends_on {
            let _ = writeln!(out, "  → {} ({k}) [{}] {}", t.id, t.status, t.title);
        }
    }
    if !s.dependents.is_empty() {
        let _ = writeln!(out, "\nDependents:");
        for (t, k) in &s.dependents {
            let _ = writeln!(out, "  ← {} ({k}) [{}] {}", t.id, t.status, t.title);
        }
    }
    for (k, label) in [
        ("description", "Description"),
        ("design", "Design"),
        ("acceptance_criteria", "Acceptance criteria"),
        ("notes", "Notes"),
    ] {
        if let Some(v) = r.nonempty(k) {
            let _ = writeln!(out, "\n{label}:");
            for line in v.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    let comments = r.comments();
    if !comments.is_empty() {
        let _ = writeln!(out, "\nComments ({}):", comments.len());
        for c in comments {
            let _ = writeln!(out, "  [{}] {}:", c.created_at, c.author);
            for line in c.text.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}

fn short(v: &Option<serde_json::Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(serde_json::Value::String(s)) => {
            let one: String = s.lines().next().unwrap_or("").chars().take(60).collect();
            if s.chars().count() > 60 || s.contains('\n') {
                format!("{one:?}…")
            } else {
                format!("{one:?}")
            }
        }
        Some(other) => {
            let t = other.to_string();
            if t.chars().count() > 80 {
                format!("{}…", t.chars().take(80).collect::<String>())
            } else {
                t
            }
        }
    }
}

pub fn diff(d: &crate::ops::history::Diff) -> String {
    let mut out = String::new();
    if d.changes.is_empty() {
        let _ = writeln!(out, "No tracker changes between {} and {}.", d.from, d.to);
        return out;
    }
    let _ = writeln!(out, "Tracker changes, {} → {}:", d.from, d.to);
    for c in &d.changes {
        let _ = writeln!(out, "\n{} {} \"{}\"", c.kind.verb(), c.id, c.title);
        field_changes(&mut out, &c.fields);
    }
    out
}

/// One line per changed field: a list's elements added and removed, or a
/// value's before and after.
fn field_changes(out: &mut String, fields: &[crate::ops::history::FieldChange]) {
    for f in fields {
        if let Some(t) = crate::ops::history::list_change_text(f) {
            let _ = writeln!(out, "    {}: {t}", f.field);
            continue;
        }
        let _ = writeln!(
            out,
            "    {}: {} → {}",
            f.field,
            short(&f.before),
            short(&f.after)
        );
    }
}

pub fn log(id: &str, entries: &[crate::ops::history::LogEntry]) -> String {
    let mut out = String::new();
    if entries.is_empty() {
        let _ = writeln!(out, "No commits changed {id}.");
        return out;
    }
    for e in entries {
        let short_id: String = e.commit.chars().take(10).collect();
        let _ = writeln!(out, "{short_id} {} {} — {}", e.time, e.author, e.subject);
        let _ = writeln!(out, "    {} {id}", e.kind.verb());
        field_changes(&mut out, &e.fields);
        for f in &e.lost {
            let _ = writeln!(
                out,
                "    lost in merge: {} = {} (kept {})",
                f.field,
                short(&f.before),
                short(&f.after)
            );
        }
    }
    out
}

pub fn convoy(p: &crate::ops::convoy::Progress) -> String {
    let mut out = format!(
        "{} [{}] {} — {}/{} done ({}%)\n",
        p.id,
        p.status,
        p.title,
        p.done,
        p.tracked,
        number(p.percent_done)
    );
    for (s, c) in &p.by_status {
        let _ = writeln!(out, "    {s}: {} ({}%)", c.count, number(c.percent));
    }
    out
}

/// A number as JSON writes it (`50.0`, not `50`).
pub fn number(x: f64) -> String {
    serde_json::to_string(&x).unwrap_or_default()
}

/// One line of a message list: `*` marks unread.
pub fn message_line(m: &crate::model::mail::Message, me: &str) -> String {
    let mark = if m.is_read_by(me) { ' ' } else { '*' };
    let mut flags = String::new();
    if m.importance != "normal" {
        flags.push_str(&format!(" [{}]", m.importance));
    }
    if m.ack_required && !m.acked_by.contains_key(me) {
        flags.push_str(" [ack]");
    }
    if !m.attachments.is_empty() {
        flags.push_str(&format!(" [{} attachment(s)]", m.attachments.len()));
    }
    format!(
        "{mark} {}  {}  {}  {}{flags}",
        m.id,
        m.created_at,
        one_line(&m.from),
        one_line(&m.subject)
    )
}

/// One line of the sent list: recipients, subject, and who read or acknowledged it.
pub fn sent_line(m: &crate::model::mail::Message) -> String {
    let mut marks = String::new();
    if !m.read_by.is_empty() {
        let who: Vec<&str> = m.read_by.keys().map(String::as_str).collect();
        let _ = write!(marks, "  read by {}", one_line(&who.join(", ")));
    }
    // Acks show like reads, asked for or not; a requested one not yet given is pending.
    if !m.acked_by.is_empty() {
        let who: Vec<&str> = m.acked_by.keys().map(String::as_str).collect();
        let _ = write!(marks, "  acked by {}", one_line(&who.join(", ")));
    } else if m.ack_required {
        marks.push_str("  [ack pending]");
    }
    format!(
        "{}  {}  to {}  {}{marks}",
        m.id,
        m.created_at,
        one_line(&m.to.join(", ")),
        one_line(&m.subject)
    )
}

/// A whole message: headers, then the body.
pub fn message(m: &crate::model::mail::Message) -> String {
    let mut t = format!(
        "{}  {}\nFrom: {}\nTo: {}\n",
        m.id,
        one_line(&m.subject),
        one_line(&m.from),
        one_line(&m.to.join(", "))
    );
    if !m.cc.is_empty() {
        t.push_str(&format!("Cc: {}\n", m.cc.join(", ")));
    }
    t.push_str(&format!("Date: {}\n", m.created_at));
    if m.thread != m.id {
        t.push_str(&format!("Thread: {}\n", m.thread));
    }
    if let Some(r) = &m.in_reply_to {
        t.push_str(&format!("In reply to: {r}\n"));
    }
    if let Some(i) = &m.issue {
        t.push_str(&format!("Issue: {i}\n"));
    }
    if m.importance != "normal" {
        t.push_str(&format!("Importance: {}\n", m.importance));
    }
    if m.ack_required {
        t.push_str("Acknowledgement requested\n");
    }
    for (who, at) in &m.read_by {
        t.push_str(&format!("Read by {} at {at}\n", one_line(who)));
    }
    for (who, at) in &m.acked_by {
        t.push_str(&format!("Acknowledged by {} at {at}\n", one_line(who)));
    }
    for (p, d) in &m.delivery {
        t.push_str(&format!("Delivery to {p}: {}", d.status));
        if let Some(i) = &d.issue {
            t.push_str(&format!(" as {i}"));
        }
        if let Some(s) = &d.issue_status {
            t.push_str(&format!(" ({s})"));
        }
        t.push('\n');
    }
    for a in &m.attachments {
        t.push_str(&format!(
            "Attachment: {} ({} bytes) .beads/attachments/{}\n",
            a.name, a.size, a.sha256
        ));
    }
    t.push('\n');
    t.push_str(&m.body);
    if !m.body.ends_with('\n') {
        t.push('\n');
    }
    t
}

/// The word a unit variant stands for in JSON (`root_commit`, `trusted`).
pub fn word(v: &impl serde::Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// `42s`, `5m`, `3h`, `2d`.
pub fn short_age(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// The ledger's view of an issue, in words.
fn effective_text(e: &Overlay) -> String {
    match e {
        Overlay::Held {
            holder,
            workspace,
            started_at,
            ..
        } => format!("claimed by {holder} in {workspace} since {started_at}"),
        Overlay::Hooked {
            agent, workspace, ..
        } => format!("on {agent}'s hook (slung in {workspace})"),
        Overlay::Closed { at, workspace } => format!("closed in {workspace} at {at}"),
        Overlay::Deleted { at, workspace } => format!("deleted in {workspace} at {at}"),
        Overlay::Released {
            until: Some(until), ..
        } => format!("deferred until {until} (its claim released)"),
        Overlay::Released {
            status: Some(status),
            ..
        } => format!("set {status} (its claim released)"),
        Overlay::Released {
            assignee: Some(a), ..
        } => format!("released (unclaimed, still assigned to {a})"),
        Overlay::Released { .. } => "released (unclaimed)".into(),
    }
}

/// Whether a character must never reach a terminal raw: C0 and C1 controls,
/// DEL, and the bidi overrides and isolates (U+202A–U+202E, U+2066–U+2069).
fn dangerous(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether UTF-8 `bytes` hold a [`dangerous`] character (line breaks and
/// tabs allowed when `breaks`), found bytewise: an ASCII control or DEL,
/// `C2 80`–`C2 9F` (the C1 controls), `E2 80 AA`–`E2 80 AE` and
/// `E2 81 A6`–`E2 81 A9` (the bidi overrides and isolates). The same answer
/// as looking at every character, at the speed of a byte scan (large
/// outputs such as `export` pass through it).
pub fn has_dangerous(bytes: &[u8], breaks: bool) -> bool {
    // Without short circuits inside a block, so the compiler vectorizes it.
    let control = |b: u8| (b < 0x20) & !(breaks & ((b == b'\n') | (b == b'\t'))) | (b == 0x7f);
    let ascii = bytes
        .chunks(64)
        .any(|c| c.iter().fold(false, |seen, &b| seen | control(b)));
    ascii
        || memchr::memchr2_iter(0xC2, 0xE2, bytes).any(|i| {
            matches!(
                (bytes[i], bytes.get(i + 1), bytes.get(i + 2)),
                (0xC2, Some(0x80..=0x9F), _)
                    | (0xE2, Some(0x80), Some(0xAA..=0xAE))
                    | (0xE2, Some(0x81), Some(0xA6..=0xA9))
            )
        })
}

fn escape_char(out: &mut String, c: char) {
    if (c as u32) < 0x80 {
        let _ = write!(out, "\\x{:02x}", c as u32);
    } else {
        let _ = write!(out, "\\u{{{:x}}}", c as u32);
    }
}

/// The words of an error: the CLI's for the errors that carry only data
/// (an unknown issue id), the error's own for the rest.
pub fn error_message(e: &Error) -> String {
    match e {
        Error::IssueNotFound { id, history: false } => format!("no issue '{id}'"),
        Error::IssueNotFound { id, history: true } => {
            format!("no issue '{id}' here or in this branch's history")
        }
        e => e.to_string(),
    }
}

/// A notice's line on stderr, made terminal-safe.
pub fn notice(n: &Notice) -> String {
    let line = match n {
        Notice::Info(m) => m.clone(),
        Notice::Note(m) => format!("note: {m}"),
        Notice::Warning(m) => format!("warning: {m}"),
        Notice::Unchanged(m) => format!("Nothing changed: {m}"),
    };
    terminal_safe(&line).into_owned()
}

/// Whether `--quiet` still prints a notice: warnings and notes, not what
/// the command did.
pub fn loud(n: &Notice) -> bool {
    matches!(n, Notice::Warning(_) | Notice::Note(_))
}

/// Make text safe for a terminal: every control character, DEL and bidi
/// override becomes visible (`\x1b`, `\u{202e}`); line breaks and tabs stay,
/// so multi-line text (descriptions, bodies) keeps its shape. Every line of
/// human output (stdout text, notices, errors, hints) goes through this.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !has_dangerous(text.as_bytes(), true) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if dangerous(c) && c != '\n' && c != '\t' {
            escape_char(&mut out, c);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A one-line field (title, name, subject) in human output: like
/// [`terminal_safe`], and line breaks and tabs are escaped too, so a value
/// can never fake another line.
pub fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(dangerous) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if dangerous(c) {
            escape_char(&mut out, c);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod escape_tests {
    use super::*;

    #[test]
    fn controls_become_visible() {
        assert_eq!(terminal_safe("a\x1b]0;x\x07b"), "a\\x1b]0;x\\x07b");
        assert_eq!(terminal_safe("x\x1b[2Jy"), "x\\x1b[2Jy");
        assert_eq!(terminal_safe("del\x7f c1\u{9b}"), "del\\x7f c1\\u{9b}");
        assert_eq!(
            terminal_safe("rl\u{202e}o \u{2066}"),
            "rl\\u{202e}o \\u{2066}"
        );
        assert_eq!(
            terminal_safe("two\nlines\tand tab\r"),
            "two\nlines\tand tab\\x0d"
        );
        assert_eq!(one_line("two\nlines\t"), "two\\x0alines\\x09");
        assert_eq!(terminal_safe("plain é ✓"), "plain é ✓");
    }

    #[test]
    fn nothing_dangerous_survives() {
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            for out in [terminal_safe(&s), one_line(&s)] {
                assert!(
                    !out.chars().any(|o| dangerous(o) && o != '\n' && o != '\t'),
                    "{c:?}"
                );
            }
            assert!(!one_line(&s).contains(['\n', '\t']));
        }
    }

    #[test]
    fn the_byte_scan_agrees_with_every_character() {
        for c in (0u32..=0x10FFFF).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            for breaks in [true, false] {
                let by_char = s
                    .chars()
                    .any(|x| dangerous(x) && !(breaks && (x == '\n' || x == '\t')));
                assert_eq!(has_dangerous(s.as_bytes(), breaks), by_char, "{c:?}");
            }
        }
    }
}

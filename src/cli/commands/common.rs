//! What the verbs share: their output, list filters, listings, outcomes and
//! reading the user's input files.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::cli::args::FilterArgs;
use crate::cli::render;
use crate::error::{Error, Result};
use crate::model::time;
use crate::ops::compose::Row;
use crate::ops::query::{Filter, Listing};
use crate::ops::write::Outcome;
use crate::ops::{self, Env, IssueView, Session};

/// What a command produced: its JSON document (pretty-printed), and the
/// human text for stdout.
pub struct Output {
    pub json: String,
    pub text: String,
    /// The exit code of a command that ran but reports a failure in its
    /// output (`doctor` with unfixed errors).
    pub code: i32,
    /// Output too large to hold (a listing of a whole tracker): written
    /// piece by piece when it is printed, in place of `json` (a JSON
    /// array, under `--json`) or `text`. [`Output::hold`] turns it into
    /// those.
    pub stream: Option<Stream>,
}

/// Writes an output's document or text to where it goes.
pub type Stream = Box<dyn FnOnce(&mut dyn Write) -> Result<()>>;

impl Output {
    /// The streamed output written into `json` (`as_json`) or `text`: for
    /// a caller that needs the document itself (`bd mcp`).
    pub fn hold(mut self, as_json: bool) -> Result<Output> {
        if let Some(write) = self.stream.take() {
            let mut buf = Vec::new();
            write(&mut buf)?;
            let s = String::from_utf8(buf).map_err(|e| Error::invalid(e.to_string()))?;
            if as_json {
                self.json = s;
            } else {
                self.text = s;
            }
        }
        Ok(self)
    }
}

/// A command's output from its report: the report as JSON (null in the
/// one case serde refuses it: a path that is not UTF-8), and the human text.
pub fn out(report: impl serde::Serialize, text: impl Into<String>) -> Output {
    Output {
        json: serde_json::to_string_pretty(&report).unwrap_or_else(|_| "null".into()),
        text: text.into(),
        code: 0,
        stream: None,
    }
}

/// An output written when it is printed, by `write` ([`Output::stream`]).
pub fn streamed(write: impl FnOnce(&mut dyn Write) -> Result<()> + 'static) -> Output {
    Output {
        json: String::new(),
        text: String::new(),
        code: 0,
        stream: Some(Box::new(write)),
    }
}

/// Write into `w` the JSON array of the items `each` hands over one at a
/// time, exactly as `serde_json::to_string_pretty` prints a `Vec` of them,
/// holding one item at a time. A failure to write stops
/// `each` (its error is the write's); `each`'s own error is returned.
pub fn json_array<T: serde::Serialize>(
    w: &mut dyn Write,
    each: impl FnOnce(&mut dyn FnMut(T) -> Result<()>) -> Result<()>,
) -> Result<()> {
    use serde::ser::{Error as _, SerializeSeq, Serializer};
    struct Items<'a, T, E> {
        each: std::cell::Cell<Option<E>>,
        failed: &'a std::cell::RefCell<Option<Error>>,
        item: std::marker::PhantomData<T>,
    }
    impl<T, E> serde::Serialize for Items<'_, T, E>
    where
        T: serde::Serialize,
        E: FnOnce(&mut dyn FnMut(T) -> Result<()>) -> Result<()>,
    {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            // No length: the pretty printer writes `[]` for none, and a
            // length it is given is only ever compared with 0.
            let mut seq = s.serialize_seq(None)?;
            let each = self.each.take().expect("serialized once");
            let mut write_err: Option<S::Error> = None;
            let r = each(&mut |item: T| match seq.serialize_element(&item) {
                Ok(()) => Ok(()),
                Err(e) => {
                    write_err = Some(e);
                    Err(Error::invalid("output closed"))
                }
            });
            if let Some(e) = write_err {
                return Err(e);
            }
            if let Err(e) = r {
                *self.failed.borrow_mut() = Some(e);
                return Err(S::Error::custom("reading the tracker failed"));
            }
            seq.end()
        }
    }
    let failed = std::cell::RefCell::new(None);
    let items = Items {
        each: std::cell::Cell::new(Some(each)),
        failed: &failed,
        item: std::marker::PhantomData,
    };
    // The serializer writes many small pieces: buffered here, they reach
    // `w` in large ones.
    let mut buf = std::io::BufWriter::with_capacity(1 << 16, w);
    let r = serde_json::to_writer_pretty(&mut buf, &items);
    if let Some(e) = failed.into_inner() {
        // What is still buffered is dropped: a failure at the first
        // record leaves nothing printed, so the error is reported as any.
        let _ = buf.into_parts();
        return Err(e);
    }
    r.map_err(|e| Error::io("-", std::io::Error::other(e)))?;
    buf.flush().map_err(|e| Error::io("-", e))
}

/// The environment of this command, read once: the named actor (`actor`
/// from `--actor`, else `BD_ACTOR`), the machine's home and the lock wait.
/// The time is left at zero: `now_from_env` gives it once a workspace is
/// open (a bad `BD_NOW` must not stop `bd version`).
pub fn env_from_process(actor: Option<String>) -> Env {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    // The XDG base directory rules ignore a relative XDG_STATE_HOME.
    let bd_home = var("BD_HOME").map(PathBuf::from).or_else(|| {
        var("XDG_STATE_HOME")
            .map(PathBuf::from)
            .filter(|x| x.is_absolute())
            .map(|x| x.join("bd"))
            .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/state/bd")))
    });
    let lock_ms = lock_ms_from_env().ok().flatten().unwrap_or(10_000);
    Env {
        now: 0,
        // Classic beads reads BEADS_ACTOR; BD_ACTOR wins when both are set.
        actor: actor.or_else(|| {
            ["BD_ACTOR", "BEADS_ACTOR"]
                .into_iter()
                .find_map(|v| std::env::var(v).ok().filter(|a| !a.trim().is_empty()))
        }),
        bd_home,
        lock_timeout: Duration::from_millis(lock_ms),
        formulas_dir: var("HOME").map(|h| PathBuf::from(h).join(".beads").join("formulas")),
        readonly: false,
        offline: false,
        remote: false,
        offline_claim: false,
    }
}

/// `BD_LOCK_TIMEOUT_MS` when set: a whole number of milliseconds, else an
/// error naming it (checked where a workspace opens, as `BD_NOW` is).
pub fn lock_ms_from_env() -> Result<Option<u64>> {
    match std::env::var("BD_LOCK_TIMEOUT_MS") {
        Ok(t) if !t.is_empty() => t.trim().parse().map(Some).map_err(|_| {
            Error::invalid(format!(
                "BD_LOCK_TIMEOUT_MS '{t}' is not a whole number of milliseconds"
            ))
        }),
        _ => Ok(None),
    }
}

/// The time of this command: `BD_NOW` when set, else the clock.
pub fn now_from_env() -> Result<i64> {
    match std::env::var("BD_NOW") {
        Ok(t) if !t.is_empty() => time::parse(&t)
            .ok_or_else(|| Error::invalid(format!("BD_NOW '{t}' is not an RFC 3339 time"))),
        _ => Ok(chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)),
    }
}

pub fn filter(f: FilterArgs, all: bool) -> Filter {
    Filter {
        statuses: f.status,
        priorities: f.priority,
        priority_min: f.priority_min,
        priority_max: f.priority_max,
        types: f.issue_type,
        labels: f.label,
        labels_any: f.label_any,
        assignee: f.assignee,
        unassigned: f.unassigned,
        parent: f.parent,
        created_after: f.created_after,
        created_before: f.created_before,
        title: f.title,
        all,
        limit: f.limit,
        sort: f.sort,
        ids: f.ids,
        desc_contains: f.desc_contains,
        notes_contains: f.notes_contains,
        empty_description: f.empty_description,
        updated_after: f.updated_after,
        updated_before: f.updated_before,
        closed_after: f.closed_after,
        closed_before: f.closed_before,
        no_labels: f.no_labels,
        no_parent: f.no_parent,
        exclude_labels: f.exclude_label,
        exclude_types: f.exclude_type,
        deferred: f.deferred,
        include_deferred: false,
        fresh: false,
        reverse: f.reverse,
    }
}

/// A listing's output: its JSON (reading every record) only when asked
/// for, written record by record as it is printed (never held).
pub fn listing(json: bool, l: Listing, text: String) -> Result<Output> {
    if json {
        return Ok(streamed(move |w| {
            let r = json_array(w, |put| l.each_view(put));
            // The process ends right after printing: freeing every row of
            // a large tracker would cost more than the command itself.
            ops::leave(l);
            r
        }));
    }
    let o = out(Value::Null, text);
    ops::leave(l);
    Ok(o)
}

pub fn lines(rows: &[Row]) -> String {
    rows.iter().map(|r| render::row_line(r) + "\n").collect()
}

/// The issues a verb wrote, each with the issues it depends on (as classic
/// clients read them): one → an object, several → an array.
pub fn outcomes(ctx: &Session, os: &[Outcome], verb: &str) -> Result<Output> {
    Ok(one_or_many(written(ctx, os, verb)?, ""))
}

/// [`outcomes`] always as an array, as classic `update`, `close` and
/// `reopen` give it (classic clients read a list).
pub fn outcome_list(ctx: &Session, os: &[Outcome], verb: &str) -> Result<Output> {
    Ok(out(written(ctx, os, verb)?, ""))
}

/// The views of the issues a verb wrote (with the notices saying so): what
/// [`outcomes`] and [`outcome_list`] print.
pub fn written(ctx: &Session, os: &[Outcome], verb: &str) -> Result<Vec<IssueView<'static>>> {
    for o in os.iter().filter(|o| o.changed) {
        ctx.notice(format!("{verb} {}: {}", o.record.id(), o.record.title()));
    }
    let records: Vec<_> = os.iter().map(|o| o.record.clone()).collect();
    ops::query::linked_views(ctx, &records)
}

/// One item → its object, several (or none) → an array.
pub fn one_or_many<T: serde::Serialize>(items: Vec<T>, text: impl Into<String>) -> Output {
    match items.as_slice() {
        [one] => out(one, text),
        _ => out(items, text),
    }
}

/// What the user named as input: a file, or stdin for `-` (never otherwise).
pub fn read_input(path: &std::path::Path) -> Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("-", e))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

pub fn read_text_arg(path: &std::path::Path) -> Result<String> {
    String::from_utf8(read_input(path)?)
        .map_err(|_| Error::invalid(format!("{} is not UTF-8 text", path.display())))
}

/// The free-text flags of `create` and `update`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TextArgs {
    #[arg(short, long)]
    pub description: Option<String>,
    #[arg(long)]
    pub design: Option<String>,
    /// Acceptance criteria
    #[arg(long, visible_alias = "acceptance-criteria")]
    pub acceptance: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
}

impl From<TextArgs> for crate::ops::IssueText {
    fn from(a: TextArgs) -> Self {
        crate::ops::IssueText {
            description: a.description,
            design: a.design,
            acceptance: a.acceptance,
            notes: a.notes,
        }
    }
}

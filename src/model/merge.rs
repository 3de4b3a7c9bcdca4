//! The merge (SPEC §5): one pure, deterministic three-way merge of JSONL files
//! keyed by `id`, used by the git merge driver, `bd sync` and `bd doctor --fix`.
//! It owns how two versions of the tracker become one; it never reads files,
//! clocks or git, and it is commutative in its two sides byte for byte.
//!
//! How it works, cheapest first:
//! 1. Lines are split (CRLF tolerated), their `id` read without parsing the
//!    rest, and each side sorted by id. Lines identical in ours and theirs
//!    are taken as they are, unparsed; lines on one side only are taken after
//!    a light parse (a syntax check that builds nothing). Where one side kept
//!    the base's line, the light parse checks that the other side's line is
//!    the same record, and takes it.
//! 2. The rest are parsed and grouped into *entities*: records match by
//!    `(renamed_from or id, created_at as an instant)`. Same id, different
//!    `created_at` is a collision: both are kept, the older keeps the id, the
//!    other gets an id derived from its identity and `"renamed_from"`
//!    (`Job::assign_ids`).
//! 3. Each entity present on both sides is merged register by register: a
//!    register is a top-level field or a stamp group (status, claim,
//!    tombstone), with its value and its `_stamps` entry. Equal on both sides →
//!    kept; unchanged on one side → the other side; both changed → the higher
//!    stamp, then actor, then canonical bytes. The status, claim and
//!    tombstone groups of an issue are one register, the *state* (see
//!    `StateKey`): the side that saw the later status wins all of it, then
//!    the higher claim epoch, then the earlier `started_at`; so a close the
//!    claim never saw wins, and no merged record mixes two sides' states.
//!    Labels and edges merge per element, comments are a union.
//!
//! Why it converges. Clones merging pairwise in any order (with true merge
//! bases, merged recursively for criss-cross histories, and git's
//! fast-forwards) end with the same bytes when every register orders its
//! values one way everywhere and every write *raises* its register in that
//! order: then "unchanged on one side → the other side" agrees with "the
//! larger wins". Stamps from the hybrid logical clock (`Record::next_stamp`)
//! give that. `tests/prop_merge.rs` found a counterexample for each rule
//! that did not, and these are the fixes:
//! - `updated_at` merges as "unchanged → other side, else the later instant";
//!   writers must not move it backwards (write it from the HLC stamp).
//! - A close beats a claim it was concurrent with by `_stamps.claim_on`
//!   (the stamp of the status the claim replaced, see `Record::stamp_write`),
//!   not by "the epoch rose since the base", which depends on the base.
//! - Status, claim and tombstone merge as one register (the state): merged
//!   apart, a delete and a later close gave `closed` with `deleted_at`, and a
//!   release and a later claim gave `open` with a holder (issue 9).
//! - Labels and edges carry per-element stamps (`_stamps["labels@"]`,
//!   `_stamps["dependencies@"]`, written by `Record::stamp_write`): an add
//!   and a remove of one element resolve by time; per-element three-way
//!   alone depends on the base when one element is added on two branches.
//! - Edges of *other* records that name a renamed id keep naming it (the
//!   older record, which kept the id). Which record an id meant when an edge
//!   was written is history the file does not keep, and every rule tried for
//!   "edges follow the renamed record" diverged. The report lists renames.
//!
//! Decisions where SPEC §5 leaves room:
//! - "Unchanged" means same value by meaning *and* same `_stamps` entry: a
//!   write back to the base's value is still a change (a restore beats an
//!   older delete).
//! - Equal values spelled differently: the side whose spelling differs from
//!   the base, else the higher stamp, else the larger bytes.
//! - Claim race at equal epochs: earlier `started_at`; a claim beats a
//!   release (no `started_at`); then the stamp order.
//! - A renamed id is the old id's prefix and base36 of SHA-256(old id,
//!   `created_at` in µs), 5 characters longer than the old id's hash part
//!   (at least 3), so 8 or more; one character longer while taken. Renames
//!   stick: a record renamed on either side keeps its new id; its own edges'
//!   and comments' `issue_id` follow. Ids are handed out oldest record
//!   first, each taking the first free id of its list (the one it holds,
//!   then its derived ids), so two renames that collide end the same in
//!   every merge order: the older keeps the id, the younger moves to its
//!   next (`tests/prop_merge` found the order mattering with 3-character
//!   renames, when the one renamed first kept the id). Renames made when
//!   they were as long as the hash part stay where they are.
//! - Comments are the same comment when equal without `issue_id`.
//! - Hand-deleted records come back (only tombstones delete), so
//!   `merge(O, A, O) == A` holds when A keeps O's records.
//! - Lines identical in ours and theirs are taken with only their `id` read
//!   (the speed rule); every other line must parse.
//!
//! The engine is driven by [`Rules`] (what kind of merge each field gets), so
//! other JSONL files keyed by `id` reuse it; [`ISSUE_RULES`] are the issue rules.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::id::base36;
use super::record::{CLAIM_EPOCH, CLAIM_ON, Record, STAMPS, Stamp, stamp_group};
use super::time::{self, Nanos};

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/// Which input a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Base,
    Ours,
    Theirs,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Ours => Side::Theirs,
            Side::Theirs => Side::Ours,
            Side::Base => Side::Base,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Base => "base",
            Side::Ours => "ours",
            Side::Theirs => "theirs",
        })
    }
}

/// Why a merge could not be made. The driver exits 1 and leaves `%A` alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeError {
    /// A line of one input is not a JSON object with a string `id`.
    Parse {
        side: Side,
        line: usize,
        reason: String,
    },
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::Parse { side, line, reason } => {
                write!(f, "{side} line {line}: {reason}")
            }
        }
    }
}

impl std::error::Error for MergeError {}

/// The merged file and what the merge decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub bytes: Vec<u8>,
    pub report: Report,
}

/// Per-issue notes, sorted, identical whichever side is "ours".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Registers both sides changed to different values.
    pub conflicts: Vec<Conflict>,
    /// Claims that lost to another claim or to a close (for `bd sync`).
    pub claims_lost: Vec<ClaimLost>,
    /// Records that now live under another id (colliding ids). Edges of
    /// other records that name the old id keep naming it (see the module docs).
    pub renamed: Vec<Renamed>,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.conflicts.is_empty() && self.claims_lost.is_empty() && self.renamed.is_empty()
    }
}

/// Both sides changed one register; `winner` and `loser` are JSON objects of
/// the register's fields (absent fields left out), e.g. `{"title":"x"}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Conflict {
    pub id: String,
    pub register: String,
    pub winner: String,
    pub loser: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClaimLoss {
    /// The other side's claim has a higher epoch (it saw this claim, or more).
    Superseded,
    /// Equal epochs: a true race, the earlier `started_at` won.
    Race,
    /// The other side closed or deleted the issue without seeing the claim.
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClaimLost {
    pub id: String,
    /// The assignee whose claim lost.
    pub loser: String,
    /// The assignee now holding the issue, if any.
    pub winner: Option<String>,
    pub reason: ClaimLoss,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Renamed {
    pub old_id: String,
    pub new_id: String,
}

/// How one top-level field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Part of the identity (`id`, `created_at`): equal in meaning on both
    /// sides; differing spellings resolve by bytes.
    Fixed,
    /// The later instant wins (`updated_at`).
    Latest,
    /// A register, alone or in the stamp group `Rules::group` names.
    Register,
    /// A set of strings merged per element against the base (`labels`).
    StringSet,
    /// Edges keyed by `(depends_on_id, type)`, per element against the base.
    Edges,
    /// An append-only union (`comments`), sorted by (created_at, id, text).
    Union,
    /// An object of key → time: union of keys, the earliest time wins
    /// (`read_by`, `acked_by` in mail).
    EarliestMap,
}

/// What the engine needs to know about a JSONL file keyed by `id`.
#[derive(Clone, Copy)]
pub struct Rules {
    pub kind: fn(&str) -> Kind,
    /// The stamp register a field belongs to (fields of one group move as one).
    pub group: fn(&str) -> &str,
    /// Records match by `id` and `created_at`; same id with another
    /// `created_at` is a collision and one of them is renamed.
    pub match_created_at: bool,
    /// The `claim` group carries `_stamps.claim_epoch`, and a close the claim
    /// never saw wins the `status` group.
    pub claims: bool,
    /// The canonical key order of a line.
    pub order: &'static [&'static str],
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rules")
            .field("match_created_at", &self.match_created_at)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

fn issue_kind(field: &str) -> Kind {
    match field {
        "id" | "created_at" => Kind::Fixed,
        "updated_at" => Kind::Latest,
        "labels" => Kind::StringSet,
        "dependencies" => Kind::Edges,
        "comments" => Kind::Union,
        _ => Kind::Register,
    }
}

fn mail_kind(field: &str) -> Kind {
    match field {
        "id" | "created_at" => Kind::Fixed,
        "read_by" | "acked_by" => Kind::EarliestMap,
        _ => Kind::Register,
    }
}

fn own_group(field: &str) -> &str {
    field
}

/// `issues.jsonl`.
pub const ISSUE_RULES: Rules = Rules {
    kind: issue_kind,
    group: stamp_group,
    match_created_at: true,
    claims: true,
    order: crate::model::record::KEY_ORDER,
};

/// `mail.jsonl`: every field its own register, `read_by`/`acked_by` merged
/// per key with the earliest time.
pub const MAIL_RULES: Rules = Rules {
    kind: mail_kind,
    group: own_group,
    match_created_at: false,
    claims: false,
    order: crate::model::mail::KEY_ORDER,
};

fn log_kind(field: &str) -> Kind {
    match field {
        "id" => Kind::Fixed,
        _ => Kind::Register,
    }
}

/// The append-only logs (`runs.jsonl`, `budget.jsonl`): records are facts
/// with content-derived ids, never edited, so a merge is the union of the
/// lines (a record missing on one side is kept).
pub const LOG_RULES: Rules = Rules {
    kind: log_kind,
    group: own_group,
    match_created_at: false,
    claims: false,
    order: crate::model::run::LOG_ORDER,
};

/// The rules of a tracker JSONL file, by its name.
pub fn rules_for(name: &str) -> &'static Rules {
    if name.ends_with("mail.jsonl") {
        &MAIL_RULES
    } else if name.ends_with("runs.jsonl") || name.ends_with("budget.jsonl") {
        &LOG_RULES
    } else {
        &ISSUE_RULES
    }
}

/// Three-way merge of `issues.jsonl` contents. Pure; deterministic.
pub fn merge_issues(base: &[u8], ours: &[u8], theirs: &[u8]) -> Result<Merged, MergeError> {
    merge_jsonl(base, ours, theirs, &ISSUE_RULES)
}

/// One file made canonical: sorted, `\n` endings, duplicate lines of one
/// record merged, colliding ids renamed (`bd doctor --fix`).
pub fn normalize_issues(bytes: &[u8]) -> Result<Merged, MergeError> {
    merge_jsonl(b"", bytes, bytes, &ISSUE_RULES)
}

/// Three-way merge of any JSONL file keyed by `id`, by `rules`.
pub fn merge_jsonl(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    rules: &Rules,
) -> Result<Merged, MergeError> {
    let b = index(Side::Base, base)?;
    let o = index(Side::Ours, ours)?;
    let t = index(Side::Theirs, theirs)?;
    // Slots to parse although the cheap rules would take them as they are
    // (a rename wants their id, see `Job::assign_ids`); each round adds
    // some, so this ends.
    let mut parse: Vec<usize> = Vec::new();
    loop {
        let mut job = Job::new(rules, [&b, &o, &t]);
        job.classify();
        for &si in &parse {
            job.slots[si].state = State::Parse;
        }
        job.parse_marked()?;
        job.probe()?;
        let mut notes = Notes::default();
        let entities = job.merge_entities();
        match job.assign_ids(entities, &mut notes) {
            Ok(entities) => return job.finish(entities, notes, ours.len().max(theirs.len())),
            Err(more) => parse.extend(more),
        }
    }
}

/// Two-way merge of one record present on both sides with no common base,
/// or a three-way merge with `base`; the record-level core of the merge.
pub fn merge_record(
    rules: &Rules,
    base: Option<&Record>,
    ours: &Record,
    theirs: &Record,
) -> Record {
    let mut notes = Vec::new();
    RecMerge::new(rules, base, ours, theirs).run(&mut notes)
}

/// Whether two records are versions of one issue, as the merge decides it:
/// the same `(renamed_from or id, created_at)` (ids collide, identities do
/// not).
pub fn same_issue(a: &Record, b: &Record) -> bool {
    key_of(&ISSUE_RULES, a) == key_of(&ISSUE_RULES, b)
}

/// The ids a record may get when its id is taken by another issue (a
/// collision), in the order the merge tries them: derived from its
/// identity, so the same record renamed in two clones gets the same id
/// (longer ones follow while shorter ones are taken). The caller sets
/// `renamed_from`.
pub fn collision_ids(rec: &Record) -> impl Iterator<Item = String> + '_ {
    let key = key_of(&ISSUE_RULES, rec);
    rename_ids(&key.orig, &key.created).filter(move |cand| cand != rec.id())
}

/// The ids versions before renames got longer gave a record in a
/// collision (see `collision_ids`): where an earlier import or merge may
/// have put a copy of it.
pub fn legacy_collision_ids(rec: &Record) -> impl Iterator<Item = String> + '_ {
    let key = key_of(&ISSUE_RULES, rec);
    (0..4)
        .map(move |extra| legacy_renamed_id(&key.orig, &key.created, extra))
        .filter(move |cand| cand != rec.id())
}

/// Whether two raw JSON values of field `key` mean the same (SPEC: values
/// compare by meaning, not by their bytes), as the merge compares them
/// (`canon`: escapes, number forms, times as instants); besides, an empty
/// value (`null`, `""`, `[]`, `{}`) is the field's absence, and a list is a
/// set (labels, edges and comments merge as sets: their order means
/// nothing).
pub fn same_value(key: &str, a: Option<&RawValue>, b: Option<&RawValue>) -> bool {
    match (present(a), present(b)) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            if a.get() == b.get() || canon(key, a) == canon(key, b) {
                return true;
            }
            // `60` and `60.0`: one number.
            if let (Ok(x), Ok(y)) = (a.get().parse::<f64>(), b.get().parse::<f64>()) {
                return x == y;
            }
            let elems = |r: &RawValue| -> Option<Vec<String>> {
                let Value::Array(items) = serde_json::from_str::<Value>(r.get()).ok()? else {
                    return None;
                };
                let mut out: Vec<String> = items
                    .iter()
                    .map(|v| {
                        let mut s = String::new();
                        write_canon(v, key, None, &mut s);
                        s
                    })
                    .collect();
                out.sort();
                Some(out)
            };
            matches!((elems(a), elems(b)), (Some(x), Some(y)) if x == y)
        }
        _ => false,
    }
}

/// A value that is there: not absent, nor empty (`null`, `""`, `[]`, `{}`).
fn present(r: Option<&RawValue>) -> Option<&RawValue> {
    r.filter(|r| !matches!(r.get().trim(), "null" | "\"\"" | "[]" | "{}"))
}

/// For `bd import`: where the file's record and this tracker's hold
/// different values of a register and neither side wrote it after the
/// other (their stamps of it are at the same instant, as when classic `bd`
/// changed it, which stamps nothing), the file's value is the one meant, so
/// its register is stamped `at` and the two-way merge takes it. Where one
/// side is newer, the merge decides as always: a stale file never undoes a
/// newer write here. Every register the two differ in gets an explicit stamp
/// in the file's record, so adding `_stamps` to a classic record does not
/// change how its other registers compare.
pub fn prefer_file_on_ties(rules: &Rules, current: &Record, file: &mut Record, at: &Stamp) {
    let (c, f) = (View::new(current), View::new(file));
    let mut stamped: BTreeMap<String, Stamp> = BTreeMap::new();
    for k in current.keys().chain(file.keys()) {
        if k == STAMPS || (rules.kind)(k) != Kind::Register {
            continue;
        }
        if same_value(k, current.raw(k), file.raw(k)) {
            continue;
        }
        let g = merged_reg(rules, (rules.group)(k));
        let (cs, fs) = (c.stamp(g), f.stamp(g));
        stamped.insert(g.to_string(), if cs.at == fs.at { at.clone() } else { fs });
    }
    if stamped.is_empty() {
        return;
    }
    let mut map = f.map.clone();
    for (g, st) in stamped {
        map.insert(g, st.to_text().into());
    }
    file.set(STAMPS, &map);
}

// ---------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------

struct Line<'a> {
    id: Cow<'a, str>,
    text: &'a str,
    no: usize,
}

fn index(side: Side, data: &[u8]) -> Result<Vec<Line<'_>>, MergeError> {
    let text = match std::str::from_utf8(data) {
        Ok(s) => s,
        Err(e) => {
            let line = data[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            return Err(MergeError::Parse {
                side,
                line,
                reason: "not UTF-8".into(),
            });
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::with_capacity(text.len() / 256 + 1);
    for (i, l) in text.split('\n').enumerate() {
        let l = l.strip_suffix('\r').unwrap_or(l);
        if l.trim().is_empty() {
            continue;
        }
        let id = line_id(l).map_err(|reason| MergeError::Parse {
            side,
            line: i + 1,
            reason,
        })?;
        lines.push(Line {
            id,
            text: l,
            no: i + 1,
        });
    }
    if !lines.is_sorted_by(|a, b| a.id <= b.id) {
        lines.sort_by(|a, b| a.id.cmp(&b.id));
    }
    Ok(lines)
}

/// The id of a line; canonical lines start with it, so most need no parse.
fn line_id(l: &str) -> Result<Cow<'_, str>, String> {
    if let Some(rest) = l.strip_prefix("{\"id\":\"")
        && let Some(end) = rest.find(['"', '\\'])
        && end > 0
        && rest.as_bytes()[end] == b'"'
    {
        return Ok(Cow::Borrowed(&rest[..end]));
    }
    Record::parse(l).map(|r| Cow::Owned(r.id().to_string()))
}

// ---------------------------------------------------------------------------
// Slots: one per id, walked in id order
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Taken as it is from one side (or from both, identical).
    Pass { side: Side },
    /// Its lines are parsed into entities.
    Parse,
    /// One side changed the base's line, the other kept it: take the changed
    /// line if both are the same record (checked by a light parse), else parse.
    Check { side: Side },
    /// Present in the base only.
    Drop,
}

struct Slot {
    /// Line ranges per side (base, ours, theirs).
    ranges: [(usize, usize); 3],
    state: State,
    /// Base lines already given to an entity by a probe.
    base_taken: bool,
}

fn side_ix(s: Side) -> usize {
    match s {
        Side::Base => 0,
        Side::Ours => 1,
        Side::Theirs => 2,
    }
}

const SIDES: [Side; 3] = [Side::Base, Side::Ours, Side::Theirs];

/// What identifies a record, read without building it: a full JSON syntax
/// check that allocates nothing for the fields it skips.
#[derive(Deserialize)]
struct LightKey<'x> {
    #[serde(borrow)]
    id: Cow<'x, str>,
    #[serde(borrow, default)]
    created_at: Option<Cow<'x, str>>,
    #[serde(borrow, default)]
    renamed_from: Option<Cow<'x, str>>,
}

impl<'x> LightKey<'x> {
    fn of(line: &'x str) -> Option<LightKey<'x>> {
        serde_json::from_str(line).ok()
    }

    /// Both lines are versions of one record that no rename touches.
    fn same_record(&self, other: &LightKey<'_>, rules: &Rules) -> bool {
        self.renamed_from.is_none()
            && other.renamed_from.is_none()
            && self.id == other.id
            && !self.id.trim().is_empty()
            && (!rules.match_created_at
                || same_created(self.created_at.as_deref(), other.created_at.as_deref()))
    }
}

/// `created_at` texts that `Created::of` would make equal.
fn same_created(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => {
            x == y
                || matches!((time::parse(x), time::parse(y)),
                    (Some(p), Some(q)) if p.div_euclid(1000) == q.div_euclid(1000))
        }
        (None, None) => true,
        _ => false,
    }
}

/// The identity of a record: ids collide, `(id, created_at)` does not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Created {
    Missing,
    Micros(i64),
    Text(String),
}

impl Created {
    fn of(rec: &Record) -> Created {
        match rec.str("created_at") {
            None => Created::Missing,
            Some(s) => match time::parse(&s) {
                Some(n) => Created::Micros(n.div_euclid(1000)),
                None => Created::Text(s),
            },
        }
    }

    fn text(&self) -> String {
        match self {
            Created::Missing => String::new(),
            Created::Micros(us) => us.to_string(),
            Created::Text(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    orig: String,
    created: Created,
}

fn key_of(rules: &Rules, rec: &Record) -> Key {
    let orig = rec
        .nonempty("renamed_from")
        .unwrap_or_else(|| rec.id().to_string());
    let created = if rules.match_created_at {
        Created::of(rec)
    } else {
        Created::Missing
    };
    Key { orig, created }
}

struct Version<'a> {
    rec: Record,
    line: &'a str,
}

#[derive(Default)]
struct Entity<'a> {
    versions: [Vec<Version<'a>>; 3],
}

/// A record that the merge produced (or took from one side after parsing).
struct Out<'a> {
    key: Key,
    rec: Record,
    /// Original bytes when the record equals one side's line.
    line: Option<&'a str>,
    /// The folded versions per side (for edges and renames).
    sides: [Option<Record>; 3],
    notes: Vec<RegNote>,
    /// Ids the record had on any side.
    old_ids: BTreeSet<String>,
}

struct Job<'l, 'a> {
    rules: &'l Rules,
    lines: [&'l [Line<'a>]; 3],
    slots: Vec<Slot>,
    entities: BTreeMap<Key, Entity<'a>>,
}

impl<'l, 'a> Job<'l, 'a> {
    fn new(rules: &'l Rules, lines: [&'l Vec<Line<'a>>; 3]) -> Self {
        Job {
            rules,
            lines: [lines[0], lines[1], lines[2]],
            slots: Vec::new(),
            entities: BTreeMap::new(),
        }
    }

    fn slot_id(&self, s: &Slot) -> &'l str {
        for (i, r) in s.ranges.iter().enumerate() {
            if r.0 < r.1 {
                return &self.lines[i][r.0].id;
            }
        }
        ""
    }

    fn slot_lines(&self, s: &Slot, side: Side) -> &'l [Line<'a>] {
        let r = s.ranges[side_ix(side)];
        &self.lines[side_ix(side)][r.0..r.1]
    }

    fn find_slot(&self, id: &str) -> Option<usize> {
        self.slots
            .binary_search_by(|s| self.slot_id(s).cmp(id))
            .ok()
    }

    /// Walk the three sorted sides in id order, deciding which lines need a parse.
    fn classify(&mut self) {
        let mut pos = [0usize; 3];
        let lines = self.lines;
        self.slots
            .reserve(lines[1].len().max(lines[2].len()) + lines[0].len() / 16);
        loop {
            let mut next: Option<&str> = None;
            for i in 0..3 {
                if let Some(l) = lines[i].get(pos[i])
                    && next.is_none_or(|n| *l.id < *n)
                {
                    next = Some(&l.id);
                }
            }
            let Some(id) = next else { break };
            let mut ranges = [(0, 0); 3];
            for i in 0..3 {
                let start = pos[i];
                let mut end = start;
                while end < lines[i].len() && *lines[i][end].id == *id {
                    end += 1;
                }
                ranges[i] = (start, end);
                pos[i] = end;
            }
            let n = |i: usize| ranges[i].1 - ranges[i].0;
            let text = |i: usize| (n(i) == 1).then(|| lines[i][ranges[i].0].text);
            let state = if n(0) <= 1 && n(1) <= 1 && n(2) <= 1 {
                match (text(1), text(2)) {
                    (Some(o), Some(t)) if o == t => State::Pass { side: Side::Ours },
                    (Some(_), None) => State::Pass { side: Side::Ours },
                    (None, Some(_)) => State::Pass { side: Side::Theirs },
                    (None, None) => State::Drop,
                    (Some(o), Some(t)) => match text(0) {
                        Some(b) if b == o => State::Check { side: Side::Theirs },
                        Some(b) if b == t => State::Check { side: Side::Ours },
                        _ => State::Parse,
                    },
                }
            } else if n(1) == 0 && n(2) == 0 {
                State::Drop
            } else {
                State::Parse
            };
            self.slots.push(Slot {
                ranges,
                state,
                base_taken: false,
            });
        }
    }

    fn parse_line(&self, side: Side, l: &Line<'a>) -> Result<Record, MergeError> {
        Record::parse(l.text).map_err(|reason| MergeError::Parse {
            side,
            line: l.no,
            reason,
        })
    }

    /// Parse every line of slot `i` into entities; returns the keys touched.
    fn parse_slot(&mut self, i: usize) -> Result<Vec<Key>, MergeError> {
        let mut keys = Vec::new();
        let slot = &self.slots[i];
        let skip_base = slot.base_taken;
        for side in SIDES {
            if side == Side::Base && skip_base {
                continue;
            }
            for l in self.slot_lines(slot, side) {
                let rec = self.parse_line(side, l)?;
                let key = key_of(self.rules, &rec);
                self.entities.entry(key.clone()).or_default().versions[side_ix(side)]
                    .push(Version { rec, line: l.text });
                keys.push(key);
            }
        }
        Ok(keys)
    }

    fn parse_marked(&mut self) -> Result<(), MergeError> {
        for i in 0..self.slots.len() {
            if let State::Check { side } = self.slots[i].state {
                let slot = &self.slots[i];
                let kept = &self.slot_lines(slot, side.other())[0];
                let changed = &self.slot_lines(slot, side)[0];
                let same = match (LightKey::of(kept.text), LightKey::of(changed.text)) {
                    (Some(a), Some(b)) => a.same_record(&b, self.rules),
                    _ => false,
                };
                self.slots[i].state = if same {
                    State::Pass { side }
                } else {
                    State::Parse
                };
            }
            if let State::Pass { side } = self.slots[i].state {
                // A line on one side only is a change too: it must parse
                // (only lines identical in ours and theirs go unchecked).
                let slot = &self.slots[i];
                if self.slot_lines(slot, side.other()).is_empty() {
                    let l = &self.slot_lines(slot, side)[0];
                    if LightKey::of(l.text).is_none() {
                        self.parse_line(side, l)?;
                    }
                }
            }
            if self.slots[i].state == State::Parse {
                self.parse_slot(i)?;
            }
        }
        Ok(())
    }

    /// An entity missing on one side may live there under its other name:
    /// renamed (`renamed_from`) on one side, not yet on the other. Pull those
    /// lines into the parse so the two versions meet.
    fn probe(&mut self) -> Result<(), MergeError> {
        let mut work: Vec<Key> = self.entities.keys().cloned().collect();
        let mut seen: HashSet<Key> = HashSet::new();
        while let Some(key) = work.pop() {
            if !seen.insert(key.clone()) {
                continue;
            }
            let Some(e) = self.entities.get(&key) else {
                continue;
            };
            let renamed = e.versions.iter().flatten().any(|v| v.rec.id() != key.orig);
            let missing: Vec<Side> = SIDES
                .into_iter()
                .filter(|s| e.versions[side_ix(*s)].is_empty())
                .collect();
            if missing.is_empty() {
                continue;
            }
            // Under its derived ids (the first lengths, now and before
            // renames got longer; a renamed record too: a rename that itself
            // collided moved it on), or, renamed here, under the old id.
            let mut candidates = rename_lookup(&key.orig, &key.created);
            if renamed {
                candidates.push(key.orig.clone());
            }
            for cand in candidates {
                let Some(si) = self.find_slot(&cand) else {
                    continue;
                };
                let slot = &self.slots[si];
                if slot.state == State::Parse {
                    continue;
                }
                let wants_sides = missing
                    .iter()
                    .any(|s| *s != Side::Base && !self.slot_lines(slot, *s).is_empty());
                if wants_sides {
                    self.slots[si].state = State::Parse;
                    let keys = self.parse_slot(si)?;
                    for k in keys {
                        seen.remove(&k);
                        work.push(k);
                    }
                } else if missing.contains(&Side::Base) && !slot.base_taken {
                    // A base line only: attach it if it is this record.
                    let lines = self.slot_lines(slot, Side::Base);
                    let mut found = Vec::new();
                    for l in lines {
                        let rec = self.parse_line(Side::Base, l)?;
                        if key_of(self.rules, &rec) == key {
                            found.push(Version { rec, line: l.text });
                        }
                    }
                    if !found.is_empty() && found.len() == lines.len() {
                        self.slots[si].base_taken = true;
                        if let Some(e) = self.entities.get_mut(&key) {
                            e.versions[0].extend(found);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn merge_entities(&mut self) -> Vec<Out<'a>> {
        let rules = self.rules;
        let entities = std::mem::take(&mut self.entities);
        let mut out = Vec::with_capacity(entities.len());
        for (key, e) in entities {
            let mut old_ids = BTreeSet::new();
            for vs in &e.versions[1..] {
                for v in vs {
                    old_ids.insert(v.rec.id().to_string());
                }
            }
            let [vb, vo, vt] = e.versions;
            let b = fold(rules, vb);
            let o = fold(rules, vo);
            let t = fold(rules, vt);
            let mut notes = Vec::new();
            let (rec, line) = match (&o, &t) {
                (None, None) => continue,
                (Some(o), None) => (o.0.clone(), o.1),
                (None, Some(t)) => (t.0.clone(), t.1),
                (Some(o), Some(t)) => {
                    if o.1.is_some() && o.1 == t.1 {
                        (o.0.clone(), o.1)
                    } else if b.as_ref().is_some_and(|b| b.1.is_some() && b.1 == o.1) {
                        (t.0.clone(), t.1)
                    } else if b.as_ref().is_some_and(|b| b.1.is_some() && b.1 == t.1) {
                        (o.0.clone(), o.1)
                    } else {
                        let rec = RecMerge::new(rules, b.as_ref().map(|b| &b.0), &o.0, &t.0)
                            .run(&mut notes);
                        let line = rec.to_line_in(rules.order);
                        let as_o = o.0.to_line_in(rules.order) == line;
                        let as_t = t.0.to_line_in(rules.order) == line;
                        let chosen = match (as_o, as_t) {
                            (true, true) => match pick(b.as_ref().map(|b| b.1), o.1, t.1) {
                                Side::Theirs => t.1,
                                _ => o.1,
                            },
                            (true, false) => o.1,
                            (false, true) => t.1,
                            (false, false) => None,
                        };
                        (rec, chosen)
                    }
                }
            };
            out.push(Out {
                key,
                rec,
                line,
                sides: [b.map(|x| x.0), o.map(|x| x.0), t.map(|x| x.0)],
                notes,
                old_ids,
            });
        }
        out
    }

    /// Give every merged record its id. Each record holds an id: the one a
    /// rename on either side gave it (renames stick), else its own. Then,
    /// oldest first by (created_at, created_by, identity), each record
    /// takes the first id of its list that no older record took: the id it
    /// holds, then the ids derived from its identity (`rename_ids`). So the
    /// ids are a function of the records, not of the order the clones
    /// merged in: a rename that collides with another rename (or with any
    /// id a younger record holds) goes to the older record whichever of the
    /// two got it first, and the younger moves on. Without a collision
    /// every record keeps the id it holds, and of records holding one id
    /// the oldest keeps it.
    ///
    /// A line taken unparsed whose id a record would take (rare: a rename
    /// that collides) must be ranked too: `Err` names its slots, which the
    /// caller parses and merges again.
    fn assign_ids(
        &self,
        mut outs: Vec<Out<'a>>,
        notes: &mut Notes,
    ) -> Result<Vec<Out<'a>>, Vec<usize>> {
        let held: Vec<String> = outs
            .iter()
            .map(|o| {
                let renamed = o
                    .sides
                    .iter()
                    .skip(1)
                    .flatten()
                    .map(|r| r.id())
                    .filter(|id| *id != o.key.orig)
                    .min();
                renamed.unwrap_or(&o.key.orig).to_string()
            })
            .collect();
        let mut distinct: HashSet<&str> = HashSet::with_capacity(held.len());
        let finals: Vec<String> = if held.iter().all(|id| distinct.insert(id)) {
            // No two hold one id: every record keeps its own (what the
            // ranking below gives too, without the sort).
            held.clone()
        } else {
            let rank: Vec<(Created, Option<String>, &Key)> = outs
                .iter()
                .map(|o| (Created::of(&o.rec), o.rec.str("created_by"), &o.key))
                .collect();
            let mut order: Vec<usize> = (0..outs.len()).collect();
            order.sort_by(|&a, &b| rank[a].cmp(&rank[b]));
            let mut taken: HashSet<String> = HashSet::with_capacity(outs.len());
            let mut unparsed: BTreeSet<usize> = BTreeSet::new();
            let mut finals = vec![String::new(); outs.len()];
            for i in order {
                // Its own id is never a line taken unparsed (its line is
                // in that slot, parsed).
                if taken.insert(held[i].clone()) {
                    finals[i] = held[i].clone();
                    continue;
                }
                let key = &outs[i].key;
                for cand in rename_ids(&key.orig, &key.created) {
                    if taken.contains(&cand) {
                        continue;
                    }
                    if let Some(si) = self.unparsed_slot(&cand) {
                        unparsed.insert(si);
                        continue;
                    }
                    taken.insert(cand.clone());
                    finals[i] = cand;
                    break;
                }
            }
            if !unparsed.is_empty() {
                return Err(unparsed.into_iter().collect());
            }
            finals
        };
        for (o, id) in outs.iter_mut().zip(finals) {
            let moved = o.old_ids.iter().any(|x| *x != id) || o.key.orig != id;
            if !moved {
                continue;
            }
            for old in &o.old_ids {
                if *old != id {
                    notes.renamed.insert(Renamed {
                        old_id: old.clone(),
                        new_id: id.clone(),
                    });
                }
            }
            let before = o.rec.to_line_in(self.rules.order);
            if o.rec.id() != id {
                o.rec.set_id(&id);
            }
            if id != o.key.orig && o.rec.nonempty("renamed_from").is_none() {
                o.rec.set("renamed_from", &o.key.orig);
            }
            let mut olds = o.old_ids.clone();
            olds.insert(o.key.orig.clone());
            olds.remove(&id);
            rewrite_issue_ids(&mut o.rec, &olds, &id);
            if o.rec.to_line_in(self.rules.order) != before {
                o.line = None;
            }
        }
        Ok(outs)
    }

    /// The slot of a line at `id` taken unparsed (its record is not
    /// among the merged ones, so it cannot be ranked against them).
    fn unparsed_slot(&self, id: &str) -> Option<usize> {
        self.find_slot(id)
            .filter(|&i| matches!(self.slots[i].state, State::Pass { .. }))
    }

    /// Write the file in id order: lines taken as they are, merged records.
    fn finish(
        &self,
        outs: Vec<Out<'a>>,
        mut notes: Notes,
        cap: usize,
    ) -> Result<Merged, MergeError> {
        let mut pass_lines: Vec<(&str, &str)> = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            if let State::Pass { side, .. } = slot.state {
                let l = &self.slot_lines(slot, side)[0];
                pass_lines.push((&l.id, l.text));
            }
        }
        let mut merged: Vec<(String, String, Vec<RegNote>)> = outs
            .into_iter()
            .map(|o| {
                let line = match o.line {
                    Some(l) => l.to_string(),
                    None => o.rec.to_line_in(self.rules.order),
                };
                (o.rec.id().to_string(), line, o.notes)
            })
            .collect();
        merged.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, _, ns) in &mut merged {
            for n in ns.drain(..) {
                notes.add(id, n);
            }
        }
        let mut bytes = Vec::with_capacity(cap + cap / 8 + 64);
        let mut m = merged.iter().peekable();
        for (id, line) in &pass_lines {
            while let Some((mid, mline, _)) = m.peek() {
                if mid.as_str() > *id {
                    break;
                }
                bytes.extend_from_slice(mline.as_bytes());
                bytes.push(b'\n');
                m.next();
            }
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        for (_, mline, _) in m {
            bytes.extend_from_slice(mline.as_bytes());
            bytes.push(b'\n');
        }
        Ok(Merged {
            bytes,
            report: notes.into_report(),
        })
    }
}

/// One side's versions of a record as one: a single line stays as it is;
/// duplicate lines (other tools, hand edits) merge two-way in byte order.
fn fold<'a>(rules: &Rules, mut vs: Vec<Version<'a>>) -> Option<(Record, Option<&'a str>)> {
    if vs.len() > 1 {
        vs.sort_by(|a, b| a.line.cmp(b.line));
        vs.dedup_by(|a, b| a.line == b.line);
    }
    let mut it = vs.into_iter();
    let first = it.next()?;
    let mut acc = (first.rec, Some(first.line));
    for v in it {
        let mut scratch = Vec::new();
        acc = (
            RecMerge::new(rules, None, &acc.0, &v.rec).run(&mut scratch),
            None,
        );
    }
    Some(acc)
}

/// How many characters longer than the old id's hash part (at least 3) a
/// collision rename's hash part is, so that renames practically never
/// collide with each other or with the ids `bd` mints (3 to 8 characters):
/// at 3 + 5 = 8 base36 characters, two renames of one id share the id with
/// odds of 1 in 2.8 * 10^12. (`Job::assign_ids` makes the outcome of one
/// that does the same in every merge order; it costs the younger record a
/// second move.) Renames were as long as the hash part before: two renames
/// of one 3-character id collided once in 46,656.
const RENAME_LONGER: usize = 5;

/// The longest hash part renames had before `RENAME_LONGER`.
const LEGACY_RENAME_MAX: usize = 24;

/// The longest hash part a rename can have: all base36 digits of the 16
/// digest bytes it is read from.
const RENAME_MAX: usize = 25;

/// The id a colliding record moves to: its prefix and a hash of its identity
/// (old id, `created_at` instant), `RENAME_LONGER` characters longer than the
/// old id's hash part (at least 3), plus `extra` characters when that id is
/// taken. Each longer id ends with the shorter ones.
#[cfg(test)]
fn renamed_id(orig: &str, created: &Created, extra: usize) -> String {
    RenameHash::of(orig, created).id(RENAME_LONGER + extra)
}

/// The ids versions before `RENAME_LONGER` gave (as long as the old id's
/// hash part, plus `extra`): renames in files written then stick, and the
/// merge and the ledger still find them.
fn legacy_renamed_id(orig: &str, created: &Created, extra: usize) -> String {
    RenameHash::of(orig, created).legacy(extra)
}

/// What a record's rename ids are cut from: the old id's prefix, the length
/// of its hash part (at least 3) and base36(SHA-256(orig, created)[..16]).
struct RenameHash {
    prefix: String,
    root: usize,
    digits: String,
}

impl RenameHash {
    fn of(orig: &str, created: &Created) -> RenameHash {
        let mut head = orig;
        while let Some((p, n)) = head.rsplit_once('.') {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() {
                head = p;
            } else {
                break;
            }
        }
        let (prefix, root) = head.rsplit_once('-').unwrap_or((head, ""));
        let mut h = Sha256::new();
        h.update(b"strand-rename\0");
        h.update(orig.as_bytes());
        h.update(b"\0");
        h.update(created.text().as_bytes());
        let digest = h.finalize();
        RenameHash {
            prefix: prefix.to_string(),
            root: root.len().max(3),
            digits: format!("{:0>RENAME_MAX$}", base36(&digest[..16])),
        }
    }

    /// `<prefix>-<last digits>`: as many as the hash part plus `longer`
    /// (at most `RENAME_MAX`).
    fn id(&self, longer: usize) -> String {
        self.cut(self.root + longer)
    }

    /// The id versions before `RENAME_LONGER` gave.
    fn legacy(&self, extra: usize) -> String {
        self.cut((self.root + extra).min(LEGACY_RENAME_MAX))
    }

    fn cut(&self, len: usize) -> String {
        let len = len.min(RENAME_MAX);
        format!("{}-{}", self.prefix, &self.digits[RENAME_MAX - len..])
    }
}

/// Every id a record at `orig` created at `created` may move to in a
/// collision, in the order it tries them: `renamed_id` at each length up to
/// `RENAME_MAX`, then (never in practice: all of those taken) the longest
/// one with a number after it. Endless, each id once.
fn rename_ids(orig: &str, created: &Created) -> impl Iterator<Item = String> + use<> {
    let hash = RenameHash::of(orig, created);
    let first = (hash.root + RENAME_LONGER).min(RENAME_MAX);
    let longest = hash.cut(RENAME_MAX);
    (first..=RENAME_MAX)
        .map(move |len| hash.cut(len))
        .chain((2..).map(move |n| format!("{longest}{n}")))
}

/// The ids a record renamed by an earlier merge is looked for under: the
/// first lengths the merge tries now, then those it tried before renames
/// got longer.
fn rename_lookup(orig: &str, created: &Created) -> Vec<String> {
    let hash = RenameHash::of(orig, created);
    let now = (RENAME_LONGER..RENAME_LONGER + 4).map(|longer| hash.id(longer));
    let before = (0..4).map(|extra| hash.legacy(extra));
    let mut v: Vec<String> = Vec::with_capacity(8);
    for id in now.chain(before) {
        if !v.contains(&id) {
            v.push(id);
        }
    }
    v
}

/// The ids a record at `orig` created at `created` may have moved to in a
/// collision rename (the lengths the merge tries, and those older versions
/// tried), so a caller that did not see the merge (the ledger, `bd sync`'s
/// report) can follow it: the one holding a record with `renamed_from` =
/// `orig` and that `created_at`.
pub fn rename_candidates(orig: &str, created: Nanos) -> impl Iterator<Item = String> + use<> {
    let created = Created::Micros(created.div_euclid(1000));
    rename_lookup(orig, &created).into_iter()
}

/// Point a renamed record's own entries (`issue_id` of edges and comments) at its new id.
pub fn rewrite_issue_ids(rec: &mut Record, olds: &BTreeSet<String>, id: &str) {
    for field in ["dependencies", "comments"] {
        let Some(list) = rec.json::<Vec<Box<RawValue>>>(field) else {
            continue;
        };
        let mut changed = false;
        let mut out = Vec::with_capacity(list.len());
        for e in list {
            if let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(e.get())
                && let Some(Value::String(iid)) = m.get("issue_id")
                && olds.contains(iid)
            {
                m.insert("issue_id".into(), Value::String(id.to_string()));
                out.push(to_raw(&Value::Object(m)));
                changed = true;
            } else {
                out.push(e);
            }
        }
        if changed {
            rec.set_raw(field, join_array(out.iter().map(|e| e.get())));
        }
    }
}

#[derive(Deserialize)]
struct EdgeKey {
    #[serde(default)]
    depends_on_id: String,
    #[serde(rename = "type", default)]
    kind: String,
}

// ---------------------------------------------------------------------------
// Notes
// ---------------------------------------------------------------------------

enum RegNote {
    Conflict {
        register: String,
        winner: String,
        loser: String,
    },
    ClaimLost {
        loser: String,
        winner: Option<String>,
        reason: ClaimLoss,
    },
}

#[derive(Default)]
struct Notes {
    conflicts: BTreeSet<Conflict>,
    claims_lost: BTreeSet<ClaimLost>,
    renamed: BTreeSet<Renamed>,
}

impl Notes {
    fn add(&mut self, id: &str, n: RegNote) {
        match n {
            RegNote::Conflict {
                register,
                winner,
                loser,
            } => {
                self.conflicts.insert(Conflict {
                    id: id.to_string(),
                    register,
                    winner,
                    loser,
                });
            }
            RegNote::ClaimLost {
                loser,
                winner,
                reason,
            } => {
                self.claims_lost.insert(ClaimLost {
                    id: id.to_string(),
                    loser,
                    winner,
                    reason,
                });
            }
        }
    }

    fn into_report(self) -> Report {
        Report {
            conflicts: self.conflicts.into_iter().collect(),
            claims_lost: self.claims_lost.into_iter().collect(),
            renamed: self.renamed.into_iter().collect(),
        }
    }
}

// ---------------------------------------------------------------------------
// One record
// ---------------------------------------------------------------------------

/// A record as the merge sees it: its stamps parsed once.
struct View<'r> {
    rec: &'r Record,
    has_map: bool,
    map: BTreeMap<String, Value>,
    created: Nanos,
    updated: Nanos,
}

impl<'r> View<'r> {
    fn new(rec: &'r Record) -> View<'r> {
        let has_map = rec.has(STAMPS);
        let map = if has_map {
            rec.stamps()
        } else {
            BTreeMap::new()
        };
        let created = rec.time("created_at").unwrap_or(i64::MIN);
        let updated = rec.time("updated_at").unwrap_or(created);
        View {
            rec,
            has_map,
            map,
            created,
            updated,
        }
    }

    fn explicit(&self, reg: &str) -> Option<&Value> {
        self.map.get(reg)
    }

    /// The register's stamp: its `_stamps` entry; else `created_at` in a
    /// record with `_stamps`, `updated_at` in a classic one.
    fn stamp(&self, reg: &str) -> Stamp {
        if let Some(s) = self
            .map
            .get(reg)
            .and_then(Value::as_str)
            .and_then(Stamp::parse)
        {
            return s;
        }
        Stamp {
            at: if self.has_map {
                self.created
            } else {
                self.updated
            },
            actor: String::new(),
        }
    }

    fn epoch(&self) -> i64 {
        self.map
            .get(CLAIM_EPOCH)
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }
}

/// Comments sort by (created_at, id, text), then by content.
type CommentOrder = (Nanos, String, String, String);

/// A merged list field: its value (`None`: absent) and, for labels and
/// edges, the element stamps for `_stamps["<field>@"]`.
struct ListOut {
    raw: Option<Box<RawValue>>,
    elems: serde_json::Map<String, Value>,
}

/// One register's value on one side: its fields, its `_stamps` entry, and
/// the `_stamps` entries that ride with it (see `riders`).
struct Reg<'r> {
    vals: Vec<Option<&'r RawValue>>,
    exp: Option<&'r Value>,
    /// The claim epoch: part of the claim group's value.
    epoch: Option<&'r Value>,
    /// `claim_on`: stamp data of the status write, not part of its value.
    on: Option<&'r Value>,
    /// The state's other `_stamps` entries: the claim and tombstone groups'.
    more: [Option<&'r Value>; 2],
}

/// The order of the state register (status, claim and tombstone groups of
/// an issue, merged as one so that a merged record is always one some writer
/// wrote: `deleted_at` iff `tombstone`, `closed_at` iff `closed`, a holder
/// with its status). Compared field by field:
/// 1. `on`: the stamp of the status this state was written on. For a state
///    written by a claim-group write (claim, unclaim, recovery, sling: it
///    carries `_stamps.claim_on` whose `at` is the status stamp) that is
///    `claim_on.on`, the status the claim replaced; for any other status
///    write (close, reopen, delete, restore, defer) its own stamp. So a
///    close or delete the claim never saw beats the claim, and a claim made
///    after a close beats it.
/// 2. the claim epoch: a claim that saw another claim beats it;
/// 3. equal epochs are a race: a held claim (`started_at`) beats a release,
///    the earlier `started_at` wins;
/// 4. the highest of the three groups' stamps.
///
/// Every write raises its record's key (a status write stamps past every
/// stamp in the record; a claim write keeps `on` at least the old key's
/// `on` and raises the epoch), so the state is a join and merges converge.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct StateKey {
    on: Stamp,
    epoch: i64,
    started: (bool, std::cmp::Reverse<Nanos>),
    top: Stamp,
}

/// `_stamps` entries that are not registers but move with one: the claim
/// epoch with the claim group, `claim_on` with the status it describes.
fn riders(rules: &Rules, g: &str) -> &'static [&'static str] {
    match g {
        "status" if rules.claims => &[CLAIM_EPOCH, CLAIM_ON, "claim", "tombstone"],
        _ => &[],
    }
}

fn rides_with(rules: &Rules, key: &str) -> Option<&'static str> {
    match key {
        CLAIM_EPOCH | CLAIM_ON | "claim" | "tombstone" if rules.claims => Some("status"),
        _ => None,
    }
}

/// The register a stamp group merges in. With claims (issues), the status,
/// claim and tombstone groups are one register, the *state*, kept under the
/// name `status`: they are resolved together, so the merged record is always
/// one a writer wrote (see [`StateKey`]).
fn merged_reg<'g>(rules: &Rules, group: &'g str) -> &'g str {
    match group {
        "claim" | "tombstone" if rules.claims => "status",
        g => g,
    }
}

struct RecMerge<'r> {
    rules: &'r Rules,
    b: Option<View<'r>>,
    o: View<'r>,
    t: View<'r>,
}

impl<'r> RecMerge<'r> {
    fn new(rules: &'r Rules, b: Option<&'r Record>, o: &'r Record, t: &'r Record) -> Self {
        RecMerge {
            rules,
            b: b.map(View::new),
            o: View::new(o),
            t: View::new(t),
        }
    }

    fn view(&self, s: Side) -> &View<'r> {
        match s {
            Side::Ours => &self.o,
            Side::Theirs => &self.t,
            Side::Base => self
                .b
                .as_ref()
                .expect("base view asked for only when present"),
        }
    }

    fn run(&self, notes: &mut Vec<RegNote>) -> Record {
        let rules = self.rules;
        let mut fixed: BTreeSet<&str> = BTreeSet::new();
        let mut regs: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut lists: BTreeMap<&str, Kind> = BTreeMap::new();
        let views: Vec<&View<'r>> = self.b.iter().chain([&self.o, &self.t]).collect();
        for v in &views {
            for k in v.rec.keys() {
                if k == STAMPS {
                    continue;
                }
                match (rules.kind)(k) {
                    Kind::Fixed | Kind::Latest => {
                        fixed.insert(k);
                    }
                    Kind::Register => {
                        regs.entry(merged_reg(rules, (rules.group)(k)))
                            .or_default()
                            .insert(k);
                    }
                    kind => {
                        lists.insert(k, kind);
                    }
                }
            }
        }
        for v in &views {
            for k in v.map.keys() {
                if let Some(list) = k.strip_suffix('@')
                    && let kind @ (Kind::StringSet | Kind::Edges) = (rules.kind)(list)
                {
                    lists.insert(list, kind);
                }
            }
        }
        for v in &views {
            for k in v.map.keys() {
                if let Some(g) = rides_with(rules, k) {
                    regs.entry(g).or_default();
                } else if !lists.contains_key(k.as_str())
                    && !k.strip_suffix('@').is_some_and(|l| lists.contains_key(l))
                {
                    regs.entry(k.as_str()).or_default();
                }
            }
        }

        let mut out = Record::new(self.o.rec.id());
        let mut stamps: BTreeMap<String, Value> = BTreeMap::new();
        for k in fixed {
            let raw = |v: &View<'r>| v.rec.raw(k);
            let side = if (rules.kind)(k) == Kind::Latest {
                self.latest(k)
            } else {
                pick(
                    self.b.as_ref().map(|v| raw(v).map(RawValue::get)),
                    raw(&self.o).map(RawValue::get),
                    raw(&self.t).map(RawValue::get),
                )
            };
            if let Some(r) = raw(self.view(side)) {
                out.set_raw(k, r.to_owned());
            }
        }
        for (g, fields) in &regs {
            let fields: Vec<&str> = fields.iter().copied().collect();
            let side = self.register(g, &fields, notes);
            let v = self.view(side);
            for f in &fields {
                if let Some(r) = v.rec.raw(f) {
                    out.set_raw(f, r.to_owned());
                }
            }
            if let Some(e) = v.explicit(g) {
                stamps.insert((*g).to_string(), e.clone());
            }
            for k in riders(rules, g) {
                if let Some(e) = v.map.get(*k) {
                    stamps.insert((*k).to_string(), e.clone());
                }
            }
        }
        for (f, kind) in &lists {
            let g = (rules.group)(f);
            match self.list(f, *kind, notes) {
                Some(l) => {
                    if let Some(raw) = l.raw {
                        out.set_raw(f, raw);
                    }
                    if !l.elems.is_empty() {
                        stamps.insert(format!("{f}@"), Value::Object(l.elems));
                    }
                }
                None => {
                    // Not in a shape this kind understands: a plain register.
                    let side = self.register(f, &[f], notes);
                    if let Some(r) = self.view(side).rec.raw(f) {
                        out.set_raw(f, r.to_owned());
                    }
                }
            }
            let side = self.pick_explicit(g);
            if let Some(e) = self.view(side).explicit(g) {
                stamps.insert(g.to_string(), e.clone());
            }
        }

        let has = |v: &View<'r>| v.has_map;
        let present = !stamps.is_empty()
            || if has(&self.o) == has(&self.t) {
                has(&self.o)
            } else {
                match &self.b {
                    Some(b) if has(b) == has(&self.o) => has(&self.t),
                    Some(_) => has(&self.o),
                    None => true,
                }
            };
        if present {
            let as_o = self.o.has_map && stamps == self.o.map;
            let as_t = self.t.has_map && stamps == self.t.map;
            let raw = |v: &View<'r>| v.rec.raw(STAMPS);
            let from = match (as_o, as_t) {
                (true, true) => Some(pick(
                    self.b.as_ref().map(|v| raw(v).map(RawValue::get)),
                    raw(&self.o).map(RawValue::get),
                    raw(&self.t).map(RawValue::get),
                )),
                (true, false) => Some(Side::Ours),
                (false, true) => Some(Side::Theirs),
                (false, false) => None,
            };
            match from.and_then(|s| raw(self.view(s))) {
                Some(r) => out.set_raw(STAMPS, r.to_owned()),
                None => out.set(STAMPS, &stamps),
            }
        }
        out
    }

    fn reg<'s>(&'s self, v: &'s View<'r>, g: &str, fields: &[&str]) -> Reg<'s> {
        let state = self.rules.claims && g == "status";
        let entry = |k: &str| state.then(|| v.map.get(k)).flatten();
        Reg {
            vals: fields.iter().map(|f| v.rec.raw(f)).collect(),
            exp: v.map.get(g),
            epoch: entry(CLAIM_EPOCH),
            on: entry(CLAIM_ON),
            more: [entry("claim"), entry("tombstone")],
        }
    }

    fn register(&self, g: &str, fields: &[&str], notes: &mut Vec<RegNote>) -> Side {
        let state = self.rules.claims && g == "status";
        let ro = self.reg(&self.o, g, fields);
        let rt = self.reg(&self.t, g, fields);
        let rb = self.b.as_ref().map(|b| self.reg(b, g, fields));
        if identical(&ro, &rt) {
            return Side::Ours;
        }
        if same_meaning(fields, &ro, &rt) {
            if let Some(rb) = &rb {
                if identical(&ro, rb) {
                    return Side::Theirs;
                }
                if identical(&rt, rb) {
                    return Side::Ours;
                }
            }
            // Same value, other bytes or stamps: the register's own order.
            let ours_first = if state {
                (self.state_key(fields, &self.o, &ro), raw_texts(&ro))
                    >= (self.state_key(fields, &self.t, &rt), raw_texts(&rt))
            } else {
                (self.o.stamp(g), raw_texts(&ro)) >= (self.t.stamp(g), raw_texts(&rt))
            };
            return if ours_first { Side::Ours } else { Side::Theirs };
        }
        if let Some(rb) = &rb {
            if unchanged(fields, &ro, rb) {
                return Side::Theirs;
            }
            if unchanged(fields, &rt, rb) {
                return Side::Ours;
            }
        }
        let winner = if state {
            self.state_winner(fields, &ro, &rt, notes)
        } else {
            let ko = (self.o.stamp(g), canon_vals(fields, &ro));
            let kt = (self.t.stamp(g), canon_vals(fields, &rt));
            if ko >= kt { Side::Ours } else { Side::Theirs }
        };
        let (w, l) = match winner {
            Side::Theirs => (&rt, &ro),
            _ => (&ro, &rt),
        };
        notes.push(RegNote::Conflict {
            register: g.to_string(),
            winner: reg_text(fields, w),
            loser: reg_text(fields, l),
        });
        winner
    }

    /// Where one side's state (status, claim and tombstone groups, merged as
    /// one register) stands in the state's order; see [`StateKey`].
    fn state_key(&self, fields: &[&str], v: &View<'r>, r: &Reg<'_>) -> StateKey {
        let status = v.stamp("status");
        let started = field_of(fields, r, "started_at")
            .and_then(unescape)
            .and_then(|s| time::parse(&s));
        let top = [v.stamp("claim"), v.stamp("tombstone")]
            .into_iter()
            .fold(status.clone(), Ord::max);
        StateKey {
            on: claim_on(fields, r).unwrap_or(status),
            epoch: v.epoch(),
            started: (started.is_some(), std::cmp::Reverse(started.unwrap_or(0))),
            top,
        }
    }

    /// Both sides changed the state: the larger [`StateKey`], then the
    /// canonical bytes; a holder on the losing side is reported.
    fn state_winner(
        &self,
        fields: &[&str],
        ro: &Reg<'_>,
        rt: &Reg<'_>,
        notes: &mut Vec<RegNote>,
    ) -> Side {
        let ko = (self.state_key(fields, &self.o, ro), canon_vals(fields, ro));
        let kt = (self.state_key(fields, &self.t, rt), canon_vals(fields, rt));
        let winner = if ko >= kt { Side::Ours } else { Side::Theirs };
        let (wk, wr, lk, lr) = match winner {
            Side::Theirs => (&kt.0, rt, &ko.0, ro),
            _ => (&ko.0, ro, &kt.0, rt),
        };
        let holder = |r: &Reg<'_>| {
            field_of(fields, r, "assignee")
                .and_then(unescape)
                .filter(|s| !s.is_empty())
        };
        if let Some(loser) = holder(lr)
            && holder(wr).as_deref() != Some(loser.as_str())
        {
            let (winner, reason) = if closing(fields, wr) {
                (None, ClaimLoss::Closed)
            } else if wk.epoch != lk.epoch {
                (holder(wr), ClaimLoss::Superseded)
            } else {
                (holder(wr), ClaimLoss::Race)
            };
            notes.push(RegNote::ClaimLost {
                loser,
                winner,
                reason,
            });
        }
        winner
    }

    /// `updated_at`: unchanged on one side → the other side; else the later
    /// instant, then the larger bytes. (A join as long as writers never move
    /// it backwards, which `bd` guarantees by writing it from the HLC.)
    fn latest(&self, k: &str) -> Side {
        let raw = |v: &View<'r>| v.rec.raw(k).map(RawValue::get);
        let (o, t) = (raw(&self.o), raw(&self.t));
        if o == t {
            return Side::Ours;
        }
        if let Some(b) = &self.b {
            if raw(b) == o {
                return Side::Theirs;
            }
            if raw(b) == t {
                return Side::Ours;
            }
        }
        match latest_key(self.o.rec, k).cmp(&latest_key(self.t.rec, k)) {
            std::cmp::Ordering::Less => Side::Theirs,
            _ => Side::Ours,
        }
    }

    /// Which side's `_stamps` entry a list register keeps.
    fn pick_explicit(&self, g: &str) -> Side {
        let (o, t) = (self.o.explicit(g), self.t.explicit(g));
        if o == t {
            return Side::Ours;
        }
        if let Some(b) = &self.b {
            if b.explicit(g) == o {
                return Side::Theirs;
            }
            if b.explicit(g) == t {
                return Side::Ours;
            }
        }
        let key = |e: Option<&Value>| {
            (
                e.and_then(Value::as_str).and_then(Stamp::parse),
                e.map(Value::to_string),
            )
        };
        if key(o) >= key(t) {
            Side::Ours
        } else {
            Side::Theirs
        }
    }

    /// Merge a list field. `None`: some side is not in the expected shape.
    fn list(&self, f: &str, kind: Kind, notes: &mut Vec<RegNote>) -> Option<ListOut> {
        let raw = |v: &View<'r>| v.rec.raw(f);
        let (rb, ro, rt) = (self.b.as_ref().map(raw), raw(&self.o), raw(&self.t));
        let ekey = format!("{f}@");
        let emap = |v: &View<'r>| v.map.get(&ekey).and_then(Value::as_object).cloned();
        let mut elems_out = serde_json::Map::new();
        if ro.map(RawValue::get) == rt.map(RawValue::get) && emap(&self.o) == emap(&self.t) {
            return Some(ListOut {
                raw: ro.map(ToOwned::to_owned),
                elems: emap(&self.o).unwrap_or_default(),
            });
        }
        let elems: Vec<&'r str> = match kind {
            Kind::StringSet | Kind::Edges => {
                self.keyed(f, kind, [rb.flatten(), ro, rt], notes, &mut elems_out)?
            }
            Kind::Union => {
                let mut all: BTreeMap<String, [Option<&'r RawValue>; 3]> = BTreeMap::new();
                for (i, r) in [rb.flatten(), ro, rt].into_iter().enumerate() {
                    for e in elements(r)? {
                        let v: Value = serde_json::from_str(e.get()).ok()?;
                        let mut id = String::new();
                        write_canon(&v, "", Some("issue_id"), &mut id);
                        let slot = &mut all.entry(id).or_default()[i];
                        if slot.is_none_or(|s| s.get() < e.get()) {
                            *slot = Some(e);
                        }
                    }
                }
                let mut out: Vec<(CommentOrder, &'r str)> = Vec::new();
                for (ident, [b, o, t]) in all {
                    let e = match (o, t) {
                        (Some(o), Some(t)) => {
                            match pick(b.map(|b| Some(b.get())), Some(o.get()), Some(t.get())) {
                                Side::Theirs => t,
                                _ => o,
                            }
                        }
                        (Some(x), None) | (None, Some(x)) => x,
                        (None, None) => continue,
                    };
                    let v: Value = serde_json::from_str(e.get()).ok()?;
                    let at = v
                        .get("created_at")
                        .and_then(Value::as_str)
                        .and_then(time::parse)
                        .unwrap_or(0);
                    let id = v.get("id").map(Value::to_string).unwrap_or_default();
                    let text = v
                        .get("text")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    out.push(((at, id, text, ident), e.get()));
                }
                out.sort();
                out.into_iter().map(|x| x.1).collect()
            }
            Kind::EarliestMap => {
                return self.earliest_map(rb.flatten(), ro, rt).map(|raw| ListOut {
                    raw: Some(raw),
                    elems: serde_json::Map::new(),
                });
            }
            Kind::Fixed | Kind::Latest | Kind::Register => return None,
        };
        let same = |r: Option<&RawValue>| -> bool {
            match elements(r) {
                Some(v) => {
                    v.len() == elems.len() && v.iter().zip(&elems).all(|(a, b)| a.get() == *b)
                }
                None => false,
            }
        };
        let (as_o, as_t) = (same(ro), same(rt));
        let from = match (as_o, as_t) {
            (true, true) => Some(pick(
                rb.map(|r| r.map(RawValue::get)),
                ro.map(RawValue::get),
                rt.map(RawValue::get),
            )),
            (true, false) => Some(Side::Ours),
            (false, true) => Some(Side::Theirs),
            (false, false) => None,
        };
        let raw = match from {
            Some(Side::Theirs) => rt.map(ToOwned::to_owned),
            Some(_) => ro.map(ToOwned::to_owned),
            None if elems.is_empty() => None,
            None => Some(join_array(elems.into_iter())),
        };
        Some(ListOut {
            raw,
            elems: elems_out,
        })
    }

    /// Labels and edges: every element is a small register of its own (its
    /// entry or absence, with the element stamp from `_stamps["<field>@"]`),
    /// merged like any register. An element with no stamp has the list's
    /// stamp when present; an absence without a `-` stamp ranks lowest, so
    /// only a recorded removal removes anything.
    fn keyed(
        &self,
        f: &str,
        kind: Kind,
        lists: [Option<&'r RawValue>; 3],
        notes: &mut Vec<RegNote>,
        elems_out: &mut serde_json::Map<String, Value>,
    ) -> Option<Vec<&'r str>> {
        let key = |e: &RawValue| -> Option<(String, String)> {
            if kind == Kind::StringSet {
                Some((unescape(e)?, String::new()))
            } else {
                let k: EdgeKey = serde_json::from_str(e.get()).ok()?;
                Some((k.depends_on_id, k.kind))
            }
        };
        let name = |k: &(String, String)| {
            if kind == Kind::StringSet {
                k.0.clone()
            } else {
                format!("{} {}", k.0, k.1)
            }
        };
        let ekey = format!("{f}@");
        let views: [Option<&View<'r>>; 3] = [self.b.as_ref(), Some(&self.o), Some(&self.t)];
        let maps: [Option<&serde_json::Map<String, Value>>; 3] =
            views.map(|v| v.and_then(|v| v.map.get(&ekey)).and_then(Value::as_object));
        let mut all: BTreeMap<(String, String), [Option<&'r RawValue>; 3]> = BTreeMap::new();
        for (i, r) in lists.into_iter().enumerate() {
            for e in elements(r)? {
                let slot = &mut all.entry(key(e)?).or_default()[i];
                // Duplicates within one side: keep the larger bytes.
                if slot.is_none_or(|s| s.get() < e.get()) {
                    *slot = Some(e);
                }
            }
        }
        for m in maps.iter().flatten() {
            for k in m.keys() {
                let k = match kind {
                    Kind::StringSet => (k.clone(), String::new()),
                    _ => match k.split_once(' ') {
                        Some((a, b)) => (a.to_string(), b.to_string()),
                        None => (k.clone(), String::new()),
                    },
                };
                all.entry(k).or_default();
            }
        }
        let g = (self.rules.group)(f);
        let mut out = Vec::new();
        for (k, entries) in all {
            let n = name(&k);
            let el = |i: usize| (entries[i], maps[i].and_then(|m| m.get(&n)));
            let stamp = |i: usize| -> Stamp {
                let (e, x) = el(i);
                match x
                    .and_then(Value::as_str)
                    .and_then(|s| Stamp::parse(s.trim_start_matches(['+', '-'])))
                {
                    Some(s) => s,
                    None if e.is_some() => views[i].map(|v| v.stamp(g)).unwrap_or(Stamp {
                        at: i64::MIN,
                        actor: String::new(),
                    }),
                    None => Stamp {
                        at: i64::MIN,
                        actor: String::new(),
                    },
                }
            };
            let ident = |a: usize, b: usize| {
                let (ea, xa) = el(a);
                let (eb, xb) = el(b);
                ea.map(RawValue::get) == eb.map(RawValue::get) && xa == xb
            };
            let same = |a: usize, b: usize| eq_raw(f, el(a).0, el(b).0);
            let has_base = self.b.is_some();
            let winner = if ident(1, 2) {
                1
            } else if same(1, 2) {
                if has_base && ident(1, 0) {
                    2
                } else if has_base && ident(2, 0) {
                    1
                } else {
                    let raw_key = |i: usize| {
                        (
                            stamp(i),
                            el(i).0.map(RawValue::get),
                            el(i).1.map(Value::to_string),
                        )
                    };
                    if raw_key(1) >= raw_key(2) { 1 } else { 2 }
                }
            } else if has_base && same(1, 0) && el(1).1 == el(0).1 {
                2
            } else if has_base && same(2, 0) && el(2).1 == el(0).1 {
                1
            } else {
                let ck = |i: usize| (stamp(i), el(i).0.map(|e| canon(f, e)));
                let w = if ck(1) >= ck(2) { 1 } else { 2 };
                if let (Some(we), Some(le)) = (el(w).0, el(3 - w).0) {
                    notes.push(RegNote::Conflict {
                        register: f.to_string(),
                        winner: we.get().to_string(),
                        loser: le.get().to_string(),
                    });
                }
                w
            };
            let (e, x) = el(winner);
            if let Some(e) = e {
                out.push(e.get());
            }
            if let Some(x) = x {
                elems_out.insert(n, x.clone());
            }
        }
        Some(out)
    }

    fn earliest_map(
        &self,
        rb: Option<&'r RawValue>,
        ro: Option<&'r RawValue>,
        rt: Option<&'r RawValue>,
    ) -> Option<Box<RawValue>> {
        let obj = |r: Option<&'r RawValue>| -> Option<BTreeMap<String, &'r RawValue>> {
            match r {
                None => Some(BTreeMap::new()),
                Some(r) => serde_json::from_str(r.get()).ok(),
            }
        };
        let (mb, mo, mt) = (obj(rb)?, obj(ro)?, obj(rt)?);
        let keys: BTreeSet<&String> = mo.keys().chain(mt.keys()).collect();
        let mut out = String::from("{");
        for (n, k) in keys.into_iter().enumerate() {
            let (o, t) = (mo.get(k).copied(), mt.get(k).copied());
            let v = match (o, t) {
                (Some(o), Some(t)) if o.get() != t.get() => {
                    let at = |r: &RawValue| unescape(r).and_then(|s| time::parse(&s));
                    match (at(o), at(t)) {
                        (Some(a), Some(b)) if a != b => {
                            if a < b {
                                o
                            } else {
                                t
                            }
                        }
                        _ => match pick(
                            Some(mb.get(k).map(|r| r.get())),
                            Some(o.get()),
                            Some(t.get()),
                        ) {
                            Side::Theirs => t,
                            _ => o,
                        },
                    }
                }
                (Some(x), _) | (None, Some(x)) => x,
                (None, None) => continue,
            };
            if n > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(k).expect("string keys serialize"));
            out.push(':');
            out.push_str(v.get());
        }
        out.push('}');
        if let Some(o) = ro
            && o.get() == out
        {
            return Some(o.to_owned());
        }
        RawValue::from_string(out).ok()
    }
}

/// Order of `Kind::Latest` values: instant, then bytes; absent lowest.
fn latest_key<'x>(r: &'x Record, k: &str) -> (Option<Nanos>, Option<&'x str>) {
    (r.time(k), r.raw(k).map(RawValue::get))
}

fn closing(fields: &[&str], r: &Reg<'_>) -> bool {
    field_of(fields, r, "status")
        .and_then(unescape)
        .is_some_and(|s| s == "closed" || s == "tombstone")
}

/// The stamp of the status a claim's status replaced, while the status is
/// still the one that claim wrote (`claim_on.at` is its stamp).
fn claim_on(fields: &[&str], r: &Reg<'_>) -> Option<Stamp> {
    let on = r.on?;
    if closing(fields, r) || r.exp?.as_str()? != on.get("at")?.as_str()? {
        return None;
    }
    on.get("on")?.as_str().and_then(Stamp::parse)
}

fn identical(a: &Reg<'_>, b: &Reg<'_>) -> bool {
    a.exp == b.exp
        && a.epoch == b.epoch
        && a.on == b.on
        && a.more == b.more
        && a.vals.len() == b.vals.len()
        && a.vals
            .iter()
            .zip(&b.vals)
            .all(|(x, y)| x.map(RawValue::get) == y.map(RawValue::get))
}

fn same_meaning(fields: &[&str], a: &Reg<'_>, b: &Reg<'_>) -> bool {
    a.epoch == b.epoch
        && fields
            .iter()
            .zip(a.vals.iter().zip(&b.vals))
            .all(|(f, (x, y))| eq_raw(f, *x, *y))
}

/// The same value (by meaning) and the same `_stamps` entry as the base.
fn unchanged(fields: &[&str], x: &Reg<'_>, base: &Reg<'_>) -> bool {
    x.exp == base.exp && x.on == base.on && x.more == base.more && same_meaning(fields, x, base)
}

fn eq_raw(f: &str, a: Option<&RawValue>, b: Option<&RawValue>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.get() == b.get() || canon(f, a) == canon(f, b),
        _ => false,
    }
}

type RawKey<'x> = (
    Vec<Option<&'x str>>,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<Option<String>>,
);

fn raw_texts<'x>(r: &Reg<'x>) -> RawKey<'x> {
    (
        r.vals.iter().map(|v| v.map(RawValue::get)).collect(),
        r.exp.map(Value::to_string),
        r.epoch.map(Value::to_string),
        r.on.map(Value::to_string),
        r.more.iter().map(|m| m.map(Value::to_string)).collect(),
    )
}

fn canon_vals<'x>(fields: &[&str], r: &Reg<'x>) -> Vec<Option<Cow<'x, str>>> {
    fields
        .iter()
        .zip(&r.vals)
        .map(|(f, v)| v.map(|v| canon(f, v)))
        .collect()
}

fn field_of<'x>(fields: &[&str], r: &Reg<'x>, name: &str) -> Option<&'x RawValue> {
    fields
        .iter()
        .position(|f| *f == name)
        .and_then(|i| r.vals[i])
}

/// The register's value for the report: a JSON object of its present fields.
fn reg_text(fields: &[&str], r: &Reg<'_>) -> String {
    let mut s = String::from("{");
    let mut first = true;
    let mut put = |s: &mut String, k: &str, v: &str| {
        if !first {
            s.push(',');
        }
        first = false;
        s.push_str(&serde_json::to_string(k).expect("string keys serialize"));
        s.push(':');
        s.push_str(v);
    };
    for (f, v) in fields.iter().zip(&r.vals) {
        if let Some(v) = v {
            put(&mut s, f, v.get());
        }
    }
    if let Some(e) = r.epoch {
        put(&mut s, CLAIM_EPOCH, &e.to_string());
    }
    s.push('}');
    s
}

/// Choose between two spellings of one value: the one that is not the base's
/// (the side that changed it), else the larger bytes (absent is smallest).
/// `b` is `None` without a base record, `Some(None)` when the base lacks it.
fn pick(b: Option<Option<&str>>, o: Option<&str>, t: Option<&str>) -> Side {
    if o == t {
        return Side::Ours;
    }
    if let Some(b) = b {
        if b == o {
            return Side::Theirs;
        }
        if b == t {
            return Side::Ours;
        }
    }
    if o >= t { Side::Ours } else { Side::Theirs }
}

fn elements(r: Option<&RawValue>) -> Option<Vec<&RawValue>> {
    match r {
        None => Some(Vec::new()),
        Some(r) => serde_json::from_str(r.get()).ok(),
    }
}

fn join_array<'x>(items: impl Iterator<Item = &'x str>) -> Box<RawValue> {
    let mut s = String::from("[");
    for (i, e) in items.enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(e);
    }
    s.push(']');
    RawValue::from_string(s).expect("elements are JSON values")
}

fn to_raw(v: &Value) -> Box<RawValue> {
    RawValue::from_string(serde_json::to_string(v).expect("values serialize"))
        .expect("serde_json output is JSON")
}

fn unescape(r: &RawValue) -> Option<String> {
    let s = r.get();
    if !s.starts_with('"') {
        return None;
    }
    if !s.contains('\\') {
        return Some(s[1..s.len() - 1].to_string());
    }
    serde_json::from_str(s).ok()
}

// ---------------------------------------------------------------------------
// Values by meaning
// ---------------------------------------------------------------------------

/// A value's canonical text: strings unescaped (then re-escaped the one way
/// serde_json does), times under `*_at`/`*_until` keys as instants to the
/// microsecond, objects with sorted keys, numbers as serde_json prints them.
fn canon<'x>(key: &str, raw: &'x RawValue) -> Cow<'x, str> {
    let s = raw.get();
    match s.as_bytes().first() {
        Some(b'"') => {
            if crate::model::values::is_time_key(key)
                && let Some(n) = unescape(raw).and_then(|u| time::parse(&u))
            {
                return Cow::Owned(format!("@{}", n.div_euclid(1000)));
            }
            if !s.contains('\\') {
                return Cow::Borrowed(s);
            }
            match serde_json::from_str::<String>(s) {
                Ok(u) => Cow::Owned(serde_json::to_string(&u).expect("strings serialize")),
                Err(_) => Cow::Borrowed(s),
            }
        }
        Some(c) if c.is_ascii_digit() && s.bytes().all(|c| c.is_ascii_digit()) => Cow::Borrowed(s),
        Some(b't' | b'f' | b'n') => Cow::Borrowed(s),
        _ => match serde_json::from_str::<Value>(s) {
            Ok(v) => {
                let mut out = String::new();
                write_canon(&v, key, None, &mut out);
                Cow::Owned(out)
            }
            Err(_) => Cow::Borrowed(s),
        },
    }
}

fn write_canon(v: &Value, key: &str, skip: Option<&str>, out: &mut String) {
    match v {
        Value::String(s) => {
            if crate::model::values::is_time_key(key)
                && let Some(n) = time::parse(s)
            {
                out.push_str(&format!("@{}", n.div_euclid(1000)));
            } else {
                out.push_str(&serde_json::to_string(s).expect("strings serialize"));
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canon(x, "", None, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().filter(|k| Some(k.as_str()) != skip).collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("string keys serialize"));
                out.push(':');
                write_canon(&m[k], k, None, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(b: &str, o: &str, t: &str) -> String {
        let a = merge_issues(b.as_bytes(), o.as_bytes(), t.as_bytes()).unwrap();
        let z = merge_issues(b.as_bytes(), t.as_bytes(), o.as_bytes()).unwrap();
        assert_eq!(a, z, "not commutative");
        String::from_utf8(a.bytes).unwrap()
    }

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn ids_are_read_without_a_parse_when_canonical() {
        assert_eq!(line_id(r#"{"id":"bd-1","x":1}"#).unwrap(), "bd-1");
        assert!(matches!(
            line_id(r#"{"id":"bd-1","x":1}"#).unwrap(),
            Cow::Borrowed(_)
        ));
        // Escaped ids and other key orders fall back to a parse.
        assert_eq!(line_id(r#"{"id":"bd-\u0031"}"#).unwrap(), "bd-1");
        assert_eq!(line_id(r#"{"title":"x","id":"bd-2"}"#).unwrap(), "bd-2");
        assert!(line_id(r#"{"title":"x"}"#).is_err());
    }

    #[test]
    fn values_compare_by_meaning() {
        let c = |k: &str, v: &str| canon(k, &raw(v)).into_owned();
        assert_eq!(
            c("closed_at", r#""2025-11-02T21:58:07.295058-08:00""#),
            c("closed_at", r#""2025-11-03T05:58:07.295058400Z""#)
        );
        assert_ne!(
            c("title", r#""2025-11-03T05:58:07Z""#),
            c("title", r#""2025-11-03T05:58:07.0Z""#)
        );
        assert_eq!(c("title", r#""a \u003c b""#), c("title", r#""a < b""#));
        assert_eq!(
            c("metadata", r#"{"b":1, "a":[1.50]}"#),
            c("metadata", r#"{"a":[1.5],"b":1}"#)
        );
        assert_ne!(c("priority", "1"), c("priority", r#""1""#));
    }

    #[test]
    fn renamed_ids_derive_from_identity() {
        let at = Created::Micros(1_767_225_600_000_000);
        let a = renamed_id("bd-p1.2", &at, 0);
        assert_eq!(a, renamed_id("bd-p1.2", &at, 0));
        assert!(a.starts_with("bd-") && a.len() == "bd-".len() + 8, "{a}");
        assert_ne!(a, renamed_id("bd-p1.2", &Created::Micros(1), 0));
        let longer = renamed_id("bd-p1.2", &at, 1);
        assert_eq!(longer.len(), a.len() + 1);
        assert!(longer.ends_with(&a[3..]));
        // The ids before renames got longer are the last digits of these.
        let legacy = legacy_renamed_id("bd-p1.2", &at, 0);
        assert_eq!(legacy.len(), "bd-".len() + 3);
        assert!(a.ends_with(&legacy[3..]));
        let b = renamed_id("my-proj-abcde", &at, 0);
        assert!(
            b.starts_with("my-proj-") && b.len() == "my-proj-".len() + 10,
            "{b}"
        );
        // Every length up to the digest's 25 digits, then numbered; each once.
        let all: Vec<String> = rename_ids("my-proj-abcde", &at).take(20).collect();
        assert_eq!(all.len(), all.iter().collect::<BTreeSet<_>>().len());
        assert_eq!(all[15].len(), "my-proj-".len() + 25);
        assert_eq!(all[16], format!("{}2", all[15]));
        let long = "bd-abcdefghijklmnopqrstuvwxyz";
        let ids: Vec<String> = rename_ids(long, &at).take(3).collect();
        assert_eq!(ids[1], format!("{}2", ids[0]), "{ids:?}");
    }

    /// A record `bd-x1` created `us` µs after 2026-01-01, by `by`; renamed
    /// to `at` when given.
    fn x1(us: i64, by: &str, at: Option<&str>) -> String {
        let mut r = Record::new(at.unwrap_or("bd-x1"));
        r.set("title", &format!("made by {by}"));
        r.set(
            "created_at",
            &time::format(1_767_225_600_000_000_000 + us * 1000),
        );
        r.set("created_by", &by);
        if at.is_some() {
            r.set("renamed_from", "bd-x1");
        }
        format!("{}\n", r.to_line())
    }

    /// (id, created_by) of each line.
    fn holders(file: &str) -> Vec<(String, String)> {
        file.lines()
            .map(|l| {
                let r = Record::parse(l).unwrap();
                (r.id().to_string(), r.str("created_by").unwrap())
            })
            .collect()
    }

    /// The regression of `tests/prop_merge` "collision renames stick": two
    /// younger records of one id whose renames collide. With 3-character
    /// renames (`bd-x1` at +103 µs and +156 µs both gave `bd-8yg`) the one
    /// renamed first kept the rename whatever its age, so merge orders
    /// disagreed. Renames are 8 characters now (+1,863,240 µs and
    /// +1,922,757 µs still share `bd-ktqdigoo`): the older gets it in
    /// every order, the younger moves on, also when a rename made before
    /// holds it.
    #[test]
    fn colliding_renames_go_to_the_older_record_in_every_order() {
        let (tb, tc) = (1_863_240, 1_922_757);
        let at = |us: i64| Created::Micros(1_767_225_600_000_000 + us);
        assert_eq!(renamed_id("bd-x1", &at(tb), 0), "bd-ktqdigoo");
        assert_eq!(renamed_id("bd-x1", &at(tc), 0), "bd-ktqdigoo");
        assert_eq!(legacy_renamed_id("bd-x1", &at(103), 0), "bd-8yg");
        assert_eq!(legacy_renamed_id("bd-x1", &at(156), 0), "bd-8yg");
        let (a, b, c) = (x1(0, "a", None), x1(tb, "b", None), x1(tc, "c", None));
        let ab = m("", &a, &b);
        let ac = m("", &a, &c);
        let bc = m("", &b, &c);
        let all = [
            m("", &ab, &c),
            m("", &ac, &b),
            m("", &bc, &a),
            m(&a, &ab, &ac),
        ];
        for out in &all {
            assert_eq!(out, &all[0]);
        }
        let want = holders(&all[0]);
        assert!(want.contains(&("bd-x1".into(), "a".into())), "{want:?}");
        assert!(
            want.contains(&("bd-ktqdigoo".into(), "b".into())),
            "{want:?}"
        );
        assert_eq!(want.len(), 3);
        // A younger record that holds the rename (renamed in an earlier
        // merge) gives it up to the older one, whose own id is taken.
        let c_renamed = x1(tc, "c", Some("bd-ktqdigoo"));
        let ac_old = format!("{a}{c_renamed}");
        assert_eq!(m("", &ac_old, &format!("{a}{b}")), all[0]);
        // Also when that rename's line is taken as it is (the same on both
        // sides): it is parsed, ranked and moved (`Job::assign_ids`).
        let file = format!("{a}{b}{c_renamed}");
        let n = normalize_issues(file.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(n.bytes).unwrap(), all[0]);
        // 3-character renames made before stay where they are; when two
        // collide the older keeps the id, the younger gets a long one.
        let b_old = x1(103, "b", Some("bd-8yg"));
        let c_old = x1(156, "c", Some("bd-8yg"));
        let out = m("", &format!("{a}{b_old}"), &format!("{a}{c_old}"));
        let got = holders(&out);
        assert!(got.contains(&("bd-8yg".into(), "b".into())), "{got:?}");
        let c_new = renamed_id("bd-x1", &at(156), 0);
        assert!(got.contains(&(c_new, "c".into())), "{got:?}");
    }

    #[test]
    fn spelling_choice_prefers_the_changed_side_then_bytes() {
        assert_eq!(pick(Some(Some("a")), Some("a"), Some("b")), Side::Theirs);
        assert_eq!(pick(Some(Some("b")), Some("a"), Some("b")), Side::Ours);
        assert_eq!(pick(None, Some("a"), Some("b")), Side::Theirs);
        assert_eq!(pick(None, None, Some("b")), Side::Theirs);
        assert_eq!(pick(Some(None), None, Some("b")), Side::Theirs);
    }

    #[test]
    fn an_import_prefers_the_file_on_ties_only() {
        let at = Stamp {
            at: crate::model::time::parse("2026-06-01T00:00:00Z").unwrap(),
            actor: "importer".into(),
        };
        let merged = |cur: &str, file: &str| {
            let (cur, mut file) = (Record::parse(cur).unwrap(), Record::parse(file).unwrap());
            prefer_file_on_ties(&ISSUE_RULES, &cur, &mut file, &at);
            merge_record(&ISSUE_RULES, None, &cur, &file)
        };
        // Classic records, same instant: the file's values win, either order.
        let cur =
            r#"{"id":"bd-1","title":"zzz","status":"open","updated_at":"2026-01-01T00:00:00Z"}"#;
        let file = r#"{"id":"bd-1","title":"aaa","status":"closed","closed_at":"2026-01-02T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;
        let m = merged(cur, file);
        assert_eq!(m.str("title").as_deref(), Some("aaa"));
        assert_eq!(m.status(), "closed");
        // A newer write here is kept; a newer file still wins.
        let cur = r#"{"id":"bd-1","title":"mine","created_at":"2026-01-01T00:00:00Z","_stamps":{"title":"2026-03-01T00:00:00Z me"}}"#;
        let file = r#"{"id":"bd-1","title":"stale","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-02-01T00:00:00Z"}"#;
        assert_eq!(merged(cur, file).str("title").as_deref(), Some("mine"));
        let file = r#"{"id":"bd-1","title":"newer","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-04-01T00:00:00Z"}"#;
        assert_eq!(merged(cur, file).str("title").as_deref(), Some("newer"));
    }

    #[test]
    fn updated_at_takes_the_later_instant_keeping_its_text() {
        let b = r#"{"id":"bd-1","title":"t","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;
        let o = r#"{"id":"bd-1","title":"o","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T01:00:00-08:00"}"#;
        let t = r#"{"id":"bd-1","title":"t","notes":"n","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T08:30:00Z"}"#;
        let out = m(&format!("{b}\n"), &format!("{o}\n"), &format!("{t}\n"));
        assert!(
            out.contains(r#""updated_at":"2026-01-01T01:00:00-08:00""#),
            "{out}"
        );
        assert!(
            out.contains(r#""title":"o""#) && out.contains(r#""notes":"n""#),
            "{out}"
        );
    }

    #[test]
    fn a_stale_claim_on_is_ignored() {
        let rules = &ISSUE_RULES;
        // claim_on.at no longer matches the status stamp: a later close wrote the
        // status, so this status ranks by its own stamp.
        let stale = Record::parse(r#"{"id":"bd-1","status":"closed","created_at":"2026-01-01T00:00:00Z","_stamps":{"claim_on":{"at":"2026-01-01T00:00:05Z a","on":"2026-01-01T00:00:00Z "},"status":"2026-01-01T00:00:09Z a"}}"#).unwrap();
        let fresh = Record::parse(r#"{"id":"bd-1","status":"in_progress","created_at":"2026-01-01T00:00:00Z","_stamps":{"claim_on":{"at":"2026-01-01T00:00:05Z a","on":"2026-01-01T00:00:00Z "},"status":"2026-01-01T00:00:05Z a"}}"#).unwrap();
        let rm = RecMerge::new(rules, None, &stale, &fresh);
        let f = ["status"];
        let (rs, rf) = (rm.reg(&rm.o, "status", &f), rm.reg(&rm.t, "status", &f));
        assert_eq!(claim_on(&f, &rs), None);
        assert_eq!(
            claim_on(&f, &rf).map(|s| s.at),
            time::parse("2026-01-01T00:00:00Z")
        );
        // The close (stamp 9) beats the claim made on the status of time 0.
        let out = merge_record(rules, None, &stale, &fresh);
        assert_eq!(out.status(), "closed");
    }

    #[test]
    fn absence_without_a_tombstone_removes_nothing() {
        let rules = &ISSUE_RULES;
        let o = Record::parse(r#"{"id":"bd-1","labels":["a","b"],"_stamps":{"labels@":{"a":"+2026-01-01T00:00:01Z x"}}}"#).unwrap();
        let t = Record::parse(
            r#"{"id":"bd-1","labels":["c"],"_stamps":{"labels@":{"b":"-2026-01-01T00:00:02Z y"}}}"#,
        )
        .unwrap();
        // Two-way: a (no tombstone on t) stays, b (removed later on t) goes, c stays.
        let out = merge_record(rules, None, &o, &t);
        assert_eq!(out.labels(), vec!["a", "c"]);
        let back = merge_record(rules, None, &t, &o);
        assert_eq!(out.to_line(), back.to_line());
        assert!(
            out.to_line().contains(r#""b":"-2026-01-01T00:00:02Z y""#),
            "{}",
            out.to_line()
        );
    }

    #[test]
    fn mail_read_marks_merge_per_key_earliest_first() {
        let b = r#"{"id":"msg-1","subject":"s","created_at":"2026-01-01T00:00:00Z"}"#;
        let o = r#"{"id":"msg-1","subject":"s","created_at":"2026-01-01T00:00:00Z","read_by":{"ann":"2026-01-02T00:00:00Z","bob":"2026-01-03T00:00:00Z"}}"#;
        let t = r#"{"id":"msg-1","subject":"s","created_at":"2026-01-01T00:00:00Z","read_by":{"bob":"2026-01-02T12:00:00Z"}}"#;
        let run = |o: &str, t: &str| {
            let x = merge_jsonl(
                format!("{b}\n").as_bytes(),
                format!("{o}\n").as_bytes(),
                format!("{t}\n").as_bytes(),
                &MAIL_RULES,
            )
            .unwrap();
            String::from_utf8(x.bytes).unwrap()
        };
        let out = run(o, t);
        assert_eq!(out, run(t, o));
        assert!(
            out.contains(
                r#""read_by":{"ann":"2026-01-02T00:00:00Z","bob":"2026-01-02T12:00:00Z"}"#
            ),
            "{out}"
        );
    }

    #[test]
    fn normalizing_sorts_strips_cr_and_merges_duplicate_lines() {
        let x = "{\"id\":\"bd-2\",\"title\":\"b\",\"created_at\":\"2026-01-01T00:00:00Z\"}\r\n\
                 {\"id\":\"bd-1\",\"title\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\",\"labels\":[\"x\"]}\r\n\
                 {\"id\":\"bd-1\",\"title\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\",\"labels\":[\"y\"]}\r\n";
        let out = String::from_utf8(normalize_issues(x.as_bytes()).unwrap().bytes).unwrap();
        assert_eq!(
            out,
            "{\"id\":\"bd-1\",\"title\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\",\"labels\":[\"x\",\"y\"]}\n\
             {\"id\":\"bd-2\",\"title\":\"b\",\"created_at\":\"2026-01-01T00:00:00Z\"}\n"
        );
        // Same id, other created_at in one file: both kept, the later renamed.
        let y = "{\"id\":\"bd-1\",\"title\":\"a\",\"created_at\":\"2026-01-01T00:00:00Z\"}\n\
                 {\"id\":\"bd-1\",\"title\":\"b\",\"created_at\":\"2026-01-02T00:00:00Z\"}\n";
        let n = normalize_issues(y.as_bytes()).unwrap();
        let out = String::from_utf8(n.bytes).unwrap();
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(out.contains("\"renamed_from\":\"bd-1\""), "{out}");
        assert_eq!(n.report.renamed.len(), 1);
    }

    #[test]
    fn records_on_one_side_only_are_kept_as_they_are() {
        let l = "{\"id\":\"bd-9\",\"title\":\"x\"}\n";
        assert_eq!(m(l, "", l), l);
        assert_eq!(m("", l, ""), l);
        assert_eq!(m(l, "", ""), "");
    }
}

//! Whole-tracker reads stream (issue 15): `list --json`, `search`, `export`
//! and `ready --json` are written record by record, never holding the
//! tracker, and print what a plain parse of every record gives, for a
//! tracker of hostile content (JSON escapes, `\u` escapes of any
//! character, `\/`, non-ASCII, case that only Unicode folds, a search term
//! split by an escaped quote or newline, lines not in canonical form).
//! `search` looks at raw bytes first and parses only the lines that may
//! match: a property test holds that prefilter to the plain
//! parse-and-match (a match is never dropped).

mod common;

use std::collections::BTreeSet;

use common::{Rng, TestEnvironment};
use proptest::prelude::*;
use proptest::test_runner::Config as PtConfig;
use serde_json::{Value, json};
use strand::model::record::Record;
use strand::store::jsonl::{TextFilter, is_canonical};

/// What hostile text is made of: words in several cases, what JSON
/// escapes, characters whose lower case is not bytewise (`K` the Kelvin
/// sign lower-cases to `k`, `İ` to `i̇`, `Σ` to `σ` or `ς`), and what a
/// terminal must not see raw.
const PIECES: &[&str] = &[
    "a",
    "B",
    "tracker",
    "TRACKER",
    "TrAcKeR",
    " ",
    "\"",
    "\\",
    "\n",
    "\t",
    "\r",
    "/",
    "é",
    "É",
    "Σ",
    "σ",
    "ς",
    "\u{212A}",
    "K",
    "k",
    "İ",
    "i",
    "ß",
    "ẞ",
    "ſ",
    "s",
    "日本語",
    "😀",
    "<",
    "&",
    "\u{1}",
    "\u{7f}",
    "\u{202e}",
    "ǅ",
    "ﬁ",
    "fi",
    "x",
    "-",
    "bd",
    "ΣΑΣ",
    "TRAC\u{212A}ER",
    "B\u{130}",
    "a/b",
    "q\"q",
];

fn text(rng: &mut Rng, max: usize) -> String {
    let n = rng.below(max + 1);
    (0..n).map(|_| *rng.pick(PIECES)).collect()
}

/// `s` as a JSON string, each character written one of the ways JSON
/// allows: as itself, with a short escape, as `\uXXXX` (either case of
/// hex; astral ones as a surrogate pair), `/` as `\/`. `h`: how hostile,
/// in percent (0: only the escapes JSON needs, as serde_json writes them).
fn hostile_str(rng: &mut Rng, s: &str, h: usize) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        let roll = rng.below(100);
        let unicode = |out: &mut String, c: char, upper: bool| {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                if upper {
                    out.push_str(&format!("\\u{unit:04X}"));
                } else {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        };
        match c {
            '"' | '\\' | '\u{0}'..='\u{1f}' if h == 0 || roll < 60 => {
                let e = serde_json::to_string(&c.to_string()).unwrap();
                out.push_str(&e[1..e.len() - 1]);
            }
            '"' | '\\' | '\u{0}'..='\u{1f}' => unicode(&mut out, c, roll < 80),
            '/' if h > 0 && roll < 40 => out.push_str("\\/"),
            c if roll < h => unicode(&mut out, c, rng.chance(50)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value in JSON text: strings hostile, the rest as serde_json writes it.
fn hostile_value(rng: &mut Rng, v: &Value, h: usize) -> String {
    match v {
        Value::String(s) => hostile_str(rng, s, h),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(|i| hostile_value(rng, i, h)).collect();
            format!("[{}]", parts.join(if rng.chance(20) { ", " } else { "," }))
        }
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).unwrap(),
                        hostile_value(rng, v, h)
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// A record's line: usually its fields in canonical order, written
/// compactly with every string hostile; sometimes shuffled or spaced (not
/// canonical: `bd` writes such a line anew).
fn hostile_line(rng: &mut Rng, fields: &[(&str, Value)]) -> String {
    let mut fields: Vec<(&str, Value)> = fields.to_vec();
    if rng.chance(15) {
        rng.shuffle(&mut fields[1..]);
    }
    let spaced = rng.chance(10);
    // Many lines have no `\u` escape at all (the bytewise search decides
    // those alone), some a few, some many.
    let h = *rng.pick(&[0, 0, 1, 10]);
    let parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| {
            let key = if rng.chance(3) {
                hostile_str(rng, k, h)
            } else {
                serde_json::to_string(k).unwrap()
            };
            let sep = if spaced { ": " } else { ":" };
            format!("{key}{sep}{}", hostile_value(rng, v, h))
        })
        .collect();
    format!("{{{}}}", parts.join(if spaced { ", " } else { "," }))
}

/// The plain match `search` makes, written here from its description: the
/// id, title, description, design, acceptance criteria, notes, external
/// reference and every comment's text, joined by newlines, lower-cased,
/// hold the query (trimmed, lower-cased).
fn oracle(v: &Value, query: &str) -> bool {
    let mut hay = v["id"].as_str().unwrap_or_default().to_string();
    for k in [
        "title",
        "description",
        "design",
        "acceptance_criteria",
        "notes",
        "external_ref",
    ] {
        if let Some(s) = v.get(k).and_then(Value::as_str) {
            hay.push('\n');
            hay.push_str(s);
        }
    }
    if let Some(Value::Array(cs)) = v.get("comments") {
        for c in cs {
            hay.push('\n');
            hay.push_str(c["text"].as_str().unwrap_or_default());
        }
    }
    hay.to_lowercase().contains(&query.trim().to_lowercase())
}

/// The fields of one hostile issue (`i`: its number).
fn issue_fields(rng: &mut Rng, i: usize) -> Vec<(&'static str, Value)> {
    let id = format!("bd-{i:04}");
    let status = *rng.pick(&[
        "open",
        "open",
        "in_progress",
        "closed",
        "blocked",
        "tombstone",
    ]);
    let at = |s: usize| format!("2026-01-01T00:{:02}:{:02}Z", (s / 60) % 60, s % 60);
    let mut f: Vec<(&str, Value)> = vec![("id", json!(id)), ("title", json!(text(rng, 6)))];
    if rng.chance(80) {
        f.push(("description", json!(text(rng, 12))));
    }
    if rng.chance(30) {
        f.push(("notes", json!(text(rng, 5))));
    }
    f.push(("status", json!(status)));
    f.push(("priority", json!(rng.below(5))));
    f.push((
        "issue_type",
        json!(*rng.pick(&["task", "bug", "epic", "feature"])),
    ));
    f.push(("created_at", json!(at(i))));
    f.push(("updated_at", json!(at(i + 1))));
    if status == "closed" {
        f.push(("closed_at", json!(at(i + 2))));
    }
    if rng.chance(20) {
        f.push(("external_ref", json!(text(rng, 3))));
    }
    if rng.chance(20) {
        f.push((
            "metadata",
            json!({"k": text(rng, 2), "n": 1.50, "big": 12345678901234567890u64}),
        ));
    }
    if rng.chance(30) {
        f.push(("labels", json!([text(rng, 2), "perf"])));
    }
    if i > 0 && rng.chance(40) {
        let to = format!("bd-{:04}", rng.below(i));
        let kind = *rng.pick(&["blocks", "parent-child", "related"]);
        f.push((
            "dependencies",
            json!([{"issue_id": id, "depends_on_id": to, "type": kind, "created_at": at(i)}]),
        ));
    }
    if rng.chance(40) {
        let cs: Vec<Value> = (0..1 + rng.below(3))
            .map(|n| json!({"id": n, "issue_id": id, "author": "x", "text": text(rng, 8), "created_at": at(i)}))
            .collect();
        f.push(("comments", json!(cs)));
    }
    if status == "tombstone" {
        f.push(("deleted_at", json!(at(i + 3))));
    }
    if rng.chance(5) {
        f.push(("zz_unknown", json!(text(rng, 2))));
    }
    f
}

/// Queries: pieces of the content in other cases, a term split by an
/// escaped quote or newline, characters JSON escapes, Unicode folds.
const QUERIES: &[&str] = &[
    "tracker",
    "TRACKER",
    " Tracker ",
    "k",
    "\u{212A}",
    "i̇",
    "İ",
    "bi",
    "bİ",
    "σ",
    "ς",
    "Σ",
    "ss",
    "ß",
    "é",
    "É",
    "\"",
    "a\"b",
    "q\"q",
    "a/b",
    "\\",
    "/",
    "\n",
    "a\nb",
    "tracker\ntracker",
    "\t",
    "<",
    "&",
    "😀",
    "日本語",
    "ǆ",
    "ﬁ",
    "bd-00",
    "BD-001",
    "x",
    "zz",
    "nothing-like-this",
];

/// `q` as `search` passes it to the prefilter.
fn folded_query(q: &str) -> String {
    q.trim().to_lowercase()
}

proptest! {
    #![proptest_config(PtConfig { cases: 400, failure_persistence: None, ..PtConfig::default() })]

    /// Every line whose record matches is a candidate, alone and among
    /// other lines, for queries taken from the content (in another case,
    /// cut anywhere) and for hostile ones.
    #[test]
    fn the_prefilter_never_drops_a_match(seed in any::<u64>(), n in 1usize..6, pick in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let mut lines = Vec::new();
        let mut values = Vec::new();
        for i in 0..n {
            let f = issue_fields(&mut rng, i);
            let line = hostile_line(&mut rng, &f);
            let v: Value = serde_json::from_str(&line).unwrap();
            values.push(v);
            lines.push(line);
        }
        // A query cut from some record's text, its case changed per character.
        let v = &values[(pick as usize) % n];
        let source = ["title", "description", "notes", "id"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str).filter(|s| !s.trim().is_empty()))
            .unwrap_or("tracker")
            .to_string();
        let chars: Vec<char> = source.chars().collect();
        let a = rng.below(chars.len());
        let b = a + 1 + rng.below(chars.len() - a);
        let cut: String = chars[a..b]
            .iter()
            .flat_map(|c| -> Vec<char> {
                if rng.chance(50) { c.to_uppercase().collect() } else { c.to_lowercase().collect() }
            })
            .collect();
        let mut queries: Vec<String> = QUERIES.iter().map(|q| q.to_string()).collect();
        queries.push(cut);
        let piece = lines.join(if rng.chance(20) { "\r\n" } else { "\n" }) + "\n";
        for q in queries {
            let fq = folded_query(&q);
            if fq.is_empty() {
                continue;
            }
            let mut filter = TextFilter::new(&fq);
            let mut found = Vec::new();
            filter.candidates(piece.as_bytes(), |span| found.push(piece[span].to_string()));
            for (line, v) in lines.iter().zip(&values) {
                let rec = Record::parse(line).unwrap();
                // The library's own match agrees with the plain one…
                prop_assert_eq!(
                    strand::ops::query::search_matches(&rec, &fq),
                    oracle(v, &q),
                    "query {:?} line {}", q, line
                );
                // …and no matching line is left out.
                if oracle(v, &q) {
                    prop_assert!(filter.line_may_match(line.as_bytes()), "query {:?} dropped {}", q, line);
                    prop_assert!(found.contains(line), "query {:?} dropped {} from a piece", q, line);
                }
            }
        }
    }

    /// A line said to be canonical is exactly what `bd` writes for its
    /// record (so `export` may copy it), and what `bd` writes is canonical.
    #[test]
    fn canonical_lines_are_what_bd_writes(seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let i = rng.below(50);
        let f = issue_fields(&mut rng, i);
        let line = hostile_line(&mut rng, &f);
        let rec = Record::parse(&line).unwrap();
        if is_canonical(&line) {
            prop_assert_eq!(rec.to_line(), line.clone());
        }
        prop_assert!(is_canonical(&rec.to_line()), "{}", rec.to_line());
    }
}

/// The view lists print, as it was built before output was streamed:
/// the record's `to_map` (every value parsed), the computed keys in place
/// of stored ones of the same name, the rest after.
fn view_by_value(rec: &Record) -> String {
    let keys = [
        "dependency_count",
        "dependent_count",
        "comment_count",
        "parent",
    ];
    let computed = |k: &str| match k {
        "dependency_count" => json!(rec.deps().len()),
        "dependent_count" => json!(0),
        "comment_count" => json!(rec.comments().len()),
        _ => json!(rec.parent()),
    };
    let fields = rec.to_map();
    let mut out = serde_json::Map::new();
    for (k, v) in &fields {
        let v = if keys.contains(&k.as_str()) {
            computed(k)
        } else {
            v.clone()
        };
        out.insert(k.clone(), v);
    }
    for k in keys.iter().filter(|k| !fields.contains_key(**k)) {
        out.insert(k.to_string(), computed(k));
    }
    serde_json::to_string_pretty(&Value::Object(out)).unwrap()
}

/// Odd values a line may hold: numbers serde_json writes otherwise or
/// cannot hold, stored keys named as computed ones, lists in shapes the
/// typed readers refuse.
const ODD: &[(&str, &str)] = &[
    ("estimated_minutes", "-0"),
    ("estimated_minutes", "1.50"),
    ("estimated_minutes", "1e400"),
    ("estimated_minutes", "12345678901234567890"),
    ("estimated_minutes", "123456789012345678"),
    ("estimated_minutes", "-42"),
    ("estimated_minutes", "1E2"),
    ("dependency_count", "\"stored\""),
    ("parent", "\"bd-x\""),
    ("comment_count", "1e400"),
    ("labels", "\"not a list\""),
    ("labels", "[ \"a\" , 1 ]"),
    (
        "metadata",
        "{\"a\":{\"b\":[1,2,{}]},\"c\":null,\"e\":\"\\u003c\"}",
    ),
    (
        "dependencies",
        "[{\"depends_on_id\":\"bd-0\",\"type\":\"parent-child\",\"issue_id\":5}]",
    ),
    (
        "dependencies",
        "[{\"depends_on_id\":\"bd-9\",\"type\":\"parent-child\"},{\"depends_on_id\":\"bd-1\",\"type\":\"parent-child\",\"metadata\":{\"gate\":\"any-children\"}}]",
    ),
    (
        "dependencies",
        "[{\"depends_on_id\":\"bd-2\",\"type\":\"parent-child\",\"metadata\":{\"n\":1e400}}]",
    ),
    (
        "dependencies",
        "[{\"depends_on_id\":\"bd-2\",\"depends_on_id\":\"bd-3\"}]",
    ),
    ("comments", "[{\"text\":null}]"),
    (
        "comments",
        "[{\"text\":\"a\"},{\"id\":[1],\"author\":\"\\u0041\"}]",
    ),
    ("comments", "{}"),
    ("_stamps", "{\"title\":\"x\"}"),
    ("zz", "true"),
    ("aa", "null"),
];

proptest! {
    #![proptest_config(PtConfig { cases: 300, failure_persistence: None, ..PtConfig::default() })]

    /// A listed issue's JSON, written from the raw values, is byte for byte
    /// what parsing every value gave.
    #[test]
    fn views_print_as_parsed_values_did(seed in any::<u64>(), odd in proptest::collection::vec(0usize..ODD.len(), 0..4)) {
        let mut rng = Rng::new(seed);
        let i = rng.below(50);
        let f = issue_fields(&mut rng, i);
        let mut line = hostile_line(&mut rng, &f);
        line.pop();
        for o in odd {
            let (k, v) = ODD[o];
            line.push_str(&format!(",\"{k}\":{v}"));
        }
        line.push('}');
        let Ok(rec) = Record::parse(&line) else {
            return Ok(());
        };
        let view = strand::ops::issue_view(&rec);
        prop_assert_eq!(serde_json::to_string_pretty(&view).unwrap(), view_by_value(&rec), "{}", line);
    }
}

/// Candidates are whole lines (no CR), each once, in order, and only
/// lines holding the text somewhere in their bytes (decoded) are given.
#[test]
fn candidates_are_whole_lines_once_in_order() {
    let piece = "{\"id\":\"a\",\"title\":\"Tracker tracker\"}\r\n\n{\"id\":\"b\",\"title\":\"none\"}\n{\"id\":\"c\",\"title\":\"TRA\\u0043KER\"}\n{\"id\":\"d\",\"title\":\"x\"}";
    let mut f = TextFilter::new("tracker");
    let mut got = Vec::new();
    f.candidates(piece.as_bytes(), |s| got.push(&piece[s]));
    assert_eq!(
        got,
        [
            "{\"id\":\"a\",\"title\":\"Tracker tracker\"}",
            "{\"id\":\"c\",\"title\":\"TRA\\u0043KER\"}"
        ]
    );
}

/// Only two characters beyond ASCII lower-case to something holding
/// ASCII: the prefilter decodes lines holding them (if Unicode adds one,
/// this fails and `SUSPECT` in `store::jsonl` needs it).
#[test]
fn only_kelvin_and_dotted_i_lower_case_to_ascii() {
    let odd: Vec<char> = (0x80..=0x10FFFFu32)
        .filter_map(char::from_u32)
        .filter(|c| c.to_lowercase().any(|l| l.is_ascii()))
        .collect();
    assert_eq!(odd, ['\u{130}', '\u{212A}']);
}

/// A tracker of `n` hostile issues, written straight into the file (sorted
/// by id: the index takes it as it is), and the parsed values by id.
fn hostile_tracker(seed: u64, n: usize) -> (TestEnvironment, Vec<(String, String)>) {
    let env = TestEnvironment::new();
    let mut rng = Rng::new(seed);
    let mut lines = Vec::new();
    for i in 0..n {
        let f = issue_fields(&mut rng, i);
        let line = hostile_line(&mut rng, &f);
        lines.push((format!("bd-{i:04}"), line));
    }
    let text: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    std::fs::write(env.issues_path(), text).unwrap();
    (env, lines)
}

fn session(env: &TestEnvironment) -> strand::ops::Session {
    strand::ops::compose::open(&env.repo, None, || {
        Ok(strand::ops::Env {
            now: strand::model::time::parse(&env.clock.tick()).unwrap(),
            actor: Some("tester".into()),
            bd_home: Some(env.home.clone()),
            lock_timeout: std::time::Duration::from_secs(5),
            formulas_dir: None,
            readonly: false,
            offline: false,
            remote: false,
            offline_claim: false,
        })
    })
    .unwrap()
}

/// What `bd export` prints: every record's line as `bd` writes it, in id order.
fn expected_export(lines: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = lines.iter().collect();
    sorted.sort();
    sorted
        .iter()
        .map(|(_, l)| Record::parse(l).unwrap().to_line() + "\n")
        .collect()
}

#[test]
fn hostile_tracker_reads_match_a_plain_parse() {
    let (env, lines) = hostile_tracker(7, 400);
    let export = expected_export(&lines);

    // export: the lines (made safe for a terminal, as all human output),
    // the array of their values, and the file.
    assert_eq!(
        env.bd(&["export"]).ok().stdout,
        strand::cli::render::terminal_safe(&export)
    );
    let values: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        env.bd(&["--json", "export"]).ok().stdout,
        serde_json::to_string_pretty(&values).unwrap() + "\n"
    );
    let out = env.root().join("out.jsonl");
    env.bd(&["export", "-o", out.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), export);

    // list and ready --json: the typed views (the report front ends get),
    // byte for byte.
    let ctx = session(&env);
    for (args, filter) in [
        (
            vec!["list", "--all", "-n", "0"],
            strand::ops::query::Filter {
                all: true,
                limit: Some(0),
                ..Default::default()
            },
        ),
        (
            vec!["list", "-n", "0"],
            strand::ops::query::Filter {
                limit: Some(0),
                ..Default::default()
            },
        ),
        (
            vec!["list", "-n", "7", "--sort", "priority"],
            strand::ops::query::Filter {
                limit: Some(7),
                sort: Some("priority".into()),
                ..Default::default()
            },
        ),
    ] {
        let l = strand::ops::query::list(&ctx, &filter).unwrap();
        let want = serde_json::to_string_pretty(&l.views().unwrap()).unwrap() + "\n";
        let mut a = vec!["--json"];
        a.extend(args.iter().copied());
        assert_eq!(env.bd(&a).ok().stdout, want, "{args:?}");
    }
    let ready = strand::ops::query::ready(
        &ctx,
        &strand::ops::query::Filter {
            limit: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
    let want = serde_json::to_string_pretty(&ready.views().unwrap()).unwrap() + "\n";
    assert_eq!(env.bd(&["--json", "ready", "-n", "0"]).ok().stdout, want);

    // search: exactly the issues the plain match names, never one more.
    let parsed: Vec<Value> = lines
        .iter()
        .map(|(_, l)| serde_json::from_str(l).unwrap())
        .collect();
    for q in QUERIES.iter().filter(|q| !q.trim().is_empty()) {
        let want: BTreeSet<String> = parsed
            .iter()
            .filter(|v| v["status"] != "tombstone" && oracle(v, q))
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect();
        let got = env
            .bd(&["--json", "search", q, "--all", "-n", "0"])
            .ok()
            .json();
        let ids: Vec<String> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), want.len(), "query {q:?}: {ids:?}");
        assert_eq!(
            ids.into_iter().collect::<BTreeSet<_>>(),
            want,
            "query {q:?}"
        );
        // The human list names the same issues, one line each (a label
        // may hold a line break, never a digit: lines starting with an id
        // are the issues').
        let text = env.bd(&["search", q, "--all", "-n", "0"]).ok().stdout;
        let named: BTreeSet<String> = text
            .lines()
            .filter(|l| {
                let b = l.as_bytes();
                b.len() > 8
                    && b.starts_with(b"bd-")
                    && b[3..7].iter().all(u8::is_ascii_digit)
                    && b[7] == b' '
            })
            .map(|l| l[..7].to_string())
            .collect();
        assert_eq!(named, want, "query {q:?}");
    }
}

/// A tracker not in canonical form (CRLF, unsorted, no final newline, a
/// line that does not parse, a blank line): export still gives every
/// record's line as `bd` writes it, in id order, and search finds them.
#[test]
fn a_tracker_not_in_canonical_form_exports_in_id_order() {
    let (env, mut lines) = hostile_tracker(11, 60);
    let mut rng = Rng::new(3);
    rng.shuffle(&mut lines);
    let mut text: String = lines.iter().map(|(_, l)| format!("{l}\r\n")).collect();
    text.insert_str(0, "\n{oops\n");
    text.truncate(text.len() - 2);
    std::fs::write(env.issues_path(), &text).unwrap();
    let r = env.bd(&["export"]).ok();
    assert_eq!(
        r.stdout,
        strand::cli::render::terminal_safe(&expected_export(&lines))
    );
    assert!(r.stderr.contains("do not parse"), "{}", r.stderr);
    let want = lines
        .iter()
        .filter(|(_, l)| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["status"] != "tombstone" && oracle(&v, "tracker")
        })
        .count();
    let got = env
        .bd(&["--json", "search", "tracker", "--all", "-n", "0"])
        .ok()
        .json();
    assert_eq!(got.as_array().unwrap().len(), want);
}

/// The JSON envelope wraps a streamed listing as it wraps a held one, and
/// an empty listing is `[]`.
#[test]
fn streamed_json_in_the_envelope_and_empty() {
    let env = TestEnvironment::new();
    assert_eq!(env.bd(&["--json", "list"]).ok().stdout, "[]\n");
    assert_eq!(env.bd(&["--json", "export"]).ok().stdout, "[]\n");
    assert_eq!(env.bd(&["export"]).ok().stdout, "");
    let id = env.create("one", &[]);
    let plain = env.bd(&["--json", "list"]).ok().stdout;
    let wrapped = env
        .bd_env(&["--json", "list"], &[("BD_JSON_ENVELOPE", "1")])
        .ok()
        .stdout;
    assert_eq!(
        wrapped,
        format!(
            "{{\"schema_version\": 1, \"data\": {}}}\n",
            plain.trim_end()
        )
    );
    assert!(plain.contains(&id));
}

//! Property tests for the model, at library level: issue and comment IDs and
//! ID resolution (`model::id`, SPEC §3 "IDs", "Comment IDs"), the JSONL record
//! round trip (`model::record`, SPEC §3: canonical key order, raw bytes of
//! untouched values kept, one edit changes one key), and bad-line reporting
//! of `store::jsonl::parse` (SPEC §8). Expectations are computed by reference
//! code written here from the spec, not by calling the module under test.

mod common;

use common::Rng;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use proptest::prelude::*;
use proptest::test_runner::Config as PtConfig;
use serde_json::Value;
use strand::model::id::{
    Resolved, base36, comment_id, id_length, is_valid, issue_hash, issue_id, resolve,
};
use strand::model::record::{KEY_ORDER, Record, STAMPS};
use strand::store::jsonl;

const B36: &str = "0123456789abcdefghijklmnopqrstuvwxyz";

fn is_b36(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| B36.as_bytes().contains(&b))
}

/// Proptest settings: no regression files written into the tree.
fn cfg(cases: u32) -> PtConfig {
    PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    }
}

// ───────────────────────────── IDs ─────────────────────────────

/// Base36 of a u128, the obvious way.
fn ref_base36(mut x: u128) -> String {
    if x == 0 {
        return "0".into();
    }
    let mut d = Vec::new();
    while x > 0 {
        d.push(B36.as_bytes()[(x % 36) as usize]);
        x /= 36;
    }
    d.reverse();
    String::from_utf8(d).unwrap()
}

proptest! {
    #![proptest_config(cfg(512))]

    /// Hashes are 24 base36 digits; IDs cut from them are valid, have the
    /// asked length, and are the hash's tail; the nonce changes the hash.
    #[test]
    fn issue_ids_are_well_formed(
        title in ".{0,40}",
        desc in ".{0,40}",
        actor in "[a-zA-Z0-9/_-]{0,20}",
        time_ns in any::<i64>(),
        nonce in any::<u32>(),
        prefix in "[a-z][a-z0-9_]{0,7}",
    ) {
        let h = issue_hash(&title, &desc, &actor, time_ns, nonce);
        prop_assert_eq!(h.len(), 24, "hash {}", h);
        prop_assert!(is_b36(&h), "hash {} is not base36", h);
        prop_assert_eq!(&h, &issue_hash(&title, &desc, &actor, time_ns, nonce));
        prop_assert_ne!(&h, &issue_hash(&title, &desc, &actor, time_ns, nonce.wrapping_add(1)));
        prop_assert_ne!(&h, &issue_hash(&title, &desc, &actor, time_ns.wrapping_add(1), nonce));
        for len in 3..=8 {
            let id = issue_id(&prefix, &h, len);
            prop_assert!(is_valid(&id), "{} is not valid", id);
            let (p, hash) = id.split_once('-').unwrap();
            prop_assert_eq!(p, prefix.as_str());
            prop_assert_eq!(hash.len(), len);
            prop_assert!(h.ends_with(hash));
            let child = format!("{id}.1.22");
            prop_assert!(is_valid(&child), "{} is not valid", child);
        }
    }

    /// Field boundaries matter: moving bytes from one field to the next gives
    /// another hash (the inputs are not simply concatenated).
    #[test]
    fn hash_fields_are_delimited(a in "[a-z]{1,8}", b in "[a-z]{1,8}", t in any::<i64>()) {
        let joined = format!("{a}{b}");
        prop_assert_ne!(
            issue_hash(&a, &b, "x", t, 0),
            issue_hash(&joined, "", "x", t, 0)
        );
        prop_assert_ne!(
            comment_id("bd-1", &a, "2026-01-01T00:00:00Z", &b),
            comment_id("bd-1", &joined, "2026-01-01T00:00:00Z", "")
        );
    }

    #[test]
    fn base36_is_the_number_in_base36(x in any::<u128>(), lead in 0usize..4) {
        let mut bytes = vec![0u8; lead];
        bytes.extend_from_slice(&x.to_be_bytes());
        prop_assert_eq!(base36(&bytes), ref_base36(x));
        let small = (x as u64).to_be_bytes();
        prop_assert_eq!(base36(&small), ref_base36(u128::from(x as u64)));
    }

    /// Comment IDs fit in 52 bits (below 2^53), so every JSON reader keeps
    /// them exact; they are deterministic.
    #[test]
    fn comment_ids_are_exact_in_json(
        issue in "[a-z]{2}-[a-z0-9]{3,8}",
        author in ".{0,20}",
        time in ".{0,30}",
        text in ".{0,200}",
    ) {
        let c = comment_id(&issue, &author, &time, &text);
        prop_assert!(c < (1u64 << 53), "{} >= 2^53", c);
        prop_assert!(c < (1u64 << 52), "{} >= 2^52 (not the first 52 bits)", c);
        prop_assert_eq!((c as f64) as u64, c);
        let through_json: f64 = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        prop_assert_eq!(through_json as u64, c);
        prop_assert_eq!(c, comment_id(&issue, &author, &time, &text));
    }

    /// The length never shrinks as the tracker grows, and stays in 3..=8.
    #[test]
    fn id_length_is_monotone(a in 0usize..50_000_000, b in 0usize..50_000_000) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(id_length(lo) <= id_length(hi), "id_length({})={} > id_length({})={}", lo, id_length(lo), hi, id_length(hi));
        prop_assert!((3..=8).contains(&id_length(a)));
    }
}

/// The exact birthday probability that `n` uniform draws from `space` collide.
fn birthday(n: usize, space: f64) -> f64 {
    let mut log_none = 0.0f64;
    for k in 0..n {
        log_none += (1.0 - k as f64 / space).ln();
    }
    1.0 - log_none.exp()
}

/// SPEC §3: 3 chars to ~160 issues, 4 to ~980, 5 to ~5,900, 6 to ~35,000, up
/// to 8; each step by one, never back, and the chance of any collision at the
/// largest count of each length stays under 25%.
#[test]
fn id_length_grows_with_the_birthday_bound() {
    assert_eq!(id_length(0), 3);
    assert_eq!(id_length(1), 3);
    // Last count at each length, scanning every count.
    let mut last: BTreeMap<usize, usize> = BTreeMap::new();
    let mut prev = id_length(0);
    for n in 0..=400_000usize {
        let l = id_length(n);
        assert!(
            l == prev || l == prev + 1,
            "id_length jumps from {prev} to {l} at {n}"
        );
        prev = l;
        last.insert(l, n);
    }
    let expect = [
        (3, 150..=175),
        (4, 950..=1_010),
        (5, 5_800..=6_000),
        (6, 34_500..=36_000),
    ];
    for (len, range) in expect {
        let n = last[&len];
        assert!(
            range.contains(&n),
            "length {len} lasts up to {n} issues, expected within {range:?}"
        );
    }
    for len in 3..=7usize {
        let n = last[&len];
        let space = 36f64.powi(len as i32);
        let p = birthday(n, space);
        assert!(
            p < 0.25,
            "{n} issues with {len}-char ids collide with chance {p:.4}"
        );
        // And the length grew no earlier than needed: one more issue would
        // reach 25% (within the approximation's slack).
        let p_next = birthday(n + 1, space);
        assert!(
            p_next > 0.24,
            "length {len} given up at {n} issues with collision chance only {p_next:.4}"
        );
    }
    assert_eq!(id_length(400_000), 8);
    assert_eq!(id_length(10_000_000), 8);
    assert_eq!(id_length(1usize << 40), 8);
    assert_eq!(id_length(usize::MAX), 8, "the maximum length is 8");
}

/// 100,000 hashes from distinct (title, time) inputs: no collision of the full
/// 24-char hash; at most one among the 8-char IDs (expected ~0.002); every
/// position of the 8-char ID roughly uniform.
#[test]
fn no_collisions_among_100k_ids() {
    const N: usize = 100_000;
    let base: i64 = 1_767_225_600_000_000_000; // 2026-01-01
    let mut full: HashSet<String> = HashSet::with_capacity(N);
    let mut short: HashMap<String, usize> = HashMap::with_capacity(N);
    let mut counts = [[0usize; 36]; 8];
    let mut short_collisions = 0;
    for i in 0..N {
        let title = format!("issue number {i}");
        let t = base + (i as i64) * 1_000_003;
        let h = issue_hash(&title, "", "agent", t, 0);
        let id = issue_id("bd", &h, 8);
        let tail = &id[3..];
        for (pos, b) in tail.bytes().enumerate() {
            counts[pos][B36.find(b as char).unwrap()] += 1;
        }
        if let Some(j) = short.insert(tail.to_string(), i) {
            short_collisions += 1;
            eprintln!("8-char collision: {id} for inputs {j} and {i}");
        }
        assert!(full.insert(h.clone()), "full 24-char hash collision: {h}");
    }
    eprintln!("{N} ids: 0 full-hash collisions, {short_collisions} 8-char collisions");
    assert!(
        short_collisions <= 1,
        "{short_collisions} collisions among {N} 8-char ids"
    );
    // Chi-square with 35 degrees of freedom: mean 35, sd ~8.4.
    let expected = N as f64 / 36.0;
    for (pos, c) in counts.iter().enumerate() {
        let chi: f64 = c
            .iter()
            .map(|&k| (k as f64 - expected).powi(2) / expected)
            .sum();
        assert!(
            chi < 100.0,
            "position {pos} of 8-char ids is not uniform (chi-square {chi:.1}): {c:?}"
        );
    }
}

#[test]
fn comment_ids_use_the_whole_52_bits() {
    let mut max = 0u64;
    let mut seen = HashSet::new();
    for i in 0..20_000 {
        let c = comment_id("bd-abc", "me", "2026-01-01T00:00:00Z", &format!("c{i}"));
        assert!(c < (1 << 52));
        max = max.max(c);
        assert!(seen.insert(c), "comment id collision at {i}");
    }
    assert!(
        max >= 1 << 51,
        "20,000 comment ids all below 2^51: not 52 bits"
    );
}

#[test]
fn resolve_examples() {
    let ids = ["bd-abc", "bd-abc.1", "bd-abcd", "bd-x1", "bd-x2", "ot-abq"];
    // Exact wins over prefix, with or without the prefix.
    assert_eq!(resolve("bd-abc", "bd", &ids), Resolved::One("bd-abc"));
    assert_eq!(resolve("abc", "bd", &ids), Resolved::One("bd-abc"));
    assert_eq!(resolve(" abc ", "bd", &ids), Resolved::One("bd-abc"));
    assert_eq!(resolve("abc.1", "bd", &ids), Resolved::One("bd-abc.1"));
    assert_eq!(resolve("ot-abq", "bd", &ids), Resolved::One("ot-abq"));
    // Prefixes.
    assert_eq!(resolve("abcd", "bd", &ids), Resolved::One("bd-abcd"));
    assert_eq!(
        resolve("x", "bd", &ids),
        Resolved::Many(vec!["bd-x1", "bd-x2"])
    );
    assert_eq!(
        resolve("bd-ab", "bd", &ids),
        Resolved::Many(vec!["bd-abc", "bd-abc.1", "bd-abcd"])
    );
    assert_eq!(resolve("zz", "bd", &ids), Resolved::None);
    assert_eq!(resolve("bd-zz", "bd", &ids), Resolved::None);
}

/// A query that is a prefix of the prefix itself (`b`, `bd` with prefix
/// `bd`) is a hash prefix with `bd-` left out, not a prefix of every ID.
#[test]
fn resolve_query_that_spells_the_prefix_is_a_hash_prefix() {
    let ids = ["bd-x99"];
    assert_eq!(
        resolve("b", "bd", &ids),
        Resolved::None,
        "`b` names no issue here (no hash starts with b), yet it resolves to bd-x99"
    );
    let ids = ["bd-b12", "bd-bd7", "bd-x99"];
    assert_eq!(resolve("b1", "bd", &ids), Resolved::One("bd-b12"));
    assert_eq!(
        resolve("b", "bd", &ids),
        Resolved::Many(vec!["bd-b12", "bd-bd7"])
    );
    assert_eq!(resolve("bd", "bd", &ids), Resolved::One("bd-bd7"));
}

/// The expected resolution of a query by the spec: an exact ID (with or
/// without `bd-`) wins; else the IDs whose hash part (after `bd-`) starts with
/// the query (or, if it starts with `bd-`, the IDs starting with it).
fn ref_resolve(q: &str, ids: &BTreeSet<String>) -> Result<String, Vec<String>> {
    let full = if q.starts_with("bd-") {
        q.to_string()
    } else {
        format!("bd-{q}")
    };
    if ids.contains(q) {
        return Ok(q.to_string());
    }
    if ids.contains(&full) {
        return Ok(full);
    }
    let hits: Vec<String> = ids
        .iter()
        .filter(|id| id.starts_with(&full))
        .cloned()
        .collect();
    if hits.len() == 1 {
        Ok(hits[0].clone())
    } else {
        Err(hits)
    }
}

fn ids_strategy() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::vec(("[0-9a-z]{1,4}", 0u32..3), 1..40).prop_map(|v| {
        let mut ids = BTreeSet::new();
        for (h, kids) in v {
            let id = format!("bd-{h}");
            for k in 1..=kids {
                ids.insert(format!("{id}.{k}"));
            }
            ids.insert(id);
        }
        ids
    })
}

proptest! {
    #![proptest_config(cfg(512))]

    /// Every ID resolves to itself, with or without `bd-`; prefixes resolve to
    /// the one matching ID or list every candidate, sorted.
    #[test]
    fn resolve_matches_the_reference(
        ids in ids_strategy(),
        pick in any::<prop::sample::Index>(),
        cut in 1usize..6,
        random_q in "[0-9a-z]{1,3}",
        with_prefix in any::<bool>(),
    ) {
        let sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
        for id in &sorted {
            prop_assert_eq!(resolve(id, "bd", &sorted), Resolved::One(id));
            let bare = id.strip_prefix("bd-").unwrap();
            prop_assert_eq!(resolve(bare, "bd", &sorted), Resolved::One(id));
        }
        let id = pick.get(&sorted);
        let bare = id.strip_prefix("bd-").unwrap();
        let q_cut = &bare[..cut.min(bare.len())];
        for q in [q_cut.to_string(), random_q] {
            let q = if with_prefix { format!("bd-{q}") } else { q };
            let got = resolve(&q, "bd", &sorted);
            match ref_resolve(&q, &ids) {
                Ok(one) => prop_assert_eq!(got, Resolved::One(one.as_str()), "query {}", q),
                Err(many) if many.is_empty() => prop_assert_eq!(got, Resolved::None, "query {}", q),
                Err(many) => {
                    let many: Vec<&str> = many.iter().map(String::as_str).collect();
                    prop_assert_eq!(got, Resolved::Many(many), "query {}", q)
                }
            }
        }
    }
}

// ───────────────────────── JSONL records ─────────────────────────

/// Raw JSON text of a string, each character written literally or escaped in
/// one of the ways JSON allows.
fn json_string_raw() -> impl Strategy<Value = String> {
    let chars = vec![
        'a', 'Z', '0', ' ', '<', '>', '&', '\'', '"', '\\', '/', '\n', '\t', '\u{1}', '\u{7f}',
        'é', '€', '\u{2028}', '😀',
    ];
    prop::collection::vec((prop::sample::select(chars), 0u8..3), 0..12).prop_map(|cs| {
        let mut s = String::from("\"");
        for (c, style) in cs {
            let must_escape = c == '"' || c == '\\' || (c as u32) < 0x20;
            let short = match c {
                '"' => Some("\\\""),
                '\\' => Some("\\\\"),
                '/' => Some("\\/"),
                '\n' => Some("\\n"),
                '\t' => Some("\\t"),
                _ => None,
            };
            match (style, short) {
                (0, _) if !must_escape => s.push(c),
                (1, Some(e)) => s.push_str(e),
                _ => {
                    let mut buf = [0u16; 2];
                    for u in c.encode_utf16(&mut buf) {
                        s.push_str(&format!("\\u{:04x}", u));
                    }
                }
            }
        }
        s.push('"');
        s
    })
}

fn number_raw() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "-1",
            "1.50",
            "1.0",
            "1e3",
            "2.5E-3",
            "-0.0",
            "0.1",
            "12345678901234567890",
            "-9223372036854775808",
            "1.0000000000000002",
            "100000000000000000000000",
            "3.14159265358979323846",
        ])
        .prop_map(String::from),
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn ws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", " ", "\t", "  "])
}

/// Raw JSON text of any value, with whitespace inside containers.
fn raw_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => json_string_raw(),
        2 => number_raw(),
        1 => prop::sample::select(vec!["true", "false", "null"]).prop_map(String::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..4), ws())
                .prop_map(|(items, w)| format!("[{w}{}{w}]", items.join(&format!("{w},{w}")))),
            (
                prop::collection::btree_map("[a-z]{1,3}|é|<", inner, 0..4),
                ws()
            )
                .prop_map(|(m, w)| {
                    let body: Vec<String> = m
                        .iter()
                        .map(|(k, v)| format!("{}{w}:{w}{v}", serde_json::to_string(k).unwrap()))
                        .collect();
                    format!("{{{w}{}{w}}}", body.join(&format!("{w},{w}")))
                }),
        ]
    })
}

/// An id: its text and the raw JSON of it (sometimes with an escape).
fn id_raw() -> impl Strategy<Value = (String, String)> {
    ("[0-9a-z]{3,8}", prop::option::of(1u32..20), any::<bool>()).prop_map(|(h, child, esc)| {
        let id = match child {
            Some(n) => format!("bd-{h}.{n}"),
            None => format!("bd-{h}"),
        };
        let raw = if esc {
            // Escape the first hash character.
            let c = h.chars().next().unwrap();
            format!("\"bd-\\u{:04x}{}\"", c as u32, &id[4..])
        } else {
            format!("\"{id}\"")
        };
        (id, raw)
    })
}

fn unknown_key() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}|é[a-z]{0,2}|Z[a-z]{0,2}|_[a-z]{0,3}"
        .prop_filter("not a known key", |k| {
            k != STAMPS && !KEY_ORDER.contains(&k.as_str())
        })
}

fn stamps_raw() -> impl Strategy<Value = String> {
    (1i64..9, "[a-z]{1,6}").prop_map(|(e, who)| {
        format!(
            r#"{{"title":"2026-01-02T03:04:05.123456789Z {who}","claim_epoch":{e},"status":"2026-01-02T03:04:05Z {who}"}}"#
        )
    })
}

/// A generated line and what went into it.
#[derive(Debug, Clone)]
struct GenRecord {
    id: String,
    /// (key, raw value) in the line's order; includes id and `_stamps`.
    pairs: Vec<(String, String)>,
    line: String,
}

fn record_strategy() -> impl Strategy<Value = GenRecord> {
    let known: Vec<&'static str> = KEY_ORDER[1..].to_vec();
    let n_known = known.len();
    (
        id_raw(),
        prop::sample::subsequence(known, 0..=n_known),
        prop::collection::btree_set(unknown_key(), 0..5),
        prop::option::of(stamps_raw()),
        ws(),
        any::<u64>(),
    )
        .prop_flat_map(|(id, known, unknown, stamps, w, seed)| {
            let keys: Vec<String> = known.into_iter().map(String::from).chain(unknown).collect();
            let n = keys.len();
            (
                Just(id),
                Just(keys),
                prop::collection::vec(raw_value(), n),
                Just(stamps),
                Just(w),
                Just(seed),
            )
        })
        .prop_map(|((id, id_raw), keys, values, stamps, w, seed)| {
            let mut pairs: Vec<(String, String)> = vec![("id".into(), id_raw)];
            pairs.extend(keys.into_iter().zip(values));
            if let Some(s) = stamps {
                pairs.push((STAMPS.into(), s));
            }
            Rng::new(seed).shuffle(&mut pairs);
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}{w}:{w}{v}", serde_json::to_string(k).unwrap()))
                .collect();
            let line = format!("{w}{{{w}{}{w}}}{w}", body.join(&format!("{w},{w}")));
            GenRecord { id, pairs, line }
        })
}

fn value_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Keys of a JSON object text in document order.
fn key_order(text: &str) -> Vec<String> {
    match value_of(text) {
        Value::Object(m) => m.keys().cloned().collect(),
        other => panic!("not an object: {other}"),
    }
}

/// The canonical order (SPEC §3) of a set of keys.
fn canonical_order(keys: &[String]) -> Vec<String> {
    let mut out: Vec<String> = KEY_ORDER
        .iter()
        .filter(|k| keys.iter().any(|x| x == *k))
        .map(|k| k.to_string())
        .collect();
    let mut unknown: Vec<String> = keys
        .iter()
        .filter(|k| k.as_str() != STAMPS && !KEY_ORDER.contains(&k.as_str()))
        .cloned()
        .collect();
    unknown.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    out.extend(unknown);
    if keys.iter().any(|k| k == STAMPS) {
        out.push(STAMPS.into());
    }
    out
}

/// `"key":raw` as the canonical line must hold it.
fn member(k: &str, raw: &str) -> String {
    format!("{}:{raw}", serde_json::to_string(k).unwrap())
}

fn check_canonical(out: &str, original: &GenRecord) -> Result<(), TestCaseError> {
    let keys = key_order(out);
    prop_assert_eq!(&keys, &canonical_order(&keys), "key order of {}", out);
    prop_assert_eq!(keys.first().map(String::as_str), Some("id"));
    prop_assert!(
        !out.contains('\n') && out.starts_with('{') && out.ends_with('}'),
        "not one compact line: {:?} (from {:?})",
        out,
        original.line
    );
    Ok(())
}

proptest! {
    #![proptest_config(cfg(256))]

    /// parse → to_line keeps the meaning, puts keys in canonical order, keeps
    /// every value's bytes, and is idempotent.
    #[test]
    fn record_round_trip(g in record_strategy()) {
        let rec = Record::parse(&g.line).map_err(|e| TestCaseError::fail(format!("{e}: {}", g.line)))?;
        prop_assert_eq!(rec.id(), g.id.as_str());
        let out = rec.to_line();
        prop_assert_eq!(value_of(&out), value_of(&g.line), "meaning changed:\n in: {}\nout: {}", g.line, out);
        check_canonical(&out, &g)?;
        for (k, raw) in &g.pairs {
            prop_assert!(out.contains(&member(k, raw)), "value of {} lost its bytes {}:\n{}", k, raw, out);
        }
        let again = Record::parse(&out).map_err(TestCaseError::fail)?;
        prop_assert_eq!(again.to_line(), out.clone(), "to_line is not idempotent");
        prop_assert!(again == rec);
        // to_value: the same object without `_stamps`.
        let mut want = value_of(&g.line);
        want.as_object_mut().unwrap().remove(STAMPS);
        prop_assert_eq!(rec.to_value(), want);
    }

    /// Setting or removing one key changes exactly that key: every other value
    /// keeps its bytes, the order stays canonical.
    #[test]
    fn one_edit_changes_one_key(
        g in record_strategy(),
        new_raw in raw_value(),
        pick in any::<prop::sample::Index>(),
        fresh in prop::sample::select(vec!["title", "labels", "zz_new", "_stamps", "A", "metadata"]),
        use_fresh in any::<bool>(),
    ) {
        let rec = Record::parse(&g.line).map_err(TestCaseError::fail)?;
        let editable: Vec<&(String, String)> = g.pairs.iter().filter(|(k, _)| k != "id").collect();
        let key: String = if use_fresh || editable.is_empty() {
            fresh.to_string()
        } else {
            pick.get(&editable).0.clone()
        };
        let new_value = value_of(&new_raw);
        let original = value_of(&g.line);
        let others = |out: &str| -> Result<(), TestCaseError> {
            for (k, raw) in &g.pairs {
                if *k != key {
                    prop_assert!(out.contains(&member(k, raw)), "editing {} changed {}:\n{}", key, k, out);
                }
            }
            Ok(())
        };

        let mut set = rec.clone();
        set.set(&key, &new_value);
        let out = set.to_line();
        let mut want = original.clone();
        want.as_object_mut().unwrap().insert(key.clone(), new_value.clone());
        prop_assert_eq!(value_of(&out), want, "set {}:\n{}", key, out);
        prop_assert!(out.contains(&member(&key, &serde_json::to_string(&new_value).unwrap())));
        check_canonical(&out, &g)?;
        others(&out)?;
        prop_assert_eq!(set.id(), g.id.as_str());

        let mut removed = rec.clone();
        let existed = g.pairs.iter().any(|(k, _)| *k == key);
        prop_assert_eq!(removed.remove(&key), existed);
        let out = removed.to_line();
        let mut want = original.clone();
        want.as_object_mut().unwrap().remove(&key);
        prop_assert_eq!(value_of(&out), want, "remove {}:\n{}", key, out);
        check_canonical(&out, &g)?;
        others(&out)?;
        if !existed {
            prop_assert_eq!(out, rec.to_line(), "removing an absent key changed the line");
        }
    }
}

// ───────────────────────── JSONL files ─────────────────────────

/// A line of a generated file.
#[derive(Debug, Clone)]
enum Line {
    Good(String),
    Bad(Vec<u8>),
    Blank(&'static str),
}

/// A small valid record line (the full generator above is for round trips).
fn good_line() -> impl Strategy<Value = String> {
    (
        id_raw(),
        prop::option::of(json_string_raw()),
        prop::option::of(number_raw()),
        ws(),
    )
        .prop_map(|((_, id), title, n, w)| {
            let mut line = format!("{w}{{{w}\"id\"{w}:{w}{id}");
            if let Some(t) = title {
                line.push_str(&format!(",\"title\":{t}"));
            }
            if let Some(n) = n {
                line.push_str(&format!(",{w}\"x-num\"{w}:{n}"));
            }
            line.push_str(&format!("{w}}}{w}"));
            line
        })
}

fn line_strategy() -> impl Strategy<Value = Line> {
    let bad: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"[]".to_vec(),
        b"{}".to_vec(),
        b"null".to_vec(),
        b"42".to_vec(),
        b"\"bd-abc\"".to_vec(),
        b"garbage".to_vec(),
        br#"{"title":"no id"}"#.to_vec(),
        br#"{"id":3}"#.to_vec(),
        br#"{"id":null}"#.to_vec(),
        br#"{"id":""}"#.to_vec(),
        br#"{"id":"  "}"#.to_vec(),
        br#"{"id":"bd-a",}"#.to_vec(),
        br#"{"id":"bd-a"} trailing"#.to_vec(),
        br#"{"id":"bd-a"}{"id":"bd-b"}"#.to_vec(),
        br#"{"id":"bd-a","title":"unterminated}"#.to_vec(),
        b"{\"id\":\"bd-a\",\"title\":\"tab\tinside\"}".to_vec(),
        b"{\"id\":\"bd-\xff\"}".to_vec(),
        b"<<<<<<< HEAD".to_vec(),
        b"{\"id\":\"bd-a\"}\r{\"id\":\"bd-b\"}".to_vec(),
    ];
    prop_oneof![
        4 => good_line().prop_map(Line::Good),
        3 => prop::sample::select(bad).prop_map(Line::Bad),
        1 => prop::sample::select(vec!["", " ", "\t", "  \t "]).prop_map(Line::Blank),
    ]
}

proptest! {
    #![proptest_config(cfg(256))]

    /// `jsonl::parse` reports exactly the bad lines, by 1-based line number
    /// (blank lines count but are neither good nor bad), and the good ones
    /// with their spans; CRLF and a missing final newline are noticed.
    #[test]
    fn jsonl_parse_reports_exactly_the_bad_lines(
        lines in prop::collection::vec((line_strategy(), any::<bool>()), 0..40),
        final_newline in any::<bool>(),
    ) {
        let mut bytes = Vec::new();
        let mut want_bad = Vec::new();
        let mut want_good = Vec::new();
        let mut any_crlf_nonblank = false;
        let mut any_crlf = false;
        let n = lines.len();
        for (i, (line, crlf)) in lines.iter().enumerate() {
            let text: &[u8] = match line {
                Line::Good(s) => { want_good.push((i + 1, s.clone())); s.as_bytes() }
                Line::Bad(b) => { want_bad.push(i + 1); b }
                Line::Blank(s) => s.as_bytes(),
            };
            bytes.extend_from_slice(text);
            if i + 1 < n || final_newline {
                if *crlf {
                    bytes.push(b'\r');
                    any_crlf = true;
                    any_crlf_nonblank |= !matches!(line, Line::Blank(_));
                }
                bytes.push(b'\n');
            }
        }
        let p = jsonl::parse(&bytes);
        let got_bad: Vec<usize> = p.bad.iter().map(|b| b.line).collect();
        prop_assert_eq!(&got_bad, &want_bad, "bad lines of {:?}", String::from_utf8_lossy(&bytes));
        let got_good: Vec<usize> = p.good.iter().map(|g| g.line).collect();
        let want_good_lines: Vec<usize> = want_good.iter().map(|g| g.0).collect();
        prop_assert_eq!(&got_good, &want_good_lines);
        for (g, (_, text)) in p.good.iter().zip(&want_good) {
            prop_assert_eq!(&bytes[g.span.clone()], text.as_bytes());
            prop_assert_eq!(g.record.to_line(), Record::parse(text).unwrap().to_line());
        }
        for b in &p.bad {
            prop_assert!(!b.reason.is_empty());
        }
        if any_crlf_nonblank {
            prop_assert!(p.crlf, "CRLF not noticed");
        }
        if !any_crlf {
            prop_assert!(!p.crlf, "CRLF reported where there is none");
        }
        prop_assert_eq!(p.no_final_newline, !bytes.is_empty() && !bytes.ends_with(b"\n"));
    }
}

/// A file large enough to be parsed on several threads: line numbers stay exact.
#[test]
fn jsonl_parse_large_file_reports_exact_lines() {
    const N: usize = 30_000;
    let mut rng = Rng::new(42);
    let mut bytes = Vec::new();
    let mut want_bad = Vec::new();
    let mut good = 0;
    for i in 1..=N {
        match rng.next() % 100 {
            0 => {
                bytes.extend_from_slice(b"{\"id\":\"bd-broken\"");
                want_bad.push(i);
            }
            1 => {} // blank
            _ => {
                bytes.extend_from_slice(
                    format!("{{\"id\":\"bd-{i:06}\",\"title\":\"t{i}\"}}").as_bytes(),
                );
                good += 1;
            }
        }
        bytes.push(b'\n');
    }
    let p = jsonl::parse(&bytes);
    let got: Vec<usize> = p.bad.iter().map(|b| b.line).collect();
    assert_eq!(got, want_bad);
    assert_eq!(p.good.len(), good);
    assert!(p.good.windows(2).all(|w| w[0].line < w[1].line));
    for g in &p.good {
        assert_eq!(g.record.id(), format!("bd-{:06}", g.line));
    }
    assert!(!p.unsorted && p.duplicate_ids.is_empty() && !p.crlf && !p.no_final_newline);
}

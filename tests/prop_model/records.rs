//! The JSONL record round trip (`model::record`, SPEC §3: canonical key
//! order, raw bytes of untouched values kept, one edit changes one key).

use super::*;

/// Raw JSON text of a string, each character written literally or escaped in
/// one of the ways JSON allows.
pub(super) fn json_string_raw() -> impl Strategy<Value = String> {
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

pub(super) fn number_raw() -> impl Strategy<Value = String> {
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

pub(super) fn ws() -> impl Strategy<Value = &'static str> {
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
pub(super) fn id_raw() -> impl Strategy<Value = (String, String)> {
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

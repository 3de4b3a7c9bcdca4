//! Issue and comment IDs, and ID resolution (`model::id`, SPEC §3 "IDs",
//! "Comment IDs").

use super::*;

const B36: &str = "0123456789abcdefghijklmnopqrstuvwxyz";

fn is_b36(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| B36.as_bytes().contains(&b))
}

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

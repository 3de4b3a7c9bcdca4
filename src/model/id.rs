//! Identifiers: hash-derived issue IDs whose length grows with the tracker,
//! child IDs, comment IDs, and resolving what a user typed to one ID.

use sha2::{Digest, Sha256};

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Base36 digits of a byte string read as a big-endian number, most significant first.
pub fn base36(bytes: &[u8]) -> String {
    let mut digits = Vec::new();
    let mut num: Vec<u8> = bytes.to_vec();
    while num.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in num.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 36) as u8;
            rem = cur % 36;
        }
        digits.push(BASE36[rem as usize]);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).expect("base36 digits are ASCII")
}

/// The hash part of an issue ID, before it is cut to length.
pub fn issue_hash(title: &str, description: &str, actor: &str, time_ns: i64, nonce: u32) -> String {
    let mut h = Sha256::new();
    for part in [title.as_bytes(), description.as_bytes(), actor.as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(time_ns.to_be_bytes());
    h.update(nonce.to_be_bytes());
    // 16 bytes give 24 base36 digits, more than the longest ID needs; pad so the
    // leading digits are uniformly spread.
    let digest = h.finalize();
    let s = base36(&digest[..16]);
    format!("{s:0>25}")[1..].to_string()
}

/// An issue ID: `<prefix>-<hash cut to len>`.
pub fn issue_id(prefix: &str, hash: &str, len: usize) -> String {
    format!("{prefix}-{}", &hash[hash.len() - len..])
}

/// The ID length for a tracker that will hold `count` top-level issues: the
/// smallest length from 3 to 8 whose birthday-collision chance stays under 25%.
pub fn id_length(count: usize) -> usize {
    let n = count as f64;
    for len in 3..8 {
        let space = 36f64.powi(len as i32);
        // P(any collision) ≈ 1 - exp(-n(n-1)/(2·space))
        let p = 1.0 - (-(n * (n - 1.0)) / (2.0 * space)).exp();
        if p < 0.25 {
            return len;
        }
    }
    8
}

/// The ID of the `n`th child of `parent`.
pub fn child_id(parent: &str, n: u32) -> String {
    format!("{parent}.{n}")
}

/// If `id` is a child ID (`X.n`), its parent part and number.
pub fn split_child(id: &str) -> Option<(&str, u32)> {
    let (p, n) = id.rsplit_once('.')?;
    let n: u32 = n.parse().ok()?;
    if p.is_empty() || n == 0 {
        return None;
    }
    Some((p, n))
}

/// A well-formed issue ID: `<prefix>-<alnum>` then any number of `.n` parts.
pub fn is_valid(id: &str) -> bool {
    let Some((prefix, rest)) = id.split_once('-') else {
        return false;
    };
    let prefix_ok = !prefix.is_empty()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let mut parts = rest.split('.');
    let head = parts.next().unwrap_or("");
    let head_ok = !head.is_empty()
        && head
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    prefix_ok && head_ok && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A comment ID: the first 52 bits of SHA-256(issue, author, time, text), so it
/// is exact in every JSON reader (below 2^53).
pub fn comment_id(issue: &str, author: &str, time: &str, text: &str) -> u64 {
    let mut h = Sha256::new();
    for part in [issue, author, time, text] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first) >> 12
}

/// What a user's ID matched.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved<'a> {
    One(&'a str),
    None,
    Many(Vec<&'a str>),
}

/// Resolve what a user typed: an exact ID wins; the `<prefix>-` may be left out;
/// otherwise a unique ID starting with it (after the prefix).
pub fn resolve<'a>(query: &str, prefix: &str, ids: &'a [&'a str]) -> Resolved<'a> {
    let q = query.trim();
    let with_prefix = format!("{prefix}-{q}");
    for cand in [q, with_prefix.as_str()] {
        if let Ok(i) = ids.binary_search(&cand) {
            return Resolved::One(ids[i]);
        }
    }
    let mut hits: Vec<&str> = Vec::new();
    // A query without '-' is a hash prefix only: "b" must not match every "bd-…".
    let literal = if q.contains('-') { Some(q) } else { None };
    for cand in literal.into_iter().chain([with_prefix.as_str()]) {
        let start = ids.partition_point(|id| *id < cand);
        for id in &ids[start..] {
            if !id.starts_with(cand) {
                break;
            }
            if !hits.contains(id) {
                hits.push(id);
            }
        }
        if !hits.is_empty() {
            break;
        }
    }
    // An ID with a different prefix may still match by its hash part.
    if hits.is_empty() && !q.contains('-') {
        for id in ids {
            if let Some((_, rest)) = id.split_once('-')
                && rest.starts_with(q)
            {
                hits.push(id);
            }
        }
    }
    match hits.len() {
        0 => Resolved::None,
        1 => Resolved::One(hits[0]),
        _ => {
            hits.sort_unstable();
            Resolved::Many(hits)
        }
    }
}

/// The id `query` names exactly, as [`resolve`] would take it without
/// guessing: the full id, `<prefix>-<query>`, or the part after the prefix
/// of some id (`9l4` for `r-9l4`). A mere prefix of an id names nothing here.
/// `prefixes` are the distinct prefixes of the ids (before the first `-`),
/// `exists` says whether an id is one: each candidate is a lookup.
pub fn named_exactly(
    query: &str,
    prefix: &str,
    prefixes: &[String],
    exists: impl Fn(&str) -> bool,
) -> Option<String> {
    let q = query.trim();
    std::iter::once(q.to_string())
        .chain(std::iter::once(format!("{prefix}-{q}")))
        .chain(prefixes.iter().map(|p| format!("{p}-{q}")))
        .find(|c| exists(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_exactly_takes_full_ids_and_hash_parts_not_prefixes() {
        let ids = ["bd-abc", "bd-abd.1", "r-9l4"];
        let prefixes = vec!["bd".to_string(), "r".to_string()];
        let named = |q: &str| named_exactly(q, "bd", &prefixes, |c| ids.contains(&c));
        assert_eq!(named("bd-abc").as_deref(), Some("bd-abc"));
        assert_eq!(named("abc").as_deref(), Some("bd-abc"));
        assert_eq!(named("9l4").as_deref(), Some("r-9l4"));
        assert_eq!(named("abd.1").as_deref(), Some("bd-abd.1"));
        assert_eq!(named("ab"), None);
        assert_eq!(named("abd"), None);
        assert_eq!(named("urgent"), None);
    }

    #[test]
    fn lengths_follow_the_birthday_bound() {
        assert_eq!(id_length(1), 3);
        assert_eq!(id_length(160), 3);
        assert_eq!(id_length(170), 4);
        assert_eq!(id_length(980), 4);
        assert_eq!(id_length(1000), 5);
        assert_eq!(id_length(5_850), 5);
        assert_eq!(id_length(6_000), 6);
        assert_eq!(id_length(35_000), 6);
        assert_eq!(id_length(36_000), 7);
        assert_eq!(id_length(10_000_000), 8);
    }

    #[test]
    fn ids_are_well_formed() {
        let h = issue_hash("t", "d", "me", 5, 0);
        assert_eq!(h.len(), 24);
        let id = issue_id("bd", &h, 4);
        assert!(is_valid(&id), "{id}");
        assert!(is_valid("bd-abc.1.2"));
        assert!(!is_valid("bd-"));
        assert!(!is_valid("abc"));
        assert!(!is_valid("bd-abc."));
        assert!(!is_valid("bd-a b"));
        assert_ne!(
            issue_hash("t", "d", "me", 5, 0),
            issue_hash("t", "d", "me", 5, 1)
        );
    }

    #[test]
    fn comment_ids_fit_in_53_bits() {
        let c = comment_id("bd-1", "me", "2026-01-01T00:00:00Z", "hi");
        assert!(c < (1 << 52));
        assert_eq!(c, comment_id("bd-1", "me", "2026-01-01T00:00:00Z", "hi"));
    }

    #[test]
    fn resolution() {
        let ids = ["bd-abc", "bd-abd", "bd-x1", "bd-x1.1"];
        assert_eq!(resolve("bd-abc", "bd", &ids), Resolved::One("bd-abc"));
        assert_eq!(resolve("abc", "bd", &ids), Resolved::One("bd-abc"));
        assert_eq!(resolve("x1", "bd", &ids), Resolved::One("bd-x1"));
        assert_eq!(
            resolve("ab", "bd", &ids),
            Resolved::Many(vec!["bd-abc", "bd-abd"])
        );
        assert_eq!(resolve("zz", "bd", &ids), Resolved::None);
    }
}

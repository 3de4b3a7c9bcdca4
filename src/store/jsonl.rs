//! Reading JSONL files: split into lines (LF or CRLF), parse each into a
//! [`Record`], and report lines that do not parse by line number. Parsing is
//! spread over the machine's cores; the result does not depend on how.

use std::ops::Range;

use crate::model::record::Record;

/// One line that parsed.
#[derive(Debug)]
pub struct Good {
    /// 1-based line number.
    pub line: usize,
    /// Byte range of the line's text (without its line ending).
    pub span: Range<usize>,
    pub record: Record,
}

/// One line that did not.
#[derive(Debug, Clone)]
pub struct Bad {
    pub line: usize,
    pub span: Range<usize>,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Parsed {
    pub good: Vec<Good>,
    pub bad: Vec<Bad>,
    /// Some line ended in CRLF.
    pub crlf: bool,
    /// The last line had no newline.
    pub no_final_newline: bool,
    /// Lines were not sorted by id (bytes), or an id repeats.
    pub unsorted: bool,
    pub duplicate_ids: Vec<String>,
}

impl Parsed {
    /// The file is not byte-for-byte what `bd` would write for these records.
    pub fn needs_normalizing(&self) -> bool {
        self.crlf || self.no_final_newline || self.unsorted
    }
}

/// Line spans of `bytes`: (1-based number, text range, had CR). Blank lines are skipped.
pub fn line_spans(bytes: &[u8]) -> Vec<(usize, Range<usize>, bool)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut n = 0;
    while start < bytes.len() {
        n += 1;
        let end =
            super::bytes::find_byte(&bytes[start..], b'\n').map_or(bytes.len(), |i| start + i);
        let mut text_end = end;
        let cr = text_end > start && bytes[text_end - 1] == b'\r';
        if cr {
            text_end -= 1;
        }
        if bytes[start..text_end]
            .iter()
            .any(|b| !b.is_ascii_whitespace())
        {
            out.push((n, start..text_end, cr));
        }
        start = end + 1;
    }
    out
}

/// Parse every line of a JSONL file with `f`, spread over the cores. The
/// results come back in line order: (1-based line, text span, result).
pub fn parse_lines<T: Send>(
    bytes: &[u8],
    f: impl Fn(&str) -> Result<T, String> + Sync,
) -> Vec<(usize, Range<usize>, Result<T, String>)> {
    let spans = line_spans(bytes);
    let threads = if spans.len() > 5_000 {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    } else {
        1
    };
    let chunk = spans.len().div_ceil(threads.max(1)).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = spans
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(n, r, _)| {
                            let res = match std::str::from_utf8(&bytes[r.clone()]) {
                                Ok(text) => f(text),
                                Err(e) => Err(format!("not UTF-8 ({e})")),
                            };
                            (*n, r.clone(), res)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("parser threads do not panic"))
            .collect()
    })
}

/// Whether any line ends in CRLF, and whether the last line lacks a newline.
pub fn line_endings(bytes: &[u8]) -> (bool, bool) {
    let crlf = memchr::memmem::find(bytes, b"\r\n").is_some();
    let no_final = !bytes.is_empty() && bytes[bytes.len() - 1] != b'\n';
    (crlf, no_final)
}

/// Sorted-ness and duplicates of ids in file order.
pub fn order_of<'a>(ids: impl Iterator<Item = &'a str>) -> (bool, Vec<String>) {
    let mut ids: Vec<&str> = ids.collect();
    let unsorted = ids.windows(2).any(|w| w[0] >= w[1]);
    if !unsorted {
        // Strictly increasing: nothing repeats.
        return (false, Vec::new());
    }
    ids.sort_unstable();
    let mut dups: Vec<String> = ids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0].to_string())
        .collect();
    dups.dedup();
    (unsorted, dups)
}

/// Parse every line of a JSONL file into records.
pub fn parse(bytes: &[u8]) -> Parsed {
    let (crlf, no_final_newline) = line_endings(bytes);
    let mut parsed = Parsed {
        crlf,
        no_final_newline,
        ..Parsed::default()
    };
    for (line, span, res) in parse_lines(bytes, Record::parse) {
        match res {
            Ok(record) => parsed.good.push(Good { line, span, record }),
            Err(reason) => parsed.bad.push(Bad { line, span, reason }),
        }
    }
    let (unsorted, dups) = order_of(parsed.good.iter().map(|g| g.record.id()));
    parsed.unsorted = unsorted;
    parsed.duplicate_ids = dups;
    parsed
}

/// Lines that matched a scan: (1-based line number, record).
#[derive(Debug, Default)]
pub struct Scan {
    pub records: Vec<(usize, Record)>,
    /// Candidate lines that did not parse (line numbers).
    pub bad: Vec<usize>,
}

/// Parse the lines of `bytes` containing any of `needles` (every line when
/// `needles` is empty), in file order. The needles are found with a SIMD
/// substring search over the whole buffer and only the lines holding a hit
/// are parsed, so a lookup in a large file costs one pass over its bytes.
pub fn scan_bytes(bytes: &[u8], needles: &[String]) -> Scan {
    let mut out = Scan::default();
    if needles.is_empty() {
        for (n, span, _) in line_spans(bytes) {
            match parse_span(bytes, span) {
                Ok(r) => out.records.push((n, r)),
                Err(_) => out.bad.push(n),
            }
        }
        return out;
    }
    // Start offsets of the lines holding a hit.
    let mut starts: Vec<usize> = Vec::new();
    for n in needles.iter().filter(|n| !n.is_empty()) {
        let finder = memchr::memmem::Finder::new(n.as_bytes());
        let mut from = 0;
        while let Some(i) = finder.find(&bytes[from..]) {
            let at = from + i;
            let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |p| p + 1);
            let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |p| at + p);
            starts.push(start);
            from = end.max(at + 1).min(bytes.len());
        }
    }
    starts.sort_unstable();
    starts.dedup();
    // Line numbers by counting newlines between consecutive hits: one pass.
    let (mut line, mut counted) = (1usize, 0usize);
    for start in starts {
        line += memchr::memchr_iter(b'\n', &bytes[counted..start]).count();
        counted = start;
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |p| start + p);
        let text_end = if end > start && bytes[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        match parse_span(bytes, start..text_end) {
            Ok(r) => out.records.push((line, r)),
            Err(_) => out.bad.push(line),
        }
    }
    out
}

/// The records of `bytes` whose id is in `ids`, in one pass: canonical lines
/// (`{"id":"…",`) are matched by their id prefix without parsing; other lines
/// are parsed to learn their id. Lines that do not parse are skipped.
pub fn records_with_ids(bytes: &[u8], ids: &std::collections::HashSet<&str>) -> Vec<Record> {
    let mut out = Vec::new();
    for (_, span, _) in line_spans(bytes) {
        let line = &bytes[span.clone()];
        if let Some(rest) = line.strip_prefix(b"{\"id\":\"")
            && let Some(end) = memchr::memchr(b'"', rest)
            && !rest[..end].contains(&b'\\')
        {
            let id = std::str::from_utf8(&rest[..end]).unwrap_or("");
            if !ids.contains(id) {
                continue;
            }
        }
        if let Ok(r) = parse_span(bytes, span)
            && ids.contains(r.id())
        {
            out.push(r);
        }
    }
    out
}

fn parse_span(bytes: &[u8], span: Range<usize>) -> Result<Record, String> {
    std::str::from_utf8(&bytes[span])
        .map_err(|e| e.to_string())
        .and_then(Record::parse)
}

/// Whether `line` is exactly what [`Record::to_line`] writes for the record
/// it parses to (so it can be copied as it is): a record's keys in the
/// canonical order (known keys in their order, others by name, `_stamps`
/// last), none repeated or escaped, no space between tokens. `false` for a
/// line that is not a JSON object; a line this says `true` of parses as a
/// record when its `id` is a non-blank string.
pub fn is_canonical(line: &str) -> bool {
    use crate::model::record::{KEY_ORDER, STAMPS};
    use serde::de::{Deserializer, MapAccess, Visitor};
    use serde_json::value::RawValue;
    /// Where a key goes in the canonical order.
    fn rank(k: &str) -> (u8, usize, &str) {
        match KEY_ORDER.iter().position(|o| *o == k) {
            Some(i) => (0, i, ""),
            None if k == STAMPS => (2, 0, ""),
            None => (1, 0, k),
        }
    }
    /// The line's length.
    struct Check(usize);
    impl<'de> Visitor<'de> for Check {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<bool, A::Error> {
            // The length of the line `to_line` writes: `{`, `}`, and per key
            // `"k":v` and a comma before every key but the first.
            let mut len = 2usize;
            let mut last: Option<(u8, usize, &'de str)> = None;
            let mut n = 0usize;
            // A key with an escape is not borrowed: an error, so `false`.
            while let Some(k) = m.next_key::<&'de str>()? {
                let v: &'de RawValue = m.next_value()?;
                let r = rank(k);
                if last.is_some_and(|l| l >= r) {
                    return Ok(false);
                }
                last = Some(r);
                len += k.len() + 3 + v.get().len() + usize::from(n > 0);
                n += 1;
            }
            Ok(n > 0 && len == self.0)
        }
    }
    let mut de = serde_json::Deserializer::from_str(line);
    matches!((&mut de).deserialize_map(Check(line.len())), Ok(true)) && de.end().is_ok()
}

/// Case-insensitive search for a text in the string values of JSONL lines,
/// on their raw bytes: which lines may hold it (`search` parses only
/// those). A line holding the text in a decoded, lower-cased string value
/// is always reported; a reported line may still not hold it (the caller
/// decides on the parsed record).
///
/// The raw bytes differ from the text where JSON escapes a character
/// (`\n`, `\"`, `\u00e9`), and lower-casing is not bytewise beyond ASCII
/// (`K`, the Kelvin sign, lower-cases to `k`; a final `Σ` to `ς`). A
/// needle of plain ASCII (nothing JSON escapes: no `"`, `\`, `/` or
/// control character) is found bytewise in the ASCII-lower-cased line,
/// which is exact for such a needle unless the line holds a `\u` escape
/// or a character that lower-cases to ASCII: those lines, and every line
/// for any other needle, are decoded and case-folded first.
pub struct TextFilter {
    /// The needle case-folded ([`fold`]).
    folded: String,
    finder: memchr::memmem::Finder<'static>,
    /// The bytewise search is exact (see above).
    plain: bool,
    /// Every line is a candidate: a needle holding a line break may match
    /// across the fields a caller joins with one.
    every: bool,
    lower: Vec<u8>,
}

/// What makes a line need decoding before a plain needle is looked for in
/// it: a `\u` escape, the Kelvin sign (lower-cases to `k`), `İ` (to `i̇`).
const SUSPECT: [&[u8]; 3] = [b"\\u", "\u{212A}".as_bytes(), "\u{130}".as_bytes()];

/// Lower-case `s` character by character, with the final sigma `ς` as `σ`:
/// the text `str::to_lowercase` gives, up to the one character it picks
/// by context, so a needle lower-cased either way is found in it.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .collect()
}

/// Decode every JSON string escape in `raw` (a whole line: outside strings
/// there are none). A malformed escape is kept as it is.
pub fn unescape_all(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains('\\') {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let b = rest.as_bytes();
        let simple = match b.get(1) {
            Some(b'n') => Some('\n'),
            Some(b't') => Some('\t'),
            Some(b'r') => Some('\r'),
            Some(b'b') => Some('\u{8}'),
            Some(b'f') => Some('\u{c}'),
            Some(b'"') => Some('"'),
            Some(b'\\') => Some('\\'),
            Some(b'/') => Some('/'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            rest = &rest[2..];
            continue;
        }
        let hex = |s: &str| -> Option<u32> {
            let h = s.get(2..6)?;
            if !s.starts_with("\\u") || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            u32::from_str_radix(h, 16).ok()
        };
        match hex(rest) {
            Some(hi @ 0xD800..=0xDBFF) => match hex(&rest[6..]) {
                Some(lo @ 0xDC00..=0xDFFF) => {
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                    rest = &rest[12..];
                }
                _ => {
                    out.push('\u{FFFD}');
                    rest = &rest[6..];
                }
            },
            Some(u) => {
                out.push(char::from_u32(u).unwrap_or('\u{FFFD}'));
                rest = &rest[6..];
            }
            None => {
                out.push('\\');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

impl TextFilter {
    /// A filter for lines holding `needle` (as the caller lower-cases it).
    pub fn new(needle: &str) -> TextFilter {
        let folded = fold(needle);
        let plain = folded
            .bytes()
            .all(|b| b.is_ascii() && !b.is_ascii_control() && !matches!(b, b'"' | b'\\' | b'/'));
        TextFilter {
            finder: memchr::memmem::Finder::new(folded.as_bytes()).into_owned(),
            every: folded.contains('\n') || folded.is_empty(),
            folded,
            plain,
            lower: Vec::new(),
        }
    }

    /// Whether one line (raw bytes, no line ending) may hold the needle.
    pub fn line_may_match(&self, line: &[u8]) -> bool {
        if self.every {
            return true;
        }
        if self.plain
            && !SUSPECT
                .iter()
                .any(|s| memchr::memmem::find(line, s).is_some())
        {
            return self.finder.find(&line.to_ascii_lowercase()).is_some();
        }
        let text = String::from_utf8_lossy(line);
        fold(&unescape_all(&text)).contains(&self.folded)
    }

    /// Hand `hit` the span (without its line ending) of every line of
    /// `piece` that may hold the needle, in order, each once.
    pub fn candidates(&mut self, piece: &[u8], mut hit: impl FnMut(Range<usize>)) {
        let line_at = |start: usize| -> Range<usize> {
            let end = memchr::memchr(b'\n', &piece[start..]).map_or(piece.len(), |p| start + p);
            let text_end = if end > start && piece[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            start..text_end
        };
        if self.every || !self.plain {
            let mut start = 0;
            while start < piece.len() {
                let end = memchr::memchr(b'\n', &piece[start..]).map_or(piece.len(), |p| start + p);
                let r = line_at(start);
                if self.line_may_match(&piece[r.clone()]) {
                    hit(r);
                }
                start = end + 1;
            }
            return;
        }
        let mut starts: Vec<usize> = Vec::new();
        let line_start = |at: usize| memchr::memrchr(b'\n', &piece[..at]).map_or(0, |p| p + 1);
        // Lines holding the needle bytewise, one find per line at most.
        self.lower.clear();
        self.lower.extend_from_slice(piece);
        self.lower.make_ascii_lowercase();
        let mut from = 0;
        while let Some(i) = self.finder.find(&self.lower[from..]) {
            let at = from + i;
            let start = line_start(at);
            starts.push(start);
            from = memchr::memchr(b'\n', &piece[at..]).map_or(piece.len(), |p| at + p + 1);
        }
        // Lines the bytes may hide it in: decoded and looked at again.
        for s in SUSPECT {
            let finder = memchr::memmem::Finder::new(s);
            let mut from = 0;
            while let Some(i) = finder.find(&piece[from..]) {
                let at = from + i;
                let r = line_at(line_start(at));
                if self.line_may_match(&piece[r.clone()]) {
                    starts.push(r.start);
                }
                from = (r.end + 1).min(piece.len()).max(at + 1);
            }
        }
        starts.sort_unstable();
        starts.dedup();
        for s in starts {
            hit(line_at(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_bad_lines_crlf_and_order() {
        let text = b"{\"id\":\"b\"}\r\n\n{oops\n{\"id\":\"a\"}";
        let p = parse(text);
        assert_eq!(p.good.len(), 2);
        assert_eq!(p.bad.len(), 1);
        assert_eq!(p.bad[0].line, 3);
        assert!(p.crlf && p.unsorted && p.no_final_newline);
        assert_eq!(p.good[1].line, 4);
    }

    #[test]
    fn finds_duplicates() {
        let p = parse(b"{\"id\":\"a\"}\n{\"id\":\"a\"}\n");
        assert_eq!(p.duplicate_ids, vec!["a"]);
    }

    #[test]
    fn scans_only_lines_with_a_needle() {
        let text = b"{\"id\":\"msg-1\",\"to\":[\"ann\"]}\n{\"id\":\"msg-2\",\"to\":[\"bob\"]}\n{oops \"ann\"\n{\"id\":\"msg-3\",\"to\":[\"ann\",\"ann\"]}\n";
        let s = scan_bytes(text, &["\"ann\"".into()]);
        let ids: Vec<&str> = s.records.iter().map(|(_, r)| r.id()).collect();
        assert_eq!(ids, ["msg-1", "msg-3"]);
        assert_eq!(s.bad, [3]);
        assert_eq!(scan_bytes(text, &[]).records.len(), 3);
        assert!(scan_bytes(text, &["nobody".into()]).records.is_empty());
    }

    #[test]
    fn canonical_lines_are_told_apart() {
        let yes = [
            r#"{"id":"a","title":"x","status":"open","priority":2}"#,
            r#"{"id":"a","labels":["b", "c"],"zeta":1,"_stamps":{}}"#,
            r#"{"id":"a","title":"\u003c\n"}"#,
        ];
        for l in yes {
            assert!(is_canonical(l), "{l}");
            assert_eq!(Record::parse(l).unwrap().to_line(), l);
        }
        let no = [
            r#"{"title":"x","id":"a"}"#,
            r#"{"id":"a", "title":"x"}"#,
            r#"{"id" :"a"}"#,
            r#"{"id":"a"} "#,
            r#"{"id":"a","_stamps":{},"zeta":1}"#,
            r#"{"id":"a","zeta":1,"beta":2}"#,
            r#"{"id":"a","title":"x","title":"y"}"#,
            r#"{"i\u0064":"a"}"#,
            r#"{}"#,
            r#"[1]"#,
            r#"{"id":"a""#,
        ];
        for l in no {
            assert!(!is_canonical(l), "{l}");
        }
    }

    #[test]
    fn escapes_decode_and_case_folds() {
        assert_eq!(
            unescape_all(r#"a\"b\\c\/d\n\u00e9\uD83D\uDE00\u12"#),
            "a\"b\\c/d\né😀\\u12"
        );
        assert_eq!(fold("ΣΑΣ K İ"), "σασ k i\u{307}");
        let f = TextFilter::new("tracker");
        assert!(f.line_may_match(br#"{"id":"x","title":"TRACKER"}"#));
        assert!(f.line_may_match(br#"{"id":"x","title":"TRAC\u004BER"}"#));
        assert!(f.line_may_match("{\"id\":\"x\",\"title\":\"trac\u{212A}er\"}".as_bytes()));
        assert!(!f.line_may_match(br#"{"id":"x","title":"trac\"ker"}"#));
        let q = TextFilter::new("a\"b");
        assert!(q.line_may_match(br#"{"id":"x","title":"A\"B"}"#));
        assert!(q.line_may_match(br#"{"id":"x","title":"A\u0022B"}"#));
    }
}

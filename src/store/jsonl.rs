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
}

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
        let end = memchr_nl(&bytes[start..]).map_or(bytes.len(), |i| start + i);
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

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

fn parse_span(bytes: &[u8], line: usize, span: Range<usize>) -> Result<Good, Bad> {
    let text = match std::str::from_utf8(&bytes[span.clone()]) {
        Ok(t) => t,
        Err(e) => {
            return Err(Bad {
                line,
                span,
                reason: format!("not UTF-8 ({e})"),
            });
        }
    };
    match Record::parse(text) {
        Ok(record) => Ok(Good { line, span, record }),
        Err(reason) => Err(Bad { line, span, reason }),
    }
}

/// Parse every line of a JSONL file.
pub fn parse(bytes: &[u8]) -> Parsed {
    let spans = line_spans(bytes);
    let mut parsed = Parsed {
        crlf: spans.iter().any(|s| s.2),
        no_final_newline: !bytes.is_empty() && bytes[bytes.len() - 1] != b'\n',
        ..Parsed::default()
    };
    let threads = if spans.len() > 20_000 {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    } else {
        1
    };
    let chunk = spans.len().div_ceil(threads.max(1)).max(1);
    let results: Vec<Vec<Result<Good, Bad>>> = std::thread::scope(|s| {
        let handles: Vec<_> = spans
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(n, r, _)| parse_span(bytes, *n, r.clone()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("parser threads do not panic"))
            .collect()
    });
    for r in results.into_iter().flatten() {
        match r {
            Ok(g) => parsed.good.push(g),
            Err(b) => parsed.bad.push(b),
        }
    }
    for w in parsed.good.windows(2) {
        let (a, b) = (w[0].record.id(), w[1].record.id());
        if a >= b {
            parsed.unsorted = true;
        }
        if a == b {
            parsed.duplicate_ids.push(a.to_string());
        }
    }
    if parsed.unsorted {
        let mut ids: Vec<&str> = parsed.good.iter().map(|g| g.record.id()).collect();
        ids.sort_unstable();
        parsed.duplicate_ids = ids
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0].to_string())
            .collect();
        parsed.duplicate_ids.dedup();
    }
    parsed
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
}

//! Bad-line reporting of `store::jsonl::parse` (SPEC §8).

use super::records::{id_raw, json_string_raw, number_raw, ws};
use super::*;

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

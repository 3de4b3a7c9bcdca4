//! Merge cases from `fixtures/merge/<case>/{base,ours,theirs,expected}.jsonl`
//! (SPEC §5 "The merge", one folder per rule). Every case runs in both orders
//! (ours and theirs swapped must give identical bytes), and the expected
//! output must be a fixed point: merging it with itself, or with the base
//! on one side, gives it back. A case may add `report.txt`: the lines the
//! report must contain (see `report_lines`).
//!
//! `BLESS=1 cargo test --test merge_cases` writes `expected.jsonl` (and
//! `report.txt`) from the current merge; review the diff before keeping it.

use std::fs;
use std::path::{Path, PathBuf};

use strand::model::merge::{Report, merge_issues};

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/merge");
    let mut v: Vec<PathBuf> = fs::read_dir(&root)
        .expect("fixtures/merge exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.join("base.jsonl").exists())
        .collect();
    v.sort();
    v
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
}

/// The report as stable text lines, one per note.
fn report_lines(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for c in &r.conflicts {
        out.push(format!(
            "conflict {} {}: won {} lost {}",
            c.id, c.register, c.winner, c.loser
        ));
    }
    for c in &r.claims_lost {
        out.push(format!(
            "claim lost {}: {} to {} ({:?})",
            c.id,
            c.loser,
            c.winner.as_deref().unwrap_or("-"),
            c.reason
        ));
    }
    for c in &r.renamed {
        out.push(format!("renamed {} -> {}", c.old_id, c.new_id));
    }
    out
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn every_case_in_both_orders() {
    let bless = std::env::var_os("BLESS").is_some();
    let cases = cases();
    assert!(cases.len() >= 20, "expected the full set of cases");
    for dir in cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (b, o, t) = (
            read(&dir, "base.jsonl"),
            read(&dir, "ours.jsonl"),
            read(&dir, "theirs.jsonl"),
        );
        let ab = merge_issues(&b, &o, &t).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ba = merge_issues(&b, &t, &o).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            show(&ab.bytes),
            show(&ba.bytes),
            "{name}: ours/theirs swapped"
        );
        assert_eq!(ab.report, ba.report, "{name}: report differs when swapped");
        if bless {
            fs::write(dir.join("expected.jsonl"), &ab.bytes).unwrap();
            let lines = report_lines(&ab.report);
            if lines.is_empty() {
                let _ = fs::remove_file(dir.join("report.txt"));
            } else {
                fs::write(dir.join("report.txt"), lines.join("\n") + "\n").unwrap();
            }
        }
        let expected = read(&dir, "expected.jsonl");
        assert_eq!(show(&ab.bytes), show(&expected), "{name}: merged bytes");
        if let Ok(want) = fs::read_to_string(dir.join("report.txt")) {
            let got = report_lines(&ab.report);
            for w in want.lines().filter(|l| !l.trim().is_empty()) {
                assert!(
                    got.iter().any(|g| g == w),
                    "{name}: report lacks {w:?}; got {got:#?}"
                );
            }
        }
        // Idempotence on the result.
        let e = &expected;
        for (what, m) in [
            ("merge(E,E,E)", merge_issues(e, e, e)),
            ("merge(O,E,E)", merge_issues(&b, e, e)),
            ("merge(O,E,O)", merge_issues(&b, e, &b)),
            ("merge(O,O,E)", merge_issues(&b, &b, e)),
        ] {
            let m = m.unwrap_or_else(|err| panic!("{name} {what}: {err}"));
            assert_eq!(show(&m.bytes), show(e), "{name}: {what}");
        }
        // Merging the result back into either side changes nothing more.
        for side in [&o, &t] {
            let m = merge_issues(side, side, e).unwrap();
            assert_eq!(show(&m.bytes), show(e), "{name}: fast-forward");
        }
    }
}

#[test]
fn bad_lines_name_side_and_line() {
    let good = b"{\"id\":\"bd-1\",\"title\":\"x\"}\n";
    let bad = b"{\"id\":\"bd-1\",\"title\":\"x\"}\n{\"title\":\"no id\"}\n";
    let err = merge_issues(good, good, bad).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("theirs line 2"), "{text}");
    let err = merge_issues(b"not json\n", good, good).unwrap_err();
    assert!(err.to_string().contains("base line 1"), "{err}");
    // A line on one side only must parse, though its id reads.
    let trunc = b"{\"id\":\"bd-1\",\"title\":\"x\"}\n{\"id\":\"bd-zzz\",\"title\":\n";
    let err = merge_issues(good, good, trunc).unwrap_err();
    assert!(err.to_string().contains("theirs line 2"), "{err}");
    // Identical lines on both sides are taken with only their id read.
    assert!(merge_issues(good, trunc, trunc).is_ok());
    // A changed line that does not parse fails even though its id reads.
    let broken = b"{\"id\":\"bd-1\",\"title\":\n";
    let err = merge_issues(good, broken, b"{\"id\":\"bd-1\",\"title\":\"y\"}\n").unwrap_err();
    assert!(err.to_string().contains("ours line 1"), "{err}");
}

//! Real classic beads data: the checked-in excerpt (fixtures/classic) migrated
//! with `bd init`, and the full v0.47.0 export from ../shared/data when present.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{TestEnvironment, git};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/classic")
        .join(name)
}

fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array: {v}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn set(v: &Value) -> BTreeSet<String> {
    ids(v).into_iter().collect()
}

/// Status tallies computed independently of bd.
fn tallies(records: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in records {
        *m.entry(r["status"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    m
}

/// The ready order (SPEC §3): priority, then oldest `created_at` as an
/// instant (offsets differ in classic files), then id.
#[track_caller]
fn assert_ready_order(ready: &Value) {
    let key = |r: &Value| {
        let t = r["created_at"].as_str().unwrap();
        let at = chrono::DateTime::parse_from_rfc3339(t)
            .unwrap_or_else(|e| panic!("{t}: {e}"))
            .timestamp_nanos_opt()
            .unwrap();
        (
            r["priority"].as_i64().unwrap(),
            at,
            r["id"].as_str().unwrap().to_string(),
        )
    };
    let got: Vec<_> = ready.as_array().unwrap().iter().map(key).collect();
    let mut want = got.clone();
    want.sort();
    assert_eq!(got, want, "ready order");
}

/// A classic `.beads/` (excerpt, config.yaml, a database and other classic files)
/// in a git repository that has never seen strand.
fn classic_repo() -> TestEnvironment {
    let env = TestEnvironment::bare_git();
    let beads = env.beads();
    std::fs::create_dir_all(&beads).unwrap();
    std::fs::copy(fixture("issues.jsonl"), env.issues_path()).unwrap();
    std::fs::copy(fixture("config.yaml"), beads.join("config.yaml")).unwrap();
    std::fs::write(
        beads.join("beads.db"),
        b"SQLite format 3\0not really a database",
    )
    .unwrap();
    std::fs::write(
        beads.join("metadata.json"),
        b"{\"database\":\"beads.db\"}\n",
    )
    .unwrap();
    std::fs::write(beads.join("deletions.jsonl"), b"{\"id\":\"bd-old\"}\n").unwrap();
    std::fs::write(beads.join("interactions.jsonl"), b"").unwrap();
    env
}

#[test]
fn fixture_is_a_sorted_byte_identical_excerpt() {
    let text = std::fs::read_to_string(fixture("issues.jsonl")).unwrap();
    assert!(text.ends_with('\n') && !text.contains('\r'));
    let recs = parse_lines(&text);
    let idv: Vec<&str> = recs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut sorted = idv.clone();
    sorted.sort();
    assert_eq!(idv, sorted, "sorted by id bytes");
    // What the excerpt is meant to exercise.
    let st = tallies(&recs);
    assert!(st["tombstone"] >= 2 && st["hooked"] >= 1, "{st:?}");
    let types: BTreeSet<&str> = recs
        .iter()
        .map(|r| r["issue_type"].as_str().unwrap())
        .collect();
    for t in [
        "event",
        "molecule",
        "merge-request",
        "agent",
        "message",
        "gate",
    ] {
        assert!(types.contains(t), "type {t}");
    }
    assert!(text.contains("\"await_type\"") && text.contains("\"timeout\""));
    assert!(text.contains("\\u003c") && text.contains("\\u0026"));
    assert!(text.contains("-08:00\""));
    assert!(recs.iter().any(|r| r.get("comments").is_some()));
    assert!(idv.iter().any(|i| i.ends_with(".6") || i.ends_with(".1")));
    // Lines are verbatim copies of the source when it is present.
    if let Some(src) = common::shared_data("beads-v0.47.0-issues.jsonl") {
        let src = std::fs::read_to_string(src).unwrap();
        let lines: BTreeSet<&str> = src.lines().collect();
        for l in text.lines() {
            assert!(lines.contains(l), "not verbatim: {}", &l[..80.min(l.len())]);
        }
    }
}

#[test]
fn init_migrates_a_classic_beads_folder() {
    let env = classic_repo();
    let before = std::fs::read(env.issues_path()).unwrap();
    let db = std::fs::read(env.beads().join("beads.db")).unwrap();
    // A classic hook that calls bd is listed.
    let hooks = env.repo.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(
        hooks.join("pre-commit"),
        "#!/bin/sh\nbd sync --flush-only\n",
    )
    .unwrap();

    let r = env.bd(&["--json", "init"]).ok();
    let v = r.json();
    assert_eq!(v["prefix"], "bd", "{v}");
    assert_eq!(v["issues"], 47, "{v}");
    assert!(v["classic_hooks"].to_string().contains("pre-commit"), "{v}");
    assert!(r.stderr.contains("pre-commit"), "{}", r.stderr);
    let cfg = std::fs::read_to_string(env.beads().join("config.toml")).unwrap();
    assert!(cfg.contains("prefix = \"bd\""), "{cfg}");

    assert_eq!(
        std::fs::read(env.issues_path()).unwrap(),
        before,
        "issues.jsonl unchanged"
    );
    assert_eq!(
        std::fs::read(env.beads().join("beads.db")).unwrap(),
        db,
        "beads.db left alone"
    );
    for f in [
        "config.yaml",
        "metadata.json",
        "deletions.jsonl",
        "interactions.jsonl",
    ] {
        assert!(env.beads().join(f).exists(), "{f} left in place");
    }
    assert_eq!(
        std::fs::read(env.beads().join("deletions.jsonl")).unwrap(),
        b"{\"id\":\"bd-old\"}\n"
    );

    // Second init: nothing changes.
    let r = env.bd(&["init"]).ok();
    assert!(
        r.stderr.to_lowercase().contains("nothing changed"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);

    // Reading commands work on the migrated data.
    let recs = env.records();
    let st = tallies(&recs);
    let live = recs.len() - st["tombstone"];
    let list = env.json(&["list"]);
    assert_eq!(
        list.as_array().unwrap().len(),
        st["open"] + st["hooked"],
        "{list}"
    );
    for item in list.as_array().unwrap() {
        assert!(item.get("dependency_count").is_some() && item.get("parent").is_some());
    }
    assert_eq!(env.json(&["list", "--all"]).as_array().unwrap().len(), live);
    assert_eq!(
        env.json(&["list", "--status", "tombstone"])
            .as_array()
            .unwrap()
            .len(),
        st["tombstone"]
    );
    assert_eq!(
        env.json(&["list", "--status", "hooked"])
            .as_array()
            .unwrap()
            .len(),
        st["hooked"]
    );
    assert_eq!(
        set(&env.json(&["list", "-t", "agent", "--all"])),
        BTreeSet::from(["bd-beads-crew-dave".to_string()])
    );

    // Ready: open work whose blockers are done; coordination types never.
    let ready = env.json(&["ready", "-n", "0"]);
    let want: BTreeSet<String> = [
        "bd-2vh3.6",
        "bd-98c4e1fa.1",
        "bd-m964",
        "bd-o78",
        "bd-vizy",
        "bd-zw72",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(set(&ready), want, "{ready}");
    let prios: Vec<i64> = ready
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["priority"].as_i64().unwrap())
        .collect();
    assert!(
        prios.windows(2).all(|w| w[0] <= w[1]),
        "priority order: {prios:?}"
    );
    assert_ready_order(&ready);
    // Blocked: the epic waiting on a hooked issue.
    let blocked = env.json(&["blocked"]);
    assert_eq!(
        set(&blocked),
        BTreeSet::from(["bd-bvec".to_string()]),
        "{blocked}"
    );
    assert!(
        blocked[0]["blocked_by"].to_string().contains("bd-llfl"),
        "{blocked}"
    );
    assert_eq!(
        set(&env.json(&["list", "--status", "blocked"])),
        set(&blocked)
    );

    let s = env.json(&["stats"])["summary"].clone();
    assert_eq!(s["total_issues"], live, "{s}");
    assert_eq!(s["open_issues"], st["open"], "{s}");
    assert_eq!(s["closed_issues"], st["closed"], "{s}");
    assert_eq!(s["tombstone_issues"], st["tombstone"], "{s}");
    assert_eq!(s["hooked_issues"], st["hooked"], "{s}");
    assert_eq!(s["blocked_issues"], 1, "{s}");
    assert_eq!(s["ready_issues"], 6, "{s}");

    // Show: unknown fields, escapes, children, tombstones.
    let gate = env.json(&["show", "bd-mol-pjc"]);
    assert_eq!(gate["await_type"], "gh:run");
    assert_eq!(gate["await_id"], "release.yml");
    assert_eq!(gate["timeout"], 1_800_000_000_000i64);
    assert_eq!(gate["status"], "tombstone");
    let child = env.json(&["show", "bd-2vh3.6"]);
    assert_eq!(child["parent"], "bd-2vh3");
    assert!(
        child["description"].as_str().unwrap().contains('<'),
        "\\u003c decoded"
    );
    let both = env.json(&["show", "bd-zw72", "bd-6df0"]);
    assert_eq!(both.as_array().unwrap().len(), 2);
    assert_eq!(both[0]["comment_count"], 2);
    assert_eq!(
        set(&env.json(&["children", "bd-2vh3"])),
        BTreeSet::from(["bd-2vh3.6".to_string()])
    );
    let text = env.bd(&["show", "bd-vizy"]).ok().stdout;
    assert!(text.contains("bd-vizy"), "{text}");
    env.bd(&["show", "bd-2vh3.6"]).ok();
    // Short forms resolve: without `bd-`.
    assert_eq!(env.json(&["show", "bvec"])["id"], "bd-bvec");
    let c = env.json(&["comments", "bd-zw72"]);
    assert_eq!(c.as_array().unwrap().len(), 2);

    // The doctor sees the classic oddities but nothing to repair.
    let d = env.json(&["doctor"]).to_string();
    assert!(d.contains("bd-6s61"), "closed record with deleted_at: {d}");
    assert!(d.contains("bd-z86n"), "the deliberately dangling edge: {d}");
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);

    // One write changes exactly one line, even of classic bytes.
    env.bd(&["update", "bd-vizy", "-p", "0"]).ok();
    assert_one_line_changed(
        &before,
        &std::fs::read(env.issues_path()).unwrap(),
        "bd-vizy",
    );
}

/// The prefix comes from config.yaml, not from the IDs or the folder name.
#[test]
fn init_takes_prefix_from_config_yaml() {
    let env = classic_repo();
    std::fs::write(
        env.beads().join("config.yaml"),
        "# classic\nissue-prefix: \"beads\"\n",
    )
    .unwrap();
    let before = std::fs::read(env.issues_path()).unwrap();
    let v = env.json(&["init"]);
    assert_eq!(v["prefix"], "beads", "{v}");
    assert_eq!(
        env.bd(&["config", "get", "prefix"]).ok().stdout.trim(),
        "beads"
    );
    let id = env.create("New after migration", &[]);
    assert!(id.starts_with("beads-"), "{id}");
    // Old IDs still resolve in full.
    env.json(&["show", "bd-bvec"]);
    let after = std::fs::read(env.issues_path()).unwrap();
    let (b, a) = (lines_of(&before), lines_of(&after));
    assert_eq!(a.len(), b.len() + 1);
    for l in &b {
        assert!(a.contains(l), "existing lines untouched");
    }

    // Without any prefix in config, the most common one among IDs wins.
    let env = classic_repo();
    std::fs::remove_file(env.beads().join("config.yaml")).unwrap();
    assert_eq!(env.json(&["init"])["prefix"], "bd");
}

#[test]
fn init_replaces_the_classic_merge_driver() {
    let env = classic_repo();
    git(
        &env.repo,
        &["config", "merge.beads.driver", "bd merge %A %O %A %B"],
    );
    env.bd(&["init"]).ok();
    assert_eq!(
        git(&env.repo, &["config", "merge.beads.driver"]).trim(),
        "bd merge %O %A %B %P"
    );
    let attrs = std::fs::read_to_string(env.repo.join(".beads/.gitattributes")).unwrap();
    assert!(attrs.contains("*.jsonl merge=beads"), "{attrs}");
}

fn lines_of(b: &[u8]) -> Vec<&[u8]> {
    b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).collect()
}

#[track_caller]
fn assert_one_line_changed(before: &[u8], after: &[u8], id: &str) {
    let (b, a) = (lines_of(before), lines_of(after));
    assert_eq!(b.len(), a.len(), "same number of lines");
    let diff: Vec<usize> = (0..b.len()).filter(|&i| b[i] != a[i]).collect();
    assert_eq!(diff.len(), 1, "exactly one line changed: {diff:?}");
    let v: Value = serde_json::from_slice(a[diff[0]]).unwrap();
    assert_eq!(v["id"], id);
    assert!(after.ends_with(b"\n"));
}

// ---------------------------------------------------------------- the full file

fn full_data() -> Option<(PathBuf, String)> {
    match common::shared_data("beads-v0.47.0-issues.jsonl") {
        Some(p) => {
            let t = std::fs::read_to_string(&p).unwrap();
            Some((p, t))
        }
        None => {
            eprintln!("skipping: ../shared/data/beads-v0.47.0-issues.jsonl is not present");
            None
        }
    }
}

/// The reading commands succeed and agree with counts computed here.
fn check_reads(env: &TestEnvironment, input: &[Value]) {
    let st = tallies(input);
    let n = |s: &str| st.get(s).copied().unwrap_or(0);
    let s = env.json(&["stats"])["summary"].clone();
    assert_eq!(s["total_issues"], input.len() - n("tombstone"), "{s}");
    assert_eq!(s["open_issues"], n("open"), "{s}");
    assert_eq!(s["closed_issues"], n("closed"), "{s}");
    assert_eq!(s["in_progress_issues"], n("in_progress"), "{s}");
    assert_eq!(s["hooked_issues"], n("hooked"), "{s}");
    assert_eq!(s["tombstone_issues"], n("tombstone"), "{s}");

    let ready = env.json(&["ready", "-n", "0"]);
    let blocked = env.json(&["blocked"]);
    assert_eq!(s["ready_issues"], ready.as_array().unwrap().len(), "{s}");
    assert_eq!(
        s["blocked_issues"],
        blocked.as_array().unwrap().len(),
        "{s}"
    );
    assert!(!ready.as_array().unwrap().is_empty());
    assert_ready_order(&ready);
    let by_id: BTreeMap<&str, &Value> = input
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r))
        .collect();
    for r in ready.as_array().unwrap() {
        let rec = by_id[r["id"].as_str().unwrap()];
        assert_eq!(rec["status"], "open", "ready means open: {}", r["id"]);
        let t = rec["issue_type"].as_str().unwrap();
        assert!(
            ["bug", "feature", "task", "epic", "chore"].contains(&t),
            "coordination types are never ready: {} {t}",
            r["id"]
        );
    }
    for b in blocked.as_array().unwrap() {
        let rec = by_id[b["id"].as_str().unwrap()];
        assert!(!["closed", "tombstone"].contains(&rec["status"].as_str().unwrap()));
    }
    assert_eq!(
        set(&env.json(&["list", "--status", "blocked"])),
        set(&blocked)
    );
    assert_eq!(
        env.json(&["ready"]).as_array().unwrap().len(),
        10.min(ready.as_array().unwrap().len())
    );

    let list = env.json(&["list"]);
    assert_eq!(
        list.as_array().unwrap().len(),
        n("open") + n("hooked") + n("in_progress")
    );
    let all = env.json(&["list", "--all"]);
    assert_eq!(all.as_array().unwrap().len(), input.len() - n("tombstone"));
    env.bd(&["list"]).ok();

    // Show a sample of every kind, JSON-equal to its input record (plus derived keys).
    let sample: Vec<&Value> = input.iter().step_by(97).collect();
    let q: Vec<&str> = sample.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut args = vec!["show"];
    args.extend(&q);
    let shown = env.json(&args);
    for (want, got) in sample.iter().zip(shown.as_array().unwrap()) {
        for (k, v) in want.as_object().unwrap() {
            if k == "dependencies" {
                // Classic `show` gives the issues at the ends of the edges,
                // each with the edge's type (the stored edges: `dep list`).
                let linked: Vec<(Value, Value)> = got[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| (l["id"].clone(), l["dependency_type"].clone()))
                    .collect();
                for e in v.as_array().unwrap() {
                    let edge = (e["depends_on_id"].clone(), e["type"].clone());
                    let here = input.iter().any(|r| r["id"] == edge.0);
                    assert_eq!(linked.contains(&edge), here, "{} edge {edge:?}", want["id"]);
                }
                continue;
            }
            assert_eq!(&got[k], v, "{} field {k}", want["id"]);
        }
    }
    env.bd(&["show", "bd-mol-pjc"]).ok();
}

#[track_caller]
fn assert_export_round_trips(env: &TestEnvironment, input: &[Value]) {
    let out = env.bd(&["export"]).ok();
    let exported = parse_lines(&out.stdout);
    assert_eq!(exported.len(), input.len());
    for (a, b) in exported.iter().zip(input) {
        assert_eq!(a, b, "record {} survives JSON-equal", b["id"]);
    }
}

#[test]
fn full_classic_file_loaded_in_place() {
    let Some((_, text)) = full_data() else { return };
    let input = parse_lines(&text);
    let env = TestEnvironment::new();
    std::fs::write(env.issues_path(), &text).unwrap();

    check_reads(&env, &input);
    assert_eq!(env.issues_text(), text, "reads never write");
    assert_export_round_trips(&env, &input);

    // The doctor reports the one record that breaks deleted_at ⇔ tombstone.
    let d = env.json(&["doctor"]).to_string();
    assert!(d.contains("bd-6s61"), "{d}");

    // Updating one issue changes exactly that line.
    let before = text.as_bytes().to_vec();
    env.bd(&["update", "bd-vizy", "--notes", "touched by strand"])
        .ok();
    let after = std::fs::read(env.issues_path()).unwrap();
    assert_one_line_changed(&before, &after, "bd-vizy");
    // And a label on a closed classic record, then a comment: still one line each.
    let before = after;
    env.bd(&["label", "add", "bd-0088", "migrated"]).ok();
    let after = std::fs::read(env.issues_path()).unwrap();
    assert_one_line_changed(&before, &after, "bd-0088");
    let rec = env.record("bd-0088");
    let orig = input.iter().find(|r| r["id"] == "bd-0088").unwrap();
    for k in ["created_at", "closed_at", "dependencies", "description"] {
        assert_eq!(rec[k], orig[k], "{k} kept");
    }
}

#[test]
fn full_classic_file_through_import() {
    let Some((path, text)) = full_data() else {
        return;
    };
    let input = parse_lines(&text);
    let env = TestEnvironment::new();
    let rep = env.json(&["import", path.to_str().unwrap()]);
    assert_eq!(rep["created"], input.len(), "{rep}");
    assert_eq!(env.records().len(), input.len());
    check_reads(&env, &input);
    assert_export_round_trips(&env, &input);

    let before = std::fs::read(env.issues_path()).unwrap();
    let rep = env.json(&["import", path.to_str().unwrap()]);
    assert_eq!(rep["unchanged"], input.len(), "{rep}");
    assert_eq!(rep["created"], 0);
    assert_eq!(rep["updated"], 0);
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);

    env.bd(&["close", "bd-vizy", "--reason", "done"]).ok();
    let after = std::fs::read(env.issues_path()).unwrap();
    assert_one_line_changed(&before, &after, "bd-vizy");
    let rec = env.record("bd-vizy");
    assert_eq!(rec["status"], "closed");
    assert!(rec["closed_at"].as_str().unwrap().ends_with('Z'));
}

//! `bd import` as a write (issue 9, fourth review): the same issue is
//! matched as the merge matches it, values compare by meaning, every record
//! is checked before anything is written, and the ledger gets only the
//! states it needs.

mod common;

use common::TestEnvironment;
use serde_json::{Value, json};

fn write(env: &TestEnvironment, name: &str, lines: &[Value]) -> String {
    let p = env.tmp.path().join(name);
    let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Review 4, break 1: a record of another clone with the same id (another
/// `created_at`) overwrote the issue here. Both are kept: the file's under
/// the id the merge would give it.
#[test]
fn import_keeps_a_different_issue_with_the_same_id() {
    let env = TestEnvironment::new();
    let p = env.create("parent", &[]);
    let child = env.create("mine: fix login", &["--parent", &p, "-d", "my notes"]);
    let mut theirs = env.record(&child);
    theirs["title"] = json!("theirs: write docs");
    theirs["created_at"] = json!("2099-01-01T00:00:00Z");
    theirs["description"] = Value::Null;
    let theirs_copy = theirs.clone();
    let f = write(&env, "theirs.jsonl", &[theirs]);
    let rep = env.json(&["import", &f]);
    assert_eq!(rep["created"], 1, "{rep}");
    assert_eq!(rep["updated"], 0, "{rep}");
    let renamed = rep["renamed"][0].as_str().unwrap().to_string();
    assert!(renamed.starts_with(&format!("{child} → ")), "{rep}");
    let new_id = renamed
        .split(" → ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let mine = env.record(&child);
    assert_eq!(mine["title"], "mine: fix login");
    assert_eq!(mine["description"], "my notes");
    let other = env.record(new_id);
    assert_eq!(other["title"], "theirs: write docs");
    assert_eq!(other["renamed_from"], child.as_str());
    // Importing the file again finds the renamed copy: nothing new.
    let again = env.json(&["import", &f]);
    assert_eq!(again["created"], 0, "{again}");
    assert_eq!(again["unchanged"], 1, "{again}");
    assert!(again.get("renamed").is_none(), "{again}");
    assert_eq!(env.records().len(), 3);
    // Review 5, break 1: an older issue with the id is the merge's to place
    // (it keeps the id, the one here is renamed): the import refuses it
    // rather than renaming it (clones then disagreed on who is who).
    let mut older = theirs_copy;
    older["created_at"] = json!("2001-01-01T00:00:00Z");
    let f = write(&env, "older.jsonl", &[older]);
    let before = env.issues_text();
    let r = env.bd(&["import", &f]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("older") && r.stderr.contains("bd sync"),
        "{}",
        r.stderr
    );
    assert_eq!(env.issues_text(), before, "nothing written");
}

/// A copy renamed when renames were as long as the hash part (before they
/// got 5 characters longer, see `merge::RENAME_LONGER`) is found under that
/// id: importing the record again adds no second copy.
#[test]
fn import_finds_a_copy_renamed_before_renames_got_longer() {
    let env = TestEnvironment::new();
    let mine = env.create("mine: fix login", &[]);
    let mut theirs = env.record(&mine);
    theirs["title"] = json!("theirs: write docs");
    theirs["created_at"] = json!("2099-01-01T00:00:00Z");
    let rec = strand::model::record::Record::parse(&theirs.to_string()).unwrap();
    let legacy = strand::model::merge::legacy_collision_ids(&rec)
        .next()
        .unwrap();
    assert_eq!(legacy.len(), mine.len(), "{legacy} as long as {mine}");
    let mut renamed = theirs.clone();
    renamed["id"] = json!(legacy);
    renamed["renamed_from"] = json!(mine);
    let f = write(&env, "renamed.jsonl", &[renamed]);
    let rep = env.json(&["import", &f]);
    assert_eq!(rep["created"], 1, "{rep}");
    let f = write(&env, "theirs.jsonl", &[theirs]);
    let again = env.json(&["import", &f]);
    assert_eq!(again["created"], 0, "{again}");
    assert_eq!(again["unchanged"], 1, "{again}");
    assert_eq!(env.records().len(), 2);
}

/// Review 4, break 2: the same values in other bytes (`\u003c` for `<`, a
/// time with `.000`) counted as changes and were stamped now, so a sync
/// undid newer edits made elsewhere. They are unchanged.
#[test]
fn import_of_the_same_values_in_other_bytes_changes_nothing() {
    let env = TestEnvironment::new();
    let a = env.create("a <b> title", &[]);
    env.bd(&["close", &a]).ok();
    let before = env.issues_text();
    let line = before.lines().next().unwrap().to_string();
    let closed_at = env.record(&a)["closed_at"].as_str().unwrap().to_string();
    let other_bytes = line
        .replace("a <b>", "a \\u003cb\\u003e")
        .replace(&closed_at, &closed_at.replace('Z', "+00:00"));
    assert_ne!(other_bytes, line);
    let f = env.tmp.path().join("same.jsonl");
    std::fs::write(&f, other_bytes + "\n").unwrap();
    let rep = env.json(&["import", f.to_str().unwrap()]);
    assert_eq!(rep["unchanged"], 1, "{rep}");
    assert_eq!(rep["updated"], 0, "{rep}");
    assert_eq!(env.issues_text(), before, "nothing written");
    // `60.0` is not how bd writes a count of minutes: refused at the door,
    // never counted as a change of `60` (review 6).
    let sixty = json!({"id": "bd-m60", "title": "m", "created_at": "2026-01-01T00:00:00Z",
        "estimated_minutes": 60});
    let f60 = env.root().join("m60.jsonl");
    std::fs::write(&f60, format!("{sixty}\n")).unwrap();
    env.json(&["import", f60.to_str().unwrap()]);
    let text = std::fs::read_to_string(&f60)
        .unwrap()
        .replace(":60}", ":60.0}");
    std::fs::write(&f60, text).unwrap();
    let r = env.bd(&["import", f60.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("estimated_minutes"), "{}", r.stderr);
    assert_eq!(env.record("bd-m60")["estimated_minutes"], 60);
}

/// Review 4, break 11: a record without a title, with a time that is not a
/// time, a priority in words, labels not a list, a dependency naming
/// nothing or comments that are not objects was written. Each is refused
/// with file, line and field named, and nothing is written.
#[test]
fn import_refuses_records_of_the_wrong_shape() {
    let env = TestEnvironment::new();
    env.create("existing", &[]);
    let before = env.issues_text();
    let good = json!({"id": "bd-ok1", "title": "fine", "created_at": "2026-01-01T00:00:00Z"});
    let cases = [
        (json!({"id": "bd-zz1"}), "title"),
        (json!({"id": "bd-zz1", "title": "  "}), "title"),
        (
            json!({"id": "bd-zz1", "title": "t", "created_at": "yesterday"}),
            "created_at",
        ),
        (
            json!({"id": "bd-zz1", "title": "t", "priority": "high"}),
            "priority",
        ),
        (
            json!({"id": "bd-zz1", "title": "t", "priority": 9}),
            "priority",
        ),
        (
            json!({"id": "bd-zz1", "title": "t", "labels": "l"}),
            "labels",
        ),
        (
            json!({"id": "bd-zz1", "title": "t", "dependencies": [{"foo": 1}]}),
            "dependencies",
        ),
        (
            json!({"id": "bd-zz1", "title": "t", "comments": [1]}),
            "comments",
        ),
        (json!({"id": "bd-zz1", "title": 7}), "title"),
        (
            json!({"id": "bd-zz1", "title": "t", "estimated_minutes": "x"}),
            "estimated_minutes",
        ),
    ];
    for (bad, field) in cases {
        let f = write(&env, "bad.jsonl", &[good.clone(), bad.clone()]);
        let r = env.bd(&["import", &f]);
        assert_eq!(r.code, 1, "{bad}: {}", r.stderr);
        assert!(
            r.stderr.contains("bad.jsonl:2:") && r.stderr.contains(&format!("`{field}`")),
            "{bad}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains("fix that line of the file"),
            "{}",
            r.stderr
        );
        assert_eq!(env.issues_text(), before, "{bad}: nothing written");
    }
    // Two issues of the file with one id: both kept, and said so.
    let one = json!({"id": "bd-tw1", "title": "first", "created_at": "2026-01-01T00:00:00Z"});
    let two = json!({"id": "bd-tw1", "title": "second", "created_at": "2026-02-01T00:00:00Z"});
    let f = write(&env, "twins.jsonl", &[one, two]);
    let rep = env.json(&["import", &f]);
    assert_eq!(rep["created"], 2, "{rep}");
    // bd always writes a priority: the default where the file has none.
    assert_eq!(env.record("bd-tw1")["priority"], 2);
    assert!(
        rep["renamed"]
            .to_string()
            .contains("two issues of the file"),
        "{rep}"
    );
    // A byte-order mark is not a fault.
    let f = env.tmp.path().join("bom.jsonl");
    std::fs::write(&f, format!("\u{feff}{good}\n")).unwrap();
    let rep = env.json(&["import", f.to_str().unwrap()]);
    assert_eq!(rep["created"], 1, "{rep}");
}

/// Review 4, break 6: importing a classic tracker wrote a ledger entry for
/// every closed or deleted record (thousands), slowing every command. A
/// record new to this workspace that no other workspace holds needs none.
#[test]
fn import_of_new_records_leaves_the_ledger_alone() {
    let env = TestEnvironment::new();
    let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/classic/issues.jsonl");
    let rep = env.json(&["import", f.to_str().unwrap()]);
    assert!(rep["created"].as_u64().unwrap() > 10, "{rep}");
    let ledgers: Vec<_> = common::files_under(&env.home)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "ledger.json"))
        .collect();
    for l in ledgers {
        let v: Value = serde_json::from_slice(&std::fs::read(&l).unwrap()).unwrap();
        let n = v["entries"].as_array().map_or(0, Vec::len);
        assert_eq!(n, 0, "{}", l.display());
    }
}

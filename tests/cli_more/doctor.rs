//! `bd doctor` and `--fix`.

use super::*;

#[test]
fn doctor_clean_repo_has_no_problems() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &[]);
    env.bd(&["dep", "add", &a, &b]).ok();
    env.bd(&["close", &b]).ok();
    let v = env.json(&["doctor"]);
    assert_eq!(v["ok"], true, "{v}");
    assert!(findings(&v).is_empty(), "{v}");
    let r = env.bd(&["doctor"]).ok();
    crate::assert_human!(env, "doctor_clean", r.transcript());
    let before = std::fs::read(env.issues_path()).unwrap();
    env.bd(&["doctor", "--fix"]).ok();
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);
    assert!(!env.beads().join("quarantine").exists());
}

#[test]
fn doctor_fix_quarantines_bad_lines_and_keeps_good_lines() {
    let env = TestEnvironment::new();
    let good = [
        line("bd-g1", "open", &[]),
        line("bd-g2", "open", &[("bd-g1", "blocks")]),
        // Classic bytes another tool wrote: offsets and escapes stay as they are.
        r#"{"id":"bd-g3","title":"a \u003cb\u003e \u0026 c","status":"open","priority":1,"issue_type":"task","created_at":"2025-11-02T21:58:07.295058-08:00","updated_at":"2025-11-02T21:58:07.295058-08:00","zz_unknown":{"b":1,"a":2}}"#.to_string(),
    ];
    let bad = "{\"id\":\"bd-g25\",\"title\": truncated";
    let text = format!("{}\n{}\n{bad}\n{}\n", good[0], good[1], good[2]);
    write_issues(&env, &text);

    let v = env.bd(&["--json", "doctor"]).code(1).json(); // unfixed errors exit 1
    assert_eq!(v["ok"], false, "{v}");
    let s = v.to_string();
    assert!(s.contains("issues.jsonl:3"), "names file and line: {s}");
    assert_eq!(
        std::fs::read_to_string(env.issues_path()).unwrap(),
        text,
        "doctor alone never writes"
    );

    let v = env.json(&["doctor", "--fix"]);
    assert!(findings(&v).iter().any(|f| f["fixed"] == true), "{v}");
    let after = std::fs::read_to_string(env.issues_path()).unwrap();
    assert_eq!(
        after,
        format!("{}\n{}\n{}\n", good[0], good[1], good[2]),
        "good lines byte-identical"
    );
    let q = env.beads().join("quarantine");
    let mut quarantined = String::new();
    for e in std::fs::read_dir(&q).expect("quarantine/ exists") {
        quarantined.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    assert!(quarantined.contains(bad), "{quarantined}");
    // Now clean; writes work again.
    assert_eq!(env.json(&["doctor"])["ok"], true);
    env.create("After repair", &[]);
    assert!(
        env.issues_text().contains(&good[2]),
        "untouched classic line stays"
    );
}

#[test]
fn doctor_fix_merges_duplicates_and_normalizes() {
    let env = TestEnvironment::new();
    let mut d1: Value = serde_json::from_str(&line("bd-dup", "open", &[])).unwrap();
    d1["labels"] = serde_json::json!(["one"]);
    let mut d2 = d1.clone();
    d2["labels"] = serde_json::json!(["two"]);
    d2["title"] = "Newer title".into();
    d2["updated_at"] = "2025-06-01T00:00:00Z".into();
    let text = format!(
        "{}\r\n{}\r\n{}\r\n{}\r\n",
        line("bd-zz", "open", &[]),
        serde_json::to_string(&d1).unwrap(),
        line("bd-aa", "open", &[]),
        serde_json::to_string(&d2).unwrap()
    );
    write_issues(&env, &text);
    let v = env.bd(&["--json", "doctor"]).code(1).json();
    let s = v.to_string();
    assert!(s.contains("bd-dup"), "duplicate reported: {s}");
    assert!(s.to_lowercase().contains("crlf"), "{s}");
    assert!(s.to_lowercase().contains("sort"), "{s}");

    env.json(&["doctor", "--fix"]);
    let after = std::fs::read_to_string(env.issues_path()).unwrap();
    assert!(!after.contains('\r'), "LF endings");
    let recs = env.records();
    let got: Vec<&str> = recs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        got,
        vec!["bd-aa", "bd-dup", "bd-zz"],
        "sorted, one line per id"
    );
    let dup = env.record("bd-dup");
    assert_eq!(dup["labels"], serde_json::json!(["one", "two"]), "{dup}");
    assert_eq!(dup["title"], "Newer title");
    assert_eq!(env.json(&["doctor"])["ok"], true);
    assert!(
        findings(&env.json(&["doctor"])).is_empty(),
        "{}",
        env.json(&["doctor"])
    );
}

#[test]
fn doctor_reports_closed_at_invariant_breaks() {
    let env = TestEnvironment::new();
    let mut open_with_closed_at: Value = serde_json::from_str(&line("bd-x1", "open", &[])).unwrap();
    open_with_closed_at["closed_at"] = "2025-02-01T00:00:00Z".into();
    let mut closed_without: Value = serde_json::from_str(&line("bd-x2", "closed", &[])).unwrap();
    closed_without.as_object_mut().unwrap().remove("closed_at");
    let text = format!(
        "{}\n{}\n{}\n",
        serde_json::to_string(&open_with_closed_at).unwrap(),
        serde_json::to_string(&closed_without).unwrap(),
        line("bd-x3", "closed", &[])
    );
    write_issues(&env, &text);
    let v = env.json(&["doctor"]);
    let fs = findings(&v);
    let about = |id: &str| {
        fs.iter().any(|f| {
            f["message"].as_str().unwrap().contains(id)
                && f["message"].as_str().unwrap().contains("closed_at")
        })
    };
    assert!(about("bd-x1"), "{v}");
    assert!(about("bd-x2"), "{v}");
    assert!(
        !fs.iter()
            .any(|f| f["message"].as_str().unwrap().contains("bd-x3")),
        "{v}"
    );
    // Loaded values are kept as they are, even by --fix.
    env.json(&["doctor", "--fix"]);
    assert_eq!(env.issues_text(), text);
    // Reads still work on them.
    env.json(&["show", "bd-x1", "bd-x2"]);
}

//! Files bd writes match their schemas.

use super::*;

// ------------------------------------------------------------ issues.jsonl

#[test]
fn classic_fixture_matches_issue_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/classic/issues.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let n = assert_lines_valid(&Validator::new(), &text, "fixtures/classic/issues.jsonl");
    assert!(n >= 40, "only {n} lines");
}

#[test]
fn real_v0_47_export_matches_issue_schema() {
    let Some(path) = common::shared_data("beads-v0.47.0-issues.jsonl") else {
        eprintln!("skipped: ../shared/data/beads-v0.47.0-issues.jsonl is not here");
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let n = assert_lines_valid(&Validator::new(), &text, "beads-v0.47.0-issues.jsonl");
    assert!(n > 1000, "only {n} lines");
}

#[test]
fn issues_written_by_bd_match_issue_schema_and_canonical_form() {
    let env = TestEnvironment::new();
    let v = Validator::new();
    env.bd(&["config", "set", "custom_statuses", "review"]).ok();
    let a = env.create(
        "  Alpha with every field  ",
        &[
            "-t",
            "feature",
            "-p",
            "P1",
            "-d",
            "desc <b> & \"q\"",
            "--design",
            "des",
            "--acceptance",
            "acc",
            "--notes",
            "n",
            "-l",
            "zeta,alpha",
            "-a",
            "someone",
            "--owner",
            "own",
            "--external-ref",
            "gh-1",
            "--due",
            "2030-01-02",
            "--estimate",
            "90",
        ],
    );
    let b = env.create("Beta", &["-t", "bug", "--deps", &a]);
    let c = env.create("Child", &["--parent", &a]);
    let d = env.create("Deferred", &["--defer", "+3d", "-l", "x"]);
    let e = env.create(
        "Épsilon ünïcode",
        &["--deps", &format!("related:{a},discovered-from:{b}")],
    );
    for step in [
        vec![
            "update",
            &b,
            "--title",
            "Beta renamed",
            "-p",
            "0",
            "--add-label",
            "l1",
        ],
        vec!["update", &e, "--status", "review"],
        vec!["claim", &c],
        vec!["unclaim", &c],
        vec!["update", &c, "--claim"],
        vec!["comment", &c, "first"],
        vec!["comment", &c, "second\nline"],
        vec!["label", "add", &b, "l0"],
        vec!["label", "add", &b, &d, "l2"],
        vec!["label", "remove", &b, "l1"],
        vec!["dep", "add", &d, &b, "--type", "related"],
        vec!["dep", "add", &d, &c],
        vec!["dep", "remove", &d, &c],
        vec!["close", &c],
        vec!["reopen", &c],
        vec!["close", &c, "--reason", "done"],
        vec!["defer", &b, "--until", "2031-05-06"],
        vec!["undefer", &b],
        vec!["delete", &e, "--reason", "dup"],
        vec!["update", &a, "--description", "changed"],
        vec!["update", &a, "--remove-label", "zeta"],
    ] {
        env.bd(&step).ok();
        let text = env.issues_text();
        assert_lines_valid(&v, &text, &format!("after bd {}", step.join(" ")));
        assert_canonical(&text);
    }
    env.bd(&["restore", &e]).ok();
    let text = env.issues_text();
    assert_lines_valid(&v, &text, "at the end");
    assert_canonical(&text);
    let recs = env.records();
    assert_eq!(recs.len(), 5);
    assert_eq!(env.record(&a)["title"], "Alpha with every field");
    assert!(env.record(&c)["_stamps"]["claim_epoch"].as_u64().unwrap() >= 3);
    assert_eq!(env.record(&c)["comments"].as_array().unwrap().len(), 2);
    // Every known key appears somewhere, so the canonical order was checked for it.
    let seen: BTreeSet<&str> = recs
        .iter()
        .flat_map(|r| r.as_object().unwrap().keys().map(String::as_str))
        .collect();
    for k in [
        "description",
        "design",
        "acceptance_criteria",
        "notes",
        "assignee",
        "owner",
        "estimated_minutes",
        "due_at",
        "external_ref",
        "labels",
        "dependencies",
        "comments",
        "closed_at",
        "close_reason",
        "started_at",
        "_stamps",
    ] {
        assert!(
            seen.contains(k),
            "no record has {k}: the test misses a field"
        );
    }
}

#[test]
fn imported_classic_file_stays_valid_and_untouched_lines_keep_their_bytes() {
    let env = TestEnvironment::new();
    let v = Validator::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/classic/issues.jsonl");
    env.bd(&["import", fixture.to_str().unwrap()]).ok();
    let before = env.issues_text();
    assert_lines_valid(&v, &before, "after import");
    let first = jsonl(&before)[0]["id"].as_str().unwrap().to_string();
    env.bd(&["comment", &first, "a note"]).ok();
    env.bd(&["label", "add", &first, "schema"]).ok();
    let after = env.issues_text();
    assert_lines_valid(&v, &after, "after editing a classic record");
    let (b0, a0): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(b0.len(), a0.len());
    for (x, y) in b0.iter().zip(&a0).skip(1) {
        assert_eq!(x, y, "a line bd did not change was rewritten");
    }
    assert_ne!(b0[0], a0[0]);
    let rec: Value = serde_json::from_str(a0[0]).unwrap();
    assert!(rec["_stamps"]["comments"].is_string(), "{rec}");
    // Unknown keys survive (await_type/await_id/timeout of the gate record).
    assert!(after.contains("\"await_type\""));
}

// ------------------------------------------------------------ mail.jsonl and hook files

/// Check what SPEC §6 promises about a `mail.jsonl` bd wrote: sorted by id,
/// `\n` after every line, compact, keys in bd's order (`_stamps` last).
#[track_caller]
fn assert_mail_canonical(text: &str, what: &str) {
    use strand::model::mail::KEY_ORDER as MAIL_ORDER;
    assert!(text.ends_with('\n'), "{what}: no final newline");
    let mut last = String::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap().to_string();
        assert!(id > last, "{what}: {id} is not after {last}");
        assert_eq!(serde_json::to_string(&v).unwrap(), line, "{what}: {id}");
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = MAIL_ORDER
            .iter()
            .copied()
            .filter(|k| keys.contains(k))
            .collect();
        if keys.contains(&"_stamps") {
            expected.push("_stamps");
        }
        assert_eq!(keys, expected, "{what}: {id}: key order");
        last = id;
    }
}

#[test]
fn mail_written_by_bd_matches_message_schema() {
    let (a, b) = two_projects();
    let v = Validator::new();
    a.bd(&["agent", "register", "bob"]).ok();
    let file = a.tmp.path().join("log.txt");
    std::fs::write(&file, "trace\n").unwrap();
    let file = file.to_str().unwrap();
    let send = |env: &TestEnvironment, args: &[&str]| -> String {
        let mut all = vec!["--json", "mail", "send"];
        all.extend_from_slice(args);
        let r = env.bd(&all).ok().json();
        r["id"].as_str().unwrap().to_string()
    };
    let local = send(
        &a,
        &[
            "--to",
            "bob",
            "--cc",
            "@all",
            "--subject",
            "Local",
            "--attach",
            file,
            "--ack",
        ],
    );
    send(
        &a,
        &[
            "--to",
            "@example.com/b",
            "--subject",
            "Crash",
            "--body",
            "repro",
            "--attach",
            file,
            "-t",
            "feature",
        ],
    );
    send(
        &a,
        &[
            "--to",
            "project:example.com/nowhere",
            "--subject",
            "Waits",
            "--importance",
            "low",
        ],
    );
    b.bd(&["list"]).ok(); // imports
    let imported = b.json(&["mail", "inbox"]);
    let mid = imported[0]["id"].as_str().unwrap().to_string();
    b.bd(&["mail", "reply", &mid, "--body", "on it"]).ok();
    a.bd(&["--actor", "bob", "mail", "read", &local]).ok();
    a.bd(&["--actor", "bob", "mail", "ack", &local]).ok();
    a.bd(&["--actor", "bob", "mail", "reply", &local, "--body", "ok"])
        .ok();
    a.bd(&["list"]).ok(); // records the delivery, imports the reply
    b.bd(&["list"]).ok();
    let mut texts = Vec::new();
    for (env, what) in [(&a, "a"), (&b, "b")] {
        let text = std::fs::read_to_string(env.beads().join("mail.jsonl")).unwrap();
        let n = assert_jsonl_valid(&v, "message.schema.json", &text, what);
        assert!(n >= 2, "{what}: only {n} messages");
        assert_mail_canonical(&text, what);
        texts.push(text);
    }
    // Every optional part appears somewhere, so the schema was tried on it.
    for key in [
        "\"in_reply_to\"",
        "\"cc\"",
        "\"attachments\"",
        "\"issue_type\"",
        "\"delivered\"",
        "\"pending\"",
        "\"seen_at\"",
        "\"read_by\"",
        "\"acked_by\"",
        "\"_stamps\"",
    ] {
        assert!(texts[0].contains(key), "a's mail.jsonl has no {key}");
    }
    assert!(texts[1].contains("\"issue\""), "b's copy names its item");
}

#[test]
fn message_schemas_list_the_keys_bd_writes() {
    let load = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(schema_root().join(name)).unwrap()).unwrap()
    };
    let keys = |doc: &Value| -> Vec<String> {
        doc["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let file = keys(&load("message.schema.json"));
    let mut order: Vec<String> = strand::model::mail::KEY_ORDER
        .iter()
        .map(|k| k.to_string())
        .collect();
    order.push("_stamps".into());
    assert_eq!(
        file, order,
        "message.schema.json lists the keys in bd's order"
    );
    // The output schemas close the object, so they must name every key
    // (and schema_version, which every object bd prints carries).
    let mut out_keys = keys(&load("output/message.schema.json"));
    assert_eq!(out_keys.remove(0), "schema_version");
    assert_eq!(out_keys, file);
    let mut send = vec!["schema_version".to_string()];
    send.extend(file.iter().cloned());
    send.push("pending".into());
    send.push("remote".into());
    assert_eq!(keys(&load("output/mail-send.schema.json")), send);
}

#[test]
fn hook_files_written_by_bd_match_hook_schema() {
    let env = TestEnvironment::new();
    let v = Validator::new();
    let agent = "Agent One";
    let path = env
        .beads()
        .join("hooks")
        .join(format!("{}.json", strand::files::escape(agent)));
    let ids: Vec<String> = (0..3).map(|i| env.create(&format!("W{i}"), &[])).collect();
    let check = |what: &str| -> Value {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{what}: {}: {e}", path.display()));
        assert!(text.ends_with('\n'), "{what}: no final newline");
        assert_eq!(text.lines().count(), 1, "{what}: not one line");
        let h: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            text.trim_end(),
            "{what}"
        );
        assert_valid(&v, "hook.schema.json", &h, what);
        let items: Vec<&str> = h["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap())
            .collect();
        let mut sorted = items.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(items, sorted, "{what}: items");
        h
    };
    env.bd(&["sling", &ids[2], agent, "--note", "start here"])
        .ok();
    let h = check("after one sling");
    assert_eq!(h["note"], "start here");
    env.bd(&["sling", &ids[0], agent]).ok();
    env.bd(&["sling", &ids[1], agent]).ok();
    let h = check("after three");
    assert_eq!(h["items"].as_array().map(Vec::len), Some(3));
    env.bd(&["unhook", &ids[1], "--agent", agent]).ok();
    check("after unhooking one");
    env.bd(&["unhook", "--agent", agent]).ok();
    assert!(!path.exists(), "an empty hook is removed");
}

// ------------------------------------------------------------ config.toml

fn toml_as_json(text: &str) -> Value {
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("config.toml is not TOML: {e}\n{text}"));
    serde_json::to_value(&table).expect("TOML tables convert to JSON")
}

#[test]
fn config_after_setting_every_key_matches_config_schema() {
    use strand::store::config::{KEYS, Kind};
    let env = TestEnvironment::new();
    let v = Validator::new();
    let path = env.beads().join("config.toml");
    let initial = toml_as_json(&std::fs::read_to_string(&path).unwrap());
    assert_valid(&v, "config.json", &initial, "config.toml after init");

    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_root().join("config.json")).unwrap())
            .unwrap();
    let documented = schema["properties"].as_object().unwrap();
    for (key, kind, _default, _help) in KEYS {
        assert!(documented.contains_key(*key), "config.json lacks {key}");
        let value = match kind {
            Kind::Prefix => "xy_1".to_string(),
            Kind::Choice(opts) => opts.last().unwrap().to_string(),
            Kind::Duration => "90s".to_string(),
            Kind::List => "a, b,c".to_string(),
            Kind::Size => "2048".to_string(),
            Kind::Text => format!("some {key}"),
        };
        let r = env.bd(&["--json", "config", "set", key, &value]).ok();
        assert_eq!(r.json()["changed"], true, "{key}");
        let now = toml_as_json(&std::fs::read_to_string(&path).unwrap());
        assert_valid(
            &v,
            "config.json",
            &now,
            &format!("config.toml after set {key}"),
        );
    }
    for (k, val) in [
        ("lease", "2h"),
        ("commit_window", "1d"),
        ("projects.other", "github.com/o/r"),
    ] {
        env.bd(&["config", "set", k, val]).ok();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let cfg = toml_as_json(&text);
    assert_valid(&v, "config.json", &cfg, "config.toml with every key");
    assert_eq!(
        cfg["custom_statuses"],
        json!(["a", "b", "c"]),
        "lists are written as arrays"
    );
    assert_eq!(cfg["attachment_limit"], 2048);
    assert_eq!(cfg["projects"]["other"], "github.com/o/r");
    for (key, ..) in KEYS {
        assert!(cfg.get(*key).is_some(), "{key} was not written");
    }
    // A key this version does not know survives and is allowed (top level,
    // so before the first table).
    std::fs::write(&path, format!("future_key = {{ a = 1 }}\n{text}")).unwrap();
    env.bd(&["config", "set", "lease", "3h"]).ok();
    let cfg = toml_as_json(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(cfg["future_key"]["a"], 1);
    assert_valid(&v, "config.json", &cfg, "config.toml with an unknown key");
}

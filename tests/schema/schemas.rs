//! The schemas themselves, and the validator.

use super::*;

// ------------------------------------------------------------ the schema files

#[test]
fn schema_files_are_json_and_use_only_supported_keywords() {
    let files = schema_files();
    for must in [
        "issue.schema.json",
        "config.json",
        "output/error.schema.json",
    ] {
        assert!(files.iter().any(|f| f == must), "schema/{must} is missing");
    }
    let v = Validator::new();
    let mut refs = 0;
    for f in &files {
        // config.json keeps the name SPEC §2 gives it.
        assert!(
            f.ends_with(".schema.json") || f == "config.json",
            "{f}: name it *.schema.json"
        );
        let path = schema_root().join(f);
        let doc = v.load(&path);
        assert_eq!(doc["$schema"], DRAFT, "{f}: $schema");
        assert!(doc["title"].is_string(), "{f}: give it a title");
        let mut problems = Vec::new();
        walk_schema(&v, &path, &doc, "", &mut problems, &mut refs);
        assert!(problems.is_empty(), "{f}:\n  {}", problems.join("\n  "));
    }
    assert!(refs > 10, "only {refs} $refs checked");
}

/// Check every subschema: only supported keywords, `$ref`s that resolve,
/// patterns that compile, well-formed `required`.
fn walk_schema(
    v: &Validator,
    file: &Path,
    s: &Value,
    at: &str,
    problems: &mut Vec<String>,
    refs: &mut usize,
) {
    let m = match s {
        Value::Bool(_) => return,
        Value::Object(m) => m,
        other => {
            problems.push(format!(
                "{at}: a schema must be an object or a boolean, not {other}"
            ));
            return;
        }
    };
    for (k, x) in m {
        let sub_at = format!("{at}/{k}");
        match k.as_str() {
            "$ref" => match x.as_str().map(|r| v.resolve(file, r)) {
                Some(Ok(_)) => *refs += 1,
                Some(Err(e)) => problems.push(format!("{sub_at}: {e}")),
                None => problems.push(format!("{sub_at}: not a string")),
            },
            "pattern" => {
                if let Err(e) = re::Regex::new(x.as_str().unwrap_or("(")) {
                    problems.push(format!("{sub_at}: {e}"));
                }
            }
            "required" => {
                if !x.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
                    problems.push(format!("{sub_at}: must be an array of strings"));
                }
            }
            "type" => {
                let ok = |t: &Value| {
                    t.as_str().is_some_and(|t| {
                        [
                            "null", "boolean", "object", "array", "string", "number", "integer",
                        ]
                        .contains(&t)
                    })
                };
                if !(ok(x) || x.as_array().is_some_and(|a| a.iter().all(ok))) {
                    problems.push(format!("{sub_at}: unknown type {x}"));
                }
            }
            "properties" | "$defs" => {
                for (name, sub) in x.as_object().into_iter().flatten() {
                    walk_schema(v, file, sub, &format!("{sub_at}/{name}"), problems, refs);
                }
            }
            "items" | "additionalProperties" => walk_schema(v, file, x, &sub_at, problems, refs),
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                for (i, sub) in x.as_array().into_iter().flatten().enumerate() {
                    walk_schema(v, file, sub, &format!("{sub_at}/{i}"), problems, refs);
                }
            }
            k if ASSERTIONS.contains(&k) || ANNOTATIONS.contains(&k) => {}
            k => problems.push(format!("{sub_at}: unsupported keyword {k}")),
        }
    }
}

#[test]
fn regex_subset_behaves_like_a_regex() {
    let cases: &[(&str, &str, bool)] = &[
        ("^a+$", "aaa", true),
        ("^a+$", "", false),
        ("^a*$", "", true),
        ("b", "abc", true),
        ("^b", "abc", false),
        ("c$", "abc", true),
        ("^[a-c]{2,3}$", "ab", true),
        ("^[a-c]{2,3}$", "abca", false),
        ("^[a-c]{2}$", "a", false),
        ("^[^ ]+ .*$", "2026 actor name", true),
        ("^[^ ]+ .*$", "nospace", false),
        (r"^\d{4}-\d\d$", "2026-01", true),
        (r"^\w+\s\S$", "ab_1 x", true),
        (r"^a(\.[0-9]+)*$", "a.1.22", true),
        (r"^a(\.[0-9]+)*$", "a.", false),
        ("^(Z|[+-][0-9]{2}:[0-9]{2})$", "Z", true),
        ("^(Z|[+-][0-9]{2}:[0-9]{2})$", "-08:00", true),
        ("^(Z|[+-][0-9]{2}:[0-9]{2})$", "08:00", false),
        ("^(?:ab|a)b$", "ab", true),
        ("^(a|ab)(c|bcd)$", "abcd", true),
        ("^[0-9]*[1-9][0-9]*[smhd]?$", "10m", true),
        ("^[0-9]*[1-9][0-9]*[smhd]?$", "00m", false),
        ("^[0-9]*[1-9][0-9]*[smhd]?$", "15", true),
        ("^(a*)*$", "aaaa", true),
        ("^x{0}y$", "y", true),
        ("^é.$", "éé", true),
        ("^[A-Za-z0-9_]+-[A-Za-z0-9_-]+$", "bd-a-b", true),
        ("^[A-Za-z0-9_]+-[A-Za-z0-9_-]+$", "bd-", false),
    ];
    for (p, s, want) in cases {
        let r = re::Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(r.is_match(s), *want, "{p} on {s:?}");
    }
    for bad in ["(a", "a)", "*a", "[a", r"\q", "a{2,1}", "a*?", "[z-a]"] {
        assert!(re::Regex::new(bad).is_err(), "{bad} should not compile");
    }
}

/// The validator must fail what the schemas forbid, or the other tests prove nothing.
#[test]
fn validator_rejects_what_the_schemas_forbid() {
    let v = Validator::new();
    let good = json!({"id": "bd-a1b", "title": "T", "status": "open", "priority": 2,
        "created_at": "2026-01-01T00:00:00-08:00", "estimated_minutes": 30,
        "labels": ["a"], "comments": [{"id": 1, "issue_id": "bd-a1b", "author": "x", "text": "t",
        "created_at": "2026-01-01T00:00:00Z"}],
        "dependencies": [{"issue_id": "bd-a1b", "depends_on_id": "bd-c", "type": "blocks"}],
        "_stamps": {"title": "2026-01-01T00:00:00.000000001Z me", "claim_epoch": 2},
        "some_future_key": {"x": [1]}});
    assert_valid(&v, "issue.schema.json", &good, "a good record");
    let bad: &[(&str, Value)] = &[
        ("/id", json!(null)),
        ("/id", json!("no_dash")),
        ("/id", json!("bd-x.y")),
        ("/title", json!("")),
        ("/title", json!("x".repeat(501))),
        ("/status", json!(3)),
        ("/priority", json!(5)),
        ("/priority", json!(-1)),
        ("/priority", json!("P1")),
        ("/priority", json!(1.5)),
        ("/labels", json!("a,b")),
        ("/labels/0", json!(1)),
        ("/created_at", json!("yesterday")),
        ("/created_at", json!("2026-01-01 00:00:00")),
        ("/comments/0/id", json!("c1")),
        ("/comments/0/id", json!(9007199254740992u64)),
        ("/dependencies/0/type", json!(null)),
        ("/_stamps/title", json!("2026-01-01T00:00:00Z")),
        ("/_stamps/claim_epoch", json!("1")),
        ("/estimated_minutes", json!("30")),
    ];
    for (ptr, val) in bad {
        let mut rec = good.clone();
        *rec.pointer_mut(ptr).unwrap_or_else(|| panic!("{ptr}")) = val.clone();
        assert!(
            !v.errors("issue.schema.json", &rec).is_empty(),
            "{ptr} = {val} should be refused"
        );
    }
    for missing in ["id", "title", "status", "priority"] {
        let mut rec = good.clone();
        rec.as_object_mut().unwrap().remove(missing);
        assert!(
            !v.errors("issue.schema.json", &rec).is_empty(),
            "without {missing}"
        );
    }
    let mut rec = good.clone();
    rec["comments"][0].as_object_mut().unwrap().remove("text");
    assert!(
        !v.errors("issue.schema.json", &rec).is_empty(),
        "comment without text"
    );

    // Output schemas: counts required, _stamps forbidden, codes closed.
    assert!(!v.errors("output/issue.schema.json", &good).is_empty());
    let mut out = good.clone();
    out.as_object_mut().unwrap().remove("_stamps");
    for (k, x) in [
        ("dependency_count", json!(1)),
        ("dependent_count", json!(0)),
        ("comment_count", json!(1)),
        ("parent", json!(null)),
    ] {
        out[k] = x;
    }
    assert_valid(&v, "output/issue.schema.json", &out, "an output issue");
    out["parent"] = json!(3);
    assert!(!v.errors("output/issue.schema.json", &out).is_empty());
    let err = json!({"error": "x", "code": "not_found", "hint": null});
    assert_valid(&v, "output/error.schema.json", &err, "an error");
    for bad in [
        json!({"error": "x", "code": "oops", "hint": null}),
        json!({"error": "x", "code": "io"}),
        json!({"error": "x", "code": "io", "hint": null, "extra": 1}),
        json!({"error": "", "code": "io", "hint": "h"}),
    ] {
        assert!(
            !v.errors("output/error.schema.json", &bad).is_empty(),
            "{bad}"
        );
    }
    // Messages: the file form, the output forms.
    let msg = json!({"id": "msg-0123456789ab", "thread": "msg-0123456789ab", "from": "ann",
        "to": ["bob", "@all", "carl@example.com/b", "@example.com/b"], "cc": ["dave"],
        "subject": "s", "body": "", "importance": "high", "ack_required": true,
        "attachments": [{"name": "a.txt", "sha256": "0".repeat(64), "size": 3}],
        "issue": "bd-a1b", "issue_type": "bug",
        "delivery": {"example.com/b": {"status": "delivered", "issue": "bz-x1",
            "issue_status": "open", "seen_at": "2026-01-01T00:00:00Z"},
            "example.com/c": {"status": "pending"}},
        "created_at": "2026-01-01T00:00:00Z", "read_by": {"bob": "2026-01-01T00:00:01Z"},
        "acked_by": {"bob": "2026-01-01T00:00:02Z"},
        "_stamps": {"delivery": "2026-01-01T00:00:03.000000000Z ann"}, "future": 1});
    assert_valid(&v, "message.schema.json", &msg, "a good message line");
    let bad: &[(&str, Value)] = &[
        ("/id", json!("msg-short")),
        ("/id", json!("msg-0123456789AB")),
        ("/thread", json!(null)),
        ("/from", json!("")),
        ("/to", json!([])),
        ("/to/0", json!(" bob")),
        ("/to/0", json!("a@b@c")),
        ("/to/0", json!("@")),
        ("/cc", json!([])),
        ("/subject", json!("")),
        ("/importance", json!("meh")),
        ("/ack_required", json!("yes")),
        ("/attachments/0/sha256", json!("XYZ")),
        ("/attachments/0/size", json!(-1)),
        ("/issue", json!("nodash")),
        (
            "/delivery/example.com~1c",
            json!({"status": "pending", "issue": "bz-1"}),
        ),
        ("/delivery/example.com~1c", json!({"status": "delivered"})),
        ("/delivery/example.com~1c", json!({"status": "lost"})),
        ("/created_at", json!("yesterday")),
        ("/read_by/bob", json!(true)),
        ("/_stamps/delivery", json!("2026-01-01T00:00:00Z")),
    ];
    for (ptr, val) in bad {
        let mut m = msg.clone();
        *m.pointer_mut(ptr).unwrap_or_else(|| panic!("{ptr}")) = val.clone();
        assert!(
            !v.errors("message.schema.json", &m).is_empty(),
            "message {ptr} = {val} should be refused"
        );
    }
    let mut out_msg = msg.clone();
    for k in ["_stamps", "future"] {
        out_msg.as_object_mut().unwrap().remove(k);
    }
    assert_valid(
        &v,
        "output/message.schema.json",
        &out_msg,
        "an output message",
    );
    for k in ["_stamps", "future", "pending"] {
        let mut m = out_msg.clone();
        m[k] = msg["_stamps"].clone();
        assert!(
            !v.errors("output/message.schema.json", &m).is_empty(),
            "{k} in an output message"
        );
    }
    let mut sent = out_msg.clone();
    assert!(!v.errors("output/mail-send.schema.json", &sent).is_empty());
    sent["pending"] = json!(["example.com/c"]);
    for k in ["read_by", "acked_by"] {
        sent.as_object_mut().unwrap().remove(k);
    }
    assert_valid(&v, "output/mail-send.schema.json", &sent, "a sent message");
    // Dispatch pairs: [issue, agent], exactly two.
    let plan = json!({"recovered": [["bd-a1", "old"]], "slung": [["bd-a2", "agent-1"]],
        "left": 0, "dry_run": false, "pruned": 0, "gates_resolved": ["bd-g1"]});
    assert_valid(&v, "output/dispatch.schema.json", &plan, "a dispatch round");
    for (ptr, val) in [
        ("/slung/0", json!(["bd-a2"])),
        ("/slung/0", json!(["bd-a2", "agent-1", "x"])),
        ("/slung/0/1", json!("a@b")),
        ("/slung/0/0", json!(1)),
        ("/recovered/0/1", json!("")),
        ("/left", json!(-1)),
    ] {
        let mut p = plan.clone();
        *p.pointer_mut(ptr).unwrap() = val.clone();
        assert!(
            !v.errors("output/dispatch.schema.json", &p).is_empty(),
            "dispatch {ptr} = {val} should be refused"
        );
    }
    // Hook files.
    let hook = json!({"agent": "agent-1", "items": ["bd-a1"], "attached_by": "me",
        "attached_at": "2026-01-01T00:00:00Z", "note": "n"});
    assert_valid(&v, "hook.schema.json", &hook, "a hook file");
    for (ptr, val) in [
        ("/agent", json!("a@b")),
        ("/agent", json!(" a")),
        ("/items", json!([])),
        ("/items/0", json!("nodash")),
        ("/attached_at", json!("")),
        ("/note", json!(null)),
    ] {
        let mut h = hook.clone();
        *h.pointer_mut(ptr).unwrap() = val.clone();
        assert!(
            !v.errors("hook.schema.json", &h).is_empty(),
            "hook {ptr} = {val} should be refused"
        );
    }
    let mut h = hook.clone();
    h["extra"] = json!(1);
    assert!(!v.errors("hook.schema.json", &h).is_empty());

    // oneOf: exactly one branch.
    assert!(!v.errors("output/show.schema.json", &json!([])).is_empty());
    assert!(
        !v.errors("output/ready-claim.schema.json", &json!([out, out]))
            .is_empty()
    );
    // $ref recursion.
    let tree = json!({"id": "a", "title": "A", "status": "open", "priority": 1, "dependency_type": "",
        "children": [{"id": "b", "title": "B", "status": "open", "priority": 1,
            "dependency_type": "blocks", "children": [{"id": "a"}]}]});
    assert!(!v.errors("output/dep-tree.schema.json", &tree).is_empty());
    // Config.
    for bad in [
        json!({"auto_commit": "sometimes"}),
        json!({"prefix": "9x"}),
        json!({"lease": "0m"}),
        json!({"lease": 15}),
        json!({"attachment_limit": "1MiB"}),
        json!({"coordination": "cluster"}),
        json!({"custom_types": [1]}),
        json!({"projects": {"a": 1}}),
    ] {
        assert!(!v.errors("config.json", &bad).is_empty(), "{bad}");
    }
}

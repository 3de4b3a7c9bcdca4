//! Every `bd mcp` tool's structured result matches the schema of the
//! command it runs (an array is wrapped as `{"items": …}`: its items are
//! checked against the list's schema), and a refusal carries the error
//! document's shape.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use super::*;

/// A `bd mcp --tools all` spoken to line by line (JSON-RPC over stdio).
struct Mcp {
    child: Child,
    stdin: ChildStdin,
    lines: std::io::Lines<BufReader<ChildStdout>>,
    next: u64,
}

impl Mcp {
    fn start(env: &TestEnvironment) -> Mcp {
        Mcp::start_with(env, &["--tools", "all"])
    }

    fn start_with(env: &TestEnvironment, extra: &[&str]) -> Mcp {
        let mut args = vec!["mcp"];
        args.extend_from_slice(extra);
        let mut child = env
            .cmd(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("bd mcp starts");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut m = Mcp {
            child,
            stdin,
            lines,
            next: 0,
        };
        m.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "schema-test", "version": "1"}}),
        );
        writeln!(
            m.stdin,
            "{}",
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        )
        .unwrap();
        m
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        writeln!(self.stdin, "{req}").unwrap();
        loop {
            let line = self.lines.next().expect("an answer").unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["id"] == id {
                return v;
            }
        }
    }

    /// A tool's result: (is_error, structured content).
    fn call(&mut self, tool: &str, args: Value) -> (bool, Value) {
        let v = self.request("tools/call", json!({"name": tool, "arguments": args}));
        let r = &v["result"];
        assert!(r.is_object(), "{tool}: {v}");
        (r["isError"] == true, r["structuredContent"].clone())
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn every_mcp_tool_result_matches_its_schema() {
    let ck = Checker::new();
    let env = TestEnvironment::new();
    let epic = env.create("Epic", &["-t", "epic"]);
    let a = env.create("Alpha", &["--parent", &epic, "-l", "ui"]);
    let b = env.create("Beta", &["--deps", &a]);
    let c = env.create("Gamma", &[]);
    let d = env.create("Delta", &[]);
    env.bd(&["convoy", "create", "Batch", &c]).ok();
    let convoy = env
        .records()
        .into_iter()
        .find(|r| r["issue_type"] == "convoy")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let attach = env.folder("m").join("repro.txt");
    std::fs::write(&attach, "steps").unwrap();
    let mut m = Mcp::start(&env);

    // (tool, arguments, schema of the command's --json; `[]` when the
    // result is a list, checked item by item through the list's schema)
    let cases: Vec<(&str, Value, &str)> = vec![
        ("prime", json!({}), "prime"),
        ("ready", json!({"limit": 5}), "issue-list"),
        ("list", json!({"all": true}), "issue-list"),
        ("search", json!({"query": "alpha"}), "issue-list"),
        ("show", json!({"ids": [a]}), "show"),
        ("show", json!({"ids": [a, b]}), "show"),
        (
            "create",
            json!({"title": "New", "labels": ["x"], "deps": [a]}),
            "issue",
        ),
        (
            "update",
            json!({"ids": [c], "notes": "n", "priority": "1"}),
            "issue-list",
        ),
        ("claim", json!({"ids": [c]}), "issue"),
        ("unclaim", json!({"ids": [c]}), "issue"),
        ("comment", json!({"id": a, "text": "hello"}), "comment"),
        (
            "dep_add",
            json!({"issue": c, "depends_on": a, "type": "related"}),
            "issue",
        ),
        ("dep_remove", json!({"issue": c, "depends_on": a}), "issue"),
        ("heartbeat", json!({"note": "working"}), "agent"),
        (
            "mail_send",
            json!({"to": ["tester"], "subject": "hi", "body": "b"}),
            "mail-send",
        ),
        ("mail_inbox", json!({"all": true}), "mail-list"),
        // No remote here: the fetch is a warning, the inbox is given.
        ("mail_inbox", json!({"fetch": true}), "mail-list"),
        ("agents", json!({}), "agents"),
        ("sling", json!({"id": c, "agent": "tester"}), "issue"),
        ("hook", json!({}), "hook"),
        ("unhook", json!({"id": c}), "unhook"),
        ("convoy_status", json!({"convoy": convoy}), "convoy-status"),
        ("blocked", json!({}), "blocked"),
        ("stats", json!({}), "stats"),
        ("label_add", json!({"ids": [c], "label": "l"}), "issue"),
        ("label_remove", json!({"ids": [c], "label": "l"}), "issue"),
        ("defer", json!({"ids": [c], "until": "+2d"}), "issue"),
        ("dep_tree", json!({"id": b}), "dep-tree"),
        ("children", json!({"id": epic}), "issue-list"),
        (
            "close",
            json!({"ids": [d], "reason": "done", "actor": "carol"}),
            "issue-list",
        ),
        (
            "reopen",
            json!({"ids": [d], "reason": "again"}),
            "issue-list",
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (tool, args, schema) in &cases {
        check(&ck, &mut m, tool, args, schema);
        seen.insert(*tool);
    }
    // Mail read, reply, ack, thread: on the message just sent.
    let (_, inbox) = m.call("mail_inbox", json!({"all": true}));
    let id = inbox["items"][0]["id"].as_str().unwrap().to_string();
    for (tool, args, schema) in [
        ("mail_read", json!({"id": id}), "message"),
        ("mail_reply", json!({"id": id, "body": "ok"}), "mail-send"),
        ("mail_ack", json!({"id": id}), "message"),
        ("mail_thread", json!({"id": id}), "mail-list"),
        ("mail_list", json!({}), "mail-list"),
        ("runs", json!({"limit": 0}), "runs"),
    ] {
        check(&ck, &mut m, tool, &args, schema);
        seen.insert(tool);
    }
    // The other verbs (`--tools all`): (tool, arguments, schema; a name
    // under `classic/` is classic's shape, the verb having no other).
    let e2 = env.create("Epic two", &["-t", "epic"]);
    let k = env.create("Kid", &["--parent", &e2]);
    env.bd(&["close", &k]).ok();
    let gone = env.create("To delete", &[]);
    let imp = env.folder("m").join("in.jsonl");
    std::fs::write(
        &imp,
        "{\"id\":\"bd-imp9\",\"title\":\"Imported\",\"status\":\"open\",\"priority\":2,\"issue_type\":\"task\",\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":\"2026-01-01T00:00:00Z\"}\n",
    )
    .unwrap();
    let mut more: Vec<(&str, Value, &str)> = vec![
        ("note", json!({"id": a, "text": "a line"}), "issue-list"),
        ("assign", json!({"id": a, "name": "zoe"}), "issue-list"),
        ("priority", json!({"id": a, "priority": "3"}), "issue-list"),
        (
            "link",
            json!({"id1": c, "id2": a, "type": "related"}),
            "issue",
        ),
        ("dep_list", json!({"ids": [b]}), "dep-list"),
        (
            "dep_list",
            json!({"ids": [a], "direction": "up"}),
            "dep-list",
        ),
        ("dep_relate", json!({"id1": a, "id2": c}), "issue-list"),
        ("dep_unrelate", json!({"id1": a, "id2": c}), "issue-list"),
        ("dep_cycles", json!({}), "dep-cycles"),
        ("comments", json!({"id": a}), "comment-list"),
        (
            "checkpoint",
            json!({"id": a, "text": "half done", "next": "the rest"}),
            "comment",
        ),
        ("log", json!({"id": a}), "log"),
        (
            "reserve",
            json!({"globs": ["src/**"], "reason": "mcp", "ttl": "30m"}),
            "reserve",
        ),
        ("reservations", json!({"all": true}), "reservations"),
        ("release", json!({"globs": ["src/**"]}), "release"),
        ("stale", json!({"days": 1}), "issue-list"),
        ("count", json!({"by": "status"}), "count"),
        ("label_list", json!({"id": a}), "label-list"),
        (
            "todo_add",
            json!({"title": "A todo", "priority": "1"}),
            "issue",
        ),
        ("todo_list", json!({"all": true}), "issue-list"),
        ("convoy_list", json!({}), "convoy-list"),
        (
            "convoy_create",
            json!({"name": "Second", "ids": [a]}),
            "issue",
        ),
        ("convoy_add", json!({"convoy": convoy, "ids": [b]}), "issue"),
        (
            "agent_register",
            json!({"name": "robo", "kind": "claude"}),
            "agent",
        ),
        (
            "agent_unregister",
            json!({"name": "robo"}),
            "agent-unregister",
        ),
        ("dispatch", json!({"dry_run": true}), "dispatch"),
        ("where", json!({}), "where"),
        ("info", json!({"schema": true}), "info"),
        ("statuses", json!({}), "statuses"),
        ("types", json!({}), "types"),
        ("config_list", json!({}), "config-list"),
        (
            "config_set",
            json!({"key": "lease", "value": "45m"}),
            "config-set",
        ),
        ("config_get", json!({"key": "lease"}), "config-get"),
        (
            "config_set",
            json!({"key": "projects.other.remote", "value": "/srv/other.git", "machine": true}),
            "config-set",
        ),
        (
            "config_get",
            json!({"key": "projects.other.remote", "machine": true}),
            "config-get",
        ),
        ("config_list", json!({"machine": true}), "config-machine"),
        ("doctor", json!({}), "doctor"),
        ("doctor", json!({"check": "pollution"}), "doctor-pollution"),
        ("diff", json!({}), "diff"),
        ("commit", json!({"message": "tracker"}), "commit"),
        ("history", json!({"id": a}), "classic/history"),
        ("label_list_all", json!({}), "classic/label-list-all"),
        ("epic_status", json!({}), "classic/epic-status"),
        (
            "epic_close_eligible",
            json!({"dry_run": true}),
            "classic/epic-close-eligible",
        ),
        (
            "import",
            json!({"file": imp.to_str().unwrap(), "dry_run": true}),
            "import",
        ),
        (
            "delete",
            json!({"ids": [gone], "reason": "not needed"}),
            "issue",
        ),
        ("restore", json!({"ids": [gone]}), "issue"),
        ("undefer", json!({"ids": [c]}), "issue"),
        (
            "duplicate",
            json!({"id": gone, "of": a}),
            "classic/duplicate",
        ),
        (
            "supersede",
            json!({"id": d, "with": a}),
            "classic/supersede",
        ),
        ("todo_done", json!({"ids": [gone]}), "issue-list"),
    ];
    // The worker loop: a worker started in the background (it finds no
    // work with that label, and stops), the workers, a prune.
    let plain = super::outputs::fake_agent("plain");
    more.push((
        "run",
        json!({"command": [plain], "agent": "mcp-w", "once": true, "label": ["no-such-label"]}),
        "run-detach",
    ));
    more.push(("workers", json!({}), "workers"));
    more.push(("run_prune", json!({}), "run-prune"));
    // Budgets and metrics: a budget on the epic, a spend on an item under it.
    more.push((
        "budget_set",
        json!({"target": epic, "tokens": 1000, "usd": "2.50"}),
        "budget-record",
    ));
    more.push((
        "budget_spend",
        json!({"tokens": 300, "usd": "0.25", "issue": a}),
        "budget-record",
    ));
    more.push(("budget", json!({"target": epic}), "budget"));
    more.push(("budget", json!({}), "budget-list"));
    more.push(("metrics", json!({"since": "7d"}), "metrics"));
    // prime with a checkpoint on a held item.
    let held = env.create("Held", &[]);
    more.push(("claim", json!({"ids": [held]}), "issue"));
    more.push(("checkpoint", json!({"text": "on the held one"}), "comment"));
    more.push(("prime", json!({}), "prime"));
    for (tool, args, schema) in &more {
        check(&ck, &mut m, tool, args, schema);
        seen.insert(*tool);
    }
    // Formulas, molecules and gates (issue 16).
    super::outputs::add_classic_formulas(&env);
    for (tool, args, schema) in [
        ("formula_list", json!({}), "formula-list"),
        ("formula_list", json!({"type": "workflow"}), "formula-list"),
        (
            "formula_show",
            json!({"name": "beads-release"}),
            "formula-show",
        ),
        ("formula_check", json!({}), "formula-check"),
        (
            "formula_check",
            json!({"names": ["release"], "var": ["version=1.2.3"]}),
            "formula-check",
        ),
        (
            "cook",
            json!({"name": "release", "mode": "compile"}),
            "cook",
        ),
        (
            "cook",
            json!({"name": "release", "var": ["version=1.2.3"]}),
            "cook",
        ),
        (
            "mol_pour",
            json!({"formula": "release", "var": ["version=1.2.3"], "dry_run": true}),
            "mol-pour",
        ),
    ] {
        check(&ck, &mut m, tool, &args, schema);
        seen.insert(tool);
    }
    // A check that finds problems fails, with the report.
    let (failed, data) = m.call(
        "formula_check",
        json!({"names": ["release"], "var": ["version=bad"]}),
    );
    assert!(failed, "{data}");
    ck.out("formula-check", &data, "mcp formula_check (a bad value)");
    let mol = check(
        &ck,
        &mut m,
        "mol_pour",
        &json!({"formula": "quick-check", "idempotency_key": "mcp"}),
        "mol-pour",
    );
    let mol = mol["new_epic_id"].as_str().unwrap().to_string();
    let step = format!("{mol}.1");
    let burnt = check(
        &ck,
        &mut m,
        "mol_pour",
        &json!({"formula": "release", "var": ["version=2.0.0"], "assignee": "zoe"}),
        "mol-pour",
    );
    let burnt = burnt["new_epic_id"].as_str().unwrap().to_string();
    let gate = check(
        &ck,
        &mut m,
        "gate_create",
        &json!({"blocks": [step], "type": "timer", "timeout": "2h", "reason": "cool off"}),
        "issue",
    );
    let gate = gate["id"].as_str().unwrap().to_string();
    seen.insert("gate_create");
    // A molecule waiting at its own gate (a human's sign-off).
    std::fs::write(
        env.beads().join("formulas/gated.formula.toml"),
        "formula = \"gated\"\n\n[[steps]]\nid = \"sign\"\ntitle = \"Sign off\"\n[steps.gate]\ntype = \"human\"\n",
    )
    .unwrap();
    let gated = check(
        &ck,
        &mut m,
        "mol_pour",
        &json!({"formula": "gated"}),
        "mol-pour",
    );
    let sign = gated["id_mapping"]["gated.sign"]
        .as_str()
        .unwrap()
        .to_string();
    let sign_gate = gated["id_mapping"]["gated.gate-sign"]
        .as_str()
        .unwrap()
        .to_string();
    for (tool, args, schema) in [
        ("mol_show", json!({"id": mol}), "mol-view"),
        ("mol_current", json!({"id": step}), "mol-list"),
        ("mol_current", json!({}), "mol-list"),
        ("mol_progress", json!({"id": mol}), "mol-progress"),
        ("mol_progress", json!({}), "mol-progress"),
        ("mol_list", json!({"all": true}), "mol-list"),
        ("gate_list", json!({}), "gate-list"),
        ("gate_show", json!({"id": gate}), "gate-view"),
        ("gate_check", json!({"dry_run": true}), "gate-check"),
        (
            "gate_check",
            json!({"ids": [gate], "type": ["timer"]}),
            "gate-check",
        ),
        ("gate_show", json!({"id": sign_gate}), "gate-view"),
        (
            "gate_resolve",
            json!({"id": gate, "reason": "enough"}),
            "issue",
        ),
        ("gate_resolve", json!({"id": sign_gate}), "issue"),
        ("gate_list", json!({"all": true}), "gate-list"),
        (
            "mol_burn",
            json!({"ids": [burnt], "dry_run": true}),
            "mol-burn",
        ),
        ("mol_burn", json!({"ids": [burnt]}), "mol-burn"),
    ] {
        check(&ck, &mut m, tool, &args, schema);
        seen.insert(tool);
    }
    // The molecule's gate resolved, the step behind it is ready past it.
    let ready = check(&ck, &mut m, "mol_ready", &json!({}), "mol-ready");
    assert_eq!(
        ready["molecules"][0]["ready_step"],
        sign.as_str(),
        "{ready}"
    );
    seen.insert("mol_ready");
    let mut close = vec!["close".to_string(), "--force".to_string()];
    close.extend((1..=4).map(|n| format!("{mol}.{n}")));
    env.bd(&close.iter().map(String::as_str).collect::<Vec<_>>())
        .ok();
    for args in [
        json!({"id": mol, "dry_run": true}),
        json!({"id": mol, "summary": "done", "delete_children": true}),
    ] {
        check(&ck, &mut m, "mol_squash", &args, "mol-squash");
    }
    seen.insert("mol_squash");
    // sync needs a remote: this tracker has none, a refusal.
    let (failed, data) = m.call("sync", json!({}));
    assert!(failed, "{data}");
    ck.out("error", &data, "mcp sync without a remote");
    seen.insert("sync");
    // doctor --remote probes a remote named in config (not origin: the
    // identity stays), here a bare repository beside the workspace.
    let bare = env.bare_remote();
    crate::common::git(
        &env.repo,
        &["remote", "add", "probe", bare.to_str().unwrap()],
    );
    env.bd(&["config", "set", "remote", "probe"]).ok();
    check(
        &ck,
        &mut m,
        "doctor",
        &json!({"remote": true}),
        "doctor-remote",
    );
    // discover, on a core server: the rest, then some loaded.
    let mut core = Mcp::start_with(&env, &[]);
    for args in [json!({}), json!({"names": ["sling"]})] {
        let (failed, data) = core.call("discover", args);
        assert!(!failed, "{data}");
        ck.out("mcp-discover", &data, "mcp discover");
    }
    // A refusal: the error document.
    let (failed, data) = m.call("claim", json!({"ids": ["bd-nothere9"]}));
    assert!(failed);
    ck.out("error", &data, "mcp claim of a missing issue");
    // Every tool but handoff was run (it needs a second project:
    // tests/mcp.rs).
    let listed = m.request("tools/list", json!({}));
    for t in listed["result"]["tools"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        assert!(
            seen.contains(name) || name == "handoff",
            "tool {name} has no schema check"
        );
    }
}

/// Call `tool` (it must succeed) and check its structured result against
/// `schema` (`output/…`, or classic's under `classic/`); a list wrapped as
/// `{"items": …}` is checked as the list. The document checked.
fn check(ck: &Checker, m: &mut Mcp, tool: &str, args: &Value, schema: &str) -> Value {
    let (failed, data) = m.call(tool, args.clone());
    assert!(!failed, "{tool}: {data}");
    let doc = match data.get("items") {
        Some(items) if data.as_object().is_some_and(|o| o.len() == 1) => items.clone(),
        _ => data,
    };
    match schema.strip_prefix("classic/") {
        Some(c) => {
            let file = format!("classic/{c}.schema.json");
            let errs = ck.v.errors(&file, &doc);
            assert!(
                errs.is_empty(),
                "mcp {tool} against {file}: {errs:?}\n{doc}"
            );
        }
        None => ck.out(schema, &doc, &format!("mcp {tool}")),
    }
    doc
}

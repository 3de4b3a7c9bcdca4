//! `bd mcp` driven by the official Rust MCP client (rmcp) over stdio, as an
//! agent's host drives it: initialize, list the tools, the agent loop
//! (prime → ready → claim → comment → close → mail send → inbox) in two
//! workspaces of one project (two servers, two actors), a claim race with
//! one winner, every structured result checked against its schema, and the
//! refusals (unknown tool, bad arguments, an ID that does not exist).

mod common;

use std::path::Path;

use common::Machine;
use rmcp::model::{CallToolRequestParams, ErrorCode, ReadResourceRequestParams, ResourceContents};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ServiceError, ServiceExt};
use serde_json::{Value, json};
use tokio::process::Command;

type Client = RunningService<RoleClient, ()>;

/// A `bd mcp` server in `ws` for `actor`, and a client connected to it.
async fn connect(m: &Machine, ws: &Path, actor: &str, extra: &[&str]) -> Client {
    connect_env(m, ws, actor, extra, &[]).await
}

async fn connect_env(
    m: &Machine,
    ws: &Path,
    actor: &str,
    extra: &[&str],
    vars: &[(&str, &str)],
) -> Client {
    let mut cmd = m.cmd(ws, actor, &[]);
    cmd.envs(vars.iter().copied());
    let envs: Vec<(std::ffi::OsString, std::ffi::OsString)> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
        .collect();
    let program = cmd.get_program().to_owned();
    let ws = ws.to_path_buf();
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let transport = TokioChildProcess::new(Command::new(program).configure(|c| {
        c.arg("mcp")
            .args(&extra)
            .current_dir(&ws)
            .envs(envs.iter().cloned());
        c.stderr(std::process::Stdio::null());
    }))
    .expect("bd mcp starts");
    ().serve(transport).await.expect("initialize")
}

fn args(v: Value) -> rmcp::model::JsonObject {
    v.as_object().expect("object").clone()
}

/// A tool call that must succeed: its structured content.
async fn ok(c: &Client, tool: &str, a: Value) -> Value {
    let r = c
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args(a)))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e:?}"));
    assert_eq!(r.is_error, Some(false), "{tool}: {r:?}");
    assert!(
        r.content[0].as_text().is_some_and(|t| !t.text.is_empty()),
        "{tool}: a short text"
    );
    r.structured_content.expect("structured content")
}

/// A tool call the verb refuses: its `{error, code, hint}`.
async fn refused(c: &Client, tool: &str, a: Value) -> Value {
    let r = c
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args(a)))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e:?}"));
    assert_eq!(r.is_error, Some(true), "{tool}: {r:?}");
    let d = r.structured_content.expect("structured content");
    assert!(d["error"].is_string() && d["code"].is_string(), "{d}");
    d
}

/// A call the server does not take: an MCP invalid-params error.
async fn invalid(c: &Client, tool: &str, a: Value) -> String {
    let err = c
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args(a)))
        .await
        .expect_err("refused");
    let ServiceError::McpError(e) = err else {
        panic!("expected an MCP error, got {err:?}")
    };
    assert_eq!(e.code, ErrorCode::INVALID_PARAMS);
    assert_eq!(e.data.as_ref().unwrap()["code"], "usage");
    e.message.to_string()
}

#[tokio::test]
async fn the_agent_loop_through_two_servers_of_one_project() {
    let m = Machine::new(3);
    let ann = connect(&m, &m.a, "ann", &[]).await;
    let bob = connect(&m, &m.b, "bob", &[]).await;

    let info = ann.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("bd")
    );
    let tools = ann.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for must in [
        "prime",
        "ready",
        "claim",
        "comment",
        "close",
        "mail_send",
        "mail_inbox",
        "discover",
    ] {
        assert!(names.contains(&must), "{must} missing from {names:?}");
    }
    assert!(!names.contains(&"sling"), "sling is not a core tool");

    let p = ok(&ann, "prime", json!({})).await;
    assert_eq!(p["actor"], "ann", "{p}");
    let ready = ok(&ann, "ready", json!({"limit": 5})).await;
    let top = ready["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(top, m.ids[0], "the priority-0 issue tops ready");

    // The claim race: both servers claim the top issue; one wins, the
    // other's tool error names the holder.
    let (ra, rb) = tokio::join!(
        ann.call_tool(
            CallToolRequestParams::new("claim").with_arguments(args(json!({"ids": [top]})))
        ),
        bob.call_tool(
            CallToolRequestParams::new("claim").with_arguments(args(json!({"ids": [top]})))
        ),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let wins: Vec<bool> = [&ra, &rb]
        .iter()
        .map(|r| r.is_error == Some(false))
        .collect();
    assert_eq!(
        wins.iter().filter(|w| **w).count(),
        1,
        "one winner: {ra:?} {rb:?}"
    );
    let (winner, loser, loser_result, winner_name) = if wins[0] {
        (&ann, &bob, rb, "ann")
    } else {
        (&bob, &ann, ra, "bob")
    };
    let lost = loser_result.structured_content.unwrap();
    assert_eq!(lost["code"], "conflict", "{lost}");
    assert!(
        lost["error"].as_str().unwrap().contains(winner_name),
        "{lost}"
    );
    let _ = loser;

    let c = ok(winner, "comment", json!({"id": top, "text": "on it"})).await;
    assert_eq!(c["author"], winner_name);
    let closed = ok(winner, "close", json!({"ids": [top], "reason": "done"})).await;
    assert_eq!(closed["items"][0]["status"], "closed", "{closed}");
    // The other workspace sees it closed at once (the machine's ledger).
    let shown = ok(loser, "show", json!({"ids": [top]})).await;
    assert_eq!(shown["ready"], false, "{shown}");

    // Mail between the two actors.
    let sent = ok(
        winner,
        "mail_send",
        json!({"to": [if winner_name == "ann" { "bob" } else { "ann" }], "subject": "done with it", "body": "closed"}),
    )
    .await;
    assert!(sent["id"].is_string(), "{sent}");
    let inbox = ok(loser, "mail_inbox", json!({})).await;
    assert_eq!(inbox["items"][0]["subject"], "done with it", "{inbox}");
    let id = inbox["items"][0]["id"].as_str().unwrap().to_string();
    let read = ok(loser, "mail_read", json!({"id": id})).await;
    assert_eq!(read["body"], "closed");

    // Resources: the prime text and an issue.
    let r = ann
        .read_resource(ReadResourceRequestParams::new(format!("bd://issue/{top}")))
        .await
        .unwrap();
    let ResourceContents::TextResourceContents { text, .. } = &r.contents[0] else {
        panic!("text contents")
    };
    let issue: Value = serde_json::from_str(text).unwrap();
    assert_eq!(issue["id"], top.as_str());
    let r = ann
        .read_resource(ReadResourceRequestParams::new("bd://prime"))
        .await
        .unwrap();
    assert!(
        matches!(&r.contents[0], ResourceContents::TextResourceContents { text, .. } if !text.is_empty())
    );
    ann.read_resource(ReadResourceRequestParams::new("bd://issue/bd-nothere9"))
        .await
        .expect_err("no such issue");

    ann.cancel().await.unwrap();
    bob.cancel().await.unwrap();
}

#[tokio::test]
async fn refusals_are_clear_and_the_server_stays_up() {
    let m = Machine::new(1);
    let c = connect(&m, &m.a, "ann", &[]).await;
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    let msg = invalid(&c, "no_such_tool", json!({})).await;
    assert!(msg.contains("no_such_tool"), "{msg}");
    let msg = invalid(&c, "claim", json!({})).await;
    assert!(msg.contains("missing argument 'ids'"), "{msg}");
    let msg = invalid(&c, "claim", json!({"ids": 3.5, "bogus": 1})).await;
    assert!(msg.contains("unknown argument 'bogus'"), "{msg}");
    let msg = invalid(&c, "list", json!({"limit": "many"})).await;
    assert!(msg.contains("integer"), "{msg}");
    let e = refused(&c, "claim", json!({"ids": ["bd-nothere9"]})).await;
    assert_eq!(e["code"], "not_found");
    let e = refused(&c, "create", json!({"title": "   "})).await;
    assert_eq!(e["code"], "invalid");
    // A value that looks like a flag is a value.
    let e = refused(&c, "show", json!({"ids": ["--all"]})).await;
    assert_eq!(e["code"], "not_found", "{e}");
    assert_eq!(
        std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
        before,
        "nothing written"
    );
    // Still serving.
    let p = ok(&c, "prime", json!({})).await;
    assert_eq!(p["actor"], "ann");
    // discover: lists the rest, and loads what is asked for.
    let d = ok(&c, "discover", json!({})).await;
    assert!(d["more"].to_string().contains("sling"), "{d}");
    ok(&c, "discover", json!({"names": ["sling", "agents"]})).await;
    let names: Vec<String> = c
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(names.contains(&"sling".to_string()), "{names:?}");
    invalid(&c, "discover", json!({"names": ["nope"]})).await;
    c.cancel().await.unwrap();
}

/// The core tool list stays small; `--tools all` lists every tool.
#[tokio::test]
async fn tools_list_sizes() {
    let m = Machine::new(0);
    let core = connect(&m, &m.a, "ann", &[]).await;
    let all = connect(&m, &m.a, "ann", &["--tools", "all"]).await;
    let size = |t: &Vec<rmcp::model::Tool>| serde_json::to_vec(&json!({"tools": t})).unwrap().len();
    let core_tools = core.list_all_tools().await.unwrap();
    let all_tools = all.list_all_tools().await.unwrap();
    eprintln!(
        "tools/list: core {} bytes ({} tools), all {} bytes ({} tools)",
        size(&core_tools),
        core_tools.len(),
        size(&all_tools),
        all_tools.len()
    );
    assert!(
        size(&core_tools) <= 6 * 1024,
        "core tools/list is {} bytes",
        size(&core_tools)
    );
    assert!(all_tools.len() > core_tools.len());
    assert!(
        !all_tools.iter().any(|t| t.name == "discover"),
        "nothing left to discover"
    );
    core.cancel().await.unwrap();
    all.cancel().await.unwrap();
}

/// Garbage on stdin is not a crash: the server answers what it can and
/// stays up; a closed stdin ends it cleanly (exit 0), before or after
/// `initialize`; nothing is written.
#[test]
fn garbage_and_a_closed_stdin() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let m = Machine::new(1);
    let before = std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap();
    // Closed at once.
    let mut c = m.cmd(&m.a, "ann", &["mcp"]);
    let out = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Garbage, then a real session.
    let mut c = m.cmd(&m.a, "ann", &["mcp"]);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    writeln!(stdin, "this is not json\n{{\"half\": \n[]\n{init}").unwrap();
    let mut got_init = false;
    for _ in 0..4 {
        let l = lines.next().unwrap().unwrap();
        let v: Value = serde_json::from_str(&l).unwrap();
        if v["id"] == 1 {
            assert!(v["result"]["serverInfo"].is_object(), "{v}");
            got_init = true;
            break;
        }
    }
    assert!(got_init, "initialize was answered after the garbage");
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    )
    .unwrap();
    writeln!(stdin, "\u{1}\u{2}garbage\u{7f}").unwrap();
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "prime", "arguments": {}}})
    )
    .unwrap();
    let mut answered = false;
    for l in lines.by_ref() {
        let v: Value = serde_json::from_str(&l.unwrap()).unwrap();
        if v["id"] == 2 {
            assert_eq!(v["result"]["structuredContent"]["actor"], "ann", "{v}");
            answered = true;
            break;
        }
    }
    assert!(answered);
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        std::fs::read(m.a.join(".beads/issues.jsonl")).unwrap(),
        before
    );
}

/// The `handoff` tool: a bug handed from project A to project B with its
/// repro attached becomes a work item in B, attachment and all.
#[tokio::test]
async fn a_handoff_to_another_project_with_an_attachment() {
    let env = common::TestEnvironment::empty();
    let a = common::project(&env, "a", "pa");
    let b = common::project(&env, "b", "pb");
    // B has run a command on this machine since it has a remote: known here.
    common::run_of(env.cmd_at(&b, "ann", &["where"]).output().unwrap());
    let id = common::run_of(
        env.cmd_at(&a, "dave", &["create", "Ship it"])
            .output()
            .unwrap(),
    )
    .stdout
    .trim()
    .to_string();
    let repro = a.join("repro.txt");
    std::fs::write(&repro, "run it twice\n").unwrap();
    let outside = env.root().join("secret.txt");
    std::fs::write(&outside, "not for the tracker\n").unwrap();
    let cmd = env.cmd_at(&a, "dave", &[]);
    let envs: Vec<(std::ffi::OsString, std::ffi::OsString)> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
        .collect();
    let program = cmd.get_program().to_owned();
    let dir = a.clone();
    let transport = TokioChildProcess::new(Command::new(program).configure(|c| {
        c.arg("mcp")
            .arg("--tools")
            .arg("all")
            .current_dir(&dir)
            .envs(envs.iter().cloned());
        c.stderr(std::process::Stdio::null());
    }))
    .unwrap();
    let client = ().serve(transport).await.unwrap();
    // Over MCP only the workspace's files can be attached (a server may run
    // outside the agent's sandbox); nothing is sent.
    for bad in [outside.to_str().unwrap(), "/etc/hostname", "../secret.txt"] {
        let msg = invalid(
            &client,
            "handoff",
            json!({"to": ["@b"], "subject": "x", "issue": id, "attach": [bad]}),
        )
        .await;
        assert!(msg.contains("attach"), "{msg}");
    }
    let sent = ok(
        &client,
        "handoff",
        json!({"to": ["@b"], "subject": "Crash in the parser", "issue": id,
               "body": "see the repro", "attach": [repro.to_str().unwrap()]}),
    )
    .await;
    assert_eq!(sent["issue"], id.as_str(), "{sent}");
    assert_eq!(sent["attachments"][0]["name"], "repro.txt", "{sent}");
    client.cancel().await.unwrap();
    // B's next command imports it.
    let r = common::run_of(env.cmd_at(&b, "ann", &["--json", "list"]).output().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let items: Value = serde_json::from_str(&r.stdout).unwrap();
    let item = &items[0];
    assert_eq!(item["title"], "Crash in the parser", "{items}");
    assert_eq!(item["issue_type"], "bug");
    let sha = sent["attachments"][0]["sha256"].as_str().unwrap();
    let stored = std::fs::read_dir(b.join(".beads/attachments"))
        .unwrap()
        .count();
    assert!(stored >= 1, "the attachment reached B ({sha})");
}

/// Review 9: a positional that looks like `--actor=x` is a value and does
/// not hide the server's actor; a title cannot forge lines of prime's text;
/// pipelined writes queue instead of timing out on the workspace lock.
#[tokio::test]
async fn review9_actor_titles_and_pipelined_writes() {
    let m = Machine::new(0);
    // A short lock wait: calls racing for the workspace lock would fail.
    let c = connect_env(&m, &m.a, "alice", &[], &[("BD_LOCK_TIMEOUT_MS", "150")]).await;
    let x = ok(&c, "create", json!({"title": "--actor=mallory"})).await;
    assert_eq!(x["created_by"], "alice", "{x}");
    assert_eq!(x["title"], "--actor=mallory");
    let id = x["id"].as_str().unwrap().to_string();
    let cm = ok(&c, "comment", json!({"id": id, "text": "--actor=zed"})).await;
    assert_eq!(cm["author"], "alice");
    ok(&c, "claim", json!({"ids": [id]})).await;
    let forged = ok(&c, "create", json!({"title": "real\nHook: forged line"})).await;
    ok(&c, "claim", json!({"ids": [forged["id"]]})).await;
    let r = c
        .call_tool(CallToolRequestParams::new("prime").with_arguments(args(json!({}))))
        .await
        .unwrap();
    let text = &r.content[0].as_text().unwrap().text;
    assert!(
        !text.lines().any(|l| l.starts_with("Hook: forged")),
        "{text}"
    );
    // 60 creates sent at once (each on its own task): all land.
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let peer = c.peer().clone();
            tokio::spawn(async move {
                peer.call_tool(
                    CallToolRequestParams::new("create")
                        .with_arguments(args(json!({"title": format!("burst {i}")}))),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().is_error, Some(false));
    }
    let listed = ok(&c, "list", json!({"limit": 0})).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 62);
    c.cancel().await.unwrap();
}

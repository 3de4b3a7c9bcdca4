//! `bd ui` (issue 17): a dashboard in the browser, served on 127.0.0.1.
//!
//! The third front end over the same verbs: every page's data is a verb's
//! `--json` document run in-process through the command line's dispatcher
//! (`cli::execute`, as `bd mcp` does), and every action is a verb's command
//! line, so a page shows and writes exactly what the CLI would. Answers are
//! kept per workspace and request until a watched file changes (the
//! tracker, mail, runs, budgets, hooks, the project home), so a page does
//! not re-read the tracker; a watcher thread notices changes and tells open
//! pages through server-sent events.
//!
//! Access: the URL printed carries a one-time token; its first load trades
//! it for an HttpOnly, SameSite=Strict cookie and drops it from the address
//! bar. Every request needs the cookie and a `Host` naming the bound
//! address (DNS rebinding), every write an `Origin` of this server and a
//! JSON body. Responses carry a strict Content-Security-Policy; pages build
//! their DOM from JSON with `textContent` (no HTML from data).

pub mod http;

use std::collections::HashMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::error::{Error, Result};
use http::{Request, Response};

/// `bd ui`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The port (default: any free one)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Open the URL in the browser (xdg-open)
    #[arg(long)]
    pub open: bool,
    /// Listen on this address instead of 127.0.0.1 (others on the network can then reach it)
    #[arg(long)]
    pub bind: Option<String>,
    /// Print the URL and serve without watching the terminal (for scripts)
    #[arg(long, hide = true)]
    pub url_file: Option<PathBuf>,
}

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");
const COOKIE: &str = "bd_ui";
/// Connections served at once (the rest get 503).
const MAX_CONNS: usize = 96;
/// Open event streams at once.
const MAX_STREAMS: usize = 64;
/// Answers kept (per workspace and request).
const CACHE_MAX: usize = 128;

/// An answer and the version it was made at.
type Cached = (u64, Arc<Vec<u8>>);

struct State {
    /// `host:port` values a request's `Host` may name.
    hosts: Vec<String>,
    /// `http://host:port` values a write's `Origin` may name.
    origins: Vec<String>,
    /// Bound to every interface: also any IP-literal host of this port.
    any_ip: Option<u16>,
    token: Mutex<Option<String>>,
    session: String,
    actor: Option<String>,
    places: crate::ops::compose::Places,
    version: AtomicU64,
    changed: (Mutex<u64>, Condvar),
    cache: Mutex<HashMap<String, Cached>>,
    /// One verb at a time (the dispatcher is the command line's).
    turn: Mutex<()>,
    conns: AtomicUsize,
    streams: AtomicUsize,
}

/// Serve until killed.
pub fn serve(start: PathBuf, actor: Option<String>, a: Args) -> Result<()> {
    let ctx = crate::ops::compose::open(&start, None, || {
        Ok(crate::ops::Env {
            now: crate::cli::commands::common::now_from_env()?,
            ..crate::cli::commands::common::env_from_process(actor.clone())
        })
    })?;
    let places = crate::ops::compose::places(&ctx);
    drop(ctx);
    let bind = a.bind.clone().unwrap_or_else(|| "127.0.0.1".into());
    let listener = TcpListener::bind((bind.as_str(), a.port))
        .map_err(|e| Error::invalid(format!("cannot listen on {bind}:{}: {e}", a.port)))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::invalid(e.to_string()))?
        .port();
    if a.bind.is_some() && bind != "127.0.0.1" && bind != "localhost" && bind != "::1" {
        let _ = writeln!(
            std::io::stderr(),
            "warning: listening on {bind}:{port}: anyone who can reach it and has the link can act as you"
        );
    }
    let host = if bind.contains(':') {
        format!("[{bind}]:{port}")
    } else {
        format!("{bind}:{port}")
    };
    let mut hosts = vec![host.clone()];
    // Bound to every interface: any of this machine's addresses, written
    // as an address (a DNS-rebinding page names a host, never an IP).
    let any_ip = matches!(bind.as_str(), "0.0.0.0" | "::" | "[::]");
    if bind == "127.0.0.1" || any_ip {
        hosts.push(format!("localhost:{port}"));
    }
    let token = crate::ops::compose::random_hex(16)?;
    let state = Arc::new(State {
        origins: hosts.iter().map(|h| format!("http://{h}")).collect(),
        hosts,
        any_ip: any_ip.then_some(port),
        token: Mutex::new(Some(token.clone())),
        session: crate::ops::compose::random_hex(32)?,
        actor,
        places,
        version: AtomicU64::new(1),
        changed: (Mutex::new(1), Condvar::new()),
        cache: Mutex::new(HashMap::new()),
        turn: Mutex::new(()),
        conns: AtomicUsize::new(0),
        streams: AtomicUsize::new(0),
    });
    // Bound everywhere: the URL names this machine's loopback address.
    let shown = if any_ip {
        format!("127.0.0.1:{port}")
    } else {
        host.clone()
    };
    let url = format!("http://{shown}/?token={token}");
    let _ = writeln!(std::io::stdout(), "bd ui: {url}");
    let _ = std::io::stdout().flush();
    if let Some(f) = &a.url_file {
        crate::ops::compose::write_url_file(f, &url)?;
    }
    if a.open {
        let _ = std::process::Command::new("xdg-open")
            .arg(&url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
    {
        let st = Arc::clone(&state);
        std::thread::spawn(move || watch(&st));
    }
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        if state.conns.load(Ordering::SeqCst) >= MAX_CONNS {
            let _ = Response::text(503, "busy").write(&stream);
            continue;
        }
        state.conns.fetch_add(1, Ordering::SeqCst);
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            handle(&st, stream);
            st.conns.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

// ------------------------------------------------------------- watching

fn watch(st: &State) {
    let paths = st.places.watched();
    let mut last = crate::ops::compose::fingerprint(&paths);
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = crate::ops::compose::fingerprint(&paths);
        if now != last {
            last = now;
            bump(st);
        }
    }
}

/// Something changed: a new version, and open pages are told.
fn bump(st: &State) {
    let (m, c) = &st.changed;
    let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
    let v = st.version.fetch_add(1, Ordering::SeqCst) + 1;
    *g = v;
    drop(g);
    c.notify_all();
}

// ------------------------------------------------------------- requests

fn handle(st: &State, mut stream: TcpStream) {
    let req = match http::read(&stream) {
        Ok(r) => r,
        Err(code) => {
            let _ = Response::text(code, http::reason(code)).write(&stream);
            return;
        }
    };
    if req.path == "/api/events" && req.method == "GET" {
        if let Err(r) = admit(st, &req) {
            let _ = r.write(&stream);
            return;
        }
        events(st, &mut stream);
        return;
    }
    let started = Instant::now();
    let resp = route(st, &req);
    let resp = resp.with(
        "Server-Timing",
        &format!("app;dur={:.1}", started.elapsed().as_secs_f64() * 1000.0),
    );
    let _ = resp.write(&stream);
}

/// Whether `h` (a `Host`, or an `Origin`'s authority) names this server.
fn our_host(st: &State, h: &str) -> bool {
    if st.hosts.iter().any(|x| x.eq_ignore_ascii_case(h)) {
        return true;
    }
    let Some(port) = st.any_ip else { return false };
    let Some((addr, p)) = h.rsplit_once(':') else {
        return false;
    };
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    p == port.to_string() && addr.parse::<std::net::IpAddr>().is_ok()
}

/// Host, then the session: the checks every request passes.
fn admit(st: &State, req: &Request) -> std::result::Result<(), Response> {
    if !req.header("host").is_some_and(|h| our_host(st, h)) {
        return Err(Response::text(
            421,
            "wrong Host: this server answers only to its own address",
        ));
    }
    if req.cookie(COOKIE) != Some(st.session.as_str()) {
        return Err(Response::text(
            401,
            "not signed in: open the URL `bd ui` printed (it holds a one-time token)",
        ));
    }
    Ok(())
}

const PAGES: [&str; 6] = ["/", "/board", "/work", "/mail", "/metrics", "/issue"];

fn route(st: &State, req: &Request) -> Response {
    // The one-time token: traded for the session cookie, dropped from the URL.
    if req.method == "GET"
        && let Some(t) = req.param("token")
    {
        if let Err(r) = admit_host(st, req) {
            return r;
        }
        let mut tok = st.token.lock().unwrap_or_else(|p| p.into_inner());
        if tok.as_deref() == Some(t) {
            *tok = None;
            let back: Vec<String> = req
                .query
                .iter()
                .filter(|(k, _)| k != "token")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let loc = if back.is_empty() {
                req.path.clone()
            } else {
                format!("{}?{}", req.path, back.join("&"))
            };
            return Response::new(303, "text/plain", "signed in")
                .with("Location", &loc)
                .with(
                    "Set-Cookie",
                    &format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", st.session),
                );
        }
        return Response::text(
            401,
            "this link was used already: run `bd ui` again for a new one",
        );
    }
    if let Err(r) = admit(st, req) {
        return r;
    }
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/app.js") => Response::new(200, "text/javascript; charset=utf-8", APP_JS),
        ("GET", "/app.css") => Response::new(200, "text/css; charset=utf-8", APP_CSS),
        ("GET", "/favicon.ico") => Response::new(204, "image/x-icon", Vec::new()),
        ("GET", p) if PAGES.contains(&p) || p.starts_with("/issue/") => {
            Response::new(200, "text/html; charset=utf-8", INDEX)
        }
        ("GET", "/api/attachment") => attachment(st, req),
        ("GET", p) if p.starts_with("/api/") => api(st, req),
        ("POST", "/api/action") => action(st, req),
        (_, p) if p.starts_with("/api/") || PAGES.contains(&p) => {
            Response::text(405, "method not allowed")
        }
        _ => Response::text(404, "not found"),
    }
}

fn admit_host(st: &State, req: &Request) -> std::result::Result<(), Response> {
    if req.header("host").is_some_and(|h| our_host(st, h)) {
        Ok(())
    } else {
        Err(Response::text(421, "wrong Host"))
    }
}

fn events(st: &State, stream: &mut TcpStream) {
    if st.streams.fetch_add(1, Ordering::SeqCst) >= MAX_STREAMS {
        st.streams.fetch_sub(1, Ordering::SeqCst);
        let _ = Response::text(503, "too many open pages").write(&*stream);
        return;
    }
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let (m, c) = &st.changed;
    let mut seen = *m.lock().unwrap_or_else(|p| p.into_inner());
    let mut ok = stream
        .write_all(http::event_stream_head().as_bytes())
        .and_then(|_| write!(stream, "retry: 1000\nevent: version\ndata: {seen}\n\n"))
        .and_then(|_| stream.flush())
        .is_ok();
    while ok {
        let g = m.lock().unwrap_or_else(|p| p.into_inner());
        let (g, _) = c
            .wait_timeout_while(g, Duration::from_secs(5), |v| *v == seen)
            .unwrap_or_else(|p| p.into_inner());
        let v = *g;
        drop(g);
        ok = if v != seen {
            seen = v;
            write!(stream, "event: change\ndata: {v}\n\n").and_then(|_| stream.flush())
        } else {
            stream
                .write_all(b": keep-alive\n\n")
                .and_then(|_| stream.flush())
        }
        .is_ok();
    }
    st.streams.fetch_sub(1, Ordering::SeqCst);
}

// ------------------------------------------------------------- the verbs

/// A verb's `--json` document in workspace `ws`, as the server's actor:
/// `Ok` its document, `Err` the error document (`{error, code, hint}`).
fn verb(st: &State, ws: &Path, words: &[&str]) -> std::result::Result<Value, Value> {
    let _turn = st.turn.lock().unwrap_or_else(|p| p.into_inner());
    let mut argv: Vec<String> = vec![
        "bd".into(),
        "--json".into(),
        "-q".into(),
        "-C".into(),
        ws.display().to_string(),
    ];
    if let Some(a) = &st.actor {
        argv.push(format!("--actor={a}"));
    }
    argv.extend(words.iter().map(|w| w.to_string()));
    let (result, _notices) = crate::cli::execute(&argv);
    match result {
        Ok(o) => Ok(serde_json::from_str(&o.json).unwrap_or(Value::Null)),
        Err(e) => Err(json!({"error": e.to_string(), "code": e.code(), "hint": e.hint()})),
    }
}

fn workspace(st: &State, req: &Request) -> std::result::Result<PathBuf, Response> {
    let i: usize = req.param("ws").unwrap_or("0").parse().unwrap_or(usize::MAX);
    st.places
        .workspaces
        .get(i)
        .cloned()
        .ok_or_else(|| Response::json(404, &json!({"error": "no such workspace"})))
}

/// A GET of the API: from the cache while nothing watched changed.
fn api(st: &State, req: &Request) -> Response {
    let ws = match workspace(st, req) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let key = format!(
        "{}\u{0}{}\u{0}{}",
        ws.display(),
        req.path,
        req.query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    let version = st.version.load(Ordering::SeqCst);
    if let Some((v, body)) = st.cache.lock().ok().and_then(|c| c.get(&key).cloned())
        && v == version
    {
        return Response::new(
            200,
            "application/json; charset=utf-8",
            body.as_ref().clone(),
        )
        .with("X-Bd-Version", &version.to_string());
    }
    let doc = match data(st, &ws, req) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let body = Arc::new(serde_json::to_vec(&doc).unwrap_or_default());
    if let Ok(mut c) = st.cache.lock() {
        if c.len() >= CACHE_MAX {
            c.retain(|_, (v, _)| *v == version);
            if c.len() >= CACHE_MAX {
                c.clear();
            }
        }
        c.insert(key, (version, Arc::clone(&body)));
    }
    Response::new(
        200,
        "application/json; charset=utf-8",
        body.as_ref().clone(),
    )
    .with("X-Bd-Version", &version.to_string())
}

/// A part of a page: the verb's document, or its error in its place (the
/// page shows it there; the rest of the page still works).
fn part(st: &State, ws: &Path, words: &[&str]) -> Value {
    verb(st, ws, words).unwrap_or_else(|e| json!({"failed": e}))
}

fn data(st: &State, ws: &Path, req: &Request) -> std::result::Result<Value, Response> {
    let id = req.param("id").unwrap_or("");
    Ok(match req.path.as_str() {
        "/api/workspaces" => json!({
            "workspaces": st.places.workspaces,
            "actor": st.places.actor,
            "identity": st.places.identity,
            "version": st.version.load(Ordering::SeqCst),
        }),
        "/api/overview" => json!({
            "workspace": ws,
            "actor": st.places.actor,
            "identity": st.places.identity,
            "agents": part(st, ws, &["agents"]),
            "workers": part(st, ws, &["workers"]),
        }),
        "/api/board" => json!({
            "counts": part(st, ws, &["count", "--by-status"]),
            "ready": part(st, ws, &["ready", "-n", "50"]),
            "in_progress": part(st, ws, &["list", "--status", "in_progress", "-n", "100"]),
            "hooked": part(st, ws, &["list", "--status", "hooked", "-n", "100"]),
            "blocked": part(st, ws, &["blocked", "-n", "100"]),
            "closed": part(st, ws, &["list", "--status", "closed", "--sort", "updated", "-n", "25"]),
        }),
        "/api/work" => json!({
            "convoys": part(st, ws, &["convoy", "list"]),
            "molecules": part(st, ws, &["mol", "list", "--all"]),
            "gates": part(st, ws, &["gate", "list", "--all"]),
        }),
        "/api/mail" => json!({"messages": part(st, ws, &["mail", "list"])}),
        "/api/metrics" => json!({
            "metrics": part(st, ws, &["metrics"]),
            "budget": part(st, ws, &["budget"]),
        }),
        "/api/issue" => {
            if id.is_empty() {
                return Err(Response::json(400, &json!({"error": "give ?id="})));
            }
            let shown = verb(st, ws, &["show", "--", id]).map_err(|e| Response::json(404, &e))?;
            json!({
                "issue": shown,
                "log": part(st, ws, &["log", "--", id]),
                "runs": part(st, ws, &["runs", "-n", "0", "--", id]),
            })
        }
        "/api/diff" => {
            // What that commit changed (against its first parent); a root
            // commit, against nothing before it.
            let rev = req.param("rev").unwrap_or("HEAD");
            if rev.starts_with('-') || rev.contains("..") {
                return Err(Response::json(400, &json!({"error": "give one commit"})));
            }
            let range = format!("{rev}^..{rev}");
            let d = verb(st, ws, &["diff", "--", &range])
                .or_else(|_| verb(st, ws, &["diff", "--", rev]))
                .unwrap_or_else(|e| json!({ "failed": e }));
            json!({ "diff": d })
        }
        _ => return Err(Response::json(404, &json!({"error": "no such endpoint"}))),
    })
}

/// An attachment body, as a download, never rendered.
fn attachment(st: &State, req: &Request) -> Response {
    let ws = match workspace(st, req) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let sha = req.param("sha").unwrap_or("");
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Response::text(400, "bad attachment id");
    }
    let name: String = req
        .param("name")
        .unwrap_or("attachment")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(100)
        .collect();
    match crate::ops::mail::attachment_at(&ws, sha) {
        Ok(bytes) => Response::new(200, "application/octet-stream", bytes).with(
            "Content-Disposition",
            &format!(
                "attachment; filename=\"{}\"",
                if name.is_empty() { "attachment" } else { &name }
            ),
        ),
        Err(_) => Response::text(404, "no such attachment"),
    }
}

// ------------------------------------------------------------- actions

/// The command line of an action a person takes from a page: the verb's
/// flags as `--flag=value`, then `--`, then its positionals, so no value
/// passes for a flag.
pub fn action_argv(action: &str, p: &Value) -> std::result::Result<Vec<String>, String> {
    let s = |k: &str| -> std::result::Result<String, String> {
        p.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| format!("{action}: give {k}"))
    };
    let opt = |k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.trim().is_empty())
    };
    let mut flags: Vec<String> = Vec::new();
    let mut pos: Vec<String> = Vec::new();
    let verb: Vec<&str> = match action {
        "create" => {
            for (k, f) in [
                ("type", "type"),
                ("priority", "priority"),
                ("description", "description"),
            ] {
                if let Some(v) = opt(k) {
                    flags.push(format!("--{f}={v}"));
                }
            }
            pos.push(s("title")?);
            vec!["create"]
        }
        "sling" => {
            pos.push(s("id")?);
            pos.push(s("agent")?);
            vec!["sling"]
        }
        "release" => {
            flags.push("--force".into());
            pos.push(s("id")?);
            vec!["unclaim"]
        }
        "close" => {
            if let Some(r) = opt("reason") {
                flags.push(format!("--reason={r}"));
            }
            pos.push(s("id")?);
            vec!["close"]
        }
        "reopen" => {
            pos.push(s("id")?);
            vec!["reopen"]
        }
        "gate_resolve" => {
            if let Some(r) = opt("reason") {
                flags.push(format!("--reason={r}"));
            }
            pos.push(s("id")?);
            vec!["gate", "resolve"]
        }
        "gate_trust" => {
            pos.push(s("id")?);
            vec!["gate", "trust"]
        }
        "mail_send" => {
            for to in s("to")?.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                flags.push(format!("--to={to}"));
            }
            flags.push(format!("--subject={}", s("subject")?));
            flags.push(format!("--body={}", opt("body").unwrap_or("")));
            if let Some(i) = opt("issue") {
                flags.push(format!("--issue={i}"));
            }
            vec!["mail", "send"]
        }
        other => return Err(format!("unknown action {other:?}")),
    };
    let mut argv: Vec<String> = verb.iter().map(|w| w.to_string()).collect();
    argv.extend(flags);
    argv.push("--".into());
    argv.extend(pos);
    Ok(argv)
}

fn action(st: &State, req: &Request) -> Response {
    // A write comes from this server's own page: its Origin, and JSON (a
    // form of another site can send neither).
    // The page's own origin: the address it was loaded from.
    let same = req.header("origin").is_some_and(|o| {
        st.origins.iter().any(|x| x.eq_ignore_ascii_case(o))
            || (st.any_ip.is_some()
                && o.strip_prefix("http://").is_some_and(|a| our_host(st, a))
                && req
                    .header("host")
                    .is_some_and(|h| o == format!("http://{h}")))
    });
    if !same {
        return Response::json(
            403,
            &json!({"error": "a write must come from this dashboard (Origin)"}),
        );
    }
    if !req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return Response::json(415, &json!({"error": "send JSON"}));
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return Response::json(400, &json!({"error": format!("not JSON: {e}")})),
    };
    let ws = match workspace(st, req) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let name = body.get("action").and_then(Value::as_str).unwrap_or("");
    let params = body.get("params").cloned().unwrap_or(Value::Null);
    let argv = match action_argv(name, &params) {
        Ok(a) => a,
        Err(e) => return Response::json(400, &json!({"error": e})),
    };
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let r = verb(st, &ws, &words);
    // What the write changed is seen at once, not at the watcher's next look.
    bump(st);
    match r {
        Ok(doc) => Response::json(200, &json!({"ok": true, "result": doc})),
        Err(e) => Response::json(422, &json!({"ok": false, "error": e})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_put_values_after_the_separator() {
        let a = action_argv("create", &json!({"title": "--actor=evil", "priority": "1"})).unwrap();
        assert_eq!(a, ["create", "--priority=1", "--", "--actor=evil"]);
        let a = action_argv(
            "mail_send",
            &json!({"to": "a, b", "subject": "s", "body": "x"}),
        )
        .unwrap();
        assert_eq!(
            a,
            [
                "mail",
                "send",
                "--to=a",
                "--to=b",
                "--subject=s",
                "--body=x",
                "--"
            ]
        );
        assert!(action_argv("delete", &json!({"id": "x"})).is_err());
        assert!(action_argv("close", &json!({})).is_err());
    }
}

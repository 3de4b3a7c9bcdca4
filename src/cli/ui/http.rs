//! The little HTTP/1.1 `bd ui` speaks (issue 17): one request per
//! connection (`Connection: close`), bounded head and body, no chunked
//! bodies in. Pure parsing and formatting over byte streams.

use std::io::{BufRead, BufReader, Read, Write};

/// The most a request's head (request line and headers) may take.
const HEAD_MAX: usize = 16 * 1024;
/// The most a request's body may take (actions are small JSON).
pub const BODY_MAX: usize = 256 * 1024;

#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// `name=value` pairs of the query, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A cookie's value.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.header("cookie")?.split(';').find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        })
    }
}

/// Percent-decoding (`+` is a space in a query).
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Read one request. `Err` carries the status to answer with.
pub fn read(stream: impl Read) -> Result<Request, u16> {
    let mut r = BufReader::new(stream.take((HEAD_MAX + BODY_MAX) as u64));
    let mut head = 0usize;
    let mut line = String::new();
    let n = r.read_line(&mut line).map_err(|_| 400u16)?;
    if n == 0 {
        return Err(400);
    }
    head += n;
    let mut parts = line.trim_end().splitn(3, ' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let version = parts.next().unwrap_or("");
    if method.is_empty() || !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return Err(400);
    }
    let mut headers = Vec::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line).map_err(|_| 400u16)?;
        head += n;
        if head > HEAD_MAX {
            return Err(431);
        }
        if n == 0 {
            return Err(400);
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').ok_or(400u16)?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        if headers.len() > 100 {
            return Err(431);
        }
    }
    let mut req = Request {
        method,
        headers,
        ..Request::default()
    };
    if req.header("transfer-encoding").is_some() {
        return Err(411);
    }
    let len: usize = match req.header("content-length") {
        Some(v) => v.parse().map_err(|_| 400u16)?,
        None => 0,
    };
    if len > BODY_MAX {
        return Err(413);
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).map_err(|_| 400u16)?;
    req.body = body;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    req.path = decode(path);
    req.query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    Ok(req)
}

/// A response.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// The headers every response carries: no sniffing, no framing, no
/// referrer, no caching, and a policy that runs only this server's own
/// script and style.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn json(status: u16, v: &serde_json::Value) -> Response {
        Response::new(
            status,
            "application/json; charset=utf-8",
            serde_json::to_vec(v).unwrap_or_default(),
        )
    }

    pub fn text(status: u16, t: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", t.as_bytes().to_vec())
    }

    pub fn with(mut self, k: &str, v: &str) -> Response {
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn write(&self, mut w: impl Write) -> std::io::Result<()> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in self.headers.iter().chain(common().iter()) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        w.write_all(head.as_bytes())?;
        w.write_all(&self.body)?;
        w.flush()
    }
}

fn common() -> Vec<(String, String)> {
    [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The head of a server-sent event stream (kept open; events follow).
pub fn event_stream_head() -> String {
    let mut head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n".to_string();
    for (k, v) in common() {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_request() {
        let raw = b"POST /api/action?ws=1&x=a%20b+c HTTP/1.1\r\nHost: 127.0.0.1:8\r\nCookie: a=1; bd_ui=xyz\r\nContent-Length: 2\r\n\r\n{}";
        let r = read(&raw[..]).unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/action");
        assert_eq!(r.param("ws"), Some("1"));
        assert_eq!(r.param("x"), Some("a b c"));
        assert_eq!(r.header("host"), Some("127.0.0.1:8"));
        assert_eq!(r.cookie("bd_ui"), Some("xyz"));
        assert_eq!(r.body, b"{}");
    }

    #[test]
    fn refuses_what_it_does_not_take() {
        assert_eq!(read(&b"GET x HTTP/1.1\r\n\r\n"[..]).unwrap_err(), 400);
        let big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            BODY_MAX + 1
        );
        assert_eq!(read(big.as_bytes()).unwrap_err(), 413);
        let chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(read(chunked.as_bytes()).unwrap_err(), 411);
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%41%"), "A%");
    }
}

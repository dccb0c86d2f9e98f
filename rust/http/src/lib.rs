//! Just enough HTTP/1.1 for a webhook receiver and a small event API, on std only.
//!
//! Shared by the test receiver (`fake-slack`) and the sidecar's `run`
//! listener (`slack-alert-sidecar`), so that there is one request parser to test.
//!
//! Requests: request line, headers, a body by `Content-Length` or
//! `Transfer-Encoding: chunked`, `Expect: 100-continue`, keep-alive. Responses always
//! carry `Content-Length`. Everything read is bounded: the head by [`MAX_HEAD_BYTES`]
//! and [`MAX_HEADERS`], the body by [`MAX_BODY_BYTES`] or the caller's cap
//! ([`read_request_limited`], or [`read_request_limited_by`] to choose it by path), so
//! a misbehaving client cannot make a server hoard memory.
//!
//! # Example
//!
//! ```
//! use std::io::BufReader;
//! use slack_alert_http::{read_request, Response};
//!
//! let wire = b"POST /events HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
//! let request = read_request(&mut BufReader::new(&wire[..]), &mut std::io::sink()).unwrap();
//! assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/events"));
//! assert_eq!(request.header("content-length"), Some("2"));
//! assert_eq!(request.body, b"{}");
//!
//! let mut out = Vec::new();
//! Response::text(202, "ok").write_to(&mut out, request.keep_alive).unwrap();
//! assert!(out.starts_with(b"HTTP/1.1 202 Accepted\r\n"));
//! ```

use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// Largest request body accepted; larger is answered 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Largest request line plus headers (and chunked trailers) accepted; larger is 431.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header lines in one request (trailers not counted); more is 431. Far above
/// what any client sends (curl sends 3 to 5), and it keeps a head of many tiny lines
/// from costing more than its bytes.
pub const MAX_HEADERS: usize = 100;
/// Longest chunk-size line, extensions included.
const MAX_CHUNK_LINE_BYTES: usize = 4096;

/// One request as read off the wire.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The path without query string, also when sent in absolute form; never empty.
    pub path: String,
    /// The query string without its `?` and without any `#fragment`, not decoded;
    /// empty when there is none.
    pub query: String,
    /// Every header line in the order sent: the name as sent, the value without the
    /// whitespace around it. Look one up with [`Request::header`].
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// True if and only if the client allows the connection to stay open afterwards.
    pub keep_alive: bool,
}

impl Request {
    /// The value of the first header named `name`, compared case-insensitively
    /// (`header("content-type")` finds `Content-Type`); `None` if it was not sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The connection was closed (or reset) between requests: nothing to answer.
    Closed,
    /// The connection broke mid-request.
    Io(io::Error),
    /// Not HTTP we understand: answer 400.
    Malformed(String),
    /// The body is over [`MAX_BODY_BYTES`] (or the cap given to
    /// [`read_request_limited`]): answer 413.
    BodyTooLarge,
    /// The head is over [`MAX_HEAD_BYTES`] or has more than [`MAX_HEADERS`] lines:
    /// answer 431.
    HeadTooLarge,
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

fn malformed(what: impl Into<String>) -> ReadError {
    ReadError::Malformed(what.into())
}

/// Reads one request from `reader`, with bodies capped at [`MAX_BODY_BYTES`].
/// `interim` receives `100 Continue` when the client waits for it before sending the
/// body (curl does for bodies over 1 KiB).
pub fn read_request(
    reader: &mut impl BufRead,
    interim: &mut impl Write,
) -> Result<Request, ReadError> {
    read_request_limited(reader, interim, MAX_BODY_BYTES)
}

/// Reads one request as [`read_request`] does, with bodies capped at `max_body` bytes.
pub fn read_request_limited(
    reader: &mut impl BufRead,
    interim: &mut impl Write,
    max_body: usize,
) -> Result<Request, ReadError> {
    read_request_limited_by(reader, interim, |_, _| max_body)
}

/// Reads one request as [`read_request`] does, with bodies capped at
/// `max_body(method, path)` bytes, asked once the head is read: a server that takes
/// large uploads on one path keeps the small cap everywhere else, and still refuses
/// an oversized body before reading it (and before `100 Continue`).
pub fn read_request_limited_by(
    reader: &mut impl BufRead,
    interim: &mut impl Write,
    max_body: impl FnOnce(&str, &str) -> usize,
) -> Result<Request, ReadError> {
    let mut budget = MAX_HEAD_BYTES;
    // RFC 9112 asks servers to ignore empty lines before a request line.
    let request_line = loop {
        match read_line(reader, &mut budget, true) {
            Ok(line) if line.is_empty() => continue,
            Ok(line) => break line,
            Err(ReadError::Io(e)) if is_disconnect(&e) => return Err(ReadError::Closed),
            Err(e) => return Err(e),
        }
    };
    let (method, target, version) = parse_request_line(&request_line)?;
    let http11 = version == "HTTP/1.1";
    let mut head = Head::default();
    loop {
        let line = read_line(reader, &mut budget, false)?;
        if line.is_empty() {
            break;
        }
        head.add(&line)?;
    }
    let keep_alive = match &head.connection {
        Some(c) if has_token(c, "close") => false,
        Some(c) if has_token(c, "keep-alive") => true,
        _ => http11,
    };
    let path = path_of(target);
    let max_body = max_body(method, &path);
    let body = read_body(reader, interim, &head, &mut budget, max_body)?;
    Ok(Request {
        method: method.to_string(),
        path,
        query: query_of(target).to_string(),
        headers: head.lines,
        body,
        keep_alive,
    })
}

/// The request's headers: every line, and the ones that decide how to read the body.
#[derive(Default)]
struct Head {
    lines: Vec<(String, String)>,
    content_length: Option<usize>,
    chunked: bool,
    connection: Option<String>,
    expect_continue: bool,
}

impl Head {
    fn add(&mut self, line: &str) -> Result<(), ReadError> {
        if line.starts_with([' ', '\t']) {
            return Err(malformed("obsolete header line folding"));
        }
        if self.lines.len() == MAX_HEADERS {
            return Err(ReadError::HeadTooLarge);
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| malformed(format!("header line without a colon: {line:.80}")))?;
        let value = value.trim();
        self.lines.push((name.to_string(), value.to_string()));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => {
                let length: usize = value
                    .parse()
                    .map_err(|_| malformed(format!("bad Content-Length: {value:.40}")))?;
                if self.content_length.is_some_and(|l| l != length) {
                    return Err(malformed("conflicting Content-Length headers"));
                }
                self.content_length = Some(length);
            }
            "transfer-encoding" => {
                let last = value.rsplit(',').next().unwrap_or("").trim();
                if !last.eq_ignore_ascii_case("chunked") {
                    return Err(malformed(format!(
                        "unsupported Transfer-Encoding: {value:.40}"
                    )));
                }
                self.chunked = true;
            }
            "connection" => self.connection = Some(value.to_ascii_lowercase()),
            "expect" => self.expect_continue = value.eq_ignore_ascii_case("100-continue"),
            _ => {}
        }
        Ok(())
    }
}

fn read_body(
    reader: &mut impl BufRead,
    interim: &mut impl Write,
    head: &Head,
    budget: &mut usize,
    max_body: usize,
) -> Result<Vec<u8>, ReadError> {
    // Chunked wins over Content-Length when both are sent (RFC 9112 §6.3).
    let length = if head.chunked {
        None
    } else {
        match head.content_length.unwrap_or(0) {
            0 => return Ok(Vec::new()),
            n if n > max_body => return Err(ReadError::BodyTooLarge),
            n => Some(n),
        }
    };
    if head.expect_continue {
        interim.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        interim.flush()?;
    }
    match length {
        Some(n) => read_exact_vec(reader, n),
        None => read_chunked(reader, budget, max_body),
    }
}

fn read_chunked(
    reader: &mut impl BufRead,
    budget: &mut usize,
    max_body: usize,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let mut line_budget = MAX_CHUNK_LINE_BYTES;
        let line = read_line(reader, &mut line_budget, false)?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| malformed(format!("bad chunk size: {size:.40}")))?;
        if size == 0 {
            break;
        }
        if body.len().saturating_add(size) > max_body {
            return Err(ReadError::BodyTooLarge);
        }
        body.extend(read_exact_vec(reader, size)?);
        if read_exact_vec(reader, 2)? != b"\r\n" {
            return Err(malformed("chunk data longer than its size"));
        }
    }
    // Trailers, ignored, up to the empty line.
    while !read_line(reader, budget, false)?.is_empty() {}
    Ok(body)
}

fn read_exact_vec(reader: &mut impl BufRead, n: usize) -> Result<Vec<u8>, ReadError> {
    let mut data = Vec::with_capacity(n);
    Read::take(reader, n as u64).read_to_end(&mut data)?;
    if data.len() < n {
        return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(data)
}

/// Reads one line, without its line ending, charging its length to `budget`.
/// `first` marks the first read of a request, where a clean end of stream means the
/// client closed an idle connection.
fn read_line(
    reader: &mut impl BufRead,
    budget: &mut usize,
    first: bool,
) -> Result<String, ReadError> {
    let mut line = Vec::new();
    let read = Read::take(reader, *budget as u64 + 1).read_until(b'\n', &mut line)?;
    if read > *budget {
        return Err(ReadError::HeadTooLarge);
    }
    *budget -= read;
    if !line.ends_with(b"\n") {
        if read == 0 && first {
            return Err(ReadError::Closed);
        }
        return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
    }
    line.pop();
    if line.ends_with(b"\r") {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| malformed("request head is not UTF-8"))
}

fn parse_request_line(line: &str) -> Result<(&str, &str, &str), ReadError> {
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version), None)
            if !method.is_empty()
                && !target.is_empty()
                && (version == "HTTP/1.1" || version == "HTTP/1.0") =>
        {
            Ok((method, target, version))
        }
        _ => Err(malformed(format!("bad request line: {line:.80}"))),
    }
}

/// The path of a request target, without query; `http://host/x?y` gives `/x`.
fn path_of(target: &str) -> String {
    let without_authority = match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    let end = without_authority
        .find(['?', '#'])
        .unwrap_or(without_authority.len());
    // `GET ?x` names the root, as `http://host?x` does; an empty path could
    // not be written back into a request line.
    match &without_authority[..end] {
        "" => "/".to_string(),
        path => path.to_string(),
    }
}

/// The query of a request target, without `?` and fragment; `/x?a=1#f` gives `a=1`.
fn query_of(target: &str) -> &str {
    let without_fragment = target.split_once('#').map_or(target, |(before, _)| before);
    without_fragment
        .split_once('?')
        .map_or("", |(_, query)| query)
}

fn has_token(list: &str, token: &str) -> bool {
    list.split(',').any(|t| t.trim() == token)
}

fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected
    )
}

/// One response; always sent with `Content-Length`.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub retry_after: Option<u64>,
}

impl Response {
    /// A short text answer like Slack's (`ok`, `invalid_blocks`).
    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
            retry_after: None,
        }
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Response {
        Response {
            status,
            content_type: "application/json",
            body: body.to_string().into_bytes(),
            retry_after: None,
        }
    }

    /// Writes the response; `keep_alive` tells the client whether to send more.
    pub fn write_to(&self, out: &mut impl Write, keep_alive: bool) -> io::Result<()> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len(),
            if keep_alive { "keep-alive" } else { "close" },
        );
        if let Some(secs) = self.retry_after {
            head.push_str(&format!("Retry-After: {secs}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        out.write_all(&bytes)?;
        out.flush()
    }
}

/// How long a connection closed after an error answer keeps draining what the client
/// still sends, so the client reads the answer instead of a reset.
const LINGER: Duration = Duration::from_millis(500);
/// Most bytes drained while lingering.
const LINGER_BYTES: u64 = 8 << 20;

/// Answers an unreadable request on `stream` and closes it, draining what the client
/// still sends (through `reader`, which reads `stream`) for a moment so that it reads
/// the answer rather than a connection reset.
pub fn refuse(reader: &mut impl BufRead, stream: &TcpStream, response: Response) {
    let mut writer = stream;
    if response.write_to(&mut writer, false).is_err() {
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(LINGER));
    let _ = io::copy(&mut Read::take(reader, LINGER_BYTES), &mut io::sink());
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads one request from `wire`, returning it and what was sent as interim answers.
    fn read(wire: &[u8]) -> (Result<Request, ReadError>, String) {
        let mut reader = io::BufReader::new(wire);
        let mut interim = Vec::new();
        let request = read_request(&mut reader, &mut interim);
        (request, String::from_utf8(interim).unwrap())
    }

    fn ok(wire: &[u8]) -> Request {
        read(wire).0.expect("request should parse")
    }

    #[test]
    fn reads_a_content_length_post() {
        let request =
            ok(b"POST /services/T/B/x?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/services/T/B/x");
        assert_eq!(request.body, b"hello");
        assert!(request.keep_alive);
    }

    #[test]
    fn keeps_every_header_and_finds_them_case_insensitively() {
        let request = ok(b"POST /api/chat.postMessage?x=1&y=%20#frag HTTP/1.1\r\n\
            Authorization:  Bearer xoxb-1 \r\ncontent-type: application/json\r\n\
            X-Twice: a\r\nX-Twice: b\r\nContent-Length: 2\r\n\r\n{}");
        assert_eq!(request.path, "/api/chat.postMessage");
        assert_eq!(request.query, "x=1&y=%20");
        assert_eq!(request.header("authorization"), Some("Bearer xoxb-1"));
        assert_eq!(request.header("Content-Type"), Some("application/json"));
        assert_eq!(request.header("x-twice"), Some("a"), "the first one wins");
        assert_eq!(request.header("Host"), None);
        assert_eq!(
            request.headers,
            [
                ("Authorization", "Bearer xoxb-1"),
                ("content-type", "application/json"),
                ("X-Twice", "a"),
                ("X-Twice", "b"),
                ("Content-Length", "2"),
            ]
            .map(|(n, v)| (n.to_string(), v.to_string()))
        );
        assert_eq!(ok(b"GET / HTTP/1.1\r\n\r\n").query, "");
        assert!(ok(b"GET / HTTP/1.1\r\n\r\n").headers.is_empty());
    }

    #[test]
    fn more_than_max_headers_is_too_large() {
        let mut wire = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            wire.extend(format!("X-{i}: v\r\n").as_bytes());
        }
        let mut over = wire.clone();
        wire.extend(b"\r\n");
        assert_eq!(ok(&wire).headers.len(), MAX_HEADERS);
        over.extend(b"X-last: v\r\n\r\n");
        assert!(matches!(read(&over).0, Err(ReadError::HeadTooLarge)));
    }

    #[test]
    fn the_body_cap_can_depend_on_the_path() {
        let cap = |_: &str, path: &str| if path.starts_with("/upload/") { 8 } else { 4 };
        let read_with = |wire: &[u8]| {
            let mut reader = io::BufReader::new(wire);
            let mut interim = Vec::new();
            let request = read_request_limited_by(&mut reader, &mut interim, cap);
            (request, interim)
        };
        let (upload, _) =
            read_with(b"POST /upload/F1?x HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678");
        assert_eq!(upload.unwrap().body, b"12345678");
        // Refused before the body is read, so before any 100 Continue.
        let (other, interim) = read_with(
            b"POST /api/x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n12345",
        );
        assert!(matches!(other, Err(ReadError::BodyTooLarge)));
        assert!(interim.is_empty());
    }

    #[test]
    fn queries_drop_the_fragment() {
        assert_eq!(query_of("/a?x=1#f"), "x=1");
        assert_eq!(query_of("/a#f?x=1"), "");
        assert_eq!(query_of("http://h:1/a?b"), "b");
        assert_eq!(query_of("/a?"), "");
        assert_eq!(query_of("/a"), "");
    }

    #[test]
    fn reads_two_requests_from_one_stream() {
        let wire = b"POST /a HTTP/1.1\r\nContent-Length: 1\r\n\r\nxGET /b HTTP/1.1\r\nconnection: Close\r\n\r\n";
        let mut reader = io::BufReader::new(&wire[..]);
        let first = read_request(&mut reader, &mut io::sink()).unwrap();
        let second = read_request(&mut reader, &mut io::sink()).unwrap();
        assert_eq!(
            (first.path.as_str(), first.body.as_slice()),
            ("/a", &b"x"[..])
        );
        assert_eq!(
            (second.method.as_str(), second.path.as_str()),
            ("GET", "/b")
        );
        assert!(!second.keep_alive);
        assert!(matches!(
            read_request(&mut reader, &mut io::sink()),
            Err(ReadError::Closed)
        ));
    }

    #[test]
    fn http10_closes_unless_asked_to_keep_alive() {
        assert!(!ok(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(ok(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn reads_a_chunked_body_with_extensions_and_trailers() {
        let wire = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"te\r\n9\r\nxt\":\"hi\"}\r\n0\r\nX-Trailer: y\r\n\r\n";
        assert_eq!(ok(wire).body, br#"{"text":"hi"}"#);
    }

    #[test]
    fn chunked_wins_over_content_length() {
        let wire = b"POST /x HTTP/1.1\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n";
        assert_eq!(ok(wire).body, b"ab");
    }

    #[test]
    fn bodies_over_one_mib_are_refused() {
        let at_cap = format!("POST /x HTTP/1.1\r\nContent-Length: {MAX_BODY_BYTES}\r\n\r\n");
        let mut wire = at_cap.into_bytes();
        wire.extend(vec![b'a'; MAX_BODY_BYTES]);
        assert_eq!(ok(&wire).body.len(), MAX_BODY_BYTES);

        let over = format!(
            "POST /x HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        assert!(matches!(
            read(over.as_bytes()).0,
            Err(ReadError::BodyTooLarge)
        ));

        let chunk = format!("{:x}\r\n", MAX_BODY_BYTES / 2 + 1);
        let mut chunked = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..2 {
            chunked.extend(chunk.as_bytes());
            chunked.extend(vec![b'a'; MAX_BODY_BYTES / 2 + 1]);
            chunked.extend(b"\r\n");
        }
        assert!(matches!(read(&chunked).0, Err(ReadError::BodyTooLarge)));
    }

    #[test]
    fn callers_can_set_a_smaller_body_cap() {
        let wire = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        let mut reader = io::BufReader::new(&wire[..]);
        assert!(matches!(
            read_request_limited(&mut reader, &mut io::sink(), 4),
            Err(ReadError::BodyTooLarge)
        ));
        let chunked = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
        let mut reader = io::BufReader::new(&chunked[..]);
        assert!(matches!(
            read_request_limited(&mut reader, &mut io::sink(), 5),
            Err(ReadError::BodyTooLarge)
        ));
        let mut reader = io::BufReader::new(&chunked[..]);
        let request = read_request_limited(&mut reader, &mut io::sink(), 6).unwrap();
        assert_eq!(request.body, b"abcdef");
    }

    #[test]
    fn expect_continue_gets_an_interim_answer_unless_too_large() {
        let (request, interim) =
            read(b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
        assert_eq!(request.unwrap().body, b"hi");
        assert_eq!(interim, "HTTP/1.1 100 Continue\r\n\r\n");
        let too_large = format!(
            "POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        let (request, interim) = read(too_large.as_bytes());
        assert!(matches!(request, Err(ReadError::BodyTooLarge)));
        assert_eq!(interim, "");
    }

    #[test]
    fn malformed_requests_are_reported() {
        for wire in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET / HTTP/2\r\n\r\n",
            b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\n0\r\n\r\n",
        ] {
            assert!(
                matches!(read(wire).0, Err(ReadError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(wire)
            );
        }
    }

    #[test]
    fn truncated_and_oversized_heads() {
        assert!(matches!(read(b"").0, Err(ReadError::Closed)));
        assert!(matches!(read(b"\r\n").0, Err(ReadError::Closed)));
        assert!(matches!(
            read(b"GET / HTTP/1.1\r\nHo").0,
            Err(ReadError::Io(_))
        ));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc").0,
            Err(ReadError::Io(_))
        ));
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.extend(vec![b'a'; MAX_HEAD_BYTES]);
        huge.extend(b"\r\n\r\n");
        assert!(matches!(read(&huge).0, Err(ReadError::HeadTooLarge)));
    }

    #[test]
    fn paths_drop_authority_and_query() {
        assert_eq!(path_of("/services/a?x=1#f"), "/services/a");
        assert_eq!(
            path_of("http://127.0.0.1:9/_receiver/stats?x"),
            "/_receiver/stats"
        );
        assert_eq!(path_of("http://127.0.0.1:9"), "/");
        assert_eq!(path_of("?x=1"), "/");
        assert_eq!(path_of("#f"), "/");
    }

    #[test]
    fn responses_carry_length_and_retry_after() {
        let mut out = Vec::new();
        let mut response = Response::text(429, "rate_limited");
        response.retry_after = Some(3);
        response.write_to(&mut out, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nContent-Length: 12\r\n"), "{text}");
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
        assert!(text.contains("\r\nRetry-After: 3\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nrate_limited"), "{text}");
    }
}

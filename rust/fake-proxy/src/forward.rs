//! [`ForwardProxy`]: an HTTP forward proxy to loopback targets.

use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::head::{percent_encode, read_head, split_absolute, Authority, Credentials, HeadError};
use crate::server::{Connection, Server, CONNECT_TIMEOUT};

/// Most requests [`ForwardProxy::requests`] keeps (the last ones).
pub const KEEP_LAST: usize = 1000;
/// Most bytes relayed each way on one connection (a request body, a
/// response, one direction of a tunnel).
pub const MAX_RELAY_BYTES: u64 = 64 * 1024 * 1024;

/// What the proxy did with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An absolute-form request, sent on to its target.
    Forwarded,
    /// A `CONNECT`, answered 200 and tunnelled.
    Tunnelled,
    /// Answered 407: the proxy wants credentials and got none or wrong ones.
    AuthenticationRequired,
    /// Answered 403: the target is not on this machine.
    Refused,
    /// Answered 502: the target did not accept the connection.
    Unreachable,
    /// Answered 400: not a proxy request (e.g. origin-form `POST /path`).
    BadRequest,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Forwarded => "forwarded",
            Outcome::Tunnelled => "tunnelled",
            Outcome::AuthenticationRequired => "407",
            Outcome::Refused => "403",
            Outcome::Unreachable => "502",
            Outcome::BadRequest => "400",
        }
    }
}

/// One request the proxy received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxiedRequest {
    /// `CONNECT`, `POST`, ...
    pub method: String,
    /// The target's `host:port` (as the request wrote the host); the raw
    /// target when it could not be read.
    pub target: String,
    /// A `Proxy-Authorization` header was sent, right or wrong.
    pub sent_credentials: bool,
    /// The proxy requires credentials and these were right.
    pub authenticated: bool,
    pub outcome: Outcome,
}

impl fmt::Display for ProxiedRequest {
    /// `CONNECT 127.0.0.1:4431 tunnelled authenticated`: one line, as the
    /// binary prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials = match (self.sent_credentials, self.authenticated) {
            (_, true) => "authenticated",
            (true, false) => "wrong-credentials",
            (false, false) => "no-credentials",
        };
        write!(
            f,
            "{} {} {} {credentials}",
            self.method,
            self.target,
            self.outcome.as_str()
        )
    }
}

/// How a [`ForwardProxy`] behaves.
#[derive(Clone, Debug, Default)]
pub struct ProxyOptions {
    /// Credentials every request must carry (`Proxy-Authorization: Basic`),
    /// or none required.
    pub credentials: Option<Credentials>,
    /// Print each request to stdout, as [`ProxiedRequest`]'s `Display`.
    pub print: bool,
}

struct Shared {
    options: ProxyOptions,
    requests: Mutex<Vec<ProxiedRequest>>,
    arrived: Condvar,
}

impl Shared {
    fn record(&self, request: ProxiedRequest) {
        if self.options.print {
            let mut out = io::stdout().lock();
            let _ = writeln!(out, "{request}").and_then(|()| out.flush());
        }
        let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        if requests.len() >= KEEP_LAST {
            requests.remove(0);
        }
        requests.push(request);
        self.arrived.notify_all();
    }
}

/// An HTTP forward proxy on `127.0.0.1`, for tests: absolute-form requests
/// (`POST http://127.0.0.1:N/path HTTP/1.1`) are sent on to their target,
/// `CONNECT host:port` is answered 200 and tunnelled (for https targets).
/// With [`ProxyOptions::credentials`] every request must carry them as
/// `Proxy-Authorization: Basic`, else it is answered 407 with
/// `Proxy-Authenticate`.
///
/// It reaches loopback targets only (`127.0.0.0/8`, `[::1]`, `localhost`,
/// never a name it would have to resolve): any other is answered 403. One
/// request per client connection (each answer says `Connection: close`), at
/// most [`MAX_CONNECTIONS`](crate::MAX_CONNECTIONS) at once, each direction
/// bounded by [`MAX_RELAY_BYTES`]. Every request is recorded
/// ([`ForwardProxy::requests`]) before it is answered or forwarded.
/// Dropping the proxy stops it and closes every connection.
pub struct ForwardProxy {
    shared: Arc<Shared>,
    server: Server,
}

impl ForwardProxy {
    /// A proxy on a free port that wants no credentials.
    pub fn start() -> io::Result<ForwardProxy> {
        ForwardProxy::start_with(loopback_any(), ProxyOptions::default())
    }

    /// A proxy on a free port that answers 407 to any request without
    /// exactly these credentials.
    pub fn with_credentials(user: &str, password: &str) -> io::Result<ForwardProxy> {
        ForwardProxy::start_with(
            loopback_any(),
            ProxyOptions {
                credentials: Some(Credentials {
                    user: user.to_string(),
                    password: password.to_string(),
                }),
                print: false,
            },
        )
    }

    /// A proxy on `addr`, an IPv4 loopback address (port 0 picks a free one).
    pub fn start_with(addr: SocketAddr, options: ProxyOptions) -> io::Result<ForwardProxy> {
        let shared = Arc::new(Shared {
            options,
            requests: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
        });
        let handler = {
            let shared = Arc::clone(&shared);
            Arc::new(move |stream: TcpStream, connection: &Connection| {
                let _ = serve(stream, connection, &shared);
            })
        };
        let server = Server::start("fake-proxy", addr, handler)?;
        Ok(ForwardProxy { shared, server })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`, to configure a client with.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// `http://USER:PASSWORD@127.0.0.1:PORT`, both percent-encoded.
    pub fn url_with_credentials(&self, user: &str, password: &str) -> String {
        format!(
            "http://{}:{}@{}",
            percent_encode(user),
            percent_encode(password),
            self.addr()
        )
    }

    /// Every request received, in order (the last [`KEEP_LAST`]).
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until at least `n` requests were received or `timeout` passed;
    /// returns them either way.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<ProxiedRequest> {
        let deadline = Instant::now() + timeout;
        let mut requests = self
            .shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while requests.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            requests = self
                .shared
                .arrived
                .wait_timeout(requests, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        requests.clone()
    }

    /// Forgets the requests received.
    pub fn clear(&self) {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Stops the proxy; the same as dropping it.
    pub fn stop(self) {
        drop(self);
    }
}

fn loopback_any() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// Headers a proxy consumes or that would keep a connection open.
const HOP_BY_HOP: &[&str] = &[
    "proxy-authorization",
    "proxy-connection",
    "connection",
    "keep-alive",
];

/// Serves one client connection: one request.
fn serve(client: TcpStream, connection: &Connection, shared: &Shared) -> io::Result<()> {
    let mut writer = client.try_clone()?;
    let mut reader = BufReader::new(client);
    let head = match read_head(&mut reader) {
        Ok(head) => head,
        Err(HeadError::Closed | HeadError::Io) => return Ok(()),
        Err(HeadError::TooLarge) => {
            return refuse(&mut reader, &mut writer, 431, "head too large", &[])
        }
        Err(HeadError::Malformed(why)) => return refuse(&mut reader, &mut writer, 400, why, &[]),
    };
    let method = head.first.clone();
    let sent = head.header("proxy-authorization");
    let authenticated = match (&shared.options.credentials, sent) {
        (Some(credentials), Some(header)) => credentials.accepts(header),
        _ => false,
    };
    let record = |target: String, outcome: Outcome| {
        shared.record(ProxiedRequest {
            method: method.clone(),
            target,
            sent_credentials: sent.is_some(),
            authenticated,
            outcome,
        })
    };
    let connect = method.eq_ignore_ascii_case("CONNECT");
    let parsed = if connect {
        Authority::parse(&head.second, None).map(|a| (a, String::new()))
    } else {
        split_absolute(&head.second)
    };
    let (authority, path) = match parsed {
        Ok(parsed) => parsed,
        Err(why) => {
            record(head.second.clone(), Outcome::BadRequest);
            return refuse(&mut reader, &mut writer, 400, why, &[]);
        }
    };
    if shared.options.credentials.is_some() && !authenticated {
        record(authority.to_string(), Outcome::AuthenticationRequired);
        return refuse(
            &mut reader,
            &mut writer,
            407,
            "proxy credentials required",
            &["Proxy-Authenticate: Basic realm=\"fake-proxy\""],
        );
    }
    let Some(addr) = authority.loopback() else {
        record(authority.to_string(), Outcome::Refused);
        return refuse(
            &mut reader,
            &mut writer,
            403,
            "this proxy reaches loopback targets only",
            &[],
        );
    };
    let upstream = match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
        Ok(upstream) => upstream,
        Err(_) => {
            record(authority.to_string(), Outcome::Unreachable);
            return refuse(
                &mut reader,
                &mut writer,
                502,
                "the target refused the connection",
                &[],
            );
        }
    };
    connection.register(&upstream)?;
    let mut upstream_writer = upstream.try_clone()?;
    let mut upstream_reader = upstream;

    if connect {
        record(authority.to_string(), Outcome::Tunnelled);
        writer.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")?;
        writer.flush()?;
        relay(
            &mut reader,
            &mut upstream_writer,
            &mut upstream_reader,
            &mut writer,
        );
        return Ok(());
    }

    record(authority.to_string(), Outcome::Forwarded);
    let request_line = format!("{} {path} {}", head.first, head.third);
    upstream_writer.write_all(&head.rewritten(&request_line, HOP_BY_HOP))?;
    thread::scope(|s| {
        // The body (whatever its framing) and anything after it, as sent.
        s.spawn(|| {
            let _ = io::copy(
                &mut (&mut reader).take(MAX_RELAY_BYTES),
                &mut upstream_writer,
            );
            let _ = upstream_writer.shutdown(Shutdown::Write);
        });
        let _ = respond(&mut upstream_reader, &mut writer);
        // The answer is out: close both, which also ends the copy above.
        let _ = writer.shutdown(Shutdown::Both);
        let _ = upstream_reader.shutdown(Shutdown::Both);
    });
    Ok(())
}

/// Sends the target's answer to the client, saying `Connection: close`.
fn respond(upstream: &mut TcpStream, client: &mut TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(upstream);
    let head = match read_head(&mut reader) {
        Ok(head) => head,
        Err(HeadError::Closed) => return answer(client, 502, "the target closed unanswered", &[]),
        Err(_) => return answer(client, 502, "the target's answer is not HTTP", &[]),
    };
    let status_line = format!("{} {} {}", head.first, head.second, head.third);
    client.write_all(&head.rewritten(status_line.trim_end(), HOP_BY_HOP))?;
    io::copy(&mut reader.take(MAX_RELAY_BYTES), client)?;
    client.flush()
}

/// Copies both ways until either side is done, then closes both.
fn relay(
    client_reader: &mut BufReader<TcpStream>,
    upstream_writer: &mut TcpStream,
    upstream_reader: &mut TcpStream,
    client_writer: &mut TcpStream,
) {
    thread::scope(|s| {
        s.spawn(|| {
            let _ = io::copy(&mut client_reader.take(MAX_RELAY_BYTES), upstream_writer);
            let _ = upstream_writer.shutdown(Shutdown::Write);
        });
        let _ = io::copy(&mut upstream_reader.take(MAX_RELAY_BYTES), client_writer);
        let _ = client_writer.shutdown(Shutdown::Write);
    });
}

/// Answers `status` and reads what the client still sends (a body), so that
/// closing does not reset the connection before the client read the answer.
fn refuse(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    status: u16,
    body: &str,
    headers: &[&str],
) -> io::Result<()> {
    answer(writer, status, body, headers)?;
    let _ = reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(2)));
    let _ = io::copy(&mut reader.take(MAX_RELAY_BYTES), &mut io::sink());
    Ok(())
}

/// Answers `status` with a one-line body and closes the writing side.
fn answer(out: &mut TcpStream, status: u16, body: &str, headers: &[&str]) -> io::Result<()> {
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        407 => "Proxy Authentication Required",
        431 => "Request Header Fields Too Large",
        _ => "Bad Gateway",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    let body = format!("{body}\n");
    head.push_str(&format!(
        "Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    out.write_all(head.as_bytes())?;
    out.flush()?;
    let _ = out.shutdown(Shutdown::Write);
    Ok(())
}

//! The listener and its connections: one thread per connection, keep-alive.
//!
//! Stopping must not wait on clients: a hung post, an idle keep-alive connection or a
//! half-sent request would otherwise hold a test's `Drop` forever. So every connection's
//! socket is registered here, and stopping shuts all of them down, which wakes each
//! blocked read or write at once; a hung post waits on a condition variable that
//! stopping notifies.

use crate::api::{self, Answer};
use crate::control;
use crate::state::{Outcome, Shared};
use slack_alert_http::{self as http, ReadError, Request, Response};
use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Where Slack's webhooks live.
pub(crate) const WEBHOOK_PREFIX: &str = "/services/";
/// How long stopping waits for threads before leaving stragglers detached. They can
/// only be stuck outside a socket (e.g. printing to a stdout nobody reads).
const STOP_GRACE: Duration = Duration::from_secs(1);
/// Connection threads only parse and check JSON: a small stack lets hundreds of idle
/// connections cost little.
const CONNECTION_STACK_BYTES: usize = 512 * 1024;

/// The open connections, so that stopping can shut them down.
#[derive(Default)]
struct Connections {
    stopping: bool,
    next_id: u64,
    open: HashMap<u64, TcpStream>,
    threads: Vec<JoinHandle<()>>,
}

pub(crate) struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    connections: Arc<Mutex<Connections>>,
    acceptor: Option<JoinHandle<()>>,
}

fn lock(connections: &Mutex<Connections>) -> MutexGuard<'_, Connections> {
    connections.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Server {
    /// Starts accepting on `listener`.
    pub(crate) fn spawn(listener: TcpListener, shared: Arc<Shared>) -> io::Result<Server> {
        let addr = listener.local_addr()?;
        let connections = Arc::new(Mutex::new(Connections::default()));
        let acceptor = {
            let shared = Arc::clone(&shared);
            let connections = Arc::clone(&connections);
            thread::Builder::new()
                .name("fake-slack-accept".to_string())
                .spawn(move || accept_loop(listener, shared, connections))?
        };
        Ok(Server {
            addr,
            shared,
            connections,
            acceptor: Some(acceptor),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes every connection and joins the threads (within about
    /// [`STOP_GRACE`]). Calling it again does nothing.
    pub(crate) fn stop(&mut self) {
        {
            let mut connections = lock(&self.connections);
            if connections.stopping {
                return;
            }
            connections.stopping = true;
            for stream in connections.open.values() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        self.shared.stop();
        let deadline = Instant::now() + STOP_GRACE;
        if let Some(acceptor) = self.acceptor.take() {
            // The acceptor blocks in accept(): a connection wakes it to see `stopping`.
            while !acceptor.is_finished() && Instant::now() < deadline {
                let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(100));
                thread::sleep(Duration::from_millis(2));
            }
            join_by(acceptor, deadline);
        }
        let threads = std::mem::take(&mut lock(&self.connections).threads);
        for thread in threads {
            join_by(thread, deadline);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Joins `thread` if it finishes by `deadline`; otherwise leaves it detached.
fn join_by(thread: JoinHandle<()>, deadline: Instant) {
    while !thread.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    if thread.is_finished() {
        let _ = thread.join();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, connections: Arc<Mutex<Connections>>) {
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(_) if lock(&connections).stopping => return,
            Err(_) => {
                // Out of file descriptors or a connection reset before accept: back
                // off briefly rather than spin.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let mut open = lock(&connections);
        if open.stopping {
            return;
        }
        let Ok(registered) = stream.try_clone() else {
            continue;
        };
        open.threads.retain(|t| !t.is_finished());
        let id = open.next_id;
        open.next_id += 1;
        let shared = Arc::clone(&shared);
        let forget = Arc::clone(&connections);
        let spawned = thread::Builder::new()
            .name(format!("fake-slack-conn-{id}"))
            .stack_size(CONNECTION_STACK_BYTES)
            .spawn(move || {
                serve(stream, &shared);
                lock(&forget).open.remove(&id);
            });
        if let Ok(thread) = spawned {
            open.open.insert(id, registered);
            open.threads.push(thread);
        }
    }
}

/// Serves requests on one connection until it closes.
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let request = match http::read_request_limited_by(&mut reader, &mut writer, body_cap) {
            Ok(request) => request,
            Err(ReadError::Closed | ReadError::Io(_)) => return,
            Err(ReadError::Malformed(problem)) => {
                return http::refuse(
                    &mut reader,
                    &writer,
                    Response::text(400, &format!("bad_request: {problem}")),
                );
            }
            Err(ReadError::BodyTooLarge) => {
                return http::refuse(
                    &mut reader,
                    &writer,
                    Response::text(413, "request_too_large"),
                );
            }
            Err(ReadError::HeadTooLarge) => {
                return http::refuse(
                    &mut reader,
                    &writer,
                    Response::text(431, "request_header_too_large"),
                );
            }
        };
        if shared.is_stopping() {
            return;
        }
        match route(shared, &request) {
            Reply::Send(response) => {
                if response.write_to(&mut writer, request.keep_alive).is_err() {
                    return;
                }
            }
            Reply::Raw(head) => {
                if write_raw(&mut writer, &head, request.keep_alive).is_err() {
                    return;
                }
            }
            Reply::HugeBody { status, bytes } => {
                // The client may stop reading at any point: then the connection is
                // done for, and what got out is what the test wants to know.
                let written = write_huge_body(&mut writer, status, bytes);
                shared.note_huge_body_bytes(written);
                return;
            }
            Reply::Hang { generation } => return shared.wait_while_hung(generation),
            Reply::HangApi { generation } => return shared.wait_while_api_hung(generation),
            Reply::Close => return,
        }
        if !request.keep_alive {
            return;
        }
    }
}

/// The largest body read for a request to `path`: an upload URL takes a file of up
/// to [`api::MAX_UPLOAD_BYTES`] in a multipart envelope; everything else Slack's
/// [`http::MAX_BODY_BYTES`].
fn body_cap(_method: &str, path: &str) -> usize {
    if path.starts_with(api::UPLOAD_PREFIX) {
        api::MAX_UPLOAD_BYTES + api::UPLOAD_ENVELOPE_BYTES
    } else {
        http::MAX_BODY_BYTES
    }
}

/// What a connection does after a request.
enum Reply {
    Send(Response),
    /// A response whose `Retry-After` is sent verbatim.
    Raw(RawAnswer),
    /// A status and a body of `bytes` bytes, then close.
    HugeBody {
        status: u16,
        bytes: u64,
    },
    /// Say nothing until the mode changes or the receiver stops, then close.
    Hang {
        generation: u64,
    },
    /// Say nothing until the failure forced on a Web API method changes, a reset, or
    /// the receiver stops, then close.
    HangApi {
        generation: u64,
    },
    /// Close without a word.
    Close,
}

/// Decides what to do with one request: webhook post, control request or 404.
fn route(shared: &Shared, request: &Request) -> Reply {
    let path = request.path.as_str();
    if path.starts_with(WEBHOOK_PREFIX) {
        if request.method != "POST" {
            return Reply::Send(Response::text(405, "invalid_method"));
        }
        return match shared.post(&request.body) {
            Outcome::Answer {
                status,
                body,
                retry_after,
            } => {
                let mut response = Response::text(status, &body);
                response.retry_after = retry_after;
                Reply::Send(response)
            }
            Outcome::AnswerRaw {
                status,
                body,
                retry_after,
            } => Reply::Raw(RawAnswer {
                status,
                content_type: "text/plain; charset=utf-8",
                body,
                retry_after,
            }),
            Outcome::HugeBody { status, bytes } => Reply::HugeBody { status, bytes },
            Outcome::Hang { generation } => Reply::Hang { generation },
            Outcome::Close => Reply::Close,
        };
    }
    if let Some(name) = path.strip_prefix(api::API_PREFIX) {
        return api_reply(shared.api_call(name, &api_call(request)));
    }
    if let Some(file_id) = path.strip_prefix(api::UPLOAD_PREFIX) {
        return api_reply(shared.api_upload(file_id, &api_call(request)));
    }
    if path.starts_with(control::PREFIX) {
        return Reply::Send(control::handle(
            shared,
            &request.method,
            path,
            &request.body,
        ));
    }
    Reply::Send(Response::text(404, "no_service"))
}

fn api_call(request: &Request) -> api::Call<'_> {
    api::Call {
        http_method: &request.method,
        query: &request.query,
        content_type: request.header("content-type"),
        authorization: request.header("authorization"),
        body: &request.body,
    }
}

/// Slack's Web API answers JSON in UTF-8, saying so.
const API_CONTENT_TYPE: &str = "application/json; charset=utf-8";

fn api_reply(answer: Answer) -> Reply {
    match answer {
        Answer::Json {
            status,
            body,
            retry_after,
        } => Reply::Send(Response {
            status,
            content_type: API_CONTENT_TYPE,
            body: body.to_string().into_bytes(),
            retry_after,
        }),
        Answer::Text { status, body } => Reply::Send(Response::text(status, &body)),
        Answer::Raw {
            status,
            body,
            retry_after,
        } => Reply::Raw(RawAnswer {
            status,
            content_type: API_CONTENT_TYPE,
            body,
            retry_after,
        }),
        Answer::HugeBody { status, bytes } => Reply::HugeBody { status, bytes },
        Answer::Hang { generation } => Reply::HangApi { generation },
        Answer::Close => Reply::Close,
    }
}

/// An answer whose `Retry-After` header is whatever a test asked for.
struct RawAnswer {
    status: u16,
    content_type: &'static str,
    body: String,
    retry_after: String,
}

fn write_raw(out: &mut impl Write, answer: &RawAnswer, keep_alive: bool) -> io::Result<()> {
    // Control characters would split the header: keep the rest of the text.
    let value: String = answer
        .retry_after
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    write!(
        out,
        "HTTP/1.1 {} Answer\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Connection: {}\r\nRetry-After: {value}\r\n\r\n{}",
        answer.status,
        answer.content_type,
        answer.body.len(),
        if keep_alive { "keep-alive" } else { "close" },
        answer.body
    )?;
    out.flush()
}

/// Writes a `status` answer with a body of `bytes` bytes; returns how many body bytes
/// got out before the client stopped reading.
fn write_huge_body(out: &mut impl Write, status: u16, bytes: u64) -> u64 {
    let head = format!(
        "HTTP/1.1 {status} Answer\r\nContent-Type: text/plain\r\nContent-Length: {bytes}\r\n\
         Connection: close\r\n\r\n"
    );
    if out.write_all(head.as_bytes()).is_err() {
        return 0;
    }
    let chunk = [b'x'; 64 * 1024];
    let mut written = 0u64;
    while written < bytes {
        let n = (bytes - written).min(chunk.len() as u64) as usize;
        match out.write(&chunk[..n]) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    let _ = out.flush();
    written
}

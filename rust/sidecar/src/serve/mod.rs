//! `run`: the engine behind a TCP `json_lines` listener and an HTTP API.
//!
//! One thread per connection, on a small stack, reading synchronously: a
//! client that sends faster than the engine decides is slowed down by TCP
//! itself, so nothing is buffered without bound. Every connection costs at
//! most one line (`--max-line-bytes`) or one request body of memory, at most
//! `--max-connections` are open at once (more are accepted and closed at
//! once), and one silent for `--idle-timeout` is closed.
//!
//! Deciding about an event never waits for Slack: the engine queues the
//! message for its sender thread and returns.

mod http;
pub mod metrics;
mod tcp;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;
use slack_alert_engine::{
    Candidacy, Config, Engine, Level, LogLevel, LogSink, ShutdownReport, StartError,
};
use slack_alert_event::FieldRef;

/// Connection threads parse JSON (nesting is capped at 128 by serde_json) and
/// render one Slack message: a small stack lets many idle connections cost little.
pub const CONNECTION_STACK_BYTES: usize = 256 * 1024;

/// How long stopping waits for connection threads to notice.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// The bounds that keep one client from hurting the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once, TCP and HTTP together; past it a new
    /// connection is closed at once. Default 1024.
    pub max_connections: usize,
    /// Longest line (TCP) or request body (HTTP) read; longer ones are
    /// discarded and counted. Default 1 MiB, far above any sane log event.
    pub max_line_bytes: usize,
    /// A connection that sends nothing for this long is closed, so dead
    /// clients do not hold slots. Default 5 minutes.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            max_line_bytes: 1 << 20,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// Which listeners to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    pub tcp: Option<SocketAddr>,
    pub http: Option<SocketAddr>,
}

/// The sidecar's own counters, besides the engine's.
#[derive(Debug, Default)]
pub struct Stats {
    pub tcp_connections: AtomicU64,
    pub http_connections: AtomicU64,
    pub refused_connections: AtomicU64,
    pub open_connections: AtomicU64,
    pub lines_rejected: AtomicU64,
    pub oversized_lines: AtomicU64,
    pub http_requests: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// What one line of input was.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ingested {
    Event,
    Blank,
}

/// What the connection threads share.
pub(crate) struct Hub {
    engine: Engine,
    level_refs: Vec<FieldRef>,
    limits: Limits,
    stats: Stats,
    log: Arc<dyn LogSink>,
    stopping: AtomicBool,
    connections: Mutex<Registry>,
}

/// Open connections, so that stopping can close them.
#[derive(Default)]
struct Registry {
    next_id: u64,
    open: HashMap<u64, Arc<TcpStream>>,
}

impl Hub {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    pub(crate) fn log(&self, level: LogLevel, message: &str) {
        self.log.log(level, message);
    }

    /// Takes one line of JSON: an event object, or a blank line to skip.
    pub(crate) fn ingest_line(&self, bytes: &[u8]) -> Result<Ingested, String> {
        if bytes.trim_ascii().is_empty() {
            return Ok(Ingested::Blank);
        }
        match crate::lines::parse_event(bytes) {
            Ok(event) => {
                self.ingest(&event);
                Ok(Ingested::Event)
            }
            Err(problem) => {
                add(&self.stats.lines_rejected, 1);
                Err(problem)
            }
        }
    }

    /// Hands one event to the engine, as the plugin does. Only an alert
    /// candidate (its level is one some alert rule accepts) is picked apart
    /// whole; a heartbeat (an event only a flatline rule takes, e.g. every
    /// event with a flatline rule without levels) carries only the fields
    /// the flatline rules read; the common case costs one field lookup.
    pub(crate) fn ingest(&self, event: &Value) {
        self.engine.note_seen(1);
        let level = self
            .level_refs
            .iter()
            .find_map(|r| r.resolve(event).filter(|v| !v.is_null()))
            .and_then(Level::from_json);
        match self.engine.candidacy(level) {
            Candidacy::Alert => {
                self.engine.submit(&self.engine.event_from_json(event));
            }
            Candidacy::Heartbeat => {
                self.engine
                    .heartbeat(&self.engine.heartbeat_from_json(event), 1);
            }
            Candidacy::None => {}
        }
    }

    pub(crate) fn reject(&self) {
        add(&self.stats.lines_rejected, 1);
    }

    pub(crate) fn oversized(&self) {
        add(&self.stats.oversized_lines, 1);
    }

    /// Registers a new connection, or returns `None` when the limit is
    /// reached or the server is stopping.
    fn open_slot(self: &Arc<Hub>, stream: &Arc<TcpStream>) -> Option<Slot> {
        let mut registry = self.registry();
        if self.is_stopping() || registry.open.len() >= self.limits.max_connections {
            return None;
        }
        let id = registry.next_id;
        registry.next_id += 1;
        registry.open.insert(id, Arc::clone(stream));
        add(&self.stats.open_connections, 1);
        Some(Slot {
            hub: Arc::clone(self),
            id,
        })
    }
}

/// One open connection; dropping it frees the slot.
struct Slot {
    hub: Arc<Hub>,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.hub.registry().open.remove(&self.id);
        self.hub
            .stats
            .open_connections
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Which protocol a listener speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Tcp,
    Http,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Http => "http",
        }
    }
}

/// Starting `run` failed.
#[derive(Debug)]
pub enum ServeError {
    /// Occurs when a listener cannot bind (address in use, no permission).
    Bind {
        listener: &'static str,
        addr: SocketAddr,
        error: io::Error,
    },
    /// Occurs when the engine cannot start (HTTP client, threads).
    Engine(StartError),
    /// Occurs when a thread cannot be started.
    Thread(io::Error),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Bind {
                listener,
                addr,
                error,
            } => write!(f, "--{listener}: cannot listen on {addr}: {error}"),
            ServeError::Engine(e) => write!(f, "could not start the engine: {e}"),
            ServeError::Thread(e) => write!(f, "could not start a thread: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// What stopping did.
#[derive(Debug)]
pub struct StopReport {
    pub engine: ShutdownReport,
    pub connections: u64,
    pub lines_rejected: u64,
    pub oversized_lines: u64,
}

impl fmt::Display for StopReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; served {} connections, skipped {} bad and {} oversized lines",
            self.engine, self.connections, self.lines_rejected, self.oversized_lines
        )
    }
}

/// The running listeners.
pub struct Server {
    hub: Arc<Hub>,
    tcp_addr: Option<SocketAddr>,
    http_addr: Option<SocketAddr>,
    acceptors: Vec<(SocketAddr, JoinHandle<()>)>,
}

impl Server {
    /// Binds the listeners, starts the engine and starts accepting.
    pub fn start(
        config: Config,
        listen: &Listen,
        limits: Limits,
        log: Arc<dyn LogSink>,
    ) -> Result<Server, ServeError> {
        let bind = |listener: &'static str, addr: SocketAddr| {
            TcpListener::bind(addr)
                .and_then(|l| Ok((l.local_addr()?, l)))
                .map_err(|error| ServeError::Bind {
                    listener,
                    addr,
                    error,
                })
        };
        // Bind first: a port in use should fail before any thread starts.
        let tcp = listen.tcp.map(|a| bind("tcp", a)).transpose()?;
        let http = listen.http.map(|a| bind("http", a)).transpose()?;
        let level_refs = config
            .level_refs
            .iter()
            .filter_map(|r| FieldRef::parse(r).ok())
            .collect();
        let engine = Engine::start(config, Arc::clone(&log)).map_err(ServeError::Engine)?;
        let hub = Arc::new(Hub {
            engine,
            level_refs,
            limits,
            stats: Stats::default(),
            log,
            stopping: AtomicBool::new(false),
            connections: Mutex::new(Registry::default()),
        });
        let mut server = Server {
            hub,
            tcp_addr: tcp.as_ref().map(|(a, _)| *a),
            http_addr: http.as_ref().map(|(a, _)| *a),
            acceptors: Vec::new(),
        };
        for (kind, bound) in [(Kind::Tcp, tcp), (Kind::Http, http)] {
            let Some((addr, listener)) = bound else {
                continue;
            };
            let hub = Arc::clone(&server.hub);
            let thread = thread::Builder::new()
                .name(format!("slack-alert-{}-accept", kind.name()))
                .spawn(move || accept_loop(listener, hub, kind))
                .map_err(ServeError::Thread)?;
            server.acceptors.push((addr, thread));
        }
        Ok(server)
    }

    /// The TCP listener's address (with the port chosen for port 0).
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// Stops accepting, closes every connection, then stops the engine, which
    /// reports open windows and pending counts and delivers what is queued
    /// within `shutdown_timeout`.
    pub fn stop(mut self) -> StopReport {
        self.hub.stopping.store(true, Ordering::Release);
        let deadline = Instant::now() + STOP_GRACE;
        for (addr, acceptor) in self.acceptors.drain(..) {
            // The acceptor blocks in accept(): a connection wakes it to see
            // `stopping`, and it returns, closing the listener.
            let wake = wakeable(addr);
            while !acceptor.is_finished() && Instant::now() < deadline {
                let _ = TcpStream::connect_timeout(&wake, Duration::from_millis(100));
                thread::sleep(Duration::from_millis(2));
            }
            if acceptor.is_finished() {
                let _ = acceptor.join();
            }
        }
        // Reading threads see the end of their stream and finish the line
        // they were deciding about.
        for stream in self.hub.registry().open.values() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        while self.hub.stats.open_connections.load(Ordering::Relaxed) > 0
            && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(5));
        }
        let engine = self.hub.engine.shutdown();
        let stats = &self.hub.stats;
        StopReport {
            engine,
            connections: stats.tcp_connections.load(Ordering::Relaxed)
                + stats.http_connections.load(Ordering::Relaxed),
            lines_rejected: stats.lines_rejected.load(Ordering::Relaxed),
            oversized_lines: stats.oversized_lines.load(Ordering::Relaxed),
        }
    }
}

/// An address a local client can connect to for a listener bound to `addr`
/// (the unspecified address is not one).
fn wakeable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

fn accept_loop(listener: TcpListener, hub: Arc<Hub>, kind: Kind) {
    for stream in listener.incoming() {
        if hub.is_stopping() {
            return;
        }
        let stream = match stream {
            Ok(stream) => Arc::new(stream),
            Err(_) => {
                // Out of file descriptors, or a connection reset before
                // accept: back off briefly rather than spin.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let Some(slot) = hub.open_slot(&stream) else {
            // Closed at once: answering would take a thread or a wait, and
            // both are what the limit is there to bound.
            add(&hub.stats.refused_connections, 1);
            continue;
        };
        add(
            match kind {
                Kind::Tcp => &hub.stats.tcp_connections,
                Kind::Http => &hub.stats.http_connections,
            },
            1,
        );
        let thread_hub = Arc::clone(&hub);
        let spawned = thread::Builder::new()
            .name(format!("slack-alert-{}-conn", kind.name()))
            .stack_size(CONNECTION_STACK_BYTES)
            .spawn(move || {
                let _slot = slot;
                match kind {
                    Kind::Tcp => tcp::serve(&stream, &thread_hub),
                    Kind::Http => http::serve(&stream, &thread_hub),
                }
            });
        if let Err(e) = spawned {
            // The closure, and with it the slot and the stream, is dropped.
            hub.log(
                LogLevel::Warn,
                &format!("could not start a connection thread ({e}); connection closed"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slack_alert_engine::BufferedLog;
    use std::io::{BufRead, BufReader, Read, Write};

    fn start(limits: Limits) -> (Server, Arc<BufferedLog>) {
        let config = Config::from_json(r#"{"dry_run": true, "dedup_window": "1h"}"#).unwrap();
        let log = Arc::new(BufferedLog::new(1000));
        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let server = Server::start(
            config,
            &Listen {
                tcp: Some(local),
                http: Some(local),
            },
            limits,
            log.clone(),
        )
        .unwrap();
        (server, log)
    }

    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn http(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn tcp_and_http_events_reach_the_engine() {
        let (server, _) = start(Limits::default());
        let mut tcp = TcpStream::connect(server.tcp_addr().unwrap()).unwrap();
        tcp.write_all(
            b"{\"log.level\":\"ERROR\",\"message\":\"a\"}\n\xff\n{\"log.level\":\"INFO\"}\r\n\n",
        )
        .unwrap();
        let body =
            "{\"level\":\"error\",\"message\":\"b\"}\n[1]\n{\"level\":\"fatal\",\"message\":\"c\"}";
        let answer = http(
            server.http_addr().unwrap(),
            &format!(
                "POST /events HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        );
        assert!(answer.starts_with("HTTP/1.1 202 Accepted\r\n"), "{answer}");
        let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"accepted": 2, "rejected": 1, "errors": ["event 2: not an event object"]})
        );
        let engine = &server.hub.engine;
        wait_for("4 events", || engine.counter("events") == Some(4));
        assert_eq!(engine.counter("alerts"), Some(3));
        assert_eq!(server.hub.stats.lines_rejected.load(Ordering::Relaxed), 2);
        drop(tcp);
        let report = server.stop();
        assert_eq!(report.connections, 2);
    }

    /// `run` starts the real engine, coordination included: with a store that refuses every
    /// connection, the event's alert is decided node-locally and both are counted (the
    /// fleet's own behaviour on a reachable store: java-shim's FleetTest, the mixed fleet).
    #[test]
    fn run_coordinates_through_the_engine() {
        let config = Config::from_json(
            r#"{"dry_run": true, "dedup_window": "1h", "coordination_hosts": ["http://127.0.0.1:1"],
                "coordination_timeout": "100ms"}"#,
        )
        .unwrap();
        assert!(config.coordination.is_some());
        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let server = Server::start(
            config,
            &Listen {
                tcp: Some(local),
                http: None,
            },
            Limits::default(),
            Arc::new(BufferedLog::new(1000)),
        )
        .unwrap();
        let mut tcp = TcpStream::connect(server.tcp_addr().unwrap()).unwrap();
        tcp.write_all(b"{\"log.level\":\"ERROR\",\"message\":\"db down\"}\n")
            .unwrap();
        let engine = &server.hub.engine;
        wait_for("the store's failure", || {
            engine.counter("coordination_failures").unwrap_or(0) >= 1
        });
        wait_for("a node-local decision", || {
            engine.counter("coordination_fallbacks").unwrap_or(0) >= 1
        });
        assert_eq!(engine.counter("alerts"), Some(1));
        drop(tcp);
        server.stop();
    }

    #[test]
    fn over_the_connection_limit_new_connections_are_closed() {
        let (server, _) = start(Limits {
            max_connections: 2,
            ..Limits::default()
        });
        let held: Vec<TcpStream> = (0..2)
            .map(|_| TcpStream::connect(server.tcp_addr().unwrap()).unwrap())
            .collect();
        let open = &server.hub.stats.open_connections;
        wait_for("2 open", || open.load(Ordering::Relaxed) == 2);
        let mut refused = TcpStream::connect(server.tcp_addr().unwrap()).unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(refused.read(&mut buf).unwrap_or(0), 0);
        assert_eq!(
            server.hub.stats.refused_connections.load(Ordering::Relaxed),
            1
        );
        drop(held);
        wait_for("slots freed", || open.load(Ordering::Relaxed) == 0);
        let answer = http(
            server.http_addr().unwrap(),
            "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
        );
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        server.stop();
    }

    #[test]
    fn oversized_lines_and_idle_clients_are_dealt_with() {
        let (server, log) = start(Limits {
            max_line_bytes: 64,
            idle_timeout: Duration::from_millis(300),
            ..Limits::default()
        });
        let mut tcp = TcpStream::connect(server.tcp_addr().unwrap()).unwrap();
        let mut line = vec![b'x'; 200];
        line.extend(b"\n{\"log.level\":\"ERROR\",\"message\":\"ok\"}\n");
        tcp.write_all(&line).unwrap();
        let engine = &server.hub.engine;
        wait_for("the event after the long line", || {
            engine.counter("alerts") == Some(1)
        });
        assert_eq!(server.hub.stats.oversized_lines.load(Ordering::Relaxed), 1);
        // Idle: closed by the server.
        let mut reader = BufReader::new(tcp);
        let mut rest = String::new();
        assert_eq!(reader.read_line(&mut rest).unwrap_or(0), 0);
        let lines: Vec<String> = log.drain().into_iter().map(|(_, l)| l).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("longer than --max-line-bytes (64)")),
            "{lines:?}"
        );
        server.stop();
    }

    #[test]
    fn an_app_mode_yaml_config_runs_as_a_dry_run() {
        // `run` starts the engine itself: the app sender (here its dry run)
        // comes with the configuration, nothing in the sidecar changes.
        let config = crate::config_file::parse(
            "dry_run: true\n\
             slack_token: xoxb-1234-5678-runsecret\n\
             channel: '#alerts-%{[service.name]}'\n\
             fallback_channel: '#alerts'\n\
             update_interval: 5s\n",
            std::path::Path::new("app.yml"),
            &|_| None,
        )
        .unwrap();
        assert!(config.rules[0].app.is_some());
        let log = Arc::new(BufferedLog::new(1000));
        let server = Server::start(
            config,
            &Listen {
                tcp: None,
                http: None,
            },
            Limits::default(),
            log.clone(),
        )
        .unwrap();
        let event = serde_json::json!({
            "log.level": "ERROR", "message": "db down", "service.name": "checkout"
        });
        server.hub.ingest(&event);
        server.hub.ingest(&event);
        assert_eq!(server.hub.engine.counter("alerts"), Some(1));
        assert_eq!(server.hub.engine.counter("repeats"), Some(1));
        // Stopping delivers what is queued: the post and the final count.
        let report = server.stop();
        assert_eq!(report.engine.undelivered_events, 0, "{}", report.engine);
        let lines: Vec<String> = log.drain().into_iter().map(|(_, l)| l).collect();
        let all = lines.join("\n");
        assert!(
            all.contains("dry run: would post to #alerts-checkout (Slack app)"),
            "{all}"
        );
        // The final count is shown: in an update, or in the post itself
        // when the shutdown's news reached the sender before it posted.
        assert!(
            all.contains("Still repeating when the pipeline stopped · 2 events"),
            "{all}"
        );
        assert!(!all.contains("runsecret"), "{all}");
    }

    #[test]
    fn deeply_nested_json_fits_on_a_connection_stack() {
        // serde_json stops at 128 levels; anything within must not overflow
        // the connection thread's stack on its way through the engine.
        let (server, _) = start(Limits::default());
        let deep = format!(
            "{{\"log.level\":\"ERROR\",\"message\":\"deep\",\"x\":{}1{}}}\n{}\n",
            "[".repeat(120),
            "]".repeat(120),
            "[".repeat(5000)
        );
        let mut tcp = TcpStream::connect(server.tcp_addr().unwrap()).unwrap();
        tcp.write_all(deep.as_bytes()).unwrap();
        let engine = &server.hub.engine;
        wait_for("the deep event", || engine.counter("alerts") == Some(1));
        wait_for("the rejected line", || {
            server.hub.stats.lines_rejected.load(Ordering::Relaxed) == 1
        });
        server.stop();
    }
}

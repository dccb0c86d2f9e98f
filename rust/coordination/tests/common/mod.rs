//! Test servers: a real OpenSearch node (java-shim/opensearch-fixture, run as a child JVM) and a
//! fake one on a raw TCP socket that answers whatever a test tells it to.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use slack_alert_coordination::{Store, StoreSettings};

/// Ceiling for a node to start; one takes 5–10 s here, more when the machine is busy.
const START_CEILING: Duration = Duration::from_secs(240);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// A single-node OpenSearch in a child JVM: `OpenSearchNode`'s main, which prints its URL and
/// exits when its stdin closes, so it dies with this process however that ends. Dropping it
/// closes stdin, waits, and kills it if it is still there.
pub struct OpenSearch {
    child: Child,
    stdin: Option<ChildStdin>,
    url: String,
    log: PathBuf,
}

impl OpenSearch {
    /// Starts a node on a fresh data directory that the node deletes when it stops.
    ///
    /// Panics (the test fails, never skips) if the fixture's class path file is missing.
    pub fn start(name: &str) -> OpenSearch {
        let root = repo_root();
        let module = root.join("java-shim/opensearch-fixture");
        let classpath_file = module.join("target/classpath.txt");
        let classes = module.join("target/classes");
        let main_class = classes.join("io/slackalert/opensearch/OpenSearchNode.class");
        let classpath = match std::fs::read_to_string(&classpath_file) {
            Ok(cp) if main_class.is_file() => cp.trim().to_string(),
            _ => panic!(
                "no OpenSearch fixture: {} or {} is missing. Run scripts/opensearch-fixture \
                 (it builds java-shim/opensearch-fixture and writes the class path file) and run the tests again",
                classpath_file.display(),
                main_class.display()
            ),
        };
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let data = tmp.join(format!("opensearch-{name}-{}", std::process::id()));
        let log = tmp.join(format!("opensearch-{name}.log"));
        let java = std::env::var_os("JAVA_HOME")
            .map(|home| PathBuf::from(home).join("bin/java"))
            .filter(|java| java.is_file())
            .unwrap_or_else(|| PathBuf::from("java"));
        let stderr = std::fs::File::create(&log).expect("the node's log file");
        let mut child = Command::new(&java)
            .args(["-Xms256m", "-Xmx512m", "-cp"])
            .arg(format!("{}:{classpath}", classes.display()))
            .arg("io.slackalert.opensearch.OpenSearchNode")
            .arg("--data")
            .arg(&data)
            .arg("--delete-data-on-exit")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", java.display()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("the node's stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            // Drained so that the node never blocks on a full pipe.
            for _ in lines {}
        });
        let first = rx.recv_timeout(START_CEILING);
        let url = match first {
            Ok(Some(Ok(line))) if line.starts_with("http://127.0.0.1:") => line.trim().to_string(),
            other => {
                let _ = child.kill();
                let _ = child.wait();
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(40).collect();
                panic!(
                    "OpenSearch did not start ({other:?}); the end of {}:\n{}",
                    log.display(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
        };
        OpenSearch {
            child,
            stdin,
            url,
            log,
        }
    }

    /// One node for every test of the calling test binary, started by the first to ask. It is
    /// never dropped: it stops (and deletes its data) when this process exits and its stdin closes.
    pub fn shared() -> &'static OpenSearch {
        static NODE: OnceLock<OpenSearch> = OnceLock::new();
        NODE.get_or_init(|| OpenSearch::start("shared"))
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A store on a fresh index of its own (named after the test), with a generous timeout.
    pub fn store(&self, index: &str) -> Store {
        let mut settings = StoreSettings::new(vec![self.url.clone()]);
        settings.index = index.to_string();
        settings.timeout = Duration::from_secs(30);
        let store = Store::new(settings).expect("store settings");
        store.ensure_index().expect("ensure_index");
        store
    }
}

impl Drop for OpenSearch {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "OpenSearch did not stop within 60 s of its stdin closing; killing it (log: {})",
            self.log.display()
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it answers `Some`, failing the test after `ceiling`.
pub fn eventually<T>(ceiling: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + ceiling;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {ceiling:?}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// Epoch ms now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A request as the fake server read it.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    pub path: String,
    /// Names lower-cased.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// What the fake server does with a request.
pub enum Reply {
    /// Writes these bytes and closes the connection.
    Raw(Vec<u8>),
    /// A status and a body, with Content-Length.
    Status(u16, String),
    /// Reads the request and never answers (until the server is dropped).
    Hang,
    /// A 200 head announcing `len` bytes, then one byte every `every` (until the server is dropped).
    Drip { len: usize, every: Duration },
    /// A 200 with a chunked body of `len` bytes.
    Chunked { len: usize },
}

/// A TCP server on 127.0.0.1 that reads each request and answers as `reply` says.
pub struct FakeServer {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Captured>>>,
    pub connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    // Dropped with the server: hung connections waiting on it end.
    _release: mpsc::Sender<()>,
}

impl FakeServer {
    pub fn start(reply: impl Fn(&Captured) -> Reply + Send + Sync + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let reply = Arc::new(reply);
        {
            let (requests, connections, stop) =
                (requests.clone(), connections.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let (requests, reply, release, stop) = (
                        requests.clone(),
                        reply.clone(),
                        release_rx.clone(),
                        stop.clone(),
                    );
                    thread::spawn(move || serve(stream, &requests, &*reply, &release, &stop));
                }
            });
        }
        FakeServer {
            addr,
            requests,
            connections,
            stop,
            _release: release_tx,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Captured> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(
    mut stream: TcpStream,
    requests: &Mutex<Vec<Captured>>,
    reply: &(dyn Fn(&Captured) -> Reply + Send + Sync),
    release: &Mutex<mpsc::Receiver<()>>,
    stop: &AtomicBool,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    loop {
        let Some(request) = read_request(&mut reader) else {
            return;
        };
        requests.lock().unwrap().push(request.clone());
        let keep_alive = match reply(&request) {
            Reply::Raw(bytes) => {
                let _ = stream.write_all(&bytes);
                return;
            }
            Reply::Status(status, body) => {
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                stream
                    .write_all(head.as_bytes())
                    .and_then(|_| stream.write_all(body.as_bytes()))
                    .is_ok()
            }
            Reply::Hang => {
                // Blocks until the server is dropped (the sender goes away).
                let _ = release.lock().unwrap().recv();
                return;
            }
            Reply::Drip { len, every } => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n");
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for _ in 0..len {
                    if stop.load(Ordering::SeqCst) || stream.write_all(b" ").is_err() {
                        return;
                    }
                    thread::sleep(every);
                }
                return;
            }
            Reply::Chunked { len } => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = vec![b'['; 64 * 1024];
                let mut sent = 0;
                while sent < len {
                    let n = chunk.len().min(len - sent);
                    let frame = format!("{n:x}\r\n");
                    if stream
                        .write_all(frame.as_bytes())
                        .and_then(|_| stream.write_all(&chunk[..n]))
                        .and_then(|_| stream.write_all(b"\r\n"))
                        .is_err()
                    {
                        return;
                    }
                    sent += n;
                }
                let _ = stream.write_all(b"0\r\n\r\n");
                return;
            }
        };
        if !keep_alive {
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Captured> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Captured {
        method,
        path,
        headers,
        body,
    })
}

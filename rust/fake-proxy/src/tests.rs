//! The relays end to end on loopback: a tiny backend, the proxy, the TLS
//! front and a rustls client.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::head::{read_head, Head};
use crate::{ForwardProxy, Outcome, TestCa, TlsFront};

/// Far past what a loaded machine needs; nothing waits on it when all is well.
const CEILING: Duration = Duration::from_secs(30);

/// A backend serving `connections` connections, one request each: it
/// answers `200` with `got <body>` and `Connection: keep-alive`, and keeps
/// each request head.
struct Backend {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<Head>>>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    fn start(connections: usize) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&heads);
        let thread = thread::spawn(move || {
            for _ in 0..connections {
                let (stream, _) = listener.accept().unwrap();
                stream.set_read_timeout(Some(CEILING)).unwrap();
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let Ok(head) = read_head(&mut reader) else {
                    continue;
                };
                let length: usize = head
                    .header("content-length")
                    .map_or(0, |v| v.parse().unwrap());
                let mut body = vec![0u8; length];
                reader.read_exact(&mut body).unwrap();
                kept.lock().unwrap().push(head);
                let answer = format!("got {}", String::from_utf8_lossy(&body));
                write!(
                    writer,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{answer}",
                    answer.len()
                )
                .unwrap();
            }
        });
        Backend {
            addr,
            heads,
            thread: Some(thread),
        }
    }

    fn heads(&self) -> Vec<Head> {
        self.heads.lock().unwrap().clone()
    }

    /// Waits for the backend to have served every connection.
    fn join(mut self) -> Vec<Head> {
        self.thread.take().unwrap().join().unwrap();
        self.heads()
    }
}

/// Sends `request` on a new connection to `addr` and reads to the end.
fn exchange(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(CEILING)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn post(target: SocketAddr, extra: &str) -> String {
    format!(
        "POST http://{target}/services/x?y=1 HTTP/1.1\r\nHost: {target}\r\n\
         Proxy-Connection: keep-alive\r\n{extra}Content-Length: 5\r\n\r\nhello"
    )
}

#[test]
fn forwards_absolute_form_in_origin_form_and_closes() {
    let backend = Backend::start(1);
    let proxy = ForwardProxy::start().unwrap();
    let target = backend.addr;
    let answer = exchange(proxy.addr(), &post(target, ""));
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\ngot hello"), "{answer}");
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
    assert!(!answer.contains("keep-alive"), "{answer}");
    let heads = backend.join();
    assert_eq!(heads[0].first, "POST");
    assert_eq!(heads[0].second, "/services/x?y=1");
    assert_eq!(heads[0].header("proxy-connection"), None);
    assert_eq!(heads[0].header("connection"), Some("close"));
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].target, target.to_string());
    assert_eq!(requests[0].outcome, Outcome::Forwarded);
    assert!(!requests[0].sent_credentials && !requests[0].authenticated);
    assert_eq!(
        requests[0].to_string(),
        format!("POST {target} forwarded no-credentials")
    );
}

#[test]
fn wants_its_credentials_and_keeps_them() {
    let backend = Backend::start(1);
    let proxy = ForwardProxy::with_credentials("alice", "p@ss:word").unwrap();

    let none = exchange(proxy.addr(), &post(backend.addr, ""));
    assert!(
        none.starts_with("HTTP/1.1 407 Proxy Authentication Required\r\n"),
        "{none}"
    );
    assert!(none.contains("Proxy-Authenticate: Basic realm=\"fake-proxy\"\r\n"));
    let wrong = exchange(
        proxy.addr(),
        &post(backend.addr, "Proxy-Authorization: Basic YWxpY2U6bm8=\r\n"),
    );
    assert!(wrong.starts_with("HTTP/1.1 407 "), "{wrong}");
    let right = crate::Credentials {
        user: "alice".into(),
        password: "p@ss:word".into(),
    }
    .header();
    let ok = exchange(
        proxy.addr(),
        &post(backend.addr, &format!("Proxy-Authorization: {right}\r\n")),
    );
    assert!(ok.ends_with("got hello"), "{ok}");

    // The target never sees the proxy's credentials.
    let heads = backend.join();
    assert_eq!(heads.len(), 1);
    assert_eq!(heads[0].header("proxy-authorization"), None);
    let seen: Vec<_> = proxy
        .requests()
        .iter()
        .map(|r| (r.outcome, r.sent_credentials, r.authenticated))
        .collect();
    assert_eq!(
        seen,
        [
            (Outcome::AuthenticationRequired, false, false),
            (Outcome::AuthenticationRequired, true, false),
            (Outcome::Forwarded, true, true),
        ]
    );
    assert_eq!(
        proxy.url_with_credentials("alice", "p@ss:word"),
        format!("http://alice:p%40ss%3Aword@{}", proxy.addr())
    );
}

#[test]
fn reaches_this_machine_only_and_says_what_is_wrong() {
    let proxy = ForwardProxy::start().unwrap();
    // Documentation addresses and names: refused before any connection.
    let far = exchange(
        proxy.addr(),
        "GET http://192.0.2.1/ HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n",
    );
    assert!(far.starts_with("HTTP/1.1 403 "), "{far}");
    let far = exchange(
        proxy.addr(),
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    );
    assert!(far.starts_with("HTTP/1.1 403 "), "{far}");
    let origin = exchange(proxy.addr(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(origin.starts_with("HTTP/1.1 400 "), "{origin}");
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let gone = exchange(
        proxy.addr(),
        &format!("GET http://{closed}/ HTTP/1.1\r\nHost: {closed}\r\n\r\n"),
    );
    assert!(gone.starts_with("HTTP/1.1 502 "), "{gone}");
    let outcomes: Vec<_> = proxy.requests().iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Refused,
            Outcome::Refused,
            Outcome::BadRequest,
            Outcome::Unreachable
        ]
    );
}

fn client_config(ca: &TestCa) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.ca_pem().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    Arc::new(
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Sends one request over TLS on `stream`, for `name`, and reads the answer.
fn https_exchange(
    stream: TcpStream,
    ca: &TestCa,
    name: &'static str,
    request: &str,
) -> std::io::Result<String> {
    let conn = ClientConnection::new(
        client_config(ca),
        ServerName::try_from(name).unwrap().to_owned(),
    )
    .unwrap();
    let mut tls = StreamOwned::new(conn, stream);
    tls.write_all(request.as_bytes())?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer)?;
    Ok(answer)
}

const GET: &str =
    "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";

#[test]
fn tls_front_serves_its_ca_for_both_names() {
    let backend = Backend::start(2);
    let ca = TestCa::new();
    let front = TlsFront::start(backend.addr, &ca).unwrap();
    for name in ["127.0.0.1", "localhost"] {
        let stream = TcpStream::connect(front.addr()).unwrap();
        stream.set_read_timeout(Some(CEILING)).unwrap();
        let answer = https_exchange(stream, &ca, name, GET).unwrap();
        assert!(answer.ends_with("\r\n\r\ngot hi"), "{answer}");
    }
    assert_eq!(backend.join()[1].second, "/hook");
    assert!(front.url().starts_with("https://127.0.0.1:"));
    assert!(front.localhost_url().starts_with("https://localhost:"));
}

#[test]
fn an_unrelated_ca_is_not_trusted() {
    let ca = TestCa::new();
    let other = ca.unrelated();
    assert_ne!(ca.ca_pem(), other.ca_pem());
    let backend = Backend::start(1);
    let front = TlsFront::start(backend.addr, &ca).unwrap();
    let stream = TcpStream::connect(front.addr()).unwrap();
    stream.set_read_timeout(Some(CEILING)).unwrap();
    let err = https_exchange(stream, &other, "127.0.0.1", GET).unwrap_err();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    // The front closes its backend connection: the backend serves nothing.
    assert!(backend.join().is_empty());
}

#[test]
fn connect_tunnels_tls_to_the_front() {
    let backend = Backend::start(1);
    let ca = TestCa::new();
    let front = TlsFront::start(backend.addr, &ca).unwrap();
    let proxy = ForwardProxy::with_credentials("u", "p").unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).unwrap();
    stream.set_read_timeout(Some(CEILING)).unwrap();
    let auth = crate::Credentials {
        user: "u".into(),
        password: "p".into(),
    }
    .header();
    write!(
        stream,
        "CONNECT {0} HTTP/1.1\r\nHost: {0}\r\nProxy-Authorization: {auth}\r\n\r\n",
        front.addr()
    )
    .unwrap();
    let established = b"HTTP/1.1 200 Connection Established\r\n\r\n";
    let mut got = vec![0u8; established.len()];
    stream.read_exact(&mut got).unwrap();
    assert_eq!(got, established);
    let answer = https_exchange(stream, &ca, "localhost", GET).unwrap();
    assert!(answer.ends_with("got hi"), "{answer}");
    backend.join();
    let requests = proxy.requests();
    assert_eq!(requests[0].method, "CONNECT");
    assert_eq!(requests[0].target, front.addr().to_string());
    assert_eq!(requests[0].outcome, Outcome::Tunnelled);
    assert!(requests[0].authenticated);
}

#[test]
fn dropping_closes_what_is_open() {
    let proxy = ForwardProxy::start().unwrap();
    let mut idle = TcpStream::connect(proxy.addr()).unwrap();
    idle.set_read_timeout(Some(CEILING)).unwrap();
    // Half a head: the connection's thread is blocked reading it.
    idle.write_all(b"GET http://127.0.0.1:1/ HTTP/1.1\r\n")
        .unwrap();
    assert_eq!(proxy.wait_for_requests(1, Duration::ZERO).len(), 0);
    proxy.stop();
    let mut rest = Vec::new();
    // Closed by the proxy: end of stream (or a reset), not the ceiling.
    match idle.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty()),
        Err(e) => assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}"),
    }
}

//! [`TestCa`] and [`TlsFront`]: https in front of a plain-HTTP test server.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};

use crate::server::{Connection, Server, CONNECT_TIMEOUT};

/// A certificate authority made for one test, and a server certificate it
/// signed for `127.0.0.1` and `localhost` (what [`TlsFront`] serves).
///
/// Each one is new: two are unrelated, so a client trusting one rejects a
/// server of the other ([`TestCa::unrelated`]). Nothing is written to disk
/// but what [`TestCa::write_ca_pem`] writes.
pub struct TestCa {
    name: String,
    ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivatePkcs8KeyDer<'static>,
}

impl TestCa {
    /// A new CA, named `fake-proxy test CA`, and its server certificate.
    pub fn new() -> TestCa {
        TestCa::named("fake-proxy test CA")
    }

    /// A new CA with no relation to this one (another key, another name),
    /// for tests where the client trusts the wrong CA.
    pub fn unrelated(&self) -> TestCa {
        TestCa::named(&format!("unrelated to {}", self.name))
    }

    fn named(name: &str) -> TestCa {
        // Generation fails only on a broken crypto provider: a test tool may panic.
        let ca_key = KeyPair::generate().expect("a CA key pair");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, name);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).expect("a self-signed CA");
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().expect("a server key pair");
        let mut server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
            .expect("server parameters");
        server
            .distinguished_name
            .push(DnType::CommonName, "fake-proxy test server");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let server_cert = server
            .signed_by(&server_key, &issuer)
            .expect("a server certificate");
        TestCa {
            name: name.to_string(),
            ca_pem: ca_cert.pem(),
            server_chain: vec![server_cert.der().clone()],
            server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()),
        }
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Writes the CA certificate to `dir/ca.pem`; returns that path.
    pub fn write_ca_pem(&self, dir: &Path) -> io::Result<PathBuf> {
        self.write_ca_pem_as(dir, "ca.pem")
    }

    /// Writes the CA certificate to `dir/file_name`; returns that path.
    pub fn write_ca_pem_as(&self, dir: &Path, file_name: &str) -> io::Result<PathBuf> {
        let path = dir.join(file_name);
        std::fs::write(&path, &self.ca_pem)?;
        Ok(path)
    }

    fn server_config(&self) -> io::Result<Arc<ServerConfig>> {
        let config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .and_then(|b| {
                    b.with_no_client_auth().with_single_cert(
                        self.server_chain.clone(),
                        PrivateKeyDer::Pkcs8(self.server_key.clone_key()),
                    )
                })
                .map_err(io::Error::other)?;
        Ok(Arc::new(config))
    }
}

impl Default for TestCa {
    fn default() -> TestCa {
        TestCa::new()
    }
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestCa({})", self.name)
    }
}

/// A TLS terminator on `127.0.0.1`, like stunnel: it serves a [`TestCa`]'s
/// certificate for `127.0.0.1` and `localhost` and relays the plaintext to
/// and from a plain-HTTP backend (e.g. a fake Slack receiver), one backend
/// connection per client connection.
///
/// At most [`MAX_CONNECTIONS`](crate::MAX_CONNECTIONS) connections at once;
/// dropping it stops it and closes every connection.
pub struct TlsFront {
    server: Server,
}

impl TlsFront {
    /// A front on a free port relaying to `backend`.
    pub fn start(backend: SocketAddr, ca: &TestCa) -> io::Result<TlsFront> {
        TlsFront::start_at(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), backend, ca)
    }

    /// A front on `addr`, an IPv4 loopback address (port 0 picks a free
    /// one), relaying to `backend`, which must be on this machine too.
    pub fn start_at(addr: SocketAddr, backend: SocketAddr, ca: &TestCa) -> io::Result<TlsFront> {
        if !backend.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the backend must be a loopback address, not {backend}"),
            ));
        }
        let config = ca.server_config()?;
        let handler = Arc::new(move |stream: TcpStream, connection: &Connection| {
            let _ = serve(stream, connection, Arc::clone(&config), backend);
        });
        Ok(TlsFront {
            server: Server::start("fake-tls", addr, handler)?,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `https://127.0.0.1:PORT`; a path may follow.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr())
    }

    /// `https://localhost:PORT`; a path may follow.
    pub fn localhost_url(&self) -> String {
        format!("https://localhost:{}", self.addr().port())
    }

    /// Stops the front; the same as dropping it.
    pub fn stop(self) {
        drop(self);
    }
}

fn lock(tls: &Mutex<ServerConnection>) -> MutexGuard<'_, ServerConnection> {
    tls.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One client connection: the handshake, then plaintext both ways. The
/// TLS state is shared by the two directions under a lock that is never
/// held while waiting for a peer to send.
fn serve(
    client: TcpStream,
    connection: &Connection,
    config: Arc<ServerConfig>,
    backend: SocketAddr,
) -> io::Result<()> {
    let upstream = TcpStream::connect_timeout(&backend, CONNECT_TIMEOUT)?;
    connection.register(&upstream)?;
    let tls = Mutex::new(ServerConnection::new(config).map_err(io::Error::other)?);
    let client_writer = client.try_clone()?;
    let upstream_reader = upstream.try_clone()?;
    thread::scope(|s| {
        s.spawn(|| down(&tls, &upstream_reader, &client_writer));
        up(&tls, &client, &upstream);
    });
    Ok(())
}

/// Client to backend: TLS records in, plaintext out.
fn up(tls: &Mutex<ServerConnection>, mut client: &TcpStream, mut backend: &TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut plain = vec![0u8; 16 * 1024];
    'read: loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut out = Vec::new();
        let mut closed = false;
        {
            let mut conn = lock(tls);
            let mut records = &buf[..n];
            while !records.is_empty() {
                match conn.read_tls(&mut records) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(_) => break 'read,
                }
                if conn.process_new_packets().is_err() {
                    // Say why (the alert), then give up on the connection.
                    let _ = conn.write_tls(&mut client);
                    break 'read;
                }
                loop {
                    match conn.reader().read(&mut plain) {
                        Ok(0) => {
                            closed = true;
                            break;
                        }
                        Ok(k) => out.extend_from_slice(&plain[..k]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => {
                            closed = true;
                            break;
                        }
                    }
                }
            }
            // Handshake messages, and anything the backend's side queued.
            while conn.wants_write() {
                if conn.write_tls(&mut client).is_err() {
                    break 'read;
                }
            }
        }
        if !out.is_empty() && backend.write_all(&out).is_err() {
            break;
        }
        if closed {
            break;
        }
    }
    let _ = backend.shutdown(Shutdown::Write);
}

/// Backend to client: plaintext in, TLS records out.
fn down(tls: &Mutex<ServerConnection>, mut backend: &TcpStream, mut client: &TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    'read: loop {
        let n = match backend.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut conn = lock(tls);
        let mut data = &buf[..n];
        while !data.is_empty() {
            match conn.writer().write(data) {
                Ok(0) | Err(_) => break 'read,
                Ok(k) => data = &data[k..],
            }
            while conn.wants_write() {
                if conn.write_tls(&mut client).is_err() {
                    break 'read;
                }
            }
        }
    }
    let mut conn = lock(tls);
    conn.send_close_notify();
    while conn.wants_write() {
        if conn.write_tls(&mut client).is_err() {
            break;
        }
    }
    let _ = client.shutdown(Shutdown::Write);
}

//! Test middlemen for the project's network tests, on loopback only.
//!
//! Corporate networks put an HTTP proxy and a private CA between the engine
//! and Slack. These stand in for both, so the engine's client can be proven
//! against them without a network:
//!
//! - [`ForwardProxy`]: an HTTP forward proxy. Absolute-form requests
//!   (`POST http://127.0.0.1:N/path HTTP/1.1`) are sent on to their target
//!   and `CONNECT host:port` is tunnelled (for https targets); it can require
//!   Basic credentials (407 with `Proxy-Authenticate` without them) and
//!   records each request ([`ProxiedRequest`]).
//! - [`TlsFront`]: a TLS terminator in front of a plain-HTTP server (a fake
//!   Slack receiver), serving a certificate for `127.0.0.1` and `localhost`
//!   signed by a [`TestCa`] made for the test, which writes its `ca.pem`
//!   where the test says.
//! - the `fake-proxy` binary runs either as a process for Java tests and
//!   pytest.
//!
//! Both run on std threads, one per connection, at most [`MAX_CONNECTIONS`]
//! at once; they listen on `127.0.0.1` and reach only loopback addresses;
//! dropping one stops it and closes every connection it holds.
//!
//! # Example
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use fake_proxy::{ForwardProxy, Outcome};
//!
//! // A one-shot backend answering 200.
//! let backend = TcpListener::bind("127.0.0.1:0")?;
//! let target = backend.local_addr()?;
//! std::thread::spawn(move || {
//!     let (mut s, _) = backend.accept().unwrap();
//!     let mut head = [0u8; 1024];
//!     let _ = s.read(&mut head);
//!     let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
//! });
//!
//! let proxy = ForwardProxy::start()?;
//! let mut client = TcpStream::connect(proxy.addr())?;
//! write!(client, "GET http://{target}/ HTTP/1.1\r\nHost: {target}\r\n\r\n")?;
//! let mut answer = String::new();
//! client.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("ok"));
//! assert_eq!(proxy.requests()[0].outcome, Outcome::Forwarded);
//! # Ok::<(), std::io::Error>(())
//! ```

mod forward;
mod head;
mod server;
mod tls;

pub use forward::{
    ForwardProxy, Outcome, ProxiedRequest, ProxyOptions, KEEP_LAST, MAX_RELAY_BYTES,
};
pub use head::{Credentials, MAX_HEAD_BYTES};
pub use server::{CONNECT_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS};
pub use tls::{TestCa, TlsFront};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh directory under the system's temporary directory, removed with
/// everything in it on drop: where a test writes its `ca.pem`.
#[derive(Debug)]
pub struct TestDir(PathBuf);

impl TestDir {
    /// Creates `<tmp>/<prefix>-<pid>-<n>`.
    pub fn new(prefix: &str) -> std::io::Result<TestDir> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TestDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests;

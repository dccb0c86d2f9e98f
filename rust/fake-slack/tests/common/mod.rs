//! A minimal HTTP/1.1 client on `std::net::TcpStream`, so the end-to-end tests speak to
//! the receiver over a real socket without an HTTP client crate.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a test waits for something that should happen at once: far past
/// what a loaded CI machine needs, and it only runs out when the thing never
/// happens (a hung connection never closed, an answer never sent).
pub const CEILING: Duration = Duration::from_secs(60);

pub const WEBHOOK: &str = "/services/T000TEST/B000TEST/testtoken0123456789";

/// One answer as read off the wire.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("answer should be JSON")
    }
}

/// One keep-alive connection.
pub struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(CEILING)).unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    pub fn stream(&mut self) -> &mut TcpStream {
        self.reader.get_mut()
    }

    /// Sends raw bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream().write_all(bytes).expect("write");
    }

    /// Sends one request with a `Content-Length` body.
    pub fn send(&mut self, method: &str, path: &str, body: &[u8]) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes);
    }

    /// Sends one request with these headers (and a `Content-Length`) and reads its
    /// answer.
    pub fn request_with(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes);
        self.read_answer().expect("an answer")
    }

    /// Sends one request and reads its answer.
    pub fn request(&mut self, method: &str, path: &str, body: &[u8]) -> Answer {
        self.send(method, path, body);
        self.read_answer().expect("an answer")
    }

    pub fn post(&mut self, body: &str) -> Answer {
        self.request("POST", WEBHOOK, body.as_bytes())
    }

    /// Reads one answer; `None` if the connection closed (or reset) first.
    pub fn read_answer(&mut self) -> Option<Answer> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        let status = line.split(' ').nth(1)?.parse().ok()?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).ok()?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':')?;
            headers.push((name.to_string(), value.trim().to_string()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .unwrap_or(0);
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).ok()?;
        Some(Answer {
            status,
            headers,
            body: String::from_utf8(body).unwrap(),
        })
    }

    /// True if and only if the server closed the connection without another answer.
    pub fn is_closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => rest.is_empty(),
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}

/// Sends one request on a fresh connection and reads the answer.
pub fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Answer {
    Client::connect(addr).request(method, path, body)
}

pub fn post(addr: SocketAddr, body: &str) -> Answer {
    Client::connect(addr).post(body)
}

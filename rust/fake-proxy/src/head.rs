//! Just enough of HTTP/1.1 for a proxy: a bounded message head, the request
//! target in absolute form (`http://host:port/path`) or authority form
//! (`host:port`, for `CONNECT`), and Basic credentials.

use std::fmt;
use std::io::{BufRead, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use base64::Engine as _;

/// Longest message head read (request or response line and headers).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// A message head: its first line split in three, and its headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The method of a request, the version of a response.
    pub first: String,
    /// The target of a request, the status of a response.
    pub second: String,
    /// The version of a request, the reason of a response (may be empty).
    pub third: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The head with its first line replaced, `drop` headers removed and
    /// `Connection: close` added, as bytes to send.
    pub fn rewritten(&self, first_line: &str, drop: &[&str]) -> Vec<u8> {
        let mut out = format!("{first_line}\r\n");
        for (name, value) in &self.headers {
            if !drop.iter().any(|d| name.eq_ignore_ascii_case(d)) {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        out.push_str("Connection: close\r\n\r\n");
        out.into_bytes()
    }
}

/// Why a head could not be read.
#[derive(Debug)]
pub enum HeadError {
    /// The peer closed before sending a byte.
    Closed,
    /// Longer than [`MAX_HEAD_BYTES`].
    TooLarge,
    /// Not HTTP/1.x.
    Malformed(&'static str),
    /// The connection failed or timed out.
    Io,
}

/// Reads one message head, up to and including its blank line.
pub fn read_head(reader: &mut impl BufRead) -> Result<Head, HeadError> {
    let mut raw = Vec::new();
    loop {
        let room = (MAX_HEAD_BYTES + 1).saturating_sub(raw.len()) as u64;
        let n = reader
            .by_ref()
            .take(room)
            .read_until(b'\n', &mut raw)
            .map_err(|_| HeadError::Io)?;
        if raw.len() > MAX_HEAD_BYTES {
            return Err(HeadError::TooLarge);
        }
        if n == 0 {
            return Err(if raw.is_empty() {
                HeadError::Closed
            } else {
                HeadError::Malformed("the connection closed inside the head")
            });
        }
        if raw.ends_with(b"\n\r\n") || raw.ends_with(b"\n\n") || raw == b"\r\n" || raw == b"\n" {
            if raw.len() <= 2 {
                // Blank lines before a request line are allowed (RFC 9112 2.2).
                raw.clear();
                continue;
            }
            return parse_head(&raw);
        }
    }
}

/// Parses a complete head (see [`read_head`]).
pub fn parse_head(raw: &[u8]) -> Result<Head, HeadError> {
    let text = std::str::from_utf8(raw).map_err(|_| HeadError::Malformed("not UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or("");
    let mut parts = first.splitn(3, ' ');
    let (a, b, c) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    if a.is_empty() || b.is_empty() {
        return Err(HeadError::Malformed(
            "the first line is not `METHOD TARGET VERSION`",
        ));
    }
    let mut headers = Vec::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or(HeadError::Malformed("a header line has no colon"))?;
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(HeadError::Malformed("a header name is empty or has spaces"));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Head {
        first: a.to_string(),
        second: b.to_string(),
        third: c.to_string(),
        headers,
    })
}

/// A `host:port` a request names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    /// As written, IPv6 in brackets.
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl Authority {
    /// Parses `host[:port]`; without a port, `default_port` (none: an error).
    pub fn parse(text: &str, default_port: Option<u16>) -> Result<Authority, &'static str> {
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let end = rest
                .find(']')
                .ok_or("an IPv6 host has no closing bracket")?;
            let host = &text[..end + 2];
            match &rest[end + 1..] {
                "" => (host, None),
                p => (
                    host,
                    Some(p.strip_prefix(':').ok_or("junk after the IPv6 host")?),
                ),
            }
        } else {
            match text.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (text, None),
            }
        };
        if host.is_empty() || host.contains(['@', '/', ' ']) {
            return Err("the host is empty or not a host");
        }
        let port = match port {
            Some(p) => p.parse::<u16>().map_err(|_| "the port is not a number")?,
            None => default_port.ok_or("the port is missing")?,
        };
        Ok(Authority {
            host: host.to_string(),
            port,
        })
    }

    /// The address to connect to, if the host is a loopback address or
    /// `localhost`: the proxy never reaches further than this machine.
    pub fn loopback(&self) -> Option<SocketAddr> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let ip = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.parse::<IpAddr>().ok()?
        };
        ip.is_loopback().then_some(SocketAddr::new(ip, self.port))
    }
}

/// Splits an absolute-form target, `http://host[:port][/path]`, into its
/// authority and the origin-form path (`/` when empty).
pub fn split_absolute(target: &str) -> Result<(Authority, String), &'static str> {
    let rest = match target.get(..7) {
        Some(s) if s.eq_ignore_ascii_case("http://") => &target[7..],
        _ => return Err("the target is not an absolute http:// URL"),
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = Authority::parse(&rest[..end], Some(80))?;
    let path = match &rest[end..] {
        "" => "/".to_string(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_string(),
    };
    Ok((authority, path))
}

/// Proxy credentials, as `Proxy-Authorization: Basic` carries them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}:***)", self.user)
    }
}

impl Credentials {
    /// Returns true if and only if `header` (a `Proxy-Authorization`
    /// value) is Basic with exactly these credentials.
    pub fn accepts(&self, header: &str) -> bool {
        let Some((scheme, token)) = header.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(token.trim()) else {
            return false;
        };
        decoded == format!("{}:{}", self.user, self.password).as_bytes()
    }

    /// The header value a client sends for these credentials.
    pub fn header(&self) -> String {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        format!("Basic {token}")
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a
/// user or password inside a URL.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn head(raw: &str) -> Result<Head, HeadError> {
        read_head(&mut BufReader::new(raw.as_bytes()))
    }

    #[test]
    fn reads_a_proxy_request_head() {
        let h = head(
            "\r\nPOST http://127.0.0.1:8080/services/x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\
             Proxy-Authorization: Basic dTpw\r\nContent-Length: 2\r\n\r\n{}",
        )
        .unwrap();
        assert_eq!(
            (h.first.as_str(), h.second.as_str(), h.third.as_str()),
            ("POST", "http://127.0.0.1:8080/services/x", "HTTP/1.1")
        );
        assert_eq!(h.header("proxy-authorization"), Some("Basic dTpw"));
        assert_eq!(h.header("content-length"), Some("2"));
        let out = String::from_utf8(h.rewritten(
            "POST /services/x HTTP/1.1",
            &["proxy-authorization", "connection"],
        ))
        .unwrap();
        assert_eq!(
            out,
            "POST /services/x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 2\r\n\
             Connection: close\r\n\r\n"
        );
    }

    #[test]
    fn refuses_what_is_not_a_head() {
        assert!(matches!(head(""), Err(HeadError::Closed)));
        assert!(matches!(
            head("GET / HTTP/1.1\r\nHost"),
            Err(HeadError::Malformed(_))
        ));
        assert!(matches!(head("GET\r\n\r\n"), Err(HeadError::Malformed(_))));
        assert!(matches!(
            head("GET / HTTP/1.1\r\nno colon\r\n\r\n"),
            Err(HeadError::Malformed(_))
        ));
        let huge = format!(
            "GET / HTTP/1.1\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        assert!(matches!(head(&huge), Err(HeadError::TooLarge)));
    }

    #[test]
    fn splits_absolute_targets() {
        let (a, p) = split_absolute("http://127.0.0.1:9/services/a?b=1").unwrap();
        assert_eq!(
            (a.to_string(), p.as_str()),
            ("127.0.0.1:9".into(), "/services/a?b=1")
        );
        let (a, p) = split_absolute("HTTP://localhost").unwrap();
        assert_eq!((a.to_string(), p.as_str()), ("localhost:80".into(), "/"));
        let (a, p) = split_absolute("http://[::1]:81?x").unwrap();
        assert_eq!((a.to_string(), p.as_str()), ("[::1]:81".into(), "/?x"));
        assert!(split_absolute("/services/a").is_err());
        assert!(split_absolute("https://127.0.0.1/").is_err());
        assert!(split_absolute("http://u:p@127.0.0.1/").is_err());
        assert!(split_absolute("http://127.0.0.1:http/").is_err());
    }

    #[test]
    fn authorities_and_loopback() {
        let a = Authority::parse("127.0.0.1:443", None).unwrap();
        assert_eq!(a.loopback(), Some("127.0.0.1:443".parse().unwrap()));
        assert_eq!(
            Authority::parse("[::1]:8443", None).unwrap().loopback(),
            Some("[::1]:8443".parse().unwrap())
        );
        assert_eq!(
            Authority::parse("LocalHost:1", None).unwrap().loopback(),
            Some("127.0.0.1:1".parse().unwrap())
        );
        assert_eq!(
            Authority::parse("127.8.9.10:1", None).unwrap().loopback(),
            Some("127.8.9.10:1".parse().unwrap())
        );
        // Never a name to resolve, never another machine.
        for far in [
            "example.com:443",
            "10.0.0.1:80",
            "192.168.1.1:443",
            "[2001:db8::1]:443",
        ] {
            assert_eq!(
                Authority::parse(far, None).unwrap().loopback(),
                None,
                "{far}"
            );
        }
        assert!(Authority::parse("127.0.0.1", None).is_err());
        assert!(Authority::parse(":443", None).is_err());
        assert!(Authority::parse("[::1", None).is_err());
        assert!(Authority::parse("[::1]x", None).is_err());
    }

    #[test]
    fn basic_credentials() {
        let c = Credentials {
            user: "alice".into(),
            password: "p@ss:w/rd".into(),
        };
        assert!(c.accepts(&c.header()));
        assert!(c.accepts(&c.header().replace("Basic", "basic")));
        assert!(!c.accepts("Basic YWxpY2U6d3Jvbmc="));
        assert!(!c.accepts("Bearer abc"));
        assert!(!c.accepts("Basic !!!"));
        assert!(!format!("{c:?}").contains("p@ss"));
        assert_eq!(percent_encode("p@ss:w/rd~"), "p%40ss%3Aw%2Frd~");
    }
}

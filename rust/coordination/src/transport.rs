//! HTTP to the hosts: one deadline per call, failover in order, answers read with a size cap.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::blocking::Client;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

use crate::settings::{check_index, parse_host, Host, StoreSettings};
use crate::StoreError;

/// The largest answer body read; a longer one is [`StoreError::TooLarge`]. Every answer the
/// store asks for is a few KiB at most.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The HTTP methods the store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
    Put,
    Post,
}

/// One request, before a host is chosen.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    pub(crate) method: Method,
    /// Path and query, starting with `/`, ids already percent-encoded.
    pub(crate) path: String,
    pub(crate) body: Option<Value>,
}

/// An HTTP answer that the call reads: its status and JSON body (`Null` when empty).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) host: String,
    pub(crate) status: u16,
    pub(crate) body: Value,
}

/// Whether a request may be sent again, to the next host, after it may have reached one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Idempotent (or made so by the document): fail over on any error but 4xx.
    Any,
    /// Counted once per request: fail over only when it cannot have been sent (no connection).
    ConnectOnly,
}

pub(crate) struct Transport {
    client: Client,
    hosts: Vec<Host>,
    auth: Option<HeaderValue>,
    timeout: Duration,
    /// The host to try first: the last one that answered, or the one after the last that failed.
    preferred: AtomicUsize,
}

impl Transport {
    pub(crate) fn new(settings: &StoreSettings) -> Result<(Transport, String), StoreError> {
        if settings.hosts.is_empty() {
            return Err(StoreError::Config(
                "coordination_hosts is empty".to_string(),
            ));
        }
        let mut hosts = Vec::new();
        for (i, raw) in settings.hosts.iter().enumerate() {
            let host = parse_host(raw).map_err(|why| {
                StoreError::Config(format!("coordination_hosts entry {} {why}", i + 1))
            })?;
            hosts.push(host);
        }
        check_index(&settings.index)?;
        if settings.timeout.is_zero() {
            return Err(StoreError::Config(
                "coordination_timeout is zero".to_string(),
            ));
        }
        let auth = auth_header(settings)?;
        // A host that does not accept connections leaves time for the others.
        let connect = (settings.timeout / hosts.len() as u32)
            .max(Duration::from_millis(100))
            .min(settings.timeout);
        let mut builder = Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(connect)
            // A redirect could carry the credentials to another host.
            .redirect(reqwest::redirect::Policy::none())
            // The hosts are reached directly, whatever HTTP(S)_PROXY says.
            .no_proxy()
            .user_agent(concat!(
                "slack-alert-coordination/",
                env!("CARGO_PKG_VERSION")
            ));
        if let Some(cas) = &settings.ca {
            builder = builder.tls_built_in_root_certs(false);
            for ca in cas {
                builder = builder.add_root_certificate(ca.clone());
            }
        }
        let client = builder.build().map_err(|e| {
            StoreError::Config(format!("cannot set up the HTTP client: {}", reason(&e)))
        })?;
        let transport = Transport {
            client,
            hosts,
            auth,
            timeout: settings.timeout,
            preferred: AtomicUsize::new(0),
        };
        Ok((transport, settings.index.clone()))
    }

    /// The deadline of a call that starts now: every request it makes shares it.
    pub(crate) fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// Sends `request` to the hosts in order, from the preferred one, until one answers or the
    /// call's `deadline` passes. 401/403 and other 4xx answers are returned (or
    /// refused) at once: every host holds the same data and the same users. 429, 5xx and the
    /// transport errors move on to the next host as `retry` allows.
    pub(crate) fn send(
        &self,
        request: &Request,
        retry: Retry,
        deadline: Instant,
    ) -> Result<Answer, StoreError> {
        let n = self.hosts.len();
        let first = self.preferred.load(Ordering::Relaxed) % n;
        let mut last = None;
        for k in 0..n {
            let i = (first + k) % n;
            let host = &self.hosts[i];
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            let error = match self.attempt(host, request, remaining, deadline) {
                Ok(answer) => match answer.status {
                    429 | 500..=599 => refused(&answer),
                    401 | 403 => return Err(refused(&answer)),
                    _ => {
                        self.preferred.store(i, Ordering::Relaxed);
                        return Ok(answer);
                    }
                },
                Err(e) => e,
            };
            let fail_over = match (&error, retry) {
                (StoreError::Unreachable { .. }, _) if error_was_connect(&error) => true,
                (_, Retry::Any) => true,
                (_, Retry::ConnectOnly) => false,
            };
            self.preferred.store((i + 1) % n, Ordering::Relaxed);
            if !fail_over {
                return Err(error);
            }
            last = Some(error);
        }
        Err(last.unwrap_or_else(|| StoreError::Timeout {
            host: self.hosts[first].base.clone(),
            after: self.timeout,
        }))
    }

    fn attempt(
        &self,
        host: &Host,
        request: &Request,
        remaining: Duration,
        deadline: Instant,
    ) -> Result<Answer, StoreError> {
        let shown = host.base.clone();
        let url = host.url(&request.path);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
            Method::Put => reqwest::Method::PUT,
            Method::Post => reqwest::Method::POST,
        };
        // The request's own timeout covers the whole exchange, body included (the client's alone
        // would bound each read of the body, not all of them).
        let mut builder = self
            .client
            .request(method, url)
            .timeout(remaining)
            .header(ACCEPT, "application/json");
        if let Some(auth) = &self.auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = builder
            .send()
            .map_err(|e| transport_error(&shown, &e, self.timeout))?;
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY_BYTES as u64)
        {
            return Err(StoreError::TooLarge {
                host: shown,
                limit: MAX_BODY_BYTES,
            });
        }
        let mut bytes = Vec::new();
        let read = response
            .take(MAX_BODY_BYTES as u64 + 1)
            .read_to_end(&mut bytes);
        if let Err(e) = read {
            let timed_out = Instant::now() >= deadline
                || e.get_ref()
                    .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                    .is_some_and(|r| r.is_timeout());
            return Err(if timed_out {
                StoreError::Timeout {
                    host: shown,
                    after: self.timeout,
                }
            } else {
                StoreError::Unreachable {
                    host: shown,
                    reason: format!("the answer broke off: {e}"),
                }
            });
        }
        if bytes.len() > MAX_BODY_BYTES {
            return Err(StoreError::TooLarge {
                host: shown,
                limit: MAX_BODY_BYTES,
            });
        }
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Nonsense {
                host: shown.clone(),
                reason: format!("a {status} answer that is not JSON ({e})"),
            })?
        };
        Ok(Answer {
            host: shown,
            status,
            body,
        })
    }
}

/// `Authorization` for the settings' credentials, marked sensitive (never in reqwest's `Debug`).
pub(crate) fn auth_header(settings: &StoreSettings) -> Result<Option<HeaderValue>, StoreError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let value =
        match (&settings.api_key, &settings.user, &settings.password) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => return Err(StoreError::Config(
                "set coordination_api_key or coordination_user + coordination_password, not both"
                    .to_string(),
            )),
            (Some(key), None, None) => {
                let key = key.expose().trim();
                if key.is_empty() {
                    return Err(StoreError::Config(
                        "coordination_api_key is empty".to_string(),
                    ));
                }
                if key.contains(':') {
                    format!("ApiKey {}", b64.encode(key))
                } else {
                    format!("ApiKey {key}")
                }
            }
            (None, Some(user), Some(password)) => {
                if user.contains(':') {
                    return Err(StoreError::Config(
                        "coordination_user contains ':'".to_string(),
                    ));
                }
                format!(
                    "Basic {}",
                    b64.encode(format!("{user}:{}", password.expose()))
                )
            }
            (None, Some(_), None) => {
                return Err(StoreError::Config(
                    "coordination_user is set without coordination_password".to_string(),
                ))
            }
            (None, None, Some(_)) => {
                return Err(StoreError::Config(
                    "coordination_password is set without coordination_user".to_string(),
                ))
            }
            (None, None, None) => return Ok(None),
        };
    let mut header = HeaderValue::from_str(&value).map_err(|_| {
        StoreError::Config("the credentials hold characters a header cannot carry".to_string())
    })?;
    header.set_sensitive(true);
    Ok(Some(header))
}

/// The answer as a [`StoreError::Refused`], with Elasticsearch's error type and reason.
pub(crate) fn refused(answer: &Answer) -> StoreError {
    StoreError::Refused {
        host: answer.host.clone(),
        status: answer.status,
        reason: error_reason(&answer.body),
    }
}

/// `type: reason` of an Elasticsearch error body, cut short; empty if there is none.
pub(crate) fn error_reason(body: &Value) -> String {
    let error = &body["error"];
    let text = match (
        error["type"].as_str(),
        error["reason"].as_str(),
        error.as_str(),
    ) {
        (Some(t), Some(r), _) => format!("{t}: {r}"),
        (Some(t), None, _) => t.to_string(),
        (None, _, Some(s)) => s.to_string(),
        _ => String::new(),
    };
    let mut cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

fn transport_error(host: &str, e: &reqwest::Error, timeout: Duration) -> StoreError {
    if e.is_timeout() {
        StoreError::Timeout {
            host: host.to_string(),
            after: timeout,
        }
    } else if e.is_connect() {
        StoreError::Unreachable {
            host: host.to_string(),
            reason: format!("cannot connect: {}", reason(e)),
        }
    } else {
        StoreError::Unreachable {
            host: host.to_string(),
            reason: format!("no HTTP answer: {}", reason(e)),
        }
    }
}

fn error_was_connect(error: &StoreError) -> bool {
    matches!(error, StoreError::Unreachable { reason, .. } if reason.starts_with("cannot connect"))
}

/// The innermost causes of a reqwest error, without the URL it would print.
fn reason(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    match parts.last() {
        Some(last) => last.clone(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;
    use serde_json::json;

    fn settings() -> StoreSettings {
        StoreSettings::new(vec!["http://127.0.0.1:9200".into()])
    }

    #[test]
    fn api_key_pairs_are_encoded_and_encoded_keys_sent_as_given() {
        let mut s = settings();
        s.api_key = Some(Secret::new("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"));
        let header = auth_header(&s).unwrap().unwrap();
        assert_eq!(
            header.to_str().unwrap(),
            "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
        );
        assert!(header.is_sensitive());
        s.api_key = Some(Secret::new(
            "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
        ));
        let header = auth_header(&s).unwrap().unwrap();
        assert_eq!(
            header.to_str().unwrap(),
            "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
        );
    }

    #[test]
    fn basic_auth_and_the_combinations_that_cannot_work() {
        let mut s = settings();
        s.user = Some("elastic".into());
        s.password = Some("changeme".into());
        assert_eq!(
            auth_header(&s).unwrap().unwrap().to_str().unwrap(),
            "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="
        );
        s.api_key = Some("k".into());
        assert!(matches!(auth_header(&s), Err(StoreError::Config(_))));
        let mut s = settings();
        s.user = Some("elastic".into());
        assert!(matches!(auth_header(&s), Err(StoreError::Config(_))));
        let mut s = settings();
        s.password = Some("changeme".into());
        let err = auth_header(&s).unwrap_err();
        assert!(!err.to_string().contains("changeme"), "{err}");
        assert_eq!(auth_header(&settings()).unwrap(), None);
    }

    #[test]
    fn error_reasons_come_from_the_error_body() {
        let body = json!({"error": {"type": "security_exception", "reason": "missing authentication credentials"}, "status": 401});
        assert_eq!(
            error_reason(&body),
            "security_exception: missing authentication credentials"
        );
        assert_eq!(
            error_reason(&json!({"error": "Unauthorized"})),
            "Unauthorized"
        );
        assert_eq!(error_reason(&json!({"ok": true})), "");
        let long = json!({"error": {"type": "x", "reason": "y".repeat(500)}});
        assert!(error_reason(&long).chars().count() <= 201);
    }

    #[test]
    fn settings_are_checked_at_start() {
        let mut s = settings();
        s.hosts.clear();
        assert!(matches!(Transport::new(&s), Err(StoreError::Config(_))));
        let mut s = settings();
        s.index = "Bad".into();
        assert!(matches!(Transport::new(&s), Err(StoreError::Config(_))));
        let mut s = settings();
        s.timeout = Duration::ZERO;
        assert!(matches!(Transport::new(&s), Err(StoreError::Config(_))));
        let mut s = settings();
        s.hosts = vec!["http://a:1".into(), "https://user:pw@b:2".into()];
        let err = Transport::new(&s).err().unwrap();
        assert!(
            err.to_string().contains("entry 2") && !err.to_string().contains("pw@"),
            "{err}"
        );
    }
}

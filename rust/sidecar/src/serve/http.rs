//! The HTTP listener: `POST /events`, `GET /healthz`, `GET /metrics`.
//!
//! Requests are read by `slack-alert-http`, the same bounded HTTP/1.1 reader
//! the test receiver uses; a body may be at most `--max-line-bytes`.

use std::io::BufReader;
use std::net::TcpStream;

use serde_json::{json, Value};
use slack_alert_http::{self as http, ReadError, Request, Response};

use super::{add, metrics, Hub, Ingested};

/// How many problems a `POST /events` answer lists.
const ERRORS_SHOWN: usize = 5;

/// Serves requests on one connection until it closes, goes quiet for the
/// idle timeout, or the server stops.
pub(super) fn serve(stream: &TcpStream, hub: &Hub) {
    let _ = stream.set_nodelay(true);
    let limits = hub.limits();
    let _ = stream.set_read_timeout(Some(limits.idle_timeout));
    let mut reader = BufReader::new(stream);
    let mut writer = stream;
    loop {
        let request =
            match http::read_request_limited(&mut reader, &mut writer, limits.max_line_bytes) {
                Ok(request) => request,
                Err(ReadError::Closed | ReadError::Io(_)) => return,
                Err(ReadError::Malformed(problem)) => {
                    let answer = Response::text(400, &format!("bad request: {problem}"));
                    return http::refuse(&mut reader, stream, answer);
                }
                Err(ReadError::BodyTooLarge) => {
                    hub.oversized();
                    let answer = Response::text(
                        413,
                        &format!(
                            "request body over --max-line-bytes ({} bytes); send fewer events \
                             per request",
                            limits.max_line_bytes
                        ),
                    );
                    return http::refuse(&mut reader, stream, answer);
                }
                Err(ReadError::HeadTooLarge) => {
                    let answer = Response::text(431, "request head too large");
                    return http::refuse(&mut reader, stream, answer);
                }
            };
        add(&hub.stats().http_requests, 1);
        let keep_alive = request.keep_alive && !hub.is_stopping();
        if route(hub, &request)
            .write_to(&mut writer, keep_alive)
            .is_err()
            || !keep_alive
        {
            return;
        }
    }
}

fn route(hub: &Hub, request: &Request) -> Response {
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/events") => events(hub, &request.body),
        (_, "/events") => Response::text(405, "use POST /events"),
        ("GET", "/healthz") if hub.is_stopping() => Response::text(503, "stopping"),
        ("GET", "/healthz") => Response::text(200, "ok"),
        ("GET", "/metrics") => Response {
            status: 200,
            content_type: metrics::CONTENT_TYPE,
            body: metrics::render(hub).into_bytes(),
            retry_after: None,
        },
        (_, "/healthz" | "/metrics") => Response::text(405, "use GET"),
        _ => Response::text(
            404,
            "not found: use POST /events, GET /healthz or GET /metrics",
        ),
    }
}

/// `POST /events`: one JSON event, a JSON array of events (Logstash's `http`
/// output with `format => "json_batch"`), or newline-delimited events. 202
/// with `{"accepted":N,"rejected":M}`; 400 when nothing in it was an event.
fn events(hub: &Hub, body: &[u8]) -> Response {
    let mut accepted = 0u64;
    let mut rejected = 0u64;
    let mut errors: Vec<String> = Vec::new();
    let mut reject = |problem: String, rejected: &mut u64| {
        *rejected += 1;
        if errors.len() < ERRORS_SHOWN {
            errors.push(problem);
        }
    };
    let trimmed = body.trim_ascii();
    if trimmed.first() == Some(&b'[') {
        match serde_json::from_slice::<Value>(trimmed) {
            Ok(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if item.is_object() {
                        hub.ingest(item);
                        accepted += 1;
                    } else {
                        hub.reject();
                        reject(
                            format!("item {}: not an event object", i + 1),
                            &mut rejected,
                        );
                    }
                }
            }
            _ => {
                hub.reject();
                reject(
                    "the body starts with `[` but is not a JSON array".into(),
                    &mut rejected,
                );
            }
        }
    } else if let Some(values) = json_values(trimmed) {
        // One event, possibly pretty-printed over several lines, or several.
        for (i, value) in values.iter().enumerate() {
            if value.is_object() {
                hub.ingest(value);
                accepted += 1;
            } else {
                hub.reject();
                reject(
                    format!("event {}: not an event object", i + 1),
                    &mut rejected,
                );
            }
        }
    } else {
        // Not a clean sequence of JSON values: line by line, skipping bad lines.
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            match hub.ingest_line(line) {
                Ok(Ingested::Event) => accepted += 1,
                Ok(Ingested::Blank) => {}
                Err(problem) => reject(format!("line {}: {problem}", i + 1), &mut rejected),
            }
        }
    }
    let status = if accepted == 0 && rejected > 0 {
        400
    } else {
        202
    };
    let mut answer = json!({"accepted": accepted, "rejected": rejected});
    if !errors.is_empty() {
        answer["errors"] = json!(errors);
    }
    if accepted == 0 && rejected == 0 {
        answer["error"] = json!("empty body; send one JSON event or newline-delimited events");
        return Response::json(400, &answer);
    }
    Response::json(status, &answer)
}

/// Every JSON value in `body`, if it is nothing but a whitespace-separated
/// sequence of them.
fn json_values(body: &[u8]) -> Option<Vec<Value>> {
    serde_json::Deserializer::from_slice(body)
        .into_iter::<Value>()
        .collect::<Result<Vec<_>, _>>()
        .ok()
}

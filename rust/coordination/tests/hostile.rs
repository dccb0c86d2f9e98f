//! What the store sends, and what it makes of answers that are not Elasticsearch's: a local
//! fake server on a raw socket, no OpenSearch needed.

mod common;

use std::time::Duration;

use common::{FakeServer, Reply};
use slack_alert_coordination::{Secret, Store, StoreError, StoreSettings, MAX_BODY_BYTES};

const GET_ANSWER: &str = r#"{"_index":"s","_id":"incident:x","found":true,"_seq_no":3,"_primary_term":1,"_source":{"owner":"node-a","count":2}}"#;

fn store(
    hosts: Vec<String>,
    timeout: Duration,
    configure: impl FnOnce(&mut StoreSettings),
) -> Store {
    let mut settings = StoreSettings::new(hosts);
    settings.index = "state".into();
    settings.timeout = timeout;
    configure(&mut settings);
    Store::new(settings).unwrap()
}

#[test]
fn an_api_key_pair_is_sent_base64_encoded() {
    let server = FakeServer::start(|_| Reply::Status(200, GET_ANSWER.into()));
    let store = store(vec![server.url()], Duration::from_secs(10), |s| {
        s.api_key = Some(Secret::new("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"));
    });
    assert_eq!(store.get("x").unwrap().unwrap().doc.owner, "node-a");
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/state/_doc/incident%3Ax")
    );
    assert_eq!(
        request.headers.get("authorization").map(String::as_str),
        Some("ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==")
    );
    assert_eq!(
        request.headers.get("accept").map(String::as_str),
        Some("application/json")
    );
}

#[test]
fn an_encoded_api_key_is_sent_as_given_and_basic_auth_for_a_user() {
    let server = FakeServer::start(|_| Reply::Status(200, GET_ANSWER.into()));
    let encoded = store(vec![server.url()], Duration::from_secs(10), |s| {
        s.api_key = Some("bXlrZXk=".into())
    });
    encoded.get("x").unwrap();
    let basic = store(vec![server.url()], Duration::from_secs(10), |s| {
        s.user = Some("elastic".into());
        s.password = Some("changeme".into());
    });
    basic.get("x").unwrap();
    let anonymous = store(vec![server.url()], Duration::from_secs(10), |_| {});
    anonymous.get("x").unwrap();
    let auth: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|r| r.headers.get("authorization").cloned())
        .collect();
    assert_eq!(
        auth,
        vec![
            Some("ApiKey bXlrZXk=".to_string()),
            Some("Basic ZWxhc3RpYzpjaGFuZ2VtZQ==".to_string()),
            None
        ]
    );
}

#[test]
fn a_json_body_goes_with_its_content_type() {
    let server = FakeServer::start(|_| {
        Reply::Status(200, r#"{"result":"updated","_seq_no":4,"_primary_term":1,"get":{"_source":{"not_before":9}}}"#.into())
    });
    let store = store(vec![server.url()], Duration::from_secs(10), |_| {});
    assert_eq!(store.set_not_before("hook", 9).unwrap(), 9);
    let request = &server.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["scripted_upsert"], true);
}

#[test]
fn a_hung_server_is_a_timeout() {
    let server = FakeServer::start(|_| Reply::Hang);
    let store = store(vec![server.url()], Duration::from_millis(500), |_| {});
    let err = store.get("x").unwrap_err();
    assert!(matches!(err, StoreError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("500 ms"), "{err}");
}

#[test]
fn a_body_dripping_in_is_a_timeout_of_the_whole_call() {
    // Every byte comes well within the timeout; the body as a whole does not.
    let server = FakeServer::start(|_| Reply::Drip {
        len: 10_000,
        every: Duration::from_millis(20),
    });
    let store = store(vec![server.url()], Duration::from_millis(600), |_| {});
    let err = store.get("x").unwrap_err();
    assert!(matches!(err, StoreError::Timeout { .. }), "{err:?}");
}

#[test]
fn a_ten_megabyte_body_is_too_large_not_memory() {
    let announced = FakeServer::start(|_| {
        let mut raw =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 10 << 20).into_bytes();
        raw.extend(std::iter::repeat_n(b' ', 10 << 20));
        Reply::Raw(raw)
    });
    let store = store(vec![announced.url()], Duration::from_secs(10), |_| {});
    let err = store.get("x").unwrap_err();
    assert_eq!(
        err,
        StoreError::TooLarge {
            host: announced.url(),
            limit: MAX_BODY_BYTES
        }
    );

    let chunked = FakeServer::start(|_| Reply::Chunked { len: 10 << 20 });
    let store = self::store(vec![chunked.url()], Duration::from_secs(10), |_| {});
    let err = store.get("x").unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooLarge {
                limit: MAX_BODY_BYTES,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn garbage_is_nonsense() {
    let server = FakeServer::start(|r| {
        if r.path.contains("_create") {
            Reply::Status(201, r#"{"result":"created"}"#.into())
        } else {
            Reply::Status(200, "<html>not json{".into())
        }
    });
    let store = store(vec![server.url()], Duration::from_secs(10), |_| {});
    assert!(matches!(
        store.get("x").unwrap_err(),
        StoreError::Nonsense { .. }
    ));
    // JSON, but without what a _create answers.
    let doc = slack_alert_coordination::ClaimDoc {
        owner: "a".into(),
        rule: "r".into(),
        key: "k".into(),
        window_start_ms: 0,
        first_seen_ms: 0,
        last_seen_ms: 0,
        count: 1,
        hosts: vec![],
        lease_until_ms: 0,
        expires_at_ms: 0,
    };
    assert!(matches!(
        store.claim("x", &doc).unwrap_err(),
        StoreError::Nonsense { .. }
    ));
}

#[test]
fn not_http_at_all_or_a_closed_connection_is_unreachable() {
    let garbage = FakeServer::start(|_| Reply::Raw(b"\x00\x01garbage\r\n\r\n".to_vec()));
    let store = store(vec![garbage.url()], Duration::from_secs(10), |_| {});
    assert!(matches!(
        store.get("x").unwrap_err(),
        StoreError::Unreachable { .. }
    ));
    let closed = FakeServer::start(|_| Reply::Raw(Vec::new()));
    let store = self::store(vec![closed.url()], Duration::from_secs(10), |_| {});
    assert!(matches!(
        store.get("x").unwrap_err(),
        StoreError::Unreachable { .. }
    ));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let store = self::store(
        vec![format!("http://{port}")],
        Duration::from_secs(10),
        |_| {},
    );
    let err = store.get("x").unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot connect"), "{err}");
}

#[test]
fn refusals_are_typed_and_never_show_the_credentials() {
    for status in [401, 403, 429, 500, 503] {
        let server = FakeServer::start(move |_| {
            Reply::Status(
                status,
                format!(
                    r#"{{"error":{{"type":"security_exception","reason":"no"}},"status":{status}}}"#
                ),
            )
        });
        let store = store(vec![server.url()], Duration::from_secs(10), |s| {
            s.user = Some("alerts".into());
            s.password = Some("hunter2-password".into());
        });
        let err = store.get("x").unwrap_err();
        assert_eq!(err.status(), Some(status), "{err:?}");
        for shown in [err.to_string(), format!("{err:?}"), format!("{store:?}")] {
            assert!(
                !shown.contains("hunter2") && !shown.contains("aHVudGVy"),
                "{shown}"
            );
        }
        assert!(err.to_string().contains("security_exception: no"), "{err}");
    }
    let server = FakeServer::start(|_| Reply::Status(401, "{}".into()));
    let store = store(vec![server.url()], Duration::from_secs(10), |s| {
        s.api_key = Some("id:topsecretkey".into())
    });
    let err = store.get("x").unwrap_err();
    assert!(
        err.to_string().contains("coordination_api_key")
            && !err.to_string().contains("topsecretkey"),
        "{err}"
    );
}

#[test]
fn credentials_are_refused_on_every_host_alike_so_none_is_tried_after_a_401() {
    let first = FakeServer::start(|_| Reply::Status(401, "{}".into()));
    let second = FakeServer::start(|_| Reply::Status(200, GET_ANSWER.into()));
    let store = store(
        vec![first.url(), second.url()],
        Duration::from_secs(10),
        |_| {},
    );
    assert_eq!(store.get("x").unwrap_err().status(), Some(401));
    assert_eq!(second.requests().len(), 0);
}

#[test]
fn a_hung_or_overloaded_host_is_failed_over() {
    let overloaded = FakeServer::start(|_| Reply::Status(429, r#"{"error":"too many"}"#.into()));
    let good = FakeServer::start(|_| Reply::Status(200, GET_ANSWER.into()));
    let store = store(
        vec![overloaded.url(), good.url()],
        Duration::from_secs(10),
        |_| {},
    );
    assert_eq!(store.get("x").unwrap().unwrap().seq_no, 3);
    assert_eq!((overloaded.requests().len(), good.requests().len()), (1, 1));
    // The host that answered is tried first next time.
    store.get("x").unwrap();
    assert_eq!((overloaded.requests().len(), good.requests().len()), (1, 2));

    // A take_token that may have reached a hung host is not sent to the next one.
    let hung = FakeServer::start(|_| Reply::Hang);
    let good = FakeServer::start(|_| {
        Reply::Status(
            200,
            r#"{"result":"updated","_seq_no":1,"_primary_term":1}"#.into(),
        )
    });
    let store = self::store(
        vec![hung.url(), good.url()],
        Duration::from_millis(500),
        |_| {},
    );
    assert!(matches!(
        store.take_token("hook", 0, 5, 1).unwrap_err(),
        StoreError::Timeout { .. }
    ));
    assert_eq!(good.requests().len(), 0);
    // The next call starts at the host after the one that failed.
    assert!(store.take_token("hook", 0, 5, 1).unwrap());
}

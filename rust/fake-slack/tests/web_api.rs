//! The Web API over a real socket, driven by a hand-written HTTP client, as the
//! product's app mode would call it.

mod common;

use common::{request, Answer, Client, CEILING, WEBHOOK};
use fake_slack::{
    ApiFailure, ChannelSpec, Method, Mode, Receiver, Tier, Token, TokenState, MAX_BODY_BYTES,
};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

const JSON: &str = "application/json; charset=utf-8";
const TOKEN: &str = "Bearer xoxb-test-token";

/// Calls `method` with a JSON `body` as the bot, on a fresh connection.
fn api(addr: SocketAddr, method: &str, body: Value) -> Answer {
    api_as(addr, Some(TOKEN), method, body)
}

fn api_as(addr: SocketAddr, authorization: Option<&str>, method: &str, body: Value) -> Answer {
    let mut headers = vec![("Content-Type", JSON)];
    if let Some(authorization) = authorization {
        headers.push(("Authorization", authorization));
    }
    Client::connect(addr).request_with(
        "POST",
        &format!("/api/{method}"),
        &headers,
        body.to_string().as_bytes(),
    )
}

/// The Slack error of an `ok: false` answer (which must be HTTP 200).
fn error(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["ok"], false, "{body}");
    body["error"].as_str().unwrap().to_string()
}

fn control(addr: SocketAddr, path: &str, body: Value) -> Answer {
    request(
        addr,
        "POST",
        &format!("/_receiver/api/{path}"),
        body.to_string().as_bytes(),
    )
}

fn control_get(addr: SocketAddr, path: &str) -> Value {
    let answer = request(addr, "GET", &format!("/_receiver/api/{path}"), b"");
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

/// Polls `condition` until it holds, for at most `ceiling`; returns whether it held.
fn finished_within(ceiling: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + ceiling;
    while !condition() {
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
    true
}

#[test]
fn post_update_and_reply_as_slack_answers_them() {
    let receiver = Receiver::start().unwrap();
    let addr = receiver.addr();
    assert_eq!(receiver.api_url(), format!("http://{addr}/api"));
    let blocks =
        json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*ERROR* disk full"}}]);
    let posted = api(
        addr,
        "chat.postMessage",
        json!({"channel": "#alerts", "text": "ERROR disk full", "blocks": blocks,
               "unfurl_links": false, "unfurl_media": false}),
    );
    assert_eq!(posted.status, 200);
    assert_eq!(posted.header("Content-Type"), Some(JSON));
    let body = posted.json();
    assert_eq!(body["ok"], true, "{body}");
    let channel = body["channel"].as_str().unwrap().to_string();
    let ts = body["ts"].as_str().unwrap().to_string();
    assert!(channel.starts_with('C') && channel.len() == 11, "{channel}");
    let (seconds, micros) = ts.split_once('.').unwrap();
    assert!(
        seconds.parse::<u64>().unwrap() > 1_700_000_000 && micros.len() == 6,
        "{ts}"
    );
    assert_eq!(body["message"]["blocks"], blocks);
    assert_eq!(body["message"]["ts"], ts.as_str());

    let updated = api(
        addr,
        "chat.update",
        json!({"channel": channel, "ts": ts, "text": "RESOLVED disk full",
               "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*RESOLVED*"}}]}),
    );
    let update = updated.json();
    assert_eq!(
        (
            &update["ok"],
            &update["channel"],
            &update["ts"],
            &update["text"]
        ),
        (
            &json!(true),
            &json!(channel),
            &json!(ts),
            &json!("RESOLVED disk full")
        ),
        "{update}"
    );
    assert!(update["message"]["edited"]["ts"].is_string(), "{update}");

    let reply = api(
        addr,
        "chat.postMessage",
        json!({"channel": channel, "text": "seen 5 more times", "thread_ts": ts}),
    )
    .json();
    assert_eq!(reply["message"]["thread_ts"], ts.as_str(), "{reply}");
    assert!(reply["ts"].as_str().unwrap() > ts.as_str());

    let seen = receiver.channel("alerts").unwrap();
    assert_eq!(seen.id, channel);
    assert_eq!(seen.messages.len(), 1);
    let message = &seen.messages[0];
    assert_eq!(
        (message.text.as_str(), message.edits),
        ("RESOLVED disk full", 1)
    );
    let versions: Vec<_> = message.versions.iter().map(|v| v.text.as_str()).collect();
    assert_eq!(versions, ["ERROR disk full", "RESOLVED disk full"]);
    assert_eq!(message.versions[0].blocks, Some(blocks));
    assert_eq!(message.replies[0].text, "seen 5 more times");
    assert!(
        receiver.violations().is_empty(),
        "{:?}",
        receiver.violations()
    );

    let calls = receiver.api_calls();
    let methods: Vec<_> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(
        methods,
        ["chat.postMessage", "chat.update", "chat.postMessage"]
    );
    assert_eq!(calls[1].ts.as_deref(), Some(ts.as_str()));
    assert_eq!(calls[2].thread_ts.as_deref(), Some(ts.as_str()));
    assert!(calls.iter().all(|c| c.ok && c.status == 200));
    let stats = receiver.api_stats();
    assert_eq!(
        (stats.calls, stats.ok, stats.posts, stats.updates),
        (3, 3, 2, 1)
    );
    assert_eq!(receiver.stats().posts, 0, "webhook counters are apart");

    let auth = api(addr, "auth.test", json!({})).json();
    assert_eq!(auth["ok"], true);
    assert_eq!(
        (&auth["team"], &auth["user"]),
        (&json!("Fake Slack"), &json!("slack_alert"))
    );
    for id in ["team_id", "user_id", "bot_id"] {
        assert!(auth[id].is_string(), "{auth}");
    }
}

#[test]
fn token_channel_and_message_errors_are_slacks() {
    let receiver = Receiver::start().unwrap();
    let addr = receiver.addr();
    receiver.set_tier(Method::PostMessage, None).unwrap();
    let post = |channel: &str| json!({"channel": channel, "text": "x"});
    assert_eq!(
        error(&api_as(addr, None, "chat.postMessage", post("a"))),
        "not_authed"
    );
    assert_eq!(
        error(&api_as(
            addr,
            Some("Bearer xoxa-nope"),
            "chat.postMessage",
            post("a")
        )),
        "invalid_auth"
    );
    assert_eq!(
        control(
            addr,
            "tokens",
            json!({"token": "xoxb-revoked", "state": "revoked"})
        )
        .status,
        200
    );
    assert_eq!(
        error(&api_as(
            addr,
            Some("Bearer xoxb-revoked"),
            "auth.test",
            json!({})
        )),
        "token_revoked"
    );
    receiver.set_token("xoxb-gone", Token::in_state(TokenState::Inactive));
    assert_eq!(
        error(&api_as(
            addr,
            Some("Bearer xoxb-gone"),
            "auth.test",
            json!({})
        )),
        "account_inactive"
    );
    control(
        addr,
        "tokens",
        json!({"token": "xoxb-narrow", "scopes": ["chat:write"]}),
    );
    let narrow = api_as(
        addr,
        Some("Bearer xoxb-narrow"),
        "files.getUploadURLExternal",
        json!({"filename": "t.txt", "length": 3}),
    );
    assert_eq!(
        narrow.json(),
        json!({"ok": false, "error": "missing_scope", "needed": "files:write", "provided": "chat:write"})
    );

    let declared = control(
        addr,
        "channels",
        json!({"auto_create": false, "channels": [
            {"name": "alerts"},
            {"name": "outside", "member": false},
            {"name": "secret", "member": false, "private": true},
            {"name": "old", "archived": true},
        ]}),
    );
    assert_eq!(declared.status, 200, "{}", declared.body);
    let declared = declared.json();
    assert_eq!(declared["auto_create"], false);
    assert_eq!(declared["channels"][0]["name"], "alerts");
    let alerts = declared["channels"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        error(&api(addr, "chat.postMessage", post("#unknown"))),
        "channel_not_found"
    );
    assert_eq!(
        error(&api(addr, "chat.postMessage", post("secret"))),
        "not_in_channel"
    );
    assert_eq!(
        error(&api(addr, "chat.postMessage", post("old"))),
        "is_archived"
    );
    assert_eq!(
        api(addr, "chat.postMessage", post("outside")).json()["ok"],
        true
    );
    control(
        addr,
        "tokens",
        json!({"token": "xoxb-member-only", "scopes": ["chat:write"]}),
    );
    assert_eq!(
        error(&api_as(
            addr,
            Some("Bearer xoxb-member-only"),
            "chat.postMessage",
            post("outside")
        )),
        "not_in_channel"
    );

    let ts = api(addr, "chat.postMessage", post(&alerts)).json()["ts"]
        .as_str()
        .unwrap()
        .to_string();
    let update = |channel: &str| json!({"channel": channel, "ts": ts, "text": "y"});
    assert_eq!(
        error(&api(addr, "chat.update", update("alerts"))),
        "channel_not_found"
    );
    assert_eq!(
        error(&api(
            addr,
            "chat.postMessage",
            json!({"channel": "alerts", "text": "r", "thread_ts": "1712345678.000100"})
        )),
        "thread_not_found"
    );
    let deleted = control(addr, "delete", json!({"channel": "alerts", "ts": ts}));
    assert_eq!((deleted.status, deleted.body.as_str()), (200, "ok"));
    assert_eq!(
        error(&api(addr, "chat.update", update(&alerts))),
        "message_not_found"
    );
    assert_eq!(
        control(addr, "delete", json!({"channel": "alerts", "ts": ts})).status,
        404
    );
    assert_eq!(
        error(&api(
            addr,
            "chat.postMessage",
            json!({"channel": alerts, "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}]})
        )),
        "invalid_blocks"
    );
    let violations = receiver.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].contains("chat.postMessage: invalid_blocks at blocks[0].text"),
        "{violations:?}"
    );
}

#[test]
fn posts_are_rate_limited_per_channel_and_updates_apart() {
    let receiver = Receiver::start().unwrap();
    let addr = receiver.addr();
    let mut client = Client::connect(addr);
    let mut post = |channel: &str| {
        client.request_with(
            "POST",
            "/api/chat.postMessage",
            &[("Content-Type", JSON), ("Authorization", TOKEN)],
            json!({"channel": channel, "text": "x"})
                .to_string()
                .as_bytes(),
        )
    };
    // The bucket holds 3 and drains one a second: back to back, a 429 comes by the
    // fourth post unless each post took a second; 20 is far past that.
    let mut answers = Vec::new();
    while answers.len() < 20 && answers.iter().all(|a: &Answer| a.status == 200) {
        answers.push(post("busy"));
    }
    assert!(answers[..3].iter().all(|a| a.status == 200));
    let limited = answers.last().unwrap();
    assert_eq!(limited.status, 429, "no post was limited");
    assert_eq!(limited.json(), json!({"ok": false, "error": "ratelimited"}));
    let retry_after: u64 = limited.header("Retry-After").unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    let ts = answers[0].json()["ts"].as_str().unwrap().to_string();
    let busy = answers[0].json()["channel"].as_str().unwrap().to_string();

    for channel in ["c1", "c2", "c3", "c4", "c5"] {
        let answer = post(channel);
        assert_eq!(answer.status, 200, "{channel}: {}", answer.body);
    }
    let update = api(
        addr,
        "chat.update",
        json!({"channel": busy, "ts": ts, "text": "y"}),
    );
    assert_eq!(update.json()["ok"], true, "updates have their own tier");
    let stats = receiver.api_stats();
    assert_eq!(stats.rate_limited, 1);
    let logged = receiver.api_calls();
    assert_eq!(logged.iter().filter(|c| c.status == 429).count(), 1);
    assert_eq!(
        logged.iter().find(|c| c.status == 429).unwrap().retry_after,
        Some(retry_after)
    );

    // The control API tightens or lifts a tier.
    assert_eq!(
        control(
            addr,
            "tiers",
            json!({"method": "chat.update", "per_minute": 1, "burst": 1})
        )
        .status,
        200
    );
    assert_eq!(
        control_get(addr, "tiers")["chat.update"],
        json!({"per_minute": 1.0, "burst": 1, "per": "workspace"})
    );
    assert_eq!(
        control_get(addr, "tiers")["chat.postMessage"]["per"],
        "channel"
    );
    assert_eq!(
        api(
            addr,
            "chat.update",
            json!({"channel": busy, "ts": ts, "text": "z"})
        )
        .status,
        200
    );
    let limited = api(
        addr,
        "chat.update",
        json!({"channel": busy, "ts": ts, "text": "z"}),
    );
    assert_eq!(
        (limited.status, limited.header("Retry-After")),
        (429, Some("60"))
    );
    assert_eq!(
        control(addr, "tiers", json!({"method": "*", "off": true})).status,
        200
    );
    assert_eq!(receiver.tier(Method::PostMessage), None);
    assert_eq!(
        api(
            addr,
            "chat.update",
            json!({"channel": busy, "ts": ts, "text": "z"})
        )
        .status,
        200
    );
    let bad = control(
        addr,
        "tiers",
        json!({"method": "chat.update", "per_minute": 0, "burst": 1}),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("`per_minute`"), "{}", bad.body);
    control(addr, "tiers", json!({"method": "*", "default": true}));
    assert_eq!(
        receiver.tier(Method::Update),
        Tier::default_for(Method::Update)
    );
}

#[test]
fn updates_can_hang_while_posts_succeed() {
    let receiver = Receiver::start().unwrap();
    let addr = receiver.addr();
    let posted = api(
        addr,
        "chat.postMessage",
        json!({"channel": "a", "text": "firing"}),
    )
    .json();
    let (channel, ts) = (posted["channel"].clone(), posted["ts"].clone());
    let set = control(
        addr,
        "errors",
        json!({"method": "chat.update", "mode": {"mode": "hang"}}),
    );
    assert_eq!((set.status, set.body.as_str()), (200, "ok"), "{}", set.body);
    assert_eq!(
        control_get(addr, "errors"),
        json!([{"method": "chat.update", "mode": {"mode": "hang"}, "count": null}])
    );
    let mut hung = Client::connect(addr);
    let body = json!({"channel": channel, "ts": ts, "text": "resolved"}).to_string();
    hung.send_raw(
        format!(
            "POST /api/chat.update HTTP/1.1\r\nAuthorization: {TOKEN}\r\nContent-Type: {JSON}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let calls = receiver.wait_for_api_calls(2, CEILING);
    assert_eq!(calls[1].error.as_deref(), Some("(hung)"));
    assert_eq!(
        api(
            addr,
            "chat.postMessage",
            json!({"channel": "a", "text": "still posting"})
        )
        .json()["ok"],
        true
    );
    // Clearing the failure lets the hung call go: its connection closes unanswered.
    assert_eq!(
        control(
            addr,
            "errors",
            json!({"method": "chat.update", "clear": true})
        )
        .status,
        200
    );
    assert!(hung.is_closed());
    assert_eq!(
        api(
            addr,
            "chat.update",
            json!({"channel": channel, "ts": ts, "text": "resolved"})
        )
        .json()["ok"],
        true
    );

    control(
        addr,
        "errors",
        json!({"method": "chat.update", "error": "cant_update_message", "count": 1}),
    );
    assert_eq!(
        error(&api(
            addr,
            "chat.update",
            json!({"channel": channel, "ts": ts, "text": "x"})
        )),
        "cant_update_message"
    );
    assert_eq!(
        api(
            addr,
            "chat.update",
            json!({"channel": channel, "ts": ts, "text": "x"})
        )
        .json()["ok"],
        true
    );
    control(
        addr,
        "errors",
        json!({"method": "chat.postMessage", "mode": {"mode": "status", "status": 429, "retry_after": 2}, "count": 1}),
    );
    let limited = api(
        addr,
        "chat.postMessage",
        json!({"channel": "a", "text": "x"}),
    );
    assert_eq!(
        (limited.status, limited.header("Retry-After")),
        (429, Some("2"))
    );
    assert_eq!(limited.json(), json!({"ok": false, "error": "ratelimited"}));
    receiver.set_api_failure(
        Method::AuthTest,
        ApiFailure::Mode(Mode::status(500, "internal_error")),
        None,
    );
    let broken = api(addr, "auth.test", json!({}));
    assert_eq!(
        (broken.status, broken.json()["error"].clone()),
        (500, json!("internal_error"))
    );
    receiver.set_api_failure(
        Method::AuthTest,
        ApiFailure::Mode(Mode::CloseImmediately),
        Some(1),
    );
    let mut closed = Client::connect(addr);
    closed.send_raw(
        format!(
            "POST /api/auth.test HTTP/1.1\r\nAuthorization: {TOKEN}\r\nContent-Length: 0\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(closed.is_closed());
    receiver.clear_api_failures(None);
    assert_eq!(control_get(addr, "errors"), json!([]));
    let bad = control(
        addr,
        "errors",
        json!({"method": "chat.nothing", "error": "x"}),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("unknown `method`"), "{}", bad.body);
}

#[test]
fn a_64_kib_trace_is_uploaded_in_three_steps_into_a_thread() {
    let receiver = Receiver::start().unwrap();
    let addr = receiver.addr();
    let parent = api(
        addr,
        "chat.postMessage",
        json!({"channel": "#ops", "text": "ERROR in api"}),
    )
    .json();
    let (channel, parent_ts) = (
        parent["channel"].as_str().unwrap(),
        parent["ts"].as_str().unwrap(),
    );
    let line = "java.lang.IllegalStateException: 연결 끊김 at io.x.Y.z(Y.java:42) 🔥\n";
    let trace: String = line.repeat(64 * 1024 / line.len() + 1);
    assert!(trace.len() >= 64 * 1024);

    // Step 1, form-encoded as Slack's SDKs send it.
    let form = format!(
        "filename=trace.txt&length={}&snippet_type=java",
        trace.len()
    );
    let step1 = Client::connect(addr).request_with(
        "POST",
        "/api/files.getUploadURLExternal",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", TOKEN),
        ],
        form.as_bytes(),
    );
    let step1 = step1.json();
    assert_eq!(step1["ok"], true, "{step1}");
    let file_id = step1["file_id"].as_str().unwrap().to_string();
    let url = step1["upload_url"].as_str().unwrap();
    let path = url.strip_prefix(&format!("http://{addr}")).unwrap();
    assert_eq!(path, format!("/upload/{file_id}"));

    // Step 2: the bytes, no token, as to Slack's pre-signed URL.
    let step2 = Client::connect(addr).request_with(
        "POST",
        path,
        &[("Content-Type", "text/plain")],
        trace.as_bytes(),
    );
    assert_eq!(
        (step2.status, step2.body.clone()),
        (200, format!("OK - {}", trace.len()))
    );
    assert_eq!(
        Client::connect(addr)
            .request_with("POST", path, &[], trace.as_bytes())
            .status,
        400,
        "used"
    );
    assert!(
        receiver.channel("ops").unwrap().files.is_empty(),
        "not completed yet"
    );

    // Step 3.
    let files = json!([{"id": file_id, "title": "Stack trace"}]);
    let step3 = api(
        addr,
        "files.completeUploadExternal",
        json!({"files": files, "channel_id": channel, "thread_ts": parent_ts, "initial_comment": "full trace"}),
    );
    assert_eq!(
        step3.json(),
        json!({"ok": true, "files": [{"id": file_id, "title": "Stack trace"}]})
    );

    let ops = receiver.channel(channel).unwrap();
    assert_eq!(ops.files.len(), 1);
    let file = &ops.files[0];
    assert_eq!(
        (
            file.id.as_str(),
            file.title.as_str(),
            file.filename.as_str()
        ),
        (file_id.as_str(), "Stack trace", "trace.txt")
    );
    assert_eq!(
        (file.length, file.snippet_type.as_deref()),
        (trace.len(), Some("java"))
    );
    assert_eq!(file.text.as_deref(), Some(trace.as_str()));
    assert_eq!(file.thread_ts.as_deref(), Some(parent_ts));
    let thread = &ops.messages[0].replies;
    assert_eq!((thread.len(), thread[0].text.as_str()), (1, "full trace"));
    let listed = control_get(addr, &format!("channels/{channel}"));
    assert_eq!(listed["files"][0]["text"], trace.as_str());
    assert_eq!(
        listed["messages"][0]["replies"][0]["files"][0]["id"],
        file_id.as_str()
    );

    // A multipart upload larger than a message body may be, never completed: it never shows.
    let big = vec![b'x'; 2 * MAX_BODY_BYTES];
    let id = api(
        addr,
        "files.getUploadURLExternal",
        json!({"filename": "big.log", "length": big.len()}),
    )
    .json()["file_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut multipart =
        b"--BOUND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.log\"\r\n\r\n"
            .to_vec();
    multipart.extend_from_slice(&big);
    multipart.extend_from_slice(b"\r\n--BOUND--\r\n");
    let uploaded = Client::connect(addr).request_with(
        "POST",
        &format!("/upload/{id}"),
        &[("Content-Type", "multipart/form-data; boundary=BOUND")],
        &multipart,
    );
    assert_eq!(
        (uploaded.status, uploaded.body.clone()),
        (200, format!("OK - {}", big.len()))
    );
    let files = control_get(addr, "files");
    assert_eq!(files[1]["state"], "uploaded");
    assert_eq!(receiver.channel(channel).unwrap().files.len(), 1);
    // Anywhere else, a body that large is refused before it is read.
    let mut refused = Client::connect(addr);
    refused.send("POST", "/api/chat.postMessage", &big);
    assert_eq!(refused.read_answer().unwrap().status, 413);

    let wrong = api(
        addr,
        "files.getUploadURLExternal",
        json!({"filename": "w", "length": 10}),
    )
    .json();
    let wrong_path = format!("/upload/{}", wrong["file_id"].as_str().unwrap());
    let answer = Client::connect(addr).request_with("POST", &wrong_path, &[], b"short");
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (400, "length_mismatch")
    );
    let violations = receiver.violations();
    assert!(
        violations
            .iter()
            .any(|v| v.contains("upload: length_mismatch")),
        "{violations:?}"
    );
    assert!(
        violations
            .iter()
            .any(|v| v.contains("upload: already_uploaded")),
        "{violations:?}"
    );
}

#[test]
fn the_control_api_reads_and_resets_the_web_api() {
    let receiver = Receiver::start().unwrap();
    let addr = receiver.addr();
    let ids = receiver
        .declare_channels(&[
            ChannelSpec::new("alerts"),
            ChannelSpec {
                private: true,
                ..ChannelSpec::new("ops")
            },
        ])
        .unwrap();
    assert_eq!(ids, ["C0000000001", "C0000000002"]);
    assert!(receiver
        .declare_channels(&[ChannelSpec::new("Not A Name")])
        .is_err());
    api(
        addr,
        "chat.postMessage",
        json!({"channel": "alerts", "text": "one", "username": "bot", "icon_emoji": ":fire:"}),
    );
    api_as(
        addr,
        None,
        "chat.postMessage",
        json!({"channel": "alerts", "text": "two"}),
    );

    let calls = control_get(addr, "calls");
    assert_eq!(calls.as_array().unwrap().len(), 2);
    let first = &calls[0];
    assert_eq!(
        (
            &first["method"],
            &first["status"],
            &first["ok"],
            &first["error"],
            &first["channel"]
        ),
        (
            &json!("chat.postMessage"),
            &json!(200),
            &json!(true),
            &Value::Null,
            &json!("C0000000001")
        )
    );
    assert!(first["ts"].is_string() && first["at_ms"].is_u64() && first["thread_ts"].is_null());
    assert_eq!(first["body"]["text"], "one");
    assert_eq!(calls[1]["error"], "not_authed");
    assert!(calls[0]["at_ms"].as_u64() <= calls[1]["at_ms"].as_u64());
    assert_eq!(
        control_get(addr, "stats"),
        json!({"calls": 2, "ok": 1, "errors": 1, "rate_limited": 0, "posts": 1, "updates": 0, "files_shared": 0})
    );
    let channels = control_get(addr, "channels");
    assert_eq!(channels[0]["name"], "alerts");
    assert_eq!(channels[1]["private"], true);
    let message = &channels[0]["messages"][0];
    assert_eq!(
        (&message["text"], &message["edits"], &message["username"]),
        (&json!("one"), &json!(0), &json!("bot"))
    );
    assert_eq!(message["versions"][0]["text"], "one");
    assert_eq!(control_get(addr, "channels/%23alerts")["id"], "C0000000001");
    assert_eq!(control_get(addr, "channels/C0000000001")["name"], "alerts");
    assert_eq!(
        request(addr, "GET", "/_receiver/api/channels/nope", b"").status,
        404
    );
    receiver.set_token("xoxb-x", Token::with_scopes(&["chat:write"]));
    assert_eq!(
        control_get(addr, "tokens"),
        json!([{"token": "xoxb-x", "state": "ok", "scopes": ["chat:write"]}])
    );
    assert_eq!(
        control(
            addr,
            "tokens",
            json!({"token": "xoxb-y", "state": "asleep"})
        )
        .status,
        400
    );
    assert_eq!(
        control(
            addr,
            "channels",
            json!({"channels": [{"name": "x", "colour": "red"}]})
        )
        .status,
        400
    );
    assert_eq!(
        request(addr, "DELETE", "/_receiver/api/calls", b"").status,
        405
    );
    assert_eq!(
        request(addr, "GET", "/_receiver/api/nothing", b"").status,
        404
    );
    let page = request(addr, "GET", "/_receiver/page", b"").body;
    assert!(page.contains("#alerts ts "), "{page}");

    // The webhook side is untouched, and a reset clears both.
    assert_eq!(common::post(addr, r#"{"text":"hook"}"#).status, 200);
    assert_eq!(request(addr, "POST", "/_receiver/reset", b"").status, 200);
    assert_eq!(control_get(addr, "calls"), json!([]));
    assert_eq!(control_get(addr, "channels"), json!([]));
    assert_eq!(control_get(addr, "tokens"), json!([]));
    assert!(receiver.accepted().is_empty());
    assert_eq!(
        request(addr, "POST", WEBHOOK, br#"{"text":"again"}"#).status,
        200
    );
    assert_eq!(
        api(
            addr,
            "chat.postMessage",
            json!({"channel": "alerts", "text": "x"})
        )
        .json()["channel"],
        "C0000000001"
    );
    assert!(finished_within(CEILING, || receiver.api_calls().len() == 1));
}

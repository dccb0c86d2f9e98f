//! The engine's HTTP client ([`http_client`]) through the middlemen of a
//! corporate network: a private CA in front of Slack (a [`TlsFront`] with
//! a [`TestCa`]) and an HTTP proxy ([`ForwardProxy`]), with and without
//! credentials. Every post lands on a fake Slack [`Receiver`].

use std::path::PathBuf;
use std::time::Duration;

use fake_proxy::{ForwardProxy, Outcome, TestCa, TestDir, TlsFront};
use fake_slack::{Receiver, WEBHOOK_PATH};
use slack_alert_engine::config::{CertificateAuthorities, Proxy};
use slack_alert_engine::destination::client::{http_client, ClientSettings};

/// Far past what a loaded CI machine needs; a test waits this long only
/// when it is about to fail.
const CEILING: Duration = Duration::from_secs(60);

/// A password with every character a URL's userinfo must encode.
const USER: &str = "alice";
const PASSWORD: &str = "pr0xy-p@ss:w/rd%?#";

fn client(
    proxy: Option<&str>,
    certificate_authorities: Option<CertificateAuthorities>,
) -> reqwest::blocking::Client {
    http_client(&ClientSettings {
        timeout: Duration::from_secs(20),
        proxy: proxy.map(|url| Proxy::parse("proxy", url).expect("a valid proxy URL")),
        certificate_authorities,
    })
    .expect("the client builds")
}

/// The error and every error under it, in words, plus its `Debug`: all a
/// sender could ever log.
fn words(e: &reqwest::Error) -> String {
    let mut text = format!("{e} / {e:?}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(" / {s}"));
        source = s.source();
    }
    text
}

/// Posts a small Slack message; the status, or the error in [`words`].
fn post(client: &reqwest::blocking::Client, url: &str) -> Result<u16, String> {
    client
        .post(url)
        .header("content-type", "application/json")
        .body(r#"{"text":"disk full on db-1"}"#)
        .send()
        .map(|r| r.status().as_u16())
        .map_err(|e| words(&e))
}

/// Every way the credentials could leak into a string.
fn assert_no_credentials(text: &str) {
    let encoded = fake_proxy::Credentials {
        user: USER.into(),
        password: PASSWORD.into(),
    }
    .header();
    for secret in [PASSWORD, "pr0xy-p", "pr0xy-p%40ss", USER, encoded.as_str()] {
        assert!(!text.contains(secret), "{secret:?} shows in: {text}");
    }
}

/// A receiver behind a TLS front whose certificate a fresh test CA signed,
/// and that CA as `ssl_certificate_authorities` would load it.
struct Slack {
    receiver: Receiver,
    front: TlsFront,
    ca: TestCa,
    dir: TestDir,
    ca_pem: PathBuf,
}

impl Slack {
    fn start() -> Slack {
        let receiver = Receiver::start().expect("receiver starts");
        let ca = TestCa::new();
        let front = TlsFront::start(receiver.addr(), &ca).expect("TLS front starts");
        let dir = TestDir::new("engine-network").expect("a test directory");
        let ca_pem = ca.write_ca_pem(dir.path()).expect("ca.pem written");
        Slack {
            receiver,
            front,
            ca,
            dir,
            ca_pem,
        }
    }

    fn https_url(&self) -> String {
        format!("{}{WEBHOOK_PATH}", self.front.url())
    }

    fn authorities(&self) -> CertificateAuthorities {
        load(&self.ca_pem)
    }
}

fn load(path: &std::path::Path) -> CertificateAuthorities {
    CertificateAuthorities::load("ssl_certificate_authorities", &[path.display().to_string()])
        .expect("the test CA loads")
}

#[test]
fn a_private_ca_is_trusted_once_configured_and_only_then() {
    let slack = Slack::start();

    let trusting = client(None, Some(slack.authorities()));
    assert_eq!(post(&trusting, &slack.https_url()), Ok(200));
    let by_name = format!("{}{WEBHOOK_PATH}", slack.front.localhost_url());
    assert_eq!(post(&trusting, &by_name), Ok(200));
    let accepted = slack.receiver.wait_for_accepted(2, CEILING);
    assert_eq!(accepted.len(), 2);
    assert_eq!(accepted[0]["text"], "disk full on db-1");

    // The built-in roots alone do not know the test CA.
    let err = post(&client(None, None), &slack.https_url()).expect_err("untrusted");
    assert!(err.contains("certificate"), "{err}");
    assert!(err.contains("UnknownIssuer"), "{err}");

    // Nor does another CA.
    let other = slack
        .ca
        .unrelated()
        .write_ca_pem_as(slack.dir.path(), "other.pem")
        .unwrap();
    let err = post(&client(None, Some(load(&other))), &slack.https_url()).expect_err("wrong CA");
    assert!(err.contains("certificate"), "{err}");
    assert!(err.contains("UnknownIssuer"), "{err}");

    // Neither failure reached Slack.
    assert_eq!(slack.receiver.received().len(), 2);
    assert!(slack.receiver.violations().is_empty());
}

#[test]
fn http_and_https_targets_go_through_the_proxy() {
    let slack = Slack::start();
    let proxy = ForwardProxy::start().expect("proxy starts");
    let through = client(Some(&proxy.url()), Some(slack.authorities()));

    assert_eq!(post(&through, &slack.receiver.webhook_url()), Ok(200));
    assert_eq!(post(&through, &slack.https_url()), Ok(200));
    assert_eq!(slack.receiver.wait_for_accepted(2, CEILING).len(), 2);

    let requests = proxy.requests();
    let seen: Vec<_> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.target.clone(), r.outcome))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "POST",
                slack.receiver.addr().to_string(),
                Outcome::Forwarded
            ),
            (
                "CONNECT",
                slack.front.addr().to_string(),
                Outcome::Tunnelled
            ),
        ]
    );
    assert!(requests.iter().all(|r| !r.sent_credentials));

    // Through the proxy, the private CA still decides.
    let untrusting = client(Some(&proxy.url()), None);
    let err = post(&untrusting, &slack.https_url()).expect_err("untrusted");
    assert!(err.contains("certificate"), "{err}");
}

#[test]
fn a_proxy_that_wants_credentials_gets_them_and_they_never_show() {
    let slack = Slack::start();
    let proxy = ForwardProxy::with_credentials(USER, PASSWORD).expect("proxy starts");
    let with = proxy.url_with_credentials(USER, PASSWORD);

    // Without them: 407 for a plain-http target (the proxy's own answer),
    // an error for an https one (the CONNECT is refused).
    let without = client(Some(&proxy.url()), Some(slack.authorities()));
    assert_eq!(post(&without, &slack.receiver.webhook_url()), Ok(407));
    let err = post(&without, &slack.https_url()).expect_err("CONNECT refused");
    assert!(err.contains("proxy authorization required"), "{err}");
    // Wrong ones are no better.
    let wrong = proxy.url_with_credentials(USER, "not-the-password");
    let wrong = client(Some(&wrong), Some(slack.authorities()));
    assert_eq!(post(&wrong, &slack.receiver.webhook_url()), Ok(407));
    assert!(post(&wrong, &slack.https_url()).is_err());
    assert!(slack.receiver.received().is_empty());

    // With them: both delivered, Basic credentials on the request and on CONNECT.
    let authed = client(Some(&with), Some(slack.authorities()));
    assert_eq!(post(&authed, &slack.receiver.webhook_url()), Ok(200));
    assert_eq!(post(&authed, &slack.https_url()), Ok(200));
    assert_eq!(slack.receiver.wait_for_accepted(2, CEILING).len(), 2);

    let seen: Vec<_> = proxy
        .requests()
        .iter()
        .map(|r| {
            (
                r.method.clone(),
                r.outcome,
                r.sent_credentials,
                r.authenticated,
            )
        })
        .collect();
    let row = |m: &str, o, sent, ok| (m.to_string(), o, sent, ok);
    assert_eq!(
        seen,
        [
            row("POST", Outcome::AuthenticationRequired, false, false),
            row("CONNECT", Outcome::AuthenticationRequired, false, false),
            row("POST", Outcome::AuthenticationRequired, true, false),
            row("CONNECT", Outcome::AuthenticationRequired, true, false),
            row("POST", Outcome::Forwarded, true, true),
            row("CONNECT", Outcome::Tunnelled, true, true),
        ]
    );

    // Nothing a sender could log or show holds them: the errors (above and
    // with the proxy gone), the settings' and the proxy's Debug and Display.
    assert_no_credentials(&err);
    let settings = ClientSettings {
        timeout: Duration::from_secs(1),
        proxy: Some(Proxy::parse("proxy", &with).unwrap()),
        certificate_authorities: Some(slack.authorities()),
    };
    let shown = format!(
        "{settings:?} {} {:?}",
        settings.proxy.as_ref().unwrap(),
        settings.proxy.as_ref().unwrap()
    );
    assert_no_credentials(&shown);
    assert!(
        shown.contains(&format!("http://***@{}", proxy.addr())),
        "{shown}"
    );
    let gone = http_client(&settings).unwrap();
    drop(proxy);
    for url in [slack.receiver.webhook_url(), slack.https_url()] {
        let err = post(&gone, &url).expect_err("the proxy is gone");
        assert_no_credentials(&err);
    }
}

/// The options themselves, through a running engine: an app-mode rule
/// behind a private CA and a proxy, and a webhook rule through the same
/// proxy, both delivered; the proxy's password in no log line.
#[test]
fn the_engine_honours_proxy_and_ssl_certificate_authorities_for_both_modes() {
    use slack_alert_engine::{BufferedLog, Config, Engine};
    use std::sync::Arc;

    let receiver = Receiver::start().unwrap();
    let ca = TestCa::new();
    let dir = TestDir::new("engine-ca").unwrap();
    let ca_file = ca.write_ca_pem(dir.path()).unwrap();
    let front = TlsFront::start(receiver.addr(), &ca).unwrap();
    let proxy = ForwardProxy::with_credentials(USER, PASSWORD).unwrap();
    let config = serde_json::json!({
        "proxy": proxy.url_with_credentials(USER, PASSWORD),
        "ssl_certificate_authorities": [ca_file.to_string_lossy()],
        "allow_custom_webhook": true,
        "rules": [
            {"name": "app", "slack_token": "xoxb-1-proxied", "channel": "#alerts",
             "slack_api_url": format!("{}/api", front.url()), "equals": {"[service.name]": "app"}},
            {"name": "hook", "webhook_url": format!("http://{}{WEBHOOK_PATH}", receiver.addr()),
             "equals": {"[service.name]": "hook"}},
        ],
    });
    let log = Arc::new(BufferedLog::new(1000));
    let engine = Engine::start(Config::try_from(config).unwrap(), log.clone()).unwrap();
    for service in ["app", "hook"] {
        let event =
            serde_json::json!({"log.level": "ERROR", "message": "down", "service.name": service});
        engine.submit(&engine.event_from_json(&event));
    }
    let deadline = std::time::Instant::now() + CEILING;
    while engine.counter("sent") != Some(2) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(engine.counter("sent"), Some(2));
    assert_eq!(
        receiver.channel("#alerts").map(|c| c.messages.len()),
        Some(1)
    );
    assert_eq!(receiver.accepted().len(), 1);
    let outcomes: Vec<Outcome> = proxy.requests().iter().map(|r| r.outcome).collect();
    assert!(outcomes.contains(&Outcome::Tunnelled), "{outcomes:?}");
    assert!(outcomes.contains(&Outcome::Forwarded), "{outcomes:?}");
    assert!(proxy.requests().iter().all(|r| r.authenticated));
    engine.shutdown();
    let lines: String = log
        .drain()
        .into_iter()
        .map(|(_, l)| l)
        .collect::<Vec<_>>()
        .join("\n");
    assert_no_credentials(&lines);
    assert_no_credentials(&format!(
        "{:?}",
        Config::try_from(serde_json::json!({
        "dry_run": true, "proxy": proxy.url_with_credentials(USER, PASSWORD)}))
        .unwrap()
    ));
}

//! The one HTTP client every request of the engine goes through (Slack
//! webhooks, Slack's Web API, JSON webhooks, upload URLs), built from the
//! engine-wide network options: the request timeout, the `proxy` and the
//! extra `ssl_certificate_authorities`.

use std::time::Duration;

use crate::config::{CertificateAuthorities, Proxy};

/// What [`http_client`] builds a client from.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// Per-request timeout; connecting may take at most 5 s of it.
    pub timeout: Duration,
    /// The proxy every request goes through, http and https targets alike;
    /// `None`: the `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY` environment, as
    /// before.
    pub proxy: Option<Proxy>,
    /// Trusted beside the built-in roots, for the targets and an https proxy.
    pub certificate_authorities: Option<CertificateAuthorities>,
}

/// A blocking client set up as the engine's senders set theirs up (rustls
/// with the built-in webpki roots, no redirects, the timeouts, the
/// `logstash-filter-slack_alert/VERSION` user agent), plus:
///
/// - the proxy, for every scheme: plain-http targets as absolute-form
///   requests, https targets through `CONNECT`; its `user:password@` is sent
///   as Basic `Proxy-Authorization` on both (percent-decoded first);
/// - the extra certificate authorities, added to the built-in roots.
///
/// The error never holds the proxy's credentials: it names the proxy only
/// in its redacted form.
pub fn http_client(settings: &ClientSettings) -> Result<reqwest::blocking::Client, String> {
    let mut builder = reqwest::blocking::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
        // Slack never redirects a webhook; following one could send the
        // alert (and the path) somewhere else.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "logstash-filter-slack_alert/",
            env!("CARGO_PKG_VERSION")
        ));
    if let Some(proxy) = &settings.proxy {
        // `all`: http and https targets. reqwest reads the credentials out
        // of the URL and sends them on absolute-form requests and CONNECT.
        let p = reqwest::Proxy::all(proxy.expose()).map_err(|_| {
            format!(
                "could not set up the HTTP client: the proxy {} is not a usable URL",
                proxy.redacted()
            )
        })?;
        builder = builder.proxy(p);
    }
    if let Some(authorities) = &settings.certificate_authorities {
        for certificate in authorities.certificates() {
            builder = builder.add_root_certificate(certificate.clone());
        }
    }
    // A builder error names no URL, and the proxy's was not given to it in
    // words: its Display holds no credentials.
    builder
        .build()
        .map_err(|e| format!("could not set up the HTTP client: {e}"))
}

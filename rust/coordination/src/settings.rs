//! What a [`Store`](crate::Store) connects to and how: hosts, index, credentials, timeout, CAs.

use std::fmt;
use std::time::Duration;

use reqwest::Url;

use crate::StoreError;

/// The index used when none is configured (`coordination_index`).
pub const DEFAULT_INDEX: &str = "slack-alert-state";
/// The bound on every call when none is configured (`coordination_timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The port of a host given without one, as Logstash's `elasticsearch` plugins take it.
pub const DEFAULT_PORT: u16 = 9200;

/// A password or an API key. `Debug` and `Display` show `[secret]`, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

/// Where the fleet's state lives and how to reach it; the `coordination_*` options.
///
/// `Debug` shows the hosts, index, user, timeout and how many CAs there are; an API key or a
/// password only as `[secret]`.
#[derive(Clone)]
pub struct StoreSettings {
    /// Base URLs, tried in order: `http://host:port`, `https://host:port/prefix`, or `host[:port]`
    /// (plain HTTP). Without a port, [`DEFAULT_PORT`], as Logstash's `elasticsearch` plugins do.
    /// No user or password in them: those have their own settings.
    pub hosts: Vec<String>,
    /// The index holding every document; created by [`Store::ensure_index`](crate::Store::ensure_index).
    pub index: String,
    /// Sent as `Authorization: ApiKey …`: an `id:api_key` pair (as Elasticsearch's create API key
    /// API returns them) is base64-encoded first; anything else (the `encoded` form) is sent as given.
    pub api_key: Option<Secret>,
    /// With [`password`](Self::password): HTTP basic auth. Not together with `api_key`.
    pub user: Option<String>,
    /// The user's password.
    pub password: Option<Secret>,
    /// The bound on each call, from connecting to the last byte of the answer, across every host
    /// it tries.
    pub timeout: Duration,
    /// `Some`: trust only these CAs for `https` hosts (`coordination_ssl_certificate_authorities`);
    /// `None`: the built-in web PKI roots.
    pub ca: Option<Vec<reqwest::Certificate>>,
}

impl StoreSettings {
    /// Settings for `hosts` with the default index and timeout, no credentials, built-in roots.
    pub fn new(hosts: Vec<String>) -> StoreSettings {
        StoreSettings {
            hosts,
            index: DEFAULT_INDEX.to_string(),
            api_key: None,
            user: None,
            password: None,
            timeout: DEFAULT_TIMEOUT,
            ca: None,
        }
    }
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self.hosts.iter().map(|h| shown_host(h)).collect();
        f.debug_struct("StoreSettings")
            .field("hosts", &hosts)
            .field("index", &self.index)
            .field("api_key", &self.api_key)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("timeout", &self.timeout)
            .field(
                "ca",
                &self
                    .ca
                    .as_ref()
                    .map(|c| format!("{} certificate(s)", c.len())),
            )
            .finish()
    }
}

/// One host as requests are sent to it.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    /// `scheme://host:port` plus the path prefix, without a trailing `/`.
    pub(crate) base: String,
}

impl Host {
    /// The URL of `path_and_query` (which starts with `/`) on this host.
    pub(crate) fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }
}

/// A host as errors and `Debug` show it: scheme, host, port and path; anything that could hold
/// a credential (user info, query) is left out.
pub(crate) fn shown_host(host: &str) -> String {
    match parse_host(host) {
        Ok(h) => h.base,
        Err(_) => "(an invalid host)".to_string(),
    }
}

/// Parses one entry of `hosts`; the error says why without repeating the entry (which might
/// hold a password).
pub(crate) fn parse_host(raw: &str) -> Result<Host, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("is empty".to_string());
    }
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| format!("is not a URL ({e})"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("has scheme {:?}: use http or https", url.scheme()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("carries a user or password: use coordination_user/coordination_password or coordination_api_key"
            .to_string());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("has a query or fragment".to_string());
    }
    let host = match url.host_str() {
        Some(h) if !h.is_empty() => h,
        _ => return Err("has no host".to_string()),
    };
    let after_scheme = &with_scheme[with_scheme.find("://").map_or(0, |i| i + 3)..];
    let authority = after_scheme.split('/').next().unwrap_or("");
    let explicit_port = match authority.rfind(']') {
        Some(close) => authority[close..].contains(':'),
        None => authority.contains(':'),
    };
    let port = if explicit_port {
        url.port_or_known_default().unwrap_or(DEFAULT_PORT)
    } else {
        DEFAULT_PORT
    };
    let path = url.path().trim_end_matches('/');
    Ok(Host {
        base: format!("{}://{}:{}{}", url.scheme(), host, port, path),
    })
}

/// Checks an index name against Elasticsearch's rules, so a bad one fails at start, not at the
/// first incident.
pub(crate) fn check_index(index: &str) -> Result<(), StoreError> {
    let bad = |why: &str| {
        Err(StoreError::Config(format!(
            "coordination_index {index:?} {why}"
        )))
    };
    if index.is_empty() {
        return bad("is empty");
    }
    if index.len() > 255 {
        return bad("is longer than 255 bytes");
    }
    if index == "." || index == ".." {
        return bad("is not an index name");
    }
    if index.starts_with(['-', '_', '+']) {
        return bad("starts with -, _ or +");
    }
    if index.chars().any(|c| c.is_uppercase()) {
        return bad("has upper-case letters");
    }
    if let Some(c) = index.chars().find(|c| "\\/*?\"<>| ,#:".contains(*c)) {
        return bad(&format!("contains {c:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_take_logstash_forms() {
        let base = |s: &str| parse_host(s).map(|h| h.base);
        assert_eq!(base("127.0.0.1").unwrap(), "http://127.0.0.1:9200");
        assert_eq!(base("es1:9201").unwrap(), "http://es1:9201");
        assert_eq!(base("http://127.0.0.1").unwrap(), "http://127.0.0.1:9200");
        assert_eq!(
            base("https://es.example.com:443/").unwrap(),
            "https://es.example.com:443"
        );
        assert_eq!(
            base("https://es.example.com/es/").unwrap(),
            "https://es.example.com:9200/es"
        );
        assert_eq!(base("http://[::1]:9201").unwrap(), "http://[::1]:9201");
        assert_eq!(base("http://[::1]").unwrap(), "http://[::1]:9200");
    }

    #[test]
    fn hosts_with_credentials_are_refused_without_echoing_them() {
        let err = parse_host("https://elastic:hunter2@es:9200").unwrap_err();
        assert!(err.contains("coordination_user"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(
            shown_host("https://elastic:hunter2@es:9200"),
            "(an invalid host)"
        );
        assert!(parse_host("ftp://es").is_err());
        assert!(parse_host("http://es:9200/?token=x").is_err());
        assert!(parse_host(" ").is_err());
    }

    #[test]
    fn index_names_follow_elasticsearch() {
        assert!(check_index("slack-alert-state").is_ok());
        for bad in [
            "", "Upper", "_x", "-x", "a b", "a/b", "a*", "a:b", ".", "..",
        ] {
            assert!(check_index(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let mut settings = StoreSettings::new(vec!["https://es:9200".into()]);
        settings.api_key = Some(Secret::new("id:supersecretkey"));
        settings.user = Some("alerts".into());
        settings.password = Some("hunter2".into());
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("supersecretkey") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(
            shown.contains("[secret]")
                && shown.contains("alerts")
                && shown.contains("https://es:9200"),
            "{shown}"
        );
        assert_eq!(format!("{}", Secret::new("x")), "[secret]");
    }
}

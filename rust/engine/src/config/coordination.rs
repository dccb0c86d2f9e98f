//! The `coordination_*` options: where the fleet's shared state lives (issue 16).
//!
//! Every value is checked at start, set or not with `coordination_hosts`, so that a typo fails
//! naming its option; without `coordination_hosts` the others are ignored (node-local). The
//! secrets (`coordination_api_key`, `coordination_password`) are held as
//! [`Secret`](slack_alert_coordination::Secret): never in `Debug`, a log line or an error.

use std::time::Duration;

use slack_alert_coordination::{Secret, Store, StoreError, StoreSettings, DEFAULT_INDEX};

use super::network::CertificateAuthorities;
use super::options::{ConfigError, Options};

/// The `coordination_*` option names, in the README's order.
pub const COORDINATION_OPTIONS: &[&str] = &[
    "coordination_hosts",
    "coordination_index",
    "coordination_api_key",
    "coordination_user",
    "coordination_password",
    "coordination_ssl_certificate_authorities",
    "coordination_timeout",
    "coordination_lease",
];

/// `coordination_timeout` when not set.
pub const DEFAULT_COORDINATION_TIMEOUT: Duration = Duration::from_secs(5);
/// `coordination_lease` when not set.
pub const DEFAULT_COORDINATION_LEASE: Duration = Duration::from_secs(30);

/// Fleet-wide coordination, when `coordination_hosts` is set. `Debug` shows no secret.
#[derive(Clone, Debug)]
pub struct Coordination {
    /// What the store connects to; checked by [`Store::new`] at start.
    pub settings: StoreSettings,
    /// How long after an incident's report was due another node waits for its owner before it
    /// takes the incident over (`coordination_lease`).
    pub lease: Duration,
}

impl Coordination {
    /// The client of the fleet's store (sends nothing).
    pub fn store(&self) -> Result<Store, StoreError> {
        Store::new(self.settings.clone())
    }
}

/// Reads and checks the `coordination_*` options; `None` without `coordination_hosts`.
pub(super) fn parse(opts: &Options) -> Result<Option<Coordination>, ConfigError> {
    let hosts = opts.strings("coordination_hosts")?;
    if let Some(hosts) = &hosts {
        if hosts.is_empty() {
            return Err(ConfigError::new(
                "coordination_hosts",
                "lists no host; leave it unset for node-local alerting",
            ));
        }
    }
    let index = opts
        .string("coordination_index")?
        .unwrap_or_else(|| DEFAULT_INDEX.to_string());
    let api_key = opts.string("coordination_api_key")?;
    if api_key.as_deref().is_some_and(|k| k.trim().is_empty()) {
        return Err(ConfigError::new(
            "coordination_api_key",
            "is empty; set an API key (id:api_key or its encoded form) or leave it unset",
        ));
    }
    let user = opts.string("coordination_user")?;
    if let Some(user) = &user {
        if user.is_empty() || user.contains(':') {
            return Err(ConfigError::new(
                "coordination_user",
                "must be a user name, not empty and without ':'",
            ));
        }
    }
    let password = opts.string("coordination_password")?;
    let ca =
        match opts.strings("coordination_ssl_certificate_authorities")? {
            Some(paths) if !paths.is_empty() => Some(CertificateAuthorities::load(
                "coordination_ssl_certificate_authorities",
                &paths,
            )?),
            Some(_) => return Err(ConfigError::new(
                "coordination_ssl_certificate_authorities",
                "must name at least one PEM file; leave it unset to trust only the built-in roots",
            )),
            None => None,
        };
    let timeout = opts
        .duration(
            "coordination_timeout",
            Duration::from_millis(100),
            Duration::from_secs(300),
        )?
        .unwrap_or(DEFAULT_COORDINATION_TIMEOUT);
    let lease = opts
        .duration(
            "coordination_lease",
            Duration::from_secs(1),
            Duration::from_secs(3600),
        )?
        .unwrap_or(DEFAULT_COORDINATION_LEASE);
    let settings = StoreSettings {
        // Without hosts the rest is still checked, against a host that is never contacted.
        hosts: hosts.clone().unwrap_or_else(|| vec!["127.0.0.1".into()]),
        index,
        api_key: api_key.map(Secret::new),
        user,
        password: password.map(Secret::new),
        timeout,
        ca: ca.map(|c| c.certificates().to_vec()),
    };
    if let Err(e) = Store::new(settings.clone()) {
        return Err(match e {
            StoreError::Config(why) => ConfigError::new(option_of(&why), why),
            other => ConfigError::new("coordination_hosts", other.to_string()),
        });
    }
    Ok(hosts.map(|_| Coordination { settings, lease }))
}

/// The option a store's settings error is about: the first `coordination_…` it names.
fn option_of(why: &str) -> &'static str {
    COORDINATION_OPTIONS
        .iter()
        .filter_map(|o| why.find(o).map(|at| (at, *o)))
        // The longest name at the earliest position (`coordination_user` is not `…_username`).
        .min_by_key(|(at, o)| (*at, usize::MAX - o.len()))
        .map_or("coordination_hosts", |(_, o)| o)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{err, parse as parse_config};
    use serde_json::json;

    #[test]
    fn absent_hosts_is_node_local_and_the_rest_is_still_checked() {
        let c = parse_config(json!({"dry_run": true})).unwrap();
        assert!(c.coordination.is_none());
        let c = parse_config(json!({"dry_run": true, "coordination_index": "x"})).unwrap();
        assert!(c.coordination.is_none());
        let e = err(json!({"dry_run": true, "coordination_index": "Upper"}));
        assert!(e.starts_with("coordination_index: "), "{e}");
    }

    #[test]
    fn options_are_read_and_secrets_never_shown() {
        let c = parse_config(json!({
            "dry_run": true, "coordination_hosts": ["http://es1:9200", "es2"],
            "coordination_user": "alerts", "coordination_password": "hunter2secret",
            "coordination_timeout": "2s", "coordination_lease": "10s",
        }))
        .unwrap();
        let co = c.coordination.as_ref().unwrap();
        assert_eq!(co.settings.hosts.len(), 2);
        assert_eq!(co.settings.index, "slack-alert-state");
        assert_eq!(co.settings.timeout, std::time::Duration::from_secs(2));
        assert_eq!(co.lease, std::time::Duration::from_secs(10));
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2secret"), "{shown}");
        let e = err(json!({
            "dry_run": true, "coordination_hosts": ["http://es1:9200"],
            "coordination_user": "alerts",
        }));
        assert!(e.starts_with("coordination_user: "), "{e}");
        let e = err(json!({
            "dry_run": true, "coordination_hosts": ["https://u:hunter2secret@es1:9200"],
        }));
        assert!(e.starts_with("coordination_hosts: "), "{e}");
        assert!(!e.contains("hunter2secret"), "{e}");
    }
}

//! How the engine reaches the network: the HTTP [`Proxy`] every request goes
//! through (a secret when it carries credentials, shown only redacted) and
//! the [`CertificateAuthorities`] trusted beside the built-in roots.
//!
//! Both are read once, at start, and their errors name the option: the option
//! name is a parameter, so that `proxy` and a later `coordination_proxy` (or
//! `ssl_certificate_authorities` and `coordination_ssl_certificate_authorities`)
//! share the checks and the wording.

use std::fmt;
use std::io::Read;
use std::path::Path;

use super::options::ConfigError;

/// An HTTP proxy: `http://` or `https://`, a host, an optional port and
/// optional `user:password@` credentials, nothing after the authority but `/`.
///
/// The URL is a secret when it has credentials: `Debug` and `Display` show
/// only [`Proxy::redacted`], and no error repeats the URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The URL as the HTTP client takes it (normalised, credentials included).
    url: String,
    /// `scheme://host:port`, the port explicit or the scheme's default.
    shown: String,
    credentials: bool,
}

impl Proxy {
    /// What an accepted value looks like, for the error messages.
    const EXPECTED: &'static str = "expected http://host:port or https://host:port, with \
        user:password@ before the host if the proxy needs credentials \
        (percent-encode @ : / in them)";

    /// Validates a proxy URL for `option` (e.g. `proxy`). Error messages say
    /// what is wrong and what is allowed but never repeat the URL, which may
    /// hold a password.
    pub fn parse(option: &'static str, url: &str) -> Result<Proxy, ConfigError> {
        let bad = |what: &str| ConfigError::new(option, format!("{what}; {}", Self::EXPECTED));
        let url = url.trim();
        if url.is_empty() {
            return Err(bad("is empty"));
        }
        // Before parsing: `user:password@host` would parse with `user` as
        // its scheme, and the scheme is shown below.
        if !url.contains("://") {
            return Err(bad("has no scheme"));
        }
        // The url crate's words name the part at fault, never the text.
        let parsed =
            reqwest::Url::parse(url).map_err(|e| bad(&format!("is not a valid URL ({e})")))?;
        let scheme = parsed.scheme();
        if !matches!(scheme, "http" | "https") {
            // What comes before `://` is a scheme, never credentials.
            return Err(if url.starts_with(&format!("{scheme}://")) {
                bad(&format!(
                    "must be an http:// or https:// URL, not {scheme}://"
                ))
            } else {
                bad("must be an http:// or https:// URL")
            });
        }
        let host = match parsed.host_str() {
            Some(h) if !h.is_empty() => h,
            _ => return Err(bad("has no host")),
        };
        if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("must not have a path, query or fragment"));
        }
        let port = parsed
            .port_or_known_default()
            .expect("http and https have default ports");
        Ok(Proxy {
            url: parsed.as_str().to_string(),
            shown: format!("{scheme}://{host}:{port}"),
            credentials: !parsed.username().is_empty() || parsed.password().is_some(),
        })
    }

    /// A form that is safe to log: `scheme://host:port`, with `***@` before
    /// the host if the URL has credentials.
    pub fn redacted(&self) -> String {
        if self.credentials {
            self.shown.replacen("://", "://***@", 1)
        } else {
            self.shown.clone()
        }
    }

    /// Returns true if and only if the URL has credentials (`user:password@`).
    pub fn has_credentials(&self) -> bool {
        self.credentials
    }

    /// The URL itself, credentials included, for the HTTP client only.
    pub fn expose(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({})", self.redacted())
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Certificate authorities trusted beside the built-in roots: every
/// certificate of every PEM file an option names, checked when loaded.
///
/// `Debug` lists the paths only.
#[derive(Clone)]
pub struct CertificateAuthorities {
    paths: Vec<String>,
    /// Each certificate, in file order, each accepted by rustls.
    certificates: Vec<reqwest::Certificate>,
}

impl CertificateAuthorities {
    /// Largest file read: a full public CA bundle is a few hundred KiB.
    pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

    /// Loads the PEM files `paths` for `option` (e.g.
    /// `ssl_certificate_authorities`). Each must be a readable file of at
    /// most [`MAX_FILE_BYTES`](Self::MAX_FILE_BYTES) holding at least one
    /// `BEGIN CERTIFICATE` block that rustls accepts as a trust anchor; other
    /// blocks (a private key) are skipped. Errors name the option, the path
    /// and what is wrong. An empty list is an error too: the wiring treats
    /// `[]` as not set.
    pub fn load(
        option: &'static str,
        paths: &[String],
    ) -> Result<CertificateAuthorities, ConfigError> {
        if paths.is_empty() {
            return Err(ConfigError::new(
                option,
                "must name at least one PEM file; leave it unset to trust only the built-in roots",
            ));
        }
        let mut certificates = Vec::new();
        for path in paths {
            certificates.extend(load_file(option, path)?);
        }
        Ok(CertificateAuthorities {
            paths: paths.to_vec(),
            certificates,
        })
    }

    /// The files, as configured.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// How many certificates the files hold together (at least one per file).
    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    /// Always false: every file holds at least one certificate.
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }

    /// The certificates, for the HTTP client's root store.
    pub fn certificates(&self) -> &[reqwest::Certificate] {
        &self.certificates
    }
}

impl fmt::Debug for CertificateAuthorities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CertificateAuthorities")
            .field(&self.paths)
            .finish()
    }
}

/// Every certificate of one PEM file, each checked by rustls.
fn load_file(option: &'static str, path: &str) -> Result<Vec<reqwest::Certificate>, ConfigError> {
    let fail = |what: &str| ConfigError::new(option, format!("{path:?} {what}"));
    let unreadable = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => fail("does not exist"),
        std::io::ErrorKind::PermissionDenied => fail("cannot be read (permission denied)"),
        _ => fail(&format!("cannot be read ({e})")),
    };
    let max = CertificateAuthorities::MAX_FILE_BYTES;
    // Looked at before opening: opening a FIFO would wait for a writer.
    if !std::fs::metadata(Path::new(path))
        .map_err(unreadable)?
        .is_file()
    {
        return Err(fail("is not a file; name a PEM file of CA certificates"));
    }
    let file = std::fs::File::open(Path::new(path)).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > max {
        return Err(fail(&format!(
            "is larger than {} MiB; name a PEM file of CA certificates",
            max >> 20
        )));
    }
    let certificates = reqwest::Certificate::from_pem_bundle(&bytes)
        .map_err(|_| fail("is not valid PEM: a BEGIN CERTIFICATE block does not decode"))?;
    if certificates.is_empty() {
        return Err(fail(
            "holds no certificate; expected PEM with -----BEGIN CERTIFICATE----- blocks \
             (convert a DER file with `openssl x509 -inform der -in FILE`)",
        ));
    }
    for (i, certificate) in certificates.iter().enumerate() {
        // The check the client's root store makes when it is built, so that
        // a bad certificate fails here, naming its file.
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(certificate.clone())
            .build()
            .map_err(|_| {
                fail(&format!(
                    "holds a certificate that is not a valid X.509 CA certificate \
                     (certificate {} of {})",
                    i + 1,
                    certificates.len()
                ))
            })?;
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake_proxy::{TestCa, TestDir};

    const SECRET: &str = "s3cr3t-Pa55";

    fn parse(url: &str) -> Result<Proxy, String> {
        Proxy::parse("proxy", url).map_err(|e| e.to_string())
    }

    #[test]
    fn proxy_urls_that_are_accepted() {
        let cases = [
            (
                "http://proxy.example.com:3128",
                "http://proxy.example.com:3128",
                false,
            ),
            (
                "http://proxy.example.com:3128/",
                "http://proxy.example.com:3128",
                false,
            ),
            (
                "https://proxy.example.com",
                "https://proxy.example.com:443",
                false,
            ),
            (
                "http://PROXY.example.com",
                "http://proxy.example.com:80",
                false,
            ),
            ("http://10.1.2.3:8080", "http://10.1.2.3:8080", false),
            ("http://[::1]:3128", "http://[::1]:3128", false),
            (" http://proxy:3128 ", "http://proxy:3128", false),
            (
                &format!("http://alice:{SECRET}@proxy:3128"),
                "http://***@proxy:3128",
                true,
            ),
            ("https://alice@proxy", "https://***@proxy:443", true),
            (
                &format!("http://do%40main%5Calice:{SECRET}%3A%2F@proxy:1"),
                "http://***@proxy:1",
                true,
            ),
        ];
        for (url, shown, credentials) in cases {
            let p = Proxy::parse("proxy", url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(p.redacted(), shown, "{url}");
            assert_eq!(p.to_string(), shown, "{url}");
            assert_eq!(format!("{p:?}"), format!("Proxy({shown})"), "{url}");
            assert_eq!(p.has_credentials(), credentials, "{url}");
        }
        let p = parse(&format!("http://alice:{SECRET}@proxy:3128")).unwrap();
        assert_eq!(p.expose(), format!("http://alice:{SECRET}@proxy:3128/"));
    }

    #[test]
    fn proxy_urls_that_are_refused_say_why_and_what_is_allowed() {
        let cases = [
            (
                "",
                "proxy: is empty; expected http://host:port or https://host:port",
            ),
            ("proxy.example.com:3128", "proxy: has no scheme; expected"),
            ("http:proxy:3128", "proxy: has no scheme; expected"),
            ("proxy.example.com", "proxy: has no scheme; expected"),
            (
                "socks5://proxy:1080",
                "proxy: must be an http:// or https:// URL, not socks5://",
            ),
            (
                "ftp://proxy",
                "proxy: must be an http:// or https:// URL, not ftp://",
            ),
            (
                "http://",
                "proxy: is not a valid URL (empty host); expected",
            ),
            (
                "http://proxy:99999",
                "proxy: is not a valid URL (invalid port number)",
            ),
            (
                "http://proxy:3128/path",
                "proxy: must not have a path, query or fragment",
            ),
            (
                "http://proxy:3128/?a=b",
                "proxy: must not have a path, query or fragment",
            ),
            (
                "http://proxy:3128/#top",
                "proxy: must not have a path, query or fragment",
            ),
            ("http://pro xy:3128", "proxy: is not a valid URL"),
        ];
        for (url, expected) in cases {
            let got = parse(url).expect_err(url);
            assert!(
                got.starts_with(expected),
                "for {url:?}:\n  got      {got}\n  expected {expected}…"
            );
            assert!(got.contains("user:password@"), "{got}");
        }
        // The option is named as the caller says (a later `coordination_proxy`).
        let e = Proxy::parse("coordination_proxy", "socks5://x").unwrap_err();
        assert_eq!(e.option(), "coordination_proxy");
    }

    #[test]
    fn credentials_never_show() {
        let urls = [
            format!("http://alice:{SECRET}@proxy:3128"),
            format!("https://alice:{SECRET}@proxy"),
            format!("socks5://alice:{SECRET}@proxy:1080"),
            format!("http://alice:{SECRET}@proxy:3128/path"),
            format!("http://alice:{SECRET}@proxy:99999"),
            format!("http://alice:{SECRET}@/"),
            format!("http://alice:{SECRET}@pro xy"),
            format!("alice:{SECRET}@proxy:3128"),
            format!("http://alice:{SECRET}@proxy:3128?x"),
        ];
        for url in &urls {
            let shown = match Proxy::parse("proxy", url) {
                Ok(p) => format!("{p} {p:?} {}", p.redacted()),
                Err(e) => format!("{e} {e:?}"),
            };
            assert!(!shown.contains(SECRET), "{url}: {shown}");
            assert!(!shown.contains("alice"), "{url}: {shown}");
        }
    }

    fn load(paths: &[&std::path::Path]) -> Result<CertificateAuthorities, String> {
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        CertificateAuthorities::load("ssl_certificate_authorities", &paths)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn good_pem_files_load() {
        let dir = TestDir::new("engine-ca").unwrap();
        let ca = TestCa::new();
        let one = ca.write_ca_pem(dir.path()).unwrap();
        // A bundle of two, with a key and comments between them.
        let bundle = dir.path().join("bundle.pem");
        std::fs::write(
            &bundle,
            format!(
                "# corporate roots\n{}\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{}",
                ca.ca_pem(),
                ca.unrelated().ca_pem()
            ),
        )
        .unwrap();
        let cas = load(&[&one, &bundle]).unwrap();
        assert_eq!(cas.len(), 3);
        assert!(!cas.is_empty());
        assert_eq!(cas.certificates().len(), 3);
        let paths = [one.display().to_string(), bundle.display().to_string()];
        assert_eq!(cas.paths(), paths);
        assert_eq!(
            format!("{cas:?}"),
            format!("CertificateAuthorities({paths:?})")
        );
        let copy = cas.clone();
        assert_eq!(copy.len(), 3);
    }

    #[test]
    fn bad_files_name_the_option_the_path_and_the_problem() {
        let dir = TestDir::new("engine-ca-bad").unwrap();
        let missing = dir.path().join("missing.pem");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "this is not a certificate\n").unwrap();
        let key_only = dir.path().join("key.pem");
        std::fs::write(
            &key_only,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let der = dir.path().join("ca.der");
        std::fs::write(&der, [0x30, 0x82, 0x01, 0x0a, 0x02, 0x82]).unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let unterminated = dir.path().join("cut.pem");
        std::fs::write(&unterminated, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
        let not_x509 = dir.path().join("not-x509.pem");
        // Valid PEM and base64, but the DER inside is no certificate.
        std::fs::write(
            &not_x509,
            "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let show = |p: &std::path::Path| format!("{:?}", p.display().to_string());
        let cases: [(&std::path::Path, &str); 9] = [
            (&missing, "does not exist"),
            (dir.path(), "is not a file; name a PEM file of CA certificates"),
            (&empty, "holds no certificate; expected PEM with -----BEGIN CERTIFICATE----- blocks"),
            (&text, "holds no certificate"),
            (&key_only, "holds no certificate"),
            (&der, "holds no certificate; expected PEM with -----BEGIN CERTIFICATE----- blocks (convert a DER file"),
            (&garbage, "is not valid PEM: a BEGIN CERTIFICATE block does not decode"),
            (&unterminated, "is not valid PEM"),
            (&not_x509, "holds a certificate that is not a valid X.509 CA certificate (certificate 1 of 1)"),
        ];
        for (path, problem) in cases {
            let got = load(&[path]).expect_err(&path.display().to_string());
            let expected = format!("ssl_certificate_authorities: {} {problem}", show(path));
            assert!(
                got.starts_with(&expected),
                "got      {got}\nexpected {expected}…"
            );
        }
        // A good file does not hide a bad one after it.
        let good = TestCa::new().write_ca_pem(dir.path()).unwrap();
        let got = load(&[&good, &missing]).unwrap_err();
        assert!(got.contains(&show(&missing)), "{got}");
        // Nothing to load, and the option as the caller names it.
        let none = CertificateAuthorities::load("coordination_ssl_certificate_authorities", &[])
            .unwrap_err();
        assert_eq!(none.option(), "coordination_ssl_certificate_authorities");
        assert!(
            none.to_string().contains("must name at least one PEM file"),
            "{none}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_file_says_so() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TestDir::new("engine-ca-perm").unwrap();
        let path = TestCa::new().write_ca_pem(dir.path()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read(&path).is_ok() {
            // Root reads anything: nothing to prove here.
            return;
        }
        let got = load(&[&path]).unwrap_err();
        assert!(got.ends_with("cannot be read (permission denied)"), "{got}");
    }
}

//! `slack-alert`: the slack_alert engine without Logstash.
//!
//! The binary is a thin `main` over this crate. It provides three commands on
//! the same engine and with the same option names as the Logstash plugin:
//!
//! - [`check`]: validate a configuration and, given JSON lines, replay them on
//!   their own `@timestamp`s and show what would have been posted ([`replay`]);
//! - [`run`]: the standalone alerter behind a TCP `json_lines` listener and an
//!   HTTP API;
//! - [`send_test()`]: post one test message and explain Slack's answer.
//!
//! The configuration is YAML ([`config_file`]); `${VAR}` keeps the webhook
//! out of the file.
//!
//! ```
//! use slack_alert_sidecar::{config_file, replay};
//!
//! let config = config_file::parse(
//!     "dry_run: true\ndedup_window: 5m\n",
//!     std::path::Path::new("example.yml"),
//!     &|_| None,
//! )?;
//! let lines = concat!(
//!     r#"{"@timestamp":"2026-11-20T09:00:00Z","log.level":"ERROR","message":"db down"}"#, "\n",
//!     r#"{"@timestamp":"2026-11-20T09:04:00Z","log.level":"ERROR","message":"db down"}"#, "\n",
//! );
//! let summary = replay::replay(config, lines.as_bytes(), 1 << 20, &mut |_| {})?;
//! assert_eq!((summary.alerts, summary.repeats), (1, 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cli;
pub mod config_file;
mod html_page;
mod import_elastalert;
pub mod lifecycle;
pub mod lines;
pub mod replay;
mod send_test;
mod serve;
mod signals;
mod timestamp;

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use slack_alert_engine::config::{show_duration, DEFAULT_RULE};
use slack_alert_engine::{Config, StderrLog};

use cli::{CheckArgs, Command, Input, RunArgs, SendTestArgs, UsageError};
use config_file::ConfigFileError;
use send_test::SendTestError;
use serve::{ServeError, Server};

/// Why a command failed.
#[derive(Debug)]
pub enum Error {
    /// Occurs when the command line cannot be used.
    Usage(UsageError),
    /// Occurs when the configuration file is missing or invalid.
    Config(ConfigFileError),
    /// Occurs when `check --input FILE` cannot be opened.
    Input { path: PathBuf, error: io::Error },
    /// Occurs when `run` cannot listen or start the engine.
    Serve(ServeError),
    /// Occurs when the test message did not get through.
    SendTest(SendTestError),
    /// Occurs when reading input or writing output fails.
    Io(io::Error),
}

impl Error {
    /// Returns true if and only if the failure is in what the operator wrote
    /// (command line, configuration, a missing input file), not in running it.
    pub fn is_bad_usage(&self) -> bool {
        matches!(
            self,
            Error::Usage(_)
                | Error::Config(_)
                | Error::Input { .. }
                | Error::SendTest(SendTestError::NoWebhook | SendTestError::NoToken)
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(e) => write!(f, "{e}"),
            Error::Config(e) => write!(f, "{e}"),
            Error::Input { path, error } => {
                write!(f, "--input: cannot read {}: {error}", path.display())
            }
            Error::Serve(e) => write!(f, "{e}"),
            Error::SendTest(e) => write!(f, "{e}"),
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

/// One line about a valid configuration, from its rules; webhooks only
/// redacted. The simple form's one rule is described by its options, rules
/// by their names and kinds.
pub fn describe_config(config: &Config) -> String {
    let simple = match config.rules.as_slice() {
        [rule] if rule.name == DEFAULT_RULE => Some(rule),
        _ => None,
    };
    let Some(rule) = simple else {
        let rules: Vec<String> = config
            .rules
            .iter()
            .map(|r| format!("{} ({})", r.name, r.kind.as_str()))
            .collect();
        let target = if config.dry_run {
            "dry_run (nothing is posted)".to_string()
        } else {
            let n = config.destinations.len();
            format!("{n} destination{}", if n == 1 { "" } else { "s" })
        };
        return format!(
            "{} rules: {}; {target}",
            config.rules.len(),
            rules.join(", ")
        );
    };
    let levels: Vec<&str> = rule.levels.iter().map(|l| l.name()).collect();
    let target = match (&rule.webhook_url, &rule.app, config.dry_run) {
        (_, _, true) => "dry_run (nothing is posted)".to_string(),
        (Some(w), _, false) => format!("webhook {}", w.redacted()),
        // The token is never shown, not even redacted: its kind says enough.
        (None, Some(app), false) => {
            let fallback = app
                .fallback_channel
                .as_ref()
                .map(|f| format!(" (fallback {})", f.as_str()))
                .unwrap_or_default();
            format!(
                "Slack app, channel {}{fallback}, updates every {}, thread replies {}",
                app.channel.as_str(),
                show_duration(app.update_interval),
                app.thread_replies.as_str()
            )
        }
        (None, None, false) => "no webhook".to_string(),
    };
    format!(
        "levels {}; dedup_window {}; rate_limit {}/min, burst {}; {target}",
        levels.join(", "),
        show_duration(rule.dedup_window),
        rule.rate_limit,
        rule.burst
    )
}

/// What `check` says on stderr, once, of a configuration with `coordination_hosts`: a replay
/// of one file is one node's view, decided node-locally; `run` coordinates as the plugin does.
pub const COORDINATION_IGNORED: &str = "slack-alert: note: check ignores coordination_hosts \
(it replays one input on its own, as one node alerting alone); `slack-alert run` and the \
plugin coordinate through it";

/// `slack-alert check`.
pub fn check(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Error> {
    let mut config = config_file::load(&args.config).map_err(Error::Config)?;
    // Left in, it would change the replay itself: coordinated rules flush progress reports
    // and report every window, as a fleet's owner does, which one replayed file is not.
    if config.coordination.take().is_some() {
        writeln!(err, "{COORDINATION_IGNORED}")?;
    }
    let Some(input) = &args.input else {
        if args.json {
            let line = serde_json::json!({"config": "ok", "describe": describe_config(&config)});
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "ok: {} is a valid configuration ({})",
                args.config.display(),
                describe_config(&config)
            )?;
        }
        return Ok(());
    };
    let reader: Box<dyn io::BufRead> = match input {
        Input::Stdin => Box::new(io::stdin().lock()),
        Input::File(path) => {
            let file = File::open(path).map_err(|error| Error::Input {
                path: path.clone(),
                error,
            })?;
            Box::new(BufReader::with_capacity(64 * 1024, file))
        }
    };
    let mut failed: Option<io::Error> = None;
    let json = args.json;
    let mut page = args.html.as_ref().map(|_| {
        let shown = match input {
            Input::Stdin => "standard input".to_string(),
            Input::File(path) => path.display().to_string(),
        };
        html_page::HtmlPage::new(&args.config, &shown)
    });
    let mut write = |record: replay::Record| {
        if let Some(page) = &mut page {
            page.add(&record);
        }
        if failed.is_some() {
            return;
        }
        let written = if json {
            replay::write_json(&record, out, err)
        } else {
            replay::write_human(&record, out, err)
        };
        if let Err(e) = written {
            failed = Some(e);
        }
    };
    let summary = replay::replay(config, reader, args.max_line_bytes, &mut write)?;
    if let Some(e) = failed {
        return Err(Error::Io(e));
    }
    if json {
        replay::write_json_summary(&summary, out)?;
    } else {
        replay::write_human_summary(&summary, out)?;
    }
    out.flush()?;
    if let (Some(page), Some(path)) = (page, &args.html) {
        std::fs::write(path, page.finish(&summary)).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("--html: cannot write {}: {e}", path.display()),
            )
        })?;
        writeln!(
            err,
            "slack-alert: wrote {} messages to {}",
            summary.messages(),
            path.display()
        )?;
    }
    Ok(())
}

/// `slack-alert run`: serves until `wait` returns, then stops cleanly.
pub fn run(
    args: &RunArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    wait: impl FnOnce(),
) -> Result<(), Error> {
    let config = config_file::load(&args.config).map_err(Error::Config)?;
    let described = describe_config(&config);
    let server = Server::start(
        config,
        &args.listen,
        args.limits.clone(),
        Arc::new(StderrLog),
    )
    .map_err(Error::Serve)?;
    if let Some(addr) = server.tcp_addr() {
        writeln!(out, "listening tcp {addr}")?;
    }
    if let Some(addr) = server.http_addr() {
        writeln!(out, "listening http {addr}")?;
    }
    out.flush()?;
    writeln!(err, "slack-alert: running ({described})")?;
    wait();
    writeln!(err, "slack-alert: stopping")?;
    let report = server.stop();
    writeln!(
        err,
        "slack-alert: stopped; served {} connections, skipped {} bad and {} oversized lines",
        report.connections, report.lines_rejected, report.oversized_lines
    )?;
    Ok(())
}

/// `slack-alert send-test`.
pub fn send_test(args: &SendTestArgs, out: &mut dyn Write) -> Result<(), Error> {
    let config = config_file::load(&args.config).map_err(Error::Config)?;
    // Every destination is tried, so one bad webhook does not hide the
    // others; the first failure decides the exit code.
    let mut failed = None;
    for result in send_test::send_test(&config) {
        match result {
            Ok(said) => writeln!(out, "{said}")?,
            Err(e) if failed.is_none() => failed = Some(e),
            Err(e) => writeln!(out, "failed: {e}")?,
        }
    }
    match failed {
        Some(e) => Err(Error::SendTest(e)),
        None => Ok(()),
    }
}

/// The `slack-alert` command line: parses `std::env::args`, runs the
/// command, and answers its exit code (0 ok, 1 runtime failure, 2 bad usage
/// or bad configuration; `import-elastalert` says how much it converted).
pub fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(e) => return fail(&Error::Usage(e)),
    };
    let stdout = io::stdout();
    let stderr = io::stderr();
    let result = match command {
        Command::Help(text) => {
            print!("{text}");
            Ok(())
        }
        Command::Version => {
            println!("slack-alert {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Check(args) => {
            let mut out = io::BufWriter::new(stdout.lock());
            let result = check(&args, &mut out, &mut stderr.lock());
            result.and_then(|()| out.flush().map_err(Error::Io))
        }
        Command::Run(args) => {
            signals::install();
            // Unlocked handles: the engine's threads log to stderr meanwhile.
            run(
                &args,
                &mut io::stdout(),
                &mut io::stderr(),
                signals::wait_for_termination,
            )
        }
        Command::SendTest(args) => send_test(&args, &mut stdout.lock()),
        // Its exit codes say how much was converted (0, 1, 2).
        Command::ImportElastalert(args) => {
            return match import_elastalert::import(&args, &mut stdout.lock(), &mut stderr.lock()) {
                Ok(code) => ExitCode::from(code),
                Err(e) => fail(&Error::Io(e)),
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &Error) -> ExitCode {
    // Output cut short by a reader that has seen enough (`| head`) is no news.
    if !matches!(e, Error::Io(err) if err.kind() == io::ErrorKind::BrokenPipe) {
        let _ = writeln!(io::stderr(), "slack-alert: {e}");
    }
    ExitCode::from(if e.is_bad_usage() { 2 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A configuration file of its own for each test, removed when dropped.
    struct TempConfig(PathBuf);

    impl TempConfig {
        fn new(name: &str, yaml: &str) -> TempConfig {
            let path = std::env::temp_dir()
                .join(format!("slack-alert-lib-{}-{name}.yml", std::process::id()));
            std::fs::write(&path, yaml).unwrap();
            TempConfig(path)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempConfig {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn check_args(config: &Path, input: Option<&Path>) -> CheckArgs {
        let mut argv = vec![
            "check".to_string(),
            "--config".to_string(),
            config.display().to_string(),
        ];
        if let Some(input) = input {
            argv.extend(["--input".to_string(), input.display().to_string()]);
        }
        match cli::parse(argv).unwrap() {
            Command::Check(args) => args,
            _ => panic!("not a check"),
        }
    }

    fn run_check(args: &CheckArgs) -> (String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        check(args, &mut out, &mut err).unwrap();
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    const COORDINATED: &str = "dry_run: true\ndedup_window: 5m\n\
        coordination_hosts: [\"http://127.0.0.1:1\"]\ncoordination_timeout: 100ms\n";

    #[test]
    fn check_says_once_that_it_ignores_coordination() {
        let config = TempConfig::new("coordinated", COORDINATED);
        let lines = TempConfig::new(
            "coordinated-input",
            &[
                r#"{"@timestamp":"2026-11-20T09:00:00Z","log.level":"ERROR","message":"db down"}"#,
                r#"{"@timestamp":"2026-11-20T09:01:00Z","log.level":"ERROR","message":"db down"}"#,
                r#"{"@timestamp":"2026-11-20T09:06:00Z","log.level":"ERROR","message":"db down"}"#,
            ]
            .join("\n"),
        );
        // Replayed node-locally: the unreachable store is never called, one alert, one repeat
        // report and a new alert, as without coordination_hosts.
        let (out, err) = run_check(&check_args(config.path(), Some(lines.path())));
        assert_eq!(err.matches(COORDINATION_IGNORED).count(), 1, "{err}");
        assert!(!err.contains("coordination store"), "{err}");
        let plain = TempConfig::new("plain", "dry_run: true\ndedup_window: 5m\n");
        let (plain_out, plain_err) = run_check(&check_args(plain.path(), Some(lines.path())));
        assert_eq!(out, plain_out, "the same replay as without coordination");
        assert!(!plain_err.contains("coordination"), "{plain_err}");
        // Validating only: the same note, once.
        let (out, err) = run_check(&check_args(config.path(), None));
        assert!(out.starts_with("ok: "), "{out}");
        assert_eq!(err.matches(COORDINATION_IGNORED).count(), 1, "{err}");
    }
}

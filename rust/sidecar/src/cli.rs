//! Command-line arguments. `lexopt` splits them (`--flag=value`,
//! `-cFILE`, `--` before a file named like a flag, paths that are not
//! UTF-8); what each flag means and every message stays here.

use std::ffi::OsString;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use lexopt::{Arg, Parser};

use crate::serve::{Limits, Listen};

/// The TCP port Logstash pipelines conventionally give their `tcp` input.
pub const DEFAULT_TCP_PORT: u16 = 5000;
/// The port of Logstash's `http` input.
pub const DEFAULT_HTTP_PORT: u16 = 8080;

pub const USAGE: &str = "\
slack-alert: Slack alerts for ERROR/FATAL log events, on the slack_alert engine

usage:
  slack-alert check     --config FILE [--input FILE|-] [--json] [--html FILE]
                        [--max-line-bytes N]
  slack-alert run       --config FILE [--tcp ADDR] [--http ADDR] [--max-connections N]
                        [--max-line-bytes N] [--idle-timeout DURATION]
  slack-alert send-test --config FILE
  slack-alert import-elastalert [--to logstash|yaml] [--output FILE] [--partial]
                        RULE.yaml...|DIR
  slack-alert help [COMMAND] | --help | --version

The config file is YAML with the Logstash plugin's option names
(webhook_url, levels, dedup_window, rate_limit, ...); ${VAR} and
${VAR:default} are taken from the environment.

Exit codes: 0 ok, 1 runtime failure (e.g. Slack refused the test message),
2 bad usage or bad configuration.

Run `slack-alert help COMMAND` for one command's flags.
";

pub const CHECK_HELP: &str = "\
slack-alert check --config FILE [--input FILE|-] [--json] [--html FILE]
                  [--max-line-bytes N]

Validates the config (a bad option is named, exit code 2). With --input, runs
every JSON line (what Logstash's json_lines codec receives) through the
engine on the time of each event's @timestamp, posting nothing, and prints
for each matching line what happened (ALERTED, REPEAT, RATE-LIMITED,
DROPPED) and the Slack message it would have sent, then a summary.

A rule in Slack app mode (slack_token) keeps one message per incident
current, so for it check shows each incident's lifecycle in event time: the
message posted (and to which channel), its updates with the count shown,
the replies in its thread, a long stack trace uploaded there, and how it
ends (quiet, or still open at the end of the input). --json has these as
\"slack_app\" steps; --html shows each incident's message as it finally looks.

  --config FILE        the YAML configuration
  --input FILE|-       JSON lines to replay; - reads standard input
  --json               one JSON object per decision, then {\"summary\": ...}
  --html FILE          also write one HTML page showing every message as
                       Slack will (needs --input); open it in a browser
  --max-line-bytes N   longer lines are reported and skipped (default 1048576)

Bad lines (not JSON, not an object, invalid UTF-8, too long) are reported on
standard error with their line number and skipped.
";

pub const RUN_HELP: &str = "\
slack-alert run --config FILE [--tcp ADDR] [--http ADDR] [options]

Runs the alerter: events in, Slack messages out.

  --tcp ADDR               json_lines over TCP (Logstash's tcp output, socket
                           appenders); default 127.0.0.1:5000
  --http ADDR              POST /events (one JSON event, a JSON array or
                           newline-delimited events; answers 202),
                           GET /healthz, GET /metrics (Prometheus);
                           default 127.0.0.1:8080
  --max-connections N      open connections at once, TCP and HTTP together;
                           more are closed at once (default 1024)
  --max-line-bytes N       longest line or request body (default 1048576)
  --idle-timeout DURATION  close connections silent this long (default 5m)

Without --tcp or --http both listen on their defaults; with one, only that
one. ADDR is PORT (on 127.0.0.1) or HOST:PORT: listening on other machines'
reach takes an explicit --tcp 0.0.0.0:5000. Port 0 picks a free port. The
bound addresses are printed as `listening tcp 127.0.0.1:PORT` and
`listening http 127.0.0.1:PORT`. SIGTERM or SIGINT stops accepting, reports
open windows, delivers what is queued within shutdown_timeout, exits 0.
";

pub const SEND_TEST_HELP: &str = "\
slack-alert send-test --config FILE

Posts one clearly marked test message to the configured webhook and says
what Slack answered, e.g. `404 no_service: the webhook was revoked or
mistyped`. Exit code 0 if Slack accepted it, 1 if not.

With slack_token (Slack app mode) it calls auth.test (whose token it is),
posts the test message to the rule's channel (its fallback_channel when the
channel is read from each event) and updates it once, as incidents' messages
are kept current, and says what each call answered, e.g. `missing_scope: the
app lacks the scope chat:write`. Exit code 1 if any call failed. The token is
never printed.
";

pub const IMPORT_HELP: &str = "\
slack-alert import-elastalert [--to logstash|yaml] [--output FILE] [--partial] RULE.yaml...|DIR

Converts ElastAlert / ElastAlert 2 rule files (or every *.yaml, *.yml in a
folder) into this plugin's `rules`: a Logstash `filter { slack_alert {...} }`
block (default) or the sidecar's YAML, validated as `check` validates. The
report on standard error names, per rule, what could not be converted and
why, and which ${VARIABLE} to set for each webhook (URLs are never written).

  --to logstash|yaml   the output's form (default logstash)
  --output FILE        write the rules there instead of standard output
  --partial            convert rules without what cannot be converted,
                       naming each dropped key (default: leave them out)

Exit codes: 0 every rule converted, 1 some left out or partial, 2 bad input
(unreadable file, YAML error with its line, no rules).
";

/// Where `check` reads lines from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckArgs {
    pub config: PathBuf,
    pub input: Option<Input>,
    pub json: bool,
    /// Where `--html` writes the page of the messages.
    pub html: Option<PathBuf>,
    pub max_line_bytes: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunArgs {
    pub config: PathBuf,
    pub listen: Listen,
    pub limits: Limits,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendTestArgs {
    pub config: PathBuf,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Check(CheckArgs),
    Run(RunArgs),
    SendTest(SendTestArgs),
    ImportElastalert(crate::import_elastalert::ImportArgs),
    /// Print this text and exit 0.
    Help(&'static str),
    Version,
}

/// A command line that cannot be used.
///
/// Occurs when a command or flag is unknown, a flag lacks its value, or a
/// value is malformed. The message names the flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = impl Into<OsString>>) -> Result<Command, UsageError> {
    let mut args = Parser::from_args(args);
    let command = match args.next().map_err(lexopt_error)? {
        None => {
            return Err(usage(
                "a command is needed: check, run, send-test or import-elastalert (see --help)",
            ))
        }
        Some(Arg::Long("help") | Arg::Short('h')) => return Ok(Command::Help(USAGE)),
        Some(Arg::Long("version") | Arg::Short('V')) => return Ok(Command::Version),
        Some(Arg::Value(command)) => text("command", command)?,
        Some(flag) => {
            return Err(usage(format!(
                "{}: comes after a command; see --help",
                flag_name(&flag)
            )))
        }
    };
    match command.as_str() {
        "help" => {
            let topic = match args.next().map_err(lexopt_error)? {
                Some(Arg::Value(topic)) => Some(text("help", topic)?),
                _ => None,
            };
            Ok(Command::Help(match topic.as_deref() {
                None => USAGE,
                Some("check") => CHECK_HELP,
                Some("run") => RUN_HELP,
                Some("send-test") => SEND_TEST_HELP,
                Some("import-elastalert") => IMPORT_HELP,
                Some(other) => return Err(usage(format!("no command `{other}`; see --help"))),
            }))
        }
        "check" => parse_check(args),
        "run" => parse_run(args),
        "send-test" => parse_send_test(args),
        "import-elastalert" => parse_import(args),
        other => Err(usage(format!(
            "unknown command `{other}`; the commands are check, run, send-test and import-elastalert"
        ))),
    }
}

/// How the user wrote a flag, for messages.
fn flag_name(arg: &Arg<'_>) -> String {
    match arg {
        Arg::Short(c) => format!("-{c}"),
        Arg::Long(name) => format!("--{name}"),
        Arg::Value(v) => v.to_string_lossy().into_owned(),
    }
}

/// lexopt's own errors, in this command line's words.
fn lexopt_error(e: lexopt::Error) -> UsageError {
    match e {
        lexopt::Error::MissingValue { option: Some(flag) } => {
            usage(format!("{flag}: needs a value"))
        }
        lexopt::Error::UnexpectedValue { option, .. } => usage(format!("{option}: takes no value")),
        other => usage(other.to_string()),
    }
}

/// The value of `flag`, which must be text (paths need not be).
fn value(args: &mut Parser, flag: &str) -> Result<String, UsageError> {
    text(flag, args.value().map_err(lexopt_error)?)
}

fn path(args: &mut Parser) -> Result<PathBuf, UsageError> {
    args.value().map(PathBuf::from).map_err(lexopt_error)
}

fn text(flag: &str, value: OsString) -> Result<String, UsageError> {
    value.into_string().map_err(|v| {
        usage(format!(
            "{flag}: {:?} is not valid UTF-8",
            v.to_string_lossy()
        ))
    })
}

fn required_config(config: Option<PathBuf>, help: &str) -> Result<PathBuf, UsageError> {
    config.ok_or_else(|| {
        usage(format!(
            "--config: is required\n{}",
            help.lines().next().unwrap_or("")
        ))
    })
}

fn parse_check(mut args: Parser) -> Result<Command, UsageError> {
    let mut config = None;
    let mut input = None;
    let mut json = false;
    let mut html = None;
    let mut max_line_bytes = Limits::default().max_line_bytes;
    while let Some(arg) = args.next().map_err(lexopt_error)? {
        match arg {
            Arg::Long("config") | Arg::Short('c') => config = Some(path(&mut args)?),
            Arg::Long("input") | Arg::Short('i') => {
                let v = path(&mut args)?;
                input = Some(if v.as_os_str() == "-" {
                    Input::Stdin
                } else {
                    Input::File(v)
                });
            }
            Arg::Long("json") => json = true,
            Arg::Long("html") => html = Some(path(&mut args)?),
            Arg::Long("max-line-bytes") => {
                max_line_bytes =
                    positive("--max-line-bytes", &value(&mut args, "--max-line-bytes")?)?
            }
            Arg::Long("help") | Arg::Short('h') => return Ok(Command::Help(CHECK_HELP)),
            other => return Err(unknown_flag(&other, "check")),
        }
    }
    if html.is_some() && input.is_none() {
        return Err(usage(
            "--html: needs --input, the lines whose messages the page shows",
        ));
    }
    Ok(Command::Check(CheckArgs {
        config: required_config(config, CHECK_HELP)?,
        input,
        json,
        html,
        max_line_bytes,
    }))
}

fn parse_run(mut args: Parser) -> Result<Command, UsageError> {
    let mut config = None;
    let mut tcp = None;
    let mut http = None;
    let mut limits = Limits::default();
    while let Some(arg) = args.next().map_err(lexopt_error)? {
        match arg {
            Arg::Long("config") | Arg::Short('c') => config = Some(path(&mut args)?),
            Arg::Long("tcp") => tcp = Some(address("--tcp", &value(&mut args, "--tcp")?)?),
            Arg::Long("http") => http = Some(address("--http", &value(&mut args, "--http")?)?),
            Arg::Long("max-connections") => {
                limits.max_connections =
                    positive("--max-connections", &value(&mut args, "--max-connections")?)?
            }
            Arg::Long("max-line-bytes") => {
                limits.max_line_bytes =
                    positive("--max-line-bytes", &value(&mut args, "--max-line-bytes")?)?
            }
            Arg::Long("idle-timeout") => {
                let v = value(&mut args, "--idle-timeout")?;
                limits.idle_timeout = slack_alert_engine::config::parse_duration(&v)
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| {
                        usage(format!(
                            "--idle-timeout: {v:?} is not a duration; use e.g. \"30s\", \"5m\""
                        ))
                    })?;
            }
            Arg::Long("help") | Arg::Short('h') => return Ok(Command::Help(RUN_HELP)),
            other => return Err(unknown_flag(&other, "run")),
        }
    }
    let listen = if tcp.is_none() && http.is_none() {
        Listen {
            tcp: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_TCP_PORT))),
            http: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_HTTP_PORT))),
        }
    } else {
        Listen { tcp, http }
    };
    Ok(Command::Run(RunArgs {
        config: required_config(config, RUN_HELP)?,
        listen,
        limits,
    }))
}

fn parse_import(mut args: Parser) -> Result<Command, UsageError> {
    use crate::import_elastalert::{ImportArgs, Target};
    let mut import = ImportArgs {
        inputs: Vec::new(),
        to: Target::Logstash,
        output: None,
        partial: false,
    };
    while let Some(arg) = args.next().map_err(lexopt_error)? {
        match arg {
            Arg::Long("to") => {
                import.to = match value(&mut args, "--to")?.as_str() {
                    "logstash" => Target::Logstash,
                    "yaml" => Target::Yaml,
                    other => {
                        return Err(usage(format!(
                            "--to: {other:?} is not a target; use logstash or yaml"
                        )))
                    }
                }
            }
            Arg::Long("output") | Arg::Short('o') => import.output = Some(path(&mut args)?),
            Arg::Long("partial") => import.partial = true,
            Arg::Long("help") | Arg::Short('h') => return Ok(Command::Help(IMPORT_HELP)),
            Arg::Value(file) => import.inputs.push(PathBuf::from(file)),
            other => return Err(unknown_flag(&other, "import-elastalert")),
        }
    }
    if import.inputs.is_empty() {
        return Err(usage(
            "import-elastalert: name at least one rule file or folder",
        ));
    }
    Ok(Command::ImportElastalert(import))
}

fn parse_send_test(mut args: Parser) -> Result<Command, UsageError> {
    let mut config = None;
    while let Some(arg) = args.next().map_err(lexopt_error)? {
        match arg {
            Arg::Long("config") | Arg::Short('c') => config = Some(path(&mut args)?),
            Arg::Long("help") | Arg::Short('h') => return Ok(Command::Help(SEND_TEST_HELP)),
            other => return Err(unknown_flag(&other, "send-test")),
        }
    }
    Ok(Command::SendTest(SendTestArgs {
        config: required_config(config, SEND_TEST_HELP)?,
    }))
}

fn unknown_flag(flag: &Arg<'_>, command: &str) -> UsageError {
    let flag = flag_name(flag);
    usage(format!(
        "{flag}: unknown argument to `{command}`; see `slack-alert help {command}`"
    ))
}

fn positive(flag: &str, value: &str) -> Result<usize, UsageError> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            usage(format!(
                "{flag}: must be a whole number above 0, got {value:?}"
            ))
        })
}

/// `PORT` (on 127.0.0.1), `HOST:PORT` or `[V6]:PORT`.
fn address(flag: &str, value: &str) -> Result<SocketAddr, UsageError> {
    if let Ok(port) = value.parse::<u16>() {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some(port) = value.strip_prefix("localhost:") {
        if let Ok(port) = port.parse::<u16>() {
            return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
        }
    }
    if value.parse::<IpAddr>().is_ok() {
        return Err(usage(format!(
            "{flag}: {value:?} needs a port, e.g. {value}:5000"
        )));
    }
    Err(usage(format!(
        "{flag}: {value:?} is not PORT or HOST:PORT (e.g. 5000, 127.0.0.1:5000, 0.0.0.0:5000)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse_str(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().copied())
    }

    #[test]
    fn check_flags() {
        let Command::Check(c) =
            parse_str(&["check", "--config", "a.yml", "--input=-", "--json"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(c.config, PathBuf::from("a.yml"));
        assert_eq!(c.input, Some(Input::Stdin));
        assert!(c.json);
        let Command::Check(c) =
            parse_str(&["check", "--config=a.yml", "--input", "x.jsonl"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(c.input, Some(Input::File("x.jsonl".into())));
        assert!(!c.json);
        assert_eq!(c.html, None);
        let Command::Check(c) =
            parse_str(&["check", "-c", "a.yml", "-i", "x.jsonl", "--html", "p.html"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(c.html, Some(PathBuf::from("p.html")));
    }

    #[test]
    fn run_defaults_to_loopback_on_both_listeners() {
        let Command::Run(r) = parse_str(&["run", "--config", "a.yml"]).unwrap() else {
            panic!()
        };
        assert_eq!(r.listen.tcp, Some("127.0.0.1:5000".parse().unwrap()));
        assert_eq!(r.listen.http, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(r.limits, Limits::default());
        let Command::Run(r) = parse_str(&[
            "run",
            "--config",
            "a.yml",
            "--tcp",
            "0",
            "--max-connections",
            "10",
            "--idle-timeout",
            "30s",
        ])
        .unwrap() else {
            panic!()
        };
        assert_eq!(r.listen.tcp, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(r.listen.http, None);
        assert_eq!(r.limits.max_connections, 10);
        assert_eq!(r.limits.idle_timeout, Duration::from_secs(30));
        let Command::Run(r) = parse_str(&["run", "-c", "a", "--http=0.0.0.0:80"]).unwrap() else {
            panic!()
        };
        assert_eq!(r.listen.http, Some("0.0.0.0:80".parse().unwrap()));
    }

    #[test]
    fn bad_usage_names_the_flag() {
        let cases: &[(&[&str], &str)] = &[
            (&[], "a command is needed"),
            (&["frobnicate"], "unknown command `frobnicate`"),
            (&["check"], "--config: is required"),
            (&["check", "--config"], "--config: needs a value"),
            (
                &["check", "--config", "a", "--html", "p.html"],
                "--html: needs --input",
            ),
            (
                &["check", "--config", "a", "--html"],
                "--html: needs a value",
            ),
            (
                &["check", "--config", "a", "--verbose"],
                "--verbose: unknown argument to `check`",
            ),
            (
                &["run", "--config", "a", "--tcp", "nope"],
                "--tcp: \"nope\" is not PORT",
            ),
            (
                &["run", "--config", "a", "--tcp", "0.0.0.0"],
                "--tcp: \"0.0.0.0\" needs a port",
            ),
            (
                &["run", "--config", "a", "--max-connections", "0"],
                "--max-connections: must be",
            ),
            (
                &["run", "--config", "a", "--idle-timeout", "soon"],
                "--idle-timeout: \"soon\"",
            ),
            (&["send-test"], "--config: is required"),
        ];
        for (args, expected) in cases {
            let e = parse_str(args).expect_err(&format!("{args:?}"));
            assert!(e.0.starts_with(expected), "{args:?}: {e}");
        }
    }

    #[test]
    fn flags_are_split_as_getopt_does() {
        let Command::Check(c) = parse_str(&["check", "-ca.yml", "-i=-"]).unwrap() else {
            panic!()
        };
        assert_eq!(
            (c.config, c.input),
            (PathBuf::from("a.yml"), Some(Input::Stdin))
        );
        let Command::ImportElastalert(i) =
            parse_str(&["import-elastalert", "rules", "--", "--odd.yaml", "-"]).unwrap()
        else {
            panic!()
        };
        let files = ["rules", "--odd.yaml", "-"].map(PathBuf::from);
        assert_eq!(i.inputs, files);
        let e = parse_str(&["check", "--config", "a", "--json=yes"]).unwrap_err();
        assert!(e.0.starts_with("--json: takes no value"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn paths_need_not_be_utf8() {
        use std::os::unix::ffi::OsStringExt;
        let name = OsString::from_vec(b"caf\xe9.yml".to_vec());
        let args = [
            OsString::from("check"),
            OsString::from("--config"),
            name.clone(),
        ];
        let Command::Check(c) = parse(args).unwrap() else {
            panic!()
        };
        assert_eq!(c.config, PathBuf::from(name.clone()));
        let e = parse([OsString::from("run"), OsString::from("--tcp"), name]).unwrap_err();
        assert!(e.0.starts_with("--tcp: \"caf"), "{e}");
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse_str(&["--help"]).unwrap(), Command::Help(USAGE));
        assert_eq!(
            parse_str(&["help", "run"]).unwrap(),
            Command::Help(RUN_HELP)
        );
        assert_eq!(
            parse_str(&["check", "-h"]).unwrap(),
            Command::Help(CHECK_HELP)
        );
        assert_eq!(parse_str(&["--version"]).unwrap(), Command::Version);
    }
}

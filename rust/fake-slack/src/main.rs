//! `fake-slack`: the local Slack webhook receiver as a process, for the demo, shell
//! scripts and Java tests.
//!
//! ```text
//! fake-slack [--listen 127.0.0.1:PORT] [--print] [--rate-limit PER_SEC] [--burst N]
//!                [--exit-on-stdin-eof] [--html FILE]
//! ```
//!
//! Prints `listening http://127.0.0.1:PORT`, then `webhook <url>`, then (with
//! `--print`) each accepted message as text; a Web API message (at
//! `http://127.0.0.1:PORT/api`) under a heading naming its channel, e.g. `#alerts`
//! or `#alerts (edited 1712345678.000100)`. Exits 0 on SIGTERM, SIGINT, or, with
//! `--exit-on-stdin-eof`, when stdin closes — so a parent that dies takes it down.
//! With `--html FILE` it writes, when stdin closes, one HTML page showing every
//! post it received as Slack would have (also served at `GET /_receiver/page`).

use fake_slack::{Options, RateLimit, Receiver};
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

const USAGE: &str = "usage: fake-slack [--listen 127.0.0.1:PORT] [--print] \
[--rate-limit PER_SEC] [--burst N] [--exit-on-stdin-eof] [--html FILE]";

/// Bursts Slack's users measured; used when only `--rate-limit` is given.
const DEFAULT_BURST: u32 = 25;

#[derive(Debug, PartialEq)]
struct Args {
    listen: SocketAddr,
    options: Options,
    exit_on_stdin_eof: bool,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("fake-slack: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    signals::exit_zero_on_term();
    // Hold stdout while starting, so no printed message can come before the two lines
    // a parent process waits for.
    let mut out = io::stdout().lock();
    let receiver = match Receiver::start_at(args.listen, args.options) {
        Ok(receiver) => receiver,
        Err(e) => {
            eprintln!("fake-slack: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let announced = writeln!(out, "listening http://{}", receiver.addr())
        .and_then(|()| writeln!(out, "webhook {}", receiver.webhook_url()))
        .and_then(|()| out.flush());
    drop(out);
    if announced.is_err() {
        return ExitCode::FAILURE;
    }
    if args.exit_on_stdin_eof {
        // Reading to the end returns when the parent closes the pipe or dies.
        let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
        receiver.stop();
        return ExitCode::SUCCESS;
    }
    loop {
        std::thread::park();
    }
}

/// Parses the arguments; `Ok(None)` asks for the usage text.
fn parse_args(
    args: impl IntoIterator<Item = impl Into<std::ffi::OsString>>,
) -> Result<Option<Args>, String> {
    use lexopt::Arg::{Long, Short};

    let mut parsed = Args {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        options: Options::default(),
        exit_on_stdin_eof: false,
    };
    let mut per_second = None;
    let mut burst = None;
    let mut args = lexopt::Parser::from_args(args);
    while let Some(arg) = args.next().map_err(|e| e.to_string())? {
        match arg {
            Long("listen") => parsed.listen = parse_listen(&value(&mut args, "--listen")?)?,
            Long("rate-limit") => {
                let text = value(&mut args, "--rate-limit")?;
                let rate: f64 = text.parse().map_err(|_| {
                    format!("`--rate-limit` must be posts per second, got {text:?}")
                })?;
                per_second = Some(rate);
            }
            Long("burst") => {
                let text = value(&mut args, "--burst")?;
                let n: u32 = text
                    .parse()
                    .map_err(|_| format!("`--burst` must be a whole number, got {text:?}"))?;
                burst = Some(n);
            }
            Long("print") => parsed.options.print = true,
            Long("html") => {
                let html = args
                    .value()
                    .map_err(|_| "`--html` needs a value".to_string())?;
                parsed.options.html = Some(html.into());
            }
            Long("exit-on-stdin-eof") => parsed.exit_on_stdin_eof = true,
            Long("help") | Short('h') => return Ok(None),
            Short(c) => return Err(format!("unknown argument `-{c}`")),
            Long(name) => return Err(format!("unknown argument `--{name}`")),
            lexopt::Arg::Value(v) => {
                return Err(format!("unknown argument `{}`", v.to_string_lossy()))
            }
        }
    }
    if per_second.is_some() || burst.is_some() {
        let limit = RateLimit {
            per_second: per_second.unwrap_or(1.0),
            burst: burst.unwrap_or(DEFAULT_BURST),
        };
        check_limit(&limit)?;
        parsed.options.rate_limit = Some(limit);
    }
    Ok(Some(parsed))
}

/// The value of flag `name`, as text.
fn value(args: &mut lexopt::Parser, name: &str) -> Result<String, String> {
    args.value()
        .map_err(|_| format!("`{name}` needs a value"))?
        .into_string()
        .map_err(|_| format!("`{name}` must be UTF-8"))
}

/// Reads `127.0.0.1:PORT` or just `PORT`.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let addr = match text.parse::<u16>() {
        Ok(port) => SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Err(_) => text
            .parse()
            .map_err(|_| format!("`--listen` must be 127.0.0.1:PORT, got {text:?}"))?,
    };
    match addr {
        SocketAddr::V4(v4) if v4.ip().is_loopback() => Ok(addr),
        _ => Err(format!(
            "`--listen` must be a 127.0.0.1 address, got {addr}"
        )),
    }
}

/// Checks a limit before starting, so a bad one is a usage error (exit 2).
fn check_limit(limit: &RateLimit) -> Result<(), String> {
    if !(limit.per_second.is_finite() && limit.per_second > 0.0) {
        return Err(format!(
            "`--rate-limit` must be a positive number, got {}",
            limit.per_second
        ));
    }
    if limit.burst == 0 {
        return Err("`--burst` must be at least 1".to_string());
    }
    Ok(())
}

mod signals {
    //! Exit 0 on SIGTERM and SIGINT: everything printed was already flushed,
    //! and the kernel closes the sockets.

    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    use signal_hook::consts::{SIGINT, SIGTERM};

    pub(super) fn exit_zero_on_term() {
        let always = Arc::new(AtomicBool::new(true));
        for signal in [SIGINT, SIGTERM] {
            if let Err(e) =
                signal_hook::flag::register_conditional_shutdown(signal, 0, Arc::clone(&always))
            {
                eprintln!("fake-slack: cannot handle signal {signal}: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().copied())
    }

    #[test]
    fn defaults_listen_on_a_free_loopback_port() {
        let args = parse(&[]).unwrap().unwrap();
        assert_eq!(args.listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(args.options.rate_limit, None);
        assert!(!args.options.print && !args.exit_on_stdin_eof);
    }

    #[test]
    fn reads_every_flag() {
        let args = parse(&[
            "--listen",
            "127.0.0.1:8089",
            "--print",
            "--rate-limit=2",
            "--burst",
            "5",
            "--exit-on-stdin-eof",
            "--html=out/page.html",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            args.options.html.as_deref(),
            Some(std::path::Path::new("out/page.html"))
        );
        assert_eq!(args.listen, "127.0.0.1:8089".parse().unwrap());
        assert!(args.options.print && args.exit_on_stdin_eof);
        assert_eq!(
            args.options.rate_limit,
            Some(RateLimit {
                per_second: 2.0,
                burst: 5
            })
        );
        let only_rate = parse(&["--rate-limit", "1"]).unwrap().unwrap();
        assert_eq!(only_rate.options.rate_limit, Some(RateLimit::slack()));
        assert_eq!(
            parse(&["--listen", "9000"]).unwrap().unwrap().listen.port(),
            9000
        );
    }

    #[test]
    fn bad_usage_names_the_flag() {
        assert!(parse(&["--listen", "0.0.0.0:80"])
            .unwrap_err()
            .contains("127.0.0.1"));
        assert!(parse(&["--listen"])
            .unwrap_err()
            .contains("`--listen` needs a value"));
        assert!(parse(&["--rate-limit", "fast"])
            .unwrap_err()
            .contains("`--rate-limit`"));
        assert!(parse(&["--rate-limit", "0"])
            .unwrap_err()
            .contains("`--rate-limit`"));
        assert!(parse(&["--burst", "0"]).unwrap_err().contains("`--burst`"));
        assert!(parse(&["--verbose"]).unwrap_err().contains("`--verbose`"));
        assert_eq!(parse(&["--help"]).unwrap(), None);
    }
}

//! `fake-proxy`: the test middlemen as a process, for Java tests and pytest.
//!
//! ```text
//! fake-proxy forward [--listen 127.0.0.1:PORT] [--user USER:PASSWORD]
//! fake-proxy tls --backend 127.0.0.1:PORT --ca-out DIR [--listen 127.0.0.1:PORT]
//! ```
//!
//! The first line on stdout is the listening address, `127.0.0.1:PORT`.
//! `forward` then prints each request it receives, one a line
//! (`CONNECT 127.0.0.1:4431 tunnelled authenticated`). `tls` writes a new
//! test CA's certificate to `DIR/ca.pem` before its first line, then prints
//! `ca DIR/ca.pem`. Both exit 0 when stdin closes, so a parent that dies
//! takes them down; usage errors exit 2.

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use fake_proxy::{Credentials, ForwardProxy, ProxyOptions, TestCa, TlsFront};

const USAGE: &str = "usage: fake-proxy forward [--listen 127.0.0.1:PORT] [--user USER:PASSWORD]\n\
       fake-proxy tls --backend 127.0.0.1:PORT --ca-out DIR [--listen 127.0.0.1:PORT]";

#[derive(Debug, PartialEq)]
enum Command {
    Forward {
        listen: SocketAddr,
        credentials: Option<Credentials>,
    },
    Tls {
        listen: SocketAddr,
        backend: SocketAddr,
        ca_out: PathBuf,
    },
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args_os().skip(1)) {
        Ok(Some(command)) => command,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("fake-proxy: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-proxy: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> io::Result<()> {
    // Held while starting, so that no request line comes before the address.
    let mut out = io::stdout().lock();
    let running: Box<dyn std::any::Any> = match command {
        Command::Forward {
            listen,
            credentials,
        } => {
            let proxy = ForwardProxy::start_with(
                listen,
                ProxyOptions {
                    credentials,
                    print: true,
                },
            )?;
            writeln!(out, "{}", proxy.addr())?;
            Box::new(proxy)
        }
        Command::Tls {
            listen,
            backend,
            ca_out,
        } => {
            let ca = TestCa::new();
            std::fs::create_dir_all(&ca_out)?;
            let path = ca.write_ca_pem(&ca_out)?;
            let front = TlsFront::start_at(listen, backend, &ca)?;
            writeln!(out, "{}", front.addr())?;
            writeln!(out, "ca {}", path.display())?;
            Box::new(front)
        }
    };
    out.flush()?;
    drop(out);
    // Reading to the end returns when the parent closes the pipe or dies.
    let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
    drop(running);
    Ok(())
}

/// Parses the arguments; `Ok(None)` asks for the usage text.
fn parse_args(
    args: impl IntoIterator<Item = impl Into<OsString>>,
) -> Result<Option<Command>, String> {
    use lexopt::Arg::{Long, Short, Value};

    let mut args = lexopt::Parser::from_args(args);
    let mode = match args.next().map_err(|e| e.to_string())? {
        None => return Err("name a mode: `forward` or `tls`".into()),
        Some(Long("help") | Short('h')) => return Ok(None),
        Some(Value(v)) => v.to_string_lossy().into_owned(),
        Some(Long(name)) => return Err(format!("name a mode before `--{name}`")),
        Some(Short(c)) => return Err(format!("name a mode before `-{c}`")),
    };
    if mode != "forward" && mode != "tls" {
        return Err(format!("unknown mode `{mode}`; use `forward` or `tls`"));
    }
    let mut listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut credentials = None;
    let mut backend = None;
    let mut ca_out = None;
    while let Some(arg) = args.next().map_err(|e| e.to_string())? {
        match arg {
            Long("listen") => listen = parse_loopback("--listen", &value(&mut args, "--listen")?)?,
            Long("user") if mode == "forward" => {
                let text = value(&mut args, "--user")?;
                let (user, password) = text
                    .split_once(':')
                    .ok_or("`--user` must be USER:PASSWORD")?;
                credentials = Some(Credentials {
                    user: user.to_string(),
                    password: password.to_string(),
                });
            }
            Long("backend") if mode == "tls" => {
                backend = Some(parse_loopback(
                    "--backend",
                    &value(&mut args, "--backend")?,
                )?)
            }
            Long("ca-out") if mode == "tls" => {
                ca_out = Some(PathBuf::from(
                    args.value().map_err(|_| "`--ca-out` needs a value")?,
                ))
            }
            Long("help") | Short('h') => return Ok(None),
            Long(name) => return Err(format!("unknown argument `--{name}` for `{mode}`")),
            Short(c) => return Err(format!("unknown argument `-{c}`")),
            Value(v) => return Err(format!("unknown argument `{}`", v.to_string_lossy())),
        }
    }
    Ok(Some(if mode == "forward" {
        Command::Forward {
            listen,
            credentials,
        }
    } else {
        Command::Tls {
            listen,
            backend: backend.ok_or("`tls` needs `--backend 127.0.0.1:PORT`")?,
            ca_out: ca_out.ok_or("`tls` needs `--ca-out DIR`")?,
        }
    }))
}

/// The value of flag `name`, as text.
fn value(args: &mut lexopt::Parser, name: &str) -> Result<String, String> {
    args.value()
        .map_err(|_| format!("`{name}` needs a value"))?
        .into_string()
        .map_err(|_| format!("`{name}` must be UTF-8"))
}

/// Reads `127.0.0.1:PORT` or just `PORT`: loopback only.
fn parse_loopback(flag: &str, text: &str) -> Result<SocketAddr, String> {
    let addr = match text.parse::<u16>() {
        Ok(port) => SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Err(_) => text
            .parse()
            .map_err(|_| format!("`{flag}` must be 127.0.0.1:PORT, got {text:?}"))?,
    };
    match addr {
        SocketAddr::V4(v4) if v4.ip().is_loopback() => Ok(addr),
        _ => Err(format!("`{flag}` must be a 127.0.0.1 address, got {addr}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Command>, String> {
        parse_args(args.iter().copied())
    }

    #[test]
    fn reads_both_modes() {
        assert_eq!(
            parse(&["forward"]).unwrap(),
            Some(Command::Forward {
                listen: "127.0.0.1:0".parse().unwrap(),
                credentials: None
            })
        );
        assert_eq!(
            parse(&["forward", "--listen=3128", "--user", "u:p:q"]).unwrap(),
            Some(Command::Forward {
                listen: "127.0.0.1:3128".parse().unwrap(),
                credentials: Some(Credentials {
                    user: "u".into(),
                    password: "p:q".into()
                })
            })
        );
        assert_eq!(
            parse(&["tls", "--backend", "127.0.0.1:9", "--ca-out", "out/ca"]).unwrap(),
            Some(Command::Tls {
                listen: "127.0.0.1:0".parse().unwrap(),
                backend: "127.0.0.1:9".parse().unwrap(),
                ca_out: "out/ca".into()
            })
        );
        assert_eq!(parse(&["--help"]).unwrap(), None);
        assert_eq!(parse(&["tls", "-h"]).unwrap(), None);
    }

    #[test]
    fn bad_usage_says_what_is_wrong() {
        let err = |args: &[&str]| parse(args).unwrap_err();
        assert!(err(&[]).contains("name a mode"));
        assert!(err(&["reverse"]).contains("unknown mode `reverse`"));
        assert!(err(&["forward", "--user", "nocolon"]).contains("USER:PASSWORD"));
        assert!(err(&["forward", "--listen", "0.0.0.0:80"]).contains("127.0.0.1"));
        assert!(err(&["forward", "--backend", "127.0.0.1:9"]).contains("`--backend`"));
        assert!(err(&["tls", "--ca-out", "d"]).contains("--backend"));
        assert!(err(&["tls", "--backend", "9"]).contains("--ca-out"));
        assert!(err(&["tls", "--backend", "10.0.0.1:80", "--ca-out", "d"]).contains("127.0.0.1"));
    }
}

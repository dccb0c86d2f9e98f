//! The `fake-proxy` binary as Java tests and pytest run it: its address on
//! the first line, gone when stdin closes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};

fn spawn(args: &[&str]) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-proxy"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("fake-proxy starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

fn line(out: &mut BufReader<std::process::ChildStdout>) -> String {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

#[test]
fn forward_prints_its_address_and_each_request_then_exits_on_stdin_eof() {
    let (mut child, mut out) = spawn(&["forward", "--user", "u:p"]);
    let addr: SocketAddr = line(&mut out).parse().expect("an address first");
    assert!(addr.ip().is_loopback());
    let mut client = TcpStream::connect(addr).unwrap();
    client
        .write_all(b"CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    client.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 407 "), "{answer}");
    assert_eq!(line(&mut out), "CONNECT 127.0.0.1:9 407 no-credentials");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn tls_writes_its_ca_before_its_address() {
    let dir = fake_proxy::TestDir::new("fake-proxy-bin").unwrap();
    let ca_dir = dir.path().join("certs");
    let (mut child, mut out) = spawn(&[
        "tls",
        "--backend",
        "127.0.0.1:9",
        "--ca-out",
        ca_dir.to_str().unwrap(),
    ]);
    let addr: SocketAddr = line(&mut out).parse().expect("an address first");
    assert!(addr.ip().is_loopback());
    let ca = ca_dir.join("ca.pem");
    assert_eq!(line(&mut out), format!("ca {}", ca.display()));
    let pem = std::fs::read_to_string(&ca).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn usage_errors_exit_2() {
    let status = Command::new(env!("CARGO_BIN_EXE_fake-proxy"))
        .arg("sideways")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

//! The `fake-slack` binary as a parent process sees it.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fake-slack"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fake-slack")
}

/// Reads the two announcement lines; returns the address and webhook URL.
fn announced(stdout: &mut BufReader<ChildStdout>) -> (SocketAddr, String) {
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let base = first
        .trim_end()
        .strip_prefix("listening http://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    let mut second = String::new();
    stdout.read_line(&mut second).unwrap();
    let url = second
        .trim_end()
        .strip_prefix("webhook ")
        .unwrap_or_else(|| panic!("unexpected second line {second:?}"));
    (base.parse().unwrap(), url.to_string())
}

/// Waits for the child to exit (up to the ceiling); returns its exit code.
fn exit_code(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + common::CEILING;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    None
}

#[test]
fn prints_address_and_messages_then_exits_on_stdin_eof() {
    let mut child = spawn(&["--print", "--exit-on-stdin-eof", "--rate-limit", "5"]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (addr, url) = announced(&mut stdout);
    assert_eq!(url, format!("http://{addr}{}", common::WEBHOOK));

    let answer = common::post(addr, r#"{"text":"disk full on db-1"}"#);
    assert_eq!(answer.status, 200);
    let answer = common::post(addr, r#"{"text":"second alert"}"#);
    assert_eq!(answer.status, 200);
    // Read what was printed on another thread, so a silent child cannot hang the test.
    let (sender, printed) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = sender.send(text);
    });
    drop(child.stdin.take());
    assert_eq!(exit_code(&mut child), Some(0));
    let printed = printed.recv_timeout(common::CEILING).unwrap();
    assert!(printed.contains("disk full on db-1"), "{printed:?}");
    let (first, second) = printed
        .split_once("\n\n")
        .unwrap_or_else(|| panic!("messages should be separated by a blank line: {printed:?}"));
    assert!(first.contains("disk full on db-1") && second.contains("second alert"));
}

#[test]
fn prints_web_api_messages_under_their_channel() {
    let mut child = spawn(&["--print", "--exit-on-stdin-eof"]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (addr, _) = announced(&mut stdout);
    let headers = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Authorization", "Bearer xoxb-demo"),
    ];
    let mut client = common::Client::connect(addr);
    let posted = client.request_with(
        "POST",
        "/api/chat.postMessage",
        &headers,
        br##"{"channel":"#alerts","text":"disk full on db-1"}"##,
    );
    let posted = posted.json();
    let update =
        serde_json::json!({"channel": posted["channel"], "ts": posted["ts"], "text": "resolved"});
    let updated = client.request_with(
        "POST",
        "/api/chat.update",
        &headers,
        update.to_string().as_bytes(),
    );
    assert_eq!(updated.json()["ok"], true);
    let (sender, printed) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = sender.send(text);
    });
    drop(child.stdin.take());
    assert_eq!(exit_code(&mut child), Some(0));
    let printed = printed.recv_timeout(common::CEILING).unwrap();
    let ts = posted["ts"].as_str().unwrap();
    assert_eq!(
        printed,
        format!("#alerts\ndisk full on db-1\n\n#alerts (edited {ts})\nresolved\n")
    );
}

#[cfg(unix)]
#[test]
fn exits_zero_on_sigterm() {
    let mut child = spawn(&[]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (addr, _) = announced(&mut stdout);
    assert_eq!(
        common::request(addr, "GET", "/_receiver/stats", b"").status,
        200
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(exit_code(&mut child), Some(0));
}

#[test]
fn bad_usage_exits_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_fake-slack"))
        .args(["--listen", "0.0.0.0:80"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("127.0.0.1"));
}

"""The webhook URL is a secret: whoever has it can post to the channel.

Each suite checks its own output for the secret path (the Java tests their
logs, exceptions, toString()s and metrics; the Rust tests their log lines;
the sidecar tests the processes' output). These tests go across: they run
every sidecar command, and the Java demo through the real plugin, with one
distinctive secret, in the ways most likely to print it (bad configurations,
Slack refusing, Slack unreachable, a signal), and grep everything printed.
They also grep the reports the Java suites left behind.
"""
import glob
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import ROOT
from sidecar_support import Receiver, event, http_request, write_config

SECRET = "T0LEAKHUNT/B0LEAKHUNT/leakhunt0123456789abcdef"
# Any of these in an output is a leak (Slack's token is the last part).
PARTS = [SECRET, "leakhunt0123456789", "T0LEAKHUNT", "B0LEAKHUNT"]
SAMPLES = sorted(glob.glob(str(ROOT / "logstash-config" / "sample-logs" / "*.jsonl")))


def assert_no_secret(text, what):
    for part in PARTS:
        assert part not in text, f"the webhook's secret leaked into {what}:\n{text[-3000:]}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver(receiver_bin):
    r = Receiver(receiver_bin)
    yield r
    r.stop()


def run(args, env, timeout=60):
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


def test_no_sidecar_command_prints_the_webhook(tmp_path, sidecar, receiver):
    webhook = f"{receiver.base}/services/{SECRET}"
    env = dict(os.environ, SECRET_WEBHOOK=webhook)
    good = dict(webhook_url="${SECRET_WEBHOOK}", allow_custom_webhook=True, timeout="1s", shutdown_timeout="3s")
    config = write_config(tmp_path / "good.yml", **good)
    outputs = {}

    # check: validate, replay (text and JSON), and bad configurations of every kind.
    outputs["check"] = run([str(sidecar), "check", "--config", str(config)], env)
    outputs["check --input"] = run([str(sidecar), "check", "--config", str(config), "--input", *SAMPLES[:1]], env)
    outputs["check --json"] = run(
        [str(sidecar), "check", "--config", str(config), "--json", "--input", *SAMPLES[:1]], env
    )
    bad_configs = {
        "not slack, no opt-in": dict(webhook_url="${SECRET_WEBHOOK}"),
        "no scheme": dict(webhook_url=f"hooks.slack.com/services/{SECRET}"),
        "http slack": dict(webhook_url=f"http://hooks.slack.com/services/{SECRET}"),
        "ftp": dict(webhook_url=f"ftp://hooks.slack.com/services/{SECRET}", allow_custom_webhook=True),
        "bad option": dict(good, rate_limit=-1),
        "secret in the wrong option": dict(good, channel=f"https://hooks.slack.com/services/{SECRET}", burst="x"),
        "unknown option": dict(good, webhok_url="${SECRET_WEBHOOK}"),
        "webhook of the wrong type": dict(webhook_url=[webhook]),
    }
    for name, options in bad_configs.items():
        code, out = run([str(sidecar), "check", "--config", str(write_config(tmp_path / "bad.yml", **options))], env)
        outputs[f"check: {name}"] = (code, out)
        assert code == 2, (name, out)

    # send-test: accepted, refused with Slack's error, failing, hanging, unreachable.
    for mode in [
        None,
        {"mode": "status", "status": 404, "error": "no_service"},
        {"mode": "status", "status": 500},
        {"mode": "status", "status": 429, "retry_after": 1},
        {"mode": "hang"},
        {"mode": "close"},
    ]:
        if mode:
            receiver.set_mode(mode)
        outputs[f"send-test {mode}"] = run([str(sidecar), "send-test", "--config", str(config)], env)
    receiver.set_mode({"mode": "ok"})
    unreachable = dict(env, SECRET_WEBHOOK=f"http://127.0.0.1:{free_port()}/services/{SECRET}")
    outputs["send-test unreachable"] = run([str(sidecar), "send-test", "--config", str(config)], unreachable)
    tls = dict(env, SECRET_WEBHOOK=webhook.replace("http://", "https://"))
    outputs["send-test TLS failure"] = run([str(sidecar), "send-test", "--config", str(config)], tls)

    # run: Slack refusing, metrics, health, a signal with alerts undelivered.
    receiver.set_mode({"mode": "status", "status": 404, "error": "no_service"})
    proc = subprocess.Popen(
        [str(sidecar), "run", "--config", str(config), "--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        lines = []
        while not any(line.startswith("listening http ") for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        http = "http://" + [line for line in lines if line.startswith("listening http ")][0].split()[-1]
        body = json.dumps([event("ERROR", f"failure {w}") for w in ["alpha", "beta"]])
        assert http_request("POST", f"{http}/events", body)[0] == 202
        deadline = time.monotonic() + 15
        metrics = ""
        while "slack_alert_send_failures_total 0" in metrics or not metrics:
            assert time.monotonic() < deadline, metrics
            metrics = http_request("GET", f"{http}/metrics")[1]
            time.sleep(0.05)
        receiver.set_mode({"mode": "hang"})
        outputs["run /metrics"] = (0, metrics)
        outputs["run /healthz"] = http_request("GET", f"{http}/healthz")
        outputs["run POST garbage"] = http_request("POST", f"{http}/events", b"\xff{not json")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        outputs["run"] = (proc.returncode, "".join(lines) + out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "no_service" in outputs["run"][1], outputs["run"][1]

    for what, (_, text) in outputs.items():
        assert_no_secret(text, f"`slack-alert {what}`")


def demo_classpath():
    """The demo's classes and its run-time class path as Maven resolved it (scripts/test writes it)."""
    classes = ROOT / "java-shim" / "demo" / "target" / "classes"
    listed = ROOT / "java-shim" / "demo" / "target" / "classpath.txt"
    missing = [str(p) for p in (classes, listed) if not p.exists()]
    if missing:
        pytest.skip(f"the Java demo is not built ({', '.join(missing)}): run scripts/test first")
    return os.pathsep.join([str(classes), listed.read_text().strip()])


def test_the_java_demo_through_the_real_plugin_never_prints_the_webhook(tmp_path, receiver):
    classpath = demo_classpath()
    demo = ["java", "-cp", classpath, "io.slackalert.logstash.demo.Demo", "--flush-seconds", "1"]
    fast = ["--set", "shutdown_timeout=1s", "--set", "timeout=1s", "--set", "dedup_window=1s"]
    webhook = f"{receiver.base}/services/{SECRET}"
    env = dict(os.environ, SECRET_WEBHOOK=webhook)
    secret_url = ["--set", "webhook_url=${SECRET_WEBHOOK}"]
    outputs = {}

    custom = [*secret_url, "--set", "allow_custom_webhook=true", *fast]
    outputs["delivered"] = run([*demo, *custom, *SAMPLES], env)
    assert outputs["delivered"][0] == 0, outputs["delivered"][1]
    assert receiver.messages(), "the demo posted nothing"
    receiver.set_mode({"mode": "status", "status": 404, "error": "no_service"})
    outputs["404"] = run([*demo, *custom, *SAMPLES], env)
    assert "no_service" in outputs["404"][1], outputs["404"][1]
    receiver.set_mode({"mode": "ok"})
    unreachable = dict(env, SECRET_WEBHOOK=f"http://127.0.0.1:{free_port()}/services/{SECRET}")
    outputs["unreachable"] = run([*demo, *custom, *SAMPLES], unreachable)
    tls = dict(env, SECRET_WEBHOOK=webhook.replace("http://", "https://"))
    outputs["TLS failure"] = run([*demo, *custom, *SAMPLES], tls)
    outputs["not slack, no opt-in"] = run([*demo, *secret_url, *fast, *SAMPLES], env)
    assert outputs["not slack, no opt-in"][0] == 2, outputs["not slack, no opt-in"][1]
    outputs["bad option"] = run([*demo, *custom, "--set", "rate_limit=-1", *SAMPLES], env)
    assert outputs["bad option"][0] == 2, outputs["bad option"][1]
    # Slack itself: unreachable without a network, or a 404 for the made-up token with one.
    slack = dict(env, SECRET_WEBHOOK=f"https://hooks.slack.com/services/{SECRET}")
    outputs["Slack"] = run([*demo, *secret_url, *fast, *SAMPLES], slack)

    for what, (_, text) in outputs.items():
        assert_no_secret(text, f"the Java demo ({what})")


def test_the_java_suites_reports_show_no_secret():
    """What the JUnit suites printed and reported (surefire), e.g. FaultTest's logged lines."""
    reports = glob.glob(str(ROOT / "java-shim" / "*" / "target" / "surefire-reports" / "*"))
    if not reports:
        pytest.skip("no JUnit reports: run scripts/test or mvn verify first")
    java_secrets = ["xoxSECRETtoken0123456789", "T0SECRET/B0SECRET", "testtoken0123456789"]
    for path in reports:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for secret in java_secrets:
            assert secret not in text, f"{secret} in {path}"

"""The webhook URL and the bot token are secrets: whoever has one can post to the channel.

Each suite checks its own output for the secret path (the Java tests their
logs, exceptions, toString()s and metrics; the Rust tests their log lines;
the sidecar tests the processes' output). These tests go across: they run
every sidecar command, and the Java demo through the real plugin, with one
distinctive secret, in the ways most likely to print it (bad configurations,
Slack refusing, Slack unreachable, a signal), and grep everything printed.
They also grep the reports the Java suites left behind. App mode's `slack_token`
is hunted the same way, against the fake Slack's Web API (refusing the token,
hanging, unreachable).
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


# App mode: a bot token (its secret is all but the `xoxb-` prefix Slack publishes).
TOKEN_SECRET = "1-2-leakhuntTOKEN0123456789abcdef"
TOKEN = "xoxb-" + TOKEN_SECRET


def assert_no_secret(text, what, parts=PARTS, secret="the webhook's secret"):
    for part in parts:
        assert part not in text, f"{secret} leaked into {what}:\n{text[-3000:]}"


def assert_no_token(text, what):
    assert_no_secret(text, what, parts=[TOKEN_SECRET, "leakhuntTOKEN"], secret="the bot token")


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


def run_until_refused(sidecar, config, env, hang):
    """`slack-alert run` while Slack refuses: two alerts posted over HTTP until /metrics counts the
    failures; /metrics, /healthz and a garbage POST read; then `hang()` and a SIGTERM with alerts
    undelivered. Returns what each printed or answered, as `outputs` entries."""
    outputs = {}
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
        hang()
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
    return outputs


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
    outputs.update(run_until_refused(sidecar, config, env, hang=lambda: receiver.set_mode({"mode": "hang"})))
    assert "no_service" in outputs["run"][1], outputs["run"][1]

    for what, (_, text) in outputs.items():
        assert_no_secret(text, f"`slack-alert {what}`")


def api_control(receiver, path, body):
    """POSTs `body` to the fake Slack's Web API control `/_receiver/api/<path>`."""
    return receiver.control("POST", f"api/{path}", json.dumps(body))


def test_no_sidecar_command_prints_the_slack_token(tmp_path, sidecar, receiver):
    env = dict(os.environ, SECRET_TOKEN=TOKEN)
    api = f"{receiver.base}/api"
    good = dict(slack_token="${SECRET_TOKEN}", slack_api_url=api, allow_custom_webhook=True, channel="#alerts",
                timeout="1s", shutdown_timeout="3s")
    config = write_config(tmp_path / "app.yml", **good)
    outputs = {}

    outputs["check"] = run([str(sidecar), "check", "--config", str(config)], env)
    assert outputs["check"][0] == 0, outputs["check"][1]
    outputs["check --json"] = run(
        [str(sidecar), "check", "--config", str(config), "--json", "--input", *SAMPLES[:1]], env
    )
    bad_configs = {
        "token and webhook": dict(good, webhook_url="https://hooks.slack.com/services/T0/B0/x"),
        "custom API, no opt-in": dict(good, allow_custom_webhook=False),
        "not a bot token": dict(good, slack_token="xoxp-" + TOKEN_SECRET),
        "token of the wrong type": dict(good, slack_token=[TOKEN]),
        "no channel": {k: v for k, v in good.items() if k != "channel"},
        "template without fallback": dict(good, channel="#alerts-%{[service.name]}"),
        "token in the wrong option": dict(good, fallback_channel=TOKEN + "!"),
        "bad option": dict(good, update_interval="0s"),
    }
    for name, options in bad_configs.items():
        code, out = run([str(sidecar), "check", "--config", str(write_config(tmp_path / "bad.yml", **options))], env)
        outputs[f"check: {name}"] = (code, out)
        assert code == 2, (name, out)
    outputs["send-test"] = run([str(sidecar), "send-test", "--config", str(config)], env)

    # run: the Web API refusing the token, then hanging; and unreachable.
    api_control(receiver, "tokens", {"token": TOKEN, "state": "revoked"})
    hang = lambda: api_control(receiver, "errors", {"method": "chat.postMessage", "mode": {"mode": "hang"}})
    outputs.update(run_until_refused(sidecar, config, env, hang))
    assert "token_revoked" in outputs["run"][1], outputs["run"][1]
    api_control(receiver, "errors", {"clear": True})
    unreachable = write_config(tmp_path / "unreachable.yml",
                               **dict(good, slack_api_url=f"http://127.0.0.1:{free_port()}/api", max_retries=0))
    outputs.update({f"{k} (unreachable)": v for k, v in run_until_refused(sidecar, unreachable, env, lambda: None).items()})

    for what, (_, text) in outputs.items():
        assert_no_token(text, f"`slack-alert {what}`")


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


def test_the_java_demo_in_app_mode_never_prints_the_slack_token(receiver):
    demo = ["java", "-cp", demo_classpath(), "io.slackalert.logstash.demo.Demo", "--flush-seconds", "1"]
    fast = ["--set", "shutdown_timeout=1s", "--set", "timeout=1s", "--set", "dedup_window=1s"]
    env = dict(os.environ, SECRET_TOKEN=TOKEN)
    app = ["--set", "slack_token=${SECRET_TOKEN}", "--set", "channel=#alerts"]
    custom = [*app, "--set", f"slack_api_url={receiver.base}/api", "--set", "allow_custom_webhook=true", *fast]
    outputs = {}

    outputs["delivered"] = run([*demo, *custom, *SAMPLES], env)
    assert outputs["delivered"][0] == 0, outputs["delivered"][1]
    channel = receiver.control("GET", "api/channels/alerts")
    assert channel["messages"], "the demo posted nothing"
    api_control(receiver, "tokens", {"token": TOKEN, "state": "revoked"})
    outputs["revoked"] = run([*demo, *custom, *SAMPLES], env)
    assert "token_revoked" in outputs["revoked"][1], outputs["revoked"][1]
    api_control(receiver, "tokens", {"token": TOKEN, "scopes": ["files:write"]})
    outputs["missing_scope"] = run([*demo, *custom, *SAMPLES], env)
    assert "missing_scope" in outputs["missing_scope"][1], outputs["missing_scope"][1]
    unreachable = [*app, "--set", f"slack_api_url=http://127.0.0.1:{free_port()}/api", "--set",
                   "allow_custom_webhook=true", *fast]
    outputs["unreachable"] = run([*demo, *unreachable, *SAMPLES], env)
    outputs["not slack, no opt-in"] = run([*demo, *app, "--set", f"slack_api_url={receiver.base}/api", *fast,
                                           *SAMPLES], env)
    assert outputs["not slack, no opt-in"][0] == 2, outputs["not slack, no opt-in"][1]
    outputs["not a bot token"] = run([*demo, *custom, "--set", "slack_token=xoxp-" + TOKEN_SECRET, *SAMPLES], env)
    assert outputs["not a bot token"][0] == 2, outputs["not a bot token"][1]
    outputs["dry run"] = run([*demo, *custom, "--set", "dry_run=true", *SAMPLES], env)
    assert "would post" in outputs["dry run"][1], outputs["dry run"][1]

    for what, (_, text) in outputs.items():
        assert_no_token(text, f"the Java demo in app mode ({what})")


def test_the_java_suites_reports_show_no_secret():
    """What the JUnit suites printed and reported (surefire), e.g. FaultTest's logged lines."""
    reports = glob.glob(str(ROOT / "java-shim" / "*" / "target" / "surefire-reports" / "*"))
    if not reports:
        pytest.skip("no JUnit reports: run scripts/test or mvn verify first")
    java_secrets = ["xoxSECRETtoken0123456789", "T0SECRET/B0SECRET", "testtoken0123456789",
                    # AppModeTest's bot token.
                    "LEAKTESTappToken0123456789"]
    for path in reports:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for secret in java_secrets:
            assert secret not in text, f"{secret} in {path}"

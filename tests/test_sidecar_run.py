"""`slack-alert run` and `slack-alert send-test` against the local Slack receiver.

Every test runs the release binaries: the receiver (`fake-slack`) stands in
for Slack, the sidecar posts to its webhook (`allow_custom_webhook: true`).
The sender paces posts to one a second, as Slack asks, so tests keep the
number of messages small. No output of the sidecar may contain the webhook's
secret path (checked by the `start_sidecar` fixture and below).
"""
import json
import os
import re
import resource
import signal
import socket
import subprocess
import threading
import time

import pytest

from sidecar_support import WEBHOOK_SECRET, event, http_request, json_line, write_config

ENGINE_COUNTERS = [
    "events",
    "matched",
    "alerts",
    "repeats",
    "rate_limited",
    "dropped",
    "evicted",
    "sent",
    "send_failures",
    "retries",
    "internal_errors",
]


@pytest.fixture(autouse=True, scope="module")
def enough_file_descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048 <= hard or (soft < 2048 and hard == resource.RLIM_INFINITY):
        resource.setrlimit(resource.RLIMIT_NOFILE, (2048, hard))
    yield


def config_for(tmp_path, receiver, **options):
    """A fast config posting to `receiver`; the webhook comes from ${TEST_WEBHOOK}."""
    settings = dict(
        webhook_url="${TEST_WEBHOOK}",
        allow_custom_webhook=True,
        dedup_window="1h",
        rate_limit=600,
        burst=20,
        timeout="2s",
        max_retries=0,
        shutdown_timeout="10s",
    )
    settings.update(options)
    return write_config(tmp_path / "run.yml", **settings), dict(os.environ, TEST_WEBHOOK=receiver.webhook)


def texts(messages):
    return [m["text"] for m in messages]


# How long a test waits for something that should happen: far past what a
# loaded CI machine needs; it runs out only when the thing never happens.
CEILING_S = 60.0


def wait_until(what, condition, timeout=CEILING_S):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


PROBLEMS = ["db down", "disk full", "queue stuck", "cache cold"]


def client_events(client):
    """100 events: an error every 4th (cycling through PROBLEMS), INFO otherwise."""
    out = []
    for j in range(100):
        if j % 4 == 0:
            out.append(event("ERROR", PROBLEMS[(client + j // 4) % len(PROBLEMS)], client=client))
        else:
            out.append(event("INFO", f"request {j} ok", client=client))
    return out


def test_tcp_and_http_clients_concurrently(tmp_path, fake_slack, start_sidecar):
    config, env = config_for(tmp_path, fake_slack)
    app = start_sidecar(config, env=env)
    errors = []

    def tcp_client(client, chunk):
        try:
            data = b"".join(json_line(e) for e in client_events(client))
            with app.tcp_client() as s:
                for i in range(0, len(data), chunk):
                    s.sendall(data[i : i + chunk])
        except Exception as e:  # reported by the main thread
            errors.append(e)

    def http_client(client, style):
        try:
            events = client_events(client)
            if style == "single":
                bodies = [json.dumps(e) for e in events]
            elif style == "ndjson":
                bodies = ["\n".join(json.dumps(e) for e in events[i : i + 10]) + "\n" for i in range(0, 100, 10)]
            else:
                bodies = [json.dumps(events[i : i + 20]) for i in range(0, 100, 20)]
            for body in bodies:
                status, answer = app.post_events(body)
                expected = len(json.loads(body)) if style == "array" else body.count("{\"@timestamp\"")
                assert (status, answer) == (202, {"accepted": expected, "rejected": 0}), (status, answer)
        except Exception as e:
            errors.append(e)

    threads = [
        threading.Thread(target=tcp_client, args=(0, 1 << 20)),
        threading.Thread(target=tcp_client, args=(1, 7)),
        threading.Thread(target=tcp_client, args=(2, 1000)),
        threading.Thread(target=http_client, args=(3, "single")),
        threading.Thread(target=http_client, args=(4, "ndjson")),
        threading.Thread(target=http_client, args=(5, "array")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=CEILING_S)
    assert not errors, errors
    app.wait_for_metric("slack_alert_events_total", 600)

    # One alert per problem, whichever client sent it first; everything else repeats.
    got = fake_slack.wait_for_messages(4)
    assert sorted(texts(got)) == sorted(f"ERROR in shop: {p}" for p in PROBLEMS)
    assert all(m["attachments"][0]["color"] == "#d00000" for m in got)
    # Exactly four decided (the counters below), so exactly four posted: no sleep to wait for a fifth.
    assert len(fake_slack.messages()) == 4
    assert fake_slack.control("GET", "violations") == []
    assert app.metric("slack_alert_matched_total") == 150
    assert app.metric("slack_alert_alerts_total") == 4
    assert app.metric("slack_alert_repeats_total") == 146
    assert app.metric("slack_alert_sent_total") == 4
    assert app.metric("slack_alert_lines_rejected_total") == 0
    assert app.metric('slack_alert_connections_total{listener="tcp"}') == 3

    assert app.terminate() == 0
    output = app.output()
    assert WEBHOOK_SECRET not in output
    # Stopping reports the open windows: four repeat reports, paced.
    final = fake_slack.wait_for_messages(8)
    assert sorted(t.split(":")[0] for t in texts(final[4:])) == ["🔁 ERROR repeated 36 more times in shop"] * 2 + [
        "🔁 ERROR repeated 37 more times in shop"
    ] * 2


METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


def parse_prometheus(text):
    """A strict reader of the text exposition format 0.0.4: every line is a
    HELP, a TYPE or a sample; every sample's family has HELP and TYPE first;
    families are contiguous; no sample repeats. Returns {(name, labels): value}."""
    assert text.endswith("\n")
    help_, types, samples = {}, {}, {}
    finished, current = set(), None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, doc = line[len("# HELP ") :].partition(" ")
            assert METRIC_NAME.fullmatch(name) and doc, line
            assert name not in help_, f"second HELP for {name}"
            help_[name] = doc
            continue
        if line.startswith("# TYPE "):
            name, _, kind = line[len("# TYPE ") :].partition(" ")
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name in help_ and name not in types, line
            types[name] = kind
            continue
        assert not line.startswith("#") and line.strip() == line and line, f"stray line {line!r}"
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.groups()
        assert name in types, f"{name} has no TYPE before its samples"
        if name != current:
            assert name not in finished, f"{name}'s samples are not together"
            if current:
                finished.add(current)
            current = name
        parsed = ()
        if labels:
            inner = labels[1:-1]
            pairs = LABEL.findall(inner)
            assert ",".join(f'{k}="{v}"' for k, v in pairs) == inner, f"bad labels {labels}"
            parsed = tuple(pairs)
        number = float(value)
        if types[name] == "counter":
            assert name.endswith("_total") and number >= 0, line
        assert (name, parsed) not in samples, f"duplicate sample {line}"
        samples[(name, parsed)] = number
    assert set(types) == {name for name, _ in samples}, "a family without samples"
    return samples


def test_metrics_parse_as_prometheus_text(tmp_path, fake_slack, start_sidecar):
    config, env = config_for(tmp_path, fake_slack)
    app = start_sidecar(config, env=env)
    with app.tcp_client() as s:
        s.sendall(json_line(event("ERROR", "boom")) + json_line(event("INFO", "fine")) + b"not json\n")
    app.wait_for_metric("slack_alert_events_total", 2)
    app.wait_for_metric("slack_alert_lines_rejected_total", 1)
    status, _ = http_request("GET", f"{app.http}/healthz")
    assert status == 200

    with socket.create_connection(_http_addr(app)) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n" in head
    samples = parse_prometheus(body.decode())
    for name in ENGINE_COUNTERS:
        assert (f"slack_alert_{name}_total", ()) in samples, name
    assert samples[("slack_alert_events_total", ())] == 2
    assert samples[("slack_alert_matched_total", ())] == 1
    assert samples[("slack_alert_alerts_total", ())] == 1
    assert samples[("slack_alert_lines_rejected_total", ())] == 1
    assert samples[("slack_alert_connections_total", (("listener", "tcp"),))] == 1
    assert samples[("slack_alert_open_connections", ())] >= 1
    # The parser is strict: a broken exposition is refused.
    for broken in [
        "x_total 1\n",
        "# HELP a_total a\n# TYPE a_total counter\na_total one\n",
        "# HELP a_total a\n# TYPE a_total counter\na_total{l=x} 1\n",
        "# HELP a_total a\n# TYPE a_total counter\na_total 1\na_total 2\n",
    ]:
        with pytest.raises((AssertionError, ValueError)):
            parse_prometheus(broken)


def _http_addr(app):
    host, port = app.http[len("http://") :].rsplit(":", 1)
    return host, int(port)


@pytest.mark.parametrize(
    "signal_number, options, sent, expected",
    [
        # A long window is still open at stop: its repeats are reported then.
        (
            signal.SIGTERM,
            dict(rate_limit=60, burst=5),
            ["alpha", "alpha", "alpha", "beta"],
            ["ERROR in shop: alpha", "ERROR in shop: beta", "🔁 ERROR repeated 2 more times in shop: ERROR: alpha"],
        ),
        # Over the rate limit: the held-back alert and the repeats go into one summary.
        (
            signal.SIGINT,
            dict(rate_limit=1, burst=2),
            ["alpha", "alpha", "alpha", "beta", "gamma"],
            ["ERROR in shop: alpha", "ERROR in shop: beta", "slack_alert summary: 3 events since"],
        ),
    ],
)
def test_stopping_delivers_pending_reports_and_exits_0(
    tmp_path, fake_slack, start_sidecar, signal_number, options, sent, expected
):
    config, env = config_for(tmp_path, fake_slack, **options)
    app = start_sidecar(config, env=env)
    with app.tcp_client() as s:
        s.sendall(b"".join(json_line(event("ERROR", m)) for m in sent))
    app.wait_for_metric("slack_alert_matched_total", len(sent))
    app.proc.send_signal(signal_number)
    assert app.proc.wait(timeout=CEILING_S) == 0
    # Everything reached the receiver before the process exited.
    got = texts(fake_slack.messages())
    assert len(got) == len(expected), got
    for text, prefix in zip(got, expected):
        assert text.startswith(prefix), (text, prefix)
    output = app.output()
    assert "slack-alert: stopping" in output
    assert "nothing left undelivered" in output
    assert WEBHOOK_SECRET not in output
    if signal_number == signal.SIGINT:
        summary = json.dumps(fake_slack.messages()[-1], ensure_ascii=False)
        assert "*1* alert not posted individually (rate limit)" in summary
        assert "*2* repeats of alerts already posted" in summary


def test_a_second_signal_while_stopping_exits_at_once(tmp_path, fake_slack, start_sidecar):
    # Slack hangs and shutdown_timeout is long: a graceful stop would outlast the ceiling.
    config, env = config_for(tmp_path, fake_slack, timeout="5m", shutdown_timeout="10m")
    fake_slack.set_mode({"mode": "hang"})
    app = start_sidecar(config, env=env)
    with app.tcp_client() as s:
        s.sendall(json_line(event("ERROR", "stuck")))
    app.wait_for_metric("slack_alert_matched_total", 1)
    app.proc.send_signal(signal.SIGTERM)
    app.err.wait_for("slack-alert: stopping")
    app.proc.send_signal(signal.SIGINT)
    assert app.proc.wait(timeout=CEILING_S) == 1


def test_hostile_clients_do_not_hurt_a_good_one(tmp_path, fake_slack, start_sidecar):
    config, env = config_for(tmp_path, fake_slack)
    app = start_sidecar(config, "--max-line-bytes", "4096", "--idle-timeout", "300s", env=env)
    stop = threading.Event()
    sockets = []

    # 500 connections that never send anything.
    for _ in range(500):
        sockets.append(app.tcp_client())
    app.wait_for_metric("slack_alert_open_connections", 500)

    def flood(make_chunk, limit_bytes):
        sent = 0
        try:
            with app.tcp_client() as s:
                while not stop.is_set() and sent < limit_bytes:
                    chunk = make_chunk()
                    s.sendall(chunk)
                    sent += len(chunk)
                stop.wait(30)
        except OSError:
            pass

    floods = [
        # A line that never ends.
        threading.Thread(target=flood, args=(lambda: b"x" * 65536, 64 << 20)),
        # Oversized lines, each with its newline.
        threading.Thread(target=flood, args=(lambda: b'{"log.level":"ERROR","message":"' + b"y" * 100_000 + b'"}\n', 64 << 20)),
        # Garbage bytes: invalid UTF-8, NULs, random newlines.
        threading.Thread(target=flood, args=(lambda: os.urandom(65536), 64 << 20)),
    ]
    for t in floods:
        t.start()
    # An HTTP client that announces a body and never sends it.
    slow_http = socket.create_connection(_http_addr(app))
    slow_http.sendall(b"POST /events HTTP/1.1\r\nContent-Length: 100000\r\n\r\n{\"log.level\":")
    # An HTTP body over the cap is refused with 413, not buffered.
    status, answer = app.post_events(b"[" + b"1," * 10_000 + b"1]")
    assert status == 413, answer
    app.wait_for_metric("slack_alert_oversized_lines_total", 2)
    app.wait_for_metric("slack_alert_lines_rejected_total", 1)

    # The good client, over TCP and then over HTTP, is served while the floods go on (how
    # soon its alert reaches Slack under them is measured by `scripts/bench sidecar-faults`).
    for how in ("tcp", "http"):
        text = f"good {how} event"
        if how == "tcp":
            with app.tcp_client() as s:
                s.sendall(json_line(event("ERROR", text)))
        else:
            assert app.post_events(json.dumps(event("ERROR", text)))[0] == 202
        wait_until(text, lambda: f"ERROR in shop: {text}" in texts(fake_slack.messages()))
    assert texts(fake_slack.messages()) == ["ERROR in shop: good tcp event", "ERROR in shop: good http event"]
    assert app.metric("slack_alert_open_connections") >= 500
    assert app.metric("slack_alert_alerts_total") == 2

    stop.set()
    for t in floods:
        t.join(timeout=CEILING_S)
    # Stopping does not wait for the idle and the stuck clients: they would stay until the
    # 300 s idle timeout, so an exit within the ceiling means they were not waited for.
    assert app.terminate(timeout=CEILING_S) == 0
    for s in sockets:
        s.close()
    slow_http.close()


def test_connection_limit_closes_new_connections_at_once(tmp_path, fake_slack, start_sidecar):
    config, env = config_for(tmp_path, fake_slack)
    app = start_sidecar(config, "--max-connections", "20", env=env)
    idle = [app.tcp_client() for _ in range(19)]
    app.wait_for_metric("slack_alert_open_connections", 20)  # the 19, and this request
    app.wait_for_connections(19)  # the request's connection has given its slot back
    # Accepted in order: the 20th takes the last slot, the 21st is closed.
    idle.append(app.tcp_client())
    refused = app.tcp_client()
    # Closed, not held open: an open one would send nothing and never close (recv times out).
    refused.settimeout(CEILING_S)
    assert refused.recv(1) == b""
    refused.close()
    for s in idle[:5]:
        s.close()
    app.wait_for_connections(15)  # the server has seen them go
    assert app.metric("slack_alert_connections_refused_total") == 1
    with app.tcp_client() as s:
        s.sendall(json_line(event("ERROR", "still served")))
    assert texts(fake_slack.wait_for_messages(1)) == ["ERROR in shop: still served"]
    for s in idle[5:]:
        s.close()


def test_idle_connections_are_closed(tmp_path, fake_slack, start_sidecar):
    config, env = config_for(tmp_path, fake_slack)
    app = start_sidecar(config, "--idle-timeout", "500ms", env=env)
    s = app.tcp_client()
    s.settimeout(CEILING_S)  # closed by the 500 ms idle timeout, long before the 300 s default
    started = time.monotonic()
    assert s.recv(1) == b""
    assert time.monotonic() - started > 0.4, "closed before the idle timeout"
    s.close()
    app.err.wait_for(r"nothing received for 0.5s; connection closed")


def test_run_refuses_a_bad_config_and_a_busy_port(tmp_path, sidecar, fake_slack):
    bad = write_config(tmp_path / "bad.yml", dry_run=True, burst=0)
    done = subprocess.run([str(sidecar), "run", "--config", str(bad), "--tcp", "0"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith("slack-alert: burst: must be a whole number from 1 to 1000")

    ok = write_config(tmp_path / "ok.yml", dry_run=True)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [str(sidecar), "run", "--config", str(ok), "--tcp", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=CEILING_S,
        )
    assert done.returncode == 1
    assert done.stderr.startswith(f"slack-alert: --tcp: cannot listen on 127.0.0.1:{port}: ")


def send_test(sidecar, config, env):
    done = subprocess.run(
        [str(sidecar), "send-test", "--config", str(config)], capture_output=True, text=True, env=env, timeout=CEILING_S
    )
    assert WEBHOOK_SECRET not in done.stdout + done.stderr
    return done


def test_send_test_reports_slacks_answer_in_plain_words(tmp_path, sidecar, fake_slack):
    config, env = config_for(tmp_path, fake_slack)
    # Webhook::redacted: scheme, host and the first path segment only.
    redacted = "http://127.0.0.1/services/***"

    done = send_test(sidecar, config, env)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"ok: Slack accepted the test message ({redacted})\n", "")
    [message] = fake_slack.messages()
    assert message["text"] == "slack_alert test message: the webhook works"

    fake_slack.set_mode({"mode": "status", "status": 404, "error": "no_service"})
    done = send_test(sidecar, config, env)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "slack-alert: 404 no_service: the webhook was revoked or mistyped; create a new one and update webhook_url\n"
    )

    fake_slack.set_mode({"mode": "status", "status": 410, "error": "channel_is_archived"})
    done = send_test(sidecar, config, env)
    assert done.returncode == 1
    assert done.stderr == "slack-alert: 410 channel_is_archived: the webhook's channel is archived\n"


def test_send_test_reports_an_unreachable_webhook(tmp_path, sidecar):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/{WEBHOOK_SECRET}"
    config = write_config(tmp_path / "c.yml", webhook_url="${TEST_WEBHOOK}", allow_custom_webhook=True, timeout="1s")
    done = send_test(sidecar, config, dict(os.environ, TEST_WEBHOOK=url))
    assert done.returncode == 1
    assert done.stderr.startswith("slack-alert: could not reach http://127.0.0.1/services/***: could not connect")

    dry = write_config(tmp_path / "dry.yml", dry_run=True)
    done = send_test(sidecar, dry, dict(os.environ))
    assert done.returncode == 2
    assert done.stderr.startswith("slack-alert: webhook_url: send-test needs a webhook")


RULE_COUNTERS = [
    "matched",
    "excluded",
    "below_threshold",
    "alerts",
    "repeats",
    "rate_limited",
    "dropped",
    "flatline_alerts",
    "recovered",
]


def test_rules_route_post_json_bodies_and_count_per_rule(tmp_path, fake_slack, start_sidecar):
    config, env = config_for(
        tmp_path,
        fake_slack,
        rules=[
            {"name": "errors", "exclude": {"[url.path]": "^/health"}},
            {"name": "storm", "levels": ["WARN"], "threshold": 2, "threshold_window": "1m", "group_by": "[service.name]"},
            {
                "name": "hook",
                "levels": ["FATAL"],
                "destination": "json",
                "webhook_url": "${TEST_WEBHOOK}",
                "body_template": {"text": "%{[@alert][title]}", "service": "%{[service.name]}", "rule": "%{[@alert][rule]}"},
            },
        ],
    )
    app = start_sidecar(config, env=env)
    with app.tcp_client() as s:
        s.sendall(
            json_line(event("ERROR", "health check failed", **{"url.path": "/health"}))
            + json_line(event("ERROR", "db down"))
            + json_line(event("WARN", "slow"))
            + json_line(event("WARN", "slow"))
            + json_line(event("FATAL", "out of memory", service="checkout"))
        )
    messages = fake_slack.wait_for_messages(4, timeout=CEILING_S)
    bodies = [json.dumps(m, ensure_ascii=False) for m in messages]
    assert not any("health check" in b for b in bodies), bodies
    hook = [m for m in messages if m.get("rule") == "hook"]
    assert hook == [{"text": hook[0]["text"], "service": "checkout", "rule": "hook"}], messages
    assert "checkout" in hook[0]["text"]
    # errors: db down and the FATAL; storm: the second WARN; hook: the FATAL.
    assert len(messages) == 4, bodies

    app.wait_for_metric('slack_alert_rule_matched_total{rule="storm"}', 2)
    status, text = http_request("GET", f"{app.http}/metrics")
    samples = parse_prometheus(text)
    for rule in ["errors", "storm", "hook"]:
        for counter in RULE_COUNTERS:
            assert (f"slack_alert_rule_{counter}_total", (("rule", rule),)) in samples, (rule, counter)
    value = lambda counter, rule: samples[(f"slack_alert_rule_{counter}_total", (("rule", rule),))]
    assert (value("matched", "errors"), value("excluded", "errors"), value("alerts", "errors")) == (2, 1, 2)
    assert (value("below_threshold", "storm"), value("alerts", "storm")) == (1, 1)
    assert value("alerts", "hook") == 1
    assert "# TYPE slack_alert_rule_matched_total counter" in text
    assert "# HELP slack_alert_rule_excluded_total " in text


def test_send_test_tries_every_destination_of_the_rules(tmp_path, sidecar, fake_slack):
    config, env = config_for(
        tmp_path,
        fake_slack,
        rules=[
            {"name": "errors"},
            {"name": "also-slack", "levels": ["FATAL"]},
            {
                "name": "hook",
                "destination": "json",
                "webhook_url": "${TEST_WEBHOOK}",
                "body_template": {"text": "%{[@alert][title]}", "kind": "%{[@alert][kind]}", "rule": "%{[@alert][rule]}"},
            },
        ],
    )
    redacted = "http://127.0.0.1/services/***"
    done = send_test(sidecar, config, env)
    # Two destinations: the shared Slack webhook (once), and the JSON one.
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == (
        f"ok: Slack accepted the test message ({redacted})\n"
        f"ok: the JSON webhook accepted the test message ({redacted})\n"
    )
    slack, hook = fake_slack.messages()
    assert slack["text"] == "slack_alert test message: the webhook works"
    assert hook == {"text": "slack_alert test message", "kind": "test", "rule": "hook"}

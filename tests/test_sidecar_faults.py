"""`slack-alert run` while Slack fails in every way it can.

Each fault gets its own receiver and sidecar; they all run side by side with
one sidecar posting to a healthy receiver, so the test takes as long as the
slowest fault. The same phases as the Java shim's FaultTest:

1. flow: the same batches (1% errors) are posted to every sidecar in turn
   while each Slack fails; every post must be answered 202 with all of its
   events accepted (waited for with a ceiling far past any machine's
   slowness; how long each post takes is measured by
   `scripts/bench sidecar-faults`, not asserted here);
2. failure: the posts follow the rules (4xx never retried, 5xx and network
   failures retried max_retries times, 429 waits and never fails) and the
   failure is logged once, with Slack's error string;
3. recovery: the receiver answers ok again (one starts on the refused port)
   and every failed alert reaches Slack as a count in a summary;
4. SIGTERM: exit 0 (waited for with the ceiling), with the report.
"""
import json
import os
import re
import signal
import socket
import time

from sidecar_support import WEBHOOK_SECRET, Receiver, event, http_request, write_config

MAX_RETRIES = 1
SHUTDOWN_TIMEOUT_S = 3
PROBLEMS = ["problem alpha", "problem beta", "problem gamma"]
SUMMARY = re.compile(r"^slack_alert summary: ([\d,]+) events?")
# How long the test waits for something that should happen: far past what a
# loaded CI machine needs; it runs out only when the thing never happens.
CEILING_S = 60

# name: (receiver mode or None, kind, text of the one log line)
FAULTS = {
    "refused": (None, "transient", "could not connect"),
    "hang": ({"mode": "hang"}, "transient", "timed out"),
    "500": ({"mode": "status", "status": 500}, "transient", "500 rollup_error"),
    "429 Retry-After": ({"mode": "status", "status": 429, "retry_after": 1}, "rate_limited", "rate limiting"),
    "429": ({"mode": "status", "status": 429}, "rate_limited", "rate limiting"),
    "404 no_service": ({"mode": "status", "status": 404, "error": "no_service"}, "permanent", "404 no_service"),
    "400 invalid_blocks": (
        {"mode": "status", "status": 400, "error": "invalid_blocks"},
        "permanent",
        "400 invalid_blocks",
    ),
    "TLS failure": (None, "transient", "could not connect"),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def batches():
    """Four JSON arrays of 125 events with 5 errors among them (1%), cycling through PROBLEMS."""
    out, errors = [], 0
    for b in range(4):
        events = []
        for i in range(125):
            if (b * 125 + i) % 100 == 0:
                events.append(event("ERROR", f"{PROBLEMS[errors % 3]} in the checkout"))
                errors += 1
            else:
                events.append(event("INFO", f"request {i} served"))
        out.append(json.dumps(events).encode())
    return out


class Setup:
    def __init__(self, name, receiver_bin, tmp_path, start_sidecar):
        self.name = name
        self.problems = []
        self.notes = []
        self.port = None
        self.receiver = None
        mode, self.kind, self.logged = FAULTS.get(name, (None, "healthy", None))
        if name == "refused":
            self.port = free_port()
            base = f"http://127.0.0.1:{self.port}"
        else:
            self.receiver = Receiver(receiver_bin)
            base = self.receiver.base
            if name == "TLS failure":
                # The engine speaks TLS to a plain-HTTP server: the handshake fails.
                base = base.replace("http://", "https://")
            elif mode:
                self.receiver.set_mode(mode)
        webhook = f"{base}/services/{WEBHOOK_SECRET}"
        config = write_config(
            tmp_path / f"{abs(hash(name))}.yml",
            webhook_url="${TEST_WEBHOOK}",
            allow_custom_webhook=True,
            timeout="500ms",
            max_retries=MAX_RETRIES,
            dedup_window="5m",
            rate_limit=3600,
            burst=100,
            shutdown_timeout=f"{SHUTDOWN_TIMEOUT_S}s",
        )
        self.app = start_sidecar(config, env=dict(os.environ, TEST_WEBHOOK=webhook))

    def metric(self, name):
        return int(self.app.metric(f"slack_alert_{name}_total"))

    def posts(self):
        return self.receiver.control("GET", "received") if self.receiver and self.name != "TLS failure" else []

    def log_lines(self):
        with self.app.err._cond:
            return [line for line in self.app.err.lines if self.logged in line]

    def failure_pattern_seen(self):
        if not self.log_lines():
            return False
        failures, retries, posts = self.metric("send_failures"), self.metric("retries"), len(self.posts())
        if self.kind == "permanent":
            return failures >= 3 and retries == 0 and posts == failures
        if self.kind == "transient":
            sees_posts = self.name not in ("refused", "TLS failure")
            return (
                failures >= 2
                and retries == failures * MAX_RETRIES
                and (not sees_posts or posts == failures * (1 + MAX_RETRIES))
            )
        return posts >= 3 and failures == 0 and retries == posts

    def check_gaps(self):
        at = [p["at_ms"] for p in self.posts()]
        gaps = [b - a for a, b in zip(at, at[1:])]
        self.notes.append(f"gaps {gaps}")
        for i, gap in enumerate(gaps):
            least = {
                "429 Retry-After": 950,
                "429": 950 << min(i, 5),
                "hang": 950,
                "500": 450,
            }.get(self.name, 0)
            if gap < least:
                self.problems.append(f"post {i + 2} came {gap} ms after the one before, expected >= {least}: {gaps}")

    def recovered(self):
        texts = [m.get("text", "") for m in self.receiver.messages()]
        alerts = self.metric("alerts")
        delivered = sum(1 for t in texts if any(p in t for p in PROBLEMS) and not t.startswith("slack_alert summary"))
        summarised = sum(int(m.group(1).replace(",", "")) for t in texts if (m := SUMMARY.match(t)))
        if self.kind == "rate_limited":
            return delivered == alerts == len(PROBLEMS) and self.metric("send_failures") == 0
        return summarised > 0 and delivered + summarised == alerts == len(PROBLEMS)


def wait_all(setups, condition, timeout):
    """The setups for which `condition` never held within `timeout`."""
    deadline = time.monotonic() + timeout
    waiting = list(setups)
    while waiting and time.monotonic() < deadline:
        waiting = [s for s in waiting if not condition(s)]
        time.sleep(0.05)
    return waiting


def post_while_failing(healthy, faults):
    """Posts the same batches to every sidecar in turn; each post must be answered with all accepted."""
    everyone = [healthy, *faults]
    bodies = batches()
    for r in range(160):
        body = bodies[r % len(bodies)]
        for k in range(len(everyone)):
            s = everyone[(r + k) % len(everyone)]
            status, answer = s.app.post_events(body, timeout=CEILING_S)
            if (status, answer) != (202, {"accepted": 125, "rejected": 0}):
                s.problems.append(f"POST /events answered {status} {answer} while Slack was failing")
                return


def test_every_fault_keeps_ingestion_flowing_follows_the_retry_rules_and_recovers(
    tmp_path, receiver_bin, start_sidecar
):
    healthy = Setup("healthy", receiver_bin, tmp_path, start_sidecar)
    faults = [Setup(name, receiver_bin, tmp_path, start_sidecar) for name in FAULTS]
    recovery_receivers = []
    try:
        post_while_failing(healthy, faults)

        for s in wait_all(faults, Setup.failure_pattern_seen, CEILING_S):
            s.problems.append(
                f"the failure pattern never showed: posts {[p['status'] for p in s.posts()]}, "
                f"retries {s.metric('retries')}, send_failures {s.metric('send_failures')}, "
                f"log lines {s.log_lines()}"
            )
        for s in faults:
            s.notes.append(
                f"while failing: {len(s.posts())} posts, {s.metric('retries')} retries, "
                f"{s.metric('send_failures')} failed"
            )
            if s.receiver and s.name != "TLS failure":
                s.check_gaps()

        for s in faults:
            if s.name == "refused":
                s.receiver = Receiver(receiver_bin, listen=f"127.0.0.1:{s.port}")
                recovery_receivers.append(s.receiver)
            elif s.name != "TLS failure":
                s.receiver.set_mode({"mode": "ok"})
        for s in wait_all([s for s in faults if s.name != "TLS failure"], Setup.recovered, CEILING_S):
            s.problems.append(
                f"nothing reported after Slack recovered: {[m.get('text') for m in s.receiver.messages()]}, "
                f"alerts {s.metric('alerts')}, send_failures {s.metric('send_failures')}"
            )

        everyone = [healthy, *faults]
        for s in everyone:
            s.app.proc.send_signal(signal.SIGTERM)
        for s in everyone:
            code = s.app.proc.wait(timeout=CEILING_S)
            if code != 0:
                s.problems.append(f"SIGTERM: exit {code}")
        for s in faults:
            output = s.app.output()
            if "stopped in" not in output:
                s.problems.append("no shutdown report")
            count = sum(1 for line in output.splitlines() if s.logged in line)
            if count != 1:
                s.problems.append(f"{s.logged!r} logged {count} times, expected once")
            if s.receiver and s.receiver.control("GET", "violations"):
                s.problems.append(f"violations: {s.receiver.control('GET', 'violations')}")
            assert WEBHOOK_SECRET not in output
    finally:
        for s in [healthy, *faults]:
            if s.receiver:
                s.receiver.stop()
        for r in recovery_receivers:
            r.stop()
    for s in faults:
        print(f"sidecar fault {s.name:<20} {'; '.join(s.notes)}")
    problems = {s.name: s.problems for s in [healthy, *faults] if s.problems}
    assert not problems, json.dumps(problems, indent=2)

"""Processes and clients for the sidecar's end-to-end tests.

`Receiver` runs the `fake-slack` binary (the local Slack stand-in) and
drives its control API; `Sidecar` runs `slack-alert run` and reads the
addresses it prints. Both collect everything the process prints, so tests can
assert that the webhook URL never appears in it.
"""
import json
import os
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

# How long a test waits for something that should happen: far past what a
# loaded CI machine needs; it runs out only when the thing never happens.
CEILING_S = 60.0

# The part of a receiver webhook URL that is secret (Slack's token path).
WEBHOOK_SECRET = "T000TEST/B000TEST/testtoken0123456789"


def http_request(method, url, body=None, timeout=CEILING_S, headers=None):
    """(status, body text) of one request; HTTP errors are answers too."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Output:
    """Drains a pipe on a thread, keeping every line."""

    def __init__(self, pipe):
        self.lines = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._drain, args=(pipe,), daemon=True)
        self._thread.start()

    def _drain(self, pipe):
        for raw in iter(pipe.readline, b""):
            with self._cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        pipe.close()

    def wait_for(self, pattern, timeout=CEILING_S):
        """The first match of `pattern` in a line, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        with self._cond:
            while True:
                for line in self.lines:
                    m = regex.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no line matching {pattern!r} in {self.lines!r}")
                self._cond.wait(left)

    def text(self):
        self._thread.join(timeout=5)
        with self._cond:
            return "\n".join(self.lines)


class Receiver:
    """`fake-slack` on a free loopback port; exits when we close its stdin."""

    def __init__(self, binary, listen="127.0.0.1:0"):
        self.proc = subprocess.Popen(
            [str(binary), "--listen", listen, "--exit-on-stdin-eof"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.out = Output(self.proc.stdout)
        self.base = "http://" + self.out.wait_for(r"^listening http://(\S+)$").group(1)
        self.webhook = self.out.wait_for(r"^webhook (\S+)$").group(1)
        assert WEBHOOK_SECRET in self.webhook

    def control(self, method, path, body=None):
        status, text = http_request(method, f"{self.base}/_receiver/{path}", body)
        assert status == 200, (path, status, text)
        return json.loads(text) if text.startswith(("[", "{")) else text

    def messages(self):
        return self.control("GET", "messages")

    def set_mode(self, mode):
        self.control("POST", "mode", json.dumps(mode))

    def wait_for_messages(self, count, timeout=CEILING_S):
        deadline = time.monotonic() + timeout
        while True:
            got = self.messages()
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.02)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_config(path, **options):
    """A YAML config file with `options` (values written as JSON, which is YAML)."""
    path.write_text("".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in options.items()))
    return path


class Sidecar:
    """`slack-alert run` with TCP and HTTP on free loopback ports."""

    def __init__(self, binary, config, *extra, env=None):
        self.proc = subprocess.Popen(
            [str(binary), "run", "--config", str(config), "--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0", *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.out = Output(self.proc.stdout)
        self.err = Output(self.proc.stderr)
        host, port = self.out.wait_for(r"^listening tcp (\S+):(\d+)$").groups()
        self.tcp = (host, int(port))
        self.http = "http://" + self.out.wait_for(r"^listening http (\S+)$").group(1)

    def post_events(self, body, timeout=CEILING_S):
        status, text = http_request("POST", f"{self.http}/events", body, timeout=timeout)
        return status, json.loads(text) if text.startswith("{") else text

    def metrics_text(self):
        status, text = http_request("GET", f"{self.http}/metrics")
        assert status == 200, (status, text)
        return text

    def metric(self, name):
        """One sample's value by exact name (with labels, if any)."""
        for line in self.metrics_text().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        raise AssertionError(f"no metric {name}")

    def wait_for_metric(self, name, at_least, timeout=CEILING_S):
        deadline = time.monotonic() + timeout
        while True:
            value = self.metric(name)
            if value >= at_least:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} is {value}, expected at least {at_least}")
            time.sleep(0.02)

    def connections(self):
        """Connected TCP sockets the process holds open (its listeners not counted), from /proc.

        The server closes a connection's socket no sooner than it frees its slot, so a count that
        has dropped means the slots are free: a condition to poll instead of sleeping.
        """
        fds = f"/proc/{self.proc.pid}/fd"
        inodes = set()
        for fd in os.listdir(fds):
            try:
                target = os.readlink(f"{fds}/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    next(f)
                    # sl local remote state ... inode: state 01 is ESTABLISHED
                    count += sum(1 for line in f if line.split()[3] == "01" and line.split()[9] in inodes)
            except FileNotFoundError:
                pass
        return count

    def wait_for_connections(self, count, timeout=CEILING_S):
        deadline = time.monotonic() + timeout
        while self.connections() != count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the sidecar holds {self.connections()} connections, expected {count}")
            time.sleep(0.02)

    def tcp_client(self, timeout=CEILING_S):
        return socket.create_connection(self.tcp, timeout=timeout)

    def terminate(self, timeout=CEILING_S):
        """SIGTERM; returns the exit code."""
        self.proc.terminate()
        return self.proc.wait(timeout=timeout)

    def output(self):
        """Everything printed (after the process has ended)."""
        return self.out.text() + "\n" + self.err.text()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def event(level, message, service="shop", **extra):
    e = {"@timestamp": "2026-11-20T09:00:00.000Z", "log.level": level, "message": message, "service.name": service}
    e.update(extra)
    return e


def json_line(e):
    return (json.dumps(e, ensure_ascii=False) + "\n").encode()

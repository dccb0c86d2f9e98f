#!/usr/bin/env python3
"""Sidecar throughput and memory: json_lines over TCP into `slack-alert run`.

Starts the local Slack-compatible receiver and `slack-alert run` pinned to one
core (taskset), sends --events realistic ECS lines (1% errors from 50
fingerprints) over one TCP connection from this process on the other core,
and times it from the first byte sent until the sidecar has read every line
and closed the connection (verified against its /metrics). Prints events/s
and the sidecar's resident memory (VmRSS idle, VmRSS and VmHWM after).

    scripts/bench-sidecar.py --sidecar target/release/slack-alert \
        --receiver target/release/fake-slack [--events 2000000] [--core 1]
"""

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

LOGGERS = [
    "com.shop.checkout.OrderController",
    "com.shop.payment.PaymentClient",
    "com.shop.inventory.StockRepository",
    "com.shop.auth.TokenVerifier",
    "org.hibernate.engine.jdbc.spi.SqlExceptionHelper",
]
ERRORS = [
    ("Read timed out after {m} ms calling payment-service for order {n}", "java.net.SocketTimeoutException"),
    ("Connection refused: db-{m}.internal/10.0.{a}.{b}:5432", "java.net.ConnectException"),
    ("Could not commit JPA transaction for order {n}; nested exception is javax.persistence.RollbackException",
     "org.springframework.transaction.TransactionSystemException"),
    ("Token 0x{n:x}ff expired at {n} for user {m}", "com.shop.auth.TokenExpiredException"),
    ("Insufficient stock for sku-{n}: requested {m}, available 0", "com.shop.inventory.OutOfStockException"),
    ("HikariPool-1 - Connection is not available, request timed out after {m}ms.",
     "java.sql.SQLTransientConnectionException"),
    ("Unexpected response 503 from https://api.partner.example/v2/orders/{n}",
     "org.springframework.web.client.HttpServerErrorException"),
    ("Duplicate entry '{n}' for key 'orders.PRIMARY'", "java.sql.SQLIntegrityConstraintViolationException"),
    ("Failed to deserialize message {n:08x}-{m:04x}-4a2b-8c3d-1e2f3a4b5c6d from topic orders",
     "com.fasterxml.jackson.databind.JsonMappingException"),
    ("NullPointerException while pricing cart {n} (items={m})", "java.lang.NullPointerException"),
]


def event(rng):
    """One ECS line as the logback ECS encoder writes it: 1% ERROR."""
    n, m = rng.randrange(100_000), rng.randrange(1000)
    e = {
        "@timestamp": "2024-05-01T12:00:00.123Z",
        "log.level": "INFO",
        "message": f"Completed order {n} in {m} ms",
        "ecs.version": "1.2.0",
        "service.name": "checkout",
        "service.environment": "prod",
        "event.dataset": "checkout.log",
        "process.thread.name": f"http-nio-8080-exec-{rng.randrange(200)}",
        "log.logger": "com.shop.checkout.OrderController",
        "trace.id": "%032x" % rng.getrandbits(128),
        "transaction.id": "%016x" % rng.getrandbits(64),
        "host.name": "checkout-7d9f8b-x2k4p",
    }
    p = rng.randrange(100)
    if p == 0:
        fp = rng.randrange(50)
        template, error_type = ERRORS[fp % 10]
        message = template.format(n=n, m=m, a=m % 255, b=n % 255)
        e.update({
            "log.level": "ERROR",
            "message": message,
            "log.logger": LOGGERS[fp // 10],
            "error.type": error_type,
            "error.message": message,
            "error.stack_trace": f"{error_type}: {message}\n\tat {LOGGERS[fp // 10]}.handle(X.java:{m})\n\t"
                                 "at java.base/java.lang.Thread.run(Thread.java:833)",
        })
    else:
        e["log.level"] = "INFO" if p < 60 else "DEBUG" if p < 85 else "WARN"
    return json.dumps(e, separators=(",", ":"))


def wait_for(process, pattern, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        m = re.search(pattern, line)
        if m:
            return m.group(1)
    raise SystemExit(f"did not see {pattern!r} from {process.args[0]}")


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def metric(http, name):
    with urllib.request.urlopen(f"http://{http}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return int(float(line.split()[-1]))
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sidecar", required=True)
    ap.add_argument("--receiver", required=True)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--core", type=int, default=1, help="the core the sidecar is pinned to")
    args = ap.parse_args()

    cores = sorted(os.sched_getaffinity(0))
    client_cores = [c for c in cores if c != args.core] or cores
    os.sched_setaffinity(0, client_cores)

    rng = random.Random(1)
    pool = "".join(event(rng) + "\n" for _ in range(20_000)).encode()
    per_pool = 20_000
    rounds, rest = divmod(args.events, per_pool)
    rest_bytes = b"".join(pool.splitlines(keepends=True)[:rest])
    mean_len = len(pool) / per_pool

    receiver = subprocess.Popen([args.receiver, "--rate-limit", "1", "--burst", "1", "--exit-on-stdin-eof"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        wait_for(receiver, r"listening (\S+)")
        webhook = wait_for(receiver, r"webhook (\S+)")
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as cfg:
            cfg.write(f"webhook_url: {webhook}\nallow_custom_webhook: true\n")
        sidecar = subprocess.Popen(["taskset", "-c", str(args.core), args.sidecar, "run", "--config", cfg.name,
                                    "--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            tcp = wait_for(sidecar, r"listening tcp (\S+)")
            http = wait_for(sidecar, r"listening http (\S+)")
            time.sleep(0.5)
            idle_rss = status_kb(sidecar.pid, "VmRSS")
            host, port = tcp.rsplit(":", 1)
            s = socket.create_connection((host, int(port)))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            started = time.perf_counter()
            for _ in range(rounds):
                s.sendall(pool)
            s.sendall(rest_bytes)
            s.shutdown(socket.SHUT_WR)
            # The sidecar closes the connection once it has decided about every line.
            while s.recv(65536):
                pass
            elapsed = time.perf_counter() - started
            s.close()
            seen = metric(http, "slack_alert_events_total")
            matched = metric(http, "slack_alert_matched_total")
            rss = status_kb(sidecar.pid, "VmRSS")
            hwm = status_kb(sidecar.pid, "VmHWM")
            sidecar.send_signal(signal.SIGTERM)
            sidecar.wait(timeout=30)
        finally:
            if sidecar.poll() is None:
                sidecar.kill()
        if seen != args.events:
            raise SystemExit(f"the sidecar counted {seen} events, {args.events} were sent")
        print(f"sidecar: {args.events:,} json_lines events ({mean_len:.0f} bytes each on average, 1% errors) "
              f"over one TCP connection, sidecar pinned to core {args.core}")
        print("| events/s | time | matched | VmRSS idle | VmRSS after | VmHWM (peak) |")
        print("|---|---|---|---|---|---|")
        print(f"| {args.events / elapsed:,.0f} | {elapsed:.2f} s | {matched:,} | {idle_rss / 1024:.1f} MB "
              f"| {rss / 1024:.1f} MB | {hwm / 1024:.1f} MB |")
    finally:
        receiver.stdin.close()
        receiver.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())

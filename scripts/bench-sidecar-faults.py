#!/usr/bin/env python3
"""What the sidecar's fault tests used to assert with a stopwatch, measured.

Two `slack-alert run` processes side by side, each posting to its own local
Slack-compatible receiver: one healthy, one hung (never answers, so the queue
fills and alerts are dropped and counted). The same JSON batches (125 events,
1% errors, every tenth batch a storm batch with 20% errors and two new
problems) are posted to `/events` of each in turn, alternating, so both see the
same machine noise; each POST is timed. Then how long each process takes to
exit after SIGTERM (shutdown_timeout 1s).

    scripts/bench-sidecar-faults.py --sidecar target/release/slack-alert \
        --receiver target/release/fake-slack [--rounds 20] [--turn 100]
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from sidecar_support import Receiver, Sidecar, event, write_config  # noqa: E402


def batch(errors, distinct, start):
    events = []
    for i in range(125):
        if i < len(distinct):
            events.append(event("ERROR", distinct[i]))
        elif i % 100 < errors:
            events.append(event("ERROR", f"problem {'abcde'[i % 5]} in the checkout"))
        else:
            events.append(event("INFO", f"request {start + i} served"))
    return json.dumps(events).encode()


def rank(ordered, p):
    i = max(0, min(len(ordered) - 1, -(-int(p * 10) * len(ordered) // 1000) - 1))
    return ordered[i]


def ms(seconds):
    return f"{seconds * 1e3:.2f} ms"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sidecar", required=True)
    parser.add_argument("--receiver", required=True)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--turn", type=int, default=100)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-sidecar-faults-")
    phases = {}
    try:
        for name in ("healthy", "hung"):
            receiver = Receiver(args.receiver)
            if name == "hung":
                receiver.set_mode({"mode": "hang"})
            config = write_config(
                Path(tmp) / f"{name}.yml",
                webhook_url=receiver.webhook,
                allow_custom_webhook=True,
                queue_size=5,
                rate_limit=60,
                burst=5,
                dedup_window="10s",
                timeout="10s",
                max_retries=1,
                shutdown_timeout="1s",
            )
            phases[name] = {"receiver": receiver, "app": Sidecar(args.sidecar, config), "took": []}

        quiet = [batch(1, [], b * 125) for b in range(4)]
        distinct = 0
        for r in range(args.rounds):
            order = list(phases) if r % 2 == 0 else list(reversed(phases))
            for name in order:
                p = phases[name]
                for b in range(args.turn):
                    if b % 10 == 9:
                        body = batch(20, [f"new problem {distinct} {distinct + 1}", f"new problem {distinct + 2}"], b)
                        distinct += 3
                    else:
                        body = quiet[b % len(quiet)]
                    started = time.perf_counter()
                    status, answer = p["app"].post_events(body)
                    p["took"].append(time.perf_counter() - started)
                    assert status == 202, (name, status, answer)

        print(
            f"sidecar-faults: {args.rounds} rounds of {args.turn} POST /events per phase (125 events each, every"
            " tenth a storm batch), alternating"
        )
        print()
        print("| Slack | posts | p50 | p99 | p99.9 | max | dropped |")
        print("|---|---|---|---|---|---|---|")
        for name, p in phases.items():
            ordered = sorted(p["took"])
            dropped = p["app"].metric("slack_alert_dropped_total")
            print(
                f"| {name} | {len(ordered)} | {ms(rank(ordered, 50))} | {ms(rank(ordered, 99))} |"
                f" {ms(rank(ordered, 99.9))} | {ms(ordered[-1])} | {dropped:.0f} |"
            )

        for name, p in phases.items():
            started = time.perf_counter()
            p["app"].proc.send_signal(signal.SIGTERM)
            code = p["app"].proc.wait(timeout=120)
            print(f"SIGTERM to exit with Slack {name} (shutdown_timeout 1s): {ms(time.perf_counter() - started)},"
                  f" exit {code}")
    finally:
        for p in phases.values():
            p["app"].kill()
            p["receiver"].stop()


if __name__ == "__main__":
    main()

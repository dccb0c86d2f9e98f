"""`slack-alert check`: config validation and replay of JSON lines on event time.

The handcrafted fixture (tests/fixtures/check-events.jsonl with
check-config.yml: dedup_window 5m, rate_limit 2/min, burst 2) is asserted
decision by decision; each expectation follows from the engine's rules:

  line  1 09:00:00 INFO            not matched (but starts the clock)
  line  2 09:00:01 ERROR db        ALERTED       (token 2 -> 1)
  line  3 09:00:02 ERROR db        REPEAT        ("db-<n>": numbers are normalised)
  line  4 garbage                  unparseable
  line  5 09:00:05 ERROR payments  ALERTED       (token 1 -> 0)
  line  6 09:00:06 FATAL app       RATE-LIMITED  (no token; one every 30 s)
  line  7 [1, 2, 3]                unparseable (not an object)
  line  8 09:00:10 ERROR db        REPEAT
          09:00:31                 SUMMARY       (a token is back 30 s after the last one)
  line  9 09:00:20 WARN            not matched
  line 10 invalid UTF-8            unparseable
  line 11 09:00:40 nested log.level RATE-LIMITED (the summary took the token)
          09:01:01                 SUMMARY
  line 12 09:03:00 ERROR db        REPEAT
  line 13 (no @timestamp) payments REPEAT        (takes the previous line's time)
          09:05:01                 REPEAT REPORT db (3 repeats; window opened 09:00:01)
          09:05:05                 REPEAT REPORT payments (1 repeat)
  line 14 09:06:00 ERROR db        ALERTED       (window closed: a new alert)
  line 15 09:06:30 ERROR db        REPEAT
  line 16 "just a string"          unparseable
          end of input             REPEAT REPORT db (1 repeat)
"""
import json
import os
import subprocess
import time

import pytest

from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
SAMPLES = ROOT / "logstash-config" / "sample-logs"
EXAMPLE_CONFIG = ROOT / "logstash-config" / "slack-alert.yml"
SECRET_URL = "https://hooks.slack.com/services/TSECRET01/BSECRET01/s3cr3t-t0k3n-d0-n0t-pr1nt"
SECRET = "TSECRET01/BSECRET01/s3cr3t-t0k3n-d0-n0t-pr1nt"


def check(sidecar, *args, input_bytes=None, env=None):
    """Runs `slack-alert check ARGS`; returns (exit code, stdout, stderr). The
    webhook must never be printed."""
    environment = dict(os.environ, FIXTURE_WEBHOOK_URL=SECRET_URL, SLACK_WEBHOOK_URL=SECRET_URL)
    environment.update(env or {})
    done = subprocess.run(
        [str(sidecar), "check", *map(str, args)],
        input=input_bytes,
        capture_output=True,
        env=environment,
        timeout=60,
    )
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    assert SECRET not in stdout + stderr
    assert "s3cr3t" not in stdout + stderr
    return done.returncode, stdout, stderr


def records(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


def check_json(sidecar, *args, input_bytes=None):
    """Runs `slack-alert check ARGS --json`, which must exit 0; returns its JSON
    records (the summary record last)."""
    code, stdout, stderr = check(sidecar, *args, "--json", input_bytes=input_bytes)
    assert code == 0, stderr
    return records(stdout)


def texts(record):
    return [m["text"] for m in record["messages"]]


FIXTURE_ARGS = ("--config", FIXTURES / "check-config.yml", "--input", FIXTURES / "check-events.jsonl")

DB = "ERROR db: connection refused to db-<n>"
PAY = "ERROR payments: card declined for order <n>"


def test_fixture_decisions_line_by_line(sidecar):
    code, stdout, stderr = check(sidecar, *FIXTURE_ARGS, "--json")
    assert code == 0, stderr
    got = records(stdout)
    summary = got.pop()
    shown = []
    for r in got:
        if r.get("timer"):
            shown.append((r["line"], r["at"], "timer", r["kinds"], r.get("end_of_input", False)))
        else:
            shown.append((r["line"], r["at"], r["decision"], r["level"], r["fingerprint"]))
    assert shown == [
        (2, "2026-11-20T09:00:01.000Z", "alerted", "ERROR", DB),
        (3, "2026-11-20T09:00:02.000Z", "repeat", "ERROR", DB),
        (5, "2026-11-20T09:00:05.000Z", "alerted", "ERROR", PAY),
        (6, "2026-11-20T09:00:06.000Z", "rate_limited", "FATAL", "FATAL app: out of memory"),
        (8, "2026-11-20T09:00:10.000Z", "repeat", "ERROR", DB),
        (10, "2026-11-20T09:00:31.000Z", "timer", ["summary"], False),
        (11, "2026-11-20T09:00:40.000Z", "rate_limited", "ERROR", "ERROR cache: cache miss storm"),
        (11, "2026-11-20T09:01:01.000Z", "timer", ["summary"], False),
        (12, "2026-11-20T09:03:00.000Z", "repeat", "ERROR", DB),
        (13, "2026-11-20T09:03:00.000Z", "repeat", "ERROR", PAY),
        (13, "2026-11-20T09:05:01.000Z", "timer", ["repeat"], False),
        (13, "2026-11-20T09:05:05.000Z", "timer", ["repeat"], False),
        (14, "2026-11-20T09:06:00.000Z", "alerted", "ERROR", DB),
        (15, "2026-11-20T09:06:30.000Z", "repeat", "ERROR", DB),
        (16, "2026-11-20T09:06:30.000Z", "timer", ["repeat"], True),
    ]
    # The messages each point would have posted, by their notification text.
    assert [texts(r) for r in got] == [
        ["ERROR in shop: connection refused to db-1"],
        [],
        ["ERROR in shop: card declined for order 1234"],
        [],
        [],
        ["slack_alert summary: 1 event since 09:00:06 UTC"],
        [],
        ["slack_alert summary: 1 event since 09:00:40 UTC"],
        [],
        [],
        ["🔁 ERROR repeated 3 more times in shop: ERROR db: connection refused to db-&lt;n&gt;"],
        ["🔁 ERROR repeated 1 more time in shop: ERROR payments: card declined for order &lt;n&gt;"],
        ["ERROR in shop: connection refused to db-5"],
        [],
        ["🔁 ERROR repeated 1 more time in shop: ERROR db: connection refused to db-&lt;n&gt;"],
    ]
    # Whole Block Kit payloads, as the webhook would get them.
    alert = got[0]["messages"][0]
    assert alert["attachments"][0]["color"] == "#d00000"
    assert "blocks" in alert["attachments"][0]
    assert summary == {
        "summary": {
            "lines": 16,
            "unparseable": [4, 7, 10, 16],
            "matched": 10,
            "alerts": 3,
            "repeats": 5,
            "suppressed": 2,
            "dropped": 0,
            "below_threshold": 0,
            "excluded": 0,
            "messages": 8,
            "rules": [
                {
                    "name": "default",
                    "matched": 10,
                    "excluded": 0,
                    "below_threshold": 0,
                    "alerts": 3,
                    "repeats": 5,
                    "rate_limited": 2,
                    "dropped": 0,
                    "flatline_alerts": 0,
                    "recovered": 0,
                }
            ],
        }
    }
    assert stderr.splitlines() == [
        "slack-alert: line 4: not JSON (expected ident at line 1 column 2); skipped",
        "slack-alert: line 7: a JSON array, not an event object; skipped",
        "slack-alert: line 10: not UTF-8 (invalid byte at column 77); skipped",
        "slack-alert: line 16: a JSON string, not an event object; skipped",
    ]


def test_fixture_in_words(sidecar):
    code, stdout, stderr = check(sidecar, *FIXTURE_ARGS)
    assert code == 0, stderr
    lines = stdout.splitlines()
    headlines = [line for line in lines if line and not line.startswith(" ")]
    summary_at = headlines.index("summary")
    assert headlines[:summary_at] == [
        f"line 2: ALERTED  {DB}",
        f"line 3: REPEAT  {DB}",
        f"line 5: ALERTED  {PAY}",
        "line 6: RATE-LIMITED  FATAL app: out of memory",
        f"line 8: REPEAT  {DB}",
        "2026-11-20 09:00:31 UTC, after line 10: SUMMARY",
        "line 11: RATE-LIMITED  ERROR cache: cache miss storm",
        "2026-11-20 09:01:01 UTC, after line 11: SUMMARY",
        f"line 12: REPEAT  {DB}",
        f"line 13: REPEAT  {PAY}",
        "2026-11-20 09:05:01 UTC, after line 13: REPEAT REPORT",
        "2026-11-20 09:05:05 UTC, after line 13: REPEAT REPORT",
        f"line 14: ALERTED  {DB}",
        f"line 15: REPEAT  {DB}",
        "end of input (after line 16): REPEAT REPORT",
    ]
    assert lines[lines.index("summary") :] == [
        "summary",
        "  lines read    16",
        "  unparseable   4 (lines 4, 7, 10, 16)",
        "  matched       10",
        "  alerts        3",
        "  repeats       5",
        "  suppressed    2",
        "  dropped       0",
        "  messages      8 (3 alerts, 3 repeat reports, 2 summaries)",
    ]
    # The would-be message is shown under its decision, as Slack would show it.
    first = lines.index(f"line 2: ALERTED  {DB}")
    assert lines[first + 1] == "    notification: ERROR in shop: connection refused to db-1"
    assert lines[first + 2 : first + 4] == ["    == 🚨 ERROR in shop ==", "    ▌ red (#d00000)"]
    assert len(stderr.splitlines()) == 4


def test_logback_ecs_sample_with_the_example_config(sidecar):
    got = check_json(sidecar, "--config", EXAMPLE_CONFIG, "--input", SAMPLES / "anonichat-logback-ecs.jsonl")
    summary = got.pop()["summary"]
    timeout = (
        "ERROR com.anonichat.chat.ChatService java.net.SocketTimeoutException: "
        "Failed to join room <n> for user <n>: read timeout after <n> ms"
    )
    decisions = [(r["line"], r.get("decision"), r.get("fingerprint")) for r in got if not r.get("timer")]
    assert decisions == [
        (12, "alerted", timeout),
        (14, "repeat", timeout),
        (16, "repeat", timeout),
        (18, "repeat", timeout),
        (
            26,
            "alerted",
            "ERROR com.anonichat.chat.MessageService java.io.IOException: "
            "메시지 전송 실패: 사용자 <n> 의 채팅방 <n> 연결이 끊어졌습니다 🚨",
        ),
        (
            32,
            "alerted",
            "ERROR com.anonichat.report.ReportService: Report from user contained "
            "<!channel> and <https://evil.example/login|reset your password> & more",
        ),
        (38, "repeat", timeout),
        (40, "repeat", timeout),
        (54, "repeat", timeout),
        (
            61,
            "alerted",
            "FATAL com.anonichat.Application org.springframework.transaction."
            "CannotCreateTransactionException: Application run failed: Could not open JPA EntityManager "
            "for transaction",
        ),
    ]
    rules = summary.pop("rules")
    assert summary == {
        "lines": 70,
        "unparseable": [],
        "matched": 10,
        "alerts": 4,
        "repeats": 6,
        "suppressed": 0,
        "dropped": 0,
        "below_threshold": 0,
        "excluded": 0,
        "messages": 5,
    }
    assert [(r["name"], r["matched"], r["alerts"], r["repeats"]) for r in rules] == [("default", 10, 4, 6)]
    # The pipeline's Korean message, rendered from the flat ECS keys.
    first = got[0]["messages"][0]
    body = json.dumps(first, ensure_ascii=False)
    assert "AnoniChat 에러 발생!" in body
    assert "레벨: ERROR" in body
    assert "스레드: http-nio-8080-exec-6" in body
    assert "로거: com.anonichat.chat.ChatService" in body
    # Event text cannot ping the channel or forge a link.
    report = next(r for r in got if r.get("line") == 32)["messages"][0]
    assert "<!channel>" not in json.dumps(report)
    assert "&lt;!channel&gt;" in json.dumps(report)
    # The open window is reported at the end of the input.
    end = got[-1]
    assert end["timer"] and end["end_of_input"] and end["kinds"] == ["repeat"]
    assert texts(end)[0].startswith("🔁 ERROR repeated 6 more times in anonichat-api")


def test_python_ecs_sample_with_nested_keys(sidecar):
    got = check_json(sidecar, "--config", EXAMPLE_CONFIG, "--input", SAMPLES / "anonichat-worker-python-ecs.jsonl")
    summary = got.pop()["summary"]
    push = "ERROR worker.push requests.exceptions.HTTPError: push to device <uuid> failed: HTTP <n>"
    assert [(r["line"], r.get("decision"), r.get("level")) for r in got if not r.get("timer")] == [
        (7, "alerted", "ERROR"),
        (9, "repeat", "ERROR"),
        (19, "alerted", "FATAL"),
        (27, "repeat", "ERROR"),
    ]
    assert got[0]["fingerprint"] == push
    assert summary["lines"] == 34 and summary["unparseable"] == []
    assert (summary["matched"], summary["alerts"], summary["repeats"], summary["messages"]) == (4, 2, 2, 3)
    # service.name is nested here ({"service": {"name": ...}}): the header still finds it.
    assert texts(got[0])[0].startswith("🚨 ERROR in anonichat-worker:")


def at(minute, second=0):
    return f"2026-11-20T09:{minute:02d}:{second:02d}.000Z"


def error_line(time, message="db connection refused"):
    return json.dumps({"@timestamp": time, "log.level": "ERROR", "log.logger": "db", "message": message})


@pytest.mark.parametrize(
    "gap_minutes, expected",
    [(4, ["alerted", "repeat"]), (6, ["alerted", "alerted"])],
)
def test_windows_follow_event_time(sidecar, tmp_path, gap_minutes, expected):
    config = tmp_path / "c.yml"
    config.write_text("dry_run: true\ndedup_window: 5m\n")
    lines = [error_line(at(0)), error_line(at(gap_minutes))]
    got = check_json(sidecar, "--config", config, "--input", "-", input_bytes="\n".join(lines).encode())
    assert [r["decision"] for r in got if "decision" in r] == expected


def test_a_repeat_report_comes_at_the_event_time_its_window_closed(sidecar, tmp_path):
    config = tmp_path / "c.yml"
    config.write_text("dry_run: true\ndedup_window: 5m\n")
    lines = [
        error_line(at(0)),
        error_line(at(2)),
        error_line(at(3)),
        error_line(at(30), "disk full"),
    ]
    got = check_json(sidecar, "--config", config, "--input", "-", input_bytes="\n".join(lines).encode())
    timers = [r for r in got if r.get("timer")]
    assert [(r["line"], r["at"], r["kinds"]) for r in timers] == [(3, at(5), ["repeat"])]
    assert texts(timers[0]) == ["🔁 ERROR repeated 2 more times: ERROR db: db connection refused"]
    # It is shown between line 3 and line 4, where it happened.
    order = [r.get("decision", "timer") for r in got[:-1]]
    assert order == ["alerted", "repeat", "repeat", "timer", "alerted"]


def test_a_day_of_logs_replays_in_seconds(sidecar, tmp_path):
    # 86,400 lines, one a second for a day: an INFO line, and every 30 s one of
    # three errors. With a 10-minute window each error alerts once per window.
    config = tmp_path / "c.yml"
    config.write_text("dry_run: true\ndedup_window: 10m\nrate_limit: 60\nburst: 10\n")
    lines = []
    for s in range(86_400):
        stamp = f"2026-11-20T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z"
        if s % 30 == 0:
            kind = ["db down", "disk full", "queue stuck"][s // 30 % 3]
            lines.append(json.dumps({"@timestamp": stamp, "log.level": "ERROR", "message": kind}))
        else:
            lines.append(json.dumps({"@timestamp": stamp, "log.level": "INFO", "message": "ok"}))
    path = tmp_path / "day.jsonl"
    path.write_text("\n".join(lines) + "\n")
    # How cheap a day is: replay.rs counts its timer runs (time_jumps_over_a_gap_once_nothing_waits).
    summary = check_json(sidecar, "--config", config, "--input", path)[-1]["summary"]
    # Each kind occurs every 90 s: a window opens, takes 6 repeats (at +90 s
    # ... +540 s), closes at +600 s; the next occurrence (+630 s) opens the next.
    # 86,400 s / 630 s = 137.1 windows per kind.
    assert summary["matched"] == 2880
    assert summary["alerts"] == 3 * 138
    assert summary["repeats"] == 2880 - 3 * 138
    assert summary["suppressed"] == 0
    # Every window but each kind's last (which ends with the day) has repeats to report.
    assert summary["messages"] == 3 * 138 + 3 * 137


def test_bad_input_is_reported_and_skipped(sidecar, tmp_path):
    config = tmp_path / "c.yml"
    config.write_text("dry_run: true\n")
    data = b"\n".join(
        [
            b'{"log.level":"ERROR","message":"first"}',
            b"\xff\xfe\x00garbage",
            b'{"log.level":"ERROR","message":"' + b"x" * 5000 + b'"}',
            b"null",
            b'{"log.level":"ERROR","message":"second"}\r',
            b"",
        ]
    )
    code, stdout, stderr = check(
        sidecar, "--config", config, "--input", "-", "--json", "--max-line-bytes", "1000", input_bytes=data
    )
    assert code == 0
    got = records(stdout)
    assert [(r["line"], r["decision"]) for r in got[:-1]] == [(1, "alerted"), (5, "alerted")]
    assert got[-1]["summary"]["unparseable"] == [2, 3, 4]
    assert got[-1]["summary"]["lines"] == 5
    long_line = len(data.split(b"\n")[2])
    assert stderr.splitlines() == [
        "slack-alert: line 2: not UTF-8 (invalid byte at column 1); skipped",
        f"slack-alert: line 3: longer than 1000 bytes ({long_line} bytes); skipped",
        "slack-alert: line 4: a JSON null, not an event object; skipped",
    ]


def test_a_valid_config_without_input(sidecar):
    code, stdout, stderr = check(sidecar, "--config", EXAMPLE_CONFIG)
    assert code == 0, stderr
    assert stdout == (
        f"ok: {EXAMPLE_CONFIG} is a valid configuration (levels ERROR, FATAL; dedup_window 5m; "
        "rate_limit 20/min, burst 5; webhook https://hooks.slack.com/services/***)\n"
    )


@pytest.mark.parametrize(
    "yaml, expected",
    [
        ("dry_run: true\ndedup_window: 5 minutes\n", 'slack-alert: dedup_window: "5 minutes" is not a duration'),
        ("dry_run: true\nlevels: [EROR]\n", 'slack-alert: levels: "EROR" is not a log level'),
        ("dry_run: true\nrate_limit: 0\n", "slack-alert: rate_limit: must be a whole number from 1 to 3600"),
        ("dry_run: true\nwebhok_url: x\n", "slack-alert: webhok_url: unknown option; known options are webhook_url"),
        ("levels: [ERROR]\n", "slack-alert: webhook_url: is required"),
        ("webhook_url: https://example.com/hook\n", "slack-alert: webhook_url: must be an https://hooks.slack.com"),
        ("dry_run: true\nadd_field: {alert: yes}\n", "slack-alert: add_field: is a common Logstash filter option"),
        ("dry_run: true\nformat: '%{+YYYY}'\n", "slack-alert: format: "),
        ("dry_run: [true\n", "slack-alert: config: "),
        ("", "slack-alert: config: "),
    ],
)
def test_config_errors_name_the_option_and_exit_2(sidecar, tmp_path, yaml, expected):
    config = tmp_path / "bad.yml"
    config.write_text(yaml)
    code, stdout, stderr = check(sidecar, "--config", config)
    assert code == 2
    assert stdout == ""
    assert stderr.startswith(expected), stderr


def test_variables_come_from_the_environment(sidecar, tmp_path):
    config = tmp_path / "c.yml"
    config.write_text("webhook_url: ${SLACK_WEBHOOK_URL}\ndedup_window: ${WINDOW:2m}\nburst: ${BURST}\n")
    code, stdout, stderr = check(sidecar, "--config", config, env={"BURST": "3"})
    assert code == 0, stderr
    assert "dedup_window 2m; rate_limit 20/min, burst 3; webhook https://hooks.slack.com/services/***" in stdout

    code, stdout, stderr = check(sidecar, "--config", config, env={"BURST": "3", "WINDOW": "1h"})
    assert code == 0 and "dedup_window 1h;" in stdout

    environment = {k: v for k, v in os.environ.items() if k != "BURST"}
    done = subprocess.run(
        [str(sidecar), "check", "--config", str(config)],
        capture_output=True,
        text=True,
        env=dict(environment, SLACK_WEBHOOK_URL=SECRET_URL),
    )
    assert done.returncode == 2
    assert done.stderr == (
        "slack-alert: burst: ${BURST} is not set in the environment; "
        "export BURST or give a default as ${BURST:default}\n"
    )


def test_a_secret_in_the_wrong_option_is_not_echoed(sidecar, tmp_path):
    config = tmp_path / "c.yml"
    config.write_text("dry_run: true\nlevels: ${SLACK_WEBHOOK_URL}\n")
    code, _, stderr = check(sidecar, "--config", config)
    assert code == 2
    assert stderr.startswith('slack-alert: levels: "${SLACK_WEBHOOK_URL}" is not a log level'), stderr


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], "slack-alert: --config: is required"),
        (["--config", "/nonexistent/x.yml"], "slack-alert: --config: cannot read /nonexistent/x.yml"),
        (["--config", EXAMPLE_CONFIG, "--input", "/nonexistent/x.jsonl"], "slack-alert: --input: cannot read"),
        (["--config", EXAMPLE_CONFIG, "--bogus"], "slack-alert: --bogus: unknown argument to `check`"),
    ],
)
def test_usage_errors_exit_2(sidecar, args, expected):
    code, _, stderr = check(sidecar, *args)
    assert code == 2
    assert stderr.startswith(expected), stderr


def test_help(sidecar):
    for args in (["--help"], ["help", "check"], ["check", "--help"], ["help", "run"], ["help", "send-test"]):
        done = subprocess.run([str(sidecar), *args], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout.startswith("slack-alert"), args
    done = subprocess.run([str(sidecar)], capture_output=True, text=True)
    assert done.returncode == 2 and "a command is needed" in done.stderr


OPTIONS = [
    "webhook_url", "levels", "min_level", "level_field", "channel", "username", "icon_emoji", "icon_url",
    "title", "format", "dedup_fields", "dedup_window", "rate_limit", "burst", "queue_size", "max_tracked",
    "timeout", "max_retries", "shutdown_timeout", "dry_run", "allow_custom_webhook",
]  # fmt: skip


@pytest.mark.parametrize("option", OPTIONS)
def test_every_option_of_the_wrong_yaml_type_is_named(sidecar, tmp_path, option):
    """A map, a nested list, a fraction and a negative number are wrong for every option; the
    exhaustive table of wrong values is rust/engine/tests/config_errors.rs."""
    for value in ["{nested: map}", "[[1, 2]]", "1.5", "-1"]:
        config = tmp_path / "bad.yml"
        webhook = "" if option == "webhook_url" else "webhook_url: ${SLACK_WEBHOOK_URL}\n"
        config.write_text(f"{webhook}{option}: {value}\n")
        code, stdout, stderr = check(sidecar, "--config", config)
        assert (code, stdout) == (2, ""), (option, value, stderr)
        assert stderr.startswith(f"slack-alert: {option}: "), (option, value, stderr)


# --- Rules (issue 8) ---------------------------------------------------------
#
# tests/fixtures/rules-config.yml has one rule of each kind; with
# rules-events.jsonl every decision follows from the rules:
#
#   line  1 09:00:00 INFO api            heartbeat only (silent): not shown
#   line  2 09:00:01 ERROR api /health   EXCLUDED by errors (payments: not its service)
#   line  3 09:00:02 ERROR api           ALERTED by errors
#   line  4 09:00:03 ERROR payments      ALERTED by payments; errors excludes payments
#   line  5 09:00:04 FATAL payments      ALERTED by payments (<!here>) and hook (JSON body)
#   lines 6-7 WARN api "pool exhausted"  BELOW-THRESHOLD (db-storm: 1 and 2 of 3 within 1m)
#   line  8 09:00:30 WARN api            ALERTED: the third within 1m
#   line  9 09:00:40 INFO worker         heartbeat: not shown
#   line 10 09:01:00 api, no level       heartbeat (a flatline rule without levels takes it)
#           09:02:04                     FLATLINE payments (last seen 09:00:04 + 2m)
#           09:02:40                     FLATLINE worker   (09:00:40 + 2m)
#           09:03:00                     FLATLINE api      (09:01:00 + 2m: the level-less line counted)
#   line 11 09:04:00 INFO api            LOGGING: api recovered after 3m

RULES_ARGS = ("--config", FIXTURES / "rules-config.yml", "--input", FIXTURES / "rules-events.jsonl")


def test_rules_fixture_decisions_name_their_rules(sidecar):
    got = check_json(sidecar, *RULES_ARGS)
    summary = got.pop()["summary"]
    shown = []
    for r in got:
        if r.get("timer"):
            shown.append((r["line"], r["at"][11:19], r["kinds"], r["rules"]))
        else:
            shown.append((r["line"], r["decision"], r["rules"], r.get("excluded", []), r["message_rules"]))
    assert shown == [
        (2, "excluded", [], ["errors"], []),
        (3, "alerted", ["errors"], [], ["errors"]),
        (4, "alerted", ["payments"], ["errors"], ["payments"]),
        (5, "alerted", ["payments", "hook"], ["errors"], ["payments", "hook"]),
        (6, "below_threshold", ["db-storm"], [], []),
        (7, "below_threshold", ["db-storm"], [], []),
        (8, "alerted", ["db-storm"], [], ["db-storm"]),
        (10, "09:02:04", ["flatline"], ["silent"]),
        (10, "09:02:40", ["flatline"], ["silent"]),
        (10, "09:03:00", ["flatline"], ["silent"]),
        (11, "logging", [], [], ["silent"]),
    ]
    by_line = {r["line"]: r for r in got if not r.get("timer")}
    # Mentions by severity: only the FATAL payments alert pings, and only the
    # operator's mention, never event text.
    assert by_line[5]["messages"][0]["text"].startswith("<!here> ")
    assert "<!here>" not in json.dumps(by_line[4]["messages"])
    # The JSON destination gets its own body, not a Slack message.
    assert by_line[5]["message_destinations"] == ["slack", "json"]
    hook = by_line[5]["messages"][1]
    assert hook["service"] == "payments" and hook["rule"] == "hook" and hook["kind"] == "alert"
    assert hook["order"] == 4711, "a leaf that is one reference keeps the value's JSON type"
    assert "attachments" not in hook and "blocks" not in hook
    # A threshold alert says how many events within how long, and the group.
    assert "3 events within 1m" in json.dumps(by_line[8]["messages"], ensure_ascii=False)
    # The flatline messages name the silent services; the recovery names api.
    flat = [texts(r)[0] for r in got if r.get("timer")]
    assert ["payments" in flat[0], "worker" in flat[1], "api" in flat[2]] == [True] * 3
    assert "api" in texts(by_line[11])[0]
    assert summary["matched"] == 6
    assert (summary["alerts"], summary["below_threshold"], summary["excluded"]) == (4, 2, 1)
    assert summary["messages"] == 9
    rules = {r["name"]: r for r in summary["rules"]}
    assert [r["name"] for r in summary["rules"]] == ["payments", "errors", "db-storm", "silent", "hook"]
    assert list(summary["rules"][0]) == [
        "name", "matched", "excluded", "below_threshold", "alerts", "repeats", "rate_limited", "dropped",
        "flatline_alerts", "recovered",
    ]
    assert (rules["errors"]["matched"], rules["errors"]["excluded"], rules["errors"]["alerts"]) == (1, 3, 1)
    assert (rules["db-storm"]["below_threshold"], rules["db-storm"]["alerts"]) == (2, 1)
    assert (rules["silent"]["matched"], rules["silent"]["flatline_alerts"], rules["silent"]["recovered"]) == (11, 3, 1)
    assert rules["hook"]["alerts"] == 1


def test_rules_fixture_in_words(sidecar):
    code, stdout, stderr = check(sidecar, *RULES_ARGS, env={"HOOK_URL": SECRET_URL})
    assert code == 0, stderr
    lines = stdout.splitlines()
    headlines = [line for line in lines if line and not line.startswith(" ")]
    assert headlines[: headlines.index("summary")] == [
        "line 2: EXCLUDED  excluded by [errors]",
        "line 3: ALERTED  ERROR db: connection refused to db-<n>  [errors]",
        "line 4: ALERTED  ERROR: card declined for order <n>  [payments]  excluded by [errors]",
        "line 5: ALERTED  FATAL: ledger corrupt  [payments, hook]  excluded by [errors]",
        "line 6: BELOW-THRESHOLD  WARN: pool exhausted, waiting  [db-storm]",
        "line 7: BELOW-THRESHOLD  WARN: pool exhausted, waiting  [db-storm]",
        "line 8: ALERTED  WARN: pool exhausted, waiting  [db-storm]",
        "2026-11-20 09:02:04 UTC, after line 10: FLATLINE  [silent]",
        "2026-11-20 09:02:40 UTC, after line 10: FLATLINE  [silent]",
        "2026-11-20 09:03:00 UTC, after line 10: FLATLINE  [silent]",
        "line 11: LOGGING  [silent]",
    ]
    assert any(line.startswith("    json webhook body: {") for line in lines)
    summary = lines[lines.index("summary") :]
    assert "  below thresh. 2" in summary and "  excluded      1" in summary
    assert summary[summary.index("rules") + 1 :] == [
        "  payments: matched 2, alerts 2",
        "  errors: matched 1, excluded 3, alerts 1",
        "  db-storm: matched 3, below_threshold 2, alerts 1",
        "  silent: matched 11, flatline_alerts 3, recovered 1",
        "  hook: matched 1, alerts 1",
    ]


def test_a_flatline_rule_fires_in_event_time_and_a_long_gap_is_cheap(sidecar, tmp_path):
    config = tmp_path / "c.yml"
    config.write_text("dry_run: true\nrules:\n  - name: quiet\n    type: flatline\n    silence: 10m\n")
    lines = [
        json.dumps({"@timestamp": "2026-11-20T09:00:00Z", "log.level": "INFO", "service.name": "api"}),
        json.dumps({"@timestamp": "2026-11-20T09:09:59Z", "log.level": "DEBUG", "service.name": "api"}),
        # A year later: the flatline fired 10 minutes after the last line; the
        # rest of the gap is skipped, not ticked through (replay.rs:
        # a_flatline_rule_ticks_through_its_silence_only counts the timer runs).
        json.dumps({"@timestamp": "2027-11-20T09:00:00Z", "log.level": "INFO", "service.name": "api"}),
    ]
    got = check_json(sidecar, "--config", config, "--input", "-", input_bytes="\n".join(lines).encode())
    events = [(r["line"], r["at"], r.get("kinds") or r["decision"]) for r in got[:-1]]
    assert events == [
        (2, "2026-11-20T09:19:59.000Z", ["flatline"]),
        (3, "2027-11-20T09:00:00.000Z", "logging"),
    ]
    assert got[-1]["summary"]["rules"][0]["flatline_alerts"] == 1


def test_rules_with_variables_and_errors_naming_the_rule(sidecar, tmp_path):
    config = tmp_path / "c.yml"
    config.write_text(
        "webhook_url: ${SLACK_WEBHOOK_URL}\n"
        "rules:\n"
        "  - name: payments\n"
        "    webhook_url: ${PAY_URL}\n"
        "  - name: hook\n"
        "    destination: json\n"
        "    webhook_url: ${HOOK_URL:https://dashboard.example.com/hook}\n"
        "    body_template: '{\"text\": \"%{[@alert][text]}\"}'\n"
    )
    code, stdout, stderr = check(sidecar, "--config", config, env={"PAY_URL": SECRET_URL})
    assert code == 0, stderr
    assert "2 rules: payments (alert), hook (alert); 2 destinations" in stdout
    code, _, stderr = check(sidecar, "--config", config, env={"PAY_URL": ""})
    assert code == 2
    code, _, stderr = check(sidecar, "--config", config, env={"PAY_URL": "http://example.com/x"})
    assert code == 2 and stderr.startswith("slack-alert: rules[0] (payments).webhook_url: "), stderr
    for rules, expected in [
        ("  - name: x\n    regex: {'[message]': '('}\n", "rules[0] (x).regex"),
        ("  - levels: [ERROR]\n", "rules[0].name"),
        ("  - name: a\n  - name: a\n", "rules[1] (a)"),
        ("  - name: f\n    type: flatline\n", "rules[0] (f).silence"),
        ("  - name: m\n    mentions: {FATAL: '@here'}\n", "rules[0] (m).mentions"),
        ("  - name: j\n    destination: json\n", "rules[0] (j).body_template"),
        ("  - name: u\n    queue_size: 5\n", "rules[0] (u).queue_size"),
    ]:
        config.write_text("dry_run: true\nrules:\n" + rules)
        code, _, stderr = check(sidecar, "--config", config)
        assert code == 2 and stderr.startswith(f"slack-alert: {expected}"), (rules, stderr)


def test_the_example_rules_config_replays_the_samples(sidecar):
    got = check_json(
        sidecar, "--config", ROOT / "logstash-config" / "slack-alert-rules.yml",
        "--input", SAMPLES / "anonichat-logback-ecs.jsonl",
    )
    summary = got.pop()["summary"]
    assert [r["name"] for r in summary["rules"]] == ["payments", "errors", "db-storm", "silent-service", "teams-fatal"]
    # The sample's FATAL reaches the Teams rule as a JSON body; its errors the errors rule.
    fatal = next(r for r in got if r.get("level") == "FATAL")
    assert fatal["rules"] == ["errors", "teams-fatal"]
    assert fatal["message_destinations"] == ["slack", "json"]
    assert summary["rules"][1]["alerts"] >= 3
    assert summary["rules"][3]["matched"] == summary["lines"] - len(summary["unparseable"])


BOT_TOKEN = "xoxb-1234-5678-ch3ck-t0k3n-d0-n0t-pr1nt"


def test_a_slack_app_storm_shows_posted_updates_and_quiet(sidecar, tmp_path):
    # App mode keeps one message per incident current: check shows that
    # message's lifecycle in event time, not a message per update.
    config = tmp_path / "app.yml"
    config.write_text(
        "dry_run: true\n"
        "slack_token: ${BOT_TOKEN}\n"
        "channel: '#alerts-%{[service.name]}'\n"
        "fallback_channel: '#alerts'\n"
        "dedup_window: 2m\n"
        "update_interval: 10s\n"
    )
    # A storm: one error 10 times a second for a minute, then an INFO line
    # five minutes on, after its window has closed.
    start = 1795165200  # 2026-11-20T09:00:00Z
    stamp = lambda s: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + s)) + f".{int(s * 1000) % 1000:03d}Z"
    storm = [
        json.dumps({"@timestamp": stamp(i / 10), "log.level": "ERROR", "message": "db down",
                    "service.name": "checkout", "host.name": f"node-{i % 2}"})
        for i in range(600)
    ]
    sample = tmp_path / "storm.jsonl"
    later = json.dumps({"@timestamp": stamp(300), "log.level": "INFO", "message": "ok"})
    sample.write_text("\n".join(storm + [later]) + "\n")
    env = {"BOT_TOKEN": BOT_TOKEN}

    code, stdout, stderr = check(sidecar, "--config", config, "--input", sample, "--json", env=env)
    assert code == 0, stderr
    assert "ch3ck-t0k3n" not in stdout + stderr
    got = records(stdout)
    summary = got.pop()["summary"]
    steps = [(r["at"], s) for r in got for s in r.get("slack_app", [])]
    # One message, posted to the channel the event names, showing its status.
    posted = [s for _, s in steps if s["step"] == "posted"]
    assert [(s["incident"], s["channel"], s["kind"], s["fallback"]) for s in posted] == [
        (1, "#alerts-checkout", "alert", False)
    ]
    assert "🔁 Seen 1× · first 09:00:00" in json.dumps(posted[0]["message"], ensure_ascii=False)
    assert all(r["messages"] == [] for r in got)
    # Updates at most once per update_interval of event time, counts rising to the exact total.
    updates = [(at, s) for at, s in steps if s["step"] == "update"]
    assert [s["count"] for _, s in updates] == [100, 200, 300, 400, 500, 600, 600]
    # (Timers run every 250 ms of event time from the last line: 09:00:59.9 + 250 ms.)
    assert [at for at, _ in updates] == [
        "2026-11-20T09:00:10.000Z", "2026-11-20T09:00:20.000Z", "2026-11-20T09:00:30.000Z",
        "2026-11-20T09:00:40.000Z", "2026-11-20T09:00:50.000Z", "2026-11-20T09:01:00.150Z",
        "2026-11-20T09:02:00.150Z",
    ]
    assert [s["phase"] for _, s in updates] == ["open"] * 6 + ["quiet"]
    assert updates[0][1]["status"] == "🔁 Seen 100× · first 09:00:00 · last 09:00:09 UTC · 2 hosts"
    _, quiet = updates[-1]
    assert quiet["status"] == "✅ Quiet since 09:00:59 UTC · 600 events in 59s · 2 hosts"
    assert quiet["message"]["attachments"][0]["color"] == "#2eb886"
    # The thread: milestones, then the quiet note; and how it ended.
    replies = [s["text"] for _, s in steps if s["step"] == "reply"]
    assert replies == [
        "🔁 100× now",
        "🆕 Now also on host `node-1`",
        "✅ Quiet since 09:00:59 UTC: 600 events in 59s.",
    ]
    assert steps[-1][1] == {"step": "final", "incident": 1, "rule": "default", "channel": "#alerts-checkout",
                            "state": "quiet", "count": 600}
    assert (summary["alerts"], summary["repeats"], summary["messages"]) == (1, 599, 1)
    assert (summary["updates"], summary["thread_replies"], summary["uploads"]) == (7, 3, 0)

    # The same in words.
    code, stdout, stderr = check(sidecar, "--config", config, "--input", sample, env=env)
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines[0] == "line 1: ALERTED  ERROR: db down"
    assert lines[1] == "    incident 1: posted to #alerts-checkout"
    assert "2026-11-20 09:00:10 UTC, after line 100: UPDATE" in lines
    assert (
        "    incident 1: updated at 09:00:10 UTC to 100× · 🔁 Seen 100× · first 09:00:00 · last 09:00:09 UTC · 2 hosts"
        in lines
    )
    assert "2026-11-20 09:02:00 UTC, after line 600: QUIET" in lines
    at = lines.index("2026-11-20 09:02:00 UTC, after line 600: QUIET")
    assert lines[at + 1 : at + 4] == [
        "    incident 1: updated at 09:02:00 UTC to 600× · ✅ Quiet since 09:00:59 UTC · 600 events in 59s · 2 hosts",
        "    incident 1: thread reply · ✅ Quiet since 09:00:59 UTC: 600 events in 59s.",
        "    incident 1: quiet · 600 events, final",
    ]
    assert "  app mode      7 updates, 3 thread replies, 0 uploads" in lines
    assert "ch3ck-t0k3n" not in stdout + stderr

"""`slack-alert import-elastalert`: ElastAlert rules into this plugin's rules.

Each fixture under tests/fixtures/elastalert/ (modelled on ElastAlert 2's
examples/rules, plus the Spring guide's `error-alarm` rule) is converted,
the output checked, and the converted rules replayed through
`slack-alert check` on sample logs with the decisions ElastAlert's rule
means:

  error_alarm      command alerter: left out; --partial posts JSON instead
  example_frequency 3 payment failures per host in 5 minutes, realert 10m
  example_flatline checkout/cart heartbeats, 10 minutes of silence alerts
  example_any      login failures, realert 0, two webhooks, email dropped
  example_spike    a spike rule: left out, with the reason
"""
import json
import os
import subprocess

import pytest

from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "elastalert"
# The secret parts of the fixtures' webhook URLs: never in any output.
SECRETS = ["freq-secret-0001", "anysecret0002", "anysecret0003"]
HOOK = "https://hooks.slack.com/services/TTEST0000/BTEST0000/notarealtoken"


def run(sidecar, *args, env=None):
    """`slack-alert ARGS` -> (exit code, stdout, stderr); no secret printed."""
    done = subprocess.run(
        [str(sidecar), *map(str, args)],
        capture_output=True,
        env=dict(os.environ, **(env or {})),
        timeout=60,
    )
    out, err = done.stdout.decode(), done.stderr.decode()
    for secret in SECRETS:
        assert secret not in out + err
    return done.returncode, out, err


def convert(sidecar, tmp_path, *files, partial=False, to="yaml"):
    """Converts `files` to a file; returns (exit code, output text, report)."""
    output = tmp_path / ("rules.yml" if to == "yaml" else "rules.conf")
    args = ["import-elastalert", "--to", to, "--output", output]
    if partial:
        args.append("--partial")
    code, out, err = run(sidecar, *args, *files)
    assert out == "", "with --output nothing goes to stdout"
    text = output.read_text() if output.exists() else ""
    for secret in SECRETS:
        assert secret not in text
    return code, text, err


def replay(sidecar, config, events, env):
    """`check --json` over `events`; returns ({line: (decision, rules)}, timers)."""
    code, out, err = _replay(sidecar, config, events, env)
    assert code == 0, err
    decisions, timers = {}, []
    for line in out.splitlines():
        record = json.loads(line)
        if "summary" in record:
            continue
        if record.get("timer"):
            timers.append(record)
        else:
            decisions[record["line"]] = (record["decision"], record.get("rules", []))
    return decisions, timers


def _replay(sidecar, config, events, env):
    lines = "\n".join(json.dumps(e) for e in events) + "\n"
    done = subprocess.run(
        [str(sidecar), "check", "--config", str(config), "--input", "-", "--json"],
        input=lines.encode(),
        capture_output=True,
        env=dict(os.environ, **env),
        timeout=60,
    )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert "notarealtoken" not in out + err
    return done.returncode, out, err


def at(minute, second=0):
    return f"2026-11-20T09:{minute:02d}:{second:02d}Z"


def yaml_rules(text):
    """The converted YAML, as JSON (the sidecar's reader is the judge; this
    only reads what the test asserts on)."""
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(text)["rules"]


def test_error_alarm_command_is_not_supported_and_json_is_offered(sidecar, tmp_path):
    code, text, err = convert(sidecar, tmp_path, FIXTURES / "error_alarm.yaml")
    assert code == 1, err
    assert text == "", "no rule is written when the only alerter cannot run"
    assert "error-alarm" in err and "left out" in err
    assert "not supported: alert: command: runs a program for each match" in err
    assert '"destination" => "json"' in err and "--partial" in err
    assert "not needed: index" in err and "the filter sees each event as it arrives" in err

    code, text, err = convert(sidecar, tmp_path, FIXTURES / "error_alarm.yaml", partial=True)
    assert code == 1, "partial is not all converted"
    assert "dropped: alert: command" in err
    (rule,) = yaml_rules(text)
    assert rule["name"] == "error-alarm"
    assert rule["destination"] == "json"
    assert rule["webhook_url"] == "${ALERT_JSON_URL}"
    assert (rule["query_language"], rule["query"]) == ("lucene", "message: ERROR")
    assert "set ALERT_JSON_URL" in err

    decisions, _ = replay(
        sidecar,
        tmp_path / "rules.yml",
        [
            {"@timestamp": at(0), "log.level": "INFO", "message": "Started Application in 3.2 seconds"},
            {"@timestamp": at(1), "log.level": "ERROR", "message": "ERROR 4242 --- [main] o.s.b.SpringApplication : Application run failed"},
            {"@timestamp": at(2), "log.level": "WARN", "message": "retrying: an Error occurred"},
            {"@timestamp": at(3), "log.level": "ERROR", "message": "connection refused"},
            {"@timestamp": at(4), "message": "ERROR without a level field"},
        ],
        {"ALERT_JSON_URL": "https://alerts.example.com/hook"},
    )
    # Line 2: the word ERROR. Line 3: text fields match any case, as an
    # analysed index does. Line 4: ERROR only as the level, not the message.
    # Line 5: no readable level, so no alert rule sees it (documented).
    assert decisions == {2: ("alerted", ["error-alarm"]), 3: ("alerted", ["error-alarm"])}


def test_frequency_becomes_a_threshold_per_query_key(sidecar, tmp_path):
    code, text, err = convert(sidecar, tmp_path, FIXTURES / "example_frequency.yaml")
    assert code == 0, err
    (rule,) = yaml_rules(text)
    assert rule == {
        "name": "Payment-failures",
        "webhook_url": "${SLACK_WEBHOOK_URL}",
        "threshold": 3,
        "threshold_window": "5m",
        "query_language": "lucene",
        "query": '(service.name:"payments") AND (message: declined OR message: timeout)',
        "min_level": "TRACE",
        "group_by": "[host.name]",
        "dedup_fields": ["[host.name]"],
        "dedup_window": "10m",
        "channel": "#payments",
        "username": "ElastAlert",
        "title": "Payment failures on %{[host.name]}",
        "format": "Payments keep failing on %{[host.name]}.\\nLast message: %{[message]}",
    }
    assert "set SLACK_WEBHOOK_URL to the webhook URL of Payment-failures" in err
    assert "not needed: buffer_time, index, run_every" in err
    assert "slack_msg_color" in err

    pay = lambda m, s, host, msg: {  # noqa: E731
        "@timestamp": at(m, s), "log.level": "ERROR", "service.name": "payments",
        "host.name": host, "message": msg,
    }
    decisions, _ = replay(
        sidecar,
        tmp_path / "rules.yml",
        [
            pay(0, 0, "web-1", "card declined"),
            pay(0, 30, "web-1", "gateway Timeout"),
            pay(1, 0, "web-2", "card declined"),
            {"@timestamp": at(1, 10), "log.level": "ERROR", "service.name": "shop", "host.name": "web-1", "message": "card declined"},
            pay(1, 20, "web-1", "all good"),
            pay(2, 0, "web-1", "card declined"),
            pay(3, 0, "web-1", "card declined"),
            pay(3, 30, "web-1", "card declined"),
            pay(4, 0, "web-1", "card declined"),
            pay(9, 0, "web-2", "card declined"),
        ],
        {"SLACK_WEBHOOK_URL": HOOK},
    )
    rule = ["Payment-failures"]
    assert decisions == {
        1: ("below_threshold", rule),
        2: ("below_threshold", rule),
        3: ("below_threshold", rule),  # another host: its own group
        # 4: another service; 5: neither word: not matched
        6: ("alerted", rule),  # web-1's third within 5 minutes
        # After an alert the count starts again, as ElastAlert's does.
        7: ("below_threshold", rule),
        8: ("below_threshold", rule),
        9: ("repeat", rule),  # three again, within realert (10m): counted, not posted
        10: ("below_threshold", rule),  # web-2's second, 8 minutes after its first
    }


def test_flatline_alerts_for_a_silent_service(sidecar, tmp_path):
    code, text, err = convert(sidecar, tmp_path, FIXTURES / "example_flatline.yaml")
    assert code == 0, err
    (rule,) = yaml_rules(text)
    assert rule["type"] == "flatline" and rule["silence"] == "10m"
    assert rule["group_by"] == "[service.name]"
    assert rule["query"] == 'service.name:("checkout" OR "cart")'
    assert rule["icon_emoji"] == ":skull:"
    assert "min_level" not in rule and "dedup_window" not in rule
    assert "not needed: doc_type, index, timestamp_field, use_count_query" in err
    assert "one that never logged is not reported" in err

    events = [{"@timestamp": at(0), "service.name": "checkout", "message": "ok"}]
    events += [{"@timestamp": at(m), "service.name": "cart", "message": "ok"} for m in range(0, 30, 2)]
    events += [{"@timestamp": at(m, 30), "service.name": "search", "message": "ok"} for m in range(0, 30, 5)]
    _, timers = replay(sidecar, tmp_path / "rules.yml", events, {"SLACK_WEBHOOK_URL": HOOK})
    flatlines = [t for t in timers if "flatline" in t["kinds"]]
    assert len(flatlines) == 1, timers
    text = json.dumps(flatlines[0]["messages"])
    assert "checkout" in text and "cart" not in text and "search" not in text
    assert flatlines[0]["at"] >= "2026-11-20T09:10:00"


def test_any_rule_with_email_needs_partial_and_posts_to_each_webhook(sidecar, tmp_path):
    code, text, err = convert(sidecar, tmp_path, FIXTURES / "example_any.yaml")
    assert (code, text) == (1, ""), err
    assert "not supported: alert: email: not Slack" in err
    assert "(--partial converts the rest, without these)" in err

    code, text, err = convert(sidecar, tmp_path, FIXTURES / "example_any.yaml", partial=True)
    assert code == 1, err
    assert "dropped: alert: email" in err
    first, second = yaml_rules(text)
    assert (first["name"], second["name"]) == ("Login-failures", "Login-failures-2")
    assert (first["webhook_url"], second["webhook_url"]) == ("${SLACK_WEBHOOK_URL}", "${SLACK_WEBHOOK_URL_2}")
    assert first["dedup_window"] == "0s"
    assert first["format"] == "Failed login at %{[@timestamp]} on %{[host.name]} (source %{[source.ip]})"
    assert "set SLACK_WEBHOOK_URL_2 to the webhook URL of Login-failures-2" in err

    login = lambda s, code, user, **more: dict(  # noqa: E731
        {"@timestamp": at(0, s), "log.level": "WARN", "event.code": code, "user.name": user}, **more
    )
    decisions, _ = replay(
        sidecar,
        tmp_path / "rules.yml",
        [
            login(1, 4625, "alice", **{"source.ip": "10.0.0.9"}),
            login(2, 4625, "healthcheck", **{"source.ip": "10.0.0.1"}),
            login(3, 4624, "bob", **{"source.ip": "10.0.0.9"}),
            login(4, 4771, "carol", **{"event.severity": 1}),
            login(5, "4771", "dave", **{"event": {"severity": 5}}),
            login(6, 4625, "alice", **{"source.ip": "10.0.0.9"}),
        ],
        {"SLACK_WEBHOOK_URL": HOOK, "SLACK_WEBHOOK_URL_2": HOOK + "2"},
    )
    both = ["Login-failures", "Login-failures-2"]
    assert decisions == {
        1: ("alerted", both),
        # 2: the health check is excluded (must_not); 3: another event code;
        # 4: neither severity >= 3 nor a source.ip (one `should` must hold)
        5: ("alerted", both),  # "4771" as text, severity nested: both found
        6: ("alerted", both),  # realert 0: every match alerts
    }


def test_spike_is_left_out_with_the_reason(sidecar, tmp_path):
    code, text, err = convert(sidecar, tmp_path, FIXTURES / "example_spike.yaml", partial=True)
    assert (code, text) == (1, ""), err
    assert "not supported: type: spike: compares the event rate of two windows" in err
    assert "cannot run inside a pipeline" in err
    assert "converted 0 of 1 rules" in err


def test_a_folder_numbers_each_distinct_webhook_once(sidecar, tmp_path):
    code, text, err = convert(sidecar, tmp_path, FIXTURES, partial=True)
    assert code == 1, err
    rules = yaml_rules(text)
    by_name = {r["name"]: r["webhook_url"] for r in rules}
    # Files in name order: error_alarm, example_any (2 URLs), example_flatline
    # and example_frequency (one URL, shared), example_spike (left out).
    assert by_name == {
        "error-alarm": "${ALERT_JSON_URL}",
        "Login-failures": "${SLACK_WEBHOOK_URL}",
        "Login-failures-2": "${SLACK_WEBHOOK_URL_2}",
        "Checkout-heartbeat": "${SLACK_WEBHOOK_URL_3}",
        "Payment-failures": "${SLACK_WEBHOOK_URL_3}",
    }
    assert "set SLACK_WEBHOOK_URL_3 to the webhook URL of Checkout-heartbeat, Payment-failures" in err
    assert "converted 4 of 5 rules" in err
    env = {"SLACK_WEBHOOK_URL": HOOK, "SLACK_WEBHOOK_URL_2": HOOK, "SLACK_WEBHOOK_URL_3": HOOK,
           "ALERT_JSON_URL": "https://alerts.example.com/hook"}
    code, out, err = run(sidecar, "check", "--config", tmp_path / "rules.yml", env=env)
    assert code == 0, err
    assert "5 rules" in out


def test_logstash_output_is_a_filter_block(sidecar, tmp_path):
    code, text, err = convert(sidecar, tmp_path, FIXTURES / "example_frequency.yaml", to="logstash")
    assert code == 0, err
    assert text.startswith("# Converted by `slack-alert import-elastalert`.\nfilter {\n  slack_alert {\n    rules => [\n")
    assert '"webhook_url" => "${SLACK_WEBHOOK_URL}"' in text
    # A value holding `"` is single-quoted: Logstash does not unescape by default.
    assert """"query" => '(service.name:"payments") AND (message: declined OR message: timeout)'""" in text
    assert '"dedup_fields" => ["[host.name]"]' in text
    assert '"threshold" => 3' in text
    code, out, _ = run(sidecar, "import-elastalert", FIXTURES / "example_frequency.yaml")
    assert code == 0 and out == text, "stdout without --output, logstash by default"


def test_bad_input_exits_2_naming_file_and_line(sidecar, tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: broken\ntype: any\nfilter:\n  - term: {a: 1\nalert: slack\n")
    code, out, err = run(sidecar, "import-elastalert", bad)
    assert code == 2
    assert f"{bad}: line " in err and "not valid YAML" in err
    code, _, err = run(sidecar, "import-elastalert", tmp_path / "missing.yaml")
    assert code == 2 and "missing.yaml: cannot read" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(sidecar, "import-elastalert", empty)
    assert code == 2 and "no rule files" in err
    code, _, err = run(sidecar, "import-elastalert")
    assert code == 2 and "name at least one rule file" in err


@pytest.mark.parametrize(
    "rule",
    [
        "- 1\n- 2\n",
        "name: x\n",
        "name: x\ntype: [any]\nalert: {slack: 1}\n",
        "name: x\ntype: frequency\nnum_events: many\ntimeframe: {minutes: soon}\nalert: slack\n",
        "name: x\ntype: any\nfilter: [{bool: {must: 5}}, 7, {range: {}}]\nalert: [slack]\nslack_webhook_url: {a: 1}\n",
        "name: x\ntype: any\nalert: slack\nslack_webhook_url: https://hooks.slack.com/services/A/B/C\nalert_text: '{9}'\nrealert: {minutes: -1}\n",
        "name: x\ntype: frequency\nnum_events: 5\ntimeframe: {weeks: 3}\nalert: slack\nslack_webhook_url: https://hooks.slack.com/services/A/B/C\n",
    ],
)
def test_malformed_rules_never_crash(sidecar, tmp_path, rule):
    path = tmp_path / "odd.yaml"
    path.write_text(rule)
    code, out, err = run(sidecar, "import-elastalert", "--partial", path)
    assert code in (1, 2), err
    assert "panicked" not in err
    assert err.strip(), "the report says why"

"""`slack-alert check --html`: the page of what Slack will show, in a real browser.

The rules fixture (tests/fixtures/rules-config.yml, rules-events.jsonl: one
rule of each kind, see test_sidecar_check.py) plus one hostile line is
replayed with `--html`; headless Chromium from Debian's packages (installed
by scripts/lib.sh's ensure_chromium when missing) loads the page, dumps its
DOM and takes a screenshot. The DOM must hold one message per message the
replay reports (`--json`), in order, with its kind, rule and key texts; the
log line's `<script>` and `<img onerror>` must be text, no script element may
exist and nothing they would do may have happened.
"""
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess

import pytest

from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
CONFIG = FIXTURES / "rules-config.yml"
SECRET_URL = "https://hooks.slack.com/services/TSECRET01/BSECRET01/s3cr3t-t0k3n-d0-n0t-pr1nt"

# Each would mark the page if it ran: the DOM dump shows whether it did.
SCRIPT = "<script>document.documentElement.setAttribute('data-pwned','script')</script>"
IMG = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\">"
HOSTILE = {
    "@timestamp": "2026-11-20T09:04:30Z",
    "log.level": "ERROR",
    "service.name": "api",
    "message": f"render failed {SCRIPT} {IMG} <!channel> &amp; *not bold*",
}

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium, installed through scripts/lib.sh if it is missing."""
    found = shutil.which("chromium")
    if not found:
        subprocess.run(["bash", "-c", f". '{ROOT}/scripts/lib.sh' && ensure_chromium"], check=True, timeout=900)
        found = shutil.which("chromium")
    assert found, "chromium is not installed and ensure_chromium could not install it"
    return found


def run_chromium(chromium, tmp_path, *args):
    profile = tmp_path / "chromium-profile"
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Dom(html.parser.HTMLParser):
    """Counts every element and gathers, per message article, its attributes and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = {}
        self.root_attrs = {}
        self.messages = []
        self._depth = None  # element depth inside the current article
        self._classes = []  # open elements' classes inside the current article

    VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "area", "base", "col", "embed", "source"}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "html":
            self.root_attrs = attrs
        if tag == "article" and "message" in attrs.get("class", "").split():
            self.messages.append({"attrs": attrs, "text": "", "classes": {}})
            self._depth = 0
            return
        if self._depth is not None and tag not in self.VOID:
            self._depth += 1
            self._classes.append(attrs.get("class", ""))
            message = self.messages[-1]
            for c in attrs.get("class", "").split():
                message["classes"][c] = message["classes"].get(c, 0) + 1

    def handle_endtag(self, tag):
        if self._depth is None or tag in self.VOID:
            return
        if self._depth == 0:
            self._depth = None
            return
        self._depth -= 1
        self._classes.pop()

    def handle_data(self, data):
        if self._depth is not None:
            self.messages[-1]["text"] += data


def parse_dom(text):
    dom = Dom()
    dom.feed(text)
    return dom


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24]), len(data)


def check(sidecar, *args):
    env = dict(os.environ, FIXTURE_WEBHOOK_URL=SECRET_URL)
    done = subprocess.run([str(sidecar), "check", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "s3cr3t" not in done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def replay(sidecar, tmp_path_factory):
    """(page path, the messages `check --json` reports as (kind, rule, destination, payload))."""
    tmp = tmp_path_factory.mktemp("preview")
    events = tmp / "events.jsonl"
    events.write_text((FIXTURES / "rules-events.jsonl").read_text() + json.dumps(HOSTILE) + "\n")
    page = tmp / "preview.html"
    done = check(sidecar, "--config", CONFIG, "--input", events, "--html", page)
    assert f"wrote 10 messages to {page}" in done.stderr
    # What the replay says it would post, to compare the page with.
    expected = []
    for line in check(sidecar, "--config", CONFIG, "--input", events, "--json").stdout.splitlines():
        record = json.loads(line)
        if "summary" in record or not record["messages"]:
            continue
        if record.get("timer"):
            triples = zip(record["kinds"], record["rules"], record["destinations"])
        else:
            # A line's messages: its alert, or a flatline group's recovery.
            kind = {"alerted": "alert", "logging": "recovered"}[record["decision"]]
            triples = ((kind, r, d) for r, d in zip(record["message_rules"], record["message_destinations"]))
        for (kind, rule, destination), payload in zip(triples, record["messages"]):
            expected.append((kind, rule, destination, payload))
    return page, expected


def test_the_page_is_one_file_that_fetches_nothing(replay):
    page, _ = replay
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in text, "the browser is told: no script, nothing fetched"
    # Every `<` of a payload is escaped, so any of these would be markup.
    for tag in ("<script", "<img", "<link", "<iframe", "<object", "<embed"):
        assert tag not in text, tag
    assert not re.search(r"<[a-zA-Z][^<>]*\ssrc\s*=", text), "an element that fetches"
    style = text[text.index("<style>"):text.index("</style>")]
    assert "url(" not in style and "@import" not in style
    assert "s3cr3t" not in text


def test_chromium_shows_every_message_and_runs_nothing(chromium, replay, tmp_path):
    page, expected = replay
    dom = parse_dom(run_chromium(chromium, tmp_path, "--dump-dom", page.as_uri()))

    # The log line's markup is text: nothing it would do was done.
    assert "data-pwned" not in dom.root_attrs
    assert dom.tags.get("script", 0) == 0
    assert dom.tags.get("img", 0) == 0
    assert dom.tags.get("iframe", 0) == 0

    # One message per message the replay reports, in order, with its kind and rule.
    assert len(expected) == 10
    assert len(dom.messages) == len(expected)
    got = [(m["attrs"]["data-kind"], m["attrs"]["data-rule"], m["attrs"]["data-destination"]) for m in dom.messages]
    kinds = {"repeat": "repeat report"}
    assert got == [(kinds.get(k, k), r, d) for k, r, d, _ in expected]
    assert [k for k, _, _ in got] == ["alert"] * 5 + ["flatline"] * 3 + ["recovered", "alert"]

    by_rule = {}
    for message, (_, rule, destination, payload) in zip(dom.messages, expected):
        text = message["text"]
        by_rule.setdefault(rule, []).append(message)
        if destination == "slack":
            # What Slack shows: the header (the top-level block, so the
            # notification text is not shown beside it) and the colour bar.
            header = payload["blocks"][0]["text"]["text"]
            assert header in text
            assert message["classes"].get("header") == 1 and message["classes"].get("bar") == 1
        else:
            # A JSON destination's body, pretty-printed.
            assert message["classes"].get("json") == 1
            assert '"order": 4711' in text and '"rule": "hook"' in text

    errors, payments, hook = by_rule["errors"], by_rule["payments"], by_rule["hook"]
    assert "connection refused to db-1" in errors[0]["text"]
    assert "card declined for order 81" in payments[0]["text"]
    # Mentions: the operator's <!here> on the FATAL alert shows as Slack's @here;
    # the log line's <!channel> is plain text and pings no one.
    assert "@here" in payments[1]["text"] and payments[1]["classes"].get("broadcast", 0) >= 1
    assert payments[0]["classes"].get("broadcast", 0) == 0
    hostile = errors[1]
    assert SCRIPT in hostile["text"] and IMG in hostile["text"]
    assert "<!channel> &amp; *not bold*" in hostile["text"]
    assert hostile["classes"].get("broadcast", 0) == 0
    assert "3 events within 1m" in by_rule["db-storm"][0]["text"]
    flatline = by_rule["silent"]
    assert ["stopped logging" in m["text"] for m in flatline[:3]] == [True] * 3
    assert [g in m["text"] for g, m in zip(("payments", "worker", "api"), flatline)] == [True] * 3
    assert hook[0]["attrs"]["data-destination"] == "json"
    # Each message says when and why, and what a notification shows.
    assert all("2026-11-20 09:0" in m["text"] for m in dom.messages)
    assert "line 3: alerted" in errors[0]["text"]
    assert "Notification: @here FATAL in payments: ledger corrupt" in payments[1]["text"]


def test_the_screenshot_is_a_picture_of_the_page(chromium, replay, tmp_path):
    page, _ = replay
    shot = tmp_path / "preview.png"
    run_chromium(chromium, tmp_path, "--hide-scrollbars", "--window-size=1000,2400",
                 f"--screenshot={shot}", page.as_uri())
    (width, height), size = png_size(shot)
    assert (width, height) == (1000, 2400)
    # A blank page of that size compresses to a few kilobytes; text and colour do not.
    assert size > 60_000, size
    keep = os.environ.get("PREVIEW_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)

"""Shared fixtures for the end-to-end tests: paths to what scripts/test built."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
VERSION = next(
    line.split('"')[1]
    for line in (ROOT / "Cargo.toml").read_text().splitlines()
    if line.startswith("version = ")
)


def _release_binary(name):
    path = ROOT / "target" / "release" / name
    if not path.exists():
        subprocess.run(["cargo", "build", "--release", "-q", "--bin", name], cwd=ROOT, check=True)
    return path


@pytest.fixture(scope="session")
def gem_path():
    """The gem scripts/build-gem writes (built here if it is missing)."""
    gem = ROOT / "dist" / f"logstash-filter-slack_alert-{VERSION}-java.gem"
    if not gem.exists() or os.environ.get("REBUILD_GEM"):
        out = subprocess.run([str(ROOT / "scripts" / "build-gem")], check=True, capture_output=True, text=True)
        gem = pathlib.Path(out.stdout.strip().splitlines()[-1])
    return gem


@pytest.fixture(scope="session")
def sidecar():
    return _release_binary("slack-alert")


@pytest.fixture(scope="session")
def receiver_bin():
    return _release_binary("fake-slack")


@pytest.fixture
def fake_slack(receiver_bin):
    """A running `fake-slack` (see sidecar_support.Receiver), stopped after the test."""
    from sidecar_support import Receiver

    receiver = Receiver(receiver_bin)
    yield receiver
    receiver.stop()


@pytest.fixture
def start_sidecar(sidecar):
    """Starts `slack-alert run` processes (sidecar_support.Sidecar). At the end each
    is killed if still running, and none may have printed the webhook's secret path."""
    from sidecar_support import WEBHOOK_SECRET, Sidecar

    started = []

    def start(config, *extra, env=None):
        process = Sidecar(sidecar, config, *extra, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        assert WEBHOOK_SECRET not in process.output()


@pytest.fixture(scope="session")
def plugin_jar():
    """The plugin jar `mvn package` writes (built with scripts/build-gem if it is missing)."""
    jar = ROOT / "java-shim" / "plugin" / "target" / f"logstash-filter-slack_alert-{VERSION}.jar"
    if not jar.exists():
        subprocess.run([str(ROOT / "scripts" / "build-gem")], check=True, capture_output=True, text=True)
    return jar

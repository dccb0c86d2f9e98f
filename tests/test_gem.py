"""The gem is laid out exactly as `bin/logstash-plugin install --local` requires.

Each assertion is one of the rules Logstash enforces when it loads a Java
filter plugin (see `../shared/docs/logstash-java-plugin.md`, "Packaging": the
project's shared folder beside the repository, not inside it), or what an
official plugin's gem carries: LICENSE, CHANGELOG.md, the docs in Logstash's
layout, and the notices of what the native library links.
"""
import io
import json
import re
import subprocess
import tarfile
import zipfile

import pytest

from conftest import ROOT, VERSION

NAME = "logstash-filter-slack_alert"
JAR = f"vendor/jar-dependencies/io/slackalert/{NAME}/{VERSION}/{NAME}-{VERSION}.jar"


@pytest.fixture(scope="module")
def gem(gem_path):
    with tarfile.open(gem_path) as outer:
        data = outer.extractfile("data.tar.gz").read()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as inner:
        files = {m.name: inner.extractfile(m).read() for m in inner.getmembers() if m.isfile()}
    return files


@pytest.fixture(scope="module")
def spec(gem_path):
    script = (
        'require "rubygems/package"; require "json"; s = Gem::Package.new(ARGV[0]).spec; '
        'puts JSON.dump({"name" => s.name, "version" => s.version.to_s, "platform" => s.platform.to_s, '
        '"require_paths" => s.require_paths, "metadata" => s.metadata, '
        '"deps" => s.runtime_dependencies.map { |d| [d.name, d.requirement.as_list] }})'
    )
    out = subprocess.run(["ruby", "-e", script, str(gem_path)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def jar(gem):
    return zipfile.ZipFile(io.BytesIO(gem[JAR]))


def test_gem_file_name(gem_path):
    assert gem_path.name == f"{NAME}-{VERSION}-java.gem"


def test_gemspec_identity_and_metadata(spec):
    assert spec["name"] == NAME
    assert spec["version"] == VERSION
    assert spec["platform"] == "java"
    assert spec["require_paths"] == ["lib", "vendor/jar-dependencies"]
    assert spec["metadata"] == {"logstash_plugin": "true", "logstash_group": "filter", "java_plugin": "true"}


def test_runtime_dependencies(spec):
    deps = dict((name, sorted(req)) for name, req in spec["deps"])
    assert deps["logstash-core-plugin-api"] == sorted([">= 1.60", "<= 2.99"])
    assert "jar-dependencies" in deps


def test_exactly_one_jar_with_the_required_name(gem):
    jars = [name for name in gem if name.endswith(".jar")]
    assert jars == [JAR]


def test_ruby_files(gem):
    rb = gem["lib/logstash/filters/slack_alert.rb"].decode()
    assert re.search(r"class LogStash::Filters::SlackAlert < LogStash::Filters::Base", rb)
    assert re.search(r"config_name ['\"]slack_alert['\"]", rb)
    assert re.search(r"def self\.javaClass", rb)
    assert "IoSlackalertLogstash::SlackAlert.java_class" in rb
    assert "require 'logstash-filter-slack_alert_jars'" in rb
    jars_rb = gem["lib/logstash-filter-slack_alert_jars.rb"].decode()
    assert "require 'jar_dependencies'" in jars_rb
    assert "require_jar('io.slackalert', 'logstash-filter-slack_alert'" in jars_rb
    assert gem["VERSION"].decode().strip() == VERSION


def test_plugin_class_follows_logstashs_naming_rules(jar):
    classes = [n for n in jar.namelist() if n.endswith(".class")]
    plugin = "io/slackalert/logstash/SlackAlert.class"
    assert plugin in classes
    simple = plugin.rsplit("/", 1)[1][: -len(".class")]
    assert simple.lower() == "slack_alert".replace("_", "")
    assert not any(n.startswith(("org/logstash/", "co/elastic/logstash/")) for n in classes), \
        "the compile-only Logstash API must not be packaged"
    body = jar.read(plugin)
    assert b"Lco/elastic/logstash/api/LogstashPlugin;" in body
    assert b"slack_alert" in body


def test_the_jar_carries_no_library_but_the_plugin(jar):
    """Jackson is the test kit's and the demo's only: Logstash carries its own, and a second
    copy in the plugin's jar would meet it on the class path."""
    classes = [n for n in jar.namelist() if n.endswith(".class")]
    assert classes and all(n.startswith("io/slackalert/logstash/") for n in classes), \
        [n for n in classes if not n.startswith("io/slackalert/logstash/")][:5]
    assert not any("jackson" in n.lower() for n in jar.namelist())


def test_native_library_travels_inside_the_jar(jar):
    lib = jar.read("native/linux-x86_64/libslack_alert_jni.so")
    assert lib[:4] == b"\x7fELF"
    assert lib[4] == 2, "64-bit"
    assert int.from_bytes(lib[18:20], "little") == 62, "x86-64"


def test_licence_changelog_and_notices_travel_in_the_gem(gem):
    assert gem["LICENSE"] == (ROOT / "LICENSE").read_bytes()
    assert b"Apache License" in gem["LICENSE"] and b"Version 2.0, January 2004" in gem["LICENSE"]
    assert gem["CHANGELOG.md"] == (ROOT / "CHANGELOG.md").read_bytes()
    notices = ROOT / "rust" / "jni" / "THIRD-PARTY-NOTICES.md"
    assert gem["THIRD-PARTY-NOTICES.md"] == notices.read_bytes()


def option_table_names():
    """The option names of the engine's table (rust/engine/src/config/table.rs)."""
    out = subprocess.run(
        ["cargo", "run", "-q", "-p", "slack-alert-engine", "--example", "option-docs", "--", "names"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return out.split()


def test_docs_are_in_logstashs_layout_and_name_every_option(gem):
    doc = gem["docs/index.asciidoc"].decode()
    assert doc.startswith(":plugin: slack_alert\n:type: filter\n")
    assert '[id="plugins-{type}s-{plugin}"]' in doc
    assert "\n==== Description\n" in doc
    assert '[id="plugins-{type}s-{plugin}-options"]\n==== Slack Alert Filter Configuration Options' in doc
    assert "|Setting |Input type|Required" in doc
    assert "include::{include_path}/{type}.asciidoc[]" in doc
    names = option_table_names()
    assert "webhook_url" in names and "rules" in names
    rows = re.findall(r"^\| <<plugins-\{type\}s-\{plugin\}-([a-z_]+)>> \|", doc, re.M)
    sections = re.findall(r'^\[id="plugins-\{type\}s-\{plugin\}-([a-z_]+)"\]\n===== `\1`$', doc, re.M)
    assert sorted(rows) == sorted(names), "the options tables and the option table differ"
    assert sorted(sections) == sorted(names), "the option sections and the option table differ"
    for name in names:
        section = doc.split(f'===== `{name}`', 1)[1].split("\n[id=", 1)[0]
        assert "* Value type is <<" in section, name
        assert "* Default value is" in section or "* There is no default value" in section, name

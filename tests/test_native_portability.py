"""The bundled JNI libraries load on every Linux that runs Logstash 8.x/9.x.

scripts/build-native links the Linux libraries against glibc 2.17 (CentOS/RHEL 7,
and the oldest glibc Rust's std supports) with cargo-zigbuild, for x86_64 and
aarch64. A library linked against the build machine's glibc fails to load on an
older host with "version `GLIBC_2.34' not found", so each library is checked,
both where the build stages it (target/native/) and inside the plugin jar, for:
its ELF machine, the glibc symbol versions and libraries it needs, its JNI
exports, stripped debug sections and its size. Then each is loaded by a JVM of
its own machine: the host's for x86_64, Debian's arm64 JRE under qemu-user for
aarch64.
"""
import pathlib
import platform as host
import re
import shutil
import subprocess
import zipfile

import pytest

from conftest import ROOT

LIBRARY = "libslack_alert_jni.so"
GLIBC_BASELINE = (2, 17)
# Bundle directory -> ELF e_machine, as NativeLibrary maps os.name/os.arch.
PLATFORMS = {"linux-x86_64": 62, "linux-aarch64": 183}
# glibc's own libraries, present on every glibc system. libgcc_s comes with
# every distribution's base system too (zig links its own unwinder, so the
# libraries do not need it today).
ALLOWED_NEEDED = {
    "libc.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "libm.so.6",
    "librt.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
    "libgcc_s.so.1",
}
# Today each library is about 3.5-4 MiB; an unstripped one is over 50 MiB.
MIN_SIZE = 512 * 1024
MAX_SIZE = 8 * 1024 * 1024
MAX_GEM_SIZE = 10 * 1024 * 1024
NATIVE_ENGINE = ROOT / "java-shim/plugin/src/main/java/io/slackalert/logstash/NativeEngine.java"
JNI_PREFIX = "Java_io_slackalert_logstash_NativeEngine_"
# Debian's arm64 packages an aarch64 JVM needs to start and load the library.
AARCH64_JRE_PACKAGES = ["openjdk-17-jre-headless", "libc6", "libgcc-s1", "libstdc++6", "zlib1g"]
AARCH64_ROOT = ROOT / "target" / "aarch64-jre"


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], check=True, capture_output=True, text=True).stdout


def glibc_versions(path):
    """Every GLIBC_x.y version the library's version-needs section asks for."""
    return {
        tuple(int(part) for part in m.group(1).split("."))
        for m in re.finditer(r"Name: GLIBC_(\d+(?:\.\d+)+)\b", readelf("-V", str(path)))
    }


def needed_libraries(path):
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf("-d", str(path))))


def defined_dynamic_symbols(path):
    symbols = set()
    for line in readelf("--dyn-syms", str(path)).splitlines():
        fields = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(fields) == 8 and fields[0].endswith(":") and fields[6] != "UND":
            symbols.add(fields[7].split("@")[0])
    return symbols


def section_names(path):
    return re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", readelf("-S", str(path)), re.M)


def expected_jni_exports():
    """The symbol of every native method NativeEngine.java declares (JNI short names)."""
    names = re.findall(r"\bnative\s+[\w\[\]<>.]+\s+(\w+)\s*\(", NATIVE_ENGINE.read_text())
    return {JNI_PREFIX + name.replace("_", "_1") for name in names}


@pytest.fixture(scope="module")
def jar_libraries(plugin_jar, tmp_path_factory):
    """The libraries the plugin jar carries, extracted: {bundle directory: path}."""
    out = tmp_path_factory.mktemp("jar")
    found = {}
    with zipfile.ZipFile(plugin_jar) as jar:
        for name in PLATFORMS:
            entry = f"native/{name}/{LIBRARY}"
            if entry in jar.namelist():
                found[name] = pathlib.Path(jar.extract(entry, out))
    return found


@pytest.fixture(scope="module", params=[(where, name) for where in ("target/native", "jar") for name in PLATFORMS],
                ids=lambda p: f"{p[0]}:{p[1]}")
def library(request):
    """(bundle directory, path) of one library, staged by build_native or inside the jar."""
    where, name = request.param
    if where == "jar":
        path = request.getfixturevalue("jar_libraries").get(name)
        assert path, f"the plugin jar carries no native/{name}/{LIBRARY}"
    else:
        path = ROOT / "target" / "native" / name / LIBRARY
        assert path.exists(), f"{path} is missing: run scripts/build-native (and read its warnings)"
    return name, path


def test_elf_header_names_the_bundle_machine(library):
    name, path = library
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    assert header[4] == 2, "64-bit (ELFCLASS64)"
    assert header[5] == 1, "little-endian"
    assert int.from_bytes(header[16:18], "little") == 3, "a shared object (ET_DYN)"
    assert int.from_bytes(header[18:20], "little") == PLATFORMS[name]


def test_needs_nothing_newer_than_the_glibc_baseline(library):
    _, path = library
    versions = glibc_versions(path)
    assert versions, "no GLIBC_ symbol versions found: is this a glibc library?"
    newest = max(versions)
    assert newest <= GLIBC_BASELINE, (
        f"{path} needs GLIBC_{'.'.join(map(str, newest))}, newer than the "
        f"{'.'.join(map(str, GLIBC_BASELINE))} baseline: build it with scripts/build-native"
    )


def test_links_only_glibc_libraries(library):
    _, path = library
    assert needed_libraries(path) <= ALLOWED_NEEDED


def test_exports_every_jni_entry_point(library):
    _, path = library
    exported = {s for s in defined_dynamic_symbols(path) if s.startswith("Java_")}
    expected = expected_jni_exports()
    assert expected, f"found no native methods in {NATIVE_ENGINE}"
    assert expected <= exported, f"missing: {sorted(expected - exported)}"


def test_is_stripped(library):
    _, path = library
    sections = section_names(path)
    assert ".dynsym" in sections
    assert not [s for s in sections if s.startswith(".debug")]
    assert ".symtab" not in sections


def test_size_is_bounded(library):
    _, path = library
    size = path.stat().st_size
    assert MIN_SIZE <= size <= MAX_SIZE, f"{path}: {size} bytes"


def test_gem_size_is_bounded(gem_path):
    size = gem_path.stat().st_size
    assert size <= MAX_GEM_SIZE, f"{gem_path}: {size} bytes"


@pytest.fixture(scope="module")
def load_check(plugin_jar, tmp_path_factory):
    """The class path that runs tests/portability/NativeLoadCheck against the plugin jar."""
    out = tmp_path_factory.mktemp("check")
    subprocess.run(
        ["javac", "--release", "17", "-cp", str(plugin_jar), "-d", str(out),
         str(ROOT / "tests" / "portability" / "NativeLoadCheck.java")],
        check=True,
    )
    return f"{plugin_jar}:{out}"


def aarch64_java():
    """Debian's arm64 JRE in target/aarch64-jre, fetched on first use.

    apt-get runs with its own architecture, package lists and cache under that
    folder, so the machine's package set and configuration are left as they are.
    """
    java = AARCH64_ROOT / "root/usr/lib/jvm/java-17-openjdk-arm64/bin/java"
    if java.exists():
        return java
    if not shutil.which("apt-get"):
        pytest.skip("fetching an arm64 JRE needs Debian's apt-get")
    state = AARCH64_ROOT / "apt"
    for d in ("lists/partial", "cache/archives/partial", "debs"):
        (state / d).mkdir(parents=True, exist_ok=True)
    apt = [
        "apt-get", "-qq",
        "-o", "APT::Architecture=arm64", "-o", "APT::Architectures::=arm64",
        "-o", f"Dir::State::Lists={state / 'lists'}", "-o", f"Dir::Cache={state / 'cache'}",
        "-o", "Dir::State::status=/dev/null", "-o", "APT::Sandbox::User=root",
    ]
    subprocess.run([*apt, "update"], check=True)
    subprocess.run([*apt, "download", *AARCH64_JRE_PACKAGES], cwd=state / "debs", check=True)
    staging = AARCH64_ROOT / "root.partial"
    shutil.rmtree(staging, ignore_errors=True)
    for deb in sorted((state / "debs").glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True)
    staging.rename(AARCH64_ROOT / "root")
    shutil.rmtree(state)
    return java


def jvm(name):
    """The command that starts a JVM of the bundle's machine, or skips the test."""
    machine = {"linux-x86_64": "x86_64", "linux-aarch64": "aarch64"}[name]
    if host.machine() == machine:
        return ["java"]
    if machine != "aarch64":
        pytest.skip(f"no {machine} JVM on this {host.machine()} machine")
    if not shutil.which("qemu-aarch64"):
        pytest.skip("install qemu-user to run the aarch64 JVM (scripts/lib.sh ensure_tools does)")
    java = aarch64_java()
    return ["qemu-aarch64", "-L", str(AARCH64_ROOT / "root"), str(java)]


@pytest.mark.parametrize("name", PLATFORMS)
def test_a_jvm_of_the_bundle_machine_loads_it_from_the_jar(name, load_check):
    out = subprocess.run(
        [*jvm(name), "-cp", load_check, "io.slackalert.logstash.NativeLoadCheck"],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"platform {name}"
    assert lines[-1] == "closed", out.stdout

# Shared by the scripts: where things are, and installing what is missing.
# Sourced, not run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NATIVE_DIR="$ROOT/target/native"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Installs whatever of the toolchain this machine lacks.
ensure_tools() {
  local missing=()
  command -v cargo >/dev/null || { echo "cargo (Rust) is required: install it with rustup" >&2; exit 1; }
  command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || missing+=(maven)
  command -v python3 >/dev/null || missing+=(python3)
  command -v gem >/dev/null || missing+=(ruby)
  command -v readelf >/dev/null || missing+=(binutils)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
  # qemu-user runs the aarch64 JVM of tests/test_native_portability.py, which
  # calls qemu-aarch64 by name: the binfmt registration it recommends is unused.
  command -v qemu-aarch64 >/dev/null || apt_install --no-install-recommends qemu-user
  if ! python3 -c 'import pytest' 2>/dev/null; then
    python3 -m pip install -q pytest 2>/dev/null || apt_install python3-pytest
  fi
  if command -v rustup >/dev/null; then
    cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
    cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
  fi
}

# The bundled Linux libraries are linked against this glibc, the oldest that
# Logstash 8.x/9.x hosts still run (CentOS/RHEL 7) and the oldest Rust's std
# supports: a library linked against the build machine's glibc fails to load
# on older hosts with "version `GLIBC_2.34' not found".
GLIBC_BASELINE=2.17
# cargo-zigbuild links through zig's cc, which carries stub glibcs of every
# version; both come from PyPI. Pinned because a new zig can break the linker.
ZIGLANG_VERSION=0.15.2
CARGO_ZIGBUILD_VERSION=0.24.0
# <bundle directory>:<Rust target> for each library the plugin jar carries; the
# directory names are the ones NativeLibrary maps os.name/os.arch to.
NATIVE_TARGETS=(
  linux-x86_64:x86_64-unknown-linux-gnu
  linux-aarch64:aarch64-unknown-linux-gnu
)

warn() { printf '\033[1;33mwarning: %s\033[0m\n' "$*" >&2; }

# Installs the pinned zig and cargo-zigbuild unless they are already there, and
# points cargo-zigbuild at that zig (CARGO_ZIGBUILD_ZIG_PATH) rather than any
# other zig on the PATH.
ensure_zigbuild() {
  local scripts
  scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
  case ":$PATH:" in *":$scripts:"*) ;; *) PATH="$scripts:$PATH" ;; esac
  if [ "$(cargo-zigbuild -V 2>/dev/null)" != "cargo-zigbuild $CARGO_ZIGBUILD_VERSION" ] \
    || [ "$(python3 -m ziglang version 2>/dev/null)" != "$ZIGLANG_VERSION" ]; then
    say "pip install ziglang==$ZIGLANG_VERSION cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
    local pkgs=("ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION")
    python3 -m pip install -q "${pkgs[@]}" 2>/dev/null \
      || python3 -m pip install -q --break-system-packages "${pkgs[@]}"
    hash -r
  fi
  CARGO_ZIGBUILD_ZIG_PATH="$(python3 -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')"
  export CARGO_ZIGBUILD_ZIG_PATH
}

# Returns true if and only if Rust's std for target $1 is installed, adding it
# with rustup if it is missing.
ensure_rust_target() {
  local target=$1
  if [ "$target" = "$(rustc -vV | sed -n 's/^host: //p')" ]; then return 0; fi
  command -v rustup >/dev/null || return 1
  rustup target list --installed | grep -x "$target" >/dev/null && return 0
  say "rustup target add $target"
  timeout 300 rustup target add "$target" >&2
}

# The NATIVE_TARGETS entry of this machine, e.g. linux-x86_64:x86_64-unknown-linux-gnu.
host_native_target() {
  local entry
  for entry in "${NATIVE_TARGETS[@]}"; do
    if [ "${entry%%:*}" = "linux-$(uname -m)" ]; then echo "$entry"; return 0; fi
  done
  echo "no bundled library is built for $(uname -s) $(uname -m); see the README's Portability" >&2
  return 1
}

# Builds the receiver and sidecar binaries for this machine (target/release)
# and the JNI library, staged where Maven packs it: target/native/<dir>/.
#
#   build_native all   (the default) every NATIVE_TARGETS library, each linked
#                      against glibc GLIBC_BASELINE: what a release gem ships.
#                      Fails if any of them cannot be built: a gem without its
#                      aarch64 library would refuse to start on aarch64 hosts.
#   build_native host  only this machine's library, a plain cargo build against
#                      the build machine's glibc, sharing the engine with the
#                      sidecar's build: quicker, for running here (the demo),
#                      never for shipping (scripts/build-gem refuses it).
#
# The JNI crate is left out of the binaries' build: in "all" its x86_64
# library comes from the zigbuild, so it is compiled once.
build_native() {
  local mode=${1:-all} started=$SECONDS entry dir target lib=libslack_alert_jni.so
  case "$mode" in
    all | host) ;;
    *) echo "build_native: \"$mode\" is not a mode; use \"all\" or \"host\"" >&2; return 2 ;;
  esac
  say "cargo build --release (receiver, sidecar)"
  (cd "$ROOT" && cargo build --release -q -p fake-slack -p slack-alert-sidecar)
  say "receiver and sidecar built in $((SECONDS - started))s"
  rm -rf "$NATIVE_DIR"
  if [ "$mode" = host ]; then
    entry="$(host_native_target)" || return 1
    dir=${entry%%:*} started=$SECONDS
    # A build of its own, not added to the one above: cargo unifies features
    # over the packages of one invocation, so adding the JNI crate there
    # would rebuild the binaries whenever the mode changes.
    say "cargo build --release -p slack-alert-jni (this machine only)"
    (cd "$ROOT" && cargo build --release -q -p slack-alert-jni)
    mkdir -p "$NATIVE_DIR/$dir"
    cp "$ROOT/target/release/$lib" "$NATIVE_DIR/$dir/$lib"
    say "$dir library built in $((SECONDS - started))s"
    return 0
  fi
  ensure_zigbuild
  for entry in "${NATIVE_TARGETS[@]}"; do
    dir=${entry%%:*} target=${entry#*:}
    if ! ensure_rust_target "$target"; then
      echo "cannot build the $dir JNI library: Rust std for $target is missing and" \
        "\`rustup target add $target\` failed. A gem without it would refuse to start on" \
        "$dir hosts; install the target, or build for this machine only (build_native host)" \
        "to run it here" >&2
      return 1
    fi
    started=$SECONDS
    say "cargo zigbuild --release --target $target.$GLIBC_BASELINE -p slack-alert-jni"
    # strip = "symbols" leaves the dynamic symbol table, so the JNI entry
    # points stay exported; it keeps the library the same whatever the release
    # profile says about the host binaries.
    (cd "$ROOT" && CARGO_PROFILE_RELEASE_STRIP=symbols \
      cargo zigbuild --release -q --target "$target.$GLIBC_BASELINE" -p slack-alert-jni)
    mkdir -p "$NATIVE_DIR/$dir"
    cp "$ROOT/target/$target/release/$lib" "$NATIVE_DIR/$dir/$lib"
    say "$dir library built in $((SECONDS - started))s"
  done
}

# Fails unless target/native holds every NATIVE_TARGETS library, as
# `build_native all` leaves it (not a host-only build).
check_native_all() {
  local entry dir
  for entry in "${NATIVE_TARGETS[@]}"; do
    dir=${entry%%:*}
    if [ ! -f "$NATIVE_DIR/$dir/libslack_alert_jni.so" ]; then
      echo "$NATIVE_DIR has no $dir library (a host-only build, e.g. by scripts/demo?):" \
        "a release gem carries every bundled library; run scripts/build-native" >&2
      return 1
    fi
  done
}

mvn_q() { (cd "$ROOT/java-shim" && mvn -B -q -Dnative.dir="$NATIVE_DIR" -Dslackalert.receiver="$ROOT/target/release/fake-slack" "$@"); }

# Headless Chromium from Debian's packages, for tests/test_html_preview.py
# (which calls this when `chromium` is missing): it loads the page
# `slack-alert check --html` writes. Lato is Slack's typeface; the colour
# emoji and Korean fonts show 🚨 and 한국어 (common in these alerts) as Slack does.
ensure_chromium() {
  local package missing=()
  for package in chromium fonts-lato fonts-noto-color-emoji fonts-nanum; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt_install --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
  fi
}

# What scripts/demo needs and nothing more: a JDK and Maven (Rust must be
# there). The test toolchain (Ruby, qemu-user, pytest) is ensure_tools'.
ensure_demo_tools() {
  local missing=()
  command -v cargo >/dev/null || { echo "cargo (Rust) is required: install it with rustup" >&2; exit 1; }
  command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || missing+=(maven)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# Where scripts/demo stages the library it builds: apart from target/native,
# so the demo never puts a library linked against this machine's glibc where
# the gem's portable ones belong.
DEMO_NATIVE_DIR="$ROOT/target/demo/native"

# Builds only what scripts/demo runs, for this machine: the JNI library (a
# plain cargo build: it only has to load here, so no glibc-2.17 zigbuild) and
# the fake Slack, in the `quick` profile (Cargo.toml: the same code, built in
# about 60 % of the release profile's time), and stages the library in
# DEMO_NATIVE_DIR/<dir>/, the directory name NativeLibrary maps
# os.name/os.arch to.
build_host_native() {
  local started=$SECONDS dir lib=libslack_alert_jni.so
  case "$(uname -m)" in
    x86_64 | amd64) dir=linux-x86_64 ;;
    aarch64 | arm64) dir=linux-aarch64 ;;
    *) echo "the demo runs on Linux x86_64 or aarch64, not $(uname -m)" >&2; return 1 ;;
  esac
  say "cargo build --profile quick (JNI library for this machine, fake Slack)"
  (cd "$ROOT" && cargo build --profile quick -q -p slack-alert-jni -p fake-slack)
  rm -rf "$DEMO_NATIVE_DIR"
  mkdir -p "$DEMO_NATIVE_DIR/$dir"
  cp "$ROOT/target/quick/$lib" "$DEMO_NATIVE_DIR/$dir/$lib"
  say "JNI library and fake Slack built in $((SECONDS - started))s"
}

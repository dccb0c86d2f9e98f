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
  if ! python3 -c 'import pytest' 2>/dev/null; then
    python3 -m pip install -q pytest 2>/dev/null || apt_install python3-pytest
  fi
  if command -v rustup >/dev/null; then
    cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
    cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
  fi
}

# Builds the JNI library (release) and stages it where Maven packs it.
build_native() {
  say "cargo build --release (JNI library, receiver, sidecar)"
  (cd "$ROOT" && cargo build --release -q -p slack-alert-jni -p slack-alert-receiver -p slack-alert-sidecar)
  mkdir -p "$NATIVE_DIR/linux-x86_64"
  cp "$ROOT/target/release/libslack_alert_jni.so" "$NATIVE_DIR/linux-x86_64/libslack_alert_jni.so"
}

mvn_q() { (cd "$ROOT/java-shim" && mvn -B -q -Dnative.dir="$NATIVE_DIR" -Dslackalert.receiver="$ROOT/target/release/slack-receiver" "$@"); }

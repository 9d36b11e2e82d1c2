#!/usr/bin/env bash
# brandhound quick start. Installs what is missing, reuses what is there.
#
#   ./brandhound.sh run     the main job on the embedded default (local Elasticsearch)
#   ./brandhound.sh test    the test suite (what .ci/run runs); extra arguments go to pytest
#   ./brandhound.sh setup   only install
#   ./brandhound.sh lock    re-resolve requirements.lock after changing pyproject.toml
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VENV=${BRANDHOUND_VENV:-$ROOT/.venv}
UV_VERSION=0.13.9
EXAMPLE_BRAND=$ROOT/examples/brands/kestrava/brand.yaml

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; exit 1
  fi
}

java_ok() {
  # Elasticsearch 8 needs Java 17 or newer.
  local v
  command -v java >/dev/null || return 1
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  [ -n "$v" ] && [ "$v" -ge 17 ]
}

install_system_packages() {
  local missing=()
  java_ok || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  # The capture browser: Debian's Chromium, driven by Playwright (no browser download).
  command -v chromium >/dev/null || missing+=(chromium)
  # The private Tor network of the onion sandbox: Debian's tor (tor, tor-gencert).
  command -v tor-gencert >/dev/null || missing+=(tor)
  # The shared crawl frontier of scaled-out crawls (and Airflow's Celery broker in production).
  command -v redis-server >/dev/null || missing+=(redis-server)
  # PDF letters and reports (WeasyPrint's Pango), and pdftoppm to look at them in tests.
  # (grep reads all of it: with -q, ldconfig would die of SIGPIPE and pipefail would call the library missing)
  { ldconfig -p 2>/dev/null || /sbin/ldconfig -p; } | grep libpangoft2-1.0 >/dev/null || missing+=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
  command -v pdftoppm >/dev/null || missing+=(poppler-utils)
  command -v python3 >/dev/null || missing+=(python3)
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  command -v useradd >/dev/null || [ "$(id -u)" -ne 0 ] || missing+=(passwd)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

install_python_packages() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment $VENV"
    python3 -m venv "$VENV"
  fi
  if [ "$("$VENV/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
  fi
  local stamp want
  stamp="$VENV/.brandhound-installed"
  want=$(cat "$ROOT/requirements.lock" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python packages from requirements.lock"
    "$VENV/bin/uv" pip sync -q --python "$VENV/bin/python" "$ROOT/requirements.lock"
    "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" --no-deps -e "$ROOT"
    echo "$want" >"$stamp"
  fi
}

setup() {
  install_system_packages
  install_python_packages
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  run)
    setup
    exec "$VENV/bin/brandhound" run --brand "${BRANDHOUND_BRAND:-$EXAMPLE_BRAND}" "$@"
    ;;
  test)
    setup
    cd "$ROOT"
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  lock)
    install_python_packages
    "$VENV/bin/uv" pip compile -q "$ROOT/pyproject.toml" --extra dev --universal --python-version 3.11 \
      -o "$ROOT/requirements.lock"
    ;;
  *)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac

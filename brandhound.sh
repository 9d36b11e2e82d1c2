#!/usr/bin/env bash
# brandhound quick start. Installs what is missing, reuses what is there.
#
#   ./brandhound.sh run     the main job on the embedded default (local Elasticsearch)
#   ./brandhound.sh test    the test suite (what .ci/run runs); extra arguments go to pytest
#   ./brandhound.sh lint    ruff over the tree and mypy over the production packages (what .ci/run checks first)
#   ./brandhound.sh peers   build the peers the evaluation measures that PyPI lacks (gitleaks)
#   ./brandhound.sh setup   only install
#   ./brandhound.sh lock    re-resolve requirements.lock (runtime) and requirements-dev.lock (+ tests) after changing pyproject.toml
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

lock_hash() { cat "$1" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1; }

# install_python_packages LOCK: the venv holds exactly LOCK's packages and brandhound in place.
# requirements.lock is what brandhound runs on; requirements-dev.lock adds the test tools and the
# peers the evaluation measures, so a venv synced to it also serves `run`.
install_python_packages() {
  local lock=${1:-$ROOT/requirements.lock}
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment $VENV"
    python3 -m venv "$VENV"
  fi
  if [ "$("$VENV/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
  fi
  local stamp have
  stamp="$VENV/.brandhound-installed"
  have=$(cat "$stamp" 2>/dev/null || true)
  if [ "$have" = "$(lock_hash "$lock")" ]; then return; fi
  if [ "$lock" = "$ROOT/requirements.lock" ] && [ "$have" = "$(lock_hash "$ROOT/requirements-dev.lock")" ]; then return; fi
  say "installing Python packages from $(basename "$lock")"
  "$VENV/bin/uv" pip sync -q --python "$VENV/bin/python" "$lock"
  "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" --no-deps -e "$ROOT"
  lock_hash "$lock" >"$stamp"
}

# The peers the evaluation measures that PyPI does not carry: gitleaks, built by Go from its module.
GITLEAKS_VERSION=v8.18.4
install_peers() {
  local gobin
  command -v go >/dev/null || { say "no Go toolchain: the evaluation reports gitleaks as not installed"; return; }
  gobin=$(go env GOPATH)/bin
  if [ "$("$gobin/gitleaks" version 2>/dev/null)" != "$GITLEAKS_VERSION" ]; then
    say "building gitleaks $GITLEAKS_VERSION (a peer of the leak scanner)"
    GOFLAGS=-mod=mod go install -ldflags "-X github.com/zricethezav/gitleaks/v8/cmd.Version=$GITLEAKS_VERSION" \
      "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION" \
      || say "gitleaks did not build: the evaluation reports it as not installed"
  fi
}

# Does a pytest command line pick its own tests (a path, a node id, -k or -m)?
selects_tests() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      -k|-m|-k*|-m*|--deselect*|--lf|--last-failed|--ff) return 0 ;;
    esac
    [ -e "${arg%%::*}" ] && return 0
  done
  return 1
}

# The whole suite as two pytest sessions side by side: the integration tests spend most of their
# time waiting on services (crawl delays, Tor, Elasticsearch restarts), so the CPU-bound unit and
# evaluation tests run beside them instead of after. The integration session's output streams;
# the other's is printed when both are done. Exit: 1 if either failed, else 5 if either collected
# nothing, else 0.
run_whole_suite() {
  local log status=0 other=0
  log=$(mktemp)
  local dir others=()
  for dir in tests/*/; do
    dir=${dir%/}
    [ "$dir" = tests/integration ] && continue
    [ -n "$(find "$dir" -name 'test_*.py' -print -quit)" ] && others+=("$dir")
  done
  "$VENV/bin/python" -m pytest "$@" "${others[@]}" >"$log" 2>&1 &
  local pid=$!
  "$VENV/bin/python" -m pytest "$@" tests/integration || status=$?
  wait "$pid" || other=$?
  say "${others[*]} (run beside tests/integration):"
  cat "$log"
  rm -f "$log"
  if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then return "$status"; fi
  if [ "$other" -ne 0 ] && [ "$other" -ne 5 ]; then return "$other"; fi
  if [ "$status" -eq 5 ] || [ "$other" -eq 5 ]; then return 5; fi
  return 0
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
    install_system_packages
    install_python_packages "$ROOT/requirements-dev.lock"
    install_peers
    cd "$ROOT"
    if selects_tests "$@"; then exec "$VENV/bin/python" -m pytest "$@"; fi
    run_whole_suite "$@"
    ;;
  peers)
    install_peers
    ;;
  lint)
    install_system_packages
    install_python_packages "$ROOT/requirements-dev.lock"
    cd "$ROOT"
    "$VENV/bin/ruff" check .
    # Types of the production packages ([tool.mypy] in pyproject.toml); the layer contract is a unit test.
    exec "$VENV/bin/mypy"
    ;;
  lock)
    # uv is all it needs; a venv that serves the tests is kept as it is (the runtime set would remove them).
    install_python_packages "$ROOT/requirements-dev.lock"
    cd "$ROOT"  # relative paths, so the locks' headers name no machine's checkout
    "$VENV/bin/uv" pip compile -q pyproject.toml --universal --python-version 3.11 -o requirements.lock
    # The same versions of everything the runtime set holds, and the test tools on top.
    "$VENV/bin/uv" pip compile -q pyproject.toml --extra dev --universal --python-version 3.11 \
      -c requirements.lock -o requirements-dev.lock
    ;;
  *)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac

#!/usr/bin/env bash
# One entry point from a fresh Debian machine with only Python:
#   bash bootstrap.sh demo   set up (ngspice, venv, package) and run the main job
#   bash bootstrap.sh test   set up and run lint + the test suite
#   bash bootstrap.sh setup  set up only
#   bash bootstrap.sh bench  set up and run the benchmarks
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
APT_PACKAGES="ngspice libngspice0-dev"

say() { printf '[bootstrap] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
    else return 1
    fi
}

have_libngspice() {
    ldconfig -p 2>/dev/null | grep -q 'libngspice\.so ' \
        || ls /usr/lib/*/libngspice.so /usr/lib/libngspice.so >/dev/null 2>&1
}

apt_install() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

ensure_ngspice() {
    if command -v ngspice >/dev/null 2>&1 && have_libngspice; then return 0; fi
    say "installing $APT_PACKAGES with apt-get"
    if ! apt_install $APT_PACKAGES; then
        say "ERROR: ngspice is missing and could not be installed by this user."
        say "Run as root:  apt-get update && apt-get install -y $APT_PACKAGES"
        say "then run this command again."
        exit 1
    fi
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            say "python venv module missing; installing python3-venv"
            apt_install python3-venv || {
                say "ERROR: cannot create a virtual environment. Run as root:"
                say "  apt-get update && apt-get install -y python3-venv"
                exit 1
            }
            "$PYTHON" -m venv "$VENV"
        fi
    fi
    # Reinstall only when the package metadata changed.
    local stamp="$VENV/.setup-stamp" want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        say "installing the package and its dependencies into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e '.[test]'
        echo "$want" > "$stamp"
    fi
}

# The test suite opens the HTML reports in headless Chromium.
ensure_chromium() {
    if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
        return 0
    fi
    say "installing chromium (headless report tests) with apt-get"
    if ! apt_install chromium; then
        say "ERROR: chromium is missing and could not be installed by this user."
        say "Run as root:  apt-get update && apt-get install -y chromium"
        exit 1
    fi
}

setup() { ensure_ngspice; ensure_venv; }

case "${1:-demo}" in
    setup) setup ;;
    demo)  setup; shift || true; exec "$VENV/bin/cosim" demo "$@" ;;
    test)  setup; ensure_chromium; shift || true
           "$VENV/bin/ruff" check .
           exec "$VENV/bin/python" -m pytest "$@" ;;
    bench) setup; shift || true
           for b in benchmarks/*.py; do "$VENV/bin/python" "$b"; done ;;
    *) say "usage: bash bootstrap.sh [demo|test|setup|bench]"; exit 2 ;;
esac

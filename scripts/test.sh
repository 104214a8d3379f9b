#!/usr/bin/env bash
# Builds imagegate and runs every test: unit, end-to-end (real TLS server, real kubectl, real peers on
# 127.0.0.1) and a short run of each fuzz target. Installs what it needs first (Debian packages).
# Usage: scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

export IMAGEGATE_CONFORMANCE_DIR="${IMAGEGATE_CONFORMANCE_DIR:-$(cd .. && pwd)/shared/conformance}"
if [ ! -d "$IMAGEGATE_CONFORMANCE_DIR" ]; then
  echo "test.sh: conformance vectors not found at $IMAGEGATE_CONFORMANCE_DIR (set IMAGEGATE_CONFORMANCE_DIR)" >&2
  exit 2
fi

scripts/install-deps.sh
jobs="$(nproc)"

# The sanitizer tree (clang, ASan+UBSan, -O0 -g1, linked by lld), built first: the fuzz targets
# (registered as short runs by the regular tree below) and, with IMAGEGATE_SANITIZER_TESTS=1, a second
# build of every test, run alongside the regular tests. -O0: the sanitizers' checks do not need the
# optimiser, and it halves this tree's compile time (https_server.cc: 184 s at -O1, 159 s at -O0;
# verdict_api_test.cc: 294 s and 93 s). The second run is off by default until CI's time budget is
# measured with it (docs/security.md, "Sanitizers").
sanitizer_tests="${IMAGEGATE_SANITIZER_TESTS:-0}"
fuzz_dir=""
san_dir=""
if command -v clang++ >/dev/null 2>&1; then
  san_dir="$PWD/build-asan"
  fuzz_dir="$san_dir/tests/fuzz"
  cmake -S . -B build-asan -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1" -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DIMAGEGATE_FUZZ=ON \
    -DIMAGEGATE_TESTS=ON -DIMAGEGATE_WERROR=OFF -DIMAGEGATE_CONFORMANCE_DIR="$IMAGEGATE_CONFORMANCE_DIR" >/dev/null
  if [ "$sanitizer_tests" = 1 ]; then
    cmake --build build-asan -j "$jobs"
  else
    cmake --build build-asan -j "$jobs" --target fuzz_all
  fi
fi

# IMAGEGATE_TEST_CXX_FLAGS: the optimisation of this build. Default -O2 without debug information: the
# same code as RelWithDebInfo at about a quarter less compile time (measured on https_server.cc: 112 s
# with -g, 82 s without); set it to "-O2 -g -DNDEBUG" to debug a failing test.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=${IMAGEGATE_TEST_CXX_FLAGS:--O2 -DNDEBUG}" \
  -DIMAGEGATE_CONFORMANCE_DIR="$IMAGEGATE_CONFORMANCE_DIR" -DIMAGEGATE_FUZZ_BIN_DIR="$fuzz_dir" >/dev/null
cmake --build build -j "$jobs"

# The sanitizer run overlaps the regular one: most of an end-to-end test's time is spent waiting on peers,
# sockets and timers, so two runs share the cores better than one after the other (CI's time budget). Its
# output follows the regular run's.
status=0
san_pid=""
if [ -n "$san_dir" ] && [ "$sanitizer_tests" = 1 ]; then
  scripts/sanitizer-tests.sh "$san_dir" "$jobs" "$@" >"$san_dir/sanitizer-tests.log" 2>&1 &
  san_pid=$!
fi
(cd build && ctest --output-on-failure -j "$jobs" --timeout 900 "$@") || status=1
if [ -n "$san_pid" ]; then
  wait "$san_pid" || status=1
  echo "== the same tests under ASan+UBSan ($san_dir, scripts/sanitizer-tests.sh)"
  cat "$san_dir/sanitizer-tests.log"
fi
exit "$status"

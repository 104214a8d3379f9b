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

fuzz_dir=""
if command -v clang++ >/dev/null 2>&1; then
  fuzz_dir="$PWD/build-fuzz/tests/fuzz"
  # -O1 -g1: the short fuzz runs below need line numbers in a crash's stack, not full debug info, and
  # this build is a third of the whole run's compile time (bench/fuzz-campaign.sh builds its own).
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
    -DIMAGEGATE_FUZZ=ON -DIMAGEGATE_TESTS=OFF -DIMAGEGATE_WERROR=OFF >/dev/null
  cmake --build build-fuzz -j "$jobs" --target fuzz_all
fi

# IMAGEGATE_TEST_CXX_FLAGS: the optimisation of this build. Default -O2 without debug information: the
# same code as RelWithDebInfo at about a quarter less compile time (measured on https_server.cc: 112 s
# with -g, 82 s without); set it to "-O2 -g -DNDEBUG" to debug a failing test.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=${IMAGEGATE_TEST_CXX_FLAGS:--O2 -DNDEBUG}" \
  -DIMAGEGATE_CONFORMANCE_DIR="$IMAGEGATE_CONFORMANCE_DIR" -DIMAGEGATE_FUZZ_BIN_DIR="$fuzz_dir" >/dev/null
cmake --build build -j "$jobs"

cd build
exec ctest --output-on-failure -j "$jobs" --timeout 900 "$@"

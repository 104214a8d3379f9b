#!/usr/bin/env bash
# Issue 19: is Debian's prometheus-cpp (1.0.1) worth taking instead of webhook/observe/metrics.cc's
# hand-written exposition? bench/metrics_bench.cc records reviews the way serve does, from several threads
# at once, into both, and times one scrape of each. Needs `apt-get install prometheus-cpp-dev` (the target
# exists only when CMake finds it). Prints Markdown tables (recorded in docs/BENCHMARKS.md).
#
# Usage: bench/metrics.sh [build dir (default build)] [threads (default 2)] [observations per thread]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"; threads="${2:-2}"; per_thread="${3:-2000000}"
cmake "$build" >/dev/null
cmake --build "$build" --target metrics_bench >/dev/null
"$build/bench/metrics_bench" "$threads" "$per_thread"

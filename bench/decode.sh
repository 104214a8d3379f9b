#!/usr/bin/env bash
# The decode stage alone (issue 15): bench/run.sh's review (a kubectl Deployment with 3 containers, as an
# AdmissionReview v1) decoded by the one-pass decoder and by the nlohmann DOM decoder it replaced, plus
# the floor of a decoder on nlohmann's SAX interface. Prints a Markdown table: ns and allocations per decode.
#
# Usage: bench/decode.sh [build dir (default build)] [iterations (default 20000)]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"; iterations="${2:-20000}"
cmake --build "$build" --target decode_bench >/dev/null
dir="$(mktemp -d)"; trap 'rm -rf "$dir"' EXIT
bench/review.sh "$dir"
"$build/bench/decode_bench" "$dir/review.json" "$iterations"

#!/usr/bin/env bash
# Runs every unit and e2e test of a sanitizer tree (clang, IMAGEGATE_FUZZ=ON with IMAGEGATE_TESTS=ON: ASan
# and UBSan, as scripts/test.sh builds it), then fails if any sanitized process wrote a report. The tests'
# environment (tests/CMakeLists.txt) sends ASan, LeakSanitizer and UBSan reports to files in
# DIR/sanitizer-reports rather than to stderr: a server that reports a leak at exit, after its test has
# checked everything else, would otherwise go unseen. Every report found is printed.
# Usage: scripts/sanitizer-tests.sh DIR [jobs] [ctest args...]
set -euo pipefail
dir="${1:?usage: scripts/sanitizer-tests.sh DIR [jobs] [ctest args...]}"
jobs="${2:-$(nproc)}"
shift $(( $# >= 2 ? 2 : 1 ))
reports="$dir/sanitizer-reports"
[ -f "$dir/CTestTestfile.cmake" ] || { echo "sanitizer-tests: no test tree at $dir" >&2; exit 2; }
rm -rf "$reports"
mkdir -p "$reports"

status=0
(cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 900 "$@") || status=1

shopt -s nullglob
found=("$reports"/*)
if [ ${#found[@]} -gt 0 ]; then
  echo "sanitizer-tests: ${#found[@]} report(s) in $reports:" >&2
  for f in "${found[@]}"; do
    echo "---- $f" >&2
    head -c 20000 "$f" >&2
  done
  status=1
fi
exit "$status"

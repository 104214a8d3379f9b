#!/usr/bin/env bash
# Two imagegate builds side by side: bench/run.sh run alternately with each binary (A B A B ...), so both
# see the same machine state; prints each run's ratio to nginx and p99 at half peak, then the medians and
# B's median ratio over A's. For a change that must not lose speed (README: restructuring, issue 14) or
# that claims a gain.
#
# Usage: bench/compare.sh OLD_BINARY NEW_BINARY [rounds (default 3)] [seconds-per-run (default 8)]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bench/compare.sh OLD_BINARY NEW_BINARY [rounds] [seconds]" >&2; exit 2; }
old="$(realpath "$1")"; new="$(realpath "$2")"
rounds="${3:-3}"; secs="${4:-8}"
out="$(mktemp)"; trap 'rm -f "$out"' EXIT
for round in $(seq "$rounds"); do
  for which in old new; do
    bin="$old"; [ "$which" = new ] && bin="$new"
    text="$(IMAGEGATE_BINARY="$bin" bench/run.sh "$secs" 1)"
    ratio="$(sed -n 's/^imagegate \/ nginx requests\/s: \([0-9.]*\).*/\1/p' <<<"$text")"
    rps="$(sed -n 's/^| imagegate \/validate | \([0-9]*\) .*/\1/p' <<<"$text")"
    p99="$(sed -n 's/.*p99 \([0-9.]*\) ms (target p99.*/\1/p' <<<"$text")"
    idle="$(sed -n 's/.*, \([0-9.]*\) MiB idle after.*/\1/p' <<<"$text")"
    echo "$which $ratio $rps $p99 $idle" >> "$out"
    echo "round $round $which: ${ratio}x nginx, $rps req/s, p99 at half peak $p99 ms, idle $idle MiB"
  done
done
python3 - "$out" "$old" "$new" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
med = {w: [statistics.median(float(r[i]) for r in rows if r[0] == w) for i in (1, 2, 3, 4)] for w in ("old", "new")}
print("\n| build | median ratio to nginx | median req/s | median p99 at half peak (ms) | median idle MiB |")
print("|---|---|---|---|---|")
for w, path in (("old", sys.argv[2]), ("new", sys.argv[3])):
    r, rps, p99, idle = med[w]
    print(f"| {w} ({path}) | {r:.2f} | {rps:.0f} | {p99:.2f} | {idle:.1f} |")
print(f"\nnew / old median ratio: {med['new'][0] / med['old'][0]:.2f}")
PY

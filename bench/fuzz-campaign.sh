#!/usr/bin/env bash
# Fuzz campaign (issue 20): builds the libFuzzer targets of tests/fuzz (clang, ASan+UBSan, the
# IMAGEGATE_FUZZ build in its own directory) and runs each one to EXECS executions (`-runs=`), JOBS of
# them at a time, each from a fresh scratch corpus seeded with tests/fuzz/corpus/<name>/. It prints a
# markdown table (target, executions, exec/s, exec per CPU second, coverage, corpus, crashes) and writes it to
# OUT/campaign.md; crash, timeout and OOM inputs stay in OUT/crashes/<name>/, each target's log in
# OUT/logs/. Exits 1 if any target found a crash (or failed to finish), 0 otherwise.
#
#   bench/fuzz-campaign.sh [EXECS] [TARGET...]     (defaults: 10000000, every tests/fuzz/*_fuzz.cc)
#   env: JOBS (default nproc), BUILD_DIR (default build-fuzz-campaign, -O2 -g), OUT (default BUILD_DIR/campaign),
#        TIMEOUT (seconds one input may take before it counts as a finding, default 25),
#        FUZZ_ARGS (more libFuzzer flags for every target, e.g. "-entropic=0": see docs/security.md)
# docs/security.md ("Fuzz campaign") records a run and the command that produced it.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
execs="${1:-10000000}"
shift || true
jobs="${JOBS:-$(nproc)}"
build="${BUILD_DIR:-$src/build-fuzz-campaign}"  # not scripts/test.sh's build-fuzz (-O1 -g1)
out="${OUT:-$build/campaign}"
timeout_s="${TIMEOUT:-25}"
read -r -a fuzz_args <<<"${FUZZ_ARGS:-}"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$src"/tests/fuzz/*_fuzz.cc; do targets+=("$(basename "$f" .cc)"); done
fi

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g -DNDEBUG" -DIMAGEGATE_FUZZ=ON -DIMAGEGATE_TESTS=OFF -DIMAGEGATE_WERROR=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

rm -rf "$out"
mkdir -p "$out/logs" "$out/crashes" "$out/corpus"

# One target: a fresh scratch corpus (libFuzzer writes new inputs into the first folder), the committed
# seeds read from the second; findings go to crashes/<name>/.
run_one() {
  local name="$1"
  mkdir -p "$out/corpus/$name" "$out/crashes/$name"
  local start end TIMEFORMAT='%U %S'
  start="$(date +%s)"
  # CPU seconds (user + system) beside the wall clock: on a shared machine exec/s measures the load,
  # executions per CPU second measure the target.
  { time { "$build/tests/fuzz/$name" -runs="$execs" -rss_limit_mb=2048 -max_len=65536 -timeout="$timeout_s" \
    -print_final_stats=1 -artifact_prefix="$out/crashes/$name/" "${fuzz_args[@]}" "$out/corpus/$name" \
    "$src/tests/fuzz/corpus/$name" >"$out/logs/$name.log" 2>&1; echo $? >"$out/logs/$name.rc"; }; } \
    2>"$out/logs/$name.cpu"
  end="$(date +%s)"
  echo "$(cat "$out/logs/$name.rc") $((end - start)) $(cat "$out/logs/$name.cpu")" >"$out/logs/$name.status"
}

started="$(date +%s)"
for name in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  echo "fuzz-campaign: $name ($execs executions)" >&2
  run_one "$name" &
done
wait
elapsed="$(($(date +%s) - started))"

# The figures of one log: libFuzzer's final stats and the cov:/corp: of its last status line.
stat() { sed -n "s/^stat::$2: *//p" "$out/logs/$1.log" | tail -1; }
last_status() { grep -E '^#[0-9]+' "$out/logs/$1.log" | tail -1; }

failed=0
table="$out/campaign.md"
{
  echo "| target | executions | exec/s | exec/CPU-s | coverage (cov) | corpus (inputs/bytes) | crashes | seconds |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for name in "${targets[@]}"; do
    read -r rc secs user sys <"$out/logs/$name.status"
    runs="$(stat "$name" number_of_executed_units)"
    rate="$(stat "$name" average_exec_per_sec)"
    line="$(last_status "$name")"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")"
    corp="$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$line")"
    crashes="$(find "$out/crashes/$name" -type f | wc -l)"
    if [ "$rc" != 0 ] || [ "$crashes" != 0 ] || [ "${runs:-0}" -lt "$execs" ]; then
      failed=1
      [ "$crashes" != 0 ] || crashes="exit $rc"
    fi
    per_cpu="$(awk -v n="${runs:-0}" -v u="${user:-0}" -v s="${sys:-0}" 'BEGIN { t = u + s; printf "%d", (t > 0 ? n / t : 0) }')"
    echo "| $name | ${runs:-?} | ${rate:-?} | $per_cpu | ${cov:-?} | ${corp:-?} | $crashes | $secs |"
  done
  echo
  echo "${#targets[@]} targets, $execs executions each, $jobs in parallel, ${elapsed} s in all;" \
    "libFuzzer flags added: ${FUZZ_ARGS:-none};" \
    "crash inputs: $out/crashes/"
} | tee "$table"
echo "fuzz-campaign: table written to $table" >&2
exit "$failed"

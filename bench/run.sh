#!/usr/bin/env bash
# Benchmark: imagegate's /validate against nginx serving a static TLS answer, side by side in one run.
# Both get the same TLS certificate, the same number of threads/workers and the same wrk load: a
# Deployment review with 3 containers POSTed over HTTPS keep-alive. Reports requests/s, p50/p99, their
# ratio, latency at half of imagegate's peak rate, and imagegate's idle resident memory.
#
# Usage: bench/run.sh [seconds-per-run (default 10)]     (expects build/imagegate; scripts/run.sh builds it)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
threads="${BENCH_THREADS:-2}"
conns="${BENCH_CONNECTIONS:-32}"
bin="${IMAGEGATE_BINARY:-$PWD/build/imagegate}"
[ -x "$bin" ] || { echo "bench: $bin not built (cmake --build build --target imagegate)" >&2; exit 2; }

dir="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listening on port $1" >&2; exit 1
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null

# The review: a real Deployment object from kubectl, 3 containers, wrapped as an AdmissionReview v1.
bench/review.sh "$dir"

# imagegate, with the benchmark policy (all checks local: no network).
ig_port="$(free_port)"
"$bin" serve --policy bench/policy.yaml --tls-cert "$dir/tls.crt" --tls-key "$dir/tls.key" \
  --listen "127.0.0.1:$ig_port" --threads "$threads" > "$dir/imagegate.log" 2>&1 &
ig_pid=$!
pids+=("$ig_pid")
wait_port "$ig_port"

# The answer nginx serves is imagegate's own answer to this review, so both send the same bytes.
answer="$(curl -sk --data-binary @"$dir/review.json" -H 'Content-Type: application/json' \
  "https://127.0.0.1:$ig_port/validate?timeout=10s")"
echo "imagegate answer: $answer" | cut -c1-300
ng_port="$(free_port)"
escaped="$(printf '%s' "$answer" | sed -e "s/'/\\\\'/g" -e 's/[&|]/\\&/g')"
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$ng_port|g" -e "s|@WORKERS@|$threads|g" -e "s|@ANSWER@|$escaped|" \
  bench/nginx.conf.in > "$dir/nginx.conf"
nginx -c "$dir/nginx.conf" -p "$dir" &
pids+=("$!")
wait_port "$ng_port"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
export BENCH_BODY="$dir/review.json"
run_wrk() {  # port connections seconds -> RESULT line
  wrk -t "$threads" -c "$2" -d "${3}s" -s bench/review.lua "https://127.0.0.1:$1/validate" | grep '^RESULT'
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

sleep 1
idle_before="$(rss_kb "$ig_pid")"
run_wrk "$ig_port" "$conns" 2 >/dev/null   # warm-up
ng="$(run_wrk "$ng_port" "$conns" "$secs")"
ig="$(run_wrk "$ig_port" "$conns" "$secs")"
ig_rps="$(field rps "$ig")"
ng_rps="$(field rps "$ng")"

# Latency at half of imagegate's peak: 16 connections, each pausing so that together they offer ~peak/2.
half_conns=16
delay_ms="$(python3 -c "print(max(1, round($half_conns * 1000 / ($ig_rps / 2))))")"
half="$(BENCH_DELAY_MS="$delay_ms" run_wrk "$ig_port" "$half_conns" "$secs")"
sleep 2
idle_after="$(rss_kb "$ig_pid")"
peak_rss="$(awk '/^VmHWM/ {print $2}' "/proc/$ig_pid/status")"

python3 - "$ig" "$ng" "$half" "$idle_before" "$idle_after" "$peak_rss" "$secs" "$threads" "$conns" <<'PY'
import sys, re
def parse(line): return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line)}
ig, ng, half = parse(sys.argv[1]), parse(sys.argv[2]), parse(sys.argv[3])
idle0, idle1, peak = (int(x) / 1024 for x in sys.argv[4:7])
secs, threads, conns = sys.argv[7:10]
print(f"\n{threads} server threads/workers, {conns} keep-alive connections, {secs}s per run\n")
print("| server | requests/s | p50 ms | p99 ms | errors |")
print("|---|---|---|---|---|")
print(f"| nginx (static answer) | {ng['rps']:.0f} | {ng['p50_ms']:.3f} | {ng['p99_ms']:.3f} | {ng['errors']:.0f} |")
print(f"| imagegate /validate | {ig['rps']:.0f} | {ig['p50_ms']:.3f} | {ig['p99_ms']:.3f} | {ig['errors']:.0f} |")
ratio = ig['rps'] / ng['rps']
print(f"\nimagegate / nginx requests/s: {ratio:.2f} (target >= 0.5: {'met' if ratio >= 0.5 else 'MISSED'})")
print(f"at ~half of imagegate's peak ({half['rps']:.0f} req/s offered by 16 paced connections): "
      f"p50 {half['p50_ms']:.3f} ms, p99 {half['p99_ms']:.3f} ms (target p99 < 2 ms: "
      f"{'met' if half['p99_ms'] < 2 else 'MISSED'})")
print(f"imagegate resident memory: idle {idle0:.1f} MiB at start, {idle1:.1f} MiB idle after the load, "
      f"peak {peak:.1f} MiB (target idle < 50 MiB: {'met' if max(idle0, idle1) < 50 else 'MISSED'})")
PY

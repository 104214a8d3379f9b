#!/usr/bin/env bash
# Benchmark: imagegate's /validate side by side in one run with two servers answering the same bytes
# statically: nginx, and bench/bare_server.cc (a bare Boost.Beast TLS server, the ceiling of imagegate's
# own stack). All three get the same TLS certificate, the same number of threads/workers and the same wrk
# load: a Deployment review with 3 containers POSTed over HTTPS keep-alive. The three are run alternately,
# ROUNDS times (nginx, bare, imagegate, nginx, ...), and the medians reported: requests/s, p50/p99, CPU
# time per request (utime+stime of the server's processes over the run / requests), the ratios, latency
# at half of imagegate's peak rate, and imagegate's idle resident memory.
#
# Usage: bench/run.sh [seconds-per-run (default 10)] [rounds (default 3)]
#        (builds build/imagegate and build/bench/bench_bare_server when the build tree exists and no
#        IMAGEGATE_BINARY / BENCH_BARE_SERVER names another binary)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
rounds="${2:-3}"
threads="${BENCH_THREADS:-2}"
conns="${BENCH_CONNECTIONS:-32}"
bin="${IMAGEGATE_BINARY:-$PWD/build/imagegate}"
bare="${BENCH_BARE_SERVER:-$PWD/build/bench/bench_bare_server}"
if [ -z "${IMAGEGATE_BINARY:-}${BENCH_BARE_SERVER:-}" ] && [ -f build/build.ninja ]; then
  cmake --build build --target imagegate bench_bare_server >/dev/null
fi
[ -x "$bin" ] || { echo "bench: $bin not built (cmake --build build --target imagegate)" >&2; exit 2; }
[ -x "$bare" ] || { echo "bench: $bare not built (cmake --build build --target bench_bare_server)" >&2; exit 2; }

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

# The answer nginx and the bare server send is imagegate's own answer to this review: the same bytes.
answer="$(curl -sk --data-binary @"$dir/review.json" -H 'Content-Type: application/json' \
  "https://127.0.0.1:$ig_port/validate?timeout=10s")"
echo "imagegate answer: $answer" | cut -c1-300
printf '%s' "$answer" > "$dir/answer.json"
ng_port="$(free_port)"
escaped="$(printf '%s' "$answer" | sed -e "s/'/\\\\'/g" -e 's/[&|]/\\&/g')"
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$ng_port|g" -e "s|@WORKERS@|$threads|g" -e "s|@ANSWER@|$escaped|" \
  bench/nginx.conf.in > "$dir/nginx.conf"
nginx -c "$dir/nginx.conf" -p "$dir" &
ng_pid=$!
pids+=("$ng_pid")
wait_port "$ng_port"
bare_port="$(free_port)"
"$bare" "$dir/tls.crt" "$dir/tls.key" "$bare_port" "$threads" "$dir/answer.json" &
bare_pid=$!
pids+=("$bare_pid")
wait_port "$bare_port"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# CPU seconds (user + system) of a process and its children (nginx's workers), from /proc.
cpu_seconds() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  python3 -c "print($total / $(getconf CLK_TCK))"
}
export BENCH_BODY="$dir/review.json"
run_wrk() {  # port connections seconds -> RESULT line
  wrk -t "$threads" -c "$2" -d "${3}s" -s bench/review.lua "https://127.0.0.1:$1/validate" | grep '^RESULT'
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
measure() {  # name port pid -> one line: name RESULT... cpu=seconds
  local before after line
  before="$(cpu_seconds "$3")"
  line="$(run_wrk "$2" "$conns" "$secs")"
  after="$(cpu_seconds "$3")"
  echo "$1 $line cpu=$(python3 -c "print($after - $before)")"
}

sleep 1
idle_before="$(rss_kb "$ig_pid")"
for port in "$ng_port" "$bare_port" "$ig_port"; do run_wrk "$port" "$conns" 2 >/dev/null; done  # warm-up
results="$dir/results"
for _ in $(seq "$rounds"); do
  measure nginx "$ng_port" "$ng_pid" >> "$results"
  measure bare "$bare_port" "$bare_pid" >> "$results"
  measure imagegate "$ig_port" "$ig_pid" >> "$results"
done
ig_rps="$(python3 -c "
import statistics, re
print(statistics.median(float(re.search(r'rps=([0-9.]+)', l).group(1)) for l in open('$results') if l.startswith('imagegate')))")"

# Latency at half of imagegate's peak: 16 connections, each pausing so that together they offer ~peak/2.
half_conns=16
delay_ms="$(python3 -c "print(max(1, round($half_conns * 1000 / ($ig_rps / 2))))")"
half="$(BENCH_DELAY_MS="$delay_ms" run_wrk "$ig_port" "$half_conns" "$secs")"
sleep 2
idle_after="$(rss_kb "$ig_pid")"
peak_rss="$(awk '/^VmHWM/ {print $2}' "/proc/$ig_pid/status")"

python3 - "$results" "$half" "$idle_before" "$idle_after" "$peak_rss" "$secs" "$threads" "$conns" "$rounds" <<'PY'
import sys, re, statistics
def parse(line): return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line)}
runs = {}
for line in open(sys.argv[1]):
    runs.setdefault(line.split()[0], []).append(parse(line))
def med(name, key): return statistics.median(r[key] for r in runs[name])
def cpu_us(name): return statistics.median(r["cpu"] / r["requests"] * 1e6 for r in runs[name])
half = parse(sys.argv[2])
idle0, idle1, peak = (int(x) / 1024 for x in sys.argv[3:6])
secs, threads, conns, rounds = sys.argv[6:10]
print(f"\n{threads} server threads/workers, {conns} keep-alive connections, {secs}s per run, "
      f"{rounds} alternating rounds (medians)\n")
print("| server | requests/s | p50 ms | p99 ms | errors | CPU per request (us) |")
print("|---|---|---|---|---|---|")
for name, label in (("nginx", "nginx (static answer)"), ("bare", "bare Beast server (static answer)"),
                    ("imagegate", "imagegate /validate")):
    print(f"| {label} | {med(name, 'rps'):.0f} | {med(name, 'p50_ms'):.3f} | {med(name, 'p99_ms'):.3f} | "
          f"{sum(r['errors'] for r in runs[name]):.0f} | {cpu_us(name):.1f} |")
ratio = med("imagegate", "rps") / med("nginx", "rps")
ceiling = med("imagegate", "rps") / med("bare", "rps")
print(f"\nimagegate / nginx requests/s: {ratio:.2f} (target >= 0.5: {'met' if ratio >= 0.5 else 'MISSED'})")
print(f"imagegate / bare Beast server requests/s: {ceiling:.2f} (target >= 0.85: "
      f"{'met' if ceiling >= 0.85 else 'MISSED'}); bare / nginx: {med('bare', 'rps') / med('nginx', 'rps'):.2f}")
print(f"CPU per request: imagegate {cpu_us('imagegate'):.1f} us, bare {cpu_us('bare'):.1f} us, "
      f"nginx {cpu_us('nginx'):.1f} us")
print(f"at ~half of imagegate's peak ({half['rps']:.0f} req/s offered by 16 paced connections): "
      f"p50 {half['p50_ms']:.3f} ms, p99 {half['p99_ms']:.3f} ms (target p99 < 2 ms: "
      f"{'met' if half['p99_ms'] < 2 else 'MISSED'})")
print(f"imagegate resident memory: idle {idle0:.1f} MiB at start, {idle1:.1f} MiB idle after the load, "
      f"peak {peak:.1f} MiB (target idle < 50 MiB: {'met' if max(idle0, idle1) < 50 else 'MISSED'})")
PY

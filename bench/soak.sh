#!/usr/bin/env bash
# Soak (issue 20 goal 3): `imagegate serve` for MINUTES (default 10) at half of its peak rate under a mixed
# load, with everything around it changing, against real peers on 127.0.0.1:
#   reviews   wrk (bench/soak.lua), in turn: allows decided from the cache (a digest-pinned image, no
#             network), denials (`latest`), and signed images on a real docker-registry, each with a cosign
#             `.sig` (cosign_image, tests/e2e/lib.sh); short cache TTLs make them cold again every ~10 s,
#             so resolution and signature fetches run all along;
#   verdicts  a verdict push every second (curl, the verdict API) for the signed images' digests, into a
#             real redis-server, which also takes the inventory writes of every admitted image;
#   changes   the policy file rewritten every 30 s (a reload), the serving certificate rotated every 60 s
#             (a mounted-Secret symlink swap), redis-server restarted once half-way.
# Goal: 0 errors (non-200 answers, socket errors), 0 answers after the API server's 3 s timeout, resident
# memory growth < 5% from the end of warm-up (the first fifth of the run) to the end, open fds flat (the
# highest count in the last fifth after warm-up at most 8 above the highest in the first).
# Verdict pushes while redis-server is down are expected to fail (503, never acknowledged); the others not.
#
#   bench/soak.sh [MINUTES]      (IMAGEGATE_BINARY, default build/imagegate; SOAK_CONNECTIONS, default 16;
#                                 SOAK_IMAGES signed images, default 12)
# docs/BENCHMARKS.md ("Soak") records runs.
set -u  # lib.sh functions (start_imagegate) expect no errexit; failures die explicitly
src="$(cd "$(dirname "$0")/.." && pwd)"
minutes="${1:-10}"
bin="${IMAGEGATE_BINARY:-$src/build/imagegate}"
conns="${SOAK_CONNECTIONS:-16}"
nimages="${SOAK_IMAGES:-12}"
E2E_TMP="" ; source "$src/tests/e2e/lib.sh"
require_cmd wrk curl skopeo docker-registry redis-server openssl python3
[ -x "$bin" ] || die "no binary at $bin (cmake --build build --target imagegate)"
make_temp_dir
T="$E2E_TMP"
secs=$(( minutes * 60 ))

# ---- Peers and images. -----------------------------------------------------------------------------------
make_ca
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.key" 2>/dev/null
openssl pkey -in "$T/ec.key" -pubout -out "$T/ec.pub"
op="$(free_port)"
start_registry open "$op"
reg="127.0.0.1:$op"
digests=()
for i in $(seq 1 "$nimages"); do
  cosign_image "$reg" "soak/img$i:v1" "soak-$i" "$T/ec.key"
  digests+=("$COSIGN_DIGEST")
done
rp="$(free_port)"
start_redis "$rp"
redis_pid="$REDIS_PID"

# Serving certificates in the layout of a mounted Secret (tls.crt -> ..data/tls.crt, ..data -> v1).
for v in v1 v2; do
  make_server_cert "$T" "$v"
  mkdir -p "$T/$v"
  mv "$T/$v.crt" "$T/$v/tls.crt"
  mv "$T/$v.key" "$T/$v/tls.key"
done
mkdir -p "$T/secret"
ln -s ../v1 "$T/secret/..data"
ln -s ..data/tls.crt "$T/secret/tls.crt"
ln -s ..data/tls.key "$T/secret/tls.key"

write_policy() {  # GENERATION: the same rules, a new version
  cat >"$T/policy.yaml.tmp" <<YML
# soak policy, generation $1
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: soak}
spec:
  noMatch: deny
  trustAnchors:
    - name: soak-key
      cosign: {keyFile: $T/ec.pub}
  rules:
    - name: signed
      match: {images: ["$reg/soak/**"]}
      signatures: {anchors: [soak-key]}
      vulnerabilities: {maxSeverity: CRITICAL, onMissing: allow}
    - name: pinned
      match: {images: ["registry.example.com/**"]}
      deniedTags: [latest]
YML
  mv "$T/policy.yaml.tmp" "$T/policy.yaml"
}
write_policy 0
cat >"$T/serve.yaml" <<YML
policy: $T/policy.yaml
policyReloadInterval: 2s
listen: 127.0.0.1:0
threads: 2
tls: {certFile: $T/secret/tls.crt, keyFile: $T/secret/tls.key, reloadInterval: 2s}
verdictCacheTTL: 2s
registry:
  caFiles: [$T/ca.pem]
  tagCacheTTL: 5s
  digestCacheTTL: 10s
signatures:
  cacheTTL: 10s
YML
token="soak-token-0123456789abcdef"
echo "rw:$token" >"$T/tokens"
api="$(free_port)"
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --config "$T/serve.yaml" \
  --store "redis://127.0.0.1:$rp/0" --api-listen "127.0.0.1:$api" --api-token-file "$T/tokens"
pid="$SERVER_PID"
port="$SERVER_PORT"
wait_for_port "$api" 15 || die "the verdict API did not start: $(cat "$T/serve.log")"

# ---- The reviews: 8 cached allows, 1 denial and 3 signed images in every 12. -------------------------------
pinned="registry.example.com/app@sha256:$(printf 'a%.0s' {1..64})"
pod_review "$pinned" soak-allow >"$T/allow.json"
pod_review "registry.example.com/app:latest" soak-deny >"$T/deny.json"
: >"$T/bodies"
for i in $(seq 1 "$nimages"); do
  pod_review "$reg/soak/img$i:v1" "soak-signed-$i" >"$T/signed-$i.json"
done
n=0
for round in $(seq 1 "$nimages"); do
  for _ in 1 2 3 4 5 6 7 8; do echo "$T/allow.json" >>"$T/bodies"; done
  echo "$T/deny.json" >>"$T/bodies"
  for k in 0 1 2; do echo "$T/signed-$(( (n + k) % nimages + 1 )).json" >>"$T/bodies"; done
  n=$(( n + 3 ))
done
metric() {  # NAME: the sum of a metric's samples on /metrics
  curl -s --cacert "$T/ca.pem" "https://127.0.0.1:$port/metrics" |
    awk -v m="$1" '$1 ~ "^"m"({|$)" {s += $2} END {print s + 0}'
}

# ---- Peak, then half of it. ----------------------------------------------------------------------------
SOAK_BODIES="$T/bodies" wrk -t2 -c"$conns" -d10s --timeout 3s -s "$src/bench/soak.lua" \
  "https://127.0.0.1:$port" >"$T/peak.txt" 2>&1 || die "wrk (peak): $(cat "$T/peak.txt")"
peak="$(sed -n 's/^RESULT requests=[0-9]* rps=\([0-9.]*\).*/\1/p' "$T/peak.txt")"
[ -n "$peak" ] || die "wrk printed no result: $(cat "$T/peak.txt")"
delay=$(python3 -c "print(max(1, round($conns * 1000 / ($peak / 2))))")
log "peak $peak reviews/s; soaking at about half: $conns connections, $delay ms between requests, ${minutes} min"

# ---- The changes around it, in the background. -------------------------------------------------------------
samples="$T/samples.tsv"
( while kill -0 "$pid" 2>/dev/null; do
    printf '%s\t%s\t%s\n' "$(date +%s)" "$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")" \
      "$(ls "/proc/$pid/fd" | wc -l)" >>"$samples"
    sleep 5
  done ) &
track_pid $!
( i=0
  while :; do
    d="${digests[$(( i % nimages ))]}"
    printf '{"format":"imagegate.verdict/v1","scanner":"soak 1","digest":"%s","vulnerabilities":[]}' "$d" >"$T/verdict.json"
    code="$(curl -s --cacert "$T/ca.pem" -o /dev/null -w '%{http_code}' --max-time 10 -X PUT -H 'Expect:' \
      -H "Authorization: Bearer $token" --data-binary "@$T/verdict.json" "https://127.0.0.1:$api/api/v1/verdicts/$d")"
    printf '%s\t%s\n' "$(date +%s)" "$code" >>"$T/pushes.tsv"
    i=$(( i + 1 ))
    sleep 1
  done ) &
track_pid $!
( g=1
  while sleep 30; do write_policy "$g"; g=$(( g + 1 )); done ) &
track_pid $!
( v=v2
  while sleep 60; do
    ln -sfn "../$v" "$T/secret/..data_tmp" && mv -T "$T/secret/..data_tmp" "$T/secret/..data"
    [ "$v" = v2 ] && v=v1 || v=v2
  done ) &
track_pid $!
( sleep $(( secs / 2 ))
  date +%s >"$T/redis-down"
  stop_pid "$redis_pid"
  sleep 3
  start_redis "$rp"
  echo "$REDIS_PID" >"$T/redis.pid"  # started in this subshell: the parent stops it (track_pid is ours)
  date +%s >"$T/redis-up" ) >"$T/redis-restart.log" 2>&1 &
track_pid $!

# ---- The soak. ----------------------------------------------------------------------------------------------
start=$(date +%s)
SOAK_BODIES="$T/bodies" SOAK_DELAY_MS="$delay" wrk -t2 -c"$conns" -d"${secs}s" --timeout 3s \
  -s "$src/bench/soak.lua" "https://127.0.0.1:$port" >"$T/soak.txt" 2>&1 || die "wrk: $(cat "$T/soak.txt")"
result="$(grep '^RESULT' "$T/soak.txt")"
reloads="$(metric imagegate_policy_reloads_total)"
tls_reloads="$(metric imagegate_tls_reloads_total)"
kill -0 "$pid" 2>/dev/null && alive=yes || alive=no
[ -s "$T/redis.pid" ] && track_pid "$(cat "$T/redis.pid")"  # the restarted redis-server, stopped on exit

python3 - "$samples" "$T/pushes.tsv" "$start" "$secs" "$T/redis-down" "$T/redis-up" <<PY
import sys
samples = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 3]
start, secs = int(sys.argv[3]), int(sys.argv[4])
warm = [s for s in samples if s[0] >= start + secs // 5]
try:
    down, up = int(open(sys.argv[5]).read()), int(open(sys.argv[6]).read())
except (OSError, ValueError):
    down, up = 0, 0
pushes = [tuple(map(int, l.split())) for l in open(sys.argv[2]) if len(l.split()) == 2 and l.split()[1].isdigit()]
ok = sum(1 for t, c in pushes if c == 200)
outside = [(t, c) for t, c in pushes if c != 200 and not (down - 1 <= t <= up + 5)]
result = dict(kv.split("=") for kv in """$result""".split()[1:])
rss0, rss1 = (warm[0][1], warm[-1][1]) if warm else (0, 0)
growth = 100.0 * (rss1 - rss0) / rss0 if rss0 else float("nan")
fds = [s[2] for s in warm]
print(f"| minutes | $minutes | peak reviews/s | $peak | offered ($conns conns, $delay ms) | {result['rps']}/s |")
print("| --- | --- | --- | --- | --- | --- |")
print(f"| reviews | {result['requests']} | allowed / denied | {result['allowed']} / {result['denied']} | non-200 / socket errors / timeouts | {result['non200']} / {result['socket_errors']} / {result['timeouts']} |")
print(f"| p50 / p99 / max | {result['p50_ms']} / {result['p99_ms']} / {result['max_ms']} ms | RSS after warm-up -> end | {rss0/1024:.1f} -> {rss1/1024:.1f} MiB ({growth:+.1f}%) | open fds after warm-up (min / max) | {min(fds) if fds else '-'} / {max(fds) if fds else '-'} |")
print(f"| verdict pushes | {ok} of {len(pushes)} acknowledged | failed outside the Redis restart | {len(outside)} | policy reloads / certificate reloads | $reloads / $tls_reloads |")
failed = []
if int(result["non200"]) or int(result["socket_errors"]) or int(result["timeouts"]): failed.append("errors")
if float(result["max_ms"]) >= 3000: failed.append("an answer after the 3 s deadline")
if not growth < 5: failed.append(f"RSS grew {growth:.1f}%")
# Flat: connections come and go (keep-alive, the registry pool), so compare the highs of the first and the
# last fifth after warm-up: a leak raises the second.
fifth = max(1, len(fds) // 5)
if fds and max(fds[-fifth:]) > max(fds[:fifth]) + 8:
    failed.append(f"open fds rose from at most {max(fds[:fifth])} to {max(fds[-fifth:])}")
if outside: failed.append(f"{len(outside)} pushes failed outside the Redis restart")
if "$alive" != "yes": failed.append("the server died")
print("SOAK " + ("PASSED" if not failed else "FAILED: " + "; ".join(failed)))
sys.exit(1 if failed else 0)
PY

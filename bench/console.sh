#!/usr/bin/env bash
# Console benchmark (issue 18): how fast the console's views answer over a SQLite inventory of 10,000
# entries (the first and the last page, a CVE search, by workload, the flat listing's last page, recent
# decisions, the summary), and what keeping recent decisions costs a review: warm review latency with the
# console on and off, side by side in one run.
#   bench/console.sh [BINARY] [REVIEWS]      (defaults: build/imagegate, 2000)
# Prints one summary; docs/BENCHMARKS.md ("Console views") records a run.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$src/build/imagegate}"
reviews="${2:-2000}"
E2E_TMP="" ; source "$src/tests/e2e/lib.sh"
make_temp_dir
T="$E2E_TMP"
make_ca
make_server_cert "$T" tls
printf 'ro:read-token-0123456789abcdef\n' >"$T/tokens"
write_scan_policy "$T/policy.yaml" bench

# serve NAME [ARGS...]: a server on fresh ports (PORT_NAME, API_NAME), SQLite store $T/verdicts.db.
serve() {
  local name="$1" port api
  shift
  port=$(free_port); api=$(free_port)
  "$bin" serve --policy "$T/policy.yaml" --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --listen "127.0.0.1:$port" \
    --api-listen "127.0.0.1:$api" --api-token-file "$T/tokens" --store "sqlite:$T/verdicts.db" --threads 1 "$@" \
    >/dev/null 2>"$T/serve-$name.log" &
  track_pid $!
  eval "PID_$name=$! PORT_$name=$port API_$name=$api"
  wait_for_port "$api" 15 && wait_for_port "$port" 15 || die "serve did not start: $(tail -3 "$T/serve-$name.log")"
}

# The store first (created by a server), then 10,000 entries over 2,000 digests, each with a verdict; a
# CVE listed by 100 of them. Written straight into the tables: this measures reading, not admission.
serve init
stop_pid "$PID_init"
python3 - "$T/verdicts.db" <<'PY'
import json, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time())
digest = lambda n: "sha256:%064x" % n
for d in range(2000):
    cve = "CVE-2024-3094" if d % 20 == 0 else "CVE-2023-%04d" % d
    body = {"format": "imagegate.verdict/v1", "digest": digest(d), "image": "registry.example.com/app:%d" % d,
            "scanner": "bench", "scannedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "vulnerabilities": [{"id": cve, "severity": "HIGH", "package": "p", "installedVersion": "1",
                                 "fixedVersion": "2"}]}
    db.execute("INSERT INTO verdicts VALUES (?, ?, ?, ?)", (digest(d), body["image"], now, json.dumps(body)))
    db.execute("INSERT INTO verdict_cves VALUES (?, ?)", (cve, digest(d)))
for i in range(10000):
    d = i % 2000
    db.execute("INSERT INTO inventory VALUES (?, 'Deployment', ?, ?, ?, ?, ?)",
               ("ns%d" % (i % 50), "w%d" % i, "registry.example.com/app:%d" % d, digest(d), now - i, now - i))
db.commit()
PY

serve on
serve off --no-console
printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","userInfo":{"username":"t"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"registry.example.com/app@sha256:%064x"}]}}}}' 7 >"$T/review.json"

# time_view PATH: the median of 20 GETs of PATH on the console's server (ms), over one keep-alive connection.
time_view() {
  local args=() i
  for i in $(seq 1 20); do
    args+=(--cacert "$T/ca.pem" -H 'Authorization: Bearer read-token-0123456789abcdef' -o /dev/null -w '%{time_total}\n'
           "https://127.0.0.1:$API_on$1")
    [ "$i" -lt 20 ] && args+=(--next)
  done
  curl -sS "${args[@]}" | sort -n | sed -n 10p | python3 -c 'import sys; print("%7.2f ms" % (float(sys.stdin.read()) * 1000))'
}

# Reviews, alternating on/off in rounds so both see the same machine load.
on=(); off=()
for round in 1 2 3; do
  timed_reviews "$PORT_on" "$T/ca.pem" "$T/review.json" "$reviews"; on+=("$TIMED_MEDIAN")
  timed_reviews "$PORT_off" "$T/ca.pem" "$T/review.json" "$reviews"; off+=("$TIMED_MEDIAN")
done
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
m_on=$(median3 "${on[@]}"); m_off=$(median3 "${off[@]}")

echo "inventory: 10,000 entries, 2,000 digests (SQLite); medians of 20 requests"
echo "  /api/v1/inventory/digests?limit=25             $(time_view '/api/v1/inventory/digests?limit=25')"
echo "  /api/v1/inventory/digests?limit=25&offset=1975 $(time_view '/api/v1/inventory/digests?limit=25&offset=1975')"
echo "  /api/v1/inventory/digests?cve=CVE-2024-3094    $(time_view '/api/v1/inventory/digests?cve=CVE-2024-3094&limit=25')"
echo "  /api/v1/inventory/workloads?limit=25&offset=9975 $(time_view '/api/v1/inventory/workloads?limit=25&offset=9975')"
echo "  /api/v1/inventory?limit=25&offset=9975         $(time_view '/api/v1/inventory?limit=25&offset=9975')"
echo "  /api/v1/decisions?limit=50 (ring full)         $(time_view '/api/v1/decisions?limit=50')"
echo "  /api/v1/summary                                $(time_view '/api/v1/summary')"
echo "warm review median, 3 rounds of $reviews (median round): console on $(python3 -c "print(round($m_on*1e6))") us," \
  "off $(python3 -c "print(round($m_off*1e6))") us, ratio on/off $(python3 -c "print(round($m_on/$m_off, 3))")"

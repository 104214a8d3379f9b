#!/usr/bin/env bash
# The inventory end to end (issue #7): real `imagegate serve` processes with a SQLite store, then two
# processes sharing a real redis-server. Admitted reviews show in /api/v1/inventory (and `imagegate
# inventory list`); dry runs leave it unchanged; rescan lists a digest whose verdict is stale or missing;
# violations lists a running workload once a CRITICAL verdict is pushed for its digest; a review through
# process A shows in the inventory of process B; with Redis gone, admission answers are unchanged and the
# failed inventory writes are counted in the metrics.
source "$(dirname "$0")/lib.sh"
require_cmd curl openssl python3 redis-server
make_temp_dir
bin="${IMAGEGATE_BINARY:?}"
conf="${IMAGEGATE_CONFORMANCE_DIR:?}/scan-reports"
tmp="$E2E_TMP"

make_self_signed_cert "$tmp"
printf 'rw:write-token-0123456789abcdef\nro:read-token-0123456789abcdef\n' >"$tmp/tokens"
echo read-token-0123456789abcdef >"$tmp/ro.tok"
write_scan_policy "$tmp/policy.yaml" inventory

digest() { printf 'sha256:%064x' "$1"; }
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# A clean native verdict scanned now (fresh), for digest N.
native() { printf '{"format":"imagegate.verdict/v1","digest":"%s","scanner":"e2e","scannedAt":"%s","vulnerabilities":[]}' "$(digest "$1")" "$now" >"$tmp/native-$1.json"; }

# serve NAME STORE: starts a server; sets port_NAME / api_NAME / pid_NAME.
serve() {
  local name="$1" store="$2" port api
  port=$(free_port); api=$(free_port)
  "$bin" serve --policy "$tmp/policy.yaml" --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" \
    --listen "127.0.0.1:$port" --api-listen "127.0.0.1:$api" --api-token-file "$tmp/tokens" \
    --store "$store" >"$tmp/decisions-$name.log" 2>"$tmp/server-$name.log" &
  track_pid $!
  eval "pid_$name=$! port_$name=$port api_$name=$api"
  wait_for_port "$api" 15 || die "server $name did not start: $(tail -3 "$tmp/server-$name.log")"
  wait_for_port "$port" 15 || die "server $name did not start: $(tail -3 "$tmp/server-$name.log")"
}
push() {  # API_PORT DIGEST FILE
  curl -s --cacert "$tmp/tls.crt" -o /dev/null -w '%{http_code}' -X PUT -H 'Authorization: Bearer write-token-0123456789abcdef' \
    --data-binary "@$3" "https://127.0.0.1:$1/api/v1/verdicts/$2"
}
api_get() {  # API_PORT PATH
  curl -s --cacert "$tmp/tls.crt" -H 'Authorization: Bearer read-token-0123456789abcdef' "https://127.0.0.1:$1$2"
}
review() {  # PORT NAME IMAGE DRY_RUN
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-%s","kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},"namespace":"prod","operation":"CREATE","dryRun":%s,"object":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"%s"},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"%s"}]}}}}}}' "$2" "$4" "$2" "$3" |
    curl -s -m 15 --cacert "$tmp/tls.crt" -H 'Content-Type: application/json' --data-binary @- "https://127.0.0.1:$1/validate"
}
names() {  # API_PORT: the workload names in the inventory, sorted, comma-separated
  json_get "$(api_get "$1" /api/v1/inventory)" '",".join(sorted(i["name"] for i in d["items"]))'
}
# wait_for_name API_PORT NAME: the recorder writes off the request path; poll up to 5 s.
wait_for_name() {
  for _ in $(seq 1 50); do
    [[ ",$(names "$1")," == *",$2,"* ]] && return 0
    sleep 0.1
  done
  return 1
}

# ---- SQLite, one process ------------------------------------------------------------------------------
serve s "sqlite:$tmp/verdicts.db"
native 2
assert_eq "push a clean but stale verdict (2021) for digest 1" 200 "$(push "$api_s" "$(digest 1)" "$conf/trivy/sl-micro-rancher5.4.json.golden")"
assert_eq "push a fresh clean verdict for digest 2" 200 "$(push "$api_s" "$(digest 2)" "$tmp/native-2.json")"
assert_eq "the inventory starts empty" "" "$(names "$api_s")"

assert_contains "web (digest 1) is admitted" "$(review "$port_s" web "registry.example.com/app@$(digest 1)" false)" '"allowed":true'
assert_contains "fresh (digest 2) is admitted" "$(review "$port_s" fresh "registry.example.com/app@$(digest 2)" false)" '"allowed":true'
assert_contains "denied (no verdict) is denied" "$(review "$port_s" denied "registry.example.com/app@$(digest 9)" false)" '"allowed":false'
assert_contains "dry (a dry run) is admitted" "$(review "$port_s" dry "registry.example.com/app@$(digest 1)" true)" '"allowed":true'
# A barrier: once it shows, anything queued before it has been written.
assert_contains "barrier is admitted" "$(review "$port_s" barrier "docker.io/library/nginx@$(digest 3)" false)" '"allowed":true'
wait_for_name "$api_s" barrier || fail "the inventory shows admitted workloads" "$(api_get "$api_s" /api/v1/inventory)"
assert_eq "the inventory holds the admitted workloads, not the dry run or the denied one" "barrier,fresh,web" "$(names "$api_s")"
out=$(api_get "$api_s" "/api/v1/inventory?image=registry.example.com/app@$(digest 1)")
assert_eq "?image= filters" "web prod Deployment" "$(json_get "$out" '" ".join([d["items"][0]["name"], d["items"][0]["namespace"], d["items"][0]["kind"]])')"
assert_match "first and last seen are recorded" "$out" '"firstSeen":"[0-9-]+T[0-9:.]+Z","image"'

run_capture "$bin" inventory list --server "https://127.0.0.1:$api_s" --token-file "$tmp/ro.tok" --cacert "$tmp/tls.crt"
assert_rc "imagegate inventory list (read-only token)" 0
assert_match "the table names namespace, kind and name" "$OUT" 'prod +Deployment +web +registry.example.com/app@'
run_capture "$bin" inventory list --server "https://127.0.0.1:$api_s" --token-file "$tmp/ro.tok" --cacert "$tmp/tls.crt" -n prod --image "docker.io/library/nginx@$(digest 3)" -o json
assert_rc "imagegate inventory list -o json" 0
assert_eq "-o json with filters" "barrier" "$(json_get "$OUT" '",".join(i["name"] for i in d["items"])')"

out=$(api_get "$api_s" "/api/v1/inventory/rescan?olderThan=24h")
assert_eq "rescan lists the stale digest 1 and the unscanned digest 3, not the fresh digest 2" \
  "$(digest 1):stale,$(digest 3):missing" "$(json_get "$out" '",".join(x["digest"]+":"+x["reason"] for x in d["digests"])')"
run_capture "$bin" inventory rescan --older-than 24h --server "https://127.0.0.1:$api_s" --token-file "$tmp/ro.tok" --cacert "$tmp/tls.crt"
assert_rc "imagegate inventory rescan" 0
assert_contains "the rescan table names the stale digest" "$OUT" "$(digest 1)"

run_capture "$bin" inventory violations --server "https://127.0.0.1:$api_s" --token-file "$tmp/ro.tok" --cacert "$tmp/tls.crt"
assert_rc "no violations yet: exit 0" 0
assert_eq "push a CRITICAL verdict for digest 1" 200 "$(push "$api_s" "$(digest 1)" "$conf/trivy/alpine-39.json.golden")"
out=$(api_get "$api_s" /api/v1/inventory/violations)
assert_eq "violations lists web, running digest 1" "web" "$(json_get "$out" '",".join(v["name"] for v in d["violations"])')"
assert_contains "the violation says why" "$out" "CRITICAL"
run_capture "$bin" inventory violations --server "https://127.0.0.1:$api_s" --token-file "$tmp/ro.tok" --cacert "$tmp/tls.crt"
assert_rc "imagegate inventory violations: exit 1 when some" 1
assert_match "the violations table names the workload and rule" "$OUT" 'prod +Deployment +web .*scanned'
run_capture "$bin" inventory list --server "https://127.0.0.1:$api_s" --token-file /dev/null --cacert "$tmp/tls.crt"
assert_rc "no token: exit 2" 2

metrics=$(curl -s --cacert "$tmp/tls.crt" "https://127.0.0.1:$port_s/metrics")
assert_match "inventory writes are counted" "$metrics" 'imagegate_inventory_records_total\{result="written"\} [1-9]'
assert_contains "verdicts stored are counted" "$metrics" 'imagegate_verdicts_stored_total{result="success"} 3'
assert_match "API requests are counted by route and code" "$metrics" 'imagegate_verdict_api_requests_total\{route="inventory",code="200"\} [1-9]'
assert_match "refused API requests too" "$metrics" 'imagegate_verdict_api_requests_total\{route="inventory",code="401"\} 1'
stop_pid "$pid_s"

# ---- Redis, two processes -----------------------------------------------------------------------------
rport=$(free_port)
start_redis "$rport"
redis_pid="$REDIS_PID"
serve a "redis://127.0.0.1:$rport/0"
serve b "redis://127.0.0.1:$rport/0"
native 5
assert_eq "push a clean verdict through a" 200 "$(push "$api_a" "$(digest 5)" "$tmp/native-5.json")"
assert_contains "shared is admitted through a" "$(review "$port_a" shared "docker.io/library/nginx@$(digest 5)" false)" '"allowed":true'
assert_contains "a dry run through a" "$(review "$port_a" dryshared "docker.io/library/nginx@$(digest 5)" true)" '"allowed":true'
assert_contains "barrier2 is admitted through a" "$(review "$port_a" barrier2 "docker.io/library/nginx@$(digest 6)" false)" '"allowed":true'
wait_for_name "$api_b" barrier2 && pass "a's admissions show in b's inventory" || fail "a's admissions show in b's inventory" "$(api_get "$api_b" /api/v1/inventory)"
assert_eq "b's inventory: a's admitted workloads, not the dry run" "barrier2,shared" "$(names "$api_b")"

kill -9 "$redis_pid"; wait "$redis_pid" 2>/dev/null
assert_contains "redis down: a review needing no verdict is still allowed" "$(review "$port_a" lost "docker.io/library/nginx@$(digest 7)" false)" '"allowed":true'
failed=""
for _ in $(seq 1 50); do
  failed=$(curl -s --cacert "$tmp/tls.crt" "https://127.0.0.1:$port_a/metrics" | grep 'imagegate_inventory_records_total{result="failed"}')
  [[ "$failed" == *" 1" ]] && break
  sleep 0.1
done
assert_eq "redis down: the failed inventory write is counted" 'imagegate_inventory_records_total{result="failed"} 1' "$failed"
assert_eq "redis down: the inventory answers 503" 503 "$(curl -s --cacert "$tmp/tls.crt" -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer read-token-0123456789abcdef' "https://127.0.0.1:$api_b/api/v1/inventory")"
kill -0 "$pid_a" && kill -0 "$pid_b" && pass "both servers still running" || fail "a server died with redis down"
finish

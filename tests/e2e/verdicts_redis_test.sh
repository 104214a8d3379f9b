#!/usr/bin/env bash
# Verdicts in Redis shared by two `imagegate serve` processes: a verdict pushed through one decides reviews
# on the other; with Redis stopped mid-traffic, verdict checks are unavailable and the failurePolicy
# (closed) denies, without crashing either server; with Redis back, reviews are decided again.
source "$(dirname "$0")/lib.sh"
require_cmd curl openssl python3 redis-server
make_temp_dir
bin="${IMAGEGATE_BINARY:?}"
conf="${IMAGEGATE_CONFORMANCE_DIR:?}/scan-reports"
tmp="$E2E_TMP"

make_self_signed_cert "$tmp"
printf 'rw:write-token-0123456789abcdef\n' >"$tmp/tokens"
write_scan_policy "$tmp/policy.yaml" verdicts

rport=$(free_port)
start_redis "$rport"
redis_pid="$REDIS_PID"
store="redis://127.0.0.1:$rport/0"
declare -A ports apis
for s in a b; do
  ports[$s]=$(free_port); apis[$s]=$(free_port)
  "$bin" serve --policy "$tmp/policy.yaml" --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" \
    --listen "127.0.0.1:${ports[$s]}" --api-listen "127.0.0.1:${apis[$s]}" --api-token-file "$tmp/tokens" \
    --store "$store" >"$tmp/decisions-$s.log" 2>"$tmp/server-$s.log" &
  track_pid $!
  eval "pid_$s=$!"
  wait_for_port "${apis[$s]}" 15 || die "server $s did not start: $(tail -3 "$tmp/server-$s.log")"
done
digest() { printf 'sha256:%064x' "$1"; }
push() {  # server digest file
  curl -s --cacert "$tmp/tls.crt" -o /dev/null -w '%{http_code}' -X PUT -H 'Authorization: Bearer write-token-0123456789abcdef' \
    --data-binary "@$3" "https://127.0.0.1:${apis[$1]}/api/v1/verdicts/$2"
}
review() {  # server digest
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"registry.example.com/app@%s"}]}}}}' "$2" |
    curl -s -m 15 --cacert "$tmp/tls.crt" -H 'Content-Type: application/json' --data-binary @- "https://127.0.0.1:${ports[$1]}/validate"
}

assert_eq "push a CRITICAL verdict through server a" 200 "$(push a "$(digest 1)" "$conf/trivy/alpine-39.json.golden")"
assert_eq "push a clean verdict through server a" 200 "$(push a "$(digest 2)" "$conf/trivy/sl-micro-rancher5.4.json.golden")"
assert_contains "server b denies by a's verdict" "$(review b "$(digest 1)")" '"allowed":false'
assert_contains "server b allows by a's verdict" "$(review b "$(digest 2)")" '"allowed":true'

kill -9 "$redis_pid"; wait "$redis_pid" 2>/dev/null
out=$(review b "$(digest 3)")
assert_contains "redis down: the check is unavailable and failurePolicy closed denies" "$out" '"allowed":false'
assert_contains "redis down: the reason says so" "$out" "unavailable"
assert_eq "redis down: a push answers 503" 503 "$(push a "$(digest 4)" "$conf/trivy/alpine-39.json.golden")"
kill -0 "$pid_a" && kill -0 "$pid_b" && pass "both servers still running" || fail "a server died with redis down"

start_redis "$rport"
redis_pid="$REDIS_PID"
assert_eq "redis back: push works again" 200 "$(push a "$(digest 5)" "$conf/trivy/sl-micro-rancher5.4.json.golden")"
assert_contains "redis back: server b decides again" "$(review b "$(digest 5)")" '"allowed":true'
finish

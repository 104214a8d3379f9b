#!/usr/bin/env bash
# The fault matrix (issue 20 goal 2): every fault a dependency of `imagegate serve` can show, against every
# combination of failurePolicy closed/open x mode enforce/warn, through the real server. Each cell (one
# review, tests/e2e/faults/matrix.py): answered before the API server's timeout (?timeout=3s), the decision
# docs/policy.md promises, the reason named in the decision log (and in a denial), /healthz still 200
# after. Verdict pushes made while a store is down or locked are never acknowledged unless kept.
# Real peers: docker-registry's role is played by the scripted fault server (tests/e2e/registry/
# fault_server.py: the faults a real registry cannot be made to show, a fake named as such), a stopped
# port, a listener that accepts and never answers (fault_server.py listener silent, also the hung
# notary-server); redis-server is real (stopped, and frozen with SIGSTOP mid-run); SQLite is real (locked by
# another process; its file size limit reached). The table it prints is the one docs/security.md records.
source "$(dirname "$0")/lib.sh"
require_cmd openssl python3 curl redis-server prlimit
src="${IMAGEGATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${IMAGEGATE_BINARY:-$src/build/imagegate}"
make_temp_dir
T="$E2E_TMP"
matrix="$E2E_LIB_DIR/faults/matrix.py"
results="$T/results.tsv"
: >"$results"

start_fault_server
reg="$FAULT_REGISTRY"
# own_registry: a fault server of the row's own (a fault's after-effects, a 20 s Retry-After or a hung
# connection, stay with its registry); sets R to its host:port.
own_registry() {
  start_fault_server "$T/requests-row.log"
  R="$FAULT_REGISTRY"
}
silent="$(free_port)"
python3 "$E2E_LIB_DIR/registry/fault_server.py" listener silent "$silent" >"$T/silent.log" 2>&1 &
track_pid $!
wait_for_port "$silent" 10 || die "silent listener did not start: $(cat "$T/silent.log")"
stopped="$(free_port)"  # nothing listens here
make_ca "$T"
make_server_cert "$T" server
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=notary root" \
  -keyout "$T/notary-root.key" -out "$T/notary-root.crt" >/dev/null 2>&1 || die "openssl: notary root"
token="write-token-0123456789abcdef"
echo "rw:$token" >"$T/tokens"

# The policy: per column (a namespace), one rule for every image, one for the images behind a hung or
# stopped notary-server (more specific: it wins). The scan gate needs the digest and the verdict store.
{
  cat <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: fault-matrix}
spec:
  noMatch: allow
  trustAnchors:
    - {name: notary-stopped, notaryV1: {server: "https://127.0.0.1:$stopped", rootKeyFiles: [$T/notary-root.crt], caFile: $T/ca.pem}}
    - {name: notary-hung, notaryV1: {server: "https://127.0.0.1:$silent", rootKeyFiles: [$T/notary-root.crt], caFile: $T/ca.pem}}
  rules:
YML
  for fp in closed open; do
    for mode in enforce warn; do
      c="$fp-$mode"
      echo "    - {name: $c, match: {images: [\"**\"], namespaces: [$c]}, failurePolicy: $fp, mode: $mode, vulnerabilities: {maxSeverity: HIGH, onMissing: allow}}"
      for n in stopped hung; do
        echo "    - {name: $c-notary-$n, match: {images: [\"$reg/ok/notary-$n\"], namespaces: [$c]}, failurePolicy: $fp, mode: $mode, signatures: {anchors: [notary-$n]}}"
      done
    done
  done
} >"$T/policy.yaml"
cp "$T/policy.yaml" "$T/policy.good"
"$bin" policy lint "$T/policy.yaml" >/dev/null 2>&1 || die "the matrix policy does not lint: $("$bin" policy lint "$T/policy.yaml" 2>&1)"

serve() {  # STORE: a server with this verdict store; its decision log in $T/decisions-N.log
  serves=$(( ${serves:-0} + 1 ))
  cat >"$T/serve.yaml" <<YML
policy: $T/policy.yaml
policyReloadInterval: 200ms
listen: 127.0.0.1:0
tls: {certFile: $T/server.crt, keyFile: $T/server.key, reloadInterval: 200ms}
verdictCacheTTL: 0s
registry:
  caFiles: [$T/ca.pem, $T/cert.pem]
  timeout: 1s
YML
  log="$T/decisions-$serves.log"
  mkfifo "$T/decisions-$serves.fifo"
  cat "$T/decisions-$serves.fifo" >"$log" &
  track_pid $!
  api="$(free_port)"
  start_imagegate "$bin" "$T/decisions-$serves.fifo" "$T/serve-$serves.log" --config "$T/serve.yaml" --store "$1" \
    --api-listen "127.0.0.1:$api" --api-token-file "$T/tokens"
  wait_for_port "$api" 15 || die "the verdict API did not start: $(cat "$T/serve-$serves.log")"
}
row() {  # NAME CLASS REASON IMAGE
  python3 "$matrix" row --port "$SERVER_PORT" --ca "$T/ca.pem" --log "$log" --results "$results" --timeout 3 "$@"
}
push() {  # DIGEST_HEX_CHAR: HTTP code of a verdict push (native form) for sha256:<64 x CHAR>
  printf '{"format":"imagegate.verdict/v1","scanner":"matrix 1","digest":"sha256:%s","vulnerabilities":[]}' \
    "$(printf "$1%.0s" {1..64})" >"$T/verdict.json"
  curl -s --cacert "$T/ca.pem" -o "$T/push.out" -w '%{http_code}' --max-time 15 -X PUT -H 'Expect:' \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data-binary "@$T/verdict.json" \
    "https://127.0.0.1:$api/api/v1/verdicts/sha256:$(printf "$1%.0s" {1..64})"
}
stored() {  # DIGEST_HEX_CHAR: HTTP code of reading that verdict back
  curl -s --cacert "$T/ca.pem" -o /dev/null -w '%{http_code}' --max-time 15 -H "Authorization: Bearer $token" \
    "https://127.0.0.1:$api/api/v1/verdicts/sha256:$(printf "$1%.0s" {1..64})"
}

# ---- Registry faults (SQLite store) -----------------------------------------------------------------------
serve "sqlite:$T/verdicts.db"
row "control: a healthy registry"            ok          ''                                "$reg/ok/app:control"
row "registry stopped"                       unavailable 'Connection refused'              "127.0.0.1:$stopped/app:v1"
row "registry accepts, never answers"        unavailable 'timed out|timeout'               "127.0.0.1:$silent/app:v1"
own_registry; row "registry hangs mid-body"  unavailable 'timed out'                     "$R/hang/app:v1"
own_registry; row "registry sends 1 byte/s"  unavailable 'timed out'                     "$R/drip/app:v1"
own_registry; row "registry answers 503"     unavailable 'HTTP 503'                        "$R/error/app:v1"
own_registry; row "429, Retry-After 1 s, then 200" ok    ''                                "$R/ratelimit/app:v1"
own_registry; row "429, Retry-After 20 s (past the budget)" unavailable '429|timed out'           "$R/ratelimit20/app:v1"
own_registry; row "garbage body"             unavailable 'not an image manifest'           "$R/garbage/app:v1"
own_registry; row "oversized body (5 MiB)"   failure     'over the limit'                  "$R/huge/app:v1"
own_registry; row "digest that does not match the bytes" failure 'but the body hashes to'  "$R/mismatch/app:v1"
own_registry; row "wrong TLS name"           unavailable 'certificate|verify'              "localhost:${R#*:}/ok/app:v1"
own_registry; row "redirect loop"            unavailable 'too many redirects'              "$R/redirect/app:v1"
row "notary-server stopped"                  unavailable 'notary-stopped'                 "$reg/ok/notary-stopped:v1"
row "notary-server accepts, never answers"   unavailable 'notary-hung'                    "$reg/ok/notary-hung:v1"

# ---- SQLite locked by another process, then its file size limit reached. -----------------------------------
python3 - "$T/verdicts.db" >"$T/locker.log" 2>&1 <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN IMMEDIATE")  # the write lock (WAL: readers go on reading)
db.execute("CREATE TABLE IF NOT EXISTS matrix_lock (x)")
print("locked", flush=True)
time.sleep(120)
PY
locker=$!
track_pid "$locker"
for _ in $(seq 1 100); do grep -q locked "$T/locker.log" && break; sleep 0.1; done
grep -q locked "$T/locker.log" || die "could not lock the SQLite store: $(cat "$T/locker.log")"
row "SQLite locked by another process (reads go on)" ok  ''                                "$reg/ok/app:sqlite-locked"
code="$(push 1)"
[ "$code" != 200 ] && pass "SQLite locked: the push is not acknowledged (HTTP $code)" ||
  fail "SQLite locked: a push was acknowledged while another process held the write lock"
stop_pid "$locker"
assert_eq "SQLite unlocked: a push is acknowledged" 200 "$(push 2)"
assert_eq "SQLite unlocked: and kept" 200 "$(stored 2)"
row "control: SQLite unlocked"               ok          ''                                "$reg/ok/app:sqlite-back"

# The file size limit (RLIMIT_FSIZE, `ulimit -f`) of the running server at what its database files hold
# now: the next page SQLite writes fails (the decision log goes through a FIFO, which has no size).
size="$(stat -c %s "$T/verdicts.db" "$T/verdicts.db-wal" 2>/dev/null | sort -n | tail -1)"
prlimit --pid "$SERVER_PID" --fsize="$size:unlimited" || die "prlimit on the server"  # soft limit only
codes=()
for c in 3 4 5 6 7 8; do codes+=("$(push "$c")"); done
lost=0
for i in 0 1 2 3 4 5; do
  [ "${codes[$i]}" = 200 ] && [ "$(stored $(( i + 3 )))" != 200 ] && lost=$(( lost + 1 ))
done
assert_eq "SQLite file size limit: no acknowledged push lost (codes: ${codes[*]})" 0 "$lost"
[[ " ${codes[*]} " == *" 503 "* ]] && pass "SQLite file size limit: pushes that cannot be kept get 503" ||
  fail "SQLite file size limit: no push was refused (codes: ${codes[*]}); was the limit reached?"
kill -0 "$SERVER_PID" 2>/dev/null && pass "SQLite file size limit: the server is still up" ||
  fail "SQLite file size limit: the server died (SIGXFSZ?)"
row "SQLite at its file size limit (reads go on)" ok     ''                                "$reg/ok/app:sqlite-full"
prlimit --pid "$SERVER_PID" --fsize=unlimited:unlimited || die "prlimit: lifting the limit"
assert_eq "SQLite limit lifted: a push is acknowledged" 200 "$(push 9)"
assert_eq "SQLite limit lifted: and kept" 200 "$(stored 9)"

# ---- The policy file and the certificate files broken mid-run: the server keeps what it has. ------------
echo "spec: [broken" >"$T/policy.yaml"
sleep 1
row "policy file broken mid-run"             ok          ''                                "$reg/ok/app:policy-broken"
assert_match "policy file broken: the rejection is logged" "$(cat "$T/serve-$serves.log")" "keeping the current policy"
cp "$T/policy.good" "$T/policy.yaml"
cp "$T/server.crt" "$T/server.crt.good"
echo "-----BEGIN CERTIFICATE-----garbage" >"$T/server.crt"
sleep 1
row "certificate file broken mid-run"        ok          ''                                "$reg/ok/app:cert-broken"
cp "$T/server.crt.good" "$T/server.crt"
stop_pid "$SERVER_PID"

# ---- Redis: stopped, then frozen mid-command (SIGSTOP), each time brought back. ------------------------
rport="$(free_port)"
start_redis "$rport"
serve "redis://127.0.0.1:$rport/0"
row "control: Redis up"                      ok          ''                                "$reg/ok/app:redis-up"
stop_pid "$REDIS_PID"
row "Redis stopped"                          unavailable 'vulnerabilities: unavailable'  "$reg/ok/app:redis-stopped"
code="$(push a)"
[ "$code" != 200 ] && pass "Redis stopped: the push is not acknowledged (HTTP $code)" ||
  fail "Redis stopped: a push was acknowledged with the store down"
start_redis "$rport"
row "control: Redis restarted"               ok          ''                                "$reg/ok/app:redis-restarted"
kill -STOP "$REDIS_PID"
row "Redis hangs mid-command (SIGSTOP)"      unavailable 'vulnerabilities: unavailable'  "$reg/ok/app:redis-hung"
code="$(push b)"
[ "$code" != 200 ] && pass "Redis hung: the push is not acknowledged (HTTP $code)" ||
  fail "Redis hung: a push was acknowledged with the store frozen"
kill -CONT "$REDIS_PID"
row "control: Redis resumed"                 ok          ''                                "$reg/ok/app:redis-resumed"
assert_eq "Redis resumed: a push is acknowledged" 200 "$(push c)"
assert_eq "Redis resumed: and kept" 200 "$(stored c)"

echo
if python3 "$matrix" table --results "$results" | tee "$T/table.md"; then
  pass "every cell of the fault matrix holds"
else
  fail "fault matrix: some cells failed (above)"
fi
[ -n "${FAULT_MATRIX_TABLE:-}" ] && cp "$T/table.md" "$FAULT_MATRIX_TABLE"
finish

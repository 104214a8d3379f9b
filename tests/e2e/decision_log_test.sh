#!/usr/bin/env bash
# The decision log off the request path, through the real `imagegate serve` (webhook/observe/
# decision_log.h, docs/install.md "Decision log delivery"):
#  - SIGTERM after a burst of reviews (wrk): every review answered is in the log, written before exit,
#    and the "stopped" line counts them;
#  - stdout a FIFO that nobody reads (a stalled log shipper): reviews are still all answered, the lines
#    beyond the queue's bound are counted as dropped in /metrics and in the stopped line, and SIGTERM
#    still ends the server (the drain gives up after 5 s).
source "$(dirname "$0")/lib.sh"
src="${IMAGEGATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${IMAGEGATE_BINARY:-$src/build/imagegate}"
[ -x "$bin" ] || die "no binary at $bin (set IMAGEGATE_BINARY)"
require_cmd wrk curl python3 openssl
make_temp_dir
T="$E2E_TMP"
make_self_signed_cert "$T"
pod_review "registry.example.com/team/app:1.0" u1 shop >"$T/review.json"
export BENCH_BODY="$T/review.json"

# metric NAME_WITH_LABELS: its value on the running server's /metrics.
metric() {
  curl -sk "https://127.0.0.1:$SERVER_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'
}
reviews_answered() {
  curl -sk "https://127.0.0.1:$SERVER_PORT/metrics" |
    awk '/^imagegate_admission_reviews_total\{/ {sum += $2} END {print sum + 0}'
}
wait_exit() {  # PID SECONDS: 0 when the process ended within SECONDS
  local i
  for i in $(seq 1 $(($2 * 10))); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# ---- SIGTERM drains the queue -------------------------------------------------------------------------
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --policy "$src/bench/policy.yaml" \
  --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --listen 127.0.0.1:0 --threads 2
wrk -t2 -c16 -d3s -s "$src/bench/review.lua" "https://127.0.0.1:$SERVER_PORT/validate" >"$T/wrk1.txt"
answered="$(reviews_answered)"
kill -TERM "$SERVER_PID"
wait_exit "$SERVER_PID" 20 && pass "SIGTERM: the server stopped" || fail "SIGTERM: the server stopped"
logged="$(grep -c '"uid":"u1"' "$T/decisions.log" || true)"
[ "$answered" -gt 100 ] && [ "$logged" = "$answered" ] && pass "every review answered is logged ($logged)" ||
  fail "every review answered is logged" "answered $answered, logged $logged"
stopped="$(grep '"msg":"stopped"' "$T/serve.log")"
assert_eq "the stopped line counts the lines written" "$answered" "$(json_get "$stopped" 'd["decisionLogLines"]')"
assert_eq "nothing dropped" "null" "$(json_get "$stopped" 'd.get("decisionLogDropped")')"
python3 - "$T/decisions.log" <<'PY' && pass "every line is whole JSON" || fail "every line is whole JSON"
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    json.loads(line)
PY

# ---- stdout stalled -------------------------------------------------------------------------------------
# A Pod of 200 containers with long image names: each decision line is tens of KiB, so the 4 MiB queue
# fills after a few hundred reviews, however fast this build answers (the sanitizer build is ~50x slower
# than the optimised one; 3-container reviews filled the 10,000-line bound only in the latter).
python3 - "$T/review.json" >"$T/wide.json" <<'PY'
import json, sys
review = json.load(open(sys.argv[1]))
review["request"]["object"]["spec"]["containers"] = [
    {"name": f"c{i}", "image": f"registry.example.com/team/{'a-long-repository-name-' * 4}{i}:1.0"} for i in range(200)]
print(json.dumps(review))
PY
mkfifo "$T/stdout.fifo"
exec 7<>"$T/stdout.fifo"  # held open and never read: the pipe fills, then the log's queue
start_imagegate "$bin" "$T/stdout.fifo" "$T/serve2.log" --policy "$src/bench/policy.yaml" \
  --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --listen 127.0.0.1:0 --threads 2
BENCH_BODY="$T/wide.json" wrk -t2 -c4 -d6s --timeout 10s -s "$src/bench/review.lua" "https://127.0.0.1:$SERVER_PORT/validate" \
  >"$T/wrk2.txt"
result="$(grep '^RESULT' "$T/wrk2.txt")"
requests="$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$result")"
errors="$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$result")"
[ "$errors" = 0 ] && [ "$requests" -gt 0 ] && pass "stalled stdout: every review answered ($requests)" ||
  fail "stalled stdout: every review answered" "$result"
# Reviews wrk had in flight when it stopped still finish (and drop their lines): read the counters once
# they have settled.
dropped=""
for _ in $(seq 1 50); do
  now="$(metric 'imagegate_decision_log_lines_total{result="dropped"}')"
  [ -n "$now" ] && [ "$now" = "$dropped" ] && break
  dropped="$now"
  sleep 0.5
done
written="$(metric 'imagegate_decision_log_lines_total{result="written"}')"
# 10,000 lines or 4 MiB queued at most, and what the pipe took: the rest is dropped, not waited for.
[ "${dropped:-0}" -gt 0 ] && pass "stalled stdout: lines beyond the queue counted as dropped ($dropped; written $written)" ||
  fail "stalled stdout: lines beyond the queue counted as dropped" "dropped=$dropped written=$written (requests $requests)"
start="$(date +%s)"
kill -TERM "$SERVER_PID"
wait_exit "$SERVER_PID" 20 && pass "stalled stdout: SIGTERM still stops the server ($(($(date +%s) - start)) s)" ||
  fail "stalled stdout: SIGTERM still stops the server"
stopped="$(grep '"msg":"stopped"' "$T/serve2.log")"
assert_eq "stalled stdout: the stopped line says the log was not drained" "false" \
  "$(json_get "$stopped" 'd["decisionLogDrained"]')"
assert_eq "stalled stdout: the stopped line counts the drops" "$dropped" "$(json_get "$stopped" 'd["decisionLogDropped"]')"
exec 7>&-
finish

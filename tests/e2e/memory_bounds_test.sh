#!/usr/bin/env bash
# Issue 13, bypass 4: one request must not run the server out of memory. Every JSON imagegate reads from
# outside is parsed within a value count as well as bytes and depth (common/json_bounded.h), so one review
# stays within 64 MiB over idle (docs/install.md) whatever it carries. Measured as the growth of the peak
# RSS (VmHWM of a fresh `imagegate serve`, /usr/bin/time's maximum RSS for `imagegate resolve`) over the
# same process answering a normal request, one fresh process per input kind so each number is its own:
#  (a) reviews of 8 MiB: ~2.8M empty arrays, empty objects, small numbers (refused, 413), and the costliest
#      review the limits let through (answered);
#  (b) reviews of images whose registry serves a node-bomb manifest, a 4 MiB `[[[[` manifest, a 3.8 MB
#      `.sig` manifest of 300,000 annotations, and one of 42,000 (just under the limit);
#  (c) `imagegate resolve` of the node-bomb and the deep manifests.
# The registry is registry/fault_server.py, the project's scripted fake: a real docker-registry refuses to
# store these manifests, so it cannot serve them. Controls: a normal review and a normal manifest work.
source "$(dirname "$0")/lib.sh"
require_cmd openssl python3 curl /usr/bin/time
bin="${IMAGEGATE_BINARY:?}"
make_temp_dir
T="$E2E_TMP"
BOUND_KIB=$((64 * 1024))
# assert_growth WHAT GROWTH_KIB IDLE_KIB: the peak RSS growth is under the bound. Not under ASan
# (IMAGEGATE_SANITIZED, the sanitizer test tree): its shadow memory and the quarantine of freed blocks make
# RSS say nothing of what imagegate keeps; everything else in this test still runs there.
assert_growth() {
  if [ -n "${IMAGEGATE_SANITIZED:-}" ]; then
    log "$1: peak RSS grew $2 KiB (not checked against the bound under the sanitizers)"
    return
  fi
  [ "$2" -lt "$BOUND_KIB" ] && pass "$1: peak RSS grew $2 KiB, under 64 MiB" \
    || fail "$1: peak RSS grew $2 KiB (idle $3 KiB), over 64 MiB"
}

openssl ecparam -name prime256v1 -genkey -noout -out "$T/ec.key" 2>/dev/null || die "openssl ecparam"
openssl ec -in "$T/ec.key" -pubout -out "$T/ec.pub" 2>/dev/null || die "openssl ec"
start_fault_server
reg="$FAULT_REGISTRY"

# ---- (c) imagegate resolve: peak RSS of the whole process against resolving a normal manifest ----
# resolve_rss IMAGE: runs `imagegate resolve IMAGE`; $RC, $OUT, $ERR as run_capture, $RSS_KIB its peak RSS.
resolve_rss() {
  run_capture /usr/bin/time -f '%M' -o "$T/time.out" "$bin" resolve "$1" --ca-file "$T/cert.pem"
  RSS_KIB="$(tail -1 "$T/time.out")"
}
resolve_rss "$reg/ok/app:v1"
assert_rc "control: a normal manifest resolves" 0
idle_resolve="$RSS_KIB"
log "resolve of a normal manifest: peak RSS ${idle_resolve} KiB"
for kind in nodebomb deepbomb; do
  resolve_rss "$reg/$kind/app:v1"
  log "resolve $kind: exit $RC, peak RSS ${RSS_KIB} KiB (+$((RSS_KIB - idle_resolve)) KiB): $ERR"
  assert_rc "resolve $kind: refused (exit 2)" 2
  if [ "$kind" = nodebomb ]; then
    assert_contains "resolve $kind: names the value limit" "$ERR" "more than 50000 values"
  else
    assert_contains "resolve $kind: names the depth limit" "$ERR" "nested deeper than 32 levels"
  fi
  assert_growth "resolve $kind" $((RSS_KIB - idle_resolve)) "$idle_resolve"
done

# ---- the server: one fresh process per input kind ----
cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: memory-bounds}
spec:
  failurePolicy: closed
  registries: {allow: ["$reg"]}
  trustAnchors:
    - name: k
      cosign: {keyFile: $T/ec.pub}
  rules:
    - name: signed
      match: {images: ["$reg/sig*/**", "$reg/nodebomb/**", "$reg/deepbomb/**"]}
      signatures: {anchors: [k]}
    - name: any
      match: {images: ["**"]}
YML
run_capture "$bin" policy lint "$T/policy.yaml"
assert_rc "the test policy lints" 0
cat >"$T/serve.yaml" <<YML
policy: $T/policy.yaml
listen: 127.0.0.1:0
tls: {certFile: $T/cert.pem, keyFile: $T/key.pem}
registry:
  caFiles: [$T/cert.pem]
YML
pod_review "$reg/ok/app:v1" >"$T/normal.json"

hwm_kib() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVER_PID/status"; }
# post FILE: POSTs the review in FILE; the body in $OUT, the HTTP status in $CODE.
post() {
  run_capture curl -sS --max-time 60 --cacert "$T/cert.pem" -H 'Content-Type: application/json' \
    -o "$T/answer.json" -w '%{http_code}' --data-binary @"$1" "https://127.0.0.1:$SERVER_PORT/validate?timeout=20s"
  CODE="$OUT"
  OUT="$(cat "$T/answer.json" 2>/dev/null)"
}
# measure NAME FILE: a fresh server answers the normal review (the control; its VmHWM is idle), then the
# review in FILE; leaves the answer in $OUT/$CODE and checks the VmHWM growth against the bound.
measure() {
  start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --config "$T/serve.yaml"
  post "$T/normal.json"
  assert_eq "$1: control: a normal review is allowed" "true" "$(review_allowed)"
  local idle peak
  idle="$(hwm_kib)"
  post "$2"
  peak="$(hwm_kib)"
  log "$1: HTTP $CODE, VmHWM ${idle} -> ${peak} KiB (+$((peak - idle)) KiB): $(head -c 300 <<<"$OUT")"
  assert_growth "$1" $((peak - idle)) "$idle"
  kill -0 "$SERVER_PID" 2>/dev/null && pass "$1: the server is still up" || fail "$1: the server died"
  stop_pid "$SERVER_PID"
}

# (a) 8 MiB reviews of tiny values in request.object.spec.extra, and the costliest one the limits allow:
# 99,9xx object members `"kNNNNN":{}` (~173 B each in the DOM, the worst shape measured) next to a
# string filling the rest of the 8 MiB.
python3 - "$T" "$reg" <<'PY'
import json, sys
t, reg = sys.argv[1], sys.argv[2]
def review(extra, filler=""):
    r = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
         "request": {"uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                     "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "default",
                     "operation": "CREATE", "userInfo": {"username": "t"},
                     "object": {"apiVersion": "v1", "kind": "Pod",
                                "metadata": {"name": "p", "annotations": {"filler": filler}},
                                "spec": {"containers": [{"name": "c", "image": reg + "/ok/app:v1"}],
                                         "extra": "@EXTRA@"}}}}
    return json.dumps(r, separators=(",", ":"))
LIMIT = 8 * 1024 * 1024 - 1024
for name, item in (("arrays", "[]"), ("objects", "{}"), ("numbers", "0")):
    head, tail = review(None).split('"@EXTRA@"')
    n = (LIMIT - len(head) - len(tail) - 2) // (len(item) + 1)
    open(f"{t}/{name}.json", "w").write(head + "[" + ",".join([item] * n) + "]" + tail)
# The costliest legal review: values up to the limit in the worst shape, the bytes left in one string.
base = review(None)
members = 100000 - 40  # the review's own ~25 values, and margin
head, tail = base.split('"@EXTRA@"')
extra = "{" + ",".join('"k%06d":{}' % i for i in range(members)) + "}"
filler = "x" * (LIMIT - len(base) - len(extra))
head, tail = review(None, filler).split('"@EXTRA@"')
text = head + extra + tail
def values(j):
    return 1 + (sum(values(v) for v in (j.values() if isinstance(j, dict) else j)) if isinstance(j, (dict, list)) else 0)
n = values(json.loads(text))
if not (99900 <= n <= 100000 and len(text) <= LIMIT):
    sys.exit("costliest.json: %d values, %d bytes" % (n, len(text)))
open(f"{t}/costliest.json", "w").write(text)
PY
[ $? -eq 0 ] || die "could not write the reviews"
for kind in arrays objects numbers; do
  [ "$(stat -c %s "$T/$kind.json")" -gt $((8 * 1024 * 1024 - 2048)) ] || die "$kind.json is not ~8 MiB"
  measure "review of 8 MiB of $kind" "$T/$kind.json"
  assert_eq "review of 8 MiB of $kind: refused with 413 (as an oversized body)" 413 "$CODE"
  assert_contains "review of 8 MiB of $kind: names the value limit" "$OUT" "more than 100000 values"
done
measure "costliest legal review (~100,000 object members + a string, 8 MiB)" "$T/costliest.json"
assert_eq "costliest legal review: answered" 200 "$CODE"
assert_eq "costliest legal review: allowed" "true" "$(review_allowed)"

# (b) reviews whose registry serves the bombs.
for kind in nodebomb deepbomb sigbomb sigmax; do
  pod_review "$reg/$kind/app:v1" >"$T/$kind.json"
  measure "review of $kind" "$T/$kind.json"
  assert_eq "review of $kind: answered" 200 "$CODE"
  assert_eq "review of $kind: denied" "false" "$(review_allowed)"
  case "$kind" in
    nodebomb) assert_contains "review of $kind: the reason names the value limit" "$(review_message)" "more than 50000 values" ;;
    deepbomb) assert_contains "review of $kind: the reason names the depth limit" "$(review_message)" "nested deeper than 32" ;;
    sigbomb) assert_contains "review of $kind: the reason names the value limit" "$(review_message)" "more than 50000 values" ;;
    sigmax) assert_match "review of $kind: denied for want of a valid signature" "$(review_message)" "signature" ;;
  esac
done
grep -q 'GET /v2/sigbomb/app/manifests/sha256-.*\.sig' "$T/requests.log" \
  && pass "the .sig manifest was fetched (the bomb reached the server)" || fail "the .sig manifest was never fetched"

finish

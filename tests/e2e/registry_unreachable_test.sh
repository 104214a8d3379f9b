#!/usr/bin/env bash
# Admission answers are not a port scanner (issue 13, item 7). With no `registries.allow`, whoever creates
# a Pod picks the host and port imagegate connects to. Four images on 127.0.0.1 whose "registry" is a
# closed port, a listener that resets each connection, a plain-HTTP server where TLS is expected, and a
# listener that accepts and never answers: through the real `imagegate serve`, the four denial messages
# are identical apart from the port ("registry unreachable"), while each decision log line keeps the
# socket error that tells them apart. Control: a real docker-registry's 404 for a missing tag still says
# "manifest unknown".
#
# The reset/silent/plain listeners are `tests/e2e/registry/fault_server.py listener KIND PORT`, raw-socket
# fakes: a real registry cannot be made to reset, hang or speak plain HTTP on demand.
source "$(dirname "$0")/lib.sh"
require_cmd openssl python3 curl docker-registry skopeo
bin="${IMAGEGATE_BINARY:?}"
here="$(cd "$(dirname "$0")" && pwd)"
make_temp_dir
T="$E2E_TMP"

# The real registry, with one image, for the control.
rp="$(free_port)"
start_registry reg "$rp"
push_image 1 "127.0.0.1:$rp/team/app:v1"

closed="$(free_port)"  # nothing listens here
declare -A port
for kind in reset silent plain; do
  port[$kind]="$(free_port)"
  python3 "$here/registry/fault_server.py" listener "$kind" "${port[$kind]}" >"$T/$kind.log" 2>&1 &
  track_pid $!
  wait_for_port "${port[$kind]}" 10 || die "$kind listener did not start: $(cat "$T/$kind.log")"
done

cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: unreachable}
spec:
  failurePolicy: closed
  rules:
    - name: pinned
      match: {images: ["**"]}
      pinDigest: true
YML
# A 1 s registry step timeout, so the silent listener fails in the client (like the others) well inside
# the review's 9 s budget.
make_server_cert "$T" server
cat >"$T/serve.yaml" <<YML
policy: $T/policy.yaml
listen: 127.0.0.1:0
tls: {certFile: $T/server.crt, keyFile: $T/server.key}
registry:
  caFiles: [$T/ca.pem]
  timeout: 1s
YML
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --config "$T/serve.yaml"
sp="$SERVER_PORT"

# review NAME HOSTPORT: a Pod with one image at HOSTPORT; the message with the port replaced by PORT.
declare -A message
review() {
  pod_review "$2/app:v1" "$1" >"$T/review.json"
  send_review "$sp" "$T/ca.pem" "$T/review.json"
  assert_eq "$1: denied (failurePolicy closed)" "false" "$(review_allowed)"
  message[$1]="$(review_message | sed "s/127\.0\.0\.1:$(cut -d: -f2 <<<"$2")/127.0.0.1:PORT/g")"
}
review closed "127.0.0.1:$closed"
review reset "127.0.0.1:${port[reset]}"
review plain "127.0.0.1:${port[plain]}"
review silent "127.0.0.1:${port[silent]}"

assert_contains "closed port: says registry unreachable" "${message[closed]}" "registry unreachable"
for kind in reset plain silent; do
  assert_eq "$kind: the same message as a closed port, apart from the port" "${message[closed]}" "${message[$kind]}"
done
for word in refused reset "timed out" timeout TLS handshake "wrong version" "end of stream" certificate; do
  assert_not_contains "no socket detail in the answers: '$word'" "${message[*]}" "$word"
done

# The decision log keeps what the answers leave out, one distinguishing detail per review.
diag() { python3 - "$T/decisions.log" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["uid"] == sys.argv[2]:
        print(" | ".join(d["images"][0].get("diagnostics", [])))
PY
}
assert_contains "decision log, closed port: connection refused" "$(diag closed)" "Connection refused"
assert_match "decision log, reset: connection reset" "$(diag reset)" "reset by peer|end of stream|stream truncated|Broken pipe"
assert_match "decision log, plain HTTP: the TLS handshake failed" "$(diag plain)" "TLS handshake with 127.0.0.1:[0-9]+: .+"
assert_match "decision log, silent: timed out" "$(diag silent)" "timed out|timeout"
for kind in reset plain silent; do
  [ "$(diag "$kind")" != "$(diag closed)" ] && pass "decision log: $kind differs from a closed port" \
    || fail "decision log: $kind reads like a closed port: $(diag "$kind")"
done
[ "$(diag plain)" != "$(diag silent)" ] && [ "$(diag reset)" != "$(diag plain)" ] \
  && pass "decision log: reset, plain and silent are told apart" || fail "decision log: details not distinct"
line="$(grep '"uid":"closed"' "$T/decisions.log")"
assert_not_contains "decision log: its message field is the answer's, without the detail" \
  "$(json_get "$line" 'd["message"]')" "refused"

# Control: an HTTP answer from a real registry keeps its meaning.
pod_review "127.0.0.1:$rp/team/app:missing" control >"$T/review.json"
send_review "$sp" "$T/ca.pem" "$T/review.json"
assert_eq "control: a missing tag is denied" "false" "$(review_allowed)"
assert_contains "control: the 404 still says the tag was not found" "$(review_message)" "manifest unknown"
pod_review "127.0.0.1:$rp/team/app:v1" control-ok >"$T/review.json"
send_review "$sp" "$T/ca.pem" "$T/review.json"
assert_eq "control: the image that exists is allowed" "true" "$(review_allowed)"

# The operator's CLI still shows the detail.
run_capture "$bin" resolve "127.0.0.1:$closed/app:v1" --timeout 2s
assert_contains "imagegate resolve: registry unreachable, with the socket error" "$ERR" "registry unreachable (connecting to"

finish

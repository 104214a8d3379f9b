#!/usr/bin/env bash
# Registry faults a real registry cannot be made to show, from a minimal scripted server
# (registry/fault_server.py, a fake named as such): a body that hangs mid-way, a garbage body, a
# Docker-Content-Digest that does not match the body, a missing digest header, 429 with Retry-After,
# endless redirects, a redirect to plain HTTP, an oversized manifest, 503. And the SSRF guard: a
# metadata address is refused before any connection.
source "$(dirname "$0")/lib.sh"
require_cmd openssl python3
bin="${IMAGEGATE_BINARY:?}"
here="$(cd "$(dirname "$0")" && pwd)"
make_temp_dir
T="$E2E_TMP"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1 || die "openssl"
port="$(free_port)"
: >"$T/requests.log"
python3 "$here/registry/fault_server.py" "$port" "$T/cert.pem" "$T/key.pem" "$T/requests.log" >"$T/server.log" 2>&1 &
track_pid $!
wait_for_port "$port" 10 || die "fault server did not start: $(cat "$T/server.log")"
reg="127.0.0.1:$port"
want="$(python3 - <<'PY'
import hashlib, json
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": "sha256:" + "a" * 64, "size": 2}, "layers": []}).encode()
print("sha256:" + hashlib.sha256(m).hexdigest())
PY
)"
resolve() { run_capture "$bin" resolve "$@" --ca-file "$T/cert.pem"; }

resolve "$reg/ok/app:v1" -o json
assert_rc "fault server sanity: ok" 0
assert_eq "fault server sanity: digest" "$want" "$(json_get "$OUT" 'd["digest"]')"

resolve "$reg/nodigest/app:v1" -o json
assert_rc "no Docker-Content-Digest: the body is hashed" 0
assert_eq "no Docker-Content-Digest: digest of the body" "$want" "$(json_get "$OUT" 'd["digest"]')"

resolve "$reg/mismatch/app:v1"
assert_rc "digest header mismatch: refused (exit 1)" 1
assert_contains "digest header mismatch: says so" "$ERR" "but the body hashes to"

resolve "$reg/garbage/app:v1"
assert_rc "garbage body: exit 2" 2
assert_contains "garbage body: not a manifest" "$ERR" "not an image manifest"

start=$(date +%s)
resolve "$reg/hang/app:v1" --timeout 2s
elapsed=$(( $(date +%s) - start ))
assert_rc "hang mid-body: exit 2" 2
[ "$elapsed" -lt 10 ] && pass "hang mid-body: gives up after the step timeout (${elapsed}s)" || fail "hang mid-body: took ${elapsed}s"

start=$(date +%s)
resolve "$reg/ratelimit/app:v1" -o json
elapsed=$(( $(date +%s) - start ))
assert_rc "429 with Retry-After 1: retried and resolved" 0
[ "$elapsed" -ge 1 ] && pass "429: waited for Retry-After" || fail "429: did not wait (${elapsed}s)"

resolve "$reg/redirect/app:v1"
assert_rc "endless redirects: exit 2" 2
assert_contains "endless redirects: too many" "$ERR" "too many redirects"
assert_eq "endless redirects: a few hops only" 4 "$(grep -c '^GET /v2/redirect/' "$T/requests.log")"

resolve "$reg/tohttp/app:v1"
assert_rc "redirect to plain HTTP: exit 2" 2
assert_contains "redirect to plain HTTP: refused" "$ERR" "plain HTTP refused"

resolve "$reg/huge/app:v1"
assert_rc "oversized manifest: refused" 2
assert_contains "oversized manifest: over the limit" "$ERR" "over the limit"

resolve "$reg/error/app:v1"
assert_rc "503: exit 2 (unavailable)" 2
assert_contains "503: says unavailable" "$ERR" "unavailable"

resolve "$reg/missing/app:v1"
assert_rc "404: exit 1 (definitive)" 1

: >"$T/requests.log"
resolve "169.254.169.254/latest/meta-data:v1" --timeout 2s
assert_rc "metadata address: refused" 2
assert_contains "metadata address: says why" "$ERR" "link-local or metadata address"

finish

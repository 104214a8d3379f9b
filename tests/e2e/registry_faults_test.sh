#!/usr/bin/env bash
# Registry faults a real registry cannot be made to show, from a minimal scripted server
# (registry/fault_server.py, a fake named as such): a body that hangs mid-way, a garbage body, a
# Docker-Content-Digest that does not match the body, a missing digest header, 429 with Retry-After,
# endless redirects, a redirect to plain HTTP, an oversized manifest, 503. And the SSRF guard: a
# metadata address is refused before any connection.
# Issue 13: a registry advertising one digest on HEAD and serving other bytes on GET (weak spot 5), and
# redirects and token realms leading off the allowlist, with credentials following them (weak spot 6). Two
# more fault servers play the other origins: B is listed as the registry's auth and blob host, C is not.
source "$(dirname "$0")/lib.sh"
require_cmd openssl python3
bin="${IMAGEGATE_BINARY:?}"
make_temp_dir
T="$E2E_TMP"

# The other origins B and C (same address, other ports: another origin all the same), then A, the registry.
start_fault_server "$T/b.log"
pb="$FAULT_PORT"
start_fault_server "$T/c.log"
pc="$FAULT_PORT"
start_fault_server
reg="$FAULT_REGISTRY"
digest_of() {  # digest_of CONFIG_HEX_CHAR: the fault server's manifest (a) or the one it lies about (b)
  python3 - "$1" <<'PY'
import hashlib, json, sys
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": "sha256:" + sys.argv[1] * 64, "size": 2}, "layers": []}).encode()
print("sha256:" + hashlib.sha256(m).hexdigest())
PY
}
want="$(digest_of a)"
signed="$(digest_of b)"
printf '{"auths":{"%s":{"username":"fault","password":"s3cret"}}}' "$reg" >"$T/creds.json"
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

# ---- weak spot 5: a digest taken from a header. Whenever bytes are fetched, their digest is the one used
# and a header saying otherwise is refused (resolve GETs the manifest; so do the signature paths).
resolve "$reg/lie/app:v1" -o json
assert_rc "HEAD says A, GET serves B with header A: refused" 1
assert_contains "lying registry: the body's digest named" "$ERR" "but the body hashes to $want"
assert_not_contains "lying registry: the advertised digest is not reported as resolved" "$OUT" "$signed"
resolve "$reg/lie512/app:v1"
assert_rc "GET with a sha512 Docker-Content-Digest that is not the body's: refused" 1
assert_contains "sha512 header: says so" "$ERR" "Docker-Content-Digest sha512:"

# ---- weak spot 6 without an allowlist (the CLI): every hop passes the SSRF guard, and a 401 from where a
# redirect led gets no credentials of the registry (nor does the realm it names).
resolve "$reg/to-meta/app:v1" --timeout 2s
assert_rc "redirect to a metadata address: refused" 2
assert_contains "redirect to a metadata address: the SSRF guard says why" "$ERR" "link-local or metadata address"
: >"$T/c.log"
resolve "$reg/to-$pc-realm-$pc/app:v1" --docker-config "$T/creds.json"
assert_rc "401 from a redirect target: refused" 1
assert_contains "401 from a redirect target: says credentials are not sent" "$ERR" \
  "credentials for $reg are not sent on its behalf"
assert_eq "401 from a redirect target: its realm got no request (no credentials)" 0 "$(grep -c '/token' "$T/c.log")"
assert_eq "401 from a redirect target: the redirected request carried no Authorization" 0 \
  "$(grep -vc ' -$' "$T/c.log")"
# An identity token is POSTed to the realm in the body: a realm that redirects the POST to another origin
# does not get it re-sent there.
printf '{"auths":{"%s":{"username":"fault","identitytoken":"refresh-s3cret"}}}' "$reg" >"$T/idtoken.json"
: >"$T/c.log"
resolve "$reg/realmvia-$pc/app:v1" --docker-config "$T/idtoken.json"
assert_rc "token POST redirected to another origin: refused" 1
assert_contains "token POST redirected: says why" "$ERR" "redirect of a request with credentials"
assert_eq "token POST redirected: the other origin got no POST (no refresh token)" 0 "$(grep -c '^POST' "$T/c.log")"

: >"$T/requests.log"
resolve "169.254.169.254/latest/meta-data:v1" --timeout 2s
assert_rc "metadata address: refused" 2
assert_contains "metadata address: says why" "$ERR" "link-local or metadata address"

# ---- the server against the fault server: 429 waits within the review's budget, /mutate races its budget ----
sp="$(free_port)"
cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: faults}
spec:
  failurePolicy: closed
  registries: {allow: ["$reg"]}
  rules:
    - name: pinned
      match: {images: ["**"]}
      pinDigest: true
YML
# A long step timeout, so only the review's budget can cut a hung registry short.
cat >"$T/serve.yaml" <<YML
policy: $T/policy.yaml
listen: 127.0.0.1:$sp
tls: {certFile: $T/cert.pem, keyFile: $T/key.pem}
registry:
  caFiles: [$T/cert.pem]
  timeout: 30s
  dockerConfigFiles: [$T/creds.json]
  authHosts: {"$reg": ["127.0.0.1:$pb"]}
  blobHosts: {"$reg": "127.0.0.1:$pb"}
YML
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --config "$T/serve.yaml"
sp="$SERVER_PORT"
review_body() {
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","userInfo":{"username":"t"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"%s"}]}}}}' "$1"
}
# post PATH IMAGE TIMEOUT: the answer in $OUT, the seconds it took in $ELAPSED.
post() {
  review_body "$2" >"$T/review.json"
  local t0 t1
  t0=$(date +%s.%N)
  run_capture curl -sS --max-time 40 --cacert "$T/cert.pem" -H 'Content-Type: application/json' \
    --data-binary @"$T/review.json" "https://127.0.0.1:$sp/$1?timeout=$3"
  t1=$(date +%s.%N)
  ELAPSED="$(python3 -c "print(round($t1 - $t0, 1))")"
}

# ---- weak spot 6 with registries.allow: [$reg] (B listed as auth and blob host, C not) ----
: >"$T/b.log"
: >"$T/c.log"
post validate "$reg/to-$pc/app:v1" 10s
assert_eq "redirect to another origin, not allowed nor listed: denied" "false" "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_contains "redirect off the allowlist: says why" "$OUT" "not allowed by the policy's registries.allow"
post validate "$reg/realm-$pc/app:v1" 10s
assert_eq "token realm on another origin, not allowed nor listed: denied" "false" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_contains "token realm off the allowlist: says why" "$OUT" "token realm https://127.0.0.1:$pc of $reg refused"
assert_eq "C (off the allowlist) was never contacted: no redirect followed, no credentials sent" 0 \
  "$(wc -l <"$T/c.log" | tr -d ' ')"
post validate "$reg/to-$FAULT_PORT/app:v1" 10s
assert_eq "control: a redirect within the registry's origin is followed" "true" "$(json_get "$OUT" 'd["response"]["allowed"]')"
post validate "$reg/to-$pb/app:v1" 10s
assert_eq "control: a redirect to a listed blob host is followed" "true" "$(json_get "$OUT" 'd["response"]["allowed"]')"
: >"$T/b.log"
post validate "$reg/realm-$pb-to-$pb/app:v1" 10s
assert_eq "control: a token realm on a listed auth host works" "true" "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_match "the listed auth host got the registry's credentials" "$(cat "$T/b.log")" 'GET /token\?service=fault&scope=repository%3Arealm-[0-9]+-to-[0-9]+%2Fapp%3Apull Basic'
assert_contains "the registry got the token" "$(cat "$T/requests.log")" "/v2/realm-$pb-to-$pb/app/manifests/v1 Bearer"
assert_contains "the blob host got the redirected request without the Bearer token" "$(cat "$T/b.log")" \
  "HEAD /v2/ok/app/manifests/v1 -"

# Weak spot 5 with pinning: /mutate pins the tag to what HEAD advertised, so the runtime pulls by digest and
# checks the bytes itself; a registry serving B under A's digest fails the pull instead of running B.
post mutate "$reg/lie/app:v1" 10s
assert_contains "mutate pins a lying registry's tag to the advertised digest (the runtime verifies it)" \
  "$(json_get "$OUT" '__import__("base64").b64decode(d["response"]["patch"]).decode()' 2>/dev/null || true)" "@$signed"

post validate "$reg/ratelimit3/app:v1" 10s
assert_eq "429 with Retry-After 3 (over the old 2 s cap): waited within the 9 s budget, allowed" "true" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
python3 -c "import sys; sys.exit(0 if $ELAPSED >= 2.5 else 1)" && pass "429: the review waited for Retry-After (${ELAPSED}s)" \
  || fail "429: the review did not wait (${ELAPSED}s)"

post mutate "$reg/hang/app:v1" 3s
assert_eq "mutate, registry hangs mid-body: still allowed" "true" "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_contains "mutate, registry hangs: not pinned, the budget ran out" "$OUT" "time budget"
assert_eq "mutate, registry hangs: no patch" "None" "$(json_get "$OUT" 'str(d["response"].get("patch"))')"
python3 -c "import sys; sys.exit(0 if $ELAPSED < 4.5 else 1)" \
  && pass "mutate answers within the 2 s budget, not the 30 s step timeout (${ELAPSED}s)" \
  || fail "mutate held the answer ${ELAPSED}s (budget 2 s)"

post validate "$reg/ratelimit20/app:v1" 4s
assert_eq "429 with Retry-After 20, budget 3 s: denied (failurePolicy closed)" "false" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
python3 -c "import sys; sys.exit(0 if $ELAPSED < 5.5 else 1)" \
  && pass "429 beyond the budget: answered when the budget ran out (${ELAPSED}s)" \
  || fail "429 beyond the budget: took ${ELAPSED}s"
: >"$T/requests.log"
post validate "$reg/ok/app:v2" 3s
assert_eq "back-off is per registry: another repository of the rate-limited registry waits too, denied" "false" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_eq "back-off: no request sent to the registry while backing off" "0" \
  "$(grep -c 'ok/app' "$T/requests.log")"

# Registry metrics: exchanges by result, latency histogram, cache lookups.
run_capture curl -sS --cacert "$T/cert.pem" "https://127.0.0.1:$sp/metrics"
assert_match "metrics: rate-limited exchanges counted" "$OUT" 'imagegate_registry_requests_total\{result="rate_limited"\} [1-9]'
assert_match "metrics: successful exchanges counted" "$OUT" 'imagegate_registry_requests_total\{result="ok"\} [1-9]'
assert_match "metrics: exchange latency histogram" "$OUT" 'imagegate_registry_request_duration_seconds_count\{result="ok"\} [1-9]'
assert_match "metrics: cache misses" "$OUT" 'imagegate_registry_cache_lookups_total\{result="miss"\} [1-9]'
post validate "$reg/ratelimit3/app:v1" 10s
run_capture curl -sS --cacert "$T/cert.pem" "https://127.0.0.1:$sp/metrics"
assert_match "metrics: a repeated image is a cache hit" "$OUT" 'imagegate_registry_cache_lookups_total\{result="hit"\} [1-9]'

finish

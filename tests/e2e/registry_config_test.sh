#!/usr/bin/env bash
# Registry configuration through `imagegate serve`, against Debian's docker-registry on 127.0.0.1:
# - registryCAFiles: a registry whose certificate is signed by CA B, trusted for that host[:port] only; the
#   same registry reached by another name (localhost:PORT) does not trust CA B and fails the TLS check.
# - Docker config `identitytoken`: POSTed to the token realm as an OAuth2 refresh token
#   (grant_type=refresh_token), and tried as the Basic password over GET when the realm refuses the POST.
# - Wrong credentials are a definitive failure: denied even under failurePolicy: open (a 401/403 after
#   presenting configured credentials is a configuration error, not an outage to wave through).
# - staleIfError: registry stopped after the tag TTL -> the digest resolved earlier is used, allowed with a
#   warning in the review answer; metrics count the stale answer.
# The token issuer (registry/token_issuer.py) is the only fake.
source "$(dirname "$0")/lib.sh"
require_cmd docker-registry skopeo openssl python3 curl
bin="${IMAGEGATE_BINARY:?}"
make_temp_dir
T="$E2E_TMP"

# ---- CA A (most registries) and CA B (one registry), server certificates for 127.0.0.1 and localhost ----
# In $T/a and $T/b (lib.sh: make_ca, make_server_cert; start_registry and push_image take REGISTRY_CA_DIR).
for ca in a b; do
  make_ca "$T/$ca"
  make_server_cert "$T/$ca" tls
done

# start_ca_registry NAME PORT CA [AUTH_YAML]: docker-registry with TLS from CA a or b; sets REGISTRY_PID.
start_ca_registry() { REGISTRY_CA_DIR="$T/$3" start_registry "$1" "$2" "${4:-}"; }
# push DEST SEED CA [CREDS]
push() { SSL_CERT_FILE="$T/$3/ca.pem" REGISTRY_CA_DIR="$T/$3" push_image "$2" "$1" ${4:+--dest-creds "$4"}; }
# digest_with_ca DEST CA [CREDS]: sha256 of the raw manifest skopeo reads.
digest_with_ca() { SSL_CERT_FILE="$T/$2/ca.pem" REGISTRY_CA_DIR="$T/$2" raw_digest "$1" ${3:+--creds "$3"}; }

# Registry B: open, certificate from CA B.
pb="$(free_port)"
start_ca_registry b "$pb" b
b_pid="$REGISTRY_PID"
push "127.0.0.1:$pb/team/app:v1" seed1 b
want_b="$(digest_with_ca "127.0.0.1:$pb/team/app:v1" b)"

# Registry H: htpasswd (Basic), CA A.
ph="$(free_port)"
python3 -W ignore -c 'import crypt; print("alice:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
  >"$T/htpasswd" || die "bcrypt htpasswd"
start_ca_registry h "$ph" a "auth: {htpasswd: {realm: imagegate-test, path: $T/htpasswd}}"
push "127.0.0.1:$ph/private/app:v1" seed2 a alice:s3cret

# Registry T: token auth, CA A; the issuer accepts Basic bob:pa55 (GET) and the refresh token rt-0001 (POST).
pt="$(free_port)"
tp="$(free_port)"
REGISTRY_CA_DIR="$T/a" start_token_issuer "$tp" bob pa55 rt-0001
start_ca_registry t "$pt" a "$TOKEN_AUTH_YAML"
push "127.0.0.1:$pt/secure/app:v1" seed3 a bob:pa55
push "127.0.0.1:$pt/other/app:v1" seed4 a bob:pa55
want_t="$(digest_with_ca "127.0.0.1:$pt/secure/app:v1" a bob:pa55)"
want_t2="$(digest_with_ca "127.0.0.1:$pt/other/app:v1" a bob:pa55)"

# Credentials: an identity token for secure/ (the issuer's refresh token), another identity token for other/
# that the POST refuses but that is bob's password (the Basic fallback), a wrong password for registry H.
cat >"$T/docker-config.json" <<JSON
{"auths": {
  "127.0.0.1:$pt/secure": {"username": "bob", "identitytoken": "rt-0001"},
  "127.0.0.1:$pt/other": {"username": "bob", "identitytoken": "pa55"},
  "127.0.0.1:$ph": {"username": "alice", "password": "wrong"}
}}
JSON

sp="$(free_port)"
cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: registry-config}
spec:
  failurePolicy: closed
  registries: {allow: ["127.0.0.1:$pb", "localhost:$pb", "127.0.0.1:$ph", "127.0.0.1:$pt"]}
  rules:
    - name: lenient
      match: {images: ["127.0.0.1:$ph/**"]}
      failurePolicy: open
      pinDigest: true
    - name: pinned
      match: {images: ["**"]}
      pinDigest: true
YML
cat >"$T/serve.yaml" <<YML
policy: $T/policy.yaml
listen: 127.0.0.1:$sp
tls: {certFile: $T/a/tls.crt, keyFile: $T/a/tls.key}
registry:
  caFiles: [$T/a/ca.pem]
  registryCAFiles: {"127.0.0.1:$pb": [$T/b/ca.pem]}
  # The token issuer is another origin the allowlist does not name: listed as the registry's auth host.
  authHosts: {"127.0.0.1:$pt": ["127.0.0.1:$tp"]}
  dockerConfigFiles: [$T/docker-config.json]
  tagCacheTTL: 1s
  staleIfError: 60s
YML
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --config "$T/serve.yaml"
sp="$SERVER_PORT"

review() {
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","userInfo":{"username":"t"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"%s"}]}}}}' "$1" >"$T/review.json"
  run_capture curl -sS --cacert "$T/a/ca.pem" -H 'Content-Type: application/json' --data-binary @"$T/review.json" \
    "https://127.0.0.1:$sp/validate?timeout=10s"
}

# ---- registryCAFiles: CA B trusted for 127.0.0.1:PB only ----
review "127.0.0.1:$pb/team/app:v1"
assert_eq "registryCAFiles: the registry signed by CA B is trusted for its host" "true" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_contains "registryCAFiles: resolved to skopeo's digest" "$OUT" "$want_b"
review "localhost:$pb/team/app:v1"
assert_eq "registryCAFiles: the same registry by another name does not trust CA B: denied" "false" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
# The answer says only "registry unreachable" (issue 13 item 7); the decision log says why.
assert_contains "registryCAFiles: another host: the answer says registry unreachable" "$OUT" "registry unreachable"
assert_contains "registryCAFiles: another host fails the certificate check (decision log)" \
  "$(tail -1 "$T/decisions.log")" "certificate verify failed"

# ---- identitytoken ----
: >"$T/token-requests.log"
review "127.0.0.1:$pt/secure/app:v1"
assert_eq "identitytoken: allowed" "true" "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_contains "identitytoken: resolved to skopeo's digest" "$OUT" "$want_t"
assert_contains "identitytoken: POSTed to the realm as an OAuth2 refresh token, with service and scope" \
  "$(cat "$T/token-requests.log")" "POST grant_type=refresh_token service=test-registry scope=repository:secure/app:pull client_id=imagegate"
assert_not_contains "identitytoken: no GET needed when the realm accepts the refresh token" \
  "$(cat "$T/token-requests.log")" "GET"
: >"$T/token-requests.log"
review "127.0.0.1:$pt/other/app:v1"
assert_eq "identitytoken refused by the OAuth2 endpoint: the Basic fallback gets a token, allowed" "true" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_contains "identitytoken fallback: resolved to skopeo's digest" "$OUT" "$want_t2"
assert_eq "identitytoken fallback: one POST, then one GET" "2" "$(wc -l <"$T/token-requests.log" | tr -d ' ')"
assert_contains "identitytoken fallback: the GET carries service and scope" "$(cat "$T/token-requests.log")" \
  "/token?service=test-registry&scope=repository%3Aother%2Fapp%3Apull"

# ---- wrong credentials: failed, even under failurePolicy open ----
review "127.0.0.1:$ph/private/app:v1"
assert_eq "wrong credentials: denied although the rule's failurePolicy is open" "false" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_contains "wrong credentials: the reason says access was refused" "$OUT" "refused access"

# ---- staleIfError: the registry goes away after the tag TTL ----
stop_pid "$b_pid"
sleep 1.5
review "127.0.0.1:$pb/team/app:v1"
assert_eq "staleIfError: registry stopped, the earlier digest is used: allowed" "true" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_contains "staleIfError: a warning in the review answer" "$(json_get "$OUT" 'd["response"].get("warnings", [])')" \
  "from cache"
assert_contains "staleIfError: the warning names the digest" "$(json_get "$OUT" 'd["response"].get("warnings", [])')" \
  "${want_b:0:20}"
review "127.0.0.1:$pb/team/never-seen:v1"
assert_eq "staleIfError: a tag never resolved has no stale answer: denied (closed)" "false" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
run_capture curl -sS --cacert "$T/a/ca.pem" "https://127.0.0.1:$sp/metrics"
assert_match "metrics: the stale answer is counted" "$OUT" 'imagegate_registry_cache_lookups_total\{result="stale"\} 1'
assert_match "metrics: refused credentials counted as unauthorized" "$OUT" \
  'imagegate_registry_requests_total\{result="unauthorized"\} [1-9]'
assert_match "metrics: connection failures counted as error" "$OUT" 'imagegate_registry_requests_total\{result="error"\} [1-9]'

finish

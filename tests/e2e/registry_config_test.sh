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
here="$(cd "$(dirname "$0")" && pwd)"
make_temp_dir
T="$E2E_TMP"

# ---- CA A (most registries) and CA B (one registry), server certificates for 127.0.0.1 and localhost ----
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$T/ext.cnf"
for ca in a b; do
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca-$ca.key" -out "$T/ca-$ca.pem" -days 2 \
    -subj "/CN=imagegate test CA $ca" >/dev/null 2>&1 || die "openssl CA $ca"
  openssl req -newkey rsa:2048 -nodes -keyout "$T/tls-$ca.key" -out "$T/tls-$ca.csr" -subj "/CN=127.0.0.1" \
    >/dev/null 2>&1
  openssl x509 -req -in "$T/tls-$ca.csr" -CA "$T/ca-$ca.pem" -CAkey "$T/ca-$ca.key" -CAcreateserial \
    -out "$T/tls-$ca.crt" -days 2 -extfile "$T/ext.cnf" >/dev/null 2>&1 || die "openssl server cert $ca"
  mkdir -p "$T/certs-$ca" && cp "$T/ca-$ca.pem" "$T/certs-$ca/ca.crt"
done

# start_registry NAME PORT CA [AUTH_YAML]: docker-registry with TLS from CA a or b; sets REGISTRY_PID.
start_registry() {
  local name="$1" port="$2" ca="$3" auth="${4:-}"
  mkdir -p "$T/$name-data"
  cat >"$T/$name.yml" <<YML
version: 0.1
log: {level: info, formatter: text}
storage: {filesystem: {rootdirectory: $T/$name-data}}
http:
  addr: 127.0.0.1:$port
  tls: {certificate: $T/tls-$ca.crt, key: $T/tls-$ca.key}
$auth
YML
  docker-registry serve "$T/$name.yml" >>"$T/$name.log" 2>&1 &
  REGISTRY_PID=$!
  track_pid "$REGISTRY_PID"
  wait_for_port "$port" 15 || die "docker-registry $name did not start: $(tail -5 "$T/$name.log")"
}
# push DEST SEED CA [CREDS]
push() {
  rm -rf "$T/layout"
  python3 "$here/registry/make_layout.py" "$T/layout" t "$2" || die "make_layout"
  SSL_CERT_FILE="$T/ca-$3.pem" skopeo copy --quiet --dest-cert-dir "$T/certs-$3" ${4:+--dest-creds "$4"} \
    "oci:$T/layout:t" "docker://$1" >"$T/skopeo.log" 2>&1 || die "skopeo copy to $1: $(cat "$T/skopeo.log")"
}
raw_digest() {  # DEST CA [CREDS]
  SSL_CERT_FILE="$T/ca-$2.pem" skopeo inspect --raw --cert-dir "$T/certs-$2" ${3:+--creds "$3"} "docker://$1" |
    sha256sum | sed 's/ .*//; s/^/sha256:/'
}

# Registry B: open, certificate from CA B.
pb="$(free_port)"
start_registry b "$pb" b
b_pid="$REGISTRY_PID"
push "127.0.0.1:$pb/team/app:v1" seed1 b
want_b="$(raw_digest "127.0.0.1:$pb/team/app:v1" b)"

# Registry H: htpasswd (Basic), CA A.
ph="$(free_port)"
python3 -W ignore -c 'import crypt; print("alice:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
  >"$T/htpasswd" || die "bcrypt htpasswd"
start_registry h "$ph" a "auth: {htpasswd: {realm: imagegate-test, path: $T/htpasswd}}"
push "127.0.0.1:$ph/private/app:v1" seed2 a alice:s3cret

# Registry T: token auth, CA A; the issuer accepts Basic bob:pa55 (GET) and the refresh token rt-0001 (POST).
pt="$(free_port)"
tp="$(free_port)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/jwt.key" -out "$T/jwt.pem" -days 2 -subj "/CN=token signer" \
  >/dev/null 2>&1
: >"$T/token-requests.log"
python3 "$here/registry/token_issuer.py" "$tp" "$T/jwt.key" "$T/jwt.pem" imagegate-test-issuer test-registry \
  bob pa55 "$T/token-requests.log" "$T/tls-a.crt" "$T/tls-a.key" rt-0001 >"$T/token.log" 2>&1 &
track_pid $!
wait_for_port "$tp" 10 || die "token issuer did not start: $(cat "$T/token.log")"
start_registry t "$pt" a "auth: {token: {realm: 'https://127.0.0.1:$tp/token', service: test-registry, issuer: imagegate-test-issuer, rootcertbundle: $T/jwt.pem}}"
push "127.0.0.1:$pt/secure/app:v1" seed3 a bob:pa55
push "127.0.0.1:$pt/other/app:v1" seed4 a bob:pa55
want_t="$(raw_digest "127.0.0.1:$pt/secure/app:v1" a bob:pa55)"
want_t2="$(raw_digest "127.0.0.1:$pt/other/app:v1" a bob:pa55)"

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
tls: {certFile: $T/tls-a.crt, keyFile: $T/tls-a.key}
registry:
  caFiles: [$T/ca-a.pem]
  registryCAFiles: {"127.0.0.1:$pb": [$T/ca-b.pem]}
  dockerConfigFiles: [$T/docker-config.json]
  tagCacheTTL: 1s
  staleIfError: 60s
YML
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --config "$T/serve.yaml"
sp="$SERVER_PORT"

review() {
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","userInfo":{"username":"t"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"%s"}]}}}}' "$1" >"$T/review.json"
  run_capture curl -sS --cacert "$T/ca-a.pem" -H 'Content-Type: application/json' --data-binary @"$T/review.json" \
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
assert_contains "registryCAFiles: another host fails the certificate check" "$OUT" "certificate verify failed"

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
run_capture curl -sS --cacert "$T/ca-a.pem" "https://127.0.0.1:$sp/metrics"
assert_match "metrics: the stale answer is counted" "$OUT" 'imagegate_registry_cache_lookups_total\{result="stale"\} 1'
assert_match "metrics: refused credentials counted as unauthorized" "$OUT" \
  'imagegate_registry_requests_total\{result="unauthorized"\} [1-9]'
assert_match "metrics: connection failures counted as error" "$OUT" 'imagegate_registry_requests_total\{result="error"\} [1-9]'

finish

#!/usr/bin/env bash
# Digest resolution against a real registry: Debian's docker-registry on 127.0.0.1 with TLS from a test CA,
# three ways (open, htpasswd Basic auth, token auth), images pushed with skopeo from OCI layouts this test
# writes, digests checked against `skopeo inspect --raw` (sha256 of the raw manifest). Faults the real
# registry shows: wrong CA, wrong credentials, stopped, restarted. Then `imagegate serve` resolving through
# the same registry, and single flight: 100 concurrent reviews of one new image -> one manifest request in
# the registry's own access log. The token issuer (registry/token_issuer.py) is the only fake.
source "$(dirname "$0")/lib.sh"
require_cmd docker-registry skopeo openssl python3 curl
bin="${IMAGEGATE_BINARY:?}"
make_temp_dir
T="$E2E_TMP"

# ---- test CA and certificates (SAN 127.0.0.1 and localhost); start_registry and push_image: lib.sh ----
make_ca
make_server_cert "$T" tls
make_ca "$T/other"  # some other CA

resolve() { run_capture "$bin" resolve "$@"; }

# ---- open registry ----
p1="$(free_port)"
start_registry open "$p1"
open_pid="$REGISTRY_PID"
reg="127.0.0.1:$p1"
push_image seed1 "$reg/team/app:v1"
want="$(raw_digest "$reg/team/app:v1")"
resolve "$reg/team/app:v1" --ca-file "$T/ca.pem" -o json
assert_rc "resolve a tag on the open registry" 0
assert_eq "digest is sha256 of skopeo's raw manifest" "$want" "$(json_get "$OUT" 'd["digest"]')"
assert_eq "single-arch media type" "application/vnd.oci.image.manifest.v1+json" "$(json_get "$OUT" 'd["mediaType"]')"

PUSH_LAYOUT_ARGS=--multi push_image seed2 "$reg/team/multi:v1"
want="$(raw_digest "$reg/team/multi:v1")"
resolve "$reg/team/multi:v1" --ca-file "$T/ca.pem" -o json
assert_rc "resolve a multi-arch tag" 0
assert_eq "multi-arch tag resolves to the index digest" "$want" "$(json_get "$OUT" 'd["digest"]')"
assert_eq "index media type" "application/vnd.oci.image.index.v1+json" "$(json_get "$OUT" 'd["mediaType"]')"
assert_eq "platforms of the index" '["linux/amd64", "linux/arm64/v8"]' "$(json_get "$OUT" 'd["platforms"]')"

old="$(raw_digest "$reg/team/app:v1")"
push_image seed3 "$reg/team/app:v1"
new="$(raw_digest "$reg/team/app:v1")"
resolve "$reg/team/app:v1" --ca-file "$T/ca.pem" -o json
assert_eq "a moved tag resolves to the new digest" "$new" "$(json_get "$OUT" 'd["digest"]')"
[ "$old" != "$new" ] && pass "the push moved the tag" || fail "the push moved the tag"

resolve "$reg/team/app@$new" --ca-file "$T/ca.pem" -o json
assert_rc "resolve by digest (details)" 0
assert_eq "by digest: same digest" "$new" "$(json_get "$OUT" 'd["digest"]')"

resolve "$reg/team/app:nope" --ca-file "$T/ca.pem"
assert_rc "unknown tag exits 1" 1
assert_contains "unknown tag: manifest unknown" "$ERR" "manifest unknown"

resolve "$reg/team/app:v1"
assert_rc "without the test CA: exit 2" 2
assert_contains "without the test CA: certificate verify failed" "$ERR" "certificate verify failed"
resolve "$reg/team/app:v1" --ca-file "$T/other/ca.pem"
assert_rc "wrong CA: exit 2" 2
assert_contains "wrong CA: certificate verify failed" "$ERR" "certificate verify failed"
resolve "localhost:$p1/team/app:v1" --ca-file "$T/ca.pem" -o json
assert_eq "by host name (SNI + hostname check)" "$new" "$(json_get "$OUT" 'd["digest"]')"

resolve "$reg/team/app:v1" --insecure-registry "$reg"
assert_rc "plain HTTP to a TLS registry fails" 2

# ---- imagegate test --online: the CLI resolves with the same client and cache, several images per run ----
cat >"$T/online-policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: online}
spec:
  rules:
    - name: pinned
      match: {images: ["$reg/**"]}
      pinDigest: true
YML
kubectl create deployment online --dry-run=client -o yaml --image="$reg/team/app:v1" \
  --image="$reg/team/multi:v1" --image="$reg/team/app:nope" >"$T/online.yaml"
run_capture timeout 60 "$bin" test --online --policy "$T/online-policy.yaml" --ca-file "$T/ca.pem" \
  -f "$T/online.yaml" -o json
assert_rc "test --online finishes, denying the unknown tag" 1
assert_eq "test --online: first image resolved" "$new" \
  "$(json_get "$OUT" 'd["workloads"][0]["containers"][0]["evidence"]["digest"]')"
assert_eq "test --online: second image resolved on the same run" "$(raw_digest "$reg/team/multi:v1")" \
  "$(json_get "$OUT" 'd["workloads"][0]["containers"][1]["evidence"]["digest"]')"
assert_eq "test --online: unknown tag denied" "deny" \
  "$(json_get "$OUT" 'd["workloads"][0]["containers"][2]["decision"]')"
assert_contains "test --online: the reason says manifest unknown" \
  "$(json_get "$OUT" 'd["workloads"][0]["containers"][2]["reasons"]')" "manifest unknown"
run_capture timeout 60 "$bin" test --online --policy "$T/online-policy.yaml" --ca-file "$T/ca.pem" -f "$T/online.yaml"
assert_contains "test --online: the table says digests were resolved online" "$OUT" "digests resolved online"

# ---- htpasswd (Basic) registry ----
p2="$(free_port)"
python3 -W ignore -c 'import crypt,sys; print("alice:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
  >"$T/htpasswd" || die "bcrypt htpasswd"
start_registry basic "$p2" "auth:
  htpasswd:
    realm: imagegate-test
    path: $T/htpasswd"
breg="127.0.0.1:$p2"
push_image seed4 "$breg/private/app:v1" --dest-creds alice:s3cret
want="$(raw_digest "$breg/private/app:v1" --creds alice:s3cret)"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$breg" "$(printf alice:s3cret | base64)" >"$T/basic-config.json"
printf '{"auths":{"%s":{"username":"alice","password":"wrong"}}}' "$breg" >"$T/basic-wrong.json"
resolve "$breg/private/app:v1" --ca-file "$T/ca.pem" --docker-config "$T/basic-config.json" -o json
assert_rc "basic auth with docker config credentials" 0
assert_eq "basic auth digest" "$want" "$(json_get "$OUT" 'd["digest"]')"
resolve "$breg/private/app:v1" --ca-file "$T/ca.pem" --docker-config "$T/basic-wrong.json"
assert_rc "basic auth, wrong password: exit 1" 1
assert_contains "wrong password: refused" "$ERR" "permission_denied"
resolve "$breg/private/app:v1" --ca-file "$T/ca.pem"
assert_rc "basic auth, no credentials: exit 1" 1
printf '{"auths":{"%s/other":{"auth":"%s"}}}' "$breg" "$(printf alice:s3cret | base64)" >"$T/prefix-config.json"
resolve "$breg/private/app:v1" --ca-file "$T/ca.pem" --docker-config "$T/prefix-config.json"
assert_rc "credentials for another path prefix are not used" 1

# ---- token registry ----
p3="$(free_port)"
tp="$(free_port)"
start_token_issuer "$tp" bob pa55
start_registry token "$p3" "$TOKEN_AUTH_YAML"
treg="127.0.0.1:$p3"
SSL_CERT_FILE="$T/ca.pem" push_image seed5 "$treg/secure/app:v1" --dest-creds bob:pa55
want="$(SSL_CERT_FILE="$T/ca.pem" raw_digest "$treg/secure/app:v1" --creds bob:pa55)"
printf '{"auths":{"https://%s":{"username":"bob","password":"pa55"}}}' "$treg" >"$T/token-config.json"
: >"$T/token-requests.log"
resolve "$treg/secure/app:v1" --ca-file "$T/ca.pem" --docker-config "$T/token-config.json" -o json
assert_rc "token auth: resolve" 0
assert_eq "token auth digest" "$want" "$(json_get "$OUT" 'd["digest"]')"
assert_contains "token requested with service and pull scope" "$(cat "$T/token-requests.log")" \
  "service=test-registry&scope=repository%3Asecure%2Fapp%3Apull"
printf '{"auths":{"%s":{"username":"bob","password":"nope"}}}' "$treg" >"$T/token-wrong.json"
resolve "$treg/secure/app:v1" --ca-file "$T/ca.pem" --docker-config "$T/token-wrong.json"
assert_rc "token auth, wrong credentials: exit 1" 1
assert_contains "token auth, wrong credentials: refused" "$ERR" "credentials not accepted"

# ---- the server: evidence from the registry, cache, single flight, faults ----
sp="$(free_port)"
cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: registry-test}
spec:
  mode: enforce
  failurePolicy: closed
  noMatch: deny
  registries:
    allow: ["$reg", "$treg"]
  rules:
    - name: pinned
      match: {images: ["**"]}
      pinDigest: true
YML
cat >"$T/serve.yaml" <<YML
policy: $T/policy.yaml
listen: 127.0.0.1:$sp
tls: {certFile: $T/tls.crt, keyFile: $T/tls.key}
registry:
  caFiles: [$T/ca.pem]
  # The token issuer is another origin the allowlist does not name: listed as the registry's auth host.
  authHosts: {"$treg": ["127.0.0.1:$tp"]}
  dockerConfigFiles: [$T/token-config.json]
  tagCacheTTL: 60s
  negativeCacheTTL: 1s
YML
"$bin" serve --config "$T/serve.yaml" >"$T/decisions.log" 2>"$T/serve.log" &
serve_pid=$!
track_pid "$serve_pid"
wait_for_port "$sp" 15 || die "imagegate serve did not start: $(cat "$T/serve.log")"

# review IMAGE [UID]: posts a Pod review; leaves the answer in $OUT.
review_body() {
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"%s","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","userInfo":{"username":"t"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"%s"}]}}}}' "${2:-u1}" "$1"
}
review() {
  review_body "$@" >"$T/review.json"
  run_capture curl -sS --cacert "$T/ca.pem" -H 'Content-Type: application/json' --data-binary @"$T/review.json" \
    "https://127.0.0.1:$sp/validate?timeout=10s"
}
review "$reg/team/app:v1"
assert_eq "serve: a resolvable tag is allowed" "true" "$(json_get "$OUT" 'd["response"]["allowed"]')"
review "$reg/team/app:missing"
assert_eq "serve: manifest unknown is denied" "false" "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_contains "serve: the denial says manifest unknown" "$OUT" "manifest unknown"
review "$treg/secure/app:v1"
assert_eq "serve: token-auth registry with configured credentials" "true" "$(json_get "$OUT" 'd["response"]["allowed"]')"
review "$reg/team/app@$new"
assert_eq "serve: by digest needs no resolution" "true" "$(json_get "$OUT" 'd["response"]["allowed"]')"

# Single flight: 100 concurrent reviews of one image nobody asked for yet -> one manifest request.
push_image seed6 "$reg/team/fresh:v1"
before="$(grep -cE '"(HEAD|GET) /v2/team/fresh/manifests' "$T/open.log")"
for i in $(seq 1 100); do review_body "$reg/team/fresh:v1" "uid-$i" >"$T/r$i.json"; done
assert_eq "single flight: all 100 reviews allowed" 100 "$(parallel_reviews "$sp" "$T/ca.pem" "$T/r" 100)"
after="$(grep -cE '"(HEAD|GET) /v2/team/fresh/manifests' "$T/open.log")"
assert_eq "single flight: one manifest request in the registry's access log" 1 "$((after - before))"
review "$reg/team/fresh:v1"
after2="$(grep -cE '"(HEAD|GET) /v2/team/fresh/manifests' "$T/open.log")"
assert_eq "cache: a repeat review makes no registry request" "$after" "$after2"

# POST /mutate: pinDigest rewrites tags to name@digest (JSONPatch), leaves pinned images alone, never
# patches an image it could not resolve.
cat >"$T/mutate.json" <<JSON
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"m1","kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},"namespace":"default","operation":"CREATE","dryRun":true,"userInfo":{"username":"t"},"object":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"template":{"spec":{"initContainers":[{"name":"i","image":"$reg/team/app@$new"}],"containers":[{"name":"a","image":"$reg/team/app:v1"},{"name":"b","image":"$reg/team/app:missing"},{"name":"c","image":"$reg/team/app:v1"}]}}}}}}
JSON
run_capture curl -sS --cacert "$T/ca.pem" -H 'Content-Type: application/json' --data-binary @"$T/mutate.json" \
  "https://127.0.0.1:$sp/mutate?timeout=10s"
assert_eq "mutate: allowed" "true" "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_eq "mutate: JSONPatch" "JSONPatch" "$(json_get "$OUT" 'd["response"]["patchType"]')"
patch="$(json_get "$OUT" '__import__("json").loads(__import__("base64").b64decode(d["response"]["patch"]))')"
assert_eq "mutate: pins the two tag references, not the digest or the unresolvable one" \
  "[{\"op\": \"replace\", \"path\": \"/spec/template/spec/containers/0/image\", \"value\": \"$reg/team/app@$new\"}, {\"op\": \"replace\", \"path\": \"/spec/template/spec/containers/2/image\", \"value\": \"$reg/team/app@$new\"}]" \
  "$patch"
assert_contains "mutate: warns about the image it could not resolve" "$OUT" "not pinned: $reg/team/app:missing"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [c.update(image=sys.argv[2]) for c in d["request"]["object"]["spec"]["template"]["spec"]["containers"]]; json.dump(d,open(sys.argv[3],"w"))' "$T/mutate.json" "$reg/team/app@$new" "$T/mutate2.json"
run_capture curl -sS --cacert "$T/ca.pem" -H 'Content-Type: application/json' --data-binary @"$T/mutate2.json" \
  "https://127.0.0.1:$sp/mutate?timeout=10s"
assert_eq "mutate: idempotent (pinned images get no patch)" "None" \
  "$(json_get "$OUT" 'str(d["response"].get("patch"))')"
run_capture curl -sS --cacert "$T/ca.pem" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$sp/mutate"
assert_eq "mutate: GET is 405" "405" "$OUT"

# Faults: the registry stops (unavailable -> failurePolicy closed denies), then restarts.
stop_pid "$open_pid"
review "$reg/team/app:other"
assert_eq "registry stopped: denied (failurePolicy closed)" "false" "$(json_get "$OUT" 'd["response"]["allowed"]')"
resolve "$reg/team/app:v1" --ca-file "$T/ca.pem"
assert_rc "registry stopped: resolve exits 2" 2
start_registry open "$p1"
review "$reg/team/app:other"
assert_contains "restarted registry: answers again (manifest unknown)" "$OUT" "manifest unknown"
resolve "$reg/team/app:v1" --ca-file "$T/ca.pem" -o json
assert_eq "restarted registry: resolves" "$new" "$(json_get "$OUT" 'd["digest"]')"

finish

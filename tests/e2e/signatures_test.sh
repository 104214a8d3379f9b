#!/usr/bin/env bash
# Signatures end to end against Debian's docker-registry (TLS from a test CA on 127.0.0.1):
# - images pushed with skopeo from OCI layouts this test writes;
# - cosign `.sig` signatures written by skopeo's own sigstore-attachment code (registries.d
#   `use-sigstore-attachments: true`, `skopeo copy dir:... docker://...`), with signature bytes made by
#   `openssl` over the exact simple-signing payload cosign writes, for ECDSA P-256, RSA and Ed25519 keys
#   (skopeo cannot sign here: Debian builds it without sigstore signing);
# - `imagegate verify` exit codes and JSON; reviews through `imagegate serve` (signed allowed; unsigned,
#   wrong key, signature of another image denied naming the anchors; threshold 2 of 3 and `required`);
#   `imagegate test --online` agrees with the server; too many signatures and an oversized payload.
source "$(dirname "$0")/lib.sh"
require_cmd docker-registry skopeo openssl python3 curl
bin="${IMAGEGATE_BINARY:?}"
here="$(cd "$(dirname "$0")" && pwd)"
make_temp_dir
T="$E2E_TMP"

# ---- test CA, registry certificate (SAN 127.0.0.1), registry (lib.sh) ----
make_ca
rp="$(free_port)"
start_registry registry "$rp"
registry_pid="$REGISTRY_PID"
reg="127.0.0.1:$rp"

# registries.d: write cosign attachments; an empty one for reads (so dir: copies carry no old signatures).
mkdir -p "$T/registries.d" "$T/no-registries.d"
printf 'default-docker:\n  use-sigstore-attachments: true\n' >"$T/registries.d/default.yaml"

# push REPO:TAG SEED: an OCI layout with content from SEED, copied to the registry.
push() { push_image "$2" "$reg/$1"; }
# digest_of REPO:TAG: sha256 of the raw manifest skopeo reads.
digest_of() { raw_digest "$reg/$1"; }
# payload REPO DIGEST [OPTIONAL_JSON]: the simple-signing payload cosign writes (its exact layout).
payload() {
  printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":%s}' \
    "$reg/$1" "$2" "${3:-null}"
}
# sign KEY PAYLOAD_FILE OUT: raw signature bytes, as cosign makes them (ECDSA: ASN.1 DER over SHA-256;
# RSA: PKCS#1 v1.5 over SHA-256; Ed25519: pure, over the payload).
sign() {
  case "$(openssl pkey -in "$1" -noout -text 2>/dev/null | head -1)" in
    *ED25519*) openssl pkeyutl -sign -inkey "$1" -rawin -in "$2" -out "$3" ;;
    *) openssl dgst -sha256 -sign "$1" -out "$3" "$2" ;;
  esac || die "openssl sign with $1"
}
# attach REPO:TAG PAYLOAD SIG [PAYLOAD SIG]...: skopeo writes the signatures as cosign attachments.
attach() {
  local ref="$1"
  shift
  rm -rf "$T/dir"
  skopeo --registries.d "$T/no-registries.d" copy --quiet --src-cert-dir "$T/certs.d" "docker://$reg/$ref" \
    "dir:$T/dir" >"$T/skopeo.log" 2>&1 || die "skopeo copy $ref to dir: $(cat "$T/skopeo.log")"
  python3 "$here/signatures/attach.py" "$T/dir" "$@" || die "attach.py"
  skopeo --registries.d "$T/registries.d" copy --quiet --dest-cert-dir "$T/certs.d" "dir:$T/dir" \
    "docker://$reg/$ref" >"$T/skopeo.log" 2>&1 || die "skopeo attach to $ref: $(cat "$T/skopeo.log")"
}
# sign_image REPO:TAG KEY...: one signature per key over the image's own digest.
sign_image() {
  local ref="$1" repo="${1%%:*}" digest args=() k i=0
  shift
  digest="$(digest_of "$ref")"
  for k in "$@"; do
    i=$((i + 1))
    payload "$repo" "$digest" >"$T/p.$i.json"
    sign "$k" "$T/p.$i.json" "$T/s.$i.bin"
    args+=("$T/p.$i.json" "$T/s.$i.bin")
  done
  attach "$ref" "${args[@]}"
}

# ---- keys ----
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$T/rsa.key" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$T/ed.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/wrong.key" 2>/dev/null
for k in ec rsa ed wrong; do openssl pkey -in "$T/$k.key" -pubout -out "$T/$k.pub" 2>/dev/null || die "pubkey $k"; done
printf -- '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n' >"$T/bad.pub"

# ---- images and signatures ----
push team/app:v1 seed-app
push team/other:v1 seed-other
push team/unsigned:v1 seed-unsigned
push team/wrong:v1 seed-wrong
push team/many:v1 seed-many
push team/big:v1 seed-big
app="$(digest_of team/app:v1)"
sign_image team/app:v1 "$T/ec.key" "$T/rsa.key" "$T/ed.key"
sign_image team/wrong:v1 "$T/wrong.key"
# A valid signature by the trusted key, but for team/app's digest, attached to team/other.
payload team/app "$app" >"$T/p-app.json"
sign "$T/ec.key" "$T/p-app.json" "$T/s-app.bin"
attach team/other:v1 "$T/p-app.json" "$T/s-app.bin"
# 51 valid signatures: over the default bound of 50.
many="$(digest_of team/many:v1)"
args=()
for i in $(seq 1 51); do
  payload team/many "$many" "{\"n\":\"$i\"}" >"$T/m.$i.json"
  sign "$T/ec.key" "$T/m.$i.json" "$T/m.$i.bin"
  args+=("$T/m.$i.json" "$T/m.$i.bin")
done
attach team/many:v1 "${args[@]}"
# A signed payload over 256 KiB.
big="$(digest_of team/big:v1)"
payload team/big "$big" "{\"pad\":\"$(head -c 300000 /dev/zero | tr '\0' a)\"}" >"$T/big.json"
sign "$T/ec.key" "$T/big.json" "$T/big.bin"
attach team/big:v1 "$T/big.json" "$T/big.bin"
# The quorum images: the same content in other repositories, signed by ec and rsa only.
push quorum/app:v1 seed-app
push strict/app:v1 seed-app
sign_image quorum/app:v1 "$T/ec.key" "$T/rsa.key"
sign_image strict/app:v1 "$T/ec.key" "$T/rsa.key"

tags="$(curl -sS --cacert "$T/ca.pem" "https://$reg/v2/team/app/tags/list")"
assert_contains "skopeo wrote cosign's .sig tag" "$tags" "${app/:/-}.sig"

# ---- imagegate verify ----
verify() { run_capture "$bin" verify "$@" --ca-file "$T/ca.pem"; }
for k in ec rsa ed; do
  verify "$reg/team/app:v1" --key "$T/$k.pub" -o json
  assert_rc "verify: $k key signature verifies (exit 0)" 0
  assert_eq "verify: $k: verified in JSON" "true" "$(json_get "$OUT" 'd["verified"]')"
  assert_eq "verify: $k: the digest is the one the tag resolves to" "$app" "$(json_get "$OUT" 'd["digest"]')"
  assert_eq "verify: $k: the key anchor matched" '["key"]' "$(json_get "$OUT" 'd["matched"]')"
  assert_match "verify: $k: a signer identity" "$(json_get "$OUT" 'd["anchors"][0]["signers"][0]')" "."
done
verify "$reg/team/app@$app" --key "$T/ec.pub"
assert_rc "verify by digest, text output: exit 0" 0
assert_contains "verify text output says verified" "$OUT" "verified:  yes"

verify "$reg/team/app:v1" --key "$T/wrong.pub" -o json
assert_rc "verify: wrong key exits 1" 1
assert_eq "verify: wrong key: failed anchor named" "key" "$(json_get "$OUT" 'd["failed"][0]["name"]')"
assert_contains "verify: wrong key: 3 signatures, none verified" "$(json_get "$OUT" 'd["failed"][0]["reason"]')" \
  "3 signatures, none verified"

verify "$reg/team/unsigned:v1" --key "$T/ec.pub" -o json
assert_rc "verify: unsigned exits 1" 1
assert_contains "verify: unsigned: no signatures found" "$(json_get "$OUT" 'd["failed"][0]["reason"]')" \
  "no signatures found"

verify "$reg/team/other:v1" --key "$T/ec.pub" -o json
assert_rc "verify: a signature of another image exits 1" 1
assert_contains "verify: another image's signature names the digest it is for" \
  "$(json_get "$OUT" 'd["failed"][0]["reason"]')" "$app"

verify "$reg/team/wrong:v1" --key "$T/ec.pub"
assert_rc "verify: signed by another key exits 1" 1
assert_contains "verify: the reason goes to stderr" "$ERR" "not verified"

verify "$reg/team/app:v1" --key "$T/ec.pub" --key "$T/wrong.pub" --key "$T/ed.pub" --threshold 2 -o json
assert_rc "verify: 2 of 3 keys verify, threshold 2: exit 0" 0
assert_eq "verify: 2 of 3: matched anchors" '["key-1", "key-3"]' "$(json_get "$OUT" 'd["matched"]')"
verify "$reg/team/app:v1" --key "$T/ec.pub" --key "$T/wrong.pub" --threshold 2 -o json
assert_rc "verify: 1 of 2 keys verify, threshold 2: exit 1" 1
assert_contains "verify: threshold reason" "$(json_get "$OUT" 'd["reasons"]')" "1 of 2 anchors verified, need 2"

verify "$reg/team/many:v1" --key "$T/ec.pub" -o json
assert_rc "verify: 51 signatures (over the bound of 50): exit 1" 1
assert_contains "verify: too many signatures named" "$(json_get "$OUT" 'd["failed"][0]["reason"]')" "more than 50"

verify "$reg/team/big:v1" --key "$T/ec.pub" -o json
assert_rc "verify: oversized payload only: exit 1" 1
assert_contains "verify: oversized payload skipped with the bound" "$(json_get "$OUT" 'd["failed"][0]["reason"]')" \
  "exceeds"

verify "$reg/team/app:v1" --key "$T/bad.pub"
assert_rc "verify: a key file that does not parse: exit 2" 2
verify "$reg/team/app:v1" --key "$T/missing.pub"
assert_rc "verify: a missing key file: exit 2" 2
verify "$reg/team/app:v1"
assert_rc "verify: no anchors: exit 2" 2
verify "$reg/team/nothere:v1" --key "$T/ec.pub"
assert_rc "verify: unknown tag: exit 1" 1
run_capture "$bin" verify "$reg/team/app:v1" --key "$T/ec.pub"
assert_rc "verify: without the registry's CA: exit 2" 2

# ---- Sigstore bundles: keyless, signed offline with @sigstore/mock, attached with @sigstore/oci ----
# @sigstore/oci speaks plain HTTP to 127.0.0.1, so the bundles live in a second (plain HTTP) registry;
# it has no referrers API (distribution 2.8), so the tag-schema fallback index is what gets written and read.
require_cmd node npm
node_modules="$("$here/sigstore/install.sh")" || die "npm install of tests/e2e/sigstore failed"
bp="$(free_port)"
REGISTRY_PLAIN=1 start_registry bundles "$bp"
breg="127.0.0.1:$bp"
bpush() { push_image "$2" "$breg/$1" --dest-tls-verify=false; }
# bsign REPO:TAG OUT_DIR [--no-attach]: a keyless bundle by dev@example.com from https://issuer.example.
bsign() {
  local repo="${1%%:*}" digest
  mkdir -p "$2"
  digest="$(save_manifest "$breg" "$1" "$2/manifest.json")"
  NODE_PATH="$node_modules" timeout 120 node "$here/sigstore/sign.js" "$breg" "$repo" "$digest" "$2/manifest.json" "$2" \
    dev@example.com https://issuer.example ${3:-} >"$2/sign.log" 2>&1 || die "sign.js: $(cat "$2/sign.log")"
}
bpush bundles/app:v1 seed-bundle
bpush bundles/unsigned:v1 seed-bundle-unsigned
bsign bundles/app:v1 "$T/mock1"
bsign bundles/app:v1 "$T/mock2" --no-attach   # another mock CA and Rekor: a trusted root that is not the signer's
bapp="sha256:$(sha256sum "$T/mock1/manifest.json" | sed 's/ .*//')"
btags="$(curl -sS "http://$breg/v2/bundles/app/tags/list")"
assert_contains "@sigstore/oci wrote the tag-schema fallback index" "$btags" "${bapp/:/-}\""

kverify() { run_capture "$bin" verify "$@" --insecure-registry "$breg"; }
kverify "$breg/bundles/app:v1" --certificate-identity dev@example.com --certificate-oidc-issuer https://issuer.example \
  --trusted-root "$T/mock1/trusted_root.json" -o json
assert_rc "verify keyless bundle: exit 0" 0
assert_eq "verify keyless bundle: the keyless anchor matched" '["keyless"]' "$(json_get "$OUT" 'd["matched"]')"
assert_contains "verify keyless bundle: the signer identity" "$(json_get "$OUT" 'd["anchors"][0]["signers"]')" "dev@example.com"
kverify "$breg/bundles/app:v1" --certificate-identity-regexp '.*@example\.com' \
  --certificate-oidc-issuer-regexp 'https://issuer\.example' --trusted-root "$T/mock1/trusted_root.json"
assert_rc "verify keyless bundle with RE2 identity and issuer: exit 0" 0
kverify "$breg/bundles/app:v1" --certificate-identity other@example.com --certificate-oidc-issuer https://issuer.example \
  --trusted-root "$T/mock1/trusted_root.json" -o json
assert_rc "verify keyless bundle, another identity: exit 1" 1
kverify "$breg/bundles/app:v1" --certificate-identity dev@example.com --certificate-oidc-issuer https://other.example \
  --trusted-root "$T/mock1/trusted_root.json"
assert_rc "verify keyless bundle, another issuer: exit 1" 1
kverify "$breg/bundles/app:v1" --certificate-identity dev@example.com --certificate-oidc-issuer https://issuer.example \
  --trusted-root "$T/mock2/trusted_root.json"
assert_rc "verify keyless bundle against another Fulcio/Rekor root: exit 1" 1
kverify "$breg/bundles/unsigned:v1" --certificate-identity dev@example.com --certificate-oidc-issuer https://issuer.example \
  --trusted-root "$T/mock1/trusted_root.json" -o json
assert_rc "verify keyless, unsigned image: exit 1" 1
assert_contains "verify keyless, unsigned: no signatures found" "$(json_get "$OUT" 'd["failed"][0]["reason"]')" \
  "no signatures found"
kverify "$breg/bundles/app:v1" --key "$T/ec.pub"
assert_rc "verify a keyless bundle with a cosign key anchor: exit 1" 1

# ---- imagegate serve ----
cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: signatures-test}
spec:
  mode: enforce
  failurePolicy: closed
  noMatch: deny
  trustAnchors:
    - name: ec-key
      cosign: {keyFile: $T/ec.pub}
    - name: rsa-key
      cosign:
        key: |
$(sed 's/^/          /' "$T/rsa.pub")
    - name: ed-key
      cosign: {keyFile: $T/ed.pub}
    - name: wrong-key
      cosign: {keyFile: $T/wrong.pub}
    - name: ci
      keyless:
        issuer: https://issuer.example
        subjectRegExp: '.*@example\\.com'
        trustedRoot: $T/mock1/trusted_root.json
  rules:
    - name: team
      match: {images: ["$reg/team/**"]}
      signatures: {anchors: [ec-key, ed-key]}
    - name: quorum
      match: {images: ["$reg/quorum/**"]}
      signatures: {anchors: [ec-key, rsa-key, wrong-key], threshold: 2, required: [ec-key]}
    - name: strict
      match: {images: ["$reg/strict/**"]}
      signatures: {anchors: [ec-key, rsa-key, wrong-key], threshold: 2, required: [wrong-key]}
    - name: keyless
      match: {images: ["$breg/**"]}
      signatures: {anchors: [ci]}
YML
run_capture "$bin" policy lint "$T/policy.yaml"
assert_rc "the test policy lints" 0
sp="$(free_port)"
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --policy "$T/policy.yaml" --listen "127.0.0.1:$sp" \
  --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --ca-file "$T/ca.pem" --insecure-registry "$breg"

review "$reg/team/app:v1"
assert_eq "serve: signed image allowed" "true" "$(review_allowed)"
review "$reg/team/app@$app"
assert_eq "serve: signed image by digest allowed" "true" "$(review_allowed)"
review "$reg/team/unsigned:v1"
assert_eq "serve: unsigned image denied" "false" "$(review_allowed)"
assert_contains "serve: unsigned: the message names the anchors tried" "$(review_message)" "ec-key, ed-key: no signatures found"
review "$reg/team/wrong:v1"
assert_eq "serve: wrong key denied" "false" "$(review_allowed)"
assert_contains "serve: wrong key: none verified" "$(review_message)" "none verified"
review "$reg/team/other:v1"
assert_eq "serve: signature of another image denied" "false" "$(review_allowed)"
assert_contains "serve: another image's signature: the digest it is for" "$(review_message)" "$app"
review "$reg/quorum/app:v1"
assert_eq "serve: 2 of 3 with the required anchor among them: allowed" "true" "$(review_allowed)"
review "$reg/strict/app:v1"
assert_eq "serve: 2 of 3 but the required anchor failed: denied" "false" "$(review_allowed)"
assert_contains "serve: strict: names the required anchor" "$(review_message)" "wrong-key"
review "$reg/team/many:v1"
assert_eq "serve: too many signatures denied" "false" "$(review_allowed)"
assert_contains "serve: too many signatures named" "$(review_message)" "more than 50"
review "$breg/bundles/app:v1"
assert_eq "serve: keyless bundle allowed" "true" "$(review_allowed)"
review "$breg/bundles/unsigned:v1"
assert_eq "serve: keyless anchor, unsigned image denied" "false" "$(review_allowed)"
assert_contains "serve: keyless denial names the anchor" "$(review_message)" "ci: no signatures found"
# Single flight on the cold signed path: 100 concurrent reviews of a signed image nobody asked for yet make
# one request per step: the tag, the `.sig` manifest, its payload and the fallback tag (the referrers API
# is not asked: the earlier reviews found that this registry lacks it).
push team/fresh:v1 seed-fresh
sign_image team/fresh:v1 "$T/ec.key"
fresh_requests() { grep -cE "\"(HEAD|GET) /v2/team/fresh/${1:-}" "$T/registry.log" || true; }
before="$(fresh_requests)"; before_sig="$(fresh_requests 'manifests/sha256-[0-9a-f]*\.sig')"
for i in $(seq 1 100); do pod_review "$reg/team/fresh:v1" "uid-$i" >"$T/fresh$i.json"; done
assert_eq "single flight: all 100 reviews of a new signed image allowed" 100 \
  "$(parallel_reviews "$sp" "$T/ca.pem" "$T/fresh" 100)"
assert_eq "single flight: one .sig manifest request" 1 "$(( $(fresh_requests 'manifests/sha256-[0-9a-f]*\.sig') - before_sig ))"
assert_eq "single flight: 4 registry requests for 100 reviews (tag, .sig, payload, fallback tag)" 4 \
  "$(( $(fresh_requests) - before ))"

# Image volumes are pulled like container images: a signed container with an unsigned image volume is
# denied naming the volume; with a signed image as the volume, allowed.
pod_volume_review "$reg/team/app:v1" "$reg/team/unsigned:v1" uv1 >"$T/review.json"
send_review "$SERVER_PORT" "$T/ca.pem" "$T/review.json"
assert_eq "serve: signed container, unsigned image volume: denied" "false" "$(review_allowed)"
assert_contains "serve: the denial names the volume" "$(review_message)" "volume \"data\" ($reg/team/unsigned:v1)"
assert_contains "serve: the volume's reason names the anchors tried" "$(review_message)" "ec-key, ed-key: no signatures found"
pod_volume_review "$reg/team/app:v1" "$reg/quorum/app:v1" uv2 >"$T/review.json"
send_review "$SERVER_PORT" "$T/ca.pem" "$T/review.json"
assert_eq "serve: signed container, signed image volume: allowed" "true" "$(review_allowed)"
review "$reg/team/app:v1" u2
assert_eq "serve: a second review (cached) allowed" "true" "$(review_allowed)"
decided="$(grep -c '"uid"' "$T/decisions.log" || true)"
[ "$decided" -ge 9 ] && pass "serve: every review in the decision log" || fail "serve: decision log" "$decided lines"

# Registry down: signature fetches are unavailable -> failurePolicy closed denies, the server survives.
stop_pid "$registry_pid"
review "$reg/team/wrong@$app" u3
assert_eq "serve: registry down, not cached: denied (failurePolicy closed)" "false" "$(review_allowed)"
review "$reg/team/app@$app" u4
assert_eq "serve: registry down, verified result cached: allowed" "true" "$(review_allowed)"
start_registry registry "$rp"
registry_pid="$REGISTRY_PID"

# ---- imagegate test --online gives the server's answers ----
cat >"$T/deploy.yaml" <<YML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: signed, image: "$reg/team/app:v1"}
        - {name: unsigned, image: "$reg/team/unsigned:v1"}
        - {name: other, image: "$reg/team/other:v1"}
        - {name: quorum, image: "$reg/quorum/app:v1"}
        - {name: strict, image: "$reg/strict/app:v1"}
        - {name: keyless, image: "$breg/bundles/app:v1"}
YML
run_capture timeout 120 "$bin" test --online --policy "$T/policy.yaml" --ca-file "$T/ca.pem" \
  --insecure-registry "$breg" -f "$T/deploy.yaml" -o json
assert_rc "test --online: denies (exit 1)" 1
for pair in "0 allow" "1 deny" "2 deny" "3 allow" "4 deny" "5 allow"; do
  set -- $pair
  assert_eq "test --online: container $1 is $2 as in serve" "$2" \
    "$(json_get "$OUT" "d['workloads'][0]['containers'][$1]['decision']")"
done
assert_contains "test --online: the unsigned reason" "$(json_get "$OUT" 'd["workloads"][0]["containers"][1]["reasons"]')" \
  "no signatures found"
run_capture "$bin" test --policy "$T/policy.yaml" -f "$T/deploy.yaml" -o json
assert_contains "test offline: signatures not evaluated" "$OUT" "not evaluated offline"

finish

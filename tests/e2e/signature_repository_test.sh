#!/usr/bin/env bash
# Signatures kept in another repository (cosign's COSIGN_REPOSITORY), end to end against Debian's
# docker-registry (TLS from a test CA on 127.0.0.1): the image is pushed to team/app, its cosign `.sig`
# signature (written by skopeo's sigstore-attachment code, signature bytes by openssl over cosign's
# payload) lives only in sigs/app. `imagegate verify` finds nothing beside the image, verifies with
# --signature-repository and with $COSIGN_REPOSITORY, and refuses a reference with a tag there; a policy
# rule with `signatures.repository` lets `imagegate serve` allow the image, while a rule without it denies.
source "$(dirname "$0")/lib.sh"
require_cmd docker-registry skopeo openssl python3 curl
bin="${IMAGEGATE_BINARY:?}"
here="$(cd "$(dirname "$0")" && pwd)"
make_temp_dir
T="$E2E_TMP"

make_ca
make_server_cert "$T" tls
rp="$(free_port)"
start_registry registry "$rp"
reg="127.0.0.1:$rp"
mkdir -p "$T/registries.d" "$T/no-registries.d"
printf 'default-docker:\n  use-sigstore-attachments: true\n' >"$T/registries.d/default.yaml"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.key" 2>/dev/null
openssl pkey -in "$T/ec.key" -pubout -out "$T/ec.pub" 2>/dev/null || die "pubkey"

# The image, and the same content in the signature repository (skopeo attaches signatures to an image
# there); the digests must agree, since the signature names the image's digest.
push_image seed-app "$reg/team/app:v1"
push_image seed-app "$reg/sigs/app:v1"
app="$(raw_digest "$reg/team/app:v1")"
assert_eq "the signature repository holds the same digest" "$app" "$(raw_digest "$reg/sigs/app:v1")"
printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
  "$reg/team/app" "$app" >"$T/payload.json"
openssl dgst -sha256 -sign "$T/ec.key" -out "$T/sig.bin" "$T/payload.json" || die "openssl sign"
rm -rf "$T/dir"
skopeo --registries.d "$T/no-registries.d" copy --quiet --src-cert-dir "$T/certs.d" "docker://$reg/sigs/app:v1" \
  "dir:$T/dir" >"$T/skopeo.log" 2>&1 || die "skopeo copy to dir: $(cat "$T/skopeo.log")"
python3 "$here/signatures/attach.py" "$T/dir" "$T/payload.json" "$T/sig.bin" || die "attach.py"
skopeo --registries.d "$T/registries.d" copy --quiet --dest-cert-dir "$T/certs.d" "dir:$T/dir" \
  "docker://$reg/sigs/app:v1" >"$T/skopeo.log" 2>&1 || die "skopeo attach: $(cat "$T/skopeo.log")"
tag="${app/:/-}.sig"
accept='Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
run_capture curl -sS -o /dev/null -w '%{http_code}' -H "$accept" --cacert "$T/ca.pem" "https://$reg/v2/team/app/manifests/$tag"
assert_eq "no .sig beside the image" "404" "$OUT"
run_capture curl -sS -o /dev/null -w '%{http_code}' -H "$accept" --cacert "$T/ca.pem" "https://$reg/v2/sigs/app/manifests/$tag"
assert_eq ".sig in the signature repository" "200" "$OUT"

# ---- imagegate verify ----
verify() { run_capture env -u COSIGN_REPOSITORY "$bin" verify "$@" --ca-file "$T/ca.pem"; }
verify "$reg/team/app:v1" --key "$T/ec.pub"
assert_rc "verify without the signature repository: exit 1" 1
assert_contains "... no signatures found beside the image" "$OUT" "no signatures found"
verify "$reg/team/app:v1" --key "$T/ec.pub" --signature-repository "$reg/sigs/app" -o json
assert_rc "verify --signature-repository: exit 0" 0
assert_eq "... verified" "true" "$(json_get "$OUT" 'd["verified"]')"
assert_eq "... one signature read" "1" "$(json_get "$OUT" 'd["signatures"]')"
run_capture env COSIGN_REPOSITORY="$reg/sigs/app" "$bin" verify "$reg/team/app:v1" --key "$T/ec.pub" --ca-file "$T/ca.pem"
assert_rc "COSIGN_REPOSITORY as cosign reads it: exit 0" 0
verify "$reg/team/app:v1" --key "$T/ec.pub" --signature-repository "$reg/sigs/app:v1"
assert_rc "a signature repository with a tag: not verified (exit 1)" 1
assert_contains "... naming why" "$OUT$ERR" "must be a repository name without tag or digest"

# ---- imagegate serve ----
cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: signature-repository-test}
spec:
  mode: enforce
  failurePolicy: closed
  noMatch: deny
  trustAnchors:
    - name: ec-key
      cosign: {keyFile: $T/ec.pub}
  rules:
    - name: elsewhere
      match: {images: ["$reg/team/**"]}
      signatures: {anchors: [ec-key], repository: "$reg/sigs/app"}
    - name: beside
      match: {images: ["$reg/sigs/**"]}
      signatures: {anchors: [ec-key]}
YML
run_capture "$bin" policy lint "$T/policy.yaml"
assert_rc "the test policy lints" 0
sp="$(free_port)"
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --policy "$T/policy.yaml" --listen "127.0.0.1:$sp" \
  --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --ca-file "$T/ca.pem"
review() {  # IMAGE: a Pod CREATE review, the answer in $OUT
  pod_review "$1" >"$T/review.json"
  send_review "$SERVER_PORT" "$T/ca.pem" "$T/review.json"
}
review "$reg/team/app:v1"
assert_eq "serve: signatures.repository -> the image is allowed" "true" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
# The copy in sigs/ has the same digest and its `.sig` beside it: the rule without `repository` reads there.
review "$reg/sigs/app:v1"
assert_eq "serve: a rule without repository reads beside the image" "true" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
push_image seed-other "$reg/team/other:v1"
review "$reg/team/other:v1"
assert_eq "serve: an image whose digest has no signature in the repository is denied" "false" \
  "$(json_get "$OUT" 'd["response"]["allowed"]')"
assert_contains "... naming the anchor" "$(json_get "$OUT" 'd["response"]["status"]["message"]')" "ec-key"

finish

#!/usr/bin/env bash
# Attestations are not signatures (issue 13; the pattern of policy-controller's CVE-2022-35930), end to end:
# Debian's docker-registry (plain HTTP on 127.0.0.1, tag-schema fallback referrers), keyless Sigstore bundles
# made offline by sigstore-js with @sigstore/mock's Fulcio, CT log and Rekor (tests/e2e/sigstore/sign.js)
# and attached with @sigstore/oci. In one signing run (one CA, one identity):
#   - bundles/signed:v1 gets a message-signature bundle (the control: a signature) and, beside it, a cosign
#     vulnerability-scan attestation;
#   - bundles/attested:v1 gets only DSSE attestations about its digest: an SPDX SBOM and a cosign
#     vulnerability scan, by the very identity the policy trusts;
#   - the same with a cosign key anchor and key-based bundles (no certificate, no log entry, as cosign
#     --key writes them without a transparency log): keyed/signed:v1 has a message signature by the key,
#     keyed/attested:v1 only the key's SPDX and vulnerability attestations. Before the fix this one was
#     admitted: the key's DSSE envelope over the digest counted as a signature.
# `imagegate verify` and `imagegate serve` admit the signed image and deny the attested one, saying the
# bundles are attestations, not signatures.
source "$(dirname "$0")/lib.sh"
require_cmd docker-registry skopeo openssl python3 curl node npm
bin="${IMAGEGATE_BINARY:?}"
here="$(cd "$(dirname "$0")" && pwd)"
make_temp_dir
T="$E2E_TMP"

node_modules="$("$here/sigstore/install.sh")" || die "npm install of tests/e2e/sigstore failed"
bp="$(free_port)"
REGISTRY_PLAIN=1 start_registry bundles "$bp"
breg="127.0.0.1:$bp"
bpush() { push_image "$2" "$breg/$1" --dest-tls-verify=false; }
manifest() { save_manifest "$breg" "$@"; }
bpush bundles/signed:v1 seed-signed
bpush bundles/attested:v1 seed-attested
mkdir -p "$T/mock"
signed="$(manifest bundles/signed:v1 "$T/mock/manifest.json")"
attested="$(manifest bundles/attested:v1 "$T/attested.json")"
[ "$signed" != "$attested" ] || die "the images should differ"
bpush keyed/signed:v1 seed-keyed-signed
bpush keyed/attested:v1 seed-keyed-attested
ksigned="$(manifest keyed/signed:v1 "$T/keyed-signed.json")"
kattested="$(manifest keyed/attested:v1 "$T/keyed-attested.json")"
openssl ecparam -name prime256v1 -genkey -noout -out "$T/release.key" 2>/dev/null || die "openssl ecparam"
openssl ec -in "$T/release.key" -pubout -out "$T/release.pub" 2>/dev/null || die "openssl ec"
spdx=https://spdx.dev/Document
vuln=https://cosign.sigstore.dev/attestation/vuln/v1
NODE_PATH="$node_modules" timeout 120 node "$here/sigstore/sign.js" "$breg" bundles/signed "$signed" "$T/mock/manifest.json" \
  "$T/mock" dev@example.com https://issuer.example \
  --attest bundles/attested "$attested" "$spdx" --attest bundles/attested "$attested" "$vuln" \
  --attest bundles/signed "$signed" "$vuln" \
  --key-sign "$T/release.key" keyed/signed "$ksigned" "$T/keyed-signed.json" \
  --key-attest "$T/release.key" keyed/signed "$ksigned" "$vuln" \
  --key-attest "$T/release.key" keyed/attested "$kattested" "$spdx" \
  --key-attest "$T/release.key" keyed/attested "$kattested" "$vuln" \
  >"$T/sign.log" 2>&1 || die "sign.js: $(cat "$T/sign.log")"
assert_contains "sign.js made a DSSE attestation" "$(cat "$T/mock/attestation-1.json")" '"dsseEnvelope"'
assert_contains "... about the attested image's digest, by the trusted identity" \
  "$(python3 -c 'import base64,json,sys; print(base64.b64decode(json.load(open(sys.argv[1]))["dsseEnvelope"]["payload"]).decode())' "$T/mock/attestation-1.json")" \
  "${attested#sha256:}"
assert_contains "@sigstore/oci listed both attestations in the fallback index" \
  "$(curl -sS -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$breg/v2/bundles/attested/manifests/${attested/:/-}")" \
  "$vuln"

ident=(--certificate-identity dev@example.com --certificate-oidc-issuer https://issuer.example
       --trusted-root "$T/mock/trusted_root.json" --insecure-registry "$breg")

# ---- imagegate verify ----
run_capture "$bin" verify "$breg/bundles/signed:v1" "${ident[@]}" -o json
assert_rc "verify: message-signature bundle (with an attestation beside it): exit 0" 0
assert_contains "verify: the signer" "$(json_get "$OUT" 'd["anchors"][0]["signers"]')" "dev@example.com"
run_capture "$bin" verify "$breg/bundles/attested:v1" "${ident[@]}" -o json
assert_rc "verify: attestations only: exit 1" 1
reason="$(json_get "$OUT" 'd["failed"][0]["reason"]')"
assert_contains "verify: no signatures found" "$reason" "no signatures found"
assert_contains "verify: names the attestation" "$reason" "is an attestation (in-toto predicateType"
assert_contains "verify: not a signature" "$reason" "not a signature"
assert_contains "verify: names a predicate type" "$reason" "$spdx"
run_capture "$bin" verify "$breg/keyed/signed:v1" --key "$T/release.pub" --insecure-registry "$breg" -o json
assert_rc "verify --key: message-signature bundle by the key: exit 0" 0
run_capture "$bin" verify "$breg/keyed/attested:v1" --key "$T/release.pub" --insecure-registry "$breg" -o json
assert_rc "verify --key: only the key's attestations: exit 1" 1
assert_contains "verify --key: names the attestation" "$(json_get "$OUT" 'd["failed"][0]["reason"]')" \
  "Sigstore bundle is an attestation (in-toto predicateType"

# ---- imagegate serve ----
make_ca "$T"
make_server_cert "$T" tls
cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: attestations-test}
spec:
  mode: enforce
  failurePolicy: closed
  noMatch: deny
  trustAnchors:
    - name: release
      cosign: {keyFile: $T/release.pub}
    - name: ci
      keyless:
        issuer: https://issuer.example
        subject: dev@example.com
        trustedRoot: $T/mock/trusted_root.json
  rules:
    - name: keyed
      match: {images: ["$breg/keyed/**"]}
      signatures: {anchors: [release]}
    - name: signed
      match: {images: ["$breg/**"]}
      signatures: {anchors: [ci]}
YML
run_capture "$bin" policy lint "$T/policy.yaml"
assert_rc "the test policy lints" 0
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --policy "$T/policy.yaml" --listen 127.0.0.1:0 \
  --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --insecure-registry "$breg"
review "$breg/bundles/signed:v1"
assert_eq "serve: signed image allowed" "true" "$(review_allowed)"
review "$breg/bundles/attested:v1" u2
assert_eq "serve: image with only attestations by the trusted identity denied" "false" "$(review_allowed)"
assert_contains "serve: the denial says attestations are not signatures" "$(review_message)" \
  "ci: no signatures found: Sigstore bundle is an attestation"
review "$breg/bundles/attested@$attested" u3
assert_eq "serve: the same by digest denied" "false" "$(review_allowed)"
review "$breg/keyed/signed:v1" u4
assert_eq "serve: message signature by the anchor's key allowed" "true" "$(review_allowed)"
review "$breg/keyed/attested:v1" u5
assert_eq "serve: only the anchor key's attestations (SPDX, vuln): denied" "false" "$(review_allowed)"
assert_contains "serve: the denial names it" "$(review_message)" "release: no signatures found: Sigstore bundle is an attestation"
assert_contains "serve: decision log has the reason" "$(cat "$T/decisions.log")" "not a signature"

finish

#!/usr/bin/env bash
# Attestation requirements (issue 17), end to end with real producers: Debian's docker-registry (plain HTTP on
# 127.0.0.1, tag-schema fallback referrers), DSSE attestations in key-based Sigstore bundles (what `cosign
# attest --key` writes with the new bundle format and no transparency log) made by tests/e2e/sigstore/sign.js
# and attached with @sigstore/oci. The statements carry a real SLSA provenance v1 predicate
# (buildDefinition.externalParameters.workflow.repository, runDetails.builder.id) and an SPDX 2.3 document.
# Keyless attestations are covered by the DSSE cases of sigstore-conformance (real Rekor entries,
# tests/verifier/signature/attestation/image_attestations_test.cc), not here: @sigstore/mock's Rekor logs
# the *proposed* dsse entry (the whole envelope and verifiers) where Rekor logs its canonical form (payload
# and envelope hashes), so its keyless DSSE bundles do not verify anywhere (a fault of the fake).
# A rule requires a provenance from github.com/acme/app, signed by the CI identity or the release key; another
# an SBOM listing openssl, signed by the release key.
#   allowed:  provenance from the right repository (keyless); the SPDX SBOM (key).
#   denied:   provenance from another repository; the right statement signed by an unknown key; a statement
#             about another digest attached to the image; predicate types differing only in case or version;
#             a statement with two subjects, neither the image; a >10 MB predicate (refused by the fetcher's
#             bound, said so); a deeply nested predicate (refused by the statement parser's depth bound).
# `imagegate verify --attestation` and `imagegate serve` decide alike, and say which statement satisfied the
# requirement, or why none did.
source "$(dirname "$0")/lib.sh"
require_cmd docker-registry skopeo openssl python3 curl node npm
bin="${IMAGEGATE_BINARY:?}"
here="$(cd "$(dirname "$0")" && pwd)"
make_temp_dir
T="$E2E_TMP"

node_modules="$("$here/sigstore/install.sh")" || die "npm install of tests/e2e/sigstore failed"
port="$(free_port)"
REGISTRY_PLAIN=1 start_registry attest "$port"
reg="127.0.0.1:$port"
declare -A D
for name in good evil unknown other case two big deep sbom; do
  push_image "seed-$name" "$reg/app/$name:v1" --dest-tls-verify=false
  D[$name]="$(save_manifest "$reg" "app/$name:v1" "$T/$name.json")"
done
openssl ecparam -name prime256v1 -genkey -noout -out "$T/release.key" 2>/dev/null || die "openssl ecparam"
openssl ec -in "$T/release.key" -pubout -out "$T/release.pub" 2>/dev/null || die "openssl ec"
openssl ecparam -name prime256v1 -genkey -noout -out "$T/stranger.key" 2>/dev/null || die "openssl ecparam"

# Real predicates: SLSA provenance v1 as GitHub Actions writes it, an SPDX 2.3 document, and the bounds.
provenance() {  # REPOSITORY
  cat <<JSON
{"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1",
  "externalParameters": {"workflow": {"ref": "refs/heads/main", "repository": "https://github.com/$1",
                                      "path": ".github/workflows/release.yml"}},
  "internalParameters": {"github": {"event_name": "push", "repository_id": "1", "repository_owner_id": "2"}},
  "resolvedDependencies": [{"uri": "git+https://github.com/$1@refs/heads/main", "digest": {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}}]},
 "runDetails": {"builder": {"id": "https://github.com/$1/.github/workflows/release.yml@refs/heads/main"},
  "metadata": {"invocationId": "https://github.com/$1/actions/runs/1/attempts/1"}}}
JSON
}
provenance acme/app >"$T/acme.json"
provenance evil/app >"$T/evil.json"
cat >"$T/spdx.json" <<'JSON'
{"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": "app",
 "documentNamespace": "https://example.com/spdx/app-1", "creationInfo": {"created": "2026-01-01T00:00:00Z",
 "creators": ["Tool: syft-1.0.0"]}, "packages": [{"SPDXID": "SPDXRef-openssl", "name": "openssl",
 "versionInfo": "3.0.15", "downloadLocation": "NOASSERTION"}]}
JSON
python3 -c 'import sys; sys.stdout.write("{\"pad\":\"" + "x" * (10 * 1024 * 1024 + 1) + "\"}")' >"$T/big.json"
python3 -c 'import sys; sys.stdout.write("{\"a\":" + "[" * 100 + "]" * 100 + "}")' >"$T/deep.json"

slsa=https://slsa.dev/provenance/v1
mkdir -p "$T/mock"
NODE_PATH="$node_modules" timeout 120 node "$here/sigstore/sign.js" "$reg" app/good "${D[good]}" "$T/good.json" \
  "$T/mock" dev@example.com https://issuer.example \
  --predicate "$T/acme.json" --key-attest "$T/release.key" app/good "${D[good]}" "$slsa" \
  --predicate "$T/evil.json" --key-attest "$T/release.key" app/evil "${D[evil]}" "$slsa" \
  --predicate "$T/acme.json" --key-attest "$T/stranger.key" app/unknown "${D[unknown]}" "$slsa" \
  --predicate "$T/acme.json" --subjects "${D[good]}" --key-attest "$T/release.key" app/other "${D[other]}" "$slsa" \
  --predicate "$T/acme.json" --key-attest "$T/release.key" app/case "${D[case]}" "https://SLSA.dev/provenance/v1" \
  --predicate "$T/acme.json" --key-attest "$T/release.key" app/case "${D[case]}" "https://slsa.dev/provenance/v0.2" \
  --predicate "$T/acme.json" --subjects "${D[good]},${D[evil]}" --key-attest "$T/release.key" app/two "${D[two]}" "$slsa" \
  --predicate "$T/big.json" --key-attest "$T/release.key" app/big "${D[big]}" "$slsa" \
  --predicate "$T/deep.json" --key-attest "$T/release.key" app/deep "${D[deep]}" "$slsa" \
  --predicate "$T/spdx.json" --key-attest "$T/release.key" app/sbom "${D[sbom]}" https://spdx.dev/Document \
  >"$T/sign.log" 2>&1 || die "sign.js: $(tail -c 2000 "$T/sign.log")"

cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: attestation-requirements-test}
spec:
  mode: enforce
  failurePolicy: closed
  noMatch: deny
  trustAnchors:
    - name: release
      cosign: {keyFile: $T/release.pub}
  rules:
    - name: sbom
      match: {images: ["$reg/app/sbom"]}
      attestations:
        - name: sbom
          predicateType: https://spdx.dev/Document
          anchors: [release]
          conditions:
            - {path: spdxVersion, matches: "SPDX-2.*"}
            - path: packages
              any: [{path: name, equals: openssl}]
    - name: provenance
      match: {images: ["$reg/app/**"]}
      attestations:
        - name: provenance
          predicateType: $slsa
          anchors: [release]
          conditions:
            - {path: buildDefinition.externalParameters.workflow.repository, equals: "https://github.com/acme/app"}
            - {path: buildDefinition.externalParameters.workflow.ref, oneOf: [refs/heads/main]}
            - {path: runDetails.builder.id, matches: "https://github.com/acme/app/.github/workflows/*@refs/heads/main"}
YML
run_capture "$bin" policy lint "$T/policy.yaml"
assert_rc "the test policy lints" 0

# ---- imagegate verify --attestation ----
ident=(--key "$T/release.pub" --insecure-registry "$reg")
repo_condition='{path: buildDefinition.externalParameters.workflow.repository, equals: "https://github.com/acme/app"}'
run_capture "$bin" verify "$reg/app/good:v1" "${ident[@]}" --attestation "$slsa" --condition "$repo_condition" -o json
assert_rc "verify --attestation: provenance from acme/app by the release key: exit 0" 0
assert_contains "verify: names the statement that satisfied it" "$(json_get "$OUT" 'd["attestations"][0]["anchors"][0]["detail"]')" \
  "signed by key sha256:"
run_capture "$bin" verify "$reg/app/evil:v1" "${ident[@]}" --attestation "$slsa" --condition "$repo_condition" -o json
assert_rc "verify --attestation: provenance from evil/app: exit 1" 1
assert_contains "verify: says which field differs" "$(json_get "$OUT" 'd["attestations"][0]["anchors"][0]["detail"]')" \
  'buildDefinition.externalParameters.workflow.repository is "https://github.com/evil/app", not "https://github.com/acme/app"'
run_capture "$bin" verify "$reg/app/good:v1" "${ident[@]}" --attestation "$slsa" --condition '{path: a, bogus: 1}'
assert_rc "verify: a bad --condition is an error" 2
assert_contains "verify: ... said with did-you-mean" "$ERR" "unknown key"

# ---- imagegate test --online ----
cat >"$T/pods.yaml" <<YML
apiVersion: v1
kind: Pod
metadata: {name: good, namespace: default}
spec:
  containers: [{name: app, image: "$reg/app/good:v1"}]
---
apiVersion: v1
kind: Pod
metadata: {name: evil, namespace: default}
spec:
  containers: [{name: app, image: "$reg/app/evil:v1"}]
YML
run_capture "$bin" test --online --insecure-registry "$reg" --policy "$T/policy.yaml" -f "$T/pods.yaml" -o json
assert_rc "test --online: the evil provenance is denied (exit 1)" 1
assert_eq "test --online: good allowed, evil denied" '["allow", "deny"]' \
  "$(json_get "$OUT" '[w["containers"][0]["decision"] for w in d["workloads"]]')"
assert_contains "test --online: the evidence names the satisfying statement" \
  "$(json_get "$OUT" 'd["workloads"][0]["containers"][0]["evidence"]["attestations"][0]["anchors"][0]["detail"]')" "signed by key sha256:"
assert_contains "test --online: ... and why none did" \
  "$(json_get "$OUT" 'd["workloads"][1]["containers"][0]["evidence"]["attestations"][0]["anchors"][0]["detail"]')" \
  'is "https://github.com/evil/app", not "https://github.com/acme/app"'

# ---- imagegate serve ----
make_ca "$T"
make_server_cert "$T" tls
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --policy "$T/policy.yaml" --listen 127.0.0.1:0 \
  --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --insecure-registry "$reg"
review "$reg/app/good:v1" u1
assert_eq "serve: provenance from the right repository: allowed" "true" "$(review_allowed)"
review "$reg/app/sbom:v1" u2
assert_eq "serve: SPDX SBOM listing openssl, signed by the release key: allowed" "true" "$(review_allowed)"
# log_line UID: the decision log's line for review UID (the log is written asynchronously: polled, 10 s).
log_line() {
  local i
  for i in $(seq 1 100); do
    grep -q "\"uid\":\"$1\"" "$T/decisions.log" && break
    sleep 0.1
  done
  grep "\"uid\":\"$1\"" "$T/decisions.log"
}
# The answer has one message per container, cut to fit kubectl; the decision log has every reason whole.
deny() {  # NAME IMAGE UID EXPECTED-SUBSTRING
  review "$2" "$3"
  assert_eq "serve: $1: denied" "false" "$(review_allowed)"
  assert_contains "serve: $1: one message naming the requirement" "$(review_message)" 'attestation "provenance": 0 of 1 anchors verified'
  assert_contains "serve: $1: the decision log says why" "$(log_line "$3")" "$4"
}
deny "provenance from another repository" "$reg/app/evil:v1" u3 'is \"https://github.com/evil/app\", not \"https://github.com/acme/app\"'
assert_contains "serve: ... which the answer says too" "$(review_message)" '"https://github.com/evil/app", not "https://github.com/acme/app"'
deny "right statement by an unknown key" "$reg/app/unknown:v1" u4 "DSSE signature does not verify"
deny "statement about another digest" "$reg/app/other:v1" u5 "DSSE subject does not name the artifact digest"
deny "predicate type differing in case and version" "$reg/app/case:v1" u6 'other predicate types: in-toto predicateType \"https://SLSA.dev/provenance/v1\"'
assert_contains "serve: ... the version variant is named too" "$(log_line u6)" "https://slsa.dev/provenance/v0.2"
deny "two subjects, neither the image" "$reg/app/two:v1" u7 "DSSE subject does not name the artifact digest"
deny "a >10 MB predicate" "$reg/app/big:v1" u8 "exceeds 1048576"
deny "a deeply nested predicate" "$reg/app/deep:v1" u9 "in-toto statement: JSON nested deeper than 32 levels"
review "$reg/app/good@${D[good]}" u10
assert_eq "serve: the allowed image by digest: allowed (cached answer)" "true" "$(review_allowed)"
assert_contains "serve: the decision log names the satisfying statement" "$(log_line u10)" \
  '"requirement":"provenance"'
assert_contains "serve: ... and its signer" "$(log_line u10)" "signed by key sha256:"

finish

#!/usr/bin/env bash
# Multi-arch signatures and signature repositories end to end, against Debian's docker-registry (TLS from a
# test CA on 127.0.0.1):
# - two-platform OCI indexes (tests/e2e/registry/make_layout.py --multi) pushed with `skopeo copy --all`;
# - ONLY the index digest signed: cosign's `.sig` layout written by skopeo's sigstore-attachment code, with
#   signature bytes made by openssl over cosign's exact simple-signing payload (signatures_test.sh's recipe);
# - reviews through `imagegate serve`: `app:1.0@sha256:<platform>` allowed with
#   `signatures.acceptIndexSignatures` and denied without it; another image's platform digest denied, naming
#   the index that does not list it; `app@sha256:<platform>` (no tag: no index to look at) denied; the index
#   digest itself allowed either way; `imagegate test --online` shows the evidence naming the index;
# - `signatures.repository`: signatures copied into another repository verify only when the rule names it.
source "$(dirname "$0")/lib.sh"
require_cmd docker-registry skopeo openssl python3 curl
bin="${IMAGEGATE_BINARY:?}"
here="$(cd "$(dirname "$0")" && pwd)"
make_temp_dir
T="$E2E_TMP"

rp="$(free_port)"
start_registry registry "$rp"
reg="127.0.0.1:$rp"
certs="$T/certs.d"

# registries.d: write cosign attachments; an empty one for reads (so dir: copies carry no old signatures).
mkdir -p "$T/registries.d" "$T/no-registries.d"
printf 'default-docker:\n  use-sigstore-attachments: true\n' >"$T/registries.d/default.yaml"

openssl ecparam -name prime256v1 -genkey -noout -out "$T/ec.key" 2>/dev/null || die "openssl ec key"
openssl ec -in "$T/ec.key" -pubout -out "$T/ec.pub" 2>/dev/null || die "openssl ec pub"

# payload REPO DIGEST: the simple-signing payload cosign writes (its exact layout).
payload() {
  printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
    "$reg/$1" "$2"
}
# sign_top REPO:TAG: one ECDSA signature over the digest the tag names -- for a multi-arch tag the index,
# and only the index: the copy to dir: takes every platform (--all) but writes signatures for the top
# manifest alone (dir:'s signature-N files; the platforms' would be <digest>.signature-N).
sign_top() {
  local ref="$1" repo="${1%%:*}" digest
  digest="$(raw_digest "$reg/$ref")"
  payload "$repo" "$digest" >"$T/p.json"
  openssl dgst -sha256 -sign "$T/ec.key" -out "$T/s.bin" "$T/p.json" || die "openssl sign"
  rm -rf "$T/dir"
  skopeo --registries.d "$T/no-registries.d" copy --quiet --all --src-cert-dir "$certs" "docker://$reg/$ref" \
    "dir:$T/dir" >"$T/skopeo.log" 2>&1 || die "skopeo copy $ref to dir: $(cat "$T/skopeo.log")"
  python3 "$here/signatures/attach.py" "$T/dir" "$T/p.json" "$T/s.bin" || die "attach.py"
  skopeo --registries.d "$T/registries.d" copy --quiet --all --dest-cert-dir "$certs" "dir:$T/dir" \
    "docker://$reg/$ref" >"$T/skopeo.log" 2>&1 || die "skopeo attach to $ref: $(cat "$T/skopeo.log")"
}
# platform_digest REPO:TAG ARCH: the digest of ARCH's manifest in the index the tag names.
platform_digest() {
  skopeo inspect --raw --cert-dir "$certs" "docker://$reg/$1" |
    python3 -c 'import json,sys; print([m["digest"] for m in json.load(sys.stdin)["manifests"] if m["platform"]["architecture"] == sys.argv[1]][0])' "$2"
}
sig_tag() { echo "${1/:/-}.sig"; }

# ---- images ----
PUSH_LAYOUT_ARGS=--multi push_image seed-app "$reg/team/app:1.0"
PUSH_LAYOUT_ARGS=--multi push_image seed-other "$reg/team/other:1.0"
PUSH_LAYOUT_ARGS=--multi push_image seed-app "$reg/strict/app:1.0"   # same content, rule without the option
index="$(raw_digest "$reg/team/app:1.0")"
arm="$(platform_digest team/app:1.0 arm64)"
amd="$(platform_digest team/app:1.0 amd64)"
other_arm="$(platform_digest team/other:1.0 arm64)"
[ "$(raw_digest "$reg/strict/app:1.0")" = "$index" ] || die "strict/app should carry the same index"
case "$index" in sha256:*) ;; *) die "no index digest: $index" ;; esac
[ "$arm" != "$index" ] && [ "$amd" != "$arm" ] && [ "$other_arm" != "$arm" ] || die "platform digests not distinct"
sign_top team/app:1.0
sign_top strict/app:1.0
sign_top team/other:1.0

tags="$(curl -sS --cacert "$T/ca.pem" "https://$reg/v2/team/app/tags/list")"
assert_contains "skopeo wrote the .sig tag of the index" "$tags" "$(sig_tag "$index")"
assert_not_contains "no signature on the arm64 manifest" "$tags" "$(sig_tag "$arm")"
assert_not_contains "no signature on the amd64 manifest" "$tags" "$(sig_tag "$amd")"

# Signature repository: one single-platform image, its signature attached in a scratch repository and the
# `.sig` tag copied from there to sigs/solo; team/solo and plain/solo carry no signatures themselves.
push_image seed-solo "$reg/scratch/solo:1.0"
push_image seed-solo "$reg/team/solo:1.0"
push_image seed-solo "$reg/plain/solo:1.0"
solo="$(raw_digest "$reg/team/solo:1.0")"
[ "$(raw_digest "$reg/scratch/solo:1.0")" = "$solo" ] || die "scratch/solo should carry the same digest"
sign_top scratch/solo:1.0
skopeo copy --quiet --preserve-digests --src-cert-dir "$certs" --dest-cert-dir "$certs" \
  "docker://$reg/scratch/solo:$(sig_tag "$solo")" "docker://$reg/sigs/solo:$(sig_tag "$solo")" >"$T/skopeo.log" 2>&1 ||
  die "skopeo copy of the .sig tag: $(cat "$T/skopeo.log")"
assert_contains "the signature lives in sigs/solo" "$(curl -sS --cacert "$T/ca.pem" "https://$reg/v2/sigs/solo/tags/list")" \
  "$(sig_tag "$solo")"
assert_not_contains "team/solo has no signature tag" \
  "$(curl -sS --cacert "$T/ca.pem" "https://$reg/v2/team/solo/tags/list")" ".sig"

# ---- imagegate serve ----
cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: multiarch-test}
spec:
  mode: enforce
  failurePolicy: closed
  noMatch: deny
  trustAnchors:
    - name: release
      cosign: {keyFile: $T/ec.pub}
  rules:
    - name: team
      match: {images: ["$reg/team/*"]}
      signatures: {anchors: [release], acceptIndexSignatures: true}
    - name: strict
      match: {images: ["$reg/strict/*"]}
      signatures: {anchors: [release]}
    - name: solo
      match: {images: ["$reg/team/solo"]}
      signatures: {anchors: [release], repository: "$reg/sigs/solo"}
    - name: plain
      match: {images: ["$reg/plain/*"]}
      signatures: {anchors: [release]}
YML
run_capture "$bin" policy lint "$T/policy.yaml"
assert_rc "the test policy lints" 0
sp="$(free_port)"
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --policy "$T/policy.yaml" --listen "127.0.0.1:$sp" \
  --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --ca-file "$T/ca.pem"

review "$reg/team/app:1.0"
assert_eq "serve: the tag (the signed index) allowed" "true" "$(review_allowed)"
review "$reg/team/app@$index"
assert_eq "serve: the index digest allowed" "true" "$(review_allowed)"
review "$reg/team/app:1.0@$arm"
assert_eq "serve: tag@arm64 digest allowed through the index signature" "true" "$(review_allowed)"
review "$reg/team/app:1.0@$amd"
assert_eq "serve: tag@amd64 digest allowed through the index signature" "true" "$(review_allowed)"
# An allowed review says in the decision log which index vouched for the platform digest.
assert_contains "serve: allowed through the index: the decision log's signature evidence names the index" \
  "$(grep -F "app:1.0@$arm" "$T/decisions.log" | head -1)" \
  "\"signatures\":[{\"anchor\":\"release\",\"detail\":\"signed by"
assert_contains "serve: allowed through the index: ... on the index the tag resolves to" \
  "$(grep -F "app:1.0@$arm" "$T/decisions.log" | head -1)" "on the index $index that $reg/team/app:1.0 resolves to"
review "$reg/strict/app:1.0@$arm"
assert_eq "serve: without acceptIndexSignatures the platform digest is denied" "false" "$(review_allowed)"
assert_contains "serve: without the option: no signature on the platform digest" "$(review_message)" "release: no signatures found"
assert_not_contains "serve: without the option the index is not consulted" "$(review_message)" "index"
review "$reg/strict/app:1.0"
assert_eq "serve: without the option the signed index itself is allowed" "true" "$(review_allowed)"
review "$reg/team/app:1.0@$other_arm"
assert_eq "serve: another image's platform digest denied" "false" "$(review_allowed)"
assert_contains "serve: another image's platform: the message names the index" "$(review_message)" \
  "the index $index that $reg/team/app:1.0 resolves to does not"
# The message is cut to fit kubectl; the decision log has the whole reason.
assert_contains "serve: another image's platform: the decision log says the index does not list it" \
  "$(grep -F "$other_arm" "$T/decisions.log" | head -1)" \
  "the index $index that $reg/team/app:1.0 resolves to does not list $other_arm"
review "$reg/team/app@$arm"
assert_eq "serve: a platform digest without a tag denied (no index to look at)" "false" "$(review_allowed)"
assert_contains "serve: no tag: no signature on the platform digest" "$(review_message)" "release: no signatures found"
review "$reg/team/nosuch:1.0@$arm"
assert_eq "serve: a tag that does not exist: denied" "false" "$(review_allowed)"
assert_contains "serve: a tag that does not exist: says the tag could not be resolved" "$(review_message)" \
  "could not resolve $reg/team/nosuch:1.0"

# Signature repository.
review "$reg/team/solo:1.0"
assert_eq "serve: signatures in the rule's repository verify" "true" "$(review_allowed)"
review "$reg/plain/solo:1.0"
assert_eq "serve: the same digest under a rule without the repository: denied" "false" "$(review_allowed)"
assert_contains "serve: without the repository: no signatures found" "$(review_message)" "release: no signatures found"

decided="$(grep -c '"decision"' "$T/decisions.log" || true)"
[ "$decided" -ge 11 ] && pass "serve: every review in the decision log" || fail "serve: decision log" "$decided lines"

# ---- imagegate test --online: the same answers, with the evidence naming the index ----
cat >"$T/pod.yaml" <<YML
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec:
  containers:
    - {name: arm, image: "$reg/team/app:1.0@$arm"}
YML
run_capture timeout 120 "$bin" test --policy "$T/policy.yaml" -f "$T/pod.yaml" --online --ca-file "$T/ca.pem" -o json
assert_rc "test --online: tag@platform digest passes" 0
detail="$(json_get "$OUT" 'd["workloads"][0]["containers"][0]["evidence"]["signatures"][0]["detail"]')"
assert_contains "test --online: the evidence names the index and the platform digest" "$detail" \
  "on the index $index that $reg/team/app:1.0 resolves to, which lists $arm (linux/arm64/v8)"
sed -i "s|$reg/team/app:1.0@$arm|$reg/strict/app:1.0@$arm|" "$T/pod.yaml"
run_capture timeout 120 "$bin" test --policy "$T/policy.yaml" -f "$T/pod.yaml" --online --ca-file "$T/ca.pem"
assert_rc "test --online: without the option the platform digest fails" 1

# Registry down: the index cannot be looked at -> unavailable, failurePolicy closed denies.
stop_pid "$REGISTRY_PID"
review "$reg/team/app:1.0@$other_arm" u9
assert_eq "serve: registry down: denied (failurePolicy closed)" "false" "$(review_allowed)"
kill -0 "$SERVER_PID" 2>/dev/null && pass "serve survived the registry going away" || fail "serve died"

finish

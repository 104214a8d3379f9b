#!/usr/bin/env bash
# Signature verification benchmark against Debian's docker-registry (TLS) on 127.0.0.1: an image with three
# cosign signatures (ECDSA P-256, RSA-3072, Ed25519; written by skopeo's attachment code, signed by openssl),
# verified with an ECDSA key anchor.
#   bench/signatures.sh [BINARY] [REVIEWS]      (defaults: build/imagegate, 200)
# Reports: `imagegate verify` per image (new process, warm registry), split into registry round trips and
# crypto; reviews through `imagegate serve`: the first (cold: resolve + fetch + verify) and REVIEWS more
# (cached), and registry requests per review. docs/BENCHMARKS.md ("Signature verification") records a run.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$src/build/imagegate}"
reviews="${2:-200}"
E2E_TMP="" ; source "$src/tests/e2e/lib.sh"
make_temp_dir
T="$E2E_TMP"
here="$src/tests/e2e"

make_ca
mkdir -p "$T/registries.d" "$T/none.d"
printf 'default-docker:\n  use-sigstore-attachments: true\n' >"$T/registries.d/default.yaml"
rp="$(free_port)"; sp="$(free_port)"
start_registry registry "$rp"
reg="127.0.0.1:$rp"
push_image bench "$reg/bench/app:v1"
skopeo --registries.d "$T/none.d" copy --quiet --src-cert-dir "$T/certs.d" "docker://$reg/bench/app:v1" "dir:$T/dir"
digest="sha256:$(sha256sum "$T/dir/manifest.json" | sed 's/ .*//')"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$T/rsa.key" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$T/ed.key" 2>/dev/null
openssl pkey -in "$T/ec.key" -pubout -out "$T/ec.pub"
printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
  "$reg/bench/app" "$digest" >"$T/payload.json"
openssl dgst -sha256 -sign "$T/rsa.key" -out "$T/rsa.sig" "$T/payload.json"
openssl pkeyutl -sign -inkey "$T/ed.key" -rawin -in "$T/payload.json" -out "$T/ed.sig"
openssl dgst -sha256 -sign "$T/ec.key" -out "$T/ec.sig" "$T/payload.json"
python3 "$here/signatures/attach.py" "$T/dir" "$T/payload.json" "$T/rsa.sig" "$T/payload.json" "$T/ed.sig" \
  "$T/payload.json" "$T/ec.sig"
skopeo --registries.d "$T/registries.d" copy --quiet --dest-cert-dir "$T/certs.d" "dir:$T/dir" "docker://$reg/bench/app:v1"

# Per image, new process each time (TLS handshake, resolve, .sig manifest, 3 payload blobs, referrers), median of 10.
cold=(); fetch=(); crypto=()
for i in $(seq 1 10); do
  s=$(date +%s%N)
  out="$("$bin" verify "$reg/bench/app:v1" --key "$T/ec.pub" --ca-file "$T/ca.pem" -o json)"
  cold+=($(( ($(date +%s%N) - s) / 1000 )))
  fetch+=("$(json_get "$out" 'round(d["timing"]["fetchSeconds"]*1e6)')")
  crypto+=("$(json_get "$out" 'round(d["timing"]["verifySeconds"]*1e6)')")
  requests="$(json_get "$out" 'd["registryRequests"]')"
done
median() { printf '%s\n' "$@" | sort -n | sed -n 5p; }

cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: bench}
spec:
  noMatch: deny
  trustAnchors: [{name: release, cosign: {keyFile: $T/ec.pub}}]
  rules: [{name: signed, match: {images: ["**"]}, signatures: {anchors: [release]}}]
YML
"$bin" serve --policy "$T/policy.yaml" --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --listen "127.0.0.1:$sp" \
  --ca-file "$T/ca.pem" --threads 2 >/dev/null 2>"$T/serve.log" &
track_pid $!
wait_for_port "$sp" 15 || die "serve did not start"
printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","userInfo":{"username":"t"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"%s/bench/app:v1"}]}}}}' "$reg" >"$T/review.json"
count() { grep -cE '"(HEAD|GET) /v2/bench/app/' "$T/registry.log" || true; }
before=$(count)
first=$(curl -sS --cacert "$T/ca.pem" -o "$T/first.json" -w '%{time_total}' --data-binary @"$T/review.json" \
  -H 'Content-Type: application/json' "https://127.0.0.1:$sp/validate?timeout=10s")
grep -q '"allowed":true' "$T/first.json" || die "the signed image was not allowed: $(cat "$T/first.json")"
after_first=$(count)
timed_reviews "$sp" "$T/ca.pem" "$T/review.json" "$reviews"
after=$(count)
echo "imagegate verify (new process, 3 signatures, 1 key anchor), median of 10: $(( $(median "${cold[@]}") / 1000 )) ms"
echo "  of which registry round trips (.sig manifest, 3 blobs, referrers + fallback): $(( $(median "${fetch[@]}") / 1000 )) ms in $requests requests"
echo "  of which crypto (3 signatures checked against the anchor):                 $(median "${crypto[@]}") us"
echo "first review through serve (resolve + fetch + verify, cold cache): $(python3 -c "print(round($first*1000,1))") ms"
echo "  registry requests for it: $((after_first - before))"
echo "cached reviews ($reviews), median / p99: $(python3 -c "print(round($TIMED_MEDIAN*1000,2), '/', round($TIMED_P99*1000,2))") ms"
echo "registry requests for those $reviews reviews: $((after - after_first))"

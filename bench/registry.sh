#!/usr/bin/env bash
# Registry benchmark: cold resolution (token + HEAD) and warm (cached) review latency against Debian's
# docker-registry on 127.0.0.1 with token auth, and registry requests per review for repeated images.
#   bench/registry.sh [BINARY] [REVIEWS]      (defaults: build/imagegate, 200)
# Prints one summary; docs/BENCHMARKS.md ("Registry resolution") records a run.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$src/build/imagegate}"
reviews="${2:-200}"
E2E_TMP="" ; source "$src/tests/e2e/lib.sh"
make_temp_dir
T="$E2E_TMP"

make_ca
make_server_cert "$T" tls
tp="$(free_port)"; rp="$(free_port)"; sp="$(free_port)"
start_token_issuer "$tp" u p
start_registry registry "$rp" "$TOKEN_AUTH_YAML"
reg="127.0.0.1:$rp"
SSL_CERT_FILE="$T/ca.pem" push_image bench "$reg/bench/app:v1" --dest-creds u:p
printf '{"auths":{"%s":{"username":"u","password":"p"}}}' "$reg" >"$T/config.json"

# Cold: a fresh process each time (token request + HEAD), median of 10.
cold=()
for i in $(seq 1 10); do
  s=$(date +%s%N)
  "$bin" resolve "$reg/bench/app:v1" --ca-file "$T/ca.pem" --docker-config "$T/config.json" -o json >/dev/null
  cold+=($(( ($(date +%s%N) - s) / 1000 )))
done
cold_median=$(printf '%s\n' "${cold[@]}" | sort -n | sed -n 5p)

cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: bench}
spec:
  noMatch: deny
  registries: {allow: ["$reg"]}
  rules: [{name: pin, match: {images: ["**"]}, pinDigest: true}]
YML
"$bin" serve --policy "$T/policy.yaml" --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --listen "127.0.0.1:$sp" \
  --ca-file "$T/ca.pem" --docker-config "$T/config.json" >/dev/null 2>"$T/serve.log" &
track_pid $!
wait_for_port "$sp" 15 || die "serve did not start"
printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","userInfo":{"username":"t"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"%s/bench/app:v1"}]}}}}' "$reg" >"$T/review.json"
count() { grep -cE '"(HEAD|GET) /v2/bench/app/manifests' "$T/registry.log" || true; }
before=$(count)
first=$(curl -sS --cacert "$T/ca.pem" -o /dev/null -w '%{time_total}' --data-binary @"$T/review.json" \
  -H 'Content-Type: application/json' "https://127.0.0.1:$sp/validate?timeout=10s")
timed_reviews "$sp" "$T/ca.pem" "$T/review.json" "$reviews"
after=$(count)
echo "cold resolve (new process: TLS, token, HEAD), median of 10: $((cold_median / 1000)) ms"
echo "first review through serve (cold cache, token + HEAD):     $(python3 -c "print(round($first*1000,1))") ms"
echo "warm reviews ($reviews, cached digest), median / p99:         $(python3 -c "print(round($TIMED_MEDIAN*1000,2), '/', round($TIMED_P99*1000,2))") ms"
echo "registry manifest requests for $((reviews + 1)) reviews of one image: $((after - before))"
echo "token requests: $(wc -l <"$T/token-requests.log")"

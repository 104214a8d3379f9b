#!/usr/bin/env bash
# Cold signed review benchmark (issue 15, goal 3): `imagegate serve` already in touch with a registry gets a
# review of a NEW image with one cosign `.sig` signature (ECDSA P-256, written by skopeo's attachment code,
# signed by openssl); the policy's anchor also accepts Sigstore bundles, so the bundle places are read too.
# Three registries on 127.0.0.1 (Debian's docker-registry, distribution 2.8: no referrers API):
#   open    TLS, anonymous
#   token   TLS, token auth (tests/e2e/registry/token_issuer.py, as bench/registry.sh)
#   keyless plain HTTP (what @sigstore/oci speaks), a keyless bundle signed with @sigstore/mock (as
#           tests/e2e/signatures_test.sh) and attached through the tag-schema fallback index
#
#   bench/cold.sh [BINARY...]      (default build/imagegate; ROUNDS=N, default 1)
# Several binaries (e.g. /tmp/imagegate-base build/imagegate) run alternately, each with its own fresh
# `serve` process and its own new images, on the same registries, so they see the same machine.
#
# Per (binary, registry), one row: the first review (first contact: TLS handshake, token, resolve, signature
# places) and the median of 3 reviews of new images, end to end (curl's time_total, its TLS handshake with
# serve included) and registry requests per review from the registry's access log (the token issuer's
# requests are listed apart). Where the time goes comes from serve's /metrics around each review:
# `registry` is the sum of imagegate_registry_request_duration_seconds (every exchange, connection set-up
# included; concurrent exchanges add up), `cosign` the signature stage (fetch + verify), `evidence` the whole
# gathering phase, `curl tls` curl's handshake with serve. docs/BENCHMARKS.md ("Signature verification")
# records runs.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("$src/build/imagegate")
rounds="${ROUNDS:-1}"
E2E_TMP="" ; source "$src/tests/e2e/lib.sh"
make_temp_dir
T="$E2E_TMP"
here="$src/tests/e2e"

make_ca
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.key" 2>/dev/null
openssl pkey -in "$T/ec.key" -pubout -out "$T/ec.pub"
op="$(free_port)"; tp="$(free_port)"; kp="$(free_port)"; ip="$(free_port)"
start_registry open "$op"
start_token_issuer "$ip" u p
start_registry token "$kp" "$TOKEN_AUTH_YAML"
REGISTRY_PLAIN=1 start_registry keyless "$tp"
printf '{"auths":{"127.0.0.1:%s":{"username":"u","password":"p"}}}' "$kp" >"$T/config.json"
node_modules="$("$here/sigstore/install.sh")" || die "npm install of tests/e2e/sigstore failed"

# The images: per round and binary, one for first contact and three new ones, on each registry. The keyless
# ones are all signed in one sign.js run (one mock CA, so one trusted root for the anchor).
images=()
for r in $(seq 1 "$rounds"); do
  for b in "${!bins[@]}"; do
    for n in 0 1 2 3; do images+=("r${r}b${b}n${n}"); done
  done
done
kreg="127.0.0.1:$tp"
also=()
for name in "${images[@]}"; do
  cosign_image "127.0.0.1:$op" "bench/$name:v1" "open-$name" "$T/ec.key"
  cosign_image "127.0.0.1:$kp" "bench/$name:v1" "token-$name" "$T/ec.key" u:p
  push_image "keyless-$name" "$kreg/bench/$name:v1" --dest-tls-verify=false
  curl -sS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$kreg/v2/bench/$name/manifests/v1" \
    >"$T/manifest-$name.json"
  also+=(--also-sign "bench/$name" "sha256:$(sha256sum "$T/manifest-$name.json" | sed 's/ .*//')" "$T/manifest-$name.json")
done
# The first image is signed twice (the main signature and its --also-sign): two bundles, still one image.
first="${images[0]}"
mkdir -p "$T/keyless"
NODE_PATH="$node_modules" node "$here/sigstore/sign.js" "$kreg" "bench/$first" \
  "sha256:$(sha256sum "$T/manifest-$first.json" | sed 's/ .*//')" "$T/manifest-$first.json" "$T/keyless" \
  dev@example.com https://issuer.example --no-attach "${also[@]}" >"$T/keyless/sign.log" 2>&1 ||
  die "sign.js: $(cat "$T/keyless/sign.log")"
review_json() {
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","userInfo":{"username":"t"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"%s"}]}}}}' "$1"
}
# metric_sum TEXT NAME [LABEL_FILTER]: the sum of every series of NAME (optionally those matching a label).
metric_sum() {
  grep -E "^$2(\{[^}]*${3:-}[^}]*\})? " <<<"$1" | awk '{s += $2} END {printf "%.6f", s + 0}'
}
access_count() { grep -cE '"(HEAD|GET|POST) /v2/' "$T/$1.log" || true; }
token_count() { wc -l <"$T/token-requests.log"; }

# run_case BINARY KIND NAME0 NAME1 NAME2 NAME3: prints one result row.
run_case() {
  local bin="$1" kind="$2" reg anchor extra=() port m0 m1 t tls before tb i row=() req=() regt=() cos=() toks=()
  shift 2
  case "$kind" in
    open) reg="127.0.0.1:$op" ;;
    token) reg="127.0.0.1:$kp"; extra=(--docker-config "$T/config.json") ;;
    keyless) reg="127.0.0.1:$tp"; extra=(--insecure-registry "$reg") ;;
  esac
  if [ "$kind" = keyless ]; then
    anchor="{name: release, keyless: {issuer: https://issuer.example, subjectRegExp: '.*@example\\.com', trustedRoot: $T/keyless/trusted_root.json}}"
  else
    anchor="{name: release, cosign: {keyFile: $T/ec.pub}}"
  fi
  cat >"$T/policy-$kind.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: bench}
spec:
  noMatch: deny
  trustAnchors: [$anchor]
  rules: [{name: signed, match: {images: ["**"]}, signatures: {anchors: [release]}}]
YML
  set +e  # start_imagegate polls the log with grep, which fails until the line is there
  start_imagegate "$bin" /dev/null "$T/serve-$kind.log" --policy "$T/policy-$kind.yaml" --tls-cert "$T/tls.crt" \
    --tls-key "$T/tls.key" --listen 127.0.0.1:0 --ca-file "$T/ca.pem" --threads 2 "${extra[@]}"
  set -e
  port="$SERVER_PORT"
  for i in 0 1 2 3; do
    review_json "$reg/bench/$1:v1" >"$T/review.json"
    m0="$(curl -sS --cacert "$T/ca.pem" "https://127.0.0.1:$port/metrics")"
    before="$(access_count "$kind")"; tb="$(token_count)"
    read -r t tls < <(curl -sS --cacert "$T/ca.pem" -o "$T/answer.json" -w '%{time_total} %{time_appconnect}\n' \
      --data-binary @"$T/review.json" -H 'Content-Type: application/json' "https://127.0.0.1:$port/validate?timeout=10s")
    grep -q '"allowed":true' "$T/answer.json" || die "$kind: $reg/bench/$1:v1 was not allowed: $(cat "$T/answer.json")"
    m1="$(curl -sS --cacert "$T/ca.pem" "https://127.0.0.1:$port/metrics")"
    row+=("$(python3 -c "print(round($t*1000,2))")")
    req+=("$(( $(access_count "$kind") - before ))")
    toks+=("$(( $(token_count) - tb ))")
    regt+=("$(python3 -c "print(round(($(metric_sum "$m1" imagegate_registry_request_duration_seconds_sum) - $(metric_sum "$m0" imagegate_registry_request_duration_seconds_sum))*1000,2))")")
    cos+=("$(python3 -c "print(round(($(metric_sum "$m1" imagegate_admission_stage_duration_seconds_sum 'stage=\"cosign\"') - $(metric_sum "$m0" imagegate_admission_stage_duration_seconds_sum 'stage=\"cosign\"'))*1000,2), round(($(metric_sum "$m1" imagegate_admission_stage_duration_seconds_sum 'stage=\"evidence\"') - $(metric_sum "$m0" imagegate_admission_stage_duration_seconds_sum 'stage=\"evidence\"'))*1000,2), round($tls*1000,2), sep='/')")")
    shift
  done
  stop_pid "$SERVER_PID"
  # The median of the three new images (sorted by end-to-end time; its own breakdown printed beside it).
  local mid
  mid="$(for i in 1 2 3; do echo "${row[$i]} $i"; done | sort -n | sed -n 2p | cut -d' ' -f2)"
  printf '| %s | %s | first contact | %s ms | %s (+%s token) | %s | %s |\n' "$(basename "$bin")" "$kind" "${row[0]}" \
    "${req[0]}" "${toks[0]}" "${regt[0]}" "${cos[0]}"
  printf '| %s | %s | new image, median of 3 (%s / %s / %s) | %s ms | %s (+%s token) | %s | %s |\n' "$(basename "$bin")" \
    "$kind" "${row[1]}" "${row[2]}" "${row[3]}" "${row[$mid]}" "${req[$mid]}" "${toks[$mid]}" "${regt[$mid]}" "${cos[$mid]}"
}

echo "| binary | registry | review | end to end | registry requests | registry ms (sum) | cosign / evidence / curl tls ms |"
echo "|---|---|---|---|---|---|---|"
for r in $(seq 1 "$rounds"); do
  for kind in open token keyless; do
    for b in "${!bins[@]}"; do
      run_case "${bins[$b]}" "$kind" "r${r}b${b}n0" "r${r}b${b}n1" "r${r}b${b}n2" "r${r}b${b}n3"
    done
  done
done

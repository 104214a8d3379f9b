#!/usr/bin/env bash
# Issue 13, bypass 1: a registry host is compared in one canonical form everywhere. `imagegate serve` with a
# real docker-registry (TLS from a test CA, SAN localhost): a policy allowing `localhost:PORT`, a strict rule
# for `localhost:PORT/**` (tag v1 denied) and a lax catch-all. Before the fix, `LOCALHOST:PORT/team/app:v1`
# passed the (case-insensitive) allowlist, missed the strict rule and was allowed by the catch-all, while
# the runtime pulls the same manifest. Now every spelling gets the strict rule; the registry is reached,
# pinned, logged and given its CA file (keyed `LOCALHOST:PORT` in the config) under its canonical name.
source "$(dirname "$0")/lib.sh"
require_cmd docker-registry skopeo openssl python3 curl kubectl
bin="${IMAGEGATE_BINARY:?}"
make_temp_dir
T="$E2E_TMP"
make_ca
make_server_cert "$T" tls

port="$(free_port)"
start_registry open "$port"
reg="localhost:$port"
push_image seed1 "$reg/team/app:v1"
push_image seed2 "$reg/team/app:v2"
v2="$(raw_digest "$reg/team/app:v2")"
upper="LOCALHOST:$port"

cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: hosts}
spec:
  registries:
    allow: ["$reg"]
  rules:
    - name: strict
      match: {images: ["$reg/**"]}
      deniedTags: [v1]
      pinDigest: true
    - name: lax
      match: {images: ["**"]}
YML
# The CA file is keyed with another spelling of the registry: it must still serve it (no global caFiles).
cat >"$T/serve.yaml" <<YML
policy: $T/policy.yaml
listen: 127.0.0.1:0
tls: {certFile: $T/tls.crt, keyFile: $T/tls.key}
registry:
  registryCAFiles: {"$upper": [$T/ca.pem]}
YML
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --config "$T/serve.yaml"
sp="$SERVER_PORT"

review() {
  pod_review "$1" "$2" >"$T/review.json"
  send_review "$sp" "$T/ca.pem" "$T/review.json"
}

# The attack: the upper-case spelling of the tag the strict rule denies.
for host in "$upper" "Localhost:$port" "localhost:0$port"; do
  review "$host/team/app:v1" "u-$host"
  assert_eq "$host/team/app:v1 is denied" "false" "$(review_allowed)"
  assert_contains "$host/team/app:v1: by the strict rule" "$(review_message)" "tag \"v1\" is denied"
done
# Controls: the lower-case spelling is denied the same way; an allowed tag is allowed in every spelling,
# resolved through the registry by its canonical name (TLS verified with the CA file keyed LOCALHOST).
review "$reg/team/app:v1" u-lower-v1
assert_eq "control: $reg/team/app:v1 is denied" "false" "$(review_allowed)"
review "$reg/team/app:v2" u-lower-v2
assert_eq "control: $reg/team/app:v2 is allowed" "true" "$(review_allowed)"
review "$upper/team/app:v2" u-upper-v2
assert_eq "$upper/team/app:v2 is allowed (the strict rule, resolved)" "true" "$(review_allowed)"
# The allowlist is still one: another port is refused in any case.
review "LOCALHOST:$((port == 65535 ? port - 1 : port + 1))/team/app:v2" u-other-port
assert_eq "another port is not in the allowlist" "false" "$(review_allowed)"
assert_contains "another port: the allowlist says so" "$(review_message)" "not in the allowed registries"

# The decision log keeps the image as the pod spec wrote it and names the canonical registry as "normalized",
# the name the rule, the inventory and the caches used.
sleep 0.2
line="$(grep '"u-upper-v2"' "$T/decisions.log")"
assert_contains "decision log: the image as written" "$line" "\"image\":\"$upper/team/app:v2\""
assert_contains "decision log: normalized is the canonical name" "$line" "\"normalized\":\"$reg/team/app:v2\""
assert_contains "decision log: the strict rule decided" "$line" '"rule":"strict"'
assert_contains "decision log: the digest the registry serves" "$line" "\"digest\":\"$v2\""

# /mutate writes the canonical name back (the same registry), pinned to the digest the registry serves.
pod_review "$upper/team/app:v2" m1 >"$T/mutate.json"
run_capture curl -sS --cacert "$T/ca.pem" -H 'Content-Type: application/json' --data-binary @"$T/mutate.json" \
  "https://127.0.0.1:$sp/mutate?timeout=10s"
assert_eq "mutate: allowed" "true" "$(review_allowed)"
patch="$(json_get "$OUT" '__import__("json").loads(__import__("base64").b64decode(d["response"]["patch"]))')"
assert_eq "mutate: pins the upper-case spelling to the canonical name and the registry's digest" \
  "[{\"op\": \"replace\", \"path\": \"/spec/containers/0/image\", \"value\": \"$reg/team/app@$v2\"}]" "$patch"

# `imagegate test` (offline, the CLI's path) decides the same way.
kubectl create deployment hosts --dry-run=client -o yaml --image="$upper/team/app:v1" >"$T/deploy.yaml" 2>/dev/null \
  || die "kubectl --dry-run=client"
run_capture "$bin" test --policy "$T/policy.yaml" -f "$T/deploy.yaml" -o json
assert_rc "imagegate test: the upper-case spelling is denied" 1
assert_eq "imagegate test: by the strict rule" "strict" "$(json_get "$OUT" 'd["workloads"][0]["containers"][0]["rule"]')"

finish

#!/usr/bin/env bash
# Image volumes (issue 13, bypass 2): the kubelet pulls a Pod's `spec.volumes[].image.reference` like a
# container image, so imagegate checks it like one. Objects are made by the real kubectl (a Pod through
# `kubectl kustomize`, a Deployment and a CronJob through `kubectl create --dry-run=client`, each given its
# volumes by `kubectl patch --local`) and checked against the Kubernetes 1.33 OpenAPI schema; they go
# through the real `imagegate serve` with Debian's docker-registry (TLS, test CA) behind it and a SQLite
# inventory. A Pod whose container passes but whose volume image does not is denied naming the volume
# (before the fix it was allowed); the decision log and the inventory list the volume image; /mutate pins
# it in a Pod template; `imagegate test` reports it. No fakes.
source "$(dirname "$0")/lib.sh"
require_cmd docker-registry skopeo openssl python3 curl kubectl
bin="${IMAGEGATE_BINARY:?}"
src="${IMAGEGATE_SOURCE_DIR:?}"
conf="${IMAGEGATE_CONFORMANCE_DIR:?}"
make_temp_dir
T="$E2E_TMP"

make_ca
rp="$(free_port)"
start_registry registry "$rp"
reg="127.0.0.1:$rp"
push_image seed-app "$reg/team/app:v1"
push_image seed-weights "$reg/data/weights:v1"
weights="$(raw_digest "$reg/data/weights:v1")"

# ---- objects made by kubectl --------------------------------------------------------------------------------
# with_volume REF POINTER: kubectl patches the JSON object on stdin to mount REF as the image volume "data"
# (after an emptyDir "scratch") in the pod spec at POINTER (/spec, /spec/template/spec, ...).
with_volume() {
  kubectl patch --local -f - --type=json -o json -p "[{\"op\":\"add\",\"path\":\"$2/volumes\",\"value\":[
    {\"name\":\"scratch\",\"emptyDir\":{}},
    {\"name\":\"data\",\"image\":{\"reference\":\"$1\",\"pullPolicy\":\"IfNotPresent\"}}]}]"
}
mkdir -p "$T/pod"
cat >"$T/pod/pod.yaml" <<YML
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: team}
spec:
  containers: [{name: app, image: "$reg/team/app:v1"}]
YML
printf 'resources: [pod.yaml]\n' >"$T/pod/kustomization.yaml"
kubectl kustomize "$T/pod" >"$T/pod.yaml" 2>"$T/kerr" || die "kubectl kustomize: $(cat "$T/kerr")"
# pod NAME REF: $T/NAME.json, the Pod mounting REF.
pod() { with_volume "$2" /spec <"$T/pod.yaml" >"$T/$1.json" 2>"$T/kerr" || die "kubectl patch: $(cat "$T/kerr")"; }
pod pod-evil evil.example/data:v1
pod pod-missing "$reg/data/weights:missing"
pod pod-latest "$reg/data/weights:latest"
pod pod-ok "$reg/data/weights:v1"
assert_eq "kubectl keeps the image volume (it knows ImageVolumeSource)" \
  '{"image": {"pullPolicy": "IfNotPresent", "reference": "evil.example/data:v1"}, "name": "data"}' \
  "$(json_get "$(cat "$T/pod-evil.json")" 'd["spec"]["volumes"][1]')"
kubectl create deployment web -n team --image="$reg/team/app:v1" --dry-run=client -o json 2>"$T/kerr" |
  with_volume "$reg/data/weights:v1" /spec/template/spec >"$T/deploy.json" 2>>"$T/kerr" || die "kubectl: $(cat "$T/kerr")"
kubectl create cronjob nightly -n team --image="$reg/team/app:v1" --schedule='0 3 * * *' --dry-run=client -o json \
  2>"$T/kerr" | with_volume "$reg/data/weights:v1" /spec/jobTemplate/spec/template/spec >"$T/cron.json" 2>>"$T/kerr" ||
  die "kubectl: $(cat "$T/kerr")"
# (kubectl create writes `creationTimestamp: null`, which the schema refuses: the Pod has none.)
run_capture /usr/bin/python3 "$src/tests/install/validate_k8s.py" --conformance "$conf" "$T/pod-evil.json"
assert_rc "the Pod with its image volume is a valid Kubernetes 1.33 object" 0

# ---- the server -----------------------------------------------------------------------------------------------
cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: image-volumes}
spec:
  mode: enforce
  failurePolicy: closed
  noMatch: deny
  registries: {allow: ["$reg"]}
  rules:
    - name: team
      match: {images: ["$reg/team/**"]}
      deniedTags: [latest]
    - name: data
      match: {images: ["$reg/data/**"]}
      deniedTags: [latest]
      pinDigest: true
YML
printf 'ro:read-token-0123456789abcdef\n' >"$T/tokens"
api="$(free_port)"
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --policy "$T/policy.yaml" --listen 127.0.0.1:0 \
  --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --ca-file "$T/ca.pem" --store "sqlite:$T/inventory.db" \
  --api-listen "127.0.0.1:$api" --api-token-file "$T/tokens"
wait_for_port "$api" 15 || die "the verdict API did not start: $(cat "$T/serve.log")"

# validate NAME: the review of $T/NAME.json (uid NAME) through /validate, the answer in $OUT.
validate() {
  object_review "$T/$1.json" "$1" >"$T/$1.review.json"
  send_review "$SERVER_PORT" "$T/ca.pem" "$T/$1.review.json"
}
# logged UID EXPR: EXPR over the decision log line of review UID (as `d`).
logged() { json_get "$(grep -F "\"uid\":\"$1\"" "$T/decisions.log" | tail -1)" "$2"; }

validate pod-evil
assert_eq "a volume image from a registry not allowed: denied" "false" "$(review_allowed)"
assert_eq "the denial names the volume, its image and why" \
  "imagegate denied 1 of 2 images: volume \"data\" (evil.example/data:v1): registry \"evil.example\" is not in the allowed registries" \
  "$(review_message)"
assert_eq "the decision log lists the volume image" '["volumes", "data", "evil.example/data:v1", "denied"]' \
  "$(logged pod-evil '[d["images"][1][k] for k in ("containerKind", "container", "image", "decision")]')"
validate pod-latest
assert_eq "a volume image with a denied tag: denied" "false" "$(review_allowed)"
assert_contains "the tag denial names the volume" "$(review_message)" "volume \"data\" ($reg/data/weights:latest): tag \"latest\" is denied by rule \"data\""
validate pod-missing
assert_eq "a volume image the registry does not have: denied" "false" "$(review_allowed)"
assert_contains "the registry was asked about the volume image" "$(review_message)" "manifest unknown"
validate pod-ok
assert_eq "control: an allowed volume image is allowed" "true" "$(review_allowed)"
assert_eq "control: the decision log has the volume image's digest from the registry" "$weights" \
  "$(logged pod-ok 'd["images"][1]["digest"]')"
assert_eq "control: the digests annotation names the volume" "volume \"data\"=$weights" \
  "$(json_get "$OUT" 'd["response"]["auditAnnotations"]["digests"]')"

# The inventory records what the Pod runs, its volume image included (written off the request path).
inventory=""
for _ in $(seq 1 50); do
  inventory="$(curl -sS --cacert "$T/ca.pem" -H 'Authorization: Bearer read-token-0123456789abcdef' \
    "https://127.0.0.1:$api/api/v1/inventory?namespace=team")"
  [[ "$inventory" == *"$weights"* ]] && break
  sleep 0.1
done
assert_eq "the inventory lists the volume image of Pod p" "[[\"p\", \"$reg/data/weights:v1\"]]" \
  "$(json_get "$inventory" "[[i['name'], i['image']] for i in d['items'] if i['digest'] == '$weights']")"

# ---- /mutate pins the volume image in pod templates -----------------------------------------------------------
# mutate NAME: $T/NAME.json through /mutate; the decoded JSONPatch in $PATCH ("null" when there is none).
mutate() {
  object_review "$T/$1.json" "m-$1" >"$T/$1.mreview.json"
  run_capture curl -sS --cacert "$T/ca.pem" -H 'Content-Type: application/json' \
    --data-binary @"$T/$1.mreview.json" "https://127.0.0.1:$SERVER_PORT/mutate?timeout=10s"
  PATCH="$(json_get "$OUT" 'json.loads(__import__("base64").b64decode(d["response"]["patch"])) if "patch" in d["response"] else None')"
}
# apply_replace FILE PATCH: the object in FILE with the JSONPatch's "replace" operations applied.
apply_replace() {
  python3 - "$1" "$2" <<'PY'
import json, sys
obj = json.load(open(sys.argv[1]))
for op in json.loads(sys.argv[2]):
    assert op["op"] == "replace", op
    *parents, last = op["path"].split("/")[1:]
    node = obj
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[int(last) if isinstance(node, list) else last] = op["value"]
print(json.dumps(obj))
PY
}
for case in "deploy /spec/template/spec" "cron /spec/jobTemplate/spec/template/spec"; do
  set -- $case
  mutate "$1"
  assert_eq "mutate $1: the volume reference is pinned (the container's rule does not pin)" \
    "[{\"op\": \"replace\", \"path\": \"$2/volumes/1/image/reference\", \"value\": \"$reg/data/weights@$weights\"}]" \
    "$PATCH"
  apply_replace "$T/$1.json" "$PATCH" >"$T/$1-pinned.json"
  validate "$1-pinned"
  assert_eq "mutate $1: the pinned object is allowed" "true" "$(review_allowed)"
  mutate "$1-pinned"
  assert_eq "mutate $1: a pinned volume gets no patch" "null" "$PATCH"
done

# ---- imagegate test ----------------------------------------------------------------------------------------------
kubectl patch --local -f "$T/pod-evil.json" --type=merge -p '{}' -o yaml >"$T/pod-evil.yaml" 2>"$T/kerr" ||
  die "kubectl -o yaml: $(cat "$T/kerr")"
run_capture "$bin" test --policy "$T/policy.yaml" -f "$T/pod-evil.yaml"
assert_rc "imagegate test: the Pod is denied (exit 1)" 1
assert_match "imagegate test: the volume's row" "$OUT" \
  "Pod/team/p +data \\(image volume\\) +evil\\.example/data:v1 +deny +- +registry \"evil.example\" is not in the allowed"
assert_contains "imagegate test: the summary counts the image volume" "$OUT" "1 workload, 1 container, 1 image volume: 1 allowed, 0 warned, 1 denied"
run_capture "$bin" test --policy "$T/policy.yaml" -f "$T/pod-evil.yaml" -o json
assert_eq "imagegate test -o json: the volume entry" \
  '["data", "volumes", "evil.example/data:v1", "/spec/volumes/1/image/reference", "deny"]' \
  "$(json_get "$OUT" '[d["workloads"][0]["containers"][1][k] for k in ("name", "type", "image", "jsonPointer", "decision")]')"
assert_eq "imagegate test -o json: the summary" '{"allowed": 1, "containers": 1, "denied": 1, "imageVolumes": 1, "warned": 0, "workloads": 1}' \
  "$(json_get "$OUT" 'd["summary"]')"
run_capture "$bin" test --online --ca-file "$T/ca.pem" --policy "$T/policy.yaml" -f "$T/pod-ok.json" -o json
assert_rc "imagegate test --online: the allowed volume image passes" 0
assert_eq "imagegate test --online: the volume image's digest" "$weights" \
  "$(json_get "$OUT" 'd["workloads"][0]["containers"][1]["evidence"]["digest"]')"

finish

#!/usr/bin/env bash
# End-to-end tests of the offline CLI: `imagegate test`, `imagegate test --suite`, `imagegate policy lint`
# and the kubectl plugin (`kubectl imagegate ...` through the real kubectl), on manifests made by kubectl
# at test time, AdmissionReview samples from the conformance folder, and hostile inputs.
source "$(dirname "$0")/lib.sh"

BIN="${IMAGEGATE_BINARY:?IMAGEGATE_BINARY must point at the imagegate binary}"
SRC="${IMAGEGATE_SOURCE_DIR:?}"
CONF="${IMAGEGATE_CONFORMANCE_DIR:?}"
BUILD="${IMAGEGATE_BUILD_DIR:-$(dirname "$BIN")}"
POLICY="$SRC/manifests/examples/policy.yaml"
EXAMPLES="$SRC/manifests/examples"
REVIEWS="$CONF/admission/connaisseur/admission_requests"
require_cmd kubectl python3
make_temp_dir
T="$E2E_TMP"

kc() { kubectl "$@" --dry-run=client 2>/dev/null; }

# ---- kubectl-made manifests ------------------------------------------------------------------------------
kc create deployment app -n dev --image=localhost:5000/team/app:1.0 -o yaml >"$T/allowed.yaml"
kc create deployment web --image=localhost:5000/team/web --image=quay.io/x/sidecar:1 -o yaml >"$T/denied.yaml"
[ -s "$T/allowed.yaml" ] && [ -s "$T/denied.yaml" ] || die "kubectl --dry-run=client produced nothing"

run_capture "$BIN" test --policy "$POLICY" -f "$T/allowed.yaml"
assert_rc "allowed deployment exits 0" 0
assert_match "table has the header" "$OUT" "WORKLOAD +CONTAINER +IMAGE +DECISION +RULE +REASON"
assert_match "allowed row" "$OUT" "Deployment/dev/app +app +localhost:5000/team/app:1.0 +allow +local-dev"

run_capture "$BIN" test --policy "$POLICY" -f "$T/denied.yaml"
assert_rc "denied deployment exits 1" 1
assert_match "latest denied, in the default namespace" "$OUT" \
  "Deployment/default/web +web +localhost:5000/team/web +deny +local-dev +tag \"latest\" is denied"
assert_match "registry denied" "$OUT" "sidecar +quay.io/x/sidecar:1 +deny +- +registry \"quay.io\" is not in the allowed"

# Multi-document YAML (with an empty document and a ConfigMap in between).
{ cat "$T/allowed.yaml"; echo "---"; echo "---"; kc create configmap c --from-literal=a=b -o yaml; echo "---";
  cat "$T/denied.yaml"; } >"$T/multi.yaml"
run_capture "$BIN" test -p "$POLICY" -f "$T/multi.yaml" -o json
assert_rc "multi-document YAML exits 1" 1
assert_eq "multi-document: 3 objects" "3" "$(json_get "$OUT" 'len(d["workloads"])')"
assert_eq "multi-document: ConfigMap has no pod spec" "false" "$(json_get "$OUT" 'd["workloads"][1]["hasPodSpec"]')"
assert_eq "multi-document: sources name the document" '["'"$T"'/multi.yaml#1", "'"$T"'/multi.yaml#3", "'"$T"'/multi.yaml#4"]' \
  "$(json_get "$OUT" '[w["source"] for w in d["workloads"]]')"
assert_eq "multi-document: summary" '{"allowed": 1, "containers": 3, "denied": 2, "imageVolumes": 0, "warned": 0, "workloads": 3}' \
  "$(json_get "$OUT" 'd["summary"]')"

# kind: List, as JSON, with a CronJob and a Job.
kc create cronjob nightly -n dev --image=localhost:5000/tools/backup:2 --schedule='0 3 * * *' -o json >"$T/cron.json"
kc create job once -n dev --image=quay.io/x/once:1 -o json >"$T/job.json"
python3 -c 'import json,sys; print(json.dumps({"apiVersion":"v1","kind":"List","items":[json.load(open(f)) for f in sys.argv[1:]]}))' \
  "$T/cron.json" "$T/job.json" >"$T/list.json"
run_capture "$BIN" test -p "$POLICY" -f "$T/list.json" -o json
assert_rc "List exits 1 (the job is denied)" 1
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' /dev/stdin <<<"$OUT" && pass "-o json is JSON" || fail "-o json is JSON"
assert_eq "List: ids" '["CronJob/dev/nightly", "Job/dev/once"]' "$(json_get "$OUT" '[w["id"] for w in d["workloads"]]')"
assert_eq "List: cronjob path" '"spec.jobTemplate.spec.template.spec.containers[0].image"' \
  "$(json_get "$OUT" 'json.dumps(d["workloads"][0]["containers"][0]["jsonPath"])')"
assert_eq "List: item source" "$T/list.json#1.items[1]" "$(json_get "$OUT" 'd["workloads"][1]["source"]')"
assert_eq "List: structured fields" '["deny", "failed", "enforce", "", "quay.io/x/once:1"]' \
  "$(json_get "$OUT" '[d["workloads"][1]["containers"][0][k] for k in ("decision","outcome","mode","rule","image")]')"

# JSON single object, and -o yaml matching -o json.
run_capture "$BIN" test -p "$POLICY" -f "$T/cron.json"
assert_rc "single JSON object allowed" 0
run_capture "$BIN" test -p "$POLICY" -f "$T/list.json" -o json
JSON_OUT="$OUT"
run_capture "$BIN" test -p "$POLICY" -f "$T/list.json" -o yaml
assert_rc "-o yaml exits 1 too" 1
if python3 -c 'import json,sys,yaml; a=yaml.safe_load(sys.argv[1]); b=json.loads(sys.argv[2]); sys.exit(0 if a==b else 1)' "$OUT" "$JSON_OUT"; then
  pass "-o yaml parses to the same data as -o json"
else
  fail "-o yaml parses to the same data as -o json" "${OUT:0:400}"
fi

# --namespace applies to objects without one; metadata.namespace wins.
kc create deployment sys --image=quay.io/x/agent:1 -o yaml >"$T/nons.yaml"
run_capture "$BIN" test -p "$POLICY" -f "$T/nons.yaml" --namespace kube-system
assert_rc "--namespace kube-system: exempt" 0
assert_contains "--namespace shown in the id" "$OUT" "Deployment/kube-system/sys"
run_capture "$BIN" test -p "$POLICY" -f "$T/nons.yaml"
assert_rc "default namespace: denied" 1

# stdin and directories.
run_capture bash -c "kubectl create deployment s --image=localhost:5000/a:1 --dry-run=client -o yaml | '$BIN' test -p '$POLICY' -f -"
assert_rc "stdin" 0
assert_contains "stdin row" "$OUT" "Deployment/default/s"
mkdir -p "$T/dir"
cp "$T/allowed.yaml" "$T/dir/b.yaml"; cp "$T/cron.json" "$T/dir/a.json"; echo "not a manifest" >"$T/dir/notes.txt"
run_capture "$BIN" test -p "$POLICY" -f "$T/dir" -o json
assert_rc "directory" 0
assert_eq "directory: files sorted, .txt skipped" '["CronJob/dev/nightly", "Deployment/dev/app"]' \
  "$(json_get "$OUT" '[w["id"] for w in d["workloads"]]')"
run_capture "$BIN" test -p "$POLICY" -f "$T/allowed.yaml" -f "$T/denied.yaml" -o json
assert_eq "-f is repeatable" "2" "$(json_get "$OUT" 'len(d["workloads"])')"

# ---- AdmissionReview samples (read in place) ----------------------------------------------------------------
run_capture "$BIN" test -p "$POLICY" -f "$REVIEWS/09_dply_multi_image.json" -o json
assert_rc "review: multi-image deployment allowed (public-images is audit mode)" 0
assert_eq "review: images and paths" \
  '[["redis:alpine", "spec.template.spec.containers[0].image"], ["mysql:8", "spec.template.spec.containers[1].image"], ["busybox:1.32", "spec.template.spec.initContainers[0].image"]]' \
  "$(json_get "$OUT" '[[c["image"], c["jsonPath"]] for c in d["workloads"][0]["containers"]]')"
assert_eq "review: namespace from the object" "connaisseur" "$(json_get "$OUT" 'd["workloads"][0]["namespace"]')"
run_capture "$BIN" test -p "$POLICY" -f "$REVIEWS/20_pod_ephemeralcontainer.json" -o json
assert_eq "review: ephemeral container" '"ephemeralContainers"' \
  "$(json_get "$OUT" 'json.dumps(d["workloads"][0]["containers"][1]["type"])')"
run_capture "$BIN" test -p "$POLICY" -f "$REVIEWS/11_role.json"
assert_rc "review: Role allowed" 0
assert_contains "review: Role has no pod spec" "$OUT" "no pod spec"
run_capture "$BIN" test -p "$POLICY" -f "$CONF/admission/kubewarden/pod_creation_with_init_container.json" -o json
assert_eq "bare kubewarden request: kind from the request, default namespace" \
  '["Pod/default/nginx", ["nginx", "init"]]' \
  "$(json_get "$OUT" '[d["workloads"][0]["id"], [c["image"] for c in d["workloads"][0]["containers"]]]')"
run_capture "$BIN" test -p "$POLICY" -f "$REVIEWS/21_broken_admission_request.json"
assert_rc "broken review: exit 2" 2
assert_contains "broken review: names the file" "$ERR" "21_broken_admission_request.json#1"
run_capture "$BIN" test -p "$POLICY" -f "$REVIEWS/25_null_request.json"
assert_rc "null review: exit 2" 2
assert_contains "null review: no objects" "$ERR" "no Kubernetes objects"
run_capture "$BIN" test -p "$POLICY" -f "$REVIEWS/12_err_pod.json"
assert_rc "review of a Pod without spec: exit 2" 2
assert_contains "review of a Pod without spec: says why" "$ERR" "spec: required for a Pod"

# ---- policy lint -------------------------------------------------------------------------------------------
run_capture "$BIN" policy lint "$POLICY"
assert_rc "lint: example policy valid" 0
assert_match "lint: summary" "$OUT" "valid: [0-9]+ rules, [0-9]+ trust anchors"
cat >"$T/bad-policy.yaml" <<'EOF'
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata:
  name: bad
spec:
  mode: enforce
  rules:
    - name: r
      match:
        images: ["docker.io/**"]
      colour: blue
EOF
run_capture "$BIN" policy lint "$T/bad-policy.yaml"
assert_rc "lint: bad policy exits 1" 1
assert_match "lint: file:line:col: path: message" "$OUT" "bad-policy.yaml:11:[0-9]+: [^ ]*colour"
run_capture "$BIN" policy lint "$T/missing.yaml"
assert_rc "lint: unreadable exits 2" 2
run_capture "$BIN" test -p "$T/bad-policy.yaml" -f "$T/allowed.yaml"
assert_rc "test with a bad policy exits 2" 2
assert_contains "test with a bad policy prints the diagnostics" "$ERR" "bad-policy.yaml:11"

# ---- suites ------------------------------------------------------------------------------------------------
run_capture "$BIN" test --suite "$EXAMPLES/policy-test.yaml"
assert_rc "example suite passes" 0
assert_match "example suite summary" "$OUT" "[0-9]+ passed, 0 failed"
mkdir -p "$T/suite"
cp "$T/denied.yaml" "$T/suite/w.yaml"
cat >"$T/suite/suite.yaml" <<EOF
apiVersion: imagegate.dev/v1alpha1
kind: PolicyTest
policy: $POLICY
resources: [w.yaml]
cases:
  - {workload: Deployment/default/web, container: web, expect: deny, rule: local-dev}
  - {workload: Deployment/default/web, container: sidecar, expect: allow}
  - {workload: Deployment/default/nope, container: web, expect: deny}
  - {workload: Deployment/default/web, container: ghost, expect: deny}
  - {workload: Deployment/default/web, container: web, expect: deny, reason: "no such text"}
EOF
run_capture "$BIN" test --suite "$T/suite/suite.yaml"
assert_rc "failing suite exits 1" 1
assert_contains "suite: the passing case" "$OUT" "PASS  Deployment/default/web web: deny"
assert_contains "suite: wrong expectation" "$OUT" "FAIL  Deployment/default/web sidecar: expected allow; got deny"
assert_contains "suite: missing workload fails" "$OUT" "FAIL  Deployment/default/nope web: expected deny; got no such workload"
assert_contains "suite: missing container fails" "$OUT" "no container named \"ghost\""
assert_contains "suite: reason mismatch fails" "$OUT" "reason contains \"no such text\""
assert_contains "suite: counts" "$OUT" "1 passed, 4 failed"
sed 's/expect: deny, rule: local-dev/expcet: deny/' "$T/suite/suite.yaml" >"$T/suite/typo.yaml"
run_capture "$BIN" test --suite "$T/suite/typo.yaml"
assert_rc "suite with an unknown key exits 2" 2
assert_contains "suite typo named" "$ERR" "cases[0].expcet: unknown key"

# ---- kubectl plugin: the real kubectl finds kubectl-imagegate on PATH ---------------------------------------
assert_file_exists "kubectl-imagegate symlink in the build dir" "$BUILD/kubectl-imagegate"
run_capture env PATH="$BUILD:$PATH" kubectl imagegate test --suite "$EXAMPLES/policy-test.yaml"
assert_rc "kubectl imagegate test --suite" 0
run_capture env PATH="$BUILD:$PATH" kubectl imagegate test -p "$POLICY" -f "$T/denied.yaml" -o json
assert_rc "kubectl imagegate test: denied exits 1" 1
assert_eq "kubectl imagegate: same JSON as imagegate" "$(json_get "$OUT" 'd["summary"]')" \
  "$(run_capture "$BIN" test -p "$POLICY" -f "$T/denied.yaml" -o json; json_get "$OUT" 'd["summary"]')"
run_capture env PATH="$BUILD:$PATH" kubectl imagegate policy lint "$T/bad-policy.yaml"
assert_rc "kubectl imagegate policy lint: exit 1" 1
run_capture env PATH="$BUILD:$PATH" kubectl imagegate test --help
assert_rc "kubectl imagegate test --help" 0
assert_contains "help names the flags" "$OUT" "--policy"
assert_contains "plugin usage says kubectl imagegate" "$OUT" "kubectl imagegate test"

# ---- hostile and broken inputs: exit 2 with a clear message, never a crash ----------------------------------
check_bad() {  # NAME FILE EXPECTED_MESSAGE
  run_capture "$BIN" test -p "$POLICY" -f "$2"
  assert_rc "$1: exit 2" 2
  assert_contains "$1: message" "$ERR" "$3"
}
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p\nspec: [\n' >"$T/malformed.yaml"
check_bad "malformed YAML" "$T/malformed.yaml" "malformed YAML at line"
{ cat "$T/allowed.yaml"; printf -- '---\nkind: Pod\n  bad: indent\n'; } >"$T/malformed2.yaml"
check_bad "malformed second document" "$T/malformed2.yaml" "document 2: malformed YAML at line"
printf '{"kind": "Pod", "spec": {"containers": [}' >"$T/malformed.json"
check_bad "malformed JSON" "$T/malformed.json" "malformed.json:1:"
printf 'kind: Pod\nmetadata:\n  name: "\xff\xfe"\n' >"$T/latin1.yaml"
check_bad "non-UTF-8" "$T/latin1.yaml" "not valid UTF-8"
python3 -c 'print("a: " + "[" * 5000 + "]" * 5000)' >"$T/deep.yaml"
check_bad "deep YAML" "$T/deep.yaml" "nesting deeper than 128"
python3 -c 'print("[" * 100000 + "]" * 100000)' >"$T/deep.json"
check_bad "deep JSON" "$T/deep.json" "nesting deeper than 128"
python3 - "$T/bomb.yaml" <<'EOF'
import sys
lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
for i in range(1, 10):
    lines.append(f'a{i}: &a{i} [' + ",".join([f"*a{i-1}"] * 10) + ']')
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
EOF
check_bad "alias bomb" "$T/bomb.yaml" "aliases expanded"
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' '#' >"$T/huge.yaml"
check_bad "huge file" "$T/huge.yaml" "larger than 16777216 bytes"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: x, image: y}\n' >"$T/dup.yaml"
check_bad "duplicate keys" "$T/dup.yaml" "duplicate mapping key \"image\""
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: nginx\n' >"$T/badspec.yaml"
check_bad "malformed pod spec" "$T/badspec.yaml" "spec.template.spec.containers: must be a list"
check_bad "missing file" "$T/nope.yaml" "nope.yaml"
run_capture "$BIN" test -p "$POLICY" -f "$T/allowed.yaml" -o xml
assert_rc "bad -o value: exit 2" 2
run_capture "$BIN" test -f "$T/allowed.yaml"
assert_rc "no --policy: exit 2" 2

finish

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
require_cmd kubectl python3 openssl
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
assert_match "untagged image denied as 'no tag', in the default namespace" "$OUT" \
  "Deployment/default/web +web +localhost:5000/team/web +deny +local-dev +no tag \(means latest\); tag \"latest\" is denied"
assert_match "table: FILE column is file:line of the image" "$OUT" "^FILE +WORKLOAD"
web_line="$(grep -n 'image: localhost:5000/team/web' "$T/denied.yaml" | cut -d: -f1)"
assert_match "table: the web row names its image line" "$OUT" "$T/denied.yaml:$web_line +Deployment/default/web +web "
assert_match "registry denied" "$OUT" "sidecar +quay.io/x/sidecar:1 +deny +- +registry \"quay.io\" is not in the allowed"
run_capture "$BIN" test --policy "$POLICY" -f "$T/denied.yaml" -o json
assert_eq "json: a container's line is its image: line" "$web_line" \
  "$(json_get "$OUT" '[c["line"] for c in d["workloads"][0]["containers"] if c["name"]=="web"][0]')"
assert_eq "json: the workload's line is where the document starts" "1" "$(json_get "$OUT" 'd["workloads"][0]["line"]')"
assert_eq "json: file" "$T/denied.yaml" "$(json_get "$OUT" 'd["workloads"][0]["file"]')"

# -o github: workflow commands, an annotation on each denied image's line.
run_capture "$BIN" test --policy "$POLICY" -f "$T/denied.yaml" -o github
assert_rc "github output: denied exits 1" 1
if python3 - "$OUT" <<'PY'
import re, sys
lines = sys.argv[1].splitlines()
shape = re.compile(r'^::(error|warning|notice)( [a-z]+=[^,:]*(,[a-z]+=[^,:]*)*)?::.+$')
assert lines and all(shape.match(l) for l in lines), lines
assert sum(l.startswith("::error ") for l in lines) == 2, lines
assert lines[-1].startswith("::notice title=imagegate::"), lines
PY
then pass "github output: every line is a workflow command"; else fail "github output: every line is a workflow command" "$OUT"; fi
assert_contains "github output: file and image line" "$OUT" "::error file=$T/denied.yaml,line=$web_line,title=imagegate%3A deny Deployment/default/web web"
run_capture "$BIN" test --policy "$POLICY" -f "$T/denied.yaml" -o junit
assert_rc "-o junit for manifests is an error, not ignored" 2
assert_contains "-o junit for manifests: says why" "$ERR" "-o junit reports test suites"

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
# -R: subdirectories too (kubectl's flag); without it one level, as before.
mkdir -p "$T/tree/sub/deeper"
cp "$T/allowed.yaml" "$T/tree/a.yaml"; cp "$T/denied.yaml" "$T/tree/sub/deeper/d.yaml"
run_capture "$BIN" test -p "$POLICY" -f "$T/tree" -o json
assert_rc "directory without -R: one level (the denied file below is not read)" 0
assert_eq "directory without -R: one workload" "1" "$(json_get "$OUT" 'len(d["workloads"])')"
run_capture "$BIN" test -p "$POLICY" -f "$T/tree" -R -o json
assert_rc "-R: the denied file in a subdirectory is read" 1
assert_eq "-R: files in path order" '["'"$T"'/tree/a.yaml", "'"$T"'/tree/sub/deeper/d.yaml"]' \
  "$(json_get "$OUT" '[w["file"] for w in d["workloads"]]')"
run_capture "$BIN" test -p "$POLICY" -f "$T/tree" --recursive
assert_rc "--recursive is -R" 1

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
# Many files and directories, every error of every file in one run; -o json.
mkdir -p "$T/policies/sub"
cp "$T/bad-policy.yaml" "$T/policies/one.yaml"
sed 's/colour: blue/requireDigst: true/' "$T/bad-policy.yaml" >"$T/policies/sub/two.yml"
cp "$POLICY" "$T/policies/good.yaml"
echo "kind: ConfigMap" >"$T/policies/not-a-policy.yaml"
run_capture "$BIN" policy lint "$T/policies"
assert_rc "lint DIR: two broken files exit 1" 1
assert_contains "lint DIR: the first broken file" "$OUT" "$T/policies/one.yaml:11:7: spec.rules[0].colour: unknown key"
assert_contains "lint DIR: the second broken file, with a suggestion" "$OUT" \
  "$T/policies/sub/two.yml:11:7: spec.rules[0].requireDigst: unknown key \"requireDigst\" (did you mean \"requireDigest\"?)"
assert_match "lint DIR: the valid one" "$OUT" "$T/policies/good.yaml: valid: "
assert_not_contains "lint DIR: other kinds skipped" "$OUT" "not-a-policy"
run_capture "$BIN" policy lint "$T/policies" "$POLICY" -o json
assert_rc "lint -o json: exit 1" 1
assert_eq "lint -o json: both problems" \
  '[["'"$T"'/policies/one.yaml", 11, 7, "spec.rules[0].colour", ""], ["'"$T"'/policies/sub/two.yml", 11, 7, "spec.rules[0].requireDigst", "requireDigest"]]' \
  "$(json_get "$OUT" '[[p["file"], p["line"], p["column"], p["path"], p["suggestion"]] for p in d]')"
run_capture "$BIN" policy lint "$POLICY" -o json
assert_rc "lint -o json: valid exits 0" 0
assert_eq "lint -o json: valid is an empty array" "[]" "$(json_get "$OUT" 'd')"
run_capture "$BIN" policy lint "$POLICY" "$T/missing.yaml"
assert_rc "lint: one unreadable file among others exits 2" 2
assert_match "lint: the readable one still linted" "$OUT" "valid: "
# Trust material: a garbage inline key fails lint; key files only with --check-files.
python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
head = "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata:\n  name: k\nspec:\n  trustAnchors:\n"
garbage = "          -----BEGIN PUBLIC KEY-----\n          bm90IGEga2V5IGF0IGFsbA==\n          -----END PUBLIC KEY-----\n"
open(f"{t}/garbage-key.yaml", "w").write(head + "    - name: release\n      cosign:\n        key: |\n" + garbage)
open(f"{t}/key-file.yaml", "w").write(head + f"    - name: release\n      cosign: {{keyFile: {t}/no-such.pub}}\n")
PY
run_capture "$BIN" policy lint "$T/garbage-key.yaml"
assert_rc "lint: a garbage inline key exits 1" 1
assert_contains "lint: the garbage key's path" "$OUT" "garbage-key.yaml:7:7: spec.trustAnchors[0].cosign.key: trust anchor \"release\" cannot be used"
run_capture "$BIN" policy lint "$T/key-file.yaml"
assert_rc "lint without --check-files: a missing key file is not read" 0
run_capture "$BIN" policy lint --check-files "$T/key-file.yaml"
assert_rc "lint --check-files: a missing key file exits 1" 1
assert_contains "lint --check-files: names the file" "$OUT" "no-such.pub"
openssl ecparam -genkey -name prime256v1 2>/dev/null | openssl ec -pubout -out "$T/good.pub" 2>/dev/null
sed "s#$T/no-such.pub#$T/good.pub#" "$T/key-file.yaml" >"$T/good-key-file.yaml"
run_capture "$BIN" policy lint --check-files "$T/good-key-file.yaml"
assert_rc "lint --check-files: control, a key file that loads" 0
run_capture "$BIN" policy lint --check-files "$POLICY"
assert_rc "lint --check-files: the example policy names files of the server's machine" 1
assert_contains "lint --check-files: the keyless anchor's missing trusted root" "$OUT" \
  "spec.trustAnchors[1].keyless: trust anchor \"github-actions\" cannot be used: trustedRoot: cannot read /etc/imagegate/trusted_root.json"
printf 'apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata:\n\tname: t\n' >"$T/tab-policy.yaml"
run_capture "$BIN" policy lint "$T/tab-policy.yaml"
assert_rc "lint: tab-indented policy exits 1" 1
assert_contains "lint: tab hint" "$OUT" "tabs are not allowed for indentation (line 4 is indented with a tab)"
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
assert_match "suite: kyverno-shaped table" "$OUT" "ID +FILE +POLICY +RULE +RESOURCE +RESULT +REASON"
assert_match "suite: the passing case" "$OUT" "1 +$T/suite/suite.yaml:6 +example +local-dev +Deployment/default/web web +pass +deny"
assert_match "suite: wrong expectation, with its reason" "$OUT" \
  "Deployment/default/web sidecar +fail +expected allow, got deny \(rule -: registry \"quay.io\" is not in the allowed"
assert_contains "suite: missing workload fails" "$OUT" "expected deny, got no workload Deployment/default/nope in the resources"
assert_contains "suite: missing container fails" "$OUT" "no container named \"ghost\""
assert_contains "suite: reason mismatch fails" "$OUT" "expected a reason containing \"no such text\", got deny"
assert_contains "suite: counts" "$OUT" "1 passed, 4 failed"
run_capture "$BIN" test --suite "$T/suite/suite.yaml" -o json
assert_rc "suite -o json: exit 1" 1
assert_eq "suite -o json: summary" '{"cases": 5, "errors": 0, "failed": 4, "passed": 1, "suites": 1}' "$(json_get "$OUT" 'd["summary"]')"
assert_eq "suite -o json: results" '[["pass", 6, "local-dev"], ["fail", 7, ""], ["fail", 8, ""], ["fail", 9, ""], ["fail", 10, "local-dev"]]' \
  "$(json_get "$OUT" '[[r["result"], r["line"], r["rule"]] for r in d["suites"][0]["results"]]')"
SUITE_JSON="$OUT"
run_capture "$BIN" test --suite "$T/suite/suite.yaml" -o yaml
assert_rc "suite -o yaml: exit 1" 1
if python3 -c 'import json,sys,yaml; sys.exit(0 if yaml.safe_load(sys.argv[1]) == json.loads(sys.argv[2]) else 1)' "$OUT" "$SUITE_JSON"; then
  pass "suite -o yaml parses to the same data as -o json"; else fail "suite -o yaml parses to the same data as -o json" "${OUT:0:400}"; fi
run_capture "$BIN" test --suite "$T/suite/suite.yaml" -o junit
assert_rc "suite -o junit: exit 1" 1
if python3 - "$OUT" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.argv[1])
assert root.tag == "testsuites" and root.get("tests") == "5" and root.get("failures") == "4", root.attrib
suites = root.findall("testsuite")
assert len(suites) == 1 and len(suites[0].findall("testcase")) == 5
failures = [c.find("failure") for c in suites[0].findall("testcase")]
assert failures[0] is None and all(f is not None for f in failures[1:])
assert failures[1].get("message").startswith('expected allow, got deny (rule -: registry "quay.io"'), failures[1].get("message")
assert suites[0].findall("testcase")[1].get("line") == "7"
PY
then pass "suite -o junit: valid XML with one failure per failed case"; else fail "suite -o junit: valid XML with one failure per failed case" "${OUT:0:600}"; fi
run_capture "$BIN" test --suite "$T/suite/suite.yaml" -o github
assert_rc "suite -o github: exit 1" 1
if python3 - "$OUT" <<'PY'
import re, sys
lines = sys.argv[1].splitlines()
assert len(lines) == 5 and all(re.match(r'^::error file=[^,]+,line=\d+,title=[^:]+::expected ', l) for l in lines[:4]), lines
assert lines[4] == "::notice title=imagegate::1 passed, 4 failed", lines
PY
then pass "suite -o github: one ::error per failed case at its line"; else fail "suite -o github: one ::error per failed case at its line" "$OUT"; fi
sed 's/expect: deny, rule: local-dev/expcet: deny/' "$T/suite/suite.yaml" >"$T/suite/typo.yaml"
run_capture "$BIN" test --suite "$T/suite/typo.yaml"
assert_rc "suite with an unknown key exits 2" 2
assert_contains "suite typo named, with its position and a suggestion" "$ERR" \
  "typo.yaml:6:56: cases[0].expcet: unknown key \"expcet\" (did you mean \"expect\"?)"
# Every error of a suite in one run.
printf 'apiVersion: imagegate.dev/v1alpha1\nkind: PolicyTest\npolcy: p.yaml\nresources: [w.yaml]\ncases:\n  - {workload: A/b, expect: maybe}\n' \
  >"$T/suite/broken.yaml"
run_capture "$BIN" test --suite "$T/suite/broken.yaml"
assert_rc "broken suite exits 2" 2
assert_contains "broken suite: unknown key" "$ERR" "broken.yaml:3:1: polcy: unknown key \"polcy\" (did you mean \"policy\"?)"
assert_contains "broken suite: missing policy" "$ERR" "broken.yaml:1:1: policy: required"
assert_contains "broken suite: workload shape" "$ERR" "broken.yaml:6:6: cases[0].workload: must be Kind/namespace/name"
assert_contains "broken suite: expect value" "$ERR" "broken.yaml:6:21: cases[0].expect: must be allow, warn or deny"
printf 'apiVersion: imagegate.dev/v1alpha1\nkind: PolicyTest\ncases:\n\t- {workload: A/b/c}\n' >"$T/suite/tabs.yaml"
run_capture "$BIN" test --suite "$T/suite/tabs.yaml"
assert_rc "suite indented with a tab exits 2" 2
assert_contains "suite indented with a tab: says so" "$ERR" "tabs are not allowed for indentation (line 4 is indented with a tab)"

# --suite DIR: every file of the tree that declares kind: PolicyTest, in path order; other YAML is skipped.
mkdir -p "$T/suites/nested"
cp -r "$EXAMPLES/policy.yaml" "$EXAMPLES/workloads" "$T/suites/"   # not suites: skipped
cp "$EXAMPLES/policy-test.yaml" "$T/suites/example-test.yaml"
sed "s#^policy: .*#policy: $POLICY#; s#^resources:.*#resources: [$T/suite/w.yaml]#" "$T/suite/suite.yaml" >"$T/suites/nested/failing.yml"
echo "kind: ConfigMap" >"$T/suites/nested/other.yaml"
run_capture "$BIN" test --suite "$T/suites" -o json
assert_rc "--suite DIR: a failing suite among them exits 1" 1
assert_eq "--suite DIR: the two suites, in path order" '["'"$T"'/suites/example-test.yaml", "'"$T"'/suites/nested/failing.yml"]' \
  "$(json_get "$OUT" '[s["file"] for s in d["suites"]]')"
run_capture "$BIN" test --suite "$T/suites" -o junit
if python3 -c 'import sys, xml.etree.ElementTree as ET; r=ET.fromstring(sys.argv[1]); sys.exit(0 if len(r.findall("testsuite"))==2 else 1)' "$OUT"; then
  pass "--suite DIR -o junit: one testsuite per suite file"; else fail "--suite DIR -o junit: one testsuite per suite file" "${OUT:0:400}"; fi
cp "$T/suite/broken.yaml" "$T/suites/nested/broken.yaml"
run_capture "$BIN" test --suite "$T/suites"
assert_rc "--suite DIR with a broken suite: exit 2, the others still run" 2
assert_contains "--suite DIR with a broken suite: the others' results" "$OUT" "total: "
assert_contains "--suite DIR with a broken suite: its errors" "$ERR" "broken.yaml:3:1: polcy"
mkdir -p "$T/nosuites"; echo "kind: ConfigMap" >"$T/nosuites/a.yaml"
run_capture "$BIN" test --suite "$T/nosuites"
assert_rc "--suite DIR without suites: exit 2" 2

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
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n\tname: p\n' >"$T/tabs.yaml"
check_bad "tab-indented manifest" "$T/tabs.yaml" "tabs are not allowed for indentation (line 4 is indented with a tab)"
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

#!/usr/bin/env bash
# The Helm chart (charts/imagegate), checked without a Helm binary (none exists on these machines):
#  1. static: values.yaml against values.schema.json (and bad values rejected), every value in the schema
#     and the README table, every .Values path used by templates defined, templates balanced, includes
#     defined, dashboard metrics exported by the server (tests/install/check_chart.py);
#  2. rendered by tests/install/helm_render.py -- a small Go-template/Sprig interpreter, NOT Helm: it runs
#     the chart's real templates, with genCA/genSignedCert done by openssl and `lookup` answered from a
#     file -- with default values and with variants; every rendered object is validated against the
#     Kubernetes 1.33 OpenAPI/CRD schemas and the install rules (tests/install/check_rules.py);
#  3. the chart and the kustomize install agree on webhook, pod and server settings (compare_installs.py);
#  4. `helm upgrade` keeps the generated certificate (lookup of the existing Secret) unless the Service
#     name changed; an impossible grace period makes rendering fail;
#  5. the real imagegate binary serves with the chart's rendered config, policy and certificate, and curl
#     verifies the serving certificate against the chart's caBundle and SAN.
source "$(dirname "$0")/lib.sh"
src="${IMAGEGATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
export IMAGEGATE_CONFORMANCE_DIR="${IMAGEGATE_CONFORMANCE_DIR:-$src/../shared/conformance}"
py=/usr/bin/python3
tools="$src/tests/install"
chart="$src/charts/imagegate"
require_cmd kubectl openssl curl
"$py" -c 'import yaml, jsonschema' 2>/dev/null || die "needs python3-yaml and python3-jsonschema (scripts/install-deps.sh)"
make_temp_dir
T="$E2E_TMP"
render() { "$py" "$tools/helm_render.py" "$chart" "$@"; }

# 1. Static checks.
run_capture "$py" "$tools/check_chart.py" "$chart" "$src"
assert_rc "static chart checks (schema, values paths, templates, helpers, dashboard)" 0
echo "$OUT" | tail -1

# 2. Default render.
run_capture render
assert_rc "chart renders with default values" 0
echo "$OUT" > "$T/default.yaml"
run_capture "$py" "$tools/validate_k8s.py" "$T/default.yaml"
assert_rc "default objects valid against Kubernetes 1.33 OpenAPI" 0
run_capture "$py" "$tools/check_rules.py" --tls secret "$T/default.yaml"
assert_rc "default objects follow the install rules (webhook, selectors, security, TLS SAN + caBundle)" 0
[ "$RC" -eq 0 ] || echo "$OUT"
assert_not_contains "no MutatingWebhookConfiguration by default" "$(cat "$T/default.yaml")" "kind: MutatingWebhookConfiguration"

# Variants.
run_capture render --name ig --namespace security \
  --set tls.certManager.enabled=true --set mutatingWebhook.enabled=true \
  --set metrics.serviceMonitor.enabled=true --set metrics.dashboard.enabled=true \
  --set 'extraSecretMounts=[{"name":"keys","secretName":"cosign-keys","mountPath":"/etc/imagegate/keys","items":[{"key":"cosign.pub","path":"cosign.pub"}]}]' \
  --set 'networkPolicy.egress=[{"ports":[{"port":443,"protocol":"TCP"}]}]' \
  --set 'webhook.excludeNamespaces=["monitoring"]' --set 'webhook.objectSelector={"matchExpressions":[{"key":"skip","operator":"DoesNotExist"}]}'
assert_rc "chart renders with cert-manager, mutating webhook, ServiceMonitor, dashboard, mounts" 0
echo "$OUT" > "$T/full.yaml"
run_capture "$py" "$tools/validate_k8s.py" "$T/full.yaml"
assert_rc "all optional objects valid (Issuer, Certificate, ServiceMonitor CRD schemas too)" 0
[ "$RC" -eq 0 ] || echo "$OUT" | grep INVALID
run_capture "$py" "$tools/check_rules.py" --tls cert-manager --mutating "$T/full.yaml"
assert_rc "install rules hold with cert-manager and the mutating webhook" 0
[ "$RC" -eq 0 ] || echo "$OUT"
full="$(cat "$T/full.yaml")"
assert_contains "extra Secret mounted" "$full" "secretName: cosign-keys"
assert_contains "extra excluded namespace" "$full" "- monitoring"
assert_contains "dashboard ConfigMap carries the dashboard" "$full" "imagegate_admission_review_duration_seconds_bucket"

run_capture render --set webhook.failurePolicy=Ignore --set webhook.timeoutSeconds=5 --set replicaCount=1 \
  --set podAntiAffinity=hard
assert_rc "chart renders with failurePolicy Ignore, timeout 5, one replica, hard anti-affinity" 0
echo "$OUT" > "$T/ignore.yaml"
run_capture "$py" "$tools/check_rules.py" --failure-policy Ignore --timeout 5 --replicas 1 "$T/ignore.yaml"
assert_rc "failurePolicy/timeout/replicas values reach the objects" 0
run_capture "$py" "$tools/check_rules.py" "$T/ignore.yaml"
assert_rc "(and the rules checker notices when they differ from the defaults)" 1
run_capture "$py" "$tools/validate_k8s.py" "$T/ignore.yaml"
assert_rc "hard anti-affinity variant valid" 0

run_capture render --set terminationGracePeriodSeconds=12
assert_rc "rendering fails when the grace period is not longer than server grace + preStop" 1
assert_contains "... with the reason" "$ERR" "terminationGracePeriodSeconds must be longer"

run_capture render --notes
assert_rc "NOTES.txt renders" 0
assert_contains "NOTES.txt shows the server-side dry run" "$OUT" "--dry-run=server"
assert_contains "NOTES.txt shows kubectl imagegate test" "$OUT" "kubectl imagegate test"

# 3. Chart and kustomize agree.
cp -r "$src/manifests" "$T/manifests"
rm -f "$T/manifests/tls/"*.crt "$T/manifests/tls/"*.key
"$src/scripts/gen-webhook-cert.sh" --out "$T/manifests/tls" 2>/dev/null
kubectl kustomize "$T/manifests" > "$T/kustomize.yaml" 2>"$T/kerr" || die "kustomize: $(cat "$T/kerr")"
run_capture "$py" "$tools/compare_installs.py" "$T/default.yaml" "$T/kustomize.yaml"
assert_rc "chart defaults and kustomize agree (webhooks, pod, container, config, policy, service, PDB, netpol)" 0
[ "$RC" -eq 0 ] || echo "$OUT" | grep -A2 DIFFERS
"$py" "$tools/mutate.py" "$T/kustomize.yaml" ValidatingWebhookConfiguration webhooks.0.timeoutSeconds 15 > "$T/k-mut.yaml"
run_capture "$py" "$tools/compare_installs.py" "$T/default.yaml" "$T/k-mut.yaml"
assert_rc "(a differing timeout is reported)" 1

# 4. Upgrades keep the certificate.
"$py" - "$T/default.yaml" > "$T/existing.yaml" <<'PY'
import sys, yaml
print(yaml.safe_dump([o for o in yaml.safe_load_all(open(sys.argv[1])) if o and o["kind"] == "Secret"][0]))
PY
secret_field() {  # file field
  "$py" -c 'import sys,yaml; print([o for o in yaml.safe_load_all(open(sys.argv[1])) if o and o["kind"]=="Secret"][0]["data"][sys.argv[2]])' "$1" "$2"
}
bundle_of() {
  "$py" -c 'import sys,yaml; print([o for o in yaml.safe_load_all(open(sys.argv[1])) if o and o["kind"]=="ValidatingWebhookConfiguration"][0]["webhooks"][0]["clientConfig"]["caBundle"])' "$1"
}
render --lookup "$T/existing.yaml" > "$T/upgrade.yaml"
assert_eq "upgrade keeps the serving certificate" "$(secret_field "$T/default.yaml" tls.crt)" "$(secret_field "$T/upgrade.yaml" tls.crt)"
assert_eq "upgrade keeps the caBundle" "$(bundle_of "$T/default.yaml")" "$(bundle_of "$T/upgrade.yaml")"
render > "$T/fresh.yaml"
if [ "$(secret_field "$T/default.yaml" tls.crt)" != "$(secret_field "$T/fresh.yaml" tls.crt)" ]; then
  pass "without an existing Secret a new certificate is generated"
else
  fail "two fresh renders produced the same certificate"
fi
render --set fullnameOverride='"gate"' --lookup <(sed 's/name: imagegate-tls/name: gate-tls/' "$T/existing.yaml") > "$T/renamed.yaml"
if [ "$(secret_field "$T/default.yaml" tls.crt)" != "$(secret_field "$T/renamed.yaml" tls.crt)" ]; then
  pass "an existing certificate for another Service name is replaced"
else
  fail "certificate for imagegate.imagegate-system.svc kept after renaming the Service to gate"
fi
run_capture "$py" "$tools/check_rules.py" "$T/renamed.yaml"
assert_rc "the renamed install's certificate matches its Service" 0

# 5. The real server runs with the chart's config, policy and certificate.
if [ -n "${IMAGEGATE_BINARY:-}" ] && [ -x "$IMAGEGATE_BINARY" ]; then
  port="$(free_port)"
  mkdir -p "$T/srv"
  "$py" - "$T/default.yaml" "$T/srv" "$port" <<'PY'
import base64, os, sys, yaml
objs = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
out, port = sys.argv[2], sys.argv[3]
cms = {o["metadata"]["name"]: o["data"] for o in objs if o["kind"] == "ConfigMap"}
secret = [o for o in objs if o["kind"] == "Secret"][0]["data"]
for k in ("tls.crt", "tls.key", "ca.crt"):
    open(os.path.join(out, k), "wb").write(base64.b64decode(secret[k]))
open(os.path.join(out, "policy.yaml"), "w").write(cms["imagegate-policy"]["policy.yaml"])
cfg = yaml.safe_load(cms["imagegate-config"]["config.yaml"])
assert cfg["policy"] == "/etc/imagegate/policy/policy.yaml" and cfg["tls"]["certFile"] == "/etc/imagegate/tls/tls.crt"
cfg["policy"] = os.path.join(out, "policy.yaml")
cfg["tls"]["certFile"] = os.path.join(out, "tls.crt")
cfg["tls"]["keyFile"] = os.path.join(out, "tls.key")
cfg["listen"] = "127.0.0.1:" + port
open(os.path.join(out, "config.yaml"), "w").write(yaml.safe_dump(cfg))
PY
  run_capture "$IMAGEGATE_BINARY" policy lint "$T/srv/policy.yaml"
  assert_rc "the chart's default policy passes imagegate policy lint" 0
  "$IMAGEGATE_BINARY" serve --config "$T/srv/config.yaml" >"$T/serve.log" 2>&1 &
  pid=$!
  track_pid "$pid"
  if wait_for_port "$port" 15; then pass "imagegate serve accepts the chart's config file"; else fail "serve did not start" "$(cat "$T/serve.log")"; fi
  bundle_of "$T/default.yaml" | base64 -d > "$T/srv/bundle.pem"
  run_capture curl -sS -f --cacert "$T/srv/bundle.pem" --resolve "imagegate.imagegate-system.svc:$port:127.0.0.1" \
    "https://imagegate.imagegate-system.svc:$port/healthz"
  assert_rc "TLS to the Service name verifies against the chart's caBundle" 0
  review="$IMAGEGATE_CONFORMANCE_DIR/admission/connaisseur/admission_requests/01_deployment.json"
  run_capture curl -sS -f --cacert "$T/srv/bundle.pem" --resolve "imagegate.imagegate-system.svc:$port:127.0.0.1" \
    -H 'Content-Type: application/json' --data-binary "@$review" "https://imagegate.imagegate-system.svc:$port/validate"
  assert_eq "a Deployment review is allowed by the audit-mode default policy" true "$(json_get "$OUT" 'd["response"]["allowed"]')"
  stop_pid "$pid"
else
  log "IMAGEGATE_BINARY not set: skipping the live serve of the chart's config"
fi
finish

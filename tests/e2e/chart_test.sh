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
#     name changed; an impossible grace period makes rendering fail; the operator knobs (hostNetwork,
#     matchConditions, namespaceSelector, webhook labels, extraArgs/extraEnv, affinity, spread, security
#     contexts, priority class, logFormat, plain-HTTP metrics) reach their fields; a bring-your-own TLS
#     Secret generates nothing and its CA is the caBundle; the hooks: pre-delete RBAC for exactly the webhook
#     configurations, its script run against a stand-in API server (tests/install/apiserver_standin.py: no
#     kube-apiserver here), and (step 5) the `helm test` pod's script run against the real server;
#  5. the real imagegate binary serves with the chart's rendered config, policy and certificate, and curl
#     verifies the serving certificate against the chart's caBundle and SAN;
#  6. registry, trust and verdict values (tests/install/values/*.yaml, the example policies of
#     manifests/examples/policies/): rendered objects valid and following the file rules (every file the
#     config or the policy names is mounted read-only from the right kind of object, secrets never in
#     ConfigMaps, sqlite => 1 replica + Recreate + a PVC, the API port on Service and NetworkPolicy), broken
#     variants rejected, impossible combinations refused at render time; then the real server runs with the
#     chart's config and the files laid out as the kubelet would (tests/install/materialize.py): registry
#     credentials and CAs read at start-up, the verdict API with the chart's tokens on the SQLite store, and
#     the Redis store whose URL comes from a Secret through --store=$(IMAGEGATE_STORE).
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
assert_contains "digest pinning on by default: a MutatingWebhookConfiguration" "$(cat "$T/default.yaml")" \
  "kind: MutatingWebhookConfiguration"
assert_contains "digest pinning on by default: the default policy pins" "$(cat "$T/default.yaml")" "pinDigest: true"
run_capture render --set mutatingWebhook.enabled=false
echo "$OUT" > "$T/nomutate.yaml"
assert_not_contains "mutatingWebhook.enabled=false: no MutatingWebhookConfiguration" "$OUT" "kind: MutatingWebhookConfiguration"
run_capture "$py" "$tools/check_rules.py" --no-mutating "$T/nomutate.yaml"
assert_rc "mutatingWebhook.enabled=false follows the install rules (--no-mutating)" 0
run_capture "$py" "$tools/check_rules.py" "$T/nomutate.yaml"
assert_rc "the rules expect the mutating webhook by default (its absence is caught)" 1

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
assert_contains "NOTES.txt shows helm test" "$OUT" "helm test imagegate -n imagegate-system"
assert_contains "NOTES.txt says the uninstall removes the webhooks first" "$OUT" "first deletes the webhook configurations"

# 6a. Registry, trust and verdict values: rendered, valid, following the rules.
vals="$tools/values"
pols="$src/manifests/examples/policies"
leak=(--secret registry-password-do-not-leak --secret ci-token-do-not-leak --secret reader-token-do-not-leak)
run_capture render --values "$vals/signatures-redis.yaml" --set-file "policy=$pols/migration-notary-to-cosign.yaml"
assert_rc "chart renders with registry credentials/CAs, trust Secrets, Redis from a Secret, the verdict API" 0
echo "$OUT" > "$T/sig.yaml"
run_capture "$py" "$tools/validate_k8s.py" "$T/sig.yaml"
assert_rc "... every object valid against Kubernetes 1.33 OpenAPI" 0
[ "$RC" -eq 0 ] || echo "$OUT" | grep INVALID
run_capture "$py" "$tools/check_rules.py" "${leak[@]}" "$T/sig.yaml"
assert_rc "... file rules hold (read-only mounts, every config/policy path mounted, no secret in a ConfigMap)" 0
[ "$RC" -eq 0 ] || echo "$OUT"
"$py" - "$T/sig.yaml" > "$T/sig.facts" <<'PY'
import base64, json, sys, yaml
objs = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
sec = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Secret"}
cfg = yaml.safe_load([o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "imagegate-config"][0]["data"]["config.yaml"])
dep = [o for o in objs if o["kind"] == "Deployment"][0]
c = dep["spec"]["template"]["spec"]["containers"][0]
auth = json.loads(base64.b64decode(sec["imagegate-registry-auth"]["data"][".dockerconfigjson"]))
print("auth-type", sec["imagegate-registry-auth"]["type"])
print("auth-user", auth["auths"]["registry.example.com"]["username"])
print("tokens", base64.b64decode(sec["imagegate-api-tokens"]["data"]["tokens"]).decode().replace("\n", "|"))
print("docker-files", len(cfg["registry"]["dockerConfigFiles"]), cfg["registry"]["dockerConfigFiles"][-1])
print("ca-files", len(cfg["registry"]["caFiles"]), sorted(cfg["registry"]["registryCAFiles"]))
print("insecure", cfg["registry"]["insecureRegistries"], cfg["registry"]["staleIfError"], cfg["registry"]["timeout"])
print("legacy-tls", cfg["registry"]["legacyTLSRegistries"])
print("concurrency", cfg["registry"]["maxConcurrentPerReview"], cfg["registry"]["maxConcurrentPerRegistry"])
print("signatures", cfg["signatures"]["maxSignatures"], cfg["signatures"]["maxPayloadBytes"], cfg["signatures"]["cacheTTL"], cfg["signatures"]["trustReloadInterval"])
print("store", cfg.get("store", "-"), cfg["apiListen"], cfg["apiTokenFile"], cfg["verdictCacheTTL"])
print("args", " ".join(c["args"]))
print("replicas", dep["spec"]["replicas"], dep["spec"]["strategy"]["type"])
np = [o for o in objs if o["kind"] == "NetworkPolicy"][0]["spec"]["ingress"]
print("netpol", [(r["ports"][0]["port"], json.dumps(r.get("from"), sort_keys=True)) for r in np])
PY
facts="$(cat "$T/sig.facts")"
assert_contains "chart-made registry Secret is a dockerconfigjson" "$facts" "auth-type kubernetes.io/dockerconfigjson"
assert_contains "... with the auths from values" "$facts" "auth-user bot"
assert_contains "chart-made token file holds the lines" "$facts" "tokens rw:ci-token-do-not-leak-0123456789|ro:reader-token-do-not-leak-98765|"
assert_contains "existing + chart Docker configs named in order" "$facts" "docker-files 3 /etc/imagegate/registry/auth/chart/config.json"
assert_contains "CA bundles named (global and per registry)" "$facts" "ca-files 2 ['other.internal', 'registry.internal:5000']"
assert_contains "insecure registries, staleIfError, timeout reach the config" "$facts" "insecure ['registry.local:5000'] 5m 5s"
assert_contains "legacy TLS registries reach the config" "$facts" "legacy-tls ['old.internal:5000']"
assert_contains "registry concurrency caps reach the config (set, and the default)" "$facts" "concurrency 8 32"
assert_contains "signatures limits, cache TTL and trust reload interval reach the config" "$facts" "signatures 20 262144 10m 15s"
assert_contains "Redis URL from a Secret stays out of the config; API and cache TTL in it" "$facts" "store - 0.0.0.0:9443 /etc/imagegate/api/tokens 15s"
assert_contains "... and reaches the server as a flag from env" "$facts" "args serve --config /etc/imagegate/config/config.yaml --store=\$(IMAGEGATE_STORE) --log-format=json"
assert_contains "Redis keeps the replicas and the rolling update" "$facts" "replicas 3 RollingUpdate"
assert_contains "credentials from values roll the pods when they change (read at start-up)" "$(cat "$T/sig.yaml")" "checksum/registry-auth:"
assert_contains "NetworkPolicy: webhook port from anywhere, API port only from the CI namespace" "$facts" \
  'netpol [(8443, '"'null'"'), (9443, '"'"'[{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ci"}}}]'"'"')]'

assert_not_contains "no secret value in plain text anywhere in the render (Secrets hold them base64)" \
  "$(cat "$T/sig.yaml")" "do-not-leak"

run_capture render --values "$vals/sqlite.yaml" --set-file "policy=$pols/verdicts.yaml"
assert_rc "chart renders with the SQLite store and tokens from an existing Secret" 0
echo "$OUT" > "$T/sqlite.yaml"
run_capture "$py" "$tools/validate_k8s.py" "$T/sqlite.yaml"
assert_rc "... valid, PersistentVolumeClaim included" 0
[ "$RC" -eq 0 ] || echo "$OUT" | grep INVALID
run_capture "$py" "$tools/check_rules.py" --replicas 1 "$T/sqlite.yaml"
assert_rc "... sqlite forces 1 replica (replicaCount 3 ignored), Recreate, store on a writable PVC, API port exposed" 0
[ "$RC" -eq 0 ] || echo "$OUT"
assert_contains "the claim is kept on uninstall" "$(cat "$T/sqlite.yaml")" "helm.sh/resource-policy: keep"
run_capture render --values "$vals/sqlite.yaml" --set verdicts.store.sqlite.existingClaim=verdicts-data
run_capture "$py" "$tools/check_rules.py" --replicas 1 --existing-claim "$T/sqlite.yaml"
assert_rc "an existing claim: no PVC rendered, the Deployment mounts it" 0
assert_not_contains "... and no PersistentVolumeClaim object" "$OUT" "kind: PersistentVolumeClaim"
run_capture render --values "$vals/sqlite.yaml" --notes
assert_contains "NOTES.txt says sqlite runs one replica" "$OUT" "runs ONE replica"
assert_contains "NOTES.txt shows how to push verdicts" "$OUT" "imagegate verdict push --server https://imagegate.imagegate-system.svc:8444"

# Notation: notation's own trust policy and trust store from a Secret (or ConfigMap), laid out by `items`.
notation_values='[{"name":"team","secret":"notation-team","certificates":[{"key":"release-ca.crt","store":"ca/release"}]}]'
for pol in "$pols"/*.yaml; do
  run_capture render --set 'trust.existingSecrets=["imagegate-keys","sigstore-roots","notary-trust"]' \
    --set "trust.notation=$notation_values" \
    --set verdicts.store.type=redis --set verdicts.store.redis.url=redis://redis.imagegate-system:6379/0 \
    --set-file "policy=$pol"
  echo "$OUT" > "$T/pol.yaml"
  run_capture "$py" "$tools/check_rules.py" "$T/pol.yaml"
  assert_rc "example policy $(basename "$pol"): every file it names is mounted from a trust Secret" 0
  [ "$RC" -eq 0 ] || echo "$OUT"
done
assert_contains "a Redis URL from values goes into the config" "$(cat "$T/pol.yaml")" 'store: "redis://redis.imagegate-system:6379/0"'
run_capture render --set 'trust.existingSecrets=["notary-trust"]' --set "trust.notation=$notation_values" \
  --set-file "policy=$pols/migration-notary-to-notation.yaml"
echo "$OUT" > "$T/notation.yaml"
assert_contains "trust.notation: the trust policy is mounted as notation names it" "$OUT" "path: trustpolicy.json"
assert_contains "trust.notation: each certificate in notation's store layout" "$OUT" "path: truststore/x509/ca/release/release-ca.crt"
run_capture "$py" "$tools/check_rules.py" "$T/notation.yaml"
assert_rc "trust.notation: the policy's trustPolicy and trustStore are mounted (no subPath: rotated live)" 0
[ "$RC" -eq 0 ] || echo "$OUT"
run_capture render --set 'trust.existingSecrets=["notary-trust"]' --set-file "policy=$pols/migration-notary-to-notation.yaml"
echo "$OUT" > "$T/notation-unmounted.yaml"
run_capture "$py" "$tools/check_rules.py" "$T/notation-unmounted.yaml"
assert_rc "check_rules rejects: a Notation trust policy on no mounted volume" 1
assert_contains "... naming the file" "$OUT" "/etc/imagegate/notation/team/trustpolicy.json is on no mounted volume"

# 6b. The rules can fail.
expect_rules_fail() {  # description file mutate-args...
  local what="$1" file="$2"; shift 2
  "$py" "$tools/mutate.py" "$file" "$@" > "$T/mut.yaml"
  run_capture "$py" "$tools/check_rules.py" --replicas "$(grep -m1 '^  replicas:' "$file" | awk '{print $2}')" \
    "${leak[@]}" "$T/mut.yaml"
  assert_rc "check_rules rejects: $what" 1
  [ "$RC" -eq 1 ] && echo "$OUT" | grep -m1 "RULE FAILED"
}
expect_rules_fail "sqlite store with 3 replicas" "$T/sqlite.yaml" Deployment spec.replicas 3
expect_rules_fail "sqlite store with a rolling update" "$T/sqlite.yaml" Deployment spec.strategy '{"type":"RollingUpdate"}'
expect_rules_fail "sqlite store on an emptyDir" "$T/sqlite.yaml" Deployment spec.template.spec.volumes.5 '{"name":"data","emptyDir":{}}'
expect_rules_fail "API port missing from the Service" "$T/sqlite.yaml" Service spec.ports.1 __delete__
expect_rules_fail "API port not admitted by the NetworkPolicy" "$T/sqlite.yaml" NetworkPolicy spec.ingress.1 __delete__
expect_rules_fail "a trust Secret mounted writable" "$T/sig.yaml" Deployment spec.template.spec.containers.0.volumeMounts.11.readOnly false
expect_rules_fail "a trust Secret the policy names is not mounted" "$T/sig.yaml" Deployment spec.template.spec.containers.0.volumeMounts.11 __delete__
expect_rules_fail "a registry CA not projected by the volume's items" "$T/sig.yaml" Deployment spec.template.spec.volumes.7.configMap.items.0.path '"other.pem"'
expect_rules_fail "Docker credentials from a ConfigMap" "$T/sig.yaml" Deployment spec.template.spec.volumes.4 '{"name":"registry-auth-0","configMap":{"name":"regcred","items":[{"key":".dockerconfigjson","path":"config.json"}]}}'
expect_rules_fail "a chart Secret without the key the config names" "$T/sig.yaml" Secret data '{"ca.crt":"eA=="}'
expect_rules_fail "an API token in a ConfigMap" "$T/sig.yaml" ConfigMap data.leak '"rw:ci-token-do-not-leak-0123456789"'
expect_rules_fail "a private key in a ConfigMap" "$T/sig.yaml" ConfigMap data.key '"-----BEGIN EC PRIVATE KEY-----"'
expect_rules_fail "\$(VAR) in args without env" "$T/sig.yaml" Deployment spec.template.spec.containers.0.env __delete__
expect_rules_fail "a Redis URL in a plain env value" "$T/sig.yaml" Deployment spec.template.spec.containers.0.env.0 '{"name":"IMAGEGATE_STORE","value":"redis://:pw@redis:6379"}'
expect_rules_fail "pre-delete RBAC that may delete another webhook configuration" "$T/default.yaml" ClusterRole rules.0.resourceNames '["imagegate","kyverno-resource-validating-webhook-cfg"]'
expect_rules_fail "pre-delete RBAC with more verbs than delete" "$T/default.yaml" ClusterRole rules.0.verbs '["delete","patch"]'
expect_rules_fail "pre-delete RBAC on any webhook configuration (no resourceNames)" "$T/default.yaml" ClusterRole rules.1.resourceNames __delete__
expect_rules_fail "a pre-delete hook that deletes something else" "$T/default.yaml" Pod/imagegate-pre-delete spec.containers.0.env.0.value '"validatingwebhookconfigurations/other"'
expect_rules_fail "a pre-delete hook without a ServiceAccount token" "$T/default.yaml" Pod/imagegate-pre-delete spec.automountServiceAccountToken false
expect_rules_fail "a helm test pod that posts elsewhere" "$T/default.yaml" Pod/imagegate-test-review spec.containers.0.env.0.value '"https://example.com/validate"'
expect_rules_fail "a helm test pod selected by the Service" "$T/default.yaml" Pod/imagegate-test-review metadata.labels '{"app.kubernetes.io/name":"imagegate","app.kubernetes.io/instance":"imagegate","app.kubernetes.io/component":"webhook"}'
run_capture render --set-file "policy=$pols/keys.yaml"
echo "$OUT" > "$T/nokeys.yaml"
run_capture "$py" "$tools/check_rules.py" "$T/nokeys.yaml"
assert_rc "check_rules rejects: keys.yaml policy without trust.existingSecrets (keyFile on no volume)" 1
assert_contains "... naming the file" "$OUT" "/etc/imagegate/trust/imagegate-keys/release.pub is on no mounted volume"

run_capture render --set verdicts.api.enabled=true --set 'verdicts.api.tokens.lines=["rw:0123456789abcdef0123"]'
assert_rc "rendering refuses the verdict API without a store" 1
assert_contains "... with the reason" "$ERR" "verdicts.api.enabled needs verdicts.store.type"
run_capture render --set verdicts.api.enabled=true --set verdicts.store.type=sqlite
assert_rc "rendering refuses the verdict API without tokens" 1
assert_contains "... with the reason" "$ERR" "needs tokens"
run_capture render --set verdicts.store.type=redis
assert_rc "rendering refuses a Redis store without a URL" 1
assert_contains "... with the reason" "$ERR" "verdicts.store.redis.url (or existingSecret) is required"
run_capture render --set verdicts.api.enabled=true --set verdicts.store.type=sqlite --set verdicts.api.port=8443 \
  --set 'verdicts.api.tokens.lines=["rw:0123456789abcdef0123"]'
assert_rc "rendering refuses the verdict API on the webhook's port" 1

# 3. Chart and kustomize agree.
cp -r "$src/manifests" "$T/manifests"
rm -rf "$T/manifests/tls/generated-by-scripts-gen-webhook-cert.sh"
"$src/scripts/gen-webhook-cert.sh" --out "$T/manifests/tls/generated-by-scripts-gen-webhook-cert.sh" 2>/dev/null
kubectl kustomize "$T/manifests" > "$T/kustomize.yaml" 2>"$T/kerr" || die "kustomize: $(cat "$T/kerr")"
run_capture "$py" "$tools/compare_installs.py" "$T/default.yaml" "$T/kustomize.yaml"
assert_rc "chart defaults and kustomize agree (webhooks, pod, container, config, policy, service, PDB, netpol)" 0
[ "$RC" -eq 0 ] || echo "$OUT" | grep -A2 DIFFERS
# The same with registry, trust and verdict pieces: chart values vs kustomize components (which pass flags).
components_overlay() {  # name component...
  local name="$1"; shift
  mkdir -p "$T/$name"
  { echo "resources: [../manifests]"; echo "components:"; for c in "$@"; do echo "  - ../manifests/components/$c"; done; } \
    > "$T/$name/kustomization.yaml"
  kubectl kustomize "$T/$name" > "$T/$name.yaml" 2>"$T/kerr" || die "kustomize $name: $(cat "$T/kerr")"
}
components_overlay k-notation notation
render --set 'trust.notation=[{"name":"team","configMap":"imagegate-notation","certificates":[{"key":"release-ca.crt","store":"ca/release"}]}]' \
  > "$T/c-notation.yaml"
run_capture "$py" "$tools/compare_installs.py" --effective "$T/c-notation.yaml" "$T/k-notation.yaml"
assert_rc "chart (trust.notation) and the kustomize notation component agree (mounts, volumes, items)" 0
[ "$RC" -eq 0 ] || echo "$OUT" | grep -A2 DIFFERS
components_overlay k-sqlite registry-credentials registry-ca trust verdict-api verdicts-sqlite
render --values "$tools/values/components-sqlite.yaml" > "$T/c-sqlite.yaml"
run_capture "$py" "$tools/compare_installs.py" --effective "$T/c-sqlite.yaml" "$T/k-sqlite.yaml"
assert_rc "chart (registry/trust/sqlite/API values) and kustomize components agree (config + flags, mounts, volumes, ports, replicas, strategy)" 0
[ "$RC" -eq 0 ] || echo "$OUT" | grep -A2 DIFFERS
components_overlay k-metrics metrics-http
render --set metrics.plainHTTP.enabled=true > "$T/c-metrics.yaml"
run_capture "$py" "$tools/compare_installs.py" --effective "$T/c-metrics.yaml" "$T/k-metrics.yaml"
assert_rc "chart (metrics.plainHTTP) and the kustomize metrics-http component agree (flag, ports, Service, netpol)" 0
[ "$RC" -eq 0 ] || echo "$OUT" | grep -A2 DIFFERS
components_overlay k-redis verdict-api verdicts-redis
render --values "$tools/values/components-redis.yaml" > "$T/c-redis.yaml"
run_capture "$py" "$tools/compare_installs.py" --effective "$T/c-redis.yaml" "$T/k-redis.yaml"
assert_rc "chart (Redis from a Secret, API values) and kustomize components agree (env, flags, ports, netpol)" 0
[ "$RC" -eq 0 ] || echo "$OUT" | grep -A2 DIFFERS
run_capture "$py" "$tools/compare_installs.py" --effective "$T/c-redis.yaml" "$T/k-sqlite.yaml"
assert_rc "(a Redis chart and an SQLite overlay are reported as different)" 1
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

# Operator knobs (issue 19): each value reaches its field, the objects stay valid and follow the rules.
aff='{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"node-role.kubernetes.io/control-plane","operator":"DoesNotExist"}]}]}},"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"topologyKey":"kubernetes.io/hostname","labelSelector":{"matchLabels":{"app.kubernetes.io/name":"imagegate","app.kubernetes.io/instance":"imagegate"}}}]}}'
tsc='[{"maxSkew":2,"topologyKey":"topology.kubernetes.io/region","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"app.kubernetes.io/name":"imagegate","app.kubernetes.io/instance":"imagegate"}}}]'
mc='[{"name":"not-ci-deployer","expression":"request.userInfo.username != '"'"'system:serviceaccount:ci:deployer'"'"'"}]'
run_capture render --set hostNetwork=true --set server.port=10443 --set logFormat=text \
  --set metrics.plainHTTP.enabled=true --set metrics.plainHTTP.port=10800 --set metrics.serviceMonitor.enabled=true \
  --set priorityClassName=system-cluster-critical --set "affinity=$aff" --set "topologySpreadConstraints=$tsc" \
  --set 'podSecurityContext={"runAsNonRoot":true,"runAsUser":10001,"runAsGroup":10001,"fsGroup":10001,"seccompProfile":{"type":"RuntimeDefault"}}' \
  --set 'securityContext={"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"runAsNonRoot":true,"runAsUser":10001,"capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}' \
  --set 'extraArgs=["--threads","4"]' --set 'extraEnv=[{"name":"TZ","value":"UTC"},{"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]' \
  --set "webhook.matchConditions=$mc" --set 'webhook.labels={"team":"platform"}' \
  --set 'webhook.namespaceSelector={"matchLabels":{"imagegate.dev/enforce":"true"},"matchExpressions":[{"key":"tier","operator":"NotIn","values":["sandbox"]}]}'
assert_rc "chart renders with hostNetwork, metrics over HTTP, affinity, spread, security contexts, extra args/env, matchConditions" 0
echo "$OUT" > "$T/knobs.yaml"
run_capture "$py" "$tools/validate_k8s.py" "$T/knobs.yaml"
assert_rc "... every object valid against Kubernetes 1.33 OpenAPI (ServiceMonitor CRD included)" 0
[ "$RC" -eq 0 ] || echo "$OUT" | grep INVALID
run_capture "$py" "$tools/check_rules.py" "$T/knobs.yaml"
assert_rc "... and follows the install rules (restricted contexts, anti-affinity and spread on the pods, hooks)" 0
[ "$RC" -eq 0 ] || echo "$OUT"
"$py" - "$T/knobs.yaml" > "$T/knobs.facts" <<'PY'
import json, sys, yaml
objs = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
kind = lambda k: [o for o in objs if o["kind"] == k]
pod = kind("Deployment")[0]["spec"]["template"]["spec"]
c = pod["containers"][0]
print("host", pod.get("hostNetwork"), pod.get("dnsPolicy"), pod.get("priorityClassName"))
print("args", " ".join(c["args"]))
print("env", json.dumps(c.get("env"), sort_keys=True))
print("ports", sorted((p["name"], p["containerPort"]) for p in c["ports"]))
print("psc", pod["securityContext"]["runAsUser"], "csc", c["securityContext"]["runAsUser"])
print("affinity", sorted(pod["affinity"]), "tsc", [t["topologyKey"] for t in pod["topologySpreadConstraints"]])
svc = kind("Service")[0]["spec"]["ports"]
print("svc", sorted((p["name"], p["port"]) for p in svc))
print("netpol", sorted(r["ports"][0]["port"] for r in kind("NetworkPolicy")[0]["spec"]["ingress"]))
ep = kind("ServiceMonitor")[0]["spec"]["endpoints"][0]
print("monitor", ep["port"], ep["scheme"], "tlsConfig" in ep)
for cfg in kind("ValidatingWebhookConfiguration") + kind("MutatingWebhookConfiguration"):
    print(cfg["kind"], "labels.team", cfg["metadata"]["labels"].get("team"))
    for h in cfg["webhooks"]:
        sel = h["namespaceSelector"]
        print(h["name"], "conditions", [m["name"] for m in h.get("matchConditions", [])],
              "selector", json.dumps(sel.get("matchLabels")), [e["key"] for e in sel["matchExpressions"]])
PY
facts="$(cat "$T/knobs.facts")"
assert_contains "hostNetwork with dnsPolicy ClusterFirstWithHostNet, the priority class" "$facts" "host True ClusterFirstWithHostNet system-cluster-critical"
assert_contains "logFormat, the plain-HTTP metrics listener and extraArgs reach the args, in that order" "$facts" \
  "args serve --config /etc/imagegate/config/config.yaml --log-format=text --metrics-listen=0.0.0.0:10800 --threads 4"
assert_contains "extraEnv reaches the container (value and valueFrom)" "$facts" '"name": "POD_NAME", "valueFrom"'
assert_contains "the webhook port (the node's, with hostNetwork) and the metrics port are container ports" "$facts" \
  "ports [('https', 10443), ('metrics', 10800)]"
assert_contains "podSecurityContext and securityContext replace the defaults" "$facts" "psc 10001 csc 10001"
assert_contains "free-form affinity and topologySpreadConstraints are used as given" "$facts" \
  "affinity ['nodeAffinity', 'podAntiAffinity'] tsc ['topology.kubernetes.io/region']"
assert_contains "the Service exposes the metrics port" "$facts" "svc [('https', 443), ('metrics', 10800)]"
assert_contains "the NetworkPolicy admits the metrics port" "$facts" "netpol [10443, 10800]"
assert_contains "the ServiceMonitor scrapes the plain-HTTP port (no TLS config)" "$facts" "monitor metrics http False"
for hook in validate.imagegate.dev inventory.imagegate.dev mutate.imagegate.dev; do
  assert_contains "$hook: matchConditions and the extra namespaceSelector terms, exclusions kept" "$facts" \
    "$hook conditions ['not-ci-deployer'] selector {\"imagegate.dev/enforce\": \"true\"} ['kubernetes.io/metadata.name', 'imagegate.dev/ignore', 'tier']"
done
assert_contains "webhook.labels on the ValidatingWebhookConfiguration" "$facts" "ValidatingWebhookConfiguration labels.team platform"
assert_contains "webhook.labels on the MutatingWebhookConfiguration" "$facts" "MutatingWebhookConfiguration labels.team platform"
assert_contains "the default logFormat is json" "$(cat "$T/default.yaml")" "- --log-format=json"
assert_not_contains "plain-HTTP metrics are off by default" "$(cat "$T/default.yaml")" "--metrics-listen"
run_capture render --set 'securityContext={"allowPrivilegeEscalation":true,"privileged":true}'
echo "$OUT" > "$T/priv.yaml"
run_capture "$py" "$tools/check_rules.py" "$T/priv.yaml"
assert_rc "check_rules rejects a securityContext override that is not restricted" 1
run_capture render --set metrics.plainHTTP.enabled=true --set metrics.plainHTTP.port=8443
assert_rc "rendering refuses the plain-HTTP metrics port on the webhook's port" 1
assert_contains "... with the reason" "$ERR" "metrics.plainHTTP.port must differ from server.port"

# Bring-your-own TLS Secret: nothing generated, the webhooks trust the CA given (or the Secret's ca.crt).
"$src/scripts/gen-webhook-cert.sh" --out "$T/byo" 2>/dev/null || die "gen-webhook-cert.sh failed"
byo_ca="$(base64 -w0 < "$T/byo/ca.crt")"
run_capture render --set tls.existingSecret.name=corp-tls --set "tls.existingSecret.caBundle=$byo_ca"
assert_rc "chart renders with an existing TLS Secret and its CA" 0
echo "$OUT" > "$T/byo.yaml"
run_capture "$py" "$tools/check_rules.py" --tls existing "$T/byo.yaml"
assert_rc "... no TLS Secret or Certificate rendered, the pod mounts corp-tls, every webhook has a caBundle" 0
[ "$RC" -eq 0 ] || echo "$OUT"
run_capture "$py" "$tools/validate_k8s.py" "$T/byo.yaml"
assert_rc "... valid against Kubernetes 1.33 OpenAPI" 0
bundle_of "$T/byo.yaml" | base64 -d > "$T/byo/bundle.pem"
run_capture openssl verify -CAfile "$T/byo/bundle.pem" "$T/byo/tls.crt"
assert_rc "the Secret's certificate verifies against the rendered caBundle" 0
secret_field "$T/default.yaml" tls.crt | base64 -d > "$T/byo/other.crt"
run_capture openssl verify -CAfile "$T/byo/bundle.pem" "$T/byo/other.crt"
assert_rc "(a certificate from another CA does not)" 2
run_capture render --set tls.existingSecret.name=corp-tls
assert_rc "an existing Secret without caBundle and unreadable (helm template): rendering refuses" 1
assert_contains "... saying what to set" "$ERR" "set tls.existingSecret.caBundle"
printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: corp-tls, namespace: imagegate-system}\ntype: kubernetes.io/tls\ndata: {ca.crt: %s, tls.crt: eA==, tls.key: eA==}\n' \
  "$byo_ca" > "$T/byo/existing.yaml"
run_capture render --set tls.existingSecret.name=corp-tls --lookup "$T/byo/existing.yaml"
assert_rc "an existing Secret with ca.crt (helm install: lookup) needs no caBundle value" 0
echo "$OUT" > "$T/byo-lookup.yaml"
assert_eq "... the caBundle is the Secret's ca.crt" "$byo_ca" "$(bundle_of "$T/byo-lookup.yaml")"
run_capture render --set tls.existingSecret.name=corp-tls --set "tls.existingSecret.caBundle=$byo_ca" --set tls.certManager.enabled=true
assert_rc "rendering refuses an existing Secret together with cert-manager" 1
assert_contains "... with the reason" "$ERR" "exclude each other"
"$py" "$tools/mutate.py" "$T/byo.yaml" ValidatingWebhookConfiguration webhooks.0.clientConfig.caBundle '""' > "$T/byo-mut.yaml"
run_capture "$py" "$tools/check_rules.py" --tls existing "$T/byo-mut.yaml"
assert_rc "check_rules rejects: an existing TLS Secret but a webhook without caBundle" 1

# Helm hooks: the pre-delete pod may delete exactly the webhook configurations; `helm test` posts a review.
assert_contains "a pre-delete hook" "$(cat "$T/default.yaml")" "helm.sh/hook: pre-delete"
assert_contains "a helm test pod" "$(cat "$T/default.yaml")" "helm.sh/hook: test"
run_capture render --set hooks.preDelete.enabled=false --set hooks.test.enabled=false
echo "$OUT" > "$T/nohooks.yaml"
run_capture "$py" "$tools/check_rules.py" --no-pre-delete-hook --no-test-hook "$T/nohooks.yaml"
assert_rc "hooks disabled: no hook objects (--no-pre-delete-hook --no-test-hook)" 0
run_capture "$py" "$tools/check_rules.py" "$T/nohooks.yaml"
assert_rc "(the rules expect both hooks in a chart render: their absence is caught)" 1

# hook_script RENDER KIND/NAME DIR: the hook's shell script (DIR/script.sh) and its env (DIR/env.sh, exports).
hook_script() {
  mkdir -p "$3"
  "$py" - "$1" "$2" "$3" <<'PY'
import os, shlex, sys, yaml
kind, name = sys.argv[2].split("/")
o = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o and o["kind"] == kind and o["metadata"]["name"] == name][0]
spec = o["spec"]
c = spec["containers"][0]
assert c["command"] == ["/bin/sh", "-c"], c["command"]
open(os.path.join(sys.argv[3], "script.sh"), "w").write(c["args"][0])
with open(os.path.join(sys.argv[3], "env.sh"), "w") as f:
    for e in c.get("env", []):
        f.write("export %s=%s\n" % (e["name"], shlex.quote(e["value"])))
PY
}
# The pre-delete hook's own script, run against a STAND-IN for the API server (no kube-apiserver exists on
# these machines; tests/install/apiserver_standin.py answers DELETE as the API server does).
H="$T/hook"
hook_script "$T/default.yaml" Pod/imagegate-pre-delete "$H"
mkdir -p "$H/sa"
make_self_signed_cert "$H"
cp "$H/tls.crt" "$H/sa/ca.crt"
echo "hook-token-0123" > "$H/sa/token"
api_port="$(free_port)"
"$py" "$tools/apiserver_standin.py" "$api_port" "$H/tls.crt" "$H/tls.key" hook-token-0123 "$H/api.log" \
  validatingwebhookconfigurations/imagegate mutatingwebhookconfigurations/imagegate >/dev/null 2>&1 &
api_pid=$!
track_pid "$api_pid"
wait_for_port "$api_port" 10 || die "the API server stand-in did not start"
run_hook() {  # the hook's script with its env, the token and CA where the kubelet mounts them
  run_capture env -i PATH="$PATH" sh -c ". '$H/env.sh'; export API_SERVER=https://127.0.0.1:$api_port SA_DIR='$H/sa'; sh '$H/script.sh'"
}
run_hook
assert_rc "pre-delete hook: deletes the webhook configurations" 0
assert_eq "... exactly the validating and mutating configuration, with the ServiceAccount token" \
  "DELETE /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/imagegate AUTH-OK -> 200|DELETE /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/imagegate AUTH-OK -> 200" \
  "$(paste -sd'|' "$H/api.log")"
run_hook
assert_rc "pre-delete hook: a rerun (configurations already gone, 404) succeeds" 0
assert_contains "... saying they are gone" "$OUT" "HTTP 404 (gone)"
echo "wrong-token" > "$H/sa/token"
run_hook
assert_rc "pre-delete hook: an API error (401) fails the hook, so helm uninstall reports it" 1
assert_contains "... naming the object and the answer" "$ERR" "DELETE validatingwebhookconfigurations/imagegate: HTTP 401"
stop_pid "$api_pid"
run_hook
assert_rc "pre-delete hook: an unreachable API server fails the hook (after its retries)" 1

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
  # `helm test`: the test pod's own script, against this server, with the CA it mounts (the Secret's ca.crt).
  hook_script "$T/default.yaml" Pod/imagegate-test-review "$T/htest"
  mkdir -p "$T/htest/bin"
  printf '#!/bin/sh\nexec /usr/bin/curl --connect-to imagegate.imagegate-system.svc:443:127.0.0.1:%s "$@"\n' "$port" > "$T/htest/bin/curl"
  chmod +x "$T/htest/bin/curl"
  run_helm_test() {  # CA file
    run_capture env -i PATH="$T/htest/bin:$PATH" sh -c ". '$T/htest/env.sh'; export CA_FILE='$1'; sh '$T/htest/script.sh'"
  }
  run_helm_test "$T/srv/ca.crt"
  assert_rc "helm test: the pod's review through the Service name is answered (TLS verified with the Secret's ca.crt)" 0
  assert_contains "... with the review's uid" "$OUT" '"uid":"imagegate-helm-test"'
  run_helm_test "$T/byo/ca.crt"
  assert_rc "helm test: with another CA the test fails (curl 60: the certificate is really checked)" 60
  stop_pid "$pid"

  # 6c. The server with the chart's registry, trust and verdict files, laid out as the kubelet would.
  L="$T/live"
  mkdir -p "$L/fx"
  # The chart passes --log-format (and --metrics-listen when enabled); a binary from before those flags runs
  # without them (they are rendered and checked above, run once the binary has them).
  drop=()
  for f in --log-format --metrics-listen; do
    "$IMAGEGATE_BINARY" serve --help | grep -q -- "$f" || drop+=("--drop-flag=$f")
  done
  render --values "$vals/live.yaml" --set-file "policy=$pols/keys.yaml" > "$L/live.yaml"
  run_capture "$py" "$tools/check_rules.py" --replicas 1 "${leak[@]}" "$L/live.yaml"
  assert_rc "live values follow the rules" 0
  [ "$RC" -eq 0 ] || echo "$OUT"
  "$py" - "$L/live.yaml" "$L/fx/ca.crt" "$L/tls-secret.yaml" <<'PY'
import base64, sys, yaml
s = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o and o["kind"] == "Secret" and o["type"] == "kubernetes.io/tls"][0]
open(sys.argv[2], "wb").write(base64.b64decode(s["data"]["ca.crt"]))
open(sys.argv[3], "w").write(yaml.safe_dump(s))
PY
  for k in release security; do
    openssl ecparam -name prime256v1 -genkey -noout -out "$L/fx/$k.key" 2>/dev/null
    openssl ec -in "$L/fx/$k.key" -pubout -out "$L/fx/$k.pub" 2>/dev/null
  done
  printf '{"auths":{"ghcr.io":{"auth":"%s"}}}\n' "$(printf 'reader:pw' | base64)" > "$L/fx/regcred.json"
  existing=(--existing "Secret/regcred/.dockerconfigjson=$L/fx/regcred.json" --existing "ConfigMap/corp-ca/ca.crt=$L/fx/ca.crt"
            --existing "Secret/internal-ca/ca.pem=$L/fx/ca.crt" --existing "Secret/imagegate-keys/release.pub=$L/fx/release.pub"
            --existing "Secret/imagegate-keys/security.pub=$L/fx/security.pub")
  port="$(free_port)"; api="$(free_port)"
  run_capture "$py" "$tools/materialize.py" "$L/live.yaml" "$L/root" --listen "$port" --api-port "$api" "${existing[@]:2}"
  assert_rc "materialize refuses a pod whose Secret is missing (regcred not given)" 1
  assert_contains "... naming the volume and the Secret" "$ERR" "volume registry-auth-0: Secret regcred neither rendered nor given"
  rm -rf "$L/root"
  "$py" "$tools/materialize.py" "$L/live.yaml" "$L/root" --listen "$port" --api-port "$api" "${existing[@]}" "${drop[@]}" \
    > "$L/args" || die "materialize failed"
  mapfile -t sargs < "$L/args"
  start_imagegate "$IMAGEGATE_BINARY" "$L/out.log" "$L/err.log" "${sargs[@]}"
  pass "imagegate serve starts with the chart's registry CAs, Docker configs, keys policy, token file and SQLite store"
  wait_for_port "$api" 15 || fail "the verdict API did not listen" "$(cat "$L/err.log")"
  assert_contains "the store is the SQLite file on the claim's mount" "$(cat "$L/err.log")" "sqlite:$L/root/var/lib/imagegate/verdicts.db"
  vurl="https://imagegate.imagegate-system.svc:$api/api/v1/verdicts/sha256:$(printf '%064x' 7)"
  report="$IMAGEGATE_CONFORMANCE_DIR/scan-reports/trivy/alpine-39.json.golden"
  vc() { curl -s -o "$L/body" -w '%{http_code}' --cacert "$L/fx/ca.crt" --resolve "imagegate.imagegate-system.svc:$api:127.0.0.1" "$@"; }
  assert_eq "PUT a verdict with the chart's rw token (TLS verified against the chart's CA)" 200 \
    "$(vc -X PUT -H 'Authorization: Bearer ci-token-do-not-leak-0123456789' --data-binary "@$report" "$vurl")"
  assert_eq "the chart's ro token cannot write" 403 \
    "$(vc -X PUT -H 'Authorization: Bearer reader-token-do-not-leak-98765' --data-binary "@$report" "$vurl")"
  assert_eq "the chart's ro token reads it back" 200 "$(vc -H 'Authorization: Bearer reader-token-do-not-leak-98765' "$vurl")"
  assert_contains "... the stored verdict" "$(cat "$L/body")" '"scanner":"trivy dev"'
  [ -s "$L/root/var/lib/imagegate/verdicts.db" ] && pass "verdicts.db written on the volume" || fail "no verdicts.db on the volume"
  stop_pid "$SERVER_PID"
  echo "not a certificate" > "$L/root/etc/imagegate/registry/ca/0/ca.crt"
  "$IMAGEGATE_BINARY" serve "${sargs[@]}" > "$L/out2.log" 2> "$L/err2.log" &
  bad_pid=$!
  track_pid "$bad_pid"
  for _ in $(seq 1 50); do kill -0 "$bad_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$bad_pid" 2>/dev/null; then
    fail "serve started with a garbage registry CA bundle"
  else
    pass "serve refuses a garbage CA bundle at start-up, so the path the chart names is really read"
    assert_contains "... naming the file" "$(cat "$L/err2.log")" "registry/ca/0/ca.crt"
  fi
  stop_pid "$bad_pid"

  # Redis whose URL comes from a Secret: --store=$(IMAGEGATE_STORE) expanded from the secretKeyRef.
  if command -v redis-server >/dev/null; then
    rport="$(free_port)"
    start_redis "$rport"
    rpid="$REDIS_PID"
    echo "redis://127.0.0.1:$rport/3" > "$L/fx/redis-url"
    render --lookup "$L/tls-secret.yaml" --values "$vals/live.yaml" --set verdicts.store.type=redis --set verdicts.store.redis.existingSecret=verdict-redis \
      --set-file "policy=$pols/keys.yaml" > "$L/redis.yaml"
    run_capture "$py" "$tools/check_rules.py" "${leak[@]}" "$L/redis.yaml"
    assert_rc "Redis-from-Secret values follow the rules (3 replicas, no URL in a ConfigMap)" 0
    port="$(free_port)"; api="$(free_port)"
    "$py" "$tools/materialize.py" "$L/redis.yaml" "$L/rroot" --listen "$port" --api-port "$api" "${existing[@]}" "${drop[@]}" \
      --existing "Secret/verdict-redis/url=$L/fx/redis-url" > "$L/rargs" || die "materialize (redis) failed"
    mapfile -t rargs < "$L/rargs"
    vurl="https://imagegate.imagegate-system.svc:$api/api/v1/verdicts/sha256:$(printf '%064x' 7)"
    assert_contains "the Secret's URL reaches the server as --store" "${rargs[*]}" "--store=redis://127.0.0.1:$rport/3"
    start_imagegate "$IMAGEGATE_BINARY" "$L/rout.log" "$L/rerr.log" "${rargs[@]}"
    wait_for_port "$api" 15 || fail "the verdict API (redis) did not listen" "$(cat "$L/rerr.log")"
    assert_eq "PUT a verdict into Redis through the chart's config" 200 \
      "$(vc -X PUT -H 'Authorization: Bearer ci-token-do-not-leak-0123456789' --data-binary "@$report" "$vurl")"
    assert_eq "... stored in Redis DB 3" 1 \
      "$(redis-cli -p "$rport" -n 3 exists "imagegate:verdict:sha256:$(printf '%064x' 7)" 2>/dev/null)"
    stop_pid "$SERVER_PID"
    stop_pid "$rpid"
  else
    log "no redis-server: skipping the live Redis-from-Secret run"
  fi
else
  log "IMAGEGATE_BINARY not set: skipping the live serve of the chart's config"
fi
finish

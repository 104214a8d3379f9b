#!/usr/bin/env bash
# The kustomize install (manifests/): renders offline with `kubectl kustomize`, every object is valid
# against the Kubernetes 1.33 OpenAPI schemas (strict: unknown fields rejected), and the objects follow
# the install rules (tests/install/check_rules.py: webhook fields, namespace exclusions, security context,
# probes, grace period, TLS SAN and caBundle chain). scripts/gen-webhook-cert.sh is exercised for real
# (openssl). Broken variants of the rendered objects must be rejected, so the checks can fail.
set -uo pipefail
src="${IMAGEGATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
export IMAGEGATE_CONFORMANCE_DIR="${IMAGEGATE_CONFORMANCE_DIR:-$src/../shared/conformance}"
py=/usr/bin/python3
tools="$src/tests/install"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

if ! command -v kubectl >/dev/null || ! "$py" -c 'import yaml, jsonschema' 2>/dev/null; then
  echo "manifests_test: needs kubectl and python3-yaml/python3-jsonschema (scripts/install-deps.sh)" >&2
  exit 1
fi

# A copy of manifests/ without any certificate a developer generated in the work tree.
cp -r "$src/manifests" "$tmp/manifests"
gen="$tmp/manifests/tls/generated-by-scripts-gen-webhook-cert.sh"
rm -rf "$gen"

if kubectl kustomize "$tmp/manifests/base" >"$tmp/base.yaml" 2>"$tmp/err"; then
  ok "kubectl kustomize manifests/base renders offline"
else
  bad "kubectl kustomize manifests/base: $(cat "$tmp/err")"
fi
if kubectl kustomize "$tmp/manifests" >/dev/null 2>"$tmp/err"; then
  bad "manifests/ rendered without a certificate (the tls component should need gen-webhook-cert.sh)"
elif grep -q "generated-by-scripts-gen-webhook-cert.sh/ca.crt.*no such file or directory" "$tmp/err"; then
  ok "manifests/ refuses to render before gen-webhook-cert.sh, and kustomize's error names the script"
else
  bad "manifests/ without a certificate fails without naming scripts/gen-webhook-cert.sh: $(cat "$tmp/err")"
fi
if (cd "$src" && scripts/gen-webhook-cert.sh --help | grep -q "default manifests/tls/generated-by-scripts-gen-webhook-cert.sh/"); then
  ok "gen-webhook-cert.sh writes where the tls component reads by default"
else
  bad "gen-webhook-cert.sh's default --out is not the folder the tls component reads"
fi

# Certificate generation.
if "$src/scripts/gen-webhook-cert.sh" --out "$gen" 2>"$tmp/err"; then
  ok "gen-webhook-cert.sh wrote the certificate"
else
  bad "gen-webhook-cert.sh: $(cat "$tmp/err")"
fi
if [ "$(stat -c %a "$gen/tls.key")" = 600 ]; then ok "tls.key is mode 0600"; else bad "tls.key mode $(stat -c %a "$gen/tls.key")"; fi
if "$src/scripts/gen-webhook-cert.sh" --out "$gen" 2>/dev/null; then
  bad "gen-webhook-cert.sh overwrote existing files without --force"
else
  ok "gen-webhook-cert.sh keeps existing files without --force"
fi
if "$src/scripts/gen-webhook-cert.sh" --namespace 'Bad_NS' --out "$tmp/x" 2>/dev/null; then
  bad "gen-webhook-cert.sh accepted an invalid namespace"
else
  ok "gen-webhook-cert.sh rejects an invalid namespace"
fi
bundle="$("$src/scripts/gen-webhook-cert.sh" --namespace webhooks --service gate --out "$tmp/other" --print-ca-bundle 2>/dev/null)"
echo "$bundle" | base64 -d >"$tmp/other-ca.pem" 2>/dev/null
if openssl x509 -in "$tmp/other/tls.crt" -noout -checkhost gate.webhooks.svc | grep -q "does match" &&
   openssl verify -CAfile "$tmp/other-ca.pem" "$tmp/other/tls.crt" >/dev/null 2>&1; then
  ok "--namespace/--service set the SAN; --print-ca-bundle prints the CA that verifies it"
else
  bad "custom namespace/service certificate or printed caBundle is wrong"
fi

# The full install.
if kubectl kustomize "$tmp/manifests" >"$tmp/all.yaml" 2>"$tmp/err"; then
  ok "kubectl kustomize manifests/ renders offline ($(grep -c '^kind:' "$tmp/all.yaml") objects)"
else
  bad "kubectl kustomize manifests/: $(cat "$tmp/err")"
fi
if "$py" "$tools/validate_k8s.py" "$tmp/all.yaml" >"$tmp/v.out" 2>&1; then
  ok "every object valid against the Kubernetes 1.33 OpenAPI schemas ($(tail -1 "$tmp/v.out"))"
else
  bad "schema validation:"; cat "$tmp/v.out"
fi
if "$py" "$tools/check_rules.py" --tls secret "$tmp/all.yaml" >"$tmp/r.out" 2>&1; then
  ok "install rules hold (webhook, selectors, security context, probes, grace, TLS SAN + caBundle)"
else
  bad "install rules:"; cat "$tmp/r.out"
fi
for kind in Deployment Service ServiceAccount PodDisruptionBudget NetworkPolicy ValidatingWebhookConfiguration Secret; do
  grep -q "^kind: $kind\$" "$tmp/all.yaml" || bad "no $kind rendered"
done

# The overlay example of docs/install.md ("Install with kustomize"): another image, a replaced policy.
mkdir -p "$tmp/my-overlay"
cat > "$tmp/my-overlay/kustomization.yaml" <<'YAML'
resources: [../manifests]
images:
  - name: imagegate/imagegate
    newName: registry.example.com/imagegate
    newTag: 0.1.0
configMapGenerator:
  - name: imagegate-policy
    namespace: imagegate-system
    behavior: replace
    files: [policy.yaml]
    options: {disableNameSuffixHash: true}
YAML
sed 's/mode: audit/mode: warn/' "$src/manifests/base/policy.yaml" > "$tmp/my-overlay/policy.yaml"
if kubectl kustomize "$tmp/my-overlay" >"$tmp/overlay.yaml" 2>"$tmp/err" &&
   grep -q "image: registry.example.com/imagegate:0.1.0" "$tmp/overlay.yaml" &&
   grep -q "mode: warn" "$tmp/overlay.yaml" &&
   "$py" "$tools/check_rules.py" "$tmp/overlay.yaml" >/dev/null; then
  ok "the documented overlay (image + policy replaced) renders and keeps the install rules"
else
  bad "documented overlay: $(cat "$tmp/err")"
fi

# The optional components (manifests/components/): registry credentials and CA, trust, the verdict API with
# the SQLite store (one replica) or with Redis from a Secret.
overlay() {  # name component...
  local name="$1"; shift
  mkdir -p "$tmp/$name"
  { echo "resources: [../manifests]"; echo "components:"; for c in "$@"; do echo "  - ../manifests/components/$c"; done; } \
    > "$tmp/$name/kustomization.yaml"
  kubectl kustomize "$tmp/$name" > "$tmp/$name.yaml" 2>"$tmp/err"
}
if overlay ov-sqlite registry-credentials registry-ca trust verdict-api verdicts-sqlite; then
  ok "overlay with registry-credentials, registry-ca, trust, verdict-api, verdicts-sqlite renders"
else
  bad "overlay with components: $(cat "$tmp/err")"
fi
if overlay ov-redis verdict-api verdicts-redis; then ok "overlay with verdict-api, verdicts-redis renders"; else bad "redis overlay: $(cat "$tmp/err")"; fi
if "$py" "$tools/validate_k8s.py" "$tmp/ov-sqlite.yaml" "$tmp/ov-redis.yaml" >"$tmp/v.out" 2>&1; then
  ok "component objects valid against the Kubernetes 1.33 OpenAPI schemas ($(tail -1 "$tmp/v.out"))"
else
  bad "component schema validation:"; grep INVALID "$tmp/v.out"
fi
if "$py" "$tools/check_rules.py" --replicas 1 --tls secret "$tmp/ov-sqlite.yaml" >"$tmp/r.out" 2>&1; then
  ok "sqlite overlay: 1 replica, Recreate, store on the PVC, flags' files mounted read-only from Secrets/ConfigMaps, API port exposed"
else
  bad "sqlite overlay rules:"; cat "$tmp/r.out"
fi
if "$py" "$tools/check_rules.py" --tls secret "$tmp/ov-redis.yaml" >"$tmp/r.out" 2>&1; then
  ok "redis overlay: 3 replicas, --store=\$(IMAGEGATE_STORE) from the Secret, API port exposed"
else
  bad "redis overlay rules:"; cat "$tmp/r.out"
fi
grep -q -- "--docker-config=/etc/imagegate/registry/auth/imagegate-regcred/config.json" "$tmp/ov-sqlite.yaml" &&
  grep -q "secretName: imagegate-trust" "$tmp/ov-sqlite.yaml" && ok "credentials flag and trust Secret present" ||
  bad "credentials flag or trust Secret missing in the sqlite overlay"
if overlay ov-bad verdicts-sqlite && "$py" "$tools/mutate.py" "$tmp/ov-bad.yaml" Deployment spec.replicas 3 > "$tmp/ov-bad3.yaml" &&
   ! "$py" "$tools/check_rules.py" --replicas 3 "$tmp/ov-bad3.yaml" >"$tmp/r.out" 2>&1; then
  ok "check_rules rejects the sqlite store with 3 replicas ($(grep -m1 'RULE FAILED' "$tmp/r.out" | cut -c14-90))"
else
  bad "check_rules accepted the sqlite store with 3 replicas"
fi
if "$py" "$tools/mutate.py" "$tmp/ov-sqlite.yaml" Deployment spec.template.spec.volumes.4 '{"name":"registry-auth","configMap":{"name":"imagegate-regcred","items":[{"key":".dockerconfigjson","path":"config.json"}]}}' > "$tmp/ov-bad4.yaml" &&
   ! "$py" "$tools/check_rules.py" --replicas 1 "$tmp/ov-bad4.yaml" >"$tmp/r.out" 2>&1; then
  ok "check_rules rejects Docker credentials from a ConfigMap ($(grep -m1 'RULE FAILED' "$tmp/r.out" | cut -c14-90))"
else
  bad "check_rules accepted Docker credentials from a ConfigMap"
fi

# The checks must be able to fail: each broken variant is rejected.
expect_rule_failure() {  # description kind path value
  local what="$1"; shift
  "$py" "$tools/mutate.py" "$tmp/all.yaml" "$@" >"$tmp/mut.yaml"
  if "$py" "$tools/check_rules.py" "$tmp/mut.yaml" >"$tmp/mut.out" 2>&1; then
    bad "check_rules accepted: $what"
  else
    ok "check_rules rejects: $what ($(grep -m1 'RULE FAILED' "$tmp/mut.out" | cut -c14-110))"
  fi
}
vwc=ValidatingWebhookConfiguration
expect_rule_failure "own namespace not excluded" $vwc webhooks.0.namespaceSelector.matchExpressions.0.values '["kube-system"]'
expect_rule_failure "kube-system not excluded" $vwc webhooks.0.namespaceSelector.matchExpressions.0.values '["imagegate-system"]'
expect_rule_failure "no opt-out label" $vwc webhooks.0.namespaceSelector.matchExpressions.1 __delete__
expect_rule_failure "sideEffects None" $vwc webhooks.0.sideEffects '"None"'
expect_rule_failure "admissionReviewVersions v1beta1" $vwc webhooks.0.admissionReviewVersions '["v1beta1","v1"]'
expect_rule_failure "timeout above 30" $vwc webhooks.0.timeoutSeconds 31
expect_rule_failure "cronjobs not covered" $vwc webhooks.0.rules.2.resources '["jobs"]'
expect_rule_failure "wrong caBundle" $vwc webhooks.0.clientConfig.caBundle "\"$bundle\""
expect_rule_failure "service renamed (SAN mismatch)" Service metadata.name '"other"'
expect_rule_failure "grace period too short" Deployment spec.template.spec.terminationGracePeriodSeconds 12
expect_rule_failure "capabilities not all dropped" Deployment spec.template.spec.containers.0.securityContext.capabilities '{"drop":["NET_RAW"]}'
expect_rule_failure "writable root fs" Deployment spec.template.spec.containers.0.securityContext.readOnlyRootFilesystem false
expect_rule_failure "token automounted" ServiceAccount automountServiceAccountToken true
expect_rule_failure "plain-HTTP readiness probe" Deployment spec.template.spec.containers.0.readinessProbe.httpGet.scheme '"HTTP"'
expect_rule_failure "policy mounted with subPath" Deployment spec.template.spec.containers.0.volumeMounts.1.subPath '"policy.yaml"'

expect_schema_failure() {
  local what="$1"; shift
  "$py" "$tools/mutate.py" "$tmp/all.yaml" "$@" >"$tmp/mut.yaml"
  if "$py" "$tools/validate_k8s.py" "$tmp/mut.yaml" >"$tmp/mut.out" 2>&1; then
    bad "schema validation accepted: $what"
  else
    ok "schema validation rejects: $what ($(grep -m1 INVALID "$tmp/mut.out" | cut -c1-110))"
  fi
}
expect_schema_failure "misspelled field" Deployment spec.template.spec.containers.0.securityContext.readOnlyRootFilesytem true
expect_schema_failure "timeoutSeconds as a string" $vwc webhooks.0.timeoutSeconds '"10"'
expect_schema_failure "replicas as a string" Deployment spec.replicas '"three"'
expect_schema_failure "PDB selector as a string" PodDisruptionBudget spec.selector '"app"'

# The shipped starter policy is a valid ImagePolicy (when the binary is built).
if [ -n "${IMAGEGATE_BINARY:-}" ] && [ -x "$IMAGEGATE_BINARY" ]; then
  if "$IMAGEGATE_BINARY" policy lint "$src/manifests/base/policy.yaml" >"$tmp/lint.out" 2>&1; then
    ok "imagegate policy lint manifests/base/policy.yaml"
  else
    bad "imagegate policy lint manifests/base/policy.yaml:"; cat "$tmp/lint.out"
  fi
  # The example policies (keys, keyless, Notary v1, verdict gating, Notary v1 OR cosign during a migration).
  for pol in "$src"/manifests/examples/policy.yaml "$src"/manifests/examples/policies/*.yaml; do
    if "$IMAGEGATE_BINARY" policy lint "$pol" >"$tmp/lint.out" 2>&1; then
      ok "imagegate policy lint ${pol#"$src"/} ($(cut -d: -f2- "$tmp/lint.out" | tr -d '\n'))"
    else
      bad "imagegate policy lint ${pol#"$src"/}:"; cat "$tmp/lint.out"
    fi
  done
  # ... and lint can fail: an anchor with both key and keyFile, and a rule naming an unknown anchor.
  sed 's|keyFile: /etc/imagegate/trust/imagegate-keys/release.pub|keyFile: /k.pub\n        key: "x"|' \
    "$src/manifests/examples/policies/keys.yaml" > "$tmp/bad-anchor.yaml"
  sed 's/anchors: \[dct, release-key\]/anchors: [dct, relase-key]/' \
    "$src/manifests/examples/policies/migration-notary-to-cosign.yaml" > "$tmp/bad-ref.yaml"
  for badpol in "$tmp/bad-anchor.yaml" "$tmp/bad-ref.yaml"; do
    if "$IMAGEGATE_BINARY" policy lint "$badpol" >"$tmp/lint.out" 2>&1; then
      bad "policy lint accepted $(basename "$badpol")"
    else
      ok "policy lint rejects $(basename "$badpol"): $(head -1 "$tmp/lint.out" | cut -c1-100)"
    fi
  done
else
  echo "manifests_test: IMAGEGATE_BINARY not set: example policies not linted" >&2
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

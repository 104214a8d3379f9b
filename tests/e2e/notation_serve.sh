# Part of tests/e2e/notation_test.sh (sourced by it, not a test of its own): Notation anchors through
# `imagegate serve` (/validate with a Pod) and `imagegate test --online`: allowed and denied reviews, the
# Notation evidence in the decision log, the migration example of docs/policy.md (a Notary v1 anchor beside
# a Notation anchor at threshold 1, then Notation only), and the trust store rotated without a restart.

# The server's trust files, as a team copies them from its notation CLI setup.
mkdir -p "$T/serve"
cp "$TP/trustpolicy.json" "$T/serve/trustpolicy.json"
store serve e2e.crt
SERVE_STORE="$STORE"
# A Notary v1 anchor whose notary-server is not running: the Notary side of a migration that has already
# moved on (its anchor answers "unavailable"; the Notation anchor carries the threshold).
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl ec -pubout -out "$T/notary-root.pem" 2>/dev/null
dead_port="$(free_port)"
push_layout e2e-valid-signature migrate/app
push_layout e2e migrate/unsigned

cat >"$T/notation-policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: notation-test}
spec:
  mode: enforce
  failurePolicy: closed
  noMatch: deny
  trustAnchors:
    - name: dct
      notaryV1:
        server: https://127.0.0.1:$dead_port
        rootKeyFiles: [$T/notary-root.pem]
    - name: notation-team
      notation:
        trustPolicy: $T/serve/trustpolicy.json
        trustStore: $SERVE_STORE
  rules:
    - name: migrating
      match: {images: ["$REG/migrate/**"]}
      signatures: {anchors: [dct, notation-team], threshold: 1}
    - name: notation-only
      match: {images: ["$REG/notation/**"]}
      signatures: {anchors: [notation-team]}
YML
cat >"$T/serve-config.yaml" <<YML
policyReloadInterval: 500ms
signatures:
  trustReloadInterval: 1s
YML
run_capture "$bin" policy lint "$T/notation-policy.yaml"
assert_rc "the Notation policy lints" 0
sp="$(free_port)"
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --config "$T/serve-config.yaml" \
  --policy "$T/notation-policy.yaml" --listen "127.0.0.1:$sp" --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" \
  --ca-file "$T/ca.pem"

# imagegate_trust_material_expiry_seconds: the Notation trust store's earliest certificate, in the future;
# the Notary v1 root file gives a series only when it holds certificates (keys never expire).
expiry_metrics="$(curl -sk "https://127.0.0.1:$SERVER_PORT/metrics" | grep '^imagegate_trust_material_expiry_seconds')"
store_expiry="$(sed -nE 's/^imagegate_trust_material_expiry_seconds\{anchor="notation-team",kind="trust_store"\} ([0-9]+)$/\1/p' <<<"$expiry_metrics")"
[ -n "$store_expiry" ] && [ "$store_expiry" -gt "$(date +%s)" ] &&
  pass "metrics: the Notation trust store's expiry ($store_expiry)" ||
  fail "metrics: the Notation trust store's expiry" "$expiry_metrics"
if grep -q 'BEGIN CERTIFICATE' "$T/notary-root.pem"; then
  assert_contains "metrics: the Notary v1 root certificate's expiry" "$expiry_metrics" 'anchor="dct",kind="certificate"'
else
  assert_eq "metrics: a Notary v1 root key has no expiry series" "" "$(grep 'anchor="dct"' <<<"$expiry_metrics")"
fi

review "$REG/notation/e2e-valid-signature:v1"
assert_eq "serve: Notation-signed image allowed" "true" "$(review_allowed)"
assert_contains "decision log: the Notation evidence (signer subject)" "$(cat "$T/decisions.log")" "CN=e2e"
assert_contains "decision log: the signing scheme" "$(cat "$T/decisions.log")" "notary.x509"
review "$REG/notation/e2e:v1"
assert_eq "serve: unsigned image denied" "false" "$(review_allowed)"
assert_contains "serve: unsigned: the reason" "$(review_message)" "no Notation signatures"
review "$REG/notation/e2e-invalid-signature:v1"
assert_eq "serve: invalid envelope denied" "false" "$(review_allowed)"
review "$REG/notation/many:v1"
assert_eq "serve: control image of the bound test (listed once now) allowed" "true" "$(review_allowed)"

# ---- migration: Notary v1 or Notation, one of two; then Notation only ----
review "$REG/migrate/app:v1"
assert_eq "migration: threshold 1 of (Notary v1, Notation): the Notation signature suffices" "true" "$(review_allowed)"
review "$REG/migrate/unsigned:v1"
assert_eq "migration: signed by neither: denied" "false" "$(review_allowed)"
sed -i 's/signatures: {anchors: \[dct, notation-team\], threshold: 1}/signatures: {anchors: [notation-team]}/' \
  "$T/notation-policy.yaml"
sleep 2  # the policy file is reloaded when it changes
review "$REG/migrate/app:v1"
assert_eq "migration done: Notation only: allowed" "true" "$(review_allowed)"
assert_not_contains "migration done: Notary v1 is no longer asked" "$(review_message)" "dct"

# ---- test --online shows the same evidence ----
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec:\n  containers: [{name: c, image: "%s"}]\n' \
  "$REG/notation/e2e-valid-signature:v1" >"$T/pod.yaml"
run_capture "$bin" test --online --policy "$T/notation-policy.yaml" --ca-file "$T/ca.pem" -f "$T/pod.yaml" -o json
assert_rc "test --online: the Notation-signed Pod passes" 0
assert_contains "test --online: the Notation evidence" "$OUT" "CN=e2e"

# ---- the trust store rotated without a restart ----
rm "$SERVE_STORE/x509/ca/e2e/e2e.crt"
cp "$C/localkeys/new_e2e.crt" "$SERVE_STORE/x509/ca/e2e/"
sleep 3  # trustReloadInterval 1s
review "$REG/notation/e2e-valid-signature:v1"
assert_eq "rotation: with another certificate in the store, the image is denied" "false" "$(review_allowed)"
cp "$C/localkeys/e2e.crt" "$SERVE_STORE/x509/ca/e2e/"
sleep 3
review "$REG/notation/e2e-valid-signature:v1"
assert_eq "rotation: the certificate added back: allowed again" "true" "$(review_allowed)"
# A malformed trust policy: the anchor fails closed, naming the file and the problem.
cp "$TP/malformed_trusted_identity_trustpolicy.json" "$T/serve/trustpolicy.json"
sleep 3
review "$REG/notation/e2e-valid-signature:v1"
assert_eq "rotation: a malformed trust policy fails closed" "false" "$(review_allowed)"
assert_contains "rotation: the malformed trust policy is named" "$(review_message)" "trustpolicy.json"
cp "$TP/trustpolicy.json" "$T/serve/trustpolicy.json"
sleep 3
review "$REG/notation/e2e-valid-signature:v1"
assert_eq "rotation: the trust policy fixed: allowed" "true" "$(review_allowed)"
stop_pid "$SERVER_PID"

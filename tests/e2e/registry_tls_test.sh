#!/usr/bin/env bash
# Outbound TLS to registries (issue 13): imagegate's clients speak the server's own policy, TLS 1.2+ with
# ECDHE + AEAD only. Real peers on 127.0.0.1, certificates from the test CA:
#   - `openssl s_server` offering only AES128-SHA (static RSA key exchange, CBC, SHA-1 MAC) under TLS 1.2:
#     `imagegate resolve` fails the handshake, saying so; with the registry listed in legacyTLSRegistries
#     (--legacy-tls-registry) the handshake succeeds (what follows fails: s_server -www is not a registry,
#     its HTTP answer is not a manifest -- enough to see the TLS layer passed);
#   - the same s_server offering ECDHE-RSA-AES128-GCM-SHA256: the handshake succeeds;
#   - Debian's docker-registry (Go's TLS defaults): resolves;
#   - `imagegate serve` with `registry.legacyTLSRegistries` in its config file: the review reaches the legacy
#     server (denied for what it answered, not for TLS); without the key, denied for the handshake.
source "$(dirname "$0")/lib.sh"
require_cmd docker-registry skopeo openssl python3 curl
bin="${IMAGEGATE_BINARY:?}"
make_temp_dir
T="$E2E_TMP"

make_ca "$T"
make_server_cert "$T" tls  # RSA 2048, SAN 127.0.0.1

# s_server CIPHER: an openssl s_server on a free port, TLS 1.2 only, offering CIPHER; sets TLS_PORT, TLS_PID.
s_server() {
  TLS_PORT="$(free_port)"
  openssl s_server -accept "127.0.0.1:$TLS_PORT" -cert "$T/tls.crt" -key "$T/tls.key" -tls1_2 -cipher "$1" -www \
    </dev/null >>"$T/s_server.log" 2>&1 &
  TLS_PID=$!
  track_pid "$TLS_PID"
  wait_for_port "$TLS_PORT" 10 || die "openssl s_server did not start: $(tail -5 "$T/s_server.log")"
}
resolve() {  # REF [FLAGS...]: stdout and stderr together in $OUT
  run_capture "$bin" resolve "$@" --ca-file "$T/ca.pem" --timeout 5s
  OUT="$OUT$ERR"
}

# ---- CBC-SHA1, static RSA only ----
s_server AES128-SHA
legacy="127.0.0.1:$TLS_PORT"
# The peer really offers that suite (and nothing else): openssl's own client gets it.
assert_contains "s_server negotiates AES128-SHA with a client that offers it" \
  "$(echo | openssl s_client -connect "$legacy" -tls1_2 -cipher AES128-SHA -CAfile "$T/ca.pem" 2>&1)" "Cipher is AES128-SHA"
resolve "$legacy/app:v1"
assert_rc "resolve against a CBC/static-RSA-only registry: exit 2" 2
assert_contains "... the handshake failed" "$OUT" "TLS handshake with $legacy"
assert_contains "... no shared cipher (the peer's alert)" "$OUT" "handshake failure"
assert_contains "... and the way out is named" "$OUT" "registry.legacyTLSRegistries"
resolve "$legacy/app:v1" --legacy-tls-registry "$legacy"
assert_not_contains "with --legacy-tls-registry: the handshake passes" "$OUT" "TLS handshake"
assert_contains "... and the HTTP that follows is s_server's, not a registry's" "$OUT" "$legacy"
resolve "$legacy/app:v1" --legacy-tls-registry "127.0.0.1:1"
assert_contains "the opt-out is per host:port: another port's entry does not apply" "$OUT" "TLS handshake with $legacy"

# ---- imagegate serve, the config file key ----
cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: registry-tls-test}
spec:
  mode: enforce
  failurePolicy: closed
  noMatch: deny
  rules:
    - name: pinned
      match: {images: ["127.0.0.1:*/**"]}
      pinDigest: true
YML
serve_with() {  # CONFIG_YAML: serve with that config file; the answer for $legacy/app:v1 in $OUT
  printf '%s\n' "$1" >"$T/config.yaml"
  start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --config "$T/config.yaml" --policy "$T/policy.yaml" \
    --listen 127.0.0.1:0 --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
  pod_review "$legacy/app:v1" >"$T/review.json"
  send_review "$SERVER_PORT" "$T/ca.pem" "$T/review.json"
  stop_pid "$SERVER_PID"
}
serve_with "registry: {caFiles: [$T/ca.pem]}"
assert_eq "serve: legacy-only registry: denied" "false" "$(review_allowed)"
grep -q "TLS handshake with $legacy" "$T/decisions.log" && pass "serve: the decision log names the handshake failure" ||
  fail "serve: the decision log names the handshake failure" "$(tail -2 "$T/decisions.log")"
serve_with "registry: {caFiles: [$T/ca.pem], legacyTLSRegistries: [\"$legacy\"]}"
tail -1 "$T/decisions.log" | grep -q "TLS handshake" && fail "serve: legacyTLSRegistries: the handshake passes" ||
  pass "serve: legacyTLSRegistries: the handshake passes"
stop_pid "$TLS_PID"

# ---- ECDHE + AEAD: accepted ----
s_server ECDHE-RSA-AES128-GCM-SHA256
resolve "127.0.0.1:$TLS_PORT/app:v1"
assert_not_contains "ECDHE-RSA-AES128-GCM-SHA256 under TLS 1.2: the handshake passes" "$OUT" "TLS handshake"
stop_pid "$TLS_PID"

# ---- the real registry ----
rp="$(free_port)"
REGISTRY_CA_DIR="$T" start_registry registry "$rp"
REGISTRY_CA_DIR="$T" push_image seed-tls "127.0.0.1:$rp/team/app:v1"
resolve "127.0.0.1:$rp/team/app:v1" -o json
assert_rc "docker-registry (Go TLS defaults): resolves" 0
assert_eq "... the digest skopeo sees" "$(REGISTRY_CA_DIR="$T" raw_digest "127.0.0.1:$rp/team/app:v1")" \
  "$(json_get "$OUT" 'd["digest"]')"

finish

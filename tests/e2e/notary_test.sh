#!/usr/bin/env bash
# Notary v1 (Docker Content Trust) end to end, with the real notary: notary-server twice on 127.0.0.1 with
# TLS from a test CA and memory storage -- once with its built-in signer (ed25519 timestamp key) and once
# backed by notary-signer over mutual TLS (ECDSA timestamp key) -- trust data published with the real
# `notary` CLI (init, addhash, publish, delegation add, key rotate), images pushed with skopeo to Debian's
# docker-registry, and `imagegate verify REF --notary-server URL --notary-root ROOT.pem [--notary-signer ROLE]`
# judging them: signed tag -> 0; unsigned tag, wrong digest, wrong pinned root, missing required
# delegation, no trust data -> 1 with a message saying exactly that; notary-server stopped -> 2.
# Faults that need altered metadata (tampered signature, expired timestamp, rollback, snapshot hash) are
# unit tests in tests/verifier/signature/notary_v1/tuf_test.cc.
source "$(dirname "$0")/lib.sh"
require_cmd notary notary-server notary-signer docker-registry skopeo openssl python3 curl
bin="${IMAGEGATE_BINARY:?}"
make_temp_dir
T="$E2E_TMP"

# ---- test CA; one certificate for the servers (notary-server, notary-signer, registry): lib.sh ----
make_ca
make_server_cert "$T" tls

# ---- registry ----
reg_port="$(free_port)"
start_registry registry "$reg_port"
REG="127.0.0.1:$reg_port"

# push REPO:TAG SEED: builds an OCI layout (make_layout.py) and pushes it; sets DIGEST (hex) and SIZE of the
# manifest as the registry serves it.
push() {
  push_image "$2" "$REG/$1"
  skopeo inspect --raw --cert-dir "$T/certs.d" "docker://$REG/$1" >"$T/manifest.raw" || die "skopeo inspect $1"
  DIGEST="$(sha256sum "$T/manifest.raw" | cut -d' ' -f1)"
  SIZE="$(stat -c %s "$T/manifest.raw")"
}

# ---- notary-server A: built-in signer (ed25519 timestamp key) ----
start_notary_server() {  # NAME PORT TRUST_SERVICE_JSON
  cat >"$T/$1.json" <<JSON
{"server": {"http_addr": "127.0.0.1:$2", "tls_key_file": "$T/tls.key", "tls_cert_file": "$T/tls.crt"},
 "trust_service": $3,
 "storage": {"backend": "memory"},
 "logging": {"level": "warning"}}
JSON
  notary-server -config "$T/$1.json" >"$T/$1.log" 2>&1 &
  NOTARY_PID=$!
  track_pid "$NOTARY_PID"
  wait_for_port "$2" 15 || die "notary-server $1 did not start: $(tail -5 "$T/$1.log")"
}
port_a="$(free_port)"
start_notary_server server-a "$port_a" '{"type": "local"}'
pid_a="$NOTARY_PID"
URL_A="https://127.0.0.1:$port_a"

# ---- notary-signer + notary-server B (ECDSA keys from the signer, mutual TLS between them) ----
signer_port="$(free_port)"
cat >"$T/signer.json" <<JSON
{"server": {"grpc_addr": "127.0.0.1:$signer_port", "tls_cert_file": "$T/tls.crt", "tls_key_file": "$T/tls.key",
            "client_ca_file": "$T/ca.pem"},
 "storage": {"backend": "memory"},
 "logging": {"level": "warning"}}
JSON
NOTARY_SIGNER_DEFAULT_ALIAS=test notary-signer -config "$T/signer.json" >"$T/signer.log" 2>&1 &
track_pid $!
wait_for_port "$signer_port" 15 || die "notary-signer did not start: $(tail -5 "$T/signer.log")"
port_b="$(free_port)"
start_notary_server server-b "$port_b" "{\"type\": \"remote\", \"hostname\": \"127.0.0.1\", \"port\": \"$signer_port\",
  \"key_algorithm\": \"ecdsa\", \"tls_ca_file\": \"$T/ca.pem\", \"tls_client_cert\": \"$T/tls.crt\", \"tls_client_key\": \"$T/tls.key\"}"
URL_B="https://127.0.0.1:$port_b"

# ---- the notary CLI ----
export NOTARY_ROOT_PASSPHRASE=root-pass NOTARY_TARGETS_PASSPHRASE=targets-pass NOTARY_SNAPSHOT_PASSPHRASE=snapshot-pass \
  NOTARY_DELEGATION_PASSPHRASE=delegation-pass
nt() {  # URL ARGS...: the notary CLI against one server, its own trust directory per server
  local url="$1"
  shift
  notary -s "$url" -d "$T/trust-${url##*:}" --tlscacert "$T/ca.pem" "$@" >>"$T/notary-cli.log" 2>&1 ||
    die "notary $*: $(tail -5 "$T/notary-cli.log")"
}
# root_pem URL GUN OUT: the root certificate of GUN's published root.json (what a user pins).
root_pem() {
  curl -sf --cacert "$T/ca.pem" "$1/v2/$2/_trust/tuf/root.json" | python3 -c '
import base64, json, sys
s = json.load(sys.stdin)["signed"]
print(base64.b64decode(s["keys"][s["roles"]["root"]["keyids"][0]]["keyval"]["public"]).decode(), end="")' >"$3" ||
    die "root certificate of $2"
}
verify() {  # REF URL ROOT_PEM [ARGS...]
  local ref="$1" url="$2" root="$3"
  shift 3
  run_capture "$bin" verify "$ref" --notary-server "$url" --notary-root "$root" --ca-file "$T/ca.pem" --timeout 5s "$@"
}

# ---- server A: signed, unsigned, wrong digest, wrong root, no trust data ----
GUN="$REG/app"
push app:v1 1
d1="$DIGEST" s1="$SIZE"
push app:v2 2  # pushed, never signed
d2="$DIGEST"
push app:v3 3  # signed below with v1's digest: the registry's v3 is not what was signed
nt "$URL_A" init "$GUN"
nt "$URL_A" addhash "$GUN" v1 "$s1" --sha256 "$d1"
nt "$URL_A" addhash "$GUN" v3 "$s1" --sha256 "$d1"
nt "$URL_A" publish "$GUN"
root_pem "$URL_A" "$GUN" "$T/root-a.pem"

ts_method="$(curl -sf --cacert "$T/ca.pem" "$URL_A/v2/$GUN/_trust/tuf/timestamp.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["signatures"][0]["method"])')"
assert_eq "server A signs the timestamp with its built-in ed25519 key" "eddsa" "$ts_method"

verify "$GUN:v1" "$URL_A" "$T/root-a.pem"
assert_rc "signed tag verifies (ed25519 timestamp)" 0
assert_contains "the signer is named" "$OUT$ERR" "targets"

verify "$GUN:v2" "$URL_A" "$T/root-a.pem"
assert_rc "unsigned tag is refused" 1
assert_contains "unsigned tag: the reason" "$OUT$ERR" "tag v2 is not signed in the trust data of $GUN"

verify "$GUN:v3" "$URL_A" "$T/root-a.pem"
assert_rc "tag signed for another digest is refused" 1
assert_contains "wrong digest: the reason" "$OUT$ERR" "signed digest is sha256:$d1, not sha256:"

openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl ec -pubout -out "$T/other-root.pem" 2>/dev/null
verify "$GUN:v1" "$URL_A" "$T/other-root.pem"
assert_rc "a root not signed by the pinned key is refused" 1
assert_contains "wrong root: the reason" "$OUT$ERR" "root is not signed by a pinned key"
other_fp="key sha256:$(openssl pkey -pubin -in "$T/other-root.pem" -outform DER | sha256sum | cut -c1-16)"
assert_contains "wrong root: the pinned key, by its SPKI fingerprint" "$OUT$ERR" "pinned: $other_fp"
assert_contains "wrong root: who signed the published root" "$OUT$ERR" "the server's root version 1 is signed by key sha256:"

push other:v1 4
verify "$REG/other:v1" "$URL_A" "$T/root-a.pem"
assert_rc "a repository without trust data is refused" 1
assert_contains "no trust data: the reason" "$OUT$ERR" "no trust data for $REG/other"

run_capture "$bin" verify "$GUN:v1" --notary-server "$URL_A" --notary-root "$T/root-a.pem" --timeout 5s
assert_rc "without the test CA the notary-server's certificate is not trusted" 2

# ---- delegations: targets/releases signs v1 ----
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$T/releases.key"
openssl req -new -x509 -key "$T/releases.key" -out "$T/releases.crt" -days 2 -subj "/CN=releases" >/dev/null 2>&1
nt "$URL_A" key import "$T/releases.key" --role user
nt "$URL_A" delegation add "$GUN" targets/releases "$T/releases.crt" --all-paths
nt "$URL_A" addhash "$GUN" v1 "$s1" --sha256 "$d1" --roles targets/releases
nt "$URL_A" publish "$GUN"

verify "$GUN:v1" "$URL_A" "$T/root-a.pem" --notary-signer targets/releases
assert_rc "required delegation that signed the tag verifies" 0
assert_contains "the delegation is the signer" "$OUT$ERR" "targets/releases"

verify "$GUN:v3" "$URL_A" "$T/root-a.pem" --notary-signer targets/releases
assert_rc "a tag the required delegation did not sign is refused" 1
assert_contains "delegation did not sign: the reason" "$OUT$ERR" "required delegation targets/releases did not sign tag v3"

verify "$GUN:v1" "$URL_A" "$T/root-a.pem" --notary-signer targets/qa
assert_rc "a required delegation that does not exist is refused" 1
assert_contains "missing delegation: the reason" "$OUT$ERR" "required delegation targets/qa did not sign tag v1"

# ---- root key rotation: the old pinned root still leads to the new root (signed by old and new) ----
echo yes | nt "$URL_A" key rotate "$GUN" root  # asks for confirmation; publishes root v2 signed by old and new keys
root_version="$(curl -sf --cacert "$T/ca.pem" "$URL_A/v2/$GUN/_trust/tuf/root.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["signed"]["version"])')"
assert_eq "the rotated root is version 2" "2" "$root_version"
verify "$GUN:v1" "$URL_A" "$T/root-a.pem"
assert_rc "after root rotation the previously pinned root still verifies the tag" 0
root_pem "$URL_A" "$GUN" "$T/root-a2.pem"
verify "$GUN:v1" "$URL_A" "$T/root-a2.pem"
assert_rc "the new root certificate verifies too" 0
# A wrong pin against a rotated root: the walk from version 1 finds no pinned key either; the answer says so
# (the pin), not how the walk ended.
verify "$GUN:v1" "$URL_A" "$T/other-root.pem"
assert_rc "after root rotation a wrong pinned root is still refused" 1
assert_contains "... naming the pinned key and the published root version" "$OUT$ERR" \
  "root is not signed by a pinned key: the server's root version 2 is signed by"
assert_contains "... by fingerprint" "$OUT$ERR" "pinned: $other_fp"
assert_not_contains "... not the walk's fetch" "$OUT$ERR" "fetching 1.root.json"

# A server that publishes only the latest root (a mirror or pruned store: notary-server itself keeps every
# version, so this is a STAND-IN, a static HTTPS copy of server A's current trust data without <N>.root.json).
M="$T/mirror/v2/$GUN/_trust/tuf"
mkdir -p "$M/targets"
for f in root timestamp snapshot targets targets/releases; do
  curl -sf --cacert "$T/ca.pem" "$URL_A/v2/$GUN/_trust/tuf/$f.json" -o "$M/$f.json" || die "copying $f.json"
done
mirror_port="$(free_port)"
python3 - "$T/mirror" "$mirror_port" "$T/tls.crt" "$T/tls.key" >"$T/mirror.log" 2>&1 <<'PY' &
import functools, http.server, ssl, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
PY
mirror_pid=$!
track_pid "$mirror_pid"
wait_for_port "$mirror_port" 10 || die "the mirror did not start: $(cat "$T/mirror.log")"
verify "$GUN:v1" "https://127.0.0.1:$mirror_port" "$T/root-a2.pem"
assert_rc "mirror with only the latest root: pinning that root verifies (control)" 0
verify "$GUN:v1" "https://127.0.0.1:$mirror_port" "$T/root-a.pem"
assert_rc "mirror without 1.root.json: the old pin cannot be walked to the new root, refused" 1
root_a_fp="key sha256:$(openssl x509 -in "$T/root-a.pem" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-16)"
assert_contains "... saying the pinned key did not sign the published root" "$OUT$ERR" \
  "root is not signed by a pinned key: the server's root version 2 is signed by"
assert_contains "... naming the pinned key" "$OUT$ERR" "pinned: $root_a_fp"
assert_contains "... and that no older root was published to rotate from" "$OUT$ERR" \
  "the server publishes no 1.root.json to rotate from a pinned key"
assert_not_contains "... not as a failed fetch" "$OUT$ERR" "fetching 1.root.json"
stop_pid "$mirror_pid"

# ---- server B: timestamp and snapshot keys from notary-signer (ECDSA) ----
GUN_B="$REG/app-b"
push app-b:v1 5
nt "$URL_B" init "$GUN_B"
nt "$URL_B" addhash "$GUN_B" v1 "$SIZE" --sha256 "$DIGEST"
nt "$URL_B" publish "$GUN_B"
root_pem "$URL_B" "$GUN_B" "$T/root-b.pem"
ts_method="$(curl -sf --cacert "$T/ca.pem" "$URL_B/v2/$GUN_B/_trust/tuf/timestamp.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["signatures"][0]["method"])')"
assert_eq "server B signs the timestamp with an ECDSA key from notary-signer" "ecdsa" "$ts_method"
verify "$GUN_B:v1" "$URL_B" "$T/root-b.pem"
assert_rc "signed tag verifies (ECDSA timestamp from notary-signer)" 0
verify "$GUN_B:v1" "$URL_B" "$T/root-a.pem"
assert_rc "server B's repository with server A's root is refused" 1

# ---- reviews through `imagegate serve`: a Notary v1 anchor alone, with a required delegation, and in one
# m-of-n rule with a cosign key (the migration policy of docs/policy.md) ----
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl ec -pubout -out "$T/cosign.pub" 2>/dev/null
cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: notary-e2e}
spec:
  noMatch: deny
  trustAnchors:
    - name: dct
      notaryV1: {server: "$URL_A", rootKeyFiles: ["$T/root-a.pem"], caFile: "$T/ca.pem"}
    - name: dct-releases
      notaryV1: {server: "$URL_A", rootKeyFiles: ["$T/root-a.pem"], caFile: "$T/ca.pem", delegations: [targets/releases]}
    - name: release-key
      cosign: {keyFile: "$T/cosign.pub"}
  rules:
    - name: dct
      match: {images: ["$GUN"]}
      signatures: {anchors: [dct]}
    - name: releases
      match: {images: ["$GUN"], namespaces: [releases]}
      signatures: {anchors: [dct-releases]}
    - name: either
      match: {images: ["$REG/other"]}
      signatures: {anchors: [dct, release-key], threshold: 1}
YML
run_capture "$bin" policy lint "$T/policy.yaml"
assert_rc "the serve policy lints" 0
start_imagegate "$bin" "$T/decisions.log" "$T/serve.log" --policy "$T/policy.yaml" --listen "127.0.0.1:$(free_port)" \
  --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --ca-file "$T/ca.pem"
review() {  # IMAGE [NAMESPACE]: a Pod CREATE review, the answer in $OUT
  pod_review "$1" n1 "${2:-default}" >"$T/review.json"
  send_review "$SERVER_PORT" "$T/ca.pem" "$T/review.json"
}

# imagegate_trust_material_expiry_seconds{kind="tuf_metadata"}: none before a review verified trust data;
# after one, the earliest `expires` of the TUF metadata verified (root, snapshot, targets and, when loaded,
# the delegation), not timestamp.json's (14 days, re-signed by the server) nor the pinned certificate's.
tuf_expiry() {  # ANCHOR: the series' value, "" when absent
  curl -sS --cacert "$T/ca.pem" "https://127.0.0.1:$SERVER_PORT/metrics" |
    sed -nE "s/^imagegate_trust_material_expiry_seconds\{anchor=\"$1\",kind=\"tuf_metadata\"\} ([0-9]+)$/\1/p"
}
assert_eq "serve: no tuf_metadata series before a verified review" "" "$(tuf_expiry dct)"
review "$GUN:v1"
assert_eq "serve: Notary-signed tag allowed" "true" "$(review_allowed)"
read -r tuf_low tuf_high ts_expires < <(python3 - "$URL_A/v2/$GUN/_trust/tuf" "$T/ca.pem" <<'PY'
import calendar, json, ssl, sys, time, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
def expires(role):
    s = json.load(urllib.request.urlopen(f"{sys.argv[1]}/{role}.json", context=ctx))["signed"]["expires"]
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))
owners = [expires(r) for r in ("root", "snapshot", "targets")]
print(min(owners + [expires("targets/releases")]), min(owners), expires("timestamp"))
PY
)
tuf_now="$(tuf_expiry dct)"
assert_match "serve: the dct anchor's tuf_metadata series after a verified review" "$tuf_now" '^[0-9]+$'
[ -n "$tuf_now" ] && [ "$tuf_now" -ge "$tuf_low" ] && [ "$tuf_now" -le "$tuf_high" ] &&
  pass "serve: tuf_metadata is the TUF metadata's earliest expiry ($tuf_now in [$tuf_low, $tuf_high])" ||
  fail "serve: tuf_metadata $tuf_now not in [$tuf_low, $tuf_high]"
[ -n "$tuf_now" ] && [ "$tuf_now" -gt "$ts_expires" ] && pass "serve: timestamp.json's expiry ($ts_expires) is left out" ||
  fail "serve: tuf_metadata $tuf_now is not past timestamp.json's expiry $ts_expires"
review "$GUN:v2"
assert_eq "serve: unsigned tag denied" "false" "$(review_allowed)"
assert_contains "serve: unsigned tag: the anchor and the reason" "$(review_message)" "tag v2 is not signed"
review "$GUN:v3"
assert_eq "serve: tag signed for another digest denied" "false" "$(review_allowed)"
assert_contains "serve: wrong digest: the reason" "$(review_message)" "signed digest is sha256:$d1"
review "$GUN:v1" releases
assert_eq "serve: tag signed by the required delegation allowed" "true" "$(review_allowed)"
review "$GUN:v3" releases
assert_eq "serve: tag the required delegation did not sign denied" "false" "$(review_allowed)"
assert_contains "serve: missing delegation: the reason" "$(review_message)" "required delegation targets/releases did not sign tag v3"
review "$REG/other:v1"
assert_eq "serve: 1 of [notary, cosign] with neither: denied" "false" "$(review_allowed)"
assert_contains "serve: m-of-n names both anchors" "$(review_message)" "release-key"
assert_contains "serve: m-of-n: the Notary reason" "$(review_message)" "no trust data for $REG/other"
stop_pid "$SERVER_PID"

# ---- notary-server down: undecided ----
stop_pid "$pid_a"
verify "$GUN:v2" "$URL_A" "$T/root-a.pem"
assert_rc "notary-server stopped -> error exit" 2

finish

# Shared helpers for the end-to-end scripts in tests/e2e/*_test.sh. Source it:
#   source "$(dirname "$0")/lib.sh"
# Then call the assert_* functions (each counts one check), and end the script with `finish`, which prints
# "N passed, N failed" and exits 1 when any check failed. Nothing here is specific to one test.
#
# Environment the test runner sets (tests/CMakeLists.txt): IMAGEGATE_BINARY, IMAGEGATE_SOURCE_DIR,
# IMAGEGATE_CONFORMANCE_DIR, IMAGEGATE_BUILD_DIR. Scripts stop what they start by PID (see track_pid).

set -uo pipefail

E2E_PASSED=0
E2E_FAILED=0
E2E_PIDS=()
# This file's directory (tests/e2e), for the helpers beside it (registry/make_layout.py).
E2E_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# log MESSAGE...: prints a progress line to stderr, prefixed with the script name.
log() { echo "[$(basename "$0")] $*" >&2; }

# pass NAME: records a passed check.
pass() {
  E2E_PASSED=$((E2E_PASSED + 1))
  echo "ok   - $1"
}

# fail NAME [DETAIL...]: records a failed check and prints why.
fail() {
  local name="$1"
  shift
  E2E_FAILED=$((E2E_FAILED + 1))
  echo "FAIL - $name"
  [ $# -gt 0 ] && printf '       %s\n' "$@"
  return 0
}

# die MESSAGE: the script cannot continue (missing tool, setup failed): prints and exits 2.
die() {
  echo "[$(basename "$0")] fatal: $*" >&2
  exit 2
}

# run_capture CMD ARGS...: runs a command, leaving its stdout in $OUT, stderr in $ERR and exit code in $RC.
# Never aborts the script.
run_capture() {
  local out_file err_file
  out_file="$(mktemp "${E2E_TMP:-/tmp}/out.XXXXXX")"
  err_file="$(mktemp "${E2E_TMP:-/tmp}/err.XXXXXX")"
  "$@" >"$out_file" 2>"$err_file"
  RC=$?
  OUT="$(cat "$out_file")"
  ERR="$(cat "$err_file")"
  rm -f "$out_file" "$err_file"
  return 0
}

# assert_eq NAME EXPECTED ACTUAL: passes when the two strings are equal.
assert_eq() {
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "expected: $2" "actual:   $3"; fi
}

# assert_rc NAME EXPECTED_RC: checks $RC from the last run_capture (prints its stderr on failure).
assert_rc() {
  if [ "$RC" -eq "$2" ]; then
    pass "$1"
  else
    fail "$1" "expected exit code $2, got $RC" "stdout: ${OUT:0:600}" "stderr: ${ERR:0:600}"
  fi
}

# assert_contains NAME HAYSTACK NEEDLE: passes when NEEDLE is a substring of HAYSTACK.
assert_contains() {
  if [[ "$2" == *"$3"* ]]; then pass "$1"; else fail "$1" "missing: $3" "in: ${2:0:800}"; fi
}

# assert_not_contains NAME HAYSTACK NEEDLE: passes when NEEDLE is not in HAYSTACK.
assert_not_contains() {
  if [[ "$2" != *"$3"* ]]; then pass "$1"; else fail "$1" "unexpected: $3" "in: ${2:0:800}"; fi
}

# assert_match NAME TEXT ERE: passes when TEXT matches the extended regular expression ERE (bash =~).
assert_match() {
  if [[ "$2" =~ $3 ]]; then pass "$1"; else fail "$1" "no match for: $3" "in: ${2:0:800}"; fi
}

# assert_file_exists NAME PATH
assert_file_exists() {
  if [ -e "$2" ]; then pass "$1"; else fail "$1" "missing file: $2"; fi
}

# require_cmd CMD...: exits 2 (fatal) unless every command is on PATH.
require_cmd() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || die "required command not found: $c"; done
}

# make_temp_dir: creates $E2E_TMP, a private directory removed (with tracked processes stopped) on exit.
make_temp_dir() {
  E2E_TMP="$(mktemp -d "${TMPDIR:-/tmp}/imagegate-e2e.XXXXXX")"
  trap e2e_cleanup EXIT
  export E2E_TMP
}

# track_pid PID: a process this script started; cleanup stops it (TERM, then KILL after 5 s).
track_pid() { E2E_PIDS+=("$1"); }

# stop_pid PID: stops one process this script started and waits for it.
stop_pid() {
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true  # its status is the signal's; callers under `set -e` (bench/) must go on
  return 0
}

# e2e_cleanup: the EXIT trap: stops tracked processes, removes $E2E_TMP.
e2e_cleanup() {
  local pid
  for pid in "${E2E_PIDS[@]+"${E2E_PIDS[@]}"}"; do stop_pid "$pid"; done
  [ -n "${E2E_TMP:-}" ] && rm -rf "$E2E_TMP"
  return 0
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on right now (asks the kernel for one).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_port PORT [SECONDS]: waits until something accepts TCP connections on 127.0.0.1:PORT
# (default 10 s); returns 1 on timeout.
wait_for_port() {
  local port="$1" seconds="${2:-10}" i
  for i in $(seq 1 $((seconds * 10))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# ---- test PKI, registry, Redis, images (shared set-up of the registry, signature and Redis tests) ----

# make_ca [DIR]: a test CA in DIR (default $E2E_TMP): DIR/ca.pem, DIR/ca.key, and DIR/certs.d/ca.crt (a copy,
# the cert directory skopeo's --cert-dir/--dest-cert-dir options want). Its name ends in DIR's base name, so
# two CAs of one test never share a subject.
make_ca() {
  local dir="${1:-$E2E_TMP}"
  mkdir -p "$dir/certs.d"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 2 \
    -subj "/CN=imagegate test CA $(basename "$dir")" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1 || die "openssl: test CA in $dir"
  cp "$dir/ca.pem" "$dir/certs.d/ca.crt"
}

# make_self_signed_cert DIR: DIR/tls.crt and DIR/tls.key, a self-signed P-256 certificate for localhost and
# 127.0.0.1 (a server's own certificate when no test CA is needed; clients trust DIR/tls.crt).
make_self_signed_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$1/tls.key" -out "$1/tls.crt" >/dev/null 2>&1 ||
    die "openssl failed"
}

# write_scan_policy FILE NAME: an ImagePolicy NAME at FILE that allows images no rule matches and admits
# registry.example.com/** only with a scan verdict of at most HIGH (none: denied; failures: closed).
write_scan_policy() {
  cat >"$1" <<EOF
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: $2}
spec:
  noMatch: allow
  failurePolicy: closed
  rules:
    - name: scanned
      match: {images: ["registry.example.com/**"]}
      vulnerabilities: {maxSeverity: HIGH, onMissing: deny}
EOF
}

# make_server_cert DIR NAME: DIR/NAME.crt and DIR/NAME.key, a server (and client) certificate for 127.0.0.1 and
# localhost signed by the CA in DIR (make_ca DIR first).
make_server_cert() {
  local dir="$1" name="$2"
  [ -f "$dir/ca.pem" ] || die "make_server_cert: no CA in $dir (call make_ca first)"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n' \
    >"$dir/$name.ext"
  openssl req -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=127.0.0.1" \
    >/dev/null 2>&1 || die "openssl: key for $name"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/$name.crt" -days 2 -extfile "$dir/$name.ext" >/dev/null 2>&1 || die "openssl: certificate for $name"
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}

# start_registry NAME PORT [AUTH_YAML]: Debian's docker-registry on 127.0.0.1:PORT with TLS (DIR/tls.crt from
# the test CA in DIR = $REGISTRY_CA_DIR or $E2E_TMP; both made when missing), storage $E2E_TMP/NAME-data
# (deletes enabled), config $E2E_TMP/NAME.yml, log and access log appended to $E2E_TMP/NAME.log, log level
# $REGISTRY_LOG_LEVEL (default error). AUTH_YAML is appended at the top level (e.g. an `auth:` block).
# REGISTRY_PLAIN=1 serves plain HTTP instead. Tracked; waits for the port; sets REGISTRY_PID; dies with the
# log's tail when it does not start. Calling it again with the same NAME restarts on the same data.
start_registry() {
  local name="$1" port="$2" auth="${3:-}" dir="${REGISTRY_CA_DIR:-$E2E_TMP}" tls=""
  if [ "${REGISTRY_PLAIN:-0}" != 1 ]; then
    [ -f "$dir/ca.pem" ] || make_ca "$dir"
    [ -f "$dir/tls.crt" ] || make_server_cert "$dir" tls
    tls="  tls: {certificate: $dir/tls.crt, key: $dir/tls.key}"
  fi
  mkdir -p "$E2E_TMP/$name-data"
  cat >"$E2E_TMP/$name.yml" <<YML
version: 0.1
log: {level: ${REGISTRY_LOG_LEVEL:-error}, formatter: text}
storage: {filesystem: {rootdirectory: $E2E_TMP/$name-data}, delete: {enabled: true}}
http:
  addr: 127.0.0.1:$port
$tls
$auth
YML
  docker-registry serve "$E2E_TMP/$name.yml" >>"$E2E_TMP/$name.log" 2>&1 &
  REGISTRY_PID=$!
  track_pid "$REGISTRY_PID"
  wait_for_port "$port" 15 || die "docker-registry $name did not start: $(tail -5 "$E2E_TMP/$name.log")"
}

# start_fault_server [LOG]: the project's scripted fake registry (registry/fault_server.py: faults and memory
# bombs a real registry cannot serve; its docstring lists the repositories) on https://127.0.0.1:PORT, with a
# self-signed certificate for 127.0.0.1 in $E2E_TMP/cert.pem (key.pem; made by the first call, shared by
# the servers of later calls: other origins, or a fault's own server); each request appends
# "METHOD PATH AUTH" to LOG (default $E2E_TMP/requests.log; emptied here). Tracked; waits for the port;
# sets FAULT_PORT and FAULT_REGISTRY (127.0.0.1:PORT); dies with its log when it does not start.
start_fault_server() {
  local log="${1:-$E2E_TMP/requests.log}"
  if [ ! -f "$E2E_TMP/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$E2E_TMP/key.pem" -out "$E2E_TMP/cert.pem" -days 2 \
      -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1 || die "openssl"
  fi
  FAULT_PORT="$(free_port)"
  : >"$log"
  python3 "$E2E_LIB_DIR/registry/fault_server.py" "$FAULT_PORT" "$E2E_TMP/cert.pem" "$E2E_TMP/key.pem" \
    "$log" >>"$E2E_TMP/fault.log" 2>&1 &
  track_pid $!
  wait_for_port "$FAULT_PORT" 20 || die "fault server did not start: $(tail -5 "$E2E_TMP/fault.log")"
  FAULT_REGISTRY="127.0.0.1:$FAULT_PORT"
}

# start_token_issuer PORT USER PASSWORD [REFRESH_TOKEN]: the Docker token issuer (tests/e2e/registry/
# token_issuer.py, the registry tests' only fake) on https://127.0.0.1:PORT/token, with the TLS certificate
# DIR/tls.crt (DIR = $REGISTRY_CA_DIR or $E2E_TMP; made when missing), signing with $E2E_TMP/jwt.key (made
# when missing), issuer "imagegate-test-issuer", service "test-registry"; each request appends a line to
# $E2E_TMP/token-requests.log (emptied here). Tracked; waits for the port; sets TOKEN_ISSUER_PID and
# TOKEN_AUTH_YAML, the `auth:` block to give start_registry.
start_token_issuer() {
  local port="$1" user="$2" password="$3" refresh="${4:-}" dir="${REGISTRY_CA_DIR:-$E2E_TMP}"
  [ -f "$dir/ca.pem" ] || make_ca "$dir"
  [ -f "$dir/tls.crt" ] || make_server_cert "$dir" tls
  if [ ! -f "$E2E_TMP/jwt.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$E2E_TMP/jwt.key" -out "$E2E_TMP/jwt.pem" -days 2 \
      -subj "/CN=token signer" >/dev/null 2>&1 || die "openssl: token signer"
  fi
  : >"$E2E_TMP/token-requests.log"
  python3 "$E2E_LIB_DIR/registry/token_issuer.py" "$port" "$E2E_TMP/jwt.key" "$E2E_TMP/jwt.pem" \
    imagegate-test-issuer test-registry "$user" "$password" "$E2E_TMP/token-requests.log" "$dir/tls.crt" \
    "$dir/tls.key" $refresh >>"$E2E_TMP/token.log" 2>&1 &
  TOKEN_ISSUER_PID=$!
  track_pid "$TOKEN_ISSUER_PID"
  wait_for_port "$port" 10 || die "token issuer did not start: $(tail -5 "$E2E_TMP/token.log")"
  TOKEN_AUTH_YAML="auth: {token: {realm: 'https://127.0.0.1:$port/token', service: test-registry, \
issuer: imagegate-test-issuer, rootcertbundle: $E2E_TMP/jwt.pem}}"
}

# start_redis PORT: redis-server on 127.0.0.1:PORT without persistence, log appended to $E2E_TMP/redis.log.
# Tracked; waits for the port; sets REDIS_PID; dies when it does not start.
start_redis() {
  local port="$1"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$E2E_TMP" \
    >>"$E2E_TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  track_pid "$REDIS_PID"
  wait_for_port "$port" 10 || die "redis-server did not start on $port: $(tail -5 "$E2E_TMP/redis.log")"
}

# push_image SEED REF [SKOPEO_COPY_ARGS...]: an OCI layout with content from SEED (tests/e2e/registry/
# make_layout.py; $PUSH_LAYOUT_ARGS, e.g. --multi, passed to it) copied, all platforms, to docker://REF,
# trusting the test CA's cert directory (DIR/certs.d, DIR = $REGISTRY_CA_DIR or $E2E_TMP). Extra arguments
# go to `skopeo copy` (e.g. --dest-creds u:p, --dest-tls-verify=false). Dies with skopeo's output on failure.
push_image() {
  local seed="$1" ref="$2" dir="${REGISTRY_CA_DIR:-$E2E_TMP}"
  shift 2
  rm -rf "$E2E_TMP/layout"
  # shellcheck disable=SC2086  # PUSH_LAYOUT_ARGS is a list of flags
  python3 "$E2E_LIB_DIR/registry/make_layout.py" "$E2E_TMP/layout" t "$seed" \
    ${PUSH_LAYOUT_ARGS:-} >/dev/null || die "make_layout $seed"
  skopeo copy --quiet --all --dest-cert-dir "$dir/certs.d" "$@" "oci:$E2E_TMP/layout:t" "docker://$ref" \
    >"$E2E_TMP/skopeo.log" 2>&1 || die "skopeo copy to $ref: $(cat "$E2E_TMP/skopeo.log")"
}

# cosign_image REGISTRY REPO:TAG SEED KEY [CREDS]: pushes a new image (push_image SEED) and attaches one
# cosign `.sig` signature: a simple-signing payload for its digest signed with the EC private key KEY
# (openssl), written by skopeo's attachment code (registries.d use-sigstore-attachments); trusts the test
# CA ($E2E_TMP/ca.pem, certs.d); CREDS (user:password) for a registry with auth. Sets COSIGN_DIGEST.
cosign_image() {
  local reg="$1" ref="$2" seed="$3" key="$4" dest=() src=() T="$E2E_TMP"
  [ -n "${5:-}" ] && { dest=(--dest-creds "$5"); src=(--src-creds "$5"); }
  mkdir -p "$T/registries.d" "$T/none.d"
  printf 'default-docker:\n  use-sigstore-attachments: true\n' >"$T/registries.d/default.yaml"
  SSL_CERT_FILE="$T/ca.pem" push_image "$seed" "$reg/$ref" "${dest[@]}"
  rm -rf "$T/dir"
  SSL_CERT_FILE="$T/ca.pem" skopeo --registries.d "$T/none.d" copy --quiet --src-cert-dir "$T/certs.d" "${src[@]}" \
    "docker://$reg/$ref" "dir:$T/dir"
  COSIGN_DIGEST="sha256:$(sha256sum "$T/dir/manifest.json" | sed 's/ .*//')"
  printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
    "$reg/${ref%%:*}" "$COSIGN_DIGEST" >"$T/payload.json"
  openssl dgst -sha256 -sign "$key" -out "$T/payload.sig" "$T/payload.json"
  python3 "$E2E_LIB_DIR/signatures/attach.py" "$T/dir" "$T/payload.json" "$T/payload.sig"
  SSL_CERT_FILE="$T/ca.pem" skopeo --registries.d "$T/registries.d" copy --quiet --dest-cert-dir "$T/certs.d" \
    "${dest[@]}" "dir:$T/dir" "docker://$reg/$ref"
}

# raw_digest REF [SKOPEO_INSPECT_ARGS...]: "sha256:<hex>" of the raw manifest `skopeo inspect --raw` reads
# from docker://REF, trusting the test CA's cert directory (as push_image); e.g. raw_digest REF --creds u:p.
raw_digest() {
  local ref="$1" dir="${REGISTRY_CA_DIR:-$E2E_TMP}"
  shift
  skopeo inspect --raw --cert-dir "$dir/certs.d" "$@" "docker://$ref" | sha256sum | sed 's/ .*//; s/^/sha256:/'
}

# save_manifest REGISTRY REPO:TAG FILE: the OCI manifest bytes a plain-HTTP registry serves for REPO:TAG, into
# FILE (what a signer signs); prints their digest "sha256:<hex>".
save_manifest() {
  curl -sS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$1/v2/${2%%:*}/manifests/${2#*:}" >"$3"
  echo "sha256:$(sha256sum "$3" | sed 's/ .*//')"
}

# start_imagegate BINARY STDOUT_FILE STDERR_FILE SERVE_ARGS...: starts `BINARY serve SERVE_ARGS` in the
# background (tracked), waits for its JSON "listening" line on stderr and sets SERVER_PID and SERVER_PORT
# (the port actually bound, so `--listen 127.0.0.1:0` works); dies with the server's stderr otherwise.
start_imagegate() {
  local bin="$1" out="$2" err="$3"
  shift 3
  : >"$err"  # emptied here: the background child may open it after our first look
  "$bin" serve "$@" >"$out" 2>"$err" &
  SERVER_PID=$!
  track_pid "$SERVER_PID"
  SERVER_PORT=""
  for _ in $(seq 1 100); do
    SERVER_PORT="$(grep -m1 '"msg":"listening"' "$err" 2>/dev/null | sed -E 's/.*"port":([0-9]+).*/\1/')"
    [ -n "$SERVER_PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  die "the server did not start: $(cat "$err")"
}

# json_get JSON_TEXT PYTHON_EXPR: evaluates PYTHON_EXPR with `d` bound to the parsed JSON and prints the
# result (e.g. json_get "$OUT" 'd["summary"]["denied"]'); exits non-zero when the text is not JSON.
json_get() {
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); r=eval(sys.argv[2]); print(json.dumps(r) if isinstance(r,(dict,list,bool)) or r is None else r)' "$1" "$2"
}

# pod_review IMAGE [UID] [NAMESPACE]: prints an AdmissionReview of a Pod CREATE with one container running
# IMAGE (uid u1, namespace default unless given).
pod_review() {
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"%s","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"%s","operation":"CREATE","userInfo":{"username":"t"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"%s"}]}}}}' "${2:-u1}" "${3:-default}" "$1"
}

# pod_volume_review IMAGE VOLUME_IMAGE [UID] [NAMESPACE]: as pod_review, the Pod also mounting VOLUME_IMAGE as
# the image volume "data" (spec.volumes[1].image.reference, after an emptyDir "scratch").
pod_volume_review() {
  pod_review "$1" "${3:-u1}" "${4:-default}" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["request"]["object"]["spec"]["volumes"]=[{"name":"scratch","emptyDir":{}},{"name":"data","image":{"reference":sys.argv[1]}}]; print(json.dumps(d))' "$2"
}

# object_review FILE [UID] [OPERATION]: prints an AdmissionReview (admission.k8s.io/v1, CREATE unless given)
# of the object in FILE (JSON, e.g. kubectl's -o json): request.kind from its apiVersion and kind, the
# resource its lower-case plural (Pod -> pods), name and namespace from its metadata (namespace "default"
# when it has none).
object_review() {
  python3 - "$1" "${2:-u1}" "${3:-CREATE}" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
group, _, version = o["apiVersion"].rpartition("/")
meta = o.get("metadata") or {}
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
    "uid": sys.argv[2], "kind": {"group": group, "version": version, "kind": o["kind"]},
    "resource": {"group": group, "version": version, "resource": o["kind"].lower() + "s"},
    "name": meta.get("name", ""), "namespace": meta.get("namespace", "default"), "operation": sys.argv[3],
    "userInfo": {"username": "e2e"}, "object": o}}))
PY
}

# send_review PORT CAFILE FILE: POSTs the AdmissionReview in FILE to https://127.0.0.1:PORT/validate
# (timeout=10s), trusting CAFILE; the answer is left in $OUT (run_capture).
send_review() {
  run_capture curl -sS --cacert "$2" -H 'Content-Type: application/json' --data-binary @"$3" \
    "https://127.0.0.1:$1/validate?timeout=10s"
}

# timed_reviews PORT CAFILE FILE N: POSTs the AdmissionReview in FILE N times over one keep-alive curl
# connection and sets TIMED_MEDIAN and TIMED_P99 (seconds, curl's total time per review; the benchmarks).
timed_reviews() {
  local args=() i times
  for i in $(seq 1 "$4"); do
    args+=(--cacert "$2" -H 'Content-Type: application/json' --data-binary @"$3" -o /dev/null
           -w '%{time_total}\n' "https://127.0.0.1:$1/validate?timeout=10s")
    [ "$i" -lt "$4" ] && args+=(--next)
  done
  times="$(curl -sS "${args[@]}" | sort -n)"
  TIMED_MEDIAN="$(sed -n "$(( $4 / 2 ))p" <<<"$times")"
  TIMED_P99="$(sed -n "$(( $4 * 99 / 100 ))p" <<<"$times")"
}

# parallel_reviews PORT CA_FILE PREFIX N: sends PREFIX1.json .. PREFIXN.json to https://127.0.0.1:PORT/validate
# all at once (curl --parallel, trusting CA_FILE); the answers go to PREFIX1.answer ..; prints how many were
# allowed. For single-flight tests (N concurrent reviews of one image nobody asked for yet).
parallel_reviews() {
  local port="$1" ca="$2" prefix="$3" n="$4" args=() i allowed=0
  for i in $(seq 1 "$n"); do
    args+=(--cacert "$ca" -H 'Content-Type: application/json' --data-binary @"$prefix$i.json" -o "$prefix$i.answer"
           "https://127.0.0.1:$port/validate?timeout=10s")
    [ "$i" -lt "$n" ] && args+=(--next)
  done
  curl -sS --parallel --parallel-max "$n" "${args[@]}" 2>"$prefix.curl.err"
  for i in $(seq 1 "$n"); do grep -q '"allowed":true' "$prefix$i.answer" && allowed=$((allowed + 1)); done
  echo "$allowed"
}

# review IMAGE [UID] [NAMESPACE]: a Pod CREATE review of IMAGE (pod_review) sent to the server start_imagegate
# started ($SERVER_PORT), trusting the test CA $E2E_TMP/ca.pem (make_ca); the answer in $OUT.
review() {
  pod_review "$@" >"$E2E_TMP/review.json"
  send_review "$SERVER_PORT" "$E2E_TMP/ca.pem" "$E2E_TMP/review.json"
}

# review_allowed / review_message: the last answer's ($OUT) response.allowed and response.status.message.
review_allowed() { json_get "$OUT" 'd["response"]["allowed"]'; }
review_message() { json_get "$OUT" 'd["response"].get("status", {}).get("message", "")'; }

# finish: prints the "N passed, N failed" line and exits 0 when nothing failed, 1 otherwise.
finish() {
  echo "$E2E_PASSED passed, $E2E_FAILED failed"
  [ "$E2E_FAILED" -eq 0 ]
  exit $?
}

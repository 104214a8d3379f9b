#!/usr/bin/env bash
# TLS of the real `imagegate serve`, probed with openssl s_client and curl on 127.0.0.1:
#   TLS 1.0/1.1 refused; TLS 1.2 without ECDHE+AEAD refused (static RSA, CBC, DHE); TLS 1.2 ECDHE-GCM and
#   ChaCha20 and TLS 1.3 accepted; ALPN: h2 never selected, http/1.1 is; a certificate rotated by symlink
#   swap (as a mounted Secret) is served to new connections without a restart, a broken one is not;
#   with --client-ca, a client certificate from that CA is required (mTLS).
source "$(dirname "$0")/lib.sh"
src="${IMAGEGATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${IMAGEGATE_BINARY:-$src/build/imagegate}"
make_temp_dir  # $E2E_TMP; the EXIT trap stops tracked processes and removes it
tmp="$E2E_TMP"
server_pid=""

[ -x "$bin" ] || die "no binary at $bin (set IMAGEGATE_BINARY)"
command -v openssl >/dev/null && command -v curl >/dev/null || die "needs openssl and curl"

# ---- A CA, an RSA server certificate (so the ECDHE-RSA suites apply), client certificates. ----------
pki="$tmp/pki"
mkdir -p "$pki/v1" "$pki/v2" "$pki/broken"
openssl_quiet() { openssl "$@" >/dev/null 2>&1; }
make_ca() {  # name
  openssl_quiet req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$pki/$1.key" -out "$pki/$1.crt" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign"
}
make_leaf() {  # ca key-spec out-prefix cn ext
  openssl_quiet req -newkey "$2" -nodes -subj "/CN=$4" -keyout "$3.key" -out "$3.csr"
  printf '%s\n' "$5" >"$3.ext"
  openssl_quiet x509 -req -in "$3.csr" -CA "$pki/$1.crt" -CAkey "$pki/$1.key" -CAcreateserial -days 2 \
    -extfile "$3.ext" -out "$3.crt"
}
make_ca ca
make_ca other-ca
server_ext="subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
make_leaf ca rsa:2048 "$pki/v1/tls" localhost "$server_ext"
make_leaf ca rsa:2048 "$pki/v2/tls" localhost "$server_ext"
make_leaf ca rsa:2048 "$pki/client" kube-apiserver "extendedKeyUsage=clientAuth"
make_leaf other-ca rsa:2048 "$pki/stranger" stranger "extendedKeyUsage=clientAuth"
cp "$pki/v2/tls.crt" "$pki/broken/tls.crt"
cp "$pki/v1/tls.key" "$pki/broken/tls.key"  # a key that does not match the certificate
for f in "$pki/v1/tls.crt" "$pki/client.crt" "$pki/stranger.crt"; do
  [ -s "$f" ] || die "certificate generation failed ($f)"
done
# Mounted-Secret layout: tls.crt -> ..data/tls.crt, ..data -> v1.
secret="$pki/secret"
mkdir -p "$secret"
ln -s ../v1 "$secret/..data"
ln -s ..data/tls.crt "$secret/tls.crt"
ln -s ..data/tls.key "$secret/tls.key"
swap_secret() {  # version dir name
  ln -sfn "../$1" "$secret/..data_tmp" && mv -T "$secret/..data_tmp" "$secret/..data"
}

# ---- Server -------------------------------------------------------------------------------------------
port=""
start_server() {  # extra serve args...
  start_imagegate "$bin" "$tmp/out.log" "$tmp/err.log" --policy "$src/manifests/examples/policy.yaml" \
    --tls-cert "$secret/tls.crt" --tls-key "$secret/tls.key" --listen 127.0.0.1:0 --threads 2 "$@"
  server_pid="$SERVER_PID"
  port="$SERVER_PORT"
}
stop_server() {
  kill -TERM "$server_pid" 2>/dev/null
  wait "$server_pid"
  local rc=$?
  server_pid=""
  return $rc
}

# s_client NAME EXPECT(accept|refuse) ARGS...: one handshake; the client is allowed every protocol and
# cipher it has (SECLEVEL=0), so a refusal is the server's doing.
s_client() {
  local name="$1" expect="$2"
  shift 2
  local out
  out="$(timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
    -CAfile "$pki/ca.crt" "$@" </dev/null 2>&1)"
  local rc=$?
  echo "$out" >"$tmp/s_client.last"
  # The handshake line decides, not the exit code: after a completed TLS 1.3 handshake s_client can exit
  # non-zero when the server's close races the client's (a reset while reading session tickets). A
  # refused handshake prints "New, (NONE), Cipher is (NONE)", which does not match.
  local accepted=no
  if echo "$out" | grep -qE '^(New|Reused), (TLSv1\.[23]|SSLv3)'; then accepted=yes; fi
  if [ "$expect" = accept ] && [ $accepted = yes ]; then
    pass "$name accepted ($(echo "$out" | grep -m1 -E '^New,' | sed 's/^New, //'))"
  elif [ "$expect" = refuse ] && [ $accepted = no ]; then
    pass "$name refused ($(echo "$out" | grep -oE 'alert [a-z ]+|no protocols available|no cipher[a-z ]*|handshake failure' | head -1 || echo "rc=$rc"))"
  else
    fail "$name: expected $expect, got accepted=$accepted; $(grep -E 'Cipher is|Protocol|alert|error' "$tmp/s_client.last" | head -3 | tr '\n' ' ')"
  fi
}

start_server

# Protocol versions. The client opts down to SECLEVEL=0 so it would speak TLS 1.0/1.1 if the server did.
s_client "TLS 1.0" refuse -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
s_client "TLS 1.1" refuse -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
if echo | openssl s_client -ssl3 -connect 127.0.0.1:1 2>&1 | grep -q "unknown option"; then
  pass "SSLv3 not even in this OpenSSL client"
else
  s_client "SSLv3" refuse -ssl3
fi

# TLS 1.2 cipher suites: only ECDHE with AEAD.
for cipher in AES128-SHA256 AES128-GCM-SHA256 AES256-SHA ECDHE-RSA-AES128-SHA ECDHE-RSA-AES256-SHA384 \
  DHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-DES-CBC3-SHA; do
  s_client "TLS 1.2 $cipher" refuse -tls1_2 -cipher "$cipher:@SECLEVEL=0"
done
for cipher in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305; do
  s_client "TLS 1.2 $cipher" accept -tls1_2 -cipher "$cipher"
  grep -q "Cipher is $cipher" "$tmp/s_client.last" || fail "TLS 1.2 $cipher: negotiated another cipher"
done
s_client "TLS 1.3" accept -tls1_3
grep -q "Verify return code: 0 (ok)" "$tmp/s_client.last" && pass "certificate chain verifies for 127.0.0.1" ||
  fail "certificate did not verify: $(grep 'Verify return' "$tmp/s_client.last")"
s_client "TLS 1.2 with the client's defaults" accept -tls1_2
grep -qE "Cipher is ECDHE-RSA-(AES|CHACHA)" "$tmp/s_client.last" ||
  fail "default TLS 1.2 negotiation picked $(grep -m1 'Cipher is' "$tmp/s_client.last")"

# ALPN: HTTP/1.1 only.
s_client "ALPN h2 only" accept -alpn h2
grep -q "No ALPN negotiated" "$tmp/s_client.last" && pass "ALPN h2 not selected" ||
  fail "ALPN with h2 only: $(grep -m1 ALPN "$tmp/s_client.last")"
s_client "ALPN h2,http/1.1" accept -alpn h2,http/1.1
grep -q "ALPN protocol: http/1.1" "$tmp/s_client.last" && pass "ALPN http/1.1 selected" ||
  fail "ALPN h2,http/1.1: $(grep -m1 ALPN "$tmp/s_client.last")"
version="$(curl -sS --http2 --cacert "$pki/ca.crt" -o /dev/null -w '%{http_version} %{http_code}' \
  "https://localhost:$port/healthz" 2>&1)"
[ "$version" = "1.1 200" ] && pass "curl --http2 falls back to HTTP/1.1 ($version)" || fail "curl --http2: $version"
code="$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" 2>/dev/null)"
[ "$code" != 200 ] && pass "plain HTTP is not served (curl: $code)" || fail "plain HTTP answered 200"

# Certificate rotation by symlink swap (kubelet style); polled every 200 ms here.
stop_server || fail "stop before the rotation test"
printf 'tls:\n  reloadInterval: 200ms\n' >"$tmp/fast-reload.yaml"
start_server --config "$tmp/fast-reload.yaml"
serial() {
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost </dev/null 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null
}
want_v1="$(openssl x509 -noout -serial -in "$pki/v1/tls.crt")"
want_v2="$(openssl x509 -noout -serial -in "$pki/v2/tls.crt")"
[ "$(serial)" = "$want_v1" ] && pass "serves v1 before rotation" || fail "not serving v1: $(serial)"
swap_secret broken
sleep 1
[ "$(serial)" = "$want_v1" ] && pass "a mismatched certificate/key pair is rejected; v1 stays" ||
  fail "after the broken swap: $(serial)"
grep -q "reload rejected" "$tmp/err.log" && pass "rejected reload is logged" || fail "no log line for the rejected reload"
swap_secret v2
got=""
for _ in $(seq 1 30); do
  got="$(serial)"
  [ "$got" = "$want_v2" ] && break
  sleep 0.2
done
[ "$got" = "$want_v2" ] && pass "rotated certificate served to new connections" || fail "after rotation: $got"
metrics="$(curl -sS --cacert "$pki/ca.crt" "https://localhost:$port/metrics")"
echo "$metrics" | grep -E '^imagegate_tls_reloads_total\{result="failure"\} [1-9]' >/dev/null &&
  echo "$metrics" | grep -E '^imagegate_tls_reloads_total\{result="success"\} [1-9]' >/dev/null &&
  pass "imagegate_tls_reloads_total counts the success and the failure" ||
  fail "tls reload metrics: $(echo "$metrics" | grep tls_reloads)"
stop_server && pass "SIGTERM: exit 0" || fail "SIGTERM: exit $?"
swap_secret v1

# mTLS: --client-ca requires a client certificate from that CA.
start_server --client-ca "$pki/ca.crt"
curl_code() { curl -sS -o /dev/null -w '%{http_code}' --cacert "$pki/ca.crt" "$@" "https://localhost:$port/healthz" 2>/dev/null; }
code="$(curl_code)"
[ "$code" != 200 ] && pass "mTLS: no client certificate refused (curl: $code)" || fail "mTLS: served without a client certificate"
code="$(curl_code --cert "$pki/stranger.crt" --key "$pki/stranger.key")"
[ "$code" != 200 ] && pass "mTLS: certificate from another CA refused (curl: $code)" || fail "mTLS: served a stranger"
code="$(curl_code --cert "$pki/client.crt" --key "$pki/client.key")"
[ "$code" = 200 ] && pass "mTLS: certificate from the client CA accepted" || fail "mTLS: client certificate refused ($code)"
s_client "mTLS TLS 1.3 with the client certificate" accept -tls1_3 -cert "$pki/client.crt" -key "$pki/client.key"
stop_server || fail "SIGTERM after mTLS: exit $?"

finish

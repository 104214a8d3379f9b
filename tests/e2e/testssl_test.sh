#!/usr/bin/env bash
# TLS scan of the real `imagegate serve` with testssl.sh (Debian `testssl.sh`): the webhook listener and
# the verdict API listener, scanned at once (protocols -p, ciphers per protocol -E, vulnerabilities -U),
# with an RSA certificate so that static-RSA and ECDHE-RSA suites would show if the server offered them.
# The promise (docs/security.md, tests/e2e/tls/testssl_check.py): only TLS 1.2/1.3, only AEAD suites with
# forward secrecy, no weakness flagged. Control: the same checker, given a copy of the report with a
# weakness planted in it (TLS 1.0, a CBC suite, static RSA, SWEET32), must name each one.
source "$(dirname "$0")/lib.sh"
src="${IMAGEGATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${IMAGEGATE_BINARY:-$src/build/imagegate}"
check="$src/tests/e2e/tls/testssl_check.py"
make_temp_dir
tmp="$E2E_TMP"

[ -x "$bin" ] || die "no binary at $bin (set IMAGEGATE_BINARY)"
require_cmd testssl
require_cmd openssl

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$tmp/tls.key" -out "$tmp/tls.crt" \
  >/dev/null 2>&1 || die "openssl: server certificate"
echo "ro:$(openssl rand -hex 16)" >"$tmp/tokens"
api="$(free_port)"
start_imagegate "$bin" "$tmp/out.log" "$tmp/err.log" --policy "$src/manifests/examples/policy.yaml" \
  --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" --listen 127.0.0.1:0 --threads 2 \
  --api-listen "127.0.0.1:$api" --api-token-file "$tmp/tokens" --store "sqlite:$tmp/verdicts.db"
webhook="$SERVER_PORT"
wait_for_port "$api" 15 || die "the verdict API listener did not start: $(cat "$tmp/err.log")"

scan() {  # name port
  # --ip: no DNS; --warnings off: never waits for a keypress; --openssl-timeout: no hanging handshake.
  timeout 500 testssl --quiet --color 0 --warnings off --openssl-timeout 10 -p -E -U \
    --jsonfile "$tmp/$1.json" --ip 127.0.0.1 "https://localhost:$2" >"$tmp/$1.txt" 2>&1
}
scan webhook "$webhook" &
webhook_scan=$!
scan api "$api" &
api_scan=$!
wait "$webhook_scan" || log "testssl exited $? on the webhook listener: $(tail -5 "$tmp/webhook.txt")"
wait "$api_scan" || log "testssl exited $? on the API listener: $(tail -5 "$tmp/api.txt")"

for listener in webhook api; do
  [ -s "$tmp/$listener.json" ] || { fail "testssl wrote no report for the $listener listener: $(tail -5 "$tmp/$listener.txt")"; continue; }
  if out="$(python3 "$check" "$tmp/$listener.json")"; then
    pass "$listener listener: TLS 1.2/1.3 only, AEAD suites with forward secrecy only, nothing flagged"
  else
    fail "$listener listener: $out"
  fi
  ciphers="$(grep -c '"id" *: *"cipher-tls' "$tmp/$listener.json" || true)"
  [ "$ciphers" -ge 2 ] && pass "$listener listener: $ciphers cipher suites listed" ||
    fail "$listener listener: only $ciphers cipher suites in the report"
done
kill -0 "$SERVER_PID" 2>/dev/null && pass "the server is still up after the scans" || fail "the server died during the scans"

# Control: the checker names every planted weakness.
[ -s "$tmp/webhook.json" ] && python3 - "$tmp/webhook.json" "$tmp/weak.json" <<'PY'
import json, sys
findings = json.load(open(sys.argv[1]))
for f in findings:
    if f["id"] == "TLS1":
        f["finding"], f["severity"] = "offered (deprecated)", "LOW"
    if f["id"] == "SWEET32":
        f["finding"], f["severity"] = "VULNERABLE, uses 64 bit block ciphers", "LOW"
findings.append({"id": "cipher-tls1_2_xc013", "severity": "INFO",
                 "finding": "TLS 1.2   xc013   ECDHE-RSA-AES128-SHA              ECDH 253   AES         128      TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"})
findings.append({"id": "cipher-tls1_2_x9c", "severity": "INFO",
                 "finding": "TLS 1.2   x9c     AES128-GCM-SHA256                 RSA        AESGCM      128      TLS_RSA_WITH_AES_128_GCM_SHA256"})
json.dump(findings, open(sys.argv[2], "w"))
PY
if out="$(python3 "$check" "$tmp/weak.json")"; then
  fail "control: the checker passed a report with planted weaknesses"
else
  for want in "TLS1: expected not offered" "SWEET32: LOW" "ECDHE-RSA-AES128-SHA is not an AEAD suite" \
    "AES128-GCM-SHA256 has no forward secrecy"; do
    assert_contains "control names: $want" "$out" "$want"
  done
fi
finish

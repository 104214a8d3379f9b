#!/usr/bin/env bash
# The console end to end (issue 18), in a real browser: a real `imagegate serve` with a real SQLite store,
# real reviews and verdict pushes, then headless Chromium driven by Selenium (tests/e2e/console/
# console_driver.py): a wrong token shows an error and no data; the read-only token signs in; a digest is
# found by its CVE id; a review denied while the page is open appears in Recent decisions and opens in
# full; a workload name and an image string made of HTML markup show as text (checked in the rendered DOM);
# a screenshot of each view is saved in the test's temporary directory, and into
# $IMAGEGATE_CONSOLE_SCREENSHOTS when set (docs/console/*.png). Also, over curl: the page is served with a
# strict Content-Security-Policy, nosniff and no-store; `imagegate inventory list --cve`; --no-console
# turns the console off.
source "$(dirname "$0")/lib.sh"
require_cmd curl openssl chromium chromedriver
PY=/usr/bin/python3  # Debian's, with python3-selenium
"$PY" -c 'import selenium' 2>/dev/null || die "python3-selenium is not installed (scripts/install-deps.sh)"
make_temp_dir
bin="${IMAGEGATE_BINARY:?}"
tmp="$E2E_TMP"
mkdir -p "$tmp/screens"

make_self_signed_cert "$tmp"
printf 'rw:write-token-0123456789abcdef\nro:read-token-0123456789abcdef\n' >"$tmp/tokens"
echo read-token-0123456789abcdef >"$tmp/ro.tok"
# The scan policy, and a signed rule with a cosign key anchor (shown by fingerprint only).
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/cosign.key" 2>/dev/null || die "openssl ecparam"
openssl ec -in "$tmp/cosign.key" -pubout -out "$tmp/cosign.pub" 2>/dev/null || die "openssl ec"
write_scan_policy "$tmp/policy.yaml" console
cat >>"$tmp/policy.yaml" <<EOF
    - name: signed
      match: {images: ["signed.example.com/**"]}
      signatures: {anchors: [release-key]}
  trustAnchors:
    - name: release-key
      cosign: {keyFile: $tmp/cosign.pub}
EOF
digest() { printf 'sha256:%064x' "$1"; }
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
cve=CVE-2024-3094
markup='<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>'
# verdict N SEVERITY: a native verdict for digest N listing $cve at SEVERITY, scanned now.
verdict() {
  printf '{"format":"imagegate.verdict/v1","digest":"%s","scanner":"e2e","scannedAt":"%s","vulnerabilities":[{"id":"%s","severity":"%s","package":"xz-utils","installedVersion":"5.6.0","fixedVersion":"5.6.2"}]}' \
    "$(digest "$1")" "$now" "$cve" "$2" >"$tmp/verdict-$1.json"
}
push() {  # DIGEST FILE
  curl -s --cacert "$tmp/tls.crt" -o /dev/null -w '%{http_code}' -X PUT -H 'Authorization: Bearer write-token-0123456789abcdef' \
    --data-binary "@$2" "https://127.0.0.1:$api/api/v1/verdicts/$1"
}
# deployment NAME IMAGE [NAMESPACE]: a Deployment CREATE review sent to the webhook; prints the answer.
deployment() {
  python3 - "$1" "$2" "${3:-shop}" >"$tmp/review.json" <<'PY'
import json, sys
name, image, ns = sys.argv[1:4]
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
    "uid": "u-" + str(abs(hash(name + image))), "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
    "resource": {"group": "apps", "version": "v1", "resource": "deployments"}, "namespace": ns, "name": name,
    "operation": "CREATE", "userInfo": {"username": "e2e"},
    "object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
               "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}}}))
PY
  curl -s -m 15 --cacert "$tmp/tls.crt" -H 'Content-Type: application/json' --data-binary @"$tmp/review.json" \
    "https://127.0.0.1:$port/validate?timeout=10s"
}
api_get() { curl -s --cacert "$tmp/tls.crt" -H 'Authorization: Bearer read-token-0123456789abcdef' "https://127.0.0.1:$api$1"; }

port=$(free_port)
api=$(free_port)
"$bin" serve --policy "$tmp/policy.yaml" --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" --listen "127.0.0.1:$port" \
  --api-listen "127.0.0.1:$api" --api-token-file "$tmp/tokens" --store "sqlite:$tmp/verdicts.db" \
  --recent-decisions 200 >"$tmp/decisions.log" 2>"$tmp/server.log" &
server_pid=$!
track_pid "$server_pid"
wait_for_port "$api" 15 && wait_for_port "$port" 15 || die "the server did not start: $(tail -3 "$tmp/server.log")"

# ---- what the console will show: real pushes and reviews ------------------------------------------------
verdict 1 HIGH
assert_eq "push a HIGH verdict listing $cve for digest 1" 200 "$(push "$(digest 1)" "$tmp/verdict-1.json")"
assert_contains "web (digest 1, HIGH) is admitted" "$(deployment web "registry.example.com/app@$(digest 1)")" '"allowed":true'
assert_contains "a workload named with markup is admitted" \
  "$(deployment "$markup" "docker.io/library/nginx@$(digest 3)" tools)" '"allowed":true'
assert_contains "no verdict: denied" "$(deployment nightly "registry.example.com/app@$(digest 9)")" '"allowed":false'
verdict 1 CRITICAL
assert_eq "then a CRITICAL verdict for digest 1 (web now violates)" 200 "$(push "$(digest 1)" "$tmp/verdict-1.json")"
for _ in $(seq 1 50); do  # the inventory is written off the request path
  [ "$(json_get "$(api_get /api/v1/inventory)" 'len(d["items"])')" = 2 ] && break
  sleep 0.1
done
assert_eq "the inventory holds the two admitted workloads" 2 "$(json_get "$(api_get /api/v1/inventory)" 'len(d["items"])')"

# ---- over curl: headers, tokens, the CLI ------------------------------------------------------------------
headers="$(curl -s -D - -o /dev/null --cacert "$tmp/tls.crt" "https://127.0.0.1:$api/console/")"
assert_contains "the page is served without a token" "$headers" "HTTP/1.1 200"
assert_match "the page has a strict CSP (no inline script)" "$headers" "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'"
assert_contains "nosniff" "$headers" "X-Content-Type-Options: nosniff"
data_headers="$(curl -s -D - -o /dev/null --cacert "$tmp/tls.crt" -H 'Authorization: Bearer read-token-0123456789abcdef' \
  "https://127.0.0.1:$api/api/v1/decisions")"
assert_contains "data answers are not cached" "$data_headers" "Cache-Control: no-store"
assert_eq "data needs a token" 401 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/tls.crt" "https://127.0.0.1:$api/api/v1/summary")"
run_capture "$bin" inventory list --server "https://127.0.0.1:$api" --token-file "$tmp/ro.tok" --cacert "$tmp/tls.crt" --cve "$cve"
assert_rc "imagegate inventory list --cve" 0
assert_contains "inventory --cve finds web" "$OUT" "web"
assert_not_contains "inventory --cve leaves out what does not list it" "$OUT" "tools"
run_capture "$bin" inventory list --server "https://127.0.0.1:$api" --token-file "$tmp/ro.tok" --cacert "$tmp/tls.crt" --cve '<x>'
assert_rc "inventory --cve with a malformed id is refused" 2

# ---- in the browser -----------------------------------------------------------------------------------------
deny_hook="curl -s -m 15 --cacert '$tmp/tls.crt' -H 'Content-Type: application/json' --data-binary @'$tmp/denied.json' 'https://127.0.0.1:$port/validate?timeout=10s' >/dev/null"
python3 - "$markup" >"$tmp/denied.json" <<'PY'
import json, sys
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
    "uid": "denied-live", "kind": {"group": "", "version": "v1", "kind": "Pod"},
    "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "shop", "name": "live",
    "operation": "CREATE", "userInfo": {"username": "e2e"},
    "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "live"},
               "spec": {"containers": [{"name": "app", "image": sys.argv[1]}]}}}}))
PY
CONSOLE_CVE="$cve" CONSOLE_DIGEST="$(digest 1)" CONSOLE_MARKUP="$markup" \
  CONSOLE_EXTRA_SCREENSHOTS="${IMAGEGATE_CONSOLE_SCREENSHOTS:-}" \
  timeout 120 "$PY" "$(dirname "$0")/console/console_driver.py" "https://127.0.0.1:$api" \
  read-token-0123456789abcdef "$tmp/screens" "$deny_hook" >"$tmp/driver.out" 2>"$tmp/driver.err"
driver_rc=$?
while IFS= read -r line; do
  case "$line" in
    "ok   - "*) pass "browser: ${line#ok   - }" ;;
    "FAIL - "*) fail "browser: ${line#FAIL - }" ;;
    *) log "$line" ;;
  esac
done <"$tmp/driver.out"
[ "$driver_rc" -eq 0 ] || fail "the browser driver exits 0" "rc $driver_rc" "$(tail -5 "$tmp/driver.err")"
for view in running-now violations-now recent-decisions decision policy-in-force; do
  assert_file_exists "a screenshot of $view" "$tmp/screens/$view.png"
done
assert_contains "the live denial is in the decision log too" "$(cat "$tmp/decisions.log")" '"uid":"denied-live"'

# ---- off ------------------------------------------------------------------------------------------------------
stop_pid "$server_pid"
port=$(free_port)
api=$(free_port)
"$bin" serve --policy "$tmp/policy.yaml" --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" --listen "127.0.0.1:$port" \
  --api-listen "127.0.0.1:$api" --api-token-file "$tmp/tokens" --store "sqlite:$tmp/verdicts.db" --no-console \
  >/dev/null 2>"$tmp/server-off.log" &
track_pid $!
wait_for_port "$api" 15 || die "the server did not start: $(tail -3 "$tmp/server-off.log")"
assert_eq "--no-console: no page" 404 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/tls.crt" "https://127.0.0.1:$api/console/")"
assert_eq "--no-console: no recent decisions" 404 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/tls.crt" \
  -H 'Authorization: Bearer read-token-0123456789abcdef' "https://127.0.0.1:$api/api/v1/decisions")"
assert_eq "--no-console: the API still answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/tls.crt" \
  -H 'Authorization: Bearer read-token-0123456789abcdef' "https://127.0.0.1:$api/api/v1/inventory")"
finish

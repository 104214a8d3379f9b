#!/usr/bin/env bash
# Verdict API end to end: a real `imagegate serve` with --api-listen and a SQLite store. Unauthenticated
# bodies are never read (peak RSS under 12 concurrent 15 MiB PUTs). Every conformance
# scan report ingested through the API (counts checked), auth failures (401/403), malformed and oversized
# reports (400/413, nothing changed), reviews allowed and denied by verdicts, `imagegate verdict push/get`,
# and durability: kill -9 of the server while verdicts are being pushed loses nothing acknowledged.
source "$(dirname "$0")/lib.sh"
require_cmd curl openssl python3
make_temp_dir
bin="${IMAGEGATE_BINARY:?}"
conf="${IMAGEGATE_CONFORMANCE_DIR:?}/scan-reports"
tmp="$E2E_TMP"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$tmp/tls.key" -out "$tmp/tls.crt" >/dev/null 2>&1 ||
  die "openssl failed"
printf '# verdict API tokens\nrw:write-token-0123456789abcdef\nro:read-token-0123456789abcdef\n' >"$tmp/tokens"
echo write-token-0123456789abcdef >"$tmp/rw.tok"
echo read-token-0123456789abcdef >"$tmp/ro.tok"
cat >"$tmp/policy.yaml" <<EOF
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: verdicts}
spec:
  noMatch: allow
  rules:
    - name: scanned
      match: {images: ["registry.example.com/**"]}
      vulnerabilities:
        maxSeverity: HIGH
        onMissing: deny
        exceptions:
          - {id: CVE-2019-14697, expires: 2000-01-01, reason: long expired}
EOF

port=$(free_port); api=$(free_port)
start() {
  "$bin" serve --policy "$tmp/policy.yaml" --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" \
    --listen "127.0.0.1:$port" --api-listen "127.0.0.1:$api" --api-token-file "$tmp/tokens" \
    --store "sqlite:$tmp/verdicts.db" >"$tmp/decisions.log" 2>>"$tmp/server.log" &
  pid=$!
  track_pid "$pid"
  wait_for_port "$api" 15 || die "the API listener did not start: $(tail -5 "$tmp/server.log")"
}
start
url="https://127.0.0.1:$api/api/v1/verdicts"
c() { curl -s --cacert "$tmp/tls.crt" -o "$tmp/body" -w '%{http_code}' "$@"; }
digest() { printf 'sha256:%064x' "$1"; }

# ---- Unauthenticated bodies are never read (issue 13). ---------------------------------------------------
# Twelve concurrent unauthenticated 15 MiB PUTs (no `Expect: 100-continue`: the bodies come at once) are
# each answered 401 from the header, and the server's peak RSS (VmHWM) barely moves; reading the bodies
# before the token check took a server to 161 MB. On a fresh server, so no earlier peak hides the growth.
head -c $((15 * 1024 * 1024)) /dev/zero >"$tmp/15m.bin"
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$pid/status"; }
hwm_before=$(hwm_kb)
anon_pids=()
for n in $(seq 1 12); do
  curl -s --cacert "$tmp/tls.crt" -o /dev/null -w '%{http_code}' -X PUT -H 'Expect:' -H 'Content-Type: application/json' \
    --data-binary "@$tmp/15m.bin" "$url/$(digest "$n")" >"$tmp/anon.$n" 2>/dev/null &
  anon_pids+=("$!")
done
wait "${anon_pids[@]}"
hwm_after=$(hwm_kb)
log "VmHWM before $hwm_before kB, after 12 unauthenticated 15 MiB PUTs $hwm_after kB"
assert_eq "12 unauthenticated 15 MiB PUTs: all 401" "401 401 401 401 401 401 401 401 401 401 401 401" \
  "$(for n in $(seq 1 12); do printf '%s ' "$(cat "$tmp/anon.$n")"; done | sed 's/ $//')"
[ $((hwm_after - hwm_before)) -lt 20480 ] && pass "... peak RSS grew by less than 20 MB" ||
  fail "... peak RSS grew by less than 20 MB" "$hwm_before kB -> $hwm_after kB"
code=$(c -X PUT -H 'Authorization: Bearer write-token-0123456789abcdef' -H 'Expect:' \
  --data-binary "@$conf/trivy/alpine-39.json.golden" "$url/$(digest 99)")
assert_eq "... and an authenticated push still works" 200 "$code"

# ---- Every golden through the API, counts per severity as cases.json says. -------------------------------
i=100
while read -r file counts; do
  i=$((i + 1))
  code=$(c -X PUT -H "Authorization: Bearer write-token-0123456789abcdef" --data-binary "@$conf/$file" "$url/$(digest $i)")
  assert_eq "PUT $file" 200 "$code"
  got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({k:v for k,v in d["vulnerabilities"].items() if v}, sort_keys=True))' "$tmp/body")
  assert_eq "counts of $file" "$counts" "$got"
done < <(python3 - "$conf/cases.json" <<'EOF'
import json, sys
for r in json.load(open(sys.argv[1]))["reports"]:
    if "results" in r:
        counts = {"MEDIUM": r["results"]}
    else:
        counts = {k.upper(): v for k, v in r["vulnerabilities_by_severity"].items()}
    print(r["file"], json.dumps(counts, sort_keys=True))
EOF
)

# ---- Auth. --------------------------------------------------------------------------------------------
d1=$(digest 1)
assert_eq "no token: 401" 401 "$(c -X PUT --data-binary "@$conf/trivy/alpine-39.json.golden" "$url/$d1")"
assert_eq "wrong token: 401" 401 "$(c -X PUT -H 'Authorization: Bearer nope-nope-nope-nope' --data-binary "@$conf/trivy/alpine-39.json.golden" "$url/$d1")"
assert_eq "read-only token cannot write: 403" 403 "$(c -X PUT -H 'Authorization: Bearer read-token-0123456789abcdef' --data-binary "@$conf/trivy/alpine-39.json.golden" "$url/$d1")"
assert_eq "nothing was stored" 404 "$(c -H 'Authorization: Bearer read-token-0123456789abcdef' "$url/$d1")"
assert_eq "GET without token: 401" 401 "$(c "$url/$d1")"

# ---- Push with the CLI, read back, malformed and oversized reports change nothing. ---------------------
run_capture "$bin" verdict push --server "https://127.0.0.1:$api" --token-file "$tmp/rw.tok" --cacert "$tmp/tls.crt" \
  --digest "$d1" --image registry.example.com/app:1 "$conf/trivy/alpine-39.json.golden"
assert_rc "verdict push" 0
d2=$(digest 2)
run_capture "$bin" verdict push --server "https://127.0.0.1:$api" --token-file "$tmp/rw.tok" --cacert "$tmp/tls.crt" \
  --digest "$d2" --format sarif "$conf/trivy/alpine-310.sarif.golden"
assert_rc "verdict push sarif" 0
echo '{"SchemaVersion": 2, "Results": {}}' >"$tmp/bad.json"
assert_eq "malformed report: 400" 400 "$(c -X PUT -H 'Authorization: Bearer write-token-0123456789abcdef' --data-binary "@$tmp/bad.json" "$url/$d1")"
assert_eq "bad digest: 400" 400 "$(c -X PUT -H 'Authorization: Bearer write-token-0123456789abcdef' --data-binary "@$conf/trivy/alpine-39.json.golden" "$url/sha256:xyz")"
# Path traversal through the digest in the path, raw and percent-encoded: only sha256:<64 hex> names a verdict.
for p in "../../../etc/passwd" "..%2f..%2f..%2fetc%2fpasswd" "sha256:$(printf 'a%.0s' {1..64})/../x"; do
  assert_eq "path traversal ($p): 400" 400 "$(c --path-as-is -H 'Authorization: Bearer read-token-0123456789abcdef' "$url/$p")"
  assert_eq "path traversal ($p), write: 400, nothing stored" 400 "$(c --path-as-is -X PUT -H 'Authorization: Bearer write-token-0123456789abcdef' --data-binary "@$conf/trivy/alpine-39.json.golden" "$url/$p")"
done
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$tmp/big.json"
assert_eq "oversized report: 413" 413 "$(c -X PUT -H 'Authorization: Bearer write-token-0123456789abcdef' --data-binary "@$tmp/big.json" "$url/$d1")"
run_capture "$bin" verdict get --server "https://127.0.0.1:$api" --token-file "$tmp/ro.tok" --cacert "$tmp/tls.crt" --digest "$d1"
assert_rc "verdict get" 0
assert_contains "the rejected reports changed nothing" "$OUT" '"scanner":"trivy dev"'
assert_contains "verdict get by image" "$(curl -s --cacert "$tmp/tls.crt" -H 'Authorization: Bearer read-token-0123456789abcdef' "$url?image=registry.example.com/app:1")" "$d1"

# ---- Reviews decided by verdicts. ---------------------------------------------------------------------
review() {
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"registry.example.com/app@%s"}]}}}}' "$1" |
    curl -s --cacert "$tmp/tls.crt" -H 'Content-Type: application/json' --data-binary @- "https://127.0.0.1:$port/validate"
}
out=$(review "$d1")
assert_contains "CRITICAL findings deny" "$out" '"allowed":false'
assert_contains "the message names the worst finding" "$out" "CVE-2019-14697 (CRITICAL, musl)"
assert_contains "the expired exception is named" "$out" "expired 2000-01-01"
assert_contains "MEDIUM findings allow" "$(review "$d2")" '"allowed":true'
out=$(review "$(digest 3)")
assert_contains "no verdict denies (onMissing)" "$out" "no scan verdict for"

# ---- Durability: kill -9 while pushing; every acknowledged verdict is there after a restart. -----------
: >"$tmp/acked"
(
  for n in $(seq 1000 1199); do
    code=$(curl -s --cacert "$tmp/tls.crt" -o /dev/null -w '%{http_code}' -X PUT -H 'Authorization: Bearer write-token-0123456789abcdef' \
      --data-binary "@$conf/trivy/centos-7.json.golden" "$url/$(digest "$n")")
    [ "$code" = 200 ] && echo "$n" >>"$tmp/acked"
  done
) &
pusher=$!
sleep 1.5
kill -9 "$pid"
wait "$pusher" 2>/dev/null
acked=$(wc -l <"$tmp/acked")
log "acknowledged before kill -9: $acked"
[ "$acked" -gt 0 ] && pass "some writes were acknowledged before the kill" || fail "no write acknowledged before the kill"
start
missing=0
while read -r n; do
  code=$(c -H 'Authorization: Bearer read-token-0123456789abcdef' "$url/$(digest "$n")")
  [ "$code" = 200 ] || missing=$((missing + 1))
done <"$tmp/acked"
assert_eq "no acknowledged verdict lost" 0 "$missing"
finish

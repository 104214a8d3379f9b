#!/usr/bin/env bash
# The real `imagegate serve` over HTTPS with real review bodies: Deployments made by
# `kubectl create deployment --dry-run=client -o json`, wrapped into AdmissionReviews, plus the
# conformance AdmissionReviews captured from clusters (v1 and v1beta1), sent with curl. Checks allowed,
# denied (403, the message names container and image), warned (warnings), dry-run, version echo, 400 on
# malformed and 413 on oversized bodies, policy reload (good: the decision changes; bad: the old policy
# stays and the failure is counted, in one JSON line with the errors as an array), /metrics (the process_*,
# build and certificate-expiry series too, and the plain-HTTP metricsListen listener that serves /metrics
# only), /healthz, /readyz, and SIGTERM with a review in flight (it is answered, then exit 0). Every line the
# run writes, stderr and stdout, is JSON with time, level, msg first; --log-format text writes text lines.
source "$(dirname "$0")/lib.sh"
src="${IMAGEGATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${IMAGEGATE_BINARY:-$src/build/imagegate}"
conformance="${IMAGEGATE_CONFORMANCE_DIR:-$src/../shared/conformance}"
samples="$conformance/admission/connaisseur/admission_requests"
make_temp_dir  # $E2E_TMP; the EXIT trap stops tracked processes and removes it
tmp="$E2E_TMP"
server_pid=""
check() {  # description command...
  local what="$1"
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

[ -x "$bin" ] || die "no binary at $bin (set IMAGEGATE_BINARY)"
for tool in curl kubectl jq openssl python3; do
  command -v "$tool" >/dev/null || die "needs $tool"
done
[ -d "$samples" ] || die "conformance samples missing at $samples"

# ---- Certificate, policy, config ---------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$tmp/tls.key" -out "$tmp/tls.crt" >/dev/null 2>&1 ||
  die "openssl failed"

write_policy() {  # file; $1 = "strict" (latest denied for the company registry) or "relaxed"
  local denied="[latest]"
  [ "$1" = relaxed ] && denied="[]"
  cat >"$tmp/policy.new" <<EOF
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata:
  name: e2e-$1
spec:
  mode: enforce
  failurePolicy: closed
  noMatch: deny
  registries:
    allow: [registry.example.com, docker.io]
  rules:
    - name: company
      match:
        images: ["registry.example.com/**"]
      deniedTags: $denied
    - name: hub
      match:
        images: ["docker.io/**"]
      mode: warn
      deniedTags: [latest]
EOF
  mv -f "$tmp/policy.new" "$tmp/policy.yaml"  # a new inode, as a ConfigMap update makes
}
write_policy strict
cat >"$tmp/imagegate.yaml" <<EOF
listen: "127.0.0.1:0"
policy: $tmp/policy.yaml
policyReloadInterval: 200ms
threads: 2
gracePeriod: 10s
metricsListen: "127.0.0.1:0"
tls:
  certFile: $tmp/tls.crt
  keyFile: $tmp/tls.key
EOF

# ---- Server ------------------------------------------------------------------------------------------
port=""
start_server() {
  start_imagegate "$bin" "$tmp/decisions.log" "$tmp/server.log" "$@"
  server_pid="$SERVER_PID"
  port="$SERVER_PORT"
}

# every_line_is_a_log_line FILE...: each line of each file is one JSON object whose first keys are time
# (RFC 3339, UTC, milliseconds), level and msg (docs/install.md "Logs").
every_line_is_a_log_line() {
  python3 - "$@" <<'PY'
import json, re, sys
bad = []
count = 0
for path in sys.argv[1:]:
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        count += 1
        try:
            keys = list(json.loads(line).keys())
        except ValueError:
            bad.append(f"{path}:{n}: not JSON: {line[:120]}")
            continue
        if keys[:3] != ["time", "level", "msg"]:
            bad.append(f"{path}:{n}: first keys {keys[:3]}")
        elif not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", json.loads(line)["time"]):
            bad.append(f"{path}:{n}: time {json.loads(line)['time']}")
if bad or count == 0:
    print("\n".join(bad[:5]) or "no lines", file=sys.stderr)
    sys.exit(1)
PY
}

# ---- Reviews -----------------------------------------------------------------------------------------
# review OUT NAMESPACE API_VERSION DRY_RUN IMAGE... : a Deployment from kubectl, wrapped.
review() {
  local out="$1" ns="$2" version="$3" dry="$4"
  shift 4
  local args=()
  for image in "$@"; do args+=("--image=$image"); done
  kubectl create deployment shop -n "$ns" "${args[@]}" --dry-run=client -o json >"$tmp/object.json" ||
    { fail "kubectl create deployment $*"; return 1; }
  jq -c --arg ns "$ns" --arg v "admission.k8s.io/$version" --argjson dry "$dry" --arg uid "uid-$RANDOM-$RANDOM" '{
    apiVersion: $v, kind: "AdmissionReview",
    request: {
      uid: $uid,
      kind: {group: "apps", version: "v1", kind: "Deployment"},
      resource: {group: "apps", version: "v1", resource: "deployments"},
      name: .metadata.name, namespace: $ns, operation: "CREATE",
      userInfo: {username: "e2e@example.com"},
      object: (. * {metadata: {namespace: $ns}}), oldObject: null, dryRun: $dry
    }}' "$tmp/object.json" >"$out"
}

code=""
post() {  # FILE [curl args...] -> $code, body in $tmp/answer.json
  local file="$1"
  shift
  code="$(curl -sS --cacert "$tmp/tls.crt" -H 'Content-Type: application/json' --data-binary "@$file" \
    -o "$tmp/answer.json" -w '%{http_code}' "$@" "https://localhost:$port/validate?timeout=10s" 2>"$tmp/curl.err")"
}
answer() { jq -r "$1" "$tmp/answer.json" 2>/dev/null; }
get() { curl -sS --cacert "$tmp/tls.crt" -o "$tmp/get.out" -w '%{http_code}' "https://localhost:$port$1" 2>/dev/null; }

start_server --config "$tmp/imagegate.yaml"
grep -q '"msg":"listening"' "$tmp/server.log" && [ "$port" != 0 ] && pass "start-up line names the bound port ($port)"
metrics_port="$(jq -r 'select(.msg | startswith("metrics listening")) | .port' "$tmp/server.log")"
check "metricsListen: the plain-HTTP listener logs its port ($metrics_port)" [ -n "$metrics_port" -a "$metrics_port" != 0 ]
check "policy load logged with name and version" \
  [ "$(jq -r 'select(.msg == "policy loaded") | .policy' "$tmp/server.log" | head -1)" = e2e-strict ]

check "/healthz 200" [ "$(get /healthz)" = 200 ]
check "/readyz 200 with a valid policy" [ "$(get /readyz)" = 200 ]

# Allowed.
review "$tmp/allowed.json" shop v1 false registry.example.com/shop/api:1.4.2
uid="$(jq -r .request.uid "$tmp/allowed.json")"
post "$tmp/allowed.json"
check "allowed: HTTP 200" [ "$code" = 200 ]
check "allowed: response.allowed is true" [ "$(answer .response.allowed)" = true ]
check "allowed: uid echoed" [ "$(answer .response.uid)" = "$uid" ]
check "allowed: apiVersion v1 echoed" [ "$(answer .apiVersion)" = admission.k8s.io/v1 ]
check "allowed: kind AdmissionReview" [ "$(answer .kind)" = AdmissionReview ]

# Denied: one container of two; the message names the container and the image.
review "$tmp/denied.json" shop v1 false registry.example.com/shop/api:1.4.2 registry.example.com/shop/worker:latest
post "$tmp/denied.json"
message="$(answer .response.status.message)"
check "denied: HTTP 200 with allowed false" [ "$code" = 200 -a "$(answer .response.allowed)" = false ]
check "denied: status.code 403" [ "$(answer .response.status.code)" = 403 ]
check "denied: message names the container ($message)" grep -q "worker" <<<"$message"
check "denied: message names the image" grep -q "registry.example.com/shop/worker:latest" <<<"$message"
if grep -q "api" <<<"$(echo "$message" | sed 's/registry.example.com\/shop\/worker:latest//')"; then
  fail "denied: the allowed container should not be blamed: $message"
else
  pass "denied: the allowed container is not blamed"
fi

# Warned: allowed, with a warning.
review "$tmp/warned.json" shop v1 false docker.io/library/nginx:latest
post "$tmp/warned.json"
check "warned: allowed" [ "$(answer .response.allowed)" = true ]
check "warned: a warning is returned ($(answer '.response.warnings[0]'))" [ "$(answer '.response.warnings | length')" -ge 1 ]

# Dry run: the same decision, marked in the decision log.
review "$tmp/dry.json" dry-ns v1 true registry.example.com/shop/worker:latest
post "$tmp/dry.json"
check "dry-run: still denied" [ "$(answer .response.allowed)" = false ]
sleep 0.2
check "dry-run: the decision log says dryRun" grep -q '"dryRun":true' "$tmp/decisions.log"

# v1beta1 in, v1beta1 out.
review "$tmp/beta.json" shop v1beta1 false registry.example.com/shop/api:1.4.2
post "$tmp/beta.json"
check "v1beta1: apiVersion echoed" [ "$(answer .apiVersion)" = admission.k8s.io/v1beta1 ]
check "v1beta1: allowed" [ "$(answer .response.allowed)" = true ]

# Conformance reviews captured from clusters: every well-formed one is answered in its own version.
for f in 01_deployment 02_pod 03_replicaset 04_cronjob 05_replication_controller 07_statefulset 08_job \
  09_dply_multi_image 10_update 19_pod_initcontainer 23_alice_digest_dpl; do
  post "$samples/$f.json"
  want_version="$(jq -r .apiVersion "$samples/$f.json")"
  want_uid="$(jq -r .request.uid "$samples/$f.json")"
  if [ "$code" = 200 ] && [ "$(answer .apiVersion)" = "$want_version" ] && [ "$(answer .response.uid)" = "$want_uid" ] &&
    [ "$(answer '.response.allowed | type')" = boolean ]; then
    pass "conformance $f: answered ($want_version, allowed=$(answer .response.allowed))"
  else
    fail "conformance $f: HTTP $code $(head -c 300 "$tmp/answer.json")"
  fi
done
for f in 21_broken_admission_request 25_null_request; do
  post "$samples/$f.json"
  check "conformance $f: HTTP 400 ($(answer .error))" [ "$code" = 400 ]
done

# Malformed and oversized bodies.
printf '{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": ' >"$tmp/malformed.json"
post "$tmp/malformed.json"
check "malformed JSON: HTTP 400 with a JSON error" [ "$code" = 400 -a -n "$(answer .error)" ]
echo '{}' >"$tmp/empty.json"
post "$tmp/empty.json"
check "not an AdmissionReview: HTTP 400" [ "$code" = 400 ]
head -c $((9 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$tmp/huge.json"
post "$tmp/huge.json"
check "oversized (9 MiB): HTTP 413 ($(answer .error))" [ "$code" = 413 ]
post "$tmp/huge.json" -H 'Expect:'
check "oversized without Expect: 100-continue: HTTP 413" [ "$code" = 413 ]
check "wrong method: 405" [ "$(curl -sS --cacert "$tmp/tls.crt" -o /dev/null -w '%{http_code}' "https://localhost:$port/validate")" = 405 ]
check "unknown path: 404" [ "$(get /nope)" = 404 ]

# Policy reload: a good policy changes the decision; a bad one is rejected and the old stays.
review "$tmp/latest.json" shop v1 false registry.example.com/shop/api:latest
post "$tmp/latest.json"
check "before reload: latest denied" [ "$(answer .response.allowed)" = false ]
write_policy relaxed
changed=no
for _ in $(seq 1 50); do
  post "$tmp/latest.json"
  [ "$(answer .response.allowed)" = true ] && { changed=yes; break; }
  sleep 0.1
done
check "good reload: the decision changes" [ $changed = yes ]
printf 'apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nspec:\n  rules: [\n' >"$tmp/policy.new"
mv -f "$tmp/policy.new" "$tmp/policy.yaml"
failures=0
for _ in $(seq 1 50); do
  failures="$(curl -sS --cacert "$tmp/tls.crt" "https://localhost:$port/metrics" |
    sed -nE 's/^imagegate_policy_reloads_total\{result="failure"\} ([0-9]+).*/\1/p')"
  [ "${failures:-0}" -ge 1 ] && break
  sleep 0.1
done
check "bad reload: counted in imagegate_policy_reloads_total{result=\"failure\"}" [ "${failures:-0}" -ge 1 ]
post "$tmp/latest.json"
check "bad reload: the previous (relaxed) policy stays in force" [ "$(answer .response.allowed)" = true ]
check "bad reload: still ready" [ "$(get /readyz)" = 200 ]
rejected="$(grep '"msg":"policy file rejected' "$tmp/server.log" | tail -1)"
check "bad reload: one line, the loader's errors as an array ($(head -c 300 <<<"$rejected"))" \
  [ "$(json_get "$rejected" 'type(d["errors"]).__name__')" = list -a "$(json_get "$rejected" 'len(d["errors"]) >= 1')" = true ]
check "bad reload: the line says the current policy stays, and which" \
  [ "$(json_get "$rejected" 'd["msg"]')" = "policy file rejected; keeping the current policy" -a \
    -n "$(json_get "$rejected" 'd["keptVersion"]')" ]
check "bad reload: no diagnostic on a line of its own" [ -z "$(grep -v '^{' "$tmp/server.log")" ]

# Metrics.
get /metrics >/dev/null
metric() { grep -E "^$1" "$tmp/get.out" | head -1; }
check "metrics: content type" [ -n "$(curl -sS --cacert "$tmp/tls.crt" -D - -o /dev/null "https://localhost:$port/metrics" | grep -i '^content-type: text/plain; version=0.0.4')" ]
check "metrics: denied reviews counted" [ -n "$(metric 'imagegate_admission_reviews_total\{operation="CREATE",decision="denied"\} [1-9]')" ]
check "metrics: allowed reviews counted" [ -n "$(metric 'imagegate_admission_reviews_total\{operation="CREATE",decision="allowed"\} [1-9]')" ]
check "metrics: warned reviews counted" [ -n "$(metric 'imagegate_admission_reviews_total\{operation="CREATE",decision="warned"\} [1-9]')" ]
check "metrics: review latency histogram" [ -n "$(metric 'imagegate_admission_review_duration_seconds_bucket')" ]
check "metrics: policy loaded" [ -n "$(metric 'imagegate_policy_loaded 1')" ]
check "metrics: 413 answers counted" [ -n "$(metric 'imagegate_http_requests_total\{code="413"\} [1-9]')" ]
check "metrics: 404 answers counted" [ -n "$(metric 'imagegate_http_requests_total\{code="404"\} [1-9]')" ]
for series in process_cpu_seconds_total process_resident_memory_bytes process_open_fds process_start_time_seconds \
  'imagegate_build_info\{version="[^"]+"\} 1' 'imagegate_tls_certificate_expiry_seconds [0-9]+'; do
  check "metrics: $series" [ -n "$(metric "$series")" ]
done
cert_end="$(date -d "$(openssl x509 -in "$tmp/tls.crt" -noout -enddate | cut -d= -f2)" +%s)"
check "metrics: the certificate's expiry is its notAfter ($cert_end)" \
  [ -n "$(metric "imagegate_tls_certificate_expiry_seconds $cert_end\$")" ]
plain="$(curl -sS -o "$tmp/plain.out" -w '%{http_code}' "http://127.0.0.1:$metrics_port/metrics")"
check "metricsListen: /metrics over plain HTTP (HTTP $plain)" \
  [ "$plain" = 200 -a -n "$(grep -E '^imagegate_admission_reviews_total\{operation="CREATE",decision="denied"\} [1-9]' "$tmp/plain.out")" ]
check "metricsListen: only /metrics (404 for /healthz)" \
  [ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$metrics_port/healthz")" = 404 ]
check "metricsListen: only /metrics (404 for /validate)" \
  [ "$(curl -sS -o /dev/null -w '%{http_code}' --data-binary "@$tmp/allowed.json" "http://127.0.0.1:$metrics_port/validate")" = 404 ]

# SIGTERM with a review in flight: a 300 KB review uploaded at 100 KB/s is still arriving when the signal
# comes; it is answered, then the server exits 0, and new connections are refused.
jq -c '.request.object.metadata.annotations = {padding: ("x" * 300000)}' "$tmp/allowed.json" >"$tmp/slow.json"
curl -sS --cacert "$tmp/tls.crt" -H 'Content-Type: application/json' --data-binary "@$tmp/slow.json" \
  --limit-rate 100K -o "$tmp/slow.answer" -w '%{http_code}' "https://localhost:$port/validate?timeout=10s" \
  >"$tmp/slow.code" 2>"$tmp/slow.err" &
slow_pid=$!
track_pid "$slow_pid"
sleep 1
kill -TERM "$server_pid"
sleep 0.3
refused="$(curl -sS --cacert "$tmp/tls.crt" -o /dev/null -w '%{http_code}' "https://localhost:$port/healthz" 2>/dev/null)"
wait "$slow_pid"
wait "$server_pid"
rc=$?
server_pid=""
check "SIGTERM: exit 0 (got $rc)" [ $rc = 0 ]
check "SIGTERM: the review in flight was answered ($(cat "$tmp/slow.code") $(cat "$tmp/slow.err"))" \
  [ "$(cat "$tmp/slow.code")" = 200 -a "$(jq -r .response.allowed "$tmp/slow.answer" 2>/dev/null)" = true ]
check "SIGTERM: no new connections while stopping (curl: $refused)" [ "$refused" != 200 ]
check "SIGTERM: logged" grep -q '"msg":"stopping' "$tmp/server.log"
check "SIGTERM: the stopped line" grep -q '"msg":"stopped"' "$tmp/server.log"
check "every stderr and stdout line of the run is JSON with time, level, msg first" \
  every_line_is_a_log_line "$tmp/server.log" "$tmp/decisions.log"
check "the decision log keeps its fields (docs/api.md)" [ "$(jq -r 'select(.uid) | [has("uid"), has("apiVersion"),
  has("operation"), has("kind"), has("resource"), has("subResource"), has("namespace"), has("name"), has("user"),
  has("dryRun"), has("policyVersion"), has("decision"), has("durationMs"), has("images")] | all' "$tmp/decisions.log" |
  sort -u)" = true ]

# A policy that does not load stops the start: exit 2 with the diagnostics.
printf 'apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nspec:\n  bogus: 1\n' >"$tmp/bad-policy.yaml"
"$bin" serve --policy "$tmp/bad-policy.yaml" --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" \
  --listen 127.0.0.1:0 >/dev/null 2>"$tmp/bad.log"
rc=$?
check "invalid policy at start: exit 2 (got $rc)" [ $rc = 2 ]
check "invalid policy at start: diagnostics name the file" grep -q "bad-policy.yaml" "$tmp/bad.log"
check "invalid policy at start: every line JSON with time, level, msg first" every_line_is_a_log_line "$tmp/bad.log"
check "invalid policy at start: says no policy is in force" grep -q '"msg":"policy file rejected; no policy in force"' "$tmp/bad.log"
check "invalid policy at start: never 'keeping the current policy'" [ -z "$(grep keeping "$tmp/bad.log")" ]
"$bin" serve --policy "$tmp/bad-policy.yaml" --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" \
  --listen 127.0.0.1:0 --log-format text >/dev/null 2>"$tmp/bad-text.log"
check "--log-format text: TIME LEVEL msg key=value lines ($(head -c 200 "$tmp/bad-text.log"))" \
  [ -n "$(grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z ERROR policy file rejected; no policy in force file=' "$tmp/bad-text.log")" -a \
    -z "$(grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z (INFO|WARN|ERROR) ' "$tmp/bad-text.log")" ]
"$bin" serve --config "$tmp/imagegate.yaml" --grace-period 10 >/dev/null 2>"$tmp/bad.log"
check "bad flag value: exit 2" [ $? = 2 ]
printf 'listen: "127.0.0.1:0"\ntlss: {}\n' >"$tmp/typo.yaml"
"$bin" serve --config "$tmp/typo.yaml" >/dev/null 2>"$tmp/bad.log"
rc=$?
check "unknown config key: exit 2 naming file:line ($(head -c 200 "$tmp/bad.log"))" \
  [ $rc = 2 -a -n "$(grep -F "typo.yaml:2:1: tlss: unknown key" "$tmp/bad.log")" ]

# The embedded demo: no policy, no certificate; the printed curl line works and one container is denied.
start_server --listen 127.0.0.1:0
curl_line="$(jq -r 'select(.try) | .try' "$tmp/server.log" | head -1)"
demo_dir="$(grep -m1 '"msg":"listening"' "$tmp/server.log" | jq -r .demoDir)"
check "demo: prints a curl line" [ -n "$curl_line" ]
check "demo: self-signed certificate and policy written to $demo_dir" [ -s "$demo_dir/tls.crt" -a -s "$demo_dir/policy.yaml" ]
check "demo: the key is private" [ "$(stat -c %a "$demo_dir/tls.key")" = 600 ]
demo_answer="$(eval "$curl_line -sS" 2>&1)"
check "demo: the example review is denied for the one bad container ($(jq -r .response.status.message <<<"$demo_answer" 2>/dev/null))" \
  [ "$(jq -r .response.allowed <<<"$demo_answer" 2>/dev/null)" = false -a -n "$(jq -r .response.status.message <<<"$demo_answer" | grep miner)" ]
kill -TERM "$server_pid"
wait "$server_pid"
check "demo: SIGTERM exit 0" [ $? = 0 ]
server_pid=""
rm -rf "$demo_dir"

finish

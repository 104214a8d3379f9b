#!/usr/bin/env bash
# Memory benchmark through the real path: `imagegate serve` against Debian's docker-registry (TLS) on
# 127.0.0.1, with a policy that checks a cosign signature and a scan verdict (SQLite store) for every image.
# It sends reviews of DIGESTS distinct image digests (default 100,000; none is signed, so each is a cold
# signature lookup: the `.sig` tag and the referrers fallback answer 404, and "no signature" is cached like
# any decided answer; the verdict lookup finds none and caches that too), then reports resident memory:
# idle at start, after the fill, and per cached digest, beside the number of cache entries the metrics show.
#
#   bench/memory.sh [BINARY] [DIGESTS] [CLIENTS]     (defaults: build/imagegate, 100000, 8)
# docs/BENCHMARKS.md ("Memory") records a run. Targets (issue 15): idle < 50 MiB; 100k digests < 200 MiB.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$src/build/imagegate}"
digests="${2:-100000}"
clients="${3:-8}"
E2E_TMP="" ; source "$src/tests/e2e/lib.sh"
make_temp_dir
T="$E2E_TMP"

make_ca
rp="$(free_port)"; sp="$(free_port)"
start_registry registry "$rp"
reg="127.0.0.1:$rp"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.key" 2>/dev/null
openssl pkey -in "$T/ec.key" -pubout -out "$T/ec.pub"
cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: memory}
spec:
  noMatch: deny
  trustAnchors: [{name: release, cosign: {keyFile: $T/ec.pub}}]
  rules:
    - name: signed-and-scanned
      match: {images: ["**"]}
      signatures: {anchors: [release]}
      vulnerabilities: {maxSeverity: HIGH, onMissing: deny}
YML
"$bin" serve --policy "$T/policy.yaml" --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --listen "127.0.0.1:$sp" \
  --ca-file "$T/ca.pem" --store "sqlite:$T/verdicts.db" --threads 2 >/dev/null 2>"$T/serve.log" &
pid=$!
track_pid "$pid"
wait_for_port "$sp" 15 || die "serve did not start: $(cat "$T/serve.log")"
sleep 1
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
idle="$(rss)"

start=$(date +%s)
python3 - "$sp" "$T/ca.pem" "$reg" "$digests" "$clients" <<'PY'
import hashlib, http.client, json, ssl, sys, threading
port, ca, reg, total, clients = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
context = ssl.create_default_context(cafile=ca)
denied = [0] * clients
def review(i):
    digest = "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": f"u{i}", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "default",
        "operation": "CREATE", "userInfo": {"username": "bench"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}"},
                   "spec": {"containers": [{"name": "c", "image": f"{reg}/bench/app@{digest}"}]}}}})
def client(k):
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    for i in range(k, total, clients):
        conn.request("POST", "/validate?timeout=10s", review(i), {"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
        denied[k] += not answer["response"]["allowed"]
threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
if sum(denied) != total: sys.exit(f"expected {total} denials (unsigned images), got {sum(denied)}")
PY
elapsed=$(( $(date +%s) - start ))
sleep 2
filled="$(rss)"
peak="$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")"
metrics="$(curl -s --cacert "$T/ca.pem" "https://127.0.0.1:$sp/metrics")"
python3 - "$idle" "$filled" "$peak" "$digests" "$elapsed" <<PY
import sys
idle, filled, peak = (int(x) / 1024 for x in sys.argv[1:4])
n, secs = int(sys.argv[4]), int(sys.argv[5])
print(f"{n} distinct digests reviewed in {secs} s ({n / max(secs, 1):.0f} reviews/s), every one denied (unsigned)")
print(f"resident memory: idle {idle:.1f} MiB (target < 50: {'met' if idle < 50 else 'MISSED'}), "
      f"after {n} digests {filled:.1f} MiB (target < 200: {'met' if filled < 200 else 'MISSED'}), peak {peak:.1f} MiB")
print(f"per cached digest: {(filled - idle) * 1024 * 1024 / n:.0f} bytes")
PY
grep -E '^imagegate_(signature|verdict|registry)_cache' <<<"$metrics" || true

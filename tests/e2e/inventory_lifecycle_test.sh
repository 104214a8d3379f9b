#!/usr/bin/env bash
# The inventory follows the cluster (issue #7, "Inventory"): a real `imagegate serve` with a SQLite store,
# fed the AdmissionReviews the API server sends. CREATE lists a workload; an UPDATE to another digest
# removes the old one (a CRITICAL verdict for it is then no violation); a dry-run DELETE changes nothing;
# a DELETE removes the workload (and violations stop listing it); deleting a ReplicaSet also forgets its
# pods (recorded under their generateName); `imagegate inventory prune` (DELETE /api/v1/inventory,
# read-write token) removes entries last seen before --older-than and nothing newer.
# Then the install's second webhook, inventory.imagegate.dev, as the chart and kustomize render it:
# the checker (tests/install/check_rules.py) accepts both and rejects broken variants (Fail, CREATE,
# missing, a long timeout).
source "$(dirname "$0")/lib.sh"
require_cmd curl openssl python3 kubectl
make_temp_dir
bin="${IMAGEGATE_BINARY:?}"
src="${IMAGEGATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
conf="${IMAGEGATE_CONFORMANCE_DIR:?}/scan-reports"
tmp="$E2E_TMP"

make_self_signed_cert "$tmp"
printf 'rw:write-token-0123456789abcdef\nro:read-token-0123456789abcdef\n' >"$tmp/tokens"
echo read-token-0123456789abcdef >"$tmp/ro.tok"
echo rw:write-token-0123456789abcdef >"$tmp/rw.tok"
write_scan_policy "$tmp/policy.yaml" inventory-lifecycle

digest() { printf 'sha256:%064x' "$1"; }
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
native() { printf '{"format":"imagegate.verdict/v1","digest":"%s","scanner":"e2e","scannedAt":"%s","vulnerabilities":[]}' "$(digest "$1")" "$now" >"$tmp/native-$1.json"; }

port=$(free_port); api=$(free_port)
"$bin" serve --policy "$tmp/policy.yaml" --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" \
  --listen "127.0.0.1:$port" --api-listen "127.0.0.1:$api" --api-token-file "$tmp/tokens" \
  --store "sqlite:$tmp/verdicts.db" >"$tmp/decisions.log" 2>"$tmp/server.log" &
pid=$!
track_pid "$pid"
wait_for_port "$api" 15 || die "server did not start: $(tail -3 "$tmp/server.log")"
wait_for_port "$port" 15 || die "server did not start: $(tail -3 "$tmp/server.log")"

push() {  # DIGEST FILE
  curl -s --cacert "$tmp/tls.crt" -o /dev/null -w '%{http_code}' -X PUT -H 'Authorization: Bearer write-token-0123456789abcdef' \
    --data-binary "@$2" "https://127.0.0.1:$api/api/v1/verdicts/$1"
}
api_get() { curl -s --cacert "$tmp/tls.crt" -H 'Authorization: Bearer read-token-0123456789abcdef' "https://127.0.0.1:$api$1"; }
send() { curl -s -m 15 --cacert "$tmp/tls.crt" -H 'Content-Type: application/json' --data-binary @- "https://127.0.0.1:$port/validate"; }
# write OPERATION KIND NAME IMAGE DRY_RUN [GENERATE_NAME]: a CREATE or UPDATE review of a pod-template kind
# (a Pod when KIND is Pod); with GENERATE_NAME the object has no name, as the API server admits pods a
# controller makes.
write() {
  local op="$1" kind="$2" name="$3" image="$4" dry="$5" gen="${6:-}" group=apps resource meta spec
  resource="$(echo "$kind" | tr 'A-Z' 'a-z')s"
  meta="{\"name\":\"$name\"}"
  [ -n "$gen" ] && meta="{\"generateName\":\"$gen\"}"
  spec="{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"$image\"}]}}}"
  if [ "$kind" = Pod ]; then group=""; spec="{\"containers\":[{\"name\":\"c\",\"image\":\"$image\"}]}"; fi
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-%s","kind":{"group":"%s","version":"v1","kind":"%s"},"resource":{"group":"%s","version":"v1","resource":"%s"},"name":"%s","namespace":"prod","operation":"%s","dryRun":%s,"object":{"apiVersion":"%s","kind":"%s","metadata":%s,"spec":%s}}}' \
    "$name$gen" "$group" "$kind" "$group" "$resource" "$name" "$op" "$dry" "${group:+$group/}v1" "$kind" "$meta" "$spec" | send
}
# delete KIND NAME DRY_RUN: a DELETE review as the API server sends it (object null, oldObject set).
delete() {
  local group=apps resource
  resource="$(echo "$1" | tr 'A-Z' 'a-z')s"
  [ "$1" = Pod ] && group=""
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"d-%s","kind":{"group":"%s","version":"v1","kind":"%s"},"resource":{"group":"%s","version":"v1","resource":"%s"},"name":"%s","namespace":"prod","operation":"DELETE","dryRun":%s,"object":null,"oldObject":{"apiVersion":"%s","kind":"%s","metadata":{"name":"%s"}}}}' \
    "$2" "$group" "$1" "$group" "$resource" "$2" "$3" "${group:+$group/}v1" "$1" "$2" | send
}
# entries: "Kind/name=digest-number" of every inventory entry, sorted, space-separated.
entries() {
  json_get "$(api_get /api/v1/inventory)" '" ".join(sorted(i["kind"]+"/"+i["name"]+"="+str(int(i["digest"][7:],16)) for i in d["items"]))'
}
# barrier: a fresh workload, waited for in the inventory. The recorder writes changes in the order they
# came, so once it shows, every change sent before it is written. Barriers are then left out of entries.
n_barrier=0
barrier() {
  n_barrier=$((n_barrier + 1))
  write CREATE Deployment "barrier$n_barrier" "docker.io/library/busybox@$(digest 99)" false >/dev/null
  for _ in $(seq 1 50); do
    [[ "$(entries)" == *"Deployment/barrier$n_barrier=99"* ]] && return 0
    sleep 0.1
  done
  fail "barrier $n_barrier reached the inventory" "$(api_get /api/v1/inventory)"
}
workloads() { entries | tr ' ' '\n' | grep -v '^Deployment/barrier' | tr '\n' ' ' | sed 's/ $//'; }
violations() { json_get "$(api_get /api/v1/inventory/violations)" '",".join(sorted(v["name"]+"="+str(int(v["digest"][7:],16)) for v in d["violations"]))'; }

native 1; native 2
assert_eq "push clean verdicts for digests 1 and 2" "200 200" "$(push "$(digest 1)" "$tmp/native-1.json") $(push "$(digest 2)" "$tmp/native-2.json")"

# CREATE, then UPDATE to another digest.
assert_contains "CREATE web (digest 1) allowed" "$(write CREATE Deployment web "registry.example.com/app@$(digest 1)" false)" '"allowed":true'
barrier
assert_eq "web is listed with digest 1" "Deployment/web=1" "$(workloads)"
assert_contains "UPDATE web to digest 2 allowed" "$(write UPDATE Deployment web "registry.example.com/app@$(digest 2)" false)" '"allowed":true'
assert_contains "a dry-run UPDATE to digest 3 allowed" "$(write UPDATE Deployment web "docker.io/library/nginx@$(digest 3)" true)" '"allowed":true'
barrier
assert_eq "after the UPDATE web runs digest 2 only (the dry run changed nothing)" "Deployment/web=2" "$(workloads)"

# Violations follow: the old digest turning CRITICAL is no violation; the running one is.
assert_eq "push a CRITICAL verdict for the replaced digest 1" 200 "$(push "$(digest 1)" "$conf/trivy/alpine-39.json.golden")"
assert_eq "no violation: nothing runs digest 1 any more" "" "$(violations)"
assert_eq "push a CRITICAL verdict for the running digest 2" 200 "$(push "$(digest 2)" "$conf/trivy/alpine-39.json.golden")"
assert_eq "violations list web running digest 2" "web=2" "$(violations)"

# DELETE: a dry run changes nothing; a real one removes the workload.
out=$(delete Deployment web true)
assert_contains "a dry-run DELETE is allowed" "$out" '"allowed":true'
barrier
assert_eq "after a dry-run DELETE web is still listed" "Deployment/web=2" "$(workloads)"
out=$(delete Deployment web false)
assert_contains "a DELETE is allowed" "$out" '"allowed":true'
barrier
assert_eq "after the DELETE web is gone" "" "$(workloads)"
assert_eq "violations no longer list the deleted workload" "" "$(violations)"

# A ReplicaSet and the pods it made (admitted under their generateName), a lone Pod, a StatefulSet.
write CREATE ReplicaSet api-7d9f8 "docker.io/library/nginx@$(digest 4)" false >/dev/null
write CREATE Pod "" "docker.io/library/nginx@$(digest 4)" false api-7d9f8- >/dev/null
write CREATE Pod solo "docker.io/library/nginx@$(digest 5)" false >/dev/null
write CREATE StatefulSet db "docker.io/library/postgres@$(digest 6)" false >/dev/null
barrier
assert_eq "ReplicaSet, its pods, a Pod and a StatefulSet listed" "Pod/api-7d9f8-=4 Pod/solo=5 ReplicaSet/api-7d9f8=4 StatefulSet/db=6" "$(workloads)"
delete Pod api-7d9f8-x2k4q false >/dev/null  # one of the ReplicaSet's pods: the others still run
barrier
assert_eq "deleting one pod of a ReplicaSet keeps the entry" "Pod/api-7d9f8-=4 Pod/solo=5 ReplicaSet/api-7d9f8=4 StatefulSet/db=6" "$(workloads)"
delete ReplicaSet api-7d9f8 false >/dev/null
delete Pod solo false >/dev/null
barrier
assert_eq "deleting the ReplicaSet forgets its pods; the Pod goes by its name" "StatefulSet/db=6" "$(workloads)"

# Prune: the retention backstop.
run_capture "$bin" inventory prune --older-than 2s --server "https://127.0.0.1:$api" --token-file "$tmp/ro.tok" --cacert "$tmp/tls.crt"
assert_rc "prune with a read-only token: exit 2" 2
assert_contains "prune with a read-only token: 403" "$ERR" "403"
assert_eq "prune without a duration is refused by the server" 400 "$(curl -s --cacert "$tmp/tls.crt" -o /dev/null -w '%{http_code}' -X DELETE -H 'Authorization: Bearer write-token-0123456789abcdef' "https://127.0.0.1:$api/api/v1/inventory")"
assert_eq "nothing was removed by the refused prunes" "StatefulSet/db=6" "$(workloads)"
sleep 3
write CREATE Deployment fresh "docker.io/library/nginx@$(digest 7)" false >/dev/null
barrier
assert_eq "fresh and db listed" "Deployment/fresh=7 StatefulSet/db=6" "$(workloads)"
run_capture "$bin" inventory prune --older-than 2s --server "https://127.0.0.1:$api" --token-file "$tmp/rw.tok" --cacert "$tmp/tls.crt"
assert_rc "imagegate inventory prune --older-than 2s (rw token)" 0
assert_match "prune says how many it removed" "$OUT" '^removed [1-9][0-9]* inventory entries last seen before [0-9-]+T[0-9:]+Z'
assert_eq "prune removed what was last seen 3 s ago, kept what is newer" "Deployment/fresh=7" "$(workloads)"
run_capture "$bin" inventory prune --older-than 30d -o json --server "https://127.0.0.1:$api" --token-file "$tmp/rw.tok" --cacert "$tmp/tls.crt"
assert_rc "prune --older-than 30d -o json" 0
assert_eq "nothing is 30 days old" 0 "$(json_get "$OUT" 'd["removed"]')"

metrics=$(curl -s --cacert "$tmp/tls.crt" "https://127.0.0.1:$port/metrics")
assert_contains "no inventory write failed" "$metrics" 'imagegate_inventory_records_total{result="failed"} 0'
assert_contains "no change was dropped" "$metrics" 'imagegate_inventory_records_total{result="dropped"} 0'
assert_match "DELETE reviews are counted as allowed" "$metrics" 'imagegate_admission_reviews_total\{operation="DELETE",decision="allowed"\} [1-9]'
kill -0 "$pid" && pass "the server is still running" || fail "the server died"
stop_pid "$pid"

# ---- the install: the inventory webhook ------------------------------------------------------------
py=/usr/bin/python3
tools="$src/tests/install"
if "$py" -c 'import yaml' 2>/dev/null; then
  "$py" "$tools/helm_render.py" "$src/charts/imagegate" >"$tmp/chart.yaml" 2>"$tmp/render.err" || fail "chart renders" "$(cat "$tmp/render.err")"
  cp -r "$src/manifests" "$tmp/manifests"
  kubectl kustomize "$tmp/manifests/base" >"$tmp/kustomize.yaml" 2>"$tmp/kustomize.err" || fail "kustomize renders" "$(cat "$tmp/kustomize.err")"
  hook() {  # FILE EXPR: a field of the inventory webhook
    "$py" -c 'import sys,yaml
o=[o for o in yaml.safe_load_all(open(sys.argv[1])) if o and o["kind"]=="ValidatingWebhookConfiguration"][0]
h=[h for h in o["webhooks"] if h["name"]=="inventory.imagegate.dev"]
print(eval(sys.argv[2]) if h else "absent")' "$1" "$2"
  }
  for f in chart kustomize; do
    assert_eq "$f: inventory.imagegate.dev is DELETE only, failurePolicy Ignore, 5 s, NoneOnDryRun, /validate" \
      "['DELETE'] Ignore 5 NoneOnDryRun /validate" \
      "$(hook "$tmp/$f.yaml" '" ".join([str(sorted({op for r in h[0]["rules"] for op in r["operations"]})), h[0]["failurePolicy"], str(h[0]["timeoutSeconds"]), h[0]["sideEffects"], h[0]["clientConfig"]["service"]["path"]])')"
  done
  run_capture "$py" "$tools/check_rules.py" --tls secret "$tmp/chart.yaml"
  assert_rc "check_rules accepts the chart's webhooks" 0
  run_capture "$py" "$tools/check_rules.py" --no-inventory-webhook --tls secret "$tmp/chart.yaml"
  assert_rc "(check_rules --no-inventory-webhook refuses a render that has it)" 1
  # Broken variants of the inventory webhook (the second entry) must be rejected.
  i=0
  while IFS='|' read -r path value why; do
    i=$((i + 1))
    "$py" "$tools/mutate.py" "$tmp/chart.yaml" ValidatingWebhookConfiguration "$path" "$value" >"$tmp/bad-$i.yaml"
    run_capture "$py" "$tools/check_rules.py" --tls secret "$tmp/bad-$i.yaml"
    assert_rc "(check_rules rejects $why)" 1
    assert_contains "(... and says so: $why)" "$OUT$ERR" "inventory.imagegate.dev"
  done <<'EOF'
webhooks.1.failurePolicy|"Fail"|failurePolicy Fail on the DELETE webhook
webhooks.1.rules.0.operations|["DELETE","CREATE"]|CREATE on the DELETE webhook
webhooks.1.timeoutSeconds|15|a 15 s timeout on the DELETE webhook
webhooks.1.rules.1|__delete__|deployments not covered for DELETE
webhooks.1|__delete__|no inventory webhook
webhooks.1.namespaceSelector|__delete__|the DELETE webhook seeing kube-system
EOF
else
  fail "python3-yaml is needed for the install checks"
fi
finish

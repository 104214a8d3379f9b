#!/usr/bin/env bash
# Registry answers shared by two `imagegate serve` processes through Redis (`--store redis://...`), as the
# chart's replicas: reviews of one tag sent concurrently to both, and then again, make ONE manifest request
# in the real registry's access log (Debian's docker-registry, TLS from a test CA, log level info); a tag
# resolved by one process is taken from Redis by the other (imagegate_shared_cache_total{result="hit"});
# the Redis keys carry no credentials; with Redis stopped, each process asks the registry itself and
# reviews are still decided.
source "$(dirname "$0")/lib.sh"
require_cmd docker-registry skopeo openssl python3 curl redis-server redis-cli
bin="${IMAGEGATE_BINARY:?}"
make_temp_dir
T="$E2E_TMP"

make_ca
make_server_cert "$T" tls
rp="$(free_port)"
REGISTRY_LOG_LEVEL=info start_registry reg "$rp"
reg="127.0.0.1:$rp"
push_image seed1 "$reg/team/shared:v1"
push_image seed2 "$reg/team/later:v1"
push_image seed3 "$reg/team/down:v1"
push_image seed4 "$reg/team/held:v1"
want="$(raw_digest "$reg/team/shared:v1")"

redis_port="$(free_port)"
start_redis "$redis_port"
redis_pid="$REDIS_PID"

cat >"$T/policy.yaml" <<YML
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: shared-cache}
spec:
  mode: enforce
  failurePolicy: closed
  noMatch: deny
  rules:
    - name: pinned
      match: {images: ["$reg/**"]}
      pinDigest: true
YML
cat >"$T/serve.yaml" <<YML
policy: $T/policy.yaml
listen: 127.0.0.1:0
tls: {certFile: $T/tls.crt, keyFile: $T/tls.key}
store: redis://127.0.0.1:$redis_port/0
registry:
  caFiles: [$T/ca.pem]
  tagCacheTTL: 60s
YML
declare -A port pid
for s in a b; do
  start_imagegate "$bin" "$T/decisions-$s.log" "$T/serve-$s.log" --config "$T/serve.yaml"
  port[$s]="$SERVER_PORT"
  pid[$s]="$SERVER_PID"
done

review_body() {  # IMAGE UID
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"%s","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","userInfo":{"username":"t"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"%s"}]}}}}' "$2" "$1"
}
review() {  # SERVER IMAGE: the answer in $OUT
  review_body "$2" u1 >"$T/review.json"
  run_capture curl -sS --cacert "$T/ca.pem" -H 'Content-Type: application/json' --data-binary @"$T/review.json" \
    "https://127.0.0.1:${port[$1]}/validate?timeout=10s"
}
manifest_requests() {  # REPO TAG: HEAD/GET lines for it in the registry's access log since the servers started
  local all base_var="base_${1//[^a-z]/_}_$2"
  all="$(grep -cE "\"(HEAD|GET) /v2/$1/manifests/$2 " "$T/reg.log" || true)"
  echo $((all - ${!base_var:-0}))
}
# The pushes and raw_digest (skopeo) asked for these tags too: count from here on.
for repo in shared later down held; do
  eval "base_team_${repo}_v1=$(grep -cE "\"(HEAD|GET) /v2/team/$repo/manifests/v1 " "$T/reg.log" || true)"
done
# concurrent IMAGE N ROUND: N reviews of IMAGE to each server at once; prints how many were allowed.
concurrent() {
  local image="$1" n="$2" round="$3" args=() i s
  for s in a b; do
    for i in $(seq 1 "$n"); do
      review_body "$image" "$round-$s-$i" >"$T/r-$round-$s-$i.json"
      [ ${#args[@]} -gt 0 ] && args+=(--next)
      args+=(--cacert "$T/ca.pem" -H 'Content-Type: application/json' --data-binary @"$T/r-$round-$s-$i.json"
             -o "$T/a-$round-$s-$i.json" "https://127.0.0.1:${port[$s]}/validate?timeout=10s")
    done
  done
  curl -sS --parallel --parallel-max 100 "${args[@]}" 2>"$T/curl-$round.err"
  local allowed=0
  for s in a b; do
    for i in $(seq 1 "$n"); do grep -q '"allowed":true' "$T/a-$round-$s-$i.json" && allowed=$((allowed + 1)); done
  done
  echo "$allowed"
}
metric() {  # SERVER RESULT: imagegate_shared_cache_total{result=RESULT} of that server (empty when absent)
  curl -sS --cacert "$T/ca.pem" "https://127.0.0.1:${port[$1]}/metrics" |
    sed -nE "s/^imagegate_shared_cache_total\{result=\"$2\"\} ([0-9]+)$/\1/p"
}
metric_n() { local v; v="$(metric "$@")"; echo "${v:-0}"; }  # the same, 0 when absent

# ---- one tag, reviewed concurrently by both replicas, twice: one registry round trip ----
assert_eq "no manifest request before the reviews" 0 "$(manifest_requests team/shared v1)"
assert_eq "round 1: all 40 concurrent reviews on both servers allowed" 40 "$(concurrent "$reg/team/shared:v1" 20 one)"
assert_eq "round 1: ONE manifest request for the tag in the registry log" 1 "$(manifest_requests team/shared v1)"
assert_eq "round 2: all 40 reviews allowed again" 40 "$(concurrent "$reg/team/shared:v1" 20 two)"
assert_eq "round 2: still one manifest request" 1 "$(manifest_requests team/shared v1)"
review b "$reg/team/shared:v1"
assert_contains "the answer is the registry's digest (pinDigest)" "$OUT" '"allowed":true'
misses=$(( $(metric a miss) + $(metric b miss) ))
hits=$(( $(metric a hit) + $(metric b hit) ))
assert_eq "metrics: one replica computed the answer (miss 1 over both)" 1 "$misses"
assert_eq "metrics: the other took it from Redis (hit 1 over both)" 1 "$hits"
# Whether the other replica found the lease held (and waited) or the value already there depends on which
# reached Redis first: at most one wait. The wait itself is shown deterministically below, with a held lease.
waited=$(( $(metric_n a waited) + $(metric_n b waited) ))
[ "$waited" -le 1 ] && pass "metrics: at most one wait on the lease ($waited)" || fail "metrics: $waited waits on one lease"

# ---- resolved on a, then reviewed on b: b takes a's answer, the registry sees one request ----
b_hits_before="$(metric b hit)"
review a "$reg/team/later:v1"
assert_contains "a resolves a new tag" "$OUT" '"allowed":true'
review b "$reg/team/later:v1"
assert_contains "b allows it too" "$OUT" '"allowed":true'
assert_eq "one manifest request for the tag resolved on a and reviewed on b" 1 "$(manifest_requests team/later v1)"
assert_eq "metrics: a hit on the other process" "$((b_hits_before + 1))" "$(metric b hit)"

# ---- what Redis holds: hashed keys, the digest, no credentials ----
keys="$(redis-cli -p "$redis_port" --scan --pattern 'imagegate:cache:*')"
assert_eq "two shared answers (two tags)" 2 "$(grep -c . <<<"$keys")"
assert_eq "shared keys are sha256 of the lookup key" 0 \
  "$(grep -cvE '^imagegate:cache:registry:resolve:[0-9a-f]{64}$' <<<"$keys" || true)"
assert_not_contains "no registry name in the keys" "$keys" "team/"
assert_eq "no lease left behind" "" "$(redis-cli -p "$redis_port" --scan --pattern 'imagegate:claim:*')"
values="$(for k in $keys; do redis-cli -p "$redis_port" get "$k"; done)"
assert_contains "a shared value carries the registry's digest" "$values" "$want"

# ---- a lease held by another replica: b waits for its value, takes it, and asks the registry nothing ----
# The lease is set by hand (as a replica in the middle of a lookup holds it), so the wait is certain.
review a "$reg/team/held:v1"
assert_contains "a resolves the tag that will be held" "$OUT" '"allowed":true'
held_key="$(redis-cli -p "$redis_port" --scan --pattern 'imagegate:cache:*' | grep -vxF -f <(printf '%s\n' $keys))"
held_value="$(redis-cli -p "$redis_port" get "$held_key")"
claim_key="imagegate:claim:${held_key#imagegate:cache:}"
redis-cli -p "$redis_port" del "$held_key" >/dev/null
redis-cli -p "$redis_port" set "$claim_key" another-replica PX 20000 >/dev/null
b_waited_before="$(metric_n b waited)"
b_hits_before="$(metric b hit)"
review_body "$reg/team/held:v1" held >"$T/held.json"
curl -sS --cacert "$T/ca.pem" -H 'Content-Type: application/json' --data-binary @"$T/held.json" \
  -o "$T/held-answer.json" "https://127.0.0.1:${port[b]}/validate?timeout=10s" &
held_curl=$!
for _ in $(seq 1 100); do
  [ "$(metric b waited)" = "$((b_waited_before + 1))" ] && break
  sleep 0.05
done
assert_eq "metrics: b waits on the held lease (waited +1)" "$((b_waited_before + 1))" "$(metric b waited)"
kill -0 "$held_curl" 2>/dev/null && pass "b has not answered while the lease is held" || fail "b answered without waiting"
redis-cli -p "$redis_port" set "$held_key" "$held_value" PX 60000 >/dev/null
wait "$held_curl"
assert_contains "b allows with the value the lease holder published" "$(cat "$T/held-answer.json")" '"allowed":true'
assert_eq "metrics: b took it from Redis (hit +1)" "$((b_hits_before + 1))" "$(metric b hit)"
assert_eq "the registry saw only a's request for the held tag" 1 "$(manifest_requests team/held v1)"
redis-cli -p "$redis_port" del "$claim_key" >/dev/null

# ---- Redis stopped: each process asks the registry itself; reviews are still decided ----
stop_pid "$redis_pid"
review a "$reg/team/down:v1"
assert_contains "redis down: a still allows a resolvable tag" "$OUT" '"allowed":true'
review b "$reg/team/down:v1"
assert_contains "redis down: b too" "$OUT" '"allowed":true'
assert_eq "redis down: each replica made its own request" 2 "$(manifest_requests team/down v1)"
[ "$(metric a error)" -ge 1 ] && pass "metrics: Redis errors counted" || fail "metrics: Redis errors counted ($(metric a error))"
kill -0 "${pid[a]}" && kill -0 "${pid[b]}" && pass "both servers still running" || fail "a server died with Redis down"

# ---- an unreachable Redis at start fails serve, clearly ----
run_capture timeout 20 "$bin" serve --config "$T/serve.yaml" --listen 127.0.0.1:0
assert_rc "serve with Redis unreachable exits 2" 2
assert_contains "the message names the store" "$ERR" "redis://127.0.0.1:$redis_port"
finish

#!/usr/bin/env bash
# The container image, without a container engine: scripts/build-image.sh assembles the runtime image as an
# OCI layout and pushes it with skopeo to a real registry (Debian's docker-registry on 127.0.0.1, plain
# HTTP); the test pulls it back into a new layout, unpacks the layers into an empty root and runs the
# binary from there with chroot: `--version`, then `serve` as the image's user (65532) with the kustomize
# install's config and starter policy, answering /healthz, /readyz, /metrics and a real AdmissionReview.
# That proves the image carries everything the binary needs (libraries, loader, users, CA bundle).
source "$(dirname "$0")/lib.sh"
src="${IMAGEGATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
conformance="${IMAGEGATE_CONFORMANCE_DIR:-$src/../shared/conformance}"
binary="${IMAGEGATE_BINARY:-$src/build/imagegate}"
require_cmd skopeo docker-registry curl openssl python3 chroot tar
[ -x "$binary" ] || die "no imagegate binary at $binary (set IMAGEGATE_BINARY)"
[ "$(id -u)" -eq 0 ] || die "chroot needs root"
make_temp_dir
T="$E2E_TMP"

# ---- build ----
run_capture "$src/scripts/build-image.sh" --binary "$binary" --out "$T/oci" --tag test
assert_rc "build-image.sh writes an OCI layout" 0
run_capture skopeo inspect --config "oci:$T/oci:test"
assert_rc "skopeo reads the layout's image config" 0
config="$OUT"
assert_eq "config User is the non-root 65532" '65532:65532' "$(json_get "$config" 'd["config"]["User"]')"
assert_eq "config Entrypoint" '["/usr/local/bin/imagegate"]' "$(json_get "$config" 'd["config"]["Entrypoint"]')"
assert_eq "config ExposedPorts" '{"8443/tcp": {}}' "$(json_get "$config" 'd["config"]["ExposedPorts"]')"

# Reproducible: a second build gives the same manifest digest.
run_capture "$src/scripts/build-image.sh" --binary "$binary" --out "$T/oci2" --tag test
assert_eq "the layout is reproducible (same manifest digest)" \
  "$(json_get "$(cat "$T/oci/index.json")" 'd["manifests"][0]["digest"]')" \
  "$(json_get "$(cat "$T/oci2/index.json")" 'd["manifests"][0]["digest"]')"

# The Dockerfile (not buildable here: no container engine) installs, in its runtime stage, the Debian
# package of every shared library this binary loads, apart from what bookworm-slim already has.
dockerfile_ok=1
missing_pkgs=""
runtime_stage="$(sed -n '/^FROM debian:bookworm-slim/,$p' "$src/Dockerfile")"
while read -r lib; do
  pkg="$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null)"
  pkg="${pkg%%:*}"
  case "$pkg" in
    libc6|libgcc-s1|libstdc++6) continue ;;  # part of bookworm-slim
    "") dockerfile_ok=0; missing_pkgs+=" (no package for $lib)" ;;
    *) grep -qw -- "$pkg" <<<"$runtime_stage" || { dockerfile_ok=0; missing_pkgs+=" $pkg"; } ;;
  esac
done < <(ldd "$binary" | awk '/=> \// {print $3}')
assert_eq "Dockerfile runtime stage installs every needed library package${missing_pkgs}" 1 "$dockerfile_ok"

# ---- registry ----
port="$(free_port)"
REGISTRY_PLAIN=1 start_registry registry "$port"
registry_pid="$REGISTRY_PID"
ref="127.0.0.1:$port/imagegate/imagegate:test"

run_capture "$src/scripts/build-image.sh" --binary "$binary" --out "$T/oci" --tag test \
  --push "docker://$ref" --dest-tls-verify=false
assert_rc "build-image.sh --push to the registry" 0
run_capture curl -fsS "http://127.0.0.1:$port/v2/imagegate/imagegate/tags/list"
assert_contains "the registry lists the tag" "$OUT" '"test"'
run_capture skopeo inspect --tls-verify=false "docker://$ref"
assert_rc "skopeo inspect from the registry" 0
assert_eq "registry digest equals the layout's" \
  "$(json_get "$(cat "$T/oci/index.json")" 'd["manifests"][0]["digest"]')" "$(json_get "$OUT" 'd["Digest"]')"

# ---- pull back and unpack ----
run_capture skopeo copy --quiet --src-tls-verify=false "docker://$ref" "oci:$T/pulled:test"
assert_rc "skopeo copy back into a new OCI layout" 0
root="$T/root"
mkdir -p "$root"
manifest_digest="$(json_get "$(cat "$T/pulled/index.json")" 'd["manifests"][0]["digest"]')"
manifest="$(cat "$T/pulled/blobs/sha256/${manifest_digest#sha256:}")"
layers="$(json_get "$manifest" '" ".join(l["digest"] for l in d["layers"])')"
untar_ok=1
for layer in $layers; do
  f="$T/pulled/blobs/sha256/${layer#sha256:}"
  [ "sha256:$(sha256sum "$f" | cut -d' ' -f1)" = "$layer" ] || untar_ok=0
  tar -xzf "$f" -C "$root" || untar_ok=0
done
assert_eq "layers verify and unpack" 1 "$untar_ok"
assert_file_exists "CA bundle in the image" "$root/etc/ssl/certs/ca-certificates.crt"
assert_match "/etc/passwd has the non-root user" "$(cat "$root/etc/passwd")" 'imagegate:x:65532:65532'

# ---- run it from the unpacked root ----
run_capture chroot "$root" /usr/local/bin/imagegate --version
assert_rc "chroot ROOT imagegate --version runs" 0
assert_eq "the image's binary is this build" "$("$binary" --version)" "$OUT"

serve_port="$(free_port)"
mkdir -p "$root/etc/imagegate/config" "$root/etc/imagegate/policy" "$root/etc/imagegate/tls"
cp "$src/manifests/base/policy.yaml" "$root/etc/imagegate/policy/policy.yaml"
sed "s/^listen: .*/listen: \"127.0.0.1:$serve_port\"/" "$src/manifests/base/config.yaml" \
  > "$root/etc/imagegate/config/config.yaml"
"$src/scripts/gen-webhook-cert.sh" --out "$root/etc/imagegate/tls" 2>/dev/null || die "gen-webhook-cert.sh failed"
chown -R 65532:65532 "$root/etc/imagegate"
chroot --userspec=65532:65532 "$root" /usr/local/bin/imagegate serve \
  --config /etc/imagegate/config/config.yaml >"$T/serve.log" 2>&1 &
serve_pid=$!
track_pid "$serve_pid"
if wait_for_port "$serve_port" 15; then pass "serve from the image root listens"; else fail "serve did not listen" "$(cat "$T/serve.log")"; fi
# The certificate is for the Service name: resolve it to the loopback listener.
url="https://imagegate.imagegate-system.svc:$serve_port"
c=(curl -sS --cacert "$T/root/etc/imagegate/tls/ca.crt" --resolve "imagegate.imagegate-system.svc:$serve_port:127.0.0.1")
run_capture "${c[@]}" -f "$url/healthz"
assert_rc "GET /healthz over TLS verified against the generated CA" 0
ready=1
for _ in $(seq 1 50); do
  "${c[@]}" -f -o /dev/null "$url/readyz" 2>/dev/null && { ready=0; break; }
  sleep 0.1
done
assert_eq "GET /readyz becomes ready" 0 "$ready"
review="$conformance/admission/connaisseur/admission_requests/02_pod.json"
run_capture "${c[@]}" -f -H 'Content-Type: application/json' --data-binary "@$review" "$url/validate"
assert_rc "POST /validate answers" 0
assert_eq "the review is answered with its uid" \
  "$(json_get "$(cat "$review")" 'd["request"]["uid"]')" "$(json_get "$OUT" 'd["response"]["uid"]')"
assert_eq "audit-mode starter policy allows" true "$(json_get "$OUT" 'd["response"]["allowed"]')"
run_capture "${c[@]}" -f "$url/metrics"
assert_contains "/metrics counts the review" "$OUT" "imagegate_admission_reviews_total"
pid_user="$(stat -c %u "/proc/$serve_pid")"
assert_eq "the server runs as uid 65532" 65532 "$pid_user"

kill -TERM "$serve_pid"
rc=0
wait "$serve_pid" || rc=$?
assert_eq "SIGTERM stops the server cleanly" 0 "$rc"
stop_pid "$registry_pid"
if kill -0 "$registry_pid" 2>/dev/null; then fail "registry still running"; else pass "registry stopped by PID"; fi
finish

#!/usr/bin/env bash
# Assembles the imagegate runtime image without a container engine: an OCI image layout holding one layer
# with the binary, exactly the shared libraries it loads (ldd), the dynamic loader, CA certificates,
# /etc/passwd and /etc/group with the non-root user imagegate (65532), and an image config with User,
# Entrypoint, Cmd and ExposedPorts -- the same runtime image the Dockerfile describes. Optionally pushes it
# with skopeo.
#
# Usage: scripts/build-image.sh [--binary PATH] [--out DIR] [--tag TAG] [--push docker://REF]
#                               [--dest-tls-verify=false]
#   --binary  the imagegate executable (default: $IMAGEGATE_BINARY, else build/imagegate, built with
#             cmake in Release if missing)
#   --out     the OCI layout directory to write (default build/image/oci); replaced if it exists
#   --tag     the layout's ref name (default: the binary's version)
#   --push    copy the image to a registry: skopeo copy oci:OUT:TAG REF
#   --dest-tls-verify=false  passed to skopeo (a plain-HTTP or self-signed test registry)
# The layer is reproducible: sorted entries, uid/gid 0 (the binary and files are world-readable), mtime 0.
set -euo pipefail
root_dir="$(cd "$(dirname "$0")/.." && pwd)"

binary="${IMAGEGATE_BINARY:-}"
out="$root_dir/build/image/oci"
tag=""
push=""
skopeo_flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="${2:?}"; shift 2 ;;
    --out) out="${2:?}"; shift 2 ;;
    --tag) tag="${2:?}"; shift 2 ;;
    --push) push="${2:?}"; shift 2 ;;
    --dest-tls-verify=*) skopeo_flags+=("$1"); shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [ -z "$binary" ]; then
  binary="$root_dir/build/imagegate"
  if [ ! -x "$binary" ]; then
    cmake -S "$root_dir" -B "$root_dir/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DIMAGEGATE_TESTS=OFF >/dev/null
    cmake --build "$root_dir/build" --target imagegate -j "$(nproc)"
  fi
fi
[ -x "$binary" ] || { echo "build-image: no executable at $binary" >&2; exit 2; }
version="$("$binary" --version | awk '{print $NF}')"
[ -n "$tag" ] || tag="$version"

case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) arch="$(uname -m)" ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{usr/local/bin,etc/ssl/certs,etc/imagegate,tmp}
chmod 1777 "$rootfs/tmp"

# The binary (without debug sections) and the kubectl plugin name.
objcopy --strip-unneeded "$binary" "$rootfs/usr/local/bin/imagegate"
chmod 0755 "$rootfs/usr/local/bin/imagegate"
ln -s imagegate "$rootfs/usr/local/bin/kubectl-imagegate"

# Every shared object the dynamic loader resolves for it, at the path it resolved (so the loader's default
# search path finds them without an ld.so.cache), plus the loader itself (the ELF interpreter).
ldd_out="$(ldd "$binary")"
if grep -q "not found" <<<"$ldd_out"; then
  echo "build-image: unresolved libraries:" >&2; grep "not found" <<<"$ldd_out" >&2; exit 1
fi
while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
  chmod 0755 "$rootfs$lib"
done < <(awk '/=> \// {print $3} /^[[:space:]]*\// {print $1}' <<<"$ldd_out" | sort -u)

# CA certificates (for registries and verdict APIs in later releases), users, name service.
cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
imagegate:x:65532:65532:imagegate:/nonexistent:/usr/sbin/nologin
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
imagegate:x:65532:
GROUP
echo "hosts: files dns" > "$rootfs/etc/nsswitch.conf"
chmod -R u+rwX,go+rX,go-w "$rootfs/usr" "$rootfs/etc"
find "$rootfs" -type d -exec chmod go+rx {} +

# One gzip layer, reproducible.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$rootfs" -cf "$work/layer.tar" .
diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
gzip -n -9 -c "$work/layer.tar" > "$work/layer.tar.gz"

rm -rf "$out"
mkdir -p "$out/blobs/sha256"
put_blob() {  # file -> prints "digest size", stores the blob
  local d s
  d="$(sha256sum "$1" | cut -d' ' -f1)"
  s="$(stat -c %s "$1")"
  cp "$1" "$out/blobs/sha256/$d"
  echo "sha256:$d $s"
}
read -r layer_digest layer_size < <(put_blob "$work/layer.tar.gz")

cat > "$work/config.json" <<JSON
{"architecture":"$arch","os":"linux","created":"1970-01-01T00:00:00Z",
"config":{"User":"65532:65532","Entrypoint":["/usr/local/bin/imagegate"],
"Cmd":["serve","--config","/etc/imagegate/config/config.yaml"],"ExposedPorts":{"8443/tcp":{}},
"Env":["PATH=/usr/local/bin:/usr/bin:/bin","SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],
"WorkingDir":"/","Labels":{"org.opencontainers.image.title":"imagegate","org.opencontainers.image.version":"$version",
"org.opencontainers.image.licenses":"Apache-2.0"}},
"rootfs":{"type":"layers","diff_ids":["$diff_id"]},
"history":[{"created":"1970-01-01T00:00:00Z","created_by":"scripts/build-image.sh"}]}
JSON
read -r config_digest config_size < <(put_blob "$work/config.json")

cat > "$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config_digest","size":$config_size},
"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$layer_digest","size":$layer_size}],
"annotations":{"org.opencontainers.image.title":"imagegate","org.opencontainers.image.version":"$version"}}
JSON
read -r manifest_digest manifest_size < <(put_blob "$work/manifest.json")

echo '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
cat > "$out/index.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$manifest_digest",
"size":$manifest_size,"platform":{"architecture":"$arch","os":"linux"},
"annotations":{"org.opencontainers.image.ref.name":"$tag"}}]}
JSON
echo "build-image: $out:$tag $manifest_digest ($(du -sh "$work/layer.tar.gz" | cut -f1) layer, $(wc -l < <(find "$rootfs" -type f)) files)" >&2

if [ -n "$push" ]; then
  skopeo copy --quiet "${skopeo_flags[@]}" "oci:$out:$tag" "$push"
  echo "build-image: pushed to $push" >&2
fi

#!/usr/bin/env bash
# Installs the pinned npm packages of package-lock.json (sigstore, @sigstore/sign, @sigstore/mock,
# @sigstore/oci) into a cache directory, never into the source tree, and prints that directory's
# node_modules path. Re-installs only when the lock file changed. Used by scripts/install-deps.sh and
# tests/e2e/signatures_test.sh.
#   IMAGEGATE_NPM_CACHE  the cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/imagegate/sigstore-npm)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${IMAGEGATE_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imagegate/sigstore-npm}"
mkdir -p "$dir"
if [ ! -d "$dir/node_modules/@sigstore/oci" ] || ! cmp -s "$here/package-lock.json" "$dir/package-lock.json"; then
  cp "$here/package.json" "$here/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
echo "$dir/node_modules"

#!/usr/bin/env bash
# Installs everything imagegate needs to build and test on Debian bookworm. Idempotent: packages already
# present are skipped by apt-get, and nothing else is changed.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libre2-dev libsimdjson-dev
  libgtest-dev libgmock-dev
  # verdict stores
  libsqlite3-dev libhiredis-dev redis-server
  # fuzzing and the sanitizer test tree (libFuzzer ships with clang's runtime; lld links its large
  # debug binaries several times faster than ld.bfd)
  clang libclang-rt-dev lld
  # test and benchmark peers
  openssl curl wrk nginx-light ca-certificates
  # TLS scan of both listeners (tests/e2e/testssl_test.sh)
  testssl.sh
  # peak memory of a command (tests/e2e/memory_bounds_test.sh: /usr/bin/time -f %M)
  time
  # install tests: kubectl kustomize is on the machine; schema checks, OCI image build/push/pull, a registry
  python3-yaml python3-jsonschema skopeo docker-registry
  # Notary v1 e2e: notary-server, notary-signer and the notary CLI
  notary
  # Sigstore bundle e2e: node (and npm) run sigstore-js (@sigstore/mock, @sigstore/oci) from tests/e2e/sigstore
  nodejs
  # the console in a real browser (tests/e2e/console_test.sh): headless Chromium driven by Selenium
  chromium chromium-driver python3-selenium
)

# The pinned npm packages of tests/e2e/sigstore/package-lock.json, into a cache directory (not the tree).
install_npm_fixtures() {
  "$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/sigstore/install.sh" >/dev/null
  echo "install-deps: sigstore-js test packages installed"
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  install_npm_fixtures
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_npm_fixtures

#!/usr/bin/env bash
# Builds imagegate and starts the webhook on its embedded default configuration: a generated self-signed
# certificate for localhost/127.0.0.1 and the example policy. Prints a curl line to try it.
# Extra arguments go to `imagegate serve` (e.g. --listen 127.0.0.1:9443).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIMAGEGATE_TESTS=OFF >/dev/null
cmake --build build -j "$(nproc)" --target imagegate
exec build/imagegate serve "$@"

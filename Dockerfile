# imagegate container image: built on Debian bookworm, run from bookworm-slim as a non-root user.
#   docker build -t imagegate:0.1.0 .
# Machines without a container engine build the same runtime image with scripts/build-image.sh (an OCI
# layout from the host binary and the shared libraries it needs) and push it with skopeo.

# ---- build ------------------------------------------------------------------------------------------------
FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libboost1.81-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libre2-dev \
      libsqlite3-dev libhiredis-dev libsimdjson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DIMAGEGATE_TESTS=OFF \
 && cmake --build /build --target imagegate \
 && strip --strip-unneeded /build/imagegate \
 && /build/imagegate --version

# ---- runtime ----------------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# Only the shared libraries the binary links (ldd): OpenSSL 3, yaml-cpp 0.7, RE2, SQLite, hiredis, simdjson;
# libstdc++ is in slim.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 libyaml-cpp0.7 libre2-9 libsqlite3-0 \
      libhiredis0.14 libsimdjson14 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 imagegate \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin imagegate
COPY --from=build /build/imagegate /usr/local/bin/imagegate
RUN ln -s imagegate /usr/local/bin/kubectl-imagegate
LABEL org.opencontainers.image.title="imagegate" \
      org.opencontainers.image.description="Kubernetes admission webhook for container images" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/imagegate"]
CMD ["serve", "--config", "/etc/imagegate/config/config.yaml"]

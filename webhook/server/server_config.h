// ServerConfig: everything `imagegate serve` needs, from the --config YAML file and from flags (flags
// override the file). The file's keys are camelCase; an unknown key, a wrong type or a bad value is an
// error naming file:line:column and the key path. The format is documented in docs/install.md:
//
//   listen: "0.0.0.0:8443"
//   policy: /etc/imagegate/policy.yaml
//   policyReloadInterval: 2s
//   threads: 4
//   gracePeriod: 10s
//   maxConnections: 1024
//   maxBudget: 25s
//   tls:
//     certFile: /tls/tls.crt
//     keyFile: /tls/tls.key
//     clientCAFile: /tls/ca.crt
//     reloadInterval: 2s
//   timeouts: { handshake: 10s, idle: 60s, read: 10s, write: 10s }
//   registry:                       # how digests are resolved (docs/install.md, "Registries")
//     caFiles: [/etc/imagegate/registry-ca.pem]          # trusted for every registry, beside system CAs
//     registryCAFiles: { "registry.internal:5000": [/etc/imagegate/internal-ca.pem] }
//     dockerConfigFiles: [/etc/imagegate/docker/config.json]
//     insecureRegistries: ["registry.local:5000"]        # plain HTTP
//     authHosts: { "registry.gitlab.example.com": [gitlab.example.com] }  # token realms off the registry's origin
//     blobHosts: { "registry.internal:5000": ["*.s3.eu-west-1.amazonaws.com"] }  # redirect targets (blobs)
//     legacyTLSRegistries: ["old.internal:5000"]          # CBC / static-RSA TLS 1.2 ciphers allowed
//     allowedPrivateAddresses: []                         # link-local / metadata IPs allowed anyway
//     timeout: 10s                                        # each connect/handshake/read/write step
//     tagCacheTTL: 60s
//     digestCacheTTL: 1h
//     negativeCacheTTL: 15s
//     staleIfError: 0s                                    # 0: off
//     maxBlobBytes: 4194304                               # cap on any blob (signature payloads, bundles)
//     maxManifestBytes: 4194304                           # cap on manifests, indexes, referrers
//     maxConcurrentPerReview: 16                          # registry requests in flight for one review (1..1024)
//     maxConcurrentPerRegistry: 32                        # ... to one registry host, over all reviews (1..1024)
//   signatures:                     # signature verification (docs/install.md, "Signatures")
//     maxSignatures: 50                                   # `.sig` layers + bundle referrers per image (1..200)
//     maxPayloadBytes: 262144                             # per simple-signing payload (1..262144)
//     cacheTTL: 5m                                        # verified/failed answers; 0s: no cache
//     trustReloadInterval: 30s                            # recheck key/root files; 0s: once per policy
//
// Plain values; no thread-safety concerns.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace imagegate::webhook {

struct ListenAddress {
  std::string host;  // numeric IPv4/IPv6 address; "0.0.0.0" for ":PORT"
  std::uint16_t port = 0;
};

// "127.0.0.1:8443", ":8443" (every IPv4 interface), "[::1]:8443", "[::]:8443". Port 0 picks a free port.
Result<ListenAddress> parse_listen_address(std::string_view text);
// A setting's duration: common/duration.h's grammar ("500ms", "10s", "1m30s", "1d"), at most a week.
Result<std::chrono::milliseconds> parse_config_duration(std::string_view text);

// The `registry:` section: what OciRegistryClient and CachingRegistryClient are built from.
struct RegistryConfig {
  std::vector<std::string> ca_files;
  std::map<std::string, std::vector<std::string>> registry_ca_files;  // host[:port] -> CA bundles
  std::vector<std::string> docker_config_files;
  std::vector<std::string> insecure_registries;
  std::vector<std::string> legacy_tls_registries;  // host[:port] allowed OpenSSL's default TLS 1.2 ciphers
  std::vector<std::string> allowed_private_addresses;
  // Where a registry may send imagegate besides its origin and the policy's allowlist (verifier/registry/redirect_guard.h).
  std::map<std::string, std::vector<std::string>> auth_hosts;  // host[:port] -> token realm hosts
  std::map<std::string, std::vector<std::string>> blob_hosts;  // host[:port] -> redirect target hosts
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds tag_cache_ttl{60'000};
  std::chrono::milliseconds digest_cache_ttl{3'600'000};
  std::chrono::milliseconds negative_cache_ttl{15'000};
  std::chrono::milliseconds stale_if_error{0};
  std::size_t max_blob_bytes = 4 * 1024 * 1024;      // every blob read: signature payloads, bundles
  std::size_t max_manifest_bytes = 4 * 1024 * 1024;  // manifests, indexes, referrers
  std::size_t max_concurrent_per_review = 16;    // images (each its requests in turn) gathered at once per review
  std::size_t max_concurrent_per_registry = 32;  // requests in flight to one registry host, over every review
};
inline constexpr std::size_t kMaxConcurrencyLimit = 1024;  // upper bound of both concurrency caps

// The `signatures:` section: SignatureVerificationOptions (webhook/evidence/signature_verification.h) and the
// AnchorKeeper's trust reload interval (webhook/evidence/anchor_keeper.h) are built from it by `imagegate serve`.
inline constexpr std::size_t kMaxSignaturesLimit = 200;                 // hard cap on maxSignatures
inline constexpr std::size_t kMaxSignaturePayloadBytesLimit = 256 * 1024;  // = verifier::kMaxSignaturePayloadBytes
struct SignaturesConfig {
  std::size_t max_signatures = 50;          // verifier::kDefaultMaxSignatures
  std::size_t max_payload_bytes = kMaxSignaturePayloadBytesLimit;
  std::chrono::milliseconds cache_ttl{300'000};              // 0: answers are not cached
  std::chrono::milliseconds trust_reload_interval{30'000};   // 0: trust files read once per policy version
};

struct ServerConfig {
  std::string listen;                 // empty: 127.0.0.1:8443 in the embedded demo, 0.0.0.0:8443 otherwise
  std::string policy_file;            // empty: the embedded example policy with a self-signed certificate
  std::chrono::milliseconds policy_reload_interval{2'000};
  unsigned threads = 0;               // 0: std::thread::hardware_concurrency()
  std::chrono::milliseconds grace_period{10'000};
  std::size_t max_connections = 1024;
  std::chrono::milliseconds max_budget{25'000};
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string client_ca_file;         // set: clients must present a certificate signed by it (mTLS)
  std::chrono::milliseconds tls_reload_interval{2'000};
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive: waiting for the next request
  std::chrono::milliseconds read_timeout{10'000};   // from a request's first byte to its last
  std::chrono::milliseconds write_timeout{10'000};
  RegistryConfig registry;
  SignaturesConfig signatures;
  // Scan verdicts (docs/install.md "Verdict store"): the API listener, its token file, and the store.
  std::string api_listen;             // empty: no verdict API listener
  std::string api_token_file;         // required with api_listen
  std::string store;                  // sqlite:PATH | redis://HOST:PORT[/DB]; empty: sqlite in the data dir
                                      // when api_listen is set, else no store
  std::chrono::milliseconds verdict_cache_ttl{30'000};
  // Observability: serve's own log lines (webhook/observe/logger.h) and a plain-HTTP /metrics listener.
  std::string log_format = "json";    // json | text
  std::string metrics_listen;         // empty: /metrics only on the webhook's HTTPS listener
  // The console (webhook/console/): served on the API listener when enabled; the reviews it keeps.
  bool console_enabled = true;
  std::size_t recent_decisions = 1000;  // webhook/observe/decision_ring.h kDefaultRecentDecisions
};
inline constexpr std::size_t kMaxRecentDecisionsLimit = 100'000;  // = kMaxRecentDecisions

// Reads and validates a config file over `base` (so defaults stay for keys the file leaves out).
Result<ServerConfig> load_server_config(const std::string& path, ServerConfig base = {});
// The same, from text; `file_name` is used in error messages.
Result<ServerConfig> parse_server_config(std::string_view yaml_text, std::string_view file_name,
                                         ServerConfig base = {});

// Checks what must hold whatever the source: cert and key given together, limits positive.
Status validate_server_config(const ServerConfig& config);

}  // namespace imagegate::webhook

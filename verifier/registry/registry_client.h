// RegistryClient: what imagegate asks of an OCI distribution registry -- the digest a tag points at
// (HEAD, then GET when needed), a manifest's media type and platforms, and blobs by digest. Implemented by
// OciRegistryClient (HTTPS, auth, SSRF guard) and CachingRegistryClient (TTL cache with single flight).
//
// Errors tell the caller what to do: not_found ("manifest unknown": definitive), permission_denied
// (credentials refused, digest mismatch), unavailable (network, TLS, 5xx, 429, timeout: retryable),
// resource_exhausted (a size cap), invalid_argument (a reference or address the configuration refuses).
//
// Implementations are thread-safe: any io_context thread may call them concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/json_bounded.h"
#include "common/result.h"
#include "verifier/image/image_reference.h"

namespace imagegate::verifier {

inline constexpr std::size_t kMaxManifestBytes = 4 * 1024 * 1024;
// JSON values in one manifest, index, referrers list or signature manifest: an index of 1,024 platform
// manifests (oci_index.h's limit) is ~15,000, a manifest of 128 layers ~1,000. The DOM of one parse is at
// most 200 B * 50,000 + 2 * 4 MiB = 18 MiB (common/json_bounded.h); issue 13's 4 MiB `[[[[` and `[],[],`
// manifests (329 MB in `imagegate resolve`) are refused before anything is built. Bytes are bounded where
// the body is read (RegistryClientOptions::max_manifest_bytes); the parsers that have their own byte limit
// (cosign.cc, oci_index.cc) add it.
inline constexpr std::size_t kMaxManifestJsonValues = 50'000;
inline constexpr JsonLimits kManifestJsonLimits{.max_depth = 32, .max_values = kMaxManifestJsonValues};
inline constexpr std::size_t kDefaultMaxBlobBytes = 4 * 1024 * 1024;

// The media types a resolution accepts, so a multi-arch tag resolves to its index digest.
inline constexpr const char* kManifestAcceptHeader =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

struct ResolvedImage {
  std::string digest;      // sha256:... of the manifest (the index for multi-arch images)
  std::string media_type;  // "" when only HEAD was used and the registry sent no Content-Type
  std::vector<std::string> platforms;  // "linux/amd64", "linux/arm64/v8" for an index; empty otherwise
  std::uint64_t size = 0;
  bool from_cache = false;
  bool stale = false;      // served from the stale-if-error window after a failed refresh
  std::string warning;     // set with stale
};

// A manifest as fetched: the bytes (verified against `digest`), its digest and media type.
struct FetchedManifest {
  std::string digest;
  std::string media_type;
  std::string body;
};

struct ResolveOptions {
  bool details = false;  // GET the manifest (media type, platforms) even when HEAD gave the digest
};

class RegistryClient {
 public:
  virtual ~RegistryClient() = default;
  // The digest `ref` names now. A reference with a digest is answered without a request unless
  // options.details asks for the manifest. Honours cancellation.
  virtual boost::asio::awaitable<Result<ResolvedImage>> resolve(const ImageReference& ref,
                                                                 ResolveOptions options = {}) = 0;
  // The blob `digest` of `ref`'s repository, verified against the digest, at most `max_bytes`.
  virtual boost::asio::awaitable<Result<std::string>> fetch_blob(const ImageReference& ref, std::string digest,
                                                                 std::size_t max_bytes) = 0;
  // GET the manifest `ref` names (by digest when it has one, else by tag), with the full Accept list plus
  // OCI artifact manifests; the body is checked against the digest. not_found when the registry has no
  // such manifest (a missing `.sig` tag is how "unsigned" looks). Capped at max_manifest_bytes.
  virtual boost::asio::awaitable<Result<FetchedManifest>> fetch_manifest(const ImageReference& ref) = 0;
  // The OCI referrers index of `digest` in ref's repository (GET /v2/<name>/referrers/<digest>). not_found
  // when the registry has no referrers API (404, as distribution 2.8): the caller then reads the
  // `sha256-<hex>` tag-schema fallback index with fetch_manifest. A registry found without the API is
  // remembered (RegistryClientOptions::referrers_absence_ttl): until then the answer is not_found without
  // a request.
  virtual boost::asio::awaitable<Result<FetchedManifest>> fetch_referrers(const ImageReference& ref,
                                                                          std::string digest) = 0;
};

// How OciRegistryClient reaches registries. Which files serve which registries is configuration only.
struct RegistryClientOptions {
  std::vector<std::string> ca_files;                        // trusted for every registry, beside the system CAs
  std::map<std::string, std::vector<std::string>> registry_ca_files;  // host[:port] -> extra CA bundles
  std::vector<std::string> docker_config_files;             // credentials; the first file wins per key
  std::set<std::string> insecure_registries;                // host[:port] reached over plain HTTP
  // host[:port] whose TLS may use OpenSSL's default ciphers (CBC, static RSA): a legacy private registry.
  // Every other registry gets verifier/registry/tls_policy.h's TLS 1.2+ ECDHE + AEAD only.
  std::set<std::string> legacy_tls_registries;
  std::set<std::string> allowed_private_addresses;          // link-local / metadata IPs the config permits
  // Hosts a registry (host[:port]) may send us to besides its own origin and the policy's allowlist
  // (verifier/registry/redirect_guard.h): token realms and the redirects of token requests (auth_hosts), blob and
  // manifest redirects (blob_hosts and auth_hosts). Docker Hub's are built in.
  std::map<std::string, std::vector<std::string>> auth_hosts;
  std::map<std::string, std::vector<std::string>> blob_hosts;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds step_timeout{10'000};           // each TLS handshake, write and read
  std::size_t max_manifest_bytes = kMaxManifestBytes;
  // Every blob read (signature payloads, bundles, attestations) is capped at min(the caller's max_bytes, this).
  std::size_t max_blob_bytes = kDefaultMaxBlobBytes;
  unsigned max_redirects = 3;
  // A 429's Retry-After is waited for when it is at most this long (longer: unavailable at once). The wait
  // honours cancellation, so a caller's deadline (a review's budget cancels its gathering) ends it sooner.
  std::chrono::milliseconds max_retry_after{25'000};
  // At most this many requests in flight to one registry (scheme://host:port) at once, over every review;
  // more wait their turn (and give up when their caller is cancelled).
  std::size_t max_concurrent_per_registry = 32;
  // A registry whose referrers API answered 404/400/405 (none, as distribution 2.8) is not asked again for
  // this long: fetch_referrers answers not_found at once and the caller reads the tag-schema fallback. A
  // registry that gains the API is noticed when this expires. 0: ask every time. A 404 saying NAME_UNKNOWN
  // (the repository, not the API, is missing) is not remembered.
  std::chrono::milliseconds referrers_absence_ttl{300'000};
};

// The options with every registry key (insecure_registries, registry_ca_files) in canonical_registry_host
// form, so `LOCALHOST:5000` or `host:443` in the configuration names the registry references name as
// `localhost:5000` or `host`; CA files of two spellings of one registry are merged. A key that is no
// host[:port] is an error. OciRegistryClient::create applies it.
Result<RegistryClientOptions> canonical_registry_keys(RegistryClientOptions options);

// Registry host used for the API: docker.io -> registry-1.docker.io; anything else unchanged.
std::string registry_api_host(std::string_view domain);

// True for addresses imagegate refuses to contact unless configured: 169.254.0.0/16, fe80::/10,
// fd00:ec2::254, 100.100.100.200 (cloud metadata and link-local).
bool is_blocked_address(std::string_view ip_text);

}  // namespace imagegate::verifier

// CachingRegistryClient: a RegistryClient that remembers answers and shares in-flight lookups.
//
// - tag -> digest answers live `tag_ttl`; answers for references that carry a digest (immutable facts)
//   live `digest_ttl`. Keys are the reference plus the credentials set that asked, so two credential sets
//   never share an answer.
// - Only definitive answers are cached negatively (not_found: "manifest unknown"), for `negative_ttl`;
//   timeouts, 5xx, 429 and other unavailable errors are never cached.
// - Single flight (common/single_flight.h): concurrent misses for one key wait for a single registry round
//   trip.
// - Shared across replicas (optional, a SharedLookup over Redis): on a local miss the flight's leader asks
//   the shared cache first (key: sha256 of the local key, so no credentials reach Redis). Another replica's
//   answer is used and cached locally, never past the absolute expiry it was published with; while another
//   replica holds the lease on the key, the leader waits for its answer (at most `shared_wait`); otherwise it
//   asks the registry and publishes good answers for tag_ttl and not_found for negative_ttl (unavailable and
//   cancelled answers are not shared). Redis unavailable: the registry is asked, as without it.
// - Stale-if-error (off by default): when a refresh is unavailable and the last good answer is younger
//   than tag_ttl + stale_if_error, that answer is returned with stale=true and a warning.
//
// Thread-safe. Waiters honour cancellation (a cancelled waiter gives up; the round trip continues for the
// others).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "verifier/registry/registry_client.h"
#include "verifier/registry/shared_cache.h"

namespace imagegate::verifier {

struct CacheOptions {
  std::chrono::milliseconds tag_ttl{60'000};
  std::chrono::milliseconds digest_ttl{3'600'000};
  std::chrono::milliseconds negative_ttl{15'000};
  std::chrono::milliseconds stale_if_error{0};  // 0: off
  std::size_t max_entries = 100'000;  // past it the oldest answers go first (common/expiring_cache.h)
  // With a shared cache: how long a replica's lease on a key lasts and how long the others wait for its
  // answer before asking the registry themselves (the review's budget may end the wait sooner).
  std::chrono::milliseconds shared_wait{5'000};
};

class CachingRegistryClient final : public RegistryClient {
 public:
  // `inner` must outlive this object. `credentials_key` names the credentials set serving a reference.
  // `shared` (optional): tag resolutions shared with other replicas through it (see above).
  CachingRegistryClient(RegistryClient& inner, CacheOptions options,
                        std::function<std::string(const ImageReference&)> credentials_key,
                        std::shared_ptr<SharedLookup> shared = nullptr);
  ~CachingRegistryClient() override;

  boost::asio::awaitable<Result<ResolvedImage>> resolve(const ImageReference& ref,
                                                         ResolveOptions options = {}) override;
  boost::asio::awaitable<Result<std::string>> fetch_blob(const ImageReference& ref, std::string digest,
                                                         std::size_t max_bytes) override;
  // Not cached here: signature tags move as signatures are added; verification results are cached per
  // digest and anchor set by the signature layer instead.
  boost::asio::awaitable<Result<FetchedManifest>> fetch_manifest(const ImageReference& ref) override;
  boost::asio::awaitable<Result<FetchedManifest>> fetch_referrers(const ImageReference& ref,
                                                                  std::string digest) override;

  struct Stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t shared = 0;  // waited on another caller's round trip
    std::uint64_t stale = 0;
  };
  Stats stats() const;

  struct State;

 private:
  boost::asio::awaitable<Result<ResolvedImage>> lead(ImageReference ref, ResolveOptions options, std::string key);

  RegistryClient& inner_;
  std::unique_ptr<State> state_;
};

}  // namespace imagegate::verifier

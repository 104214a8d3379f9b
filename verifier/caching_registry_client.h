// CachingRegistryClient: a RegistryClient that remembers answers and shares in-flight lookups.
//
// - tag -> digest answers live `tag_ttl`; answers for references that carry a digest (immutable facts)
//   live `digest_ttl`. Keys are the reference plus the credentials set that asked, so two credential sets
//   never share an answer.
// - Only definitive answers are cached negatively (not_found: "manifest unknown"), for `negative_ttl`;
//   timeouts, 5xx, 429 and other unavailable errors are never cached.
// - Single flight: concurrent misses for one key wait for a single registry round trip.
// - Stale-if-error (off by default): when a refresh is unavailable and the last good answer is younger
//   than tag_ttl + stale_if_error, that answer is returned with stale=true and a warning.
//
// Thread-safe. Waiters honour cancellation (a cancelled waiter gives up; the round trip continues for the
// others).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "verifier/registry_client.h"

namespace imagegate::verifier {

struct CacheOptions {
  std::chrono::milliseconds tag_ttl{60'000};
  std::chrono::milliseconds digest_ttl{3'600'000};
  std::chrono::milliseconds negative_ttl{15'000};
  std::chrono::milliseconds stale_if_error{0};  // 0: off
  std::size_t max_entries = 10'000;
};

class CachingRegistryClient final : public RegistryClient {
 public:
  // `inner` must outlive this object. `credentials_key` names the credentials set serving a reference.
  CachingRegistryClient(RegistryClient& inner, CacheOptions options,
                        std::function<std::string(const ImageReference&)> credentials_key);
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
  RegistryClient& inner_;
  std::unique_ptr<State> state_;
};

}  // namespace imagegate::verifier

// Signature verification for admission: the per-image flow that fetches an image's signatures once and asks
// every anchor a rule names whether they verify the digest, with the anchor material of the review's
// snapshot (verifier/signature/anchor_material.h: built when the policy was compiled or its trust files
// changed, see webhook/evidence/anchor_keeper.h; never read here).
//
// SignatureVerification::verify: per image digest, fetch the `.sig` signatures and Sigstore bundles once
// (verifier/signature/signature_fetcher.h) when an anchor reads them, then ask each anchor's scheme
// (verifier/signature/signature_verifier.h):
//   cosign key and keyless anchors -> over the fetched signatures and bundles (pure);
//   Notary v1 anchors              -> their own trust data for the image's tag (fetch_and_verify);
//   Notation anchors               -> the digest's Notation signatures (referrers API or tag schema), read
//                                     through the same registry client, verified offline against the
//                                     anchor's trust policy and store (fetch_and_verify).
// Results are cached per (digest, signature repository, anchor material version, anchor[, tag for Notary])
// for `cache_ttl`; answers that could not be decided (registry or notary-server unavailable) are never
// cached. Concurrent misses for the same image and anchors share one flight (common/single_flight.h). With
// `shared` (Redis, issue 7), the flight leader first asks the other replicas for the answer (key: a SHA-256
// over the flight key, which carries the material version and so the trust-material hash), and publishes
// what it computes for cache_ttl when every answer is decided (never `unavailable` ones), replacing a value
// that could not be parsed. Only the leader talks to Redis; its waiters get its answer.
//
// Material rotates (new policy, changed trust files): answers cached under an older version are never hit
// again (their keys carry the old version), and the local cache is cleared when a new version is first seen.
//
// Thread-safe: any io_context thread may call verify(). The registry client must outlive this object.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "policy/evaluate.h"
#include "verifier/image/image_reference.h"
#include "verifier/registry/registry_client.h"
#include "verifier/registry/shared_cache.h"
#include "verifier/signature/anchor_material.h"
#include "verifier/signature/signature_check.h"
#include "verifier/signature/signature_fetcher.h"

namespace imagegate::webhook {

struct SignatureVerificationOptions {
  verifier::SignatureFetchOptions fetch;
  std::chrono::milliseconds cache_ttl{300'000};  // verified and failed answers
  std::size_t max_cache_entries = 100'000;  // past it the oldest answers go first
  // Answers shared with other replicas through Redis (nullptr: this process only). Published for cache_ttl.
  std::shared_ptr<verifier::SharedLookup> shared;
  std::function<std::chrono::system_clock::time_point()> clock = [] { return std::chrono::system_clock::now(); };
};

// What verify() did, for the CLI's evidence and the benchmark.
struct SignatureReport {
  std::vector<policy::AnchorEvidence> anchors;  // one per requested anchor, in the order asked
  std::vector<std::vector<std::string>> signers;  // per anchor: verified signer identities
  std::size_t signatures = 0;   // classic signatures + bundles fetched (0 when served from cache)
  std::vector<std::string> skipped;  // signature layers that could not be read
  std::size_t registry_requests = 0;
  double fetch_seconds = 0;     // registry round trips
  double verify_seconds = 0;    // crypto
  bool from_cache = false;      // every anchor answered from the cache
};

class SignatureVerification {
 public:
  // `client` must outlive this object.
  explicit SignatureVerification(verifier::RegistryClient& client, SignatureVerificationOptions options = {});
  ~SignatureVerification();
  SignatureVerification(const SignatureVerification&) = delete;
  SignatureVerification& operator=(const SignatureVerification&) = delete;

  // Verifies `anchors` (names in `material`, the review's) for `image` (its repository, and its tag for
  // Notary) at `digest`. Never reads a trust file.
  // `signature_repository` (a rule's `signatures.repository`, cosign's COSIGN_REPOSITORY): where the
  // `.sig` tags and bundles of the digest live instead of the image's own repository; "" = the image's.
  // Honours cancellation.
  boost::asio::awaitable<SignatureReport> verify(std::shared_ptr<const verifier::AnchorMaterial> material,
                                                 verifier::ImageReference image, std::string digest,
                                                 std::vector<std::string> anchors,
                                                 std::string signature_repository = {});

  struct Stats {
    std::uint64_t cache_hits = 0;
    std::uint64_t cache_misses = 0;
    std::uint64_t shared = 0;   // waited for another review's flight
    std::uint64_t fetches = 0;  // signature fetches from the registry
    std::uint64_t shared_hits = 0;  // answered by another replica through the shared cache
  };
  Stats stats() const;

  struct State;

 private:
  boost::asio::awaitable<SignatureReport> run(std::shared_ptr<const verifier::AnchorMaterial> set, verifier::ImageReference image,
                                              std::string digest, std::vector<std::string> anchors,
                                              std::string signature_repository);
  // The flight leader's work: the shared cache (when configured), else run().
  boost::asio::awaitable<SignatureReport> lead(std::shared_ptr<const verifier::AnchorMaterial> set, verifier::ImageReference image,
                                               std::string digest, std::vector<std::string> anchors,
                                               std::string signature_repository, std::string flight_key);

  verifier::RegistryClient& client_;  // what own_material schemes reading the registry (Notation) fetch through
  verifier::SignatureFetcher fetcher_;
  SignatureVerificationOptions options_;
  std::unique_ptr<State> state_;
};

// AnchorCheck -> the policy's evidence for one anchor.
policy::CheckEvidence to_evidence(const verifier::AnchorCheck& check);

}  // namespace imagegate::webhook

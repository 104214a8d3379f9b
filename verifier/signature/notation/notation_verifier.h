// NotationVerifier: a Notation anchor as a SignatureVerifier (verifier/signature/signature_verifier.h) reading
// its own material: fetch_and_verify() has the digest's Notation signatures and the image's manifest
// descriptor fetched by NotationFetcher (notation_fetcher.h, through the registry client it is given, the
// review's), then verifies them offline with notation.h against the anchor's loaded trust configuration
// (a notation trust policy and trust store, or the inline anchor form) at the clock's time.
//
// The answer (notation_check):
//   verified     one signature passed every enforced check of the statement whose registryScopes match the
//                image; signers: one line per verified signature, "SUBJECT (SCHEME, signed TIME[, timestamp
//                TIME by TSA])"; detail "Notation signature by <signers> (trust policy statement "S")" and
//                what `log` actions reported (the decision log and `test --online` show the detail);
//   failed       no signature, none verified (detail: the first signature's failure and the skipped
//                manifests), no statement applies, more signatures than allowed, or the statement's level
//                is `skip` (nothing was verified: a gate counts no signature that was not checked; an
//                imagegate rule without `signatures` is how images go unverified);
//   unavailable  the registry could not be read (network, 5xx, timeout).
// Results are cached and shared by webhook/evidence/signature_verification.h like every anchor's.
//
// Thread-safe: one instance per anchor, shared by every review.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include <boost/asio/awaitable.hpp>

#include "verifier/signature/notation/notation.h"
#include "verifier/signature/notation/notation_fetcher.h"
#include "verifier/signature/signature_verifier.h"

namespace imagegate::verifier {

class NotationVerifier final : public SignatureVerifier {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  explicit NotationVerifier(std::shared_ptr<const notation::TrustConfig> trust, NotationFetchOptions options = {},
                            Clock clock = nullptr);

  Reads reads() const noexcept override { return Reads::own_material; }
  boost::asio::awaitable<AnchorCheck> fetch_and_verify(RegistryClient& registry, const ImageReference& image,
                                                       std::string digest) const override;

  const notation::TrustConfig& trust() const noexcept { return *trust_; }

 private:
  std::shared_ptr<const notation::TrustConfig> trust_;
  NotationFetchOptions options_;
  Clock clock_;
};

// What was fetched for `image`, verified with `trust` at `now` (pure: the verifier's second half, apart for
// tests). `repository` is the image's name ("registry/repository"), matched against registryScopes.
AnchorCheck notation_check(const notation::TrustConfig& trust, const std::string& repository,
                           const FetchedNotation& fetched, std::chrono::system_clock::time_point now);

// "CN=e2e,O=Notary,... (notary.x509, signed 2023-06-27T05:30:33Z, timestamp 2023-06-27T05:30:34Z by CN=TSA)".
std::string describe_signer(const notation::SignatureEvidence& signature);

}  // namespace imagegate::verifier

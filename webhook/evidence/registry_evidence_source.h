// RegistryEvidenceSource: the EvidenceSource that asks the registry. For a plan that needs the digest
// (needs.resolve_digest) it resolves the image's tag through a RegistryClient (normally a
// CachingRegistryClient over an OciRegistryClient) and fills Evidence.digest_resolution / Evidence.digest:
//   verified     digest known (referenced by digest: no request; otherwise resolved, maybe from cache; a
//                stale-if-error answer adds a note to Evidence.warnings, which the review answer carries)
//   failed       a definitive answer: "manifest unknown: ...", digest mismatch, credentials refused
//   unavailable  network, TLS, 5xx, 429, timeout -- the rule's failurePolicy settles it
// Signature and verdict checks stay not_evaluated here (later issues add them to this source).
//
// Thread-safe if the client is (the registry clients are).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/registry/registry_client.h"
#include "webhook/admission/policy_admission_service.h"

namespace imagegate::webhook {

class RegistryEvidenceSource final : public EvidenceSource {
 public:
  // `client` must outlive this object.
  explicit RegistryEvidenceSource(verifier::RegistryClient& client);

  boost::asio::awaitable<policy::Evidence> gather(const policy::ImageUnderReview& image, const policy::Plan& plan,
                                                  const PolicySnapshot& snapshot) override;

 private:
  verifier::RegistryClient& client_;
};

// The digest check for one image: the part of gather() that the CLI (`imagegate test --online`) shares.
// A digest served from the stale-if-error window is verified, with a note appended to `warnings` (if given).
boost::asio::awaitable<policy::CheckEvidence> resolve_digest_evidence(verifier::RegistryClient& client,
                                                                     std::string_view image, std::string& digest,
                                                                     std::vector<std::string>* warnings = nullptr);

}  // namespace imagegate::webhook

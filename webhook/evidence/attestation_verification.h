// Attestation verification for admission: per image digest, the Sigstore bundles attached to it are fetched
// once (verifier/signature/signature_fetcher.h, the same bounded fetcher signatures use) and every
// attestation requirement of the rule (policy/model.h AttestationRequirement) is decided for each of its
// anchors: the DSSE bundles of exactly its predicate type that the anchor signed about the digest
// (verifier/signature/sigstore/image_attestations.h), then the requirement's conditions over their
// predicates (policy/attestation.h decide_attestation_anchor). The evidence names the statement that
// satisfied each anchor, or why none did.
//
// Results are cached per (image repository and digest, anchor material version -- which carries the policy
// version --, rule, requirement, anchor) for `cache_ttl`, like signature results; answers that could not
// be decided (registry unavailable) are never cached. (Not yet: sharing through Redis and single flights
// for concurrent misses, which signature results have.)
//
// Thread-safe: any io_context thread may call verify(). The registry client must outlive this object.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "policy/attestation.h"
#include "policy/evaluate.h"
#include "verifier/image/image_reference.h"
#include "verifier/registry/registry_client.h"
#include "verifier/signature/anchor_material.h"
#include "verifier/signature/signature_fetcher.h"
#include "webhook/admission/policy_admission_service.h"

namespace imagegate::webhook {

struct AttestationVerificationOptions {
  verifier::SignatureFetchOptions fetch;
  std::chrono::milliseconds cache_ttl{300'000};  // decided answers
  std::size_t max_cache_entries = 100'000;       // past it the oldest answers go first
  std::function<std::chrono::system_clock::time_point()> clock = [] { return std::chrono::system_clock::now(); };
};

// What verify() did, for the CLI's evidence.
struct AttestationReport {
  std::vector<policy::AttestationEvidence> requirements;  // one per requirement asked, in order
  std::size_t bundles = 0;            // bundles fetched (0 when every answer came from the cache)
  std::vector<std::string> skipped;   // what the fetcher could not read
  bool from_cache = false;            // every answer came from the cache
};

class AttestationVerification {
 public:
  explicit AttestationVerification(verifier::RegistryClient& client, AttestationVerificationOptions options = {});
  ~AttestationVerification();
  AttestationVerification(const AttestationVerification&) = delete;
  AttestationVerification& operator=(const AttestationVerification&) = delete;

  // Decides `requirements` (of rule `rule`, pointers into the review's policy snapshot) for `image` at
  // `digest` with the anchors of `material` (the review's). Honours cancellation.
  boost::asio::awaitable<AttestationReport> verify(std::shared_ptr<const verifier::AnchorMaterial> material,
                                                   verifier::ImageReference image, std::string digest,
                                                   std::string rule,
                                                   std::vector<const policy::AttestationRequirement*> requirements);

  struct State;

 private:
  verifier::SignatureFetcher fetcher_;
  AttestationVerificationOptions options_;
  std::unique_ptr<State> state_;
};

// The attestation part of evidence gathering for one image, shared by the server's evidence source,
// `imagegate test --online` and `imagegate verify --attestation`: fills evidence.attestations (one entry per
// plan requirement, one check per anchor) for the digest the evidence resolved (else the reference's).
// Without a digest every anchor is failed when the resolution failed definitively, else unavailable.
boost::asio::awaitable<AttestationReport> gather_attestation_evidence(
    AttestationVerification& verification, std::shared_ptr<const verifier::AnchorMaterial> anchors,
    const policy::ImageUnderReview& image, const policy::Plan& plan, policy::Evidence& evidence);

// An EvidenceSource decorator (like SignatureEvidenceSource) that fills Evidence.attestations for the
// requirements a plan names, with the anchor material of the review's snapshot. `inner` and
// `verification` must outlive it.
class AttestationEvidenceSource final : public EvidenceSource {
 public:
  AttestationEvidenceSource(EvidenceSource& inner, AttestationVerification& verification)
      : inner_(inner), verification_(verification) {}

  boost::asio::awaitable<policy::Evidence> gather(const policy::ImageUnderReview& image, const policy::Plan& plan,
                                                  const PolicySnapshot& snapshot) override;

 private:
  EvidenceSource& inner_;
  AttestationVerification& verification_;
};

}  // namespace imagegate::webhook

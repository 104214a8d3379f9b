// SignatureEvidenceSource: an EvidenceSource decorator (like VerdictEvidenceSource) that fills
// Evidence.signatures for the trust anchors a plan names (plan.needs.anchors), verifying the digest the
// inner source resolved (else the digest the reference carries) through a SignatureVerification.
//
// No digest: every anchor is failed when the resolution failed definitively, else unavailable (the
// failurePolicy settles it). The anchors are those of the review's snapshot (its anchor material, built
// with the policy: gather never reads a trust file), matched by name; without material, every anchor is
// unavailable ("no policy loaded"). Signatures are read from the rule's
// `signatures.repository` when it names one (plan.needs.signature_repository).
//
// Index signatures (a rule's `signatures.acceptIndexSignatures`, with a registry client): for an image
// written `name:tag@sha256:P` whose anchors did not all verify on P, the tag is resolved (without the
// digest) to D; when D != P, the manifest D is fetched (digest-checked) and parsed as an image index; when
// it lists P, the anchors still failing are verified on D, and one that verifies there counts as verified
// with a detail naming the index and P. An index that does not list P leaves them failed (the detail says
// so); registry trouble on the way makes failed ones unavailable (the failurePolicy settles it). Without a
// tag nothing changes: a digest alone does not say which index to look at. docs/policy.md has the
// semantics.
//
// Thread-safe; `inner`, `verification`, `registry` and `metrics` must outlive it.
#pragma once

#include <memory>

#include "webhook/admission/policy_admission_service.h"
#include "verifier/registry/registry_client.h"
#include "webhook/evidence/signature_verification.h"

namespace imagegate::webhook {

class Metrics;

class SignatureEvidenceSource final : public EvidenceSource {
 public:
  SignatureEvidenceSource(EvidenceSource& inner, SignatureVerification& verification, Metrics* metrics = nullptr)
      : inner_(inner), verification_(verification), metrics_(metrics) {}
  // With a registry client: index signatures are honoured for rules that accept them.
  SignatureEvidenceSource(EvidenceSource& inner, SignatureVerification& verification,
                          verifier::RegistryClient& registry, Metrics* metrics = nullptr)
      : inner_(inner), verification_(verification), registry_(&registry), metrics_(metrics) {}

  boost::asio::awaitable<policy::Evidence> gather(const policy::ImageUnderReview& image, const policy::Plan& plan,
                                                  const PolicySnapshot& snapshot) override;

 private:
  EvidenceSource& inner_;
  SignatureVerification& verification_;
  verifier::RegistryClient* registry_ = nullptr;  // null: index signatures are not looked for
  Metrics* metrics_;
};

// The signature part of gather() for one image, shared with `imagegate test --online` and `verify`:
// fills evidence.signatures (one entry per plan anchor). Returns the verification report (empty when
// nothing was verified). With `registry`, index signatures are honoured as described above; without it
// (`verify`, which has no policy rule) they are not.
boost::asio::awaitable<SignatureReport> gather_signature_evidence(SignatureVerification& verification,
                                                                  verifier::RegistryClient& registry,
                                                                  std::shared_ptr<const verifier::AnchorMaterial> anchors,
                                                                  const policy::ImageUnderReview& image,
                                                                  const policy::Plan& plan, policy::Evidence& evidence);
boost::asio::awaitable<SignatureReport> gather_signature_evidence(SignatureVerification& verification,
                                                                  std::shared_ptr<const verifier::AnchorMaterial> anchors,
                                                                  const policy::ImageUnderReview& image,
                                                                  const policy::Plan& plan, policy::Evidence& evidence);

}  // namespace imagegate::webhook

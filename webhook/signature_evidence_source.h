// SignatureEvidenceSource: an EvidenceSource decorator (like VerdictEvidenceSource) that fills
// Evidence.signatures for the trust anchors a plan names (plan.needs.anchors), verifying the digest the
// inner source resolved (else the digest the reference carries) through a SignatureVerification.
//
// No digest: every anchor is failed when the resolution failed definitively, else unavailable (the
// failurePolicy settles it). The policy whose anchors are used is the one `current_policy` returns (the
// admission service's snapshot); anchors are matched by name.
//
// Thread-safe; `inner`, `verification` and `metrics` must outlive it.
#pragma once

#include <functional>
#include <memory>

#include "webhook/policy_admission_service.h"
#include "webhook/signature_verification.h"

namespace imagegate::webhook {

class Metrics;

class SignatureEvidenceSource final : public EvidenceSource {
 public:
  SignatureEvidenceSource(EvidenceSource& inner, SignatureVerification& verification,
                          std::function<std::shared_ptr<const policy::CompiledPolicy>()> current_policy,
                          Metrics* metrics = nullptr)
      : inner_(inner), verification_(verification), current_policy_(std::move(current_policy)), metrics_(metrics) {}

  boost::asio::awaitable<policy::Evidence> gather(const policy::ImageUnderReview& image,
                                                  const policy::Plan& plan) override;

 private:
  EvidenceSource& inner_;
  SignatureVerification& verification_;
  std::function<std::shared_ptr<const policy::CompiledPolicy>()> current_policy_;
  Metrics* metrics_;
};

// The signature part of gather() for one image, shared with `imagegate test --online` and `verify`:
// fills evidence.signatures (one entry per plan anchor). Returns the verification report (empty when
// nothing was verified).
boost::asio::awaitable<SignatureReport> gather_signature_evidence(SignatureVerification& verification,
                                                                  std::shared_ptr<const policy::CompiledPolicy> policy,
                                                                  const policy::ImageUnderReview& image,
                                                                  const policy::Plan& plan, policy::Evidence& evidence);

}  // namespace imagegate::webhook

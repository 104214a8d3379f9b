// GCC 12 false positives inside Asio at inlined header locations (see https_server.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "webhook/signature_evidence_source.h"

#include <chrono>
#include <string>

#include "verifier/image_reference.h"
#include "webhook/metrics.h"

namespace imagegate::webhook {

namespace asio = boost::asio;

asio::awaitable<SignatureReport> gather_signature_evidence(SignatureVerification& verification,
                                                           std::shared_ptr<const policy::CompiledPolicy> policy,
                                                           const policy::ImageUnderReview& image,
                                                           const policy::Plan& plan, policy::Evidence& evidence) {
  SignatureReport report;
  if (plan.needs.anchors.empty()) co_return report;
  const auto settle_all = [&](policy::EvidenceStatus status, const std::string& detail) {
    evidence.signatures.clear();
    for (const std::string& anchor : plan.needs.anchors) evidence.signatures.push_back({anchor, {status, detail}});
  };
  if (!policy) {
    settle_all(policy::EvidenceStatus::unavailable, "no policy loaded");
    co_return report;
  }
  auto ref = verifier::ImageReference::from_container_image(image.image);
  if (!ref) {
    settle_all(policy::EvidenceStatus::failed, ref.error().message);
    co_return report;
  }
  std::string digest = evidence.digest;
  if (digest.empty() && ref->has_digest()) digest = ref->digest();
  if (digest.empty()) {
    // Without a digest nothing can be verified: definitive when the registry said the tag does not exist.
    const bool definitive = evidence.digest_resolution.status == policy::EvidenceStatus::failed;
    settle_all(definitive ? policy::EvidenceStatus::failed : policy::EvidenceStatus::unavailable,
               "no digest to verify signatures of" +
                   (evidence.digest_resolution.detail.empty() ? std::string()
                                                              : " (" + evidence.digest_resolution.detail + ")"));
    co_return report;
  }
  report = co_await verification.verify(policy, *ref, digest, plan.needs.anchors);
  evidence.signatures = report.anchors;
  co_return report;
}

asio::awaitable<policy::Evidence> SignatureEvidenceSource::gather(const policy::ImageUnderReview& image,
                                                                  const policy::Plan& plan) {
  policy::Evidence e = co_await inner_.gather(image, plan);
  if (plan.needs.anchors.empty()) co_return e;
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<const policy::CompiledPolicy> policy = current_policy_ ? current_policy_() : nullptr;
  SignatureReport report = co_await gather_signature_evidence(verification_, policy, image, plan, e);
  if (metrics_ != nullptr) {
    metrics_->observe_stage("cosign", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  co_return e;
}

}  // namespace imagegate::webhook

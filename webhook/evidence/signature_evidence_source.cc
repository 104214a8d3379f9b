#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/evidence/signature_evidence_source.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "common/text.h"
#include "verifier/image/image_reference.h"
#include "verifier/registry/oci_index.h"
#include "webhook/observe/metrics.h"

namespace imagegate::webhook {

namespace asio = boost::asio;

namespace {

using policy::EvidenceStatus;

// Registry answers that will not change on retry (the tag or manifest is gone, refused, too large) leave
// the anchors as the platform digest left them; anything transient makes a failed anchor undecided.
bool definitive(const Error& e) {
  return e.code == ErrorCode::not_found || e.code == ErrorCode::permission_denied ||
         e.code == ErrorCode::invalid_argument || e.code == ErrorCode::resource_exhausted;
}

// The index step for `ref` (name:tag@P) after the anchors were checked on P: see the header.
asio::awaitable<void> vouch_through_index(SignatureVerification& verification, verifier::RegistryClient& registry,
                                          std::shared_ptr<const verifier::AnchorMaterial> anchors,
                                          const verifier::ImageReference& ref, const policy::Plan& plan,
                                          SignatureReport& report) {
  const std::string& platform_digest = ref.digest();
  std::vector<std::size_t> pending;  // positions in report.anchors not verified on P
  for (std::size_t i = 0; i < report.anchors.size(); ++i) {
    if (report.anchors[i].check.status != EvidenceStatus::verified) pending.push_back(i);
  }
  if (pending.empty()) co_return;
  // Every pending anchor keeps its status and gains `note`; with `undecided`, a failed one becomes
  // unavailable (the index could have verified it).
  const auto settle = [&](const std::string& note, bool undecided) {
    for (std::size_t i : pending) {
      policy::CheckEvidence& check = report.anchors[i].check;
      check.detail += (check.detail.empty() ? "" : "; ") + note;
      if (undecided && check.status == EvidenceStatus::failed) check.status = EvidenceStatus::unavailable;
    }
  };

  auto tag_ref = verifier::ImageReference::from_container_image(ref.name() + ":" + ref.tag());
  if (!tag_ref) co_return;  // cannot happen: the name and tag came from a parsed reference
  const std::string tag_text = tag_ref->familiar_string();
  auto resolved = co_await registry.resolve(*tag_ref);
  if (!resolved) {
    settle("could not resolve " + tag_text + " to look for a signed index: " + resolved.error().message,
           !definitive(resolved.error()));
    co_return;
  }
  const std::string index_digest = resolved->digest;
  // The tag names P itself: its signatures were the ones just checked.
  if (index_digest == platform_digest) co_return;

  auto index_ref = verifier::ImageReference::from_container_image(ref.name() + ":" + ref.tag() + "@" + index_digest);
  if (!index_ref) {
    settle(tag_text + " resolves to " + index_digest + ", not a usable digest", false);
    co_return;
  }
  // fetch_manifest checks the body against the digest, so what is parsed is what the signature covers.
  auto fetched = co_await registry.fetch_manifest(*index_ref);
  if (!fetched) {
    settle("could not fetch the index " + index_digest + " that " + tag_text + " resolves to: " +
               fetched.error().message,
           !definitive(fetched.error()));
    co_return;
  }
  auto index = verifier::parse_image_index(fetched->body, fetched->media_type);
  if (!index) {
    settle(tag_text + " resolves to " + index_digest + ", which is not an image index (" + index.error().message + ")",
           false);
    co_return;
  }
  const verifier::IndexManifest* listed = index->find(platform_digest);
  if (listed == nullptr) {
    settle("the index " + index_digest + " that " + tag_text + " resolves to does not list " + platform_digest, false);
    co_return;
  }

  std::vector<std::string> names;
  for (std::size_t i : pending) names.push_back(report.anchors[i].anchor);
  SignatureReport on_index =
      co_await verification.verify(anchors, *index_ref, index_digest, names, plan.needs.signature_repository);
  report.signatures += on_index.signatures;
  report.registry_requests += on_index.registry_requests;
  report.fetch_seconds += on_index.fetch_seconds;
  report.verify_seconds += on_index.verify_seconds;
  report.skipped.insert(report.skipped.end(), on_index.skipped.begin(), on_index.skipped.end());
  report.from_cache = report.from_cache && on_index.from_cache;

  const std::string where = "the index " + index_digest + " that " + tag_text + " resolves to";
  const std::string lists = "which lists " + platform_digest +
                            (listed->platform ? " (" + listed->platform->string() + ")" : std::string());
  if (report.signers.size() < report.anchors.size()) report.signers.resize(report.anchors.size());
  for (std::size_t i : pending) {
    policy::AnchorEvidence& anchor = report.anchors[i];
    auto it = std::find_if(on_index.anchors.begin(), on_index.anchors.end(),
                           [&](const policy::AnchorEvidence& a) { return a.anchor == anchor.anchor; });
    if (it == on_index.anchors.end()) continue;
    const auto position = static_cast<std::size_t>(it - on_index.anchors.begin());
    switch (it->check.status) {
      case EvidenceStatus::verified: {
        std::vector<std::string> signers;
        if (position < on_index.signers.size()) signers = on_index.signers[position];
        anchor.check = {EvidenceStatus::verified,
                        "signed by " + (signers.empty() ? anchor.anchor : join(signers, ", ")) + " on " + where + ", " + lists};
        report.signers[i] = std::move(signers);
        break;
      }
      case EvidenceStatus::unavailable:
        if (anchor.check.status == EvidenceStatus::failed) anchor.check.status = EvidenceStatus::unavailable;
        anchor.check.detail += "; on " + where + ": " + it->check.detail;
        break;
      case EvidenceStatus::failed:
      case EvidenceStatus::not_evaluated:
        anchor.check.detail += "; on " + where + ": " + it->check.detail;
        break;
    }
  }
}

asio::awaitable<SignatureReport> gather_signatures(SignatureVerification& verification,
                                                   verifier::RegistryClient* registry,
                                                   std::shared_ptr<const verifier::AnchorMaterial> anchors,
                                                   const policy::ImageUnderReview& image, const policy::Plan& plan,
                                                   policy::Evidence& evidence) {
  SignatureReport report;
  if (plan.needs.anchors.empty()) co_return report;
  const auto settle_all = [&](policy::EvidenceStatus status, const std::string& detail) {
    evidence.signatures.clear();
    for (const std::string& anchor : plan.needs.anchors) evidence.signatures.push_back({anchor, {status, detail}});
  };
  if (!anchors) {
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
  report = co_await verification.verify(anchors, *ref, digest, plan.needs.anchors, plan.needs.signature_repository);
  // Index signatures need both halves of `name:tag@P`: the tag to find the index, P to look for in it.
  if (registry != nullptr && plan.needs.accept_index_signatures && ref->has_tag() && ref->has_digest() &&
      digest == ref->digest()) {
    co_await vouch_through_index(verification, *registry, anchors, *ref, plan, report);
  }
  evidence.signatures = report.anchors;
  co_return report;
}

}  // namespace

asio::awaitable<SignatureReport> gather_signature_evidence(SignatureVerification& verification,
                                                           verifier::RegistryClient& registry,
                                                           std::shared_ptr<const verifier::AnchorMaterial> anchors,
                                                           const policy::ImageUnderReview& image,
                                                           const policy::Plan& plan, policy::Evidence& evidence) {
  co_return co_await gather_signatures(verification, &registry, std::move(anchors), image, plan, evidence);
}

asio::awaitable<SignatureReport> gather_signature_evidence(SignatureVerification& verification,
                                                           std::shared_ptr<const verifier::AnchorMaterial> anchors,
                                                           const policy::ImageUnderReview& image,
                                                           const policy::Plan& plan, policy::Evidence& evidence) {
  co_return co_await gather_signatures(verification, nullptr, std::move(anchors), image, plan, evidence);
}

asio::awaitable<policy::Evidence> SignatureEvidenceSource::gather(const policy::ImageUnderReview& image,
                                                                  const policy::Plan& plan,
                                                                  const PolicySnapshot& snapshot) {
  policy::Evidence e = co_await inner_.gather(image, plan, snapshot);
  if (plan.needs.anchors.empty()) co_return e;
  const auto start = std::chrono::steady_clock::now();
  // The review's snapshot: the plan and the anchors come from the same policy, whatever reloads meanwhile.
  std::shared_ptr<const verifier::AnchorMaterial> anchors = snapshot.policy ? snapshot.anchors : nullptr;
  SignatureReport report = co_await gather_signatures(verification_, registry_, anchors, image, plan, e);
  if (metrics_ != nullptr) {
    metrics_->observe_stage("cosign", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  co_return e;
}

}  // namespace imagegate::webhook

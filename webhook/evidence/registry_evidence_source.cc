#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/evidence/registry_evidence_source.h"

#include <string>

#include "verifier/image/image_reference.h"

namespace imagegate::webhook {

namespace asio = boost::asio;
using policy::CheckEvidence;
using policy::EvidenceStatus;

asio::awaitable<CheckEvidence> resolve_digest_evidence(verifier::RegistryClient& client, std::string_view image,
                                                       std::string& digest, std::vector<std::string>* warnings) {
  auto ref = verifier::ImageReference::from_container_image(image);
  if (!ref) co_return CheckEvidence{EvidenceStatus::failed, ref.error().message};
  if (ref->has_digest()) {
    // Tag + digest: the runtime pulls by digest, so the digest is what is checked; no request needed.
    digest = ref->digest();
    co_return CheckEvidence{EvidenceStatus::verified, "referenced by digest"};
  }
  auto resolved = co_await client.resolve(*ref);
  if (!resolved) {
    const Error& e = resolved.error();
    // Definitive answers fail the check; anything transient is unavailable and the failurePolicy decides.
    const bool definitive = e.code == ErrorCode::not_found || e.code == ErrorCode::permission_denied ||
                            e.code == ErrorCode::invalid_argument || e.code == ErrorCode::resource_exhausted;
    // The message may reach the requester; the detail behind it (a socket error) goes to the decision log.
    co_return policy::check_from_error(definitive ? EvidenceStatus::failed : EvidenceStatus::unavailable, e);
  }
  digest = resolved->digest;
  std::string detail = "resolved " + ref->effective_tag() + " to " + resolved->digest;
  if (resolved->stale) {
    detail += " (stale: " + resolved->warning + ")";
    // Passes the check, but the answer says the digest is from the stale-if-error window.
    if (warnings != nullptr) warnings->push_back("registry unavailable; digest from cache: " + resolved->digest);
  }
  co_return CheckEvidence{EvidenceStatus::verified, detail};
}

RegistryEvidenceSource::RegistryEvidenceSource(verifier::RegistryClient& client) : client_(client) {}

asio::awaitable<policy::Evidence> RegistryEvidenceSource::gather(const policy::ImageUnderReview& image,
                                                                 const policy::Plan& plan,
                                                                 const PolicySnapshot& /*snapshot*/) {
  policy::Evidence evidence = policy::unevaluated_evidence(plan.needs, "no verifier configured");
  if (plan.needs.resolve_digest) {
    evidence.digest_resolution =
        co_await resolve_digest_evidence(client_, image.image, evidence.digest, &evidence.warnings);
  }
  co_return evidence;
}

}  // namespace imagegate::webhook

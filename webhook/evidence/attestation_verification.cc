#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/evidence/attestation_verification.h"

#include <mutex>
#include <optional>
#include <utility>

#include "common/expiring_cache.h"

namespace imagegate::webhook {

namespace asio = boost::asio;
using policy::EvidenceStatus;
using SteadyClock = std::chrono::steady_clock;

struct AttestationVerification::State {
  std::mutex mutex;  // guards everything below
  std::string material_version;  // the newest anchor material seen: the cache holds its answers
  ExpiringCache<policy::CheckEvidence> cache;

  explicit State(std::size_t max_entries) : cache(max_entries) {}
};

namespace {

std::string cache_key(const verifier::ImageReference& image, const std::string& digest, const std::string& version,
                      const std::string& rule, const std::string& requirement, const std::string& anchor) {
  return image.name() + "@" + digest + "|" + version + "|" + rule + "|" + requirement + "|" + anchor;
}

// Every anchor of every requirement settled with one status and detail.
std::vector<policy::AttestationEvidence> settled(const std::vector<const policy::AttestationRequirement*>& requirements,
                                                 EvidenceStatus status, const std::string& detail) {
  std::vector<policy::AttestationEvidence> out;
  for (const policy::AttestationRequirement* r : requirements) {
    policy::AttestationEvidence e{r->name, {}};
    for (const std::string& anchor : r->anchors) e.anchors.push_back({anchor, {status, detail}});
    out.push_back(std::move(e));
  }
  return out;
}

// One anchor of one requirement from what was fetched (or why fetching failed).
policy::CheckEvidence decide(const policy::AttestationRequirement& requirement, const verifier::LoadedAnchor* anchor,
                             const Result<verifier::FetchedSignatures>& fetched,
                             std::chrono::system_clock::time_point now) {
  if (anchor == nullptr) return {EvidenceStatus::failed, "unknown trust anchor"};
  if (!fetched.ok()) {
    const Error& e = fetched.error();
    const bool definitive = e.code == ErrorCode::resource_exhausted || e.code == ErrorCode::invalid_argument ||
                            e.code == ErrorCode::permission_denied || e.code == ErrorCode::not_found;
    return {definitive ? EvidenceStatus::failed : EvidenceStatus::unavailable, "fetching attestations: " + e.message,
            e.detail.empty() ? "" : "fetching attestations: " + e.detail};
  }
  const verifier::AttestationCheck found =
      verifier::check_fetched_attestations(*anchor, *fetched, requirement.predicate_type, now);
  std::vector<policy::VerifiedStatement> statements;
  statements.reserve(found.statements.size());
  for (const verifier::VerifiedAttestation& s : found.statements) statements.push_back({s.source, s.predicate_json});
  return policy::decide_attestation_anchor(requirement, statements, found.detail, now);
}

}  // namespace

AttestationVerification::AttestationVerification(verifier::RegistryClient& client, AttestationVerificationOptions options)
    : fetcher_(client, options.fetch), options_(std::move(options)),
      state_(std::make_unique<State>(options_.max_cache_entries)) {}

AttestationVerification::~AttestationVerification() = default;

asio::awaitable<AttestationReport> AttestationVerification::verify(
    std::shared_ptr<const verifier::AnchorMaterial> material, verifier::ImageReference image, std::string digest,
    std::string rule, std::vector<const policy::AttestationRequirement*> requirements) {
  AttestationReport report;
  if (!material) {
    report.requirements = settled(requirements, EvidenceStatus::unavailable, "trust anchors are not loaded");
    co_return report;
  }
  const std::string version = material->version();
  report.requirements = settled(requirements, EvidenceStatus::not_evaluated, "");
  bool complete = true;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->material_version != version) {
      state_->material_version = version;
      state_->cache.clear();
    }
    const auto now = SteadyClock::now();
    for (std::size_t i = 0; i < requirements.size(); ++i) {
      for (policy::AnchorEvidence& a : report.requirements[i].anchors) {
        const std::string key = cache_key(image, digest, version, rule, requirements[i]->name, a.anchor);
        if (const policy::CheckEvidence* hit = state_->cache.find(key, now)) {
          a.check = *hit;
        } else {
          complete = false;
        }
      }
    }
  }
  if (complete) {
    report.from_cache = true;
    co_return report;
  }
  asio::awaitable<Result<verifier::FetchedSignatures>> fetching = fetcher_.fetch(image, digest);
  const Result<verifier::FetchedSignatures> fetched = co_await std::move(fetching);
  if (fetched.ok()) {
    report.bundles = fetched->bundles.size();
    report.skipped = fetched->skipped;
  }
  const auto now = options_.clock ? options_.clock() : std::chrono::system_clock::now();
  std::vector<std::pair<std::string, policy::CheckEvidence>> decided;  // computed outside the lock
  for (std::size_t i = 0; i < requirements.size(); ++i) {
    for (policy::AnchorEvidence& a : report.requirements[i].anchors) {
      if (a.check.status != EvidenceStatus::not_evaluated) continue;  // from the cache
      a.check = decide(*requirements[i], material->find(a.anchor), fetched, now);
      if (a.check.status != EvidenceStatus::unavailable && options_.cache_ttl.count() > 0) {
        decided.emplace_back(cache_key(image, digest, version, rule, requirements[i]->name, a.anchor), a.check);
      }
    }
  }
  if (!decided.empty()) {
    std::lock_guard lock(state_->mutex);
    const auto steady_now = SteadyClock::now();
    for (auto& [key, check] : decided) state_->cache.put(key, std::move(check), steady_now + options_.cache_ttl, steady_now);
  }
  co_return report;
}

asio::awaitable<AttestationReport> gather_attestation_evidence(AttestationVerification& verification,
                                                               std::shared_ptr<const verifier::AnchorMaterial> anchors,
                                                               const policy::ImageUnderReview& image,
                                                               const policy::Plan& plan, policy::Evidence& evidence) {
  AttestationReport report;
  if (plan.needs.attestations.empty() || plan.rule == nullptr) co_return report;
  if (!anchors) {
    evidence.attestations = settled(plan.needs.attestations, EvidenceStatus::unavailable, "no policy loaded");
    co_return report;
  }
  auto ref = verifier::ImageReference::from_container_image(image.image);
  if (!ref) {
    evidence.attestations = settled(plan.needs.attestations, EvidenceStatus::failed, ref.error().message);
    co_return report;
  }
  std::string digest = evidence.digest;
  if (digest.empty() && ref->has_digest()) digest = ref->digest();
  if (digest.empty()) {
    const bool definitive = evidence.digest_resolution.status == EvidenceStatus::failed;
    evidence.attestations = settled(plan.needs.attestations, definitive ? EvidenceStatus::failed : EvidenceStatus::unavailable,
                                    "no digest to verify attestations of");
    co_return report;
  }
  asio::awaitable<AttestationReport> verifying =
      verification.verify(std::move(anchors), *ref, digest, plan.rule->name, plan.needs.attestations);
  report = co_await std::move(verifying);
  evidence.attestations = report.requirements;
  co_return report;
}

asio::awaitable<policy::Evidence> AttestationEvidenceSource::gather(const policy::ImageUnderReview& image,
                                                                    const policy::Plan& plan,
                                                                    const PolicySnapshot& snapshot) {
  asio::awaitable<policy::Evidence> inner = inner_.gather(image, plan, snapshot);
  policy::Evidence e = co_await std::move(inner);
  if (plan.needs.attestations.empty()) co_return e;
  // The review's snapshot: the plan's requirements and the anchors come from the same policy.
  std::shared_ptr<const verifier::AnchorMaterial> anchors = snapshot.policy ? snapshot.anchors : nullptr;
  asio::awaitable<AttestationReport> gathering = gather_attestation_evidence(verification_, anchors, image, plan, e);
  co_await std::move(gathering);
  co_return e;
}

}  // namespace imagegate::webhook

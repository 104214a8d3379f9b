#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/admission/digest_pinning.h"

#include <chrono>
#include <string>
#include <utility>
#include <map>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/evaluate.h"
#include "policy/workload.h"
#include "verifier/image/image_reference.h"
#include "webhook/admission/admission_review.h"
#include "webhook/admission/pin_patch.h"

namespace imagegate::webhook {

namespace asio = boost::asio;

namespace {

HttpAnswer bad_request(const std::string& message) {
  return HttpAnswer{400, "application/json", nlohmann::json{{"error", message}}.dump()};
}

}  // namespace

DigestPinning::DigestPinning(PolicyAdmissionService& service, verifier::RegistryClient& client,
                             AdmissionOptions options)
    : service_(service), source_(client), options_(options) {}

asio::awaitable<HttpAnswer> DigestPinning::mutate(std::string body, std::string target) {
  auto decoded = decode_admission_review(body, body.capacity() - body.size());
  if (!decoded) co_return bad_request(decoded.error().message);
  const AdmissionRequest& request = *decoded;
  AdmissionResponse response;
  response.uid = request.uid;
  response.allowed = true;
  const PolicySnapshot snapshot = service_.snapshot();  // this request's, whatever reloads happen meanwhile
  const auto& policy = snapshot.policy;
  if ((request.operation != "CREATE" && request.operation != "UPDATE") || !policy || !request.has_object) {
    co_return HttpAnswer{200, "application/json", encode_admission_review(request.version, response)};
  }
  const Result<policy::Workload>& workload = request.workload;
  if (!workload) {
    // Not a workload we understand: nothing to pin. /validate reports the problem.
    co_return HttpAnswer{200, "application/json", encode_admission_review(request.version, response)};
  }

  // Which containers to pin, and one resolution per distinct image, all raced against the budget.
  std::vector<std::pair<const policy::ContainerImage*, std::size_t>> to_pin;  // container, job index
  std::vector<EvidenceJob> jobs;
  std::map<std::string, std::size_t> job_of_image;
  for (const policy::ContainerImage& container : workload->images) {
    const auto planned = policy::plan_image(*policy, {request.namespace_name, container.image});
    const policy::Plan& plan = planned->plan;
    if (plan.rule == nullptr || !plan.rule->pin_digest) continue;
    const auto& ref = planned->reference;
    if (!ref || ref->has_digest()) continue;  // invalid (validate denies) or already pinned
    auto [it, added] = job_of_image.emplace(container.image, jobs.size());
    if (added) {
      policy::Plan resolve_only;
      resolve_only.rule = plan.rule;
      resolve_only.needs.resolve_digest = true;
      jobs.push_back({{request.namespace_name, container.image}, resolve_only});
    }
    to_pin.emplace_back(&container, it->second);
  }
  const auto budget = review_budget(options_, target);
  const std::size_t job_count = jobs.size();
  std::vector<GatheredEvidence> gathered = co_await gather_within_budget(source_, std::move(jobs), snapshot, budget,
                                                                           options_.max_concurrent_images);

  // image -> pinned reference ("" when it could not be resolved); each warning once per image.
  std::vector<std::string> pinned_ref(job_count);
  for (const auto& [image, job] : job_of_image) {
    const GatheredEvidence& g = gathered[job];
    if (!g.evidence) {
      response.warnings.push_back("not pinned: " + image + ": " +
                                  (g.failure.empty() ? "the review's time budget (" + std::to_string(budget.count()) +
                                                           "ms) ran out while resolving"
                                                     : g.failure));
      continue;
    }
    const policy::CheckEvidence& check = g.evidence->digest_resolution;
    if (check.status != policy::EvidenceStatus::verified || g.evidence->digest.empty()) {
      response.warnings.push_back("not pinned: " + image + ": " + check.detail);
      continue;
    }
    auto pinned = pinned_reference(image, g.evidence->digest);
    if (!pinned) continue;
    pinned_ref[job] = std::move(*pinned);
    for (const std::string& note : g.evidence->warnings) response.warnings.push_back("pinned " + image + ": " + note);
  }
  std::vector<PinnedImage> pins;
  for (const auto& [container, job] : to_pin) {
    if (!pinned_ref[job].empty()) pins.push_back({container->json_path, pinned_ref[job]});
  }
  const std::size_t pinned = pins.size();
  const nlohmann::json patch = pin_patch(pins);
  for (std::string& w : response.warnings) {
    if (w.size() > 240) w.resize(240);
  }
  if (!patch.empty()) response.json_patch = patch.dump();
  if (pinned > 0) response.audit_annotations["pinned-images"] = std::to_string(pinned);
  if (request.dry_run) response.audit_annotations["dry-run"] = "true";
  co_return HttpAnswer{200, "application/json", encode_admission_review(request.version, response)};
}

}  // namespace imagegate::webhook

// GCC 12 false positives inside Asio at inlined header locations (see https_server.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "webhook/digest_pinning.h"

#include <chrono>
#include <map>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/evaluate.h"
#include "policy/workload.h"
#include "verifier/image_reference.h"
#include "webhook/admission_review.h"

namespace imagegate::webhook {

namespace asio = boost::asio;

namespace {

HttpAnswer bad_request(const std::string& message) {
  return HttpAnswer{400, "application/json", nlohmann::json{{"error", message}}.dump()};
}

}  // namespace

DigestPinning::DigestPinning(PolicyAdmissionService& service, verifier::RegistryClient& client,
                             AdmissionOptions options)
    : service_(service), client_(client), options_(options) {}

asio::awaitable<HttpAnswer> DigestPinning::mutate(std::string body, std::string target) {
  auto decoded = decode_admission_review(body);
  if (!decoded) co_return bad_request(decoded.error().message);
  const AdmissionRequest& request = *decoded;
  AdmissionResponse response;
  response.uid = request.uid;
  response.allowed = true;
  const auto policy = service_.policy();
  if ((request.operation != "CREATE" && request.operation != "UPDATE") || !policy || request.object.is_null()) {
    co_return HttpAnswer{200, "application/json", encode_admission_review(request.version, response)};
  }
  auto workload = policy::extract_workload(request.object, request.kind);
  if (!workload) {
    // Not a workload we understand: nothing to pin. /validate reports the problem.
    co_return HttpAnswer{200, "application/json", encode_admission_review(request.version, response)};
  }

  const auto deadline = std::chrono::steady_clock::now() + review_budget(options_, target);
  nlohmann::json patch = nlohmann::json::array();
  std::map<std::string, std::string> resolved;  // image -> pinned reference (one lookup per distinct image)
  int pinned = 0;
  for (const policy::ContainerImage& container : workload->images) {
    const policy::Plan plan = policy::plan(*policy, {request.namespace_name, container.image});
    if (plan.rule == nullptr || !plan.rule->pin_digest) continue;
    auto ref = verifier::ImageReference::from_container_image(container.image);
    if (!ref || ref->has_digest()) continue;  // invalid (validate denies) or already pinned
    auto it = resolved.find(container.image);
    if (it == resolved.end()) {
      // Each registry step has its own timeout; a resolution that would end past the review's deadline
      // is not started (the answer must reach the API server in time).
      std::string pinned_ref;
      if (std::chrono::steady_clock::now() >= deadline) {
        response.warnings.push_back("not pinned: " + container.image + ": the review's time budget ran out");
      } else {
        Result<verifier::ResolvedImage> r = co_await client_.resolve(*ref);
        if (!r.ok()) {
          response.warnings.push_back("not pinned: " + container.image + ": " + r.error().message);
        } else {
          pinned_ref = ref->name() + "@" + r->digest;
          if (r->stale) response.warnings.push_back("pinned " + container.image + " from cache: " + r->warning);
        }
      }
      it = resolved.emplace(container.image, pinned_ref).first;
    }
    if (it->second.empty()) continue;
    patch.push_back({{"op", "replace"}, {"path", policy::to_json_pointer(container.json_path)}, {"value", it->second}});
    ++pinned;
  }
  for (std::string& w : response.warnings) {
    if (w.size() > 240) w.resize(240);
  }
  if (!patch.empty()) response.json_patch = patch.dump();
  if (pinned > 0) response.audit_annotations["pinned-images"] = std::to_string(pinned);
  if (request.dry_run) response.audit_annotations["dry-run"] = "true";
  co_return HttpAnswer{200, "application/json", encode_admission_review(request.version, response)};
}

}  // namespace imagegate::webhook

// AdmissionService: the admission flow behind POST /validate. Decodes the AdmissionReview, extracts the
// workload's images, asks policy for a plan per image, gathers evidence within the review's deadline,
// asks policy for decisions, and encodes one answer. Records metrics and writes the decision log.
//
// Owns the current policy snapshot (std::shared_ptr<const CompiledPolicy>), swapped whole on reload:
// a review keeps the snapshot it started with. Thread-safe: called from any io_context thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

namespace imagegate::policy {
class CompiledPolicy;
}
namespace imagegate::verifier {
class AnchorMaterial;
}

namespace imagegate::webhook {

// The policy snapshot a review started with, handed whole to every evidence source (EvidenceSource::gather):
// the compiled policy and the anchor material built for it (verifier/signature/anchor_material.h; nullptr
// when none was built: signature checks are then unavailable). A reload mid-review swaps the service's
// snapshot, never the one a review holds. Immutable parts, shared.
struct PolicySnapshot {
  std::shared_ptr<const policy::CompiledPolicy> policy;
  std::shared_ptr<const verifier::AnchorMaterial> anchors;
};

// An HTTP answer the server writes as is.
struct HttpAnswer {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class AdmissionService {
 public:
  virtual ~AdmissionService() = default;

  // POST /validate. `target` is the request target with its query (the API server appends
  // `?timeout=10s`); the review's budget is derived from it. Never throws; always answers.
  virtual boost::asio::awaitable<HttpAnswer> validate(std::string body, std::string target) = 0;
  // A valid policy is loaded (/readyz).
  virtual bool ready() const = 0;
};

}  // namespace imagegate::webhook

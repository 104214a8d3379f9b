// PolicyAdmissionService: the AdmissionService that decides with a CompiledPolicy.
//
// Flow per review: decode (admission_review.h: the request and its object's Workload, policy/workload.h)
// -> plan each image -> gather evidence through the EvidenceSource within the review's budget -> evaluate
// -> decide_workload -> render (decision_rendering.h: warnings, annotations, log line, inventory entry)
// -> encode. DELETE and CONNECT are allowed without looking (a DELETE that is not a dry
// run is reported to the observer, for the inventory); CREATE and UPDATE (including
// the pods/ephemeralcontainers subresource) check every image of the new object, never oldObject, and
// never skip because of fields the requester controls (metadata.deletionTimestamp, annotations).
//
// Budget: the API server appends `?timeout=Ns`; a review gets min(N - margin, max_budget). Checks still
// running when it expires are unavailable ("timed out") and the failurePolicy settles them.
//
// Thread-safe. The policy snapshot is swapped atomically by set_policy(); a review keeps the snapshot it
// started with.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "policy/evaluate.h"
#include "webhook/admission/admission_service.h"

namespace imagegate::webhook {

class DecisionLog;
class DecisionRing;
class Metrics;

// Gathers the network evidence a plan needs (digest, signatures, verdict). Later issues add the registry,
// cosign, Notary and verdict-store implementations; until then NoVerifierEvidenceSource reports every
// needed check as not_evaluated ("no verifier configured").
class EvidenceSource {
 public:
  virtual ~EvidenceSource() = default;
  // Must honour cancellation (the flow cancels it when the budget expires). `snapshot` is the one the
  // review started with (plan.rule points into snapshot.policy); it outlives the call.
  virtual boost::asio::awaitable<policy::Evidence> gather(const policy::ImageUnderReview& image,
                                                          const policy::Plan& plan, const PolicySnapshot& snapshot) = 0;
};

// One image whose evidence is wanted, and what gathering produced for it.
struct EvidenceJob {
  policy::ImageUnderReview image;
  policy::Plan plan;  // plan.rule points into the policy snapshot passed below
};
struct GatheredEvidence {
  std::optional<policy::Evidence> evidence;  // nullopt: the gather threw (failure says what) or was still
  std::string failure;                       // running when the budget ran out (failure empty)
};

// Gathers every job's evidence concurrently (one strand), at most `max_concurrent` jobs at once (the
// per-review cap on registry requests: a job's requests are sequential), within `budget`. Jobs still
// running when it expires get a terminal cancellation and are not waited for, so a source that hangs or
// ignores cancellation cannot hold the caller past its deadline; their late results are dropped; jobs not
// started by then never start (no evidence, no failure: "timed out"). `source` must outlive every job
// (stragglers included); `snapshot` (the review's) is given to every gather and held until the last one ends. /validate and /mutate both gather
// this way (webhook/admission/evidence_gathering.cc).
inline constexpr std::size_t kDefaultMaxConcurrentPerReview = 16;
boost::asio::awaitable<std::vector<GatheredEvidence>> gather_within_budget(
    EvidenceSource& source, std::vector<EvidenceJob> jobs, PolicySnapshot snapshot,
    std::chrono::milliseconds budget, std::size_t max_concurrent = kDefaultMaxConcurrentPerReview);

class NoVerifierEvidenceSource final : public EvidenceSource {
 public:
  boost::asio::awaitable<policy::Evidence> gather(const policy::ImageUnderReview& image, const policy::Plan& plan,
                                                  const PolicySnapshot& snapshot) override;
};

struct AdmissionOptions {
  std::chrono::milliseconds default_budget{9'000};  // when the request has no ?timeout=
  std::chrono::milliseconds max_budget{25'000};     // never more than this
  std::chrono::milliseconds margin{1'000};          // answer this long before the API server gives up
  std::size_t max_concurrent_images = kDefaultMaxConcurrentPerReview;  // images gathered at once per review
};

// The API server's `?timeout=` query parameter in `target` ("/validate?timeout=10s"): a Go duration
// ("10s", "1m0s", "1.5s", "500ms") or a bare number of seconds. nullopt when absent or not a duration.
std::optional<std::chrono::milliseconds> parse_review_timeout(std::string_view target);
// The review's budget: min(timeout - margin, max_budget) (default_budget without a timeout), at least 100 ms.
std::chrono::milliseconds review_budget(const AdmissionOptions& options, std::string_view target);

// What an admitted review put into the cluster: the images of the containers and image volumes that were
// allowed (or allowed with a warning) and whose digest is known, and where they run. Reported for
// CREATE/UPDATE reviews that were not dry runs and whose workload as a whole was admitted. `replaces` is
// set for an UPDATE whose every image's digest is known: `images` is then all the workload runs, and what
// it ran before and no longer names is gone. (An UPDATE with a container whose digest is unknown only adds:
// what it replaced cannot be told, and keeping a stale entry is safer than dropping a running one.)
struct AdmittedImage {
  std::string image;   // normalised reference
  std::string digest;  // sha256:...
};
struct Admission {
  std::string namespace_name;
  std::string kind;  // the object's kind
  std::string name;  // metadata.name, else generateName
  std::vector<AdmittedImage> images;  // distinct (image, digest) pairs
  std::chrono::system_clock::time_point at{};
  bool replaces = false;  // an UPDATE naming every image the workload now runs
};

// A workload the cluster is deleting: a DELETE review that was not a dry run (the `inventory.imagegate.dev`
// webhook, failurePolicy Ignore). kind is request.kind.kind, name request.name.
struct Deletion {
  std::string namespace_name;
  std::string kind;
  std::string name;
  std::chrono::system_clock::time_point at{};
};

// Receives admissions (the inventory, webhook/api/inventory_recorder.h). Called on an io_context thread after
// the answer is decided: it must not block and must not throw.
class AdmissionObserver {
 public:
  virtual ~AdmissionObserver() = default;
  virtual void admitted(Admission admission) noexcept = 0;
  // A DELETE review (not a dry run) for a named, namespaced object. Default: ignored.
  virtual void forgotten(Deletion /*deletion*/) noexcept {}
};

class PolicyAdmissionService final : public AdmissionService {
 public:
  // `evidence`, `metrics` and `log` must outlive the service. `clock` gives "now" for evaluation.
  PolicyAdmissionService(AdmissionOptions options, EvidenceSource& evidence, Metrics& metrics, DecisionLog& log,
                         std::function<std::chrono::system_clock::time_point()> clock =
                             [] { return std::chrono::system_clock::now(); });

  boost::asio::awaitable<HttpAnswer> validate(std::string body, std::string target) override;
  bool ready() const override;

  // Swaps the snapshot: `policy` with the anchor material the anchor loader builds for it (blocking: call it
  // where the policy is compiled, off the io threads), none without a loader.
  void set_policy(std::shared_ptr<const policy::CompiledPolicy> policy);
  std::shared_ptr<const policy::CompiledPolicy> policy() const;
  PolicySnapshot snapshot() const;
  // Optional; set before the first set_policy. Builds the anchor material of a policy.
  using AnchorLoader =
      std::function<std::shared_ptr<const verifier::AnchorMaterial>(std::shared_ptr<const policy::CompiledPolicy>)>;
  void set_anchor_loader(AnchorLoader loader) { anchor_loader_ = std::move(loader); }
  // Rotated trust files: new material for the policy in force (ignored when built for another version).
  void set_anchor_material(std::shared_ptr<const verifier::AnchorMaterial> anchors);
  // Optional; `observer` (may be null: none) must outlive the service. Set it before serving.
  void set_observer(AdmissionObserver* observer) { observer_ = observer; }
  // Optional; every decision-log line is also kept in `recent` (webhook/observe/decision_ring.h; may be null:
  // none), which must outlive the service. Set it before serving.
  void set_recent(DecisionRing* recent) { recent_ = recent; }
  // When the policy in force was set (set_policy); the epoch before the first.
  std::chrono::system_clock::time_point policy_loaded_at() const;

 private:
  AdmissionOptions options_;
  EvidenceSource& evidence_;
  Metrics& metrics_;
  DecisionLog& log_;
  std::function<std::chrono::system_clock::time_point()> clock_;
  mutable std::mutex mutex_;  // guards snapshot_ (the pointers, not the immutable policy and material)
  PolicySnapshot snapshot_;
  AnchorLoader anchor_loader_;
  AdmissionObserver* observer_ = nullptr;
  DecisionRing* recent_ = nullptr;
  std::chrono::system_clock::time_point loaded_at_{};  // guarded by mutex_
};

}  // namespace imagegate::webhook

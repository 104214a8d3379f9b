#include "webhook/admission/policy_admission_service.h"

#include "common/asio_warnings.h"  // before any Asio header

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <boost/asio/use_awaitable.hpp>

#include "common/duration.h"
#include "common/json_writer.h"
#include "common/text.h"
#include "policy/policy.h"
#include "policy/workload.h"
#include "verifier/signature/anchor_material.h"
#include "webhook/admission/admission_review.h"
#include "webhook/admission/decision_rendering.h"
#include "webhook/observe/decision_log.h"
#include "webhook/observe/decision_ring.h"
#include "webhook/observe/metrics.h"

namespace imagegate::webhook {
namespace asio = boost::asio;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

HttpAnswer json_error(unsigned status, const std::string& message) {
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.member("error", message);
  w.end_object();
  return {status, "application/json", std::move(body)};
}

bool needs_evidence(const policy::Plan& plan) {
  return plan.outcome == policy::Outcome::passed &&
         (plan.needs.resolve_digest || !plan.needs.anchors.empty() || plan.needs.verdict ||
          !plan.needs.attestations.empty());
}

// Every check `needs` asks for, marked unavailable with `detail`: what a check that did not finish in time
// (or whose source failed) counts as. The rule's failurePolicy then settles it.
policy::Evidence unavailable_evidence(const policy::Requirements& needs, const std::string& detail) {
  policy::Evidence evidence;
  const policy::CheckEvidence unavailable{policy::EvidenceStatus::unavailable, detail};
  if (needs.resolve_digest) evidence.digest_resolution = unavailable;
  for (const auto& anchor : needs.anchors) evidence.signatures.push_back({anchor, unavailable});
  if (needs.verdict) evidence.verdict = unavailable;
  for (const policy::AttestationRequirement* requirement : needs.attestations) {
    policy::AttestationEvidence a{requirement->name, {}};
    for (const auto& anchor : requirement->anchors) a.anchors.push_back({anchor, unavailable});
    evidence.attestations.push_back(std::move(a));
  }
  return evidence;
}

// ---- The review itself. --------------------------------------------------------------------------------

// What one review produced, for the answer, the metrics and the decision log.
struct ReviewOutcome {
  AdmissionResponse response;
  std::string metric_decision;  // allowed | warned | denied | error
  std::optional<policy::WorkloadDecision> decided;  // the decision log's images; none: an empty list
  std::string policy_version;
  std::optional<Admission> admitted;  // the inventory's view: set when the workload was admitted
};

ReviewOutcome allow(const AdmissionRequest& request) {
  ReviewOutcome out;
  out.response.uid = request.uid;
  out.response.allowed = true;
  out.metric_decision = "allowed";
  return out;
}

ReviewOutcome deny(const AdmissionRequest& request, std::string message, std::string metric_decision) {
  ReviewOutcome out;
  out.response.uid = request.uid;
  out.response.allowed = false;
  out.response.code = 403;
  out.response.message = truncate_utf8(std::move(message), kMaxMessageBytes);
  out.metric_decision = std::move(metric_decision);
  return out;
}

}  // namespace

asio::awaitable<policy::Evidence> NoVerifierEvidenceSource::gather(const policy::ImageUnderReview& /*image*/,
                                                                  const policy::Plan& plan,
                                                                  const PolicySnapshot& /*snapshot*/) {
  co_return policy::unevaluated_evidence(plan.needs, "no verifier configured");
}

PolicyAdmissionService::PolicyAdmissionService(AdmissionOptions options, EvidenceSource& evidence,
                                               Metrics& metrics, DecisionLog& log,
                                               std::function<std::chrono::system_clock::time_point()> clock)
    : options_(options), evidence_(evidence), metrics_(metrics), log_(log), clock_(std::move(clock)) {}
bool PolicyAdmissionService::ready() const { return policy() != nullptr; }

void PolicyAdmissionService::set_policy(std::shared_ptr<const policy::CompiledPolicy> policy) {
  // Built before the swap: a review never sees a policy without the material of its anchors.
  std::shared_ptr<const verifier::AnchorMaterial> anchors;
  if (anchor_loader_ && policy) anchors = anchor_loader_(policy);
  const auto now = std::chrono::system_clock::now();  // the wall clock (clock_ is the evaluation's)
  std::lock_guard lock(mutex_);
  snapshot_ = {std::move(policy), std::move(anchors)};
  loaded_at_ = now;
}

std::chrono::system_clock::time_point PolicyAdmissionService::policy_loaded_at() const {
  std::lock_guard lock(mutex_);
  return loaded_at_;
}

void PolicyAdmissionService::set_anchor_material(std::shared_ptr<const verifier::AnchorMaterial> anchors) {
  std::lock_guard lock(mutex_);
  if (snapshot_.policy && anchors && anchors->policy_version() == policy::version_of(*snapshot_.policy)) {
    snapshot_.anchors = std::move(anchors);
  }
}

std::shared_ptr<const policy::CompiledPolicy> PolicyAdmissionService::policy() const {
  std::lock_guard lock(mutex_);
  return snapshot_.policy;
}

PolicySnapshot PolicyAdmissionService::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

namespace {

// What deciding a CREATE / UPDATE produced, before anything is written down (decision_rendering.h).
struct ReviewDecision {
  std::string namespace_name;              // the review's, else the object's
  std::vector<std::string> distinct;       // distinct images, in order of appearance
  std::vector<policy::Evidence> evidence;  // evidence[i]: of distinct[i]
  policy::WorkloadDecision decided;
  std::chrono::system_clock::time_point now{};
};

// Plans each distinct image once (containers sharing an image share its evidence), gathers the evidence
// the plans need within the budget, evaluates every container and folds them into the workload's decision.
asio::awaitable<ReviewDecision> decide_review(const AdmissionRequest& request, const policy::Workload& workload,
                                              PolicySnapshot snapshot, EvidenceSource& source, Metrics& metrics, milliseconds budget,
                                              std::size_t max_concurrent,
                                              const std::function<std::chrono::system_clock::time_point()>& clock) {
  const std::shared_ptr<const policy::CompiledPolicy>& compiled = snapshot.policy;
  ReviewDecision out;
  out.namespace_name = !request.namespace_name.empty() ? request.namespace_name : workload.namespace_name;
  const std::string& namespace_name = out.namespace_name;
  std::vector<std::string>& distinct = out.distinct;

  const auto policy_start = Clock::now();
  for (const auto& container : workload.images) {
    if (std::find(distinct.begin(), distinct.end(), container.image) == distinct.end()) {
      distinct.push_back(container.image);
    }
  }
  // From the snapshot's plan cache: an image seen before in this namespace is not matched again.
  std::vector<std::shared_ptr<const policy::ImagePlan>> plans;
  plans.reserve(distinct.size());
  for (const auto& image : distinct) plans.push_back(policy::plan_image(*compiled, {namespace_name, image}));
  double policy_seconds = seconds_since(policy_start);

  std::vector<policy::Evidence>& evidence = out.evidence;
  evidence.resize(distinct.size());
  std::vector<EvidenceJob> jobs;
  std::vector<std::size_t> job_of_image(distinct.size(), static_cast<std::size_t>(-1));
  for (std::size_t i = 0; i < distinct.size(); ++i) {
    if (!needs_evidence(plans[i]->plan)) continue;
    job_of_image[i] = jobs.size();
    jobs.push_back({{namespace_name, distinct[i]}, plans[i]->plan});
  }
  if (!jobs.empty()) {
    const auto evidence_start = Clock::now();
    auto gathered = co_await gather_within_budget(source, std::move(jobs), snapshot, budget, max_concurrent);
    const std::string timed_out = "timed out after " + std::to_string(budget.count()) + "ms";
    for (std::size_t i = 0; i < distinct.size(); ++i) {
      const std::size_t job = job_of_image[i];
      if (job == static_cast<std::size_t>(-1)) continue;
      if (gathered[job].evidence) {
        evidence[i] = std::move(*gathered[job].evidence);
      } else if (!gathered[job].failure.empty()) {
        evidence[i] = unavailable_evidence(plans[i]->plan.needs, "evidence source failed: " + gathered[job].failure);
      } else {
        evidence[i] = unavailable_evidence(plans[i]->plan.needs, timed_out);
      }
    }
    metrics.observe_stage("evidence", seconds_since(evidence_start));
  }

  const auto decide_start = Clock::now();
  out.now = clock();
  std::vector<policy::ContainerDecision> decisions;
  decisions.reserve(workload.images.size());
  for (const auto& container : workload.images) {
    const auto at = static_cast<std::size_t>(std::find(distinct.begin(), distinct.end(), container.image) -
                                             distinct.begin());
    decisions.push_back({container, policy::evaluate(*compiled, *plans[at], evidence[at], out.now)});
  }
  out.decided = policy::decide_workload(std::move(decisions));
  policy_seconds += seconds_since(decide_start);
  metrics.observe_stage("policy", policy_seconds);
  co_return out;
}

// CREATE / UPDATE with a policy: the images of the new object, decided, then rendered into the answer,
// the decision log's images and the inventory's entry.
asio::awaitable<ReviewOutcome> review_workload(const AdmissionRequest& request, PolicySnapshot snapshot,
                                               EvidenceSource& source, Metrics& metrics, milliseconds budget,
                                               std::size_t max_concurrent,
                                               const std::function<std::chrono::system_clock::time_point()>& clock) {
  const std::shared_ptr<const policy::CompiledPolicy>& compiled = snapshot.policy;
  // UPDATE: only the new object counts (the decoder never reads oldObject). oldObject is what is already
  // running; checking it (or skipping because of it, or because the new object carries a
  // deletionTimestamp) would let a requester steer the decision with fields it controls.
  const Result<policy::Workload>& workload = request.workload;
  if (!workload) {
    // The review was well-formed; the object in it is not a pod spec we can read. Fail closed.
    ReviewOutcome out = deny(request, "imagegate cannot read the images of this " +
                                          (request.kind.empty() ? std::string("object") : request.kind) + ": " +
                                          workload.error().message,
                             "denied");
    out.policy_version = policy::version_of(*compiled);
    co_return out;
  }
  if (!workload->has_pod_spec) {
    ReviewOutcome out = allow(request);
    out.policy_version = policy::version_of(*compiled);
    co_return out;
  }

  ReviewDecision decision = co_await decide_review(request, *workload, snapshot, source, metrics, budget,
                                                   max_concurrent, clock);
  const policy::WorkloadDecision& decided = decision.decided;
  ReviewOutcome out = decided.action == policy::Action::deny ? deny(request, decided.denial_message(), "denied")
                                                             : allow(request);
  out.metric_decision = decision_name(decided.action);
  out.policy_version = policy::version_of(*compiled);
  out.response.warnings = review_warnings(decided, decision.distinct, decision.evidence);
  out.response.audit_annotations = audit_annotations(decided, out.metric_decision, out.policy_version);
  out.admitted = inventory_entry(request, decision.namespace_name, *workload, decided, decision.now);
  out.decided = std::move(decision.decided);
  co_return out;
}

// One JSON line per review (decision_log.h). Never the request body: only identifiers and the decision.
// Rendered into this thread's buffer (no co_await between its use and the copy into the log's queue), so
// a review allocates nothing for its log line once the buffer has grown to the longest line.
// With a ring (the console's recent decisions), the same line is kept there too, with the fields its
// filters read: one rendering per review, whoever reads it.
void write_decision(DecisionLog& log, DecisionRing* recent, const AdmissionRequest& request,
                    std::string_view decision, std::string_view message, std::string_view policy_version,
                    const policy::WorkloadDecision* decided, double seconds) {
  thread_local std::string line;
  line.clear();
  append_decision_log_line(line, request, decision, message, policy_version, decided, seconds);
  log.write(line);
  if (recent != nullptr) {
    RecentDecision kept{0, std::chrono::system_clock::now(), std::string(decision), request.namespace_name, {}, line};
    if (decided != nullptr) {
      for (const auto& c : decided->containers) {
        const std::string& rule = c.decision.rule;
        if (!rule.empty() && std::find(kept.rules.begin(), kept.rules.end(), rule) == kept.rules.end()) {
          kept.rules.push_back(rule);
        }
      }
    }
    recent->record(std::move(kept));
  }
  // A huge line (thousands of images) does not pin its memory to the thread for good.
  if (line.capacity() > 256 * 1024) std::string().swap(line);
}

}  // namespace

asio::awaitable<HttpAnswer> PolicyAdmissionService::validate(std::string body, std::string target) {
  const auto start = Clock::now();
  metrics_.add_in_flight(1);
  struct InFlight {
    Metrics& metrics;
    ~InFlight() { metrics.add_in_flight(-1); }
  } in_flight{metrics_};

  std::optional<AdmissionRequest> request;
  std::string operation = "other";
  std::string internal_failure;
  // The one place that turns anything unexpected into an answer: a decoded review is denied (fail closed),
  // an undecoded body gets HTTP 500. Nothing propagates to the server.
  try {
    const auto decode_start = Clock::now();
    auto decoded = decode_admission_review(body, body.capacity() - body.size());
    metrics_.observe_stage("decode", seconds_since(decode_start));
    if (!decoded) {
      // Not a review: no decision, no review metrics. The server counts only non-review answers, so the
      // HTTP status of a refused body is counted here.
      const unsigned status = decoded.error().code == ErrorCode::resource_exhausted ? 413 : 400;
      metrics_.http_response(status);
      co_return json_error(status, decoded.error().message);
    }
    request = std::move(*decoded);
    body.clear();
    body.shrink_to_fit();  // the review is decoded; the raw text is no longer needed during a long review
    operation = request->operation;
    const milliseconds budget = review_budget(options_, target);

    ReviewOutcome outcome;
    const PolicySnapshot snapshot = this->snapshot();  // this review's, whatever reloads happen meanwhile
    const auto& compiled = snapshot.policy;
    if (request->operation == "DELETE" || request->operation == "CONNECT") {
      outcome = allow(*request);
    } else if (!compiled) {
      outcome = deny(*request, "imagegate has no valid policy loaded; all images are denied until one is", "error");
    } else {
      outcome = co_await review_workload(*request, snapshot, evidence_, metrics_, budget,
                                         options_.max_concurrent_images, clock_);
    }

    const auto encode_start = Clock::now();
    std::string answer = encode_admission_review(request->version, outcome.response);
    metrics_.observe_stage("encode", seconds_since(encode_start));
    const double seconds = seconds_since(start);
    metrics_.observe_review(operation, outcome.metric_decision, seconds);
    write_decision(log_, recent_, *request, outcome.metric_decision, outcome.response.message, outcome.policy_version,
                   outcome.decided ? &*outcome.decided : nullptr, seconds);
    // A dry run changes nothing in the cluster, so it changes nothing in the inventory either.
    if (observer_ != nullptr && outcome.admitted && !request->dry_run) observer_->admitted(std::move(*outcome.admitted));
    // A deletion leaves the inventory (whatever the policy: DELETE is always allowed). Cluster-scoped or
    // unnamed objects are not in the inventory.
    if (observer_ != nullptr && request->operation == "DELETE" && !request->dry_run && request->sub_resource.empty() &&
        !request->namespace_name.empty() && !request->name.empty()) {
      observer_->forgotten({request->namespace_name, request->kind, request->name, clock_()});
    }
    co_return HttpAnswer{200, "application/json", std::move(answer)};
  } catch (const std::exception& e) {
    internal_failure = e.what();
  } catch (...) {
    internal_failure = "unknown exception";
  }
  // Reached only through the catch blocks above (co_return is not allowed inside a handler).
  const double seconds = seconds_since(start);
  metrics_.observe_review(operation, "error", seconds);
  if (!request) {
    metrics_.http_response(500);
    co_return json_error(500, "internal error");
  }
  AdmissionResponse response;
  response.uid = request->uid;
  response.allowed = false;
  response.code = 403;
  response.message = "imagegate: internal error; denied (fail closed)";
  write_decision(log_, recent_, *request, "error", "internal error: " + internal_failure, "", nullptr, seconds);
  co_return HttpAnswer{200, "application/json", encode_admission_review(request->version, response)};
}

}  // namespace imagegate::webhook

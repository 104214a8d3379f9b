// Evaluation: given one image in one namespace and the evidence gathered for it, decide. Pure: no I/O, no
// clock of its own (the caller passes `now`), the same answer for the server, the CLI and CI.
//
// Two steps, so the caller knows what evidence to gather before deciding:
//   plan_image(policy, image)          -> which rule applies and which network checks it needs (an ImagePlan,
//                                         from the snapshot's plan cache when the image was planned before);
//   evaluate(policy, plan, evidence)   -> a Decision with the rule, reasons and evidence that decided.
// plan(policy, image) and evaluate(policy, image, evidence) do the same from the image (through the cache).
// Checks the caller could not complete carry EvidenceStatus::unavailable or not_evaluated, and count as
// the rule's failurePolicy says.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/model.h"
#include "policy/policy.h"
#include "policy/workload.h"
#include "verifier/image/image_reference.h"
#include "verifier/image/scan_verdict.h"

namespace imagegate::policy {

struct ImageUnderReview {
  std::string namespace_name;  // "" when unknown (CLI on a manifest without namespace)
  std::string image;           // exactly as written in the container spec
};

// What the network checks found. Filled by the webhook (or `imagegate test --online`); the offline CLI
// leaves every check not_evaluated with detail "not evaluated offline".
enum class EvidenceStatus { not_evaluated, verified, failed, unavailable };

struct CheckEvidence {
  EvidenceStatus status = EvidenceStatus::not_evaluated;
  std::string detail;  // why it failed / was unavailable, or what verified it (reaches the answer)
  // What `detail` leaves out on purpose (Error::detail: the socket error behind "registry unreachable"):
  // for the decision log only, never for the answer. "" when the detail says it all.
  std::string diagnostic = {};
};

// A check settled by `error`: its message (after `prefix`) is the detail, its detail the diagnostic.
CheckEvidence check_from_error(EvidenceStatus status, const Error& error, const std::string& prefix = {});

struct AnchorEvidence {
  std::string anchor;  // trust anchor name
  CheckEvidence check;
};

// One attestation requirement of the rule (AttestationRequirement::name): per anchor it names, whether a
// statement it signed about the digest, of the predicate type, passed the conditions (verified: which one;
// failed: why none did).
struct AttestationEvidence {
  std::string requirement;
  std::vector<AnchorEvidence> anchors;
};

struct Evidence {
  CheckEvidence digest_resolution;
  std::string digest;                    // sha256:... when resolved (or given by the reference)
  std::vector<AnchorEvidence> signatures;  // one per anchor the rule names
  // Scan verdict gate. verified with `scan`: the gates (maxSeverity, exceptions, maxAge, secrets,
  // compliance) read the facts; verified without `scan`: passed as is; failed: fails with the detail;
  // `scan_missing`: the store has no verdict for the digest (onMissing settles it); unavailable /
  // not_evaluated: the failurePolicy settles it.
  CheckEvidence verdict;
  std::optional<verifier::ScanVerdict> scan;  // the digest's verdict, when one was found
  bool scan_missing = false;
  std::vector<AttestationEvidence> attestations;  // one per attestation requirement of the rule
  // Notes for the answer that do not change the decision (a digest served stale from the registry cache
  // because the registry is unavailable); the webhook adds them to the review's warnings.
  std::vector<std::string> warnings;
};

// Which network checks a rule needs for an image.
struct Requirements {
  bool resolve_digest = false;
  std::vector<std::string> anchors;  // trust anchors to try
  bool verdict = false;
  // From the rule's `signatures` (see SignatureRequirement): whether a signed index that the reference's tag
  // resolves to may vouch for the platform manifest digest it lists, and where the signatures live.
  bool accept_index_signatures = false;
  std::string signature_repository;  // "" = the image's own repository
  // The rule's `attestations` (pointers into the policy snapshot, like Plan::rule).
  std::vector<const AttestationRequirement*> attestations;
};

enum class Outcome {
  passed,    // a rule matched and every check passed
  failed,    // a rule matched and a check failed (see mode for what that does)
  exempt,    // an exemption applied; nothing was checked
  no_match,  // no rule matched; the policy's noMatch decided
  invalid,   // the image reference does not parse
};

struct Plan {
  Outcome outcome = Outcome::passed;  // exempt / no_match / invalid are final; passed means "evaluate"
  const Rule* rule = nullptr;         // the most specific matching rule, if any (owned by the policy)
  std::string reason;                 // for exempt / no_match / invalid
  Requirements needs;
};

struct Decision {
  Action action = Action::deny;  // what the webhook answers: allow, allow with warning, deny
  Outcome outcome = Outcome::failed;
  Mode mode = Mode::enforce;     // the mode that applied (audit: allowed, but recorded as failing)
  std::string rule;              // matched rule name, "" when none
  std::string image;             // as written
  std::string normalized;        // normalised reference, "" when invalid
  std::vector<std::string> reasons;  // short, human; one per failed or settled check
  Evidence evidence;
};

// One image planned against one policy snapshot. Immutable once built and shared: the snapshot's plan cache
// (policy/plan_cache.h) hands the same one to every review of the same image in the same namespace. Its
// pointers (plan.rule) point into the snapshot: valid while the caller holds the snapshot.
struct ImagePlan {
  // Not an aggregate: evaluate(policy, {namespace, image}, ...) means an ImageUnderReview, never a plan.
  explicit ImagePlan(ImageUnderReview planned) : image(std::move(planned)) {}

  ImageUnderReview image;                             // what was planned: namespace and image as written
  Plan plan;
  std::optional<verifier::ImageReference> reference;  // nullopt when the image does not parse
  std::string normalized;                             // reference->string(), "" when it does not parse
};

// The snapshot's plan for `image`: cached, or planned now (and cached when the cache keeps it). Thread-safe.
std::shared_ptr<const ImagePlan> plan_image(const CompiledPolicy& policy, const ImageUnderReview& image);
// plan_image(policy, image)->plan.
Plan plan(const CompiledPolicy& policy, const ImageUnderReview& image);
// Evidence for a plan whose network checks were not run: every needed check not_evaluated with `detail`
// (the offline CLI passes "not evaluated offline").
Evidence unevaluated_evidence(const Requirements& needs, const std::string& detail);
// The evidence's diagnostics, for the decision log: "digest: ...", "signature ANCHOR: ...",
// "attestation NAME ANCHOR: ...", "verdict: ...".
std::vector<std::string> diagnostics(const Evidence& evidence);
// The decision for a planned image (plan_image's, of the same snapshot) from its evidence.
Decision evaluate(const CompiledPolicy& policy, const ImagePlan& planned, const Evidence& evidence,
                  std::chrono::system_clock::time_point now);
// evaluate(policy, *plan_image(policy, image), evidence, now).
Decision evaluate(const CompiledPolicy& policy, const ImageUnderReview& image, const Evidence& evidence,
                  std::chrono::system_clock::time_point now);

// ---- Workload level: one decision per container or image volume, and the answer for the object. -----

struct ContainerDecision {
  ContainerImage container;
  Decision decision;
};

struct WorkloadDecision {
  Action action = Action::allow;  // deny if any container is denied, warn if any warns, else allow
  std::vector<ContainerDecision> containers;

  // One message naming every denied container (or `volume "NAME"`), its image and why; short enough for
  // kubectl output.
  std::string denial_message() const;
  // One warning per warned container (and per failure-open allow), each at most 120 characters.
  std::vector<std::string> warnings() const;
};

// Folds per-container decisions into the workload's answer.
WorkloadDecision decide_workload(std::vector<ContainerDecision> containers);

std::string_view to_string(Outcome o) noexcept;
std::string_view to_string(EvidenceStatus s) noexcept;

}  // namespace imagegate::policy

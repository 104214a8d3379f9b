// Deciding one anchor of an attestation requirement from its verified statements (policy/attestation.h).
#include "policy/attestation.h"

#include "policy/condition.h"

namespace imagegate::policy {

CheckEvidence decide_attestation_anchor(const AttestationRequirement& requirement,
                                        const std::vector<VerifiedStatement>& statements,
                                        const std::string& unverified, std::chrono::system_clock::time_point now) {
  if (statements.empty()) {
    return {EvidenceStatus::failed, unverified.empty() ? "no attestation of predicate type \"" +
                                                             requirement.predicate_type + "\" found"
                                                       : unverified};
  }
  std::string first_failure;
  for (const VerifiedStatement& statement : statements) {
    const ConditionOutcome outcome = evaluate_conditions(requirement.conditions, statement.predicate_json, now);
    if (outcome.passed) return {EvidenceStatus::verified, statement.source};
    // The condition alone: a denial message has little room per container, and the decision log has the rest.
    if (first_failure.empty()) first_failure = outcome.detail;
  }
  if (statements.size() > 1) {
    first_failure += " (and " + std::to_string(statements.size() - 1) + " more statements)";
  }
  return {EvidenceStatus::failed, std::move(first_failure)};
}

}  // namespace imagegate::policy

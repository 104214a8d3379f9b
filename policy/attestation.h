// An attestation requirement (AttestationRequirement, policy/model.h) decided for one of its anchors from
// the statements that anchor signed: the webhook (and `imagegate test --online`, `verify --attestation`)
// fetches and verifies the DSSE envelopes (verifier/attestation/), keeps the statements that the anchor
// signed, about the image digest, of the requirement's exact predicate type, and passes their predicates
// here; the conditions (policy/condition.h) decide. Pure: no I/O, no clock (the caller passes `now`).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "policy/evaluate.h"
#include "policy/model.h"

namespace imagegate::policy {

// A statement that verified for the anchor (signature, subject, predicate type): which one, for messages
// ("bundle sha256:ab12... (Rekor index 7)", ".att layer 2"), and its predicate as JSON text.
struct VerifiedStatement {
  std::string source;
  std::string predicate_json;
};

// verified naming the first statement whose predicate passes every condition (its source); failed with the
// first statement's failing condition otherwise (and how many more statements failed too), short enough
// for a denial message. `unverified` says why there was no
// statement at all ("no attestation of predicate type ... found", "2 attestations did not verify: ...")
// and is the failure when `statements` is empty.
CheckEvidence decide_attestation_anchor(const AttestationRequirement& requirement,
                                        const std::vector<VerifiedStatement>& statements,
                                        const std::string& unverified, std::chrono::system_clock::time_point now);

}  // namespace imagegate::policy

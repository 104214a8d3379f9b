// AttestationCheck: what one trust anchor found for one image digest and one predicate type. Every
// statement in `statements` verified: its DSSE signature by the anchor (key, or keyless identity with its
// certificate chained to the anchor's trusted root at the logged time), the in-toto statement about the
// digest (one of its subjects), of exactly the predicate type asked for. Conditions on the predicates are
// the policy's (policy/condition.h): the caller evaluates them.
#pragma once

#include <string>
#include <vector>

namespace imagegate::verifier {

struct VerifiedAttestation {
  std::string source;          // "Sigstore bundle 2 (dev@example.com (https://issuer.example))"
  std::string predicate_json;  // the statement's predicate, compact JSON
};

struct AttestationCheck {
  std::vector<VerifiedAttestation> statements;
  // Why `statements` is empty: "no attestation of predicate type \"X\" found (other predicate types: ...)
  // (unreadable: ...)", "1 attestation of the type, none verified: DSSE subject does not name ...".
  std::string detail;
};

}  // namespace imagegate::verifier

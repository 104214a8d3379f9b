#include "verifier/signature/sigstore/image_attestations.h"

#include <algorithm>

#include "common/text.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/attestation/intoto_statement.h"

namespace imagegate::verifier {
namespace {

constexpr std::size_t kMaxReasons = 3;

void add_unique(std::vector<std::string>& list, std::string item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
}

std::string first_reasons(const std::vector<std::string>& reasons) {
  std::vector<std::string> shown(reasons.begin(),
                                 reasons.begin() + static_cast<std::ptrdiff_t>(std::min(kMaxReasons, reasons.size())));
  return join(shown, "; ") + (reasons.size() > kMaxReasons ? "; ..." : "");
}

// Why nothing of `predicate_type` counted: the other predicate types seen, or what could not be read.
std::string nothing_found(std::string_view predicate_type, const std::vector<std::string>& other_types,
                          const std::vector<std::string>& skipped) {
  std::string text = "no attestation of predicate type \"" + std::string(predicate_type) + "\" found";
  if (!other_types.empty()) text += " (other predicate types: " + first_reasons(other_types) + ")";
  if (!skipped.empty()) text += " (unreadable: " + first_reasons(skipped) + ")";
  return text;
}

}  // namespace

AttestationCheck verify_image_attestations(const std::vector<std::string>& bundles,
                                           const std::vector<std::string>& skipped, std::string_view digest,
                                           std::string_view predicate_type, const TrustedRoot& root,
                                           const BundleTrust& trust) {
  AttestationCheck out;
  auto raw = hex_decode(digest.substr(digest.find(':') + 1));
  if (!raw) {
    out.detail = "digest is not hex";
    return out;
  }
  Artifact artifact;
  artifact.hash = HashAlgorithm::sha256;
  artifact.digest = std::move(*raw);
  std::vector<std::string> other_types;
  std::vector<std::string> unreadable = skipped;
  std::vector<std::string> reasons;
  std::size_t candidates = 0;
  for (std::size_t i = 0; i < bundles.size(); ++i) {
    auto parsed = parse_sigstore_bundle(bundles[i]);
    if (!parsed || !is_attestation(*parsed)) continue;  // not an attestation (a signature, or unreadable)
    // The statement first (bounded: a deep or huge one is refused here, before any crypto), for its type.
    auto statement = parse_intoto_statement(parsed->dsse->payload_type, parsed->dsse->payload);
    if (!statement) {
      add_unique(unreadable, "bundle " + std::to_string(i + 1) + ": " + statement.error().message);
      continue;
    }
    if (statement->predicate_type != predicate_type) {
      add_unique(other_types, describe_attestation(*parsed->dsse));
      continue;
    }
    ++candidates;
    auto verified = verify_sigstore_bundle(*parsed, artifact, root, trust);
    if (!verified) {
      add_unique(reasons, verified.error().message);
      continue;
    }
    if (!statement_names_digest(*statement, digest)) {  // verify_sigstore_bundle checked it too
      add_unique(reasons, "in-toto statement is not about " + std::string(digest));
      continue;
    }
    out.statements.push_back(
        {"Sigstore bundle " + std::to_string(i + 1) + " signed by " + verified->signer, std::move(statement->predicate_json)});
  }
  if (!out.statements.empty()) return out;
  if (candidates == 0) {
    out.detail = nothing_found(predicate_type, other_types, unreadable);
  } else {
    // Short: a denial message has little room per container (the requirement names the type).
    out.detail = std::to_string(candidates) + (candidates == 1 ? " attestation" : " attestations") +
                 " of the type, none verified: " + first_reasons(reasons);
  }
  return out;
}

}  // namespace imagegate::verifier

// Internal to verifier/signature/sigstore/: what sigstore_bundle.cc (parsing) shares with
// sigstore_bundle_verify.cc (verification). Not for other rooms.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/sigstore/sigstore_bundle.h"

namespace imagegate::verifier::bundle_internal {

inline constexpr std::string_view kInTotoPayloadType = "application/vnd.in-toto+json";

inline Error denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

// Error messages repeat bundle text (and nlohmann's "last read: '...'"): printable ASCII only, bounded, so a
// denial reason carried into an AdmissionReview or a log line cannot smuggle control bytes.
std::string printable(std::string_view text);

// JSON field access that checks the type: nullptr / nullopt when the member is missing or of another type.
const nlohmann::json* member(const nlohmann::json& obj, const char* key);
const nlohmann::json* object_member(const nlohmann::json& obj, const char* key);
std::optional<std::string> string_member(const nlohmann::json& obj, const char* key);

// Proto3 JSON writes bytes as standard base64, and parsers accept the URL-safe alphabet too.
Result<std::string> decode_bytes(std::string_view text);

std::optional<HashAlgorithm> hash_from_proto(std::string_view name);  // "SHA2_256", ...
std::optional<HashAlgorithm> hash_from_rekor(std::string_view name);  // "sha256", ...
std::string_view hash_name(HashAlgorithm h);                          // "sha256", ...

// The in-toto statement a DSSE envelope carries (https://github.com/in-toto/attestation, spec/v1/statement.md);
// permission_denied when the payload type is not in-toto or the payload not JSON within kBundleJsonLimits.
Result<nlohmann::json> parse_statement(const DsseEnvelope& env);

}  // namespace imagegate::verifier::bundle_internal

// The in-toto statement a DSSE attestation carries (https://in-toto.io/Statement/v1 and v0.1), parsed
// within bounds: the payload must be of payload type application/vnd.in-toto+json, at most
// kMaxStatementBytes, nest at most kStatementJsonLimits.max_depth levels and hold at most its values: a
// larger or deeper statement is refused with a message saying which bound (never parsed further).
// Nothing here is trusted: the caller verifies the envelope's signature first.
//
// Thread-safe: free functions over values.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_bounded.h"
#include "common/result.h"

namespace imagegate::verifier {

inline constexpr std::string_view kInTotoPayloadTypeJson = "application/vnd.in-toto+json";
inline constexpr std::string_view kInTotoStatementV1 = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view kInTotoStatementV01 = "https://in-toto.io/Statement/v0.1";
// The statement's bytes (an SBOM predicate is most of them), and its DOM: 200 B * 150,000 + 2 * 4 MiB =
// 38 MiB at most per parse (common/json_bounded.h). The policy's condition evaluator reads the predicate
// with the same bounds (policy/condition.h kMaxPredicate*).
inline constexpr std::size_t kMaxStatementBytes = 4 * 1024 * 1024;
inline constexpr JsonLimits kStatementJsonLimits{kMaxStatementBytes, 32, 150'000};

struct InTotoSubject {
  std::string name;
  std::string sha256;  // lowercase hex; "" when the subject names no sha256 digest
};

struct InTotoStatement {
  std::string type;            // `_type`
  std::vector<InTotoSubject> subjects;
  std::string predicate_type;  // exactly as written
  std::string predicate_json;  // the predicate, compact JSON ("{}" when it is an empty object)
};

// invalid_argument naming what is wrong ("DSSE payload type ... is not in-toto", "statement has no
// predicateType", "statement subject list is missing"); resource_exhausted over a bound ("in-toto statement:
// JSON nests deeper than 32 levels ...").
Result<InTotoStatement> parse_intoto_statement(std::string_view payload_type, std::string_view payload);

// Whether one of the statement's subjects is `digest` ("sha256:<hex>", hex compared without case).
bool statement_names_digest(const InTotoStatement& statement, std::string_view digest);

}  // namespace imagegate::verifier

#include "verifier/signature/attestation/intoto_statement.h"

#include <nlohmann/json.hpp>

#include "common/text.h"

namespace imagegate::verifier {
namespace {

using json = nlohmann::json;

// Printable ASCII, bounded: statement text repeated in a message reaches admission answers and logs.
std::string shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 120)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > 120) out += "...";
  return out;
}

}  // namespace

Result<InTotoStatement> parse_intoto_statement(std::string_view payload_type, std::string_view payload) {
  if (payload_type != kInTotoPayloadTypeJson) {
    return invalid_argument("DSSE payload type \"" + shown(payload_type) + "\" is not in-toto");
  }
  Result<json> parsed = parse_json_bounded(payload, kStatementJsonLimits);
  if (!parsed) {
    Error error = parsed.error();
    error.message = "in-toto statement: " + error.message;
    return error;
  }
  const json& doc = *parsed;
  if (!doc.is_object()) return invalid_argument("in-toto statement is not a JSON object");
  InTotoStatement out;
  auto type = doc.find("_type");
  if (type == doc.end() || !type->is_string()) return invalid_argument("in-toto statement has no _type");
  out.type = type->get<std::string>();
  if (out.type != kInTotoStatementV1 && out.type != kInTotoStatementV01) {
    return invalid_argument("not an in-toto statement: _type \"" + shown(out.type) + "\"");
  }
  auto predicate_type = doc.find("predicateType");
  if (predicate_type == doc.end() || !predicate_type->is_string() || predicate_type->get_ref<const std::string&>().empty()) {
    return invalid_argument("in-toto statement has no predicateType");
  }
  out.predicate_type = predicate_type->get<std::string>();
  auto subjects = doc.find("subject");
  if (subjects == doc.end() || !subjects->is_array() || subjects->empty()) {
    return invalid_argument("in-toto statement subject list is missing");
  }
  for (const json& s : *subjects) {
    if (!s.is_object()) return invalid_argument("in-toto statement subject is not an object");
    InTotoSubject subject;
    if (auto name = s.find("name"); name != s.end() && name->is_string()) subject.name = name->get<std::string>();
    if (auto digest = s.find("digest"); digest != s.end() && digest->is_object()) {
      if (auto sha = digest->find("sha256"); sha != digest->end() && sha->is_string()) {
        subject.sha256 = ascii_lower(sha->get<std::string>());
      }
    }
    out.subjects.push_back(std::move(subject));
  }
  auto predicate = doc.find("predicate");
  if (predicate == doc.end() || predicate->is_null()) {
    out.predicate_json = "{}";
  } else {
    out.predicate_json = predicate->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out;
}

bool statement_names_digest(const InTotoStatement& statement, std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.substr(0, kPrefix.size()) != kPrefix) return false;
  const std::string want = ascii_lower(digest.substr(kPrefix.size()));
  if (want.empty()) return false;
  for (const InTotoSubject& s : statement.subjects) {
    if (s.sha256 == want) return true;
  }
  return false;
}

}  // namespace imagegate::verifier

// The value signature verification shares with the other replicas through Redis (SignatureVerification
// with `shared`, issue 7): every requested anchor's decided answer (verified or failed, its detail and
// signers), how many signatures were read, and when the published value expires.
//
//   {"v":1,"anchors":[{"name":"release","status":"verified","detail":"...","signers":["..."]}],
//    "signatures":1,"expires":1764374400000}
//
// Redis is inside imagegate's trust boundary, but a value is parsed defensively all the same: bounded size,
// nesting and counts, only `verified`/`failed`, every anchor asked for present, an expiry in range. Anything
// else is a miss and the replica verifies itself. Header-only (inline) so the fuzz target links it without
// the server. Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"
#include "verifier/signature/signature_check.h"

namespace imagegate::webhook {

inline constexpr std::size_t kMaxSignatureAnswerBytes = 256 * 1024;
inline constexpr std::size_t kMaxSignatureAnswerAnchors = 256;
inline constexpr std::size_t kMaxSignatureAnswerSigners = 256;
// Past 2100-01-01 is not an answer of ours (and would overflow the clock's nanoseconds).
inline constexpr std::int64_t kMaxSignatureAnswerExpiresMs = 4'102'444'800'000;

struct SignatureSharedAnswer {
  std::vector<verifier::AnchorCheck> checks;  // in the order asked
  std::size_t signatures = 0;
  std::int64_t expires_ms = 0;  // unix milliseconds, 1..kMaxSignatureAnswerExpiresMs
};

// `answers`: (anchor name, decided check); unavailable checks are not to be published (encoded as failed).
inline std::string encode_signature_answer(const std::vector<std::pair<std::string, verifier::AnchorCheck>>& answers,
                                           std::size_t signatures, std::int64_t expires_ms) {
  nlohmann::json anchors = nlohmann::json::array();
  for (const auto& [name, check] : answers) {
    anchors.push_back({{"name", name},
                       {"status", check.status == verifier::AnchorCheck::Status::verified ? "verified" : "failed"},
                       {"detail", check.detail},
                       {"signers", check.signers}});
  }
  return nlohmann::json{{"v", 1}, {"anchors", anchors}, {"signatures", signatures}, {"expires", expires_ms}}.dump();
}

// The answers for `anchors` (in that order), or nullopt: not ours, malformed, over a bound, or missing one.
inline std::optional<SignatureSharedAnswer> decode_signature_answer(std::string_view value,
                                                                    const std::vector<std::string>& anchors) {
  // At most 256 anchors of 4 members and 256 signers: 256 KiB and 100,000 values bound the DOM to 20 MB +
  // 512 KiB (common/json_bounded.h); the counts are checked again below.
  auto parsed = parse_json_bounded(value, JsonLimits{kMaxSignatureAnswerBytes, 4, 100'000});
  if (!parsed) return std::nullopt;
  const nlohmann::json& doc = *parsed;
  if (!doc.is_object()) return std::nullopt;
  const auto version = doc.find("v");
  if (version == doc.end() || !version->is_number_integer() || version->get<std::int64_t>() != 1) return std::nullopt;
  const auto list = doc.find("anchors");
  if (list == doc.end() || !list->is_array() || list->size() > kMaxSignatureAnswerAnchors) return std::nullopt;
  SignatureSharedAnswer out;
  const auto signatures = doc.find("signatures");
  if (signatures == doc.end() || !signatures->is_number_unsigned()) return std::nullopt;
  out.signatures = signatures->get<std::size_t>();
  const auto expires = doc.find("expires");
  if (expires == doc.end() || !expires->is_number_integer()) return std::nullopt;
  out.expires_ms = expires->get<std::int64_t>();
  if (out.expires_ms <= 0 || out.expires_ms > kMaxSignatureAnswerExpiresMs) return std::nullopt;
  std::map<std::string, verifier::AnchorCheck> by_name;
  for (const nlohmann::json& entry : *list) {
    if (!entry.is_object()) return std::nullopt;
    const auto name = entry.find("name");
    const auto status = entry.find("status");
    const auto detail = entry.find("detail");
    const auto signers = entry.find("signers");
    if (name == entry.end() || !name->is_string() || status == entry.end() || !status->is_string() ||
        detail == entry.end() || !detail->is_string() || signers == entry.end() || !signers->is_array() ||
        signers->size() > kMaxSignatureAnswerSigners) {
      return std::nullopt;
    }
    verifier::AnchorCheck check;
    const auto& status_text = status->get_ref<const std::string&>();
    if (status_text == "verified") {
      check.status = verifier::AnchorCheck::Status::verified;
    } else if (status_text == "failed") {
      check.status = verifier::AnchorCheck::Status::failed;
    } else {
      return std::nullopt;
    }
    check.detail = detail->get<std::string>();
    for (const nlohmann::json& signer : *signers) {
      if (!signer.is_string()) return std::nullopt;
      check.signers.push_back(signer.get<std::string>());
    }
    if (!by_name.emplace(name->get<std::string>(), std::move(check)).second) return std::nullopt;  // duplicate
  }
  for (const std::string& name : anchors) {
    auto it = by_name.find(name);
    if (it == by_name.end()) return std::nullopt;
    out.checks.push_back(it->second);
  }
  return out;
}

}  // namespace imagegate::webhook

// JWS JSON serialisation of Notation envelopes (`application/jose+json`): the flattened form
// {"payload","protected","header":{"x5c":[...],"io.cncf.notary.timestampSignature":...},"signature"}, the
// protected header's Notation attributes, RFC 3339 times. Base64url for the three JWS parts, standard base64
// for x5c (RFC 7515 §4.1.6) and for the timestamp token (how notation-core-go encodes []byte).
#include <nlohmann/json.hpp>

#include "common/json_bounded.h"
#include "verifier/image/scan_verdict.h"
#include "verifier/signature/notation/envelope.h"

namespace imagegate::verifier::notation {
namespace {

// An envelope is a few KiB of JSON: a handful of header values and up to kMaxCertificates certificates.
// Bound: 200 B * 4096 + 2 * 4 MiB < 10 MiB of DOM.
constexpr JsonLimits kEnvelopeJson{kMaxEnvelopeBytes, 8, 4096};
constexpr JsonLimits kHeaderJson{64 * 1024, 8, 1024};

Result<std::string> string_member(const nlohmann::json& doc, const char* key, const char* what) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_string()) return invalid_argument(std::string("JWS envelope: ") + what + " missing or not a string");
  return it->get<std::string>();
}

Result<TimePoint> time_header(const nlohmann::json& header, std::string_view name) {
  const auto& v = header.at(std::string(name));
  if (!v.is_string()) return invalid_argument("JWS envelope: " + std::string(name) + " is not a string");
  auto t = parse_rfc3339(v.get<std::string>());
  if (!t) return invalid_argument("JWS envelope: " + std::string(name) + " is not an RFC 3339 time");
  return *t;
}

Status read_protected(const nlohmann::json& header, ParsedEnvelope& out) {
  if (!header.is_object()) return invalid_argument("JWS envelope: protected header is not a JSON object");
  for (const auto& [key, value] : header.items()) out.protected_names.push_back(key);
  if (auto it = header.find("alg"); it != header.end() && it->is_string()) out.algorithm = it->get<std::string>();
  if (out.algorithm.empty()) return invalid_argument("JWS envelope: protected header has no alg");
  if (auto it = header.find("cty"); it != header.end() && it->is_string()) out.content_type = it->get<std::string>();
  if (auto it = header.find(std::string(kHeaderSigningScheme)); it != header.end()) {
    if (!it->is_string()) return invalid_argument("JWS envelope: signing scheme is not a string");
    out.signing_scheme = it->get<std::string>();
  }
  if (auto it = header.find("crit"); it != header.end()) {
    if (!it->is_array()) return invalid_argument("JWS envelope: crit is not an array");
    for (const auto& c : *it) {
      if (!c.is_string()) return invalid_argument("JWS envelope: crit holds a non-string");
      out.critical.push_back(c.get<std::string>());
    }
  }
  const std::pair<std::string_view, std::optional<TimePoint>*> times[] = {
      {kHeaderSigningTime, &out.signing_time},
      {kHeaderAuthenticSigningTime, &out.authentic_signing_time},
      {kHeaderExpiry, &out.expiry}};
  for (const auto& [name, into] : times) {
    if (!header.contains(std::string(name))) continue;
    auto t = time_header(header, name);
    if (!t) return t.error();
    *into = *t;
  }
  return Ok{};
}

Status read_unprotected(const nlohmann::json& header, ParsedEnvelope& out) {
  if (!header.is_object()) return invalid_argument("JWS envelope: header is not a JSON object");
  const auto x5c = header.find("x5c");
  if (x5c == header.end() || !x5c->is_array() || x5c->empty()) {
    return invalid_argument("JWS envelope: header.x5c missing or empty");
  }
  if (x5c->size() > kMaxCertificates) return invalid_argument("JWS envelope: more than 10 certificates in x5c");
  for (const auto& c : *x5c) {
    if (!c.is_string()) return invalid_argument("JWS envelope: x5c holds a non-string");
    auto der = base64_decode(c.get<std::string>());
    if (!der) return invalid_argument("JWS envelope: x5c entry is not base64");
    out.certificates.push_back(std::move(*der));
  }
  if (auto it = header.find(std::string(kHeaderTimestamp)); it != header.end()) {
    if (!it->is_string()) return invalid_argument("JWS envelope: timestamp signature is not a string");
    auto der = base64_decode(it->get<std::string>());
    if (!der) return invalid_argument("JWS envelope: timestamp signature is not base64");
    out.timestamp_token = std::move(*der);
  }
  return Ok{};
}

}  // namespace

Result<ParsedEnvelope> parse_jws(std::string_view bytes) {
  auto doc = parse_json_bounded(bytes, kEnvelopeJson);
  if (!doc) return invalid_argument("JWS envelope: " + doc.error().message);
  if (!doc->is_object()) return invalid_argument("JWS envelope: not a JSON object");
  ParsedEnvelope out;
  out.media_type = std::string(kMediaTypeJws);
  auto protected_b64 = string_member(*doc, "protected", "protected");
  if (!protected_b64) return protected_b64.error();
  auto payload_b64 = string_member(*doc, "payload", "payload");
  if (!payload_b64) return payload_b64.error();
  auto signature_b64 = string_member(*doc, "signature", "signature");
  if (!signature_b64) return signature_b64.error();
  const auto header = doc->find("header");
  if (header == doc->end()) return invalid_argument("JWS envelope: header missing");

  auto protected_json = base64url_decode(*protected_b64);
  if (!protected_json) return invalid_argument("JWS envelope: protected is not base64url");
  auto payload = base64url_decode(*payload_b64);
  if (!payload) return invalid_argument("JWS envelope: payload is not base64url");
  auto signature = base64url_decode(*signature_b64);
  if (!signature) return invalid_argument("JWS envelope: signature is not base64url");
  auto protected_doc = parse_json_bounded(*protected_json, kHeaderJson);
  if (!protected_doc) return invalid_argument("JWS envelope: protected header: " + protected_doc.error().message);
  if (auto s = read_protected(*protected_doc, out); !s) return s.error();
  if (auto s = read_unprotected(*header, out); !s) return s.error();
  out.signing_input = *protected_b64 + "." + *payload_b64;
  out.payload = std::move(*payload);
  out.signature = std::move(*signature);
  return out;
}

Result<ParsedEnvelope> parse_envelope(const Envelope& envelope) {
  if (envelope.bytes.size() > kMaxEnvelopeBytes) {
    return resource_exhausted("signature envelope of " + std::to_string(envelope.bytes.size()) +
                              " bytes is larger than the 4 MiB limit");
  }
  if (envelope.media_type == kMediaTypeJws) return parse_jws(envelope.bytes);
  if (envelope.media_type == kMediaTypeCose) return parse_cose(envelope.bytes);
  return invalid_argument("signature envelope media type \"" + envelope.media_type + "\" is not supported");
}

}  // namespace imagegate::verifier::notation

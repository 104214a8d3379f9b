// COSE_Sign1 (RFC 9052) Notation envelopes (`application/cose`): [protected bstr, unprotected map, payload
// bstr, signature bstr], optionally under tag 18. Protected: alg (1), crit (2), content type (3) and the
// Notation attributes (text labels; times as tag 1 epoch seconds); unprotected: x5chain (33) and the
// timestamp countersignature. The signature covers the Sig_structure ["Signature1", protected, h'', payload].
#include <limits>

#include "verifier/signature/notation/cbor.h"
#include "verifier/signature/notation/envelope.h"

namespace imagegate::verifier::notation {
namespace {

constexpr std::int64_t kLabelAlg = 1;
constexpr std::int64_t kLabelCrit = 2;
constexpr std::int64_t kLabelContentType = 3;
constexpr std::int64_t kLabelX5Chain = 33;
constexpr std::uint64_t kTagCoseSign1 = 18;
constexpr std::uint64_t kTagEpochTime = 1;

Error bad(std::string what) { return invalid_argument("COSE envelope: " + std::move(what)); }

std::string algorithm_name(std::int64_t alg) {
  switch (alg) {
    case -37: return "PS256";
    case -38: return "PS384";
    case -39: return "PS512";
    case -7: return "ES256";
    case -35: return "ES384";
    case -36: return "ES512";
    default: return "";
  }
}

std::string label_text(const cbor::Value& key) {
  std::int64_t n = 0;
  if (key.as_int(n)) return std::to_string(n);
  if (key.type == cbor::Value::Type::text) return key.string;
  return "?";
}

Result<TimePoint> time_value(const cbor::Value& v, std::string_view name) {
  const cbor::Value* inner = &v;
  if (v.type == cbor::Value::Type::tag) {
    if (v.number != kTagEpochTime || v.items.size() != 1) return bad(std::string(name) + " has an unexpected tag");
    inner = &v.items.front();
  }
  std::int64_t seconds = 0;
  // Within what a system_clock time point holds (nanoseconds since 1970: about +-292 years).
  constexpr std::int64_t kLimit = std::int64_t{9'000'000'000};
  if (!inner->as_int(seconds) || seconds < -kLimit || seconds > kLimit) return bad(std::string(name) + " is not an epoch time");
  return TimePoint{} + std::chrono::seconds(seconds);
}

Status read_protected(const cbor::Value& header, ParsedEnvelope& out) {
  if (header.type != cbor::Value::Type::map) return bad("protected header is not a map");
  for (const auto& [key, value] : header.entries) out.protected_names.push_back(label_text(key));
  std::int64_t alg = 0;
  const cbor::Value* a = header.find(kLabelAlg);
  if (a == nullptr || !a->as_int(alg)) return bad("protected header has no integer alg");
  out.algorithm = algorithm_name(alg);
  if (out.algorithm.empty()) return bad("algorithm " + std::to_string(alg) + " is not supported");
  if (const cbor::Value* c = header.find(kLabelContentType); c != nullptr && c->type == cbor::Value::Type::text) {
    out.content_type = c->string;
  }
  if (const cbor::Value* s = header.find(kHeaderSigningScheme); s != nullptr) {
    if (s->type != cbor::Value::Type::text) return bad("signing scheme is not text");
    out.signing_scheme = s->string;
  }
  if (const cbor::Value* crit = header.find(kLabelCrit); crit != nullptr) {
    if (crit->type != cbor::Value::Type::array) return bad("crit is not an array");
    for (const auto& c : crit->items) out.critical.push_back(label_text(c));
  }
  const std::pair<std::string_view, std::optional<TimePoint>*> times[] = {
      {kHeaderSigningTime, &out.signing_time},
      {kHeaderAuthenticSigningTime, &out.authentic_signing_time},
      {kHeaderExpiry, &out.expiry}};
  for (const auto& [name, into] : times) {
    const cbor::Value* v = header.find(name);
    if (v == nullptr) continue;
    auto t = time_value(*v, name);
    if (!t) return t.error();
    *into = *t;
  }
  return Ok{};
}

Status read_unprotected(const cbor::Value& header, ParsedEnvelope& out) {
  if (header.type != cbor::Value::Type::map) return bad("unprotected header is not a map");
  const cbor::Value* chain = header.find(kLabelX5Chain);
  if (chain == nullptr) return bad("x5chain missing");
  if (chain->type == cbor::Value::Type::bytes) {
    out.certificates.push_back(chain->string);
  } else if (chain->type == cbor::Value::Type::array && !chain->items.empty()) {
    if (chain->items.size() > kMaxCertificates) return bad("more than 10 certificates in x5chain");
    for (const auto& c : chain->items) {
      if (c.type != cbor::Value::Type::bytes) return bad("x5chain holds a non-byte-string");
      out.certificates.push_back(c.string);
    }
  } else {
    return bad("x5chain is empty or malformed");
  }
  if (const cbor::Value* ts = header.find(kHeaderTimestamp); ts != nullptr) {
    if (ts->type != cbor::Value::Type::bytes) return bad("timestamp signature is not a byte string");
    out.timestamp_token = ts->string;
  }
  return Ok{};
}

std::string sig_structure(std::string_view protected_bytes, std::string_view payload) {
  std::string out;
  cbor::encode_head(out, 4, 4);
  constexpr std::string_view kContext = "Signature1";
  cbor::encode_head(out, 3, kContext.size());
  out += kContext;
  cbor::encode_head(out, 2, protected_bytes.size());
  out += protected_bytes;
  cbor::encode_head(out, 2, 0);  // external_aad: empty
  cbor::encode_head(out, 2, payload.size());
  out += payload;
  return out;
}

}  // namespace

Result<ParsedEnvelope> parse_cose(std::string_view bytes) {
  auto doc = cbor::decode(bytes);
  if (!doc) return bad(doc.error().message);
  const cbor::Value* msg = &*doc;
  if (msg->type == cbor::Value::Type::tag) {
    if (msg->number != kTagCoseSign1) return bad("tag " + std::to_string(msg->number) + " is not COSE_Sign1 (18)");
    msg = &msg->items.front();
  }
  if (msg->type != cbor::Value::Type::array || msg->items.size() != 4) return bad("not a COSE_Sign1 array of 4");
  const cbor::Value& protected_bstr = msg->items[0];
  const cbor::Value& unprotected = msg->items[1];
  const cbor::Value& payload = msg->items[2];
  const cbor::Value& signature = msg->items[3];
  if (protected_bstr.type != cbor::Value::Type::bytes || protected_bstr.string.empty()) {
    return bad("protected header is not a non-empty byte string");
  }
  if (payload.type != cbor::Value::Type::bytes) return bad("payload is detached or not a byte string");
  if (signature.type != cbor::Value::Type::bytes) return bad("signature is not a byte string");
  auto protected_map = cbor::decode(protected_bstr.string);
  if (!protected_map) return bad("protected header: " + protected_map.error().message);

  ParsedEnvelope out;
  out.media_type = std::string(kMediaTypeCose);
  if (auto s = read_protected(*protected_map, out); !s) return s.error();
  if (auto s = read_unprotected(unprotected, out); !s) return s.error();
  out.signing_input = sig_structure(protected_bstr.string, payload.string);
  out.payload = payload.string;
  out.signature = signature.string;
  return out;
}

}  // namespace imagegate::verifier::notation

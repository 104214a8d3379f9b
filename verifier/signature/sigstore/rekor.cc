// Rekor v1 evidence checked offline. The SET is Rekor's signature over the canonical JSON of the entry
// (https://github.com/sigstore/rekor/blob/main/pkg/generated/models/log_entry.go, VerifySET in
// sigstore/cosign pkg/cosign/tlog.go): keys in lexicographic order, no whitespace, body as standard
// base64, logID as lowercase hex. The hashedrekord body schema is
// https://github.com/sigstore/rekor/blob/main/pkg/types/hashedrekord/v0.0.1/hashedrekord_v0_0_1_schema.json.
#include "verifier/signature/sigstore/rekor.h"

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"

namespace imagegate::verifier {

namespace {

using json = nlohmann::json;

// The annotation and entry bodies are small (a few KiB); anything far larger is not Rekor's.
constexpr std::size_t kMaxRekorJsonBytes = 1024 * 1024;
// Seconds since the epoch beyond which a time_point in nanoseconds would overflow (year ~2223): no
// genuine Rekor entry is from then, and converting one would be undefined behaviour.
constexpr std::int64_t kMaxIntegratedTime = 8'000'000'000;

Error permission_denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

Result<json> parse_json(std::string_view text, const char* what) {
  if (text.size() > kMaxRekorJsonBytes) return resource_exhausted(std::string(what) + " exceeds 1 MiB");
  // A Rekor bundle or entry body is tens of values: 20,000 bound the DOM to 4 MB + 2 MiB.
  auto doc = parse_json_bounded(text, JsonLimits{kMaxRekorJsonBytes, 32, 20'000});
  if (!doc) return Error{doc.error().code, std::string(what) + ": " + doc.error().message};
  return doc;
}

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const std::string* string_member(const json& obj, const char* key) {
  const json* v = member(obj, key);
  return v != nullptr && v->is_string() ? &v->get_ref<const std::string&>() : nullptr;
}

// What a hashedrekord records as the signer, reduced to something comparable: a certificate's DER when
// both sides are certificates, else the SubjectPublicKeyInfo.
struct SignerIdentity {
  bool is_certificate = false;
  std::string der;
  std::string spki;
};

Result<SignerIdentity> signer_identity(std::string_view pem) {
  SignerIdentity out;
  if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    auto cert = Certificate::from_pem(pem);
    if (!cert) return cert.error();
    out.is_certificate = true;
    out.der = cert->der();
  }
  auto key = PublicKey::from_pem(pem);
  if (!key) return key.error();
  out.spki = key->spki_der();
  return out;
}

}  // namespace

Status verify_rekor_set(const RekorEntry& entry, std::string_view set_signature, const TrustedRoot& root) {
  if (entry.integrated_time < 0 || entry.integrated_time > kMaxIntegratedTime) {
    return permission_denied("Rekor entry integrated time is out of range");
  }
  const LogKey* log = root.tlog(entry.log_id);
  if (log == nullptr) return permission_denied("unknown Rekor log " + hex_encode(entry.log_id));
  const auto integrated = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(entry.integrated_time));
  if (!log->valid.contains(integrated)) {
    return permission_denied("Rekor log " + hex_encode(entry.log_id) + " key was not valid at the integrated time");
  }
  // nlohmann's object is a std::map: dump() writes the keys sorted and, with no indent, no whitespace,
  // which is exactly Rekor's canonical form for these four fields.
  json canonical = {{"body", base64_encode(entry.body)},
                    {"integratedTime", entry.integrated_time},
                    {"logID", hex_encode(entry.log_id)},
                    {"logIndex", entry.log_index}};
  const std::string message = canonical.dump();
  auto status = log->key.verify(message, set_signature, SignatureScheme::automatic, HashAlgorithm::sha256);
  if (!status) return permission_denied("Rekor SET does not verify");
  return Ok{};
}

Result<CosignRekorBundle> parse_cosign_rekor_bundle(std::string_view text) {
  auto doc = parse_json(text, "Rekor bundle");
  if (!doc) return doc.error();
  const std::string* set = string_member(*doc, "SignedEntryTimestamp");
  const json* payload = member(*doc, "Payload");
  if (set == nullptr || payload == nullptr || !payload->is_object()) {
    return invalid_argument("Rekor bundle needs SignedEntryTimestamp and Payload");
  }
  CosignRekorBundle out;
  auto sig = base64_decode(*set);
  if (!sig || sig->empty()) return invalid_argument("Rekor bundle SignedEntryTimestamp is not base64");
  out.set_signature = std::move(*sig);
  const std::string* body = string_member(*payload, "body");
  const std::string* log_id = string_member(*payload, "logID");
  const json* integrated = member(*payload, "integratedTime");
  const json* index = member(*payload, "logIndex");
  if (body == nullptr || log_id == nullptr || integrated == nullptr || index == nullptr ||
      !integrated->is_number_integer() || !index->is_number_integer()) {
    return invalid_argument("Rekor bundle Payload needs body, integratedTime, logIndex and logID");
  }
  auto decoded_body = base64_decode(*body);
  if (!decoded_body) return invalid_argument("Rekor bundle body is not base64");
  out.entry.body = std::move(*decoded_body);
  auto id = hex_decode(*log_id);
  if (!id || id->empty()) return invalid_argument("Rekor bundle logID is not hex");
  out.entry.log_id = std::move(*id);
  out.entry.integrated_time = integrated->get<std::int64_t>();
  out.entry.log_index = index->get<std::int64_t>();
  if (out.entry.integrated_time < 0 || out.entry.integrated_time > kMaxIntegratedTime || out.entry.log_index < 0) {
    return invalid_argument("Rekor bundle integratedTime or logIndex is out of range");
  }
  return out;
}

Status check_hashedrekord_body(std::string_view body_json, std::string_view signature, std::string_view signer_pem,
                               std::string_view artifact_sha256) {
  auto doc = parse_json(body_json, "Rekor entry body");
  if (!doc) return doc.error();
  const std::string* kind = string_member(*doc, "kind");
  const std::string* version = string_member(*doc, "apiVersion");
  if (kind == nullptr || *kind != "hashedrekord") {
    return invalid_argument("Rekor entry is " + (kind != nullptr ? "of kind " + *kind : std::string("of no kind")) +
                            ", not hashedrekord");
  }
  if (version == nullptr || *version != "0.0.1") return invalid_argument("unsupported hashedrekord apiVersion");
  const json* spec = member(*doc, "spec");
  const json* data = spec != nullptr ? member(*spec, "data") : nullptr;
  const json* hash = data != nullptr ? member(*data, "hash") : nullptr;
  const json* sig = spec != nullptr ? member(*spec, "signature") : nullptr;
  const json* key = sig != nullptr ? member(*sig, "publicKey") : nullptr;
  const std::string* algorithm = hash != nullptr ? string_member(*hash, "algorithm") : nullptr;
  const std::string* value = hash != nullptr ? string_member(*hash, "value") : nullptr;
  const std::string* content = sig != nullptr ? string_member(*sig, "content") : nullptr;
  const std::string* key_content = key != nullptr ? string_member(*key, "content") : nullptr;
  if (algorithm == nullptr || value == nullptr || content == nullptr || key_content == nullptr) {
    return invalid_argument("hashedrekord entry lacks data.hash, signature.content or signature.publicKey");
  }
  if (*algorithm != "sha256") return permission_denied("Rekor entry hashes with " + *algorithm + ", not sha256");
  auto recorded_hash = hex_decode(*value);
  if (!recorded_hash || *recorded_hash != artifact_sha256) {
    return permission_denied("Rekor entry records artifact hash " + *value + ", not " + hex_encode(artifact_sha256));
  }
  auto recorded_sig = base64_decode(*content);
  if (!recorded_sig || *recorded_sig != signature) return permission_denied("Rekor entry records another signature");
  auto recorded_pem = base64_decode(*key_content);
  if (!recorded_pem) return permission_denied("Rekor entry public key is not base64");
  auto recorded = signer_identity(*recorded_pem);
  if (!recorded) return permission_denied("Rekor entry public key does not parse: " + recorded.error().message);
  auto actual = signer_identity(signer_pem);
  if (!actual) return invalid_argument("signer does not parse: " + actual.error().message);
  const bool same = recorded->is_certificate && actual->is_certificate ? recorded->der == actual->der
                                                                       : recorded->spki == actual->spki;
  if (!same) return permission_denied("Rekor entry records another signing certificate or key");
  return Ok{};
}

}  // namespace imagegate::verifier

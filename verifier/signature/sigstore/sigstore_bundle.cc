// Sigstore bundle parsing. The format: https://github.com/sigstore/protobuf-specs
// (protos/sigstore_bundle.proto, JSON by the proto3 mapping: bytes as base64, int64 as strings), read into
// SigstoreBundle with every field's type checked. Verification is in sigstore_bundle_verify.cc.
#include "verifier/signature/sigstore/sigstore_bundle.h"
#include "verifier/signature/sigstore/sigstore_bundle_internal.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "verifier/signature/sigstore/certificate_transparency.h"
#include "verifier/signature/sigstore/rekor.h"
#include "verifier/signature/timestamp.h"

namespace imagegate::verifier {

using json = nlohmann::json;

namespace bundle_internal {

constexpr std::size_t kMaxQuotedBytes = 200;

// Error messages repeat bundle text (and nlohmann's "last read: '...'"): printable ASCII only, bounded, so a
// denial reason carried into an AdmissionReview or a log line cannot smuggle control bytes.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxQuotedBytes)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  if (text.size() > kMaxQuotedBytes) out += "...";
  return out;
}

// ---- JSON field access: every accessor checks the type, so a bundle of the wrong shape is an error. ----

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const json* object_member(const json& obj, const char* key) {
  const json* m = member(obj, key);
  return m != nullptr && m->is_object() ? m : nullptr;
}

std::optional<std::string> string_member(const json& obj, const char* key) {
  const json* m = member(obj, key);
  if (m == nullptr || !m->is_string()) return std::nullopt;
  return m->get<std::string>();
}

// Proto3 JSON writes bytes as standard base64, and parsers accept the URL-safe alphabet too.
Result<std::string> decode_bytes(std::string_view text) {
  auto std_b64 = base64_decode(text);
  if (std_b64) return std_b64;
  return base64url_decode(text);
}

std::optional<HashAlgorithm> hash_from_proto(std::string_view name) {
  if (name == "SHA2_256") return HashAlgorithm::sha256;
  if (name == "SHA2_384") return HashAlgorithm::sha384;
  if (name == "SHA2_512") return HashAlgorithm::sha512;
  return std::nullopt;
}

std::optional<HashAlgorithm> hash_from_rekor(std::string_view name) {
  if (name == "sha256") return HashAlgorithm::sha256;
  if (name == "sha384") return HashAlgorithm::sha384;
  if (name == "sha512") return HashAlgorithm::sha512;
  return std::nullopt;
}

std::string_view hash_name(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::sha256: return "sha256";
    case HashAlgorithm::sha384: return "sha384";
    case HashAlgorithm::sha512: return "sha512";
  }
  return "sha256";
}

// The in-toto statement a DSSE envelope carries (https://github.com/in-toto/attestation, spec/v1/statement.md).
Result<json> parse_statement(const DsseEnvelope& env) {
  if (env.payload_type != kInTotoPayloadType) return denied("DSSE payload type is not in-toto: " + printable(env.payload_type));
  auto parsed = parse_json_bounded(env.payload, kBundleJsonLimits);
  if (!parsed) return denied("DSSE payload is not an in-toto statement: " + printable(parsed.error().message));
  return std::move(parsed).value();
}

}  // namespace bundle_internal

using namespace bundle_internal;  // NOLINT: the helpers this file defines for its sibling

namespace {

Result<std::string> bytes_member(const json& obj, const char* key, const char* what) {
  auto text = string_member(obj, key);
  if (!text) return invalid_argument(std::string(what) + " is missing or not a string");
  auto bytes = decode_bytes(*text);
  if (!bytes) return invalid_argument(std::string(what) + " is not base64");
  return bytes;
}

// Proto3 JSON int64: a decimal string, or a number.
Result<std::int64_t> int64_member(const json& obj, const char* key, const char* what, bool required) {
  const json* m = member(obj, key);
  if (m == nullptr) {
    if (required) return invalid_argument(std::string(what) + " is missing");
    return std::int64_t{0};
  }
  if (m->is_number_integer()) return m->get<std::int64_t>();
  if (m->is_string()) {
    const auto& s = m->get_ref<const std::string&>();
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return v;
  }
  return invalid_argument(std::string(what) + " is not an integer");
}

Result<std::uint64_t> uint64_of(std::int64_t v, const char* what) {
  if (v < 0) return invalid_argument(std::string(what) + " is negative");
  return static_cast<std::uint64_t>(v);
}

int minor_version_of(std::string_view media_type) {
  if (media_type == "application/vnd.dev.sigstore.bundle+json;version=0.1") return 1;
  if (media_type == "application/vnd.dev.sigstore.bundle+json;version=0.2") return 2;
  if (media_type == "application/vnd.dev.sigstore.bundle+json;version=0.3") return 3;
  if (media_type == kSigstoreBundleMediaTypeV03) return 3;
  return 0;
}

Result<BundleTlogEntry> parse_tlog_entry(const json& e) {
  if (!e.is_object()) return invalid_argument("tlog entry is not an object");
  BundleTlogEntry entry;
  // Proto3 JSON omits zero values: an absent logIndex is 0 (the first entry of a log).
  auto index = int64_member(e, "logIndex", "tlog entry logIndex", false);
  if (!index) return index.error();
  if (*index < 0) return invalid_argument("tlog entry logIndex is negative");
  entry.log_index = *index;
  const json* log_id = object_member(e, "logId");
  if (log_id == nullptr) return invalid_argument("tlog entry has no logId");
  auto key_id = bytes_member(*log_id, "keyId", "tlog entry logId.keyId");
  if (!key_id) return key_id.error();
  entry.log_id = std::move(*key_id);
  const json* kv = object_member(e, "kindVersion");
  if (kv == nullptr) return invalid_argument("tlog entry has no kindVersion");
  auto kind = string_member(*kv, "kind");
  auto version = string_member(*kv, "version");
  if (!kind || !version) return invalid_argument("tlog entry kindVersion needs kind and version");
  entry.kind = std::move(*kind);
  entry.version = std::move(*version);
  auto integrated = int64_member(e, "integratedTime", "tlog entry integratedTime", false);
  if (!integrated) return integrated.error();
  if (*integrated < 0) return invalid_argument("tlog entry integratedTime is negative");
  entry.integrated_time = *integrated;
  if (const json* promise = object_member(e, "inclusionPromise")) {
    auto set = bytes_member(*promise, "signedEntryTimestamp", "inclusionPromise.signedEntryTimestamp");
    if (!set) return set.error();
    if (set->empty()) return invalid_argument("inclusionPromise.signedEntryTimestamp is empty");
    entry.set_signature = std::move(*set);
  }
  if (const json* proof = object_member(e, "inclusionProof")) {
    InclusionProof p;
    auto pi = int64_member(*proof, "logIndex", "inclusionProof.logIndex", false);  // absent = 0 (proto3)
    if (!pi) return pi.error();
    auto pu = uint64_of(*pi, "inclusionProof.logIndex");
    if (!pu) return pu.error();
    p.log_index = *pu;
    auto ts = int64_member(*proof, "treeSize", "inclusionProof.treeSize", true);
    if (!ts) return ts.error();
    auto tu = uint64_of(*ts, "inclusionProof.treeSize");
    if (!tu) return tu.error();
    p.tree_size = *tu;
    auto root = bytes_member(*proof, "rootHash", "inclusionProof.rootHash");
    if (!root) return root.error();
    p.root_hash = std::move(*root);
    if (const json* hashes = member(*proof, "hashes")) {
      if (!hashes->is_array()) return invalid_argument("inclusionProof.hashes is not an array");
      if (hashes->size() > kMaxProofHashes) return resource_exhausted("inclusionProof has too many hashes");
      for (const json& h : *hashes) {
        if (!h.is_string()) return invalid_argument("inclusionProof hash is not a string");
        auto raw = decode_bytes(h.get_ref<const std::string&>());
        if (!raw) return invalid_argument("inclusionProof hash is not base64");
        p.hashes.push_back(std::move(*raw));
      }
    }
    if (const json* cp = object_member(*proof, "checkpoint")) {
      auto envelope = string_member(*cp, "envelope");
      if (!envelope) return invalid_argument("inclusionProof.checkpoint.envelope is missing");
      if (envelope->size() > kMaxCheckpointBytes) return resource_exhausted("checkpoint larger than 16 KiB");
      entry.checkpoint = std::move(*envelope);
    }
    entry.inclusion_proof = std::move(p);
  }
  auto body = bytes_member(e, "canonicalizedBody", "tlog entry canonicalizedBody");
  if (!body) return body.error();
  entry.body = std::move(*body);
  return entry;
}

Status parse_verification_material(const json& vm, SigstoreBundle& bundle) {
  if (const json* chain = object_member(vm, "x509CertificateChain")) {
    const json* certs = member(*chain, "certificates");
    if (certs == nullptr || !certs->is_array()) return invalid_argument("x509CertificateChain.certificates is not an array");
    if (certs->empty()) return invalid_argument("x509CertificateChain is empty");
    if (certs->size() > kMaxBundleCertificates) return resource_exhausted("x509CertificateChain too long");
    for (const json& c : *certs) {
      auto der = bytes_member(c, "rawBytes", "certificate rawBytes");
      if (!der) return der.error();
      auto cert = Certificate::from_der(*der);
      if (!cert) return invalid_argument("a certificate of the chain does not parse: " + cert.error().message);
      bundle.certificates.push_back(std::move(*cert));
    }
  } else if (const json* cert = object_member(vm, "certificate")) {
    auto der = bytes_member(*cert, "rawBytes", "certificate rawBytes");
    if (!der) return der.error();
    auto parsed = Certificate::from_der(*der);
    if (!parsed) return invalid_argument("the certificate does not parse: " + parsed.error().message);
    bundle.certificates.push_back(std::move(*parsed));
  } else if (const json* key = object_member(vm, "publicKey")) {
    bundle.public_key = true;
    bundle.public_key_hint = string_member(*key, "hint").value_or("");
  } else {
    return invalid_argument("verificationMaterial has no certificate, chain or public key");
  }

  if (const json* entries = member(vm, "tlogEntries")) {
    if (!entries->is_array()) return invalid_argument("tlogEntries is not an array");
    if (entries->size() > kMaxBundleTlogEntries) return resource_exhausted("too many tlog entries");
    for (const json& e : *entries) {
      auto entry = parse_tlog_entry(e);
      if (!entry) return entry.error();
      bundle.tlog_entries.push_back(std::move(*entry));
    }
  }
  if (const json* tvd = object_member(vm, "timestampVerificationData")) {
    if (const json* stamps = member(*tvd, "rfc3161Timestamps")) {
      if (!stamps->is_array()) return invalid_argument("rfc3161Timestamps is not an array");
      if (stamps->size() > kMaxBundleTimestamps) return resource_exhausted("too many RFC 3161 timestamps");
      for (const json& t : *stamps) {
        auto der = bytes_member(t, "signedTimestamp", "rfc3161 signedTimestamp");
        if (!der) return der.error();
        if (der->size() > kMaxTimestampBytes) return resource_exhausted("RFC 3161 timestamp larger than 64 KiB");
        bundle.rfc3161_timestamps.push_back(std::move(*der));
      }
    }
  }
  return Ok{};
}

Status parse_content(const json& doc, SigstoreBundle& bundle) {
  const json* ms = object_member(doc, "messageSignature");
  const json* dsse = object_member(doc, "dsseEnvelope");
  if ((ms == nullptr) == (dsse == nullptr)) {
    return invalid_argument("bundle needs exactly one of messageSignature and dsseEnvelope");
  }
  if (ms != nullptr) {
    MessageSignature m;
    auto sig = bytes_member(*ms, "signature", "messageSignature.signature");
    if (!sig) return sig.error();
    if (sig->empty()) return invalid_argument("messageSignature.signature is empty");
    m.signature = std::move(*sig);
    if (const json* md = object_member(*ms, "messageDigest")) {
      auto alg = string_member(*md, "algorithm");
      if (!alg || !hash_from_proto(*alg)) return invalid_argument("messageDigest.algorithm is not a known hash");
      m.digest_hash = hash_from_proto(*alg);
      auto digest = bytes_member(*md, "digest", "messageDigest.digest");
      if (!digest) return digest.error();
      m.digest = std::move(*digest);
    }
    bundle.message_signature = std::move(m);
    return Ok{};
  }
  DsseEnvelope env;
  auto type = string_member(*dsse, "payloadType");
  if (!type) return invalid_argument("dsseEnvelope.payloadType is missing");
  env.payload_type = std::move(*type);
  auto payload = bytes_member(*dsse, "payload", "dsseEnvelope.payload");
  if (!payload) return payload.error();
  env.payload = std::move(*payload);
  const json* sigs = member(*dsse, "signatures");
  if (sigs == nullptr || !sigs->is_array()) return invalid_argument("dsseEnvelope.signatures is not an array");
  if (sigs->size() > kMaxBundleCertificates) return resource_exhausted("dsseEnvelope has too many signatures");
  for (const json& s : *sigs) {
    auto sig = bytes_member(s, "sig", "dsseEnvelope signature");
    if (!sig) return sig.error();
    env.signatures.push_back(std::move(*sig));
  }
  bundle.dsse = std::move(env);
  return Ok{};
}

}  // namespace

std::string dsse_pae(std::string_view payload_type, std::string_view payload) {
  std::string out = "DSSEv1 ";
  out += std::to_string(payload_type.size());
  out += ' ';
  out += payload_type;
  out += ' ';
  out += std::to_string(payload.size());
  out += ' ';
  out += payload;
  return out;
}

Result<SigstoreBundle> parse_sigstore_bundle(std::string_view bundle_json) {
  if (bundle_json.size() > kMaxBundleBytes) return resource_exhausted("Sigstore bundle larger than 1 MiB");
  auto parsed = parse_json_bounded(bundle_json, kBundleJsonLimits);
  if (!parsed) return Error{parsed.error().code, "Sigstore bundle: " + printable(parsed.error().message)};
  const json& doc = *parsed;
  if (!doc.is_object()) return invalid_argument("Sigstore bundle is not a JSON object");
  SigstoreBundle bundle;
  auto media_type = string_member(doc, "mediaType");
  if (!media_type) return invalid_argument("Sigstore bundle has no mediaType");
  bundle.media_type = *media_type;
  bundle.minor_version = minor_version_of(*media_type);
  if (bundle.minor_version == 0) return invalid_argument("unsupported Sigstore bundle media type " + printable(*media_type));
  const json* vm = object_member(doc, "verificationMaterial");
  if (vm == nullptr) return invalid_argument("Sigstore bundle has no verificationMaterial");
  if (auto s = parse_verification_material(*vm, bundle); !s) return s.error();
  if (auto s = parse_content(doc, bundle); !s) return s.error();
  return bundle;
}

std::string intoto_predicate_type(const DsseEnvelope& envelope) {
  auto statement = parse_statement(envelope);
  if (!statement) return "";
  return string_member(*statement, "predicateType").value_or("");
}

std::string describe_attestation(const DsseEnvelope& envelope) {
  if (envelope.payload_type != kInTotoPayloadType) return "DSSE payloadType \"" + printable(envelope.payload_type) + "\"";
  const std::string predicate = intoto_predicate_type(envelope);
  if (predicate.empty()) return "in-toto statement without a predicateType";
  return "in-toto predicateType \"" + printable(predicate) + "\"";
}

}  // namespace imagegate::verifier

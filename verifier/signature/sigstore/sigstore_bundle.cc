// Sigstore bundle verification, offline. The format: https://github.com/sigstore/protobuf-specs
// (protos/sigstore_bundle.proto, JSON by the proto3 mapping: bytes as base64, int64 as strings). The steps
// and their order follow the client spec (https://github.com/sigstore/architecture-docs, "Verification")
// and what sigstore-conformance's bundle-verify suite checks.
#include "verifier/signature/sigstore/sigstore_bundle.h"

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
namespace {

using json = nlohmann::json;
using TimePoint = std::chrono::system_clock::time_point;

Error denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

constexpr std::string_view kInTotoPayloadType = "application/vnd.in-toto+json";
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

// ---- Verification steps ----

bool within(const TimeRange& range, TimePoint t) {
  // Trusted-root validity windows are closed intervals (sigstore-conformance trust-root-*-end-inclusive).
  if (range.start && t < *range.start) return false;
  if (range.end && t > *range.end) return false;
  return true;
}

// Who signed: the leaf certificate (keyless) or the caller's key.
struct Signer {
  const Certificate* certificate = nullptr;
  const PublicKey* key = nullptr;  // the key that verifies signatures (the certificate's, or the caller's)
  PublicKey certificate_key;

  // The verifier a log entry body names, as PEM (Rekor v1) or DER (Rekor v2), is this signer.
  bool same_pem(std::string_view pem) const {
    if (certificate != nullptr) {
      auto c = Certificate::from_pem(pem);
      return c && c->der() == certificate->der();
    }
    if (pem.find("CERTIFICATE") != std::string_view::npos) return false;
    auto k = PublicKey::from_pem(pem);
    return k && k->spki_der() == key->spki_der();
  }
};

// The digest the log entry must record, per content type: the artifact digest for a message signature;
// for DSSE under hashedrekord 0.0.2 (Rekor v2) the hash of the PAE.
struct ContentFacts {
  std::string signature;       // the one signature (message signature, or the DSSE envelope's)
  const DsseEnvelope* dsse = nullptr;
  HashAlgorithm hash = HashAlgorithm::sha256;
  std::string artifact_digest;  // raw
};

Result<json> parse_body(std::string_view body) {
  auto doc = parse_json_bounded(body, kBundleJsonLimits);
  if (!doc) return Error{doc.error().code, "log entry body: " + printable(doc.error().message)};
  return doc;
}

const json* path(const json& root, std::initializer_list<const char*> keys) {
  const json* cur = &root;
  for (const char* k : keys) {
    cur = member(*cur, k);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

std::string string_at(const json& root, std::initializer_list<const char*> keys) {
  const json* v = path(root, keys);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// Rekor v1 hashedrekord 0.0.1: {"spec":{"data":{"hash":{"algorithm","value":HEX}},"signature":{"content":B64,
// "publicKey":{"content":B64(PEM)}}}}.
Status check_hashedrekord_v001(const json& body, const ContentFacts& facts, const Signer& signer) {
  if (facts.dsse != nullptr) return denied("log entry is a hashedrekord but the bundle holds a DSSE envelope");
  const auto alg = hash_from_rekor(string_at(body, {"spec", "data", "hash", "algorithm"}));
  if (!alg || *alg != facts.hash) return denied("log entry records another hash algorithm than the artifact's");
  if (string_at(body, {"spec", "data", "hash", "value"}) != hex_encode(facts.artifact_digest)) {
    return denied("log entry records another artifact digest");
  }
  auto sig = decode_bytes(string_at(body, {"spec", "signature", "content"}));
  if (!sig || *sig != facts.signature) return denied("log entry records another signature");
  auto pem = decode_bytes(string_at(body, {"spec", "signature", "publicKey", "content"}));
  if (!pem || !signer.same_pem(*pem)) return denied("log entry records another certificate or key");
  return Ok{};
}

// Rekor v2 hashedrekord 0.0.2: {"spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":B64},
// "signature":{"content":B64,"verifier":{"x509Certificate":{"rawBytes":B64}} | {"publicKey":{"rawBytes":B64}}}}}}.
// For DSSE it records the hash of the PAE (rekor-v2 spec §6.1.4).
Status check_hashedrekord_v002(const json& body, const ContentFacts& facts, const Signer& signer) {
  const json* spec = path(body, {"spec", "hashedRekordV002"});
  if (spec == nullptr) return denied("log entry is not a hashedRekordV002");
  const auto alg = hash_from_proto(string_at(*spec, {"data", "algorithm"}));
  if (!alg || *alg != facts.hash) return denied("log entry records another hash algorithm than the artifact's");
  auto digest = decode_bytes(string_at(*spec, {"data", "digest"}));
  const std::string expected =
      facts.dsse != nullptr ? sha_digest(facts.hash, dsse_pae(facts.dsse->payload_type, facts.dsse->payload))
                            : facts.artifact_digest;
  if (!digest || *digest != expected) return denied("log entry records another artifact digest");
  auto sig = decode_bytes(string_at(*spec, {"signature", "content"}));
  if (!sig || *sig != facts.signature) return denied("log entry records another signature");
  if (signer.certificate != nullptr) {
    auto der = decode_bytes(string_at(*spec, {"signature", "verifier", "x509Certificate", "rawBytes"}));
    if (!der || *der != signer.certificate->der()) return denied("log entry records another certificate");
  } else {
    auto der = decode_bytes(string_at(*spec, {"signature", "verifier", "publicKey", "rawBytes"}));
    if (!der || *der != signer.key->spki_der()) return denied("log entry records another key");
  }
  return Ok{};
}

// Rekor v1 dsse 0.0.1: {"spec":{"payloadHash":{"algorithm":"sha256","value":HEX},"signatures":[{"signature":B64,
// "verifier":B64(PEM)}]}}.
Status check_dsse_v001(const json& body, const ContentFacts& facts, const Signer& signer) {
  if (facts.dsse == nullptr) return denied("log entry is a DSSE entry but the bundle holds a message signature");
  if (string_at(body, {"spec", "payloadHash", "algorithm"}) != "sha256" ||
      string_at(body, {"spec", "payloadHash", "value"}) != sha256_hex(facts.dsse->payload)) {
    return denied("log entry records another DSSE payload");
  }
  const json* sigs = path(body, {"spec", "signatures"});
  if (sigs == nullptr || !sigs->is_array() || sigs->size() != 1) return denied("log entry must record exactly one DSSE signature");
  const json& s = (*sigs)[0];
  auto sig = decode_bytes(string_at(s, {"signature"}));
  if (!sig || *sig != facts.signature) return denied("log entry records another DSSE signature");
  auto pem = decode_bytes(string_at(s, {"verifier"}));
  if (!pem || !signer.same_pem(*pem)) return denied("log entry records another certificate or key");
  return Ok{};
}

// Rekor v1 intoto 0.0.2: {"spec":{"content":{"envelope":{"payloadType","signatures":[{"sig":B64(B64(sig)),
// "publicKey":B64(PEM)}]},"payloadHash":{"algorithm":"sha256","value":HEX}}}}. The signature is base64 twice:
// Rekor stored the envelope's base64 text as bytes.
Status check_intoto_v002(const json& body, const ContentFacts& facts, const Signer& signer) {
  if (facts.dsse == nullptr) return denied("log entry is an in-toto entry but the bundle holds a message signature");
  const json* content = path(body, {"spec", "content"});
  if (content == nullptr) return denied("in-toto log entry has no content");
  if (string_at(*content, {"payloadHash", "algorithm"}) != "sha256" ||
      string_at(*content, {"payloadHash", "value"}) != sha256_hex(facts.dsse->payload)) {
    return denied("log entry records another DSSE payload");
  }
  if (string_at(*content, {"envelope", "payloadType"}) != facts.dsse->payload_type) {
    return denied("log entry records another DSSE payload type");
  }
  const json* sigs = path(*content, {"envelope", "signatures"});
  if (sigs == nullptr || !sigs->is_array() || sigs->size() != 1) return denied("log entry must record exactly one DSSE signature");
  const json& s = (*sigs)[0];
  auto once = decode_bytes(string_at(s, {"sig"}));
  if (!once) return denied("log entry DSSE signature is not base64");
  auto sig = decode_bytes(*once);
  if (!sig || *sig != facts.signature) return denied("log entry records another DSSE signature");
  auto pem = decode_bytes(string_at(s, {"publicKey"}));
  if (!pem || !signer.same_pem(*pem)) return denied("log entry records another certificate or key");
  return Ok{};
}

Status check_entry_body(const BundleTlogEntry& entry, const ContentFacts& facts, const Signer& signer) {
  auto body = parse_body(entry.body);
  if (!body) return denied(body.error().message);
  // The body names its own kind; it must be the one the bundle claims.
  if (string_at(*body, {"kind"}) != entry.kind || string_at(*body, {"apiVersion"}) != entry.version) {
    return denied("log entry body kind/version differs from the bundle's kindVersion");
  }
  if (entry.kind == "hashedrekord" && entry.version == "0.0.1") return check_hashedrekord_v001(*body, facts, signer);
  if (entry.kind == "hashedrekord" && entry.version == "0.0.2") return check_hashedrekord_v002(*body, facts, signer);
  if (entry.kind == "dsse" && entry.version == "0.0.1") return check_dsse_v001(*body, facts, signer);
  if (entry.kind == "intoto" && entry.version == "0.0.2") return check_intoto_v002(*body, facts, signer);
  return denied("unsupported log entry kind " + printable(entry.kind) + " " + printable(entry.version));
}

// The in-toto statement a DSSE envelope carries (https://github.com/in-toto/attestation, spec/v1/statement.md).
Result<json> parse_statement(const DsseEnvelope& env) {
  if (env.payload_type != kInTotoPayloadType) return denied("DSSE payload type is not in-toto: " + printable(env.payload_type));
  auto parsed = parse_json_bounded(env.payload, kBundleJsonLimits);
  if (!parsed) return denied("DSSE payload is not an in-toto statement: " + printable(parsed.error().message));
  return std::move(parsed).value();
}

// The in-toto statement in a DSSE payload must name the artifact among its subjects.
Status check_intoto_subject(const DsseEnvelope& env, const Artifact& artifact) {
  auto parsed = parse_statement(env);
  if (!parsed) return parsed.error();
  const json& statement = *parsed;
  const json* subjects = member(statement, "subject");
  if (subjects == nullptr || !subjects->is_array()) return denied("DSSE subject list is missing");
  const std::string want = hex_encode(artifact.digest);
  const std::string alg(hash_name(artifact.hash));
  for (const json& s : *subjects) {
    const json* digests = object_member(s, "digest");
    if (digests == nullptr) continue;
    auto value = string_member(*digests, alg.c_str());
    if (value) {
      std::string lower = *value;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower == want) return Ok{};
    }
  }
  return denied("DSSE subject does not name the artifact digest " + alg + ":" + want);
}

// The signature covers the content: a message signature over the artifact, or the DSSE envelope's PAE.
Status check_signature(const SigstoreBundle& bundle, const Artifact& artifact, const PublicKey& key) {
  if (bundle.message_signature) {
    const MessageSignature& m = *bundle.message_signature;
    if (!m.digest.empty() && m.digest_hash == artifact.hash && m.digest != artifact.digest) {
      return denied("artifact digest does not match the bundle's message digest");
    }
    Status s = artifact.bytes ? key.verify(*artifact.bytes, m.signature, SignatureScheme::automatic, artifact.hash)
                              : key.verify_digest(artifact.digest, artifact.hash, m.signature);
    if (!s) return denied("signature does not verify over the artifact: " + s.error().message);
    return Ok{};
  }
  const DsseEnvelope& env = *bundle.dsse;
  if (env.signatures.size() != 1) return denied("DSSE envelope must carry exactly one signature");
  if (auto s = key.verify(dsse_pae(env.payload_type, env.payload), env.signatures[0]); !s) {
    return denied("DSSE signature does not verify: " + s.error().message);
  }
  return check_intoto_subject(env, artifact);
}

// The Fulcio intermediate that issued `leaf`, for its SCTs: a CA certificate of the trusted root whose
// subject is the leaf's issuer.
std::vector<const Certificate*> issuer_candidates(const Certificate& leaf, const TrustedRoot& root) {
  std::vector<const Certificate*> out;
  const std::string issuer = leaf.issuer();
  for (const CertificateAuthority& ca : root.certificate_authorities) {
    for (const Certificate& c : ca.chain) {
      if (c.subject() == issuer) out.push_back(&c);
    }
  }
  return out;
}

// Fulcio issues code-signing certificates only; a certificate for anything else (a TLS server, a CA) from
// the same CA is not a signing identity. The EKU is not in crypto.h's Certificate, so read it here.
bool has_code_signing_eku(const Certificate& cert) {
  const auto* p = reinterpret_cast<const unsigned char*>(cert.der().data());
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(cert.der().size()));
  if (x == nullptr) return false;
  const bool ok = (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) != 0 && (X509_get_extended_key_usage(x) & XKU_CODE_SIGN) != 0;
  X509_free(x);
  return ok;
}

std::string key_signer(const PublicKey& key) {
  return "key sha256:" + sha256_hex(key.spki_der()).substr(0, 12);
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

Result<VerifiedSignature> verify_sigstore_image_signature(const SigstoreBundle& bundle, const Artifact& artifact,
                                                          const TrustedRoot& root, const BundleTrust& trust) {
  // Whoever signed it, an attestation says something about the image (what it contains, how it was built,
  // what a scanner found); it does not say the signer vouches for running it. Not verified: it counts for
  // nothing here either way.
  // One DSSE statement is a signature: cosign 3 writes an image signature as an in-toto statement of
  // predicate type kCosignSignPredicateType about the image, which `cosign verify` reports as a "cosign
  // container image signature". Exactly that type (no case, version or prefix variant); its subject must
  // name the image digest like every statement's (check_intoto_subject).
  if (is_attestation(bundle) && intoto_predicate_type(*bundle.dsse) != kCosignSignPredicateType) {
    return denied("Sigstore bundle is an attestation (" + describe_attestation(*bundle.dsse) + "), not a signature");
  }
  return verify_sigstore_bundle(bundle, artifact, root, trust);
}

Result<VerifiedSignature> verify_sigstore_bundle(std::string_view bundle_json, const Artifact& artifact,
                                                 const TrustedRoot& root, const BundleTrust& trust) {
  auto parsed = parse_sigstore_bundle(bundle_json);
  if (!parsed) return parsed.error();
  return verify_sigstore_bundle(*parsed, artifact, root, trust);
}

Result<VerifiedSignature> verify_sigstore_bundle(const SigstoreBundle& bundle, const Artifact& artifact,
                                                 const TrustedRoot& root, const BundleTrust& trust) {
  // The artifact: its digest is what everything binds to; when the caller has the bytes they must hash to it.
  if (artifact.digest.empty()) return invalid_argument("artifact digest is empty");
  if (artifact.bytes && sha_digest(artifact.hash, *artifact.bytes) != artifact.digest) {
    return invalid_argument("artifact bytes do not hash to the artifact digest");
  }

  if (bundle.dsse && bundle.dsse->signatures.size() != 1) return denied("DSSE envelope must carry exactly one signature");

  // 1. Who signed, and whether the policy trusts that kind of signer.
  Signer signer;
  const bool keyless = !bundle.certificates.empty();
  if (keyless) {
    if (!trust.identity) return denied("bundle is signed with a certificate, but the policy expects a key");
    // The chain a signer sends is not trusted material; a root in it means a client that would take it.
    for (std::size_t i = 1; i < bundle.certificates.size(); ++i) {
      const Certificate& c = bundle.certificates[i];
      if (c.subject() == c.issuer()) return denied("bundle certificate chain contains a root certificate");
    }
    signer.certificate = &bundle.certificates.front();
    if (!has_code_signing_eku(*signer.certificate)) return denied("signing certificate is not for code signing (EKU)");
    signer.certificate_key = signer.certificate->public_key();
    signer.key = &signer.certificate_key;
  } else {
    if (!trust.key) return denied("bundle is signed with a key, but no key is configured");
    signer.key = &*trust.key;
  }

  // 2. The signature covers the artifact.
  if (auto s = check_signature(bundle, artifact, *signer.key); !s) return s.error();
  ContentFacts facts;
  facts.hash = artifact.hash;
  facts.artifact_digest = artifact.digest;
  if (bundle.message_signature) {
    facts.signature = bundle.message_signature->signature;
  } else {
    facts.dsse = &*bundle.dsse;
    facts.signature = bundle.dsse->signatures.front();
  }

  // 3. RFC 3161 timestamps over the signature bytes.
  std::vector<TimePoint> times;  // verified times the signature existed at
  std::size_t verified_timestamps = 0;
  // A timestamp that does not verify (an authority we do not trust, another signature) is not evidence,
  // but not a forgery of ours either: it does not count, as in sigstore-go. Without the time it would have
  // given, a keyless signature fails below for want of a verified time.
  std::string timestamp_errors;
  for (const std::string& der : bundle.rfc3161_timestamps) {
    auto ts = verify_rfc3161_timestamp(der, facts.signature, root.timestamp_authorities);
    if (!ts) {
      timestamp_errors += "; " + ts.error().message;
      continue;
    }
    times.push_back(ts->time);
    ++verified_timestamps;
  }
  if (verified_timestamps < trust.timestamp_threshold) {
    return denied("bundle has " + std::to_string(verified_timestamps) + " verified RFC 3161 timestamps, policy requires " +
                  std::to_string(trust.timestamp_threshold) + timestamp_errors);
  }

  // 4. Transparency log entries: each records this signature, and is proven in the log by a SET (an
  // inclusion promise, which also vouches for the integrated time) and/or an inclusion proof under a signed
  // checkpoint. v0.1 bundles rely on the SET; from v0.2 on the inclusion proof is required.
  std::size_t verified_entries = 0;
  std::vector<const LogKey*> logs_without_time;  // Rekor v2 logs: key validity checked below
  for (const BundleTlogEntry& entry : bundle.tlog_entries) {
    const LogKey* log = root.tlog(entry.log_id);
    if (log == nullptr) return denied("tlog entry from a log not in the trusted root");
    if (!log->valid.start) return denied("trusted root: transparency log key has no validity start");
    if (auto s = check_entry_body(entry, facts, signer); !s) return s.error();
    bool has_evidence = false;
    bool time_verified = false;
    if (!entry.set_signature.empty()) {
      RekorEntry rekor{entry.body, entry.integrated_time, entry.log_id, entry.log_index};
      if (auto s = verify_rekor_set(rekor, entry.set_signature, root); !s) return denied("Rekor SET: " + s.error().message);
      const TimePoint integrated{std::chrono::seconds(entry.integrated_time)};
      if (!within(log->valid, integrated)) return denied("Rekor integrated time outside the log key's validity");
      times.push_back(integrated);
      has_evidence = true;
      time_verified = true;
    } else if (bundle.minor_version == 1) {
      return denied("v0.1 bundle tlog entry has no inclusion promise (SET)");
    }
    if (entry.inclusion_proof) {
      const std::string leaf = rfc6962_leaf_hash(entry.body);
      if (!entry.checkpoint.empty()) {
        if (auto s = verify_inclusion_with_checkpoint(*entry.inclusion_proof, leaf, entry.checkpoint, *log); !s) {
          return s.error();
        }
        has_evidence = true;
      } else if (bundle.minor_version >= 2) {
        return denied("inclusion proof has no checkpoint");
      } else if (auto s = verify_inclusion_proof(*entry.inclusion_proof, leaf); !s) {
        return s.error();
      }
    } else if (bundle.minor_version >= 2) {
      return denied("tlog entry has no inclusion proof (required from bundle v0.2 on)");
    }
    if (!has_evidence) return denied("tlog entry has neither a SET nor a checkpointed inclusion proof");
    if (!time_verified) logs_without_time.push_back(log);
    ++verified_entries;
  }
  if (verified_entries < trust.tlog_threshold) {
    return denied("bundle has " + std::to_string(verified_entries) + " verified transparency log entries, policy requires " +
                  std::to_string(trust.tlog_threshold));
  }

  // 5. When: keyless signatures need verified time (the certificate lives ten minutes); a key may fall back
  // to the caller's clock. Logs that gave no time of their own must have been trusted at those times.
  const bool evidence_time = !times.empty();
  if (!evidence_time) {
    if (keyless) {
      return denied("no verified timestamp: cannot establish the signing time (need a SET or RFC 3161 timestamp)" +
                    timestamp_errors);
    }
    times.push_back(trust.now);
  }
  for (const LogKey* log : logs_without_time) {
    for (TimePoint t : times) {
      if (!within(log->valid, t)) return denied("transparency log key not valid at the signing time");
    }
  }

  // 6. The certificate: chains to a Fulcio CA, valid and carrying the identity at every verified time, and
  // logged in Certificate Transparency when the trusted root names CT logs.
  VerifiedSignature result;
  if (keyless) {
    std::string matched;
    for (TimePoint t : times) {
      auto who = verify_fulcio_certificate(*signer.certificate, {}, root, *trust.identity, t);
      if (!who) return who.error();
      matched = *who;
    }
    if (!root.ctlogs.empty()) {
      std::string why = "no Fulcio intermediate in the trusted root issued the certificate";
      bool ok = false;
      for (const Certificate* issuer : issuer_candidates(*signer.certificate, root)) {
        auto s = verify_embedded_scts(*signer.certificate, *issuer, root.ctlogs);
        if (s) {
          ok = true;
          break;
        }
        why = s.error().message;
      }
      if (!ok) return denied("certificate transparency: " + why);
    }
    result.signer = matched;
  } else {
    result.signer = key_signer(*signer.key);
  }
  if (evidence_time) result.integrated_time = *std::min_element(times.begin(), times.end());
  return result;
}

}  // namespace imagegate::verifier

// Sigstore bundle verification, offline. The steps and their order follow the client spec
// (https://github.com/sigstore/architecture-docs, "Verification") and what sigstore-conformance's
// bundle-verify suite checks: the signer (certificate chain or key), the signature over the content, the
// transparency log entry and its body, the signed timestamps. Parsing is in sigstore_bundle.cc.
#include <algorithm>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/json_bounded.h"
#include "common/text.h"
#include "verifier/signature/sigstore/certificate_transparency.h"
#include "verifier/signature/sigstore/rekor.h"
#include "verifier/signature/sigstore/sigstore_bundle.h"
#include "verifier/signature/sigstore/sigstore_bundle_internal.h"
#include "verifier/signature/timestamp.h"

namespace imagegate::verifier {

using namespace bundle_internal;  // NOLINT: this file is the other half of sigstore_bundle.cc

namespace {

using json = nlohmann::json;
using TimePoint = std::chrono::system_clock::time_point;

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
      if (ascii_lower(*value) == want) return Ok{};
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

// Step 1 of verify_sigstore_bundle: the signer is the leaf certificate (keyless) or the caller's key, and the
// policy must expect that kind. `signer` is filled in place (its key may point at its own certificate_key).
Status identify_signer(const SigstoreBundle& bundle, const BundleTrust& trust, Signer& signer) {
  if (!bundle.certificates.empty()) {
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
  return Ok{};
}

ContentFacts content_facts(const SigstoreBundle& bundle, const Artifact& artifact) {
  ContentFacts facts;
  facts.hash = artifact.hash;
  facts.artifact_digest = artifact.digest;
  if (bundle.message_signature) {
    facts.signature = bundle.message_signature->signature;
  } else {
    facts.dsse = &*bundle.dsse;
    facts.signature = bundle.dsse->signatures.front();
  }
  return facts;
}

// Step 3: RFC 3161 timestamps over the signature bytes; each verified one adds its time to `times`.
// A timestamp that does not verify (an authority we do not trust, another signature) is not evidence,
// but not a forgery of ours either: it does not count, as in sigstore-go, and its error goes to `errors`.
// Without the time it would have given, a keyless signature fails later for want of a verified time.
Status check_timestamps(const SigstoreBundle& bundle, const ContentFacts& facts, const TrustedRoot& root,
                        const BundleTrust& trust, std::vector<TimePoint>& times, std::string& errors) {
  std::size_t verified_timestamps = 0;
  for (const std::string& der : bundle.rfc3161_timestamps) {
    auto ts = verify_rfc3161_timestamp(der, facts.signature, root.timestamp_authorities);
    if (!ts) {
      errors += "; " + ts.error().message;
      continue;
    }
    times.push_back(ts->time);
    ++verified_timestamps;
  }
  if (verified_timestamps < trust.timestamp_threshold) {
    return denied("bundle has " + std::to_string(verified_timestamps) + " verified RFC 3161 timestamps, policy requires " +
                  std::to_string(trust.timestamp_threshold) + errors);
  }
  return Ok{};
}

// Step 4: transparency log entries. Each records this signature, and is proven in the log by a SET (an
// inclusion promise, which also vouches for the integrated time, added to `times`) and/or an inclusion proof
// under a signed checkpoint. v0.1 bundles rely on the SET; from v0.2 on the inclusion proof is required.
// Logs that gave no time of their own go to `logs_without_time`.
Status check_tlog_entries(const SigstoreBundle& bundle, const ContentFacts& facts, const Signer& signer,
                          const TrustedRoot& root, const BundleTrust& trust, std::vector<TimePoint>& times,
                          std::vector<const LogKey*>& logs_without_time) {
  std::size_t verified_entries = 0;
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
  return Ok{};
}

// Step 6 for a keyless signer: the certificate chains to a Fulcio CA and carries the identity at every
// verified time, and is logged in Certificate Transparency when the trusted root names CT logs. The
// identity it matched.
Result<std::string> verify_signing_certificate(const Certificate& certificate, const TrustedRoot& root,
                                               const BundleTrust& trust, const std::vector<TimePoint>& times) {
  std::string matched;
  for (TimePoint t : times) {
    auto who = verify_fulcio_certificate(certificate, {}, root, *trust.identity, t);
    if (!who) return who.error();
    matched = *who;
  }
  if (!root.ctlogs.empty()) {
    std::string why = "no Fulcio intermediate in the trusted root issued the certificate";
    bool ok = false;
    for (const Certificate* issuer : issuer_candidates(certificate, root)) {
      auto s = verify_embedded_scts(certificate, *issuer, root.ctlogs);
      if (s) {
        ok = true;
        break;
      }
      why = s.error().message;
    }
    if (!ok) return denied("certificate transparency: " + why);
  }
  return matched;
}

}  // namespace

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
  if (auto s = identify_signer(bundle, trust, signer); !s) return s.error();
  const bool keyless = signer.certificate != nullptr;

  // 2. The signature covers the artifact.
  if (auto s = check_signature(bundle, artifact, *signer.key); !s) return s.error();
  const ContentFacts facts = content_facts(bundle, artifact);

  // 3. RFC 3161 timestamps over the signature bytes.
  std::vector<TimePoint> times;  // verified times the signature existed at
  std::string timestamp_errors;
  if (auto s = check_timestamps(bundle, facts, root, trust, times, timestamp_errors); !s) return s.error();

  // 4. Transparency log entries.
  std::vector<const LogKey*> logs_without_time;  // Rekor v2 logs: key validity checked below
  if (auto s = check_tlog_entries(bundle, facts, signer, root, trust, times, logs_without_time); !s) return s.error();

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
    auto who = verify_signing_certificate(*signer.certificate, root, trust, times);
    if (!who) return who.error();
    result.signer = *who;
  } else {
    result.signer = key_signer(*signer.key);
  }
  if (evidence_time) result.integrated_time = *std::min_element(times.begin(), times.end());
  return result;
}

}  // namespace imagegate::verifier

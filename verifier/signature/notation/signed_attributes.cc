// The integrity checks of a parsed envelope (envelope.h check_integrity): critical headers, signing scheme
// and times, the signature with the leaf's key, the certificate chain's profile as notation-core-go
// checks it (x509/codesigning_cert_validations.go: a self-signed signing certificate alone, or a chain
// leaf -> CAs -> self-signed root, each issued by the next), and the payload's targetArtifact.
#include <algorithm>
#include <cstdint>
#include <ctime>

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"
#include "verifier/signature/notation/envelope.h"

namespace imagegate::verifier::notation {
namespace {

constexpr std::string_view kEkuCodeSigning = "1.3.6.1.5.5.7.3.3";
// Extended key usages a signing certificate must not carry (Notation signature specification): any, server
// authentication, email protection, time stamping.
constexpr std::string_view kEkuForbidden[] = {"2.5.29.37.0", "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.4",
                                              "1.3.6.1.5.5.7.3.8"};

Error denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

Status check_critical(const ParsedEnvelope& e) {
  for (const std::string& name : e.critical) {
    if (name == kHeaderVerificationPlugin) {
      return denied("the signature requires a verification plugin, which imagegate does not run");
    }
    if (name != kHeaderSigningScheme && name != kHeaderExpiry && name != kHeaderAuthenticSigningTime) {
      return denied("the signature has an unknown critical header \"" + name + "\"");
    }
    if (!contains(e.protected_names, name)) return denied("critical header \"" + name + "\" is not in the protected header");
  }
  if (!contains(e.critical, kHeaderSigningScheme)) return denied("the signing scheme is not marked critical");
  if (e.expiry && !contains(e.critical, kHeaderExpiry)) return denied("the expiry is not marked critical");
  if (e.authentic_signing_time && !contains(e.critical, kHeaderAuthenticSigningTime)) {
    return denied("the authentic signing time is not marked critical");
  }
  if (e.content_type != kPayloadContentType) return denied("payload content type \"" + e.content_type + "\" is not Notation's");
  if (e.signing_scheme == kSchemeX509) {
    if (!e.signing_time) return denied("signing scheme notary.x509 without a signing time");
  } else if (e.signing_scheme == kSchemeSigningAuthority) {
    if (!e.authentic_signing_time) return denied("signing scheme notary.x509.signingAuthority without an authentic signing time");
  } else {
    return denied("signing scheme \"" + e.signing_scheme + "\" is not supported");
  }
  const auto signed_at = e.signing_time ? e.signing_time : e.authentic_signing_time;
  if (e.expiry && signed_at && *e.expiry <= *signed_at) return denied("the expiry is not after the signing time");
  return Ok{};
}

// The algorithm a key must sign with (Notation: RSA 2048/3072/4096 -> PS256/384/512, P-256/384/521 ->
// ES256/384/512), and the key size floor of the specification.
std::string algorithm_for(const Certificate& cert) {
  const PublicKey key = cert.public_key();
  const int bits = cert.key_bits();
  switch (key.type()) {
    case KeyType::rsa: return bits == 2048 ? "PS256" : bits == 3072 ? "PS384" : bits == 4096 ? "PS512" : "";
    case KeyType::ecdsa_p256: return "ES256";
    case KeyType::ecdsa_p384: return "ES384";
    case KeyType::ecdsa_p521: return "ES512";
    default: return "";
  }
}

Status check_key(const Certificate& cert) {
  if (algorithm_for(cert).empty()) {
    return denied("certificate \"" + cert.subject() + "\" has an unsupported key (RSA 2048, 3072, 4096 or ECDSA P-256, P-384, P-521)");
  }
  if (auto crit = cert.extensions().unhandled_critical; !crit.empty()) {
    return denied("certificate \"" + cert.subject() + "\" has an unknown critical extension " + crit.front());
  }
  return Ok{};
}

Status check_leaf(const Certificate& cert) {
  const auto ext = cert.extensions();
  const std::string who = "signing certificate \"" + cert.subject() + "\"";
  if (ext.basic_constraints && ext.ca) return denied(who + " is a CA certificate");
  if (!ext.key_usage || (ext.key_usage_bits & Certificate::kKeyUsageDigitalSignature) == 0) {
    return denied(who + ": the key usage must have \"Digital Signature\" set");
  }
  if ((ext.key_usage_bits & Certificate::kKeyUsageKeyCertSign) != 0) return denied(who + ": the key usage must not have \"Certificate Sign\" set");
  if (!ext.extended_key_usages.empty()) {
    if (!contains(ext.extended_key_usages, kEkuCodeSigning)) return denied(who + ": the extended key usage must contain code signing");
    for (std::string_view forbidden : kEkuForbidden) {
      if (contains(ext.extended_key_usages, forbidden)) return denied(who + ": the extended key usage must not contain " + std::string(forbidden));
    }
  }
  return check_key(cert);
}

Status check_ca(const Certificate& cert, long certificates_below) {
  const auto ext = cert.extensions();
  const std::string who = "certificate \"" + cert.subject() + "\"";
  if (!ext.basic_constraints || !ext.ca) return denied(who + ": basic constraints must be present and mark a CA");
  if (!ext.key_usage || (ext.key_usage_bits & Certificate::kKeyUsageKeyCertSign) == 0) {
    return denied(who + ": the key usage must have \"Certificate Sign\" set");
  }
  if (ext.path_length >= 0 && ext.path_length < certificates_below) return denied(who + ": path length constraint exceeded");
  return check_key(cert);
}

Status check_chain(const std::vector<Certificate>& chain) {
  if (chain.size() == 1) {
    if (!chain.front().self_signed()) return denied("the single certificate \"" + chain.front().subject() + "\" is not self-signed");
    return check_leaf(chain.front());
  }
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const Certificate& cert = chain[i];
    if (i + 1 == chain.size()) {
      if (!cert.self_signed()) return denied("root certificate \"" + cert.subject() + "\" is not self-signed");
    } else if (!cert.issued_by(chain[i + 1])) {
      return denied("certificate \"" + cert.subject() + "\" is not issued by \"" + chain[i + 1].subject() + "\"");
    }
    auto s = i == 0 ? check_leaf(cert) : check_ca(cert, static_cast<long>(i) - 1);
    if (!s) return s;
  }
  return Ok{};
}

Status check_signature(const ParsedEnvelope& e, const Certificate& leaf) {
  const std::string expected = algorithm_for(leaf);
  if (e.algorithm != expected) {
    return denied("signature algorithm " + e.algorithm + " does not fit the signing key (" + expected + ")");
  }
  const HashAlgorithm hash = e.algorithm.ends_with("256") ? HashAlgorithm::sha256
                             : e.algorithm.ends_with("384") ? HashAlgorithm::sha384
                                                            : HashAlgorithm::sha512;
  const SignatureScheme scheme = e.algorithm.starts_with("PS") ? SignatureScheme::rsa_pss : SignatureScheme::ecdsa_raw;
  auto s = leaf.public_key().verify(e.signing_input, e.signature, scheme, hash);
  if (!s) return denied("the signature does not verify with the signing certificate's key");
  return Ok{};
}

Status check_payload(std::string_view payload, const TargetArtifact& target) {
  auto doc = parse_json_bounded(payload, JsonLimits{payload.size(), 8, 1024});
  if (!doc || !doc->is_object()) return denied("the payload is not a JSON object");
  const auto artifact = doc->find("targetArtifact");
  if (artifact == doc->end() || !artifact->is_object()) return denied("the payload has no targetArtifact");
  const auto text = [&](const char* key) {
    const auto it = artifact->find(key);
    return it != artifact->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const auto size = artifact->find("size");
  if (text("digest") != target.digest) {
    return denied("the signed digest " + text("digest") + " is not the artifact's " + target.digest);
  }
  if (size == artifact->end() || !size->is_number_integer() || size->get<std::int64_t>() != target.size) {
    return denied("the signed size is not the artifact's " + std::to_string(target.size));
  }
  if (text("mediaType") != target.media_type) {
    return denied("the signed media type " + text("mediaType") + " is not the artifact's " + target.media_type);
  }
  const auto annotations = artifact->find("annotations");
  for (const auto& [key, value] : target.user_metadata) {
    const bool has = annotations != artifact->end() && annotations->is_object() && annotations->contains(key) &&
                     (*annotations)[key].is_string() && (*annotations)[key].get<std::string>() == value;
    if (!has) return denied("the signed annotations do not hold the user metadata " + key + "=" + value);
  }
  return Ok{};
}

}  // namespace

Status check_integrity(const ParsedEnvelope& envelope, const TargetArtifact& target,
                       std::vector<Certificate>& certificates) {
  certificates.clear();
  for (std::size_t i = 0; i < envelope.certificates.size(); ++i) {
    auto cert = Certificate::from_der(envelope.certificates[i]);
    if (!cert) return denied("certificate " + std::to_string(i + 1) + " of the chain does not parse: " + cert.error().message);
    certificates.push_back(std::move(*cert));
  }
  if (certificates.empty()) return denied("the signature carries no certificate");
  if (auto s = check_critical(envelope); !s) return s;
  if (auto s = check_signature(envelope, certificates.front()); !s) return s;
  if (auto s = check_chain(certificates); !s) return s;
  return check_payload(envelope.payload, target);
}

std::string format_time(TimePoint t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return std::string(buf, n);
}

}  // namespace imagegate::verifier::notation

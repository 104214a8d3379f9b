// Sigstore trusted root (https://github.com/sigstore/protobuf-specs, trusted_root.proto, as protobuf JSON)
// and the Fulcio leaf check. The root is operator-provided trust material: anything malformed or
// ambiguous in it is refused at load time rather than guessed at verification time.
#include "verifier/signature/sigstore/trusted_root.h"
#include "verifier/image/scan_verdict.h"

#include <re2/re2.h>

#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"
#include "common/rfc3339.h"

namespace imagegate::verifier {

namespace {

using json = nlohmann::json;
using std::chrono::system_clock;

Error permission_denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

// RFC 3339 as protobuf JSON writes Timestamps ("2021-01-12T11:53:27.000Z"): the one parser in scan_verdict.h.
Result<system_clock::time_point> parse_time(const std::string& s) {
  if (auto t = parse_rfc3339(s)) return *t;
  return invalid_argument("not an RFC 3339 time: " + s);
}

// Whether an extKeyUsage extension value (DER SEQUENCE OF OBJECT IDENTIFIER) lists codeSigning
// (1.3.6.1.5.5.7.3.3) or anyExtendedKeyUsage (2.5.29.37.0): what cosign's x509 verification requires of
// a Fulcio leaf. Short-form lengths suffice: an EKU of a handful of OIDs is far below 128 bytes, and
// anything else is refused rather than decoded.
bool allows_code_signing(std::string_view eku) {
  static constexpr std::string_view kCodeSigning("\x2b\x06\x01\x05\x05\x07\x03\x03", 8);
  static constexpr std::string_view kAny("\x55\x1d\x25\x00", 4);
  if (eku.size() < 2 || eku[0] != 0x30 || static_cast<unsigned char>(eku[1]) != eku.size() - 2) return false;
  std::size_t pos = 2;
  while (pos + 2 <= eku.size()) {
    const auto len = static_cast<unsigned char>(eku[pos + 1]);
    if (eku[pos] != 0x06 || len >= 0x80 || pos + 2 + len > eku.size()) return false;
    const std::string_view oid = eku.substr(pos + 2, len);
    if (oid == kCodeSigning || oid == kAny) return true;
    pos += 2 + len;
  }
  return false;
}

// protobuf JSON accepts both base64 alphabets, padded or not.
Result<std::string> proto_bytes(const json& v, const std::string& where) {
  if (!v.is_string()) return invalid_argument(where + " must be a base64 string");
  const auto& s = v.get_ref<const std::string&>();
  auto std_form = base64_decode(s);
  if (std_form) return std_form;
  auto url_form = base64url_decode(s);
  if (url_form) return url_form;
  return invalid_argument(where + " is not base64");
}

Result<TimeRange> parse_valid_for(const json& obj, const std::string& where) {
  TimeRange range;
  const auto it = obj.find("validFor");
  if (it == obj.end() || !it->is_object()) return invalid_argument(where + ".validFor is required");
  const auto start = it->find("start");
  // A key or CA with no start has no defined window; sigstore clients refuse it (conformance
  // trust-root-tlog-missing-validity-start_fail).
  if (start == it->end() || !start->is_string()) return invalid_argument(where + ".validFor.start is required");
  auto s = parse_time(start->get<std::string>());
  if (!s) return invalid_argument(where + ".validFor.start: " + s.error().message);
  range.start = *s;
  const auto end = it->find("end");
  if (end != it->end() && !end->is_null()) {  // protobuf JSON writes an unset end as null
    if (!end->is_string()) return invalid_argument(where + ".validFor.end must be a time");
    auto e = parse_time(end->get<std::string>());
    if (!e) return invalid_argument(where + ".validFor.end: " + e.error().message);
    range.end = *e;
  }
  return range;
}

Result<LogKey> parse_log(const json& obj, const std::string& where) {
  if (!obj.is_object()) return invalid_argument(where + " must be an object");
  LogKey log;
  if (auto u = obj.find("baseUrl"); u != obj.end() && u->is_string()) log.base_url = u->get<std::string>();
  const auto pk = obj.find("publicKey");
  if (pk == obj.end() || !pk->is_object()) return invalid_argument(where + ".publicKey is required");
  const auto raw = pk->find("rawBytes");
  if (raw == pk->end()) return invalid_argument(where + ".publicKey.rawBytes is required");
  auto der = proto_bytes(*raw, where + ".publicKey.rawBytes");
  if (!der) return der.error();
  // keyDetails PKCS1_RSA_* carries a PKCS#1 RSAPublicKey rather than a SubjectPublicKeyInfo.
  const auto details = pk->find("keyDetails");
  const bool pkcs1 = details != pk->end() && details->is_string() &&
                     details->get_ref<const std::string&>().rfind("PKCS1_RSA_", 0) == 0;
  auto key = pkcs1 ? PublicKey::from_pem("-----BEGIN RSA PUBLIC KEY-----\n" + base64_encode(*der) +
                                         "\n-----END RSA PUBLIC KEY-----\n")
                   : PublicKey::from_der(*der);
  if (!key) return invalid_argument(where + ".publicKey: " + key.error().message);
  log.key = std::move(*key);
  auto valid = parse_valid_for(*pk, where + ".publicKey");
  if (!valid) return valid.error();
  log.valid = *valid;
  const auto log_id = obj.find("logId");
  if (log_id == obj.end() || !log_id->is_object() || !log_id->contains("keyId")) {
    return invalid_argument(where + ".logId.keyId is required");
  }
  auto id = proto_bytes((*log_id)["keyId"], where + ".logId.keyId");
  if (!id) return id.error();
  if (id->empty()) return invalid_argument(where + ".logId.keyId is empty");
  log.log_id = std::move(*id);
  return log;
}

Result<CertificateAuthority> parse_ca(const json& obj, const std::string& where) {
  if (!obj.is_object()) return invalid_argument(where + " must be an object");
  CertificateAuthority ca;
  if (auto u = obj.find("uri"); u != obj.end() && u->is_string()) ca.uri = u->get<std::string>();
  const auto chain = obj.find("certChain");
  if (chain == obj.end() || !chain->is_object() || !chain->contains("certificates") ||
      !(*chain)["certificates"].is_array() || (*chain)["certificates"].empty()) {
    return invalid_argument(where + ".certChain.certificates is required");
  }
  const auto& certs = (*chain)["certificates"];
  for (std::size_t i = 0; i < certs.size(); ++i) {
    const std::string at = where + ".certChain.certificates[" + std::to_string(i) + "]";
    if (!certs[i].is_object() || !certs[i].contains("rawBytes")) return invalid_argument(at + ".rawBytes is required");
    auto der = proto_bytes(certs[i]["rawBytes"], at + ".rawBytes");
    if (!der) return der.error();
    auto cert = Certificate::from_der(*der);
    if (!cert) return invalid_argument(at + ": " + cert.error().message);
    ca.chain.push_back(std::move(*cert));
  }
  auto valid = parse_valid_for(obj, where);
  if (!valid) return valid.error();
  ca.valid = *valid;
  return ca;
}

template <class T, class F>
Status parse_list(const json& doc, const char* key, std::vector<T>& out, F parse) {
  const auto it = doc.find(key);
  if (it == doc.end()) return Ok{};
  if (!it->is_array()) return invalid_argument(std::string(key) + " must be a list");
  for (std::size_t i = 0; i < it->size(); ++i) {
    auto item = parse((*it)[i], std::string(key) + "[" + std::to_string(i) + "]");
    if (!item) return item.error();
    out.push_back(std::move(*item));
  }
  return Ok{};
}

}  // namespace

bool TimeRange::contains(system_clock::time_point t) const noexcept {
  // Both ends inclusive (conformance trust-root-tsa-validity-end-inclusive).
  if (start && t < *start) return false;
  if (end && t > *end) return false;
  return true;
}

Result<TrustedRoot> TrustedRoot::from_json(std::string_view text) {
  // The public-good root is ~200 values in 10 KB; a private one with many CAs and logs stays far below
  // 4 MiB and 50,000 values, which bound the DOM to 200 B * 50,000 + 2 * 4 MiB = 18 MiB (common/json_bounded.h).
  auto parsed = parse_json_bounded(text, JsonLimits{4 * 1024 * 1024, 32, 50'000});
  if (!parsed) return Error{parsed.error().code, "trusted root: " + parsed.error().message};
  const json& doc = *parsed;
  if (!doc.is_object()) return invalid_argument("trusted root must be a JSON object");
  const auto media = doc.find("mediaType");
  if (media == doc.end() || !media->is_string()) return invalid_argument("trusted root has no mediaType");
  const auto& m = media->get_ref<const std::string&>();
  if (m != "application/vnd.dev.sigstore.trustedroot+json;version=0.1" &&
      m != "application/vnd.dev.sigstore.trustedroot.v0.1+json" &&
      m != "application/vnd.dev.sigstore.trustedroot.v0.2+json") {
    return invalid_argument("unsupported trusted root mediaType " + m);
  }
  TrustedRoot root;
  if (auto s = parse_list(doc, "tlogs", root.tlogs, parse_log); !s) return s.error();
  if (auto s = parse_list(doc, "ctlogs", root.ctlogs, parse_log); !s) return s.error();
  if (auto s = parse_list(doc, "certificateAuthorities", root.certificate_authorities, parse_ca); !s) return s.error();
  if (auto s = parse_list(doc, "timestampAuthorities", root.timestamp_authorities, parse_ca); !s) return s.error();
  return root;
}

Result<TrustedRoot> TrustedRoot::from_pem(std::string_view fulcio_pem, std::string_view rekor_keys_pem) {
  TrustedRoot root;
  if (fulcio_pem.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    auto certs = certificates_from_pem_bundle(fulcio_pem);
    if (!certs) return invalid_argument("Fulcio roots: " + certs.error().message);
    for (auto& cert : *certs) root.certificate_authorities.push_back({"", {std::move(cert)}, {}});
  }
  if (rekor_keys_pem.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    auto keys = public_keys_from_pem_bundle(rekor_keys_pem);
    if (!keys) return invalid_argument("Rekor keys: " + keys.error().message);
    for (auto& key : *keys) {
      LogKey log{"", sha256(key.spki_der()), key, {}};
      root.tlogs.push_back(std::move(log));
    }
  }
  return root;
}

const LogKey* TrustedRoot::tlog(std::string_view log_id) const {
  for (const auto& log : tlogs) {
    if (log.log_id == log_id) return &log;
  }
  return nullptr;
}

std::string CertificateIdentity::describe() const {
  std::string out = "subject=";
  if (!subject.empty()) {
    out += subject;
  } else if (subject_regexp) {
    out += "~" + subject_regexp->pattern();
  } else {
    out += "*";
  }
  out += " issuer=";
  if (!issuer.empty()) {
    out += issuer;
  } else if (issuer_regexp) {
    out += "~" + issuer_regexp->pattern();
  } else {
    out += "*";
  }
  return out;
}

Result<std::string> verify_fulcio_certificate(const Certificate& leaf, const std::vector<Certificate>& chain,
                                              const TrustedRoot& root, const CertificateIdentity& identity,
                                              system_clock::time_point at) {
  // The leaf's own window first, so an expired signing certificate is named as such and not as an
  // unspecific chain failure.
  if (at < leaf.not_before() || at > leaf.not_after()) {
    return permission_denied("certificate expired at integrated time " + format_rfc3339(at) + " (valid " +
                             format_rfc3339(leaf.not_before()) + " to " + format_rfc3339(leaf.not_after()) + ")");
  }
  std::string last_reason = "no certificate authority valid at " + format_rfc3339(at);
  bool chained = false;
  for (const auto& ca : root.certificate_authorities) {
    if (ca.chain.empty() || !ca.valid.contains(at)) continue;
    // The CA's root is the trust anchor; its intermediates and those the signature carries are only
    // candidates for path building.
    std::vector<Certificate> intermediates(ca.chain.begin(), ca.chain.end() - 1);
    intermediates.insert(intermediates.end(), chain.begin(), chain.end());
    auto status = verify_certificate_chain(leaf, intermediates, {ca.chain.back()}, at);
    if (status) {
      chained = true;
      break;
    }
    last_reason = status.error().message;
  }
  if (!chained) return permission_denied("certificate does not chain to a trusted Fulcio root: " + last_reason);
  const auto eku = leaf.extension_text("2.5.29.37");
  if (!eku || !allows_code_signing(*eku)) return permission_denied("certificate is not for code signing (extended key usage)");

  const std::string issuer = leaf.oidc_issuer();
  const std::vector<std::string> sans = leaf.subject_alternative_names();
  bool issuer_ok = true;
  if (!identity.issuer.empty()) {
    issuer_ok = issuer == identity.issuer;
  } else if (identity.issuer_regexp) {
    issuer_ok = RE2::FullMatch(issuer, *identity.issuer_regexp);
  }
  const std::string* matched = sans.empty() ? nullptr : &sans.front();
  bool subject_ok = true;
  if (!identity.subject.empty() || identity.subject_regexp) {
    subject_ok = false;
    for (const auto& san : sans) {
      const bool hit = !identity.subject.empty() ? san == identity.subject
                                                 : RE2::FullMatch(san, *identity.subject_regexp);
      if (hit) {
        matched = &san;
        subject_ok = true;
        break;
      }
    }
  }
  if (!issuer_ok || !subject_ok) {
    std::string have;
    for (const auto& san : sans) have += (have.empty() ? "" : ",") + san;
    return permission_denied("identity mismatch: certificate has subject " + (have.empty() ? "(none)" : have) +
                             " issuer " + (issuer.empty() ? "(none)" : issuer) + ", policy requires " +
                             identity.describe());
  }
  return (matched != nullptr ? *matched : std::string("(no SAN)")) + " (" + issuer + ")";
}

}  // namespace imagegate::verifier

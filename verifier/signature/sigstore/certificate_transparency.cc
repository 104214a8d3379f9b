#include "verifier/signature/sigstore/certificate_transparency.h"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "verifier/crypto/openssl_handles.h"

namespace imagegate::verifier {
namespace {

Error denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

// A cursor over TLS-encoded bytes (RFC 5246 §4): big-endian integers and length-prefixed vectors. Every
// read checks what is left, so a truncated list is an error, never a read past the end.
class TlsReader {
 public:
  explicit TlsReader(std::string_view data) : data_(data) {}
  bool empty() const { return data_.empty(); }
  bool read_uint(std::size_t bytes, std::uint64_t& out) {
    if (data_.size() < bytes) return false;
    out = 0;
    for (std::size_t i = 0; i < bytes; ++i) out = (out << 8U) | static_cast<unsigned char>(data_[i]);
    data_.remove_prefix(bytes);
    return true;
  }
  bool read_bytes(std::size_t n, std::string_view& out) {
    if (data_.size() < n) return false;
    out = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  bool read_vector(std::size_t length_bytes, std::string_view& out) {
    std::uint64_t n = 0;
    return read_uint(length_bytes, n) && read_bytes(static_cast<std::size_t>(n), out);
  }

 private:
  std::string_view data_;
};

void append_uint(std::string& out, std::uint64_t value, std::size_t bytes) {
  for (std::size_t i = bytes; i > 0; --i) out.push_back(static_cast<char>((value >> (8 * (i - 1))) & 0xFFU));
}

bool within(const TimeRange& range, std::chrono::system_clock::time_point t) {
  if (range.start && t < *range.start) return false;
  if (range.end && t > *range.end) return false;
  return true;
}

}  // namespace

Status verify_embedded_scts(const Certificate& leaf, const Certificate& issuer, const std::vector<LogKey>& ctlogs) {
  const auto* p = reinterpret_cast<const unsigned char*>(leaf.der().data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(leaf.der().size())));
  if (!cert) {
    ERR_clear_error();
    return invalid_argument("certificate does not parse");
  }
  const int index = X509_get_ext_by_NID(cert.get(), NID_ct_precert_scts, -1);
  if (index < 0) return denied("no embedded SCT verifies: the certificate has none");
  // extnValue wraps a DER OCTET STRING that holds the TLS-encoded SignedCertificateTimestampList.
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(cert.get(), index));
  const unsigned char* q = ASN1_STRING_get0_data(value);
  Asn1OctetStringPtr inner(d2i_ASN1_OCTET_STRING(nullptr, &q, ASN1_STRING_length(value)));
  if (!inner) {
    ERR_clear_error();
    return invalid_argument("embedded SCT list is not an OCTET STRING");
  }
  const std::string list(reinterpret_cast<const char*>(ASN1_STRING_get0_data(inner.get())),
                         static_cast<std::size_t>(ASN1_STRING_length(inner.get())));

  // The log signed the precertificate: the same TBSCertificate without the SCT extension (RFC 6962 §3.2).
  X509_EXTENSION_free(X509_delete_ext(cert.get(), index));
  const auto tbs = der_of(i2d_re_X509_tbs, cert.get(), internal_error("cannot re-encode the TBSCertificate"));
  if (!tbs) return tbs.error();
  const std::string& tbs_der = *tbs;
  const std::string issuer_key_hash = sha256(issuer.public_key().spki_der());

  TlsReader outer(list);
  std::string_view scts;
  if (!outer.read_vector(2, scts) || !outer.empty()) return invalid_argument("embedded SCT list is malformed");
  TlsReader reader(scts);
  std::size_t count = 0;
  std::string reasons;
  while (!reader.empty()) {
    if (++count > kMaxEmbeddedScts) return resource_exhausted("too many embedded SCTs");
    std::string_view sct;
    if (!reader.read_vector(2, sct)) return invalid_argument("embedded SCT list is malformed");
    TlsReader r(sct);
    std::uint64_t version = 0, timestamp = 0, hash_alg = 0, sig_alg = 0;
    std::string_view log_id, extensions, signature;
    if (!r.read_uint(1, version) || !r.read_bytes(32, log_id) || !r.read_uint(8, timestamp) ||
        !r.read_vector(2, extensions) || !r.read_uint(1, hash_alg) || !r.read_uint(1, sig_alg) ||
        !r.read_vector(2, signature) || !r.empty()) {
      return invalid_argument("an embedded SCT is malformed");
    }
    if (version != 0) continue;  // only v1 SCTs exist
    const LogKey* log = nullptr;
    for (const LogKey& candidate : ctlogs) {
      if (candidate.log_id == log_id) log = &candidate;
    }
    if (log == nullptr) {
      reasons += "; SCT from a log not in the trusted root";
      continue;
    }
    const auto when = std::chrono::system_clock::time_point(std::chrono::milliseconds(timestamp));
    if (!within(log->valid, when)) {
      reasons += "; SCT time outside the CT log key's validity";
      continue;
    }
    std::string signed_data;
    signed_data.reserve(tbs_der.size() + extensions.size() + 64);
    append_uint(signed_data, 0, 1);  // sct_version v1
    append_uint(signed_data, 0, 1);  // signature_type certificate_timestamp
    append_uint(signed_data, timestamp, 8);
    append_uint(signed_data, 1, 2);  // entry_type precert_entry
    signed_data += issuer_key_hash;
    append_uint(signed_data, tbs_der.size(), 3);
    signed_data += tbs_der;
    append_uint(signed_data, extensions.size(), 2);
    signed_data.append(extensions);
    if (log->key.verify(signed_data, signature)) return Ok{};
    reasons += "; SCT signature does not verify";
  }
  return denied("no embedded SCT verifies" + (reasons.empty() ? std::string() : " (" + reasons.substr(2) + ")"));
}

}  // namespace imagegate::verifier

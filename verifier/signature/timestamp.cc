#include "verifier/signature/timestamp.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <ctime>
#include <memory>
#include <utility>

#include "verifier/crypto/openssl_handles.h"

namespace imagegate::verifier {
namespace {

Error denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

X509Ptr to_x509(const Certificate& cert) {
  const auto* p = reinterpret_cast<const unsigned char*>(cert.der().data());
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(cert.der().size())));
}

std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown reason";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

bool within(const TimeRange& range, std::chrono::system_clock::time_point t) {
  // Trusted-root validity windows are closed intervals (sigstore-conformance trust-root-*-end-inclusive).
  if (range.start && t < *range.start) return false;
  if (range.end && t > *range.end) return false;
  return true;
}

// What is verified: a whole response (status granted, then its token) or the token alone.
struct Timestamped {
  TS_RESP* response = nullptr;
  PKCS7* token = nullptr;
};

// One authority: the token must verify with this authority's root as the only trust anchor, its leaf and
// intermediates offered as untrusted certificates (for tokens that do not embed them), at genTime.
Status verify_with_authority(const Timestamped& what, std::string_view signed_data, const CertificateAuthority& tsa,
                             std::time_t gen_time) {
  if (tsa.chain.empty()) return denied("timestamp authority has no certificates");
  X509StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  if (!store || !untrusted) return internal_error("out of memory");
  X509Ptr root = to_x509(tsa.chain.back());
  if (!root || X509_STORE_add_cert(store.get(), root.get()) != 1) return internal_error("TSA root does not load");
  for (std::size_t i = 0; i + 1 < tsa.chain.size(); ++i) {
    X509Ptr cert = to_x509(tsa.chain[i]);
    if (!cert) return internal_error("TSA certificate does not load");
    if (sk_X509_push(untrusted.get(), cert.get()) <= 0) return internal_error("out of memory");
    cert.release();  // the stack owns it now
  }
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_time(param, gen_time);  // the chain must be valid when the token was made, not now
  // The trusted root's last certificate is the anchor even when it is not self-signed.
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);

  TsVerifyCtxPtr ctx(TS_VERIFY_CTX_new());
  if (!ctx) return internal_error("out of memory");
  BIO* data = BIO_new_mem_buf(signed_data.data(), static_cast<int>(signed_data.size()));
  if (data == nullptr) return internal_error("out of memory");
  TS_VERIFY_CTX_set_data(ctx.get(), data);  // owned by ctx from here on
  TS_VERIFY_CTX_set_store(ctx.get(), store.release());
  TS_VERIFY_CTX_set_certs(ctx.get(), untrusted.release());
  // Signature, version and message imprint (recomputed from the data with the token's own hash); the
  // nonce and policy are the requester's business.
  TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
  ERR_clear_error();
  const int rc = what.response != nullptr ? TS_RESP_verify_response(ctx.get(), what.response)
                                          : TS_RESP_verify_token(ctx.get(), what.token);
  if (rc != 1) return denied(openssl_reason());
  return Ok{};
}

std::chrono::microseconds accuracy_of(TS_TST_INFO* info) {
  const TS_ACCURACY* acc = TS_TST_INFO_get_accuracy(info);
  if (acc == nullptr) return std::chrono::microseconds{0};
  const auto part = [](const ASN1_INTEGER* v) { return v == nullptr ? 0L : ASN1_INTEGER_get(v); };
  return std::chrono::seconds(part(TS_ACCURACY_get_seconds(acc))) +
         std::chrono::milliseconds(part(TS_ACCURACY_get_millis(acc))) +
         std::chrono::microseconds(part(TS_ACCURACY_get_micros(acc)));
}

// genTime of `info`, then the first authority (valid at genTime) the token verifies with.
Result<VerifiedTimestamp> verify_against(const Timestamped& what, TS_TST_INFO* info, std::string_view signed_data,
                                         const std::vector<CertificateAuthority>& authorities) {
  const ASN1_GENERALIZEDTIME* gen = TS_TST_INFO_get_time(info);
  std::tm tm{};
  if (gen == nullptr || ASN1_TIME_to_tm(gen, &tm) != 1) return invalid_argument("RFC 3161 timestamp has no valid genTime");
  const std::time_t gen_time = timegm(&tm);
  const auto when = std::chrono::system_clock::from_time_t(gen_time);
  if (authorities.empty()) return denied("RFC 3161 timestamp: the trusted root has no timestamp authorities");

  std::string reasons;
  for (const CertificateAuthority& tsa : authorities) {
    if (!within(tsa.valid, when)) {
      reasons += (reasons.empty() ? "" : "; ") + tsa.uri + ": genTime outside the authority's validity";
      continue;
    }
    auto s = verify_with_authority(what, signed_data, tsa, gen_time);
    if (s) return VerifiedTimestamp{when, tsa.uri, accuracy_of(info)};
    reasons += (reasons.empty() ? "" : "; ") + tsa.uri + ": " + s.error().message;
  }
  return denied("RFC 3161 timestamp does not verify with a trusted timestamp authority (" + reasons + ")");
}

}  // namespace

Result<VerifiedTimestamp> verify_rfc3161_timestamp(std::string_view response_der, std::string_view signed_data,
                                                   const std::vector<CertificateAuthority>& authorities) {
  if (response_der.size() > kMaxTimestampBytes) return resource_exhausted("RFC 3161 timestamp larger than 64 KiB");
  const auto* p = reinterpret_cast<const unsigned char*>(response_der.data());
  TsRespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(response_der.size())));
  ERR_clear_error();
  if (!resp || p != reinterpret_cast<const unsigned char*>(response_der.data() + response_der.size())) {
    return invalid_argument("RFC 3161 timestamp is not a DER TimeStampResp");
  }
  TS_TST_INFO* info = TS_RESP_get_tst_info(resp.get());
  if (info == nullptr) return invalid_argument("RFC 3161 timestamp response carries no token");
  return verify_against(Timestamped{resp.get(), nullptr}, info, signed_data, authorities);
}

Result<VerifiedTimestamp> verify_rfc3161_token(std::string_view token_der, std::string_view signed_data,
                                               const std::vector<CertificateAuthority>& authorities) {
  if (token_der.size() > kMaxTimestampBytes) return resource_exhausted("RFC 3161 timestamp larger than 64 KiB");
  const auto* p = reinterpret_cast<const unsigned char*>(token_der.data());
  Pkcs7Ptr token(d2i_PKCS7(nullptr, &p, static_cast<long>(token_der.size())));
  ERR_clear_error();
  if (!token || p != reinterpret_cast<const unsigned char*>(token_der.data() + token_der.size())) {
    return invalid_argument("RFC 3161 timestamp token is not a DER CMS ContentInfo");
  }
  TsTstInfoPtr info(PKCS7_to_TS_TST_INFO(token.get()));
  if (!info) {
    const std::string why = openssl_reason();
    return invalid_argument("RFC 3161 timestamp token does not hold a TSTInfo (" + why + ")");
  }
  return verify_against(Timestamped{nullptr, token.get()}, info.get(), signed_data, authorities);
}

}  // namespace imagegate::verifier

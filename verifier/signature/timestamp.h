// RFC 3161 timestamps as Sigstore bundles carry them (verificationMaterial.timestampVerificationData): a
// DER TimeStampResp from a timestamp authority, countersigning the bundle's signature bytes; and as Notation
// envelopes carry them (io.cncf.notary.timestampSignature): the TimeStampToken alone (a CMS SignedData),
// countersigning the envelope's signature bytes. A verified timestamp is a time the signature is known to
// have existed, which Rekor v2 entries no longer provide. One piece of code verifies both.
//
// Pure functions over values (OpenSSL's TS_* underneath, never in this header); thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/signature/sigstore/trusted_root.h"

namespace imagegate::verifier {

inline constexpr std::size_t kMaxTimestampBytes = 64 * 1024;

struct VerifiedTimestamp {
  std::chrono::system_clock::time_point time;  // the token's genTime
  std::string authority;                       // the TSA's uri from the trusted root
  std::chrono::microseconds accuracy{0};       // the token's accuracy (0 when it states none)
};

// Verifies `response_der` (an RFC 3161 TimeStampResp, status granted) as a timestamp over `signed_data`
// (its message imprint is the hash of these bytes, with the hash the token names) by one of
// `authorities`: the token's signer certificate (embedded, or the authority's own leaf) chains to the
// authority's root with every certificate valid at the token's genTime, carries the timeStamping EKU, and
// the authority's validity window contains genTime (inclusive). invalid_argument when the bytes do not
// parse; permission_denied otherwise, naming why.
Result<VerifiedTimestamp> verify_rfc3161_timestamp(std::string_view response_der, std::string_view signed_data,
                                                   const std::vector<CertificateAuthority>& authorities);

// The same checks for a DER TimeStampToken (ContentInfo holding SignedData with a TSTInfo), the form Notation
// countersignatures take: invalid_argument when it does not parse or is not a TSTInfo token,
// permission_denied otherwise, naming why.
Result<VerifiedTimestamp> verify_rfc3161_token(std::string_view token_der, std::string_view signed_data,
                                               const std::vector<CertificateAuthority>& authorities);

}  // namespace imagegate::verifier

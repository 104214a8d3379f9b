// RFC 3161 timestamps as Sigstore bundles carry them (verificationMaterial.timestampVerificationData): a
// DER TimeStampResp from a timestamp authority, countersigning the bundle's signature bytes. A verified
// timestamp is a time the signature is known to have existed, which Rekor v2 entries no longer provide.
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
};

// Verifies `response_der` (an RFC 3161 TimeStampResp, status granted) as a timestamp over `signed_data`
// (its message imprint is the hash of these bytes, with the hash the token names) by one of
// `authorities`: the token's signer certificate (embedded, or the authority's own leaf) chains to the
// authority's root with every certificate valid at the token's genTime, carries the timeStamping EKU, and
// the authority's validity window contains genTime (inclusive). invalid_argument when the bytes do not
// parse; permission_denied otherwise, naming why.
Result<VerifiedTimestamp> verify_rfc3161_timestamp(std::string_view response_der, std::string_view signed_data,
                                                   const std::vector<CertificateAuthority>& authorities);

}  // namespace imagegate::verifier

// Internal to verifier/signature/notation/: a Notation signature envelope parsed into one shape, whichever
// its format (JWS JSON in envelope_jws.cc, COSE_Sign1 in envelope_cose.cc), and the checks of its signed
// attributes and signature (signed_attributes.cc). Parsing is bounded (kMaxEnvelopeBytes, the JSON and CBOR
// limits) and never trusts a length it has not checked against the bytes.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/notation/notation.h"

namespace imagegate::verifier::notation {

inline constexpr std::string_view kPayloadContentType = "application/vnd.cncf.notary.payload.v1+json";
inline constexpr std::string_view kSchemeX509 = "notary.x509";
inline constexpr std::string_view kSchemeSigningAuthority = "notary.x509.signingAuthority";
inline constexpr std::string_view kHeaderSigningScheme = "io.cncf.notary.signingScheme";
inline constexpr std::string_view kHeaderSigningTime = "io.cncf.notary.signingTime";
inline constexpr std::string_view kHeaderAuthenticSigningTime = "io.cncf.notary.authenticSigningTime";
inline constexpr std::string_view kHeaderExpiry = "io.cncf.notary.expiry";
inline constexpr std::string_view kHeaderTimestamp = "io.cncf.notary.timestampSignature";
inline constexpr std::string_view kHeaderSigningAgent = "io.cncf.notary.signingAgent";
inline constexpr std::string_view kHeaderVerificationPlugin = "io.cncf.notary.verificationPlugin";
inline constexpr std::size_t kMaxCertificates = 10;

using TimePoint = std::chrono::system_clock::time_point;

struct ParsedEnvelope {
  std::string media_type;
  std::string algorithm;      // JWS names: PS256 PS384 PS512 ES256 ES384 ES512 ("" when COSE names another)
  std::string signing_input;  // the bytes the signature covers (JWS: protected "." payload; COSE: Sig_structure)
  std::string signature;      // raw (ECDSA: r||s)
  std::string payload;        // the JSON payload
  std::string content_type;
  std::string signing_scheme;
  std::optional<TimePoint> signing_time;
  std::optional<TimePoint> authentic_signing_time;
  std::optional<TimePoint> expiry;
  std::vector<std::string> critical;         // the `crit` entries (COSE integer labels as their decimal text)
  std::vector<std::string> protected_names;  // every protected header name present (same spelling)
  std::vector<std::string> certificates;     // x5c / x5chain DER, leaf first
  std::optional<std::string> timestamp_token;  // the countersignature's DER when present
};

Result<ParsedEnvelope> parse_jws(std::string_view bytes);
Result<ParsedEnvelope> parse_cose(std::string_view bytes);
// By media type, refusing more than kMaxEnvelopeBytes unread.
Result<ParsedEnvelope> parse_envelope(const Envelope& envelope);

// The signed content checks that do not depend on trust: the critical headers (every listed one present
// and understood; the ones Notation requires listed), the signing scheme and its times, the content type,
// the signature itself with the leaf's key (the algorithm fitting the key), the certificate chain's shape
// and profile (code signing leaf, CA certificates, key sizes; not validity periods, which authentic
// timestamp checks), and the payload's targetArtifact against `target`. `certificates` receives the parsed
// chain (leaf first) once it parses. permission_denied naming the failure otherwise.
Status check_integrity(const ParsedEnvelope& envelope, const TargetArtifact& target,
                       std::vector<Certificate>& certificates);

// The RFC 2822-like text notation-go prints in its messages: "Fri, 29 Jul 2022 23:59:00 +0000".
std::string format_time(TimePoint t);

}  // namespace imagegate::verifier::notation

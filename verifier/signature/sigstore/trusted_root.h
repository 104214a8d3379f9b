// TrustedRoot: the Sigstore trust material a keyless or bundle verification needs, from a Sigstore
// `trusted_root.json` (dev.sigstore.trustedroot.v0.1+json, as in the public-good root) or from PEM files
// (`--fulcio-roots FILE --rekor-key FILE`, an air-gapped cluster's own Fulcio/Rekor). Never fetched: the
// files come from the policy and mounted Secrets.
//
// Also the certificate identity a keyless anchor requires (issuer and SAN, exact or RE2), and the check of
// a Fulcio leaf against both. Immutable once built; thread-safe to share.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/crypto/crypto.h"

namespace re2 {
class RE2;
}

namespace imagegate::verifier {

// A validity window; an absent end means "still valid".
struct TimeRange {
  std::optional<std::chrono::system_clock::time_point> start;
  std::optional<std::chrono::system_clock::time_point> end;
  bool contains(std::chrono::system_clock::time_point t) const noexcept;
};

// A Fulcio (or TSA) certificate authority: its chain, root last, and when it issued.
struct CertificateAuthority {
  std::string uri;
  std::vector<Certificate> chain;  // intermediates first, the root last (trusted_root.json order)
  TimeRange valid;
};

// A transparency log (Rekor) or CT log key.
struct LogKey {
  std::string base_url;
  std::string log_id;  // raw bytes: trusted_root.json logId.keyId, or sha256(spki) for a PEM key
  PublicKey key;
  TimeRange valid;
};

struct TrustedRoot {
  std::vector<CertificateAuthority> certificate_authorities;
  std::vector<LogKey> tlogs;
  std::vector<LogKey> ctlogs;
  std::vector<CertificateAuthority> timestamp_authorities;

  // invalid_argument naming what is wrong (media type, a key that does not parse, ...).
  static Result<TrustedRoot> from_json(std::string_view json);
  // Fulcio roots (and intermediates) from a PEM bundle, each certificate its own CA valid forever, and
  // Rekor public keys from a PEM bundle (log id = sha256 of the SPKI). Either may be empty.
  static Result<TrustedRoot> from_pem(std::string_view fulcio_pem, std::string_view rekor_keys_pem);

  // The tlog whose log_id equals `log_id` (raw bytes), or nullptr.
  const LogKey* tlog(std::string_view log_id) const;
};

// What a keyless anchor requires of the signing certificate. Exact strings win over regexps when both are
// set; an empty matcher (neither set) accepts anything (only allowed for the issuer when the policy says so).
struct CertificateIdentity {
  std::string issuer;
  std::shared_ptr<const re2::RE2> issuer_regexp;   // full match
  std::string subject;                             // a SAN value: email, URI, or otherName
  std::shared_ptr<const re2::RE2> subject_regexp;  // full match
  std::string describe() const;  // "subject=... issuer=..." for messages
};

// A Fulcio leaf certificate is trusted at `at` (normally the Rekor integrated time or a TSA time) when it
// chains through `chain` (intermediates carried by the signature, may be empty) to a CA of `root` whose
// validity contains `at`, every certificate is valid at `at`, and it carries `identity`. Returns the matched
// identity as "SUBJECT (ISSUER)". permission_denied otherwise, saying which part failed:
// "certificate does not chain to a trusted Fulcio root: ...", "certificate expired at integrated time ...",
// "identity mismatch: certificate has subject X issuer Y, policy requires ...".
Result<std::string> verify_fulcio_certificate(const Certificate& leaf, const std::vector<Certificate>& chain,
                                              const TrustedRoot& root, const CertificateIdentity& identity,
                                              std::chrono::system_clock::time_point at);

}  // namespace imagegate::verifier

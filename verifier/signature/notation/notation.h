// Notation (Notary Project v2) signatures, verified offline: a trust configuration (a notation trust policy
// and trust store, or the inline `notation:` anchor of an imagegate policy) loaded once, then pure checks of
// signature envelopes (JWS JSON `application/jose+json`, COSE_Sign1 `application/cose`) against one target
// artifact. What the registry holds (referrers, the tag schema) is fetched elsewhere
// (verifier/signature/signature_fetcher.h); this folder never does I/O except reading trust files in the
// load_* functions.
//
// Semantics follow the Notation specification and notation-go (verifier/verifier.go, trustpolicy/):
// statement selection by registry scope, verification levels strict / permissive / audit / skip with
// per-check overrides (integrity, authenticity, authenticTimestamp, expiry, revocation), trust stores
// `ca:` / `signingAuthority:` / `tsa:`, trusted identities by x509 subject or "*", RFC 3161 timestamp
// countersignatures against `tsa:` stores, and the target artifact's digest, size and media type bound by
// the signed payload. Revocation (OCSP/CRL) needs the network and is never checked (README.md says what a
// `revocation` override means here).
//
// Immutable once loaded; verify() is a pure function of its arguments (the time is a parameter) and
// thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/signature/anchor/anchor.h"

namespace imagegate::verifier::notation {

// The artifact type of a Notation signature manifest (referrers API filter) and its envelope media types.
inline constexpr std::string_view kSignatureArtifactType = "application/vnd.cncf.notary.signature";
inline constexpr std::string_view kMediaTypeJws = "application/jose+json";
inline constexpr std::string_view kMediaTypeCose = "application/cose";

// Bounds. An envelope above kMaxEnvelopeBytes is refused unread (notation-go's limit, 4 MiB); at most
// kMaxSignatures envelopes are tried for one artifact (GHSA-87x9-7grx-m28v): when none of them verified and
// more were offered, the verdict fails closed naming the limit.
inline constexpr std::size_t kMaxEnvelopeBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxSignatures = 100;

// One signature: the layer of a Notation signature manifest (its media type and the blob's bytes).
struct Envelope {
  std::string media_type;  // kMediaTypeJws or kMediaTypeCose
  std::string bytes;
};

// What the signatures must cover: the image manifest as the registry resolved it.
struct TargetArtifact {
  std::string reference;  // "registry/repository" (no tag or digest): matched against registryScopes
  std::string digest;     // "sha256:..."
  std::int64_t size = 0;  // bytes of the manifest
  std::string media_type;
  // Required payload annotations (notation verify --user-metadata): each key present with this value in the
  // signed targetArtifact.annotations, or the signature fails (always enforced). Empty: none required.
  std::map<std::string, std::string> user_metadata = {};
};

enum class Level { strict, permissive, audit, skip };
enum class Check { integrity, authenticity, authentic_timestamp, expiry, revocation };
enum class Action { enforce, log, skip };
std::string_view to_string(Level level) noexcept;    // "strict", ...
std::string_view to_string(Check check) noexcept;    // "integrity", "authenticity", "authenticTimestamp", ...
std::string_view to_string(Action action) noexcept;  // "enforce", "log", "skip"

// A trust file read at load: its path and the SHA-256 (hex) of its content, so the caller can notice a
// rotation (content, not stat identity) and fold the trust material into a version.
struct TrustFile {
  std::string path;
  std::string sha256;
};

// A loaded trust configuration: the trust policy's statements with their certificates resolved from the
// trust store. Opaque; built only by the load_* functions below.
class TrustConfig {
 public:
  struct Impl;  // verifier/signature/notation/trust_policy.h (internal to this folder)
  explicit TrustConfig(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  const Impl& impl() const noexcept { return *impl_; }
  const std::vector<TrustFile>& files() const noexcept;   // every file read: the policy, each certificate
  std::vector<std::string> statement_names() const;      // the trust policy's statements, in order
  // The earliest notAfter of the trust store certificates the statements use (CA, signing authority,
  // TSA); nullopt when there are none.
  std::optional<std::chrono::system_clock::time_point> earliest_expiry() const;

 private:
  std::shared_ptr<const Impl> impl_;
};

// A notation trust policy (trustpolicy.json, version "1.0") and a trust store directory laid out as
// notation's: `trust_store_dir` is notation's `truststore` directory (holding `x509/{ca,signingAuthority,
// tsa}/<name>/*.crt|*.cer|*.pem`, PEM or DER), or a directory holding `truststore/`. Only the stores the
// policy names are read. Errors (invalid_argument, or not_found for a missing file or store) name the file
// and the problem: "trustpolicy.json: statement \"wabbit\": registry scope \"*\" must be the only scope",
// "truststore/x509/ca/e2e/leaf.crt: not a CA certificate", ... Blocking (reads files): never on an io thread.
Result<std::shared_ptr<const TrustConfig>> load_trust(const std::string& trust_policy_path,
                                                      const std::string& trust_store_dir);

// The inline anchor form (verifier/signature/anchor/anchor.h NotationAnchor): one implicit statement with
// registryScopes ["*"], its trustStores files as one `ca` store (PEM bundles), its tsaStores files as one
// `tsa` store, its trustedIdentities and verification level. Errors name the file and the problem.
// Blocking (reads files).
Result<std::shared_ptr<const TrustConfig>> load_trust(const NotationAnchor& anchor);

// Parsing a trust policy document alone (no trust store): what load_trust checks first. For `imagegate
// verify` error messages and the fuzz target; `where` prefixes errors (the file name).
Status validate_trust_policy(std::string_view json, std::string_view where);

// What one envelope showed.
struct SignatureEvidence {
  std::string media_type;        // the envelope's
  std::string signer_subject;    // the leaf certificate's subject (RFC 2253), "" when unparsed
  std::string signing_scheme;    // "notary.x509" | "notary.x509.signingAuthority"
  std::optional<std::chrono::system_clock::time_point> signing_time;  // signed attribute (authentic for
                                                                      // signingAuthority)
  std::optional<std::chrono::system_clock::time_point> expiry;
  std::string timestamp_authority;  // the TSA certificate's subject, when a timestamp verified
  std::optional<std::chrono::system_clock::time_point> timestamp;  // its genTime
  bool verified = false;
  std::string failure;  // what failed, "check: reason" ("authenticity: the signature's certificate chain
                        // does not contain any trusted certificate"); "" when verified
};

struct Verdict {
  enum class Status {
    verified,  // a signature passed every enforced check of the statement that applies
    failed,    // none did, no statement applies, or the signature limit was crossed
    skipped,   // the applicable statement's level is `skip`: nothing was verified (the caller decides)
  };
  Status status = Status::failed;
  std::string detail;     // short and human, like AnchorCheck::detail
  std::string statement;  // the trust policy statement applied, "" when none applies
  std::vector<SignatureEvidence> signatures;  // one per envelope tried, in order
  std::vector<std::string> logged;  // what `log` actions reported (permissive / audit): "expiry: ..."
};

// Verifies `envelopes` (the signatures attached to `target`) under the statement of `trust` whose
// registryScopes match target.reference (an exact scope before "*"). Verified when one envelope passes;
// envelopes are tried in order, at most kMaxSignatures.
Verdict verify(const TrustConfig& trust, const TargetArtifact& target, const std::vector<Envelope>& envelopes,
               std::chrono::system_clock::time_point now);

}  // namespace imagegate::verifier::notation

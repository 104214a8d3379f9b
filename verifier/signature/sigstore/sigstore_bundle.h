// Sigstore bundles (application/vnd.dev.sigstore.bundle[.v0.1|v0.2|v0.3]+json): parse and verify offline
// against a TrustedRoot, as the sigstore-conformance `bundle-verify` suite defines it.
//
// Verification: the verification material (Fulcio certificate / chain, or a public key the caller trusts)
// -> transparency log evidence (Rekor v1 SET and/or inclusion proof with a signed checkpoint, Rekor v2
// entries) and/or RFC 3161 timestamps give the signing time -> the certificate chains to a Fulcio CA at
// that time and carries the identity -> the signature covers the artifact (messageSignature over its
// digest, or a DSSE envelope whose in-toto subject names the artifact digest) -> the log entry body
// records this signature, key/certificate and artifact. Keyless leaves must carry the code-signing EKU and,
// when the trusted root lists CT logs, an embedded SCT from one of them (a root built from PEM files has
// none, and then no SCT is required). RFC 3161 timestamps that do not verify are ignored (sigstore-go's
// rule); they count toward nothing.
//
// For images: the artifact digest is the image manifest digest. A message signature over the manifest is a
// signature of the image; a DSSE envelope is an attestation (an in-toto statement about the image: an SBOM,
// provenance, a vulnerability scan, ...) and is never a signature of it (the policy-controller
// CVE-2022-35930 pattern): verify_sigstore_image_signature refuses it, while verify_sigstore_bundle still
// verifies it cryptographically (the conformance suite, later attestation checks by predicate type). The
// one exception is cosign 3's image signature, a statement of exactly kCosignSignPredicateType about the
// image, which is what `cosign sign` writes by default.
//
// Thread-safe: free functions over values.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/signature/cosign/cosign.h"
#include "common/json_bounded.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/sigstore/transparency_log.h"
#include "verifier/signature/sigstore/trusted_root.h"

namespace imagegate::verifier {

inline constexpr const char* kSigstoreBundleMediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json";
inline constexpr std::size_t kMaxBundleBytes = 1024 * 1024;

// What is being verified: the artifact's digest (always), and its bytes when the caller has them.
struct Artifact {
  HashAlgorithm hash = HashAlgorithm::sha256;
  std::string digest;  // raw bytes
  std::optional<std::string> bytes;
};

// How the signer is trusted: a keyless identity (Fulcio certificate), or a public key (managed key).
struct BundleTrust {
  std::optional<CertificateIdentity> identity;  // keyless
  std::optional<PublicKey> key;                 // key-based bundles
  // Used only when the bundle carries no time evidence the policy accepts (never for keyless).
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  std::size_t tlog_threshold = 1;      // verified transparency-log entries required
  std::size_t timestamp_threshold = 0; // verified RFC 3161 timestamps required (in addition, or instead when tlog 0)
};


inline constexpr std::size_t kMaxBundleTlogEntries = 16;
inline constexpr std::size_t kMaxBundleTimestamps = 16;
inline constexpr std::size_t kMaxBundleCertificates = 10;
inline constexpr int kMaxBundleJsonDepth = 32;
// A bundle is a few hundred values (16 tlog entries with their proofs, 10 certificates); its in-toto
// statement fewer. 20,000 bound each parse's DOM to 200 B * 20,000 + 2 * 1 MiB = 6 MiB (common/json_bounded.h).
inline constexpr JsonLimits kBundleJsonLimits{kMaxBundleBytes, kMaxBundleJsonDepth, 20'000};
// The predicate type of cosign 3's image signatures (`cosign sign` with the default new bundle format).
inline constexpr std::string_view kCosignSignPredicateType = "https://sigstore.dev/cosign/sign/v1";

// A bundle as parsed, before anything is verified (exposed for tests and the fuzz target). Binary fields
// are decoded (base64 -> raw bytes); nothing here is trusted yet.
struct BundleTlogEntry {
  std::int64_t log_index = 0;  // never negative (rejected when parsing)
  std::string log_id;          // raw bytes
  std::string kind;            // "hashedrekord", "dsse", "intoto"
  std::string version;         // "0.0.1", "0.0.2"
  std::int64_t integrated_time = 0;  // 0 when absent (Rekor v2 entries have none)
  std::string set_signature;         // inclusionPromise.signedEntryTimestamp; "" when absent
  std::optional<InclusionProof> inclusion_proof;
  std::string checkpoint;  // inclusionProof.checkpoint.envelope; "" when absent
  std::string body;        // canonicalizedBody, decoded
};

struct DsseEnvelope {
  std::string payload_type;
  std::string payload;                  // decoded
  std::vector<std::string> signatures;  // decoded
};

struct MessageSignature {
  std::optional<HashAlgorithm> digest_hash;  // messageDigest.algorithm, when present
  std::string digest;                        // messageDigest.digest (raw), "" when absent
  std::string signature;                     // raw
};

struct SigstoreBundle {
  std::string media_type;
  int minor_version = 0;  // 1, 2 or 3 (v0.1 .. v0.3)
  // Verification material: a leaf certificate (with, for v0.1/v0.2, the rest of the chain the signer sent)
  // or a public key hint.
  std::vector<Certificate> certificates;  // leaf first; empty for a public key
  bool public_key = false;
  std::string public_key_hint;
  std::vector<BundleTlogEntry> tlog_entries;
  std::vector<std::string> rfc3161_timestamps;  // DER TimeStampResp each
  std::optional<MessageSignature> message_signature;
  std::optional<DsseEnvelope> dsse;
};

// Parses (bounded: kMaxBundleBytes, kMaxBundleJsonDepth, the counts above). invalid_argument naming what
// is wrong; resource_exhausted over a bound.
Result<SigstoreBundle> parse_sigstore_bundle(std::string_view bundle_json);

// DSSE pre-authentication encoding: "DSSEv1 <len(type)> <type> <len(body)> <body>".
std::string dsse_pae(std::string_view payload_type, std::string_view payload);

// Parses and verifies. invalid_argument for a bundle that does not parse (or exceeds kMaxBundleBytes);
// permission_denied naming the failed step ("inclusion proof does not verify", "checkpoint signature ...",
// "certificate ... identity mismatch", "artifact digest does not match", "DSSE subject ...").
// Either content verifies: a message signature, or a DSSE envelope whose in-toto subject names the artifact.
Result<VerifiedSignature> verify_sigstore_bundle(std::string_view bundle_json, const Artifact& artifact,
                                                 const TrustedRoot& root, const BundleTrust& trust);
// The same over a bundle parse_sigstore_bundle already read.
Result<VerifiedSignature> verify_sigstore_bundle(const SigstoreBundle& bundle, const Artifact& artifact,
                                                 const TrustedRoot& root, const BundleTrust& trust);

// A DSSE bundle is an attestation: a signed statement about the artifact, not a signature of it.
inline bool is_attestation(const SigstoreBundle& bundle) noexcept { return bundle.dsse.has_value(); }
// What an attestation states, for messages: `in-toto predicateType "https://spdx.dev/Document"`, or the
// envelope's payload type when it is not an in-toto statement. Printable ASCII, bounded.
std::string describe_attestation(const DsseEnvelope& envelope);
// The in-toto statement's predicateType ("" when the payload is not an in-toto statement or names none).
std::string intoto_predicate_type(const DsseEnvelope& envelope);

// A signature of an image (`artifact` = its manifest digest): only a message signature counts. A DSSE
// envelope is refused without being verified: permission_denied "Sigstore bundle is an attestation
// (in-toto predicateType \"...\"), not a signature".
Result<VerifiedSignature> verify_sigstore_image_signature(const SigstoreBundle& bundle, const Artifact& artifact,
                                                          const TrustedRoot& root, const BundleTrust& trust);

}  // namespace imagegate::verifier

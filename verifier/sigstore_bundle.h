// Sigstore bundles (application/vnd.dev.sigstore.bundle[.v0.1|v0.2|v0.3]+json): parse and verify offline
// against a TrustedRoot, as the sigstore-conformance `bundle-verify` suite defines it.
//
// Verification: the verification material (Fulcio certificate / chain, or a public key the caller trusts)
// -> transparency log evidence (Rekor v1 SET and/or inclusion proof with a signed checkpoint, Rekor v2
// entries) and/or RFC 3161 timestamps give the signing time -> the certificate chains to a Fulcio CA at
// that time and carries the identity -> the signature covers the artifact (messageSignature over its
// digest, or a DSSE envelope whose in-toto subject names the artifact digest) -> the log entry body
// records this signature, key/certificate and artifact.
//
// For images: the artifact digest is the image manifest digest (cosign's bundle format signs the image
// with a DSSE in-toto statement whose subject is that digest, or a message signature over the manifest).
//
// Thread-safe: free functions over values.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/cosign.h"
#include "verifier/crypto.h"
#include "verifier/trusted_root.h"

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


// Parses and verifies. invalid_argument for a bundle that does not parse (or exceeds kMaxBundleBytes);
// permission_denied naming the failed step ("inclusion proof does not verify", "checkpoint signature ...",
// "certificate ... identity mismatch", "artifact digest does not match", "DSSE subject ...").
Result<VerifiedSignature> verify_sigstore_bundle(std::string_view bundle_json, const Artifact& artifact,
                                                 const TrustedRoot& root, const BundleTrust& trust);

}  // namespace imagegate::verifier

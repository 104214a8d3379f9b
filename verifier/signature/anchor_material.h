// Anchor material: the trust anchors of one policy version, loaded and made ready to verify with (keys
// parsed, trusted roots loaded, keyless identities with their compiled regexps, Notary v1 verifiers), and
// the trust files it read with the SHA-256 of their content.
//
// Built (AnchorMaterial::build, blocking: it reads key and root files) when a policy is compiled or the
// trust files change, never during a review: a review verifies with the material of the snapshot it
// started with. Each anchor becomes a SignatureVerifier of its scheme (signature_verifier.h): cosign key
// and keyless -> cosign/cosign_verifier.h, Notary v1 -> notary_v1/notary_v1.h, Notation ->
// notation/notation_verifier.h (its trust policy and trust store loaded by notation/notation.h). An anchor
// that cannot be loaded (missing file, bad PEM, a malformed trust policy: the error names the file and the
// problem) carries its load_error and fails every check with it: it never stops the server.
//
// Trust files rotate: the material remembers every key/root file it read with the SHA-256 of its content
// (content, not stat identity: a Kubernetes Secret update swaps a `..data` symlink), and every file under a
// Notation trust store directory (one added or removed counts too), and its version() is
// the policy version plus a hash of all trust material; trust_files_changed() rereads them (blocking).
//
// Immutable once built; thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/signature/anchor/anchor.h"
#include "verifier/signature/signature_fetcher.h"
#include "verifier/signature/signature_verifier.h"

namespace imagegate::verifier {

// How Notary v1 anchors reach their servers: the registry configuration's CA and Docker config files.
struct NotaryTransport {
  std::vector<std::string> ca_files;
  std::vector<std::string> docker_config_files;
  std::chrono::milliseconds timeout{10'000};
};

// When a kind of an anchor's trust material stops being valid: the earliest notAfter (or validity end) of
// its certificates. kind: "trusted_root" (a keyless anchor's Sigstore trusted root, or its Fulcio roots:
// the authorities and logs still valid, their certificates included), "certificate" (a Notary v1 anchor's
// pinned root certificates), "trust_store" (a Notation trust store's certificates). Keys have no expiry and
// give none. Notary v1's TUF metadata is fetched per review and its expiry checked then; what was verified is
// kept, and its expiry is the verifier's (SignatureVerifier::fetched_trust_expiry, kind "tuf_metadata").
struct MaterialExpiry {
  std::string kind;
  std::chrono::system_clock::time_point not_after;
};

// One trust anchor, ready to verify with (or the reason it cannot be used).
struct LoadedAnchor {
  enum class Kind { cosign_key, keyless, notary_v1, notation };
  std::string name;
  Kind kind = Kind::cosign_key;
  std::string load_error;                             // non-empty: every check of this anchor fails with it
  std::shared_ptr<const SignatureVerifier> verifier;  // set when load_error is empty
  std::vector<MaterialExpiry> expiries;               // at most one per kind; empty for a key
};

// An anchor as the policy names it.
struct NamedAnchorSpec {
  std::string name;
  const AnchorSpec* spec = nullptr;
};

class AnchorMaterial {
 public:
  // Never fails as a whole: each anchor that cannot be loaded carries its load_error.
  static std::shared_ptr<const AnchorMaterial> build(std::string policy_version,
                                                     const std::vector<NamedAnchorSpec>& anchors,
                                                     const NotaryTransport& transport);

  const std::string& policy_version() const noexcept { return version_; }
  // policy_version() + "/" + a hash of every trust file's content (and of every read error): two materials
  // with the same version were built from the same policy and the same trust material.
  const std::string& version() const noexcept { return full_version_; }
  // A trust file read while building: its path and the SHA-256 of its content ("" when it could not be read);
  // or a trust directory (a Notation trust store): the SHA-256 of the list of every file under it with the
  // SHA-256 of each one's content.
  struct TrustFile {
    std::string path;
    std::string sha256;
    bool directory = false;
  };
  const std::vector<TrustFile>& trust_files() const noexcept { return trust_files_; }
  // Rereads every trust file (blocking): true when one's content (or readability) differs from what was loaded.
  bool trust_files_changed() const;
  const LoadedAnchor* find(std::string_view name) const;
  const std::vector<LoadedAnchor>& anchors() const noexcept { return anchors_; }

 private:
  std::string version_;
  std::string full_version_;
  std::vector<TrustFile> trust_files_;
  std::vector<LoadedAnchor> anchors_;
};

// An anchor that reads OCI signatures against what was fetched for `fetched.digest` (pure, no I/O); an
// anchor with a load error fails with "anchor not usable: <error>".
AnchorCheck check_fetched(const LoadedAnchor& anchor, const FetchedSignatures& fetched,
                          std::chrono::system_clock::time_point now);
// The attestations of `predicate_type` the anchor signed among what was fetched for `fetched.digest` (pure);
// an anchor with a load error finds none, saying why.
AttestationCheck check_fetched_attestations(const LoadedAnchor& anchor, const FetchedSignatures& fetched,
                                            std::string_view predicate_type, std::chrono::system_clock::time_point now);

}  // namespace imagegate::verifier

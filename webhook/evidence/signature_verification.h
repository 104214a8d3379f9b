// Signature verification for admission: which trust anchors a policy names, loaded once per policy
// version (AnchorSet), and the per-image flow that fetches an image's signatures once and asks every
// anchor a rule names whether they verify the digest (SignatureVerification).
//
// AnchorSet: built from a CompiledPolicy when the policy changes. Cosign keys are parsed (inline PEM or
// keyFile), keyless anchors get their trusted root (trusted_root.json, or fulcioRoots + rekorKey PEM files)
// and the identity the policy compiled (exact strings, RE2 regexps), Notary v1 anchors get a
// NotaryV1Verifier (with the registry configuration's CA and Docker config files). An anchor that cannot
// be loaded (missing file, bad PEM) fails every check with the load error: it never stops the server.
//
// SignatureVerification::verify: per image digest, fetch the `.sig` signatures and Sigstore bundles once
// (verifier/signature/signature_fetcher.h), then
//   cosign key anchors  -> every classic signature (verify_cosign_key) and bundle (key-based bundles);
//   keyless anchors     -> every classic keyless signature (verify_cosign_keyless) and bundle;
//   Notary v1 anchors   -> their NotaryV1Verifier (trust data for the image's tag);
//   Notation anchors    -> failed: not verified by this build.
// Results are cached per (digest, signature repository, anchor set version, anchor[, tag for Notary]) for
// `cache_ttl`; answers that could not be decided (registry or notary-server unavailable) are never cached.
// Concurrent misses for the same image and anchors share one flight (common/single_flight.h). With
// `shared` (Redis, issue 7), the flight leader first asks the other replicas for the answer (key: a SHA-256
// over the flight key, which carries the anchor set version and so the trust-material hash), and publishes
// what it computes for cache_ttl when every answer is decided (never `unavailable` ones), replacing a value
// that could not be parsed. Only the leader talks to Redis; its waiters get its answer.
//
// Trust files rotate: the anchor set remembers every key/root file it read with the SHA-256 of its content
// (content, not stat identity: a Kubernetes Secret update swaps a `..data` symlink), and its version() is
// the policy version plus a hash of all trust material. anchor_set() rereads the files at most every
// `trust_reload_interval` and rebuilds the set when one changed; answers cached under the old set are then
// never hit again (their keys carry the old version).
//
// Thread-safe: any io_context thread may call verify(). The registry client must outlive this object.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "policy/evaluate.h"
#include "verifier/crypto/crypto.h"
#include "verifier/image/image_reference.h"
#include "verifier/signature/notary_v1/notary_v1.h"
#include "verifier/registry/registry_client.h"
#include "verifier/registry/shared_cache.h"
#include "verifier/signature/signature_check.h"
#include "verifier/signature/signature_fetcher.h"
#include "verifier/signature/sigstore/trusted_root.h"
#include "webhook/server/server_config.h"

namespace imagegate::policy {
class CompiledPolicy;
}

namespace imagegate::webhook {

// One trust anchor, ready to verify with (or the reason it cannot be used).
struct LoadedAnchor {
  enum class Kind { cosign_key, keyless, notary_v1, notation };
  std::string name;
  Kind kind = Kind::cosign_key;
  std::string load_error;  // non-empty: every check of this anchor fails with it
  std::optional<verifier::PublicKey> key;                     // cosign_key
  std::shared_ptr<const verifier::TrustedRoot> trusted_root;  // keyless
  verifier::CertificateIdentity identity;                     // keyless
  std::shared_ptr<verifier::NotaryV1Verifier> notary;         // notary_v1
};

class AnchorSet {
 public:
  // Never fails as a whole: each anchor that cannot be loaded carries its load_error.
  static std::shared_ptr<const AnchorSet> build(const policy::CompiledPolicy& policy, const RegistryConfig& registry);

  const std::string& policy_version() const noexcept { return version_; }
  // policy_version() + "/" + a hash of every trust file's content (and of every read error): two sets with
  // the same version were built from the same policy and the same trust material.
  const std::string& version() const noexcept { return full_version_; }
  // A trust file read while building: its path and the SHA-256 of its content ("" when it could not be read).
  struct TrustFile {
    std::string path;
    std::string sha256;
  };
  const std::vector<TrustFile>& trust_files() const noexcept { return trust_files_; }
  // Rereads every trust file: true when one's content (or readability) differs from what was loaded.
  bool trust_files_changed() const;
  const LoadedAnchor* find(std::string_view name) const;
  const std::vector<LoadedAnchor>& anchors() const noexcept { return anchors_; }

  // Offline part: a cosign key or keyless anchor against the signatures fetched for `digest` (pure, no I/O).
  // `now` is the verification time for key-based bundles without time evidence.
  static verifier::AnchorCheck check_fetched(const LoadedAnchor& anchor, const verifier::FetchedSignatures& fetched,
                                             std::chrono::system_clock::time_point now);

 private:
  std::string version_;
  std::string full_version_;
  std::vector<TrustFile> trust_files_;
  std::vector<LoadedAnchor> anchors_;
};

struct SignatureVerificationOptions {
  verifier::SignatureFetchOptions fetch;
  std::chrono::milliseconds cache_ttl{300'000};  // verified and failed answers
  std::size_t max_cache_entries = 10'000;
  // How often anchor_set() rereads key and root files (0: only when the policy version changes).
  std::chrono::milliseconds trust_reload_interval{30'000};
  // Answers shared with other replicas through Redis (nullptr: this process only). Published for cache_ttl.
  std::shared_ptr<verifier::SharedLookup> shared;
  std::function<std::chrono::system_clock::time_point()> clock = [] { return std::chrono::system_clock::now(); };
};

// What verify() did, for the CLI's evidence and the benchmark.
struct SignatureReport {
  std::vector<policy::AnchorEvidence> anchors;  // one per requested anchor, in the order asked
  std::vector<std::vector<std::string>> signers;  // per anchor: verified signer identities
  std::size_t signatures = 0;   // classic signatures + bundles fetched (0 when served from cache)
  std::vector<std::string> skipped;  // signature layers that could not be read
  std::size_t registry_requests = 0;
  double fetch_seconds = 0;     // registry round trips
  double verify_seconds = 0;    // crypto
  bool from_cache = false;      // every anchor answered from the cache
};

class SignatureVerification {
 public:
  // `client` must outlive this object.
  SignatureVerification(verifier::RegistryClient& client, RegistryConfig registry,
                        SignatureVerificationOptions options = {});
  ~SignatureVerification();
  SignatureVerification(const SignatureVerification&) = delete;
  SignatureVerification& operator=(const SignatureVerification&) = delete;

  // Verifies `anchors` of `policy` for `image` (its repository, and its tag for Notary) at `digest`.
  // `signature_repository` (a rule's `signatures.repository`, cosign's COSIGN_REPOSITORY): where the
  // `.sig` tags and bundles of the digest live instead of the image's own repository; "" = the image's.
  // Honours cancellation.
  boost::asio::awaitable<SignatureReport> verify(std::shared_ptr<const policy::CompiledPolicy> policy,
                                                 verifier::ImageReference image, std::string digest,
                                                 std::vector<std::string> anchors,
                                                 std::string signature_repository = {});

  // The anchor set of `policy`, built on first use of each policy version, and rebuilt when a trust file
  // changed (checked at most every trust_reload_interval).
  std::shared_ptr<const AnchorSet> anchor_set(const policy::CompiledPolicy& policy);

  struct Stats {
    std::uint64_t cache_hits = 0;
    std::uint64_t cache_misses = 0;
    std::uint64_t shared = 0;   // waited for another review's flight
    std::uint64_t fetches = 0;  // signature fetches from the registry
    std::uint64_t shared_hits = 0;  // answered by another replica through the shared cache
    std::uint64_t trust_reloads = 0;  // anchor sets rebuilt because a trust file changed
  };
  Stats stats() const;

  struct State;

 private:
  boost::asio::awaitable<SignatureReport> run(std::shared_ptr<const AnchorSet> set, verifier::ImageReference image,
                                              std::string digest, std::vector<std::string> anchors,
                                              std::string signature_repository);
  // The flight leader's work: the shared cache (when configured), else run().
  boost::asio::awaitable<SignatureReport> lead(std::shared_ptr<const AnchorSet> set, verifier::ImageReference image,
                                               std::string digest, std::vector<std::string> anchors,
                                               std::string signature_repository, std::string flight_key);

  verifier::SignatureFetcher fetcher_;
  RegistryConfig registry_;
  SignatureVerificationOptions options_;
  std::unique_ptr<State> state_;
};

// AnchorCheck -> the policy's evidence for one anchor.
policy::CheckEvidence to_evidence(const verifier::AnchorCheck& check);

}  // namespace imagegate::webhook

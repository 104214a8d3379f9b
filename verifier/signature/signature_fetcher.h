// SignatureFetcher: the signatures attached to one image digest, fetched from its registry and bounded,
// ready for the pure verifiers (verifier/signature/cosign/cosign.h, verifier/signature/sigstore/sigstore_bundle.h).
//
// Two places are read, in this order:
//   1. cosign's classic layout: the manifest tagged `sha256-<hex>.sig` (cosign_signature_tag) in the
//      image's repository, or in a configured signature repository (cosign's COSIGN_REPOSITORY); each
//      layer is a simple-signing payload blob (at most max_payload_bytes <= kMaxSignaturePayloadBytes)
//      with its annotations.
//   2. Sigstore bundles attached as OCI referrers: the referrers API, else (a registry without it, such as
//      distribution 2.8) the `sha256-<hex>` tag-schema fallback index; entries whose artifactType is a
//      Sigstore bundle media type -> their manifest -> the bundle layer blob (at most kMaxBundleBytes).
// The `.sig` place (manifest, then payloads) and the referrers lookup are in flight together; bundles are
// read once both are in, so results and messages do not depend on which answered first.
// A missing `.sig` tag / referrers index means "no signatures there", not an error. Registry trouble is
// the client's error (unavailable, permission_denied, ...). More than `max_signatures` signature layers
// plus bundle referrers is resource_exhausted: never an allocation sized by what the registry claims.
// With a signature repository, both places are read there (cosign with COSIGN_REPOSITORY writes `.sig`
// manifests and bundle referrers into it), and nothing is read from the image's own repository.
//
// Thread-safe if the client is (the registry clients are). The client must outlive the fetcher.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/result.h"
#include "verifier/signature/cosign/cosign.h"
#include "verifier/image/image_reference.h"
#include "verifier/registry/registry_client.h"

namespace imagegate::verifier {

inline constexpr std::size_t kDefaultMaxSignatures = 50;
inline constexpr const char* kSigstoreBundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle";

struct SignatureFetchOptions {
  std::size_t max_signatures = kDefaultMaxSignatures;  // `.sig` layers + bundle referrers per image
  // Each `.sig` layer's payload; larger layers are skipped. Values above kMaxSignaturePayloadBytes act as it.
  std::size_t max_payload_bytes = kMaxSignaturePayloadBytes;
  // Where `.sig` manifests and bundles live when not beside the image ("registry.example.com/signatures");
  // "" = the image's own repository. A per-call repository (fetch's third argument) overrides it.
  std::string signature_repository;
};

// What the registry holds for one digest. Layers that cannot be read as signatures (no signature
// annotation, bad base64, oversized) are not fatal: they are skipped and listed in `skipped`, so a
// verifier can say why nothing matched.
struct FetchedSignatures {
  std::string digest;
  std::vector<CosignSignature> cosign;  // classic `.sig` layers, in manifest order
  std::vector<std::string> bundles;     // Sigstore bundle JSON documents, in index order
  std::vector<std::string> skipped;     // "layer 2: signature annotation missing", ...
  std::size_t requests = 0;             // registry round trips made (benchmarks, metrics)

  bool empty() const noexcept { return cosign.empty() && bundles.empty(); }
};

class SignatureFetcher {
 public:
  explicit SignatureFetcher(RegistryClient& client, SignatureFetchOptions options = {});

  // `image` names the repository (its tag/digest are ignored); `digest` is the manifest digest signed.
  // Honours cancellation.
  boost::asio::awaitable<Result<FetchedSignatures>> fetch(const ImageReference& image, std::string digest);
  // The same, reading `.sig` manifests and bundles from `signature_repository` (a repository name such as
  // "registry.example.com/sigs/app"; "" = options().signature_repository, else the image's repository).
  // invalid_argument when the repository is not a valid repository name.
  boost::asio::awaitable<Result<FetchedSignatures>> fetch(const ImageReference& image, std::string digest,
                                                          std::string signature_repository);

  const SignatureFetchOptions& options() const noexcept { return options_; }

 private:
  // One place looked up: `manifest` when it is there (the referrers index), `read` what was read from it (the
  // `.sig` signatures), `error` (naming the place) when the registry failed, nothing when it is absent.
  struct Lookup {
    std::optional<FetchedManifest> manifest;
    FetchedSignatures read;
    std::optional<Error> error;
    std::string source;  // the index's place, for messages ("referrers of ...", "referrers index ...")
    std::size_t requests = 0;
  };
  boost::asio::awaitable<Lookup> lookup_cosign(ImageReference sig_ref);
  boost::asio::awaitable<Lookup> lookup_bundles(std::string repository, ImageReference subject);
  boost::asio::awaitable<Status> read_cosign(const ImageReference& sig_ref, const FetchedManifest& manifest,
                                             FetchedSignatures& out);
  boost::asio::awaitable<Status> read_bundles(const std::string& repository, const std::string& source,
                                              const FetchedManifest& index, FetchedSignatures& out);

  RegistryClient& client_;
  SignatureFetchOptions options_;
};

// "sha256:<hex>" -> "sha256-<hex>": the OCI tag-schema fallback tag for referrers of a digest.
std::string referrers_fallback_tag(std::string_view digest);

}  // namespace imagegate::verifier

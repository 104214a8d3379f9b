// NotationFetcher: the Notation (Notary Project) signatures attached to one image digest, fetched from its
// registry and bounded, ready for the pure verification of notation.h.
//
// What is read, in this order:
//   1. the image manifest itself (by digest): its size and media type are the target artifact descriptor a
//      signature's payload must name (notation-go CVE-2023-33959 is what happens when it is not checked);
//   2. the referrers of the digest: the OCI referrers API, else (a registry without it, such as
//      distribution 2.8) the `sha256-<hex>` tag-schema fallback index; entries whose artifactType is
//      `application/vnd.cncf.notary.signature` are Notation signatures (others, SBOMs or Sigstore bundles,
//      share the index and are ignored);
//   3. each signature manifest (by digest): its subject must be the image digest (a manifest listed for one
//      digest but signing another is skipped, never verified against this one), its artifactType (or config
//      media type) the Notation one, and it has exactly one layer, the envelope (`application/jose+json` or
//      `application/cose`; another media type is passed on and the verifier refuses it);
//   4. the envelope blob, at most notation::kMaxEnvelopeBytes (claimed size checked before the request, the
//      bytes bounded by the client while reading).
// Bounds: an index of more than 4 * max_signatures entries, or more than max_signatures Notation entries,
// is resource_exhausted (fails closed: never an allocation sized by what the registry claims; 1,000
// signatures is GHSA-87x9-7grx-m28v). A missing referrers index means "no signatures", not an error; a
// missing image manifest is not_found. Registry trouble is the client's error (unavailable,
// permission_denied, ...): the verifier makes unavailable of it.
//
// Thread-safe if the client is (the registry clients are). The client must outlive the fetcher.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/result.h"
#include "verifier/image/image_reference.h"
#include "verifier/registry/registry_client.h"
#include "verifier/signature/notation/notation.h"

namespace imagegate::verifier {

// The bounds are notation.h's: at most notation::kMaxSignatures signatures (notation-go's default), each
// envelope at most notation::kMaxEnvelopeBytes (notation-go's limit): a 50 MB blob is refused unread.
struct NotationFetchOptions {
  std::size_t max_signatures = notation::kMaxSignatures;
  std::size_t max_envelope_bytes = notation::kMaxEnvelopeBytes;  // values above kMaxEnvelopeBytes act as it
};

// One signature as the registry holds it: its manifest's digest and the envelope layer.
struct FetchedNotationSignature {
  std::string manifest_digest;
  std::string media_type;  // the envelope layer's: application/jose+json, application/cose, or what was there
  std::string envelope;    // the blob, verified against the layer digest by the client
};

struct FetchedNotation {
  // The target artifact: the image manifest as the registry serves it.
  std::string digest;
  std::uint64_t size = 0;
  std::string media_type;
  std::vector<FetchedNotationSignature> signatures;  // in index order
  std::vector<std::string> skipped;                  // "signature sha256:..: subject is sha256:.., not ..", ...
  std::size_t requests = 0;                          // registry round trips made
};

class NotationFetcher {
 public:
  explicit NotationFetcher(RegistryClient& client, NotationFetchOptions options = {});

  // `image` names the repository (its tag/digest are ignored); `digest` is the manifest digest signed.
  // Honours cancellation.
  boost::asio::awaitable<Result<FetchedNotation>> fetch(const ImageReference& image, std::string digest) const;

  const NotationFetchOptions& options() const noexcept { return options_; }

 private:
  boost::asio::awaitable<Result<std::vector<std::string>>> signature_manifests(const std::string& repository,
                                                                             FetchedNotation& out) const;
  boost::asio::awaitable<Status> fetch_signature(const std::string& repository, const std::string& manifest_digest,
                                                 FetchedNotation& out) const;

  RegistryClient& client_;
  NotationFetchOptions options_;
};

}  // namespace imagegate::verifier

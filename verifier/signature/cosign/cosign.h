// cosign's classic signature format: the `sha256-<hex>.sig` manifest in the image's repository, one
// layer per signature, each layer a "simple signing" JSON payload with the signature (and, for keyless,
// the Fulcio certificate, chain and Rekor bundle) in annotations. Parsing is bounded; verification is pure
// (the caller fetches the manifest and payload blobs through the registry client).
//
// Thread-safe: free functions over values.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/sigstore/trusted_root.h"

namespace imagegate::verifier {

inline constexpr const char* kCosignSignatureAnnotation = "dev.cosignproject.cosign/signature";
inline constexpr const char* kCosignCertificateAnnotation = "dev.sigstore.cosign/certificate";
inline constexpr const char* kCosignChainAnnotation = "dev.sigstore.cosign/chain";
inline constexpr const char* kCosignBundleAnnotation = "dev.sigstore.cosign/bundle";
inline constexpr std::size_t kMaxSignaturePayloadBytes = 256 * 1024;

// The `.sig` tag for an image digest: "sha256:abc..." -> "sha256-abc....sig".
std::string cosign_signature_tag(std::string_view digest);

// A layer of a signature manifest (also used for referrer manifests): descriptor and annotations.
struct LayerDescriptor {
  std::string media_type;
  std::string digest;
  std::uint64_t size = 0;
  std::string artifact_type;  // an index entry's artifactType ("" for layers)
  std::map<std::string, std::string> annotations;
};

// A parsed OCI/Docker image manifest's layers (and its artifactType / config media type, for referrers).
struct ParsedManifest {
  std::string media_type;
  std::string artifact_type;      // OCI artifactType, else config.mediaType
  std::vector<LayerDescriptor> layers;
  std::vector<LayerDescriptor> manifests;  // for an index (also the referrers API answer): its entries
};
// resource_exhausted when it has more than `max_entries` layers/manifests; invalid_argument when not a
// manifest or index.
Result<ParsedManifest> parse_manifest(std::string_view json, std::size_t max_entries);

// One signature: what a `.sig` layer carries.
struct CosignSignature {
  std::string payload;          // the simple-signing JSON, exactly the bytes signed
  std::string signature;        // raw signature bytes (base64-decoded annotation)
  std::string certificate_pem;  // keyless: the Fulcio leaf
  std::string chain_pem;        // keyless: intermediates (and maybe root)
  std::string rekor_bundle_json;  // the `dev.sigstore.cosign/bundle` annotation, "" when absent
};
// From a layer's annotations and its payload bytes. invalid_argument when the signature annotation is
// missing or not base64, resource_exhausted when the payload exceeds kMaxSignaturePayloadBytes.
Result<CosignSignature> cosign_signature_from_layer(const LayerDescriptor& layer, std::string payload);

// The simple signing payload ({"critical":{"identity":{"docker-reference":..},"image":{"docker-manifest-digest":..},
// "type":"cosign container image signature"},"optional":{...}}).
struct SimpleSigningPayload {
  std::string docker_reference;
  std::string manifest_digest;
  std::string type;
  std::map<std::string, std::string> optional;  // string-valued optional annotations
};
Result<SimpleSigningPayload> parse_simple_signing(std::string_view json);

// Extra constraints a rule puts on the payload.
struct PayloadConstraints {
  std::string docker_reference;  // required exact docker-reference; "" = any
  std::map<std::string, std::string> annotations;  // each must be present in `optional` with this value
};

struct VerifiedSignature {
  std::string signer;  // "key sha256:<first 12 hex of the SPKI digest>" or "SUBJECT (ISSUER)"
  std::optional<std::chrono::system_clock::time_point> integrated_time;  // from the Rekor SET, when any
};

// Key-based: the signature verifies over the payload with `key`, the payload is a cosign container image
// signature for `image_digest`, and meets `constraints`. permission_denied with the reason otherwise:
// "signature does not verify with the key", "signature is for digest sha256:X, not sha256:Y",
// "payload type ... is not a cosign container image signature", "annotation k=v required".
// A Rekor bundle, when present and `rekor` has a tlog for it, must verify too.
Result<VerifiedSignature> verify_cosign_key(const CosignSignature& signature, const PublicKey& key,
                                            std::string_view image_digest, const PayloadConstraints& constraints,
                                            const TrustedRoot* rekor = nullptr);

// Keyless: the certificate's key verifies the payload; the Rekor SET verifies against `root`; the
// hashedrekord body records this signature and certificate; the certificate chains to a Fulcio CA of
// `root` and carries `identity`, all at the SET's integrated time. Without a Rekor bundle it fails
// ("no Rekor bundle: cannot establish signing time offline").
Result<VerifiedSignature> verify_cosign_keyless(const CosignSignature& signature, const TrustedRoot& root,
                                                const CertificateIdentity& identity, std::string_view image_digest,
                                                const PayloadConstraints& constraints);

}  // namespace imagegate::verifier

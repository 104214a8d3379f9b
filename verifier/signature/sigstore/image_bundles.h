// The Sigstore bundles fetched for an image digest (SignatureFetcher), verified as signatures of that
// image: each parsed (bounded) and checked by verify_sigstore_image_signature against `root` and `trust`.
// The bundle half of a cosign key or keyless anchor (cosign/cosign_verifier.h). Pure, no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/signature/cosign/cosign.h"
#include "verifier/signature/sigstore/sigstore_bundle.h"

namespace imagegate::verifier {

struct ImageBundleResults {
  std::vector<Result<VerifiedSignature>> results;  // per bundle, in order (one error when the digest is not hex)
  // Attestations (DSSE in-toto statements: SBOMs, provenance, scan results) among them: refused by the
  // verifier's rule of what signs an image, and not counted as signatures in messages.
  std::size_t attestations = 0;
};

// `digest` is "sha256:<hex>".
ImageBundleResults verify_image_bundles(const std::vector<std::string>& bundles, std::string_view digest,
                                        const TrustedRoot& root, const BundleTrust& trust);

}  // namespace imagegate::verifier

// The Sigstore bundles fetched for an image digest (SignatureFetcher), read as attestations of one
// predicate type: the DSSE bundles whose in-toto predicateType is exactly `predicate_type` (no case,
// version or suffix variant), each verified by verify_sigstore_bundle against `root` and `trust` (the
// envelope's signature, the log and time evidence, the certificate's identity, and a subject naming the
// digest), then its statement parsed within bounds (verifier/signature/attestation/intoto_statement.h).
// Message-signature bundles are not attestations and are not read here. The attestation half of a cosign
// key or keyless anchor (cosign/cosign_verifier.h). Pure, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "verifier/signature/attestation/attestation_check.h"
#include "verifier/signature/sigstore/sigstore_bundle.h"

namespace imagegate::verifier {

// `digest` is "sha256:<hex>"; `skipped` what the fetcher could not read (named when nothing was found).
AttestationCheck verify_image_attestations(const std::vector<std::string>& bundles,
                                           const std::vector<std::string>& skipped, std::string_view digest,
                                           std::string_view predicate_type, const TrustedRoot& root,
                                           const BundleTrust& trust);

}  // namespace imagegate::verifier

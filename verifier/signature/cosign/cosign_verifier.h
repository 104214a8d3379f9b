// CosignVerifier: the SignatureVerifier of a cosign key anchor or a keyless (Fulcio identity) anchor. Reads
// the digest's classic `.sig` signatures (verify_cosign_key / verify_cosign_keyless, cosign.h) and its
// Sigstore bundles (sigstore/image_bundles.h: key-based bundles for a key, keyless bundles for an identity).
// Verified when at least one signature verifies (signers: every one that did); else failed with
// "no signatures found" or "N signatures, none verified: reason; reason; ..." (at most three reasons).
// Pure: a function of the fetched bytes and the anchor's loaded material.
#pragma once

#include <memory>

#include "verifier/crypto/crypto.h"
#include "verifier/signature/signature_verifier.h"
#include "verifier/signature/sigstore/trusted_root.h"

namespace imagegate::verifier {

class CosignVerifier final : public SignatureVerifier {
 public:
  static std::shared_ptr<const CosignVerifier> with_key(PublicKey key);
  static std::shared_ptr<const CosignVerifier> keyless(std::shared_ptr<const TrustedRoot> root,
                                                       CertificateIdentity identity);

  Reads reads() const noexcept override { return Reads::oci_signatures; }
  AnchorCheck verify(const FetchedSignatures& fetched, std::chrono::system_clock::time_point now) const override;

  CosignVerifier(std::optional<PublicKey> key, std::shared_ptr<const TrustedRoot> root, CertificateIdentity identity)
      : key_(std::move(key)), root_(std::move(root)), identity_(std::move(identity)) {}

 private:
  std::optional<PublicKey> key_;             // a key anchor
  std::shared_ptr<const TrustedRoot> root_;  // a keyless anchor, with identity_
  CertificateIdentity identity_;
};

}  // namespace imagegate::verifier

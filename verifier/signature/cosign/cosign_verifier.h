// CosignVerifier: the SignatureVerifier of a cosign key anchor or a keyless (Fulcio identity) anchor. Reads
// the digest's classic `.sig` signatures (verify_cosign_key / verify_cosign_keyless, cosign.h) and its
// Sigstore bundles (sigstore/image_bundles.h: key-based bundles for a key, keyless bundles for an identity).
// Verified when at least one signature verifies (signers: every one that did); else failed with
// "no signatures found" or "N signatures, none verified: reason; reason; ..." (at most three reasons).
// verify_attestations reads the same bundles as attestations of one predicate type, with the same trust.
// Pure: a function of the fetched bytes and the anchor's loaded material.
#pragma once

#include <memory>

#include "verifier/crypto/crypto.h"
#include "verifier/signature/signature_verifier.h"
#include "verifier/signature/sigstore/sigstore_bundle.h"
#include "verifier/signature/sigstore/trusted_root.h"

namespace imagegate::verifier {

class CosignVerifier final : public SignatureVerifier {
 public:
  static std::shared_ptr<const CosignVerifier> with_key(PublicKey key);
  static std::shared_ptr<const CosignVerifier> keyless(std::shared_ptr<const TrustedRoot> root,
                                                       CertificateIdentity identity);

  Reads reads() const noexcept override { return Reads::oci_signatures; }
  AnchorCheck verify(const FetchedSignatures& fetched, std::chrono::system_clock::time_point now) const override;
  // The Sigstore DSSE bundles of `predicate_type` signed by this key or identity (sigstore/image_attestations.h).
  AttestationCheck verify_attestations(const FetchedSignatures& fetched, std::string_view predicate_type,
                                       std::chrono::system_clock::time_point now) const override;

  CosignVerifier(std::optional<PublicKey> key, std::shared_ptr<const TrustedRoot> root, CertificateIdentity identity)
      : key_(std::move(key)), root_(std::move(root)), identity_(std::move(identity)) {}

 private:
  BundleTrust bundle_trust(std::chrono::system_clock::time_point now) const;  // the key, or the identity
  const TrustedRoot& bundle_root() const;  // the anchor's root (keyless), an empty one (key)

  std::optional<PublicKey> key_;             // a key anchor
  std::shared_ptr<const TrustedRoot> root_;  // a keyless anchor, with identity_
  CertificateIdentity identity_;
};

}  // namespace imagegate::verifier
